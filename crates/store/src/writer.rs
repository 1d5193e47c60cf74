//! Writing an analysis into the store.
//!
//! Records, files and alerts of a flow arrive before its `conn` record
//! (the flow record is written when the flow ends); they are linked to the
//! flow by `(capture_id, uid)`, which is unique within a capture. The text
//! a flow's records name (hosts, URIs, queries, SNI, file names) is held
//! per uid until the flow record arrives, then indexed for search under
//! the flow's id. That pending text is bounded per flow.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::Ordering;

use netsift_detect::alert::Alert;
use netsift_engine::analyze::output::{Common, Output, Record, Summary};
use netsift_engine::FlowRecord;
use rusqlite::{params, Connection};
use serde_json::{json, Value};

use crate::db::Db;
use crate::pg::PgSink;
use crate::{Result, Store, StoreError};

/// Rows written per transaction.
const BATCH_ROWS: usize = 20_000;
/// Most search text kept per flow.
const MAX_TEXT_PER_FLOW: usize = 2048;
/// Record fields whose text is searchable.
const TEXT_FIELDS: &[&str] = &[
    "host",
    "uri",
    "query",
    "server_name",
    "name",
    "user",
    "username",
    "subject",
    "mailfrom",
];

/// A capture about to be analysed.
#[derive(Debug, Clone, Default)]
pub struct CaptureInfo {
    /// Display name (the file name as given or uploaded).
    pub name: String,
    /// Where the capture is (for per-flow pcaps), if kept.
    pub path: Option<String>,
    pub size: u64,
    pub sha256: Option<String>,
    /// The flow table's uid seed used for this capture.
    pub uid_seed: u64,
    /// The flow-table settings of the analysis (JSON: `max_flows`,
    /// `tcp_idle_ns`, `udp_idle_ns`, `other_idle_ns`, `active_timeout_ns`).
    pub flow_settings: Option<serde_json::Value>,
    /// The sensor that captured it (`--sensor`, default the host name).
    pub sensor: String,
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Insert a capture row (status `queued`); its id.
pub fn new_capture(db: &Db, info: &CaptureInfo) -> Result<i64> {
    crate::pg::insert_capture(db, info, now_secs())
}

/// Mark a capture failed (e.g. it could not be read at all).
pub fn fail_capture(db: &Db, id: i64, error: &str) -> Result<()> {
    db.exec(
        "UPDATE captures SET status = 'failed', error = ?2 WHERE id = ?1",
        &crate::vals![id, error],
    )?;
    Ok(())
}

/// A flow row as written.
#[derive(Debug, Clone)]
pub(crate) struct FlowW {
    pub capture_id: i64,
    pub uid: String,
    pub ts: i64,
    pub duration: f64,
    pub l4: String,
    pub src_ip: String,
    pub src_port: u16,
    pub dst_ip: String,
    pub dst_port: u16,
    pub vlan: Option<i64>,
    pub tunnel: Option<String>,
    pub protocol: &'static str,
    pub app: Option<String>,
    pub confidence: &'static str,
    pub source: &'static str,
    pub evidence: String,
    pub orig_pkts: i64,
    pub resp_pkts: i64,
    pub orig_bytes: i64,
    pub resp_bytes: i64,
    pub bytes: i64,
    pub conn_state: &'static str,
    pub history: String,
    pub community_id: String,
    pub end_reason: &'static str,
    /// The searchable text of its records.
    pub text: Option<String>,
}

impl FlowW {
    fn new(capture_id: i64, rec: &FlowRecord, text: Option<String>) -> FlowW {
        FlowW {
            capture_id,
            uid: rec.uid.to_string(),
            ts: (rec.ts * 1e6).round() as i64,
            duration: rec.duration,
            l4: rec.l4.to_string(),
            src_ip: rec.src_ip.to_string(),
            src_port: rec.src_port,
            dst_ip: rec.dst_ip.to_string(),
            dst_port: rec.dst_port,
            vlan: rec.vlan.map(i64::from),
            tunnel: rec.tunnel.map(str::to_string),
            protocol: rec.protocol,
            app: rec.app.clone(),
            confidence: rec.confidence.as_str(),
            source: rec.source,
            evidence: rec.evidence.to_string(),
            orig_pkts: rec.orig_pkts as i64,
            resp_pkts: rec.resp_pkts as i64,
            orig_bytes: rec.orig_bytes as i64,
            resp_bytes: rec.resp_bytes as i64,
            bytes: (rec.orig_bytes + rec.resp_bytes) as i64,
            conn_state: rec.conn_state,
            history: rec.history.to_string(),
            community_id: rec.community_id.to_string(),
            end_reason: rec.end_reason,
            text,
        }
    }
}

/// A protocol record as written.
#[derive(Debug, Clone)]
pub(crate) struct RecordW {
    pub capture_id: i64,
    pub uid: String,
    pub log: &'static str,
    pub ts: i64,
    pub json: String,
}

/// A carved file as written.
#[derive(Debug, Clone)]
pub(crate) struct FileW {
    pub capture_id: i64,
    pub uid: String,
    pub ts: i64,
    pub source: String,
    pub name: Option<String>,
    pub mime: String,
    pub size: i64,
    pub sha256: String,
    pub complete: bool,
    pub path: Option<String>,
    /// Content verdict and its reasons (a JSON array).
    pub verdict: Option<String>,
    pub reasons: Option<String>,
}

impl FileW {
    fn new(capture_id: i64, uid: &str, ts: i64, record: &Value) -> FileW {
        let s = |k: &str| record.get(k).and_then(Value::as_str).map(str::to_string);
        FileW {
            capture_id,
            uid: uid.to_string(),
            ts,
            source: s("source").unwrap_or_default(),
            name: s("name"),
            mime: s("mime_type").unwrap_or_default(),
            size: record.get("size").and_then(Value::as_i64).unwrap_or(0),
            sha256: s("sha256").unwrap_or_default(),
            complete: record
                .get("complete")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            path: s("extracted"),
            verdict: s("verdict"),
            reasons: record.get("verdict_reasons").map(Value::to_string),
        }
    }
}

/// An alert as written.
#[derive(Debug, Clone)]
pub(crate) struct AlertW {
    pub capture_id: i64,
    pub uid: Option<String>,
    pub ts: i64,
    pub kind: &'static str,
    pub rule: String,
    pub severity: String,
    pub src_ip: Option<String>,
    pub src_port: Option<u16>,
    pub dst_ip: Option<String>,
    pub dst_port: Option<u16>,
    pub json: String,
}

impl AlertW {
    fn new(capture_id: i64, a: &Alert) -> AlertW {
        let ep = a.endpoints.as_ref();
        AlertW {
            capture_id,
            uid: a.uid.clone(),
            ts: (a.ts / 1000) as i64,
            kind: a.kind.as_str(),
            rule: a.rule.clone(),
            severity: serde_json::to_value(a.severity)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            src_ip: ep.map(|e| e.src_ip.to_string()),
            src_port: ep.and_then(|e| e.src_port),
            dst_ip: ep.map(|e| e.dst_ip.to_string()),
            dst_port: ep.and_then(|e| e.dst_port),
            json: serde_json::to_string(a).unwrap_or_else(|_| json!({}).to_string()),
        }
    }
}

/// Where rows go.
enum Backend {
    Sqlite(Box<Lite>),
    Postgres(Box<PgSink>),
}

/// SQLite: inserts in batched transactions on this thread.
struct Lite {
    /// Always `Db::Sqlite`.
    db: Db,
    in_tx: bool,
    rows: usize,
    /// Packet time of the last commit made by [`Output::tick`].
    last_commit_ns: u64,
}

struct Writer {
    backend: Backend,
    capture: Option<i64>,
    pending_text: HashMap<String, String>,
    /// This capture's counters (domains for the dashboard).
    per_capture: Summary,
    error: Option<StoreError>,
}

/// What the store did with the rows (PostgreSQL: written, dropped after
/// the queue bound or the retry deadline, failed attempts).
#[derive(Debug, Clone, Default)]
pub struct WriteStats {
    pub written: u64,
    pub dropped: u64,
    pub failures: u64,
    pub last_error: Option<String>,
}

/// The handle the caller keeps to start and end captures while the
/// [`StoreOutput`] sits inside the analyzer's output chain.
#[derive(Clone)]
pub struct StoreHandle(Rc<RefCell<Writer>>);

/// The store as an analysis output.
pub struct StoreOutput {
    w: Rc<RefCell<Writer>>,
    /// The whole run's counters (for `Output::summary`).
    summary: Summary,
}

impl StoreOutput {
    /// An output writing into `store`, and the handle that starts/ends captures.
    pub fn new(store: Store) -> (StoreOutput, StoreHandle) {
        let backend = match store.db {
            Db::Sqlite(conn) => {
                // The writer touches every index of the flows table for each
                // row: a larger page cache keeps their hot pages (64 MiB at most).
                let _ = conn.execute_batch("PRAGMA cache_size = -65536");
                Backend::Sqlite(Box::new(Lite {
                    db: Db::Sqlite(conn),
                    in_tx: false,
                    rows: 0,
                    last_commit_ns: 0,
                }))
            }
            Db::Postgres(pg) => {
                let (cfg, url) = {
                    let p = pg.borrow();
                    (p.cfg.clone(), p.url.clone())
                };
                Backend::Postgres(Box::new(PgSink::start(&cfg, &url, Db::Postgres(pg))))
            }
        };
        let w = Rc::new(RefCell::new(Writer {
            backend,
            capture: None,
            pending_text: HashMap::new(),
            per_capture: Summary::default(),
            error: None,
        }));
        (
            StoreOutput {
                w: w.clone(),
                summary: Summary::default(),
            },
            StoreHandle(w),
        )
    }
}

impl StoreHandle {
    /// Register a new capture and direct the following rows to it.
    pub fn begin_capture(&self, info: &CaptureInfo) -> Result<i64> {
        let mut w = self.0.borrow_mut();
        // Until the new row exists, rows belong to no capture (not to the
        // previous one).
        w.capture = None;
        let info = info.clone();
        let id = w.call(move |db| {
            let id = new_capture(db, &info)?;
            start(db, id)?;
            Ok(id)
        })?;
        w.started(id);
        Ok(id)
    }

    /// Direct the following rows to an existing capture row (made by
    /// [`new_capture`], e.g. when the upload was received).
    pub fn attach_capture(&self, id: i64) -> Result<()> {
        let mut w = self.0.borrow_mut();
        w.call(move |db| start(db, id))?;
        w.started(id);
        Ok(())
    }

    /// A live capture (`netsift watch --db`): commit what was written so
    /// far, recompute the capture's dashboard figures and counters, and mark
    /// it `live`, so `netsift serve` shows the traffic while it happens.
    /// PostgreSQL: done by the writer thread when the server is there,
    /// never waited for.
    pub fn refresh_live(&self, packets: u64, flows: u64) -> Result<()> {
        let mut w = self.0.borrow_mut();
        w.commit_figures("live", None, packets, flows, false)
            .map(|_| ())
    }

    /// Commit the capture's rows, compute its dashboard figures and mark
    /// it done (or failed with `error`).
    pub fn end_capture(&self, packets: u64, flows: u64, error: Option<&str>) -> Result<()> {
        let mut w = self.0.borrow_mut();
        let status = if error.is_some() { "failed" } else { "done" };
        let r = w.commit_figures(status, error, packets, flows, true);
        w.pending_text.clear();
        if !r? {
            return Ok(());
        }
        if let Backend::Sqlite(l) = &w.backend {
            // SQLite's advice after bulk changes: refresh the query planner's
            // statistics where they are stale (cheap; bounded by analysis_limit).
            l.conn()?
                .execute_batch("PRAGMA analysis_limit = 1000; PRAGMA optimize;")?;
        }
        Ok(())
    }

    /// Rows written, dropped and failed attempts (PostgreSQL; SQLite
    /// reports errors instead of dropping).
    pub fn stats(&self) -> WriteStats {
        let w = self.0.borrow();
        match &w.backend {
            Backend::Sqlite(_) => WriteStats::default(),
            Backend::Postgres(p) => WriteStats {
                written: p.shared.written.load(Ordering::Relaxed),
                dropped: p.shared.dropped.load(Ordering::Relaxed),
                failures: p.shared.failures.load(Ordering::Relaxed),
                last_error: p.shared.last_error.lock().ok().and_then(|l| l.clone()),
            },
        }
    }

    /// Write what is left and stop the writer (PostgreSQL: waits up to the
    /// retry deadline). [`StoreHandle::stats`] is final afterwards.
    pub fn close(&self) {
        let mut w = self.0.borrow_mut();
        if let Backend::Postgres(p) = &mut w.backend {
            p.close();
        }
    }
}

/// Mark a capture running.
fn start(db: &Db, id: i64) -> Result<()> {
    db.exec(
        "UPDATE captures SET status = 'running' WHERE id = ?1",
        &crate::vals![id],
    )?;
    Ok(())
}

impl Writer {
    /// Run `f` on the database after the rows so far are written.
    fn call<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&Db) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        match &mut self.backend {
            Backend::Sqlite(l) => {
                l.commit()?;
                f(&l.db)
            }
            Backend::Postgres(p) => p.call(f),
        }
    }

    fn started(&mut self, id: i64) {
        self.capture = Some(id);
        self.per_capture = Summary::default();
        self.pending_text.clear();
    }

    /// Commits the rows so far, recomputes the current capture's dashboard
    /// figures and sets its status and counters. False without a capture.
    fn commit_figures(
        &mut self,
        status: &str,
        error: Option<&str>,
        packets: u64,
        flows: u64,
        wait: bool,
    ) -> Result<bool> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let Some(id) = self.capture else {
            if let Backend::Sqlite(l) = &mut self.backend {
                l.commit()?;
            }
            return Ok(false);
        };
        let domains = Summary::top(&self.per_capture.domains, 10);
        let (status, error) = (status.to_string(), error.map(str::to_string));
        let figures = move |db: &Db| {
            let stats = crate::query::compute_stats(db, id, &domains)?;
            db.exec(
                "UPDATE captures SET status = ?2, error = ?3, packets = ?4, flows = ?5,
                   first_ts = ?6, last_ts = ?7, stats = ?8,
                   bytes_read = CASE WHEN ?2 = 'live' THEN bytes_read ELSE size END
                 WHERE id = ?1",
                &crate::vals![
                    id,
                    status,
                    error,
                    packets as i64,
                    flows as i64,
                    stats.first_ts,
                    stats.last_ts,
                    stats.json.to_string()
                ],
            )?;
            Ok(())
        };
        match &mut self.backend {
            Backend::Postgres(p) if !wait => p.try_call(figures),
            _ => self.call(figures)?,
        }
        Ok(true)
    }

    fn keep(&mut self, r: Result<()>) {
        if let Err(e) = r {
            if self.error.is_none() {
                self.error = Some(e);
            }
        }
    }

    fn note_text(&mut self, uid: &str, record: &Value) {
        let Some(obj) = record.as_object() else {
            return;
        };
        let mut add = String::new();
        for k in TEXT_FIELDS {
            if let Some(s) = obj.get(*k).and_then(Value::as_str) {
                add.push_str(s);
                add.push(' ');
            }
        }
        if add.is_empty() {
            return;
        }
        let t = self.pending_text.entry(uid.to_string()).or_default();
        if t.len() + add.len() <= MAX_TEXT_PER_FLOW {
            t.push_str(&add);
        }
    }

    fn record(&mut self, log: &'static str, ts_ns: u64, c: &Common, record: &Value) -> Result<()> {
        let Some(cap) = self.capture else {
            return Ok(());
        };
        let ts = (ts_ns / 1000) as i64;
        let r = RecordW {
            capture_id: cap,
            uid: c.uid.to_string(),
            log,
            ts,
            json: record.to_string(),
        };
        let file = (log == "files").then(|| FileW::new(cap, &c.uid, ts, record));
        match &mut self.backend {
            Backend::Sqlite(l) => {
                l.insert_record(&r)?;
                if let Some(f) = file {
                    l.insert_file(&f)?;
                }
                Ok(())
            }
            Backend::Postgres(p) => {
                p.batch.records.push(r);
                p.batch.files.extend(file);
                p.maybe_send(false);
                Ok(())
            }
        }
    }

    fn flow(&mut self, rec: &FlowRecord) -> Result<()> {
        let Some(cap) = self.capture else {
            return Ok(());
        };
        let text = self.pending_text.remove(rec.uid.as_str());
        let f = FlowW::new(cap, rec, text);
        match &mut self.backend {
            Backend::Sqlite(l) => l.insert_flow(&f),
            Backend::Postgres(p) => {
                p.batch.flows.push(f);
                p.maybe_send(false);
                Ok(())
            }
        }
    }

    fn alert(&mut self, a: &Alert) -> Result<()> {
        let Some(cap) = self.capture else {
            return Ok(());
        };
        let a = AlertW::new(cap, a);
        match &mut self.backend {
            Backend::Sqlite(l) => l.insert_alert(&a),
            Backend::Postgres(p) => {
                p.batch.alerts.push(a);
                p.maybe_send(false);
                Ok(())
            }
        }
    }
}

impl Lite {
    fn conn(&self) -> Result<&Connection> {
        self.db
            .sqlite()
            .ok_or_else(|| StoreError::Io(std::io::Error::other("not a SQLite connection")))
    }

    fn commit(&mut self) -> Result<()> {
        if self.in_tx {
            self.in_tx = false;
            self.rows = 0;
            self.conn()?.execute_batch("COMMIT")?;
        }
        Ok(())
    }

    /// Count one row, opening and committing transactions as needed.
    fn row(&mut self) -> Result<()> {
        if !self.in_tx {
            self.conn()?.execute_batch("BEGIN")?;
            self.in_tx = true;
        }
        self.rows += 1;
        if self.rows >= BATCH_ROWS {
            self.commit()?;
        }
        Ok(())
    }

    fn insert_record(&mut self, r: &RecordW) -> Result<()> {
        self.conn()?
            .prepare_cached(
                "INSERT INTO records(capture_id, uid, log, ts, json) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![r.capture_id, r.uid, r.log, r.ts, r.json])?;
        self.row()
    }

    fn insert_file(&mut self, f: &FileW) -> Result<()> {
        self.conn()?
            .prepare_cached(
                "INSERT INTO files(capture_id, uid, ts, source, name, mime, size, sha256, complete, path, verdict, reasons)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?
            .execute(params![
                f.capture_id,
                f.uid,
                f.ts,
                f.source,
                f.name,
                f.mime,
                f.size,
                f.sha256,
                f.complete,
                f.path,
                f.verdict,
                f.reasons,
            ])?;
        self.row()
    }

    fn insert_flow(&mut self, f: &FlowW) -> Result<()> {
        self.conn()?
            .prepare_cached(
                "INSERT INTO flows(capture_id, uid, ts, duration, l4, src_ip, src_port, dst_ip,
                   dst_port, vlan, tunnel, protocol, app, confidence, source, evidence, orig_pkts,
                   resp_pkts, orig_bytes, resp_bytes, bytes, conn_state, history, community_id,
                   end_reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                   ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)",
            )?
            .execute(params![
                f.capture_id,
                f.uid,
                f.ts,
                f.duration,
                f.l4,
                f.src_ip,
                f.src_port,
                f.dst_ip,
                f.dst_port,
                f.vlan,
                f.tunnel,
                f.protocol,
                f.app,
                f.confidence,
                f.source,
                f.evidence,
                f.orig_pkts,
                f.resp_pkts,
                f.orig_bytes,
                f.resp_bytes,
                f.bytes,
                f.conn_state,
                f.history,
                f.community_id,
                f.end_reason,
            ])?;
        let id = self.conn()?.last_insert_rowid();
        self.row()?;
        if let Some(text) = &f.text {
            self.conn()?
                .prepare_cached("INSERT INTO flow_text(rowid, text) VALUES (?1, ?2)")?
                .execute(params![id, text])?;
            self.row()?;
        }
        Ok(())
    }

    fn insert_alert(&mut self, a: &AlertW) -> Result<()> {
        self.conn()?
            .prepare_cached(
                "INSERT INTO alerts(capture_id, uid, ts, type, rule, severity, src_ip, src_port,
                   dst_ip, dst_port, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                a.capture_id,
                a.uid,
                a.ts,
                a.kind,
                a.rule,
                a.severity,
                a.src_ip,
                a.src_port,
                a.dst_ip,
                a.dst_port,
                a.json,
            ])?;
        self.row()
    }
}

impl Output for StoreOutput {
    fn record(&mut self, log: &'static str, ts_ns: u64, common: &Common, record: &Record) {
        self.summary.note_record(log, record);
        let mut w = self.w.borrow_mut();
        w.per_capture.note_record(log, record);
        let record = record.to_json();
        w.note_text(&common.uid, &record);
        let r = w.record(log, ts_ns, common, &record);
        w.keep(r);
    }

    fn conn(&mut self, _ts_ns: u64, rec: &FlowRecord) {
        self.summary.note_conn(rec);
        let mut w = self.w.borrow_mut();
        let r = w.flow(rec);
        w.keep(r);
    }

    fn alert(&mut self, alert: &Alert) {
        *self.summary.records_by_log.entry("alerts").or_default() += 1;
        let mut w = self.w.borrow_mut();
        let r = w.alert(alert);
        w.keep(r);
    }

    fn tick(&mut self, now_ns: u64) {
        let mut w = self.w.borrow_mut();
        let r = match &mut w.backend {
            // Live: readers (`netsift serve`) see rows once committed;
            // commit at least once a second of packet time.
            Backend::Sqlite(l) => {
                if l.in_tx && now_ns.saturating_sub(l.last_commit_ns) >= 1_000_000_000 {
                    l.last_commit_ns = now_ns;
                    l.commit()
                } else {
                    Ok(())
                }
            }
            Backend::Postgres(p) => {
                p.maybe_send(false);
                Ok(())
            }
        };
        w.keep(r);
    }

    fn finish(&mut self) -> std::io::Result<()> {
        let mut w = self.w.borrow_mut();
        let r = match w.error.take() {
            Some(e) => Err(e),
            None => match &mut w.backend {
                Backend::Sqlite(l) => l.commit(),
                Backend::Postgres(p) => {
                    // Lost rows are counted, not an error of the output
                    // chain: the other outputs must complete.
                    p.maybe_send(true);
                    Ok(())
                }
            },
        };
        r.map_err(|e| std::io::Error::other(e.to_string()))
    }

    fn summary(&self) -> &Summary {
        &self.summary
    }
}
