//! The crate-wide false-positive guard: every probe in [`crate::ALL`], on
//! every transport it declares, must answer Match to fewer than 0.1% of
//! random inputs. Each probe gets
//! * 10,000 single random payloads per direction (half of them 1-64 bytes,
//!   where short binary headers are weakest, half 1-1500 bytes);
//! * 10,000 random printable-text payloads per direction (lines of ASCII
//!   words, where text protocols are weakest);
//! * 1,250 random flows of 8 datagrams (or a growing TCP prefix) sharing one
//!   scratch, so multi-packet consistency checks are exercised too.
//!
//! Probes over a bare IP protocol (`Transport::Ip(n)`: ICMP, IGMP, ESP,
//! OSPF, ...) are not held to this: there the IANA protocol number in the IP
//! header is the identification, and the payload check only confirms it.
//!
//! A probe must get below 0.1% on its own bytes: the ports are foreign (40123 / 51515), so a probe that
//! leans on a port to decide fails here.

use netsift_proto::{Direction, Probe, ProbeScratch, Protocol, Transport};

use crate::testkit::input;
use crate::ALL;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes(&mut self, buf: &mut Vec<u8>) {
        let len = if self.below(2) == 0 {
            1 + self.below(64)
        } else {
            1 + self.below(1500)
        } as usize;
        buf.clear();
        while buf.len() < len {
            buf.extend_from_slice(&self.next().to_le_bytes());
        }
        buf.truncate(len);
    }
    /// Words of letters, digits and punctuation, spaces, and CR LF line ends.
    fn text(&mut self, buf: &mut Vec<u8>) {
        const CH: &[u8] =
            b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ./:-_=<>{}\",;";
        let len = 1 + self.below(400) as usize;
        buf.clear();
        while buf.len() < len {
            match self.below(40) {
                0 => buf.extend_from_slice(b"\r\n"),
                _ => buf.push(CH[self.below(CH.len() as u64) as usize]),
            }
        }
    }
}

const DIRS: [Direction; 2] = [Direction::ToServer, Direction::ToClient];

/// Match answers of `p` over the random inputs described above, and the
/// number of inputs.
fn random_hits(p: &dyn Protocol, t: Transport, seed: u64) -> (usize, usize) {
    let mut rng = Rng(seed | 1);
    let mut buf = Vec::with_capacity(1500);
    let (mut hits, mut trials) = (0, 0);
    for dir in DIRS {
        for k in 0..20_000 {
            if k % 2 == 0 {
                rng.bytes(&mut buf);
            } else {
                rng.text(&mut buf);
            }
            let ans = p.probe(&input(t, dir, &buf, &[], 0), &mut ProbeScratch::default());
            hits += usize::from(matches!(ans, Probe::Match(_)));
            trials += 1;
        }
    }
    // Flows: 8 payloads through one scratch. UDP: each datagram on its own,
    // the first of the other direction as peer. TCP: a growing prefix.
    let mut pkts: Vec<Vec<u8>> = vec![Vec::new(); 8];
    for _ in 0..1_250 {
        let text = rng.below(4) == 0;
        for b in pkts.iter_mut() {
            if text {
                rng.text(b);
            } else {
                rng.bytes(b);
            }
        }
        let mut scratch = ProbeScratch::default();
        let mut first: [Option<usize>; 2] = [None, None];
        let mut prefix: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
        let mut index = [0u32; 2];
        for k in 0..pkts.len() {
            let di = (rng.below(2)) as usize;
            let dir = DIRS[di];
            first[di].get_or_insert(k);
            let ans = if t == Transport::Tcp {
                prefix[di].extend_from_slice(&pkts[k]);
                let (a, b) = prefix.split_at(1);
                let (data, peer) = if di == 0 {
                    (&a[0], &b[0])
                } else {
                    (&b[0], &a[0])
                };
                p.probe(&input(t, dir, data, peer, index[di]), &mut scratch)
            } else {
                let peer: &[u8] = match first[1 - di] {
                    Some(j) => &pkts[j],
                    None => &[],
                };
                p.probe(&input(t, dir, &pkts[k], peer, index[di]), &mut scratch)
            };
            index[di] += 1;
            trials += 1;
            if matches!(ans, Probe::Match(_)) {
                hits += 1;
                break;
            }
        }
    }
    (hits, trials)
}

#[test]
fn every_probe_rejects_random_payloads() {
    let mut failures = Vec::new();
    for (i, p) in ALL.iter().enumerate() {
        for &t in p.transports() {
            if matches!(t, Transport::Ip(_)) {
                continue;
            }
            let (hits, trials) = random_hits(*p, t, 0x5eed_0000 + i as u64);
            // Below 0.1% of the inputs.
            if hits * 1000 >= trials {
                failures.push(format!("{} over {t:?}: {hits} of {trials}", p.name()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "probes matching 0.1% or more of random inputs:\n  {}",
        failures.join("\n  ")
    );
}
