//! imo.im voice/video calls over UDP (observed protocol: imo publishes no
//! specification; the framing below is what nDPI's imo.pcap shows, a call
//! through a relay and a peer-to-peer leg).
//!
//! Each datagram is one message: a length in 7-bit groups (most
//! significant group first, high bit = more groups follow) counting the
//! bytes after it, then a message type byte. Datagrams from the relay put
//! a 0x00 byte before the length. Types seen: 0x0d (media and signalling
//! blocks), 0x0e, 0x1a, and 0x02 / 0x03, a ping and its pong carrying the
//! same 8 bytes on the peer-to-peer leg.
//!
//! A length that matches the datagram is a weak sign on its own, so three
//! framed datagrams with known types, in both directions, are required.

use netsift_proto::bytes::u8_at;
use netsift_proto::{
    Direction, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// IMO.
pub struct Imo;

/// The message type of a framed datagram starting at `off`, when the
/// length field there counts exactly the rest of `d`.
fn framed(d: &[u8], off: usize) -> Option<u8> {
    let mut len = 0usize;
    for i in 0..3 {
        let b = u8_at(d, off + i)?;
        len = (len << 7) | usize::from(b & 0x7f);
        if b & 0x80 == 0 {
            let body = off + i + 1;
            let ty = u8_at(d, body)?;
            return (len >= 2 && d.len() == body + len).then_some(ty);
        }
    }
    None
}

fn known_type(t: u8) -> bool {
    matches!(t, 0x02 | 0x03 | 0x0d | 0x0e | 0x1a)
}

impl Protocol for Imo {
    fn name(&self) -> &'static str {
        "IMO"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    // Observed framing (module doc): "a length in 7-bit groups (most
    // significant group first, high bit = more groups follow) counting the
    // bytes after it" of at least 2 (0x02-0x7F alone; 0x80-0x9F starts a
    // longer one within the 4096-byte cap), or "the relay['s] 0x00 byte
    // before the length".
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x00]).or(FirstBytes::range(0x02, 0x9f))
    }
    fn probe(&self, input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        // O(1) gate: the first byte is a length start (or the relay's 0x00)
        // no larger than the datagram allows.
        if d.len() < 3 || d.len() > 4096 {
            return Probe::NoMatch;
        }
        let ty = framed(d, 0).or_else(|| {
            (input.dir == Direction::ToClient && u8_at(d, 0) == Some(0))
                .then(|| framed(d, 1))
                .flatten()
        });
        let Some(ty) = ty.filter(|&t| known_type(t)) else {
            return Probe::NoMatch;
        };
        // Word 0: framed datagrams seen (bits 0..8) and directions (bit 8
        // client, bit 9 server).
        let s = &mut scratch.0[0];
        let bit = match input.dir {
            Direction::ToServer => 1 << 8,
            Direction::ToClient => 1 << 9,
        };
        *s = ((*s & 0xff) + 1).min(0xff) | (*s & 0x300) | bit;
        if *s & 0xff >= 3 && *s & 0x300 == 0x300 {
            return Probe::Match(Match::new(format!(
                "IMO call datagrams: length-framed messages in both directions (last type 0x{ty:02x})"
            )));
        }
        Probe::NeedMore
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, feed, feed_evidence, probe1, C, S,
    };

    const UDP: Transport = Transport::Udp;
    // Sources: testdata/README.md (imo.pcap frame numbers).
    const F1: &[u8] = include_bytes!("testdata/f1.bin");
    const F2: &[u8] = include_bytes!("testdata/f2.bin");
    const F3: &[u8] = include_bytes!("testdata/f3.bin");
    const F4: &[u8] = include_bytes!("testdata/f4.bin");
    const F14: &[u8] = include_bytes!("testdata/f14.bin");
    const F19: &[u8] = include_bytes!("testdata/f19.bin");
    const F24: &[u8] = include_bytes!("testdata/f24.bin");
    const F27: &[u8] = include_bytes!("testdata/f27.bin");
    const F28: &[u8] = include_bytes!("testdata/f28.bin");
    const F34: &[u8] = include_bytes!("testdata/f34.bin");

    #[test]
    fn relay_leg() {
        assert_eq!(
            feed_evidence(&Imo, UDP, 36535, &[(C, F1), (C, F2), (S, F3), (S, F4)]),
            "IMO call datagrams: length-framed messages in both directions (last type 0x0d)"
        );
        // A 3-byte length (relay, 0x00 prefix).
        assert_eq!(probe1(&Imo, UDP, S, F14), Probe::NeedMore);
    }

    #[test]
    fn p2p_leg() {
        assert!(matches!(
            feed(
                &Imo,
                UDP,
                57604,
                &[(C, F19), (S, F24), (S, F27), (C, F28), (S, F34)]
            ),
            Probe::Match(_)
        ));
    }

    #[test]
    fn one_direction_or_few_is_not_enough() {
        assert_eq!(
            feed(&Imo, UDP, 1, &[(C, F2), (C, F28), (C, F28)]),
            Probe::NeedMore
        );
        assert_eq!(feed(&Imo, UDP, 1, &[(C, F2), (S, F3)]), Probe::NeedMore);
        let mut bad = F2.to_vec();
        bad.push(0); // length no longer fits
        assert_eq!(probe1(&Imo, UDP, C, &bad), Probe::NoMatch);
    }

    #[test]
    fn first_bytes_declared() {
        use crate::testkit::first_bytes_hold;
        use crate::testkit::input;
        // The samples the probe takes on their own (F1 it rejects alone;
        // F19 and F24 are one byte long).
        for (dir, d) in [(C, F2), (S, F3), (S, F4), (S, F14), (C, F28)] {
            first_bytes_hold(&Imo, &input(UDP, dir, d, &[], 0));
        }
    }

    #[test]
    fn foreign_and_random() {
        assert_foreign_rejected(&Imo, "none");
        assert_random_flows_rejected(&Imo, UDP, 40000);
    }
}
