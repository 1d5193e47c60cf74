//! GenshinImpact (miHoYo/HoYoverse): observed protocol, from nDPI's
//! `genshin-impact.pcap`; no specification is published.
//!
//! * **UDP**: the game's KCP transport opens with a fixed 20-byte handshake
//!   (five u32 BE): the client's `0x000000ff, conv 0, token, 1234567890
//!   (0x499602d2), 0xffffffff`; the server's `0x00000145, conv, token,
//!   1234567890, 0x14514545`; a disconnect is `0x00000194 ... 0x19419494`.
//!   The constant fourth word and the paired first/last words identify one
//!   datagram.
//! * **TCP** (the login/gateway connections): messages of a version byte
//!   0x01, a u32 BE total message length, a type byte, and an 8-byte
//!   session id at offset 10 that every message of the connection repeats.
//!   Two consecutive messages of a direction (or the first message of each
//!   direction) with the same session id identify the stream.

use netsift_proto::bytes::{array, be32, u8_at};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// GenshinImpact.
pub struct GenshinImpact;

const HANDSHAKE_WORD: u32 = 1_234_567_890;

fn udp(d: &[u8]) -> Probe {
    if d.len() != 20 || be32(d, 12) != Some(HANDSHAKE_WORD) {
        return Probe::NoMatch;
    }
    let kind = match (be32(d, 0), be32(d, 16)) {
        (Some(0xff), Some(0xffff_ffff)) => "connect",
        (Some(0x145), Some(0x1451_4545)) => "connect reply",
        (Some(0x194), Some(0x1941_9494)) => "disconnect",
        _ => return Probe::NoMatch,
    };
    let conv = be32(d, 4).unwrap_or(0);
    Probe::Match(Match::new(format!(
        "GenshinImpact KCP handshake {kind} (magic 1234567890), conv 0x{conv:08x}"
    )))
}

/// A TCP message header: (total length, type, session id).
fn tcp_msg(d: &[u8], off: usize) -> Option<(usize, u8, [u8; 8])> {
    if u8_at(d, off)? != 0x01 {
        return None;
    }
    let len = be32(d, off + 1)? as usize;
    if !(18..=0xffff).contains(&len) {
        return None;
    }
    Some((len, u8_at(d, off + 5)?, array::<8>(d, off + 10)?))
}

fn tcp(input: &ProbeInput<'_>) -> Probe {
    let d = input.data;
    // Byte 0 and the high length bytes decide early.
    if u8_at(d, 0).is_some_and(|b| b != 0x01) || u8_at(d, 1).is_some_and(|b| b != 0) {
        return Probe::NoMatch;
    }
    if d.len() < 18 {
        return Probe::NeedMore;
    }
    let Some((len, ty, sid)) = tcp_msg(d, 0) else {
        return Probe::NoMatch;
    };
    if sid == [0; 8] {
        return Probe::NoMatch;
    }
    if d.len() < len {
        return Probe::NeedMore;
    }
    // The first message is complete and the stream goes on with another
    // message (or ends there): Diameter, whose first bytes look alike
    // (version 1, then a 24-bit length and a flags byte), does not line up.
    if !complete(d, len) {
        return Probe::NoMatch;
    }
    // The other direction's first message, also complete, carries the same
    // session id.
    if let Some((plen, pty, psid)) = tcp_msg(input.peer, 0) {
        if psid == sid && input.peer.len() >= plen && complete(input.peer, plen) {
            return Probe::Match(Match::new(format!(
                "GenshinImpact TCP messages type {ty} / {pty} sharing session id {}",
                hex(&sid)
            )));
        }
    }
    if d.len() < len + 18 {
        return Probe::NeedMore;
    }
    match tcp_msg(d, len) {
        Some((_, ty2, sid2)) if sid2 == sid => Probe::Match(Match::new(format!(
            "GenshinImpact TCP messages type {ty} then {ty2} sharing session id {}",
            hex(&sid)
        ))),
        _ => Probe::NoMatch,
    }
}

/// A message of `len` bytes ends the prefix or is followed by another
/// message's version byte.
fn complete(d: &[u8], len: usize) -> bool {
    d.len() == len || d.get(len) == Some(&0x01)
}

use netsift_proto::bytes::hex;

impl Protocol for GenshinImpact {
    fn name(&self) -> &'static str {
        "GenshinImpact"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[22101, 22102]
    }
    // Observed protocol (module doc): the UDP handshake's first u32 BE is
    // 0x000000ff, 0x00000145 or 0x00000194 (first octet 0x00); TCP
    // messages start with "a version byte 0x01".
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x00, 0x01])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        match input.transport {
            Transport::Udp => udp(input.data),
            Transport::Tcp => tcp(input),
            Transport::Ip(_) => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const HS_C: &[u8] = include_bytes!("testdata/udp_handshake_client.bin");
    const HS_S: &[u8] = include_bytes!("testdata/udp_handshake_server.bin");
    const TCP_C: &[u8] = include_bytes!("testdata/tcp_client_two_msgs.bin");
    const TCP_S: &[u8] = include_bytes!("testdata/tcp_server_first.bin");

    #[test]
    fn udp_handshake() {
        let e = evidence(probe1(&GenshinImpact, Transport::Udp, C, HS_C));
        assert_eq!(
            e,
            "GenshinImpact KCP handshake connect (magic 1234567890), conv 0x00000000"
        );
        let e = evidence(probe1(&GenshinImpact, Transport::Udp, S, HS_S));
        assert!(e.contains("connect reply"), "{e}");
        check_prefixes(&GenshinImpact, Transport::Udp, C, HS_C, &[]);
    }

    #[test]
    fn tcp_stream_one_direction_and_both() {
        let e = evidence(probe1(&GenshinImpact, Transport::Tcp, C, TCP_C));
        assert!(e.contains("type 7 then 3"), "{e}");
        check_prefixes(&GenshinImpact, Transport::Tcp, C, TCP_C, &[]);
        // The server's first message against the client's.
        let e = evidence(probe_at(
            &GenshinImpact,
            Transport::Tcp,
            S,
            TCP_S,
            &TCP_C[..42],
            0,
        ));
        assert!(e.contains("type 8 / 7"), "{e}");
    }

    #[test]
    fn first_bytes_declared() {
        use crate::testkit::first_bytes_hold;
        first_bytes_hold(&GenshinImpact, &input(Transport::Udp, C, HS_C, &[], 0));
        first_bytes_hold(&GenshinImpact, &input(Transport::Udp, S, HS_S, &[], 0));
        first_bytes_hold(&GenshinImpact, &input(Transport::Tcp, C, TCP_C, &[], 0));
        first_bytes_hold(
            &GenshinImpact,
            &input(Transport::Tcp, S, TCP_S, &TCP_C[..42], 0),
        );
    }

    #[test]
    fn random_and_foreign_rejected() {
        assert_random_flows_rejected(&GenshinImpact, Transport::Udp, 22101);
        assert_random_flows_rejected(&GenshinImpact, Transport::Tcp, 22101);
        assert_foreign_rejected(&GenshinImpact, "genshin");
        foreign_never_match(&GenshinImpact, Transport::Tcp);
        foreign_never_match(&GenshinImpact, Transport::Udp);
    }
}
