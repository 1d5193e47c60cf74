//! IPv4 header (RFC 791).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version|  IHL  |Type of Service|          Total Length         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Identification        |Flags|      Fragment Offset    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Time to Live |    Protocol   |         Header Checksum       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       Source Address                          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Destination Address                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Options                    |    Padding    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use std::net::Ipv4Addr;

use crate::{DecodeError, Fragment};

mod field {
    use core::ops::Range;
    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const LENGTH: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..6;
    pub const FLG_OFF: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC_ADDR: Range<usize> = 12..16;
    pub const DST_ADDR: Range<usize> = 16..20;
}

/// Length of the header without options.
pub const MIN_HEADER_LEN: usize = 20;

/// A read-only view of an IPv4 packet.
///
/// `new_checked` guarantees: the buffer holds the 20-byte fixed header, the
/// version is 4, IHL >= 5, the buffer holds IHL*4 bytes, and Total Length
/// is at least IHL*4.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        let b = buffer.as_ref();
        if b.len() < MIN_HEADER_LEN {
            return Err(DecodeError::Truncated { layer: "ipv4" });
        }
        let p = Packet { buffer };
        if p.version() != 4 {
            return Err(DecodeError::Malformed {
                layer: "ipv4",
                what: "version is not 4",
            });
        }
        // "Internet Header Length is the length of the internet header in 32
        // bit words ... Note that the minimum value for a correct header is 5."
        if p.header_len() < MIN_HEADER_LEN {
            return Err(DecodeError::Malformed {
                layer: "ipv4",
                what: "IHL below 5",
            });
        }
        if p.buffer.as_ref().len() < p.header_len() {
            return Err(DecodeError::Truncated { layer: "ipv4" });
        }
        // "Total Length is the length of the datagram, measured in octets,
        // including internet header and data." Zero is accepted: hosts
        // capturing before TCP segmentation offload write 0 there (as
        // Wireshark notes, "may be caused by TSO"), see `payload`.
        if p.total_len() != 0 && (p.total_len() as usize) < p.header_len() {
            return Err(DecodeError::Malformed {
                layer: "ipv4",
                what: "total length shorter than header",
            });
        }
        Ok(p)
    }

    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Header length in bytes (IHL * 4).
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0F) * 4
    }

    pub fn dscp_ecn(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN]
    }

    pub fn total_len(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::LENGTH];
        u16::from_be_bytes([b[0], b[1]])
    }

    pub fn ident(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::IDENT];
        u16::from_be_bytes([b[0], b[1]])
    }

    fn flags_offset(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::FLG_OFF];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// "Bit 1: (DF) 0 = May Fragment, 1 = Don't Fragment."
    pub fn dont_frag(&self) -> bool {
        self.flags_offset() & 0x4000 != 0
    }

    /// "Bit 2: (MF) 0 = Last Fragment, 1 = More Fragments."
    pub fn more_frags(&self) -> bool {
        self.flags_offset() & 0x2000 != 0
    }

    /// "The fragment offset is measured in units of 8 octets (64 bits)."
    /// Returned in bytes.
    pub fn frag_offset(&self) -> u32 {
        u32::from(self.flags_offset() & 0x1FFF) * 8
    }

    /// Fragment information if this datagram is a fragment (MF set or
    /// offset non-zero), `None` for a whole datagram.
    pub fn fragment(&self) -> Option<Fragment> {
        if self.more_frags() || self.frag_offset() != 0 {
            Some(Fragment {
                id: u32::from(self.ident()),
                offset: self.frag_offset(),
                more: self.more_frags(),
            })
        } else {
            None
        }
    }

    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[field::PROTOCOL]
    }

    pub fn checksum(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::CHECKSUM];
        u16::from_be_bytes([b[0], b[1]])
    }

    pub fn src_addr(&self) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[field::SRC_ADDR];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }

    pub fn dst_addr(&self) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[field::DST_ADDR];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The options bytes (between the fixed header and IHL*4).
    pub fn options(&self) -> &'a [u8] {
        &self.buffer.as_ref()[MIN_HEADER_LEN..self.header_len()]
    }

    /// The payload, ending at Total Length so that link-layer padding is not
    /// included; if Total Length exceeds the captured bytes (snaplen) or is
    /// 0 (a TSO-sized capture) all captured bytes are returned.
    pub fn payload(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        let end = match self.total_len() {
            0 => b.len(),
            n => usize::from(n).min(b.len()),
        };
        &b[self.header_len()..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_and_padding() {
        // alexa-app.pcapng #796: IGMPv2 report, IHL=6 with Router Alert
        // option 94 04 00 00, total length 32.
        let frame = include_bytes!("../testdata/eth_ipv4_igmp_options.bin");
        let p = Packet::new_checked(&frame[14..]).unwrap();
        assert_eq!(p.header_len(), 24);
        assert_eq!(p.options(), &[0x94, 0x04, 0x00, 0x00]);
        assert_eq!(p.total_len(), 32);
        assert_eq!(p.protocol(), 2);
        assert_eq!(p.ttl(), 1);
        assert_eq!(p.payload().len(), 8);
        assert!(p.fragment().is_none());
    }

    #[test]
    fn fragments() {
        // dns_fragmented.pcap #2: id 0x1ec5? first fragment, MF=1, offset 0.
        let frame = include_bytes!("../testdata/eth_ipv4_frag_first.bin");
        let p = Packet::new_checked(&frame[14..]).unwrap();
        let f = p.fragment().unwrap();
        assert_eq!((f.offset, f.more), (0, true));
        assert_eq!(f.id, u32::from(p.ident()));
        assert_eq!(p.payload().len(), 1480);
        // #3: the last fragment at offset 185*8 = 1480.
        let frame = include_bytes!("../testdata/eth_ipv4_frag_last.bin");
        let q = Packet::new_checked(&frame[14..]).unwrap();
        let g = q.fragment().unwrap();
        assert_eq!((g.id, g.offset, g.more), (f.id, 1480, false));
    }

    #[test]
    fn malformed() {
        let mut h = [0u8; 20];
        h[0] = 0x45;
        h[3] = 20;
        assert!(Packet::new_checked(&h[..]).is_ok());
        h[3] = 19; // total length < header length (0 would mean TSO)
        assert!(matches!(
            Packet::new_checked(&h[..]),
            Err(DecodeError::Malformed { .. })
        ));
        h[3] = 20;
        h[0] = 0x44; // IHL 4
        assert!(matches!(
            Packet::new_checked(&h[..]),
            Err(DecodeError::Malformed { .. })
        ));
        h[0] = 0x46; // IHL 6, buffer only 20 bytes
        assert!(matches!(
            Packet::new_checked(&h[..]),
            Err(DecodeError::Truncated { .. })
        ));
        h[0] = 0x65;
        assert!(Packet::new_checked(&h[..]).is_err());
        assert!(Packet::new_checked(&h[..19]).is_err());
    }

    #[test]
    fn tso_zero_total_length() {
        // thrift.pcap #32 has a 2960-byte IPv4 packet with Total Length 0,
        // captured on the sending host before segmentation offload.
        let mut h = [0u8; 30];
        h[0] = 0x45;
        let p = Packet::new_checked(&h[..]).unwrap();
        assert_eq!(p.payload().len(), 10);
    }

    #[test]
    fn total_length_beyond_capture() {
        let mut h = [0u8; 24];
        h[0] = 0x45;
        h[2] = 0x05; // total length 1280, only 24 bytes captured
        let p = Packet::new_checked(&h[..]).unwrap();
        assert_eq!(p.payload().len(), 4);
    }
}
