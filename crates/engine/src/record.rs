//! The flow record: what `netsift flows --format jsonl` prints per flow.
//!
//! Field names follow Zeek's conn.log where the meaning is the same
//! (`uid`, `ts`, `duration`, `conn_state`, `history`, `orig_pkts`, ...).
//! Later versions add keys; they never rename these.

use std::borrow::Borrow;

use serde::Serialize;

use netsift_flow::{l4_name, Flow, Uid};
use netsift_proto::text::Text;
use netsift_wire::Tunnel;

use crate::classify::{ClassState, Confidence};

/// One flow, ready to serialise.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FlowRecord {
    /// Unique flow id (`C` + base62), stable for a given capture.
    pub uid: Text,
    /// First packet, seconds since the Unix epoch.
    pub ts: f64,
    /// Last packet minus first packet, in seconds.
    pub duration: f64,
    /// Transport: TCP, UDP, ICMP, ICMPV6, SCTP, GRE, ... or the IP protocol number.
    pub l4: Text,
    /// Initiator address (RFC 5952 text for IPv6).
    pub src_ip: Text,
    /// Initiator port; 0 where the protocol has none.
    pub src_port: u16,
    pub dst_ip: Text,
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
    pub history: Text,
    /// Community ID v1.
    pub community_id: Text,
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
    /// Why: a short human-readable reason (shared with the verdict when
    /// it is one of the fixed texts, see [`crate::classify::Verdict`]).
    pub evidence: std::borrow::Cow<'static, str>,
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

/// The first allocation of a line a worker writes ahead of time: most conn
/// lines are 500-700 bytes, and a one-packet flow's is 528 with its newline
/// (at 512, every line of a SYN flood grew to 1,024).
pub const LINE_CAPACITY: usize = 768;

/// An address as text: IPv4 written digit by digit (a flood makes two per
/// packet, and `Display` goes through the formatting machinery), IPv6 by
/// `Display` (RFC 5952's compressed form).
pub(crate) fn ip_text(a: std::net::IpAddr) -> Text {
    match a {
        std::net::IpAddr::V4(v4) => Text::ascii_with(|buf| {
            // "255.255.255.255" is the longest: 15 bytes. Each octet's
            // digits are copied whole from a table, three bytes at a time
            // (the next octet's dot overwrites what a shorter one left).
            let mut n = 0;
            for o in v4.octets() {
                let (len, digits) = OCTETS[usize::from(o)];
                buf[n..n + 3].copy_from_slice(&digits);
                n += usize::from(len);
                buf[n] = b'.';
                n += 1;
            }
            n - 1
        }),
        std::net::IpAddr::V6(v6) => Text::from(v6.to_string()),
    }
}

/// The decimal text of each octet value: its length and its digits (padded
/// with zero bytes to three).
const OCTETS: [(u8, [u8; 3]); 256] = {
    let mut t = [(0u8, [0u8; 3]); 256];
    let mut v = 0;
    while v < 256 {
        let (h, d, u) = ((v / 100) as u8, (v / 10 % 10) as u8, (v % 10) as u8);
        t[v] = if v >= 100 {
            (3, [b'0' + h, b'0' + d, b'0' + u])
        } else if v >= 10 {
            (2, [b'0' + d, b'0' + u, 0])
        } else {
            (1, [b'0' + u, 0, 0])
        };
        v += 1;
    }
    t
};

/// A uid as text, in place.
pub(crate) fn uid_text(u: Uid) -> Text {
    Text::ascii_with(|buf| match buf.first_chunk_mut::<12>() {
        Some(d) => {
            u.write_digits(d);
            d.len()
        }
        None => 0,
    })
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
            uid: uid_text(f.uid),
            ts: micros_to_secs(f.first_ts),
            duration: micros_to_secs(f.duration_ns()),
            l4: Text::of(&l4_name(f.key.proto)),
            src_ip: ip_text(o.addr),
            src_port: o.port,
            dst_ip: ip_text(r.addr),
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
            history: Text::of(f.history()),
            community_id: Text::ascii(f.community_id(seed).as_bytes()).unwrap_or_default(),
            end_reason: f.end_reason.map_or("end", |r| r.as_str()),
            first_tcp_flags: f.first_tcp_flags,
            protocol: "Unknown",
            app: None,
            confidence: Confidence::None,
            source: "none",
            evidence: std::borrow::Cow::Borrowed(""),
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

/// JSON text of a [`FlowRecord`], written field by field: the bytes
/// `serde_json::to_writer` writes (a test compares them on nDPI's corpus
/// and on hostile strings), at a fraction of the cost. A flow's strings are
/// nearly always plain ASCII (addresses, uid, names), so they are copied
/// after one scan; any other string goes through serde_json's escaping.
impl FlowRecord {
    pub fn write_json(&self, out: &mut Vec<u8>) {
        // Every key, with the comma before it, is one constant copy: the
        // compiler writes it as a few stores instead of a call to memcpy
        // (a conn line has two dozen keys; pushing `,` `"` key `":` one by
        // one was 9% of a SYN flood's `analyze` instructions).
        macro_rules! key {
            ($k:literal) => {
                out.extend_from_slice(concat!(",\"", $k, "\":").as_bytes())
            };
        }
        macro_rules! u64_field {
            ($k:literal, $v:expr) => {{
                key!($k);
                json_u64(out, $v);
            }};
        }
        out.extend_from_slice(b"{\"uid\":");
        json_text(out, &self.uid);
        key!("ts");
        json_f64(out, self.ts);
        key!("duration");
        json_f64(out, self.duration);
        key!("l4");
        json_text(out, &self.l4);
        key!("src_ip");
        json_text(out, &self.src_ip);
        u64_field!("src_port", self.src_port.into());
        key!("dst_ip");
        json_text(out, &self.dst_ip);
        u64_field!("dst_port", self.dst_port.into());
        key!("vlan");
        match self.vlan {
            Some(v) => json_u64(out, v.into()),
            None => out.extend_from_slice(b"null"),
        }
        if let Some(v) = self.inner_vlan {
            u64_field!("inner_vlan", v.into());
        }
        if let Some(t) = self.tunnel {
            key!("tunnel");
            json_str(out, t);
        }
        u64_field!("orig_pkts", self.orig_pkts);
        u64_field!("resp_pkts", self.resp_pkts);
        u64_field!("orig_bytes", self.orig_bytes);
        u64_field!("resp_bytes", self.resp_bytes);
        u64_field!("orig_payload_bytes", self.orig_payload_bytes);
        u64_field!("resp_payload_bytes", self.resp_payload_bytes);
        key!("conn_state");
        json_str(out, self.conn_state);
        key!("history");
        json_text(out, &self.history);
        key!("community_id");
        json_text(out, &self.community_id);
        key!("end_reason");
        json_str(out, self.end_reason);
        if let Some(f) = self.first_tcp_flags {
            u64_field!("first_tcp_flags", f.into());
        }
        key!("protocol");
        json_str(out, self.protocol);
        key!("app");
        match &self.app {
            Some(a) => json_str(out, a),
            None => out.extend_from_slice(b"null"),
        }
        key!("confidence");
        json_str(out, self.confidence.as_str());
        key!("source");
        json_str(out, self.source);
        key!("evidence");
        json_str(out, &self.evidence);
        out.push(b'}');
    }
}

/// A string as serde_json writes it ([`netsift_proto::json`]: plain
/// strings are checked a word at a time and copied whole).
fn json_str(out: &mut Vec<u8>, s: &str) {
    netsift_proto::json::write_str(out, s);
}

/// [`json_str`] of a [`Text`], from its bytes: this skips the UTF-8 check
/// of [`Text::as_str`] (a whole `str`'s bytes need none; a SYN flood's
/// conn records spent 2.5% of `analyze` in it).
fn json_text(out: &mut Vec<u8>, t: &Text) {
    if !netsift_proto::json::write_plain(out, t.as_bytes()) {
        let _ = serde_json::to_writer(&mut *out, t.as_str());
    }
}

fn json_u64(out: &mut Vec<u8>, v: u64) {
    netsift_proto::json::write_u64(out, v);
}

/// serde_json's own float text (shortest round trip; `null` when not
/// finite), written from the microsecond count for timestamps and
/// durations.
fn json_f64(out: &mut Vec<u8>, v: f64) {
    netsift_proto::json::write_f64(out, v);
}

#[cfg(test)]
mod json_tests {
    use super::*;

    #[test]
    fn ip_text_is_display() {
        for a in [
            "0.0.0.0",
            "9.10.99.100",
            "255.255.255.255",
            "10.0.200.1",
            "1.23.45.199",
            "::1",
            "2001:db8::ff00:42:8329",
            "::ffff:10.0.0.1",
        ] {
            let ip: std::net::IpAddr = a.parse().expect("address");
            assert_eq!(ip_text(ip), ip.to_string());
        }
        for n in 0..=255u8 {
            let ip = std::net::IpAddr::from([n, 255 - n, n / 3, n.wrapping_mul(7)]);
            assert_eq!(ip_text(ip), ip.to_string());
        }
    }

    fn record() -> FlowRecord {
        FlowRecord {
            uid: "CabcDEF123".into(),
            ts: 1_600_000_000.123_456,
            duration: 0.0,
            l4: "TCP".into(),
            src_ip: "10.0.0.1".into(),
            src_port: 40000,
            dst_ip: "2001:db8::1".into(),
            dst_port: 443,
            vlan: None,
            inner_vlan: None,
            tunnel: None,
            orig_pkts: 3,
            resp_pkts: 0,
            orig_bytes: u64::MAX,
            resp_bytes: 0,
            orig_payload_bytes: 1,
            resp_payload_bytes: 2,
            conn_state: "S0",
            history: "S".into(),
            community_id: "1:abc+/=".into(),
            end_reason: "idle",
            first_tcp_flags: None,
            protocol: "TLS",
            app: None,
            confidence: Confidence::Dpi,
            source: "dpi",
            evidence: "ClientHello".into(),
            missed_bytes: 0,
            orig_ip_bytes: 0,
            resp_ip_bytes: 0,
            icmp_type_code: None,
            seq_bytes: None,
            rendered: Default::default(),
            addrs: None,
        }
    }

    fn same(r: &FlowRecord) {
        let mut mine = Vec::new();
        r.write_json(&mut mine);
        let theirs = serde_json::to_vec(r).expect("serde");
        assert_eq!(
            String::from_utf8_lossy(&mine),
            String::from_utf8_lossy(&theirs)
        );
    }

    /// Every flow of nDPI's corpus, classified as `netsift flows` does.
    #[test]
    fn the_same_bytes_on_the_corpus() {
        use crate::classify::{Classifier, ClassifyConfig};
        use crate::pipeline::{FlowHandler, PipelineConfig};
        struct Check {
            c: Classifier,
            n: usize,
        }
        impl FlowHandler<ClassState> for Check {
            fn on_packet(
                &mut self,
                flow: &mut Flow<ClassState>,
                seen: netsift_flow::Seen,
                pkt: &netsift_wire::Decoded<'_>,
            ) {
                self.c.on_packet(flow, seen, pkt);
            }
            fn on_flow_end(&mut self, mut flow: Flow<ClassState>) {
                self.c.on_end(&mut flow);
                same(&FlowRecord::from_classified(&flow, 0));
                self.n += 1;
            }
        }
        let Some(paths) = netsift_testkit::ndpi_pcap_files() else {
            return;
        };
        let mut h = Check {
            c: Classifier::new(&ClassifyConfig::default()).expect("classifier"),
            n: 0,
        };
        for p in paths {
            let _ = crate::run::run_capture(&p, PipelineConfig::default(), &mut h, &mut |_| {});
        }
        assert!(h.n > 4000, "{} flows", h.n);
    }

    /// Every optional field both ways, every confidence, floats that are
    /// whole, tiny, huge and not finite, and strings that need escaping.
    /// Every byte that JSON escapes, at every position of strings around
    /// the 8-byte words of the check, among neighbours that it must not
    /// mistake for them (the bytes next to `"`, `\\` and 0x1f, DEL, and
    /// multi-byte characters), gives serde_json's text.
    #[test]
    fn strings_escape_as_serde_json_at_every_position() {
        let fill = [
            'a',
            ' ',
            '!',
            '#',
            '[',
            ']',
            '\u{7f}',
            'é',
            '\u{80}',
            '€',
            '\u{10ffff}',
            '~',
        ];
        for len in 0..40 {
            for pos in 0..len {
                for bad in ['"', '\\', '\n', '\u{0}', '\u{1}', '\u{1f}'] {
                    let mut v: Vec<char> = (0..len).map(|i| fill[(i + pos) % fill.len()]).collect();
                    v[pos] = bad;
                    let s: String = v.into_iter().collect();
                    let mut out = Vec::new();
                    json_str(&mut out, &s);
                    assert_eq!(out, serde_json::to_vec(&s).expect("json"), "{s:?}");
                }
            }
            for shift in 0..fill.len() {
                let plain: String = (0..len).map(|i| fill[(i + shift) % fill.len()]).collect();
                let mut out = Vec::new();
                json_str(&mut out, &plain);
                assert_eq!(out, serde_json::to_vec(&plain).expect("json"), "{plain:?}");
                assert!(
                    netsift_proto::json::needs_no_escape(plain.as_bytes()),
                    "{plain:?}"
                );
            }
            let ascii: String = (0..len)
                .map(|i| (b' ' + (i % 90) as u8) as char)
                .filter(|c| *c != '"' && *c != '\\')
                .collect();
            assert!(
                netsift_proto::json::needs_no_escape(ascii.as_bytes()),
                "{ascii:?}"
            );
        }
    }

    #[test]
    fn the_same_bytes_as_serde_json() {
        let mut r = record();
        same(&r);
        r.vlan = Some(4095);
        r.inner_vlan = Some(7);
        r.tunnel = Some("VXLAN");
        r.first_tcp_flags = Some(0x29);
        r.app = Some("Google \"Docs\"".into());
        same(&r);
        for c in [
            Confidence::Flow,
            Confidence::Ml,
            Confidence::Port,
            Confidence::None,
        ] {
            r.confidence = c;
            same(&r);
        }
        for f in [
            0.5,
            1e-7,
            1e21,
            123_456_789.0,
            f64::NAN,
            f64::INFINITY,
            -0.0,
        ] {
            r.ts = f;
            r.duration = f;
            same(&r);
        }
        // Longer than a Text keeps in place (46 bytes): on the heap.
        let long = format!("{}\"é\u{1}", "x".repeat(60));
        for s in [
            long.as_str(),
            "",
            "a\"b",
            "back\\slash",
            "tab\there",
            "nul\u{0}",
            "\u{1f}\u{7f}",
            "é ünïcödé ✓ \u{2028}",
            "</script>",
        ] {
            r.evidence = s.to_string().into();
            r.history = s.into();
            r.community_id = s.into();
            r.app = Some(s.into());
            same(&r);
        }
    }
}
