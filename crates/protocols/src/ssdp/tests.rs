//! SSDP tests. testdata (nDPI corpus):
//! * msearch.bin     1kxun.pcap frame 3 (M-SEARCH)
//! * msearch_ua.bin  ssdp-m-search-ua.pcap frame 1 (M-SEARCH with USER-AGENT)
//! * notify.bin      1kxun.pcap frame 693 (NOTIFY ssdp:alive)
//!
//! No unicast search response exists in the corpus; one is built from UDA
//! 2.0 §1.3.3.

use netsift_proto::{Direction, Probe, Transport};

use super::Ssdp;
use crate::first_packet::{identify_first_payload, FirstVerdict};
use crate::testkit::ported::*;

const MSEARCH: &[u8] = include_bytes!("testdata/msearch.bin");
const MSEARCH_UA: &[u8] = include_bytes!("testdata/msearch_ua.bin");
const NOTIFY: &[u8] = include_bytes!("testdata/notify.bin");
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nEXT:\r\nLOCATION: http://192.168.1.1:49152/desc.xml\r\nSERVER: Linux/3.14 UPnP/1.0 x/1\r\nST: upnp:rootdevice\r\nUSN: uuid:1234::upnp:rootdevice\r\n\r\n";

#[test]
fn real_ssdp() {
    assert!(evidence(&Ssdp, &udp(MSEARCH, 1900)).starts_with("SSDP M-SEARCH for "));
    assert_eq!(
        evidence(&Ssdp, &udp(MSEARCH_UA, 1900)),
        "SSDP M-SEARCH for urn:dial-multiscreen-org:service:dial:1"
    );
    assert_eq!(
        evidence(&Ssdp, &udp(NOTIFY, 1900)),
        "SSDP NOTIFY ssdp:alive urn:microsoft.com:service:X_MS_MediaReceiverRegistrar:1"
    );
    let mut i = udp(RESPONSE, 1900);
    i.dir = Direction::ToClient;
    assert_eq!(
        evidence(&Ssdp, &i),
        "SSDP search response for upnp:rootdevice"
    );
}

#[test]
fn plain_http_response_is_not_ssdp() {
    let http = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(run(&Ssdp, &udp(http, 1900)), Probe::NoMatch);
    assert_eq!(
        run(&Ssdp, &udp(b"M-SEARCH * HTTP/1.1", 1900)),
        Probe::NoMatch
    );
}

#[test]
fn non_standard_port() {
    match identify_first_payload(Transport::Udp, Direction::ToServer, 11900, MSEARCH) {
        FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "SSDP"),
        v => panic!("{v:?}"),
    }
}

#[test]
fn every_prefix_no_panic() {
    for d in [MSEARCH, MSEARCH_UA, NOTIFY, RESPONSE] {
        every_prefix(&Ssdp, Transport::Udp, 1900, d);
    }
}

#[test]
fn random_payloads_rejected() {
    assert_random_rejected(&Ssdp, Transport::Udp, 1900);
}

#[test]
fn first_bytes_declared() {
    for d in [MSEARCH, MSEARCH_UA, NOTIFY] {
        crate::testkit::first_bytes_hold(&Ssdp, &udp(d, 1900));
    }
    let mut i = udp(RESPONSE, 1900);
    i.dir = Direction::ToClient;
    crate::testkit::first_bytes_hold(&Ssdp, &i);
}
