//! Brute-force detection over synthetic login outcomes and SSH sessions.

use std::net::IpAddr;

use netsift_detect::brute::{
    ssh_attempt_from_conn, BruteForceConfig, BruteForceDetector, BruteForceFinding, BruteKind,
    LoginAttempt, SshHeuristic,
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

/// Zeek's rule alone (the rate rule off).
fn volume_only() -> BruteForceDetector {
    BruteForceDetector::new(BruteForceConfig {
        rate_threshold: 0,
        ..BruteForceConfig::default()
    })
}

const USERS: [&str; 4] = ["root", "admin", "ftp", "test"];

#[test]
fn twenty_failures_in_fifteen_minutes() {
    let mut d = volume_only();
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
    // 9 failures among many successes: nothing.
    let a: Vec<_> = (0..9)
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
}

/// Five alike short sessions within 120 s make one finding; later ones
/// are counted into it.
#[test]
fn alike_ssh_sessions_make_a_finding() {
    let mut d = det();
    let conns: Vec<_> = (0..25)
        .map(|i| ssh(T0 + i * 20 * SEC, 2 + i % 3, 2600 + i * 7, 2100))
        .collect();
    let f: Vec<_> = conns.iter().filter_map(|c| d.observe_ssh(c)).collect();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].rule, BruteKind::SshSessions);
    assert_eq!(
        (f[0].service.as_str(), f[0].failures, f[0].server_port),
        ("SSH", 5, 22)
    );
    assert_eq!(f[0].first_ts_ns, T0);
    let p = f[0].ssh.expect("pattern");
    assert_eq!((p.orig_bytes, p.resp_bytes), (2614, 2100));
    let fin = d.finish();
    assert_eq!(fin.len(), 1);
    assert_eq!(fin[0].failures, 25);
}

/// Short sessions that do not look alike (different sizes: a person's
/// varied commands), or too few in the window: nothing.
#[test]
fn unlike_or_sparse_ssh_sessions_are_quiet() {
    let mut d = det();
    for i in 0..10u64 {
        let c = ssh(T0 + i * 10 * SEC, 1, 1500 + i * 1500, 2000 + i * 1200);
        assert!(d.observe_ssh(&c).is_none(), "{i}");
    }
    // Alike but one every 40 s: at most 4 in any 120 s.
    let mut d = det();
    for i in 0..20u64 {
        let mut c = ssh(T0 + i * 40 * SEC, 2, 2600, 2100);
        c.src = ip("10.0.0.7");
        assert!(d.observe_ssh(&c).is_none(), "{i}");
    }
    assert!(d.finish().is_empty());
}

/// hydra's speed: 15 failures in a second cross the rate rule (10 in
/// 60 s) long before Zeek's 20 in 15 minutes; the success that follows is
/// a "login after failures".
#[test]
fn rate_rule_and_login_after_failures() {
    let mut d = det();
    let a: Vec<_> = (0..15)
        .map(|i| fail(T0 + i * 60_000_000, "FTP", Some("alice")))
        .collect();
    let f = run(&mut d, &a);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(
        (f[0].rule, f[0].failures, f[0].threshold),
        (BruteKind::Rate, 10, 10)
    );
    assert_eq!(f[0].window_s, 60.0);
    let ok = LoginAttempt {
        success: true,
        ..fail(T0 + 2 * SEC, "FTP", Some("alice"))
    };
    let f = d.observe(&ok).expect("login after failures");
    assert_eq!(f.rule, BruteKind::LoginAfterFailures);
    assert_eq!(f.failures, 15);
    assert_eq!(f.success_ts_ns, Some(T0 + 2 * SEC));
    assert_eq!(f.first_ts_ns, T0);
    // Once per key.
    assert!(d.observe(&ok).is_none());
    let fin = d.finish();
    assert_eq!(fin.len(), 1, "login-after is not repeated at the end");
    assert_eq!((fin[0].failures, fin[0].successes), (15, 2));
}

/// A person who mistypes a few times, then logs in: below every rule.
#[test]
fn a_few_typos_then_success_is_quiet() {
    let mut d = det();
    let a: Vec<_> = (0..4)
        .map(|i| fail(T0 + i * 5 * SEC, "IMAP", Some("alice")))
        .collect();
    assert!(run(&mut d, &a).is_empty());
    let ok = LoginAttempt {
        success: true,
        ..fail(T0 + 30 * SEC, "IMAP", Some("alice"))
    };
    assert!(d.observe(&ok).is_none());
    // Failures from long ago (beyond the 15-minute window) do not count.
    let mut d = det();
    let a: Vec<_> = (0..9)
        .map(|i| fail(T0 + i * 61 * SEC, "POP3", None))
        .collect();
    assert!(run(&mut d, &a).is_empty());
    let ok = LoginAttempt {
        success: true,
        ..fail(T0 + 9 * 61 * SEC + 900 * SEC, "POP3", None)
    };
    assert!(d.observe(&ok).is_none());
    assert!(d.finish().is_empty());
}

/// State is bounded by time: a million one-off clients spread over hours
/// leave only the keys of the last window (plus slack) in memory, and the
/// findings of expired keys keep their final counts.
#[test]
fn idle_keys_expire() {
    let mut d = det();
    for i in 0..12u64 {
        d.observe(&fail(T0 + i * SEC, "FTP", None));
    }
    for i in 0..200_000u64 {
        let c = IpAddr::from([10, (i >> 16) as u8, (i >> 8) as u8, i as u8]);
        d.observe(&LoginAttempt {
            client: c,
            ..fail(T0 + 100 * SEC + i * 100_000_000, "HTTP", None)
        });
    }
    let fin = d.finish();
    assert_eq!(fin.len(), 1);
    assert_eq!(fin[0].failures, 12, "kept when its key expired");
}

/// After recognised SSH guessing, a session that got past authentication
/// (it moved 80 KB) is a likely successful guess; the same session
/// without the guessing before it is nothing.
#[test]
fn ssh_session_after_guessing_is_a_login_after_failures() {
    let mut d = det();
    let found: Vec<_> = (0..6)
        .filter_map(|i| d.observe_ssh(&ssh(T0 + i * 10 * SEC, 2, 2600, 2100)))
        .collect();
    assert_eq!(found.len(), 1);
    let mut big = ssh(T0 + 70 * SEC, 1, 3400, 84_000);
    big.orig_pkts = 23;
    let f = d.observe_ssh(&big).expect("session after guessing");
    assert_eq!(f.rule, BruteKind::LoginAfterFailures);
    assert_eq!(f.success_ts_ns, Some(T0 + 70 * SEC));
    assert!(d.observe_ssh(&big).is_none(), "once");
    let fin = d.finish();
    assert_eq!((fin.len(), fin[0].successes), (1, 1));
    // No guessing before: nothing.
    let mut d = det();
    assert!(d.observe_ssh(&big).is_none());
}
