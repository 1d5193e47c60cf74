//! PIM, Protocol Independent Multicast, IP protocol 103 (PIM-SM RFC 7761,
//! PIM-DM RFC 3973, BIDIR-PIM RFC 5015, BSR RFC 5059).
//!
//! RFC 7761 §4.9: "All PIM control messages have IP protocol number 103."
//! The header is `PIM Ver (4 bits) = 2 | Type (4 bits) | Reserved (8) |
//! Checksum (16)`; types 0 Hello, 1 Register, 2 Register-Stop, 3
//! Join/Prune, 4 Bootstrap, 5 Assert, 6 Graft, 7 Graft-Ack, 8
//! Candidate-RP-Advertisement, 9 State Refresh (RFC 3973), 10 DF Election
//! (RFC 5015). "The checksum is a standard IP checksum, i.e., the 16-bit
//! one's complement of the one's complement sum of the entire PIM message,
//! excluding the data portion in the Register message." (Over IPv6 the
//! sum also covers the IPv6 pseudo-header.)

use std::net::IpAddr;

use netsift_proto::bytes::u8_at;
use netsift_proto::{Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// IP_PIM.
pub struct IpPim;

const TYPES: [&str; 11] = [
    "Hello",
    "Register",
    "Register-Stop",
    "Join/Prune",
    "Bootstrap",
    "Assert",
    "Graft",
    "Graft-Ack",
    "Candidate-RP-Advertisement",
    "State Refresh",
    "DF Election",
];

/// The one's complement sum of `d` (16-bit words, odd byte padded).
fn ones_sum(d: &[u8]) -> u16 {
    let mut s: u32 = 0;
    for c in d.chunks(2) {
        let w = match c {
            [a, b] => u16::from_be_bytes([*a, *b]),
            [a] => u16::from_be_bytes([*a, 0]),
            _ => 0,
        };
        s += u32::from(w);
    }
    fold(s)
}

fn fold(mut s: u32) -> u16 {
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

impl Protocol for IpPim {
    fn name(&self) -> &'static str {
        "IP_PIM"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Ip(103)]
    }
    fn probe(&self, input: &ProbeInput<'_>, _s: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let (Some(vt), Some(_rsvd)) = (u8_at(d, 0), u8_at(d, 1)) else {
            return Probe::NoMatch;
        };
        if vt >> 4 != 2 || d.len() < 4 {
            return Probe::NoMatch;
        }
        let t = vt & 0x0f;
        let Some(name) = TYPES.get(usize::from(t)) else {
            return Probe::NoMatch;
        };
        // Register: the checksum covers the 8-octet Register header.
        let covered = if t == 1 { d.get(..8).unwrap_or(d) } else { d };
        let covered = covered.get(..1500).unwrap_or(covered);
        let (src, dst) = match input.dir {
            Direction::ToServer => (input.client_addr, input.server_addr),
            Direction::ToClient => (input.server_addr, input.client_addr),
        };
        let sum = match (src, dst) {
            // RFC 7761 §4.9 over IPv6: the sum includes the RFC 2460 §8.1
            // pseudo-header (addresses, upper-layer length, next header).
            (Some(IpAddr::V6(s)), Some(IpAddr::V6(t))) => {
                let mut pseudo = [0u8; 40];
                pseudo[..16].copy_from_slice(&s.octets());
                pseudo[16..32].copy_from_slice(&t.octets());
                pseudo[32..36].copy_from_slice(&(d.len() as u32).to_be_bytes());
                pseudo[39] = 103;
                fold(u32::from(ones_sum(&pseudo)) + u32::from(ones_sum(covered)))
            }
            _ => ones_sum(covered),
        };
        if sum != 0xffff {
            return Probe::NoMatch;
        }
        Probe::Match(Match::new(format!("PIMv2 {name}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{assert_random_flows_rejected, evidence, probe1, C};

    const IP: Transport = Transport::Ip(103);
    // Source: testdata/README.md.
    const JOIN: &[u8] = include_bytes!("testdata/v2_join_prune.bin");

    #[test]
    fn join_prune() {
        assert_eq!(evidence(probe1(&IpPim, IP, C, JOIN)), "PIMv2 Join/Prune");
        // A damaged checksum is not PIM.
        let mut bad = JOIN.to_vec();
        bad[10] ^= 1;
        assert_eq!(probe1(&IpPim, IP, C, &bad), Probe::NoMatch);
        for i in 0..JOIN.len() {
            let _ = probe1(&IpPim, IP, C, &JOIN[..i]);
        }
    }

    #[test]
    fn hello_built() {
        // RFC 7761 §4.9.2 Hello with one Holdtime option (type 1, length
        // 2, 105 s); checksum computed below.
        let mut h = vec![0x20, 0, 0, 0, 0, 1, 0, 2, 0, 105];
        let c = !ones_sum(&h);
        h[2..4].copy_from_slice(&c.to_be_bytes());
        assert_eq!(evidence(probe1(&IpPim, IP, C, &h)), "PIMv2 Hello");
    }

    #[test]
    fn rejects_random() {
        assert_random_flows_rejected(&IpPim, IP, 0);
    }
}
