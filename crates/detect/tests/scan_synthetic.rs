//! Scan detection over synthetic flow summaries: probe typing, vertical
//! and horizontal thresholds, windows in packet time, out-of-order flow
//! ends, one finding per scanner and target set, and TRW decisions.

use std::net::IpAddr;

use netsift_detect::scan::{
    classify_probe, contact_outcome, tcp_flags::*, ConnSummary, FindingMethod, ProbeKind,
    ScanConfig, ScanDetector, ScanFinding, ScanKind, ScanMethod, ScanType,
};

const SEC: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * SEC;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A probe-shaped TCP flow from 10.0.0.1 to `dst`:`port`.
fn flow(
    ts: u64,
    dst: &str,
    port: u16,
    history: &'static str,
    state: &'static str,
    flags: Option<u8>,
) -> ConnSummary<'static> {
    ConnSummary {
        ts_ns: ts,
        duration_ns: 1000,
        proto: 6,
        src: ip("10.0.0.1"),
        dst: ip(dst),
        src_port: 55555,
        dst_port: port,
        conn_state: state,
        history,
        first_tcp_flags: flags,
        orig_pkts: 1,
        resp_pkts: u64::from(history.bytes().any(|b| b.is_ascii_lowercase())),
        orig_payload_bytes: 0,
        resp_payload_bytes: 0,
    }
}

fn rej(ts: u64, dst: &str, port: u16) -> ConnSummary<'static> {
    flow(ts, dst, port, "Sr", "REJ", Some(SYN))
}

fn udp(ts: u64, dst: &str, port: u16, answered: bool) -> ConnSummary<'static> {
    ConnSummary {
        ts_ns: ts,
        duration_ns: 0,
        proto: 17,
        src: ip("10.0.0.1"),
        dst: ip(dst),
        src_port: 40000,
        dst_port: port,
        conn_state: if answered { "SF" } else { "S0" },
        history: if answered { "Dd" } else { "D" },
        first_tcp_flags: None,
        orig_pkts: 1,
        resp_pkts: u64::from(answered),
        orig_payload_bytes: 30,
        resp_payload_bytes: if answered { 60 } else { 0 },
    }
}

fn run(d: &mut ScanDetector, flows: &[ConnSummary]) -> Vec<ScanFinding> {
    flows.iter().flat_map(|c| d.observe(c)).collect()
}

fn threshold() -> ScanDetector {
    ScanDetector::new(ScanConfig::default())
}

#[test]
fn probe_types() {
    let t = |h, s, f| classify_probe(&flow(T0, "10.0.0.2", 1, h, s, f));
    // SYN family.
    assert_eq!(t("Sr", "REJ", Some(SYN)), Some(ProbeKind::SynAttempt));
    assert_eq!(t("S", "S0", None), Some(ProbeKind::SynAttempt));
    assert_eq!(t("SR", "RSTOS0", None), Some(ProbeKind::SynAttempt));
    assert_eq!(t("ShR", "RSTO", Some(SYN)), Some(ProbeKind::HalfOpen));
    assert_eq!(t("Sh", "S1", None), Some(ProbeKind::HalfOpen));
    assert_eq!(t("ShAR", "RSTO", None), Some(ProbeKind::Connect));
    assert_eq!(t("ShAFf", "SF", Some(SYN)), Some(ProbeKind::Connect));
    // Established and idle, not closed: not a probe.
    assert_eq!(t("ShA", "S1", None), None);
    // Stealth types from the first flags...
    assert_eq!(t("Fr", "RSTR", Some(FIN)), Some(ProbeKind::Fin));
    assert_eq!(t("r", "RSTRH", Some(0)), Some(ProbeKind::Null));
    assert_eq!(
        t("Fr", "RSTR", Some(FIN | PSH | URG)),
        Some(ProbeKind::Xmas)
    );
    assert_eq!(t("Ar", "RSTRH", Some(ACK)), Some(ProbeKind::Ack));
    assert_eq!(t("F", "OTH", Some(FIN)), Some(ProbeKind::Fin)); // unanswered (open|filtered)
                                                                // ... and from history letters alone.
    assert_eq!(t("Fr", "RSTR", None), Some(ProbeKind::Fin));
    assert_eq!(t("r", "RSTRH", None), Some(ProbeKind::Null));
    assert_eq!(t("Ar", "RSTRH", None), Some(ProbeKind::Ack));
    // Midstream traffic answered with data or ACKs is not a probe.
    assert_eq!(t("Aa", "OTH", Some(ACK)), None);
    assert_eq!(t("Fa", "OTH", Some(FIN | ACK)), None);
    // A flipped flow (SYN-ACK seen first) is not a probe.
    assert_eq!(t("^hA", "OTH", Some(SYN | ACK)), None);
    // Data from the originator: a real connection.
    let mut c = flow(T0, "10.0.0.2", 80, "ShADadFf", "SF", Some(SYN));
    c.orig_payload_bytes = 100;
    assert_eq!(classify_probe(&c), None);
    // UDP: unanswered, or an answered empty datagram.
    assert_eq!(
        classify_probe(&udp(T0, "10.0.0.2", 53, false)),
        Some(ProbeKind::Udp)
    );
    assert_eq!(classify_probe(&udp(T0, "10.0.0.2", 53, true)), None);
    let mut e = udp(T0, "10.0.0.2", 37, true);
    e.orig_payload_bytes = 0;
    assert_eq!(classify_probe(&e), Some(ProbeKind::Udp));
    // ICMP is never a probe.
    let mut i = udp(T0, "10.0.0.2", 0, false);
    i.proto = 1;
    assert_eq!(classify_probe(&i), None);
    assert_eq!(contact_outcome(&i), None);
    // TRW outcomes.
    assert_eq!(
        contact_outcome(&flow(T0, "10.0.0.2", 1, "Sr", "REJ", None)),
        Some(false)
    );
    assert_eq!(
        contact_outcome(&flow(T0, "10.0.0.2", 1, "S", "S0", None)),
        Some(false)
    );
    assert_eq!(
        contact_outcome(&flow(T0, "10.0.0.2", 1, "ShAR", "RSTO", None)),
        Some(true)
    );
    assert_eq!(
        contact_outcome(&flow(T0, "10.0.0.2", 1, "Fr", "RSTR", None)),
        Some(false)
    );
    assert_eq!(contact_outcome(&udp(T0, "10.0.0.2", 1, true)), Some(true));
}

#[test]
fn vertical_threshold_is_15_ports_one_finding() {
    let mut d = threshold();
    let probes: Vec<_> = (1..=14)
        .map(|p| rej(T0 + p as u64 * SEC, "10.0.0.2", p))
        .collect();
    assert!(run(&mut d, &probes).is_empty());
    // The same 14 ports again: still 14 distinct.
    assert!(run(&mut d, &probes).is_empty());
    let f = run(&mut d, &[rej(T0 + 20 * SEC, "10.0.0.2", 15)]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].kind, ScanKind::Vertical);
    assert_eq!(f[0].count, 15);
    assert_eq!(f[0].scan_type, ScanType::Syn);
    assert_eq!(f[0].target_host, Some(ip("10.0.0.2")));
    // 1000 more ports: no new finding, the final summary grows.
    let more: Vec<_> = (16..=1015)
        .map(|p| rej(T0 + 30 * SEC + p as u64 * 1000, "10.0.0.2", p))
        .collect();
    assert!(run(&mut d, &more).is_empty());
    let fin = d.finish();
    assert_eq!(fin.len(), 1);
    assert_eq!(fin[0].count, 1015);
    assert_eq!(fin[0].sample_ports, (1..=20).collect::<Vec<u16>>());
    assert_eq!(fin[0].first_ts_ns, T0 + SEC);
    assert_eq!(fin[0].duration_ns, fin[0].last_ts_ns - T0 - SEC);
    assert_eq!(fin[0].probes, 14 * 2 + 1 + 1000);
}

#[test]
fn horizontal_threshold_is_25_hosts() {
    let mut d = threshold();
    let hosts: Vec<_> = (1..=24)
        .map(|h| {
            flow(
                T0 + h * SEC,
                &format!("10.1.0.{h}"),
                22,
                "S",
                "S0",
                Some(SYN),
            )
        })
        .collect();
    assert!(run(&mut d, &hosts).is_empty());
    let f = run(
        &mut d,
        &[flow(T0 + 30 * SEC, "10.1.0.25", 22, "S", "S0", Some(SYN))],
    );
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].kind, ScanKind::Horizontal);
    assert_eq!(f[0].target_port, Some(22));
    assert_eq!(f[0].count, 25);
    // Sorted sample of 20 hosts.
    assert_eq!(f[0].sample_hosts.len(), 20);
    assert!(f[0].sample_hosts.windows(2).all(|w| w[0] < w[1]));
    let more: Vec<_> = (26..=200)
        .map(|h| {
            flow(
                T0 + 40 * SEC,
                &format!("10.1.0.{h}"),
                22,
                "S",
                "S0",
                Some(SYN),
            )
        })
        .collect();
    assert!(run(&mut d, &more).is_empty());
    let fin = d.finish();
    assert_eq!(fin.len(), 1);
    assert_eq!(fin[0].count, 200);
}

#[test]
fn each_scan_type_vertical() {
    let cases: [(&'static str, &'static str, Option<u8>, ScanType); 6] = [
        ("ShR", "RSTO", Some(SYN), ScanType::Syn),
        ("ShAR", "RSTO", Some(SYN), ScanType::Connect),
        ("Fr", "RSTR", Some(FIN), ScanType::Fin),
        ("r", "RSTRH", Some(0), ScanType::Null),
        ("Fr", "RSTR", Some(FIN | PSH | URG), ScanType::Xmas),
        ("Ar", "RSTRH", Some(ACK), ScanType::Ack),
    ];
    for (h, s, fl, ty) in cases {
        let mut d = threshold();
        let probes: Vec<_> = (1..=30)
            .map(|p| flow(T0 + p as u64, "10.0.0.9", p, h, s, fl))
            .collect();
        let f = run(&mut d, &probes);
        assert_eq!(f.len(), 1, "{h}");
        assert_eq!(f[0].scan_type, ty, "{h}: {:#?}", f[0]);
        assert_eq!(d.finish()[0].count, 30);
    }
    let mut d = threshold();
    let probes: Vec<_> = (1..=30)
        .map(|p| udp(T0 + p as u64, "10.0.0.9", p, false))
        .collect();
    let f = run(&mut d, &probes);
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].scan_type, f[0].proto), (ScanType::Udp, 17));
}

#[test]
fn each_scan_type_horizontal() {
    for (h, s, fl, ty) in [
        ("Sr", "REJ", Some(SYN), ScanType::Syn),
        ("Fr", "RSTR", Some(FIN | PSH | URG), ScanType::Xmas),
        ("Ar", "RSTRH", Some(ACK), ScanType::Ack),
    ] {
        let mut d = threshold();
        let probes: Vec<_> = (1..=40)
            .map(|i| flow(T0 + i * SEC, &format!("192.168.7.{i}"), 445, h, s, fl))
            .collect();
        let f = run(&mut d, &probes);
        assert_eq!(f.len(), 1, "{h}");
        assert_eq!((f[0].kind, f[0].scan_type), (ScanKind::Horizontal, ty));
    }
}

#[test]
fn syn_or_connect_from_rejections_alone() {
    // All ports closed: raw SYN scanners reuse one source port...
    let mut d = threshold();
    let f = run(
        &mut d,
        &(1..=20)
            .map(|p| rej(T0 + p as u64, "10.0.0.2", p))
            .collect::<Vec<_>>(),
    );
    assert_eq!(f[0].scan_type, ScanType::Syn);
    // ... connect() takes a new ephemeral port per attempt.
    let mut d = threshold();
    let probes: Vec<_> = (1..=20)
        .map(|p| {
            let mut c = rej(T0 + p as u64, "10.0.0.2", p);
            c.src_port = 40000 + p;
            c
        })
        .collect();
    assert_eq!(run(&mut d, &probes)[0].scan_type, ScanType::Connect);
    // Mixed: the decisive probes win, neutral ones join them.
    let mut d = threshold();
    let mut probes: Vec<_> = (1..=20)
        .map(|p| rej(T0 + p as u64, "10.0.0.2", p))
        .collect();
    probes.push(flow(T0 + 30, "10.0.0.2", 80, "ShAR", "RSTO", Some(SYN)));
    run(&mut d, &probes);
    let fin = d.finish();
    assert_eq!(fin[0].scan_type, ScanType::Connect);
    assert_eq!(fin[0].type_counts.get(&ScanType::Connect), Some(&21));
}

#[test]
fn slow_scan_beyond_the_window_does_not_trigger() {
    // 40 ports, one every 30 s: at most 11 in any 5 minutes.
    let probes: Vec<_> = (1..=40)
        .map(|p| rej(T0 + p as u64 * 30 * SEC, "10.0.0.2", p))
        .collect();
    let mut d = threshold();
    assert!(run(&mut d, &probes).is_empty());
    assert!(d.finish().is_empty());
    // A lower threshold (configurable) catches it.
    let mut d = ScanDetector::new(ScanConfig {
        port_scan_threshold: 10,
        ..ScanConfig::default()
    });
    let f = run(&mut d, &probes);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].count, 10);
    // A longer interval too.
    let mut d = ScanDetector::new(ScanConfig {
        interval_ns: 3600 * SEC,
        ..ScanConfig::default()
    });
    assert_eq!(run(&mut d, &probes).len(), 1);
    // Exactly 15 ports over exactly 5 minutes: the window is inclusive.
    let edge: Vec<_> = (0..15)
        .map(|p| rej(T0 + p as u64 * 300 * SEC / 14, "10.0.0.2", p + 1))
        .collect();
    assert_eq!(run(&mut threshold(), &edge).len(), 1);
    // ... 1 ns more and it is not.
    let mut wide = edge.clone();
    wide[14].ts_ns += 1;
    assert!(run(&mut threshold(), &wide).is_empty());
}

#[test]
fn out_of_order_flow_ends() {
    // 15 probes over 4 minutes, reported in a scrambled order (flows end by
    // timeout long after they started): still one finding.
    let mut probes: Vec<_> = (0..15u16)
        .map(|p| rej(T0 + p as u64 * 16 * SEC, "10.0.0.2", 100 + p))
        .collect();
    probes.reverse();
    probes.swap(3, 11);
    // Newer, unrelated traffic advances packet time in between.
    let mut d = threshold();
    let mut raised = Vec::new();
    for (i, c) in probes.iter().enumerate() {
        raised.extend(d.observe(c));
        if i % 5 == 0 {
            let mut other = udp(T0 + 400 * SEC, "10.9.9.9", 53, true);
            other.src = ip("10.2.2.2");
            raised.extend(d.observe(&other));
        }
    }
    assert_eq!(raised.len(), 1, "{raised:#?}");
    assert_eq!(raised[0].first_ts_ns, T0);
    assert_eq!(raised[0].duration_ns, 14 * 16 * SEC);
    // A probe arriving far beyond the reorder slack is dropped.
    let mut d = threshold();
    let mut late: Vec<_> = (0..14u16)
        .map(|p| rej(T0 + 3600 * SEC + p as u64, "10.0.0.2", p + 1))
        .collect();
    late.push(rej(T0, "10.0.0.2", 999));
    assert!(run(&mut d, &late).is_empty());
}

#[test]
fn one_finding_per_target_set() {
    let mut d = threshold();
    let mut probes = Vec::new();
    // One scanner, two hosts scanned vertically: two findings.
    for host in ["10.0.0.2", "10.0.0.3"] {
        for p in 1..=50 {
            probes.push(rej(T0 + p as u64, host, p));
        }
    }
    // Another scanner on the first host: a third.
    for p in 1..=50 {
        let mut c = rej(T0 + p as u64, "10.0.0.2", p);
        c.src = ip("10.0.0.77");
        probes.push(c);
    }
    let f = run(&mut d, &probes);
    assert_eq!(f.len(), 3, "{f:#?}");
    // The same scan repeated later (within state): nothing new.
    let again: Vec<_> = probes
        .iter()
        .map(|c| ConnSummary {
            ts_ns: c.ts_ns + 60 * SEC,
            ..*c
        })
        .collect();
    assert!(run(&mut d, &again).is_empty());
    let fin = d.finish();
    assert_eq!(fin.len(), 3);
    assert!(fin.iter().all(|f| f.count == 50 && f.probes == 100));
}

#[test]
fn ordinary_clients_raise_nothing() {
    let mut d = ScanDetector::new(ScanConfig {
        method: ScanMethod::Both,
        ..ScanConfig::default()
    });
    let mut flows = Vec::new();
    // A browser: 100 connections with data to 30 web servers.
    for i in 0..100u64 {
        let mut c = flow(
            T0 + i * SEC,
            &format!("93.184.0.{}", i % 30),
            443,
            "ShADadFf",
            "SF",
            Some(SYN),
        );
        c.src_port = 50000 + i as u16;
        c.orig_pkts = 10;
        c.resp_pkts = 10;
        c.orig_payload_bytes = 700;
        c.resp_payload_bytes = 9000;
        flows.push(c);
    }
    // DNS lookups, all answered, to 3 resolvers.
    for i in 0..100u64 {
        flows.push(udp(
            T0 + i * SEC,
            &format!("10.0.0.{}", 53 + i % 3),
            53,
            true,
        ));
    }
    // mDNS / SSDP to multicast groups on many ports: ignored.
    for p in 1..100 {
        flows.push(udp(T0, "224.0.0.251", p, false));
        flows.push(udp(T0, "ff02::fb", p, false));
    }
    // A few failures (a dead server retried on 3 ports).
    for p in [80, 443, 8080] {
        flows.push(flow(T0, "10.0.0.66", p, "S", "S0", Some(SYN)));
    }
    assert!(run(&mut d, &flows).is_empty());
    assert!(d.finish().is_empty());
}

fn trw() -> ScanDetector {
    ScanDetector::new(ScanConfig {
        method: ScanMethod::Trw,
        ..ScanConfig::default()
    })
}

fn ok(ts: u64, dst: &str) -> ConnSummary<'static> {
    let mut c = flow(ts, dst, 80, "ShADadFf", "SF", Some(SYN));
    c.orig_payload_bytes = 100;
    c
}

#[test]
fn trw_declares_a_scanner_after_four_failures() {
    // Each failure multiplies the ratio by 0.8/0.2 = 4: 4^3 = 64 < 99 <= 4^4.
    let mut d = trw();
    let f = run(
        &mut d,
        &(1..=3)
            .map(|h| rej(T0 + h, &format!("10.5.0.{h}"), 80))
            .collect::<Vec<_>>(),
    );
    assert!(f.is_empty());
    let f = run(&mut d, &[rej(T0 + 4, "10.5.0.4", 80)]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].method, FindingMethod::Trw);
    assert_eq!(f[0].kind, ScanKind::Horizontal);
    assert_eq!(f[0].count, 4);
    assert_eq!(f[0].target_port, Some(80));
    // Further probes update the one finding.
    assert!(run(
        &mut d,
        &(5..=60)
            .map(|h| rej(T0 + h, &format!("10.5.0.{h}"), 80))
            .collect::<Vec<_>>()
    )
    .is_empty());
    let fin = d.finish();
    assert_eq!(fin.len(), 1);
    assert_eq!(fin[0].count, 60);
    assert_eq!(fin[0].scan_type, ScanType::Syn);
}

#[test]
fn trw_counts_first_contacts_only() {
    // 50 failures to the same host: one first contact.
    let mut d = trw();
    assert!(run(
        &mut d,
        &(1..=50)
            .map(|p| rej(T0 + p as u64, "10.5.0.1", p))
            .collect::<Vec<_>>()
    )
    .is_empty());
    // A success then failures: 0.25 * 4^4 = 64 < 99, the fifth failure decides.
    let mut d = trw();
    let mut flows = vec![ok(T0, "10.6.0.1")];
    flows.extend((2..=5).map(|h| rej(T0 + h, &format!("10.6.0.{h}"), 22)));
    assert!(run(&mut d, &flows).is_empty());
    // A retry to an already-contacted host does not count.
    assert!(run(&mut d, &[rej(T0 + 9, "10.6.0.3", 22)]).is_empty());
    assert_eq!(run(&mut d, &[rej(T0 + 10, "10.6.0.6", 22)]).len(), 1);
}

#[test]
fn trw_benign_then_scanning() {
    // Four successes: 0.25^4 = 0.0039 <= eta0 (0.0101): benign; the walk
    // restarts, so later scanning is still caught after four failures.
    let mut d = trw();
    let mut flows: Vec<_> = (1..=4)
        .map(|h| ok(T0 + h, &format!("10.7.0.{h}")))
        .collect();
    flows.extend((5..=7).map(|h| rej(T0 + h, &format!("10.7.0.{h}"), 3389)));
    assert!(run(&mut d, &flows).is_empty());
    let f = run(&mut d, &[rej(T0 + 8, "10.7.0.8", 3389)]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].count, 4);
    // Alternating successes and failures never decide.
    let mut d = trw();
    let alt: Vec<_> = (1..=200u64)
        .map(|h| {
            let dst = format!("10.8.{}.{}", h / 250, h % 250);
            if h % 2 == 0 {
                ok(T0 + h, &dst)
            } else {
                rej(T0 + h, &dst, 80)
            }
        })
        .collect();
    assert!(run(&mut d, &alt).is_empty());
}

#[test]
fn trw_ignores_vertical_scans_threshold_does_not() {
    let probes: Vec<_> = (1..=100)
        .map(|p| rej(T0 + p as u64, "10.0.0.2", p))
        .collect();
    assert!(run(&mut trw(), &probes).is_empty());
    let mut both = ScanDetector::new(ScanConfig {
        method: ScanMethod::Both,
        ..ScanConfig::default()
    });
    let f = run(&mut both, &probes);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].method, FindingMethod::Threshold);
}
