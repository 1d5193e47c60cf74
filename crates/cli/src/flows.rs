//! `netsift flows`: one record per flow, as a table or JSON lines.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use netsift_engine::classify::ClassState;
use netsift_engine::shard::{run_capture_sharded, Delivery, GiveBack, Merger, Returns, When};
use netsift_engine::sorted::{SortedLines, DEFAULT_MEMORY};
use netsift_engine::{
    run_capture, CaptureSummary, Classifier, ClassifyConfig, FlowHandler, FlowRecord,
    PipelineConfig,
};
use netsift_flow::{Flow, FlowConfig, Seen};
use netsift_wire::Decoded;

use crate::progress::{human, Bar};
use crate::{stderr_is_tty, FlowsArgs, Format};

fn secs_to_ns(what: &str, s: f64) -> Result<u64> {
    if !s.is_finite() || s <= 0.0 || s > 1e9 {
        bail!("--{what} must be a positive number of seconds, got {s}");
    }
    Ok((s * 1e9) as u64)
}

/// Build the pipeline configuration from the flags.
pub fn pipeline_config(a: &crate::CommonArgs) -> Result<PipelineConfig> {
    let tcp_idle_ns = secs_to_ns("tcp-idle", a.tcp_idle)?;
    Ok(PipelineConfig {
        flow: FlowConfig {
            max_flows: a.max_flows as usize,
            tcp_idle_ns,
            tcp_attempt_ns: match a.tcp_attempt_idle {
                Some(v) => secs_to_ns("tcp-attempt-idle", v)?,
                None => tcp_idle_ns,
            },
            udp_idle_ns: secs_to_ns("udp-idle", a.udp_idle)?,
            other_idle_ns: secs_to_ns("other-idle", a.other_idle)?,
            active_timeout_ns: secs_to_ns("active-timeout", a.active_timeout)?,
            uid_seed: a.uid_seed.unwrap_or(0),
            ..FlowConfig::default()
        },
        strict_capture: a.strict_capture,
        ..PipelineConfig::default()
    })
}

/// Warn about what a capture's reading skipped or stopped at: damaged
/// ranges (up to ten listed), a cut-short last record, an invalid snaplen.
pub fn warn_capture_damage(s: &netsift_engine::run::CaptureSummary) {
    let path = s.path.display();
    if s.zero_snaplen {
        eprintln!(
            "netsift: warning: {path}: snaplen 0 in the pcap header at offset 16 (invalid); read as no snaplen"
        );
    }
    if s.damaged_ranges > 0 {
        eprintln!(
            "netsift: warning: {path}: damaged capture: skipped {} bytes in {} ranges and read on after each (--strict-capture stops instead)",
            s.damaged_bytes, s.damaged_ranges
        );
        for d in s.damage.iter().take(10) {
            eprintln!(
                "netsift: warning: {path}:   {} bytes skipped at offset {} ({})",
                d.len, d.offset, d.reason
            );
        }
        if s.damaged_ranges > 10 {
            eprintln!("netsift: warning: {path}:   ...");
        }
    }
    if let Some(t) = s.truncation {
        eprintln!(
            "netsift: warning: {path}: capture truncated at offset {} (record needs {} bytes, {} present); analysed up to there",
            t.offset, t.expected, t.available
        );
    }
}

/// Rows buffered to size the table's columns before streaming the rest.
const TABLE_SIZING_ROWS: usize = 10_000;

const COLS: usize = 12;
const HEADER: [&str; COLS] = [
    "ts", "uid", "l4", "src", "dst", "vlan", "pkts", "bytes", "state", "history", "protocol",
    "evidence",
];

struct Writer<W: Write> {
    classifier: Classifier,
    out: W,
    format: Format,
    seed: u16,
    pending: Vec<[String; COLS]>,
    widths: Option<[usize; COLS]>,
    /// A JSONL line being made.
    line: Vec<u8>,
    error: Option<io::Error>,
    /// With `--sorted`: lines waiting for the end.
    sorted: Option<SortedLines>,
}

/// A worker's share of `flows --threads N`: it classifies its flows and
/// formats their lines, the costly part; the reader thread puts them back
/// in the order one thread writes them and writes them.
struct FlowWorker {
    classifier: Classifier,
    format: Format,
    seed: u16,
    frame: u64,
    seq: u64,
    chunk: Vec<(When, u64, Line)>,
    /// Its lines, back from the reader thread once written, to free here.
    returns: Returns<Line>,
}

/// One flow's line, and the frame that created the flow (`--sorted`).
struct Line {
    first_frame: u64,
    body: LineBody,
}

enum LineBody {
    Json(Vec<u8>),
    Row(Box<[String; COLS]>),
}

impl FlowHandler<ClassState> for FlowWorker {
    fn on_packet(&mut self, flow: &mut Flow<ClassState>, seen: Seen, pkt: &Decoded<'_>) {
        self.classifier.on_packet(flow, seen, pkt);
    }

    fn on_frame_number(&mut self, n: u64) {
        self.frame = n;
    }

    fn on_flow_end(&mut self, mut flow: Flow<ClassState>) {
        self.classifier.on_end(&mut flow);
        let rec = FlowRecord::from_classified(&flow, self.seed);
        let body = match self.format {
            Format::Jsonl => {
                let mut v = Vec::with_capacity(netsift_engine::record::LINE_CAPACITY);
                rec.write_json(&mut v);
                v.push(b'\n');
                LineBody::Json(v)
            }
            Format::Table => LineBody::Row(Box::new(table_row(&rec))),
        };
        let when = When::of_end(&flow, self.frame);
        self.seq += 1;
        self.chunk.push((
            when,
            self.seq,
            Line {
                first_frame: flow.first_frame,
                body,
            },
        ));
    }
}

impl netsift_engine::shard::ShardHandler<ClassState> for FlowWorker {
    type Chunk = Vec<(When, u64, Line)>;
    type End = netsift_engine::classify::BoundCounts;
    fn end(self) -> Self::End {
        self.classifier.bound_counts()
    }
    fn take_chunk(&mut self) -> Option<Self::Chunk> {
        self.returns.free();
        if self.chunk.is_empty() {
            return None;
        }
        Some(std::mem::take(&mut self.chunk))
    }
}

/// A table row as one opaque line for [`SortedLines`]: each cell's length
/// (4 bytes) then its bytes.
fn pack_row(row: &[String; COLS]) -> Vec<u8> {
    let mut v = Vec::with_capacity(row.iter().map(|c| c.len() + 4).sum());
    for c in row {
        v.extend_from_slice(&(c.len() as u32).to_le_bytes());
        v.extend_from_slice(c.as_bytes());
    }
    v
}

fn unpack_row(mut b: &[u8]) -> [String; COLS] {
    let mut row: [String; COLS] = Default::default();
    for cell in row.iter_mut() {
        let Some((len, rest)) = b.split_first_chunk::<4>() else {
            break;
        };
        let len = (u32::from_le_bytes(*len) as usize).min(rest.len());
        let (c, rest) = rest.split_at(len);
        *cell = String::from_utf8_lossy(c).into_owned();
        b = rest;
    }
    row
}

fn endpoint(ip: &str, port: u16, l4: &str) -> String {
    let has_ports = matches!(l4, "TCP" | "UDP" | "SCTP");
    match (ip.contains(':'), has_ports) {
        (_, false) => ip.to_string(),
        (true, true) => format!("[{ip}]:{port}"),
        (false, true) => format!("{ip}:{port}"),
    }
}

/// `TLS/www.example.com (dpi)`-style protocol cell; guesses say so.
fn protocol_cell(r: &FlowRecord) -> String {
    let mut s = r.protocol.to_string();
    if let Some(app) = &r.app {
        s.push('/');
        s.push_str(app);
    }
    match r.confidence {
        netsift_engine::Confidence::Dpi | netsift_engine::Confidence::None => {}
        c => s.push_str(&format!(" ({})", c.as_str())),
    }
    s
}

fn table_row(r: &FlowRecord) -> [String; COLS] {
    [
        format!("{:.6}", r.ts),
        r.uid.to_string(),
        r.l4.to_string(),
        endpoint(&r.src_ip, r.src_port, &r.l4),
        endpoint(&r.dst_ip, r.dst_port, &r.l4),
        r.vlan.map_or_else(|| "-".to_string(), |v| v.to_string()),
        format!("{}/{}", r.orig_pkts, r.resp_pkts),
        format!("{}/{}", r.orig_bytes, r.resp_bytes),
        r.conn_state.to_string(),
        if r.history.is_empty() {
            "-".to_string()
        } else {
            r.history.to_string()
        },
        protocol_cell(r),
        r.evidence.to_string(),
    ]
}

impl<W: Write> Writer<W> {
    fn write_row(&mut self, row: &[String; COLS]) -> io::Result<()> {
        let widths = self.widths.unwrap_or([0; COLS]);
        let mut line = String::with_capacity(160);
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            if i == COLS - 1 {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{:<w$}", cell, w = widths[i]));
            }
        }
        writeln!(self.out, "{}", line.trim_end())
    }

    fn flush_table(&mut self) -> io::Result<()> {
        if self.widths.is_none() {
            let mut w = HEADER.map(str::len);
            for row in &self.pending {
                for (i, c) in row.iter().enumerate() {
                    w[i] = w[i].max(c.len());
                }
            }
            self.widths = Some(w);
            let header = HEADER.map(str::to_string);
            self.write_row(&header)?;
        }
        let rows = std::mem::take(&mut self.pending);
        for row in &rows {
            self.write_row(row)?;
        }
        Ok(())
    }

    fn emit(&mut self, rec: &FlowRecord) -> io::Result<()> {
        match self.format {
            Format::Jsonl => {
                self.line.clear();
                rec.write_json(&mut self.line);
                self.line.push(b'\n');
                self.out.write_all(&self.line)
            }
            Format::Table => self.emit_row(table_row(rec)),
        }
    }

    fn emit_row(&mut self, row: [String; COLS]) -> io::Result<()> {
        if self.widths.is_none() {
            self.pending.push(row);
            if self.pending.len() >= TABLE_SIZING_ROWS {
                self.flush_table()?;
            }
            Ok(())
        } else {
            self.write_row(&row)
        }
    }

    /// Take a flow's line, in the single-thread order: written now, or
    /// kept for the end under `--sorted`. A line only written comes back,
    /// for the worker that made it to free ([`GiveBack`]).
    fn take(&mut self, line: Line) -> io::Result<Option<Line>> {
        match (self.sorted.as_mut(), line.body) {
            (Some(s), LineBody::Json(v)) => s.push((line.first_frame, 0), v).map(|()| None),
            (Some(s), LineBody::Row(r)) => {
                s.push((line.first_frame, 0), pack_row(&r)).map(|()| None)
            }
            (None, LineBody::Json(v)) => {
                self.out.write_all(&v)?;
                Ok(Some(Line {
                    first_frame: line.first_frame,
                    body: LineBody::Json(v),
                }))
            }
            (None, LineBody::Row(r)) => self.emit_row(*r).map(|()| None),
        }
    }

    /// End the output; `table` is false when no capture could be read, so
    /// that an error is not preceded by an empty table's header.
    fn finish(&mut self, table: bool) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if let Some(sorted) = self.sorted.take() {
            sorted.finish_each(&mut |line| match self.format {
                Format::Jsonl => self.out.write_all(line),
                Format::Table => self.emit_row(unpack_row(line)),
            })?;
        }
        if self.format == Format::Table && (table || !self.pending.is_empty()) {
            self.flush_table()?;
        }
        self.out.flush()
    }
}

impl<W: Write> FlowHandler<ClassState> for Writer<W> {
    fn on_packet(&mut self, flow: &mut Flow<ClassState>, seen: Seen, pkt: &Decoded<'_>) {
        self.classifier.on_packet(flow, seen, pkt);
    }

    fn on_flow_end(&mut self, mut flow: Flow<ClassState>) {
        self.classifier.on_end(&mut flow);
        if self.error.is_some() {
            return;
        }
        let rec = FlowRecord::from_classified(&flow, self.seed);
        if let Err(e) = self.emit(&rec) {
            self.error = Some(e);
        }
    }
}

fn summary_line(s: &CaptureSummary) -> String {
    let c = &s.counters;
    format!(
        "{}: {} packets, {} flows, {} decode errors, {} non-IP, {} fragments ({} reassembled), {} evictions",
        s.path.display(),
        c.packets,
        s.flows(),
        c.decode_errors(),
        c.non_ip,
        c.fragments,
        s.defrag.reassembled,
        s.table.evicted
    )
}

/// A bound given on the command line (`--max-unanswered-flows`,
/// `--max-dpi-memory`, `--max-parser-memory`): 0 is none.
pub fn bound_flag(n: usize) -> usize {
    match n {
        0 => usize::MAX,
        n => n,
    }
}

/// Build the classifier configuration from the flags.
pub fn classify_config(a: &crate::ClassifyArgs) -> Result<ClassifyConfig> {
    let mut cfg = ClassifyConfig::default();
    if let Some(layers) = &a.layers {
        cfg.layers = layers
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
    }
    if a.no_guess {
        cfg.layers.retain(|l| l != "port");
        cfg.guess = false;
    }
    if !(0.0..=1.0).contains(&a.ml_threshold) {
        bail!(
            "--ml-threshold {} is not a probability (0..=1)",
            a.ml_threshold
        );
    }
    cfg.ml.threshold = a.ml_threshold;
    cfg.dpi.max_unanswered_states = bound_flag(a.max_unanswered_flows);
    cfg.dpi.max_memory = bound_flag(a.max_dpi_memory);
    if let Some(path) = &a.ml_model {
        if !cfg.layers.iter().any(|l| l == "ml") {
            bail!("--ml-model needs the `ml` layer in --layers (e.g. --layers flow,dpi,ml,port)");
        }
        let m = netsift_ml::Model::load(path)
            .with_context(|| format!("loading ML model {}", path.display()))?;
        cfg.ml.model = Some(std::sync::Arc::new(m));
    }
    Ok(cfg)
}

pub fn run(args: &FlowsArgs) -> Result<ExitCode> {
    let cfg = pipeline_config(&args.common)?;
    let stdout = io::stdout().lock();
    let ccfg = classify_config(&args.common.classify)?;
    let threads = crate::threads(args.threads);
    let mut w = Writer {
        classifier: Classifier::new(&ccfg)?,
        out: BufWriter::with_capacity(1 << 16, stdout),
        format: args.format,
        seed: args.common.community_id_seed,
        pending: Vec::new(),
        widths: None,
        line: Vec::with_capacity(1024),
        error: None,
        sorted: args.sorted.then(|| SortedLines::new(DEFAULT_MEMORY)),
    };
    let sharded = threads > 1 || args.sorted;
    // The next line is prefetched while one is written: it was made on a
    // worker's core.
    let mut merger: Merger<Line> = Merger::default().with_hint(|l: &Line| {
        if let LineBody::Json(b) = &l.body {
            netsift_detect::prefetch::bytes(b, 16);
        }
    });
    let mut bar = Bar::new(!args.common.quiet && stderr_is_tty());
    let mut failed = false;
    let mut any_read = false;
    let (mut packets, mut flows) = (0u64, 0u64);
    // What --max-unanswered-flows cost the workers' classifiers.
    let mut unanswered = netsift_engine::classify::BoundCounts::default();
    for (n, path) in args.captures.iter().enumerate() {
        // A uid seed per capture keeps uids unique across the captures of one run.
        let mut cfg = cfg;
        cfg.flow.uid_seed = cfg.flow.uid_seed.wrapping_add(n as u64);
        let res = if !sharded {
            run_capture::<ClassState, _>(path, cfg, &mut w, &mut |p| bar.update(p))
        } else {
            // Each worker has its own classifier (its expectations of FTP
            // data connections stay with the control connection's worker:
            // both connections join the same two hosts).
            let mut makers = Vec::with_capacity(threads);
            let returns: Vec<Returns<Line>> = (0..threads).map(|_| Returns::default()).collect();
            let mut give_back = GiveBack::new(&returns, |_| true);
            // Each worker keeps its share of the unanswered flows' DPI
            // states (as `analyze`'s workers do).
            let mut wcfg = ccfg.clone();
            wcfg.dpi.max_unanswered_states =
                netsift_engine::shard::worker_bound(wcfg.dpi.max_unanswered_states, threads);
            wcfg.dpi.max_memory = netsift_engine::shard::worker_bytes(wcfg.dpi.max_memory, threads);
            for returns in returns {
                let classifier = Classifier::new(&wcfg)?;
                let (format, seed) = (args.format, args.common.community_id_seed);
                makers.push(move || FlowWorker {
                    classifier,
                    format,
                    seed,
                    frame: 0,
                    seq: 0,
                    chunk: Vec::new(),
                    returns,
                });
            }
            let mut sink = |d: Delivery<'_, Vec<(When, u64, Line)>>| {
                merger.take_from(d, &mut |worker, line| {
                    if w.error.is_none() {
                        match w.take(line) {
                            Ok(Some(back)) => give_back.push(worker, back),
                            Ok(None) => {}
                            Err(e) => w.error = Some(e),
                        }
                    }
                })
            };
            run_capture_sharded(path, cfg, makers, &mut sink, &mut |p| bar.update(p)).map(
                |(s, ends)| {
                    for e in ends {
                        unanswered = unanswered + e;
                    }
                    s
                },
            )
        };
        bar.clear();
        if let Some(e) = w.error.take() {
            return Err(e.into());
        }
        match res {
            Ok(s) => {
                any_read = true;
                packets += s.counters.packets;
                flows += s.flows();
                warn_capture_damage(&s);
                if !args.common.quiet {
                    eprintln!("netsift: {}", summary_line(&s));
                }
            }
            Err(e) => {
                eprintln!("netsift: error: {e}");
                failed = true;
            }
        }
    }
    w.finish(any_read)?;
    if !args.common.quiet {
        crate::analyze::print_classify_bounds(None, unanswered + w.classifier.bound_counts());
    }
    if !args.common.quiet && args.captures.len() > 1 {
        eprintln!(
            "netsift: total: {} captures, {} packets, {} flows",
            args.captures.len(),
            human(packets),
            human(flows)
        );
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
