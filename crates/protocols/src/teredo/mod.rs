//! Teredo, IPv6 over UDP through NATs (RFC 4380), UDP port 3544.
//!
//! RFC 4380 §5.1.1: a Teredo packet is an IPv6 packet, optionally preceded
//! by an Authentication indicator (`0x00 0x01`, ID-len, AU-len, client
//! identifier, authentication value, 8-octet nonce, confirmation byte) and
//! an Origin indication (`0x00 0x00`, obfuscated port (2), obfuscated
//! IPv4 address (4)). The IPv6 header (RFC 8200 §3) has version 6 and a
//! Payload Length equal to the rest of the datagram. Teredo addresses are
//! in 2001:0000::/32 (§2.14); the qualification exchange uses link-local
//! addresses (router solicitation from fe80::/64 to ff02::2) and bubbles
//! (no next header, 59).

use netsift_proto::bytes::{be16, u8_at};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Teredo.
pub struct Teredo;

fn teredo_or_ll(a: &[u8]) -> bool {
    matches!(
        a,
        [0x20, 0x01, 0x00, 0x00, ..] | [0xfe, 0x80, ..] | [0xff, 0x02, ..]
    )
}

impl Protocol for Teredo {
    fn name(&self) -> &'static str {
        "Teredo"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[3544]
    }
    // RFC 4380 §5.1.1: an IPv6 packet, optionally preceded by the
    // Authentication indicator (`0x00 0x01`) or the Origin indication
    // (`0x00 0x00`); RFC 8200 §3: "Version 4-bit Internet Protocol version
    // number = 6".
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x00]).or(FirstBytes::range(0x60, 0x6f))
    }
    fn probe(&self, input: &ProbeInput<'_>, _s: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let mut o = 0;
        let mut extra = "";
        // Authentication indicator.
        if be16(d, 0) == Some(1) {
            let (Some(id), Some(au)) = (u8_at(d, 2), u8_at(d, 3)) else {
                return Probe::NoMatch;
            };
            o = 4 + usize::from(id) + usize::from(au) + 9;
            extra = " with authentication";
        }
        // Origin indication.
        if be16(d, o) == Some(0) {
            o += 8;
            extra = " with origin indication";
        }
        let Some(ip) = d.get(o..) else {
            return Probe::NoMatch;
        };
        if ip.first().map(|b| b >> 4) != Some(6) {
            return Probe::NoMatch;
        }
        let (Some(plen), Some(nh)) = (be16(ip, 4), u8_at(ip, 6)) else {
            return Probe::NoMatch;
        };
        if usize::from(plen) + 40 != ip.len() {
            return Probe::NoMatch;
        }
        let (Some(src), Some(dst)) = (ip.get(8..24), ip.get(24..40)) else {
            return Probe::NoMatch;
        };
        if !teredo_or_ll(src) && !teredo_or_ll(dst) {
            return Probe::NoMatch;
        }
        let what = match nh {
            59 if plen == 0 => "bubble",
            58 => "IPv6/ICMPv6",
            6 => "IPv6/TCP",
            17 => "IPv6/UDP",
            _ => "IPv6 packet",
        };
        Probe::Match(Match::new(format!("Teredo {what}{extra}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, evidence, probe1, C,
    };

    const UDP: Transport = Transport::Udp;

    /// An IPv6 header (RFC 8200 §3) with the given payload length, next
    /// header, source and destination.
    fn ipv6(plen: u16, nh: u8, src: [u8; 16], dst: [u8; 16]) -> Vec<u8> {
        let mut p = vec![0x60, 0, 0, 0];
        p.extend_from_slice(&plen.to_be_bytes());
        p.extend_from_slice(&[nh, 21]);
        p.extend_from_slice(&src);
        p.extend_from_slice(&dst);
        p
    }

    #[test]
    fn packets() {
        let mut t = [0u8; 16];
        t[..4].copy_from_slice(&[0x20, 0x01, 0, 0]);
        t[15] = 9;
        let mut other = [0u8; 16];
        other[..2].copy_from_slice(&[0x2a, 0x00]);
        other[15] = 1;
        // A bubble between Teredo peers.
        assert_eq!(
            evidence(probe1(&Teredo, UDP, C, &ipv6(0, 59, t, other))),
            "Teredo bubble"
        );
        // Router advertisement answer with an origin indication (§5.2.1).
        let mut ra = vec![0, 0, 0xf2, 0x27, 0x3f, 0xff, 0xfd, 0xf8];
        let mut ll = [0u8; 16];
        ll[..2].copy_from_slice(&[0xfe, 0x80]);
        ra.extend(ipv6(8, 58, ll, ll));
        ra.extend_from_slice(&[134, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            evidence(probe1(&Teredo, UDP, C, &ra)),
            "Teredo IPv6/ICMPv6 with origin indication"
        );
        // Native IPv6 addresses only: not Teredo.
        assert_eq!(
            probe1(&Teredo, UDP, C, &ipv6(0, 59, other, other)),
            Probe::NoMatch
        );
    }

    #[test]
    fn rejects_random_and_foreign() {
        assert_random_flows_rejected(&Teredo, UDP, 3544);
        assert_foreign_rejected(&Teredo, "teredo");
    }

    #[test]
    fn first_bytes_declared() {
        let mut t = [0u8; 16];
        t[..4].copy_from_slice(&[0x20, 0x01, 0, 0]);
        let bubble = ipv6(0, 59, t, t);
        crate::testkit::first_bytes_hold(&Teredo, &crate::testkit::input(UDP, C, &bubble, &[], 0));
        let mut origin = vec![0, 0, 0xf2, 0x27, 0x3f, 0xff, 0xfd, 0xf8];
        origin.extend_from_slice(&bubble);
        crate::testkit::first_bytes_hold(&Teredo, &crate::testkit::input(UDP, C, &origin, &[], 0));
        // Authentication indicator: ID-len 0, AU-len 0, nonce, confirmation.
        let mut auth = vec![0, 1, 0, 0];
        auth.extend_from_slice(&[0x11; 9]);
        auth.extend_from_slice(&origin);
        crate::testkit::first_bytes_hold(&Teredo, &crate::testkit::input(UDP, C, &auth, &[], 0));
    }
}
