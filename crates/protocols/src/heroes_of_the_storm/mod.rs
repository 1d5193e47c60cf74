//! Heroes_of_the_Storm (Blizzard): the game's UDP traffic. Observed
//! protocol (Blizzard publishes no specification), from nDPI's
//! `hots.pcapng`: three flows, two server ports (3724, 1119), both
//! directions.
//!
//! Every datagram has a 14-byte prefix (the client's starts with a 4-byte
//! connection value that all its datagrams repeat; the servers' is all
//! zeros), then a flag byte 0x40, a second byte 0x00 or 0x10 (0x10 marks a
//! resend), then a u16 BE sequence that only grows slowly. The header is
//! short, so three datagrams of one direction must agree: same first four
//! bytes, the 0x40 flags, sequences non-decreasing by less than 0x400.

use netsift_proto::bytes::{be16, be32, u8_at};
use netsift_proto::{Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Heroes_of_the_Storm.
pub struct HeroesOfTheStorm;

impl Protocol for HeroesOfTheStorm {
    fn name(&self) -> &'static str {
        "Heroes_of_the_Storm"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[1119, 3724]
    }
    fn probe(&self, input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        if d.len() < 20 || u8_at(d, 14) != Some(0x40) || !matches!(u8_at(d, 15), Some(0 | 0x10)) {
            return Probe::NoMatch;
        }
        let (Some(conn), Some(seq)) = (be32(d, 0), be16(d, 16)) else {
            return Probe::NoMatch;
        };
        // scratch[slot]: count (bits 48..) | last sequence (32..48) | conn.
        let slot = usize::from(input.dir == Direction::ToClient);
        let prev = scratch.0[slot];
        let count = prev >> 48;
        let consistent = count > 0 && prev as u32 == conn && {
            let p = (prev >> 32) as u16;
            seq >= p && seq - p < 0x400
        };
        let count = if consistent { count + 1 } else { 1 };
        scratch.0[slot] = count << 48 | u64::from(seq) << 32 | u64::from(conn);
        if count >= 3 {
            return Probe::Match(Match::new(format!(
                "Heroes of the Storm UDP: {count} datagrams with flags 0x40, connection 0x{conn:08x}, sequence up to 0x{seq:04x}"
            )));
        }
        Probe::NeedMore
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const C1: &[u8] = include_bytes!("testdata/f1.bin");
    const C2: &[u8] = include_bytes!("testdata/f2.bin");
    const C3: &[u8] = include_bytes!("testdata/f3.bin");
    const S1: &[u8] = include_bytes!("testdata/f36.bin");
    const S2: &[u8] = include_bytes!("testdata/f37.bin");
    const S3: &[u8] = include_bytes!("testdata/f38.bin");

    #[test]
    fn three_datagrams_confirm() {
        let e = feed_evidence(
            &HeroesOfTheStorm,
            Transport::Udp,
            3724,
            &[(C, C1), (C, C2), (C, C3)],
        );
        assert!(e.contains("connection 0xe65d3400"), "{e}");
        // Server side only (a capture that holds one direction).
        let e = feed_evidence(
            &HeroesOfTheStorm,
            Transport::Udp,
            1119,
            &[(S, S1), (S, S2), (S, S3)],
        );
        assert!(e.contains("connection 0x00000000"), "{e}");
        assert_eq!(
            feed(&HeroesOfTheStorm, Transport::Udp, 3724, &[(C, C1), (C, C2)]),
            Probe::NeedMore
        );
        check_prefixes(&HeroesOfTheStorm, Transport::Udp, C, C1, &[]);
    }

    #[test]
    fn random_and_foreign_rejected() {
        assert_random_flows_rejected(&HeroesOfTheStorm, Transport::Udp, 3724);
        assert_foreign_rejected(&HeroesOfTheStorm, "hots");
        foreign_never_match(&HeroesOfTheStorm, Transport::Udp);
    }
}
