//! The records consumers read back, typed (issue 21 §5).
//!
//! Parsers hand their record structs to the engine as a [`Record`];
//! detection and learning look at them through [`RecordEvent`] and read
//! struct fields, so renaming a field breaks them at compile time instead
//! of silently. Only the output layer turns records into JSON
//! ([`Record::to_json`]). Records of the kinds nobody reads back arrive as
//! [`RecordEvent::Other`].

pub use netsift_proto::{Record, RecordBody};

pub use crate::dns::record::{DnsRecord, Edns, Tsig};
pub use crate::ftp_control::record::{DataChannelRec, FtpRecord};
pub use crate::http::record::HttpRecord;
pub use crate::imap::record::{ImapCommand, ImapRecord};
pub use crate::pop3::record::{Pop3Command, Pop3Record};
pub use crate::quic::record::QuicRecord;
pub use crate::smtp::record::{SmtpCommand, SmtpRecord};
pub use crate::ssh::record::SshRecord;
pub use crate::tls::record::{CertRecord, TlsRecord};

/// A record as its consumers see it.
#[derive(Debug, Clone, Copy)]
pub enum RecordEvent<'a> {
    /// `dns` (DNS, mDNS, LLMNR, NBNS).
    Dns(&'a DnsRecord),
    /// `ftp`: one command and its reply.
    Ftp(&'a FtpRecord),
    /// `http`: one transaction.
    Http(&'a HttpRecord),
    /// `imap`: one session.
    Imap(&'a ImapRecord),
    /// `pop3`: one session.
    Pop3(&'a Pop3Record),
    /// `quic`: one connection.
    Quic(&'a QuicRecord),
    /// `smtp`: one mail transaction.
    Smtp(&'a SmtpRecord),
    /// `ssh`: one connection.
    Ssh(&'a SshRecord),
    /// `tls` (TLS and DTLS): one connection.
    Tls(&'a TlsRecord),
    /// Any other record (written out, not read back).
    Other,
}

impl<'a> RecordEvent<'a> {
    /// The typed view of a record.
    pub fn of(r: &'a Record) -> RecordEvent<'a> {
        if let Some(x) = r.downcast_ref::<DnsRecord>() {
            RecordEvent::Dns(x)
        } else if let Some(x) = r.downcast_ref::<FtpRecord>() {
            RecordEvent::Ftp(x)
        } else if let Some(x) = r.downcast_ref::<HttpRecord>() {
            RecordEvent::Http(x)
        } else if let Some(x) = r.downcast_ref::<ImapRecord>() {
            RecordEvent::Imap(x)
        } else if let Some(x) = r.downcast_ref::<Pop3Record>() {
            RecordEvent::Pop3(x)
        } else if let Some(x) = r.downcast_ref::<QuicRecord>() {
            RecordEvent::Quic(x)
        } else if let Some(x) = r.downcast_ref::<SmtpRecord>() {
            RecordEvent::Smtp(x)
        } else if let Some(x) = r.downcast_ref::<SshRecord>() {
            RecordEvent::Ssh(x)
        } else if let Some(x) = r.downcast_ref::<TlsRecord>() {
            RecordEvent::Tls(x)
        } else {
            RecordEvent::Other
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::replay::replay;
    use netsift_proto::{Direction, MemSink};

    /// The records of `protocol`'s parser over a stored conversation.
    fn records(protocol: &str, data: &[u8]) -> MemSink {
        let mut p = crate::by_name(protocol)
            .and_then(|p| p.parser())
            .expect("parser");
        replay(data, &mut *p)
    }

    /// Every record arrives typed as `want`, and its JSON is what the
    /// output layer writes.
    fn check(s: &MemSink, log: &str, want: fn(RecordEvent<'_>) -> bool) {
        let typed: Vec<_> = s.typed.iter().filter(|(l, _)| *l == log).collect();
        assert!(!typed.is_empty(), "no {log} record");
        for (i, (_, r)) in typed.iter().enumerate() {
            assert!(want(RecordEvent::of(r)), "{log} record {i} is not typed");
            assert_eq!(&r.to_json(), s.log(log)[i]);
        }
    }

    #[test]
    fn parsers_hand_over_typed_records() {
        let s = records("HTTP", include_bytes!("http/testdata/stream_chunked2.bin"));
        check(&s, "http", |e| matches!(e, RecordEvent::Http(_)));
        let s = records("SMTP", include_bytes!("smtp/testdata/stream_smtp.bin"));
        check(
            &s,
            "smtp",
            |e| matches!(e, RecordEvent::Smtp(r) if !r.commands.is_empty()),
        );
        let s = records("POP3", include_bytes!("pop3/testdata/stream_pop3.bin"));
        check(
            &s,
            "pop3",
            |e| matches!(e, RecordEvent::Pop3(r) if r.user.is_some()),
        );
        let s = records("IMAP", include_bytes!("imap/testdata/stream_imap.bin"));
        check(&s, "imap", |e| matches!(e, RecordEvent::Imap(_)));

        // DNS over UDP: a query and its response (dns.pcap frames 4, 5).
        let mut p = crate::by_name("DNS")
            .and_then(|p| p.parser())
            .expect("parser");
        let mut s = MemSink::default();
        p.on_data(
            Direction::ToServer,
            include_bytes!("dns/testdata/query_a.bin"),
            &mut s,
        );
        p.on_data(
            Direction::ToClient,
            include_bytes!("dns/testdata/response_a.bin"),
            &mut s,
        );
        p.on_end(&mut s);
        check(
            &s,
            "dns",
            |e| matches!(e, RecordEvent::Dns(r) if r.query.as_deref() == Some("e7.whatsapp.net")),
        );
    }

    #[test]
    fn json_records_are_other() {
        let r = Record::from(serde_json::json!({"name": "x"}));
        assert!(matches!(RecordEvent::of(&r), RecordEvent::Other));
        let r = Record::typed(FtpRecord {
            command: "PASS".into(),
            reply_code: Some(530),
            ..Default::default()
        });
        assert!(matches!(RecordEvent::of(&r), RecordEvent::Ftp(f) if f.reply_code == Some(530)));
    }
}
