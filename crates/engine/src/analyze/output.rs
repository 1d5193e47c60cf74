//! Where `netsift analyze` writes: one JSONL file per log in a directory
//! (`conn.jsonl`, `http.jsonl`, `files.jsonl`, ...), or one EVE-style stream
//! with an `event_type` field. Both keep a summary for the end of the run.

use netsift_proto::text::Text;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::eve;
use crate::record::{micros_to_secs, FlowRecord};
use netsift_protocols::records::RecordEvent;

/// A protocol record as parsers hand it over: typed until written out.
pub use netsift_proto::Record;

/// The fields every record starts with.
#[derive(Debug, Clone)]
pub struct Common {
    pub uid: Text,
    pub src_ip: IpAddr,
    pub src_port: u16,
    pub dst_ip: IpAddr,
    pub dst_port: u16,
    /// IP protocol number (6 TCP, 17 UDP, ...).
    pub proto: u8,
}

/// A damaged byte range skipped while reading a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureDamage {
    /// Packet time of the last record before the damage (0 when none).
    pub ts_ns: u64,
    /// The capture, as given.
    pub capture: String,
    /// Offset of the first byte skipped.
    pub offset: u64,
    /// Bytes skipped.
    pub len: u64,
    /// What was wrong there.
    pub reason: &'static str,
}

impl CaptureDamage {
    /// The `weird` name of every damaged range.
    pub const NAME: &'static str = "capture_damaged";

    /// The JSONL `weird` record: `ts`, `name`, then where and why.
    pub fn record(&self) -> Value {
        serde_json::json!({
            "ts": micros_to_secs(self.ts_ns),
            "name": Self::NAME,
            "capture": self.capture,
            "offset": self.offset,
            "len": self.len,
            "reason": self.reason,
        })
    }
}

/// A sink for records.
pub trait Output {
    /// A protocol record (or a `files` record) of a flow. Consumers read
    /// it through [`RecordEvent`]; writers turn it into JSON
    /// ([`Record::to_json`]). Borrowed, like the flow record: the merging
    /// thread of `analyze --threads` hands it back afterwards to the worker
    /// that made it, to be freed there (see `sharded::Returns`).
    fn record(&mut self, log: &'static str, ts_ns: u64, common: &Common, record: &Record);
    /// A record handed over whole: an output that keeps it (the event log
    /// of an `analyze --threads` worker) takes it without a copy.
    fn record_owned(&mut self, log: &'static str, ts_ns: u64, common: &Common, record: Record) {
        self.record(log, ts_ns, common, &record)
    }
    /// A flow record (`conn`).
    fn conn(&mut self, ts_ns: u64, rec: &FlowRecord);
    /// A flow record handed over whole: an output that keeps it (the
    /// event log of an `analyze --threads` worker) takes it without a copy.
    fn conn_owned(&mut self, ts_ns: u64, rec: FlowRecord) {
        self.conn(ts_ns, &rec)
    }
    /// An alert (`alerts.jsonl`, or `event_type: "alert"` in EVE).
    fn alert(&mut self, _alert: &netsift_detect::alert::Alert) {}
    /// A detector made a finding from the flow `uid`'s traffic that is
    /// written later (a pcap-mode brute-force finding is reported with its
    /// final counts at the end of the run): the packet log
    /// (`--alert-pcap`) keeps the flow's packets now. Nothing is written.
    fn flow_flagged(&mut self, _uid: &str, _alert: &netsift_detect::alert::Alert) {}
    /// A damaged byte range of the capture was skipped: a flowless `weird`
    /// record (`capture_damaged`, no uid or addresses, as Zeek allows).
    fn capture_damaged(&mut self, _damage: &CaptureDamage) {}
    /// Packet time is now `now_ns`, with or without a packet (a live
    /// capture ticks while the wire is idle): time-based work happens here
    /// (alert windows closing, file rotation, flushing to disk).
    fn tick(&mut self, _now_ns: u64) {}
    /// A packet that can be part of a flood (pure SYNs, handshake
    /// completions, UDP datagrams, ICMP messages), for flood detection
    /// ([`super::detect::Detecting`]); other outputs ignore it.
    fn packet(&mut self, _p: &netsift_detect::dos::FloodPacket) {}
    /// Estimated bytes held by detectors behind this output (see
    /// [`crate::memory`]).
    fn memory_bytes(&self) -> usize {
        0
    }
    /// Flush everything; the first I/O error, if any.
    fn finish(&mut self) -> std::io::Result<()>;
    /// What was seen.
    fn summary(&self) -> &Summary;
}

/// A borrowed output is an output (so an [`super::Analyzer`] can own its
/// output or borrow the caller's).
impl<O: Output + ?Sized> Output for &mut O {
    fn record(&mut self, log: &'static str, ts_ns: u64, common: &Common, record: &Record) {
        (**self).record(log, ts_ns, common, record)
    }
    fn record_owned(&mut self, log: &'static str, ts_ns: u64, common: &Common, record: Record) {
        (**self).record_owned(log, ts_ns, common, record)
    }
    fn conn(&mut self, ts_ns: u64, rec: &FlowRecord) {
        (**self).conn(ts_ns, rec)
    }
    fn conn_owned(&mut self, ts_ns: u64, rec: FlowRecord) {
        (**self).conn_owned(ts_ns, rec)
    }
    fn alert(&mut self, alert: &netsift_detect::alert::Alert) {
        (**self).alert(alert)
    }
    fn flow_flagged(&mut self, uid: &str, alert: &netsift_detect::alert::Alert) {
        (**self).flow_flagged(uid, alert)
    }
    fn capture_damaged(&mut self, damage: &CaptureDamage) {
        (**self).capture_damaged(damage)
    }
    fn tick(&mut self, now_ns: u64) {
        (**self).tick(now_ns)
    }
    fn packet(&mut self, p: &netsift_detect::dos::FloodPacket) {
        (**self).packet(p)
    }
    fn memory_bytes(&self) -> usize {
        (**self).memory_bytes()
    }
    fn finish(&mut self) -> std::io::Result<()> {
        (**self).finish()
    }
    fn summary(&self) -> &Summary {
        (**self).summary()
    }
}

/// `ts`, `uid`, endpoints, then the record's own fields (a field of the
/// record with one of those names is dropped: the flow's own values win).
/// Serialised as it stands, without building a merged map.
struct WithCommon<'a> {
    ts_ns: u64,
    c: &'a Common,
    record: &'a Record,
}

const COMMON_KEYS: [&str; 6] = ["ts", "uid", "src_ip", "src_port", "dst_ip", "dst_port"];

/// The JSONL line (without its newline) of a record, as [`JsonlDir`]
/// writes it, into `line`.
pub fn jsonl_record_line(
    line: &mut Vec<u8>,
    ts_ns: u64,
    c: &Common,
    record: &Record,
) -> serde_json::Result<()> {
    WithCommon { ts_ns, c, record }.write_into(line)
}

impl WithCommon<'_> {
    /// The line's object, straight into `line`: the flow's fields, then
    /// the record's ([`Record::write_fields`], no intermediate `Value`).
    fn write_into(&self, line: &mut Vec<u8>) -> serde_json::Result<()> {
        let start = line.len();
        if self.write_object(line, true).is_err() {
            // A record that is not an object (no parser makes one) has no
            // fields of its own, as through a `Value`.
            line.truncate(start);
            self.write_object(line, false)?;
        }
        Ok(())
    }

    fn write_object(&self, line: &mut Vec<u8>, fields: bool) -> serde_json::Result<()> {
        let mut m = netsift_proto::json::Object::begin(line);
        m.entry("ts", &micros_to_secs(self.ts_ns))?;
        m.entry("uid", &self.c.uid)?;
        m.entry("src_ip", &self.c.src_ip)?;
        m.entry("src_port", &self.c.src_port)?;
        m.entry("dst_ip", &self.c.dst_ip)?;
        m.entry("dst_port", &self.c.dst_port)?;
        if fields {
            self.record.write_fields(&mut m, &COMMON_KEYS)?;
        }
        m.end();
        Ok(())
    }
}

/// Hosts counted at once for the summary's top hosts (it shows five).
/// Small enough for the map (16,384 buckets of 32 bytes) to stay in the
/// core's cache: with 65,536 hosts, a flood from a million sources made
/// every conn line two cache misses here, 18% of `analyze`'s time on a SYN
/// flood.
const MAX_HOSTS: usize = 8_192;

/// Keeps the heaviest quarter of the hosts (the top hosts are what the
/// summary shows): a flood from a million sources must not hold a million
/// entries. A pass costs the map's size once per `3 * MAX_HOSTS / 4` new
/// hosts, and allocates nothing: the map is cleared and refilled (clearing
/// leaves no tombstones, which erasing would: a flood of new hosts made
/// each later miss ~10x dearer), and `scratch` is kept between passes.
/// Keeping a half cost twice the map operations per new host (three
/// against 1.7) and a fresh 512 KiB table per pass. Ties are broken by the
/// smaller address, so the hosts kept do not depend on the map's order
/// (its seed) or on the order they came in.
fn prune_hosts<S: std::hash::BuildHasher>(
    map: &mut HashMap<IpAddr, u64, S>,
    scratch: &mut Vec<(u64, IpAddr)>,
) {
    scratch.clear();
    scratch.extend(map.iter().map(|(a, b)| (*b, *a)));
    let keep = scratch.len() / 4;
    if keep == 0 {
        return;
    }
    // The first `keep` by bytes (most first), then address.
    scratch.select_nth_unstable_by(keep, |x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
    map.clear();
    for &(b, a) in &scratch[..keep] {
        map.insert(a, b);
    }
}

/// Counters for the end-of-run summary.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// By netsift's own protocol names (not the sender's choice: Fx is
    /// safe here, and a conn line hashes one name).
    pub flows_by_protocol: HashMap<String, u64, rustc_hash::FxBuildHasher>,
    /// Bytes per host, for the top hosts: at most [`MAX_HOSTS`], the
    /// lighter three quarters dropped when full. The hosts are the sender's choice:
    /// hashed with a random seed (foldhash), as the detectors' maps, since
    /// addresses chosen to collide under an unkeyed hash (Fx) would make
    /// every flow of a flood probe the whole map. Nothing reported depends
    /// on its order ([`prune_hosts`], [`Summary::top`]).
    pub bytes_by_host: HashMap<IpAddr, u64, foldhash::fast::RandomState>,
    pub domains: HashMap<String, u64>,
    pub records_by_log: HashMap<&'static str, u64, rustc_hash::FxBuildHasher>,
    pub files: u64,
    /// [`prune_hosts`]'s list, kept between passes.
    hosts_scratch: Vec<(u64, IpAddr)>,
}

impl Summary {
    pub fn note_record(&mut self, log: &'static str, record: &Record) {
        *self.records_by_log.entry(log).or_default() += 1;
        if log == "files" {
            self.files += 1;
        }
        let domain = match RecordEvent::of(record) {
            RecordEvent::Dns(r) => r.query.as_deref(),
            RecordEvent::Http(r) => r.host.as_deref(),
            RecordEvent::Tls(r) => r.server_name.as_deref(),
            RecordEvent::Quic(r) => r.server_name.as_deref(),
            _ => None,
        };
        if let Some(d) = domain {
            if !d.is_empty() && self.domains.len() < 1_000_000 {
                let d = d.trim_end_matches('.').split(':').next().unwrap_or("");
                // Host headers that are addresses are not domains.
                if !d.is_empty() && d.parse::<IpAddr>().is_err() {
                    // A name seen before costs no allocation.
                    let d: std::borrow::Cow<'_, str> = if d.bytes().any(|c| c.is_ascii_uppercase())
                    {
                        d.to_ascii_lowercase().into()
                    } else {
                        d.into()
                    };
                    match self.domains.get_mut(&*d) {
                        Some(n) => *n += 1,
                        None => {
                            self.domains.insert(d.into_owned(), 1);
                        }
                    }
                }
            }
        }
    }

    pub fn note_conn(&mut self, rec: &FlowRecord) {
        match self.flows_by_protocol.get_mut(rec.protocol) {
            Some(n) => *n += 1,
            None => {
                self.flows_by_protocol.insert(rec.protocol.to_string(), 1);
            }
        }
        let bytes = rec.orig_bytes + rec.resp_bytes;
        if bytes == 0 {
            // Top hosts are by bytes (on the wire): a flow without any
            // adds nothing.
            return;
        }
        let Some((src, dst)) = rec.ip_pair() else {
            return;
        };
        for a in [src, dst] {
            // One lookup for a host seen before or a new one while there
            // is room (a flood's sources are all new); a second only after
            // a prune.
            let full = self.bytes_by_host.len() >= MAX_HOSTS;
            let prune = match self.bytes_by_host.entry(a) {
                Entry::Occupied(mut o) => {
                    *o.get_mut() += bytes;
                    false
                }
                Entry::Vacant(v) if !full => {
                    v.insert(bytes);
                    false
                }
                Entry::Vacant(_) => true,
            };
            if prune {
                prune_hosts(&mut self.bytes_by_host, &mut self.hosts_scratch);
                self.bytes_by_host.insert(a, bytes);
            }
        }
    }

    /// The `n` largest entries of a map, largest first (ties by key).
    pub fn top<K: Clone + Ord, S>(map: &HashMap<K, u64, S>, n: usize) -> Vec<(K, u64)> {
        let mut v: Vec<(K, u64)> = map.iter().map(|(k, c)| (k.clone(), *c)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }
}

/// How [`JsonlDir`] opens and rotates its files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JsonlOptions {
    /// Append to existing files instead of truncating them (live mode).
    pub append: bool,
    /// Rotate a file once it holds this many bytes.
    pub rotate_size: Option<u64>,
    /// Rotate every file this often (ns of packet time; see
    /// [`Output::tick`]).
    pub rotate_interval_ns: Option<u64>,
}

struct LogFile {
    w: BufWriter<File>,
    /// Bytes in the file (including what was there when appending).
    bytes: u64,
}

/// The current file of `log` in `dir`.
fn log_path(dir: &Path, log: &str) -> PathBuf {
    dir.join(format!("{log}.jsonl"))
}

fn open_log(path: &Path, append: bool) -> std::io::Result<LogFile> {
    let f = if append {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?
    } else {
        File::create(path)?
    };
    let bytes = f.metadata().map(|m| m.len()).unwrap_or(0);
    Ok(LogFile {
        w: BufWriter::with_capacity(LOG_BUFFER, f),
        bytes,
    })
}

/// Bytes a log file gathers before a `write`. With 8 KiB (`BufWriter`'s
/// default) the kernel's page-cache writes were a quarter of the writing
/// thread under a SYN flood (a million conn lines): most of it zeroing
/// each new page-cache folio that a small write covers only in part.
pub(crate) const LOG_BUFFER: usize = 256 * 1024;

/// One JSONL file per log in a directory.
///
/// Rotation (live mode): `conn.jsonl` is renamed `conn.<UTC time>.jsonl`
/// (e.g. `conn.20260122T101500Z.jsonl`, the packet time of the rotation;
/// `-1`, `-2`, ... are added if that name exists) and a new `conn.jsonl` is
/// started. Every record is in exactly one file; the current one always
/// has the plain name.
pub struct JsonlDir {
    dir: PathBuf,
    opts: JsonlOptions,
    /// By log name (netsift's own names: Fx, not SipHash, for a look-up
    /// per line).
    files: HashMap<&'static str, LogFile, rustc_hash::FxBuildHasher>,
    error: Option<std::io::Error>,
    summary: Summary,
    /// Latest packet time seen.
    now: u64,
    /// When the current rotation period started (packet time).
    period_start: Option<u64>,
    last_flush: u64,
    /// Files rotated so far.
    pub rotations: u64,
    /// One line being serialised (reused: no allocation per record).
    line: Vec<u8>,
}

impl JsonlDir {
    /// Creates (truncates) `conn.jsonl`, `files.jsonl`, `alerts.jsonl`.
    pub fn new(dir: &Path) -> std::io::Result<JsonlDir> {
        Self::with_options(dir, JsonlOptions::default())
    }

    pub fn with_options(dir: &Path, opts: JsonlOptions) -> std::io::Result<JsonlDir> {
        std::fs::create_dir_all(dir)?;
        let mut d = JsonlDir {
            dir: dir.to_path_buf(),
            opts,
            files: HashMap::default(),
            error: None,
            summary: Summary::default(),
            now: 0,
            period_start: None,
            last_flush: 0,
            rotations: 0,
            line: Vec::new(),
        };
        // conn.jsonl, files.jsonl and alerts.jsonl always exist, even when empty.
        for log in ["conn", "files", "alerts"] {
            let f = d.open(log)?;
            d.files.insert(log, f);
        }
        Ok(d)
    }

    fn path(&self, log: &str) -> PathBuf {
        log_path(&self.dir, log)
    }

    fn open(&self, log: &str) -> std::io::Result<LogFile> {
        open_log(&self.path(log), self.opts.append)
    }

    /// Renames the current file of `log` aside and starts a new one.
    fn rotate(&mut self, log: &'static str) -> std::io::Result<()> {
        let Some(mut f) = self.files.remove(log) else {
            return Ok(());
        };
        f.w.flush()?;
        drop(f);
        let stamp: String = rfc3339(self.now)
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == 'T')
            .take(15)
            .collect();
        let mut target = self.dir.join(format!("{log}.{stamp}Z.jsonl"));
        let mut n = 0;
        while target.exists() && n < 10_000 {
            n += 1;
            target = self.dir.join(format!("{log}.{stamp}Z-{n}.jsonl"));
        }
        std::fs::rename(self.path(log), &target)?;
        self.rotations += 1;
        let f = open_log(&self.path(log), false)?;
        self.files.insert(log, f);
        Ok(())
    }

    fn write<T: serde::Serialize + ?Sized>(&mut self, log: &'static str, v: &T) {
        self.write_with(log, |line| serde_json::to_writer(line, v));
    }

    /// Writes a line made ahead (by an `analyze --threads` worker),
    /// straight into the file's buffer: not through `line` first (at a
    /// line per SYN of a flood, that copy was most of the merging thread's
    /// `memmove`).
    fn write_made(&mut self, log: &'static str, made: &[u8]) {
        self.emit(log, |w, _| {
            w.write_all(made)?;
            w.write_all(b"\n")?;
            Ok(made.len() as u64 + 1)
        });
    }

    /// Writes the line that `render` puts into the (cleared) line buffer.
    fn write_with(
        &mut self,
        log: &'static str,
        render: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
    ) {
        self.emit(log, |w, line| {
            line.clear();
            render(&mut *line).map_err(std::io::Error::from)?;
            line.push(b'\n');
            w.write_all(line)?;
            Ok(line.len() as u64)
        });
    }

    /// Runs `put` on the file of `log` (opened on first use; one map
    /// look-up per line), which writes a line and says how many bytes.
    fn emit(
        &mut self,
        log: &'static str,
        put: impl FnOnce(&mut BufWriter<File>, &mut Vec<u8>) -> std::io::Result<u64>,
    ) {
        if self.error.is_some() {
            return;
        }
        let f = match self.files.entry(log) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                // (`self.open` would borrow all of `self`, `files` too.)
                match open_log(&log_path(&self.dir, log), self.opts.append) {
                    Ok(f) => v.insert(f),
                    Err(e) => {
                        self.error = Some(e);
                        return;
                    }
                }
            }
        };
        match put(&mut f.w, &mut self.line) {
            Ok(n) => f.bytes += n,
            Err(e) => self.error = Some(e),
        }
        let full = self.opts.rotate_size.is_some_and(|max| f.bytes >= max);
        if full {
            if let Err(e) = self.rotate(log) {
                self.error = Some(e);
            }
        }
    }

    fn note_time(&mut self, ts_ns: u64) {
        self.now = self.now.max(ts_ns);
    }
}

impl Output for JsonlDir {
    fn record(&mut self, log: &'static str, ts_ns: u64, common: &Common, record: &Record) {
        self.note_time(ts_ns);
        self.summary.note_record(log, record);
        // A line made by a worker with `jsonl_record_line` from the same
        // values, or made here.
        match record.rendered() {
            Some(made) => self.write_made(log, made),
            None => self.write_with(log, |buf| jsonl_record_line(buf, ts_ns, common, record)),
        }
    }

    fn conn(&mut self, ts_ns: u64, rec: &FlowRecord) {
        self.note_time(ts_ns);
        self.summary.note_conn(rec);
        // Written field by field (`FlowRecord::write_json`, serde_json's
        // bytes), or made so already by a worker.
        match rec.rendered.get() {
            Some(made) => self.write_made("conn", made),
            None => self.write_with("conn", |buf| {
                rec.write_json(buf);
                Ok(())
            }),
        }
    }

    fn alert(&mut self, a: &netsift_detect::alert::Alert) {
        self.note_time(a.ts);
        *self.summary.records_by_log.entry("alerts").or_default() += 1;
        self.write("alerts", a);
    }

    fn capture_damaged(&mut self, d: &CaptureDamage) {
        *self.summary.records_by_log.entry("weird").or_default() += 1;
        self.write("weird", &d.record());
    }

    fn tick(&mut self, now_ns: u64) {
        self.note_time(now_ns);
        let start = *self.period_start.get_or_insert(self.now);
        if let Some(every) = self.opts.rotate_interval_ns.filter(|n| *n > 0) {
            if self.now.saturating_sub(start) >= every && self.error.is_none() {
                // Periods are aligned on the first one: start + k * every.
                let k = (self.now - start) / every;
                self.period_start = Some(start + k * every);
                let logs: Vec<&'static str> = self.files.keys().copied().collect();
                for log in logs {
                    // An empty file is not worth a rotated copy.
                    if self.files.get(log).is_some_and(|f| f.bytes > 0) {
                        if let Err(e) = self.rotate(log) {
                            self.error = Some(e);
                            break;
                        }
                    }
                }
            }
        }
        // Readers (`tail -f`, a dashboard) see records within a second.
        if self.now.saturating_sub(self.last_flush) >= 1_000_000_000 {
            self.last_flush = self.now;
            for f in self.files.values_mut() {
                if let Err(e) = f.w.flush() {
                    self.error.get_or_insert(e);
                }
            }
        }
    }

    fn finish(&mut self) -> std::io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        for f in self.files.values_mut() {
            f.w.flush()?;
        }
        Ok(())
    }

    fn summary(&self) -> &Summary {
        &self.summary
    }
}

/// EVE output settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct EveOptions {
    /// Add a `netsift` object to each event (uid, evidence, confidence,
    /// layer) and write netsift's logs that Suricata has no event for.
    /// Such output no longer follows Suricata's schema.
    pub extras: bool,
    /// Community ID seed.
    pub community_id_seed: u16,
}

/// Suricata EVE: one stream of events in Suricata's field names and
/// layout (see [`super::eve`]), every event valid against Suricata's
/// published schema unless [`EveOptions::extras`] is on. Events are sorted
/// by time before writing (held in memory until the end of the run).
///
/// [`Eve::streaming`] (live mode) writes each event as it is made instead,
/// in the order made: a protocol event when its transaction completes, a
/// `flow` event when the flow ends (with the flow's start as `timestamp`),
/// an alert when raised. `timestamp`s are therefore not monotonic.
pub struct Eve<W: Write> {
    out: W,
    opts: EveOptions,
    events: Vec<(u64, u64, Value)>,
    seq: u64,
    summary: Summary,
    streaming: bool,
    error: Option<std::io::Error>,
    now: u64,
    last_flush: u64,
    /// Flows (by uid) that raised an alert, for `flow.alerted`.
    alerted: std::collections::HashSet<String>,
    /// Per flow and app-layer log, each transaction's EVE objects (`http`,
    /// `smtp` + `email`, `tls`, `ssh`), in transaction order: a rule alert
    /// about transaction N carries them, as Suricata's alerts do.
    tx_meta: HashMap<(String, &'static str), Vec<TxObjects>>,
    /// Rule alerts waiting for their transaction's objects: (index in
    /// `events`, uid, log, tx).
    tx_alerts: Vec<(usize, String, &'static str, u64)>,
    /// Per flow and transaction, the `fileinfo` objects of its files.
    tx_files: HashMap<(String, u64), Vec<Value>>,
}

/// The logs whose records are transactions a rule alert carries the
/// objects of (the log's name is also the EVE `app_proto`).
fn tx_log(name: &str) -> Option<&'static str> {
    ["http", "smtp", "tls", "ssh"]
        .into_iter()
        .find(|l| *l == name)
}

/// One transaction's EVE objects (`http`, `smtp`, `email`, ...).
type TxObjects = Vec<(&'static str, Value)>;

/// Transactions whose EVE objects are kept for alerts, at once.
const MAX_TX_META: usize = 1 << 20;

/// Flows remembered as alerted at once (beyond, `alerted` may miss some).
const MAX_ALERTED: usize = 1 << 20;

impl<W: Write> Eve<W> {
    pub fn new(out: W) -> Self {
        Self::with_options(out, EveOptions::default())
    }

    pub fn with_options(out: W, opts: EveOptions) -> Self {
        Eve {
            out,
            opts,
            events: Vec::new(),
            seq: 0,
            summary: Summary::default(),
            streaming: false,
            error: None,
            now: 0,
            last_flush: 0,
            alerted: std::collections::HashSet::new(),
            tx_meta: HashMap::new(),
            tx_alerts: Vec::new(),
            tx_files: HashMap::new(),
        }
    }

    /// Writes every event at once (bounded memory; see the type's docs).
    pub fn streaming(out: W, opts: EveOptions) -> Self {
        Eve {
            streaming: true,
            ..Self::with_options(out, opts)
        }
    }

    fn push(&mut self, ts_ns: u64, v: Value) {
        self.seq += 1;
        if !self.streaming {
            self.events.push((ts_ns, self.seq, v));
            return;
        }
        if self.error.is_some() {
            return;
        }
        let r = serde_json::to_writer(&mut self.out, &v)
            .map_err(std::io::Error::from)
            .and_then(|_| self.out.write_all(b"\n"));
        if let Err(e) = r {
            self.error = Some(e);
        }
    }

    /// `timestamp`, `flow_id`, `event_type`, the endpoints, `proto`,
    /// `community_id`: the head of every flow's event.
    fn head(&self, ts_ns: u64, event_type: &str, c: &Common) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("timestamp".into(), Value::from(eve::eve_time(ts_ns)));
        m.insert("flow_id".into(), Value::from(eve::flow_id(&c.uid)));
        m.insert("event_type".into(), Value::from(event_type));
        m.insert("src_ip".into(), Value::from(c.src_ip.to_string()));
        let ports = matches!(c.proto, 6 | 17 | 132);
        if ports {
            m.insert("src_port".into(), Value::from(c.src_port));
        }
        m.insert("dest_ip".into(), Value::from(c.dst_ip.to_string()));
        if ports {
            m.insert("dest_port".into(), Value::from(c.dst_port));
        }
        m.insert("proto".into(), Value::from(eve::proto_name(c.proto)));
        m.insert(
            "community_id".into(),
            Value::from(
                netsift_flow::community_id::community_id_v1(
                    self.opts.community_id_seed,
                    c.proto,
                    c.src_ip,
                    c.dst_ip,
                    c.src_port,
                    c.dst_port,
                )
                .as_str(),
            ),
        );
        m
    }
}

/// RFC 3339 UTC timestamp with microseconds (netsift's JSONL alerts).
pub use netsift_detect::alert::rfc3339;

impl<W: Write> Output for Eve<W> {
    fn record(&mut self, log: &'static str, ts_ns: u64, c: &Common, record: &Record) {
        self.summary.note_record(log, record);
        let record = record.to_json();
        let events = eve::events(log, &record);
        if events.is_empty() {
            if self.opts.extras {
                let mut m = self.head(ts_ns, log, c);
                m.insert(
                    "netsift".into(),
                    serde_json::json!({"uid": c.uid, "log": log, "record": record}),
                );
                self.push(ts_ns, Value::Object(m));
            }
            return;
        }
        let meta_log = tx_log(log);
        // Files by transaction: a rule alert about transaction N lists
        // them in `files`, as Suricata's alerts do.
        if let (Some(e), Some(tx), false) = (
            events.first().filter(|_| log == "files"),
            record.get("tx_id").and_then(Value::as_u64),
            self.streaming,
        ) {
            if let (Some((_, fi)), true) = (
                e.body.iter().find(|(k, _)| *k == "fileinfo"),
                self.tx_meta.len() < MAX_TX_META,
            ) {
                self.tx_files
                    .entry((c.uid.to_string(), tx))
                    .or_default()
                    .push(fi.clone());
            }
        }
        if let (Some(l), Some(e), false) = (meta_log, events.first(), self.streaming) {
            if self.tx_meta.len() < MAX_TX_META {
                let body = e.body.iter().map(|(k, v)| (*k, v.clone())).collect();
                self.tx_meta
                    .entry((c.uid.to_string(), l))
                    .or_default()
                    .push(body);
            }
        }
        for e in events {
            let (ts, mut m) = match e.reply {
                None => (ts_ns, self.head(ts_ns, e.event_type, c)),
                Some(after) => {
                    let ts = ts_ns.saturating_add(after);
                    let back = Common {
                        src_ip: c.dst_ip,
                        src_port: c.dst_port,
                        dst_ip: c.src_ip,
                        dst_port: c.src_port,
                        ..c.clone()
                    };
                    (ts, self.head(ts, e.event_type, &back))
                }
            };
            if let Some(app) = e.app_proto {
                m.insert("app_proto".into(), Value::from(app));
            }
            for (k, v) in e.body {
                m.insert(k.into(), v);
            }
            if self.opts.extras {
                m.insert(
                    "netsift".into(),
                    serde_json::json!({"uid": c.uid, "log": log, "record": record}),
                );
            }
            self.push(ts, Value::Object(m));
        }
    }

    fn conn(&mut self, ts_ns: u64, rec: &FlowRecord) {
        self.summary.note_conn(rec);
        let Some((src_ip, dst_ip)) = rec.ip_pair() else {
            return;
        };
        let c = Common {
            uid: rec.uid.clone(),
            src_ip,
            src_port: rec.src_port,
            dst_ip,
            dst_port: rec.dst_port,
            proto: netsift_flow::l4_number(&rec.l4),
        };
        let mut m = self.head(ts_ns, "flow", &c);
        // Suricata names the protocol of flows it parsed; a flow with data
        // that nothing recognised is "failed"; a flow without data has none.
        match eve::app_proto(rec.protocol) {
            Some(a) => {
                m.insert("app_proto".into(), Value::from(a));
            }
            None if rec.protocol == "Unknown"
                && rec.orig_payload_bytes + rec.resp_payload_bytes > 0 =>
            {
                m.insert("app_proto".into(), Value::from("failed"));
            }
            None => {}
        }
        if let Some(v) = rec.vlan {
            let mut vl = vec![Value::from(v)];
            vl.extend(rec.inner_vlan.map(Value::from));
            m.insert("vlan".into(), Value::Array(vl));
        }
        let alerted = self.alerted.remove(rec.uid.as_str());
        m.insert("flow".into(), eve::flow_object(rec, ts_ns, alerted));
        if self.opts.extras {
            m.insert(
                "netsift".into(),
                serde_json::json!({
                    "uid": rec.uid,
                    "protocol": rec.protocol,
                    "app": rec.app,
                    "confidence": rec.confidence,
                    "source": rec.source,
                    "evidence": rec.evidence,
                    "conn_state": rec.conn_state,
                    "history": rec.history,
                }),
            );
        }
        self.push(ts_ns, Value::Object(m));
    }

    fn alert(&mut self, a: &netsift_detect::alert::Alert) {
        let mut m = Map::new();
        m.insert("timestamp".into(), Value::from(eve::eve_time(a.ts)));
        if let Some(uid) = &a.uid {
            m.insert("flow_id".into(), Value::from(eve::flow_id(uid)));
            if self.alerted.len() < MAX_ALERTED {
                self.alerted.insert(uid.clone());
            }
        }
        m.insert("event_type".into(), Value::from("alert"));
        if let Some(e) = &a.endpoints {
            m.insert("src_ip".into(), Value::from(e.src_ip.to_string()));
            if let Some(p) = e.src_port {
                m.insert("src_port".into(), Value::from(p));
            }
            m.insert("dest_ip".into(), Value::from(e.dst_ip.to_string()));
            if let Some(p) = e.dst_port {
                m.insert("dest_port".into(), Value::from(p));
            }
        }
        m.insert("alert".into(), eve::alert_object(a));
        let mut tx_wait = None;
        if let Some(h) = &a.rule_hit {
            // Packet and flow context at the moment of the alert (proto,
            // pcap_cnt, tx_id, app_proto, flow counters), as Suricata
            // writes it beside the alert; the transaction's objects are
            // added when the output is written.
            if let Some(tx) = h.tx_id {
                m.insert("tx_id".into(), Value::from(tx));
                let log = h
                    .context
                    .get("app_proto")
                    .and_then(Value::as_str)
                    .and_then(tx_log);
                if let (Some(log), Some(uid), false) = (log, &a.uid, self.streaming) {
                    tx_wait = Some((uid.clone(), log, tx));
                }
            }
            for (k, v) in &h.context {
                m.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        if self.opts.extras {
            m.insert(
                "netsift".into(),
                serde_json::to_value(a).unwrap_or(Value::Null),
            );
        }
        self.push(a.ts, Value::Object(m));
        if let Some((uid, log, tx)) = tx_wait {
            if self.tx_alerts.len() < MAX_TX_META {
                self.tx_alerts
                    .push((self.events.len().saturating_sub(1), uid, log, tx));
            }
        }
    }

    fn tick(&mut self, now_ns: u64) {
        self.now = self.now.max(now_ns);
        if self.streaming && self.now.saturating_sub(self.last_flush) >= 1_000_000_000 {
            self.last_flush = self.now;
            if let Err(e) = self.out.flush() {
                self.error.get_or_insert(e);
            }
        }
    }

    fn finish(&mut self) -> std::io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let mut events = std::mem::take(&mut self.events);
        for (i, uid, log, tx) in std::mem::take(&mut self.tx_alerts) {
            let Some((_, _, Value::Object(m))) = events.get_mut(i) else {
                continue;
            };
            if let Some(files) = self.tx_files.get(&(uid.clone(), tx)) {
                m.entry("files")
                    .or_insert_with(|| Value::Array(files.clone()));
            }
            let Some(objs) = self
                .tx_meta
                .get(&(uid, log))
                .and_then(|v| v.get(usize::try_from(tx).unwrap_or(usize::MAX)))
            else {
                continue;
            };
            // What the alert captured at its moment (`http.length`) wins
            // over the transaction's final values.
            for (k, v) in objs {
                match (m.get_mut(*k), v) {
                    (Some(Value::Object(now)), Value::Object(fin)) => {
                        for (fk, fv) in fin {
                            now.entry(fk.clone()).or_insert_with(|| fv.clone());
                        }
                    }
                    (Some(_), _) => {}
                    (None, _) => {
                        m.insert(k.to_string(), v.clone());
                    }
                }
            }
        }
        events.sort_by_key(|(ts, seq, _)| (*ts, *seq));
        for (_, _, v) in events {
            serde_json::to_writer(&mut self.out, &v)?;
            self.out.write_all(b"\n")?;
        }
        self.out.flush()
    }

    fn summary(&self) -> &Summary {
        &self.summary
    }
}

/// Everything written to two outputs (`-o DIR` and `--db FILE` together).
/// The summary is the first output's; `finish` finishes both and returns
/// the first error.
pub struct Tee<'a> {
    pub first: Box<dyn Output + 'a>,
    pub second: Box<dyn Output + 'a>,
}

impl Output for Tee<'_> {
    fn record(&mut self, log: &'static str, ts_ns: u64, common: &Common, record: &Record) {
        self.second.record(log, ts_ns, common, record);
        self.first.record(log, ts_ns, common, record);
    }

    fn conn(&mut self, ts_ns: u64, rec: &FlowRecord) {
        self.first.conn(ts_ns, rec);
        self.second.conn(ts_ns, rec);
    }

    fn alert(&mut self, alert: &netsift_detect::alert::Alert) {
        self.first.alert(alert);
        self.second.alert(alert);
    }

    fn flow_flagged(&mut self, uid: &str, alert: &netsift_detect::alert::Alert) {
        self.first.flow_flagged(uid, alert);
        self.second.flow_flagged(uid, alert);
    }

    fn capture_damaged(&mut self, d: &CaptureDamage) {
        self.first.capture_damaged(d);
        self.second.capture_damaged(d);
    }

    fn tick(&mut self, now_ns: u64) {
        self.first.tick(now_ns);
        self.second.tick(now_ns);
    }

    fn finish(&mut self) -> std::io::Result<()> {
        let a = self.first.finish();
        let b = self.second.finish();
        a.and(b)
    }

    fn summary(&self) -> &Summary {
        self.first.summary()
    }
}

#[cfg(test)]
mod tests {
    /// The hosts a prune keeps are the heaviest half, ties broken by the
    /// smaller address: the same whatever order the hosts came in and
    /// whatever the maps' seeds.
    #[test]
    fn pruned_hosts_do_not_depend_on_order_or_seed() {
        let hosts: Vec<(IpAddr, u64)> = (0..3_000u32)
            .map(|i| {
                // Many ties: five byte counts over 3,000 hosts.
                let a = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i * 7919 % 65_536));
                (a, 60 * u64::from(i % 5 + 1))
            })
            .collect();
        let fill = |order: &mut dyn Iterator<Item = &(IpAddr, u64)>| {
            let mut m: HashMap<IpAddr, u64, foldhash::fast::RandomState> = HashMap::default();
            for (a, b) in order {
                *m.entry(*a).or_default() += b;
            }
            prune_hosts(&mut m, &mut Vec::new());
            let mut kept: Vec<(IpAddr, u64)> = m.into_iter().collect();
            kept.sort();
            kept
        };
        let forward = fill(&mut hosts.iter());
        let backward = fill(&mut hosts.iter().rev());
        assert_eq!(forward.len(), 750);
        assert_eq!(forward, backward);
        // The heaviest first: every host of 300 bytes (600 of them), then
        // the 240-byte ones with the smallest addresses.
        let min_kept = forward.iter().map(|h| h.1).min();
        assert_eq!(min_kept, Some(240));
        let last_240 = forward.iter().filter(|h| h.1 == 240).map(|h| h.0).max();
        let dropped_240 = hosts
            .iter()
            .filter(|h| h.1 == 240 && Some(h.0) > last_240)
            .count();
        assert_eq!(dropped_240, 600 - 150);
    }

    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000Z");
        // 2020-09-13T12:26:40Z = 1600000000.
        assert_eq!(
            rfc3339(1_600_000_000_123_456_789),
            "2020-09-13T12:26:40.123456Z"
        );
        // Leap day.
        assert_eq!(
            rfc3339(951_782_400_000_000_000),
            "2000-02-29T00:00:00.000000Z"
        );
    }

    #[test]
    fn common_fields_come_first() {
        let c = Common {
            uid: "Cabc".into(),
            src_ip: "10.0.0.1".parse().expect("ip"),
            src_port: 1,
            dst_ip: "::1".parse().expect("ip"),
            dst_port: 2,
            proto: 6,
        };
        let mut line = Vec::new();
        WithCommon {
            ts_ns: 1_000_000_000,
            c: &c,
            record: &Record::json(serde_json::json!({"uid": "spoofed", "method": "GET"})),
        }
        .write_into(&mut line)
        .expect("serialise");
        let text = String::from_utf8(line).expect("utf-8");
        let v: Value = serde_json::from_str(&text).expect("json");
        let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
        assert_eq!(
            keys[..6],
            ["ts", "uid", "src_ip", "src_port", "dst_ip", "dst_port"]
        );
        assert_eq!(v["uid"], "Cabc");
        assert_eq!(v["method"], "GET");
    }

    #[test]
    fn a_record_that_is_not_an_object_gives_the_flow_fields_alone() {
        let mut line = b"kept ".to_vec();
        jsonl_record_line(
            &mut line,
            1_000_000,
            &common(),
            &Record::typed(vec![1u8, 2]),
        )
        .expect("serialise");
        assert_eq!(
            String::from_utf8(line).expect("utf-8"),
            r#"kept {"ts":0.001,"uid":"Cabc","src_ip":"10.0.0.1","src_port":1,"dst_ip":"10.0.0.2","dst_port":80}"#
        );
    }

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("netsift-out-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn common() -> Common {
        Common {
            uid: "Cabc".into(),
            src_ip: "10.0.0.1".parse().expect("ip"),
            src_port: 1,
            dst_ip: "10.0.0.2".parse().expect("ip"),
            dst_port: 80,
            proto: 6,
        }
    }

    /// Every line of every `log*.jsonl` file in `dir`, and the file count.
    fn lines_of(dir: &Path, log: &str) -> (usize, usize) {
        let mut files = 0;
        let mut lines = 0;
        for e in std::fs::read_dir(dir).expect("dir").flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with(&format!("{log}.")) && name.ends_with(".jsonl") {
                files += 1;
                let text = std::fs::read_to_string(e.path()).expect("read");
                for l in text.lines() {
                    let v: Value = serde_json::from_str(l).expect("whole json lines");
                    assert_eq!(v["uid"], "Cabc");
                    lines += 1;
                }
            }
        }
        (files, lines)
    }

    #[test]
    fn live_mode_appends_instead_of_truncating() {
        let dir = tmpdir("append");
        let opts = JsonlOptions {
            append: true,
            ..JsonlOptions::default()
        };
        for run in 0..2u64 {
            let mut o = JsonlDir::with_options(&dir, opts).expect("open");
            o.record(
                "http",
                run,
                &common(),
                &Record::from(serde_json::json!({"run": run})),
            );
            o.finish().expect("finish");
        }
        assert_eq!(lines_of(&dir, "http"), (1, 2));
        // Without append (analyze), a new run starts the file over.
        let mut o = JsonlDir::new(&dir).expect("open");
        o.record("http", 0, &common(), &Record::from(serde_json::json!({})));
        o.finish().expect("finish");
        assert_eq!(lines_of(&dir, "http"), (1, 1));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn rotation_by_size_keeps_every_record_once() {
        let dir = tmpdir("size");
        let opts = JsonlOptions {
            append: true,
            rotate_size: Some(1000),
            rotate_interval_ns: None,
        };
        let mut o = JsonlDir::with_options(&dir, opts).expect("open");
        let ts = 1_700_000_000_000_000_000u64;
        for i in 0..100u64 {
            o.record(
                "http",
                ts + i,
                &common(),
                &Record::from(serde_json::json!({"i": i, "pad": "x".repeat(50)})),
            );
        }
        o.finish().expect("finish");
        let (files, lines) = lines_of(&dir, "http");
        assert_eq!(lines, 100);
        assert!(files >= 10, "{files} files");
        assert!(o.rotations >= 9);
        // Rotated names carry the UTC time of the rotation (2023-11-14).
        assert!(dir.join("http.20231114T221320Z.jsonl").exists());
        assert!(dir.join("http.20231114T221320Z-1.jsonl").exists());
        for e in std::fs::read_dir(&dir).expect("dir").flatten() {
            let len = e.metadata().expect("meta").len();
            assert!(len < 1000 + 200, "{:?} {len}", e.file_name());
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn rotation_by_time_follows_packet_time() {
        let dir = tmpdir("time");
        let opts = JsonlOptions {
            append: true,
            rotate_size: None,
            rotate_interval_ns: Some(60_000_000_000),
        };
        let mut o = JsonlDir::with_options(&dir, opts).expect("open");
        let t0 = 1_700_000_000_000_000_000u64;
        o.tick(t0);
        for i in 0..10u64 {
            // One record every 20 s of packet time, a tick with each.
            let t = t0 + i * 20_000_000_000;
            o.tick(t);
            o.record(
                "dns",
                t,
                &common(),
                &Record::from(serde_json::json!({"i": i})),
            );
        }
        // An idle minute: the clock alone rotates.
        o.tick(t0 + 300_000_000_000);
        o.finish().expect("finish");
        let (files, lines) = lines_of(&dir, "dns");
        assert_eq!(lines, 10);
        // Periods [0,60) [60,120) [120,180) [180,240) hold records; the
        // current file is empty after the idle rotation.
        assert_eq!(files, 5, "4 rotated + the current one");
        assert_eq!(
            std::fs::metadata(dir.join("dns.jsonl"))
                .expect("current")
                .len(),
            0
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
