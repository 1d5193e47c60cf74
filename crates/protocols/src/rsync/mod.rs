//! RSYNC daemon protocol, identified from the greeting.
//!
//! rsync(1), "CONNECTING TO AN RSYNC DAEMON" / rsyncd.conf(5); the
//! protocol is documented in rsync's `clientserver.c`: both sides start
//! by sending "@RSYNCD: <protocol version>\n" (e.g. "@RSYNCD: 30.0\n";
//! rsync 3.2 appends the checksum names it supports, "@RSYNCD: 32.0
//! sha512 sha256 sha1 md5 md4\n"). The daemon later sends "@RSYNCD: OK",
//! "@RSYNCD: EXIT" or "@RSYNCD: AUTHREQD <challenge>". Either side's
//! greeting identifies the flow.

use netsift_proto::{printable, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// RSYNC.
pub struct Rsync;

const MAGIC: &[u8] = b"@RSYNCD: ";

/// Longest greeting line accepted (version + checksum and compression
/// name lists).
const MAX_LINE: usize = 256;

impl Protocol for Rsync {
    fn name(&self) -> &'static str {
        "RSYNC"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[873]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let d = input.data;
        let n = d.len().min(MAGIC.len());
        if d[..n] != MAGIC[..n] {
            return Probe::NoMatch;
        }
        let rest = &d[n..];
        let window = &rest[..rest.len().min(MAX_LINE)];
        let Some(nl) = window.iter().position(|&b| b == b'\n') else {
            let text = window.iter().all(|&b| (0x20..0x7f).contains(&b));
            return if text && window.len() < MAX_LINE {
                Probe::NeedMore
            } else {
                Probe::NoMatch
            };
        };
        let line = &window[..nl];
        // "<major>.<minor>" (protocol 30+) or a bare "<major>" (older
        // daemons), then optional space-separated words.
        let ver_end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
        let ver = &line[..ver_end];
        let mut parts = ver.splitn(2, |&b| b == b'.');
        let major = parts.next().unwrap_or(&[]);
        let minor = parts.next();
        let digits = |s: &[u8]| !s.is_empty() && s.len() <= 3 && s.iter().all(u8::is_ascii_digit);
        if !digits(major) || minor.is_some_and(|m| !digits(m)) {
            return Probe::NoMatch;
        }
        if !line.iter().all(|&b| (0x20..0x7f).contains(&b)) {
            return Probe::NoMatch;
        }
        let who = match input.dir {
            netsift_proto::Direction::ToServer => "client",
            netsift_proto::Direction::ToClient => "daemon",
        };
        Probe::Match(Match::new(format!(
            "{who} sent '@RSYNCD: {}' greeting",
            printable(ver, 16)
        )))
    }
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
    const CLIENT: &[u8] = include_bytes!("testdata/client_greeting.bin");
    const SERVER: &[u8] = include_bytes!("testdata/server_greeting.bin");
    const CLIENT32: &[u8] = include_bytes!("testdata/client_greeting_32.bin");

    #[test]
    fn greetings() {
        assert_eq!(
            evidence(run(&Rsync, TCP, C, CLIENT, b"")),
            "client sent '@RSYNCD: 30.0' greeting"
        );
        assert_eq!(
            evidence(run(&Rsync, TCP, S, SERVER, b"")),
            "daemon sent '@RSYNCD: 30.0' greeting"
        );
        assert_eq!(
            evidence(run(&Rsync, TCP, C, CLIENT32, b"")),
            "client sent '@RSYNCD: 32.0' greeting"
        );
        assert!(matches!(
            run(&Rsync, TCP, S, b"@RSYNCD: 26\n", b""),
            Probe::Match(_)
        ));
    }

    #[test]
    fn not_rsync() {
        assert_eq!(run(&Rsync, TCP, S, b"@RSYNCD: OK\n", b""), Probe::NoMatch);
        assert_eq!(run(&Rsync, TCP, C, b"@RSYNCD: 3x.0\n", b""), Probe::NoMatch);
        assert_eq!(run(&Rsync, TCP, C, b"@RSYNC: 30.0\n", b""), Probe::NoMatch);
        foreign_never_match(&Rsync, TCP);
    }

    #[test]
    fn prefixes_are_consistent() {
        check_prefixes(&Rsync, TCP, C, CLIENT, b"");
        check_prefixes(&Rsync, TCP, C, CLIENT32, b"");
        check_prefixes(&Rsync, TCP, S, SERVER, b"");
    }

    #[test]
    fn first_packet_api_on_odd_port() {
        match identify_first_payload(TCP, C, 443, CLIENT) {
            FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "RSYNC"),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn random_bytes_are_not_rsync() {
        let hits = random_matches(&Rsync, TCP, 100_000, 0x7519c, None);
        assert!(hits < 100, "{hits} random matches");
    }
}
