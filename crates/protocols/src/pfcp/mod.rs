//! PFCP, the 5G/EPC Packet Forwarding Control Protocol (3GPP TS 29.244),
//! UDP port 8805.
//!
//! TS 29.244 §7.2.2.1, the message header: octet 1 is Version (3 bits, 1),
//! Spare (2), FO, MP, S ("S flag: ... 1 if SEID field is present"); octet
//! 2 Message Type; octets 3-4 "Message Length ... the length of the
//! message in octets excluding the mandatory part of the PFCP header (the
//! first 4 octets)"; then the 8-octet SEID when S = 1; then a 3-octet
//! Sequence Number and a spare octet (or message priority). Node-related
//! messages (types 1-15, 16-17) carry no SEID (§7.2.2.2), session-related
//! ones (types 50-57) do (§7.2.2.3). The body is a list of IEs: Type (2)
//! and Length (2) of the value (§8.1.1), which fill the message.

use netsift_proto::bytes::{be16, u8_at};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// PFCP.
pub struct Pfcp;

fn type_name(t: u8) -> Option<&'static str> {
    Some(match t {
        1 => "Heartbeat Request",
        2 => "Heartbeat Response",
        3 => "PFD Management Request",
        4 => "PFD Management Response",
        5 => "Association Setup Request",
        6 => "Association Setup Response",
        7 => "Association Update Request",
        8 => "Association Update Response",
        9 => "Association Release Request",
        10 => "Association Release Response",
        11 => "Version Not Supported Response",
        12 => "Node Report Request",
        13 => "Node Report Response",
        14 => "Session Set Deletion Request",
        15 => "Session Set Deletion Response",
        16 => "Session Set Modification Request",
        17 => "Session Set Modification Response",
        50 => "Session Establishment Request",
        51 => "Session Establishment Response",
        52 => "Session Modification Request",
        53 => "Session Modification Response",
        54 => "Session Deletion Request",
        55 => "Session Deletion Response",
        56 => "Session Report Request",
        57 => "Session Report Response",
        _ => return None,
    })
}

impl Protocol for Pfcp {
    fn name(&self) -> &'static str {
        "PFCP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[8805]
    }
    // TS 29.244 §7.2.2.1: octet 1 is "Version" (3 bits, 1), "Spare" (2
    // bits, zero), FO, MP, S: 0x20..=0x27.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::range(0x20, 0x27)
    }
    fn probe(&self, input: &ProbeInput<'_>, _s: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let (Some(f), Some(t), Some(len)) = (u8_at(d, 0), u8_at(d, 1), be16(d, 2)) else {
            return Probe::NoMatch;
        };
        // Version 1, spare bits zero.
        if f >> 5 != 1 || f & 0x18 != 0 || usize::from(len) + 4 != d.len() {
            return Probe::NoMatch;
        }
        let Some(name) = type_name(t) else {
            return Probe::NoMatch;
        };
        let s = f & 1 == 1;
        // S set exactly for session messages (Version Not Supported may
        // go either way, §7.2.2.1).
        if t != 11 && s != (t >= 50) {
            return Probe::NoMatch;
        }
        let mut o = if s { 16 } else { 8 };
        if d.len() < o {
            return Probe::NoMatch;
        }
        // IEs fill the message (at most 64 looked at).
        let mut n = 0;
        while o < d.len() && n < 64 {
            let Some(l) = be16(d, o + 2) else {
                return Probe::NoMatch;
            };
            o += 4 + usize::from(l);
            n += 1;
        }
        if o != d.len() && n < 64 {
            return Probe::NoMatch;
        }
        Probe::Match(Match::new(format!("PFCP {name}, {n} IEs")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, evidence, probe1, C, S,
    };

    const UDP: Transport = Transport::Udp;
    // Sources: testdata/README.md.
    const DEL_RESP: &[u8] = include_bytes!("testdata/session_deletion_response.bin");
    const EST_REQ: &[u8] = include_bytes!("testdata/session_establishment_request.bin");

    #[test]
    fn messages() {
        assert_eq!(
            evidence(probe1(&Pfcp, UDP, S, DEL_RESP)),
            "PFCP Session Deletion Response, 1 IEs"
        );
        assert!(evidence(probe1(&Pfcp, UDP, C, EST_REQ))
            .starts_with("PFCP Session Establishment Request"));
        // Heartbeat Request (§7.4.2.1), built: no SEID, sequence 1, one
        // Recovery Time Stamp IE (type 96, length 4).
        let hb = [0x20, 1, 0, 12, 0, 0, 1, 0, 0, 96, 0, 4, 0xe1, 0, 0, 0];
        assert_eq!(
            evidence(probe1(&Pfcp, UDP, C, &hb)),
            "PFCP Heartbeat Request, 1 IEs"
        );
        for i in 0..EST_REQ.len() {
            assert_eq!(probe1(&Pfcp, UDP, C, &EST_REQ[..i]), Probe::NoMatch);
        }
    }

    #[test]
    fn first_bytes_declared() {
        use crate::testkit::input;
        let hb = [0x20, 1, 0, 12, 0, 0, 1, 0, 0, 96, 0, 4, 0xe1, 0, 0, 0];
        for (dir, d) in [(S, DEL_RESP), (C, EST_REQ), (C, &hb[..])] {
            crate::testkit::first_bytes_hold(&Pfcp, &input(UDP, dir, d, b"", 0));
        }
    }

    #[test]
    fn rejects_random_and_foreign() {
        assert_random_flows_rejected(&Pfcp, UDP, 8805);
        assert_foreign_rejected(&Pfcp, "pfcp");
    }
}
