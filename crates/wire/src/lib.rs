//! Zero-copy views over link, network and transport headers, and a decoder
//! that walks a captured frame down to its innermost transport layer.
//!
//! This crate knows nothing above layer 4: no application protocol names.
//!
//! # Invariants
//! * Every view is created with `new_checked`, which verifies the buffer is
//!   long enough for the fixed header; after that no accessor panics.
//! * [`decode`] never panics on any input: malformed frames yield a
//!   [`DecodeError`], which the caller counts and skips.
//! * Tunnels (GRE, VXLAN on UDP 4789, Geneve on UDP 6081, GTP-U on UDP 2152, CAPWAP data on UDP
//!   5247) are decapsulated, so the [`Decoded`] packet describes the inner
//!   packet; the outermost tunnel kind is kept in [`Decoded::tunnel`].

// Wire data is hostile: no unwrap/expect outside tests, and no string
// slicing at byte offsets that may split a character (issue 21 §5).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::string_slice)
)]

use std::net::IpAddr;

pub mod capwap;
pub mod decode;
pub mod ethernet;
pub mod geneve;
pub mod gre;
pub mod gtpu;
pub mod icmp;
pub mod ieee80211;
pub mod ipv4;
pub mod ipv6;
pub mod link;
pub mod llc;
pub mod mpls;
pub mod ppp;
pub mod sctp;
pub mod tcp;
pub mod udp;
pub mod vlan;
pub mod vxlan;

pub use decode::{decode, decode_reassembled, innermost_addrs};

/// A link-layer header type, as numbered by tcpdump.org's LINKTYPE_ registry
/// (the value stored in a pcap file header or a pcapng IDB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback: 4-byte address family in host byte order.
    pub const NULL: LinkType = LinkType(0);
    /// IEEE 802.3 Ethernet.
    pub const ETHERNET: LinkType = LinkType(1);
    /// PPP, RFC 1661 (optionally with HDLC-like framing, RFC 1662).
    pub const PPP: LinkType = LinkType(9);
    /// Raw IP; some systems write 12 or 14 instead of 101.
    pub const RAW: LinkType = LinkType(101);
    /// Cisco HDLC.
    pub const C_HDLC: LinkType = LinkType(104);
    /// IEEE 802.11 frames without a radio header.
    pub const IEEE802_11: LinkType = LinkType(105);
    /// OpenBSD loopback: 4-byte address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux cooked capture v1.
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Per-Packet Information header followed by another link type.
    pub const PPI: LinkType = LinkType(192);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// Whether [`decode`] understands this link type. Like [`decode`], this
    /// ignores the upper 16 bits (the pcap header's FCS-length bits).
    pub fn is_supported(self) -> bool {
        matches!(
            self.0 & 0xFFFF,
            0 | 1 | 9 | 12 | 14 | 101 | 104 | 105 | 108 | 113 | 192 | 228 | 229 | 276
        )
    }
}

/// The outermost tunnel that was decapsulated to reach the inner packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tunnel {
    Gre,
    Vxlan,
    GtpU,
    Capwap,
    /// IP-in-IP (IPv4 or IPv6 carried directly in IP, protocols 4 and 41).
    IpInIp,
    /// Geneve (RFC 8926, UDP 6081).
    Geneve,
}

/// IPv4 or IPv6 fragment information. When present the transport header
/// has not been decoded ([`Transport::Fragment`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment {
    /// IPv4 identification (16 bits) or IPv6 fragment identification.
    pub id: u32,
    /// Byte offset of this fragment's data in the original payload.
    pub offset: u32,
    /// More-fragments flag.
    pub more: bool,
}

/// TCP header fields a flow tracker needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpInfo {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    /// The flag byte: FIN=0x01 SYN=0x02 RST=0x04 PSH=0x08 ACK=0x10 URG=0x20 ECE=0x40 CWR=0x80.
    pub flags: u8,
    pub window: u16,
}

impl TcpInfo {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;
}

/// The innermost transport layer of a decoded packet. `payload` is the
/// transport payload, already trimmed to the IP length (link padding removed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport<'a> {
    Tcp {
        tcp: TcpInfo,
        payload: &'a [u8],
    },
    Udp {
        src_port: u16,
        dst_port: u16,
        payload: &'a [u8],
    },
    Icmp {
        icmp_type: u8,
        code: u8,
        payload: &'a [u8],
    },
    Icmpv6 {
        icmp_type: u8,
        code: u8,
        payload: &'a [u8],
    },
    Sctp {
        src_port: u16,
        dst_port: u16,
        payload: &'a [u8],
    },
    /// GRE that could not be decapsulated (unknown inner protocol, e.g. PPTP's PPP).
    Gre {
        protocol: u16,
        payload: &'a [u8],
    },
    /// An IP fragment awaiting reassembly; `payload` is the fragment data.
    Fragment {
        payload: &'a [u8],
    },
    /// Any other IP protocol; `payload` follows the IP header.
    Other {
        payload: &'a [u8],
    },
}

impl<'a> Transport<'a> {
    /// The transport payload bytes.
    pub fn payload(&self) -> &'a [u8] {
        match *self {
            Transport::Tcp { payload, .. }
            | Transport::Udp { payload, .. }
            | Transport::Icmp { payload, .. }
            | Transport::Icmpv6 { payload, .. }
            | Transport::Sctp { payload, .. }
            | Transport::Gre { payload, .. }
            | Transport::Fragment { payload }
            | Transport::Other { payload } => payload,
        }
    }

    /// Source and destination ports, or (0, 0) where the protocol has none.
    pub fn ports(&self) -> (u16, u16) {
        match *self {
            Transport::Tcp { tcp, .. } => (tcp.src_port, tcp.dst_port),
            Transport::Udp {
                src_port, dst_port, ..
            }
            | Transport::Sctp {
                src_port, dst_port, ..
            } => (src_port, dst_port),
            _ => (0, 0),
        }
    }
}

/// The (innermost) IP layer of a decoded packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpLayer<'a> {
    /// 4 or 6.
    pub version: u8,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// Upper-layer protocol number, after any IPv6 extension headers.
    pub proto: u8,
    pub ttl: u8,
    /// The packet's IP length: the IPv4 total length (the captured length
    /// when that field is 0, as with TCP segmentation offload), or 40 + the
    /// IPv6 payload length; for a reassembled datagram, the whole of it.
    pub len: u32,
    /// Set when this packet is a fragment (offset > 0 or more-fragments).
    pub fragment: Option<Fragment>,
    pub transport: Transport<'a>,
}

/// A decoded frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// Outermost 802.1Q / 802.1ad VLAN ID, if any.
    pub vlan: Option<u16>,
    /// Second VLAN ID of a QinQ stack, if any.
    pub inner_vlan: Option<u16>,
    /// Outermost decapsulated tunnel, if any.
    pub tunnel: Option<Tunnel>,
    /// The innermost IP packet, or `None` for non-IP frames (ARP, LLDP, STP...).
    pub ip: Option<IpLayer<'a>>,
    /// Ethertype (or equivalent) of the innermost frame; 0 when unknown.
    pub ethertype: u16,
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("{layer} header truncated")]
    Truncated { layer: &'static str },
    #[error("{layer}: {what}")]
    Malformed {
        layer: &'static str,
        what: &'static str,
    },
    #[error("unsupported link type {0}")]
    UnsupportedLinkType(u32),
    #[error("too many nested encapsulations")]
    TooDeep,
}
