//! Telegram: voice-call relays over UDP and MTProto over TCP.
//!
//! * **Call relays (UDP)**, observed protocol of Telegram's VoIP library
//!   (libtgvoip / tgcalls, open source): every relay packet starts with the
//!   call's 16-byte peer tag. Packets addressed to the relay itself put
//!   twelve 0xFF bytes after the tag, then a 32-bit little-endian type:
//!   0xFFFFFFFE is the "public endpoints" request the client sends first
//!   (then an 8-byte query id), 0xC01572C7 the relay's self-info answer
//!   (date, query id, the client's address as an IPv4-mapped IPv6 address,
//!   port).
//! * **MTProto over TCP** (core.telegram.org/mtproto/mtproto-transports and
//!   /mtproto/description): the unobfuscated transports start with a marker
//!   (abridged: 0xEF then a length byte in 4-byte words; intermediate:
//!   0xEEEEEEEE then a 4-byte little-endian length; padded intermediate:
//!   0xDDDDDDDD then the length) or, for the full transport, with the
//!   packet's length (including itself, the seqno and the CRC32) and a
//!   seqno of 0. The first message is unencrypted:
//!   "auth_key_id = 0 (64 bits)", message_id (64 bits), message_data_length
//!   (32 bits), then `req_pq` (constructor 0x60469778) or `req_pq_multi`
//!   (0xbe7e8ef1). Obfuscated transports (random 64-byte init) cannot be
//!   recognised.

use netsift_proto::bytes::{array, le32, u8_at};
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Telegram.
pub struct Telegram;

/// libtgvoip: TLID_UDP_REFLECTOR_SELF_INFO, little-endian on the wire.
const SELF_INFO: u32 = 0xc015_72c7;
/// libtgvoip: the public-endpoints request type (all ones but the low bit).
const ENDPOINTS_REQ: u32 = 0xffff_fffe;

fn relay(d: &[u8]) -> Option<String> {
    // Tag (16) + 12 x 0xFF + type (4).
    if array::<12>(d, 16)? != [0xff; 12] {
        return None;
    }
    match le32(d, 28)? {
        ENDPOINTS_REQ if d.len() <= 64 => {
            Some("Telegram call relay: public endpoints request".to_string())
        }
        SELF_INFO if d.len() >= 56 => {
            Some("Telegram call relay: self-info reply (client's public address)".to_string())
        }
        _ => None,
    }
}

/// MTProto constructors of the first (unencrypted) message.
fn first_method(c: u32) -> Option<&'static str> {
    match c {
        0x6046_9778 => Some("req_pq"),
        0xbe7e_8ef1 => Some("req_pq_multi"),
        _ => None,
    }
}

enum V {
    Yes(String),
    More,
    No,
}

fn mtproto(d: &[u8]) -> V {
    let Some(b0) = u8_at(d, 0) else {
        return V::More;
    };
    // The first message is 40 bytes (auth_key_id 8 + message_id 8 +
    // length 4 + req_pq(_multi) 20); each transport frames it its own way.
    let (hdr, name) = match b0 {
        // Abridged: 0xef, then the length in 4-byte words (10).
        0xef => match u8_at(d, 1) {
            None => return V::More,
            Some(10) => (2, "abridged"),
            Some(_) => return V::No,
        },
        // Full: length including itself, seqno and CRC32 (52), seqno 0.
        0x34 => match (array::<4>(d, 0), array::<4>(d, 4)) {
            (Some([0x34, 0, 0, 0]), Some([0, 0, 0, 0])) => (8, "full"),
            (Some(l), _) if l != [0x34, 0, 0, 0] => return V::No,
            (Some(_), Some(_)) => return V::No,
            _ => {
                return if d.iter().skip(1).all(|&b| b == 0) {
                    V::More
                } else {
                    V::No
                }
            }
        },
        0xee | 0xdd => {
            let Some(m) = array::<4>(d, 0) else {
                return if d.iter().all(|&b| b == b0) {
                    V::More
                } else {
                    V::No
                };
            };
            if m != [b0; 4] {
                return V::No;
            }
            // Intermediate: length 40; padded: 40 plus 0-15 random bytes.
            match le32(d, 4) {
                None => return V::More,
                Some(40) => {}
                Some(41..=55) if b0 == 0xdd => {}
                Some(_) => return V::No,
            }
            (
                8,
                if b0 == 0xee {
                    "intermediate"
                } else {
                    "padded intermediate"
                },
            )
        }
        _ => return V::No,
    };
    // The message: auth_key_id (8 zero bytes), message_id, length, body.
    let Some(key_id) = array::<8>(d, hdr) else {
        return V::More;
    };
    if key_id != [0; 8] {
        return V::No;
    }
    let (Some(body_len), Some(ctor)) = (le32(d, hdr + 16), le32(d, hdr + 20)) else {
        return V::More;
    };
    // req_pq(_multi) is the 4-byte constructor plus a 16-byte nonce.
    if body_len != 20 {
        return V::No;
    }
    match first_method(ctor) {
        Some(m) => V::Yes(format!("Telegram MTProto ({name} transport) {m}")),
        None => V::No,
    }
}

impl Protocol for Telegram {
    fn name(&self) -> &'static str {
        "Telegram"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[443]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        if input.transport == Transport::Tcp {
            // The client speaks first; only its stream is looked at.
            if input.dir != netsift_proto::Direction::ToServer {
                return Probe::NoMatch;
            }
            return match mtproto(d) {
                V::Yes(e) => Probe::Match(Match::new(e)),
                V::More => Probe::NeedMore,
                V::No => Probe::NoMatch,
            };
        }
        // O(1) gate: the twelve 0xFF bytes after the tag.
        if d.len() < 32 || u8_at(d, 16) != Some(0xff) || u8_at(d, 27) != Some(0xff) {
            return Probe::NoMatch;
        }
        match relay(d) {
            Some(e) => Probe::Match(Match::new(e)),
            None => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, check_prefixes, evidence,
        foreign_never_match, probe1, C, S,
    };

    const UDP: Transport = Transport::Udp;
    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const REQ: &[u8] = include_bytes!("testdata/relay_request.bin");
    const SELF: &[u8] = include_bytes!("testdata/relay_self_info.bin");
    const DATA: &[u8] = include_bytes!("testdata/relay_data.bin");

    /// An intermediate-transport req_pq_multi, built from the MTProto
    /// documentation.
    fn req_pq_multi(marker: &[u8]) -> Vec<u8> {
        let mut v = marker.to_vec();
        if marker == [0xef] {
            v.push(40 / 4); // abridged length in 4-byte words
        } else {
            v.extend_from_slice(&40u32.to_le_bytes()); // intermediate length
        }
        v.extend_from_slice(&[0; 8]); // auth_key_id = 0
        v.extend_from_slice(&0x5f3a_0000_0000_0004u64.to_le_bytes()); // message_id
        v.extend_from_slice(&20u32.to_le_bytes()); // message_data_length
        v.extend_from_slice(&0xbe7e_8ef1u32.to_le_bytes()); // req_pq_multi
        v.extend_from_slice(&[0x5a; 16]); // nonce
        v
    }

    #[test]
    fn relay_packets() {
        assert_eq!(
            evidence(probe1(&Telegram, UDP, C, REQ)),
            "Telegram call relay: public endpoints request"
        );
        assert_eq!(
            evidence(probe1(&Telegram, UDP, S, SELF)),
            "Telegram call relay: self-info reply (client's public address)"
        );
        // Encrypted relayed media carries only the tag: not claimed alone.
        assert_eq!(probe1(&Telegram, UDP, S, DATA), Probe::NoMatch);
        let mut r = REQ.to_vec();
        r[20] = 0xfe;
        assert_eq!(probe1(&Telegram, UDP, C, &r), Probe::NoMatch);
    }

    #[test]
    fn mtproto_first_message() {
        let mut full = vec![0x34, 0, 0, 0, 0, 0, 0, 0]; // length 52, seqno 0
        full.extend_from_slice(&req_pq_multi(&[0xee; 4])[8..]);
        full.extend_from_slice(&[0x11, 0x22, 0x33, 0x44]); // CRC32
        assert_eq!(
            evidence(probe1(&Telegram, TCP, C, &full)),
            "Telegram MTProto (full transport) req_pq_multi"
        );
        check_prefixes(&Telegram, TCP, C, &full, b"");
        for (m, name) in [
            (&[0xef][..], "abridged"),
            (&[0xee; 4][..], "intermediate"),
            (&[0xdd; 4][..], "padded intermediate"),
        ] {
            let v = req_pq_multi(m);
            assert_eq!(
                evidence(probe1(&Telegram, TCP, C, &v)),
                format!("Telegram MTProto ({name} transport) req_pq_multi")
            );
            check_prefixes(&Telegram, TCP, C, &v, b"");
        }
        let mut v = req_pq_multi(&[0xee; 4]);
        v[8] = 1; // an auth key id: encrypted, not a first message
        assert_eq!(probe1(&Telegram, TCP, C, &v), Probe::NoMatch);
    }

    #[test]
    fn foreign_and_random() {
        foreign_never_match(&Telegram, TCP);
        assert_foreign_rejected(&Telegram, "none");
        assert_random_flows_rejected(&Telegram, UDP, 533);
        assert_random_flows_rejected(&Telegram, TCP, 443);
    }
}
