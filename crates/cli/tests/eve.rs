//! `netsift analyze --format eve`: one stream, every event with an
//! `event_type` and a `timestamp`, in time order, holding the same records
//! as the per-log JSONL output.

use std::path::Path;
use std::process::Command;

#[test]
fn eve_stream_is_time_ordered_and_complete() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cap = root.join("../../samples/loopback.pcap");
    let out = Command::new(env!("CARGO_BIN_EXE_netsift"))
        .args(["analyze", "-q", "--format", "eve"])
        .arg(&cap)
        .output()
        .expect("run");
    assert!(out.status.success());
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let stamps: Vec<String> = events
        .iter()
        .map(|e| e["timestamp"].as_str().expect("timestamp").to_string())
        .collect();
    let mut sorted = stamps.clone();
    sorted.sort();
    assert_eq!(stamps, sorted, "events are time-ordered");
    let count = |t: &str| events.iter().filter(|e| e["event_type"] == t).count();
    assert_eq!(count("flow"), 9);
    assert_eq!(count("dns"), 2);
    assert_eq!(count("http"), 2);
    assert_eq!(count("tls"), 1);
    assert!(count("files") >= 1);
    let tls = events
        .iter()
        .find(|e| e["event_type"] == "tls")
        .expect("tls");
    assert_eq!(tls["tls"]["server_name"], "www.example.test");
    assert_eq!(tls["dest_port"], 4443);
    assert!(stamps[0].starts_with("2026-11-21T"), "{}", stamps[0]);
}
