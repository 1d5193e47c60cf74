//! MySQL / MariaDB client/server protocol (MySQL Internals Manual,
//! "Client/Server Protocol"; MariaDB KB "Connection").
//!
//! MySQL is server-speaks-first. Every message is a packet:
//! "int<3> payload_length, int<1> sequence_id, string<var> payload".
//!
//! * Server greeting, `Protocol::HandshakeV10`: "int<1> protocol version
//!   (Always 10), string<NUL> server version, int<4> thread id,
//!   string[8] auth-plugin-data-part-1, int<1> filler (0x00),
//!   int<2> capability flags (lower 2 bytes) ...". `HandshakeV9` (protocol
//!   9): version string, thread id, NUL-terminated scramble. A server that
//!   refuses the connection sends an `ERR_Packet` (0xff, error code,
//!   message) with sequence 0 instead (1040 too many connections, 1129
//!   host blocked, 1130 host not allowed).
//! * Client `HandshakeResponse41` and `SSLRequest` (sequence 1):
//!   "int<4> client_flag, int<4> max_packet_size, int<1> character_set,
//!   string[23] filler (all 0x00), ..." (MariaDB: 19 zero bytes, then
//!   its extended capabilities) with `CLIENT_PROTOCOL_41` (0x200)
//!   set; an SSLRequest is exactly those 32 bytes with `CLIENT_SSL`
//!   (0x800).
//!
//! The probe decides from the server's first packet when there is one,
//! otherwise from the client's first packet (a capture that missed the
//! greeting).

use netsift_proto::bytes::{le16, le32};
use netsift_proto::{
    printable, Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

mod upgrade;

/// MySQL.
pub struct Mysql;

impl Protocol for Mysql {
    fn name(&self) -> &'static str {
        "MySQL"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[3306]
    }
    /// Only the switch to TLS is parsed ([`upgrade`]); the TLS part goes
    /// to the `tls` log.
    fn parser(&self) -> Option<Box<dyn netsift_proto::Parser>> {
        Some(crate::starttls::watch("MySQL", upgrade::rule))
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let (server, client) = match input.dir {
            Direction::ToClient => (input.data, input.peer),
            Direction::ToServer => (input.peer, input.data),
        };
        if !server.is_empty() {
            return greeting(server);
        }
        client_first(client)
    }
}

/// Header of a packet: payload length and sequence id.
fn header(d: &[u8]) -> Option<(usize, u8)> {
    let h = d.get(..4)?;
    let len = usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16;
    Some((len, h[3]))
}

/// A server version string: printable, starting with a digit
/// ("8.0.33", "5.5.5-10.6.12-MariaDB-0ubuntu0.22.04.1").
fn version_ok(v: &[u8]) -> bool {
    !v.is_empty()
        && v.len() <= 80
        && v.first().is_some_and(u8::is_ascii_digit)
        && v.iter().all(|&b| (0x20..0x7f).contains(&b))
}

const CLIENT_PROTOCOL_41: u32 = 0x200;
const CLIENT_SSL: u32 = 0x800;

fn greeting(s: &[u8]) -> Probe {
    // Need the 4-byte header and the protocol byte.
    let Some((len, seq)) = header(s) else {
        return Probe::NeedMore;
    };
    // "sequence_id ... starts at 0": the greeting is the server's first
    // packet of the connection phase.
    if seq != 0 || !(1..=2048).contains(&len) {
        return Probe::NoMatch;
    }
    let Some(&proto) = s.get(4) else {
        return Probe::NeedMore;
    };
    let Some(p) = s.get(4..4 + len) else {
        // Incomplete: the greeting is short, wait for all of it; but only
        // while what we have is plausible.
        return if proto == 10 || proto == 9 || proto == 0xff {
            Probe::NeedMore
        } else {
            Probe::NoMatch
        };
    };
    match proto {
        9 | 10 => {
            // "string<NUL> server version".
            let Some(nul) = p.iter().skip(1).position(|&b| b == 0) else {
                return Probe::NoMatch;
            };
            let ver = p.get(1..1 + nul).unwrap_or(&[]);
            if !version_ok(ver) {
                return Probe::NoMatch;
            }
            let rest = 1 + nul + 1;
            if proto == 10 {
                // "int<4> thread id, string[8] auth-plugin-data-part-1,
                // int<1> filler" (0x00), "int<2> capability flags".
                if p.get(rest + 12) != Some(&0) || p.len() < rest + 15 {
                    return Probe::NoMatch;
                }
                let caps = le16(p, rest + 13).unwrap_or(0);
                // HandshakeV10 servers all speak 4.1 ("CLIENT_PROTOCOL_41").
                if u32::from(caps) & CLIENT_PROTOCOL_41 == 0 {
                    return Probe::NoMatch;
                }
            } else {
                // V9: "int<4> thread id, string<NUL> scramble", and the
                // packet ends there.
                let scr = p.get(rest + 4..).unwrap_or(&[]);
                if scr.last() != Some(&0) || scr.len() > 21 {
                    return Probe::NoMatch;
                }
            }
            let what = if ver.windows(7).any(|w| w == b"MariaDB") {
                "MariaDB"
            } else {
                "MySQL"
            };
            Probe::Match(Match::new(format!(
                "server greeting {what} protocol {proto}, version {}",
                printable(ver, 48)
            )))
        }
        0xff => {
            // ERR_Packet: "int<1> header 0xFF, int<2> error_code,
            // string<EOF> human readable error message".
            let code = le16(p, 1).unwrap_or(0);
            let msg = p.get(3..).unwrap_or(&[]);
            if matches!(code, 1040 | 1129 | 1130)
                && msg.len() >= 8
                && msg.iter().all(|&b| (0x20..0x7f).contains(&b))
            {
                Probe::Match(Match::new(format!(
                    "server refused the connection: error {code} '{}'",
                    printable(msg, 60)
                )))
            } else {
                Probe::NoMatch
            }
        }
        _ => Probe::NoMatch,
    }
}

fn client_first(c: &[u8]) -> Probe {
    let Some((len, seq)) = header(c) else {
        return Probe::NeedMore;
    };
    // The client's first packet answers the greeting: sequence 1, and is at
    // least the 32 fixed bytes of HandshakeResponse41 / SSLRequest.
    if seq != 1 || !(32..=4096).contains(&len) {
        return Probe::NoMatch;
    }
    let fixed = match c.get(4..36) {
        Some(f) => f,
        None => return Probe::NeedMore,
    };
    let flags = le32(fixed, 0).unwrap_or(0);
    // "string[23] filler to the size of the handhshake response packet.
    // All 0s." MariaDB: "string<19> reserved", then "int<4> extended client
    // capabilities" when the client is MariaDB, so only 19 bytes are zero.
    if flags & CLIENT_PROTOCOL_41 == 0 || fixed.get(9..28).is_none_or(|f| f.iter().any(|&b| b != 0))
    {
        return Probe::NoMatch;
    }
    if len == 32 {
        if flags & CLIENT_SSL == 0 {
            return Probe::NoMatch;
        }
        return Probe::Match(Match::new(format!(
            "client SSLRequest (capabilities 0x{flags:08x})"
        )));
    }
    // "string<NUL> username".
    let Some(body) = c.get(36..4 + len) else {
        return Probe::NeedMore;
    };
    let Some(nul) = body.iter().position(|&b| b == 0) else {
        return Probe::NoMatch;
    };
    let user = body.get(..nul).unwrap_or(&[]);
    if user.len() > 128 || user.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Probe::NoMatch;
    }
    Probe::Match(Match::new(format!(
        "client HandshakeResponse41, user '{}'",
        printable(user, 32)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use netsift_proto::Direction::{ToClient, ToServer};

    // mysql.pcapng (192.168.88.231:36732 -> 192.168.88.201:3306): frame 4
    // MariaDB greeting, frame 6 the client's HandshakeResponse41.
    const GREETING: &[u8] = include_bytes!("testdata/mariadb_greeting.bin");
    const RESPONSE: &[u8] = include_bytes!("testdata/client_handshake_response.bin");

    fn probe(dir: Direction, data: &[u8], peer: &[u8]) -> Probe {
        run(&Mysql, Transport::Tcp, dir, data, peer)
    }

    #[test]
    fn real_greeting_and_response() {
        assert_eq!(
            evidence(probe(ToClient, GREETING, &[])),
            "server greeting MariaDB protocol 10, version 5.5.5-10.6.12-MariaDB-0ubuntu0.22.04.1"
        );
        assert!(evidence(probe(ToServer, RESPONSE, GREETING)).contains("MariaDB"));
        assert_eq!(
            evidence(probe(ToServer, RESPONSE, &[])),
            "client HandshakeResponse41, user 'admin'"
        );
    }

    #[test]
    fn ssl_request_and_errors() {
        let mut ssl = vec![32, 0, 0, 1, 0x05, 0xaa, 0x0f, 0x00, 0, 0, 0, 1, 0x21];
        ssl.extend_from_slice(&[0; 23]);
        assert!(evidence(probe(ToServer, &ssl, &[])).starts_with("client SSLRequest"));
        let mut err = vec![0, 0, 0, 0, 0xff, 0x6a, 0x04];
        err.extend_from_slice(b"Host '10.0.0.1' is not allowed to connect to this MySQL server");
        err[0] = (err.len() - 4) as u8;
        assert!(evidence(probe(ToClient, &err, &[])).contains("error 1130"));
    }

    #[test]
    fn truncation() {
        check_prefixes(&Mysql, Transport::Tcp, ToClient, GREETING, &[]);
        check_prefixes(&Mysql, Transport::Tcp, ToServer, RESPONSE, &[]);
        for n in 0..GREETING.len() {
            assert_eq!(probe(ToClient, &GREETING[..n], &[]), Probe::NeedMore, "{n}");
        }
        for n in 0..RESPONSE.len() {
            assert_eq!(probe(ToServer, &RESPONSE[..n], &[]), Probe::NeedMore, "{n}");
        }
    }

    #[test]
    fn other_protocols_and_random() {
        assert_no_claim_on_others(&Mysql, Transport::Tcp);
        for d in [
            &b"+OK POP3 ready\r\n"[..],
            b"220 smtp.example.com ESMTP\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        ] {
            assert_eq!(probe(ToClient, d, &[]), Probe::NoMatch);
        }
        assert_random_rate(&Mysql, Transport::Tcp);
    }

    #[test]
    fn first_packet_on_a_non_standard_port() {
        match crate::first_packet::identify_first_payload(Transport::Tcp, ToClient, 80, GREETING) {
            crate::FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "MySQL"),
            other => panic!("{other:?}"),
        }
    }
}
