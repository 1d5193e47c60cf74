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
    capwap, geneve, gre, gtpu, icmp, ieee80211, ipv4, ipv6, llc, mpls, ppp, sctp, tcp, udp, vlan,
    vxlan,
};
use crate::{DecodeError, Decoded, IpLayer, LinkType, Transport, Tunnel};
use std::net::IpAddr;

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

/// The innermost IP layer's addresses, as [`decode`] finds them, without
/// decoding a transport header that cannot hold a tunnel (TCP, ICMP,
/// SCTP, UDP to ports no tunnel uses): what `--threads` needs to choose a
/// worker, at a fraction of a full decode. Where `decode` succeeds, the
/// addresses are those of its `ip` layer; where it fails on a transport
/// header, this may still give the addresses.
pub fn innermost_addrs(link: LinkType, frame: &[u8]) -> Option<(IpAddr, IpAddr)> {
    if link.0 & 0xFFFF == 1 {
        if let Some(a) = plain_ethernet_addrs(frame) {
            return Some(a);
        }
    }
    decoded_addrs(link, frame)
}

/// [`innermost_addrs`] through the general decoder.
fn decoded_addrs(link: LinkType, frame: &[u8]) -> Option<(IpAddr, IpAddr)> {
    let mut c = Ctx {
        addrs_only: true,
        ..Ctx::default()
    };
    let ip = c.link(link.0 & 0xFFFF, frame).ok()??;
    Some((ip.src, ip.dst))
}

/// The common frame without the general decoder's machinery: Ethernet II
/// (no VLAN tag), then IPv4 carrying anything but a tunnel or AH, or IPv6
/// whose next header is TCP. `None` when the frame is anything else (the
/// decoder then decides); when `Some`, the decoder's answer, through the
/// same header checks (`new_checked`). Choosing a worker for every frame
/// of a capture was a full decode per frame.
fn plain_ethernet_addrs(frame: &[u8]) -> Option<(IpAddr, IpAddr)> {
    let f = ethernet::Frame::new_checked(frame).ok()?;
    match f.ethertype() {
        ethertype::IPV4 => {
            let h = ipv4::Packet::new_checked(f.payload()).ok()?;
            // Where the decoder goes on looking for an inner packet (see
            // `Ctx::transport`), or walks AH first.
            if matches!(
                h.protocol(),
                ip_proto::UDP | ip_proto::GRE | ip_proto::IPIP | ip_proto::IPV6 | ip_proto::AH
            ) {
                return None;
            }
            Some((h.src_addr().into(), h.dst_addr().into()))
        }
        ethertype::IPV6 => {
            let h = ipv6::Packet::new_checked(f.payload()).ok()?;
            if h.next_header() != ip_proto::TCP {
                return None;
            }
            Some((h.src_addr().into(), h.dst_addr().into()))
        }
        _ => None,
    }
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
        addrs_only: false,
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
        len: if f.version == 6 { 40 } else { 20 } + payload.len() as u32,
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
    /// Stop at a transport header that cannot carry a tunnel (see
    /// [`innermost_addrs`]).
    addrs_only: bool,
    depth: u8,
    vlan: Option<u16>,
    inner_vlan: Option<u16>,
    tunnel: Option<Tunnel>,
    ethertype: u16,
}

/// Non-IP Ethertypes that are worth reporting as a tunnel's inner packet.
fn known_non_ip(e: u16) -> bool {
    matches!(
        e,
        ethertype::ARP
            | 0x8035 // RARP
            | 0x88CC // LLDP
            | 0x888E // 802.1X EAPOL
            | ethertype::PPPOE_DISCOVERY
            | ethertype::PPPOE_SESSION
            | ethertype::MPLS_UNICAST
            | ethertype::MPLS_MULTICAST
    )
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
            len: match h.total_len() {
                0 => (h.header_len() + payload.len()) as u32,
                n => n.into(),
            },
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
            len: 40 + u32::from(h.payload_len()),
            fragment: u.fragment,
            transport: Transport::Fragment { payload: u.payload },
        };
        if ip.fragment.is_some() {
            return Ok(Some(ip));
        }
        self.transport(ip, u.payload)
    }

    fn transport<'a>(&mut self, mut ip: IpLayer<'a>, p: &'a [u8]) -> Res<'a> {
        // Inside a tunnel a bad transport header makes `decode` fall back
        // to the outer packet (`try_tunnel`): check it there as it does.
        if self.addrs_only
            && self.tunnel.is_none()
            && !matches!(
                ip.proto,
                ip_proto::UDP | ip_proto::GRE | ip_proto::IPIP | ip_proto::IPV6
            )
        {
            return Ok(Some(ip));
        }
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
    /// it found one (an IP packet, or a well-known non-IP frame such as
    /// ARP), and `None` with the state restored otherwise, so random bytes
    /// that happen to parse as a frame with an odd Ethertype do not hide
    /// the outer flow. Only `TooDeep` escapes.
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
            Ok(inner) if inner.is_some() || known_non_ip(self.ethertype) => Ok(Some(inner)),
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
        // RFC 8926 §3.3: the destination port is 6081; the inner packet
        // is whatever the Protocol Type names (Ethernet, IPv4, IPv6, ...).
        if dst_port == geneve::UDP_PORT {
            return self.try_tunnel(Tunnel::Geneve, |c| {
                let g = geneve::Packet::new_checked(p)?;
                if g.is_control() {
                    return Ok(None);
                }
                match g.protocol() {
                    ethertype::TEB => c.ethernet(g.payload()),
                    t => c.ether_payload(t, g.payload()),
                }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Fragment, TcpInfo};
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn d(link: u32, frame: &[u8]) -> Decoded<'_> {
        decode(LinkType(link), frame).unwrap()
    }

    /// An Ethernet II frame: `ethertype`, then `l3`.
    fn eth(ethertype: u16, l3: &[u8]) -> Vec<u8> {
        let mut f = vec![2u8; 12];
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(l3);
        f
    }

    /// An IPv4 header (IHL from `options`) carrying `proto`, and 8 bytes.
    fn v4(ver_ihl: u8, total: u16, proto: u8, options: usize) -> Vec<u8> {
        let mut h = vec![ver_ihl, 0];
        h.extend_from_slice(&total.to_be_bytes());
        h.extend_from_slice(&[0, 1, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 192, 168, 7, 9]);
        h.extend(std::iter::repeat_n(1u8, options + 8));
        h
    }

    /// The fixed-offset path gives the decoder's answer whenever it gives
    /// one, and leaves to the decoder what it cannot be sure of.
    #[test]
    fn plain_ethernet_agrees_with_the_decoder() {
        let v6_tcp = {
            let mut h = vec![0x60, 0, 0, 0, 0, 8, 6, 64];
            h.extend((0u8..32).map(|i| i * 7));
            h.extend_from_slice(&[0; 8]);
            h
        };
        let mut v6_hop = v6_tcp.clone();
        v6_hop[6] = 0; // hop-by-hop first: the decoder walks it
        let cases: Vec<(Vec<u8>, bool)> = vec![
            (eth(0x0800, &v4(0x45, 28, 6, 0)), true),
            (eth(0x0800, &v4(0x45, 0, 6, 0)), true), // TSO: length 0
            (eth(0x0800, &v4(0x46, 32, 1, 4)), true), // options
            (eth(0x0800, &v4(0x45, 28, 132, 0)), true), // SCTP
            (eth(0x0800, &v4(0x45, 19, 6, 0)), false), // shorter than its header
            (eth(0x0800, &v4(0x44, 28, 6, 0)), false), // IHL 4
            (eth(0x0800, &v4(0x4f, 28, 6, 0)), false), // IHL beyond the bytes
            (eth(0x0800, &v4(0x65, 28, 6, 0)), false), // version 6 in an IPv4 frame
            (eth(0x0800, &v4(0x45, 28, 17, 0)), false), // UDP: maybe a tunnel
            (eth(0x0800, &v4(0x45, 28, 47, 0)), false), // GRE
            (eth(0x0800, &v4(0x45, 28, 4, 0)), false), // IP in IP
            (eth(0x0800, &v4(0x45, 28, 41, 0)), false), // IPv6 in IPv4
            (eth(0x0800, &v4(0x45, 28, 51, 0)), false), // AH
            (eth(0x0800, &v4(0x45, 28, 6, 0)[..19]), false), // truncated
            (eth(0x86dd, &v6_tcp), true),
            (eth(0x86dd, &v6_hop), false),
            (eth(0x86dd, &v6_tcp[..39]), false),
            (eth(0x8100, &v4(0x45, 28, 6, 0)), false), // VLAN: the decoder's
            (eth(0x0027, &v4(0x45, 28, 6, 0)), false), // 802.3 length
        ];
        for (i, (f, fast)) in cases.iter().enumerate() {
            let got = plain_ethernet_addrs(f);
            assert_eq!(got.is_some(), *fast, "case {i}");
            if got.is_some() {
                assert_eq!(got, decoded_addrs(LinkType(1), f), "case {i}");
            }
            assert_eq!(
                innermost_addrs(LinkType(1), f),
                decoded_addrs(LinkType(1), f),
                "case {i}"
            );
        }
        // Every Ethernet frame of nDPI's corpus, and damaged copies.
        let Some(names) = netsift_testkit::ndpi_pcap_files() else {
            return;
        };
        let mut rng = netsift_testkit::XorShift(41);
        let (mut fast, mut frames) = (0u64, 0u64);
        for path in names {
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            // Classic pcap, Ethernet only (enough to see every path).
            let Some(hdr) = bytes.first_chunk::<24>() else {
                continue;
            };
            if hdr[..4] != [0xd4, 0xc3, 0xb2, 0xa1] || hdr[20..24] != [1, 0, 0, 0] {
                continue;
            }
            let mut at = 24;
            while let Some(rec) = bytes.get(at..at + 16) {
                let len = u32::from_le_bytes([rec[8], rec[9], rec[10], rec[11]]) as usize;
                let Some(data) = bytes.get(at + 16..at + 16 + len) else {
                    break;
                };
                at += 16 + len;
                frames += 1;
                let mut copy = data.to_vec();
                if !copy.is_empty() {
                    let i = rng.below(copy.len().min(64));
                    copy[i] ^= 1 << rng.below(8);
                }
                for f in [data, &copy[..]] {
                    if let Some(a) = plain_ethernet_addrs(f) {
                        fast += 1;
                        assert_eq!(Some(a), decoded_addrs(LinkType(1), f), "{}", path.display());
                    }
                }
            }
        }
        // Most of the corpus is plain Ethernet and IPv4 or IPv6/TCP.
        assert!(
            frames > 10_000 && fast > frames / 2,
            "{fast} of {frames} frames and as many damaged copies"
        );
    }

    fn l3(dec: &Decoded<'_>) -> IpLayer<'static> {
        let i = dec.ip.expect("ip layer");
        // Drop the payload lifetime for easy comparisons of header fields.
        IpLayer {
            transport: Transport::Other { payload: &[] },
            ..i
        }
    }

    fn check_ip(dec: &Decoded<'_>, src: &str, dst: &str, proto: u8, ttl: u8) {
        let i = l3(dec);
        assert_eq!(
            (i.src, i.dst, i.proto, i.ttl),
            (ip(src), ip(dst), proto, ttl)
        );
        assert_eq!(i.version, if i.src.is_ipv4() { 4 } else { 6 });
    }

    fn udp_ports(dec: &Decoded<'_>) -> (u16, u16) {
        match dec.ip.unwrap().transport {
            Transport::Udp {
                src_port, dst_port, ..
            } => (src_port, dst_port),
            t => panic!("not UDP: {t:?}"),
        }
    }

    fn tcp(dec: &Decoded<'_>) -> TcpInfo {
        match dec.ip.unwrap().transport {
            Transport::Tcp { tcp, .. } => tcp,
            t => panic!("not TCP: {t:?}"),
        }
    }

    // ---- link types, with real frames (see testdata/extract.py) ----

    #[test]
    fn null_link() {
        // nats.pcap #1: AF_INET little-endian, 127.0.0.1:54820 -> :4222 SYN.
        let dec = d(0, include_bytes!("../testdata/null_ipv4_tcp.bin"));
        check_ip(&dec, "127.0.0.1", "127.0.0.1", 6, 64);
        let t = tcp(&dec);
        assert_eq!(
            (t.src_port, t.dst_port, t.seq, t.flags),
            (54820, 4222, 4035562812, TcpInfo::SYN)
        );
        assert_eq!(dec.ethertype, 0x0800);
        // openvpn-tlscrypt.pcap #1: AF 30 (macOS), ::1 56256 -> 1194 UDP.
        let dec = d(0, include_bytes!("../testdata/null_ipv6_udp.bin"));
        check_ip(&dec, "::1", "::1", 17, 64);
        assert_eq!(udp_ports(&dec), (56256, 1194));
        assert_eq!(dec.ethertype, 0x86DD);
        // openwire.pcapng #1: AF 24, ::1 51157 -> 61616 SYN.
        let dec = d(0, include_bytes!("../testdata/null_ipv6_tcp.bin"));
        check_ip(&dec, "::1", "::1", 6, 128);
        assert_eq!(tcp(&dec).seq, 3467411658);
    }

    #[test]
    fn loop_link() {
        // Synthetic LINKTYPE_LOOP: AF_INET in network byte order.
        let mut f = vec![0, 0, 0, 2];
        f.extend(ipv4(17, &udp(1, 2, b"x")));
        let dec = d(108, &f);
        assert_eq!(udp_ports(&dec), (1, 2));
        // A little-endian AF is not valid for LOOP.
        f[..4].copy_from_slice(&[2, 0, 0, 0]);
        assert_eq!(d(108, &f).ip, None);
    }

    #[test]
    fn raw_links() {
        // bjnp.pcap #1 (DLT 101): 192.168.185.141:50087 -> 192.168.1.17:8612.
        let f = include_bytes!("../testdata/raw_ipv4_udp.bin");
        let dec = d(101, f);
        check_ip(&dec, "192.168.185.141", "192.168.1.17", 17, 121);
        assert_eq!(udp_ports(&dec), (50087, 8612));
        assert_eq!(d(12, f), dec);
        assert_eq!(d(14, f), dec);
        assert_eq!(d(228, f), dec);
        assert!(decode(LinkType::IPV6, f).is_err());
        // ossfuzz_seed_fake_traces_4.pcapng #1 (DLT 228): 127.0.0.1 100 -> 200.
        let dec = d(228, include_bytes!("../testdata/raw228_ipv4.bin"));
        check_ip(&dec, "127.0.0.1", "127.0.0.1", 17, 64);
        assert_eq!(udp_ports(&dec), (100, 200));
        // DLT 229 / 101 with IPv6: the null_ipv6 frame without its AF.
        let f = &include_bytes!("../testdata/null_ipv6_udp.bin")[4..];
        assert_eq!(udp_ports(&d(229, f)), (56256, 1194));
        assert_eq!(udp_ports(&d(101, f)), (56256, 1194));
        assert!(decode(LinkType(228), f).is_err());
        assert!(decode(LinkType(101), &[0x50; 40]).is_err());
    }

    #[test]
    fn sll_links() {
        // KakaoTalk_talk.pcap #1: 10.24.82.188:51021 -> 103.246.57.251:8080 PSH/ACK.
        let dec = d(113, include_bytes!("../testdata/sll_ipv4_tcp.bin"));
        check_ip(&dec, "10.24.82.188", "103.246.57.251", 6, 63);
        let t = tcp(&dec);
        assert_eq!(
            (t.src_port, t.dst_port, t.seq, t.flags),
            (51021, 8080, 3406690583, 0x18)
        );
        // quic-v2.pcapng #1: ::1 42086 -> 4443.
        let dec = d(113, include_bytes!("../testdata/sll_ipv6_udp.bin"));
        check_ip(&dec, "::1", "::1", 17, 64);
        assert_eq!(udp_ports(&dec), (42086, 4443));
        // log4j-webapp-exploit.pcap #6: ARP.
        let dec = d(113, include_bytes!("../testdata/sll_arp.bin"));
        assert_eq!((dec.ip, dec.ethertype), (None, 0x0806));
        // Synthetic SLL2 carrying the same IPv6 packet.
        let v1 = include_bytes!("../testdata/sll_ipv6_udp.bin");
        let mut f = vec![0x86, 0xdd, 0, 0, 0, 0, 0, 1, 0x03, 0x04, 0, 0];
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&v1[16..]);
        let dec2 = d(276, &f);
        assert_eq!(udp_ports(&dec2), (42086, 4443));
        assert_eq!(l3(&dec2), l3(&d(113, v1)));
    }

    #[test]
    fn ppp_link() {
        // dlt_ppp.pcap #1: 193.167.0.252:44083 -> 193.167.100.100:443.
        let dec = d(9, include_bytes!("../testdata/ppp_ipv4_udp.bin"));
        check_ip(&dec, "193.167.0.252", "193.167.100.100", 17, 63);
        assert_eq!(udp_ports(&dec), (44083, 443));
        // BGP_Cisco_hdlc_slarp.pcap #1: DLT 9 with Cisco HDLC framing;
        // 100.16.1.2:18324 -> 100.16.1.1:179 SYN.
        let f = include_bytes!("../testdata/ppp_chdlc_ipv4_tcp.bin");
        let dec = d(9, f);
        check_ip(&dec, "100.16.1.2", "100.16.1.1", 6, 1);
        assert_eq!(tcp(&dec).dst_port, 179);
        // The same bytes as LINKTYPE_C_HDLC (104).
        assert_eq!(d(104, f), dec);
        // Protocol-field-compressed PPP with HDLC address/control.
        let mut g = vec![0xFF, 0x03, 0x21];
        g.extend(ipv4(17, &udp(5, 6, b"")));
        assert_eq!(udp_ports(&d(9, &g)), (5, 6));
    }

    #[test]
    fn ppi_link() {
        // someip_sd_sample.pcap #1: PPI -> Ethernet, 192.168.88.73 -> 235.2.3.5, 30490.
        let dec = d(192, include_bytes!("../testdata/ppi_eth_ipv4_udp.bin"));
        check_ip(&dec, "192.168.88.73", "235.2.3.5", 17, 255);
        assert_eq!(udp_ports(&dec), (30490, 30490));
    }

    #[test]
    fn ppi_80211() {
        // Synthetic PPI (DLT 105) around an 802.11 QoS data frame, From DS.
        let mut w = vec![0x88, 0x02, 0, 0];
        w.extend_from_slice(&[1; 6]);
        w.extend_from_slice(&[2; 6]);
        w.extend_from_slice(&[3; 6]);
        w.extend_from_slice(&[0, 0, 0, 0]); // seq, QoS
        w.extend_from_slice(&[0xAA, 0xAA, 0x03, 0, 0, 0, 0x86, 0xDD]);
        w.extend(ipv6(17, &udp(7, 8, b"hi")));
        let mut f = vec![0, 0, 8, 0, 105, 0, 0, 0];
        f.extend_from_slice(&w);
        let dec = d(192, &f);
        assert_eq!((udp_ports(&dec), dec.ethertype), ((7, 8), 0x86DD));
        assert_eq!(d(105, &w), dec);
        // A beacon (management) frame decodes with no IP.
        let mut b = w.clone();
        b[0] = 0x80;
        assert_eq!(d(105, &b).ip, None);
        // PPI in PPI is refused; an unknown inner DLT is unsupported.
        f[4] = 192;
        assert!(decode(LinkType::PPI, &f).is_err());
        f[4] = 127;
        assert_eq!(
            decode(LinkType::PPI, &f),
            Err(DecodeError::UnsupportedLinkType(127))
        );
    }

    #[test]
    fn unsupported_link_and_fcs_bits() {
        assert_eq!(
            decode(LinkType(147), &[0; 64]),
            Err(DecodeError::UnsupportedLinkType(147))
        );
        // fuzz-2021-10-13.pcap #1: link type field 0x40000000 (FCS bits set,
        // type 0 = NULL); the AF is garbage so it is simply not IP.
        let dec = decode(
            LinkType(0x4000_0000),
            include_bytes!("../testdata/null_fuzz.bin"),
        )
        .unwrap();
        assert_eq!(dec.ip, None);
        assert!(LinkType(0x4000_0000).is_supported());
    }

    // ---- Ethernet, VLAN, PPPoE, LLC ----

    #[test]
    fn vlan_single() {
        // ajp.pcap #1: VLAN 7, 172.29.9.146:38856 -> 172.29.9.147:8009 SYN.
        let dec = d(1, include_bytes!("../testdata/eth_ipv4_tcp_vlan.bin"));
        assert_eq!(
            (dec.vlan, dec.inner_vlan, dec.tunnel),
            (Some(7), None, None)
        );
        check_ip(&dec, "172.29.9.146", "172.29.9.147", 6, 64);
        let t = tcp(&dec);
        assert_eq!(
            (t.src_port, t.dst_port, t.seq, t.ack, t.flags, t.window),
            (38856, 8009, 1925569327, 0, 2, 14600)
        );
        assert!(dec.ip.unwrap().transport.payload().is_empty());
    }

    #[test]
    fn qinq_pppoe() {
        // dns.pcap #4: VLAN 421, 785, PPPoE session, 82.178.113.245:47255 -> 82.178.158.181:53.
        let dec = d(1, include_bytes!("../testdata/eth_qinq_pppoe_ipv4_udp.bin"));
        assert_eq!(
            (dec.vlan, dec.inner_vlan, dec.ethertype),
            (Some(421), Some(785), 0x0800)
        );
        check_ip(&dec, "82.178.113.245", "82.178.158.181", 17, 64);
        assert_eq!(udp_ports(&dec), (47255, 53));
        assert_eq!(dec.ip.unwrap().transport.payload().len(), 33);
        // custom_categories.pcapng #85: VLAN 285, 121, PPPoE, IPv6 ESP.
        let dec = d(1, include_bytes!("../testdata/eth_qinq_pppoe_ipv6_esp.bin"));
        assert_eq!(
            (dec.vlan, dec.inner_vlan, dec.ethertype),
            (Some(285), Some(121), 0x86DD)
        );
        check_ip(
            &dec,
            "2a01:e34:ef6f:4340:94be:5dac:c20a:d2a0",
            "2001:1670:8:40a6:a08e:332b:aa69:18dc",
            50,
            50,
        );
        assert!(matches!(dec.ip.unwrap().transport, Transport::Other { .. }));
    }

    #[test]
    fn qinq_88a8_and_third_tag() {
        let inner = ipv4(17, &udp(1, 2, b""));
        let mut f = eth_hdr(0x88A8);
        f.extend_from_slice(&[
            0x00, 0x64, 0x81, 0x00, 0x00, 0xC8, 0x91, 0x00, 0x01, 0x2C, 0x08, 0x00,
        ]);
        f.extend_from_slice(&inner);
        let dec = d(1, &f);
        assert_eq!((dec.vlan, dec.inner_vlan), (Some(100), Some(200)));
        assert_eq!(udp_ports(&dec), (1, 2));
    }

    #[test]
    fn non_ip_frames() {
        // fix2.pcap #1: ARP, padded.
        let dec = d(1, include_bytes!("../testdata/eth_arp.bin"));
        assert_eq!((dec.ip, dec.ethertype), (None, 0x0806));
        // tor.pcap #1: 802.3 + LLC (STP).
        let dec = d(1, include_bytes!("../testdata/eth_8023_stp.bin"));
        assert_eq!((dec.ip, dec.ethertype), (None, 0));
        // capwap.pcap #4: 802.3 + SNAP with Cisco OUI (CDP).
        let dec = d(1, include_bytes!("../testdata/eth_8023_snap_cdp.bin"));
        assert_eq!((dec.ip, dec.ethertype), (None, 0));
        // LLDP.
        let lldp = eth_hdr(0x88CC);
        let dec = d(1, &lldp);
        assert_eq!((dec.ip, dec.ethertype), (None, 0x88CC));
    }

    #[test]
    fn llc_snap_ip() {
        let inner = ipv4(6, &tcp_seg(80, 1234));
        let mut f = eth_hdr(0);
        let len = (8 + inner.len()) as u16;
        f[12..14].copy_from_slice(&len.to_be_bytes());
        f.extend_from_slice(&[0xAA, 0xAA, 0x03, 0, 0, 0, 0x08, 0x00]);
        f.extend_from_slice(&inner);
        f.extend_from_slice(&[0; 7]); // padding beyond the 802.3 length
        let dec = d(1, &f);
        assert_eq!(dec.ethertype, 0x0800);
        assert_eq!(tcp(&dec).src_port, 80);
    }

    // ---- MPLS (synthetic: none in the corpus) ----

    #[test]
    fn mpls_stack() {
        let mut f = eth_hdr(0x8847);
        f.extend_from_slice(&[0x00, 0x01, 0x00, 0x40]); // label 16, S=0
        f.extend_from_slice(&[0x00, 0x02, 0x01, 0x40]); // label 32, S=1
        f.extend(ipv6(17, &udp(53, 1000, b"")));
        let dec = d(1, &f);
        assert_eq!((udp_ports(&dec), dec.ethertype), ((53, 1000), 0x86DD));
        // Pseudowire control word then Ethernet (with a VLAN tag).
        let mut f = eth_hdr(0x8847);
        f.extend_from_slice(&[0x00, 0x01, 0x01, 0x40, 0, 0, 0, 0]);
        let mut inner = eth_hdr(0x8100);
        inner.extend_from_slice(&[0x00, 0x05, 0x08, 0x00]);
        inner.extend(ipv4(17, &udp(3, 4, b"")));
        f.extend_from_slice(&inner);
        let dec = d(1, &f);
        assert_eq!((udp_ports(&dec), dec.vlan), ((3, 4), Some(5)));
        // Unknown payload after the stack.
        let mut f = eth_hdr(0x8848);
        f.extend_from_slice(&[0x00, 0x01, 0x01, 0x40, 0x90]);
        assert_eq!((d(1, &f).ip, d(1, &f).ethertype), (None, 0x8848));
        // Stack never reaching bottom.
        let mut f = eth_hdr(0x8847);
        f.extend_from_slice(&[0x00, 0x01, 0x00, 0x40].repeat(30));
        assert!(decode(LinkType::ETHERNET, &f).is_err());
    }

    // ---- IP layers ----

    #[test]
    fn ipv4_options_and_padding() {
        // alexa-app.pcapng #796: IHL 6, IGMP (proto 2), 0.0.0.0 -> 224.0.0.1.
        let dec = d(1, include_bytes!("../testdata/eth_ipv4_igmp_options.bin"));
        check_ip(&dec, "0.0.0.0", "224.0.0.1", 2, 1);
        assert_eq!(
            dec.ip.unwrap().transport,
            Transport::Other {
                payload: &include_bytes!("../testdata/eth_ipv4_igmp_options.bin")[38..46]
            }
        );
    }

    #[test]
    fn ipv4_fragments_and_reassembly() {
        // dns_fragmented.pcap #2/#3: 193.24.227.238 -> 172.217.40.76, id 0xd0fe.
        let first_frame = include_bytes!("../testdata/eth_ipv4_frag_first.bin");
        let last_frame = include_bytes!("../testdata/eth_ipv4_frag_last.bin");
        let first = d(1, first_frame);
        let last = d(1, last_frame);
        check_ip(&first, "193.24.227.238", "172.217.40.76", 17, 64);
        assert_eq!(
            first.ip.unwrap().fragment,
            Some(Fragment {
                id: 0xd0fe,
                offset: 0,
                more: true
            })
        );
        assert_eq!(
            last.ip.unwrap().fragment,
            Some(Fragment {
                id: 0xd0fe,
                offset: 1480,
                more: false
            })
        );
        let (Transport::Fragment { payload: a }, Transport::Fragment { payload: b }) =
            (first.ip.unwrap().transport, last.ip.unwrap().transport)
        else {
            panic!("not fragments");
        };
        assert_eq!(a.len(), 1480);
        let mut whole = a.to_vec();
        whole.extend_from_slice(b);
        let r = decode_reassembled(&first, &whole).unwrap();
        assert_eq!(r.ip.unwrap().fragment, None);
        check_ip(&r, "193.24.227.238", "172.217.40.76", 17, 64);
        // tshark shows the reassembled datagram as DNS 53 -> 56680.
        assert_eq!(udp_ports(&r), (53, 56680));
        assert_eq!(r.ethertype, 0x0800);
        // decode_reassembled needs an IP layer.
        let arp = d(1, include_bytes!("../testdata/eth_arp.bin"));
        assert!(decode_reassembled(&arp, &whole).is_err());
        // Truncated transport in the reassembled payload is an error.
        assert!(decode_reassembled(&first, &whole[..5]).is_err());
    }

    #[test]
    fn ipv6_fragments_and_reassembly() {
        // dns_fragmented.pcap #5/#6: id 0x28403c0b, 2001:470:765b::a25:53 -> 2a00:1450:4013:c03::10a.
        let first = d(1, include_bytes!("../testdata/eth_ipv6_frag_first.bin"));
        let last = d(1, include_bytes!("../testdata/eth_ipv6_frag_last.bin"));
        check_ip(
            &first,
            "2001:470:765b::a25:53",
            "2a00:1450:4013:c03::10a",
            17,
            64,
        );
        assert_eq!(
            first.ip.unwrap().fragment,
            Some(Fragment {
                id: 0x2840_3c0b,
                offset: 0,
                more: true
            })
        );
        assert_eq!(
            last.ip.unwrap().fragment,
            Some(Fragment {
                id: 0x2840_3c0b,
                offset: 1448,
                more: false
            })
        );
        let mut whole = first.ip.unwrap().transport.payload().to_vec();
        whole.extend_from_slice(last.ip.unwrap().transport.payload());
        let r = decode_reassembled(&last, &whole).unwrap();
        assert_eq!(r.ip.unwrap().fragment, None);
        assert_eq!(udp_ports(&r), (53, 46433));
        assert_eq!(r.ethertype, 0x86DD);
        // A Destination Options header in the fragmentable part is skipped.
        let mut with_opts = vec![17, 0, 1, 4, 0, 0, 0, 0];
        with_opts.extend_from_slice(&whole);
        let mut f = first;
        f.ip = Some(IpLayer {
            proto: 60,
            ..f.ip.unwrap()
        });
        assert_eq!(
            udp_ports(&decode_reassembled(&f, &with_opts).unwrap()),
            (53, 46433)
        );
    }

    #[test]
    fn reassembled_tunnel() {
        // A reassembled GRE datagram is decapsulated too.
        let mut frag = d(1, include_bytes!("../testdata/eth_ipv4_frag_first.bin"));
        frag.ip = Some(IpLayer {
            proto: 47,
            ..frag.ip.unwrap()
        });
        let mut g = vec![0x00, 0x00, 0x08, 0x00];
        g.extend(ipv4(17, &udp(9, 10, b"")));
        let r = decode_reassembled(&frag, &g).unwrap();
        assert_eq!((r.tunnel, udp_ports(&r)), (Some(Tunnel::Gre), (9, 10)));
    }

    #[test]
    fn ipv6_extension_headers() {
        // alexa-app.pcapng #5: Hop-by-Hop then ICMPv6 143 (MLDv2).
        let dec = d(1, include_bytes!("../testdata/eth_ipv6_hopopts_icmpv6.bin"));
        check_ip(&dec, "::", "ff02::16", 58, 1);
        assert!(matches!(
            dec.ip.unwrap().transport,
            Transport::Icmpv6 {
                icmp_type: 143,
                code: 0,
                ..
            }
        ));
        // alexa-app.pcapng #3: ICMPv6 135 (neighbour solicitation).
        let dec = d(1, include_bytes!("../testdata/eth_ipv6_icmpv6.bin"));
        check_ip(&dec, "::", "ff02::1:ffd3:fbc2", 58, 255);
        assert!(matches!(
            dec.ip.unwrap().transport,
            Transport::Icmpv6 { icmp_type: 135, .. }
        ));
        // http_ipv6.pcap #1: plain TCP 40526 -> 443 ACK.
        let dec = d(1, include_bytes!("../testdata/eth_ipv6_tcp.bin"));
        check_ip(
            &dec,
            "2a00:d40:1:3:7aac:c0ff:fea7:d4c",
            "2a00:1450:4006:804::200e",
            6,
            64,
        );
        let t = tcp(&dec);
        assert_eq!(
            (t.src_port, t.dst_port, t.seq, t.flags),
            (40526, 443, 1260775767, TcpInfo::ACK)
        );
        // Synthetic routing + destination options + AH chain before UDP.
        let mut chain = vec![60, 0, 0, 0, 0, 0, 0, 0, 51, 0, 0, 0, 0, 0, 0, 0, 17, 1];
        chain.extend_from_slice(&[0; 10]);
        chain.extend(udp(11, 12, b"z"));
        let mut f = eth_hdr(0x86DD);
        f.extend(ipv6(43, &chain));
        let dec = d(1, &f);
        assert_eq!((l3(&dec).proto, udp_ports(&dec)), (17, (11, 12)));
    }

    #[test]
    fn ah_and_sctp_and_icmp() {
        // ah.pcapng #5: IPv4 AH then ICMP echo request; AH is skipped.
        let dec = d(1, include_bytes!("../testdata/eth_ipv4_ah_icmp.bin"));
        check_ip(&dec, "10.2.3.2", "10.3.4.4", 1, 255);
        assert!(matches!(
            dec.ip.unwrap().transport,
            Transport::Icmp {
                icmp_type: 8,
                code: 0,
                ..
            }
        ));
        // sctp.cap #1: 10.28.6.43:16384 -> 10.28.6.44:2944.
        let dec = d(1, include_bytes!("../testdata/eth_ipv4_sctp.bin"));
        check_ip(&dec, "10.28.6.43", "10.28.6.44", 132, 59);
        assert_eq!(dec.ip.unwrap().transport.ports(), (16384, 2944));
        assert!(
            matches!(dec.ip.unwrap().transport, Transport::Sctp { payload, .. } if payload[0] == 0)
        );
        // icmp-tunnel.pcap #3: echo request.
        let dec = d(1, include_bytes!("../testdata/eth_ipv4_icmp.bin"));
        check_ip(&dec, "192.168.154.131", "192.168.154.132", 1, 64);
        assert!(matches!(
            dec.ip.unwrap().transport,
            Transport::Icmp { icmp_type: 8, .. }
        ));
        // malformed_icmp.pcap #1: type 165; header is fine, body is junk.
        let dec = d(1, include_bytes!("../testdata/eth_ipv4_icmp_malformed.bin"));
        assert!(matches!(
            dec.ip.unwrap().transport,
            Transport::Icmp { icmp_type: 165, .. }
        ));
    }

    #[test]
    fn malformed_ip_and_tcp() {
        let mut f = eth_hdr(0x0800);
        let mut h = ipv4(6, &tcp_seg(1, 2));
        h[3] = 10; // total length < header length
        f.extend_from_slice(&h);
        assert!(matches!(
            decode(LinkType::ETHERNET, &f),
            Err(DecodeError::Malformed { layer: "ipv4", .. })
        ));
        let mut seg = tcp_seg(1, 2);
        seg[12] = 0x40; // data offset 4
        let mut f = eth_hdr(0x0800);
        f.extend(ipv4(6, &seg));
        assert!(matches!(
            decode(LinkType::ETHERNET, &f),
            Err(DecodeError::Malformed { layer: "tcp", .. })
        ));
    }

    // ---- IP-in-IP ----

    #[test]
    fn ip_in_ip() {
        // 4in6tunnel.pcap #1: outer IPv6, inner 192.168.0.1:64455 -> 10.10.10.1:443 SYN.
        let dec = d(1, include_bytes!("../testdata/eth_4in6.bin"));
        assert_eq!((dec.tunnel, dec.ethertype), (Some(Tunnel::IpInIp), 0x0800));
        check_ip(&dec, "192.168.0.1", "10.10.10.1", 6, 127);
        assert_eq!(tcp(&dec).seq, 3756080770);
        // 6in4tunnel.pcap #1: inner ICMPv6 echo request.
        let dec = d(1, include_bytes!("../testdata/eth_6in4.bin"));
        assert_eq!((dec.tunnel, dec.ethertype), (Some(Tunnel::IpInIp), 0x86DD));
        check_ip(
            &dec,
            "2001:470:1f17:13f:3e97:eff:fe73:4dec",
            "2604:a880:1:20::224:b001",
            58,
            63,
        );
        // 6in6tunnel.pcap #1: inner dead::beef:30000 -> cafe::babe:13000.
        let dec = d(1, include_bytes!("../testdata/eth_6in6.bin"));
        check_ip(&dec, "dead::beef", "cafe::babe", 17, 64);
        assert_eq!(udp_ports(&dec), (30000, 13000));
        // Garbage after protocol 4: the outer packet, undecapsulated.
        let mut f = eth_hdr(0x0800);
        f.extend(ipv4(4, &[0x45, 0, 0]));
        let dec = d(1, &f);
        assert_eq!((dec.tunnel, l3(&dec).proto), (None, 4));
        assert_eq!(
            dec.ip.unwrap().transport,
            Transport::Other {
                payload: &[0x45, 0, 0]
            }
        );
        assert_eq!(dec.ethertype, 0x0800);
    }

    #[test]
    fn nesting_limit() {
        let mut p = ipv4(17, &udp(1, 2, b""));
        for _ in 0..MAX_DEPTH {
            p = ipv4(4, &p);
        }
        assert_eq!(udp_ports(&decode(LinkType::RAW, &p).unwrap()), (1, 2));
        let deeper = ipv4(4, &p);
        assert_eq!(decode(LinkType::RAW, &deeper), Err(DecodeError::TooDeep));
        let mut f = eth_hdr(0x8100);
        f.extend_from_slice(&[0, 1, 0x81, 0x00].repeat(MAX_DEPTH as usize + 1));
        assert_eq!(decode(LinkType::ETHERNET, &f), Err(DecodeError::TooDeep));
    }

    // ---- GRE ----

    #[test]
    fn gre_pptp() {
        // gre.pcapng #1: VLAN 142, 109.105.228.253 -> 10.177.98.84 GRE v1,
        // PPP, inner 192.168.10.210:5060 -> 192.168.103.40:5060 (SIP).
        let dec = d(
            1,
            include_bytes!("../testdata/eth_vlan_gre_pptp_ppp_ipv4_udp.bin"),
        );
        assert_eq!(
            (dec.vlan, dec.tunnel, dec.ethertype),
            (Some(142), Some(Tunnel::Gre), 0x0800)
        );
        check_ip(&dec, "192.168.10.210", "192.168.103.40", 17, 63);
        assert_eq!(udp_ports(&dec), (5060, 5060));
        assert!(dec
            .ip
            .unwrap()
            .transport
            .payload()
            .starts_with(b"SIP/2.0 100"));
    }

    #[test]
    fn gre_variants() {
        let inner_v4 = ipv4(17, &udp(1, 2, b"in"));
        let gre_frame = |hdr: &[u8], body: &[u8]| {
            let mut g = hdr.to_vec();
            g.extend_from_slice(body);
            let mut f = eth_hdr(0x0800);
            f.extend(ipv4(47, &g));
            f
        };
        // Plain RFC 2784 IPv4, and with C+K+S.
        let f = gre_frame(&[0, 0, 0x08, 0x00], &inner_v4);
        assert_eq!(
            (udp_ports(&d(1, &f)), d(1, &f).tunnel),
            ((1, 2), Some(Tunnel::Gre))
        );
        let f = gre_frame(
            &[0xB0, 0, 0x08, 0x00, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2],
            &inner_v4,
        );
        assert_eq!(udp_ports(&d(1, &f)), (1, 2));
        // Transparent Ethernet bridging.
        let mut eth = eth_hdr(0x0800);
        eth.extend_from_slice(&inner_v4);
        let f = gre_frame(&[0x20, 0, 0x65, 0x58, 0, 0, 0, 7], &eth);
        assert_eq!(udp_ports(&d(1, &f)), (1, 2));
        // ERSPAN type II (S set) and type I (no S).
        let mut ii = vec![0x10, 0x0A, 0x00, 0x01, 0, 0, 0, 0];
        ii.extend_from_slice(&eth);
        let f = gre_frame(&[0x10, 0, 0x88, 0xBE, 0, 0, 0, 1], &ii);
        assert_eq!(udp_ports(&d(1, &f)), (1, 2));
        let f = gre_frame(&[0x00, 0, 0x88, 0xBE], &eth);
        assert_eq!(udp_ports(&d(1, &f)), (1, 2));
        // ERSPAN type III with the platform sub-header.
        let mut iii = vec![0x20, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x01];
        iii.extend_from_slice(&[0; 8]);
        iii.extend_from_slice(&eth);
        let f = gre_frame(&[0x10, 0, 0x22, 0xEB, 0, 0, 0, 1], &iii);
        assert_eq!(udp_ports(&d(1, &f)), (1, 2));
        // Unknown protocol and PPTP carrying LCP stay GRE.
        let f = gre_frame(&[0, 0, 0x12, 0x34], b"data");
        let dec = d(1, &f);
        assert_eq!(dec.tunnel, None);
        assert_eq!(
            dec.ip.unwrap().transport,
            Transport::Gre {
                protocol: 0x1234,
                payload: b"data"
            }
        );
        let f = gre_frame(
            &[0x30, 0x01, 0x88, 0x0B, 0, 4, 0, 1, 0, 0, 0, 1],
            &[0xFF, 0x03, 0xC0, 0x21],
        );
        assert!(matches!(
            d(1, &f).ip.unwrap().transport,
            Transport::Gre {
                protocol: 0x880B,
                ..
            }
        ));
        // Malformed inner IP: outer GRE kept.
        let f = gre_frame(&[0, 0, 0x08, 0x00], &[0x45, 0]);
        assert!(matches!(
            d(1, &f).ip.unwrap().transport,
            Transport::Gre {
                protocol: 0x0800,
                ..
            }
        ));
        // RFC 1701 routing bit: opaque GRE, not an error.
        let f = gre_frame(&[0x40, 0, 0x08, 0x00], &inner_v4);
        assert!(matches!(
            d(1, &f).ip.unwrap().transport,
            Transport::Gre { .. }
        ));
    }

    // ---- UDP tunnels ----

    #[test]
    fn geneve() {
        // suricata-verify bug-6402-01 #4 (AWS Gateway Load Balancer): Geneve
        // with three Amazon options carrying IPv4/GRE carrying the inner
        // IPv4/TCP request 10.2.0.1:39198 -> 10.2.0.2:1234.
        let dec = d(
            1,
            include_bytes!("../testdata/eth_ipv4_geneve_gre_ipv4_tcp.bin"),
        );
        check_ip(&dec, "10.2.0.1", "10.2.0.2", 6, 64);
        // The outermost tunnel names the packet.
        assert_eq!(dec.tunnel, Some(Tunnel::Geneve));
        assert_eq!(tcp(&dec).dst_port, 1234);
        // A Geneve header with an Ethernet payload, built here.
        let mut inner = eth_hdr(0x0800);
        inner.extend(ipv4(17, &udp(53, 5353, b"x")));
        let mut g = vec![0x00, 0x00, 0x65, 0x58, 0, 0, 7, 0];
        g.extend_from_slice(&inner);
        let mut f = eth_hdr(0x0800);
        f.extend(ipv4(17, &udp(40000, 6081, &g)));
        let dec = d(1, &f);
        assert_eq!(
            (dec.tunnel, udp_ports(&dec)),
            (Some(Tunnel::Geneve), (53, 5353))
        );
        // A control packet (O bit) carries no user traffic: the outer UDP.
        g[1] = 0x80;
        let mut f = eth_hdr(0x0800);
        f.extend(ipv4(17, &udp(40000, 6081, &g)));
        let dec = d(1, &f);
        assert_eq!((dec.tunnel, udp_ports(&dec)), (None, (40000, 6081)));
    }

    #[test]
    fn vxlan() {
        let mut inner = eth_hdr(0x86DD);
        inner.extend(ipv6(6, &tcp_seg(443, 5555)));
        let mut v = vec![0x08, 0, 0, 0, 0, 0, 42, 0];
        v.extend_from_slice(&inner);
        let mut f = eth_hdr(0x0800);
        f.extend(ipv4(17, &udp(40000, 4789, &v)));
        let dec = d(1, &f);
        assert_eq!((dec.tunnel, dec.ethertype), (Some(Tunnel::Vxlan), 0x86DD));
        assert_eq!(tcp(&dec).src_port, 443);
        // Inner ARP: tunnel decapsulated, no IP.
        let mut v = vec![0x08, 0, 0, 0, 0, 0, 42, 0];
        v.extend(eth_hdr(0x0806));
        let mut f = eth_hdr(0x0800);
        f.extend(ipv4(17, &udp(40000, 4789, &v)));
        let dec = d(1, &f);
        assert_eq!(
            (dec.tunnel, dec.ip, dec.ethertype),
            (Some(Tunnel::Vxlan), None, 0x0806)
        );
        // No I flag / garbage: stays a UDP flow on 4789.
        let mut f = eth_hdr(0x0800);
        f.extend(ipv4(17, &udp(40000, 4789, b"garbage garbage")));
        let dec = d(1, &f);
        assert_eq!(
            (dec.tunnel, udp_ports(&dec), dec.ethertype),
            (None, (40000, 4789), 0x0800)
        );
    }

    #[test]
    fn gtpu() {
        // dtls.pcap #3: VLAN 3243, 10; GTP-U between 10.116.8.57 and
        // 10.238.250.51; inner 10.191.227.13:54162 -> 157.240.16.128:3478.
        let dec = d(1, include_bytes!("../testdata/eth_qinq_gtpu_ipv4_udp.bin"));
        assert_eq!(
            (dec.vlan, dec.inner_vlan, dec.tunnel),
            (Some(3243), Some(10), Some(Tunnel::GtpU))
        );
        check_ip(&dec, "10.191.227.13", "157.240.16.128", 17, 64);
        assert_eq!(udp_ports(&dec), (54162, 3478));
        // ipv6_in_gtp.pcap #1: VLAN 3233, 5; inner IPv6 UDP 49120 -> 25658.
        let dec = d(1, include_bytes!("../testdata/eth_qinq_gtpu_ipv6.bin"));
        assert_eq!(
            (dec.vlan, dec.inner_vlan, dec.tunnel, dec.ethertype),
            (Some(3233), Some(5), Some(Tunnel::GtpU), 0x86DD)
        );
        check_ip(
            &dec,
            "2607:fc20:4052:39e:490a:ea4d:17fe:e09c",
            "fd00:976a:bc67:193e::7",
            17,
            64,
        );
        assert_eq!(udp_ports(&dec), (49120, 25658));
        // ja3_lots_of_cipher_suites_2_anon.pcap #1 (captured 114 of 118
        // bytes): inner 192.168.147.177:58496 -> 151.121.193.160:443 SYN.
        let dec = d(1, include_bytes!("../testdata/eth_gtpu_ipv4_tcp.bin"));
        check_ip(&dec, "192.168.147.177", "151.121.193.160", 6, 64);
        assert_eq!(tcp(&dec).seq, 1120328421);
        // gtp_c.pcap #1: GTPv2-C on 2123 is plain UDP.
        let dec = d(1, include_bytes!("../testdata/eth_gtpc_v2.bin"));
        assert_eq!((dec.tunnel, udp_ports(&dec)), (None, (1024, 2123)));
        // fuzz-2021-06-07-c6c72a0a56.pcap #1: a fuzzed G-PDU on 2152 whose
        // T-PDU is not IP: stays a UDP packet 2152 -> 53975.
        let dec = d(1, include_bytes!("../testdata/eth_gtpu_fuzz.bin"));
        assert_eq!((dec.tunnel, udp_ports(&dec)), (None, (2152, 53975)));
        check_ip(&dec, "102.110.128.32", "0.6.255.0", 17, 80);
    }

    #[test]
    fn gtpu_options_and_non_gpdu() {
        let inner = ipv4(6, &tcp_seg(1, 2));
        // S flag + one extension header (type 0x85, 1 unit).
        let mut g = vec![0x36, 0xFF, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0x85, 1, 0, 0, 0];
        g.extend_from_slice(&inner);
        let len = (g.len() - 8) as u16;
        g[2..4].copy_from_slice(&len.to_be_bytes());
        let mut f = eth_hdr(0x0800);
        f.extend(ipv4(17, &udp(2152, 2152, &g)));
        let dec = d(1, &f);
        assert_eq!((dec.tunnel, tcp(&dec).dst_port), (Some(Tunnel::GtpU), 2));
        // Echo request (type 1) is not decapsulated.
        let echo = [0x32, 0x01, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0];
        let mut f = eth_hdr(0x0800);
        f.extend(ipv4(17, &udp(2152, 2152, &echo)));
        let dec = d(1, &f);
        assert_eq!((dec.tunnel, udp_ports(&dec)), (None, (2152, 2152)));
    }

    #[test]
    fn capwap() {
        // capwap.pcap #280: 192.168.10.10:12380 -> 192.168.10.9:5247,
        // 802.11 data (Frame Control byte-swapped), inner DHCP
        // 0.0.0.0:68 -> 255.255.255.255:67.
        let dec = d(
            1,
            include_bytes!("../testdata/eth_capwap_80211_ipv4_dhcp.bin"),
        );
        assert_eq!((dec.tunnel, dec.ethertype), (Some(Tunnel::Capwap), 0x0800));
        check_ip(&dec, "0.0.0.0", "255.255.255.255", 17, 255);
        assert_eq!(udp_ports(&dec), (68, 67));
        // #281: inner ICMPv6 router solicitation.
        let dec = d(
            1,
            include_bytes!("../testdata/eth_capwap_80211_ipv6_icmpv6.bin"),
        );
        check_ip(&dec, "fe80::fd:7a4c:8d72:7710", "ff02::2", 58, 255);
        assert!(matches!(
            dec.ip.unwrap().transport,
            Transport::Icmpv6 { icmp_type: 133, .. }
        ));
        // #312: inner ARP.
        let dec = d(1, include_bytes!("../testdata/eth_capwap_80211_arp.bin"));
        assert_eq!(
            (dec.tunnel, dec.ip, dec.ethertype),
            (Some(Tunnel::Capwap), None, 0x0806)
        );
        // #318: inner IGMP; Cisco's Sequence Control reads as fragment 1,
        // which must not stop decapsulation (regression: the IGMP flow was lost).
        let dec = d(1, include_bytes!("../testdata/eth_capwap_80211_igmp.bin"));
        assert_eq!(dec.tunnel, Some(Tunnel::Capwap));
        check_ip(&dec, "169.254.87.121", "224.0.0.251", 2, 255);
        // #116: 802.11 management frame: nothing inside, the outer UDP flow.
        let dec = d(1, include_bytes!("../testdata/eth_capwap_80211_mgmt.bin"));
        assert_eq!((dec.tunnel, udp_ports(&dec)), (None, (12380, 5247)));
        // #1: control channel (5246), DTLS: plain UDP.
        let dec = d(1, include_bytes!("../testdata/eth_capwap_control_dtls.bin"));
        assert_eq!((dec.tunnel, udp_ports(&dec)), (None, (5246, 12379)));
        // Synthetic T=0: inner 802.3 frame.
        let mut c = vec![0x00, 0x10, 0x02, 0x00, 0, 0, 0, 0];
        let mut eth = eth_hdr(0x0800);
        eth.extend(ipv4(6, &tcp_seg(22, 2222)));
        c.extend_from_slice(&eth);
        let mut f = eth_hdr(0x0800);
        f.extend(ipv4(17, &udp(5247, 40000, &c)));
        let dec = d(1, &f);
        assert_eq!((dec.tunnel, tcp(&dec).src_port), (Some(Tunnel::Capwap), 22));
    }

    #[test]
    fn nested_tunnels_keep_outermost() {
        // GTP-U inside VXLAN: tunnel is VXLAN.
        let mut g = vec![0x30, 0xFF, 0, 0, 0, 0, 0, 1];
        g.extend(ipv4(17, &udp(7, 8, b"")));
        let len = (g.len() - 8) as u16;
        g[2..4].copy_from_slice(&len.to_be_bytes());
        let mut inner_eth = eth_hdr(0x0800);
        inner_eth.extend(ipv4(17, &udp(2152, 2152, &g)));
        let mut v = vec![0x08, 0, 0, 0, 0, 0, 1, 0];
        v.extend_from_slice(&inner_eth);
        let mut f = eth_hdr(0x0800);
        f.extend(ipv4(17, &udp(1, 4789, &v)));
        let dec = d(1, &f);
        assert_eq!((dec.tunnel, udp_ports(&dec)), (Some(Tunnel::Vxlan), (7, 8)));
    }

    // ---- robustness ----

    const FRAMES: &[(u32, &[u8])] = &[
        (0, include_bytes!("../testdata/null_ipv4_tcp.bin")),
        (0, include_bytes!("../testdata/null_ipv6_udp.bin")),
        (0, include_bytes!("../testdata/null_ipv6_tcp.bin")),
        (0, include_bytes!("../testdata/null_fuzz.bin")),
        (101, include_bytes!("../testdata/raw_ipv4_udp.bin")),
        (228, include_bytes!("../testdata/raw228_ipv4.bin")),
        (113, include_bytes!("../testdata/sll_ipv4_tcp.bin")),
        (113, include_bytes!("../testdata/sll_ipv6_udp.bin")),
        (113, include_bytes!("../testdata/sll_arp.bin")),
        (9, include_bytes!("../testdata/ppp_ipv4_udp.bin")),
        (9, include_bytes!("../testdata/ppp_chdlc_ipv4_tcp.bin")),
        (192, include_bytes!("../testdata/ppi_eth_ipv4_udp.bin")),
        (1, include_bytes!("../testdata/eth_ipv4_tcp_vlan.bin")),
        (1, include_bytes!("../testdata/eth_qinq_pppoe_ipv4_udp.bin")),
        (1, include_bytes!("../testdata/eth_qinq_pppoe_ipv6_esp.bin")),
        (1, include_bytes!("../testdata/eth_8023_stp.bin")),
        (1, include_bytes!("../testdata/eth_8023_snap_cdp.bin")),
        (1, include_bytes!("../testdata/eth_arp.bin")),
        (1, include_bytes!("../testdata/eth_ipv4_igmp_options.bin")),
        (1, include_bytes!("../testdata/eth_ipv4_frag_first.bin")),
        (1, include_bytes!("../testdata/eth_ipv4_frag_last.bin")),
        (1, include_bytes!("../testdata/eth_ipv6_frag_first.bin")),
        (1, include_bytes!("../testdata/eth_ipv6_frag_last.bin")),
        (1, include_bytes!("../testdata/eth_ipv6_hopopts_icmpv6.bin")),
        (1, include_bytes!("../testdata/eth_ipv6_icmpv6.bin")),
        (1, include_bytes!("../testdata/eth_ipv4_ah_icmp.bin")),
        (1, include_bytes!("../testdata/eth_ipv4_sctp.bin")),
        (1, include_bytes!("../testdata/eth_ipv4_icmp.bin")),
        (1, include_bytes!("../testdata/eth_ipv4_icmp_malformed.bin")),
        (
            1,
            include_bytes!("../testdata/eth_vlan_gre_pptp_ppp_ipv4_udp.bin"),
        ),
        (1, include_bytes!("../testdata/eth_qinq_gtpu_ipv4_udp.bin")),
        (1, include_bytes!("../testdata/eth_qinq_gtpu_ipv6.bin")),
        (1, include_bytes!("../testdata/eth_gtpu_ipv4_tcp.bin")),
        (1, include_bytes!("../testdata/eth_gtpc_v2.bin")),
        (1, include_bytes!("../testdata/eth_gtpu_fuzz.bin")),
        (
            1,
            include_bytes!("../testdata/eth_capwap_80211_ipv4_dhcp.bin"),
        ),
        (
            1,
            include_bytes!("../testdata/eth_capwap_80211_ipv6_icmpv6.bin"),
        ),
        (1, include_bytes!("../testdata/eth_capwap_80211_arp.bin")),
        (1, include_bytes!("../testdata/eth_capwap_80211_mgmt.bin")),
        (1, include_bytes!("../testdata/eth_capwap_control_dtls.bin")),
        (1, include_bytes!("../testdata/eth_4in6.bin")),
        (1, include_bytes!("../testdata/eth_6in4.bin")),
        (1, include_bytes!("../testdata/eth_6in6.bin")),
        (1, include_bytes!("../testdata/eth_ipv6_tcp.bin")),
    ];

    const LINKS: &[u32] = &[0, 1, 9, 101, 104, 105, 108, 113, 192, 228, 229, 276];

    /// Every full frame decodes (except the fuzzed NULL one, whose AF is
    /// unknown, which still decodes to a non-IP frame).
    #[test]
    fn all_frames_decode() {
        for (i, (link, f)) in FRAMES.iter().enumerate() {
            assert!(decode(LinkType(*link), f).is_ok(), "frame {i}");
        }
    }

    /// Every prefix of every frame, decoded as every link type: no panic.
    #[test]
    fn prefixes_never_panic() {
        for (link, f) in FRAMES {
            for n in 0..=f.len() {
                let _ = decode(LinkType(*link), &f[..n]);
                let _ = innermost_addrs(LinkType(*link), &f[..n]);
                for l in LINKS {
                    let _ = decode(LinkType(*l), &f[..n.min(96)]);
                    let _ = innermost_addrs(LinkType(*l), &f[..n.min(96)]);
                }
            }
        }
    }

    /// Where `decode` finds an IP layer, `innermost_addrs` finds its
    /// addresses, on every test frame and every prefix of it (the engine
    /// checks the same on nDPI's corpus).
    #[test]
    fn innermost_addrs_agree_with_decode() {
        for (link, f) in FRAMES {
            for n in 0..=f.len() {
                let link = LinkType(*link);
                if let Ok(d) = decode(link, &f[..n]) {
                    assert_eq!(
                        innermost_addrs(link, &f[..n]),
                        d.ip.map(|ip| (ip.src, ip.dst)),
                        "prefix {n} of {f:02x?}"
                    );
                }
            }
        }
    }

    /// Bit flips in the first 96 bytes (all the headers) and byte
    /// substitutions with interesting values: no panic, and a frame whose
    /// header survives still decodes consistently.
    #[test]
    fn bit_flips_never_panic() {
        let mut buf = Vec::new();
        for (link, f) in FRAMES {
            for pos in 0..f.len().min(96) {
                for v in (0..8)
                    .map(|b| f[pos] ^ (1 << b))
                    .chain([0x00, 0xFF, 0x45, 0x60, 0x0F])
                {
                    buf.clear();
                    buf.extend_from_slice(f);
                    buf[pos] = v;
                    if let Ok(dec) = decode(LinkType(*link), &buf) {
                        if let Some(ip) = dec.ip {
                            assert!(ip.version == 4 || ip.version == 6);
                            assert!(ip.transport.payload().len() <= buf.len());
                            if ip.fragment.is_some() {
                                assert!(matches!(ip.transport, Transport::Fragment { .. }));
                                let _ = decode_reassembled(&dec, ip.transport.payload());
                            }
                        }
                    }
                }
            }
        }
    }

    /// A cheap deterministic fuzzer over random bytes with plausible
    /// prefixes (Ethernet/IP/UDP tunnel ports), for code paths the corpus
    /// frames do not reach.
    #[test]
    fn random_bytes_never_panic() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut rnd = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let prefixes: Vec<Vec<u8>> = vec![
            eth_hdr(0x0800),
            eth_hdr(0x86DD),
            eth_hdr(0x8847),
            eth_hdr(0x8864),
            eth_hdr(0x8100),
            {
                let mut p = eth_hdr(0x0800);
                p.extend_from_slice(&ipv4(47, &[])[..20]);
                p
            },
        ];
        let mut buf = Vec::new();
        for i in 0..20_000 {
            buf.clear();
            let pre = &prefixes[i % prefixes.len()];
            buf.extend_from_slice(pre);
            let n = (rnd() % 120) as usize;
            buf.extend((0..n).map(|_| rnd() as u8));
            // Make the IP total length field fit now and then.
            if buf.len() > 34 && rnd() % 2 == 0 && pre.len() == 34 {
                let l = (buf.len() - 14) as u16;
                buf[16..18].copy_from_slice(&l.to_be_bytes());
            }
            let _ = decode(LinkType::ETHERNET, &buf);
            let _ = decode(LinkType::RAW, &buf[14..]);
            for port in [4789u16, 2152, 5247] {
                let mut f = eth_hdr(0x0800);
                let body: Vec<u8> = (0..(rnd() % 80)).map(|_| rnd() as u8).collect();
                let mut b = body.clone();
                if port == 2152 && !b.is_empty() {
                    b[0] = 0x30 | (b[0] & 0x07);
                }
                if port == 5247 && !b.is_empty() {
                    b[0] = 0;
                }
                if port == 4789 && !b.is_empty() {
                    b[0] = 0x08;
                }
                f.extend(ipv4(17, &udp(1, port, &b)));
                let dec = decode(LinkType::ETHERNET, &f).expect("outer UDP always decodes");
                assert!(dec.ip.is_some() || known_non_ip(dec.ethertype));
            }
        }
    }

    // ---- builders for synthetic frames ----

    fn eth_hdr(ethertype: u16) -> Vec<u8> {
        let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
        f.extend_from_slice(&ethertype.to_be_bytes());
        f
    }

    fn ipv4(proto: u8, payload: &[u8]) -> Vec<u8> {
        let len = (20 + payload.len()) as u16;
        let mut h = vec![0x45, 0];
        h.extend_from_slice(&len.to_be_bytes());
        h.extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        h.extend_from_slice(payload);
        h
    }

    fn ipv6(next: u8, payload: &[u8]) -> Vec<u8> {
        let mut h = vec![0x60, 0, 0, 0];
        h.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        h.extend_from_slice(&[next, 64]);
        h.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        h.extend_from_slice(&[0; 11]);
        h.push(1);
        h.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        h.extend_from_slice(&[0; 11]);
        h.push(2);
        h.extend_from_slice(payload);
        h
    }

    fn udp(src: u16, dst: u16, payload: &[u8]) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend_from_slice(&src.to_be_bytes());
        h.extend_from_slice(&dst.to_be_bytes());
        h.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        h.extend_from_slice(&[0, 0]);
        h.extend_from_slice(payload);
        h
    }

    fn tcp_seg(src: u16, dst: u16) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend_from_slice(&src.to_be_bytes());
        h.extend_from_slice(&dst.to_be_bytes());
        h.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xFF, 0xFF, 0, 0, 0, 0]);
        h
    }
}
