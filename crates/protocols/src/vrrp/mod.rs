//! VRRP, the Virtual Router Redundancy Protocol, IP protocol 112:
//! version 2 (RFC 3768, IPv4) and version 3 (RFC 5798, IPv4 and IPv6).
//!
//! RFC 3768 §5.1 / RFC 5798 §5.1: the first octet is Version (4 bits: 2 or
//! 3) and Type (4 bits: "1 ADVERTISEMENT", the only type), then VRID,
//! Priority, "Count IPvX Addr", then (v2) Auth Type and Advertisement
//! Interval or (v3) 4 reserved bits and a 12-bit Max Adver Int, and the
//! checksum. The addresses follow: v2 carries `count` IPv4 addresses and 8
//! octets of authentication data; v3 carries `count` IPv4 or IPv6
//! addresses. The message length must be exactly what `count` says, which
//! also tells VRRP from CARP (same protocol number and first octet, but a
//! fixed 36-octet message whose fourth octet is an auth length).

use netsift_proto::bytes::{be16, u8_at};
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// VRRP.
pub struct Vrrp;

impl Protocol for Vrrp {
    fn name(&self) -> &'static str {
        "VRRP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Ip(112)]
    }
    fn probe(&self, input: &ProbeInput<'_>, _s: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let (Some(vt), Some(vrid), Some(prio), Some(count)) =
            (u8_at(d, 0), u8_at(d, 1), u8_at(d, 2), u8_at(d, 3))
        else {
            return Probe::NoMatch;
        };
        let n = usize::from(count);
        let ok = match vt {
            // v2: Auth Type 0/1/2 (RFC 3768 §5.3.6), IPv4 addresses, 8
            // octets of authentication data.
            0x21 => u8_at(d, 4).is_some_and(|a| a <= 2) && d.len() == 8 + 4 * n + 8,
            // v3: reserved bits zero (§5.2.4), IPv4 or IPv6 addresses.
            0x31 => {
                be16(d, 4).is_some_and(|w| w & 0xf000 == 0)
                    && (d.len() == 8 + 4 * n || d.len() == 8 + 16 * n)
            }
            _ => false,
        };
        if !ok || n == 0 {
            return Probe::NoMatch;
        }
        let v = vt >> 4;
        Probe::Match(Match::new(format!(
            "VRRPv{v} advertisement, VRID {vrid}, priority {prio}, {count} address(es)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{assert_random_flows_rejected, evidence, probe1, C};

    const IP: Transport = Transport::Ip(112);
    // Source: testdata/README.md.
    const V3_IPV6: &[u8] = include_bytes!("testdata/v3_ipv6_advert.bin");

    #[test]
    fn advertisements() {
        assert_eq!(
            evidence(probe1(&Vrrp, IP, C, V3_IPV6)),
            "VRRPv3 advertisement, VRID 36, priority 100, 1 address(es)"
        );
        // VRRPv2 (RFC 3768 §5.1), built: VRID 1, priority 100, 1 address,
        // no authentication, interval 1 s, checksum, 192.0.2.1, auth data.
        let v2 = [
            0x21, 1, 100, 1, 0, 1, 0xba, 0x52, 192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(
            evidence(probe1(&Vrrp, IP, C, &v2)),
            "VRRPv2 advertisement, VRID 1, priority 100, 1 address(es)"
        );
        // CARP (same protocol number): 36 octets, auth length 7.
        let mut carp = [0u8; 36];
        carp[..4].copy_from_slice(&[0x21, 1, 0, 7]);
        assert_eq!(probe1(&Vrrp, IP, C, &carp), Probe::NoMatch);
        for i in 0..V3_IPV6.len() {
            let _ = probe1(&Vrrp, IP, C, &V3_IPV6[..i]);
        }
    }

    #[test]
    fn rejects_random() {
        assert_random_flows_rejected(&Vrrp, IP, 0);
    }
}
