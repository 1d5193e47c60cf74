//! CoAP (RFC 7252) over UDP, on any port.
//!
//! The 4-byte header is weak, so the whole message must parse: version 1,
//! a token of at most 8 bytes, a code of a defined class, options whose
//! delta/length encoding is valid, whose numbers are registered and whose
//! lengths fit each option's format, and a payload marker followed by a
//! payload. An empty message (code 0.00) must be exactly 4 bytes.

use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

#[cfg(test)]
mod tests;

/// COAP.
pub struct Coap;

/// RFC 7252 §5.10 (Table 4) + RFC 7641 Observe (6), RFC 7959 Block2 (23),
/// Block1 (27), Size2 (28), RFC 7967 No-Response (258), RFC 8613 OSCORE
/// (9), RFC 9175 Echo (252), Request-Tag (292), RFC 8768 Hop-Limit (16),
/// RFC 8132 Q-Block1/2 (19, 31): allowed (min, max) value lengths.
fn option_len(num: u32) -> Option<(usize, usize)> {
    Some(match num {
        1 => (0, 8),       // If-Match
        3 => (1, 255),     // Uri-Host
        4 => (1, 8),       // ETag
        5 => (0, 0),       // If-None-Match
        6 => (0, 3),       // Observe
        7 => (0, 2),       // Uri-Port
        8 => (0, 255),     // Location-Path
        9 => (0, 255),     // OSCORE
        11 => (0, 255),    // Uri-Path
        12 => (0, 2),      // Content-Format
        14 => (0, 4),      // Max-Age
        15 => (0, 255),    // Uri-Query
        16 => (1, 1),      // Hop-Limit
        17 => (0, 2),      // Accept
        19 | 31 => (0, 3), // Q-Block1/2
        20 => (0, 255),    // Location-Query
        23 | 27 => (0, 3), // Block2, Block1
        28 | 60 => (0, 4), // Size2, Size1
        35 => (1, 1034),   // Proxy-Uri
        39 => (1, 255),    // Proxy-Scheme
        252 => (1, 40),    // Echo
        258 => (0, 1),     // No-Response
        292 => (0, 8),     // Request-Tag
        _ => return None,
    })
}

/// RFC 7252 §12.1.1/§12.1.2 codes: 0.01-0.04 methods (RFC 8132 0.05-0.07
/// FETCH/PATCH/iPATCH), 2.01-2.05 + 2.31 (RFC 7959 Continue), 4.00-4.06,
/// 4.08 (RFC 7959), 4.12, 4.13, 4.15, 4.22 (RFC 8132), 4.29 (RFC 8516),
/// 5.00-5.05.
fn code_name(class: u8, detail: u8) -> Option<&'static str> {
    Some(match (class, detail) {
        (0, 1) => "GET",
        (0, 2) => "POST",
        (0, 3) => "PUT",
        (0, 4) => "DELETE",
        (0, 5) => "FETCH",
        (0, 6) => "PATCH",
        (0, 7) => "iPATCH",
        (2, 1..=5) | (2, 31) => "success",
        (4, 0..=6) | (4, 8) | (4, 12) | (4, 13) | (4, 15) | (4, 22) | (4, 29) => "client error",
        (5, 0..=5) => "server error",
        _ => return None,
    })
}

/// RFC 7252 §3.1: option delta/length nibbles 13 and 14 take 1 and 2 more
/// bytes (minus 13 / minus 269); 15 "Reserved for the Payload Marker" (as
/// delta with length 15) and "Reserved for future use" otherwise.
fn ext(nib: u8, d: &[u8], at: &mut usize) -> Option<u32> {
    match nib {
        0..=12 => Some(u32::from(nib)),
        13 => {
            let b = *d.get(*at)?;
            *at += 1;
            Some(u32::from(b) + 13)
        }
        14 => {
            let v = u16::from_be_bytes([*d.get(*at)?, *d.get(*at + 1)?]);
            *at += 2;
            Some(u32::from(v) + 269)
        }
        _ => None,
    }
}

/// Parse a whole message: (type, code text, message id, options, payload
/// length, first Uri-Path segment position).
fn parse(d: &[u8]) -> Option<String> {
    let b0 = *d.first()?;
    // §3: "Version (Ver): 2-bit unsigned integer. ... MUST be set to 1".
    if b0 >> 6 != 1 {
        return None;
    }
    let ty = (b0 >> 4) & 3;
    // "Token Length (TKL) ... Lengths 9-15 are reserved".
    let tkl = usize::from(b0 & 0x0f);
    if tkl > 8 {
        return None;
    }
    let code = *d.get(1)?;
    let mid = u16::from_be_bytes([*d.get(2)?, *d.get(3)?]);
    let (class, detail) = (code >> 5, code & 0x1f);
    // §4.1: "An Empty message has the Code field set to 0.00. The Token
    // Length field MUST be set to 0 and bytes of data MUST NOT be present
    // after the Message ID field."
    if code == 0 {
        // Too weak to tell from random bytes on its own.
        return None;
    }
    let name = code_name(class, detail)?;
    // §4.3: a Reset is always empty; §4.2 an ACK may carry a response, a
    // request is never an ACK/RST.
    if ty == 3 || (class == 0 && ty == 2) {
        return None;
    }
    let mut at = 4 + tkl;
    if d.len() < at {
        return None;
    }
    let mut num: u32 = 0;
    let mut nopts = 0;
    let mut path: Option<(usize, usize)> = None;
    while at < d.len() {
        let h = d[at];
        if h == 0xff {
            // §3: "If present and of non-zero length, it is prefixed by a
            // one-byte Payload Marker (0xFF) ... The presence of a marker
            // followed by a zero-length payload MUST be processed as a
            // message format error."
            if at + 1 >= d.len() {
                return None;
            }
            break;
        }
        at += 1;
        let delta = ext(h >> 4, d, &mut at)?;
        let len = ext(h & 0x0f, d, &mut at)? as usize;
        num = num.checked_add(delta)?;
        let (lo, hi) = option_len(num)?;
        if len < lo || len > hi || at + len > d.len() || nopts >= 32 {
            return None;
        }
        let v = &d[at..at + len];
        // Uri-Host/Uri-Path/Uri-Query/Location-* are strings (§5.10.1).
        if matches!(num, 3 | 8 | 11 | 15 | 20 | 35 | 39)
            && !v.iter().all(|&c| (0x20..0x7f).contains(&c) || c >= 0x80)
        {
            return None;
        }
        if num == 11 && path.is_none() {
            path = Some((at, len));
        }
        at += len;
        nopts += 1;
    }
    let payload = d.len().saturating_sub(at + 1);
    // A lone header with a token is still weak: a request needs an option
    // (a URI), a response an option or a payload.
    if nopts == 0 && (class == 0 || payload == 0) {
        return None;
    }
    let tname = ["CON", "NON", "ACK", "RST"][usize::from(ty)];
    let mut ev = format!("CoAP {tname} {class}.{detail:02} {name}, message id {mid}");
    if let Some((p, l)) = path {
        ev.push_str(&format!(
            ", Uri-Path '{}'",
            netsift_proto::printable(d.get(p..p + l).unwrap_or(&[]), 32)
        ));
    }
    ev.push_str(&format!(", {nopts} options, {payload}-byte payload"));
    Some(ev)
}

impl Protocol for Coap {
    fn name(&self) -> &'static str {
        "COAP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[5683, 5684]
    }
    // RFC 7252 §3: first byte `Ver(2) T(2) TKL(4)`, "Version (Ver) ... MUST
    // be set to 1", "Lengths 9-15 are reserved" for TKL; `parse` also
    // rejects T = 3 (Reset, always empty, §4.3).
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::range(0x40, 0x48)
            .or(FirstBytes::range(0x50, 0x58))
            .or(FirstBytes::range(0x60, 0x68))
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        match parse(input.data) {
            Some(ev) => Probe::Match(Match::new(ev)),
            None => Probe::NoMatch,
        }
    }
}
