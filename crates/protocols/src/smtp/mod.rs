//! SMTP (RFC 5321), including submission (RFC 6409) and LMTP's LHLO.
//!
//! SMTP is server-speaks-first: RFC 5321 §4.2 greeting `220 <domain>
//! [text] CRLF` (or 554), multi-line replies `220-...` ... `220 ...`. As FTP
//! greets with the same "220 ", the two are told apart together by
//! [`crate::ftp_control::reply::decide`] (see the FTP_CONTROL module doc
//! for the rules): an SMTP/ESMTP/Postfix/Exim/Sendmail/qmail greeting; or an
//! ambiguous greeting followed by EHLO/HELO/LHLO, MAIL FROM:, RCPT TO:,
//! STARTTLS, VRFY, EXPN, BDAT or AUTH with a SASL mechanism; or the
//! server's answer to a shared command being 354, 235 or a multi-line
//! "250-" (the EHLO reply, RFC 5321 §4.1.1.1).
//!
//! A session upgraded with STARTTLS (RFC 3207) is still SMTP here (nDPI
//! reports it as SMTPS, a protocol netsift does not register); its TLS
//! part is parsed into a `tls` record of the same connection
//! ([`crate::starttls`]).
//!
//! The parser (`session.rs`) writes the `smtp` log ([`record::SmtpRecord`]):
//! one record per mail transaction; MIME attachments are carved by the
//! `mime` walker, shared with POP3 and IMAP.

use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

use crate::ftp_control::reply::{self, Dialog};

pub(crate) mod mime;
pub mod record;
mod session;

/// SMTP.
pub struct Smtp;

impl Protocol for Smtp {
    fn name(&self) -> &'static str {
        "SMTP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[25, 587]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let (server, client) = input.server_client();
        match reply::decide(server, client) {
            Dialog::Smtp(ev) => Probe::Match(Match::new(ev)),
            Dialog::Ftp(_) | Dialog::Neither => Probe::NoMatch,
            Dialog::Undecided => Probe::NeedMore,
        }
    }
    fn parser(&self) -> Option<Box<dyn netsift_proto::Parser>> {
        Some(Box::new(crate::starttls::StartTls::new(
            "SMTP",
            session::SmtpParser::new(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use netsift_proto::Direction;
    use netsift_proto::Direction::{ToClient, ToServer};

    // smtp.pcap (194.7.248.153:2127 -> 172.16.114.207:25): frame 4 Sendmail
    // banner, frame 6 "EHLO delta.peach.mil".
    const SENDMAIL: &[u8] = include_bytes!("testdata/sendmail_banner.bin");
    const SENDMAIL_EHLO: &[u8] = include_bytes!("testdata/sendmail_client_ehlo.bin");
    // emotet.pcap (587): frame 4 banner, frame 5 EHLO, frame 7 the
    // multi-line EHLO reply.
    const ORANGE: &[u8] = include_bytes!("testdata/orange_banner.bin");
    const ORANGE_EHLO: &[u8] = include_bytes!("testdata/orange_client_ehlo.bin");
    const ORANGE_250: &[u8] = include_bytes!("testdata/orange_ehlo_reply.bin");
    // smtp-starttls.pcap frame 4: mx.google.com.
    const GOOGLE: &[u8] = include_bytes!("testdata/google_banner.bin");
    // ftp.pcap frame 4.
    const VSFTPD: &[u8] = include_bytes!("../ftp_control/testdata/vsftpd_banner.bin");

    fn probe(dir: Direction, data: &[u8], peer: &[u8]) -> Probe {
        run(&Smtp, Transport::Tcp, dir, data, peer)
    }

    #[test]
    fn real_banners() {
        let e = evidence(probe(ToClient, SENDMAIL, &[]));
        assert!(
            e.starts_with("server banner '220 pigeon.eyrie.af.mil ESMTP Sendmail 8.8.7/8.8.7;"),
            "{e}"
        );
        assert!(matches!(probe(ToClient, ORANGE, &[]), Probe::Match(_)));
        assert!(matches!(probe(ToClient, GOOGLE, &[]), Probe::Match(_)));
        assert!(matches!(
            probe(ToServer, SENDMAIL_EHLO, SENDMAIL),
            Probe::Match(_)
        ));
        let postfix = b"220 mx.example.org ESMTP Postfix (Debian/GNU)\r\n";
        assert!(matches!(probe(ToClient, postfix, &[]), Probe::Match(_)));
        let exchange = b"220 EX01.corp.local Microsoft ESMTP MAIL Service ready at Mon, 1 Jan 2024 00:00:00 +0000\r\n";
        assert!(matches!(probe(ToClient, exchange, &[]), Probe::Match(_)));
        let exim = b"220-host.example.com Exim 4.96 #2 Mon, 01 Jan 2024\r\n220-We do not authorize the use of this system\r\n220 to transport unsolicited mail\r\n";
        assert!(matches!(probe(ToClient, exim, &[]), Probe::Match(_)));
    }

    #[test]
    fn ambiguous_banner_and_the_client() {
        let bare = b"220 mail.example.com ready\r\n";
        assert_eq!(probe(ToClient, bare, &[]), Probe::NeedMore);
        let e = evidence(probe(ToServer, ORANGE_EHLO, bare));
        assert_eq!(
            e,
            "server banner '220 mail.example.com ready', client sent 'EHLO [173.66.46.97]'"
        );
        assert!(matches!(
            probe(ToServer, b"MAIL FROM:<a@b.c>\r\n", bare),
            Probe::Match(_)
        ));
        assert!(matches!(
            probe(ToServer, b"AUTH LOGIN\r\n", bare),
            Probe::Match(_)
        ));
        // FTP client: not SMTP.
        assert_eq!(probe(ToServer, b"USER ftp\r\n", bare), Probe::NoMatch);
        assert_eq!(probe(ToServer, b"AUTH TLS\r\n", bare), Probe::NoMatch);
        // Shared verb, then the multi-line EHLO-style answer.
        let mut s = bare.to_vec();
        s.extend_from_slice(ORANGE_250);
        let e = evidence(probe(ToClient, &s, b"NOOP\r\n"));
        assert!(e.contains("then '250-opmta1mto02nd1 hello"), "{e}");
    }

    #[test]
    fn capture_starting_mid_dialogue() {
        let e = evidence(probe(ToServer, ORANGE_EHLO, ORANGE_250));
        assert!(
            e.starts_with("client sent 'EHLO [173.66.46.97]', server replied '250-"),
            "{e}"
        );
    }

    /// crates/cli/tests/edge/smtp_client_only.pcap: swaks's side of a
    /// session with postfix, the server's packets not captured. EHLO then
    /// MAIL FROM: with no server byte decides; EHLO alone (its greeting may
    /// still be on the way) does not, nor FTP's or POP3's first lines.
    #[test]
    fn client_side_only() {
        let c = b"EHLO client.edge.test\r\nMAIL FROM:<alice@edge.test>\r\n";
        let e = evidence(probe(ToServer, c, &[]));
        assert_eq!(
            e,
            "client sent 'EHLO client.edge.test' then 'MAIL FROM:<alice@edge.test>' (no server bytes seen)"
        );
        for n in 0..c.len() {
            assert_eq!(probe(ToServer, &c[..n], &[]), Probe::NeedMore, "{n}");
        }
        for other in [
            &b"USER anonymous\r\nPASS x@y\r\n"[..],
            b"EHLO x\r\nNOOP\r\n",
            b"MAIL FROM:<a@b>\r\nEHLO x\r\n",
        ] {
            assert!(!matches!(probe(ToServer, other, &[]), Probe::Match(_)));
        }
    }

    #[test]
    fn ftp_is_not_smtp() {
        assert_eq!(probe(ToClient, VSFTPD, &[]), Probe::NoMatch);
        assert_eq!(
            probe(ToServer, b"USER anonymous\r\n", b"331 Password\r\n"),
            Probe::NoMatch
        );
    }

    #[test]
    fn truncation() {
        for b in [SENDMAIL, ORANGE, GOOGLE] {
            check_prefixes(&Smtp, Transport::Tcp, ToClient, b, &[]);
            for n in 0..b.len() {
                assert_eq!(probe(ToClient, &b[..n], &[]), Probe::NeedMore, "{n}");
            }
        }
        check_prefixes(&Smtp, Transport::Tcp, ToServer, ORANGE_EHLO, ORANGE_250);
        check_prefixes(&Smtp, Transport::Tcp, ToClient, ORANGE_250, ORANGE_EHLO);
    }

    #[test]
    fn other_protocols_and_random() {
        assert_no_claim_on_others(&Smtp, Transport::Tcp);
        for (_, d) in OTHER_PROTOCOLS {
            assert!(!matches!(probe(ToClient, d, ORANGE_EHLO), Probe::Match(_)));
            assert!(!matches!(probe(ToServer, ORANGE_EHLO, d), Probe::Match(_)));
        }
        assert_random_rate(&Smtp, Transport::Tcp);
    }

    #[test]
    fn first_packet_on_a_non_standard_port() {
        match crate::first_packet::identify_first_payload(Transport::Tcp, ToClient, 2525, GOOGLE) {
            crate::FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "SMTP"),
            other => panic!("{other:?}"),
        }
    }
}
