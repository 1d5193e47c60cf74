//! CNP-IP: ISO/IEC 14908-4 / ANSI/CEA-852 ("Tunneling Component Network
//! Protocols over IP", LonWorks over IP, UDP 1628/1629).
//!
//! CEA-852 §5.2 common packet header (20 octets, big endian): Packet Size
//! (16 bits, the whole packet), Version (1), Packet Type (0x01 data packet;
//! 0x60-0x7F configuration / status / segment packets), Extended Header Size
//! (in 32-bit words), Flags, Vendor Code (16 bits), Session ID (32 bits,
//! chosen by the sending device), Sequence Number (32 bits, incremented per
//! packet of the session), Time Stamp (32 bits).
//!
//! The fixed part is short, so a flow is claimed when two packets agree:
//! the same Session ID with a higher Sequence Number (or the other
//! direction's first packet well-formed too).

use netsift_proto::bytes::{be16, be32};
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// CNP-IP.
pub struct CnpIp;

const HDR: usize = 20;

impl Protocol for CnpIp {
    fn name(&self) -> &'static str {
        "CNP-IP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[1628, 1629]
    }
    fn probe(&self, input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Udp {
            return Probe::NoMatch;
        }
        let Some((ty, session, seq)) = header(input.data) else {
            return Probe::NoMatch;
        };
        let name = if ty == 1 {
            "data packet".to_string()
        } else {
            format!("packet type 0x{ty:02x}")
        };
        if header(input.peer).is_some() {
            return Probe::Match(Match::new(format!(
                "CN/IP {name}, both directions well-formed"
            )));
        }
        let [prev_sess, prev] = scratch.0;
        scratch.0 = [u64::from(session), (1 << 63) | u64::from(seq)];
        if prev >> 63 == 0 {
            return Probe::NeedMore;
        }
        let prev_seq = prev as u32;
        let step = seq.wrapping_sub(prev_seq);
        if prev_sess != u64::from(session) || !(1..=16).contains(&step) {
            return Probe::NeedMore;
        }
        Probe::Match(Match::new(format!(
            "CN/IP {name}s, session 0x{session:08x}, sequence {prev_seq} then {seq}"
        )))
    }
}

/// (packet type, session id, sequence number) of a well-formed header.
fn header(d: &[u8]) -> Option<(u8, u32, u32)> {
    if d.len() < HDR || be16(d, 0)? as usize != d.len() || d[2] != 1 {
        return None;
    }
    let ty = d[3];
    if ty != 1 && !(0x60..=0x7f).contains(&ty) {
        return None;
    }
    // Extended header (in 32-bit words) fits.
    if HDR + usize::from(d[4]) * 4 > d.len() {
        return None;
    }
    Some((ty, be32(d, 8)?, be32(d, 12)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, feed, feed_evidence, C, S,
    };

    const UDP: Transport = Transport::Udp;
    // Sources: testdata/README.md.
    const D1: &[u8] = include_bytes!("testdata/data1.bin");
    const D2: &[u8] = include_bytes!("testdata/data2.bin");

    #[test]
    fn two_data_packets() {
        assert_eq!(
            feed_evidence(&CnpIp, UDP, 1628, &[(C, D1), (C, D2)]),
            "CN/IP data packets, session 0x6b8b4567, sequence 0 then 1"
        );
        assert_eq!(feed(&CnpIp, UDP, 1628, &[(C, D1)]), Probe::NeedMore);
        assert_eq!(
            feed_evidence(&CnpIp, UDP, 1628, &[(C, D1), (S, D2)]),
            "CN/IP data packet, both directions well-formed"
        );
    }

    #[test]
    fn foreign_and_random() {
        assert_foreign_rejected(&CnpIp, "cnp");
        assert_random_flows_rejected(&CnpIp, UDP, 1628);
    }
}
