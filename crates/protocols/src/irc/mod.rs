//! IRC (RFC 1459, RFC 2812, IRCv3 capability negotiation).
//!
//! RFC 2812 §2.3.1 message grammar: "message = [ ":" prefix SPACE ]
//! command [ params ] crlf; command = 1*letter / 3digit; params = *14(
//! SPACE middle ) [ SPACE ":" trailing ]". §3.1 connection registration:
//! "The recommended order for a client to register is as follows: 1. Pass
//! message 2. Nick message 3. User message"; "USER <user> <mode> <unused>
//! <realname>" (RFC 1459: "USER <username> <hostname> <servername>
//! <realname>", realname as trailing); IRCv3 clients start with "CAP LS".
//!
//! Client side: every complete line must follow the grammar and the
//! first command must be a registration command (PASS, NICK, USER, CAP)
//! or IRCv3 STARTTLS;
//! a match needs a USER line with its four parameters, or two
//! registration lines. Server side: a first line ":prefix NOTICE target
//! :text" or ":prefix <3-digit numeric> target ..." (§5 replies: "001
//! RPL_WELCOME ... Welcome to the Internet Relay Network"), or a
//! registration client in the peer.

use netsift_proto::{
    printable, Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

mod upgrade;

/// IRC.
pub struct Irc;

impl Protocol for Irc {
    fn name(&self) -> &'static str {
        "IRC"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[6667, 6697]
    }
    /// Only the switch to TLS is parsed ([`upgrade`]); the TLS part goes
    /// to the `tls` log.
    fn parser(&self) -> Option<Box<dyn netsift_proto::Parser>> {
        Some(crate::starttls::watch("IRC", upgrade::rule))
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        match input.dir {
            // A server that speaks first with a numeric reply without a
            // prefix ("220 ...", "+OK") is FTP/SMTP/POP3, not IRC.
            Direction::ToServer
                if next_line(input.peer).is_ok_and(|(l, _)| {
                    l.first().is_some_and(|&b| b.is_ascii_digit() || b == b'+')
                }) =>
            {
                Probe::NoMatch
            }
            Direction::ToServer => match client(input.data) {
                Side::Yes(e) => Probe::Match(Match::new(e)),
                Side::Maybe => Probe::NeedMore,
                Side::No => Probe::NoMatch,
            },
            Direction::ToClient => match server(input.data) {
                Side::Yes(e) => Probe::Match(Match::new(e)),
                // Wait for the client to decide (the server's first lines
                // may not be NOTICE/numerics).
                Side::Maybe | Side::No
                    if !input.peer.is_empty() && matches!(client(input.peer), Side::Maybe) =>
                {
                    if plausible_text(input.data) {
                        Probe::NeedMore
                    } else {
                        Probe::NoMatch
                    }
                }
                Side::Maybe => Probe::NeedMore,
                Side::No => Probe::NoMatch,
            },
        }
    }
}

enum Side {
    Yes(String),
    Maybe,
    No,
}

/// RFC 2812: "512 characters, including the trailing CR-LF".
const MAX_LINE: usize = 512;
const MAX_LINES: usize = 16;

fn plausible_text(d: &[u8]) -> bool {
    d.iter()
        .take(MAX_LINE)
        .all(|&b| b == b'\r' || b == b'\n' || b >= 0x20)
}

/// Split off the first line (without CR LF). `Err(true)`: incomplete but
/// may still be a line.
fn next_line(d: &[u8]) -> Result<(&[u8], &[u8]), bool> {
    match memchr::memchr(b'\n', netsift_proto::head(d, MAX_LINE)) {
        Some(i) => {
            let l = d.get(..i).unwrap_or(&[]);
            Ok((
                l.strip_suffix(b"\r").unwrap_or(l),
                d.get(i + 1..).unwrap_or(&[]),
            ))
        }
        None => Err(d.len() < MAX_LINE && plausible_text(d)),
    }
}

struct Msg<'a> {
    prefix: Option<&'a [u8]>,
    command: &'a [u8],
    /// Middle parameters (at most 15) and whether a trailing one follows.
    middles: usize,
    trailing: bool,
}

/// RFC 2812 §2.3.1 grammar; `None` when the line does not follow it.
fn parse(l: &[u8]) -> Option<Msg<'_>> {
    if l.is_empty() || l.iter().any(|&b| b == 0 || b == b'\r' || b == b'\n') {
        return None;
    }
    let mut rest = l;
    let mut prefix = None;
    if let Some(r) = rest.strip_prefix(b":") {
        let sp = r.iter().position(|&b| b == b' ')?;
        let p = r.get(..sp)?;
        if p.is_empty() || !p.iter().all(|&b| b.is_ascii_graphic()) {
            return None;
        }
        prefix = Some(p);
        rest = r.get(sp + 1..)?;
    }
    let cl = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
    let command = rest.get(..cl)?;
    // "command = 1*letter / 3digit".
    let ok = (command.len() == 3 && command.iter().all(u8::is_ascii_digit))
        || (!command.is_empty()
            && command.len() <= 16
            && command.iter().all(u8::is_ascii_alphabetic));
    if !ok {
        return None;
    }
    rest = rest.get(cl..)?;
    let mut middles = 0;
    let mut trailing = false;
    while let Some(r) = rest.strip_prefix(b" ") {
        if let Some(_t) = r.strip_prefix(b":") {
            trailing = true;
            break;
        }
        let e = r.iter().position(|&b| b == b' ').unwrap_or(r.len());
        let m = r.get(..e)?;
        if m.is_empty() {
            // Tolerate a doubled space (some servers), but not forever.
            rest = r;
            if middles > 15 {
                return None;
            }
            continue;
        }
        middles += 1;
        if middles > 15 {
            return None;
        }
        rest = r.get(e..)?;
    }
    if !trailing && !rest.is_empty() {
        return None;
    }
    Some(Msg {
        prefix,
        command,
        middles,
        trailing,
    })
}

fn is_registration(c: &[u8]) -> bool {
    [&b"PASS"[..], b"NICK", b"USER", b"CAP", b"WEBIRC"]
        .iter()
        .any(|k| c.eq_ignore_ascii_case(k))
}

/// IRCv3 STARTTLS comes before registration ("the client sends STARTTLS
/// ... before registering"); alone it does not make a match (the server's
/// 670 does, see `server`).
fn is_starttls(c: &[u8]) -> bool {
    c.eq_ignore_ascii_case(b"STARTTLS")
}

fn client(d: &[u8]) -> Side {
    let mut rest = d;
    let mut registration = 0;
    for i in 0..MAX_LINES {
        let (l, r) = match next_line(rest) {
            Ok(x) => x,
            Err(true) => return Side::Maybe,
            Err(false) => return Side::No,
        };
        rest = r;
        if l.is_empty() {
            continue;
        }
        let Some(m) = parse(l) else {
            return Side::No;
        };
        // Clients send no prefix ("Clients SHOULD NOT use a prefix").
        // Numerics are server replies only.
        if m.prefix.is_some()
            || !m.command.iter().all(u8::is_ascii_alphabetic)
            || (i == 0 && !is_registration(m.command) && !is_starttls(m.command))
        {
            return Side::No;
        }
        if is_registration(m.command) {
            registration += 1;
        }
        // "USER <user> <mode> <unused> <realname>": exactly four
        // parameters (FTP's and POP3's "USER name" has one).
        let is_user = m.command.eq_ignore_ascii_case(b"USER");
        let user = is_user && m.middles == 3 && m.trailing;
        if is_user && !user {
            return Side::No;
        }
        if user || registration >= 2 {
            return Side::Yes(format!("client registration '{}'", printable(l, 60)));
        }
        if rest.is_empty() {
            return Side::Maybe;
        }
    }
    Side::No
}

fn server(d: &[u8]) -> Side {
    let (l, _) = match next_line(d) {
        Ok(x) => x,
        Err(true) => return Side::Maybe,
        Err(false) => return Side::No,
    };
    let Some(m) = parse(l) else {
        return Side::No;
    };
    let numeric = m.command.len() == 3 && m.command.iter().all(u8::is_ascii_digit);
    let notice = m.command == b"NOTICE";
    // ":irc.example.net NOTICE * :*** Looking up your hostname..." /
    // "NOTICE AUTH :***" / ":srv 001 nick :Welcome ...".
    // Older servers: "NOTICE AUTH :*** Looking up your hostname" without a
    // prefix.
    let auth_notice = notice && l.windows(5).any(|w| w == b" :***");
    if (m.prefix.is_some() || auth_notice) && (numeric || notice) && m.middles >= 1 && m.trailing {
        return Side::Yes(format!("server '{}'", printable(l, 60)));
    }
    Side::No
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use netsift_proto::Direction::{ToClient, ToServer};

    // irc.pcap (10.180.156.249:45921 -> 38.229.70.20:8000): frame 4
    // "USER xxxxx +iw xxxxx :Xxxxxx Xxxx", frame 6 "NICK molochtest",
    // frame 7 ":card.freenode.net NOTICE * :*** Looking up your
    // hostname...".
    const USER: &[u8] = include_bytes!("testdata/client_user.bin");
    const NICK: &[u8] = include_bytes!("testdata/client_nick.bin");
    const NOTICE: &[u8] = include_bytes!("testdata/server_notice.bin");

    fn probe(dir: Direction, data: &[u8], peer: &[u8]) -> Probe {
        run(&Irc, Transport::Tcp, dir, data, peer)
    }

    #[test]
    fn real_registration() {
        assert_eq!(
            evidence(probe(ToServer, USER, &[])),
            "client registration 'USER xxxxx +iw xxxxx :Xxxxxx Xxxx'"
        );
        assert_eq!(probe(ToServer, NICK, &[]), Probe::NeedMore);
        let mut nu = NICK.to_vec();
        nu.extend_from_slice(b"USER a 0 * :b\r\n");
        assert!(matches!(probe(ToServer, &nu, &[]), Probe::Match(_)));
        assert_eq!(
            evidence(probe(ToClient, NOTICE, &[])),
            "server ':card.freenode.net NOTICE * :*** Looking up your hostname...'"
        );
        let cap = b"CAP LS 302\r\nNICK x\r\n";
        assert!(matches!(probe(ToServer, cap, &[]), Probe::Match(_)));
    }

    #[test]
    fn keywords_without_grammar_are_not_irc() {
        // FTP and POP3 clients send "USER name" then "PASS secret".
        assert_eq!(probe(ToServer, b"USER bob\r\n", &[]), Probe::NoMatch);
        assert_eq!(
            probe(ToServer, b"USER bob\r\nPASS x\r\n", &[]),
            Probe::NoMatch
        );
        assert_eq!(
            probe(ToServer, b"PASS x\r\n", b"220 ftp\r\n"),
            Probe::NoMatch
        );
        assert_eq!(probe(ToServer, b"NICK x\r\n331 x\r\n", &[]), Probe::NoMatch);
        // FTP: "USER anonymous" then the server's "331".
        assert_eq!(
            probe(
                ToClient,
                b"331 Password required\r\n",
                b"USER anonymous\r\n"
            ),
            Probe::NoMatch
        );
        assert_eq!(probe(ToServer, b"GET / HTTP/1.1\r\n", &[]), Probe::NoMatch);
        assert_eq!(probe(ToClient, b"220 ftp ready\r\n", &[]), Probe::NoMatch);
        assert!(matches!(
            probe(
                ToClient,
                b"NOTICE AUTH :*** Looking up your hostname\r\n",
                &[]
            ),
            Probe::Match(_)
        ));
    }

    #[test]
    fn truncation() {
        check_prefixes(&Irc, Transport::Tcp, ToServer, USER, &[]);
        check_prefixes(&Irc, Transport::Tcp, ToClient, NOTICE, USER);
        for n in 0..USER.len() {
            assert_eq!(probe(ToServer, &USER[..n], &[]), Probe::NeedMore, "{n}");
        }
        for n in 0..NOTICE.len() {
            assert_eq!(probe(ToClient, &NOTICE[..n], &[]), Probe::NeedMore, "{n}");
        }
    }

    #[test]
    fn other_protocols_and_random() {
        assert_no_claim_on_others(&Irc, Transport::Tcp);
        assert_random_rate(&Irc, Transport::Tcp);
    }

    #[test]
    fn first_packet_on_a_non_standard_port() {
        match crate::first_packet::identify_first_payload(Transport::Tcp, ToServer, 21, USER) {
            crate::FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "IRC"),
            other => panic!("{other:?}"),
        }
    }

    /// openssl s_client -starttls irc (crates/cli/tests/starttls): the
    /// client's only plaintext line is STARTTLS; the server's 670 decides.
    #[test]
    fn starttls_first_then_670() {
        let c = b"STARTTLS\r\n";
        let s = b":irc.localhost 670 * :STARTTLS successful, go ahead with TLS handshake\r\n";
        assert_eq!(probe(ToServer, c, b""), Probe::NeedMore);
        assert!(matches!(probe(ToClient, s, c), Probe::Match(_)));
        // SMTP's STARTTLS follows a "220" greeting: not IRC.
        assert_eq!(probe(ToServer, c, b"220 mx ESMTP\r\n"), Probe::NoMatch);
    }
}
