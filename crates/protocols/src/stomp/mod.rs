//! STOMP, the Simple Text Oriented Messaging Protocol (STOMP Protocol
//! Specification 1.0, 1.1 and 1.2, stomp.github.io).
//!
//! 1.2 "Augmented BNF": `frame = command EOL *( header EOL ) EOL *OCTET
//! NULL *( EOL )`, `EOL = [CR] LF`, `header = header-name ":"
//! header-value`. Client commands: CONNECT, STOMP, SEND, SUBSCRIBE,
//! UNSUBSCRIBE, BEGIN, COMMIT, ABORT, ACK, NACK, DISCONNECT; server
//! commands: CONNECTED, MESSAGE, RECEIPT, ERROR. Heart-beats are bare EOLs
//! between frames.
//!
//! Matched on a whole header block (command line, `name:value` lines, blank
//! line). CONNECT / STOMP / CONNECTED / ERROR open a session and count as
//! soon as their headers end; any other frame (a capture that starts
//! mid-session) must carry at least one header and end with its NUL octet.

use netsift_proto::{printable, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// STOMP.
pub struct Stomp;

const OPENING: &[&[u8]] = &[b"CONNECT", b"STOMP", b"CONNECTED", b"ERROR"];
const OTHER: &[&[u8]] = &[
    b"SEND",
    b"SUBSCRIBE",
    b"UNSUBSCRIBE",
    b"BEGIN",
    b"COMMIT",
    b"ABORT",
    b"ACK",
    b"NACK",
    b"DISCONNECT",
    b"MESSAGE",
    b"RECEIPT",
];
/// Bound on the header block (brokers limit headers to a few KiB).
const MAX_HEAD: usize = 4096;
/// Bound on a mid-session frame body looked through for its NUL.
const MAX_FRAME: usize = 8192;

impl Protocol for Stomp {
    fn name(&self) -> &'static str {
        "STOMP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[61613]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let mut d = input.data;
        // Heart-beat EOLs before the first frame.
        while let Some(r) = d.strip_prefix(b"\n").or_else(|| d.strip_prefix(b"\r\n")) {
            d = r;
        }
        let Some(&c) = d.first() else {
            return Probe::NeedMore;
        };
        if !c.is_ascii_alphabetic() {
            return Probe::NoMatch;
        }
        // Command line.
        let Some(nl) = d.iter().take(16).position(|&b| b == b'\n') else {
            let all = |set: &[&[u8]]| {
                set.iter()
                    .any(|c| c.get(..d.len()).is_some_and(|p| p.eq_ignore_ascii_case(d)))
            };
            return if d.len() < 16 && (all(OPENING) || all(OTHER)) {
                Probe::NeedMore
            } else {
                Probe::NoMatch
            };
        };
        let cmd = d.get(..nl).unwrap_or(&[]);
        let cmd = cmd.strip_suffix(b"\r").unwrap_or(cmd);
        // Commands are upper case in the specification; the broker of the
        // corpus capture sends `message` in lower case, so either case is
        // accepted (not mixed).
        let same_case =
            cmd.iter().all(u8::is_ascii_uppercase) || cmd.iter().all(u8::is_ascii_lowercase);
        let is = |set: &[&[u8]]| set.iter().any(|c| c.eq_ignore_ascii_case(cmd));
        let opening = is(OPENING);
        if !same_case || (!opening && !is(OTHER)) {
            return Probe::NoMatch;
        }
        // Header lines up to the blank line.
        let mut at = nl + 1;
        let mut headers = 0usize;
        let mut first_header: &[u8] = &[];
        loop {
            let rest = d.get(at..).unwrap_or(&[]);
            let Some(n) = rest.iter().position(|&b| b == b'\n') else {
                return if at + rest.len() < MAX_HEAD && text(rest) {
                    Probe::NeedMore
                } else {
                    Probe::NoMatch
                };
            };
            let line = rest.get(..n).unwrap_or(&[]);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            at += n + 1;
            if line.is_empty() {
                break;
            }
            // "header-name = 1*<any OCTET except CR or LF or ":">"
            match line.iter().position(|&b| b == b':') {
                Some(0) | None => return Probe::NoMatch,
                Some(_) if !text(line) => return Probe::NoMatch,
                Some(_) => {}
            }
            if headers == 0 {
                first_header = line;
            }
            headers += 1;
            if at > MAX_HEAD {
                return Probe::NoMatch;
            }
        }
        let ev = || {
            let mut e = format!("STOMP {} frame", printable(cmd, 16));
            if !first_header.is_empty() {
                e.push_str(&format!(", '{}'", printable(first_header, 40)));
            }
            Probe::Match(Match::new(e))
        };
        if opening {
            return ev();
        }
        if headers == 0 {
            return Probe::NoMatch;
        }
        let body = d.get(at..).unwrap_or(&[]);
        match body.iter().take(MAX_FRAME).position(|&b| b == 0) {
            Some(_) => ev(),
            None if body.len() < MAX_FRAME => Probe::NeedMore,
            None => Probe::NoMatch,
        }
    }
}

fn text(l: &[u8]) -> bool {
    l.iter().all(|&b| b >= 0x20 || b == b'\t' || b == b'\r')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_random_flows_rejected, check_prefixes, evidence, foreign_never_match, probe1, C, S,
    };

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const STOMP: &[u8] = include_bytes!("testdata/stomp.bin");
    const CONNECTED: &[u8] = include_bytes!("testdata/connected.bin");
    const SEND: &[u8] = include_bytes!("testdata/send.bin");
    const MESSAGE: &[u8] = include_bytes!("testdata/message.bin");

    #[test]
    fn real_frames() {
        assert_eq!(
            evidence(probe1(&Stomp, TCP, C, STOMP)),
            "STOMP STOMP frame, 'accept-version:1.1'"
        );
        assert_eq!(
            evidence(probe1(&Stomp, TCP, S, CONNECTED)),
            "STOMP CONNECTED frame, 'version:1.1'"
        );
        // Mid-session frames.
        assert_eq!(
            evidence(probe1(&Stomp, TCP, C, SEND)),
            "STOMP SEND frame, 'content-length:11'"
        );
        assert_eq!(
            evidence(probe1(&Stomp, TCP, S, MESSAGE)),
            "STOMP message frame, 'content-length:11'"
        );
        for (d, dir) in [(STOMP, C), (CONNECTED, S), (SEND, C), (MESSAGE, S)] {
            check_prefixes(&Stomp, TCP, dir, d, b"");
        }
    }

    #[test]
    fn not_stomp() {
        assert_eq!(
            probe1(&Stomp, TCP, C, b"CONNECT host:443 HTTP/1.1\r\n"),
            Probe::NoMatch
        );
        assert_eq!(
            probe1(&Stomp, TCP, C, b"SEND\nno header line\n\n"),
            Probe::NoMatch
        );
        assert_eq!(probe1(&Stomp, TCP, C, b"ACK\n\nbody\0"), Probe::NoMatch);
        assert_eq!(probe1(&Stomp, TCP, C, b"ERROR: bad\r\n"), Probe::NoMatch);
    }

    #[test]
    fn random_foreign() {
        assert_random_flows_rejected(&Stomp, TCP, 61613);
        foreign_never_match(&Stomp, TCP);
    }
}
