//! SOME/IP (Scalable service-Oriented MiddlewarE over IP, AUTOSAR
//! "SOME/IP Protocol Specification" PRS_SOMEIP) and SOME/IP-SD (AUTOSAR
//! "SOME/IP Service Discovery Protocol Specification" PRS_SOMEIPSD), over
//! UDP (and TCP).
//!
//! PRS_SOMEIP_00030 ff.: header (big endian): Message ID (Service ID 16 +
//! Method ID 16), Length (32 bits, "number of bytes following the Length
//! field": 8 header bytes + payload), Request ID (Client ID 16 + Session ID
//! 16), Protocol Version (0x01, PRS_SOMEIP_00052), Interface Version,
//! Message Type (PRS_SOMEIP_00055: 0x00 REQUEST, 0x01 REQUEST_NO_RETURN,
//! 0x02 NOTIFICATION, 0x80 RESPONSE, 0x81 ERROR, and their SOME/IP-TP
//! variants with 0x20 set), Return Code (PRS_SOMEIP_00058: 0x00-0x0A
//! defined, up to 0x5E reserved / service specific). A UDP datagram may
//! hold several messages back to back.
//!
//! SOME/IP-SD (PRS_SOMEIPSD_00016 ff.): Message ID 0xFFFF8100, protocol
//! and interface version 1, message type NOTIFICATION, return code 0, then
//! flags (1), reserved (3), the entries array length (32 bits) with
//! 16-byte entries (type 0x00 FindService, 0x01 OfferService, 0x06
//! SubscribeEventgroup, 0x07 SubscribeEventgroupAck), the options array.
//! The SD header is conclusive alone. Other messages are claimed when the
//! other direction answers the same Message ID and Request ID, or when
//! two messages of the same service and client follow each other.

use netsift_proto::bytes::be32;
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// SOME/IP.
pub struct Someip;

impl Protocol for Someip {
    fn name(&self) -> &'static str {
        "SOMEIP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[30490, 30491, 30501]
    }
    fn probe(&self, input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Probe {
        let tcp = match input.transport {
            Transport::Tcp => true,
            Transport::Udp => false,
            Transport::Ip(_) => return Probe::NoMatch,
        };
        let d = input.data;
        let m = match message(d, tcp) {
            Ok(m) => m,
            Err(true) => return Probe::NeedMore,
            Err(false) => return Probe::NoMatch,
        };
        if m.msg_id == 0xffff_8100 {
            return sd(d);
        }
        let ty = type_name(m.ty);
        // The other direction's first message answering this one.
        if let Ok(p) = message(input.peer, tcp) {
            if p.msg_id == m.msg_id && p.req_id == m.req_id && (p.ty ^ m.ty) & 0x80 != 0 {
                return Probe::Match(Match::new(format!(
                    "SOME/IP {ty} service 0x{:04x} method 0x{:04x}, answered with the same request id",
                    m.msg_id >> 16,
                    m.msg_id & 0xffff
                )));
            }
        }
        // scratch[0]: 1 << 63 | message id << 16 | client id.
        let key = (1u64 << 63) | (u64::from(m.msg_id) << 16) | u64::from(m.req_id >> 16);
        let prev = scratch.0[0];
        scratch.0[0] = key;
        // A second message of the same method and client: in this
        // datagram/stream behind the first, or a later datagram.
        let next = d.get(m.total..).and_then(|r| message(r, tcp).ok());
        if next.is_some_and(|n| n.msg_id == m.msg_id && n.req_id >> 16 == m.req_id >> 16)
            || (!tcp && prev == key)
        {
            return Probe::Match(Match::new(format!(
                "two SOME/IP {ty}s of service 0x{:04x} method 0x{:04x}",
                m.msg_id >> 16,
                m.msg_id & 0xffff
            )));
        }
        Probe::NeedMore
    }
}

struct Msg {
    msg_id: u32,
    req_id: u32,
    ty: u8,
    total: usize,
}

fn type_name(t: u8) -> &'static str {
    match t & !0x20 {
        0x00 => "REQUEST",
        0x01 => "REQUEST_NO_RETURN",
        0x02 => "NOTIFICATION",
        0x80 => "RESPONSE",
        _ => "ERROR",
    }
}

/// One message header at the start of `d`: Err(true) = need more (TCP).
fn message(d: &[u8], tcp: bool) -> Result<Msg, bool> {
    // Protocol version, message type, return code first where present.
    if d.get(12).is_some_and(|&v| v != 1) {
        return Err(false);
    }
    if d.get(14)
        .is_some_and(|&t| !matches!(t & !0x20, 0x00 | 0x01 | 0x02 | 0x80 | 0x81))
    {
        return Err(false);
    }
    if d.get(15).is_some_and(|&r| r > 0x5e) {
        return Err(false);
    }
    let (Some(msg_id), Some(len), Some(req_id)) = (be32(d, 0), be32(d, 4), be32(d, 8)) else {
        return Err(tcp);
    };
    if d.len() < 16 {
        return Err(tcp);
    }
    let len = len as usize;
    if !(8..=1 << 20).contains(&len) {
        return Err(false);
    }
    let total = 8 + len;
    if !tcp && total > d.len() {
        return Err(false);
    }
    Ok(Msg {
        msg_id,
        req_id,
        ty: d[14],
        total,
    })
}

/// SOME/IP-SD: flags, reserved, entries array; one datagram decides.
fn sd(d: &[u8]) -> Probe {
    // Interface version 1, NOTIFICATION, return code 0.
    if d.get(13..16) != Some(&[0x01, 0x02, 0x00][..]) {
        return Probe::NoMatch;
    }
    let Some(entries_len) = be32(d, 20) else {
        return Probe::NeedMore;
    };
    let entries_len = entries_len as usize;
    if entries_len % 16 != 0 || 24 + entries_len + 4 > 8 + be32(d, 4).unwrap_or(0) as usize {
        return Probe::NoMatch;
    }
    let first = match d.get(24) {
        Some(0x00) => " FindService",
        Some(0x01) => " OfferService",
        Some(0x06) => " SubscribeEventgroup",
        Some(0x07) => " SubscribeEventgroupAck",
        Some(_) => return Probe::NoMatch,
        None => "",
    };
    Probe::Match(Match::new(format!(
        "SOME/IP-SD with {} entries{}",
        entries_len / 16,
        if first.is_empty() {
            String::new()
        } else {
            format!(", first{first}")
        }
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, evidence, feed, feed_evidence,
        probe1, C, S,
    };

    const UDP: Transport = Transport::Udp;
    // Sources: testdata/README.md.
    const OFFER: &[u8] = include_bytes!("testdata/sd_offer.bin");
    const SUB: &[u8] = include_bytes!("testdata/sd_subscribe.bin");
    const REQ: &[u8] = include_bytes!("testdata/request.bin");
    const RESP: &[u8] = include_bytes!("testdata/response.bin");

    #[test]
    fn service_discovery() {
        assert_eq!(
            evidence(probe1(&Someip, UDP, C, OFFER)),
            "SOME/IP-SD with 12 entries, first OfferService"
        );
        assert_eq!(
            evidence(probe1(&Someip, UDP, C, SUB)),
            "SOME/IP-SD with 1 entries, first SubscribeEventgroupAck"
        );
    }

    #[test]
    fn request_and_response() {
        assert_eq!(
            feed_evidence(&Someip, UDP, 49201, &[(C, REQ), (S, RESP)]),
            "SOME/IP RESPONSE service 0x1234 method 0x0008, answered with the same request id"
        );
        assert_eq!(feed(&Someip, UDP, 49201, &[(C, REQ)]), Probe::NeedMore);
        assert!(matches!(
            feed(&Someip, UDP, 49201, &[(C, REQ), (C, REQ)]),
            Probe::Match(_)
        ));
        // The length field must fit the datagram.
        assert_eq!(
            probe1(&Someip, UDP, C, &REQ[..REQ.len() - 1]),
            Probe::NoMatch
        );
    }

    #[test]
    fn foreign_and_random() {
        assert_foreign_rejected(&Someip, "someip");
        assert_random_flows_rejected(&Someip, UDP, 30490);
        assert_random_flows_rejected(&Someip, Transport::Tcp, 30490);
    }
}
