//! Multicast DNS (RFC 6762). mDNS messages are DNS messages (RFC 6762 §18),
//! so the bytes must first pass the shared DNS validator; the multicast
//! group (224.0.0.251 / ff02::fb, §3) or UDP port 5353 on either side only
//! tells an already recognised DNS structure apart from unicast DNS.

use std::net::IpAddr;

use netsift_proto::{Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

use crate::dns::parse::Names;
use crate::dns::{describe, dns_structure, Seen};

#[cfg(test)]
mod tests;

/// MDNS.
pub struct Mdns;

/// The payload's destination address, when known.
pub(crate) fn dst_addr(input: &ProbeInput<'_>) -> Option<IpAddr> {
    match input.dir {
        Direction::ToServer => input.server_addr,
        Direction::ToClient => input.client_addr,
    }
}

/// RFC 6762 §3: "224.0.0.251" and "FF02::FB".
fn is_mdns_group(a: Option<IpAddr>) -> bool {
    match a {
        Some(IpAddr::V4(v4)) => v4.octets() == [224, 0, 0, 251],
        Some(IpAddr::V6(v6)) => v6.segments() == [0xff02, 0, 0, 0, 0, 0, 0, 0xfb],
        None => false,
    }
}

impl Protocol for Mdns {
    fn name(&self) -> &'static str {
        "MDNS"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[5353]
    }
    /// The dns log, `app` "mdns".
    fn parser(&self) -> Option<Box<dyn netsift_proto::Parser>> {
        Some(Box::new(crate::dns::session::DnsParser::for_app(
            crate::dns::session::App::Mdns,
        )))
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        // The address/port only disambiguates; without either this is not
        // mDNS whatever the bytes say (DNS will look at it).
        if !(is_mdns_group(dst_addr(input)) || input.either_port(5353)) {
            return Probe::NoMatch;
        }
        match dns_structure(input, Names::Dns) {
            Seen::Msg(m, msg) => {
                // RFC 6762 §18.3: "In both multicast query and multicast
                // response messages, the OPCODE MUST be zero on
                // transmission"; §18.11: the RCODE "MUST be zero on
                // transmission".
                if m.opcode() != 0 || m.rcode() != 0 {
                    return Probe::NoMatch;
                }
                Probe::Match(Match::new(format!("mDNS {}", describe(&m, msg))))
            }
            Seen::NeedMore => Probe::NeedMore,
            Seen::No => Probe::NoMatch,
        }
    }
}
