//! VXLAN header (RFC 7348 §5).
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |R|R|R|R|I|R|R|R|            Reserved                           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                VXLAN Network Identifier (VNI) |   Reserved    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//! followed by the inner Ethernet frame.

use crate::DecodeError;

mod field {
    use core::ops::Range;
    pub const FLAGS: usize = 0;
    pub const VNI: Range<usize> = 4..7;
    pub const PAYLOAD: usize = 8;
}

/// Length of the VXLAN header.
pub const HEADER_LEN: usize = field::PAYLOAD;
/// The IANA-assigned VXLAN UDP destination port.
pub const UDP_PORT: u16 = 4789;

const FLAG_I: u8 = 0x08;

/// A read-only view of a VXLAN packet.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks the length and that the I flag is set: "Flags (8 bits): where
    /// the I flag MUST be set to 1 for a valid VXLAN Network ID (VNI)".
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(DecodeError::Truncated { layer: "vxlan" });
        }
        if b[field::FLAGS] & FLAG_I == 0 {
            return Err(DecodeError::Malformed {
                layer: "vxlan",
                what: "I flag not set",
            });
        }
        Ok(Packet { buffer })
    }

    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// The 24-bit VXLAN Network Identifier.
    pub fn vni(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::VNI];
        u32::from_be_bytes([0, b[0], b[1], b[2]])
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The inner Ethernet frame.
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header() {
        let b = [0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0, 0xAA];
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(
            (p.flags(), p.vni(), p.payload()),
            (0x08, 0x123456, &[0xAAu8][..])
        );
        assert!(Packet::new_checked(&b[..7]).is_err());
        let mut c = b;
        c[0] = 0;
        assert!(Packet::new_checked(&c[..]).is_err());
    }
}
