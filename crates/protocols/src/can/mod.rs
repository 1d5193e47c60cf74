//! Controller_Area_Network: CAN bus frames tunnelled in UDP behind the
//! 8-octet ASCII tag `ISO11898` (the CAN standard's number), as CAN-to-
//! Ethernet gateways send them. Observed protocol (no public
//! specification): the tag, a version octet (1), a message type octet, then
//! CAN frames. The tag is the identification; version and type are checked
//! so other text that happens to start with "ISO11898" is not claimed.

use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// CAN over UDP.
pub struct Can;

const TAG: &[u8] = b"ISO11898";

impl Protocol for Can {
    fn name(&self) -> &'static str {
        "Controller_Area_Network"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    // Module doc: frames are "tunnelled in UDP behind the 8-octet ASCII tag
    // `ISO11898`"; the probe requires `d.starts_with(TAG)`.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(b"I")
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        if input.transport != Transport::Udp || !d.starts_with(TAG) {
            return Probe::NoMatch;
        }
        match (d.get(8), d.get(9)) {
            (Some(1), Some(&ty)) if (1..=0x10).contains(&ty) && d.len() > 10 => {
                Probe::Match(Match::new(format!(
                    "CAN frames over UDP (ISO11898 tag, version 1, type {ty}, {} octets)",
                    d.len()
                )))
            }
            _ => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const UDP: Transport = Transport::Udp;
    // can.pcap frame 1 (see testdata/README.md).
    const FRAMES: &[u8] = include_bytes!("testdata/frames.bin");

    #[test]
    fn tagged_frames() {
        assert_eq!(
            evidence(probe1(&Can, UDP, C, FRAMES)),
            "CAN frames over UDP (ISO11898 tag, version 1, type 2, 45 octets)"
        );
        let mut v2 = FRAMES.to_vec();
        v2[8] = 2;
        assert_eq!(probe1(&Can, UDP, C, &v2), Probe::NoMatch);
        assert_eq!(probe1(&Can, UDP, C, &FRAMES[..10]), Probe::NoMatch);
        assert_eq!(
            probe1(&Can, UDP, C, b"ISO11898 is the CAN standard"),
            Probe::NoMatch
        );
    }

    #[test]
    fn first_bytes_declared() {
        crate::testkit::first_bytes_hold(&Can, &input(UDP, C, FRAMES, &[], 0));
    }

    #[test]
    fn random_and_foreign() {
        assert_random_flows_rejected(&Can, UDP, 11898);
        assert_foreign_rejected(&Can, "");
    }
}
