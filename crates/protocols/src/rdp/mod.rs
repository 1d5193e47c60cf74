//! RDP, identified from the X.224 connection setup (MS-RDPBCGR §2.2.1.1
//! Client X.224 Connection Request PDU, §2.2.1.2 Server X.224 Connection
//! Confirm PDU) carried in TPKT (RFC 1006 §6), and over UDP from the
//! MS-RDPEUDP SYN / SYN+ACK datagrams (MS-RDPEUDP §2.2.2.1, §3.1.5.1).
//!
//! A bare X.224 CR/CC is also the start of ISO-TSAP users such as S7comm;
//! those carry TSAP parameters (codes 0xC0-0xC2) in the variable part, so
//! only a variable part RDP defines (routing token or cookie, then an
//! RDP_NEG_REQ/RSP/FAILURE structure) or none at all is accepted.

use netsift_proto::{
    printable, Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

mod upgrade;

/// RDP.
pub struct Rdp;

/// Connection requests with a routing token stay small.
const MAX_CR: usize = 2048;

impl Protocol for Rdp {
    fn name(&self) -> &'static str {
        "RDP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp, Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[3389]
    }
    /// Only the switch to TLS is parsed ([`upgrade`]); the TLS part goes
    /// to the `tls` log.
    fn parser(&self) -> Option<Box<dyn netsift_proto::Parser>> {
        Some(crate::starttls::watch("RDP", upgrade::rule))
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        match input.transport {
            Transport::Tcp => tcp(input),
            Transport::Udp => match rdpeudp(input) {
                Some(ev) => Probe::Match(Match::new(ev)),
                None => Probe::NoMatch,
            },
            Transport::Ip(_) => Probe::NoMatch,
        }
    }
}

fn who(dir: Direction) -> &'static str {
    match dir {
        Direction::ToServer => "client sent",
        Direction::ToClient => "server sent",
    }
}

fn tcp(input: &ProbeInput<'_>) -> Probe {
    let d = input.data;
    // RFC 1006 §6: TPKT: vrsn = 3, reserved = 0, packet length (16 bits,
    // whole TPKT including this header).
    if d.first().is_some_and(|&v| v != 3) || d.get(1).is_some_and(|&r| r != 0) {
        return Probe::NoMatch;
    }
    let (Some(&h), Some(&l)) = (d.get(2), d.get(3)) else {
        return Probe::NeedMore;
    };
    let tpkt_len = u16::from_be_bytes([h, l]) as usize;
    // X.224 CR/CC fixed part is 7 octets (LI, code, DST-REF, SRC-REF,
    // class option): the smallest TPKT is 4 + 7 = 11.
    if !(11..=MAX_CR).contains(&tpkt_len) {
        return Probe::NoMatch;
    }
    // X.224 (ISO 8073 §13.3): LI = header length excluding the LI octet;
    // for RDP's CR/CC the TPDU fills the TPKT, so LI = tpkt_len - 5.
    if d.get(4).is_some_and(|&li| li as usize != tpkt_len - 5) {
        return Probe::NoMatch;
    }
    // CR = 0xE0, CC = 0xD0, with CDT (low nibble) 0 in class 0.
    let code = match d.get(5) {
        None => return Probe::NeedMore,
        Some(&c @ (0xe0 | 0xd0)) => c,
        Some(_) => return Probe::NoMatch,
    };
    // CR: DST-REF "MUST be zero" (MS-RDPBCGR §2.2.1.1 x224Crq); class
    // option 0 (class 0, no extended formats) for both.
    if code == 0xe0 && d.get(6..8).is_some_and(|r| r != [0, 0]) {
        return Probe::NoMatch;
    }
    if d.get(10).is_some_and(|&c| c != 0) {
        return Probe::NoMatch;
    }
    let Some(tpdu) = d.get(..tpkt_len) else {
        return Probe::NeedMore;
    };
    let var = &tpdu[11..];
    let dir = who(input.dir);
    if code == 0xe0 {
        connection_request(dir, var)
    } else {
        connection_confirm(dir, var)
    }
}

/// MS-RDPBCGR §2.2.1.1: after the X.224 fixed part: routingToken
/// (variable, "Cookie: msts=...\r\n") or cookie ("Cookie: mstshash=
/// IDENTIFIER\r\n"), both optional, then the optional 8-byte rdpNegReq
/// (§2.2.1.1.1: type = 0x01, flags, length = 0x0008, requestedProtocols),
/// then optionally rdpCorrelationInfo (36 bytes, flag 0x08 in rdpNegReq).
fn connection_request(dir: &str, var: &[u8]) -> Probe {
    let mut p = 0;
    let mut cookie: Option<&[u8]> = None;
    if var.starts_with(b"Cookie: ") {
        let Some(crlf) = var.windows(2).position(|w| w == b"\r\n") else {
            return Probe::NoMatch;
        };
        cookie = Some(&var[8..crlf]);
        p = crlf + 2;
    }
    let rest = &var[p..];
    let mut protocols = None;
    if !rest.is_empty() {
        // RDP_NEG_REQ: type 1, flags (0x01/0x02/0x08 defined), length 8 LE.
        if rest.len() < 8 || rest[0] != 0x01 || rest[1] & !0x0b != 0 || rest[2..4] != [8, 0] {
            return Probe::NoMatch;
        }
        let requested = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
        // PROTOCOL_RDP 0, SSL 1, HYBRID 2, RDSTLS 4, HYBRID_EX 8, RDSAAD 0x10.
        if requested & !0x1f != 0 {
            return Probe::NoMatch;
        }
        // Only rdpCorrelationInfo (36 bytes) may follow.
        if !(rest.len() == 8 || (rest.len() == 8 + 36 && rest[1] & 0x08 != 0 && rest[8] == 0x06)) {
            return Probe::NoMatch;
        }
        protocols = Some(requested);
    }
    let mut ev = format!("{dir} X.224 Connection Request in TPKT");
    match cookie {
        Some(c) => ev.push_str(&format!(", cookie '{}'", printable(c, 100))),
        None if protocols.is_none() => ev.push_str(" (no cookie, no RDP_NEG_REQ)"),
        None => {}
    }
    if let Some(r) = protocols {
        ev.push_str(&format!(", RDP_NEG_REQ protocols 0x{r:x}"));
    }
    Probe::Match(Match::new(ev))
}

/// MS-RDPBCGR §2.2.1.2: optional rdpNegData: RDP_NEG_RSP (type 0x02,
/// §2.2.1.2.1) or RDP_NEG_FAILURE (type 0x03, §2.2.1.2.2), 8 bytes each.
fn connection_confirm(dir: &str, var: &[u8]) -> Probe {
    let neg = match var {
        [] => String::new(),
        [0x02, _flags, 8, 0, a, b, c, d] => {
            format!(
                ", RDP_NEG_RSP selected protocol 0x{:x}",
                u32::from_le_bytes([*a, *b, *c, *d])
            )
        }
        [0x03, _flags, 8, 0, a, b, c, d] => {
            format!(
                ", RDP_NEG_FAILURE code {}",
                u32::from_le_bytes([*a, *b, *c, *d])
            )
        }
        _ => return Probe::NoMatch,
    };
    Probe::Match(Match::new(format!(
        "{dir} X.224 Connection Confirm in TPKT{neg}"
    )))
}

/// MS-RDPEUDP §2.2.2.1 RDPUDP_FEC_HEADER: snSourceAck (4), uReceiveWindowSize
/// (2), uFlags (2); §2.2.2.5 RDPUDP_SYNDATA_PAYLOAD: snInitialSequenceNumber
/// (4), uUpStreamMtu (2), uDownStreamMtu (2), both "MUST be greater than or
/// equal to 1132 and less than or equal to 1232". §3.1.5.1.1: the SYN
/// datagram's snSourceAck is -1, and it is padded to 1232 bytes.
fn rdpeudp(input: &ProbeInput<'_>) -> Option<String> {
    const SYN: u16 = 0x0001;
    const ACK: u16 = 0x0004;
    let d = input.data;
    if d.len() < 1232 {
        return None;
    }
    let be16 =
        |at: usize| -> Option<u16> { Some(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?])) };
    let ack = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
    let flags = be16(6)?;
    let up = be16(12)?;
    let down = be16(14)?;
    let mtu_ok = |m: u16| (1132..=1232).contains(&m);
    if flags & SYN == 0 || !mtu_ok(up) || !mtu_ok(down) {
        return None;
    }
    if flags & ACK == 0 {
        // Client SYN.
        if ack != 0xffff_ffff {
            return None;
        }
        return Some(format!(
            "{} MS-RDPEUDP SYN, flags 0x{flags:04x}, MTU {up}/{down}",
            who(input.dir)
        ));
    }
    // Server SYN+ACK: acknowledges the client's initial sequence number
    // when the SYN was seen.
    if let Some(isn) = input.peer.get(8..12) {
        if isn != &d[0..4] {
            return None;
        }
    } else if ack == 0xffff_ffff {
        return None;
    }
    Some(format!(
        "{} MS-RDPEUDP SYN+ACK, flags 0x{flags:04x}, MTU {up}/{down}",
        who(input.dir)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::first_packet::{identify_first_payload, FirstVerdict};
    use crate::testkit::{
        check_prefixes, evidence, probe1 as run, probe_at as run_full, random_matches,
    };

    const TCP: Transport = Transport::Tcp;
    const UDP: Transport = Transport::Udp;
    const C: Direction = Direction::ToServer;
    const S: Direction = Direction::ToClient;

    // Sources: testdata/README.md.
    const CR: &[u8] = include_bytes!("testdata/x224_cr_cookie.bin");
    const CC: &[u8] = include_bytes!("testdata/x224_cc.bin");
    const MCS: &[u8] = include_bytes!("testdata/mcs_connect.bin");
    const UDP_SYN: &[u8] = include_bytes!("testdata/rdpudp_syn.bin");
    const UDP_SYNACK: &[u8] = include_bytes!("testdata/rdpudp_synack.bin");
    const TLS_CH: &[u8] = include_bytes!("../tls/testdata/ch_tls12.bin");
    const HTTP_GET: &[u8] = include_bytes!("../http/testdata/get.bin");
    const QUIC: &[u8] = include_bytes!("../quic/testdata/v1_initial.bin");

    /// An S7comm (ISO-TSAP) COTP Connection Request: TSAP parameters, not RDP.
    const S7_CR: &[u8] =
        b"\x03\x00\x00\x16\x11\xe0\x00\x00\x00\x01\x00\xc1\x02\x01\x00\xc2\x02\x01\x02\xc0\x01\x0a";

    #[test]
    fn connection_request_and_confirm() {
        let e = evidence(run(&Rdp, TCP, C, CR));
        assert_eq!(
            e,
            "client sent X.224 Connection Request in TPKT, cookie 'mstshash=Administr'"
        );
        let e = evidence(run(&Rdp, TCP, S, CC));
        assert_eq!(e, "server sent X.224 Connection Confirm in TPKT");
        // A modern request with RDP_NEG_REQ (TLS | CredSSP).
        let neg = b"\x03\x00\x00\x29\x24\xe0\x00\x00\x00\x00\x00Cookie: mstshash=bob\r\n\x01\x00\x08\x00\x03\x00\x00\x00";
        let e = evidence(run(&Rdp, TCP, C, neg));
        assert!(
            e.ends_with("cookie 'mstshash=bob', RDP_NEG_REQ protocols 0x3"),
            "{e}"
        );
        let rsp = b"\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x1f\x08\x00\x02\x00\x00\x00";
        let e = evidence(run(&Rdp, TCP, S, rsp));
        assert!(e.ends_with("RDP_NEG_RSP selected protocol 0x2"), "{e}");
    }

    #[test]
    fn rdpeudp() {
        let e = evidence(run(&Rdp, UDP, C, UDP_SYN));
        assert_eq!(e, "client sent MS-RDPEUDP SYN, flags 0x1801, MTU 1232/1232");
        let e = evidence(run_full(&Rdp, UDP, S, UDP_SYNACK, UDP_SYN, 0));
        assert!(e.starts_with("server sent MS-RDPEUDP SYN+ACK"), "{e}");
        // A SYN+ACK that does not acknowledge the peer's SYN.
        let mut other = UDP_SYN.to_vec();
        other[8] ^= 1;
        assert_eq!(
            run_full(&Rdp, UDP, S, UDP_SYNACK, &other, 0),
            Probe::NoMatch
        );
    }

    #[test]
    fn not_rdp() {
        assert_eq!(run(&Rdp, TCP, C, S7_CR), Probe::NoMatch);
        assert_eq!(run(&Rdp, TCP, C, MCS), Probe::NoMatch);
        assert_eq!(run(&Rdp, TCP, C, TLS_CH), Probe::NoMatch);
        assert_eq!(run(&Rdp, TCP, C, HTTP_GET), Probe::NoMatch);
        assert_eq!(run(&Rdp, UDP, C, QUIC), Probe::NoMatch);
        assert_eq!(run(&Rdp, UDP, C, &UDP_SYN[..1000]), Probe::NoMatch);
    }

    #[test]
    fn prefixes_are_consistent() {
        check_prefixes(&Rdp, TCP, C, CR, b"");
        check_prefixes(&Rdp, TCP, S, CC, b"");
        check_prefixes(&Rdp, TCP, C, S7_CR, b"");
        check_prefixes(&Rdp, UDP, C, UDP_SYN, b"");
    }

    #[test]
    fn first_packet_api_on_odd_port() {
        match identify_first_payload(TCP, C, 53, CR) {
            FirstVerdict::Match {
                protocol, evidence, ..
            } => {
                assert_eq!(protocol, "RDP");
                assert!(evidence.contains("mstshash=Administr"));
            }
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn random_bytes_are_not_rdp() {
        assert!(random_matches(&Rdp, TCP, 100_000, 0x3389, None) < 100);
        assert!(random_matches(&Rdp, UDP, 100_000, 0x3390, None) < 100);
    }
}
