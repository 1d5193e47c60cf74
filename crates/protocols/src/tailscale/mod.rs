//! Tailscale "disco" messages over UDP (Tailscale's `disco` package
//! documentation, `disco.go`: "Magic is the 6 byte header of all discovery
//! messages", `"TS💬"` = `54 53 f0 9f 92 ac`, then the sender's 32-byte
//! disco public key, a 24-byte NaCl box nonce and the sealed box (Poly1305
//! tag 16 bytes + at least a one-byte message type and version).
//!
//! The 6-byte magic and the minimal length make one datagram enough. The
//! WireGuard packets that follow on the same flow are ordinary WireGuard;
//! the flow is named Tailscale when a disco message comes first.

use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Tailscale.
pub struct Tailscale;

const MAGIC: &[u8] = b"TS\xf0\x9f\x92\xac";
/// Magic 6 + key 32 + nonce 24 + box overhead 16 + type 1 + version 1.
const MIN_LEN: usize = 6 + 32 + 24 + 16 + 2;

impl Protocol for Tailscale {
    fn name(&self) -> &'static str {
        "Tailscale"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[41641]
    }
    // disco.go: "Magic is the 6 byte header of all discovery messages",
    // "TS💬".
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(b"T")
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        if input.transport != Transport::Udp || !d.starts_with(MAGIC) || d.len() < MIN_LEN {
            return Probe::NoMatch;
        }
        Probe::Match(Match::new(format!(
            "Tailscale disco message (magic TS\\xf0\\x9f\\x92\\xac), {} bytes",
            d.len()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const DISCO: &[u8] = include_bytes!("testdata/disco.bin");

    #[test]
    fn disco_ping() {
        assert_eq!(
            evidence(probe1(&Tailscale, Transport::Udp, C, DISCO)),
            "Tailscale disco message (magic TS\\xf0\\x9f\\x92\\xac), 92 bytes"
        );
        assert_eq!(
            probe1(&Tailscale, Transport::Udp, C, &DISCO[..40]),
            Probe::NoMatch
        );
    }

    #[test]
    fn prefixes_random_foreign() {
        check_prefixes(&Tailscale, Transport::Udp, C, DISCO, &[]);
        assert_random_flows_rejected(&Tailscale, Transport::Udp, 41641);
        foreign_never_match(&Tailscale, Transport::Udp);
    }

    #[test]
    fn first_bytes_declared() {
        crate::testkit::first_bytes_hold(
            &Tailscale,
            &crate::testkit::input(Transport::Udp, C, DISCO, &[], 0),
        );
    }
}
