//! Starcraft: Blizzard's Battle.net game/chat protocol as nDPI names it.
//!
//! * **Battle.net classic** (BNCS, documented by the community at
//!   bnetdocs.org): a TCP client first sends a protocol selector byte
//!   (0x01 = game), then BNCS messages `0xff, id (u8), length (u16 LE,
//!   header included)`. The first is `SID_AUTH_INFO` (0x50): protocol id
//!   (u32, 0), platform id (u32, "IX86"/"PMAC"/"XMAC" stored reversed:
//!   "68XI"...), product id (u32, "STAR" Starcraft, "SEXP" Brood War,
//!   "JSTR" Japanese Starcraft, "SSHR" Starcraft Shareware, stored
//!   reversed). The selector, the header, the length and a Starcraft
//!   product id identify the stream.
//! * **Port 1119** (Battle.net 2.0): nDPI names a TCP stream that starts
//!   with the fixed 10 bytes `4a 00 00 0a 66 02 0a ed 2d 66`; its only
//!   corpus flows are fuzzing seeds (`ossfuzz_seed_fake_traces_1.pcapng`),
//!   kept because a fixed 10-byte preamble cannot occur by chance.

use netsift_proto::bytes::{le16, u8_at};
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Starcraft (Battle.net).
pub struct Starcraft;

const BN2_PREAMBLE: [u8; 10] = [0x4a, 0x00, 0x00, 0x0a, 0x66, 0x02, 0x0a, 0xed, 0x2d, 0x66];

fn product(p: &[u8]) -> Option<&'static str> {
    Some(match p {
        b"RATS" => "Starcraft",
        b"PXES" => "Starcraft: Brood War",
        b"RTSJ" => "Starcraft (Japan)",
        b"RHSS" => "Starcraft Shareware",
        _ => return None,
    })
}

impl Protocol for Starcraft {
    fn name(&self) -> &'static str {
        "Starcraft"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[1119, 6112]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        match d.first() {
            None => Probe::NeedMore,
            Some(0x4a) => {
                let n = d.len().min(BN2_PREAMBLE.len());
                if d.get(..n) != BN2_PREAMBLE.get(..n) {
                    Probe::NoMatch
                } else if n < BN2_PREAMBLE.len() {
                    Probe::NeedMore
                } else {
                    Probe::Match(Match::new(
                        "Battle.net 2.0 preamble 4a00000a66020aed2d66 (nDPI's Starcraft signature)",
                    ))
                }
            }
            Some(0x01) => {
                // Selector, then 0xff 0x50 and the length.
                for (i, v) in [(1, 0xff), (2, 0x50)] {
                    match u8_at(d, i) {
                        Some(b) if b != v => return Probe::NoMatch,
                        None => return Probe::NeedMore,
                        _ => {}
                    }
                }
                let Some(len) = le16(d, 3) else {
                    return Probe::NeedMore;
                };
                // SID_AUTH_INFO carries 9 u32 and two strings.
                if !(40..=512).contains(&len) {
                    return Probe::NoMatch;
                }
                let (Some(proto), Some(prod)) = (d.get(5..9), d.get(13..17)) else {
                    return Probe::NeedMore;
                };
                if proto != [0, 0, 0, 0] {
                    return Probe::NoMatch;
                }
                match product(prod) {
                    Some(name) => {
                        Probe::Match(Match::new(format!("Battle.net SID_AUTH_INFO for {name}")))
                    }
                    None => Probe::NoMatch,
                }
            }
            Some(_) => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const SEED: &[u8] = include_bytes!("testdata/fuzz_seed_1119.bin");

    #[test]
    fn bn2_preamble() {
        let e = evidence(probe1(&Starcraft, Transport::Tcp, C, SEED));
        assert!(e.starts_with("Battle.net 2.0 preamble"), "{e}");
        check_prefixes(&Starcraft, Transport::Tcp, C, SEED, &[]);
    }

    #[test]
    fn sid_auth_info_built_from_bnetdocs() {
        let mut m = vec![0x01, 0xff, 0x50, 0, 0];
        m.extend_from_slice(&[0, 0, 0, 0]); // protocol id
        m.extend_from_slice(b"68XI"); // platform IX86
        m.extend_from_slice(b"PXES"); // product SEXP
        m.extend_from_slice(&0xd3u32.to_le_bytes()); // version byte
        m.extend_from_slice(b"SUne"); // product language
        m.extend_from_slice(&[127, 0, 0, 1]); // local IP
        m.extend_from_slice(&0u32.to_le_bytes()); // timezone bias
        m.extend_from_slice(&1033u32.to_le_bytes()); // locale id
        m.extend_from_slice(&1033u32.to_le_bytes()); // language id
        m.extend_from_slice(b"USA\0United States\0");
        let len = (m.len() - 1) as u16;
        m[3..5].copy_from_slice(&len.to_le_bytes());
        let e = evidence(probe1(&Starcraft, Transport::Tcp, C, &m));
        assert_eq!(e, "Battle.net SID_AUTH_INFO for Starcraft: Brood War");
        check_prefixes(&Starcraft, Transport::Tcp, C, &m, &[]);
    }

    #[test]
    fn random_and_foreign_rejected() {
        assert_random_flows_rejected(&Starcraft, Transport::Tcp, 6112);
        assert_foreign_rejected(&Starcraft, "starcraft");
        foreign_never_match(&Starcraft, Transport::Tcp);
    }
}
