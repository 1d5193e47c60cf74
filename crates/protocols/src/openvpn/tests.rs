//! OpenVPN probe tests.
//!
//! testdata (nDPI corpus): udp_nohmac_client/server.bin
//! openvpn_nohmac.pcapng frames 1-2 (no HMAC, UDP); udp_tlscrypt_client/
//! server.bin openvpn-tlscrypt.pcap frames 1-2 (tls-crypt, CLIENT_V3);
//! tcp_tlsauth_client/server.bin 443-opvn.pcap frames 4 and 6 (TCP,
//! length-prefixed, tls-auth with a 20-byte HMAC).

use netsift_proto::{Direction, Probe, Transport};

use super::Openvpn;
use crate::testkit::flows::*;

const NH_C: &[u8] = include_bytes!("testdata/udp_nohmac_client.bin");
const NH_S: &[u8] = include_bytes!("testdata/udp_nohmac_server.bin");
const TC_C: &[u8] = include_bytes!("testdata/udp_tlscrypt_client.bin");
const TC_S: &[u8] = include_bytes!("testdata/udp_tlscrypt_server.bin");
const TA_C: &[u8] = include_bytes!("testdata/tcp_tlsauth_client.bin");
const TA_S: &[u8] = include_bytes!("testdata/tcp_tlsauth_server.bin");
const S: Direction = Direction::ToServer;
const C: Direction = Direction::ToClient;

#[test]
fn udp_no_hmac_echo() {
    assert_eq!(run(&Openvpn, &udp(NH_C, 1194)), Probe::NeedMore);
    assert_eq!(
        feed_evidence(&Openvpn, Transport::Udp, 1194, &[(S, NH_C), (C, NH_S)]),
        "OpenVPN P_CONTROL_HARD_RESET_CLIENT_V2 answered by P_CONTROL_HARD_RESET_SERVER_V2 \
         (server session 942191 7de72677 29), echoes client session id 39fded2daa10a437"
            .replace("942191 7de72677 29", "9421917de7267729")
    );
}

#[test]
fn udp_tls_crypt_times() {
    let e = feed_evidence(&Openvpn, Transport::Udp, 53, &[(S, TC_C), (C, TC_S)]);
    assert!(e.contains("CLIENT_V3"), "{e}");
    assert!(e.ends_with("packet-id times agree (1650106007)"), "{e}");
}

#[test]
fn tcp_tls_auth() {
    assert_eq!(run(&Openvpn, &tcp(TA_C, 443)), Probe::NeedMore);
    for n in 0..TA_C.len() {
        assert_eq!(run(&Openvpn, &tcp(&TA_C[..n], 443)), Probe::NeedMore, "{n}");
    }
    let e = feed_evidence(&Openvpn, Transport::Tcp, 443, &[(S, TA_C), (C, TA_S)]);
    assert!(
        e.ends_with("echoes client session id d67be45be5c201eb"),
        "{e}"
    );
}

#[test]
fn unrelated_answers_do_not_match() {
    // A server reset from another session ties back to nothing.
    assert_eq!(
        feed(&Openvpn, Transport::Udp, 1194, &[(S, NH_C), (C, TC_S)]),
        Probe::NoMatch
    );
    // Nonzero key id on a hard reset.
    let mut x = NH_C.to_vec();
    x[0] |= 1;
    assert_eq!(run(&Openvpn, &udp(&x, 1194)), Probe::NoMatch);
    // A server reset without a client reset before it.
    assert_eq!(
        feed(&Openvpn, Transport::Udp, 1194, &[(S, TC_S), (C, NH_S)]),
        Probe::NoMatch
    );
}

#[test]
fn every_prefix_no_panic() {
    for d in [NH_C, NH_S, TC_C, TC_S, TA_C, TA_S] {
        every_prefix(&Openvpn, Transport::Udp, 1194, d);
        every_prefix(&Openvpn, Transport::Tcp, 1194, d);
    }
}

#[test]
fn foreign_payloads_rejected() {
    assert_foreign_rejected(&Openvpn, "ovpn");
}

#[test]
fn random_payloads_rejected() {
    assert_random_flows_rejected(&Openvpn, Transport::Udp, 1194);
    assert_random_flows_rejected(&Openvpn, Transport::Tcp, 1194);
}
