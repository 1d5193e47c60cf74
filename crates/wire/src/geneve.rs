//! Geneve header (RFC 8926 §3.4).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Ver|  Opt Len  |O|C|    Rsvd.  |          Protocol Type        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Virtual Network Identifier (VNI)       |    Reserved   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! ~                    Variable-Length Options                    ~
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//! followed by the inner packet, whose kind the Protocol Type names as an
//! EtherType (0x6558 for an Ethernet frame). AWS Gateway Load Balancer and
//! Open vSwitch carry traffic this way.

use crate::DecodeError;

/// The fixed header's length.
pub const HEADER_LEN: usize = 8;
/// RFC 8926 §3.3: "the well-known destination UDP port 6081".
pub const UDP_PORT: u16 = 6081;

/// A read-only view of a Geneve packet.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    buffer: &'a [u8],
    opt_len: usize,
}

impl<'a> Packet<'a> {
    /// Checks the version and that the options fit. §3.4: "Ver (2 bits):
    /// The current version number is 0. Packets received by a tunnel
    /// endpoint with an unknown version MUST be dropped."; "Opt Len (6
    /// bits): The length of the option fields, expressed in 4-byte
    /// multiples, not including the 8-byte fixed tunnel header."
    pub fn new_checked(buffer: &'a [u8]) -> Result<Self, DecodeError> {
        let Some(&first) = buffer.first() else {
            return Err(DecodeError::Truncated { layer: "geneve" });
        };
        if buffer.len() < HEADER_LEN {
            return Err(DecodeError::Truncated { layer: "geneve" });
        }
        if first >> 6 != 0 {
            return Err(DecodeError::Malformed {
                layer: "geneve",
                what: "unknown version",
            });
        }
        let opt_len = usize::from(first & 0x3f) * 4;
        if buffer.len() < HEADER_LEN + opt_len {
            return Err(DecodeError::Truncated { layer: "geneve" });
        }
        Ok(Packet { buffer, opt_len })
    }

    /// §3.4: "O (1 bit): Control packet. This packet contains a control
    /// message. Control messages are sent between tunnel endpoints."
    /// Such a packet carries no user traffic.
    pub fn is_control(&self) -> bool {
        self.buffer[1] & 0x80 != 0
    }

    /// "Protocol Type (16 bits): The type of protocol data unit appearing
    /// after the Geneve header. This follows the Ethertype convention".
    pub fn protocol(&self) -> u16 {
        u16::from_be_bytes([self.buffer[2], self.buffer[3]])
    }

    /// The 24-bit Virtual Network Identifier.
    pub fn vni(&self) -> u32 {
        u32::from_be_bytes([0, self.buffer[4], self.buffer[5], self.buffer[6]])
    }

    /// The inner packet, after the options.
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer[HEADER_LEN + self.opt_len..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_and_bounds() {
        // Opt Len 1 (4 bytes of options), Protocol Type IPv4, VNI 0x123456.
        let p = [
            0x01, 0x00, 0x08, 0x00, 0x12, 0x34, 0x56, 0x00, 1, 2, 3, 4, 0x45,
        ];
        let g = Packet::new_checked(&p).unwrap();
        assert_eq!(
            (g.protocol(), g.vni(), g.is_control()),
            (0x0800, 0x123456, false)
        );
        assert_eq!(g.payload(), &[0x45]);
        // Options running past the end, a version 1 header, a short one.
        assert!(Packet::new_checked(&p[..10]).is_err());
        let mut v1 = p;
        v1[0] |= 0x40;
        assert!(Packet::new_checked(&v1).is_err());
        assert!(Packet::new_checked(&p[..7]).is_err());
    }
}
