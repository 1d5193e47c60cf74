//! RTCP (RFC 3550 §6) and SRTCP (RFC 3711 §3.4) over UDP, on any port
//! (RTCP-mux, RFC 5761, puts it on the RTP port).
//!
//! A datagram is a compound packet: RTCP packets back to back, each with
//! version 2 and a length field, the first a report (SR or RR). A plain
//! compound packet that walks exactly to the end of the datagram with at
//! least two packets (the report and the SDES that §6.1 requires) matches.
//! A datagram holding a single report, or an SRTCP packet (cleartext first
//! header, encrypted rest, then E flag + SRTCP index and an authentication
//! tag), is too weak alone: two of them from the same SSRC must be seen,
//! SRTCP indexes increasing.

use netsift_proto::{
    Direction, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

#[cfg(test)]
mod tests;

/// RTCP.
pub struct Rtcp;

/// RFC 3550 §12.1 (200 SR, 201 RR, 202 SDES, 203 BYE, 204 APP), RFC 4585
/// §6.1 (205 RTPFB, 206 PSFB), RFC 3611 §2 (207 XR).
fn pt_ok(pt: u8) -> bool {
    (200..=207).contains(&pt)
}

fn pt_name(pt: u8) -> &'static str {
    match pt {
        200 => "SR",
        201 => "RR",
        202 => "SDES",
        203 => "BYE",
        204 => "APP",
        205 => "RTPFB",
        206 => "PSFB",
        _ => "XR",
    }
}

enum Shape {
    /// A plain compound packet of `n` RTCP packets.
    Plain { n: usize },
    /// SRTCP: first header in clear, then E + 31-bit index.
    Srtcp { index: u32 },
}

/// The first RTCP packet's header: (packet type, byte length) when sane.
fn report_header(d: &[u8]) -> Option<(u8, usize, u32)> {
    let b0 = *d.first()?;
    // §6.4.1: "version (V): 2 bits ... is two (2)".
    if b0 >> 6 != 2 {
        return None;
    }
    let rc = usize::from(b0 & 0x1f);
    let pt = *d.get(1)?;
    // §6.1: "The first RTCP packet in the compound packet MUST always be a
    // report packet to facilitate header validation".
    if pt != 200 && pt != 201 {
        return None;
    }
    // §6.4.1: "length: 16 bits. The length of this RTCP packet in 32-bit
    // words minus one, including the header and any padding."
    let words = usize::from(u16::from_be_bytes([*d.get(2)?, *d.get(3)?]));
    // SR: header + SSRC + 20-byte sender info + 24 per report block
    // (§6.4.1) = 6 + 6*RC words past the first; RR: 1 + 6*RC (§6.4.2).
    let min = if pt == 200 { 6 + 6 * rc } else { 1 + 6 * rc };
    if words < min {
        return None;
    }
    // §6.4.1: padding only on the last packet of a compound packet; a
    // first packet with P set must be alone, checked by the walk.
    let ssrc = u32::from_be_bytes(d.get(4..8)?.try_into().ok()?);
    Some((pt, (words + 1) * 4, ssrc))
}

fn shape(d: &[u8]) -> Option<(Shape, u8, u32)> {
    let (pt0, len0, ssrc) = report_header(d)?;
    // Walk the compound packet.
    let mut at = 0usize;
    let mut n = 0usize;
    let mut plain = true;
    while at < d.len() && n < 32 {
        let (Some(&b0), Some(&pt)) = (d.get(at), d.get(at + 1)) else {
            plain = false;
            break;
        };
        let words = match (d.get(at + 2), d.get(at + 3)) {
            (Some(&h), Some(&l)) => usize::from(u16::from_be_bytes([h, l])),
            _ => {
                plain = false;
                break;
            }
        };
        if b0 >> 6 != 2 || !pt_ok(pt) || at + (words + 1) * 4 > d.len() {
            plain = false;
            break;
        }
        at += (words + 1) * 4;
        n += 1;
    }
    if plain && at == d.len() {
        return Some((Shape::Plain { n }, pt0, ssrc));
    }
    // RFC 3711 §3.4: "| E | SRTCP index |" (32 bits) after the encrypted
    // portion, then the authentication tag, "RECOMMENDED ... 80 bits" with
    // HMAC-SHA1 (§4.2.1), 32 bits with the _32 suite; none with AEAD (RFC
    // 7714 §9.1: the tag is inside the encrypted portion). The first header and
    // SSRC stay in clear ("the first 8 octets").
    for tag in [10usize, 4, 0] {
        let Some(at) = d.len().checked_sub(tag + 4) else {
            continue;
        };
        if at < len0.min(8) || at < 8 {
            continue;
        }
        let Some(w) = d.get(at..at + 4) else {
            continue;
        };
        let word = u32::from_be_bytes([w[0], w[1], w[2], w[3]]);
        let index = word & 0x7fff_ffff;
        // A fresh session's index starts at 0 and grows by one per packet;
        // E (encryption) is set in practice.
        if word & 0x8000_0000 != 0 && index < 1 << 20 {
            return Some((Shape::Srtcp { index }, pt0, ssrc));
        }
    }
    None
}

impl Protocol for Rtcp {
    fn name(&self) -> &'static str {
        "RTCP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[]
    }
    // RFC 3550 §6.4.1: "version (V): 2 bits. Identifies the version of RTP,
    // which is the same in RTCP packets as in RTP data packets. The version
    // defined by this specification is two (2)." (SRTCP keeps the first
    // header in clear, RFC 3711 §3.4.)
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::range(0x80, 0xbf)
    }
    fn probe(&self, input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Probe {
        let Some((shape, pt, ssrc)) = shape(input.data) else {
            return Probe::NoMatch;
        };
        let slot = usize::from(input.dir == Direction::ToClient);
        // Scratch word: bit 63 seen, bit 62 SRTCP, 32..52 index, 0..32 SSRC.
        let prev = scratch.0[slot];
        let seen = prev >> 63 == 1 && prev as u32 == ssrc;
        match shape {
            Shape::Plain { n } if n >= 2 => Probe::Match(Match::new(format!(
                "RTCP compound packet: {} then {} more, SSRC 0x{ssrc:08x}",
                pt_name(pt),
                n - 1
            ))),
            Shape::Plain { .. } => {
                if seen && (prev >> 62) & 1 == 0 {
                    return Probe::Match(Match::new(format!(
                        "RTCP: {} reports from SSRC 0x{ssrc:08x} in two datagrams",
                        pt_name(pt)
                    )));
                }
                scratch.0[slot] = 1 << 63 | u64::from(ssrc);
                Probe::NeedMore
            }
            Shape::Srtcp { index } => {
                let pi = ((prev >> 32) & 0xf_ffff) as u32;
                if seen && (prev >> 62) & 1 == 1 && index > pi && index - pi <= 16 {
                    return Probe::Match(Match::new(format!(
                        "SRTCP: {} from SSRC 0x{ssrc:08x}, SRTCP index {pi} then {index}",
                        pt_name(pt)
                    )));
                }
                scratch.0[slot] = 3 << 62 | u64::from(index) << 32 | u64::from(ssrc);
                Probe::NeedMore
            }
        }
    }
}
