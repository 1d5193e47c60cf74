//! The Suricata rule language: rule text through the parser (header,
//! groups, variables, options, escaping, pcre compilation), then the
//! compiled set over a payload at every inspection point (packet, stream
//! with a split, transaction buffers, file).
//!
//! Input: rule text, a 0x00 byte, then the payload (without a 0x00 the
//! input is both).
#![no_main]

use std::net::IpAddr;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use netsift_rules::{
    BufferKind, Detector, FileView, FlowInfo, FlowRules, Packet, RuleSet, TxBuffers, Vars,
};

/// Every buffer kind, both directions, holds the payload.
struct All<'a>([&'a [u8]; 1]);

impl TxBuffers for All<'_> {
    fn get(&self, _kind: BufferKind, _to_server: bool) -> &[&[u8]] {
        &self.0
    }
}

fuzz_target!(|data: &[u8]| {
    let (text, payload) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, data),
    };
    let text = String::from_utf8_lossy(text);
    let (rs, report) = RuleSet::parse_str(&text, "fuzz.rules", None, &Vars::default());
    let _ = report.to_string();
    let rs = Arc::new(rs);
    let mut d = Detector::new(rs.clone());
    let mut fr = FlowRules::default();
    let mut out = Vec::new();
    for (i, to_server) in [true, false].into_iter().enumerate() {
        let p = Packet {
            ts_ns: i as u64 * 1_000_000_000,
            src: IpAddr::from([10, 0, 0, 1]),
            dst: IpAddr::from([10, 0, 0, 2]),
            src_port: Some(40000),
            dst_port: Some(80),
            ip_proto: 6,
            ttl: Some(64),
            tcp_flags: Some(0x18),
            icmp_type: None,
            icmp_code: None,
            payload,
            flow: Some(FlowInfo {
                to_server,
                established: true,
                app_proto: Some("HTTP"),
            }),
        };
        // The stream in two pieces, then the packet on its own.
        let mid = payload.len() / 2;
        d.inspect_packet(&p, Some(&payload[..mid]), Some(&mut fr), &mut out);
        d.inspect_packet(&p, Some(&payload[mid..]), Some(&mut fr), &mut out);
        d.inspect_packet(&p, None, None, &mut out);
        d.inspect_tx(&p, i as u64, &All([payload]), &mut fr, &mut out);
        let f = FileView {
            tx: Some(i as u64),
            to_server,
            name: Some("a.exe"),
            magic: Some("PE32 executable"),
            md5: None,
            sha256: None,
            data: payload,
            size: payload.len() as u64,
        };
        d.inspect_file(&p, &f, Some(&All([payload])), &mut fr, &mut out);
    }
    for m in &out {
        let _ = rs.rule(m.rule);
    }
});
