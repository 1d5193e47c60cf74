//! SIP tests. testdata (nDPI corpus):
//! * register.bin    webex.pcap frame 409 (REGISTER over UDP)
//! * invite.bin      fuzz-2006-06-26-2594.pcap frame 227 (INVITE with SDP)
//! * status_401.bin  fuzz-2006-06-26-2594.pcap frame 20 (401 Unauthorized)
//! * trying_100.bin  gre.pcapng frame 1 (100 Trying, inside GRE)
//!
//! No OPTIONS request exists in the corpus; one is made from the REGISTER.

use netsift_proto::{Direction, Probe, Transport};

use super::{header_value, Sip};
use crate::first_packet::{identify_first_payload, FirstVerdict};
use crate::testkit::ported::*;

const REGISTER: &[u8] = include_bytes!("testdata/register.bin");
const INVITE: &[u8] = include_bytes!("testdata/invite.bin");
const S401: &[u8] = include_bytes!("testdata/status_401.bin");
const TRYING: &[u8] = include_bytes!("testdata/trying_100.bin");

#[test]
fn real_sip() {
    assert_eq!(
        evidence(&Sip, &udp(REGISTER, 5060)),
        "SIP REGISTER sip:172.16.1.75;transport=UDP"
    );
    assert_eq!(
        evidence(&Sip, &udp(INVITE, 5060)),
        "SIP INVITE sip:97239287044@voip.brujula.net"
    );
    assert_eq!(
        evidence(&Sip, &udp(S401, 5060)),
        "SIP response 401 Unauthorized"
    );
    assert_eq!(
        evidence(&Sip, &udp(TRYING, 5060)),
        "SIP response 100 Trying"
    );
    let options = [
        &b"OPTIONS sip:bob@example.com SIP/2.0\r\n"[..],
        &REGISTER[REGISTER.iter().position(|&b| b == b'\n').unwrap() + 1..],
    ]
    .concat();
    assert_eq!(
        evidence(&Sip, &udp(&options, 5060)),
        "SIP OPTIONS sip:bob@example.com"
    );
    assert_eq!(header_value(TRYING, "cseq"), Some(&b"1 INVITE"[..]));
}

#[test]
fn tcp_prefixes() {
    for n in 1..30 {
        assert_eq!(run(&Sip, &tcp(&INVITE[..n], 5060)), Probe::NeedMore, "{n}");
    }
    assert!(is_match(&Sip, &tcp(INVITE, 5060)));
    assert_eq!(run(&Sip, &tcp(b"GET / HTTP/1.1", 5060)), Probe::NoMatch);
}

#[test]
fn not_sip() {
    assert_eq!(
        run(&Sip, &udp(b"INVITE sip:x HTTP/1.1\r\n", 5060)),
        Probe::NoMatch
    );
    assert_eq!(
        run(&Sip, &udp(b"INVITE http://x SIP/2.0\r\n", 5060)),
        Probe::NoMatch
    );
    assert_eq!(
        run(&Sip, &udp(b"SIP/2.0 999 Bad\r\n", 5060)),
        Probe::NoMatch
    );
    let ssdp: &[u8] = include_bytes!("../ssdp/testdata/notify.bin");
    assert_eq!(run(&Sip, &udp(ssdp, 5060)), Probe::NoMatch);
}

#[test]
fn non_standard_port() {
    for t in [Transport::Udp, Transport::Tcp] {
        match identify_first_payload(t, Direction::ToServer, 5000, INVITE) {
            FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "SIP"),
            v => panic!("{v:?}"),
        }
    }
}

#[test]
fn every_prefix_no_panic() {
    for d in [REGISTER, INVITE, S401, TRYING] {
        every_prefix(&Sip, Transport::Udp, 5060, d);
        every_prefix(&Sip, Transport::Tcp, 5060, d);
    }
}

#[test]
fn random_payloads_rejected() {
    assert_random_rejected(&Sip, Transport::Udp, 5060);
    assert_random_rejected(&Sip, Transport::Tcp, 5060);
}
