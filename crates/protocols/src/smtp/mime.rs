//! Internet message parsing shared by SMTP, POP3, IMAP (and HTTP's
//! Content-Disposition): RFC 5322 header fields, RFC 2045/2046 MIME
//! multipart walking, RFC 2047 encoded-words, RFC 2231 parameter values,
//! and base64 / quoted-printable body decoding.
//!
//! [`MimeParser`] is fed a message line by line (each line with its line
//! terminator, or a fragment of an over-long line without one) and carves
//! every attachment-looking part into a file through the [`Sink`].

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

use crate::heap::strs_heap;
use netsift_proto::{Direction, FileId, FileMeta, Sink};

/// Base64 (RFC 4648 §4) accepting values with or without their `=` padding.
pub(crate) const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decode a base64 string (SASL responses, encoded-words); `None` when
/// it is not base64.
pub(crate) fn b64(s: &[u8]) -> Option<Vec<u8>> {
    let t: Vec<u8> = s
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    B64.decode(t).ok()
}

/// RFC 5322 §2.1.1: "Each line of characters MUST be no more than 998
/// characters"; we accept much longer ones but cut them into fragments of
/// this size so a line never grows without bound.
pub(crate) const MAX_LINE: usize = 64 * 1024;

/// Bound on one part's header block (common instructions: 1 MiB).
const MAX_HEADER_BLOCK: usize = 1024 * 1024;

/// Bound on multipart nesting (RFC 2046 puts none; hostile mail does).
const MAX_DEPTH: usize = 16;

/// Bound on the `weird` notes of a record.
pub(crate) const MAX_WEIRD: usize = 16;

/// Bound on the number of header fields kept per header block.
const MAX_FIELDS: usize = 512;

/// Note an anomaly once, keeping at most [`MAX_WEIRD`].
pub(crate) fn weird(w: &mut Vec<String>, what: &str) {
    if w.len() < MAX_WEIRD && !w.iter().any(|x| x == what) {
        w.push(what.to_string());
    }
}

/// Cut a string to at most `max` bytes on a char boundary.
/// RFC 4616 §2: `message = [authzid] UTF8NUL authcid UTF8NUL passwd`. The
/// user a decoded PLAIN response names: the authentication identity, or
/// the authorization identity when that is empty. The password is never
/// returned.
pub(crate) fn sasl_plain_user(decoded: &[u8]) -> &[u8] {
    let mut it = decoded.split(|&b| b == 0);
    let authz = it.next().unwrap_or(&[]);
    let authc = it.next().unwrap_or(&[]);
    if authc.is_empty() {
        authz
    } else {
        authc
    }
}

/// Where a POP3 or IMAP client is in a SASL exchange (RFC 5034, RFC 9051
/// AUTHENTICATE): which base64 line comes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sasl {
    None,
    Plain,
    LoginUser,
    LoginPass,
    Skip,
}

/// One client line of a SASL exchange at `step`: the user name it reveals
/// (never the password) and the next step. `*` cancels the exchange.
pub(crate) fn sasl_step(step: Sasl, line: &[u8]) -> (Option<String>, Sasl) {
    if line == b"*" {
        return (None, Sasl::None);
    }
    let user = |d: &[u8]| Some(trunc(&String::from_utf8_lossy(d), 256));
    match step {
        Sasl::Plain => (
            b64(line).and_then(|d| user(sasl_plain_user(&d))),
            Sasl::None,
        ),
        // The LOGIN mechanism sends the user name, then the password.
        Sasl::LoginUser => (b64(line).and_then(|d| user(&d)), Sasl::LoginPass),
        Sasl::LoginPass | Sasl::Skip | Sasl::None => (None, Sasl::None),
    }
}

pub(crate) fn trunc(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("").to_string()
}

/// Splits a byte stream into lines (terminator included), bounded: a line
/// longer than [`MAX_LINE`] comes out in fragments with `complete == false`.
#[derive(Debug, Default)]
pub(crate) struct LineBuf {
    buf: Vec<u8>,
}

impl LineBuf {
    /// Append bytes and return the lines that are now complete.
    pub(crate) fn push(&mut self, data: &[u8], out: &mut dyn FnMut(&[u8], bool)) {
        let mut rest = data;
        while !rest.is_empty() {
            let room = MAX_LINE.saturating_sub(self.buf.len()).max(1);
            let window = rest.get(..rest.len().min(room)).unwrap_or(rest);
            match window.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    let (line, tail) = rest.split_at(i + 1);
                    if self.buf.is_empty() {
                        out(line, true);
                    } else {
                        self.buf.extend_from_slice(line);
                        out(&self.buf, true);
                        self.reset();
                    }
                    rest = tail;
                }
                None => {
                    self.buf.extend_from_slice(window);
                    rest = rest.get(window.len()..).unwrap_or(&[]);
                    if self.buf.len() >= MAX_LINE {
                        out(&self.buf, false);
                        self.reset();
                    }
                }
            }
        }
    }

    /// Whatever is buffered (an unterminated last line).
    pub(crate) fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    pub(crate) fn clear(&mut self) {
        self.reset();
    }

    /// Empty the buffer, giving back a large allocation (a long line's).
    fn reset(&mut self) {
        if self.buf.capacity() > 4096 {
            self.buf = Vec::new();
        } else {
            self.buf.clear();
        }
    }

    /// Heap bytes held: the unterminated line's buffer.
    pub(crate) fn buffered(&self) -> usize {
        self.buf.capacity()
    }
}

/// A line without its CR LF.
pub(crate) fn chomp(l: &[u8]) -> &[u8] {
    let l = l.strip_suffix(b"\n").unwrap_or(l);
    l.strip_suffix(b"\r").unwrap_or(l)
}

/// Parse a header block (lines without the empty terminating line) into
/// `(lower-case name, unfolded value)` pairs. RFC 5322 §2.2.3: "Unfolding
/// is accomplished by simply removing any CRLF that is immediately followed
/// by WSP."
pub(crate) fn parse_fields(block: &[u8], weird_out: &mut Vec<String>) -> Vec<(String, String)> {
    let mut fields: Vec<(String, Vec<u8>)> = Vec::new();
    for raw in block.split(|&b| b == b'\n') {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.is_empty() {
            continue;
        }
        if line.first().is_some_and(|&b| b == b' ' || b == b'\t') {
            match fields.last_mut() {
                Some((_, v)) => {
                    if v.len() < MAX_LINE {
                        v.push(b' ');
                        v.extend_from_slice(trim(line));
                    }
                }
                None => weird(weird_out, "header_continuation_without_field"),
            }
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            weird(weird_out, "header_line_without_colon");
            continue;
        };
        let name = line.get(..colon).unwrap_or(&[]);
        if name.last().is_some_and(|b| b.is_ascii_whitespace()) {
            weird(weird_out, "whitespace_before_colon");
        }
        if fields.len() >= MAX_FIELDS {
            weird(weird_out, "too_many_header_fields");
            break;
        }
        let name = String::from_utf8_lossy(trim(name)).to_ascii_lowercase();
        fields.push((name, trim(line.get(colon + 1..).unwrap_or(&[])).to_vec()));
    }
    fields
        .into_iter()
        .map(|(n, v)| (n, String::from_utf8_lossy(&v).into_owned()))
        .collect()
}

fn trim(b: &[u8]) -> &[u8] {
    let s = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let e = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(s, |e| e + 1);
    b.get(s..e).unwrap_or(&[])
}

/// First value of a field.
pub(crate) fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// A structured header value: `type/subtype; a=b; c="d"` → the lower-case
/// first token and the parameters (names lower-case, RFC 2231 `name*`,
/// `name*0`, `name*0*` continuations and charset'lang'%XX values decoded).
pub(crate) fn parse_params(v: &str) -> (String, Vec<(String, String)>) {
    let mut parts = split_params(v).into_iter();
    let first = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    // RFC 2231 §3: "name*0", "name*1", ...; §4: "name*" (or "name*N*")
    // marks an extended value `charset'language'percent-encoded`.
    let mut plain: Vec<(String, String)> = Vec::new();
    let mut pieces: Vec<(String, u32, bool, String)> = Vec::new();
    for p in parts {
        let Some((k, val)) = p.split_once('=') else {
            continue;
        };
        let k = k.trim().to_ascii_lowercase();
        let val = unquote(val.trim());
        if let Some((base, rest)) = k.split_once('*') {
            let ext = rest.ends_with('*') || rest.is_empty();
            let idx = rest.trim_end_matches('*').parse::<u32>().unwrap_or(0);
            if pieces.len() < 64 {
                pieces.push((base.to_string(), idx, ext, val));
            }
        } else {
            plain.push((k, val));
        }
    }
    pieces.sort_by(|a, b| (a.0.as_str(), a.1).cmp(&(b.0.as_str(), b.1)));
    let mut ext: Vec<(String, String)> = Vec::new();
    let mut i = 0;
    while let Some((base, _, _, _)) = pieces.get(i) {
        let base = base.clone();
        let mut bytes = Vec::new();
        let mut charset = String::new();
        let mut first = true;
        while let Some((b, _, is_ext, val)) = pieces.get(i) {
            if *b != base {
                break;
            }
            let mut val = val.as_str();
            if *is_ext && first {
                // charset'language'value
                let mut it = val.splitn(3, '\'');
                if let (Some(cs), Some(_), Some(rest)) = (it.next(), it.next(), it.next()) {
                    charset = cs.to_ascii_lowercase();
                    val = rest;
                }
            }
            if *is_ext {
                bytes.extend(percent_decode(val));
            } else {
                bytes.extend_from_slice(val.as_bytes());
            }
            first = false;
            i += 1;
        }
        ext.push((base, charset_decode(&charset, &bytes)));
    }
    // An RFC 2231 value wins over a plain one of the same name.
    for (k, v) in ext {
        plain.retain(|(n, _)| *n != k);
        plain.push((k, v));
    }
    (first, plain)
}

fn split_params(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut esc = false;
    for c in v.chars() {
        if esc {
            cur.push(c);
            esc = false;
            continue;
        }
        match c {
            '\\' if quoted => {
                cur.push(c);
                esc = true
            }
            '"' => {
                quoted = !quoted;
                cur.push(c)
            }
            ';' if !quoted => {
                if out.len() < 128 {
                    out.push(std::mem::take(&mut cur));
                }
                cur.clear();
            }
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn unquote(v: &str) -> String {
    match v.strip_prefix('"') {
        Some(inner) => {
            let inner = inner.strip_suffix('"').unwrap_or(inner);
            let mut s = String::new();
            let mut esc = false;
            for c in inner.chars() {
                if !esc && c == '\\' {
                    esc = true;
                    continue;
                }
                esc = false;
                s.push(c);
            }
            s
        }
        None => v.to_string(),
    }
}

fn hexval(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            if let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hexval),
                b.get(i + 2).copied().and_then(hexval),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Bytes in a named charset to a string: UTF-8 and ASCII as UTF-8 (lossy),
/// ISO-8859-1 / windows-1252 (approximated as Latin-1) byte for char; any
/// other charset lossy UTF-8.
fn charset_decode(cs: &str, b: &[u8]) -> String {
    match cs {
        "iso-8859-1" | "latin1" | "iso-8859-15" | "windows-1252" | "cp1252" => {
            b.iter().map(|&c| c as char).collect()
        }
        _ => String::from_utf8_lossy(b).into_owned(),
    }
}

fn charset_known(cs: &str) -> bool {
    matches!(
        cs,
        "utf-8"
            | "utf8"
            | "us-ascii"
            | "ascii"
            | "iso-8859-1"
            | "latin1"
            | "iso-8859-15"
            | "windows-1252"
            | "cp1252"
    )
}

/// RFC 2047 §2: `encoded-word = "=?" charset "?" encoding "?" encoded-text
/// "?="`, B (base64, §4.1) or Q (§4.2: "_" is SP, "=XX" a byte). Words in
/// an unknown charset are left as they are; §6.2: white space between
/// adjacent encoded-words is ignored.
pub(crate) fn decode_words(v: &str) -> String {
    if !v.contains("=?") {
        return v.to_string();
    }
    let mut out = String::new();
    let mut rest = v;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, after) = rest.split_at(start);
        let word = decode_one_word(after);
        match word {
            Some((text, used)) => {
                if !(last_was_word && before.trim().is_empty()) {
                    out.push_str(before);
                }
                out.push_str(&text);
                rest = after.get(used..).unwrap_or("");
                last_was_word = true;
            }
            None => {
                out.push_str(before);
                out.push_str("=?");
                rest = after.get(2..).unwrap_or("");
                last_was_word = false;
            }
        }
    }
    out.push_str(rest);
    out
}

fn decode_one_word(s: &str) -> Option<(String, usize)> {
    let body = s.get(2..)?;
    let q1 = body.find('?')?;
    let charset = body.get(..q1)?;
    let charset = charset.split('*').next().unwrap_or("").to_ascii_lowercase();
    let enc = body.get(q1 + 1..q1 + 2)?;
    if body.get(q1 + 2..q1 + 3)? != "?" {
        return None;
    }
    let text_start = q1 + 3;
    let end = body.get(text_start..)?.find("?=")?;
    let text = body.get(text_start..text_start + end)?;
    if !charset_known(&charset) {
        return None;
    }
    let bytes = match enc {
        "B" | "b" => b64(text.as_bytes())?,
        "Q" | "q" => {
            let t = text.replace('_', " ");
            qp_bytes(t.as_bytes())
        }
        _ => return None,
    };
    Some((charset_decode(&charset, &bytes), 2 + text_start + end + 2))
}

fn qp_bytes(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'=' {
            if let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hexval),
                b.get(i + 2).copied().and_then(hexval),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Streaming Content-Transfer-Encoding decoder (RFC 2045 §6).
#[derive(Debug)]
enum Cte {
    /// 7bit, 8bit, binary (§6.2: "no encoding").
    Identity,
    /// §6.8; `quad` holds up to 3 pending base64 characters.
    Base64 { quad: Vec<u8> },
    /// §6.7.
    QuotedPrintable,
}

impl Cte {
    fn from_header(v: Option<&str>, weird_out: &mut Vec<String>) -> Cte {
        match v.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            None | Some("7bit") | Some("8bit") | Some("binary") | Some("") => Cte::Identity,
            Some("base64") => Cte::Base64 { quad: Vec::new() },
            Some("quoted-printable") => Cte::QuotedPrintable,
            Some(_) => {
                weird(weird_out, "unknown_content_transfer_encoding");
                Cte::Identity
            }
        }
    }

    /// Decode one line's content (`line` without its terminator); true when
    /// the line's terminator is part of the decoded content.
    fn decode(&mut self, line: &[u8], out: &mut Vec<u8>) -> bool {
        match self {
            Cte::Identity => {
                out.extend_from_slice(line);
                true
            }
            Cte::Base64 { quad } => {
                // §6.8: "Any characters outside of the base64 alphabet are
                // to be ignored in base64-encoded data."
                for &c in line {
                    if c.is_ascii_alphanumeric() || c == b'+' || c == b'/' {
                        quad.push(c);
                        if quad.len() == 4 {
                            if let Ok(b) = B64.decode(&quad[..]) {
                                out.extend_from_slice(&b);
                            }
                            quad.clear();
                        }
                    }
                }
                false
            }
            Cte::QuotedPrintable => {
                // §6.7 rule 5: "an equal sign as the last character on a
                // encoded line indicates such a non-significant ("soft")
                // line break"; rule 3: trailing white space is deleted.
                let l = trim_end_ws(line);
                match l.strip_suffix(b"=") {
                    Some(soft) => {
                        out.extend(qp_bytes(soft));
                        false
                    }
                    None => {
                        out.extend(qp_bytes(l));
                        true
                    }
                }
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if let Cte::Base64 { quad } = self {
            if quad.len() >= 2 {
                if let Ok(b) = B64.decode(&quad[..]) {
                    out.extend_from_slice(&b);
                }
            }
            quad.clear();
        }
    }
}

fn trim_end_ws(b: &[u8]) -> &[u8] {
    let e = b
        .iter()
        .rposition(|&c| c != b' ' && c != b'\t')
        .map_or(0, |e| e + 1);
    b.get(..e).unwrap_or(&[])
}

/// What a message's top-level header says (for the mail records).
#[derive(Debug, Default, Clone)]
pub(crate) struct TopHeaders {
    pub fields: Vec<(String, String)>,
}

impl TopHeaders {
    /// A field's value, RFC 2047-decoded.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        field(&self.fields, name).map(|v| trunc(&decode_words(v), 1024))
    }
    /// All values of a field, each decoded.
    pub(crate) fn get_all(&self, name: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(n, _)| n == name)
            .take(64)
            .map(|(_, v)| trunc(&decode_words(v), 1024))
            .collect()
    }
}

#[derive(Debug)]
enum St {
    /// Reading a header block (the message's when `stack` is empty and no
    /// part was seen yet).
    Headers,
    /// In a body; `carve` when it becomes a file.
    Body,
    /// Preamble/epilogue: text outside any part, skipped until a boundary.
    Skip,
}

/// One message, walked part by part.
#[derive(Debug)]
pub(crate) struct MimeParser {
    source: &'static str,
    dir: Direction,
    st: St,
    header: Vec<u8>,
    header_over: bool,
    /// Open multipart boundaries, outermost first.
    stack: Vec<Vec<u8>>,
    top_done: bool,
    pub top: TopHeaders,
    cte: Cte,
    file: Option<FileId>,
    /// Carving this part (the file may be refused by the sink).
    carving: bool,
    /// RFC 2046 §5.1.1: "the CRLF preceding the boundary delimiter line is
    /// conceptually attached to the boundary" — held back until we know.
    pending_eol: Vec<u8>,
    mid_line: bool,
    /// File names of the carved parts (or the MIME type when unnamed).
    pub attachments: Vec<String>,
    pub weird: Vec<String>,
    pub parts: u32,
    /// The transaction the message's attachments belong to
    /// ([`FileMeta::tx`]), when the protocol numbers them.
    pub tx: Option<u64>,
}

impl MimeParser {
    pub(crate) fn new(source: &'static str, dir: Direction) -> MimeParser {
        MimeParser {
            source,
            dir,
            st: St::Headers,
            header: Vec::new(),
            header_over: false,
            stack: Vec::new(),
            top_done: false,
            top: TopHeaders::default(),
            cte: Cte::Identity,
            file: None,
            carving: false,
            pending_eol: Vec::new(),
            mid_line: false,
            attachments: Vec::new(),
            weird: Vec::new(),
            parts: 0,
            tx: None,
        }
    }

    /// Feed one line (with its terminator when `complete`, a fragment of an
    /// over-long line otherwise).
    pub(crate) fn line(&mut self, raw: &[u8], complete: bool, sink: &mut dyn Sink) {
        let at_start = !self.mid_line;
        self.mid_line = !complete;
        match self.st {
            St::Headers => {
                if at_start && chomp(raw).is_empty() && complete {
                    self.end_headers(sink);
                } else if at_start
                    && complete
                    && !self.stack.is_empty()
                    && self.is_delimiter(chomp(raw))
                {
                    // A part whose header block runs into the next
                    // delimiter (no empty line, no body).
                    weird(&mut self.weird, "mime_part_without_body");
                    self.end_headers(sink);
                    self.boundary(chomp(raw), sink);
                } else if self.header.len() + raw.len() <= MAX_HEADER_BLOCK {
                    self.header.extend_from_slice(raw);
                } else if !self.header_over {
                    self.header_over = true;
                    weird(&mut self.weird, "mime_header_block_too_large");
                }
            }
            St::Body | St::Skip => {
                if at_start && complete && self.boundary(chomp(raw), sink) {
                    return;
                }
                if let St::Body = self.st {
                    let content = if complete { chomp(raw) } else { raw };
                    let eol = raw.get(content.len()..).unwrap_or(&[]);
                    self.body_bytes(content, eol, sink);
                }
            }
        }
    }

    fn body_bytes(&mut self, content: &[u8], eol: &[u8], sink: &mut dyn Sink) {
        if !self.carving {
            return;
        }
        let mut out = std::mem::take(&mut self.pending_eol);
        // The line's own terminator stays pending (it may belong to the
        // next boundary).
        if self.cte.decode(content, &mut out) {
            self.pending_eol = eol.to_vec();
        }
        if let (Some(f), false) = (self.file, out.is_empty()) {
            sink.file_data(f, &out);
        }
    }

    fn is_delimiter(&self, l: &[u8]) -> bool {
        let Some(rest) = l.strip_prefix(b"--") else {
            return false;
        };
        let l = trim_end_ws(rest);
        self.stack.iter().any(|b| {
            l.strip_prefix(b.as_slice())
                .is_some_and(|after| after.is_empty() || after == b"--")
        })
    }

    /// Is this line a delimiter of an open multipart? RFC 2046 §5.1.1:
    /// `"--" boundary` (then optional white space), close delimiter
    /// `"--" boundary "--"`.
    fn boundary(&mut self, l: &[u8], sink: &mut dyn Sink) -> bool {
        let Some(rest) = l.strip_prefix(b"--") else {
            return false;
        };
        let l = trim_end_ws(rest);
        let mut hit = None;
        for (i, b) in self.stack.iter().enumerate().rev() {
            if let Some(after) = l.strip_prefix(b.as_slice()) {
                if after.is_empty() {
                    hit = Some((i, false));
                } else if after == b"--" {
                    hit = Some((i, true));
                } else {
                    continue;
                }
                break;
            }
        }
        let Some((i, close)) = hit else {
            return false;
        };
        self.close_part(true, sink);
        self.stack.truncate(i + 1);
        if close {
            self.stack.truncate(i);
            self.st = St::Skip;
        } else {
            self.st = St::Headers;
            self.header.clear();
            self.header_over = false;
        }
        true
    }

    fn close_part(&mut self, complete: bool, sink: &mut dyn Sink) {
        if self.carving {
            let mut out = Vec::new();
            self.cte.finish(&mut out);
            if let Some(f) = self.file {
                if !out.is_empty() {
                    sink.file_data(f, &out);
                }
                sink.file_close(f, complete);
            }
        }
        self.pending_eol.clear();
        self.file = None;
        self.carving = false;
    }

    fn end_headers(&mut self, sink: &mut dyn Sink) {
        let block = std::mem::take(&mut self.header);
        let fields = parse_fields(&block, &mut self.weird);
        let is_top = !self.top_done;
        if is_top {
            self.top_done = true;
        } else {
            self.parts += 1;
        }
        // RFC 2045 §5.2: default "Content-type: text/plain; charset=us-ascii"
        // (RFC 2046 §5.1.5: "text/plain" in multipart/digest is
        // message/rfc822; not distinguished here).
        let (ctype, cparams) = field(&fields, "content-type")
            .map(parse_params)
            .unwrap_or_else(|| ("text/plain".to_string(), Vec::new()));
        let (disp, dparams) = field(&fields, "content-disposition")
            .map(parse_params)
            .unwrap_or_default();
        self.cte = Cte::from_header(field(&fields, "content-transfer-encoding"), &mut self.weird);
        if is_top {
            self.top.fields = fields;
        }
        if ctype.starts_with("multipart/") {
            let b = cparams
                .iter()
                .find(|(k, _)| k == "boundary")
                .map(|(_, v)| v.clone());
            match b {
                // RFC 2046 §5.1.1: boundary := 1*70 bchars; longer ones are
                // accepted, but an empty one would match any "--" line.
                Some(b) if !b.is_empty() && b.len() <= 256 => {
                    if self.stack.len() >= MAX_DEPTH {
                        weird(&mut self.weird, "mime_too_deep");
                        self.st = St::Skip;
                    } else {
                        self.stack.push(b.into_bytes());
                        // The preamble (§5.1.1) is skipped.
                        self.st = St::Skip;
                    }
                    return;
                }
                _ => weird(&mut self.weird, "multipart_without_boundary"),
            }
        }
        self.st = St::Body;
        let name = dparams
            .iter()
            .find(|(k, _)| k == "filename")
            .or_else(|| cparams.iter().find(|(k, _)| k == "name"))
            .map(|(_, v)| trunc(&decode_words(v), 512));
        let attached = disp == "attachment" || (disp == "inline" && name.is_some());
        // A message's own text body is not a file; every attachment, named
        // part or non-text part is. An HTML body (RFC 2854 `text/html`,
        // RFC 3236 `application/xhtml+xml`; often the second half of a
        // RFC 2046 §5.1.4 multipart/alternative) is carved too, as Zeek's
        // file analysis sees every MIME entity, so content analysis reads
        // it like an HTTP page (`html` records: hidden iframes, forms,
        // scripts). It is no attachment, and is marked `mail_body` so
        // Suricata-style rules and EVE see the attachments alone, as
        // Suricata does.
        let attachment =
            attached || name.is_some() || !ctype.starts_with("text/") && !ctype.is_empty();
        let html_body = !attachment && (ctype == "text/html" || ctype == "application/xhtml+xml");
        if !attachment && !html_body {
            return;
        }
        self.carving = true;
        if attachment && self.attachments.len() < 256 {
            self.attachments
                .push(name.clone().unwrap_or_else(|| ctype.clone()));
        }
        self.file = sink.file_open(FileMeta {
            source: self.source,
            name,
            declared_mime: Some(ctype).filter(|c| !c.is_empty()),
            dir: Some(self.dir),
            expected_size: None,
            tx: self.tx,
            origin: None,
            mail_body: html_body,
        });
    }

    /// Heap bytes held between lines: the header block being collected,
    /// the open boundaries, the top-level fields, the decoder's pending
    /// bytes, the attachment names and notes.
    pub(crate) fn buffered(&self) -> usize {
        let quad = match &self.cte {
            Cte::Base64 { quad } => quad.capacity(),
            Cte::Identity | Cte::QuotedPrintable => 0,
        };
        let fields = &self.top.fields;
        self.header.capacity()
            + self.stack.capacity() * std::mem::size_of::<Vec<u8>>()
            + self.stack.iter().map(Vec::capacity).sum::<usize>()
            + fields.capacity() * std::mem::size_of::<(String, String)>()
            + fields
                .iter()
                .map(|(n, v)| n.capacity() + v.capacity())
                .sum::<usize>()
            + quad
            + self.pending_eol.capacity()
            + strs_heap(&self.attachments)
            + strs_heap(&self.weird)
    }

    /// Tie the message's attachments to transaction `tx`.
    pub(crate) fn for_tx(mut self, tx: u64) -> MimeParser {
        self.tx = Some(tx);
        self
    }

    /// The message ended (`complete`: the end was seen, not a cut).
    pub(crate) fn finish(&mut self, complete: bool, sink: &mut dyn Sink) {
        if let St::Headers = self.st {
            if !self.top_done && !self.header.is_empty() {
                // A message with headers only.
                self.end_headers(sink);
            }
        }
        if self.mid_line {
            self.mid_line = false;
        }
        // A part still open at the end of a multipart message lacked its
        // close delimiter.
        let ok = complete && self.stack.is_empty();
        if complete && !self.stack.is_empty() && self.carving {
            weird(&mut self.weird, "mime_missing_close_delimiter");
        }
        // The final line terminator of the body belongs to the body.
        if self.carving {
            if let (Some(f), false) = (self.file, self.pending_eol.is_empty()) {
                let e = std::mem::take(&mut self.pending_eol);
                sink.file_data(f, &e);
            }
        }
        self.close_part(ok, sink);
        self.stack.clear();
        self.st = St::Skip;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netsift_proto::MemSink;

    fn run(msg: &[u8], chunk: usize) -> (MimeParser, MemSink) {
        let mut sink = MemSink::default();
        let mut p = MimeParser::new("SMTP", Direction::ToServer);
        let mut lb = LineBuf::default();
        for c in msg.chunks(chunk.max(1)) {
            let mut lines = Vec::new();
            lb.push(c, &mut |l, complete| lines.push((l.to_vec(), complete)));
            for (l, complete) in lines {
                p.line(&l, complete, &mut sink);
            }
        }
        let rest = lb.take();
        if !rest.is_empty() {
            p.line(&rest, false, &mut sink);
        }
        p.finish(true, &mut sink);
        (p, sink)
    }

    #[test]
    fn words_and_params() {
        assert_eq!(
            decode_words("=?UTF-8?B?w6ljaGVj?= =?utf-8?Q?_ok?="),
            "échec ok"
        );
        assert_eq!(decode_words("Re: =?iso-8859-1?Q?caf=E9?="), "Re: café");
        assert_eq!(decode_words("=?koi8-r?B?AAAA?="), "=?koi8-r?B?AAAA?=");
        assert_eq!(decode_words("=?x"), "=?x");
        let (t, p) = parse_params("attachment; filename*=UTF-8''%e2%82%ac%20rates.txt");
        assert_eq!(t, "attachment");
        assert_eq!(p, vec![("filename".into(), "€ rates.txt".into())]);
        let (_, p) = parse_params(
            "attachment; filename*0*=us-ascii'en'a%20; filename*1=b.txt; filename=\"x\"",
        );
        assert_eq!(p, vec![("filename".into(), "a b.txt".into())]);
        let (t, p) = parse_params("Multipart/Mixed; boundary=\"a;b\"");
        assert_eq!(t, "multipart/mixed");
        assert_eq!(p, vec![("boundary".into(), "a;b".into())]);
    }

    const MSG: &[u8] = b"From: a@b\r\nSubject: =?UTF-8?Q?h=C3=A9?=\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\npreamble\r\n--XX\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XX\r\nContent-Type: application/octet-stream; name=\"a.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\nAw==\r\n--XX\r\nContent-Type: multipart/alternative; boundary=\"YY\"\r\n\r\n--YY\r\nContent-Disposition: attachment; filename=q.txt\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nx=3Dy=\r\nz\r\n--YY--\r\n--XX\r\nContent-Type: image/gif\r\nContent-Transfer-Encoding: binary\r\n\r\nGIF\r\n89\r\n--XX--\r\nepilogue\r\n";

    #[test]
    fn multipart_every_split() {
        let (p, s) = run(MSG, 10_000);
        assert_eq!(p.top.get("subject").as_deref(), Some("hé"));
        assert_eq!(p.attachments, vec!["a.bin", "q.txt", "image/gif"]);
        assert_eq!(s.files.len(), 3);
        assert_eq!(s.files[0].1, vec![0, 1, 2, 3]);
        assert_eq!(s.files[1].1, b"x=yz");
        assert_eq!(s.files[2].1, b"GIF\r\n89");
        assert!(s.files.iter().all(|f| f.2 == Some(true)));
        for n in 1..40 {
            let (p2, s2) = run(MSG, n);
            assert_eq!(p2.attachments, p.attachments);
            assert_eq!(s2.files, s.files, "chunk {n}");
        }
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let mut m = Vec::new();
        for i in 0..200 {
            m.extend_from_slice(
                format!("Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n")
                    .as_bytes(),
            );
        }
        m.extend_from_slice(b"Content-Type: application/x\r\n\r\nzz\r\n");
        let (p, s) = run(&m, 7);
        assert!(p.weird.contains(&"mime_too_deep".to_string()));
        assert!(s.files.len() <= 1);
    }

    #[test]
    fn huge_header_block_is_bounded() {
        let mut m = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n".to_vec();
        for _ in 0..40_000 {
            m.extend_from_slice(
                b"X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
            );
        }
        let (p, _) = run(&m, 4096);
        assert!(p.weird.contains(&"mime_header_block_too_large".to_string()));
    }

    #[test]
    fn truncated_part_is_incomplete() {
        let m = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n\r\nUEsDBA==\r\n";
        let mut sink = MemSink::default();
        let mut p = MimeParser::new("SMTP", Direction::ToServer);
        let mut lb = LineBuf::default();
        let mut lines = Vec::new();
        lb.push(m, &mut |l, c| lines.push((l.to_vec(), c)));
        for (l, c) in lines {
            p.line(&l, c, &mut sink);
        }
        p.finish(false, &mut sink);
        assert_eq!(sink.files[0].1, b"PK\x03\x04");
        assert_eq!(sink.files[0].2, Some(false));
    }

    #[test]
    fn part_without_blank_line() {
        let m = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/x-a; name=a\r\n--b\r\nContent-Type: application/x-b; name=b\r\n\r\nbody\r\n--b--\r\n";
        let (p, s) = run(m, 5);
        assert_eq!(p.attachments, vec!["a", "b"]);
        assert!(p.weird.contains(&"mime_part_without_body".to_string()));
        assert_eq!(s.files[1].1, b"body");
    }

    /// An HTML body (multipart/alternative beside its text form) is
    /// carved as a file for content analysis, but listed as no attachment;
    /// the text form is neither.
    #[test]
    fn html_body_is_carved_not_an_attachment() {
        let m = b"Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nVerify your account\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<iframe src=3D\"http://x.test/\" width=3D0></iframe>\r\n--b--\r\n";
        let (p, s) = run(m, 9);
        assert!(p.attachments.is_empty(), "{:?}", p.attachments);
        assert_eq!(s.files.len(), 1);
        assert_eq!(
            s.files[0].1,
            b"<iframe src=\"http://x.test/\" width=0></iframe>"
        );
        assert!(s.files[0].0.mail_body);
        assert_eq!(s.files[0].0.name, None);
        assert_eq!(s.files[0].0.declared_mime.as_deref(), Some("text/html"));
        // A top-level HTML message too.
        let (_, s) = run(b"Content-Type: text/html\r\n\r\n<p>hi</p>\r\n", 4);
        assert_eq!(s.files.len(), 1);
        assert!(s.files[0].0.mail_body);
        // An HTML file attached by name is an attachment like any other.
        let (p, s) = run(b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: text/html\r\nContent-Disposition: attachment; filename=\"page.html\"\r\n\r\n<p>x</p>\r\n--b--\r\n", 7);
        assert_eq!(p.attachments, ["page.html"]);
        assert_eq!(s.files.len(), 1);
        assert!(!s.files[0].0.mail_body);
    }
}
