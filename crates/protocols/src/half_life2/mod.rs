//! HalfLife2: Valve's Source / GoldSrc **connectionless** packets, the
//! ones every Source game server answers on its game port (27015 by
//! default): the A2S server queries and the connect challenge. Spec:
//! Valve Developer Community, "Server queries" (A2S_INFO, A2S_PLAYER,
//! A2S_RULES, S2C_CHALLENGE) and "Source Multiplayer Networking".
//!
//! Split with `Source_Engine` (see that folder): nDPI's "HalfLife2"
//! dissector names these single-packet connectionless messages (header
//! `FF FF FF FF`), so this probe does too; Source engine traffic that is
//! not a connectionless message (split packets, header `FF FF FF FE`) is
//! `Source_Engine`.
//!
//! Each message is the 4-byte header and a type byte; every type has a
//! fixed length or a layout walked to the end:
//! * 'T' A2S_INFO: `"Source Engine Query\0"` (+ optional 4-byte challenge);
//! * 'U' A2S_PLAYER, 'V' A2S_RULES, 'W' GETCHALLENGE, 'A' S2C_CHALLENGE:
//!   a 4-byte challenge, 9 bytes in all ('W' may be 5);
//! * 'I' A2S_INFO reply: protocol byte, then name, map, folder, game
//!   (NUL-terminated), then the app id and counters;
//! * 'm' GoldSrc info reply: address, name, map, folder, game strings;
//! * 'D' A2S_PLAYER reply: count, then (index, name, score, duration);
//! * 'q' connect challenge request: `'q'`, a u32, `"0000000000\0"`: 20 bytes
//!   (nDPI's fuzzing seed carries a 20-byte variant ending `"000\0"`, which
//!   is matched on the same header, length and trailer).

use netsift_proto::bytes::{array, u8_at};
use netsift_proto::{
    printable, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// HalfLife2 (Source connectionless messages).
pub struct HalfLife2;

const QUERY: &[u8] = b"Source Engine Query\0";

/// Offset after `n` NUL-terminated strings from `off` (each at most 256
/// bytes, no control bytes), or None.
fn strings(d: &[u8], mut off: usize, n: usize) -> Option<usize> {
    for _ in 0..n {
        let rest = d.get(off..)?;
        let end = rest.iter().take(256).position(|&b| b == 0)?;
        if rest.get(..end)?.iter().any(|&b| b < 0x20 && b != b'\t') {
            return None;
        }
        off += end + 1;
    }
    Some(off)
}

fn players(d: &[u8]) -> Option<u8> {
    let count = u8_at(d, 5)?;
    let mut off = 6;
    for _ in 0..count {
        off = strings(d, off + 1, 1)? + 8;
    }
    (off == d.len()).then_some(count)
}

fn classify(d: &[u8]) -> Option<String> {
    if array::<4>(d, 0)? != [0xff; 4] {
        return None;
    }
    let t = u8_at(d, 4)?;
    let s = match (t, d.len()) {
        (b'T', 25 | 29) if d.get(5..25) == Some(QUERY) => "A2S_INFO request".to_string(),
        (b'U', 9) => "A2S_PLAYER request".to_string(),
        (b'V', 9) => "A2S_RULES request".to_string(),
        (b'W', 5 | 9) => "A2S_SERVERQUERY_GETCHALLENGE".to_string(),
        (b'A', 9) => "S2C_CHALLENGE".to_string(),
        (b'q', 20) if d.get(9..20) == Some(b"0000000000\0") => {
            "connect challenge request".to_string()
        }
        (_, 20) if d.get(16..20) == Some(b"000\0") => {
            "connect challenge request (20 bytes, '000' trailer)".to_string()
        }
        (b'I', _) => {
            let end = strings(d, 6, 4)?;
            // App id (u16) and the player/max/bot counters follow.
            if end + 5 > d.len() {
                return None;
            }
            let name = d.get(6..).and_then(|r| r.split(|&b| b == 0).next())?;
            format!("A2S_INFO reply, server '{}'", printable(name, 40))
        }
        (b'm', _) => {
            let end = strings(d, 5, 5)?;
            if end + 3 > d.len() {
                return None;
            }
            "GoldSrc A2S_INFO reply".to_string()
        }
        (b'D', _) => format!("A2S_PLAYER reply, {} player(s)", players(d)?),
        _ => return None,
    };
    Some(s)
}

impl Protocol for HalfLife2 {
    fn name(&self) -> &'static str {
        "HalfLife2"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[27015]
    }
    // Valve "Server queries", simple packet format: "Header: long, always
    // equal to -1 (0xFFFFFFFF). Means it isn't split." (split packets,
    // `FF FF FF FE`, are Source_Engine's.)
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0xff])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        if d.first() != Some(&0xff) {
            return Probe::NoMatch;
        }
        match classify(d) {
            Some(what) => Probe::Match(Match::new(format!("Source connectionless {what}"))),
            None => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const SEED: &[u8] = include_bytes!("testdata/fuzz_seed_connect.bin");

    #[test]
    fn a2s_info_request_and_reply_from_the_spec() {
        let mut q = vec![0xff; 4];
        q.push(b'T');
        q.extend_from_slice(QUERY);
        let e = evidence(probe1(&HalfLife2, Transport::Udp, C, &q));
        assert_eq!(e, "Source connectionless A2S_INFO request");
        // Reply: header, 'I', protocol 17, name, map, folder, game, app id
        // 240, players 3, max 16, bots 0, 'd', 'l', visibility, VAC.
        let mut r = vec![0xff, 0xff, 0xff, 0xff, b'I', 17];
        r.extend_from_slice(b"My Server\0de_dust2\0cstrike\0Counter-Strike\0");
        r.extend_from_slice(&[240, 0, 3, 16, 0, b'd', b'l', 0, 1]);
        let e = evidence(probe1(&HalfLife2, Transport::Udp, S, &r));
        assert_eq!(
            e,
            "Source connectionless A2S_INFO reply, server 'My Server'"
        );
        check_prefixes(&HalfLife2, Transport::Udp, C, &q, &[]);
        check_prefixes(&HalfLife2, Transport::Udp, S, &r, &[]);
    }

    #[test]
    fn challenge_and_players() {
        let c = [0xff, 0xff, 0xff, 0xff, b'A', 1, 2, 3, 4];
        assert!(evidence(probe1(&HalfLife2, Transport::Udp, S, &c)).contains("S2C_CHALLENGE"));
        // 'D', 1 player: index 0, "bob\0", score 5, duration 1.5 s.
        let mut p = vec![0xff, 0xff, 0xff, 0xff, b'D', 1, 0];
        p.extend_from_slice(b"bob\0");
        p.extend_from_slice(&5i32.to_le_bytes());
        p.extend_from_slice(&1.5f32.to_le_bytes());
        let e = evidence(probe1(&HalfLife2, Transport::Udp, S, &p));
        assert_eq!(e, "Source connectionless A2S_PLAYER reply, 1 player(s)");
    }

    #[test]
    fn fuzz_seed_connect() {
        let e = evidence(probe1(&HalfLife2, Transport::Udp, C, SEED));
        assert!(e.contains("connect challenge request"), "{e}");
    }

    #[test]
    fn first_bytes_declared() {
        use crate::testkit::first_bytes_hold;
        let mut q = vec![0xff; 4];
        q.push(b'T');
        q.extend_from_slice(QUERY);
        first_bytes_hold(&HalfLife2, &input(Transport::Udp, C, &q, &[], 0));
        let c = [0xff, 0xff, 0xff, 0xff, b'A', 1, 2, 3, 4];
        first_bytes_hold(&HalfLife2, &input(Transport::Udp, S, &c, &[], 0));
        first_bytes_hold(&HalfLife2, &input(Transport::Udp, C, SEED, &[], 0));
    }

    #[test]
    fn quake_style_text_is_not_source() {
        let g = b"\xff\xff\xff\xffgetstatus\n";
        assert_eq!(probe1(&HalfLife2, Transport::Udp, C, g), Probe::NoMatch);
    }

    #[test]
    fn random_and_foreign_rejected() {
        assert_random_flows_rejected(&HalfLife2, Transport::Udp, 27015);
        assert_foreign_rejected(&HalfLife2, "hl2");
        foreign_never_match(&HalfLife2, Transport::Udp);
    }
}
