//! SteamDatagramRelay (Valve's relay network for game traffic, part of
//! GameNetworkingSockets): the client pings relays to pick a route. The
//! ping request seen in nDPI's `steam.pcapng` is a message type byte 0x01,
//! a flags byte, the ASCII tag `sdping`, then client data and zero padding
//! to 100 bytes (observed protocol; Valve's relay protocol itself is not
//! published). The 6-byte tag at a fixed offset identifies one datagram.

use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// SteamDatagramRelay.
pub struct SteamDatagramRelay;

impl Protocol for SteamDatagramRelay {
    fn name(&self) -> &'static str {
        "SteamDatagramRelay"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[27015]
    }
    // Observed ping request: "a message type byte 0x01, a flags byte, the
    // ASCII tag `sdping`".
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x01])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        if d.first() == Some(&0x01) && d.get(2..8) == Some(b"sdping") && d.len() >= 16 {
            return Probe::Match(Match::new("Steam Datagram Relay ping ('sdping')"));
        }
        Probe::NoMatch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const PING: &[u8] = include_bytes!("testdata/sdping.bin");

    #[test]
    fn relay_ping() {
        let e = evidence(probe1(&SteamDatagramRelay, Transport::Udp, C, PING));
        assert_eq!(e, "Steam Datagram Relay ping ('sdping')");
        check_prefixes(&SteamDatagramRelay, Transport::Udp, C, PING, &[]);
    }

    #[test]
    fn random_and_foreign_rejected() {
        assert_random_flows_rejected(&SteamDatagramRelay, Transport::Udp, 27015);
        assert_foreign_rejected(&SteamDatagramRelay, "sdr");
        foreign_never_match(&SteamDatagramRelay, Transport::Udp);
    }

    #[test]
    fn first_bytes_declared() {
        crate::testkit::first_bytes_hold(
            &SteamDatagramRelay,
            &crate::testkit::input(Transport::Udp, C, PING, &[], 0),
        );
    }
}
