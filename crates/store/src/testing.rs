//! Real servers for tests: a PostgreSQL cluster on a temporary directory
//! and a free port, and a `redis-server` — from Debian's `postgresql` and
//! `redis-server` packages, never mocks.
//!
//! When the binaries are missing the starters return `None` after printing
//! why (the test then skips), unless `NETSIFT_REQUIRE_SERVERS=1` (set by
//! `.ci/run`), where a missing server fails the test.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

static SEQ: AtomicU64 = AtomicU64::new(0);

fn required() -> bool {
    std::env::var("NETSIFT_REQUIRE_SERVERS").is_ok_and(|v| v == "1")
}

fn skip<T>(why: &str) -> Option<T> {
    if required() {
        panic!("NETSIFT_REQUIRE_SERVERS=1 but {why}");
    }
    eprintln!("SKIP: {why}");
    None
}

/// A free TCP port on loopback (bound and released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The newest `/usr/lib/postgresql/*/bin` (or `$NETSIFT_PG_BIN`).
pub fn pg_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NETSIFT_PG_BIN") {
        return Some(PathBuf::from(p));
    }
    let mut best: Option<(u32, PathBuf)> = None;
    for e in std::fs::read_dir("/usr/lib/postgresql").ok()?.flatten() {
        let v: u32 = e.file_name().to_string_lossy().parse().unwrap_or(0);
        let bin = e.path().join("bin");
        if bin.join("initdb").exists() && best.as_ref().is_none_or(|(b, _)| v > *b) {
            best = Some((v, bin));
        }
    }
    best.map(|(_, b)| b)
}

/// A PostgreSQL cluster of its own; stopped and removed on drop.
pub struct PgServer {
    pub port: u16,
    dir: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
}

impl PgServer {
    /// initdb + pg_ctl start, as the `postgres` user when root (PostgreSQL
    /// refuses to run as root). User `netsift`, trust authentication on
    /// loopback.
    pub fn start() -> Option<PgServer> {
        let Some(bin) = pg_bin() else {
            return skip("PostgreSQL server binaries not found (apt-get install postgresql)");
        };
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("netsift-pg-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        if std::fs::create_dir_all(&dir).is_err() {
            return skip("cannot create a temporary directory");
        }
        let as_postgres = is_root();
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                return skip("running as root but cannot chown to the postgres user");
            }
        }
        let s = PgServer {
            port: free_port(),
            dir,
            bin,
            as_postgres,
        };
        let data = s.dir.join("data");
        let out = s
            .cmd("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "netsift", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .stdout(Stdio::null())
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => {
                return skip(&format!(
                    "initdb failed: {}",
                    String::from_utf8_lossy(&o.stderr)
                ))
            }
            Err(e) => return skip(&format!("initdb: {e}")),
        }
        if !s.start_again() {
            let log = std::fs::read_to_string(s.dir.join("log")).unwrap_or_default();
            return skip(&format!("pg_ctl start failed: {log}"));
        }
        Some(s)
    }

    fn cmd(&self, prog: &str) -> Command {
        let exe = self.bin.join(prog);
        if self.as_postgres {
            let mut c = Command::new("setpriv");
            c.args([
                "--reuid=postgres",
                "--regid=postgres",
                "--init-groups",
                "--",
            ])
            .arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    /// (Re)start the server on its port; true when it accepts connections.
    pub fn start_again(&self) -> bool {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=50",
            self.port,
            self.dir.display()
        );
        self.cmd("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-o", &opts, "-l"])
            .arg(self.dir.join("log"))
            .args(["-w", "-t", "60", "start"])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Stop the server (fast shutdown: connections are cut).
    pub fn stop(&self) {
        let _ = self
            .cmd("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "fast", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    /// Create database `name`; its URL (with a password that trust
    /// authentication ignores, so tests can check it is never printed).
    pub fn create_db(&self, name: &str) -> String {
        let c = self.cmd("createdb");
        let mut c = c;
        let _ = c
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "netsift",
                name,
            ])
            .status();
        self.url(name)
    }

    /// The URL of database `name`.
    pub fn url(&self, name: &str) -> String {
        format!(
            "postgres://netsift:Secret-Pw-123@127.0.0.1:{}/{name}",
            self.port
        )
    }

    /// A `psql` query's output (unaligned, tuples only).
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = self
            .cmd("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "netsift",
            ])
            .args(["-d", db, "-A", "-t", "-X", "-c", sql])
            .output();
        match out {
            Ok(o) => String::from_utf8_lossy(&o.stdout).trim().to_string(),
            Err(_) => String::new(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = self
            .cmd("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A `redis-server` child process on a free port, no persistence; killed
/// on drop.
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
}

impl RedisServer {
    pub fn start() -> Option<RedisServer> {
        let exe = std::env::var_os("NETSIFT_REDIS_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("redis-server"));
        if Command::new(&exe)
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_err()
        {
            return skip("redis-server not found (apt-get install redis-server)");
        }
        let mut s = RedisServer {
            port: free_port(),
            child: None,
        };
        if !s.start_again() {
            return skip("redis-server did not start");
        }
        Some(s)
    }

    /// (Re)start on the same port; true when it accepts connections.
    pub fn start_again(&mut self) -> bool {
        let exe = std::env::var_os("NETSIFT_REDIS_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("redis-server"));
        let child = Command::new(exe)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(child) = child else { return false };
        self.child = Some(child);
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(10) {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Kill the server (its data is gone: no persistence).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn url(&self, key: &str) -> String {
        format!("redis://127.0.0.1:{}/{key}", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
