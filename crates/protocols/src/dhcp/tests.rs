//! DHCP tests. testdata (nDPI corpus):
//! * discover.bin  telegram.pcap frame 1 (DHCP Discover)
//! * request.bin   1kxun.pcap frame 11 (DHCP Request)
//! * ack.bin       1kxun.pcap frame 5 (DHCP ACK)
//!
//! No DHCP Offer exists in the corpus; an ACK is the server-side sample and
//! an Offer is made from it by changing option 53.

use netsift_proto::{Direction, Probe, Transport};

use super::Dhcp;
use crate::first_packet::{identify_first_payload, FirstVerdict};
use crate::testkit::ported::*;

const DISCOVER: &[u8] = include_bytes!("testdata/discover.bin");
const REQUEST: &[u8] = include_bytes!("testdata/request.bin");
const ACK: &[u8] = include_bytes!("testdata/ack.bin");

#[test]
fn real_dhcp() {
    let e = evidence(&Dhcp, &udp(DISCOVER, 67));
    assert!(e.starts_with("DHCP DISCOVER from "), "{e}");
    assert!(evidence(&Dhcp, &udp(REQUEST, 67)).starts_with("DHCP REQUEST from "));
    assert!(evidence(&Dhcp, &udp(ACK, 68)).starts_with("DHCP ACK to "));
    // Offer: same layout as the ACK.
    let mut offer = ACK.to_vec();
    let at = offer[240..]
        .windows(3)
        .position(|w| w == [53, 1, 5])
        .expect("option 53");
    offer[240 + at + 2] = 2;
    assert!(evidence(&Dhcp, &udp(&offer, 68)).starts_with("DHCP OFFER to "));
}

#[test]
fn cookie_and_option_53_required() {
    let mut d = DISCOVER.to_vec();
    d[236] = 0;
    assert_eq!(run(&Dhcp, &udp(&d, 67)), Probe::NoMatch);
    // Plain BOOTP: cookie but only End.
    let mut b = DISCOVER[..240].to_vec();
    b.push(255);
    assert_eq!(run(&Dhcp, &udp(&b, 67)), Probe::NoMatch);
}

#[test]
fn non_standard_port() {
    match identify_first_payload(Transport::Udp, Direction::ToServer, 6767, DISCOVER) {
        FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "DHCP"),
        v => panic!("{v:?}"),
    }
}

#[test]
fn every_prefix_no_panic() {
    for d in [DISCOVER, REQUEST, ACK] {
        every_prefix(&Dhcp, Transport::Udp, 67, d);
    }
}

#[test]
fn random_payloads_rejected() {
    assert_random_rejected(&Dhcp, Transport::Udp, 67);
}

#[test]
fn first_bytes_declared() {
    crate::testkit::first_bytes_hold(&Dhcp, &udp(DISCOVER, 67));
    crate::testkit::first_bytes_hold(&Dhcp, &udp(REQUEST, 67));
    let ack = input(Transport::Udp, Direction::ToClient, ACK, 67, 68);
    crate::testkit::first_bytes_hold(&Dhcp, &ack);
}
