//! Ethereum peer-to-peer networking (devp2p specifications, "RLPx
//! Transport Protocol" rlpx.md and "Node Discovery Protocol v4"
//! discv4.md; EIP-8 for the size-prefixed handshake).
//!
//! TCP (RLPx): the initiator sends `auth`, the recipient answers `ack`,
//! each an ECIES message `0x04 || R (64 bytes: the ephemeral public key,
//! uncompressed secp256k1 point) || iv (16) || c || d (32)`:
//! * pre-EIP-8: "auth -> E(remote-pubk, ...)" is 307 bytes and ack 210
//!   bytes, and the message starts with the 0x04 point tag;
//! * EIP-8: "auth-size || enc-auth-body", with `auth-size` the big-endian
//!   u16 length of the ECIES message that follows.
//!
//! Everything after the handshake is encrypted, so the probe looks at the
//! first message of either direction. The check is strong: the 64 bytes of
//! R must satisfy the curve equation y² = x³ + 7 (mod p); random bytes do
//! so with probability about 2⁻²⁵⁵.
//!
//! UDP (discovery v4): "packet = packet-header || packet-data, packet-header
//! = hash || signature || packet-type, hash = keccak256(signature ||
//! packet-type || packet-data), signature = sign(packet-type ||
//! packet-data)" with a 65-byte recoverable signature (last byte the
//! recovery id 0 or 1) and packet types 1 Ping .. 6 ENRResponse. The probe
//! recomputes the hash, a 256-bit check on one datagram. Discovery v5
//! masks its header with AES-CTR keyed by the destination's node id, which
//! a passive observer does not know, so v5 is not identified here.

mod crypto;

use netsift_proto::bytes::{array, be16, u8_at};
use netsift_proto::{Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// ETHEREUM.
pub struct Ethereum;

/// ECIES overhead: 0x04 + R (64) + iv (16) + MAC (32).
const ECIES_OVERHEAD: usize = 1 + 64 + 16 + 32;
/// discv4 header: hash (32) + signature (65) + type (1).
const DISCV4_HEADER: usize = 32 + 65 + 1;
/// discv4: "The maximum size of any packet is 1280 bytes."
const DISCV4_MAX: usize = 1280;

impl Protocol for Ethereum {
    fn name(&self) -> &'static str {
        "ETHEREUM"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp, Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[30303]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        match input.transport {
            Transport::Tcp => rlpx(input),
            Transport::Udp => discv4(input.data),
            Transport::Ip(_) => Probe::NoMatch,
        }
    }
}

fn role(dir: Direction) -> &'static str {
    match dir {
        Direction::ToServer => "auth",
        Direction::ToClient => "ack",
    }
}

/// The first RLPx handshake message of a direction.
fn rlpx(input: &ProbeInput<'_>) -> Probe {
    let d = input.data;
    let Some(&b0) = d.first() else {
        return Probe::NeedMore;
    };
    // Pre-EIP-8: the ECIES message itself, starting with the 0x04 tag.
    if b0 == 0x04 {
        return match array::<64>(d, 1) {
            None => Probe::NeedMore,
            Some(r) if crypto::on_secp256k1(&r) => Probe::Match(Match::new(format!(
                "RLPx {} (pre-EIP-8 ECIES, ephemeral key on secp256k1)",
                role(input.dir)
            ))),
            Some(_) => Probe::NoMatch,
        };
    }
    // EIP-8: u16 size, then the ECIES message (0x04 tag first). The body
    // is an RLP list of keys, nonce and version plus at least 100 bytes of
    // padding in auth; the size is bounded well below 64 KiB in practice.
    let Some(size) = be16(d, 0) else {
        return Probe::NeedMore;
    };
    let size = usize::from(size);
    if !(ECIES_OVERHEAD + 64..=8192).contains(&size) {
        return Probe::NoMatch;
    }
    match u8_at(d, 2) {
        None => return Probe::NeedMore,
        Some(0x04) => {}
        Some(_) => return Probe::NoMatch,
    }
    match array::<64>(d, 3) {
        None => Probe::NeedMore,
        Some(r) if crypto::on_secp256k1(&r) => Probe::Match(Match::new(format!(
            "RLPx {} (EIP-8, {size}-byte ECIES message, ephemeral key on secp256k1)",
            role(input.dir)
        ))),
        Some(_) => Probe::NoMatch,
    }
}

fn discv4(d: &[u8]) -> Probe {
    if d.len() < DISCV4_HEADER + 1 || d.len() > DISCV4_MAX {
        return Probe::NoMatch;
    }
    // Recovery id, then packet type.
    let (Some(v), Some(ty)) = (u8_at(d, 96), u8_at(d, 97)) else {
        return Probe::NoMatch;
    };
    let name = match ty {
        1 => "Ping",
        2 => "Pong",
        3 => "FindNode",
        4 => "Neighbors",
        5 => "ENRRequest",
        6 => "ENRResponse",
        _ => return Probe::NoMatch,
    };
    // packet-data is an RLP list: its first byte is 0xc0..=0xff.
    if v > 1 || u8_at(d, DISCV4_HEADER).is_none_or(|b| b < 0xc0) {
        return Probe::NoMatch;
    }
    let (Some(hash), Some(rest)) = (array::<32>(d, 0), d.get(32..)) else {
        return Probe::NoMatch;
    };
    if crypto::keccak256(rest) != hash {
        return Probe::NoMatch;
    }
    Probe::Match(Match::new(format!(
        "Ethereum discovery v4 {name}, keccak256 packet hash verified"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const AUTH: &[u8] = include_bytes!("testdata/rlpx_auth_eip8.bin");
    const ACK: &[u8] = include_bytes!("testdata/rlpx_ack_eip8.bin");
    const PING: &[u8] = include_bytes!("testdata/discv4_ping.bin");
    const PONG: &[u8] = include_bytes!("testdata/discv4_pong.bin");
    const NEIGHBORS: &[u8] = include_bytes!("testdata/discv4_neighbors.bin");

    #[test]
    fn rlpx_handshake_either_direction() {
        let e = evidence(probe1(&Ethereum, Transport::Tcp, C, AUTH));
        assert_eq!(
            e,
            "RLPx auth (EIP-8, 572-byte ECIES message, ephemeral key on secp256k1)"
        );
        let e = evidence(probe1(&Ethereum, Transport::Tcp, S, ACK));
        assert!(e.starts_with("RLPx ack (EIP-8, 394-byte"), "{e}");
        // Only the responder's side captured.
        let e = evidence(probe_at(&Ethereum, Transport::Tcp, S, ACK, &[], 0));
        assert!(e.contains("ack"));
    }

    #[test]
    fn pre_eip8_auth() {
        // A pre-EIP-8 auth is the bare 307-byte ECIES message: the tag
        // 0x04 and R. R here is the ephemeral key of the EIP-8 capture,
        // then 242 bytes standing for iv, ciphertext and MAC.
        let mut m = vec![0x04];
        m.extend_from_slice(&AUTH[3..67]);
        m.resize(307, 0x5a);
        let e = evidence(probe1(&Ethereum, Transport::Tcp, C, &m));
        assert!(e.starts_with("RLPx auth (pre-EIP-8"), "{e}");
        // One flipped bit of R: not a curve point.
        m[40] ^= 1;
        assert_eq!(probe1(&Ethereum, Transport::Tcp, C, &m), Probe::NoMatch);
    }

    #[test]
    fn discovery_v4_packets() {
        for (p, name) in [(PING, "Ping"), (PONG, "Pong"), (NEIGHBORS, "Neighbors")] {
            let e = evidence(probe1(&Ethereum, Transport::Udp, C, p));
            assert_eq!(
                e,
                format!("Ethereum discovery v4 {name}, keccak256 packet hash verified")
            );
        }
        let mut bad = PING.to_vec();
        bad[120] ^= 0x10;
        assert_eq!(probe1(&Ethereum, Transport::Udp, C, &bad), Probe::NoMatch);
    }

    #[test]
    fn prefixes() {
        check_prefixes(&Ethereum, Transport::Tcp, C, AUTH, &[]);
        check_prefixes(&Ethereum, Transport::Tcp, S, ACK, AUTH);
        check_prefixes(&Ethereum, Transport::Udp, C, PING, &[]);
    }

    #[test]
    fn random_and_foreign_rejected() {
        assert_random_flows_rejected(&Ethereum, Transport::Tcp, 30303);
        assert_random_flows_rejected(&Ethereum, Transport::Udp, 30303);
        foreign_never_match(&Ethereum, Transport::Tcp);
        foreign_never_match(&Ethereum, Transport::Udp);
    }
}
