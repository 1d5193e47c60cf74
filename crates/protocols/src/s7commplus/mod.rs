//! S7CommPlus (Siemens S7-1200/1500 communication), identified from the
//! PDU carried in the first ISO 8073 DT TPDU over RFC 1006 TPKT (TCP 102).
//! Observed protocol: no published specification; the framing below is the
//! one documented by the Wireshark S7CommPlus dissector project and in
//! "The Spear to Break the Security Wall of S7CommPlus" (Black Hat USA
//! 2017).
//!
//! Frame: protocol id 0x72; protocol version (0x01 V1, 0x02 V2, 0x03 V3,
//! 0xFE system events / keep-alive); data length (16 bits, big endian, the
//! bytes after this 4-byte header up to the trailer); data; trailer of 4
//! bytes: 0x72, the same version, 00 00. In V1 the data starts with the
//! opcode (0x31 request, 0x32 response, 0x33 notification, 0x02
//! response2), two reserved bytes and the 16-bit function code; V2/V3 put
//! an integrity part (digest length 0x20 and a 32-byte digest in V3) first.
//!
//! The TPKT/COTP walk is shared with S7Comm (see `s7comm::cotp`); S7Comm
//! claims protocol id 0x32, this probe only 0x72.

use crate::s7comm::cotp::{first_dt, Tsdu};
use netsift_proto::bytes::be16;
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// S7CommPlus.
pub struct S7commPlus;

impl Protocol for S7commPlus {
    fn name(&self) -> &'static str {
        "S7CommPlus"
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
        let (user, complete) = match first_dt(input.data) {
            Tsdu::Bad => return Probe::NoMatch,
            Tsdu::Short => return Probe::NeedMore,
            Tsdu::Data { user, complete, .. } => (user, complete),
        };
        if user.first().is_some_and(|&p| p != 0x72) {
            return Probe::NoMatch;
        }
        let ver = match user.get(1) {
            None => return Probe::NeedMore,
            Some(&v @ (1 | 2 | 3 | 0xfe)) => v,
            Some(_) => return Probe::NoMatch,
        };
        let Some(len) = be16(user, 2).map(usize::from) else {
            return Probe::NeedMore;
        };
        if len == 0 {
            return Probe::NoMatch;
        }
        // The whole frame in this DT: header + data + trailer. A longer
        // frame is fragmented over several DTs; its first fragment fills
        // the DT.
        let whole = 4 + len + 4;
        if complete && user.len() > whole {
            return Probe::NoMatch;
        }
        if user.len() < whole {
            if !complete {
                return Probe::NeedMore;
            }
            // First fragment of a long frame: the opcode must still fit.
            if ver != 1 || user.len() < 9 {
                return Probe::NoMatch;
            }
        } else if user.get(4 + len..whole) != Some(&[0x72, ver, 0, 0][..]) {
            return Probe::NoMatch;
        }
        let vname = match ver {
            1 => "V1",
            2 => "V2",
            3 => "V3",
            _ => "system event",
        };
        if ver != 1 {
            return Probe::Match(Match::new(format!(
                "S7CommPlus {vname} frame of {len} bytes with its 0x72 trailer"
            )));
        }
        let op = match user.get(4) {
            Some(0x31) => "Request",
            Some(0x32) => "Response",
            Some(0x33) => "Notification",
            Some(0x02) => "Response2",
            _ => return Probe::NoMatch,
        };
        let f = be16(user, 7).unwrap_or(0);
        Probe::Match(Match::new(format!(
            "S7CommPlus {vname} {op}: {}",
            function_name(f)
        )))
    }
}

fn function_name(f: u16) -> String {
    let n = match f {
        0x04bb => "Explore",
        0x04ca => "CreateObject",
        0x04d4 => "DeleteObject",
        0x04f2 => "SetVariable",
        0x04fc => "GetVariable",
        0x0524 => "GetLink",
        0x0542 => "SetMultiVariables",
        0x054c => "GetMultiVariables",
        0x0556 => "BeginSequence",
        0x0560 => "EndSequence",
        0x056b => "Invoke",
        0x0586 => "GetVarSubStreamed",
        _ => return format!("function 0x{f:04x}"),
    };
    n.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_random_flows_rejected, check_prefixes, evidence, foreign_never_match, probe1, C, S,
    };

    const TCP: Transport = Transport::Tcp;

    /// A V1 CreateObject request built from the layout above: TPKT (03 00
    /// length), COTP DT (02 f0 80), 72 01 length 0x000c, opcode 0x31,
    /// reserved 0000, function 0x04ca, sequence 0x0001, session id
    /// 0x00000120, then 1 byte of body; trailer 72 01 00 00.
    fn create_object() -> Vec<u8> {
        let body = [0x31, 0, 0, 0x04, 0xca, 0, 1, 0, 0, 1, 0x20, 0x00];
        let mut s7p = vec![0x72, 0x01, 0, body.len() as u8];
        s7p.extend_from_slice(&body);
        s7p.extend_from_slice(&[0x72, 0x01, 0, 0]);
        let mut v = vec![3, 0, 0, (7 + s7p.len()) as u8, 2, 0xf0, 0x80];
        v.extend_from_slice(&s7p);
        v
    }

    /// The connection request S7CommPlus clients send: called TSAP
    /// "SIMATIC-ROOT-HMI".
    fn cr() -> Vec<u8> {
        let mut var = vec![0xc0, 1, 0x0a, 0xc1, 2, 0x06, 0x00, 0xc2, 16];
        var.extend_from_slice(b"SIMATIC-ROOT-HMI");
        let li = 6 + var.len();
        let mut v = vec![3, 0, 0, (5 + li) as u8, li as u8, 0xe0, 0, 0, 0, 1, 0];
        v.extend_from_slice(&var);
        v
    }

    #[test]
    fn create_object_request() {
        let c = [cr(), create_object()].concat();
        assert_eq!(
            evidence(probe1(&S7commPlus, TCP, C, &c)),
            "S7CommPlus V1 Request: CreateObject"
        );
        check_prefixes(&S7commPlus, TCP, C, &c, b"");
        assert_eq!(probe1(&S7commPlus, TCP, C, &cr()), Probe::NeedMore);
    }

    #[test]
    fn v3_frame_and_bad_trailer() {
        let mut v = create_object();
        v[8] = 3; // version 3
        let n = v.len();
        v[n - 3] = 3; // trailer version
        assert_eq!(
            evidence(probe1(&S7commPlus, TCP, S, &v)),
            "S7CommPlus V3 frame of 12 bytes with its 0x72 trailer"
        );
        let mut w = create_object();
        let n = w.len();
        w[n - 4] = 0x32;
        assert_eq!(probe1(&S7commPlus, TCP, C, &w), Probe::NoMatch);
        // S7Comm bytes are not S7CommPlus.
        let s7 = include_bytes!("../s7comm/testdata/job_setup.bin");
        assert_eq!(probe1(&S7commPlus, TCP, C, s7), Probe::NoMatch);
    }

    #[test]
    fn foreign_and_random() {
        foreign_never_match(&S7commPlus, TCP);
        assert_random_flows_rejected(&S7commPlus, TCP, 102);
    }
}
