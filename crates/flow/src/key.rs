//! Bidirectional flow keys.
//!
//! A key is the L4 protocol, both endpoints in a canonical order (smaller
//! `(address, port)` first) and the VLAN tags, so both directions of a
//! conversation map to the same key. Its hash is therefore symmetric, which
//! is what sharding flows across threads needs.

use std::hash::{Hash, Hasher};
use std::net::IpAddr;

use netsift_wire::{Decoded, Transport};

/// One side of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    pub addr: IpAddr,
    /// The port; 0 for protocols without ports (ICMP, GRE, ...).
    pub port: u16,
}

/// Canonical, direction-free flow key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowKey {
    /// The smaller endpoint.
    pub lo: Endpoint,
    /// The larger endpoint.
    pub hi: Endpoint,
    /// IP protocol number of the (inner) transport.
    pub proto: u8,
    pub vlan: Option<u16>,
    pub inner_vlan: Option<u16>,
}

/// Every field, as the derived `Hash` would, in four writes instead of a
/// dozen (each address's family tag, each port, the protocol, each
/// `Option`'s tag and value): the flow table hashes a key for every
/// packet. Two keys that differ hash differently (with the hasher's own
/// odds): the first word holds the protocol, both ports, both address
/// families and both VLAN tags with their presence.
impl Hash for FlowKey {
    fn hash<H: Hasher>(&self, h: &mut H) {
        fn fam(a: &IpAddr) -> u64 {
            match a {
                IpAddr::V4(_) => 0,
                IpAddr::V6(_) => 1,
            }
        }
        fn vlan(v: Option<u16>) -> u64 {
            v.map_or(0, |t| 0x1_0000 | u64::from(t))
        }
        h.write_u64(
            u64::from(self.proto)
                | fam(&self.lo.addr) << 8
                | fam(&self.hi.addr) << 9
                | u64::from(self.lo.port) << 16
                | u64::from(self.hi.port) << 32,
        );
        h.write_u64(vlan(self.vlan) | vlan(self.inner_vlan) << 17);
        for a in [&self.lo.addr, &self.hi.addr] {
            match a {
                IpAddr::V4(v) => h.write_u32(v.to_bits()),
                IpAddr::V6(v) => h.write_u128(v.to_bits()),
            }
        }
    }
}

impl FlowKey {
    /// Build the key of a decoded packet. Returns the key and whether the
    /// packet's source is the key's `lo` endpoint, or `None` for non-IP
    /// frames and unreassembled fragments.
    pub fn of_packet(pkt: &Decoded<'_>) -> Option<(FlowKey, bool)> {
        let ip = pkt.ip.as_ref()?;
        if matches!(ip.transport, Transport::Fragment { .. }) {
            return None;
        }
        let (sp, dp) = ip.transport.ports();
        let src = Endpoint {
            addr: ip.src,
            port: sp,
        };
        let dst = Endpoint {
            addr: ip.dst,
            port: dp,
        };
        let src_is_lo = src <= dst;
        let (lo, hi) = if src_is_lo { (src, dst) } else { (dst, src) };
        Some((
            FlowKey {
                lo,
                hi,
                proto: ip.proto,
                vlan: pkt.vlan,
                inner_vlan: pkt.inner_vlan,
            },
            src_is_lo,
        ))
    }

    /// For an ICMP error (RFC 792 destination unreachable, source quench,
    /// redirect, time exceeded, parameter problem; RFC 4443 types 1-4),
    /// the key of the TCP/UDP/SCTP flow whose packet it quotes, and
    /// whether the error travels from the key's `lo` endpoint. The error
    /// goes back to the quoted packet's sender, so it travels the way a
    /// reply would. RFC 792: the body after the 4 unused (or MTU) bytes is
    /// "the internet header plus the first 64 bits of the original
    /// datagram's data", enough for the ports; RFC 4443 §3 quotes "as much
    /// of invoking packet as possible". `None` for anything else, or a
    /// quote too short to name a flow.
    pub fn of_icmp_error(pkt: &Decoded<'_>) -> Option<(FlowKey, bool)> {
        let ip = pkt.ip.as_ref()?;
        let quote = match ip.transport {
            Transport::Icmp {
                icmp_type: 3 | 4 | 5 | 11 | 12,
                payload,
                ..
            }
            | Transport::Icmpv6 {
                icmp_type: 1..=4,
                payload,
                ..
            } => payload.get(4..)?,
            _ => return None,
        };
        let (src, dst, proto, l4): (IpAddr, IpAddr, u8, &[u8]) = match quote.first()? >> 4 {
            4 => {
                let ihl = usize::from(quote.first()? & 0x0f) * 4;
                let a: [u8; 4] = quote.get(12..16)?.try_into().ok()?;
                let b: [u8; 4] = quote.get(16..20)?.try_into().ok()?;
                // A fragment after the first carries no ports.
                let frag = u16::from_be_bytes(quote.get(6..8)?.try_into().ok()?) & 0x1fff;
                if ihl < 20 || frag != 0 {
                    return None;
                }
                (a.into(), b.into(), *quote.get(9)?, quote.get(ihl..)?)
            }
            6 => {
                let a: [u8; 16] = quote.get(8..24)?.try_into().ok()?;
                let b: [u8; 16] = quote.get(24..40)?.try_into().ok()?;
                // Only a transport header right after the fixed header.
                (a.into(), b.into(), *quote.get(6)?, quote.get(40..)?)
            }
            _ => return None,
        };
        if !matches!(proto, 6 | 17 | 132) {
            return None;
        }
        let sp = u16::from_be_bytes(l4.get(0..2)?.try_into().ok()?);
        let dp = u16::from_be_bytes(l4.get(2..4)?.try_into().ok()?);
        let s = Endpoint {
            addr: src,
            port: sp,
        };
        let d = Endpoint {
            addr: dst,
            port: dp,
        };
        let quoted_from_lo = s <= d;
        let (lo, hi) = if quoted_from_lo { (s, d) } else { (d, s) };
        Some((
            FlowKey {
                lo,
                hi,
                proto,
                vlan: pkt.vlan,
                inner_vlan: pkt.inner_vlan,
            },
            !quoted_from_lo || s == d,
        ))
    }

    /// A direction-independent 64-bit hash, for sharding flows across
    /// workers: both directions of a flow give the same value.
    pub fn symmetric_hash(&self) -> u64 {
        let mut h = rustc_hash::FxHasher::default();
        self.hash(&mut h);
        h.finish()
    }
}

/// Name of an IP protocol as printed in the `l4` field: the well-known
/// names, otherwise the decimal protocol number.
pub fn l4_name(proto: u8) -> std::borrow::Cow<'static, str> {
    use std::borrow::Cow::{Borrowed, Owned};
    match proto {
        1 => Borrowed("ICMP"),
        2 => Borrowed("IGMP"),
        6 => Borrowed("TCP"),
        17 => Borrowed("UDP"),
        47 => Borrowed("GRE"),
        50 => Borrowed("ESP"),
        51 => Borrowed("AH"),
        58 => Borrowed("ICMPV6"),
        89 => Borrowed("OSPF"),
        103 => Borrowed("PIM"),
        112 => Borrowed("VRRP"),
        132 => Borrowed("SCTP"),
        n => Owned(n.to_string()),
    }
}

/// The IP protocol number of an `l4` name ([`l4_name`]'s inverse; 0 for a
/// name it never prints).
pub fn l4_number(name: &str) -> u8 {
    match name {
        "ICMP" => 1,
        "IGMP" => 2,
        "TCP" => 6,
        "UDP" => 17,
        "GRE" => 47,
        "ESP" => 50,
        "AH" => 51,
        "ICMPV6" => 58,
        "OSPF" => 89,
        "PIM" => 103,
        "VRRP" => 112,
        "SCTP" => 132,
        n => n.parse().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netsift_wire::{IpLayer, TcpInfo};

    /// The hand-written `Hash` sees every field: changing any one of them
    /// (an address for the same bits in the other family, a port, the
    /// protocol, a VLAN tag or its absence) changes the hash.
    #[test]
    fn hash_covers_every_field() {
        use std::collections::HashSet;
        fn h(k: &FlowKey) -> u64 {
            let mut s = std::collections::hash_map::DefaultHasher::new();
            k.hash(&mut s);
            s.finish()
        }
        let ep = |a: &str, port| Endpoint {
            addr: a.parse().expect("addr"),
            port,
        };
        let base = FlowKey {
            lo: ep("10.0.0.1", 1000),
            hi: ep("10.0.0.2", 80),
            proto: 6,
            vlan: None,
            inner_vlan: None,
        };
        let variants = [
            base,
            FlowKey {
                lo: ep("10.0.0.3", 1000),
                ..base
            },
            FlowKey {
                lo: ep("::a00:1", 1000),
                ..base
            },
            FlowKey {
                hi: ep("::a00:2", 80),
                ..base
            },
            FlowKey {
                hi: ep("10.0.0.2", 81),
                ..base
            },
            FlowKey {
                lo: ep("10.0.0.1", 1001),
                ..base
            },
            FlowKey { proto: 17, ..base },
            FlowKey {
                vlan: Some(0),
                ..base
            },
            FlowKey {
                vlan: Some(7),
                ..base
            },
            FlowKey {
                inner_vlan: Some(0),
                ..base
            },
            FlowKey {
                inner_vlan: Some(7),
                ..base
            },
            FlowKey {
                vlan: Some(7),
                inner_vlan: Some(7),
                ..base
            },
        ];
        let hashes: HashSet<u64> = variants.iter().map(h).collect();
        assert_eq!(hashes.len(), variants.len());
        assert_eq!(h(&base), h(&FlowKey { ..base }));
    }

    fn tcp_pkt(src: &str, sp: u16, dst: &str, dp: u16) -> Decoded<'static> {
        Decoded {
            vlan: Some(7),
            inner_vlan: None,
            tunnel: None,
            ethertype: 0x0800,
            ip: Some(IpLayer {
                version: 4,
                src: src.parse().expect("addr"),
                dst: dst.parse().expect("addr"),
                proto: 6,
                ttl: 64,
                len: 40,
                fragment: None,
                transport: Transport::Tcp {
                    tcp: TcpInfo {
                        src_port: sp,
                        dst_port: dp,
                        seq: 0,
                        ack: 0,
                        flags: TcpInfo::SYN,
                        window: 0,
                    },
                    payload: &[],
                },
            }),
        }
    }

    #[test]
    fn both_directions_share_a_key_and_hash() {
        let (k1, lo1) = FlowKey::of_packet(&tcp_pkt("10.0.0.2", 40000, "10.0.0.1", 80)).expect("k");
        let (k2, lo2) = FlowKey::of_packet(&tcp_pkt("10.0.0.1", 80, "10.0.0.2", 40000)).expect("k");
        assert_eq!(k1, k2);
        assert_ne!(lo1, lo2);
        assert_eq!(k1.symmetric_hash(), k2.symmetric_hash());
        assert_eq!(k1.vlan, Some(7));
    }

    #[test]
    fn same_address_orders_by_port() {
        let (k, lo) = FlowKey::of_packet(&tcp_pkt("::1", 5000, "::1", 80)).expect("k");
        assert_eq!(k.lo.port, 80);
        assert!(!lo);
    }

    #[test]
    fn l4_names() {
        for p in 0..=255u8 {
            assert_eq!(l4_number(&l4_name(p)), p);
        }
        assert_eq!(l4_name(6), "TCP");
        assert_eq!(l4_name(58), "ICMPV6");
        assert_eq!(l4_name(253), "253");
    }

    /// Frame 26 of suricata-verify's bug-3616-smtp capture: a router's
    /// "fragmentation needed" (type 3 code 4) quoting the client's packet
    /// 10.10.1.4:1470 -> 74.53.140.153:25.
    #[test]
    fn icmp_error_names_the_quoted_flow() {
        let frame = include_bytes!("../testdata/eth_ipv4_icmp_frag_needed.bin");
        let pkt = netsift_wire::decode(netsift_wire::LinkType(1), frame).unwrap();
        let (key, from_lo) = FlowKey::of_icmp_error(&pkt).unwrap();
        assert_eq!(key.proto, 6);
        assert_eq!(
            (key.lo.addr.to_string(), key.lo.port),
            ("10.10.1.4".to_string(), 1470)
        );
        assert_eq!(
            (key.hi.addr.to_string(), key.hi.port),
            ("74.53.140.153".to_string(), 25)
        );
        // It travels back to the quoted packet's sender, the key's `lo`.
        assert!(!from_lo);
        // The packet's own key is the ICMP flow, not the quoted one.
        assert_eq!(FlowKey::of_packet(&pkt).unwrap().0.proto, 1);
        // A quote cut before the ports names nothing.
        let cut = &frame[..14 + 20 + 8 + 20 + 2];
        let pkt = netsift_wire::decode(netsift_wire::LinkType(1), cut).unwrap();
        assert!(FlowKey::of_icmp_error(&pkt).is_none());
        // Not an error: an echo request quotes nothing.
        let mut echo = frame.to_vec();
        echo[14 + 20] = 8;
        let pkt = netsift_wire::decode(netsift_wire::LinkType(1), &echo).unwrap();
        assert!(FlowKey::of_icmp_error(&pkt).is_none());
    }
}
