//! Link-layer headers (Ethernet, Linux SLL/SLL2, BSD null/loop, PPP, Cisco HDLC, PPI).
//!
//! Ethernet itself lives in [`crate::ethernet`]; this module holds the
//! capture pseudo-headers from tcpdump.org's LINKTYPE_ registry. Each view
//! reports what follows it as a [`Next`] so that the decoder can dispatch.

use crate::ethernet::ethertype;
use crate::{ppp, DecodeError};

/// What a link-layer header says follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next<'a> {
    /// A payload identified by an Ethertype.
    Ethertype(u16, &'a [u8]),
    /// An IEEE 802.2 LLC PDU.
    Llc(&'a [u8]),
    /// An IP packet whose version nibble decides IPv4 or IPv6.
    Ip(&'a [u8]),
    /// Something that is not a network-layer packet we decode.
    Other,
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

/// Linux `ARPHRD_` hardware types that change the meaning of the SLL
/// protocol field.
pub mod arphrd {
    /// The protocol field is a Netlink protocol, not an Ethertype.
    pub const NETLINK: u16 = 824;
    /// Frame Relay: protocol is not an Ethertype.
    pub const FRAD: u16 = 770;
    /// Radiotap + 802.11: not decoded.
    pub const IEEE80211_RADIOTAP: u16 = 803;
}

/// Interpret an SLL/SLL2 protocol field. From the LINKTYPE_LINUX_SLL page:
/// "0x0001 ... the frame is a Novell 802.3 frame without an 802.2 LLC
/// header; 0x0004 ... the frame begins with an 802.2 LLC header" and
/// otherwise (for most hardware types) it is an Ethertype. Values below
/// 0x0600 are never Ethertypes.
fn sll_next(hatype: u16, protocol: u16, payload: &[u8]) -> Next<'_> {
    match hatype {
        arphrd::NETLINK | arphrd::FRAD | arphrd::IEEE80211_RADIOTAP => Next::Other,
        _ => match protocol {
            0x0004 => Next::Llc(payload),
            p if p >= 0x0600 => Next::Ethertype(p, payload),
            _ => Next::Other,
        },
    }
}

mod sll_field {
    use core::ops::Range;
    pub const PKT_TYPE: Range<usize> = 0..2;
    pub const HATYPE: Range<usize> = 2..4;
    pub const ADDR_LEN: Range<usize> = 4..6;
    pub const ADDR: Range<usize> = 6..14;
    pub const PROTOCOL: Range<usize> = 14..16;
    pub const PAYLOAD: usize = 16;
}

/// Length of the Linux cooked v1 header.
pub const SLL_HEADER_LEN: usize = sll_field::PAYLOAD;

/// Linux cooked capture v1 (LINKTYPE_LINUX_SLL, 113):
/// ```text
/// | packet type (2) | ARPHRD type (2) | addr len (2) | addr (8) | protocol (2) |
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Sll<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Sll<T> {
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        if buffer.as_ref().len() < SLL_HEADER_LEN {
            return Err(DecodeError::Truncated { layer: "linux sll" });
        }
        Ok(Sll { buffer })
    }

    /// 0 to us, 1 broadcast, 2 multicast, 3 to someone else, 4 sent by us.
    pub fn packet_type(&self) -> u16 {
        be16(&self.buffer.as_ref()[sll_field::PKT_TYPE])
    }

    pub fn hatype(&self) -> u16 {
        be16(&self.buffer.as_ref()[sll_field::HATYPE])
    }

    pub fn protocol(&self) -> u16 {
        be16(&self.buffer.as_ref()[sll_field::PROTOCOL])
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Sll<&'a T> {
    /// The link-layer source address (at most 8 bytes are stored).
    pub fn addr(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        let n = usize::from(be16(&b[sll_field::ADDR_LEN])).min(8);
        &b[sll_field::ADDR][..n]
    }

    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[sll_field::PAYLOAD..]
    }

    pub fn next(&self) -> Next<'a> {
        sll_next(self.hatype(), self.protocol(), self.payload())
    }
}

mod sll2_field {
    use core::ops::Range;
    pub const PROTOCOL: Range<usize> = 0..2;
    pub const IFINDEX: Range<usize> = 4..8;
    pub const HATYPE: Range<usize> = 8..10;
    pub const PKT_TYPE: usize = 10;
    pub const ADDR_LEN: usize = 11;
    pub const ADDR: Range<usize> = 12..20;
    pub const PAYLOAD: usize = 20;
}

/// Length of the Linux cooked v2 header.
pub const SLL2_HEADER_LEN: usize = sll2_field::PAYLOAD;

/// Linux cooked capture v2 (LINKTYPE_LINUX_SLL2, 276):
/// ```text
/// | protocol (2) | reserved (2) | interface index (4) | ARPHRD type (2) |
/// | packet type (1) | addr len (1) | addr (8) |
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Sll2<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Sll2<T> {
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        if buffer.as_ref().len() < SLL2_HEADER_LEN {
            return Err(DecodeError::Truncated {
                layer: "linux sll2",
            });
        }
        Ok(Sll2 { buffer })
    }

    pub fn protocol(&self) -> u16 {
        be16(&self.buffer.as_ref()[sll2_field::PROTOCOL])
    }

    pub fn interface_index(&self) -> u32 {
        let b = &self.buffer.as_ref()[sll2_field::IFINDEX];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    pub fn hatype(&self) -> u16 {
        be16(&self.buffer.as_ref()[sll2_field::HATYPE])
    }

    pub fn packet_type(&self) -> u8 {
        self.buffer.as_ref()[sll2_field::PKT_TYPE]
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Sll2<&'a T> {
    pub fn addr(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        let n = usize::from(b[sll2_field::ADDR_LEN]).min(8);
        &b[sll2_field::ADDR][..n]
    }

    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[sll2_field::PAYLOAD..]
    }

    pub fn next(&self) -> Next<'a> {
        sll_next(self.hatype(), self.protocol(), self.payload())
    }
}

/// Length of the BSD null / OpenBSD loop header.
pub const NULL_HEADER_LEN: usize = 4;

/// BSD loopback encapsulation (LINKTYPE_NULL, 0, and LINKTYPE_LOOP, 108).
///
/// LINKTYPE_NULL: "the link layer header is a 4-byte field, in the host
/// byte order of the machine on which the capture was done, containing an
/// AF_ value"; since a reader cannot know that byte order, both are tried.
/// LINKTYPE_LOOP: the same "in network byte order". "AF_INET = 2 ...
/// AF_INET6 = 24, 28 or 30" on the BSDs and macOS (and 10 on Linux).
pub fn null(frame: &[u8], network_order_only: bool) -> Result<Next<'_>, DecodeError> {
    let [a, b, c, d, payload @ ..] = frame else {
        return Err(DecodeError::Truncated { layer: "null" });
    };
    let be = u32::from_be_bytes([*a, *b, *c, *d]);
    let le = u32::from_le_bytes([*a, *b, *c, *d]);
    // An AF_ value fits in one byte, so the non-zero end tells the order.
    let family = if network_order_only || le > 0xFF {
        be
    } else {
        le
    };
    Ok(match family {
        2 => Next::Ethertype(ethertype::IPV4, payload),
        10 | 24 | 28 | 30 => Next::Ethertype(ethertype::IPV6, payload),
        _ => Next::Other,
    })
}

/// Length of the Cisco HDLC header.
pub const CHDLC_HEADER_LEN: usize = 4;

/// Cisco HDLC (LINKTYPE_C_HDLC, 104): "an address octet (0x0F for unicast,
/// 0x8F for broadcast), a control octet (0x00), and a 16-bit protocol type
/// field (an Ethertype, big-endian)". Cisco's SLARP (0x8035) is not IP.
pub fn chdlc(frame: &[u8]) -> Result<Next<'_>, DecodeError> {
    let [addr, _control, p0, p1, payload @ ..] = frame else {
        return Err(DecodeError::Truncated {
            layer: "cisco hdlc",
        });
    };
    if *addr != 0x0F && *addr != 0x8F {
        return Err(DecodeError::Malformed {
            layer: "cisco hdlc",
            what: "address is not 0x0f or 0x8f",
        });
    }
    Ok(Next::Ethertype(u16::from_be_bytes([*p0, *p1]), payload))
}

/// PPP (LINKTYPE_PPP, 9): "PPP, as per RFC 1661 and RFC 1662; if the first
/// 2 bytes are 0xff and 0x03, it's PPP in HDLC-like framing". Captures of
/// Cisco serial links also use this link type with Cisco HDLC frames
/// (address 0x0f/0x8f, as tcpdump and Wireshark detect), so those are
/// accepted too.
pub fn ppp_link(frame: &[u8]) -> Result<Next<'_>, DecodeError> {
    if let [0x0F | 0x8F, 0x00, ..] = frame {
        return chdlc(frame);
    }
    let (protocol, payload) = ppp::parse(frame)?;
    Ok(match ppp::to_ethertype(protocol) {
        0 => Next::Other,
        e => Next::Ethertype(e, payload),
    })
}

mod ppi_field {
    use core::ops::Range;
    pub const VERSION: usize = 0;
    pub const FLAGS: usize = 1;
    pub const LEN: Range<usize> = 2..4;
    pub const DLT: Range<usize> = 4..8;
}

/// Length of the fixed PPI packet header.
pub const PPI_HEADER_LEN: usize = 8;

/// Per-Packet Information header (LINKTYPE_PPI, 192; "PPI Header Format"
/// spec 1.0.10): all fields little-endian.
/// ```text
/// | pph_version (1) | pph_flags (1) | pph_len (2) | pph_dlt (4) | fields ... |
/// ```
/// "pph_len: Length of the entire message, including this header and TLV
/// payload"; "pph_dlt: Data Link Type of the captured packet data".
#[derive(Debug, Clone, Copy)]
pub struct Ppi<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ppi<T> {
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        let b = buffer.as_ref();
        if b.len() < PPI_HEADER_LEN {
            return Err(DecodeError::Truncated { layer: "ppi" });
        }
        // "pph_version: Version of the PPI header. MUST be set to 0."
        if b[ppi_field::VERSION] != 0 {
            return Err(DecodeError::Malformed {
                layer: "ppi",
                what: "version is not 0",
            });
        }
        let p = Ppi { buffer };
        if p.header_len() < PPI_HEADER_LEN {
            return Err(DecodeError::Malformed {
                layer: "ppi",
                what: "pph_len shorter than the header",
            });
        }
        if p.buffer.as_ref().len() < p.header_len() {
            return Err(DecodeError::Truncated { layer: "ppi" });
        }
        Ok(p)
    }

    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[ppi_field::FLAGS]
    }

    pub fn header_len(&self) -> usize {
        let b = &self.buffer.as_ref()[ppi_field::LEN];
        usize::from(u16::from_le_bytes([b[0], b[1]]))
    }

    pub fn dlt(&self) -> u32 {
        let b = &self.buffer.as_ref()[ppi_field::DLT];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Ppi<&'a T> {
    /// The captured packet, of link type [`Ppi::dlt`].
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sll_ipv4() {
        // KakaoTalk_talk.pcap #1: packet type 4 (outgoing), ARPHRD 0x0212
        // (530, none), address length 0, protocol 0x0800.
        let frame = include_bytes!("../testdata/sll_ipv4_tcp.bin");
        let s = Sll::new_checked(&frame[..]).unwrap();
        assert_eq!(
            (s.packet_type(), s.hatype(), s.protocol()),
            (4, 0x0212, 0x0800)
        );
        assert!(s.addr().is_empty());
        assert!(matches!(s.next(), Next::Ethertype(0x0800, p) if p[0] == 0x45));
    }

    #[test]
    fn sll_special_protocols() {
        let mut h = [0u8; 17];
        h[15] = 0x04;
        let s = Sll::new_checked(&h[..]).unwrap();
        assert_eq!(s.next(), Next::Llc(&[0]));
        h[15] = 0x01; // Novell 802.3
        assert_eq!(Sll::new_checked(&h[..]).unwrap().next(), Next::Other);
        h[14] = 0x08;
        h[15] = 0x00;
        h[2] = 0x03; // ARPHRD_NETLINK 824: protocol is not an Ethertype
        h[3] = 0x38;
        assert_eq!(Sll::new_checked(&h[..]).unwrap().next(), Next::Other);
        assert!(Sll::new_checked(&h[..15]).is_err());
    }

    #[test]
    fn sll2() {
        // Synthetic (the corpus has no SLL2): protocol 0x86dd, ifindex 3,
        // ARPHRD_ETHER, PACKET_OUTGOING, 6-byte address.
        let mut h = vec![0x86, 0xdd, 0, 0, 0, 0, 0, 3, 0, 1, 4, 6];
        h.extend_from_slice(&[0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0, 0, 0x60]);
        let s = Sll2::new_checked(&h[..]).unwrap();
        assert_eq!(
            (s.protocol(), s.interface_index(), s.hatype()),
            (0x86dd, 3, 1)
        );
        assert_eq!((s.packet_type(), s.addr().len()), (4, 6));
        assert_eq!(s.next(), Next::Ethertype(0x86dd, &[0x60]));
        assert!(Sll2::new_checked(&h[..19]).is_err());
    }

    #[test]
    fn null_byte_orders() {
        // nats.pcap #1: 02 00 00 00 (little-endian AF_INET).
        let frame = include_bytes!("../testdata/null_ipv4_tcp.bin");
        assert!(matches!(null(frame, false), Ok(Next::Ethertype(0x0800, _))));
        // openvpn-tlscrypt.pcap #1: 1e 00 00 00 (AF_INET6 = 30, macOS).
        let frame = include_bytes!("../testdata/null_ipv6_udp.bin");
        assert!(matches!(null(frame, false), Ok(Next::Ethertype(0x86dd, _))));
        // openwire.pcapng #1: 18 00 00 00 (AF_INET6 = 24).
        let frame = include_bytes!("../testdata/null_ipv6_tcp.bin");
        assert!(matches!(null(frame, false), Ok(Next::Ethertype(0x86dd, _))));
        // Big-endian host, and LINKTYPE_LOOP (always network order).
        assert_eq!(
            null(&[0, 0, 0, 2, 9], false).unwrap(),
            Next::Ethertype(0x0800, &[9])
        );
        assert_eq!(
            null(&[0, 0, 0, 28], true).unwrap(),
            Next::Ethertype(0x86dd, &[])
        );
        assert_eq!(null(&[2, 0, 0, 0], true).unwrap(), Next::Other);
        assert!(null(&[2, 0, 0], false).is_err());
    }

    #[test]
    fn ppp_and_chdlc() {
        // dlt_ppp.pcap #1: 00 21 (IPv4), no address/control.
        let frame = include_bytes!("../testdata/ppp_ipv4_udp.bin");
        assert!(matches!(ppp_link(frame), Ok(Next::Ethertype(0x0800, p)) if p[0] == 0x45));
        // BGP_Cisco_hdlc_slarp.pcap #1: link type 9 but 0f 00 08 00.
        let frame = include_bytes!("../testdata/ppp_chdlc_ipv4_tcp.bin");
        assert!(matches!(ppp_link(frame), Ok(Next::Ethertype(0x0800, p)) if p[0] == 0x45));
        assert!(matches!(chdlc(frame), Ok(Next::Ethertype(0x0800, _))));
        assert_eq!(
            chdlc(&[0x8F, 0, 0x80, 0x35]).unwrap(),
            Next::Ethertype(0x8035, &[])
        );
        assert!(chdlc(&[0xFF, 3, 0, 0x21]).is_err());
        assert_eq!(ppp_link(&[0xFF, 0x03, 0xC0, 0x21]).unwrap(), Next::Other); // LCP
    }

    #[test]
    fn ppi() {
        // someip_sd_sample.pcap #1: version 0, flags 0, pph_len 16, DLT 1,
        // one 8-byte field, then Ethernet.
        let frame = include_bytes!("../testdata/ppi_eth_ipv4_udp.bin");
        let p = Ppi::new_checked(&frame[..]).unwrap();
        assert_eq!((p.flags(), p.header_len(), p.dlt()), (0, 16, 1));
        assert_eq!(p.payload().len(), frame.len() - 16);
        assert!(Ppi::new_checked(&frame[..15]).is_err());
        assert!(Ppi::new_checked(&[0u8, 0, 4, 0, 1, 0, 0, 0][..]).is_err());
    }
}
