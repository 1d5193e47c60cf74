//! HTTP_Proxy: HTTP/1.x requests addressed to a proxy, identified from the
//! request line (RFC 9112 §3.2).
//!
//! * absolute-form (RFC 9112 §3.2.2): "When making a request to a proxy,
//!   other than a CONNECT or server-wide OPTIONS request (as detailed
//!   below), a client MUST send the target URI in absolute-form as the
//!   request-target." e.g. `GET http://www.example.org/pub/WWW/ HTTP/1.1`.
//! * authority-form (RFC 9112 §3.2.3): "The authority-form of
//!   request-target is only used for CONNECT requests", e.g.
//!   `CONNECT www.example.com:80 HTTP/1.1`.
//!
//! nDPI labels the absolute-form `HTTP_Proxy` (its http.c looks for a
//! request-target starting with "http://"); it labels CONNECT
//! `HTTP_Connect`, a protocol netsift does not have, so CONNECT is claimed
//! here too (the nDPI corpus holds no CONNECT request). Requests with an
//! origin-form target (`GET / HTTP/1.1`) are left to the HTTP probe, which
//! runs after this one.

use netsift_proto::{printable, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// HTTP_Proxy.
pub struct HttpProxy;

/// RFC 9112 §3: "It is RECOMMENDED that all HTTP senders and recipients
/// support, at a minimum, request-line lengths of 8000 octets."
const MAX_LINE: usize = 8000;

/// Methods (RFC 9110 §9.3, PATCH RFC 5789, the common WebDAV ones RFC 4918
/// §9) a client sends through a forward proxy.
const METHODS: &[&[u8]] = &[
    b"GET",
    b"HEAD",
    b"POST",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"TRACE",
    b"PATCH",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
];

/// URI schemes a forward proxy is asked for (RFC 3986 §3.1: "schemes are
/// case-insensitive"). Squid and others also proxy ftp://.
const SCHEMES: &[&[u8]] = &[b"http://", b"https://", b"ftp://"];

impl Protocol for HttpProxy {
    fn name(&self) -> &'static str {
        "HTTP_Proxy"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[3128, 8080, 8118]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        // Only a client sends a request line.
        if input.dir != netsift_proto::Direction::ToServer {
            return Probe::NoMatch;
        }
        request_line(input.data)
    }
}

/// `a` is a prefix of `b` or `b` of `a`, case-insensitively when `ci`.
fn compatible(a: &[u8], b: &[u8], ci: bool) -> bool {
    let n = a.len().min(b.len());
    if ci {
        a[..n].eq_ignore_ascii_case(&b[..n])
    } else {
        a[..n] == b[..n]
    }
}

fn request_line(d: &[u8]) -> Probe {
    if d.is_empty() {
        return Probe::NeedMore;
    }
    // RFC 9112 §3: "request-line = method SP request-target SP HTTP-version".
    let sp1 = d.iter().take(17).position(|&b| b == b' ');
    let Some(sp1) = sp1 else {
        let head = &d[..d.len().min(17)];
        let could_be = METHODS.iter().chain([&&b"CONNECT"[..]]).any(|m| {
            let n = head.len().min(m.len());
            head[..n] == m[..n]
        });
        return if could_be && d.len() < 17 {
            Probe::NeedMore
        } else {
            Probe::NoMatch
        };
    };
    let method = &d[..sp1];
    let connect = method == b"CONNECT";
    if !connect && !METHODS.contains(&method) {
        return Probe::NoMatch;
    }
    let rest = &d[sp1 + 1..];
    if !connect {
        // absolute-form: the target starts with a scheme and "//".
        let ok = SCHEMES.iter().any(|s| compatible(rest, s, true));
        if !ok {
            return Probe::NoMatch;
        }
    }
    let window = &rest[..rest.len().min(MAX_LINE)];
    let Some(eol) = window.iter().position(|&b| b == b'\r' || b == b'\n') else {
        if window.len() < MAX_LINE
            && window
                .iter()
                .all(|&b| (0x21..0x7f).contains(&b) || b == b' ')
        {
            return Probe::NeedMore;
        }
        return Probe::NoMatch;
    };
    let line = &window[..eol];
    // request-target and HTTP-version, separated by one SP.
    let Some(sp2) = line.iter().rposition(|&b| b == b' ') else {
        return Probe::NoMatch;
    };
    let target = &line[..sp2];
    let version = &line[sp2 + 1..];
    // RFC 9112 §2.3: "HTTP-version = HTTP-name "/" DIGIT "." DIGIT",
    // HTTP-name is case-sensitive "HTTP"; proxies see 1.0 and 1.1.
    if version.len() != 8 || !version.starts_with(b"HTTP/1.") || !version[7].is_ascii_digit() {
        return Probe::NoMatch;
    }
    if target.is_empty() || !target.iter().all(|&b| (0x21..0x7f).contains(&b)) {
        return Probe::NoMatch;
    }
    if connect {
        // RFC 9112 §3.2.3: "authority-form = uri-host ":" port"; RFC 9110
        // §9.3.6: "There is no default port; a client MUST send the port
        // number even if the CONNECT request is based on a URI reference
        // that contains an authority component with an elided port".
        let Some(colon) = target.iter().rposition(|&b| b == b':') else {
            return Probe::NoMatch;
        };
        let host = &target[..colon];
        let port = &target[colon + 1..];
        let port_ok = !port.is_empty() && port.len() <= 5 && port.iter().all(u8::is_ascii_digit);
        if host.is_empty() || !port_ok || host.contains(&b'/') {
            return Probe::NoMatch;
        }
        return Probe::Match(Match::new(format!(
            "client sent 'CONNECT {} {}' (tunnel through a proxy)",
            printable(target, 100),
            printable(version, 8)
        )));
    }
    // absolute-URI: "scheme://" then a non-empty authority.
    let Some(sl) = target.windows(3).position(|w| w == b"://") else {
        return Probe::NoMatch;
    };
    let authority = target.get(sl + 3..).unwrap_or(&[]);
    let host_end = authority
        .iter()
        .position(|&b| b == b'/' || b == b'?')
        .unwrap_or(authority.len());
    if host_end == 0 {
        return Probe::NoMatch;
    }
    Probe::Match(Match::new(format!(
        "client sent '{} {} {}' (absolute-URI, to a proxy)",
        printable(method, 16),
        printable(target, 100),
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
    const POST_ABS: &[u8] = include_bytes!("testdata/post_absolute_uri.bin");
    const CONNECT: &[u8] = include_bytes!("testdata/tinyproxy_connect.bin");
    const GET_ABS: &[u8] = include_bytes!("testdata/tinyproxy_get_abs.bin");
    const GET: &[u8] = include_bytes!("../http/testdata/get.bin");
    const RTSP: &[u8] = include_bytes!("../http/testdata/rtsp_setup.bin");

    #[test]
    fn corpus_absolute_uri_post() {
        // KakaoTalk_talk.pcap: nDPI says HTTP_Proxy (app QQ).
        let e = evidence(run(&HttpProxy, TCP, C, POST_ABS, b""));
        assert!(
            e.starts_with("client sent 'POST http://hkminorshort.weixin.qq.com/cgi-bin/"),
            "{e}"
        );
    }

    #[test]
    fn real_proxy_client_requests() {
        let e = evidence(run(&HttpProxy, TCP, C, CONNECT, b""));
        assert_eq!(
            e,
            "client sent 'CONNECT 127.0.0.1:8443 HTTP/1.1' (tunnel through a proxy)"
        );
        let e = evidence(run(&HttpProxy, TCP, C, GET_ABS, b""));
        assert!(e.starts_with("client sent 'GET http://127.0.0.1:"), "{e}");
    }

    #[test]
    fn variants() {
        let m = |d: &[u8]| matches!(run(&HttpProxy, TCP, C, d, b""), Probe::Match(_));
        assert!(m(b"CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: x\r\n\r\n"));
        assert!(m(b"CONNECT www.example.com:443 HTTP/1.0\r\n\r\n"));
        assert!(m(b"GET HTTP://Example.ORG/ HTTP/1.1\r\n"));
        assert!(m(b"GET ftp://ftp.example.org/pub/ HTTP/1.0\n"));
        // CONNECT needs a port; absolute-form needs a host.
        assert!(!m(b"CONNECT www.example.com HTTP/1.1\r\n"));
        assert!(!m(b"CONNECT www.example.com:https HTTP/1.1\r\n"));
        assert!(!m(b"GET http:/// HTTP/1.1\r\n"));
        assert!(!m(b"GET http://x/ RTSP/1.0\r\n"));
        assert!(!m(b"GET http://x/ HTTP/2.0\r\n"));
    }

    #[test]
    fn plain_http_is_left_to_http() {
        assert_eq!(run(&HttpProxy, TCP, C, GET, b""), Probe::NoMatch);
        assert_eq!(run(&HttpProxy, TCP, C, RTSP, b""), Probe::NoMatch);
        assert_eq!(run(&HttpProxy, TCP, S, POST_ABS, b""), Probe::NoMatch);
        foreign_never_match(&HttpProxy, TCP);
    }

    #[test]
    fn prefixes_are_consistent() {
        for d in [POST_ABS, CONNECT, GET_ABS, GET] {
            check_prefixes(&HttpProxy, TCP, C, d, b"");
        }
    }

    #[test]
    fn first_packet_api_on_odd_port() {
        for d in [POST_ABS, CONNECT] {
            match identify_first_payload(TCP, C, 22, d) {
                FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "HTTP_Proxy"),
                v => panic!("{v:?}"),
            }
        }
    }

    #[test]
    fn random_bytes_are_not_http_proxy() {
        let hits = random_matches(&HttpProxy, TCP, 100_000, 0x9e11, None);
        assert!(hits < 100, "{hits} random matches");
    }
}
