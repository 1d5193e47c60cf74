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

use netsift_detect::alert::Alert;
use netsift_engine::analyze::output::{Common, Output, Summary};
use netsift_engine::FlowRecord;
use rusqlite::{params, Connection};
use serde_json::{json, Value};

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
}

/// Insert a capture row (status `queued`); its id.
pub fn new_capture(conn: &Connection, info: &CaptureInfo) -> Result<i64> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    conn.execute(
        "INSERT INTO captures(name, path, size, sha256, status, created, uid_seed, flow_settings)
         VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6, ?7)",
        params![
            info.name,
            info.path,
            info.size as i64,
            info.sha256,
            now,
            info.uid_seed as i64,
            info.flow_settings.as_ref().map(|v| v.to_string()),
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Mark a capture failed (e.g. it could not be read at all).
pub fn fail_capture(conn: &Connection, id: i64, error: &str) -> Result<()> {
    conn.execute(
        "UPDATE captures SET status = 'failed', error = ?2 WHERE id = ?1",
        params![id, error],
    )?;
    Ok(())
}

struct Writer {
    conn: Connection,
    capture: Option<i64>,
    in_tx: bool,
    rows: usize,
    pending_text: HashMap<String, String>,
    /// This capture's counters (domains for the dashboard).
    per_capture: Summary,
    error: Option<StoreError>,
    /// Packet time of the last commit made by [`Output::tick`].
    last_commit_ns: u64,
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
        // The writer touches every index of the flows table for each row: a
        // larger page cache keeps their hot pages (64 MiB at most).
        let _ = store.conn.execute_batch("PRAGMA cache_size = -65536");
        let w = Rc::new(RefCell::new(Writer {
            conn: store.conn,
            capture: None,
            in_tx: false,
            rows: 0,
            pending_text: HashMap::new(),
            per_capture: Summary::default(),
            error: None,
            last_commit_ns: 0,
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
        w.commit()?;
        let id = new_capture(&w.conn, info)?;
        w.start(id)?;
        Ok(id)
    }

    /// Direct the following rows to an existing capture row (made by
    /// [`new_capture`], e.g. when the upload was received).
    pub fn attach_capture(&self, id: i64) -> Result<()> {
        let mut w = self.0.borrow_mut();
        w.commit()?;
        w.start(id)
    }

    /// A live capture (`netsift watch --db`): commit what was written so
    /// far, recompute the capture's dashboard figures and counters, and mark
    /// it `live`, so `netsift serve` shows the traffic while it happens.
    pub fn refresh_live(&self, packets: u64, flows: u64) -> Result<()> {
        let mut w = self.0.borrow_mut();
        w.commit_figures("live", None, packets, flows).map(|_| ())
    }

    /// Commit the capture's rows, compute its dashboard figures and mark
    /// it done (or failed with `error`).
    pub fn end_capture(&self, packets: u64, flows: u64, error: Option<&str>) -> Result<()> {
        let mut w = self.0.borrow_mut();
        let status = if error.is_some() { "failed" } else { "done" };
        if !w.commit_figures(status, error, packets, flows)? {
            return Ok(());
        }
        w.pending_text.clear();
        // SQLite's advice after bulk changes: refresh the query planner's
        // statistics where they are stale (cheap; bounded by analysis_limit).
        w.conn
            .execute_batch("PRAGMA analysis_limit = 1000; PRAGMA optimize;")?;
        Ok(())
    }
}

impl Writer {
    /// Commits the rows so far, recomputes the current capture's dashboard
    /// figures and sets its status and counters. False without a capture.
    fn commit_figures(
        &mut self,
        status: &str,
        error: Option<&str>,
        packets: u64,
        flows: u64,
    ) -> Result<bool> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.commit()?;
        let Some(id) = self.capture else {
            return Ok(false);
        };
        let domains = Summary::top(&self.per_capture.domains, 10);
        let stats = crate::query::compute_stats(&self.conn, id, &domains)?;
        self.conn.execute(
            "UPDATE captures SET status = ?2, error = ?3, packets = ?4, flows = ?5,
               first_ts = ?6, last_ts = ?7, stats = ?8,
               bytes_read = CASE WHEN ?2 = 'live' THEN bytes_read ELSE size END
             WHERE id = ?1",
            params![
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
        Ok(true)
    }

    fn start(&mut self, id: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE captures SET status = 'running' WHERE id = ?1",
            params![id],
        )?;
        self.capture = Some(id);
        self.per_capture = Summary::default();
        self.pending_text.clear();
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        if self.in_tx {
            self.in_tx = false;
            self.rows = 0;
            self.conn.execute_batch("COMMIT")?;
        }
        Ok(())
    }

    /// Count one row, opening and committing transactions as needed.
    fn row(&mut self) -> Result<()> {
        if !self.in_tx {
            self.conn.execute_batch("BEGIN")?;
            self.in_tx = true;
        }
        self.rows += 1;
        if self.rows >= BATCH_ROWS {
            self.commit()?;
        }
        Ok(())
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

    fn insert_record(&mut self, log: &str, ts_ns: u64, c: &Common, record: &Value) -> Result<()> {
        let Some(cap) = self.capture else {
            return Ok(());
        };
        let ts = (ts_ns / 1000) as i64;
        self.conn
            .prepare_cached(
                "INSERT INTO records(capture_id, uid, log, ts, json) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![cap, c.uid, log, ts, record.to_string()])?;
        self.row()?;
        if log == "files" {
            let s = |k: &str| record.get(k).and_then(Value::as_str).map(str::to_string);
            self.conn
                .prepare_cached(
                    "INSERT INTO files(capture_id, uid, ts, source, name, mime, size, sha256, complete, path)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )?
                .execute(params![
                    cap,
                    c.uid,
                    ts,
                    s("source").unwrap_or_default(),
                    s("name"),
                    s("mime_type").unwrap_or_default(),
                    record.get("size").and_then(Value::as_i64).unwrap_or(0),
                    s("sha256").unwrap_or_default(),
                    record.get("complete").and_then(Value::as_bool).unwrap_or(false),
                    s("extracted"),
                ])?;
            self.row()?;
        }
        Ok(())
    }

    fn insert_flow(&mut self, rec: &FlowRecord) -> Result<()> {
        let Some(cap) = self.capture else {
            return Ok(());
        };
        let ts = (rec.ts * 1e6).round() as i64;
        let confidence = rec.confidence.as_str();
        self.conn
            .prepare_cached(
                "INSERT INTO flows(capture_id, uid, ts, duration, l4, src_ip, src_port, dst_ip,
                   dst_port, vlan, tunnel, protocol, app, confidence, source, evidence, orig_pkts,
                   resp_pkts, orig_bytes, resp_bytes, bytes, conn_state, history, community_id,
                   end_reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                   ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)",
            )?
            .execute(params![
                cap,
                rec.uid,
                ts,
                rec.duration,
                rec.l4,
                rec.src_ip,
                rec.src_port,
                rec.dst_ip,
                rec.dst_port,
                rec.vlan,
                rec.tunnel,
                rec.protocol,
                rec.app,
                confidence,
                rec.source,
                rec.evidence,
                rec.orig_pkts as i64,
                rec.resp_pkts as i64,
                rec.orig_bytes as i64,
                rec.resp_bytes as i64,
                (rec.orig_bytes + rec.resp_bytes) as i64,
                rec.conn_state,
                rec.history,
                rec.community_id,
                rec.end_reason,
            ])?;
        let id = self.conn.last_insert_rowid();
        self.row()?;
        if let Some(text) = self.pending_text.remove(&rec.uid) {
            self.conn
                .prepare_cached("INSERT INTO flow_text(rowid, text) VALUES (?1, ?2)")?
                .execute(params![id, text])?;
            self.row()?;
        }
        Ok(())
    }

    fn insert_alert(&mut self, a: &Alert) -> Result<()> {
        let Some(cap) = self.capture else {
            return Ok(());
        };
        let ep = a.endpoints.as_ref();
        let json = serde_json::to_string(a).unwrap_or_else(|_| json!({}).to_string());
        self.conn
            .prepare_cached(
                "INSERT INTO alerts(capture_id, uid, ts, type, rule, severity, src_ip, src_port,
                   dst_ip, dst_port, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                cap,
                a.uid,
                (a.ts / 1000) as i64,
                a.kind.as_str(),
                a.rule,
                serde_json::to_value(a.severity)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                ep.map(|e| e.src_ip.to_string()),
                ep.and_then(|e| e.src_port),
                ep.map(|e| e.dst_ip.to_string()),
                ep.and_then(|e| e.dst_port),
                json,
            ])?;
        self.row()
    }
}

impl Output for StoreOutput {
    fn record(&mut self, log: &'static str, ts_ns: u64, common: &Common, record: Value) {
        self.summary.note_record(log, &record);
        let mut w = self.w.borrow_mut();
        w.per_capture.note_record(log, &record);
        w.note_text(&common.uid, &record);
        let r = w.insert_record(log, ts_ns, common, &record);
        w.keep(r);
    }

    fn conn(&mut self, _ts_ns: u64, rec: &FlowRecord) {
        self.summary.note_conn(rec);
        let mut w = self.w.borrow_mut();
        let r = w.insert_flow(rec);
        w.keep(r);
    }

    fn alert(&mut self, alert: &Alert) {
        *self.summary.records_by_log.entry("alerts").or_default() += 1;
        let mut w = self.w.borrow_mut();
        let r = w.insert_alert(alert);
        w.keep(r);
    }

    fn tick(&mut self, now_ns: u64) {
        // Live: readers (`netsift serve`) see rows once committed; commit
        // at least once a second of packet time.
        let mut w = self.w.borrow_mut();
        if w.in_tx && now_ns.saturating_sub(w.last_commit_ns) >= 1_000_000_000 {
            w.last_commit_ns = now_ns;
            let r = w.commit();
            w.keep(r);
        }
    }

    fn finish(&mut self) -> std::io::Result<()> {
        let mut w = self.w.borrow_mut();
        let r = match w.error.take() {
            Some(e) => Err(e),
            None => w.commit(),
        };
        r.map_err(|e| std::io::Error::other(e.to_string()))
    }

    fn summary(&self) -> &Summary {
        &self.summary
    }
}
