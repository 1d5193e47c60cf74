//! Brute-force detection over a real FTP password-guessing run
//! (tests/data/make_ftp_brute.sh): netsift's ftp log of the capture, PASS
//! replies mapped to login outcomes (530 failure, 230 success).

use std::net::IpAddr;
use std::path::Path;

use netsift_detect::brute::{BruteForceConfig, BruteForceDetector, BruteKind, LoginAttempt};
use serde_json::Value;

#[test]
fn ftp_password_guessing() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ftp_brute.ftp.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let recs: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut d = BruteForceDetector::new(BruteForceConfig::default());
    let mut raised = Vec::new();
    let mut attempts = 0;
    for r in &recs {
        if r["command"] != "PASS" {
            continue;
        }
        let success = match r["reply_code"].as_u64() {
            Some(230) => true,
            Some(530) => false,
            _ => continue,
        };
        attempts += 1;
        let a = LoginAttempt {
            ts_ns: (r["ts"].as_f64().unwrap() * 1e6).round() as u64 * 1000,
            client: r["src_ip"].as_str().unwrap().parse().unwrap(),
            server: r["dst_ip"].as_str().unwrap().parse().unwrap(),
            server_port: r["dst_port"].as_u64().unwrap() as u16,
            service: "FTP",
            user: r["user"].as_str(),
            success,
        };
        raised.extend(d.observe(&a));
    }
    assert_eq!(attempts, 31);
    // curl's 30 wrong passwords came within seconds: the rate rule (10 in
    // 60 s) crosses at the 10th; the good login then follows 30 failures.
    assert_eq!(raised.len(), 2, "{raised:#?}");
    let lo: IpAddr = "127.0.0.1".parse().unwrap();
    let f = &raised[0];
    assert_eq!((f.client, f.server, f.server_port), (lo, lo, 21));
    assert_eq!(f.service, "FTP");
    assert_eq!((f.rule, f.failures), (BruteKind::Rate, 10));
    assert_eq!(raised[1].rule, BruteKind::LoginAfterFailures);
    assert_eq!(raised[1].failures, 30);
    let fin = d.finish();
    assert_eq!(fin.len(), 1);
    assert_eq!(fin[0].failures, 30);
    assert_eq!(fin[0].successes, 1);
    assert_eq!(fin[0].users, vec!["admin", "ftp", "guest", "root", "test"]);
    assert!(fin[0].last_ts_ns > fin[0].first_ts_ns);
}
