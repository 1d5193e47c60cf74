//! GTP-U header (3GPP TS 29.281 §5.1, §5.2).
//!
//! ```text
//!   7   6   5   4   3   2   1   0
//! +---+---+---+---+---+---+---+---+
//! |  Version  |PT | * | E | S |PN |  octet 1
//! |         Message Type          |  octet 2
//! |       Length (2 octets)       |  octets 3-4
//! | Tunnel Endpoint Identifier (4)|  octets 5-8
//! |  Sequence Number (2, opt)     |  octets 9-10  \ present if any of
//! |  N-PDU Number (opt)           |  octet 11     | E, S or PN is set
//! |  Next Ext Header Type (opt)   |  octet 12     /
//! ```

use crate::DecodeError;

mod field {
    use core::ops::Range;
    pub const FLAGS: usize = 0;
    pub const MSG_TYPE: usize = 1;
    pub const LENGTH: Range<usize> = 2..4;
    pub const TEID: Range<usize> = 4..8;
    pub const NEXT_EXT: usize = 11;
}

/// Length of the mandatory header.
pub const MIN_HEADER_LEN: usize = 8;
/// The GTP-U UDP port (TS 29.281 §4.4.2.3).
pub const UDP_PORT: u16 = 2152;
/// "G-PDU: ... 255": a T-PDU (user IP packet) follows the header.
pub const MSG_G_PDU: u8 = 0xFF;

const FLAG_PT: u8 = 0x10;
const FLAG_E: u8 = 0x04;
const FLAG_S: u8 = 0x02;
const FLAG_PN: u8 = 0x01;

/// A read-only view of a GTP-U (GTPv1, PT=1) packet. `new_checked` checks
/// the version, walks the extension header chain and fixes the header
/// length, so that [`Packet::payload`] cannot fail.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
    header_len: usize,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        let b = buffer.as_ref();
        let Some(&flags) = b.get(field::FLAGS) else {
            return Err(DecodeError::Truncated { layer: "gtp-u" });
        };
        // §5.1: "Version field: This field is used to determine the version
        // of the GTP-U protocol. The version number shall be set to '1'."
        // "Protocol Type (PT): ... GTP (when PT is '1') and GTP' (when PT is
        // '0')."
        if flags >> 5 != 1 || flags & FLAG_PT == 0 {
            return Err(DecodeError::Malformed {
                layer: "gtp-u",
                what: "not GTPv1 with PT=1",
            });
        }
        if b.len() < MIN_HEADER_LEN {
            return Err(DecodeError::Truncated { layer: "gtp-u" });
        }
        let mut header_len = MIN_HEADER_LEN;
        // "If and only if one or more of these three flags are set, the
        // fields Sequence Number, N-PDU and Extension Header shall be
        // present."
        if flags & (FLAG_E | FLAG_S | FLAG_PN) != 0 {
            header_len += 4;
            let Some(&first) = b.get(field::NEXT_EXT) else {
                return Err(DecodeError::Truncated { layer: "gtp-u" });
            };
            // §5.2.1: "The Extension Header Length field specifies the length
            // of the particular Extension header in 4 octets units"; its last
            // octet is the "Next Extension Header Type", 0 ending the chain.
            let mut next = if flags & FLAG_E != 0 { first } else { 0 };
            while next != 0 {
                let Some(&units) = b.get(header_len) else {
                    return Err(DecodeError::Truncated {
                        layer: "gtp-u extension",
                    });
                };
                if units == 0 {
                    return Err(DecodeError::Malformed {
                        layer: "gtp-u extension",
                        what: "zero length",
                    });
                }
                header_len += usize::from(units) * 4;
                let Some(&n) = b.get(header_len - 1) else {
                    return Err(DecodeError::Truncated {
                        layer: "gtp-u extension",
                    });
                };
                next = n;
            }
        }
        if b.len() < header_len {
            return Err(DecodeError::Truncated { layer: "gtp-u" });
        }
        Ok(Packet { buffer, header_len })
    }

    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::MSG_TYPE]
    }

    /// "Length: This field indicates the length in octets of the payload,
    /// i.e. the rest of the packet following the mandatory part of the GTP
    /// header (that is the first 8 octets). The Sequence Number, the N-PDU
    /// Number or any Extension headers shall be considered to be part of
    /// the payload".
    pub fn len_field(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::LENGTH];
        u16::from_be_bytes([b[0], b[1]])
    }

    pub fn teid(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::TEID];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// Header length including optional fields and extension headers.
    pub fn header_len(&self) -> usize {
        self.header_len
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The T-PDU, trimmed to Length when that is within the capture.
    pub fn payload(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        let end = MIN_HEADER_LEN + usize::from(self.len_field());
        let b = b.get(..end).unwrap_or(b);
        b.get(self.header_len..).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g_pdu_with_sequence() {
        // dtls.pcap #3 (after Ethernet, 2 VLAN tags, IPv4, UDP):
        // 30 ff 00 e0 0e2c1dc7: version 1, PT 1, no options, G-PDU,
        // length 224, TEID 0x0e2c1dc7.
        let frame = include_bytes!("../testdata/eth_qinq_gtpu_ipv4_udp.bin");
        let p = Packet::new_checked(&frame[50..]).unwrap();
        assert_eq!(
            (p.msg_type(), p.len_field(), p.teid()),
            (MSG_G_PDU, 224, 0x0e2c_1dc7)
        );
        assert_eq!(p.header_len(), 8);
        assert_eq!(p.payload().len(), 224);
        assert_eq!(p.payload()[0], 0x45);
    }

    #[test]
    fn extension_chain() {
        // E set, one PDU Session Container (0x85) of 1 unit, then end.
        let b = [
            0x34, 0xFF, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0x85, 1, 0x10, 0x05, 0x00, 0x60,
        ];
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.header_len(), 16);
        assert_eq!(p.payload(), &[0x60]);
        for n in 0..16 {
            assert!(Packet::new_checked(&b[..n]).is_err(), "prefix {n}");
        }
        let mut z = b;
        z[12] = 0; // zero-length extension
        assert!(Packet::new_checked(&z[..]).is_err());
        let mut v2 = b;
        v2[0] = 0x48; // GTPv2-C
        assert!(Packet::new_checked(&v2[..]).is_err());
    }
}
