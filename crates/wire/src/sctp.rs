//! SCTP common header (RFC 9260 §3.1).
//!
//! ```text
//!  0                   1                   2                   3
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Source Port Number        |     Destination Port Number   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                      Verification Tag                         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                           Checksum                            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//! The rest of the packet is a sequence of chunks, returned as payload.

use crate::DecodeError;

mod field {
    use core::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const VERIFICATION_TAG: Range<usize> = 4..8;
    pub const CHECKSUM: Range<usize> = 8..12;
    pub const CHUNKS: usize = 12;
}

/// Length of the common header.
pub const HEADER_LEN: usize = field::CHUNKS;

/// A read-only view of an SCTP packet.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(DecodeError::Truncated { layer: "sctp" });
        }
        Ok(Packet { buffer })
    }

    pub fn src_port(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::SRC_PORT];
        u16::from_be_bytes([b[0], b[1]])
    }

    pub fn dst_port(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::DST_PORT];
        u16::from_be_bytes([b[0], b[1]])
    }

    pub fn verification_tag(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::VERIFICATION_TAG];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    pub fn checksum(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::CHECKSUM];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The chunks.
    pub fn chunks(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::CHUNKS..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn megaco() {
        // sctp.cap #1: 16384 -> 2944 (MEGACO over SCTP), tag 0x00016f0a,
        // first chunk DATA (0).
        let frame = include_bytes!("../testdata/eth_ipv4_sctp.bin");
        let p = Packet::new_checked(&frame[34..]).unwrap();
        assert_eq!((p.src_port(), p.dst_port()), (16384, 2944));
        assert_eq!(p.verification_tag(), 0x0001_6f0a);
        assert_eq!(p.chunks()[0], 0);
        assert!(Packet::new_checked(&frame[34..45]).is_err());
    }
}
