//! The reads of the web analyzer (and of anything else that browses a
//! database). Every list is an indexed range with a `LIMIT`; counts are
//! capped at [`COUNT_CAP`] instead of counting a million rows per page.

//!
//! The queries are shared by SQLite and PostgreSQL ([`Db`]); where the
//! dialects differ, the query asks [`Db::dialect`] at that one place.

use serde_json::{json, Value};

use crate::db::{Db, Dialect, Row, Val};
use crate::{vals, Result};

type SqlValue = Val;

/// Counts above this are shown as "more than".
pub const COUNT_CAP: i64 = 10_000;
/// Largest page.
pub const MAX_LIMIT: u32 = 500;
/// Deepest offset (beyond it, narrow the filter).
pub const MAX_OFFSET: u64 = 1_000_000;

/// A capture row.
#[derive(Debug, Clone, Default)]
pub struct Capture {
    pub id: i64,
    pub name: String,
    pub path: Option<String>,
    pub size: i64,
    pub sha256: Option<String>,
    pub packets: i64,
    pub flows: i64,
    pub first_ts: Option<i64>,
    pub last_ts: Option<i64>,
    pub status: String,
    pub bytes_read: i64,
    pub error: Option<String>,
    pub created: i64,
    pub stats: Option<Value>,
    pub uid_seed: u64,
    pub flow_settings: Option<Value>,
    /// The sensor that captured it ('' when not named).
    pub sensor: String,
}

const CAPTURE_COLS: &str = "id, name, path, size, sha256, packets, flows, first_ts, last_ts, status, bytes_read, error, created, stats, uid_seed, flow_settings, sensor";

fn capture_row(r: Row) -> Capture {
    Capture {
        id: r.i64(0),
        name: r.str(1),
        path: r.opt_str(2),
        size: r.i64(3),
        sha256: r.opt_str(4),
        packets: r.i64(5),
        flows: r.i64(6),
        first_ts: r.opt_i64(7),
        last_ts: r.opt_i64(8),
        status: r.str(9),
        bytes_read: r.i64(10),
        error: r.opt_str(11),
        created: r.i64(12),
        stats: r.opt_str(13).and_then(|s| serde_json::from_str(&s).ok()),
        uid_seed: r.i64(14) as u64,
        flow_settings: r.opt_str(15).and_then(|s| serde_json::from_str(&s).ok()),
        sensor: r.str(16),
    }
}

/// Captures, newest first; of one sensor when `sensor` is given.
pub fn captures(db: &Db, limit: u32) -> Result<Vec<Capture>> {
    captures_of(db, None, limit)
}

/// Captures of `sensor` (all with `None`), newest first.
pub fn captures_of(db: &Db, sensor: Option<&str>, limit: u32) -> Result<Vec<Capture>> {
    let rows = db.rows(
        &format!(
            "SELECT {CAPTURE_COLS} FROM captures WHERE (CAST(?2 AS TEXT) IS NULL OR sensor = ?2)
             ORDER BY id DESC LIMIT ?1"
        ),
        &vals![limit as i64, sensor],
    )?;
    Ok(rows.into_iter().map(capture_row).collect())
}

/// One capture.
pub fn capture(db: &Db, id: i64) -> Result<Option<Capture>> {
    Ok(db
        .row(
            &format!("SELECT {CAPTURE_COLS} FROM captures WHERE id = ?1"),
            &vals![id],
        )?
        .map(capture_row))
}

/// The sensors, with their number of captures.
pub fn sensors(db: &Db) -> Result<Vec<(String, i64)>> {
    Ok(db
        .rows(
            "SELECT sensor, count(*) FROM captures GROUP BY sensor ORDER BY sensor",
            &[],
        )?
        .into_iter()
        .map(|r| (r.str(0), r.i64(1)))
        .collect())
}

/// Columns the flows table sorts by (a closed set: never SQL from a request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortCol {
    #[default]
    Ts,
    Duration,
    Bytes,
    Packets,
    Protocol,
    Src,
    Dst,
}

impl SortCol {
    pub fn parse(s: &str) -> SortCol {
        match s {
            "duration" => SortCol::Duration,
            "bytes" => SortCol::Bytes,
            "pkts" => SortCol::Packets,
            "protocol" => SortCol::Protocol,
            "src" => SortCol::Src,
            "dst" => SortCol::Dst,
            _ => SortCol::Ts,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            SortCol::Ts => "ts",
            SortCol::Duration => "duration",
            SortCol::Bytes => "bytes",
            SortCol::Packets => "pkts",
            SortCol::Protocol => "protocol",
            SortCol::Src => "src",
            SortCol::Dst => "dst",
        }
    }
    fn sql(self) -> &'static str {
        match self {
            SortCol::Ts => "ts",
            SortCol::Duration => "duration",
            SortCol::Bytes => "bytes",
            SortCol::Packets => "(orig_pkts + resp_pkts)",
            SortCol::Protocol => "protocol",
            SortCol::Src => "src_ip",
            SortCol::Dst => "dst_ip",
        }
    }
}

/// The flows table's filter.
#[derive(Debug, Clone, Default)]
pub struct FlowFilter {
    pub capture: Option<i64>,
    /// Flows of the captures of this sensor.
    pub sensor: Option<String>,
    /// Application protocol (exact, as in the `protocol` column).
    pub protocol: Option<String>,
    /// Either endpoint.
    pub ip: Option<String>,
    /// Either port.
    pub port: Option<u16>,
    /// First packet at or after, µs since the epoch.
    pub from_us: Option<i64>,
    /// First packet before, µs since the epoch.
    pub to_us: Option<i64>,
    /// Free text: a host, URI, query, SNI, file name (phrase search).
    pub text: Option<String>,
    pub sort: SortCol,
    pub desc: bool,
    pub offset: u64,
    pub limit: u32,
}

/// A flow row.
#[derive(Debug, Clone, Default)]
pub struct Flow {
    pub id: i64,
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
    pub protocol: String,
    pub app: Option<String>,
    pub confidence: String,
    pub source: String,
    pub evidence: String,
    pub orig_pkts: i64,
    pub resp_pkts: i64,
    pub orig_bytes: i64,
    pub resp_bytes: i64,
    pub conn_state: String,
    pub history: String,
    pub community_id: String,
    pub end_reason: String,
}

const FLOW_COLS: &str = "id, capture_id, uid, ts, duration, l4, src_ip, src_port, dst_ip, dst_port, vlan, tunnel, protocol, app, confidence, source, evidence, orig_pkts, resp_pkts, orig_bytes, resp_bytes, conn_state, history, community_id, end_reason";

fn flow_row(r: Row) -> Flow {
    Flow {
        id: r.i64(0),
        capture_id: r.i64(1),
        uid: r.str(2),
        ts: r.i64(3),
        duration: r.f64(4),
        l4: r.str(5),
        src_ip: r.str(6),
        src_port: r.i64(7) as u16,
        dst_ip: r.str(8),
        dst_port: r.i64(9) as u16,
        vlan: r.opt_i64(10),
        tunnel: r.opt_str(11),
        protocol: r.str(12),
        app: r.opt_str(13),
        confidence: r.str(14),
        source: r.str(15),
        evidence: r.str(16),
        orig_pkts: r.i64(17),
        resp_pkts: r.i64(18),
        orig_bytes: r.i64(19),
        resp_bytes: r.i64(20),
        conn_state: r.str(21),
        history: r.str(22),
        community_id: r.str(23),
        end_reason: r.str(24),
    }
}

/// An FTS5 phrase for `text`: the whole input quoted, so that operators in
/// it (`OR`, `*`, `:`) are words, not syntax.
/// (FTS5: "a string enclosed in double quotes is a phrase; a double quote
/// inside it is escaped by doubling".)
/// Control characters (a NUL ends the query string inside FTS5) become spaces.
pub fn fts_phrase(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("\"{}\"", clean.replace('"', "\"\""))
}

/// A condition that an index range answers: `probes` are capped counts of
/// its index ranges (their sum bounds its matches), `ids` the matching flow
/// ids, `plain` the same condition as a row filter.
struct Cand {
    probes: Vec<String>,
    ids: String,
    plain: String,
}

/// A filter as SQL: the indexed conditions (`cands`), the others (`rest`,
/// written with unary `+` so that the planner does not pick their indexes
/// over the candidates' ids), and every condition as plain row filters.
struct FlowSql {
    cands: Vec<Cand>,
    rest: Vec<String>,
    plain: Vec<String>,
    params: Vec<SqlValue>,
}

fn flow_sql(f: &FlowFilter, dialect: Dialect) -> FlowSql {
    let mut q = FlowSql {
        cands: Vec::new(),
        rest: Vec::new(),
        plain: Vec::new(),
        params: Vec::new(),
    };
    // SQLite: a unary `+` keeps the planner from answering a condition
    // with its index (PostgreSQL plans these itself, and has no `+text`).
    let noidx = |col: &str| match dialect {
        Dialect::Sqlite => format!("+{col}"),
        Dialect::Postgres => col.to_string(),
    };
    // ?1 is always the capture (or NULL for all captures).
    q.params
        .push(f.capture.map_or(SqlValue::Null, SqlValue::Int));
    let (cap, plus_cap) = if f.capture.is_some() {
        (
            "capture_id = ?1".to_string(),
            format!("{} = ?1", noidx("capture_id")),
        )
    } else {
        let all = "CAST(?1 AS BIGINT) IS NULL".to_string();
        (all.clone(), all)
    };
    q.plain.push(cap.clone());
    q.rest.push(plus_cap);
    let capped = |sql: String| format!("SELECT count(*) FROM ({sql} LIMIT {}) c", COUNT_CAP + 1);
    // Either end, as two index ranges (an OR may be answered with a scan).
    let either = |q: &mut FlowSql, a: &str, b: &str, v: SqlValue| {
        q.params.push(v);
        let n = q.params.len();
        let (sa, sb) = (
            format!("SELECT id FROM flows WHERE {cap} AND {a} = ?{n}"),
            format!("SELECT id FROM flows WHERE {cap} AND {b} = ?{n}"),
        );
        q.cands.push(Cand {
            // PostgreSQL answers either end with a bitmap OR of the two
            // indexes itself: no probes.
            probes: match dialect {
                Dialect::Sqlite => vec![capped(sa.clone()), capped(sb.clone())],
                Dialect::Postgres => Vec::new(),
            },
            ids: format!("{sa} UNION {sb}"),
            plain: format!("({a} = ?{n} OR {b} = ?{n})"),
        });
    };
    if let Some(ip) = &f.ip {
        either(&mut q, "src_ip", "dst_ip", SqlValue::Text(ip.clone()));
    }
    if let Some(port) = f.port {
        either(&mut q, "dst_port", "src_port", SqlValue::Int(port as i64));
    }
    if let Some(t) = &f.text {
        match dialect {
            // FTS5 over the flow_text table, by flow id.
            Dialect::Sqlite => {
                q.params.push(SqlValue::Text(fts_phrase(t)));
                let n = q.params.len();
                let ids = format!("SELECT rowid FROM flow_text WHERE flow_text MATCH ?{n}");
                q.cands.push(Cand {
                    probes: vec![capped(ids.clone())],
                    plain: format!("id IN ({ids})"),
                    ids,
                });
            }
            // The GIN index of the flow's own `search` tsvector. Its capped
            // count decides the plan, as on SQLite: PostgreSQL's estimate of
            // a phrase is too rough to choose between the index and a scan
            // in time order.
            Dialect::Postgres => {
                q.params.push(SqlValue::Text(crate::pg::search_words(t)));
                let n = q.params.len();
                let cond = format!("search @@ phraseto_tsquery('simple', ?{n})");
                let ids = format!("SELECT id FROM flows WHERE {cond}");
                q.cands.push(Cand {
                    probes: vec![capped(ids.clone())],
                    ids,
                    plain: cond,
                });
            }
        }
    }
    let other = |q: &mut FlowSql, col: &str, op: &str, v: SqlValue| {
        q.params.push(v);
        let n = q.params.len();
        q.plain.push(format!("{col} {op} ?{n}"));
        q.rest.push(format!("{} {op} ?{n}", noidx(col)));
    };
    if let Some(proto) = &f.protocol {
        other(&mut q, "protocol", "=", SqlValue::Text(proto.clone()));
    }
    if let Some(t) = f.from_us {
        other(&mut q, "ts", ">=", SqlValue::Int(t));
    }
    if let Some(t) = f.to_us {
        other(&mut q, "ts", "<", SqlValue::Int(t));
    }
    if let Some(sensor) = &f.sensor {
        q.params.push(SqlValue::Text(sensor.clone()));
        let n = q.params.len();
        let sub = format!("IN (SELECT id FROM captures WHERE sensor = ?{n})");
        q.plain.push(format!("capture_id {sub}"));
        q.rest.push(format!("{} {sub}", noidx("capture_id")));
    }
    q
}

fn count(db: &Db, sql: &str, params: &[SqlValue]) -> Result<i64> {
    Ok(db.row(sql, params)?.map_or(0, |r| r.i64(0)))
}

/// One page of flows and the (capped) number matching.
///
/// SQLite: the plan follows the capped counts of the indexed conditions
/// (address, port, text): when one matches at most [`COUNT_CAP`] flows,
/// its ids are collected from its index, the other conditions filter
/// them, and they are sorted (materialized, so the planner cannot trade
/// this for a scan in sort order); otherwise matches are dense, and the
/// page is read in sort order from an index and stops once full.
/// PostgreSQL plans the address, port and other conditions itself (bitmap
/// ORs of the address and port indexes, merge appends of the day
/// partitions in `ts` order); only the text condition is probed the same
/// way, as its estimate is too rough.
pub fn flows(db: &Db, f: &FlowFilter) -> Result<(Vec<Flow>, i64)> {
    let q = flow_sql(f, db.dialect());
    let dir = if f.desc { "DESC" } else { "ASC" };
    let limit = f.limit.clamp(1, MAX_LIMIT);
    let offset = f.offset.min(MAX_OFFSET);
    let mut best: Option<(i64, usize)> = None;
    // PostgreSQL probes only the conditions that have probes (the text).
    for (i, c) in q.cands.iter().enumerate() {
        if c.probes.is_empty() {
            continue;
        }
        let mut est = 0;
        for p in &c.probes {
            est += count(db, p, &q.params)?;
        }
        if best.is_none_or(|(b, _)| est < b) {
            best = Some((est, i));
        }
    }
    let (total, source) = match best {
        Some((est, i)) if est <= COUNT_CAP => {
            let mut conds = q.rest.clone();
            for (j, c) in q.cands.iter().enumerate() {
                if j != i {
                    conds.push(c.plain.clone());
                }
            }
            // SQLite: the ids from the candidate's index, then the rows.
            // PostgreSQL: the condition itself (a bitmap scan of its index;
            // ids alone would be looked up in every day partition).
            let body = match db.dialect() {
                Dialect::Sqlite => format!(
                    "SELECT {FLOW_COLS}, bytes FROM flows WHERE id IN ({}) AND {}",
                    q.cands[i].ids,
                    conds.join(" AND ")
                ),
                Dialect::Postgres => format!(
                    "SELECT {FLOW_COLS}, bytes FROM flows WHERE {} AND {}",
                    q.cands[i].plain,
                    conds.join(" AND ")
                ),
            };
            let total = count(db, &format!("SELECT count(*) FROM ({body}) c"), &q.params)?;
            (
                total,
                format!("WITH m AS MATERIALIZED ({body}) SELECT * FROM m"),
            )
        }
        // One condition answered by one index range, known to match more
        // than the cap: no need to count again (the text index would be
        // read a second time).
        Some((est, i))
            if q.cands.len() == 1 && q.rest.len() == 1 && q.cands[i].probes.len() == 1 =>
        {
            let w = format!("{} AND {}", q.plain.join(" AND "), q.cands[i].plain);
            (est, format!("SELECT {FLOW_COLS} FROM flows WHERE {w}"))
        }
        _ => {
            let mut conds = q.plain.clone();
            conds.extend(q.cands.iter().map(|c| c.plain.clone()));
            let w = conds.join(" AND ");
            let total = count(
                db,
                &format!(
                    "SELECT count(*) FROM (SELECT 1 FROM flows WHERE {w} LIMIT {}) c",
                    COUNT_CAP + 1
                ),
                &q.params,
            )?;
            (total, format!("SELECT {FLOW_COLS} FROM flows WHERE {w}"))
        }
    };
    let mut params = q.params;
    params.push(SqlValue::Int(limit as i64));
    params.push(SqlValue::Int(offset as i64));
    let n = params.len();
    let sql = format!(
        "{source} ORDER BY {} {dir}, id {dir} LIMIT ?{} OFFSET ?{n}",
        f.sort.sql(),
        n - 1
    );
    let rows = db.rows(&sql, &params)?;
    Ok((rows.into_iter().map(flow_row).collect(), total))
}

/// One flow.
pub fn flow(db: &Db, id: i64) -> Result<Option<Flow>> {
    Ok(db
        .row(
            &format!("SELECT {FLOW_COLS} FROM flows WHERE id = ?1"),
            &vals![id],
        )?
        .map(flow_row))
}

/// The application protocols of a capture (for the filter's choices).
pub fn protocols(db: &Db, capture: i64) -> Result<Vec<String>> {
    let stats = db
        .row("SELECT stats FROM captures WHERE id = ?1", &vals![capture])?
        .and_then(|r| r.opt_str(0));
    let v: Value = stats
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null);
    let mut out: Vec<String> = v["protocols"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x[0].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    Ok(out)
}

/// A protocol record of a flow.
#[derive(Debug, Clone)]
pub struct Record {
    pub id: i64,
    pub log: String,
    pub ts: i64,
    pub json: Value,
}

/// The records of a flow, in time order.
pub fn records(db: &Db, capture: i64, uid: &str, limit: u32) -> Result<Vec<Record>> {
    let rows = db.rows(
        "SELECT id, log, ts, json FROM records WHERE capture_id = ?1 AND uid = ?2
         ORDER BY ts, id LIMIT ?3",
        &vals![capture, uid, limit as i64],
    )?;
    Ok(rows
        .into_iter()
        .map(|r| Record {
            id: r.i64(0),
            log: r.str(1),
            ts: r.i64(2),
            json: serde_json::from_str(&r.str(3)).unwrap_or(Value::Null),
        })
        .collect())
}

/// A carved file.
#[derive(Debug, Clone)]
pub struct FileRow {
    pub id: i64,
    pub capture_id: i64,
    pub uid: String,
    pub ts: i64,
    pub source: String,
    pub name: Option<String>,
    pub mime: String,
    pub size: i64,
    pub sha256: String,
    pub complete: bool,
    /// Where the bytes are on disk (from the analysis, never from a request).
    pub path: Option<String>,
    /// Content verdict (`benign`, `suspicious`, `malicious`), if analysed.
    pub verdict: Option<String>,
    /// The verdict's reasons.
    pub reasons: Vec<String>,
}

const FILE_COLS: &str =
    "id, capture_id, uid, ts, source, name, mime, size, sha256, complete, path, verdict, reasons";

fn file_row(r: Row) -> FileRow {
    FileRow {
        id: r.i64(0),
        capture_id: r.i64(1),
        uid: r.str(2),
        ts: r.i64(3),
        source: r.str(4),
        name: r.opt_str(5),
        mime: r.str(6),
        size: r.i64(7),
        sha256: r.str(8),
        complete: r.i64(9) != 0,
        path: r.opt_str(10),
        verdict: r.opt_str(11),
        reasons: r
            .opt_str(12)
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default(),
    }
}

/// The id of a capture's flow by its uid.
pub fn flow_id_by_uid(db: &Db, capture: i64, uid: &str) -> Result<Option<i64>> {
    Ok(db
        .row(
            "SELECT id FROM flows WHERE capture_id = ?1 AND uid = ?2 LIMIT 1",
            &vals![capture, uid],
        )?
        .map(|r| r.i64(0)))
}

/// The verdicts a file can have, worst first.
pub const VERDICTS: [&str; 3] = ["malicious", "suspicious", "benign"];

/// Carved files, newest first: of one capture or all, of one verdict or
/// all (`verdict` must be one of [`VERDICTS`]; anything else matches
/// nothing).
pub fn files_by_verdict(
    db: &Db,
    capture: Option<i64>,
    verdict: Option<&str>,
    limit: usize,
) -> Result<Vec<FileRow>> {
    let mut w: Vec<String> = Vec::new();
    let mut p: Vec<SqlValue> = Vec::new();
    if let Some(c) = capture {
        p.push(SqlValue::Int(c));
        w.push(format!("capture_id = ?{}", p.len()));
    }
    match verdict {
        Some("flagged") => w.push("verdict IN ('suspicious', 'malicious')".into()),
        Some(v) => {
            p.push(SqlValue::Text(v.to_string()));
            w.push(format!("verdict = ?{}", p.len()));
        }
        None => {}
    }
    let clause = if w.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", w.join(" AND "))
    };
    p.push(SqlValue::Int(limit.clamp(1, MAX_LIMIT as usize) as i64));
    let sql = format!(
        "SELECT {FILE_COLS} FROM files {clause} ORDER BY ts DESC, id DESC LIMIT ?{}",
        p.len()
    );
    Ok(db.rows(&sql, &p)?.into_iter().map(file_row).collect())
}

/// Files per verdict (of one capture, or all).
pub fn verdict_counts(db: &Db, capture: Option<i64>) -> Result<Vec<(String, i64)>> {
    let (sql, p) = match capture {
        Some(c) => (
            "SELECT coalesce(verdict, 'none'), count(*) FROM files WHERE capture_id = ?1 GROUP BY 1 ORDER BY 1",
            vec![SqlValue::Int(c)],
        ),
        None => (
            "SELECT coalesce(verdict, 'none'), count(*) FROM files GROUP BY 1 ORDER BY 1",
            Vec::new(),
        ),
    };
    Ok(db
        .rows(sql, &p)?
        .into_iter()
        .map(|r| (r.str(0), r.i64(1)))
        .collect())
}

/// The files of a flow.
pub fn files(db: &Db, capture: i64, uid: &str) -> Result<Vec<FileRow>> {
    let rows = db.rows(
        &format!(
            "SELECT {FILE_COLS} FROM files WHERE capture_id = ?1 AND uid = ?2 ORDER BY ts, id LIMIT 1000"
        ),
        &vals![capture, uid],
    )?;
    Ok(rows.into_iter().map(file_row).collect())
}

/// One file by id.
pub fn file(db: &Db, id: i64) -> Result<Option<FileRow>> {
    Ok(db
        .row(
            &format!("SELECT {FILE_COLS} FROM files WHERE id = ?1"),
            &vals![id],
        )?
        .map(file_row))
}

/// An alert row.
#[derive(Debug, Clone)]
pub struct AlertRow {
    pub id: i64,
    pub capture_id: i64,
    pub uid: Option<String>,
    pub ts: i64,
    pub kind: String,
    pub rule: String,
    pub severity: String,
    pub src_ip: Option<String>,
    pub src_port: Option<i64>,
    pub dst_ip: Option<String>,
    pub dst_port: Option<i64>,
    pub json: Value,
    /// The flow the alert is about, when it has a uid and the flow was stored.
    pub flow_id: Option<i64>,
}

/// The alerts page's filter.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub capture: Option<i64>,
    /// Alerts of the captures of this sensor.
    pub sensor: Option<String>,
    pub kind: Option<String>,
    pub severity: Option<String>,
    /// Alerts of one flow.
    pub uid: Option<String>,
    /// At or after, µs since the epoch.
    pub from_us: Option<i64>,
    /// Before, µs since the epoch.
    pub to_us: Option<i64>,
    pub offset: u64,
    pub limit: u32,
}

/// One page of alerts (newest first) and the capped count.
pub fn alerts(db: &Db, f: &AlertFilter) -> Result<(Vec<AlertRow>, i64)> {
    let mut w: Vec<String> = Vec::new();
    let mut p: Vec<SqlValue> = Vec::new();
    let mut cond = |p: &mut Vec<SqlValue>, sql: &str, v: SqlValue| {
        p.push(v);
        w.push(sql.replace("?N", &format!("?{}", p.len())));
    };
    if let Some(c) = f.capture {
        cond(&mut p, "a.capture_id = ?N", SqlValue::Int(c));
    }
    if let Some(s) = &f.sensor {
        cond(
            &mut p,
            "a.capture_id IN (SELECT id FROM captures WHERE sensor = ?N)",
            s.into(),
        );
    }
    if let Some(k) = &f.kind {
        cond(&mut p, "a.type = ?N", k.into());
    }
    if let Some(s) = &f.severity {
        cond(&mut p, "a.severity = ?N", s.into());
    }
    if let Some(u) = &f.uid {
        cond(&mut p, "a.uid = ?N", u.into());
    }
    if let Some(t) = f.from_us {
        cond(&mut p, "a.ts >= ?N", SqlValue::Int(t));
    }
    if let Some(t) = f.to_us {
        cond(&mut p, "a.ts < ?N", SqlValue::Int(t));
    }
    let clause = if w.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", w.join(" AND "))
    };
    let count = count(
        db,
        &format!(
            "SELECT count(*) FROM (SELECT 1 FROM alerts a {clause} LIMIT {}) c",
            COUNT_CAP + 1
        ),
        &p,
    )?;
    p.push(SqlValue::Int(f.limit.clamp(1, MAX_LIMIT) as i64));
    p.push(SqlValue::Int(f.offset.min(MAX_OFFSET) as i64));
    let n = p.len();
    let sql = format!(
        "SELECT a.id, a.capture_id, a.uid, a.ts, a.type, a.rule, a.severity, a.src_ip, a.src_port,
           a.dst_ip, a.dst_port, a.json,
           (SELECT f.id FROM flows f WHERE f.capture_id = a.capture_id AND f.uid = a.uid LIMIT 1)
         FROM alerts a {clause} ORDER BY a.ts DESC, a.id DESC LIMIT ?{} OFFSET ?{n}",
        n - 1
    );
    let rows = db.rows(&sql, &p)?;
    Ok((
        rows.into_iter()
            .map(|r| AlertRow {
                id: r.i64(0),
                capture_id: r.i64(1),
                uid: r.opt_str(2),
                ts: r.i64(3),
                kind: r.str(4),
                rule: r.str(5),
                severity: r.str(6),
                src_ip: r.opt_str(7),
                src_port: r.opt_i64(8),
                dst_ip: r.opt_str(9),
                dst_port: r.opt_i64(10),
                json: serde_json::from_str(&r.str(11)).unwrap_or(Value::Null),
                flow_id: r.opt_i64(12),
            })
            .collect(),
        count,
    ))
}

/// A capture's dashboard figures, computed once when its analysis ends.
pub struct Stats {
    pub first_ts: Option<i64>,
    pub last_ts: Option<i64>,
    pub json: Value,
}

/// Buckets of the traffic-over-time chart.
pub const TIME_BUCKETS: usize = 60;
/// Hosts in the connections matrix.
pub const MATRIX_HOSTS: usize = 8;

/// Compute the dashboard figures of one capture from its rows.
/// `domains` are the most seen DNS/SNI/Host names (counted while writing).
pub fn compute_stats(db: &Db, capture: i64, domains: &[(String, u64)]) -> Result<Stats> {
    // The flows of the capture. SQLite: a capture's flows were written
    // together, so their ids are one range, read in order instead of
    // jumping through an index row by row. PostgreSQL: several sensors
    // write at once (ids interleave); its (capture_id, ts) index of each
    // day partition is the range.
    let scope = match db.dialect() {
        Dialect::Sqlite => "id BETWEEN ?2 AND ?3 AND +capture_id = ?1",
        Dialect::Postgres => "capture_id = ?1",
    };
    let (lo, hi) = match db.dialect() {
        Dialect::Sqlite => {
            let r = db.row(
                "SELECT min(id), max(id) FROM flows WHERE capture_id = ?1",
                &vals![capture],
            )?;
            (
                r.as_ref().and_then(|r| r.opt_i64(0)).unwrap_or(0),
                r.as_ref().and_then(|r| r.opt_i64(1)).unwrap_or(-1),
            )
        }
        Dialect::Postgres => (0, 0),
    };
    let p = vals![capture, lo, hi];
    let mut protocols = Vec::new();
    for r in db.rows(
        &format!(
            "SELECT protocol, count(*), CAST(sum(bytes) AS BIGINT) FROM flows WHERE {scope}
             GROUP BY protocol ORDER BY 2 DESC, 1"
        ),
        &p,
    )? {
        protocols.push(json!([r.str(0), r.i64(1), r.i64(2)]));
    }
    let r = db.row(
        &format!("SELECT min(ts), max(ts + duration * 1e6) FROM flows WHERE {scope}"),
        &p,
    )?;
    let first = r.as_ref().and_then(|r| r.opt_i64(0));
    let last = r
        .as_ref()
        .and_then(|r| r.opt_f64(1))
        .map(|l| l.round() as i64);
    // Bytes over time: each flow's bytes spread evenly over its lifetime.
    let mut buckets = vec![0f64; TIME_BUCKETS];
    let (start, span) = match (first, last) {
        (Some(f), Some(l)) => (f, (l - f).max(1)),
        _ => (0, 1),
    };
    let bucket_us = (span as f64 / TIME_BUCKETS as f64).max(1.0);
    db.each(
        &format!("SELECT ts, duration, bytes FROM flows WHERE {scope}"),
        &p,
        |r| {
            let (ts, dur, bytes) = (r.i64(0), r.f64(1), r.i64(2));
            let a = ((ts - start) as f64 / bucket_us).max(0.0);
            let b = (a + dur * 1e6 / bucket_us).min(TIME_BUCKETS as f64);
            let (ia, ib) = (
                (a as usize).min(TIME_BUCKETS - 1),
                (b as usize).min(TIME_BUCKETS - 1),
            );
            let n = (ib - ia + 1) as f64;
            for x in &mut buckets[ia..=ib] {
                *x += bytes as f64 / n;
            }
            Ok(())
        },
    )?;
    let mut talkers = Vec::new();
    let mut top_hosts: Vec<String> = Vec::new();
    for r in db.rows(
        &format!(
            "SELECT ip, CAST(sum(b) AS BIGINT), count(*) FROM (
               SELECT src_ip AS ip, bytes AS b FROM flows WHERE {scope}
               UNION ALL SELECT dst_ip, bytes FROM flows WHERE {scope}) t
             GROUP BY ip ORDER BY 2 DESC, 1 LIMIT 10"
        ),
        &p,
    )? {
        let ip = r.str(0);
        if top_hosts.len() < MATRIX_HOSTS {
            top_hosts.push(ip.clone());
        }
        talkers.push(json!([ip, r.i64(1), r.i64(2)]));
    }
    // Who talked to whom, among the top hosts: bytes per (initiator, responder).
    let mut pairs = Vec::new();
    if !top_hosts.is_empty() {
        let list = top_hosts
            .iter()
            .map(|h| format!("'{}'", h.replace('\'', "''")))
            .collect::<Vec<_>>()
            .join(",");
        for r in db.rows(
            &format!(
                "SELECT src_ip, dst_ip, CAST(sum(bytes) AS BIGINT), count(*) FROM flows WHERE {scope}
                 AND src_ip IN ({list}) AND dst_ip IN ({list}) GROUP BY 1, 2"
            ),
            &p,
        )? {
            pairs.push(json!([r.str(0), r.str(1), r.i64(2), r.i64(3)]));
        }
    }
    let mut alerts = Vec::new();
    for r in db.rows(
        "SELECT type, count(*) FROM alerts WHERE capture_id = ?1 GROUP BY type ORDER BY 2 DESC",
        &vals![capture],
    )? {
        alerts.push(json!([r.str(0), r.i64(1)]));
    }
    let json = json!({
        "protocols": protocols,
        "timeline": {
            "start_us": start,
            "bucket_us": bucket_us,
            "bytes": buckets.iter().map(|b| b.round() as i64).collect::<Vec<_>>(),
        },
        "talkers": talkers,
        "matrix_hosts": top_hosts,
        "pairs": pairs,
        "domains": domains.iter().map(|(d, n)| json!([d, n])).collect::<Vec<_>>(),
        "alerts": alerts,
    });
    Ok(Stats {
        first_ts: first,
        last_ts: last,
        json,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts_phrase_quotes_operators() {
        assert_eq!(fts_phrase("a OR b*"), "\"a OR b*\"");
        assert_eq!(fts_phrase("x\"y"), "\"x\"\"y\"");
        assert_eq!(fts_phrase("a\u{0}b\u{1}"), "\"a b \"");
    }

    /// A flow row and its search text, written with the SQL both engines take.
    #[allow(clippy::too_many_arguments)]
    fn insert_flow(
        db: &Db,
        cap: i64,
        uid: &str,
        ts: i64,
        src: &str,
        sport: i64,
        dst: &str,
        proto: &str,
        bytes: i64,
        text: &str,
    ) {
        let row = db
            .row(
                "INSERT INTO flows(capture_id, uid, ts, duration, l4, src_ip, src_port, dst_ip,
                   dst_port, protocol, confidence, source, evidence, orig_pkts, resp_pkts,
                   orig_bytes, resp_bytes, bytes, conn_state, history, community_id, end_reason)
                 VALUES (?1, ?2, ?3, 0.1, 'TCP', ?4, ?5, ?6, 80, ?7, 'dpi', 'dpi', '', 1, 1, ?8, 0, ?8, 'SF', '', '', 'end')
                 RETURNING id",
                &vals![cap, uid, ts, src, sport, dst, proto, bytes],
            )
            .expect("insert")
            .expect("id");
        // Where the text lives is the one difference.
        match db.dialect() {
            Dialect::Sqlite => db.exec(
                "INSERT INTO flow_text(rowid, text) VALUES (?1, ?2)",
                &vals![row.i64(0), text],
            ),
            Dialect::Postgres => db.exec(
                "UPDATE flows SET search_text = ?2 WHERE id = ?1",
                &vals![row.i64(0), crate::pg::search_words(text)],
            ),
        }
        .expect("text");
    }

    /// The same checks on SQLite and, when its server is there, PostgreSQL.
    #[test]
    fn flows_filters_and_plans() {
        let s = crate::Store::open_in_memory().expect("db");
        flows_filters_and_plans_on(&s.db);
        if let Some(pg) = crate::testing::PgServer::start() {
            let url = pg.create_db("queries");
            let t = crate::Target::parse(&url).expect("url");
            let s = crate::Store::open(&t).expect("open postgres");
            flows_filters_and_plans_on(&s.db);
        }
    }

    /// 12,000 flows: 10.0.0.7 in 30 of them (either end), port 80 in all,
    /// "needle.example" searchable in 5. Both plans give the right rows in
    /// the right order, and counts are capped.
    fn flows_filters_and_plans_on(c: &Db) {
        c.batch("INSERT INTO captures(id, name, sensor) VALUES (1, 'a', 's1'), (2, 'b', 's2')")
            .expect("captures");
        c.batch("BEGIN").expect("begin");
        for i in 0..12_000i64 {
            let (src, dst) = match i % 400 {
                0 => (
                    "10.0.0.7".to_string(),
                    format!("10.1.{}.{}", i / 256 % 256, i % 256),
                ),
                1 => (
                    format!("10.2.{}.{}", i / 256 % 256, i % 256),
                    "10.0.0.7".to_string(),
                ),
                _ => (
                    format!("10.3.{}.{}", i / 256 % 256, i % 256),
                    "192.0.2.1".to_string(),
                ),
            };
            let proto = if i % 3 == 0 { "HTTP" } else { "TLS" };
            let text = if i % 2400 == 5 {
                "needle.example /x common.example"
            } else {
                "common.example"
            };
            insert_flow(
                c,
                1,
                &format!("C{i}"),
                1_000_000 + i,
                &src,
                40_000 + (i % 1000),
                &dst,
                proto,
                i,
                text,
            );
        }
        c.batch("COMMIT").expect("commit");
        if c.dialect() == Dialect::Postgres {
            c.batch("ANALYZE").expect("analyze");
        }
        // The other capture's flow with the same address stays out.
        insert_flow(c, 2, "Cz", 5, "10.0.0.7", 1, "10.0.0.8", "HTTP", 1, "x");
        let base = FlowFilter {
            capture: Some(1),
            limit: 50,
            ..FlowFilter::default()
        };
        // Few matches: the candidate plan.
        let (rows, n) = flows(
            c,
            &FlowFilter {
                ip: Some("10.0.0.7".into()),
                ..base.clone()
            },
        )
        .expect("q");
        assert_eq!(n, 60);
        assert_eq!(rows.len(), 50);
        assert!(rows.windows(2).all(|w| w[0].ts <= w[1].ts));
        assert!(rows
            .iter()
            .all(|r| r.capture_id == 1 && (r.src_ip == "10.0.0.7" || r.dst_ip == "10.0.0.7")));
        let (rows, _) = flows(
            c,
            &FlowFilter {
                ip: Some("10.0.0.7".into()),
                sort: SortCol::Bytes,
                desc: true,
                offset: 50,
                ..base.clone()
            },
        )
        .expect("q");
        assert_eq!(rows.len(), 10);
        assert!(rows.windows(2).all(|w| w[0].orig_bytes >= w[1].orig_bytes));
        let (rows, n) = flows(
            c,
            &FlowFilter {
                ip: Some("10.0.0.7".into()),
                protocol: Some("HTTP".into()),
                ..base.clone()
            },
        )
        .expect("q");
        assert_eq!(n as usize, rows.len());
        assert!(n > 0 && rows.iter().all(|r| r.protocol == "HTTP"));
        let (rows, n) = flows(
            c,
            &FlowFilter {
                text: Some("needle.example".into()),
                ..base.clone()
            },
        )
        .expect("q");
        assert_eq!((n, rows.len()), (5, 5));
        let (rows, n) = flows(
            c,
            &FlowFilter {
                text: Some("common.example".into()),
                ..base.clone()
            },
        )
        .expect("q");
        assert_eq!((n, rows.len(), rows[0].ts), (COUNT_CAP + 1, 50, 1_000_000));
        // Many matches: the index-order plan, count capped.
        let (rows, n) = flows(
            c,
            &FlowFilter {
                port: Some(80),
                ..base.clone()
            },
        )
        .expect("q");
        assert_eq!(n, COUNT_CAP + 1);
        assert_eq!(rows.len(), 50);
        assert_eq!(rows[0].ts, 1_000_000);
        let (rows, n) = flows(
            c,
            &FlowFilter {
                protocol: Some("HTTP".into()),
                desc: true,
                ..base.clone()
            },
        )
        .expect("q");
        assert_eq!(n, 4000);
        assert_eq!(rows[0].ts, 1_000_000 + 11_997);
        let (rows, n) = flows(
            c,
            &FlowFilter {
                from_us: Some(1_000_000 + 11_990),
                ..base.clone()
            },
        )
        .expect("q");
        assert_eq!((n, rows.len()), (10, 10));
        let (_, n) = flows(
            c,
            &FlowFilter {
                ip: Some("10.9.9.9".into()),
                ..base
            },
        )
        .expect("q");
        assert_eq!(n, 0);
        // Across captures, by sensor: the other sensor's flow alone.
        let (rows, n) = flows(
            c,
            &FlowFilter {
                sensor: Some("s2".into()),
                ip: Some("10.0.0.7".into()),
                limit: 50,
                ..FlowFilter::default()
            },
        )
        .expect("q");
        assert_eq!((n, rows.len(), rows[0].uid.as_str()), (1, 1, "Cz"));
        let (_, n) = flows(
            c,
            &FlowFilter {
                ip: Some("10.0.0.7".into()),
                limit: 50,
                ..FlowFilter::default()
            },
        )
        .expect("q");
        assert_eq!(n, 61);
        let caps = captures_of(c, Some("s1"), 10).expect("captures");
        assert_eq!((caps.len(), caps[0].sensor.as_str()), (1, "s1"));
        assert_eq!(
            sensors(c).expect("sensors"),
            vec![("s1".to_string(), 1), ("s2".to_string(), 1)]
        );
    }

    #[test]
    fn sort_parse_is_closed() {
        assert_eq!(SortCol::parse("bytes; DROP TABLE flows"), SortCol::Ts);
        assert_eq!(SortCol::parse("bytes").sql(), "bytes");
    }
}
