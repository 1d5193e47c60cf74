//! `netsift analyze`: flows, protocol records and carved files.

use std::io::{self};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use netsift_detect::alert::summarize;
use netsift_detect::rules::{DomainBlacklist, IpBlacklist, Rules, RulesConfig, UrlBlacklist};
use netsift_detect::scan::ScanMethod;
use netsift_detect::signature::SignatureSet;
use netsift_engine::analyze::detect::Detecting;
use netsift_engine::analyze::files::{Files, DEFAULT_MAX_FILE_BYTES};
use netsift_engine::analyze::output::{Eve, JsonlDir, Output, Summary};
use netsift_engine::analyze::{AnalyzeConfig, Analyzer};
use netsift_engine::classify::ClassState;
use netsift_engine::{run_capture, Classifier};
use netsift_learn::{Model, Scoring};

use crate::flows::{classify_config, pipeline_config};
use crate::progress::Bar;
use crate::{stderr_is_tty, AnalyzeArgs};

pub fn run(args: &AnalyzeArgs) -> Result<ExitCode> {
    let pcfg = pipeline_config(&args.common)?;
    let ccfg = classify_config(&args.common.classify)?;
    let mut out: Box<dyn Output> = match args.format {
        crate::AnalyzeFormat::Jsonl => {
            let dir: PathBuf = args.output.clone().context("--format jsonl needs -o DIR")?;
            Box::new(JsonlDir::new(&dir).with_context(|| format!("creating {}", dir.display()))?)
        }
        crate::AnalyzeFormat::Eve => match &args.output {
            Some(p) => Box::new(Eve::new(io::BufWriter::new(
                std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
            ))),
            None => Box::new(Eve::new(io::BufWriter::new(io::stdout()))),
        },
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
    let models = load_models(&args.model)?;
    let mut det = Detecting::with_scan_method(out.as_mut(), rules, method);
    let mut scoring = Scoring::new(&mut det, models);
    let mut analyzer = Analyzer::new(Classifier::new(&ccfg)?, cfg, files, &mut scoring);
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
        let res = run_capture::<ClassState, _>(path, pcfg, &mut analyzer, &mut |p| bar.update(p));
        bar.clear();
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
    scoring.finish().context("writing the output")?;
    let (scored, raised) = (scoring.scored, scoring.raised);
    drop(scoring);
    let alerts = std::mem::take(&mut det.alerts);
    drop(det);
    if !args.common.quiet {
        for a in &alerts {
            eprintln!("netsift: alert: {a}");
        }
        print_summary(out.summary(), packets, flows, stats.records);
        if !args.model.is_empty() {
            eprintln!("  learned models: {scored} sessions scored, {raised} anomaly alerts");
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

/// The models of `--model`, validated (errors name the file and the path
/// inside it).
fn load_models(paths: &[PathBuf]) -> Result<Vec<Model>> {
    paths
        .iter()
        .map(|p| {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Model::from_json(&text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))
        })
        .collect()
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
