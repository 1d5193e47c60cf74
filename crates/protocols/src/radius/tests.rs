//! Radius probe tests.
//!
//! testdata: rfc2865_access_request.bin and rfc2865_access_accept.bin are
//! the example packets of RFC 2865 §7.1 (User-Name "nemo", NAS 192.168.1.16
//! port 3); the nDPI corpus has no RADIUS capture.

use netsift_proto::{Direction, Probe, Transport};

use super::Radius;
use crate::first_packet::{identify_first_payload, FirstVerdict};
use crate::testkit::flows::*;

const REQ: &[u8] = include_bytes!("testdata/rfc2865_access_request.bin");
const ACC: &[u8] = include_bytes!("testdata/rfc2865_access_accept.bin");

#[test]
fn request_and_accept() {
    assert_eq!(
        evidence(&Radius, &udp(REQ, 1812)),
        "RADIUS Access-Request, identifier 0, 4 attributes (first type 1)"
    );
    let i = input(Transport::Udp, Direction::ToClient, ACC, 1812, 40000);
    assert!(evidence(&Radius, &i).starts_with("RADIUS Access-Accept"));
}

#[test]
fn header_only_reply_needs_its_request() {
    // An Accounting-Response with no attributes, identifier 7.
    let mut resp = vec![5u8, 7, 0, 20];
    resp.extend_from_slice(&[0xaa; 16]);
    assert_eq!(run(&Radius, &udp(&resp, 1813)), Probe::NoMatch);
    let mut req = REQ.to_vec();
    req[0] = 4;
    req[1] = 7;
    let e = feed_evidence(
        &Radius,
        Transport::Udp,
        1813,
        &[(Direction::ToServer, &req), (Direction::ToClient, &resp)],
    );
    assert_eq!(
        e,
        "RADIUS Accounting-Request, identifier 7, 4 attributes (first type 1)"
    );
    let mut i = input(Transport::Udp, Direction::ToClient, &resp, 1813, 40000);
    i.peer = &req;
    assert_eq!(
        evidence(&Radius, &i),
        "RADIUS Accounting-Response, identifier 7, answering the request"
    );
    let mut other = req.clone();
    other[1] = 8;
    i.peer = &other;
    assert_eq!(run(&Radius, &i), Probe::NoMatch);
}

#[test]
fn damaged_packets_rejected() {
    let mut x = REQ.to_vec();
    x.push(0);
    assert_eq!(run(&Radius, &udp(&x, 1812)), Probe::NoMatch);
    let mut x = REQ.to_vec();
    x[21] = 7; // User-Name length overruns into the next attribute
    assert_eq!(run(&Radius, &udp(&x, 1812)), Probe::NoMatch);
    let mut x = REQ.to_vec();
    x[0] = 6; // unassigned code
    assert_eq!(run(&Radius, &udp(&x, 1812)), Probe::NoMatch);
}

#[test]
fn first_packet_api_on_other_port() {
    match identify_first_payload(Transport::Udp, Direction::ToServer, 53, REQ) {
        FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "Radius"),
        v => panic!("{v:?}"),
    }
}

#[test]
fn first_bytes_declared() {
    crate::testkit::first_bytes_hold(&Radius, &udp(REQ, 1812));
    let mut i = input(Transport::Udp, Direction::ToClient, ACC, 1812, 40000);
    crate::testkit::first_bytes_hold(&Radius, &i);
    // An attribute-less reply answering its request.
    let mut resp = vec![5u8, 7, 0, 20];
    resp.extend_from_slice(&[0xaa; 16]);
    let mut req = REQ.to_vec();
    req[0] = 4;
    req[1] = 7;
    i.data = &resp;
    i.peer = &req;
    crate::testkit::first_bytes_hold(&Radius, &i);
}

#[test]
fn every_prefix_no_panic() {
    every_prefix(&Radius, Transport::Udp, 1812, REQ);
    every_prefix(&Radius, Transport::Udp, 1812, ACC);
}

#[test]
fn foreign_payloads_rejected() {
    assert_foreign_rejected(&Radius, "radius");
}

#[test]
fn random_payloads_rejected() {
    assert_random_flows_rejected(&Radius, Transport::Udp, 1812);
}
