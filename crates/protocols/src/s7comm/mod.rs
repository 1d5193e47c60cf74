//! S7Comm (Siemens S7 communication, "S7-300/400 protocol"), identified from
//! the S7 PDU carried in the first ISO 8073 DT TPDU over RFC 1006 TPKT
//! (TCP 102). Observed protocol: Siemens publishes no specification; the
//! layout below is the one documented by the Snap7 project ("S7 Protocol"
//! chapter of the Snap7 reference manual) and seen in the nDPI corpus
//! (s7comm.pcap) and in python-snap7 traffic.
//!
//! S7 header: protocol id 0x32; ROSCTR (1 Job, 2 Ack, 3 Ack_Data,
//! 7 Userdata); redundancy identification (2 bytes, 0); PDU reference (2);
//! parameter length (2); data length (2); Ack and Ack_Data add error class
//! and error code (header of 12 bytes instead of 10). The parameter block of
//! Job/Ack_Data starts with the function code (0xF0 Setup communication,
//! 0x04 Read Var, 0x05 Write Var, 0x1A-0x1F block download/upload, 0x28 PI
//! service, 0x29 PLC Stop); Read/Write Var follow with an item count.
//! Userdata parameters start 00 01 12, a length, a method (0x11 request,
//! 0x12 response), type (high nibble) / function group (low nibble) and a
//! subfunction.
//!
//! The TPKT/COTP walk is in [`cotp`]; S7CommPlus (protocol id 0x72) and
//! MMS (session/presentation bytes) use it too, and each claims only its own
//! first user-data byte, so the three never collide; RDP's Connection
//! Request carries no TSAPs and its data starts with T.125 MCS (0x7F 0x65).

pub(crate) mod cotp;
mod record;
mod session;

use cotp::{first_dt, Tsdu};
use netsift_proto::bytes::be16;
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// S7Comm.
pub struct S7comm;

impl Protocol for S7comm {
    fn name(&self) -> &'static str {
        "S7Comm"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[102]
    }
    fn parser(&self) -> Option<Box<dyn netsift_proto::Parser>> {
        Some(Box::new(session::S7commParser::new()))
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        match first_dt(input.data) {
            Tsdu::Bad => Probe::NoMatch,
            Tsdu::Short => Probe::NeedMore,
            Tsdu::Data {
                user,
                complete,
                tsap,
            } => match pdu(user, complete) {
                Some(Some(ev)) => Probe::Match(Match::new(match tsap.and_then(|t| be16(t, 0)) {
                    // S7 TSAPs: connection type (high byte), rack/slot.
                    Some(t) if tsap.map(<[u8]>::len) == Some(2) => {
                        format!("{ev}, called TSAP 0x{t:04x}")
                    }
                    _ => ev,
                })),
                Some(None) => Probe::NeedMore,
                None => Probe::NoMatch,
            },
        }
    }
}

/// ROSCTR names.
fn rosctr_name(r: u8) -> &'static str {
    match r {
        1 => "Job",
        2 => "Ack",
        3 => "Ack_Data",
        _ => "Userdata",
    }
}

/// Job / Ack_Data function codes.
pub(crate) fn function_name(f: u8) -> Option<&'static str> {
    Some(match f {
        0x00 => "CPU services",
        0xf0 => "Setup Communication",
        0x04 => "Read Var",
        0x05 => "Write Var",
        0x1a => "Request Download",
        0x1b => "Download Block",
        0x1c => "Download Ended",
        0x1d => "Start Upload",
        0x1e => "Upload",
        0x1f => "End Upload",
        0x28 => "PI Service",
        0x29 => "PLC Stop",
        _ => return None,
    })
}

/// Userdata function groups.
pub(crate) fn group_name(g: u8) -> &'static str {
    match g {
        0x0 => "Mode-transition",
        0x1 => "Programmer commands",
        0x2 => "Cyclic data",
        0x3 => "Block functions",
        0x4 => "CPU functions",
        0x5 => "Security",
        0x6 => "PBC BSEND/BRECV",
        0x7 => "Time functions",
        0xf => "NC programming",
        _ => "group",
    }
}

/// The S7 PDU at the start of `u`: `None` when it is not S7Comm,
/// `Some(None)` when more bytes are needed, `Some(Some(evidence))`.
pub(crate) fn pdu(u: &[u8], complete: bool) -> Option<Option<String>> {
    if u.first().is_some_and(|&p| p != 0x32) {
        return None;
    }
    let rosctr = match u.get(1) {
        None => return Some(None),
        Some(&r @ (1 | 2 | 3 | 7)) => r,
        Some(_) => return None,
    };
    // Redundancy identification: reserved, 0.
    if u.get(2).is_some_and(|&b| b != 0) || u.get(3).is_some_and(|&b| b != 0) {
        return None;
    }
    let hlen = if matches!(rosctr, 2 | 3) { 12 } else { 10 };
    let (Some(plen), Some(dlen)) = (be16(u, 6), be16(u, 8)) else {
        return Some(None);
    };
    let (plen, dlen) = (usize::from(plen), usize::from(dlen));
    let total = hlen + plen + dlen;
    // A PDU fits a TPKT (the negotiated PDU size is at most 960 bytes;
    // allow the 16-bit maximum of a TPKT).
    if total > 65_535 - 7 {
        return None;
    }
    if complete && u.len() != total {
        return None;
    }
    if u.len() < hlen + plen.min(8) {
        return if complete { None } else { Some(None) };
    }
    let Some(param) = u.get(hlen..hlen + plen) else {
        return if complete { None } else { Some(None) };
    };
    let name = rosctr_name(rosctr);
    let ev = match rosctr {
        1 | 3 => {
            let f = *param.first()?;
            let fname = function_name(f)?;
            match (f, param.get(1)) {
                (0x04 | 0x05, Some(n)) => format!("S7Comm {name}: {fname} ({n} items)"),
                (0xf0, _) => match be16(param, 6) {
                    Some(sz) => format!("S7Comm {name}: {fname} (PDU size {sz})"),
                    None => format!("S7Comm {name}: {fname}"),
                },
                _ => format!("S7Comm {name}: {fname}"),
            }
        }
        2 => {
            // Ack: header only, no parameters expected.
            if plen > 0 {
                return None;
            }
            let (ec, code) = (u.get(10)?, u.get(11)?);
            format!("S7Comm Ack (error class 0x{ec:02x} code 0x{code:02x})")
        }
        _ => {
            // Userdata parameter head 00 01 12, parameter length 4 or 8,
            // method 0x11 request / 0x12 response.
            if param.get(..3)? != [0x00, 0x01, 0x12] {
                return None;
            }
            let method = *param.get(4)?;
            if !matches!(method, 0x11 | 0x12) || !matches!(param.get(3)?, 4 | 8) {
                return None;
            }
            let tg = *param.get(5)?;
            let kind = match tg >> 4 {
                0x0 => "push",
                0x4 => "request",
                0x8 => "response",
                _ => return None,
            };
            let sub = *param.get(6)?;
            let sub_name = match (tg & 0x0f, sub) {
                (0x4, 1) => " Read SZL",
                (0x4, 2) => " Message service",
                (0x3, 1) => " List blocks",
                (0x3, 2) => " List blocks of type",
                (0x3, 3) => " Get block info",
                (0x7, 1) => " Read clock",
                (0x7, 2) => " Set clock",
                (0x5, 1) => " PLC password",
                _ => "",
            };
            format!(
                "S7Comm Userdata {kind}: {}{sub_name} (subfunction {sub})",
                group_name(tg & 0x0f)
            )
        }
    };
    Some(Some(ev))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_random_flows_rejected, check_prefixes, evidence, foreign_never_match, probe1,
        probe_at, C, S,
    };

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const CR: &[u8] = include_bytes!("testdata/cr.bin");
    const CC: &[u8] = include_bytes!("testdata/cc.bin");
    const JOB: &[u8] = include_bytes!("testdata/job_setup.bin");
    const ACK: &[u8] = include_bytes!("testdata/ackdata_setup.bin");
    const UD_REQ: &[u8] = include_bytes!("testdata/userdata_req.bin");
    const UD_RESP: &[u8] = include_bytes!("testdata/userdata_resp.bin");

    #[test]
    fn connection_then_setup_communication() {
        let c = [CR, JOB].concat();
        let s = [CC, ACK].concat();
        assert_eq!(
            evidence(probe_at(&S7comm, TCP, C, &c, &s, 0)),
            "S7Comm Job: Setup Communication (PDU size 480), called TSAP 0x0102"
        );
        assert_eq!(
            evidence(probe_at(&S7comm, TCP, S, &s, &c, 0)),
            "S7Comm Ack_Data: Setup Communication (PDU size 240), called TSAP 0x0102"
        );
        // The CR alone waits.
        assert_eq!(probe1(&S7comm, TCP, C, CR), Probe::NeedMore);
        check_prefixes(&S7comm, TCP, C, &c, &s);
        check_prefixes(&S7comm, TCP, S, &s, &c);
    }

    #[test]
    fn mid_session_userdata() {
        assert_eq!(
            evidence(probe1(&S7comm, TCP, C, UD_REQ)),
            "S7Comm Userdata request: CPU functions Read SZL (subfunction 1)"
        );
        assert_eq!(
            evidence(probe1(&S7comm, TCP, S, UD_RESP)),
            "S7Comm Userdata response: CPU functions Read SZL (subfunction 1)"
        );
    }

    #[test]
    fn snap7_read_and_write() {
        let rv = include_bytes!("testdata/snap7_read_var.bin");
        let wv = include_bytes!("testdata/snap7_write_var.bin");
        let ack = include_bytes!("testdata/snap7_read_var_ack.bin");
        assert_eq!(
            evidence(probe1(&S7comm, TCP, C, rv)),
            "S7Comm Job: Read Var (1 items)"
        );
        assert_eq!(
            evidence(probe1(&S7comm, TCP, C, wv)),
            "S7Comm Job: Write Var (1 items)"
        );
        assert_eq!(
            evidence(probe1(&S7comm, TCP, S, ack)),
            "S7Comm Ack_Data: Read Var (1 items)"
        );
        check_prefixes(&S7comm, TCP, C, &[&rv[..], wv].concat(), b"");
    }

    #[test]
    fn read_var_from_spec() {
        // TPKT 03 00 len 31; COTP DT 02 f0 80; S7 header 32 01 0000 pdu-ref
        // 0005, param len 14, data len 0; Read Var 04, 1 item: 12 0a 10
        // (var spec, length 10, S7ANY) 02 (BYTE) 0004 (count) 0001 (DB 1)
        // 84 (DB area) 000000 (address).
        let p = [
            3, 0, 0, 31, 2, 0xf0, 0x80, 0x32, 1, 0, 0, 0, 5, 0, 14, 0, 0, 4, 1, 0x12, 0x0a, 0x10,
            2, 0, 4, 0, 1, 0x84, 0, 0, 0,
        ];
        assert_eq!(
            evidence(probe1(&S7comm, TCP, C, &p)),
            "S7Comm Job: Read Var (1 items)"
        );
        check_prefixes(&S7comm, TCP, C, &p, b"");
        // S7CommPlus (0x72) and MMS bytes after the same COTP are not S7Comm.
        let mut q = p;
        q[7] = 0x72;
        assert_eq!(probe1(&S7comm, TCP, C, &q), Probe::NoMatch);
    }

    #[test]
    fn parser_writes_one_record_per_pdu() {
        use netsift_proto::{MemSink, Parser};
        let mut p = session::S7commParser::new();
        let mut sink = MemSink::default();
        let c = [CR, JOB, UD_REQ].concat();
        let s = [CC, ACK, UD_RESP].concat();
        // Split the client stream mid-TPKT to exercise the buffering.
        p.on_data(C, &c[..30], &mut sink);
        p.on_data(C, &c[30..], &mut sink);
        p.on_data(S, &s, &mut sink);
        p.on_end(&mut sink);
        let r = sink.log("s7comm");
        assert_eq!(r.len(), 4);
        assert_eq!(r[0]["rosctr"], "Job");
        assert_eq!(r[0]["function"], "Setup Communication");
        assert_eq!(r[0]["pdu_size"], 480);
        assert_eq!(r[0]["called_tsap"], 0x0102);
        assert_eq!(r[1]["function"], "CPU functions");
        assert_eq!(r[1]["userdata_type"], "request");
        assert_eq!(r[1]["code"], 1);
        assert_eq!(r[2]["rosctr"], "Ack_Data");
        assert_eq!(r[2]["from"], "server");
        assert_eq!(r[2]["error"], 0);
        netsift_proto::session::feed_every_prefix(
            &[(C, c.clone()), (S, s.clone())],
            3,
            session::S7commParser::new,
        );
    }

    #[test]
    fn foreign_and_random() {
        foreign_never_match(&S7comm, TCP);
        assert_random_flows_rejected(&S7comm, TCP, 102);
        // An RDP connection request is not S7Comm.
        let rdp = [
            &include_bytes!("../rdp/testdata/x224_cr_cookie.bin")[..],
            include_bytes!("../rdp/testdata/mcs_connect.bin"),
        ]
        .concat();
        assert_ne!(probe1(&S7comm, TCP, C, &rdp), Probe::NeedMore);
        assert!(!crate::testkit::is_match(&probe1(&S7comm, TCP, C, &rdp)));
    }
}
