//! Mumble's UDP ping (Mumble protocol documentation, "UDP Ping" in the
//! protocol stack notes of mumble.info; murmur's server source is the
//! reference implementation).
//!
//! Any client may ask a Mumble server for its status without a connection:
//! * request: 12 bytes, "4 bytes of zeroes" (the legacy ping type) then an
//!   8-byte identifier the client chooses (usually a timestamp);
//! * response: 24 bytes, the server version (4 bytes: 0, major, minor,
//!   patch), the request's identifier echoed, the number of users, the
//!   maximum number of users and the allowed bandwidth (each 32-bit big
//!   endian).
//!
//! The response echoing the request's identifier decides. With only one
//! direction captured, two requests, or two responses with the same
//! version and user limit, decide. Mumble's voice packets (OCB-AES2
//! encrypted) and its TCP control channel (TLS) carry nothing to recognise.

use netsift_proto::bytes::{array, be32, u8_at};
use netsift_proto::{
    Direction, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// Mumble.
pub struct Mumble;

fn is_request(d: &[u8]) -> bool {
    d.len() == 12 && array::<4>(d, 0) == Some([0; 4])
}

/// A response's (version, users, max users) when its fields are plausible.
fn response(d: &[u8]) -> Option<([u8; 3], u32, u32)> {
    if d.len() != 24 || u8_at(d, 0)? != 0 {
        return None;
    }
    let v = array::<3>(d, 1)?;
    let (users, max, bw) = (be32(d, 12)?, be32(d, 16)?, be32(d, 20)?);
    // Major version 1 (all releases so far); murmur caps users at its
    // configured maximum; bandwidth in bit/s, murmur allows up to 1 Mbit/s
    // per user by default (larger values configured are still < 2^27).
    let ok = v[0] == 1 && users <= max.max(1) && max <= 100_000 && bw < 1 << 27;
    ok.then_some((v, users, max))
}

impl Protocol for Mumble {
    fn name(&self) -> &'static str {
        "Mumble"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[64738]
    }
    // Mumble "UDP Ping": the request starts with "4 bytes of zeroes", the
    // response with the server version, whose first byte is 0 (0, major,
    // minor, patch).
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x00])
    }
    fn probe(&self, input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        // O(1) gate: only 12- and 24-byte datagrams starting with a zero.
        if !(d.len() == 12 || d.len() == 24) || u8_at(d, 0) != Some(0) {
            return Probe::NoMatch;
        }
        match input.dir {
            Direction::ToServer => {
                if !is_request(d) {
                    return Probe::NoMatch;
                }
                // Word 0 counts requests seen (one-direction captures).
                scratch.0[0] += 1;
                if scratch.0[0] >= 2 {
                    return Probe::Match(Match::new(
                        "Mumble UDP ping requests (12 bytes, zero type)",
                    ));
                }
                Probe::NeedMore
            }
            Direction::ToClient => {
                let Some((v, users, max)) = response(d) else {
                    return Probe::NoMatch;
                };
                let e = || {
                    format!(
                        "Mumble UDP ping response, server {}.{}.{}, {users}/{max} users",
                        v[0], v[1], v[2]
                    )
                };
                let p = input.peer;
                if !p.is_empty() {
                    // The identifier is echoed at bytes 4..12.
                    return if is_request(p) && p.get(4..12) == d.get(4..12) {
                        Probe::Match(Match::new(e()))
                    } else {
                        Probe::NoMatch
                    };
                }
                // Server side only: two responses of the same server.
                let key = u64::from_be_bytes([0, 0, 1, v[0], v[1], v[2], 0, 0]) | u64::from(max);
                if scratch.0[1] == key {
                    return Probe::Match(Match::new(e()));
                }
                scratch.0[1] = key;
                Probe::NeedMore
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, feed, feed_evidence, probe1, C, S,
    };

    const UDP: Transport = Transport::Udp;
    // Sources: testdata/README.md.
    const REQ: &[u8] = include_bytes!("testdata/ping_request.bin");
    const RESP: &[u8] = include_bytes!("testdata/ping_response.bin");

    #[test]
    fn ping_exchange() {
        assert_eq!(
            feed_evidence(&Mumble, UDP, 64738, &[(C, REQ), (S, RESP)]),
            "Mumble UDP ping response, server 1.3.4, 0/100 users"
        );
        assert_eq!(probe1(&Mumble, UDP, C, REQ), Probe::NeedMore);
    }

    #[test]
    fn one_direction() {
        let mut r2 = REQ.to_vec();
        r2[11] ^= 1;
        assert_eq!(
            feed_evidence(&Mumble, UDP, 64738, &[(C, REQ), (C, &r2)]),
            "Mumble UDP ping requests (12 bytes, zero type)"
        );
        assert!(matches!(
            feed(&Mumble, UDP, 64738, &[(S, RESP), (S, RESP)]),
            Probe::Match(_)
        ));
    }

    #[test]
    fn near_misses() {
        // A response that does not echo the request's identifier.
        let mut r = RESP.to_vec();
        r[6] ^= 0xff;
        assert_eq!(
            feed(&Mumble, UDP, 64738, &[(C, REQ), (S, &r)]),
            Probe::NoMatch
        );
        let mut q = REQ.to_vec();
        q[2] = 1;
        assert_eq!(probe1(&Mumble, UDP, C, &q), Probe::NoMatch);
    }

    #[test]
    fn first_bytes_declared() {
        use crate::testkit::input;
        crate::testkit::first_bytes_hold(&Mumble, &input(UDP, C, REQ, b"", 0));
        crate::testkit::first_bytes_hold(&Mumble, &input(UDP, S, RESP, b"", 0));
        crate::testkit::first_bytes_hold(&Mumble, &input(UDP, S, RESP, REQ, 0));
    }

    #[test]
    fn foreign_and_random() {
        assert_foreign_rejected(&Mumble, "none");
        assert_random_flows_rejected(&Mumble, UDP, 64738);
    }
}
