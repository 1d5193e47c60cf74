//! MMS (Manufacturing Message Specification, ISO 9506-1/-2), identified
//! over the ISO stack on TCP: RFC 1006 TPKT, ISO 8073 class 0 DT, ISO 8327-1
//! session SPDU, ISO 8823-1 presentation PPDU, ISO 8650 ACSE, MMS PDU (the
//! IEC 61850 / ICCP (TASE.2) profile, TCP 102).
//!
//! Connection set-up (ISO 8327-1 §8.3): the first DT carries a session
//! CONNECT SPDU (SI 13 = 0x0D) from the client, ACCEPT (SI 14 = 0x0E) from
//! the server, whose user data is a presentation CP / CPA PPDU listing the
//! MMS abstract syntax `{iso standard 9506 part(2) mms-abstract-syntax-
//! version1(1)}` = 1.0.9506.2.1 (BER 28 CA 22 02 01) and an ACSE AARQ/AARE
//! whose application context is 1.0.9506.2.3; the MMS initiate-RequestPDU
//! ([8], 0xA8) / initiate-ResponsePDU ([9], 0xA9) is the ACSE user data.
//!
//! Data transfer (ISO 8327-1 §8.3.23, §8.3.11): GIVE-TOKENS (SI 1, length
//! 0) + DATA TRANSFER (SI 1, length 0), i.e. 01 00 01 00, then the
//! presentation fully-encoded-data user data ([APPLICATION 1] 0x61, PDV-list
//! SEQUENCE 0x30, presentation-context-identifier INTEGER 02 01 xx,
//! single-ASN1-type [0] 0xA0) and the MMS PDU (ISO 9506-2 §7: confirmed-
//! RequestPDU [0], confirmed-ResponsePDU [1], confirmed-ErrorPDU [2],
//! unconfirmed-PDU [3], rejectPDU [4], cancel-* [5]-[7], initiate-* [8]-
//! [10], conclude-* [11]-[13]). A capture that starts mid-session is picked
//! up from this.
//!
//! The TPKT/COTP walk is shared with S7Comm (`s7comm::cotp`), which claims
//! only protocol id 0x32 after COTP, S7CommPlus only 0x72.

use crate::s7comm::cotp::{first_dt, Tsdu};
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

use crate::ber;

/// ISO 9506-1 MMS.
pub struct Mms;

/// BER of 1.0.9506.2 (`iso standard 9506 part 2`), the MMS arc.
const MMS_ARC: &[u8] = &[0x28, 0xca, 0x22, 0x02];

/// The connect PPDU is searched for the MMS arc within this many bytes.
const CONNECT_WINDOW: usize = 512;

impl Protocol for Mms {
    fn name(&self) -> &'static str {
        "ISO9506-1-MMS"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[102]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let (u, complete) = match first_dt(input.data) {
            Tsdu::Bad => return Probe::NoMatch,
            Tsdu::Short => return Probe::NeedMore,
            Tsdu::Data { user, complete, .. } => (user, complete),
        };
        let Some(&si) = u.first() else {
            return Probe::NeedMore;
        };
        match si {
            0x0d | 0x0e => connect(si, u, complete),
            0x01 => data_transfer(u),
            _ => Probe::NoMatch,
        }
    }
}

/// CONNECT / ACCEPT SPDU carrying the MMS abstract syntax.
fn connect(si: u8, u: &[u8], complete: bool) -> Probe {
    // SPDU length: one octet, or 0xFF and two octets (ISO 8327-1 §8.2.5).
    let win = &u[..u.len().min(CONNECT_WINDOW)];
    let found = win.windows(MMS_ARC.len()).position(|w| w == MMS_ARC);
    let Some(at) = found else {
        return if complete || u.len() >= CONNECT_WINDOW {
            Probe::NoMatch
        } else {
            Probe::NeedMore
        };
    };
    let what = if si == 0x0d {
        "session CONNECT with MMS initiate-RequestPDU"
    } else {
        "session ACCEPT with MMS initiate-ResponsePDU"
    };
    // The PDU itself (0xA8 / 0xA9) follows the arc in the ACSE user data.
    let want = if si == 0x0d { 0xa8 } else { 0xa9 };
    let has_pdu = u.get(at..).is_some_and(|r| r.contains(&want));
    Probe::Match(Match::new(if has_pdu {
        what.to_string()
    } else {
        format!("{what} (MMS abstract syntax 1.0.9506.2 in the presentation context)")
    }))
}

/// GIVE-TOKENS + DATA TRANSFER SPDUs, fully-encoded presentation data,
/// MMS PDU.
fn data_transfer(u: &[u8]) -> Probe {
    const HEAD: [u8; 5] = [0x01, 0x00, 0x01, 0x00, 0x61];
    let n = u.len().min(HEAD.len());
    if u[..n] != HEAD[..n] {
        return Probe::NoMatch;
    }
    // Walk: 61 L 30 L 02 01 ctx A0 L <mms tag>.
    let Some((_, l1)) = ber::length(u, 5, 2).ok() else {
        return need_or_no(u, 6);
    };
    let p = 5 + l1;
    if u.get(p).is_some_and(|&t| t != 0x30) {
        return Probe::NoMatch;
    }
    let Some((_, l2)) = ber::length(u, p + 1, 2).ok() else {
        return need_or_no(u, p + 2);
    };
    let p = p + 1 + l2;
    let ctx = u.get(p..p + 3);
    if ctx.is_some_and(|c| c[0] != 0x02 || c[1] != 0x01 || c[2] & 1 == 0) {
        // Presentation context identifiers are odd (ISO 8823-1 §8.2).
        return Probe::NoMatch;
    }
    let p = p + 3;
    if u.get(p).is_some_and(|&t| t != 0xa0) {
        return Probe::NoMatch;
    }
    let Some((_, l3)) = ber::length(u, p + 1, 2).ok() else {
        return need_or_no(u, p + 2);
    };
    let p = p + 1 + l3;
    let Some(&tag) = u.get(p) else {
        return Probe::NeedMore;
    };
    let name = match tag {
        0xa0 => "confirmed-RequestPDU",
        0xa1 => "confirmed-ResponsePDU",
        0xa2 => "confirmed-ErrorPDU",
        0xa3 => "unconfirmed-PDU",
        0xa4 => "rejectPDU",
        0x85 | 0x86 | 0xa7 => "cancel PDU",
        0xa8 => "initiate-RequestPDU",
        0xa9 => "initiate-ResponsePDU",
        0xaa => "initiate-ErrorPDU",
        0x8b => "conclude-RequestPDU",
        0x8c => "conclude-ResponsePDU",
        0xad => "conclude-ErrorPDU",
        _ => return Probe::NoMatch,
    };
    // Confirmed PDUs: [0]/[1] L, invokeID INTEGER (02 len value), then the
    // service choice tag.
    let service = if matches!(tag, 0xa0 | 0xa1) {
        ber::length(u, p + 1, 2).ok().and_then(|(_, l)| {
            let q = p + 1 + l;
            if *u.get(q)? != 0x02 {
                return None;
            }
            let il = usize::from(*u.get(q + 1)?);
            service_name(*u.get(q + 2 + il)?)
        })
    } else {
        None
    };
    Probe::Match(Match::new(match service {
        Some(s) => format!("MMS {name} {s}"),
        None => format!("MMS {name}"),
    }))
}

fn need_or_no(u: &[u8], need: usize) -> Probe {
    if u.len() < need {
        Probe::NeedMore
    } else {
        Probe::NoMatch
    }
}

/// ConfirmedServiceRequest / Response choice tags (ISO 9506-2 §7.4).
fn service_name(tag: u8) -> Option<&'static str> {
    Some(match tag {
        0x80 => "status",
        0xa1 => "getNameList",
        0x82 | 0xa2 => "identify",
        0xa4 => "read",
        0xa5 => "write",
        0xa6 => "getVariableAccessAttributes",
        0xab => "defineNamedVariableList",
        0xac => "getNamedVariableListAttributes",
        0xad => "deleteNamedVariableList",
        0xbf => "file service",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_random_flows_rejected, check_prefixes, evidence, foreign_never_match, probe1, C, S,
    };

    const TCP: Transport = Transport::Tcp;

    fn dt(user: &[u8]) -> Vec<u8> {
        let mut v = vec![3, 0, 0, (7 + user.len()) as u8, 2, 0xf0, 0x80];
        v.extend_from_slice(user);
        v
    }

    /// A confirmed read request mid-session, built from ISO 8327-1 / 8823-1
    /// / 9506-2: 01 00 01 00 (GIVE-TOKENS, DT SPDUs), 61 L (fully-encoded
    /// data), 30 L (PDV-list), 02 01 03 (context 3), a0 L (single-ASN1-
    /// type), a0 L (confirmed-RequestPDU), 02 01 07 (invokeID 7), a4 L
    /// (read) with an empty variable access specification.
    fn read_request() -> Vec<u8> {
        let mms = [0xa0, 0x07, 0x02, 0x01, 0x07, 0xa4, 0x02, 0xa1, 0x00];
        let mut pdv = vec![0x02, 0x01, 0x03, 0xa0, mms.len() as u8];
        pdv.extend_from_slice(&mms);
        let mut fe = vec![0x30, pdv.len() as u8];
        fe.extend_from_slice(&pdv);
        let mut u = vec![0x01, 0x00, 0x01, 0x00, 0x61, fe.len() as u8];
        u.extend_from_slice(&fe);
        dt(&u)
    }

    // Sources: testdata/README.md.
    const CR: &[u8] = include_bytes!("testdata/cr.bin");
    const CONNECT: &[u8] = include_bytes!("testdata/connect.bin");
    const ACCEPT: &[u8] = include_bytes!("testdata/accept.bin");
    const ID_REQ: &[u8] = include_bytes!("testdata/identify_req.bin");
    const ID_RESP: &[u8] = include_bytes!("testdata/identify_resp.bin");

    #[test]
    fn libiec61850_association() {
        let c = [CR, CONNECT, ID_REQ].concat();
        assert_eq!(
            evidence(probe1(&Mms, TCP, C, &c)),
            "session CONNECT with MMS initiate-RequestPDU"
        );
        assert_eq!(
            evidence(probe1(&Mms, TCP, S, ACCEPT)),
            "session ACCEPT with MMS initiate-ResponsePDU"
        );
        // The CR alone waits for the data.
        assert_eq!(probe1(&Mms, TCP, C, CR), Probe::NeedMore);
        check_prefixes(&Mms, TCP, C, &c, b"");
        // S7Comm and S7CommPlus do not claim it.
        let s7 = &crate::s7comm::S7comm;
        assert!(!crate::testkit::is_match(&probe1(s7, TCP, C, &c)));
        let s7p = &crate::s7commplus::S7commPlus;
        assert!(!crate::testkit::is_match(&probe1(s7p, TCP, C, &c)));
    }

    #[test]
    fn libiec61850_mid_session() {
        assert_eq!(
            evidence(probe1(&Mms, TCP, C, ID_REQ)),
            "MMS confirmed-RequestPDU identify"
        );
        assert_eq!(
            evidence(probe1(&Mms, TCP, S, ID_RESP)),
            "MMS confirmed-ResponsePDU identify"
        );
        check_prefixes(&Mms, TCP, S, ID_RESP, b"");
    }

    #[test]
    fn mid_session_read() {
        let r = read_request();
        assert_eq!(
            evidence(probe1(&Mms, TCP, C, &r)),
            "MMS confirmed-RequestPDU read"
        );
        check_prefixes(&Mms, TCP, C, &r, b"");
        // S7Comm after the same COTP is not MMS.
        let s7 = include_bytes!("../s7comm/testdata/job_setup.bin");
        assert_eq!(probe1(&Mms, TCP, C, s7), Probe::NoMatch);
    }

    #[test]
    fn connect_with_mms_abstract_syntax() {
        // Session CONNECT 0d L, connect-accept item 05 06 13 01 00 16 01 02,
        // session user data c1 L, presentation CP-type 31 L ... with the
        // abstract syntax OID 06 05 28 ca 22 02 01, then an AARQ whose user
        // data holds a8 (initiate-RequestPDU).
        let mut u = vec![0x0d, 0x30, 0x05, 0x06, 0x13, 0x01, 0x00, 0x16, 0x01, 0x02];
        u.extend_from_slice(&[0xc1, 0x24, 0x31, 0x22, 0x30, 0x0f, 0x02, 0x01, 0x03]);
        u.extend_from_slice(&[0x06, 0x05, 0x28, 0xca, 0x22, 0x02, 0x01]);
        u.extend_from_slice(&[0x60, 0x08, 0xbe, 0x06, 0x28, 0x04, 0xa8, 0x02, 0x80, 0x01]);
        let c = dt(&u);
        assert_eq!(
            evidence(probe1(&Mms, TCP, C, &c)),
            "session CONNECT with MMS initiate-RequestPDU"
        );
        check_prefixes(&Mms, TCP, C, &c, b"");
        let mut a = u.clone();
        a[0] = 0x0e;
        let n = a.len();
        a[n - 4] = 0xa9;
        assert_eq!(
            evidence(probe1(&Mms, TCP, S, &dt(&a))),
            "session ACCEPT with MMS initiate-ResponsePDU"
        );
        // A CONNECT without the MMS arc is another OSI application.
        let mut x = u.clone();
        x[22] = 0x99;
        assert_eq!(probe1(&Mms, TCP, C, &dt(&x)), Probe::NoMatch);
    }

    #[test]
    fn foreign_and_random() {
        foreign_never_match(&Mms, TCP);
        assert_random_flows_rejected(&Mms, TCP, 102);
    }
}
