//! LDP, the Label Distribution Protocol (RFC 5036), UDP port 646 for
//! Hello discovery and TCP port 646 for sessions.
//!
//! RFC 5036 §3.1, the PDU header: Version (2) = 1, PDU Length (2, "the
//! total length of this PDU in octets, excluding the Version and PDU
//! Length fields"), LDP Identifier (6: LSR ID and label space). §3.5 each
//! message: U bit and Message Type (15 bits: 0x0001 Notification, 0x0100
//! Hello, 0x0200 Initialization, 0x0201 KeepAlive, 0x0300 Address, 0x0301
//! Address Withdraw, 0x0400 Label Mapping, 0x0401 Label Request, 0x0402
//! Label Withdraw, 0x0403 Label Release, 0x0404 Label Abort Request),
//! Message Length (2, after this field), Message ID (4), parameters. The
//! first message must fit in the PDU. A TCP stream is picked up at a PDU.

use netsift_proto::bytes::{be16, be32};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// LDP.
pub struct Ldp;

fn msg_name(t: u16) -> Option<&'static str> {
    Some(match t & 0x7fff {
        0x0001 => "Notification",
        0x0100 => "Hello",
        0x0200 => "Initialization",
        0x0201 => "KeepAlive",
        0x0300 => "Address",
        0x0301 => "Address Withdraw",
        0x0400 => "Label Mapping",
        0x0401 => "Label Request",
        0x0402 => "Label Withdraw",
        0x0403 => "Label Release",
        0x0404 => "Label Abort Request",
        _ => return None,
    })
}

impl Protocol for Ldp {
    fn name(&self) -> &'static str {
        "LDP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[646]
    }
    // RFC 5036 §3.1: "Version: Two octet unsigned integer containing the
    // version number of the protocol. This version of the specification
    // specifies LDP protocol version 1." Its high octet is 0.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x00])
    }
    fn probe(&self, input: &ProbeInput<'_>, _s: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let tcp = input.transport == Transport::Tcp;
        let more = if tcp { Probe::NeedMore } else { Probe::NoMatch };
        match d {
            [] | [0] => return more,
            [0, 1, ..] => {}
            _ => return Probe::NoMatch,
        }
        let Some(plen) = be16(d, 2) else { return more };
        let plen = usize::from(plen);
        // LDP Identifier + one message header at least; max PDU 4096.
        if !(6 + 8..=4096).contains(&plen) || (!tcp && plen + 4 != d.len()) {
            return Probe::NoMatch;
        }
        let (Some(t), Some(mlen), Some(_id)) = (be16(d, 10), be16(d, 12), be32(d, 14)) else {
            return more;
        };
        let Some(name) = msg_name(t) else {
            return Probe::NoMatch;
        };
        if usize::from(mlen) + 4 > plen - 6 || mlen < 4 {
            return Probe::NoMatch;
        }
        let lsr = be32(d, 4).unwrap_or(0).to_be_bytes();
        Probe::Match(Match::new(format!(
            "LDP {name} from LSR {}.{}.{}.{}",
            lsr[0], lsr[1], lsr[2], lsr[3]
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, check_prefixes, evidence,
        foreign_never_match, probe1, C,
    };

    /// Link Hello (RFC 5036 §3.5.2), built: version 1, PDU length 30, LSR
    /// 10.0.0.1 label space 0, Hello (0x0100) length 20, message id 1,
    /// Common Hello Parameters TLV (0x0400, length 4: hold 15, flags 0),
    /// IPv4 Transport Address TLV (0x0401, length 4).
    const HELLO: &[u8] = &[
        0, 1, 0, 30, 10, 0, 0, 1, 0, 0, 0x01, 0x00, 0, 20, 0, 0, 0, 1, 0x04, 0x00, 0, 4, 0, 15, 0,
        0, 0x04, 0x01, 0, 4, 10, 0, 0, 1,
    ];

    /// KeepAlive over TCP (§3.5.4): PDU length 10, KeepAlive length 4.
    const KEEPALIVE: &[u8] = &[0, 1, 0, 14, 10, 0, 0, 1, 0, 0, 0x02, 0x01, 0, 4, 0, 0, 0, 9];

    #[test]
    fn messages() {
        assert_eq!(
            evidence(probe1(&Ldp, Transport::Udp, C, HELLO)),
            "LDP Hello from LSR 10.0.0.1"
        );
        assert_eq!(
            evidence(probe1(&Ldp, Transport::Tcp, C, KEEPALIVE)),
            "LDP KeepAlive from LSR 10.0.0.1"
        );
        check_prefixes(&Ldp, Transport::Tcp, C, KEEPALIVE, &[]);
        check_prefixes(&Ldp, Transport::Udp, C, HELLO, &[]);
    }

    #[test]
    fn first_bytes_declared() {
        use crate::testkit::first_bytes_hold;
        use crate::testkit::input;
        first_bytes_hold(&Ldp, &input(Transport::Udp, C, HELLO, &[], 0));
        first_bytes_hold(&Ldp, &input(Transport::Tcp, C, KEEPALIVE, &[], 0));
        first_bytes_hold(&Ldp, &input(Transport::Tcp, C, &KEEPALIVE[..1], &[], 0));
    }

    #[test]
    fn rejects_random_and_foreign() {
        assert_random_flows_rejected(&Ldp, Transport::Udp, 646);
        assert_random_flows_rejected(&Ldp, Transport::Tcp, 646);
        foreign_never_match(&Ldp, Transport::Tcp);
        assert_foreign_rejected(&Ldp, "ldp");
    }
}
