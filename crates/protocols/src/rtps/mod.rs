//! RTPS (Real-Time Publish-Subscribe, the DDS interoperability wire
//! protocol, OMG "DDS-RTPS" 2.x), over UDP (7400-7411 by the default port
//! mapping).
//!
//! DDS-RTPS 2.5 §9.4.4 / §8.3.3.1: a message starts with a 20-octet header:
//! the protocol id "RTPS", ProtocolVersion (major 2; 1.x in pre-standard
//! RTI stacks), VendorId (2 octets), GuidPrefix (12 octets); then
//! submessages, each with a 4-octet header: submessageId, flags (bit 0 =
//! endianness of the length), octetsToNextHeader (16 bits). RTI Connext
//! also sends "RTPX" (its RTPS-over-other-transports magic) and a 16-octet
//! "RTPS" ping whose GuidPrefix is replaced by "NDDSPING".
//!
//! The 4-octet magic with a valid version is conclusive; the first
//! submessage is named in the evidence.

use netsift_proto::{
    printable, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// RTPS.
pub struct Rtps;

impl Protocol for Rtps {
    fn name(&self) -> &'static str {
        "RTPS"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[7400, 7401, 7410, 7411]
    }
    // DDS-RTPS 2.5 §9.4.4: the header starts with the protocol id "RTPS"
    // (RTI's "RTPX" likewise).
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(b"R")
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let tcp = input.transport == Transport::Tcp;
        let n = d.len().min(4);
        if d[..n] != b"RTPS"[..n] && d[..n] != b"RTPX"[..n] {
            return Probe::NoMatch;
        }
        if d.len() < 16 {
            return if tcp { Probe::NeedMore } else { Probe::NoMatch };
        }
        // Version major 1 or 2, minor at most 5.
        if !matches!(d[4], 1 | 2) || d[5] > 5 {
            return Probe::NoMatch;
        }
        let magic = if d[3] == b'S' { "RTPS" } else { "RTPX" };
        if d.get(8..16) == Some(&b"NDDSPING"[..]) {
            return Probe::Match(Match::new(format!(
                "{magic} {}.{} ping (vendor {:02x}.{:02x}, NDDSPING)",
                d[4], d[5], d[6], d[7]
            )));
        }
        let sub = match d.get(20) {
            None => return if tcp { Probe::NeedMore } else { Probe::NoMatch },
            Some(&id) => match id {
                0x01 => "PAD",
                0x06 => "ACKNACK",
                0x07 => "HEARTBEAT",
                0x08 => "GAP",
                0x09 => "INFO_TS",
                0x0c => "INFO_SRC",
                0x0d => "INFO_REPLY_IP4",
                0x0e => "INFO_DST",
                0x0f => "INFO_REPLY",
                0x12 => "NACK_FRAG",
                0x13 => "HEARTBEAT_FRAG",
                0x15 => "DATA",
                0x16 => "DATA_FRAG",
                0x80..=0xff => "vendor-specific",
                _ => return Probe::NoMatch,
            },
        };
        Probe::Match(Match::new(format!(
            "{magic} {}.{} message, vendor {:02x}.{:02x}, first submessage {sub}{}",
            d[4],
            d[5],
            d[6],
            d[7],
            if d.get(8..16)
                .is_some_and(|g| g.iter().all(|b| b.is_ascii_graphic()))
            {
                format!(" ('{}')", printable(&d[8..16], 8))
            } else {
                String::new()
            }
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
    const PING: &[u8] = include_bytes!("testdata/ping.bin");
    const DATA: &[u8] = include_bytes!("testdata/data.bin");

    #[test]
    fn corpus_messages() {
        assert_eq!(
            evidence(probe1(&Rtps, UDP, C, PING)),
            "RTPS 2.1 ping (vendor 01.01, NDDSPING)"
        );
        assert_eq!(
            evidence(probe1(&Rtps, UDP, C, DATA)),
            "RTPS 2.1 message, vendor 01.01, first submessage INFO_TS"
        );
        let mut bad = DATA.to_vec();
        bad[4] = 9;
        assert_eq!(probe1(&Rtps, UDP, C, &bad), Probe::NoMatch);
    }

    #[test]
    fn first_bytes_declared() {
        use crate::testkit::input;
        for (t, d) in [
            (UDP, PING),
            (UDP, DATA),
            (Transport::Tcp, DATA),
            (Transport::Tcp, &DATA[..10]),
        ] {
            crate::testkit::first_bytes_hold(&Rtps, &input(t, C, d, b"", 0));
        }
    }

    #[test]
    fn foreign_and_random() {
        assert_foreign_rejected(&Rtps, "rtps");
        assert_random_flows_rejected(&Rtps, UDP, 7400);
    }
}
