//! TocaBoca: nDPI's name for the UDP traffic of Toca Boca's games, which
//! run over Exit Games' **Photon** realtime engine (observed protocol; the
//! layout below is Photon's "eNet"-style UDP framing as seen in nDPI's
//! `toca-boca.pcap` and described in Exit Games' public client sources).
//!
//! A datagram is a 12-byte header: peer id (u16 BE, 0xffff before the
//! server assigns one), CRC flag (u8, 0 or 1), command count (u8),
//! sent time (u32), challenge (u32); then `count` commands, each a 12-byte
//! header (type u8, channel u8, flags u8, reserved u8, total command length
//! u32 BE including this header, reliable sequence number u32) and its
//! body. The command lengths must add up to the datagram exactly, which
//! pins the structure in one datagram.
//!
//! A second, fixed datagram was seen in two flows of different servers, in
//! both directions: twelve 0x7d bytes and one more byte (a keep-alive /
//! probe whose meaning is not published); it is matched as such.

use netsift_proto::bytes::{be16, be32, u8_at};
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// TocaBoca (Photon UDP).
pub struct TocaBoca;

const HEADER: usize = 12;

/// Photon command types (Exit Games client sources): 1 ack, 2 connect,
/// 3 verify connect, 4 disconnect, 5 ping, 6 send reliable, 7 send
/// unreliable, 8 send fragment, 11 unsequenced, 12 EG server time,
/// 14/15 reliable/unreliable unsequenced variants.
fn command_name(t: u8) -> Option<&'static str> {
    Some(match t {
        1 => "ack",
        2 => "connect",
        3 => "verify connect",
        4 => "disconnect",
        5 => "ping",
        6 => "send reliable",
        7 => "send unreliable",
        8 => "send fragment",
        11 => "send unsequenced",
        12 => "server time",
        14 | 15 => "send unsequenced",
        _ => return None,
    })
}

impl Protocol for TocaBoca {
    fn name(&self) -> &'static str {
        "TocaBoca"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        // Photon's default UDP port.
        &[5055, 5056]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        if d.len() == 13 && d.iter().take(12).all(|&b| b == 0x7d) {
            return Probe::Match(Match::new("Photon 0x7d keep-alive (12 x 0x7d + 1 byte)"));
        }
        let (Some(crc), Some(count)) = (u8_at(d, 2), u8_at(d, 3)) else {
            return Probe::NoMatch;
        };
        if crc > 1 || count == 0 || d.len() < HEADER + 12 {
            return Probe::NoMatch;
        }
        let mut off = HEADER;
        let mut first = None;
        for _ in 0..count {
            let Some(name) = u8_at(d, off).and_then(command_name) else {
                return Probe::NoMatch;
            };
            first.get_or_insert(name);
            let Some(len) = be32(d, off + 4) else {
                return Probe::NoMatch;
            };
            if len < 12 || len as usize > d.len() {
                return Probe::NoMatch;
            }
            off += len as usize;
        }
        if off != d.len() {
            return Probe::NoMatch;
        }
        let peer = be16(d, 0).unwrap_or(0);
        Probe::Match(Match::new(format!(
            "Photon UDP: peer id 0x{peer:04x}, {count} command(s) ({}) filling the datagram",
            first.unwrap_or("?")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const CONNECT: &[u8] = include_bytes!("testdata/connect.bin");
    const VERIFY: &[u8] = include_bytes!("testdata/verify_connect.bin");
    const FRAGMENT: &[u8] = include_bytes!("testdata/fragment.bin");
    const KEEPALIVE: &[u8] = include_bytes!("testdata/keepalive_7d.bin");

    #[test]
    fn photon_datagrams_match() {
        let e = evidence(probe1(&TocaBoca, Transport::Udp, C, CONNECT));
        assert_eq!(
            e,
            "Photon UDP: peer id 0xffff, 1 command(s) (connect) filling the datagram"
        );
        let e = evidence(probe1(&TocaBoca, Transport::Udp, S, VERIFY));
        assert!(e.contains("2 command(s) (ack)"), "{e}");
        // Mid-session: a server datagram carrying one fragment.
        let e = evidence(probe1(&TocaBoca, Transport::Udp, S, FRAGMENT));
        assert!(e.contains("send fragment"), "{e}");
        let e = evidence(probe1(&TocaBoca, Transport::Udp, S, KEEPALIVE));
        assert!(e.contains("0x7d"), "{e}");
        for b in [CONNECT, VERIFY, FRAGMENT, KEEPALIVE] {
            check_prefixes(&TocaBoca, Transport::Udp, C, b, &[]);
        }
    }

    #[test]
    fn random_and_foreign_rejected() {
        assert_random_flows_rejected(&TocaBoca, Transport::Udp, 5055);
        assert_foreign_rejected(&TocaBoca, "photon");
        foreign_never_match(&TocaBoca, Transport::Udp);
    }
}
