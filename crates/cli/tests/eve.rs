//! `netsift analyze --format eve`: Suricata's EVE, one stream in time
//! order, every event valid against Suricata's published schema
//! (`../shared/schemas/suricata-eve.schema.json`, Suricata's
//! `etc/schema.json`), checked with Python's `jsonschema` (Debian
//! python3-jsonschema, installed by `.ci/run`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn eve(args: &[&str], captures: &[PathBuf]) -> Vec<serde_json::Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_netsift"))
        .args(["analyze", "-q", "--format", "eve"])
        .args(args)
        .args(captures)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect()
}

#[test]
fn eve_stream_is_time_ordered_and_in_suricata_names() {
    let cap = root().join("../../samples/loopback.pcap");
    let events = eve(&[], std::slice::from_ref(&cap));
    let stamps: Vec<String> = events
        .iter()
        .map(|e| e["timestamp"].as_str().expect("timestamp").to_string())
        .collect();
    let mut sorted = stamps.clone();
    sorted.sort();
    assert_eq!(stamps, sorted, "events are time-ordered");
    // Suricata's timestamp format: microseconds and a numeric zone.
    assert!(stamps[0].starts_with("2026-11-21T"), "{}", stamps[0]);
    assert!(
        stamps.iter().all(|t| t.ends_with("+0000") && t.len() == 31),
        "{stamps:?}"
    );
    let count = |t: &str| events.iter().filter(|e| e["event_type"] == t).count();
    assert_eq!(count("flow"), 9);
    assert_eq!(count("http"), 2);
    assert_eq!(count("tls"), 1);
    assert!(count("fileinfo") >= 1);
    // DNS version 2: a query and an answer event per transaction.
    assert_eq!(count("dns"), 4);
    let tls = events
        .iter()
        .find(|e| e["event_type"] == "tls")
        .expect("tls");
    assert_eq!(tls["tls"]["sni"], "www.example.test");
    assert_eq!(tls["dest_port"], 4443);
    assert_eq!(tls["app_proto"], "tls");
    assert!(
        tls.get("uid").is_none(),
        "netsift's uid only with --eve-extras"
    );
    // Every event of a flow carries the same flow_id: the flow event's.
    let mut ids: HashMap<String, u64> = HashMap::new();
    for e in events.iter().filter(|e| e["event_type"] == "flow") {
        let id = e["flow_id"].as_u64().expect("flow_id");
        ids.insert(e["community_id"].as_str().unwrap_or("").to_string(), id);
    }
    for e in &events {
        let cid = e["community_id"].as_str().unwrap_or("");
        assert_eq!(e["flow_id"].as_u64(), ids.get(cid).copied(), "{e}");
    }
    // The extras: netsift's uid, evidence and layer under `netsift`.
    let extra = eve(&["--eve-extras"], &[cap]);
    let flow = extra
        .iter()
        .find(|e| e["event_type"] == "flow" && e["app_proto"] == "tls")
        .expect("tls flow");
    assert_eq!(flow["netsift"]["protocol"], "TLS");
    assert_eq!(flow["netsift"]["source"], "dpi");
    assert!(flow["netsift"]["uid"]
        .as_str()
        .is_some_and(|u| u.starts_with('C')));
}

const VALIDATE: &str = r#"
import collections, json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
validator = jsonschema.validators.validator_for(schema)(schema)
n, bad, kinds = 0, collections.Counter(), collections.Counter()
for line in sys.stdin:
    n += 1
    e = json.loads(line)
    kinds[e.get("event_type")] += 1
    for err in list(validator.iter_errors(e))[:1]:
        bad[(e.get("event_type"), "/".join(map(str, err.absolute_path)), err.message[:120])] += 1
print(n, "events", sum(bad.values()), "invalid")
print(" ".join(f"{k}:{v}" for k, v in sorted(kinds.items())))
for k, c in bad.most_common(20):
    print(c, k)
"#;

/// Every corpus capture through `--format eve`: every event validates
/// against Suricata's schema.
#[test]
fn every_corpus_event_validates_against_suricatas_schema() {
    let schema = netsift_testkit::shared_dir().join("schemas/suricata-eve.schema.json");
    let pcaps = netsift_testkit::ndpi_dir().join("pcap");
    let has_jsonschema = Command::new("python3")
        .args(["-c", "import jsonschema"])
        .status()
        .is_ok_and(|s| s.success());
    if !schema.is_file() || !pcaps.is_dir() || !has_jsonschema {
        eprintln!("SKIP: schema, corpus or python3-jsonschema missing");
        return;
    }
    let mut caps: Vec<PathBuf> = std::fs::read_dir(&pcaps)
        .expect("corpus")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    caps.sort();
    caps.push(root().join("../../samples/loopback.pcap"));
    let out = Command::new(env!("CARGO_BIN_EXE_netsift"))
        .args(["analyze", "-q", "--format", "eve", "-o", "-"])
        .args(&caps)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut events = out.stdout;
    // Alerts: a port scan, an FTP brute force, blacklisted domains.
    let data = root().join("../detect/tests/data");
    let list = std::env::temp_dir().join(format!("netsift-eve-{}.txt", std::process::id()));
    std::fs::write(&list, "example.test\n").expect("write list");
    let out = Command::new(env!("CARGO_BIN_EXE_netsift"))
        .args(["analyze", "-q", "--format", "eve", "--domain-blacklist"])
        .arg(&list)
        .arg(data.join("scan_syn.pcap"))
        .arg(data.join("ftp_brute.pcap"))
        .arg(root().join("../../samples/loopback.pcap"))
        .output()
        .expect("run");
    let _ = std::fs::remove_file(&list);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    events.extend_from_slice(&out.stdout);
    let mut py = Command::new("python3")
        .args(["-c", VALIDATE])
        .arg(&schema)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    {
        use std::io::Write;
        let mut stdin = py.stdin.take().expect("stdin");
        stdin.write_all(&events).expect("feed events");
    }
    let res = py.wait_with_output().expect("validator");
    let text = String::from_utf8_lossy(&res.stdout);
    println!("{text}");
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let first = text.lines().next().unwrap_or("");
    let n: usize = first
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(n > 5000, "{first}");
    assert!(first.ends_with(" events 0 invalid"), "{text}");
    for kind in [
        "flow", "http", "dns", "tls", "ssh", "ftp", "smtp", "dhcp", "sip", "quic", "fileinfo",
        "anomaly",
    ] {
        assert!(
            text.contains(&format!("{kind}:")),
            "no {kind} event: {text}"
        );
    }
}
