//! Diameter base protocol (RFC 6733), over TCP or SCTP, port 3868 (5868
//! for TLS/DTLS).
//!
//! RFC 6733 §3, the 20-octet header: Version (1) = 1, Message Length (3)
//! "the length of the Diameter message including the header fields and
//! the padded AVPs", Command Flags (R request, P proxiable, E error, T
//! retransmitted, four reserved bits "set to zero"), Command Code (3),
//! Application-ID (4), Hop-by-Hop Identifier (4), End-to-End Identifier
//! (4). §4.1, each AVP: AVP Code (4), AVP Flags (V vendor, M mandatory, P,
//! five reserved bits zero), AVP Length (3, at least 8, 12 with the
//! Vendor-ID), data padded to 4 octets. A stream can be picked up at any
//! message boundary; the first AVP is checked as well.

use netsift_proto::bytes::{be24, be32, u8_at};
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Diameter.
pub struct Diameter;

fn command(code: u32) -> &'static str {
    match code {
        257 => "Capabilities-Exchange",
        258 => "Re-Auth",
        265 => "AA",
        268 => "Diameter-EAP",
        271 => "Accounting",
        272 => "Credit-Control",
        274 => "Abort-Session",
        275 => "Session-Termination",
        280 => "Device-Watchdog",
        282 => "Disconnect-Peer",
        300..=329 => "3GPP Cx/Dx/S6a",
        _ => "command",
    }
}

impl Protocol for Diameter {
    fn name(&self) -> &'static str {
        "Diameter"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp, Transport::Ip(132)]
    }
    fn ports(&self) -> &'static [u16] {
        &[3868]
    }
    fn probe(&self, input: &ProbeInput<'_>, _s: &mut ProbeScratch) -> Probe {
        let d = input.data;
        if matches!(input.transport, Transport::Ip(_)) {
            // SCTP: the probe sees chunks; a DATA chunk (type 0) with the
            // Diameter PPID 46 (RFC 6733 §2.1) carries the message at 16.
            return match (u8_at(d, 0), be32(d, 12)) {
                (Some(0), Some(46 | 47)) => check(d.get(16..).unwrap_or(&[]), false),
                _ => Probe::NoMatch,
            };
        }
        check(d, true)
    }
}

fn check(d: &[u8], stream: bool) -> Probe {
    let more = if stream {
        Probe::NeedMore
    } else {
        Probe::NoMatch
    };
    match u8_at(d, 0) {
        Some(1) => {}
        Some(_) => return Probe::NoMatch,
        None => return more,
    }
    let Some(len) = be24(d, 1) else { return more };
    let len = len as usize;
    if len < 20 || len % 4 != 0 {
        return Probe::NoMatch;
    }
    let Some(flags) = u8_at(d, 4) else {
        return more;
    };
    // Reserved bits zero; an error answer is never a request (§3).
    if flags & 0x0f != 0 || flags & 0xa0 == 0xa0 {
        return Probe::NoMatch;
    }
    let Some(code) = be24(d, 5) else { return more };
    if code == 0 {
        return Probe::NoMatch;
    }
    // The first AVP (every command has at least one, e.g. Session-Id or
    // Origin-Host).
    if len < 28 {
        return Probe::NoMatch;
    }
    let (Some(aflags), Some(alen)) = (u8_at(d, 24), be24(d, 25)) else {
        return more;
    };
    let min = if aflags & 0x80 != 0 { 12 } else { 8 };
    if aflags & 0x1f != 0 || (alen as usize) < min || 20 + alen as usize > len {
        return Probe::NoMatch;
    }
    let app = be32(d, 8).unwrap_or(0);
    let kind = if flags & 0x80 != 0 {
        "Request"
    } else {
        "Answer"
    };
    Probe::Match(Match::new(format!(
        "Diameter {}-{kind} (command {code}, application {app})",
        command(code)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_random_flows_rejected, check_prefixes, evidence, foreign_never_match, probe1, C, S,
    };

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const CCR: &[u8] = include_bytes!("testdata/ccr.bin");
    const CCA: &[u8] = include_bytes!("testdata/cca.bin");

    #[test]
    fn credit_control() {
        assert_eq!(
            evidence(probe1(&Diameter, TCP, C, CCR)),
            "Diameter Credit-Control-Request (command 272, application 4)"
        );
        assert_eq!(
            evidence(probe1(&Diameter, TCP, S, CCA)),
            "Diameter Credit-Control-Answer (command 272, application 4)"
        );
        check_prefixes(&Diameter, TCP, C, CCR, &[]);
        check_prefixes(&Diameter, TCP, S, CCA, CCR);
    }

    #[test]
    fn over_sctp() {
        // SCTP DATA chunk, PPID 46, carrying the CCR.
        let mut chunk = vec![0, 3];
        chunk.extend_from_slice(&((16 + CCR.len()) as u16).to_be_bytes());
        chunk.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 46]);
        chunk.extend_from_slice(CCR);
        assert!(evidence(probe1(&Diameter, Transport::Ip(132), C, &chunk))
            .starts_with("Diameter Credit-Control-Request"));
    }

    #[test]
    fn rejects_random_and_foreign() {
        assert_random_flows_rejected(&Diameter, TCP, 3868);
        foreign_never_match(&Diameter, TCP);
    }
}
