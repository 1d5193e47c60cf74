//! RakNet (Jenkins Software's RakNet, now open source under Facebook's
//! BSD licence; the wire format is documented in `MessageIdentifiers.h`,
//! `ReliabilityLayer.cpp` and, for Minecraft Bedrock, on wiki.vg "Raknet
//! Protocol"), over UDP on any port.
//!
//! Two kinds of datagrams:
//! * **offline messages** (before a connection exists) carry the 16-byte
//!   "OFFLINE_MESSAGE_DATA_ID" magic `00 ff ff 00 fe fe fe fe fd fd fd fd
//!   12 34 56 78` at a fixed offset per message id: one is enough;
//! * **connected datagrams**: a frame set (`0x80..=0x8f`, u24 LE sequence
//!   number, then encapsulated frames whose bit lengths must add up to the
//!   datagram exactly), an ACK (`0xc0`) or a NAK (`0xa0`) (u16 record count,
//!   records of a single u24 or a u24 range, exactly filling the datagram).
//!   ACK/NAK records leave no slack, so one is enough; a frame set's header
//!   is short, so two frame sets of one direction must agree (sequence
//!   numbers within a small window).

use netsift_proto::bytes::{array, be16, be32, le24, u8_at};
use netsift_proto::{
    Direction, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// RakNet.
pub struct RakNet;

/// `OFFLINE_MESSAGE_DATA_ID` (RakPeer.cpp).
pub(crate) const MAGIC: [u8; 16] = [
    0x00, 0xff, 0xff, 0x00, 0xfe, 0xfe, 0xfe, 0xfe, 0xfd, 0xfd, 0xfd, 0xfd, 0x12, 0x34, 0x56, 0x78,
];

fn magic_at(d: &[u8], off: usize) -> bool {
    array::<16>(d, off) == Some(MAGIC)
}

/// Offline message ids (MessageIdentifiers.h) and where their magic sits.
fn offline(d: &[u8]) -> Option<&'static str> {
    let (name, off) = offline_layout(*d.first()?)?;
    magic_at(d, off).then_some(name)
}

/// An offline message id's name and where its magic starts (the
/// declaration of first bytes is built from it too).
const fn offline_layout(id: u8) -> Option<(&'static str, usize)> {
    Some(match id {
        // ID_UNCONNECTED_PING / _OPEN_CONNECTIONS: time (8), magic, guid (8).
        0x01 => ("unconnected ping", 9),
        0x02 => ("unconnected ping (open connections)", 9),
        // ID_OPEN_CONNECTION_REQUEST_1/REPLY_1/REQUEST_2/REPLY_2: magic first.
        0x05 => ("open connection request 1", 1),
        0x06 => ("open connection reply 1", 1),
        0x07 => ("open connection request 2", 1),
        0x08 => ("open connection reply 2", 1),
        // Refusals: ALREADY_CONNECTED, NO_FREE_INCOMING_CONNECTIONS,
        // CONNECTION_BANNED, IP_RECENTLY_CONNECTED: magic first.
        0x12 => ("already connected", 1),
        0x14 => ("no free incoming connections", 1),
        0x17 => ("connection banned", 1),
        0x1a => ("IP recently connected", 1),
        // ID_INCOMPATIBLE_PROTOCOL_VERSION: protocol (1), magic, guid.
        0x19 => ("incompatible protocol version", 2),
        // ID_UNCONNECTED_PONG: time (8), guid (8), magic, then the server
        // string (u16 BE length + bytes).
        0x1c => ("unconnected pong", 17),
        _ => return None,
    })
}

/// Offline message ids (`offline_layout`), and a connected datagram's
/// flags byte: frame sets 0x80..=0x8f, ACK 0xc0, NAK 0xa0.
const FIRST_BYTES: FirstBytes = {
    let mut s = FirstBytes::range(0x80, 0x8f).with(0xa0).with(0xc0);
    let mut id = 0usize;
    while id < 256 {
        // `id` < 256.
        if offline_layout(id as u8).is_some() {
            s = s.with(id as u8);
        }
        id += 1;
    }
    s
};

/// ID_UNCONNECTED_PONG whose magic is not the standard one but whose
/// server-id string (u16 BE length at offset 33) fills the datagram
/// exactly: some servers (and nDPI's sample) use their own magic.
fn pong_by_length(d: &[u8]) -> bool {
    d.first() == Some(&0x1c)
        && d.len() > 35
        && be16(d, 33).is_some_and(|n| usize::from(n) + 35 == d.len())
}

/// ACK (0xc0) / NAK (0xa0): u16 BE record count, each record a flag byte
/// (1 = single sequence number, 0 = range) then one or two u24 LE numbers;
/// the records fill the datagram exactly.
fn ack(d: &[u8]) -> Option<u16> {
    let n = be16(d, 1)?;
    if n == 0 || n > 512 {
        return None;
    }
    let mut off = 3usize;
    for _ in 0..n {
        let (single, lo, hi) = match u8_at(d, off)? {
            1 => (true, le24(d, off + 1)?, 0),
            0 => (false, le24(d, off + 1)?, le24(d, off + 4)?),
            _ => return None,
        };
        if !single && hi < lo {
            return None;
        }
        off += if single { 4 } else { 7 };
    }
    (off == d.len()).then_some(n)
}

/// A frame set (0x80..=0x8f): u24 LE sequence number, then frames:
/// flags (reliability << 5 | split << 4, low nibble zero), u16 BE body
/// length in bits, the reliable message index (u24) for reliabilities
/// 2, 3, 4, 6, 7, the sequencing index (u24) for 1 and 4, the ordering
/// index (u24) and channel (u8) for 1, 3, 4, 7, the split header (count
/// u32, id u16, index u32) when split. The frames fill the datagram
/// exactly. Returns (sequence number, frames).
fn frame_set(d: &[u8]) -> Option<(u32, u32)> {
    let seq = le24(d, 1)?;
    let mut off = 4usize;
    let mut frames = 0u32;
    while off < d.len() && frames < 64 {
        let flags = u8_at(d, off)?;
        if flags & 0x0f != 0 {
            return None;
        }
        let rel = flags >> 5;
        let bits = be16(d, off + 1)?;
        if bits == 0 {
            return None;
        }
        let mut h = off + 3;
        if matches!(rel, 2 | 3 | 4 | 6 | 7) {
            h += 3;
        }
        if matches!(rel, 1 | 4) {
            h += 3;
        }
        if matches!(rel, 1 | 3 | 4 | 7) {
            h += 4;
        }
        if flags & 0x10 != 0 {
            let count = be32(d, h)?;
            if count == 0 {
                return None;
            }
            h += 10;
        }
        off = h + usize::from(bits).div_ceil(8);
        frames += 1;
    }
    (off == d.len() && frames > 0).then_some((seq, frames))
}

impl Protocol for RakNet {
    fn name(&self) -> &'static str {
        "RakNet"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        // Minecraft Bedrock's default server port.
        &[19132]
    }
    // MessageIdentifiers.h: an offline message starts with its message id
    // (those of `offline_layout`); a connected datagram with its flags byte
    // (ReliabilityLayer.cpp, wiki.vg "Raknet Protocol"): frame sets
    // 0x80..=0x8f, ACK 0xc0, NAK 0xa0.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FIRST_BYTES
    }
    fn probe(&self, input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let Some(&id) = d.first() else {
            return Probe::NoMatch;
        };
        if let Some(name) = offline(d) {
            return Probe::Match(Match::new(format!(
                "RakNet offline message 0x{id:02x} ({name}) with the offline magic"
            )));
        }
        match id {
            0x1c if pong_by_length(d) => Probe::Match(Match::new(
                "RakNet unconnected pong (server string fills the datagram; non-standard magic)",
            )),
            0xc0 | 0xa0 => match ack(d) {
                Some(n) => Probe::Match(Match::new(format!(
                    "RakNet {} with {n} record(s) filling the datagram",
                    if id == 0xc0 { "ACK" } else { "NAK" }
                ))),
                None => Probe::NoMatch,
            },
            0x80..=0x8f => {
                let Some((seq, frames)) = frame_set(d) else {
                    return Probe::NoMatch;
                };
                // scratch[0] / [1]: 1 << 32 | last frame-set sequence
                // number seen from the client / the server.
                let slot = usize::from(input.dir == Direction::ToClient);
                let prev = scratch.0[slot];
                scratch.0[slot] = 1 << 32 | u64::from(seq);
                if prev >> 32 == 1 {
                    let p = (prev & 0xff_ffff) as u32;
                    if seq.wrapping_sub(p) & 0xff_ffff <= 64 {
                        return Probe::Match(Match::new(format!(
                            "RakNet frame sets #{p} and #{seq} ({frames} frame(s)) filling their datagrams"
                        )));
                    }
                }
                Probe::NeedMore
            }
            _ => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const REQ1: &[u8] = include_bytes!("testdata/open_conn_req1.bin");
    const REPLY1: &[u8] = include_bytes!("testdata/open_conn_reply1.bin");
    const FRAME: &[u8] = include_bytes!("testdata/frame_set_reliable.bin");
    const ACK: &[u8] = include_bytes!("testdata/ack5.bin");
    const PONG: &[u8] = include_bytes!("testdata/pong_other_magic.bin");

    #[test]
    fn offline_messages_match_alone() {
        let e = evidence(probe1(&RakNet, Transport::Udp, C, REQ1));
        assert_eq!(
            e,
            "RakNet offline message 0x05 (open connection request 1) with the offline magic"
        );
        let e = evidence(probe1(&RakNet, Transport::Udp, S, REPLY1));
        assert!(e.contains("open connection reply 1"), "{e}");
        check_prefixes(&RakNet, Transport::Udp, C, REQ1, &[]);
    }

    /// An unconnected ping built from the spec: 0x01, time (8), magic
    /// (16), client GUID (8) = 33 bytes.
    fn unconnected_ping() -> Vec<u8> {
        let mut p = vec![0x01];
        p.extend_from_slice(&1234u64.to_be_bytes());
        p.extend_from_slice(&MAGIC);
        p.extend_from_slice(&0x1122_3344_5566_7788u64.to_be_bytes());
        p
    }

    #[test]
    fn unconnected_ping_built_from_the_spec() {
        let e = evidence(probe1(&RakNet, Transport::Udp, C, &unconnected_ping()));
        assert!(e.contains("unconnected ping"), "{e}");
    }

    #[test]
    fn ack_and_pong_match_alone() {
        let e = evidence(probe1(&RakNet, Transport::Udp, C, ACK));
        assert_eq!(e, "RakNet ACK with 5 record(s) filling the datagram");
        // nDPI's sample pong carries a placeholder magic (0x11.. 0x22..
        // 0x33..): the exact string length still pins the structure.
        let e = evidence(probe1(&RakNet, Transport::Udp, C, PONG));
        assert!(e.contains("unconnected pong"), "{e}");
        check_prefixes(&RakNet, Transport::Udp, C, ACK, &[]);
    }

    #[test]
    fn frame_sets_need_two() {
        // Mid-session, one direction only: the second frame set confirms.
        assert_eq!(probe1(&RakNet, Transport::Udp, C, FRAME), Probe::NeedMore);
        let e = feed_evidence(&RakNet, Transport::Udp, 60021, &[(C, FRAME), (C, FRAME)]);
        assert!(e.starts_with("RakNet frame sets #0 and #0"), "{e}");
        check_prefixes(&RakNet, Transport::Udp, C, FRAME, &[]);
    }

    #[test]
    fn first_bytes_declared() {
        let ping = unconnected_ping();
        for (dir, d) in [
            (C, REQ1),
            (S, REPLY1),
            (C, FRAME),
            (C, ACK),
            (C, PONG),
            (C, &ping[..]),
        ] {
            crate::testkit::first_bytes_hold(&RakNet, &input(Transport::Udp, dir, d, b"", 0));
        }
    }

    #[test]
    fn random_and_foreign_rejected() {
        assert_random_flows_rejected(&RakNet, Transport::Udp, 19132);
        assert_foreign_rejected(&RakNet, "raknet");
        foreign_never_match(&RakNet, Transport::Udp);
    }
}
