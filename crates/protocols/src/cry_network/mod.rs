//! CryNetwork: the UDP transport of CryEngine games (Crytek), named as nDPI
//! names it. Observed protocol (no public specification), from nDPI's
//! `crynet.pcap` (seven connections to seven servers, two client builds).
//!
//! The client opens with a connect request: byte 0x3c, a u32 BE build
//! number, eleven zero bytes, then u32 LE 1 and u32 LE 7 and a byte 3,
//! followed by counters and a 32-byte key. The server answers 0x87 and the
//! client continues with 0xb7, both followed by 31 zero bytes and a
//! version byte 2 (server) before the key material. The fixed fields
//! identify one datagram; everything after the handshake is encrypted.

use netsift_proto::bytes::{be32, le32, u8_at};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// CryNetwork.
pub struct CryNetwork;

fn zeros(d: &[u8], from: usize, to: usize) -> bool {
    d.get(from..to).is_some_and(|s| s.iter().all(|&b| b == 0))
}

impl Protocol for CryNetwork {
    fn name(&self) -> &'static str {
        "CryNetwork"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[64087, 64090]
    }
    // Observed protocol (module doc): "The client opens with a connect
    // request: byte 0x3c ... The server answers 0x87"; only those two are
    // matched.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x3c, 0x87])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        match u8_at(d, 0) {
            Some(0x3c)
                if d.len() >= 38
                    && zeros(d, 5, 16)
                    && le32(d, 16) == Some(1)
                    && le32(d, 20) == Some(7)
                    && u8_at(d, 24) == Some(3) =>
            {
                let build = be32(d, 1).unwrap_or(0);
                Probe::Match(Match::new(format!(
                    "CryNetwork connect request (0x3c), build {build}"
                )))
            }
            Some(0x87) if d.len() >= 66 && zeros(d, 1, 32) && u8_at(d, 32) == Some(2) => {
                Probe::Match(Match::new(
                    "CryNetwork connect reply (0x87, 31 zero bytes, version 2)",
                ))
            }
            _ => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const REQ: &[u8] = include_bytes!("testdata/connect_request.bin");
    const REPLY: &[u8] = include_bytes!("testdata/connect_reply.bin");

    #[test]
    fn handshake_matches() {
        let e = evidence(probe1(&CryNetwork, Transport::Udp, C, REQ));
        assert_eq!(e, "CryNetwork connect request (0x3c), build 2285");
        let e = evidence(probe1(&CryNetwork, Transport::Udp, S, REPLY));
        assert!(e.contains("connect reply"), "{e}");
        check_prefixes(&CryNetwork, Transport::Udp, C, REQ, &[]);
        check_prefixes(&CryNetwork, Transport::Udp, S, REPLY, &[]);
    }

    #[test]
    fn first_bytes_declared() {
        let u = Transport::Udp;
        crate::testkit::first_bytes_hold(&CryNetwork, &input(u, C, REQ, &[], 0));
        crate::testkit::first_bytes_hold(&CryNetwork, &input(u, S, REPLY, &[], 0));
    }

    #[test]
    fn random_and_foreign_rejected() {
        assert_random_flows_rejected(&CryNetwork, Transport::Udp, 64087);
        assert_foreign_rejected(&CryNetwork, "crynet");
        foreign_never_match(&CryNetwork, Transport::Udp);
    }
}
