//! Password guessing by a real tool against real servers on loopback
//! (tests/brute/make-brute.sh): THC hydra 9.4 against vsftpd, OpenSSH,
//! Dovecot (IMAP and POP3) and nginx auth_basic, each run ending with the
//! right password; and one ordinary login to each, which must stay quiet.
//! Also `--alert-pcap`: the alerts' flows as pcapng, read back by tshark.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/brute")
}

fn analyze(name: &str, extra: &[&str]) -> Vec<Value> {
    static RUN: AtomicUsize = AtomicUsize::new(0);
    let out = std::env::temp_dir().join(format!(
        "netsift-brute-{}-{name}-{}",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&out);
    let st = Command::new(env!("CARGO_BIN_EXE_netsift"))
        .args(["analyze", "-q", "-o"])
        .arg(&out)
        .args(extra)
        .arg(dir().join(name))
        .status()
        .expect("run analyze");
    assert!(st.success(), "{name}");
    let alerts = std::fs::read_to_string(out.join("alerts.jsonl"))
        .expect("alerts.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let _ = std::fs::remove_dir_all(&out);
    alerts
}

/// hydra -t 4 with 15 wrong passwords then the right one, per service:
/// the rate rule (10 failures in 60 s) fires where Zeek's 20 in 15 minutes
/// would not, and the success after the failures is a critical alert.
#[test]
fn hydra_runs_raise_rate_and_login_after_failures() {
    for (file, service, port) in [
        ("ftp_hydra.pcap", "FTP", 2121),
        ("imap_hydra.pcap", "IMAP", 1143),
        ("pop3_hydra.pcap", "POP3", 1110),
        ("http_hydra.pcap", "HTTP", 8081),
    ] {
        let alerts = analyze(file, &[]);
        assert_eq!(alerts.len(), 2, "{file}: {alerts:#?}");
        let rule = |r: &str| {
            alerts
                .iter()
                .find(|a| a["evidence"]["rule"] == r)
                .unwrap_or_else(|| panic!("{file}: no {r} alert in {alerts:#?}"))
        };
        let rate = rule("rate");
        assert_eq!(rate["type"], "brute-force", "{file}");
        assert_eq!(rate["severity"], "high", "{file}");
        assert_eq!(
            rate["rule"],
            format!("{service} login failures: 10 in 60 s")
        );
        assert_eq!(rate["evidence"]["service"], service, "{file}");
        assert_eq!(rate["dst_port"], port, "{file}");
        // All 15 wrong passwords, and the one that worked.
        assert_eq!(rate["evidence"]["failures"], 15, "{file}");
        assert_eq!(rate["evidence"]["successes"], 1, "{file}");
        assert_eq!(rate["evidence"]["users"], serde_json::json!(["alice"]));
        let after = rule("login_after_failures");
        assert_eq!(after["severity"], "critical", "{file}");
        assert_eq!(after["rule"], format!("{service} login after failures"));
        // hydra's 4 tasks run in parallel: some failures come after the
        // success; at least 10 came before it.
        let before = after["evidence"]["failures"].as_u64().expect("failures");
        assert!((10..=15).contains(&before), "{file}: {before}");
        assert!(after["uid"].is_string(), "{file}: names the flow");
    }
}

/// hydra against sshd (MaxAuthTries 3): the outcome is encrypted, but the
/// guessing sessions are near copies of each other (kex, 3 tries, close).
#[test]
fn hydra_ssh_is_recognised_from_alike_sessions() {
    let alerts = analyze("ssh_hydra.pcap", &[]);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let a = &alerts[0];
    assert_eq!(a["type"], "brute-force");
    assert_eq!(a["evidence"]["rule"], "ssh_sessions");
    assert_eq!(a["evidence"]["service"], "SSH");
    assert_eq!(a["dst_port"], 2222);
    // 16 guessing sessions (hydra's first, a key-exchange-only probe of
    // the auth methods, is not one).
    assert_eq!(a["evidence"]["failures"], 16);
    let p = &a["evidence"]["ssh"];
    assert!(p["orig_bytes"]
        .as_u64()
        .is_some_and(|b| (1000..2000).contains(&b)));
}

/// One correct login to each of the five servers: no alert.
#[test]
fn single_logins_raise_nothing() {
    let alerts = analyze("normal_logins.pcap", &[]);
    assert!(alerts.is_empty(), "{alerts:#?}");
}

/// `--alert-pcap`: a pcapng with the flows that raised alerts, the alert
/// text in the comment of the packet that raised it; tshark reads it.
#[test]
fn alert_pcap_holds_the_alerted_flows_with_comments() {
    let pcap = std::env::temp_dir().join(format!("netsift-alert-{}.pcapng", std::process::id()));
    let alerts = analyze(
        "ftp_hydra.pcap",
        &["--alert-pcap", pcap.to_str().expect("utf-8 path")],
    );
    assert_eq!(alerts.len(), 2);
    let bytes = std::fs::read(&pcap).expect("alert pcap written");
    // Section Header Block, little-endian byte-order magic.
    assert_eq!(&bytes[..4], &[0x0a, 0x0d, 0x0d, 0x0a]);
    assert_eq!(&bytes[8..12], &[0x4d, 0x3c, 0x2b, 0x1a]);
    // netsift reads it back: the alerted FTP control connections only.
    let out = Command::new(env!("CARGO_BIN_EXE_netsift"))
        .args(["flows", "--format", "jsonl"])
        .arg(&pcap)
        .output()
        .expect("netsift flows");
    assert!(out.status.success());
    let flows: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(flows.len(), 2, "the two alerted flows: {flows:#?}");
    assert!(flows.iter().all(|f| f["dst_port"] == 2121));
    // Bounded: with N = 2, each alerted flow gives at most 2 packets
    // before each of its alerts, the alert's packet and 2 after.
    let small = std::env::temp_dir().join(format!("netsift-alert2-{}.pcapng", std::process::id()));
    analyze(
        "ftp_hydra.pcap",
        &[
            "--alert-pcap",
            small.to_str().expect("utf-8 path"),
            "--alert-pcap-packets",
            "2",
        ],
    );
    let out = Command::new(env!("CARGO_BIN_EXE_netsift"))
        .args(["flows", "--format", "jsonl"])
        .arg(&small)
        .output()
        .expect("netsift flows");
    let _ = std::fs::remove_file(&small);
    let pkts: u64 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|f| f["orig_pkts"].as_u64().unwrap_or(0) + f["resp_pkts"].as_u64().unwrap_or(0))
        .sum();
    assert!((2..=2 * 5).contains(&pkts), "{pkts} packets");
    let tshark = Command::new("tshark")
        .args(["-r"])
        .arg(&pcap)
        .args(["-T", "fields", "-e", "frame.comment", "-Y", "frame.comment"])
        .output();
    let _ = std::fs::remove_file(&pcap);
    let Ok(t) = tshark else {
        eprintln!("tshark not installed: the pcapng was checked with netsift only");
        return;
    };
    assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
    let text = String::from_utf8_lossy(&t.stdout);
    let comments: Vec<&str> = text.lines().collect();
    assert_eq!(comments.len(), 2, "{text}");
    assert!(comments
        .iter()
        .any(|c| c.contains("\"FTP login failures: 10 in 60 s\"")));
    assert!(comments
        .iter()
        .any(|c| c.contains("[critical] brute-force \"FTP login after failures\"")));
}

/// The thresholds come from the rules file: samples/rules.toml (the
/// defaults) gives the same alerts; a rate rule of 20 failures does not
/// fire on 15, while the login after them still does.
#[test]
fn thresholds_come_from_the_rules_file() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/rules.toml");
    let alerts = analyze(
        "ftp_hydra.pcap",
        &["--rules", sample.to_str().expect("utf-8")],
    );
    let mut rules: Vec<&str> = alerts
        .iter()
        .filter_map(|a| a["evidence"]["rule"].as_str())
        .collect();
    rules.sort();
    assert_eq!(rules, ["login_after_failures", "rate"]);
    let tuned = std::env::temp_dir().join(format!("netsift-brute-{}.toml", std::process::id()));
    std::fs::write(&tuned, "[brute_force]\nrate_failures = 20\n").expect("write");
    let alerts = analyze(
        "ftp_hydra.pcap",
        &["--rules", tuned.to_str().expect("utf-8")],
    );
    let _ = std::fs::remove_file(&tuned);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0]["evidence"]["rule"], "login_after_failures");
}
