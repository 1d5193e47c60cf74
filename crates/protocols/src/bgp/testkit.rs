//! Test helpers shared by the "infra" probes (Modbus, DNP3, BGP, SOCKS,
//! VNC, NFS, RTSP, Git, RSYNC, HTTP_Proxy). Test-only.

use netsift_proto::{Direction, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

pub(crate) const C: Direction = Direction::ToServer;
pub(crate) const S: Direction = Direction::ToClient;

/// Real payloads of other protocols (sources: the README.md next to each).
pub(crate) const FOREIGN: &[&[u8]] = &[
    include_bytes!("../http/testdata/get.bin"),
    include_bytes!("../http/testdata/response_301.bin"),
    include_bytes!("../http/testdata/smtp_banner.bin"),
    include_bytes!("../http/testdata/sip_register.bin"),
    include_bytes!("../tls/testdata/ch_tls12.bin"),
    include_bytes!("../tls/testdata/sh_tls12.bin"),
    include_bytes!("../dns/testdata/tcp_query_dnskey.bin"),
    include_bytes!("../dns/testdata/tcp_response_seg1.bin"),
    include_bytes!("../dns/testdata/query_a.bin"),
    include_bytes!("../ssh/testdata/server_banner.bin"),
];

/// Run `proto` once with the other direction's prefix `peer`, index 0.
pub(crate) fn run(
    proto: &dyn Protocol,
    transport: Transport,
    dir: Direction,
    data: &[u8],
    peer: &[u8],
) -> Probe {
    let input = ProbeInput {
        transport,
        dir,
        data,
        peer,
        index: 0,
        server_port: 40123,
        client_port: 51515,
        server_addr: None,
        client_addr: None,
    };
    proto.probe(&input, &mut ProbeScratch::default())
}

/// The evidence of a match, or a panic naming what came back.
pub(crate) fn evidence(p: Probe) -> String {
    match p {
        Probe::Match(m) => m.evidence,
        other => panic!("expected a match, got {other:?}"),
    }
}

/// Every prefix of `data` (with `peer` fixed) must not panic; a match on a
/// prefix implies a match on the whole; over TCP no prefix of a matching
/// stream may say NoMatch (NoMatch is final for a TCP flow).
pub(crate) fn check_prefixes(
    proto: &dyn Protocol,
    t: Transport,
    dir: Direction,
    data: &[u8],
    peer: &[u8],
) {
    let full = run(proto, t, dir, data, peer);
    for i in 0..=data.len() {
        let p = run(proto, t, dir, &data[..i], peer);
        if matches!(p, Probe::Match(_)) {
            assert!(
                matches!(full, Probe::Match(_)),
                "prefix {i} matched but the whole gives {full:?}"
            );
        }
        if t == Transport::Tcp && matches!(full, Probe::Match(_)) {
            assert_ne!(
                p,
                Probe::NoMatch,
                "prefix {i} of a matching stream said NoMatch"
            );
        }
    }
}

/// No real payload of another protocol matches, in either direction, with
/// no peer or another foreign payload as peer.
pub(crate) fn foreign_never_match(proto: &dyn Protocol, t: Transport) {
    for (i, f) in FOREIGN.iter().enumerate() {
        for dir in [C, S] {
            for peer in [&[][..], FOREIGN[(i + 1) % FOREIGN.len()]] {
                let p = run(proto, t, dir, f, peer);
                assert!(
                    !matches!(p, Probe::Match(_)),
                    "foreign payload {i} matched: {p:?}"
                );
            }
        }
    }
}

/// Xorshift64* PRNG: deterministic, no dependencies.
pub(crate) struct XorShift(pub u64);

impl XorShift {
    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let r = self.next().to_le_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
    }
}

/// Count matches of `proto` over `n` seeded random payloads of length
/// 1..=1500, alternating directions; every other payload gets a random
/// peer (1..=1500 bytes) or, when `peer_hint` is given, that fixed peer.
pub(crate) fn random_matches(
    proto: &dyn Protocol,
    t: Transport,
    n: usize,
    seed: u64,
    peer_hint: Option<&[u8]>,
) -> usize {
    let mut rng = XorShift(seed | 1);
    let mut buf = vec![0u8; 1500];
    let mut pbuf = vec![0u8; 1500];
    let mut hits = 0;
    for i in 0..n {
        let len = 1 + (rng.next() % 1500) as usize;
        rng.fill(&mut buf[..len]);
        let dir = if i % 2 == 0 { C } else { S };
        let peer: &[u8] = if i % 4 < 2 {
            &[]
        } else if let Some(h) = peer_hint {
            h
        } else {
            let plen = 1 + (rng.next() % 1500) as usize;
            rng.fill(&mut pbuf[..plen]);
            &pbuf[..plen]
        };
        if matches!(run(proto, t, dir, &buf[..len], peer), Probe::Match(_)) {
            hits += 1;
        }
    }
    hits
}
