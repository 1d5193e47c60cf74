//! Ethernet II / IEEE 802.3 MAC header.
//!
//! ```text
//!  0                   1
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 ...
//! +-----------+-----------+------+------------
//! | dst (6)   | src (6)   | type | payload ...
//! +-----------+-----------+------+------------
//! ```
//! IEEE 802.3-2018 §3.2.6: "Length/Type ... If the value of this field is
//! less than or equal to 1500 decimal (05DC hexadecimal), then the
//! Length/Type field indicates the number of MAC client data octets ...
//! If the value of this field is greater than or equal to 1536 decimal
//! (0600 hexadecimal), then the Length/Type field indicates the Ethertype".

use crate::DecodeError;

/// Ethertype values the decoder recognises.
pub mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const ARP: u16 = 0x0806;
    pub const VLAN: u16 = 0x8100;
    pub const IPV6: u16 = 0x86DD;
    pub const PPP: u16 = 0x880B;
    pub const MPLS_UNICAST: u16 = 0x8847;
    pub const MPLS_MULTICAST: u16 = 0x8848;
    pub const PPPOE_DISCOVERY: u16 = 0x8863;
    pub const PPPOE_SESSION: u16 = 0x8864;
    /// IEEE 802.1ad service tag (QinQ outer tag).
    pub const QINQ: u16 = 0x88A8;
    /// Pre-standard QinQ outer tag used by some vendors.
    pub const QINQ_OLD: u16 = 0x9100;
    pub const ERSPAN_II: u16 = 0x88BE;
    pub const ERSPAN_III: u16 = 0x22EB;
    /// RFC 1701 "Transparent Ethernet Bridging", used by GRE (NVGRE, EoGRE).
    pub const TEB: u16 = 0x6558;
}

mod field {
    use core::ops::Range;
    pub const DESTINATION: Range<usize> = 0..6;
    pub const SOURCE: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
    pub const PAYLOAD: usize = 14;
}

/// Length of the Ethernet header.
pub const HEADER_LEN: usize = field::PAYLOAD;

/// Largest value of the Length/Type field that is an 802.3 length.
pub const MAX_8023_LENGTH: u16 = 1500;

/// A read-only view of an Ethernet frame.
#[derive(Debug, Clone, Copy)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Wrap a buffer, checking it holds a full Ethernet header.
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(DecodeError::Truncated { layer: "ethernet" });
        }
        Ok(Frame { buffer })
    }

    pub fn dst_addr(&self) -> [u8; 6] {
        let mut a = [0; 6];
        a.copy_from_slice(&self.buffer.as_ref()[field::DESTINATION]);
        a
    }

    pub fn src_addr(&self) -> [u8; 6] {
        let mut a = [0; 6];
        a.copy_from_slice(&self.buffer.as_ref()[field::SOURCE]);
        a
    }

    /// The raw Length/Type field.
    pub fn ethertype(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::ETHERTYPE];
        u16::from_be_bytes([b[0], b[1]])
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Frame<&'a T> {
    /// Everything after the 14-byte header (including any padding or FCS).
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }

    /// For an 802.3 length frame, the MAC client data trimmed to the length
    /// field (padding removed); `None` for an Ethernet II frame.
    pub fn llc_payload(&self) -> Option<&'a [u8]> {
        let len = self.ethertype();
        if len > MAX_8023_LENGTH {
            return None;
        }
        let p = self.payload();
        Some(p.get(..len as usize).unwrap_or(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ethernet_ii_fields() {
        // fix2.pcap #1: ARP request, padded to 60 bytes.
        let f = Frame::new_checked(&include_bytes!("../testdata/eth_arp.bin")[..]).unwrap();
        assert_eq!(f.dst_addr(), [0xff; 6]);
        assert_eq!(f.ethertype(), ethertype::ARP);
        assert!(f.llc_payload().is_none());
        assert_eq!(f.payload().len(), 46);
    }

    #[test]
    fn ieee8023_length() {
        // tor.pcap #1: STP BPDU, 802.3 length 0x0026 (38) then 8 bytes of padding.
        let f = Frame::new_checked(&include_bytes!("../testdata/eth_8023_stp.bin")[..]).unwrap();
        assert_eq!(f.dst_addr(), [0x01, 0x80, 0xc2, 0, 0, 0]);
        assert_eq!(f.ethertype(), 38);
        assert_eq!(f.llc_payload().unwrap().len(), 38);
    }

    #[test]
    fn truncated() {
        assert!(Frame::new_checked(&[0u8; 13][..]).is_err());
        assert!(Frame::new_checked(&[0u8; 14][..]).is_ok());
    }
}
