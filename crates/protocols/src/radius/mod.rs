//! RADIUS (RFC 2865, accounting RFC 2866, dynamic authorization RFC 5176)
//! over UDP, on any port.
//!
//! The 20-byte header's length must equal the datagram and the attributes
//! must fill the rest exactly. A packet without attributes (an
//! Accounting-Response, say) is only a header: it matches when it answers
//! a request of the same identifier seen in the other direction.

use netsift_proto::{
    Direction, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

#[cfg(test)]
mod tests;

/// Radius.
pub struct Radius;

/// RFC 2865 §3: "Length ... The minimum length is 20 and maximum length is
/// 4096."
const MIN_LEN: usize = 20;
const MAX_LEN: usize = 4096;

/// RFC 2865 §3 codes 1-5, 11-13 (Access-Request, -Accept, -Reject,
/// Accounting-Request, -Response, Access-Challenge, Status-Server,
/// Status-Client), RFC 5176 §3 40-45 (Disconnect/CoA Request/ACK/NAK).
fn code_name(c: u8) -> Option<&'static str> {
    match c {
        1 => Some("Access-Request"),
        2 => Some("Access-Accept"),
        3 => Some("Access-Reject"),
        4 => Some("Accounting-Request"),
        5 => Some("Accounting-Response"),
        11 => Some("Access-Challenge"),
        12 => Some("Status-Server"),
        13 => Some("Status-Client"),
        40 => Some("Disconnect-Request"),
        41 => Some("Disconnect-ACK"),
        42 => Some("Disconnect-NAK"),
        43 => Some("CoA-Request"),
        44 => Some("CoA-ACK"),
        45 => Some("CoA-NAK"),
        _ => None,
    }
}

fn is_request(c: u8) -> bool {
    matches!(c, 1 | 4 | 12 | 13 | 40 | 43)
}

/// (code, identifier, attribute count, first attribute type) of a packet
/// filling `d`.
fn parse(d: &[u8]) -> Option<(u8, u8, usize, u8)> {
    let code = *d.first()?;
    code_name(code)?;
    let id = *d.get(1)?;
    // "Length ... indicates the length of the packet including the Code,
    // Identifier, Length, Authenticator and Attribute fields."
    let len = usize::from(u16::from_be_bytes([*d.get(2)?, *d.get(3)?]));
    if len != d.len() || !(MIN_LEN..=MAX_LEN).contains(&len) {
        return None;
    }
    // RFC 2865 §5: "Type (1) | Length (1) | Value ...": "The Length field
    // is one octet, and indicates the length of this Attribute including
    // the Type, Length and Value fields"; type 0 is not assigned.
    let mut at = MIN_LEN;
    let mut n = 0;
    let mut first = 0;
    while at < len {
        let t = *d.get(at)?;
        let l = usize::from(*d.get(at + 1)?);
        if t == 0 || l < 2 || at + l > len {
            return None;
        }
        if n == 0 {
            first = t;
        }
        at += l;
        n += 1;
    }
    Some((code, id, n, first))
}

impl Protocol for Radius {
    fn name(&self) -> &'static str {
        "Radius"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[1812, 1813, 1645, 1646, 3799]
    }
    // RFC 2865 §3: "The Code field is one octet, and identifies the type of
    // RADIUS packet" (1-5, 11-13 here), RFC 5176 §3 adds 40-45; `parse`
    // rejects any other code.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::range(1, 5)
            .or(FirstBytes::range(11, 13))
            .or(FirstBytes::range(40, 45))
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let Some((code, id, n, first)) = parse(input.data) else {
            return Probe::NoMatch;
        };
        let name = code_name(code).unwrap_or("?");
        // A request carries attributes (RFC 2865 §4.1: "An Access-Request
        // SHOULD contain a User-Name attribute"; §4.1/RFC 2866 §4.1 a
        // NAS-IP-Address or NAS-Identifier).
        if n > 0 {
            // Several attributes, or one long enough, are structure enough.
            return Probe::Match(Match::new(format!(
                "RADIUS {name}, identifier {id}, {n} attributes (first type {first})"
            )));
        }
        // RFC 2865 §3: "The Identifier field aids in matching requests and
        // replies": an attribute-less reply must answer the peer's request.
        let answers = input.dir == Direction::ToClient
            && !is_request(code)
            && parse(input.peer).is_some_and(|(pc, pid, _, _)| is_request(pc) && pid == id);
        if answers {
            Probe::Match(Match::new(format!(
                "RADIUS {name}, identifier {id}, answering the request"
            )))
        } else {
            Probe::NoMatch
        }
    }
}
