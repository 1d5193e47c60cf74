//! IMAP (RFC 9051 IMAP4rev2, RFC 3501 IMAP4rev1).
//!
//! IMAP is server-speaks-first. RFC 9051 §7.1 / RFC 3501 §9 (formal
//! syntax):
//!
//! ```text
//! greeting        = "*" SP (resp-cond-auth / resp-cond-bye) CRLF
//! resp-cond-auth  = ("OK" / "PREAUTH") SP resp-text
//! resp-cond-bye   = "BYE" SP resp-text
//! command         = tag SP (command-any / command-auth / ...) CRLF
//! tag             = 1*<any ASTRING-CHAR except "+">
//! ```
//!
//! The probe matches a server stream starting with a complete, printable
//! "* OK ", "* PREAUTH " or "* BYE " line, provided the client has sent
//! nothing yet or its first line is a tagged IMAP command. A capture that
//! starts with the client's command ("a001 LOGIN ...", "C1 CAPABILITY") is
//! matched once the server's first line is an untagged ("* "),
//! continuation ("+ ") or same-tag response; a command alone is
//! `NeedMore`.
//!
//! The parser (`session.rs`) writes the `imap` log ([`record::ImapRecord`]):
//! one record per session; whole messages fetched (BODY[] / RFC822
//! literals) are walked for MIME attachments (`smtp::mime`).

use netsift_proto::{
    printable, text_line, text_ok, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

pub mod record;
mod session;

/// IMAP.
pub struct Imap;

impl Protocol for Imap {
    fn name(&self) -> &'static str {
        "IMAP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[143]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let (server, client) = input.server_client();
        decide(server, client)
    }
    fn parser(&self) -> Option<Box<dyn netsift_proto::Parser>> {
        Some(Box::new(crate::starttls::StartTls::new(
            "IMAP",
            session::ImapParser::new(),
        )))
    }
}

const MAX_LINE: usize = 2048;

fn line(d: &[u8]) -> Result<&[u8], bool> {
    text_line(d, MAX_LINE)
}

/// RFC 9051 §9: ATOM-CHAR minus "+" (and ASTRING-CHAR's "]" allowed).
fn tag_char(b: u8) -> bool {
    (0x21..0x7f).contains(&b) && !b"(){%*\"\\+".contains(&b)
}

/// RFC 9051 §6 commands (and RFC 3501 ones removed since, RFC 2971 ID,
/// RFC 2177 IDLE, RFC 2342 NAMESPACE, RFC 5161 ENABLE, RFC 6851 MOVE).
const COMMANDS: &[&[u8]] = &[
    b"CAPABILITY",
    b"NOOP",
    b"LOGOUT",
    b"STARTTLS",
    b"AUTHENTICATE",
    b"LOGIN",
    b"ENABLE",
    b"SELECT",
    b"EXAMINE",
    b"CREATE",
    b"DELETE",
    b"RENAME",
    b"SUBSCRIBE",
    b"UNSUBSCRIBE",
    b"LIST",
    b"LSUB",
    b"NAMESPACE",
    b"STATUS",
    b"APPEND",
    b"IDLE",
    b"CLOSE",
    b"UNSELECT",
    b"EXPUNGE",
    b"SEARCH",
    b"FETCH",
    b"STORE",
    b"COPY",
    b"MOVE",
    b"UID",
    b"CHECK",
    b"ID",
    b"GETQUOTAROOT",
];

/// A tagged command line: (tag, verb).
fn command(l: &[u8]) -> Option<(&[u8], &[u8])> {
    let sp = l.iter().position(|&b| b == b' ')?;
    let (tag, rest) = (l.get(..sp)?, l.get(sp + 1..)?);
    if tag.is_empty() || tag.len() > 64 || !tag.iter().all(|&b| tag_char(b)) {
        return None;
    }
    let vlen = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
    let verb = rest.get(..vlen)?;
    if !COMMANDS.iter().any(|c| verb.eq_ignore_ascii_case(c)) || !text_ok(rest) {
        return None;
    }
    Some((tag, verb))
}

/// The greeting's condition if `l` is a greeting line.
fn greeting(l: &[u8]) -> Option<&'static str> {
    let rest = l.strip_prefix(b"* ")?;
    for cond in ["OK", "PREAUTH", "BYE"] {
        if let Some(r) = rest.get(..cond.len()) {
            if r.eq_ignore_ascii_case(cond.as_bytes())
                && rest.get(cond.len()) == Some(&b' ')
                && text_ok(rest)
            {
                return Some(cond);
            }
        }
    }
    None
}

/// Could an incomplete first server line still become a greeting?
fn greeting_prefix_ok(p: &[u8]) -> bool {
    let p = p.strip_suffix(b"\r").unwrap_or(p);
    ["* OK ", "* PREAUTH ", "* BYE "].iter().any(|g| {
        let n = p.len().min(g.len());
        p.get(..n)
            .zip(g.as_bytes().get(..n))
            .is_some_and(|(a, b)| a.eq_ignore_ascii_case(b))
            && text_ok(p)
    })
}

/// A client's first command: (line, tag, verb).
type Command<'a> = (&'a [u8], &'a [u8], &'a [u8]);

/// The client's first command: `Ok(None)` nothing complete yet.
fn client_first(client: &[u8]) -> Result<Option<Command<'_>>, ()> {
    match line(client) {
        Ok(l) => command(l).map(|(t, v)| Some((l, t, v))).ok_or(()),
        Err(true) => {
            if client
                .iter()
                .take_while(|&&b| b != b' ')
                .take(64)
                .all(|&b| tag_char(b))
            {
                Ok(None)
            } else {
                Err(())
            }
        }
        Err(false) => Err(()),
    }
}

fn decide(server: &[u8], client: &[u8]) -> Probe {
    let c = match client_first(client) {
        Ok(c) => c,
        Err(()) => return Probe::NoMatch,
    };
    let s = match line(server) {
        Ok(l) => l,
        Err(true) => {
            // Still arriving: a greeting, or (after a client command) any
            // response start.
            return if greeting_prefix_ok(server)
                || (c.is_some() && text_ok(server.get(..server.len().min(64)).unwrap_or(&[])))
            {
                Probe::NeedMore
            } else {
                Probe::NoMatch
            };
        }
        Err(false) => return Probe::NoMatch,
    };
    if let Some(cond) = greeting(s) {
        let mut ev = format!("server greeting '{}' (* {cond})", printable(s, 80));
        if let Some((l, _, _)) = c {
            ev.push_str(&format!(", client sent '{}'", printable(l, 60)));
        }
        return Probe::Match(Match::new(ev));
    }
    // No greeting: the capture starts with the client's command; the
    // server's first line must be a response to it (RFC 9051 §2.2.2:
    // untagged "* ", continuation "+ ", or tagged with the command's tag).
    let Some((l, tag, _)) = c else {
        return Probe::NoMatch;
    };
    let tagged = s
        .strip_prefix(tag)
        .and_then(|r| r.strip_prefix(b" "))
        .is_some_and(|r| {
            ["OK", "NO", "BAD"].iter().any(|k| {
                r.get(..k.len())
                    .is_some_and(|x| x.eq_ignore_ascii_case(k.as_bytes()))
                    && r.get(k.len()).is_none_or(|&b| b == b' ')
            })
        });
    let untagged = s
        .strip_prefix(b"* ")
        .is_some_and(|r| r.first().is_some_and(|b| b.is_ascii_alphanumeric()));
    let cont = s.starts_with(b"+ ") || s == b"+";
    if (tagged || untagged || cont) && text_ok(s) {
        Probe::Match(Match::new(format!(
            "client sent '{}', server replied '{}'",
            printable(l, 60),
            printable(s, 60)
        )))
    } else {
        Probe::NoMatch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use netsift_proto::Direction;
    use netsift_proto::Direction::{ToClient, ToServer};

    // imap.pcap (10.40.4.2:46045 -> 10.40.3.2:143): frame 4 greeting,
    // frame 6 "C00000 CAPABILITY", frame 7 the untagged CAPABILITY reply.
    const GREETING: &[u8] = include_bytes!("testdata/banner.bin");
    const CAPA: &[u8] = include_bytes!("testdata/client_capability.bin");
    const CAPA_REPLY: &[u8] = include_bytes!("testdata/capability_reply.bin");

    fn probe(dir: Direction, data: &[u8], peer: &[u8]) -> Probe {
        run(&Imap, Transport::Tcp, dir, data, peer)
    }

    #[test]
    fn real_greeting() {
        assert_eq!(
            evidence(probe(ToClient, GREETING, &[])),
            "server greeting '* OK IMAP4Rev1 Server Version 4.9.04.012' (* OK)"
        );
        let e = evidence(probe(ToServer, CAPA, GREETING));
        assert!(e.ends_with("client sent 'C00000 CAPABILITY'"), "{e}");
        let dovecot = b"* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN] Dovecot ready.\r\n";
        assert!(matches!(probe(ToClient, dovecot, &[]), Probe::Match(_)));
        assert!(matches!(
            probe(
                ToClient,
                b"* PREAUTH IMAP4rev2 server logged in as Smith\r\n",
                &[]
            ),
            Probe::Match(_)
        ));
        assert!(matches!(
            probe(ToClient, b"* BYE Autologout; idle for too long\r\n", &[]),
            Probe::Match(_)
        ));
    }

    #[test]
    fn capture_starting_with_the_client() {
        assert_eq!(probe(ToServer, CAPA, &[]), Probe::NeedMore);
        let e = evidence(probe(ToServer, CAPA, CAPA_REPLY));
        assert!(
            e.starts_with("client sent 'C00000 CAPABILITY', server replied '* CAPABILITY"),
            "{e}"
        );
        assert!(matches!(
            probe(
                ToServer,
                b"a001 LOGIN smith sesame\r\n",
                b"a001 OK LOGIN completed\r\n"
            ),
            Probe::Match(_)
        ));
        assert_eq!(
            probe(
                ToServer,
                b"a001 LOGIN smith sesame\r\n",
                b"HTTP/1.1 400 Bad\r\n"
            ),
            Probe::NoMatch
        );
    }

    #[test]
    fn lookalikes() {
        assert_eq!(probe(ToClient, b"+OK POP3 ready\r\n", &[]), Probe::NoMatch);
        assert_eq!(probe(ToClient, b"220 ESMTP\r\n", &[]), Probe::NoMatch);
        assert_eq!(probe(ToClient, b"* OKAY\r\n", &[]), Probe::NoMatch);
        // A greeting with a non-IMAP client speaking first.
        assert_eq!(
            probe(ToClient, GREETING, b"GET / HTTP/1.1\r\n"),
            Probe::NoMatch
        );
    }

    #[test]
    fn truncation() {
        check_prefixes(&Imap, Transport::Tcp, ToClient, GREETING, &[]);
        check_prefixes(&Imap, Transport::Tcp, ToServer, CAPA, GREETING);
        check_prefixes_before_reply(&Imap, Transport::Tcp, ToServer, CAPA, CAPA_REPLY);
        for n in 0..GREETING.len() {
            assert_eq!(probe(ToClient, &GREETING[..n], &[]), Probe::NeedMore, "{n}");
        }
    }

    #[test]
    fn other_protocols_and_random() {
        assert_no_claim_on_others(&Imap, Transport::Tcp);
        for (_, d) in OTHER_PROTOCOLS {
            assert!(!matches!(probe(ToClient, d, CAPA), Probe::Match(_)));
            assert!(!matches!(probe(ToServer, CAPA, d), Probe::Match(_)));
        }
        assert_random_rate(&Imap, Transport::Tcp);
    }

    #[test]
    fn first_packet_on_a_non_standard_port() {
        match crate::first_packet::identify_first_payload(Transport::Tcp, ToClient, 80, GREETING) {
            crate::FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "IMAP"),
            other => panic!("{other:?}"),
        }
    }
}
