//! `netsift watch --threads N` (N > 1): N `AF_PACKET` sockets in one
//! `PACKET_FANOUT` group ([`netsift_live::Capture::open_group`]), each with
//! its own ring and worker thread, as Suricata's and Zeek's af_packet
//! capture do.
//!
//! ```text
//! kernel fanout ─▶ socket i ring ─▶ worker i: Pipeline + Analyzer ──┐ events tagged with
//!  (by addresses)                   (flows, reassembly, parsers,     │ the worker's packet
//!                                    DPI, signatures, rules)         │ time (AnalyzeWorker::live)
//!                                                                    ▼
//!                     central thread: Merger (packet-time order) ─▶ scan / brute-force /
//!                     flood detection, models, alert aggregation, summary, writers, --write
//! ```
//!
//! There is no global frame order live, so a worker tags each event with
//! its packet time when it made it (never going back), and after each
//! round over its ring hands the events over with that time: every event
//! it makes later is at or after it. The central thread releases events up
//! to the least of the workers' times (the [`Merger`] of `analyze
//! --threads`, keyed by packet time instead of frame number), so what
//! spans flows sees one stream in packet-time order, exactly once. A
//! worker whose ring is empty moves its time on with the wall clock (less
//! one second), so an idle socket does not hold the others' events back.
//!
//! Differences from one socket, by design: uids are unique but not those
//! of `analyze` of the `--write` capture (each worker numbers its own
//! frames, interleaved: worker i of N gives its k-th frame the number
//! k·N + i + 1); each worker's flow table holds its share of `--max-flows` (and
//! 1/32 more: `engine::shard::worker_max_flows`);
//! `--ring-mb` is per socket; `--write` gets the packets in packet-time
//! order from the merger (copied once).

use std::cell::{Cell, RefCell};
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use netsift_detect::alert::Summarizer;
use netsift_engine::analyze::build::Prepared;
use netsift_engine::analyze::detect::Detecting;
use netsift_engine::analyze::output::{JsonlOptions, Output};
use netsift_engine::analyze::sharded::{
    event_merger, AnalyzeChunk, AnalyzeWorker, Event, GiveBack, WorkerEnd,
};
use netsift_engine::analyze::FlowData;
use netsift_engine::memory::MemoryUse;
use netsift_engine::pipeline::FrameAt;
use netsift_engine::shard::{Delivery, Merger, NowHistory, Returns, ShardHandler, When};
use netsift_engine::{Pipeline, PipelineConfig};
use netsift_learn::Scoring;
use netsift_live::{Capture, CaptureError, FanoutMode, KernelStats};
use netsift_store::CaptureInfo;
use netsift_wire::LinkType;

use crate::analyze::{build_error, open_outputs, print_alert_groups, print_summary, Setup};
use crate::watch::{
    aggregating, capture_config, cpu_seconds, end_of_run, install_signal_handlers, open_write,
    wall_ns, Times, DB_REFRESH, DRAIN, IDLE_SLACK_NS, STOP,
};
use crate::WatchArgs;

/// A worker's figures, read by the central thread for the status line.
#[derive(Default)]
struct Slot {
    packets: AtomicU64,
    bytes: AtomicU64,
    kernel_packets: AtomicU64,
    kernel_drops: AtomicU64,
    open_flows: AtomicUsize,
    created: AtomicU64,
    /// The worker's own part of the memory estimate (see
    /// [`AnalyzeWorker::memory_own`]).
    mem_flows: AtomicUsize,
    mem_reassembly: AtomicUsize,
    mem_parsers: AtomicUsize,
    mem_dpi: AtomicUsize,
}

impl Slot {
    fn memory(&self) -> MemoryUse {
        MemoryUse {
            flows: self.mem_flows.load(Ordering::Relaxed),
            reassembly: self.mem_reassembly.load(Ordering::Relaxed),
            parsers: self.mem_parsers.load(Ordering::Relaxed),
            dpi: self.mem_dpi.load(Ordering::Relaxed),
            detectors: 0,
        }
    }
}

/// What all threads share.
struct Shared {
    slots: Vec<Slot>,
    /// Workers stop reading their rings (signal, --count, --duration, an
    /// error): they end their flows and hand everything over.
    stop: AtomicBool,
    /// `--count`: packets taken so far, by all workers.
    taken: AtomicU64,
    limit: Option<u64>,
    /// Copy packets for `--write`.
    write: bool,
    /// The output is a JSONL directory: workers make its lines.
    jsonl: bool,
    /// Each worker's events, back from the central thread to be freed by
    /// the worker that made them.
    returns: Vec<Returns<Event>>,
}

/// A packet for `--write`.
struct Frame {
    ts_ns: u64,
    orig_len: u32,
    data: Vec<u8>,
}

/// A worker's hand-over after each round over its ring.
struct Chunk {
    worker: usize,
    /// The worker's packet time: everything it makes later is at or
    /// after it (`u64::MAX`: it is done).
    through: u64,
    events: Option<AnalyzeChunk>,
    frames: Vec<(When, u64, Frame)>,
}

/// What a worker reports when it is done.
struct Done {
    end: WorkerEnd,
    created: u64,
    kernel: KernelStats,
    error: Option<CaptureError>,
}

/// Hand-overs queued per worker before a worker waits for the central
/// thread (its ring then fills, and the kernel counts drops).
const QUEUE_PER_WORKER: usize = 8;

#[allow(clippy::too_many_arguments)]
fn worker(
    i: usize,
    n: usize,
    mut cap: Capture,
    parts: Prepared,
    pcfg: PipelineConfig,
    shared: &Shared,
    tx: SyncSender<Chunk>,
) -> Done {
    let slot = &shared.slots[i];
    let returns = shared.returns.get(i).cloned().unwrap_or_default();
    let mut h = AnalyzeWorker::new(shared.jsonl, returns, move |out| parts.analyzer(out)).live();
    let mut pipe: Pipeline<FlowData> = Pipeline::new(pcfg);
    let link = LinkType(cap.linktype());
    let (mut local, mut bytes, mut last_ts) = (0u64, 0u64, 0u64);
    let mut frames: Vec<(When, u64, Frame)> = Vec::new();
    let mut error = None;
    let mut last_sample = Instant::now();
    let publish = |h: &AnalyzeWorker, pipe: &Pipeline<FlowData>, local: u64, bytes: u64| {
        slot.packets.store(local, Ordering::Relaxed);
        slot.bytes.store(bytes, Ordering::Relaxed);
        slot.open_flows.store(pipe.open_flows(), Ordering::Relaxed);
        slot.created
            .store(pipe.table_stats().created, Ordering::Relaxed);
        let m = h.memory_own(pipe.table_memory());
        slot.mem_flows.store(m.flows, Ordering::Relaxed);
        slot.mem_reassembly.store(m.reassembly, Ordering::Relaxed);
        slot.mem_parsers.store(m.parsers, Ordering::Relaxed);
        slot.mem_dpi.store(m.dpi, Ordering::Relaxed);
    };
    // Stopping, the ring is drained first (see `crate::watch::DRAIN`):
    // what the kernel captured is analysed (past --count, it is skipped).
    let mut draining_until: Option<Instant> = None;
    loop {
        if draining_until.is_none() && shared.stop.load(Ordering::Relaxed) {
            draining_until = Some(Instant::now() + DRAIN);
        }
        if draining_until.is_some_and(|t| Instant::now() >= t) {
            break;
        }
        let wait = if draining_until.is_some() {
            Duration::from_millis(20)
        } else {
            Duration::from_millis(200)
        };
        let res = cap.poll(wait, &mut |p| {
            if let Some(limit) = shared.limit {
                // Packets past --count are neither analysed nor written;
                // the one that reaches it stops the capture, as with one
                // socket (waiting for one more would hang on a quiet wire).
                let taken = shared.taken.fetch_add(1, Ordering::Relaxed);
                if taken + 1 >= limit {
                    shared.stop.store(true, Ordering::Relaxed);
                }
                if taken >= limit {
                    return;
                }
            }
            local += 1;
            bytes += u64::from(p.orig_len);
            last_ts = last_ts.max(p.ts_ns);
            h.at(p.ts_ns);
            if shared.write {
                frames.push((
                    When::Packet { frame: h.now() },
                    local,
                    Frame {
                        ts_ns: p.ts_ns,
                        orig_len: p.orig_len,
                        data: p.data.to_vec(),
                    },
                ));
            }
            let at = FrameAt {
                ts_ns: p.ts_ns,
                // Unique over the workers, so uids are too.
                frame_no: (local - 1) * n as u64 + i as u64 + 1,
                now_ns: p.ts_ns,
            };
            pipe.on_bytes_at(at, link, p.data, p.orig_len, &mut h);
        });
        let got = match res {
            Ok(k) => k,
            Err(e) => {
                error = Some(e);
                shared.stop.store(true, Ordering::Relaxed);
                break;
            }
        };
        // An empty ring: no packet older than the wall clock (less the
        // slack of a block not yet handed over) can come any more.
        let clock = if got == 0 {
            last_ts.max(wall_ns().saturating_sub(IDLE_SLACK_NS))
        } else {
            last_ts
        };
        h.at(clock);
        pipe.advance(clock, &mut h);
        if last_sample.elapsed() >= Duration::from_millis(500) {
            last_sample = Instant::now();
            publish(&h, &pipe, local, bytes);
            if let Ok(k) = cap.stats() {
                slot.kernel_packets.store(k.packets, Ordering::Relaxed);
                slot.kernel_drops.store(k.drops, Ordering::Relaxed);
            }
        }
        let c = Chunk {
            worker: i,
            through: h.now(),
            events: h.take_chunk(),
            frames: std::mem::take(&mut frames),
        };
        if tx.send(c).is_err() {
            // The central thread is gone (it failed): nothing to do.
            break;
        }
    }
    pipe.finish(&mut h);
    publish(&h, &pipe, local, bytes);
    let _ = tx.send(Chunk {
        worker: i,
        through: u64::MAX,
        events: h.take_chunk(),
        frames: std::mem::take(&mut frames),
    });
    let kernel = cap.stats().unwrap_or_default();
    slot.kernel_packets.store(kernel.packets, Ordering::Relaxed);
    slot.kernel_drops.store(kernel.drops, Ordering::Relaxed);
    Done {
        created: pipe.table_stats().created,
        end: h.end(),
        kernel,
        error,
    }
}

/// "a/b, c/d": each socket's received/dropped.
fn per_socket(v: &[(u64, u64)]) -> String {
    v.iter()
        .map(|(p, d)| format!("{p}/{d}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn run(args: &WatchArgs, n: usize) -> Result<ExitCode> {
    let a = &args.analysis;
    let quiet = a.common.quiet;
    let Times {
        rotate_interval_ns,
        duration,
        status_every,
        cli_timeout,
    } = Times::of(args)?;

    let s = Setup::new(a)?;
    let ccfg = capture_config(args);
    let mode = match args.fanout {
        crate::FanoutArg::Addresses => FanoutMode::Addresses,
        crate::FanoutArg::Hash => FanoutMode::Hash,
    };
    let caps = Capture::open_group(&ccfg, n, mode)?;
    let n = caps.len();
    let (linktype, snaplen) = caps
        .first()
        .map_or((1, ccfg.snaplen), |c| (c.linktype(), c.snaplen()));
    // Each worker's analyzer parts (its share of the reassembly memory).
    let mut parts = Vec::with_capacity(n);
    for _ in 0..n {
        parts.push(s.builder.worker(n).map_err(build_error)?);
    }

    let jsonl = JsonlOptions {
        append: true,
        rotate_size: args.rotate_size.filter(|n| *n > 0),
        rotate_interval_ns,
    };
    let mut outputs = open_outputs(a, args.db.as_deref(), true, jsonl)?;
    let store = outputs.store.clone();
    let out = &mut outputs.out;
    let mut writer = open_write(args, linktype, snaplen)?;
    install_signal_handlers()?;
    let (emitted, groups) = (
        Rc::new(Cell::new(0u64)),
        Rc::new(RefCell::new(Summarizer::new())),
    );
    let mut agg = aggregating(
        out.as_mut(),
        cli_timeout.or(s.rules.alert_timeout_ns),
        quiet,
        (&emitted, &groups),
    );
    let mut det = Detecting::with_scan_method(&mut agg, s.rules, s.scan_method).live();
    let mut scoring = Scoring::with_scope(&mut det, s.models, s.model_scope);
    let mut pcfg = s.pipeline;
    let (sensor, seed) = crate::analyze::sensor_seed(
        a,
        outputs.db_is_postgres,
        a.common.uid_seed.unwrap_or_else(wall_ns),
    );
    pcfg.flow.uid_seed = seed;
    if a.common.tcp_attempt_idle.is_none() {
        pcfg.flow.tcp_attempt_ns = pcfg.flow.tcp_attempt_ns.min(5_000_000_000);
    }
    let mut wcfg = pcfg;
    wcfg.flow.max_flows = netsift_engine::shard::worker_max_flows(pcfg.flow.max_flows, n);
    if let Some(h) = &store {
        let info = CaptureInfo {
            name: format!("live {}", args.iface),
            path: args
                .write
                .as_ref()
                .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()))
                .map(|p| p.display().to_string()),
            uid_seed: pcfg.flow.uid_seed,
            flow_settings: Some(netsift_store::flow_settings(&pcfg.flow)),
            sensor,
            ..CaptureInfo::default()
        };
        h.begin_capture(&info).context("writing the database")?;
    }
    if !quiet {
        eprintln!(
            "netsift: watching {} (link type {linktype}, snaplen {snaplen}{}{}, {n} sockets in a PACKET_FANOUT group by {}, uid seed {}); Ctrl-C stops",
            args.iface,
            if ccfg.promisc { ", promiscuous" } else { "" },
            args.filter
                .as_deref()
                .filter(|f| !f.trim().is_empty())
                .map(|f| format!(", filter '{f}'"))
                .unwrap_or_default(),
            match mode {
                FanoutMode::Addresses => "addresses",
                FanoutMode::Hash => "flow hash",
            },
            pcfg.flow.uid_seed,
        );
    }

    let shared = Shared {
        slots: (0..n).map(|_| Slot::default()).collect(),
        stop: AtomicBool::new(false),
        taken: AtomicU64::new(0),
        limit: args.count,
        write: writer.is_some(),
        jsonl: a.format == crate::AnalyzeFormat::Jsonl,
        returns: (0..n).map(|_| Returns::default()).collect(),
    };
    let start = Instant::now();
    let mut merger = event_merger();
    let mut give_back = GiveBack::new(&shared.returns, Event::owns_memory);
    let mut frame_merger: Merger<Frame> = Merger::default();
    // Unused: live events carry no frame numbers to translate.
    let history = NowHistory::default();
    let mut through = vec![0u64; n];
    let mut write_error: Option<std::io::Error> = None;
    let mut db_error = None;
    let mut last_refresh = Instant::now();
    let mut last_status = start;
    let mut last_flush = start;
    let mut last_sample = start;
    let mut last_status_pkts = 0u64;
    let mut ticked = 0u64;
    let mut peak = MemoryUse::default();
    let totals = |shared: &Shared| {
        let sum = |f: &dyn Fn(&Slot) -> u64| shared.slots.iter().map(f).sum::<u64>();
        (
            sum(&|s| s.packets.load(Ordering::Relaxed)),
            sum(&|s| s.open_flows.load(Ordering::Relaxed) as u64),
            sum(&|s| s.created.load(Ordering::Relaxed)),
        )
    };
    let memory_now = |shared: &Shared, detectors: usize| {
        let own = shared
            .slots
            .iter()
            .fold(MemoryUse::default(), |m, s| m + s.memory());
        own + MemoryUse {
            detectors,
            ..MemoryUse::default()
        }
    };

    let dones: Vec<Done> = std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<Chunk>(QUEUE_PER_WORKER * n);
        let mut joins = Vec::with_capacity(n);
        for (i, (cap, parts)) in caps.into_iter().zip(parts).enumerate() {
            let tx = tx.clone();
            let shared = &shared;
            joins.push(
                std::thread::Builder::new()
                    .name(format!("netsift-worker-{i}"))
                    .spawn_scoped(scope, move || worker(i, n, cap, parts, wcfg, shared, tx)),
            );
        }
        drop(tx);
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(c) => {
                    if let Some(t) = through.get_mut(c.worker) {
                        *t = (*t).max(c.through);
                    }
                    let all = through.iter().copied().min().unwrap_or(u64::MAX);
                    merger.take_from(
                        Delivery {
                            worker: c.worker,
                            chunk: c.events,
                            through: all,
                            // Live, `through` is packet time, never the
                            // end-of-capture flush of a file.
                            flushed: 0,
                            history: &history,
                        },
                        &mut |w, ev| {
                            ev.apply(&mut scoring);
                            give_back.push(w, ev);
                        },
                    );
                    if let Some(w) = writer.as_mut() {
                        frame_merger.take(
                            Delivery {
                                worker: c.worker,
                                chunk: Some(c.frames),
                                through: all,
                                flushed: 0,
                                history: &history,
                            },
                            &mut |f| {
                                if write_error.is_none() {
                                    if let Err(e) =
                                        w.write_packet(0, f.ts_ns, &f.data, f.orig_len)
                                    {
                                        write_error = Some(e);
                                    }
                                }
                            },
                        );
                    }
                    if all != u64::MAX && all > ticked {
                        ticked = all;
                        scoring.tick(all);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if STOP.load(Ordering::Relaxed) || duration.is_some_and(|d| start.elapsed() >= d) {
                shared.stop.store(true, Ordering::Relaxed);
            }
            if last_flush.elapsed() >= Duration::from_secs(1) {
                last_flush = Instant::now();
                if let (Some(w), None) = (writer.as_mut(), write_error.as_ref()) {
                    if let Err(e) = w.flush() {
                        write_error = Some(e);
                    }
                }
            }
            if last_sample.elapsed() >= Duration::from_secs(1) {
                last_sample = Instant::now();
                peak = peak.max(memory_now(&shared, scoring.memory_bytes()));
            }
            if let Some(h) = store
                .as_ref()
                .filter(|_| db_error.is_none() && last_refresh.elapsed() >= DB_REFRESH)
            {
                last_refresh = Instant::now();
                let (packets, open, created) = totals(&shared);
                db_error = h
                    .refresh_live(packets, created.saturating_sub(open))
                    .err();
            }
            if !quiet && !status_every.is_zero() && last_status.elapsed() >= status_every {
                let (packets, open, created) = totals(&shared);
                let dt = last_status.elapsed().as_secs_f64().max(1e-3);
                let rate = packets.saturating_sub(last_status_pkts) as f64 / dt;
                let k: Vec<(u64, u64)> = shared
                    .slots
                    .iter()
                    .map(|s| {
                        (
                            s.kernel_packets.load(Ordering::Relaxed),
                            s.kernel_drops.load(Ordering::Relaxed),
                        )
                    })
                    .collect();
                let m = memory_now(&shared, scoring.memory_bytes());
                peak = peak.max(m);
                eprintln!(
                    "netsift: {packets} packets ({rate:.0}/s), {} dropped by the kernel (per socket received/dropped: {}), flows {open} active / {} ended, {} alerts, memory: {m}",
                    k.iter().map(|x| x.1).sum::<u64>(),
                    per_socket(&k),
                    created.saturating_sub(open),
                    emitted.get(),
                );
                last_status = Instant::now();
                last_status_pkts = packets;
            }
        }
        joins
            .into_iter()
            .map(|j| match j.map(|h| h.join()) {
                Ok(Ok(d)) => Ok(d),
                // A worker that panicked is a bug: re-raise it here.
                Ok(Err(p)) => std::panic::resume_unwind(p),
                Err(e) => Err(e),
            })
            .collect::<std::io::Result<Vec<Done>>>()
    })
    .context("starting a worker thread")?;
    peak = peak.max(memory_now(&shared, scoring.memory_bytes()));

    // Orderly end: every worker ended its flows and handed everything
    // over (the merger released it); now the detectors and the files.
    let mut totals_end = WorkerEnd::default();
    let mut kernel = Vec::with_capacity(n);
    let mut capture_error = None;
    let (mut flows, mut packets, mut bytes) = (0u64, 0u64, 0u64);
    for (d, slot) in dones.into_iter().zip(&shared.slots) {
        totals_end.add(&d.end);
        kernel.push((d.kernel.packets, d.kernel.drops));
        flows += d.created;
        packets += slot.packets.load(Ordering::Relaxed);
        bytes += slot.bytes.load(Ordering::Relaxed);
        if capture_error.is_none() {
            capture_error = d.error;
        }
    }
    scoring.finish().context("writing the output")?;
    drop(scoring);
    drop(det);
    if let Some(h) = store.as_ref().filter(|_| db_error.is_none()) {
        let err = capture_error.as_ref().map(|e| e.to_string());
        db_error = h.end_capture(packets, flows, err.as_deref()).err();
    }
    drop(agg);
    let written = match writer.take() {
        Some(w) => {
            let n = w.frames_written();
            w.into_inner().context("writing the capture file")?;
            Some(n)
        }
        None => None,
    };
    if let Some(e) = write_error {
        return Err(e).context("writing the capture file");
    }
    if !quiet {
        if STOP.load(Ordering::Relaxed) {
            eprintln!("netsift: stopped by signal");
        }
        print_summary(out.summary(), packets, flows, totals_end.stats.records);
        // bench/live_drops.sh reads this line: the totals come first.
        eprintln!(
            "  capture: {packets} packets ({bytes} bytes) in {:.1} s; kernel: {} received, {} dropped; {n} sockets (per socket received/dropped: {}){}",
            start.elapsed().as_secs_f64(),
            kernel.iter().map(|k| k.0).sum::<u64>(),
            kernel.iter().map(|k| k.1).sum::<u64>(),
            per_socket(&kernel),
            written
                .map(|w| {
                    let p = args.write.as_ref().map_or(String::new(), |p| p.display().to_string());
                    format!(
                        "; {w} packets written to {p} (the same flows and records: netsift analyze --tcp-attempt-idle {} ... {p}; other uids)",
                        pcfg.flow.tcp_attempt_ns as f64 / 1e9
                    )
                })
                .unwrap_or_default()
        );
        eprintln!("  memory (estimated, each at its peak): {peak}");
        crate::analyze::print_bounds(&totals_end.stats);
        let (user, sys) = cpu_seconds();
        eprintln!("  cpu: {user:.2} s user, {sys:.2} s system (all threads)");
        let g = std::mem::take(&mut *groups.borrow_mut()).finish();
        print_alert_groups(&g, Some(emitted.get()));
    }
    end_of_run(
        &outputs,
        quiet,
        db_error,
        capture_error,
        a.fail_on_alert && emitted.get() > 0,
    )
}
