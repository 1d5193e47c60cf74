//! IMAP session parser (RFC 9051, RFC 3501): tagged commands and their
//! completions, literals skipped by count, whole messages fetched walked
//! for MIME attachments (shared with SMTP).

use netsift_proto::{Direction, Parser, Record, Sink};

use super::record::{ImapCommand, ImapRecord};
use crate::heap::{str_heap, strs_heap};
use crate::smtp::mime::{sasl_step, trunc, weird, LineBuf, MimeParser, Sasl, MAX_LINE};

const MAX_COMMANDS: usize = 256;
/// Longest literal inlined into a logged command.
const MAX_INLINE: u64 = 256;
/// Bound on a command assembled from lines and literals.
const MAX_CMD: usize = 8192;

/// One direction's framing: lines, and literals announced at a line's end.
#[derive(Default)]
struct Stream {
    line: Vec<u8>,
    over: bool,
    literal: u64,
    /// Drop the partial line after a gap.
    skip: bool,
}

enum Ev {
    /// A line without CRLF, and the literal size it announces.
    Line(Vec<u8>, Option<u64>),
    Lit(Vec<u8>),
    LitEnd,
}

impl Stream {
    fn push(&mut self, mut data: &[u8], out: &mut Vec<Ev>, w: &mut Vec<String>) {
        while !data.is_empty() {
            if self.literal > 0 {
                let n = self.literal.min(data.len() as u64) as usize;
                out.push(Ev::Lit(data.get(..n).unwrap_or(&[]).to_vec()));
                self.literal -= n as u64;
                data = data.get(n..).unwrap_or(&[]);
                if self.literal == 0 {
                    out.push(Ev::LitEnd);
                }
                continue;
            }
            let nl = data.iter().position(|&b| b == b'\n');
            let n = nl.map_or(data.len(), |i| i + 1);
            let part = data.get(..n).unwrap_or(&[]);
            if self.line.len() + part.len() <= MAX_LINE {
                self.line.extend_from_slice(part);
            } else if !self.over {
                self.over = true;
                weird(w, "line_too_long");
            }
            data = data.get(n..).unwrap_or(&[]);
            if nl.is_none() {
                continue;
            }
            let mut line = std::mem::take(&mut self.line);
            self.over = false;
            while line.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
                line.pop();
            }
            if std::mem::take(&mut self.skip) {
                continue;
            }
            let lit = literal_size(&line);
            if let Some(n) = lit {
                self.literal = n;
            }
            out.push(Ev::Line(line, lit));
            if lit == Some(0) {
                out.push(Ev::LitEnd);
            }
        }
    }
}

/// RFC 9051 §4.3: `literal = "{" number64 ["+"] "}" CRLF *CHAR8` (the "+"
/// is RFC 7888 LITERAL+; "~{" is RFC 3516 literal8) at the end of a line.
fn literal_size(line: &[u8]) -> Option<u64> {
    let body = line.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    let num = body.get(open + 1..)?;
    let num = num.strip_suffix(b"+").unwrap_or(num);
    if num.is_empty() || num.len() > 20 || !num.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(num).ok()?.parse().ok()
}

/// Parser for one IMAP connection.
pub(crate) struct ImapParser {
    cl: Stream,
    sv: Stream,
    /// The command being assembled (text, literals inlined).
    cmd: Vec<u8>,
    cmd_lit: Option<u64>,
    sasl: Sasl,
    /// Open commands: (tag, index in `rec.commands`, mailbox argument).
    open: Vec<(String, usize, Option<String>)>,
    mime: Option<(MimeParser, LineBuf)>,
    greeted: bool,
    done: bool,
    /// STARTTLS was just accepted: the hand-over to TLS is to report.
    handover: bool,
    /// The server's next line continues a response interrupted by a
    /// literal (§4.3).
    sv_cont: bool,
    ts: Option<u64>,
    rec: ImapRecord,
}

impl ImapParser {
    pub(crate) fn new() -> ImapParser {
        ImapParser {
            cl: Stream::default(),
            sv: Stream::default(),
            cmd: Vec::new(),
            cmd_lit: None,
            sasl: Sasl::None,
            open: Vec::new(),
            mime: None,
            greeted: false,
            done: false,
            handover: false,
            sv_cont: false,
            ts: None,
            rec: ImapRecord::default(),
        }
    }

    fn client(&mut self, ev: Ev) {
        match ev {
            Ev::Line(l, lit) => {
                if self.cmd.len() + l.len() <= MAX_CMD {
                    self.cmd.extend_from_slice(&l);
                }
                match lit {
                    Some(n) => {
                        // Replace the "{N}" marker by the literal itself
                        // when short, quoted, so the arguments tokenize.
                        if n <= MAX_INLINE {
                            if let Some(p) = self.cmd.iter().rposition(|&b| b == b'{') {
                                self.cmd.truncate(p);
                            }
                            self.cmd.push(b'"');
                        }
                        self.cmd_lit = Some(n);
                    }
                    None => {
                        let c = std::mem::take(&mut self.cmd);
                        self.command(&c);
                    }
                }
            }
            Ev::Lit(b) => {
                if self.cmd_lit.is_some_and(|n| n <= MAX_INLINE)
                    && self.cmd.len() + b.len() <= MAX_CMD
                {
                    self.cmd.extend(
                        b.iter()
                            .map(|&c| if c == b'"' || c < 0x20 { b'_' } else { c }),
                    );
                }
            }
            Ev::LitEnd => {
                if self.cmd_lit.take().is_some_and(|n| n <= MAX_INLINE) {
                    self.cmd.push(b'"');
                }
            }
        }
    }

    fn command(&mut self, line: &[u8]) {
        if self.sasl != Sasl::None {
            let step = self.sasl;
            self.sasl = Sasl::None;
            self.sasl_step(step, line);
            return;
        }
        let text = String::from_utf8_lossy(line).into_owned();
        // RFC 2177 §3: IDLE ends with "DONE", not a tagged command.
        if text.eq_ignore_ascii_case("DONE") || text.is_empty() {
            return;
        }
        let toks = tokens(&text);
        let mut it = toks.iter();
        let tag = it.next().cloned().unwrap_or_default();
        let mut command = it
            .next()
            .map(|c| c.to_ascii_uppercase())
            .unwrap_or_default();
        if command == "UID" {
            if let Some(sub) = it.next() {
                command = format!("UID {}", sub.to_ascii_uppercase());
            }
        }
        let rest: Vec<String> = it.cloned().collect();
        if command.is_empty() {
            weird(&mut self.rec.weird, "command_without_name");
            return;
        }
        let shown: Vec<String> = rest
            .iter()
            .map(|t| {
                if t.is_empty() || t.contains(' ') {
                    format!("\"{t}\"")
                } else {
                    t.clone()
                }
            })
            .collect();
        let mut args = Some(trunc(&shown.join(" "), 1024)).filter(|a| !a.is_empty());
        let mut mailbox = None;
        match command.as_str() {
            // RFC 9051 §6.2.3: LOGIN userid password.
            "LOGIN" => {
                self.rec.user = rest.first().map(|u| trunc(u, 256));
                args = self.rec.user.clone();
            }
            // §6.2.2: AUTHENTICATE mechanism [initial-response] (RFC 4959).
            "AUTHENTICATE" => {
                let mech = rest.first().map(|m| m.to_ascii_uppercase());
                args = mech.clone();
                self.sasl = match mech.as_deref() {
                    Some("PLAIN") => Sasl::Plain,
                    Some("LOGIN") => Sasl::LoginUser,
                    _ => Sasl::Skip,
                };
                if let Some(ir) = rest.get(1).filter(|i| *i != "=") {
                    let step = self.sasl;
                    self.sasl = Sasl::None;
                    self.sasl_step(step, ir.as_bytes());
                }
            }
            "SELECT" | "EXAMINE" => mailbox = rest.first().map(|m| trunc(m, 256)),
            _ => {}
        }
        if self.rec.commands.len() >= MAX_COMMANDS {
            weird(&mut self.rec.weird, "too_many_commands");
            return;
        }
        self.rec.commands.push(ImapCommand {
            tag: trunc(&tag, 64),
            command: trunc(&command, 64),
            args,
            status: None,
        });
        if self.open.len() >= MAX_COMMANDS {
            self.open.remove(0);
        }
        self.open.push((tag, self.rec.commands.len() - 1, mailbox));
    }

    fn sasl_step(&mut self, step: Sasl, line: &[u8]) {
        let (user, next) = sasl_step(step, line);
        if user.is_some() {
            self.rec.user = user;
        }
        self.sasl = next;
    }

    fn server(&mut self, ev: Ev, sink: &mut dyn Sink) {
        match ev {
            Ev::Lit(b) => {
                if let Some((m, lb)) = self.mime.as_mut() {
                    lb.push(&b, &mut |l, c| m.line(l, c, sink));
                }
            }
            Ev::LitEnd => {
                if let Some((mut m, mut lb)) = self.mime.take() {
                    let rest = lb.take();
                    if !rest.is_empty() {
                        m.line(&rest, false, sink);
                    }
                    m.finish(true, sink);
                    self.collect(&m);
                }
            }
            Ev::Line(l, lit) => self.server_line(&l, lit),
        }
    }

    /// A whole message as a literal (RFC 9051 §7.5.2 "BODY[]", RFC 3501
    /// "RFC822", RFC 3516 "BINARY[]") is walked for attachments.
    fn literal_start(&mut self, text: &str, n: u64) {
        let before = text
            .get(..text.rfind('{').unwrap_or(0))
            .unwrap_or("")
            .trim_end()
            .to_ascii_uppercase();
        if n > 0
            && (before.ends_with("BODY[]")
                || before.ends_with("RFC822")
                || before.ends_with("BINARY[]"))
        {
            self.mime = Some((
                MimeParser::new("IMAP", Direction::ToClient),
                LineBuf::default(),
            ));
        }
    }

    /// The message literal was cut (gap, end of flow).
    fn cut_mime(&mut self, sink: &mut dyn Sink) {
        if let Some((mut m, mut lb)) = self.mime.take() {
            let rest = lb.take();
            if !rest.is_empty() {
                m.line(&rest, false, sink);
            }
            m.finish(false, sink);
            self.collect(&m);
        }
    }

    fn collect(&mut self, m: &MimeParser) {
        for a in &m.attachments {
            if self.rec.attachments.len() < MAX_COMMANDS {
                self.rec.attachments.push(a.clone());
            }
        }
        for w in &m.weird {
            weird(&mut self.rec.weird, w);
        }
    }

    fn server_line(&mut self, l: &[u8], lit: Option<u64>) {
        let text = String::from_utf8_lossy(l);
        if std::mem::replace(&mut self.sv_cont, lit.is_some()) {
            // The rest of a response after a literal; it may announce
            // another literal.
            if let Some(n) = lit {
                self.literal_start(&text, n);
            }
            return;
        }
        // RFC 9051 §7.1: greeting "* OK", "* PREAUTH" or "* BYE".
        if !self.greeted {
            self.greeted = true;
            if let Some(g) = text.strip_prefix("* ") {
                if self.rec.commands.is_empty() {
                    self.rec.banner = Some(trunc(g, 512));
                    if let Some(f) = crate::banner::fingerprint("imap", g) {
                        self.rec.server_software = Some(f.software);
                        self.rec.server_version = f.version;
                    }
                    return;
                }
            }
        }
        if let Some(u) = text.strip_prefix("* ") {
            // §7.5.2: "* n FETCH (...)".
            let mut it = u.split(' ');
            let n = it
                .next()
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            if n && it.next().is_some_and(|k| k.eq_ignore_ascii_case("FETCH")) {
                self.rec.fetched = self.rec.fetched.saturating_add(1);
            }
            // A whole message as a literal: "BODY[] {N}" / "RFC822 {N}".
            if let Some(n) = lit {
                let before = text
                    .get(..text.rfind('{').unwrap_or(0))
                    .unwrap_or("")
                    .trim_end()
                    .to_ascii_uppercase();
                if n > 0
                    && (before.ends_with("BODY[]")
                        || before.ends_with("RFC822")
                        || before.ends_with("BINARY[]"))
                {
                    self.mime = Some((
                        MimeParser::new("IMAP", Direction::ToClient),
                        LineBuf::default(),
                    ));
                }
            }
            return;
        }
        if text.starts_with('+') {
            // §7.6 continuation request.
            return;
        }
        // §7.1: tagged status response "tag OK|NO|BAD text".
        let mut it = text.splitn(3, ' ');
        let tag = it.next().unwrap_or("");
        let status = it.next().unwrap_or("").to_ascii_uppercase();
        if !matches!(status.as_str(), "OK" | "NO" | "BAD") {
            weird(&mut self.rec.weird, "bad_response_line");
            return;
        }
        let Some(pos) = self.open.iter().position(|(t, _, _)| t == tag) else {
            weird(&mut self.rec.weird, "response_for_unknown_tag");
            return;
        };
        let (_, idx, mailbox) = self.open.remove(pos);
        self.sasl = Sasl::None;
        if let Some(c) = self.rec.commands.get_mut(idx) {
            c.status = Some(status.clone());
            if status == "OK" {
                if mailbox.is_some() {
                    self.rec.mailbox = mailbox;
                }
                // RFC 9051 §6.2.1: after OK to STARTTLS, TLS negotiation.
                if c.command == "STARTTLS" {
                    self.rec.tls = true;
                    self.done = true;
                    self.handover = true;
                }
            }
        }
    }
}

/// IMAP arguments: atoms, quoted strings (unquoted here), parenthesized
/// lists and bracketed sections kept whole.
fn tokens(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut esc = false;
    let mut depth = 0u32;
    let mut had_quote = false;
    for c in s.chars() {
        if quoted {
            if esc {
                cur.push(c);
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == '"' {
                quoted = false;
            } else {
                cur.push(c);
            }
            continue;
        }
        match c {
            '"' => {
                quoted = true;
                had_quote = true;
            }
            '(' | '[' => {
                depth += 1;
                cur.push(c)
            }
            ')' | ']' => {
                depth = depth.saturating_sub(1);
                cur.push(c)
            }
            ' ' if depth == 0 => {
                if (!cur.is_empty() || had_quote) && out.len() < 256 {
                    out.push(std::mem::take(&mut cur));
                }
                cur.clear();
                had_quote = false;
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() || had_quote {
        out.push(cur);
    }
    out
}

impl crate::starttls::Upgradable for ImapParser {
    fn take_handover(&mut self) -> Option<crate::starttls::Handover> {
        std::mem::take(&mut self.handover).then(crate::starttls::Handover::after_all)
    }
    fn awaiting_answer(&self) -> bool {
        self.open.iter().any(|(_, i, _)| {
            self.rec
                .commands
                .get(*i)
                .is_some_and(|c| c.command == "STARTTLS")
        })
    }
}

impl Parser for ImapParser {
    /// Both directions' partial lines, the command being assembled, the
    /// tags waiting for completion, a fetched message's MIME walk, and the
    /// connection's record (its command list grows with the session).
    fn buffered(&self) -> usize {
        let r = &self.rec;
        let commands = r.commands.capacity() * std::mem::size_of::<ImapCommand>()
            + r.commands
                .iter()
                .map(|c| {
                    c.tag.capacity()
                        + c.command.capacity()
                        + str_heap(&c.args)
                        + str_heap(&c.status)
                })
                .sum::<usize>();
        let open = self.open.capacity() * std::mem::size_of::<(String, usize, Option<String>)>()
            + self
                .open
                .iter()
                .map(|(t, _, m)| t.capacity() + str_heap(m))
                .sum::<usize>();
        let mime = self
            .mime
            .as_ref()
            .map_or(0, |(m, lb)| m.buffered() + lb.buffered());
        self.cl.line.capacity()
            + self.sv.line.capacity()
            + self.cmd.capacity()
            + open
            + mime
            + commands
            + [
                &r.banner,
                &r.server_software,
                &r.server_version,
                &r.user,
                &r.mailbox,
            ]
            .iter()
            .map(|s| str_heap(s))
            .sum::<usize>()
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
        let mut evs = Vec::new();
        match dir {
            Direction::ToServer => {
                self.cl.push(data, &mut evs, &mut self.rec.weird);
                for e in evs {
                    if !self.done {
                        self.client(e);
                    }
                }
            }
            Direction::ToClient => {
                self.sv.push(data, &mut evs, &mut self.rec.weird);
                for e in evs {
                    if !self.done {
                        self.server(e, sink);
                    }
                }
            }
        }
    }

    fn on_gap(&mut self, dir: Direction, len: u64, sink: &mut dyn Sink) {
        if self.done {
            return;
        }
        weird(&mut self.rec.weird, "content_gap");
        let st = match dir {
            Direction::ToServer => &mut self.cl,
            Direction::ToClient => &mut self.sv,
        };
        if st.literal > len {
            // The hole is inside a literal: count it, the message is cut.
            st.literal -= len;
            if dir == Direction::ToClient {
                self.cut_mime(sink);
            }
            return;
        }
        st.skip = !st.line.is_empty() || st.literal > 0;
        st.line = Vec::new();
        st.literal = 0;
        match dir {
            Direction::ToServer => {
                self.cmd = Vec::new();
                self.cmd_lit = None;
            }
            Direction::ToClient => {
                self.cut_mime(sink);
                self.sv_cont = false;
            }
        }
    }

    fn on_end(&mut self, sink: &mut dyn Sink) {
        self.cut_mime(sink);
        let Some(ts) = self.ts else {
            return;
        };
        sink.record_at("imap", ts, Record::typed(self.rec.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::replay::{replay, replay_bytewise};
    use netsift_proto::MemSink;
    use Direction::{ToClient, ToServer};

    #[test]
    fn real_session() {
        // imap.pcap: CAPABILITY, LOGIN samir pfres, LIST, LSUB, SELECT
        // INBOX, UID FETCH with a BODY[HEADER] literal {666}, ...
        let d = include_bytes!("testdata/stream_imap.bin");
        let s = replay(d, &mut ImapParser::new());
        let r = s.log("imap");
        assert_eq!(r.len(), 1);
        let r = r[0];
        assert_eq!(r["user"], "samir");
        assert!(!r.to_string().contains("pfres"), "no password");
        assert_eq!(r["mailbox"], "INBOX");
        assert_eq!(r["commands"][1]["command"], "LOGIN");
        assert_eq!(r["commands"][1]["status"], "OK");
        assert_eq!(r["commands"][5]["command"], "UID FETCH");
        assert!(r["fetched"].as_u64().unwrap() >= 1);
        assert!(r["banner"].as_str().unwrap().starts_with("OK IMAP4Rev1"));
        assert!(r.get("weird").is_none(), "{r}");
        assert_eq!(r["commands"][2]["args"], "\"\" *");
        let s1 = replay_bytewise(d, &mut ImapParser::new());
        assert_eq!(s1.records, s.records);
    }

    #[test]
    fn literals_fetch_body_starttls() {
        let mut p = ImapParser::new();
        let mut s = MemSink::default();
        let msg = b"Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\nhi\r\n--zz\r\nContent-Type: application/zip; name=\"a.zip\"\r\nContent-Transfer-Encoding: base64\r\n\r\nUEsDBA==\r\n--zz--\r\n";
        let fetch = [
            format!("* 1 FETCH (UID 5 BODY[] {{{}}}\r\n", msg.len()).into_bytes(),
            msg.to_vec(),
            b")\r\na3 OK done\r\n".to_vec(),
        ]
        .concat();
        let steps: Vec<(Direction, Vec<u8>)> = vec![
            (ToClient, b"* OK ready\r\n".to_vec()),
            (ToServer, b"a1 LOGIN {5}\r\n".to_vec()),
            (ToClient, b"+ go\r\n".to_vec()),
            (ToServer, b"alice {6+}\r\nsecret\r\n".to_vec()),
            (ToClient, b"a1 OK logged\r\n".to_vec()),
            (
                ToServer,
                b"a2 SELECT \"Sent Items\"\r\na3 FETCH 1 BODY[]\r\n".to_vec(),
            ),
            (
                ToClient,
                b"* 3 EXISTS\r\na2 OK [READ-WRITE] done\r\n".to_vec(),
            ),
            (ToClient, fetch),
            (ToServer, b"a4 STARTTLS\r\n".to_vec()),
            (ToClient, b"a4 OK begin\r\n\x16\x03\x01".to_vec()),
            (ToServer, b"\x16\x03\x01\x00\x10".to_vec()),
        ];
        let mut whole = MemSink::default();
        for (d, b) in &steps {
            p.on_data(*d, b, &mut whole);
        }
        p.on_end(&mut whole);
        let r = whole.log("imap")[0];
        assert_eq!(r["user"], "alice");
        assert_eq!(r["commands"][0]["args"], "alice");
        assert!(!r.to_string().contains("secret"));
        assert_eq!(r["mailbox"], "Sent Items");
        assert_eq!(r["fetched"], 1);
        assert_eq!(r["attachments"][0], "a.zip");
        assert_eq!(r["tls"], true);
        assert_eq!(whole.files.len(), 1);
        assert_eq!(whole.files[0].1, b"PK\x03\x04");
        assert_eq!(whole.files[0].2, Some(true));
        // Byte by byte.
        let mut p = ImapParser::new();
        for (d, b) in &steps {
            for c in b.chunks(1) {
                p.on_data(*d, c, &mut s);
            }
        }
        p.on_end(&mut s);
        assert_eq!(s.records, whole.records);
        assert_eq!(s.files, whole.files);
    }

    /// `buffered()` holds a command line cut before its CRLF, then a
    /// fetched message's header block cut in the middle; once the literal
    /// ends both are given back.
    #[test]
    fn buffered_counts_partial_lines_and_messages() {
        let mut p = ImapParser::new();
        let mut s = MemSink::default();
        p.on_data(ToClient, b"* OK ready\r\n", &mut s);
        let base = p.buffered();
        let first = [b"a1 LOGIN ".as_slice(), &[b'u'; 6000]].concat();
        p.on_data(ToServer, &first, &mut s);
        assert!(p.buffered() >= base + first.len(), "{}", p.buffered());
        p.on_data(ToServer, b" pw\r\na2 FETCH 1 BODY[]\r\n", &mut s);
        let idle = p.buffered();
        assert!(idle < base + first.len(), "{idle}");
        let msg = [
            b"Subject: x\r\nX-Pad: ".as_slice(),
            &[b'p'; 8000],
            b"\r\n\r\nhi\r\n",
        ]
        .concat();
        let head = format!("* 1 FETCH (BODY[] {{{}}}\r\n", msg.len());
        p.on_data(ToClient, head.as_bytes(), &mut s);
        p.on_data(ToClient, &msg[..8020], &mut s);
        assert!(p.buffered() >= idle + 8000, "{}", p.buffered());
        p.on_data(ToClient, &msg[8020..], &mut s);
        p.on_data(ToClient, b")\r\na2 OK done\r\n", &mut s);
        assert!(p.mime.is_none());
        assert!(p.buffered() < idle + 1024, "{} {idle}", p.buffered());
    }

    #[test]
    fn hostile_and_gap() {
        let mut p = ImapParser::new();
        let mut s = MemSink::default();
        p.on_data(ToClient, b"* OK x\r\n* 1 FETCH (BODY[] {99999999999999}\r\nContent-Type: application/x\r\n\r\nab", &mut s);
        p.on_gap(ToClient, 1000, &mut s);
        p.on_data(ToClient, b"cd", &mut s);
        p.on_data(ToServer, b"a1 LOGIN {18446744073709551615}\r\nxx", &mut s);
        p.on_data(ToServer, b"{999999999999999999999}\r\n", &mut s);
        p.on_data(ToServer, &vec![b'a'; 100_000], &mut s);
        p.on_end(&mut s);
        let r = s.log("imap")[0];
        assert!(r["weird"].to_string().contains("content_gap"));
        assert_eq!(s.files[0].1, b"ab");
        assert_eq!(s.files[0].2, Some(false));
        assert_eq!(literal_size(b"x {12}"), Some(12));
        assert_eq!(literal_size(b"x {12+}"), Some(12));
        assert_eq!(literal_size(b"x {}"), None);
        assert_eq!(literal_size(b"x {1a}"), None);
    }

    #[test]
    fn dovecot_fetch_attachment() {
        // curl 7.88 'imap://127.0.0.1:11143/INBOX;UID=1' against dovecot
        // 2.3: AUTHENTICATE PLAIN with SASL-IR, SELECT INBOX, UID FETCH 1
        // BODY[] returning a {5103} literal holding a MIME message with a
        // base64 PDF attachment.
        let d = include_bytes!("testdata/dovecot_fetch.bin");
        let s = replay(d, &mut ImapParser::new());
        let r = s.log("imap")[0];
        assert_eq!(r["user"], "user");
        assert_eq!(r["commands"][1]["args"], "PLAIN");
        assert!(!r.to_string().contains("AHVzZXIAcGFzcw"));
        assert_eq!(r["mailbox"], "INBOX");
        assert_eq!(r["fetched"], 1);
        assert_eq!(r["attachments"], serde_json::json!(["facture été.pdf"]));
        // The attachment, and the HTML body (carved for content analysis).
        assert_eq!(s.files.len(), 2);
        let pdf = s.files.iter().find(|f| f.0.name.is_some()).expect("pdf");
        assert_eq!(pdf.1.len(), 3016);
        assert!(pdf.1.ends_with(b"%%EOF\n"));
        assert_eq!(pdf.2, Some(true));
        let html = s.files.iter().find(|f| f.0.name.is_none()).expect("html");
        assert_eq!(html.0.declared_mime.as_deref(), Some("text/html"));
        assert!(html.0.mail_body && !pdf.0.mail_body);
        assert!(r.get("weird").is_none(), "{r}");
        let s1 = replay_bytewise(d, &mut ImapParser::new());
        assert_eq!(s1.records, s.records);
        assert_eq!(s1.files, s.files);
    }
}
