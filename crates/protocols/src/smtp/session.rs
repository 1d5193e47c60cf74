//! SMTP session parser (RFC 5321): commands and replies paired in order
//! (RFC 2920 pipelining keeps them in order), one `smtp` record per mail
//! transaction, MIME attachments carved from the message content.

use std::collections::VecDeque;

use netsift_proto::{Direction, Parser, Record, Sink};

use super::mime::{b64, chomp, sasl_plain_user, trunc, weird, LineBuf, MimeParser};
use super::record::{SmtpCommand, SmtpRecord};
use crate::heap::{str_heap, strs_heap};

/// Bound on commands awaiting their reply (pipelining).
const MAX_PENDING: usize = 128;
/// Bound on RCPT TO kept per transaction.
const MAX_RCPT: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    Data,
    DataEnd,
    Bdat { last: bool },
    StartTls,
    Auth,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    None,
    /// RFC 4616 PLAIN: the next line is the base64 response.
    Plain,
    /// AUTH LOGIN (draft-murchison-sasl-login): user then password lines.
    LoginUser,
    LoginPass,
    /// RFC 2195 CRAM-MD5: base64("user SP digest").
    Cram,
}

#[derive(Debug, PartialEq, Eq)]
enum Mode {
    Cmd,
    /// Inside DATA content (RFC 5321 §4.1.1.4) until CRLF "." CRLF.
    Data,
    /// After a gap inside DATA: skip to the terminating "." line.
    DataSkip,
    /// RFC 3030 §2: "BDAT <chunk-size> [LAST]" followed by exactly
    /// chunk-size octets.
    Bdat {
        rem: u64,
        last: bool,
    },
    /// TLS started (or the stream is hopeless): nothing more to read.
    Done,
}

struct Tx {
    rec: SmtpRecord,
    ts: u64,
    mime: Option<MimeParser>,
    /// Content ended (final "." or BDAT LAST); waiting for its reply.
    ended: bool,
}

impl Tx {
    /// Heap bytes of the mail transaction: its record's strings and the
    /// MIME walk of its content.
    fn heap(&self) -> usize {
        let r = &self.rec;
        let one = [
            &r.banner,
            &r.server_software,
            &r.server_version,
            &r.helo,
            &r.mail_from,
            &r.date,
            &r.from,
            &r.reply_to,
            &r.subject,
            &r.message_id,
            &r.in_reply_to,
            &r.user_agent,
            &r.last_reply,
            &r.auth_user,
        ];
        let many = [&r.rcpt_to, &r.to, &r.cc, &r.attachments, &r.weird];
        one.iter().map(|s| str_heap(s)).sum::<usize>()
            + many.iter().map(|v| strs_heap(v)).sum::<usize>()
            + r.commands.capacity() * std::mem::size_of::<SmtpCommand>()
            + self.mime.as_ref().map_or(0, MimeParser::buffered)
    }
}

/// Parser for one SMTP connection.
pub(crate) struct SmtpParser {
    cl: LineBuf,
    sv: LineBuf,
    /// Drop the next (partial) line of a direction after a gap.
    cl_skip: bool,
    sv_skip: bool,
    mode: Mode,
    data_mid: bool,
    bdat_lines: LineBuf,
    auth: Auth,
    helo: Option<String>,
    auth_user: Option<String>,
    tx: Option<Tx>,
    depth: u32,
    pending: VecDeque<Cmd>,
    greeted: bool,
    session_weird: Vec<String>,
    emitted: u32,
    /// Verbs of `pending`, in the same order.
    pending_verbs: VecDeque<&'static str>,
    /// The verb of the command line being handled.
    cur_verb: &'static str,
    /// Commands answered since the last record (at most MAX_COMMANDS).
    commands: Vec<SmtpCommand>,
    banner: Option<String>,
    /// The last final reply of the session (for a record without a mail
    /// transaction: a failed AUTH, a server-only capture).
    last_reply: Option<String>,
    /// STARTTLS was just accepted: the hand-over to TLS is to report.
    handover: bool,
}

/// Bound on the commands one record lists.
const MAX_COMMANDS: usize = 256;

/// The verbs the command list names; anything else is "OTHER" (the list is
/// attacker-controlled, so it is not free text).
fn known_verb(v: &str) -> &'static str {
    const VERBS: [&str; 22] = [
        "HELO", "EHLO", "LHLO", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "VRFY", "EXPN", "HELP",
        "NOOP", "QUIT", "STARTTLS", "AUTH", "TURN", "ETRN", "ATRN", "XCLIENT", "XFORWARD", "SEND",
        "SAML",
    ];
    VERBS
        .iter()
        .find(|k| k.eq_ignore_ascii_case(v))
        .copied()
        .unwrap_or("OTHER")
}

impl SmtpParser {
    pub(crate) fn new() -> SmtpParser {
        SmtpParser {
            cl: LineBuf::default(),
            sv: LineBuf::default(),
            cl_skip: false,
            sv_skip: false,
            mode: Mode::Cmd,
            data_mid: false,
            bdat_lines: LineBuf::default(),
            auth: Auth::None,
            helo: None,
            auth_user: None,
            tx: None,
            depth: 0,
            pending: VecDeque::new(),
            greeted: false,
            session_weird: Vec::new(),
            emitted: 0,
            pending_verbs: VecDeque::new(),
            cur_verb: "OTHER",
            commands: Vec::new(),
            banner: None,
            last_reply: None,
            handover: false,
        }
    }

    fn push_pending(&mut self, c: Cmd) {
        if self.pending.len() >= MAX_PENDING {
            self.pending.pop_front();
            self.pending_verbs.pop_front();
            weird(&mut self.session_weird, "too_many_pending_commands");
        }
        self.pending_verbs.push_back(match c {
            Cmd::DataEnd => "DATA-END",
            _ => self.cur_verb,
        });
        self.pending.push_back(c);
    }

    fn tx_mut(&mut self, sink: &dyn Sink) -> &mut Tx {
        let depth = &mut self.depth;
        self.tx.get_or_insert_with(|| {
            *depth += 1;
            Tx {
                rec: SmtpRecord {
                    trans_depth: *depth,
                    ..Default::default()
                },
                ts: sink.ts_ns(),
                mime: None,
                ended: false,
            }
        })
    }

    /// Write the current transaction's record.
    fn emit(&mut self, sink: &mut dyn Sink) {
        let Some(mut tx) = self.tx.take() else {
            return;
        };
        if let Some(mut m) = tx.mime.take() {
            if !tx.ended {
                m.finish(false, sink);
            }
            fill(&mut tx.rec, &m);
        }
        tx.rec.helo = self.helo.clone();
        tx.rec.auth_user = self.auth_user.clone();
        tx.rec.tls = self.mode == Mode::Done;
        tx.rec.commands = std::mem::take(&mut self.commands);
        if self.emitted == 0 {
            tx.rec.banner = self.banner.clone();
            if let Some(f) = self
                .banner
                .as_deref()
                .and_then(|b| crate::banner::fingerprint("smtp", b))
            {
                tx.rec.server_software = Some(f.software);
                tx.rec.server_version = f.version;
            }
        }
        for w in std::mem::take(&mut self.session_weird) {
            weird(&mut tx.rec.weird, &w);
        }
        // One transaction per mail (Suricata's smtp file_data: its
        // attachments), numbered from 0.
        let id = u64::from(tx.rec.trans_depth.saturating_sub(1));
        sink.record_at("smtp", tx.ts, Record::typed(tx.rec));
        sink.tx_done(id, Direction::ToServer);
        sink.tx_done(id, Direction::ToClient);
        self.emitted += 1;
    }

    fn client_line(&mut self, raw: &[u8], complete: bool, sink: &mut dyn Sink) {
        match self.mode {
            Mode::Data => return self.data_line(raw, complete, sink),
            Mode::DataSkip => {
                if complete && chomp(raw) == b"." {
                    self.mode = Mode::Cmd;
                }
                return;
            }
            Mode::Cmd => {}
            Mode::Bdat { .. } | Mode::Done => return,
        }
        if !complete {
            weird(&mut self.session_weird, "command_line_too_long");
            return;
        }
        let line = chomp(raw);
        if self.auth != Auth::None {
            return self.sasl_line(line);
        }
        let text = String::from_utf8_lossy(line);
        let (verb, arg) = match text.split_once(' ') {
            Some((v, a)) => (v.to_ascii_uppercase(), a.trim().to_string()),
            None => (text.trim().to_ascii_uppercase(), String::new()),
        };
        let mut cmd = Cmd::Other;
        self.cur_verb = known_verb(&verb);
        match verb.as_str() {
            // RFC 5321 §4.1.1.1: "ehlo = "EHLO" SP ( Domain / address-literal ) CRLF".
            "HELO" | "EHLO" | "LHLO" => self.helo = Some(trunc(&arg, 256)),
            // §4.1.1.2: "MAIL FROM:" Reverse-path — a new transaction.
            "MAIL" => {
                if self.tx.is_some() {
                    self.emit(sink);
                }
                let path = path_arg(&arg, "FROM:");
                self.tx_mut(sink).rec.mail_from = Some(path);
            }
            // §4.1.1.3: "RCPT TO:" Forward-path.
            "RCPT" => {
                let path = path_arg(&arg, "TO:");
                let tx = self.tx_mut(sink);
                if tx.rec.rcpt_to.len() < MAX_RCPT {
                    tx.rec.rcpt_to.push(path);
                }
            }
            // §4.1.1.4: after DATA the content follows, ended by
            // CRLF "." CRLF.
            "DATA" => {
                cmd = Cmd::Data;
                let tx = self.tx_mut(sink);
                if tx.rec.mail_from.is_none() {
                    weird(&mut tx.rec.weird, "data_without_mail_from");
                }
                tx.mime = Some(
                    MimeParser::new("SMTP", Direction::ToServer)
                        .for_tx(u64::from(tx.rec.trans_depth.saturating_sub(1))),
                );
                tx.rec.size = Some(0);
                self.mode = Mode::Data;
                self.data_mid = false;
            }
            "BDAT" => {
                let mut it = arg.split_whitespace();
                let size = it.next().and_then(|s| s.parse::<u64>().ok());
                let last = it.next().is_some_and(|s| s.eq_ignore_ascii_case("LAST"));
                match size {
                    Some(rem) => {
                        cmd = Cmd::Bdat { last };
                        let tx = self.tx_mut(sink);
                        if tx.mime.is_none() {
                            tx.mime = Some(
                                MimeParser::new("SMTP", Direction::ToServer)
                                    .for_tx(u64::from(tx.rec.trans_depth.saturating_sub(1))),
                            );
                        }
                        self.mode = Mode::Bdat { rem, last };
                        if rem == 0 {
                            self.bdat_done(sink);
                        }
                    }
                    None => weird(&mut self.session_weird, "bad_bdat_size"),
                }
            }
            // §4.1.1.5: RSET aborts the transaction.
            "RSET" if self.tx.is_some() => self.emit(sink),
            // RFC 3207 §4.
            "STARTTLS" => cmd = Cmd::StartTls,
            // RFC 4954 §4: "AUTH mechanism [initial-response]".
            "AUTH" => {
                cmd = Cmd::Auth;
                let mut it = arg.split_whitespace();
                let mech = it.next().unwrap_or("").to_ascii_uppercase();
                let initial = it.next();
                self.auth = match mech.as_str() {
                    "PLAIN" => Auth::Plain,
                    "LOGIN" => Auth::LoginUser,
                    "CRAM-MD5" => Auth::Cram,
                    _ => Auth::None,
                };
                if let Some(i) = initial.filter(|i| *i != "=") {
                    self.sasl_line(i.as_bytes());
                    // The initial response took the first step; sasl_line
                    // has queued an Other for it, which belongs to AUTH.
                    self.pending.pop_back();
                    self.pending_verbs.pop_back();
                }
            }
            _ => {}
        }
        self.push_pending(cmd);
    }

    /// A SASL response line (RFC 4954 §4: base64, or "*" to cancel).
    fn sasl_line(&mut self, line: &[u8]) {
        let step = self.auth;
        self.auth = Auth::None;
        // A SASL response is answered like a command; it is listed as AUTH.
        self.cur_verb = "AUTH";
        self.push_pending(Cmd::Auth);
        if line == b"*" {
            return;
        }
        let Some(dec) = b64(line) else {
            weird(&mut self.session_weird, "bad_sasl_base64");
            return;
        };
        match step {
            Auth::Plain => {
                let u = sasl_plain_user(&dec);
                self.auth_user = Some(trunc(&String::from_utf8_lossy(u), 256));
            }
            Auth::LoginUser => {
                self.auth_user = Some(trunc(&String::from_utf8_lossy(&dec), 256));
                self.auth = Auth::LoginPass;
            }
            Auth::Cram => {
                let u = dec.split(|&b| b == b' ').next().unwrap_or(&[]);
                self.auth_user = Some(trunc(&String::from_utf8_lossy(u), 256));
            }
            Auth::LoginPass | Auth::None => {}
        }
    }

    fn data_line(&mut self, raw: &[u8], complete: bool, sink: &mut dyn Sink) {
        let at_start = !self.data_mid;
        self.data_mid = !complete;
        // RFC 5321 §4.1.1.4: "The mail data are terminated by a line
        // containing only a period".
        if at_start && complete && chomp(raw) == b"." {
            self.mode = Mode::Cmd;
            if let Some(tx) = self.tx.as_mut() {
                tx.ended = true;
                if let Some(m) = tx.mime.as_mut() {
                    m.finish(true, sink);
                }
            }
            self.push_pending(Cmd::DataEnd);
            return;
        }
        // §4.5.2: "If the first character is a period and there are other
        // characters on the line, the first character is deleted."
        let line = match (at_start, raw.first()) {
            (true, Some(b'.')) => raw.get(1..).unwrap_or(&[]),
            _ => raw,
        };
        if let Some(tx) = self.tx.as_mut() {
            tx.rec.size = Some(tx.rec.size.unwrap_or(0) + line.len() as u64);
            if let Some(m) = tx.mime.as_mut() {
                m.line(line, complete, sink);
            }
        }
    }

    fn bdat_bytes<'a>(&mut self, data: &'a [u8], sink: &mut dyn Sink) -> &'a [u8] {
        let Mode::Bdat { rem, last } = self.mode else {
            return data;
        };
        let n = (rem.min(data.len() as u64)) as usize;
        let (chunk, rest) = data.split_at(n);
        if let Some(tx) = self.tx.as_mut() {
            tx.rec.size = Some(tx.rec.size.unwrap_or(0) + n as u64);
            if let Some(m) = tx.mime.as_mut() {
                self.bdat_lines.push(chunk, &mut |l, c| m.line(l, c, sink));
            }
        }
        self.mode = Mode::Bdat {
            rem: rem - n as u64,
            last,
        };
        if rem == n as u64 {
            self.bdat_done(sink);
        }
        rest
    }

    fn bdat_done(&mut self, sink: &mut dyn Sink) {
        let Mode::Bdat { last, .. } = self.mode else {
            return;
        };
        self.mode = Mode::Cmd;
        if last {
            let rest = self.bdat_lines.take();
            if let Some(tx) = self.tx.as_mut() {
                if let Some(m) = tx.mime.as_mut() {
                    // RFC 3030 §2: the chunk sizes, not a final CRLF, delimit
                    // the message, so its last line may have no line end;
                    // that line is still whole (a close delimiter "--b--"
                    // sent last must close the part, not be carved as its
                    // bytes).
                    if !rest.is_empty() {
                        m.line(&rest, true, sink);
                    }
                    m.finish(true, sink);
                }
                tx.ended = true;
            }
        }
    }

    fn server_line(&mut self, raw: &[u8], complete: bool, sink: &mut dyn Sink) {
        if !complete || self.mode == Mode::Done {
            return;
        }
        let line = chomp(raw);
        // RFC 5321 §4.2.1: "Reply-code SP text" ends a reply, "Reply-code
        // -text" continues it.
        let code = line
            .get(..3)
            .and_then(|c| std::str::from_utf8(c).ok())
            .and_then(|c| c.parse::<u16>().ok());
        let Some(code) = code else {
            weird(&mut self.session_weird, "bad_reply_line");
            return;
        };
        if line.get(3) == Some(&b'-') {
            return;
        }
        let text = trunc(&String::from_utf8_lossy(line), 512);
        if !self.greeted && self.pending.is_empty() {
            self.greeted = true;
            // RFC 5321 §4.2: the greeting, "220 domain text".
            self.banner = Some(text);
            return;
        }
        self.greeted = true;
        let cmd = self.pending.pop_front().unwrap_or(Cmd::Other);
        let verb = self.pending_verbs.pop_front().unwrap_or("OTHER");
        if self.commands.len() < MAX_COMMANDS {
            self.commands.push(SmtpCommand {
                command: verb,
                reply_code: code,
            });
        }
        if let Some(tx) = self.tx.as_mut() {
            tx.rec.last_reply = Some(text.clone());
        }
        self.last_reply = Some(text);
        match cmd {
            // A DATA refused before any content: back to commands.
            Cmd::Data
                if code != 354
                    && self.mode == Mode::Data
                    && self.tx.as_ref().and_then(|t| t.rec.size) == Some(0) =>
            {
                self.mode = Mode::Cmd;
                if let Some(tx) = self.tx.as_mut() {
                    tx.mime = None;
                    tx.rec.size = None;
                }
            }
            Cmd::DataEnd | Cmd::Bdat { last: true }
                if self.tx.as_ref().is_some_and(|t| t.ended) =>
            {
                self.emit(sink)
            }
            // RFC 3207 §4: "220 Ready to start TLS"; after it, TLS.
            Cmd::StartTls if code == 220 => {
                self.mode = Mode::Done;
                self.handover = true;
                self.tls_record(sink);
            }
            // RFC 4954 §4: 334 asks for the next response.
            Cmd::Auth if code != 334 => self.auth = Auth::None,
            _ => {}
        }
    }

    fn tls_record(&mut self, sink: &mut dyn Sink) {
        if self.tx.is_none() {
            self.tx_mut(sink);
        }
        self.emit(sink);
    }
}

/// `FROM:<a@b> SIZE=1` → `a@b`.
fn path_arg(arg: &str, prefix: &str) -> String {
    let a = arg.trim();
    let a = match a.get(..prefix.len()) {
        Some(p) if p.eq_ignore_ascii_case(prefix) => a.get(prefix.len()..).unwrap_or(""),
        _ => a,
    };
    let a = a.trim_start();
    let p = match a.strip_prefix('<') {
        Some(r) => r.split('>').next().unwrap_or(""),
        None => a.split_whitespace().next().unwrap_or(""),
    };
    trunc(p, 512)
}

/// Copy the message's header fields (RFC 5322 §3.6) into a record.
fn fill(rec: &mut SmtpRecord, m: &MimeParser) {
    let h = &m.top;
    rec.date = h.get("date");
    rec.from = h.get("from");
    rec.to = h.get_all("to");
    rec.cc = h.get_all("cc");
    rec.reply_to = h.get("reply-to");
    rec.subject = h.get("subject");
    rec.message_id = h.get("message-id");
    rec.in_reply_to = h.get("in-reply-to");
    rec.user_agent = h.get("x-mailer").or_else(|| h.get("user-agent"));
    rec.attachments = m.attachments.clone();
    for w in &m.weird {
        weird(&mut rec.weird, w);
    }
}

impl crate::starttls::Upgradable for SmtpParser {
    fn take_handover(&mut self) -> Option<crate::starttls::Handover> {
        std::mem::take(&mut self.handover).then(crate::starttls::Handover::after_all)
    }
    fn awaiting_answer(&self) -> bool {
        self.pending.contains(&Cmd::StartTls)
    }
}

impl Parser for SmtpParser {
    /// Both directions' partial lines (and a BDAT chunk's), the mail
    /// transaction being built (record strings, MIME state), the commands
    /// waiting for their replies and those answered since the last record.
    fn buffered(&self) -> usize {
        self.cl.buffered()
            + self.sv.buffered()
            + self.bdat_lines.buffered()
            + self.tx.as_ref().map_or(0, Tx::heap)
            + self.pending.capacity() * std::mem::size_of::<Cmd>()
            + self.pending_verbs.capacity() * std::mem::size_of::<&str>()
            + self.commands.capacity() * std::mem::size_of::<SmtpCommand>()
            + [&self.helo, &self.auth_user, &self.banner, &self.last_reply]
                .iter()
                .map(|s| str_heap(s))
                .sum::<usize>()
            + strs_heap(&self.session_weird)
    }

    fn on_data(&mut self, dir: Direction, data: &[u8], sink: &mut dyn Sink) {
        if self.mode == Mode::Done {
            return;
        }
        match dir {
            Direction::ToServer => {
                let mut rest = data;
                while !rest.is_empty() && self.mode != Mode::Done {
                    if let Mode::Bdat { .. } = self.mode {
                        rest = self.bdat_bytes(rest, sink);
                        continue;
                    }
                    // Feed lines until the mode changes to BDAT (its bytes
                    // are not lines).
                    let cut = match rest.iter().position(|&b| b == b'\n') {
                        Some(i) => i + 1,
                        None => rest.len(),
                    };
                    let (now, later) = rest.split_at(cut);
                    let mut lines = Vec::new();
                    self.cl.push(now, &mut |l, c| lines.push((l.to_vec(), c)));
                    for (l, c) in lines {
                        if std::mem::take(&mut self.cl_skip) {
                            continue;
                        }
                        self.client_line(&l, c, sink);
                    }
                    rest = later;
                }
            }
            Direction::ToClient => {
                let mut lines = Vec::new();
                self.sv.push(data, &mut |l, c| lines.push((l.to_vec(), c)));
                for (l, c) in lines {
                    if std::mem::take(&mut self.sv_skip) {
                        continue;
                    }
                    self.server_line(&l, c, sink);
                }
            }
        }
    }

    fn on_gap(&mut self, dir: Direction, len: u64, sink: &mut dyn Sink) {
        if self.mode == Mode::Done {
            return;
        }
        weird(&mut self.session_weird, "content_gap");
        match dir {
            Direction::ToServer => match self.mode {
                Mode::Data => {
                    if let Some(tx) = self.tx.as_mut() {
                        if let Some(mut m) = tx.mime.take() {
                            m.finish(false, sink);
                            fill(&mut tx.rec, &m);
                        }
                    }
                    self.mode = Mode::DataSkip;
                    self.cl_skip = !self.cl.take().is_empty() || self.data_mid;
                }
                Mode::Bdat { rem, last } if len < rem => {
                    if let Some(tx) = self.tx.as_mut() {
                        if let Some(mut m) = tx.mime.take() {
                            m.finish(false, sink);
                            fill(&mut tx.rec, &m);
                        }
                    }
                    self.mode = Mode::Bdat {
                        rem: rem - len,
                        last,
                    };
                }
                _ => {
                    self.mode = Mode::Cmd;
                    self.cl.clear();
                    self.cl_skip = true;
                }
            },
            Direction::ToClient => {
                self.sv.clear();
                self.sv_skip = true;
                self.pending.clear();
                self.pending_verbs.clear();
            }
        }
    }

    fn on_end(&mut self, sink: &mut dyn Sink) {
        if self.tx.is_some() {
            self.emit(sink);
        } else if self.emitted == 0 && !self.commands.is_empty() {
            // A session without any mail transaction (a failed AUTH, a
            // probe): one record, so its commands are not lost.
            self.tx_mut(sink).rec.last_reply = self.last_reply.take();
            self.emit(sink);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::replay::{replay, replay_bytewise};
    use netsift_proto::MemSink;

    #[test]
    fn emotet_attachment() {
        let data = include_bytes!("testdata/stream_emotet.bin");
        let s = replay(data, &mut SmtpParser::new());
        let r = s.log("smtp");
        assert_eq!(r.len(), 1);
        let r = r[0];
        assert_eq!(r["helo"], "[173.66.46.97]");
        assert_eq!(r["mail_from"], "raulparedes@wanadoo.fr");
        assert_eq!(r["rcpt_to"][0], "mitzy.torres@2080.cl");
        assert_eq!(r["auth_user"], "raulparedes@wanadoo.fr");
        assert_eq!(r["subject"], "Re:");
        assert_eq!(r["tls"], false);
        // The capture ends inside DATA: the attachment is cut.
        assert_eq!(r["last_reply"], "354 OK");
        assert_eq!(r["attachments"][0], "documentación_455.xlsm");
        // The attachment, and the HTML body (carved for content analysis).
        assert_eq!(s.files.len(), 2);
        let f = s.files.iter().find(|f| f.0.name.is_some()).expect("xlsm");
        let html = s.files.iter().find(|f| f.0.name.is_none()).expect("html");
        assert_eq!(html.0.declared_mime.as_deref(), Some("text/html"));
        assert!(html.0.mail_body && !f.0.mail_body);
        assert_eq!(f.0.source, "SMTP");
        assert_eq!(f.0.name.as_deref(), Some("documentación_455.xlsm"));
        assert!(f.1.starts_with(b"PK\x03\x04"), "decoded zip");
        assert!(f.1.len() > 10_000);
        assert_eq!(f.2, Some(false));
        // Byte by byte: identical records and files.
        let s1 = replay_bytewise(data, &mut SmtpParser::new());
        assert_eq!(s1.records, s.records);
        assert_eq!(s1.files, s.files);
    }

    #[test]
    fn sendmail_session() {
        let data = include_bytes!("testdata/stream_smtp.bin");
        let s = replay(data, &mut SmtpParser::new());
        let r = s.log("smtp");
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!(r[0]["helo"], "delta.peach.mil");
        assert!(r[0]["size"].as_u64().unwrap() > 1000);
        let s1 = replay_bytewise(data, &mut SmtpParser::new());
        assert_eq!(s1.records, s.records);
        assert_eq!(s1.files, s.files);
    }

    #[test]
    fn starttls_stops() {
        let data = include_bytes!("testdata/stream_starttls.bin");
        let s = replay(data, &mut SmtpParser::new());
        let r = s.log("smtp");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0]["tls"], true);
        assert!(r[0].get("mail_from").is_none());
    }

    fn feed(p: &mut SmtpParser, s: &mut MemSink, c: &[u8], sv: &[u8]) {
        p.on_data(Direction::ToServer, c, s);
        p.on_data(Direction::ToClient, sv, s);
    }

    /// The command list (for learned session models): verbs and reply
    /// codes in order, AUTH's SASL steps listed as AUTH; a session with no
    /// mail transaction still gets one record; the greeting fingerprints.
    #[test]
    fn command_list_and_session_without_transaction() {
        let mut p = SmtpParser::new();
        let mut s = MemSink::default();
        feed(
            &mut p,
            &mut s,
            b"",
            b"220 mx.example.org ESMTP Exim 4.96 Mon, 20 Nov 2023\r\n",
        );
        feed(
            &mut p,
            &mut s,
            b"EHLO me\r\nAUTH LOGIN\r\n",
            b"250-x\r\n250 OK\r\n334 VXNlcm5hbWU6\r\n",
        );
        feed(&mut p, &mut s, b"dGlt\r\n", b"334 UGFzc3dvcmQ6\r\n");
        feed(&mut p, &mut s, b"d3Jvbmc=\r\n", b"535 5.7.8 failed\r\n");
        feed(
            &mut p,
            &mut s,
            b"XYZZY\r\nQUIT\r\n",
            b"500 what\r\n221 bye\r\n",
        );
        p.on_end(&mut s);
        let r = s.log("smtp");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0]["server_software"], "Exim");
        assert_eq!(r[0]["server_version"], "4.96");
        let cmds: Vec<(String, u64)> = r[0]["commands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["command"].as_str().unwrap().to_string(),
                    c["reply_code"].as_u64().unwrap(),
                )
            })
            .collect();
        let want = [
            ("EHLO", 250),
            ("AUTH", 334),
            ("AUTH", 334),
            ("AUTH", 535),
            ("OTHER", 500),
            ("QUIT", 221),
        ];
        assert_eq!(cmds, want.map(|(c, n)| (c.to_string(), n)));
    }

    fn md5(b: &[u8]) -> String {
        use md5::{Digest, Md5};
        Md5::digest(b).iter().map(|x| format!("{x:02x}")).collect()
    }

    /// crates/cli/tests/edge/smtp_bdat.pcap (make-edge.sh smtp_bdat):
    /// postfix 3.7 with CHUNKING; three transactions carry the same PNG
    /// (1,820 octets, md5 511fd904...): base64 in BDAT chunks cut mid-line,
    /// base64 pipelined with the chunk cut between CR and LF and a final
    /// "BDAT 0 LAST", and raw ("binary" part) with the message ending right
    /// after the close delimiter, without CRLF. Regression: that last line
    /// was taken for a fragment, so "CRLF --boundary--" was carved as the
    /// PNG's last 18 octets (1,838 octets, wrong hash).
    #[test]
    fn bdat_chunks_carve_exact_files() {
        let d = include_bytes!("testdata/smtp_bdat.bin");
        let s = replay(d, &mut SmtpParser::new());
        let r = s.log("smtp");
        assert_eq!(r.len(), 3);
        for (i, r) in r.iter().enumerate() {
            let n = i + 1;
            assert_eq!(r["trans_depth"], n);
            assert_eq!(r["subject"], format!("BDAT test {n}"));
            assert_eq!(
                r["attachments"],
                serde_json::json!([format!("tile{n}.png")])
            );
            assert!(r["last_reply"].as_str().unwrap().contains("queued as"));
            assert!(r.get("weird").is_none(), "{r}");
        }
        // The octets of the chunks: postfix says "Ok: 3049 bytes queued"
        // for the first two; for the third it says 2216, having counted the
        // PNG's eight bare LFs as CR LF, while the chunks were 1104 + 1104.
        assert_eq!(r[0]["size"], 3049);
        assert_eq!(r[1]["size"], 3049);
        assert_eq!(r[2]["size"], 2208);
        // Each mail is a transaction: its attachment tied to it, both
        // directions done when it is written.
        let tx: Vec<_> = s.files.iter().map(|f| f.0.tx).collect();
        assert_eq!(tx, [Some(0), Some(1), Some(2)]);
        assert_eq!(
            s.tx_done,
            [
                (0, Direction::ToServer),
                (0, Direction::ToClient),
                (1, Direction::ToServer),
                (1, Direction::ToClient),
                (2, Direction::ToServer),
                (2, Direction::ToClient)
            ]
        );
        assert_eq!(s.files.len(), 3);
        for f in &s.files {
            assert_eq!(f.1.len(), 1820);
            assert_eq!(md5(&f.1), "511fd904339346aec60e07255b0df416");
            assert_eq!(f.2, Some(true));
        }
        let s1 = replay_bytewise(d, &mut SmtpParser::new());
        assert_eq!(s1.records, s.records);
        assert_eq!(s1.files, s.files);
    }

    /// crates/cli/tests/edge/smtp_{client,server}_only.pcap (make-edge.sh
    /// smtp_one_sided): swaks to postfix, each capture keeping one
    /// direction. The side that was seen still makes the record.
    #[test]
    fn one_sided_captures() {
        let s = replay(
            include_bytes!("testdata/smtp_client_only.bin"),
            &mut SmtpParser::new(),
        );
        let r = s.log("smtp");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0]["helo"], "client.edge.test");
        assert_eq!(r[0]["mail_from"], "alice@edge.test");
        assert_eq!(r[0]["rcpt_to"], serde_json::json!(["root@localhost"]));
        assert_eq!(r[0]["subject"], "seen from the client only");
        assert_eq!(r[0]["attachments"], serde_json::json!(["note.txt"]));
        assert_eq!(s.files.len(), 1);
        assert_eq!(s.files[0].1, b"edge case attachment\n");
        assert_eq!(s.files[0].2, Some(true));

        let s = replay(
            include_bytes!("testdata/smtp_server_only.bin"),
            &mut SmtpParser::new(),
        );
        let r = s.log("smtp");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0]["banner"], "220 mx.edge.test ESMTP Postfix");
        assert_eq!(r[0]["server_software"], "Postfix");
        let codes: Vec<u64> = r[0]["commands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["reply_code"].as_u64().unwrap())
            .collect();
        assert_eq!(codes, [250, 250, 250, 354, 250, 221]);
        assert_eq!(r[0]["last_reply"], "221 2.0.0 Bye");
    }

    #[test]
    fn two_transactions_bdat_plain_and_gap() {
        let mut p = SmtpParser::new();
        let mut s = MemSink::default();
        feed(&mut p, &mut s, b"", b"220 x ESMTP\r\n");
        // RFC 4616 example: "\0tim\0tanstaaftanstaaf".
        feed(
            &mut p,
            &mut s,
            b"EHLO me\r\nAUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n",
            b"250-x\r\n250 OK\r\n235 ok\r\n",
        );
        feed(&mut p, &mut s, b"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nBDAT 34 LAST\r\nSubject: hi\r\n\r\n..body\r\nmore text\r\n", b"250 ok\r\n250 ok\r\n250 2.0.0 queued\r\n");
        feed(
            &mut p,
            &mut s,
            b"MAIL FROM:<c@x>\r\nRCPT TO:<d@y>\r\nDATA\r\n",
            b"250 ok\r\n250 ok\r\n354 go\r\n",
        );
        p.on_data(Direction::ToServer, b"Subject: second\r\n\r\nab", &mut s);
        p.on_gap(Direction::ToServer, 100, &mut s);
        feed(
            &mut p,
            &mut s,
            b"cd\r\n.\r\nQUIT\r\n",
            b"250 ok\r\n221 bye\r\n",
        );
        p.on_end(&mut s);
        let r = s.log("smtp");
        assert_eq!(r.len(), 2, "{r:?}");
        assert_eq!(r[0]["auth_user"], "tim");
        assert_eq!(r[0]["subject"], "hi");
        assert_eq!(r[0]["size"], 34);
        assert_eq!(r[0]["last_reply"], "250 2.0.0 queued");
        assert_eq!(r[1]["trans_depth"], 2);
        assert_eq!(r[1]["subject"], "second");
        assert!(r[1]["weird"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w == "content_gap"));
    }

    #[test]
    fn truncated_and_hostile() {
        // A cut message with a base64 attachment: file incomplete.
        let mut p = SmtpParser::new();
        let mut s = MemSink::default();
        feed(&mut p, &mut s, b"", b"220 x\r\n");
        feed(
            &mut p,
            &mut s,
            b"HELO a\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\nDATA\r\n",
            b"250 a\r\n250 a\r\n250 a\r\n354 a\r\n",
        );
        p.on_data(Direction::ToServer, b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0x\r\n", &mut s);
        p.on_end(&mut s);
        assert_eq!(s.log("smtp").len(), 1);
        assert_eq!(s.files[0].1, b"%PDF-1");
        assert_eq!(s.files[0].2, Some(false));
        // Garbage, a huge BDAT size and an endless line.
        let mut p = SmtpParser::new();
        let mut s = MemSink::default();
        feed(
            &mut p,
            &mut s,
            b"\x00\xff\r\nBDAT 99999999999999999999\r\nBDAT 18446744073709551615\r\n",
            b"garbage\r\n",
        );
        p.on_data(Direction::ToServer, &vec![b'a'; 300_000], &mut s);
        p.on_end(&mut s);
    }

    #[test]
    fn swaks_two_attachments() {
        // swaks 20201014 -> aiosmtpd (loopback): --attach rapport.pdf
        // (application/pdf) and data.csv (text/csv), an RFC 2047 subject,
        // two RCPT TO.
        let d = include_bytes!("testdata/swaks_attach.bin");
        let s = replay(d, &mut SmtpParser::new());
        let r = s.log("smtp");
        assert_eq!(r.len(), 1);
        let r = r[0];
        assert_eq!(r["helo"], "client.example.test");
        // (swaks keeps the last --to.)
        assert_eq!(r["rcpt_to"], serde_json::json!(["carol@example.test"]));
        assert_eq!(r["subject"], "Rapport été");
        assert_eq!(
            r["attachments"],
            serde_json::json!(["rapport.pdf", "data.csv"])
        );
        assert!(r["last_reply"].as_str().unwrap().starts_with("250"));
        assert_eq!(s.files.len(), 2);
        // Same bytes as the files swaks attached (md5 877f51a1..., 3603ede6...).
        assert_eq!(s.files[0].1.len(), 3016);
        assert!(s.files[0].1.starts_with(b"%PDF-1.4\n") && s.files[0].1.ends_with(b"%%EOF\n"));
        assert_eq!(s.files[1].1, b"col1,col2\n1,2\n");
        assert_eq!(s.files[1].0.declared_mime.as_deref(), Some("text/csv"));
        assert!(s
            .files
            .iter()
            .all(|f| f.2 == Some(true) && f.0.source == "SMTP"));
        let s1 = replay_bytewise(d, &mut SmtpParser::new());
        assert_eq!(s1.records, s.records);
        assert_eq!(s1.files, s.files);
    }

    /// `buffered()` holds a command line cut before its CRLF, then a mail's
    /// header block cut in the middle; once the mail is written it falls
    /// back to the queues' room.
    #[test]
    fn buffered_counts_partial_lines_and_mail() {
        let mut p = SmtpParser::new();
        let mut s = MemSink::default();
        feed(&mut p, &mut s, b"", b"220 mx ESMTP\r\n");
        let first = [b"MAIL FROM:<".as_slice(), &[b'a'; 6000]].concat();
        p.on_data(Direction::ToServer, &first, &mut s);
        assert!(p.buffered() >= first.len(), "{}", p.buffered());
        feed(
            &mut p,
            &mut s,
            b">\r\nRCPT TO:<b@y>\r\nDATA\r\n",
            b"250 ok\r\n250 ok\r\n354 go\r\n",
        );
        let idle = p.buffered();
        // A header block cut in the middle: held by the MIME walk.
        let head = [b"Subject: hi\r\nX-Pad: ".as_slice(), &[b'b'; 8000], b"\r\n"].concat();
        p.on_data(Direction::ToServer, &head, &mut s);
        assert!(p.buffered() >= idle + head.len(), "{}", p.buffered());
        feed(&mut p, &mut s, b"\r\nbody\r\n.\r\n", b"250 queued\r\n");
        assert_eq!(s.log("smtp").len(), 1);
        assert!(p.tx.is_none());
        assert!(p.buffered() < 1024, "{}", p.buffered());
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut x: u64 = 0x9e3779b97f4a7c15;
        for round in 0..200 {
            let mut p = SmtpParser::new();
            let mut s = MemSink::default();
            let mut data = b"EHLO a\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\nDATA\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n".to_vec();
            for _ in 0..2000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                data.push(b"\r\n.-bBDAT 1LAST=?AUTH\x00\xff"[(x % 23) as usize]);
            }
            for c in data.chunks(1 + round % 17) {
                let d = if x % 3 == 0 {
                    Direction::ToClient
                } else {
                    Direction::ToServer
                };
                p.on_data(d, c, &mut s);
                if round % 5 == 0 {
                    p.on_gap(d, x % 50, &mut s);
                }
            }
            p.on_end(&mut s);
        }
    }
}
