//! `netsift serve` under slow and idle clients (issue 21 §4, slowloris):
//! 500 idle connections, half of them trickling a request head a byte at a
//! time, do not hold up real requests; a slow head is closed at its
//! deadline, and so is an idle keep-alive connection; a client over the
//! per-address cap is closed at once; oversized heads get 431 and a wrong
//! token 401 all the while.

mod common_web;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use common_web::*;

const TOKEN: &str = "slow-clients-token";

/// Make room for `n` open files in this process (the idle sockets).
// rlim_t is u64 on 64-bit Linux, not everywhere.
#[allow(clippy::unnecessary_cast)]
fn raise_fd_limit(n: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read/write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && (lim.rlim_cur as u64) < n {
            lim.rlim_cur = (n as libc::rlim_t).min(lim.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// A database with one analysed capture (flows with ids from 1).
fn analysed_db(dir: &std::path::Path) {
    let st = Command::new(BIN)
        .arg("analyze")
        .arg(repo_file("crates/cli/tests/carve/http.pcap"))
        .arg("--db")
        .arg(dir.join("netsift.db"))
        .arg("-q")
        .status()
        .expect("run analyze");
    assert!(st.success());
}

fn connect(addr: &str) -> TcpStream {
    let sa = addr.parse().expect("addr");
    TcpStream::connect_timeout(&sa, Duration::from_secs(5)).expect("connect")
}

/// Whether the server has closed `s` (EOF or reset) within `wait`.
fn closed_within(s: &mut TcpStream, wait: Duration) -> bool {
    s.set_read_timeout(Some(wait)).ok();
    let mut b = [0u8; 1024];
    loop {
        match s.read(&mut b) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn idle_and_slow_connections_do_not_hold_up_pages() {
    raise_fd_limit(4096);
    let dir = tmpdir("slow-clients");
    analysed_db(&dir);
    // The idle connections all come from 127.0.0.1: above the per-address
    // default of 64. A long head deadline keeps them open for the test.
    let srv = start(
        &dir,
        &[
            "--token",
            TOKEN,
            "--max-conns-per-ip",
            "600",
            "--max-conns",
            "1024",
            "--head-timeout",
            "60",
        ],
    );
    let a = srv.addr.clone();
    let auth = format!("Bearer {TOKEN}");

    let mut silent = Vec::new();
    let mut slow = Vec::new();
    for i in 0..500 {
        let s = connect(&a);
        if i % 2 == 0 {
            silent.push(s);
        } else {
            slow.push(s);
        }
    }
    // Slowloris: each slow connection sends its head a byte at a time,
    // never finishing it, for as long as the test runs.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let trickle = {
        let stop = stop.clone();
        let host = a.clone();
        std::thread::spawn(move || {
            let head = format!("GET / HTTP/1.1\r\nHost: {host}\r\nX-Slow: ");
            let head = head.as_bytes();
            let mut i = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let byte = [head.get(i).copied().unwrap_or(b'a')];
                for s in &mut slow {
                    let _ = s.write_all(&byte);
                }
                i += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            slow
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    // The server holds them (accepted, not waiting in the listen queue).
    let fds = std::fs::read_dir(format!("/proc/{}/fd", srv.child.id()))
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(fds >= 500, "the server holds {fds} descriptors");

    let mut worst = Duration::ZERO;
    for i in 0..20 {
        let path = if i % 2 == 0 {
            "/captures/1"
        } else {
            "/flows/1"
        };
        let t0 = Instant::now();
        let r = request(&a, "GET", path, &[("Authorization", &auth)], b"");
        let took = t0.elapsed();
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert!(
            took < Duration::from_secs(1),
            "{path} took {took:?} with 500 idle connections open"
        );
        worst = worst.max(took);
    }
    eprintln!("slowest of 20 requests with 500 idle connections: {worst:?}");
    // Under the same load: a wrong token is refused, and so is a head over
    // the limit.
    let r = request(
        &a,
        "GET",
        "/",
        &[("Authorization", "Bearer wrong-token-x")],
        b"",
    );
    assert_eq!(r.status, 401);
    let big = "a".repeat(20_000);
    let r = request(
        &a,
        "GET",
        "/",
        &[("Authorization", &auth), ("X-Big", &big)],
        b"",
    );
    assert_eq!(r.status, 431);
    let many: Vec<(String, String)> = (0..70).map(|i| (format!("X-H{i}"), "v".into())).collect();
    let mut hs: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    hs.push(("Authorization", &auth));
    assert_eq!(request(&a, "GET", "/", &hs, b"").status, 431);

    // The idle connections were held open all along, not dropped to make
    // room.
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut slow = trickle.join().expect("trickle thread");
    let open = silent
        .iter_mut()
        .chain(slow.iter_mut())
        .filter_map(|s| {
            s.set_nonblocking(true).ok()?;
            let mut b = [0u8; 16];
            match s.read(&mut b) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => Some(()),
                _ => None,
            }
        })
        .count();
    assert_eq!(open, 500, "idle connections still open");
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn slow_heads_and_idle_keep_alive_are_closed_at_the_deadline() {
    let dir = tmpdir("slow-head");
    let srv = start(&dir, &["--head-timeout", "1"]);
    let a = srv.addr.as_str();
    // A head trickled a byte every 200 ms, never complete.
    let mut s = connect(a);
    let t0 = Instant::now();
    let head = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut closed = false;
    for b in head {
        if s.write_all(&[*b]).is_err() || closed_within(&mut s, Duration::from_millis(200)) {
            closed = true;
            break;
        }
    }
    let took = t0.elapsed();
    assert!(closed, "a slow head was not closed");
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(4),
        "closed after {took:?}, the deadline is 1 s"
    );
    // A connection that sends nothing.
    let mut s = connect(a);
    let t0 = Instant::now();
    assert!(closed_within(&mut s, Duration::from_secs(4)));
    assert!(t0.elapsed() >= Duration::from_millis(800));
    // An idle keep-alive connection after a complete exchange.
    let mut s = connect(a);
    s.write_all(format!("GET /static/app.css HTTP/1.1\r\nHost: {a}\r\n\r\n").as_bytes())
        .expect("write");
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut raw = Vec::new();
    let mut b = [0u8; 4096];
    let body_len = loop {
        let n = s.read(&mut b).expect("answer");
        assert!(n > 0, "closed before answering");
        raw.extend_from_slice(&b[..n]);
        if let Some(p) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..p]).to_ascii_lowercase();
            assert!(head.starts_with("http/1.1 200"), "{head}");
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .expect("content-length");
            break p + 4 + len;
        }
    };
    while raw.len() < body_len {
        let n = s.read(&mut b).expect("body");
        assert!(n > 0);
        raw.extend_from_slice(&b[..n]);
    }
    assert_eq!(raw.len(), body_len, "nothing after the answer");
    let t0 = Instant::now();
    assert!(
        closed_within(&mut s, Duration::from_secs(4)),
        "idle keep-alive kept open"
    );
    assert!(t0.elapsed() >= Duration::from_millis(800));
    // The server answers as before.
    assert_eq!(get(a, "/").status, 200);
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn connections_over_the_per_address_cap_are_closed_at_once() {
    let dir = tmpdir("conn-cap");
    let srv = start(&dir, &["--max-conns-per-ip", "3", "--head-timeout", "60"]);
    let a = srv.addr.as_str();
    let mut held: Vec<TcpStream> = (0..3).map(|_| connect(a)).collect();
    // Let the server accept (and count) them.
    std::thread::sleep(Duration::from_millis(200));
    for _ in 0..10 {
        let mut s = connect(a);
        let t0 = Instant::now();
        assert!(
            closed_within(&mut s, Duration::from_secs(2)),
            "a 4th connection from the same address was served"
        );
        assert!(t0.elapsed() < Duration::from_secs(1));
    }
    for s in &mut held {
        assert!(
            !closed_within(s, Duration::from_millis(10)),
            "held ones stay"
        );
    }
    // A place freed is a place taken again.
    drop(held.pop());
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(get(a, "/").status, 200);
    // Ten refusals in well under a second: one log line, not ten.
    std::thread::sleep(Duration::from_millis(200));
    let lines: Vec<String> = srv
        .log_lines()
        .into_iter()
        .filter(|l| l.contains("over the cap"))
        .collect();
    assert!(
        (1..=2).contains(&lines.len()),
        "refusals reported at most once a second: {lines:?}"
    );
    assert!(lines[0].contains("3 per client address"), "{lines:?}");
    drop(srv);

    // The cap in all, whatever the address.
    let srv = start(
        &dir,
        &[
            "--max-conns",
            "2",
            "--max-conns-per-ip",
            "64",
            "--head-timeout",
            "60",
        ],
    );
    let a = srv.addr.as_str();
    let held: Vec<TcpStream> = (0..2).map(|_| connect(a)).collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut s = connect(a);
    assert!(
        closed_within(&mut s, Duration::from_secs(2)),
        "3rd of 2 served"
    );
    drop(held);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(get(a, "/").status, 200);
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        srv.log_lines().iter().any(|l| l.contains("over 2 in all")),
        "{:?}",
        srv.log_lines()
    );
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}
