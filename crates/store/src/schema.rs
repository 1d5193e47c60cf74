//! The schema and its migrations.
//!
//! `PRAGMA user_version` holds the number of migrations applied. Never edit
//! a migration that shipped: add a new one at the end.

use rusqlite::Connection;

use crate::{Result, StoreError};

/// Ordered migrations; entry `i` takes a database from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // v1: the tables and the indexes for the captures list, the flows
    // table (by capture + time, protocol, either endpoint, port), a flow's
    // records/files/alerts (by capture + uid), and the alerts page.
    r#"
    CREATE TABLE captures (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        path TEXT,
        size INTEGER NOT NULL DEFAULT 0,
        sha256 TEXT,
        packets INTEGER NOT NULL DEFAULT 0,
        flows INTEGER NOT NULL DEFAULT 0,
        first_ts INTEGER,
        last_ts INTEGER,
        status TEXT NOT NULL DEFAULT 'queued',
        bytes_read INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        created INTEGER NOT NULL DEFAULT 0,
        stats TEXT
    );
    CREATE TABLE flows (
        id INTEGER PRIMARY KEY,
        capture_id INTEGER NOT NULL REFERENCES captures(id) ON DELETE CASCADE,
        uid TEXT NOT NULL,
        ts INTEGER NOT NULL,
        duration REAL NOT NULL,
        l4 TEXT NOT NULL,
        src_ip TEXT NOT NULL,
        src_port INTEGER NOT NULL,
        dst_ip TEXT NOT NULL,
        dst_port INTEGER NOT NULL,
        vlan INTEGER,
        tunnel TEXT,
        protocol TEXT NOT NULL,
        app TEXT,
        confidence TEXT NOT NULL,
        source TEXT NOT NULL,
        evidence TEXT NOT NULL,
        orig_pkts INTEGER NOT NULL,
        resp_pkts INTEGER NOT NULL,
        orig_bytes INTEGER NOT NULL,
        resp_bytes INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        conn_state TEXT NOT NULL,
        history TEXT NOT NULL,
        community_id TEXT NOT NULL,
        end_reason TEXT NOT NULL
    );
    CREATE INDEX flows_capture_ts ON flows(capture_id, ts);
    CREATE INDEX flows_capture_proto_ts ON flows(capture_id, protocol, ts);
    CREATE INDEX flows_capture_src_ts ON flows(capture_id, src_ip, ts);
    CREATE INDEX flows_capture_dst_ts ON flows(capture_id, dst_ip, ts);
    CREATE INDEX flows_capture_dport_ts ON flows(capture_id, dst_port, ts);
    CREATE INDEX flows_capture_sport ON flows(capture_id, src_port);
    CREATE INDEX flows_capture_bytes ON flows(capture_id, bytes);
    CREATE INDEX flows_capture_proto_bytes ON flows(capture_id, protocol, bytes);
    CREATE INDEX flows_capture_uid ON flows(capture_id, uid);
    CREATE TABLE records (
        id INTEGER PRIMARY KEY,
        capture_id INTEGER NOT NULL REFERENCES captures(id) ON DELETE CASCADE,
        uid TEXT NOT NULL,
        log TEXT NOT NULL,
        ts INTEGER NOT NULL,
        json TEXT NOT NULL
    );
    CREATE INDEX records_capture_uid ON records(capture_id, uid);
    CREATE TABLE files (
        id INTEGER PRIMARY KEY,
        capture_id INTEGER NOT NULL REFERENCES captures(id) ON DELETE CASCADE,
        uid TEXT NOT NULL,
        ts INTEGER NOT NULL,
        source TEXT NOT NULL,
        name TEXT,
        mime TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        complete INTEGER NOT NULL,
        path TEXT
    );
    CREATE INDEX files_capture_uid ON files(capture_id, uid);
    CREATE INDEX files_sha256 ON files(sha256);
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        capture_id INTEGER NOT NULL REFERENCES captures(id) ON DELETE CASCADE,
        uid TEXT,
        ts INTEGER NOT NULL,
        type TEXT NOT NULL,
        rule TEXT NOT NULL,
        severity TEXT NOT NULL,
        src_ip TEXT,
        src_port INTEGER,
        dst_ip TEXT,
        dst_port INTEGER,
        json TEXT NOT NULL
    );
    CREATE INDEX alerts_capture_ts ON alerts(capture_id, ts);
    CREATE INDEX alerts_type_ts ON alerts(type, ts);
    CREATE INDEX alerts_capture_uid ON alerts(capture_id, uid);
    "#,
    // v2: free-text search over what a flow's records name (HTTP host and
    // URI, DNS query, TLS/QUIC SNI, file names, user names), an FTS5 index
    // whose rowid is the flow id; and the uid seed of each capture, so that
    // a flow's packets can be found again for the per-flow pcap.
    r#"
    CREATE VIRTUAL TABLE flow_text USING fts5(text, tokenize = 'unicode61');
    ALTER TABLE captures ADD COLUMN uid_seed INTEGER NOT NULL DEFAULT 0;
    INSERT INTO flow_text(rowid, text)
        SELECT f.id, group_concat(coalesce(json_extract(r.json, '$.host'), '') || ' ' ||
                                  coalesce(json_extract(r.json, '$.uri'), '') || ' ' ||
                                  coalesce(json_extract(r.json, '$.query'), '') || ' ' ||
                                  coalesce(json_extract(r.json, '$.server_name'), ''), ' ')
        FROM flows f JOIN records r ON r.capture_id = f.capture_id AND r.uid = f.uid
        GROUP BY f.id;
    "#,
    // v3: the flow-table settings (timeouts, table size) of each capture's
    // analysis: with the uid seed they give the same uids again. Captures
    // from before have none, and are read with the defaults.
    r#"
    ALTER TABLE captures ADD COLUMN flow_settings TEXT;
    "#,
    // v4: the sensor that captured each capture (`--sensor`; '' before),
    // and flows by time across captures (the all-sensors flows page).
    r#"
    ALTER TABLE captures ADD COLUMN sensor TEXT NOT NULL DEFAULT '';
    CREATE INDEX captures_sensor ON captures(sensor, id);
    CREATE INDEX flows_ts ON flows(ts);
    "#,
    // v5: each carved file's content verdict (benign, suspicious,
    // malicious; NULL: analysis off or a file from before) and its
    // reasons (a JSON array), for the files page's verdict filter.
    r#"
    ALTER TABLE files ADD COLUMN verdict TEXT;
    ALTER TABLE files ADD COLUMN reasons TEXT;
    CREATE INDEX files_verdict ON files(verdict, ts);
    "#,
];

/// The schema version this netsift writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Apply the migrations the database is missing.
pub(crate) fn migrate(conn: &Connection) -> Result<()> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            found,
            known: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        let v = i as i64 + 1;
        // One transaction per step: a failed step leaves the previous version.
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE; {sql}\n PRAGMA user_version = {v}; COMMIT;"
        ))
        .inspect_err(|_| {
            let _ = conn.execute_batch("ROLLBACK");
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_database_is_current() {
        let s = crate::Store::open_in_memory().expect("open");
        assert_eq!(s.version().expect("version"), SCHEMA_VERSION);
    }

    /// A database written by a netsift that knew only schema v1 (the exact
    /// v1 DDL) is migrated on open, keeping its rows, and its flows become
    /// searchable by the text of their records.
    #[test]
    fn v1_database_is_migrated() {
        let dir = std::env::temp_dir().join(format!("netsift-store-mig-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("old.db");
        let _ = std::fs::remove_file(&path);
        {
            let c = Connection::open(&path).expect("open");
            c.execute_batch(MIGRATIONS[0]).expect("v1");
            c.execute_batch("PRAGMA user_version = 1").expect("version");
            c.execute_batch(
                "INSERT INTO captures(id, name, status) VALUES (1, 'old.pcap', 'done');
                 INSERT INTO flows(capture_id, uid, ts, duration, l4, src_ip, src_port, dst_ip,
                   dst_port, protocol, confidence, source, evidence, orig_pkts, resp_pkts,
                   orig_bytes, resp_bytes, bytes, conn_state, history, community_id, end_reason)
                 VALUES (1, 'Cabc', 1, 0.5, 'TCP', '10.0.0.1', 1234, '10.0.0.2', 80, 'HTTP',
                   'dpi', 'dpi', 'request line', 3, 3, 100, 200, 300, 'SF', 'ShADadFf', '1:x', 'closed');
                 INSERT INTO records(capture_id, uid, log, ts, json)
                 VALUES (1, 'Cabc', 'http', 1, '{\"host\":\"old.example.org\",\"uri\":\"/a\"}');",
            )
            .expect("rows");
        }
        let s = crate::Store::open_sqlite(&path).expect("migrate");
        assert_eq!(s.version().expect("version"), SCHEMA_VERSION);
        let (name, seed): (String, i64) =
            s.db.sqlite()
                .expect("sqlite")
                .query_row(
                    "SELECT name, uid_seed FROM captures WHERE id = 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .expect("capture kept");
        assert_eq!((name.as_str(), seed), ("old.pcap", 0));
        let hit: i64 =
            s.db.sqlite()
                .expect("sqlite")
                .query_row(
                    "SELECT rowid FROM flow_text WHERE flow_text MATCH '\"old.example.org\"'",
                    [],
                    |r| r.get(0),
                )
                .expect("search finds the migrated flow");
        assert_eq!(hit, 1);
        drop(s);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn newer_database_is_refused() {
        let c = Connection::open_in_memory().expect("open");
        c.execute_batch(&format!("PRAGMA user_version = {}", SCHEMA_VERSION + 1))
            .expect("set");
        assert!(matches!(migrate(&c), Err(StoreError::TooNew { .. })));
    }
}
