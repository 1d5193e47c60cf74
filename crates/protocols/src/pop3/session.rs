//! POP3 session parser (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034
//! AUTH): commands paired with their replies in order, messages fetched by
//! RETR walked for MIME attachments (shared with SMTP).

use std::collections::VecDeque;

use netsift_proto::{Direction, Parser, Record, Sink};

use super::record::{Pop3Command, Pop3Record};
use crate::heap::{str_heap, strs_heap};
use crate::smtp::mime::{chomp, sasl_step, trunc, weird, LineBuf, MimeParser, Sasl};

const MAX_COMMANDS: usize = 256;
const MAX_PENDING: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Single-line answer.
    Single,
    /// RFC 1939 §5: LIST / UIDL without argument, §7 TOP; RFC 2449 CAPA:
    /// "+OK" then lines up to a lone ".".
    Multi,
    /// §5 RETR: a multi-line answer carrying a message.
    Retr,
    /// RFC 2595 §4.
    Stls,
    /// RFC 5034 AUTH, then its continuation lines.
    Auth,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    idx: Option<usize>,
    kind: Kind,
}

enum Multi {
    No,
    Lines,
    Message {
        mime: Box<MimeParser>,
        size: u64,
        mid: bool,
    },
    /// After a gap inside a multi-line answer: skip to its end.
    Skip,
}

/// Parser for one POP3 connection.
pub(crate) struct Pop3Parser {
    cl: LineBuf,
    sv: LineBuf,
    cl_skip: bool,
    sv_skip: bool,
    pending: VecDeque<Pending>,
    multi: Multi,
    sasl: Sasl,
    greeted: bool,
    done: bool,
    /// STLS was just accepted: the hand-over to TLS is to report.
    handover: bool,
    ts: Option<u64>,
    rec: Pop3Record,
}

impl Pop3Parser {
    pub(crate) fn new() -> Pop3Parser {
        Pop3Parser {
            cl: LineBuf::default(),
            sv: LineBuf::default(),
            cl_skip: false,
            sv_skip: false,
            pending: VecDeque::new(),
            multi: Multi::No,
            sasl: Sasl::None,
            greeted: false,
            done: false,
            handover: false,
            ts: None,
            rec: Pop3Record::default(),
        }
    }

    fn push(&mut self, p: Pending) {
        if self.pending.len() >= MAX_PENDING {
            self.pending.pop_front();
            weird(&mut self.rec.weird, "too_many_pending_commands");
        }
        self.pending.push_back(p);
    }

    fn client_line(&mut self, raw: &[u8], complete: bool) {
        if !complete {
            weird(&mut self.rec.weird, "command_line_too_long");
            return;
        }
        let line = chomp(raw);
        // RFC 5034 §4: after AUTH the client answers each "+" challenge
        // with a base64 line ("*" cancels).
        if self.sasl != Sasl::None {
            let step = self.sasl;
            self.sasl = Sasl::None;
            let idx = self.pending.back().and_then(|p| p.idx).or(self
                .rec
                .commands
                .len()
                .checked_sub(1));
            self.push(Pending {
                idx,
                kind: Kind::Auth,
            });
            self.sasl_step(step, line);
            return;
        }
        let text = String::from_utf8_lossy(line);
        let (verb, arg) = match text.split_once(' ') {
            Some((v, a)) => (v.to_ascii_uppercase(), a.trim().to_string()),
            None => (text.trim().to_ascii_uppercase(), String::new()),
        };
        if verb.is_empty() {
            weird(&mut self.rec.weird, "empty_command");
            return;
        }
        let has_arg = !arg.is_empty();
        let mut logged_arg = Some(trunc(&arg, 256)).filter(|a| !a.is_empty());
        let kind = match verb.as_str() {
            // RFC 1939 §7: "USER name".
            "USER" => {
                self.rec.user = logged_arg.clone();
                Kind::Single
            }
            // §7: "PASS string" — never logged.
            "PASS" => {
                logged_arg = None;
                Kind::Single
            }
            // §7: "APOP name digest".
            "APOP" => {
                let name = arg.split_whitespace().next().map(|n| trunc(n, 256));
                self.rec.user = name.clone();
                logged_arg = name;
                Kind::Single
            }
            "RETR" => Kind::Retr,
            "TOP" | "CAPA" => Kind::Multi,
            "LIST" | "UIDL" if !has_arg => Kind::Multi,
            "STLS" => Kind::Stls,
            "AUTH" => {
                let mut it = arg.split_whitespace();
                let mech = it.next().map(|m| m.to_ascii_uppercase());
                let initial = it.next().map(str::to_string);
                logged_arg = mech.clone();
                match mech.as_deref() {
                    // Some servers list their mechanisms for a bare AUTH.
                    None => Kind::Multi,
                    Some(m) => {
                        self.sasl = match m {
                            "PLAIN" => Sasl::Plain,
                            "LOGIN" => Sasl::LoginUser,
                            _ => Sasl::Skip,
                        };
                        if let Some(i) = initial.filter(|i| i != "=") {
                            let step = self.sasl;
                            self.sasl = Sasl::None;
                            self.sasl_step(step, i.as_bytes());
                        }
                        Kind::Auth
                    }
                }
            }
            _ => Kind::Single,
        };
        let idx = if self.rec.commands.len() < MAX_COMMANDS {
            self.rec.commands.push(Pop3Command {
                command: trunc(&verb, 32),
                arg: logged_arg,
                status: None,
                reply: None,
            });
            Some(self.rec.commands.len() - 1)
        } else {
            weird(&mut self.rec.weird, "too_many_commands");
            None
        };
        self.push(Pending { idx, kind });
    }

    fn sasl_step(&mut self, step: Sasl, line: &[u8]) {
        let (user, next) = sasl_step(step, line);
        if user.is_some() {
            self.rec.user = user;
        }
        self.sasl = next;
    }

    fn server_line(&mut self, raw: &[u8], complete: bool, sink: &mut dyn Sink) {
        match &mut self.multi {
            Multi::No => {}
            Multi::Skip => {
                if complete && chomp(raw) == b"." {
                    self.multi = Multi::No;
                }
                return;
            }
            Multi::Lines => {
                if complete && chomp(raw) == b"." {
                    self.multi = Multi::No;
                }
                return;
            }
            Multi::Message { mime, size, mid } => {
                let at_start = !*mid;
                *mid = !complete;
                // RFC 1939 §3: "the multi-line response is terminated
                // with the octets "CRLF.CRLF"".
                if at_start && complete && chomp(raw) == b"." {
                    mime.finish(true, sink);
                    let size = *size;
                    self.end_message(size);
                    return;
                }
                // §3: "If any line begins with the termination octet, the
                // line is "byte-stuffed" by pre-pending the termination
                // octet to that line".
                let l = match (at_start, raw.first()) {
                    (true, Some(b'.')) => raw.get(1..).unwrap_or(&[]),
                    _ => raw,
                };
                *size += l.len() as u64;
                mime.line(l, complete, sink);
                return;
            }
        }
        if !complete {
            weird(&mut self.rec.weird, "reply_line_too_long");
            return;
        }
        let line = chomp(raw);
        let (status, text) = if let Some(t) = line.strip_prefix(b"+OK") {
            ("+OK", t)
        } else if let Some(t) = line.strip_prefix(b"-ERR") {
            ("-ERR", t)
        } else if let Some(t) = line.strip_prefix(b"+") {
            // RFC 5034 §4: "+" SP base64 continuation.
            ("+", t)
        } else {
            weird(&mut self.rec.weird, "bad_reply_line");
            return;
        };
        let text = trunc(String::from_utf8_lossy(text).trim(), 512);
        if !self.greeted && self.pending.is_empty() {
            self.greeted = true;
            if let Some(f) = crate::banner::fingerprint("pop3", &text) {
                self.rec.server_software = Some(f.software);
                self.rec.server_version = f.version;
            }
            self.rec.banner = Some(text);
            return;
        }
        self.greeted = true;
        let Some(p) = self.pending.pop_front() else {
            weird(&mut self.rec.weird, "reply_without_command");
            return;
        };
        if status == "+" {
            return;
        }
        if let Some(c) = p.idx.and_then(|i| self.rec.commands.get_mut(i)) {
            c.status = Some(status.to_string());
            c.reply = Some(text).filter(|t| !t.is_empty());
        }
        if p.kind == Kind::Auth {
            self.sasl = Sasl::None;
        }
        if status != "+OK" {
            return;
        }
        match p.kind {
            Kind::Multi => self.multi = Multi::Lines,
            Kind::Retr => {
                self.rec.retrieved += 1;
                self.multi = Multi::Message {
                    mime: Box::new(MimeParser::new("POP3", Direction::ToClient)),
                    size: 0,
                    mid: false,
                };
            }
            Kind::Stls => {
                self.rec.tls = true;
                self.done = true;
                self.handover = true;
            }
            Kind::Single | Kind::Auth => {}
        }
    }

    fn end_message(&mut self, size: u64) {
        if let Multi::Message { mime, .. } = std::mem::replace(&mut self.multi, Multi::No) {
            if self.rec.retrieved_sizes.len() < MAX_COMMANDS {
                self.rec.retrieved_sizes.push(size);
            }
            for a in &mime.attachments {
                if self.rec.attachments.len() < MAX_COMMANDS {
                    self.rec.attachments.push(a.clone());
                }
            }
            for w in &mime.weird {
                weird(&mut self.rec.weird, w);
            }
        }
    }

    fn cut_message(&mut self, sink: &mut dyn Sink) {
        if let Multi::Message { mime, size, .. } = &mut self.multi {
            mime.finish(false, sink);
            let size = *size;
            self.end_message(size);
        }
    }
}

impl crate::starttls::Upgradable for Pop3Parser {
    fn take_handover(&mut self) -> Option<crate::starttls::Handover> {
        std::mem::take(&mut self.handover).then(crate::starttls::Handover::after_all)
    }
    fn awaiting_answer(&self) -> bool {
        self.pending.iter().any(|p| p.kind == Kind::Stls)
    }
}

impl Parser for Pop3Parser {
    /// Both directions' partial lines, the commands waiting for replies, a
    /// retrieved message's MIME walk, and the connection's record (its
    /// command list grows with the session).
    fn buffered(&self) -> usize {
        let r = &self.rec;
        let commands = r.commands.capacity() * std::mem::size_of::<Pop3Command>()
            + r.commands
                .iter()
                .map(|c| {
                    c.command.capacity()
                        + str_heap(&c.arg)
                        + str_heap(&c.status)
                        + str_heap(&c.reply)
                })
                .sum::<usize>();
        let mime = match &self.multi {
            Multi::Message { mime, .. } => std::mem::size_of::<MimeParser>() + mime.buffered(),
            Multi::No | Multi::Lines | Multi::Skip => 0,
        };
        self.cl.buffered()
            + self.sv.buffered()
            + self.pending.capacity() * std::mem::size_of::<Pending>()
            + mime
            + commands
            + [&r.banner, &r.server_software, &r.server_version, &r.user]
                .iter()
                .map(|s| str_heap(s))
                .sum::<usize>()
            + r.retrieved_sizes.capacity() * std::mem::size_of::<u64>()
            + strs_heap(&r.attachments)
            + strs_heap(&r.weird)
    }

    fn on_data(&mut self, dir: Direction, data: &[u8], sink: &mut dyn Sink) {
        if self.ts.is_none() {
            self.ts = Some(sink.ts_ns());
        }
        if self.done {
            return;
        }
        let mut lines = Vec::new();
        match dir {
            Direction::ToServer => {
                self.cl.push(data, &mut |l, c| lines.push((l.to_vec(), c)));
                for (l, c) in lines {
                    if !std::mem::take(&mut self.cl_skip) && !self.done {
                        self.client_line(&l, c);
                    }
                }
            }
            Direction::ToClient => {
                self.sv.push(data, &mut |l, c| lines.push((l.to_vec(), c)));
                for (l, c) in lines {
                    if !std::mem::take(&mut self.sv_skip) && !self.done {
                        self.server_line(&l, c, sink);
                    }
                }
            }
        }
    }

    fn on_gap(&mut self, dir: Direction, _len: u64, sink: &mut dyn Sink) {
        if self.done {
            return;
        }
        weird(&mut self.rec.weird, "content_gap");
        match dir {
            Direction::ToServer => {
                self.cl_skip = !self.cl.take().is_empty();
            }
            Direction::ToClient => {
                self.sv_skip = !self.sv.take().is_empty();
                match self.multi {
                    Multi::Message { .. } => {
                        self.cut_message(sink);
                        self.multi = Multi::Skip;
                    }
                    Multi::Lines => self.multi = Multi::Skip,
                    _ => {}
                }
            }
        }
    }

    fn on_end(&mut self, sink: &mut dyn Sink) {
        self.cut_message(sink);
        if self.ts.is_none() {
            return;
        }
        sink.record_at(
            "pop3",
            self.ts.unwrap_or(0),
            Record::typed(self.rec.clone()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::replay::{replay, replay_bytewise};
    use netsift_proto::MemSink;
    use Direction::{ToClient, ToServer};

    #[test]
    fn gmx_retr() {
        // pop3.pcap tcp.stream 0: USER/PASS, LIST, UIDL, RETR 2, QUIT.
        let d = include_bytes!("testdata/stream_pop3.bin");
        let s = replay(d, &mut Pop3Parser::new());
        let r = s.log("pop3");
        assert_eq!(r.len(), 1);
        let r = r[0];
        assert_eq!(r["user"], "cicciopernacchio@mail.com");
        assert!(!r.to_string().contains("pippozzo"), "no password");
        let cmds: Vec<&str> = r["commands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["command"].as_str().unwrap())
            .collect();
        assert_eq!(cmds, ["USER", "PASS", "LIST", "UIDL", "RETR", "QUIT"]);
        assert_eq!(r["commands"][4]["status"], "+OK");
        assert_eq!(r["retrieved"], 1);
        // LIST said "2 1476": the message is 1476 octets with CRLFs.
        assert_eq!(r["retrieved_sizes"][0], 1476);
        assert_eq!(r["banner"], "POP server ready H migmxus005");
        let s1 = replay_bytewise(d, &mut Pop3Parser::new());
        assert_eq!(s1.records, s.records);
    }

    #[test]
    fn auth_plain_retr() {
        // pop3.pcap tcp.stream 5: CAPA, AUTH PLAIN + continuation, RETR.
        let d = include_bytes!("testdata/stream_pop3_auth.bin");
        let s = replay(d, &mut Pop3Parser::new());
        let r = s.log("pop3")[0];
        assert_eq!(r["user"], "digitalinvestigator@networksims.com");
        assert!(!r.to_string().contains("napier123"));
        assert_eq!(r["retrieved"], 3);
        // The sizes LIST announced ("1 5565", "2 8412", "3 5214").
        assert_eq!(r["retrieved_sizes"], serde_json::json!([5565, 8412, 5214]));
        assert_eq!(r["commands"][0]["status"], "-ERR");
        assert_eq!(r["commands"][2]["arg"], "PLAIN");
        let s1 = replay_bytewise(d, &mut Pop3Parser::new());
        assert_eq!(s1.records, s.records);
        assert_eq!(s1.files, s.files);
    }

    #[test]
    fn attachment_stls_gap() {
        let mut p = Pop3Parser::new();
        let mut s = MemSink::default();
        p.on_data(ToClient, b"+OK hi\r\n", &mut s);
        p.on_data(
            ToServer,
            b"APOP bob c4c9334bac560ecc979e58001b3e22fb\r\nRETR 1\r\nRETR 2\r\n",
            &mut s,
        );
        p.on_data(ToClient, b"+OK\r\n+OK 120 octets\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0x\r\n--b--\r\n.\r\n+OK\r\nSubject: x\r\n\r\nab", &mut s);
        p.on_gap(ToClient, 50, &mut s);
        p.on_data(ToClient, b"cd\r\n.\r\n", &mut s);
        p.on_data(ToServer, b"STLS\r\n", &mut s);
        p.on_data(ToClient, b"+OK Begin TLS\r\n\x16\x03\x01garbage", &mut s);
        p.on_data(ToServer, b"\x16\x03\x01more", &mut s);
        p.on_end(&mut s);
        let r = s.log("pop3")[0];
        assert_eq!(r["user"], "bob");
        assert_eq!(r["commands"][0]["arg"], "bob");
        assert_eq!(r["retrieved"], 2);
        assert_eq!(r["attachments"][0], "a.pdf");
        assert_eq!(r["tls"], true);
        assert_eq!(s.files[0].1, b"%PDF-1");
        assert_eq!(s.files[0].2, Some(true));
        assert!(r["weird"].to_string().contains("content_gap"));
        // Hostile: no CRLF ever, garbage replies.
        let mut p = Pop3Parser::new();
        let mut s = MemSink::default();
        p.on_data(ToClient, &vec![b'x'; 200_000], &mut s);
        p.on_data(ToServer, &vec![0u8; 200_000], &mut s);
        p.on_end(&mut s);
        assert_eq!(s.log("pop3").len(), 1);
    }

    /// `buffered()` holds a reply line cut before its CRLF, then a
    /// retrieved message's header block cut in the middle; once the message
    /// ends both are given back.
    #[test]
    fn buffered_counts_partial_lines_and_messages() {
        let mut p = Pop3Parser::new();
        let mut s = MemSink::default();
        let first = [b"+OK ".as_slice(), &[b'g'; 6000]].concat();
        p.on_data(ToClient, &first, &mut s);
        assert!(p.buffered() >= first.len(), "{}", p.buffered());
        p.on_data(ToClient, b"\r\n", &mut s);
        p.on_data(ToServer, b"USER bob\r\nRETR 1\r\n", &mut s);
        p.on_data(ToClient, b"+OK\r\n+OK 9000 octets\r\n", &mut s);
        let idle = p.buffered();
        let head = [b"Subject: x\r\nX-Pad: ".as_slice(), &[b'p'; 8000], b"\r\n"].concat();
        p.on_data(ToClient, &head, &mut s);
        assert!(p.buffered() >= idle + head.len(), "{}", p.buffered());
        p.on_data(ToClient, b"\r\nhi\r\n.\r\n", &mut s);
        assert!(matches!(p.multi, Multi::No));
        assert!(p.buffered() < idle + 1024, "{} {idle}", p.buffered());
    }

    #[test]
    fn dovecot_retr_attachment() {
        // curl 7.88 pop3://user:pass@127.0.0.1:11110/1 against dovecot
        // 2.3: AUTH PLAIN (SASL-IR), RETR 1 of a message with nested
        // multipart/alternative and a base64 PDF named with RFC 2231
        // filename*=utf-8''facture%20%C3%A9t%C3%A9.pdf.
        let d = include_bytes!("testdata/dovecot_retr.bin");
        let s = replay(d, &mut Pop3Parser::new());
        let r = s.log("pop3")[0];
        assert_eq!(r["user"], "user");
        assert_eq!(r["retrieved"], 1);
        assert_eq!(r["attachments"], serde_json::json!(["facture été.pdf"]));
        // The attachment, and the HTML body (carved for content analysis).
        assert_eq!(s.files.len(), 2);
        let pdf = s.files.iter().find(|f| f.0.name.is_some()).expect("pdf");
        assert_eq!(pdf.0.source, "POP3");
        assert_eq!(pdf.1.len(), 3016);
        assert!(pdf.1.starts_with(b"%PDF-1.4\n") && pdf.1.ends_with(b"%%EOF\n"));
        assert_eq!(pdf.2, Some(true));
        let html = s.files.iter().find(|f| f.0.name.is_none()).expect("html");
        assert_eq!(html.0.declared_mime.as_deref(), Some("text/html"));
        assert!(html.0.mail_body && !pdf.0.mail_body);
        assert!(html.1.starts_with(b"<p>Bonjour</p>"));
        let s1 = replay_bytewise(d, &mut Pop3Parser::new());
        assert_eq!(s1.records, s.records);
        assert_eq!(s1.files, s.files);
    }
}
