//! IPv6 header and extension headers (RFC 8200, AH per RFC 4302).
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Traffic Class |           Flow Label                  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Payload Length        |  Next Header  |   Hop Limit   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 Source Address (128 bits)                     |
//! |              Destination Address (128 bits)                   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use std::net::Ipv6Addr;

use crate::{DecodeError, Fragment};

mod field {
    use core::ops::Range;
    pub const VER_TC_FLOW: Range<usize> = 0..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const NXT_HDR: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC_ADDR: Range<usize> = 8..24;
    pub const DST_ADDR: Range<usize> = 24..40;
    pub const PAYLOAD: usize = 40;
}

/// Length of the fixed IPv6 header.
pub const HEADER_LEN: usize = field::PAYLOAD;

/// Next Header values for the extension headers this module walks.
pub mod next_header {
    pub const HOP_BY_HOP: u8 = 0;
    pub const ROUTING: u8 = 43;
    pub const FRAGMENT: u8 = 44;
    pub const ESP: u8 = 50;
    pub const AH: u8 = 51;
    pub const NO_NEXT: u8 = 59;
    pub const DEST_OPTS: u8 = 60;
}

/// A read-only view of an IPv6 packet.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(DecodeError::Truncated { layer: "ipv6" });
        }
        let p = Packet { buffer };
        if p.version() != 6 {
            return Err(DecodeError::Malformed {
                layer: "ipv6",
                what: "version is not 6",
            });
        }
        Ok(p)
    }

    fn first_word(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::VER_TC_FLOW];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    pub fn version(&self) -> u8 {
        (self.first_word() >> 28) as u8
    }

    pub fn traffic_class(&self) -> u8 {
        (self.first_word() >> 20) as u8
    }

    pub fn flow_label(&self) -> u32 {
        self.first_word() & 0x000F_FFFF
    }

    /// "Length of the IPv6 payload, i.e., the rest of the packet following
    /// this IPv6 header, in octets."
    pub fn payload_len(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::LENGTH];
        u16::from_be_bytes([b[0], b[1]])
    }

    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[field::NXT_HDR]
    }

    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    pub fn src_addr(&self) -> Ipv6Addr {
        let mut a = [0u8; 16];
        a.copy_from_slice(&self.buffer.as_ref()[field::SRC_ADDR]);
        Ipv6Addr::from(a)
    }

    pub fn dst_addr(&self) -> Ipv6Addr {
        let mut a = [0u8; 16];
        a.copy_from_slice(&self.buffer.as_ref()[field::DST_ADDR]);
        Ipv6Addr::from(a)
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The payload (extension headers included), trimmed to Payload Length.
    /// RFC 2675 §3: a jumbogram has "the Payload Length field in the IPv6
    /// header set to zero", so 0 means "use what was captured"; so does a
    /// Payload Length larger than the capture.
    pub fn payload(&self) -> &'a [u8] {
        let p = &self.buffer.as_ref()[field::PAYLOAD..];
        match self.payload_len() {
            0 => p,
            n => p.get(..n as usize).unwrap_or(p),
        }
    }
}

/// The result of walking the extension header chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpperLayer<'a> {
    /// The upper-layer protocol number (or 50 ESP / 59 No Next Header, or,
    /// for a fragment, the Next Header of the Fragment header).
    pub protocol: u8,
    /// Fragment information, if a Fragment header that is not an atomic
    /// fragment was found; the walk stops there.
    pub fragment: Option<Fragment>,
    /// Bytes following the last header walked.
    pub payload: &'a [u8],
}

/// Walk the extension headers starting with `next` over `data` (the IPv6
/// payload) and return the upper-layer protocol and its bytes.
///
/// RFC 8200 §4.3/4.4/4.6: Hop-by-Hop, Routing and Destination Options
/// headers start with "Next Header" and "Hdr Ext Len: 8-bit unsigned
/// integer. Length of the ... header in 8-octet units, not including the
/// first 8 octets". RFC 4302 §2.2 (AH): "Payload Length: This 8-bit field
/// specifies the length of AH in 32-bit words (4-byte units), minus '2'".
/// §4.5 Fragment header: 8 octets, Fragment Offset "in 8-octet units" in
/// the high 13 bits of bytes 2-3, M flag in the low bit, Identification in
/// bytes 4-7.
pub fn walk_extension_headers(
    mut next: u8,
    mut data: &[u8],
) -> Result<UpperLayer<'_>, DecodeError> {
    loop {
        let len = match next {
            next_header::HOP_BY_HOP | next_header::ROUTING | next_header::DEST_OPTS => match data {
                [_, l, ..] => (usize::from(*l) + 1) * 8,
                _ => {
                    return Err(DecodeError::Truncated {
                        layer: "ipv6 extension header",
                    })
                }
            },
            next_header::AH => match data {
                [_, l, ..] => (usize::from(*l) + 2) * 4,
                _ => return Err(DecodeError::Truncated { layer: "ipv6 AH" }),
            },
            next_header::FRAGMENT => {
                let [nh, _, o1, o2, i1, i2, i3, i4, rest @ ..] = data else {
                    return Err(DecodeError::Truncated {
                        layer: "ipv6 fragment header",
                    });
                };
                let off_m = u16::from_be_bytes([*o1, *o2]);
                let offset = u32::from(off_m >> 3) * 8;
                let more = off_m & 1 != 0;
                // RFC 8200 §4.5: a Fragment header with offset 0 and M=0 is
                // an "atomic fragment" (RFC 6946): a whole datagram.
                if offset == 0 && !more {
                    next = *nh;
                    data = rest;
                    continue;
                }
                return Ok(UpperLayer {
                    protocol: *nh,
                    fragment: Some(Fragment {
                        id: u32::from_be_bytes([*i1, *i2, *i3, *i4]),
                        offset,
                        more,
                    }),
                    payload: rest,
                });
            }
            _ => {
                return Ok(UpperLayer {
                    protocol: next,
                    fragment: None,
                    payload: data,
                })
            }
        };
        let (Some(&nh), Some(rest)) = (data.first(), data.get(len..)) else {
            return Err(DecodeError::Truncated {
                layer: "ipv6 extension header",
            });
        };
        next = nh;
        data = rest;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_mld() {
        // alexa-app.pcapng #5: :: -> ff02::16, Hop-by-Hop (Router Alert),
        // then ICMPv6 type 143 (MLDv2 report).
        let frame = include_bytes!("../testdata/eth_ipv6_hopopts_icmpv6.bin");
        let p = Packet::new_checked(&frame[14..]).unwrap();
        assert_eq!(p.src_addr(), Ipv6Addr::UNSPECIFIED);
        assert_eq!(p.dst_addr(), "ff02::16".parse::<Ipv6Addr>().unwrap());
        assert_eq!(
            (p.next_header(), p.hop_limit(), p.payload_len()),
            (0, 1, 36)
        );
        let u = walk_extension_headers(p.next_header(), p.payload()).unwrap();
        assert_eq!(u.protocol, 58);
        assert_eq!(u.fragment, None);
        assert_eq!(u.payload.len(), 28);
        assert_eq!(u.payload[0], 143);
    }

    #[test]
    fn fragment_header() {
        // dns_fragmented.pcap #5 and #6: Fragment header, next header 17,
        // id 0x28403c0b, first at offset 0 with M=1, last at 181*8 = 1448.
        let frame = include_bytes!("../testdata/eth_ipv6_frag_first.bin");
        let p = Packet::new_checked(&frame[14..]).unwrap();
        let u = walk_extension_headers(p.next_header(), p.payload()).unwrap();
        assert_eq!(u.protocol, 17);
        assert_eq!(
            u.fragment,
            Some(Fragment {
                id: 0x2840_3c0b,
                offset: 0,
                more: true
            })
        );
        assert_eq!(u.payload.len(), 1448);
        let frame = include_bytes!("../testdata/eth_ipv6_frag_last.bin");
        let p = Packet::new_checked(&frame[14..]).unwrap();
        let u = walk_extension_headers(p.next_header(), p.payload()).unwrap();
        assert_eq!(
            u.fragment,
            Some(Fragment {
                id: 0x2840_3c0b,
                offset: 1448,
                more: false
            })
        );
        assert_eq!(u.payload.len(), 0x45 - 8);
    }

    #[test]
    fn routing_dest_opts_ah_chain() {
        // Synthetic: Routing (len 0) -> Dest Opts (len 1) -> AH (len 4) -> TCP.
        let mut d = vec![60, 0, 0, 0, 0, 0, 0, 0];
        d.extend_from_slice(&[51, 1]);
        d.extend_from_slice(&[0; 14]);
        d.extend_from_slice(&[6, 4]);
        d.extend_from_slice(&[0; 22]);
        d.extend_from_slice(b"tcp");
        let u = walk_extension_headers(43, &d).unwrap();
        assert_eq!(u.protocol, 6);
        assert_eq!(u.payload, b"tcp");
        for n in 0..d.len() - 3 {
            assert!(walk_extension_headers(43, &d[..n]).is_err(), "prefix {n}");
        }
    }

    #[test]
    fn atomic_fragment_is_not_a_fragment() {
        let d = [17, 0, 0, 0, 1, 2, 3, 4, 0xAA];
        let u = walk_extension_headers(44, &d).unwrap();
        assert_eq!(
            (u.protocol, u.fragment, u.payload),
            (17, None, &[0xAAu8][..])
        );
    }

    #[test]
    fn jumbo_and_trim() {
        let mut h = [0u8; 44];
        h[0] = 0x60;
        let p = Packet::new_checked(&h[..]).unwrap();
        assert_eq!(p.payload().len(), 4); // payload length 0: use captured
        h[5] = 2;
        let p = Packet::new_checked(&h[..]).unwrap();
        assert_eq!(p.payload().len(), 2);
        h[4] = 9;
        let p = Packet::new_checked(&h[..]).unwrap();
        assert_eq!(p.payload().len(), 4); // longer than captured
        h[0] = 0x40;
        assert!(Packet::new_checked(&h[..]).is_err());
        assert!(Packet::new_checked(&h[..39]).is_err());
    }
}
