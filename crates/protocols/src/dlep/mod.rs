//! DLEP, the Dynamic Link Exchange Protocol (RFC 8175), port 854: UDP for
//! peer discovery, TCP for the session.
//!
//! RFC 8175 §11: a UDP signal starts with the 4 octets "DLEP", then Signal
//! Type (2: 1 Peer Discovery, 2 Peer Offer) and Length (2, of the data
//! items that follow). §12: a TCP session message has no prefix: Message
//! Type (2: 1 Session Initialization, 2 Session Initialization Response,
//! 3 Session Update, 4 ... Response, 5 Session Termination, 6 ...
//! Response, 7 Destination Up, 8 ... Response, 9 Destination Announce, 10
//! ... Response, 11 Destination Down, 12 ... Response, 13 Destination
//! Update, 14 Link Characteristics Request, 15 ... Response, 16
//! Heartbeat) and Length (2). §13: every data item is Type (2) and
//! Length (2) of its value; the items fill the signal or message. The
//! router opens the session with Session Initialization, which carries a
//! Heartbeat Interval item (type 5) among others.

use netsift_proto::bytes::be16;
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// DLEP.
pub struct Dlep;

fn items_fill(d: &[u8], mut o: usize, end: usize) -> bool {
    let mut n = 0;
    while o < end && n < 64 {
        let (Some(t), Some(l)) = (be16(d, o), be16(d, o + 2)) else {
            return false;
        };
        // Type 0 is reserved (§15.6).
        if t == 0 {
            return false;
        }
        o += 4 + usize::from(l);
        n += 1;
    }
    o == end
}

const MESSAGES: [&str; 16] = [
    "Session Initialization",
    "Session Initialization Response",
    "Session Update",
    "Session Update Response",
    "Session Termination",
    "Session Termination Response",
    "Destination Up",
    "Destination Up Response",
    "Destination Announce",
    "Destination Announce Response",
    "Destination Down",
    "Destination Down Response",
    "Destination Update",
    "Link Characteristics Request",
    "Link Characteristics Response",
    "Heartbeat",
];

impl Protocol for Dlep {
    fn name(&self) -> &'static str {
        "DLEP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[854]
    }
    // RFC 8175 §11: "a UDP signal starts with the 4 octets "DLEP""; §12: a
    // TCP message starts with Message Type (2 octets, 1..=16, so 0x00 first)
    // (module doc).
    fn first_bytes(&self, transport: Transport) -> FirstBytes {
        match transport {
            Transport::Udp => FirstBytes::only(b"D"),
            _ => FirstBytes::only(&[0x00, b'D']),
        }
    }
    fn probe(&self, input: &ProbeInput<'_>, _s: &mut ProbeScratch) -> Probe {
        let d = input.data;
        if input.transport == Transport::Udp {
            if d.get(..4) != Some(b"DLEP") {
                return Probe::NoMatch;
            }
            let (Some(t), Some(l)) = (be16(d, 4), be16(d, 6)) else {
                return Probe::NoMatch;
            };
            let name = match t {
                1 => "Peer Discovery",
                2 => "Peer Offer",
                _ => return Probe::NoMatch,
            };
            if usize::from(l) + 8 != d.len() || !items_fill(d, 8, d.len()) {
                return Probe::NoMatch;
            }
            return Probe::Match(Match::new(format!("DLEP {name} signal")));
        }
        // TCP: the first message of the stream.
        let (Some(t), Some(l)) = (be16(d, 0), be16(d, 2)) else {
            return match (d, be16(d, 0)) {
                ([] | [0], _) => Probe::NeedMore,
                (_, Some(1..=16)) => Probe::NeedMore,
                _ => Probe::NoMatch,
            };
        };
        let Some(name) = MESSAGES.get(usize::from(t).wrapping_sub(1)) else {
            return Probe::NoMatch;
        };
        let end = 4 + usize::from(l);
        // Heartbeat and the terminations may be empty; the others carry
        // items.
        if l == 0 && !matches!(t, 5 | 6 | 16) {
            return Probe::NoMatch;
        }
        if d.len() < end {
            return Probe::NeedMore;
        }
        if !items_fill(d, 4, end) {
            return Probe::NoMatch;
        }
        if l == 0 {
            // An empty message alone is weak: wait for the next one.
            return if d.len() > end {
                Probe::NoMatch
            } else {
                Probe::NeedMore
            };
        }
        Probe::Match(Match::new(format!("DLEP {name} message")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, check_prefixes, evidence,
        foreign_never_match, input, probe1, C, S,
    };

    /// Peer Discovery (RFC 8175 §12.1), built: "DLEP", type 1, length 0.
    const DISCOVERY: &[u8] = b"DLEP\x00\x01\x00\x00";
    /// Peer Offer: "DLEP", type 2, length 12, Peer Type item (type 2,
    /// length 8: flags 0, "modem01").
    const OFFER: &[u8] = b"DLEP\x00\x02\x00\x0c\x00\x02\x00\x08\x00modem01";
    /// Session Initialization (§12.5): type 1, length 14, Heartbeat
    /// Interval item (type 5, length 4: 60000 ms), Peer Type item (type 2,
    /// length 2: flags 0, "r").
    const INIT: &[u8] = b"\x00\x01\x00\x0e\x00\x05\x00\x04\x00\x00\xea\x60\x00\x02\x00\x02\x00r";

    #[test]
    fn signals_and_session() {
        assert_eq!(
            evidence(probe1(&Dlep, Transport::Udp, C, DISCOVERY)),
            "DLEP Peer Discovery signal"
        );
        assert_eq!(
            evidence(probe1(&Dlep, Transport::Udp, S, OFFER)),
            "DLEP Peer Offer signal"
        );
        assert_eq!(
            evidence(probe1(&Dlep, Transport::Tcp, C, INIT)),
            "DLEP Session Initialization message"
        );
        check_prefixes(&Dlep, Transport::Tcp, C, INIT, &[]);
    }

    #[test]
    fn first_bytes_declared() {
        crate::testkit::first_bytes_hold(&Dlep, &input(Transport::Udp, C, DISCOVERY, &[], 0));
        crate::testkit::first_bytes_hold(&Dlep, &input(Transport::Udp, S, OFFER, &[], 0));
        crate::testkit::first_bytes_hold(&Dlep, &input(Transport::Tcp, C, INIT, &[], 0));
    }

    #[test]
    fn rejects_random_and_foreign() {
        assert_random_flows_rejected(&Dlep, Transport::Udp, 854);
        assert_random_flows_rejected(&Dlep, Transport::Tcp, 854);
        foreign_never_match(&Dlep, Transport::Tcp);
        assert_foreign_rejected(&Dlep, "dlep");
    }
}
