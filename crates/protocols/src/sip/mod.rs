//! SIP (RFC 3261) over UDP and TCP, any port: a Request-Line
//! `Method SP Request-URI SP SIP-Version CRLF` (§7.1) with a known method
//! and a sip:/sips:/tel: URI, or a Status-Line `SIP-Version SP Status-Code
//! SP Reason-Phrase CRLF` (§7.2).

use netsift_proto::{
    first_line, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

pub mod record;
pub mod session;
#[cfg(test)]
mod tests;

/// SIP.
pub struct Sip;

/// Methods of RFC 3261 §27.4 and the extensions registered since (PRACK
/// RFC 3262, SUBSCRIBE/NOTIFY RFC 6665, PUBLISH RFC 3903, INFO RFC 6086,
/// REFER RFC 3515, MESSAGE RFC 3428, UPDATE RFC 3311).
const METHODS: &[&[u8]] = &[
    b"INVITE",
    b"ACK",
    b"OPTIONS",
    b"BYE",
    b"CANCEL",
    b"REGISTER",
    b"PRACK",
    b"SUBSCRIBE",
    b"NOTIFY",
    b"PUBLISH",
    b"INFO",
    b"REFER",
    b"MESSAGE",
    b"UPDATE",
];

/// Longest first line we look for.
const MAX_LINE: usize = 1024;

/// Value of header `name` (case-insensitive, `name:`), trimmed, in an
/// HTTP-style message; the search stops at the blank line.
pub(crate) fn header_value<'a>(data: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let mut rest = data;
    // Skip the start line.
    let nl = rest.iter().position(|&b| b == b'\n')?;
    rest = rest.get(nl + 1..)?;
    for _ in 0..128 {
        let nl = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let line = rest.get(..nl)?;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return None;
        }
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            let (k, v) = line.split_at(colon);
            if k.trim_ascii().eq_ignore_ascii_case(name.as_bytes()) {
                return Some(v.get(1..).unwrap_or(&[]).trim_ascii());
            }
        }
        rest = rest.get(nl + 1..)?;
    }
    None
}

enum Line {
    Request(&'static [u8]),
    Status(u16),
}

/// RFC 3261 §7.1 / §7.2 on one complete line.
fn parse_line(line: &[u8]) -> Option<(Line, &[u8])> {
    if let Some(rest) = line.strip_prefix(b"SIP/2.0 ") {
        // Status-Code = 3DIGIT, 100..=699 (§7.2, §21).
        let code = rest.get(..3)?;
        if !code.iter().all(u8::is_ascii_digit) || rest.get(3).is_some_and(|&b| b != b' ') {
            return None;
        }
        let n = code.iter().fold(0u16, |a, &d| a * 10 + (d - b'0') as u16);
        if !(100..=699).contains(&n) {
            return None;
        }
        return Some((Line::Status(n), rest.get(4..).unwrap_or(&[])));
    }
    let sp = line.iter().position(|&b| b == b' ')?;
    let method = METHODS.iter().find(|m| **m == &line[..sp])?;
    let rest = line.get(sp + 1..)?;
    let uri_end = rest.iter().position(|&b| b == b' ')?;
    let (uri, version) = rest.split_at(uri_end);
    // SIP-Version "SIP/2.0" ends the line (§7.1).
    if version != b" SIP/2.0" {
        return None;
    }
    // Request-URI: a SIP or SIPS URI (§19.1) or another absolute URI, in
    // practice tel: (RFC 3966). The scheme is case-insensitive.
    let colon = uri.iter().position(|&b| b == b':')?;
    let scheme = uri.get(..colon)?;
    if !(scheme.eq_ignore_ascii_case(b"sip")
        || scheme.eq_ignore_ascii_case(b"sips")
        || scheme.eq_ignore_ascii_case(b"tel"))
        || uri.len() <= colon + 1
        || !uri.iter().all(|b| b.is_ascii_graphic())
    {
        return None;
    }
    Some((Line::Request(method), uri))
}

/// Could `partial` (no line end yet) still grow into a SIP start line?
fn could_be_start(partial: &[u8]) -> bool {
    let p = &partial[..partial.len().min(8)];
    b"SIP/2.0 ".starts_with(p)
        // `m` and a space, against `p`: one is a prefix of the other when
        // they agree as far as the shorter goes.
        || METHODS.iter().any(|m| {
            let full = m.iter().chain(std::iter::once(&b' '));
            p.iter().zip(full).all(|(a, b)| a == b)
        })
}

impl Protocol for Sip {
    fn name(&self) -> &'static str {
        "SIP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[5060, 5061]
    }
    // RFC 3261 §7.1: "Request-Line = Method SP Request-URI SP SIP-Version
    // CRLF" (the methods of `METHODS`, case-sensitive, §7.1 "The method
    // names are case-sensitive"); §7.2: "Status-Line = SIP-Version SP
    // Status-Code SP Reason-Phrase CRLF" ("SIP/2.0").
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(b"ABCIMNOPRSU")
    }
    fn parser(&self) -> Option<Box<dyn netsift_proto::Parser>> {
        Some(Box::new(session::SipParser::new()))
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let Some(line) = first_line(d, MAX_LINE) else {
            // A TCP stream may not have its first line yet.
            if input.transport == Transport::Tcp
                && d.len() < MAX_LINE
                && could_be_start(d)
                && d.iter().all(|b| b.is_ascii_graphic() || *b == b' ')
            {
                return Probe::NeedMore;
            }
            return Probe::NoMatch;
        };
        // The start line ends with CRLF (§7); a bare CR or LF is tolerated
        // by robust parsers, but a line of binary is not SIP.
        match parse_line(line) {
            Some((Line::Request(m), uri)) => Probe::Match(Match::new(format!(
                "SIP {} {}",
                String::from_utf8_lossy(m),
                netsift_proto::printable(uri, 64)
            ))),
            Some((Line::Status(code), reason)) => Probe::Match(Match::new(format!(
                "SIP response {code} {}",
                netsift_proto::printable(reason, 40)
            ))),
            None => Probe::NoMatch,
        }
    }
}
