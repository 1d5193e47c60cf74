//! ZeroMQ's wire protocol, ZMTP, over TCP: the greeting both peers send
//! first (RFC 23/ZMTP 3.0, RFC 37/ZMTP 3.1, RFC 15/ZMTP 2.0, at
//! rfc.zeromq.org). nDPI's name: `ZeroMQ`.
//!
//! ZMTP 3.x (RFC 23 §"Formal Grammar"):
//!
//! ```text
//! greeting = signature version mechanism as-server filler
//! signature = %xFF padding %x7F
//! padding = 8OCTET        ; Not significant
//! version = version-major version-minor
//! version-major = %x03
//! version-minor = %x00    ; (ZMTP 3.1, RFC 37: %x01)
//! mechanism = 20mechanism-char
//! mechanism-char = "A"-"Z" | DIGIT | "-" | "_" | "." | "+" | %x0
//! as-server = %x00 | %x01
//! filler = 31%x00
//! ```
//!
//! ZMTP 2.0 (RFC 15): `greeting = signature revision socket-type identity`,
//! the same signature, `revision = %x01`, `socket-type` 0 (PAIR) to 8
//! (PUSH), then the identity as a final short frame: flags `%x00`, length.
//!
//! Both peers send the greeting without waiting (either direction's first
//! bytes decide), and libzmq sends it in pieces: the 10-byte signature, the
//! major version once the peer's signature arrived, then the rest. So the
//! probe waits for the version and the mechanism (ZMTP 3) or socket type and
//! identity flags (ZMTP 2) before it answers: the signature alone is only
//! 16 fixed bits.

use netsift_proto::{printable, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// ZeroMQ (ZMTP).
pub struct ZeroMq;

/// RFC 23: the mechanism name, 20 octets, "A"-"Z" | DIGIT | "-" | "_" |
/// "." | "+", padded with zeros (at least one character, no character
/// after a zero). `m` may be a prefix of the 20 octets; the name is
/// returned when what is there fits.
fn mechanism(m: &[u8]) -> Option<&[u8]> {
    let n = m.iter().position(|&b| b == 0).unwrap_or(m.len());
    let (name, pad) = m.split_at(n);
    let ok = (!name.is_empty() || m.is_empty())
        && name
            .iter()
            .all(|&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b"-_.+".contains(&b))
        && pad.iter().all(|&b| b == 0);
    ok.then_some(name)
}

/// RFC 15 socket types: PAIR 0, PUB 1, SUB 2, REQ 3, REP 4, DEALER 5,
/// ROUTER 6, PULL 7, PUSH 8.
const SOCKET_TYPES: [&str; 9] = [
    "PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH",
];

/// Judge one direction's stream prefix.
fn greeting(d: &[u8]) -> Probe {
    // signature: %xFF, 8 octets of padding, %x7F.
    match d.first() {
        None => return Probe::NeedMore,
        Some(0xFF) => {}
        Some(_) => return Probe::NoMatch,
    }
    match d.get(9) {
        None => return Probe::NeedMore,
        Some(0x7F) => {}
        Some(_) => return Probe::NoMatch,
    }
    match d.get(10) {
        None => Probe::NeedMore,
        Some(3) => {
            // version-minor, then the 20-octet mechanism, then as-server.
            match d.get(11) {
                None => return Probe::NeedMore,
                Some(0 | 1) => {}
                Some(_) => return Probe::NoMatch,
            }
            let mech = &d[12.min(d.len())..d.len().min(32)];
            let Some(name) = mechanism(mech) else {
                return Probe::NoMatch;
            };
            if mech.len() < 20 {
                // What has come of the mechanism fits; wait for the rest.
                return Probe::NeedMore;
            }
            match d.get(32) {
                None => Probe::NeedMore,
                Some(&server @ (0 | 1)) => Probe::Match(Match::new(format!(
                    "ZMTP 3.{} greeting, mechanism {}{}",
                    d[11],
                    printable(name, 20),
                    if server == 1 { ", as server" } else { "" }
                ))),
                Some(_) => Probe::NoMatch,
            }
        }
        Some(1) => {
            // ZMTP 2.0: socket type, then the identity's final short frame.
            let Some(&ty) = d.get(11) else {
                return Probe::NeedMore;
            };
            let Some(name) = SOCKET_TYPES.get(usize::from(ty)) else {
                return Probe::NoMatch;
            };
            match (d.get(12), d.get(13)) {
                (None, _) | (Some(0), None) => Probe::NeedMore,
                (Some(0), Some(len)) => Probe::Match(Match::new(format!(
                    "ZMTP 2.0 greeting, socket type {name}, identity of {len} bytes"
                ))),
                _ => Probe::NoMatch,
            }
        }
        Some(_) => Probe::NoMatch,
    }
}

impl Protocol for ZeroMq {
    fn name(&self) -> &'static str {
        "ZeroMQ"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        // No registered port; 5555 and 5556 are the guide's examples.
        &[]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        greeting(input.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    fn unhex(h: &str) -> Vec<u8> {
        (0..h.len() / 2)
            .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    /// libzmq 4.3.5 (pyzmq 27.3.0), REQ to REP and DEALER (PLAIN) to
    /// ROUTER on loopback (crates/cli/tests/nonstd/zeromq_tcp1883.pcap):
    /// each side's stream is the 10-byte signature, then `03`, then 53
    /// bytes (minor version, mechanism, as-server, filler).
    fn libzmq_greeting(mech: &str, as_server: u8) -> Vec<u8> {
        let mut g = unhex("ff00000000000000017f");
        g.push(3);
        g.push(1);
        let mut m = mech.as_bytes().to_vec();
        m.resize(20, 0);
        g.extend(m);
        g.push(as_server);
        g.extend([0u8; 31]);
        g
    }

    #[test]
    fn zmtp3_greetings() {
        let g = libzmq_greeting("NULL", 0);
        assert_eq!(g.len(), 64);
        assert_eq!(
            evidence(probe1(&ZeroMq, Transport::Tcp, C, &g)),
            "ZMTP 3.1 greeting, mechanism NULL"
        );
        let g = libzmq_greeting("PLAIN", 1);
        assert_eq!(
            evidence(probe1(&ZeroMq, Transport::Tcp, S, &g)),
            "ZMTP 3.1 greeting, mechanism PLAIN, as server"
        );
        // The pieces libzmq sends: the signature, then the major version,
        // are not enough alone.
        assert_eq!(
            probe1(&ZeroMq, Transport::Tcp, C, &g[..10]),
            Probe::NeedMore
        );
        assert_eq!(
            probe1(&ZeroMq, Transport::Tcp, C, &g[..11]),
            Probe::NeedMore
        );
        check_prefixes(&ZeroMq, Transport::Tcp, C, &g, &[]);
    }

    #[test]
    fn zmtp2_greeting() {
        // RFC 15: signature, revision 1, socket type DEALER, empty identity.
        let g = unhex("ff00000000000000017f01050000");
        assert_eq!(
            evidence(probe1(&ZeroMq, Transport::Tcp, C, &g)),
            "ZMTP 2.0 greeting, socket type DEALER, identity of 0 bytes"
        );
        check_prefixes(&ZeroMq, Transport::Tcp, C, &g, &[]);
    }

    #[test]
    fn near_misses() {
        let mut g = libzmq_greeting("NULL", 0);
        g[10] = 4; // no ZMTP 4
        assert_eq!(probe1(&ZeroMq, Transport::Tcp, C, &g), Probe::NoMatch);
        let mut g = libzmq_greeting("null", 0); // lowercase is not a mechanism-char
        assert_eq!(probe1(&ZeroMq, Transport::Tcp, C, &g), Probe::NoMatch);
        g = libzmq_greeting("NULL", 2); // as-server is 0 or 1
        assert_eq!(probe1(&ZeroMq, Transport::Tcp, C, &g), Probe::NoMatch);
        g = libzmq_greeting("NULL", 0);
        g[14] = 0;
        g[15] = b'X'; // a character after the zero padding
        assert_eq!(probe1(&ZeroMq, Transport::Tcp, C, &g), Probe::NoMatch);
        let g = unhex("ff00000000000000017f01090000"); // socket type 9
        assert_eq!(probe1(&ZeroMq, Transport::Tcp, C, &g), Probe::NoMatch);
    }

    #[test]
    fn random_and_foreign() {
        assert_random_flows_rejected(&ZeroMq, Transport::Tcp, 5555);
        foreign_never_match(&ZeroMq, Transport::Tcp);
    }
}
