//! BGP-4, identified from the message header (RFC 4271 §4.1).
//!
//! "Each message has a fixed-size header."
//!   Marker: "This 16-octet field is included for compatibility; it MUST
//!   be set to all ones."
//!   Length: "The value of the Length field MUST always be at least 19
//!   and no greater than 4096" (RFC 8654 raises the limit to 65535 for
//!   Extended Messages, but only after OPEN/KEEPALIVE are exchanged).
//!   Type: "1 - OPEN, 2 - UPDATE, 3 - NOTIFICATION, 4 - KEEPALIVE" and
//!   5 - ROUTE-REFRESH (RFC 2918).
//! The 128-bit all-ones marker is a strong signature; the per-type length
//! rules (RFC 4271 §4.2-§4.5, RFC 2918 §3) are checked as well.

use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// BGP.
pub struct Bgp;

const HEADER: usize = 19;

impl Protocol for Bgp {
    fn name(&self) -> &'static str {
        "BGP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[179]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let d = input.data;
        // Marker: 16 octets of 0xFF.
        if !d.iter().take(16).all(|&b| b == 0xff) {
            return Probe::NoMatch;
        }
        if d.len() < HEADER {
            return Probe::NeedMore;
        }
        let len = usize::from(u16::from_be_bytes([d[16], d[17]]));
        let ty = d[18];
        if !(HEADER..=4096).contains(&len) {
            return Probe::NoMatch;
        }
        let (name, len_ok) = match ty {
            // RFC 4271 §4.2: OPEN is at least 29 octets (header 19 +
            // version 1 + AS 2 + hold time 2 + BGP id 4 + opt len 1), and
            // its Optional Parameters Length fills the rest.
            1 => ("OPEN", len >= 29),
            // §4.3: "the minimum length of the UPDATE message is 23 octets".
            2 => ("UPDATE", len >= 23),
            // §4.5: NOTIFICATION has error code and subcode: at least 21.
            3 => ("NOTIFICATION", len >= 21),
            // §4.4: "A KEEPALIVE message consists of only the message
            // header and has a length of 19 octets."
            4 => ("KEEPALIVE", len == HEADER),
            // RFC 2918 §3: AFI 2, Res. 1, SAFI 1: 23 octets.
            5 => ("ROUTE-REFRESH", len == 23),
            _ => return Probe::NoMatch,
        };
        if !len_ok {
            return Probe::NoMatch;
        }
        if ty == 1 {
            // §4.2 "Version: This 1-octet unsigned integer indicates the
            // protocol version number of the message. The current BGP
            // version number is 4."
            let Some(&version) = d.get(HEADER) else {
                return Probe::NeedMore;
            };
            if version != 4 {
                return Probe::NoMatch;
            }
            // Optional Parameters Length: total = 29 + opt_len (RFC 9072
            // extended form, opt_len 255 + type 255, is let through).
            let Some(&opt_len) = d.get(28) else {
                return Probe::NeedMore;
            };
            if opt_len != 255 && 29 + usize::from(opt_len) != len {
                return Probe::NoMatch;
            }
            let asn = u16::from_be_bytes([d[20], d[21]]);
            let hold = u16::from_be_bytes([d[22], d[23]]);
            // §4.2: "the Hold Time MUST be either zero or at least three
            // seconds".
            if hold == 1 || hold == 2 {
                return Probe::NoMatch;
            }
            return Probe::Match(Match::new(format!(
                "BGP-4 OPEN, AS {asn}, hold time {hold}s"
            )));
        }
        Probe::Match(Match::new(format!("BGP {name} message ({len} octets)")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::first_packet::{identify_first_payload, FirstVerdict};
    use crate::testkit::{
        check_prefixes, evidence, foreign_never_match, random_matches, run, C, S,
    };

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const OPEN: &[u8] = include_bytes!("testdata/open.bin");
    const KEEPALIVE: &[u8] = include_bytes!("testdata/keepalive.bin");
    const REFRESH: &[u8] = include_bytes!("testdata/route_refresh.bin");
    const UPDATES: &[u8] = include_bytes!("testdata/updates.bin");

    #[test]
    fn messages() {
        assert_eq!(
            evidence(run(&Bgp, TCP, C, OPEN, b"")),
            "BGP-4 OPEN, AS 1, hold time 180s"
        );
        assert_eq!(
            evidence(run(&Bgp, TCP, S, KEEPALIVE, b"")),
            "BGP KEEPALIVE message (19 octets)"
        );
        assert_eq!(
            evidence(run(&Bgp, TCP, S, REFRESH, b"")),
            "BGP ROUTE-REFRESH message (23 octets)"
        );
        assert_eq!(
            evidence(run(&Bgp, TCP, S, UPDATES, b"")),
            "BGP UPDATE message (57 octets)"
        );
    }

    #[test]
    fn bad_headers() {
        let mut o = OPEN.to_vec();
        o[19] = 3; // BGP-3
        assert_eq!(run(&Bgp, TCP, C, &o, b""), Probe::NoMatch);
        let mut k = KEEPALIVE.to_vec();
        k[17] = 20;
        assert_eq!(run(&Bgp, TCP, C, &k, b""), Probe::NoMatch);
        let mut k = KEEPALIVE.to_vec();
        k[18] = 6;
        assert_eq!(run(&Bgp, TCP, C, &k, b""), Probe::NoMatch);
        let mut k = KEEPALIVE.to_vec();
        k[3] = 0xfe;
        assert_eq!(run(&Bgp, TCP, C, &k, b""), Probe::NoMatch);
        foreign_never_match(&Bgp, TCP);
    }

    #[test]
    fn prefixes_are_consistent() {
        for d in [OPEN, KEEPALIVE, REFRESH, UPDATES] {
            check_prefixes(&Bgp, TCP, C, d, b"");
        }
    }

    #[test]
    fn first_packet_api_on_odd_port() {
        match identify_first_payload(TCP, C, 80, OPEN) {
            FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "BGP"),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn random_bytes_are_not_bgp() {
        let hits = random_matches(&Bgp, TCP, 100_000, 0xb6b, None);
        assert!(hits < 100, "{hits} random matches");
        // Random payloads behind a real marker: only well-formed headers.
        let mut rng = crate::testkit::XorShift(0x179);
        let mut hits = 0;
        for _ in 0..100_000 {
            let mut d = [0xffu8; 40];
            for b in &mut d[16..] {
                *b = rng.next() as u8;
            }
            if matches!(run(&Bgp, TCP, C, &d, b""), Probe::Match(_)) {
                hits += 1;
            }
        }
        assert!(hits < 100, "{hits} matches behind a marker");
    }
}
