//! MPEG transport stream (ISO/IEC 13818-1 §2.4.3), carried directly over
//! UDP (IPTV multicast, usually 7 packets per datagram) or TCP.
//!
//! §2.4.3.2: "transport_packet() { sync_byte (8) ... }", "sync_byte – The
//! sync_byte is a fixed 8-bit field whose value is '0100 0111' (0x47)";
//! packets are 188 octets. adaptation_field_control "'00' Reserved for
//! future use by ISO/IEC"; PID 0x0002..=0x000F are reserved.
//!
//! Matches: a datagram made of whole 188-octet packets, at least two, each
//! with the sync byte and a valid header; a single-packet datagram needs
//! a second such datagram (counted in the scratch). Over TCP, three
//! consecutive packets at the start of the stream.

use netsift_proto::bytes::u8_at;
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// MPEG_TS.
pub struct MpegTs;

const PKT: usize = 188;

/// A valid packet header at `off`.
fn header_ok(d: &[u8], off: usize) -> Option<bool> {
    let b0 = u8_at(d, off)?;
    if b0 != 0x47 {
        return Some(false);
    }
    let (b1, b2, b3) = (u8_at(d, off + 1)?, u8_at(d, off + 2)?, u8_at(d, off + 3)?);
    let pid = (u16::from(b1 & 0x1f) << 8) | u16::from(b2);
    // Reserved PIDs and adaptation_field_control '00'.
    Some(!(0x0002..=0x000f).contains(&pid) && b3 & 0x30 != 0)
}

impl Protocol for MpegTs {
    fn name(&self) -> &'static str {
        "MPEG_TS"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    // ISO/IEC 13818-1 §2.4.3.2: "The sync_byte is a fixed 8-bit field whose
    // value is '0100 0111' (0x47)", the first field of transport_packet().
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x47])
    }
    fn probe(&self, input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        if d.first() != Some(&0x47) {
            return if d.is_empty() && input.transport == Transport::Tcp {
                Probe::NeedMore
            } else {
                Probe::NoMatch
            };
        }
        if input.transport == Transport::Tcp {
            for i in 0..3 {
                match header_ok(d, i * PKT) {
                    Some(true) => {}
                    Some(false) => return Probe::NoMatch,
                    None => return Probe::NeedMore,
                }
            }
            return Probe::Match(Match::new("MPEG-TS: 188-octet packets with sync byte 0x47"));
        }
        if d.len() % PKT != 0 {
            return Probe::NoMatch;
        }
        let n = d.len() / PKT;
        for i in 0..n.min(8) {
            if header_ok(d, i * PKT) != Some(true) {
                return Probe::NoMatch;
            }
        }
        if n >= 2 {
            return Probe::Match(Match::new(format!(
                "MPEG-TS: {n} packets of 188 octets with sync byte 0x47 in one datagram"
            )));
        }
        // One packet: a second such datagram confirms.
        scratch.0[0] += 1;
        if scratch.0[0] >= 2 {
            return Probe::Match(Match::new(
                "MPEG-TS: datagrams of one 188-octet packet with sync byte 0x47",
            ));
        }
        Probe::NeedMore
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const UDP: Transport = Transport::Udp;
    const TCP: Transport = Transport::Tcp;

    /// A PAT packet (PID 0, payload_unit_start, adaptation '01') and a
    /// null packet (PID 0x1FFF), 188 octets each.
    fn pkt(pid: u16, cc: u8) -> Vec<u8> {
        let mut p = vec![0x47, 0x40 | (pid >> 8) as u8, pid as u8, 0x10 | (cc & 0x0f)];
        p.resize(PKT, 0xff);
        p
    }

    #[test]
    fn datagrams() {
        let mut d = Vec::new();
        for i in 0..7 {
            d.extend(pkt(if i == 0 { 0 } else { 0x100 }, i));
        }
        assert_eq!(
            evidence(probe1(&MpegTs, UDP, C, &d)),
            "MPEG-TS: 7 packets of 188 octets with sync byte 0x47 in one datagram"
        );
        let one = pkt(0x1fff, 0);
        assert_eq!(
            feed_evidence(&MpegTs, UDP, 1234, &[(C, &one), (C, &one)]),
            "MPEG-TS: datagrams of one 188-octet packet with sync byte 0x47"
        );
        let mut bad = d.clone();
        bad[188 * 3] = 0x48;
        assert_eq!(probe1(&MpegTs, UDP, C, &bad), Probe::NoMatch);
    }

    #[test]
    fn stream() {
        let mut d = Vec::new();
        for i in 0..4 {
            d.extend(pkt(0x101, i));
        }
        assert!(is_match(&probe1(&MpegTs, TCP, C, &d)));
        check_prefixes(&MpegTs, TCP, C, &d, b"");
    }

    #[test]
    fn first_bytes_declared() {
        let mut d = Vec::new();
        for i in 0..7 {
            d.extend(pkt(if i == 0 { 0 } else { 0x100 }, i));
        }
        let one = pkt(0x1fff, 0);
        for (t, data) in [
            (UDP, &d[..]),
            (UDP, &one[..]),
            (TCP, &d[..]),
            (TCP, &d[..100]),
        ] {
            crate::testkit::first_bytes_hold(&MpegTs, &input(t, C, data, b"", 0));
        }
    }

    #[test]
    fn random_foreign() {
        assert_random_flows_rejected(&MpegTs, UDP, 1234);
        assert_random_flows_rejected(&MpegTs, TCP, 1234);
        foreign_never_match(&MpegTs, TCP);
        assert_foreign_rejected(&MpegTs, "mpeg");
    }
}
