//! Steam (Valve): the Steam client's own UDP protocols, over any port.
//!
//! * **In-Home Streaming / Remote Play discovery** (LAN broadcast, usually
//!   port 27036): the 8-byte signature `ff ff ff ff 21 4c 5f a0`, a u32 LE
//!   header length and a protobuf header (`CMsgRemoteClientBroadcastHeader`),
//!   then a u32 LE body length and the body (documented by the open
//!   reimplementations of Remote Play, e.g. `moonlight`'s notes and
//!   Wireshark's `steam_ihs_discovery` dissector).
//! * **UDP connection to a Steam CM server** ("VS01", SteamKit's
//!   `UdpHeader`): magic `VS01`, payload size u16 LE, packet type u8
//!   (1 challenge request .. 7 datagram), flags u8, source and destination
//!   connection ids, sequence, ack, packets in message, message start
//!   sequence and message size (u32 LE each): 36 bytes, then exactly
//!   `payload size` bytes.
//!
//! Steam's web services (TLS, HTTP) are named from their domains by the
//! services table; the A2S server queries are `HalfLife2`, relayed game
//! traffic `SteamDatagramRelay`.

use netsift_proto::bytes::{array, le16, le32, u8_at};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Steam.
pub struct Steam;

const IHS_SIGNATURE: [u8; 8] = [0xff, 0xff, 0xff, 0xff, 0x21, 0x4c, 0x5f, 0xa0];
const VS01_HEADER: usize = 36;

impl Protocol for Steam {
    fn name(&self) -> &'static str {
        "Steam"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[27036, 27017]
    }
    // Remote Play discovery: "the 8-byte signature `ff ff ff ff 21 4c 5f a0`";
    // SteamKit `UdpHeader`: "magic `VS01`".
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0xff, b'V'])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        if array::<8>(d, 0) == Some(IHS_SIGNATURE) {
            // Header length, then at least the body-length word.
            let fits = le32(d, 8).is_some_and(|h| (h as usize).saturating_add(16) <= d.len());
            if !fits {
                return Probe::NoMatch;
            }
            return Probe::Match(Match::new(
                "Steam Remote Play discovery (signature ffffffff214c5fa0)",
            ));
        }
        if d.get(..4) == Some(b"VS01") {
            let (Some(size), Some(ty)) = (le16(d, 4), u8_at(d, 6)) else {
                return Probe::NoMatch;
            };
            if !(1..=7).contains(&ty) || usize::from(size) + VS01_HEADER != d.len() {
                return Probe::NoMatch;
            }
            let name = match ty {
                1 => "challenge request",
                2 => "challenge",
                3 => "connect",
                4 => "accept",
                5 => "disconnect",
                6 => "data",
                _ => "datagram",
            };
            return Probe::Match(Match::new(format!("Steam UDP (VS01) {name}")));
        }
        Probe::NoMatch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const IHS: &[u8] = include_bytes!("testdata/ihs_discovery.bin");

    #[test]
    fn remote_play_discovery() {
        let e = evidence(probe1(&Steam, Transport::Udp, C, IHS));
        assert_eq!(
            e,
            "Steam Remote Play discovery (signature ffffffff214c5fa0)"
        );
        check_prefixes(&Steam, Transport::Udp, C, IHS, &[]);
    }

    /// A VS01 challenge request built from SteamKit's `UdpHeader` layout.
    fn vs01() -> Vec<u8> {
        let mut p = b"VS01".to_vec();
        p.extend_from_slice(&4u16.to_le_bytes()); // payload size
        p.push(1); // challenge request
        p.push(4); // flags
        p.extend_from_slice(&0x200u32.to_le_bytes()); // source conn id
        p.extend_from_slice(&0u32.to_le_bytes()); // dest conn id
        for v in [1u32, 0, 1, 1, 4] {
            // seq, ack, packets in msg, msg start seq, msg size
            p.extend_from_slice(&v.to_le_bytes());
        }
        p.extend_from_slice(&[0, 0, 0, 0]);
        p
    }

    #[test]
    fn vs01_built_from_steamkit_layout() {
        let p = vs01();
        let e = evidence(probe1(&Steam, Transport::Udp, C, &p));
        assert_eq!(e, "Steam UDP (VS01) challenge request");
        assert_eq!(probe1(&Steam, Transport::Udp, C, &p[..39]), Probe::NoMatch);
    }

    #[test]
    fn random_and_foreign_rejected() {
        assert_random_flows_rejected(&Steam, Transport::Udp, 27036);
        assert_foreign_rejected(&Steam, "steam");
        foreign_never_match(&Steam, Transport::Udp);
    }

    #[test]
    fn first_bytes_declared() {
        let p = vs01();
        for d in [IHS, &p[..]] {
            crate::testkit::first_bytes_hold(
                &Steam,
                &crate::testkit::input(Transport::Udp, C, d, &[], 0),
            );
        }
    }
}
