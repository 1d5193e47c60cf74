//! mDNS tests. testdata (nDPI corpus):
//! * query_ptr.bin    telegram.pcap frame 3 (PTR _spotify-connect._tcp.local, QM)
//! * response.bin     telegram.pcap frame 4 (response with PTR/TXT/SRV, cache-flush)
//! * v6_query_qu.bin  whatsapp_login_call.pcap frame 860 (ff02::fb, AAAA, QU bit)

use netsift_proto::{Direction, Probe, Transport};

use super::Mdns;
use crate::first_packet::{identify_first_payload, FirstVerdict};
use crate::testkit::ported::*;

const QUERY: &[u8] = include_bytes!("testdata/query_ptr.bin");
const RESPONSE: &[u8] = include_bytes!("testdata/response.bin");
const V6_QU: &[u8] = include_bytes!("testdata/v6_query_qu.bin");

#[test]
fn real_mdns() {
    assert_eq!(
        evidence(&Mdns, &udp(QUERY, 5353)),
        "mDNS query for _spotify-connect._tcp.local PTR"
    );
    let e = evidence(&Mdns, &udp(RESPONSE, 5353));
    assert!(e.starts_with("mDNS response for "), "{e}");
    assert_eq!(
        evidence(&Mdns, &udp(V6_QU, 5353)),
        "mDNS query for Lucas-iMac.local AAAA"
    );
}

#[test]
fn group_address_alone_disambiguates() {
    // Same bytes to ff02::fb on an odd port: the group address decides.
    let i = with_server_addr(udp(V6_QU, 9999), "ff02::fb");
    assert!(is_match(&Mdns, &i));
    let i = with_server_addr(udp(QUERY, 9999), "224.0.0.251");
    assert!(is_match(&Mdns, &i));
    // Neither group nor port: plain DNS's business.
    assert_eq!(run(&Mdns, &udp(QUERY, 9999)), Probe::NoMatch);
    match identify_first_payload(Transport::Udp, Direction::ToServer, 9999, V6_QU) {
        FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "DNS"),
        v => panic!("{v:?}"),
    }
}

#[test]
fn port_never_matches_alone() {
    let negs: &[&[u8]] = &[
        include_bytes!("../ssdp/testdata/msearch.bin"),
        include_bytes!("../stun/testdata/udp_binding_request.bin"),
        include_bytes!("../ntp/testdata/v4_client.bin"),
        include_bytes!("../dns/testdata/neg/quic_initial.bin"),
    ];
    for n in negs {
        assert_eq!(run(&Mdns, &udp(n, 5353)), Probe::NoMatch);
    }
}

#[test]
fn every_prefix_no_panic() {
    for d in [QUERY, RESPONSE, V6_QU] {
        every_prefix(&Mdns, Transport::Udp, 5353, d);
    }
}

#[test]
fn random_payloads_rejected() {
    assert_random_rejected(&Mdns, Transport::Udp, 5353);
}
