//! The reads of the web analyzer (and of anything else that browses a
//! database). Every list is an indexed range with a `LIMIT`; counts are
//! capped at [`COUNT_CAP`] instead of counting a million rows per page.

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::{json, Value};

use crate::Result;

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
}

const CAPTURE_COLS: &str = "id, name, path, size, sha256, packets, flows, first_ts, last_ts, status, bytes_read, error, created, stats, uid_seed, flow_settings";

fn capture_row(r: &Row<'_>) -> rusqlite::Result<Capture> {
    let stats: Option<String> = r.get(13)?;
    Ok(Capture {
        id: r.get(0)?,
        name: r.get(1)?,
        path: r.get(2)?,
        size: r.get(3)?,
        sha256: r.get(4)?,
        packets: r.get(5)?,
        flows: r.get(6)?,
        first_ts: r.get(7)?,
        last_ts: r.get(8)?,
        status: r.get(9)?,
        bytes_read: r.get(10)?,
        error: r.get(11)?,
        created: r.get(12)?,
        stats: stats.and_then(|s| serde_json::from_str(&s).ok()),
        uid_seed: r.get::<_, i64>(14)? as u64,
        flow_settings: r
            .get::<_, Option<String>>(15)?
            .and_then(|s| serde_json::from_str(&s).ok()),
    })
}

/// Captures, newest first.
pub fn captures(conn: &Connection, limit: u32) -> Result<Vec<Capture>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {CAPTURE_COLS} FROM captures ORDER BY id DESC LIMIT ?1"
    ))?;
    let rows = st.query_map(params![limit], capture_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// One capture.
pub fn capture(conn: &Connection, id: i64) -> Result<Option<Capture>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {CAPTURE_COLS} FROM captures WHERE id = ?1"
        ))?
        .query_row(params![id], capture_row)
        .optional()?)
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

fn flow_row(r: &Row<'_>) -> rusqlite::Result<Flow> {
    Ok(Flow {
        id: r.get(0)?,
        capture_id: r.get(1)?,
        uid: r.get(2)?,
        ts: r.get(3)?,
        duration: r.get(4)?,
        l4: r.get(5)?,
        src_ip: r.get(6)?,
        src_port: r.get::<_, i64>(7)? as u16,
        dst_ip: r.get(8)?,
        dst_port: r.get::<_, i64>(9)? as u16,
        vlan: r.get(10)?,
        tunnel: r.get(11)?,
        protocol: r.get(12)?,
        app: r.get(13)?,
        confidence: r.get(14)?,
        source: r.get(15)?,
        evidence: r.get(16)?,
        orig_pkts: r.get(17)?,
        resp_pkts: r.get(18)?,
        orig_bytes: r.get(19)?,
        resp_bytes: r.get(20)?,
        conn_state: r.get(21)?,
        history: r.get(22)?,
        community_id: r.get(23)?,
        end_reason: r.get(24)?,
    })
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

fn flow_sql(f: &FlowFilter) -> FlowSql {
    let mut q = FlowSql {
        cands: Vec::new(),
        rest: Vec::new(),
        plain: Vec::new(),
        params: Vec::new(),
    };
    // ?1 is always the capture (or NULL for all captures).
    q.params
        .push(f.capture.map_or(SqlValue::Null, SqlValue::Integer));
    let (cap, plus_cap) = if f.capture.is_some() {
        ("capture_id = ?1", "+capture_id = ?1")
    } else {
        ("?1 IS NULL", "?1 IS NULL")
    };
    q.plain.push(cap.to_string());
    q.rest.push(plus_cap.to_string());
    let capped = |sql: String| format!("SELECT count(*) FROM ({sql} LIMIT {})", COUNT_CAP + 1);
    // Either end, as two index ranges (an OR may be answered with a scan).
    let either = |q: &mut FlowSql, a: &str, b: &str, v: SqlValue| {
        q.params.push(v);
        let n = q.params.len();
        let (sa, sb) = (
            format!("SELECT id FROM flows WHERE {cap} AND {a} = ?{n}"),
            format!("SELECT id FROM flows WHERE {cap} AND {b} = ?{n}"),
        );
        q.cands.push(Cand {
            probes: vec![capped(sa.clone()), capped(sb.clone())],
            ids: format!("{sa} UNION {sb}"),
            plain: format!("({a} = ?{n} OR {b} = ?{n})"),
        });
    };
    if let Some(ip) = &f.ip {
        either(&mut q, "src_ip", "dst_ip", SqlValue::Text(ip.clone()));
    }
    if let Some(port) = f.port {
        either(
            &mut q,
            "dst_port",
            "src_port",
            SqlValue::Integer(port as i64),
        );
    }
    if let Some(t) = &f.text {
        q.params.push(SqlValue::Text(fts_phrase(t)));
        let n = q.params.len();
        let ids = format!("SELECT rowid FROM flow_text WHERE flow_text MATCH ?{n}");
        q.cands.push(Cand {
            probes: vec![capped(ids.clone())],
            plain: format!("id IN ({ids})"),
            ids,
        });
    }
    let other = |q: &mut FlowSql, col: &str, op: &str, v: SqlValue| {
        q.params.push(v);
        let n = q.params.len();
        q.plain.push(format!("{col} {op} ?{n}"));
        q.rest.push(format!("+{col} {op} ?{n}"));
    };
    if let Some(proto) = &f.protocol {
        other(&mut q, "protocol", "=", SqlValue::Text(proto.clone()));
    }
    if let Some(t) = f.from_us {
        other(&mut q, "ts", ">=", SqlValue::Integer(t));
    }
    if let Some(t) = f.to_us {
        other(&mut q, "ts", "<", SqlValue::Integer(t));
    }
    q
}

fn count(conn: &Connection, sql: &str, params: &[SqlValue]) -> Result<i64> {
    // Bind only the parameters the statement uses (?1..?N, by number).
    let mut st = conn.prepare_cached(sql)?;
    let n = st.parameter_count();
    Ok(st.query_row(rusqlite::params_from_iter(params[..n].iter()), |r| r.get(0))?)
}

/// One page of flows and the (capped) number matching.
///
/// The plan follows the capped counts of the indexed conditions (address,
/// port, text): when one matches at most [`COUNT_CAP`] flows, its ids are
/// collected from its index, the other conditions filter them, and they are
/// sorted (materialized, so the planner cannot trade this for a scan in
/// sort order); otherwise matches are dense, and the page is read in sort
/// order from an index and stops once full.
pub fn flows(conn: &Connection, f: &FlowFilter) -> Result<(Vec<Flow>, i64)> {
    let q = flow_sql(f);
    let dir = if f.desc { "DESC" } else { "ASC" };
    let limit = f.limit.clamp(1, MAX_LIMIT);
    let offset = f.offset.min(MAX_OFFSET);
    let mut best: Option<(i64, usize)> = None;
    for (i, c) in q.cands.iter().enumerate() {
        let mut est = 0;
        for p in &c.probes {
            est += count(conn, p, &q.params)?;
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
            let body = format!(
                "SELECT {FLOW_COLS}, bytes FROM flows WHERE id IN ({}) AND {}",
                q.cands[i].ids,
                conds.join(" AND ")
            );
            let total = count(conn, &format!("SELECT count(*) FROM ({body})"), &q.params)?;
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
                conn,
                &format!(
                    "SELECT count(*) FROM (SELECT 1 FROM flows WHERE {w} LIMIT {})",
                    COUNT_CAP + 1
                ),
                &q.params,
            )?;
            (total, format!("SELECT {FLOW_COLS} FROM flows WHERE {w}"))
        }
    };
    let mut params = q.params;
    params.push(SqlValue::Integer(limit as i64));
    params.push(SqlValue::Integer(offset as i64));
    let n = params.len();
    let sql = format!(
        "{source} ORDER BY {} {dir}, id {dir} LIMIT ?{} OFFSET ?{n}",
        f.sort.sql(),
        n - 1
    );
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map(rusqlite::params_from_iter(params.iter()), flow_row)?;
    Ok((rows.collect::<rusqlite::Result<Vec<_>>>()?, total))
}

/// One flow.
pub fn flow(conn: &Connection, id: i64) -> Result<Option<Flow>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {FLOW_COLS} FROM flows WHERE id = ?1"))?
        .query_row(params![id], flow_row)
        .optional()?)
}

/// The application protocols of a capture (for the filter's choices).
pub fn protocols(conn: &Connection, capture: i64) -> Result<Vec<String>> {
    let c = capture_stats_protocols(conn, capture)?;
    Ok(c)
}

fn capture_stats_protocols(conn: &Connection, capture: i64) -> Result<Vec<String>> {
    let stats: Option<String> = conn
        .query_row(
            "SELECT stats FROM captures WHERE id = ?1",
            params![capture],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
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
pub fn records(conn: &Connection, capture: i64, uid: &str, limit: u32) -> Result<Vec<Record>> {
    let mut st = conn.prepare_cached(
        "SELECT id, log, ts, json FROM records WHERE capture_id = ?1 AND uid = ?2
         ORDER BY ts, id LIMIT ?3",
    )?;
    let rows = st.query_map(params![capture, uid, limit], |r| {
        let s: String = r.get(3)?;
        Ok(Record {
            id: r.get(0)?,
            log: r.get(1)?,
            ts: r.get(2)?,
            json: serde_json::from_str(&s).unwrap_or(Value::Null),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
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
}

const FILE_COLS: &str = "id, capture_id, uid, ts, source, name, mime, size, sha256, complete, path";

fn file_row(r: &Row<'_>) -> rusqlite::Result<FileRow> {
    Ok(FileRow {
        id: r.get(0)?,
        capture_id: r.get(1)?,
        uid: r.get(2)?,
        ts: r.get(3)?,
        source: r.get(4)?,
        name: r.get(5)?,
        mime: r.get(6)?,
        size: r.get(7)?,
        sha256: r.get(8)?,
        complete: r.get(9)?,
        path: r.get(10)?,
    })
}

/// The files of a flow.
pub fn files(conn: &Connection, capture: i64, uid: &str) -> Result<Vec<FileRow>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {FILE_COLS} FROM files WHERE capture_id = ?1 AND uid = ?2 ORDER BY ts, id LIMIT 1000"
    ))?;
    let rows = st.query_map(params![capture, uid], file_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// One file by id.
pub fn file(conn: &Connection, id: i64) -> Result<Option<FileRow>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {FILE_COLS} FROM files WHERE id = ?1"))?
        .query_row(params![id], file_row)
        .optional()?)
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
    pub kind: Option<String>,
    pub severity: Option<String>,
    /// Alerts of one flow.
    pub uid: Option<String>,
    pub offset: u64,
    pub limit: u32,
}

/// One page of alerts (newest first) and the capped count.
pub fn alerts(conn: &Connection, f: &AlertFilter) -> Result<(Vec<AlertRow>, i64)> {
    let mut w: Vec<String> = Vec::new();
    let mut p: Vec<SqlValue> = Vec::new();
    if let Some(c) = f.capture {
        p.push(SqlValue::Integer(c));
        w.push(format!("a.capture_id = ?{}", p.len()));
    }
    if let Some(k) = &f.kind {
        p.push(SqlValue::Text(k.clone()));
        w.push(format!("a.type = ?{}", p.len()));
    }
    if let Some(s) = &f.severity {
        p.push(SqlValue::Text(s.clone()));
        w.push(format!("a.severity = ?{}", p.len()));
    }
    if let Some(u) = &f.uid {
        p.push(SqlValue::Text(u.clone()));
        w.push(format!("a.uid = ?{}", p.len()));
    }
    let clause = if w.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", w.join(" AND "))
    };
    let count: i64 = conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM (SELECT 1 FROM alerts a {clause} LIMIT {})",
            COUNT_CAP + 1
        ))?
        .query_row(rusqlite::params_from_iter(p.iter()), |r| r.get(0))?;
    p.push(SqlValue::Integer(f.limit.clamp(1, MAX_LIMIT) as i64));
    p.push(SqlValue::Integer(f.offset.min(MAX_OFFSET) as i64));
    let n = p.len();
    let sql = format!(
        "SELECT a.id, a.capture_id, a.uid, a.ts, a.type, a.rule, a.severity, a.src_ip, a.src_port,
           a.dst_ip, a.dst_port, a.json,
           (SELECT f.id FROM flows f WHERE f.capture_id = a.capture_id AND f.uid = a.uid LIMIT 1)
         FROM alerts a {clause} ORDER BY a.ts DESC, a.id DESC LIMIT ?{} OFFSET ?{n}",
        n - 1
    );
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map(rusqlite::params_from_iter(p.iter()), |r| {
        let s: String = r.get(11)?;
        Ok(AlertRow {
            id: r.get(0)?,
            capture_id: r.get(1)?,
            uid: r.get(2)?,
            ts: r.get(3)?,
            kind: r.get(4)?,
            rule: r.get(5)?,
            severity: r.get(6)?,
            src_ip: r.get(7)?,
            src_port: r.get(8)?,
            dst_ip: r.get(9)?,
            dst_port: r.get(10)?,
            json: serde_json::from_str(&s).unwrap_or(Value::Null),
            flow_id: r.get(12)?,
        })
    })?;
    Ok((rows.collect::<rusqlite::Result<Vec<_>>>()?, count))
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
pub fn compute_stats(conn: &Connection, capture: i64, domains: &[(String, u64)]) -> Result<Stats> {
    // A capture's flows were written together: their ids are one range, so
    // the figures read that range in order instead of jumping through an
    // index row by row.
    let (lo, hi): (Option<i64>, Option<i64>) = conn.query_row(
        "SELECT min(id), max(id) FROM flows WHERE capture_id = ?1",
        params![capture],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let (lo, hi) = (lo.unwrap_or(0), hi.unwrap_or(-1));
    let mut protocols = Vec::new();
    {
        let mut st = conn.prepare(
            "SELECT protocol, count(*), sum(bytes) FROM flows WHERE id BETWEEN ?2 AND ?3 AND +capture_id = ?1
             GROUP BY protocol ORDER BY 2 DESC, 1",
        )?;
        let mut rows = st.query(params![capture, lo, hi])?;
        while let Some(r) = rows.next()? {
            let (p, n, b): (String, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
            protocols.push(json!([p, n, b]));
        }
    }
    let (first, last): (Option<i64>, Option<f64>) = conn.query_row(
        "SELECT min(ts), max(ts + duration * 1e6) FROM flows WHERE id BETWEEN ?2 AND ?3 AND +capture_id = ?1",
        params![capture, lo, hi],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let last = last.map(|l| l.round() as i64);
    // Bytes over time: each flow's bytes spread evenly over its lifetime.
    let mut buckets = vec![0f64; TIME_BUCKETS];
    let (start, span) = match (first, last) {
        (Some(f), Some(l)) => (f, (l - f).max(1)),
        _ => (0, 1),
    };
    let bucket_us = (span as f64 / TIME_BUCKETS as f64).max(1.0);
    {
        let mut st = conn.prepare(
            "SELECT ts, duration, bytes FROM flows WHERE id BETWEEN ?2 AND ?3 AND +capture_id = ?1",
        )?;
        let mut rows = st.query(params![capture, lo, hi])?;
        while let Some(r) = rows.next()? {
            let (ts, dur, bytes): (i64, f64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
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
        }
    }
    let mut talkers = Vec::new();
    let mut top_hosts: Vec<String> = Vec::new();
    {
        let mut st = conn.prepare(
            "SELECT ip, sum(b), count(*) FROM (
               SELECT src_ip AS ip, bytes AS b FROM flows WHERE id BETWEEN ?2 AND ?3 AND +capture_id = ?1
               UNION ALL SELECT dst_ip, bytes FROM flows WHERE id BETWEEN ?2 AND ?3 AND +capture_id = ?1)
             GROUP BY ip ORDER BY 2 DESC, 1 LIMIT 10",
        )?;
        let mut rows = st.query(params![capture, lo, hi])?;
        while let Some(r) = rows.next()? {
            let (ip, b, n): (String, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
            if top_hosts.len() < MATRIX_HOSTS {
                top_hosts.push(ip.clone());
            }
            talkers.push(json!([ip, b, n]));
        }
    }
    // Who talked to whom, among the top hosts: bytes per (initiator, responder).
    let mut pairs = Vec::new();
    if !top_hosts.is_empty() {
        let list = top_hosts
            .iter()
            .map(|h| format!("'{}'", h.replace('\'', "''")))
            .collect::<Vec<_>>()
            .join(",");
        let mut st = conn.prepare(&format!(
            "SELECT src_ip, dst_ip, sum(bytes), count(*) FROM flows WHERE id BETWEEN ?2 AND ?3 AND +capture_id = ?1
             AND src_ip IN ({list}) AND dst_ip IN ({list}) GROUP BY 1, 2"
        ))?;
        let mut rows = st.query(params![capture, lo, hi])?;
        while let Some(r) = rows.next()? {
            let (s, d, b, n): (String, String, i64, i64) =
                (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
            pairs.push(json!([s, d, b, n]));
        }
    }
    let mut alerts = Vec::new();
    {
        let mut st = conn.prepare(
            "SELECT type, count(*) FROM alerts WHERE capture_id = ?1 GROUP BY type ORDER BY 2 DESC",
        )?;
        let mut rows = st.query(params![capture])?;
        while let Some(r) = rows.next()? {
            let (t, n): (String, i64) = (r.get(0)?, r.get(1)?);
            alerts.push(json!([t, n]));
        }
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

    /// 12,000 flows: 10.0.0.7 in 30 of them (either end), port 80 in all,
    /// "needle.example" searchable in 5. Both plans give the right rows in
    /// the right order, and counts are capped.
    #[test]
    fn flows_filters_and_plans() {
        let s = crate::Store::open_in_memory().expect("db");
        let c = &s.conn;
        c.execute_batch("INSERT INTO captures(id, name) VALUES (1, 'a'), (2, 'b')")
            .expect("captures");
        let mut ins = c
            .prepare(
                "INSERT INTO flows(capture_id, uid, ts, duration, l4, src_ip, src_port, dst_ip,
                   dst_port, protocol, confidence, source, evidence, orig_pkts, resp_pkts,
                   orig_bytes, resp_bytes, bytes, conn_state, history, community_id, end_reason)
                 VALUES (?1, ?2, ?3, 0.1, 'TCP', ?4, ?5, ?6, 80, ?7, 'dpi', 'dpi', '', 1, 1, ?8, 0, ?8, 'SF', '', '', 'end')",
            )
            .expect("prepare");
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
            ins.execute(params![
                1,
                format!("C{i}"),
                1_000_000 + i,
                src,
                40_000 + (i % 1000),
                dst,
                proto,
                i
            ])
            .expect("insert");
            let text = if i % 2400 == 5 {
                "needle.example /x common.example"
            } else {
                "common.example"
            };
            c.execute(
                "INSERT INTO flow_text(rowid, text) VALUES (?1, ?2)",
                params![c.last_insert_rowid(), text],
            )
            .expect("text");
        }
        // The other capture's flow with the same address stays out.
        ins.execute(params![2, "Cz", 5, "10.0.0.7", 1, "10.0.0.8", "HTTP", 1])
            .expect("insert");
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
    }

    #[test]
    fn sort_parse_is_closed() {
        assert_eq!(SortCol::parse("bytes; DROP TABLE flows"), SortCol::Ts);
        assert_eq!(SortCol::parse("bytes").sql(), "bytes");
    }
}
