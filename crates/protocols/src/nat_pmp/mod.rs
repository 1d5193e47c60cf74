//! NAT-PMP, the NAT Port Mapping Protocol (RFC 6886), UDP port 5351
//! (announcements to 224.0.0.1:5350).
//!
//! RFC 6886 §3.2 external address request: Vers = 0, OP = 0 (2 octets in
//! all). §3.3 mapping request: Vers = 0, OP = 1 (UDP) or 2 (TCP),
//! Reserved (2, "MUST be set to zero"), Internal Port, Suggested External
//! Port, Requested Port Mapping Lifetime (4): 12 octets. Responses set the
//! high bit of OP: 128 + OP, then a Result Code (2: 0 Success .. 5
//! Unsupported opcode), Seconds Since Start of Epoch (4); OP 128 adds the
//! External IPv4 Address (12 octets in all), OP 129/130 add Internal Port,
//! Mapped External Port and Lifetime (16 octets in all). PCP (RFC 6887),
//! on the same port, uses version 2 and is not NAT-PMP.
//!
//! The 2-octet external address request is too short to call alone; it is
//! confirmed by the gateway's answer.

use netsift_proto::bytes::{be16, u8_at};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// NAT-PMP.
pub struct NatPmp;

fn response(d: &[u8]) -> Option<String> {
    let (v, op, rc) = (u8_at(d, 0)?, u8_at(d, 1)?, be16(d, 2)?);
    if v != 0 || rc > 5 {
        return None;
    }
    let what = match (op, d.len()) {
        (128, 12) => "external address response",
        (129, 16) => "UDP mapping response",
        (130, 16) => "TCP mapping response",
        _ => return None,
    };
    Some(format!("NAT-PMP {what}, result {rc}"))
}

fn mapping_request(d: &[u8]) -> Option<String> {
    let (v, op, rsvd) = (u8_at(d, 0)?, u8_at(d, 1)?, be16(d, 2)?);
    if v != 0 || rsvd != 0 || d.len() != 12 {
        return None;
    }
    let proto = match op {
        1 => "UDP",
        2 => "TCP",
        _ => return None,
    };
    let (internal, external) = (be16(d, 4)?, be16(d, 6)?);
    if internal == 0 && external != 0 {
        return None;
    }
    Some(format!(
        "NAT-PMP {proto} mapping request, internal port {internal}"
    ))
}

impl Protocol for NatPmp {
    fn name(&self) -> &'static str {
        "NAT-PMP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[5351, 5350]
    }
    // RFC 6886 §3.2/§3.3: every request and response starts with "Vers = 0".
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x00])
    }
    fn probe(&self, input: &ProbeInput<'_>, _s: &mut ProbeScratch) -> Probe {
        let d = input.data;
        if u8_at(d, 0) != Some(0) {
            return Probe::NoMatch;
        }
        if let Some(ev) = response(d).or_else(|| mapping_request(d)) {
            return Probe::Match(Match::new(ev));
        }
        if d == [0, 0] {
            // The external address request: the answer decides.
            if response(input.peer).is_some_and(|_| input.peer.get(1) == Some(&128)) {
                return Probe::Match(Match::new("NAT-PMP external address request"));
            }
            return Probe::NeedMore;
        }
        Probe::NoMatch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, evidence, feed_evidence, probe1, C,
        S,
    };

    const UDP: Transport = Transport::Udp;
    // Built from RFC 6886 §3.2 / §3.3 (field by field in each literal).
    // External address response: vers 0, op 128, result 0, epoch 1000,
    // address 192.0.2.7.
    const ADDR_RESP: &[u8] = &[0, 128, 0, 0, 0, 0, 0x03, 0xe8, 192, 0, 2, 7];
    // TCP mapping request: vers 0, op 2, reserved, internal 8080,
    // suggested external 8080, lifetime 7200.
    const MAP_REQ: &[u8] = &[0, 2, 0, 0, 0x1f, 0x90, 0x1f, 0x90, 0, 0, 0x1c, 0x20];
    // Its response: op 130, result 0, epoch, internal, mapped, lifetime.
    const MAP_RESP: &[u8] = &[
        0, 130, 0, 0, 0, 0, 0x03, 0xe9, 0x1f, 0x90, 0x1f, 0x90, 0, 0, 0x1c, 0x20,
    ];

    #[test]
    fn exchanges() {
        assert_eq!(probe1(&NatPmp, UDP, C, &[0, 0]), Probe::NeedMore);
        assert_eq!(
            feed_evidence(&NatPmp, UDP, 5351, &[(C, &[0, 0]), (S, ADDR_RESP)]),
            "NAT-PMP external address response, result 0"
        );
        assert_eq!(
            evidence(probe1(&NatPmp, UDP, C, MAP_REQ)),
            "NAT-PMP TCP mapping request, internal port 8080"
        );
        assert_eq!(
            evidence(probe1(&NatPmp, UDP, S, MAP_RESP)),
            "NAT-PMP TCP mapping response, result 0"
        );
        // PCP (version 2) is not NAT-PMP.
        let mut pcp = MAP_REQ.to_vec();
        pcp[0] = 2;
        assert_eq!(probe1(&NatPmp, UDP, C, &pcp), Probe::NoMatch);
    }

    #[test]
    fn first_bytes_declared() {
        use crate::testkit::input;
        for (dir, d, peer) in [
            (C, &[0u8, 0][..], &[][..]),
            (C, &[0, 0], ADDR_RESP),
            (S, ADDR_RESP, &[0, 0]),
            (C, MAP_REQ, &[]),
            (S, MAP_RESP, MAP_REQ),
        ] {
            crate::testkit::first_bytes_hold(&NatPmp, &input(UDP, dir, d, peer, 0));
        }
    }

    #[test]
    fn rejects_random_and_foreign() {
        assert_random_flows_rejected(&NatPmp, UDP, 5351);
        assert_foreign_rejected(&NatPmp, "natpmp");
    }
}
