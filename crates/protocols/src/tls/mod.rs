//! TLS (and SSL 3.0 / SSLv2-compatible hellos), identified from the
//! record layer and the first handshake message.
//!
//! * Client side: a handshake record (RFC 8446 §5.1) carrying a
//!   ClientHello (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2). SNI (RFC 6066 §3)
//!   and ALPN (RFC 7301) are extracted into the evidence once the whole
//!   hello is in the stream prefix; until then the probe answers NeedMore,
//!   unless the hello cannot complete in this prefix (the server already
//!   answered, several segments came without completing it, or 16 KiB
//!   passed), in which case it matches without SNI.
//! * The SSLv2-compatible CLIENT-HELLO of old clients (RFC 5246 App. E.2).
//! * Server side seen first: a ServerHello.
//! * Mid-stream pickup: a run of consistent record headers (application
//!   data, alerts, change_cipher_spec, encrypted handshake).
//!
//! `app` is the service the SNI belongs to ([`crate::apps`]); without one,
//! `HTTP2` when the client's ALPN list starts with `h2` (RFC 7540 §3.3).

pub(crate) mod cert;
pub(crate) mod ciphers;
pub(crate) mod ja;
pub(crate) mod parse;
pub mod record;
pub(crate) mod session;

use netsift_proto::{
    printable, Direction, Match, Parser, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

use parse::{HelloInfo, HelloKind, Proxy, Ssl2, Walk};

/// TLS.
pub struct Tls;

/// Stop waiting for the rest of a ClientHello once the prefix is this long.
const HELLO_WAIT_LIMIT: usize = 16 * 1024;

/// Largest hello accepted: extensions<8..2^16-1> plus the fixed fields.
const MAX_HELLO: usize = (1 << 16) + 512;

impl Protocol for Tls {
    fn name(&self) -> &'static str {
        "TLS"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[443, 8443, 993, 995, 465, 636, 853, 5061]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        // A ClientHello of Tor's shape (random www.<base32>.com SNI, no
        // ALPN) is Tor's or TLS's depending on the records that follow:
        // wait while the Tor probe (before this one in `ALL`) waits.
        if crate::tor::awaiting(input) {
            return Probe::NeedMore;
        }
        let d = input.data;
        let Some(&b0) = d.first() else {
            return Probe::NeedMore;
        };
        if b0 == b'P' || b0 == b'\r' {
            match parse::proxy_header(d) {
                Proxy::NeedMore => return Probe::NeedMore,
                Proxy::Skip(n) => {
                    let inner = ProbeInput {
                        data: d.get(n..).unwrap_or(&[]),
                        ..*input
                    };
                    return match records(&inner) {
                        Probe::Match(m) => Probe::Match(Match {
                            evidence: format!("{} (after a PROXY protocol header)", m.evidence),
                            ..m
                        }),
                        other => other,
                    };
                }
                Proxy::Absent => {}
            }
        }
        records(input)
    }
    fn parser(&self) -> Option<Box<dyn Parser>> {
        Some(Box::new(session::TlsParser::new()))
    }
}

/// The probe proper, on data that starts with TLS (no PROXY header).
fn records(input: &ProbeInput<'_>) -> Probe {
    let d = input.data;
    let Some(&b0) = d.first() else {
        return Probe::NeedMore;
    };
    if b0 == parse::CT_HANDSHAKE {
        return handshake(input);
    }
    if b0 & 0x80 != 0 {
        return match parse::sslv2_client_hello(d) {
            Ssl2::Hello(v) => Probe::Match(Match::new(format!(
                "{} SSLv2-compatible ClientHello offering {}",
                who(input.dir),
                parse::version_name(v)
            ))),
            Ssl2::NeedMore => Probe::NeedMore,
            Ssl2::No => Probe::NoMatch,
        };
    }
    mid_stream(input)
}

fn who(dir: Direction) -> &'static str {
    match dir {
        Direction::ToServer => "client sent",
        Direction::ToClient => "server sent",
    }
}

/// A flow picked up after its handshake: consistent record headers.
fn mid_stream(input: &ProbeInput<'_>) -> Probe {
    match parse::walk_records(input.data) {
        Walk::Records {
            n,
            version,
            content_type,
        } => {
            let what = match content_type {
                parse::CT_CHANGE_CIPHER_SPEC => "change_cipher_spec",
                parse::CT_ALERT => "alert",
                parse::CT_HANDSHAKE => "encrypted handshake",
                _ => "application_data",
            };
            Probe::Match(Match::new(format!(
                "{} {n} consistent {} record{}, first {what} (mid-stream)",
                who(input.dir),
                parse::version_name(version),
                if n == 1 { "" } else { "s" }
            )))
        }
        Walk::NeedMore => Probe::NeedMore,
        Walk::No => Probe::NoMatch,
    }
}

fn handshake(input: &ProbeInput<'_>) -> Probe {
    let d = input.data;
    let h = match parse::record_header(d) {
        None => return Probe::NeedMore,
        Some(Err(())) => return Probe::NoMatch,
        Some(Ok(h)) => h,
    };
    // RFC 8446 §4: Handshake { HandshakeType msg_type; uint24 length; ... }
    // client_hello(1), server_hello(2).
    let Some(&msg_type) = d.get(5) else {
        return Probe::NeedMore;
    };
    let kind = match msg_type {
        1 => HelloKind::Client,
        2 => HelloKind::Server,
        // Another handshake message first: a mid-stream pickup (or an
        // encrypted Finished); judge by the record chain.
        _ => return mid_stream(input),
    };
    let Some(hs_len) = parse::be24(d, 6) else {
        return Probe::NeedMore;
    };
    // Smallest bodies: ClientHello 2+32+1+2+2+1+1 = 41 octets, ServerHello
    // 2+32+1+2+1 = 38 octets (RFC 8446 §4.1.2, §4.1.3).
    let min = if kind == HelloKind::Client { 41 } else { 38 };
    if hs_len < min || hs_len > MAX_HELLO {
        return Probe::NoMatch;
    }
    // legacy_version: 3.x (0x0303 for TLS 1.3, RFC 8446 §4.1.2).
    if d.get(9).is_some_and(|&m| m != 3) || d.get(10).is_some_and(|&m| m > 4) {
        return Probe::NoMatch;
    }
    if d.len() < 11 {
        return Probe::NeedMore;
    }
    let body_in_record = hs_len.min(h.len.saturating_sub(4));
    let body = d.get(9..).unwrap_or(&[]);
    let body = body.get(..body_in_record).unwrap_or(body);
    let spans_records = 4 + hs_len > h.len;
    let parsed = parse::hello_body(kind, body, hs_len);
    let info = match parsed {
        Ok(info) if info.complete => info,
        Ok(info) => {
            let give_up = spans_records
                || !input.peer.is_empty()
                || input.index >= 2
                || d.len() >= HELLO_WAIT_LIMIT;
            if !give_up {
                return Probe::NeedMore;
            }
            return Probe::Match(hello_match(
                evidence(input.dir, kind, h.version, &info, "incomplete hello"),
                &info,
            ));
        }
        Err(()) => HelloInfo {
            hello_version: parse::be16(d, 9).unwrap_or(0),
            ..HelloInfo::default()
        },
    };
    let note = if parsed.is_err() {
        "malformed hello body"
    } else {
        ""
    };
    Probe::Match(hello_match(
        evidence(input.dir, kind, h.version, &info, note),
        &info,
    ))
}

/// The first protocol of an ALPN ProtocolNameList (RFC 7301 §3.1).
pub(crate) fn first_alpn(list: &[u8]) -> Option<&[u8]> {
    let l = *list.first()? as usize;
    list.get(1..1 + l)
}

/// The application a hello names: the SNI's service, else `HTTP2` when the
/// ALPN list starts with h2. Appends the reason to `ev`.
pub(crate) fn hello_match(mut ev: String, info: &HelloInfo<'_>) -> Match {
    let mut app = None;
    if let Some(svc) = info.sni.and_then(crate::apps::lookup) {
        ev.push_str(", service ");
        ev.push_str(svc);
        app = Some(svc);
    } else if info.alpn.and_then(first_alpn) == Some(b"h2") {
        ev.push_str(", no known service, ALPN h2 first: HTTP2");
        app = Some("HTTP2");
    }
    Match {
        app: app.map(str::to_owned),
        evidence: ev,
        provisional: false,
    }
}

fn evidence(
    dir: Direction,
    kind: HelloKind,
    record: u16,
    info: &HelloInfo<'_>,
    note: &str,
) -> String {
    let name = match kind {
        HelloKind::Client => "ClientHello",
        HelloKind::Server => "ServerHello",
    };
    let version = info.supported_max.unwrap_or(info.hello_version);
    let mut s = format!(
        "{} {name} {} (record {})",
        who(dir),
        parse::version_name(version),
        parse::version_name(record)
    );
    if let Some(sni) = info.sni {
        s.push_str(", SNI ");
        s.push_str(&printable(sni, 255));
    }
    if let Some(c) = info.cipher {
        s.push_str(&format!(", cipher 0x{c:04x}"));
    }
    if let Some(list) = info.alpn {
        s.push_str(", ALPN ");
        let mut p = 0;
        let mut first = true;
        while let Some(&l) = list.get(p) {
            let Some(proto) = list.get(p + 1..p + 1 + l as usize) else {
                break;
            };
            if !first {
                s.push(',');
            }
            first = false;
            s.push_str(&printable(proto, 32));
            p += 1 + l as usize;
        }
    }
    if !note.is_empty() {
        s.push_str(", ");
        s.push_str(note);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::first_packet::{identify_first_payload, FirstVerdict};
    use crate::testkit::{
        check_prefixes, evidence, probe1 as run, probe_at as run_full, random_matches,
    };

    const TCP: Transport = Transport::Tcp;
    const C: Direction = Direction::ToServer;
    const S: Direction = Direction::ToClient;

    // Sources: see testdata/README.md.
    const CH12: &[u8] = include_bytes!("testdata/ch_tls12.bin");
    const CH13: &[u8] = include_bytes!("testdata/ch_tls13.bin");
    const CH10: &[u8] = include_bytes!("testdata/ch_tls10.bin");
    const CH_SSL2: &[u8] = include_bytes!("testdata/ch_sslv2.bin");
    const CH_CHROME: &[u8] = include_bytes!("testdata/ch_chrome_alpn.bin");
    const SH12: &[u8] = include_bytes!("testdata/sh_tls12.bin");
    const CH_PARTIAL: &[u8] = include_bytes!("testdata/ch_partial.bin");
    const APPDATA: &[u8] = include_bytes!("testdata/appdata_mid.bin");
    const PROXY_CH: &[u8] = include_bytes!("testdata/proxy_v1_ch.bin");
    const BAD_CS_LEN: &[u8] = include_bytes!("testdata/ch_bad_cipher_len.bin");

    const HTTP_GET: &[u8] = include_bytes!("../http/testdata/get.bin");
    const SSH_BANNER: &[u8] = include_bytes!("../ssh/testdata/server_banner.bin");
    const SSH_KEX: &[u8] = include_bytes!("../ssh/testdata/kexinit.bin");
    const RDP_CR: &[u8] = include_bytes!("../rdp/testdata/x224_cr_cookie.bin");
    const TELNET: &[u8] = include_bytes!("../telnet/testdata/client_opts.bin");
    const QUIC_V1: &[u8] = include_bytes!("../quic/testdata/v1_initial.bin");

    #[test]
    fn client_hellos() {
        let e = evidence(run(&Tls, TCP, C, CH12));
        assert!(
            e.starts_with("client sent ClientHello TLS 1.2 (record TLS 1.0)"),
            "{e}"
        );
        let e = evidence(run(&Tls, TCP, C, CH13));
        assert!(e.contains("ClientHello TLS 1.3"), "{e}");
        let e = evidence(run(&Tls, TCP, C, CH10));
        assert!(
            e.contains("ClientHello TLS 1.0 (record TLS 1.0), SNI www.google.it"),
            "{e}"
        );
        let e = evidence(run(&Tls, TCP, C, CH_CHROME));
        assert!(e.contains("SNI www.iit.cnr.it"), "{e}");
        assert!(e.contains("ALPN h2,http/1.1"), "{e}");
        let e = evidence(run(&Tls, TCP, C, CH_SSL2));
        assert_eq!(
            e,
            "client sent SSLv2-compatible ClientHello offering TLS 1.0"
        );
    }

    #[test]
    fn app_from_sni() {
        match run(&Tls, TCP, C, CH12) {
            Probe::Match(m) => {
                assert_eq!(m.app.as_deref(), Some("GoogleServices"));
                assert!(
                    m.evidence.contains(", SNI notifications-pa.googleapis.com"),
                    "{}",
                    m.evidence
                );
                assert!(
                    m.evidence.contains("service GoogleServices"),
                    "{}",
                    m.evidence
                );
            }
            p => panic!("{p:?}"),
        }
        let app = |p: Probe| match p {
            Probe::Match(m) => m.app,
            p => panic!("{p:?}"),
        };
        assert_eq!(app(run(&Tls, TCP, C, CH13)).as_deref(), Some("Google"));
        assert_eq!(app(run(&Tls, TCP, C, CH10)).as_deref(), Some("Google"));
        // The partial hello still names the service from its early SNI.
        let m = run_full(&Tls, TCP, C, CH_PARTIAL, SH12, 1);
        assert_eq!(app(m).as_deref(), Some("YouTube"));
        // No service for www.iit.cnr.it; ALPN h2 first: HTTP2.
        let m = run(&Tls, TCP, C, CH_CHROME);
        let Probe::Match(m) = m else { panic!() };
        assert_eq!(m.app.as_deref(), Some("HTTP2"));
        assert!(m.evidence.contains("ALPN h2 first"), "{}", m.evidence);
        // A ServerHello has no SNI; this one selected h2.
        assert_eq!(app(run(&Tls, TCP, S, SH12)).as_deref(), Some("HTTP2"));
        // PROXY-wrapped hellos keep the app.
        let d = [
            b"PROXY TCP4 10.0.0.1 10.0.0.2 4000 443\r\n".as_slice(),
            CH12,
        ]
        .concat();
        let m = run(&Tls, TCP, C, &d);
        let Probe::Match(m) = m else { panic!() };
        assert!(m.evidence.ends_with("(after a PROXY protocol header)"));
        assert_eq!(m.app.as_deref(), Some("GoogleServices"));
    }

    #[test]
    fn first_alpn_is_bounded() {
        assert_eq!(first_alpn(b"\x02h2\x08http/1.1"), Some(&b"h2"[..]));
        assert_eq!(first_alpn(b"\x05h2"), None);
        assert_eq!(first_alpn(b""), None);
    }

    #[test]
    fn server_hello_first() {
        let e = evidence(run(&Tls, TCP, S, SH12));
        assert!(
            e.starts_with("server sent ServerHello TLS 1.2 (record TLS 1.2), cipher 0xc02b"),
            "{e}"
        );
    }

    #[test]
    fn incomplete_hello_waits_then_matches() {
        // 1024 of 1505 bytes; the rest was never captured.
        assert_eq!(run(&Tls, TCP, C, CH_PARTIAL), Probe::NeedMore);
        let e = evidence(run_full(&Tls, TCP, C, CH_PARTIAL, SH12, 1));
        assert!(e.contains("incomplete hello"), "{e}");
        let e = evidence(run_full(&Tls, TCP, C, CH_PARTIAL, &[], 2));
        assert!(e.starts_with("client sent ClientHello"), "{e}");
    }

    #[test]
    fn mid_stream_records() {
        let e = evidence(run(&Tls, TCP, C, APPDATA));
        assert!(e.contains("application_data (mid-stream)"), "{e}");
    }

    /// nDPI's one UltraSurf row (ultrasurf.pcap, 65.49.68.25:50053 ->
    /// client) is a TLS flow picked up mid-session from one direction: no
    /// SYN, no handshake, gaps in the sequence numbers, and the segments
    /// that happen to start at a record boundary show application_data
    /// headers `17 03 03 05 9a` (the other two flows to the same server
    /// and port are plain TLS, in nDPI too). nDPI's UltraSurf rule is the
    /// first eight bytes of that first captured segment (`cc 1c 30 41 5b
    /// a4 38 66`): ciphertext from inside a record, which no other session
    /// will repeat. The stream netsift sees starts inside a record, so
    /// neither TLS nor anything else can be said; the flow stays unnamed.
    #[test]
    fn ultrasurf_flow_is_tls_picked_up_inside_a_record() {
        const FIRST: &[u8] = include_bytes!("testdata/ultrasurf_first.bin");
        const RECORDS: &[u8] = include_bytes!("testdata/ultrasurf_records.bin");
        assert_eq!(run(&Tls, TCP, S, FIRST), Probe::NoMatch);
        // Where a segment starts at a record header, the records chain.
        let e = evidence(run(&Tls, TCP, S, RECORDS));
        assert!(e.contains("application_data (mid-stream)"), "{e}");
    }

    #[test]
    fn proxy_protocol_header_then_hello() {
        let e = evidence(run(&Tls, TCP, C, PROXY_CH));
        assert!(e.starts_with("client sent ClientHello"), "{e}");
        assert!(e.ends_with("(after a PROXY protocol header)"), "{e}");
        // PROXY v2 (binary signature, TCP over IPv4, 12 address bytes).
        let mut v2 = b"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c".to_vec();
        v2.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2, 0x1f, 0x90, 0x01, 0xbb]);
        v2.extend_from_slice(CH12);
        let e = evidence(run(&Tls, TCP, C, &v2));
        assert!(e.contains("ClientHello TLS 1.2"), "{e}");
        check_prefixes(&Tls, TCP, C, &v2, b"");
    }

    #[test]
    fn malformed_hello_is_still_tls() {
        // tls_cipher_lens.pcap: cipher_suites length runs past the message.
        let e = evidence(run(&Tls, TCP, C, BAD_CS_LEN));
        assert!(e.ends_with("malformed hello body"), "{e}");
    }

    #[test]
    fn other_protocols_are_not_tls() {
        for (d, dir) in [
            (HTTP_GET, C),
            (SSH_BANNER, S),
            (SSH_KEX, C),
            (RDP_CR, C),
            (TELNET, C),
            (QUIC_V1, C),
        ] {
            assert_eq!(
                run(&Tls, TCP, dir, d),
                Probe::NoMatch,
                "{}",
                printable(d, 20)
            );
        }
        // An HTTP response from the server.
        let resp = include_bytes!("../http/testdata/response_301.bin");
        assert_eq!(run(&Tls, TCP, S, resp), Probe::NoMatch);
    }

    #[test]
    fn prefixes_are_consistent() {
        for d in [
            CH12, CH13, CH10, CH_SSL2, CH_CHROME, CH_PARTIAL, APPDATA, PROXY_CH, BAD_CS_LEN,
        ] {
            check_prefixes(&Tls, TCP, C, d, b"");
        }
        check_prefixes(&Tls, TCP, S, SH12, b"");
    }

    #[test]
    fn first_packet_api_on_odd_port() {
        match identify_first_payload(TCP, C, 53, CH12) {
            FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "TLS"),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn random_bytes_are_rarely_tls() {
        let hits = random_matches(&Tls, TCP, 100_000, 0x7715, None);
        assert!(hits < 100, "{hits} random matches");
    }
}
