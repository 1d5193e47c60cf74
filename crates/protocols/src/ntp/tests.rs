//! NTP tests. testdata (nDPI corpus):
//! * v4_client.bin         tls_certificate_too_long.pcap frame 99 (SNTP-style client)
//! * v4_server.bin         tls_certificate_too_long.pcap frame 102 (stratum 1, SHM)
//! * v3_server.bin         NTPv3.pcap frame 1 (server mode, stratum 0)
//! * v2_mode7_monlist.bin  NTPv2.pcap frame 1 (mode 7 MON_GETLIST_1 response)

use netsift_proto::{Direction, Probe, Transport};

use super::Ntp;
use crate::first_packet::{identify_first_payload, FirstVerdict};
use crate::testkit::ported::*;

const V4_CLIENT: &[u8] = include_bytes!("testdata/v4_client.bin");
const V4_SERVER: &[u8] = include_bytes!("testdata/v4_server.bin");
const V3_SERVER: &[u8] = include_bytes!("testdata/v3_server.bin");
const V2_MODE7: &[u8] = include_bytes!("testdata/v2_mode7_monlist.bin");

#[test]
fn real_ntp() {
    assert_eq!(evidence(&Ntp, &udp(V4_CLIENT, 123)), "NTPv4 client request");
    assert_eq!(
        evidence(&Ntp, &udp(V4_SERVER, 123)),
        "NTPv4 server reply, stratum 1 (SHM)"
    );
    assert_eq!(
        evidence(&Ntp, &udp(V3_SERVER, 123)),
        "NTPv3 server reply, stratum 0"
    );
    assert_eq!(
        evidence(&Ntp, &udp(V2_MODE7, 123)),
        "NTPv2 private (mode 7) request code 42 (MON_GETLIST_1) response"
    );
}

#[test]
fn control_and_private_requests() {
    // ntpq "rv": mode 6, opcode 2, no data (RFC 9327 §2).
    let rv = [0x16, 0x02, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(
        evidence(&Ntp, &udp(&rv, 123)),
        "NTPv2 control (mode 6) read variables request"
    );
    // ntpd's CTL_OP_UNSETTRAP (31), beyond RFC 9327's table.
    let unset = [0x26, 0x1f, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(
        evidence(&Ntp, &udp(&unset, 40123)),
        "NTPv4 control (mode 6) unset trap request"
    );
    let mut bad = unset;
    bad[1] = 0x1e; // opcode 30: not defined
    assert_eq!(run(&Ntp, &udp(&bad, 123)), Probe::NoMatch);
    // ntpdc monlist request (the amplification trigger): 48 octets.
    let mut monlist = vec![0x17, 0x00, 0x03, 0x2a];
    monlist.resize(48, 0);
    assert!(evidence(&Ntp, &udp(&monlist, 123)).contains("MON_GETLIST_1"));
}

#[test]
fn strict_on_ranges() {
    let mut c = V4_CLIENT.to_vec();
    c[1] = 17; // stratum
    assert_eq!(run(&Ntp, &udp(&c, 123)), Probe::NoMatch);
    let mut c = V4_CLIENT.to_vec();
    c[3] = 5; // precision > 0
    assert_eq!(run(&Ntp, &udp(&c, 123)), Probe::NoMatch);
    let mut s = V4_SERVER.to_vec();
    s[40] ^= 0x40; // transmit long after receive
    assert_eq!(run(&Ntp, &udp(&s, 123)), Probe::NoMatch);
    assert_eq!(run(&Ntp, &udp(&V4_SERVER[..47], 123)), Probe::NoMatch);
}

#[test]
fn non_standard_port() {
    match identify_first_payload(Transport::Udp, Direction::ToServer, 9999, V4_CLIENT) {
        FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "NTP"),
        v => panic!("{v:?}"),
    }
}

#[test]
fn other_protocols_are_not_ntp() {
    let negs: &[&[u8]] = &[
        include_bytes!("../dns/testdata/query_a.bin"),
        include_bytes!("../dns/testdata/response_a.bin"),
        include_bytes!("../stun/testdata/udp_binding_success.bin"),
        include_bytes!("../snmp/testdata/v2c_getnext.bin"),
        include_bytes!("../dns/testdata/neg/quic_initial.bin"),
        include_bytes!("../dns/testdata/neg/rtp.bin"),
        include_bytes!("../dhcp/testdata/discover.bin"),
    ];
    for n in negs {
        assert_eq!(run(&Ntp, &udp(n, 123)), Probe::NoMatch);
    }
}

#[test]
fn first_bytes_declared() {
    let rv = [0x16, 0x02, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    let mut monlist = vec![0x17, 0x00, 0x03, 0x2a];
    monlist.resize(48, 0);
    for d in [
        V4_CLIENT,
        V4_SERVER,
        V3_SERVER,
        V2_MODE7,
        &rv[..],
        &monlist[..],
    ] {
        crate::testkit::first_bytes_hold(&Ntp, &udp(d, 123));
    }
}

#[test]
fn every_prefix_no_panic() {
    for d in [V4_CLIENT, V4_SERVER, V3_SERVER, V2_MODE7] {
        every_prefix(&Ntp, Transport::Udp, 123, d);
    }
}

#[test]
fn random_payloads_rejected() {
    assert_random_rejected(&Ntp, Transport::Udp, 123);
    // Random 48-octet packets specifically (the header size).
    let mut rng = XorShift(77);
    let mut hits = 0;
    for _ in 0..100_000 {
        let mut b = [0u8; 48];
        fill(&mut rng, &mut b);
        hits += is_match(&Ntp, &udp(&b, 123)) as usize;
    }
    assert!(hits < 100, "{hits} random 48-byte packets matched");
}
