//! XDMCP, the X Display Manager Control Protocol (X Consortium standard,
//! version 1.1), over UDP (177).
//!
//! §"Packet Format": every packet starts with `version (CARD16) = 1`,
//! `opcode (CARD16)` and `length (CARD16)`, "length: number of bytes in the
//! packet following the length field". Opcodes: 1 BroadcastQuery, 2 Query,
//! 3 IndirectQuery, 4 ForwardQuery, 5 Willing, 6 Unwilling, 7 Request,
//! 8 Accept, 9 Decline, 10 Manage, 11 Refuse, 12 Failed, 13 KeepAlive,
//! 14 Alive. Query bodies are an `ARRAYofARRAY8` of authentication names
//! (`CARD8 count`, then each `CARD16 length` and bytes).
//!
//! The header's three fixed or cross-checked fields (version 1, a known
//! opcode, a length equal to the rest of the datagram) and, for the
//! queries, the array structure, make one datagram enough.

use netsift_proto::bytes::{be16, u8_at};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// XDMCP.
pub struct Xdmcp;

fn opcode(o: u16) -> Option<&'static str> {
    Some(match o {
        1 => "BroadcastQuery",
        2 => "Query",
        3 => "IndirectQuery",
        4 => "ForwardQuery",
        5 => "Willing",
        6 => "Unwilling",
        7 => "Request",
        8 => "Accept",
        9 => "Decline",
        10 => "Manage",
        11 => "Refuse",
        12 => "Failed",
        13 => "KeepAlive",
        14 => "Alive",
        _ => return None,
    })
}

/// `ARRAYofARRAY8` filling `b` exactly.
fn array_of_array8(b: &[u8]) -> bool {
    let Some(n) = u8_at(b, 0) else {
        return false;
    };
    let mut p = 1;
    for _ in 0..n {
        let Some(l) = be16(b, p) else {
            return false;
        };
        p += 2 + usize::from(l);
    }
    p == b.len()
}

impl Protocol for Xdmcp {
    fn name(&self) -> &'static str {
        "XDMCP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[177]
    }
    // XDMCP 1.1 "Packet Format": "version (CARD16) = 1", big endian.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x00])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Udp {
            return Probe::NoMatch;
        }
        let d = input.data;
        let (Some(1), Some(op), Some(len)) = (be16(d, 0), be16(d, 2), be16(d, 4)) else {
            return Probe::NoMatch;
        };
        let Some(name) = opcode(op) else {
            return Probe::NoMatch;
        };
        if usize::from(len) + 6 != d.len() {
            return Probe::NoMatch;
        }
        let body = d.get(6..).unwrap_or(&[]);
        let ok = match op {
            // Query / BroadcastQuery / IndirectQuery: authentication names.
            1..=3 => array_of_array8(body),
            // KeepAlive: display number, session id.
            13 => body.len() == 6,
            // Alive: session running, session id.
            14 => body.len() == 5,
            // Others carry at least one ARRAY8 or CARD32.
            _ => body.len() >= 2,
        };
        if !ok {
            return Probe::NoMatch;
        }
        Probe::Match(Match::new(format!("XDMCP {name} ({len} octets)")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const UDP: Transport = Transport::Udp;

    #[test]
    fn xvfb_query() {
        // Sources: testdata/README.md.
        let q = include_bytes!("testdata/xvfb_query.bin");
        assert_eq!(
            evidence(probe1(&Xdmcp, UDP, C, q)),
            "XDMCP Query (1 octets)"
        );
    }

    #[test]
    fn packets() {
        // Query with no authentication names: version 1, opcode 2, length 1,
        // count 0 (what `X -query host` sends first).
        let q = [0, 1, 0, 2, 0, 1, 0];
        assert_eq!(
            evidence(probe1(&Xdmcp, UDP, C, &q)),
            "XDMCP Query (1 octets)"
        );
        // Willing: authentication name "", hostname "gdm", status "up".
        let w = [
            0, 1, 0, 5, 0, 11, 0, 0, 0, 3, b'g', b'd', b'm', 0, 2, b'u', b'p',
        ];
        assert_eq!(
            evidence(probe1(&Xdmcp, UDP, S, &w)),
            "XDMCP Willing (11 octets)"
        );
        // BroadcastQuery with one name "MIT-MAGIC-COOKIE-1".
        let mut b = vec![0, 1, 0, 1, 0, 21, 1, 0, 18];
        b.extend_from_slice(b"MIT-MAGIC-COOKIE-1");
        assert!(is_match(&probe1(&Xdmcp, UDP, C, &b)));
        check_prefixes(&Xdmcp, UDP, C, &b, b"");
    }

    #[test]
    fn malformed() {
        for d in [
            &[0u8, 2, 0, 2, 0, 1, 0][..],
            &[0, 1, 0, 15, 0, 1, 0],
            &[0, 1, 0, 2, 0, 2, 0],
            &[0, 1, 0, 2, 0, 3, 1, 0, 5],
        ] {
            assert_eq!(probe1(&Xdmcp, UDP, C, d), Probe::NoMatch, "{d:?}");
        }
    }

    #[test]
    fn random_foreign() {
        assert_random_flows_rejected(&Xdmcp, UDP, 177);
        assert_foreign_rejected(&Xdmcp, "xdmcp");
    }

    #[test]
    fn first_bytes_declared() {
        let q = include_bytes!("testdata/xvfb_query.bin");
        crate::testkit::first_bytes_hold(&Xdmcp, &crate::testkit::input(UDP, C, q, &[], 0));
        let w = [
            0, 1, 0, 5, 0, 11, 0, 0, 0, 3, b'g', b'd', b'm', 0, 2, b'u', b'p',
        ];
        crate::testkit::first_bytes_hold(&Xdmcp, &crate::testkit::input(UDP, S, &w, q, 0));
    }
}
