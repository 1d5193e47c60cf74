//! Java RMI transport protocol, JRMP (Java RMI specification, chapter 10
//! "RMI Wire Protocol", 10.2 "RMI Transport Protocol").
//!
//! The client opens with the header `0x4a 0x52 0x4d 0x49` ("JRMI"), a
//! 16-bit version (1 or 2 in deployed JDKs) and the protocol byte:
//! StreamProtocol 0x4b, SingleOpProtocol 0x4c, MultiplexProtocol 0x4d. The
//! server answers ProtocolAck 0x4e (then the client's host name as a UTF
//! string and its port) or ProtocolNotSupported 0x4f.
//!
//! Messages then carry Java serialization streams (magic 0xaced, version
//! 5): Call 0x50 and ReturnData 0x51 are followed directly by
//! `ac ed 00 05`, which also recognises a capture that starts
//! mid-session.

use netsift_proto::bytes::be16;
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// JRMI.
pub struct Jrmi;

const MAGIC: &[u8] = b"JRMI";
/// Java serialization STREAM_MAGIC and STREAM_VERSION.
const SER: &[u8] = &[0xac, 0xed, 0x00, 0x05];

impl Protocol for Jrmi {
    fn name(&self) -> &'static str {
        "JRMI"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[1099]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        match d.first() {
            None => Probe::NeedMore,
            Some(b'J') => {
                let n = d.len().min(4);
                if d.get(..n) != MAGIC.get(..n) {
                    return Probe::NoMatch;
                }
                let (Some(ver), Some(&proto)) = (be16(d, 4), d.get(6)) else {
                    return Probe::NeedMore;
                };
                let pname = match proto {
                    0x4b => "StreamProtocol",
                    0x4c => "SingleOpProtocol",
                    0x4d => "MultiplexProtocol",
                    _ => return Probe::NoMatch,
                };
                if !(1..=2).contains(&ver) {
                    return Probe::NoMatch;
                }
                Probe::Match(Match::new(format!(
                    "Java RMI header, version {ver}, {pname}"
                )))
            }
            Some(&m @ (0x50 | 0x51)) => {
                let rest = d.get(1..).unwrap_or(&[]);
                let n = rest.len().min(SER.len());
                if rest.get(..n) != SER.get(..n) {
                    return Probe::NoMatch;
                }
                if n < SER.len() {
                    return Probe::NeedMore;
                }
                Probe::Match(Match::new(if m == 0x50 {
                    "Java RMI Call with a serialized object stream"
                } else {
                    "Java RMI ReturnData with a serialized object stream"
                }))
            }
            Some(_) => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_random_flows_rejected, check_prefixes, evidence, foreign_never_match, probe1, C, S,
    };

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const HEADER: &[u8] = include_bytes!("testdata/header.bin");
    const ACK: &[u8] = include_bytes!("testdata/ack.bin");
    const CALL: &[u8] = include_bytes!("testdata/call.bin");

    #[test]
    fn real_messages() {
        assert_eq!(
            evidence(probe1(&Jrmi, TCP, C, HEADER)),
            "Java RMI header, version 2, StreamProtocol"
        );
        // Mid-session: a Call on a connection whose header was not seen.
        assert_eq!(
            evidence(probe1(&Jrmi, TCP, C, CALL)),
            "Java RMI Call with a serialized object stream"
        );
        // The ProtocolAck alone is too weak; the client's header names it.
        assert_eq!(probe1(&Jrmi, TCP, S, ACK), Probe::NoMatch);
        check_prefixes(&Jrmi, TCP, C, HEADER, b"");
        check_prefixes(&Jrmi, TCP, C, CALL, b"");
        let mut b = HEADER.to_vec();
        b[6] = 0x4e;
        assert_eq!(probe1(&Jrmi, TCP, C, &b), Probe::NoMatch);
    }

    #[test]
    fn random_foreign() {
        assert_random_flows_rejected(&Jrmi, TCP, 1099);
        foreign_never_match(&Jrmi, TCP);
    }
}
