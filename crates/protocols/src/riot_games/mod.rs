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
            // Not yet decidable. On a direction's first datagram say
            // NeedMore, so the engine keeps it as the other direction's
            // peer; later datagrams say NoMatch (not final for UDP), so a
            // one-way flow is not kept under probing for this.
            if input.index == 0 && array::<4>(input.data, 4).is_some_and(|t| t != [0; 4]) {
                return Probe::NeedMore;
            }
            return Probe::NoMatch;
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
        // One direction alone is not enough; the server's reply after six
        // client retransmissions still matches.
        assert_eq!(
            probe1(&RiotGames, Transport::Udp, C, C7194),
            Probe::NeedMore
        );
        assert_eq!(
            probe_at(&RiotGames, Transport::Udp, C, C7194, &[], 1),
            Probe::NoMatch
        );
        let mut flow = vec![(C, C7194); 6];
        flow.push((S, S7194));
        assert!(is_match(&feed(&RiotGames, Transport::Udp, 7194, &flow)));
        check_prefixes(&RiotGames, Transport::Udp, S, S7194, C7194);
    }

    /// Hex of a datagram.
    fn h(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Corpus flows that nDPI names but whose bytes show no stable
    /// structure of the named game, left unnamed on purpose (first bytes of
    /// each quoted; no probe of the games group may claim them):
    /// * `i3d.pcap` (nDPI "i3D", 4 flows): Discord voice IP discovery
    ///   (type 1, length 70, SSRC) then RTP to a server hosted at i3D.net;
    ///   the name comes from the address, the bytes are Discord's.
    /// * `codm.pcap` UDP (nDPI "CoD_Mobile", 2 flows), looked at again
    ///   for a CoD_Mobile probe and left alone: the flow to port 7500 is
    ///   one 12-byte datagram (8 opaque bytes + "ping") that the server
    ///   echoes byte for byte, a generic latency echo that nDPI ties to
    ///   the game only through port 7500 (a port cannot make a match
    ///   here). The flow to port 7948 is one 182-byte client datagram and
    ///   three server datagrams; the server's two large ones carry runs of
    ///   sub-messages `ce a1 c2|82|02 xx xx NN 00 01` with NN counting 0-9
    ///   across them, and the sub-message sizes come out near (byte 3
    ///   times 4, plus 8) but off by 1-5 bytes for half of them, so no length rule
    ///   could be derived from one flow, and the client's datagram shows
    ///   none of it. nDPI keys that flow on the game string
    ///   `LOC_PREFAB_LOADOUTNAME_1` inside the fourth datagram, which only
    ///   a loadout exchange carries.
    /// * `netease_games.pcapng` UDP (nDPI "NetEaseGames", 3 flows) and
    ///   `tencent_games.pcap` (nDPI "TencentGames", 4 TCP flows): named
    ///   since by their own probes (`netease_games`, `tencent_games`) from
    ///   structure found later (repeated session values and connection
    ///   ids; chained lengths, command headers, zlib JSON); the games
    ///   group's probes must still leave them alone.
    /// * `ossfuzz_seed_fake_traces_3.pcapng` (nDPI "MapleStory"): an HTTP
    ///   GET of `/maplestory/` to example.com, a fuzzing seed; HTTP is right.
    #[test]
    fn flows_named_only_by_address_are_left_alone() {
        let flows: [(&str, u16, Vec<u8>, Vec<u8>); 5] = [
            (
                "i3D",
                50004,
                h("000100460003cfa800000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"),
                h("000200460003cfa839302e3138362e3133322e3133330000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"),
            ),
            ("CoD_Mobile", 7500, h("bbb653ea96fdbb0370696e67"), h("bbb653ea96fdbb0370696e67")),
            ("NetEaseGames", 4513, h("01b5d001112a3d0300010101"), h("0114d301112a3d0348411701")),
            ("NetEaseGames", 4170, h("b3af8de8ff007257355c5c6e6663716a492f545a6763747455537a69422b"), h("b3af8de8ff000328c2069a1fe90cf50601008c3c14ec43f579faae16f601")),
            ("TencentGames", 8085, h("4366aa00000094150000001710e686012000300140812050"), h("aa0000005d150000001b10e686012000300140822050c7dd")),
        ];
        let group = [
            "RakNet",
            "TocaBoca",
            "RiotGames",
            "CryNetwork",
            "GenshinImpact",
            "Steam",
            "SteamDatagramRelay",
            "HalfLife2",
            "Source_Engine",
            "Yojimbo",
            "AmongUs",
            "Starcraft",
            "TES_Online",
            "WorldOfWarcraft",
            "Nintendo",
            "KCP",
            "Heroes_of_the_Storm",
            "GaijinEntertainment",
            "PathofExile",
        ];
        for (what, port, c, s) in &flows {
            for name in group {
                let p = crate::by_name(name).unwrap();
                let pkts = [(C, &c[..]), (S, &s[..]), (C, &c[..]), (S, &s[..])];
                for t in p.transports() {
                    assert!(
                        !is_match(&feed(p, *t, *port, &pkts)),
                        "{name} claimed the {what} sample"
                    );
                }
            }
        }
    }

    #[test]
    fn random_and_foreign_rejected() {
        assert_random_flows_rejected(&RiotGames, Transport::Udp, 7194);
        assert_foreign_rejected(&RiotGames, "riot");
        foreign_never_match(&RiotGames, Transport::Udp);
    }
}
