//! DNP3 (IEEE 1815), identified from the data link layer frame header,
//! carried as is over TCP (IEEE 1815-2012 §9.2.4.1; "DNP3 Specification,
//! Volume 7, IP Networking").
//!
//! IEEE 1815-2012 §9.2.4.1.3 (frame header): START "two octets, 0x05
//! followed by 0x64"; LENGTH "specifies the count of non-CRC octets that
//! follow in the header and user data fields ... the minimum value is 5
//! and the maximum value is 255"; CONTROL; DESTINATION and SOURCE "16 bit
//! ... transmitted least significant octet first"; CRC. §9.2.4.1.4: the
//! header is followed by user data "in blocks of 16 octets, each followed
//! by a 2-octet CRC" (the last block may be shorter). Annex E: "The CRC
//! polynomial is X^16 + X^13 + X^12 + X^11 + X^10 + X^8 + X^6 + X^5 +
//! X^2 + 1", computed over the preceding octets of the block,
//! complemented, low octet first (CRC-16/DNP).
//!
//! START alone is a weak 16-bit signature; the header CRC makes it
//! strong, and the CONTROL function code is checked against the codes
//! IEEE 1815 defines.

use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// DNP3.
pub struct Dnp3;

const HEADER: usize = 10;

impl Protocol for Dnp3 {
    fn name(&self) -> &'static str {
        "DNP3"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[20000]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let d = input.data;
        let start = &d[..d.len().min(2)];
        if start != &[0x05, 0x64][..start.len()] {
            return Probe::NoMatch;
        }
        if d.len() < HEADER {
            return Probe::NeedMore;
        }
        let len = d[2];
        let ctrl = d[3];
        // §9.2.4.1.3: "the minimum value is 5".
        if len < 5 {
            return Probe::NoMatch;
        }
        // Header CRC over START..SOURCE, low octet first.
        let crc = u16::from_le_bytes([d[8], d[9]]);
        if crc16_dnp(&d[..8]) != crc {
            return Probe::NoMatch;
        }
        // §9.2.4.1.3.2 CONTROL: DIR (bit 7), PRM (bit 6), FCB/DFC (5),
        // FCV (4), function code (3..0). Primary-to-secondary codes
        // (Table 9-1): 0 RESET_LINK_STATES, 2 TEST_LINK_STATES (obsolete
        // 1 RESET_USER_PROCESS), 3 CONFIRMED_USER_DATA, 4
        // UNCONFIRMED_USER_DATA, 9 REQUEST_LINK_STATUS. Secondary-to-
        // primary (Table 9-2): 0 ACK, 1 NACK, 11 LINK_STATUS, 15
        // NOT_SUPPORTED.
        let prm = ctrl & 0x40 != 0;
        let func = ctrl & 0x0f;
        let func_ok = if prm {
            matches!(func, 0..=4 | 9)
        } else {
            matches!(func, 0 | 1 | 11 | 15)
        };
        if !func_ok {
            return Probe::NoMatch;
        }
        // User data blocks present in this prefix must carry good CRCs.
        let mut user = usize::from(len) - 5;
        let mut p = HEADER;
        while user > 0 {
            let n = user.min(16);
            let Some(block) = d.get(p..p + n + 2) else {
                break;
            };
            let crc = u16::from_le_bytes([block[n], block[n + 1]]);
            if crc16_dnp(&block[..n]) != crc {
                return Probe::NoMatch;
            }
            user -= n;
            p += n + 2;
        }
        let dest = u16::from_le_bytes([d[4], d[5]]);
        let src = u16::from_le_bytes([d[6], d[7]]);
        // DIR: "1 = from master".
        let who = if ctrl & 0x80 != 0 {
            "master"
        } else {
            "outstation"
        };
        Probe::Match(Match::new(format!(
            "DNP3 link frame from {who} {src} to {dest}, function {func}, header CRC ok"
        )))
    }
}

/// CRC-16/DNP: reflected polynomial 0x3D65 (0xA6BC), init 0, output
/// complemented.
fn crc16_dnp(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in data {
        crc ^= u16::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xa6bc
            } else {
                crc >> 1
            };
        }
    }
    !crc
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
    const OUTSTATION: &[u8] = include_bytes!("testdata/outstation_frame.bin");
    const MASTER: &[u8] = include_bytes!("testdata/master_frame.bin");

    #[test]
    fn crc_check_value() {
        // CRC-16/DNP catalogue check value for "123456789".
        assert_eq!(crc16_dnp(b"123456789"), 0xea82);
    }

    #[test]
    fn frames() {
        assert_eq!(
            evidence(run(&Dnp3, TCP, S, OUTSTATION, b"")),
            "DNP3 link frame from outstation 4 to 3, function 4, header CRC ok"
        );
        assert_eq!(
            evidence(run(&Dnp3, TCP, C, MASTER, b"")),
            "DNP3 link frame from master 3 to 4, function 4, header CRC ok"
        );
    }

    #[test]
    fn damaged_frames() {
        for i in 2..MASTER.len() {
            let mut m = MASTER.to_vec();
            m[i] ^= 0x10;
            assert_eq!(run(&Dnp3, TCP, C, &m, b""), Probe::NoMatch, "byte {i}");
        }
        foreign_never_match(&Dnp3, TCP);
    }

    #[test]
    fn prefixes_are_consistent() {
        check_prefixes(&Dnp3, TCP, S, OUTSTATION, b"");
        check_prefixes(&Dnp3, TCP, C, MASTER, b"");
    }

    #[test]
    fn first_packet_api_on_odd_port() {
        match identify_first_payload(TCP, C, 80, MASTER) {
            FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "DNP3"),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn random_bytes_are_not_dnp3() {
        let hits = random_matches(&Dnp3, TCP, 100_000, 0xd9b3, None);
        assert!(hits < 100, "{hits} random matches");
        // Behind a real START: the CRC must reject nearly everything.
        let mut rng = crate::testkit::XorShift(0x564);
        let mut hits = 0;
        for _ in 0..100_000 {
            let mut d = [0u8; 64];
            for b in &mut d {
                *b = rng.next() as u8;
            }
            d[0] = 0x05;
            d[1] = 0x64;
            if matches!(run(&Dnp3, TCP, C, &d, b""), Probe::Match(_)) {
                hits += 1;
            }
        }
        assert!(hits < 5, "{hits} matches behind START");
    }
}
