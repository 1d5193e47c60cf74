//! IPSec probe tests.
//!
//! testdata (nDPI corpus): ikev2_sa_init.bin / ikev2_sa_init_resp.bin
//! ah.pcapng frames 1 and 2 (IKE_SA_INIT request and response, UDP 500);
//! ah_icmp.bin ah.pcapng frame 5 (the IP payload: AH with a 96-bit ICV
//! around ICMP); esp_v6.bin custom_categories.pcapng frame 85 (the ESP
//! header and payload, IPv6).

use netsift_proto::{Direction, Probe, Transport};

use super::Ipsec;
use crate::first_packet::{identify_first_payload, FirstVerdict};
use crate::testkit::flows::*;

const INIT: &[u8] = include_bytes!("testdata/ikev2_sa_init.bin");
const RESP: &[u8] = include_bytes!("testdata/ikev2_sa_init_resp.bin");
const AH: &[u8] = include_bytes!("testdata/ah_icmp.bin");
const ESP: &[u8] = include_bytes!("testdata/esp_v6.bin");

#[test]
fn ikev2_sa_init() {
    assert_eq!(
        evidence(&Ipsec, &udp(INIT, 500)),
        "IKEv2 IKE_SA_INIT, initiator SPI 1c1869f6d29ba0cc, 9 payloads"
    );
    assert!(is_match(&Ipsec, &udp(RESP, 500)));
    // On another port too: the structure decides.
    assert!(is_match(&Ipsec, &udp(INIT, 53)));
}

#[test]
fn nat_t_marker() {
    let mut x = vec![0, 0, 0, 0];
    x.extend_from_slice(INIT);
    assert!(evidence(&Ipsec, &udp(&x, 4500)).ends_with("(UDP-encapsulated)"));
}

#[test]
fn damaged_ike_rejected() {
    let mut x = INIT.to_vec();
    x.push(0);
    assert_eq!(run(&Ipsec, &udp(&x, 500)), Probe::NoMatch);
    let mut x = INIT.to_vec();
    x[17] = 0x30; // version 3
    assert_eq!(run(&Ipsec, &udp(&x, 500)), Probe::NoMatch);
    let mut x = INIT.to_vec();
    x[..8].fill(0); // zero initiator SPI
    assert_eq!(run(&Ipsec, &udp(&x, 500)), Probe::NoMatch);
    let mut x = INIT.to_vec();
    x[31] ^= 1; // first payload length
    assert_eq!(run(&Ipsec, &udp(&x, 500)), Probe::NoMatch);
}

#[test]
fn esp_and_ah_by_ip_protocol() {
    let esp = input(Transport::Ip(50), Direction::ToServer, ESP, 0, 0);
    assert_eq!(evidence(&Ipsec, &esp), "ESP: SPI 0x2c582fba, sequence 1");
    let ah = input(Transport::Ip(51), Direction::ToServer, AH, 0, 0);
    assert_eq!(
        evidence(&Ipsec, &ah),
        "AH: SPI 0x604816f6, sequence 1, 12-byte ICV"
    );
    // Reserved SPI.
    let mut x = ESP.to_vec();
    x[..4].copy_from_slice(&[0, 0, 0, 7]);
    let esp = input(Transport::Ip(50), Direction::ToServer, &x, 0, 0);
    assert_eq!(run(&Ipsec, &esp), Probe::NoMatch);
}

#[test]
fn esp_in_udp_needs_port_4500_and_three_packets() {
    let mut pk = Vec::new();
    for s in 1u8..=3 {
        let mut x = ESP.to_vec();
        x[7] = s;
        pk.push(x);
    }
    let flow: Vec<(Direction, &[u8])> = pk.iter().map(|p| (Direction::ToServer, &p[..])).collect();
    let e = feed_evidence(&Ipsec, Transport::Udp, 4500, &flow);
    assert!(
        e.starts_with("ESP in UDP (RFC 3948): SPI 0x2c582fba, 3 packets"),
        "{e}"
    );
    assert_eq!(
        feed(&Ipsec, Transport::Udp, 4500, &flow[..2]),
        Probe::NeedMore
    );
    assert_eq!(feed(&Ipsec, Transport::Udp, 4501, &flow), Probe::NoMatch);
}

#[test]
fn first_packet_api_on_other_port() {
    match identify_first_payload(Transport::Udp, Direction::ToServer, 53, INIT) {
        FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "IPSec"),
        v => panic!("{v:?}"),
    }
}

#[test]
fn every_prefix_no_panic() {
    for d in [INIT, RESP, AH, ESP] {
        every_prefix(&Ipsec, Transport::Udp, 4500, d);
        every_prefix(&Ipsec, Transport::Ip(50), 0, d);
        every_prefix(&Ipsec, Transport::Ip(51), 0, d);
    }
}

#[test]
fn foreign_payloads_rejected() {
    assert_foreign_rejected(&Ipsec, "ike");
}

#[test]
fn random_payloads_rejected() {
    assert_random_flows_rejected(&Ipsec, Transport::Udp, 4500);
    assert_random_flows_rejected(&Ipsec, Transport::Udp, 500);
    assert_random_rejected(&Ipsec, Transport::Ip(51), 0);
}
