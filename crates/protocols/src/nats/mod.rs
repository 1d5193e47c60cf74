//! NATS client protocol (docs.nats.io, "Client Protocol").
//!
//! A text protocol of CRLF-terminated operations (case-insensitive names):
//! the server speaks first with `INFO {json}` (`server_id`, `version`,
//! `proto`, `max_payload`...), the client answers `CONNECT {json}`
//! (`verbose`, `pedantic`, `lang`, `version`, `protocol`...), then
//! `PUB <subject> [reply-to] <#bytes>\r\n<payload>\r\n`, `HPUB`, `SUB`,
//! `UNSUB`, `MSG <subject> <sid> [reply-to] <#bytes>\r\n<payload>\r\n`,
//! `HMSG`, `PING`, `PONG`, `+OK`, `-ERR`.
//!
//! Matched on `INFO {` / `CONNECT {` with their JSON keys, or mid-session on
//! a `PUB`/`MSG` whose payload length is followed by exactly `\r\n`.

use netsift_proto::bytes::starts_with_ci;
use netsift_proto::{printable, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// NATS.
pub struct Nats;

/// Bound for the INFO/CONNECT line (servers send a few hundred bytes).
const MAX_LINE: usize = 8192;

impl Protocol for Nats {
    fn name(&self) -> &'static str {
        "Nats"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[4222]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let Some(&c) = d.first() else {
            return Probe::NeedMore;
        };
        match c.to_ascii_uppercase() {
            b'I' => json_op(d, b"INFO {", b"\"server_id\"", "server INFO"),
            b'C' => json_op(d, b"CONNECT {", b"\"verbose\"", "client CONNECT"),
            b'P' => sized(d, b"PUB ", 1, "PUB"),
            b'M' => sized(d, b"MSG ", 2, "MSG"),
            _ => Probe::NoMatch,
        }
    }
}

/// `OP {json}`: match once `key` shows in the JSON, which must start with
/// a quoted member name.
fn json_op(d: &[u8], op: &[u8], key: &[u8], what: &str) -> Probe {
    match starts_with_ci(d, op) {
        None => {
            let n = d.len().min(op.len());
            return match (d.get(..n), op.get(..n)) {
                (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => Probe::NeedMore,
                _ => Probe::NoMatch,
            };
        }
        Some(false) => return Probe::NoMatch,
        Some(true) => {}
    }
    let body = d.get(op.len()..).unwrap_or(&[]);
    let window = body.get(..body.len().min(MAX_LINE)).unwrap_or(&[]);
    match window.first() {
        None => return Probe::NeedMore,
        Some(b'"') => {}
        Some(_) => return Probe::NoMatch,
    }
    let end = window
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(window.len());
    let line = window.get(..end).unwrap_or(&[]);
    if !line.iter().all(|&b| b >= 0x20 || b == b'\r' || b == b'\t') {
        return Probe::NoMatch;
    }
    // Server INFO always carries server_id; some clients omit `verbose`,
    // none omit `lang`... accept either for CONNECT.
    let has = |k: &[u8]| line.windows(k.len()).any(|w| w == k);
    if has(key) || (what == "client CONNECT" && (has(b"\"lang\"") || has(b"\"protocol\""))) {
        let ver = json_str(line, b"\"version\"");
        let lang = json_str(line, b"\"lang\"");
        let mut ev = format!("NATS {what}");
        if let Some(l) = lang {
            ev.push_str(&format!(", lang {}", printable(l, 16)));
        }
        if let Some(v) = ver {
            ev.push_str(&format!(", version {}", printable(v, 16)));
        }
        return Probe::Match(Match::new(ev));
    }
    if end < window.len() || window.len() == MAX_LINE {
        Probe::NoMatch
    } else {
        Probe::NeedMore
    }
}

/// The string value of `key` in a JSON line.
fn json_str<'a>(d: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let at = d.windows(key.len()).position(|w| w == key)? + key.len();
    let rest = d.get(at..)?.strip_prefix(b":\"")?;
    let end = rest.iter().position(|&b| b == b'"')?;
    rest.get(..end)
}

/// `PUB <subject> [reply-to] <#bytes>\r\n` (`sid_args` = 1) or
/// `MSG <subject> <sid> [reply-to] <#bytes>\r\n` (2): the payload of the
/// announced size must be followed by CRLF.
fn sized(d: &[u8], op: &[u8], min_args: usize, what: &str) -> Probe {
    match starts_with_ci(d, op) {
        None => {
            let n = d.len().min(op.len());
            return match (d.get(..n), op.get(..n)) {
                (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => Probe::NeedMore,
                _ => Probe::NoMatch,
            };
        }
        Some(false) => return Probe::NoMatch,
        Some(true) => {}
    }
    let Some(nl) = d.iter().take(1024).position(|&b| b == b'\n') else {
        return if d.len() < 1024 {
            Probe::NeedMore
        } else {
            Probe::NoMatch
        };
    };
    let line = d.get(..nl).unwrap_or(&[]);
    let Some(line) = line.strip_suffix(b"\r") else {
        return Probe::NoMatch;
    };
    let args: Vec<&[u8]> = line
        .get(op.len()..)
        .unwrap_or(&[])
        .split(|&b| b == b' ')
        .filter(|a| !a.is_empty())
        .collect();
    if args.len() < min_args + 1 || args.len() > min_args + 2 {
        return Probe::NoMatch;
    }
    let subject = args.first().copied().unwrap_or(&[]);
    if !subject.iter().all(|&b| (0x21..0x7f).contains(&b)) {
        return Probe::NoMatch;
    }
    let size = args.last().copied().unwrap_or(&[]);
    if size.is_empty() || size.len() > 9 || !size.iter().all(u8::is_ascii_digit) {
        return Probe::NoMatch;
    }
    let n: usize = size.iter().fold(0, |a, &b| a * 10 + usize::from(b - b'0'));
    let end = nl + 1 + n;
    match d.get(end..end + 2) {
        Some(b"\r\n") => Probe::Match(Match::new(format!(
            "NATS {what} on subject '{}' ({n} bytes)",
            printable(subject, 40)
        ))),
        Some(_) => Probe::NoMatch,
        None if d.len() >= end + 2 => Probe::NoMatch,
        None => Probe::NeedMore,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_random_flows_rejected, check_prefixes, evidence, foreign_never_match, probe1, C, S,
    };

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const INFO: &[u8] = include_bytes!("testdata/info.bin");
    const CONNECT: &[u8] = include_bytes!("testdata/connect.bin");

    #[test]
    fn handshake() {
        assert_eq!(
            evidence(probe1(&Nats, TCP, S, INFO)),
            "NATS server INFO, version 2.1.6"
        );
        assert_eq!(
            evidence(probe1(&Nats, TCP, C, CONNECT)),
            "NATS client CONNECT, lang C, version 2.1.0"
        );
        check_prefixes(&Nats, TCP, S, INFO, b"");
        check_prefixes(&Nats, TCP, C, CONNECT, b"");
        // HTTP CONNECT is not NATS.
        assert_eq!(
            probe1(&Nats, TCP, C, b"CONNECT example.com:443 HTTP/1.1\r\n\r\n"),
            Probe::NoMatch
        );
    }

    #[test]
    fn mid_session() {
        let publ = b"PUB greet.joe 5\r\nhello\r\nPING\r\n";
        assert_eq!(
            evidence(probe1(&Nats, TCP, C, publ)),
            "NATS PUB on subject 'greet.joe' (5 bytes)"
        );
        let msg = b"MSG greet.joe 1 _INBOX.x 5\r\nhello\r\n";
        assert_eq!(
            evidence(probe1(&Nats, TCP, S, msg)),
            "NATS MSG on subject 'greet.joe' (5 bytes)"
        );
        check_prefixes(&Nats, TCP, C, publ, b"");
        check_prefixes(&Nats, TCP, S, msg, b"");
        assert_eq!(
            probe1(&Nats, TCP, C, b"PUB greet 5\r\nhelloXX"),
            Probe::NoMatch
        );
    }

    #[test]
    fn random_foreign() {
        assert_random_flows_rejected(&Nats, TCP, 4222);
        foreign_never_match(&Nats, TCP);
    }
}
