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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
}
