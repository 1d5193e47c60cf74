//! SSH, identified from the protocol version exchange (RFC 4253 §4.2).
//!
//! "When the connection has been established, both sides MUST send an
//! identification string. This identification string MUST be
//!   SSH-protoversion-softwareversion SP comments CR LF"
//! Both sides send it, so either direction identifies the flow. Version
//! 1.99 (RFC 4253 §5.1, a server also accepting 1.x) and 1.5 (SSH-1) are
//! recognised too. "The server MAY send other lines of data before sending
//! the version string": the server side skips such lines (bounded).

pub mod record;
pub(crate) mod session;

use netsift_proto::{
    printable, Direction, Match, Parser, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// SSH.
pub struct Ssh;

/// RFC 4253 §4.2: "The maximum length of the string is 255 characters,
/// including the Carriage Return and Line Feed."
const MAX_ID: usize = 255;

/// How much server pre-banner text is skipped, and how many lines.
const MAX_PRELUDE: usize = 1024;
const MAX_PRELUDE_LINES: usize = 8;

impl Protocol for Ssh {
    fn name(&self) -> &'static str {
        "SSH"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[22]
    }
    fn parser(&self) -> Option<Box<dyn Parser>> {
        Some(Box::new(session::SshParser::new()))
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let d = input.data;
        match input.dir {
            Direction::ToServer => ident(d, "client"),
            Direction::ToClient => {
                // Skip up to MAX_PRELUDE_LINES lines of text that do not
                // start with "SSH-" ("Such lines MUST NOT begin with
                // 'SSH-'").
                let mut p = 0;
                for _ in 0..=MAX_PRELUDE_LINES {
                    let rest = d.get(p..).unwrap_or(&[]);
                    if rest.is_empty() || prefix_of_ssh(rest) {
                        return ident(rest, "server");
                    }
                    // A prelude line: text, ending in LF (CR LF "SHOULD").
                    let window = rest.get(..rest.len().min(MAX_PRELUDE - p)).unwrap_or(rest);
                    match window.iter().position(|&b| b == b'\n') {
                        Some(nl) => {
                            if !window[..nl].iter().all(|&b| is_text(b)) {
                                return Probe::NoMatch;
                            }
                            p += nl + 1;
                        }
                        None => {
                            if window.len() == rest.len()
                                && p + rest.len() < MAX_PRELUDE
                                && rest.iter().all(|&b| is_text(b))
                            {
                                return Probe::NeedMore;
                            }
                            return Probe::NoMatch;
                        }
                    }
                }
                Probe::NoMatch
            }
        }
    }
}

fn is_text(b: u8) -> bool {
    (0x20..0x7f).contains(&b) || b == b'\t' || b == b'\r'
}

/// `rest` starts with "SSH-", or is a prefix of it.
fn prefix_of_ssh(rest: &[u8]) -> bool {
    let n = rest.len().min(4);
    rest[..n] == b"SSH-"[..n]
}

/// Parse an identification string at the start of `d`.
fn ident(d: &[u8], side: &str) -> Probe {
    if d.is_empty() {
        return Probe::NeedMore;
    }
    // protoversion: "2.0", "1.99" (compatibility, RFC 4253 §5.1) or 1.x.
    let proto_ok: &[&[u8]] = &[b"SSH-2.0-", b"SSH-1.99-", b"SSH-1.5-", b"SSH-1.3-"];
    let mut proto_len = 0;
    let mut any_prefix = false;
    for p in proto_ok {
        let n = d.len().min(p.len());
        if d[..n] == p[..n] {
            any_prefix = true;
            if n == p.len() {
                proto_len = n;
            }
        }
    }
    if !any_prefix {
        return Probe::NoMatch;
    }
    if proto_len == 0 {
        return Probe::NeedMore;
    }
    // The line ends at LF (CR LF required, but "implementations MAY accept
    // a lone LF" in practice; RFC 4253 §4.2 notes older versions did so).
    let window = d.get(..d.len().min(MAX_ID)).unwrap_or(d);
    let nl = window.iter().position(|&b| b == b'\n');
    let line_end = nl.unwrap_or(window.len());
    let line = &window[..line_end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    // "Both the 'protoversion' and 'softwareversion' strings MUST consist of
    // printable US-ASCII characters, with the exception of whitespace
    // characters and the minus sign (-)." Comments follow an SP. Real
    // servers break the minus-sign rule ("SSH-1.99-Cisco-1.25"), so only
    // printable non-space characters are required.
    let rest = &line[proto_len..];
    let sw_end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
    let software = &rest[..sw_end];
    if !software.iter().all(|&b| (0x21..0x7f).contains(&b)) {
        return Probe::NoMatch;
    }
    if rest
        .get(sw_end + 1..)
        .is_some_and(|c| !c.iter().all(|&b| is_text(b) || b >= 0x80))
    {
        return Probe::NoMatch;
    }
    if nl.is_none() {
        // A CR must be the last byte before LF.
        if line.len() < window.len().saturating_sub(1) || d.len() >= MAX_ID {
            return Probe::NoMatch;
        }
        return Probe::NeedMore;
    }
    if software.is_empty() {
        return Probe::NoMatch;
    }
    let version = &d[4..proto_len - 1];
    let mut ev = format!(
        "{side} sent SSH-{} identification, software '{}'",
        printable(version, 8),
        printable(software, 100)
    );
    if let Some(c) = rest.get(sw_end + 1..).filter(|c| !c.is_empty()) {
        ev.push_str(&format!(", comment '{}'", printable(c, 100)));
    }
    Probe::Match(Match::new(ev))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::first_packet::{identify_first_payload, FirstVerdict};
    use crate::testkit::{check_prefixes, evidence, probe1 as run, random_matches};

    const TCP: Transport = Transport::Tcp;
    const C: Direction = Direction::ToServer;
    const S: Direction = Direction::ToClient;

    // Sources: testdata/README.md.
    const SERVER: &[u8] = include_bytes!("testdata/server_banner.bin");
    const CLIENT: &[u8] = include_bytes!("testdata/client_banner.bin");
    const KEXINIT: &[u8] = include_bytes!("testdata/kexinit.bin");
    const HTTP_GET: &[u8] = include_bytes!("../http/testdata/get.bin");
    const SMTP: &[u8] = include_bytes!("../http/testdata/smtp_banner.bin");
    const TLS_CH: &[u8] = include_bytes!("../tls/testdata/ch_tls12.bin");

    #[test]
    fn both_sides_identify() {
        assert_eq!(
            evidence(run(&Ssh, TCP, S, SERVER)),
            "server sent SSH-2.0 identification, software 'OpenSSH_5.3'"
        );
        assert_eq!(
            evidence(run(&Ssh, TCP, C, CLIENT)),
            "client sent SSH-2.0 identification, software 'OpenSSH_5.6'"
        );
    }

    #[test]
    fn variants() {
        let e = evidence(run(&Ssh, TCP, S, b"SSH-1.99-Cisco-1.25\r\n"));
        // RFC 4253 forbids '-' in softwareversion; Cisco sends it anyway.
        assert_eq!(
            e,
            "server sent SSH-1.99 identification, software 'Cisco-1.25'"
        );
        let e = evidence(run(
            &Ssh,
            TCP,
            C,
            b"SSH-2.0-PuTTY_Release_0.76 comment here\r\n",
        ));
        assert!(e.ends_with("comment 'comment here'"), "{e}");
        let e = evidence(run(&Ssh, TCP, S, b"SSH-1.5-OpenSSH_3.4\n"));
        assert!(e.contains("SSH-1.5"), "{e}");
        // Lines before the version string, from the server only.
        let pre = b"Welcome to the host\r\nAuthorized use only\r\nSSH-2.0-dropbear_2020.81\r\n";
        let e = evidence(run(&Ssh, TCP, S, pre));
        assert!(e.contains("dropbear_2020.81"), "{e}");
        assert_eq!(run(&Ssh, TCP, C, pre), Probe::NoMatch);
    }

    #[test]
    fn other_protocols_are_not_ssh() {
        assert_eq!(run(&Ssh, TCP, C, HTTP_GET), Probe::NoMatch);
        assert_eq!(run(&Ssh, TCP, C, TLS_CH), Probe::NoMatch);
        assert_eq!(run(&Ssh, TCP, C, KEXINIT), Probe::NoMatch);
        assert_eq!(run(&Ssh, TCP, S, KEXINIT), Probe::NoMatch);
        // A text banner from a server is not SSH once it is complete and
        // followed by something else; while it is short it may still be a
        // prelude.
        assert_eq!(
            run(&Ssh, TCP, S, &[SMTP, b"\x00\x01"].concat()),
            Probe::NoMatch
        );
        assert_eq!(run(&Ssh, TCP, C, b"SSH-2.0-\r\n"), Probe::NoMatch);
        assert_eq!(run(&Ssh, TCP, C, b"SSH-3.0-x\r\n"), Probe::NoMatch);
    }

    #[test]
    fn prefixes_are_consistent() {
        check_prefixes(&Ssh, TCP, S, SERVER, b"");
        check_prefixes(&Ssh, TCP, C, CLIENT, b"");
        check_prefixes(&Ssh, TCP, C, KEXINIT, b"");
        check_prefixes(&Ssh, TCP, S, &[SMTP, SERVER].concat(), b"");
    }

    #[test]
    fn first_packet_api_on_odd_port() {
        match identify_first_payload(TCP, C, 53, CLIENT) {
            FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "SSH"),
            v => panic!("{v:?}"),
        }
        match identify_first_payload(TCP, S, 53, SERVER) {
            FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "SSH"),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn random_bytes_are_not_ssh() {
        let hits = random_matches(&Ssh, TCP, 100_000, 0x55a, None);
        assert!(hits < 100, "{hits} random matches");
    }
}
