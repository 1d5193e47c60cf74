//! DHCP (RFC 2131) over BOOTP (RFC 951): the fixed 236-byte BOOTP header,
//! the magic cookie 99.130.83.99 at offset 236 (RFC 2131 §3, RFC 2132 §2),
//! and a well-formed option list carrying option 53, DHCP Message Type.

use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

pub mod record;
pub mod session;
#[cfg(test)]
mod tests;

/// DHCP.
pub struct Dhcp;

/// RFC 2131 §3: "the first four octets of the 'options' field of the DHCP
/// message contain the (decimal) values 99, 130, 83 and 99".
const COOKIE: [u8; 4] = [99, 130, 83, 99];

fn msg_type_name(t: u8) -> &'static str {
    // RFC 2132 §9.6, RFC 4388 §6.1, RFC 6926 §6.2.2.
    match t {
        1 => "DISCOVER",
        2 => "OFFER",
        3 => "REQUEST",
        4 => "DECLINE",
        5 => "ACK",
        6 => "NAK",
        7 => "RELEASE",
        8 => "INFORM",
        9 => "FORCERENEW",
        10 => "LEASEQUERY",
        11 => "LEASEUNASSIGNED",
        12 => "LEASEUNKNOWN",
        13 => "LEASEACTIVE",
        14 => "BULKLEASEQUERY",
        15 => "LEASEQUERYDONE",
        16 => "ACTIVELEASEQUERY",
        17 => "LEASEQUERYSTATUS",
        _ => "TLS",
    }
}

impl Protocol for Dhcp {
    fn name(&self) -> &'static str {
        "DHCP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[67, 68]
    }
    // RFC 2131 §2, Table 1: "op 1 Message op code / message type.
    // 1 = BOOTREQUEST, 2 = BOOTREPLY".
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[1, 2])
    }
    fn parser(&self) -> Option<Box<dyn netsift_proto::Parser>> {
        Some(Box::new(session::DhcpParser::new()))
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        // RFC 2131 §2, figure 1: op, htype, hlen, hops, xid, secs, flags,
        // ciaddr, yiaddr, siaddr, giaddr, chaddr(16), sname(64), file(128).
        let (Some(&op), Some(&htype), Some(&hlen), Some(&hops)) =
            (d.first(), d.get(1), d.get(2), d.get(3))
        else {
            return Probe::NoMatch;
        };
        // op: 1 BOOTREQUEST, 2 BOOTREPLY. htype: ARP hardware type (RFC
        // 1700 / IANA, 1 = 10Mb Ethernet); hlen <= 16 (chaddr is 16
        // octets); hops: relay agents stop at 16 (RFC 1542 §4.1.1).
        if !matches!(op, 1 | 2) || htype == 0 || htype > 40 || hlen > 16 || hops > 16 {
            return Probe::NoMatch;
        }
        if d.get(236..240) != Some(&COOKIE[..]) {
            return Probe::NoMatch;
        }
        // RFC 2132 §2: options are code/len/value; Pad (0) and End (255)
        // are single octets. The list must end with End or the datagram.
        let mut pos = 240;
        let mut msg_type = None;
        let mut host: Option<&[u8]> = None;
        while let Some(&code) = d.get(pos) {
            match code {
                0 => pos += 1,
                255 => {
                    break;
                }
                _ => {
                    let Some(&len) = d.get(pos + 1) else {
                        return Probe::NoMatch;
                    };
                    let Some(val) = d.get(pos + 2..pos + 2 + len as usize) else {
                        return Probe::NoMatch;
                    };
                    match code {
                        // RFC 2132 §9.6: option 53, length 1.
                        53 if len == 1 => msg_type = val.first().copied(),
                        53 => return Probe::NoMatch,
                        12 => host = Some(val),
                        _ => {}
                    }
                    pos += 2 + len as usize;
                }
            }
        }
        // Option overload (RFC 2132 §9.3) could hide option 53 in sname /
        // file; we require it in the options field, where every client and
        // server in practice puts it.
        let Some(t @ 1..=18) = msg_type else {
            return Probe::NoMatch;
        };
        let mut ev = format!("DHCP {}", msg_type_name(t));
        if htype == 1 && hlen == 6 {
            if let Some(mac) = d.get(28..34) {
                let dirw = if op == 1 { "from" } else { "to" };
                ev.push_str(&format!(
                    " {dirw} {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                    mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]
                ));
            }
        }
        if let Some(h) = host {
            ev.push_str(&format!(" (host '{}')", netsift_proto::printable(h, 32)));
        }
        Probe::Match(Match::new(ev))
    }
}
