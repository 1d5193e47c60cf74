//! HTTP/1.x over TCP, identified from the start line (RFC 9112 §3, §4).
//!
//! * Request: `method SP request-target SP HTTP-version CRLF` with a method
//!   from RFC 9110 §9, PATCH (RFC 5789), WebDAV (RFC 4918) and its
//!   extensions (DeltaV RFC 3253, ACL RFC 3744, CalDAV RFC 4791, SEARCH
//!   RFC 5323, BIND RFC 5842, ORDERPATCH RFC 3648).
//! * Response: `HTTP-version SP status-code SP [reason-phrase] CRLF`, for
//!   flows seen from the server side first or picked up mid-stream.
//!
//! * The HTTP/2 connection preface (RFC 9113 §3.4, "prior knowledge" h2c):
//!   app `HTTP2`.
//!
//! `app` is the Host's service ([`crate::apps`]); else `WebSocket` for a
//! WebSocket handshake (RFC 6455 §4.1: `Upgrade: websocket` and
//! `Connection: Upgrade`; §4.2.2: a 101 response with `Upgrade:
//! websocket`). An `Upgrade: h2c` request (RFC 7540 §3.2) is noted in the
//! evidence.
//!
//! The version token is checked exactly (`HTTP/1.` DIGIT), so RTSP
//! (`RTSP/1.0`) and SIP (`SIP/2.0`), which share the request-line shape,
//! are not claimed. SSDP runs over UDP and this probe is TCP-only.
//!
//! The parser (`session.rs`) writes the `http` log ([`record::HttpRecord`]):
//! one record per request/response pair, bodies carved as files of their
//! decoded bytes.

use crate::tls::parse::Proxy;

mod body;
mod headers;
pub mod record;
mod session;
use netsift_proto::{
    printable, Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// HTTP.
pub struct Http;

/// RFC 9112 §3: "It is RECOMMENDED that all HTTP senders and recipients
/// support, at a minimum, request-line lengths of 8000 octets."
const MAX_LINE: usize = 8000;

/// How far to look for a Host header after the request line.
const MAX_HEADER_SCAN: usize = 4096;

/// Request methods. RFC 9110 §9.1: "method = token"; the standard set is
/// GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE (§9.3).
const METHODS: &[&[u8]] = &[
    b"GET",
    b"HEAD",
    b"POST",
    b"PUT",
    b"DELETE",
    b"CONNECT",
    b"OPTIONS",
    b"TRACE",
    // RFC 5789.
    b"PATCH",
    // RFC 4918 §9 (WebDAV).
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    // RFC 3253 (DeltaV).
    b"REPORT",
    b"CHECKOUT",
    b"CHECKIN",
    b"UNCHECKOUT",
    b"MKWORKSPACE",
    b"UPDATE",
    b"LABEL",
    b"MERGE",
    b"VERSION-CONTROL",
    b"BASELINE-CONTROL",
    b"MKACTIVITY",
    // RFC 3744 (ACL), RFC 4791 (CalDAV), RFC 5323 (SEARCH),
    // RFC 5842 (BIND), RFC 3648 (ORDERPATCH).
    b"ACL",
    b"MKCALENDAR",
    b"SEARCH",
    b"BIND",
    b"UNBIND",
    b"REBIND",
    b"ORDERPATCH",
];

/// Longest method token accepted when it is not in [`METHODS`].
const MAX_METHOD: usize = 32;

/// RFC 9110 §5.6.2: `tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" /
/// "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A request line led by a method [`METHODS`] does not list: RFC 9110
/// §9.1 "method = token", and §16.1 lets anyone define one (QUERY,
/// WebDAV extensions, an application's own). Without the list to lean on,
/// the line must end with the HTTP-version (RFC 9112 §3: `method SP
/// request-target SP HTTP-version`). `Some(true)`: such a line;
/// `Some(false)`: not; `None`: no line end yet and still possible.
pub(crate) fn token_method_line(b: &[u8]) -> Option<bool> {
    let sp = b.iter().take(MAX_METHOD + 1).position(|&c| c == b' ');
    let Some(sp) = sp else {
        let all_t = b.iter().all(|&c| is_tchar(c));
        return if all_t && b.len() <= MAX_METHOD {
            None
        } else {
            Some(false)
        };
    };
    if sp == 0 || !b.get(..sp)?.iter().all(|&c| is_tchar(c)) {
        return Some(false);
    }
    // SSDP's search (UPnP Device Architecture 2.0 §1.3.2: "M-SEARCH * HTTP/1.1"
    // over UDP, HTTPMU) borrows the syntax but is not HTTP.
    if b.get(..sp) == Some(&b"M-SEARCH"[..]) {
        return Some(false);
    }
    let rest = b.get(sp + 1..)?;
    let window = rest.get(..rest.len().min(MAX_LINE)).unwrap_or(rest);
    let Some(eol) = window.iter().position(|&c| c == b'\r' || c == b'\n') else {
        let text = window.iter().all(|&c| (0x20..0x7f).contains(&c));
        return if text && rest.len() < MAX_LINE {
            None
        } else {
            Some(false)
        };
    };
    let line = window.get(..eol)?;
    let Some(vstart) = line.len().checked_sub(8) else {
        return Some(false);
    };
    let target = line.get(..vstart.saturating_sub(1))?;
    Some(
        vstart >= 2
            && line.get(vstart - 1) == Some(&b' ')
            && version(line.get(vstart..)?) == Some(true)
            && target.iter().all(|&c| (0x20..0x7f).contains(&c))
            && !target.iter().all(|&c| c == b' '),
    )
}

/// Methods no other text protocol this crate knows shares as a first
/// token (RTSP has OPTIONS, SIP has OPTIONS...), used only when a request
/// line is longer than [`MAX_LINE`].
const HTTP_ONLY_METHODS: &[&[u8]] = &[b"GET", b"POST", b"HEAD", b"PUT"];

impl Protocol for Http {
    fn name(&self) -> &'static str {
        "HTTP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[80, 8080, 8000, 8008, 8888, 3128]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let d = input.data;
        if d.is_empty() {
            return Probe::NeedMore;
        }
        if b"PROXY ".starts_with(&d[..d.len().min(6)]) || d.first() == Some(&b'\r') {
            // A HAProxy PROXY protocol header before the request.
            match crate::tls::parse::proxy_header(d) {
                Proxy::NeedMore => return Probe::NeedMore,
                Proxy::Skip(n) => {
                    let inner = ProbeInput {
                        data: d.get(n..).unwrap_or(&[]),
                        ..*input
                    };
                    return match start_line(&inner) {
                        Probe::Match(m) => Probe::Match(Match::new(format!(
                            "{} (after a PROXY protocol header)",
                            m.evidence
                        ))),
                        other => other,
                    };
                }
                Proxy::Absent => {}
            }
        }
        start_line(input)
    }
    fn parser(&self) -> Option<Box<dyn netsift_proto::Parser>> {
        Some(Box::new(session::HttpParser::new()))
    }
}

/// RFC 9113 §3.4: "the connection preface starts with the string
/// PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// A request line or a status line at the start of `input.data`.
fn start_line(input: &ProbeInput<'_>) -> Probe {
    let d = input.data;
    if d.starts_with(H2_PREFACE) {
        return Probe::Match(
            Match::new(format!(
                "{} the HTTP/2 connection preface (h2c with prior knowledge)",
                who(input.dir)
            ))
            .with_app("HTTP2"),
        );
    }
    if d.len() < H2_PREFACE.len() && H2_PREFACE.starts_with(d) {
        return Probe::NeedMore;
    }
    if d.starts_with(b"HTTP/") {
        return response(input);
    }
    if b"HTTP/".starts_with(d) {
        return Probe::NeedMore;
    }
    request(input)
}

/// `<who> '<line>'`, with room for what the evidence adds after it (one
/// allocation for a probe's whole evidence in the usual case).
fn quoted(dir: Direction, line: &[u8], max: usize) -> String {
    let mut ev = String::with_capacity(line.len().min(max) + 160);
    ev.push_str(who(dir));
    ev.push_str(" '");
    netsift_proto::push_printable(&mut ev, line, max);
    ev.push('\'');
    ev
}

fn who(dir: Direction) -> &'static str {
    match dir {
        Direction::ToServer => "client sent",
        Direction::ToClient => "server sent",
    }
}

/// RFC 9112 §2.3: `HTTP-version = HTTP-name "/" DIGIT "." DIGIT`,
/// `HTTP-name = %s"HTTP"`. Only 1.x has this text framing (HTTP/2 and 3
/// are binary; "PRI * HTTP/2.0" is the h2c preface, not HTTP/1).
/// Checks as much of `v` as there is: `Some(true)` complete and valid,
/// `Some(false)` impossible, `None` a valid prefix.
fn version(v: &[u8]) -> Option<bool> {
    const PAT: &[u8] = b"HTTP/1.";
    for (i, &b) in v.iter().enumerate().take(PAT.len()) {
        if b != PAT[i] {
            return Some(false);
        }
    }
    v.get(PAT.len()).map(|b| b.is_ascii_digit())
}

/// RFC 9112 §4: `status-line = HTTP-version SP status-code SP
/// [ reason-phrase ]`, `status-code = 3DIGIT` (RFC 9110 §15: 100..599).
fn response(input: &ProbeInput<'_>) -> Probe {
    let d = input.data;
    match version(d.get(..8).unwrap_or(d)) {
        Some(false) => return Probe::NoMatch,
        None => return Probe::NeedMore,
        Some(true) => {}
    }
    let rest = &d[8..];
    for (i, &b) in rest.iter().take(4).enumerate() {
        let ok = match i {
            0 => b == b' ',
            1 => (b'1'..=b'5').contains(&b),
            _ => b.is_ascii_digit(),
        };
        if !ok {
            return Probe::NoMatch;
        }
    }
    // After the code: SP reason-phrase, or (leniently, RFC 9112 §4) the
    // end of the line.
    match rest.get(4) {
        None => return Probe::NeedMore,
        Some(b' ' | b'\r' | b'\n') => {}
        Some(_) => return Probe::NoMatch,
    }
    let line = match netsift_proto::first_line(d, 512) {
        Some(l) => l,
        None if d.len() < 512 => {
            // reason-phrase = *( HTAB / SP / VCHAR / obs-text )
            if d.iter().skip(13).any(|&b| b < 0x20 && b != b'\t') {
                return Probe::NoMatch;
            }
            return Probe::NeedMore;
        }
        None => d.get(..13).unwrap_or(d),
    };
    let mut ev = quoted(input.dir, line, 80);
    let mut app = None;
    if d.get(9..12) == Some(b"101") {
        let headers = d.get(line.len()..).unwrap_or(&[]);
        if header(headers, b"upgrade").is_some_and(|v| has_token(v, b"websocket")) {
            ev.push_str(", WebSocket handshake accepted");
            app = Some("WebSocket");
        }
    }
    Probe::Match(Match {
        app: app.map(str::to_owned),
        evidence: ev,
        provisional: false,
    })
}

/// RFC 9112 §3: `request-line = method SP request-target SP HTTP-version`.
fn request(input: &ProbeInput<'_>) -> Probe {
    let d = input.data;
    // Method: a known token followed by SP.
    let sp = d.iter().take(20).position(|&b| b == b' ');
    let Some(sp) = sp else {
        // No SP yet: still plausible if a prefix of some method.
        let head = d.get(..d.len().min(20)).unwrap_or(d);
        if d.len() < 20 && METHODS.iter().any(|m| m.starts_with(head)) {
            return Probe::NeedMore;
        }
        return unlisted_method(input);
    };
    let method = &d[..sp];
    if !METHODS.contains(&method) {
        return unlisted_method(input);
    }
    // The rest of the line: request-target SP HTTP-version. RFC 9112 §3.2
    // targets are visible characters (no SP, CTL or non-ASCII), but attack
    // traffic ("GET /cgi-bin/x;cat /etc/passwd HTTP/1.0", "GET    /a") and
    // broken clients send spaces; like nDPI, accept any printable target
    // and anchor on the version token at the end of the line, which keeps
    // RTSP and SIP out.
    let rest = &d[sp + 1..];
    let window = rest.get(..rest.len().min(MAX_LINE)).unwrap_or(rest);
    let Some(eol) = window.iter().position(|&b| b == b'\r' || b == b'\n') else {
        if !window.iter().all(|&b| (0x20..0x7f).contains(&b)) {
            return Probe::NoMatch;
        }
        if d.len() >= MAX_LINE {
            if HTTP_ONLY_METHODS.contains(&method) && rest.first().is_some_and(|&b| b == b'/') {
                return Probe::Match(Match::new(format!(
                    "{} '{}' (request line over {MAX_LINE} octets)",
                    who(input.dir),
                    printable(d, 60)
                )));
            }
            return Probe::NoMatch;
        }
        return Probe::NeedMore;
    };
    let line_rest = &window[..eol];
    if let Some(p) = simple_request(input.dir, method, line_rest, &rest[eol..]) {
        return p;
    }
    // "request-target SP HTTP/1.x": at least one target byte.
    let Some(vstart) = line_rest.len().checked_sub(8) else {
        return Probe::NoMatch;
    };
    if version(&line_rest[vstart..]) != Some(true) || vstart < 2 || line_rest[vstart - 1] != b' ' {
        return Probe::NoMatch;
    }
    let target = &line_rest[..vstart - 1];
    if !target.iter().all(|&b| (0x20..0x7f).contains(&b)) || target.iter().all(|&b| b == b' ') {
        return Probe::NoMatch;
    }
    let clean = !target.contains(&b' ');
    let line_len = sp + 1 + eol;
    let line = &d[..line_len];
    let mut ev = quoted(input.dir, line, 120);
    if !clean {
        ev.push_str(" (spaces in request-target)");
    }
    let headers = &d[line_len..];
    let mut app = None;
    if let Some(host) = header(headers, b"host") {
        ev.push_str(", Host ");
        netsift_proto::push_printable(&mut ev, host, 100);
        if let Some(svc) = crate::apps::lookup(host) {
            ev.push_str(", service ");
            ev.push_str(svc);
            app = Some(svc);
        }
    }
    // group vendor: a Sonos player's UPnP/HTTP (Sonos/ product token in
    // User-Agent or Server, X-RINCON-* headers) is named app Sonos.
    if app.is_none() && crate::sonos::sonos_headers(d) {
        ev.push_str(", Sonos player");
        app = Some("Sonos");
    }
    // SOAP and JSON-RPC requests carry a body: POST (SOAP 1.1 §6; JSON-RPC
    // over HTTP) or PUT. A GET is never one, so its headers are not walked
    // again (every HTTP request a probe sees passes here).
    let rpc = if matches!(method, b"POST" | b"PUT") {
        rpc_app(headers)
    } else {
        None
    };
    if let Some(rpc) = rpc {
        ev.push_str(", ");
        ev.push_str(rpc);
        app = Some(rpc);
    }
    if let Some(up) = header(headers, b"upgrade") {
        let conn_upgrade = header(headers, b"connection").is_some_and(|v| has_token(v, b"upgrade"));
        if has_token(up, b"websocket") && conn_upgrade {
            ev.push_str(", WebSocket upgrade");
            app = app.or(Some("WebSocket"));
        } else if has_token(up, b"h2c") {
            ev.push_str(", Upgrade h2c");
        }
    }
    Probe::Match(Match {
        app: app.map(str::to_owned),
        evidence: ev,
        provisional: false,
    })
}

/// A request whose method is a token [`METHODS`] does not list (see
/// [`token_method_line`]), anchored on the version at the end of the line.
fn unlisted_method(input: &ProbeInput<'_>) -> Probe {
    let d = input.data;
    match token_method_line(d) {
        None => Probe::NeedMore,
        Some(false) => Probe::NoMatch,
        Some(true) => {
            let line = netsift_proto::first_line(d, MAX_LINE + MAX_METHOD + 1).unwrap_or(d);
            let mut ev = quoted(input.dir, line, 120);
            let headers = d.get(line.len()..).unwrap_or(&[]);
            let mut app = None;
            if let Some(host) = header(headers, b"host") {
                ev.push_str(", Host ");
                netsift_proto::push_printable(&mut ev, host, 100);
                if let Some(svc) = crate::apps::lookup(host) {
                    ev.push_str(", service ");
                    ev.push_str(svc);
                    app = Some(svc);
                }
            }
            Probe::Match(Match {
                app: app.map(str::to_owned),
                ..Match::new(ev)
            })
        }
    }
}

/// HTTP/0.9 (RFC 1945 §4.1): `Simple-Request = "GET" SP Request-URI CRLF`
/// -- one line, no version, no headers (the answer is the bare entity
/// body). Only an absolute path, visible characters, a complete line end
/// and nothing after it: old clients, scanners and embedded devices still
/// send it.
fn simple_request(dir: Direction, method: &[u8], line_rest: &[u8], after: &[u8]) -> Option<Probe> {
    if method != b"GET" || line_rest.first() != Some(&b'/') {
        return None;
    }
    if !line_rest.iter().all(|&b| (0x21..0x7f).contains(&b)) {
        return None;
    }
    if after == b"\r" {
        // The LF may still come.
        return Some(Probe::NeedMore);
    }
    if after != b"\r\n" && after != b"\n" {
        return None;
    }
    Some(Probe::Match(Match::new(format!(
        "{} 'GET {}' (HTTP/0.9 simple request)",
        who(dir),
        printable(line_rest, 100)
    ))))
}

/// SOAP or JSON-RPC carried by this request (named as nDPI does:
/// HTTP.SOAP, HTTP.JSON-RPC):
/// * SOAP 1.1 §6.1.1: "The SOAPAction HTTP request header field can be
///   used to indicate the intent of the SOAP HTTP request" (present even
///   when empty); SOAP 1.2 Part 2 §7.1.4: media type
///   `application/soap+xml`; or a body whose root is an `Envelope`;
/// * JSON-RPC: media type `application/json-rpc`, or a body with
///   `"jsonrpc": "2.0"` (JSON-RPC 2.0 §4).
fn rpc_app(headers: &[u8]) -> Option<&'static str> {
    let h = headers.get(..headers.len().min(MAX_HEADER_SCAN))?;
    let mut body = None;
    // `headers` starts with the request line's CR LF.
    let mut p = 0;
    let mut first = true;
    while p < h.len() {
        let end = h.get(p..)?.iter().position(|&b| b == b'\n').map(|e| p + e);
        let Some(end) = end else { break };
        let raw = h.get(p..end)?;
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.is_empty() && !first {
            body = headers.get(end + 1..(end + 1 + 512).min(headers.len()));
            break;
        }
        first = false;
        let name_is = |n: &[u8]| {
            line.get(..n.len())
                .is_some_and(|l| l.eq_ignore_ascii_case(n))
                && line.get(n.len()) == Some(&b':')
        };
        if name_is(b"soapaction") {
            return Some("SOAP");
        }
        if name_is(b"content-type") {
            let v = line.get(13..).unwrap_or(&[]);
            let has = |t: &[u8]| v.windows(t.len()).any(|w| w.eq_ignore_ascii_case(t));
            if has(b"application/soap+xml") {
                return Some("SOAP");
            }
            if has(b"application/json-rpc") {
                return Some("JSON-RPC");
            }
        }
        p = end + 1;
    }
    let body = body?;
    if body
        .windows(10)
        .any(|w| w == b":Envelope " || w == b":Envelope>")
        || body.starts_with(b"<Envelope")
    {
        return Some("SOAP");
    }
    if body.first() == Some(&b'{') && crate::json_rpc::json_rpc(body).is_some() {
        return Some("JSON-RPC");
    }
    None
}

/// Whether a comma-separated header value lists `token` (ASCII
/// case-insensitive, RFC 9110 §5.6.1).
fn has_token(v: &[u8], token: &[u8]) -> bool {
    v.split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

/// The value of the first header field called `name` (lowercase, e.g.
/// `host`, RFC 9110 §7.2), if it is complete within the scanned bytes.
fn header<'a>(headers: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let h = headers.get(..headers.len().min(MAX_HEADER_SCAN))?;
    let mut p = 0;
    while p < h.len() {
        // Skip the line terminator of the previous line.
        while p < h.len() && (h[p] == b'\r' || h[p] == b'\n') {
            p += 1;
        }
        let line_end = h[p..].iter().position(|&b| b == b'\r' || b == b'\n')? + p;
        let line = &h[p..line_end];
        let n = name.len();
        if line.len() > n
            && line.get(n) == Some(&b':')
            && line.get(..n).is_some_and(|l| l.eq_ignore_ascii_case(name))
        {
            let v = &line[n + 1..];
            let start = v.iter().position(|&b| b != b' ' && b != b'\t')?;
            let v = &v[start..];
            let end = v.iter().rposition(|&b| b != b' ' && b != b'\t')? + 1;
            return Some(&v[..end]);
        }
        if line.is_empty() {
            return None;
        }
        p = line_end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::first_packet::{identify_first_payload, FirstVerdict};
    use crate::testkit::{check_prefixes, evidence, probe1 as run, random_matches};

    const TCP: Transport = Transport::Tcp;
    const C: Direction = Direction::ToServer;
    const S: Direction = Direction::ToClient;

    // Sources: testdata/README.md.
    const GET: &[u8] = include_bytes!("testdata/get.bin");
    const RESP_301: &[u8] = include_bytes!("testdata/response_301.bin");
    const RESP_FIRST: &[u8] = include_bytes!("testdata/response_first.bin");
    const PROPFIND: &[u8] = include_bytes!("testdata/propfind.bin");
    const POST: &[u8] = include_bytes!("testdata/post_ocsp.bin");
    const LONG_URI: &[u8] = include_bytes!("testdata/get_long_uri.bin");
    const ATTACK_DOT: &[u8] = include_bytes!("testdata/attack_dot_target.bin");
    const ATTACK_SPACE: &[u8] = include_bytes!("testdata/attack_space_target.bin");
    const MANIPULATED: &[u8] = include_bytes!("testdata/manipulated_spaces.bin");
    const RTSP: &[u8] = include_bytes!("testdata/rtsp_setup.bin");
    const SIP: &[u8] = include_bytes!("testdata/sip_register.bin");
    const SSDP: &[u8] = include_bytes!("testdata/ssdp_msearch.bin");
    const SMTP: &[u8] = include_bytes!("testdata/smtp_banner.bin");
    const TLS_CH: &[u8] = include_bytes!("../tls/testdata/ch_tls12.bin");
    const SSH: &[u8] = include_bytes!("../ssh/testdata/client_banner.bin");

    #[test]
    fn requests() {
        let e = evidence(run(&Http, TCP, C, GET));
        assert!(e.starts_with("client sent 'GET / HTTP/1.1', Host "), "{e}");
        let e = evidence(run(&Http, TCP, C, POST));
        assert_eq!(
            e,
            "client sent 'POST /gts1o1core HTTP/1.1', Host ocsp.pki.goog, service OCSP"
        );
        let e = evidence(run(&Http, TCP, C, PROPFIND));
        assert!(
            e.starts_with("client sent 'PROPFIND /webdav HTTP/1.1'"),
            "{e}"
        );
        // A 1.3 KB request line (the User-Agent is in the next segment).
        let e = evidence(run(&Http, TCP, C, LONG_URI));
        assert!(
            e.starts_with("client sent 'GET /tracking/adImpression?d="),
            "{e}"
        );
        assert_eq!(run(&Http, TCP, C, &LONG_URI[..700]), Probe::NeedMore);
    }

    #[test]
    fn attack_and_malformed_request_lines() {
        let e = evidence(run(&Http, TCP, C, ATTACK_DOT));
        assert!(e.starts_with("client sent 'GET . HTTP/1.0'"), "{e}");
        let e = evidence(run(&Http, TCP, C, ATTACK_SPACE));
        assert!(
            e.contains(
                "netsonar;cat /etc/passwd|?data=Download HTTP/1.1' (spaces in request-target)"
            ),
            "{e}"
        );
        let e = evidence(run(&Http, TCP, C, MANIPULATED));
        assert!(
            e.contains("(spaces in request-target), Host www.lan:8080"),
            "{e}"
        );
        for d in [ATTACK_DOT, ATTACK_SPACE, MANIPULATED] {
            check_prefixes(&Http, TCP, C, d, b"");
        }
    }

    #[test]
    fn proxy_protocol_header_then_request() {
        let d = [b"PROXY TCP4 10.0.0.1 10.0.0.2 4000 80\r\n".as_slice(), GET].concat();
        let e = evidence(run(&Http, TCP, C, &d));
        assert!(e.starts_with("client sent 'GET / HTTP/1.1'"), "{e}");
        assert!(e.ends_with("(after a PROXY protocol header)"), "{e}");
        check_prefixes(&Http, TCP, C, &d, b"");
    }

    #[test]
    fn responses() {
        let e = evidence(run(&Http, TCP, S, RESP_301));
        assert_eq!(e, "server sent 'HTTP/1.1 301 Moved Permanently'");
        let e = evidence(run(&Http, TCP, S, RESP_FIRST));
        assert_eq!(e, "server sent 'HTTP/1.1 200 OK'");
    }

    #[test]
    fn connect_and_absolute_forms() {
        let e = evidence(run(
            &Http,
            TCP,
            C,
            b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
        ));
        assert!(e.contains("Host example.com:443"), "{e}");
        let e = evidence(run(
            &Http,
            TCP,
            C,
            b"GET http://example.com/ HTTP/1.0\r\n\r\n",
        ));
        assert_eq!(e, "client sent 'GET http://example.com/ HTTP/1.0'");
        let e = evidence(run(&Http, TCP, C, b"OPTIONS * HTTP/1.1\r\n"));
        assert_eq!(e, "client sent 'OPTIONS * HTTP/1.1'");
    }

    /// Methods netsift does not list (RFC 9110 §9.1 "method = token"), from
    /// crates/cli/tests/edge/http_09_methods.pcap: identified by the line's
    /// version; every prefix is NeedMore; other protocols' lines are not.
    #[test]
    fn token_methods() {
        for line in [
            &b"QUERY /hello.txt HTTP/1.1\r\nHost: edge.test\r\n"[..],
            b"FROBNICATE /hello.txt HTTP/1.1\r\nHost: edge.test\r\nUser-Agent: edge23\r\n\r\n",
            b"X_CUSTOM.v2 * HTTP/1.0\r\n",
        ] {
            let e = evidence(run(&Http, TCP, C, line));
            assert!(e.starts_with("client sent '"), "{e}");
            let eol = line.iter().position(|&b| b == b'\r').unwrap();
            for n in 0..=eol {
                assert_eq!(run(&Http, TCP, C, &line[..n]), Probe::NeedMore, "{n}");
            }
        }
        for other in [
            &b"DESCRIBE rtsp://cam/stream RTSP/1.0\r\n"[..],
            b"INVITE sip:bob@x SIP/2.0\r\n",
            b"M-SEARCH * HTTP/1.1\r\n",
            b"QUERY /q HTTP/2.0\r\n",
            b"QUERY  HTTP/1.1\r\n",
            b"QU(ERY /q HTTP/1.1\r\n",
            b"AVERYLONGMETHODNAMETHATGOESONANDON /q HTTP/1.1\r\n",
        ] {
            assert_eq!(
                run(&Http, TCP, C, other),
                Probe::NoMatch,
                "{}",
                printable(other, 40)
            );
        }
    }

    #[test]
    fn look_alikes_are_not_http() {
        for d in [RTSP, SIP, SSDP, TLS_CH, SSH, SMTP] {
            assert_eq!(
                run(&Http, TCP, C, d),
                Probe::NoMatch,
                "{}",
                printable(d, 30)
            );
        }
        assert_eq!(run(&Http, TCP, S, b"RTSP/1.0 200 OK\r\n"), Probe::NoMatch);
        assert_eq!(run(&Http, TCP, S, b"SIP/2.0 200 OK\r\n"), Probe::NoMatch);
        // SSDP is UDP: the probe refuses UDP outright.
        assert_eq!(run(&Http, Transport::Udp, C, SSDP), Probe::NoMatch);
        assert_eq!(run(&Http, TCP, C, b"GET / HTTP/1.1x\r\n"), Probe::NoMatch);
        // HTTP/0.9 (RFC 1945 §4.1): one line, GET and a path only.
        assert_eq!(
            evidence(run(&Http, TCP, C, b"GET /index.html\r\n")),
            "client sent 'GET /index.html' (HTTP/0.9 simple request)"
        );
        assert_eq!(run(&Http, TCP, C, b"GET /index.html\r\nX"), Probe::NoMatch);
        assert_eq!(run(&Http, TCP, C, b"POST /index.html\r\n"), Probe::NoMatch);
        assert_eq!(run(&Http, TCP, C, b"GET mykey\r\n"), Probe::NoMatch);
        assert_eq!(run(&Http, TCP, C, b"GET /a b\r\n"), Probe::NoMatch);
        check_prefixes(&Http, TCP, C, b"GET /index.html\r\n", b"");
        assert_eq!(run(&Http, TCP, S, b"HTTP/1.1 999 Nope\r\n"), Probe::NoMatch);
    }

    #[test]
    fn apps_from_host() {
        let m = |d: &[u8], dir| match run(&Http, TCP, dir, d) {
            Probe::Match(m) => m,
            p => panic!("{p:?}"),
        };
        let r = m(b"GET / HTTP/1.1\r\nHost: WWW.YouTube.com:80\r\n\r\n", C);
        assert_eq!(r.app.as_deref(), Some("YouTube"));
        assert!(
            r.evidence
                .ends_with("Host WWW.YouTube.com:80, service YouTube"),
            "{}",
            r.evidence
        );
        // A real request to ocsp.pki.goog: the OCSP responders are named
        // OCSP in the service table (as nDPI names these flows).
        assert_eq!(m(POST, C).app.as_deref(), Some("OCSP"));
        let r = m(GET, C);
        assert!(r.evidence.contains(", Host "), "{}", r.evidence);
    }

    #[test]
    fn soap_and_json_rpc_apps() {
        // Sources: ../soap/testdata/README.md, ../json_rpc/testdata/README.md.
        let app = |d: &[u8]| match run(&Http, TCP, C, d) {
            Probe::Match(m) => m.app,
            o => panic!("{o:?}"),
        };
        let soap = include_bytes!("../soap/testdata/http_post_soapaction.bin");
        assert_eq!(app(soap).as_deref(), Some("SOAP"));
        // An empty SOAPAction still marks a SOAP request.
        let empty = include_bytes!("../soap/testdata/http_post_empty_soapaction.bin");
        assert_eq!(app(empty).as_deref(), Some("SOAP"));
        let jr = include_bytes!("../json_rpc/testdata/http_post.bin");
        assert_eq!(app(jr).as_deref(), Some("JSON-RPC"));
        let body = b"POST /rpc HTTP/1.1\r\nHost: 10.0.0.1\r\nContent-Type: application/json\r\n\r\n{\"jsonrpc\":\"2.0\",\"method\":\"eth_blockNumber\",\"id\":1}";
        assert_eq!(app(body).as_deref(), Some("JSON-RPC"));
        let env = b"POST /ws HTTP/1.1\r\nHost: 10.0.0.1\r\nContent-Type: text/xml\r\n\r\n<?xml version=\"1.0\"?><soapenv:Envelope xmlns:soapenv=\"x\"><soapenv:Body/></soapenv:Envelope>";
        assert_eq!(app(env).as_deref(), Some("SOAP"));
        let plain = b"POST /form HTTP/1.1\r\nHost: 10.0.0.1\r\nContent-Type: application/json\r\n\r\n{\"a\":1}";
        assert_eq!(app(plain), None);
    }

    #[test]
    fn websocket_and_h2c() {
        let m = |d: &[u8], dir| match run(&Http, TCP, dir, d) {
            Probe::Match(m) => m,
            p => panic!("{p:?}"),
        };
        // RFC 6455 §1.2 sample handshake.
        let req: &[u8] =
            b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
            Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
            Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
            Sec-WebSocket-Version: 13\r\n\r\n";
        let r = m(req, C);
        assert_eq!(r.app.as_deref(), Some("WebSocket"));
        assert!(
            r.evidence
                .ends_with("Host server.example.com, WebSocket upgrade"),
            "{}",
            r.evidence
        );
        check_prefixes(&Http, TCP, C, req, b"");
        // A service wins over WebSocket; the evidence still says so.
        let r = m(
            b"GET /ws HTTP/1.1\r\nhost: gateway.discord.gg\r\nconnection: keep-alive, Upgrade\r\nupgrade: WebSocket\r\n\r\n",
            C,
        );
        assert_eq!(r.app.as_deref(), Some("Discord"));
        assert!(r.evidence.contains("WebSocket upgrade"), "{}", r.evidence);
        // Upgrade without Connection: Upgrade is not a handshake.
        let r = m(b"GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", C);
        assert_eq!(r.app, None);
        // RFC 6455 §1.2 server side.
        let resp: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
            Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
        let r = m(resp, S);
        assert_eq!(r.app.as_deref(), Some("WebSocket"));
        check_prefixes(&Http, TCP, S, resp, b"");
        // RFC 7540 §3.2 h2c upgrade request.
        let h2c: &[u8] = b"GET / HTTP/1.1\r\nHost: server.example.com\r\nConnection: Upgrade, HTTP2-Settings\r\n\
            Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n";
        let r = m(h2c, C);
        assert!(r.evidence.ends_with(", Upgrade h2c"), "{}", r.evidence);
        // RFC 9113 §3.4 preface, then a SETTINGS frame.
        let pri = [
            H2_PREFACE,
            b"\x00\x00\x00\x04\x00\x00\x00\x00\x00".as_slice(),
        ]
        .concat();
        let r = m(&pri, C);
        assert_eq!(r.app.as_deref(), Some("HTTP2"));
        assert!(
            r.evidence.contains("HTTP/2 connection preface"),
            "{}",
            r.evidence
        );
        check_prefixes(&Http, TCP, C, &pri, b"");
        assert_eq!(
            run(&Http, TCP, C, b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"),
            Probe::NoMatch
        );
    }

    #[test]
    fn prefixes_are_consistent() {
        for d in [GET, POST, PROPFIND, LONG_URI, RTSP, SIP] {
            check_prefixes(&Http, TCP, C, d, b"");
        }
        for d in [RESP_301, RESP_FIRST] {
            check_prefixes(&Http, TCP, S, d, b"");
        }
        check_prefixes(&Http, TCP, C, b"HEAD / HTTP/1.0\r\n\r\n", b"");
    }

    #[test]
    fn first_packet_api_on_odd_port() {
        match identify_first_payload(TCP, C, 53, POST) {
            FirstVerdict::Match {
                protocol, evidence, ..
            } => {
                assert_eq!(protocol, "HTTP");
                assert!(evidence.contains("ocsp.pki.goog"));
            }
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn random_bytes_are_not_http() {
        let hits = random_matches(&Http, TCP, 100_000, 0x4242, None);
        assert!(hits < 100, "{hits} random matches");
    }
}
