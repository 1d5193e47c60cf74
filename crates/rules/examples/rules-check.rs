//! Load Suricata rule files and report: `cargo run --release -p
//! netsift-rules --example rules-check -- FILE... [--strict]`. Prints the
//! load report, every skip and syntax error, the load time, and the time to
//! inspect a fixed set of payloads (packet, HTTP transaction, DNS query),
//! so the prefilter's cost per rule count can be measured.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use netsift_rules::{BufferKind, Detector, FlowInfo, FlowRules, Packet, RuleSet, TxBuffers, Vars};

struct Tx<'a>(Vec<(BufferKind, &'a [u8])>, Vec<&'a [u8]>);

impl TxBuffers for Tx<'_> {
    fn get(&self, kind: BufferKind, to_server: bool) -> &[&[u8]] {
        match self.0.iter().position(|(k, _)| *k == kind) {
            Some(i) if to_server => &self.1[i..i + 1],
            _ => &[],
        }
    }
}

fn main() {
    let mut strict = false;
    let mut paths = Vec::new();
    for a in std::env::args().skip(1) {
        if a == "--strict" {
            strict = true;
        } else {
            paths.push(PathBuf::from(a));
        }
    }
    let t = Instant::now();
    let (rs, rep) = match RuleSet::load(&paths, &Vars::default(), strict) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let load = t.elapsed();
    for s in &rep.skipped {
        println!("{s}");
    }
    for e in &rep.errors {
        println!("{e}");
    }
    println!("{rep}; loaded in {load:?}");
    let rs = Arc::new(rs);
    let mut d = Detector::new(rs.clone());
    let payloads: Vec<Vec<u8>> = (0..1000)
        .map(|i| format!("GET /index{i}.html HTTP/1.1\r\nHost: www.example{i}.com\r\nUser-Agent: Mozilla/5.0\r\n\r\n").into_bytes())
        .collect();
    let t = Instant::now();
    let mut alerts = 0;
    for (i, p) in payloads.iter().enumerate() {
        let mut fr = FlowRules::default();
        let pkt = Packet {
            ts_ns: i as u64,
            src: [192, 168, 1, 2].into(),
            dst: [93, 184, 216, 34].into(),
            src_port: Some(40000),
            dst_port: Some(80),
            ip_proto: 6,
            ttl: Some(64),
            tcp_flags: Some(0x18),
            icmp_type: None,
            icmp_code: None,
            payload: p,
            flow: Some(FlowInfo {
                to_server: true,
                established: true,
                app_proto: Some("HTTP"),
            }),
        };
        let mut out = Vec::new();
        d.inspect_packet(&pkt, Some(p), Some(&mut fr), &mut out);
        let uri = format!("/index{i}.html");
        let host = format!("www.example{i}.com");
        let tx = Tx(
            vec![
                (BufferKind::HttpMethod, b"GET"),
                (BufferKind::HttpUri, uri.as_bytes()),
                (BufferKind::HttpHost, host.as_bytes()),
                (BufferKind::DnsQuery, host.as_bytes()),
            ],
            vec![b"GET", uri.as_bytes(), host.as_bytes(), host.as_bytes()],
        );
        d.inspect_tx(&pkt, 0, &tx, &mut fr, &mut out);
        alerts += out.len();
    }
    println!(
        "inspected {} packets + transactions in {:?} ({alerts} alerts)",
        payloads.len(),
        t.elapsed()
    );
}
