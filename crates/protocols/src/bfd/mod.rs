//! BFD, Bidirectional Forwarding Detection (RFC 5880), control packets
//! over UDP: single hop port 3784 (RFC 5881), multihop 4784 (RFC 5883),
//! micro-BFD on LAG members 6784 (RFC 7130).
//!
//! RFC 5880 §4.1, the mandatory section (24 octets): Vers (3 bits) = 1,
//! Diag (5 bits, 0..=8 defined), Sta (2 bits: 0 AdminDown, 1 Down, 2
//! Init, 3 Up), flags P F C A D M ("Multipoint (M) ... MUST be zero"),
//! Detect Mult ("MUST NOT be zero", §6.8.6), Length (the whole packet: 24,
//! or 26+ with the A bit and an authentication section), My Discriminator
//! ("MUST be nonzero", §6.8.6), Your Discriminator, Desired Min TX
//! Interval, Required Min RX Interval, Required Min Echo RX Interval.
//!
//! A 24-octet header is not much of a signature alone, so a packet is
//! called when the other direction's packet names it (its Your
//! Discriminator is this packet's My Discriminator, or the reverse), or
//! when a second packet of the same direction repeats its My
//! Discriminator (BFD sends continuously).

use netsift_proto::bytes::{be32, u8_at};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// BFD.
pub struct Bfd;

const STATES: [&str; 4] = ["AdminDown", "Down", "Init", "Up"];

/// `Some((state, my discriminator, your discriminator))` for a
/// well-formed control packet.
fn control(d: &[u8]) -> Option<(u8, u32, u32)> {
    let (b0, b1, mult, len) = (u8_at(d, 0)?, u8_at(d, 1)?, u8_at(d, 2)?, u8_at(d, 3)?);
    if b0 >> 5 != 1 || b0 & 0x1f > 8 || b1 & 0x01 != 0 || mult == 0 {
        return None;
    }
    let auth = b1 & 0x04 != 0;
    let len = usize::from(len);
    if len != d.len() || (auth && len < 26) || (!auth && len != 24) {
        return None;
    }
    // P and F are never both set (§6.5: a Final answers a Poll).
    if b1 & 0x30 == 0x30 {
        return None;
    }
    let my = be32(d, 4)?;
    if my == 0 {
        return None;
    }
    Some((b1 >> 6, my, be32(d, 8)?))
}

impl Protocol for Bfd {
    fn name(&self) -> &'static str {
        "BFD"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[3784, 4784, 6784]
    }
    // RFC 5880 §4.1: first octet `Vers(3) Diag(5)`, "Version (Vers): The
    // version number of the protocol. This document defines protocol
    // version 1."; Diag values 0..=8 are defined (§4.1), as `control` checks.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::range(0x20, 0x28)
    }
    fn probe(&self, input: &ProbeInput<'_>, s: &mut ProbeScratch) -> Probe {
        let Some((sta, my, your)) = control(input.data) else {
            return Probe::NoMatch;
        };
        let state = STATES.get(usize::from(sta)).copied().unwrap_or("?");
        let ev = || {
            Probe::Match(Match::new(format!(
                "BFD v1 control, state {state}, discriminators {my:#x}/{your:#x}"
            )))
        };
        if let Some((_, pmy, pyour)) = control(input.peer) {
            if pyour == my || (your != 0 && your == pmy) {
                return ev();
            }
        }
        let key = (u64::from(my) << 1) | 1;
        let slot = usize::from(input.dir == netsift_proto::Direction::ToClient);
        if let Some(v) = s.0.get_mut(slot) {
            if *v == key {
                return ev();
            }
            *v = key;
        }
        Probe::NeedMore
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, feed_evidence, input, probe1, C, S,
    };

    const UDP: Transport = Transport::Udp;

    /// A control packet (RFC 5880 §4.1), built: version 1, diag 0, the
    /// state, detect mult 3, length 24, discriminators, 1 s intervals.
    fn pkt(state: u8, my: u32, your: u32) -> Vec<u8> {
        let mut p = vec![0x20, state << 6, 3, 24];
        p.extend_from_slice(&my.to_be_bytes());
        p.extend_from_slice(&your.to_be_bytes());
        for _ in 0..3 {
            p.extend_from_slice(&1_000_000u32.to_be_bytes());
        }
        p
    }

    #[test]
    fn session() {
        let a1 = pkt(1, 0x11, 0);
        let b1 = pkt(2, 0x22, 0x11);
        // One packet alone waits.
        assert_eq!(probe1(&Bfd, UDP, C, &a1), Probe::NeedMore);
        assert_eq!(
            feed_evidence(&Bfd, UDP, 3784, &[(C, &a1), (S, &b1)]),
            "BFD v1 control, state Init, discriminators 0x22/0x11"
        );
        // One direction only: the same discriminator twice.
        let a2 = pkt(3, 0x11, 0x22);
        assert_eq!(
            feed_evidence(&Bfd, UDP, 3784, &[(C, &a1), (C, &a2)]),
            "BFD v1 control, state Up, discriminators 0x11/0x22"
        );
        let mut bad = a1.clone();
        bad[4..8].copy_from_slice(&[0; 4]);
        assert_eq!(probe1(&Bfd, UDP, C, &bad), Probe::NoMatch);
    }

    #[test]
    fn first_bytes_declared() {
        let a1 = pkt(1, 0x11, 0);
        let b1 = pkt(2, 0x22, 0x11);
        crate::testkit::first_bytes_hold(&Bfd, &input(UDP, C, &a1, &[], 0));
        crate::testkit::first_bytes_hold(&Bfd, &input(UDP, S, &b1, &a1, 0));
    }

    #[test]
    fn rejects_random_and_foreign() {
        assert_random_flows_rejected(&Bfd, UDP, 3784);
        assert_foreign_rejected(&Bfd, "bfd");
    }
}
