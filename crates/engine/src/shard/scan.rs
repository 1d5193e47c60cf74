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
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
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
/// and record wait in the merger.
const MAX_FLUSH_LEAD: u64 = 1 << 14;
/// Chunks queued towards the calling thread, per worker. At the end of a
/// flood a chunk holds thousands of flows' records (`FLUSH_CHUNK`).
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

/// Shared between the workers: how far each has read, so that none runs
/// far ahead; and how many flows each holds, for progress.
struct Pace {
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
    wcfg.flow.max_flows = (cfg.flow.max_flows / n).max(1);
    let pace = Pace {
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
            last_mine = shard_of(link, frame.data, self.n) == me;
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
            steps: std::mem::take(steps),
        });
    }
}
