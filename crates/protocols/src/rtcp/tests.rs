//! RTCP probe tests.
//!
//! testdata: srtcp1.bin, srtcp3.bin, srtcp4.bin are nDPI corpus
//! lru_ipv6_caches.pcapng frames 1, 3, 4 (SRTCP RR from port 3478, SSRC
//! 0x734e7b28, index 5, 6, 7, 80-bit tag); srtcp_aead.bin is
//! stun_signal.pcapng frame 131 (SRTCP with AEAD, index 1, no separate tag).

use netsift_proto::{Direction, Probe, Transport};

use super::Rtcp;
use crate::rtp::testkit::*;

const S1: &[u8] = include_bytes!("testdata/srtcp1.bin");
const S3: &[u8] = include_bytes!("testdata/srtcp3.bin");
const S4: &[u8] = include_bytes!("testdata/srtcp4.bin");
const AEAD: &[u8] = include_bytes!("testdata/srtcp_aead.bin");
const C: Direction = Direction::ToClient;

/// RR (RC 0) + SDES with one CNAME chunk, built per RFC 3550 §6.4.2/§6.5.
fn compound() -> Vec<u8> {
    let mut v = vec![0x80, 201, 0, 1, 0x11, 0x22, 0x33, 0x44];
    // SDES: 1 chunk: SSRC, CNAME(1) len 5 "a@b.c", END, pad to 32 bits.
    v.extend_from_slice(&[0x81, 202, 0, 3, 0x11, 0x22, 0x33, 0x44]);
    v.extend_from_slice(&[1, 5, b'a', b'@', b'b', b'.', b'c', 0]);
    v
}

#[test]
fn compound_packet_matches_alone() {
    let c = compound();
    assert_eq!(
        evidence(&Rtcp, &udp(&c, 5005)),
        "RTCP compound packet: RR then 1 more, SSRC 0x11223344"
    );
    // The RR alone is too weak for one datagram, enough in two.
    assert_eq!(run(&Rtcp, &udp(&c[..8], 5005)), Probe::NeedMore);
    let two = [(C, &c[..8]), (C, &c[..8])];
    assert!(feed_evidence(&Rtcp, Transport::Udp, 5005, &two).contains("two datagrams"));
    // A walk that does not end at the datagram's end is not plain RTCP.
    let mut x = c.clone();
    x.push(0);
    assert_eq!(run(&Rtcp, &udp(&x, 5005)), Probe::NoMatch);
}

#[test]
fn srtcp_needs_increasing_index() {
    assert_eq!(run(&Rtcp, &udp(S1, 3478)), Probe::NeedMore);
    assert_eq!(
        feed_evidence(&Rtcp, Transport::Udp, 3478, &[(C, S1), (C, S3)]),
        "SRTCP: RR from SSRC 0x734e7b28, SRTCP index 5 then 6"
    );
    assert!(matches!(
        feed(&Rtcp, Transport::Udp, 3478, &[(C, S3), (C, S4)]),
        Probe::Match(_)
    ));
    assert_eq!(
        feed(&Rtcp, Transport::Udp, 3478, &[(C, S4), (C, S1)]),
        Probe::NeedMore
    );
    assert_eq!(run(&Rtcp, &udp(AEAD, 3478)), Probe::NeedMore);
}

#[test]
fn rtp_is_not_rtcp() {
    assert_eq!(
        run(
            &Rtcp,
            &udp(include_bytes!("../rtp/testdata/rtp1.bin"), 5004)
        ),
        Probe::NoMatch
    );
}

#[test]
fn every_prefix_no_panic() {
    for d in [S1, S3, AEAD, &compound()[..]] {
        every_prefix(&Rtcp, Transport::Udp, 5005, d);
    }
}

#[test]
fn foreign_payloads_rejected() {
    assert_foreign_rejected(&Rtcp, "rtcp");
}

#[test]
fn random_payloads_rejected() {
    assert_random_flows_rejected(&Rtcp, Transport::Udp, 5005);
}
