//! `--eve-redis` against a real `redis-server` (Debian's package) on a
//! free port: every event read back in each mode, the same events as the
//! EVE file of the same run, and Redis stopped mid-run (the analysis
//! finishes, and sent + not sent = every event).
//! Without redis-server each test prints SKIP (and fails under
//! `NETSIFT_REQUIRE_SERVERS=1`, as in CI).

mod common_web;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common_web::*;
use netsift_store::testing::RedisServer;

fn corpus(name: &str) -> std::path::PathBuf {
    netsift_testkit::ndpi_pcap(name)
}

fn sorted_lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_string).collect();
    v.sort();
    v
}

/// `analyze CAPTURE --format eve -o FILE --eve-redis URL --redis-mode M`;
/// the EVE file's lines and stderr.
fn run(dir: &std::path::Path, url: &str, mode: &str) -> (String, String) {
    let eve = dir.join(format!("{mode}.json"));
    let o = Command::new(BIN)
        .arg("analyze")
        .arg(corpus("1kxun.pcap"))
        .args(["--format", "eve", "-o"])
        .arg(&eve)
        .args(["--eve-redis", url, "--redis-mode", mode])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{mode}: {err}");
    (std::fs::read_to_string(&eve).expect("eve"), err)
}

#[test]
fn every_event_in_every_mode() {
    let Some(srv) = RedisServer::start() else {
        return;
    };
    let dir = tmpdir("redis-modes");
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/", srv.port)).expect("client");
    let mut con = client.get_connection().expect("connect");

    // Lists: LPUSH (Suricata's `list`) and RPUSH. Redis gets the events
    // as they are produced (the file of `analyze` is sorted by time at the
    // end): the same events, compared as sets; the two lists are the same
    // sequence from opposite ends.
    let mut lists = Vec::new();
    for (mode, key) in [("list", "eve-l"), ("rpush", "eve-r")] {
        let (file, err) = run(&dir, &srv.url(key), mode);
        let n = file.lines().count();
        assert!(n > 500, "{n} events");
        assert!(
            err.contains(&format!("eve-redis: {n} events sent")),
            "{err}"
        );
        let got: Vec<String> = redis::cmd("LRANGE")
            .arg(key)
            .arg(0)
            .arg(-1)
            .query(&mut con)
            .expect("lrange");
        let mut sorted = got.clone();
        sorted.sort();
        assert_eq!(sorted, sorted_lines(&file), "{mode}");
        lists.push(got);
    }
    // LPUSH puts the newest first; RPUSH keeps the order.
    lists[0].reverse();
    assert_eq!(lists[0], lists[1]);

    // A stream: XADD with MAXLEN ~, field "eve".
    let (file, _) = run(&dir, &srv.url("eve-s"), "stream");
    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg("eve-s")
        .arg("-")
        .arg("+")
        .query(&mut con)
        .expect("xrange");
    let got: Vec<String> = entries
        .into_iter()
        .map(|(_, fields)| {
            assert_eq!(fields.len(), 1);
            assert_eq!(fields[0].0, "eve");
            fields[0].1.clone()
        })
        .collect();
    assert_eq!(got, lists[1], "stream in production order");
    let mut got = got;
    got.sort();
    assert_eq!(got, sorted_lines(&file));

    // A channel: a subscriber reads every event as it is published.
    let sub_client = client.clone();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut c = sub_client.get_connection().expect("sub connect");
        let mut ps = c.as_pubsub();
        ps.subscribe("eve-c").expect("subscribe");
        ps.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        ready_tx.send(()).expect("ready");
        let mut got = Vec::new();
        while let Ok(msg) = ps.get_message() {
            got.push(msg.get_payload::<String>().expect("payload"));
        }
        got
    });
    ready_rx.recv().expect("subscribed");
    let (file, _) = run(&dir, &srv.url("eve-c"), "channel");
    let mut got = reader.join().expect("reader");
    assert_eq!(got, lists[1], "channel in production order");
    got.sort();
    assert_eq!(got, sorted_lines(&file));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Redis goes away while the capture is read: the analysis is not held
/// up, the EVE file is complete, and the summary accounts for every event.
#[test]
fn redis_stopped_mid_run() {
    let Some(mut srv) = RedisServer::start() else {
        return;
    };
    let dir = tmpdir("redis-stop");
    let pcap = std::fs::read(corpus("1kxun.pcap")).expect("pcap");
    let eve = dir.join("eve.json");
    let mut child = Command::new(BIN)
        .args(["analyze", "-", "--format", "eve", "-o"])
        .arg(&eve)
        .args(["--eve-redis", &srv.url("eve"), "--redis-mode", "rpush"])
        .env("NETSIFT_REDIS_RETRY_SECS", "1")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let half = pcap.len() / 2;
    stdin.write_all(&pcap[..half]).expect("first half");
    // Some events reach Redis before it stops.
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/", srv.port)).expect("client");
    let mut con = client.get_connection().expect("connect");
    let t0 = Instant::now();
    loop {
        let n: i64 = redis::cmd("LLEN").arg("eve").query(&mut con).unwrap_or(0);
        if n > 0 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "nothing reached Redis"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    srv.stop();
    let t0 = Instant::now();
    stdin.write_all(&pcap[half..]).expect("second half");
    drop(stdin);
    let o = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    // Reconnect attempts and the final drain are bounded (1 s here).
    assert!(t0.elapsed() < Duration::from_secs(15), "{:?}", t0.elapsed());
    let total = std::fs::read_to_string(&eve).expect("eve").lines().count() as u64;
    let line = err
        .lines()
        .find(|l| l.contains("eve-redis:"))
        .unwrap_or_else(|| panic!("no eve-redis line: {err}"));
    // "eve-redis: S events sent to URL (mode), N NOT sent (...)".
    let word_after = |key: &str| -> u64 {
        line.split(key)
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|w| w.parse().ok())
            .unwrap_or(0)
    };
    let word_before = |key: &str| -> u64 {
        line.split(key)
            .next()
            .and_then(|s| s.split_whitespace().last())
            .and_then(|w| w.parse().ok())
            .unwrap_or(0)
    };
    let (sent, not_sent) = (word_after("eve-redis: "), word_before(" NOT sent"));
    assert!(sent > 0 && not_sent > 0, "{line}");
    assert_eq!(sent + not_sent, total, "{line}");
    assert!(line.contains("NOT sent"), "{line}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unreachable_redis_is_an_error_at_start() {
    let port = netsift_store::testing::free_port();
    let o = Command::new(BIN)
        .arg("analyze")
        .arg(repo_file("crates/cli/tests/carve/http.pcap"))
        .args([
            "--eve-redis",
            &format!("redis://user:Secret-Pw@127.0.0.1:{port}/eve"),
        ])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains(&format!("redis://127.0.0.1:{port}/eve")),
        "{err}"
    );
    assert!(!err.contains("Secret-Pw"), "{err}");
}
