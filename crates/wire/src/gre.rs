//! GRE (RFC 2784, key and sequence number per RFC 2890) and the PPTP
//! "enhanced GRE" header (RFC 2637 §4.1), plus the ERSPAN headers carried
//! inside GRE.
//!
//! ```text
//! RFC 2784/2890:                      RFC 2637 (version 1):
//! +-+-+-+-+-+-----+---------+-----+   +-+-+-+-+-+-----+-+-----+-----+
//! |C|R|K|S|s|Recur|  Flags  | Ver |   |C|R|K|S|s|Recur|A|Flags| Ver |
//! +-+-+-+-+-+-----+---------+-----+   +-+-+-+-+-+-----+-+-----+-----+
//! |        Protocol Type          |   |   Protocol Type (0x880B)    |
//! | Checksum (opt) | Reserved1    |   | Key: Payload Len | Call ID  |
//! |         Key (optional)        |   |   Sequence Number (opt)     |
//! |   Sequence Number (optional)  |   | Acknowledgment Number (opt) |
//! ```

use crate::DecodeError;

mod field {
    use core::ops::Range;
    pub const FLAGS: Range<usize> = 0..2;
    pub const PROTOCOL: Range<usize> = 2..4;
    pub const OPTIONAL: usize = 4;
}

/// Length of the mandatory part of the header.
pub const MIN_HEADER_LEN: usize = field::OPTIONAL;

const FLAG_C: u16 = 0x8000;
const FLAG_R: u16 = 0x4000;
const FLAG_K: u16 = 0x2000;
const FLAG_S: u16 = 0x1000;
const FLAG_STRICT: u16 = 0x0800;
const RECUR: u16 = 0x0700;
const FLAG_A: u16 = 0x0080;
const VERSION: u16 = 0x0007;

/// A read-only view of a GRE packet. `new_checked` verifies that every
/// optional field announced by the flags is present, and rejects versions
/// other than 0 and 1 and the RFC 1701 routing/strict-route/recursion
/// fields (RFC 2784 §2.2: "A receiver MUST discard a packet where any of
/// bits 1-5 are non-zero, unless that receiver implements RFC 1701"; RFC
/// 2890 reuses bits 2 and 3 as K and S).
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        if buffer.as_ref().len() < MIN_HEADER_LEN {
            return Err(DecodeError::Truncated { layer: "gre" });
        }
        let p = Packet { buffer };
        let flags = p.flags();
        match p.version() {
            0 => {
                if flags & (FLAG_R | FLAG_STRICT | RECUR) != 0 {
                    return Err(DecodeError::Malformed {
                        layer: "gre",
                        what: "RFC 1701 routing or recursion bits set",
                    });
                }
            }
            1 => {
                // RFC 2637 §4.1: "C (Bit 0) ... Set to zero. ... K (Bit 2)
                // Key Present. Set to one. ... Protocol Type Set to hex 880B".
                if flags & (FLAG_C | FLAG_R | FLAG_STRICT | RECUR) != 0 || flags & FLAG_K == 0 {
                    return Err(DecodeError::Malformed {
                        layer: "gre",
                        what: "invalid enhanced GRE (PPTP) flags",
                    });
                }
            }
            _ => {
                return Err(DecodeError::Malformed {
                    layer: "gre",
                    what: "unknown version",
                })
            }
        }
        if p.buffer.as_ref().len() < p.header_len() {
            return Err(DecodeError::Truncated { layer: "gre" });
        }
        Ok(p)
    }

    fn flags(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::FLAGS])
    }

    /// 0 for RFC 2784 GRE, 1 for PPTP's enhanced GRE.
    pub fn version(&self) -> u8 {
        (self.flags() & VERSION) as u8
    }

    /// RFC 2784 §2.4: "The Protocol Type field contains the protocol type of
    /// the payload packet. These Protocol Types are defined in [RFC1700] as
    /// 'ETHER TYPES'".
    pub fn protocol(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::PROTOCOL])
    }

    /// RFC 2784 §2.5: "If the Checksum Present bit is set to one, then the
    /// Checksum and the Reserved1 fields are present".
    pub fn has_checksum(&self) -> bool {
        self.flags() & FLAG_C != 0
    }

    /// RFC 2890 §2: "If the Key Present bit is set to 1, then it indicates
    /// that the Key field is present in the GRE header".
    pub fn has_key(&self) -> bool {
        self.flags() & FLAG_K != 0
    }

    /// RFC 2890 §2: "If the Sequence Number Present bit is set to 1, then it
    /// indicates that the Sequence Number field is present".
    pub fn has_seq(&self) -> bool {
        self.flags() & FLAG_S != 0
    }

    /// RFC 2637 §4.1: "A (Bit 8) Acknowledgment sequence number present."
    pub fn has_ack(&self) -> bool {
        self.version() == 1 && self.flags() & FLAG_A != 0
    }

    fn key_offset(&self) -> usize {
        MIN_HEADER_LEN + if self.has_checksum() { 4 } else { 0 }
    }

    fn seq_offset(&self) -> usize {
        self.key_offset() + if self.has_key() { 4 } else { 0 }
    }

    fn ack_offset(&self) -> usize {
        self.seq_offset() + if self.has_seq() { 4 } else { 0 }
    }

    /// Length of the header including optional fields.
    pub fn header_len(&self) -> usize {
        self.ack_offset() + if self.has_ack() { 4 } else { 0 }
    }

    /// The Key field (for version 1: payload length << 16 | call ID).
    pub fn key(&self) -> Option<u32> {
        let o = self.key_offset();
        self.has_key()
            .then(|| be32(&self.buffer.as_ref()[o..o + 4]))
    }

    pub fn seq_number(&self) -> Option<u32> {
        let o = self.seq_offset();
        self.has_seq()
            .then(|| be32(&self.buffer.as_ref()[o..o + 4]))
    }

    pub fn ack_number(&self) -> Option<u32> {
        let o = self.ack_offset();
        self.has_ack()
            .then(|| be32(&self.buffer.as_ref()[o..o + 4]))
    }

    /// PPTP call ID (version 1): the low 16 bits of the Key field.
    pub fn call_id(&self) -> Option<u16> {
        (self.version() == 1)
            .then(|| self.key().map(|k| k as u16))
            .flatten()
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The payload. For version 1 it is trimmed to the Key's "Payload
    /// Length" ("Size of the payload, not including the GRE header") when
    /// that is within the captured bytes.
    pub fn payload(&self) -> &'a [u8] {
        let p = &self.buffer.as_ref()[self.header_len()..];
        match (self.version(), self.key()) {
            (1, Some(k)) => p.get(..(k >> 16) as usize).unwrap_or(p),
            _ => p,
        }
    }
}

/// Length of the ERSPAN type II header.
pub const ERSPAN_II_HEADER_LEN: usize = 8;
/// Length of the ERSPAN type III header without the platform sub-header.
pub const ERSPAN_III_HEADER_LEN: usize = 12;
/// Length of the optional ERSPAN type III platform-specific sub-header.
pub const ERSPAN_III_PLATFORM_LEN: usize = 8;

/// What an ERSPAN header says about the mirrored frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Erspan<'a> {
    pub session_id: u16,
    /// VLAN of the original frame as recorded by the mirroring switch.
    pub vlan: u16,
    /// ERSPAN III frame type: 0 = Ethernet, 2 = IP. Always 0 for type II.
    pub frame_type: u8,
    pub payload: &'a [u8],
}

/// ERSPAN type II header (draft-foschiano-erspan §4.1):
/// ```text
/// |  Ver  |          VLAN         | COS | En|T|    Session ID     |
/// |      Reserved         |                  Index                |
/// ```
pub fn erspan_ii(data: &[u8]) -> Result<Erspan<'_>, DecodeError> {
    let [v0, v1, s0, s1, _, _, _, _, payload @ ..] = data else {
        return Err(DecodeError::Truncated { layer: "erspan" });
    };
    // "Ver: ERSPAN Encapsulation version ... set to 0x1 for Type II".
    if v0 >> 4 != 1 {
        return Err(DecodeError::Malformed {
            layer: "erspan",
            what: "type II header version is not 1",
        });
    }
    Ok(Erspan {
        session_id: u16::from_be_bytes([*s0, *s1]) & 0x03FF,
        vlan: u16::from_be_bytes([*v0, *v1]) & 0x0FFF,
        frame_type: 0,
        payload,
    })
}

/// ERSPAN type III header (draft-foschiano-erspan §4.2):
/// ```text
/// |  Ver  |          VLAN         | COS |BSO|T|     Session ID    |
/// |                          Timestamp                            |
/// |             SGT               |P|    FT   |   Hw ID   |D|Gra|O|
/// ```
/// "O: ... indicates whether or not the optional platform-specific
/// sub-header is present" (8 bytes).
pub fn erspan_iii(data: &[u8]) -> Result<Erspan<'_>, DecodeError> {
    let [v0, v1, s0, s1, _, _, _, _, _, _, ft, flags, rest @ ..] = data else {
        return Err(DecodeError::Truncated { layer: "erspan" });
    };
    // "Ver: ... set to 0x2 for Type III".
    if v0 >> 4 != 2 {
        return Err(DecodeError::Malformed {
            layer: "erspan",
            what: "type III header version is not 2",
        });
    }
    let payload = if flags & 0x01 != 0 {
        rest.get(ERSPAN_III_PLATFORM_LEN..)
            .ok_or(DecodeError::Truncated { layer: "erspan" })?
    } else {
        rest
    };
    Ok(Erspan {
        session_id: u16::from_be_bytes([*s0, *s1]) & 0x03FF,
        vlan: u16::from_be_bytes([*v0, *v1]) & 0x0FFF,
        frame_type: (ft >> 2) & 0x1F,
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pptp_enhanced_gre() {
        // gre.pcapng #1 (after Ethernet, VLAN and IPv4): 30 81 88 0b
        // (K, S, A, version 1, PPP), payload length 0x014a, call ID 0x9850,
        // seq 0x6a, ack 0x8c, then PPP ff 03 00 21 (IPv4).
        let frame = include_bytes!("../testdata/eth_vlan_gre_pptp_ppp_ipv4_udp.bin");
        let p = Packet::new_checked(&frame[38..]).unwrap();
        assert_eq!((p.version(), p.protocol()), (1, 0x880B));
        assert_eq!(p.header_len(), 16);
        assert_eq!(p.call_id(), Some(0x9850));
        assert_eq!(p.seq_number(), Some(0x6a));
        assert_eq!(p.ack_number(), Some(0x8c));
        assert_eq!(p.payload().len(), 0x014a);
        assert_eq!(&p.payload()[..4], &[0xff, 0x03, 0x00, 0x21]);
    }

    #[test]
    fn rfc2890_fields() {
        // C, K and S set: 4 + 4 + 4 + 4 bytes of header.
        let b = [
            0xB0, 0x00, 0x08, 0x00, 0xAB, 0xCD, 0, 0, 0, 0, 0, 7, 0, 0, 0, 9, 0x45,
        ];
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.header_len(), 16);
        assert_eq!(
            (p.key(), p.seq_number(), p.ack_number()),
            (Some(7), Some(9), None)
        );
        assert_eq!(p.payload(), &[0x45]);
        assert!(Packet::new_checked(&b[..15]).is_err());
        // Routing present (RFC 1701) and version 2 are rejected.
        assert!(Packet::new_checked(&[0x40u8, 0, 8, 0][..]).is_err());
        assert!(Packet::new_checked(&[0x00u8, 2, 8, 0][..]).is_err());
        // Version 1 without K.
        assert!(Packet::new_checked(&[0x00u8, 1, 0x88, 0x0b][..]).is_err());
    }

    #[test]
    fn erspan_headers() {
        let ii = [0x10, 0x64, 0x00, 0x05, 0, 0, 0, 0, 0xEE];
        let e = erspan_ii(&ii).unwrap();
        assert_eq!((e.vlan, e.session_id, e.payload), (100, 5, &[0xEEu8][..]));
        assert!(erspan_ii(&ii[..7]).is_err());
        let mut iii = [0u8; 21];
        iii[0] = 0x20;
        iii[3] = 3;
        iii[11] = 0x01; // O: platform sub-header present
        iii[20] = 0xEE;
        let e = erspan_iii(&iii).unwrap();
        assert_eq!(
            (e.session_id, e.frame_type, e.payload),
            (3, 0, &[0xEEu8][..])
        );
        assert!(erspan_iii(&iii[..19]).is_err());
        iii[0] = 0x10;
        assert!(erspan_iii(&iii).is_err());
    }
}
