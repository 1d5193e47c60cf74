//! `netsift compare` and `--layers ...,ndpi,...` (built with `--features
//! ndpi`; `.ci/run` installs libndpi-dev and runs this file).
#![cfg(feature = "ndpi")]

use std::path::PathBuf;
use std::process::Command;

fn corpus(name: &str) -> PathBuf {
    netsift_testkit::ndpi_pcap(name)
}

fn netsift(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_netsift"))
        .args(args)
        .output()
        .expect("run netsift");
    assert!(
        out.status.success(),
        "netsift {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn compare_table_and_jsonl() {
    let pcap = corpus("KakaoTalk_talk.pcap");
    let pcap = pcap.to_str().expect("utf-8 path");
    let table = netsift(&["compare", "--show", "3", pcap]);
    assert!(table.starts_with("protocol "), "{table}");
    assert!(table.contains("\nTOTAL "), "{table}");
    assert!(table.contains("disagreements (3 of "), "{table}");
    assert!(table.contains("  nDPI      "), "{table}");
    assert!(
        table.contains("every flow's nDPI state freed: yes"),
        "{table}"
    );
    let jsonl = netsift(&["compare", "-f", "jsonl", pcap]);
    let rows: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert!(rows.len() >= 20);
    for r in &rows {
        for k in ["uid", "l4", "src", "dst", "netsift", "ndpi", "agreement"] {
            assert!(r.get(k).is_some(), "{k} missing: {r}");
        }
        assert!(
            matches!(r["ndpi"]["source"].as_str(), Some("ndpi" | "none")),
            "{r}"
        );
    }
    // The HTTP flow to a WeChat host: netsift and nDPI both name it.
    assert!(rows
        .iter()
        .any(|r| r["agreement"] == "agree" && r["decided_by"]["from"] == "client"));
}

/// `--layers flow,dpi,ndpi`: the flow netsift's DPI cannot name (a CPHA
/// heartbeat) gets nDPI's verdict, labelled as such.
#[test]
fn ndpi_layer_in_flows() {
    let pcap = corpus("cpha.pcap");
    let out = netsift(&[
        "flows",
        "-f",
        "jsonl",
        "--layers",
        "flow,dpi,ndpi",
        pcap.to_str().expect("utf-8 path"),
    ]);
    let v: serde_json::Value =
        serde_json::from_str(out.lines().next().unwrap_or("")).expect("jsonl");
    assert_eq!(v["protocol"], "CPHA", "{v}");
    assert_eq!(v["source"], "ndpi", "{v}");
    assert_eq!(v["confidence"], "dpi", "{v}");
    assert!(
        v["evidence"].as_str().unwrap_or("").starts_with("nDPI 4."),
        "{v}"
    );
}
