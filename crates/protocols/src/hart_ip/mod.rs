//! HART-IP (FieldComm Group HCF_SPEC-085 "HART-IP Specification"), over
//! UDP and TCP port 5094.
//!
//! HCF_SPEC-085 §5.1 message header (8 octets, big endian): Version (1;
//! 2 with HART-IP security), Message Type (0 Request, 1 Response, 2
//! Publish/Notification, 3 Error, 15 NAK), Message ID (0 Session Initiate,
//! 1 Session Close, 2 Keep Alive, 3 Token-Passing PDU (pass-through HART
//! command), 4 Direct PDU, 128 Read Audit Log), Status, Sequence Number
//! (16 bits), Byte Count (16 bits: the whole message, header included).
//! §5.2: Session Initiate request body = master type (1) + inactivity
//! close timer (4). A Token-Passing PDU body is a HART frame starting with
//! a delimiter (0x02/0x82 STX, 0x06/0x86 ACK, 0x01/0x81 BACK).
//!
//! The header is short; the probe requires the byte count to equal the
//! datagram (UDP) or to be followed by another header (TCP), the defined
//! type and id, and the body layout of the id.

use netsift_proto::bytes::be16;
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// HART-IP.
pub struct HartIp;

const HDR: usize = 8;

impl Protocol for HartIp {
    fn name(&self) -> &'static str {
        "HART-IP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[5094]
    }
    // HCF_SPEC-085 §5.1: the header starts with "Version (1; 2 with HART-IP
    // security)" (module doc).
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[1, 2])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let tcp = match input.transport {
            Transport::Tcp => true,
            Transport::Udp => false,
            Transport::Ip(_) => return Probe::NoMatch,
        };
        let d = input.data;
        match message(d) {
            Err(true) if tcp => Probe::NeedMore,
            Err(_) => Probe::NoMatch,
            Ok((total, ev)) => {
                if !tcp && d.len() != total {
                    return Probe::NoMatch;
                }
                if tcp && d.len() > total {
                    if let Err(false) = message(&d[total..]) {
                        return Probe::NoMatch;
                    }
                }
                Probe::Match(Match::new(ev))
            }
        }
    }
}

/// One message: Ok((byte count, evidence)), Err(true) = need more.
fn message(d: &[u8]) -> Result<(usize, String), bool> {
    if d.first().is_some_and(|&v| !matches!(v, 1 | 2)) {
        return Err(false);
    }
    let ty = match d.get(1) {
        None => return Err(true),
        Some(0) => "request",
        Some(1) => "response",
        Some(2) => "publish",
        Some(3) => "error",
        Some(15) => "NAK",
        Some(_) => return Err(false),
    };
    let id = match d.get(2) {
        None => return Err(true),
        Some(0) => "Session Initiate",
        Some(1) => "Session Close",
        Some(2) => "Keep Alive",
        Some(3) => "Token-Passing PDU",
        Some(4) => "Direct PDU",
        Some(128) => "Read Audit Log",
        Some(_) => return Err(false),
    };
    let Some(count) = be16(d, 6) else {
        return Err(true);
    };
    let count = usize::from(count);
    let body = count.checked_sub(HDR).ok_or(false)?;
    let ok = match d[2] {
        // Request: master type (1 = primary, 2 = secondary) + timer (4);
        // response echoes them.
        0 => match d[1] {
            0 | 1 => body == 5 && d.get(HDR).is_none_or(|&m| matches!(m, 1 | 2)),
            _ => body <= 5,
        },
        1 | 2 => body == 0 || d[1] >= 3,
        // A HART frame: delimiter first.
        3 => {
            body >= 5
                && d.get(HDR)
                    .is_none_or(|&x| matches!(x, 0x01 | 0x02 | 0x06 | 0x81 | 0x82 | 0x86))
        }
        _ => body > 0,
    };
    if !ok {
        return Err(false);
    }
    if d.len() < count.min(HDR + 1) {
        return Err(true);
    }
    let seq = be16(d, 4).unwrap_or(0);
    Ok((
        count,
        format!("HART-IP v{} {id} {ty} (sequence {seq})", d[0]),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, check_prefixes, evidence,
        foreign_never_match, probe1, C, S,
    };

    const UDP: Transport = Transport::Udp;
    const TCP: Transport = Transport::Tcp;

    /// Session Initiate request: version 1, type 0, id 0, status 0,
    /// sequence 1, byte count 13; primary master (1), inactivity timer
    /// 60000 ms.
    const INIT: [u8; 13] = [1, 0, 0, 0, 0, 1, 0, 13, 1, 0, 0, 0xea, 0x60];

    #[test]
    fn session_initiate() {
        assert_eq!(
            evidence(probe1(&HartIp, UDP, C, &INIT)),
            "HART-IP v1 Session Initiate request (sequence 1)"
        );
        let mut resp = INIT;
        resp[1] = 1;
        assert_eq!(
            evidence(probe1(&HartIp, TCP, S, &resp)),
            "HART-IP v1 Session Initiate response (sequence 1)"
        );
        check_prefixes(&HartIp, TCP, C, &INIT, b"");
        // Token-passing PDU: HART command 0 (read unique identifier), short
        // frame: STX 0x02, polling address 0x80, command 0, byte count 0,
        // checksum 0x82.
        let pdu = [1, 0, 3, 0, 0, 2, 0, 13, 0x02, 0x80, 0x00, 0x00, 0x82];
        assert_eq!(
            evidence(probe1(&HartIp, UDP, C, &pdu)),
            "HART-IP v1 Token-Passing PDU request (sequence 2)"
        );
        assert_eq!(probe1(&HartIp, UDP, C, &INIT[..12]), Probe::NoMatch);
    }

    #[test]
    fn first_bytes_declared() {
        use crate::testkit::first_bytes_hold;
        use crate::testkit::input;
        first_bytes_hold(&HartIp, &input(UDP, C, &INIT, &[], 0));
        let mut resp = INIT;
        resp[1] = 1;
        first_bytes_hold(&HartIp, &input(TCP, S, &resp, &[], 0));
        let pdu = [1, 0, 3, 0, 0, 2, 0, 13, 0x02, 0x80, 0x00, 0x00, 0x82];
        first_bytes_hold(&HartIp, &input(UDP, C, &pdu, &[], 0));
    }

    #[test]
    fn foreign_and_random() {
        foreign_never_match(&HartIp, TCP);
        assert_foreign_rejected(&HartIp, "hart");
        assert_random_flows_rejected(&HartIp, UDP, 5094);
        assert_random_flows_rejected(&HartIp, TCP, 5094);
    }
}
