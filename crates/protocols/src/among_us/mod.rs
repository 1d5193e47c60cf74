//! AmongUs (Innersloth) over Hazel, Innersloth's open-source UDP networking
//! library (github.com/willardf/Hazel-Networking, `UdpConnection` /
//! `SendOption`), over any port (servers use 22023).
//!
//! Hazel's first datagram is a **Hello** (`SendOption` 8): u16 BE nonce
//! (reliable ids start at 1), a Hazel version byte (0 or 1), then Among
//! Us' handshake: the client version as an i32 LE encoded
//! `year * 25000 + month * 1800 + day * 50 + revision`, and the player
//! name as a packed-length string. Newer clients append more fields. The
//! version range, the name length and its printable bytes identify one
//! datagram; the later Hazel messages (reliable 1, unreliable 0, ack 10,
//! ping 12) have too short a header to be named alone.

use netsift_proto::bytes::{le32, u8_at};
use netsift_proto::{
    printable, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// AmongUs.
pub struct AmongUs;

/// Versions 2018.1.1 .. 2040.12.31 in Innersloth's encoding.
const VERSION_MIN: u32 = 2018 * 25000;
const VERSION_MAX: u32 = 2041 * 25000;

impl Protocol for AmongUs {
    fn name(&self) -> &'static str {
        "AmongUs"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[22023, 22123]
    }
    // Hazel `UdpConnection` (module doc): "Hazel's first datagram is a
    // **Hello** (`SendOption` 8)"; the probe checks `d.first() == Some(&8)`.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[8])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        if d.first() != Some(&8) || u8_at(d, 3).is_none_or(|v| v > 1) {
            return Probe::NoMatch;
        }
        let Some(ver) = le32(d, 4).filter(|v| (VERSION_MIN..VERSION_MAX).contains(v)) else {
            return Probe::NoMatch;
        };
        let n = usize::from(u8_at(d, 8).unwrap_or(0));
        let Some(name) = d.get(9..9 + n) else {
            return Probe::NoMatch;
        };
        if n == 0 || n > 32 || !name.iter().all(|&b| (0x20..0x7f).contains(&b)) {
            return Probe::NoMatch;
        }
        let (y, r) = (ver / 25000, ver % 25000);
        let (m, r) = (r / 1800, r % 1800);
        let (day, rev) = (r / 50, r % 50);
        Probe::Match(Match::new(format!(
            "Among Us Hazel hello, client {y}.{m}.{day}.{rev}, player '{}'",
            printable(name, 32)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const HELLO: &[u8] = include_bytes!("testdata/hello.bin");

    #[test]
    fn hello_matches() {
        let e = evidence(probe1(&AmongUs, Transport::Udp, C, HELLO));
        assert_eq!(
            e,
            "Among Us Hazel hello, client 2020.10.8.0, player 'AAAAAA'"
        );
        check_prefixes(&AmongUs, Transport::Udp, C, HELLO, &[]);
    }

    #[test]
    fn first_bytes_declared() {
        crate::testkit::first_bytes_hold(&AmongUs, &input(Transport::Udp, C, HELLO, &[], 0));
    }

    #[test]
    fn random_and_foreign_rejected() {
        assert_random_flows_rejected(&AmongUs, Transport::Udp, 22023);
        assert_foreign_rejected(&AmongUs, "amongus");
        foreign_never_match(&AmongUs, Transport::Udp);
    }
}
