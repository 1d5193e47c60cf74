//! NetFlow export datagrams: Cisco NetFlow versions 1, 5 and 7 (Cisco
//! "NetFlow Export Datagram Format"), version 9 (RFC 3954) and IPFIX,
//! "version 10" (RFC 7011).
//!
//! * v1: 16-octet header (version, count, sys_uptime, unix_secs,
//!   unix_nsecs) + count x 48-octet records, count 1..=24.
//! * v5: 24-octet header (.., flow_sequence, engine type/id, sampling) +
//!   count x 48-octet records, count 1..=30.
//! * v7: 24-octet header + count x 52-octet records, count 1..=28.
//! * v9, RFC 3954 §5.1: 20-octet header (Version 9, Count, sysUpTime, UNIX
//!   Secs, Sequence Number, Source ID), then FlowSets: FlowSet ID (0
//!   template, 1 options template, 2..=255 reserved, >= 256 data) and a
//!   Length "including the FlowSet ID, Length, and ... padding"; the
//!   FlowSets fill the datagram.
//! * IPFIX, RFC 7011 §3.1: 16-octet header (Version 0x000a, Length of the
//!   whole message, Export Time, Sequence Number, Observation Domain ID),
//!   then Sets (ID 2 template, 3 options template, >= 256 data; §3.3.2
//!   "Set ID values of 0 and 1 are not used ... 4-255 are reserved") that
//!   fill the message. IPFIX also runs over TCP (§10.4): a stream of such
//!   messages.

use netsift_proto::bytes::be16;
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// NetFlow.
pub struct Netflow;

/// Walk sets/FlowSets from `off` to exactly `end`; `Some(number of sets)`.
fn walk_sets(d: &[u8], mut off: usize, end: usize, ipfix: bool) -> Option<usize> {
    let mut n = 0;
    while off < end {
        let id = be16(d, off)?;
        let len = usize::from(be16(d, off + 2)?);
        let id_ok = if ipfix {
            id == 2 || id == 3 || id >= 256
        } else {
            id <= 1 || id >= 256
        };
        if !id_ok || len < 4 || off + len > end {
            return None;
        }
        off += len;
        n += 1;
        if n > 256 {
            return None;
        }
    }
    (off == end && n > 0).then_some(n)
}

impl Protocol for Netflow {
    fn name(&self) -> &'static str {
        "NetFlow"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[2055, 2056, 2057, 9995, 9996, 4739]
    }
    // Every header starts with a 16-bit version: 1, 5, 7 (Cisco "NetFlow
    // Export Datagram Format"), 9 (RFC 3954 §5.1 "Version ... The value of
    // this field is 9 for the current version") and 10 (RFC 7011 §3.1 "The
    // value of this field is 0x000a for the current version").
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x00])
    }
    fn probe(&self, input: &ProbeInput<'_>, _s: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let tcp = input.transport == Transport::Tcp;
        let (Some(version), Some(count)) = (be16(d, 0), be16(d, 2)) else {
            return if tcp && d.len() < 4 && d.first().is_none_or(|&b| b == 0) {
                Probe::NeedMore
            } else {
                Probe::NoMatch
            };
        };
        let c = usize::from(count);
        let ev = match version {
            1 if !tcp && (1..=24).contains(&count) && d.len() == 16 + 48 * c => {
                format!("NetFlow v1 export, {count} flow records")
            }
            5 if !tcp && (1..=30).contains(&count) && d.len() == 24 + 48 * c => {
                format!("NetFlow v5 export, {count} flow records")
            }
            7 if !tcp && (1..=28).contains(&count) && d.len() == 24 + 52 * c => {
                format!("NetFlow v7 export, {count} flow records")
            }
            9 if !tcp && d.len() > 20 => match walk_sets(d, 20, d.len(), false) {
                Some(sets) => format!("NetFlow v9 export, {count} records in {sets} FlowSets"),
                None => return Probe::NoMatch,
            },
            10 => {
                // Here `count` is the message length.
                if c < 20 || (!tcp && c != d.len()) {
                    return Probe::NoMatch;
                }
                if d.len() < c {
                    return Probe::NeedMore;
                }
                match walk_sets(d, 16, c, true) {
                    Some(sets) => format!("IPFIX (NetFlow v10) export, {sets} sets"),
                    None => return Probe::NoMatch,
                }
            }
            _ => return Probe::NoMatch,
        };
        Probe::Match(Match::new(ev))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, check_prefixes, evidence,
        foreign_never_match, probe1, C,
    };

    const UDP: Transport = Transport::Udp;
    const TCP: Transport = Transport::Tcp;
    // Source: testdata/README.md.
    const V9: &[u8] = include_bytes!("testdata/v9_export.bin");

    fn v5(count: u16) -> Vec<u8> {
        // Cisco v5 header: version, count, uptime, secs, nsecs, sequence,
        // engine type, engine id, sampling; then 48-octet records.
        let mut m = vec![0, 5];
        m.extend_from_slice(&count.to_be_bytes());
        m.extend_from_slice(&[
            0, 0, 1, 0, 0x5f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0,
        ]);
        m.resize(24 + 48 * usize::from(count), 0);
        m
    }

    #[test]
    fn exports() {
        assert_eq!(
            evidence(probe1(&Netflow, UDP, C, V9)),
            "NetFlow v9 export, 16 records in 3 FlowSets"
        );
        assert_eq!(
            evidence(probe1(&Netflow, UDP, C, &v5(3))),
            "NetFlow v5 export, 3 flow records"
        );
        let mut short = v5(3);
        short.pop();
        assert_eq!(probe1(&Netflow, UDP, C, &short), Probe::NoMatch);
        // IPFIX: header + one template set (ID 2) with one 2-field
        // template (RFC 7011 §3.4.1).
        let mut ipfix = vec![0, 10, 0, 0, 0x60, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0];
        ipfix.extend_from_slice(&[0, 2, 0, 16, 1, 0, 0, 2, 0, 8, 0, 4, 0, 12, 0, 4]);
        let n = ipfix.len() as u16;
        ipfix[2..4].copy_from_slice(&n.to_be_bytes());
        assert_eq!(
            evidence(probe1(&Netflow, UDP, C, &ipfix)),
            "IPFIX (NetFlow v10) export, 1 sets"
        );
        check_prefixes(&Netflow, TCP, C, &ipfix, &[]);
        check_prefixes(&Netflow, UDP, C, V9, &[]);
    }

    #[test]
    fn first_bytes_declared() {
        use crate::testkit::input;
        let mut ipfix = vec![0, 10, 0, 0, 0x60, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0];
        ipfix.extend_from_slice(&[0, 2, 0, 16, 1, 0, 0, 2, 0, 8, 0, 4, 0, 12, 0, 4]);
        let n = ipfix.len() as u16;
        ipfix[2..4].copy_from_slice(&n.to_be_bytes());
        let v5 = v5(3);
        for (t, d) in [
            (UDP, V9),
            (UDP, &v5[..]),
            (UDP, &ipfix[..]),
            (TCP, &ipfix[..]),
            (TCP, &ipfix[..1]),
            (TCP, &ipfix[..10]),
        ] {
            crate::testkit::first_bytes_hold(&Netflow, &input(t, C, d, b"", 0));
        }
    }

    #[test]
    fn rejects_random_and_foreign() {
        assert_random_flows_rejected(&Netflow, UDP, 2055);
        assert_random_flows_rejected(&Netflow, TCP, 4739);
        foreign_never_match(&Netflow, UDP);
        foreign_never_match(&Netflow, TCP);
        assert_foreign_rejected(&Netflow, "netflow");
    }
}
