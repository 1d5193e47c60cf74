//! RTSP, identified from the first line of a request or a response
//! (RFC 2326 §6.1 / §7.1, RFC 7826 §8 / §20.2).
//!
//! * Request (RFC 2326 §6.1): "Request-Line = Method SP Request-URI SP
//!   RTSP-Version CRLF", methods from RFC 2326 §10 (OPTIONS, DESCRIBE,
//!   ANNOUNCE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER,
//!   REDIRECT, RECORD) and RFC 7826 §13 (PLAY_NOTIFY).
//! * Response (RFC 2326 §7.1): "Status-Line = RTSP-Version SP Status-Code
//!   SP Reason-Phrase CRLF".
//!
//! RFC 2326 §3.1: "RTSP-Version = "RTSP" "/" 1*DIGIT "." 1*DIGIT"; RTSP/1.0
//! and RTSP/2.0 (RFC 7826) exist. The version token tells RTSP apart from
//! HTTP and SIP, which share the line shape; this probe runs before HTTP.

use netsift_proto::{
    printable, Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// RTSP.
pub struct Rtsp;

/// Longest request line looked at (URIs are short in practice; RFC 7826
/// §20 does not bound them, HTTP recommends 8000 octets).
const MAX_LINE: usize = 4096;

/// RFC 2326 §6.1 "Method" and RFC 7826 §13 (PLAY_NOTIFY).
const METHODS: &[&[u8]] = &[
    b"OPTIONS",
    b"DESCRIBE",
    b"ANNOUNCE",
    b"SETUP",
    b"PLAY",
    b"PAUSE",
    b"TEARDOWN",
    b"GET_PARAMETER",
    b"SET_PARAMETER",
    b"REDIRECT",
    b"RECORD",
    b"PLAY_NOTIFY",
];

const VERSIONS: &[&[u8]] = &[b"RTSP/1.0", b"RTSP/2.0"];

impl Protocol for Rtsp {
    fn name(&self) -> &'static str {
        "RTSP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[554, 8554]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let d = input.data;
        if d.is_empty() {
            return Probe::NeedMore;
        }
        let resp = status_line(d);
        if matches!(resp, Probe::Match(_)) {
            return resp;
        }
        // Requests come from the client; a server may send requests too
        // (ANNOUNCE, SET_PARAMETER, RFC 2326 §10), but never first.
        let req = if input.dir == Direction::ToServer || !input.peer.is_empty() {
            request_line(d)
        } else {
            Probe::NoMatch
        };
        match (resp, req) {
            (_, Probe::Match(m)) => Probe::Match(m),
            (Probe::NeedMore, _) | (_, Probe::NeedMore) => Probe::NeedMore,
            _ => Probe::NoMatch,
        }
    }
}

/// `d` and `p` agree on their common length.
fn compatible(d: &[u8], p: &[u8]) -> bool {
    let n = d.len().min(p.len());
    d[..n] == p[..n]
}

/// "RTSP/1.0 200 OK" (RFC 2326 §7.1); Status-Code = 3DIGIT.
fn status_line(d: &[u8]) -> Probe {
    if !VERSIONS.iter().any(|v| compatible(d, v)) {
        return Probe::NoMatch;
    }
    if d.len() < 13 {
        return Probe::NeedMore;
    }
    let code = &d[9..12];
    if d[8] != b' ' || !code.iter().all(u8::is_ascii_digit) || !(b'1'..=b'5').contains(&code[0]) {
        return Probe::NoMatch;
    }
    if d[12] != b' ' && d[12] != b'\r' && d[12] != b'\n' {
        return Probe::NoMatch;
    }
    Probe::Match(Match::new(format!(
        "server sent '{} {}' status line",
        printable(&d[..8], 8),
        printable(code, 3)
    )))
}

/// "SETUP rtsp://host/track RTSP/1.0" (RFC 2326 §6.1).
fn request_line(d: &[u8]) -> Probe {
    let sp = d.iter().take(14).position(|&b| b == b' ');
    let Some(sp) = sp else {
        let could = d.len() < 14 && METHODS.iter().any(|m| compatible(d, m));
        return if could {
            Probe::NeedMore
        } else {
            Probe::NoMatch
        };
    };
    let method = &d[..sp];
    if !METHODS.contains(&method) {
        return Probe::NoMatch;
    }
    let rest = &d[sp + 1..];
    let window = &rest[..rest.len().min(MAX_LINE)];
    let Some(eol) = window.iter().position(|&b| b == b'\r' || b == b'\n') else {
        if window.len() < MAX_LINE && window.iter().all(|&b| (0x20..0x7f).contains(&b)) {
            return Probe::NeedMore;
        }
        return Probe::NoMatch;
    };
    let line = &window[..eol];
    let Some(sp2) = line.iter().rposition(|&b| b == b' ') else {
        return Probe::NoMatch;
    };
    let uri = &line[..sp2];
    let version = &line[sp2 + 1..];
    if !VERSIONS.contains(&version) {
        return Probe::NoMatch;
    }
    // RFC 2326 §3.2: "Request-URI = "*" | absolute_URI"; no spaces.
    if uri.is_empty() || !uri.iter().all(|&b| (0x21..0x7f).contains(&b)) {
        return Probe::NoMatch;
    }
    Probe::Match(Match::new(format!(
        "client sent '{} {} {}'",
        printable(method, 16),
        printable(uri, 80),
        printable(version, 8)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::first_packet::{identify_first_payload, FirstVerdict};
    use crate::testkit::{
        check_prefixes, evidence, foreign_never_match, random_matches, run, C, S,
    };

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const SETUP: &[u8] = include_bytes!("testdata/setup.bin");
    const OPTIONS: &[u8] = include_bytes!("testdata/options_ffmpeg.bin");
    const REPLY: &[u8] = include_bytes!("testdata/options_reply_ffmpeg.bin");
    const HTTP_GET: &[u8] = include_bytes!("../http/testdata/get.bin");

    #[test]
    fn requests_and_responses() {
        assert_eq!(
            evidence(run(&Rtsp, TCP, C, SETUP, b"")),
            "client sent 'SETUP rtsp://172.28.4.26:8554/trackID=88 RTSP/1.0'"
        );
        assert_eq!(
            evidence(run(&Rtsp, TCP, C, OPTIONS, b"")),
            "client sent 'OPTIONS rtsp://127.0.0.1:5672/live RTSP/1.0'"
        );
        assert_eq!(
            evidence(run(&Rtsp, TCP, S, REPLY, OPTIONS)),
            "server sent 'RTSP/1.0 200' status line"
        );
        assert_eq!(
            evidence(run(&Rtsp, TCP, S, REPLY, b"")),
            "server sent 'RTSP/1.0 200' status line"
        );
        let e = evidence(run(
            &Rtsp,
            TCP,
            C,
            b"OPTIONS * RTSP/2.0\r\nCSeq: 1\r\n\r\n",
            b"",
        ));
        assert_eq!(e, "client sent 'OPTIONS * RTSP/2.0'");
    }

    #[test]
    fn http_and_sip_are_not_rtsp() {
        assert_eq!(run(&Rtsp, TCP, C, HTTP_GET, b""), Probe::NoMatch);
        assert_eq!(
            run(&Rtsp, TCP, C, b"OPTIONS sip:a@b SIP/2.0\r\n", b""),
            Probe::NoMatch
        );
        assert_eq!(
            run(&Rtsp, TCP, C, b"PLAY rtsp://x RTSP/1.1\r\n", b""),
            Probe::NoMatch
        );
        assert_eq!(
            run(&Rtsp, TCP, S, b"RTSP/1.0 abc OK\r\n", b""),
            Probe::NoMatch
        );
        // A server does not open with a request.
        assert_eq!(run(&Rtsp, TCP, S, OPTIONS, b""), Probe::NoMatch);
        foreign_never_match(&Rtsp, TCP);
    }

    #[test]
    fn prefixes_are_consistent() {
        check_prefixes(&Rtsp, TCP, C, SETUP, b"");
        check_prefixes(&Rtsp, TCP, C, OPTIONS, b"");
        check_prefixes(&Rtsp, TCP, S, REPLY, OPTIONS);
        check_prefixes(&Rtsp, TCP, C, HTTP_GET, b"");
    }

    #[test]
    fn first_packet_api_on_odd_port() {
        match identify_first_payload(TCP, C, 80, OPTIONS) {
            FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "RTSP"),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn random_bytes_are_not_rtsp() {
        let hits = random_matches(&Rtsp, TCP, 100_000, 0x7257, None);
        assert!(hits < 100, "{hits} random matches");
    }
}
