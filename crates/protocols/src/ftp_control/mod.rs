//! FTP control connection (RFC 959, with RFC 2228, RFC 2389, RFC 2428,
//! RFC 3659, RFC 4217).
//!
//! FTP is server-speaks-first: the server greets with a reply (RFC 959
//! §5.4: 120, 220 or 421) in the reply grammar of §4.2 — three digits, then
//! SP (last line) or "-" (first line of a multi-line reply), text, CRLF.
//! SMTP greets with the same "220 " (RFC 5321 §4.2), so FTP and SMTP are
//! decided together by [`reply::decide`]:
//!
//! 1. the greeting names the product or protocol ("FTP" — vsFTPd, ProFTPD,
//!    Pure-FTPd, "Microsoft FTP Service" —, FileZilla, Serv-U; versus SMTP,
//!    ESMTP, Postfix, Exim, Sendmail, qmail, MailEnable) and not the other;
//! 2. otherwise (a bare "220 Welcome" or one naming both) the client's first
//!    command: FTP-only verbs (USER/PASS — POP3 never greets with 220 —,
//!    AUTH TLS/SSL, SYST, FEAT, PASV, EPSV, PORT, EPRT, PWD, CWD, TYPE, ...)
//!    versus SMTP-only ones (EHLO, HELO, MAIL FROM:, RCPT TO:, STARTTLS,
//!    AUTH <SASL mechanism>, ...);
//! 3. otherwise the server's reply to that command (331/332/230/257/227/
//!    229/215/150/226/234 only exist in FTP; 354, 235 and a multi-line
//!    "250-" only in SMTP);
//! 4. a capture that starts after the greeting: an FTP-only command with a
//!    well-formed reply, or USER answered by 331/332/230.
//!
//! Until one of these decides, the probe answers `NeedMore`; a server
//! stream that is not in the reply grammar, or a client stream that is not
//! a command line, is `NoMatch`.
//!
//! The data connections that FTP announces here are parsed by
//! [`data_channel::parse_data_channel`] (see `ftp_data` for why that is
//! the only way to recognise FTP_DATA).

pub mod data_channel;
pub mod record;
pub(crate) mod reply;
pub mod session;

pub use data_channel::{parse_data_channel, Connector, DataChannel, DataChannelKind};

use netsift_proto::{first_line, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

use reply::Dialog;

/// FTP_CONTROL.
pub struct FtpControl;

impl Protocol for FtpControl {
    fn name(&self) -> &'static str {
        "FTP_CONTROL"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[21]
    }
    fn parser(&self) -> Option<Box<dyn netsift_proto::Parser>> {
        Some(Box::new(crate::starttls::StartTls::new(
            "FTP",
            session::FtpParser::new(),
        )))
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let (server, client) = input.server_client();
        match reply::decide(server, client) {
            Dialog::Ftp(mut ev) => {
                // Name a data channel announced in the first line of either
                // side (PORT/EPRT from the client, 227/229 from the server).
                let announced = [client, server]
                    .into_iter()
                    .filter_map(|s| first_line(s, reply::MAX_LINE))
                    .find_map(parse_data_channel);
                if let Some(dc) = announced {
                    ev.push_str(&format!(" ({})", describe(&dc)));
                }
                Probe::Match(Match::new(ev))
            }
            Dialog::Smtp(_) | Dialog::Neither => Probe::NoMatch,
            Dialog::Undecided => Probe::NeedMore,
        }
    }
}

/// "client will connect to 10.0.0.1:1025 (PASV)".
pub fn describe(dc: &DataChannel) -> String {
    let who = match dc.connector {
        Connector::ClientToServer => "client will connect to",
        Connector::ServerToClient => "server will connect to",
    };
    let how = match dc.kind {
        DataChannelKind::Passive => "PASV",
        DataChannelKind::ExtendedPassive => "EPSV",
        DataChannelKind::Active => "PORT",
        DataChannelKind::ExtendedActive => "EPRT",
    };
    match dc.addr {
        Some(std::net::IpAddr::V6(a)) => format!("data channel: {who} [{a}]:{} ({how})", dc.port),
        Some(a) => format!("data channel: {who} {a}:{} ({how})", dc.port),
        None => format!("data channel: {who} port {} ({how})", dc.port),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use netsift_proto::Direction;
    use netsift_proto::Direction::{ToClient, ToServer};

    // ftp.pcap (192.168.1.212:50694 -> 90.130.70.73:21): frame 4 banner,
    // frame 6 "USER anonymous", frame 8 "331 Please specify the password."
    const VSFTPD: &[u8] = include_bytes!("testdata/vsftpd_banner.bin");
    const USER: &[u8] = include_bytes!("testdata/client_user.bin");
    const R331: &[u8] = include_bytes!("testdata/reply_331.bin");
    // fuzz-2006-06-26-2594.pcap frame 47: ProFTPD banner.
    const PROFTPD: &[u8] = include_bytes!("testdata/proftpd_banner.bin");
    // ftp-start-tls.pcap frames 5 and 7: a banner that names nothing, then
    // the client's "AUTH TLS".
    const HUAWEI: &[u8] = include_bytes!("testdata/huawei_banner.bin");
    const AUTH_TLS: &[u8] = include_bytes!("testdata/client_auth_tls.bin");
    // smtp.pcap frame 4 (Sendmail) and emotet.pcap frame 4 (smtp.orange.fr).
    const SENDMAIL: &[u8] = include_bytes!("../smtp/testdata/sendmail_banner.bin");
    const ORANGE: &[u8] = include_bytes!("../smtp/testdata/orange_banner.bin");

    fn probe(dir: Direction, data: &[u8], peer: &[u8]) -> Probe {
        run(&FtpControl, Transport::Tcp, dir, data, peer)
    }

    #[test]
    fn banners_that_name_ftp() {
        assert_eq!(
            evidence(probe(ToClient, VSFTPD, &[])),
            "server banner '220 (vsFTPd 3.0.3)'"
        );
        assert!(evidence(probe(ToClient, PROFTPD, &[])).contains("ProFTPD"));
        let ms = b"220 Microsoft FTP Service\r\n";
        assert!(matches!(probe(ToClient, ms, &[]), Probe::Match(_)));
        let fz =
            b"220-FileZilla Server 1.7.0\r\n220 Please visit https://filezilla-project.org/\r\n";
        assert!(matches!(probe(ToClient, fz, &[]), Probe::Match(_)));
        let pure = b"220---------- Welcome to Pure-FTPd [privsep] [TLS] ----------\r\n220-You are user number 1 of 50 allowed.\r\n220 This is a private system - No anonymous login\r\n";
        assert!(matches!(probe(ToClient, pure, &[]), Probe::Match(_)));
        // The client's view: the banner is the peer.
        assert!(matches!(probe(ToServer, USER, VSFTPD), Probe::Match(_)));
    }

    #[test]
    fn smtp_banners_are_not_ftp() {
        assert_eq!(probe(ToClient, SENDMAIL, &[]), Probe::NoMatch);
        assert_eq!(probe(ToClient, ORANGE, &[]), Probe::NoMatch);
    }

    #[test]
    fn ambiguous_banner_decided_by_the_client() {
        assert_eq!(probe(ToClient, HUAWEI, &[]), Probe::NeedMore);
        let e = evidence(probe(ToServer, AUTH_TLS, HUAWEI));
        assert!(e.ends_with("client sent 'AUTH TLS'"), "{e}");
        assert!(
            e.starts_with("server banner '220 \"Authorized users only."),
            "{e}"
        );
        // Same banner, SMTP client.
        assert_eq!(
            probe(ToServer, b"EHLO mail.example.com\r\n", HUAWEI),
            Probe::NoMatch
        );
        // A shared command: the server's answer decides.
        let mut s = HUAWEI.to_vec();
        s.extend_from_slice(b"215 UNIX Type: L8\r\n");
        // "QUIT"-like shared verbs don't decide; the 215 does.
        let e = evidence(probe(ToClient, &s, b"NOOP\r\n"));
        assert!(e.contains("then '215 UNIX Type: L8'"), "{e}");
        // A bare "220 " with nothing else: wait.
        assert_eq!(probe(ToClient, b"220 Welcome\r\n", &[]), Probe::NeedMore);
        assert_eq!(
            probe(ToClient, b"220 Welcome\r\n", b"NOOP\r\n"),
            Probe::NeedMore
        );
    }

    #[test]
    fn capture_starting_with_the_client_command() {
        // "USER anonymous" alone could be POP3.
        assert_eq!(probe(ToServer, USER, &[]), Probe::NeedMore);
        let e = evidence(probe(ToServer, USER, R331));
        assert_eq!(
            e,
            "client sent 'USER anonymous', server replied '331 Please specify the password.'"
        );
        // POP3's answer is not an FTP reply.
        assert_eq!(probe(ToServer, USER, b"+OK\r\n"), Probe::NoMatch);
        // PORT mid-capture, with the data channel in the evidence.
        let e = evidence(probe(
            ToServer,
            b"PORT 192,168,1,2,7,138\r\n",
            b"200 PORT command successful\r\n",
        ));
        assert!(
            e.ends_with("(data channel: server will connect to 192.168.1.2:1930 (PORT))"),
            "{e}"
        );
    }

    #[test]
    fn whole_real_dialogue() {
        // The whole control stream of ftp.pcap, both directions.
        let server =
            b"220 (vsFTPd 3.0.3)\r\n331 Please specify the password.\r\n230 Login successful.\r\n";
        let client = b"USER anonymous\r\nPASS NcFTP@\r\n";
        assert!(matches!(probe(ToClient, server, client), Probe::Match(_)));
        assert!(matches!(probe(ToServer, client, server), Probe::Match(_)));
    }

    #[test]
    fn truncation() {
        check_prefixes(&FtpControl, Transport::Tcp, ToClient, VSFTPD, &[]);
        check_prefixes(&FtpControl, Transport::Tcp, ToClient, PROFTPD, &[]);
        check_prefixes(&FtpControl, Transport::Tcp, ToServer, AUTH_TLS, HUAWEI);
        check_prefixes(&FtpControl, Transport::Tcp, ToServer, USER, R331);
        check_prefixes(&FtpControl, Transport::Tcp, ToClient, HUAWEI, AUTH_TLS);
        // A prefix of a banner is never rejected.
        for n in 0..VSFTPD.len() {
            assert_eq!(probe(ToClient, &VSFTPD[..n], &[]), Probe::NeedMore, "{n}");
        }
    }

    #[test]
    fn other_protocols_and_random() {
        assert_no_claim_on_others(&FtpControl, Transport::Tcp);
        for (_, d) in OTHER_PROTOCOLS {
            // As a server stream with any client command.
            assert!(!matches!(probe(ToClient, d, USER), Probe::Match(_)));
            assert!(!matches!(probe(ToServer, USER, d), Probe::Match(_)));
        }
        assert_random_rate(&FtpControl, Transport::Tcp);
    }

    #[test]
    fn first_packet_on_a_non_standard_port() {
        match crate::first_packet::identify_first_payload(Transport::Tcp, ToClient, 80, VSFTPD) {
            crate::FirstVerdict::Match {
                protocol, evidence, ..
            } => {
                assert_eq!(protocol, "FTP_CONTROL");
                assert_eq!(evidence, "server banner '220 (vsFTPd 3.0.3)'");
            }
            other => panic!("{other:?}"),
        }
    }
}
