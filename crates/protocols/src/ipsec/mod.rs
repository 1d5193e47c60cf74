//! IPSec, as nDPI names it all: IKEv1 (RFC 2408/2409) and IKEv2 (RFC 7296)
//! over UDP on any port, IKE and ESP under UDP encapsulation for NAT
//! traversal (RFC 3948), ESP (RFC 4303) as IP protocol 50 and AH (RFC
//! 4302) as IP protocol 51.
//!
//! An IKE message has a 28-byte header whose length field covers the whole
//! datagram and, when not encrypted, a chain of payloads that must fill it
//! exactly. ESP and AH arrive on their own IP protocol numbers, so their
//! header (SPI outside the reserved range, a sequence number) suffices.
//! ESP inside UDP is only an SPI and a counter: it needs three packets with
//! one SPI and growing sequence numbers, and port 4500, which RFC 3948
//! assigns to the encapsulation, picks that variant.

use netsift_proto::bytes::be32;
use netsift_proto::{Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

#[cfg(test)]
mod tests;

/// IPSec.
pub struct Ipsec;

/// RFC 7296 §3.1 / RFC 2408 §3.1: the IKE header is 28 octets.
const IKE_HDR: usize = 28;
/// RFC 3948 §2.2: "Non-ESP Marker: 4 bytes ... MUST be zero".
const NON_ESP_MARKER: [u8; 4] = [0; 4];
/// RFC 3948 §4: the IKE and ESP-in-UDP port.
const NATT_PORT: u16 = 4500;

/// RFC 2408 §3.1 / RFC 7296 §3.2 next payload types: IKEv1 0-13 (+ RFC
/// 3947 NAT-D 20, NAT-OA 21, and the draft values 130/131); IKEv2 33-54.
fn next_payload_ok(v2: bool, np: u8) -> bool {
    if v2 {
        np == 0 || (33..=54).contains(&np)
    } else {
        matches!(np, 0..=13 | 20 | 21 | 130 | 131)
    }
}

/// Exchange types: RFC 2408 §3.1 (1 Base, 2 Identity Protection, 3 Auth
/// Only, 4 Aggressive, 5 Informational), RFC 2409 §5.5/§5.6 (32 Quick
/// Mode, 33 New Group Mode); RFC 7296 §3.1 (34 IKE_SA_INIT, 35 IKE_AUTH,
/// 36 CREATE_CHILD_SA, 37 INFORMATIONAL), RFC 5723 43 IKE_SESSION_RESUME,
/// RFC 9242 43.. 44 IKE_INTERMEDIATE, RFC 9370 IKE_FOLLOWUP_KE.
fn exchange_name(v2: bool, x: u8) -> Option<&'static str> {
    match (v2, x) {
        (false, 1) => Some("Base"),
        (false, 2) => Some("Main Mode"),
        (false, 3) => Some("Authentication Only"),
        (false, 4) => Some("Aggressive Mode"),
        (false, 5) => Some("Informational"),
        (false, 32) => Some("Quick Mode"),
        (false, 33) => Some("New Group Mode"),
        (true, 34) => Some("IKE_SA_INIT"),
        (true, 35) => Some("IKE_AUTH"),
        (true, 36) => Some("CREATE_CHILD_SA"),
        (true, 37) => Some("INFORMATIONAL"),
        (true, 38) => Some("IKE_SESSION_RESUME"),
        (true, 43) => Some("IKE_INTERMEDIATE"),
        (true, 44) => Some("IKE_FOLLOWUP_KE"),
        _ => None,
    }
}

/// An IKE message filling `d` exactly.
fn ike(d: &[u8]) -> Option<String> {
    // "Initiator's SPI (8 octets) - A value chosen by the initiator ...
    // This value MUST NOT be zero." (RFC 7296 §3.1)
    let ispi = d.get(0..8)?;
    if ispi == [0; 8] {
        return None;
    }
    let np = *d.get(16)?;
    // "Major Version (4 bits) ... MUST set the major version to 2"; IKEv1
    // (RFC 2408 §3.1) major 1; minor 0 in both.
    let version = *d.get(17)?;
    let v2 = match version {
        0x20 => true,
        0x10 => false,
        _ => return None,
    };
    let exch = exchange_name(v2, *d.get(18)?)?;
    let flags = *d.get(19)?;
    // "Length (4 octets, unsigned integer) - Length of the total message
    // (header + payloads) in octets."
    let len = be32(d, 24)? as usize;
    if len != d.len() || !next_payload_ok(v2, np) || np == 0 {
        return None;
    }
    if v2 {
        // RFC 7296 §3.1 flags: only I (0x08), V (0x10), R (0x20) defined;
        // "the other bits MUST be cleared when sending".
        if flags & !0x38 != 0 {
            return None;
        }
    } else if flags & !0x07 != 0 {
        // RFC 2408 §3.1: E (1), C (2), A (4).
        return None;
    }
    // Walk the payload chain: "Next Payload (1 octet) ... Payload Length
    // (2 octets) ... including the generic payload header" (RFC 7296 §3.2).
    // IKEv1 with E set is encrypted after the header; IKEv2's Encrypted
    // payload (46) is the last one.
    if !v2 && flags & 1 != 0 {
        return Some(describe(v2, exch, ispi, "encrypted"));
    }
    let mut at = IKE_HDR;
    let mut next = np;
    let mut n = 0;
    while next != 0 {
        if n >= 32 || !next_payload_ok(v2, next) {
            return None;
        }
        let plen = usize::from(u16::from_be_bytes([*d.get(at + 2)?, *d.get(at + 3)?]));
        if plen < 4 || at + plen > d.len() {
            return None;
        }
        let this = next;
        next = *d.get(at)?;
        at += plen;
        n += 1;
        if v2 && this == 46 {
            break;
        }
    }
    if at != d.len() {
        return None;
    }
    Some(describe(v2, exch, ispi, &format!("{n} payloads")))
}

fn describe(v2: bool, exch: &str, ispi: &[u8], what: &str) -> String {
    let spi = ispi.iter().fold(0u64, |a, &b| a << 8 | u64::from(b));
    format!(
        "IKEv{} {exch}, initiator SPI {spi:016x}, {what}",
        if v2 { 2 } else { 1 }
    )
}

/// RFC 4303 §2.1: "The SPI value of zero (0) is reserved for local,
/// implementation-specific use ... values 1 through 255 are reserved by
/// IANA"; §2.2: the sequence number "is initialized to 0 when an SA is
/// established ... the first packet sent using a given SA will contain a
/// sequence number of 1".
fn esp(d: &[u8]) -> Option<(u32, u32)> {
    let spi = be32(d, 0)?;
    let seq = be32(d, 4)?;
    // SPI, sequence number, and at least an IV/payload block + ICV.
    (spi >= 256 && seq >= 1 && d.len() >= 16).then_some((spi, seq))
}

/// RFC 4302 §2: "Next Header (8 bits) | Payload Len (8 bits) | RESERVED
/// (16 bits) | SPI | Sequence Number | ICV": Payload Len is "the length of
/// AH in 32-bit words (4-byte units), minus 2"; "RESERVED ... MUST be set
/// to zero".
fn ah(d: &[u8]) -> Option<String> {
    let words = usize::from(*d.get(1)?);
    if d.get(2..4)? != [0, 0] || (words + 2) * 4 > d.len() || words < 1 {
        return None;
    }
    let spi = be32(d, 4)?;
    let seq = be32(d, 8)?;
    (spi >= 256 && seq >= 1).then(|| {
        format!(
            "AH: SPI 0x{spi:08x}, sequence {seq}, {}-byte ICV",
            (words + 2) * 4 - 12
        )
    })
}

impl Protocol for Ipsec {
    fn name(&self) -> &'static str {
        "IPSec"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Ip(50), Transport::Ip(51)]
    }
    fn ports(&self) -> &'static [u16] {
        &[500, NATT_PORT]
    }
    fn probe(&self, input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        match input.transport {
            Transport::Ip(50) => match esp(d) {
                Some((spi, seq)) => {
                    Probe::Match(Match::new(format!("ESP: SPI 0x{spi:08x}, sequence {seq}")))
                }
                None => Probe::NoMatch,
            },
            Transport::Ip(51) => match ah(d) {
                Some(ev) => Probe::Match(Match::new(ev)),
                None => Probe::NoMatch,
            },
            Transport::Udp => udp(input, scratch),
            _ => Probe::NoMatch,
        }
    }
}

fn udp(input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Probe {
    let d = input.data;
    if let Some(ev) = ike(d) {
        return Probe::Match(Match::new(ev));
    }
    // RFC 3948 §2.2: on the NAT-T port, IKE follows a zero Non-ESP Marker.
    if d.get(..4) == Some(&NON_ESP_MARKER[..]) {
        return match d.get(4..).and_then(ike) {
            Some(ev) => Probe::Match(Match::new(format!("{ev} (UDP-encapsulated)"))),
            None => Probe::NoMatch,
        };
    }
    if !input.either_port(NATT_PORT) {
        return Probe::NoMatch;
    }
    // RFC 3948 §2.3: "NAT-keepalive Packet ... 0xFF" says nothing alone.
    if d == [0xff] {
        return Probe::NeedMore;
    }
    // RFC 3948 §2.1: ESP in UDP is the ESP header right after UDP's.
    let Some((spi, seq)) = esp(d) else {
        return Probe::NoMatch;
    };
    let slot = usize::from(input.dir == Direction::ToClient);
    // Scratch word: 0..32 SPI, 32..60 low sequence bits, 60..63 count.
    let prev = scratch.0[slot];
    let count = prev >> 60;
    let pseq = ((prev >> 32) & 0x0fff_ffff) as u32;
    let lseq = seq & 0x0fff_ffff;
    let count = if count > 0 && prev as u32 == spi && lseq > pseq && lseq - pseq <= 16 {
        count + 1
    } else {
        1
    };
    scratch.0[slot] = count.min(7) << 60 | u64::from(lseq) << 32 | u64::from(spi);
    if count >= 3 {
        return Probe::Match(Match::new(format!(
            "ESP in UDP (RFC 3948): SPI 0x{spi:08x}, {count} packets in sequence up to {seq}"
        )));
    }
    Probe::NeedMore
}
