//! Tests over the public API: rules from suricata-verify's tests and
//! Suricata's documentation, fed real captured packets where the capture
//! is a handful of packets.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::*;

fn corpus() -> PathBuf {
    std::env::var_os("NETSIFT_SV_DIR").map_or_else(
        || netsift_testkit::shared_dir().join("corpus/suricata-verify"),
        PathBuf::from,
    )
}

fn set(text: &str) -> (Arc<RuleSet>, LoadReport) {
    let (s, r) = RuleSet::parse_str(text, "test.rules", None, &Vars::default());
    (Arc::new(s), r)
}

/// A rule set that must load without skips or errors.
fn clean(text: &str) -> Arc<RuleSet> {
    let (s, r) = set(text);
    assert!(r.skipped.is_empty() && r.errors.is_empty(), "{r:?}");
    s
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn pkt(payload: &[u8]) -> Packet<'_> {
    Packet {
        ts_ns: 1_000_000_000,
        src: ip("10.0.0.1"),
        dst: ip("10.0.0.2"),
        src_port: Some(40000),
        dst_port: Some(80),
        ip_proto: 6,
        ttl: Some(64),
        tcp_flags: Some(0x18),
        icmp_type: None,
        icmp_code: None,
        payload,
        flow: None,
    }
}

fn flow_info(to_server: bool, app: Option<&'static str>) -> Option<FlowInfo<'static>> {
    Some(FlowInfo {
        to_server,
        established: true,
        app_proto: app,
    })
}

/// Sids that fire on one packet (no flow).
fn sids(rs: &Arc<RuleSet>, p: &Packet) -> Vec<u32> {
    let mut d = Detector::new(rs.clone());
    let mut out = Vec::new();
    d.inspect_packet(p, None, None, &mut out);
    let mut v: Vec<u32> = out.iter().map(|m| rs.rule(m.rule).sid).collect();
    v.sort();
    v
}

fn fires(rule: &str, payload: &[u8]) -> bool {
    let rs = clean(rule);
    !sids(&rs, &pkt(payload)).is_empty()
}

#[derive(Default)]
struct Bufs<'a>(HashMap<(BufferKind, bool), Vec<&'a [u8]>>);

impl<'a> Bufs<'a> {
    fn with(mut self, k: BufferKind, to_server: bool, v: &'a [u8]) -> Self {
        self.0.entry((k, to_server)).or_default().push(v);
        self
    }
}

impl TxBuffers for Bufs<'_> {
    fn get(&self, kind: BufferKind, to_server: bool) -> &[&[u8]] {
        self.0.get(&(kind, to_server)).map_or(&[], |v| v.as_slice())
    }
}

// ---------------------------------------------------------------- pcap

/// Packets of a classic pcap (Ethernet, raw IP, Linux SLL), decoded just
/// enough for rule tests: IPv4, TCP / UDP / ICMP.
fn read_pcap(path: &Path) -> Vec<(u64, Vec<u8>, usize)> {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "little-endian pcap");
    let link = u32::from_le_bytes(b[20..24].try_into().unwrap());
    let l2 = match link {
        1 => 14,
        101 => 0,
        113 => 16,
        l => panic!("linktype {l}"),
    };
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= b.len() {
        let sec = u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as u64;
        let usec = u32::from_le_bytes(b[at + 4..at + 8].try_into().unwrap()) as u64;
        let cap = u32::from_le_bytes(b[at + 8..at + 12].try_into().unwrap()) as usize;
        let frame = b[at + 16..at + 16 + cap].to_vec();
        let mut l2 = l2;
        // 802.1Q tags.
        while link == 1 && frame.get(l2 - 2..l2) == Some(&[0x81, 0x00]) {
            l2 += 4;
        }
        out.push((sec * 1_000_000_000 + usec * 1000, frame, l2));
        at += 16 + cap;
    }
    out
}

fn decode(ts: u64, f: &[u8], l2: usize) -> Packet<'_> {
    let ipb = &f[l2..];
    assert_eq!(ipb[0] >> 4, 4);
    let ihl = usize::from(ipb[0] & 15) * 4;
    let total = usize::from(u16::from_be_bytes([ipb[2], ipb[3]])).min(ipb.len());
    let proto = ipb[9];
    let src = IpAddr::from([ipb[12], ipb[13], ipb[14], ipb[15]]);
    let dst = IpAddr::from([ipb[16], ipb[17], ipb[18], ipb[19]]);
    let l4 = &ipb[ihl..total];
    let mut p = Packet {
        ts_ns: ts,
        src,
        dst,
        src_port: None,
        dst_port: None,
        ip_proto: proto,
        ttl: Some(ipb[8]),
        tcp_flags: None,
        icmp_type: None,
        icmp_code: None,
        payload: &[],
        flow: None,
    };
    match proto {
        6 => {
            p.src_port = Some(u16::from_be_bytes([l4[0], l4[1]]));
            p.dst_port = Some(u16::from_be_bytes([l4[2], l4[3]]));
            p.tcp_flags = Some(l4[13]);
            p.payload = &l4[usize::from(l4[12] >> 4) * 4..];
        }
        17 => {
            p.src_port = Some(u16::from_be_bytes([l4[0], l4[1]]));
            p.dst_port = Some(u16::from_be_bytes([l4[2], l4[3]]));
            p.payload = &l4[8..];
        }
        1 => {
            p.icmp_type = Some(l4[0]);
            p.icmp_code = Some(l4[1]);
            p.payload = &l4[8.min(l4.len())..];
        }
        _ => p.payload = l4,
    }
    p
}

/// Run a suricata-verify test's own rules over its capture, packet by
/// packet without flows; count alerts per sid.
fn run_corpus(test: &str) -> Option<HashMap<u32, usize>> {
    let dir = corpus().join(test);
    if !dir.is_dir() {
        eprintln!("corpus not found, skipping {test}");
        return None;
    }
    let (rs, rep) = RuleSet::load(&[dir.join("test.rules")], &Vars::default(), true).unwrap();
    assert!(rep.skipped.is_empty());
    let rs = Arc::new(rs);
    let cap = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("pcap")))
        .unwrap();
    let mut d = Detector::new(rs.clone());
    let mut counts = HashMap::new();
    for (ts, f, l2) in read_pcap(&cap) {
        let p = decode(ts, &f, l2);
        let mut out = Vec::new();
        let mut fr = FlowRules::default();
        d.inspect_packet(&p, None, Some(&mut fr), &mut out);
        for m in out {
            *counts.entry(rs.rule(m.rule).sid).or_insert(0) += 1;
        }
    }
    Some(counts)
}

// ---------------------------------------------------------------- grammar

#[test]
fn every_corpus_rule_file_loads_strictly() {
    let Ok(rd) = std::fs::read_dir(corpus()) else {
        eprintln!("corpus not found");
        return;
    };
    let mut n = 0;
    for e in rd {
        let p = e.unwrap().path().join("test.rules");
        if p.is_file() {
            let (rs, rep) = RuleSet::load(std::slice::from_ref(&p), &Vars::default(), true)
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            assert!(rep.errors.is_empty() && rep.skipped.is_empty());
            n += rs.len();
        }
    }
    assert!(n > 400, "{n} rules");
}

#[test]
fn header_forms() {
    let rs = clean(
        "alert tcp $HOME_NET any -> $EXTERNAL_NET $HTTP_PORTS (sid:1;)\n\
         alert tcp [10.0.0.0/8,!10.0.0.1] any <> any [80:90,!85] (sid:2;)\n\
         drop udp any any -> any any (sid:3;)\n\
         reject ip any any -> 10.0.0.2 !22 (sid:4;)\n\
         pass icmp any any -> any any (sid:5;)\n\
         alert tcp any 40000: -> any :1024 (sid:6;)\n",
    );
    // 10.0.0.1 → 10.0.0.2:80: HOME → HOME is not HOME → EXTERNAL.
    let p = pkt(b"");
    assert_eq!(sids(&rs, &p), vec![4, 6]);
    let mut q = pkt(b"");
    q.src = ip("10.0.0.2");
    q.dst = ip("10.0.0.9");
    q.src_port = Some(81);
    q.dst_port = Some(5555);
    // `<>`: 10.0.0.9:5555 ↔ 10.0.0.2:81 matches reversed.
    assert_eq!(sids(&rs, &q), vec![2]);
    q.dst = ip("8.8.8.8");
    q.dst_port = Some(80);
    assert_eq!(sids(&rs, &q), vec![1, 2]);
    q.dst = ip("10.0.0.2");
    assert_eq!(sids(&rs, &q), vec![2, 4]);
    let r = rs
        .rules()
        .map(|(_, r)| (r.sid, r.action))
        .collect::<Vec<_>>();
    // Suricata's order: pass, drop, reject, alert.
    assert_eq!(r[0], (5, Action::Pass));
    assert_eq!(r[1], (3, Action::Drop));
    assert_eq!(r[2], (4, Action::Reject));
}

#[test]
fn escaping_and_identity() {
    let rs = clean(
        r#"alert tcp any any -> any any (msg:"a\;b\"c\\d\:e"; content:"x\;y|3a|"; reference:url,example.com/a\;b; metadata: former_category X, created_at 2020; classtype:trojan-activity; rev:7; gid:3; sid:9;)"#,
    );
    let r = rs.rule(RuleId(0));
    assert_eq!(r.msg, r#"a;b"c\d:e"#);
    assert_eq!(r.references, vec!["url,example.com/a;b"]);
    assert_eq!(r.metadata, vec!["former_category X", "created_at 2020"]);
    assert_eq!((r.sid, r.rev, r.gid, r.priority), (9, 7, 3, 1));
    assert_eq!(r.category(), "A Network Trojan was detected");
    assert!(fires(&r.text, b"..x;y:.."));
    assert!(!fires(&r.text, b"..x;y;.."));
    // Default priority 3, explicit priority wins over the classtype.
    let rs = clean("alert ip any any -> any any (sid:1;)\nalert ip any any -> any any (classtype:misc-activity; priority:1; sid:2;)");
    let pr: HashMap<u32, u8> = rs.rules().map(|(_, r)| (r.sid, r.priority)).collect();
    assert_eq!(pr[&1], 3);
    assert_eq!(pr[&2], 1);
}

#[test]
fn multi_line_comments_and_indent() {
    // bug-2736-01's rule, continued over five lines.
    let text = "# a comment\n\
                alert dns any any -> any 53 ( \\\n\
                msg:\"DNS - Transaction ID problem, DDNS\"; \\\n\
                content:\"|04|ddns|03|net|00|\"; \\\n\
                classtype:trojan-activity; \\\n\
                sid:1; rev:1;)\n\
                \n\
                #alert ip any any -> any any (sid:2;)\n \
                alert ip any any -> any any (sid:3;)\n";
    let (rs, rep) = set(text);
    assert!(rep.errors.is_empty() && rep.skipped.is_empty(), "{rep:?}");
    assert_eq!(rs.len(), 1);
    let r = rs.rule(RuleId(0));
    assert_eq!((r.sid, r.line), (1, 2));
    assert_eq!(r.msg, "DNS - Transaction ID problem, DDNS");
    let payload =
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x04ddns\x03net\x00\x00\x01\x00\x01";
    let mut p = pkt(payload);
    p.ip_proto = 17;
    p.dst_port = Some(53);
    p.flow = flow_info(true, Some("DNS"));
    assert_eq!(sids(&rs, &p), vec![1]);
    // Without the app protocol known, an `alert dns` rule does not fire.
    p.flow = flow_info(true, None);
    assert!(sids(&rs, &p).is_empty());
}

#[test]
fn syntax_errors_name_file_line_column() {
    let text = "alert tcp any any -> any any (sid:1;)\n\
                alert tcp any any <- any any (sid:2;)\n\
                alert tcp any any -> any any (content:\"a\"; sid:3;\n\
                alert tcp any any -> any any (content:\"|4|\"; sid:4;)\n\
                alert tcp any any -> any any (nocase; sid:5;)\n\
                alert tcp any any -> any any (msg:\"no sid\";)\n\
                bogus tcp any any -> any any (sid:7;)\n\
                alert tcp any any -> any any (sid:8;)\n";
    let (rs, rep) = set(text);
    assert_eq!(rs.len(), 2, "loading goes on after errors");
    let at: Vec<(usize, usize)> = rep.errors.iter().map(|e| (e.line, e.col)).collect();
    assert_eq!(
        at,
        vec![(2, 19), (3, 50), (4, 31), (5, 31), (6, 30), (7, 1)]
    );
    let e = &rep.errors[0];
    assert_eq!(
        e.to_string(),
        "test.rules:2:19: syntax error: bad direction `<-` (use -> or <>)"
    );
}

#[test]
fn skipped_rules_name_keyword_and_sid() {
    let text = "alert tcp any any -> any any (content:\"a\"; byte_math:bytes 1, offset 0, oper +, rvalue 1, result x; sid:11;)\n\
                alert tcp any any -> any any (byte_test:1,=,1,0,dce; sid:12;)\n\
                alert foo any any -> any any (sid:13;)\n\
                alert tcp any any -> any any (pcre:\"/(?|a)/\"; sid:14;)\n\
                alert tcp any any -> any any (filemd5:missing.txt; sid:15;)\n\
                alert tcp any any -> any any (content:\"a\"; http_uri; content:\"b\"; sid:16;)\n\
                alert tcp any any -> any any (sid:17;)\n";
    let (rs, rep) = set(text);
    assert_eq!(rs.len(), 1);
    let got: Vec<(usize, Option<u32>, &str)> = rep
        .skipped
        .iter()
        .map(|s| (s.line, s.sid, s.keyword.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, Some(11), "byte_math"),
            (2, Some(12), "byte_test"),
            (3, Some(13), "foo"),
            (4, Some(14), "pcre"),
            (5, Some(15), "filemd5"),
            (6, Some(16), "pkt_data"),
        ]
    );
    assert_eq!(
        rep.skipped[0].to_string(),
        "test.rules:1: sid 11: rule skipped: `byte_math`: keyword not supported"
    );
    // Strict loading turns them into an error.
    let dir = std::env::temp_dir().join(format!("netsift-rules-strict-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("x.rules");
    std::fs::write(&f, text).unwrap();
    assert!(matches!(
        RuleSet::load(std::slice::from_ref(&f), &Vars::default(), true),
        Err(LoadError::Strict(_))
    ));
    let (ok, rep) = RuleSet::load(&[f], &Vars::default(), false).unwrap();
    assert_eq!((ok.len(), rep.loaded, rep.skipped.len()), (1, 1, 6));
    assert!(matches!(
        RuleSet::load(&[dir.join("nope.rules")], &Vars::default(), false),
        Err(LoadError::Io { .. })
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------- payload

#[test]
fn content_hex_nocase_negation() {
    assert!(fires(
        r#"alert tcp any any -> any any (content:"|41 42|C"; sid:1;)"#,
        b"xxABCxx"
    ));
    assert!(!fires(
        r#"alert tcp any any -> any any (content:"abc"; sid:1;)"#,
        b"xxABCxx"
    ));
    assert!(fires(
        r#"alert tcp any any -> any any (content:"abc"; nocase; sid:1;)"#,
        b"xxABCxx"
    ));
    assert!(fires(
        r#"alert tcp any any -> any any (content:"a"; content:!"zz"; sid:1;)"#,
        b"abc"
    ));
    assert!(!fires(
        r#"alert tcp any any -> any any (content:"a"; content:!"bc"; sid:1;)"#,
        b"abc"
    ));
    // A rule with only a negated content fires on payloads without it.
    assert!(fires(
        r#"alert tcp any any -> any any (content:!"evil"; sid:1;)"#,
        b"good"
    ));
}

#[test]
fn offset_depth_distance_within_chain() {
    let r = r#"alert tcp any any -> any any (content:"GET"; offset:0; depth:3; content:"/admin"; distance:1; within:6; sid:1;)"#;
    assert!(fires(r, b"GET /admin HTTP/1.0"));
    assert!(!fires(r, b" GET /admin"));
    assert!(!fires(r, b"GET  /admin"));
    // The chain backtracks: the first "ab" is not followed by "c", the
    // second is.
    let r =
        r#"alert tcp any any -> any any (content:"ab"; content:"c"; distance:0; within:1; sid:1;)"#;
    assert!(fires(r, b"abxabc"));
    assert!(!fires(r, b"abxab"));
    // Negative distance looks back.
    let r = r#"alert tcp any any -> any any (content:"def"; content:"abc"; distance:-6; within:3; sid:1;)"#;
    assert!(fires(r, b"abcdef"));
    // bug-5162's rule shape over an SMB2 create request laid out as the rule expects.
    let mut smb = b"\x00\x00\x00\x90\xfeSMB".to_vec();
    smb.extend_from_slice(&[0u8; 8]);
    smb.extend_from_slice(b"\x09\x00");
    smb.extend_from_slice(&[0u8; 3]);
    smb.extend_from_slice(b"\x05\x00\x00");
    smb.extend_from_slice(&[1u8; 19]);
    smb.extend_from_slice(b"\x0c\x00");
    smb.extend_from_slice(&[2u8; 20]);
    smb.extend_from_slice(b"\x15\x00\x00\x00\x00");
    let rs = clean(
        &std::fs::read_to_string(corpus().join("bug-5162/test.rules")).unwrap_or_else(|_| {
            r#"alert tcp any any -> any 445 (content:"|fe|SMB"; depth:8; content:"|09 00|"; distance:8; within:2; content:"|05 00 00|"; distance:0; content:"|0c 00|"; distance:19; within:2; content:"|15 00 00 00|"; distance:20; within:4; sid:2;)"#.into()
        }),
    );
    let mut p = pkt(&smb);
    p.dst_port = Some(445);
    p.flow = Some(FlowInfo {
        to_server: true,
        established: true,
        app_proto: None,
    });
    let mut d = Detector::new(rs.clone());
    let mut out = Vec::new();
    let mut fr = FlowRules::default();
    d.inspect_packet(&p, Some(&smb), Some(&mut fr), &mut out);
    let mut got: Vec<u32> = out.iter().map(|m| rs.rule(m.rule).sid).collect();
    got.sort();
    if rs.len() == 7 {
        // All seven: "SMB" within depth 8, "|15 00 00 00|" / "|15 00 00 00 00|"
        // after 20 bytes, the pcre `^\x00` right after it.
        assert_eq!(got, vec![1, 2, 3, 4, 5, 6, 7]);
    } else {
        assert_eq!(got, vec![2]);
    }
}

#[test]
fn startswith_endswith() {
    let r = r#"alert tcp any any -> any any (content:"GET"; startswith; content:".exe"; endswith; sid:1;)"#;
    assert!(fires(r, b"GET /a.exe"));
    assert!(!fires(r, b" GET /a.exe"));
    assert!(!fires(r, b"GET /a.exe "));
    // bug-docs-5030-02: 17 bytes that would need to end the packet within
    // 29 bytes after distance 9; the capture's 39-byte payload has no match.
    let counts = run_corpus("bug-docs-5030-02");
    if let Some(c) = counts {
        assert_eq!(c.get(&1), None);
    }
}

#[test]
fn isdataat_forms() {
    let r = r#"alert tcp any any -> any any (content:"AB"; isdataat:2,relative; sid:1;)"#;
    // "relative": at least 2 bytes after the match.
    assert!(fires(r, b"ABxy"));
    assert!(!fires(r, b"xABx"));
    let r = r#"alert tcp any any -> any any (content:"AB"; isdataat:!1,relative; sid:1;)"#;
    assert!(fires(r, b"xxAB"));
    assert!(!fires(r, b"xxABc"));
    assert!(fires(
        r#"alert tcp any any -> any any (isdataat:9; sid:1;)"#,
        b"0123456789"
    ));
    assert!(!fires(
        r#"alert tcp any any -> any any (isdataat:10; sid:1;)"#,
        b"0123456789"
    ));
}

#[test]
fn pcre_flags_relative_and_lookaround() {
    assert!(fires(
        r#"alert tcp any any -> any any (pcre:"/NICK .*USA.*[0-9]{3,}/i"; sid:1;)"#,
        b"nick x usa 1234"
    ));
    assert!(!fires(
        r#"alert tcp any any -> any any (pcre:"/a.b/"; sid:1;)"#,
        b"a\nb"
    ));
    assert!(fires(
        r#"alert tcp any any -> any any (pcre:"/a.b/s"; sid:1;)"#,
        b"a\nb"
    ));
    assert!(fires(
        r#"alert tcp any any -> any any (pcre:"/^b$/m"; sid:1;)"#,
        b"a\nb\nc"
    ));
    assert!(fires(
        r#"alert tcp any any -> any any (pcre:"/a b # comment/x"; sid:1;)"#,
        b"ab"
    ));
    assert!(fires(
        r#"alert tcp any any -> any any (pcre:"/\xff\x00/"; sid:1;)"#,
        b"\x01\xff\x00"
    ));
    // R: anchored right after the previous match.
    let r = r#"alert tcp any any -> any any (content:"key="; pcre:"/^[0-9]+&/R"; sid:1;)"#;
    assert!(fires(r, b"a key=123&"));
    assert!(!fires(r, b"a key=x123&"));
    // Look-around and back-references (the backtracking engine).
    assert!(fires(
        r#"alert tcp any any -> any any (pcre:"/foo(?=bar)/"; sid:1;)"#,
        b"foobar"
    ));
    assert!(!fires(
        r#"alert tcp any any -> any any (pcre:"/foo(?!bar)/"; sid:1;)"#,
        b"foobar"
    ));
    assert!(fires(
        r#"alert tcp any any -> any any (pcre:"/(ab)x\1/"; sid:1;)"#,
        b"zabxab"
    ));
    assert!(fires(
        r#"alert tcp any any -> any any (pcre:"/(?<=\xff)z/"; sid:1;)"#,
        b"\xffz"
    ));
    // A negated pcre.
    assert!(fires(
        r#"alert tcp any any -> any any (content:"a"; pcre:!"/b/"; sid:1;)"#,
        b"ac"
    ));
    // PCRE's literal escapes.
    assert!(fires(
        r#"alert tcp any any -> any any (pcre:"/\<a\/b\>\;/"; sid:1;)"#,
        b"<a/b>;"
    ));
    // Buffer flags move the pcre to the HTTP buffers.
    let rs =
        clean(r#"alert http any any -> any any (pcre:"/^\/admin/U"; pcre:"/^Mozilla/V"; sid:1;)"#);
    let b = Bufs::default()
        .with(BufferKind::HttpUri, true, b"/admin/x")
        .with(BufferKind::HttpUserAgent, true, b"Mozilla/5.0");
    assert_eq!(tx_sids(&rs, &b, Some("HTTP")), vec![1]);
    let b = Bufs::default()
        .with(BufferKind::HttpUri, true, b"/x/admin")
        .with(BufferKind::HttpUserAgent, true, b"Mozilla/5.0");
    assert!(tx_sids(&rs, &b, Some("HTTP")).is_empty());
}

#[test]
fn catastrophic_pcre_is_bounded() {
    let hay = vec![b'a'; 100_000];
    // Linear engine.
    let t = std::time::Instant::now();
    assert!(!fires(
        r#"alert tcp any any -> any any (pcre:"/(a+)+$b/"; sid:1;)"#,
        &hay
    ));
    // Backtracking engine (a back-reference forces it): the limit stops it.
    assert!(!fires(
        r#"alert tcp any any -> any any (pcre:"/(a+)+\1b/"; sid:1;)"#,
        &hay
    ));
    assert!(
        t.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn byte_test_combinations() {
    let p = b"\x00\x00\x01\x00LEN=0123;\x0f";
    let f = |opts: &str| {
        fires(
            &format!("alert tcp any any -> any any (byte_test:{opts}; sid:1;)"),
            p,
        )
    };
    assert!(f("4,=,256,0"));
    assert!(f("2,=,1,2,little"));
    assert!(f("2,>,255,2"));
    assert!(f("2,!>,256,2"));
    assert!(f("2,<=,256,2"));
    assert!(f("2,!=,255,2"));
    assert!(!f("2,!=,256,2"));
    assert!(f("1,&,0x08,13"));
    assert!(f("1,^,0x0e,13"));
    assert!(f("4,=,123,8,string,dec"));
    assert!(f("2,=,0x23,10,string,hex"));
    assert!(f("3,=,83,9,string,oct"));
    assert!(f("1,=,3,13,bitmask 0x0c"));
    assert!(!f("4,=,256,12"));
    assert!(fires(
        r#"alert tcp any any -> any any (content:"LEN="; byte_test:4,>,100,0,relative,string,dec; sid:1;)"#,
        p
    ));
}

#[test]
fn byte_jump_options() {
    let f =
        |rule: &str, p: &[u8]| fires(&format!("alert tcp any any -> any any ({rule} sid:1;)"), p);
    // Read 1 byte (3) at 0, jump 3 after it: lands on "X".
    assert!(f(r#"byte_jump:1,0; content:"X"; within:1;"#, b"\x03abcX"));
    assert!(f(
        r#"byte_jump:2,0,little; content:"X"; within:1;"#,
        b"\x03\x00abcX"
    ));
    assert!(f(
        r#"byte_jump:1,0,multiplier 2; content:"X"; within:1;"#,
        b"\x02abcdX"
    ));
    assert!(f(
        r#"byte_jump:1,0,align; content:"X"; within:1;"#,
        b"\x03abcdX"
    ));
    assert!(!f(r#"byte_jump:1,0; content:"X"; within:1;"#, b"\x03abcdX"));
    assert!(f(
        r#"byte_jump:1,0,from_beginning; content:"X"; within:1;"#,
        b"\x04abcX"
    ));
    assert!(f(
        r#"byte_jump:1,0,post_offset -1; content:"cX"; within:2;"#,
        b"\x03abcX"
    ));
    assert!(f(
        r#"byte_jump:2,0,string,hex; content:"X"; within:1;"#,
        b"0a0123456789X"
    ));
    assert!(!f(r#"byte_jump:1,0; content:"X"; within:1;"#, b"\xffabcX"));
    // detect-bytejump-06: "Question?13When will the pandemic end?", the
    // bitmask 0xfe turns 13 into 6, from_end + 6 - 26 lands on "ll the".
    let p = b"Question?13When will the pandemic end?";
    let r = std::fs::read_to_string(corpus().join("detect-bytejump-06/test.rules")).unwrap_or_else(|_| {
        r#"alert tcp any any -> any any (content:"Question?"; byte_jump:2,0,relative,string,from_end,post_offset -26, bitmask 0xfe; content:"ll the pandemic end";distance:0; sid:1;)"#.into()
    });
    let rs = clean(&r);
    assert_eq!(sids(&rs, &pkt(p)), vec![1]);
    if let Some(c) = run_corpus("detect-bytejump-06") {
        assert_eq!(c.get(&1), Some(&1));
    }
}

#[test]
fn dsize_bsize_urilen() {
    assert!(fires(
        r#"alert tcp any any -> any any (dsize:>3; sid:1;)"#,
        b"abcd"
    ));
    assert!(!fires(
        r#"alert tcp any any -> any any (dsize:2<>4; sid:1;)"#,
        b"abcd"
    ));
    assert!(fires(
        r#"alert tcp any any -> any any (dsize:3<>5; sid:1;)"#,
        b"abcd"
    ));
    assert!(fires(
        r#"alert tcp any any -> any any (dsize:!5; sid:1;)"#,
        b"abcd"
    ));
    // detect-bsize-0: an empty User-Agent.
    let rs = clean(&std::fs::read_to_string(corpus().join("detect-bsize-0/test.rules")).unwrap_or_else(|_| {
        "alert http any any -> any any (http.user_agent; bsize: 0; sid:46;)\nalert http any any -> any any (http.user_agent; content: !\"u\"; sid:47;)".into()
    }));
    let b = Bufs::default().with(BufferKind::HttpUserAgent, true, b"");
    assert_eq!(tx_sids(&rs, &b, Some("HTTP")), vec![46, 47]);
    let b = Bufs::default().with(BufferKind::HttpUserAgent, true, b"Wget");
    assert_eq!(tx_sids(&rs, &b, Some("HTTP")), vec![47]);
    // No User-Agent at all: neither fires.
    assert!(tx_sids(&rs, &Bufs::default(), Some("HTTP")).is_empty());
    let rs = clean("alert http any any -> any any (urilen:>5; sid:1;)\nalert http any any -> any any (urilen:3,raw; sid:2;)");
    let b = Bufs::default()
        .with(BufferKind::HttpUri, true, b"/abcdef")
        .with(BufferKind::HttpUriRaw, true, b"/%4");
    assert_eq!(tx_sids(&rs, &b, Some("HTTP")), vec![1, 2]);
}

// ---------------------------------------------------------------- header keywords

#[test]
fn itype_icode_on_real_pings() {
    let Some(c) = run_corpus("detect-itype") else {
        return;
    };
    // The expectations of suricata-verify's test.yaml.
    assert_eq!(c.get(&1), Some(&75));
    assert_eq!(c.get(&2), Some(&150));
    assert_eq!(c.get(&3), Some(&75));
    assert_eq!(c.get(&4), Some(&75));
    let rs = clean("alert icmp any any -> any any (icode:>0; sid:1;)\nalert icmp any any -> any any (icode:0; itype:!8; sid:2;)");
    let mut p = pkt(b"");
    p.ip_proto = 1;
    p.src_port = None;
    p.dst_port = None;
    p.icmp_type = Some(0);
    p.icmp_code = Some(0);
    assert_eq!(sids(&rs, &p), vec![2]);
}

#[test]
fn flags_ttl_ip_proto_sameip() {
    let mut p = pkt(b"");
    p.tcp_flags = Some(0x12 | 0x40); // SYN ACK ECE
    let f = |r: &str, p: &Packet| {
        !sids(
            &clean(&format!("alert tcp any any -> any any ({r} sid:1;)")),
            p,
        )
        .is_empty()
    };
    assert!(!f("flags:SA;", &p));
    assert!(f("flags:SA,E;", &p));
    assert!(f("flags:+SA;", &p));
    assert!(f("flags:*SF;", &p));
    assert!(!f("flags:!S;", &p));
    assert!(f("flags:!F;", &p));
    p.tcp_flags = Some(0);
    assert!(f("flags:0;", &p));
    assert!(f("ttl:64;", &p));
    assert!(f("ttl:<65;", &p));
    assert!(!f("ttl:>64;", &p));
    let rs = clean("alert ip any any -> any any (ip_proto:47; sid:1;)\nalert ip any any -> any any (ip_proto:gre; sid:2;)\nalert ip any any -> any any (ip_proto:!tcp; sid:3;)\nalert ip any any -> any any (sameip; sid:4;)");
    let mut g = pkt(b"");
    g.ip_proto = 47;
    g.src_port = None;
    g.dst_port = None;
    assert_eq!(sids(&rs, &g), vec![1, 2, 3]);
    g.dst = g.src;
    assert_eq!(sids(&rs, &g), vec![1, 2, 3, 4]);
}

#[test]
fn app_layer_protocol_keyword() {
    let rs = clean(&std::fs::read_to_string(corpus().join("detect-app-layer-protocol-01/test.rules")).unwrap_or_else(|_| {
        "alert tcp any any -> any [80,443] (flow:to_server; app-layer-protocol:!http; app-layer-protocol:!tls; sid:1; )".into()
    }));
    let mut p = pkt(b"GET / HTTP/1.1\r\n\r\n");
    p.dst_port = Some(80);
    // Unknown protocol: neither `http` nor `!http` holds.
    p.flow = flow_info(true, None);
    assert!(sids(&rs, &p).is_empty());
    p.flow = flow_info(true, Some("HTTP"));
    assert!(sids(&rs, &p).is_empty());
    p.flow = flow_info(true, Some("SSH"));
    assert_eq!(sids(&rs, &p), vec![1]);
}

// ---------------------------------------------------------------- flow state

#[test]
fn flow_direction_and_established() {
    let rs = clean("alert tcp any any -> any any (flow:to_server,established; sid:1;)\nalert tcp any any -> any any (flow:from_server; sid:2;)\nalert tcp any any -> any any (flow:not_established; sid:3;)");
    let mut p = pkt(b"x");
    assert!(sids(&rs, &p).is_empty(), "flow keywords need a flow");
    p.flow = flow_info(true, None);
    assert_eq!(sids(&rs, &p), vec![1]);
    p.flow = Some(FlowInfo {
        to_server: false,
        established: false,
        app_proto: None,
    });
    assert_eq!(sids(&rs, &p), vec![2, 3]);
}

#[test]
fn flowbits_ordering_on_the_real_packet() {
    // detect-flowbits: one HTTP request packet; the expected counts of its
    // test.yaml come from Suricata evaluating setters before checkers.
    let Some(c) = run_corpus("detect-flowbits") else {
        return;
    };
    let want = [
        (1, 1),
        (2, 1),
        (3, 0),
        (5, 1),
        (6, 0),
        (7, 1),
        (8, 0),
        (9, 1),
        (10, 0),
        (11, 0),
        (12, 1),
    ];
    for (sid, n) in want {
        assert_eq!(c.get(&sid).copied().unwrap_or(0), n, "sid {sid}");
    }
}

#[test]
fn flowbits_across_packets_and_groups() {
    let rs = clean(
        "alert udp any any -> any any (content:\"LOGIN\"; flowbits:set,login; flowbits:noalert; sid:1;)\n\
         alert udp any any -> any any (content:\"SECRET\"; flowbits:isset,login; sid:2;)\n\
         alert udp any any -> any any (content:\"LOGOUT\"; flowbits:unset,login; sid:3;)\n\
         alert udp any any -> any any (content:\"T\"; flowbits:toggle,t; noalert; sid:4;)\n\
         alert udp any any -> any any (content:\"Q\"; flowbits:isset,t&login; sid:5;)\n\
         alert udp any any -> any any (content:\"Q\"; flowbits:isnotset,t|login; sid:6;)\n",
    );
    let mut d = Detector::new(rs.clone());
    let mut fr = FlowRules::default();
    let mut run = |data: &[u8]| {
        let mut p = pkt(data);
        p.ip_proto = 17; // no stream semantics here
        p.flow = flow_info(true, None);
        let mut out = Vec::new();
        d.inspect_packet(&p, None, Some(&mut fr), &mut out);
        out.iter().map(|m| rs.rule(m.rule).sid).collect::<Vec<_>>()
    };
    assert_eq!(run(b"SECRET"), Vec::<u32>::new());
    assert_eq!(run(b"LOGIN"), Vec::<u32>::new());
    assert_eq!(run(b"SECRET"), vec![2]);
    assert_eq!(run(b"Q"), vec![6]);
    assert_eq!(run(b"T"), Vec::<u32>::new());
    assert_eq!(run(b"Q"), vec![5]);
    assert_eq!(run(b"LOGOUT"), vec![3]);
    assert_eq!(run(b"SECRET"), Vec::<u32>::new());
}

#[test]
fn threshold_types_in_packet_time() {
    let rs = clean(
        "alert tcp any any -> any any (content:\"L\"; threshold: type limit, track by_src, count 2, seconds 10; sid:1;)\n\
         alert tcp any any -> any any (content:\"T\"; threshold: type threshold, track by_dst, count 3, seconds 10; sid:2;)\n\
         alert tcp any any -> any any (content:\"B\"; threshold: type both, track by_rule, count 2, seconds 10; sid:3;)\n\
         alert tcp any any -> any any (content:\"D\"; detection_filter: track by_both, count 2, seconds 10; sid:4;)\n\
         alert tcp any any -> any any (content:\"W\"; threshold: type threshold, track by_rule, count 2, seconds 10; sid:5;)\n",
    );
    let mut d = Detector::new(rs.clone());
    let mut count = |payload: &[u8], secs: &[u64], src: &str| -> usize {
        let mut n = 0;
        for s in secs {
            let mut p = pkt(payload);
            p.ts_ns = s * 1_000_000_000;
            p.src = ip(src);
            let mut out = Vec::new();
            d.inspect_packet(&p, None, None, &mut out);
            n += out.len();
        }
        n
    };
    // limit 2 per 10 s: 2 of the first 4, then a new window at 20 s.
    assert_eq!(count(b"L", &[0, 1, 2, 3, 20, 21, 22], "10.0.0.1"), 4);
    // by_src: another source has its own budget.
    assert_eq!(count(b"L", &[3], "10.0.0.9"), 1);
    // threshold 3: the 3rd and 6th.
    assert_eq!(count(b"T", &[0, 1, 2, 3, 4, 5, 6], "10.0.0.1"), 2);
    // The window keeps its start after an alert: at 10 s it is over, so
    // the match at 5 s and the one at 10 s do not add up.
    assert_eq!(count(b"W", &[0, 1, 5, 10], "10.0.0.1"), 1);
    // both: once per window after 2.
    assert_eq!(count(b"B", &[0, 1, 2, 3, 30, 31], "10.0.0.1"), 2);
    // detection_filter: every match after the 2nd in the window.
    assert_eq!(count(b"D", &[0, 1, 2, 3, 4], "10.0.0.1"), 3);
    // bug-4503: limit 5 by_rule; the capture sends one packet to 8.8.8.8.
    if let Some(c) = run_corpus("bug-4503") {
        assert_eq!(c.get(&1), Some(&1));
    }
}

#[test]
fn pass_rule_suppresses_the_flow() {
    // bug-6402-01's first rules: the pass rule wins over the alert on
    // the same packet, and the flow stays passed.
    let rs = clean("alert udp any any -> any 6081 (msg:\"geneve udp\"; sid:2;)\npass udp any any -> any 6081 (sid:1;)\nalert ip any any -> any any (msg:\"all IP\"; sid:5554;)");
    let mut d = Detector::new(rs.clone());
    let mut fr = FlowRules::default();
    let mut p = pkt(b"geneve");
    p.ip_proto = 17;
    p.dst_port = Some(6081);
    p.flow = flow_info(true, None);
    let mut out = Vec::new();
    d.inspect_packet(&p, None, Some(&mut fr), &mut out);
    assert!(out.is_empty());
    assert!(fr.passed());
    p.dst_port = Some(9);
    d.inspect_packet(&p, None, Some(&mut fr), &mut out);
    assert!(out.is_empty(), "the whole flow is passed");
    // Outside that flow the IP rule fires.
    let mut other = FlowRules::default();
    d.inspect_packet(&p, None, Some(&mut other), &mut out);
    assert_eq!(out.len(), 1);
}

// ---------------------------------------------------------------- stream

fn tcp_flow_run(rs: &Arc<RuleSet>, segs: &[&[u8]]) -> Vec<(u32, &'static str)> {
    let mut d = Detector::new(rs.clone());
    let mut fr = FlowRules::default();
    let mut all = Vec::new();
    for s in segs {
        let mut p = pkt(s);
        p.flow = flow_info(true, None);
        let mut out = Vec::new();
        d.inspect_packet(&p, Some(s), Some(&mut fr), &mut out);
        all.extend(out.iter().map(|m| (rs.rule(m.rule).sid, m.buffer)));
    }
    all
}

#[test]
fn stream_split_content_alerts_once() {
    let rs = clean("alert tcp any any -> any any (content:\"Hello!\"; sid:1;)\nalert tcp any any -> any any (content:\"Hello!\"; flow:no_stream; sid:2;)\nalert tcp any any -> any any (content:\"Hello!\"; flow:only_stream; sid:3;)");
    // Split across two segments: the stream finds it once; the packet
    // rule (no_stream) never sees it whole.
    let got = tcp_flow_run(&rs, &[b"xxHel", b"lo!yy", b"zz"]);
    assert_eq!(got, vec![(1, "stream"), (3, "stream")]);
    // Whole in one segment: each once, no double alert for the same bytes.
    let got = tcp_flow_run(&rs, &[b"Hello!", b"more", b"data"]);
    let mut sids: Vec<u32> = got.iter().map(|g| g.0).collect();
    sids.sort();
    assert_eq!(sids, vec![1, 2, 3]);
    // Out of order (no stream bytes yet) in an established flow: wait for
    // the stream; no_stream rules still see the packet.
    let mut d = Detector::new(rs.clone());
    let mut fr = FlowRules::default();
    let mut p = pkt(b"Hello!");
    p.flow = flow_info(true, None);
    let mut out = Vec::new();
    d.inspect_packet(&p, None, Some(&mut fr), &mut out);
    assert_eq!(
        out.iter().map(|m| rs.rule(m.rule).sid).collect::<Vec<_>>(),
        vec![2]
    );
}

#[test]
fn no_established_no_alert_with_flow_keyword() {
    // alert-no-3whs-established: the session never completed its
    // handshake, so `flow:established` keeps the rule quiet.
    let rs = clean(&std::fs::read_to_string(corpus().join("alert-no-3whs-established/test.rules")).unwrap_or_else(|_| {
        "alert tcp 127.0.0.1 any -> 127.0.0.1 1212 (content:\"MATCH?\"; flow:to_server,established; sid:13371340;)".into()
    }));
    let mut p = pkt(b"MATCH?");
    p.src = ip("127.0.0.1");
    p.dst = ip("127.0.0.1");
    p.dst_port = Some(1212);
    p.flow = Some(FlowInfo {
        to_server: true,
        established: false,
        app_proto: None,
    });
    assert!(sids(&rs, &p).is_empty());
    p.flow = flow_info(true, None);
    let mut d = Detector::new(rs.clone());
    let mut out = Vec::new();
    d.inspect_packet(
        &p,
        Some(b"MATCH?"),
        Some(&mut FlowRules::default()),
        &mut out,
    );
    assert_eq!(out.len(), 1);
}

// ---------------------------------------------------------------- transactions

fn tx_sids(rs: &Arc<RuleSet>, b: &dyn TxBuffers, app: Option<&'static str>) -> Vec<u32> {
    let mut d = Detector::new(rs.clone());
    let mut fr = FlowRules::default();
    let mut out = Vec::new();
    // The engine inspects each direction with a packet of that direction.
    for to_server in [true, false] {
        let mut p = pkt(b"");
        p.flow = flow_info(to_server, app);
        d.inspect_tx(&p, 0, b, &mut fr, &mut out);
    }
    let mut v: Vec<u32> = out.iter().map(|m| rs.rule(m.rule).sid).collect();
    v.sort();
    v
}

#[test]
fn http_buffers_sticky_and_modifiers() {
    let rs = clean(
        "alert http $HOME_NET any -> any any (msg:\"Test\"; flow:established,to_server; http.method; content:\"GET\"; http.uri; content:\".exe\"; endswith; http.host; content:!\".google.com\"; endswith; sid:1;)\n\
         alert tcp any any -> any any (msg:\"msg escape tests\"; content:\"blah\"; http_uri; sid:100;)\n\
         alert http any any -> any any (content:\"GET\"; http_method; content:\"evil\"; http_host; nocase; sid:3;)\n\
         alert http any any -> any any (http.cookie; content:\"sess=\"; http.header; content:\"X-Y|3a| 1\"; sid:4;)\n",
    );
    let b = Bufs::default()
        .with(BufferKind::HttpMethod, true, b"GET")
        .with(BufferKind::HttpUri, true, b"/blah/a.exe")
        .with(BufferKind::HttpHost, true, b"EVIL.example")
        .with(BufferKind::HttpCookie, true, b"sess=1")
        .with(
            BufferKind::HttpHeader,
            true,
            b"Host: evil.example\r\nX-Y: 1\r\n",
        );
    assert_eq!(tx_sids(&rs, &b, Some("HTTP")), vec![1, 3, 4, 100]);
    // detect-content-ends-with-negated-02: the host ends with .google.com.
    let b2 = Bufs::default()
        .with(BufferKind::HttpMethod, true, b"GET")
        .with(BufferKind::HttpUri, true, b"/a.exe")
        .with(BufferKind::HttpHost, true, b"dl.google.com");
    assert_eq!(tx_sids(&rs, &b2, Some("HTTP")), Vec::<u32>::new());
    // Identity.
    assert_eq!(
        rs.rules().find(|(_, r)| r.sid == 100).unwrap().1.msg,
        "msg escape tests"
    );
    let d = Detector::new(rs.clone());
    assert!(d.wants(BufferKind::HttpUri) && d.wants(BufferKind::HttpCookie));
    assert!(!d.wants(BufferKind::TlsSni) && !d.wants_files());
}

#[test]
fn tx_rules_fire_once_per_tx_and_direction() {
    // ssh-banner-only: one alert per direction for ssh.software / ssh.proto.
    let rs = clean("alert ssh any any -> any any (ssh.software; content:\"OpenSSH\"; sid:1;)\nalert ssh any any -> any any (ssh.proto; content:\"2\"; sid:3;)");
    let mut d = Detector::new(rs.clone());
    let mut fr = FlowRules::default();
    let b = Bufs::default()
        .with(BufferKind::SshSoftware, true, b"OpenSSH_for_Windows_7.7")
        .with(BufferKind::SshProto, true, b"2.0");
    let mut p = pkt(b"");
    p.dst_port = Some(22);
    p.flow = flow_info(true, Some("SSH"));
    let mut out = Vec::new();
    d.inspect_tx(&p, 0, &b, &mut fr, &mut out);
    assert_eq!(out.len(), 2);
    // Called again (the response completes): the client side does not
    // fire again, the server side does.
    let b = b.with(BufferKind::SshSoftware, false, b"OpenSSH_7.4").with(
        BufferKind::SshProto,
        false,
        b"2.0",
    );
    p.flow = flow_info(false, Some("SSH"));
    d.inspect_tx(&p, 0, &b, &mut fr, &mut out);
    assert_eq!(out.len(), 4);
    d.inspect_tx(&p, 0, &b, &mut fr, &mut out);
    assert_eq!(out.len(), 4);
    // A new transaction fires again (here its server side: the call's
    // packet goes to the client, and only that direction is evaluated).
    d.inspect_tx(&p, 1, &b, &mut fr, &mut out);
    assert_eq!(out.len(), 6);
}

#[test]
fn response_side_header_with_from_server() {
    // http-close-headers.
    let rs = clean("alert http any any -> any any (msg: \"'ng1nx' Server header found\"; flow: established, from_server; content: \"ng1nx\"; nocase; http_header; classtype: attempted-admin; sid: 1; rev: 1; )");
    let b = Bufs::default()
        .with(BufferKind::HttpHeader, true, b"Host: x\r\n")
        .with(BufferKind::HttpHeader, false, b"Server: NG1NX\r\n");
    let mut d = Detector::new(rs.clone());
    let mut fr = FlowRules::default();
    // Evaluated on the response packet (server → client).
    let mut p = pkt(b"");
    p.src = ip("10.0.0.2");
    p.dst = ip("10.0.0.1");
    p.flow = flow_info(false, Some("HTTP"));
    let mut out = Vec::new();
    d.inspect_tx(&p, 0, &b, &mut fr, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].buffer, "http.header");
    assert_eq!(out[0].offset, Some(8));
}

#[test]
fn tls_dns_buffers() {
    let rs = clean(
        "alert tls any any -> any any (tls.sni; content:\"evil.com\"; endswith; sid:1;)\n\
         alert tls any any -> any any (tls.cert_subject; content:\"CN=evil\"; sid:2;)\n\
         alert dns any any -> any any (dns.query; content:\"bad\"; startswith; sid:3;)\n\
         alert tls any any -> any any (ja3.hash; content:\"e7d705a3286e19ea42f587b344ee6865\"; sid:4;)\n",
    );
    let b = Bufs::default()
        .with(BufferKind::TlsSni, true, b"www.evil.com")
        .with(BufferKind::TlsCertSubject, false, b"C=US, CN=evil")
        .with(
            BufferKind::Ja3Hash,
            true,
            b"e7d705a3286e19ea42f587b344ee6865",
        );
    assert_eq!(tx_sids(&rs, &b, Some("TLS")), vec![1, 2, 4]);
    // dns.query: one value per question; the second matches.
    let b = Bufs::default()
        .with(BufferKind::DnsQuery, true, b"good.example")
        .with(BufferKind::DnsQuery, true, b"bad.example");
    assert_eq!(tx_sids(&rs, &b, Some("DNS")), vec![3]);
    assert!(tx_sids(&rs, &b, Some("TLS")).is_empty());
}

// ---------------------------------------------------------------- files

#[test]
fn file_keywords() {
    let dir = std::env::temp_dir().join(format!("netsift-rules-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("md5.txt"),
        "44d88612fea8a8f36de82e1278abb02f eicar.com\n# comment\n",
    )
    .unwrap();
    let text = "alert http any any -> any any (msg:\"EICAR file data\"; file_data; content:\"EICAR-STANDARD-ANTIVIRUS-TEST-FILE\"; sid:1;)\n\
                alert http any any -> any any (filemagic:\"pdf document\"; nocase; sid:2;)\n\
                alert http any any -> any any (fileext:\"exe\"; sid:3;)\n\
                alert http any any -> any any (filename:\"setup\"; sid:4;)\n\
                alert http any any -> any any (filemd5:md5.txt; sid:5;)\n\
                alert http any any -> any any (http.uri; content:\"/dl\"; file.data; content:\"MZ\"; startswith; sid:6;)\n\
                alert http any any -> any any (http.request_body; content:\"upload\"; sid:7;)\n\
                alert smtp any any -> any any (msg:\"file_data smtp test\"; file_data; content:\"if was\"; sid:8;)\n";
    let f = dir.join("f.rules");
    std::fs::write(&f, text).unwrap();
    let (rs, rep) = RuleSet::load(&[f], &Vars::default(), true).unwrap();
    assert_eq!(rep.loaded, 8);
    let rs = Arc::new(rs);
    let mut d = Detector::new(rs.clone());
    assert!(d.wants_files() && d.wants(BufferKind::HttpUri));
    let mut fr = FlowRules::default();
    let mut p = pkt(b"");
    p.flow = flow_info(false, Some("HTTP"));
    let data = b"MZ\x90\x00X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
    let fv = FileView {
        tx: Some(0),
        to_server: false,
        name: Some("setup.EXE"),
        magic: Some("PDF document, version 1.4"),
        md5: Some("44D88612FEA8A8F36DE82E1278ABB02F"),
        sha256: None,
        data,
        size: data.len() as u64,
    };
    let b = Bufs::default().with(BufferKind::HttpUri, true, b"/dl/setup.exe");
    let mut out = Vec::new();
    d.inspect_file(&p, &fv, Some(&b), &mut fr, &mut out);
    let mut got: Vec<u32> = out.iter().map(|m| rs.rule(m.rule).sid).collect();
    got.sort();
    assert_eq!(got, vec![1, 2, 3, 4, 5, 6]);
    // Same tx again: nothing new.
    out.clear();
    d.inspect_file(&p, &fv, Some(&b), &mut fr, &mut out);
    assert!(out.is_empty());
    // An upload: the request body rule.
    let up = FileView {
        tx: Some(1),
        to_server: true,
        data: b"upload=1",
        ..Default::default()
    };
    p.flow = flow_info(true, Some("HTTP"));
    d.inspect_file(&p, &up, None, &mut fr, &mut out);
    assert_eq!(
        out.iter().map(|m| rs.rule(m.rule).sid).collect::<Vec<_>>(),
        vec![7]
    );
    // SMTP attachment.
    out.clear();
    p.flow = flow_info(true, Some("SMTP"));
    let att = FileView {
        tx: Some(0),
        to_server: true,
        name: Some("J.txt"),
        data: b"as if was not",
        ..Default::default()
    };
    d.inspect_file(&p, &att, None, &mut FlowRules::default(), &mut out);
    assert_eq!(
        out.iter().map(|m| rs.rule(m.rule).sid).collect::<Vec<_>>(),
        vec![8]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------- prefilter

/// A deterministic generator for the property tests.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn word(&mut self, alpha: &[u8], len: usize) -> Vec<u8> {
        (0..len)
            .map(|_| alpha[self.below(alpha.len() as u64) as usize])
            .collect()
    }
}

fn random_rule(r: &mut Rng, sid: u32) -> String {
    const A: &[u8] = b"abcAB.";
    let mut opts = String::new();
    // Transformed buffers: some keep a prefilter pattern, some go to the
    // always-evaluated list.
    match r.below(8) {
        0 => opts.push_str("pkt_data; dotprefix; "),
        1 => opts.push_str("pkt_data; to_lowercase; "),
        2 => opts.push_str("pkt_data; strip_whitespace; "),
        _ => {}
    }
    for _ in 0..=r.below(3) {
        let len = 1 + r.below(4) as usize;
        let w: String = r
            .word(A, len)
            .iter()
            .map(|&c| format!("|{c:02x}|"))
            .collect();
        let neg = if r.below(6) == 0 { "!" } else { "" };
        opts.push_str(&format!("content:{neg}\"{w}\"; "));
        match r.below(8) {
            0 => opts.push_str("nocase; "),
            1 => opts.push_str(&format!("offset:{}; ", r.below(4))),
            2 => opts.push_str(&format!("depth:{}; ", len as u64 + r.below(6))),
            3 => opts.push_str(&format!("distance:{}; ", r.below(3))),
            4 => opts.push_str(&format!("within:{}; ", len as u64 + r.below(4))),
            5 => opts.push_str("fast_pattern; "),
            6 => opts.push_str("endswith; "),
            _ => {}
        }
    }
    if r.below(5) == 0 {
        opts.push_str("pcre:\"/a[bc]/i\"; ");
    }
    format!("alert udp any any -> any any ({opts}sid:{sid};)")
}

#[test]
fn prefilter_gives_the_same_matches_as_evaluating_every_rule() {
    let mut r = Rng(0x5eed_1234_abcd_0001);
    for round in 0..40 {
        let text: Vec<String> = (0..60).map(|i| random_rule(&mut r, i + 1)).collect();
        let text = text.join("\n");
        let (rs, rep) = set(&text);
        assert!(rep.errors.is_empty(), "{:?}", rep.errors);
        for _ in 0..30 {
            let len = r.below(24) as usize;
            let payload = r.word(b"abcABx. ", len);
            let mut p = pkt(&payload);
            p.ip_proto = 17;
            let mut d = Detector::new(rs.clone());
            let mut out = Vec::new();
            d.inspect_packet(&p, None, None, &mut out);
            let mut with: Vec<u32> = out.iter().map(|m| m.rule.0).collect();
            with.sort();
            // Without the prefilter: every rule's full program.
            let mut without = Vec::new();
            for (id, rule) in rs.rules() {
                let ok = match rule.det.bufs.first() {
                    Some(b) => b.matches(&payload).is_some(),
                    None => true,
                };
                if ok {
                    without.push(id.0);
                }
            }
            assert_eq!(
                with,
                without,
                "round {round}, payload {:?}",
                String::from_utf8_lossy(&payload)
            );
        }
    }
}

// ---------------------------------------------------------------- hostile input

#[test]
fn mutated_rule_text_never_panics() {
    let seeds = [
        r#"alert tcp $HOME_NET any -> $EXTERNAL_NET [80,8080:8090] (msg:"x\;y"; flow:established,to_server; content:"|41 42|abc"; nocase; offset:1; depth:10; content:"d"; distance:0; within:5; pcre:"/a(?=b)\d+/Ri"; byte_test:2,>,3,0,relative,little; byte_jump:1,0,relative,align,post_offset 2; isdataat:!3,relative; flowbits:set,a; threshold: type limit, track by_src, count 1, seconds 60; sid:1; rev:2;)"#,
        r#"alert http any any -> any any (http.uri; content:"/a"; bsize:>2; http.header; content:"H"; file.data; content:"F"; fast_pattern:0,1; sid:2;)"#,
        "alert dns any any -> any 53 ( \\\nmsg:\"m\"; \\\ncontent:\"|04|ddns|03|net|00|\"; sid:3;)",
    ];
    let mut r = Rng(0xdead_beef_0000_0042);
    let alphabet = b"\\;:\"|()[]!,$-<>/ aZ09\n";
    for i in 0..3000 {
        let mut t = seeds[i % seeds.len()].as_bytes().to_vec();
        for _ in 0..=r.below(6) {
            let at = r.below(t.len() as u64 + 1) as usize;
            match r.below(3) {
                0 if at < t.len() => {
                    t.remove(at);
                }
                1 => t.insert(at, alphabet[r.below(alphabet.len() as u64) as usize]),
                _ if at < t.len() => t[at] = r.next() as u8,
                _ => {}
            }
        }
        let text = String::from_utf8_lossy(&t);
        let (rs, _) = set(&text);
        let mut d = Detector::new(rs.clone());
        let payload = r.word(b"abcdABCD\x00\xff/", 40);
        let mut p = pkt(&payload);
        p.flow = flow_info(true, Some("HTTP"));
        let mut fr = FlowRules::default();
        let mut out = Vec::new();
        d.inspect_packet(&p, Some(&payload), Some(&mut fr), &mut out);
        let b = Bufs::default().with(BufferKind::HttpUri, true, &payload);
        d.inspect_tx(&p, 0, &b, &mut fr, &mut out);
        let fv = FileView {
            data: &payload,
            ..Default::default()
        };
        d.inspect_file(&p, &fv, Some(&b), &mut fr, &mut out);
    }
}

#[test]
fn vars_change_the_header() {
    let mut v = Vars::default();
    v.set("HOME_NET", "[10.0.0.1]").unwrap();
    v.set("HTTP_PORTS", "[80,8080]").unwrap();
    let (rs, rep) = RuleSet::parse_str(
        "alert tcp $HOME_NET any -> $EXTERNAL_NET $HTTP_PORTS (sid:1;)",
        "v.rules",
        None,
        &v,
    );
    assert!(rep.errors.is_empty());
    let rs = Arc::new(rs);
    let mut p = pkt(b"");
    p.dst_port = Some(8080);
    assert_eq!(sids(&rs, &p), vec![1]);
    p.src = ip("10.0.0.3");
    assert!(sids(&rs, &p).is_empty());
    // An unknown variable is a syntax error at its column.
    let (_, rep) = set("alert tcp $NOPE any -> any any (sid:1;)");
    assert_eq!((rep.errors[0].line, rep.errors[0].col), (1, 11));
}

#[test]
fn fast_pattern_forms_and_accepted_keywords() {
    // The fast pattern may be the shorter content, a slice, or `only`; the
    // rule still needs all its contents.
    let r = r#"alert tcp any any -> any any (content:"ab"; fast_pattern; content:"longer-string"; sid:1;)"#;
    assert!(fires(r, b"ab longer-string"));
    assert!(!fires(r, b"ab longer-strin"));
    let r = r#"alert tcp any any -> any any (content:"0123456789"; fast_pattern:2,3; sid:1;)"#;
    assert!(fires(r, b"xx0123456789"));
    assert!(!fires(r, b"234"));
    assert!(fires(
        r#"alert tcp any any -> any any (content:"evil"; fast_pattern:only; sid:1;)"#,
        b"an evil one"
    ));
    // A negated content is never the fast pattern.
    assert!(fires(
        r#"alert tcp any any -> any any (content:!"zzzzzzzz"; content:"a"; sid:1;)"#,
        b"a"
    ));
    // Accepted without effect.
    assert!(fires(
        r#"alert tcp any any -> any any (content:"a"; rawbytes; tag:session,5,packets; target:dest_ip; sid:1;)"#,
        b"a"
    ));
}

#[test]
fn shared_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<RuleSet>();
    send::<Detector>();
    send::<FlowRules>();
    assert_eq!(
        std::mem::size_of::<FlowRules>(),
        std::mem::size_of::<usize>()
    );
}

#[test]
fn pruned_chain_search_agrees_with_exhaustive_search() {
    // Random relative chains (distance, within, negations, isdataat,
    // byte_test) over random buffers: skipping retries that cannot help
    // changes no result.
    let mut r = Rng(0x00dd_ba11_0000_7777);
    for _ in 0..3000 {
        let mut opts = String::new();
        for _ in 0..=r.below(4) {
            let n = 1 + r.below(2) as usize;
            let w: String = r.word(b"ab", n).iter().map(|&c| c as char).collect();
            let neg = if r.below(5) == 0 { "!" } else { "" };
            opts.push_str(&format!("content:{neg}\"{w}\"; "));
            match r.below(6) {
                0 => opts.push_str(&format!("distance:{}; ", r.below(3))),
                1 => opts.push_str(&format!("within:{}; ", 2 + r.below(3))),
                2 => opts.push_str(&format!(
                    "distance:{}; within:{}; ",
                    r.below(2),
                    2 + r.below(2)
                )),
                3 => opts.push_str(&format!("isdataat:{},relative; ", r.below(3))),
                4 => opts.push_str("byte_test:1,=,98,0,relative; "),
                _ => {}
            }
        }
        let rule = format!("alert udp any any -> any any ({opts}sid:1;)");
        let (rs, rep) = set(&rule);
        if !rep.errors.is_empty() {
            continue;
        }
        let parts = &rs.rule(RuleId(0)).det.bufs[0].parts;
        for _ in 0..10 {
            let len = r.below(14) as usize;
            let hay = r.word(b"abx", len);
            assert_eq!(
                crate::matcher::match_parts(parts, &hay).is_some(),
                crate::matcher::match_parts_exhaustive(parts, &hay).is_some(),
                "{rule} on {:?}",
                String::from_utf8_lossy(&hay)
            );
        }
    }
}

#[test]
fn huge_rules_are_bounded() {
    // Thousands of contents: skipped, not a deep recursion.
    let many = "content:\"a\"; distance:0; ".repeat(5000);
    let (rs, rep) = set(&format!("alert tcp any any -> any any ({many}sid:1;)"));
    assert_eq!(rs.len(), 0);
    assert_eq!(rep.skipped[0].sid, Some(1));
    // 200 relative contents still run, within the step budget.
    let some = "content:\"a\"; distance:0; ".repeat(200);
    let rs = clean(&format!("alert tcp any any -> any any ({some}sid:1;)"));
    let hay = vec![b'a'; 199];
    assert!(sids(&rs, &pkt(&hay)).is_empty());
    assert_eq!(sids(&rs, &pkt(&[b'a'; 200])), vec![1]);
}

#[test]
fn long_buffers_with_unbounded_relative_contents_stay_fast() {
    // Every "a" is a candidate for the first content; the second has no
    // `within`, so one failed search settles it.
    let hay = vec![b'a'; 1 << 20];
    let rs =
        clean(r#"alert tcp any any -> any any (content:"a"; content:"b"; distance:0; sid:1;)"#);
    let t = std::time::Instant::now();
    for _ in 0..20 {
        assert!(sids(&rs, &pkt(&hay)).is_empty());
    }
    assert!(
        t.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn flow_end_flush_sees_stream_rules_only() {
    // Stream bytes still waiting when a flow ends are inspected once more,
    // on no real packet: a header-only rule must not count it as a packet.
    let rs = clean(
        "alert tcp any any -> any any (msg:\"every packet\"; sid:1;)\n\
         alert tcp any any -> any any (msg:\"stream\"; content:\"QUIT\"; sid:2;)\n\
         alert tcp any any -> any any (msg:\"packet payload\"; content:\"QUIT\"; flow:no_stream; sid:3;)\n",
    );
    let mut d = Detector::new(rs.clone());
    let mut fr = FlowRules::default();
    let mut p = pkt(b"");
    p.flow = flow_info(true, None);
    let mut out = Vec::new();
    d.inspect_stream_end(&p, b"DATA\r\nQUIT\r\n", &mut fr, &mut out);
    let got: Vec<u32> = out.iter().map(|m| rs.rule(m.rule).sid).collect();
    assert_eq!(got, vec![2]);
    assert_eq!(out[0].buffer, "stream");
}

#[test]
fn transforms() {
    // ET's domain rules: `dotprefix` so ".evil.com" matches the domain and
    // its subdomains, not "notevil.com".
    let rs = clean(
        "alert dns any any -> any any (dns.query; dotprefix; content:\".evil.com\"; endswith; sid:1;)\n\
         alert tls any any -> any any (tls.sni; to_lowercase; content:\"mixed.example\"; sid:2;)\n\
         alert http any any -> any any (http.uri; url_decode; content:\"/a b/<script>\"; sid:3;)\n\
         alert http any any -> any any (http.user_agent; strip_whitespace; content:\"EvilBot/1.0\"; sid:4;)\n\
         alert http any any -> any any (http.header; compress_whitespace; content:\"X-A: b c\"; sid:5;)\n\
         alert http any any -> any any (http.host; to_uppercase; content:\"HOST\"; sid:6;)\n",
    );
    let q = |name: &'static [u8]| Bufs::default().with(BufferKind::DnsQuery, true, name);
    assert_eq!(tx_sids(&rs, &q(b"evil.com"), Some("DNS")), vec![1]);
    assert_eq!(tx_sids(&rs, &q(b"www.evil.com"), Some("DNS")), vec![1]);
    assert!(tx_sids(&rs, &q(b"notevil.com"), Some("DNS")).is_empty());
    let b = Bufs::default().with(BufferKind::TlsSni, true, b"MiXeD.Example");
    assert_eq!(tx_sids(&rs, &b, Some("TLS")), vec![2]);
    let b = Bufs::default()
        .with(BufferKind::HttpUri, true, b"/a+b/%3cscript%3E")
        .with(BufferKind::HttpUserAgent, true, b"Evil Bot/ 1.0")
        .with(BufferKind::HttpHeader, true, b"X-A:  b \t c\r\n")
        .with(BufferKind::HttpHost, true, b"host");
    assert_eq!(tx_sids(&rs, &b, Some("HTTP")), vec![3, 4, 5, 6]);
    // Misplaced or unsupported transforms.
    let (_, rep) = set("alert http any any -> any any (content:\"a\"; dotprefix; sid:1;)\nalert http any any -> any any (http.uri; content:\"a\"; to_lowercase; sid:2;)\nalert http any any -> any any (http.uri; to_md5; content:\"a\"; sid:3;)");
    assert_eq!(rep.errors.len(), 2);
    assert_eq!(rep.skipped[0].keyword, "to_md5");
}

#[test]
fn byte_extract_variables() {
    let f =
        |rule: &str, p: &[u8]| fires(&format!("alert tcp any any -> any any ({rule} sid:1;)"), p);
    // A length byte, then that many bytes, then "X".
    let r = r#"byte_extract:1,0,len; content:"X"; distance:len; within:1;"#;
    assert!(f(r, b"\x03abcX"));
    assert!(!f(r, b"\x02abcX"));
    assert!(f(r#"byte_extract:1,0,v; byte_test:1,=,v,1;"#, b"\x05\x05"));
    assert!(!f(r#"byte_extract:1,0,v; byte_test:1,=,v,1;"#, b"\x05\x06"));
    assert!(f(r#"byte_extract:1,0,n; isdataat:n,relative;"#, b"\x02ab"));
    assert!(!f(r#"byte_extract:1,0,n; isdataat:n,relative;"#, b"\x03ab"));
    assert!(f(
        r#"byte_extract:1,0,o; byte_jump:1,o; content:"X"; within:1;"#,
        b"\x01\x02abX"
    ));
    // Relative, string, multiplier, align.
    assert!(f(
        r#"content:"LEN="; byte_extract:2,0,n,relative,string,dec,multiplier 2; content:"X"; distance:n; within:1;"#,
        b"LEN=02abcdX"
    ));
    assert!(f(
        r#"byte_extract:1,0,n,align 4; content:"X"; distance:n; within:1;"#,
        b"\x03abcdX"
    ));
    assert!(f(
        r#"byte_extract:2,0,n,little; content:"X"; offset:n; depth:1;"#,
        b"\x03\x00aX"
    ));
    // Unknown variable: a syntax error; used in another buffer: skipped.
    let (_, rep) = set("alert tcp any any -> any any (content:\"a\"; distance:nope; sid:1;)\n\
                        alert http any any -> any any (http.uri; byte_extract:1,0,v; http.header; content:\"a\"; offset:v; sid:2;)");
    assert_eq!(rep.errors.len(), 1);
    assert_eq!(rep.skipped[0].sid, Some(2));
    assert_eq!(rep.skipped[0].keyword, "byte_extract");
}

#[test]
fn ip_only_rules_fire_once_per_flow_direction() {
    // bug-6402-01: "all TCP" fires twice over a 12-packet TCP session (the
    // first packet of each direction), `ip_proto`/`flags` rules on every
    // packet; outside a flow, IP-only rules see every packet.
    let rs = clean(
        "alert tcp any any -> any any (msg:\"all TCP\"; sid:5553;)\n\
         alert ip any any -> any any (ip_proto:6; sid:5555;)\n\
         alert ip any any -> any any (flowbits:set,x; sid:7;)\n\
         alert tcp any any -> any 80 (sid:8;)\n",
    );
    let mut d = Detector::new(rs.clone());
    let mut fr = FlowRules::default();
    let mut counts: HashMap<u32, usize> = HashMap::new();
    for i in 0..12 {
        let mut p = pkt(b"");
        let to_server = i % 2 == 0;
        if !to_server {
            p.src = ip("10.0.0.2");
            p.dst = ip("10.0.0.1");
            p.src_port = Some(80);
            p.dst_port = Some(40000);
        }
        p.flow = Some(FlowInfo {
            to_server,
            established: i > 2,
            app_proto: None,
        });
        let mut out = Vec::new();
        d.inspect_packet(&p, None, Some(&mut fr), &mut out);
        for m in out {
            *counts.entry(rs.rule(m.rule).sid).or_insert(0) += 1;
        }
    }
    assert_eq!(counts[&5553], 2);
    assert_eq!(counts[&5555], 12);
    assert_eq!(counts[&7], 2);
    // A port makes a rule a packet rule.
    assert_eq!(counts[&8], 6);
    assert_eq!(sids(&rs, &pkt(b"")), vec![7, 8, 5553, 5555]);
    assert_eq!(sids(&rs, &pkt(b"")), vec![7, 8, 5553, 5555]);
}
