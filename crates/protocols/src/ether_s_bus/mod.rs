//! SAIA Ether-S-Bus (Saia-Burgess PCD S-Bus over UDP, port 5050).
//! Observed protocol: SAIA documents the S-Bus telegrams in its "S-Bus"
//! manual (26/739); the UDP framing below is the one in that manual's
//! Ether-S-Bus chapter and in the nDPI corpus (ethersbus.pcap).
//!
//! Frame: length (4 octets, big endian, the whole datagram), version (1),
//! protocol type (1, 0 = S-Bus), sequence number (2), telegram attribute
//! (1: 0 request, 1 response, 2 ACK/NAK), the S-Bus telegram (request:
//! destination station and command code), and a CRC-16 (CCITT polynomial
//! 0x1021, initial value 0, "XMODEM") over everything before it, big
//! endian. The CRC and the length field make one datagram conclusive.

use netsift_proto::bytes::{be16, be32};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Ether-S-Bus.
pub struct EtherSBus;

impl Protocol for EtherSBus {
    fn name(&self) -> &'static str {
        "Ether-S-Bus"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[5050]
    }
    // S-Bus manual 26/739, Ether-S-Bus: the frame starts with "length (4
    // octets, big endian, the whole datagram)" (module doc); the probe takes
    // datagrams of at most 1500 octets, so the first octet is 0.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x00])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Udp {
            return Probe::NoMatch;
        }
        let d = input.data;
        // Header (9) + at least one telegram octet + CRC (2).
        if d.len() < 12 || d.len() > 1500 {
            return Probe::NoMatch;
        }
        if be32(d, 0) != Some(d.len() as u32) || d[4] > 1 || d[5] != 0 || d[8] > 2 {
            return Probe::NoMatch;
        }
        let n = d.len();
        if be16(d, n - 2) != Some(crc16_xmodem(&d[..n - 2])) {
            return Probe::NoMatch;
        }
        let seq = be16(d, 6).unwrap_or(0);
        let ev = match d[8] {
            0 => format!(
                "Ether-S-Bus request #{seq} to station {}, command 0x{:02x}",
                d[9],
                d.get(10).copied().unwrap_or(0)
            ),
            1 => format!("Ether-S-Bus response #{seq}"),
            _ => format!("Ether-S-Bus ACK/NAK #{seq}"),
        };
        Probe::Match(Match::new(format!("{ev}, CRC ok")))
    }
}

/// CRC-16, polynomial 0x1021, initial value 0, no reflection.
fn crc16_xmodem(d: &[u8]) -> u16 {
    let mut crc: u16 = 0;
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
        assert_foreign_rejected, assert_random_flows_rejected, evidence, input, probe1, C, S,
    };

    const UDP: Transport = Transport::Udp;
    // Sources: testdata/README.md.
    const REQ: &[u8] = include_bytes!("testdata/request.bin");
    const RESP: &[u8] = include_bytes!("testdata/response.bin");
    const ACK: &[u8] = include_bytes!("testdata/ack.bin");

    #[test]
    fn corpus_datagrams() {
        assert_eq!(
            evidence(probe1(&EtherSBus, UDP, C, REQ)),
            "Ether-S-Bus request #1 to station 10, command 0x20, CRC ok"
        );
        assert_eq!(
            evidence(probe1(&EtherSBus, UDP, S, RESP)),
            "Ether-S-Bus response #1, CRC ok"
        );
        assert_eq!(
            evidence(probe1(&EtherSBus, UDP, S, ACK)),
            "Ether-S-Bus ACK/NAK #3, CRC ok"
        );
        let mut bad = REQ.to_vec();
        bad[10] ^= 1;
        assert_eq!(probe1(&EtherSBus, UDP, C, &bad), Probe::NoMatch);
    }

    #[test]
    fn first_bytes_declared() {
        for (dir, d) in [(C, REQ), (S, RESP), (S, ACK)] {
            crate::testkit::first_bytes_hold(&EtherSBus, &input(UDP, dir, d, &[], 0));
        }
    }

    #[test]
    fn foreign_and_random() {
        assert_foreign_rejected(&EtherSBus, "sbus");
        assert_random_flows_rejected(&EtherSBus, UDP, 5050);
    }
}
