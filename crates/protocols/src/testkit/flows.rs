//! The kit's flow helpers: a flow's payloads through one scratch the way
//! the engine calls probes, random multi-packet flows, and real UDP
//! payloads of other protocols. The [`super::ported`] helpers are
//! re-exported, so a media-group test (RTP, RTCP, DTLS, OpenVPN, WireGuard,
//! IPSec, Radius, COAP, TFTP, Syslog) needs one import.

use netsift_proto::{Direction, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

pub(crate) use super::ported::{
    assert_random_rejected, every_prefix, evidence, fill, input, is_match, run, tcp, udp, XorShift,
};

/// Feed a flow's payloads through one scratch the way the engine does:
/// `peer` is the other direction's first payload (UDP) or its stream prefix
/// (TCP: each entry is then the prefix so far), `index` counts per
/// direction. Returns the first Match, else the last answer.
pub(crate) fn feed(
    p: &dyn Protocol,
    transport: Transport,
    server_port: u16,
    pkts: &[(Direction, &[u8])],
) -> Probe {
    let mut scratch = ProbeScratch::default();
    let mut first: [Option<&[u8]>; 2] = [None, None];
    let mut idx = [0u32; 2];
    let mut last = Probe::NoMatch;
    for &(dir, data) in pkts {
        let di = usize::from(dir == Direction::ToClient);
        let peer = if transport == Transport::Tcp {
            // For TCP tests the latest prefix of the other direction.
            pkts.iter()
                .rev()
                .find(|(d, _)| *d != dir)
                .map_or(&[][..], |(_, b)| *b)
        } else {
            first[1 - di].unwrap_or(&[])
        };
        let i = ProbeInput {
            transport,
            dir,
            data,
            peer,
            index: idx[di],
            server_port,
            client_port: 40000,
            server_addr: None,
            client_addr: None,
        };
        idx[di] += 1;
        if first[di].is_none() {
            first[di] = Some(data);
        }
        last = p.probe(&i, &mut scratch);
        if matches!(last, Probe::Match(_)) {
            return last;
        }
    }
    last
}

/// Evidence of [`feed`]'s match, or a panic.
pub(crate) fn feed_evidence(
    p: &dyn Protocol,
    transport: Transport,
    server_port: u16,
    pkts: &[(Direction, &[u8])],
) -> String {
    match feed(p, transport, server_port, pkts) {
        Probe::Match(m) => m.evidence,
        o => panic!("{} expected Match, got {o:?}", p.name()),
    }
}

/// 100k random datagrams (lengths 1..=1500, random direction) in flows of
/// `per_flow` packets sharing one scratch (and the first datagram of the
/// other direction as peer); returns how many answers were Match.
pub(crate) fn random_flow_matches(
    p: &dyn Protocol,
    transport: Transport,
    server_port: u16,
    per_flow: usize,
    seed: u64,
) -> usize {
    let mut rng = XorShift(seed | 1);
    let mut bufs = vec![vec![0u8; 1500]; per_flow.max(1)];
    let mut hits = 0;
    let mut done = 0;
    while done < 100_000 {
        let mut scratch = ProbeScratch::default();
        let mut first: [Option<usize>; 2] = [None, None];
        let mut lens = vec![0usize; bufs.len()];
        let mut idx = [0u32; 2];
        for k in 0..bufs.len() {
            let len = 1 + (rng.next() % 1500) as usize;
            lens[k] = len;
            fill(&mut rng, &mut bufs[k][..len]);
            let dir = if rng.next() % 2 == 0 {
                Direction::ToServer
            } else {
                Direction::ToClient
            };
            let di = usize::from(dir == Direction::ToClient);
            if first[di].is_none() {
                first[di] = Some(k);
            }
            let peer: &[u8] = match first[1 - di] {
                Some(j) if j != k => &bufs[j][..lens[j]],
                _ => &[],
            };
            let i = ProbeInput {
                transport,
                dir,
                data: &bufs[k][..len],
                peer,
                index: idx[di],
                server_port,
                client_port: 40000,
                server_addr: None,
                client_addr: None,
            };
            idx[di] += 1;
            if matches!(p.probe(&i, &mut scratch), Probe::Match(_)) {
                hits += 1;
            }
            done += 1;
        }
    }
    hits
}

/// Assert < 0.1% Match over single random payloads (both directions) and
/// over random multi-packet flows.
pub(crate) fn assert_random_flows_rejected(p: &dyn Protocol, transport: Transport, port: u16) {
    assert_random_rejected(p, transport, port);
    // The other direction too.
    let mut rng = XorShift(0x1234_5678_9abc_def1);
    let mut buf = vec![0u8; 1500];
    let mut hits = 0;
    for _ in 0..100_000 {
        let len = 1 + (rng.next() % 1500) as usize;
        fill(&mut rng, &mut buf[..len]);
        let i = input(transport, Direction::ToClient, &buf[..len], port, 40000);
        if is_match(p, &i) {
            hits += 1;
        }
    }
    assert!(hits < 100, "{}: {hits} random ToClient matches", p.name());
    let hits = random_flow_matches(p, transport, port, 8, 0xdead_beef_cafe_f00d);
    assert!(hits < 100, "{}: {hits} random flow matches", p.name());
}

/// Real payloads of other protocols (UDP), for negative tests.
pub(crate) fn foreign_udp() -> Vec<(&'static str, &'static [u8])> {
    vec![
        ("dns", include_bytes!("../dns/testdata/query_a.bin")),
        ("dns-resp", include_bytes!("../dns/testdata/response_a.bin")),
        (
            "quic",
            include_bytes!("../dns/testdata/neg/quic_initial.bin"),
        ),
        (
            "stun",
            include_bytes!("../stun/testdata/udp_binding_request.bin"),
        ),
        (
            "stun-ok",
            include_bytes!("../stun/testdata/udp_binding_success.bin"),
        ),
        (
            "stun-wa",
            include_bytes!("../stun/testdata/wa_allocate_request.bin"),
        ),
        ("ntp", include_bytes!("../ntp/testdata/v4_client.bin")),
        ("ntp-srv", include_bytes!("../ntp/testdata/v4_server.bin")),
        (
            "ntp7",
            include_bytes!("../ntp/testdata/v2_mode7_monlist.bin"),
        ),
        ("snmp", include_bytes!("../snmp/testdata/v2c_getnext.bin")),
        ("snmp3", include_bytes!("../snmp/testdata/v3_get.bin")),
        ("dhcp", include_bytes!("../dhcp/testdata/discover.bin")),
        ("dhcpv6", include_bytes!("../dhcpv6/testdata/solicit.bin")),
        ("sip", include_bytes!("../sip/testdata/invite.bin")),
        ("ssdp", include_bytes!("../ssdp/testdata/msearch.bin")),
        (
            "nbdgm",
            include_bytes!("../netbios/testdata/nbdgm_browser.bin"),
        ),
        (
            "wg-init",
            include_bytes!("../wireguard/testdata/initiation.bin"),
        ),
        (
            "wg-data",
            include_bytes!("../wireguard/testdata/data_c0.bin"),
        ),
        (
            "dtls-ch",
            include_bytes!("../dtls/testdata/client_hello_v10.bin"),
        ),
        (
            "dtls-sh",
            include_bytes!("../dtls/testdata/server_hello.bin"),
        ),
        ("rtp", include_bytes!("../rtp/testdata/rtp1.bin")),
        ("ike", include_bytes!("../ipsec/testdata/ikev2_sa_init.bin")),
        (
            "ovpn",
            include_bytes!("../openvpn/testdata/udp_nohmac_client.bin"),
        ),
        (
            "ovpn-tc",
            include_bytes!("../openvpn/testdata/udp_tlscrypt_client.bin"),
        ),
        ("tftp", include_bytes!("../tftp/testdata/rrq.bin")),
        ("tftp-data", include_bytes!("../tftp/testdata/data1.bin")),
        (
            "syslog",
            include_bytes!("../syslog/testdata/tcp_3164_iso.bin"),
        ),
    ]
}

/// Assert `p` matches none of the foreign payloads, alone or repeated as a
/// flow, except those whose label starts with `own`.
pub(crate) fn assert_foreign_rejected(p: &dyn Protocol, own: &str) {
    for (label, b) in foreign_udp() {
        if label.starts_with(own) {
            continue;
        }
        for t in [Transport::Udp, Transport::Tcp] {
            for dir in [Direction::ToServer, Direction::ToClient] {
                let i = input(t, dir, b, 4000, 40000);
                assert!(!is_match(p, &i), "{} claimed {label} ({t:?})", p.name());
            }
        }
        let flow = [(Direction::ToServer, b); 6];
        assert!(
            !matches!(feed(p, Transport::Udp, 4000, &flow), Probe::Match(_)),
            "{} claimed a flow of {label}",
            p.name()
        );
    }
}
