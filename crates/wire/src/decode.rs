//! Frame decoder: link layer → VLAN/MPLS → IP → transport, with tunnel
//! decapsulation. See the crate docs for the invariants.
//!
//! The decoder is a small recursive walk over the header views of this
//! crate. It allocates nothing: every layer is a borrowed slice of the
//! frame. Every step that can lead back to an outer layer (VLAN tag, MPLS
//! stack, PPPoE, PPI, tunnels) counts against [`MAX_DEPTH`], which bounds
//! both the recursion and the work done on hostile input.
//!
//! Tunnels are decapsulated optimistically: if the inner packet does not
//! decode (or there is no recognisable inner packet at all, e.g. an 802.11
//! management frame inside CAPWAP or a GTP-U echo on port 2152), the outer
//! packet is returned as it is, so that garbage sent to a tunnel port shows
//! up as an ordinary UDP/GRE/IP flow rather than as an error.

use crate::ethernet::{self, ethertype};
use crate::link::{self, Next};
use crate::{
    capwap, gre, gtpu, icmp, ieee80211, ipv4, ipv6, llc, mpls, ppp, sctp, tcp, udp, vlan, vxlan,
};
use crate::{DecodeError, Decoded, IpLayer, LinkType, Transport, Tunnel};

/// Maximum number of nested encapsulations (VLAN tags, MPLS stacks, PPPoE,
/// PPI, tunnels) before [`DecodeError::TooDeep`].
pub const MAX_DEPTH: u8 = 8;

/// IP protocol numbers the decoder acts on.
pub mod ip_proto {
    pub const ICMP: u8 = 1;
    pub const IPIP: u8 = 4;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const IPV6: u8 = 41;
    pub const GRE: u8 = 47;
    pub const ESP: u8 = 50;
    pub const AH: u8 = 51;
    pub const ICMPV6: u8 = 58;
    pub const SCTP: u8 = 132;
}

/// Decode one captured frame of the given link type.
///
/// The upper bits of a pcap link type field (FCS length, bits 16-31) are
/// ignored, as libpcap does.
pub fn decode(link: LinkType, frame: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    let mut c = Ctx::default();
    let ip = c.link(link.0 & 0xFFFF, frame)?;
    Ok(c.finish(ip))
}

/// Continue decoding after IP reassembly. `frag` is the decoded first (or
/// any) fragment of the datagram, and `payload` the reassembled IP payload,
/// starting at the header named by `frag.ip.proto` (for IPv6, the header after
/// the Fragment extension header). The result has `fragment == None`.
pub fn decode_reassembled<'a>(
    frag: &Decoded<'_>,
    payload: &'a [u8],
) -> Result<Decoded<'a>, DecodeError> {
    let Some(f) = frag.ip else {
        return Err(DecodeError::Malformed {
            layer: "reassembly",
            what: "fragment has no IP layer",
        });
    };
    let mut c = Ctx {
        depth: 0,
        vlan: frag.vlan,
        inner_vlan: frag.inner_vlan,
        tunnel: frag.tunnel,
        ethertype: frag.ethertype,
    };
    let mut ip = IpLayer {
        version: f.version,
        src: f.src,
        dst: f.dst,
        proto: f.proto,
        ttl: f.ttl,
        fragment: None,
        transport: Transport::Other { payload },
    };
    let mut payload = payload;
    // For IPv6 the reassembled payload may start with more extension
    // headers (RFC 8200 §4.5: the Fragmentable Part "consists of the rest
    // of the packet, that is, any extension headers that need be processed
    // only by the final destination node(s), plus the upper-layer header
    // and data"); AH is skipped for IPv4 as in `decode`.
    if f.version == 6 || f.proto == ip_proto::AH {
        let u = ipv6::walk_extension_headers(f.proto, payload)?;
        ip.proto = u.protocol;
        payload = u.payload;
        if let Some(fr) = u.fragment {
            ip.fragment = Some(fr);
            ip.transport = Transport::Fragment { payload };
            return Ok(c.finish(Some(ip)));
        }
    }
    let ip = c.transport(ip, payload)?;
    Ok(c.finish(ip))
}

type Res<'a> = Result<Option<IpLayer<'a>>, DecodeError>;

/// Decoder state carried down the layers.
#[derive(Debug, Clone, Copy, Default)]
struct Ctx {
    depth: u8,
    vlan: Option<u16>,
    inner_vlan: Option<u16>,
    tunnel: Option<Tunnel>,
    ethertype: u16,
}

fn truncated(layer: &'static str) -> DecodeError {
    DecodeError::Truncated { layer }
}

impl Ctx {
    fn finish(self, ip: Option<IpLayer<'_>>) -> Decoded<'_> {
        Decoded {
            vlan: self.vlan,
            inner_vlan: self.inner_vlan,
            tunnel: self.tunnel,
            ip,
            ethertype: self.ethertype,
        }
    }

    fn enter(&mut self) -> Result<(), DecodeError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            Err(DecodeError::TooDeep)
        } else {
            Ok(())
        }
    }

    fn link<'a>(&mut self, link: u32, frame: &'a [u8]) -> Res<'a> {
        match link {
            0 => self.next(link::null(frame, false)?),
            1 => self.ethernet(frame),
            9 => self.next(link::ppp_link(frame)?),
            12 | 14 | 101 => self.ip(frame),
            104 => self.next(link::chdlc(frame)?),
            105 => self.wlan(frame, false),
            108 => self.next(link::null(frame, true)?),
            113 => self.next(link::Sll::new_checked(frame)?.next()),
            192 => {
                let p = link::Ppi::new_checked(frame)?;
                if p.dlt() == 192 {
                    return Err(DecodeError::Malformed {
                        layer: "ppi",
                        what: "PPI inside PPI",
                    });
                }
                self.enter()?;
                self.link(p.dlt(), p.payload())
            }
            228 => self.ipv4(frame),
            229 => self.ipv6(frame),
            276 => self.next(link::Sll2::new_checked(frame)?.next()),
            other => Err(DecodeError::UnsupportedLinkType(other)),
        }
    }

    fn next<'a>(&mut self, next: Next<'a>) -> Res<'a> {
        match next {
            Next::Ethertype(e, p) => self.ether_payload(e, p),
            Next::Llc(p) => self.llc(p),
            Next::Ip(p) => self.ip(p),
            Next::Other => {
                self.ethertype = 0;
                Ok(None)
            }
        }
    }

    fn ethernet<'a>(&mut self, frame: &'a [u8]) -> Res<'a> {
        let f = ethernet::Frame::new_checked(frame)?;
        match f.llc_payload() {
            Some(p) => self.llc(p),
            None => self.ether_payload(f.ethertype(), f.payload()),
        }
    }

    /// An 802.2 LLC PDU: only SNAP with an Ethertype leads anywhere.
    fn llc<'a>(&mut self, p: &'a [u8]) -> Res<'a> {
        self.ethertype = 0;
        // Novell "raw 802.3" frames start with the IPX checksum 0xFFFF
        // instead of an LLC header.
        if p.starts_with(&[0xFF, 0xFF]) {
            return Ok(None);
        }
        match llc::Pdu::new_checked(p)?.snap_ethertype() {
            Some((e, rest)) => self.ether_payload(e, rest),
            None => Ok(None),
        }
    }

    fn ether_payload<'a>(&mut self, e: u16, p: &'a [u8]) -> Res<'a> {
        // Values below 0x0600 are 802.3 lengths, not Ethertypes.
        self.ethertype = if e >= 0x0600 { e } else { 0 };
        match e {
            ethertype::IPV4 => self.ipv4(p),
            ethertype::IPV6 => self.ipv6(p),
            ethertype::VLAN | ethertype::QINQ | ethertype::QINQ_OLD => {
                self.enter()?;
                let t = vlan::Tag::new_checked(p)?;
                if self.vlan.is_none() {
                    self.vlan = Some(t.vid());
                } else if self.inner_vlan.is_none() {
                    self.inner_vlan = Some(t.vid());
                }
                self.ether_payload(t.ethertype(), t.payload())
            }
            ethertype::MPLS_UNICAST | ethertype::MPLS_MULTICAST => self.mpls(p),
            ethertype::PPPOE_SESSION => {
                self.enter()?;
                let s = ppp::PppoePacket::new_checked(p)?;
                // RFC 2516 §6: "The CODE field MUST be set to 0x00" in the
                // session stage; anything else is not a data packet.
                if s.code() != 0 {
                    return Ok(None);
                }
                let (proto, rest) = ppp::parse(s.payload())?;
                match ppp::to_ethertype(proto) {
                    0 => Ok(None),
                    inner => self.ether_payload(inner, rest),
                }
            }
            _ => Ok(None),
        }
    }

    /// Pop the label stack, then guess the payload from its first nibble.
    fn mpls<'a>(&mut self, mut p: &'a [u8]) -> Res<'a> {
        self.enter()?;
        loop {
            let e = mpls::LabelEntry::new_checked(p)?;
            p = e.payload();
            if e.bottom_of_stack() {
                break;
            }
        }
        match mpls::guess_payload(p) {
            mpls::Payload::Ipv4 => self.ipv4(p),
            mpls::Payload::Ipv6 => self.ipv6(p),
            mpls::Payload::ControlWord => {
                let eth = p
                    .get(mpls::CONTROL_WORD_LEN..)
                    .ok_or(truncated("mpls control word"))?;
                self.enter()?;
                self.ethernet(eth)
            }
            mpls::Payload::Unknown => Ok(None),
        }
    }

    /// An 802.11 frame: data frames lead to LLC/SNAP, the rest is not IP.
    fn wlan<'a>(&mut self, p: &'a [u8], capwap: bool) -> Res<'a> {
        self.ethertype = 0;
        let f = if capwap {
            ieee80211::Frame::new_checked_capwap(p)?
        } else {
            ieee80211::Frame::new_checked(p)?
        };
        match f.msdu() {
            Some(m) => self.llc(m),
            None => Ok(None),
        }
    }

    /// An IP packet of either version, by its version nibble.
    fn ip<'a>(&mut self, p: &'a [u8]) -> Res<'a> {
        match p.first().map(|b| b >> 4) {
            Some(4) => self.ipv4(p),
            Some(6) => self.ipv6(p),
            Some(_) => Err(DecodeError::Malformed {
                layer: "ip",
                what: "version is neither 4 nor 6",
            }),
            None => Err(truncated("ip")),
        }
    }

    fn ipv4<'a>(&mut self, p: &'a [u8]) -> Res<'a> {
        self.ethertype = ethertype::IPV4;
        let h = ipv4::Packet::new_checked(p)?;
        let mut payload = h.payload();
        let mut ip = IpLayer {
            version: 4,
            src: h.src_addr().into(),
            dst: h.dst_addr().into(),
            proto: h.protocol(),
            ttl: h.ttl(),
            fragment: h.fragment(),
            transport: Transport::Fragment { payload },
        };
        // RFC 791: fragments other than the first carry no transport
        // header, and the first is incomplete; leave both to reassembly.
        if ip.fragment.is_some() {
            return Ok(Some(ip));
        }
        // AH (RFC 4302) protects but does not hide the upper layer: skip it
        // so that the flow has its real protocol and ports.
        if ip.proto == ip_proto::AH {
            let u = ipv6::walk_extension_headers(ip_proto::AH, payload)?;
            ip.proto = u.protocol;
            payload = u.payload;
        }
        self.transport(ip, payload)
    }

    fn ipv6<'a>(&mut self, p: &'a [u8]) -> Res<'a> {
        self.ethertype = ethertype::IPV6;
        let h = ipv6::Packet::new_checked(p)?;
        let u = ipv6::walk_extension_headers(h.next_header(), h.payload())?;
        let ip = IpLayer {
            version: 6,
            src: h.src_addr().into(),
            dst: h.dst_addr().into(),
            proto: u.protocol,
            ttl: h.hop_limit(),
            fragment: u.fragment,
            transport: Transport::Fragment { payload: u.payload },
        };
        if ip.fragment.is_some() {
            return Ok(Some(ip));
        }
        self.transport(ip, u.payload)
    }

    fn transport<'a>(&mut self, mut ip: IpLayer<'a>, p: &'a [u8]) -> Res<'a> {
        ip.transport = match ip.proto {
            ip_proto::TCP => {
                let t = tcp::Packet::new_checked(p)?;
                Transport::Tcp {
                    tcp: t.info(),
                    payload: t.payload(),
                }
            }
            ip_proto::UDP => {
                let u = udp::Packet::new_checked(p)?;
                let (src_port, dst_port, payload) = (u.src_port(), u.dst_port(), u.payload());
                if let Some(inner) = self.udp_tunnel(src_port, dst_port, payload)? {
                    return Ok(inner);
                }
                Transport::Udp {
                    src_port,
                    dst_port,
                    payload,
                }
            }
            ip_proto::ICMP => {
                let i = icmp::Packet::new_checked(p)?;
                Transport::Icmp {
                    icmp_type: i.msg_type(),
                    code: i.code(),
                    payload: i.body(),
                }
            }
            ip_proto::ICMPV6 => {
                let i = icmp::Packet::new_checked(p)?;
                Transport::Icmpv6 {
                    icmp_type: i.msg_type(),
                    code: i.code(),
                    payload: i.body(),
                }
            }
            ip_proto::SCTP => {
                let s = sctp::Packet::new_checked(p)?;
                Transport::Sctp {
                    src_port: s.src_port(),
                    dst_port: s.dst_port(),
                    payload: s.chunks(),
                }
            }
            ip_proto::GRE => return self.gre(ip, p),
            ip_proto::IPIP | ip_proto::IPV6 => {
                let v4 = ip.proto == ip_proto::IPIP;
                let inner =
                    self.try_tunnel(Tunnel::IpInIp, |c| if v4 { c.ipv4(p) } else { c.ipv6(p) })?;
                if let Some(inner) = inner {
                    return Ok(inner);
                }
                Transport::Other { payload: p }
            }
            _ => Transport::Other { payload: p },
        };
        Ok(Some(ip))
    }

    /// Run `f` to decode a tunnel's inner packet. Returns `Some(inner)` if
    /// it found one (an IP packet, or a frame with a known Ethertype), and
    /// `None` with the state restored otherwise. Only `TooDeep` escapes.
    fn try_tunnel<'a>(
        &mut self,
        kind: Tunnel,
        f: impl FnOnce(&mut Self) -> Res<'a>,
    ) -> Result<Option<Option<IpLayer<'a>>>, DecodeError> {
        let saved = *self;
        self.enter()?;
        self.tunnel.get_or_insert(kind);
        self.ethertype = 0;
        match f(self) {
            Ok(inner) if inner.is_some() || self.ethertype != 0 => Ok(Some(inner)),
            Err(DecodeError::TooDeep) => Err(DecodeError::TooDeep),
            _ => {
                *self = saved;
                Ok(None)
            }
        }
    }

    fn udp_tunnel<'a>(
        &mut self,
        src_port: u16,
        dst_port: u16,
        p: &'a [u8],
    ) -> Result<Option<Option<IpLayer<'a>>>, DecodeError> {
        // RFC 7348 §5: "Destination Port: IANA has assigned the value 4789
        // for the VXLAN UDP port".
        if dst_port == vxlan::UDP_PORT {
            return self.try_tunnel(Tunnel::Vxlan, |c| {
                c.ethernet(vxlan::Packet::new_checked(p)?.payload())
            });
        }
        if src_port == gtpu::UDP_PORT || dst_port == gtpu::UDP_PORT {
            return self.try_tunnel(Tunnel::GtpU, |c| {
                let g = gtpu::Packet::new_checked(p)?;
                // Only a G-PDU carries a user packet (TS 29.281 §6.1).
                if g.msg_type() != gtpu::MSG_G_PDU {
                    return Ok(None);
                }
                c.ip(g.payload())
            });
        }
        if src_port == capwap::DATA_PORT || dst_port == capwap::DATA_PORT {
            return self.try_tunnel(Tunnel::Capwap, |c| {
                let h = capwap::Packet::new_checked(p)?;
                if h.is_fragment() || h.is_keepalive() {
                    return Ok(None);
                }
                if !h.native_frame() {
                    c.ethernet(h.payload())
                } else if h.wbid() == capwap::WBID_IEEE80211 {
                    c.wlan(h.payload(), true)
                } else {
                    Ok(None)
                }
            });
        }
        Ok(None)
    }

    fn gre<'a>(&mut self, mut ip: IpLayer<'a>, p: &'a [u8]) -> Res<'a> {
        let g = match gre::Packet::new_checked(p) {
            Ok(g) => g,
            // Versions and flags we do not implement: keep it as opaque GRE.
            Err(DecodeError::Malformed { .. }) => {
                let (protocol, payload) = match p {
                    [_, _, a, b, rest @ ..] => (u16::from_be_bytes([*a, *b]), rest),
                    _ => return Err(truncated("gre")),
                };
                ip.transport = Transport::Gre { protocol, payload };
                return Ok(Some(ip));
            }
            Err(e) => return Err(e),
        };
        let (protocol, payload, has_seq) = (g.protocol(), g.payload(), g.has_seq());
        let inner = self.try_tunnel(Tunnel::Gre, |c| match protocol {
            ethertype::IPV4
            | ethertype::IPV6
            | ethertype::MPLS_UNICAST
            | ethertype::MPLS_MULTICAST => c.ether_payload(protocol, payload),
            ethertype::TEB => c.ethernet(payload),
            // ERSPAN type I has no header and no GRE sequence number
            // (Wireshark tells type I from II the same way).
            ethertype::ERSPAN_II if !has_seq => c.ethernet(payload),
            ethertype::ERSPAN_II => c.ethernet(gre::erspan_ii(payload)?.payload),
            ethertype::ERSPAN_III => {
                let e = gre::erspan_iii(payload)?;
                match e.frame_type {
                    0 => c.ethernet(e.payload),
                    2 => c.ip(e.payload),
                    _ => Ok(None),
                }
            }
            // PPTP (RFC 2637): PPP, usually with address/control bytes.
            ethertype::PPP => {
                let (pp, rest) = ppp::parse(payload)?;
                match ppp::to_ethertype(pp) {
                    0 => Ok(None),
                    e => c.ether_payload(e, rest),
                }
            }
            _ => Ok(None),
        })?;
        if let Some(inner) = inner {
            return Ok(inner);
        }
        ip.transport = Transport::Gre { protocol, payload };
        Ok(Some(ip))
    }
}
