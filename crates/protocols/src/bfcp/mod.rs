//! BFCP, the Binary Floor Control Protocol (RFC 8855, obsoleting RFC
//! 4582), over TCP or TLS (version 1) and UDP (version 2).
//!
//! RFC 8855 §5.1, COMMON-HEADER (12 octets): `Ver(3) R(1) F(1) Res(3) |
//! Primitive(8) | Payload Length(16) | Conference ID(32) | Transaction
//! ID(16) | User ID(16)`. "Ver: ... MUST be set to 1 when using BFCP over a
//! reliable transport ... MUST be set to 2 when using BFCP over an
//! unreliable transport"; "Res: ... MUST be set to zero"; "Payload Length:
//! ... the length of the message in 4-octet units, excluding the
//! COMMON-HEADER". Primitives 1..=17 (§5.1 Table 1: FloorRequest ...
//! GoodbyeAck). The F (fragmentation) bit is only for version 2.
//! Attributes (§5.2): `Type(7) M(1) | Length(8)`, "Length ... contains the
//! length of the attribute in octets, excluding any padding", padded to a
//! 4-octet boundary.
//!
//! A message matches when its payload is there and its attributes fill it
//! exactly; a header whose payload is missing (a truncated capture) or
//! empty matches when the other direction's first message is a BFCP
//! header with the same Conference ID, Transaction ID and User ID (a
//! request and its response).

use netsift_proto::bytes::{be16, be32, u8_at};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// BFCP.
pub struct Bfcp;

const HDR: usize = 12;

fn primitive(p: u8) -> Option<&'static str> {
    Some(match p {
        1 => "FloorRequest",
        2 => "FloorRelease",
        3 => "FloorRequestQuery",
        4 => "FloorRequestStatus",
        5 => "UserQuery",
        6 => "UserStatus",
        7 => "FloorQuery",
        8 => "FloorStatus",
        9 => "ChairAction",
        10 => "ChairActionAck",
        11 => "Hello",
        12 => "HelloAck",
        13 => "Error",
        14 => "FloorRequestStatusAck",
        15 => "FloorStatusAck",
        16 => "Goodbye",
        17 => "GoodbyeAck",
        _ => return None,
    })
}

struct Header {
    prim: &'static str,
    payload: usize,
    conf: u32,
    tid: u16,
    user: u16,
}

/// The common header, if valid.
fn header(d: &[u8]) -> Option<Header> {
    let b0 = u8_at(d, 0)?;
    let ver = b0 >> 5;
    if !(ver == 1 || ver == 2) || b0 & 0x07 != 0 || (ver == 1 && b0 & 0x08 != 0) {
        return None;
    }
    Some(Header {
        prim: primitive(u8_at(d, 1)?)?,
        payload: usize::from(be16(d, 2)?) * 4,
        conf: be32(d, 4)?,
        tid: be16(d, 8)?,
        user: be16(d, 10)?,
    })
}

/// §5.2 attributes, padded to 4 octets, fill `p` exactly.
fn attributes(mut p: &[u8]) -> bool {
    let mut n = 0;
    while !p.is_empty() {
        let (Some(t), Some(l)) = (p.first(), p.get(1)) else {
            return false;
        };
        let l = usize::from(*l);
        // §5.2.1-§5.2.18: types 1..=18 are defined; length covers the 2-octet
        // attribute header.
        if !(1..=18).contains(&(t >> 1)) || l < 2 {
            return false;
        }
        let padded = l.div_ceil(4) * 4;
        let Some(rest) = p.get(padded..) else {
            return false;
        };
        p = rest;
        n += 1;
        if n > 64 {
            return false;
        }
    }
    true
}

impl Protocol for Bfcp {
    fn name(&self) -> &'static str {
        "BFCP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp, Transport::Udp]
    }
    // RFC 8855 §5.1, first octet `Ver(3) R(1) F(1) Res(3)`: "Ver: ... MUST
    // be set to 1 ... [or] 2", "Res: ... MUST be set to zero", F only for
    // version 2 (as `header` checks, on either transport).
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x20, 0x30, 0x40, 0x48, 0x50, 0x58])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let tcp = input.transport == Transport::Tcp;
        if d.len() < HDR {
            // Each octet checked as far as it goes.
            if !tcp || d.is_empty() {
                return if tcp { Probe::NeedMore } else { Probe::NoMatch };
            }
            let mut pad = [0u8; HDR];
            pad[1] = 1;
            for (i, b) in d.iter().enumerate() {
                if let Some(x) = pad.get_mut(i) {
                    *x = *b;
                }
            }
            return if header(&pad).is_some() {
                Probe::NeedMore
            } else {
                Probe::NoMatch
            };
        }
        let Some(h) = header(d) else {
            return Probe::NoMatch;
        };
        let end = HDR + h.payload;
        if h.payload > 0 {
            if let Some(p) = d.get(HDR..end) {
                // UDP: one message per datagram.
                if !tcp && d.len() != end {
                    return Probe::NoMatch;
                }
                if attributes(p) {
                    return Probe::Match(Match::new(format!(
                        "BFCP {} (conference {}, transaction {}, user {})",
                        h.prim, h.conf, h.tid, h.user
                    )));
                }
                return Probe::NoMatch;
            }
        }
        // Empty or missing payload: the peer's header must mirror it.
        match header(input.peer) {
            Some(p) if p.conf == h.conf && p.tid == h.tid && p.user == h.user => {
                let cut = if d.len() < end {
                    format!(", {} of {} octets captured", d.len(), end)
                } else {
                    String::new()
                };
                Probe::Match(Match::new(format!(
                    "BFCP {} answering {} (conference {}, transaction {}, user {}){cut}",
                    h.prim, p.prim, h.conf, h.tid, h.user
                )))
            }
            _ if tcp => Probe::NeedMore,
            Some(_) => Probe::NoMatch,
            // The answer may come later.
            None => Probe::NeedMore,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const TCP: Transport = Transport::Tcp;
    const UDP: Transport = Transport::Udp;
    // Sources: testdata/README.md. The corpus messages announce one word
    // of payload that the capture does not hold (12 of 16 octets).
    const TREQ: &[u8] = include_bytes!("testdata/tcp_req.bin");
    const TRESP: &[u8] = include_bytes!("testdata/tcp_resp.bin");
    const UREQ: &[u8] = include_bytes!("testdata/udp_req.bin");
    const URESP: &[u8] = include_bytes!("testdata/udp_resp.bin");

    #[test]
    fn request_and_response() {
        assert_eq!(probe1(&Bfcp, TCP, C, TREQ), Probe::NeedMore);
        assert_eq!(
            evidence(probe_at(&Bfcp, TCP, S, TRESP, TREQ, 0)),
            "BFCP FloorRequestStatus answering FloorRequestQuery (conference 1, transaction 2, user 1284), 12 of 16 octets captured"
        );
        assert!(is_match(&probe_at(&Bfcp, UDP, S, URESP, UREQ, 0)));
    }

    #[test]
    fn built_from_the_spec() {
        // Hello (11) over UDP (Ver 2), conference 7, transaction 1, user 2,
        // payload one word: SUPPORTED-PRIMITIVES (type 11, M=1 -> 0x17),
        // length 4, primitives 1 and 2.
        let hello = [0x40, 11, 0x00, 0x01, 0, 0, 0, 7, 0, 1, 0, 2, 0x17, 4, 1, 2];
        assert_eq!(
            evidence(probe1(&Bfcp, UDP, C, &hello)),
            "BFCP Hello (conference 7, transaction 1, user 2)"
        );
        // Reserved bits set, version 3, unknown primitive.
        for (i, v) in [(0, 0x41u8), (0, 0x60), (1, 40)] {
            let mut b = hello;
            b[i] = v;
            assert_eq!(probe1(&Bfcp, UDP, C, &b), Probe::NoMatch);
        }
        // Mismatched ids with the peer.
        let mut other = TREQ.to_vec();
        other[9] = 9;
        assert_eq!(probe_at(&Bfcp, UDP, S, URESP, &other, 0), Probe::NoMatch);
    }

    #[test]
    fn first_bytes_declared() {
        crate::testkit::first_bytes_hold(&Bfcp, &input(TCP, C, TREQ, &[], 0));
        crate::testkit::first_bytes_hold(&Bfcp, &input(TCP, S, TRESP, TREQ, 0));
        crate::testkit::first_bytes_hold(&Bfcp, &input(UDP, C, UREQ, &[], 0));
        crate::testkit::first_bytes_hold(&Bfcp, &input(UDP, S, URESP, UREQ, 0));
    }

    #[test]
    fn prefixes_random_foreign() {
        check_prefixes(&Bfcp, TCP, S, TRESP, TREQ);
        assert_random_flows_rejected(&Bfcp, UDP, 5070);
        assert_random_flows_rejected(&Bfcp, TCP, 5070);
        foreign_never_match(&Bfcp, TCP);
        assert_foreign_rejected(&Bfcp, "bfcp");
    }
}
