//! PTPv2, the Precision Time Protocol version 2 (IEEE 1588-2008; 2.1 in
//! IEEE 1588-2019), over UDP (event port 319, general port 320; Annex D
//! IPv4, Annex E IPv6).
//!
//! IEEE 1588-2008 §13.3, the common 34-octet header: transportSpecific (4
//! bits) | messageType (4 bits: 0 Sync, 1 Delay_Req, 2 Pdelay_Req, 3
//! Pdelay_Resp, 8 Follow_Up, 9 Delay_Resp, 0xA Pdelay_Resp_Follow_Up, 0xB
//! Announce, 0xC Signaling, 0xD Management); reserved (4 bits; minor
//! version in 1588-2019) | versionPTP (4 bits) = 2; messageLength (2, the
//! whole message); domainNumber; reserved; flagField (2); correctionField
//! (8); reserved (4); sourcePortIdentity (10); sequenceId (2);
//! controlField (1: 0 Sync, 1 Delay_Req, 2 Follow_Up, 3 Delay_Resp, 4
//! Management, 5 all others; 1588-2019 lets it be 0 for the new ones);
//! logMessageInterval (1). The fixed bodies (§13.6-13.11) give each type a
//! minimum length: Sync/Delay_Req/Follow_Up 44, Delay_Resp and the peer
//! delay messages 54, Announce 64, Signaling 44, Management 48. Some
//! stacks pad the datagram past messageLength.

use netsift_proto::bytes::{be16, u8_at};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// PTPv2.
pub struct Ptpv2;

/// Any transportSpecific nibble with a messageType `probe` knows.
const FIRST_BYTES: FirstBytes = {
    let mut s = FirstBytes::NONE;
    let mut hi = 0u8;
    while hi < 16 {
        let b = hi << 4;
        s = s
            .or(FirstBytes::range(b, b | 0x3))
            .or(FirstBytes::range(b | 0x8, b | 0xd));
        hi += 1;
    }
    s
};

impl Protocol for Ptpv2 {
    fn name(&self) -> &'static str {
        "PTPv2"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[319, 320]
    }
    // IEEE 1588-2008 §13.3 (module notes): octet 0 is transportSpecific (4
    // bits) | messageType (4 bits: 0-3 event messages, 8-0xD general
    // messages; 4-7 and 0xE-0xF reserved).
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FIRST_BYTES
    }
    fn probe(&self, input: &ProbeInput<'_>, _s: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let (Some(b0), Some(b1), Some(len)) = (u8_at(d, 0), u8_at(d, 1), be16(d, 2)) else {
            return Probe::NoMatch;
        };
        if b1 & 0x0f != 2 {
            return Probe::NoMatch;
        }
        let t = b0 & 0x0f;
        let (name, min, ctl) = match t {
            0 => ("Sync", 44, 0),
            1 => ("Delay_Req", 44, 1),
            2 => ("Pdelay_Req", 54, 5),
            3 => ("Pdelay_Resp", 54, 5),
            8 => ("Follow_Up", 44, 2),
            9 => ("Delay_Resp", 54, 3),
            0xa => ("Pdelay_Resp_Follow_Up", 54, 5),
            0xb => ("Announce", 64, 5),
            0xc => ("Signaling", 44, 5),
            0xd => ("Management", 48, 4),
            _ => return Probe::NoMatch,
        };
        let len = usize::from(len);
        // Allow a little link-layer style padding after the message.
        if len < min || d.len() < len || d.len() > len + 64 {
            return Probe::NoMatch;
        }
        // Reserved octets (§13.3.1): offset 5 and 16..20 are zero.
        if u8_at(d, 5) != Some(0) || be16(d, 16) != Some(0) || be16(d, 18) != Some(0) {
            return Probe::NoMatch;
        }
        let Some(c) = u8_at(d, 32) else {
            return Probe::NoMatch;
        };
        if c != ctl && !(b1 >> 4 != 0 && c == 0) && !(ctl == 5 && c <= 5) {
            return Probe::NoMatch;
        }
        let domain = u8_at(d, 4).unwrap_or(0);
        let seq = be16(d, 30).unwrap_or(0);
        Probe::Match(Match::new(format!(
            "PTPv2 {name}, domain {domain}, sequence {seq}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, evidence, probe1, C,
    };

    const UDP: Transport = Transport::Udp;
    // Sources: testdata/README.md.
    const SIGNALING: &[u8] = include_bytes!("testdata/signaling.bin");
    const SIGNALING_TLV: &[u8] = include_bytes!("testdata/signaling_tlv.bin");

    #[test]
    fn messages() {
        assert_eq!(
            evidence(probe1(&Ptpv2, UDP, C, SIGNALING)),
            "PTPv2 Signaling, domain 0, sequence 1"
        );
        assert!(evidence(probe1(&Ptpv2, UDP, C, SIGNALING_TLV)).starts_with("PTPv2 Signaling"));
        // Sync (§13.6), built: two-step flag, domain 0, control 0, 44
        // octets.
        let mut sync = vec![0x00, 0x02, 0, 44, 0, 0, 0x02, 0];
        sync.resize(44, 0);
        sync[30] = 0;
        sync[31] = 7;
        sync[33] = 0xfd; // logMessageInterval -3
        assert_eq!(
            evidence(probe1(&Ptpv2, UDP, C, &sync)),
            "PTPv2 Sync, domain 0, sequence 7"
        );
        for i in 0..SIGNALING.len() {
            let _ = probe1(&Ptpv2, UDP, C, &SIGNALING[..i]);
        }
    }

    #[test]
    fn first_bytes_declared() {
        use crate::testkit::input;
        let mut sync = vec![0x00, 0x02, 0, 44, 0, 0, 0x02, 0];
        sync.resize(44, 0);
        sync[31] = 7;
        for d in [SIGNALING, SIGNALING_TLV, &sync[..]] {
            crate::testkit::first_bytes_hold(&Ptpv2, &input(UDP, C, d, b"", 0));
        }
    }

    #[test]
    fn rejects_random_and_foreign() {
        assert_random_flows_rejected(&Ptpv2, UDP, 320);
        assert_foreign_rejected(&Ptpv2, "ptp");
    }
}
