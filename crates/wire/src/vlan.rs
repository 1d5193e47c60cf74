//! IEEE 802.1Q VLAN tag (also the 802.1ad S-tag of a QinQ stack).
//!
//! ```text
//! +-----+-----+--------------+-------------------+
//! | PCP | DEI |  VID (12)    | inner Ethertype   |
//! +-----+-----+--------------+-------------------+
//!  \------ TCI (16 bits) ----/
//! ```
//! IEEE 802.1Q-2018 §9.6: "The TCI field is 2 octets in length and contains
//! the PCP, DEI, and VID fields"; the tag is preceded by the TPID (0x8100
//! for a C-TAG, 0x88A8 for an S-TAG), which is the outer frame's Ethertype,
//! so this view starts at the TCI.

use crate::DecodeError;

mod field {
    use core::ops::Range;
    pub const TCI: Range<usize> = 0..2;
    pub const ETHERTYPE: Range<usize> = 2..4;
    pub const PAYLOAD: usize = 4;
}

/// Length of a tag after its TPID.
pub const HEADER_LEN: usize = field::PAYLOAD;

/// A read-only view of a VLAN tag (TCI + encapsulated Ethertype).
#[derive(Debug, Clone, Copy)]
pub struct Tag<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Tag<T> {
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(DecodeError::Truncated { layer: "vlan" });
        }
        Ok(Tag { buffer })
    }

    fn tci(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::TCI];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Priority code point (3 bits).
    pub fn pcp(&self) -> u8 {
        (self.tci() >> 13) as u8
    }

    /// Drop eligible indicator.
    pub fn dei(&self) -> bool {
        self.tci() & 0x1000 != 0
    }

    /// "VID: a 12-bit field specifying the VLAN to which the frame belongs."
    pub fn vid(&self) -> u16 {
        self.tci() & 0x0FFF
    }

    pub fn ethertype(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::ETHERTYPE];
        u16::from_be_bytes([b[0], b[1]])
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Tag<&'a T> {
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qinq_tags() {
        // dns.pcap #4: 81 00 | 01 a5 81 00 | 03 11 88 64 (VLAN 421 then 785, PPPoE)
        let frame = include_bytes!("../testdata/eth_qinq_pppoe_ipv4_udp.bin");
        let outer = Tag::new_checked(&frame[14..]).unwrap();
        assert_eq!((outer.vid(), outer.ethertype()), (421, 0x8100));
        let inner = Tag::new_checked(outer.payload()).unwrap();
        assert_eq!((inner.vid(), inner.ethertype()), (785, 0x8864));
        assert_eq!((inner.pcp(), inner.dei()), (0, false));
    }

    #[test]
    fn pcp_dei() {
        let t = Tag::new_checked(&[0xB0u8, 0x07, 0x08, 0x00][..]).unwrap();
        assert_eq!((t.pcp(), t.dei(), t.vid()), (5, true, 7));
        assert!(Tag::new_checked(&[0u8; 3][..]).is_err());
    }
}
