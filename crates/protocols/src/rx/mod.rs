//! RX, the remote procedure call transport of AFS (OpenAFS / IBM AFS,
//! "Rx protocol specification"; Wireshark's `rx` dissector documents the
//! same header). Every packet starts with a 28-octet header:
//!
//! ```text
//! epoch(4) cid(4) callNumber(4) seq(4) serial(4) type(1) flags(1)
//! userStatus(1) securityIndex(1) spare/checksum(2) serviceId(2)
//! ```
//!
//! * type: 1 DATA, 2 ACK, 3 BUSY, 4 ABORT, 5 ACKALL, 6 CHALLENGE,
//!   7 RESPONSE, 8 DEBUG, 9-11 PARAMS, 13 VERSION;
//! * flags: 0x01 CLIENT_INITIATED, 0x02 REQUEST_ACK, 0x04 LAST_PACKET,
//!   0x08 MORE_PACKETS, 0x10 FREE_PACKET, 0x20 SLOW_START_OK/JUMBO;
//! * securityIndex: 0 none, 1-3 rxkad variants and rxgk (small numbers);
//! * the connection is (epoch, cid with its low two bits as the channel).
//!
//! One header is weak, so a flow is RX when two packets carry the same
//! epoch and connection id, each with a valid header, the CLIENT_INITIATED
//! flag set exactly on the client's packets (AFS services listen on UDP
//! 7000-7009, but any port works).

use netsift_proto::bytes::{be16, be32};
use netsift_proto::{Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// RX (AFS).
pub struct Rx;

const HEADER: usize = 28;

/// The connection of a valid header: (epoch, cid without channel), type.
fn header(d: &[u8], dir: Direction) -> Option<(u64, u8)> {
    let epoch = be32(d, 0)?;
    let cid = be32(d, 4)?;
    let serial = be32(d, 16)?;
    let ty = *d.get(20)?;
    let flags = *d.get(21)?;
    let security = *d.get(23)?;
    if d.len() < HEADER || !matches!(ty, 1..=11 | 13) || flags & 0xc0 != 0 || security > 5 {
        return None;
    }
    // Packets of a call are numbered from 1 ("serial ... starts at 1").
    if serial == 0 {
        return None;
    }
    // CLIENT_INITIATED: "set on packets sent by the client of the call".
    let from_client = flags & 0x01 != 0;
    if from_client != (dir == Direction::ToServer) {
        return None;
    }
    if ty == 1 {
        // DATA: callNumber and seq count from 1.
        if be32(d, 8)? == 0 || be32(d, 12)? == 0 {
            return None;
        }
    }
    let _service = be16(d, 26)?;
    Some(((u64::from(epoch) << 32) | u64::from(cid & !3), ty))
}

fn type_name(t: u8) -> &'static str {
    match t {
        1 => "DATA",
        2 => "ACK",
        3 => "BUSY",
        4 => "ABORT",
        5 => "ACKALL",
        6 => "CHALLENGE",
        7 => "RESPONSE",
        8 => "DEBUG",
        13 => "VERSION",
        _ => "PARAMS",
    }
}

impl Protocol for Rx {
    fn name(&self) -> &'static str {
        "RX"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[7000, 7001, 7002, 7003, 7004, 7005, 7006, 7007]
    }
    fn probe(&self, input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Udp {
            return Probe::NoMatch;
        }
        let Some((conn, ty)) = header(input.data, input.dir) else {
            return Probe::NoMatch;
        };
        // scratch.0[0]: the connection of the first valid packet; [1]: 1 once set.
        if scratch.0[1] == 0 {
            scratch.0 = [conn, 1];
            return Probe::NeedMore;
        }
        if scratch.0[0] != conn {
            return Probe::NoMatch;
        }
        let service = be16(input.data, 26).unwrap_or(0);
        Probe::Match(Match::new(format!(
            "AFS RX {} packet, epoch 0x{:08x}, service {service}, same connection as an earlier packet",
            type_name(ty),
            conn >> 32
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const UDP: Transport = Transport::Udp;
    // Sources: testdata/README.md.
    const REQ: &[u8] = include_bytes!("testdata/vl_request.bin");
    const REPLY: &[u8] = include_bytes!("testdata/vl_reply.bin");

    #[test]
    fn call_and_reply() {
        let e = feed_evidence(&Rx, UDP, 7002, &[(C, REQ), (S, REPLY)]);
        assert_eq!(
            e,
            "AFS RX DATA packet, epoch 0x570fb560, service 73, same connection as an earlier packet"
        );
        // One packet alone is not enough.
        assert_eq!(feed(&Rx, UDP, 7002, &[(C, REQ)]), Probe::NeedMore);
    }

    #[test]
    fn inconsistent_flows() {
        // The reply of another connection.
        let mut other = REPLY.to_vec();
        other[5] ^= 0x10;
        assert_eq!(
            feed(&Rx, UDP, 7002, &[(C, REQ), (S, &other)]),
            Probe::NoMatch
        );
        // A server packet claiming to come from the client.
        let mut flipped = REPLY.to_vec();
        flipped[21] |= 0x01;
        assert_eq!(
            feed(&Rx, UDP, 7002, &[(C, REQ), (S, &flipped)]),
            Probe::NoMatch
        );
        let mut bad = REQ.to_vec();
        bad[20] = 12; // no packet type 12
        assert_eq!(probe1(&Rx, UDP, C, &bad), Probe::NoMatch);
        assert_eq!(probe1(&Rx, UDP, C, &REQ[..27]), Probe::NoMatch);
    }

    #[test]
    fn random_and_foreign() {
        assert_random_flows_rejected(&Rx, UDP, 7000);
        assert_foreign_rejected(&Rx, "");
    }
}
