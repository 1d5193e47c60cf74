//! LLMNR tests. testdata (nDPI corpus):
//! * query_any.bin       1kxun.pcap frame 1 (224.0.0.252, ANY jason-PC)
//! * v6_query_utf8.bin   custom_risk_mask.pcapng frame 1 (ff02::1:3, UTF-8 name)

use netsift_proto::{Probe, Transport};

use super::Llmnr;
use crate::testkit::ported::*;

const QUERY: &[u8] = include_bytes!("testdata/query_any.bin");
const V6: &[u8] = include_bytes!("testdata/v6_query_utf8.bin");

/// A response built from the captured query: QR set, one A answer that
/// points back at the question name (RFC 1035 §4.1.4).
fn response() -> Vec<u8> {
    let mut r = QUERY.to_vec();
    r[2] = 0x80;
    r[7] = 1;
    r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 192, 168, 1, 9]);
    r
}

#[test]
fn real_llmnr() {
    assert_eq!(
        evidence(&Llmnr, &udp(QUERY, 5355)),
        "LLMNR query for jason-PC ANY"
    );
    let i = with_server_addr(udp(V6, 5355), "ff02::1:3");
    assert!(evidence(&Llmnr, &i).starts_with("LLMNR query for "));
    let r = response();
    assert_eq!(
        evidence(&Llmnr, &udp(&r, 5355)),
        "LLMNR response for jason-PC ANY, 1 answers"
    );
}

#[test]
fn tcp_length_prefixed() {
    let mut t = vec![0, QUERY.len() as u8];
    t.extend_from_slice(QUERY);
    assert!(is_match(&Llmnr, &tcp(&t, 5355)));
    assert_eq!(run(&Llmnr, &tcp(&t[..10], 5355)), Probe::NeedMore);
}

#[test]
fn group_or_port_required_and_flags_checked() {
    assert_eq!(run(&Llmnr, &udp(QUERY, 53)), Probe::NoMatch);
    assert!(is_match(
        &Llmnr,
        &with_server_addr(udp(QUERY, 53), "224.0.0.252")
    ));
    // Z bits (RFC 4795 §2.1.1) must be zero.
    let mut q = QUERY.to_vec();
    q[3] |= 0x10;
    assert_eq!(run(&Llmnr, &udp(&q, 5355)), Probe::NoMatch);
    // Two questions.
    let mut q = QUERY.to_vec();
    q[5] = 2;
    assert_eq!(run(&Llmnr, &udp(&q, 5355)), Probe::NoMatch);
}

#[test]
fn every_prefix_no_panic() {
    for d in [QUERY, V6, &response()[..]] {
        every_prefix(&Llmnr, Transport::Udp, 5355, d);
        every_prefix(&Llmnr, Transport::Tcp, 5355, d);
    }
}

#[test]
fn random_payloads_rejected() {
    assert_random_rejected(&Llmnr, Transport::Udp, 5355);
    assert_random_rejected(&Llmnr, Transport::Tcp, 5355);
}
