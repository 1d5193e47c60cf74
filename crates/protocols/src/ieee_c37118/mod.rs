//! IEEE C37.118.2 synchrophasor data transfer (TCP 4712, UDP 4713).
//!
//! IEEE C37.118.2-2011 §6.2 (Table 2), common frame fields: SYNC (2
//! octets: 0xAA, then bit 7 reserved 0, bits 6-4 frame type: 000 data,
//! 001 header, 010 configuration 1, 011 configuration 2, 101 configuration
//! 3, 100 command; bits 3-0 version: 1 = C37.118-2005, 2 = C37.118.2-2011),
//! FRAMESIZE (16 bits, the whole frame), IDCODE (16 bits), SOC (32 bits),
//! FRACSEC (32 bits), the frame's data, CHK (16 bits): "CRC-CCITT ...
//! generating polynomial X^16 + X^12 + X^5 + 1 with start value -1 (hex
//! FFFF) and no final mask" over every octet before it (Annex B). §6.5
//! Table 9: a command frame's CMD word (1 turn off transmission, 2 turn on,
//! 3 send HDR, 4 send CFG-1, 5 send CFG-2, 6 send CFG-3, 8 extended frame).
//!
//! The CRC over a complete frame makes one frame conclusive.

use netsift_proto::bytes::be16;
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// IEEE C37.118.
pub struct IeeeC37118;

impl Protocol for IeeeC37118 {
    fn name(&self) -> &'static str {
        "IEEE-C37118"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp, Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[4712, 4713]
    }
    // IEEE C37.118.2-2011 §6.2 Table 2: "SYNC (2 octets: 0xAA, then ...)"
    // (module doc); every frame type starts with 0xAA.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0xaa])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let tcp = match input.transport {
            Transport::Tcp => true,
            Transport::Udp => false,
            Transport::Ip(_) => return Probe::NoMatch,
        };
        let d = input.data;
        if d.first().is_some_and(|&b| b != 0xaa) {
            return Probe::NoMatch;
        }
        let Some(&ft) = d.get(1) else {
            return Probe::NeedMore;
        };
        let kind = match (ft >> 4) & 0x0f {
            0 => "data frame",
            1 => "header frame",
            2 => "configuration frame 1",
            3 => "configuration frame 2",
            4 => "command frame",
            5 => "configuration frame 3",
            _ => return Probe::NoMatch,
        };
        let ver = ft & 0x0f;
        if !matches!(ver, 1..=3) {
            return Probe::NoMatch;
        }
        let Some(size) = be16(d, 2).map(usize::from) else {
            return Probe::NeedMore;
        };
        // SYNC, FRAMESIZE, IDCODE, SOC, FRACSEC, CHK: at least 16 octets;
        // a command frame is exactly 18 (plus extended data for CMD 8).
        if size < 16 || (!tcp && size != d.len()) {
            return Probe::NoMatch;
        }
        let Some(frame) = d.get(..size) else {
            return if tcp { Probe::NeedMore } else { Probe::NoMatch };
        };
        let chk = be16(frame, size - 2).unwrap_or(0);
        if crc_ccitt(&frame[..size - 2]) != chk {
            return Probe::NoMatch;
        }
        let id = be16(frame, 4).unwrap_or(0);
        let detail = if kind == "command frame" {
            match be16(frame, 14) {
                Some(1) => ": turn off transmission",
                Some(2) => ": turn on transmission",
                Some(3) => ": send HDR",
                Some(4) => ": send CFG-1",
                Some(5) => ": send CFG-2",
                Some(6) => ": send CFG-3",
                Some(8) => ": extended frame",
                _ => "",
            }
        } else {
            ""
        };
        Probe::Match(Match::new(format!(
            "IEEE C37.118 v{ver} {kind}{detail}, IDCODE {id}, CRC ok"
        )))
    }
}

/// CRC-CCITT, polynomial 0x1021, start 0xFFFF, no final mask.
fn crc_ccitt(d: &[u8]) -> u16 {
    let mut crc: u16 = 0xffff;
    for &b in d {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, check_prefixes, evidence,
        foreign_never_match, probe1, C, S,
    };

    const TCP: Transport = Transport::Tcp;
    const UDP: Transport = Transport::Udp;

    /// Command frame "send CFG-2": AA 41 (command, version 1), FRAMESIZE
    /// 18, IDCODE 7, SOC, FRACSEC 0, CMD 5, CHK.
    fn cmd() -> Vec<u8> {
        let mut v = vec![
            0xaa, 0x41, 0, 18, 0, 7, 0x4f, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 5,
        ];
        let c = crc_ccitt(&v);
        v.extend_from_slice(&c.to_be_bytes());
        v
    }

    #[test]
    fn crc_matches_the_standard_check_value() {
        // CRC-16/CCITT-FALSE check value over "123456789".
        assert_eq!(crc_ccitt(b"123456789"), 0x29b1);
    }

    #[test]
    fn pypmu_command_frame() {
        let c = include_bytes!("testdata/pypmu_cmd_send_hdr.bin");
        assert_eq!(
            evidence(probe1(&IeeeC37118, TCP, C, c)),
            "IEEE C37.118 v1 command frame: send HDR, IDCODE 7, CRC ok"
        );
    }

    #[test]
    fn command_frame() {
        let c = cmd();
        assert_eq!(
            evidence(probe1(&IeeeC37118, TCP, C, &c)),
            "IEEE C37.118 v1 command frame: send CFG-2, IDCODE 7, CRC ok"
        );
        assert!(crate::testkit::is_match(&probe1(&IeeeC37118, UDP, C, &c)));
        check_prefixes(&IeeeC37118, TCP, C, &c, b"");
        let mut bad = c.clone();
        bad[15] = 4;
        assert_eq!(probe1(&IeeeC37118, TCP, S, &bad), Probe::NoMatch);
    }

    #[test]
    fn first_bytes_declared() {
        use crate::testkit::first_bytes_hold;
        use crate::testkit::input;
        let c = include_bytes!("testdata/pypmu_cmd_send_hdr.bin");
        first_bytes_hold(&IeeeC37118, &input(TCP, C, c, &[], 0));
        let c = cmd();
        first_bytes_hold(&IeeeC37118, &input(UDP, C, &c, &[], 0));
    }

    #[test]
    fn foreign_and_random() {
        foreign_never_match(&IeeeC37118, TCP);
        assert_foreign_rejected(&IeeeC37118, "c37");
        assert_random_flows_rejected(&IeeeC37118, UDP, 4713);
        assert_random_flows_rejected(&IeeeC37118, TCP, 4712);
    }
}
