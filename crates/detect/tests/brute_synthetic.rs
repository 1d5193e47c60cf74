//! Brute-force detection over synthetic login outcomes and SSH sessions.

use std::net::IpAddr;

use netsift_detect::brute::{
    ssh_attempt_from_conn, BruteForceConfig, BruteForceDetector, BruteForceFinding, LoginAttempt,
    SshHeuristic,
};
use netsift_detect::scan::ConnSummary;

const SEC: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * SEC;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn fail(ts: u64, service: &'static str, user: Option<&'static str>) -> LoginAttempt<'static> {
    LoginAttempt {
        ts_ns: ts,
        client: ip("10.0.0.1"),
        server: ip("10.0.0.2"),
        server_port: 21,
        service,
        user,
        success: false,
    }
}

fn run(d: &mut BruteForceDetector, a: &[LoginAttempt]) -> Vec<BruteForceFinding> {
    a.iter().filter_map(|a| d.observe(a)).collect()
}

fn det() -> BruteForceDetector {
    BruteForceDetector::new(BruteForceConfig::default())
}

const USERS: [&str; 4] = ["root", "admin", "ftp", "test"];

#[test]
fn twenty_failures_in_fifteen_minutes() {
    let mut d = det();
    let a: Vec<_> = (0..19)
        .map(|i| fail(T0 + i * 40 * SEC, "FTP", Some(USERS[i as usize % 4])))
        .collect();
    assert!(run(&mut d, &a).is_empty());
    let f = run(&mut d, &[fail(T0 + 19 * 40 * SEC, "FTP", Some("guest"))]);
    assert_eq!(f.len(), 1);
    let f = &f[0];
    assert_eq!(
        (f.client, f.server, f.server_port),
        (ip("10.0.0.1"), ip("10.0.0.2"), 21)
    );
    assert_eq!(f.service, "FTP");
    assert_eq!(f.failures, 20);
    assert_eq!(f.first_ts_ns, T0);
    assert_eq!(f.last_ts_ns, T0 + 760 * SEC);
    assert_eq!(f.users, vec!["admin", "ftp", "guest", "root", "test"]);
    // More failures and then a success: no new finding; the summary grows.
    let more: Vec<_> = (20..100)
        .map(|i| fail(T0 + i * 40 * SEC, "FTP", None))
        .collect();
    assert!(run(&mut d, &more).is_empty());
    let ok = LoginAttempt {
        success: true,
        ..fail(T0 + 5000 * SEC, "FTP", Some("admin"))
    };
    assert!(d.observe(&ok).is_none());
    let fin = d.finish();
    assert_eq!(fin.len(), 1);
    assert_eq!(fin[0].failures, 100);
    assert_eq!(fin[0].successes, 1);
    assert_eq!(fin[0].last_ts_ns, T0 + 99 * 40 * SEC);
}

#[test]
fn slow_guessing_beyond_the_window() {
    // 100 failures, one every 50 s: 19 in any 15 minutes (900 s inclusive
    // holds 19 of them: 0, 50, ..., 900 is 19).
    let mut d = det();
    let a: Vec<_> = (0..100)
        .map(|i| fail(T0 + i * 50 * SEC, "POP3", None))
        .collect();
    assert!(run(&mut d, &a).is_empty());
    assert!(d.finish().is_empty());
    // Every 47 s: 20 fit in 900 s.
    let mut d = det();
    let a: Vec<_> = (0..100)
        .map(|i| fail(T0 + i * 47 * SEC, "POP3", None))
        .collect();
    let f = run(&mut d, &a);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].failures, 20);
    // Thresholds are configurable.
    let mut d = BruteForceDetector::new(BruteForceConfig {
        threshold: 5,
        interval_ns: 60 * SEC,
        ..BruteForceConfig::default()
    });
    let a: Vec<_> = (0..5)
        .map(|i| fail(T0 + i * 15 * SEC, "IMAP", None))
        .collect();
    assert_eq!(run(&mut d, &a).len(), 1);
}

#[test]
fn out_of_order_attempts() {
    let mut a: Vec<_> = (0..20)
        .map(|i| fail(T0 + i * 30 * SEC, "SMTP", None))
        .collect();
    a.reverse();
    a.swap(2, 17);
    let mut d = det();
    let f = run(&mut d, &a);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].first_ts_ns, T0);
    assert_eq!(f[0].last_ts_ns, T0 + 19 * 30 * SEC);
}

#[test]
fn one_finding_per_client_server_service() {
    let mut d = det();
    let mut a = Vec::new();
    for svc in ["FTP", "HTTP"] {
        for i in 0..30 {
            a.push(fail(T0 + i * SEC, svc, None));
        }
    }
    // Another client, and another server.
    for i in 0..30 {
        a.push(LoginAttempt {
            client: ip("10.0.0.9"),
            ..fail(T0 + i * SEC, "FTP", None)
        });
        a.push(LoginAttempt {
            server: ip("10.0.0.3"),
            ..fail(T0 + i * SEC, "FTP", None)
        });
    }
    // Service names are case-insensitive.
    for i in 0..30 {
        a.push(fail(T0 + 100 * SEC + i * SEC, "ftp", None));
    }
    let f = run(&mut d, &a);
    assert_eq!(f.len(), 4, "{f:#?}");
    let fin = d.finish();
    assert_eq!(fin.len(), 4);
    assert_eq!(
        fin.iter()
            .find(|f| f.service == "FTP"
                && f.client == ip("10.0.0.1")
                && f.server == ip("10.0.0.2"))
            .unwrap()
            .failures,
        60
    );
}

#[test]
fn successes_do_not_count() {
    let mut d = det();
    let a: Vec<_> = (0..100)
        .map(|i| LoginAttempt {
            success: true,
            ..fail(T0 + i * SEC, "IMAP", Some("alice"))
        })
        .collect();
    assert!(run(&mut d, &a).is_empty());
    // 19 failures among many successes: nothing.
    let a: Vec<_> = (0..19)
        .map(|i| fail(T0 + i * SEC, "IMAP", Some("alice")))
        .collect();
    assert!(run(&mut d, &a).is_empty());
    assert!(d.finish().is_empty());
}

#[test]
fn user_sample_is_bounded() {
    let names: Vec<String> = (0..50).map(|i| format!("user{i:02}")).collect();
    let mut d = det();
    for (i, n) in names.iter().enumerate() {
        d.observe(&LoginAttempt {
            user: Some(n),
            ..fail(T0 + i as u64 * SEC, "HTTP", None)
        });
    }
    let fin = d.finish();
    assert_eq!(fin[0].users.len(), 20);
    assert_eq!(fin[0].distinct_users, 50);
    assert_eq!(fin[0].users[0], "user00");
}

fn ssh(ts: u64, duration_s: u64, orig: u64, resp: u64) -> ConnSummary<'static> {
    ConnSummary {
        ts_ns: ts,
        duration_ns: duration_s * SEC,
        proto: 6,
        src: ip("10.0.0.1"),
        dst: ip("10.0.0.2"),
        src_port: 50000,
        dst_port: 22,
        conn_state: "SF",
        history: "ShADadFf",
        first_tcp_flags: Some(2),
        orig_pkts: 15,
        resp_pkts: 14,
        orig_payload_bytes: orig,
        resp_payload_bytes: resp,
    }
}

#[test]
fn short_ssh_sessions() {
    let h = SshHeuristic::default();
    // A guesser's session: kex + a few password tries, 3 s, ~4 KB.
    let a = ssh_attempt_from_conn(&ssh(T0, 3, 2500, 2000), &h).unwrap();
    assert_eq!(
        (a.service, a.success, a.user, a.server_port),
        ("SSH", false, None, 22)
    );
    // Long or large sessions, banner grabs, unfinished ones: not counted.
    assert!(ssh_attempt_from_conn(&ssh(T0, 600, 2500, 2000), &h).is_none());
    assert!(ssh_attempt_from_conn(&ssh(T0, 3, 2500, 900_000), &h).is_none());
    assert!(ssh_attempt_from_conn(&ssh(T0, 1, 21, 40), &h).is_none());
    let mut open = ssh(T0, 3, 2500, 2000);
    open.conn_state = "S1";
    assert!(ssh_attempt_from_conn(&open, &h).is_none());
    let mut syn = ssh(T0, 3, 0, 0);
    syn.history = "Sr";
    syn.conn_state = "REJ";
    assert!(ssh_attempt_from_conn(&syn, &h).is_none());
    // 20 short sessions in 15 minutes: a finding.
    let mut d = det();
    let conns: Vec<_> = (0..25)
        .map(|i| ssh(T0 + i * 20 * SEC, 2, 2600, 2100))
        .collect();
    let f: Vec<_> = conns
        .iter()
        .filter_map(|c| ssh_attempt_from_conn(c, &h))
        .filter_map(|a| d.observe(&a))
        .collect();
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].service.as_str(), f[0].failures, f[0].server_port),
        ("SSH", 20, 22)
    );
    assert!(f[0].users.is_empty());
}
