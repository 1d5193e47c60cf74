//! Source_Engine: Source engine game traffic that is not a single
//! connectionless message (those, the A2S queries and the connect
//! challenge, are `HalfLife2`, as nDPI splits them).
//!
//! What is recognisable is the **split packet** (Valve Developer Community,
//! "Server queries", "Multi-packet Response Format"), used for any
//! message larger than one datagram: header `FF FF FF FE` (-2), a u32 LE
//! message id (top bit set when compressed), the total number of packets
//! (u8), this packet's number (u8, from 0) and, in Source (not GoldSrc),
//! the maximum packet size (u16 LE, typically 1248). Two datagrams of one
//! direction with the same id and total and different numbers below the
//! total confirm it.

use netsift_proto::bytes::{array, le16, le32, u8_at};
use netsift_proto::{
    Direction, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// Source_Engine (split packets).
pub struct SourceEngine;

impl Protocol for SourceEngine {
    fn name(&self) -> &'static str {
        "Source_Engine"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[27015]
    }
    // VDC "Server queries", Multi-packet Response Format: every split packet
    // starts with the header `FF FF FF FE` (-2).
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0xff])
    }
    fn probe(&self, input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        if array::<4>(d, 0) != Some([0xff, 0xff, 0xff, 0xfe]) {
            return Probe::NoMatch;
        }
        let (Some(id), Some(total), Some(num), Some(size)) =
            (le32(d, 4), u8_at(d, 8), u8_at(d, 9), le16(d, 10))
        else {
            return Probe::NoMatch;
        };
        if total < 2 || num >= total || !(64..=1400).contains(&size) || d.len() > 1500 {
            return Probe::NoMatch;
        }
        // scratch[slot]: 1 << 63 | id << 16 | total << 8 | number.
        let slot = usize::from(input.dir == Direction::ToClient);
        let now = 1 << 63 | u64::from(id) << 16 | u64::from(total) << 8 | u64::from(num);
        let prev = scratch.0[slot];
        scratch.0[slot] = now;
        if prev >> 63 == 1 && prev >> 8 == now >> 8 && prev & 0xff != now & 0xff {
            return Probe::Match(Match::new(format!(
                "Source split packets of message 0x{id:08x} ({total} parts, {size}-byte packets)"
            )));
        }
        Probe::NeedMore
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    fn part(num: u8) -> Vec<u8> {
        let mut p = vec![0xff, 0xff, 0xff, 0xfe];
        p.extend_from_slice(&0x1234u32.to_le_bytes()); // id
        p.push(3); // total
        p.push(num); // number
        p.extend_from_slice(&1248u16.to_le_bytes()); // max size
        p.extend_from_slice(&[0xab; 300]);
        p
    }

    #[test]
    fn two_parts_of_one_message() {
        let (a, b) = (part(0), part(1));
        assert_eq!(
            probe1(&SourceEngine, Transport::Udp, S, &a),
            Probe::NeedMore
        );
        let e = feed_evidence(&SourceEngine, Transport::Udp, 27015, &[(S, &a), (S, &b)]);
        assert_eq!(
            e,
            "Source split packets of message 0x00001234 (3 parts, 1248-byte packets)"
        );
        // The same part twice is not a confirmation.
        assert!(!is_match(&feed(
            &SourceEngine,
            Transport::Udp,
            27015,
            &[(S, &a), (S, &a)]
        )));
        check_prefixes(&SourceEngine, Transport::Udp, S, &a, &[]);
    }

    #[test]
    fn random_and_foreign_rejected() {
        assert_random_flows_rejected(&SourceEngine, Transport::Udp, 27015);
        assert_foreign_rejected(&SourceEngine, "source");
        foreign_never_match(&SourceEngine, Transport::Udp);
    }

    #[test]
    fn first_bytes_declared() {
        for n in [0, 1] {
            let p = part(n);
            crate::testkit::first_bytes_hold(
                &SourceEngine,
                &crate::testkit::input(Transport::Udp, S, &p, &[], 0),
            );
        }
    }
}
