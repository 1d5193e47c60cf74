//! `netsift analyze`: flows → classification → reassembled application
//! data → protocol records and carved files.
//!
//! Per flow the analyzer keeps a TCP reassembler per direction. Until the
//! flow has a verdict, its in-order application bytes are kept (bounded by
//! [`AnalyzeConfig::max_pending`]); at the verdict the protocol's parser
//! is created and first replayed those bytes, then fed as data arrives. A
//! flow decided as a protocol without a parser, or never decided, drops
//! its buffers.

pub mod aggregate;
pub mod alert_pcap;
pub mod build;
pub mod detect;
pub mod eve;
pub mod files;
pub mod output;
mod pending;
pub mod rules;
pub mod sharded;
pub mod zeek;

use std::collections::HashMap;
use std::sync::Arc;

use netsift_detect::alert::{Alert, AlertType, Evidence, Severity};
use netsift_detect::signature::{Direction as SigDir, FlowMatcher, SignatureSet};
use std::net::IpAddr;

use netsift_flow::reassembly::{Budget, Chunk, ReassemblyConfig, Stream, StreamEvent};
use netsift_flow::{Dir, Flow, Seen};
use netsift_proto::{Direction, FileId, FileMeta, Parser, Record, Sink};
use netsift_wire::{Decoded, TcpInfo, Transport as WireTransport};

use crate::classify::Classifier;
use crate::flowstate::FlowState;
use crate::pipeline::FlowHandler;
use crate::record::FlowRecord;
use files::{FileExtras, FileRecord, Files, OpenFile};
use output::{Common, Output};
use pending::Pending;
use rules::{FlowRuleState, PacketCtx, RuleEngine};

/// Analysis settings.
#[derive(Debug, Clone, Copy)]
pub struct AnalyzeConfig {
    pub reassembly: ReassemblyConfig,
    /// Bytes of application data kept per flow while it is unclassified.
    pub max_pending: usize,
    /// The same, across all flows at once.
    pub max_pending_total: usize,
    /// Files open at once per flow.
    pub max_open_files_per_flow: usize,
    /// Community ID seed for conn records.
    pub community_id_seed: u16,
    /// Flows nobody has answered yet that may hold application state
    /// (streams, parser, pre-verdict bytes) at once; `usize::MAX`: no
    /// bound. See [`Admission`].
    pub max_unanswered_flows: usize,
    /// Bytes all flows' parsers may hold in buffers of their own at once
    /// (`Parser::buffered`); `usize::MAX`: no bound. See
    /// [`ParserMemory`].
    pub max_parser_memory: usize,
}

/// [`AnalyzeConfig::max_parser_memory`] by default.
pub const DEFAULT_MAX_PARSER_MEMORY: usize = 128 << 20;

/// [`AnalyzeConfig::max_unanswered_flows`] by default (the DPI layer's
/// bound too): about 50 MiB of application state (1.5 KB a flow holding
/// a short request) for flows whose responder never said a word.
pub use crate::classify::DEFAULT_MAX_UNANSWERED_FLOWS;

impl Default for AnalyzeConfig {
    fn default() -> Self {
        AnalyzeConfig {
            reassembly: ReassemblyConfig::default(),
            max_pending: 64 * 1024,
            max_pending_total: MAX_PENDING_TOTAL,
            max_open_files_per_flow: 64,
            community_id_seed: 0,
            max_unanswered_flows: DEFAULT_MAX_UNANSWERED_FLOWS,
            max_parser_memory: DEFAULT_MAX_PARSER_MEMORY,
        }
    }
}

/// The analyzer's per-flow data in the flow table: the classifier's state
/// and the application state.
pub type FlowData = FlowState<AppState>;

/// Per-flow application state (in [`FlowState::app`]).
///
/// Compact (40 bytes): a flow that has only kept bytes before its verdict
/// (a flood of unanswered datagrams) holds this and its pending buffer;
/// the rest ([`AppMore`]: streams, parser, files, links, rule state) is
/// made when first needed.
#[derive(Default)]
pub struct AppState {
    /// In-order data before the verdict.
    pending: Pending,
    /// Everything else, once needed.
    more: Option<Box<AppMore>>,
    /// Data bytes in `pending` (at most the pending budget, far below
    /// 4 GiB).
    pending_bytes: u32,
    /// No parser will ever run: ignore the rest of the flow.
    done: bool,
    /// The flow is UDP: datagrams are matched one by one, not as a stream.
    udp: bool,
    /// Whether the flow may hold application state, and whether it counts
    /// against [`AnalyzeConfig::max_unanswered_flows`].
    admission: Admission,
    /// Memory accounting: this state.
    _live: crate::memory::Live<{ crate::memory::APP_STATES }>,
}

/// Application state for flows nobody answered, within a bound.
///
/// Every flow with payload gets streams, a parser and a pre-verdict
/// buffer: about 1.5 KB for a short request, 3.6 KB for a 1,400-byte
/// one (measured). A capture, or a spoofed flood on the wire, can hold a
/// million one-packet flows of data that no server ever answered (TCP
/// segments without a handshake, datagrams to anything): 1.9 GB for a
/// million 200-byte HTTP requests, where a SYN flood of as many flows
/// takes 450 MiB. Suricata bounds the same state with its stream and
/// app-layer memcaps, which refuse new sessions whoever sent them, and
/// does not pick up TCP sessions without a handshake at all by default
/// (`stream.midstream: false`). netsift keeps analysing mid-stream flows
/// but bounds how many of the unanswered ones hold state at once; an
/// answered flow (the responder sent a packet: a SYN-ACK, a reply
/// datagram) is never refused, so a flood of one-sided flows cannot
/// blind the analysis of real conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Admission {
    /// Not decided: the flow has had no packet that needed state.
    #[default]
    Undecided,
    /// Holds state, and counts as unanswered.
    Counted,
    /// Holds state without counting: answered, or a data connection
    /// another flow's parser announced.
    Free,
    /// Refused while unanswered and over the bound; admitted once the
    /// responder answers.
    Refused,
}

impl Admission {
    /// Decide for a flow's packet that needs application state:
    /// `unanswered` is the count of [`Admission::Counted`] flows.
    fn admit(&mut self, answered: bool, linked: bool, unanswered: &mut usize, max: usize) -> bool {
        match *self {
            Admission::Free => true,
            Admission::Counted => {
                if answered {
                    *unanswered = unanswered.saturating_sub(1);
                    *self = Admission::Free;
                }
                true
            }
            Admission::Undecided | Admission::Refused => {
                if answered || linked {
                    *self = Admission::Free;
                    true
                } else if *self == Admission::Undecided && *unanswered < max {
                    *unanswered += 1;
                    *self = Admission::Counted;
                    true
                } else {
                    // A refused flow stays refused until answered: taken
                    // in later, its parser would start mid-message.
                    *self = Admission::Refused;
                    false
                }
            }
        }
    }
}

/// The part of [`AppState`] a flow needs once it has TCP streams, a
/// parser, rule or signature state, files or links.
#[derive(Default)]
struct AppMore {
    /// Boxed: UDP flows never have streams (432 bytes inline).
    streams: Option<Box<[Stream; 2]>>,
    parser: Option<Box<dyn Parser>>,
    files: Vec<(u32, OpenFile)>,
    next_file: u32,
    /// This flow is a data connection announced by another flow's parser
    /// (FTP): its bytes go to that flow (uid, link number).
    linked_to: Option<(String, u32)>,
    /// Links this flow announced so far.
    next_link: u32,
    /// The end of this linked connection was already reported.
    link_end_sent: bool,
    /// The flow's uid and endpoints, built once.
    common: Option<Common>,
    /// Signature matching state of the two stream directions.
    sig: Option<Box<FlowMatcher>>,
    /// Suricata-rule state (with `--suricata-rules`).
    rules: Option<Box<FlowRuleState>>,
    /// `--yara-streams`: the first bytes of each direction, and whether
    /// each was scanned already.
    yara_prefix: Option<Box<StreamPrefix>>,
    /// Memory accounting: this part, and its parser's struct.
    _live: crate::memory::Live<{ crate::memory::APP_MORES }>,
    parser_bytes: crate::memory::Bytes<{ crate::memory::PARSER_BYTES }>,
    /// What the parser holds in buffers of its own, as last asked.
    held: ParserMemory,
}

/// The bytes a flow's parser holds in buffers of its own
/// ([`Parser::buffered`]: partial heads, lines, handshake messages), and
/// the bound on their sum over the flows of one analyzer.
///
/// Each parser bounds its buffers per flow (an HTTP head 64 KiB, a TLS
/// handshake message 64 KiB ...), but nothing bounded their sum: a flood
/// of connections that complete their handshake and then leave a message
/// unfinished (`bench/flood_gen.py httphead`: 5.6 KB of request head a
/// flow) grew the process by 9 KB a flow, as long as the flows stayed
/// open. Above [`AnalyzeConfig::max_parser_memory`], a parser that holds
/// at least the mean of the flows whose parsers hold bytes is stopped
/// when it next grows, and above twice the bound any parser that grows
/// is: the slowloris-like hoarders go first, and a short head of an
/// ordinary conversation is parsed unless the hoarders have taken twice
/// the bound. A stopped parser writes what it has (as at the flow's end),
/// a `weird` record says so, and the flow is not parsed again (its
/// signatures and rules go on). Suricata's app-layer memcaps fail the
/// allocation of whichever flow asks once full.
#[derive(Default)]
struct ParserMemory {
    bytes: crate::memory::Bytes<{ crate::memory::PARSER_HELD }>,
    holding: Option<crate::memory::Live<{ crate::memory::PARSERS_HOLDING }>>,
}

impl ParserMemory {
    /// Count `held` bytes for this flow; whether its parser must stop to
    /// keep the sum within `max` (see [`ParserMemory`]).
    fn update(&mut self, held: usize, max: usize) -> bool {
        if held != self.bytes.get() {
            self.bytes.set(held);
            match (held > 0, self.holding.is_some()) {
                (true, false) => self.holding = Some(Default::default()),
                (false, true) => self.holding = None,
                _ => {}
            }
        }
        use crate::memory::{counter, over_share, PARSERS_HOLDING, PARSER_HELD};
        over_share(held, counter(PARSER_HELD), counter(PARSERS_HOLDING), max)
    }

    fn clear(&mut self) {
        self.bytes.set(0);
        self.holding = None;
    }
}

impl AppState {
    /// The rest of the state, made now if it was not yet.
    fn more(&mut self) -> &mut AppMore {
        self.more.get_or_insert_with(Default::default)
    }

    fn has_parser(&self) -> bool {
        self.more.as_ref().is_some_and(|m| m.parser.is_some())
    }

    fn linked_to(&self) -> Option<&(String, u32)> {
        self.more.as_ref()?.linked_to.as_ref()
    }

    fn rules_mut(&mut self) -> Option<&mut FlowRuleState> {
        self.more.as_mut()?.rules.as_deref_mut()
    }

    fn rules(&self) -> Option<&FlowRuleState> {
        self.more.as_ref()?.rules.as_deref()
    }

    /// Drop the pre-verdict bytes; what they held leaves `total`.
    fn drop_pending(&mut self, total: &mut usize) {
        *total = total.saturating_sub(self.pending_bytes as usize);
        self.pending_bytes = 0;
        self.pending = Pending::default();
    }
}

/// The first bytes of each stream direction, and whether each was scanned.
type StreamPrefix = ([Vec<u8>; 2], [bool; 2]);

/// Bytes of each stream direction scanned by `--yara-streams`.
pub const YARA_STREAM_PREFIX: usize = 64 * 1024;

/// A YARA match's strings as evidence: identifier, offset, length.
fn yara_strings<I: serde::Serialize, N: serde::Serialize>(
    strings: &[(I, N, N)],
) -> serde_json::Value {
    strings
        .iter()
        .map(|(id, off, len)| serde_json::json!({"id": id, "offset": off, "length": len}))
        .collect::<Vec<_>>()
        .into()
}

/// Scan a stream prefix with the YARA rules; each match is a `file` alert
/// (the "file" being the stream's first bytes).
fn yara_stream_scan(
    files: &mut Files,
    out: &mut (dyn Output + '_),
    stats: &mut AnalyzeStats,
    common: &Common,
    ts_ns: u64,
    dir: Direction,
    data: &[u8],
) {
    let Some(y) = files.content.as_mut().and_then(|c| c.yara.as_mut()) else {
        return;
    };
    let Some(ms) = y.scan(data) else { return };
    for m in ms {
        let mut extra = serde_json::Map::new();
        extra.insert("matched".into(), "yara-stream".into());
        extra.insert("yara_rule".into(), m.rule.clone().into());
        extra.insert("yara_tags".into(), serde_json::json!(m.tags));
        extra.insert("yara_strings".into(), yara_strings(&m.strings));
        let sdir = match dir {
            Direction::ToServer => SigDir::ToServer,
            Direction::ToClient => SigDir::ToClient,
        };
        let a = Alert::new(ts_ns, AlertType::File, format!("yara {}", m.rule))
            .with_uid(common.uid.clone())
            .with_endpoints(
                common.src_ip,
                Some(common.src_port),
                common.dst_ip,
                Some(common.dst_port),
            )
            .with_evidence(Evidence {
                direction: Some(sdir),
                extra,
                ..Default::default()
            });
        stats.records += 1;
        out.alert(&a);
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("parser", &self.has_parser())
            .field("pending_bytes", &self.pending_bytes)
            .field("done", &self.done)
            .finish()
    }
}

/// Counters of an analysis run.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnalyzeStats {
    pub records: u64,
    pub files: u64,
    pub parsed_flows: u64,
    pub gaps: u64,
    pub gap_bytes: u64,
    pub overlap_conflicts: u64,
    pub pending_overflows: u64,
    /// Flows refused application state while unanswered, over
    /// [`AnalyzeConfig::max_unanswered_flows`] (each flow once, even if
    /// it was taken in later when answered).
    pub unanswered_refused: u64,
    /// Parsers stopped to keep [`AnalyzeConfig::max_parser_memory`], and
    /// the bytes they held.
    pub parsers_stopped: u64,
    pub parser_bytes_stopped: u64,
    /// What the same bound cost the classifier (filled in by
    /// [`Analyzer::run_stats`]).
    pub classify_bounds: crate::classify::BoundCounts,
}

/// The analyzer: a [`FlowHandler`] that classifies, parses and writes.
pub struct Analyzer<'o> {
    classifier: Classifier,
    cfg: AnalyzeConfig,
    budget: Budget,
    files: Files,
    out: Box<dyn Output + 'o>,
    links: Links,
    /// Bytes held in all flows' pre-verdict buffers.
    pending_total: usize,
    /// Flows holding application state while unanswered
    /// ([`Admission::Counted`]).
    unanswered: usize,
    /// Payload signatures, matched over reassembled streams and datagrams.
    signatures: Option<Arc<SignatureSet>>,
    /// Suricata rules.
    rules: Option<RuleEngine>,
    /// The capture frame being processed (from 1).
    frame: u64,
    pub stats: AnalyzeStats,
    /// Largest flow table and pre-verdict bytes sampled (every 65,536
    /// frames and before the flows end), and the detectors' (the rest of
    /// the peaks are kept as they change: see [`Analyzer::peak_memory`]).
    peak_sampled: crate::memory::MemoryUse,
}

/// Pre-verdict bytes held across all flows at once, by default (the whole
/// process: each worker holds its share, see
/// [`AnalyzeConfig::max_pending_total`]).
pub const MAX_PENDING_TOTAL: usize = 256 << 20;

/// Connections announced by parsers, and the bytes of linked connections
/// waiting for their announcing flow's next packet.
#[derive(Default)]
struct Links {
    /// Announced connections by responder address and port: the
    /// announcing flow's uid, the link number, and the packet time after
    /// which the announcement is stale.
    expected: HashMap<(IpAddr, u16), (String, u32, u64)>,
    queued: HashMap<String, Vec<LinkedEvent>>,
    queued_bytes: usize,
}

struct LinkedEvent {
    link: u32,
    dir: Direction,
    data: Vec<u8>,
    gap: u64,
    end: bool,
}

/// Borrowed parts of the [`Analyzer`] used to hand data to parsers.
struct Ctx<'a, 'o> {
    out: &'a mut (dyn Output + 'o),
    files: &'a mut Files,
    stats: &'a mut AnalyzeStats,
    links: &'a mut Links,
    pending_total: &'a mut usize,
    cfg: &'a AnalyzeConfig,
    signatures: Option<&'a SignatureSet>,
    rules: Option<&'a mut RuleEngine>,
    /// The chunks are a replay of bytes seen before the verdict: they
    /// were already matched and counted, only the parser is new.
    replay: bool,
}

impl Ctx<'_, '_> {
    /// Feed payload signatures; every match is an alert.
    fn match_signatures(
        &mut self,
        common: &Common,
        ts_ns: u64,
        app: &mut AppState,
        dir: Direction,
        chunk: &Chunk<'_>,
    ) {
        let Some(set) = self.signatures else {
            return;
        };
        let sdir = match dir {
            Direction::ToServer => SigDir::ToServer,
            Direction::ToClient => SigDir::ToClient,
        };
        let mut hits: Vec<(usize, u64)> = Vec::new();
        match (chunk, app.udp) {
            (Chunk::Data(d), true) => {
                hits.extend(set.scan(d).into_iter().map(|(id, off)| (id, off as u64)));
            }
            (Chunk::Data(d), false) => {
                let m = app.more().sig.get_or_insert_with(Default::default);
                let mut out = Vec::new();
                m.feed(set, sdir, d, &mut out);
                hits.extend(out.into_iter().map(|(_, h)| (h.sig, h.offset)));
            }
            (Chunk::Gap(n), false) => {
                if let Some(m) = app.more.as_mut().and_then(|m| m.sig.as_mut()) {
                    m.dir(sdir).gap(*n);
                }
            }
            (Chunk::Gap(_), true) => {}
        }
        for (id, offset) in hits {
            let Some(sig) = set.get(id) else { continue };
            let a = Alert::new(ts_ns, AlertType::Signature, sig.text.clone())
                .with_severity(Severity::High)
                .with_uid(common.uid.clone())
                .with_endpoints(
                    common.src_ip,
                    Some(common.src_port),
                    common.dst_ip,
                    Some(common.dst_port),
                )
                .with_evidence(Evidence::signature(&sig.bytes, Some(sdir), offset));
            self.stats.records += 1;
            self.out.alert(&a);
        }
    }

    /// One in-order chunk of one direction: to the flow's parser, to the
    /// flow that announced this connection, or kept until the verdict.
    fn deliver_one(
        &mut self,
        common: &Common,
        ts_ns: u64,
        app: &mut AppState,
        dir: Direction,
        chunk: Chunk<'_>,
    ) {
        if !self.replay {
            self.match_signatures(common, ts_ns, app, dir, &chunk);
            if let (Chunk::Data(d), false, true) = (
                &chunk,
                app.udp,
                self.files
                    .content
                    .as_ref()
                    .is_some_and(|c| c.yara_streams && c.yara.is_some()),
            ) {
                let p = app.more().yara_prefix.get_or_insert_with(Default::default);
                let i = usize::from(dir == Direction::ToClient);
                if !p.1[i] {
                    let n = YARA_STREAM_PREFIX.saturating_sub(p.0[i].len()).min(d.len());
                    p.0[i].extend_from_slice(&d[..n]);
                    if p.0[i].len() >= YARA_STREAM_PREFIX {
                        p.1[i] = true;
                        let data = std::mem::take(&mut p.0[i]);
                        yara_stream_scan(
                            self.files,
                            &mut *self.out,
                            self.stats,
                            common,
                            ts_ns,
                            dir,
                            &data,
                        );
                    }
                }
            }
        }
        let udp = app.udp;
        if let (Some(eng), Some(st), false) =
            (self.rules.as_deref_mut(), app.rules_mut(), self.replay)
        {
            match (&chunk, udp) {
                (_, true) => st.set_datagrams(),
                (Chunk::Data(d), false) => st.stream_data(eng, dir, d),
                (Chunk::Gap(n), false) => st.stream_gap(dir, *n),
            }
        }
        if let Some((owner, link)) = app.linked_to() {
            let (data, gap) = match chunk {
                Chunk::Data(d) if self.links.queued_bytes + d.len() <= MAX_QUEUED_LINK_BYTES => {
                    self.links.queued_bytes += d.len();
                    (d.to_vec(), 0)
                }
                Chunk::Data(d) => (Vec::new(), d.len() as u64),
                Chunk::Gap(n) => (Vec::new(), n),
            };
            let link = *link;
            self.links
                .queued
                .entry(owner.clone())
                .or_default()
                .push(LinkedEvent {
                    link,
                    dir,
                    data,
                    gap,
                    end: false,
                });
            return;
        }
        if let Some(m) = app.more.as_deref_mut().filter(|m| m.parser.is_some()) {
            let Some(mut parser) = m.parser.take() else {
                return;
            };
            let mut sink = FlowSink {
                common,
                ts_ns,
                out: &mut *self.out,
                files: &mut *self.files,
                open: &mut m.files,
                next_file: &mut m.next_file,
                max_open: self.cfg.max_open_files_per_flow,
                stats: &mut *self.stats,
                links: &mut *self.links,
                next_link: &mut m.next_link,
                rules: self.rules.as_deref_mut().zip(m.rules.as_deref_mut()),
            };
            match chunk {
                Chunk::Data(d) => parser.on_data(dir, d, &mut sink),
                Chunk::Gap(n) => parser.on_gap(dir, n, &mut sink),
            }
            let held = parser.buffered();
            m.parser_bytes
                .set(std::mem::size_of_val(&*parser).saturating_add(held));
            if !m.held.update(held, self.cfg.max_parser_memory) {
                m.parser = Some(parser);
                return;
            }
            // Over the bound: the parser ends as at the flow's end.
            sink.end_parser(&mut *parser);
            drop(parser);
            m.held.clear();
            m.parser_bytes.set(0);
            self.stats.parsers_stopped += 1;
            self.stats.parser_bytes_stopped += held as u64;
            self.stats.records += 1;
            let d = match dir {
                Direction::ToServer => "orig",
                Direction::ToClient => "resp",
            };
            let v = serde_json::json!({
                "name": "parser_memory_bound", "dir": d, "held": held,
                "note": "the parser held more than its share of --max-parser-memory and was stopped; the flow is not parsed further"
            });
            self.out.record_owned("weird", ts_ns, common, v.into());
            app.done = true;
        } else if !app.done {
            let room = self
                .cfg
                .max_pending
                .min(u32::MAX as usize)
                .saturating_sub(app.pending_bytes as usize)
                .min(
                    self.cfg
                        .max_pending_total
                        .saturating_sub(*self.pending_total),
                );
            match chunk {
                Chunk::Data(d) if d.len() <= room => {
                    // `room` is below u32::MAX: no overflow.
                    app.pending_bytes += d.len() as u32;
                    *self.pending_total += d.len();
                    app.pending.push_data(dir, d);
                }
                other => {
                    let len = match other {
                        Chunk::Data(d) => {
                            self.stats.pending_overflows += 1;
                            d.len() as u64
                        }
                        Chunk::Gap(n) => n,
                    };
                    // Consecutive holes of one direction are one entry.
                    app.pending.push_gap(dir, len);
                }
            }
        }
    }
}

/// Announced connections remembered at once.
const MAX_EXPECTED_LINKS: usize = 4096;

/// How long an announced connection is expected (packet time), as the
/// classifier's `flow` layer does: an FTP client opens the data connection
/// within seconds of PASV or PORT. Without it, announcements that never
/// came (a capture cut short) would fill the table for the whole run.
const LINK_TTL_NS: u64 = 120_000_000_000;
/// Bytes of linked connections queued at once (beyond: counted as gaps).
const MAX_QUEUED_LINK_BYTES: usize = 64 << 20;

/// The [`Sink`] a parser writes through while one flow is being fed.
struct FlowSink<'a, 'o> {
    common: &'a Common,
    ts_ns: u64,
    out: &'a mut (dyn Output + 'o),
    files: &'a mut Files,
    open: &'a mut Vec<(u32, OpenFile)>,
    next_file: &'a mut u32,
    max_open: usize,
    stats: &'a mut AnalyzeStats,
    links: &'a mut Links,
    next_link: &'a mut u32,
    rules: Option<(&'a mut RuleEngine, &'a mut FlowRuleState)>,
}

impl Sink for FlowSink<'_, '_> {
    fn ts_ns(&self) -> u64 {
        self.ts_ns
    }

    fn record(&mut self, log: &'static str, record: Record) {
        self.record_at(log, self.ts_ns, record);
    }

    fn record_at(&mut self, log: &'static str, ts_ns: u64, record: Record) {
        self.stats.records += 1;
        self.out.record_owned(log, ts_ns, self.common, record);
    }

    fn file_open(&mut self, meta: FileMeta) -> Option<FileId> {
        if self.open.len() >= self.max_open {
            return None;
        }
        let id = *self.next_file;
        *self.next_file += 1;
        let f = self.files.open(meta);
        self.open.push((id, f));
        Some(FileId(id))
    }

    fn file_data(&mut self, id: FileId, data: &[u8]) {
        if let Some((_, f)) = self.open.iter_mut().find(|(i, _)| *i == id.0) {
            // A mail's HTML body is no file to the rules (see emit_file).
            if let (Some((_, st)), Some(tx), Some(dir), false) = (
                self.rules.as_mut(),
                f.meta().tx,
                f.meta().dir,
                f.meta().mail_body,
            ) {
                st.body_data(tx, dir, data.len());
            }
            self.files.data(f, data);
        }
    }

    fn file_close(&mut self, id: FileId, complete: bool) {
        if let Some(pos) = self.open.iter().position(|(i, _)| *i == id.0) {
            let (_, f) = self.open.swap_remove(pos);
            let rec = self.files.close(f, complete);
            self.emit_file(rec);
        }
    }

    fn buffer(&mut self, tx: u64, dir: Direction, kind: netsift_proto::BufferKind, data: &[u8]) {
        if let Some((eng, st)) = self.rules.as_mut() {
            st.buffer(eng, tx, dir, kind, data);
        }
    }

    fn wants_buffers(&self) -> bool {
        self.rules.is_some()
    }

    fn tx_done(&mut self, tx: u64, dir: Direction) {
        if let Some((_, st)) = self.rules.as_mut() {
            st.tx_done(tx, dir);
        }
    }

    fn expect_linked(&mut self, addr: IpAddr, port: u16) {
        // An unspecified address (EPSV: RFC 2428 "the server's address") is
        // the announcing flow's responder.
        let addr = if addr.is_unspecified() {
            self.common.dst_ip
        } else {
            addr
        };
        if self.links.expected.len() >= MAX_EXPECTED_LINKS {
            // Stale announcements go first; only live ones can fill it.
            let now = self.ts_ns;
            self.links.expected.retain(|_, e| e.2 > now);
            if self.links.expected.len() >= MAX_EXPECTED_LINKS {
                return;
            }
        }
        let link = *self.next_link;
        *self.next_link += 1;
        self.links.expected.insert(
            (addr, port),
            (
                self.common.uid.to_string(),
                link,
                self.ts_ns.saturating_add(LINK_TTL_NS),
            ),
        );
    }
}

impl FlowSink<'_, '_> {
    /// The parser is done with the flow (it ended, or the parser was
    /// stopped): it writes what is pending, and the files it left open are
    /// cut short.
    fn end_parser(&mut self, parser: &mut dyn Parser) {
        parser.on_end(self);
        for (_, f) in std::mem::take(self.open) {
            let rec = self.files.close(f, false);
            self.emit_file(rec);
        }
    }

    fn emit_file(&mut self, mut rec: FileRecord) {
        // Suricata's SMTP transaction holds a mail's attachments as its
        // files, not its HTML body: suricata-verify's smtp-file-data-02
        // expects `file_data` to alert with NEWS.txt as the alert's first
        // (only) file, in a mail whose multipart/alternative also holds an
        // HTML body. So the body is analysed (html/js records) but not
        // given to the rules.
        if let (Some((eng, st)), false) = (self.rules.as_mut(), rec.mail_body) {
            let dir = match rec.direction {
                Some("upload") => Some(Direction::ToServer),
                Some(_) => Some(Direction::ToClient),
                None => None,
            };
            let window = std::mem::take(&mut rec.window);
            st.file_closed(eng, rec.tx, dir, &rec, window);
        }
        self.stats.files += 1;
        let Some(x) = rec.extras.take() else {
            // Kept typed: the JSONL writer serialises it straight to its
            // line, with no JSON tree in between.
            self.out
                .record_owned("files", self.ts_ns, self.common, Record::typed(rec));
            return;
        };
        let alerts = self.file_alerts(&rec, &x);
        self.out
            .record_owned("files", self.ts_ns, self.common, Record::typed(rec));
        let FileExtras { html, scripts, .. } = *x;
        if let Some(h) = html {
            self.stats.records += 1;
            self.out
                .record_owned("html", self.ts_ns, self.common, h.into());
        }
        for j in scripts {
            self.stats.records += 1;
            self.out
                .record_owned("js", self.ts_ns, self.common, j.into());
        }
        for a in alerts {
            self.stats.records += 1;
            self.out.alert(&a);
        }
    }

    /// The alerts of a file's hash-list and YARA matches.
    fn file_alerts(&self, rec: &FileRecord, x: &FileExtras) -> Vec<Alert> {
        let c = self.common;
        let alert = |rule: String, mut extra: serde_json::Map<String, serde_json::Value>| {
            extra.insert("file_sha256".into(), rec.sha256.clone().into());
            if let Some(n) = &rec.name {
                extra.insert("file_name".into(), n.clone().into());
            }
            extra.insert("file_source".into(), rec.source.into());
            if let Some(t) = rec.tx {
                extra.insert("tx_id".into(), t.into());
            }
            Alert::new(self.ts_ns, AlertType::File, rule)
                .with_uid(c.uid.clone())
                .with_endpoints(c.src_ip, Some(c.src_port), c.dst_ip, Some(c.dst_port))
                .with_evidence(Evidence {
                    extra,
                    ..Default::default()
                })
        };
        let mut alerts = Vec::new();
        if let Some(h) = &x.hash {
            let mut m = serde_json::Map::new();
            m.insert("matched".into(), "hash-list".into());
            m.insert("hash_algo".into(), h.algo.into());
            m.insert("hash".into(), h.hash.clone().into());
            if !h.name.is_empty() {
                m.insert("list_name".into(), h.name.clone().into());
            }
            let name = if h.name.is_empty() { &h.hash } else { &h.name };
            alerts.push(alert(format!("hash-list {name}"), m));
        }
        for y in &x.yara {
            let mut m = serde_json::Map::new();
            m.insert("matched".into(), "yara".into());
            m.insert("yara_rule".into(), y.rule.clone().into());
            m.insert("yara_namespace".into(), y.namespace.clone().into());
            m.insert("yara_tags".into(), serde_json::json!(y.tags));
            let meta: serde_json::Map<String, serde_json::Value> = y
                .meta
                .iter()
                .map(|(k, v)| (k.clone(), v.clone().into()))
                .collect();
            m.insert("yara_meta".into(), meta.into());
            m.insert("yara_strings".into(), yara_strings(&y.strings));
            alerts.push(alert(format!("yara {}", y.rule), m));
        }
        alerts
    }
}

fn common_of<T>(flow: &Flow<T>) -> Common {
    let (o, r) = (flow.orig(), flow.resp());
    Common {
        uid: crate::record::uid_text(flow.uid),
        src_ip: o.addr,
        src_port: o.port,
        dst_ip: r.addr,
        dst_port: r.port,
        proto: flow.key.proto,
    }
}

impl<'o> Analyzer<'o> {
    pub fn new(
        classifier: Classifier,
        cfg: AnalyzeConfig,
        files: Files,
        out: &'o mut dyn Output,
    ) -> Self {
        Self::with_output(classifier, cfg, files, Box::new(out))
    }

    /// An analyzer that owns its output (a worker of `--threads`).
    pub fn with_output(
        classifier: Classifier,
        cfg: AnalyzeConfig,
        files: Files,
        out: Box<dyn Output + 'o>,
    ) -> Self {
        // This thread's object counts peak from here.
        crate::memory::reset_peaks();
        Stream::reset_live_peak();
        Analyzer {
            classifier,
            budget: Budget::new(cfg.reassembly.max_buffered_total),
            cfg,
            files,
            out,
            links: Links::default(),
            pending_total: 0,
            unanswered: 0,
            signatures: None,
            rules: None,
            frame: 0,
            stats: AnalyzeStats::default(),
            peak_sampled: crate::memory::MemoryUse::default(),
        }
    }

    /// Run these Suricata rules over every packet, stream, transaction
    /// and file.
    pub fn set_rules(&mut self, rules: Arc<netsift_rules::RuleSet>) {
        let eng = RuleEngine::new(rules);
        if eng.wants_files() {
            self.files.rule_window = rules::FILE_WINDOW;
        }
        self.rules = Some(eng);
    }

    /// The run's counters, with the classifier's share
    /// ([`AnalyzeStats::classify_bounds`]).
    pub fn run_stats(&self) -> AnalyzeStats {
        AnalyzeStats {
            classify_bounds: self.classifier.bound_counts(),
            ..self.stats
        }
    }

    /// Counters of the Suricata rules, when loaded.
    pub fn rule_stats(&self) -> Option<rules::RuleStats> {
        self.rules.as_ref().map(|r| r.stats)
    }

    /// Match these payload signatures over every TCP stream (reassembled,
    /// so a signature split across segments is found) and UDP datagram.
    pub fn set_signatures(&mut self, set: Arc<SignatureSet>) {
        if !set.is_empty() {
            self.signatures = Some(set);
        }
    }

    /// Packet time is now `now_ns` (a live capture's clock while idle):
    /// passed to the output chain for its time-based work.
    pub fn tick(&mut self, now_ns: u64) {
        self.out.tick(now_ns);
    }

    /// Files carved so far.
    pub fn files_carved(&self) -> u64 {
        self.files.carved
    }

    /// The parts of the analyzer a delivery needs (all but the reassembly
    /// budget, so streams can deliver straight into parsers).
    fn ctx(&mut self) -> Ctx<'_, 'o> {
        Ctx {
            out: &mut *self.out,
            files: &mut self.files,
            stats: &mut self.stats,
            links: &mut self.links,
            pending_total: &mut self.pending_total,
            cfg: &self.cfg,
            signatures: self.signatures.as_deref(),
            rules: self.rules.as_mut(),
            replay: false,
        }
    }

    /// Deliver owned in-order chunks of one direction (replays, flow end).
    fn deliver(
        &mut self,
        flow_common: &Common,
        ts_ns: u64,
        app: &mut AppState,
        dir: Direction,
        chunks: Vec<(bool, Vec<u8>, u64)>,
        replay: bool,
    ) {
        let mut ctx = self.ctx();
        ctx.replay = replay;
        for (is_data, bytes, gap) in chunks {
            let c = if is_data {
                Chunk::Data(&bytes)
            } else {
                Chunk::Gap(gap)
            };
            ctx.deliver_one(flow_common, ts_ns, app, dir, c);
        }
    }

    /// Create the parser once the verdict is known, and replay.
    fn attach_parser(&mut self, common: &Common, ts_ns: u64, st: &mut FlowData) {
        let Some(app) = st.app.as_mut() else {
            return;
        };
        if app.has_parser() || app.done || app.linked_to().is_some() {
            return;
        }
        let parser = match st.class.verdict.as_ref() {
            Some(v) => netsift_protocols::by_name(v.protocol).and_then(|p| p.parser()),
            None if st.class.settled => None,
            None => return,
        };
        match parser {
            Some(p) => {
                self.stats.parsed_flows += 1;
                let m = app.more();
                m.parser_bytes.set(std::mem::size_of_val(&*p));
                m.parser = Some(p);
                let pending = std::mem::take(&mut app.pending);
                app.drop_pending(&mut self.pending_total);
                let mut ctx = self.ctx();
                ctx.replay = true;
                for (dir, chunk) in pending.chunks() {
                    ctx.deliver_one(common, ts_ns, app, dir, chunk);
                }
            }
            None => {
                // Decided as a protocol without a parser, or settled
                // without a verdict.
                app.done = true;
                app.drop_pending(&mut self.pending_total);
                // Streams must give their bytes back to the shared budget.
                if let Some(mut streams) = app.more.as_mut().and_then(|m| m.streams.take()) {
                    for s in streams.iter_mut() {
                        s.discard(&mut self.budget);
                    }
                }
            }
        }
    }
}

impl Analyzer<'_> {
    fn queue_link_end(&mut self, app: &AppState) {
        if let Some((owner, link)) = app.linked_to().cloned() {
            self.links
                .queued
                .entry(owner)
                .or_default()
                .push(LinkedEvent {
                    link,
                    dir: Direction::ToServer,
                    data: Vec::new(),
                    gap: 0,
                    end: true,
                });
        }
    }

    /// Hand the queued bytes of connections linked to this flow to its parser.
    fn drain_linked(&mut self, common: &Common, ts_ns: u64, app: &mut AppState) {
        let Some(events) = self.links.queued.remove(common.uid.as_str()) else {
            return;
        };
        let Some((m, mut parser)) = app
            .more
            .as_deref_mut()
            .and_then(|m| m.parser.take().map(|p| (m, p)))
        else {
            for e in &events {
                self.links.queued_bytes = self.links.queued_bytes.saturating_sub(e.data.len());
            }
            return;
        };
        let mut sink = FlowSink {
            common,
            ts_ns,
            out: &mut *self.out,
            files: &mut self.files,
            open: &mut m.files,
            next_file: &mut m.next_file,
            max_open: self.cfg.max_open_files_per_flow,
            stats: &mut self.stats,
            links: &mut self.links,
            next_link: &mut m.next_link,
            rules: self.rules.as_mut().zip(m.rules.as_deref_mut()),
        };
        let mut freed = 0;
        for e in events {
            freed += e.data.len();
            if e.gap > 0 {
                // The parser sees missing bytes as a shorter transfer.
                sink.stats.gap_bytes += e.gap;
            }
            parser.on_linked_data(e.link, e.dir, &e.data, e.end, &mut sink);
        }
        sink.links.queued_bytes = sink.links.queued_bytes.saturating_sub(freed);
        m.parser = Some(parser);
    }
}

/// What a packet means for flood detection: a pure SYN, the originator's
/// ACK that completes a handshake (its second packet, after a SYN and an
/// answer), a UDP datagram, an ICMP message; `None` for the rest.
fn flood_packet(
    flow: &Flow<FlowData>,
    seen: Seen,
    pkt: &Decoded<'_>,
) -> Option<netsift_detect::dos::FloodPacket> {
    use netsift_detect::dos::{FloodEvent, FloodPacket};
    let ip = pkt.ip.as_ref()?;
    let (event, dst_port) = match ip.transport {
        WireTransport::Tcp { tcp, .. } => {
            let f = tcp.flags & (TcpInfo::SYN | TcpInfo::ACK | TcpInfo::RST);
            if f == TcpInfo::SYN {
                (FloodEvent::Syn, Some(tcp.dst_port))
            } else if f == TcpInfo::ACK
                && seen.dir == Dir::Orig
                && flow.stats[0].pkts == 2
                && flow.stats[1].pkts > 0
                && flow
                    .first_tcp_flags
                    .is_some_and(|f| f & (TcpInfo::SYN | TcpInfo::ACK) == TcpInfo::SYN)
            {
                (FloodEvent::Handshake, Some(tcp.dst_port))
            } else {
                return None;
            }
        }
        WireTransport::Udp { dst_port, .. } => (FloodEvent::Udp, Some(dst_port)),
        WireTransport::Icmp { .. } | WireTransport::Icmpv6 { .. } => (FloodEvent::Icmp, None),
        _ => return None,
    };
    Some(FloodPacket {
        ts_ns: flow.last_ts,
        src: ip.src,
        dst: ip.dst,
        dst_port,
        event,
    })
}

fn to_dir(d: Dir) -> Direction {
    match d {
        Dir::Orig => Direction::ToServer,
        Dir::Resp => Direction::ToClient,
    }
}

impl Analyzer<'_> {
    /// Estimated memory held now (see [`crate::memory`]); `table_bytes`
    /// is the flow table's own ([`crate::Pipeline::table_memory`]).
    pub fn memory_use(&self, table_bytes: usize) -> crate::memory::MemoryUse {
        let mut m = self.memory_own(table_bytes);
        m.detectors = self.out.memory_bytes();
        m
    }

    /// The estimate without the detectors: the flow table (`table_bytes`),
    /// the bytes the reassembly holds and those held before verdicts, and
    /// the streams, parser and DPI states of this thread
    /// ([`memory_counted`]). Called on the analyzer's own thread. The
    /// workers of `--threads` each have their own, which add up.
    pub fn memory_own(&self, table_bytes: usize) -> crate::memory::MemoryUse {
        memory_counted(Stream::live(), crate::memory::counter)
            + crate::memory::MemoryUse {
                flows: table_bytes,
                reassembly: self.budget.buffered(),
                parsers: self.pending_total,
                dpi: 0,
                detectors: 0,
            }
    }

    /// Each component's largest estimate. The counted parts are exact
    /// peaks, kept as they change: live streams, parser and DPI states and
    /// the reassembly's buffered bytes (each part at its own peak, so a
    /// component's figure is at most the sum of its parts' peaks). The
    /// flow table, the pre-verdict bytes and the detectors are sampled
    /// every 65,536 frames, before each capture's flows end, and now.
    /// The figures depend only on the frames this analyzer saw (with
    /// `--threads`, the same in every run).
    pub fn peak_memory(&self) -> crate::memory::MemoryUse {
        let mut m = self.peak_memory_own();
        m.detectors = self.peak_sampled.detectors.max(self.out.memory_bytes());
        m
    }

    /// [`Analyzer::peak_memory`] without the detectors: the peaks of
    /// several analyzers (the workers of `analyze --threads`) add up.
    pub fn peak_memory_own(&self) -> crate::memory::MemoryUse {
        let s = self.peak_sampled;
        memory_counted(Stream::live_peak(), crate::memory::peak)
            + crate::memory::MemoryUse {
                flows: s.flows,
                reassembly: self.budget.peak(),
                parsers: s.parsers.max(self.pending_total),
                ..Default::default()
            }
    }
}

/// The part of the memory estimate counted per object on this thread:
/// `streams` live streams, and the parser and DPI states and bytes by
/// `count` ([`crate::memory::counter`] now, [`crate::memory::peak`] at the
/// most). Counted where they are made and dropped; an analyzer makes and
/// drops its own on the thread that runs it.
fn memory_counted(streams: usize, count: fn(usize) -> usize) -> crate::memory::MemoryUse {
    use crate::memory::{APP_MORES, APP_STATES, PARSER_BYTES};
    crate::memory::MemoryUse {
        flows: 0,
        reassembly: streams * std::mem::size_of::<Stream>(),
        parsers: count(APP_STATES) * std::mem::size_of::<AppState>()
            + count(APP_MORES) * std::mem::size_of::<AppMore>()
            + count(PARSER_BYTES),
        dpi: crate::classify::dpi_memory(count),
        detectors: 0,
    }
}

impl FlowHandler<FlowData> for Analyzer<'_> {
    fn on_packet(&mut self, flow: &mut Flow<FlowData>, seen: Seen, pkt: &Decoded<'_>) {
        if let Some(p) = flood_packet(flow, seen, pkt) {
            self.out.packet(&p);
        }
        self.classifier.on_packet(flow, seen, pkt);
        self.app_packet(flow, seen, pkt);
        if self.rules.is_some() {
            self.rule_packet(flow, seen, pkt);
        }
    }

    fn on_flow_end(&mut self, flow: Flow<FlowData>) {
        self.flow_end(flow);
    }

    fn on_icmp_error(&mut self, flow: &mut Flow<FlowData>, dir: Dir, wire_len: u32) {
        if self.rules.is_some() {
            let app = flow.data.app.get_or_insert_with(Default::default);
            let st = app.more().rules.get_or_insert_with(Default::default);
            st.icmp_error(dir == Dir::Orig, wire_len);
        }
    }

    fn on_frame_number(&mut self, n: u64) {
        self.frame = n;
    }

    fn on_memory_sample(&mut self, table_bytes: usize) {
        self.peak_sampled = self.peak_sampled.max(crate::memory::MemoryUse {
            flows: table_bytes,
            reassembly: 0,
            parsers: self.pending_total,
            dpi: 0,
            detectors: self.out.memory_bytes(),
        });
    }
}

impl Analyzer<'_> {
    /// Application data of one packet: reassembly, parsers, signatures.
    fn app_packet(&mut self, flow: &mut Flow<FlowData>, seen: Seen, pkt: &Decoded<'_>) {
        let Some(ip) = pkt.ip.as_ref() else {
            return;
        };
        let ts = flow.last_ts;
        let dir = to_dir(seen.dir);
        let di = seen.dir as usize;
        if !matches!(
            ip.transport,
            WireTransport::Tcp { .. } | WireTransport::Udp { .. }
        ) {
            return;
        }
        // Flow state that is never used costs nothing: until a flow has
        // payload, a FIN or RST, or a verdict, its packets need no
        // application state (a SYN flood, scans, unanswered attempts). Where
        // a SYN put each stream's start is in the connection tracker, and
        // replayed into the reassemblers when they are created.
        if flow.data.app.is_none()
            && flow.data.class.verdict.is_none()
            && self.signatures.is_none()
            && self.rules.is_none()
            && ip.transport.payload().is_empty()
            && (!seen.new
                || self.links.expected.is_empty()
                || !self
                    .links
                    .expected
                    .contains_key(&(flow.resp().addr, flow.resp().port)))
        {
            match ip.transport {
                WireTransport::Tcp { tcp, .. }
                    if tcp.flags & (TcpInfo::FIN | TcpInfo::RST) == 0 =>
                {
                    return;
                }
                WireTransport::Udp { .. } => return,
                _ => {}
            }
        }
        let (uid, orig, resp) = (flow.uid, flow.orig(), flow.resp());
        let (resp_addr, resp_port) = (resp.addr, resp.port);
        let first_syn = [flow.conn.syn_seq(0), flow.conn.syn_seq(1)];
        let answered = flow.answered();
        let st = &mut flow.data;
        let app = st.app.get_or_insert_with(Default::default);
        if seen.new && !self.links.expected.is_empty() {
            if let Some((owner, link, stale)) = self.links.expected.remove(&(resp_addr, resp_port))
            {
                if flow.first_ts < stale {
                    app.more().linked_to = Some((owner, link));
                }
            }
        }
        if app.done && self.signatures.is_none() && self.rules.is_none() {
            return;
        }
        // See `Admission` for why flows nobody answered are bounded.
        let before = app.admission;
        if !app.admission.admit(
            answered,
            app.linked_to().is_some(),
            &mut self.unanswered,
            self.cfg.max_unanswered_flows,
        ) {
            if before == Admission::Undecided {
                self.stats.unanswered_refused += 1;
            }
            return;
        }
        if self.rules.is_some() {
            app.more().rules.get_or_insert_with(Default::default);
        }
        app.udp = matches!(ip.transport, WireTransport::Udp { .. });
        // Built once per flow and lent out per packet (no allocation here),
        // once the flow has more than a pre-verdict buffer.
        let cached = app.more.as_mut().and_then(|m| m.common.take());
        let common = cached.unwrap_or_else(|| Common {
            uid: crate::record::uid_text(uid),
            src_ip: orig.addr,
            src_port: orig.port,
            dst_ip: resp.addr,
            dst_port: resp.port,
            proto: flow.key.proto,
        });
        let odir = match dir {
            Direction::ToServer => Direction::ToClient,
            Direction::ToClient => Direction::ToServer,
        };
        let mut app = st.app.take().unwrap_or_default();
        match ip.transport {
            WireTransport::Tcp { tcp, payload } => {
                let cfg = self.cfg.reassembly;
                let mut streams = app.more().streams.take().unwrap_or_else(|| {
                    let mut s = Box::new([Stream::new(cfg), Stream::new(cfg)]);
                    // The SYNs seen before the streams existed (their
                    // packets carried no payload: nothing else to replay).
                    for (d, seq) in first_syn.iter().enumerate() {
                        if let Some(seq) = *seq {
                            s[d].segment(&mut self.budget, seq, true, &[], &mut |_| {});
                        }
                    }
                    s
                });
                let syn = tcp.flags & TcpInfo::SYN != 0;
                let budget = &mut self.budget;
                let mut ctx = Ctx {
                    out: &mut *self.out,
                    files: &mut self.files,
                    stats: &mut self.stats,
                    links: &mut self.links,
                    pending_total: &mut self.pending_total,
                    cfg: &self.cfg,
                    signatures: self.signatures.as_deref(),
                    rules: self.rules.as_mut(),
                    replay: false,
                };
                // What this packet acknowledges of the other direction
                // came before it.
                if tcp.flags & TcpInfo::ACK != 0 {
                    streams[1 - di].ack(budget, tcp.ack, &mut |c: Chunk<'_>| {
                        ctx.deliver_one(&common, ts, &mut app, odir, c)
                    });
                    // Rules inspect what the other side acknowledged. Not
                    // on a SYN-ACK: Suricata hands a direction's bytes to
                    // its app layer from established-state packets only, so
                    // data on a SYN (TCP Fast Open) is inspected after the
                    // next acknowledgment (suricata-verify detect-engine-proto).
                    if let (Some(st), Some(off), false) =
                        (app.rules_mut(), streams[1 - di].ack_offset(tcp.ack), syn)
                    {
                        st.acked(odir, off);
                    }
                }
                let mut push = |c: Chunk<'_>| ctx.deliver_one(&common, ts, &mut app, dir, c);
                streams[di].segment(budget, tcp.seq, syn, payload, &mut push);
                if tcp.flags & TcpInfo::FIN != 0 {
                    // Where the stream ends; missing bytes before it become
                    // gaps at the end, not at once (they may still come).
                    streams[di].fin(tcp.seq, syn, payload.len());
                }
                if tcp.flags & TcpInfo::RST != 0 {
                    streams[di].finish(budget, &mut push);
                }
                app.more().streams = Some(streams);
            }
            WireTransport::Udp { payload, .. } if !payload.is_empty() => {
                self.ctx()
                    .deliver_one(&common, ts, &mut app, dir, Chunk::Data(payload));
            }
            _ => {}
        }
        if let Some(streams) = app.more.as_mut().and_then(|m| m.streams.as_mut()) {
            for (i, s) in streams.iter_mut().enumerate() {
                let d = if i == 0 { "orig" } else { "resp" };
                for e in s.drain_events() {
                    let v = match e {
                        StreamEvent::OverlapConflict { offset, len } => serde_json::json!({
                            "name": "tcp_overlap_conflict", "dir": d, "offset": offset, "len": len,
                            "note": "a retransmission carried different bytes; the first copy was kept"
                        }),
                        StreamEvent::Gap { offset, len } => serde_json::json!({
                            "name": "tcp_content_gap", "dir": d, "offset": offset, "len": len
                        }),
                        StreamEvent::Dropped { offset, len } => serde_json::json!({
                            "name": "tcp_segment_far_ahead", "dir": d, "offset": offset, "len": len
                        }),
                    };
                    self.stats.records += 1;
                    self.out.record_owned("weird", ts, &common, v.into());
                }
            }
        }
        if let Some(m) = app
            .more
            .as_mut()
            .filter(|m| m.linked_to.is_some() && !m.link_end_sent && flow.conn.is_closed())
        {
            // FIN both ways or RST: the transfer is over now, not when the
            // flow record ends (the announcing flow may end first).
            m.link_end_sent = true;
            self.queue_link_end(&app);
        }
        // (Hashing the uid for every packet of every parsed flow cost more
        // than the check: nearly always nothing is queued at all.)
        if app.has_parser()
            && !self.links.queued.is_empty()
            && self.links.queued.contains_key(common.uid.as_str())
        {
            self.drain_linked(&common, ts, &mut app);
        }
        st.app = Some(app);
        self.attach_parser(&common, ts, st);
        if let Some(m) = st.app.as_mut().and_then(|a| a.more.as_mut()) {
            m.common = Some(common);
        }
    }

    /// Suricata rules over one packet, and over what became ready for
    /// its direction (stream bytes, transactions, files).
    fn rule_packet(&mut self, flow: &mut Flow<FlowData>, seen: Seen, pkt: &Decoded<'_>) {
        let Some(ip) = pkt.ip.as_ref() else {
            return;
        };
        let (tcp_flags, icmp) = match ip.transport {
            WireTransport::Tcp { tcp, .. } => (Some(tcp.flags), None),
            WireTransport::Icmp {
                icmp_type, code, ..
            }
            | WireTransport::Icmpv6 {
                icmp_type, code, ..
            } => (None, Some((icmp_type, code))),
            _ => (None, None),
        };
        let counters = rule_counters(flow, flow.data.app.as_ref().and_then(|a| a.rules()));
        let flow_start_ns = flow.first_ts;
        let verdict = flow.data.class.verdict.as_ref().map(|v| v.protocol);
        let common = flow
            .data
            .app
            .as_mut()
            .and_then(|a| a.more.as_mut())
            .and_then(|m| m.common.take())
            .unwrap_or_else(|| common_of(flow));
        let app = flow.data.app.get_or_insert_with(Default::default).more();
        let st = app.rules.get_or_insert_with(Default::default);
        let app_proto = st.app_proto(verdict, to_dir(seen.dir));
        let ctx = PacketCtx {
            ts_ns: flow.last_ts,
            common: &common,
            dir: to_dir(seen.dir),
            ip_proto: ip.proto,
            ttl: Some(ip.ttl),
            tcp_flags,
            icmp,
            payload: ip.transport.payload(),
            app_proto,
            counters,
            flow_start_ns,
            frame: Some(self.frame),
        };
        if let Some(eng) = self.rules.as_mut() {
            eng.on_packet(st, &ctx, false, &mut *self.out);
        }
        app.common = Some(common);
    }

    fn flow_end(&mut self, mut flow: Flow<FlowData>) {
        self.classifier.on_end(&mut flow);
        let common = common_of(&flow);
        let ts = flow.last_ts;
        let mut missed_bytes = 0;
        // A verdict reached at the end (port guess) gets no parser: parse
        // only what the bytes identified.
        if let Some(mut app) = flow.data.app.take() {
            if app.admission == Admission::Counted {
                self.unanswered = self.unanswered.saturating_sub(1);
            }
            // The pre-verdict buffer of a flow that ends undecided.
            app.drop_pending(&mut self.pending_total);
            if let Some(streams) = app.more.as_mut().and_then(|m| m.streams.as_mut()) {
                let mut rest: [Vec<(bool, Vec<u8>, u64)>; 2] = [Vec::new(), Vec::new()];
                for (i, s) in streams.iter_mut().enumerate() {
                    let st = s.stats();
                    self.stats.gaps += st.gaps;
                    self.stats.gap_bytes += st.gap_bytes;
                    self.stats.overlap_conflicts += st.conflicts;
                    s.finish(&mut self.budget, &mut |c: Chunk<'_>| match c {
                        Chunk::Data(d) => rest[i].push((true, d.to_vec(), 0)),
                        Chunk::Gap(n) => rest[i].push((false, Vec::new(), n)),
                    });
                }
                // After `finish`: the holes left at the end count too.
                missed_bytes = streams.iter().map(|s| s.stats().gap_bytes).sum();
                let [a, b] = rest;
                self.deliver(&common, ts, &mut app, Direction::ToServer, a, false);
                self.deliver(&common, ts, &mut app, Direction::ToClient, b, false);
            }
            if let Some(p) = app.more.as_mut().and_then(|m| m.yara_prefix.take()) {
                let (bufs, done) = *p;
                for (i, data) in bufs.into_iter().enumerate() {
                    if !done[i] && !data.is_empty() {
                        let dir = if i == 0 {
                            Direction::ToServer
                        } else {
                            Direction::ToClient
                        };
                        yara_stream_scan(
                            &mut self.files,
                            &mut *self.out,
                            &mut self.stats,
                            &common,
                            ts,
                            dir,
                            &data,
                        );
                    }
                }
            }
            if let Some(m) = app.more.as_mut().filter(|m| !m.link_end_sent) {
                m.link_end_sent = true;
                self.queue_link_end(&app);
            }
            self.drain_linked(&common, ts, &mut app);
            if let Some((m, mut parser)) = app
                .more
                .as_deref_mut()
                .and_then(|m| m.parser.take().map(|p| (m, p)))
            {
                let mut sink = FlowSink {
                    common: &common,
                    ts_ns: ts,
                    out: &mut *self.out,
                    files: &mut self.files,
                    open: &mut m.files,
                    next_file: &mut m.next_file,
                    max_open: self.cfg.max_open_files_per_flow,
                    stats: &mut self.stats,
                    links: &mut self.links,
                    next_link: &mut m.next_link,
                    rules: self.rules.as_mut().zip(m.rules.as_deref_mut()),
                };
                sink.end_parser(&mut *parser);
            }
            // What waits for inspection when the flow ends is inspected
            // now, as Suricata does at a flow's end.
            if let (Some(eng), Some(st)) = (self.rules.as_mut(), app.rules_mut()) {
                let ctx = PacketCtx {
                    ts_ns: ts,
                    common: &common,
                    dir: Direction::ToServer,
                    ip_proto: flow.key.proto,
                    ttl: None,
                    tcp_flags: None,
                    icmp: None,
                    payload: &[],
                    app_proto: flow.data.class.verdict.as_ref().map(|v| v.protocol),
                    counters: rule_counters(&flow, Some(&*st)),
                    flow_start_ns: flow.first_ts,
                    frame: None,
                };
                eng.on_packet(st, &ctx, true, &mut *self.out);
            }
        }
        let mut rec = FlowRecord::from_classified(&flow, self.cfg.community_id_seed);
        rec.missed_bytes = missed_bytes;
        self.out.conn_owned(flow.first_ts, rec);
    }
}

/// A flow's (packets, bytes) to the server and to the client, as rule
/// alerts report them.
fn rule_counters<T>(flow: &Flow<T>, rules: Option<&FlowRuleState>) -> [(u64, u64); 2] {
    let extra = rules.map_or([(0, 0); 2], FlowRuleState::icmp_errors);
    let mut c = flow.stats.map(|d| (d.pkts, d.bytes));
    for (c, e) in c.iter_mut().zip(extra) {
        c.0 += e.0;
        c.1 += e.1;
    }
    c
}

/// Addresses in records are written in RFC 5952 text.
pub fn addr_text(a: &IpAddr) -> String {
    a.to_string()
}

#[cfg(test)]
mod size_tests {
    /// A flow that only keeps bytes before its verdict (a flood of
    /// unanswered datagrams: a million such flows) holds this and its
    /// pending buffer; it must stay a small allocation (40 bytes: a 48-byte
    /// malloc chunk). Grows only on purpose.
    #[test]
    fn app_state_is_compact() {
        use std::mem::size_of;
        let n = size_of::<super::AppState>();
        assert!(n <= 40, "AppState is {n} bytes");
        let flow = size_of::<netsift_flow::Flow<super::FlowData>>();
        // The ndpi feature adds the wrapper's per-flow state (16 bytes).
        let limit = if cfg!(feature = "ndpi") { 376 } else { 360 };
        assert!(flow <= limit, "Flow<FlowData> is {flow} bytes");
    }
}
