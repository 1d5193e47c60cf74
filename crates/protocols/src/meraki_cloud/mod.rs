//! MerakiCloud: the UDP tunnel Cisco Meraki devices keep to the Meraki
//! cloud controller (port 7351; Meraki documents the port and the
//! destination ranges for firewall rules, not the format). Observed
//! protocol; as seen in nDPI's merakicloud.pcapng every datagram, in both
//! directions, starts with the same 4-octet magic `FE F7 28 91`, then a
//! version octet (0x0d) and a message type (0x01 keepalive/registration,
//! 0x03 data); for type 0x01 the next 2 octets are the datagram's length.
//!
//! The 32-bit magic at offset 0 decides; the type-0x01 length, when that
//! type is seen, must match the datagram.

use netsift_proto::bytes::{be16, u8_at};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// MerakiCloud.
pub struct MerakiCloud;

const MAGIC: [u8; 4] = [0xfe, 0xf7, 0x28, 0x91];

impl Protocol for MerakiCloud {
    fn name(&self) -> &'static str {
        "MerakiCloud"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[7351]
    }
    // Observed protocol (module doc): "every datagram, in both directions,
    // starts with the same 4-octet magic `FE F7 28 91`".
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0xfe])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        if d.get(..4) != Some(&MAGIC[..]) {
            return Probe::NoMatch;
        }
        let (Some(ver), Some(ty), Some(len)) = (u8_at(d, 4), u8_at(d, 5), be16(d, 6)) else {
            return Probe::NoMatch;
        };
        if ty == 0x01 && usize::from(len) != d.len() {
            return Probe::NoMatch;
        }
        Probe::Match(Match::new(format!(
            "Meraki cloud tunnel: magic fef72891, version {ver:#04x}, type {ty:#04x}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, check_prefixes, evidence,
        foreign_never_match, probe1, C, S,
    };
    use netsift_proto::Transport::Udp;

    // Sources: testdata/README.md.
    const CLIENT: &[u8] = include_bytes!("testdata/client.bin");
    const SERVER: &[u8] = include_bytes!("testdata/server.bin");
    const SERVER3: &[u8] = include_bytes!("testdata/server_type3.bin");

    #[test]
    fn corpus_datagrams() {
        assert_eq!(
            evidence(probe1(&MerakiCloud, Udp, C, CLIENT)),
            "Meraki cloud tunnel: magic fef72891, version 0x0d, type 0x01"
        );
        assert!(matches!(
            probe1(&MerakiCloud, Udp, S, SERVER),
            Probe::Match(_)
        ));
        assert_eq!(
            evidence(probe1(&MerakiCloud, Udp, S, SERVER3)),
            "Meraki cloud tunnel: magic fef72891, version 0x0d, type 0x03"
        );
        check_prefixes(&MerakiCloud, Udp, C, CLIENT, b"");
        let mut bad = CLIENT.to_vec();
        bad[7] ^= 4;
        assert_eq!(probe1(&MerakiCloud, Udp, C, &bad), Probe::NoMatch);
    }

    #[test]
    fn first_bytes_declared() {
        use crate::testkit::first_bytes_hold;
        use crate::testkit::input;
        first_bytes_hold(&MerakiCloud, &input(Udp, C, CLIENT, &[], 0));
        first_bytes_hold(&MerakiCloud, &input(Udp, S, SERVER, &[], 0));
        first_bytes_hold(&MerakiCloud, &input(Udp, S, SERVER3, &[], 0));
    }

    #[test]
    fn random_and_foreign() {
        assert_random_flows_rejected(&MerakiCloud, Udp, 7351);
        assert_foreign_rejected(&MerakiCloud, "none");
        foreign_never_match(&MerakiCloud, Udp);
    }
}
