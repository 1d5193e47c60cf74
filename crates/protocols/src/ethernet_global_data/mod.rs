//! GE Ethernet Global Data (EGD, UDP 18246), identified from the producer's
//! data production PDUs. Observed protocol as documented by GE in
//! "TCP/IP Ethernet Communications for PACSystems" (GFK-2224), chapter
//! "Ethernet Global Data", and seen in the nDPI corpus (egd.pcapng).
//!
//! Data production header (32 octets, little endian): PDUTypeVersion
//! (type 13 = 0x0D, version 1), RequestID (16 bits, incremented by the
//! producer for every production of the exchange), ProducerID (32 bits,
//! usually the producer's IP address), ExchangeID (32 bits), TimeStamp
//! (seconds, nanoseconds), Status, ConfigSignature, Reserved; then the
//! exchange data.
//!
//! Two fixed octets are weak, so a flow is claimed on its second production
//! of the same exchange: same ProducerID and ExchangeID, RequestID one
//! more (a few lost datagrams allowed).

use netsift_proto::bytes::{le16, le32};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Ethernet Global Data.
pub struct EthernetGlobalData;

const HDR: usize = 32;

impl Protocol for EthernetGlobalData {
    fn name(&self) -> &'static str {
        "EthernetGlobalData"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[18246]
    }
    // GE GFK-2224, "Ethernet Global Data": the data production header
    // starts with "PDUTypeVersion (type 13 = 0x0D, version 1)" (module doc).
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x0d])
    }
    fn probe(&self, input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Udp {
            return Probe::NoMatch;
        }
        let d = input.data;
        if d.len() < HDR || d.len() > 1472 || d[0] != 0x0d || d[1] != 0x01 {
            return Probe::NoMatch;
        }
        let req = le16(d, 2).unwrap_or(0);
        let producer = le32(d, 4).unwrap_or(0);
        let exchange = le32(d, 8).unwrap_or(0);
        // scratch[0]: 1 << 63 | exchange << 16 | request id; scratch[1]:
        // producer id.
        let key = (1u64 << 63) | (u64::from(exchange) << 16) | u64::from(req);
        let prev = scratch.0[0];
        scratch.0 = [key, u64::from(producer)];
        if prev >> 63 == 0 {
            return Probe::NeedMore;
        }
        let prev_req = (prev & 0xffff) as u16;
        let same = (prev >> 16) as u32 == exchange;
        let step = req.wrapping_sub(prev_req);
        if !same || !(1..=8).contains(&step) {
            return Probe::NeedMore;
        }
        let p = producer.to_le_bytes();
        Probe::Match(Match::new(format!(
            "EGD productions {prev_req} and {req} of exchange {exchange} from producer {}.{}.{}.{}",
            p[0], p[1], p[2], p[3]
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, feed, feed_evidence, input, C,
    };

    const UDP: Transport = Transport::Udp;
    // Sources: testdata/README.md.
    const P1: &[u8] = include_bytes!("testdata/pdu1.bin");
    const P2: &[u8] = include_bytes!("testdata/pdu2.bin");

    #[test]
    fn two_productions() {
        assert_eq!(
            feed_evidence(&EthernetGlobalData, UDP, 18246, &[(C, P1), (C, P2)]),
            "EGD productions 61652 and 61653 of exchange 123 from producer 192.168.8.77"
        );
        // One production alone, or the same one twice, is not enough.
        assert_eq!(
            feed(&EthernetGlobalData, UDP, 18246, &[(C, P1)]),
            Probe::NeedMore
        );
        assert_eq!(
            feed(&EthernetGlobalData, UDP, 18246, &[(C, P1), (C, P1)]),
            Probe::NeedMore
        );
    }

    #[test]
    fn first_bytes_declared() {
        for d in [P1, P2] {
            crate::testkit::first_bytes_hold(&EthernetGlobalData, &input(UDP, C, d, &[], 0));
        }
    }

    #[test]
    fn foreign_and_random() {
        assert_foreign_rejected(&EthernetGlobalData, "egd");
        assert_random_flows_rejected(&EthernetGlobalData, UDP, 18246);
    }
}
