//! RiotGames: the UDP game traffic of Riot Games titles (League of Legends,
//! VALORANT), named as nDPI names it. Observed protocol: Riot's transport
//! is a modified ENet whose layout is not published; this probe relies on
//! what nDPI's `riotgames.pcap` shows over seven connections to three
//! server ports (7194, 8181, 7998).
//!
//! Each client datagram starts with a 4-byte value and then the 4-byte
//! connection token the server handed out; every server datagram starts
//! with that token. So the server's first four bytes equal bytes 4..8 of
//! the client's datagrams. A 32-bit echo across the two directions is the
//! check (the token must not be zero); it needs both directions.

use netsift_proto::bytes::array;
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// RiotGames.
pub struct RiotGames;

impl Protocol for RiotGames {
    fn name(&self) -> &'static str {
        "RiotGames"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[7194, 8181, 7998]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let (server, client) = input.server_client();
        if input.data.len() < 8 {
            return Probe::NoMatch;
        }
        if server.is_empty() || client.is_empty() {
            // The other direction may still answer.
            return Probe::NeedMore;
        }
        let (Some(tok_s), Some(tok_c), Some(first_c)) = (
            array::<4>(server, 0),
            array::<4>(client, 4),
            array::<4>(client, 0),
        ) else {
            return Probe::NoMatch;
        };
        // The token is not zero and differs from the client's own first
        // word (a datagram echoed back whole is not this).
        if tok_s != tok_c || tok_s == [0; 4] || first_c == tok_c || server.len() < 8 {
            return Probe::NoMatch;
        }
        if server.get(..8) == client.get(..8) {
            return Probe::NoMatch;
        }
        Probe::Match(Match::new(format!(
            "Riot UDP: server datagrams start with the client's connection token {:02x}{:02x}{:02x}{:02x}",
            tok_s[0], tok_s[1], tok_s[2], tok_s[3]
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const C7194: &[u8] = include_bytes!("testdata/c_7194.bin");
    const S7194: &[u8] = include_bytes!("testdata/s_7194.bin");
    const C8181: &[u8] = include_bytes!("testdata/c_8181.bin");
    const S8181: &[u8] = include_bytes!("testdata/s_8181.bin");

    #[test]
    fn token_echo_matches() {
        let e = feed_evidence(&RiotGames, Transport::Udp, 7194, &[(C, C7194), (S, S7194)]);
        assert_eq!(
            e,
            "Riot UDP: server datagrams start with the client's connection token fc32f903"
        );
        let e = feed_evidence(&RiotGames, Transport::Udp, 8181, &[(C, C8181), (S, S8181)]);
        assert!(e.contains("72324204"), "{e}");
        // One direction alone is not enough.
        assert_eq!(
            probe1(&RiotGames, Transport::Udp, C, C7194),
            Probe::NeedMore
        );
        check_prefixes(&RiotGames, Transport::Udp, S, S7194, C7194);
    }

    #[test]
    fn random_and_foreign_rejected() {
        assert_random_flows_rejected(&RiotGames, Transport::Udp, 7194);
        assert_foreign_rejected(&RiotGames, "riot");
        foreign_never_match(&RiotGames, Transport::Udp);
    }
}
