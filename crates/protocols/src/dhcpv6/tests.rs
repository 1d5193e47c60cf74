//! DHCPv6 tests. testdata (nDPI corpus):
//! * solicit.bin       tor.pcap frame 462 (Solicit)
//! * info_request.bin  1kxun.pcap frame 12 (Information-request)

use netsift_proto::{Direction, Probe, Transport};

use super::Dhcpv6;
use crate::first_packet::{identify_first_payload, FirstVerdict};
use crate::testkit::ported::*;

const SOLICIT: &[u8] = include_bytes!("testdata/solicit.bin");
const INFO: &[u8] = include_bytes!("testdata/info_request.bin");

#[test]
fn real_dhcpv6() {
    let e = evidence(&Dhcpv6, &udp(SOLICIT, 547));
    assert!(e.starts_with("DHCPv6 SOLICIT (xid 0x6633dc"), "{e}");
    let e = evidence(&Dhcpv6, &udp(INFO, 547));
    assert!(
        e.starts_with("DHCPv6 INFORMATION-REQUEST (xid 0x27731d"),
        "{e}"
    );
}

#[test]
fn option_chain_must_fit() {
    assert_eq!(
        run(&Dhcpv6, &udp(&SOLICIT[..SOLICIT.len() - 1], 547)),
        Probe::NoMatch
    );
    let mut extra = SOLICIT.to_vec();
    extra.push(0);
    assert_eq!(run(&Dhcpv6, &udp(&extra, 547)), Probe::NoMatch);
    // A relayed Solicit (RFC 8415 §9.1).
    let mut relay = vec![12, 0];
    relay.extend_from_slice(&[0; 32]);
    relay.extend_from_slice(&[0, 9, 0, SOLICIT.len() as u8]);
    relay.extend_from_slice(SOLICIT);
    assert!(evidence(&Dhcpv6, &udp(&relay, 547)).starts_with("DHCPv6 RELAY-FORW"));
}

#[test]
fn non_standard_port() {
    match identify_first_payload(Transport::Udp, Direction::ToServer, 5470, SOLICIT) {
        FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "DHCPV6"),
        v => panic!("{v:?}"),
    }
}

#[test]
fn other_protocols_are_not_dhcpv6() {
    let negs: &[&[u8]] = &[
        include_bytes!("../dns/testdata/query_a.bin"),
        include_bytes!("../stun/testdata/udp_binding_request.bin"),
        include_bytes!("../ntp/testdata/v4_client.bin"),
        include_bytes!("../dhcp/testdata/discover.bin"),
        include_bytes!("../dns/testdata/neg/quic_initial.bin"),
    ];
    for n in negs {
        assert_eq!(run(&Dhcpv6, &udp(n, 547)), Probe::NoMatch);
    }
}

#[test]
fn every_prefix_no_panic() {
    for d in [SOLICIT, INFO] {
        every_prefix(&Dhcpv6, Transport::Udp, 547, d);
    }
}

#[test]
fn random_payloads_rejected() {
    assert_random_rejected(&Dhcpv6, Transport::Udp, 547);
}

#[test]
fn first_bytes_declared() {
    crate::testkit::first_bytes_hold(&Dhcpv6, &udp(SOLICIT, 547));
    crate::testkit::first_bytes_hold(&Dhcpv6, &udp(INFO, 547));
    let mut relay = vec![12, 0];
    relay.extend_from_slice(&[0; 32]);
    relay.extend_from_slice(&[0, 9, 0, SOLICIT.len() as u8]);
    relay.extend_from_slice(SOLICIT);
    crate::testkit::first_bytes_hold(&Dhcpv6, &udp(&relay, 547));
}
