//! CIP class 0/1 implicit (I/O) messaging over UDP (ODVA "The CIP Networks
//! Library, Volume 2: EtherNet/IP Adaptation of CIP" §3-2.2, UDP port
//! 2222): the datagram is a bare Common Packet Format (§2-6) with no
//! encapsulation header: item count 2, a Sequenced Address item (type
//! 0x8002, length 8: connection id and encapsulation sequence number) and a
//! Connected Data item (type 0x00B1) whose length fills the rest of the
//! datagram (class 1 data begins with a 16-bit CIP sequence count).
//!
//! How EthernetIP and CIP split: flows with the EtherNet/IP encapsulation
//! header (TCP/UDP 44818, explicit messaging, ListIdentity...) are named
//! EthernetIP by the `ethernetip` probe, with the CIP service in the
//! evidence; this probe names CIP only the implicit I/O datagrams where the
//! CIP connected data is all there is.
//!
//! The fixed item layout (8 bytes of type/length fields) plus the length
//! equality is a strong signature; a second datagram of the same connection
//! id with a higher sequence number is not needed.

use netsift_proto::bytes::{le16, le32};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// CIP implicit I/O.
pub struct Cip;

impl Protocol for Cip {
    fn name(&self) -> &'static str {
        "CIP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[2222]
    }
    // ODVA Vol. 2 §3-2.2 / §2-6: the datagram is a bare Common Packet Format
    // starting with "item count 2" (16 bits, little endian: 02 00).
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x02])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Udp {
            return Probe::NoMatch;
        }
        let d = input.data;
        // 02 00 | 02 80 08 00 | conn id (4) | seq (4) | b1 00 len (2) | data
        if d.get(..6) != Some(&[0x02, 0x00, 0x02, 0x80, 0x08, 0x00][..])
            || d.get(14..16) != Some(&[0xb1, 0x00][..])
        {
            return Probe::NoMatch;
        }
        let Some(dl) = le16(d, 16) else {
            return Probe::NoMatch;
        };
        if d.len() != 18 + usize::from(dl) {
            return Probe::NoMatch;
        }
        let conn = le32(d, 6).unwrap_or(0);
        let seq = le32(d, 10).unwrap_or(0);
        Probe::Match(Match::new(format!(
            "CIP implicit I/O: connection 0x{conn:08x}, sequence {seq}, {dl} bytes of connected data"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, evidence, input, probe1, C,
    };

    const UDP: Transport = Transport::Udp;

    #[test]
    fn class1_io_from_spec() {
        // Item count 2; 0x8002 len 8: connection id 0x12345678, sequence 5;
        // 0x00b1 len 6: CIP sequence count 0x0005 + 4 bytes of I/O data.
        let p = [
            0x02, 0x00, 0x02, 0x80, 0x08, 0x00, 0x78, 0x56, 0x34, 0x12, 5, 0, 0, 0, 0xb1, 0x00, 6,
            0, 5, 0, 1, 2, 3, 4,
        ];
        assert_eq!(
            evidence(probe1(&Cip, UDP, C, &p)),
            "CIP implicit I/O: connection 0x12345678, sequence 5, 6 bytes of connected data"
        );
        assert_eq!(probe1(&Cip, UDP, C, &p[..p.len() - 1]), Probe::NoMatch);
    }

    #[test]
    fn first_bytes_declared() {
        let p = [
            0x02, 0x00, 0x02, 0x80, 0x08, 0x00, 0x78, 0x56, 0x34, 0x12, 5, 0, 0, 0, 0xb1, 0x00, 6,
            0, 5, 0, 1, 2, 3, 4,
        ];
        crate::testkit::first_bytes_hold(&Cip, &input(UDP, C, &p, &[], 0));
    }

    #[test]
    fn foreign_and_random() {
        assert_foreign_rejected(&Cip, "cip");
        assert_random_flows_rejected(&Cip, UDP, 2222);
    }
}
