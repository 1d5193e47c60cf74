//! CORBA GIOP, the General Inter-ORB Protocol, and IIOP, its TCP mapping
//! (OMG "Common Object Request Broker Architecture (CORBA)", Part 2,
//! chapter "General Inter-ORB Protocol", GIOP 1.0 - 1.3).
//!
//! Every message starts with the 12-byte header `magic "GIOP" | version
//! major 1, minor 0..3 | flags (1.0: byte order boolean; 1.1+: bit 0 byte
//! order, bit 1 more fragments, other bits 0) | message type (0 Request,
//! 1 Reply, 2 CancelRequest, 3 LocateRequest, 4 LocateReply, 5
//! CloseConnection, 6 MessageError, 7 Fragment) | message size (u32 in the
//! flagged byte order)`. Both sides send such messages and every message
//! has the header, so any message boundary works. (Java RMI-IIOP uses the
//! same messages.)

use netsift_proto::bytes::{be32, le32, u8_at};
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// CORBA GIOP / IIOP.
pub struct Corba;

const TYPES: [&str; 8] = [
    "Request",
    "Reply",
    "CancelRequest",
    "LocateRequest",
    "LocateReply",
    "CloseConnection",
    "MessageError",
    "Fragment",
];

impl Protocol for Corba {
    fn name(&self) -> &'static str {
        "Corba"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[683, 2809]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let n = d.len().min(4);
        if d.get(..n) != b"GIOP".get(..n) {
            return Probe::NoMatch;
        }
        let (Some(major), Some(minor), Some(flags), Some(ty)) =
            (u8_at(d, 4), u8_at(d, 5), u8_at(d, 6), u8_at(d, 7))
        else {
            return Probe::NeedMore;
        };
        // Fragment exists from 1.1; flags other than byte order from 1.1.
        let flags_ok = if minor == 0 { flags <= 1 } else { flags <= 3 };
        let Some(name) = TYPES.get(usize::from(ty)) else {
            return Probe::NoMatch;
        };
        if major != 1 || minor > 3 || !flags_ok || (minor == 0 && ty == 7) {
            return Probe::NoMatch;
        }
        let size = if flags & 1 == 1 {
            le32(d, 8)
        } else {
            be32(d, 8)
        };
        let Some(size) = size else {
            return Probe::NeedMore;
        };
        // CloseConnection and MessageError have no body; others have one,
        // within a generous 64 MiB.
        let size_ok = match ty {
            5 | 6 => size == 0,
            _ => (1..=64 << 20).contains(&size),
        };
        if !size_ok {
            return Probe::NoMatch;
        }
        Probe::Match(Match::new(format!(
            "CORBA GIOP {major}.{minor} {name} ({size} bytes, {})",
            if flags & 1 == 1 {
                "little-endian"
            } else {
                "big-endian"
            }
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_random_flows_rejected, check_prefixes, evidence, foreign_never_match, probe1, C, S,
    };

    const TCP: Transport = Transport::Tcp;

    /// A GIOP 1.2 Request header (little-endian) with a body of `n` bytes:
    /// request id, response flags, reserved, target address (KeyAddr),
    /// operation "_is_a".
    fn request() -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&5u32.to_le_bytes()); // request_id
        body.push(3); // response_flags
        body.extend_from_slice(&[0, 0, 0]); // reserved
        body.extend_from_slice(&0u16.to_le_bytes()); // KeyAddr
        body.extend_from_slice(&[0, 0]); // align
        body.extend_from_slice(&4u32.to_le_bytes()); // object key length
        body.extend_from_slice(b"NSvc");
        body.extend_from_slice(&6u32.to_le_bytes()); // operation length
        body.extend_from_slice(b"_is_a\0");
        let mut m = b"GIOP\x01\x02\x01\x00".to_vec();
        m.extend_from_slice(&(body.len() as u32).to_le_bytes());
        m.extend(body);
        m
    }

    #[test]
    fn messages() {
        assert_eq!(
            evidence(probe1(&Corba, TCP, C, &request())),
            "CORBA GIOP 1.2 Request (30 bytes, little-endian)"
        );
        // GIOP 1.0 Reply, big-endian, 16-byte body.
        let mut r = b"GIOP\x01\x00\x00\x01".to_vec();
        r.extend_from_slice(&16u32.to_be_bytes());
        r.extend_from_slice(&[0; 16]);
        assert_eq!(
            evidence(probe1(&Corba, TCP, S, &r)),
            "CORBA GIOP 1.0 Reply (16 bytes, big-endian)"
        );
        // CloseConnection: no body.
        let cc = b"GIOP\x01\x01\x00\x05\x00\x00\x00\x00";
        assert!(evidence(probe1(&Corba, TCP, S, cc)).contains("CloseConnection"));
        for (d, dir) in [(request(), C), (r, S), (cc.to_vec(), S)] {
            check_prefixes(&Corba, TCP, dir, &d, b"");
        }
        assert_eq!(
            probe1(&Corba, TCP, C, b"GIOP\x02\x00\x00\x00\x00\x00\x00\x10"),
            Probe::NoMatch
        );
        assert_eq!(
            probe1(&Corba, TCP, C, b"GIOP\x01\x00\x00\x07\x00\x00\x00\x10"),
            Probe::NoMatch
        );
    }

    #[test]
    fn random_foreign() {
        assert_random_flows_rejected(&Corba, TCP, 2809);
        foreign_never_match(&Corba, TCP);
    }
}
