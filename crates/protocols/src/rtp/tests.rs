//! RTP probe tests.
//!
//! testdata (nDPI corpus rtp.pcapng): rtp1/2/3.bin frames 1-3 (UDP
//! 6000 -> 6000, PT 34 H263, SSRC 0x1646, seq 0x110..0x112, frame 2 has the
//! marker bit); tcp_rfc4571_3frames.bin the payloads of frames 19, 21, 23
//! (TCP to port 5000, RFC 4571 length-prefixed RTP, PT 8).

use netsift_proto::{Direction, Probe, Transport};

use super::Rtp;
use crate::first_packet::{identify_first_payload, FirstVerdict};
use crate::testkit::flows::*;

const P1: &[u8] = include_bytes!("testdata/rtp1.bin");
const P2: &[u8] = include_bytes!("testdata/rtp2.bin");
const P3: &[u8] = include_bytes!("testdata/rtp3.bin");
const TCP3: &[u8] = include_bytes!("testdata/tcp_rfc4571_3frames.bin");

const S: Direction = Direction::ToServer;

#[test]
fn three_packets_in_sequence_match() {
    assert_eq!(
        feed_evidence(&Rtp, Transport::Udp, 6000, &[(S, P1), (S, P2), (S, P3)]),
        "RTP: SSRC 0x00001646, PT 34 (H263), 3 packets in sequence"
    );
    // One or two packets are not enough.
    assert_eq!(run(&Rtp, &udp(P1, 6000)), Probe::NeedMore);
    assert_eq!(
        feed(&Rtp, Transport::Udp, 6000, &[(S, P1), (S, P2)]),
        Probe::NeedMore
    );
}

#[test]
fn out_of_sequence_does_not_match() {
    // Going backwards restarts the count.
    assert_eq!(
        feed(&Rtp, Transport::Udp, 6000, &[(S, P3), (S, P2), (S, P1)]),
        Probe::NeedMore
    );
    // A different SSRC restarts it too.
    let mut other = P3.to_vec();
    other[11] ^= 1;
    assert_eq!(
        feed(&Rtp, Transport::Udp, 6000, &[(S, P1), (S, P2), (S, &other)]),
        Probe::NeedMore
    );
}

#[test]
fn rtcp_payload_types_and_bad_versions_are_not_rtp() {
    let mut x = P1.to_vec();
    x[1] = 0xc8; // marker + 72 = RTCP SR (200)
    assert_eq!(run(&Rtp, &udp(&x, 6000)), Probe::NoMatch);
    let mut x = P1.to_vec();
    x[0] = 0x40; // version 1
    assert_eq!(run(&Rtp, &udp(&x, 6000)), Probe::NoMatch);
    // 15 CSRCs do not fit 11 bytes.
    assert_eq!(
        run(&Rtp, &udp(&[0x8f, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0], 6000)),
        Probe::NoMatch
    );
}

#[test]
fn tcp_rfc4571_framing() {
    let e = evidence(&Rtp, &tcp(TCP3, 5000));
    assert!(e.contains("3 packets in sequence"), "{e}");
    assert!(e.contains("PT 8 (PCMA)"), "{e}");
    // A prefix asks for more.
    for n in [0, 1, 2, 10, 1300, TCP3.len() - 1] {
        assert_eq!(run(&Rtp, &tcp(&TCP3[..n], 5000)), Probe::NeedMore, "{n}");
    }
}

#[test]
fn first_packet_api_needs_more() {
    // One RTP packet is never enough, whatever the port.
    if let FirstVerdict::Match { protocol, .. } =
        identify_first_payload(Transport::Udp, Direction::ToServer, 53, P1)
    {
        assert_ne!(protocol, "RTP");
    }
}

#[test]
fn every_prefix_no_panic() {
    for d in [P1, P2, TCP3] {
        every_prefix(&Rtp, Transport::Udp, 6000, d);
        every_prefix(&Rtp, Transport::Tcp, 6000, d);
    }
}

#[test]
fn foreign_payloads_rejected() {
    assert_foreign_rejected(&Rtp, "rtp");
}

#[test]
fn random_payloads_rejected() {
    assert_random_flows_rejected(&Rtp, Transport::Udp, 6000);
    assert_random_rejected(&Rtp, Transport::Tcp, 5000);
}

#[test]
fn first_bytes_declared() {
    for d in [P1, P2, P3] {
        let input = crate::testkit::input(Transport::Udp, Direction::ToServer, d, &[], 0);
        crate::testkit::first_bytes_hold(&Rtp, &input);
    }
    assert_eq!(
        netsift_proto::Protocol::first_bytes(&Rtp, Transport::Tcp),
        netsift_proto::FirstBytes::ANY
    );
}
