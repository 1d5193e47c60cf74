//! RTP (RFC 3550 §5.1) over UDP, and over TCP with RFC 4571 framing, on
//! any port.
//!
//! The fixed header is weak (two version bits), so a flow is RTP only once
//! three packets of one direction agree: version 2, the same SSRC, and
//! sequence numbers going up by small steps. The probe
//! answers NeedMore while it collects them.

use netsift_proto::{
    Direction, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

#[cfg(test)]
mod tests;

/// RTP.
pub struct Rtp;

/// Packets of one direction that must agree.
const NEEDED: u64 = 3;
/// Largest forward step between consecutive packets seen (loss, reorder).
const MAX_STEP: u16 = 16;

/// The fields of an RTP fixed header that the probe tracks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub pt: u8,
    pub seq: u16,
    pub ssrc: u32,
}

/// Parse an RTP fixed header covering the whole packet `d`.
pub(crate) fn header(d: &[u8]) -> Option<Header> {
    // RFC 3550 §5.1: "version (V): 2 bits ... The version defined by this
    // specification is two (2)."
    let b0 = *d.first()?;
    if b0 >> 6 != 2 {
        return None;
    }
    let b1 = *d.get(1)?;
    // "payload type (PT): 7 bits". RFC 5761 §4: RTCP packet types 200-204
    // seen as marker + PT are 72-76; those are RTCP, never RTP.
    let pt = b1 & 0x7f;
    if (72..=76).contains(&pt) {
        return None;
    }
    // "CSRC count (CC): 4 bits" -> 12 + 4*CC header bytes.
    let cc = usize::from(b0 & 0x0f);
    let mut hlen = 12 + 4 * cc;
    // "extension (X): 1 bit ... the fixed header MUST be followed by exactly
    // one header extension": 16-bit profile, 16-bit length in 32-bit words.
    if b0 & 0x10 != 0 {
        let words = u16::from_be_bytes([*d.get(hlen + 2)?, *d.get(hlen + 3)?]);
        hlen += 4 + 4 * usize::from(words);
    }
    if d.len() < hlen {
        return None;
    }
    // "padding (P): 1 bit ... The last octet of the padding contains a count
    // of how many padding octets should be ignored, including itself."
    if b0 & 0x20 != 0 {
        let pad = usize::from(*d.last()?);
        if pad == 0 || hlen + pad > d.len() {
            return None;
        }
    }
    let ssrc = u32::from_be_bytes(d.get(8..12)?.try_into().ok()?);
    Some(Header {
        pt,
        seq: u16::from_be_bytes([d[2], d[3]]),
        ssrc,
    })
}

/// Well-known static payload types (RFC 3551 §6, Table 4/5).
pub(crate) fn pt_name(pt: u8) -> &'static str {
    match pt {
        0 => "PCMU",
        3 => "GSM",
        4 => "G723",
        8 => "PCMA",
        9 => "G722",
        13 => "CN",
        14 => "MPA",
        18 => "G729",
        26 => "JPEG",
        31 => "H261",
        32 => "MPV",
        33 => "MP2T",
        34 => "H263",
        96..=127 => "dynamic",
        _ => "unassigned",
    }
}

/// Scratch word per direction: bits 0..32 SSRC, 32..48 last sequence,
/// 48..55 PT, 56..60 count of agreeing packets.
fn pack(h: Header, count: u64) -> u64 {
    u64::from(h.ssrc) | u64::from(h.seq) << 32 | u64::from(h.pt) << 48 | count << 56
}

/// Track one more RTP packet of `slot`; Some(evidence) once enough agree.
pub(crate) fn track(scratch: &mut ProbeScratch, slot: usize, h: Header) -> Option<String> {
    let prev = scratch.0[slot & 1];
    let count = (prev >> 56) & 0x0f;
    // RFC 3550 §5.1: the SSRC identifies the stream; the payload type may
    // change within it ("a receiver MUST ignore packets with payload types
    // that it does not understand", e.g. RFC 4733 telephone events or
    // comfort noise interleaved with audio), so only the SSRC must agree.
    let same_stream = count > 0 && prev as u32 == h.ssrc;
    let step = h.seq.wrapping_sub((prev >> 32) as u16);
    let count = if same_stream && (1..=MAX_STEP).contains(&step) {
        count + 1
    } else if same_stream && step == 0 {
        // A duplicate: neither progress nor a reason to start over.
        return None;
    } else {
        1
    };
    scratch.0[slot & 1] = pack(h, count.min(15));
    (count >= NEEDED).then(|| {
        format!(
            "RTP: SSRC 0x{:08x}, PT {} ({}), {count} packets in sequence",
            h.ssrc,
            h.pt,
            pt_name(h.pt)
        )
    })
}

/// RFC 4571 §2: "LENGTH ... followed by the RTP or RTCP packet". Walk the
/// framed packets of a TCP stream prefix; all must be RTP of one stream.
fn probe_tcp(d: &[u8]) -> Probe {
    let mut scratch = ProbeScratch::default();
    let mut at = 0usize;
    for k in 0..NEEDED {
        let (Some(&hi), Some(&lo)) = (d.get(at), d.get(at + 1)) else {
            return Probe::NeedMore;
        };
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        if len < 12 {
            return Probe::NoMatch;
        }
        // The header alone decides as soon as it is in.
        let Some(pkt) = d.get(at + 2..at + 2 + len) else {
            return match d.get(at + 2..) {
                Some(part) if part.len() < 12 || header(part).is_some() => Probe::NeedMore,
                _ => Probe::NoMatch,
            };
        };
        let Some(h) = header(pkt) else {
            return Probe::NoMatch;
        };
        if let Some(ev) = track(&mut scratch, 0, h) {
            return Probe::Match(Match::new(format!("{ev} (RFC 4571 framing over TCP)")));
        }
        // Every framed packet must continue the first one's stream.
        if (scratch.0[0] >> 56) & 0x0f != k + 1 {
            return Probe::NoMatch;
        }
        at += 2 + len;
    }
    Probe::NoMatch
}

impl Protocol for Rtp {
    fn name(&self) -> &'static str {
        "RTP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[]
    }
    // RFC 3550 §5.1: "version (V): 2 bits ... The version defined by this
    // specification is two (2)." Over TCP the RFC 4571 length comes first,
    // and a short prefix waits whatever its first byte.
    fn first_bytes(&self, transport: Transport) -> FirstBytes {
        match transport {
            Transport::Tcp => FirstBytes::ANY,
            _ => FirstBytes::range(0x80, 0xbf),
        }
    }

    fn probe(&self, input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Probe {
        if input.transport == Transport::Tcp {
            return probe_tcp(input.data);
        }
        let Some(h) = header(input.data) else {
            return Probe::NoMatch;
        };
        match track(scratch, usize::from(input.dir == Direction::ToClient), h) {
            Some(ev) => Probe::Match(Match::new(ev)),
            None => Probe::NeedMore,
        }
    }
}
