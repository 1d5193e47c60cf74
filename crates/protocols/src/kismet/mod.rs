//! Kismet client/server protocol, the line protocol of Kismet servers up to
//! the 2016 releases (Kismet documentation "Kismet client protocol";
//! observed in the nDPI corpus capture of a 2005 server).
//!
//! The server speaks first: `*KISMET: <version> <start time> \x01<name>\x01
//! <build> ...` then `*PROTOCOLS: KISMET,ERROR,ACK,...`, and afterwards
//! streams sentences `*<PROTOCOL>: <fields>` (`*TIME:`, `*GPS:`, `*INFO:`,
//! `*CARD:`, `*NETWORK:`...). The client sends commands
//! `!<id> <COMMAND> <args>` (`!0 ENABLE GPS lat,lon`, `!1 CAPABILITY
//! NETWORK`, `!2 REMOVE TIME`...).
//!
//! Matched on the `*KISMET:` greeting; mid-session on two consecutive
//! server sentences of known protocols, or on a client command line.

use netsift_proto::{printable, text_line, Direction, Match, Probe, ProbeInput};
use netsift_proto::{ProbeScratch, Protocol, Transport};

/// Kismet.
pub struct Kismet;

const GREETING: &[u8] = b"*KISMET: ";

/// Sentences a Kismet server streams (Kismet `*PROTOCOLS:` list).
const SENTENCES: &[&[u8]] = &[
    b"KISMET",
    b"ERROR",
    b"ACK",
    b"PROTOCOLS",
    b"CAPABILITY",
    b"TERMINATE",
    b"TIME",
    b"ALERT",
    b"NETWORK",
    b"CLIENT",
    b"GPS",
    b"INFO",
    b"REMOVE",
    b"STATUS",
    b"PACKET",
    b"STRING",
    b"WEPKEY",
    b"CARD",
    b"BSSID",
    b"SSID",
    b"SOURCE",
    b"BATTERY",
    b"CRITFAIL",
];
/// Client commands (Kismet client protocol).
const COMMANDS: &[&[u8]] = &[
    b"ENABLE",
    b"REMOVE",
    b"CAPABILITY",
    b"ADDSOURCE",
    b"DELSOURCE",
    b"RESTARTSOURCE",
    b"HOPSOURCE",
    b"CHANSOURCE",
    b"PAUSE",
    b"RESUME",
    b"SHUTDOWN",
    b"ADDNETTAG",
    b"DELNETTAG",
    b"ADDCLITAG",
    b"DELCLITAG",
    b"LISTWEPKEYS",
    b"ADDWEPKEY",
    b"DELWEPKEY",
    b"ADDFILTER",
];

impl Protocol for Kismet {
    fn name(&self) -> &'static str {
        "Kismet"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[2501]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        match (input.dir, d.first()) {
            (_, None) => Probe::NeedMore,
            (Direction::ToClient, Some(b'*')) => server(d),
            (Direction::ToServer, Some(b'!')) => client(d),
            _ => Probe::NoMatch,
        }
    }
}

/// `*NAME: ` at the start of `l`: the sentence name.
fn sentence(l: &[u8]) -> Option<&[u8]> {
    let l = l.strip_prefix(b"*")?;
    let colon = l.iter().take(16).position(|&b| b == b':')?;
    let name = l.get(..colon)?;
    (l.get(colon + 1) == Some(&b' ') && SENTENCES.contains(&name)).then_some(name)
}

fn server(d: &[u8]) -> Probe {
    let n = d.len().min(GREETING.len());
    if d.get(..n) == GREETING.get(..n) {
        return match text_line(d, 512) {
            Ok(l) => {
                let ver = l
                    .get(GREETING.len()..)
                    .and_then(|v| v.split(|&b| b == b' ').next())
                    .unwrap_or(&[]);
                Probe::Match(Match::new(format!(
                    "Kismet server greeting, version {}",
                    printable(ver, 24)
                )))
            }
            Err(true) => Probe::NeedMore,
            Err(false) => Probe::NoMatch,
        };
    }
    // Mid-session: two consecutive known sentences.
    let first = match text_line(d, 1024) {
        Ok(l) => l,
        Err(true) => return Probe::NeedMore,
        Err(false) => return Probe::NoMatch,
    };
    let Some(a) = sentence(first) else {
        return Probe::NoMatch;
    };
    let rest = d.get(first.len() + 1..).unwrap_or(&[]);
    let rest = rest.strip_prefix(b"\n").unwrap_or(rest);
    match text_line(rest, 1024) {
        Ok(l) => match sentence(l) {
            Some(b) => Probe::Match(Match::new(format!(
                "Kismet server sentences *{}: and *{}:",
                printable(a, 16),
                printable(b, 16)
            ))),
            None => Probe::NoMatch,
        },
        Err(true) => Probe::NeedMore,
        Err(false) => Probe::NoMatch,
    }
}

fn client(d: &[u8]) -> Probe {
    let l = match text_line(d, 1024) {
        Ok(l) => l,
        Err(true) => return Probe::NeedMore,
        Err(false) => return Probe::NoMatch,
    };
    let mut parts = l.splitn(3, |&b| b == b' ');
    let id = parts.next().and_then(|p| p.get(1..)).unwrap_or(&[]);
    let cmd = parts.next().unwrap_or(&[]);
    if id.is_empty() || id.len() > 10 || !id.iter().all(u8::is_ascii_digit) {
        return Probe::NoMatch;
    }
    if !COMMANDS.contains(&cmd) {
        return Probe::NoMatch;
    }
    Probe::Match(Match::new(format!(
        "Kismet client command '{}'",
        printable(l, 48)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_random_flows_rejected, check_prefixes, evidence, foreign_never_match, probe1, C, S,
    };

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const BANNER: &[u8] = include_bytes!("testdata/banner.bin");
    const ENABLE: &[u8] = include_bytes!("testdata/enable.bin");
    const CARD: &[u8] = include_bytes!("testdata/card.bin");

    #[test]
    fn real_messages() {
        assert_eq!(
            evidence(probe1(&Kismet, TCP, S, BANNER)),
            "Kismet server greeting, version 0.0.0"
        );
        assert_eq!(
            evidence(probe1(&Kismet, TCP, C, ENABLE)),
            "Kismet client command '!0 ENABLE GPS lat,lon,alt,spd,heading,fix'"
        );
        // Mid-session server stream.
        assert_eq!(
            evidence(probe1(&Kismet, TCP, S, CARD)),
            "Kismet server sentences *CARD: and *TIME:"
        );
    }

    #[test]
    fn others_rejected() {
        assert_eq!(
            probe1(&Kismet, TCP, S, b"*FOO: 1\n*BAR: 2\n"),
            Probe::NoMatch
        );
        assert_eq!(probe1(&Kismet, TCP, C, b"!0 HELLO x\n"), Probe::NoMatch);
        assert_eq!(
            probe1(&Kismet, TCP, S, b"* OK IMAP4rev1\r\n"),
            Probe::NoMatch
        );
    }

    #[test]
    fn prefixes_random_foreign() {
        check_prefixes(&Kismet, TCP, S, BANNER, b"");
        check_prefixes(&Kismet, TCP, S, CARD, b"");
        check_prefixes(&Kismet, TCP, C, ENABLE, b"");
        assert_random_flows_rejected(&Kismet, TCP, 2501);
        foreign_never_match(&Kismet, TCP);
    }
}
