//! Ookla: the Speedtest.net server's TCP text protocol (Ookla does not
//! publish it; the commands are documented by open-source speedtest
//! clients and visible in any capture of the Speedtest apps; servers
//! listen on 8080 and 5060).
//!
//! Newline-terminated ASCII commands from the client:
//! * `HI` or `HI <client-guid>` — greeting; the server answers
//!   `HELLO <major>.<minor> (<version>) <date>...`;
//! * `GETIP`, `CAPABILITIES`, `PING <timestamp>`, `DOWNLOAD <bytes>`,
//!   `UPLOAD <bytes> <offset>`, `QUIT`.
//!
//! The probe reads the first line of the client's stream (or of the
//! server's, for one-direction captures: `HELLO x.y (`) and requires one
//! of these exact forms (numbers where the command takes numbers).

use netsift_proto::{
    text_line, Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// Ookla.
pub struct Ookla;

/// Longest first line considered.
const MAX_LINE: usize = 96;

/// The client's first-line keywords (followed by a space, or the line's end).
const CLIENT: &[&[u8]] = &[
    b"HI",
    b"GETIP",
    b"CAPABILITIES",
    b"PING ",
    b"DOWNLOAD ",
    b"UPLOAD ",
];

fn digits(s: &[u8]) -> bool {
    !s.is_empty() && s.len() <= 20 && s.iter().all(u8::is_ascii_digit)
}

/// A client line: `Some(what)` when it is one of the commands.
fn client_line(l: &[u8]) -> Option<&'static str> {
    let mut words = l.split(|&b| b == b' ');
    let cmd = words.next()?;
    let args: [Option<&[u8]>; 3] = [words.next(), words.next(), words.next()];
    match (cmd, args) {
        (b"HI", [None, ..]) => Some("HI greeting"),
        (b"HI", [Some(g), None, _])
            if !g.is_empty()
                && g.len() <= 64
                && g.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-') =>
        {
            Some("HI greeting with client id")
        }
        (b"GETIP", [None, ..]) => Some("GETIP"),
        (b"CAPABILITIES", [None, ..]) => Some("CAPABILITIES"),
        (b"PING", [Some(t), None, _]) if digits(t) => Some("PING"),
        (b"DOWNLOAD", [Some(n), None, _]) if digits(n) => Some("DOWNLOAD"),
        (b"UPLOAD", [Some(n), Some(o), None]) if digits(n) && digits(o) => Some("UPLOAD"),
        _ => None,
    }
}

/// The server greeting `HELLO <d>.<d> (`.
fn server_line(l: &[u8]) -> bool {
    let Some(rest) = l.strip_prefix(b"HELLO ") else {
        return false;
    };
    let Some(sp) = rest.iter().position(|&b| b == b' ') else {
        return false;
    };
    let (ver, tail) = rest.split_at(sp);
    let mut parts = ver.split(|&b| b == b'.');
    let ok_ver =
        matches!((parts.next(), parts.next()), (Some(a), Some(b)) if digits(a) && digits(b));
    ok_ver && tail.starts_with(b" (")
}

/// Whether `d` (no newline yet) could still become an accepted line.
fn could_be(d: &[u8], server: bool) -> bool {
    let fits = |k: &[u8]| {
        let n = d.len().min(k.len());
        d.get(..n) == k.get(..n)
    };
    if server {
        fits(b"HELLO ")
    } else {
        CLIENT.iter().any(|k| fits(k))
    }
}

impl Protocol for Ookla {
    fn name(&self) -> &'static str {
        "Ookla"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[8080, 5060]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let server = input.dir == Direction::ToClient;
        match text_line(d, MAX_LINE) {
            Ok(l) => {
                if server {
                    if server_line(l) {
                        return Probe::Match(Match::new(format!(
                            "Speedtest server greeting '{}'",
                            netsift_proto::printable(l, 40)
                        )));
                    }
                } else if let Some(what) = client_line(l) {
                    return Probe::Match(Match::new(format!(
                        "Speedtest client {what}: '{}'",
                        netsift_proto::printable(l, 40)
                    )));
                }
                Probe::NoMatch
            }
            Err(true) if could_be(d, server) => Probe::NeedMore,
            Err(_) => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_random_flows_rejected, check_prefixes, evidence, foreign_never_match, probe1, C, S,
    };
    use netsift_proto::Transport::Tcp;

    #[test]
    fn client_commands() {
        assert_eq!(
            evidence(probe1(&Ookla, Tcp, C, b"HI\n")),
            "Speedtest client HI greeting: 'HI'"
        );
        assert_eq!(
            evidence(probe1(
                &Ookla,
                Tcp,
                C,
                b"HI 3f2504e0-4f89-11d3-9a0c-0305e82c3301\n"
            )),
            "Speedtest client HI greeting with client id: 'HI 3f2504e0-4f89-11d3-9a0c-0305e82c3301'"
        );
        for l in [
            &b"GETIP\n"[..],
            b"CAPABILITIES\n",
            b"PING 1700000000123\n",
            b"DOWNLOAD 25000000\n",
            b"UPLOAD 25000000 0\n",
        ] {
            assert!(
                matches!(probe1(&Ookla, Tcp, C, l), Probe::Match(_)),
                "{l:?}"
            );
            check_prefixes(&Ookla, Tcp, C, l, b"");
        }
        for l in [
            &b"HIT\n"[..],
            b"PING :irc.example\n",
            b"DOWNLOAD x\n",
            b"HI a b\n",
        ] {
            assert_eq!(probe1(&Ookla, Tcp, C, l), Probe::NoMatch, "{l:?}");
        }
    }

    #[test]
    fn server_greeting() {
        let g = b"HELLO 2.9 (2.9.0) 2020-03-16.1532.c4cbcd7\n";
        assert_eq!(
            evidence(probe1(&Ookla, Tcp, S, g)),
            "Speedtest server greeting 'HELLO 2.9 (2.9.0) 2020-03-16.1532.c4cbcd...'"
        );
        check_prefixes(&Ookla, Tcp, S, g, b"HI\n");
        assert_eq!(probe1(&Ookla, Tcp, S, b"HELLO world\n"), Probe::NoMatch);
    }

    #[test]
    fn random_and_foreign() {
        assert_random_flows_rejected(&Ookla, Tcp, 8080);
        foreign_never_match(&Ookla, Tcp);
    }
}
