//! H.323 call signalling and control (ITU-T H.225.0, H.245), over TCP and
//! UDP.
//!
//! * TCP (call signalling, usually 1720, and H.245 control on a negotiated
//!   port): every message is framed by TPKT (RFC 1006 §6: version 3,
//!   reserved 0, a 16-bit length that includes the 4-octet header).
//!   - H.225.0 call signalling carries Q.931 messages (ITU-T Q.931 §4):
//!     protocol discriminator 0x08, a call reference length of 0..=2 (H.225.0
//!     uses 2) and the call reference, then a message type (SETUP 0x05,
//!     CALL PROCEEDING 0x02, ALERTING 0x01, CONNECT 0x07, RELEASE COMPLETE
//!     0x5a, FACILITY 0x62, ...).
//!   - H.245 messages are PER-encoded without a fixed first octet; the
//!     first one each side sends (TerminalCapabilitySet, H.245 §8.2) carries
//!     the H.245 protocol identifier `{itu-t(0) recommendation(0) h(8)
//!     245 version(0) n}`, whose BER/PER contents are `00 08 81 75 00 n`.
//! * UDP (RAS, 1719): PER-encoded RasMessage. The discovery and
//!   registration messages (GRQ/GCF/GRJ, RRQ/RCF/RRJ) start with a
//!   sequence number and the H.225.0 protocol identifier `{0 0 8 2250 0
//!   n}`, contents `00 08 91 4a 00 n` after a length octet 6.
//!
//! A TPKT header followed by a COTP TPDU (X.224: RDP, ISO-TSAP, S7comm) is
//! not H.323: byte 4 is then a length indicator followed by a TPDU code,
//! never a Q.931 discriminator with a call reference length of 0..=2.

use netsift_proto::bytes::{be16, u8_at};
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// H323.
pub struct H323;

/// `length 6, 0.0.8.2250.0` (H.225.0 protocol identifier, version follows).
const H225_OID: &[u8] = &[0x06, 0x00, 0x08, 0x91, 0x4a, 0x00];
/// `length 6, 0.0.8.245.0` (H.245 protocol identifier, version follows).
const H245_OID: &[u8] = &[0x06, 0x00, 0x08, 0x81, 0x75, 0x00];

/// Q.931 §4.4 / Table 4-2 message types used by H.225.0 (§7.4).
fn q931_type(t: u8) -> Option<&'static str> {
    Some(match t {
        0x01 => "ALERTING",
        0x02 => "CALL PROCEEDING",
        0x03 => "PROGRESS",
        0x05 => "SETUP",
        0x07 => "CONNECT",
        0x0d => "SETUP ACKNOWLEDGE",
        0x0f => "CONNECT ACKNOWLEDGE",
        0x20 => "USER INFORMATION",
        0x45 => "DISCONNECT",
        0x4d => "RELEASE",
        0x5a => "RELEASE COMPLETE",
        0x62 => "FACILITY",
        0x6e => "NOTIFY",
        0x75 => "STATUS ENQUIRY",
        0x7b => "INFORMATION",
        0x7d => "STATUS",
        _ => return None,
    })
}

impl Protocol for H323 {
    fn name(&self) -> &'static str {
        "H323"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp, Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[1720, 1719]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        match input.transport {
            Transport::Tcp => tcp(input.data),
            Transport::Udp => ras(input.data),
            Transport::Ip(_) => Probe::NoMatch,
        }
    }
}

/// The position of `needle` within the first `within` octets of `d`.
fn find(d: &[u8], needle: &[u8], within: usize) -> Option<usize> {
    let w = d.get(..d.len().min(within + needle.len()))?;
    w.windows(needle.len()).position(|x| x == needle)
}

fn tcp(d: &[u8]) -> Probe {
    // RFC 1006 §6: version 3, reserved 0.
    match (d.first(), d.get(1)) {
        (None, _) => return Probe::NeedMore,
        (Some(3), None) | (Some(3), Some(0)) => {}
        _ => return Probe::NoMatch,
    }
    // The TPKT length counts the 4-octet header too.
    let Some(len) = be16(d, 2) else {
        return Probe::NeedMore;
    };
    let len = usize::from(len);
    // A Q.931 message needs at least discriminator, CRL, type (7 octets
    // with the header); H.245 at least one octet.
    if len < 5 {
        return Probe::NoMatch;
    }
    let Some(b4) = u8_at(d, 4) else {
        return Probe::NeedMore;
    };
    if b4 == 0x08 {
        // Q.931: discriminator, call reference length, call reference,
        // message type.
        let Some(crl) = u8_at(d, 5) else {
            return Probe::NeedMore;
        };
        if crl > 2 || len < 7 + usize::from(crl) {
            return Probe::NoMatch;
        }
        let Some(mt) = u8_at(d, 6 + usize::from(crl)) else {
            return Probe::NeedMore;
        };
        let Some(name) = q931_type(mt) else {
            return Probe::NoMatch;
        };
        let call = match crl {
            2 => be16(d, 6).map(|c| c & 0x7fff),
            1 => u8_at(d, 6).map(|c| u16::from(c & 0x7f)),
            _ => Some(0),
        }
        .unwrap_or(0);
        // The User-user IE (0x7e) of H.225.0 messages carries the
        // H323-UserInformation with the H.225.0 protocol identifier.
        let body = d.get(..len.min(d.len())).unwrap_or(d);
        let h225 = match find(body, H225_OID, 96) {
            Some(i) => match u8_at(body, i + H225_OID.len()) {
                Some(v) => format!(", H.225.0 version {v}"),
                None => String::new(),
            },
            None => String::new(),
        };
        return Probe::Match(Match::new(format!(
            "TPKT + Q.931 {name}, call reference {call}{h225}"
        )));
    }
    // H.245: the protocol identifier within the first message.
    let body_end = len.min(d.len());
    let body = d.get(4..body_end).unwrap_or(&[]);
    if let Some(i) = find(body, H245_OID, 24) {
        let v = u8_at(body, i + H245_OID.len()).unwrap_or(0);
        return Probe::Match(Match::new(format!(
            "TPKT + H.245 message with protocol identifier 0.0.8.245.0.{v}"
        )));
    }
    if d.len() < len && body.len() < 24 + H245_OID.len() {
        return Probe::NeedMore;
    }
    Probe::NoMatch
}

/// RAS (H.225.0 §7.7): choice octet, 16-bit requestSeqNum, then the
/// protocol identifier (GRQ/GCF/GRJ/RRQ/RCF/RRJ and others). Some
/// choices have an extension bit and an optional-field bitmap first, so
/// the identifier is looked for in octets 3..=6.
fn ras(d: &[u8]) -> Probe {
    let Some(i) = find(d, H225_OID, 4) else {
        return Probe::NoMatch;
    };
    if i < 3 {
        return Probe::NoMatch;
    }
    let Some(v) = u8_at(d, i + H225_OID.len()) else {
        return Probe::NoMatch;
    };
    // Versions 1..=9 exist (H.225.0 v1 1996 to v7 2009).
    if !(1..=9).contains(&v) {
        return Probe::NoMatch;
    }
    let kind = match d.first().map(|b| b >> 2) {
        Some(0) => "GatekeeperRequest",
        Some(1) => "GatekeeperConfirm",
        Some(2) => "GatekeeperReject",
        Some(3) => "RegistrationRequest",
        Some(4) => "RegistrationConfirm",
        Some(5) => "RegistrationReject",
        _ => "message",
    };
    Probe::Match(Match::new(format!(
        "H.225.0 RAS {kind} with protocol identifier 0.0.8.2250.0.{v}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const TCP: Transport = Transport::Tcp;
    const UDP: Transport = Transport::Udp;
    // Sources: testdata/README.md.
    const SETUP: &[u8] = include_bytes!("testdata/setup.bin");
    const PROC: &[u8] = include_bytes!("testdata/call_proceeding.bin");
    const TCS: &[u8] = include_bytes!("testdata/h245_tcs.bin");
    const TCS_SRV: &[u8] = include_bytes!("testdata/h245_tcs_srv.bin");
    const GRQ: &[u8] = include_bytes!("testdata/ras_grq.bin");
    const GCF: &[u8] = include_bytes!("testdata/ras_gcf.bin");
    const RRQ: &[u8] = include_bytes!("testdata/ras_rrq.bin");

    #[test]
    fn call_signalling() {
        assert_eq!(
            evidence(probe1(&H323, TCP, C, SETUP)),
            "TPKT + Q.931 SETUP, call reference 30708, H.225.0 version 4"
        );
        assert!(evidence(probe1(&H323, TCP, S, PROC)).starts_with("TPKT + Q.931 CALL PROCEEDING"));
    }

    #[test]
    fn h245() {
        assert_eq!(
            evidence(probe1(&H323, TCP, C, TCS)),
            "TPKT + H.245 message with protocol identifier 0.0.8.245.0.7"
        );
        assert!(is_match(&probe1(&H323, TCP, S, TCS_SRV)));
        // A TPKT message without the identifier is not claimed.
        assert_eq!(
            probe1(
                &H323,
                TCP,
                C,
                &[3, 0, 0, 0x0b, 1, 0, 0, 0x80, 0x92, 0x4f, 0xd5]
            ),
            Probe::NoMatch
        );
    }

    #[test]
    fn ras_messages() {
        assert_eq!(
            evidence(probe1(&H323, UDP, C, GRQ)),
            "H.225.0 RAS GatekeeperRequest with protocol identifier 0.0.8.2250.0.4"
        );
        assert!(is_match(&probe1(&H323, UDP, S, GCF)));
        assert!(evidence(probe1(&H323, UDP, C, RRQ)).contains("RegistrationRequest"));
    }

    #[test]
    fn cotp_is_not_h323() {
        // RDP X.224 Connection Request and an S7comm COTP DT TPDU.
        let rdp = b"\x03\x00\x00\x13\x0e\xe0\x00\x00\x00\x00\x00\x01\x00\x08\x00\x03\x00\x00\x00";
        assert_eq!(probe1(&H323, TCP, C, rdp), Probe::NoMatch);
        let s7 = b"\x03\x00\x00\x19\x02\xf0\x80\x32\x01\x00\x00\x00\x00\x00\x08\x00\x00\xf0\x00\x00\x01\x00\x01\x01\xe0";
        assert_eq!(probe1(&H323, TCP, C, s7), Probe::NoMatch);
    }

    #[test]
    fn prefixes_random_foreign() {
        check_prefixes(&H323, TCP, C, SETUP, b"");
        check_prefixes(&H323, TCP, C, TCS, b"");
        check_prefixes(&H323, UDP, C, GRQ, b"");
        assert_random_flows_rejected(&H323, TCP, 1720);
        assert_random_flows_rejected(&H323, UDP, 1719);
        foreign_never_match(&H323, TCP);
        assert_foreign_rejected(&H323, "h323");
    }
}
