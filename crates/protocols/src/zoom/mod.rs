//! Zoom's UDP media transport (observed protocol; Zoom publishes no wire
//! specification; the layout follows what Zoom clients send in nDPI's
//! corpus captures and the published measurement work on Zoom traffic,
//! e.g. Michel et al., "Enabling Passive Measurement of Zoom Performance
//! in Production Networks", IMC 2022).
//!
//! * **Server (SFU / multimedia router) connections**, UDP 8801-8810: the
//!   client's first datagram is type 0x01 (a session hello), the server's
//!   answer type 0x02 repeats the hello's bytes 1..19 (a 18-byte session
//!   cookie); media then travels in type 0x05 encapsulation: type, a 16-bit
//!   sequence number, a 32-bit stream id and a direction byte (0x00 to the
//!   server, 0x04 from it).
//! * **Peer-to-peer connections**: the first datagrams are a hello starting
//!   0x1f 0x02 0x01 0x00, two 16-bit role fields (8, 1, 4 or 4, 1, 8), and
//!   at byte 24 a 32-bit length and the sender's local IP address in text.
//! * **NAT probe**: before P2P media Zoom sends RFC 3489-style binding
//!   requests (no magic cookie) to its STUN servers whose only attribute is
//!   the non-standard 0x0101 holding the ASCII digits "1234567890...". The
//!   STUN probe rejects them (0x0101 is no RFC 3489 attribute); nDPI calls
//!   these flows STUN.Zoom.
//!
//! Every signature is checked on the first datagrams; a single 0x05 media
//! datagram is too weak, so two of the same stream id with increasing
//! sequence numbers are required (captures starting mid-session).

use netsift_proto::bytes::{array, be16, be32, u8_at};
use netsift_proto::{
    Direction, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// Zoom.
pub struct Zoom;

/// The P2P hello: IP address text at byte 28, length at 24.
fn p2p_hello(d: &[u8]) -> Option<String> {
    if array::<4>(d, 0)? != [0x1f, 0x02, 0x01, 0x00] {
        return None;
    }
    let roles = array::<6>(d, 4)?;
    if roles != [8, 0, 1, 0, 4, 0] && roles != [4, 0, 1, 0, 8, 0] {
        return None;
    }
    let len = be32(d, 24)? as usize;
    if !(7..=45).contains(&len) {
        return None;
    }
    let ip = d.get(28..28 + len)?;
    let ok = ip
        .iter()
        .all(|&b| b.is_ascii_hexdigit() || b == b'.' || b == b':')
        && ip.iter().any(|&b| b == b'.' || b == b':');
    ok.then(|| {
        format!(
            "Zoom P2P hello, local address '{}'",
            String::from_utf8_lossy(ip)
        )
    })
}

/// The cookie-less binding request with attribute 0x0101 = "1234567890...".
fn nat_probe(d: &[u8]) -> bool {
    d.len() == 44
        && be16(d, 0) == Some(0x0001)
        && be16(d, 2) == Some(24)
        && be16(d, 20) == Some(0x0101)
        && be16(d, 22) == Some(20)
        && d.get(24..34) == Some(&b"1234567890"[..])
}

/// The 18-byte session cookie of an SFU hello (bytes 1..19).
fn cookie(d: &[u8]) -> Option<[u8; 18]> {
    array::<18>(d, 1)
}

/// Scratch use: word 0 = stream id, direction and sequence number of the
/// last 0x05 datagram, or a hash of the first hello's bytes after the
/// cookie (0 when none); word 1 = a hash of the
/// first 0x01 hello's cookie (0 when none).
fn fold(c: &[u8; 18]) -> u64 {
    c.iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        })
        .max(1)
}

impl Protocol for Zoom {
    fn name(&self) -> &'static str {
        "Zoom"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[8801, 8802]
    }
    // Observed: SFU hello type 0x01, answer 0x02, media 0x05; P2P hello
    // `0x1f 0x02 0x01 0x00`; NAT probe a binding request (type 0x0001).
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x00, 0x01, 0x02, 0x05, 0x1f])
    }
    fn probe(&self, input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let Some(b0) = u8_at(d, 0) else {
            return Probe::NoMatch;
        };
        match b0 {
            0x1f => match p2p_hello(d) {
                Some(e) => Probe::Match(Match::new(e)),
                None => Probe::NoMatch,
            },
            0x00 if nat_probe(d) => Probe::Match(Match::new(
                "Zoom NAT probe (cookie-less binding request, attribute 0x0101 '1234567890...')",
            )),
            // SFU hello from the client: confirmed by the server's echo or a
            // retransmission with the same cookie.
            // Bytes 1..3 are 00 03 in every hello seen; a byte-identical
            // repeat is a plain retransmission (any protocol), so the
            // second hello must differ after the cookie (Zoom's carry
            // timestamps there).
            0x01 if d.len() >= 40
                && input.dir == Direction::ToServer
                && array::<2>(d, 1) == Some([0x00, 0x03]) =>
            {
                let Some(c) = cookie(d) else {
                    return Probe::NoMatch;
                };
                let h = fold(&c);
                let whole = d.get(19..).unwrap_or(&[]);
                let tail = whole
                    .iter()
                    .take(64)
                    .fold(0u64, |a, &b| a.rotate_left(5) ^ u64::from(b))
                    | 1;
                if scratch.0[1] == h && scratch.0[0] != tail {
                    return Probe::Match(Match::new(
                        "Zoom SFU session hello (type 0x01, repeated with the same cookie)",
                    ));
                }
                if scratch.0[1] == 0 {
                    scratch.0[1] = h;
                    scratch.0[0] = tail;
                }
                Probe::NeedMore
            }
            // Server answer: type 0x02 echoing the client's cookie.
            0x02 if input.dir == Direction::ToClient => {
                let p = input.peer;
                match (cookie(d), cookie(p), u8_at(p, 0)) {
                    (Some(a), Some(b), Some(0x01)) if a == b => Probe::Match(Match::new(
                        "Zoom SFU session hello (type 0x01) and answer (0x02) with the same cookie",
                    )),
                    _ => Probe::NoMatch,
                }
            }
            // Media encapsulation: two datagrams of one stream.
            0x05 if d.len() >= 20 => {
                let (Some(seq), Some(id), Some(dir)) = (be16(d, 1), be32(d, 3), u8_at(d, 7)) else {
                    return Probe::NoMatch;
                };
                if id == 0 || !(dir == 0x00 || dir == 0x04) {
                    return Probe::NoMatch;
                }
                let last = scratch.0[0];
                // Bits 0..32 id, 32..40 direction byte, bit 39 "set", 40..56
                // sequence number.
                let key = u64::from(id) | (u64::from(dir) << 32) | (1 << 39);
                if last & 0xff_ffff_ffff == key {
                    let prev = (last >> 40) as u16;
                    let step = seq.wrapping_sub(prev);
                    if (1..=64).contains(&step) {
                        return Probe::Match(Match::new(format!(
                            "Zoom media encapsulation (type 0x05), stream {id:#010x}, consecutive sequence numbers"
                        )));
                    }
                }
                scratch.0[0] = key | (u64::from(seq) << 40);
                Probe::NeedMore
            }
            _ => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, evidence, feed, feed_evidence,
        probe1, C, S,
    };

    const UDP: Transport = Transport::Udp;
    // Sources: testdata/README.md.
    const HELLO1: &[u8] = include_bytes!("testdata/sfu_hello1.bin");
    const HELLO2: &[u8] = include_bytes!("testdata/sfu_hello2.bin");
    const REPLY: &[u8] = include_bytes!("testdata/sfu_reply.bin");
    const MEDIA: &[u8] = include_bytes!("testdata/sfu_media.bin");
    const P2P: &[u8] = include_bytes!("testdata/p2p_hello.bin");
    const P2P2: &[u8] = include_bytes!("testdata/p2p_hello2.bin");
    const NAT: &[u8] = include_bytes!("testdata/nat_probe.bin");

    #[test]
    fn sfu_hello_and_answer() {
        assert_eq!(
            feed_evidence(&Zoom, UDP, 8801, &[(C, HELLO1), (S, REPLY)]),
            "Zoom SFU session hello (type 0x01) and answer (0x02) with the same cookie"
        );
        // One direction only: the retransmitted hello.
        assert_eq!(
            feed_evidence(&Zoom, UDP, 8801, &[(C, HELLO1), (C, HELLO2)]),
            "Zoom SFU session hello (type 0x01, repeated with the same cookie)"
        );
        // A lone hello is not enough.
        assert_eq!(probe1(&Zoom, UDP, C, HELLO1), Probe::NeedMore);
        // An answer to something else is not Zoom.
        let mut other = HELLO1.to_vec();
        other[5] ^= 1;
        assert_eq!(
            feed(&Zoom, UDP, 8801, &[(C, &other), (S, REPLY)]),
            Probe::NoMatch
        );
        // A byte-identical retransmission is not enough.
        assert_eq!(
            feed(&Zoom, UDP, 8801, &[(C, HELLO1), (C, HELLO1)]),
            Probe::NeedMore
        );
    }

    #[test]
    fn media_mid_session() {
        let mut m2 = MEDIA.to_vec();
        m2[2] = 1; // next sequence number
        assert!(feed_evidence(&Zoom, UDP, 8801, &[(C, MEDIA), (C, &m2)])
            .starts_with("Zoom media encapsulation (type 0x05), stream 0x004f8378"));
        let mut other = m2.clone();
        other[5] ^= 0x55; // another stream id
        assert_eq!(
            feed(&Zoom, UDP, 8801, &[(C, MEDIA), (C, &other)]),
            Probe::NeedMore
        );
    }

    #[test]
    fn p2p_and_nat_probe() {
        assert_eq!(
            evidence(probe1(&Zoom, UDP, C, P2P)),
            "Zoom P2P hello, local address '192.168.1.226'"
        );
        assert_eq!(
            evidence(probe1(&Zoom, UDP, C, P2P2)),
            "Zoom P2P hello, local address '10.78.14.178'"
        );
        assert!(evidence(probe1(&Zoom, UDP, C, NAT)).starts_with("Zoom NAT probe"));
        let mut n = NAT.to_vec();
        n[24] = b'x';
        assert_eq!(probe1(&Zoom, UDP, C, &n), Probe::NoMatch);
        let mut p = P2P.to_vec();
        p[27] = 60; // address length beyond the datagram's text
        assert_eq!(probe1(&Zoom, UDP, C, &p), Probe::NoMatch);
        for d in [P2P, NAT, HELLO1, REPLY, MEDIA] {
            for i in 0..d.len() {
                let _ = probe1(&Zoom, UDP, C, &d[..i]);
                let _ = probe1(&Zoom, UDP, S, &d[..i]);
            }
        }
    }

    /// Not claimed: stun_zoom.pcapng's flow to 134.224.90.111:8801 that
    /// nDPI calls DTLS.Zoom is WebRTC (ICE binding requests with a
    /// USERNAME, then DTLS); its bytes show nothing of Zoom's, nDPI takes
    /// Zoom from the server's address and port. The STUN probe names it.
    #[test]
    fn foreign_and_random() {
        assert_foreign_rejected(&Zoom, "none");
        assert_random_flows_rejected(&Zoom, UDP, 8801);
    }

    #[test]
    fn first_bytes_declared() {
        crate::testkit::first_bytes_hold(&Zoom, &crate::testkit::input(UDP, C, HELLO1, &[], 0));
        crate::testkit::first_bytes_hold(&Zoom, &crate::testkit::input(UDP, C, HELLO2, &[], 1));
        crate::testkit::first_bytes_hold(&Zoom, &crate::testkit::input(UDP, S, REPLY, HELLO1, 0));
        crate::testkit::first_bytes_hold(&Zoom, &crate::testkit::input(UDP, C, MEDIA, &[], 0));
        for d in [P2P, P2P2, NAT] {
            crate::testkit::first_bytes_hold(&Zoom, &crate::testkit::input(UDP, C, d, &[], 0));
        }
    }
}
