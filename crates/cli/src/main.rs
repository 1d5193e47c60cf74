//! The `netsift` command line: raw flags → validated config → engine.
//!
//! Exit codes: 0 success, 1 a capture could not be read (the message names
//! the file and byte offset) or live capture failed, 2 bad usage or a
//! database (`--db`) that cannot be reached, 3 alerts fired with
//! `--fail-on-alert`.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

mod accuracy;
mod analyze;
#[cfg(feature = "ndpi")]
mod compare;
mod db;
mod extract;
mod flows;
mod identify;
mod learn;
mod progress;
mod redis_out;
mod serve;
mod train;
mod watch;
mod watch_threads;

#[derive(Parser, Debug)]
#[command(
    name = "netsift",
    version,
    about = "Network traffic analyzer for security work: flows, protocols, records and alerts from captures",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List the flows of one or more captures (pcap or pcapng; `-` is stdin).
    Flows(FlowsArgs),
    /// Protocol records (http, dns, tls, ...), flows and carved files of captures.
    Analyze(AnalyzeArgs),
    /// Analyze live traffic of an interface (AF_PACKET) like `analyze` does captures.
    Watch(WatchArgs),
    /// Write the packets of one flow (every fragment included) as a pcap.
    Extract(ExtractArgs),
    /// Web analyzer: upload captures and browse flows, records, files and alerts.
    Serve(ServeArgs),
    /// Maintain a database (SQLite file or PostgreSQL): `db prune`.
    Db(DbArgs),
    /// Learn a model of normal command sessions (ftp, smtp, pop3, imap) from
    /// training captures, for `analyze --model`.
    Learn(LearnArgs),
    /// Compare netsift's protocol verdicts with nDPI's on nDPI's regression corpus.
    Accuracy(AccuracyArgs),
    /// Train a model for the `ml` classification layer from labelled
    /// captures, and print its evaluation on a split by capture file.
    Train(TrainArgs),
    /// Name the protocol of one payload (a connection's first bytes), or
    /// with --listen log what clients connecting to a TCP port speak.
    Identify(IdentifyArgs),
    /// Run netsift's layers and nDPI side by side on every flow of captures:
    /// an agreement table per protocol and each disagreement with both
    /// evidences and the bytes that decided (built with `--features ndpi`).
    #[cfg(feature = "ndpi")]
    Compare(CompareArgs),
}

#[cfg(feature = "ndpi")]
#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// Capture files.
    #[arg(required = true, value_name = "CAPTURE")]
    pub captures: Vec<PathBuf>,

    /// Output format: the table and disagreements, or one JSON object per flow.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Disagreements to list (table format).
    #[arg(long, default_value_t = 40)]
    pub show: usize,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// Output format of `netsift identify`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum IdentifyFormat {
    /// The protocol and the evidence.
    Text,
    /// One JSON object.
    Json,
}

#[derive(clap::Args, Debug)]
pub struct IdentifyArgs {
    /// The payload's file (`-` or absent: standard input).
    #[arg(value_name = "FILE")]
    pub payload: Option<PathBuf>,

    /// The payload as hex digits (spaces and colons ignored).
    #[arg(long, value_name = "HEX")]
    pub hex: Option<String>,

    /// The port the client connected to (only tells apart variants of one
    /// structure, such as DNS and mDNS; never decides alone).
    #[arg(long, default_value_t = 0)]
    pub port: u16,

    /// tcp or udp.
    #[arg(long, default_value = "tcp")]
    pub transport: String,

    /// Who sent the payload: to_server (the connecting client) or
    /// to_client (a server's banner).
    #[arg(long, default_value = "to_server")]
    pub direction: String,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = IdentifyFormat::Text)]
    pub format: IdentifyFormat,

    /// Listen on this TCP address (e.g. 0.0.0.0:2222): log one JSON line
    /// per connection with the verdict on its first bytes, then close. With
    /// --transport udp, log one line per datagram. Never sends anything.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,

    /// --listen: seconds to wait for a client's first bytes.
    #[arg(long, default_value_t = 5.0, value_name = "SECS")]
    pub wait: f64,

    /// --listen: connections handled at once (more are closed at once).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub max_conns: u64,

    /// --listen: stop after this many connections.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,

    /// --listen: append the JSON lines to this file (default stdout).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Output format of `netsift flows`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// An aligned, human-readable table.
    Table,
    /// One JSON object per flow and line.
    Jsonl,
}

#[derive(clap::Args, Debug)]
pub struct FlowsArgs {
    /// Capture files; `-` reads a capture from standard input.
    #[arg(required = true, value_name = "CAPTURE")]
    pub captures: Vec<PathBuf>,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Worker threads. Flows are spread over them by a symmetric hash of
    /// their addresses, and their lines put back in the one-thread order:
    /// the output is the same for any number [default: one per core, at
    /// most 16].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Write flows in the order they started (the frame that created each
    /// one) instead of the order they ended. Lines wait in memory (64 MiB)
    /// and then in temporary files.
    #[arg(long)]
    pub sorted: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// The number of worker threads for `--threads N`: none or 0 is one per
/// core ([`default_threads`]), an explicit N is taken as it is (up to 256).
pub fn threads(n: Option<usize>) -> usize {
    match n {
        None | Some(0) => default_threads(),
        Some(n) => n.min(256),
    }
}

/// Workers when `--threads` is not given: one per core the process may use
/// (`available_parallelism` follows the CPU affinity mask and cgroup
/// quota), at most [`MAX_DEFAULT_THREADS`]. Two workers beat one on every
/// capture measured, floods included, within issue 16's memory bounds
/// (bench/threads.sh, bench/flood.sh; docs/threads.md "Cost").
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_DEFAULT_THREADS)
}

/// Each worker reads the whole capture and decodes every frame's
/// addresses (docs/threads.md, "How"), a cost that grows with N; beyond
/// this many, ask for more with an explicit `--threads N`.
pub const MAX_DEFAULT_THREADS: usize = 16;

/// Flow-table and classification options shared by the subcommands.
#[derive(clap::Args, Debug)]
pub struct CommonArgs {
    /// Stop at the first damaged record of a capture, as tcpdump and tshark
    /// do. By default netsift skips to the next plausible record, reads on,
    /// and reports each skipped byte range.
    #[arg(long)]
    pub strict_capture: bool,

    /// Maximum flows held at once; the least recently active is evicted beyond it.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub max_flows: u64,

    /// Idle timeout of TCP connections, in seconds of packet time.
    #[arg(long, default_value_t = 300.0, value_name = "SECS")]
    pub tcp_idle: f64,

    /// Idle timeout of an unanswered TCP attempt (SYN or probe, no reply,
    /// no data), in seconds [default: --tcp-idle; `watch`: 5, Zeek's
    /// tcp_attempt_delay, so scans of filtered ports are seen in seconds].
    #[arg(long, value_name = "SECS")]
    pub tcp_attempt_idle: Option<f64>,

    /// Idle timeout of UDP flows, in seconds of packet time.
    #[arg(long, default_value_t = 60.0, value_name = "SECS")]
    pub udp_idle: f64,

    /// Idle timeout of other protocols (ICMP, SCTP, GRE, ...), in seconds.
    #[arg(long, default_value_t = 60.0, value_name = "SECS")]
    pub other_idle: f64,

    /// Active timeout: longer flows are split into several records, in seconds.
    #[arg(long, default_value_t = 1800.0, value_name = "SECS")]
    pub active_timeout: f64,

    /// Seed of the flow uids. A run's n-th capture uses seed + n (default
    /// seed 0); `watch` defaults to its start time and prints it, so that
    /// `analyze --uid-seed S` of its `--write` capture gives the same uids.
    #[arg(long, value_name = "N")]
    pub uid_seed: Option<u64>,

    /// Community ID seed.
    #[arg(long, default_value_t = 0)]
    pub community_id_seed: u16,

    /// No summary on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,

    #[command(flatten)]
    pub classify: ClassifyArgs,
}

/// Classification options, shared by the subcommands that classify.
#[derive(clap::Args, Debug, Clone)]
pub struct ClassifyArgs {
    /// Classification layers, in order, comma-separated (default: flow,dpi,port).
    #[arg(long, value_name = "LIST")]
    pub layers: Option<String>,

    /// Turn off guessing: the last-resort port guess and nDPI's port and IP-list matches.
    #[arg(long)]
    pub no_guess: bool,

    /// Model of the `ml` layer, from `netsift train` (default: the model
    /// netsift ships).
    #[arg(long, value_name = "FILE")]
    pub ml_model: Option<PathBuf>,

    /// Probability the `ml` layer needs to name a protocol (0..=1).
    #[arg(long, value_name = "P", default_value_t = netsift_engine::classify::ml::DEFAULT_THRESHOLD)]
    pub ml_threshold: f32,
    /// Flows whose responder has not answered (no SYN-ACK, no reply
    /// datagram) that may hold DPI state and, in `analyze` and `watch`,
    /// application state (streams, parser, pre-verdict bytes) at once;
    /// later ones are judged packet by packet, counted in the summary, and
    /// analysed from the moment they are answered. 0: no bound (captures
    /// of one direction only, where nothing is ever answered).
    #[arg(long, default_value_t = netsift_engine::analyze::DEFAULT_MAX_UNANSWERED_FLOWS, value_name = "N")]
    pub max_unanswered_flows: usize,
    /// Bytes DPI may keep at once for all flows (stream prefixes, first
    /// datagrams) while it waits for more; above it, a flow keeping more
    /// than the mean is given up on when its bytes grow (above twice it,
    /// any such flow is): a TCP flow keeps its port guess. 0: no bound.
    #[arg(long, default_value_t = netsift_engine::classify::DEFAULT_MAX_DPI_MEMORY, value_name = "BYTES")]
    pub max_dpi_memory: usize,
}

/// Port-scan detection method.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScanMethodArg {
    /// Distinct ports or hosts within a window (Zeek's scan.zeek defaults).
    Threshold,
    /// Threshold Random Walk (Jung et al., 2004) over first contacts.
    Trw,
    /// Both methods; each raises its own alerts.
    Both,
}

/// Compiler of `watch --filter`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum FilterCompilerArg {
    /// netsift's own compiler (pure Rust).
    Builtin,
    /// libpcap's pcap_compile.
    Libpcap,
}

/// How `watch --threads` shares packets between its sockets.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum FanoutArg {
    /// By the IP addresses only (both directions, fragments and FTP data
    /// connections meet on one worker, as in `analyze --threads`).
    Addresses,
    /// By the kernel's flow hash (addresses and ports): FTP data
    /// connections and non-first fragments may land on another worker.
    Hash,
}

/// Output format of `netsift analyze`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum AnalyzeFormat {
    /// One `<log>.jsonl` file per log in the output directory.
    Jsonl,
    /// Suricata EVE: one time-ordered stream of events in Suricata's field
    /// names and layout, valid against Suricata's schema.
    Eve,
    /// Zeek's ASCII logs (conn.log, dns.log, ...: TSV with Zeek's header) in
    /// the output directory; `-o -` writes every log's block to stdout.
    Zeek,
    /// Zeek's JSON logs (one `<log>.log` of JSON objects per log) in the
    /// output directory; `-o -` streams them to stdout with a `_path` field.
    ZeekJson,
}

#[derive(clap::Args, Debug)]
pub struct AnalyzeArgs {
    /// Capture files; `-` reads a capture from standard input.
    #[arg(required = true, value_name = "CAPTURE")]
    pub captures: Vec<PathBuf>,

    /// Also (or only, without -o) write captures, flows, records, files and
    /// alerts into this database (created or migrated; see `serve`): a
    /// SQLite FILE, or postgres://user:pass@host:port/db (also
    /// postgresql://; PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE fill
    /// what the URL leaves out).
    #[arg(long, value_name = "FILE|URL")]
    pub db: Option<String>,

    /// Write the packets of every flow that raised an alert to FILE
    /// (pcapng), the alert's text in the comment of the packet that raised
    /// it: up to --alert-pcap-packets packets before each alert and as many
    /// after, per flow.
    #[arg(long, value_name = "FILE")]
    pub alert_pcap: Option<PathBuf>,

    /// Packets kept before, and written after, each alert of a flow
    /// (--alert-pcap).
    #[arg(long, value_name = "N", default_value_t = 32,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub alert_pcap_packets: u32,

    /// Worker threads for the per-flow work (reassembly, parsers, DPI,
    /// signatures, rules, carving); what spans flows (scans, brute force,
    /// floods, models, aggregation, writing) runs once, in capture order,
    /// so the output is the same for any number [default: one per core, at
    /// most 16; one with --alert-pcap, which needs one].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

/// What `analyze` and `watch` share: output, carving, reassembly bounds,
/// rules and detection.
#[derive(clap::Args, Debug)]
pub struct AnalysisArgs {
    /// Output directory (jsonl, zeek, zeek-json), or output file (eve;
    /// stdout when absent or `-`). `-o -` writes zeek and zeek-json to stdout.
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = AnalyzeFormat::Jsonl)]
    pub format: AnalyzeFormat,

    /// Name of this sensor, stored with every capture in `--db` and mixed
    /// into the uid seed (so sensors sharing a database never share uids)
    /// [default: the host name; mixed in only when given or with a
    /// postgres:// database].
    #[arg(long, value_name = "NAME")]
    pub sensor: Option<String>,

    /// Also stream the EVE events (as `--format eve`) to Redis:
    /// redis://[user:pass@]host:port/KEY. Never blocks the analysis: a
    /// bounded queue, the excess counted in the summary.
    #[arg(long, value_name = "URL")]
    pub eve_redis: Option<String>,

    /// How events reach Redis, as Suricata's redis output: list (LPUSH),
    /// lpush, rpush, channel (PUBLISH), stream (XADD MAXLEN ~).
    #[arg(long, value_enum, default_value_t = redis_out::RedisMode::List)]
    pub redis_mode: redis_out::RedisMode,

    /// Approximate length a `--redis-mode stream` is trimmed to.
    #[arg(long, default_value_t = 1_000_000, value_name = "N")]
    pub redis_maxlen: u64,

    /// EVE: add a `netsift` object to every event (uid, evidence,
    /// confidence, deciding layer, the record as netsift logs it) and write
    /// netsift's logs Suricata has no event for. Not schema-valid.
    #[arg(long)]
    pub eve_extras: bool,

    /// Write each carved file once into DIR, named by its SHA-256.
    #[arg(long, value_name = "DIR")]
    pub extract_dir: Option<PathBuf>,

    /// Largest carved file, in bytes; longer files are cut and marked incomplete.
    #[arg(long, default_value_t = analyze::DEFAULT_MAX_FILE)]
    pub max_file_size: u64,

    /// Do not look inside carved files (no verdict, no `html`/`js`
    /// records, no YARA or hash list).
    #[arg(long)]
    pub no_content: bool,

    /// Bytes of each carved file analysed and scanned by YARA.
    #[arg(long, default_value_t = 8 << 20, value_name = "BYTES")]
    pub content_max_bytes: usize,

    /// Scan every carved file with the YARA rules of FILE, or of every
    /// .yar/.yara file in DIR (yara-x); a match raises a `file` alert.
    #[arg(long, value_name = "FILE_OR_DIR")]
    pub yara: Option<PathBuf>,

    /// With --yara, also scan the first 64 KiB of every reassembled TCP
    /// stream direction.
    #[arg(long, requires = "yara")]
    pub yara_streams: bool,

    /// Time one YARA scan may take, in seconds.
    #[arg(long, default_value_t = 5, value_name = "SECS")]
    pub yara_timeout: u64,

    /// Time all YARA scans of a run may take together, in seconds; later
    /// files are not scanned (and counted).
    #[arg(long, default_value_t = 600, value_name = "SECS")]
    pub yara_budget: u64,

    /// Raise a `file` alert for carved files whose MD5, SHA-1 or SHA-256
    /// is in FILE (one hash per line, optionally followed by a name).
    #[arg(long, value_name = "FILE")]
    pub hash_blacklist: Option<PathBuf>,

    /// Out-of-order bytes buffered per TCP stream direction; beyond it the
    /// oldest hole is given up as a gap.
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    pub max_stream_buffer: usize,

    /// Out-of-order bytes buffered across all TCP streams at once.
    #[arg(long, default_value_t = 256 << 20, value_name = "BYTES")]
    pub max_reassembly_memory: usize,

    /// Bytes all flows' parsers may hold at once in buffers of their own
    /// (unfinished HTTP heads, TLS handshake messages, lines); above it, a
    /// parser holding more than the mean of those that hold bytes is
    /// stopped when it next grows (above twice it, any parser that grows
    /// is), with a `weird` record, and its flow is not parsed further.
    /// 0: no bound.
    #[arg(long, default_value_t = netsift_engine::analyze::DEFAULT_MAX_PARSER_MEMORY, value_name = "BYTES")]
    pub max_parser_memory: usize,

    /// Detection rules in one TOML file (lists, thresholds, alert timeout).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,

    /// IPv4/IPv6 addresses and CIDR ranges, one per line (`#` comments).
    #[arg(long, value_name = "FILE")]
    pub ip_blacklist: Option<PathBuf>,

    /// Domains, one per line; subdomains match too.
    #[arg(long, value_name = "FILE")]
    pub domain_blacklist: Option<PathBuf>,

    /// URL substrings, one per line, matched raw and percent-decoded.
    #[arg(long, value_name = "FILE")]
    pub url_blacklist: Option<PathBuf>,

    /// Payload signatures, one per line (`\xHH`, `\\`, `\'` escapes), matched
    /// over reassembled TCP streams and UDP payloads.
    #[arg(long, value_name = "FILE")]
    pub signatures: Option<PathBuf>,

    /// Suricata rules (repeatable; also `suricata_rules` in the rules file),
    /// run over packets, reassembled streams, parsed HTTP/TLS/DNS/SSH
    /// buffers and carved files. A rule using a keyword netsift does not
    /// run is skipped and named (see docs/suricata-rules.md).
    #[arg(long = "suricata-rules", value_name = "FILE")]
    pub suricata_rules: Vec<PathBuf>,

    /// A Suricata rule variable, `NAME=VALUE` (repeatable; also `[vars]` in
    /// the rules file): `--var HOME_NET=[10.0.0.0/8]`. Unset variables take
    /// Suricata's defaults.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,

    /// Stop when a Suricata rule is skipped (unsupported keyword) or has a
    /// syntax error, instead of running the others.
    #[arg(long)]
    pub strict_rules: bool,

    /// Port-scan detection: fixed thresholds (Zeek's), Threshold Random Walk, or both.
    #[arg(long, value_enum, default_value_t = ScanMethodArg::Threshold)]
    pub scan_method: ScanMethodArg,

    /// A model from `netsift learn`; sessions of its protocol are scored and
    /// deviations raise `anomaly` alerts. Repeat for several protocols.
    #[arg(long, value_name = "FILE")]
    pub model: Vec<PathBuf>,

    /// Which learned model scores a session: the server's own (same
    /// address, port and banner software) when the model file has one, or
    /// always the general one.
    #[arg(long, value_enum, default_value_t = ModelScope::Server)]
    pub model_scope: ModelScope,

    /// Exit with status 3 when any alert fired.
    #[arg(long)]
    pub fail_on_alert: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// Protocols `netsift learn` models.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum LearnProtocol {
    Ftp,
    Smtp,
    Pop3,
    Imap,
}

/// Learned models: per server, or general only.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModelScope {
    /// Per-server models beside the general one.
    Server,
    /// The general model only.
    General,
}

/// Sequential pattern mining algorithm.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum AlgorithmArg {
    /// PrefixSpan (Pei et al. 2001): same patterns as GSP, faster.
    Prefixspan,
    /// GSP (Srikant & Agrawal 1996).
    Gsp,
}

#[derive(clap::Args, Debug)]
pub struct LearnArgs {
    /// The protocol whose sessions are learned.
    #[arg(value_enum)]
    pub protocol: LearnProtocol,

    /// Training captures of normal traffic.
    #[arg(required = true, value_name = "CAPTURE")]
    pub captures: Vec<PathBuf>,

    /// Where the model (JSON) is written.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,

    /// Minimum support of a pattern: a fraction of the sessions (0 < F <= 1),
    /// or a number of sessions when above 1.
    #[arg(long, default_value_t = 0.05, value_name = "F")]
    pub min_support: f64,

    /// Longest pattern mined.
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u64).range(1..=32))]
    pub max_pattern_len: u64,

    /// Most patterns; beyond it learning stops with an error (raise --min-support).
    #[arg(long, default_value_t = 50_000)]
    pub max_patterns: usize,

    /// Mining algorithm.
    #[arg(long, value_enum, default_value_t = AlgorithmArg::Prefixspan)]
    pub algorithm: AlgorithmArg,

    /// `server` also learns a model per server (address, port and banner
    /// software) with at least --min-server-sessions sessions; `general`
    /// learns the general model only.
    #[arg(long, value_enum, default_value_t = ModelScope::Server)]
    pub model_scope: ModelScope,

    /// Fewest sessions for a per-server model.
    #[arg(long, default_value_t = 30)]
    pub min_server_sessions: usize,

    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(clap::Args, Debug)]
pub struct WatchArgs {
    /// Interface to capture from (`ip link`), e.g. eth0 or lo.
    #[arg(value_name = "IFACE")]
    pub iface: String,

    /// Capture filter, tcpdump-like: host, net, port, portrange, proto,
    /// tcp/udp/icmp/icmp6/ip/ip6/sctp/arp, src/dst, and/or/not, parentheses.
    #[arg(long, value_name = "EXPR")]
    pub filter: Option<String>,

    /// Filter compiler: netsift's own, or libpcap's (the whole tcpdump
    /// language; needs a build with `--features libpcap`).
    #[arg(long, value_enum, default_value_t = FilterCompilerArg::Builtin)]
    pub filter_compiler: FilterCompilerArg,

    /// Do not put the interface in promiscuous mode.
    #[arg(long, short = 'p')]
    pub no_promisc: bool,

    /// Bytes kept of each packet (64..=262144).
    #[arg(long, short = 's', default_value_t = 262_144, value_parser = clap::value_parser!(u32).range(64..=262_144))]
    pub snaplen: u32,

    /// Kernel ring size, in MiB (per socket with --threads).
    #[arg(long, default_value_t = 64, value_name = "MIB", value_parser = clap::value_parser!(u64).range(2..=4096))]
    pub ring_mb: u64,

    /// Capture with N AF_PACKET sockets in one PACKET_FANOUT group, each
    /// with its own ring and worker thread (flows, reassembly, parsers,
    /// DPI, rules); scans, floods, models, aggregation and the writers run
    /// once, in a central thread. 1: one socket, no fanout [default: one
    /// per core, at most 16].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// With --threads N>1: how the kernel shares packets between the sockets.
    #[arg(long, value_enum, default_value_t = FanoutArg::Addresses)]
    pub fanout: FanoutArg,

    /// Also write the raw packets (as captured, after the filter) to this pcapng.
    #[arg(long, short = 'w', value_name = "CAPTURE.pcapng")]
    pub write: Option<PathBuf>,

    /// Rotate each JSONL (or Zeek) log file when it reaches this size.
    #[arg(long, value_name = "BYTES")]
    pub rotate_size: Option<u64>,

    /// Rotate the JSONL (or Zeek) log files this often.
    #[arg(long, value_name = "SECS")]
    pub rotate_interval: Option<f64>,

    /// Repeats of an alert (same type, rule, source) within this window are
    /// folded into one summary alert [default: the rules' alert_timeout, or 60].
    #[arg(long, value_name = "SECS")]
    pub alert_timeout: Option<f64>,

    /// Stop after this many packets.
    #[arg(long, short = 'c', value_name = "N")]
    pub count: Option<u64>,

    /// Stop after this many seconds.
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,

    /// Seconds between status lines on stderr.
    #[arg(long, default_value_t = 5.0, value_name = "SECS")]
    pub status_interval: f64,

    /// Also (or only, without -o) write flows, records, files and alerts
    /// into this database as they happen, for `netsift serve`: a SQLite
    /// FILE or a postgres:// URL (see `analyze --db`).
    #[arg(long, value_name = "FILE|URL")]
    pub db: Option<String>,

    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

#[derive(clap::Args, Debug)]
pub struct ExtractArgs {
    /// The capture (a file: it is read twice).
    #[arg(value_name = "CAPTURE")]
    pub capture: PathBuf,

    /// The flow's uid, as printed by `netsift flows`.
    #[arg(long)]
    pub uid: String,

    /// Output pcap.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,

    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// The database (created or migrated): a SQLite FILE or a postgres://
    /// URL (every sensor writing into it is shown).
    #[arg(long, default_value = "netsift.db", value_name = "FILE|URL")]
    pub db: String,

    /// Sensor name of captures uploaded through the page [default: the host name].
    #[arg(long, value_name = "NAME")]
    pub sensor: Option<String>,

    /// Address to listen on. A non-loopback address needs --token.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: String,

    /// Access token every request must carry (cookie set by `/?token=T`, or
    /// `Authorization: Bearer T`).
    #[arg(long, env = "NETSIFT_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// Largest upload, in bytes (413 beyond).
    #[arg(long, default_value_t = 1 << 30, value_name = "BYTES")]
    pub max_upload: u64,

    /// Where uploaded captures and carved files are kept (default: next to the database).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Requests handled at once (page rendering and queries; as many
    /// uploads besides). Waiting connections hold no thread.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub threads: u32,

    /// Open connections allowed from one client address (an IPv6 client
    /// counts by its /64); more are closed at once.
    #[arg(long, default_value_t = 64, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_conns_per_ip: u32,

    /// Open connections allowed in all; more are closed at once.
    #[arg(long, default_value_t = 1024, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_conns: u32,

    /// Seconds a client has to send a whole request head (and an idle
    /// keep-alive connection to start its next request) before it is closed.
    #[arg(long, default_value_t = 5, value_name = "SECONDS", value_parser = clap::value_parser!(u32).range(1..=300))]
    pub head_timeout: u32,
}

#[derive(clap::Args, Debug)]
pub struct DbArgs {
    #[command(subcommand)]
    pub command: DbCommand,
}

#[derive(Subcommand, Debug)]
pub enum DbCommand {
    /// Remove flows, records, alerts and files older than a cutoff:
    /// PostgreSQL drops whole day partitions, SQLite deletes rows.
    Prune(PruneArgs),
}

#[derive(clap::Args, Debug)]
pub struct PruneArgs {
    /// The database: a SQLite FILE or a postgres:// URL.
    #[arg(long, value_name = "FILE|URL")]
    pub db: String,

    /// Age of the oldest data kept, by packet time: 30d, 12h, 90m, 3600s.
    #[arg(long, value_name = "AGE")]
    pub older_than: String,
}

#[derive(clap::Args, Debug)]
pub struct AccuracyArgs {
    /// Corpus directory holding pcap/ and truth.tsv (nDPI's regression corpus).
    #[arg(long, default_value = "../shared/corpus/ndpi")]
    pub corpus: PathBuf,

    /// Exit with status 3 when agreement is below this percentage.
    #[arg(long, value_name = "PCT")]
    pub min: Option<f64>,

    /// Which nDPI labels count: `all` registered protocols, `core` (the 30
    /// core protocols), or a comma-separated list.
    #[arg(long, value_name = "SET")]
    pub protocols: Option<String>,

    /// Disagreeing flows and confusions to list.
    #[arg(long, default_value_t = 40)]
    pub show: usize,

    /// Breadth mode: count every flow nDPI identified by DPI, whatever its
    /// protocol (names compared ignoring case and punctuation; netsift's
    /// app counts too). Overrides --protocols.
    #[arg(long)]
    pub breadth: bool,

    #[command(flatten)]
    pub classify: ClassifyArgs,
}

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("labels").required(true).args(["truth", "self_labels"])))]
pub struct TrainArgs {
    /// Training captures, or directories of captures (their files, sorted).
    #[arg(required = true, value_name = "CAPTURE")]
    pub captures: Vec<PathBuf>,

    /// Where the model is written: `.json` gives JSON, anything else the
    /// binary format.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Labels from nDPI-style rows (tab-separated: pcap, l4, src_ip,
    /// src_port, dst_ip, dst_port, master_proto, app_proto, status), like
    /// the shared corpus's truth.tsv; rows with status `dpi` count.
    #[arg(long, value_name = "TSV")]
    pub truth: Option<PathBuf>,

    /// Labels from the DPI layer's own `dpi` verdicts on the captures.
    #[arg(long = "self")]
    pub self_labels: bool,

    /// Packets per flow the features come from.
    #[arg(long, default_value_t = netsift_ml::DEFAULT_PACKETS, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub packets: u16,

    /// Trees of the forest.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub trees: u16,

    /// Deepest tree.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub max_depth: u16,

    /// Features tried at each split [default: half of them].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub mtry: Option<u64>,

    /// Fewest training flows in a leaf.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub min_leaf: u32,

    /// Protocols with fewer labelled flows are not learned.
    #[arg(long, default_value_t = 5)]
    pub min_flows: usize,

    /// Folds of the cross-validation by capture file.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(2..=100))]
    pub folds: u64,

    /// Threshold the evaluation applies (what `--ml-threshold` will be).
    #[arg(long, default_value_t = netsift_engine::classify::ml::DEFAULT_THRESHOLD)]
    pub threshold: f32,

    /// Open-set test: protocols (comma-separated) kept out of every fold's
    /// training; the evaluation reports how many of their flows get a
    /// confident (hence wrong) name. Evaluation only: the written model
    /// learns them.
    #[arg(long, value_name = "LIST")]
    pub hold_out: Option<String>,

    /// Also choose the threshold inside each fold's training captures (an
    /// inner cross-validation by capture): the lowest of 0.50..0.95 whose
    /// precision over labelled flows reaches this share; the evaluation
    /// reports the figures with those thresholds, and the same rule on all
    /// captures gives the threshold to use with the written model. 0: off.
    #[arg(long, default_value_t = 0.98, value_name = "P")]
    pub tune_precision: f32,

    /// Most training flows of one protocol from one capture (0: no
    /// limit); a capture's hundreds of near-identical flows would teach
    /// the forest that capture rather than the protocol.
    #[arg(long, default_value_t = 50)]
    pub max_per_capture: usize,

    /// Train a model that does not use the two port features.
    #[arg(long)]
    pub no_port_features: bool,

    /// Seed of the forest's randomness.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Skip the evaluation (just train and write the model).
    #[arg(long)]
    pub no_eval: bool,

    /// Classes listed in the evaluation table.
    #[arg(long, default_value_t = 30)]
    pub show: usize,
}

/// mimalloc v2 is the allocator: against glibc's it cut `analyze --threads 2`
/// on the benchmark capture by about a tenth and kept every flood within
/// issue 16's bounds (docs/threads.md, "Session 19").
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// No transparent huge pages for this process (what mimalloc's own
/// `MIMALLOC_ALLOW_THP=0` does; its `no_thp` build only stops it asking for
/// them). With them mimalloc's segments were faulted in 2 MiB at a time:
/// `analyze` of the benchmark capture took a quarter longer and the SYN
/// flood's `flows` 2-3 s more and over 420 MiB, most of it the kernel
/// zeroing huge pages (docs/threads.md, "Session 19"). It only changes how
/// the kernel backs memory, so its failure is ignored.
#[cfg(all(feature = "mimalloc", target_os = "linux"))]
fn no_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE takes one integer argument and the rest
    // zero (prctl(2)); it touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[cfg(not(all(feature = "mimalloc", target_os = "linux")))]
fn no_huge_pages() {}

#[cfg(all(feature = "jemalloc", not(feature = "mimalloc")))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    no_huge_pages();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Flows(args) => flows::run(&args),
        Command::Accuracy(args) => accuracy::run(&args),
        Command::Analyze(args) => analyze::run(&args),
        Command::Extract(args) => extract::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Db(args) => db::run(&args),
        Command::Watch(args) => watch::run(&args),
        Command::Learn(args) => learn::run(&args),
        Command::Train(args) => train::run(&args),
        Command::Identify(args) => identify::run(&args),
        #[cfg(feature = "ndpi")]
        Command::Compare(args) => compare::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // A closed pipe (e.g. `| head`) is not an error worth a message.
            if let Some(ioe) = e.downcast_ref::<io::Error>() {
                if ioe.kind() == io::ErrorKind::BrokenPipe {
                    return ExitCode::SUCCESS;
                }
            }
            // A database that cannot be reached: one line, exit 2 (the URL
            // in it carries no password).
            if let Some(se) = e.downcast_ref::<netsift_store::StoreError>() {
                if matches!(se, netsift_store::StoreError::Connect { .. }) {
                    let _ = writeln!(io::stderr(), "netsift: error: {se}");
                    return ExitCode::from(2);
                }
            }
            let _ = writeln!(io::stderr(), "netsift: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Whether stderr is an interactive terminal (for the progress bar).
pub fn stderr_is_tty() -> bool {
    io::stderr().is_terminal()
}
