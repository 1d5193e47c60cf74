//! DCE/RPC (The Open Group C706, "DCE 1.1: Remote Procedure Call", with
//! Microsoft's extensions in MS-RPCE).
//!
//! **Connection-oriented (TCP), C706 §12.6.3.1** — every PDU starts with a
//! 16-byte common header:
//!
//! ```text
//! rpc_vers 5 | rpc_vers_minor 0/1 | PTYPE | pfc_flags | packed_drep[4]
//! frag_length u16 | auth_length u16 | call_id u32
//! ```
//!
//! The probe requires rpc_vers 5, minor 0 or 1, a connection-oriented PTYPE
//! (request 0, response 2, fault 3, bind 11, bind_ack 12, bind_nak 13,
//! alter_context 14, alter_context_resp 15, auth3 16, shutdown 17,
//! co_cancel 18, orphaned 19), a valid data representation (C706 §14.1:
//! drep[0] integer format in the high nibble 0/1 and character format in
//! the low nibble 0/1, drep[1] floating-point format 0..=3, drep[2..4]
//! reserved zero), frag_length at least the header (plus the 8-byte
//! auth_verifier header and auth_length when auth_length is non-zero), and
//! for bind/alter_context a context list with at least one element and one
//! transfer syntax (§12.6.4.3). Evidence names the PDU type and, for binds,
//! the interface UUID (with a name for well-known interfaces).
//!
//! **Connectionless (UDP), C706 §12.5.3.1** — an 80-byte header: rpc_vers
//! 4, PTYPE 0..=10, the same drep rules, and a body length (offset 74) that
//! must account for the rest of the datagram exactly when there is no
//! authentication (auth_proto 0). PROFINET IO's DCE/RPC interfaces are
//! reported as the application `PROFINET_IO`, as nDPI does.

use netsift_proto::bytes::{be16, be32, le16, le32};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// DCERPC.
pub struct Dcerpc;

impl Protocol for Dcerpc {
    fn name(&self) -> &'static str {
        "DCERPC"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp, Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[135]
    }
    // C706 §12.5.3.1: the connectionless header starts with "rpc_vers 4";
    // §12.6.3.1: the connection-oriented one with "rpc_vers 5".
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[4, 5])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let r = match input.transport {
            Transport::Udp => parse_cl(input.data),
            _ => parse_co(input.data),
        };
        match r {
            Verdict::Yes(m) => Probe::Match(m),
            Verdict::Short if input.transport == Transport::Tcp => Probe::NeedMore,
            _ => Probe::NoMatch,
        }
    }
}

enum Verdict {
    Yes(Match),
    Short,
    No,
}

fn co_ptype(t: u8) -> Option<&'static str> {
    // C706 §12.6.4 (with MS-RPCE §2.2.2.1 for auth3).
    Some(match t {
        0 => "request",
        2 => "response",
        3 => "fault",
        11 => "bind",
        12 => "bind_ack",
        13 => "bind_nak",
        14 => "alter_context",
        15 => "alter_context_resp",
        16 => "auth3",
        17 => "shutdown",
        18 => "co_cancel",
        19 => "orphaned",
        _ => return None,
    })
}

fn cl_ptype(t: u8) -> Option<&'static str> {
    // C706 §12.5.2.
    Some(match t {
        0 => "request",
        1 => "ping",
        2 => "response",
        3 => "fault",
        4 => "working",
        5 => "nocall",
        6 => "reject",
        7 => "ack",
        8 => "cl_cancel",
        9 => "fack",
        10 => "cancel_ack",
        _ => return None,
    })
}

/// C706 §14.1 / §12.5.3.1: NDR format label.
fn drep_ok(d: &[u8]) -> bool {
    match d {
        [a, b, c, ..] => matches!(a, 0x00 | 0x01 | 0x10 | 0x11) && *b <= 3 && *c == 0,
        _ => false,
    }
}

fn u16_at(d: &[u8], at: usize, le: bool) -> Option<u16> {
    if le {
        le16(d, at)
    } else {
        be16(d, at)
    }
}

fn u32_at(d: &[u8], at: usize, le: bool) -> Option<u32> {
    if le {
        le32(d, at)
    } else {
        be32(d, at)
    }
}

/// A UUID in NDR encoding (time_low, time_mid, time_hi_and_version in the
/// data representation's byte order, then 8 bytes as is), as text.
fn uuid(d: &[u8], at: usize, le: bool) -> Option<String> {
    let tl = u32_at(d, at, le)?;
    let tm = u16_at(d, at + 4, le)?;
    let th = u16_at(d, at + 6, le)?;
    let r = d.get(at + 8..at + 16)?;
    Some(format!(
        "{tl:08x}-{tm:04x}-{th:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]
    ))
}

/// Names of well-known interfaces (MS-RPCE, MS-SAMR, MS-LSAD, MS-SRVS,
/// MS-SCMR, MS-TSCH, MS-DRSR, MS-WKST, MS-NRPC, MS-RRP, MS-DCOM, C706
/// Appendix O/P; PROFINET IEC 61158-6-10).
fn interface_name(u: &str) -> Option<&'static str> {
    Some(match u {
        "e1af8308-5d1f-11c9-91a4-08002b14a0fa" => "epmapper",
        "afa8bd80-7d8a-11c9-bef4-08002b102989" => "mgmt",
        "12345778-1234-abcd-ef00-0123456789ac" => "samr",
        "12345778-1234-abcd-ef00-0123456789ab" => "lsarpc",
        "4b324fc8-1670-01d3-1278-5a47bf6ee188" => "srvsvc",
        "367abb81-9844-35f1-ad32-98f038001003" => "svcctl",
        "1ff70682-0a51-30e8-076d-740be8cee98b" => "atsvc",
        "378e52b0-c0a9-11cf-822d-00aa0051e40f" => "sasec",
        "86d35949-83c9-4044-b424-db363231fd0c" => "ITaskSchedulerService",
        "e3514235-4b06-11d1-ab04-00c04fc2dcd2" => "drsuapi",
        "6bffd098-a112-3610-9833-46c3f87e345a" => "wkssvc",
        "12345678-1234-abcd-ef00-01234567cffb" => "netlogon",
        "338cd001-2244-31f1-aaaa-900038001003" => "winreg",
        "99fcfec4-5260-101b-bbcb-00aa0021347a" => "IObjectExporter",
        "000001a0-0000-0000-c000-000000000046" => "IRemoteSCMActivator",
        "4d9f4ab8-7d1c-11cf-861e-0020af6e7c57" => "IActivation",
        "12345678-1234-abcd-ef00-0123456789ab" => "spoolss",
        "dea00001-6c97-11d1-8271-00a02442df7d" => "PNIO device",
        "dea00002-6c97-11d1-8271-00a02442df7d" => "PNIO controller",
        "dea00003-6c97-11d1-8271-00a02442df7d" => "PNIO supervisor",
        "dea00004-6c97-11d1-8271-00a02442df7d" => "PNIO parameter server",
        _ => return None,
    })
}

fn is_profinet(u: &str) -> bool {
    u.starts_with("dea0000") && u.ends_with("-6c97-11d1-8271-00a02442df7d")
}

/// Connection-oriented PDU at the start of a TCP stream prefix.
fn parse_co(d: &[u8]) -> Verdict {
    // Check byte by byte so a prefix is NeedMore only while it can still
    // become a valid header.
    let checks: [&dyn Fn(u8) -> bool; 8] = [
        &|b| b == 5,                                 // rpc_vers
        &|b| b <= 1,                                 // rpc_vers_minor
        &|b| co_ptype(b).is_some(),                  // PTYPE
        &|_| true,                                   // pfc_flags
        &|b| matches!(b, 0x00 | 0x01 | 0x10 | 0x11), // drep[0]
        &|b| b <= 3,                                 // drep[1]
        &|b| b == 0,                                 // drep[2]
        &|b| b == 0,                                 // drep[3]
    ];
    for (i, check) in checks.iter().enumerate() {
        match d.get(i) {
            None => return Verdict::Short,
            Some(&b) if !check(b) => return Verdict::No,
            Some(_) => {}
        }
    }
    let le = d.get(4).is_some_and(|&b| b & 0x10 != 0);
    let (Some(frag_len), Some(auth_len), Some(call_id)) =
        (u16_at(d, 8, le), u16_at(d, 10, le), u32_at(d, 12, le))
    else {
        return Verdict::Short;
    };
    let frag_len = frag_len as usize;
    let auth_len = auth_len as usize;
    // §12.6.3.1: frag_length covers the header, body, and the optional
    // auth_verifier (8-byte sec_trailer + auth_length bytes).
    let min = 16 + if auth_len > 0 { 8 + auth_len } else { 0 };
    if frag_len < min {
        return Verdict::No;
    }
    let ptype = d.get(2).copied().unwrap_or(0);
    let name = co_ptype(ptype).unwrap_or("PDU");
    let mut ev = format!("DCE/RPC v5 {name} PDU (frag_length {frag_len}, call_id {call_id}");
    let mut app = None;
    match ptype {
        // §12.6.4.3 bind / alter_context: max_xmit_frag u16, max_recv_frag
        // u16, assoc_group_id u32, p_context_elem { n_context_elem u8,
        // reserved u8, reserved2 u16, p_cont_elem_t { p_cont_id u16,
        // n_transfer_syn u8, reserved u8, abstract_syntax (uuid + version
        // u32), transfer_syntaxes[n] (20 bytes each) } }
        11 | 14 => {
            if frag_len < 16 + 8 + 4 + 4 + 20 + 20 {
                return Verdict::No;
            }
            let (Some(&n_ctx), Some(&n_ts)) = (d.get(24), d.get(30)) else {
                return Verdict::Short;
            };
            if n_ctx == 0 || n_ts == 0 {
                return Verdict::No;
            }
            let Some(iface) = uuid(d, 32, le) else {
                return Verdict::Short;
            };
            let ver = u16_at(d, 48, le).unwrap_or(0);
            match interface_name(&iface) {
                Some(n) => ev.push_str(&format!(", interface {n} {iface} v{ver}")),
                None => ev.push_str(&format!(", interface {iface} v{ver}")),
            }
            if is_profinet(&iface) {
                app = Some("PROFINET_IO");
            }
        }
        // §12.6.4.4 bind_ack: max_xmit_frag, max_recv_frag, assoc_group_id,
        // sec_addr (port_any_t: u16 length + string), ...
        12 | 15 if frag_len < 16 + 8 + 2 => return Verdict::No,
        _ => {}
    }
    ev.push(')');
    let m = Match::new(ev);
    Verdict::Yes(match app {
        Some(a) => m.with_app(a),
        None => m,
    })
}

/// Connectionless PDU (one UDP datagram).
fn parse_cl(d: &[u8]) -> Verdict {
    // §12.5.3.1: rpc_vers (4), ptype, flags1, flags2, drep[3], serial_hi,
    // object uuid (16) @8, if_id (16) @24, act_id (16) @40, server_boot u32
    // @56, if_vers u32 @60, seqnum u32 @64, opnum u16 @68, ihint u16 @70,
    // ahint u16 @72, len u16 @74, fragnum u16 @76, auth_proto u8 @78,
    // serial_lo u8 @79.
    if d.len() < 80 {
        return Verdict::No;
    }
    if d.first() != Some(&4) {
        return Verdict::No;
    }
    let ptype = d.get(1).copied().unwrap_or(0xff);
    let Some(name) = cl_ptype(ptype) else {
        return Verdict::No;
    };
    let drep = d.get(4..8).unwrap_or(&[]);
    if !drep_ok(drep) {
        return Verdict::No;
    }
    let le = drep.first().is_some_and(|&b| b & 0x10 != 0);
    let len = u16_at(d, 74, le).unwrap_or(0) as usize;
    let auth_proto = d.get(78).copied().unwrap_or(0);
    let body = d.len() - 80;
    if (auth_proto == 0 && len != body) || len > body {
        return Verdict::No;
    }
    let opnum = u16_at(d, 68, le).unwrap_or(0);
    let iface = uuid(d, 24, le).unwrap_or_default();
    let label = interface_name(&iface)
        .map(|n| format!("{n} "))
        .unwrap_or_default();
    let m = Match::new(format!(
        "DCE/RPC v4 connectionless {name} (interface {label}{iface}, opnum {opnum}, body {len} bytes)"
    ));
    Verdict::Yes(if is_profinet(&iface) {
        m.with_app("PROFINET_IO")
    } else {
        m
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use netsift_proto::Direction::{ToClient, ToServer};

    // A real bind (atsvc over \PIPE\atsvc) from Suricata's DCERPC parser
    // tests (rust/src/dcerpc, "20171220_smb_at_schedule.pcap", OISF issue
    // 3109): the nDPI corpus has no TCP bind.
    const BIND: &[u8] = include_bytes!("testdata/bind_tcp.bin");
    // kerberos.pcap frame 22 (49155 -> 49165): bind_ack with secondary
    // address "49155".
    const BIND_ACK: &[u8] = include_bytes!("testdata/bind_ack_tcp.bin");
    // profinet-io-le.pcap frames 1 and 2 (UDP 1566 <-> 34964):
    // connectionless request and response, PNIO device interface.
    const CL_REQ: &[u8] = include_bytes!("testdata/cl_request_udp.bin");
    const CL_RESP: &[u8] = include_bytes!("testdata/cl_response_udp.bin");

    #[test]
    fn connection_oriented_real() {
        let e = evidence(run(&Dcerpc, Transport::Tcp, ToServer, BIND, &[]));
        assert_eq!(
            e,
            "DCE/RPC v5 bind PDU (frag_length 160, call_id 2, interface atsvc \
             1ff70682-0a51-30e8-076d-740be8cee98b v1)"
        );
        let e = evidence(run(&Dcerpc, Transport::Tcp, ToClient, BIND_ACK, &[]));
        assert!(
            e.starts_with("DCE/RPC v5 bind_ack PDU (frag_length 284"),
            "{e}"
        );
    }

    #[test]
    fn connectionless_real() {
        match run(&Dcerpc, Transport::Udp, ToServer, CL_REQ, &[]) {
            Probe::Match(m) => {
                assert_eq!(m.app.as_deref(), Some("PROFINET_IO"));
                assert!(m.evidence.contains("connectionless request (interface PNIO device dea00001-6c97-11d1-8271-00a02442df7d"), "{}", m.evidence);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            run(&Dcerpc, Transport::Udp, ToClient, CL_RESP, &[]),
            Probe::Match(_)
        ));
        // One byte more or less breaks the body length.
        let mut more = CL_REQ.to_vec();
        more.push(0);
        assert_eq!(
            run(&Dcerpc, Transport::Udp, ToServer, &more, &[]),
            Probe::NoMatch
        );
    }

    #[test]
    fn first_bytes_declared() {
        for (t, dir, d) in [
            (Transport::Tcp, ToServer, BIND),
            (Transport::Tcp, ToClient, BIND_ACK),
            (Transport::Udp, ToServer, CL_REQ),
            (Transport::Udp, ToClient, CL_RESP),
        ] {
            crate::testkit::first_bytes_hold(&Dcerpc, &input(t, dir, d, &[], 0));
        }
    }

    #[test]
    fn truncation() {
        for d in [BIND, BIND_ACK] {
            check_prefixes(&Dcerpc, Transport::Tcp, ToServer, d, &[]);
        }
        for d in [CL_REQ, CL_RESP] {
            check_prefixes(&Dcerpc, Transport::Udp, ToServer, d, &[]);
        }
    }

    #[test]
    fn negatives_and_random() {
        assert_no_claim_on_others(&Dcerpc, Transport::Tcp);
        assert_no_claim_on_others(&Dcerpc, Transport::Udp);
        assert_random_rate(&Dcerpc, Transport::Tcp);
        assert_random_rate(&Dcerpc, Transport::Udp);
        // Bad drep, bad version.
        let mut bad = BIND.to_vec();
        bad[4] = 0x20;
        assert_eq!(
            run(&Dcerpc, Transport::Tcp, ToServer, &bad, &[]),
            Probe::NoMatch
        );
        let mut bad = BIND.to_vec();
        bad[0] = 4;
        assert_eq!(
            run(&Dcerpc, Transport::Tcp, ToServer, &bad, &[]),
            Probe::NoMatch
        );
    }

    #[test]
    fn first_packet_on_a_non_standard_port() {
        match crate::first_packet::identify_first_payload(Transport::Tcp, ToServer, 8080, BIND) {
            crate::FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "DCERPC"),
            other => panic!("{other:?}"),
        }
    }
}
