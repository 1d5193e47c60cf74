//! Scan detection over real nmap scans of 127.0.0.1 (tests/data/make.sh):
//! flow summaries made by `netsift flows --format jsonl` from the captures
//! (plus `first_tcp_flags`, see tests/data/add_first_flags.py).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use netsift_detect::scan::{
    ConnSummary, FindingMethod, ScanConfig, ScanDetector, ScanFinding, ScanKind, ScanMethod,
    ScanType,
};
use serde_json::Value;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// One JSONL flow record, owned.
struct Rec {
    v: Value,
}

impl Rec {
    fn s(&self, k: &str) -> &str {
        self.v[k].as_str().unwrap_or("")
    }
    fn u(&self, k: &str) -> u64 {
        self.v[k].as_u64().unwrap_or(0)
    }
    fn summary(&self, with_flags: bool) -> ConnSummary<'_> {
        let secs_ns = |k: &str| (self.v[k].as_f64().unwrap_or(0.0) * 1e6).round() as u64 * 1000;
        ConnSummary {
            ts_ns: secs_ns("ts"),
            duration_ns: secs_ns("duration"),
            proto: match self.s("l4") {
                "TCP" => 6,
                "UDP" => 17,
                "ICMP" => 1,
                "ICMPV6" => 58,
                other => other.parse().unwrap_or(0),
            },
            src: self.s("src_ip").parse().unwrap(),
            dst: self.s("dst_ip").parse().unwrap(),
            src_port: self.u("src_port") as u16,
            dst_port: self.u("dst_port") as u16,
            conn_state: self.s("conn_state"),
            history: self.s("history"),
            first_tcp_flags: if with_flags {
                self.v["first_tcp_flags"].as_u64().map(|f| f as u8)
            } else {
                None
            },
            orig_pkts: self.u("orig_pkts"),
            resp_pkts: self.u("resp_pkts"),
            orig_payload_bytes: self.u("orig_payload_bytes"),
            resp_payload_bytes: self.u("resp_payload_bytes"),
        }
    }
}

fn load(path: &Path) -> Vec<Rec> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| Rec {
            v: serde_json::from_str(l).unwrap(),
        })
        .collect()
}

/// Runs a detector over the records; returns (raised, final).
fn detect(
    recs: &[Rec],
    method: ScanMethod,
    with_flags: bool,
) -> (Vec<ScanFinding>, Vec<ScanFinding>) {
    let mut d = ScanDetector::new(ScanConfig {
        method,
        ..ScanConfig::default()
    });
    let mut raised = Vec::new();
    for r in recs {
        raised.extend(d.observe(&r.summary(with_flags)));
    }
    (raised, d.finish())
}

fn check_scan(name: &str, ports: usize, ty: ScanType, ty_without_flags: ScanType) {
    let recs = load(&data(&format!("{name}.flows.jsonl")));
    let lo: IpAddr = "127.0.0.1".parse().unwrap();
    for (with_flags, ty) in [(true, ty), (false, ty_without_flags)] {
        for method in [ScanMethod::Threshold, ScanMethod::Both] {
            let (raised, fin) = detect(&recs, method, with_flags);
            assert_eq!(raised.len(), 1, "{name} flags={with_flags}: {raised:#?}");
            assert_eq!(fin.len(), 1, "{name}: {fin:#?}");
            let f = &fin[0];
            assert_eq!(f.method, FindingMethod::Threshold);
            assert_eq!(f.kind, ScanKind::Vertical, "{name}");
            assert_eq!(f.scanner, lo);
            assert_eq!(f.target_host, Some(lo));
            assert_eq!(f.scan_type, ty, "{name} flags={with_flags}: {f:#?}");
            assert_eq!(f.count, ports, "{name}: {f:#?}");
            // The sample: the first 20 ports of the range, ascending.
            assert_eq!(f.sample_ports, (1..=20).collect::<Vec<u16>>(), "{name}");
            // Raised at the threshold, before the scan ended.
            assert_eq!(raised[0].count, 15, "{name}: {:#?}", raised[0]);
            assert!(f.duration_ns > 0 && f.duration_ns < 60_000_000_000);
        }
    }
}

#[test]
fn nmap_syn_scan() {
    // 200 ports: 198 closed (REJ), 2 open (half-open ShR).
    check_scan("scan_syn", 200, ScanType::Syn, ScanType::Syn);
}

#[test]
fn nmap_connect_scan() {
    // 198 closed (REJ), 2 open (ShAR: handshake, then the scanner's RST).
    check_scan("scan_connect", 200, ScanType::Connect, ScanType::Connect);
}

#[test]
fn nmap_udp_scan() {
    // 59 unanswered UDP flows (ICMP port-unreachables aside) + udp/37
    // answering nmap's empty datagram.
    check_scan("scan_udp", 60, ScanType::Udp, ScanType::Udp);
}

#[test]
fn nmap_fin_scan() {
    check_scan("scan_fin", 40, ScanType::Fin, ScanType::Fin);
}

#[test]
fn nmap_null_scan() {
    check_scan("scan_null", 40, ScanType::Null, ScanType::Null);
}

#[test]
fn nmap_xmas_scan() {
    // History alone (`Fr`) cannot tell XMAS from FIN.
    check_scan("scan_xmas", 40, ScanType::Xmas, ScanType::Fin);
}

#[test]
fn nmap_ack_scan() {
    check_scan("scan_ack", 40, ScanType::Ack, ScanType::Ack);
}

#[test]
fn ordinary_traffic_raises_nothing() {
    let mut files = vec![data("benign_loopback.flows.jsonl")];
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/tests/golden_analyze");
    if let Ok(rd) = std::fs::read_dir(&golden) {
        for e in rd.flatten() {
            let p = e.path().join("conn.jsonl");
            if p.exists() {
                files.push(p);
            }
        }
    }
    assert!(files.len() > 1, "golden_analyze conn.jsonl files not found");
    let mut all = Vec::new();
    for f in &files {
        let recs = load(f);
        assert!(!recs.is_empty(), "{}", f.display());
        for with_flags in [true, false] {
            let (raised, fin) = detect(&recs, ScanMethod::Both, with_flags);
            assert!(
                raised.is_empty() && fin.is_empty(),
                "{}: {raised:#?}",
                f.display()
            );
        }
        all.extend(recs);
    }
    // All of them as one stream, too.
    let (raised, _) = detect(&all, ScanMethod::Both, false);
    assert!(raised.is_empty(), "{raised:#?}");
}
