//! `--threads N` on a capture file: every worker reads the whole file.
//!
//! With one reader thread handing frames to the workers (the parent
//! module's [`run_reader_sharded`](super::run_reader_sharded)), two cores
//! gave `flows` no gain at all on the benchmark capture: the reader spent
//! a third of its time in `read` and a fifth copying frames into batches,
//! and the workers ran half as fast again as one thread on the same work,
//! because every frame they touched had been written by the other core.
//!
//! A regular, uncompressed file can be read again, so here each worker
//! opens it, reads every record, decodes just enough of each frame to
//! choose its worker ([`shard_of`]), and handles its own frames. Reading
//! and choosing are done N times, but they are the cheap part, no byte
//! crosses between cores on the way in, and no thread stands between the
//! file and the workers. Every worker sees every frame, so each knows the
//! capture's time and frame numbers itself: the frame numbers, uids and
//! flow expiry are those of one pipeline, as in the parent module, and
//! the [`Merger`](super::Merger) orders the output the same way.
//!
//! The calling thread only takes the workers' output (and runs the
//! caller's sink on it). Workers that run ahead of the slowest one wait
//! ([`MAX_LEAD`]), and the channel back is bounded, so neither the held
//! output nor the queued chunks grow with the capture.
//!
//! Stdin, pipes and compressed captures go through the single reader.

use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::time::Duration;

use netsift_capture::CaptureReader;
use netsift_flow::{DefragStats, TableStats};
use netsift_wire::LinkType;

use super::{join, shard_of, Flushing, Progressed, ShardHandler, Sink, Totals};
use crate::pipeline::{Counters, FrameAt, Pipeline, PipelineConfig};
use crate::run::{prepare, summarize, CaptureSummary, EngineError, Progress};

/// A worker hands its output over every this many frames of the capture
/// (its own and the others').
const CHUNK_FRAMES: u64 = 4096;
/// A worker that has read this many frames more than the slowest one
/// waits for it: the merger holds the faster workers' output until the
/// slowest has caught up.
const MAX_LEAD: u64 = 1 << 16;
/// The same lead while ending the flows open at the end, in frames (of
/// the flows' creation): under a flood a frame is a flow, whose conn line
/// and record wait in the merger. 16,384 (with hand-overs of 4,096 flows)
/// held some 35,000 conn events at the peak of a UDP flood with two
/// threads (dhat), 40 MiB over one thread; 2,048 and 512 took its
/// `analyze` from 618 to 594 MiB and the SYN flood's from 564 to 506 MiB,
/// no slower (docs/threads.md, session 17).
const MAX_FLUSH_LEAD: u64 = 1 << 11;
/// Chunks queued towards the calling thread, per worker. At the end of a
/// flood a chunk holds hundreds of flows' records (`FLUSH_CHUNK`).
const QUEUE: usize = 2;

/// Whether [`run_file_sharded`] can read `path`: a regular file (not `-`,
/// a pipe or a device) that is not compressed.
pub(super) fn rereadable(path: &Path, reader: &CaptureReader) -> bool {
    path != Path::new("-")
        && reader.compression().is_none()
        && std::fs::metadata(path).is_ok_and(|m| m.is_file())
}

/// What a worker reports when it is done.
struct ScanEnd<E> {
    end: E,
    counters: Counters,
    table: TableStats,
    defrag: DefragStats,
    /// Worker 0's reader, for the summary (every worker read the same).
    reader: Option<CaptureReader>,
    first_unsupported: Option<(u32, u64)>,
    error: Option<EngineError>,
}

enum Back<C> {
    Chunk {
        worker: usize,
        through: u64,
        flushed: u64,
        chunk: Option<C>,
        /// The capture's time, where it grew, over the frames this
        /// chunk covers (see [`super::NowHistory`]).
        steps: Vec<(u64, u64)>,
    },
    Progress(Progress),
}

/// Frames per block of [`Choices`].
const BLOCK: usize = 512;
/// Blocks [`Choices`] keeps: more than the lead a worker may take
/// ([`MAX_LEAD`] frames, checked every [`CHUNK_FRAMES`]), though a
/// reader checks what it copied anyway.
const SLOTS: usize = 4 * (MAX_LEAD + CHUNK_FRAMES) as usize / BLOCK;

/// Every frame's worker ([`shard_of`]), worked out once for all workers.
///
/// Every worker reads every frame, but only one needs to decode it to
/// find whose it is: the first worker to reach a block of [`BLOCK`]
/// frames claims it and writes each frame's worker as it reads it; a
/// worker that comes later copies the block's choices and does not touch
/// the other workers' frames at all. A worker that reaches a block another
/// is still writing chooses for itself (the same answer: `shard_of`
/// depends only on the frame). A block's tag says which block a slot
/// holds and whether it is complete; a copy is used only if the tag was
/// the same before and after it, so a slot reused underneath a slow
/// reader is noticed, not trusted.
struct Choices {
    tags: Vec<AtomicU64>,
    shards: Vec<AtomicU8>,
}

impl Choices {
    fn new(n: usize) -> Self {
        // One byte per frame: with more workers than that, every worker
        // chooses for itself (no slots).
        let slots = if n <= usize::from(u8::MAX) { SLOTS } else { 0 };
        Choices {
            tags: (0..slots).map(|_| AtomicU64::new(0)).collect(),
            shards: (0..slots * BLOCK).map(|_| AtomicU8::new(0)).collect(),
        }
    }

    fn claimed(block: u64) -> u64 {
        (block + 1) << 1
    }

    fn complete(block: u64) -> u64 {
        ((block + 1) << 1) | 1
    }
}

/// How a worker gets the frames' workers in the block it is reading.
enum Mode {
    /// It claimed the block in this slot: it decodes, and writes each
    /// choice.
    Writing(usize),
    /// It copied the block's choices.
    Copied,
    /// Another worker is writing the block: it decodes for itself.
    Alone,
}

/// One worker's side of [`Choices`].
struct Chooser<'a> {
    shared: &'a Choices,
    n: usize,
    block: u64,
    mode: Mode,
    copy: Box<[u8; BLOCK]>,
}

impl<'a> Chooser<'a> {
    fn new(shared: &'a Choices, n: usize) -> Self {
        Chooser {
            shared,
            n,
            block: u64::MAX,
            mode: Mode::Alone,
            copy: Box::new([0; BLOCK]),
        }
    }

    /// The worker of frame number `frame_no` (1-based), `data` on `link`.
    #[inline]
    fn of(&mut self, frame_no: u64, link: LinkType, data: &[u8]) -> usize {
        let i = frame_no.saturating_sub(1);
        let block = i / BLOCK as u64;
        let j = (i % BLOCK as u64) as usize;
        if block != self.block {
            self.enter(block);
        }
        match self.mode {
            Mode::Copied => usize::from(self.copy[j]),
            Mode::Alone => shard_of(link, data, self.n),
            Mode::Writing(slot) => {
                let s = shard_of(link, data, self.n);
                if let Some(c) = self.shared.shards.get(slot * BLOCK + j) {
                    c.store(s as u8, Ordering::Relaxed);
                }
                s
            }
        }
    }

    fn slot(&self, block: u64) -> Option<usize> {
        let slots = self.shared.tags.len();
        (slots > 0).then(|| (block % slots as u64) as usize)
    }

    #[cold]
    fn enter(&mut self, block: u64) {
        self.done();
        self.block = block;
        self.mode = Mode::Alone;
        let Some(slot) = self.slot(block) else {
            return;
        };
        let tag = &self.shared.tags[slot];
        let complete = Choices::complete(block);
        let now = tag.load(Ordering::Acquire);
        if now == complete {
            let base = slot * BLOCK;
            for (k, c) in self.copy.iter_mut().enumerate() {
                *c = self.shared.shards[base + k].load(Ordering::Relaxed);
            }
            std::sync::atomic::fence(Ordering::Acquire);
            if tag.load(Ordering::Relaxed) == complete {
                self.mode = Mode::Copied;
            }
        } else if now < Choices::claimed(block)
            && tag
                .compare_exchange(
                    now,
                    Choices::claimed(block),
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            self.mode = Mode::Writing(slot);
        }
    }

    /// The block being written is complete (all of it that the capture
    /// has: every worker reads the same frames).
    fn done(&mut self) {
        if let Mode::Writing(slot) = self.mode {
            self.shared.tags[slot].store(Choices::complete(self.block), Ordering::Release);
        }
        self.mode = Mode::Alone;
    }
}

/// Shared between the workers: how far each has read, so that none runs
/// far ahead; and how many flows each holds, for progress.
struct Pace {
    choices: Choices,
    read: Vec<AtomicU64>,
    /// While ending the flows open at the end: the frame up to which each
    /// worker has ended the flows created there (see
    /// [`super::Delivery::flushed`]); 0 before, `u64::MAX` when done.
    flushed: Vec<AtomicU64>,
    open: Vec<AtomicUsize>,
}

impl Pace {
    /// Wait while worker `me`, at frame `at`, is more than [`MAX_LEAD`]
    /// frames ahead of another.
    fn wait_for_others(&self, me: usize, at: u64) {
        Self::wait_on(&self.read, me, at, MAX_LEAD);
    }

    /// The same while ending the open flows: a worker that ends its flows
    /// faster than another would fill the merger with lines it cannot
    /// release yet (a million flows' worth under a flood).
    fn wait_to_flush(&self, me: usize, at: u64) {
        Self::wait_on(&self.flushed, me, at, MAX_FLUSH_LEAD);
    }

    fn wait_on(progress: &[AtomicU64], me: usize, at: u64, lead: u64) {
        loop {
            let slowest = progress
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != me)
                .map(|(_, r)| r.load(Ordering::Acquire))
                .min()
                .unwrap_or(u64::MAX);
            if at <= slowest.saturating_add(lead) {
                return;
            }
            std::thread::sleep(Duration::from_micros(100));
        }
    }
}

/// The capture file, opened and prepared once (`super::prepare`): its
/// reader becomes worker 0's.
pub(super) struct Input<'a> {
    pub path: &'a Path,
    pub total_bytes: Option<u64>,
    pub reader: CaptureReader,
    /// The capture's format, and whether its header said snaplen 0.
    pub prepared: (netsift_capture::CaptureFormat, bool),
}

/// [`super::run_capture_sharded`] for a capture file that can be read
/// once per worker (see [`rereadable`]).
pub(super) fn run_file_sharded<T, H, F>(
    input: Input<'_>,
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
    let n = makers.len().max(1);
    let mut wcfg = cfg;
    wcfg.flow.max_flows = super::worker_max_flows(cfg.flow.max_flows, n);
    let pace = Pace {
        choices: Choices::new(n),
        read: (0..n).map(|_| AtomicU64::new(0)).collect(),
        flushed: (0..n).map(|_| AtomicU64::new(0)).collect(),
        open: (0..n).map(|_| AtomicUsize::new(0)).collect(),
    };
    let Input {
        path,
        total_bytes,
        reader,
        prepared,
    } = input;
    let mut first = Some(reader);
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<Back<H::Chunk>>(QUEUE * n);
        let mut joins = Vec::with_capacity(n);
        for (i, make) in makers.into_iter().enumerate() {
            let tx = tx.clone();
            let reader = first.take();
            let pace = &pace;
            joins.push(scope.spawn(move || {
                let w = Scan {
                    id: i,
                    n,
                    path,
                    total_bytes,
                    cfg: wcfg,
                    pace,
                    tx: &tx,
                };
                w.run::<T, H, F>(reader, make)
            }));
        }
        drop(tx);
        take_output(n, rx, sink, progress, &pace);
        let mut totals = Totals::default();
        let mut ends = Vec::with_capacity(n);
        let mut reader = None;
        let mut first_unsupported = None;
        let mut error = None;
        for j in joins {
            let end = join(j);
            totals.add(&end.counters, &end.table, &end.defrag);
            if reader.is_none() {
                reader = end.reader;
                first_unsupported = end.first_unsupported;
            }
            // Every worker read the same bytes: the first error is theirs.
            if error.is_none() {
                error = end.error;
            }
            ends.push(end.end);
        }
        if let Some(e) = error {
            return Err(e);
        }
        let Some(reader) = reader else {
            return Err(EngineError::Capture {
                path: path.to_path_buf(),
                source: netsift_capture::CaptureError::Io {
                    offset: 0,
                    source: std::io::Error::other("no worker read the capture"),
                },
            });
        };
        let summary = summarize(
            path,
            &reader,
            prepared,
            (totals.counters, totals.table, totals.defrag),
            first_unsupported,
        )?;
        Ok((summary, ends))
    })
}

/// The calling thread's part: hand the workers' output to `sink` with
/// how far every worker has got, until all are done.
fn take_output<C>(
    n: usize,
    rx: Receiver<Back<C>>,
    sink: Sink<'_, C>,
    progress: &mut dyn FnMut(Progress),
    pace: &Pace,
) {
    let mut state = Progressed::new(n);
    for m in rx.iter() {
        match m {
            Back::Progress(mut p) => {
                p.open_flows = pace.open.iter().map(|o| o.load(Ordering::Relaxed)).sum();
                progress(p);
            }
            Back::Chunk {
                worker,
                through,
                flushed,
                chunk,
                steps,
            } => {
                // Every worker sends the steps of the frames it has read;
                // those already known are not steps any more (`push`
                // keeps only growth).
                for (frame, now) in steps {
                    state.history.push(frame, now);
                }
                state.deliver(worker, (through, flushed), chunk, sink);
            }
        }
    }
}

/// One worker of [`run_file_sharded`].
struct Scan<'a, C> {
    id: usize,
    n: usize,
    path: &'a Path,
    total_bytes: Option<u64>,
    cfg: PipelineConfig,
    pace: &'a Pace,
    tx: &'a SyncSender<Back<C>>,
}

impl<C: Send> Scan<'_, C> {
    fn run<T, H, F>(&self, reader: Option<CaptureReader>, make: F) -> ScanEnd<H::End>
    where
        T: Default,
        H: ShardHandler<T, Chunk = C>,
        F: FnOnce() -> H,
    {
        let mut handler = make();
        let mut pipe: Pipeline<T> = Pipeline::new(self.cfg);
        let mut first_unsupported = None;
        let mut kept = None;
        let opened = match reader {
            Some(r) => Ok(r),
            None => crate::run::open(self.path).and_then(|(mut r, _)| {
                prepare(self.path, &mut r, &self.cfg)?;
                Ok(r)
            }),
        };
        let error = match opened {
            Ok(mut reader) => {
                let res =
                    self.read_all(&mut reader, &mut pipe, &mut handler, &mut first_unsupported);
                if self.id == 0 {
                    kept = Some(reader);
                }
                res.err()
            }
            Err(e) => Some(e),
        };
        // However the worker ended, the others must not wait for it.
        if let Some(r) = self.pace.read.get(self.id) {
            r.store(u64::MAX, Ordering::Release);
        }
        // The flows still open end now, handed over in pieces.
        pipe.finish(&mut Flushing {
            handler: &mut handler,
            send: &mut |flushed, chunk| {
                if let Some(f) = self.pace.flushed.get(self.id) {
                    f.store(flushed, Ordering::Release);
                }
                self.pace.wait_to_flush(self.id, flushed);
                let _ = self.tx.send(Back::Chunk {
                    worker: self.id,
                    through: super::FLUSHING,
                    flushed,
                    chunk,
                    steps: Vec::new(),
                });
            },
            flushed: 0,
        });
        if let Some(f) = self.pace.flushed.get(self.id) {
            f.store(u64::MAX, Ordering::Release);
        }
        let _ = self.tx.send(Back::Chunk {
            worker: self.id,
            through: u64::MAX,
            flushed: u64::MAX,
            chunk: handler.take_chunk(),
            steps: Vec::new(),
        });
        ScanEnd {
            end: handler.end(),
            counters: pipe.counters(),
            table: pipe.table_stats(),
            defrag: pipe.defrag_stats(),
            reader: kept,
            first_unsupported,
            error,
        }
    }

    fn read_all<T, H>(
        &self,
        reader: &mut CaptureReader,
        pipe: &mut Pipeline<T>,
        handler: &mut H,
        first_unsupported: &mut Option<(u32, u64)>,
    ) -> Result<(), EngineError>
    where
        T: Default,
        H: ShardHandler<T, Chunk = C>,
    {
        let me = self.id;
        let mut frame_no: u64 = 0;
        let mut now_ns: u64 = 0;
        let mut steps: Vec<(u64, u64)> = Vec::new();
        // Whether the last frame read was this worker's.
        let mut last_mine = false;
        let mut sent: u64 = 0;
        let mut chooser = Chooser::new(&self.pace.choices, self.n);
        loop {
            let frame = match reader.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(source) => {
                    self.hand_over(pipe, handler, frame_no, now_ns, last_mine, &mut steps);
                    return Err(EngineError::Capture {
                        path: self.path.to_path_buf(),
                        source,
                    });
                }
            };
            frame_no += 1;
            if frame.ts_ns > now_ns || frame_no == 1 {
                now_ns = now_ns.max(frame.ts_ns);
                steps.push((frame_no, now_ns));
            }
            let link = LinkType(frame.linktype);
            if first_unsupported.is_none() && !link.is_supported() {
                *first_unsupported = Some((frame.linktype, frame.offset));
            }
            last_mine = chooser.of(frame_no, link, frame.data) == me;
            if last_mine {
                let at = FrameAt {
                    ts_ns: frame.ts_ns,
                    frame_no,
                    now_ns,
                };
                pipe.on_bytes_at(at, link, frame.data, frame.orig_len, handler);
            }
            if frame_no - sent >= CHUNK_FRAMES {
                self.hand_over(pipe, handler, frame_no, now_ns, last_mine, &mut steps);
                sent = frame_no;
                if let Some(r) = self.pace.read.get(me) {
                    r.store(frame_no, Ordering::Release);
                }
                self.pace.wait_for_others(me, frame_no);
                if me == 0 && frame_no & 0xFFFF == 0 {
                    let _ = self.tx.send(Back::Progress(Progress {
                        bytes_read: reader.stats().bytes_read,
                        total_bytes: self.total_bytes,
                        packets: frame_no,
                        open_flows: 0,
                    }));
                }
            }
        }
        chooser.done();
        self.hand_over(pipe, handler, frame_no, now_ns, last_mine, &mut steps);
        Ok(())
    }

    /// Hand over what the worker made from the frames up to `frame_no`.
    /// Its flows idle by then end first, as a single pipeline ends them at
    /// frame `frame_no`, unless that frame was the worker's own: then they
    /// ended before it, and its own flow must wait for a later frame (see
    /// the parent module's `advance_to`).
    fn hand_over<T, H>(
        &self,
        pipe: &mut Pipeline<T>,
        handler: &mut H,
        frame_no: u64,
        now_ns: u64,
        last_mine: bool,
        steps: &mut Vec<(u64, u64)>,
    ) where
        T: Default,
        H: ShardHandler<T, Chunk = C>,
    {
        if !last_mine && frame_no > 0 {
            pipe.advance(now_ns, handler);
        }
        if let Some(o) = self.pace.open.get(self.id) {
            o.store(pipe.open_flows(), Ordering::Relaxed);
        }
        let _ = self.tx.send(Back::Chunk {
            worker: self.id,
            through: frame_no,
            flushed: 0,
            chunk: handler.take_chunk(),
            // Nearly every frame is a step: the next list starts at this
            // one's size instead of regrowing from nothing.
            steps: std::mem::replace(steps, Vec::with_capacity(steps.len())),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Ethernet, IPv4 and TCP SYN frame from `src` to `dst`.
    fn frame(src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&[0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        f.extend_from_slice(&[0x30, 0x39, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02]);
        f.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
        f
    }

    fn frames(count: usize) -> Vec<Vec<u8>> {
        let mut rng = netsift_testkit::XorShift(7);
        (0..count)
            .map(|_| {
                let a = rng.next().to_be_bytes();
                frame([10, a[0], a[1], a[2]], [192, 168, a[3], a[4]])
            })
            .collect()
    }

    /// Run `chooser` over `frames` (frame numbers from 1); every choice
    /// must be `shard_of`'s. Returns how many blocks it found complete.
    fn run(chooser: &mut Chooser<'_>, frames: &[Vec<u8>], n: usize) -> usize {
        let link = LinkType::ETHERNET;
        let mut copied = 0;
        for (i, f) in frames.iter().enumerate() {
            let got = chooser.of(i as u64 + 1, link, f);
            assert_eq!(got, shard_of(link, f, n), "frame {}", i + 1);
            if i % BLOCK == 0 && matches!(chooser.mode, Mode::Copied) {
                copied += 1;
            }
        }
        chooser.done();
        copied
    }

    /// The first worker through a block writes the choices, the next one
    /// copies them: the same workers as `shard_of` either way.
    #[test]
    fn the_second_worker_copies_the_first_ones_choices() {
        let n = 3;
        let fs = frames(3 * BLOCK + 100);
        let shared = Choices::new(n);
        let spread: std::collections::HashSet<usize> = fs
            .iter()
            .map(|f| shard_of(LinkType::ETHERNET, f, n))
            .collect();
        assert_eq!(spread.len(), n, "the frames go to every worker");
        assert_eq!(run(&mut Chooser::new(&shared, n), &fs, n), 0);
        assert_eq!(run(&mut Chooser::new(&shared, n), &fs, n), 4);
        assert_eq!(run(&mut Chooser::new(&shared, n), &fs, n), 4);
    }

    /// A block another worker is still writing, or a slot that holds a
    /// later block by now: the worker chooses for itself.
    #[test]
    fn unfinished_or_reused_blocks_are_not_copied() {
        let n = 2;
        let fs = frames(BLOCK);
        let shared = Choices::new(n);
        let mut first = Chooser::new(&shared, n);
        for (i, f) in fs.iter().take(10).enumerate() {
            first.of(i as u64 + 1, LinkType::ETHERNET, f);
        }
        assert!(matches!(first.mode, Mode::Writing(_)));
        assert_eq!(run(&mut Chooser::new(&shared, n), &fs, n), 0);
        for (i, f) in fs.iter().enumerate().skip(10) {
            first.of(i as u64 + 1, LinkType::ETHERNET, f);
        }
        first.done();
        assert_eq!(run(&mut Chooser::new(&shared, n), &fs, n), 1);
        // Block SLOTS takes block 0's slot.
        let later = SLOTS as u64 * BLOCK as u64;
        let mut ahead = Chooser::new(&shared, n);
        ahead.of(later + 1, LinkType::ETHERNET, &fs[0]);
        ahead.done();
        assert_eq!(run(&mut Chooser::new(&shared, n), &fs, n), 0);
    }
}
