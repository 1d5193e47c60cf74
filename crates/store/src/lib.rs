//! netsift's store: captures, flows, protocol records, carved files and
//! alerts in one SQLite file (bundled SQLite, WAL mode), or in a
//! PostgreSQL database shared by many sensors ([`pg`]).
//!
//! * [`Store::open`] creates or migrates a database: the schema version is
//!   `PRAGMA user_version`, and [`MIGRATIONS`] is the ordered list of steps
//!   from an empty file to the current schema. A newer netsift runs the
//!   steps an older database is missing, each in its own transaction.
//! * [`StoreOutput`] is an [`Output`](netsift_engine::analyze::output::Output)
//!   that writes what `netsift analyze` produces, in batched transactions
//!   with cached prepared statements.
//! * [`query`] holds the reads the web analyzer makes, designed for
//!   millions of flows: every page is an indexed range with a `LIMIT`, and
//!   counts are capped instead of scanning the whole table.

pub mod db;
pub mod pg;
pub mod query;
mod schema;
#[doc(hidden)]
pub mod testing;
mod writer;

use std::path::Path;

pub use db::{Db, Dialect, Target, Val};
pub use rusqlite;
pub use schema::{MIGRATIONS, SCHEMA_VERSION};
pub use writer::{fail_capture, new_capture, CaptureInfo, StoreHandle, StoreOutput, WriteStats};

/// The flow-table settings of an analysis, as stored with its capture.
pub fn flow_settings(f: &netsift_flow::FlowConfig) -> serde_json::Value {
    serde_json::json!({
        "max_flows": f.max_flows,
        "tcp_idle_ns": f.tcp_idle_ns,
        "tcp_attempt_ns": f.tcp_attempt_ns,
        "udp_idle_ns": f.udp_idle_ns,
        "other_idle_ns": f.other_idle_ns,
        "closed_linger_ns": f.closed_linger_ns,
        "active_timeout_ns": f.active_timeout_ns,
    })
}

/// The flow-table settings a capture was analysed with (defaults for what
/// is missing), so that its uids can be computed again.
pub fn apply_flow_settings(f: &mut netsift_flow::FlowConfig, v: Option<&serde_json::Value>) {
    let Some(v) = v else { return };
    let get = |k: &str| v.get(k).and_then(serde_json::Value::as_u64);
    if let Some(x) = get("max_flows") {
        f.max_flows = x.clamp(1, 100_000_000) as usize;
    }
    for (k, slot) in [
        ("tcp_idle_ns", &mut f.tcp_idle_ns),
        ("tcp_attempt_ns", &mut f.tcp_attempt_ns),
        ("udp_idle_ns", &mut f.udp_idle_ns),
        ("other_idle_ns", &mut f.other_idle_ns),
        ("closed_linger_ns", &mut f.closed_linger_ns),
        ("active_timeout_ns", &mut f.active_timeout_ns),
    ] {
        if let Some(x) = get(k) {
            *slot = x;
        }
    }
}

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("database: {}", pg_message(.0))]
    Pg(#[from] postgres::Error),
    /// The server could not be reached or refused us (`url` has no password).
    #[error("cannot connect to {url}: {msg}")]
    Connect { url: String, msg: String },
    /// The server went away during the run and did not come back in time.
    #[error("lost {url}: {msg}")]
    Lost { url: String, msg: String },
    #[error("database schema version {found} is newer than this netsift knows ({known}); upgrade netsift")]
    TooNew { found: i64, known: i64 },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A PostgreSQL error with the server's own message and detail (the
/// client's Display says only "db error").
pub fn pg_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => match d.detail() {
            Some(detail) => format!("{}: {detail}", d.message()),
            None => d.message().to_string(),
        },
        None => match std::error::Error::source(e) {
            Some(s) => format!("{e}: {s}"),
            None => e.to_string(),
        },
    }
}

/// An open database.
pub struct Store {
    pub db: Db,
    pub target: Target,
}

impl Store {
    /// Open (creating if needed) and migrate the database at `target`.
    pub fn open(target: &Target) -> Result<Store> {
        match target {
            Target::Sqlite(path) => Self::open_sqlite(path),
            Target::Postgres(c) => Ok(Store {
                db: pg::open(c, &target.display())?,
                target: target.clone(),
            }),
        }
    }

    /// Open (creating if needed) and migrate the SQLite file at `path`.
    pub fn open_sqlite(path: &Path) -> Result<Store> {
        let conn = rusqlite::Connection::open(path)?;
        configure(&conn)?;
        schema::migrate(&conn)?;
        Ok(Store {
            db: Db::Sqlite(conn),
            target: Target::Sqlite(path.to_path_buf()),
        })
    }

    /// An in-memory database (tests).
    pub fn open_in_memory() -> Result<Store> {
        let conn = rusqlite::Connection::open_in_memory()?;
        configure(&conn)?;
        schema::migrate(&conn)?;
        Ok(Store {
            db: Db::Sqlite(conn),
            target: Target::Sqlite(":memory:".into()),
        })
    }

    /// The schema version of the open database.
    pub fn version(&self) -> Result<i64> {
        match &self.db {
            Db::Sqlite(c) => Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?),
            Db::Postgres(_) => Ok(self
                .db
                .row("SELECT max(version) FROM netsift_schema", &[])?
                .map_or(0, |r| r.i64(0))),
        }
    }

    /// Whether the database only reads (a PostgreSQL hot standby: a read
    /// replica for `netsift serve`).
    pub fn read_only(&self) -> bool {
        match &self.db {
            Db::Sqlite(_) => false,
            Db::Postgres(_) => self
                .db
                .row("SELECT pg_is_in_recovery()", &[])
                .ok()
                .flatten()
                .is_some_and(|r| r.i64(0) != 0),
        }
    }

    /// Remove what is older than `cutoff_us` (µs since the epoch): whole
    /// day partitions on PostgreSQL, deleted rows on SQLite. Returns a
    /// description of what went.
    pub fn prune(&self, cutoff_us: i64) -> Result<String> {
        match &self.db {
            Db::Sqlite(c) => {
                let mut n = [0usize; 4];
                c.execute_batch("BEGIN IMMEDIATE")?;
                let r = (|| -> Result<()> {
                    n[0] = c.execute(
                        "DELETE FROM flow_text WHERE rowid IN (SELECT id FROM flows WHERE ts < ?1)",
                        [cutoff_us],
                    )?;
                    n[0] = c.execute("DELETE FROM flows WHERE ts < ?1", [cutoff_us])?;
                    n[1] = c.execute("DELETE FROM records WHERE ts < ?1", [cutoff_us])?;
                    n[2] = c.execute("DELETE FROM alerts WHERE ts < ?1", [cutoff_us])?;
                    n[3] = c.execute("DELETE FROM files WHERE ts < ?1", [cutoff_us])?;
                    Ok(())
                })();
                match r {
                    Ok(()) => c.execute_batch("COMMIT")?,
                    Err(e) => {
                        let _ = c.execute_batch("ROLLBACK");
                        return Err(e);
                    }
                }
                Ok(format!(
                    "deleted {} flows, {} records, {} alerts, {} files",
                    n[0], n[1], n[2], n[3]
                ))
            }
            Db::Postgres(_) => pg::prune(&self.db, cutoff_us),
        }
    }
}

/// Connection settings: WAL (readers never block the writer), a busy
/// timeout so that a reader and the analysis thread wait for each other
/// instead of failing, and foreign keys on.
fn configure(conn: &rusqlite::Connection) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // `journal_mode` answers with the mode; in-memory databases say "memory".
    let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    conn.execute_batch(
        "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-16000;",
    )?;
    Ok(())
}
