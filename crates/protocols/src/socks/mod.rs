//! SOCKS 4/4a and 5, identified from the client's opening and the server's
//! answer.
//!
//! SOCKS5 (RFC 1928 §3): "The client connects to the server, and sends a
//! version identifier/method selection message: VER NMETHODS METHODS
//! (1, 1, 1 to 255)". "The server selects from one of the methods given
//! in METHODS, and sends a METHOD selection message: VER METHOD". §4:
//! the request is "VER CMD RSV ATYP DST.ADDR DST.PORT" with "CMD CONNECT
//! X'01', BIND X'02', UDP ASSOCIATE X'03'", "RSV RESERVED" (X'00'),
//! "ATYP IP V4 address X'01', DOMAINNAME X'03', IP V6 address X'04'".
//!
//! SOCKS4 ("SOCKS: A protocol for TCP proxy across firewalls", Ying-Da
//! Lee): "VN CD DSTPORT DSTIP USERID NULL" with VN 4 and CD 1 (CONNECT)
//! or 2 (BIND); the reply is "VN CD DSTPORT DSTIP" with "VN is the version
//! of the reply code and should be 0" and CD 90..93. SOCKS4a: "set the
//! first three bytes of DSTIP to NULL and the last byte to a non-zero
//! value", the domain name follows USERID, "terminated with another NULL".
//!
//! The greetings are tiny, so a flow is only claimed with both sides in
//! agreement (the server's answer fits the client's opening), or with a
//! SOCKS5 greeting followed by a complete request from the client.

use netsift_proto::{
    printable, Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// SOCKS.
pub struct Socks;

/// SOCKS4 USERID and SOCKS4a host names longer than this are not
/// expected.
const MAX_NAME: usize = 255;

impl Protocol for Socks {
    fn name(&self) -> &'static str {
        "SOCKS"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[1080]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let (client, server) = match input.dir {
            Direction::ToServer => (input.data, input.peer),
            // The server never speaks first.
            Direction::ToClient if input.peer.is_empty() => return Probe::NoMatch,
            Direction::ToClient => (input.peer, input.data),
        };
        match client.first() {
            None => Probe::NeedMore,
            Some(4) => socks4(client, server),
            Some(5) => socks5(client, server),
            Some(_) => Probe::NoMatch,
        }
    }
}

enum P<T> {
    Ok(T),
    Short,
    Bad,
}

/// A NUL-terminated printable name starting at `at`: the index after NUL.
fn cstr(d: &[u8], at: usize, allow_empty: bool) -> P<usize> {
    let rest = d.get(at..).unwrap_or(&[]);
    for (i, &b) in rest.iter().take(MAX_NAME + 1).enumerate() {
        if b == 0 {
            return if i == 0 && !allow_empty {
                P::Bad
            } else {
                P::Ok(at + i + 1)
            };
        }
        if !(0x20..0x7f).contains(&b) {
            return P::Bad;
        }
    }
    if rest.len() > MAX_NAME {
        P::Bad
    } else {
        P::Short
    }
}

fn socks4(c: &[u8], s: &[u8]) -> Probe {
    // VN CD DSTPORT(2) DSTIP(4) USERID NUL [HOST NUL].
    if let Some(&cd) = c.get(1) {
        if cd != 1 && cd != 2 {
            return Probe::NoMatch;
        }
    }
    if c.len() < 8 {
        return Probe::NeedMore;
    }
    let port = u16::from_be_bytes([c[2], c[3]]);
    let ip = [c[4], c[5], c[6], c[7]];
    if port == 0 || ip == [0, 0, 0, 0] {
        return Probe::NoMatch;
    }
    let end = match cstr(c, 8, true) {
        P::Ok(e) => e,
        P::Short => return Probe::NeedMore,
        P::Bad => return Probe::NoMatch,
    };
    let socks4a = ip[..3] == [0, 0, 0];
    let (end, target) = if socks4a {
        match cstr(c, end, false) {
            P::Ok(e) => (e, printable(&c[end..e - 1], 80)),
            P::Short => return Probe::NeedMore,
            P::Bad => return Probe::NoMatch,
        }
    } else {
        (end, format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3]))
    };
    // The client waits for the reply: nothing else may be in its stream
    // before the server answered.
    if s.is_empty() {
        return if c.len() == end {
            Probe::NeedMore
        } else {
            Probe::NoMatch
        };
    }
    // Reply: VN 0, CD 90 (granted) .. 93, DSTPORT, DSTIP.
    if s.first().is_some_and(|&b| b != 0) || s.get(1).is_some_and(|b| !(90..=93).contains(b)) {
        return Probe::NoMatch;
    }
    if s.len() < 8 {
        return Probe::NeedMore;
    }
    let v = if socks4a { "SOCKS4a" } else { "SOCKS4" };
    let cmd = if c[1] == 1 { "CONNECT" } else { "BIND" };
    Probe::Match(Match::new(format!(
        "{v} {cmd} to {target}:{port}, server replied {}",
        s[1]
    )))
}

fn socks5(c: &[u8], s: &[u8]) -> Probe {
    // Greeting: VER NMETHODS METHODS.
    let Some(&n) = c.get(1) else {
        return Probe::NeedMore;
    };
    if n == 0 {
        return Probe::NoMatch;
    }
    let g_end = 2 + usize::from(n);
    // RFC 1928 §3: X'00' .. X'03' defined, X'04'-X'7F' IANA assigned
    // (up to X'09' so far), X'80'-X'FE' private; X'FF' is only a reply.
    let methods = &c[2..c.len().min(g_end)];
    if !methods
        .iter()
        .all(|&m| m <= 0x09 || (0x80..=0xfe).contains(&m))
    {
        return Probe::NoMatch;
    }
    if c.len() < g_end {
        return Probe::NeedMore;
    }
    let methods = &c[2..g_end];
    // The client's request, if it is there already.
    let req = request5(c.get(g_end..).unwrap_or(&[]));
    if let P::Bad = req {
        // Username/password sub-negotiation (RFC 1929 §2, "VER X'01'")
        // comes between greeting and request.
        if c.get(g_end) != Some(&1) {
            return Probe::NoMatch;
        }
    }
    // The server's METHOD selection.
    let chosen = match s {
        [] => None,
        [5] => return Probe::NeedMore,
        [5, m, ..] if *m == 0xff || methods.contains(m) => Some(*m),
        _ => return Probe::NoMatch,
    };
    let target = match &req {
        P::Ok(t) => Some(t.as_str()),
        _ => None,
    };
    match (chosen, target) {
        (None, None) => Probe::NeedMore,
        (None, Some(t)) => Probe::Match(Match::new(format!(
            "SOCKS5 greeting ({n} methods) then request {t}"
        ))),
        (Some(m), t) => {
            let mut ev = format!(
                "SOCKS5 greeting ({n} methods), server chose method {m} ({})",
                method_name(m)
            );
            if let Some(t) = t {
                ev.push_str(&format!(", request {t}"));
            }
            Probe::Match(Match::new(ev))
        }
    }
}

fn method_name(m: u8) -> &'static str {
    match m {
        0 => "no authentication",
        1 => "GSSAPI",
        2 => "username/password",
        0xff => "no acceptable method",
        _ => "other",
    }
}

/// RFC 1928 §4 request: "CONNECT host:port" text when complete.
fn request5(r: &[u8]) -> P<String> {
    let head = &r[..r.len().min(4)];
    let ok = head.iter().enumerate().all(|(i, &b)| match i {
        0 => b == 5,
        1 => (1..=3).contains(&b),
        2 => b == 0,
        _ => matches!(b, 1 | 3 | 4),
    });
    if !ok {
        return P::Bad;
    }
    if r.len() < 5 {
        return P::Short;
    }
    let (addr_end, host) = match r[3] {
        1 => (8, None),
        4 => (20, None),
        _ => {
            let l = usize::from(r[4]);
            if l == 0 {
                return P::Bad;
            }
            (5 + l, Some(5..5 + l))
        }
    };
    let Some(port) = r.get(addr_end..addr_end + 2) else {
        return P::Short;
    };
    let port = u16::from_be_bytes([port[0], port[1]]);
    let cmd = match r[1] {
        1 => "CONNECT",
        2 => "BIND",
        _ => "UDP ASSOCIATE",
    };
    let addr = match (r[3], host) {
        (_, Some(h)) => {
            let name = r.get(h).unwrap_or(&[]);
            if !name.iter().all(|&b| (0x21..0x7f).contains(&b)) {
                return P::Bad;
            }
            printable(name, 80)
        }
        (1, None) => format!("{}.{}.{}.{}", r[4], r[5], r[6], r[7]),
        _ => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&r[4..20]);
            format!("[{}]", std::net::Ipv6Addr::from(a))
        }
    };
    P::Ok(format!("{cmd} {addr}:{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::first_packet::{identify_first_payload, FirstVerdict};
    use crate::testkit::{
        check_prefixes, evidence, foreign_never_match, random_matches, run, C, S,
    };

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const GREETING: &[u8] = include_bytes!("testdata/v5_greeting.bin");
    const METHOD: &[u8] = include_bytes!("testdata/v5_method.bin");
    const CONNECT4: &[u8] = include_bytes!("testdata/v5_connect_ipv4.bin");
    const REPLY: &[u8] = include_bytes!("testdata/v5_reply.bin");
    const CONNECT_V6: &[u8] = include_bytes!("testdata/v5_connect_domain.bin");
    const MS_GREETING: &[u8] = include_bytes!("testdata/v5_greeting_microsocks.bin");
    const MS_METHOD: &[u8] = include_bytes!("testdata/v5_method_microsocks.bin");
    const MS_CONNECT: &[u8] = include_bytes!("testdata/v5_connect_domain_microsocks.bin");

    #[test]
    fn socks5_both_sides() {
        assert_eq!(
            evidence(run(&Socks, TCP, S, METHOD, GREETING)),
            "SOCKS5 greeting (2 methods), server chose method 0 (no authentication)"
        );
        assert_eq!(
            evidence(run(&Socks, TCP, C, GREETING, METHOD)),
            "SOCKS5 greeting (2 methods), server chose method 0 (no authentication)"
        );
        let c = [GREETING, CONNECT4].concat();
        let s = [METHOD, REPLY].concat();
        assert_eq!(
            evidence(run(&Socks, TCP, C, &c, &s)),
            "SOCKS5 greeting (2 methods), server chose method 0 (no authentication), \
             request CONNECT 128.95.155.198:80"
        );
        let e = evidence(run(&Socks, TCP, S, MS_METHOD, MS_CONNECT));
        assert!(e.starts_with("SOCKS5 greeting (2 methods)"), "{e}");
    }

    #[test]
    fn socks5_client_side_alone() {
        // The greeting alone is too little.
        assert_eq!(run(&Socks, TCP, C, GREETING, b""), Probe::NeedMore);
        assert_eq!(run(&Socks, TCP, C, MS_GREETING, b""), Probe::NeedMore);
        // Greeting then a full request (IPv6 address).
        let c = [GREETING, CONNECT_V6].concat();
        let e = evidence(run(&Socks, TCP, C, &c, b""));
        assert_eq!(
            e,
            "SOCKS5 greeting (2 methods) then request CONNECT [2a00:1450:4002:416::200e]:443"
        );
        assert_eq!(
            evidence(run(&Socks, TCP, C, MS_CONNECT, b"")),
            "SOCKS5 greeting (2 methods) then request CONNECT localhost:18081"
        );
    }

    #[test]
    fn socks4_and_4a() {
        let req = b"\x04\x01\x00\x50\x5d\xb8\xd8\x22fred\x00";
        let reply = b"\x00\x5a\x00\x00\x00\x00\x00\x00";
        assert_eq!(run(&Socks, TCP, C, req, b""), Probe::NeedMore);
        assert_eq!(
            evidence(run(&Socks, TCP, S, reply, req)),
            "SOCKS4 CONNECT to 93.184.216.34:80, server replied 90"
        );
        let req4a = b"\x04\x01\x01\xbb\x00\x00\x00\x01\x00example.com\x00";
        assert_eq!(
            evidence(run(&Socks, TCP, S, reply, req4a)),
            "SOCKS4a CONNECT to example.com:443, server replied 90"
        );
        assert_eq!(
            run(&Socks, TCP, S, b"\x01\x5a\0\0\0\0\0\0", req),
            Probe::NoMatch
        );
    }

    #[test]
    fn disagreements() {
        // The server picks a method the client did not offer.
        assert_eq!(run(&Socks, TCP, S, b"\x05\x02", GREETING), Probe::NoMatch);
        assert_eq!(run(&Socks, TCP, S, b"\x04\x00", GREETING), Probe::NoMatch);
        assert_eq!(run(&Socks, TCP, S, METHOD, b""), Probe::NoMatch);
        assert_eq!(run(&Socks, TCP, C, b"\x05\x00", METHOD), Probe::NoMatch);
        foreign_never_match(&Socks, TCP);
    }

    #[test]
    fn prefixes_are_consistent() {
        check_prefixes(&Socks, TCP, S, METHOD, GREETING);
        check_prefixes(&Socks, TCP, C, &[GREETING, CONNECT_V6].concat(), b"");
        check_prefixes(&Socks, TCP, C, MS_CONNECT, b"");
        check_prefixes(
            &Socks,
            TCP,
            S,
            b"\x00\x5a\x00\x00\x00\x00\x00\x00",
            b"\x04\x01\x00\x50\x5d\xb8\xd8\x22fred\x00",
        );
    }

    #[test]
    fn first_packet_api() {
        match identify_first_payload(TCP, C, 80, &[GREETING, CONNECT4].concat()) {
            FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "SOCKS"),
            v => panic!("{v:?}"),
        }
        match identify_first_payload(TCP, C, 80, GREETING) {
            FirstVerdict::NeedMore { candidates } => assert!(candidates.contains(&"SOCKS")),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn random_bytes_are_not_socks() {
        let hits = random_matches(&Socks, TCP, 100_000, 0x1080, None);
        assert!(hits < 100, "{hits} random matches");
        let hits = random_matches(&Socks, TCP, 100_000, 0x1081, Some(GREETING));
        assert!(hits < 100, "{hits} random matches against a real greeting");
    }
}
