//! POP3 (RFC 1939, with RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH).
//!
//! POP3 is server-speaks-first. RFC 1939 §3: "Responses in the POP3
//! consist of a status indicator and a keyword possibly followed by
//! additional information. ... There are currently two status indicators:
//! positive ("+OK") and negative ("-ERR")"; §4: "Once the TCP connection
//! has been opened by a POP3 client, the POP3 server issues a one line
//! greeting" — a positive response.
//!
//! The probe matches a server stream starting with a complete "+OK" line
//! ("+OK" then SP text or CRLF, printable) when the client has sent nothing
//! before it or its first line is a POP3 command (USER, PASS, APOP, CAPA,
//! STLS, AUTH, STAT, LIST, RETR, DELE, NOOP, RSET, QUIT, TOP, UIDL, UTF8).
//! That second condition keeps client-speaks-first protocols that also
//! answer "+OK" (Redis, whose client sends "*1\r\n$4\r\nPING..." first) out.
//! A capture starting with the client's command is matched once the server
//! answers "+OK" or "-ERR". A client command alone is `NeedMore`.
//!
//! The parser (`session.rs`) writes the `pop3` log ([`record::Pop3Record`]):
//! one record per session; messages fetched by RETR are walked for MIME
//! attachments (`smtp::mime`).

use netsift_proto::{
    printable, text_line, text_ok, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

pub mod record;
mod session;

/// POP3.
pub struct Pop3;

impl Protocol for Pop3 {
    fn name(&self) -> &'static str {
        "POP3"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[110]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let (server, client) = input.server_client();
        decide(server, client)
    }
    fn parser(&self) -> Option<Box<dyn netsift_proto::Parser>> {
        Some(Box::new(crate::starttls::StartTls::new(
            "POP3",
            session::Pop3Parser::new(),
        )))
    }
}

const MAX_LINE: usize = 1024;

fn line(d: &[u8]) -> Result<&[u8], bool> {
    text_line(d, MAX_LINE)
}

/// Status line: `Some(true)` for +OK, `Some(false)` for -ERR.
fn status(l: &[u8]) -> Option<bool> {
    let (ok, rest) = if let Some(r) = l.strip_prefix(b"+OK") {
        (true, r)
    } else {
        (false, l.strip_prefix(b"-ERR")?)
    };
    // RFC 1939 §3: the indicator is followed by SP and text, or ends the
    // line.
    if !(rest.is_empty() || rest.first() == Some(&b' ')) || !text_ok(rest) {
        return None;
    }
    Some(ok)
}

/// Could an incomplete server line still become a status line?
fn status_prefix_ok(p: &[u8]) -> bool {
    let p = p.strip_suffix(b"\r").unwrap_or(p);
    [&b"+OK"[..], b"-ERR"].iter().any(|ind| {
        let n = p.len().min(ind.len());
        p.get(..n) == ind.get(..n) && p.get(ind.len()).is_none_or(|&b| b == b' ') && text_ok(p)
    })
}

/// RFC 1939 §5-§7 (+ RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH, RFC 6856
/// UTF8). Commands are case-insensitive keywords of 3-4 characters.
fn pop3_command(l: &[u8]) -> bool {
    const CMDS: &[&[u8]] = &[
        b"USER", b"PASS", b"APOP", b"CAPA", b"STLS", b"AUTH", b"STAT", b"LIST", b"RETR", b"DELE",
        b"NOOP", b"RSET", b"QUIT", b"TOP", b"UIDL", b"UTF8",
    ];
    let verb_len = l.iter().position(|&b| b == b' ').unwrap_or(l.len());
    let verb = l.get(..verb_len).unwrap_or(&[]);
    CMDS.iter().any(|c| verb.eq_ignore_ascii_case(c)) && text_ok(l)
}

/// The client's first line: `Ok(Some(line))` a POP3 command, `Ok(None)`
/// nothing complete yet (and plausible), `Err(())` not POP3.
fn client_first(client: &[u8]) -> Result<Option<&[u8]>, ()> {
    match line(client) {
        Ok(l) if pop3_command(l) => Ok(Some(l)),
        Ok(_) | Err(false) => Err(()),
        Err(true) => {
            if client.iter().take(4).all(|b| b.is_ascii_alphanumeric()) {
                Ok(None)
            } else {
                Err(())
            }
        }
    }
}

fn decide(server: &[u8], client: &[u8]) -> Probe {
    let c = match client_first(client) {
        Ok(c) => c,
        Err(()) => return Probe::NoMatch,
    };
    let s = match line(server) {
        Ok(l) => l,
        Err(true) if status_prefix_ok(server) => return Probe::NeedMore,
        Err(_) => return Probe::NoMatch,
    };
    match (status(s), c) {
        // A "+OK" greeting (the client has sent nothing yet, or a command).
        (Some(true), None) => Probe::Match(Match::new(format!(
            "server greeting '{}'",
            printable(s, 80)
        ))),
        // The capture starts with the client's command, or the greeting
        // is followed by one.
        (Some(_), Some(cmd)) => Probe::Match(Match::new(format!(
            "server '{}', client sent '{}'",
            printable(s, 80),
            printable(cmd, 60)
        ))),
        // "-ERR" with no command is too little.
        (Some(false), None) => Probe::NeedMore,
        (None, _) => Probe::NoMatch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use netsift_proto::Direction;
    use netsift_proto::Direction::{ToClient, ToServer};

    // pop3.pcap (143.225.229.181:35287 -> 74.208.5.28:110): frame 4
    // greeting, frame 6 "user cicciopernacchio@mail.com".
    const GREETING: &[u8] = include_bytes!("testdata/gmx_banner.bin");
    const USER: &[u8] = include_bytes!("testdata/client_user.bin");

    fn probe(dir: Direction, data: &[u8], peer: &[u8]) -> Probe {
        run(&Pop3, Transport::Tcp, dir, data, peer)
    }

    #[test]
    fn real_greeting() {
        assert_eq!(
            evidence(probe(ToClient, GREETING, &[])),
            "server greeting '+OK POP server ready H migmxus005'"
        );
        let e = evidence(probe(ToServer, USER, GREETING));
        assert!(
            e.ends_with("client sent 'user cicciopernacchio@mail.com'"),
            "{e}"
        );
        let dovecot = b"+OK Dovecot ready. <1234.5678@host>\r\n";
        assert!(matches!(probe(ToClient, dovecot, &[]), Probe::Match(_)));
    }

    #[test]
    fn client_first_needs_the_server() {
        assert_eq!(probe(ToServer, USER, &[]), Probe::NeedMore);
        assert_eq!(probe(ToServer, b"CAPA\r\n", &[]), Probe::NeedMore);
        assert!(matches!(
            probe(ToServer, b"CAPA\r\n", b"-ERR unknown command\r\n"),
            Probe::Match(_)
        ));
        // FTP's answer to USER is not POP3.
        assert_eq!(
            probe(ToServer, USER, b"331 Password required\r\n"),
            Probe::NoMatch
        );
    }

    #[test]
    fn redis_and_friends_are_not_pop3() {
        // Redis: the client speaks first and the reply is "+OK".
        assert_eq!(
            probe(
                ToClient,
                b"+OK\r\n",
                b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n"
            ),
            Probe::NoMatch
        );
        assert_eq!(probe(ToClient, b"+OKAY\r\n", &[]), Probe::NoMatch);
        assert_eq!(probe(ToClient, b"220 ESMTP\r\n", &[]), Probe::NoMatch);
        assert_eq!(
            probe(ToClient, b"* OK IMAP4 ready\r\n", &[]),
            Probe::NoMatch
        );
    }

    #[test]
    fn truncation() {
        check_prefixes(&Pop3, Transport::Tcp, ToClient, GREETING, &[]);
        check_prefixes(&Pop3, Transport::Tcp, ToServer, USER, GREETING);
        for n in 0..GREETING.len() {
            assert_eq!(probe(ToClient, &GREETING[..n], &[]), Probe::NeedMore, "{n}");
        }
    }

    #[test]
    fn other_protocols_and_random() {
        assert_no_claim_on_others(&Pop3, Transport::Tcp);
        for (_, d) in OTHER_PROTOCOLS {
            assert!(!matches!(probe(ToClient, d, USER), Probe::Match(_)));
            assert!(!matches!(probe(ToServer, USER, d), Probe::Match(_)));
        }
        assert_random_rate(&Pop3, Transport::Tcp);
    }

    #[test]
    fn first_packet_on_a_non_standard_port() {
        match crate::first_packet::identify_first_payload(Transport::Tcp, ToClient, 8110, GREETING)
        {
            crate::FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "POP3"),
            other => panic!("{other:?}"),
        }
    }
}
