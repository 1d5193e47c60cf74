//! EAQ: the measurement probes of Brazil's broadband quality programme
//! (Entidade Aferidora da Qualidade de Banda Larga, run for Anatel).
//! Observed protocol, no public specification; layout as observed in nDPI's
//! EAQ.pcap (UDP to measurement servers on port 6000):
//!
//! ```text
//! 0      4          8        12   14
//! +------+----------+--------+----+------+
//! | seq  | test id  | stamp  | 00 | kind |   16 octets, big-endian
//! +------+----------+--------+----+------+
//! ```
//! * `seq` counts 0, 1, 2, ... per flow (one datagram per second);
//! * `kind` is `90 00` from the client and `60 00` in the server's echo;
//! * the server's echo repeats the client's first 12 octets.
//!
//! One 16-octet datagram with 4 fixed octets is a weak signature, so a
//! match needs two consistent datagrams: a client probe and its echo
//! (same first 12 octets), or two client probes of one flow whose `seq`
//! goes up by one (flows where the server never answers are common in the
//! capture). The probe keeps the previous `seq` + 1 in the scratch.

use netsift_proto::bytes::{array, be32};
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// EAQ.
pub struct Eaq;

const LEN: usize = 16;
const CLIENT: [u8; 4] = [0, 0, 0x90, 0x00];
const SERVER: [u8; 4] = [0, 0, 0x60, 0x00];

impl Protocol for Eaq {
    fn name(&self) -> &'static str {
        "EAQ"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[6000]
    }
    fn probe(&self, input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        if d.len() != LEN {
            return Probe::NoMatch;
        }
        let (Some(tail), Some(seq)) = (array::<4>(d, 12), be32(d, 0)) else {
            return Probe::NoMatch;
        };
        if tail == SERVER {
            // An echo: the peer is the client's first probe with the same
            // first 12 octets.
            if input.peer.len() == LEN
                && array::<4>(input.peer, 12) == Some(CLIENT)
                && input.peer.get(..12) == d.get(..12)
            {
                return Probe::Match(Match::new(format!(
                    "EAQ measurement echo, seq {seq}, test id {:#x}",
                    be32(d, 4).unwrap_or(0)
                )));
            }
            return Probe::NeedMore;
        }
        if tail != CLIENT {
            return Probe::NoMatch;
        }
        // scratch[0]: 1 + the last client seq seen (0 = none yet).
        let prev = scratch.0[0];
        if prev != 0 && prev == u64::from(seq) {
            return Probe::Match(Match::new(format!(
                "EAQ measurement probes, seq {} then {seq}",
                seq.wrapping_sub(1)
            )));
        }
        scratch.0[0] = u64::from(seq) + 1;
        Probe::NeedMore
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, check_prefixes, feed, feed_evidence,
        foreign_never_match, probe1, C, S,
    };
    use netsift_proto::Transport::Udp;

    // Sources: testdata/README.md.
    const REQ0: &[u8] = include_bytes!("testdata/req0.bin");
    const REPLY0: &[u8] = include_bytes!("testdata/reply0.bin");
    const ONEWAY0: &[u8] = include_bytes!("testdata/oneway0.bin");
    const ONEWAY1: &[u8] = include_bytes!("testdata/oneway1.bin");

    #[test]
    fn probe_and_echo() {
        assert_eq!(
            feed_evidence(&Eaq, Udp, 6000, &[(C, REQ0), (S, REPLY0)]),
            "EAQ measurement echo, seq 0, test id 0xdda"
        );
    }

    #[test]
    fn one_direction_flow() {
        // Flows where the server never answered: two consecutive probes.
        assert_eq!(
            feed_evidence(&Eaq, Udp, 6000, &[(C, ONEWAY0), (C, ONEWAY1)]),
            "EAQ measurement probes, seq 0 then 1"
        );
        // One probe alone is not enough.
        assert_eq!(probe1(&Eaq, Udp, C, ONEWAY0), Probe::NeedMore);
        // The same probe twice (no increment) is not enough either.
        assert_eq!(
            feed(&Eaq, Udp, 6000, &[(C, ONEWAY0), (C, ONEWAY0)]),
            Probe::NeedMore
        );
        // An echo that does not repeat the probe is not a match.
        let mut r = REPLY0.to_vec();
        r[7] ^= 1;
        assert!(!matches!(
            feed(&Eaq, Udp, 6000, &[(C, REQ0), (S, &r)]),
            Probe::Match(_)
        ));
        check_prefixes(&Eaq, Udp, C, REQ0, b"");
    }

    #[test]
    fn random_and_foreign() {
        assert_random_flows_rejected(&Eaq, Udp, 6000);
        assert_foreign_rejected(&Eaq, "none");
        foreign_never_match(&Eaq, Udp);
    }
}
