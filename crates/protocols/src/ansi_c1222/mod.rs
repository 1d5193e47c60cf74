//! ANSI C12.22 (IEEE 1703, "Protocol Specification for Interfacing to Data
//! Communication Networks", metering over IP, TCP/UDP 1153), identified
//! from its ACSE-based message.
//!
//! ANSI C12.22-2008 §6 / IEEE 1703 Annex: a C12.22 message is an ACSE
//! (ISO 8650) PDU with APPLICATION 0 tag 0x60 and a BER length covering the
//! rest, then context-tagged elements (each tag, BER length, value):
//! 0xA1 ASO context (application-context-name), 0xA2 called-AP-title,
//! 0xA3 called-AE-qualifier, 0xA4 called-AP-invocation-id, 0xA6 calling-
//! AP-title, 0xA7 calling-AE-qualifier, 0xA8 calling-AP-invocation-id,
//! 0xAC calling-authentication-value (0x8B mechanism name) and 0xBE
//! user-information (an EXTERNAL 0x28 holding the EPSEM). The user-
//! information element is mandatory. AP titles are universal OIDs (0x06)
//! or relative OIDs (0x0D / 0x80), typically under the C12.22 root
//! 2.16.124.113620.1.22.
//!
//! The probe walks every element: all tags must be ACSE element tags,
//! their lengths must fill the message exactly, and the user-information
//! element must be there. That rules out other BER APPLICATION 0 messages
//! (e.g. a GSS-API token starts 0x60 then an OID 0x06).

use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

use crate::ber;

/// ANSI C12.22.
pub struct AnsiC1222;

impl Protocol for AnsiC1222 {
    fn name(&self) -> &'static str {
        "ANSI_C1222"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp, Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[1153]
    }
    // ANSI C12.22-2008 §6: "a C12.22 message is an ACSE (ISO 8650) PDU with
    // APPLICATION 0 tag 0x60" (module doc), over TCP and UDP alike.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x60])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let tcp = match input.transport {
            Transport::Tcp => true,
            Transport::Udp => false,
            Transport::Ip(_) => return Probe::NoMatch,
        };
        let d = input.data;
        if d.first().is_some_and(|&t| t != 0x60) {
            return Probe::NoMatch;
        }
        let short = if tcp { Probe::NeedMore } else { Probe::NoMatch };
        let Some((len, l)) = ber::length(d, 1, 2).ok() else {
            return if d.len() < 4 { short } else { Probe::NoMatch };
        };
        if !(6..=65_535).contains(&len) {
            return Probe::NoMatch;
        }
        let end = 1 + l + len;
        if !tcp && d.len() != end {
            return Probe::NoMatch;
        }
        // Walk the elements present.
        let mut p = 1 + l;
        let mut called = false;
        let mut user = false;
        let mut n = 0;
        while p < end {
            let Some(&tag) = d.get(p) else {
                return short;
            };
            if !matches!(tag, 0xa1..=0xa4 | 0xa6..=0xa9 | 0xac | 0x8b | 0xbe) {
                return Probe::NoMatch;
            }
            let Some((el, ll)) = ber::length(d, p + 1, 2).ok() else {
                return if d.len() < p + 4 {
                    short
                } else {
                    Probe::NoMatch
                };
            };
            // An element's value is itself BER: its first octet is a tag
            // (OID 0x06, relative OID 0x0D / 0x80, INTEGER 0x02, EXTERNAL
            // 0x28, context tags).
            if let Some(&inner) = d.get(p + 1 + ll) {
                if el > 0
                    && tag != 0x8b
                    && !matches!(inner, 0x02 | 0x06 | 0x0d | 0x28 | 0x80..=0xbf)
                {
                    return Probe::NoMatch;
                }
            }
            called |= tag == 0xa2;
            user |= tag == 0xbe;
            n += 1;
            p += 1 + ll + el;
        }
        if p != end || !user {
            return Probe::NoMatch;
        }
        Probe::Match(Match::new(format!(
            "ANSI C12.22 ACSE message, {n} elements{} with user-information (EPSEM)",
            if called { " incl. called-AP-title" } else { "" }
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, check_prefixes, evidence,
        foreign_never_match, input, probe1, C, S,
    };

    const UDP: Transport = Transport::Udp;
    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const UDP_REQ: &[u8] = include_bytes!("testdata/udp_req.bin");
    const TCP_REQ: &[u8] = include_bytes!("testdata/tcp_req.bin");
    const TCP_RESP: &[u8] = include_bytes!("testdata/tcp_resp.bin");

    #[test]
    fn corpus_messages() {
        assert_eq!(
            evidence(probe1(&AnsiC1222, UDP, C, UDP_REQ)),
            "ANSI C12.22 ACSE message, 4 elements incl. called-AP-title with user-information (EPSEM)"
        );
        assert!(evidence(probe1(&AnsiC1222, TCP, C, TCP_REQ)).starts_with("ANSI C12.22"));
        assert!(evidence(probe1(&AnsiC1222, TCP, S, TCP_RESP)).starts_with("ANSI C12.22"));
        check_prefixes(&AnsiC1222, TCP, C, TCP_REQ, b"");
        check_prefixes(&AnsiC1222, TCP, S, TCP_RESP, b"");
        // Cut datagram.
        assert_eq!(
            probe1(&AnsiC1222, UDP, C, &UDP_REQ[..UDP_REQ.len() - 1]),
            Probe::NoMatch
        );
    }

    #[test]
    fn first_bytes_declared() {
        for (t, dir, d) in [(UDP, C, UDP_REQ), (TCP, C, TCP_REQ), (TCP, S, TCP_RESP)] {
            crate::testkit::first_bytes_hold(&AnsiC1222, &input(t, dir, d, &[], 0));
        }
    }

    #[test]
    fn foreign_and_random() {
        foreign_never_match(&AnsiC1222, TCP);
        assert_foreign_rejected(&AnsiC1222, "c1222");
        assert_random_flows_rejected(&AnsiC1222, UDP, 1153);
        assert_random_flows_rejected(&AnsiC1222, TCP, 1153);
    }
}
