//! `analyze --threads N`: the per-flow work (reassembly, parsers, DPI,
//! signatures, Suricata rules, carving) runs in N workers
//! ([`crate::shard`]); what spans flows (scans, brute force, floods, the
//! learned models, alert aggregation, the summary and the writers) runs
//! once, in the reader thread, fed the workers' output in the order a
//! single thread makes it.
//!
//! # The single-thread order
//! A worker's [`Analyzer`] writes into an [`EventLog`] instead of the real
//! output; each event is tagged with when a single pipeline would have
//! made it:
//! - while handling frame `g`'s packet: `(g, 0)`;
//! - a flow that ended idle or closed: a single flow table ends it at the
//!   first frame after its last packet whose capture time reached its
//!   idle time, lane by lane, each lane in last-packet order:
//!   `(g*, 1, lane, last time, last frame)`. A worker ends it later (at its
//!   own next frame); the reader knows the capture's time frame by frame
//!   ([`crate::shard::NowHistory`]) and finds `g*`;
//! - a flow ended by frame `g`'s packet itself (a new SYN on a closed
//!   connection, the active timeout, an eviction): `(g, 2)`;
//! - at the end of the capture, the open flows in creation order:
//!   `(∞, 3, first frame)`.
//!
//! The [`Merger`] (in [`crate::shard`]) holds events until every worker has handed over all it
//! made up to a frame ([`crate::shard::Delivery::through`]) and releases them in that
//! order, so the detectors, the models and the writers see what they see
//! with one thread, and the output is the same for any N.

use std::cell::{RefCell, RefMut};
use std::rc::Rc;

use netsift_detect::alert::Alert;
use netsift_detect::dos::FloodPacket;
use netsift_flow::{Dir, Flow, Seen};
use netsift_proto::record::Rendered;
use netsift_wire::Decoded;

use super::output::{jsonl_record_line, CaptureDamage, Common, Output, Record, Summary};
use super::rules::RuleStats;
use super::{AnalyzeStats, Analyzer, FlowData};
use crate::memory::MemoryUse;
use crate::pipeline::FlowHandler;
use crate::record::{FlowRecord, LINE_CAPACITY};
use crate::shard::{Merger, Returns, ShardHandler, When};

/// One call a worker's analyzer made on its output.
#[derive(Debug)]
pub enum Event {
    /// Boxed, as the conn record and the alerts are: a flood makes an
    /// event per packet, and every event is moved several times on its
    /// way through the merger, so the enum stays small (64 bytes, not
    /// 184 with a record inline).
    Record(Box<RecordEvent>),
    Conn {
        ts_ns: u64,
        rec: Box<FlowRecord>,
    },
    Alert(Box<Alert>),
    Flagged(String, Box<Alert>),
    Packet(FloodPacket),
}

/// A record a worker's analyzer wrote.
#[derive(Debug)]
pub struct RecordEvent {
    log: &'static str,
    ts_ns: u64,
    common: Common,
    record: Record,
}

impl Event {
    /// Make the call on the real output. The event is only read: what it
    /// owns goes back to the worker that made it ([`GiveBack`]).
    pub fn apply(&self, out: &mut dyn Output) {
        match self {
            Event::Record(r) => out.record(r.log, r.ts_ns, &r.common, &r.record),
            Event::Conn { ts_ns, rec } => out.conn(*ts_ns, rec),
            Event::Alert(a) => out.alert(a),
            Event::Flagged(uid, a) => out.flow_flagged(uid, a),
            Event::Packet(p) => out.packet(p),
        }
    }

    /// Whether the event owns heap memory (all but flood packets): the
    /// merging thread hands such events back to their worker to be freed
    /// there ([`GiveBack`]).
    pub fn owns_memory(&self) -> bool {
        !matches!(self, Event::Packet(_))
    }

    /// Prefetch what the merging thread reads first of the event: the
    /// record and its line, written on the worker's core
    /// ([`crate::shard::Merger::with_hint`]).
    pub fn prefetch(&self) {
        use netsift_detect::prefetch::{bytes, value};
        match self {
            Event::Record(r) => {
                value(&**r);
                if let Some(line) = r.record.rendered() {
                    bytes(line, PREFETCH_LINE_LINES);
                }
            }
            Event::Conn { rec, .. } => {
                value(&**rec);
                if let Some(line) = rec.rendered.get() {
                    bytes(line, PREFETCH_LINE_LINES);
                }
            }
            Event::Alert(_) | Event::Flagged(..) | Event::Packet(_) => {}
        }
    }
}

/// Cache lines of an event's output line prefetched: a conn line (500-700
/// bytes) whole.
const PREFETCH_LINE_LINES: usize = 12;

/// Most events a worker's next batch reserves room for up front.
const EVENTS_RESERVE_MAX: usize = 4096;

#[derive(Debug)]
struct LogState {
    when: When,
    seq: u64,
    events: Vec<(When, u64, Event)>,
}

/// A worker's output: it keeps the events, tagged, for the reader.
pub struct EventLog {
    state: Rc<RefCell<LogState>>,
    summary: Summary,
    /// The output is a JSONL directory: make its lines here, in the
    /// worker, so that the reader thread only copies them.
    jsonl: bool,
}

fn lock(m: &RefCell<LogState>) -> RefMut<'_, LogState> {
    // Only the worker's own thread holds the log (it is not `Send`), and
    // no borrow outlives the call that takes it.
    m.borrow_mut()
}

impl EventLog {
    fn push(&self, ev: Event) {
        let mut st = lock(&self.state);
        let (when, seq) = (st.when, st.seq);
        st.seq += 1;
        st.events.push((when, seq, ev));
    }
}

impl Output for EventLog {
    fn record(&mut self, log: &'static str, ts_ns: u64, common: &Common, record: &Record) {
        self.record_owned(log, ts_ns, common, record.clone());
    }
    fn record_owned(&mut self, log: &'static str, ts_ns: u64, common: &Common, mut record: Record) {
        if self.jsonl {
            let mut line = Vec::with_capacity(LINE_CAPACITY);
            // Writing to a Vec fails only on a serializer bug; the writer
            // then makes the line itself.
            if jsonl_record_line(&mut line, ts_ns, common, &record).is_ok() {
                record.set_rendered(line);
            }
        }
        self.push(Event::Record(Box::new(RecordEvent {
            log,
            ts_ns,
            common: common.clone(),
            record,
        })));
    }
    fn conn(&mut self, ts_ns: u64, rec: &FlowRecord) {
        self.conn_owned(ts_ns, rec.clone());
    }
    fn conn_owned(&mut self, ts_ns: u64, rec: FlowRecord) {
        let mut rec = Box::new(rec);
        if self.jsonl {
            let mut line = Vec::with_capacity(LINE_CAPACITY);
            rec.write_json(&mut line);
            rec.rendered = Rendered::new(line);
        }
        self.push(Event::Conn { ts_ns, rec });
    }
    fn alert(&mut self, alert: &Alert) {
        self.push(Event::Alert(Box::new(alert.clone())));
    }
    fn flow_flagged(&mut self, uid: &str, alert: &Alert) {
        self.push(Event::Flagged(uid.to_string(), Box::new(alert.clone())));
    }
    fn capture_damaged(&mut self, _damage: &CaptureDamage) {}
    fn packet(&mut self, p: &FloodPacket) {
        self.push(Event::Packet(*p));
    }
    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn summary(&self) -> &Summary {
        &self.summary
    }
}

/// What a worker made from one batch.
pub struct AnalyzeChunk {
    events: Vec<(When, u64, Event)>,
}

impl IntoIterator for AnalyzeChunk {
    type Item = (When, u64, Event);
    type IntoIter = std::vec::IntoIter<(When, u64, Event)>;
    fn into_iter(self) -> Self::IntoIter {
        self.events.into_iter()
    }
}

/// The merger of `analyze --threads`.
pub type EventMerger = Merger<Event>;

/// The merger of `analyze --threads`, prefetching the next event's record.
pub fn event_merger() -> EventMerger {
    Merger::default().with_hint(Event::prefetch)
}

pub use crate::shard::GiveBack;

/// A worker's counters at the end.
#[derive(Debug, Clone, Copy, Default)]
pub struct WorkerEnd {
    pub stats: AnalyzeStats,
    pub rules: Option<RuleStats>,
    /// The worker's peaks without the detectors
    /// ([`Analyzer::peak_memory_own`]): the workers' add up.
    pub peak_memory: MemoryUse,
    pub files_carved: u64,
}

/// A worker: an [`Analyzer`] writing into an [`EventLog`].
pub struct AnalyzeWorker {
    analyzer: Analyzer<'static>,
    state: Rc<RefCell<LogState>>,
    /// Its events, back from the merging thread, to free here.
    returns: Returns<Event>,
    frame: u64,
    /// Live (`watch --threads`): events are tagged with this packet time
    /// instead of a frame number (see [`AnalyzeWorker::live`]).
    live_now: Option<u64>,
}

impl AnalyzeWorker {
    /// `build` makes the analyzer over the output it is given. `jsonl`:
    /// the output is a JSONL directory, whose lines the worker makes.
    /// `returns`: where the merging thread gives back this worker's
    /// events once written ([`GiveBack`]).
    pub fn new(
        jsonl: bool,
        returns: Returns<Event>,
        build: impl FnOnce(Box<dyn Output>) -> Analyzer<'static>,
    ) -> Self {
        let state = Rc::new(RefCell::new(LogState {
            when: When::Packet { frame: 0 },
            seq: 0,
            events: Vec::new(),
        }));
        let log = EventLog {
            state: state.clone(),
            summary: Summary::default(),
            jsonl,
        };
        AnalyzeWorker {
            analyzer: build(Box::new(log)),
            state,
            returns,
            frame: 0,
            live_now: None,
        }
    }

    /// A live capture has no global frame order: every event is tagged
    /// `When::Packet { frame: t }` with `t` the worker's packet time
    /// when it was made (set by [`AnalyzeWorker::at`], never going back),
    /// so a merger over several workers releases events in packet-time
    /// order up to the time every worker has reached.
    pub fn live(mut self) -> Self {
        self.live_now = Some(0);
        self
    }

    /// The worker's packet time is now `now_ns` (live; ignored if earlier).
    pub fn at(&mut self, now_ns: u64) {
        if let Some(t) = self.live_now.as_mut() {
            *t = (*t).max(now_ns);
        }
    }

    /// The worker's packet time (live), 0 otherwise.
    pub fn now(&self) -> u64 {
        self.live_now.unwrap_or(0)
    }

    /// This worker's memory estimate now, without the detectors
    /// ([`Analyzer::memory_own`]; call it on the worker's thread).
    pub fn memory_own(&self, table_bytes: usize) -> MemoryUse {
        self.analyzer.memory_own(table_bytes)
    }

    fn when(&self, when: When) {
        lock(&self.state).when = match self.live_now {
            Some(t) => When::Packet { frame: t },
            None => when,
        };
    }
}

impl FlowHandler<FlowData> for AnalyzeWorker {
    fn on_packet(&mut self, flow: &mut Flow<FlowData>, seen: Seen, pkt: &Decoded<'_>) {
        self.when(When::Packet { frame: self.frame });
        self.analyzer.on_packet(flow, seen, pkt);
    }

    fn on_flow_end(&mut self, flow: Flow<FlowData>) {
        self.when(When::of_end(&flow, self.frame));
        self.analyzer.on_flow_end(flow);
    }

    fn on_icmp_error(&mut self, flow: &mut Flow<FlowData>, dir: Dir, wire_len: u32) {
        self.when(When::Packet { frame: self.frame });
        self.analyzer.on_icmp_error(flow, dir, wire_len);
    }

    fn on_frame_number(&mut self, n: u64) {
        self.frame = n;
        self.analyzer.on_frame_number(n);
    }

    fn on_memory_sample(&mut self, table_bytes: usize) {
        self.analyzer.on_memory_sample(table_bytes);
    }
}

impl ShardHandler<FlowData> for AnalyzeWorker {
    type Chunk = AnalyzeChunk;
    type End = WorkerEnd;

    fn take_chunk(&mut self) -> Option<AnalyzeChunk> {
        self.returns.free();
        let mut st = lock(&self.state);
        if st.events.is_empty() {
            return None;
        }
        // The next batch starts at this one's size (within a bound)
        // instead of growing from nothing: regrowing it took a dozen
        // reallocs per batch, which glibc serves slowly in a worker whose
        // frees happen in the merging thread.
        let next = Vec::with_capacity(st.events.len().min(EVENTS_RESERVE_MAX));
        Some(AnalyzeChunk {
            events: std::mem::replace(&mut st.events, next),
        })
    }

    fn end(self) -> WorkerEnd {
        self.returns.free();
        WorkerEnd {
            stats: self.analyzer.run_stats(),
            rules: self.analyzer.rule_stats(),
            peak_memory: self.analyzer.peak_memory_own(),
            files_carved: self.analyzer.files_carved(),
        }
    }
}

impl WorkerEnd {
    /// Add another worker's counters (memory: the sum of the peaks).
    pub fn add(&mut self, o: &WorkerEnd) {
        let s = &mut self.stats;
        s.records += o.stats.records;
        s.files += o.stats.files;
        s.parsed_flows += o.stats.parsed_flows;
        s.gaps += o.stats.gaps;
        s.gap_bytes += o.stats.gap_bytes;
        s.overlap_conflicts += o.stats.overlap_conflicts;
        s.pending_overflows += o.stats.pending_overflows;
        s.unanswered_refused += o.stats.unanswered_refused;
        s.parsers_stopped += o.stats.parsers_stopped;
        s.parser_bytes_stopped += o.stats.parser_bytes_stopped;
        s.classify_bounds = s.classify_bounds + o.stats.classify_bounds;
        if let Some(r) = o.rules {
            let t = self.rules.get_or_insert_with(RuleStats::default);
            t.alerts += r.alerts;
            t.stream_bytes_dropped += r.stream_bytes_dropped;
            t.buffers_dropped += r.buffers_dropped;
            t.files_dropped += r.files_dropped;
        }
        self.peak_memory = self.peak_memory + o.peak_memory;
        self.files_carved += o.files_carved;
    }
}

#[cfg(test)]
mod tests {
    /// Every event is moved several times between a worker and the
    /// writers (a flood makes one per packet): the big variants are boxed.
    #[test]
    fn events_stay_small() {
        assert!(
            std::mem::size_of::<super::Event>() <= 64,
            "{}",
            std::mem::size_of::<super::Event>()
        );
    }
}
