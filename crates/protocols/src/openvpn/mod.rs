//! OpenVPN (the protocol of `ssl.h`/`ssl_pkt.h` in OpenVPN 2.x, documented
//! in doc/doxygen "network protocol") over UDP and TCP, on any port.
//!
//! A session starts with the client's P_CONTROL_HARD_RESET_CLIENT_V2/V3
//! and the server's P_CONTROL_HARD_RESET_SERVER_V2. One opcode byte and an
//! 8-byte session id are weak, so the probe waits for the server's answer
//! and requires it to tie back to the client's packet: either the server
//! acknowledges the client's packet and echoes the client's session id
//! (plain and tls-auth modes, where the ACK array is in clear), or both
//! packets carry the same packet-id timestamp (tls-auth and tls-crypt,
//! where the rest is encrypted).

use netsift_proto::bytes::be32;
use netsift_proto::{Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

#[cfg(test)]
mod tests;

/// OpenVPN.
pub struct Openvpn;

/// "P_CONTROL_HARD_RESET_CLIENT_V1 1, P_CONTROL_HARD_RESET_SERVER_V1 2,
/// P_CONTROL_HARD_RESET_CLIENT_V2 7, P_CONTROL_HARD_RESET_SERVER_V2 8,
/// P_CONTROL_HARD_RESET_CLIENT_V3 10" (ssl_pkt.h).
const RESET_CLIENT_V1: u8 = 1;
const RESET_SERVER_V1: u8 = 2;
const RESET_CLIENT_V2: u8 = 7;
const RESET_SERVER_V2: u8 = 8;
const RESET_CLIENT_V3: u8 = 10;

/// "opcode/key_id (1 byte) | session_id (8 bytes)": the smallest reset
/// (no HMAC: + ack array length 1 + message packet id 4) is 14 bytes.
const MIN_RESET: usize = 14;

/// Offsets of the packet-id "net_time" (4 bytes after the 4-byte packet
/// id) for tls-crypt (no HMAC before it) and tls-auth with 20/32/64-byte
/// HMACs (SHA1/SHA256/SHA512): 1 + 8 + hmac + 4.
const TIME_AT: [usize; 4] = [13, 33, 45, 77];

fn opcode_name(op: u8) -> &'static str {
    match op {
        RESET_CLIENT_V1 => "P_CONTROL_HARD_RESET_CLIENT_V1",
        RESET_SERVER_V1 => "P_CONTROL_HARD_RESET_SERVER_V1",
        RESET_CLIENT_V2 => "P_CONTROL_HARD_RESET_CLIENT_V2",
        RESET_SERVER_V2 => "P_CONTROL_HARD_RESET_SERVER_V2",
        RESET_CLIENT_V3 => "P_CONTROL_HARD_RESET_CLIENT_V3",
        _ => "?",
    }
}

/// The packet of a direction: the datagram, or the first TCP frame ("the
/// packet is prefixed with a 16-bit length", socket.h). None when not
/// (yet) complete.
fn packet(t: Transport, d: &[u8]) -> Option<&[u8]> {
    match t {
        Transport::Tcp => {
            let len = usize::from(u16::from_be_bytes([*d.first()?, *d.get(1)?]));
            d.get(2..2 + len)
        }
        _ => Some(d),
    }
}

/// A hard reset of the given side: (opcode, session id).
fn reset(p: &[u8], client: bool) -> Option<(u8, u64)> {
    let b0 = *p.first()?;
    let (op, key_id) = (b0 >> 3, b0 & 7);
    let ok = if client {
        matches!(op, RESET_CLIENT_V1 | RESET_CLIENT_V2 | RESET_CLIENT_V3)
    } else {
        matches!(op, RESET_SERVER_V1 | RESET_SERVER_V2)
    };
    // A hard reset starts key_id 0 ("key_id ... 0 for the initial key").
    if !ok || key_id != 0 || p.len() < MIN_RESET {
        return None;
    }
    let sid = u64::from_be_bytes(p.get(1..9)?.try_into().ok()?);
    (sid != 0).then_some((op, sid))
}

/// How the server's reset ties back to the client's.
fn tie(client: &[u8], server: &[u8], csid: u64) -> Option<String> {
    // The server's ACK of the client's reset carries "remote session_id"
    // = the client's session id, in clear unless tls-crypt wraps it.
    let want = csid.to_be_bytes();
    let window = server.get(9..).unwrap_or(&[]);
    if window.windows(8).take(120).any(|w| w == want) {
        return Some(format!("echoes client session id {csid:016x}"));
    }
    // Both resets carry "packet_id (4 bytes) | net_time (4 bytes)" at the
    // same place (the time a Unix time of the same moment).
    for at in TIME_AT {
        let (Some(ct), Some(st)) = (be32(client, at), be32(server, at)) else {
            continue;
        };
        if ct >= 1_000_000_000 && st >= 1_000_000_000 && ct.abs_diff(st) <= 600 {
            return Some(format!("packet-id times agree ({ct})"));
        }
    }
    None
}

impl Protocol for Openvpn {
    fn name(&self) -> &'static str {
        "OpenVPN"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[1194]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let t = input.transport;
        match input.dir {
            Direction::ToServer => {
                let Some(p) = packet(t, input.data) else {
                    // TCP: the frame is not complete yet; the opcode may be.
                    return match input.data.get(2) {
                        Some(&b) if !matches!(b >> 3, 1 | 7 | 10) || b & 7 != 0 => Probe::NoMatch,
                        _ => Probe::NeedMore,
                    };
                };
                // The client's reset alone: wait for the server.
                if reset(p, true).is_none() {
                    // Over UDP a later datagram could still be the reset
                    // (lost first packet); a TCP stream starts with it.
                    return Probe::NoMatch;
                }
                if input.peer.is_empty() {
                    return Probe::NeedMore;
                }
                // The server's packet arrived first in this prefix's view.
                let Some(s) = packet(t, input.peer) else {
                    return Probe::NeedMore;
                };
                decide(p, s)
            }
            Direction::ToClient => {
                let Some(s) = packet(t, input.data) else {
                    return Probe::NeedMore;
                };
                let Some(c) = packet(t, input.peer) else {
                    return Probe::NoMatch;
                };
                decide(c, s)
            }
        }
    }
}

fn decide(c: &[u8], s: &[u8]) -> Probe {
    let (Some((cop, csid)), Some((sop, ssid))) = (reset(c, true), reset(s, false)) else {
        return Probe::NoMatch;
    };
    match tie(c, s, csid) {
        Some(how) => Probe::Match(Match::new(format!(
            "OpenVPN {} answered by {} (server session {ssid:016x}), {how}",
            opcode_name(cop),
            opcode_name(sop)
        ))),
        None => Probe::NoMatch,
    }
}
