//! DNS probe tests on real captured payloads.
//!
//! testdata (nDPI regression corpus, ../shared/corpus/ndpi/pcap):
//! * query_aaaa.bin      dns.pcap frame 2 (query www.example.com AAAA)
//! * query_a.bin         dns.pcap frame 4 (query e7.whatsapp.net A)
//! * response_a.bin      dns.pcap frame 5 (response, 6 A records)
//! * tcp_query_dnskey.bin   dns_fragmented.pcap frame 48 (TCP, length-prefixed, EDNS)
//! * tcp_response_seg1.bin  dns_fragmented.pcap frame 50 (TCP response, 1730 bytes)
//! * neg/quic_initial.bin quic.pcap frame 1; neg/dtls_hello.bin dtls.pcap
//!   frame 1; neg/rtp.bin rtp.pcapng frame 1.

use netsift_proto::{Direction, Probe, Transport};

use super::Dns;
use crate::first_packet::{identify_first_payload, FirstVerdict};
use crate::testkit::ported::*;

const QUERY_AAAA: &[u8] = include_bytes!("testdata/query_aaaa.bin");
const QUERY_A: &[u8] = include_bytes!("testdata/query_a.bin");
const RESPONSE_A: &[u8] = include_bytes!("testdata/response_a.bin");
const TCP_QUERY: &[u8] = include_bytes!("testdata/tcp_query_dnskey.bin");
const TCP_RESPONSE: &[u8] = include_bytes!("testdata/tcp_response_seg1.bin");

#[test]
fn udp_query_and_response() {
    assert_eq!(
        evidence(&Dns, &udp(QUERY_AAAA, 53)),
        "DNS standard query for www.example.com AAAA"
    );
    assert_eq!(
        evidence(&Dns, &udp(QUERY_A, 53)),
        "DNS standard query for e7.whatsapp.net A"
    );
    let e = evidence(&Dns, &udp(RESPONSE_A, 53));
    assert!(e.starts_with("DNS response for e7.whatsapp.net A"), "{e}");
}

#[test]
fn tcp_query_and_response() {
    assert_eq!(
        evidence(&Dns, &tcp(TCP_QUERY, 53)),
        "DNS over TCP standard query for weberlab.de DNSKEY"
    );
    let e = evidence(&Dns, &tcp(TCP_RESPONSE, 53));
    assert!(
        e.starts_with("DNS over TCP response for weberlab.de DNSKEY"),
        "{e}"
    );
}

#[test]
fn tcp_split_across_segments_needs_more() {
    // RFC 7766 §8: the length prefix and the message may arrive apart.
    for n in [1, 2, 3, 8, 13, 20] {
        assert_eq!(
            run(&Dns, &tcp(&TCP_QUERY[..n], 53)),
            Probe::NeedMore,
            "prefix {n}"
        );
    }
    // Once the question is in, the query is known even if the EDNS OPT
    // record is still on its way.
    assert!(is_match(&Dns, &tcp(&TCP_QUERY[..TCP_QUERY.len() - 5], 53)));
    // A long response seen only partly: header + question suffice.
    assert!(is_match(&Dns, &tcp(&TCP_RESPONSE[..600], 53)));
}

#[test]
fn non_standard_ports_via_first_packet() {
    match identify_first_payload(Transport::Udp, Direction::ToServer, 80, QUERY_AAAA) {
        FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "DNS"),
        v => panic!("{v:?}"),
    }
    match identify_first_payload(Transport::Tcp, Direction::ToServer, 8443, TCP_QUERY) {
        FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "DNS"),
        v => panic!("{v:?}"),
    }
}

#[test]
fn other_protocols_are_not_dns() {
    let negs: &[&[u8]] = &[
        include_bytes!("testdata/neg/quic_initial.bin"),
        include_bytes!("testdata/neg/dtls_hello.bin"),
        include_bytes!("testdata/neg/rtp.bin"),
        include_bytes!("../stun/testdata/udp_binding_request.bin"),
        include_bytes!("../stun/testdata/udp_binding_success.bin"),
        include_bytes!("../stun/testdata/wa_allocate_request.bin"),
        include_bytes!("../ntp/testdata/v4_client.bin"),
        include_bytes!("../ntp/testdata/v4_server.bin"),
        include_bytes!("../ntp/testdata/v3_server.bin"),
        include_bytes!("../ntp/testdata/v2_mode7_monlist.bin"),
        include_bytes!("../snmp/testdata/v1_getnext.bin"),
        include_bytes!("../snmp/testdata/v2c_getnext.bin"),
        include_bytes!("../snmp/testdata/v3_get.bin"),
        include_bytes!("../dhcp/testdata/discover.bin"),
        include_bytes!("../dhcp/testdata/ack.bin"),
        include_bytes!("../dhcpv6/testdata/solicit.bin"),
        include_bytes!("../sip/testdata/invite.bin"),
        include_bytes!("../ssdp/testdata/msearch.bin"),
        include_bytes!("../netbios/testdata/nbdgm_browser.bin"),
    ];
    for (i, n) in negs.iter().enumerate() {
        assert!(!is_match(&Dns, &udp(n, 53)), "negative #{i} claimed");
        assert!(!is_match(&Dns, &tcp(n, 53)), "tcp negative #{i} claimed");
    }
}

#[test]
fn hostile_names() {
    // Off port 53 (on it, a DNS-shaped header is flagged malformed DNS instead;
    // see damaged_dns_on_port_53_is_flagged_malformed).
    // Compression loop: the question name points at itself.
    let mut m = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
    assert_eq!(run(&Dns, &udp(&m, 5300)), Probe::NoMatch);
    // Pointer forwards.
    let mut m = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(&[0xc0, 20, 0, 1, 0, 1, 0, 0, 1, b'a', 0]);
    assert_eq!(run(&Dns, &udp(&m, 5300)), Probe::NoMatch);
    // Label longer than 63.
    let mut m = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 64];
    m.extend_from_slice(&[b'a'; 64]);
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    assert_eq!(run(&Dns, &udp(&m, 5300)), Probe::NoMatch);
    // Name longer than 255 octets.
    let mut m = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for _ in 0..5 {
        m.push(63);
        m.extend_from_slice(&[b'a'; 63]);
    }
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    assert_eq!(run(&Dns, &udp(&m, 5300)), Probe::NoMatch);
    // Opcode 3 (unassigned) and Z bit set.
    let mut q = QUERY_A.to_vec();
    q[2] = 0x19; // opcode 3, RD
    assert_eq!(run(&Dns, &udp(&q, 5300)), Probe::NoMatch);
    let mut q = QUERY_A.to_vec();
    q[3] |= 0x40;
    assert_eq!(run(&Dns, &udp(&q, 5300)), Probe::NoMatch);
    // Trailing junk after the question.
    let mut q = QUERY_A.to_vec();
    q.extend_from_slice(b"junk");
    assert_eq!(run(&Dns, &udp(&q, 5300)), Probe::NoMatch);
}

#[test]
fn every_prefix_no_panic() {
    for d in [QUERY_AAAA, RESPONSE_A, TCP_QUERY, TCP_RESPONSE] {
        every_prefix(&Dns, Transport::Udp, 53, d);
        every_prefix(&Dns, Transport::Tcp, 53, d);
    }
}

#[test]
fn random_payloads_rejected() {
    assert_random_rejected(&Dns, Transport::Udp, 53);
    assert_random_rejected(&Dns, Transport::Tcp, 53);
}

/// Prints the random-payload match counts of every probe of this folder
/// set (`cargo test -p netsift-protocols random_rates -- --ignored
/// --nocapture`).
#[test]
#[ignore]
fn random_rates_report() {
    use netsift_proto::Protocol;
    let probes: &[(&dyn Protocol, u16)] = &[
        (&Dns, 53),
        (&crate::mdns::Mdns, 5353),
        (&crate::llmnr::Llmnr, 5355),
        (&crate::netbios::Netbios, 137),
        (&crate::dhcp::Dhcp, 67),
        (&crate::dhcpv6::Dhcpv6, 547),
        (&crate::ntp::Ntp, 123),
        (&crate::snmp::Snmp, 161),
        (&crate::sip::Sip, 5060),
        (&crate::stun::Stun, 3478),
        (&crate::ssdp::Ssdp, 1900),
    ];
    for (p, port) in probes {
        for t in p.transports() {
            let hits = random_matches(*p, *t, *port, 12345);
            println!("{:8} {t:?}: {hits} / 100000", p.name());
        }
    }
}

/// fuzz-2006-06-26-2594.pcap frames 183 (a label length damaged) and 184
/// (opcode 6): nDPI calls both DNS; they are DNS, flagged malformed, only
/// on port 53. Elsewhere the strict parser's NoMatch stands.
#[test]
fn damaged_dns_on_port_53_is_flagged_malformed() {
    use netsift_proto::{Direction, Probe, ProbeInput, ProbeScratch, Protocol, Transport};
    let hex = |h: &str| -> Vec<u8> {
        (0..h.len() / 2)
            .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).expect("hex"))
            .collect()
    };
    let f183 = hex(
        "2cdf01000001000000000000045f736970045f756470037369700963796265726369257300646b0000212f01",
    );
    let f184 = hex(
        "2cdf36000001000000000000045f736970045f756470037369700963796265726369747902646b0000210001",
    );
    for (data, port, want) in [
        (&f183, 53, true),
        (&f184, 53, true),
        (&f183, 5300, false),
        (&f184, 9999, false),
    ] {
        let input = ProbeInput {
            transport: Transport::Udp,
            dir: Direction::ToServer,
            data,
            peer: &[],
            index: 0,
            server_port: port,
            client_port: 2740,
            server_addr: None,
            client_addr: None,
        };
        let got = super::Dns.probe(&input, &mut ProbeScratch::default());
        match (&got, want) {
            (Probe::Match(m), true) => assert!(m.evidence.starts_with("malformed DNS"), "{m:?}"),
            (Probe::NoMatch, false) => {}
            _ => panic!("port {port}: {got:?}"),
        }
    }
    // Every prefix: no panic.
    for n in 0..f183.len() {
        let input = ProbeInput {
            transport: Transport::Udp,
            dir: Direction::ToServer,
            data: &f183[..n],
            peer: &[],
            index: 0,
            server_port: 53,
            client_port: 2740,
            server_addr: None,
            client_addr: None,
        };
        let _ = super::Dns.probe(&input, &mut ProbeScratch::default());
    }
}

/// Names of printable ASCII labels are written without copying each
/// label: the same text as the general path, lower-cased, for every
/// byte of a label (non-printable and non-ASCII ones take the general
/// path and are escaped).
#[test]
fn read_name_fast_path_matches_the_general_one() {
    for b in 0u8..=255 {
        let label = [b'A', b, b'z'];
        let mut msg = vec![label.len() as u8];
        msg.extend_from_slice(&label);
        msg.extend_from_slice(&[3, b'C', b'o', b'M', 0]);
        let (name, end) = super::parse::read_name(&msg, 0).expect("name");
        assert_eq!(end, msg.len());
        let mut want = String::new();
        super::parse::push_label_escaped(&mut want, &label.to_ascii_lowercase());
        want.push_str(".com");
        assert_eq!(name, want, "byte {b:#04x}");
    }
}
