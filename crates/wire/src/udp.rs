//! UDP header (RFC 768).
//!
//! ```text
//!  0      7 8     15 16    23 24    31
//! +--------+--------+--------+--------+
//! |     Source      |   Destination   |
//! |      Port       |      Port       |
//! +--------+--------+--------+--------+
//! |     Length      |    Checksum     |
//! +--------+--------+--------+--------+
//! ```

use crate::DecodeError;

mod field {
    use core::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const CHECKSUM: Range<usize> = 6..8;
    pub const PAYLOAD: usize = 8;
}

/// Length of the UDP header.
pub const HEADER_LEN: usize = field::PAYLOAD;

/// A read-only view of a UDP datagram.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(DecodeError::Truncated { layer: "udp" });
        }
        Ok(Packet { buffer })
    }

    pub fn src_port(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::SRC_PORT])
    }

    pub fn dst_port(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::DST_PORT])
    }

    /// "Length is the length in octets of this user datagram including this
    /// header and the data. (This means the minimum value of the length is
    /// eight.)"
    pub fn len_field(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::LENGTH])
    }

    pub fn checksum(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::CHECKSUM])
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The payload trimmed to the Length field when it is sane (>= 8 and not
    /// beyond the captured bytes); otherwise everything captured. Length 0
    /// is legal for IPv6 jumbograms (RFC 2675 §4).
    pub fn payload(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        let len = usize::from(self.len_field());
        if len >= HEADER_LEN && len <= b.len() {
            &b[HEADER_LEN..len]
        } else {
            &b[HEADER_LEN..]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_over_pppoe() {
        // dns.pcap #4: 47255 -> 53, length 0x29 = 41.
        let frame = include_bytes!("../testdata/eth_qinq_pppoe_ipv4_udp.bin");
        let p = Packet::new_checked(&frame[50..]).unwrap();
        assert_eq!((p.src_port(), p.dst_port(), p.len_field()), (47255, 53, 41));
        assert_eq!(p.payload().len(), 33);
    }

    #[test]
    fn insane_length() {
        let mut h = [0u8, 1, 0, 2, 0, 4, 0, 0, 9, 9];
        assert_eq!(Packet::new_checked(&h[..]).unwrap().payload().len(), 2);
        h[5] = 9;
        assert_eq!(Packet::new_checked(&h[..]).unwrap().payload(), &[9]);
        h[5] = 99;
        assert_eq!(Packet::new_checked(&h[..]).unwrap().payload().len(), 2);
        assert!(Packet::new_checked(&h[..7]).is_err());
    }
}
