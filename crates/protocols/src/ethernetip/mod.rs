//! EtherNet/IP encapsulation (ODVA "The CIP Networks Library, Volume 2:
//! EtherNet/IP Adaptation of CIP", chapter 2), TCP and UDP 44818.
//!
//! Vol. 2 §2-3.1 encapsulation header (24 bytes, little endian): Command
//! (UINT), Length (UINT, bytes of data after the header), Session handle
//! (UDINT), Status (UDINT), Sender Context (8 octets), Options (UDINT,
//! "shall be zero"). §2-3.2 commands: 0x0000 NOP, 0x0004 ListServices,
//! 0x0063 ListIdentity, 0x0064 ListInterfaces, 0x0065 RegisterSession,
//! 0x0066 UnRegisterSession, 0x006F SendRRData, 0x0070 SendUnitData,
//! 0x0072 IndicateStatus, 0x0073 Cancel. §2-3.3 status codes: 0 success,
//! 0x0001-0x0003, 0x0064, 0x0065, 0x0069. §2-4.4 RegisterSession data:
//! protocol version (1) and options flags (0). §2-4.7/§2-4.8
//! SendRRData/SendUnitData data: interface handle (0 for CIP), timeout,
//! then a Common Packet Format (§2-6): item count and items (type id,
//! length, data): 0x0000 null address, 0x000C ListIdentity response,
//! 0x0086 CIP security, 0x00A1 connected address, 0x00B1 connected data,
//! 0x00B2 unconnected data, 0x0100 ListServices response, 0x8000/0x8001
//! sockaddr info, 0x8002 sequenced address.
//!
//! EthernetIP vs CIP: this probe names every flow carrying the
//! encapsulation header EthernetIP (nDPI does the same), CIP explicit
//! messages inside SendRRData/SendUnitData included; the CIP service they
//! carry is named in the evidence. The `cip` probe names the flows that
//! carry CIP with no encapsulation at all: class 0/1 implicit I/O datagrams
//! (UDP 2222), a bare Common Packet Format whose CIP connected data is all
//! that identifies them.

use netsift_proto::bytes::{le16, le32};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// EtherNet/IP.
pub struct EthernetIp;

const HDR: usize = 24;

impl Protocol for EthernetIp {
    fn name(&self) -> &'static str {
        "EthernetIP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp, Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[44818]
    }
    // ODVA Vol. 2 §2-3.1/§2-3.2: the header starts with the Command (UINT,
    // little endian), one of 0x0004, 0x0063-0x0066, 0x006F, 0x0070, 0x0072,
    // 0x0073 (NOP 0x0000 is not taken): its low octet comes first.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x04, 0x63, 0x64, 0x65, 0x66, 0x6f, 0x70, 0x72, 0x73])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let tcp = match input.transport {
            Transport::Tcp => true,
            Transport::Udp => false,
            Transport::Ip(_) => return Probe::NoMatch,
        };
        let d = input.data;
        match message(d) {
            Msg::Bad => Probe::NoMatch,
            Msg::Short if tcp => Probe::NeedMore,
            Msg::Short => Probe::NoMatch,
            Msg::Ok(total, ev) => {
                if d.len() > total {
                    // Another encapsulation header must follow.
                    match message(&d[total..]) {
                        Msg::Bad => return Probe::NoMatch,
                        Msg::Short | Msg::Ok(..) => {}
                    }
                } else if !tcp && d.len() != total {
                    return Probe::NoMatch;
                }
                Probe::Match(Match::new(ev))
            }
        }
    }
}

enum Msg {
    Ok(usize, String),
    Short,
    Bad,
}

fn command_name(c: u16) -> Option<&'static str> {
    Some(match c {
        // 0x0000 NOP is not taken: 24 zero bytes would be a NOP.
        0x0004 => "ListServices",
        0x0063 => "ListIdentity",
        0x0064 => "ListInterfaces",
        0x0065 => "RegisterSession",
        0x0066 => "UnRegisterSession",
        0x006f => "SendRRData",
        0x0070 => "SendUnitData",
        0x0072 => "IndicateStatus",
        0x0073 => "Cancel",
        _ => return None,
    })
}

/// CIP service codes (CIP Vol. 1 Appendix A, Table; Logix tag
/// services 0x4C/0x4D/0x52/0x53 as published by Rockwell, 1756-PM020).
pub(crate) fn cip_service_name(s: u8) -> &'static str {
    match s & 0x7f {
        0x01 => "Get_Attributes_All",
        0x02 => "Set_Attributes_All",
        0x03 => "Get_Attribute_List",
        0x05 => "Reset",
        0x06 => "Start",
        0x07 => "Stop",
        0x0a => "Multiple_Service_Packet",
        0x0e => "Get_Attribute_Single",
        0x10 => "Set_Attribute_Single",
        0x4c => "Read Tag",
        0x4d => "Write Tag",
        0x4e => "Forward_Close",
        0x52 => "Unconnected_Send / Read Tag Fragmented",
        0x53 => "Write Tag Fragmented",
        0x54 => "Forward_Open",
        0x5b => "Large_Forward_Open",
        _ => "service",
    }
}

fn message(d: &[u8]) -> Msg {
    // Check what is there of the fixed fields before asking for more.
    if let Some(c) = le16(d, 0) {
        if command_name(c).is_none() {
            return Msg::Bad;
        }
    } else if d.len() == 1 && !matches!(d[0], 0x04 | 0x63..=0x66 | 0x6f | 0x70 | 0x72 | 0x73) {
        return Msg::Bad;
    }
    if d.len() < HDR {
        // Options (bytes 20..24) must be zero.
        if d.get(20..).is_some_and(|o| o.iter().any(|&b| b != 0)) {
            return Msg::Bad;
        }
        return Msg::Short;
    }
    let cmd = le16(d, 0).unwrap_or(0);
    let len = usize::from(le16(d, 2).unwrap_or(0));
    let status = le32(d, 8).unwrap_or(0);
    let options = le32(d, 20).unwrap_or(0);
    if options != 0 || !matches!(status, 0 | 1 | 2 | 3 | 0x64 | 0x65 | 0x69) {
        return Msg::Bad;
    }
    let name = command_name(cmd).unwrap_or("?");
    let Some(data) = d.get(HDR..HDR + len) else {
        // Check what is there of the data.
        return match data_ok(cmd, &d[HDR..], len, false) {
            Some(_) => Msg::Short,
            None => Msg::Bad,
        };
    };
    match data_ok(cmd, data, len, true) {
        Some(detail) => Msg::Ok(HDR + len, format!("EtherNet/IP {name}{detail}")),
        None => Msg::Bad,
    }
}

/// Data of one command; `whole` when all `len` bytes are there. `None` when
/// malformed; otherwise a detail for the evidence.
fn data_ok(cmd: u16, data: &[u8], len: usize, whole: bool) -> Option<String> {
    match cmd {
        // RegisterSession: protocol version 1, options 0.
        0x0065 => {
            if len != 4 {
                return None;
            }
            if le16(data, 0).is_some_and(|v| v != 1) || le16(data, 2).is_some_and(|o| o != 0) {
                return None;
            }
            Some(" (protocol version 1)".to_string())
        }
        0x0066 => (len == 0).then(String::new),
        // Requests are empty; replies carry a CPF.
        0x0004 | 0x0063 | 0x0064 => {
            if len == 0 {
                Some(" request".to_string())
            } else {
                cpf(data, len, whole).map(|d| format!(" reply{d}"))
            }
        }
        0x006f | 0x0070 => {
            // Interface handle 0 (CIP).
            if data.get(..4).is_some_and(|h| h != [0, 0, 0, 0]) || len < 8 {
                return None;
            }
            cpf(data.get(6..).unwrap_or(&[]), len - 6, whole)
        }
        _ => Some(String::new()),
    }
}

/// A Common Packet Format of `len` bytes at the start of `d`: the items
/// must fill it exactly. Returns a detail naming the CIP service.
pub(crate) fn cpf(d: &[u8], len: usize, whole: bool) -> Option<String> {
    let Some(count) = le16(d, 0) else {
        return Some(String::new());
    };
    if count == 0 || count > 8 {
        return None;
    }
    let mut p = 2;
    let mut detail = String::new();
    for _ in 0..count {
        let (Some(ty), Some(il)) = (le16(d, p), le16(d, p + 2)) else {
            return if whole { None } else { Some(String::new()) };
        };
        let il = usize::from(il);
        if !matches!(
            ty,
            0x0000 | 0x000c | 0x0086 | 0x00a1 | 0x00b1 | 0x00b2 | 0x0100 | 0x8000..=0x8002
        ) {
            return None;
        }
        // Fixed item sizes: null 0, connected address 4, sequenced 8,
        // sockaddr 16.
        let fixed = match ty {
            0x0000 => Some(0),
            0x00a1 => Some(4),
            0x8002 => Some(8),
            0x8000 | 0x8001 => Some(16),
            _ => None,
        };
        if fixed.is_some_and(|f| f != il) {
            return None;
        }
        let body = p + 4;
        if detail.is_empty() {
            let svc = match ty {
                0x00b1 => d.get(body + 2),
                0x00b2 => d.get(body),
                _ => None,
            };
            if let Some(&s) = svc {
                let dir = if s & 0x80 != 0 { "reply" } else { "request" };
                let kind = if ty == 0x00b1 {
                    "connected"
                } else {
                    "unconnected"
                };
                detail = format!(" ({kind} CIP {} {dir})", cip_service_name(s));
            }
        }
        p = body + il;
        if p > len {
            return None;
        }
    }
    if p != len {
        return None;
    }
    Some(detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, check_prefixes, evidence,
        foreign_never_match, probe1, C, S,
    };

    const TCP: Transport = Transport::Tcp;
    const UDP: Transport = Transport::Udp;
    // Sources: testdata/README.md.
    const REQ: &[u8] = include_bytes!("testdata/sendunitdata_req.bin");
    const RESP: &[u8] = include_bytes!("testdata/sendunitdata_resp.bin");
    const TWO: &[u8] = include_bytes!("testdata/two_in_segment.bin");

    #[test]
    fn corpus_mid_session() {
        assert_eq!(
            evidence(probe1(&EthernetIp, TCP, C, REQ)),
            "EtherNet/IP SendUnitData (connected CIP Multiple_Service_Packet request)"
        );
        assert_eq!(
            evidence(probe1(&EthernetIp, TCP, S, RESP)),
            "EtherNet/IP SendUnitData (connected CIP Multiple_Service_Packet reply)"
        );
        assert!(crate::testkit::is_match(&probe1(&EthernetIp, TCP, C, TWO)));
        check_prefixes(&EthernetIp, TCP, C, TWO, b"");
        check_prefixes(&EthernetIp, TCP, S, RESP, b"");
    }

    #[test]
    fn cpppo_session() {
        let reg = include_bytes!("testdata/cpppo_register.bin");
        let rr = include_bytes!("testdata/cpppo_sendrrdata.bin");
        let li = include_bytes!("testdata/cpppo_list_identity_reply.bin");
        assert_eq!(
            evidence(probe1(&EthernetIp, TCP, C, reg)),
            "EtherNet/IP RegisterSession (protocol version 1)"
        );
        assert_eq!(
            evidence(probe1(&EthernetIp, TCP, C, rr)),
            "EtherNet/IP SendRRData (unconnected CIP Unconnected_Send / Read Tag Fragmented request)"
        );
        assert_eq!(
            evidence(probe1(&EthernetIp, TCP, S, li)),
            "EtherNet/IP ListIdentity reply"
        );
        check_prefixes(&EthernetIp, TCP, C, &[&reg[..], rr].concat(), b"");
    }

    #[test]
    fn session_setup_from_spec() {
        // RegisterSession: 65 00, length 4, session 0, status 0, context 8
        // bytes, options 0; data: version 1, flags 0.
        let mut reg = vec![0x65, 0, 4, 0];
        reg.extend_from_slice(&[0; 20]);
        reg.extend_from_slice(&[1, 0, 0, 0]);
        assert_eq!(
            evidence(probe1(&EthernetIp, TCP, C, &reg)),
            "EtherNet/IP RegisterSession (protocol version 1)"
        );
        check_prefixes(&EthernetIp, TCP, C, &reg, b"");
        // ListIdentity request over UDP (broadcast discovery).
        let mut li = vec![0x63, 0, 0, 0];
        li.extend_from_slice(&[0; 20]);
        assert_eq!(
            evidence(probe1(&EthernetIp, UDP, C, &li)),
            "EtherNet/IP ListIdentity request"
        );
        let mut bad = reg.clone();
        bad[24] = 2;
        assert_eq!(probe1(&EthernetIp, TCP, C, &bad), Probe::NoMatch);
    }

    #[test]
    fn first_bytes_declared() {
        use crate::testkit::first_bytes_hold;
        use crate::testkit::input;
        let mut li = vec![0x63, 0, 0, 0];
        li.extend_from_slice(&[0; 20]);
        first_bytes_hold(&EthernetIp, &input(UDP, C, &li, &[], 0));
        first_bytes_hold(&EthernetIp, &input(TCP, C, REQ, &[], 0));
        first_bytes_hold(&EthernetIp, &input(TCP, S, RESP, &[], 0));
        let reg = include_bytes!("testdata/cpppo_register.bin");
        first_bytes_hold(&EthernetIp, &input(TCP, C, reg, &[], 0));
    }

    #[test]
    fn foreign_and_random() {
        foreign_never_match(&EthernetIp, TCP);
        assert_foreign_rejected(&EthernetIp, "enip");
        assert_random_flows_rejected(&EthernetIp, TCP, 44818);
        assert_random_flows_rejected(&EthernetIp, UDP, 44818);
    }
}
