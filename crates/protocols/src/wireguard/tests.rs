//! WireGuard probe tests.
//!
//! testdata (nDPI corpus wireguard.pcap): initiation.bin frame 1,
//! response.bin frame 2, data_c0.bin frame 3 (counter 0), data_c1.bin
//! frame 5 (counter 1, same direction), keepalive.bin frame 9 (counter 3).

use netsift_proto::{Direction, Probe, Transport};

use super::Wireguard;
use crate::first_packet::{identify_first_payload, FirstVerdict};
use crate::testkit::flows::*;

const INIT: &[u8] = include_bytes!("testdata/initiation.bin");
const RESP: &[u8] = include_bytes!("testdata/response.bin");
const D0: &[u8] = include_bytes!("testdata/data_c0.bin");
const D1: &[u8] = include_bytes!("testdata/data_c1.bin");
const KA: &[u8] = include_bytes!("testdata/keepalive.bin");

#[test]
fn handshake_messages() {
    assert_eq!(
        evidence(&Wireguard, &udp(INIT, 51820)),
        "WireGuard handshake initiation (148 bytes), sender index 0x30d037d8"
    );
    let e = evidence(&Wireguard, &udp(RESP, 4500));
    assert!(e.contains("receiver 0x30d037d8"), "{e}");
}

#[test]
fn transport_data_needs_two_packets() {
    assert_eq!(run(&Wireguard, &udp(D0, 51820)), Probe::NeedMore);
    let e = feed_evidence(
        &Wireguard,
        Transport::Udp,
        53,
        &[(Direction::ToServer, D0), (Direction::ToServer, D1)],
    );
    assert!(e.contains("counters 0 then 1"), "{e}");
    assert!(matches!(
        feed(
            &Wireguard,
            Transport::Udp,
            53,
            &[(Direction::ToServer, D0), (Direction::ToServer, KA)]
        ),
        Probe::Match(_)
    ));
    // Same packet twice (a retransmission or a replay) is not progress.
    assert_eq!(
        feed(
            &Wireguard,
            Transport::Udp,
            53,
            &[(Direction::ToServer, D1), (Direction::ToServer, D1)]
        ),
        Probe::NeedMore
    );
}

#[test]
fn wrong_sizes_are_rejected() {
    let mut x = INIT.to_vec();
    x.push(0);
    assert_eq!(run(&Wireguard, &udp(&x, 51820)), Probe::NoMatch);
    let mut x = RESP.to_vec();
    x[2] = 1;
    assert_eq!(run(&Wireguard, &udp(&x, 51820)), Probe::NoMatch);
    assert_eq!(run(&Wireguard, &udp(&D0[..120], 51820)), Probe::NoMatch);
}

#[test]
fn first_packet_api_on_other_port() {
    match identify_first_payload(Transport::Udp, Direction::ToServer, 53, INIT) {
        FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "WireGuard"),
        v => panic!("{v:?}"),
    }
}

#[test]
fn every_prefix_no_panic() {
    for d in [INIT, RESP, D0, KA] {
        every_prefix(&Wireguard, Transport::Udp, 51820, d);
    }
}

#[test]
fn foreign_payloads_rejected() {
    assert_foreign_rejected(&Wireguard, "wg");
}

#[test]
fn random_payloads_rejected() {
    assert_random_flows_rejected(&Wireguard, Transport::Udp, 51820);
}

#[test]
fn first_bytes_declared() {
    for d in [INIT, RESP, D0, D1, KA] {
        crate::testkit::first_bytes_hold(&Wireguard, &udp(d, 51820));
    }
}
