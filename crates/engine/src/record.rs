//! The flow record: what `netsift flows --format jsonl` prints per flow.
//!
//! Field names follow Zeek's conn.log where the meaning is the same
//! (`uid`, `ts`, `duration`, `conn_state`, `history`, `orig_pkts`, ...).
//! Later versions add keys; they never rename these.

use std::borrow::Borrow;

use serde::Serialize;

use netsift_flow::{l4_name, Flow};
use netsift_wire::Tunnel;

use crate::classify::{ClassState, Confidence};

/// One flow, ready to serialise.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FlowRecord {
    /// Unique flow id (`C` + base62), stable for a given capture.
    pub uid: String,
    /// First packet, seconds since the Unix epoch.
    pub ts: f64,
    /// Last packet minus first packet, in seconds.
    pub duration: f64,
    /// Transport: TCP, UDP, ICMP, ICMPV6, SCTP, GRE, ... or the IP protocol number.
    pub l4: String,
    /// Initiator address (RFC 5952 text for IPv6).
    pub src_ip: String,
    /// Initiator port; 0 where the protocol has none.
    pub src_port: u16,
    pub dst_ip: String,
    pub dst_port: u16,
    /// Outer 802.1Q VLAN id.
    pub vlan: Option<u16>,
    /// Second (inner) VLAN id of a QinQ stack.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inner_vlan: Option<u16>,
    /// Outermost tunnel the flow was carried in (GRE, VXLAN, GTP-U, CAPWAP, IP-in-IP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<&'static str>,
    pub orig_pkts: u64,
    pub resp_pkts: u64,
    /// Bytes on the wire (frame lengths) from the initiator.
    pub orig_bytes: u64,
    pub resp_bytes: u64,
    /// Transport payload bytes from the initiator.
    pub orig_payload_bytes: u64,
    pub resp_payload_bytes: u64,
    /// Zeek's connection state (S0, S1, SF, REJ, ..., OTH).
    pub conn_state: &'static str,
    /// Zeek's history letters.
    pub history: String,
    /// Community ID v1.
    pub community_id: String,
    /// Why the flow record ended: idle, closed, active, reused, evicted, end.
    pub end_reason: &'static str,
    /// TCP flags of the first packet (2 = SYN; scans use FIN, none, FIN+PSH+URG, ACK).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_tcp_flags: Option<u8>,
    /// Application protocol (nDPI's names), or `Unknown`.
    pub protocol: &'static str,
    /// A more specific application, when known.
    pub app: Option<String>,
    /// `dpi`, `flow`, `ml`, `port` (a guess) or `none`.
    pub confidence: Confidence,
    /// The layer that decided.
    pub source: &'static str,
    /// Why: a short human-readable reason.
    pub evidence: String,
    /// Bytes the TCP reassembly never saw (gaps), both ways: Zeek's
    /// `missed_bytes`. Set by `analyze`; not in netsift's own JSONL.
    #[serde(skip)]
    pub missed_bytes: u64,
    /// IP bytes (header and payload, per the IP length fields) from the
    /// initiator: Zeek's `orig_ip_bytes`. Not in netsift's own JSONL.
    #[serde(skip)]
    pub orig_ip_bytes: u64,
    #[serde(skip)]
    pub resp_ip_bytes: u64,
    /// ICMP/ICMPv6 type and code of the first packet (Zeek's conn.log
    /// writes them as the ports). Not in netsift's own JSONL.
    #[serde(skip)]
    pub icmp_type_code: Option<(u8, u8)>,
    /// TCP: the sequence space each side covered (data counted once,
    /// retransmissions not), Zeek's TCP `orig_bytes`/`resp_bytes`. Not in
    /// netsift's own JSONL.
    #[serde(skip)]
    pub seq_bytes: Option<[u64; 2]>,
    /// Its JSONL line, when an `analyze --threads` worker made it ahead of
    /// the writer (not part of the record).
    #[serde(skip)]
    pub rendered: netsift_proto::record::Rendered,
    /// `src_ip` and `dst_ip` as addresses, for the detectors and the
    /// summary (parsing the text back was 4% of the writing thread under a
    /// SYN flood). Not serialised.
    #[serde(skip)]
    pub addrs: Option<(std::net::IpAddr, std::net::IpAddr)>,
}

/// Nanoseconds to seconds, rounded to the microsecond: an f64 cannot hold
/// epoch nanoseconds, and dividing the microsecond count gives the value
/// whose shortest text is the exact microsecond timestamp.
pub(crate) fn micros_to_secs(ns: u64) -> f64 {
    (ns.saturating_add(500) / 1000) as f64 / 1e6
}

fn tunnel_name(t: Tunnel) -> &'static str {
    match t {
        Tunnel::Gre => "GRE",
        Tunnel::Vxlan => "VXLAN",
        Tunnel::GtpU => "GTP-U",
        Tunnel::Capwap => "CAPWAP",
        Tunnel::IpInIp => "IP-in-IP",
        Tunnel::Geneve => "Geneve",
    }
}

impl FlowRecord {
    /// The initiator's and responder's addresses (from the flow, or parsed
    /// from the text of a record built elsewhere).
    pub fn ip_pair(&self) -> Option<(std::net::IpAddr, std::net::IpAddr)> {
        self.addrs
            .or_else(|| Some((self.src_ip.parse().ok()?, self.dst_ip.parse().ok()?)))
    }

    /// Build the record of a flow. `seed` is the Community ID seed.
    pub fn from_flow<T>(f: &Flow<T>, seed: u16) -> FlowRecord {
        let (o, r) = (f.orig(), f.resp());
        FlowRecord {
            uid: f.uid.to_string(),
            ts: micros_to_secs(f.first_ts),
            duration: micros_to_secs(f.duration_ns()),
            l4: l4_name(f.key.proto).into_owned(),
            src_ip: o.addr.to_string(),
            src_port: o.port,
            dst_ip: r.addr.to_string(),
            dst_port: r.port,
            vlan: f.key.vlan,
            inner_vlan: f.key.inner_vlan,
            tunnel: f.tunnel.map(tunnel_name),
            orig_pkts: f.stats[0].pkts,
            resp_pkts: f.stats[1].pkts,
            orig_bytes: f.stats[0].bytes,
            resp_bytes: f.stats[1].bytes,
            orig_payload_bytes: f.stats[0].payload_bytes,
            resp_payload_bytes: f.stats[1].payload_bytes,
            conn_state: f.conn_state(),
            history: f.history().to_string(),
            community_id: f.community_id(seed),
            end_reason: f.end_reason.map_or("end", |r| r.as_str()),
            first_tcp_flags: f.first_tcp_flags,
            protocol: "Unknown",
            app: None,
            confidence: Confidence::None,
            source: "none",
            evidence: String::new(),
            missed_bytes: 0,
            orig_ip_bytes: f.stats[0].ip_bytes,
            resp_ip_bytes: f.stats[1].ip_bytes,
            icmp_type_code: f.icmp_type_code,
            seq_bytes: (f.key.proto == 6).then(|| [f.conn.seq_bytes(0), f.conn.seq_bytes(1)]),
            rendered: Default::default(),
            addrs: Some((o.addr, r.addr)),
        }
    }

    /// Build the record of a classified flow (its data is a [`ClassState`]
    /// or holds one).
    pub fn from_classified<T: Borrow<ClassState>>(f: &Flow<T>, seed: u16) -> FlowRecord {
        let mut r = FlowRecord::from_flow(f, seed);
        let st: &ClassState = f.data.borrow();
        if let Some(v) = &st.verdict {
            r.protocol = v.protocol;
            r.app = v.app.clone();
            r.confidence = v.confidence;
            r.source = v.source;
            r.evidence = v.evidence.clone();
        }
        r
    }
}
