//! Monero peer-to-peer protocol: the Levin framing of the epee library
//! (Monero documentation, `docs/LEVIN_PROTOCOL.md`, "Header").
//!
//! Every message starts with a 33-byte header, all integers little-endian:
//! signature u64 `0x0101010101012101`, body size u64, "return data" bool,
//! command u32, return code i32, flags u32 (1 request, 2 response, 4 start
//! fragment, 8 end fragment), protocol version u32 (1). The 8-byte
//! signature decides on its own; the flags and version are checked too.
//! Commands 1001..1007 are the P2P commands (handshake, timed sync, ping,
//! support flags), 2001.. the cryptonote protocol notifications.

use netsift_proto::bytes::{le32, le64, u8_at};
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Monero.
pub struct Monero;

const SIGNATURE: [u8; 8] = 0x0101_0101_0101_2101u64.to_le_bytes();
const HDR: usize = 33;

fn command(c: u32) -> &'static str {
    match c {
        1001 => "handshake",
        1002 => "timed_sync",
        1003 => "ping",
        1007 => "support_flags",
        2001 => "notify_new_block",
        2002 => "notify_new_transactions",
        2003 => "request_get_objects",
        2004 => "response_get_objects",
        2006 => "request_chain",
        2007 => "response_chain_entry",
        2008 => "notify_new_fluffy_block",
        2009 => "request_fluffy_missing_tx",
        2010 => "get_txpool_complement",
        _ => "command",
    }
}

impl Protocol for Monero {
    fn name(&self) -> &'static str {
        "Monero"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[18080, 28080, 38080]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let d = input.data;
        let n = d.len().min(8);
        if d.get(..n) != SIGNATURE.get(..n) {
            return Probe::NoMatch;
        }
        if d.len() < HDR {
            return Probe::NeedMore;
        }
        let (Some(size), Some(ret), Some(cmd), Some(flags), Some(ver)) = (
            le64(d, 8),
            u8_at(d, 16),
            le32(d, 17),
            le32(d, 25),
            le32(d, 29),
        ) else {
            return Probe::NeedMore;
        };
        // Levin's default limit on a packet is 100 MB.
        if size > 100_000_000 || ret > 1 || flags == 0 || flags & !0x0f != 0 || ver != 1 {
            return Probe::NoMatch;
        }
        let kind = if flags & 2 != 0 {
            "response"
        } else {
            "request"
        };
        Probe::Match(Match::new(format!(
            "Monero Levin {} {kind} (command {cmd}, {size}-byte body)",
            command(cmd)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    /// A Levin header as the documentation lays it out.
    fn header(size: u64, ret: u8, cmd: u32, flags: u32) -> Vec<u8> {
        let mut h = SIGNATURE.to_vec();
        h.extend_from_slice(&size.to_le_bytes());
        h.push(ret);
        h.extend_from_slice(&cmd.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes()); // return code
        h.extend_from_slice(&flags.to_le_bytes());
        h.extend_from_slice(&1u32.to_le_bytes()); // protocol version
        h
    }

    #[test]
    fn handshake_request_and_response() {
        let mut req = header(10, 1, 1001, 1);
        // Body: portable-storage signature 0x01 0x11 0x01 0x01 0x01 0x01
        // 0x02 0x01 0x01 and an empty section.
        req.extend_from_slice(&[0x01, 0x11, 0x01, 0x01, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00]);
        assert_eq!(
            evidence(probe1(&Monero, Transport::Tcp, C, &req)),
            "Monero Levin handshake request (command 1001, 10-byte body)"
        );
        let resp = header(0, 0, 1001, 2);
        assert!(evidence(probe1(&Monero, Transport::Tcp, S, &resp)).contains("handshake response"));
        check_prefixes(&Monero, Transport::Tcp, C, &req, &[]);
        assert_eq!(
            probe1(&Monero, Transport::Tcp, C, &header(0, 0, 1001, 0)),
            Probe::NoMatch
        );
    }

    #[test]
    fn random_and_foreign() {
        assert_random_flows_rejected(&Monero, Transport::Tcp, 18080);
        foreign_never_match(&Monero, Transport::Tcp);
    }
}
