//! PPP protocol field (RFC 1661), HDLC-like framing (RFC 1662) and the
//! PPPoE session header (RFC 2516).

use crate::ethernet::ethertype;
use crate::DecodeError;

/// PPP protocol numbers the decoder maps to an Ethertype.
pub mod protocol {
    pub const IPV4: u16 = 0x0021;
    pub const IPV6: u16 = 0x0057;
    pub const MPLS_UNICAST: u16 = 0x0281;
    pub const MPLS_MULTICAST: u16 = 0x0283;
}

/// RFC 1662 §3.1: "The Address field ... All-Stations address 0xff" and
/// "The Control field ... 0x03".
pub const ADDRESS_CONTROL: [u8; 2] = [0xFF, 0x03];

/// Split a PPP frame (starting at the Protocol field, or at the RFC 1662
/// Address/Control bytes) into its protocol number and information field.
///
/// RFC 1661 §2: "The Protocol field is one or two octets ... Protocol field
/// values are assigned such that the least significant bit of the most
/// significant octet equals '0', and the least significant bit of the least
/// significant octet equals '1'", so a first byte with its low bit set is a
/// compressed one-byte protocol (Protocol-Field-Compression, §6.5).
pub fn parse(frame: &[u8]) -> Result<(u16, &[u8]), DecodeError> {
    let frame = frame.strip_prefix(&ADDRESS_CONTROL[..]).unwrap_or(frame);
    match frame {
        [p, rest @ ..] if p & 1 == 1 => Ok((u16::from(*p), rest)),
        [hi, lo, rest @ ..] => Ok((u16::from_be_bytes([*hi, *lo]), rest)),
        _ => Err(DecodeError::Truncated { layer: "ppp" }),
    }
}

/// The Ethertype for a PPP protocol number, or 0 if it has none we decode.
pub fn to_ethertype(protocol: u16) -> u16 {
    match protocol {
        protocol::IPV4 => ethertype::IPV4,
        protocol::IPV6 => ethertype::IPV6,
        protocol::MPLS_UNICAST => ethertype::MPLS_UNICAST,
        protocol::MPLS_MULTICAST => ethertype::MPLS_MULTICAST,
        _ => 0,
    }
}

mod field {
    use core::ops::Range;
    pub const VER_TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const SESSION_ID: Range<usize> = 2..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const PAYLOAD: usize = 6;
}

/// Length of the PPPoE header.
pub const PPPOE_HEADER_LEN: usize = field::PAYLOAD;

/// A read-only view of a PPPoE packet (RFC 2516 §4).
///
/// ```text
/// +--------+--------+--------+--------+--------+--------+
/// |VER|TYPE|  CODE  |   SESSION_ID    |     LENGTH      | payload
/// +--------+--------+--------+--------+--------+--------+
/// ```
#[derive(Debug, Clone, Copy)]
pub struct PppoePacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> PppoePacket<T> {
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        let b = buffer.as_ref();
        if b.len() < PPPOE_HEADER_LEN {
            return Err(DecodeError::Truncated { layer: "pppoe" });
        }
        // "The VER field is four bits and MUST be set to 0x1 for this
        // version ... The TYPE field is four bits and MUST be set to 0x1".
        if b[field::VER_TYPE] != 0x11 {
            return Err(DecodeError::Malformed {
                layer: "pppoe",
                what: "version/type is not 1/1",
            });
        }
        Ok(PppoePacket { buffer })
    }

    /// "The CODE field ... MUST be set to 0x00" for session data.
    pub fn code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    pub fn session_id(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::SESSION_ID];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// "The LENGTH field is sixteen bits. The value, in network byte order,
    /// indicates the length of the PPPoE payload."
    pub fn length(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::LENGTH];
        u16::from_be_bytes([b[0], b[1]])
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> PppoePacket<&'a T> {
    /// The payload trimmed to LENGTH (Ethernet padding removed); all
    /// captured bytes if LENGTH exceeds them.
    pub fn payload(&self) -> &'a [u8] {
        let p = &self.buffer.as_ref()[field::PAYLOAD..];
        p.get(..self.length() as usize).unwrap_or(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pppoe_session() {
        // dns.pcap #4, after Ethernet and two VLAN tags:
        // 11 00 556a 003f | 0021 (IPv4) 45 ...
        let frame = include_bytes!("../testdata/eth_qinq_pppoe_ipv4_udp.bin");
        let p = PppoePacket::new_checked(&frame[22..]).unwrap();
        assert_eq!((p.code(), p.session_id(), p.length()), (0, 0x556a, 0x3f));
        let (proto, ip) = parse(p.payload()).unwrap();
        assert_eq!(proto, protocol::IPV4);
        assert_eq!(ip.len(), 0x3f - 2);
        assert_eq!(ip[0], 0x45);
    }

    #[test]
    fn protocol_forms() {
        assert_eq!(
            parse(&[0xFF, 0x03, 0x00, 0x21, 1]).unwrap(),
            (0x21, &[1u8][..])
        );
        assert_eq!(parse(&[0x00, 0x57, 2]).unwrap(), (0x57, &[2u8][..]));
        // Protocol-Field-Compression: one odd byte.
        assert_eq!(parse(&[0x21, 3]).unwrap(), (0x21, &[3u8][..]));
        assert!(parse(&[0xFF, 0x03]).is_err());
        assert!(parse(&[0x00]).is_err());
        assert_eq!(to_ethertype(0x57), 0x86DD);
        assert_eq!(to_ethertype(0xC021), 0);
    }

    #[test]
    fn pppoe_bad_version() {
        assert!(PppoePacket::new_checked(&[0x21u8, 0, 0, 0, 0, 0][..]).is_err());
        assert!(PppoePacket::new_checked(&[0x11u8, 0, 0, 0, 0][..]).is_err());
    }
}
