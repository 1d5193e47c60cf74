//! ICMP (RFC 792) and ICMPv6 (RFC 4443) common header.
//!
//! ```text
//!  0                   1                   2                   3
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     Message Body                              |
//! ```
//! RFC 4443 §2.1: "Every ICMPv6 message is preceded by an IPv6 header and
//! zero or more IPv6 extension headers ... [and] has the following general
//! format" (the one above); ICMPv4 shares it.
//!
//! The decoder's `payload` for ICMP is the message body after the 4-byte
//! type/code/checksum, so echo identifier and sequence are its first bytes.

use crate::DecodeError;

mod field {
    use core::ops::Range;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Range<usize> = 2..4;
    pub const BODY: usize = 4;
}

/// Length of the type/code/checksum header.
pub const HEADER_LEN: usize = field::BODY;

/// A read-only view of an ICMP or ICMPv6 message.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(DecodeError::Truncated { layer: "icmp" });
        }
        Ok(Packet { buffer })
    }

    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }

    pub fn code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    pub fn checksum(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::CHECKSUM];
        u16::from_be_bytes([b[0], b[1]])
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The message body after type, code and checksum.
    pub fn body(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::BODY..]
    }

    /// Echo request/reply identifier (types 0/8, 128/129), if present.
    pub fn echo_ident(&self) -> Option<u16> {
        match self.body() {
            [a, b, ..] => Some(u16::from_be_bytes([*a, *b])),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo() {
        // icmp-tunnel.pcap #3: echo request (8/0), after Ethernet + IPv4.
        let frame = include_bytes!("../testdata/eth_ipv4_icmp.bin");
        let p = Packet::new_checked(&frame[34..]).unwrap();
        assert_eq!((p.msg_type(), p.code()), (8, 0));
        assert_eq!(p.body().len(), frame.len() - 38);
        assert!(p.echo_ident().is_some());
    }

    #[test]
    fn short() {
        assert!(Packet::new_checked(&[8u8, 0, 0][..]).is_err());
        let p = Packet::new_checked(&[8u8, 0, 0, 0][..]).unwrap();
        assert_eq!(p.echo_ident(), None);
    }
}
