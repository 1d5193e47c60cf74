//! TCP header (RFC 9293).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Source Port          |       Destination Port        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                        Sequence Number                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Acknowledgment Number                      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Data |       |C|E|U|A|P|R|S|F|                               |
//! | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Checksum            |         Urgent Pointer        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use crate::{DecodeError, TcpInfo};

mod field {
    use core::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const SEQ_NUM: Range<usize> = 4..8;
    pub const ACK_NUM: Range<usize> = 8..12;
    pub const DATA_OFFSET: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WINDOW: Range<usize> = 14..16;
    pub const CHECKSUM: Range<usize> = 16..18;
    pub const URGENT: Range<usize> = 18..20;
}

/// Length of the header without options.
pub const MIN_HEADER_LEN: usize = 20;

/// A read-only view of a TCP segment.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        if buffer.as_ref().len() < MIN_HEADER_LEN {
            return Err(DecodeError::Truncated { layer: "tcp" });
        }
        let p = Packet { buffer };
        // "Data Offset (DOffset): 4 bits. The number of 32-bit words in the
        // TCP header." A header is at least 5 words long.
        if p.header_len() < MIN_HEADER_LEN {
            return Err(DecodeError::Malformed {
                layer: "tcp",
                what: "data offset below 5",
            });
        }
        if p.buffer.as_ref().len() < p.header_len() {
            return Err(DecodeError::Truncated { layer: "tcp" });
        }
        Ok(p)
    }

    pub fn src_port(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::SRC_PORT])
    }

    pub fn dst_port(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::DST_PORT])
    }

    pub fn seq_number(&self) -> u32 {
        be32(&self.buffer.as_ref()[field::SEQ_NUM])
    }

    pub fn ack_number(&self) -> u32 {
        be32(&self.buffer.as_ref()[field::ACK_NUM])
    }

    /// Header length in bytes (data offset * 4).
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::DATA_OFFSET] >> 4) * 4
    }

    /// The flag byte (CWR ECE URG ACK PSH RST SYN FIN), see [`TcpInfo`].
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    pub fn window_len(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::WINDOW])
    }

    pub fn checksum(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::CHECKSUM])
    }

    pub fn urgent_at(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::URGENT])
    }

    /// The fields a flow tracker needs.
    pub fn info(&self) -> TcpInfo {
        TcpInfo {
            src_port: self.src_port(),
            dst_port: self.dst_port(),
            seq: self.seq_number(),
            ack: self.ack_number(),
            flags: self.flags(),
            window: self.window_len(),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    pub fn options(&self) -> &'a [u8] {
        &self.buffer.as_ref()[MIN_HEADER_LEN..self.header_len()]
    }

    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syn_with_options() {
        // ajp.pcap #1 (after Ethernet, VLAN tag and a 20-byte IPv4 header):
        // 38856 -> 8009 SYN, seq 0x72c5db2f, window 14600, 40-byte header.
        let frame = include_bytes!("../testdata/eth_ipv4_tcp_vlan.bin");
        let p = Packet::new_checked(&frame[38..]).unwrap();
        let i = p.info();
        assert_eq!((i.src_port, i.dst_port), (38856, 8009));
        assert_eq!((i.seq, i.ack), (0x72c5_db2f, 0));
        assert_eq!(i.flags, TcpInfo::SYN);
        assert_eq!(i.window, 14600);
        assert_eq!(p.header_len(), 40);
        assert_eq!(&p.options()[..4], &[0x02, 0x04, 0x05, 0xb4]); // MSS 1460
        assert!(p.payload().is_empty());
    }

    #[test]
    fn bad_offsets() {
        let mut h = [0u8; 24];
        h[12] = 0x40; // 4 words
        assert!(matches!(
            Packet::new_checked(&h[..]),
            Err(DecodeError::Malformed { .. })
        ));
        h[12] = 0x60; // 6 words, 24 bytes present
        assert_eq!(Packet::new_checked(&h[..]).unwrap().options().len(), 4);
        h[12] = 0x70; // 7 words: truncated
        assert!(matches!(
            Packet::new_checked(&h[..]),
            Err(DecodeError::Truncated { .. })
        ));
        assert!(Packet::new_checked(&h[..19]).is_err());
    }
}
