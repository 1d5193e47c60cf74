//! CAPWAP header (RFC 5415 §4.3), as used on the data channel (UDP 5247).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |CAPWAP Preamble|  HLEN   |   RID   | WBID    |T|F|L|W|M|K|Flags|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Fragment ID          |     Frag Offset         |Rsvd |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 (optional) Radio MAC Address                  |
//! |            (optional) Wireless Specific Information           |
//! |                        Payload ....                           |
//! ```

use crate::DecodeError;

mod field {
    use core::ops::Range;
    pub const PREAMBLE: usize = 0;
    pub const BITS: Range<usize> = 0..4;
    pub const FRAG_ID: Range<usize> = 4..6;
}

/// Length of the fixed header.
pub const MIN_HEADER_LEN: usize = 8;
/// The CAPWAP data channel UDP port (RFC 5415 §3.2).
pub const DATA_PORT: u16 = 5247;
/// The CAPWAP control channel UDP port.
pub const CONTROL_PORT: u16 = 5246;
/// "1 - IEEE 802.11" (RFC 5415 §4.3, WBID).
pub const WBID_IEEE80211: u8 = 1;

const FLAG_T: u32 = 0x100;
const FLAG_F: u32 = 0x80;
const FLAG_L: u32 = 0x40;
const FLAG_W: u32 = 0x20;
const FLAG_M: u32 = 0x10;
const FLAG_K: u32 = 0x08;

/// A read-only view of a plain-text CAPWAP packet.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks the preamble and that HLEN is sane and within the buffer.
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        let b = buffer.as_ref();
        if b.len() < MIN_HEADER_LEN {
            return Err(DecodeError::Truncated { layer: "capwap" });
        }
        // §4.1: "Version: A 4-bit field that contains the version of CAPWAP
        // used in this packet. The value for this specification is zero."
        // "Type: ... zero (0) ... the CAPWAP header follows ... one (1) ...
        // the packet is ... DTLS encrypted" (payload opaque to us).
        if b[field::PREAMBLE] != 0 {
            return Err(DecodeError::Malformed {
                layer: "capwap",
                what: "not a plain-text CAPWAP version 0 header",
            });
        }
        let p = Packet { buffer };
        if p.header_len() < MIN_HEADER_LEN {
            return Err(DecodeError::Malformed {
                layer: "capwap",
                what: "HLEN below 2",
            });
        }
        if p.buffer.as_ref().len() < p.header_len() {
            return Err(DecodeError::Truncated { layer: "capwap" });
        }
        Ok(p)
    }

    fn bits(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::BITS];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// "HLEN: A 5-bit field containing the length of the CAPWAP transport
    /// header in 4-byte words (similar to IP header length). This length
    /// includes the optional headers." In bytes.
    pub fn header_len(&self) -> usize {
        ((self.bits() >> 19) & 0x1F) as usize * 4
    }

    /// Radio ID.
    pub fn rid(&self) -> u8 {
        ((self.bits() >> 14) & 0x1F) as u8
    }

    /// "WBID: A 5-bit field that is the wireless binding identifier."
    pub fn wbid(&self) -> u8 {
        ((self.bits() >> 9) & 0x1F) as u8
    }

    /// "T: The 'Type' 'T' bit indicates the format of the frame being
    /// transported in the payload. When this bit is set to one (1), the
    /// payload has the native frame format indicated by the WBID field.
    /// When this bit is zero (0), the payload is an IEEE 802.3 frame."
    pub fn native_frame(&self) -> bool {
        self.bits() & FLAG_T != 0
    }

    /// "F: The 'Fragment' 'F' bit indicates whether this packet is a
    /// fragment."
    pub fn is_fragment(&self) -> bool {
        self.bits() & FLAG_F != 0
    }

    pub fn is_last_fragment(&self) -> bool {
        self.bits() & FLAG_L != 0
    }

    pub fn has_wireless_info(&self) -> bool {
        self.bits() & FLAG_W != 0
    }

    pub fn has_radio_mac(&self) -> bool {
        self.bits() & FLAG_M != 0
    }

    /// "K: The 'Keep-Alive' 'K' bit indicates the packet is a Data Channel
    /// Keep-Alive packet. This packet is used to map the data channel to the
    /// control channel ... [it] contains no user data".
    pub fn is_keepalive(&self) -> bool {
        self.bits() & FLAG_K != 0
    }

    pub fn fragment_id(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::FRAG_ID];
        u16::from_be_bytes([b[0], b[1]])
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The payload after HLEN words.
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_80211() {
        // capwap.pcap #280 (after Ethernet, IPv4, UDP 12380 -> 5247):
        // 00 20 43 20: HLEN 4 (16 bytes), RID 1, WBID 1, T=1, W=1.
        let frame = include_bytes!("../testdata/eth_capwap_80211_ipv4_dhcp.bin");
        let p = Packet::new_checked(&frame[42..]).unwrap();
        assert_eq!(p.header_len(), 16);
        assert_eq!((p.rid(), p.wbid()), (1, WBID_IEEE80211));
        assert!(p.native_frame());
        assert!(p.has_wireless_info());
        assert!(!p.has_radio_mac() && !p.is_fragment() && !p.is_keepalive());
        assert!(!p.is_last_fragment());
        assert_eq!(p.fragment_id(), 0);
        // 802.11 data, To DS, with Frame Control byte-swapped (Cisco AP).
        assert_eq!(&p.payload()[..2], &[0x01, 0x08]);
    }

    #[test]
    fn dtls_preamble_rejected() {
        // capwap.pcap #1: control channel, preamble 0x01 (DTLS).
        let frame = include_bytes!("../testdata/eth_capwap_control_dtls.bin");
        assert!(Packet::new_checked(&frame[42..]).is_err());
        assert!(Packet::new_checked(&[0u8, 0x08, 0, 0, 0, 0, 0][..]).is_err());
        // HLEN 1 (< 2 words)
        assert!(Packet::new_checked(&[0u8, 0x08, 0, 0, 0, 0, 0, 0][..]).is_err());
        // HLEN 3 but only 8 bytes
        assert!(Packet::new_checked(&[0u8, 0x18, 0, 0, 0, 0, 0, 0][..]).is_err());
    }
}
