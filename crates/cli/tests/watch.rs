//! `netsift watch lo` on real loopback traffic (root only; prints `SKIP:`
//! and returns otherwise): an HTTP server queried with curl, a DNS
//! responder queried with dig, and nmap SYN and connect scans. netsift is
//! stopped with SIGINT. Checks that the flows, protocols and alerts appear,
//! and that `netsift analyze` of the `--write` capture gives the same
//! flows, protocol records and alerts.
//!
//! The loopback interface is shared with whatever else runs on the machine,
//! so the capture filter keeps only this test's ports (which also tests the
//! filter in the kernel).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("free port")
        .port()
}

/// A minimal DNS responder (RFC 1035): answers every A query with
/// 127.0.0.66, every other query with no answer.
const DNS_RESPONDER: &str = r#"
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    q, peer = s.recvfrom(512)
    if len(q) < 12: continue
    i = 12
    while i < len(q) and q[i] != 0: i += q[i] + 1
    qtype = struct.unpack("!H", q[i+1:i+3])[0] if i + 3 <= len(q) else 0
    question = q[12:i+5]
    an = 1 if qtype == 1 else 0
    hdr = q[:2] + b"\x81\x80" + struct.pack("!HHHH", 1, an, 0, 0)
    ans = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x7f\x00\x00\x42" if an else b""
    s.sendto(hdr + question + ans, peer)
"#;

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn read_jsonl(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

/// Flows as comparable tuples: endpoints, protocol, packet counts.
fn flows(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = read_jsonl(&dir.join("conn.jsonl"))
        .iter()
        .map(|r| {
            format!(
                "{} {}:{} > {}:{} {} {}/{} pkts",
                r["l4"],
                r["src_ip"],
                r["src_port"],
                r["dst_ip"],
                r["dst_port"],
                r["protocol"],
                r["orig_pkts"],
                r["resp_pkts"]
            )
        })
        .collect();
    v.sort();
    v
}

/// Records of one log, without the uid (uids are seeded per run).
fn records(dir: &Path, log: &str) -> Vec<String> {
    let mut v: Vec<String> = read_jsonl(&dir.join(format!("{log}.jsonl")))
        .into_iter()
        .map(|mut r| {
            if let Some(m) = r.as_object_mut() {
                m.remove("uid");
            }
            r.to_string()
        })
        .collect();
    v.sort();
    v
}

/// Underlying matches per alert kind: (type, rule) for blacklists, (type,
/// source) for scans (a live scan alert is raised when the threshold is
/// crossed, the pcap one at the end, so their rule's majority scan type may
/// differ). Summary alerts count for their `count`.
fn alert_counts(dir: &Path) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for a in read_jsonl(&dir.join("alerts.jsonl")) {
        let ty = a["type"].as_str().unwrap_or("").to_string();
        let key = if ty == "port-scan" {
            format!("{ty} from {}", a["src_ip"])
        } else {
            format!("{ty} {}", a["rule"])
        };
        let n = a["summary"]["count"].as_u64().unwrap_or(1);
        *m.entry(key).or_insert(0) += n;
    }
    m
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Capturing needs CAP_NET_RAW: false (and a SKIP line) when not root.
fn is_root_or_skip() -> bool {
    let root = is_root();
    if !root {
        println!("SKIP: not root (capturing needs CAP_NET_RAW)");
    }
    root
}

fn netsift() -> Command {
    Command::new(env!("CARGO_BIN_EXE_netsift"))
}

#[test]
fn watch_lo_sees_http_dns_scans_and_matches_analyze_of_its_capture() {
    if !is_root_or_skip() {
        return;
    }
    for tool in ["python3", "curl", "dig", "nmap"] {
        if !have(tool) {
            println!("SKIP: {tool} not installed");
            return;
        }
    }
    let tmp = std::env::temp_dir().join(format!("netsift-watch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(tmp.join("www")).expect("tmp");
    std::fs::write(tmp.join("www/index.html"), "<html>hello netsift</html>\n").expect("w");
    std::fs::write(tmp.join("domains.txt"), "evil.example\n").expect("w");
    let live: PathBuf = tmp.join("live");
    let replay: PathBuf = tmp.join("replay");
    let pcap = tmp.join("live.pcapng");
    let (http, dns) = (free_tcp_port(), free_udp_port());
    let (scan_lo, scan_hi) = (31000u16, 31059u16);
    let filter = format!(
        "host 127.0.0.1 and (port {http} or udp port {dns} or portrange {scan_lo}-{scan_hi})"
    );
    let rules = ["--domain-blacklist", "domains.txt"];

    let _web = Kill(
        Command::new("python3")
            .args([
                "-m",
                "http.server",
                &http.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .current_dir(tmp.join("www"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("http server"),
    );
    let _dns = Kill(
        Command::new("python3")
            .args(["-c", DNS_RESPONDER, &dns.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dns responder"),
    );

    let mut watch = netsift()
        .current_dir(&tmp)
        // One socket: its uids are those of `analyze` of the written
        // capture (with several, each worker numbers its own frames).
        .args(["watch", "lo", "--threads", "1", "-o"])
        .arg(&live)
        .arg("--write")
        .arg(&pcap)
        .args(["--filter", &filter, "--status-interval", "1"])
        .args(rules)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("netsift watch");
    let stderr = watch.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut log = Vec::new();
    let first = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("watch started");
    assert!(first.contains("watching lo"), "{first}");
    log.push(first);
    // The servers are up once they answer.
    let t0 = Instant::now();
    loop {
        let ok = Command::new("curl")
            .args(["-sf", "-o", "/dev/null"])
            .arg(format!("http://127.0.0.1:{http}/"))
            .status()
            .is_ok_and(|s| s.success());
        if ok || t0.elapsed() > Duration::from_secs(10) {
            assert!(ok, "http server did not start");
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let st = Command::new("curl")
        .args(["-sf", "-o", "/dev/null", "-H", "Host: evil.example"])
        .arg(format!("http://127.0.0.1:{http}/index.html"))
        .status()
        .expect("curl");
    assert!(st.success());
    for name in ["evil.example", "www.good.example"] {
        let out = Command::new("dig")
            .args([
                "@127.0.0.1",
                "-p",
                &dns.to_string(),
                "+tries=1",
                "+time=2",
                name,
            ])
            .output()
            .expect("dig");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("127.0.0.66"),
            "dig {name}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let half = scan_lo + (scan_hi - scan_lo) / 2;
    for (kind, lo, hi) in [("-sS", scan_lo, half), ("-sT", half + 1, scan_hi)] {
        let st = Command::new("nmap")
            .args([
                kind,
                "-Pn",
                "-n",
                "-T4",
                "-p",
                &format!("{lo}-{hi}"),
                "127.0.0.1",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("nmap");
        assert!(st.success(), "nmap {kind}");
    }
    // Ring blocks are handed over within 100 ms; leave time for a status line.
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: signals our own child.
    unsafe { libc::kill(watch.id() as i32, libc::SIGINT) };
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = watch.try_wait().expect("wait") {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "watch did not stop on SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    while let Ok(l) = rx.recv_timeout(Duration::from_millis(500)) {
        log.push(l);
    }
    let log = log.join("\n");
    assert!(status.success(), "watch failed: {log}");
    assert!(log.contains("dropped by the kernel"), "status line: {log}");
    assert!(log.contains("stopped by signal"), "{log}");
    assert!(log.contains("protocols by flows"), "summary printed: {log}");

    // Live results: the flows, protocols and alerts appeared.
    let live_flows = flows(&live);
    assert!(
        live_flows
            .iter()
            .any(|f| f.contains(&format!(":{http} \"HTTP\""))),
        "an HTTP flow: {live_flows:#?}"
    );
    assert!(
        live_flows
            .iter()
            .any(|f| f.contains(&format!(":{dns} \"DNS\""))),
        "a DNS flow: {live_flows:#?}"
    );
    assert!(
        live_flows.len() >= 60,
        "60 scan probes and more: {}",
        live_flows.len()
    );
    let http_recs = records(&live, "http");
    assert!(
        http_recs.iter().any(|r| r.contains("evil.example")),
        "{http_recs:?}"
    );
    let dns_recs = records(&live, "dns");
    assert!(
        dns_recs.iter().any(|r| r.contains("www.good.example")),
        "{dns_recs:?}"
    );
    let live_alerts = alert_counts(&live);
    assert_eq!(
        live_alerts.get("domain-blacklist \"evil.example\""),
        Some(&2),
        "DNS query and HTTP Host (repeats folded, counts kept): {live_alerts:?}"
    );
    assert_eq!(
        live_alerts.get("port-scan from \"127.0.0.1\""),
        Some(&1),
        "{live_alerts:?}"
    );

    // The same traffic, from the capture file, with the uid seed and
    // attempt timeout watch printed: the same answers, uids included.
    let seed: String = log
        .split("uid seed ")
        .nth(1)
        .unwrap_or("")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert!(!seed.is_empty(), "watch prints its uid seed: {log}");
    let st = netsift()
        .current_dir(&tmp)
        .args([
            "analyze",
            "-q",
            "--uid-seed",
            &seed,
            "--tcp-attempt-idle",
            "5",
            "-o",
        ])
        .arg(&replay)
        .args(rules)
        .arg(&pcap)
        .status()
        .expect("analyze");
    assert!(st.success());
    assert_eq!(live_flows, flows(&replay), "flows");
    let uids = |dir: &Path| -> Vec<String> {
        let mut v: Vec<String> = read_jsonl(&dir.join("conn.jsonl"))
            .iter()
            .map(|r| format!("{} {}:{}", r["uid"], r["src_ip"], r["src_port"]))
            .collect();
        v.sort();
        v
    };
    assert_eq!(uids(&live), uids(&replay), "uids");
    for log in ["http", "dns", "files"] {
        assert_eq!(records(&live, log), records(&replay, log), "{log} records");
    }
    assert_eq!(live_alerts, alert_counts(&replay), "alerts");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn watch_names_a_missing_interface_and_missing_privilege() {
    let out = netsift()
        .args(["watch", "nosuchif0", "--format", "eve"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no such interface 'nosuchif0' (see `ip link`)"),
        "{err}"
    );
    let out = netsift()
        .args(["watch", "lo", "--format", "eve", "--filter", "port http"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    // Parsed before the socket is opened: the same message with or without root.
    assert!(
        err.contains("filter at position 5: 'http' is not a port number"),
        "{err}"
    );
    // Without CAP_NET_RAW (root minus the capability, via setpriv), or as an
    // ordinary user: the message says what to do.
    let root = is_root();
    let out = if root {
        if !have("setpriv") {
            println!("SKIP: setpriv not installed, privilege message not checked");
            return;
        }
        Command::new("setpriv")
            .args(["--bounding-set", "-net_raw"])
            .arg(env!("CARGO_BIN_EXE_netsift"))
            .args(["watch", "lo", "--format", "eve"])
            .output()
            .expect("run")
    } else {
        netsift()
            .args(["watch", "lo", "--format", "eve"])
            .output()
            .expect("run")
    };
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("needs root or the CAP_NET_RAW capability"),
        "{err}"
    );
    assert!(
        err.contains("setcap cap_net_raw,cap_net_admin=eip"),
        "{err}"
    );
}

/// SIGTERM ends the capture as SIGINT does, nothing buffered is lost, and
/// size rotation keeps every record exactly once: 20 UDP flows, each conn
/// record larger than the rotation size, all 20 found across the files.
#[test]
fn sigterm_flushes_everything_across_rotated_files() {
    if !is_root_or_skip() {
        return;
    }
    let tmp = std::env::temp_dir().join(format!("netsift-watch-term-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let rx = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = rx.local_addr().expect("addr").port();
    let mut watch = netsift()
        .args(["watch", "lo", "-q", "-o"])
        .arg(&tmp)
        .args([
            "--rotate-size",
            "300",
            "--filter",
            &format!("udp dst port {port}"),
        ])
        .spawn()
        .expect("netsift watch");
    // The capture is open once the output directory exists.
    let t0 = Instant::now();
    while !tmp.join("conn.jsonl").exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "watch did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    for i in 0..20 {
        let tx = UdpSocket::bind("127.0.0.1:0").expect("bind");
        tx.send_to(format!("datagram {i}").as_bytes(), ("127.0.0.1", port))
            .expect("send");
    }
    // No wait: the kernel has the datagrams (a loopback send reaches packet
    // sockets before it returns), most in a ring block not yet handed to
    // userspace. Stopping, watch must drain its ring; it once dropped them.
    // SAFETY: signals our own child.
    unsafe { libc::kill(watch.id() as i32, libc::SIGTERM) };
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = watch.try_wait().expect("wait") {
            break s;
        }
        assert!(t0.elapsed() < Duration::from_secs(15), "no stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success());
    let mut flows = 0;
    let mut files = 0;
    for e in std::fs::read_dir(&tmp).expect("dir").flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with("conn.") {
            files += 1;
            for r in read_jsonl(&e.path()) {
                assert_eq!(r["dst_port"], port);
                flows += 1;
            }
        }
    }
    assert_eq!(flows, 20, "every flow written once");
    assert!(files >= 20, "rotated: {files} conn files");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// `--count` stops by itself; `--format eve` streams to stdout.
#[test]
fn count_stops_and_eve_streams() {
    if !is_root_or_skip() {
        return;
    }
    let rx = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = rx.local_addr().expect("addr").port();
    let mut watch = netsift()
        .args(["watch", "lo", "--format", "eve", "--count", "3"])
        .args(["--filter", &format!("udp dst port {port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("netsift watch");
    let stderr = watch.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(first.contains("watching lo"), "{first}");
    // Four datagrams from four sockets: the fourth is past --count.
    for i in 0..4 {
        let tx = UdpSocket::bind("127.0.0.1:0").expect("bind");
        tx.send_to(format!("d{i}").as_bytes(), ("127.0.0.1", port))
            .expect("send");
        std::thread::sleep(Duration::from_millis(20));
    }
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = watch.try_wait().expect("wait") {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "--count did not stop it"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success());
    let mut out = String::new();
    std::io::Read::read_to_string(&mut watch.stdout.take().expect("stdout"), &mut out)
        .expect("read");
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let flows = events.iter().filter(|e| e["event_type"] == "flow").count();
    assert_eq!(flows, 3, "{out}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        rest.iter().any(|l| l.contains("capture: 3 packets")),
        "{rest:?}"
    );
}

/// A DNS query for `name` (RFC 1035 §4.1: header, one question, type A).
fn dns_query(id: u16, name: &str) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

/// Issue 6: `alert_timeout` from the rules file folds repeats, and
/// `--alert-timeout` overrides it; either way the counts add up.
#[test]
fn alert_timeout_from_rules_and_command_line() {
    if !is_root_or_skip() {
        return;
    }
    let tmp = std::env::temp_dir().join(format!("netsift-watch-agg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).expect("tmp");
    let rules = tmp.join("rules.toml");
    std::fs::write(
        &rules,
        "domain_blacklist = [\"evil.example\"]\nalert_timeout = 600\n",
    )
    .expect("rules");
    // (extra options, alerts written, of which summaries)
    for (extra, written, summaries) in [(vec![], 2, 1), (vec!["--alert-timeout", "0"], 5, 0)] {
        let out = tmp.join(format!("out{}", extra.len()));
        let rx = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let port = rx.local_addr().expect("addr").port();
        let mut watch = netsift()
            .args(["watch", "lo", "-q", "--count", "5", "-o"])
            .arg(&out)
            .arg("--rules")
            .arg(&rules)
            .args(&extra)
            .args(["--filter", &format!("udp dst port {port}")])
            .spawn()
            .expect("netsift watch");
        let t0 = Instant::now();
        while !out.join("conn.jsonl").exists() {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "watch did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let tx = UdpSocket::bind("127.0.0.1:0").expect("bind");
        for i in 0..5u16 {
            tx.send_to(&dns_query(i, "www.evil.example"), ("127.0.0.1", port))
                .expect("send");
        }
        let t0 = Instant::now();
        let status = loop {
            if let Some(s) = watch.try_wait().expect("wait") {
                break s;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(15),
                "--count did not stop it"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success());
        let alerts = read_jsonl(&out.join("alerts.jsonl"));
        let sums = alerts.iter().filter(|a| a["summary"].is_object()).count();
        let total: u64 = alerts
            .iter()
            .map(|a| a["summary"]["count"].as_u64().unwrap_or(1))
            .sum();
        assert_eq!(
            (alerts.len(), sums, total),
            (written, summaries, 5),
            "{extra:?}: {alerts:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

/// `--db`: flows reach the database while the capture runs (committed
/// every second of packet time), and the capture row is closed on SIGINT.
#[test]
fn db_receives_flows_while_watching() {
    if !is_root_or_skip() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("netsift-watch-db-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let db = dir.join("live.db");
    let rx = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = rx.local_addr().expect("addr").port();
    let mut watch = netsift()
        .args(["watch", "lo", "-q", "--udp-idle", "1", "--db"])
        .arg(&db)
        .args(["--filter", &format!("udp dst port {port}")])
        .spawn()
        .expect("netsift watch");
    std::thread::sleep(Duration::from_millis(500));
    for i in 0..3 {
        let tx = UdpSocket::bind("127.0.0.1:0").expect("bind");
        tx.send_to(format!("d{i}").as_bytes(), ("127.0.0.1", port))
            .expect("send");
    }
    let count = |sql: &str| -> i64 {
        netsift_store::Store::open_sqlite(&db)
            .ok()
            .and_then(|s| s.db.row(sql, &[]).ok().flatten())
            .map_or(-1, |r| r.i64(0))
    };
    let t0 = Instant::now();
    while count("SELECT count(*) FROM flows") < 3 {
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "flows did not reach the database while watching"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(watch.try_wait().expect("wait").is_none(), "still running");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(watch.id() as i32, libc::SIGINT) };
    let status = watch.wait().expect("wait");
    assert!(status.success());
    assert_eq!(
        count("SELECT count(*) FROM captures WHERE status = 'done'"),
        1
    );
    assert_eq!(count("SELECT count(*) FROM flows"), 3);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--format zeek` live: rotated by size, every file a whole Zeek log
/// (header block to `#close`), every flow in exactly one of them;
/// `--format zeek-json -o -` streams JSON objects with `_path`.
#[test]
fn zeek_logs_live_rotate_and_stream() {
    if !is_root_or_skip() {
        return;
    }
    let tmp = std::env::temp_dir().join(format!("netsift-watch-zeek-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let rx = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = rx.local_addr().expect("addr").port();
    let mut watch = netsift()
        .args(["watch", "lo", "-q", "--format", "zeek", "-o"])
        .arg(&tmp)
        .args(["--rotate-size", "1500"])
        .args(["--filter", &format!("udp dst port {port}")])
        .spawn()
        .expect("netsift watch");
    // The capture is open once the output directory exists.
    let t0 = Instant::now();
    while !tmp.is_dir() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "watch did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    for i in 0..20 {
        let tx = UdpSocket::bind("127.0.0.1:0").expect("bind");
        tx.send_to(format!("datagram {i}").as_bytes(), ("127.0.0.1", port))
            .expect("send");
    }
    // No wait: the kernel has the datagrams (a loopback send reaches packet
    // sockets before it returns), most in a ring block not yet handed to
    // userspace. Stopping, watch must drain its ring; it once dropped them.
    // SAFETY: signals our own child.
    unsafe { libc::kill(watch.id() as i32, libc::SIGTERM) };
    let status = watch.wait().expect("wait");
    assert!(status.success());
    let (mut rows, mut files) = (0, 0);
    for e in std::fs::read_dir(&tmp).expect("dir").flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !name.starts_with("conn.") {
            continue;
        }
        files += 1;
        let text = std::fs::read_to_string(e.path()).expect("read");
        assert!(text.starts_with("#separator \\x09\n"), "{name}");
        assert!(
            text.lines()
                .last()
                .is_some_and(|l| l.starts_with("#close\t")),
            "{name}"
        );
        for l in text.lines().filter(|l| !l.starts_with('#')) {
            assert_eq!(l.split('\t').nth(5), Some(port.to_string().as_str()), "{l}");
            rows += 1;
        }
    }
    assert_eq!(rows, 20, "every flow written once");
    assert!(files >= 3, "rotated: {files} conn files");
    let _ = std::fs::remove_dir_all(&tmp);

    let watch = netsift()
        .args(["watch", "lo", "-q", "--format", "zeek-json", "-o", "-"])
        .args(["--count", "2", "--filter", &format!("udp dst port {port}")])
        .stdout(Stdio::piped())
        .spawn()
        .expect("netsift watch");
    std::thread::sleep(Duration::from_millis(500));
    for i in 0..2 {
        let tx = UdpSocket::bind("127.0.0.1:0").expect("bind");
        tx.send_to(format!("d{i}").as_bytes(), ("127.0.0.1", port))
            .expect("send");
    }
    let out = watch.wait_with_output().expect("wait");
    assert!(out.status.success());
    let conns: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .filter(|v: &serde_json::Value| v["_path"] == "conn")
        .collect();
    assert_eq!(conns.len(), 2);
    assert_eq!(conns[0]["id.resp_p"], port);
    assert_eq!(conns[0]["proto"], "udp");
    // TSV cannot be streamed live: each log's rows must follow its header.
    let st = netsift()
        .args([
            "watch", "lo", "-q", "--format", "zeek", "-o", "-", "--count", "1",
        ])
        .output()
        .expect("run");
    assert!(!st.status.success());
}

/// A veth pair whose peer is in a network namespace of the test's own,
/// removed on drop.
struct Veth {
    ns: String,
    here: String,
    there: String,
}

impl Veth {
    fn new(tag: &str) -> Option<Veth> {
        let id = std::process::id() % 100_000;
        let v = Veth {
            ns: format!("nsw{tag}{id}"),
            here: format!("nw{tag}{id}a"),
            there: format!("nw{tag}{id}b"),
        };
        let ip = |args: &[&str]| {
            Command::new("ip")
                .args(args)
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        let ok = ip(&["netns", "add", &v.ns])
            && ip(&[
                "link", "add", &v.here, "type", "veth", "peer", "name", &v.there,
            ])
            && ip(&["link", "set", &v.there, "netns", &v.ns]);
        if !ok {
            return None;
        }
        // No IPv6 (router solicitations, MLD) on either end: only the
        // replayed packets cross the pair.
        for (ns, dev) in [(None, &v.here), (Some(&v.ns), &v.there)] {
            let key = format!("net.ipv6.conf.{dev}.disable_ipv6=1");
            let mut c = match ns {
                Some(ns) => {
                    let mut c = Command::new("ip");
                    c.args(["netns", "exec", ns, "sysctl", "-qw", &key]);
                    c
                }
                None => {
                    let mut c = Command::new("sysctl");
                    c.args(["-qw", &key]);
                    c
                }
            };
            let _ = c.status();
        }
        let up = ip(&["link", "set", &v.here, "up"])
            && ip(&["netns", "exec", &v.ns, "ip", "link", "set", &v.there, "up"]);
        up.then_some(v)
    }

    /// tcpreplay of `pcap` into the peer at `pps` packets per second.
    fn replay(&self, pcap: &Path, pps: u32) {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns, "tcpreplay", "-i", &self.there])
            .arg(format!("--pps={pps}"))
            .arg(pcap)
            .output()
            .expect("tcpreplay");
        assert!(
            out.status.success(),
            "tcpreplay: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.here])
            .stderr(Stdio::null())
            .status();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.ns])
            .stderr(Stdio::null())
            .status();
    }
}

/// `watch --threads 2`: two sockets in one PACKET_FANOUT group on a veth
/// pair fed by tcpreplay with the repository's HTTP traffic (50 clients,
/// 2 servers) and a SYN flood from 600 sources. Both sockets get packets
/// (the group is used), and the flows, HTTP records and alerts (the flood
/// is detected centrally over packets of both workers) are those of
/// `netsift analyze` of the `--write` capture: no flow is split between
/// workers, no packet is lost or seen twice.
#[test]
fn threads_2_on_a_veth_match_analyze_of_their_capture() {
    if !is_root_or_skip() {
        return;
    }
    for tool in ["ip", "tcpreplay"] {
        if !have(tool) {
            println!("SKIP: {tool} not installed");
            return;
        }
    }
    let Some(veth) = Veth::new("t") else {
        println!("SKIP: cannot create a veth pair in a network namespace");
        return;
    };
    let tmp = std::env::temp_dir().join(format!("netsift-watch-fanout-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).expect("tmp");
    let rules = tmp.join("rules.toml");
    std::fs::write(
        &rules,
        "[dos]\nwindow = 1.0\nsyn_rate = 40\nudp_rate = 200\nicmp_rate = 200\n",
    )
    .expect("rules");
    let (live, replay, pcap) = (
        tmp.join("live"),
        tmp.join("replay"),
        tmp.join("live.pcapng"),
    );
    let mut watch = netsift()
        .args([
            "watch",
            &veth.here,
            "--threads",
            "2",
            "--status-interval",
            "0",
            "-o",
        ])
        .arg(&live)
        .arg("--write")
        .arg(&pcap)
        .arg("--rules")
        .arg(&rules)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("netsift watch");
    let stderr = watch.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let first = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("watch started");
    assert!(
        first.contains("2 sockets in a PACKET_FANOUT group"),
        "{first}"
    );
    let dos = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dos");
    veth.replay(&dos.join("normal.pcap"), 2000);
    veth.replay(&dos.join("syn_flood.pcap"), 2000);
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: signals our own child.
    unsafe { libc::kill(watch.id() as i32, libc::SIGINT) };
    let status = watch.wait().expect("wait");
    let mut log = vec![first];
    while let Ok(l) = rx.recv_timeout(Duration::from_millis(500)) {
        log.push(l);
    }
    let log = log.join("\n");
    assert!(status.success(), "watch failed: {log}");
    let line = log
        .lines()
        .find(|l| l.contains("capture: "))
        .unwrap_or_else(|| panic!("capture line: {log}"));
    let num = |after: &str| -> u64 {
        line.split(after)
            .next()
            .and_then(|s| s.rsplit(' ').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("'{after}' in {line}"))
    };
    let (captured, dropped) = (num(" packets ("), num(" dropped"));
    assert_eq!(captured + dropped, 1400, "every packet once: {line}");
    // Per socket received/dropped: both sockets of the group got packets.
    let per: Vec<u64> = line
        .split("received/dropped: ")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .unwrap_or_else(|| panic!("per-socket figures: {line}"))
        .split(", ")
        .map(|x| {
            x.split('/')
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        })
        .collect();
    assert_eq!(per.len(), 2, "{line}");
    assert!(per.iter().all(|p| *p > 100), "both sockets used: {line}");
    assert_eq!(per.iter().sum::<u64>(), 1400, "{line}");
    assert!(log.contains("memory (estimated"), "{log}");

    let st = netsift()
        .args(["analyze", "-q", "--tcp-attempt-idle", "5", "-o"])
        .arg(&replay)
        .arg("--rules")
        .arg(&rules)
        .arg(&pcap)
        .status()
        .expect("analyze");
    assert!(st.success());
    let live_flows = flows(&live);
    assert_eq!(live_flows.len(), 700, "100 HTTP connections and 600 SYNs");
    assert_eq!(live_flows, flows(&replay), "flows");
    let http = records(&live, "http");
    assert_eq!(http.len(), 100);
    assert_eq!(http, records(&replay, "http"), "http records");
    let alerts = alert_counts(&live);
    assert!(
        alerts.keys().any(|k| k.starts_with("dos")),
        "the flood, over both workers: {alerts:?}"
    );
    assert_eq!(alerts, alert_counts(&replay), "alerts");
    // uids are unique although each worker numbers its own frames.
    let mut uids: Vec<String> = read_jsonl(&live.join("conn.jsonl"))
        .iter()
        .map(|r| r["uid"].to_string())
        .collect();
    uids.sort();
    uids.dedup();
    assert_eq!(uids.len(), 700);
    let _ = std::fs::remove_dir_all(&tmp);
}

/// `watch --threads 2` on 802.1Q-tagged traffic: the kernel takes the tag
/// out before the fanout program runs, so tagged packets are shared by
/// their IP addresses too (both sockets used), no flow is split, and the
/// flows keep their VLAN (the tag is put back into the frame).
#[test]
fn threads_2_share_vlan_tagged_traffic_by_addresses() {
    if !is_root_or_skip() {
        return;
    }
    for tool in ["ip", "tcpreplay", "tcprewrite"] {
        if !have(tool) {
            println!("SKIP: {tool} not installed");
            return;
        }
    }
    let Some(veth) = Veth::new("v") else {
        println!("SKIP: cannot create a veth pair in a network namespace");
        return;
    };
    let tmp = std::env::temp_dir().join(format!("netsift-watch-vlan-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).expect("tmp");
    let tagged = tmp.join("vlan.pcap");
    let st = Command::new("tcprewrite")
        .args(["--enet-vlan=add", "--enet-vlan-tag=10", "--enet-vlan-cfi=0"])
        .args(["--enet-vlan-pri=0", "-i"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dos/normal.pcap"))
        .arg("-o")
        .arg(&tagged)
        .status()
        .expect("tcprewrite");
    assert!(st.success());
    let live = tmp.join("live");
    let mut watch = netsift()
        .args([
            "watch",
            &veth.here,
            "--threads",
            "2",
            "--status-interval",
            "0",
            "-o",
        ])
        .arg(&live)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("netsift watch");
    let mut lines = BufReader::new(watch.stderr.take().expect("stderr")).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(first.contains("PACKET_FANOUT"), "{first}");
    veth.replay(&tagged, 2000);
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: signals our own child.
    unsafe { libc::kill(watch.id() as i32, libc::SIGINT) };
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(watch.wait().expect("wait").success(), "{rest:?}");
    let line = rest
        .iter()
        .find(|l| l.contains("capture: "))
        .unwrap_or_else(|| panic!("capture line: {rest:?}"));
    assert!(line.contains("capture: 800 packets"), "{line}");
    let per: Vec<u64> = line
        .split("received/dropped: ")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .unwrap_or_default()
        .split(", ")
        .map(|x| {
            x.split('/')
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        })
        .collect();
    assert!(per.len() == 2 && per.iter().all(|p| *p > 100), "{line}");
    let conns = read_jsonl(&live.join("conn.jsonl"));
    assert_eq!(conns.len(), 100, "no flow split");
    assert!(
        conns
            .iter()
            .all(|c| c["vlan"] == 10 && c["orig_pkts"] == 5 && c["resp_pkts"] == 3),
        "{conns:?}"
    );
    assert_eq!(read_jsonl(&live.join("http.jsonl")).len(), 100);
    let _ = std::fs::remove_dir_all(&tmp);
}
