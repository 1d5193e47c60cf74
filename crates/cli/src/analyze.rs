//! `netsift analyze`: flows, protocol records and carved files.
//!
//! The setup shared with `netsift watch` lives here too: the output chain,
//! the rules, signatures and scan method ([`Setup`], whose analyzers come
//! from the engine's one [`AnalyzerBuilder`]), and the summary.

use std::io::{self};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use netsift_detect::alert::PcapSummary;
use netsift_detect::rules::{DomainBlacklist, IpBlacklist, Rules, RulesConfig, UrlBlacklist};
use netsift_detect::scan::ScanMethod;
use netsift_detect::signature::SignatureSet;
use netsift_engine::analyze::alert_pcap::{AlertPcap, AlertPcapHandler, AlertPcapOutput};
use netsift_engine::analyze::build::{
    AnalyzerBuilder, BuildError, ContentSpec, Prepared, YaraSpec,
};
use netsift_engine::analyze::detect::Detecting;
use netsift_engine::analyze::files::DEFAULT_MAX_FILE_BYTES;
use netsift_engine::analyze::output::{
    CaptureDamage, Eve, EveOptions, JsonlDir, JsonlOptions, Output, Summary, Tee,
};
use netsift_engine::analyze::sharded::{AnalyzeChunk, AnalyzeWorker, Event, GiveBack, WorkerEnd};
use netsift_engine::analyze::zeek::{ZeekLogs, ZeekTarget};
use netsift_engine::analyze::FlowData;
use netsift_engine::content::hashlist::HashList;
use netsift_engine::content::yara::YaraLimits;
use netsift_engine::run::{CaptureSummary, EngineError};
use netsift_engine::shard::{run_capture_sharded, Delivery, Returns};
use netsift_engine::{run_capture, PipelineConfig};
use netsift_learn::{Model, Scope, Scoring};
use netsift_store::{CaptureInfo, Store, StoreHandle, StoreOutput, Target};

use crate::redis_out::{summary_line, RedisHandle, RedisLines, RedisMode, RedisTarget};
use sha2::Digest as _;

use crate::flows::{classify_config, pipeline_config};
use crate::progress::Bar;
use crate::{stderr_is_tty, AnalysisArgs, AnalyzeArgs};

/// Everything an analysis needs besides its packets and output.
pub struct Setup {
    pub pipeline: PipelineConfig,
    /// How each analyzer of the run is made (one, or one per worker of
    /// `--threads`): the engine's one builder.
    pub builder: AnalyzerBuilder,
    /// The parts of the first analyzer, made at once so that a bad layer,
    /// YARA rule or extract directory is reported before any output opens.
    pub prepared: Prepared,
    /// Lists and thresholds (signatures taken out into the builder).
    pub rules: Rules,
    pub scan_method: ScanMethod,
    /// Models of `--model` (learned command sessions), validated.
    pub models: Vec<Model>,
    /// `--model-scope`.
    pub model_scope: Scope,
}

impl Setup {
    pub fn new(a: &AnalysisArgs) -> Result<Setup> {
        let pipeline = pipeline_config(&a.common)?;
        let mut builder = AnalyzerBuilder::new(classify_config(&a.common.classify)?)
            .extract_dir(a.extract_dir.as_deref());
        builder.max_file_bytes = a.max_file_size;
        builder.content = content_spec(a)?;
        builder.config.community_id_seed = a.common.community_id_seed;
        builder.config.reassembly.max_buffered_per_stream = a.max_stream_buffer;
        builder.config.reassembly.max_buffered_total = a.max_reassembly_memory;
        builder.config.max_unanswered_flows =
            crate::flows::bound_flag(a.common.classify.max_unanswered_flows);
        builder.config.max_parser_memory = crate::flows::bound_flag(a.max_parser_memory);
        let mut rules = load_rules(a)?;
        builder.signatures = rules.signatures.take().map(Arc::new);
        builder.suricata = load_suricata_rules(a, &mut rules, !a.common.quiet)?;
        let prepared = builder.prepare().map_err(build_error)?;
        if let (Some(n), Some(y), false) = (
            prepared.yara_rules(),
            builder.content.as_ref().and_then(|c| c.yara.as_ref()),
            a.common.quiet,
        ) {
            eprintln!("netsift: {n} YARA rules from {}", y.path.display());
        }
        let scan_method = match a.scan_method {
            crate::ScanMethodArg::Threshold => ScanMethod::Threshold,
            crate::ScanMethodArg::Trw => ScanMethod::Trw,
            crate::ScanMethodArg::Both => ScanMethod::Both,
        };
        let models = load_models(&a.model)?;
        Ok(Setup {
            pipeline,
            builder,
            prepared,
            rules,
            scan_method,
            models,
            model_scope: match a.model_scope {
                crate::ModelScope::Server => Scope::Server,
                crate::ModelScope::General => Scope::General,
            },
        })
    }
}

/// The CLI's words for a part that could not be made.
pub fn build_error(e: BuildError) -> anyhow::Error {
    match e {
        BuildError::ExtractDir(e) => {
            anyhow::Error::new(e).context("creating the extract directory")
        }
        BuildError::Classifier(e) => e.into(),
        e @ BuildError::Yara(_) => anyhow::anyhow!("{e}"),
    }
}

/// Content analysis of carved files: bounds, hash list, YARA rules (each
/// analyzer compiles its own scanner from them).
fn content_spec(a: &AnalysisArgs) -> Result<Option<ContentSpec>> {
    if a.no_content {
        anyhow::ensure!(
            a.yara.is_none() && a.hash_blacklist.is_none(),
            "--no-content turns off --yara and --hash-blacklist"
        );
        return Ok(None);
    }
    let mut c = ContentSpec::default();
    c.limits.max_bytes = a.content_max_bytes.max(1);
    if let Some(p) = &a.hash_blacklist {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        let list = HashList::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
        c.hashes = Some(Arc::new(list));
    }
    if let Some(p) = &a.yara {
        c.yara = Some(YaraSpec {
            path: p.clone(),
            limits: YaraLimits {
                timeout: std::time::Duration::from_secs(a.yara_timeout.max(1)),
                budget: std::time::Duration::from_secs(a.yara_budget),
            },
        });
        c.yara_streams = a.yara_streams;
    }
    Ok(Some(c))
}

/// The final output: a JSONL directory or an EVE stream. `live`: JSONL
/// files are appended to (and rotated per `jsonl`), EVE is streamed.
pub fn open_output(a: &AnalysisArgs, live: bool, jsonl: JsonlOptions) -> Result<Box<dyn Output>> {
    Ok(match a.format {
        crate::AnalyzeFormat::Jsonl => {
            let dir: PathBuf = a.output.clone().context("--format jsonl needs -o DIR")?;
            let opts = JsonlOptions {
                append: live,
                ..jsonl
            };
            Box::new(
                JsonlDir::with_options(&dir, opts)
                    .with_context(|| format!("creating {}", dir.display()))?,
            )
        }
        crate::AnalyzeFormat::Eve => {
            let w: Box<dyn io::Write> = match &a.output {
                Some(p) if p.as_os_str() == "-" => Box::new(io::stdout()),
                // Live: appended to, like the JSONL files.
                Some(p) => Box::new(
                    std::fs::OpenOptions::new()
                        .write(true)
                        .create(true)
                        .append(live)
                        .truncate(!live)
                        .open(p)
                        .with_context(|| format!("creating {}", p.display()))?,
                ),
                None => Box::new(io::stdout()),
            };
            let w = io::BufWriter::new(w);
            let opts = EveOptions {
                extras: a.eve_extras,
                community_id_seed: a.common.community_id_seed,
            };
            if live {
                Box::new(Eve::streaming(w, opts))
            } else {
                Box::new(Eve::with_options(w, opts))
            }
        }
        crate::AnalyzeFormat::Zeek | crate::AnalyzeFormat::ZeekJson => open_zeek(a, live, jsonl)?,
    })
}

/// `--format zeek` / `zeek-json`: Zeek's logs in `-o DIR` (appended to and
/// rotated like the JSONL files when live), or on stdout with `-o -`.
fn open_zeek(a: &AnalysisArgs, live: bool, jsonl: JsonlOptions) -> Result<Box<dyn Output>> {
    let json = a.format == crate::AnalyzeFormat::ZeekJson;
    let dir: PathBuf = a
        .output
        .clone()
        .context("--format zeek and zeek-json need -o DIR (or -o - for stdout)")?;
    let target = if dir.as_os_str() == "-" {
        // TSV blocks are held until the end (a log's rows must follow its
        // own header): fine for a capture file, unbounded for a live one.
        anyhow::ensure!(
            json || !live,
            "--format zeek cannot stream to stdout live: use -o DIR or --format zeek-json"
        );
        ZeekTarget::Stream(Box::new(io::BufWriter::new(io::stdout())))
    } else {
        ZeekTarget::Dir(dir.clone())
    };
    let opts = JsonlOptions {
        append: live,
        ..jsonl
    };
    Ok(Box::new(
        ZeekLogs::new(target, json, opts).with_context(|| format!("creating {}", dir.display()))?,
    ))
}

/// The outputs of a run: `-o` (JSONL or EVE), `--db` and `--eve-redis`,
/// as one [`Output`], the store's handle to start and end captures, and
/// the Redis stream's handle.
pub struct Outputs {
    pub out: Box<dyn Output>,
    pub store: Option<StoreHandle>,
    /// Where the rows go (for messages: no password).
    pub db_shown: Option<String>,
    pub db_is_postgres: bool,
    pub redis: Option<RedisOut>,
}

/// `--eve-redis`: where, how, and the sender's handle.
pub struct RedisOut {
    pub target: RedisTarget,
    pub mode: RedisMode,
    pub handle: RedisHandle,
}

impl Outputs {
    /// After the outputs finished: write what the store and Redis hold,
    /// print their lines, and say whether promised rows were lost.
    pub fn close(&self, quiet: bool) -> Option<String> {
        let mut lost = None;
        if let Some(h) = &self.store {
            h.close();
            let st = h.stats();
            let shown = self.db_shown.clone().unwrap_or_default();
            if st.dropped > 0 {
                lost = Some(format!(
                    "{} rows were not written to {shown}{}",
                    st.dropped,
                    st.last_error
                        .as_ref()
                        .map(|e| format!(" (last error: {e})"))
                        .unwrap_or_default()
                ));
            }
            if !quiet {
                if self.db_is_postgres {
                    eprintln!(
                        "  database: {shown}: {} rows written, {} dropped, {} failed attempts retried",
                        st.written, st.dropped, st.failures
                    );
                } else {
                    eprintln!("  database: {shown}");
                }
            }
        }
        if let Some(r) = &self.redis {
            r.handle.close();
            if !quiet {
                eprintln!("{}", summary_line(&r.target, r.mode, &r.handle.stats));
            }
        }
        lost
    }
}

/// Opens the database of `--db` (a SQLite file or a postgres:// URL). An
/// unreachable server is a [`netsift_store::StoreError::Connect`] as is
/// (one line, exit 2); other errors name the database.
pub fn open_db(spec: &str) -> Result<(Store, Target)> {
    let t = Target::parse(spec)?;
    match Store::open(&t) {
        Ok(s) => Ok((s, t)),
        Err(e @ netsift_store::StoreError::Connect { .. }) => Err(e.into()),
        Err(e) => Err(anyhow::Error::new(e).context(format!("opening {}", t.display()))),
    }
}

/// Opens the outputs. `--db` or `--eve-redis` alone need no `-o`; with
/// several, the same rows go to each.
pub fn open_outputs(
    a: &AnalysisArgs,
    db: Option<&str>,
    live: bool,
    jsonl: JsonlOptions,
) -> Result<Outputs> {
    let mut chain: Vec<Box<dyn Output>> = Vec::new();
    if a.output.is_some() || (db.is_none() && a.eve_redis.is_none()) {
        chain.push(open_output(a, live, jsonl)?);
    }
    let mut handle = None;
    let (mut db_shown, mut db_is_postgres) = (None, false);
    if let Some(spec) = db {
        let (st, t) = open_db(spec)?;
        db_shown = Some(t.display());
        db_is_postgres = t.is_postgres();
        let (o, h) = StoreOutput::new(st);
        chain.push(Box::new(o));
        handle = Some(h);
    }
    let mut redis = None;
    if let Some(url) = &a.eve_redis {
        let target = RedisTarget::parse(url)?;
        let lines = RedisLines::start(&target, a.redis_mode, a.redis_maxlen)?;
        let h = lines.handle();
        let opts = EveOptions {
            extras: a.eve_extras,
            community_id_seed: a.common.community_id_seed,
        };
        chain.push(Box::new(Eve::streaming(lines, opts)));
        redis = Some(RedisOut {
            target,
            mode: a.redis_mode,
            handle: h,
        });
    }
    let mut it = chain.into_iter().rev();
    let Some(mut out) = it.next() else {
        anyhow::bail!("no output: give -o DIR, --db or --eve-redis")
    };
    for first in it {
        out = Box::new(Tee { first, second: out });
    }
    Ok(Outputs {
        out,
        store: handle,
        db_shown,
        db_is_postgres,
        redis,
    })
}

/// The host name (`--sensor`'s default).
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `len` bytes into the buffer.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match (r, std::str::from_utf8(&buf[..end])) {
        (0, Ok(s)) if !s.is_empty() => s.to_string(),
        _ => "sensor".to_string(),
    }
}

/// The sensor of a run, and the uid seed with the sensor mixed in (when
/// `--sensor` is given, or the database is PostgreSQL and so shared):
/// two sensors never produce the same uids from the same seed.
pub fn sensor_seed(a: &AnalysisArgs, shared_db: bool, seed: u64) -> (String, u64) {
    let sensor = a.sensor.clone().unwrap_or_else(host_name);
    if a.sensor.is_none() && !shared_db {
        return (sensor, seed);
    }
    // FNV-1a 64 of the name.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in sensor.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    (sensor, seed ^ h)
}

/// The per-capture bookkeeping of `analyze`: database capture rows,
/// damage, totals, failures.
struct CaptureRuns {
    handle: Option<netsift_store::StoreHandle>,
    sensor: String,
    base_seed: u64,
    pipeline: PipelineConfig,
    db_error: Option<anyhow::Error>,
    failed: bool,
    packets: u64,
    flows: u64,
    damage: Vec<CaptureDamage>,
}

type RunOne<'a, E> = dyn FnMut(&Path, PipelineConfig, &mut Bar) -> Result<(CaptureSummary, Vec<E>), EngineError>
    + 'a;

impl CaptureRuns {
    /// Analyse capture number `n` at `path` with `run_one`; the workers'
    /// ends (none with one thread).
    fn run<E>(
        &mut self,
        n: usize,
        path: &Path,
        bar: &mut Bar,
        run_one: &mut RunOne<'_, E>,
    ) -> Result<Vec<E>> {
        // A uid seed per capture keeps uids unique across the captures of one run.
        let mut pcfg = self.pipeline;
        pcfg.flow.uid_seed = self.base_seed.wrapping_add(n as u64);
        if let Some(h) = self.handle.as_ref().filter(|_| self.db_error.is_none()) {
            let mut info = capture_info(path, &pcfg)?;
            info.sensor = self.sensor.clone();
            // A database error must not stop the other outputs: it is
            // reported once they are complete.
            if let Err(e) = h.begin_capture(&info) {
                self.db_error = Some(anyhow::Error::new(e).context("writing the database"));
            }
        }
        let res = run_one(path, pcfg, bar);
        bar.clear();
        if let Some(h) = self.handle.as_ref().filter(|_| self.db_error.is_none()) {
            let (p, f, err) = match &res {
                Ok((s, _)) => (s.counters.packets, s.flows(), None),
                Err(e) => (0, 0, Some(e.to_string())),
            };
            if let Err(e) = h.end_capture(p, f, err.as_deref()) {
                self.db_error = Some(anyhow::Error::new(e).context("writing the database"));
            }
        }
        match res {
            Ok((s, ends)) => {
                self.packets += s.counters.packets;
                self.flows += s.flows();
                crate::flows::warn_capture_damage(&s);
                self.damage.extend(capture_damage(&s));
                Ok(ends)
            }
            Err(e) => {
                eprintln!("netsift: error: {e}");
                self.failed = true;
                Ok(Vec::new())
            }
        }
    }
}

pub fn run(args: &AnalyzeArgs) -> Result<ExitCode> {
    let a = &args.analysis;
    let mut outputs = open_outputs(a, args.db.as_deref(), false, JsonlOptions::default())?;
    let out = &mut outputs.out;
    let handle = outputs.store.clone();
    let s = Setup::new(a)?;
    let (sensor, base_seed) = sensor_seed(a, outputs.db_is_postgres, s.pipeline.flow.uid_seed);
    let alert_pcap = match &args.alert_pcap {
        Some(p) => Some(
            AlertPcap::create(p, args.alert_pcap_packets as usize)
                .with_context(|| format!("creating {}", p.display()))?,
        ),
        None => None,
    };
    let mut pcap_out;
    let det_inner: &mut dyn Output = match &alert_pcap {
        Some(log) => {
            pcap_out = AlertPcapOutput {
                inner: out.as_mut(),
                log: log.clone(),
            };
            &mut pcap_out
        }
        None => out.as_mut(),
    };
    let mut det = Detecting::with_scan_method(det_inner, s.rules, s.scan_method);
    let mut scoring = Scoring::with_scope(&mut det, s.models, s.model_scope);
    let mut bar = Bar::new(!a.common.quiet && stderr_is_tty());
    // --alert-pcap keeps each flow's packets in the one pipeline; without
    // an explicit --threads it runs on one thread rather than failing.
    let threads = match (args.threads, &args.alert_pcap) {
        (None, Some(_)) => 1,
        (n, _) => crate::threads(n),
    };
    let mut runs = CaptureRuns {
        handle,
        sensor: sensor.clone(),
        base_seed,
        pipeline: s.pipeline,
        db_error: None,
        failed: false,
        packets: 0,
        flows: 0,
        damage: Vec::new(),
    };
    let totals = if threads > 1 {
        if args.alert_pcap.is_some() {
            anyhow::bail!("--alert-pcap works with --threads 1 only (for now)");
        }
        // Each worker gets its own classifier and carver, and its share of
        // the reassembly memory; signatures and Suricata rules are shared.
        let mut merger = netsift_engine::analyze::sharded::event_merger();
        let mut totals = WorkerEnd::default();
        // The detectors run here, behind the merger: their memory is
        // sampled every 65,536 events.
        let mut detectors_peak = 0usize;
        let mut applied = 0u64;
        for (n, path) in args.captures.iter().enumerate() {
            let mut makers = Vec::with_capacity(threads);
            let jsonl = a.format == crate::AnalyzeFormat::Jsonl;
            let returns: Vec<Returns<Event>> = (0..threads).map(|_| Returns::default()).collect();
            let mut give_back = GiveBack::new(&returns, Event::owns_memory);
            for r in returns {
                let parts = s.builder.worker(threads).map_err(build_error)?;
                makers.push(move || AnalyzeWorker::new(jsonl, r, move |out| parts.analyzer(out)));
            }
            let mut makers = Some(makers);
            let ends = runs.run(n, path, &mut bar, &mut |path, pcfg, bar| {
                let mut sink = |d: Delivery<'_, AnalyzeChunk>| {
                    merger.take_from(d, &mut |w, ev| {
                        ev.apply(&mut scoring);
                        give_back.push(w, ev);
                        // Sampled by events in their merged order, which
                        // is the same in every run (how chunks arrive is
                        // not).
                        applied += 1;
                        if applied & 0xFFFF == 0 {
                            detectors_peak = detectors_peak.max(scoring.memory_bytes());
                        }
                    });
                };
                let makers = makers.take().unwrap_or_default();
                run_capture_sharded(path, pcfg, makers, &mut sink, &mut |p| bar.update(p))
            })?;
            for e in ends {
                totals.add(&e);
            }
        }
        // The workers' peaks (each its own flows, streams, parsers and DPI
        // states, sampled at its own frames) add up.
        totals.peak_memory.detectors = detectors_peak.max(scoring.memory_bytes());
        totals
    } else {
        let mut analyzer = s.prepared.analyzer_over(&mut scoring);
        for (n, path) in args.captures.iter().enumerate() {
            runs.run(n, path, &mut bar, &mut |path, pcfg, bar| {
                let res = match &alert_pcap {
                    Some(log) => {
                        let mut h = AlertPcapHandler {
                            inner: &mut analyzer,
                            log: log.clone(),
                        };
                        run_capture::<FlowData, _>(path, pcfg, &mut h, &mut |p| bar.update(p))
                    }
                    None => run_capture::<FlowData, _>(path, pcfg, &mut analyzer, &mut |p| {
                        bar.update(p)
                    }),
                };
                res.map(|s| (s, Vec::<()>::new()))
            })?;
        }
        WorkerEnd {
            stats: analyzer.run_stats(),
            rules: analyzer.rule_stats(),
            peak_memory: analyzer.peak_memory(),
            files_carved: analyzer.files_carved(),
        }
    };
    let CaptureRuns {
        db_error,
        mut failed,
        packets,
        flows,
        damage,
        ..
    } = runs;
    let stats = totals.stats;
    let rule_stats = totals.rules;
    let memory = totals.peak_memory;
    for d in &damage {
        scoring.capture_damaged(d);
    }
    scoring.finish().context("writing the output")?;
    let (scored, raised, by_server) = (scoring.scored, scoring.raised, scoring.by_server_model);
    drop(scoring);
    let alerts = std::mem::take(&mut det.alerts);
    let groups = std::mem::take(&mut det.groups).finish();
    let raised_total = det.alerts_raised;
    drop(det);
    if let (Some(log), Some(p)) = (&alert_pcap, &args.alert_pcap) {
        let st = log
            .finish()
            .with_context(|| format!("writing {}", p.display()))?;
        if !a.common.quiet {
            eprintln!(
                "netsift: alert pcap {}: {} packets of {} flows, {} alert comments ({} alerts had no flow packets to keep)",
                p.display(),
                st.packets,
                st.flows,
                st.comments,
                st.alerts_without_packets
            );
        }
    }
    if !a.common.quiet {
        for a in &alerts {
            eprintln!("netsift: alert: {a}");
        }
        if raised_total > alerts.len() as u64 {
            eprintln!(
                "netsift: ... {} more alerts not printed (all are in the output)",
                raised_total - alerts.len() as u64
            );
        }
        print_summary(out.summary(), packets, flows, stats.records);
        eprintln!("  memory (estimated, each at its peak): {memory}");
        print_bounds(&stats);
        if !a.model.is_empty() {
            eprintln!("  learned models: {scored} sessions scored ({by_server} by a per-server model), {raised} anomaly alerts");
        }
        print_rule_stats(rule_stats);
        print_alert_groups(&groups, None);
    }
    if let Some(l) = outputs.close(a.common.quiet) {
        eprintln!("netsift: error: {l}");
        failed = true;
    }
    if let Some(e) = db_error {
        return Err(e);
    }
    Ok(if failed {
        ExitCode::from(1)
    } else if a.fail_on_alert && raised_total > 0 {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

/// The damaged ranges of a capture as flowless `weird` records.
pub fn capture_damage(s: &netsift_engine::run::CaptureSummary) -> Vec<CaptureDamage> {
    let capture = s.path.display().to_string();
    s.damage
        .iter()
        .map(|d| CaptureDamage {
            ts_ns: d.ts_ns.unwrap_or(0),
            capture: capture.clone(),
            offset: d.offset,
            len: d.len,
            reason: d.reason,
        })
        .collect()
}

/// The capture row of `path` (its SHA-256 read from the file; stdin has none).
fn capture_info(path: &Path, pcfg: &PipelineConfig) -> Result<CaptureInfo> {
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
        sensor: String::new(),
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
fn load_rules(args: &AnalysisArgs) -> Result<Rules> {
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

/// The Suricata rules of `--suricata-rules` and the rules file's
/// `suricata_rules`, with `--var` over the rules file's `[vars]` over
/// Suricata's defaults. Skipped rules and syntax errors are printed (the
/// first 20) unless `quiet`; with `--strict-rules` they are an error.
fn load_suricata_rules(
    a: &AnalysisArgs,
    rules: &mut Rules,
    report: bool,
) -> Result<Option<Arc<netsift_rules::RuleSet>>> {
    let mut paths = std::mem::take(&mut rules.suricata_rules);
    paths.extend(a.suricata_rules.iter().cloned());
    if paths.is_empty() {
        return Ok(None);
    }
    let mut vars = netsift_rules::Vars::default();
    let cli = a.vars.iter().map(|v| match v.split_once('=') {
        Some((n, val)) => Ok((n.trim().to_string(), val.trim().to_string())),
        None => Err(anyhow::anyhow!("--var {v}: expected NAME=VALUE")),
    });
    let toml = rules.vars.iter().cloned().map(Ok);
    for nv in toml.chain(cli) {
        let (name, value) = nv?;
        let name = name.trim_start_matches('$');
        vars.set(name, &value)
            .map_err(|e| anyhow::anyhow!("variable {name}: {e}"))?;
    }
    let (set, rep) = netsift_rules::RuleSet::load(&paths, &vars, a.strict_rules)
        .map_err(|e| anyhow::anyhow!("suricata rules: {e}"))?;
    if report {
        let problems: Vec<String> = rep
            .errors
            .iter()
            .map(|e| e.to_string())
            .chain(rep.skipped.iter().map(|s| s.to_string()))
            .collect();
        for p in problems.iter().take(20) {
            eprintln!("netsift: suricata rules: {p}");
        }
        if problems.len() > 20 {
            eprintln!("netsift: suricata rules: ... {} more", problems.len() - 20);
        }
        eprintln!(
            "netsift: suricata rules: {} loaded, {} skipped (unsupported), {} with syntax errors",
            rep.loaded,
            rep.skipped.len(),
            rep.errors.len()
        );
    }
    Ok(Some(Arc::new(set)))
}

/// Counters of the Suricata rules, after the run.
fn print_rule_stats(s: Option<netsift_engine::analyze::rules::RuleStats>) {
    let Some(s) = s else { return };
    eprintln!("  suricata rules: {} alerts", s.alerts);
    if s.stream_bytes_dropped + s.buffers_dropped + s.files_dropped > 0 {
        eprintln!(
            "  suricata rules: not inspected (bounds): {} stream bytes, {} buffers, {} files",
            s.stream_bytes_dropped, s.buffers_dropped, s.files_dropped
        );
    }
}

/// The group-by of the alerts (issue 6), per rule and source: every match
/// is counted once (a live summary alert for its folded count).
/// `written`: alerts written, when folding made it differ from the matches.
pub fn print_alert_groups(g: &PcapSummary, written: Option<u64>) {
    if g.by_rule_source.is_empty() {
        return;
    }
    let total: u64 = g.by_rule.iter().map(|x| x.summary.count).sum::<u64>() + g.ungrouped_by_rule;
    match written {
        Some(w) => {
            eprintln!("  alerts ({total} matches in {w} alerts written), by rule and source:")
        }
        None => eprintln!("  alerts ({total}), by rule and source:"),
    }
    for x in g.by_rule_source.iter().take(20) {
        let src = x.source.map_or_else(|| "-".to_string(), |s| s.to_string());
        eprintln!("    {} {} from {src}: {}", x.kind, x.rule, x.summary.count);
    }
    if g.by_rule_source.len() > 20 {
        eprintln!("    ... {} more groups", g.by_rule_source.len() - 20);
    }
    if g.ungrouped_by_rule_source > 0 {
        eprintln!(
            "    ... {} matches beyond the group limit",
            g.ungrouped_by_rule_source
        );
    }
}

/// The summary lines for what the analyzer's bounds on flows nobody
/// answered and on parser memory cost, when they cost anything.
pub fn print_bounds(stats: &netsift_engine::analyze::AnalyzeStats) {
    print_classify_bounds(Some(stats.unanswered_refused), stats.classify_bounds);
    if stats.parsers_stopped > 0 {
        eprintln!(
            "  over --max-parser-memory: {} parsers stopped, holding {} bytes (weird records name their flows)",
            stats.parsers_stopped, stats.parser_bytes_stopped
        );
    }
}

/// The summary lines for what `--max-unanswered-flows` and
/// `--max-dpi-memory` cost, each when it cost anything: flows refused
/// application state while nobody answered them (`refused`; `flows` has
/// no such state), packets judged alone by DPI, verdict texts not kept;
/// flows DPI gave up on for memory.
pub fn print_classify_bounds(refused: Option<u64>, c: netsift_engine::classify::BoundCounts) {
    if refused.unwrap_or(0) > 0 || c.judged_alone > 0 || c.texts_not_kept > 0 {
        let mut parts = Vec::new();
        if let Some(n) = refused {
            parts.push(format!(
                "{n} flows not analysed (their conn records are complete; one answered later was analysed from then on)"
            ));
        }
        parts.push(format!(
            "{} packets judged alone by DPI, {} verdict texts not kept",
            c.judged_alone, c.texts_not_kept
        ));
        eprintln!(
            "  over --max-unanswered-flows (flows nobody answered): {}",
            parts.join(", ")
        );
    }
    if c.dpi_memory_given_up > 0 {
        eprintln!(
            "  over --max-dpi-memory: DPI gave up on {} flows while they grew (a TCP flow kept its port guess)",
            c.dpi_memory_given_up
        );
    }
}

pub fn print_summary(s: &Summary, packets: u64, flows: u64, records: u64) {
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
