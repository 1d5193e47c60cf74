//! Running a capture over several cores (`--threads N`).
//!
//! One reader (the calling thread) reads frames, decodes just enough to
//! choose a worker, and hands frames over in batches. Each worker owns a
//! [`Pipeline`] (flow table, defragmenter) and a handler (classifier,
//! parsers, detectors) for its share of the flows, as Suricata's and
//! Zeek's workers do. A worker's output goes back to the reader in chunks,
//! which hands them to the caller's sink in the reader thread.
//!
//! # Which worker
//! Both directions of a flow, and every fragment of a datagram, must reach
//! the same worker. The share is chosen from the packet's innermost IP
//! addresses alone, sorted (so both directions hash alike) and without
//! ports (fragments after the first carry none). An ICMP error goes to
//! the worker of the connection it quotes, so that the quoted flow sees it
//! ([`FlowHandler::on_icmp_error`]). Frames that are not IP or do not
//! decode go to worker 0.
//!
//! # The same answer for any N
//! Each frame carries its number in the capture and the capture's packet
//! time so far ([`FrameAt`]): uids come from the number of the frame that
//! created the flow, and flows expire on the capture's time, not the
//! worker's, so records and uids do not depend on N. Workers tag their
//! output with when a single pipeline would have made it ([`When`]), and
//! the [`Merger`] puts it back in that order: the output of N workers is
//! the output of one, line for line.
//!
//! A single pipeline makes output while handling frame `g`'s packet
//! (`(g, 0)`); ends the flows idle past their timeout at the start of the
//! first frame whose capture time reaches their idle time, lane by lane,
//! each lane in last-packet order (`(g*, 1, lane, last time, last
//! frame)`: a worker ends them later, at its own next frame, and the
//! reader, which knows the capture's time frame by frame
//! ([`NowHistory`]), finds `g*`); ends a flow because of frame `g`'s
//! packet itself (a new SYN on a closed connection, the active timeout,
//! an eviction: `(g, 2)`); and ends the open flows at the end of the
//! capture in creation order (`(∞, 3, first frame)`). The merger holds
//! output until every worker has handed over all it made up to a frame
//! ([`Delivery::through`]), then releases it in that order.
//!
//! Two things differ by design: with a full flow table, which flow is
//! evicted (each worker holds its share, `max_flows / N` and 1/32 more:
//! [`worker_max_flows`]), and a flow inside a tunnel
//! whose outer layer is fragmented (its fragments go by the outer
//! addresses, its whole packets by the inner ones).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};

use netsift_capture::CaptureReader;
use netsift_flow::{DefragStats, Dir, EndReason, Flow, Seen, TableStats};
use netsift_wire::{innermost_addrs, Decoded, LinkType};

use crate::pipeline::{Counters, FlowHandler, FrameAt, Pipeline, PipelineConfig};
use crate::run::{open, prepare, summarize, CaptureSummary, EngineError, Progress};

mod scan;

/// A worker's handler: a [`FlowHandler`] whose output is collected in
/// chunks and handed to the reader thread. It is built in its worker
/// thread, so it need not be `Send`; what it hands back is.
pub trait ShardHandler<T>: FlowHandler<T> {
    type Chunk: Send;
    type End: Send;
    /// Output made since the last call (called after every batch and at
    /// the end).
    fn take_chunk(&mut self) -> Option<Self::Chunk>;
    /// What the worker reports when the capture is done.
    fn end(self) -> Self::End;
}

/// Frames handed to a worker at once: a channel send per frame would cost
/// more than decoding the frame.
const BATCH_FRAMES: usize = 512;
/// Bytes of frame data in one batch before it is sent.
const BATCH_BYTES: usize = 1 << 20;
/// Batches queued per worker: bounds the reader's lead (and memory) to
/// `QUEUE * BATCH_BYTES` per worker.
const QUEUE: usize = 4;
/// Every this many frames all workers get a batch (maybe empty), so that
/// each one's flows expire on the capture's time and its output is
/// released in order (see [`Delivery::through`]).
const SYNC_FRAMES: u64 = 1 << 14;

/// [`Delivery::through`] of workers that have seen all their frames and
/// are ending the flows still open at the end of the capture.
pub const FLUSHING: u64 = u64::MAX - 1;

/// While ending the open flows at the end of the capture, a worker hands
/// its output back every this many flows, so that a million flows' lines
/// (or records) are not all held at once.
const FLUSH_CHUNK: usize = 512;

struct FrameMeta {
    at: FrameAt,
    linktype: u32,
    orig_len: u32,
    start: usize,
    end: usize,
}

#[derive(Default)]
struct Batch {
    data: Vec<u8>,
    frames: Vec<FrameMeta>,
    /// The capture's packet time when the batch was sent, for a worker
    /// that got few frames to expire its idle flows (see [`advance_to`]).
    now_ns: Option<u64>,
    /// The number of the last frame read when the batch was sent: after
    /// it, the worker has seen every frame of its share up to there.
    through: u64,
}

impl Batch {
    fn clear(&mut self) {
        self.data.clear();
        self.frames.clear();
    }
}

/// What a worker reports at the end.
struct WorkerEnd<E> {
    end: E,
    counters: Counters,
    table: TableStats,
    defrag: DefragStats,
}

enum Msg<C> {
    Chunk {
        worker: usize,
        through: u64,
        /// With `through` at [`FLUSHING`]: see [`Delivery::flushed`].
        flushed: u64,
        chunk: Option<C>,
    },
    /// An emptied batch, for reuse.
    Spent(Batch),
}

/// The capture's packet time, frame by frame, for the frames not yet
/// released: enough to tell at which frame a single flow table would have
/// ended a flow that a worker ended later.
#[derive(Debug, Default)]
pub struct NowHistory {
    /// (frame, packet time) where the capture's time grew.
    steps: VecDeque<(u64, u64)>,
    /// Frames up to here are released (and forgotten).
    released: u64,
}

impl NowHistory {
    fn push(&mut self, frame: u64, now: u64) {
        if self.steps.back().is_none_or(|&(_, t)| now > t) {
            self.steps.push_back((frame, now));
        }
    }

    fn release(&mut self, through: u64) {
        self.released = self.released.max(through);
        // Keep the last step at or below the release point: it holds the
        // time of the frames after it until the next step.
        while self.steps.len() > 1 && self.steps.get(1).is_some_and(|&(f, _)| f <= through) {
            self.steps.pop_front();
        }
    }

    /// The frame at which a single flow table ends, as idle, a flow whose
    /// last packet was frame `last_frame` and that is idle from packet
    /// time `idle_at`: the first later frame whose capture time reached
    /// `idle_at` (expiry runs at the start of every frame).
    pub fn idle_end_frame(&self, idle_at: u64, last_frame: u64) -> u64 {
        let i = self.steps.partition_point(|&(_, t)| t < idle_at);
        let f = self.steps.get(i).map_or(u64::MAX, |&(f, _)| f);
        f.max(last_frame.saturating_add(1))
            .max(self.released.saturating_add(1))
    }
}

/// A worker's chunk, as the reader hands it to the caller.
pub struct Delivery<'a, C> {
    pub worker: usize,
    pub chunk: Option<C>,
    /// Every worker has seen all frames of its share up to this one, and
    /// has handed over all it made from them (`u64::MAX` once all are
    /// done): output keyed at or below it is complete. [`FLUSHING`]: every
    /// worker has seen all its frames and handed over all but some of the
    /// flows it ends at the end of the capture (see `flushed`).
    pub through: u64,
    /// With `through` at [`FLUSHING`]: every worker has handed over the
    /// flows it ends at the end of the capture that were created at or
    /// before this frame (each worker ends them in creation order).
    pub flushed: u64,
    pub history: &'a NowHistory,
}

/// When a single pipeline would have made a worker's output (see the
/// module documentation).
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

    /// When a single pipeline ends `flow`, which a worker ended while at
    /// frame `frame`.
    pub fn of_end<T>(flow: &Flow<T>, frame: u64) -> When {
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

/// Puts the workers' output back in the single-thread order (see the
/// module documentation) and hands it on.
///
/// A worker's output comes nearly in order: each chunk is sorted on
/// arrival (a run-detecting sort, close to linear on such input) and
/// appended to the worker's queue, and the queues are merged head to
/// head. An item that sorts before what its worker handed over already
/// (which the module's order does not produce, but which must not be
/// lost or misplaced if it happens) waits in a heap beside the queues.
/// A heap over everything held cost most of the merging thread's time in
/// `analyze --threads 2`: tens of thousands of events, cache misses at
/// every level.
pub struct Merger<E> {
    runs: Vec<VecDeque<(Key, E)>>,
    stray: BinaryHeap<Reverse<Item<E>>>,
    held: usize,
    /// Most items held at once.
    pub peak_held: usize,
    /// Called on the item that will likely be released next (see
    /// [`Merger::with_hint`]).
    hint: Option<fn(&E)>,
}

struct Item<E> {
    key: Key,
    worker: usize,
    ev: E,
}

impl<E> PartialEq for Item<E> {
    fn eq(&self, o: &Self) -> bool {
        (self.key, self.worker) == (o.key, o.worker)
    }
}
impl<E> Eq for Item<E> {}
impl<E> PartialOrd for Item<E> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl<E> Ord for Item<E> {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.key, self.worker).cmp(&(o.key, o.worker))
    }
}

impl<E> Default for Merger<E> {
    fn default() -> Self {
        Merger {
            runs: Vec::new(),
            stray: BinaryHeap::new(),
            held: 0,
            peak_held: 0,
            hint: None,
        }
    }
}

impl<E> Merger<E> {
    /// While releasing an item from a worker's run, call `hint` on the
    /// next item of that run (most often the next released): for example
    /// to prefetch what it owns, made on another core.
    pub fn with_hint(mut self, hint: fn(&E)) -> Self {
        self.hint = Some(hint);
        self
    }

    /// Take a worker's delivery (items tagged with when a single pipeline
    /// made them, and a sequence number of the worker); release what is
    /// complete, in order, to `out`.
    pub fn take<C: IntoIterator<Item = (When, u64, E)>>(
        &mut self,
        d: Delivery<'_, C>,
        out: &mut dyn FnMut(E),
    ) {
        self.take_from(d, &mut |_, e| out(e))
    }

    /// [`Merger::take`], releasing each item with the worker that made it.
    pub fn take_from<C: IntoIterator<Item = (When, u64, E)>>(
        &mut self,
        d: Delivery<'_, C>,
        out: &mut dyn FnMut(usize, E),
    ) {
        if let Some(c) = d.chunk {
            let mut items: Vec<(Key, E)> = c
                .into_iter()
                .map(|(when, seq, ev)| (when.key(seq, d.history), ev))
                .collect();
            items.sort_by_key(|a| a.0);
            self.held += items.len();
            self.peak_held = self.peak_held.max(self.held);
            if self.runs.len() <= d.worker {
                self.runs.resize_with(d.worker + 1, VecDeque::new);
            }
            if let Some(run) = self.runs.get_mut(d.worker) {
                for (key, ev) in items {
                    if run.back().is_some_and(|(last, _)| key < *last) {
                        self.stray.push(Reverse(Item {
                            key,
                            worker: d.worker,
                            ev,
                        }));
                    } else {
                        run.push_back((key, ev));
                    }
                }
            }
        }
        let complete = |k: &Key| {
            if d.through == FLUSHING {
                // All but the end-of-capture flows (`(∞, 3, first frame)`)
                // are in; of those, the ones created up to `flushed`.
                k.0 < u64::MAX || k.1 < 3 || k.3 <= d.flushed
            } else {
                k.0 <= d.through
            }
        };
        loop {
            // The smallest head, (key, worker) as the single order has it.
            let mut best: Option<(Key, usize)> = None;
            for (w, run) in self.runs.iter().enumerate() {
                if let Some((k, _)) = run.front() {
                    if best.is_none_or(|b| (*k, w) < b) {
                        best = Some((*k, w));
                    }
                }
            }
            let from_stray = match (self.stray.peek(), best) {
                (Some(Reverse(i)), Some(b)) => (i.key, i.worker) < b,
                (Some(_), None) => true,
                (None, _) => false,
            };
            let ev = if from_stray {
                match self.stray.peek() {
                    Some(Reverse(i)) if complete(&i.key) => {
                        self.stray.pop().map(|Reverse(i)| (i.worker, i.ev))
                    }
                    _ => None,
                }
            } else {
                match best {
                    Some((k, w)) if complete(&k) => self.runs.get_mut(w).and_then(|r| {
                        let e = r.pop_front();
                        if let (Some(hint), Some((_, next))) = (self.hint, r.front()) {
                            hint(next);
                        }
                        e.map(|(_, e)| (w, e))
                    }),
                    _ => None,
                }
            };
            let Some((w, ev)) = ev else {
                break;
            };
            self.held -= 1;
            out(w, ev);
        }
    }

    /// Events still held (none once the capture is done).
    pub fn held(&self) -> usize {
        self.held
    }
}

/// What the merging thread has written, on its way back to the worker that
/// made it, which frees it (one per worker, shared with it).
///
/// Why: glibc's `free` of a block from another thread's arena puts it in
/// that arena's bins under the arena's lock, never in the owner's thread
/// cache. With the merging thread freeing everything the workers made, a
/// third of the context switches of `analyze --threads 2` were the merging
/// thread waiting for a worker's arena lock, and the workers took glibc's
/// slow path (`_int_malloc`) 3.5 times as often as one thread does
/// (docs/threads.md, session 16). Freed by its owner, a block goes back to
/// the owner's thread cache, as with one thread.
pub struct Returns<E>(Arc<Mutex<Vec<E>>>);

impl<E> Clone for Returns<E> {
    fn clone(&self) -> Self {
        Returns(self.0.clone())
    }
}

impl<E> Default for Returns<E> {
    fn default() -> Self {
        Returns(Arc::new(Mutex::new(Vec::new())))
    }
}

/// Most items waiting in a worker's [`Returns`]: beyond it (a worker that
/// has stopped taking them) the merging thread frees them itself.
const RETURNS_MAX: usize = 1 << 14;

/// Items handed back to a worker at a time.
const GIVE_BACK_BATCH: usize = 512;

impl<E> Returns<E> {
    fn lock(&self) -> MutexGuard<'_, Vec<E>> {
        // Neither side panics while holding it; if one did, the items are
        // still only memory to free.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Free, in this (the worker's) thread, what came back.
    pub fn free(&self) {
        let back = std::mem::take(&mut *self.lock());
        drop(back);
    }
}

/// The merging thread's side of [`Returns`]: written items, gathered per
/// worker and handed back in batches.
pub struct GiveBack<E> {
    to: Vec<Returns<E>>,
    held: Vec<Vec<E>>,
    /// Whether an item is worth handing back (it owns heap memory).
    owns_memory: fn(&E) -> bool,
}

impl<E> GiveBack<E> {
    pub fn new(to: &[Returns<E>], owns_memory: fn(&E) -> bool) -> Self {
        GiveBack {
            to: to.to_vec(),
            held: to.iter().map(|_| Vec::new()).collect(),
            owns_memory,
        }
    }

    /// `item`, made by worker `worker`, has been written.
    pub fn push(&mut self, worker: usize, item: E) {
        if !(self.owns_memory)(&item) {
            return;
        }
        let (Some(held), Some(to)) = (self.held.get_mut(worker), self.to.get(worker)) else {
            return;
        };
        held.push(item);
        if held.len() >= GIVE_BACK_BATCH {
            let mut back = to.lock();
            if back.len() < RETURNS_MAX {
                back.append(held);
            }
            drop(back);
            // Beyond the bound these are freed here.
            held.clear();
        }
    }
}

/// Flows one of `n` workers may hold when the whole table may hold
/// `max_flows`: its share, rounded up, plus 1/32 of it. Flows go to
/// workers by a hash of their addresses, so shares are never exactly
/// even: a million flows from random sources split about 500,000 ± 500
/// over two, and without the slack a flood of exactly `max_flows` flows
/// (bench/flood.sh's) evicted a few hundred that one thread keeps. In all,
/// the workers hold at most 1/32 more than `max_flows`.
pub fn worker_max_flows(max_flows: usize, n: usize) -> usize {
    if n <= 1 {
        return max_flows.max(1);
    }
    let share = max_flows.div_ceil(n);
    share.saturating_add(share / 32).max(1)
}

/// [`worker_max_flows`] for a bound that may be none: `usize::MAX` (no
/// bound) stays no bound (`--max-unanswered-flows 0`).
pub fn worker_bound(bound: usize, n: usize) -> usize {
    if bound == usize::MAX {
        bound
    } else {
        worker_max_flows(bound, n)
    }
}

/// A worker's share of a bound in bytes (the reassembly budget, parser and
/// DPI memory): its N-th; `usize::MAX` (no bound) stays no bound.
pub fn worker_bytes(bound: usize, n: usize) -> usize {
    if bound == usize::MAX {
        bound
    } else {
        bound / n.max(1)
    }
}

/// The worker (0..n) that handles the packet in `data`: see the module
/// documentation.
pub fn shard_of(link: LinkType, data: &[u8], n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    let Some((a, b)) = innermost_addrs(link, data) else {
        return 0;
    };
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut h = rustc_hash::FxHasher::default();
    std::hash::Hash::hash(&lo, &mut h);
    std::hash::Hash::hash(&hi, &mut h);
    let v = std::hash::Hasher::finish(&h);
    // Fx leaves the low bits weak: fold the high half in.
    ((v ^ (v >> 32)) % n as u64) as usize
}

/// The reader's side of the channels.
struct Hub<C> {
    to_workers: Vec<SyncSender<Batch>>,
    back: Receiver<Msg<C>>,
    progress: Progressed,
    spare: Vec<Batch>,
}

type Sink<'s, C> = &'s mut dyn FnMut(Delivery<'_, C>);

/// How far every worker has handed its output over, and the capture's
/// time for the frames not yet released: what turns a worker's chunk into
/// a [`Delivery`] (both runners).
struct Progressed {
    /// Per worker: the frame it has handed over all output through.
    through: Vec<u64>,
    /// Per worker: see [`Delivery::flushed`].
    flushed: Vec<u64>,
    history: NowHistory,
}

impl Progressed {
    fn new(workers: usize) -> Self {
        Progressed {
            through: vec![0; workers],
            flushed: vec![0; workers],
            history: NowHistory::default(),
        }
    }

    /// Note worker `worker`'s progress and hand its chunk to `sink` with
    /// how far all workers have got.
    fn deliver<C>(
        &mut self,
        worker: usize,
        (through, flushed): (u64, u64),
        chunk: Option<C>,
        sink: Sink<'_, C>,
    ) {
        if let Some(t) = self.through.get_mut(worker) {
            *t = (*t).max(through);
        }
        if let Some(f) = self.flushed.get_mut(worker) {
            *f = (*f).max(flushed);
        }
        let all = self.through.iter().copied().min().unwrap_or(u64::MAX);
        let flushed = self.flushed.iter().copied().min().unwrap_or(u64::MAX);
        sink(Delivery {
            worker,
            chunk,
            through: all,
            flushed,
            history: &self.history,
        });
        self.history.release(all);
    }
}

impl<C> Hub<C> {
    fn take(&mut self, m: Msg<C>, sink: Sink<'_, C>) {
        match m {
            Msg::Spent(b) => self.spare.push(b),
            Msg::Chunk {
                worker,
                through,
                flushed,
                chunk,
            } => self
                .progress
                .deliver(worker, (through, flushed), chunk, sink),
        }
    }

    /// Take whatever the workers have handed back, without waiting.
    fn poll(&mut self, sink: Sink<'_, C>) {
        while let Ok(m) = self.back.try_recv() {
            self.take(m, sink);
        }
    }

    /// Hand a batch to worker `w`, taking output while its queue is full
    /// (the worker may itself wait for us to take its output).
    fn send(&mut self, w: usize, mut b: Batch, sink: Sink<'_, C>) {
        loop {
            let Some(tx) = self.to_workers.get(w) else {
                return;
            };
            match tx.try_send(b) {
                Ok(()) | Err(TrySendError::Disconnected(_)) => return,
                Err(TrySendError::Full(back)) => {
                    b = back;
                    if let Ok(m) = self.back.recv_timeout(std::time::Duration::from_millis(1)) {
                        self.take(m, sink);
                    }
                }
            }
        }
    }
}

/// [`crate::run::run_reader`] over one worker per maker in `makers`; each
/// maker builds its worker's handler in the worker's thread. `sink`
/// receives the workers' output in the reader thread, in arrival order,
/// with how far the output is complete ([`Delivery::through`]). Returns
/// the summary (the workers' counters added up) and each worker's end.
pub fn run_reader_sharded<R, T, H, F>(
    path: &Path,
    total_bytes: Option<u64>,
    mut reader: CaptureReader<R>,
    cfg: PipelineConfig,
    makers: Vec<F>,
    sink: Sink<'_, H::Chunk>,
    progress: &mut dyn FnMut(Progress),
) -> Result<(CaptureSummary, Vec<H::End>), EngineError>
where
    R: Read,
    T: Default,
    H: ShardHandler<T>,
    F: FnOnce() -> H + Send,
{
    let n = makers.len().max(1);
    let wrap = |source| EngineError::Capture {
        path: path.to_path_buf(),
        source,
    };
    let (format, zero_snaplen) = prepare(path, &mut reader, &cfg)?;
    // Each worker's table holds its share of the flows.
    let mut wcfg = cfg;
    wcfg.flow.max_flows = worker_max_flows(cfg.flow.max_flows, n);
    let open: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();

    std::thread::scope(|scope| {
        let (back_tx, back_rx) = mpsc::channel::<Msg<H::Chunk>>();
        let mut to_workers: Vec<SyncSender<Batch>> = Vec::with_capacity(n);
        let mut joins = Vec::with_capacity(n);
        for (i, (make, open)) in makers.into_iter().zip(open.iter()).enumerate() {
            let (tx, rx) = mpsc::sync_channel::<Batch>(QUEUE);
            to_workers.push(tx);
            let back = back_tx.clone();
            joins.push(scope.spawn(move || worker::<T, H, F>(i, rx, back, make, wcfg, open)));
        }
        drop(back_tx);
        let mut hub = Hub {
            to_workers,
            back: back_rx,
            progress: Progressed::new(n),
            spare: Vec::new(),
        };

        let mut batches: Vec<Batch> = (0..n).map(|_| Batch::default()).collect();
        let mut frame_no: u64 = 0;
        let mut now_ns: u64 = 0;
        let mut first_unsupported: Option<(u32, u64)> = None;
        let mut error = None;
        // The worker of the last frame read.
        let mut last_w = 0;
        // The last frame up to which all workers were handed everything.
        let mut synced: u64 = 0;
        loop {
            // Before waiting on the input (a pipe, a slow sender), hand every
            // worker what it has, so that output does not wait for input
            // that may take long to come.
            if frame_no > synced && !reader.next_buffered() {
                for (i, b) in batches.iter_mut().enumerate() {
                    let fresh = hub.spare.pop().unwrap_or_default();
                    let mut full = std::mem::replace(b, fresh);
                    full.now_ns = advance_to(i, last_w, now_ns);
                    full.through = frame_no;
                    hub.send(i, full, sink);
                }
                synced = frame_no;
            }
            let frame = match reader.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    error = Some(e);
                    break;
                }
            };
            if first_unsupported.is_none() && !LinkType(frame.linktype).is_supported() {
                first_unsupported = Some((frame.linktype, frame.offset));
            }
            frame_no += 1;
            now_ns = now_ns.max(frame.ts_ns);
            hub.progress.history.push(frame_no, now_ns);
            let w = shard_of(LinkType(frame.linktype), frame.data, n);
            last_w = w;
            let b = &mut batches[w];
            let start = b.data.len();
            b.data.extend_from_slice(frame.data);
            b.frames.push(FrameMeta {
                at: FrameAt {
                    ts_ns: frame.ts_ns,
                    frame_no,
                    now_ns,
                },
                linktype: frame.linktype,
                orig_len: frame.orig_len,
                start,
                end: b.data.len(),
            });
            let periodic = frame_no - synced >= SYNC_FRAMES;
            if b.frames.len() >= BATCH_FRAMES || b.data.len() >= BATCH_BYTES || periodic {
                // Periodically every worker gets what it has (even
                // nothing), so each one's flows expire on the capture's
                // time and its output can be released.
                let ws = if periodic { 0..n } else { w..w + 1 };
                for i in ws {
                    let fresh = hub.spare.pop().unwrap_or_default();
                    let mut full = std::mem::replace(&mut batches[i], fresh);
                    full.now_ns = advance_to(i, w, now_ns);
                    full.through = frame_no;
                    hub.send(i, full, sink);
                }
                if periodic {
                    synced = frame_no;
                }
            }
            // Output is taken every 64 frames, not at every frame: a poll
            // is an atomic load on the channel the workers write to, and at
            // every frame that cache line bounced between the cores (a
            // tenth of the reader's time in `flows --threads 2`).
            if frame_no & 63 == 0 {
                hub.poll(sink);
            }
            if frame_no & 0xFFFF == 0 {
                progress(Progress {
                    bytes_read: reader.stats().bytes_read,
                    total_bytes,
                    packets: frame_no,
                    open_flows: open.iter().map(|o| o.load(Ordering::Relaxed)).sum(),
                });
            }
        }
        for (i, b) in batches.into_iter().enumerate() {
            let mut b = b;
            b.now_ns = advance_to(i, last_w, now_ns);
            b.through = frame_no;
            hub.send(i, b, sink);
        }
        // Workers end their flows now; take output until all are done.
        hub.to_workers.clear();
        while let Ok(m) = hub.back.recv() {
            hub.take(m, sink);
        }
        let mut totals = Totals::default();
        let mut ends = Vec::with_capacity(n);
        for j in joins {
            let end = join(j);
            totals.add(&end.counters, &end.table, &end.defrag);
            ends.push(end.end);
        }
        if let Some(e) = error {
            return Err(wrap(e));
        }
        let summary = summarize(
            path,
            &reader,
            (format, zero_snaplen),
            (totals.counters, totals.table, totals.defrag),
            first_unsupported,
        )?;
        Ok((summary, ends))
    })
}

/// The packet time up to which worker `i` expires its flows after a
/// batch, when frame `g` (the last read; handled by worker `w`) made the
/// capture's time `now_ns`. A single pipeline ends a flow on idleness only
/// at a frame after the flow's last packet, so: every flow of the other
/// workers saw its last packet before frame `g` and ends as it would at
/// `g`; worker `w` already expired its flows at `g` itself, and its flow of
/// frame `g` must wait for a later frame (there may be none).
fn advance_to(i: usize, w: usize, now_ns: u64) -> Option<u64> {
    (i != w).then_some(now_ns)
}

fn worker<T, H, F>(
    id: usize,
    rx: Receiver<Batch>,
    back: mpsc::Sender<Msg<H::Chunk>>,
    make: F,
    cfg: PipelineConfig,
    open: &AtomicUsize,
) -> WorkerEnd<H::End>
where
    T: Default,
    H: ShardHandler<T>,
    F: FnOnce() -> H,
{
    let mut handler = make();
    let mut pipe: Pipeline<T> = Pipeline::new(cfg);
    for mut b in rx.iter() {
        for f in &b.frames {
            let data = b.data.get(f.start..f.end).unwrap_or_default();
            pipe.on_bytes_at(f.at, LinkType(f.linktype), data, f.orig_len, &mut handler);
        }
        // (An expiry without a frame after it must not run: it would use
        // the time of this worker's last frame, which a single pipeline
        // applies only at a later frame, if there is one.)
        if let Some(now) = b.now_ns.take() {
            pipe.advance(now, &mut handler);
        }
        open.store(pipe.open_flows(), Ordering::Relaxed);
        // The reader is gone only if it failed; nothing to do then.
        let _ = back.send(Msg::Chunk {
            worker: id,
            through: b.through,
            flushed: 0,
            chunk: handler.take_chunk(),
        });
        b.clear();
        let _ = back.send(Msg::Spent(b));
    }
    pipe.finish(&mut Flushing {
        handler: &mut handler,
        send: &mut |flushed, chunk| {
            let _ = back.send(Msg::Chunk {
                worker: id,
                through: FLUSHING,
                flushed,
                chunk,
            });
        },
        flushed: 0,
    });
    let _ = back.send(Msg::Chunk {
        worker: id,
        through: u64::MAX,
        flushed: u64::MAX,
        chunk: handler.take_chunk(),
    });
    WorkerEnd {
        counters: pipe.counters(),
        table: pipe.table_stats(),
        defrag: pipe.defrag_stats(),
        end: handler.end(),
    }
}

/// A worker's handler while it ends the flows open at the end of the
/// capture: hands the output back every [`FLUSH_CHUNK`] flows, tagged with
/// how far (in creation order) it got.
struct Flushing<'a, H, C> {
    handler: &'a mut H,
    /// Hands a piece over: every flow created up to the frame given is
    /// in it (see [`Delivery::flushed`]).
    send: &'a mut dyn FnMut(u64, Option<C>),
    /// End-of-capture flows ended so far.
    flushed: usize,
}

impl<T, H: ShardHandler<T>> FlowHandler<T> for Flushing<'_, H, H::Chunk> {
    fn on_flow_end(&mut self, flow: Flow<T>) {
        let first = flow.first_frame;
        // The flows that ended before (waiting in the table) come first;
        // then the open ones, in creation order (`When::Flushed`).
        let open = matches!(When::of_end(&flow, 0), When::Flushed { .. });
        self.handler.on_flow_end(flow);
        if !open {
            return;
        }
        self.flushed += 1;
        if self.flushed % FLUSH_CHUNK == 0 {
            // Every flow created before `first` is handed over (one frame
            // may create two flows: not `first` itself).
            let chunk = self.handler.take_chunk();
            (self.send)(first.saturating_sub(1), chunk);
        }
    }

    // `finish` only ends flows and samples memory; the rest is passed on
    // all the same.
    fn on_packet(&mut self, flow: &mut Flow<T>, seen: Seen, pkt: &Decoded<'_>) {
        self.handler.on_packet(flow, seen, pkt);
    }

    fn on_frames(&mut self, flow: &Flow<T>, frames: &[u64]) {
        self.handler.on_frames(flow, frames);
    }

    fn on_frame_number(&mut self, n: u64) {
        self.handler.on_frame_number(n);
    }

    fn on_icmp_error(&mut self, flow: &mut Flow<T>, dir: Dir, wire_len: u32) {
        self.handler.on_icmp_error(flow, dir, wire_len);
    }

    fn on_frame_bytes(&mut self, ts_ns: u64, linktype: u32, data: &[u8], orig_len: u32) {
        self.handler.on_frame_bytes(ts_ns, linktype, data, orig_len);
    }

    fn on_memory_sample(&mut self, table_bytes: usize) {
        self.handler.on_memory_sample(table_bytes);
    }
}

/// A worker's result; a worker that panicked is a bug: re-raise it here.
fn join<E>(j: std::thread::ScopedJoinHandle<'_, E>) -> E {
    match j.join() {
        Ok(e) => e,
        Err(p) => std::panic::resume_unwind(p),
    }
}

/// The workers' counters, added up.
#[derive(Default)]
struct Totals {
    counters: Counters,
    table: TableStats,
    defrag: DefragStats,
}

impl Totals {
    fn add(&mut self, c: &Counters, t: &TableStats, d: &DefragStats) {
        add_counters(&mut self.counters, c);
        add_table(&mut self.table, t);
        add_defrag(&mut self.defrag, d);
    }
}

fn add_counters(a: &mut Counters, b: &Counters) {
    a.packets += b.packets;
    a.bytes += b.bytes;
    a.flow_packets += b.flow_packets;
    a.non_ip += b.non_ip;
    a.fragments += b.fragments;
    a.truncated += b.truncated;
    a.malformed += b.malformed;
    a.too_deep += b.too_deep;
    a.unsupported_linktype += b.unsupported_linktype;
}

fn add_table(a: &mut TableStats, b: &TableStats) {
    a.created += b.created;
    a.ended_idle += b.ended_idle;
    a.ended_closed += b.ended_closed;
    a.ended_active += b.ended_active;
    a.ended_reused += b.ended_reused;
    a.evicted += b.evicted;
    // The workers' peaks need not coincide: their sum bounds the total's.
    a.peak += b.peak;
}

fn add_defrag(a: &mut DefragStats, b: &DefragStats) {
    a.fragments += b.fragments;
    a.reassembled += b.reassembled;
    a.timed_out += b.timed_out;
    a.evicted += b.evicted;
    a.invalid += b.invalid;
    a.overlap_conflicts += b.overlap_conflicts;
}

/// [`run_reader_sharded`] on the capture at `path` (`-` is stdin).
pub fn run_capture_sharded<T, H, F>(
    path: &Path,
    cfg: PipelineConfig,
    makers: Vec<F>,
    sink: Sink<'_, H::Chunk>,
    progress: &mut dyn FnMut(Progress),
) -> Result<(CaptureSummary, Vec<H::End>), EngineError>
where
    T: Default,
    H: ShardHandler<T>,
    F: FnOnce() -> H + Send,
{
    let (mut reader, total_bytes) = open(path)?;
    if makers.len() > 1 && scan::rereadable(path, &reader) {
        let prepared = prepare(path, &mut reader, &cfg)?;
        let input = scan::Input {
            path,
            total_bytes,
            reader,
            prepared,
        };
        return scan::run_file_sharded(input, cfg, makers, sink, progress);
    }
    run_reader_sharded(path, total_bytes, reader, cfg, makers, sink, progress)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_share_of_the_flow_table_has_slack_for_an_uneven_split() {
        assert_eq!(worker_max_flows(1_000_000, 1), 1_000_000);
        // 500,000 and 1/32 more: a million random sources split over two
        // workers 500,000 +- 500 (one standard deviation), far inside.
        assert_eq!(worker_max_flows(1_000_000, 2), 515_625);
        assert_eq!(worker_max_flows(1_000_001, 2), 500_001 + 15_625);
        // Small tables: the share rounded up, never 0.
        assert_eq!(worker_max_flows(3, 2), 2);
        assert_eq!(worker_max_flows(1, 4), 1);
        assert_eq!(worker_max_flows(0, 4), 1);
        // In all, at most 1/32 over (plus rounding).
        for (m, n) in [(1_000_000, 3), (100_000, 16), (64, 4)] {
            assert!(worker_max_flows(m, n) * n <= m + m / 32 + n * 2, "{m} {n}");
        }
    }

    #[test]
    fn worker_share_of_a_byte_bound() {
        assert_eq!(worker_bytes(64 << 20, 1), 64 << 20);
        assert_eq!(worker_bytes(64 << 20, 4), 16 << 20);
        assert_eq!(worker_bytes(64 << 20, 0), 64 << 20);
        assert_eq!(worker_bytes(usize::MAX, 2), usize::MAX);
    }

    /// What the merging thread has written goes back to the worker that
    /// made it, in batches, and the worker frees it; items that own no
    /// memory stay; a worker that stops taking them makes the merging
    /// thread free them once the bound is reached.
    #[test]
    fn written_items_go_back_to_their_worker() {
        let to: Vec<Returns<(usize, u32)>> = (0..2).map(|_| Returns::default()).collect();
        let mut g = GiveBack::new(&to, |&(_, n)| n % 2 == 0);
        for n in 0..(GIVE_BACK_BATCH as u32 * 4) {
            g.push(0, (0, n));
        }
        // Half own memory: two full batches went back to worker 0.
        let back = to[0].lock().clone();
        assert_eq!(back.len(), GIVE_BACK_BATCH * 2);
        assert!(back.iter().all(|&(w, n)| w == 0 && n % 2 == 0));
        assert!(to[1].lock().is_empty());
        to[0].free();
        assert!(to[0].lock().is_empty());
        // A worker index beyond the workers is ignored, not a panic.
        g.push(7, (7, 0));
        // Worker 1 never takes its items: they stop at the bound.
        for n in 0..(RETURNS_MAX as u32 * 4) {
            g.push(1, (1, n * 2));
        }
        assert_eq!(to[1].lock().len(), RETURNS_MAX);
    }

    /// The worker is chosen from `innermost_addrs`, which skips transport
    /// headers: wherever a full decode finds an IP layer, it must find the
    /// same addresses, or a flow's packets would go to two workers. Every
    /// frame of nDPI's corpus, and each one again with bytes flipped
    /// (tunnels whose inner packet is damaged fall back to the outer one).
    #[test]
    fn worker_choice_agrees_with_a_full_decode_on_the_corpus() {
        let Some(names) = netsift_testkit::ndpi_pcap_files() else {
            return;
        };
        let mut rng = netsift_testkit::XorShift(16);
        let (mut frames, mut checked) = (0u64, 0u64);
        for path in names {
            let Ok(mut r) = CaptureReader::open(&path) else {
                continue;
            };
            while let Ok(Some(f)) = r.next_frame() {
                frames += 1;
                let link = LinkType(f.linktype);
                let mut copies = vec![f.data.to_vec()];
                for _ in 0..2 {
                    let mut c = f.data.to_vec();
                    if !c.is_empty() {
                        for _ in 0..3 {
                            let at = rng.below(c.len());
                            c[at] ^= 1 << rng.below(8);
                        }
                    }
                    copies.push(c);
                }
                for data in &copies {
                    let Ok(pkt) = netsift_wire::decode(link, data) else {
                        continue;
                    };
                    checked += 1;
                    assert_eq!(
                        innermost_addrs(link, data),
                        pkt.ip.as_ref().map(|ip| (ip.src, ip.dst)),
                        "{}: frame at offset {}",
                        path.display(),
                        f.offset
                    );
                }
            }
        }
        assert!(
            frames > 50_000 && checked > frames,
            "{frames} frames, {checked} checked"
        );
    }

    fn history(steps: &[(u64, u64)]) -> NowHistory {
        let mut h = NowHistory::default();
        for &(f, t) in steps {
            h.push(f, t);
        }
        h
    }

    /// The frame a single table ends an idle flow at: the first later
    /// frame whose capture time reached the idle time; never the flow's
    /// own last frame; never a released one.
    #[test]
    fn idle_end_frame_is_the_first_frame_reaching_the_idle_time() {
        // Frames 1..=6 at times 10, 10, 20, 20 (went back: not a step), 30, 40.
        let h = history(&[(1, 10), (2, 10), (3, 20), (4, 15), (5, 30), (6, 40)]);
        assert_eq!(h.steps.len(), 4, "{:?}", h.steps);
        assert_eq!(h.idle_end_frame(20, 1), 3);
        assert_eq!(h.idle_end_frame(25, 1), 5);
        assert_eq!(h.idle_end_frame(20, 3), 4, "after the flow's last frame");
        assert_eq!(h.idle_end_frame(41, 1), u64::MAX, "not reached yet");
        let mut h = h;
        h.release(4);
        assert_eq!(
            h.steps.front(),
            Some(&(3, 20)),
            "the step holding frame 4's time stays"
        );
        assert_eq!(h.idle_end_frame(20, 1), 5, "released frames are done");
        assert_eq!(h.idle_end_frame(35, 1), 6);
    }

    /// The merger releases only what every worker has handed over, in key
    /// order whatever the arrival order.
    #[test]
    fn merger_releases_complete_output_in_single_thread_order() {
        let h = history(&[(1, 10), (2, 20), (3, 30), (4, 40)]);
        let mut m: Merger<&str> = Merger::default();
        let mut out = Vec::new();
        let d = |worker, through, items: Vec<(When, u64, &'static str)>| Delivery {
            worker,
            chunk: Some(items),
            through,
            flushed: 0,
            history: &h,
        };
        // Worker 1 handled frames 2 and 4 and ended a flow idle since time
        // 25 (a single table ends it at frame 3, before frame 4's packet).
        m.take(
            d(
                1,
                1,
                vec![
                    (When::Packet { frame: 2 }, 0, "w1 frame 2"),
                    (When::Packet { frame: 4 }, 1, "w1 frame 4"),
                    (
                        When::Expired {
                            idle_at: 25,
                            lane: 1,
                            last_ts: 5,
                            last_frame: 1,
                        },
                        2,
                        "w1 idle flow",
                    ),
                ],
            ),
            &mut |e| out.push(e),
        );
        assert_eq!(out, vec![] as Vec<&str>, "worker 0 is only through frame 1");
        m.take(
            d(
                0,
                3,
                vec![
                    (When::Packet { frame: 1 }, 0, "w0 frame 1"),
                    (When::Packet { frame: 3 }, 1, "w0 frame 3"),
                ],
            ),
            &mut |e| out.push(e),
        );
        assert_eq!(
            out,
            vec!["w0 frame 1", "w1 frame 2", "w0 frame 3", "w1 idle flow"]
        );
        m.take(d(0, u64::MAX, vec![]), &mut |e| out.push(e));
        assert_eq!(out.last(), Some(&"w1 frame 4"));
        assert_eq!(m.held(), 0);
    }

    /// An item that sorts before what its worker handed over earlier
    /// still comes out in its place.
    /// The hint is called on the item of a run that comes next after the
    /// one released, and only on items released later; the order is the
    /// same as without it.
    #[test]
    fn merger_hints_at_the_next_item_of_the_run() {
        static HINTED: Mutex<Vec<u64>> = Mutex::new(Vec::new());
        let h = history(&[(1, 10), (2, 20), (3, 30), (4, 40), (5, 50), (6, 60)]);
        let mut m: Merger<u64> = Merger::default().with_hint(|e| {
            HINTED.lock().unwrap_or_else(|p| p.into_inner()).push(*e);
        });
        let mut out = Vec::new();
        for (worker, frames) in [(0usize, [1u64, 3, 5]), (1, [2, 4, 6])] {
            let items = frames
                .iter()
                .enumerate()
                .map(|(i, &f)| (When::Packet { frame: f }, i as u64, f))
                .collect::<Vec<_>>();
            // Released once both workers are through.
            let through = if worker == 1 { u64::MAX } else { 0 };
            let d = Delivery {
                worker,
                chunk: Some(items),
                through,
                flushed: through,
                history: &h,
            };
            m.take(d, &mut |e| out.push(e));
        }
        assert_eq!(out, vec![1, 2, 3, 4, 5, 6]);
        let hinted = HINTED.lock().unwrap_or_else(|p| p.into_inner()).clone();
        // Each run's items after its first one, as their predecessor left.
        assert_eq!(hinted, vec![3, 4, 5, 6]);
    }

    #[test]
    fn merger_places_late_items() {
        let h = history(&[(1, 10)]);
        let mut m: Merger<&str> = Merger::default();
        let mut out = Vec::new();
        let p = |frame| When::Packet { frame };
        let d = |worker, through, items: Vec<(When, u64, &'static str)>| Delivery {
            worker,
            chunk: Some(items),
            through,
            flushed: 0,
            history: &h,
        };
        m.take(
            d(0, 0, vec![(p(5), 0, "five"), (p(7), 1, "seven")]),
            &mut |e| out.push(e),
        );
        m.take(
            d(0, 0, vec![(p(3), 2, "three"), (p(6), 3, "six")]),
            &mut |e| out.push(e),
        );
        m.take(d(1, 6, vec![(p(4), 0, "four")]), &mut |e| out.push(e));
        assert_eq!(out, vec!["three", "four", "five", "six"]);
        assert_eq!(m.held(), 1);
        m.take(d(1, u64::MAX, vec![]), &mut |e| out.push(e));
        assert_eq!(out.last(), Some(&"seven"));
        assert_eq!(m.held(), 0);
    }

    /// The flows open at the end of the capture come back in pieces while
    /// the workers end them (each in creation order): those created up to
    /// every worker's progress are released, in the single-thread order,
    /// and nothing before every worker has seen all its frames.
    #[test]
    fn merger_releases_the_final_flush_in_pieces() {
        let h = history(&[(1, 10)]);
        let mut m: Merger<&str> = Merger::default();
        let mut out = Vec::new();
        let d = |worker, through, flushed, items: Vec<(When, u64, &'static str)>| Delivery {
            worker,
            chunk: Some(items),
            through,
            flushed,
            history: &h,
        };
        let fl = |f| When::Flushed { first_frame: f };
        // Worker 0 is flushing (flows of frames 1 and 4 so far), worker 1
        // is still at frame 5.
        m.take(
            d(0, 5, 0, vec![(fl(1), 0, "w0 f1"), (fl(4), 1, "w0 f4")]),
            &mut |e| out.push(e),
        );
        assert!(out.is_empty(), "worker 1 may still end flows");
        // Worker 1 flushing too, through frame 5 (frames 2 and 6 so far,
        // and a flow it had ended before); worker 0 is through frame 3.
        let idle = When::Expired {
            idle_at: 1000,
            lane: 0,
            last_ts: 5,
            last_frame: 5,
        };
        m.take(
            d(
                1,
                FLUSHING,
                3,
                vec![
                    (idle, 0, "w1 idle"),
                    (fl(2), 1, "w1 f2"),
                    (fl(6), 2, "w1 f6"),
                ],
            ),
            &mut |e| out.push(e),
        );
        assert_eq!(out, vec!["w1 idle", "w0 f1", "w1 f2"]);
        m.take(d(0, FLUSHING, 5, vec![]), &mut |e| out.push(e));
        assert_eq!(out.last(), Some(&"w0 f4"));
        assert_eq!(m.held(), 1);
        m.take(d(1, u64::MAX, u64::MAX, vec![]), &mut |e| out.push(e));
        assert_eq!(out, vec!["w1 idle", "w0 f1", "w1 f2", "w0 f4", "w1 f6"]);
    }
}
