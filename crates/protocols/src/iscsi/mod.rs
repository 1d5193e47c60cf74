//! iSCSI (RFC 7143, "Internet Small Computer System Interface (iSCSI)
//! Protocol (Consolidated)").
//!
//! Every PDU starts with a 48-byte Basic Header Segment (§11.2): byte 0 is
//! `.|I|opcode` (bit 7 reserved 0, I = immediate delivery), byte 4
//! TotalAHSLength, bytes 5-7 DataSegmentLength. The connection starts with
//! the initiator's Login Request (opcode 0x03, always immediate: 0x43,
//! §11.12): `T|C|rsvd|CSG|NSG` flags (stage 2 is reserved), Version-max
//! and Version-min (0x00), ISID, TSIH, ITT, CID, CmdSN, ExpStatSN and 16
//! reserved zero bytes, then text `key=value\0` pairs
//! (`InitiatorName=iqn...`, `SessionType=Discovery`, `AuthMethod=None`).
//! The target answers with a Login Response (0x23, §11.13: Version-max,
//! Version-active, status class/detail) and the same kind of text.
//! Discovery sessions then use Text Request (0x04, `SendTargets=All`)
//! and Text Response (0x24). These PDUs with their key=value data are
//! recognised; SCSI command traffic mid-session is not.

use netsift_proto::bytes::{be24, u8_at};
use netsift_proto::{printable, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// iSCSI.
pub struct Iscsi;

const BHS: usize = 48;

impl Protocol for Iscsi {
    fn name(&self) -> &'static str {
        "iSCSI"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[3260]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let Some(&b0) = d.first() else {
            return Probe::NeedMore;
        };
        if b0 & 0x80 != 0 {
            return Probe::NoMatch;
        }
        let (what, login) = match b0 & 0x3f {
            0x03 => ("Login request", true),
            0x23 => ("Login response", true),
            0x04 => ("Text request", false),
            0x24 => ("Text response", false),
            _ => return Probe::NoMatch,
        };
        // Login requests are always immediate (§11.12); responses never are.
        if (b0 == 0x03) || (b0 & 0x20 != 0 && b0 & 0x40 != 0) {
            return Probe::NoMatch;
        }
        let Some(flags) = u8_at(d, 1) else {
            return Probe::NeedMore;
        };
        if login {
            // T|C|0|0|CSG|NSG; stage 2 reserved; T and C not both set.
            let (csg, nsg) = ((flags >> 2) & 3, flags & 3);
            if flags & 0x30 != 0 || csg == 2 || nsg == 2 || flags & 0xc0 == 0xc0 {
                return Probe::NoMatch;
            }
        } else if flags & 0x3f != 0 {
            return Probe::NoMatch;
        }
        let Some(hdr) = d.get(..BHS) else {
            return Probe::NeedMore;
        };
        // Version bytes (login) are 0; TotalAHSLength 0; reserved tail.
        let versions_ok = !login || (hdr.get(2) == Some(&0) && hdr.get(3) == Some(&0));
        let tail_zero = hdr.get(32..48).is_some_and(|t| t.iter().all(|&b| b == 0));
        // Responses use bytes 36-37 for status class/detail.
        let resp_tail = b0 & 0x20 != 0
            && hdr.get(38..48).is_some_and(|t| t.iter().all(|&b| b == 0))
            && hdr.get(36).is_some_and(|&c| c <= 3);
        let dsl = be24(d, 5).unwrap_or(0) as usize;
        if !versions_ok
            || u8_at(d, 4) != Some(0)
            || !(tail_zero || resp_tail)
            || dsl == 0
            || dsl > 16 << 20
        {
            return Probe::NoMatch;
        }
        // The data segment: key=value text.
        let data = d.get(BHS..).unwrap_or(&[]);
        let data = data.get(..data.len().min(dsl)).unwrap_or(&[]);
        let first = data.split(|&b| b == 0).next().unwrap_or(&[]);
        let eq = first.iter().position(|&b| b == b'=');
        let key_ok = |k: &[u8]| {
            !k.is_empty()
                && k.first().is_some_and(u8::is_ascii_uppercase)
                && k.iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        };
        match eq {
            Some(i) if key_ok(first.get(..i).unwrap_or(&[])) => {}
            None if data.len() == first.len() && data.len() < dsl.min(64) => {
                return if first.iter().all(u8::is_ascii_alphanumeric) {
                    Probe::NeedMore
                } else {
                    Probe::NoMatch
                }
            }
            _ => return Probe::NoMatch,
        }
        if !first.iter().all(|&b| (0x20..0x7f).contains(&b)) {
            return Probe::NoMatch;
        }
        Probe::Match(Match::new(format!(
            "iSCSI {what}, '{}'",
            printable(first, 64)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_random_flows_rejected, check_prefixes, evidence, foreign_never_match, probe1, C, S,
    };

    const TCP: Transport = Transport::Tcp;

    /// A Login Request BHS (RFC 7143 §11.12) with its text data.
    fn login_request() -> Vec<u8> {
        let text = b"InitiatorName=iqn.1993-08.org.debian:01:abc\0SessionType=Discovery\0AuthMethod=None\0";
        let mut p = vec![0x43, 0x87, 0x00, 0x00]; // I|Login, T, CSG 1, NSG 3, versions 0
        p.push(0); // TotalAHSLength
        p.extend_from_slice(&(text.len() as u32).to_be_bytes()[1..]); // DataSegmentLength
        p.extend_from_slice(&[0x00, 0x02, 0x3d, 0x00, 0x00, 0x00]); // ISID
        p.extend_from_slice(&[0, 0]); // TSIH
        p.extend_from_slice(&[0, 0, 0, 0]); // ITT
        p.extend_from_slice(&[0, 0]); // CID
        p.extend_from_slice(&[0, 0]); // reserved
        p.extend_from_slice(&[0, 0, 0, 1]); // CmdSN
        p.extend_from_slice(&[0, 0, 0, 0]); // ExpStatSN
        p.extend_from_slice(&[0; 16]); // reserved
        assert_eq!(p.len(), 48);
        p.extend_from_slice(text);
        p.extend_from_slice(&[0; 3]); // pad to 4
        p
    }

    /// A Login Response (§11.13): status class 0, with text.
    fn login_response() -> Vec<u8> {
        let text = b"TargetPortalGroupTag=1\0AuthMethod=None\0";
        let mut p = vec![0x23, 0x87, 0x00, 0x00, 0];
        p.extend_from_slice(&(text.len() as u32).to_be_bytes()[1..]);
        p.extend_from_slice(&[0x00, 0x02, 0x3d, 0x00, 0x00, 0x00]); // ISID
        p.extend_from_slice(&[0, 1]); // TSIH
        p.extend_from_slice(&[0; 4]); // ITT
        p.extend_from_slice(&[0; 4]); // reserved
        p.extend_from_slice(&[0, 0, 0, 1]); // StatSN
        p.extend_from_slice(&[0, 0, 0, 1]); // ExpCmdSN
        p.extend_from_slice(&[0, 0, 0, 1]); // MaxCmdSN
        p.extend_from_slice(&[0, 0]); // status class, detail
        p.extend_from_slice(&[0; 10]); // reserved
        assert_eq!(p.len(), 48);
        p.extend_from_slice(text);
        p
    }

    #[test]
    fn login_and_discovery() {
        assert_eq!(
            evidence(probe1(&Iscsi, TCP, C, &login_request())),
            "iSCSI Login request, 'InitiatorName=iqn.1993-08.org.debian:01:abc'"
        );
        assert_eq!(
            evidence(probe1(&Iscsi, TCP, S, &login_response())),
            "iSCSI Login response, 'TargetPortalGroupTag=1'"
        );
        // Text request SendTargets=All (opcode 0x04, immediate, F bit).
        let mut t = login_request();
        t[0] = 0x44;
        t[1] = 0x80;
        let text = b"SendTargets=All\0";
        t[5..8].copy_from_slice(&(text.len() as u32).to_be_bytes()[1..]);
        t.truncate(48);
        t.extend_from_slice(text);
        assert_eq!(
            evidence(probe1(&Iscsi, TCP, C, &t)),
            "iSCSI Text request, 'SendTargets=All'"
        );
        for (d, dir) in [(login_request(), C), (login_response(), S), (t, C)] {
            check_prefixes(&Iscsi, TCP, dir, &d, b"");
        }
    }

    #[test]
    fn bad_fields() {
        let mut b = login_request();
        b[2] = 1; // Version-max
        assert_eq!(probe1(&Iscsi, TCP, C, &b), Probe::NoMatch);
        let mut b = login_request();
        b[1] = 0x8a; // NSG 2 is reserved
        assert_eq!(probe1(&Iscsi, TCP, C, &b), Probe::NoMatch);
        let mut b = login_request();
        b[48] = b'#';
        assert_eq!(probe1(&Iscsi, TCP, C, &b), Probe::NoMatch);
    }

    #[test]
    fn random_foreign() {
        assert_random_flows_rejected(&Iscsi, TCP, 3260);
        foreign_never_match(&Iscsi, TCP);
    }
}
