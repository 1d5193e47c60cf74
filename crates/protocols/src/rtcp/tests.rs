//! RTCP probe tests.
//!
//! testdata: srtcp1.bin, srtcp3.bin, srtcp4.bin are nDPI corpus
//! lru_ipv6_caches.pcapng frames 1, 3, 4 (SRTCP RR from port 3478, SSRC
//! 0x734e7b28, index 5, 6, 7, 80-bit tag); srtcp_aead.bin is
//! stun_signal.pcapng frame 131 (SRTCP with AEAD, index 1, no separate tag);
//! kakao_rr.bin and kakao_sr.bin are KakaoTalk_talk.pcap frames 75 and 130
//! (10.24.82.188:11321 -> 1.201.1.174:23045, SRTCP RR then SR from SSRC
//! 0x0b865519, index 1 and 2, 80-bit tag).

use netsift_proto::{Direction, Probe, Transport};

use super::Rtcp;
use crate::testkit::flows::*;

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

/// nDPI names the two RTCP legs of KakaoTalk_talk.pcap (to 1.201.1.174
/// ports 23045 and 23047) KakaoTalk_Voice, and the RTP legs beside them
/// (ports 23044 and 23046) RTP. Its KakaoTalk_Voice rule is an address
/// rule: an RTCP-looking first bytes (`81 c8 00 0c`, an SR with one report
/// block, though the test is written so that almost any payload passes)
/// plus an endpoint in 1.201.0.0/16 (KINX, a Korean hosting network). The
/// bytes are standard SRTCP (RFC 3711 §3.4): a plain RR/SR header, an
/// encrypted rest, the E flag and an SRTCP index counting 1, 2, ..., an
/// 80-bit tag; the media server relays each leg's packets to the other
/// (the SSRC of one leg comes back on the other). Nothing in them is
/// KakaoTalk's, so netsift's RTCP (SRTCP) is the answer the bytes support.
#[test]
fn kakaotalk_voice_legs_are_srtcp() {
    const RR: &[u8] = include_bytes!("testdata/kakao_rr.bin");
    const SR: &[u8] = include_bytes!("testdata/kakao_sr.bin");
    assert_eq!(
        feed_evidence(
            &Rtcp,
            Transport::Udp,
            23045,
            &[(Direction::ToServer, RR), (Direction::ToServer, SR)]
        ),
        "SRTCP: SR from SSRC 0x0b865519, SRTCP index 1 then 2"
    );
}

#[test]
fn first_bytes_declared() {
    const RR: &[u8] = include_bytes!("testdata/kakao_rr.bin");
    const SR: &[u8] = include_bytes!("testdata/kakao_sr.bin");
    let c = compound();
    for d in [S1, S3, S4, AEAD, RR, SR, &c[..], &c[..8]] {
        crate::testkit::first_bytes_hold(&Rtcp, &udp(d, 5005));
    }
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
