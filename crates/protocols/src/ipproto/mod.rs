//! Protocols named by the IP header itself: ICMP (RFC 792, IP protocol 1),
//! IGMP (RFC 3376, protocol 2) and ICMPv6 (RFC 4443, next header 58).
//! nDPI reports these as DPI verdicts; so do we, with the message type as
//! evidence, after checking the message is at least a well-formed header.

use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// ICMP.
pub struct Icmp;
/// ICMPv6.
pub struct Icmpv6;
/// IGMP.
pub struct Igmp;

fn icmp_type_name(t: u8) -> &'static str {
    // RFC 792 and the IANA ICMP type registry.
    match t {
        0 => "echo reply",
        3 => "destination unreachable",
        4 => "source quench",
        5 => "redirect",
        8 => "echo request",
        9 => "router advertisement",
        10 => "router solicitation",
        11 => "time exceeded",
        12 => "parameter problem",
        13 => "timestamp",
        14 => "timestamp reply",
        _ => "other type",
    }
}

fn icmpv6_type_name(t: u8) -> &'static str {
    // RFC 4443 §2.1, RFC 4861 §4, RFC 3810 (MLDv2).
    match t {
        1 => "destination unreachable",
        2 => "packet too big",
        3 => "time exceeded",
        4 => "parameter problem",
        128 => "echo request",
        129 => "echo reply",
        130 => "MLD query",
        131 => "MLD report",
        133 => "router solicitation",
        134 => "router advertisement",
        135 => "neighbor solicitation",
        136 => "neighbor advertisement",
        137 => "redirect",
        143 => "MLDv2 report",
        _ => "other type",
    }
}

impl Protocol for Icmp {
    fn name(&self) -> &'static str {
        "ICMP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Ip(1)]
    }
    fn probe(&self, input: &ProbeInput<'_>, _s: &mut ProbeScratch) -> Probe {
        // The engine hands ICMP the message from its type byte on. RFC 792:
        // every message starts with type, code and a 16-bit checksum.
        match input.data {
            [t, _code, _, _, ..] => Probe::Match(Match::new(format!(
                "IP protocol 1, ICMP type {t} ({})",
                icmp_type_name(*t)
            ))),
            _ => Probe::Match(Match::new("IP protocol 1")),
        }
    }
}

impl Protocol for Icmpv6 {
    fn name(&self) -> &'static str {
        "ICMPV6"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Ip(58)]
    }
    fn probe(&self, input: &ProbeInput<'_>, _s: &mut ProbeScratch) -> Probe {
        match input.data {
            [t, _code, _, _, ..] => Probe::Match(Match::new(format!(
                "IPv6 next header 58, ICMPv6 type {t} ({})",
                icmpv6_type_name(*t)
            ))),
            _ => Probe::Match(Match::new("IPv6 next header 58")),
        }
    }
}

impl Protocol for Igmp {
    fn name(&self) -> &'static str {
        "IGMP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Ip(2)]
    }
    fn probe(&self, input: &ProbeInput<'_>, _s: &mut ProbeScratch) -> Probe {
        // RFC 3376 §4: type 0x11 query, 0x22 v3 report; 0x12/0x16 v1/v2
        // reports and 0x17 leave (RFC 2236).
        let what = match input.data.first() {
            Some(0x11) => "membership query",
            Some(0x12) => "v1 membership report",
            Some(0x16) => "v2 membership report",
            Some(0x17) => "leave group",
            Some(0x22) => "v3 membership report",
            _ => "message",
        };
        Probe::Match(Match::new(format!("IP protocol 2, IGMP {what}")))
    }
}
