//! COAP probe tests. The nDPI corpus has no CoAP capture; coap_get.bin and
//! coap_content.bin are built below from RFC 7252 §3 / Appendix A
//! (a confirmable GET of /temperature with a 2-byte token, and its 2.05
//! Content piggybacked response "22.3 C").

use netsift_proto::{Direction, Probe, Transport};

use super::Coap;
use crate::first_packet::{identify_first_payload, FirstVerdict};
use crate::testkit::flows::*;

fn get() -> Vec<u8> {
    // Ver 1, CON, TKL 2 | 0.01 GET | MID 0x7d34 | token | Uri-Path (11,
    // delta 11 len 11) "temperature".
    let mut v = vec![0x42, 0x01, 0x7d, 0x34, 0x20, 0xfa, 0xbb];
    v.extend_from_slice(b"temperature");
    v
}

fn content() -> Vec<u8> {
    // ACK 2.05, same MID and token, Content-Format (12) text/plain (0),
    // payload marker, "22.3 C".
    let mut v = vec![0x62, 0x45, 0x7d, 0x34, 0x20, 0xfa, 0xc0, 0xff];
    v.extend_from_slice(b"22.3 C");
    v
}

#[test]
fn request_and_response() {
    assert_eq!(
        evidence(&Coap, &udp(&get(), 5683)),
        "CoAP CON 0.01 GET, message id 32052, Uri-Path 'temperature', 1 options, 0-byte payload"
    );
    let c = content();
    let i = input(Transport::Udp, Direction::ToClient, &c, 5683, 40000);
    assert_eq!(
        evidence(&Coap, &i),
        "CoAP ACK 2.05 success, message id 32052, 1 options, 6-byte payload"
    );
}

#[test]
fn malformed_messages_rejected() {
    // Empty message, version 2, TKL 9, code 3.00, marker without payload,
    // reserved option nibble 15, unregistered option 2, Uri-Path binary.
    assert_eq!(
        run(&Coap, &udp(&[0x60, 0, 0x12, 0x34], 5683)),
        Probe::NoMatch
    );
    let mut x = get();
    x[0] = 0x82;
    assert_eq!(run(&Coap, &udp(&x, 5683)), Probe::NoMatch);
    let mut x = get();
    x[0] = 0x49;
    assert_eq!(run(&Coap, &udp(&x, 5683)), Probe::NoMatch);
    let mut x = get();
    x[1] = 0x60;
    assert_eq!(run(&Coap, &udp(&x, 5683)), Probe::NoMatch);
    let mut x = content();
    x.truncate(8);
    assert_eq!(run(&Coap, &udp(&x, 5683)), Probe::NoMatch);
    let mut x = get();
    x[6] = 0xfb;
    assert_eq!(run(&Coap, &udp(&x, 5683)), Probe::NoMatch);
    let mut x = get();
    x[6] = 0x2b;
    assert_eq!(run(&Coap, &udp(&x, 5683)), Probe::NoMatch);
    let mut x = get();
    x[8] = 0x01;
    assert_eq!(run(&Coap, &udp(&x, 5683)), Probe::NoMatch);
}

#[test]
fn first_packet_api_on_other_port() {
    match identify_first_payload(Transport::Udp, Direction::ToServer, 161, &get()) {
        FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "COAP"),
        v => panic!("{v:?}"),
    }
}

#[test]
fn every_prefix_no_panic() {
    every_prefix(&Coap, Transport::Udp, 5683, &get());
    every_prefix(&Coap, Transport::Udp, 5683, &content());
}

#[test]
fn foreign_payloads_rejected() {
    assert_foreign_rejected(&Coap, "coap");
}

#[test]
fn random_payloads_rejected() {
    assert_random_flows_rejected(&Coap, Transport::Udp, 5683);
}

#[test]
fn first_bytes_declared() {
    crate::testkit::first_bytes_hold(&Coap, &udp(&get(), 5683));
    let c = content();
    let i = input(Transport::Udp, Direction::ToClient, &c, 5683, 40000);
    crate::testkit::first_bytes_hold(&Coap, &i);
}
