//! Yojimbo (Glenn Fiedler's game network library) and its transport
//! netcode.io (spec: "netcode 1.02 standard", github.com/networkprotocol/
//! netcode/STANDARD.md), over UDP on any port.
//!
//! Every netcode packet but one is encrypted behind a prefix byte. The one
//! in the clear is the **connection request** the client sends first:
//! prefix byte 0x00, the 13-byte version info `"NETCODE 1.02"` + NUL,
//! protocol id (u64), connect token expire timestamp (u64), connect token
//! nonce (24 bytes) and the encrypted private connect token (1024 bytes):
//! 1078 bytes in all. The version string identifies it.

use netsift_proto::bytes::le64;
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Yojimbo (netcode.io).
pub struct Yojimbo;

const REQUEST_LEN: usize = 1 + 13 + 8 + 8 + 24 + 1024;

impl Protocol for Yojimbo {
    fn name(&self) -> &'static str {
        "Yojimbo"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[40000]
    }
    // netcode 1.02: "connection request packet: 0 (uint8) // prefix byte of
    // zero".
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x00])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        // "connection request packet: 0 (uint8) // prefix byte of zero;
        // [version info] (13 bytes) // "NETCODE 1.02" ASCII with null terminator".
        if d.first() != Some(&0) || d.get(1..11) != Some(b"NETCODE 1.") {
            return Probe::NoMatch;
        }
        let (Some(&minor), Some(&nul)) = (d.get(12), d.get(13)) else {
            return Probe::NoMatch;
        };
        if !minor.is_ascii_digit() || nul != 0 || d.len() != REQUEST_LEN {
            return Probe::NoMatch;
        }
        let pid = le64(d, 14).unwrap_or(0);
        Probe::Match(Match::new(format!(
            "netcode.io connection request (NETCODE 1.0{}), protocol id 0x{pid:x}",
            minor as char
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const REQ: &[u8] = include_bytes!("testdata/connection_request.bin");

    #[test]
    fn connection_request() {
        let e = evidence(probe1(&Yojimbo, Transport::Udp, C, REQ));
        assert!(
            e.starts_with("netcode.io connection request (NETCODE 1.02)"),
            "{e}"
        );
        check_prefixes(&Yojimbo, Transport::Udp, C, REQ, &[]);
    }

    #[test]
    fn random_and_foreign_rejected() {
        assert_random_flows_rejected(&Yojimbo, Transport::Udp, 40000);
        assert_foreign_rejected(&Yojimbo, "yojimbo");
        foreign_never_match(&Yojimbo, Transport::Udp);
    }

    #[test]
    fn first_bytes_declared() {
        crate::testkit::first_bytes_hold(
            &Yojimbo,
            &crate::testkit::input(Transport::Udp, C, REQ, &[], 0),
        );
    }
}
