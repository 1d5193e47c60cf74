//! The BSD remote shell family: rsh (rshd, 514), rexec (rexecd, 512) and
//! rlogin (rlogind, 513), over TCP. Specifications: rshd(8), rexecd(8)
//! and RFC 1282 (rlogin).
//!
//! rshd(8): "The server reads characters from the socket up to a null
//! (`\0') byte. The resultant string is interpreted as an ASCII number,
//! base 10" (the port for standard error, or empty); then "a null
//! terminated user name of at most 16 characters" (the client's),
//! "a null terminated user name ... on the server's machine", and "a null
//! terminated command to be passed to a shell". rexecd(8) reads the same
//! way: port, user name, password, command. The server answers with a
//! single `\0` on success or `\1` and a message.
//! RFC 1282 §"Connection Establishment": the client sends "a null byte,
//! the user's name on the client machine (terminated by a null), the user's
//! name on the server machine (terminated by a null), the terminal type
//! and speed separated by a slash (terminated by a null)".
//!
//! The whole NUL-separated handshake must parse: a decimal port (at most
//! 65535) or empty, user names of name characters, then a printable
//! command (rsh/rexec) or `term/speed` (rlogin). The server port only
//! names the variant (rsh vs rexec), which share the layout.

use netsift_proto::{printable, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// RSH.
pub struct Rsh;

/// Up to four NUL-terminated fields; `None` for an unterminated tail.
fn fields(d: &[u8]) -> ([Option<&[u8]>; 4], usize) {
    let mut out = [None; 4];
    let mut p = 0;
    let mut n = 0;
    while n < 4 {
        let Some(rest) = d.get(p..) else { break };
        let Some(z) = rest.iter().take(1024).position(|&b| b == 0) else {
            break;
        };
        out[n] = rest.get(..z);
        p += z + 1;
        n += 1;
    }
    (out, n)
}

/// A login name: POSIX portable characters, starting with a letter or `_`.
fn user_ok(u: &[u8]) -> bool {
    (1..=32).contains(&u.len())
        && u.first()
            .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_')
        && u.iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'$' | b'@'))
}

fn port_ok(p: &[u8]) -> bool {
    p.len() <= 5
        && p.iter().all(u8::is_ascii_digit)
        && (p.is_empty()
            || std::str::from_utf8(p)
                .ok()
                .and_then(|s| s.parse::<u16>().ok())
                .is_some())
}

/// Whether a partial tail could still become field `i`.
fn tail_ok(i: usize, t: &[u8], rlogin: bool) -> bool {
    match (i, rlogin) {
        (0, false) => port_ok(t),
        (1 | 2, _) | (0, true) => t.len() <= 32 && (t.is_empty() || user_ok(t)),
        _ => t.len() < 1024 && t.iter().all(|&b| b >= 0x20 && b != 0x7f || b == b'\t'),
    }
}

impl Protocol for Rsh {
    fn name(&self) -> &'static str {
        "RSH"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[514, 512, 513]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        if input.dir == netsift_proto::Direction::ToClient {
            // The server answers \0 or \1 + message; judged with the client.
            return match input.data.first() {
                Some(0 | 1) => Probe::NeedMore,
                None => Probe::NeedMore,
                Some(_) if !input.peer.is_empty() => Probe::NeedMore,
                Some(_) => Probe::NoMatch,
            };
        }
        let d = input.data;
        // O(1) reject: the handshake opens with the port's digits or the
        // NUL of an empty port (rlogin).
        match d.first() {
            None => return Probe::NeedMore,
            Some(b'0'..=b'9' | 0) => {}
            Some(_) => return Probe::NoMatch,
        }
        // rlogin starts with an empty field; rsh's port may be empty too
        // ("0" or "" when no stderr channel), so an empty first field means
        // rlogin only when the last field is term/speed.
        let (f, n) = fields(d);
        let consumed: usize = f.iter().take(n).map(|x| x.map_or(0, |s| s.len() + 1)).sum();
        let tail = d.get(consumed..).unwrap_or(&[]);
        let rlogin_shape = f[0] == Some(&b""[..]);
        // Check complete fields.
        for (i, x) in f.iter().take(n).enumerate() {
            let x = x.unwrap_or(&[]);
            let ok = match i {
                0 => port_ok(x),
                1 | 2 => user_ok(x) || (i == 2 && !rlogin_shape && user_ok_password(x)),
                _ => !x.is_empty() && x.iter().all(|&b| b >= 0x20 && b != 0x7f || b == b'\t'),
            };
            if !ok {
                return Probe::NoMatch;
            }
        }
        if n < 4 {
            return if tail_ok(n, tail, false) || (rlogin_shape && tail_ok(n, tail, true)) {
                Probe::NeedMore
            } else {
                Probe::NoMatch
            };
        }
        let last = f[3].unwrap_or(&[]);
        let (a, b) = (f[1].unwrap_or(&[]), f[2].unwrap_or(&[]));
        // The handshake is the client's whole first flight: it then waits
        // for the server's \0 (or \1 and an error) before sending anything
        // else. Text in UTF-16 (ASCII letters between NULs) fails here or on
        // the single-letter names.
        let answered = matches!(input.peer.first(), Some(0 | 1));
        if (!tail.is_empty() && !answered) || a.len().max(b.len()) < 2 {
            return Probe::NoMatch;
        }
        // rlogin: term/speed, e.g. "xterm/38400".
        if rlogin_shape {
            if let Some(slash) = last.iter().position(|&c| c == b'/') {
                let speed = last.get(slash + 1..).unwrap_or(&[]);
                if !speed.is_empty() && speed.iter().all(u8::is_ascii_digit) {
                    return Probe::Match(Match::new(format!(
                        "rlogin: client user '{}' as '{}', terminal '{}'",
                        printable(a, 32),
                        printable(b, 32),
                        printable(last, 40)
                    )));
                }
            }
        }
        let port = f[0].unwrap_or(&[]);
        let what = if input.server_port == 512 {
            // rexec: user, password, command (port only names the variant).
            format!(
                "rexec: user '{}' runs '{}'",
                printable(a, 32),
                printable(last, 60)
            )
        } else {
            format!(
                "rsh: client user '{}' as '{}' runs '{}'",
                printable(a, 32),
                printable(b, 32),
                printable(last, 60)
            )
        };
        let sp = if port.is_empty() {
            String::new()
        } else {
            format!(", stderr port {}", printable(port, 5))
        };
        Probe::Match(Match::new(format!("{what}{sp}")))
    }
}

/// rexec's third field is a password: any printable text.
fn user_ok_password(p: &[u8]) -> bool {
    p.len() <= 64 && p.iter().all(|&b| (0x21..0x7f).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const TCP: Transport = Transport::Tcp;

    #[test]
    fn rsh_redone_client() {
        // Sources: testdata/README.md.
        let d = include_bytes!("testdata/rsh_redone_handshake.bin");
        assert_eq!(
            evidence(probe1(&Rsh, TCP, C, d)),
            "rsh: client user 'root' as 'nobody' runs 'id', stderr port 1022"
        );
        check_prefixes(&Rsh, TCP, C, d, b"");
    }

    #[test]
    fn rsh_handshake() {
        let d = b"1022\0alice\0bob\0ls -l /tmp\0";
        assert_eq!(
            evidence(probe1(&Rsh, TCP, C, d)),
            "rsh: client user 'alice' as 'bob' runs 'ls -l /tmp', stderr port 1022"
        );
        check_prefixes(&Rsh, TCP, C, d, b"");
        // No stderr channel: empty port.
        let d = b"\0root\0root\0uptime\0";
        assert!(evidence(probe1(&Rsh, TCP, C, d)).starts_with("rsh: client user 'root'"));
    }

    #[test]
    fn rlogin_handshake() {
        let d = b"\0alice\0bob\0xterm-256color/38400\0";
        assert_eq!(
            evidence(probe1(&Rsh, TCP, C, d)),
            "rlogin: client user 'alice' as 'bob', terminal 'xterm-256color/38400'"
        );
        check_prefixes(&Rsh, TCP, C, d, b"");
    }

    #[test]
    fn not_rsh() {
        for d in [
            &b"GET / HTTP/1.1\r\n\r\n"[..],
            b"99999\0a\0b\0c\0",
            b"1022\0al ice\0bob\0ls\0",
            b"\0\0\0\0",
            // UTF-16LE text: "8000-0080" ...
            b"8\x000\x000\x000\x00-\x000\x000\x008\x000\x00",
            b"1022\0alice\0bob\0ls\0more data",
        ] {
            assert_eq!(probe1(&Rsh, TCP, C, d), Probe::NoMatch, "{d:?}");
        }
    }

    #[test]
    fn random_foreign() {
        assert_random_flows_rejected(&Rsh, TCP, 514);
        foreign_never_match(&Rsh, TCP);
        assert_foreign_rejected(&Rsh, "rsh");
    }
}
