//! `netsift analyze`: flows, protocol records and carved files.

use std::io::{self};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use netsift_detect::alert::summarize;
use netsift_detect::rules::{DomainBlacklist, IpBlacklist, Rules, RulesConfig, UrlBlacklist};
use netsift_detect::scan::ScanMethod;
use netsift_detect::signature::SignatureSet;
use netsift_engine::analyze::detect::Detecting;
use netsift_engine::analyze::files::{Files, DEFAULT_MAX_FILE_BYTES};
use netsift_engine::analyze::output::{Eve, JsonlDir, Output, Summary, Tee};
use netsift_engine::analyze::{AnalyzeConfig, Analyzer};
use netsift_engine::classify::ClassState;
use netsift_engine::{run_capture, Classifier};
use netsift_store::{CaptureInfo, Store, StoreOutput};
use sha2::Digest as _;

use crate::flows::{classify_config, pipeline_config};
use crate::progress::Bar;
use crate::{stderr_is_tty, AnalyzeArgs};

pub fn run(args: &AnalyzeArgs) -> Result<ExitCode> {
    let pcfg = pipeline_config(&args.common)?;
    let ccfg = classify_config(&args.common.classify)?;
    let mut primary: Option<Box<dyn Output>> = match args.format {
        crate::AnalyzeFormat::Jsonl => match (&args.output, &args.db) {
            (Some(dir), _) => Some(Box::new(
                JsonlDir::new(dir).with_context(|| format!("creating {}", dir.display()))?,
            )),
            (None, Some(_)) => None,
            (None, None) => anyhow::bail!("--format jsonl needs -o DIR (or --db FILE)"),
        },
        crate::AnalyzeFormat::Eve => match (&args.output, &args.db) {
            (Some(p), _) => Some(Box::new(Eve::new(io::BufWriter::new(
                std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
            )))),
            (None, Some(_)) => None,
            (None, None) => Some(Box::new(Eve::new(io::BufWriter::new(io::stdout())))),
        },
    };
    let mut store = match &args.db {
        Some(p) => {
            let s = Store::open(p).with_context(|| format!("opening {}", p.display()))?;
            Some(StoreOutput::new(s))
        }
        None => None,
    };
    let handle = store.as_ref().map(|(_, h)| h.clone());
    let mut tee;
    let out: &mut dyn Output = match (primary.as_mut(), store.as_mut()) {
        (Some(p), Some((s, _))) => {
            tee = Tee {
                first: p.as_mut(),
                second: s,
            };
            &mut tee
        }
        (Some(p), None) => p.as_mut(),
        (None, Some((s, _))) => s,
        (None, None) => unreachable!("checked above: -o or --db"),
    };
    let files = Files::new(args.extract_dir.as_deref(), args.max_file_size)
        .context("creating the extract directory")?;
    let mut cfg = AnalyzeConfig {
        community_id_seed: args.common.community_id_seed,
        ..AnalyzeConfig::default()
    };
    cfg.reassembly.max_buffered_per_stream = args.max_stream_buffer;
    cfg.reassembly.max_buffered_total = args.max_reassembly_memory;
    let mut rules = load_rules(args)?;
    let signatures = rules.signatures.take();
    let method = match args.scan_method {
        crate::ScanMethodArg::Threshold => ScanMethod::Threshold,
        crate::ScanMethodArg::Trw => ScanMethod::Trw,
        crate::ScanMethodArg::Both => ScanMethod::Both,
    };
    let mut det = Detecting::with_scan_method(out, rules, method);
    let mut analyzer = Analyzer::new(Classifier::new(&ccfg)?, cfg, files, &mut det);
    if let Some(set) = signatures {
        analyzer.set_signatures(std::sync::Arc::new(set));
    }
    let mut bar = Bar::new(!args.common.quiet && stderr_is_tty());
    let mut failed = false;
    let (mut packets, mut flows) = (0u64, 0u64);
    for (n, path) in args.captures.iter().enumerate() {
        // A uid seed per capture keeps uids unique across the captures of one run.
        let mut pcfg = pcfg;
        pcfg.flow.uid_seed = n as u64;
        if let Some(h) = &handle {
            h.begin_capture(&capture_info(path, &pcfg)?)
                .context("writing the database")?;
        }
        let res = run_capture::<ClassState, _>(path, pcfg, &mut analyzer, &mut |p| bar.update(p));
        bar.clear();
        if let Some(h) = &handle {
            let (p, f, err) = match &res {
                Ok(s) => (s.counters.packets, s.flows(), None),
                Err(e) => (0, 0, Some(e.to_string())),
            };
            h.end_capture(p, f, err.as_deref())
                .context("writing the database")?;
        }
        match res {
            Ok(s) => {
                packets += s.counters.packets;
                flows += s.flows();
                if let Some(t) = s.truncation {
                    eprintln!(
                        "netsift: warning: {}: capture truncated at offset {} (record needs {} bytes, {} present); analysed up to there",
                        path.display(), t.offset, t.expected, t.available
                    );
                }
            }
            Err(e) => {
                eprintln!("netsift: error: {e}");
                failed = true;
            }
        }
    }
    let stats = analyzer.stats;
    drop(analyzer);
    det.finish().context("writing the output")?;
    let alerts = std::mem::take(&mut det.alerts);
    drop(det);
    if !args.common.quiet {
        for a in &alerts {
            eprintln!("netsift: alert: {a}");
        }
        print_summary(out.summary(), packets, flows, stats.records);
        if let Some(db) = &args.db {
            eprintln!("  database: {}", db.display());
        }
        let groups = summarize(alerts.iter());
        if !groups.by_rule_source.is_empty() {
            eprintln!("  alerts ({}), by rule and source:", alerts.len());
            for g in groups.by_rule_source.iter().take(20) {
                let src = g.source.map_or_else(|| "-".to_string(), |s| s.to_string());
                eprintln!("    {} {} from {src}: {}", g.kind, g.rule, g.summary.count);
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else if args.fail_on_alert && !alerts.is_empty() {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

/// The capture row of `path` (its SHA-256 read from the file; stdin has none).
fn capture_info(path: &Path, pcfg: &netsift_engine::PipelineConfig) -> Result<CaptureInfo> {
    let uid_seed = pcfg.flow.uid_seed;
    let flow_settings = Some(netsift_store::flow_settings(&pcfg.flow));
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    if path == Path::new("-") {
        return Ok(CaptureInfo {
            name: "stdin".into(),
            uid_seed,
            flow_settings,
            ..CaptureInfo::default()
        });
    }
    let mut f = std::fs::File::open(path).with_context(|| path.display().to_string())?;
    let mut h = sha2::Sha256::new();
    let size = io::copy(&mut f, &mut h).with_context(|| path.display().to_string())?;
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    Ok(CaptureInfo {
        name,
        path: Some(abs.display().to_string()),
        size,
        sha256: Some(netsift_web::hex(&h.finalize())),
        uid_seed,
        flow_settings,
    })
}

/// The rules from `--rules` and the list options (a list option replaces
/// the same list of the rules file). Errors name the file and line.
fn load_rules(args: &AnalyzeArgs) -> Result<Rules> {
    let mut rules = match &args.rules {
        Some(p) => RulesConfig::from_file(p)
            .and_then(|c| c.load())
            .map_err(|e| anyhow::anyhow!("rules: {e}"))?,
        None => Rules::default(),
    };
    if let Some(p) = &args.ip_blacklist {
        rules.ip = Some(IpBlacklist::from_file(p).map_err(|e| anyhow::anyhow!("{e}"))?);
    }
    if let Some(p) = &args.domain_blacklist {
        rules.domain = Some(DomainBlacklist::from_file(p).map_err(|e| anyhow::anyhow!("{e}"))?);
    }
    if let Some(p) = &args.signatures {
        rules.signatures = Some(SignatureSet::from_file(p).map_err(|e| anyhow::anyhow!("{e}"))?);
    }
    if let Some(p) = &args.url_blacklist {
        rules.url = Some(UrlBlacklist::from_file(p).map_err(|e| anyhow::anyhow!("{e}"))?);
    }
    Ok(rules)
}

fn print_summary(s: &Summary, packets: u64, flows: u64, records: u64) {
    eprintln!(
        "netsift: {packets} packets, {flows} flows, {records} records, {} files carved",
        s.files
    );
    let protos = Summary::top(&s.flows_by_protocol, 10);
    let list: Vec<String> = protos.iter().map(|(p, n)| format!("{p} {n}")).collect();
    eprintln!("  protocols by flows: {}", list.join(", "));
    let hosts = Summary::top(&s.bytes_by_host, 5);
    let list: Vec<String> = hosts
        .iter()
        .map(|(h, n)| format!("{h} ({n} bytes)"))
        .collect();
    eprintln!("  top hosts: {}", list.join(", "));
    let doms = Summary::top(&s.domains, 5);
    let list: Vec<String> = doms.iter().map(|(d, n)| format!("{d} ({n})")).collect();
    eprintln!("  top domains: {}", list.join(", "));
}

/// Default bound on one carved file.
pub const DEFAULT_MAX_FILE: u64 = DEFAULT_MAX_FILE_BYTES;
