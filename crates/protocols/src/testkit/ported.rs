//! The kit's helpers for a [`ProbeInput`] built with a given server port
//! (the DNS family and other UDP probes, whose verdict may depend on the
//! port), and the UDP datagrams of a test pcap.

use std::net::IpAddr;

use netsift_proto::{Direction, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

pub(crate) use super::{fill, XorShift};

/// A probe input with the given transport, bytes and ports.
pub(crate) fn input<'a>(
    transport: Transport,
    dir: Direction,
    data: &'a [u8],
    server_port: u16,
    client_port: u16,
) -> ProbeInput<'a> {
    ProbeInput {
        transport,
        dir,
        data,
        peer: &[],
        index: 0,
        server_port,
        client_port,
        server_addr: None,
        client_addr: None,
    }
}

pub(crate) fn udp(data: &[u8], server_port: u16) -> ProbeInput<'_> {
    input(
        Transport::Udp,
        Direction::ToServer,
        data,
        server_port,
        40000,
    )
}

pub(crate) fn tcp(data: &[u8], server_port: u16) -> ProbeInput<'_> {
    input(
        Transport::Tcp,
        Direction::ToServer,
        data,
        server_port,
        40000,
    )
}

pub(crate) fn with_server_addr<'a>(mut i: ProbeInput<'a>, addr: &str) -> ProbeInput<'a> {
    i.server_addr = addr.parse::<IpAddr>().ok();
    i
}

pub(crate) fn run(p: &dyn Protocol, i: &ProbeInput<'_>) -> Probe {
    p.probe(i, &mut ProbeScratch::default())
}

/// The evidence of a match, or a panic naming what came back.
pub(crate) fn evidence(p: &dyn Protocol, i: &ProbeInput<'_>) -> String {
    match run(p, i) {
        Probe::Match(m) => m.evidence,
        other => panic!("{} expected Match, got {other:?}", p.name()),
    }
}

pub(crate) fn is_match(p: &dyn Protocol, i: &ProbeInput<'_>) -> bool {
    super::is_match(&run(p, i))
}

/// Feed 100k seeded random payloads (lengths 1..=1500) to `p` over
/// `transport` with the given server port; return how many matched.
pub(crate) fn random_matches(
    p: &dyn Protocol,
    transport: Transport,
    server_port: u16,
    seed: u64,
) -> usize {
    let mut rng = XorShift(seed | 1);
    let mut buf = vec![0u8; 1500];
    let mut hits = 0;
    for _ in 0..100_000 {
        let len = 1 + (rng.next() % 1500) as usize;
        let b = &mut buf[..len];
        fill(&mut rng, b);
        let i = input(transport, Direction::ToServer, b, server_port, 40000);
        if is_match(p, &i) {
            hits += 1;
        }
    }
    hits
}

/// Assert fewer than 0.1% of random payloads match (100 of 100k).
pub(crate) fn assert_random_rejected(p: &dyn Protocol, transport: Transport, server_port: u16) {
    let hits = random_matches(p, transport, server_port, 0x9e37_79b9_7f4a_7c15);
    assert!(
        hits < 100,
        "{} matched {hits} of 100000 random {transport:?} payloads",
        p.name()
    );
}

/// Every prefix of `data` must be probed without panicking; returns the
/// answers so callers can check NeedMore/NoMatch where it matters.
pub(crate) fn every_prefix(p: &dyn Protocol, transport: Transport, port: u16, data: &[u8]) {
    for n in 0..=data.len() {
        let i = input(transport, Direction::ToServer, &data[..n], port, 40000);
        let _ = run(p, &i);
        let i = input(transport, Direction::ToClient, &data[..n], port, 40000);
        let _ = run(p, &i);
    }
}

/// The UDP datagrams of a classic pcap file (tcpdump -w on `lo`: Ethernet
/// or Linux cooked/loopback framing, IPv4 or IPv6): packet time in ns,
/// source port, destination port, payload. Test data only; anything
/// unexpected is skipped.
pub(crate) fn pcap_udp(pcap: &[u8]) -> Vec<(u64, u16, u16, Vec<u8>)> {
    pcap_udp_addr(pcap)
        .into_iter()
        .map(|(ts, _, sp, _, dp, m)| (ts, sp, dp, m))
        .collect()
}

/// [`pcap_udp`] with the source and destination addresses.
#[allow(clippy::type_complexity)]
pub(crate) fn pcap_udp_addr(pcap: &[u8]) -> Vec<(u64, IpAddr, u16, IpAddr, u16, Vec<u8>)> {
    let u32le = |b: &[u8], at: usize| -> u32 {
        u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    };
    let link = u32le(pcap, 20);
    let mut out = Vec::new();
    let mut p = 24;
    while p + 16 <= pcap.len() {
        let ts = u64::from(u32le(pcap, p)) * 1_000_000_000 + u64::from(u32le(pcap, p + 4)) * 1000;
        let caplen = u32le(pcap, p + 8) as usize;
        let Some(frame) = pcap.get(p + 16..p + 16 + caplen) else {
            break;
        };
        p += 16 + caplen;
        let l3 = match link {
            1 => 14,   // Ethernet
            113 => 16, // Linux cooked
            0 => 4,    // BSD loopback
            _ => continue,
        };
        let Some(ip) = frame.get(l3..) else { continue };
        let (proto, l4, src, dst) = match ip.first().map(|v| v >> 4) {
            Some(4) if ip.len() >= 20 => {
                let a = |at: usize| IpAddr::from([ip[at], ip[at + 1], ip[at + 2], ip[at + 3]]);
                (ip[9], usize::from(ip[0] & 0x0f) * 4, a(12), a(16))
            }
            Some(6) if ip.len() >= 40 => {
                let a = |at: usize| {
                    let mut b = [0u8; 16];
                    b.copy_from_slice(&ip[at..at + 16]);
                    IpAddr::from(b)
                };
                (ip[6], 40, a(8), a(24))
            }
            _ => continue,
        };
        if proto != 17 {
            continue;
        }
        let Some(udp) = ip.get(l4..) else { continue };
        if udp.len() < 8 {
            continue;
        }
        let sport = u16::from_be_bytes([udp[0], udp[1]]);
        let dport = u16::from_be_bytes([udp[2], udp[3]]);
        let len = usize::from(u16::from_be_bytes([udp[4], udp[5]]));
        let Some(payload) = udp.get(8..len.max(8)) else {
            continue;
        };
        out.push((ts, src, sport, dst, dport, payload.to_vec()));
    }
    out
}
