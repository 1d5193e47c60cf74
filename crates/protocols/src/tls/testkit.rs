//! Test helpers shared by the probes of this agent's folders (TLS, HTTP,
//! QUIC, SSH, Telnet, RDP). Test-only.

use netsift_proto::{Direction, Probe, Protocol, Transport};

/// One payload with no peer data, index 0 (`crate::testkit::probe1`);
/// with the other direction's prefix and a packet index
/// (`crate::testkit::probe_at`); the evidence of a match.
pub(crate) use crate::testkit::{evidence, probe1 as run, probe_at as run_full};

/// Every prefix of `data` must not panic; a match on a prefix must also be
/// a match on the whole payload; and, for TCP (where `data` is a growing
/// stream prefix and `NoMatch` is final), no prefix of a payload that
/// matches may answer `NoMatch`.
pub(crate) fn check_prefixes(proto: &dyn Protocol, t: Transport, dir: Direction, data: &[u8]) {
    let full = run(proto, t, dir, data);
    for i in 0..=data.len() {
        let p = run(proto, t, dir, &data[..i]);
        if matches!(p, Probe::Match(_)) {
            assert!(
                matches!(full, Probe::Match(_)),
                "prefix {i} matched but the full payload gives {full:?}"
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
}

/// Count matches of `proto` over `n` seeded random payloads of length
/// 1..=1500, in both directions.
pub(crate) fn random_matches(proto: &dyn Protocol, t: Transport, n: usize, seed: u64) -> usize {
    let mut rng = XorShift(seed | 1);
    let mut buf = vec![0u8; 1500];
    let mut hits = 0;
    for i in 0..n {
        let len = 1 + (rng.next() % 1500) as usize;
        for chunk in buf[..len].chunks_mut(8) {
            let r = rng.next().to_le_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
        let dir = if i % 2 == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        if matches!(run(proto, t, dir, &buf[..len]), Probe::Match(_)) {
            hits += 1;
        }
    }
    hits
}
