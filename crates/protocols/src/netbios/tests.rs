//! NetBIOS tests. testdata (nDPI corpus):
//! * nbns_query_wpad.bin   1kxun.pcap frame 39 (NBNS broadcast query WPAD<00>)
//! * nbdgm_browser.bin     1kxun.pcap frame 389 (datagram, BROWSER announcement)
//! * nbss_smb1_negotiate.bin smbv1.pcap frame 1 (session message carrying SMB1;
//!   must stay with the SMB probes)
//!
//! No session request (0x81) travels over IP in the corpus (the NetBEUI
//! capture is not IP), so one is built as RFC 1002 §4.3.2 describes.

use netsift_proto::{Direction, Probe, Transport};

use super::Netbios;
use crate::first_packet::{identify_first_payload, FirstVerdict};
use crate::testkit::ported::*;

const NBNS: &[u8] = include_bytes!("testdata/nbns_query_wpad.bin");
const DGM: &[u8] = include_bytes!("testdata/nbdgm_browser.bin");
const SMB1: &[u8] = include_bytes!("testdata/nbss_smb1_negotiate.bin");

fn encode(name: &str, suffix: u8) -> Vec<u8> {
    let mut raw = [b' '; 16];
    for (i, b) in name.bytes().take(15).enumerate() {
        raw[i] = b;
    }
    raw[15] = suffix;
    let mut v = vec![0x20];
    for b in raw {
        v.push(b'A' + (b >> 4));
        v.push(b'A' + (b & 0x0f));
    }
    v.push(0);
    v
}

fn session_request() -> Vec<u8> {
    let mut body = encode("FILESERVER", 0x20);
    body.extend(encode("WORKSTATION1", 0x00));
    let mut v = vec![0x81, 0, 0, body.len() as u8];
    v.extend(body);
    v
}

#[test]
fn name_service() {
    assert_eq!(
        evidence(&Netbios, &udp(NBNS, 137)),
        "NBNS name query for WPAD<00>"
    );
    // Any port: the encoded name is the evidence.
    assert!(is_match(&Netbios, &udp(NBNS, 33333)));
    // A damaged name (one byte out of 'A'..'P', as in the fuzzed NBNS of
    // fuzz-2006-06-26-2594.pcap) is still NetBIOS, and never DNS.
    let mut bad = NBNS.to_vec();
    bad[20] = b'S';
    assert!(evidence(&Netbios, &udp(&bad, 137)).ends_with("(malformed name)"));
    assert_eq!(run(&crate::dns::Dns, &udp(&bad, 137)), Probe::NoMatch);
    assert_eq!(run(&crate::dns::Dns, &udp(NBNS, 137)), Probe::NoMatch);
}

#[test]
fn datagram_service() {
    assert_eq!(
        evidence(&Netbios, &udp(DGM, 138)),
        "NetBIOS datagram (direct group) from SANJI-LIFEBOOK-<00> to WORKGROUP<1e>"
    );
    // DGM_LENGTH must match.
    assert_eq!(
        run(&Netbios, &udp(&DGM[..DGM.len() - 1], 138)),
        Probe::NoMatch
    );
}

#[test]
fn session_service() {
    let req = session_request();
    assert_eq!(
        evidence(&Netbios, &tcp(&req, 139)),
        "NetBIOS session request to FILESERVER<20> from WORKSTATION1<00>"
    );
    for n in 1..req.len() {
        assert_eq!(run(&Netbios, &tcp(&req[..n], 139)), Probe::NeedMore, "{n}");
    }
    let mut i = input(
        Transport::Tcp,
        Direction::ToClient,
        &[0x82, 0, 0, 0],
        139,
        40000,
    );
    i.peer = &req;
    assert!(is_match(&Netbios, &i));
    assert!(is_match(&Netbios, &tcp(&[0x83, 0, 0, 1, 0x82], 139)));
    assert!(is_match(&Netbios, &tcp(&[0x85, 0, 0, 0], 139)));
    match identify_first_payload(Transport::Tcp, Direction::ToServer, 4444, &req) {
        FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "NetBIOS"),
        v => panic!("{v:?}"),
    }
}

#[test]
fn smb_session_messages_are_not_claimed() {
    assert_eq!(run(&Netbios, &tcp(SMB1, 445)), Probe::NoMatch);
    assert_eq!(run(&Netbios, &tcp(SMB1, 139)), Probe::NoMatch);
    let mut smb2 = SMB1.to_vec();
    smb2[4] = 0xfe;
    assert_eq!(run(&Netbios, &tcp(&smb2, 445)), Probe::NoMatch);
}

#[test]
fn dns_is_not_nbns() {
    let negs: &[&[u8]] = &[
        include_bytes!("../dns/testdata/query_a.bin"),
        include_bytes!("../dns/testdata/response_a.bin"),
        include_bytes!("../mdns/testdata/query_ptr.bin"),
        include_bytes!("../llmnr/testdata/query_any.bin"),
        include_bytes!("../ntp/testdata/v4_client.bin"),
    ];
    for n in negs {
        assert_eq!(run(&Netbios, &udp(n, 137)), Probe::NoMatch);
    }
}

#[test]
fn every_prefix_no_panic() {
    for d in [NBNS, DGM, SMB1, &session_request()[..]] {
        every_prefix(&Netbios, Transport::Udp, 137, d);
        every_prefix(&Netbios, Transport::Tcp, 139, d);
    }
}

#[test]
fn random_payloads_rejected() {
    assert_random_rejected(&Netbios, Transport::Udp, 137);
    assert_random_rejected(&Netbios, Transport::Tcp, 139);
}
