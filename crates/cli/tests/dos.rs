//! Flood (denial-of-service) detection through `netsift analyze`, on small
//! generated floods (tests/dos/make-floods.sh: 600 packets each from 600
//! random sources to 10.0.0.1 in 6 ms) and on ordinary traffic that must not
//! alert (100 HTTP connections back to back to 2 servers, all completed).
//! The thresholds come from a rules file's `[dos]` section, lowered to fit
//! captures this small.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const RULES: &str = "[dos]\nwindow = 1.0\nsyn_rate = 40\nudp_rate = 200\nicmp_rate = 200\n";

fn analyze(name: &str, rules: Option<&str>) -> Vec<serde_json::Value> {
    // Tests run in parallel and analyze the same captures: each call gets
    // its own folder.
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = std::env::temp_dir().join(format!("netsift-dos-{}-{n}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).expect("tmp");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_netsift"));
    cmd.args(["analyze", "-q", "-o"]).arg(tmp.join("out"));
    if let Some(r) = rules {
        let path = tmp.join("rules.toml");
        std::fs::write(&path, r).expect("write rules");
        cmd.arg("--rules").arg(path);
    }
    let st = cmd
        .arg(root().join("crates/cli/tests/dos").join(name))
        .status()
        .expect("run analyze");
    assert!(st.success(), "{name}");
    let alerts = std::fs::read_to_string(tmp.join("out/alerts.jsonl"))
        .expect("alerts.jsonl always written")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let _ = std::fs::remove_dir_all(&tmp);
    alerts
}

#[test]
fn floods_are_detected_with_rate_sources_and_target() {
    for (file, kind, port) in [
        ("syn_flood.pcap", "syn", Some(80)),
        ("udp_flood.pcap", "udp", Some(53)),
        ("icmp_flood.pcap", "icmp", None),
    ] {
        let alerts = analyze(file, Some(RULES));
        let dos: Vec<_> = alerts.iter().filter(|a| a["type"] == "dos").collect();
        assert_eq!(dos.len(), 1, "{file}: {alerts:?}");
        let a = dos[0];
        assert_eq!(
            a["rule"],
            format!("{kind} flood against 10.0.0.1"),
            "{file}"
        );
        assert_eq!(a["severity"], "high");
        let ev = &a["evidence"];
        assert_eq!(ev["kind"], kind, "{file}");
        assert_eq!(ev["target"], "10.0.0.1", "{file}");
        // Every packet of the flood is counted (all in one 1 s window).
        assert_eq!(ev["packets"], 600, "{file}: {ev}");
        assert_eq!(ev["peak_rate"], 600.0, "{file}: {ev}");
        // 600 random sources: exact up to 8, then HyperLogLog (~3 %).
        let sources = ev["sources"].as_u64().expect("sources");
        assert!((570..=630).contains(&sources), "{file}: {sources}");
        match port {
            Some(p) => assert_eq!(ev["target_ports"], serde_json::json!([p]), "{file}"),
            None => assert_eq!(ev["target_ports"], serde_json::json!([]), "{file}"),
        }
    }
}

#[test]
fn default_thresholds_ignore_small_floods() {
    // 600 SYNs are below the default 1000 half-open attempts a second.
    let alerts = analyze("syn_flood.pcap", None);
    assert!(alerts.iter().all(|a| a["type"] != "dos"), "{alerts:?}");
}

#[test]
fn busy_server_is_not_a_flood() {
    // 50 SYNs to each server within 8 ms, above the lowered threshold of
    // 40 a second, but every handshake completes: nothing is half-open.
    let alerts = analyze("normal.pcap", Some(RULES));
    assert!(alerts.is_empty(), "{alerts:?}");
}

/// A flood's flows are unanswered: beyond `--max-unanswered-flows` they
/// get no application state, and the summary says how many (600 DNS-port
/// datagrams from 600 sources, a bound of 100). Below the bound nothing
/// is said.
#[test]
fn unanswered_flows_over_the_bound_are_counted_in_the_summary() {
    let run = |extra: &[&str]| {
        let tmp = std::env::temp_dir().join(format!("netsift-unanswered-{}", std::process::id()));
        let out = Command::new(env!("CARGO_BIN_EXE_netsift"))
            .args(["analyze", "--threads", "1", "-o"])
            .arg(&tmp)
            .args(extra)
            .arg(root().join("crates/cli/tests/dos/udp_flood.pcap"))
            .output()
            .expect("run analyze");
        let _ = std::fs::remove_dir_all(&tmp);
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let bounded = run(&["--max-unanswered-flows", "100"]);
    assert!(
        bounded.contains(
            "over --max-unanswered-flows (flows nobody answered): 500 flows not analysed"
        ),
        "{bounded}"
    );
    let default = run(&[]);
    assert!(!default.contains("max-unanswered-flows"), "{default}");
}

/// `--max-parser-memory` reaches the analyzer: with a bound of one byte,
/// the parser of nDPI's `http.pcapng` (one HTTP conversation) holds more
/// than its share once it has bytes, and is stopped with a `weird` record
/// and a summary line; with the default bound nothing is stopped.
#[test]
fn parsers_over_the_memory_bound_are_stopped_and_counted() {
    let pcap = root().join("../shared/corpus/ndpi/pcap/http.pcapng");
    let run = |extra: &[&str]| {
        let tmp = std::env::temp_dir().join(format!(
            "netsift-parser-memory-{}-{}",
            std::process::id(),
            extra.len()
        ));
        let out = Command::new(env!("CARGO_BIN_EXE_netsift"))
            .args(["analyze", "--threads", "1", "-o"])
            .arg(&tmp)
            .args(extra)
            .arg(&pcap)
            .output()
            .expect("run analyze");
        let weird = std::fs::read_to_string(tmp.join("weird.jsonl")).unwrap_or_default();
        let _ = std::fs::remove_dir_all(&tmp);
        assert!(out.status.success());
        (String::from_utf8_lossy(&out.stderr).into_owned(), weird)
    };
    let (summary, weird) = run(&["--max-parser-memory", "1"]);
    assert!(
        summary.contains("over --max-parser-memory: 1 parsers stopped, holding "),
        "{summary}"
    );
    assert_eq!(
        weird.matches("\"name\":\"parser_memory_bound\"").count(),
        1,
        "{weird}"
    );
    let (summary, weird) = run(&[]);
    assert!(!summary.contains("max-parser-memory"), "{summary}");
    assert!(!weird.contains("parser_memory_bound"), "{weird}");
}

/// `--max-dpi-memory` reaches `flows`' DPI layer: with a bound of one
/// byte, the TLS flows of nDPI's `tls_certificate_too_long.pcap` whose
/// ServerHello and certificates span segments are given up on as their
/// prefixes grow, and the summary counts them; by default none is.
#[test]
fn dpi_over_the_memory_bound_gives_up_and_counts() {
    let pcap = root().join("../shared/corpus/ndpi/pcap/tls_certificate_too_long.pcap");
    let run = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_netsift"))
            .args(["flows", "--threads", "1", "-f", "jsonl"])
            .args(extra)
            .arg(&pcap)
            .output()
            .expect("run flows");
        assert!(out.status.success());
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let tls = stdout.matches("\"protocol\":\"TLS\"").count();
        let by_dpi = stdout.matches("\"source\":\"dpi\"").count();
        (
            String::from_utf8_lossy(&out.stderr).into_owned(),
            tls,
            by_dpi,
        )
    };
    let (summary, tls, by_dpi) = run(&["--max-dpi-memory", "1"]);
    assert!(
        summary.contains("over --max-dpi-memory: DPI gave up on 3 flows while they grew"),
        "{summary}"
    );
    let (default, tls_default, by_dpi_default) = run(&[]);
    assert!(!default.contains("max-dpi-memory"), "{default}");
    // The flows given up on keep their port guess: as many TLS flows,
    // fewer named by DPI.
    assert_eq!(tls, tls_default);
    assert!(by_dpi < by_dpi_default, "{by_dpi} {by_dpi_default}");
}
