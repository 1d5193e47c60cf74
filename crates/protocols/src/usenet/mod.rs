//! Usenet news, NNTP (RFC 3977, with RFC 4643 AUTHINFO, RFC 4644
//! streaming, and the RFC 2980 extensions still in use), over TCP (119).
//!
//! RFC 3977 §5.1.1: "the server MUST send a 200 or 201 response code to
//! indicate that the service is available" (or "400 ... temporarily
//! unavailable" / "502 ... permanently unavailable"); responses are "a
//! three-digit status indicator ... followed by" text (§3.2). 200/201 are
//! also other protocols' codes, so the greeting alone matches only when it
//! names NNTP or news; otherwise the client's first command decides: one
//! NNTP has and the other text protocols here do not (MODE READER, GROUP,
//! ARTICLE, AUTHINFO, CAPABILITIES, XOVER, ... §6-§8, RFC 4643, RFC 2980).
//! A capture with only the client side matches on such a command too.

use netsift_proto::{
    printable, text_line, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// Usenet.
pub struct Usenet;

const MAX_LINE: usize = 512;

/// Commands only NNTP has (RFC 3977 §6-§8, RFC 4643 §2.3, RFC 4644 §2,
/// RFC 2980 §2-§3). LIST/HELP/QUIT/STAT/NEXT/LAST/DATE/POST are shared
/// or too generic.
const NNTP_ONLY: &[&[u8]] = &[
    b"MODE READER",
    b"MODE STREAM",
    b"CAPABILITIES",
    b"GROUP ",
    b"LISTGROUP",
    b"ARTICLE",
    b"NEWGROUPS ",
    b"NEWNEWS ",
    b"IHAVE ",
    b"AUTHINFO USER ",
    b"AUTHINFO PASS ",
    b"AUTHINFO SASL ",
    b"AUTHINFO GENERIC",
    b"XOVER",
    b"XHDR ",
    b"XPAT ",
    b"XGTITLE",
    b"OVER",
    b"HDR ",
    b"TAKETHIS ",
    b"CHECK <",
    b"LIST ACTIVE",
    b"LIST NEWSGROUPS",
    b"LIST OVERVIEW.FMT",
];

fn greeting(l: &[u8]) -> Option<bool> {
    let code = l.get(..3)?;
    if !matches!(code, b"200" | b"201") || !matches!(l.get(3), Some(b' ') | None) {
        return None;
    }
    // Whether the text names the service.
    let names = l
        .windows(4)
        .any(|w| w.eq_ignore_ascii_case(b"nntp") || w.eq_ignore_ascii_case(b"news"))
        || l.windows(8).any(|w| w.eq_ignore_ascii_case(b"leafnode"));
    Some(names)
}

/// A command line, if the client's first line is NNTP-only; `None` when
/// the line is still coming.
fn command(d: &[u8]) -> Result<Option<&[u8]>, ()> {
    let l = match text_line(d, MAX_LINE) {
        Ok(l) => l,
        // A line still coming; some captures hold a command cut short
        // (no CR LF): accept an NNTP-only verb with its argument.
        Err(true) => {
            if NNTP_ONLY.iter().any(|c| {
                d.len() > c.len() + 1 && d.get(..c.len()).is_some_and(|h| h.eq_ignore_ascii_case(c))
            }) && netsift_proto::text_ok(d)
            {
                return Ok(Some(d));
            }
            return Err(());
        }
        Err(false) => return Ok(None),
    };
    if !netsift_proto::text_ok(l) {
        return Ok(None);
    }
    Ok(NNTP_ONLY
        .iter()
        .any(|c| {
            l.get(..c.len()).is_some_and(|h| h.eq_ignore_ascii_case(c))
                && (l.len() == c.len() || c.ends_with(b" ") || matches!(l.get(c.len()), Some(b' ')))
        })
        .then_some(l))
}

/// What the server's first line says.
enum Server<'a> {
    /// Nothing yet, or a line still coming that may be a reply.
    Pending,
    /// A 200/201 greeting naming NNTP or news.
    Names(&'a [u8]),
    /// A 200/201 greeting that names nothing.
    Plain(&'a [u8]),
    /// Another reply (a capture that starts mid-session).
    Reply,
    /// Not NNTP's reply grammar.
    Not,
}

fn server_state(s: &[u8]) -> Server<'_> {
    // §3.2: three digits.
    if !s.iter().take(3).all(u8::is_ascii_digit) {
        return Server::Not;
    }
    match text_line(s, MAX_LINE) {
        Ok(l) if l.len() >= 3 && netsift_proto::text_ok(l) => match greeting(l) {
            Some(true) => Server::Names(l),
            Some(false) => Server::Plain(l),
            None if matches!(l.get(3), Some(b' ') | None) => Server::Reply,
            None => Server::Not,
        },
        Err(true) => Server::Pending,
        _ => Server::Not,
    }
}

/// Whether `d` could still grow into an NNTP-only command.
fn could_be_command(d: &[u8]) -> bool {
    NNTP_ONLY.iter().any(|c| {
        let k = d.len().min(c.len());
        d.get(..k).is_some_and(|h| h.eq_ignore_ascii_case(&c[..k]))
    })
}

impl Protocol for Usenet {
    fn name(&self) -> &'static str {
        "Usenet"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[119, 563]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let (server, client) = input.server_client();
        let st = if server.is_empty() {
            Server::Pending
        } else {
            server_state(server)
        };
        let greet = match st {
            Server::Names(l) => {
                return Probe::Match(Match::new(format!(
                    "NNTP server greeting '{}'",
                    printable(l, 80)
                )))
            }
            Server::Not => return Probe::NoMatch,
            Server::Plain(l) => Some(l),
            Server::Pending | Server::Reply => None,
        };
        if client.is_empty() {
            return Probe::NeedMore;
        }
        // O(1) reject: commands start with a letter.
        if !client.first().is_some_and(u8::is_ascii_alphabetic) {
            return Probe::NoMatch;
        }
        match command(client) {
            Ok(Some(c)) => {
                let g = greet.map_or(String::new(), |g| {
                    format!(" after greeting '{}'", printable(g, 60))
                });
                Probe::Match(Match::new(format!(
                    "NNTP client command '{}'{g}",
                    printable(c, 60)
                )))
            }
            Ok(None) => Probe::NoMatch,
            Err(()) if could_be_command(client) => Probe::NeedMore,
            Err(()) => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const GREETING: &[u8] = include_bytes!("testdata/greeting.bin");
    const MODE_READER: &[u8] = include_bytes!("testdata/mode_reader.bin");
    const GROUP: &[u8] = include_bytes!("testdata/group.bin");
    const AUTHINFO: &[u8] = include_bytes!("testdata/authinfo.bin");

    #[test]
    fn greeting_naming_nntp() {
        assert!(evidence(probe1(&Usenet, TCP, S, GREETING))
            .starts_with("NNTP server greeting '200 Leafnode NNTP Daemon"));
    }

    #[test]
    fn plain_greeting_and_command() {
        let g = b"200 news.example.org InterNetNews server INN 2.7.1 ready (posting ok)\r\n";
        assert!(is_match(&probe1(&Usenet, TCP, S, g)));
        let g = b"201 server ready - no posting allowed\r\n";
        assert_eq!(probe1(&Usenet, TCP, S, g), Probe::NeedMore);
        assert_eq!(
            evidence(probe_at(&Usenet, TCP, C, MODE_READER, g, 0)),
            "NNTP client command 'MODE READER' after greeting '201 server ready - no posting allowed'"
        );
        // Only the client side, or mid-session.
        assert_eq!(
            evidence(probe1(&Usenet, TCP, C, GROUP)),
            "NNTP client command 'GROUP news.software.nntp'"
        );
        assert!(evidence(probe_at(&Usenet, TCP, C, AUTHINFO, GREETING, 0))
            .starts_with("NNTP server greeting '200 Leafnode NNTP Daemon, version 1.11.7.rc1"));
        assert_eq!(
            evidence(probe1(&Usenet, TCP, C, AUTHINFO)),
            "NNTP client command 'AUTHINFO USER XXXXXXX'"
        );
    }

    #[test]
    fn other_protocols() {
        for (dir, d, peer) in [
            (S, &b"220 mail.example.com ESMTP Postfix\r\n"[..], &b""[..]),
            (C, b"USER anonymous\r\n", b"220 ftp\r\n"),
            (C, b"MODE S\r\n", b"200 ok\r\n"),
            (C, b"LIST\r\n", b""),
        ] {
            assert!(!is_match(&probe_at(&Usenet, TCP, dir, d, peer, 0)), "{d:?}");
        }
    }

    #[test]
    fn prefixes_random_foreign() {
        check_prefixes(&Usenet, TCP, S, GREETING, b"");
        check_prefixes(&Usenet, TCP, C, MODE_READER, b"");
        assert_random_flows_rejected(&Usenet, TCP, 119);
        foreign_never_match(&Usenet, TCP);
        assert_foreign_rejected(&Usenet, "usenet");
    }
}
