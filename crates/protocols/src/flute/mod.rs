//! FLUTE, File Delivery over Unidirectional Transport (RFC 6726; v1 RFC
//! 3926), carried in ALC (RFC 5775) packets with an LCT header (RFC 5651).
//!
//! RFC 5651 §5.1, the LCT header: V (4 bits, LCT version 1), C (2, CCI
//! length 32*(C+1) bits), PSI (2), S (1), O (2), H (1) — TSI length
//! 32*S+16*H bits, TOI length 32*O+16*H bits — Res (2, zero), A, B;
//! HDR_LEN (8, the header length in 32-bit words); Codepoint (8); CCI,
//! TSI, TOI; then header extensions up to HDR_LEN: HET >= 128 is a fixed
//! 4-octet extension, HET < 128 has HEL (length in words, at least 1).
//! FLUTE sends the File Delivery Table as TOI 0 with the EXT_FDT extension
//! (HET 192, RFC 6726 §3.4.1), whose payload is an XML FDT-Instance.
//!
//! A TOI-0 packet carrying EXT_FDT matches at once; other ALC packets are
//! confirmed by a second packet of the same session (same TSI and header
//! shape).

use netsift_proto::bytes::{be16, be32, u8_at};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// FLUTE.
pub struct Flute;

struct Lct {
    hdr_len: usize,
    tsi: u64,
    toi: u64,
    fdt: bool,
    shape: u16,
}

fn field(d: &[u8], off: usize, bits: usize) -> Option<u64> {
    Some(match bits {
        0 => 0,
        16 => u64::from(be16(d, off)?),
        32 => u64::from(be32(d, off)?),
        48 => (u64::from(be16(d, off)?) << 32) | u64::from(be32(d, off + 2)?),
        64 => (u64::from(be32(d, off)?) << 32) | u64::from(be32(d, off + 4)?),
        _ => return None,
    })
}

fn lct(d: &[u8]) -> Option<Lct> {
    let (b0, b1, hl) = (u8_at(d, 0)?, u8_at(d, 1)?, u8_at(d, 2)?);
    // V = 1; Res bits zero.
    if b0 >> 4 != 1 || b1 & 0x0c != 0 {
        return None;
    }
    let c = usize::from((b0 >> 2) & 3);
    let s = usize::from(b1 >> 7);
    let o = usize::from((b1 >> 5) & 3);
    let h = usize::from((b1 >> 4) & 1);
    let cci = 32 * (c + 1);
    let tsi_bits = 32 * s + 16 * h;
    let toi_bits = 32 * o + 16 * h;
    let hdr_len = usize::from(hl) * 4;
    let fixed = 4 + (cci + tsi_bits + toi_bits) / 8;
    if tsi_bits == 0 || hdr_len < fixed || hdr_len > d.len() {
        return None;
    }
    let tsi = field(d, 4 + cci / 8, tsi_bits)?;
    let toi = if toi_bits <= 64 {
        field(d, 4 + (cci + tsi_bits) / 8, toi_bits)?
    } else {
        1
    };
    // Header extensions fill the rest of the header exactly.
    let mut e = fixed;
    let mut fdt = false;
    while e < hdr_len {
        let het = u8_at(d, e)?;
        let len = if het >= 128 {
            4
        } else {
            usize::from(u8_at(d, e + 1)?) * 4
        };
        if len == 0 {
            return None;
        }
        // EXT_FDT (192): V (4 bits, FLUTE version 1 or 2).
        if het == 192 && matches!(u8_at(d, e + 1)? >> 4, 1 | 2) {
            fdt = true;
        }
        e += len;
    }
    if e != hdr_len {
        return None;
    }
    Some(Lct {
        hdr_len,
        tsi,
        toi,
        fdt,
        shape: u16::from_be_bytes([b0, b1 & 0xfc]),
    })
}

impl Protocol for Flute {
    fn name(&self) -> &'static str {
        "FLUTE"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    // RFC 5651 §5.1: "LCT version number (V): 4 bits. ... The LCT version
    // number for this specification is 1." V is the high nibble of the
    // first octet: 0x10-0x1F.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::range(0x10, 0x1f)
    }
    fn probe(&self, input: &ProbeInput<'_>, s: &mut ProbeScratch) -> Probe {
        let Some(h) = lct(input.data) else {
            return Probe::NoMatch;
        };
        if h.toi == 0 && h.fdt {
            // The FDT payload (after a FEC Payload ID) is XML.
            let body = input.data.get(h.hdr_len..).unwrap_or(&[]);
            if body
                .windows(5)
                .take(16)
                .any(|w| w == b"<?xml" || w == b"<FDT-")
            {
                return Probe::Match(Match::new(format!(
                    "FLUTE FDT instance (TSI {}, TOI 0)",
                    h.tsi
                )));
            }
        }
        // Same session twice: TSI and header shape.
        let sig = (h.tsi << 16) | u64::from(h.shape) | (1 << 63);
        if s.0[0] == sig {
            return Probe::Match(Match::new(format!(
                "FLUTE/ALC session TSI {}, object TOI {}",
                h.tsi, h.toi
            )));
        }
        s.0[0] = sig;
        Probe::NeedMore
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, evidence, feed_evidence, probe1, C,
    };

    const UDP: Transport = Transport::Udp;
    // Sources: testdata/README.md.
    const FDT: &[u8] = include_bytes!("testdata/fdt.bin");
    const OBJECT: &[u8] = include_bytes!("testdata/object.bin");

    #[test]
    fn fdt_and_session() {
        assert_eq!(
            evidence(probe1(&Flute, UDP, C, FDT)),
            "FLUTE FDT instance (TSI 0, TOI 0)"
        );
        assert_eq!(probe1(&Flute, UDP, C, OBJECT), Probe::NeedMore);
        assert_eq!(
            feed_evidence(&Flute, UDP, 40085, &[(C, OBJECT), (C, OBJECT)]),
            "FLUTE/ALC session TSI 0, object TOI 1"
        );
        for i in 0..FDT.len() {
            let _ = probe1(&Flute, UDP, C, &FDT[..i]);
        }
    }

    #[test]
    fn first_bytes_declared() {
        use crate::testkit::first_bytes_hold;
        use crate::testkit::input;
        first_bytes_hold(&Flute, &input(UDP, C, FDT, &[], 0));
        first_bytes_hold(&Flute, &input(UDP, C, OBJECT, &[], 0));
    }

    #[test]
    fn rejects_random_and_foreign() {
        assert_random_flows_rejected(&Flute, UDP, 4001);
        assert_foreign_rejected(&Flute, "flute");
    }
}
