//! Spotify: the client's LAN discovery broadcast and its access-point (AP)
//! connection. Vendor protocol, no official specification; layouts as
//! documented by the open-source librespot project (its `keyexchange.proto`
//! and handshake code) and checked against nDPI's captures.
//!
//! * **UDP 57621 LAN discovery**: every datagram starts with the 8 octets
//!   `SpotUdp0` (observed in telegram.pcap, wa_voice.pcap and others:
//!   desktop clients announce themselves on the local network).
//! * **TCP AP handshake** (ports 4070, 443, 80): the client's first message
//!   is `00 04` (protocol version; `00 03` in older clients), a 4-octet
//!   big-endian length of the whole message including these 6 octets, then
//!   a protobuf `ClientHello` whose first field is `build_info` (field 10,
//!   length-delimited: tag octet 0x52). The server answers with a 4-octet
//!   length (whole message) and an `APResponseMessage` whose first field
//!   is `challenge` (field 10, tag 0x52), hundreds of octets long. After
//!   that everything is encrypted (Shannon cipher).
//!
//! The UDP magic is 8 fixed octets. The TCP client check is the version,
//! a length consistent with a handshake, and the protobuf tag with a
//! varint length that fits; the server answer alone (one-direction
//! capture) needs the challenge field to fill the message exactly.

use netsift_proto::bytes::{be16, be32, u8_at};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Spotify.
pub struct Spotify;

const UDP_MAGIC: &[u8] = b"SpotUdp";
/// Protobuf tag of field 10, wire type 2 (length-delimited).
const TAG10: u8 = 0x52;
/// Largest handshake message accepted.
const MAX_HELLO: u32 = 16 * 1024;

/// A protobuf varint at `off`: `(value, octets)`; `None` when it does not
/// fit (yet) or is longer than 4 octets (lengths here are small).
fn varint(d: &[u8], off: usize) -> Option<(u32, usize)> {
    let mut v = 0u32;
    for i in 0..4 {
        let b = u8_at(d, off + i)?;
        v |= u32::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

enum Ans {
    Yes(String),
    More,
    No,
}

/// Client hello: `00 04 | len32 | 0x52 varint ...`.
fn client_hello(d: &[u8]) -> Ans {
    let n = d.len().min(2);
    if d.get(..n) != [0u8, 4].get(..n) && d.get(..n) != [0u8, 3].get(..n) {
        return Ans::No;
    }
    let (Some(ver), Some(len), Some(tag)) = (be16(d, 0), be32(d, 2), u8_at(d, 6)) else {
        // The length's high octets are zero for a handshake.
        return if d.iter().skip(2).take(2).all(|&b| b == 0) {
            Ans::More
        } else {
            Ans::No
        };
    };
    if !(16..=MAX_HELLO).contains(&len) || tag != TAG10 {
        return Ans::No;
    }
    match varint(d, 7) {
        Some((bl, k)) if 7 + k + (bl as usize) <= len as usize && bl >= 2 => Ans::Yes(format!(
            "Spotify AP handshake v{ver}: ClientHello, {len} octets"
        )),
        Some(_) => Ans::No,
        None if d.len() < 11 => Ans::More,
        None => Ans::No,
    }
}

/// Server answer: `len32 | 0x52 varint(challenge)` filling the message.
fn ap_response(d: &[u8]) -> Ans {
    let n = d.len().min(2);
    if d.iter().take(n).any(|&b| b != 0) {
        return Ans::No;
    }
    let (Some(len), Some(tag)) = (be32(d, 0), u8_at(d, 4)) else {
        return Ans::More;
    };
    if !(128..=MAX_HELLO).contains(&len) || tag != TAG10 {
        return Ans::No;
    }
    match varint(d, 5) {
        Some((cl, k)) if 5 + k + cl as usize == len as usize => Ans::Yes(format!(
            "Spotify AP handshake: APResponseMessage (challenge), {len} octets"
        )),
        Some(_) => Ans::No,
        None if d.len() < 9 => Ans::More,
        None => Ans::No,
    }
}

impl Protocol for Spotify {
    fn name(&self) -> &'static str {
        "Spotify"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[57621, 4070]
    }
    // UDP discovery: "every datagram starts with the 8 octets `SpotUdp0`";
    // TCP (librespot): the ClientHello starts `00 04` (`00 03`), the
    // APResponseMessage with a 4-octet length of at most 16 KiB (high octet 0).
    fn first_bytes(&self, transport: Transport) -> FirstBytes {
        match transport {
            Transport::Udp => FirstBytes::only(b"S"),
            _ => FirstBytes::only(&[0x00, b'S']),
        }
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        if input.transport == Transport::Udp {
            return match (d.get(..7), u8_at(d, 7)) {
                (Some(m), Some(v)) if m == UDP_MAGIC && v.is_ascii_digit() => Probe::Match(
                    Match::new(format!("Spotify LAN discovery 'SpotUdp{}'", v as char)),
                ),
                _ => Probe::NoMatch,
            };
        }
        let ans = match input.dir {
            netsift_proto::Direction::ToServer => client_hello(d),
            netsift_proto::Direction::ToClient => {
                // With the client's bytes at hand they decide: the answer
                // counts only after a ClientHello (or with no client bytes).
                match client_hello(input.peer) {
                    Ans::No if !input.peer.is_empty() => Ans::No,
                    _ => ap_response(d),
                }
            }
        };
        match ans {
            Ans::Yes(e) => Probe::Match(Match::new(e)),
            Ans::More => Probe::NeedMore,
            Ans::No => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, check_prefixes, evidence,
        foreign_never_match, probe1, probe_at, C, S,
    };
    use netsift_proto::Transport::{Tcp, Udp};

    // Sources: testdata/README.md.
    const SPOTUDP: &[u8] = include_bytes!("testdata/spotudp.bin");
    const SPOTUDP2: &[u8] = include_bytes!("testdata/spotudp2.bin");
    const HELLO: &[u8] = include_bytes!("testdata/ap_client_hello.bin");
    const RESPONSE: &[u8] = include_bytes!("testdata/ap_response.bin");

    #[test]
    fn lan_discovery() {
        assert_eq!(
            evidence(probe1(&Spotify, Udp, C, SPOTUDP)),
            "Spotify LAN discovery 'SpotUdp0'"
        );
        assert!(matches!(
            probe1(&Spotify, Udp, C, SPOTUDP2),
            Probe::Match(_)
        ));
        check_prefixes(&Spotify, Udp, C, SPOTUDP, b"");
    }

    #[test]
    fn ap_handshake() {
        assert_eq!(
            evidence(probe1(&Spotify, Tcp, C, HELLO)),
            "Spotify AP handshake v4: ClientHello, 329 octets"
        );
        assert_eq!(
            evidence(probe_at(&Spotify, Tcp, S, RESPONSE, HELLO, 0)),
            "Spotify AP handshake: APResponseMessage (challenge), 542 octets"
        );
        // Server side alone (one-direction capture).
        assert!(matches!(
            probe1(&Spotify, Tcp, S, RESPONSE),
            Probe::Match(_)
        ));
        // After a foreign client message the answer is not claimed.
        assert_eq!(
            probe_at(&Spotify, Tcp, S, RESPONSE, b"GET / HTTP/1.1\r\n", 0),
            Probe::NoMatch
        );
        check_prefixes(&Spotify, Tcp, C, HELLO, b"");
        check_prefixes(&Spotify, Tcp, S, RESPONSE, b"");
    }

    #[test]
    fn random_and_foreign() {
        assert_random_flows_rejected(&Spotify, Udp, 57621);
        assert_random_flows_rejected(&Spotify, Tcp, 4070);
        assert_foreign_rejected(&Spotify, "none");
        foreign_never_match(&Spotify, Tcp);
        foreign_never_match(&Spotify, Udp);
    }

    #[test]
    fn first_bytes_declared() {
        for d in [SPOTUDP, SPOTUDP2] {
            crate::testkit::first_bytes_hold(&Spotify, &crate::testkit::input(Udp, C, d, &[], 0));
        }
        crate::testkit::first_bytes_hold(&Spotify, &crate::testkit::input(Tcp, C, HELLO, &[], 0));
        crate::testkit::first_bytes_hold(
            &Spotify,
            &crate::testkit::input(Tcp, S, RESPONSE, HELLO, 0),
        );
        crate::testkit::first_bytes_hold(
            &Spotify,
            &crate::testkit::input(Tcp, S, RESPONSE, &[], 0),
        );
    }
}
