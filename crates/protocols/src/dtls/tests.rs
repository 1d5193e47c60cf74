//! DTLS probe tests.
//!
//! testdata (nDPI corpus): client_hello_v10.bin dtls.pcap frame 1 (record
//! version 1.0, ClientHello 1.2); client_hello_v12.bin dtls.pcap frame 7;
//! server_hello.bin dtls.pcap frame 8; dtls13_unified.bin dtls.pcap frame
//! 11 (a DTLS 1.3 unified-header record alone); client_hello_bad_ver.bin
//! dtls_old_version.pcapng frame 1 (version 0x0100); app_data_mid.bin
//! dtls_mid_sessions.pcapng frame 2 (application data, epoch 1).

use netsift_proto::{Direction, Probe, Transport};

use super::Dtls;
use crate::first_packet::{identify_first_payload, FirstVerdict};
use crate::testkit::flows::*;

const CH10: &[u8] = include_bytes!("testdata/client_hello_v10.bin");
const CH12: &[u8] = include_bytes!("testdata/client_hello_v12.bin");
const SH: &[u8] = include_bytes!("testdata/server_hello.bin");
const UNI: &[u8] = include_bytes!("testdata/dtls13_unified.bin");
const BAD: &[u8] = include_bytes!("testdata/client_hello_bad_ver.bin");
const APP: &[u8] = include_bytes!("testdata/app_data_mid.bin");

#[test]
fn handshakes() {
    assert_eq!(evidence(&Dtls, &udp(CH10, 56515)), "DTLS 1.0 ClientHello");
    assert_eq!(evidence(&Dtls, &udp(CH12, 11111)), "DTLS 1.2 ClientHello");
    let e = evidence(&Dtls, &udp(SH, 11111));
    assert!(e.starts_with("DTLS 1.2 ServerHello"), "{e}");
    assert_eq!(
        evidence(&Dtls, &udp(BAD, 443)),
        "DTLS 0.9 (DTLS1_BAD_VER) ClientHello"
    );
}

#[test]
fn mid_session_application_data() {
    assert_eq!(evidence(&Dtls, &udp(APP, 443)), "DTLS 1.2 ApplicationData");
}

#[test]
fn cookie_is_reported() {
    // Give the ClientHello a 4-byte cookie: grow the record, the handshake
    // length and fragment length by 4.
    let mut x = CH10.to_vec();
    let sid = usize::from(x[13 + 12 + 34]);
    let at = 13 + 12 + 35 + sid;
    assert_eq!(x[at], 0);
    x[at] = 4;
    for _ in 0..4 {
        x.insert(at + 1, 0xab);
    }
    let bump = |x: &mut Vec<u8>, i: usize, w: usize| {
        let mut v = 0usize;
        for k in 0..w {
            v = v << 8 | usize::from(x[i + k]);
        }
        v += 4;
        for k in 0..w {
            x[i + k] = (v >> (8 * (w - 1 - k))) as u8;
        }
    };
    bump(&mut x, 11, 2);
    bump(&mut x, 14, 3);
    bump(&mut x, 22, 3);
    assert_eq!(
        evidence(&Dtls, &udp(&x, 4433)),
        "DTLS 1.0 ClientHello with a 4-byte cookie"
    );
}

#[test]
fn several_records_in_one_datagram() {
    let mut x = SH.to_vec();
    x.extend_from_slice(UNI);
    let e = evidence(&Dtls, &udp(&x, 4433));
    assert!(e.ends_with("2 records in the datagram"), "{e}");
    // A unified-header record alone is not enough.
    assert_eq!(run(&Dtls, &udp(UNI, 4433)), Probe::NoMatch);
}

#[test]
fn damaged_records_rejected() {
    // Trailing byte, truncated record, bad version, bad content type.
    let mut x = CH12.to_vec();
    x.push(0);
    assert_eq!(run(&Dtls, &udp(&x, 443)), Probe::NoMatch);
    assert_eq!(
        run(&Dtls, &udp(&CH12[..CH12.len() - 1], 443)),
        Probe::NoMatch
    );
    let mut x = CH12.to_vec();
    x[2] = 0xfe;
    assert_eq!(run(&Dtls, &udp(&x, 443)), Probe::NoMatch);
    let mut x = CH12.to_vec();
    x[0] = 26;
    assert_eq!(run(&Dtls, &udp(&x, 443)), Probe::NoMatch);
    // Fragment length disagreeing with the record.
    let mut x = CH12.to_vec();
    x[24] ^= 1;
    assert_eq!(run(&Dtls, &udp(&x, 443)), Probe::NoMatch);
}

#[test]
fn first_packet_api_on_other_port() {
    match identify_first_payload(Transport::Udp, Direction::ToServer, 53, CH12) {
        FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "DTLS"),
        v => panic!("{v:?}"),
    }
}

#[test]
fn every_prefix_no_panic() {
    for d in [CH10, CH12, SH, UNI, APP] {
        every_prefix(&Dtls, Transport::Udp, 443, d);
    }
}

#[test]
fn foreign_payloads_rejected() {
    assert_foreign_rejected(&Dtls, "dtls");
}

#[test]
fn random_payloads_rejected() {
    assert_random_flows_rejected(&Dtls, Transport::Udp, 443);
}

#[test]
fn first_bytes_declared() {
    for d in [CH10, CH12, BAD] {
        crate::testkit::first_bytes_hold(&Dtls, &udp(d, 443));
    }
    for d in [SH, APP] {
        let i = input(Transport::Udp, Direction::ToClient, d, 443, 40000);
        crate::testkit::first_bytes_hold(&Dtls, &i);
    }
}
