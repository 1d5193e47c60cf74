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
fn first_bytes_declared() {
    for d in [REGISTER, INVITE, S401, TRYING] {
        crate::testkit::first_bytes_hold(&Sip, &udp(d, 5060));
        crate::testkit::first_bytes_hold(&Sip, &tcp(d, 5060));
        crate::testkit::first_bytes_hold(&Sip, &tcp(&d[..5], 5060));
    }
    let set = netsift_proto::Protocol::first_bytes(&Sip, Transport::Udp);
    for m in super::METHODS {
        assert!(set.contains(m[0]), "{m:?}");
    }
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

/// `could_be_start` without its allocation: the same answer as "method
/// and space is a prefix of the start, or the start of it", on every
/// prefix of every method line and on random bytes.
#[test]
fn could_be_start_matches_the_prefix_rule() {
    let reference = |partial: &[u8]| {
        let p = &partial[..partial.len().min(8)];
        b"SIP/2.0 ".starts_with(p)
            || super::METHODS.iter().any(|m| {
                let mut full = m.to_vec();
                full.push(b' ');
                full.starts_with(p) || p.starts_with(&full)
            })
    };
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    for m in super::METHODS {
        let line = [*m, b" sip:a@b SIP/2.0".as_slice()].concat();
        for k in 0..=line.len() {
            inputs.push(line[..k].to_vec());
            let mut typo = line[..k].to_vec();
            if let Some(b) = typo.last_mut() {
                *b ^= 0x20;
            }
            inputs.push(typo);
        }
    }
    let mut rng = netsift_testkit::XorShift(5060);
    for _ in 0..20_000 {
        let n = rng.below(12);
        inputs.push((0..n).map(|_| b"INVTEGRSP/ 2.0"[rng.below(14)]).collect());
    }
    for i in &inputs {
        assert_eq!(
            super::could_be_start(i),
            reference(i),
            "{:?}",
            String::from_utf8_lossy(i)
        );
    }
}
