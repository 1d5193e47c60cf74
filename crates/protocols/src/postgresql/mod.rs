//! PostgreSQL frontend/backend protocol (PostgreSQL docs, chapter "Frontend/
//! Backend Protocol", §55.7 "Message Formats").
//!
//! The client speaks first with a message that has no type byte:
//! * StartupMessage: "Int32 Length of message contents in bytes, including
//!   self. Int32(196608) The protocol version number. The most significant
//!   16 bits are the major version number (3 for the protocol described
//!   here). The least significant 16 bits are the minor version number", then
//!   "String parameter name, String parameter value" pairs ("user" is
//!   required) and a final zero byte.
//! * SSLRequest: "Int32(8) ... Int32(80877103) The SSL request code".
//! * GSSENCRequest: "Int32(8) ... Int32(80877104)".
//! * CancelRequest: "Int32(16) ... Int32(80877102) The cancel request
//!   code", then the process ID and secret key.
//!
//! The server answers an SSLRequest/GSSENCRequest with a single byte 'S' or
//! 'N' ("The server then responds with a single byte containing S or N"),
//! and a StartupMessage with AuthenticationXXX ('R', Int32 length, Int32
//! code) or ErrorResponse ('E').
//!
//! The client message alone is enough (a 64-bit constant header for the
//! requests, version 3.x plus NUL-terminated parameters for the startup).
//! The server side matches an 'R' authentication request whose length fits
//! its code, or 'S'/'N'/'E' only when the peer sent the request it answers.

use netsift_proto::bytes::be32;
use netsift_proto::{
    printable, Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

mod upgrade;

/// PostgreSQL.
pub struct Postgresql;

impl Protocol for Postgresql {
    fn name(&self) -> &'static str {
        "PostgreSQL"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[5432]
    }
    /// Only the switch to TLS is parsed ([`upgrade`]); the TLS part goes
    /// to the `tls` log.
    fn parser(&self) -> Option<Box<dyn netsift_proto::Parser>> {
        Some(crate::starttls::watch("PostgreSQL", upgrade::rule))
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        match input.dir {
            Direction::ToServer => match client(input.data) {
                Client::Yes(ev) => Probe::Match(Match::new(ev)),
                Client::Partial => Probe::NeedMore,
                Client::No => Probe::NoMatch,
            },
            Direction::ToClient => server(input.data, input.peer),
        }
    }
}

const SSL_REQUEST: u32 = 80_877_103;
const GSSENC_REQUEST: u32 = 80_877_104;
const CANCEL_REQUEST: u32 = 80_877_102;

enum Client {
    Yes(String),
    Partial,
    No,
}

fn client(d: &[u8]) -> Client {
    let (Some(len), Some(code)) = (be32(d, 0), be32(d, 4)) else {
        // Need the 8 bytes; the length's top bytes are zero for any of
        // these messages.
        return if d.iter().take(2).all(|&b| b == 0) {
            Client::Partial
        } else {
            Client::No
        };
    };
    match (len, code) {
        (8, SSL_REQUEST) => Client::Yes("client SSLRequest (code 80877103)".into()),
        (8, GSSENC_REQUEST) => Client::Yes("client GSSENCRequest (code 80877104)".into()),
        (16, CANCEL_REQUEST) => Client::Yes("client CancelRequest (code 80877102)".into()),
        // "The most significant 16 bits are the major version number (3)";
        // minor 0 (and 2, PostgreSQL 18's protocol 3.2).
        (9..=10_000, 0x0003_0000..=0x0003_0002) => startup(d, len as usize, code),
        _ => Client::No,
    }
}

fn startup(d: &[u8], len: usize, code: u32) -> Client {
    let Some(body) = d.get(8..len) else {
        return Client::Partial;
    };
    // "String name, String value" pairs, then "Byte1('\0') A zero byte is
    // required as a terminator after the last name/value pair".
    if body.last() != Some(&0) {
        return Client::No;
    }
    let mut user: Option<&[u8]> = None;
    let mut rest = body.get(..body.len() - 1).unwrap_or(&[]);
    let mut pairs = 0;
    while !rest.is_empty() && pairs < 64 {
        let Some(n) = rest.iter().position(|&b| b == 0) else {
            return Client::No;
        };
        let name = rest.get(..n).unwrap_or(&[]);
        rest = rest.get(n + 1..).unwrap_or(&[]);
        let Some(v) = rest.iter().position(|&b| b == 0) else {
            return Client::No;
        };
        let value = rest.get(..v).unwrap_or(&[]);
        rest = rest.get(v + 1..).unwrap_or(&[]);
        if name.is_empty() || !name.iter().all(|&b| b.is_ascii_graphic()) {
            return Client::No;
        }
        if name == b"user" {
            user = Some(value);
        }
        pairs += 1;
    }
    // "user: The database user name to connect as. Required; there is no
    // default."
    match user {
        Some(u) if rest.is_empty() => Client::Yes(format!(
            "client StartupMessage protocol {}.{}, user '{}'",
            code >> 16,
            code & 0xffff,
            printable(u, 32)
        )),
        _ => Client::No,
    }
}

/// Authentication request codes with their exact message length (None:
/// variable). §55.7: AuthenticationOk "Int32(8) ... Int32(0)",
/// KerberosV5 (2) 8, CleartextPassword (3) 8, MD5Password (5) 12 (4-byte
/// salt), GSS (7) 8, GSSContinue (8) variable, SSPI (9) 8, SASL (10)
/// variable, SASLContinue (11) variable, SASLFinal (12) variable.
fn auth_len_ok(code: u32, len: u32) -> bool {
    match code {
        0 | 2 | 3 | 7 | 9 => len == 8,
        5 => len == 12,
        8 | 10..=12 => (9..=4096).contains(&len),
        _ => false,
    }
}

fn server(s: &[u8], c: &[u8]) -> Probe {
    let peer = client(c);
    let peer_code = be32(c, 4);
    let Some(&t) = s.first() else {
        return Probe::NeedMore;
    };
    match t {
        // "the server then responds with a single byte containing S or N".
        b'S' | b'N' if matches!(peer_code, Some(SSL_REQUEST | GSSENC_REQUEST)) => {
            if matches!(peer, Client::Yes(_)) {
                let what = if peer_code == Some(SSL_REQUEST) {
                    "SSL"
                } else {
                    "GSSAPI encryption"
                };
                Probe::Match(Match::new(format!(
                    "server answered '{}' to the client's {what} request",
                    t as char
                )))
            } else {
                Probe::NoMatch
            }
        }
        b'R' => {
            let (Some(len), Some(code)) = (be32(s, 1), be32(s, 5)) else {
                return if s.get(1..).unwrap_or(&[]).iter().take(2).all(|&b| b == 0) {
                    Probe::NeedMore
                } else {
                    Probe::NoMatch
                };
            };
            if auth_len_ok(code, len) {
                Probe::Match(Match::new(format!(
                    "server authentication request 'R' code {code}"
                )))
            } else {
                Probe::NoMatch
            }
        }
        // ErrorResponse: "Byte1('E'), Int32 length, then fields: Byte1 code
        // ('S' severity ...), String value", only as an answer to a startup.
        b'E' if matches!(peer, Client::Yes(_)) => {
            let Some(len) = be32(s, 1) else {
                return Probe::NeedMore;
            };
            match s.get(5) {
                None => Probe::NeedMore,
                Some(b'S' | b'V' | b'C' | b'M') if (6..=4096).contains(&len) => Probe::Match(
                    Match::new("server ErrorResponse 'E' to the client's startup"),
                ),
                Some(_) => Probe::NoMatch,
            }
        }
        _ => Probe::NoMatch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use netsift_proto::Direction::{ToClient, ToServer};

    // ossfuzz_seed_fake_traces_2.pcapng (172.16.20.244:59038 ->
    // 172.16.20.75:5432): frame 79 GSSENCRequest (libpq tries GSSAPI
    // encryption first), frame 81 the server's 'N'.
    const GSS_REQ: &[u8] = include_bytes!("testdata/gssenc_request.bin");
    const GSS_NO: &[u8] = include_bytes!("testdata/gssenc_refused.bin");
    const SSL_REQ: &[u8] = b"\x00\x00\x00\x08\x04\xd2\x16\x2f";

    fn probe(dir: Direction, data: &[u8], peer: &[u8]) -> Probe {
        run(&Postgresql, Transport::Tcp, dir, data, peer)
    }

    fn startup_msg() -> Vec<u8> {
        let mut b = vec![0, 0, 0, 0, 0, 3, 0, 0];
        b.extend_from_slice(b"user\0postgres\0database\0test\0application_name\0psql\0\0");
        let n = b.len() as u32;
        b[..4].copy_from_slice(&n.to_be_bytes());
        b
    }

    #[test]
    fn real_gssenc_and_ssl_request() {
        assert_eq!(
            evidence(probe(ToServer, GSS_REQ, &[])),
            "client GSSENCRequest (code 80877104)"
        );
        assert_eq!(
            evidence(probe(ToClient, GSS_NO, GSS_REQ)),
            "server answered 'N' to the client's GSSAPI encryption request"
        );
        assert_eq!(
            evidence(probe(ToServer, SSL_REQ, &[])),
            "client SSLRequest (code 80877103)"
        );
        assert!(evidence(probe(ToClient, b"S", SSL_REQ)).contains("'S'"));
        // A lone 'N' or 'S' is nothing.
        assert_eq!(probe(ToClient, GSS_NO, &[]), Probe::NoMatch);
        assert_eq!(probe(ToClient, b"S", b"GET / HTTP/1.1\r\n"), Probe::NoMatch);
    }

    #[test]
    fn startup_and_auth() {
        let s = startup_msg();
        assert_eq!(
            evidence(probe(ToServer, &s, &[])),
            "client StartupMessage protocol 3.0, user 'postgres'"
        );
        let md5 = b"R\x00\x00\x00\x0c\x00\x00\x00\x05\x01\x02\x03\x04";
        assert!(evidence(probe(ToClient, md5, &s)).contains("code 5"));
        let err = b"E\x00\x00\x00\x20SFATAL\x00C28000\x00Mno such user\x00\x00";
        assert!(matches!(probe(ToClient, err, &s), Probe::Match(_)));
        assert_eq!(probe(ToClient, err, &[]), Probe::NoMatch);
        // Missing user, or a bad terminator.
        let mut bad = s.clone();
        bad[8] = b'x';
        assert_eq!(probe(ToServer, &bad, &[]), Probe::NoMatch);
    }

    #[test]
    fn truncation() {
        let s = startup_msg();
        check_prefixes(&Postgresql, Transport::Tcp, ToServer, &s, &[]);
        for n in 0..s.len() {
            assert_eq!(probe(ToServer, &s[..n], &[]), Probe::NeedMore, "{n}");
        }
        for n in 0..SSL_REQ.len() {
            assert_eq!(probe(ToServer, &SSL_REQ[..n], &[]), Probe::NeedMore, "{n}");
        }
    }

    #[test]
    fn other_protocols_and_random() {
        assert_no_claim_on_others(&Postgresql, Transport::Tcp);
        assert_random_rate(&Postgresql, Transport::Tcp);
    }

    #[test]
    fn first_packet_on_a_non_standard_port() {
        match crate::first_packet::identify_first_payload(Transport::Tcp, ToServer, 443, GSS_REQ) {
            crate::FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "PostgreSQL"),
            other => panic!("{other:?}"),
        }
    }
}
