//! Nintendo online play over UDP (Wii U / 3DS / Switch). Nintendo
//! publishes nothing; the layouts are those documented by the community
//! (github.com/kinnay/NintendoClients wiki: "PRUDP Protocol", "PIA
//! Protocol").
//!
//! * **PRUDP v1** (NEX game servers): magic `EA D0`, version 1, options
//!   size (u8), payload size (u16 LE), source and destination ports (u8),
//!   type and flags (u16 LE, type in the low 4 bits: SYN 0, CONNECT 1,
//!   DATA 2, DISCONNECT 3, PING 4), session id, substream id (u8 each),
//!   sequence id (u16 LE): 14 bytes, then a 16-byte signature, the
//!   options and the payload. The sizes must add up to the datagram.
//! * **PIA** (peer-to-peer sessions between consoles): the 4-byte
//!   signature `32 AB 98 64`, then a version / encryption byte.
//!
//! Nintendo's web and account services (TLS) are named from their domains
//! by the services table.

use netsift_proto::bytes::{array, le16, u8_at};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Nintendo.
pub struct Nintendo;

const PIA_MAGIC: [u8; 4] = [0x32, 0xab, 0x98, 0x64];

fn prudp_v1(d: &[u8]) -> Option<&'static str> {
    if array::<3>(d, 0)? != [0xea, 0xd0, 0x01] {
        return None;
    }
    let opts = usize::from(u8_at(d, 3)?);
    let payload = usize::from(le16(d, 4)?);
    let ty = le16(d, 8)? & 0x0f;
    if 14 + 16 + opts + payload != d.len() {
        return None;
    }
    Some(match ty {
        0 => "SYN",
        1 => "CONNECT",
        2 => "DATA",
        3 => "DISCONNECT",
        4 => "PING",
        _ => return None,
    })
}

impl Protocol for Nintendo {
    fn name(&self) -> &'static str {
        "Nintendo"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[]
    }
    // kinnay/NintendoClients wiki: PRUDP v1 packets start with the magic
    // `EA D0`, PIA packets with the signature `32 AB 98 64`.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0xea, 0x32])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        match d.first() {
            Some(0xea) => match prudp_v1(d) {
                Some(ty) => Probe::Match(Match::new(format!("Nintendo PRUDP v1 {ty} packet"))),
                None => Probe::NoMatch,
            },
            Some(0x32) if array::<4>(d, 0) == Some(PIA_MAGIC) && d.len() >= 16 => {
                let v = u8_at(d, 4).unwrap_or(0);
                Probe::Match(Match::new(format!(
                    "Nintendo PIA packet (signature 32ab9864, version byte 0x{v:02x})"
                )))
            }
            _ => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    #[test]
    fn prudp_v1_syn_built_from_the_layout() {
        let mut p = vec![0xea, 0xd0, 0x01]; // magic, version 1
        p.push(4); // options size
        p.extend_from_slice(&0u16.to_le_bytes()); // payload size
        p.extend_from_slice(&[0x1f, 0xaf]); // source / destination port
        p.extend_from_slice(&0x0200u16.to_le_bytes()); // SYN, flag NEED_ACK
        p.extend_from_slice(&[0, 0]); // session, substream
        p.extend_from_slice(&0u16.to_le_bytes()); // sequence
        p.extend_from_slice(&[0x5a; 16]); // signature
        p.extend_from_slice(&[0, 1, 0, 0]); // options: supported functions
        let e = evidence(probe1(&Nintendo, Transport::Udp, C, &p));
        assert_eq!(e, "Nintendo PRUDP v1 SYN packet");
        check_prefixes(&Nintendo, Transport::Udp, C, &p, &[]);
        crate::testkit::first_bytes_hold(&Nintendo, &input(Transport::Udp, C, &p, b"", 0));
    }

    #[test]
    fn pia_signature() {
        let mut p = PIA_MAGIC.to_vec();
        p.push(0x84); // version 4, encrypted
        p.extend_from_slice(&[0x11; 27]);
        let e = evidence(probe1(&Nintendo, Transport::Udp, C, &p));
        assert!(e.contains("version byte 0x84"), "{e}");
        crate::testkit::first_bytes_hold(&Nintendo, &input(Transport::Udp, C, &p, b"", 0));
    }

    #[test]
    fn random_and_foreign_rejected() {
        assert_random_flows_rejected(&Nintendo, Transport::Udp, 40000);
        assert_foreign_rejected(&Nintendo, "nintendo");
        foreign_never_match(&Nintendo, Transport::Udp);
    }
}
