//! Intrusion detection through `netsift analyze` on real traffic made on
//! loopback (see crates/detect/tests/data/README.md): nmap scans, FTP and
//! SSH brute force, blacklisted domains in a real DNS exchange and TLS SNI,
//! a URL blacklist hit, and ordinary traffic that must stay quiet.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn analyze(capture: &Path, extra: &[&str]) -> (std::process::ExitStatus, Vec<serde_json::Value>) {
    let out = std::env::temp_dir().join(format!(
        "netsift-detect-{}-{}",
        std::process::id(),
        capture.file_stem().and_then(|s| s.to_str()).unwrap_or("x")
    ));
    let _ = std::fs::remove_dir_all(&out);
    let st = Command::new(env!("CARGO_BIN_EXE_netsift"))
        .args(["analyze", "-q", "-o"])
        .arg(&out)
        .args(extra)
        .arg(capture)
        .status()
        .expect("run analyze");
    let alerts = std::fs::read_to_string(out.join("alerts.jsonl"))
        .expect("alerts.jsonl always written")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let _ = std::fs::remove_dir_all(&out);
    (st, alerts)
}

#[test]
fn nmap_scans_are_detected_with_type_and_port_count() {
    let data = root().join("crates/detect/tests/data");
    for (file, ty, ports) in [
        ("scan_syn.pcap", "syn", 200),
        ("scan_connect.pcap", "connect", 200),
        ("scan_udp.pcap", "udp", 60),
        ("scan_fin.pcap", "fin", 40),
        ("scan_null.pcap", "null", 40),
        ("scan_xmas.pcap", "xmas", 40),
        ("scan_ack.pcap", "ack", 40),
    ] {
        let (st, alerts) = analyze(&data.join(file), &[]);
        assert!(st.success(), "{file}");
        assert_eq!(alerts.len(), 1, "{file}: {alerts:?}");
        let a = &alerts[0];
        assert_eq!(a["type"], "port-scan", "{file}");
        assert_eq!(a["evidence"]["scan_type"], ty, "{file}");
        assert_eq!(a["evidence"]["count"], ports, "{file}");
        assert_eq!(a["evidence"]["kind"], "vertical", "{file}");
    }
}

#[test]
fn ftp_brute_force_is_detected() {
    let cap = root().join("crates/detect/tests/data/ftp_brute.pcap");
    let (st, alerts) = analyze(&cap, &["--fail-on-alert"]);
    assert_eq!(st.code(), Some(3), "--fail-on-alert");
    // The good login after 30 failures is raised when seen; the rate
    // finding (30 failures in seconds) at the end with its final count.
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert!(alerts.iter().all(|a| a["type"] == "brute-force"
        && a["evidence"]["service"] == "FTP"
        && a["evidence"]["failures"] == 30));
    assert_eq!(alerts[0]["evidence"]["rule"], "login_after_failures");
    assert_eq!(alerts[0]["severity"], "critical");
    assert_eq!(alerts[1]["evidence"]["rule"], "rate");
    assert_eq!(alerts[1]["evidence"]["successes"], 1);
}

#[test]
fn ssh_brute_force_is_detected_from_short_sessions() {
    // 24 wrong passwords against a real sshd, one connection each (sshd's
    // log counted 24 "Failed password"), then one ordinary session that
    // moved 80 KB: exactly the 24 short sessions count as failures.
    let cap = root().join("crates/detect/tests/data/ssh_brute.pcap");
    let (st, alerts) = analyze(&cap, &[]);
    assert!(st.success());
    // The session after the guessing, which moved 80 KB, is raised when
    // it ends (a likely successful guess); the guessing at the end.
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert!(alerts.iter().all(|a| a["type"] == "brute-force"
        && a["evidence"]["service"] == "SSH"
        && a["evidence"]["server_port"] == 2222));
    assert_eq!(alerts[0]["evidence"]["rule"], "login_after_failures");
    assert_eq!(alerts[0]["severity"], "critical");
    assert_eq!(alerts[1]["evidence"]["rule"], "ssh_sessions");
    assert_eq!(alerts[1]["evidence"]["failures"], 24);
    assert_eq!(alerts[1]["evidence"]["successes"], 1);
}

#[test]
fn captures_out_of_time_order_are_all_detected() {
    // One run over three captures whose clocks go backwards between them
    // (ssh_brute is the newest): each keeps its detection.
    let data = root().join("crates/detect/tests/data");
    let out = std::env::temp_dir().join(format!("netsift-detect-order-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let st = Command::new(env!("CARGO_BIN_EXE_netsift"))
        .args(["analyze", "-q", "-o"])
        .arg(&out)
        .arg(data.join("ssh_brute.pcap"))
        .arg(data.join("scan_syn.pcap"))
        .arg(data.join("ftp_brute.pcap"))
        .status()
        .expect("run analyze");
    assert!(st.success());
    let text = std::fs::read_to_string(out.join("alerts.jsonl")).expect("alerts");
    let _ = std::fs::remove_dir_all(&out);
    let mut kinds: Vec<String> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json");
            format!(
                "{} {}",
                v["type"].as_str().unwrap_or(""),
                v["evidence"]["service"]
                    .as_str()
                    .or(v["evidence"]["scan_type"].as_str())
                    .unwrap_or("")
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "brute-force FTP",
            "brute-force FTP",
            "brute-force SSH",
            "brute-force SSH",
            "port-scan syn"
        ]
    );
}

#[test]
fn blacklisted_domain_url_and_ip_on_real_traffic() {
    let tmp = std::env::temp_dir().join(format!("netsift-lists-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("tmp");
    let dom = tmp.join("domains.txt");
    let url = tmp.join("urls.txt");
    let ip = tmp.join("ips.txt");
    std::fs::write(&dom, "# test list\nEXAMPLE.test.\n").expect("write");
    std::fs::write(&url, "/MISSING\n").expect("write");
    std::fs::write(&ip, "::ffff:127.0.0.1/128\n").expect("write");
    let cap = root().join("samples/loopback.pcap");
    let args = [
        "--domain-blacklist",
        dom.to_str().expect("utf-8"),
        "--url-blacklist",
        url.to_str().expect("utf-8"),
    ];
    let (st, alerts) = analyze(&cap, &args);
    assert!(st.success());
    let of = |t: &str| alerts.iter().filter(|a| a["type"] == t).collect::<Vec<_>>();
    // dnsmasq answered two queries (UDP and TCP) for example.test, and the
    // TLS client sent SNI www.example.test: subdomains match, case and the
    // trailing dot of the list entry do not matter.
    let d = of("domain-blacklist");
    assert_eq!(d.len(), 3, "{d:?}");
    assert!(d
        .iter()
        .any(|a| a["evidence"]["domain"] == "www.example.test"
            && a["evidence"]["source"] == "tls sni"));
    let u = of("url-blacklist");
    assert_eq!(u.len(), 1);
    assert_eq!(u[0]["evidence"]["uri"], "/missing");
    // An IPv4-mapped IPv6 rule matches the IPv4 loopback flows.
    let (_, alerts) = analyze(&cap, &["--ip-blacklist", ip.to_str().expect("utf-8")]);
    assert!(
        alerts
            .iter()
            .filter(|a| a["type"] == "ip-blacklist")
            .count()
            >= 7
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn ordinary_traffic_raises_no_alert() {
    let r = root();
    let mut caps = vec![r.join("samples/loopback.pcap")];
    for dir in ["crates/cli/tests/nonstd", "crates/cli/tests/carve"] {
        for e in std::fs::read_dir(r.join(dir))
            .expect("dir")
            .filter_map(|e| e.ok())
        {
            if e.path().extension().is_some_and(|x| x == "pcap") {
                caps.push(e.path());
            }
        }
    }
    for cap in caps {
        let (st, alerts) = analyze(&cap, &[]);
        assert!(st.success());
        assert!(alerts.is_empty(), "{}: {alerts:?}", cap.display());
    }
}

#[test]
fn bad_rule_files_are_rejected_with_file_and_line() {
    let tmp = std::env::temp_dir().join(format!("netsift-badrules-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("tmp");
    let bad = tmp.join("ips.txt");
    std::fs::write(&bad, "10.0.0.0/8\n# fine\n10.0.0.0/33\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_netsift"))
        .args(["analyze", "-q", "-o"])
        .arg(tmp.join("out"))
        .arg("--ip-blacklist")
        .arg(&bad)
        .arg(root().join("samples/loopback.pcap"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ips.txt:3:"), "{err}");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn signature_split_across_two_segments_is_found_once() {
    let tmp = std::env::temp_dir().join(format!("netsift-sigs-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("tmp");
    let sigs = tmp.join("sigs.txt");
    // Escapes as in peekapp: \x5f is '_'.
    std::fs::write(&sigs, "# payloads\nEVIL\\x5fPAYLOAD\nnot-there\\\\\n").expect("write");
    let cap = root().join("crates/cli/tests/detect/straddle.pcap");
    let (st, alerts) = analyze(&cap, &["--signatures", sigs.to_str().expect("utf-8")]);
    assert!(st.success());
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    assert_eq!(a["type"], "signature");
    assert_eq!(a["evidence"]["offset"], 6);
    assert_eq!(a["evidence"]["direction"], "to_server");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn url_blacklist_matches_percent_encoded_paths() {
    let tmp = std::env::temp_dir().join(format!("netsift-urls-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("tmp");
    let urls = tmp.join("urls.txt");
    std::fs::write(&urls, "/etc/passwd\n../../\n").expect("write");
    let cap = root().join("crates/cli/tests/detect/url_encoded.pcap");
    let (st, alerts) = analyze(&cap, &["--url-blacklist", urls.to_str().expect("utf-8")]);
    assert!(st.success());
    let rules: Vec<&str> = alerts.iter().filter_map(|a| a["rule"].as_str()).collect();
    assert_eq!(rules.len(), 2, "{alerts:?}");
    assert!(rules.contains(&"/etc/passwd") && rules.contains(&"../../"));
    assert!(alerts.iter().all(|a| a["evidence"]["decoded"] == true));
    let _ = std::fs::remove_dir_all(&tmp);
}
