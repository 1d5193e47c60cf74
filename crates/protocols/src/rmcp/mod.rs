//! RMCP, the Remote Management Control Protocol (DMTF ASF 2.0, DSP0136
//! §3.2.2), and the IPMI-over-LAN sessions it carries (IPMI v1.5 §12 /
//! v2.0 §13), UDP port 623 (664 for secure RMCP).
//!
//! RMCP header: Version (0x06 = RMCP 1.0), Reserved (0x00), Sequence
//! Number (0xFF when no ACK is wanted), Class of Message (bit 7 ACK, bits
//! 0-4: 6 ASF, 7 IPMI, 8 OEM). ASF messages: IANA Enterprise Number (4) =
//! 4542, Message Type (0x80 Presence Ping, 0x40 Presence Pong, ...),
//! Message Tag, Reserved, Data Length = the rest. IPMI v1.5 session:
//! Authentication Type (0 none, 1 MD2, 2 MD5, 4 password, 5 OEM), Session
//! Sequence (4), Session ID (4), a 16-octet AuthCode unless type 0,
//! Message Length (1), then the IPMI message whose two checksums
//! (`rsSA netFn/LUN chk1` and the rest) sum to 0 modulo 256. IPMI v2.0
//! (RMCP+): Authentication Type 6, Payload Type, Session ID (4), Session
//! Sequence (4), Payload Length (2, little-endian) = the rest (up to the
//! integrity trailer).

use netsift_proto::bytes::{be32, le16, u8_at};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// RMCP.
pub struct Rmcp;

fn ipmi_cmd(netfn: u8, cmd: u8) -> &'static str {
    match (netfn & !1, cmd) {
        (6, 0x38) => "Get Channel Authentication Capabilities",
        (6, 0x39) => "Get Session Challenge",
        (6, 0x3a) => "Activate Session",
        (6, 0x3b) => "Set Session Privilege Level",
        (6, 0x3c) => "Close Session",
        (6, 0x01) => "Get Device ID",
        (0, 0x01) => "Get Chassis Status",
        (0, 0x02) => "Chassis Control",
        _ => "command",
    }
}

fn ipmi15(d: &[u8]) -> Option<String> {
    let auth = u8_at(d, 4)?;
    let msg_at = match auth {
        0 => 13,
        1 | 2 | 4 | 5 => 29,
        _ => return None,
    };
    let mlen = usize::from(u8_at(d, msg_at)?);
    let m = d.get(msg_at + 1..)?;
    // A pad octet may follow (IPMI v1.5 §12.4 legacy padding).
    if mlen < 7 || !(m.len() == mlen || m.len() == mlen + 1) {
        return None;
    }
    let m = m.get(..mlen)?;
    let sum1 = m.get(..3)?.iter().fold(0u8, |a, &b| a.wrapping_add(b));
    let sum2 = m.get(3..)?.iter().fold(0u8, |a, &b| a.wrapping_add(b));
    if sum1 != 0 || sum2 != 0 {
        return None;
    }
    let netfn = u8_at(m, 1)? >> 2;
    let cmd = u8_at(m, 5)?;
    let dir = if netfn & 1 == 0 {
        "request"
    } else {
        "response"
    };
    Some(format!("RMCP IPMI v1.5 {} {dir}", ipmi_cmd(netfn, cmd)))
}

fn ipmi20(d: &[u8]) -> Option<String> {
    let pt = u8_at(d, 5)? & 0x3f;
    // Payload types: 0 IPMI, 1 SOL, 2 OEM, 0x10-0x15 session setup.
    let (name, at) = match pt {
        0 => ("IPMI message", 14),
        1 => ("SOL", 14),
        2 => ("OEM", 20),
        0x10 => ("Open Session Request", 14),
        0x11 => ("Open Session Response", 14),
        0x12 => ("RAKP Message 1", 14),
        0x13 => ("RAKP Message 2", 14),
        0x14 => ("RAKP Message 3", 14),
        0x15 => ("RAKP Message 4", 14),
        _ => return None,
    };
    let plen = usize::from(le16(d, at)?);
    let rest = d.len().checked_sub(at + 2)?;
    // Authenticated payloads carry an integrity trailer (pad, pad length,
    // next header 0x07, AuthCode of up to 32 octets).
    let encrypted_or_auth = u8_at(d, 5)? & 0xc0 != 0;
    if !(rest == plen || (encrypted_or_auth && rest > plen && rest <= plen + 40)) {
        return None;
    }
    Some(format!("RMCP+ (IPMI v2.0) {name}"))
}

impl Protocol for Rmcp {
    fn name(&self) -> &'static str {
        "RMCP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[623, 664]
    }
    // DSP0136 §3.2.2 (module notes): the RMCP header starts with "Version
    // (0x06 = RMCP 1.0)", the only version the probe accepts.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x06])
    }
    fn probe(&self, input: &ProbeInput<'_>, _s: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let (Some(6), Some(0), Some(_seq), Some(class)) =
            (u8_at(d, 0), u8_at(d, 1), u8_at(d, 2), u8_at(d, 3))
        else {
            return Probe::NoMatch;
        };
        let ev = match class & 0x1f {
            // An ACK is the bare 4-octet header.
            _ if class & 0x80 != 0 => {
                (d.len() == 4 && matches!(class & 0x1f, 6..=8)).then(|| "RMCP ACK".to_string())
            }
            6 => {
                if be32(d, 4) != Some(4542) {
                    None
                } else {
                    let t = u8_at(d, 8).unwrap_or(0);
                    let dl = usize::from(u8_at(d, 11).unwrap_or(0));
                    (d.len() == 12 + dl).then(|| {
                        let what = match t {
                            0x80 => "Presence Ping",
                            0x40 => "Presence Pong",
                            0x10 => "Reset",
                            0x11 => "Power-up",
                            0x12 => "Unconditional Power-down",
                            0x13 => "Power Cycle Reset",
                            _ => "message",
                        };
                        format!("RMCP ASF {what}")
                    })
                }
            }
            7 => match u8_at(d, 4) {
                Some(6) => ipmi20(d),
                _ => ipmi15(d),
            },
            _ => None,
        };
        match ev {
            Some(e) => Probe::Match(Match::new(e)),
            None => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, evidence, probe1, C, S,
    };

    const UDP: Transport = Transport::Udp;
    // Sources: testdata/README.md.
    const CAPS: &[u8] = include_bytes!("testdata/ipmi_get_channel_auth_caps.bin");
    const PING: &[u8] = include_bytes!("testdata/asf_presence_ping.bin");

    #[test]
    fn messages() {
        assert_eq!(
            evidence(probe1(&Rmcp, UDP, C, CAPS)),
            "RMCP IPMI v1.5 Get Channel Authentication Capabilities request"
        );
        assert_eq!(
            evidence(probe1(&Rmcp, UDP, C, PING)),
            "RMCP ASF Presence Ping"
        );
        // RMCP+ Open Session Request (IPMI v2.0 §13.17), built: auth type
        // 6, payload type 0x10, session 0, sequence 0, length 32.
        let mut open = vec![6, 0, 0xff, 7, 6, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0];
        open.resize(16 + 32, 0);
        assert_eq!(
            evidence(probe1(&Rmcp, UDP, S, &open)),
            "RMCP+ (IPMI v2.0) Open Session Request"
        );
        let mut bad = CAPS.to_vec();
        bad[20] ^= 1;
        assert_eq!(probe1(&Rmcp, UDP, C, &bad), Probe::NoMatch);
        for i in 0..CAPS.len() {
            let _ = probe1(&Rmcp, UDP, C, &CAPS[..i]);
        }
    }

    #[test]
    fn first_bytes_declared() {
        use crate::testkit::input;
        let mut open = vec![6, 0, 0xff, 7, 6, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0];
        open.resize(16 + 32, 0);
        for (dir, d) in [(C, CAPS), (C, PING), (S, &open[..])] {
            crate::testkit::first_bytes_hold(&Rmcp, &input(UDP, dir, d, b"", 0));
        }
    }

    #[test]
    fn rejects_random_and_foreign() {
        assert_random_flows_rejected(&Rmcp, UDP, 623);
        assert_foreign_rejected(&Rmcp, "rmcp");
    }
}
