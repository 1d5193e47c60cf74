//! NetEaseGames: the UDP transports of NetEase's online games (observed
//! protocol: NetEase publishes no specification). Three layouts are
//! recognised, each from structure that repeats across the packets of a
//! flow (seen in nDPI's `netease_games.pcapng`; nDPI reports the first and
//! second in Lost Light, Badlanders and Naraka: Bladepoint traffic):
//!
//! * **12-byte session datagrams**: byte 0 is a counter (1, 1, 2 in the
//!   capture) that is repeated in bytes 3 and 11, and bytes 4-7 are a
//!   4-byte session value XORed with that counter (the same value in both
//!   directions). The client's first datagram is `01 xx d0 01 .. .. .. ..
//!   00 01 01 01`. The opening datagram is recognised alone (7 fixed bytes
//!   and the length), any other datagram with a second, different one of
//!   the same session.
//! * **`b3 af 8d e8`** (Lost Light): the 4-byte magic opens the datagrams
//!   of both directions (30 bytes and more); two such datagrams make a
//!   match.
//! * **`07 08 08 0c`** (Naraka: Bladepoint): the magic, a 32-bit check
//!   value, the 32-bit connection id of the receiver (0 until the client
//!   learns it) and of the sender, a 16-bit packet sequence. Two datagrams
//!   whose ids agree (the same sender id in one direction, the ids swapped
//!   in the other) make a match.

use netsift_proto::bytes::{array, be16, be32};
use netsift_proto::{
    Direction, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// NetEaseGames.
pub struct NetEaseGames;

const LOST_LIGHT: [u8; 4] = [0xb3, 0xaf, 0x8d, 0xe8];
const NARAKA: [u8; 4] = [0x07, 0x08, 0x08, 0x0c];

/// Scratch kinds (scratch.0[0] low byte); bit 8 is set when the first
/// datagram came from the server.
const K_SESSION12: u64 = 1;
const K_LOST_LIGHT: u64 = 2;
const K_NARAKA: u64 = 3;

/// A 12-byte session datagram: its session value (bytes 4-7 XOR counter).
fn session12(d: &[u8]) -> Option<u32> {
    let b: [u8; 12] = array(d, 0)?;
    if d.len() != 12 || b[3] != b[0] || b[11] != b[0] || b[0] == 0 {
        return None;
    }
    let k = b[0];
    Some(u32::from_be_bytes([b[4] ^ k, b[5] ^ k, b[6] ^ k, b[7] ^ k]))
}

/// The client's opening 12-byte datagram.
fn opening(d: &[u8]) -> bool {
    d.len() == 12
        && d.first() == Some(&0x01)
        && d.get(2..4) == Some(&[0xd0, 0x01][..])
        && d.get(8..12) == Some(&[0x00, 0x01, 0x01, 0x01][..])
}

fn side(dir: Direction) -> u64 {
    match dir {
        Direction::ToServer => 0,
        Direction::ToClient => 1 << 8,
    }
}

impl Protocol for NetEaseGames {
    fn name(&self) -> &'static str {
        "NetEaseGames"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    // Observed protocol (no specification): the magics b3 af 8d e8 and
    // 07 08 08 0c, or a 12-byte datagram whose byte 0 "is a counter (1, 1,
    // 2 in the capture)"; `session12` rejects a zero counter (`b[0] == 0`).
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::range(0x01, 0xff)
    }
    fn probe(&self, input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Udp {
            return Probe::NoMatch;
        }
        let d = input.data;
        let Some(head) = array::<4>(d, 0) else {
            return Probe::NoMatch;
        };
        let kind = scratch.0[0] & 0xff;
        let from = side(input.dir);
        if head == LOST_LIGHT && d.len() >= 30 {
            if kind == K_LOST_LIGHT {
                return Probe::Match(Match::new(
                    "NetEase game datagrams with magic b3 af 8d e8 (Lost Light)",
                ));
            }
            if kind == 0 {
                scratch.0[0] = K_LOST_LIGHT | from;
                return Probe::NeedMore;
            }
            return Probe::NoMatch;
        }
        if head == NARAKA && d.len() >= 20 {
            let (Some(to_id), Some(from_id), Some(seq)) = (be32(d, 8), be32(d, 12), be16(d, 16))
            else {
                return Probe::NoMatch;
            };
            if kind == 0 {
                scratch.0 = [
                    K_NARAKA | from,
                    (u64::from(to_id) << 32) | u64::from(from_id),
                ];
                return Probe::NeedMore;
            }
            if kind != K_NARAKA {
                return Probe::NoMatch;
            }
            let first_from = scratch.0[1] as u32;
            let same_side = scratch.0[0] & (1 << 8) == from;
            let agree = if same_side {
                from_id == first_from
            } else {
                to_id == first_from
            };
            if !agree {
                return Probe::NoMatch;
            }
            return Probe::Match(Match::new(format!(
                "NetEase game datagrams with magic 07 08 08 0c (Naraka: Bladepoint), \
                 connection ids {from_id:#x} -> {to_id:#x}, sequence {seq}"
            )));
        }
        let Some(session) = session12(d) else {
            return Probe::NoMatch;
        };
        if input.dir == Direction::ToServer && opening(d) {
            return Probe::Match(Match::new(format!(
                "NetEase game session opening datagram (01 .. d0 01 ... 00 01 01 01), session {session:#010x}"
            )));
        }
        // The bytes that change between datagrams of a session (counter,
        // bytes 1-2 and 8-10): a datagram repeated verbatim (a keepalive,
        // an echo) says nothing more than the first.
        let varying = [0usize, 1, 2, 8, 9, 10].iter().fold(0u64, |acc, &i| {
            (acc << 8) | u64::from(d.get(i).copied().unwrap_or(0))
        });
        if kind == 0 {
            scratch.0 = [K_SESSION12 | from | (varying << 16), u64::from(session)];
            return Probe::NeedMore;
        }
        if kind != K_SESSION12
            || scratch.0[1] != u64::from(session)
            || scratch.0[0] >> 16 == varying
        {
            return Probe::NoMatch;
        }
        Probe::Match(Match::new(format!(
            "NetEase game 12-byte session datagrams, session {session:#010x} in two datagrams"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const UDP: Transport = Transport::Udp;
    // Sources: testdata/README.md.
    const CONNECT: &[u8] = include_bytes!("testdata/connect.bin");
    const CONNECT_REPLY: &[u8] = include_bytes!("testdata/connect_reply.bin");
    const THIRD: &[u8] = include_bytes!("testdata/third.bin");
    const LL_C: &[u8] = include_bytes!("testdata/lostlight_c.bin");
    const LL_S: &[u8] = include_bytes!("testdata/lostlight_s.bin");
    const NK_C1: &[u8] = include_bytes!("testdata/naraka_c1.bin");
    const NK_S1: &[u8] = include_bytes!("testdata/naraka_s1.bin");
    const NK_C2: &[u8] = include_bytes!("testdata/naraka_c2.bin");

    #[test]
    fn session_datagrams() {
        assert_eq!(
            evidence(probe1(&NetEaseGames, UDP, C, CONNECT)),
            "NetEase game session opening datagram (01 .. d0 01 ... 00 01 01 01), session 0x102b3c02"
        );
        // Picked up after the opening: the reply and the client's next
        // datagram share the session value.
        assert_eq!(
            feed_evidence(&NetEaseGames, UDP, 4513, &[(S, CONNECT_REPLY), (C, THIRD)]),
            "NetEase game 12-byte session datagrams, session 0x102b3c02 in two datagrams"
        );
        // One datagram alone is not enough; another session is not this one.
        assert_eq!(
            probe1(&NetEaseGames, UDP, S, CONNECT_REPLY),
            Probe::NeedMore
        );
        let mut other = THIRD.to_vec();
        other[5] ^= 0x40;
        assert_eq!(
            feed(&NetEaseGames, UDP, 4513, &[(S, CONNECT_REPLY), (C, &other)]),
            Probe::NoMatch
        );
        // The same datagram twice (a keepalive, or an echo) is not enough.
        assert_eq!(
            feed(
                &NetEaseGames,
                UDP,
                4513,
                &[(S, CONNECT_REPLY), (C, CONNECT_REPLY)]
            ),
            Probe::NoMatch
        );
        // The counter must repeat in bytes 3 and 11.
        let mut bad = CONNECT_REPLY.to_vec();
        bad[11] = 7;
        assert_eq!(probe1(&NetEaseGames, UDP, S, &bad), Probe::NoMatch);
    }

    #[test]
    fn lost_light() {
        assert_eq!(probe1(&NetEaseGames, UDP, C, LL_C), Probe::NeedMore);
        assert_eq!(
            feed_evidence(&NetEaseGames, UDP, 4170, &[(C, LL_C), (S, LL_S)]),
            "NetEase game datagrams with magic b3 af 8d e8 (Lost Light)"
        );
        assert_eq!(
            feed(&NetEaseGames, UDP, 4170, &[(C, LL_C), (S, NK_S1)]),
            Probe::NoMatch
        );
    }

    #[test]
    fn naraka() {
        assert_eq!(
            feed_evidence(&NetEaseGames, UDP, 28203, &[(C, NK_C1), (S, NK_S1)]),
            "NetEase game datagrams with magic 07 08 08 0c (Naraka: Bladepoint), connection ids 0x7e04 -> 0x1, sequence 1"
        );
        assert!(is_match(&feed(
            &NetEaseGames,
            UDP,
            28203,
            &[(C, NK_C1), (C, NK_C2)]
        )));
        // The server's datagram names another client.
        let mut s = NK_S1.to_vec();
        s[11] = 9;
        assert_eq!(
            feed(&NetEaseGames, UDP, 28203, &[(C, NK_C1), (S, &s)]),
            Probe::NoMatch
        );
    }

    #[test]
    fn first_bytes_declared() {
        for (dir, d) in [
            (C, CONNECT),
            (S, CONNECT_REPLY),
            (C, THIRD),
            (C, LL_C),
            (S, LL_S),
            (C, NK_C1),
            (S, NK_S1),
            (C, NK_C2),
        ] {
            crate::testkit::first_bytes_hold(&NetEaseGames, &input(UDP, dir, d, b"", 0));
        }
    }

    #[test]
    fn prefixes_random_and_foreign() {
        for d in [CONNECT, CONNECT_REPLY, LL_C, NK_C1, NK_S1] {
            check_prefixes(&NetEaseGames, UDP, C, d, b"");
        }
        assert_random_flows_rejected(&NetEaseGames, UDP, 4513);
        assert_foreign_rejected(&NetEaseGames, "NetEase");
        foreign_never_match(&NetEaseGames, UDP);
        assert_eq!(
            probe1(&NetEaseGames, Transport::Tcp, C, CONNECT),
            Probe::NoMatch
        );
    }
}
