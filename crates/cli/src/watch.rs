//! `netsift watch IFACE`: everything `analyze` does, on live traffic.
//!
//! Packets come from an AF_PACKET ring ([`netsift_live::Capture`]); the
//! pipeline, analyzer, detection and outputs are the ones `analyze` uses
//! ([`crate::analyze::Setup`], whose analyzer comes from the engine's
//! [`netsift_engine::analyze::build::AnalyzerBuilder`]), with three live
//! differences:
//!
//! * Time: packet time is the kernel's timestamp of each packet and, while
//!   the wire is idle, the wall clock (less one second of slack for packets
//!   still in the ring) — the same clock, since live packet time *is* wall
//!   time. Idle flows end and alert windows close without traffic.
//! * Alerts: scan and brute-force alerts are raised when the threshold is
//!   crossed, and repeats are folded by `--alert-timeout` (issue 6).
//! * Outputs: JSONL files are appended to and rotated; EVE is streamed.
//!
//! SIGINT or SIGTERM (or `--count`/`--duration`) stops the capture; every
//! open flow then ends, every record and alert is flushed, and the summary
//! is printed. A second signal exits at once.
//!
//! This is the one-socket capture (`--threads 1`, and the default on one
//! core); `--threads N` (N sockets in a `PACKET_FANOUT` group, a worker
//! each; the default is one per core) is [`crate::watch_threads`].

use std::cell::{Cell, RefCell};
use std::io::BufWriter;
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use netsift_capture::PcapngWriter;
use netsift_detect::alert::Summarizer;
use netsift_engine::analyze::aggregate::Aggregating;
use netsift_engine::analyze::detect::Detecting;
use netsift_engine::analyze::output::{JsonlOptions, Output};
use netsift_engine::analyze::FlowData;
use netsift_engine::Pipeline;
use netsift_learn::Scoring;
use netsift_live::{Capture, CaptureConfig};
use netsift_store::CaptureInfo;
use netsift_wire::LinkType;

use crate::analyze::{open_outputs, print_alert_groups, print_summary, Setup};
use crate::WatchArgs;

pub(crate) static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_sig: libc::c_int) {
    // Async-signal-safe: an atomic store, or _exit on the second signal.
    if STOP.swap(true, Ordering::SeqCst) {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(130) };
    }
}

/// SIGINT and SIGTERM set [`STOP`]. No SA_RESTART: the blocking poll()
/// returns EINTR at once, so the loop notices the signal.
pub(crate) fn install_signal_handlers() -> Result<()> {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction is valid; the handler only touches an
        // atomic (or calls _exit).
        let r = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut())
        };
        if r != 0 {
            bail!(
                "installing the signal handler: {}",
                std::io::Error::last_os_error()
            );
        }
    }
    Ok(())
}

pub(crate) fn secs_to_ns(name: &str, v: f64) -> Result<u64> {
    if !v.is_finite() || !(0.0..=1e9).contains(&v) {
        bail!("--{name} must be a number of seconds between 0 and 1e9, got {v}");
    }
    Ok((v * 1e9) as u64)
}

/// The process's CPU time so far (getrusage(2)): user and system
/// seconds, for the summary (the cost of a capture, all threads).
pub(crate) fn cpu_seconds() -> (f64, f64) {
    // SAFETY: rusage is plain old data; getrusage fills it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid rusage buffer.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return (0.0, 0.0);
    }
    let s = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (s(ru.ru_utime), s(ru.ru_stime))
}

pub(crate) fn wall_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// The idle clock stays this far behind the wall clock: a packet may still
/// sit in a ring block that is not handed over yet (block timeout 100 ms).
/// How often a live database capture's figures are recomputed.
pub(crate) const DB_REFRESH: Duration = Duration::from_secs(30);

pub(crate) const IDLE_SLACK_NS: u64 = 1_000_000_000;

/// How long a stopping capture keeps reading its ring: the ring's block
/// timeout (100 ms, `CaptureConfig::block_timeout_ms`) and a margin.
pub(crate) const DRAIN: Duration = Duration::from_millis(250);

/// The command line's durations, checked, in nanoseconds or as durations.
pub(crate) struct Times {
    pub rotate_interval_ns: Option<u64>,
    pub duration: Option<Duration>,
    pub status_every: Duration,
    pub cli_timeout: Option<u64>,
}

impl Times {
    pub(crate) fn of(args: &WatchArgs) -> Result<Times> {
        Ok(Times {
            rotate_interval_ns: args
                .rotate_interval
                .map(|v| secs_to_ns("rotate-interval", v))
                .transpose()?
                .filter(|n| *n > 0),
            duration: args
                .duration
                .map(|v| secs_to_ns("duration", v))
                .transpose()?
                .map(Duration::from_nanos),
            status_every: Duration::from_nanos(secs_to_ns(
                "status-interval",
                args.status_interval,
            )?),
            cli_timeout: args
                .alert_timeout
                .map(|v| secs_to_ns("alert-timeout", v))
                .transpose()?,
        })
    }
}

/// The end of a watch, after its summary: the outputs close (a database or
/// bus that lost rows says so), then the first error is returned, else the
/// exit code (3 when `--fail-on-alert` and alerts were raised).
pub(crate) fn end_of_run<D>(
    outputs: &crate::analyze::Outputs,
    quiet: bool,
    db_error: Option<D>,
    capture_error: Option<netsift_live::CaptureError>,
    alerted: bool,
) -> Result<ExitCode>
where
    D: std::error::Error + Send + Sync + 'static,
{
    if let Some(l) = outputs.close(quiet) {
        eprintln!("netsift: error: {l}");
    }
    if let Some(e) = db_error {
        return Err(anyhow::Error::new(e).context("writing the database"));
    }
    if let Some(e) = capture_error {
        return Err(e.into());
    }
    Ok(if alerted {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

/// Alert aggregation in front of the outputs, counting (`emitted`) and
/// grouping (`groups`) what it writes and printing it unless `quiet`. The
/// timeout: the command line's, else the rules file's, else 60 s.
pub(crate) fn aggregating<'o>(
    out: &'o mut dyn Output,
    timeout_ns: Option<u64>,
    quiet: bool,
    (emitted, groups): (&Rc<Cell<u64>>, &Rc<RefCell<Summarizer>>),
) -> Aggregating<'o> {
    let (e2, g2) = (emitted.clone(), groups.clone());
    Aggregating::new(out, timeout_ns.unwrap_or(60_000_000_000)).on_emit(move |al| {
        e2.set(e2.get() + 1);
        g2.borrow_mut().add(al);
        if !quiet {
            eprintln!("netsift: alert: {al}");
        }
    })
}

/// `--write FILE`: the pcapng of what is analysed, with its one interface.
pub(crate) type Written = PcapngWriter<BufWriter<std::fs::File>>;

pub(crate) fn open_write(args: &WatchArgs, linktype: u32, snaplen: u32) -> Result<Option<Written>> {
    let Some(p) = &args.write else {
        return Ok(None);
    };
    let f = std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?;
    let mut w = PcapngWriter::new(BufWriter::with_capacity(1 << 20, f))
        .with_context(|| format!("writing {}", p.display()))?;
    w.add_interface(linktype, snaplen)
        .with_context(|| format!("writing {}", p.display()))?;
    Ok(Some(w))
}

/// The capture settings of the command line (one socket's; a fanout group
/// opens N alike).
pub(crate) fn capture_config(args: &WatchArgs) -> CaptureConfig {
    let mut ccfg = CaptureConfig::new(&args.iface);
    ccfg.promisc = !args.no_promisc;
    ccfg.snaplen = args.snaplen;
    ccfg.filter = args.filter.clone();
    ccfg.compiler = match args.filter_compiler {
        crate::FilterCompilerArg::Builtin => netsift_live::Compiler::Builtin,
        crate::FilterCompilerArg::Libpcap => netsift_live::Compiler::Libpcap,
    };
    ccfg.ring_bytes = (args.ring_mb as usize) << 20;
    ccfg
}

pub fn run(args: &WatchArgs) -> Result<ExitCode> {
    let threads = crate::threads(args.threads);
    if threads > 1 {
        return crate::watch_threads::run(args, threads);
    }
    let a = &args.analysis;
    let quiet = a.common.quiet;
    let Times {
        rotate_interval_ns,
        duration,
        status_every,
        cli_timeout,
    } = Times::of(args)?;

    let s = Setup::new(a)?;
    // The capture opens before the outputs: a missing interface, privilege
    // or bad filter is reported before any log file is created.
    let ccfg = capture_config(args);
    let mut cap = Capture::open(&ccfg)?;
    let linktype = cap.linktype();

    let jsonl = JsonlOptions {
        append: true,
        rotate_size: args.rotate_size.filter(|n| *n > 0),
        rotate_interval_ns,
    };
    let mut outputs = open_outputs(a, args.db.as_deref(), true, jsonl)?;
    let store = outputs.store.clone();
    let out = &mut outputs.out;
    let mut writer = open_write(args, linktype, cap.snaplen())?;
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
    let mut analyzer = s.prepared.analyzer_over(&mut scoring);
    // Runs append to the same files: uids are seeded with the start time
    // so that a restarted watch does not reuse the previous run's uids.
    let mut pcfg = s.pipeline;
    let (sensor, seed) = crate::analyze::sensor_seed(
        a,
        outputs.db_is_postgres,
        a.common.uid_seed.unwrap_or_else(wall_ns),
    );
    pcfg.flow.uid_seed = seed;
    if a.common.tcp_attempt_idle.is_none() {
        // Live, an unanswered probe ends after Zeek's tcp_attempt_delay
        // (5 s) rather than the 5-minute TCP idle timeout, so a scan of
        // filtered ports is reported within seconds.
        pcfg.flow.tcp_attempt_ns = pcfg.flow.tcp_attempt_ns.min(5_000_000_000);
    }
    let mut pipe: Pipeline<FlowData> = Pipeline::new(pcfg);
    if let Some(h) = &store {
        // One capture row for the session; `netsift serve` shows it while
        // it runs (status `live`), its per-flow pcaps once `--write` exists.
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
    let mut last_refresh = Instant::now();
    let mut db_error = None;

    if !quiet {
        eprintln!(
            "netsift: watching {} (link type {linktype}, snaplen {}{}{}, uid seed {}); Ctrl-C stops",
            args.iface,
            cap.snaplen(),
            if ccfg.promisc { ", promiscuous" } else { "" },
            args.filter
                .as_deref()
                .filter(|f| !f.trim().is_empty())
                .map(|f| format!(", filter '{f}'"))
                .unwrap_or_default(),
            pcfg.flow.uid_seed,
        );
    }
    let start = Instant::now();
    // Flows ended so far (written out), for the status line and the database.
    let ended = |p: &Pipeline<FlowData>| {
        p.table_stats()
            .created
            .saturating_sub(p.open_flows() as u64)
    };
    let mut last_status = start;
    let mut last_flush = start;
    let mut last_status_pkts = 0u64;
    let (mut packets, mut bytes, mut last_ts) = (0u64, 0u64, 0u64);
    let mut write_error: Option<std::io::Error> = None;
    let limit = args.count.unwrap_or(u64::MAX);
    let mut capture_error = None;
    // On a signal or at --duration's end, the ring is drained before the
    // orderly end: packets the kernel already captured are analysed. A
    // TPACKET_V3 block reaches userspace when full or when its timeout
    // retires it, so draining lasts one block timeout and a margin.
    let mut draining_until: Option<Instant> = None;
    while packets < limit {
        if draining_until.is_none()
            && (STOP.load(Ordering::Relaxed) || duration.is_some_and(|d| start.elapsed() >= d))
        {
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
            // Packets past --count in the same block are not analysed (nor
            // written), so the pcapng holds exactly what was analysed.
            if packets >= limit {
                return;
            }
            packets += 1;
            bytes += u64::from(p.orig_len);
            last_ts = last_ts.max(p.ts_ns);
            if let Some(w) = writer.as_mut() {
                if write_error.is_none() {
                    if let Err(e) = w.write_packet(0, p.ts_ns, p.data, p.orig_len) {
                        write_error = Some(e);
                    }
                }
            }
            pipe.on_bytes(
                p.ts_ns,
                LinkType(linktype),
                p.data,
                p.orig_len,
                &mut analyzer,
            );
        });
        if let Err(e) = res {
            capture_error = Some(e);
            break;
        }
        if last_flush.elapsed() >= Duration::from_secs(1) {
            // The pcapng is readable while the capture runs.
            last_flush = Instant::now();
            if let (Some(w), None) = (writer.as_mut(), write_error.as_ref()) {
                if let Err(e) = w.flush() {
                    write_error = Some(e);
                }
            }
        }
        let clock = last_ts.max(wall_ns().saturating_sub(IDLE_SLACK_NS));
        pipe.advance(clock, &mut analyzer);
        analyzer.tick(clock);
        if let Some(h) = store
            .as_ref()
            .filter(|_| db_error.is_none() && last_refresh.elapsed() >= DB_REFRESH)
        {
            last_refresh = Instant::now();
            // A database error must not skip the orderly end below (flows,
            // records, alerts and the pcapng are still flushed): it is kept
            // and reported when the capture ends.
            db_error = h.refresh_live(packets, ended(&pipe)).err();
        }
        if !quiet && !status_every.is_zero() && last_status.elapsed() >= status_every {
            let k = cap.stats().unwrap_or_default();
            let dt = last_status.elapsed().as_secs_f64().max(1e-3);
            let rate = (packets - last_status_pkts) as f64 / dt;
            eprintln!(
                "netsift: {packets} packets ({rate:.0}/s), {} dropped by the kernel, flows {} active / {} ended, {} alerts, memory: {}",
                k.drops,
                pipe.open_flows(),
                ended(&pipe),
                emitted.get(),
                analyzer.memory_use(pipe.table_memory()),
            );
            last_status = Instant::now();
            last_status_pkts = packets;
        }
    }
    // Orderly end: flows, records, alerts, then the files.
    pipe.finish(&mut analyzer);
    let stats = analyzer.run_stats();
    let memory = analyzer.peak_memory();
    drop(analyzer);
    scoring.finish().context("writing the output")?;
    drop(scoring);
    drop(det);
    if let Some(h) = store.as_ref().filter(|_| db_error.is_none()) {
        let err = capture_error.as_ref().map(|e| e.to_string());
        db_error = h
            .end_capture(packets, pipe.table_stats().created, err.as_deref())
            .err();
    }
    drop(agg);
    let kernel = cap.stats().unwrap_or_default();
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
    let flows = pipe.table_stats().created;
    if !quiet {
        if STOP.load(Ordering::Relaxed) {
            eprintln!("netsift: stopped by signal");
        }
        print_summary(out.summary(), packets, flows, stats.records);
        eprintln!(
            "  capture: {packets} packets ({bytes} bytes) in {:.1} s; kernel: {} received, {} dropped{}",
            start.elapsed().as_secs_f64(),
            kernel.packets,
            kernel.drops,
            written
                .map(|n| {
                    let w = args.write.as_ref().map_or(String::new(), |p| p.display().to_string());
                    format!(
                        "; {n} packets written to {w} (the same analysis: netsift analyze --uid-seed {} --tcp-attempt-idle {} ... {w})",
                        pcfg.flow.uid_seed,
                        pcfg.flow.tcp_attempt_ns as f64 / 1e9
                    )
                })
                .unwrap_or_default()
        );
        eprintln!("  memory (estimated, each at its peak): {memory}");
        crate::analyze::print_bounds(&stats);
        let (user, sys) = cpu_seconds();
        eprintln!("  cpu: {user:.2} s user, {sys:.2} s system");
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
