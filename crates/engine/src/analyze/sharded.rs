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
//!   ([`NowHistory`]) and finds `g*`;
//! - a flow ended by frame `g`'s packet itself (a new SYN on a closed
//!   connection, the active timeout, an eviction): `(g, 2)`;
//! - at the end of the capture, the open flows in creation order:
//!   `(∞, 3, first frame)`.
//!
//! The [`Merger`] holds events until every worker has handed over all it
//! made up to a frame ([`Delivery::through`]) and releases them in that
//! order, so the detectors, the models and the writers see what they see
//! with one thread, and the output is the same for any N.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex, MutexGuard};

use netsift_detect::alert::Alert;
use netsift_detect::dos::FloodPacket;
use netsift_flow::{Dir, EndReason, Flow, Seen};
use netsift_wire::Decoded;
use serde_json::Value;

use super::output::{CaptureDamage, Common, Output, Summary};
use super::rules::RuleStats;
use super::{AnalyzeStats, Analyzer};
use crate::classify::ClassState;
use crate::memory::MemoryUse;
use crate::pipeline::FlowHandler;
use crate::record::FlowRecord;
use crate::shard::{Delivery, NowHistory, ShardHandler};

/// One call a worker's analyzer made on its output.
#[derive(Debug)]
pub enum Event {
    Record {
        log: &'static str,
        ts_ns: u64,
        common: Common,
        record: Value,
    },
    Conn {
        ts_ns: u64,
        rec: Box<FlowRecord>,
    },
    Alert(Box<Alert>),
    Flagged(String, Box<Alert>),
    Packet(FloodPacket),
}

impl Event {
    /// Make the call on the real output.
    pub fn apply(self, out: &mut dyn Output) {
        match self {
            Event::Record {
                log,
                ts_ns,
                common,
                record,
            } => out.record(log, ts_ns, &common, record),
            Event::Conn { ts_ns, rec } => out.conn(ts_ns, &rec),
            Event::Alert(a) => out.alert(&a),
            Event::Flagged(uid, a) => out.flow_flagged(&uid, &a),
            Event::Packet(p) => out.packet(&p),
        }
    }
}

/// When a single pipeline would have made an event (see the module
/// documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Packet {
        frame: u64,
    },
    Expired {
        idle_at: u64,
        lane: u8,
        last_ts: u64,
        last_frame: u64,
    },
    Ended {
        frame: u64,
    },
    Flushed {
        first_frame: u64,
    },
}

/// The place of an event in the single-thread order.
type Key = (u64, u8, u8, u64, u64, u64);

impl When {
    fn key(self, seq: u64, history: &NowHistory) -> Key {
        match self {
            When::Packet { frame } => (frame, 0, 0, 0, 0, seq),
            When::Expired {
                idle_at,
                lane,
                last_ts,
                last_frame,
            } => (
                history.idle_end_frame(idle_at, last_frame),
                1,
                lane,
                last_ts,
                last_frame,
                seq,
            ),
            When::Ended { frame } => (frame, 2, 0, 0, 0, seq),
            When::Flushed { first_frame } => (u64::MAX, 3, 0, first_frame, 0, seq),
        }
    }

    fn of_end<T>(flow: &Flow<T>, frame: u64) -> When {
        match flow.end_reason {
            Some(EndReason::Idle | EndReason::Closed) => When::Expired {
                idle_at: flow.idle_at_ns,
                lane: flow.end_lane,
                last_ts: flow.last_ts,
                last_frame: flow.last_frame,
            },
            Some(EndReason::End) | None => When::Flushed {
                first_frame: flow.first_frame,
            },
            Some(EndReason::Reused | EndReason::Active | EndReason::Evicted) => {
                When::Ended { frame }
            }
        }
    }
}

#[derive(Debug)]
struct LogState {
    when: When,
    seq: u64,
    events: Vec<(When, u64, Event)>,
}

/// A worker's output: it keeps the events, tagged, for the reader.
pub struct EventLog {
    state: Arc<Mutex<LogState>>,
    summary: Summary,
}

fn lock(m: &Mutex<LogState>) -> MutexGuard<'_, LogState> {
    // Only the worker's own thread takes the lock; a poisoned lock means
    // it panicked, and the worker's join re-raises that.
    m.lock().unwrap_or_else(|p| p.into_inner())
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
    fn record(&mut self, log: &'static str, ts_ns: u64, common: &Common, record: Value) {
        self.push(Event::Record {
            log,
            ts_ns,
            common: common.clone(),
            record,
        });
    }
    fn conn(&mut self, ts_ns: u64, rec: &FlowRecord) {
        self.push(Event::Conn {
            ts_ns,
            rec: Box::new(rec.clone()),
        });
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

/// A worker's counters at the end.
#[derive(Debug, Clone, Copy, Default)]
pub struct WorkerEnd {
    pub stats: AnalyzeStats,
    pub rules: Option<RuleStats>,
    pub peak_memory: MemoryUse,
    pub files_carved: u64,
}

/// A worker: an [`Analyzer`] writing into an [`EventLog`].
pub struct AnalyzeWorker {
    analyzer: Analyzer<'static>,
    state: Arc<Mutex<LogState>>,
    frame: u64,
}

impl AnalyzeWorker {
    /// `build` makes the analyzer over the output it is given.
    pub fn new(build: impl FnOnce(Box<dyn Output>) -> Analyzer<'static>) -> Self {
        let state = Arc::new(Mutex::new(LogState {
            when: When::Packet { frame: 0 },
            seq: 0,
            events: Vec::new(),
        }));
        let log = EventLog {
            state: state.clone(),
            summary: Summary::default(),
        };
        AnalyzeWorker {
            analyzer: build(Box::new(log)),
            state,
            frame: 0,
        }
    }

    fn when(&self, when: When) {
        lock(&self.state).when = when;
    }
}

impl FlowHandler<ClassState> for AnalyzeWorker {
    fn on_packet(&mut self, flow: &mut Flow<ClassState>, seen: Seen, pkt: &Decoded<'_>) {
        self.when(When::Packet { frame: self.frame });
        self.analyzer.on_packet(flow, seen, pkt);
    }

    fn on_flow_end(&mut self, flow: Flow<ClassState>) {
        self.when(When::of_end(&flow, self.frame));
        self.analyzer.on_flow_end(flow);
    }

    fn on_icmp_error(&mut self, flow: &mut Flow<ClassState>, dir: Dir, wire_len: u32) {
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

impl ShardHandler<ClassState> for AnalyzeWorker {
    type Chunk = AnalyzeChunk;
    type End = WorkerEnd;

    fn take_chunk(&mut self) -> Option<AnalyzeChunk> {
        let mut st = lock(&self.state);
        if st.events.is_empty() {
            return None;
        }
        Some(AnalyzeChunk {
            events: std::mem::take(&mut st.events),
        })
    }

    fn end(self) -> WorkerEnd {
        WorkerEnd {
            stats: self.analyzer.stats,
            rules: self.analyzer.rule_stats(),
            peak_memory: self.analyzer.peak_memory(),
            files_carved: self.analyzer.files_carved(),
        }
    }
}

struct Item {
    key: Key,
    worker: usize,
    ev: Event,
}

impl PartialEq for Item {
    fn eq(&self, o: &Self) -> bool {
        (self.key, self.worker) == (o.key, o.worker)
    }
}
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Item {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.key, self.worker).cmp(&(o.key, o.worker))
    }
}

/// Puts the workers' events back in the single-thread order (see the
/// module documentation) and hands them to the real output.
#[derive(Default)]
pub struct Merger {
    heap: BinaryHeap<Reverse<Item>>,
    /// Most events held at once.
    pub peak_held: usize,
}

impl Merger {
    /// Take a worker's delivery; release what is complete into `out`.
    pub fn take(&mut self, d: Delivery<'_, AnalyzeChunk>, out: &mut dyn Output) {
        if let Some(c) = d.chunk {
            for (when, seq, ev) in c.events {
                self.heap.push(Reverse(Item {
                    key: when.key(seq, d.history),
                    worker: d.worker,
                    ev,
                }));
            }
            self.peak_held = self.peak_held.max(self.heap.len());
        }
        while self
            .heap
            .peek()
            .is_some_and(|Reverse(i)| i.key.0 <= d.through)
        {
            if let Some(Reverse(i)) = self.heap.pop() {
                i.ev.apply(out);
            }
        }
    }

    /// Events still held (none once the capture is done).
    pub fn held(&self) -> usize {
        self.heap.len()
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
        if let Some(r) = o.rules {
            let t = self.rules.get_or_insert_with(RuleStats::default);
            t.alerts += r.alerts;
            t.stream_bytes_dropped += r.stream_bytes_dropped;
            t.buffers_dropped += r.buffers_dropped;
            t.files_dropped += r.files_dropped;
        }
        let (m, p) = (&mut self.peak_memory, o.peak_memory);
        m.flows += p.flows;
        m.reassembly += p.reassembly;
        m.parsers += p.parsers;
        m.dpi += p.dpi;
        m.detectors += p.detectors;
        self.files_carved += o.files_carved;
    }
}
