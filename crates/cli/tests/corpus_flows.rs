//! Runs `netsift flows --format jsonl` over every capture of nDPI's
//! regression corpus (`../shared/corpus/ndpi`) and compares the set of flows
//! (L4 + unordered endpoints) with nDPI's `truth.tsv`.
//!
//! Acceptance: every capture exits 0 without a panic, and at least 90% of
//! the captures give exactly nDPI's flow set. The per-capture differences
//! are written to `target/corpus_flows_report.txt`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

type FlowId = (String, (String, u16), (String, u16));

/// Normalised address text; nDPI's invalid IPv6 texts are repaired where
/// unambiguous (see `netsift_engine::accuracy::parse_ndpi_ip`), otherwise
/// kept as is and cannot match.
fn norm(ip: &str) -> String {
    netsift_engine::accuracy::parse_ndpi_ip(ip).map_or_else(|| ip.to_string(), |a| a.to_string())
}

fn corpus_dir() -> Option<PathBuf> {
    netsift_testkit::ndpi_corpus()
}

fn flow_id(l4: &str, a: (String, u16), b: (String, u16)) -> FlowId {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    (l4.to_string(), lo, hi)
}

fn parse_truth(dir: &Path) -> BTreeMap<String, BTreeSet<FlowId>> {
    let text = std::fs::read_to_string(dir.join("truth.tsv")).expect("truth.tsv readable");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let (c_pcap, c_l4, c_sip, c_sp, c_dip, c_dp) = (
        col("pcap"),
        col("l4"),
        col("src_ip"),
        col("src_port"),
        col("dst_ip"),
        col("dst_port"),
    );
    let mut out: BTreeMap<String, BTreeSet<FlowId>> = BTreeMap::new();
    for line in lines {
        let f: Vec<&str> = line.split('\t').collect();
        let ip = |i: usize| norm(f[i]);
        let port = |i: usize| f[i].parse::<u16>().unwrap_or(0);
        out.entry(f[c_pcap].to_string())
            .or_default()
            .insert(flow_id(
                f[c_l4],
                (ip(c_sip), port(c_sp)),
                (ip(c_dip), port(c_dp)),
            ));
    }
    out
}

fn netsift_flows(path: &Path) -> (std::process::Output, BTreeSet<FlowId>) {
    let out = Command::new(env!("CARGO_BIN_EXE_netsift"))
        .args(["flows", "--format", "jsonl", "-q"])
        .arg(path)
        .output()
        .expect("run netsift");
    let mut set = BTreeSet::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("jsonl line parses");
        let ip = |k: &str| norm(v[k].as_str().expect(k));
        let port = |k: &str| v[k].as_u64().expect(k) as u16;
        set.insert(flow_id(
            v["l4"].as_str().expect("l4"),
            (ip("src_ip"), port("src_port")),
            (ip("dst_ip"), port("dst_port")),
        ));
    }
    (out, set)
}

#[test]
fn corpus_flow_sets_match_ndpi() {
    let Some(dir) = corpus_dir() else {
        return;
    };
    let truth = parse_truth(&dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("pcap"))
        .expect("pcap dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    assert!(files.len() > 300, "corpus has {} files", files.len());

    let mut report = String::new();
    let (mut equal, mut total) = (0usize, 0usize);
    let (mut missing_total, mut extra_total) = (0usize, 0usize);
    for path in &files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name")
            .to_string();
        let (out, ours) = netsift_flows(path);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{name}: exit {:?}\n{stderr}",
            out.status.code()
        );
        assert!(!stderr.contains("panicked"), "{name}: panic\n{stderr}");
        let expected = truth.get(&name).cloned().unwrap_or_default();
        total += 1;
        if ours == expected {
            equal += 1;
            continue;
        }
        let missing: Vec<_> = expected.difference(&ours).collect();
        let extra: Vec<_> = ours.difference(&expected).collect();
        missing_total += missing.len();
        extra_total += extra.len();
        report.push_str(&format!(
            "{name}: {} expected, {} ours, {} missing, {} extra\n",
            expected.len(),
            ours.len(),
            missing.len(),
            extra.len()
        ));
        for m in missing.iter().take(5) {
            report.push_str(&format!("  - missing {m:?}\n"));
        }
        for x in extra.iter().take(5) {
            report.push_str(&format!("  + extra   {x:?}\n"));
        }
    }
    let pct = 100.0 * equal as f64 / total as f64;
    let summary = format!(
        "flow sets equal for {equal}/{total} captures ({pct:.1}%); {missing_total} flows missing, {extra_total} extra\n"
    );
    let report_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/corpus_flows_report.txt");
    let _ = std::fs::write(&report_path, format!("{summary}{report}"));
    println!("{summary}(details: {})", report_path.display());
    assert!(pct >= 90.0, "{summary}{report}");
}
