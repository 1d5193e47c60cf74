//! OSPF, IP protocol 89: OSPFv2 (RFC 2328) and OSPFv3 (RFC 5340).
//!
//! RFC 2328 §A.3.1, the OSPF packet header (24 octets): Version (2), Type
//! (1 Hello, 2 Database Description, 3 Link State Request, 4 Link State
//! Update, 5 Link State Acknowledgment), "Packet length: the length of the
//! OSPF protocol packet in bytes ... including the standard OSPF header",
//! Router ID, Area ID, Checksum, AuType (0 null, 1 simple password, 2
//! cryptographic; RFC 5709/7474 keep 2), Authentication (8). With AuType 2
//! the message digest is appended after the packet (§D.4.3), so the IP
//! payload may be longer than the packet length.
//!
//! RFC 5340 §A.3.1, OSPFv3 (16 octets): Version (3), Type (1..=5), Packet
//! Length, Router ID, Area ID, Checksum, Instance ID, a reserved zero
//! octet; an authentication trailer (RFC 7166) may follow.

use netsift_proto::bytes::{be16, be32, u8_at};
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// OSPF.
pub struct Ospf;

const TYPES: [&str; 5] = [
    "Hello",
    "Database Description",
    "Link State Request",
    "Link State Update",
    "Link State Acknowledgment",
];

impl Protocol for Ospf {
    fn name(&self) -> &'static str {
        "OSPF"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Ip(89)]
    }
    fn probe(&self, input: &ProbeInput<'_>, _s: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let (Some(v), Some(t), Some(len)) = (u8_at(d, 0), u8_at(d, 1), be16(d, 2)) else {
            return Probe::NoMatch;
        };
        let len = usize::from(len);
        let Some(name) = TYPES.get(usize::from(t).wrapping_sub(1)) else {
            return Probe::NoMatch;
        };
        let ok = match v {
            2 => {
                let au = be16(d, 14);
                len >= 24
                    && match au {
                        Some(0 | 1) => d.len() == len,
                        Some(2) => d.len() >= len,
                        _ => false,
                    }
            }
            3 => len >= 16 && d.len() >= len && u8_at(d, 15) == Some(0),
            _ => false,
        };
        if !ok {
            return Probe::NoMatch;
        }
        let rid = be32(d, 4).unwrap_or(0).to_be_bytes();
        Probe::Match(Match::new(format!(
            "OSPFv{v} {name}, router {}.{}.{}.{}",
            rid[0], rid[1], rid[2], rid[3]
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{assert_random_flows_rejected, evidence, probe1, C};

    const IP: Transport = Transport::Ip(89);
    // Sources: testdata/README.md.
    const LSU: &[u8] = include_bytes!("testdata/v2_ls_update.bin");
    const LSACK: &[u8] = include_bytes!("testdata/v2_ls_ack.bin");

    #[test]
    fn packets() {
        assert_eq!(
            evidence(probe1(&Ospf, IP, C, LSU)),
            "OSPFv2 Link State Update, router 172.16.0.10"
        );
        assert_eq!(
            evidence(probe1(&Ospf, IP, C, LSACK)),
            "OSPFv2 Link State Acknowledgment, router 10.0.0.1"
        );
        // OSPFv3 Hello (RFC 5340 §A.3.2), built: 16-octet header + 20
        // octets of Hello body.
        let mut h = vec![3, 1, 0, 36, 10, 0, 0, 1, 0, 0, 0, 0, 0xab, 0xcd, 0, 0];
        h.extend_from_slice(&[0; 20]);
        assert_eq!(
            evidence(probe1(&Ospf, IP, C, &h)),
            "OSPFv3 Hello, router 10.0.0.1"
        );
        for i in 0..LSU.len() {
            assert_eq!(probe1(&Ospf, IP, C, &LSU[..i]), Probe::NoMatch);
        }
    }

    #[test]
    fn rejects_random() {
        assert_random_flows_rejected(&Ospf, IP, 0);
    }
}
