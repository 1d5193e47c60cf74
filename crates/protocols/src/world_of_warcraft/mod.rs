//! WorldOfWarcraft (Blizzard) over TCP: the authentication ("realm list")
//! protocol on port 3724 and the world server connection (8085). No
//! official specification; the layouts are those documented by the
//! emulator community (wowdev.wiki "Login Packet" and "SMSG_AUTH_CHALLENGE",
//! the MaNGOS/TrinityCore `AuthCodes`/`WorldSocket` sources).
//!
//! * `CMD_AUTH_LOGON_CHALLENGE` (0x00) / `CMD_AUTH_RECONNECT_CHALLENGE`
//!   (0x02), the client's first message: command, protocol version (u8),
//!   size of the rest (u16 LE), game name `"WoW\0"`, version (3 x u8),
//!   build (u16 LE), platform (`"68x\0"` = x86 reversed), OS, locale,
//!   timezone, IP, and the account name (length u8 + name).
//! * Since Cataclysm the world connection opens with a text greeting in
//!   both directions: `"WORLD OF WARCRAFT CONNECTION - SERVER TO CLIENT"`
//!   and `"... - CLIENT TO SERVER"`, after a 2-byte length.
//! * Before that (1.x-3.x) the world server speaks first with
//!   `SMSG_AUTH_CHALLENGE`: size (u16 BE, the rest of the packet), opcode
//!   0x01ec (u16 LE), then the seed(s).

use netsift_proto::bytes::{be16, le16, u8_at};
use netsift_proto::{printable, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// WorldOfWarcraft.
pub struct WorldOfWarcraft;

const GREETING: &[u8] = b"WORLD OF WARCRAFT CONNECTION";
const SMSG_AUTH_CHALLENGE: u16 = 0x01ec;

/// The greeting at offset 0 or after a 2-byte length: Some(true) when
/// present, Some(false) when a prefix still could be, None when not.
fn greeting(d: &[u8]) -> Option<bool> {
    let mut possible = false;
    for off in [0usize, 2] {
        let Some(rest) = d.get(off..) else {
            possible = true;
            continue;
        };
        let n = rest.len().min(GREETING.len());
        if rest.get(..n) == GREETING.get(..n) {
            if n == GREETING.len() {
                return Some(true);
            }
            possible = true;
        }
    }
    possible.then_some(false)
}

fn logon_challenge(d: &[u8]) -> Probe {
    // Fixed bytes as they arrive: "WoW\0" at 4..8.
    for (i, &v) in b"WoW\0".iter().enumerate() {
        match d.get(4 + i) {
            Some(&b) if b != v => return Probe::NoMatch,
            None => return Probe::NeedMore,
            _ => {}
        }
    }
    let Some(size) = le16(d, 2) else {
        return Probe::NeedMore;
    };
    // 30 fixed bytes after the size field, then the name (1..=16 bytes).
    if !(31..=64).contains(&size) {
        return Probe::NoMatch;
    }
    let (Some(v1), Some(v2), Some(v3), Some(build)) =
        (u8_at(d, 8), u8_at(d, 9), u8_at(d, 10), le16(d, 11))
    else {
        return Probe::NeedMore;
    };
    let name_len = u8_at(d, 33);
    let name = name_len.and_then(|n| d.get(34..34 + usize::from(n)));
    let what = if d.first() == Some(&0) {
        "logon"
    } else {
        "reconnect"
    };
    let account = name.map(|n| format!(", account '{}'", printable(n, 16)));
    Probe::Match(Match::new(format!(
        "WoW auth {what} challenge, client {v1}.{v2}.{v3} build {build}{}",
        account.unwrap_or_default()
    )))
}

impl Protocol for WorldOfWarcraft {
    fn name(&self) -> &'static str {
        "WorldOfWarcraft"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[3724, 8085]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let Some(&first) = d.first() else {
            return Probe::NeedMore;
        };
        match greeting(d) {
            Some(true) => {
                let dir = if d.windows(6).take(80).any(|w| w == b"SERVER") {
                    "server to client"
                } else {
                    "client to server"
                };
                return Probe::Match(Match::new(format!("WoW world connection greeting ({dir})")));
            }
            Some(false) => return Probe::NeedMore,
            None => {}
        }
        if matches!(first, 0x00 | 0x02) && u8_at(d, 1).is_none_or(|v| v <= 16) {
            let p = logon_challenge(d);
            if p != Probe::NoMatch {
                return p;
            }
        }
        // SMSG_AUTH_CHALLENGE: size (BE) covers the opcode and the seeds.
        if first == 0x00 {
            let (Some(size), Some(op)) = (be16(d, 0), le16(d, 2)) else {
                return Probe::NeedMore;
            };
            if op == SMSG_AUTH_CHALLENGE && (6..=64).contains(&size) {
                let total = usize::from(size) + 2;
                if d.len() < total {
                    return Probe::NeedMore;
                }
                if d.len() == total {
                    return Probe::Match(Match::new(format!(
                        "WoW world SMSG_AUTH_CHALLENGE ({size}-byte body)"
                    )));
                }
            }
        }
        Probe::NoMatch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    /// CMD_AUTH_LOGON_CHALLENGE of a 3.3.5a client (build 12340), account
    /// "TEST", built from the wowdev.wiki layout.
    fn logon() -> Vec<u8> {
        let mut m = vec![0x00, 0x08, 0, 0]; // cmd, protocol version, size
        m.extend_from_slice(b"WoW\0"); // game name
        m.extend_from_slice(&[3, 3, 5]); // version
        m.extend_from_slice(&12340u16.to_le_bytes()); // build
        m.extend_from_slice(b"68x\0"); // platform
        m.extend_from_slice(b"niW\0"); // OS
        m.extend_from_slice(b"SUne"); // locale
        m.extend_from_slice(&60u32.to_le_bytes()); // timezone bias
        m.extend_from_slice(&[127, 0, 0, 1]); // client IP
        m.push(4);
        m.extend_from_slice(b"TEST");
        let size = (m.len() - 4) as u16;
        m[2..4].copy_from_slice(&size.to_le_bytes());
        m
    }

    #[test]
    fn logon_challenge_matches() {
        let m = logon();
        let e = evidence(probe1(&WorldOfWarcraft, Transport::Tcp, C, &m));
        assert_eq!(
            e,
            "WoW auth logon challenge, client 3.3.5 build 12340, account 'TEST'"
        );
        check_prefixes(&WorldOfWarcraft, Transport::Tcp, C, &m, &[]);
    }

    #[test]
    fn world_greetings_and_auth_challenge() {
        let mut g = vec![0x30, 0x00];
        g.extend_from_slice(b"WORLD OF WARCRAFT CONNECTION - SERVER TO CLIENT\0");
        let e = evidence(probe1(&WorldOfWarcraft, Transport::Tcp, S, &g));
        assert_eq!(e, "WoW world connection greeting (server to client)");
        check_prefixes(&WorldOfWarcraft, Transport::Tcp, S, &g, &[]);
        // 1.12: size 6, opcode 0x01ec, 4-byte seed.
        let a = [0x00, 0x06, 0xec, 0x01, 0xde, 0xad, 0xbe, 0xef];
        let e = evidence(probe1(&WorldOfWarcraft, Transport::Tcp, S, &a));
        assert_eq!(e, "WoW world SMSG_AUTH_CHALLENGE (6-byte body)");
        check_prefixes(&WorldOfWarcraft, Transport::Tcp, S, &a, &[]);
    }

    #[test]
    fn random_and_foreign_rejected() {
        assert_random_flows_rejected(&WorldOfWarcraft, Transport::Tcp, 3724);
        assert_foreign_rejected(&WorldOfWarcraft, "wow");
        foreign_never_match(&WorldOfWarcraft, Transport::Tcp);
    }
}
