//! Link-Local Multicast Name Resolution (RFC 4795). LLMNR reuses the DNS
//! message format (RFC 4795 §2.1.1) with its own flags (C, TC, T); the
//! bytes must pass the shared DNS validator and LLMNR's header rules, and
//! the group (224.0.0.252 / ff02::1:3, §2) or port 5355 on either side only
//! tells it apart from unicast DNS. Over TCP, messages carry the DNS 2-byte
//! length prefix (RFC 4795 §2.4).

use std::net::IpAddr;

use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

use crate::dns::parse::{Names, QR};
use crate::dns::{describe, dns_structure, Seen};
use crate::mdns::dst_addr;

#[cfg(test)]
mod tests;

/// LLMNR.
pub struct Llmnr;

/// RFC 4795 §2: "224.0.0.252" and "FF02:0:0:0:0:0:1:3".
fn is_llmnr_group(a: Option<IpAddr>) -> bool {
    match a {
        Some(IpAddr::V4(v4)) => v4.octets() == [224, 0, 0, 252],
        Some(IpAddr::V6(v6)) => v6.segments() == [0xff02, 0, 0, 0, 0, 0, 1, 3],
        None => false,
    }
}

impl Protocol for Llmnr {
    fn name(&self) -> &'static str {
        "LLMNR"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[5355]
    }
    /// The dns log, `app` "llmnr".
    fn parser(&self) -> Option<Box<dyn netsift_proto::Parser>> {
        Some(Box::new(crate::dns::session::DnsParser::for_app(
            crate::dns::session::App::Llmnr,
        )))
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if !(is_llmnr_group(dst_addr(input)) || input.either_port(5355)) {
            return Probe::NoMatch;
        }
        match dns_structure(input, Names::Dns) {
            Seen::Msg(m, msg) => {
                // RFC 4795 §2.1.1: flags are QR, Opcode, C, TC, T, Z(4),
                // RCODE. "Opcode ... LLMNR senders MUST set this field to
                // zero"; the four Z bits are "Reserved ... MUST be zero".
                if m.opcode() != 0 || m.flags & 0x00f0 != 0 {
                    return Probe::NoMatch;
                }
                // "LLMNR responders MUST silently discard LLMNR queries with
                // QDCOUNT not equal to one", and queries carry no answer or
                // authority records.
                if m.qd != 1 || (m.flags & QR == 0 && (m.an != 0 || m.ns != 0)) {
                    return Probe::NoMatch;
                }
                let conflict = if m.flags & 0x0400 != 0 {
                    " (conflict bit)"
                } else {
                    ""
                };
                Probe::Match(Match::new(format!("LLMNR {}{conflict}", describe(&m, msg))))
            }
            Seen::NeedMore => Probe::NeedMore,
            Seen::No => Probe::NoMatch,
        }
    }
}
