//! TCP stream reassembly: one [`Stream`] per direction of a connection turns
//! the segments seen on the wire into the ordered byte stream the receiver
//! got, with explicit gaps for what the capture missed.
//!
//! RFC 9293 §3.4: "It is essential to remember that the actual sequence
//! number space is finite, though very large. This space ranges from 0 to
//! 2^32 - 1. Since the space is finite, all arithmetic dealing with sequence
//! numbers must be performed modulo 2^32." Every sequence number is
//! extended to an absolute 64-bit offset from the stream start by taking the
//! signed 32-bit distance to the next byte expected, so a stream may cross
//! the wrap any number of times.
//!
//! RFC 9293 §3.4 also says the SYN "is considered to occur before the first
//! actual data octet of the segment in which it occurs": the ISN is the SYN's
//! sequence number and data starts at ISN + 1 (a SYN may carry data, RFC 7413
//! TCP Fast Open).
//!
//! Policies (as the IP defragmenter in [`crate::defrag`]):
//! * Overlaps keep the first copy of every byte, delivered or buffered. A
//!   later copy whose bytes differ is reported as
//!   [`StreamEvent::OverlapConflict`] (the classic IDS evasion: a segment
//!   the IDS sees but the host does not, then the real one). To compare
//!   retransmissions of bytes already delivered, the last delivered bytes
//!   are kept until the peer acknowledges them (bounded, see
//!   [`HISTORY_MAX`]).
//! * Memory is bounded per stream (bytes and segment count) and per flow
//!   table ([`Budget`]). When a bound is reached the stream gives up its
//!   oldest hole: a gap up to the first buffered byte, then everything
//!   buffered that became in order is delivered. Memory stays bounded and
//!   the parser keeps receiving data.
//! * A byte the peer acknowledged but the capture never saw will not come
//!   any more: [`Stream::ack`] delivers it as a gap.
//! * A segment more than 2^30 bytes ahead of the next byte expected is
//!   garbage (or an attack), dropped without allocating.
//!
//! Nothing here panics on packet data and nothing grows without bound.

use std::collections::{BTreeMap, VecDeque};

/// A segment starting this far or farther ahead of the next byte expected
/// is dropped (2^30: a quarter of the sequence space, far above any window).
pub const MAX_AHEAD: u64 = 1 << 30;

/// Bytes charged per buffered segment on top of its payload (map node,
/// vector header, allocator), so a flood of one-byte segments is bounded
/// too.
pub const SEGMENT_OVERHEAD: usize = 64;

/// Most delivered bytes kept per stream, to compare retransmissions of
/// delivered data (further limited to a sixteenth of
/// `max_buffered_per_stream` and to a quarter of the [`Budget`]).
pub const HISTORY_MAX: usize = 64 * 1024;

/// Events kept between two [`Stream::drain_events`] calls; more are counted
/// in [`Stream::events_lost`].
pub const MAX_EVENTS: usize = 1024;

/// Reassembly limits.
#[derive(Debug, Clone, Copy)]
pub struct ReassemblyConfig {
    /// Bytes one stream may hold (out-of-order segments, each charged
    /// [`SEGMENT_OVERHEAD`] extra, plus the delivered-bytes history).
    pub max_buffered_per_stream: usize,
    /// Out-of-order segments one stream may hold.
    pub max_segments_per_stream: usize,
    /// Bytes all streams of one flow table may hold: the size to give
    /// [`Budget::new`] (the stream itself obeys the budget it is passed).
    pub max_buffered_total: usize,
}

impl Default for ReassemblyConfig {
    fn default() -> Self {
        ReassemblyConfig {
            max_buffered_per_stream: 1 << 20,
            max_segments_per_stream: 2048,
            max_buffered_total: 256 << 20,
        }
    }
}

/// Shared accounting across all streams of one flow table (no global state:
/// the engine owns one `Budget` per shard and passes it in).
///
/// A stream's bytes stay charged until [`Stream::finish`] or
/// [`Stream::discard`]: call one of them before dropping a stream.
#[derive(Debug)]
pub struct Budget {
    max_total: usize,
    buffered: usize,
    peak: usize,
    /// Part of `buffered` that is delivered-bytes history (at most a quarter
    /// of `max_total`, so history never starves reassembly).
    history: usize,
    forced_gaps: u64,
}

impl Default for Budget {
    /// A budget of [`ReassemblyConfig::default`]'s `max_buffered_total`.
    fn default() -> Self {
        Budget::new(ReassemblyConfig::default().max_buffered_total)
    }
}

impl Budget {
    pub fn new(max_total: usize) -> Self {
        Budget {
            max_total,
            buffered: 0,
            peak: 0,
            history: 0,
            forced_gaps: 0,
        }
    }

    /// Bytes charged now, across all streams.
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// Highest `buffered` seen.
    pub fn peak(&self) -> usize {
        self.peak
    }

    pub fn max_total(&self) -> usize {
        self.max_total
    }

    /// Holes given up because a memory bound was reached, across all
    /// streams.
    pub fn forced_gaps(&self) -> u64 {
        self.forced_gaps
    }

    fn fits(&self, n: usize) -> bool {
        self.buffered.saturating_add(n) <= self.max_total
    }

    fn charge(&mut self, n: usize) {
        self.buffered = self.buffered.saturating_add(n);
        self.peak = self.peak.max(self.buffered);
    }

    fn release(&mut self, n: usize) {
        self.buffered = self.buffered.saturating_sub(n);
    }
}

/// In-order output of a stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// The next bytes of the stream.
    Data(&'a [u8]),
    /// This many bytes are missing (never captured, or given up).
    Gap(u64),
}

/// Anomalies, for the IDS: reported as events, never errors. Offsets are
/// bytes since the stream start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEvent {
    /// A retransmission overlapping delivered or buffered data with
    /// DIFFERENT bytes (first copy wins). `offset`/`len` span the first to
    /// the last differing byte of the segment.
    OverlapConflict { offset: u64, len: u32 },
    /// Bytes skipped as a gap (never received / given up).
    Gap { offset: u64, len: u64 },
    /// A segment dropped unbuffered: it lies absurdly far ahead (at least
    /// [`MAX_AHEAD`], garbage or an attack). A memory bound never drops a
    /// segment: the stream gives up its oldest hole instead (a `Gap` event,
    /// counted in [`StreamStats::forced_gaps`] and [`Budget::forced_gaps`]).
    Dropped { offset: u64, len: u32 },
}

/// Counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Data bytes delivered (gaps excluded).
    pub delivered: u64,
    /// Gaps delivered, and their bytes.
    pub gaps: u64,
    pub gap_bytes: u64,
    /// Bytes received again (already delivered or buffered), identical or
    /// not.
    pub retransmitted_bytes: u64,
    /// Segments whose overlapping bytes differed from the first copy.
    pub conflicts: u64,
    pub dropped_segments: u64,
    /// Segments that arrived ahead of the next byte expected and were
    /// buffered.
    pub out_of_order_segments: u64,
    /// Gaps forced by a memory bound (included in `gaps`).
    pub forced_gaps: u64,
}

/// One direction of a TCP connection.
#[derive(Debug)]
pub struct Stream {
    cfg: ReassemblyConfig,
    /// Whether the stream start (`base`) is known.
    started: bool,
    /// Sequence number of offset 0.
    base: u32,
    /// Offset of the next byte to deliver.
    next: u64,
    /// Offset of the FIN, when known.
    fin: Option<u64>,
    /// Out-of-order data: start offset -> bytes. Non-overlapping, every key
    /// greater than `next`.
    segs: BTreeMap<u64, Vec<u8>>,
    /// Bytes charged for `segs` (payload + [`SEGMENT_OVERHEAD`] each).
    seg_bytes: usize,
    /// The last delivered bytes: offsets `[next - hist.len(), next)`.
    hist: VecDeque<u8>,
    events: Vec<StreamEvent>,
    events_lost: u64,
    stats: StreamStats,
}

/// First and last index where `a` and `b` differ.
fn diff_span<'x>(
    a: impl Iterator<Item = &'x u8>,
    b: impl Iterator<Item = &'x u8>,
) -> Option<(usize, usize)> {
    let mut span: Option<(usize, usize)> = None;
    for (i, (x, y)) in a.zip(b).enumerate() {
        if x != y {
            span = Some(span.map_or((i, i), |(f, _)| (f, i)));
        }
    }
    span
}

fn len_u64(b: &[u8]) -> u64 {
    u64::try_from(b.len()).unwrap_or(u64::MAX)
}

fn to_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

thread_local! {
    /// Streams this thread made and has not dropped, and the most at once
    /// since [`Stream::reset_live_peak`], for memory accounting. Per
    /// thread, not process-wide: the workers of `--threads` each make and
    /// drop their own streams, and a shared counter was a cache line both
    /// cores wrote for every TCP flow.
    static LIVE_STREAMS: std::cell::Cell<(isize, isize)> = const { std::cell::Cell::new((0, 0)) };
}

impl Drop for Stream {
    fn drop(&mut self) {
        LIVE_STREAMS.with(|n| {
            let (now, peak) = n.get();
            n.set((now - 1, peak));
        });
    }
}

impl Stream {
    /// Streams alive in this thread (made here and not dropped): what a
    /// memory estimate multiplies by `size_of::<Stream>()`; the bytes they
    /// buffer are in their [`Budget`]. (A stream dropped by another thread
    /// than its maker's makes that thread's count negative; it reads 0.)
    pub fn live() -> usize {
        LIVE_STREAMS.with(|n| usize::try_from(n.get().0).unwrap_or(0))
    }

    /// The most streams alive in this thread at once since
    /// [`Stream::reset_live_peak`].
    pub fn live_peak() -> usize {
        LIVE_STREAMS.with(|n| usize::try_from(n.get().1).unwrap_or(0))
    }

    /// [`Stream::live_peak`] starts again from the streams alive now.
    pub fn reset_live_peak() {
        LIVE_STREAMS.with(|n| {
            let (now, _) = n.get();
            n.set((now, now));
        });
    }

    pub fn new(cfg: ReassemblyConfig) -> Self {
        LIVE_STREAMS.with(|n| {
            let (now, peak) = n.get();
            n.set((now + 1, peak.max(now + 1)));
        });
        Stream {
            cfg,
            started: false,
            base: 0,
            next: 0,
            fin: None,
            segs: BTreeMap::new(),
            seg_bytes: 0,
            hist: VecDeque::new(),
            events: Vec::new(),
            events_lost: 0,
            stats: StreamStats::default(),
        }
    }

    /// Whether the stream start is known (a SYN or a data segment seen).
    pub fn started(&self) -> bool {
        self.started
    }

    /// Offset (bytes since the stream start) of the next byte to deliver.
    pub fn next_offset(&self) -> u64 {
        self.next
    }

    /// The stream offset an acknowledgment number of the other direction
    /// stands for (everything before it was received), or `None` before
    /// the stream start or before the stream is known.
    pub fn ack_offset(&self, ack: u32) -> Option<u64> {
        if !self.started {
            return None;
        }
        u64::try_from(self.offset_of(ack)).ok()
    }

    /// Bytes held by this stream (charged as in the [`Budget`]).
    pub fn buffered(&self) -> usize {
        self.seg_bytes + self.hist.len()
    }

    /// Out-of-order segments held.
    pub fn buffered_segments(&self) -> usize {
        self.segs.len()
    }

    pub fn stats(&self) -> StreamStats {
        self.stats
    }

    /// Events not kept because [`MAX_EVENTS`] were pending.
    pub fn events_lost(&self) -> u64 {
        self.events_lost
    }

    /// Take the events since the last call.
    pub fn drain_events(&mut self) -> impl Iterator<Item = StreamEvent> + '_ {
        self.events.drain(..)
    }

    fn event(&mut self, e: StreamEvent) {
        if self.events.len() < MAX_EVENTS {
            self.events.push(e);
        } else {
            self.events_lost += 1;
        }
    }

    /// Absolute offset of `seq`: the signed 32-bit distance from the next
    /// byte expected (RFC 9293 §3.4, arithmetic modulo 2^32). Negative means
    /// before the stream start.
    fn offset_of(&self, seq: u32) -> i64 {
        // Truncation intended: the low 32 bits of the offset.
        let reference = self.base.wrapping_add(self.next as u32);
        let delta = i64::from(seq.wrapping_sub(reference) as i32);
        i64::try_from(self.next)
            .unwrap_or(i64::MAX)
            .saturating_add(delta)
    }

    /// Feed one segment of this direction. `syn` = the SYN flag (the ISN is
    /// `seq`, data starts at `seq + 1`; a SYN may carry data). The first
    /// segment seen fixes the stream start when no SYN was seen (a stream
    /// picked up mid-way starts at its first data segment's `seq`; empty
    /// segments do not fix it, a keep-alive at `seq - 1` would be off by
    /// one). Newly in-order bytes are passed to `out` as [`Chunk::Data`]
    /// (possibly several calls; zero-copy from the segment when it is
    /// exactly next, from the buffer otherwise).
    pub fn segment(
        &mut self,
        budget: &mut Budget,
        seq: u32,
        syn: bool,
        payload: &[u8],
        out: &mut dyn FnMut(Chunk<'_>),
    ) {
        let data_seq = if syn { seq.wrapping_add(1) } else { seq };
        if !self.started {
            if !syn && payload.is_empty() {
                return;
            }
            self.started = true;
            self.base = data_seq;
        }
        if payload.is_empty() {
            return;
        }
        let start = self.offset_of(data_seq);
        let len = i64::try_from(payload.len()).unwrap_or(i64::MAX);
        if start.saturating_add(len) <= 0 {
            // Entirely before the stream start (older data retransmitted
            // after a mid-stream pickup).
            return;
        }
        let (start, payload) = if start < 0 {
            let cut = usize::try_from(start.unsigned_abs()).unwrap_or(usize::MAX);
            (0u64, payload.get(cut..).unwrap_or(&[]))
        } else {
            (start.unsigned_abs(), payload)
        };
        let end = start.saturating_add(len_u64(payload));
        // Keep-alive: one byte (or none, handled above) at next - 1
        // (RFC 9293 §3.8.4: "a segment with sequence number SEG.SEQ = SND.NXT-1
        // and may or may not contain one garbage octet").
        if !syn && payload.len() == 1 && end == self.next {
            return;
        }
        if start > self.next && start - self.next >= MAX_AHEAD {
            self.stats.dropped_segments += 1;
            self.event(StreamEvent::Dropped {
                offset: start,
                len: to_u32(len_u64(payload)),
            });
            return;
        }
        self.compare_overlaps(start, payload);
        self.place(budget, start, payload, out);
    }

    /// Count the bytes of `[start, start + payload.len())` already delivered
    /// or buffered, and report a conflict when they differ.
    fn compare_overlaps(&mut self, start: u64, payload: &[u8]) {
        let end = start + len_u64(payload);
        let mut retx = 0u64;
        let mut span: Option<(u64, u64)> = None;
        let mut note = |lo: u64, d: Option<(usize, usize)>| {
            if let Some((f, l)) = d {
                let (f, l) = (lo + f as u64, lo + l as u64);
                span = Some(span.map_or((f, l), |(a, b)| (a.min(f), b.max(l))));
            }
        };
        // Already delivered: compare with the history where it still is.
        if start < self.next {
            let hi = end.min(self.next);
            retx += hi - start;
            let hstart = self.next - len_u64_deque(&self.hist);
            let lo = start.max(hstart);
            if lo < hi {
                let (ha, hb) = ((lo - hstart) as usize, (hi - hstart) as usize);
                let (pa, pb) = ((lo - start) as usize, (hi - start) as usize);
                if let Some(p) = payload.get(pa..pb) {
                    note(lo, diff_span(self.hist.range(ha..hb), p.iter()));
                }
            }
        }
        // Buffered: the segment before `start` (may reach into it), then
        // every segment starting inside.
        let before = self.segs.range(..=start).next_back();
        let inside = self.segs.range(start.saturating_add(1)..end.max(start + 1));
        for (&k, v) in before.into_iter().chain(inside) {
            let ke = k + len_u64(v);
            let (lo, hi) = (k.max(start), ke.min(end));
            if lo >= hi {
                continue;
            }
            retx += hi - lo;
            let old = v.get((lo - k) as usize..(hi - k) as usize).unwrap_or(&[]);
            let new = payload
                .get((lo - start) as usize..(hi - start) as usize)
                .unwrap_or(&[]);
            note(lo, diff_span(old.iter(), new.iter()));
        }
        self.stats.retransmitted_bytes += retx;
        if let Some((f, l)) = span {
            self.stats.conflicts += 1;
            self.event(StreamEvent::OverlapConflict {
                offset: f,
                len: to_u32(l - f + 1),
            });
        }
    }

    /// Deliver or buffer the new bytes of a segment (overlaps already
    /// compared; first copy wins).
    fn place(
        &mut self,
        budget: &mut Budget,
        start: u64,
        payload: &[u8],
        out: &mut dyn FnMut(Chunk<'_>),
    ) {
        let end = start + len_u64(payload);
        loop {
            if end <= self.next {
                return;
            }
            if start <= self.next {
                self.deliver_with(budget, start, payload, out);
                return;
            }
            // Ahead of next: buffer the parts not buffered yet.
            let pieces = self.new_pieces(start, end);
            if pieces.is_empty() {
                return;
            }
            let cost: usize = pieces
                .iter()
                .map(|&(a, b)| (b - a) as usize + SEGMENT_OVERHEAD)
                .sum();
            if self.make_room(budget, cost, pieces.len()) {
                for (a, b) in pieces {
                    let bytes = payload
                        .get((a - start) as usize..(b - start) as usize)
                        .unwrap_or(&[]);
                    self.segs.insert(a, bytes.to_vec());
                }
                self.seg_bytes += cost;
                budget.charge(cost);
                self.stats.out_of_order_segments += 1;
                return;
            }
            // A bound is reached: give up the oldest hole (the one before
            // the first buffered segment, or before this segment).
            let target = self.segs.keys().next().map_or(start, |&k| k.min(start));
            self.give_up(budget, target, true, out);
        }
    }

    /// The sub-ranges of `[start, end)` not covered by a buffered segment.
    fn new_pieces(&self, start: u64, end: u64) -> Vec<(u64, u64)> {
        let mut pieces = Vec::new();
        let mut pos = start;
        let before = self.segs.range(..=start).next_back();
        let inside = self.segs.range(start.saturating_add(1)..end.max(start + 1));
        for (&k, v) in before.into_iter().chain(inside) {
            let ke = k + len_u64(v);
            if ke <= pos {
                continue;
            }
            if k > pos {
                pieces.push((pos, k.min(end)));
            }
            pos = pos.max(ke);
            if pos >= end {
                break;
            }
        }
        if pos < end {
            pieces.push((pos, end));
        }
        pieces
    }

    /// Whether `cost` bytes in `count` more segments fit; gives up history
    /// first to make them fit.
    fn make_room(&mut self, budget: &mut Budget, cost: usize, count: usize) -> bool {
        if self.segs.len() + count > self.cfg.max_segments_per_stream {
            return false;
        }
        let per_stream = self.seg_bytes + self.hist.len() + cost;
        if per_stream > self.cfg.max_buffered_per_stream {
            self.trim_history(budget, per_stream - self.cfg.max_buffered_per_stream);
        }
        if !budget.fits(cost) {
            let over = budget.buffered.saturating_add(cost) - budget.max_total;
            self.trim_history(budget, over);
        }
        self.seg_bytes + self.hist.len() + cost <= self.cfg.max_buffered_per_stream
            && budget.fits(cost)
    }

    /// Deliver a segment that starts at or before next, interleaved with
    /// the buffered segments it reaches (buffered bytes win).
    fn deliver_with(
        &mut self,
        budget: &mut Budget,
        start: u64,
        payload: &[u8],
        out: &mut dyn FnMut(Chunk<'_>),
    ) {
        let end = start + len_u64(payload);
        loop {
            let first = self.segs.keys().next().copied();
            if first.is_some_and(|k| k <= self.next) {
                self.pop_first(budget, out);
                continue;
            }
            if self.next < end && self.next >= start {
                let lim = first.map_or(end, |k| k.min(end));
                let (a, b) = ((self.next - start) as usize, (lim - start) as usize);
                let Some(bytes) = payload.get(a..b) else {
                    return;
                };
                self.emit(budget, bytes, out);
                continue;
            }
            return;
        }
    }

    /// Deliver the first buffered segment (its key is at or before next).
    fn pop_first(&mut self, budget: &mut Budget, out: &mut dyn FnMut(Chunk<'_>)) {
        let Some((k, v)) = self.segs.pop_first() else {
            return;
        };
        let cost = v.len() + SEGMENT_OVERHEAD;
        self.seg_bytes = self.seg_bytes.saturating_sub(cost);
        budget.release(cost);
        let skip = usize::try_from(self.next.saturating_sub(k)).unwrap_or(usize::MAX);
        if let Some(rest) = v.get(skip..) {
            if !rest.is_empty() {
                self.emit(budget, rest, out);
            }
        }
    }

    /// Deliver every buffered segment that is in order.
    fn flush(&mut self, budget: &mut Budget, out: &mut dyn FnMut(Chunk<'_>)) {
        while self.segs.keys().next().is_some_and(|&k| k <= self.next) {
            self.pop_first(budget, out);
        }
    }

    fn emit(&mut self, budget: &mut Budget, bytes: &[u8], out: &mut dyn FnMut(Chunk<'_>)) {
        out(Chunk::Data(bytes));
        self.next += len_u64(bytes);
        self.stats.delivered += len_u64(bytes);
        self.remember(budget, bytes);
    }

    /// Skip `[next, target)` as a gap, then deliver what became in order.
    fn give_up(
        &mut self,
        budget: &mut Budget,
        target: u64,
        forced: bool,
        out: &mut dyn FnMut(Chunk<'_>),
    ) {
        if target > self.next {
            let len = target - self.next;
            out(Chunk::Gap(len));
            self.event(StreamEvent::Gap {
                offset: self.next,
                len,
            });
            self.stats.gaps += 1;
            self.stats.gap_bytes += len;
            if forced {
                self.stats.forced_gaps += 1;
                budget.forced_gaps += 1;
            }
            self.next = target;
            // The history must end at next.
            self.clear_history(budget);
        }
        self.flush(budget, out);
    }

    /// The largest history this stream may keep.
    fn history_limit(&self) -> usize {
        HISTORY_MAX.min(self.cfg.max_buffered_per_stream / 16)
    }

    /// Append delivered bytes to the history, within every bound.
    fn remember(&mut self, budget: &mut Budget, bytes: &[u8]) {
        let limit = self.history_limit();
        let room_stream = self
            .cfg
            .max_buffered_per_stream
            .saturating_sub(self.seg_bytes);
        let keep_max = limit.min(room_stream);
        if keep_max == 0 {
            self.clear_history(budget);
            return;
        }
        let bytes = &bytes[bytes.len().saturating_sub(keep_max)..];
        // Make room in our own history first.
        let excess = (self.hist.len() + bytes.len()).saturating_sub(keep_max);
        self.trim_history(budget, excess);
        // Then within the budget: history may use a quarter of it.
        let hist_cap = budget.max_total / 4;
        let global_room = hist_cap
            .saturating_sub(budget.history)
            .min(budget.max_total.saturating_sub(budget.buffered));
        if bytes.len() > global_room {
            let need = bytes.len() - global_room;
            self.trim_history(budget, need);
            let global_room = hist_cap
                .saturating_sub(budget.history)
                .min(budget.max_total.saturating_sub(budget.buffered));
            if bytes.len() > global_room {
                // Cannot keep them: the history must stay contiguous.
                self.clear_history(budget);
                return;
            }
        }
        // A slice extends a `VecDeque<u8>` by copying it whole (an
        // iterator of copied bytes went byte by byte).
        self.hist.extend(bytes);
        budget.charge(bytes.len());
        budget.history += bytes.len();
    }

    fn trim_history(&mut self, budget: &mut Budget, n: usize) {
        let n = n.min(self.hist.len());
        if n == 0 {
            return;
        }
        if n == self.hist.len() {
            self.clear_history(budget);
            return;
        }
        self.hist.drain(..n);
        budget.release(n);
        budget.history = budget.history.saturating_sub(n);
    }

    fn clear_history(&mut self, budget: &mut Budget) {
        let n = self.hist.len();
        budget.release(n);
        budget.history = budget.history.saturating_sub(n);
        self.hist.clear();
        if self.hist.capacity() > 4096 {
            self.hist = VecDeque::new();
        }
    }

    /// The segment carrying the FIN flag: its `seq`, `syn` flag and payload
    /// length, as given to [`Stream::segment`]. The FIN occupies the
    /// sequence number after the data; knowing it keeps [`Stream::ack`] from
    /// taking the ACK of the FIN for a missing byte, and lets
    /// [`Stream::finish`] report a missing tail as a gap.
    pub fn fin(&mut self, seq: u32, syn: bool, payload_len: usize) {
        if !self.started {
            return;
        }
        let data_seq = if syn { seq.wrapping_add(1) } else { seq };
        // Truncation intended: sequence arithmetic is modulo 2^32.
        let fin_seq = data_seq.wrapping_add(payload_len as u32);
        let off = self.offset_of(fin_seq);
        if off >= 0 && off.unsigned_abs() < self.next.saturating_add(MAX_AHEAD) {
            self.fin = Some(off.unsigned_abs());
        }
    }

    /// The peer acknowledged up to `ack` (the other direction's ACK field):
    /// bytes of this stream below `ack` that were never seen will not come
    /// any more in a capture (the receiver had them): deliver a
    /// [`Chunk::Gap`] for them and everything buffered behind them that
    /// becomes in order. Acts only when `ack` is ahead of next expected and
    /// less than [`MAX_AHEAD`] ahead. Also frees the history below `ack`.
    ///
    /// The ACK of a FIN is one past the data: when the FIN was not reported
    /// through [`Stream::fin`], an ACK exactly one past next with nothing
    /// buffered is taken for it, not for a missing byte.
    pub fn ack(&mut self, budget: &mut Budget, ack: u32, out: &mut dyn FnMut(Chunk<'_>)) {
        if !self.started {
            return;
        }
        let off = self.offset_of(ack);
        if off < 0 {
            return;
        }
        let mut target = off.unsigned_abs();
        // Acknowledged history: the receiver has it.
        let hstart = self.next - len_u64_deque(&self.hist);
        if target > hstart {
            let n = usize::try_from(target.min(self.next) - hstart).unwrap_or(usize::MAX);
            self.trim_history(budget, n);
        }
        if target <= self.next || target - self.next >= MAX_AHEAD {
            return;
        }
        match self.fin {
            Some(f) => target = target.min(f),
            None => {
                if target == self.next + 1 && self.segs.is_empty() {
                    return;
                }
            }
        }
        while self.next < target {
            let to = self.segs.keys().next().map_or(target, |&k| k.min(target));
            self.give_up(budget, to, false, out);
        }
        self.flush(budget, out);
    }

    /// The stream ended (FIN, RST, flow end): deliver every buffered segment
    /// in order, with [`Chunk::Gap`] for the holes (and for a missing tail
    /// before a FIN reported through [`Stream::fin`]); free all buffers.
    pub fn finish(&mut self, budget: &mut Budget, out: &mut dyn FnMut(Chunk<'_>)) {
        while let Some(&k) = self.segs.keys().next() {
            self.give_up(budget, k, false, out);
        }
        if let Some(f) = self.fin {
            if f > self.next && f - self.next < MAX_AHEAD {
                self.give_up(budget, f, false, out);
            }
        }
        self.clear_history(budget);
        self.hist = VecDeque::new();
    }

    /// Free every buffer without delivering anything (the flow is evicted
    /// and nobody wants its data).
    pub fn discard(&mut self, budget: &mut Budget) {
        budget.release(self.seg_bytes);
        self.seg_bytes = 0;
        self.segs.clear();
        self.clear_history(budget);
        self.hist = VecDeque::new();
    }
}

fn len_u64_deque(d: &VecDeque<u8>) -> u64 {
    u64::try_from(d.len()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream, its budget, and what it delivered.
    struct H {
        s: Stream,
        b: Budget,
        /// Delivered data bytes, gaps left out.
        data: Vec<u8>,
        /// (offset, len) of every gap delivered.
        gaps: Vec<(u64, u64)>,
        /// (offset, byte) checks: every data byte with its stream offset.
        pos: u64,
        chunks: usize,
        isn: u32,
    }

    impl H {
        fn new(cfg: ReassemblyConfig, total: usize) -> H {
            H {
                s: Stream::new(cfg),
                b: Budget::new(total),
                data: Vec::new(),
                gaps: Vec::new(),
                pos: 0,
                chunks: 0,
                isn: 0,
            }
        }

        fn dflt() -> H {
            H::new(ReassemblyConfig::default(), 256 << 20)
        }

        /// A stream with a SYN at `isn`: offset `o` is sequence `isn + 1 + o`.
        fn syn(isn: u32) -> H {
            let mut h = H::dflt();
            h.isn = isn;
            h.seg_raw(isn, true, &[]);
            h
        }

        fn sink<'a>(
            data: &'a mut Vec<u8>,
            gaps: &'a mut Vec<(u64, u64)>,
            pos: &'a mut u64,
            chunks: &'a mut usize,
        ) -> impl FnMut(Chunk<'_>) + 'a {
            move |c| {
                *chunks += 1;
                match c {
                    Chunk::Data(d) => {
                        assert!(!d.is_empty(), "empty data chunk");
                        data.extend_from_slice(d);
                        *pos += d.len() as u64;
                    }
                    Chunk::Gap(n) => {
                        assert!(n > 0, "empty gap");
                        gaps.push((*pos, n));
                        *pos += n;
                    }
                }
            }
        }

        fn seg_raw(&mut self, seq: u32, syn: bool, payload: &[u8]) {
            let mut f = H::sink(
                &mut self.data,
                &mut self.gaps,
                &mut self.pos,
                &mut self.chunks,
            );
            self.s.segment(&mut self.b, seq, syn, payload, &mut f);
            drop(f);
            self.check();
        }

        /// Data at stream offset `off` (relative to the SYN's ISN).
        fn seg(&mut self, off: u64, payload: &[u8]) {
            let seq = self.isn.wrapping_add(1).wrapping_add(off as u32);
            self.seg_raw(seq, false, payload);
        }

        fn ack_off(&mut self, off: u64) {
            let seq = self.isn.wrapping_add(1).wrapping_add(off as u32);
            self.ack_raw(seq);
        }

        fn ack_raw(&mut self, ack: u32) {
            let mut f = H::sink(
                &mut self.data,
                &mut self.gaps,
                &mut self.pos,
                &mut self.chunks,
            );
            self.s.ack(&mut self.b, ack, &mut f);
            drop(f);
            self.check();
        }

        fn finish(&mut self) {
            let mut f = H::sink(
                &mut self.data,
                &mut self.gaps,
                &mut self.pos,
                &mut self.chunks,
            );
            self.s.finish(&mut self.b, &mut f);
            drop(f);
            self.check();
            assert_eq!(self.s.buffered(), 0);
            assert_eq!(self.s.buffered_segments(), 0);
        }

        fn check(&self) {
            assert_eq!(self.pos, self.s.next_offset(), "output matches next_offset");
            assert!(self.s.buffered() <= self.s.cfg.max_buffered_per_stream);
            assert!(self.s.buffered_segments() <= self.s.cfg.max_segments_per_stream);
            assert!(self.b.buffered() <= self.b.max_total());
        }

        fn events(&mut self) -> Vec<StreamEvent> {
            self.s.drain_events().collect()
        }
    }

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn in_order_is_zero_copy_and_counted() {
        let mut h = H::syn(1000);
        assert!(h.s.started());
        h.seg(0, b"hello");
        h.seg(5, b" world");
        assert_eq!(h.data, b"hello world");
        assert_eq!(h.chunks, 2);
        assert_eq!(h.s.next_offset(), 11);
        assert_eq!(h.s.buffered(), h.s.hist.len()); // only history
        let st = h.s.stats();
        assert_eq!(st.delivered, 11);
        assert_eq!(st.out_of_order_segments, 0);
        assert_eq!(st.retransmitted_bytes, 0);
        assert!(h.events().is_empty());
        h.finish();
        assert_eq!(h.b.buffered(), 0);
        assert!(h.gaps.is_empty());
    }

    fn permutations(n: usize) -> Vec<Vec<usize>> {
        if n == 0 {
            return vec![vec![]];
        }
        let mut all = Vec::new();
        for p in permutations(n - 1) {
            for i in 0..=p.len() {
                let mut q = p.clone();
                q.insert(i, n - 1);
                all.push(q);
            }
        }
        all
    }

    #[test]
    fn out_of_order_every_permutation_of_five() {
        let text = pattern(20);
        let perms = permutations(5);
        assert_eq!(perms.len(), 120);
        for p in perms {
            let mut h = H::syn(0x8000_0000);
            for &i in &p {
                h.seg(i as u64 * 4, &text[i * 4..i * 4 + 4]);
            }
            assert_eq!(h.data, text, "order {p:?}");
            assert_eq!(h.s.buffered_segments(), 0);
            assert_eq!(h.s.stats().retransmitted_bytes, 0);
            // Everything out of order is counted, in order is not.
            let ooo = h.s.stats().out_of_order_segments;
            assert!(ooo <= 4);
            assert_eq!(ooo == 0, p == [0, 1, 2, 3, 4]);
            h.finish();
            assert_eq!(h.b.buffered(), 0);
        }
    }

    #[test]
    fn reverse_order_buffers_then_delivers_at_once() {
        let text = pattern(1000);
        let mut h = H::syn(7);
        for i in (0..10).rev() {
            h.seg(i * 100, &text[i as usize * 100..(i as usize + 1) * 100]);
            if i > 0 {
                assert!(h.data.is_empty());
                assert_eq!(h.s.buffered_segments(), 10 - i as usize);
                assert_eq!(h.s.buffered(), (10 - i as usize) * (100 + SEGMENT_OVERHEAD));
                assert_eq!(h.b.buffered(), h.s.buffered());
            }
        }
        assert_eq!(h.data, text);
        assert_eq!(h.s.stats().out_of_order_segments, 9);
        assert_eq!(h.s.buffered_segments(), 0);
        // Peak: nine buffered segments plus the first 100 bytes delivered
        // (kept as history) before the buffered ones were released.
        assert_eq!(h.b.peak(), 9 * (100 + SEGMENT_OVERHEAD) + 100);
    }

    #[test]
    fn identical_retransmissions_only_count_bytes() {
        let mut h = H::syn(5);
        h.seg(0, b"abcdef");
        h.seg(0, b"abcdef"); // delivered already
        h.seg(2, b"cd");
        h.seg(10, b"klmn"); // buffered
        h.seg(10, b"klmn");
        h.seg(8, b"ijklm"); // overlaps the buffered one
        assert_eq!(h.data, b"abcdef");
        h.seg(6, b"gh");
        assert_eq!(h.data, b"abcdefghijklmn");
        let st = h.s.stats();
        assert_eq!(st.retransmitted_bytes, 6 + 2 + 4 + 3);
        assert_eq!(st.conflicts, 0);
        assert!(h.events().is_empty());
    }

    /// Buffered "BBBB" at 10..14 and "DDDD" at 20..24, hole before.
    fn two_buffered() -> H {
        let mut h = H::syn(100);
        h.seg(0, b"0123456789");
        h.seg(10 + 4, b"");
        h.seg(14, b"EFGH"); // buffered 14..18
        h.seg(20, b"KLMN"); // buffered 20..24
        assert_eq!(h.s.buffered_segments(), 2);
        h
    }

    #[test]
    fn overlap_at_start_of_buffered_segment() {
        let mut h = two_buffered();
        // 12..16: new 12..14, conflicting 14..16 ("xx" vs "EF").
        h.seg(12, b"cdxx");
        assert_eq!(
            h.events(),
            [StreamEvent::OverlapConflict { offset: 14, len: 2 }]
        );
        h.seg(10, b"ab");
        assert_eq!(&h.data[10..], b"abcdEFGH");
        assert_eq!(h.s.stats().conflicts, 1);
        assert_eq!(h.s.stats().retransmitted_bytes, 2);
    }

    #[test]
    fn overlap_at_end_of_buffered_segment() {
        let mut h = two_buffered();
        // 16..20: conflicting 16..18 ("zH" vs "GH": only byte 16 differs).
        h.seg(16, b"zHIJ");
        assert_eq!(
            h.events(),
            [StreamEvent::OverlapConflict { offset: 16, len: 1 }]
        );
        h.seg(10, b"abcd");
        assert_eq!(&h.data[10..], b"abcdEFGHIJKLMN");
    }

    #[test]
    fn overlap_inside_buffered_segment() {
        let mut h = two_buffered();
        h.seg(15, b"xy"); // inside 14..18
        assert_eq!(
            h.events(),
            [StreamEvent::OverlapConflict { offset: 15, len: 2 }]
        );
        h.seg(15, b"FG"); // identical: no event
        assert!(h.events().is_empty());
        assert_eq!(h.s.buffered_segments(), 2);
        h.seg(10, b"abcd");
        assert_eq!(&h.data[10..], b"abcdEFGH");
        assert_eq!(h.s.stats().conflicts, 1);
        assert_eq!(h.s.stats().retransmitted_bytes, 4);
    }

    #[test]
    fn overlap_spanning_several_buffered_segments() {
        let mut h = two_buffered();
        // 12..26 covers both buffered segments and the holes around them.
        h.seg(12, b"cd____IJ____yz");
        assert_eq!(
            h.events(),
            [StreamEvent::OverlapConflict {
                offset: 14,
                len: 10
            }]
        );
        assert_eq!(h.s.stats().retransmitted_bytes, 8);
        // The holes were filled from the new segment: 12..14, 18..20, 24..26.
        assert_eq!(h.s.buffered_segments(), 5);
        h.seg(10, b"ab");
        assert_eq!(&h.data[10..], b"abcdEFGHIJKLMNyz");
        assert_eq!(h.s.buffered_segments(), 0);
    }

    #[test]
    fn overlap_with_delivered_data_uses_history() {
        let mut h = H::syn(100);
        h.seg(0, b"GET /index.html");
        h.seg(4, b"/evil");
        assert_eq!(
            h.events(),
            [StreamEvent::OverlapConflict { offset: 5, len: 4 }]
        );
        // Straddling next: the old part is compared, the new part delivered.
        h.seg(10, b".html HTTP");
        assert!(h.events().is_empty());
        h.seg(12, b"XX");
        assert_eq!(h.events().len(), 1);
        assert_eq!(h.data, b"GET /index.html HTTP");
        // Once acknowledged, the history is released: no comparison.
        h.ack_off(20);
        assert_eq!(h.s.buffered(), 0);
        h.seg(0, b"POST");
        assert!(h.events().is_empty());
        assert_eq!(h.s.stats().conflicts, 2);
        assert_eq!(h.s.stats().retransmitted_bytes, 5 + 5 + 2 + 4);
    }

    #[test]
    fn overlap_of_new_segment_before_and_into_next() {
        // A segment starting before next, spanning a buffered segment with
        // different bytes: delivered in one pass, buffered bytes win.
        let mut h = H::syn(0);
        h.seg(0, b"aaaa");
        h.seg(6, b"BB");
        h.seg(2, b"aaccxxdd");
        assert_eq!(h.data, b"aaaaccBBdd");
        assert_eq!(
            h.events(),
            [StreamEvent::OverlapConflict { offset: 6, len: 2 }]
        );
    }

    #[test]
    fn wrap_around_isn_near_top() {
        let text = pattern(300);
        let isn = u32::MAX - 5;
        let mut h = H::syn(isn);
        // Data starts at isn + 1 = 2^32 - 5 and crosses 0.
        h.seg(0, &text[..100]);
        assert_eq!(h.s.next_offset(), 100);
        // Out of order across the wrap, by raw sequence numbers.
        h.seg_raw(195, false, &text[200..300]);
        h.seg_raw(95, false, &text[100..200]);
        assert_eq!(h.data, text);
        // Ack by raw sequence number across the wrap.
        h.ack_raw(295);
        assert_eq!(h.s.buffered(), 0);
        assert!(h.gaps.is_empty());
    }

    #[test]
    fn long_stream_crosses_the_wrap_several_times() {
        let mut h = H::syn(123);
        let step: u64 = 1 << 29;
        for i in 1..=20u64 {
            // Each ack skips 2^29 bytes the capture missed, then one byte.
            h.ack_off(i * step - 1);
            h.seg(i * step - 1, &[i as u8]);
        }
        assert_eq!(h.s.next_offset(), 20 * step);
        assert_eq!(h.data, (1..=20u8).collect::<Vec<_>>());
        assert_eq!(h.s.stats().gaps, 20);
        assert!(h.s.next_offset() > 2 * (1u64 << 32));
    }

    #[test]
    fn picked_up_mid_stream() {
        let mut h = H::dflt();
        h.seg_raw(50_000, false, b"");
        assert!(!h.s.started(), "an empty segment does not fix the start");
        h.seg_raw(50_000, false, b"middle");
        assert!(h.s.started());
        assert_eq!(h.data, b"middle");
        // Older data, entirely before the start: ignored.
        h.seg_raw(49_000, false, b"old");
        // Straddling the start: only the part from the start counts.
        h.seg_raw(49_990, false, b"0123456789middle and more");
        assert_eq!(h.data, b"middle and more");
        assert_eq!(h.s.stats().retransmitted_bytes, 6);
        assert!(h.events().is_empty());
        // A sequence number 2^31 + 1 behind is "before the start" too.
        h.seg_raw(50_000u32.wrapping_sub(0x8000_0001), false, b"zz");
        assert_eq!(h.data, b"middle and more");
    }

    #[test]
    fn syn_with_data() {
        let mut h = H::dflt();
        h.seg_raw(4000, true, b"GET ");
        assert_eq!(h.data, b"GET ");
        h.seg_raw(4005, false, b"/ HTTP/1.1");
        assert_eq!(h.data, b"GET / HTTP/1.1");
        // Retransmitted SYN with the same data.
        h.seg_raw(4000, true, b"GET ");
        assert_eq!(h.data, b"GET / HTTP/1.1");
        assert_eq!(h.s.stats().retransmitted_bytes, 4);
        // The SYN's own ack (ISN + 1) acknowledges nothing new.
        h.ack_raw(4001);
        assert!(h.gaps.is_empty());
    }

    #[test]
    fn data_before_the_syn_in_the_capture() {
        let mut h = H::dflt();
        h.seg_raw(4001, false, b"abc");
        h.seg_raw(4000, true, b"");
        h.seg_raw(4004, false, b"def");
        assert_eq!(h.data, b"abcdef");
    }

    #[test]
    fn gaps_delivered_on_finish() {
        let mut h = H::syn(1);
        h.seg(0, b"ab");
        h.seg(10, b"kl");
        h.seg(20, b"uv");
        h.seg(12, b"mn");
        assert_eq!(h.data, b"ab");
        h.finish();
        assert_eq!(h.data, b"abklmnuv");
        assert_eq!(h.gaps, [(2, 8), (14, 6)]);
        assert_eq!(
            h.events(),
            [
                StreamEvent::Gap { offset: 2, len: 8 },
                StreamEvent::Gap { offset: 14, len: 6 }
            ]
        );
        let st = h.s.stats();
        assert_eq!((st.gaps, st.gap_bytes, st.forced_gaps), (2, 14, 0));
        assert_eq!(h.b.buffered(), 0);
    }

    #[test]
    fn finish_reports_missing_tail_before_fin() {
        let mut h = H::syn(1);
        h.seg(0, b"abc");
        // FIN segment carrying 2 bytes at offset 8: 3..8 never seen.
        h.seg(8, b"ij");
        h.s.fin(h.isn.wrapping_add(9), false, 2);
        h.finish();
        assert_eq!(h.data, b"abcij");
        assert_eq!(h.gaps, [(3, 5)]);
        assert_eq!(h.s.next_offset(), 10);
    }

    #[test]
    fn gaps_delivered_on_ack() {
        let mut h = H::syn(1);
        h.seg(0, b"ab");
        h.seg(5, b"fg");
        h.seg(9, b"j");
        // Ack inside the first hole: gap up to it only.
        h.ack_off(3);
        assert_eq!(h.gaps, [(2, 1)]);
        // Ack past the first buffered segment: gap 3..5, deliver fg, gap 7..9, deliver j.
        h.ack_off(10);
        assert_eq!(h.data, b"abfgj");
        assert_eq!(h.gaps, [(2, 1), (3, 2), (7, 2)]);
        // Ack behind next or absurdly far ahead: ignored.
        h.ack_off(4);
        h.ack_off(10 + MAX_AHEAD);
        assert_eq!(h.s.next_offset(), 10);
        // Ack of a FIN (one past the data, nothing buffered): not a gap.
        h.ack_off(11);
        assert_eq!(h.s.next_offset(), 10);
        // With the FIN known, an ack past it is clamped to it.
        h.seg(10, b"k");
        h.s.fin(h.isn.wrapping_add(1 + 13), false, 0);
        h.ack_off(14);
        assert_eq!(h.gaps.last(), Some(&(11, 2)));
        assert_eq!(h.s.next_offset(), 13);
        assert_eq!(h.s.stats().forced_gaps, 0);
    }

    #[test]
    fn ack_before_start_is_ignored() {
        let mut h = H::dflt();
        h.ack_raw(12345);
        assert!(!h.s.started());
        assert_eq!(h.s.next_offset(), 0);
    }

    #[test]
    fn zero_length_segments_change_nothing() {
        let mut h = H::syn(10);
        h.seg(0, b"abc");
        let before = h.s.stats();
        for off in [0u64, 3, 4, 100, MAX_AHEAD * 2] {
            h.seg(off, b"");
        }
        assert_eq!(h.s.stats(), before);
        assert_eq!(h.data, b"abc");
        assert!(h.events().is_empty());
        assert_eq!(h.s.buffered_segments(), 0);
    }

    #[test]
    fn keepalive_at_seq_minus_one_is_ignored() {
        let mut h = H::syn(10);
        h.seg(0, b"abc");
        // One garbage byte at next - 1 (differs from 'c').
        h.seg(2, &[0]);
        h.seg(2, b"");
        assert!(h.events().is_empty());
        assert_eq!(h.s.stats().retransmitted_bytes, 0);
        h.seg(3, b"d");
        assert_eq!(h.data, b"abcd");
    }

    #[test]
    fn absurd_seq_jumps_are_dropped_without_allocating() {
        let mut h = H::syn(10);
        h.seg(0, b"abc");
        h.seg(3 + MAX_AHEAD, &[1; 1000]);
        h.seg(3 + (1u64 << 31) - 1, &[1; 1000]);
        assert_eq!(h.s.buffered_segments(), 0);
        assert_eq!(h.s.buffered(), h.s.hist.len());
        let st = h.s.stats();
        assert_eq!(st.dropped_segments, 2);
        assert_eq!(
            h.events(),
            [
                StreamEvent::Dropped {
                    offset: 3 + MAX_AHEAD,
                    len: 1000
                },
                StreamEvent::Dropped {
                    offset: 3 + (1u64 << 31) - 1,
                    len: 1000
                }
            ]
        );
        // Just below the limit is buffered (sparse: no hole allocated).
        h.seg(3 + MAX_AHEAD - 1, b"x");
        assert_eq!(h.s.buffered_segments(), 1);
        assert_eq!(h.s.buffered(), h.s.hist.len() + 1 + SEGMENT_OVERHEAD);
        // The stream goes on.
        h.seg(3, b"d");
        assert_eq!(h.data, b"abcd");
    }

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        fn below(&mut self, n: u64) -> u64 {
            if n == 0 {
                0
            } else {
                self.next() % n
            }
        }
    }

    /// Output bytes must be the original bytes at their offsets.
    fn assert_consistent(h: &H, text: &[u8]) {
        let mut data = h.data.iter();
        let mut gaps = h.gaps.iter().peekable();
        let mut off = 0u64;
        while off < h.pos {
            if let Some(&&(g, n)) = gaps.peek() {
                if g == off {
                    off += n;
                    gaps.next();
                    continue;
                }
            }
            assert_eq!(data.next(), Some(&text[off as usize]), "byte at {off}");
            off += 1;
        }
    }

    #[test]
    fn memory_bound_per_stream_with_hole_at_start() {
        let cfg = ReassemblyConfig {
            max_buffered_per_stream: 64 * 1024,
            max_segments_per_stream: 2048,
            max_buffered_total: 256 << 20,
        };
        let mut h = H::new(cfg, 256 << 20);
        h.seg_raw(0, true, b"");
        let seg = 100usize;
        let n = 100_000usize;
        let text = pattern(seg * n);
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        // Segment 0 never comes; the others arrive shuffled in blocks of 64.
        let mut order: Vec<usize> = (1..n).collect();
        for block in order.chunks_mut(64) {
            for i in (1..block.len()).rev() {
                block.swap(i, rng.below(i as u64 + 1) as usize);
            }
        }
        for &i in &order {
            h.seg((i * seg) as u64, &text[i * seg..(i + 1) * seg]);
            assert!(h.s.buffered() <= 64 * 1024);
        }
        // Once the bound was hit the hole was given up, and data flowed.
        assert!(h.data.len() > (n - 1000) * seg);
        assert_eq!(h.gaps[0], (0, seg as u64));
        let ev = h.events();
        assert!(ev.contains(&StreamEvent::Gap {
            offset: 0,
            len: seg as u64
        }));
        assert!(h.s.stats().forced_gaps >= 1);
        assert_eq!(h.b.forced_gaps(), h.s.stats().forced_gaps);
        assert!(h.b.peak() <= 64 * 1024);
        assert_consistent(&h, &text);
        h.finish();
        assert_consistent(&h, &text);
        assert_eq!(h.s.next_offset(), (seg * n) as u64);
        let st = h.s.stats();
        assert_eq!(st.delivered + st.gap_bytes, (seg * n) as u64);
        assert_eq!(h.b.buffered(), 0);
    }

    #[test]
    fn memory_bound_on_segment_count() {
        let cfg = ReassemblyConfig {
            max_segments_per_stream: 16,
            ..ReassemblyConfig::default()
        };
        let mut h = H::new(cfg, 1 << 30);
        h.seg_raw(0, true, b"");
        let text = pattern(10_000);
        // Every other byte, a hole each time: the count bound is what bites.
        for i in (1..10_000).step_by(2) {
            h.seg(i as u64, &text[i..i + 1]);
            assert!(h.s.buffered_segments() <= 16);
        }
        assert!(h.s.stats().forced_gaps > 100);
        assert_consistent(&h, &text);
        h.finish();
        assert_consistent(&h, &text);
        assert_eq!(h.s.stats().delivered, 5000);
    }

    #[test]
    fn memory_bound_total_across_streams() {
        let total = 200 * 1024;
        let cfg = ReassemblyConfig {
            max_buffered_total: total,
            ..ReassemblyConfig::default()
        };
        let mut budget = Budget::new(cfg.max_buffered_total);
        let mut streams: Vec<Stream> = (0..8).map(|_| Stream::new(cfg)).collect();
        let text = pattern(1000 * 1000);
        let mut outs = vec![Vec::<u8>::new(); 8];
        for s in streams.iter_mut() {
            s.segment(&mut budget, 0, true, b"", &mut |_| {});
        }
        // Each stream: segment 0 missing, 999 segments of 1000 bytes.
        for i in 1..1000usize {
            for (k, s) in streams.iter_mut().enumerate() {
                let out = &mut outs[k];
                s.segment(
                    &mut budget,
                    1 + (i * 1000) as u32,
                    false,
                    &text[i * 1000..(i + 1) * 1000],
                    &mut |c| {
                        if let Chunk::Data(d) = c {
                            out.extend_from_slice(d)
                        }
                    },
                );
                assert!(budget.buffered() <= total);
                assert!(s.buffered() <= cfg.max_buffered_per_stream);
            }
        }
        assert!(budget.peak() <= total);
        assert!(budget.forced_gaps() >= 8);
        let sum: usize = streams.iter().map(Stream::buffered).sum();
        assert_eq!(sum, budget.buffered());
        for (k, s) in streams.iter_mut().enumerate() {
            let out = &mut outs[k];
            s.finish(&mut budget, &mut |c| {
                if let Chunk::Data(d) = c {
                    out.extend_from_slice(d)
                }
            });
            assert_eq!(out.as_slice(), &text[1000..]);
            assert!(s.drain_events().any(|e| e
                == StreamEvent::Gap {
                    offset: 0,
                    len: 1000
                }));
        }
        assert_eq!(budget.buffered(), 0);
    }

    #[test]
    fn discard_releases_the_budget() {
        let mut h = H::syn(0);
        h.seg(0, b"abc");
        h.seg(10, b"xyz");
        assert!(h.b.buffered() > 0);
        h.s.discard(&mut h.b);
        assert_eq!(h.b.buffered(), 0);
        assert_eq!(h.s.buffered(), 0);
    }

    #[test]
    fn events_are_bounded() {
        let mut h = H::syn(0);
        h.seg(0, b"a");
        for i in 0..(MAX_EVENTS as u64 + 10) {
            h.seg(2 + 2 * i, b"x");
            h.seg(2 + 2 * i, b"y");
        }
        assert_eq!(h.s.stats().conflicts, MAX_EVENTS as u64 + 10);
        assert_eq!(h.events().len(), MAX_EVENTS);
        assert_eq!(h.s.events_lost(), 10);
        assert!(h.events().is_empty());
    }

    /// Random segmentation + random order + random duplication of a known
    /// byte string: with nothing lost, the output is the string exactly.
    #[test]
    fn property_random_segmentation_order_duplication() {
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        // (A 1-byte duplicate ending at next is a keep-alive, not counted,
        // so retransmissions are checked over all cases.)
        let mut retransmitted = 0u64;
        for case in 0..4000 {
            let len = 1 + rng.below(if case % 10 == 0 { 20_000 } else { 2_000 }) as usize;
            let text: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            // ISNs near the wrap half of the time.
            let isn = if case % 2 == 0 {
                u32::MAX - rng.below(3_000) as u32
            } else {
                rng.next() as u32
            };
            let max_seg = 1 + rng.below(300) as usize;
            let mut segs: Vec<(usize, usize)> = Vec::new();
            let mut pos = 0;
            while pos < len {
                let n = (1 + rng.below(max_seg as u64) as usize).min(len - pos);
                segs.push((pos, pos + n));
                pos += n;
            }
            // Duplicates, some re-segmented differently (overlapping).
            let dups = rng.below(segs.len() as u64 + 1);
            for _ in 0..dups {
                let a = rng.below(len as u64) as usize;
                let b = (a + 1 + rng.below(2 * max_seg as u64) as usize).min(len);
                segs.push((a, b));
            }
            for i in (1..segs.len()).rev() {
                segs.swap(i, rng.below(i as u64 + 1) as usize);
            }
            // Bounds large enough that nothing is given up (1-byte
            // segments of 20 kB exceed the default 2048-segment bound).
            let cfg = ReassemblyConfig {
                max_buffered_per_stream: 16 << 20,
                max_segments_per_stream: 1 << 16,
                max_buffered_total: 1 << 30,
            };
            let mut h = H::new(cfg, 1 << 30);
            h.isn = isn;
            // A SYN first, or (mid-stream pickup) the first segment first.
            let syn_mode = rng.below(3);
            match syn_mode {
                0 => h.seg_raw(isn, true, b""),
                1 => {
                    let n = segs.iter().find(|s| s.0 == 0).map_or(1, |s| s.1);
                    h.seg_raw(isn, true, &text[..n]);
                }
                _ => {
                    let i = segs.iter().position(|s| s.0 == 0).unwrap_or(0);
                    let s0 = segs.remove(i);
                    h.seg(0, &text[s0.0..s0.1]);
                }
            }
            for (k, &(a, b)) in segs.iter().enumerate() {
                h.seg(a as u64, &text[a..b]);
                if k % 7 == 0 {
                    // Acks of what was delivered release history only.
                    let done = h.s.next_offset();
                    h.ack_off(done - rng.below(done + 1));
                }
            }
            if h.data != text {
                let m = h.data.iter().zip(&text).position(|(a, b)| a != b);
                panic!(
                    "case {case} isn {isn} mode {syn_mode} len {} got {} first diff {m:?} segs {segs:?}",
                    text.len(),
                    h.data.len()
                );
            }
            assert!(h.gaps.is_empty(), "case {case}");
            assert_eq!(h.s.buffered_segments(), 0, "case {case}");
            let st = h.s.stats();
            assert_eq!(st.conflicts, 0, "case {case}");
            assert_eq!(st.forced_gaps, 0, "case {case}");
            retransmitted += st.retransmitted_bytes;
            assert_eq!(st.delivered, len as u64);
            h.finish();
            assert!(h.gaps.is_empty());
            assert_eq!(h.b.buffered(), 0);
        }
        assert!(retransmitted > 100_000);
    }

    /// Same with tight bounds: bytes may be given up, but the output stays
    /// in order, consistent with the original, and within the bounds.
    #[test]
    fn property_tight_bounds_stay_consistent() {
        let mut rng = XorShift(0xdead_beef_cafe_f00d);
        for case in 0..1000 {
            let cfg = ReassemblyConfig {
                max_buffered_per_stream: 200 + rng.below(4000) as usize,
                max_segments_per_stream: 1 + rng.below(20) as usize,
                max_buffered_total: 1 << 30,
            };
            let total = 300 + rng.below(6000) as usize;
            let len = 1 + rng.below(5_000) as usize;
            let text: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let mut segs: Vec<(usize, usize)> = Vec::new();
            let mut pos = 0;
            while pos < len {
                let n = (1 + rng.below(200) as usize).min(len - pos);
                segs.push((pos, pos + n));
                pos += n;
            }
            for i in (1..segs.len()).rev() {
                segs.swap(i, rng.below(i as u64 + 1) as usize);
            }
            let mut h = H::new(cfg, total);
            h.isn = rng.next() as u32;
            h.seg_raw(h.isn, true, b"");
            for &(a, b) in &segs {
                h.seg(a as u64, &text[a..b]);
            }
            h.finish();
            assert_consistent(&h, &text);
            let st = h.s.stats();
            assert_eq!(st.delivered + st.gap_bytes, len as u64, "case {case}");
            assert_eq!(st.conflicts, 0);
            assert_eq!(h.b.buffered(), 0);
        }
    }
}
