//! Many sensors, one PostgreSQL database (issue 18), against a real server
//! of Debian's `postgresql` started on a temporary directory and port:
//! two sensors writing at once, what `serve` shows of them, the errors
//! (unreachable, newer schema, server lost mid-run) and `db prune`.
//! Without the server binaries each test prints SKIP (and fails under
//! `NETSIFT_REQUIRE_SERVERS=1`, as in CI).

mod common_web;

use std::io::Write;
use std::process::{Command, Stdio};

use common_web::*;
use netsift_store::testing::{free_port, PgServer};

fn corpus(name: &str) -> std::path::PathBuf {
    netsift_testkit::ndpi_pcap(name)
}

fn lines(p: &std::path::Path) -> usize {
    std::fs::read_to_string(p).map_or(0, |s| s.lines().count())
}

/// The number in "<p id=\"flow-count\">N flows</p>".
fn flow_count(page: &str) -> i64 {
    page.split("<p id=\"flow-count\">")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(-1)
}

#[test]
fn two_sensors_at_once_into_one_database() {
    let Some(pg) = PgServer::start() else { return };
    let url = pg.create_db("sensors");
    let dir = tmpdir("pg-sensors");
    // Sensor b analyses a copy of a's first capture: the same packets, so
    // only the sensor in the uid seed keeps their uids apart.
    let copy = dir.join("1kxun-copy.pcap");
    std::fs::copy(corpus("1kxun.pcap"), &copy).expect("copy");
    let run = |sensor: &str, caps: &[std::path::PathBuf]| {
        Command::new(BIN)
            .arg("analyze")
            .args(caps)
            .args(["--db", &url, "--sensor", sensor, "-q", "-o"])
            .arg(dir.join(sensor))
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn analyze")
    };
    let a = run("sensor-a", &[corpus("1kxun.pcap"), corpus("netflix.pcap")]);
    let b = run("sensor-b", &[copy.clone(), corpus("reddit.pcap")]);
    for (name, c) in [("a", a), ("b", b)] {
        let o = c.wait_with_output().expect("wait");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "sensor {name}: {err}");
        assert!(!err.contains("Secret-Pw-123"), "password printed: {err}");
    }
    // Nothing lost: each sensor's rows are what its JSONL holds.
    let q = |sql: &str| pg.psql("sensors", sql);
    for s in ["sensor-a", "sensor-b"] {
        let conn = lines(&dir.join(s).join("conn.jsonl"));
        let http = lines(&dir.join(s).join("http.jsonl"));
        assert!(conn > 100, "{s}: {conn} flows");
        let sub = format!("(SELECT id FROM captures WHERE sensor = '{s}')");
        assert_eq!(
            q(&format!(
                "SELECT count(*) FROM flows WHERE capture_id IN {sub}"
            )),
            conn.to_string(),
            "{s} flows"
        );
        assert_eq!(
            q(&format!(
                "SELECT count(*) FROM records WHERE log = 'http' AND capture_id IN {sub}"
            )),
            http.to_string(),
            "{s} http records"
        );
        assert_eq!(
            q(&format!(
                "SELECT string_agg(status, ',') FROM captures WHERE sensor = '{s}'"
            )),
            "done,done"
        );
    }
    // No uid in two captures, although two captures hold the same packets.
    assert_eq!(
        q("SELECT count(*) FROM (SELECT uid FROM flows GROUP BY uid HAVING count(DISTINCT capture_id) > 1) d"),
        "0"
    );
    // The rows are in day partitions, not in the default one.
    assert_eq!(q("SELECT count(*) FROM flows_default"), "0");
    assert!(
        q("SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE c.relkind = 'r' AND c.relname ~ '^flows_d[0-9]{8}$'")
            .parse::<i64>()
            .unwrap_or(0)
            >= 1
    );

    // serve shows both sensors, and filters by sensor and time.
    let data = dir.join("data").display().to_string();
    let srv = start_db(&url, &["--data-dir", &data]);
    let a = srv.addr.as_str();
    let index = get(a, "/").text();
    assert!(index.contains("<th>Sensor</th>"), "{index}");
    assert_eq!(
        index.matches("<td class=\"sensor\">sensor-a</td>").count(),
        2
    );
    assert_eq!(
        index.matches("<td class=\"sensor\">sensor-b</td>").count(),
        2
    );
    let only_b = get(a, "/?sensor=sensor-b").text();
    assert!(!only_b.contains("<td class=\"sensor\">sensor-a</td>"));
    let all = flow_count(&get(a, "/flows").text());
    let fa = flow_count(&get(a, "/flows?sensor=sensor-a").text());
    let fb = flow_count(&get(a, "/flows?sensor=sensor-b").text());
    let conn_a = lines(&dir.join("sensor-a").join("conn.jsonl")) as i64;
    let conn_b = lines(&dir.join("sensor-b").join("conn.jsonl")) as i64;
    assert_eq!((fa, fb, all), (conn_a, conn_b, conn_a + conn_b));
    let page = get(a, "/flows?sensor=sensor-b&sort=bytes&dir=desc").text();
    assert!(page.contains("<td class=\"sensor\">sensor-b</td>"));
    assert!(!page.contains("<td class=\"sensor\">sensor-a</td>"));
    // By time across sensors: the first second of the 1kxun capture, on
    // both sensors (the same packets).
    let first: i64 = q("SELECT min(ts) FROM flows").parse().expect("min ts");
    let secs = first / 1_000_000;
    let in_sec = q(&format!(
        "SELECT count(*) FROM flows WHERE ts >= {} AND ts < {}",
        secs * 1_000_000,
        (secs + 1) * 1_000_000
    ));
    let page = get(a, &format!("/flows?from={secs}&to={}", secs + 1)).text();
    assert_eq!(flow_count(&page).to_string(), in_sec);
    assert!(page.contains("sensor-a") && page.contains("sensor-b"));
    let alerts = get(a, "/alerts?sensor=sensor-a").text();
    assert!(alerts.contains("<option selected value=\"sensor-a\">"));
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unreachable_database_is_one_line_exit_2() {
    let port = free_port();
    let url = format!("postgres://netsift:Secret-Pw-123@127.0.0.1:{port}/x");
    let o = Command::new(BIN)
        .arg("analyze")
        .arg(repo_file("crates/cli/tests/carve/http.pcap"))
        .args(["--db", &url])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("postgres://netsift@127.0.0.1:{port}/x")),
        "{err}"
    );
    assert!(!err.contains("Secret-Pw-123"), "{err}");
    // serve too.
    let o = Command::new(BIN)
        .args(["serve", "--db", &url, "--listen", "127.0.0.1:0"])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains("Secret-Pw-123"), "{err}");
}

#[test]
fn newer_schema_is_refused_and_prune_drops_partitions() {
    let Some(pg) = PgServer::start() else { return };
    let url = pg.create_db("prune");
    let st = Command::new(BIN)
        .arg("analyze")
        .arg(corpus("1kxun.pcap"))
        .args(["--db", &url, "-q"])
        .status()
        .expect("run");
    assert!(st.success());
    let q = |sql: &str| pg.psql("prune", sql);
    assert_ne!(q("SELECT count(*) FROM flows"), "0");
    let parts = || {
        q("SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE c.relkind = 'r' AND c.relname ~ '^(flows|records|alerts)_d[0-9]{8}$'")
    };
    assert_ne!(parts(), "0");
    // Nothing is 100000 days old: nothing goes.
    let o = Command::new(BIN)
        .args(["db", "prune", "--db", &url, "--older-than", "100000d"])
        .output()
        .expect("prune");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_ne!(q("SELECT count(*) FROM flows"), "0");
    // The capture is years old: 30 days drops its partitions.
    let o = Command::new(BIN)
        .args(["db", "prune", "--db", &url, "--older-than", "30d"])
        .output()
        .expect("prune");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("dropped") && !err.contains("Secret-Pw-123"),
        "{err}"
    );
    assert_eq!(parts(), "0", "{err}");
    assert_eq!(q("SELECT count(*) FROM flows"), "0");
    assert_eq!(q("SELECT count(*) FROM records"), "0");
    // A database from a newer netsift is refused, not written.
    q("INSERT INTO netsift_schema(version, applied) VALUES (99, 0)");
    let o = Command::new(BIN)
        .arg("analyze")
        .arg(corpus("1kxun.pcap"))
        .args(["--db", &url, "-q"])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("newer"), "{err}");
    assert_eq!(q("SELECT count(*) FROM flows"), "0");

    // SQLite: the same command deletes.
    let dir = tmpdir("sqlite-prune");
    let db = dir.join("n.db").display().to_string();
    let st = Command::new(BIN)
        .arg("analyze")
        .arg(corpus("1kxun.pcap"))
        .args(["--db", &db, "-q"])
        .status()
        .expect("run");
    assert!(st.success());
    let o = Command::new(BIN)
        .args(["db", "prune", "--db", &db, "--older-than", "30d"])
        .output()
        .expect("prune");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && err.contains("deleted 197 flows"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The server stops while the analysis runs: the EVE output is complete
/// regardless, the rows that could not be written are counted and
/// reported, and the run says so (exit 1).
#[test]
fn database_lost_mid_run() {
    let Some(pg) = PgServer::start() else { return };
    let url = pg.create_db("lost");
    let dir = tmpdir("pg-lost");
    let pcap = std::fs::read(corpus("1kxun.pcap")).expect("pcap");
    // The reference: EVE events of the capture alone.
    let reference = dir.join("ref.json");
    let st = Command::new(BIN)
        .arg("analyze")
        .arg(corpus("1kxun.pcap"))
        .args(["--format", "eve", "-q", "-o"])
        .arg(&reference)
        .status()
        .expect("ref");
    assert!(st.success());
    let eve = dir.join("eve.json");
    let mut child = Command::new(BIN)
        .args(["analyze", "-", "--db", &url, "--format", "eve", "-o"])
        .arg(&eve)
        .env("NETSIFT_DB_RETRY_SECS", "2")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let half = pcap.len() / 2;
    stdin.write_all(&pcap[..half]).expect("first half");
    // The capture row is there: the run is under way.
    let t0 = std::time::Instant::now();
    while pg.psql("lost", "SELECT count(*) FROM captures") != "1" {
        assert!(t0.elapsed().as_secs() < 30, "no capture row");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    pg.stop();
    stdin.write_all(&pcap[half..]).expect("second half");
    drop(stdin);
    let t0 = std::time::Instant::now();
    let o = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        t0.elapsed().as_secs() < 30,
        "the end waited {:?}",
        t0.elapsed()
    );
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("rows were not written to postgres://netsift@127.0.0.1"),
        "{err}"
    );
    assert!(!err.contains("Secret-Pw-123"), "{err}");
    // The EVE file is complete.
    let got = std::fs::read_to_string(&eve).expect("eve");
    let want = std::fs::read_to_string(&reference).expect("ref");
    assert_eq!(got.lines().count(), want.lines().count(), "{err}");
    assert!(want.lines().count() > 100);
    // What the summary counted: written + dropped = every row.
    let num = |key: &str| -> u64 {
        err.split(key)
            .next()
            .and_then(|s| s.rsplit(' ').find(|w| !w.is_empty()))
            .and_then(|w| w.parse().ok())
            .unwrap_or(u64::MAX)
    };
    let (written, dropped) = (num(" rows written"), num(" dropped,"));
    assert!(dropped > 0, "{err}");
    assert!(pg.start_again());
    let in_db: u64 = pg
        .psql(
            "lost",
            "SELECT (SELECT count(*) FROM flows) + (SELECT count(*) FROM records) + (SELECT count(*) FROM files) + (SELECT count(*) FROM alerts)",
        )
        .parse()
        .expect("count");
    assert_eq!(in_db, written, "{err}");
    // Every row of the capture is either written or counted as dropped:
    // the same capture into a fresh database is the total.
    let url2 = pg.create_db("whole");
    let st = Command::new(BIN)
        .arg("analyze")
        .arg(corpus("1kxun.pcap"))
        .args(["--db", &url2, "-q"])
        .status()
        .expect("run");
    assert!(st.success());
    let total: u64 = pg
        .psql(
            "whole",
            "SELECT (SELECT count(*) FROM flows) + (SELECT count(*) FROM records) + (SELECT count(*) FROM files) + (SELECT count(*) FROM alerts)",
        )
        .parse()
        .expect("count");
    assert_eq!(written + dropped, total, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
