//! ISO transport over TCP (RFC 1006 TPKT carrying ISO 8073 / X.224 class 0
//! TPDUs), shared by the probes whose protocols ride on it (S7Comm,
//! S7CommPlus, ISO 9506 MMS). RDP rides on it too and is told apart by its
//! own probe (a Connection Request with an RDP cookie or RDP_NEG_REQ and no
//! TSAP parameters).
//!
//! RFC 1006 §6: TPKT = vrsn (3), reserved (0), packet length (16 bits, the
//! whole TPKT with its 4-byte header), then one TPDU. ISO 8073 §13.2: a
//! TPDU starts with LI ("length indicator", the header length excluding the
//! LI octet itself, at most 254) and the TPDU code in the high nibble:
//! CR 0xE, CC 0xD, DR 0x8, DC 0xC, DT 0xF, ER 0x7 (§13.1 Table 8; class 0
//! uses only these). §13.7: class 0 DT has LI = 2 and one octet holding EOT
//! (bit 8) and TPDU-NR; the user data follows the header. §13.3.4: CR/CC
//! parameters are (code, length, value) triples; calling TSAP 0xC1, called
//! TSAP 0xC2, TPDU size 0xC0.

use netsift_proto::bytes::be16;

/// What the start of one direction's ISO-on-TCP stream holds.
pub(crate) enum Tsdu<'a> {
    /// The user data of the first DT TPDU (possibly cut short when the
    /// TPKT is not complete yet: `complete` says which), and the called
    /// TSAP of a Connection Request/Confirm seen before it, if any.
    Data {
        user: &'a [u8],
        complete: bool,
        tsap: Option<&'a [u8]>,
    },
    /// Well-formed so far; more bytes are needed to reach user data.
    Short,
    /// Not TPKT/COTP.
    Bad,
}

/// At most this many TPKTs are walked before the first DT.
const MAX_TPKTS: usize = 6;

/// Walk connection TPDUs (CR, CC, DR, ER) up to the first DT.
pub(crate) fn first_dt(d: &[u8]) -> Tsdu<'_> {
    let mut pos = 0;
    let mut tsap = None;
    for _ in 0..MAX_TPKTS {
        let t = d.get(pos..).unwrap_or(&[]);
        // TPKT header: 03 00, length >= 4 + LI octet + code octet.
        if t.first().is_some_and(|&v| v != 3) || t.get(1).is_some_and(|&r| r != 0) {
            return Tsdu::Bad;
        }
        let Some(len) = be16(t, 2).map(usize::from) else {
            return Tsdu::Short;
        };
        if len < 7 {
            return Tsdu::Bad;
        }
        let Some(&li) = t.get(4) else {
            return Tsdu::Short;
        };
        let li = usize::from(li);
        if li < 2 || li == 255 || li + 5 > len {
            return Tsdu::Bad;
        }
        let Some(&code) = t.get(5) else {
            return Tsdu::Short;
        };
        match code >> 4 {
            0xf => {
                // Class 0 DT: LI = 2, EOT/NR octet with NR = 0.
                if li != 2 || t.get(6).is_some_and(|&e| e & 0x7f != 0) {
                    return Tsdu::Bad;
                }
                let end = len.min(t.len());
                let user = t.get(7..end).unwrap_or(&[]);
                return Tsdu::Data {
                    user,
                    complete: t.len() >= len,
                    tsap,
                };
            }
            // CR, CC: fixed part 6 octets after LI (code, DST-REF, SRC-REF,
            // class option); class 0..4 in the high nibble of the option.
            0xe | 0xd => {
                if li < 6 || (code & 0x0f) != 0 {
                    return Tsdu::Bad;
                }
                if t.get(10).is_some_and(|&c| c >> 4 > 4) {
                    return Tsdu::Bad;
                }
                let Some(hdr) = t.get(5..5 + li) else {
                    return Tsdu::Short;
                };
                // Variable part: (code, length, value) triples filling LI.
                let mut p = 6;
                while p < hdr.len() {
                    let (Some(&c), Some(&l)) = (hdr.get(p), hdr.get(p + 1)) else {
                        return Tsdu::Bad;
                    };
                    let Some(v) = hdr.get(p + 2..p + 2 + usize::from(l)) else {
                        return Tsdu::Bad;
                    };
                    if c == 0xc2 {
                        tsap = Some(v);
                    }
                    p += 2 + usize::from(l);
                }
            }
            // DR (LI >= 6), ER (LI >= 4).
            0x8 | 0x7 => {
                if li < 4 {
                    return Tsdu::Bad;
                }
            }
            _ => return Tsdu::Bad,
        }
        if t.len() < len {
            return Tsdu::Short;
        }
        pos += len;
    }
    Tsdu::Bad
}
