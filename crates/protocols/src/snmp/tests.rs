//! SNMP tests. testdata (nDPI corpus, snmp.pcap):
//! * v1_getnext.bin    frame 1 (v1 get-next-request, community 'public')
//! * v2c_getnext.bin   frame 5 (v2c get-next-request)
//! * get_response.bin  frame 2 (get-response)
//! * v1_trap.bin       frame 55 (v1 Trap-PDU)
//! * v3_get.bin        frame 17 (v3 get-request, USM discovery)

use netsift_proto::{Direction, Probe, Transport};

use super::Snmp;
use crate::first_packet::{identify_first_payload, FirstVerdict};
use crate::testkit::ported::*;

const V1: &[u8] = include_bytes!("testdata/v1_getnext.bin");
const V2C: &[u8] = include_bytes!("testdata/v2c_getnext.bin");
const RESP: &[u8] = include_bytes!("testdata/get_response.bin");
const TRAP: &[u8] = include_bytes!("testdata/v1_trap.bin");
const V3: &[u8] = include_bytes!("testdata/v3_get.bin");

#[test]
fn real_snmp() {
    assert_eq!(
        evidence(&Snmp, &udp(V1, 161)),
        "SNMPv1 get-next-request, community 'public'"
    );
    assert_eq!(
        evidence(&Snmp, &udp(V2C, 161)),
        "SNMPv2c get-next-request, community 'public'"
    );
    assert!(evidence(&Snmp, &udp(RESP, 161)).contains("get-response"));
    assert!(evidence(&Snmp, &udp(TRAP, 162)).starts_with("SNMPv1 trap"));
    assert_eq!(
        evidence(&Snmp, &udp(V3, 161)),
        "SNMPv3 get-request (USM, noAuthNoPriv)"
    );
}

#[test]
fn lengths_must_be_exact() {
    let mut x = V2C.to_vec();
    x.push(0);
    assert_eq!(run(&Snmp, &udp(&x, 161)), Probe::NoMatch);
    let mut x = V2C.to_vec();
    x[4] = 2; // version 2 does not exist on the wire
    assert_eq!(run(&Snmp, &udp(&x, 161)), Probe::NoMatch);
}

#[test]
fn non_standard_port() {
    match identify_first_payload(Transport::Udp, Direction::ToServer, 10161, V2C) {
        FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "SNMP"),
        v => panic!("{v:?}"),
    }
}

#[test]
fn every_prefix_no_panic() {
    for d in [V1, V2C, RESP, TRAP, V3] {
        every_prefix(&Snmp, Transport::Udp, 161, d);
    }
}

#[test]
fn random_payloads_rejected() {
    assert_random_rejected(&Snmp, Transport::Udp, 161);
}

#[test]
fn first_bytes_declared() {
    for d in [V1, V2C, RESP, TRAP, V3] {
        crate::testkit::first_bytes_hold(&Snmp, &udp(d, 161));
    }
}
