//! The analyzer's bounds against floods of flows, on synthesised captures.
//!
//! `AnalyzeConfig::max_unanswered_flows`: flows nobody answered hold
//! application state only up to the bound; answered flows always do, and
//! a refused flow is analysed once its responder answers.
//!
//! `AnalyzeConfig::max_parser_memory`: the bytes parsers hold between
//! packets (unfinished heads) are bounded over all flows; the parsers
//! that hoard are stopped, an ordinary conversation is still parsed.

use std::io::Cursor;
use std::path::Path;

use netsift_capture::CaptureReader;
use netsift_engine::analyze::files::Files;
use netsift_engine::analyze::output::{Common, Output, Record, Summary};
use netsift_engine::analyze::{AnalyzeConfig, AnalyzeStats, Analyzer};
use netsift_engine::{run_reader, Classifier, ClassifyConfig, FlowRecord, PipelineConfig};

/// Records by log and client address, and the names of weird records.
#[derive(Default)]
struct Logs {
    records: Vec<(&'static str, String)>,
    weird: Vec<String>,
    summary: Summary,
}

impl Output for Logs {
    fn record(&mut self, log: &'static str, _ts: u64, c: &Common, r: &Record) {
        self.records.push((log, c.src_ip.to_string()));
        if log == "weird" {
            let v = r.to_json();
            self.weird
                .push(v["name"].as_str().unwrap_or_default().to_string());
        }
    }
    fn conn(&mut self, _ts: u64, _rec: &FlowRecord) {}
    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn summary(&self) -> &Summary {
        &self.summary
    }
}

impl Logs {
    /// Clients with a record in `log`, sorted.
    fn clients(&self, log: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .records
            .iter()
            .filter(|(l, _)| *l == log)
            .map(|(_, c)| c.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

fn csum(data: &[u8], mut sum: u32) -> u16 {
    for c in data.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An Ethernet/IPv4 frame around a transport segment `l4` of protocol
/// `proto`, with both checksums right.
fn frame(src: [u8; 4], dst: [u8; 4], proto: u8, mut l4: Vec<u8>, ck_at: usize) -> Vec<u8> {
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&src);
    pseudo.extend_from_slice(&dst);
    pseudo.extend_from_slice(&[0, proto]);
    pseudo.extend_from_slice(&(l4.len() as u16).to_be_bytes());
    let pre: u32 = pseudo
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    let c = csum(&l4, pre);
    l4[ck_at..ck_at + 2].copy_from_slice(&c.to_be_bytes());
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&[0, 1, 0, 0, 64, proto, 0, 0]);
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    let c = csum(&ip, 0);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0];
    f.extend_from_slice(&ip);
    f.extend_from_slice(&l4);
    f
}

#[allow(clippy::too_many_arguments)]
fn tcp(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    data: &[u8],
) -> Vec<u8> {
    let mut s = Vec::new();
    s.extend_from_slice(&sport.to_be_bytes());
    s.extend_from_slice(&dport.to_be_bytes());
    s.extend_from_slice(&seq.to_be_bytes());
    s.extend_from_slice(&ack.to_be_bytes());
    s.extend_from_slice(&[5 << 4, flags, 0xfa, 0xf0, 0, 0, 0, 0]);
    s.extend_from_slice(data);
    frame(src, dst, 6, s, 16)
}

fn udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, data: &[u8]) -> Vec<u8> {
    let mut s = Vec::new();
    s.extend_from_slice(&sport.to_be_bytes());
    s.extend_from_slice(&dport.to_be_bytes());
    s.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
    s.extend_from_slice(&[0, 0]);
    s.extend_from_slice(data);
    frame(src, dst, 17, s, 6)
}

/// A classic pcap of `frames`, one millisecond apart.
fn pcap(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for w in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 1] {
        out.extend_from_slice(&w.to_le_bytes());
    }
    for (i, f) in frames.iter().enumerate() {
        let us = i as u32 * 1000;
        for w in [1_700_000_000 + us / 1_000_000, us % 1_000_000] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    out
}

fn analyze(frames: &[Vec<u8>], max_unanswered_flows: usize) -> (Logs, AnalyzeStats) {
    let cfg = AnalyzeConfig {
        max_unanswered_flows,
        ..AnalyzeConfig::default()
    };
    analyze_with(frames, cfg)
}

fn analyze_with(frames: &[Vec<u8>], cfg: AnalyzeConfig) -> (Logs, AnalyzeStats) {
    let data = pcap(frames);
    let mut out = Logs::default();
    let stats = {
        let classifier = Classifier::new(&ClassifyConfig::default()).expect("layers");
        let files = Files::new(None, 1 << 20).expect("files");
        let mut an = Analyzer::new(classifier, cfg, files, &mut out);
        let r = CaptureReader::new(Cursor::new(&data[..])).expect("pcap");
        run_reader(
            Path::new("t.pcap"),
            None,
            r,
            PipelineConfig::default(),
            &mut an,
            &mut |_| {},
        )
        .expect("run");
        an.stats
    };
    (out, stats)
}

const SERVER: [u8; 4] = [10, 0, 0, 1];

fn client(i: u8) -> [u8; 4] {
    [11, 0, 0, i]
}

/// Five HTTP requests picked up mid-stream that nobody answers, then one
/// whole conversation (RFC 9293 §3.5 handshake, RFC 9112 request and
/// response).
fn http_frames() -> Vec<Vec<u8>> {
    let req = b"GET /x HTTP/1.1\r\nHost: victim.example\r\n\r\n";
    let mut v: Vec<Vec<u8>> = (1..=5)
        .map(|i| tcp(client(i), SERVER, 40000, 80, 1000, 5000, 0x18, req))
        .collect();
    v.extend(conversation(client(9)));
    v
}

/// A whole HTTP conversation of client `c`: handshake, request, response,
/// close.
fn conversation(c: [u8; 4]) -> Vec<Vec<u8>> {
    let req = b"GET /x HTTP/1.1\r\nHost: victim.example\r\n\r\n";
    let s = SERVER;
    let mut v = Vec::new();
    let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    v.push(tcp(c, s, 41000, 80, 100, 0, 0x02, b""));
    v.push(tcp(s, c, 80, 41000, 700, 101, 0x12, b""));
    v.push(tcp(c, s, 41000, 80, 101, 701, 0x10, b""));
    v.push(tcp(c, s, 41000, 80, 101, 701, 0x18, req));
    let after_req = 101 + req.len() as u32;
    v.push(tcp(s, c, 80, 41000, 701, after_req, 0x18, resp));
    let after_resp = 701 + resp.len() as u32;
    v.push(tcp(c, s, 41000, 80, after_req, after_resp, 0x11, b""));
    v.push(tcp(s, c, 80, 41000, after_resp, after_req + 1, 0x11, b""));
    v.push(tcp(
        c,
        s,
        41000,
        80,
        after_req + 1,
        after_resp + 1,
        0x10,
        b"",
    ));
    v
}

#[test]
fn unanswered_flows_beyond_the_bound_get_no_parser() {
    let frames = http_frames();
    let (all, st) = analyze(&frames, usize::MAX);
    assert_eq!(st.unanswered_refused, 0);
    assert_eq!(
        all.clients("http"),
        ["11.0.0.1", "11.0.0.2", "11.0.0.3", "11.0.0.4", "11.0.0.5", "11.0.0.9"]
    );
    let (bounded, st) = analyze(&frames, 2);
    assert_eq!(st.unanswered_refused, 3);
    // The first two unanswered flows, and the answered one although the
    // bound was full when it came.
    assert_eq!(
        bounded.clients("http"),
        ["11.0.0.1", "11.0.0.2", "11.0.0.9"]
    );
}

/// A DNS query for example.com (RFC 1035 §4.1), or its answer.
fn dns(id: u16, answer: bool) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(if answer { &[0x81, 0x80] } else { &[0x01, 0x00] });
    m.extend_from_slice(&[0, 1, 0, u8::from(answer), 0, 0, 0, 0]);
    m.extend_from_slice(b"\x07example\x03com\x00\x00\x01\x00\x01");
    if answer {
        m.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 93, 184, 216, 34]);
    }
    m
}

#[test]
fn an_answer_frees_the_place_and_admits_a_refused_flow() {
    let r = [10, 0, 0, 53];
    let frames = vec![
        udp(client(1), r, 5001, 53, &dns(1, false)),
        // Over the bound of one: refused.
        udp(client(2), r, 5002, 53, &dns(2, false)),
        // Client 1's answer: its flow no longer counts.
        udp(r, client(1), 53, 5001, &dns(1, true)),
        // So client 3's query takes the place.
        udp(client(3), r, 5003, 53, &dns(3, false)),
        // Client 2's answer: its flow is analysed from here on.
        udp(r, client(2), 53, 5002, &dns(2, true)),
    ];
    let (all, st) = analyze(&frames, usize::MAX);
    assert_eq!(st.unanswered_refused, 0);
    assert_eq!(all.clients("dns"), ["11.0.0.1", "11.0.0.2", "11.0.0.3"]);
    let (bounded, st) = analyze(&frames, 1);
    assert_eq!(st.unanswered_refused, 1);
    assert_eq!(
        bounded.clients("dns"),
        ["11.0.0.1", "11.0.0.2", "11.0.0.3"],
        "{:?}",
        bounded.records
    );
}

/// `n` connections that complete their handshake (RFC 9293 §3.5), then
/// send `segments` segments of 1,000 bytes of HTTP header lines and never
/// the blank line that ends the head (RFC 9112 §2.1), taking turns: all
/// the heads grow together. Before their last segments, one whole
/// conversation from client 200.
fn hoarders(n: u8, segments: u32) -> Vec<Vec<u8>> {
    let s = SERVER;
    let mut v = Vec::new();
    for i in 1..=n {
        let c = client(i);
        v.push(tcp(c, s, 40000, 80, 100, 0, 0x02, b""));
        v.push(tcp(s, c, 80, 40000, 700, 101, 0x12, b""));
        v.push(tcp(c, s, 40000, 80, 101, 701, 0x10, b""));
    }
    let mut head = b"GET /slow HTTP/1.1\r\nHost: victim.example\r\n".to_vec();
    while head.len() < 1000 * segments as usize {
        head.extend_from_slice(b"X-Pad: pppppppppppppppppppppppppppppppppppppppp\r\n");
    }
    for k in 0..segments {
        let seg = &head[(k * 1000) as usize..((k + 1) * 1000) as usize];
        for i in 1..=n {
            v.push(tcp(client(i), s, 40000, 80, 101 + k * 1000, 701, 0x18, seg));
        }
        if k + 1 == segments - 1 {
            // The conversation while the heads are at their largest.
            v.extend(conversation(client(200)));
        }
    }
    v
}

#[test]
fn parsers_that_hoard_are_stopped_and_a_conversation_is_still_parsed() {
    let frames = hoarders(8, 6);
    let (all, st) = analyze_with(&frames, AnalyzeConfig::default());
    assert_eq!(st.parsers_stopped, 0);
    assert!(all.weird.iter().all(|w| w != "parser_memory_bound"));
    assert!(all.clients("http").contains(&"11.0.0.200".to_string()));
    // Eight heads of 6,000 bytes are 48 KB; a bound of 16 KB stops the
    // largest as they grow past it.
    let cfg = AnalyzeConfig {
        max_parser_memory: 16 << 10,
        ..AnalyzeConfig::default()
    };
    let (bounded, st) = analyze_with(&frames, cfg);
    assert!(
        (1..=8).contains(&st.parsers_stopped),
        "{} stopped",
        st.parsers_stopped
    );
    assert!(st.parser_bytes_stopped >= st.parsers_stopped * 1000);
    let named = bounded
        .weird
        .iter()
        .filter(|w| *w == "parser_memory_bound")
        .count();
    assert_eq!(named as u64, st.parsers_stopped);
    // What is left (eight heads, less those stopped) is within the bound
    // and one head: the hoarders were stopped as they grew past it, and
    // not all of them.
    let left = (8 - st.parsers_stopped) * 6_000;
    assert!(
        left > 0 && left <= (16 << 10) + 6_000,
        "{left} bytes left in parsers"
    );
    assert!(
        bounded.clients("http").contains(&"11.0.0.200".to_string()),
        "the whole conversation is parsed: {:?}",
        bounded.records
    );
}
