//! IEEE 802.2 LLC header and the SNAP extension (RFC 1042).
//!
//! ```text
//! +------+------+---------+   SNAP (DSAP = SSAP = 0xAA, control 0x03):
//! | DSAP | SSAP | control |   +-----------+----------+
//! +------+------+---------+   | OUI (3)   | PID (2)  |
//!                              +-----------+----------+
//! ```
//! RFC 1042: "The 24-bit Organization Code is 0 ... the 16-bit EtherType
//! (protocol type) field".  IEEE 802.2 §5.2: the control field is one octet
//! for U-format PDUs (two low bits 11) and two octets for I- and S-format.

use crate::DecodeError;

mod field {
    pub const DSAP: usize = 0;
    pub const SSAP: usize = 1;
    pub const CONTROL: usize = 2;
}

/// Minimum LLC header length (U-format, one-byte control).
pub const HEADER_LEN: usize = 3;
/// Length of LLC + SNAP header.
pub const SNAP_HEADER_LEN: usize = 8;

/// SAP value announcing a SNAP header.
pub const SAP_SNAP: u8 = 0xAA;

/// A read-only view of an LLC PDU.
#[derive(Debug, Clone, Copy)]
pub struct Pdu<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Pdu<T> {
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(DecodeError::Truncated { layer: "llc" });
        }
        // I- and S-format PDUs have a 2-byte control field.
        if b[field::CONTROL] & 0x03 != 0x03 && b.len() < HEADER_LEN + 1 {
            return Err(DecodeError::Truncated { layer: "llc" });
        }
        Ok(Pdu { buffer })
    }

    pub fn dsap(&self) -> u8 {
        self.buffer.as_ref()[field::DSAP]
    }

    pub fn ssap(&self) -> u8 {
        self.buffer.as_ref()[field::SSAP]
    }

    pub fn control(&self) -> u8 {
        self.buffer.as_ref()[field::CONTROL]
    }

    /// Header length: 3 for U-format, 4 for I/S-format.
    pub fn header_len(&self) -> usize {
        if self.control() & 0x03 == 0x03 {
            3
        } else {
            4
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Pdu<&'a T> {
    /// If this is a SNAP PDU with an encapsulated Ethertype (OUI 00-00-00
    /// per RFC 1042 or 00-00-F8 per IEEE 802.1H), its Ethertype and payload.
    pub fn snap_ethertype(&self) -> Option<(u16, &'a [u8])> {
        let b = self.buffer.as_ref();
        if b.len() < SNAP_HEADER_LEN
            || self.dsap() != SAP_SNAP
            || self.ssap() & 0xFE != SAP_SNAP
            || self.control() != 0x03
        {
            return None;
        }
        let oui = [b[3], b[4], b[5]];
        if oui != [0, 0, 0] && oui != [0, 0, 0xF8] {
            return None;
        }
        Some((u16::from_be_bytes([b[6], b[7]]), &b[SNAP_HEADER_LEN..]))
    }

    /// Payload after the LLC header (SNAP, if any, not removed).
    pub fn payload(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        b.get(self.header_len()..).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stp_is_not_snap() {
        // tor.pcap #1: LLC 42 42 03 (spanning tree), after the 14-byte MAC header.
        let frame = include_bytes!("../testdata/eth_8023_stp.bin");
        let llc = Pdu::new_checked(&frame[14..]).unwrap();
        assert_eq!((llc.dsap(), llc.ssap(), llc.control()), (0x42, 0x42, 0x03));
        assert_eq!(llc.header_len(), 3);
        assert!(llc.snap_ethertype().is_none());
    }

    #[test]
    fn cisco_snap_is_not_ethertype() {
        // capwap.pcap #4: CDP, SNAP with Cisco OUI 00-00-0c, PID 0x2000.
        let frame = include_bytes!("../testdata/eth_8023_snap_cdp.bin");
        let llc = Pdu::new_checked(&frame[14..]).unwrap();
        assert_eq!(llc.dsap(), 0xAA);
        assert!(llc.snap_ethertype().is_none());
    }

    #[test]
    fn rfc1042_snap() {
        let b = [0xAA, 0xAA, 0x03, 0, 0, 0, 0x08, 0x00, 0x45];
        let llc = Pdu::new_checked(&b[..]).unwrap();
        assert_eq!(llc.snap_ethertype(), Some((0x0800, &[0x45u8][..])));
    }

    #[test]
    fn short() {
        assert!(Pdu::new_checked(&[0xAAu8, 0xAA][..]).is_err());
        assert!(Pdu::new_checked(&[0x42u8, 0x42, 0x00][..]).is_err());
    }
}
