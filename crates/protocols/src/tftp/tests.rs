//! TFTP probe tests.
//!
//! testdata (nDPI corpus tftp.pcap): rrq.bin frame 3 (RRQ rfc1350.txt
//! octet); rrq_empty_name.bin frame 1 (RRQ with an empty file name, which
//! nDPI also leaves unidentified); data1.bin frame 4 (DATA block 1);
//! ack1.bin frame 5 (ACK 1); wrq.bin frame 108 (WRQ with blksize and
//! tsize options); oack.bin frame 109; ack0.bin frame 104 (ACK 0 answering
//! a WRQ).

use netsift_proto::{Direction, Probe, Transport};

use super::Tftp;
use crate::first_packet::{identify_first_payload, FirstVerdict};
use crate::testkit::flows::*;

const RRQ: &[u8] = include_bytes!("testdata/rrq.bin");
const RRQ_EMPTY: &[u8] = include_bytes!("testdata/rrq_empty_name.bin");
const DATA1: &[u8] = include_bytes!("testdata/data1.bin");
const ACK1: &[u8] = include_bytes!("testdata/ack1.bin");
const WRQ: &[u8] = include_bytes!("testdata/wrq.bin");
const OACK: &[u8] = include_bytes!("testdata/oack.bin");
const ACK0: &[u8] = include_bytes!("testdata/ack0.bin");
const S: Direction = Direction::ToServer;
const C: Direction = Direction::ToClient;

#[test]
fn requests() {
    assert_eq!(
        evidence(&Tftp, &udp(RRQ, 69)),
        "TFTP read request for 'rfc1350.txt' (octet)"
    );
    assert_eq!(
        evidence(&Tftp, &udp(WRQ, 69)),
        "TFTP write request for 'empty100KB' (octet), 2 options"
    );
    assert_eq!(run(&Tftp, &udp(RRQ_EMPTY, 69)), Probe::NoMatch);
    let mut x = RRQ.to_vec();
    x[14] = b'O'; // "Octet": case does not matter
    assert!(is_match(&Tftp, &udp(&x, 69)));
    let mut x = RRQ.to_vec();
    x[15] = b'x'; // "oxtet"
    assert_eq!(run(&Tftp, &udp(&x, 69)), Probe::NoMatch);
}

#[test]
fn oack_and_error_alone() {
    let e = evidence(&Tftp, &udp(OACK, 35840));
    assert!(
        e.starts_with("TFTP option acknowledgement (2 options"),
        "{e}"
    );
    let err = b"\x00\x05\x00\x01File not found\x00";
    assert_eq!(
        evidence(&Tftp, &udp(err, 69)),
        "TFTP error 1: 'File not found'"
    );
}

#[test]
fn transfers_need_two_packets() {
    assert_eq!(run(&Tftp, &udp(DATA1, 50618)), Probe::NeedMore);
    assert_eq!(
        feed_evidence(&Tftp, Transport::Udp, 50618, &[(S, DATA1), (C, ACK1)]),
        "TFTP transfer: DATA block 1 then ACK block 1"
    );
    assert_eq!(
        feed_evidence(&Tftp, Transport::Udp, 44618, &[(S, ACK0), (C, DATA1)]),
        "TFTP transfer: ACK block 0 then DATA block 1"
    );
    // Mismatched blocks, and a transfer that does not start at 0/1.
    assert_eq!(
        feed(&Tftp, Transport::Udp, 44618, &[(S, ACK0), (C, ACK1)]),
        Probe::NeedMore
    );
    let mut d7 = DATA1.to_vec();
    d7[3] = 7;
    assert_eq!(run(&Tftp, &udp(&d7, 44618)), Probe::NoMatch);
}

#[test]
fn first_packet_api_on_other_port() {
    match identify_first_payload(Transport::Udp, Direction::ToServer, 53, RRQ) {
        FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "TFTP"),
        v => panic!("{v:?}"),
    }
}

#[test]
fn every_prefix_no_panic() {
    for d in [RRQ, DATA1, ACK1, WRQ, OACK] {
        every_prefix(&Tftp, Transport::Udp, 69, d);
    }
}

#[test]
fn foreign_payloads_rejected() {
    assert_foreign_rejected(&Tftp, "tftp");
}

#[test]
fn random_payloads_rejected() {
    assert_random_flows_rejected(&Tftp, Transport::Udp, 69);
}

#[test]
fn first_bytes_declared() {
    for d in [RRQ, WRQ, DATA1, ACK0] {
        crate::testkit::first_bytes_hold(&Tftp, &udp(d, 69));
    }
    for d in [OACK, ACK1] {
        let mut i = udp(d, 69);
        i.dir = C;
        crate::testkit::first_bytes_hold(&Tftp, &i);
    }
}
