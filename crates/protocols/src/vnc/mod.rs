//! VNC (RFB), identified from the ProtocolVersion handshake (RFC 6143
//! §7.1.1).
//!
//! "Handshaking begins by the server sending the client a ProtocolVersion
//! message. This lets the client know which is the highest RFB protocol
//! version number supported by the server. The client then replies with a
//! similar message giving the version number of the protocol that should
//! actually be used." "The ProtocolVersion message consists of 12 bytes
//! interpreted as a string of ASCII characters in the format
//! "RFB xxx.yyy\n" where xxx and yyy are the major and minor version
//! numbers, left-padded with zeros." Versions seen in the wild: 003.003,
//! 003.007, 003.008 (RFC 6143), 003.889 (Apple), 004.000 / 004.001
//! (RealVNC), 005.000. Either side's message identifies the flow.

use netsift_proto::{
    printable, Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// VNC.
pub struct Vnc;

/// "RFB " ddd "." ddd "\n".
const LEN: usize = 12;

impl Protocol for Vnc {
    fn name(&self) -> &'static str {
        "VNC"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[5900, 5901, 5800]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let d = input.data;
        // Pattern: 'R' 'B' 'F' ' ' d d d '.' d d d '\n'.
        for (i, &b) in d.iter().take(LEN).enumerate() {
            let ok = match i {
                0..=3 => b == b"RFB "[i],
                7 => b == b'.',
                11 => b == b'\n',
                _ => b.is_ascii_digit(),
            };
            if !ok {
                return Probe::NoMatch;
            }
        }
        if d.len() < LEN {
            return Probe::NeedMore;
        }
        // Major version 3..5 (RFC 6143 §7.1.1: "The only published protocol
        // versions at this time are 3.3, 3.7, and 3.8").
        if !(b"003"[..] == d[4..7] || d[4..7] == b"004"[..] || d[4..7] == b"005"[..]) {
            return Probe::NoMatch;
        }
        let who = match input.dir {
            Direction::ToClient => "server greeting",
            Direction::ToServer => "client reply",
        };
        Probe::Match(Match::new(format!("RFB {} {who}", printable(&d[4..11], 7))))
    }
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
    const SERVER: &[u8] = include_bytes!("testdata/server_version.bin");
    const CLIENT: &[u8] = include_bytes!("testdata/client_version.bin");

    #[test]
    fn both_sides() {
        assert_eq!(
            evidence(run(&Vnc, TCP, S, SERVER, b"")),
            "RFB 003.008 server greeting"
        );
        assert_eq!(
            evidence(run(&Vnc, TCP, C, CLIENT, SERVER)),
            "RFB 003.003 client reply"
        );
        // Followed by the security types (RFC 6143 §7.1.2).
        let e = evidence(run(&Vnc, TCP, S, b"RFB 003.889\n\x01\x02", b""));
        assert_eq!(e, "RFB 003.889 server greeting");
    }

    #[test]
    fn not_vnc() {
        assert_eq!(run(&Vnc, TCP, S, b"RFB 003.008\r\n", b""), Probe::NoMatch);
        assert_eq!(run(&Vnc, TCP, S, b"RFB 3.8\n", b""), Probe::NoMatch);
        assert_eq!(run(&Vnc, TCP, S, b"RFB 009.000\n", b""), Probe::NoMatch);
        foreign_never_match(&Vnc, TCP);
    }

    #[test]
    fn prefixes_are_consistent() {
        check_prefixes(&Vnc, TCP, S, SERVER, b"");
        check_prefixes(&Vnc, TCP, C, CLIENT, b"");
    }

    #[test]
    fn first_packet_api_on_odd_port() {
        match identify_first_payload(TCP, S, 80, SERVER) {
            FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "VNC"),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn random_bytes_are_not_vnc() {
        let hits = random_matches(&Vnc, TCP, 100_000, 0x5900, None);
        assert!(hits < 100, "{hits} random matches");
    }
}
