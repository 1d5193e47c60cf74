//! NetBIOS over TCP/IP (RFC 1001 / RFC 1002):
//! * name service (NBNS, UDP): DNS-structured messages whose first name is
//!   a first-level encoded NetBIOS name (RFC 1002 §4.2);
//! * datagram service (UDP): MSG_TYPE 0x10..=0x16 headers with encoded
//!   source/destination names (RFC 1002 §4.4);
//! * session service (TCP): session request 0x81 carrying two encoded
//!   names, positive (0x82) / negative (0x83) response, retarget (0x84),
//!   keepalive (0x85) (RFC 1002 §4.3). Session messages (0x00) are left
//!   alone: the SMB probes own those that carry SMB, and a bare 0x00
//!   header is too weak to claim.

use netsift_proto::bytes::be16;
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

use crate::dns::parse::{is_nb_encoded, netbios_name, Names};
use crate::dns::{dns_structure, Seen};

#[cfg(test)]
mod tests;

/// NetBIOS.
pub struct Netbios;

/// One encoded NetBIOS name at `pos` (RFC 1002 §4.1: a 0x20 length byte,
/// 32 'A'..'P' characters, then scope labels and a zero byte; no
/// compression in the datagram and session services). Returns the offset
/// after it, or `Err(true)` if the bytes end first, `Err(false)` if bad.
fn nb_name(b: &[u8], pos: usize) -> Result<usize, bool> {
    match b.get(pos) {
        None => return Err(true),
        Some(0x20) => {}
        Some(_) => return Err(false),
    }
    let Some(label) = b.get(pos + 1..pos + 33) else {
        return Err(true);
    };
    if !is_nb_encoded(label) {
        return Err(false);
    }
    // Scope labels (RFC 1001 §14.2), bounded by the 255-octet name limit.
    let mut p = pos + 33;
    let mut total = 33;
    loop {
        let Some(&len) = b.get(p) else {
            return Err(true);
        };
        if len == 0 {
            return Ok(p + 1);
        }
        if len > 63 {
            return Err(false);
        }
        total += 1 + len as usize;
        if total > 255 {
            return Err(false);
        }
        p += 1 + len as usize;
    }
}

fn decoded(b: &[u8], pos: usize) -> String {
    netbios_name(b.get(pos + 1..pos + 33).unwrap_or(&[]))
}

fn nbns(input: &ProbeInput<'_>) -> Probe {
    match dns_structure(input, Names::Netbios) {
        Seen::Msg(m, msg) => {
            // RFC 1002 §4.2.1.2 / §4.2.1.3: QUESTION_TYPE / RR_TYPE NB
            // (0x0020) or NBSTAT (0x0021), or the A / NS / NULL records of
            // redirect and WACK responses; class IN.
            let label = m
                .first_name
                .and_then(|at| msg.get(at + 1..at + 33))
                .unwrap_or(&[]);
            let intact = is_nb_encoded(label);
            // A well-encoded name is NetBIOS whatever the type; a damaged
            // one only with an NBNS type and class IN.
            if !intact
                && (!matches!(m.first_type, 0x20 | 0x21 | 0x01 | 0x02 | 0x0a) || m.first_class != 1)
            {
                return Probe::NoMatch;
            }
            let op = match m.opcode() {
                0 => "name query",
                5 => "name registration",
                6 => "name release",
                7 => "WACK",
                8 => "name refresh",
                _ => "multi-homed registration",
            };
            let dir = if m.is_response() { " response" } else { "" };
            let what = if m.first_type == 0x21 { " NBSTAT" } else { "" };
            let name = m.first_name.map(|at| decoded(msg, at)).unwrap_or_default();
            let damaged = if intact { "" } else { " (malformed name)" };
            Probe::Match(Match::new(format!(
                "NBNS {op}{dir}{what} for {name}{damaged}"
            )))
        }
        Seen::NeedMore => Probe::NeedMore,
        Seen::No => Probe::NoMatch,
    }
}

/// RFC 1002 §4.4.1: MSG_TYPE, FLAGS, DGM_ID, SOURCE_IP, SOURCE_PORT.
fn datagram(d: &[u8]) -> Probe {
    let (Some(&ty), Some(&flags)) = (d.first(), d.get(1)) else {
        return Probe::NoMatch;
    };
    // FLAGS: 4 reserved zero bits, SNT (node type), F, M (RFC 1002 §4.4.1).
    if !(0x10..=0x16).contains(&ty) || flags & 0xf0 != 0 {
        return Probe::NoMatch;
    }
    match ty {
        // §4.4.2 DIRECT_UNIQUE / DIRECT_GROUP / BROADCAST: DGM_LENGTH,
        // PACKET_OFFSET, SOURCE_NAME, DESTINATION_NAME, USER_DATA, where
        // DGM_LENGTH counts the bytes after PACKET_OFFSET.
        0x10..=0x12 => {
            let Some(dgm_len) = be16(d, 10) else {
                return Probe::NoMatch;
            };
            if dgm_len as usize != d.len().saturating_sub(14) {
                return Probe::NoMatch;
            }
            // A fragment other than the first (F clear, offset > 0) carries
            // no names; too weak to claim.
            let Ok(after_src) = nb_name(d, 14) else {
                return Probe::NoMatch;
            };
            let Ok(_) = nb_name(d, after_src) else {
                return Probe::NoMatch;
            };
            let kind = match ty {
                0x10 => "direct unique",
                0x11 => "direct group",
                _ => "broadcast",
            };
            Probe::Match(Match::new(format!(
                "NetBIOS datagram ({kind}) from {} to {}",
                decoded(d, 14),
                decoded(d, after_src)
            )))
        }
        // §4.4.3 DATAGRAM ERROR PACKET: ERROR_CODE 0x82..=0x84.
        0x13 => {
            if d.len() == 11 && matches!(d.get(10), Some(0x82..=0x84)) {
                Probe::Match(Match::new("NetBIOS datagram error packet"))
            } else {
                Probe::NoMatch
            }
        }
        // §4.4.4 QUERY REQUEST / POSITIVE / NEGATIVE QUERY RESPONSE:
        // DESTINATION_NAME only.
        _ => match nb_name(d, 10) {
            Ok(end) if end == d.len() => Probe::Match(Match::new(format!(
                "NetBIOS datagram name query for {}",
                decoded(d, 10)
            ))),
            _ => Probe::NoMatch,
        },
    }
}

/// RFC 1002 §4.3.1 session packet header: TYPE, FLAGS (7 reserved zero
/// bits and the length extension E), LENGTH.
fn session(input: &ProbeInput<'_>) -> Probe {
    let d = input.data;
    let Some(&ty) = d.first() else {
        return Probe::NeedMore;
    };
    if !matches!(ty, 0x81..=0x85) {
        // 0x00 SESSION MESSAGE: SMB's (with \xffSMB / \xfeSMB) or too
        // weak; anything else is not the session service.
        return Probe::NoMatch;
    }
    let Some(&flags) = d.get(1) else {
        return Probe::NeedMore;
    };
    if flags & 0xfe != 0 {
        return Probe::NoMatch;
    }
    let Some(len) = be16(d, 2) else {
        return Probe::NeedMore;
    };
    let len = len as usize | ((flags as usize & 1) << 16);
    // What may follow a complete control packet in the same stream prefix:
    // nothing, or another session packet header.
    let next_ok = |at: usize| match d.get(at) {
        None => true,
        Some(t) => matches!(t, 0x00 | 0x81..=0x85) && d.get(at + 1).is_none_or(|f| f & 0xfe == 0),
    };
    match ty {
        // §4.3.2 SESSION REQUEST: CALLED NAME, CALLING NAME.
        0x81 => {
            let called = match nb_name(d, 4) {
                Ok(e) => e,
                Err(true) => return Probe::NeedMore,
                Err(false) => return Probe::NoMatch,
            };
            let calling = match nb_name(d, called) {
                Ok(e) => e,
                Err(true) => return Probe::NeedMore,
                Err(false) => return Probe::NoMatch,
            };
            if calling != 4 + len {
                return Probe::NoMatch;
            }
            Probe::Match(Match::new(format!(
                "NetBIOS session request to {} from {}",
                decoded(d, 4),
                decoded(d, called)
            )))
        }
        // §4.3.3 POSITIVE SESSION RESPONSE (LENGTH 0), answering a 0x81.
        0x82 if len == 0 && next_ok(4) && input.peer.first().is_none_or(|&p| p == 0x81) => {
            Probe::Match(Match::new("NetBIOS positive session response"))
        }
        // §4.3.4 NEGATIVE SESSION RESPONSE: LENGTH 1, ERROR_CODE
        // 0x80 0x81 0x82 0x83 0x8F.
        0x83 if len == 1 => match d.get(4) {
            None => Probe::NeedMore,
            Some(&c @ (0x80..=0x83 | 0x8f)) if next_ok(5) => Probe::Match(Match::new(format!(
                "NetBIOS negative session response (error 0x{c:02x})"
            ))),
            _ => Probe::NoMatch,
        },
        // §4.3.5 RETARGET SESSION RESPONSE: LENGTH 6 (IP + port).
        0x84 if len == 6 => {
            if d.len() < 10 {
                Probe::NeedMore
            } else if next_ok(10) {
                Probe::Match(Match::new("NetBIOS retarget session response"))
            } else {
                Probe::NoMatch
            }
        }
        // §4.3.6 SESSION KEEP ALIVE: LENGTH 0.
        0x85 if len == 0 && next_ok(4) => Probe::Match(Match::new("NetBIOS session keepalive")),
        _ => Probe::NoMatch,
    }
}

impl Protocol for Netbios {
    fn name(&self) -> &'static str {
        "NetBIOS"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[137, 138, 139]
    }
    /// The dns log, `app` "nbns" (the name service; datagram and session service flows write nothing).
    fn parser(&self) -> Option<Box<dyn netsift_proto::Parser>> {
        Some(Box::new(crate::dns::session::DnsParser::for_app(
            crate::dns::session::App::Nbns,
        )))
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        match input.transport {
            Transport::Tcp => session(input),
            _ => match input.data.first() {
                Some(0x10..=0x16) => match datagram(input.data) {
                    Probe::Match(m) => Probe::Match(m),
                    _ => nbns(input),
                },
                _ => nbns(input),
            },
        }
    }
}
