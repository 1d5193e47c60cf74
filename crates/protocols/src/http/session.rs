//! HTTP/1.x session parser: message framing per RFC 9112, semantics per
//! RFC 9110, one `http` record per request/response pair (pipelined
//! requests pair with responses in order, RFC 9112 §9.3.2), every
//! non-empty body carved as a file of its decoded bytes.

use std::collections::VecDeque;

use netsift_proto::{BufferKind, Direction, FileId, FileMeta, Parser, Record, Sink};

use super::body::{Coding, Decoder, Stop, MAX_LAYERS};
use super::headers::{self, field, Field, Header};
use super::record::HttpRecord;
use super::METHODS;
use crate::heap::{str_heap, strs_heap};
use crate::smtp::mime::{b64, decode_words, parse_params, trunc, weird};

/// Bound on a header block (common instructions: 64 KiB).
const MAX_HEAD: usize = 64 * 1024;
/// Bound on a chunk-size line (size plus chunk extensions).
const MAX_CHUNK_LINE: usize = 4096;
/// Bound on requests waiting for their response.
const MAX_PENDING: usize = 64;
/// Bounds on record strings.
const MAX_URI: usize = 8192;
const MAX_STR: usize = 1024;

#[derive(Debug)]
enum Chunk {
    /// RFC 9112 §7.1: `chunk-size [ chunk-ext ] CRLF`.
    Size(Vec<u8>),
    Data(u64),
    /// The CRLF after chunk-data.
    DataEnd {
        cr: bool,
    },
    /// §7.1.2: trailer section, ended by an empty line.
    Trailers {
        line: Vec<u8>,
        total: usize,
    },
}

#[derive(Debug)]
enum Framing {
    /// RFC 9112 §6.3 item 6: Content-Length octets.
    Length(u64),
    /// §6.3 item 4: chunked transfer coding.
    Chunked(Chunk),
    /// §6.3 item 8: a response delimited by the connection's close.
    Close,
}

struct Body {
    tx: u64,
    framing: Framing,
    dec: Decoder,
    meta: Option<FileMeta>,
    file: Option<FileId>,
    /// Still writing the file (false after a gap, a bomb, a decode error
    /// or when the sink refused the file).
    carve: bool,
    /// No byte of the body is known to be missing.
    intact: bool,
    flagged: bool,
}

enum St {
    Head,
    Body(Box<Body>),
    /// Looking for the next plausible start line.
    Resync,
    /// CONNECT / 101: the bytes are another protocol.
    Tunnel,
}

struct Side {
    st: St,
    buf: Vec<u8>,
    scan: usize,
    /// Positions + 1 of the last two LFs in `buf` (0: none).
    nls: [usize; 2],
    line_start: bool,
}

impl Side {
    fn new() -> Side {
        Side {
            st: St::Head,
            buf: Vec::new(),
            scan: 0,
            nls: [0, 0],
            line_start: true,
        }
    }

    /// Heap bytes of this direction: the head being collected, and inside
    /// a body its state (see [`Body::buffered`]).
    fn buffered(&self) -> usize {
        let body = match &self.st {
            St::Body(b) => std::mem::size_of::<Body>() + b.buffered(),
            St::Head | St::Resync | St::Tunnel => 0,
        };
        self.buf.capacity() + body
    }
}

impl Body {
    /// A chunk-size or trailer line being collected, the content decoder's
    /// buffers and state, the file's description.
    fn buffered(&self) -> usize {
        let line = match &self.framing {
            Framing::Chunked(Chunk::Size(l) | Chunk::Trailers { line: l, .. }) => l.capacity(),
            _ => 0,
        };
        let meta = self.meta.as_ref().map_or(0, |m| {
            str_heap(&m.name) + str_heap(&m.declared_mime) + str_heap(&m.origin)
        });
        line + meta + self.dec.buffered()
    }
}

struct Tx {
    serial: u64,
    ts: u64,
    rec: HttpRecord,
    req_done: bool,
    resp_done: bool,
    has_resp: bool,
    head: bool,
    connect: bool,
    upgrade: Option<String>,
    uri_name: Option<String>,
    /// An HTTP/0.9 simple request: its response is a bare body.
    v09: bool,
}

impl Tx {
    /// A transaction of `rec` whose request and response are still to come.
    fn new(serial: u64, ts: u64, rec: HttpRecord) -> Tx {
        Tx {
            serial,
            ts,
            rec,
            req_done: false,
            resp_done: false,
            has_resp: false,
            head: false,
            connect: false,
            upgrade: None,
            uri_name: None,
            v09: false,
        }
    }

    /// Heap bytes of the strings the waiting transaction holds.
    fn heap(&self) -> usize {
        let r = &self.rec;
        let one = [
            &r.method,
            &r.host,
            &r.uri,
            &r.version,
            &r.user_agent,
            &r.referrer,
            &r.origin,
            &r.status_msg,
            &r.info_msg,
            &r.request_content_type,
            &r.response_content_type,
            &r.request_transfer_encoding,
            &r.response_transfer_encoding,
            &r.request_content_encoding,
            &r.response_content_encoding,
            &r.username,
            &self.upgrade,
            &self.uri_name,
        ];
        let many = [
            &r.resp_filenames,
            &r.orig_filenames,
            &r.proxied,
            &r.tags,
            &r.weird,
        ];
        one.iter().map(|s| str_heap(s)).sum::<usize>()
            + many.iter().map(|v| strs_heap(v)).sum::<usize>()
    }
}

/// Parser for one HTTP/1.x connection.
pub(crate) struct HttpParser {
    req: Side,
    resp: Side,
    txs: VecDeque<Tx>,
    serial: u64,
    depth: u32,
    /// Anomalies not tied to a transaction, given to the next record.
    conn_weird: Vec<String>,
}

impl HttpParser {
    pub(crate) fn new() -> HttpParser {
        HttpParser {
            req: Side::new(),
            resp: Side::new(),
            txs: VecDeque::new(),
            serial: 0,
            depth: 0,
            conn_weird: Vec::new(),
        }
    }

    fn feed(&mut self, dir: Direction, mut data: &[u8], sink: &mut dyn Sink) {
        while !data.is_empty() {
            let side = match dir {
                Direction::ToServer => &mut self.req,
                Direction::ToClient => &mut self.resp,
            };
            match &mut side.st {
                St::Tunnel => return,
                St::Body(_) => {
                    let n = self.body(dir, data, sink);
                    data = data.get(n..).unwrap_or(&[]);
                }
                St::Resync => {
                    let mut found = None;
                    for p in 0..data.len() {
                        let at = if p == 0 {
                            side.line_start
                        } else {
                            data.get(p - 1) == Some(&b'\n')
                        };
                        let rest = data.get(p..).unwrap_or(&[]);
                        if at && resync_at(dir, rest) {
                            found = Some(p);
                            break;
                        }
                    }
                    match found {
                        Some(p) => {
                            side.st = St::Head;
                            side.buf = Vec::new();
                            side.scan = 0;
                            side.nls = [0, 0];
                            data = data.get(p..).unwrap_or(&[]);
                        }
                        None => {
                            side.line_start = data.last() == Some(&b'\n');
                            return;
                        }
                    }
                }
                St::Head => {
                    // RFC 9112 §2.2: "a server that is expecting to receive
                    // and parse a request-line SHOULD ignore at least one
                    // empty line (CRLF) received prior to the request-line".
                    // libhtp ignores white-space lines before a status
                    // line too (http-evader sends " \rHTTP/1.1 200").
                    if side.buf.is_empty() {
                        let skip = data
                            .iter()
                            .take_while(|&&b| {
                                b == b'\r'
                                    || b == b'\n'
                                    || (dir == Direction::ToClient && (b == b' ' || b == b'\t'))
                            })
                            .count();
                        data = data.get(skip..).unwrap_or(&[]);
                        if data.is_empty() {
                            return;
                        }
                    }
                    if side.buf.len() < 16 {
                        let mut probe = side.buf.clone();
                        probe.extend_from_slice(data.get(..16).unwrap_or(data));
                        if plausible(dir, &probe) == Some(false) {
                            if dir == Direction::ToClient && self.v09_response(sink) {
                                continue;
                            }
                            let side = match dir {
                                Direction::ToServer => &mut self.req,
                                Direction::ToClient => &mut self.resp,
                            };
                            side.buf = Vec::new();
                            side.st = St::Resync;
                            side.line_start = false;
                            match dir {
                                Direction::ToServer => {
                                    weird(&mut self.conn_weird, "unexpected_client_data")
                                }
                                Direction::ToClient => {
                                    self.lose_response("unexpected_server_data", sink)
                                }
                            }
                            continue;
                        }
                    }
                    let old = side.buf.len();
                    let take = data.len().min(MAX_HEAD + 4 - old.min(MAX_HEAD));
                    side.buf.extend_from_slice(data.get(..take).unwrap_or(data));
                    if dir == Direction::ToServer {
                        if let Some(n) = simple_request(&side.buf) {
                            // RFC 1945 §4.1: an HTTP/0.9 Simple-Request is
                            // this one line; no header section follows.
                            let line = std::mem::take(&mut side.buf);
                            side.scan = 0;
                            side.nls = [0, 0];
                            data = data.get(n.saturating_sub(old)..).unwrap_or(&[]);
                            self.simple_request_head(line.get(..n).unwrap_or(&[]), sink);
                            continue;
                        }
                    }
                    // RFC 9112 §2.1: the header section ends with an empty
                    // line (CRLF; §2.2 allows a bare LF).
                    let end = match dir {
                        Direction::ToServer => {
                            let from = side.scan.saturating_sub(2);
                            head_end(side.buf.get(from..).unwrap_or(&[])).map(|e| e + from)
                        }
                        // A white-space line may end it: look from the
                        // start of the last complete line.
                        // `nls` keeps the last two line ends, so only
                        // the new bytes are searched for them.
                        Direction::ToClient => {
                            let [older, last] = side.nls;
                            let mut new_nl = false;
                            for (i, &c) in side.buf.get(old..).unwrap_or(&[]).iter().enumerate() {
                                if c == b'\n' {
                                    side.nls = [side.nls[1], old + i + 1];
                                    new_nl = true;
                                }
                            }
                            // No new line end, and none pending a decision
                            // in the last bytes: nothing can have ended.
                            if !new_nl && (last == 0 || side.buf.len() - last > 300) {
                                None
                            } else {
                                let from = older.saturating_sub(1);
                                headers::response_head_end(side.buf.get(from..).unwrap_or(&[]))
                                    .map(|e| e + from)
                            }
                        }
                    };
                    match end {
                        Some(e) => {
                            let consumed = e.saturating_sub(old);
                            // Bytes past the end kept from earlier calls
                            // (a response head's end is decided by what
                            // follows a white-space line) are body.
                            let early = side.buf.get(e..old).map(<[u8]>::to_vec);
                            side.buf.truncate(e);
                            let block = std::mem::take(&mut side.buf);
                            side.scan = 0;
                            side.nls = [0, 0];
                            data = data.get(consumed..).unwrap_or(&[]);
                            match dir {
                                Direction::ToServer => self.request_head(&block, sink),
                                Direction::ToClient => self.response_head(&block, sink),
                            }
                            if let Some(early) = early.filter(|x| !x.is_empty()) {
                                self.feed(dir, &early, sink);
                            }
                        }
                        None if side.buf.len() >= MAX_HEAD => {
                            weird(&mut self.conn_weird, "header_block_too_large");
                            side.buf = Vec::new();
                            side.scan = 0;
                            side.nls = [0, 0];
                            side.st = St::Resync;
                            side.line_start = false;
                            data = data.get(take..).unwrap_or(&[]);
                        }
                        None => {
                            side.scan = side.buf.len();
                            data = data.get(take..).unwrap_or(&[]);
                        }
                    }
                }
            }
        }
    }

    /// The server sent something other than the status line expected
    /// next (its start was lost: capture started mid-response, a gap): the
    /// oldest request still waiting lost its response, and pairing the next
    /// status line with it would shift every later pair by one.
    fn lose_response(&mut self, why: &str, sink: &mut dyn Sink) {
        match self.txs.iter_mut().find(|t| !t.has_resp) {
            Some(tx) => {
                tx.has_resp = true;
                tx.resp_done = true;
                weird(&mut tx.rec.weird, why);
                weird(&mut tx.rec.weird, "response_lost");
                self.emit_ready(sink);
            }
            None => weird(&mut self.conn_weird, why),
        }
    }

    fn tx(&mut self, serial: u64) -> Option<&mut Tx> {
        self.txs.iter_mut().find(|t| t.serial == serial)
    }

    fn request_head(&mut self, block: &[u8], sink: &mut dyn Sink) {
        let (line, rest) = headers::split_first_line(block, false);
        let mut w = std::mem::take(&mut self.conn_weird);
        // RFC 9112 §3: request-line = method SP request-target SP HTTP-version
        let text = String::from_utf8_lossy(line);
        let mut toks = text.split(' ').filter(|t| !t.is_empty());
        let method = toks.next().unwrap_or("");
        let toks: Vec<&str> = toks.collect();
        let (uri, version) = match toks.split_last() {
            Some((v, t)) if v.starts_with("HTTP/") && !t.is_empty() => (join_tokens(t), Some(*v)),
            _ => {
                weird(&mut w, "bad_request_line");
                (join_tokens(&toks), None)
            }
        };
        if text.split(' ').count() > 3 {
            weird(&mut w, "space_in_request_line");
        }
        let hdrs = headers::parse(rest, false, &mut w);
        let fields = headers::as_fields(&hdrs);
        self.serial += 1;
        self.depth += 1;
        let id = self.serial - 1;
        let d = Direction::ToServer;
        let raw_uri = request_target(line, version.is_some());
        let raw_version = version
            .as_ref()
            .and_then(|_| line.rsplit(|&c| c == b' ').next());
        if sink.wants_buffers() {
            sink.buffer(id, d, BufferKind::HttpMethod, method.as_bytes());
            sink.buffer(id, d, BufferKind::HttpUriRaw, raw_uri);
            sink.buffer(id, d, BufferKind::HttpUri, &normalize_uri(raw_uri));
            if let Some(v) = raw_version {
                sink.buffer(id, d, BufferKind::HttpProtocol, v);
            }
            sink.buffer(id, d, BufferKind::HttpRequestLine, line);
            let host_raw = uri_authority(raw_uri)
                .map(<[u8]>::to_vec)
                .or_else(|| header(&hdrs, b"host").map(<[u8]>::to_vec));
            if let Some(h) = &host_raw {
                sink.buffer(id, d, BufferKind::HttpHostRaw, h);
                sink.buffer(id, d, BufferKind::HttpHost, &normalize_host(h));
            }
            header_buffers(id, d, &hdrs, rest, sink);
        }
        let mut rec = HttpRecord {
            trans_depth: self.depth,
            method: Some(trunc(method, 64)),
            uri: Some(trunc(&uri, MAX_URI)),
            version: version.map(|v| v.trim_start_matches("HTTP/").to_string()),
            host: get(&fields, "host"),
            user_agent: get(&fields, "user-agent"),
            referrer: get(&fields, "referer"),
            origin: get(&fields, "origin"),
            request_content_type: get(&fields, "content-type"),
            weird: w,
            ..Default::default()
        };
        // RFC 7617 §2: credentials = "Basic" SP base64(user-id ":" password)
        if let Some(a) = field(&fields, "authorization") {
            let mut it = a.split_whitespace();
            if it.next().is_some_and(|s| s.eq_ignore_ascii_case("basic")) {
                match it.next().and_then(|c| b64(c.as_bytes())) {
                    Some(d) => {
                        let user = d.split(|&b| b == b':').next().unwrap_or(&[]);
                        rec.username = Some(trunc(&String::from_utf8_lossy(user), 256));
                    }
                    None => weird(&mut rec.weird, "bad_basic_auth"),
                }
            }
        }
        rec.proxied = proxied(&fields);
        let mut tx = Tx {
            head: method.eq_ignore_ascii_case("HEAD"),
            connect: method.eq_ignore_ascii_case("CONNECT"),
            upgrade: field(&fields, "upgrade").map(|u| u.to_ascii_lowercase()),
            uri_name: uri_file_name(&uri),
            ..Tx::new(self.serial, sink.ts_ns(), rec)
        };
        // RFC 9113 §3.4: the HTTP/2 preface "PRI * HTTP/2.0" — not HTTP/1.
        if method == "PRI" && version == Some("HTTP/2.0") {
            tx.rec.tags.push("h2_prior_knowledge".into());
            tx.req_done = true;
            tx.resp_done = true;
            tx.has_resp = true;
            self.req.st = St::Tunnel;
            self.resp.st = St::Tunnel;
            self.push_tx(tx, sink);
            sink.tx_done(id, d);
            self.emit_ready(sink);
            return;
        }
        if tx.connect {
            // RFC 9110 §9.3.6: after a 2xx the connection is a tunnel; the
            // client's next bytes are already the tunnelled protocol.
            tx.rec.tags.push("connect".into());
            tx.req_done = true;
            self.req.st = St::Tunnel;
            self.push_tx(tx, sink);
            sink.tx_done(id, d);
            return;
        }
        let framing = match request_framing(&fields, &mut tx.rec.weird) {
            Ok(f) => f,
            Err(()) => {
                tx.req_done = true;
                self.push_tx(tx, sink);
                sink.tx_done(id, d);
                self.req.st = St::Resync;
                self.req.line_start = true;
                return;
            }
        };
        tx.rec.request_transfer_encoding = get(&fields, "transfer-encoding");
        tx.rec.request_content_encoding = get(&fields, "content-encoding");
        let serial = tx.serial;
        match framing {
            None => {
                tx.req_done = true;
                self.push_tx(tx, sink);
                sink.tx_done(id, d);
            }
            Some(f) => {
                let (coding, meta) =
                    body_setup(&fields, Direction::ToServer, None, &f, &mut tx.rec, id);
                self.push_tx(tx, sink);
                self.req.st = St::Body(Box::new(new_body(serial, f, coding, meta)));
            }
        }
    }

    /// RFC 1945 §4.1: `Simple-Request = "GET" SP Request-URI CRLF`, made
    /// by an HTTP/0.9 client; the server answers with the entity body
    /// alone and closes (§6: "Simple-Response = [ Entity-Body ]"). Logged
    /// with version "0.9", as Zeek does.
    fn simple_request_head(&mut self, line: &[u8], sink: &mut dyn Sink) {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let uri = String::from_utf8_lossy(line.get(4..).unwrap_or(&[])).into_owned();
        self.serial += 1;
        self.depth += 1;
        let rec = HttpRecord {
            trans_depth: self.depth,
            method: Some("GET".into()),
            uri: Some(trunc(&uri, MAX_URI)),
            version: Some("0.9".into()),
            weird: std::mem::take(&mut self.conn_weird),
            ..Default::default()
        };
        let tx = Tx {
            req_done: true,
            uri_name: uri_file_name(&uri),
            v09: true,
            ..Tx::new(self.serial, sink.ts_ns(), rec)
        };
        let (id, d) = (self.serial - 1, Direction::ToServer);
        let target = line.get(4..).unwrap_or(&[]);
        if sink.wants_buffers() {
            sink.buffer(id, d, BufferKind::HttpMethod, b"GET");
            sink.buffer(id, d, BufferKind::HttpUriRaw, target);
            sink.buffer(id, d, BufferKind::HttpUri, &normalize_uri(target));
            sink.buffer(id, d, BufferKind::HttpRequestLine, line);
        }
        self.push_tx(tx, sink);
        sink.tx_done(id, d);
    }

    /// The server's first bytes are no status line and the request waiting
    /// for them was HTTP/0.9: they are its Simple-Response, a body that
    /// ends with the connection (RFC 1945 §6). Returns whether it was so.
    fn v09_response(&mut self, sink: &mut dyn Sink) -> bool {
        let Some(tx) = self.txs.iter_mut().find(|t| !t.has_resp) else {
            return false;
        };
        if !tx.v09 {
            return false;
        }
        tx.has_resp = true;
        let serial = tx.serial;
        let framing = Framing::Close;
        let (coding, meta) = body_setup(
            &[],
            Direction::ToClient,
            tx.uri_name.clone(),
            &framing,
            &mut tx.rec,
            serial - 1,
        );
        let pre = std::mem::take(&mut self.resp.buf);
        self.resp.scan = 0;
        self.resp.nls = [0, 0];
        self.resp.st = St::Body(Box::new(new_body(serial, framing, coding, meta)));
        if !pre.is_empty() {
            self.body(Direction::ToClient, &pre, sink);
        }
        true
    }

    fn push_tx(&mut self, tx: Tx, sink: &mut dyn Sink) {
        if self.txs.len() >= MAX_PENDING {
            if let Some(mut old) = self.txs.pop_front() {
                weird(&mut old.rec.weird, "too_many_pending_requests");
                emit(old, sink);
            }
        }
        self.txs.push_back(tx);
    }

    fn response_head(&mut self, block: &[u8], sink: &mut dyn Sink) {
        // libhtp's response side: a bare CR ends a line too.
        let (line, rest) = headers::split_first_line(block, true);
        let mut w = std::mem::take(&mut self.conn_weird);
        // RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ]
        // Read as libhtp does: any white space separates, a missing or bad
        // code leaves the status unknown and the message is still parsed.
        let (ver_tok, after) = next_token(line);
        let version = String::from_utf8_lossy(ver_tok.get(5..).unwrap_or(&[])).into_owned();
        let (code_tok, after) = next_token(after);
        let code = std::str::from_utf8(code_tok)
            .ok()
            .filter(|c| c.len() == 3)
            .and_then(|c| c.parse::<u16>().ok())
            .filter(|c| (100..=999).contains(c));
        let reason = String::from_utf8_lossy(headers::trim_ws(after)).into_owned();
        let hdrs = headers::parse(rest, true, &mut w);
        let fields = headers::as_fields(&hdrs);
        if code.is_none() {
            weird(&mut w, "bad_status_line");
        }
        let idx = match self.txs.iter().position(|t| !t.has_resp) {
            Some(i) => i,
            None => {
                // A response without a request (capture picked the flow up
                // late, or the request was lost in a gap).
                self.serial += 1;
                self.depth += 1;
                let rec = HttpRecord {
                    trans_depth: self.depth,
                    version: Some(version.clone()),
                    tags: vec!["no_request".into()],
                    ..Default::default()
                };
                let tx = Tx {
                    req_done: true,
                    ..Tx::new(self.serial, sink.ts_ns(), rec)
                };
                self.push_tx(tx, sink);
                self.txs.len() - 1
            }
        };
        let Some(tx) = self.txs.get_mut(idx) else {
            return;
        };
        for x in w {
            weird(&mut tx.rec.weird, &x);
        }
        // RFC 9110 §15.2: 1xx are interim; the final response follows
        // (except 101, which ends HTTP/1 on this connection).
        if let Some(c) = code.filter(|c| (100..200).contains(c) && *c != 101) {
            tx.rec.info_code = Some(c);
            tx.rec.info_msg = Some(trunc(&reason, MAX_STR));
            return;
        }
        let (id, d) = (tx.serial - 1, Direction::ToClient);
        if code.is_some() {
            sink.buffer(id, d, BufferKind::HttpStatCode, code_tok);
        }
        if sink.wants_buffers() {
            sink.buffer(id, d, BufferKind::HttpStatMsg, reason.as_bytes());
            sink.buffer(id, d, BufferKind::HttpResponseLine, line);
            sink.buffer(id, d, BufferKind::HttpProtocol, ver_tok);
            header_buffers(id, d, &hdrs, rest, sink);
        }
        tx.has_resp = true;
        tx.rec.status_code = code;
        tx.rec.status_msg = Some(trunc(&reason, MAX_STR));
        tx.rec.response_content_type = get(&fields, "content-type");
        let serial = tx.serial;
        let code = code.unwrap_or(0);
        if code == 101 {
            // RFC 9110 §15.2.2 / §7.8: the protocol named in Upgrade takes
            // over right after this response's empty line.
            let up = field(&fields, "upgrade")
                .map(|u| u.to_ascii_lowercase())
                .or(tx.upgrade.clone())
                .unwrap_or_default();
            let tag = if up.contains("websocket") {
                "websocket"
            } else if up.contains("h2c") {
                "h2c"
            } else {
                "upgrade"
            };
            tx.rec.tags.push(tag.into());
            tx.resp_done = true;
            self.req.st = St::Tunnel;
            self.resp.st = St::Tunnel;
            sink.tx_done(id, d);
            self.emit_ready(sink);
            return;
        }
        if tx.connect {
            if (200..300).contains(&code) {
                // RFC 9110 §9.3.6: "Any 2xx (Successful) response indicates
                // that the sender (and all inbound proxies) will switch to
                // tunnel mode immediately after the response header section".
                tx.resp_done = true;
                self.resp.st = St::Tunnel;
                sink.tx_done(id, d);
                self.emit_ready(sink);
                return;
            }
            // Refused: the client goes on with HTTP.
            self.req.st = St::Resync;
            self.req.line_start = true;
        }
        // RFC 9112 §6.3 item 1: "Any response to a HEAD request and any
        // response with a 1xx (Informational), 204 (No Content), or 304
        // (Not Modified) status code is always terminated by the first
        // empty line after the header fields". A 204 must not carry
        // Content-Length or Transfer-Encoding (RFC 9110 §8.6, RFC 9112
        // §6.1); when it does, browsers and libhtp read the body it
        // announces (http-evader "204;chunked"). A 304's Content-Length is
        // the selected representation's: no body.
        let announced = field(&fields, "transfer-encoding").is_some()
            || content_length(&fields).is_some_and(|c| c != Ok(0));
        if tx.head || code == 304 || (code == 204 && !announced) {
            tx.resp_done = true;
            sink.tx_done(id, d);
            self.emit_ready(sink);
            return;
        }
        if code == 204 {
            weird(&mut tx.rec.weird, "body_in_204");
        }
        tx.rec.response_transfer_encoding = get(&fields, "transfer-encoding");
        tx.rec.response_content_encoding = get(&fields, "content-encoding");
        let framing = response_framing(&fields, &mut tx.rec.weird);
        if let Framing::Length(0) = framing {
            tx.resp_done = true;
            sink.tx_done(id, d);
            self.emit_ready(sink);
            return;
        }
        let uri_name = tx.uri_name.clone();
        let (coding, meta) = body_setup(
            &fields,
            Direction::ToClient,
            uri_name,
            &framing,
            &mut tx.rec,
            id,
        );
        self.resp.st = St::Body(Box::new(new_body(serial, framing, coding, meta)));
    }

    /// Consume body bytes of `dir`; returns how many.
    fn body(&mut self, dir: Direction, data: &[u8], sink: &mut dyn Sink) -> usize {
        let side = match dir {
            Direction::ToServer => &mut self.req,
            Direction::ToClient => &mut self.resp,
        };
        let St::Body(b) = &mut side.st else {
            return 0;
        };
        let mut used = 0;
        let mut done: Option<bool> = None;
        let mut bad: Option<&'static str> = None;
        while used < data.len() && done.is_none() && bad.is_none() {
            let mut not_chunked: Option<Vec<u8>> = None;
            let rest = data.get(used..).unwrap_or(&[]);
            match &mut b.framing {
                Framing::Length(rem) => {
                    let n = (*rem).min(rest.len() as u64) as usize;
                    *rem -= n as u64;
                    let finished = *rem == 0;
                    deliver(b, rest.get(..n).unwrap_or(&[]), sink);
                    used += n;
                    if finished {
                        done = Some(true);
                    }
                }
                Framing::Close => {
                    deliver(b, rest, sink);
                    used += rest.len();
                }
                Framing::Chunked(ch) => match ch {
                    Chunk::Size(line) => {
                        let nl = rest.iter().position(|&c| c == b'\n');
                        let n = nl.map_or(rest.len(), |i| i + 1);
                        line.extend_from_slice(rest.get(..n).unwrap_or(&[]));
                        used += n;
                        let parsed = match (nl, chunk_line(line)) {
                            (_, ChunkLine::NotChunked) if dir == Direction::ToClient => {
                                Some(ChunkLine::NotChunked)
                            }
                            (Some(_), c) => Some(c),
                            (None, _) => None,
                        };
                        match parsed {
                            // libhtp: a line of white space where a size
                            // should be is skipped (http-evader
                            // "lf-before-chunks").
                            Some(ChunkLine::Blank) => line.clear(),
                            Some(ChunkLine::Size(0)) => {
                                *ch = Chunk::Trailers {
                                    line: Vec::new(),
                                    total: 0,
                                }
                            }
                            Some(ChunkLine::Size(s)) => *ch = Chunk::Data(s),
                            // libhtp and browsers: a response body that
                            // does not start like a chunk is no chunked
                            // body; it is read as it is, to the close.
                            Some(ChunkLine::NotChunked) if dir == Direction::ToClient => {
                                not_chunked = Some(std::mem::take(line));
                            }
                            Some(_) => bad = Some("bad_chunk_size"),
                            None if line.len() > MAX_CHUNK_LINE => {
                                bad = Some("chunk_line_too_long")
                            }
                            None => {}
                        }
                    }
                    Chunk::Data(rem) => {
                        let n = (*rem).min(rest.len() as u64) as usize;
                        *rem -= n as u64;
                        if *rem == 0 {
                            *ch = Chunk::DataEnd { cr: false };
                        }
                        deliver(b, rest.get(..n).unwrap_or(&[]), sink);
                        used += n;
                    }
                    // RFC 9112 §7.1: chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
                    Chunk::DataEnd { cr } => match rest.first() {
                        Some(b'\r') if !*cr => {
                            *cr = true;
                            used += 1;
                        }
                        Some(b'\n') => {
                            *ch = Chunk::Size(Vec::new());
                            used += 1;
                        }
                        _ => {
                            if let Some(tx) = self.txs.iter_mut().find(|t| t.serial == b.tx) {
                                weird(&mut tx.rec.weird, "chunk_missing_crlf");
                            }
                            *ch = Chunk::Size(Vec::new());
                        }
                    },
                    // §7.1.2: trailer-section, then CRLF.
                    Chunk::Trailers { line, total } => {
                        let nl = rest.iter().position(|&c| c == b'\n');
                        let n = nl.map_or(rest.len(), |i| i + 1);
                        line.extend_from_slice(rest.get(..n).unwrap_or(&[]));
                        *total += n;
                        used += n;
                        if nl.is_some() {
                            if line == b"\r\n" || line == b"\n" {
                                done = Some(true);
                            }
                            line.clear();
                        }
                        if *total > MAX_HEAD {
                            bad = Some("trailer_too_large");
                        }
                    }
                },
            }
            if let Some(head) = not_chunked {
                b.framing = Framing::Close;
                if let Some(tx) = self.txs.iter_mut().find(|t| t.serial == b.tx) {
                    weird(&mut tx.rec.weird, "body_not_chunked");
                }
                deliver(b, &head, sink);
            }
        }
        if let Some(w) = bad {
            if let Some(tx) = self.txs.iter_mut().find(|t| t.serial == b.tx) {
                weird(&mut tx.rec.weird, w);
            }
            self.finish_body(dir, false, sink);
            let side = match dir {
                Direction::ToServer => &mut self.req,
                Direction::ToClient => &mut self.resp,
            };
            side.st = St::Resync;
            side.line_start = data.get(used.wrapping_sub(1)) == Some(&b'\n');
        } else if let Some(c) = done {
            self.finish_body(dir, c, sink);
        } else {
            self.flag(dir);
        }
        used
    }

    /// Record a decoder stop (bomb, error) once.
    fn flag(&mut self, dir: Direction) {
        let side = match dir {
            Direction::ToServer => &mut self.req,
            Direction::ToClient => &mut self.resp,
        };
        let St::Body(b) = &mut side.st else {
            return;
        };
        if let (Some(stop), false) = (b.dec.stopped, b.flagged) {
            b.flagged = true;
            let serial = b.tx;
            let w = match stop {
                Stop::Bomb => "decompression_bomb",
                Stop::Error => "content_decoding_error",
            };
            if let Some(tx) = self.txs.iter_mut().find(|t| t.serial == serial) {
                weird(&mut tx.rec.weird, w);
            }
        }
    }

    fn finish_body(&mut self, dir: Direction, complete: bool, sink: &mut dyn Sink) {
        let side = match dir {
            Direction::ToServer => &mut self.req,
            Direction::ToClient => &mut self.resp,
        };
        let st = std::mem::replace(&mut side.st, St::Head);
        let St::Body(mut b) = st else {
            side.st = st;
            return;
        };
        {
            let Body {
                dec,
                file,
                meta,
                carve,
                ..
            } = &mut *b;
            dec.finish(&mut |o| write_file(file, meta, carve, o, sink));
        }
        if let Some(f) = b.file {
            sink.file_close(
                f,
                complete && b.intact && b.carve && b.dec.stopped.is_none(),
            );
        }
        let stopped = b.dec.stopped;
        let len = b.dec.output;
        let serial = b.tx;
        let flagged = b.flagged;
        sink.tx_done(serial - 1, dir);
        let passed = b.dec.passed_through();
        if let Some(tx) = self.tx(serial) {
            if passed {
                weird(&mut tx.rec.weird, "content_decoding_passthrough");
            }
            match dir {
                Direction::ToServer => {
                    tx.rec.request_body_len = len;
                    tx.req_done = true;
                }
                Direction::ToClient => {
                    tx.rec.response_body_len = len;
                    tx.resp_done = true;
                }
            }
            if !complete {
                weird(&mut tx.rec.weird, "truncated_body");
            }
            if let (Some(s), false) = (stopped, flagged) {
                let w = match s {
                    Stop::Bomb => "decompression_bomb",
                    Stop::Error => "content_decoding_error",
                };
                weird(&mut tx.rec.weird, w);
            }
        }
        self.emit_ready(sink);
    }

    fn emit_ready(&mut self, sink: &mut dyn Sink) {
        while self.txs.front().is_some_and(|t| t.req_done && t.resp_done) {
            if let Some(tx) = self.txs.pop_front() {
                emit(tx, sink);
            }
        }
    }
}

fn emit(tx: Tx, sink: &mut dyn Sink) {
    sink.record_at("http", tx.ts, Record::typed(tx.rec));
}

fn new_body(tx: u64, framing: Framing, coding: Vec<Coding>, meta: FileMeta) -> Body {
    Body {
        tx,
        framing,
        dec: Decoder::new(&coding),
        meta: Some(meta),
        file: None,
        carve: true,
        intact: true,
        flagged: false,
    }
}

/// Hand decoded bytes to the file, opening it on the first byte (an empty
/// body is no file).
fn write_file(
    file: &mut Option<FileId>,
    meta: &mut Option<FileMeta>,
    carve: &mut bool,
    o: &[u8],
    sink: &mut dyn Sink,
) {
    if !*carve || o.is_empty() {
        return;
    }
    if file.is_none() {
        match meta.take().and_then(|m| sink.file_open(m)) {
            Some(f) => *file = Some(f),
            None => {
                *carve = false;
                return;
            }
        }
    }
    if let Some(f) = file {
        sink.file_data(*f, o);
    }
}

fn deliver(b: &mut Body, raw: &[u8], sink: &mut dyn Sink) {
    let Body {
        dec,
        file,
        meta,
        carve,
        ..
    } = b;
    dec.feed(raw, &mut |o| write_file(file, meta, carve, o, sink));
    if dec.stopped.is_some() && *carve {
        *carve = false;
        if let Some(f) = file {
            sink.file_close(*f, false);
        }
        *file = None;
    }
}

/// Is `b` the start of a request line (`ToServer`) or status line?
/// `None`: too short to tell.
fn plausible(dir: Direction, b: &[u8]) -> Option<bool> {
    if b.is_empty() {
        return None;
    }
    match dir {
        // libhtp takes any line led by "HTTP/" (case-insensitive) for a
        // status line: "HTTP/2.0 200", "http/1.0 200", "HTTP/1.01".
        Direction::ToClient => {
            const P: &[u8] = b"HTTP/";
            let n = b.len().min(P.len());
            let same = b
                .get(..n)
                .is_some_and(|x| x.eq_ignore_ascii_case(P.get(..n).unwrap_or(&[])));
            if b.len() < P.len() {
                return if same { None } else { Some(false) };
            }
            Some(same)
        }
        Direction::ToServer => {
            let mut maybe = false;
            for m in METHODS.iter().copied().chain([&b"PRI"[..]]) {
                if b.len() > m.len() {
                    if b.starts_with(m) && b.get(m.len()) == Some(&b' ') {
                        return Some(true);
                    }
                } else if m.starts_with(b) {
                    maybe = true;
                }
            }
            if maybe {
                return None;
            }
            super::token_method_line(b)
        }
    }
}

/// Length (with its line end) of an HTTP/0.9 Simple-Request at the start
/// of `b` (RFC 1945 §4.1: `"GET" SP Request-URI CRLF`, no HTTP-Version),
/// once its line is complete. A line with a version, or another method, is
/// not one.
fn simple_request(b: &[u8]) -> Option<usize> {
    let rest = b.strip_prefix(b"GET ")?;
    let nl = rest.iter().position(|&c| c == b'\n')?;
    let line = rest.get(..nl)?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() || !line.iter().all(|&c| (0x21..0x7f).contains(&c)) {
        return None;
    }
    Some(4 + nl + 1)
}

/// Where to pick a stream up again after lost bytes: a start line, or
/// the start of a known method (or of "HTTP/1.") cut by the chunk's end. A
/// line led by an unknown token counts only when seen whole with its
/// version (body text is full of "Word word" lines).
fn resync_at(dir: Direction, rest: &[u8]) -> bool {
    match plausible(dir, rest) {
        Some(ok) => ok,
        None => {
            dir == Direction::ToClient
                || METHODS
                    .iter()
                    .any(|m| rest.len() < m.len() && m.starts_with(rest))
        }
    }
}

/// End of a header block: index just past "\n\r\n" or "\n\n".
fn head_end(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(p) = b.get(i..).and_then(|r| r.iter().position(|&c| c == b'\n')) {
        let nl = i + p;
        match (b.get(nl + 1), b.get(nl + 2)) {
            (Some(b'\n'), _) => return Some(nl + 2),
            (Some(b'\r'), Some(b'\n')) => return Some(nl + 3),
            _ => {}
        }
        i = nl + 1;
    }
    None
}

/// The first white-space-separated token of `b` and what follows it.
fn next_token(b: &[u8]) -> (&[u8], &[u8]) {
    let s = b
        .iter()
        .position(|&c| !headers::is_ws(c))
        .unwrap_or(b.len());
    let b = b.get(s..).unwrap_or(&[]);
    let e = b.iter().position(|&c| headers::is_ws(c)).unwrap_or(b.len());
    (b.get(..e).unwrap_or(&[]), b.get(e..).unwrap_or(&[]))
}

/// The request-target of a request line as sent: between the method and
/// the version (RFC 9112 §3), spaces inside kept.
fn request_target(line: &[u8], has_version: bool) -> &[u8] {
    let (_, rest) = next_token(line);
    let mut t = headers::trim_ws(rest);
    if has_version {
        if let Some(sp) = t.iter().rposition(|&c| c == b' ') {
            t = headers::trim_ws(t.get(..sp).unwrap_or(&[]));
        }
    }
    t
}

/// The authority of an absolute-form request-target (RFC 9112 §3.2.2:
/// `http://host:port/path`), if it is one.
fn uri_authority(target: &[u8]) -> Option<&[u8]> {
    split_absolute(target).map(|(a, _)| a)
}

/// An absolute-form target's authority (without userinfo) and the rest
/// (path and query).
fn split_absolute(target: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = target.iter().position(|&c| c == b':')?;
    let scheme = target.get(..colon)?;
    if scheme.is_empty()
        || !scheme
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(c))
    {
        return None;
    }
    let rest = target.get(colon + 1..)?.strip_prefix(b"//")?;
    let end = rest
        .iter()
        .position(|&c| c == b'/' || c == b'?' || c == b'#')
        .unwrap_or(rest.len());
    let auth = rest.get(..end)?;
    let after = rest.get(end..).unwrap_or(&[]);
    // RFC 3986 §3.2.1: userinfo "@" is not part of the host.
    let host = match auth.iter().rposition(|&c| c == b'@') {
        Some(at) => auth.get(at + 1..).unwrap_or(&[]),
        None => auth,
    };
    Some((host, after))
}

/// `http.host`: the host lower-cased, without the port (an IPv6 literal
/// keeps its brackets).
fn normalize_host(h: &[u8]) -> Vec<u8> {
    let h = headers::trim_ws(h);
    let host = if h.first() == Some(&b'[') {
        match h.iter().position(|&c| c == b']') {
            Some(e) => h.get(..=e).unwrap_or(h),
            None => h,
        }
    } else {
        match h.iter().rposition(|&c| c == b':') {
            Some(c) => h.get(..c).unwrap_or(h),
            None => h,
        }
    };
    let host = host.strip_suffix(b".").unwrap_or(host);
    host.to_ascii_lowercase()
}

/// `http.uri`, normalized as libhtp does for Suricata: the scheme and
/// authority of an absolute URI removed (RFC 9112 §3.2.2); in the path,
/// percent-encoded octets decoded (RFC 3986 §2.1) unless they encode a
/// delimiter ("/", "?", "#", "%") or a control or non-ASCII byte, then
/// "//" collapsed and the "." and ".." segments removed (RFC 3986
/// §5.2.4 remove_dot_segments); the query kept as sent.
fn normalize_uri(target: &[u8]) -> Vec<u8> {
    let mut t = target;
    if let Some((_, rest)) = split_absolute(t) {
        if rest.is_empty() {
            return b"/".to_vec();
        }
        t = rest;
    }
    let q = t.iter().position(|&c| c == b'?').unwrap_or(t.len());
    let (path, query) = (t.get(..q).unwrap_or(&[]), t.get(q..).unwrap_or(&[]));
    let mut dec = Vec::with_capacity(path.len());
    let mut i = 0;
    while let Some(&c) = path.get(i) {
        let hex = |x: Option<&u8>| x.and_then(|&h| (h as char).to_digit(16));
        if c == b'%' {
            if let (Some(h), Some(l)) = (hex(path.get(i + 1)), hex(path.get(i + 2))) {
                let v = (h * 16 + l) as u8;
                if (0x21..0x7f).contains(&v) && !b"/?#%".contains(&v) {
                    dec.push(v);
                    i += 3;
                    continue;
                }
            }
        }
        dec.push(c);
        i += 1;
    }
    let mut segs: Vec<&[u8]> = Vec::new();
    let absolute = dec.first() == Some(&b'/');
    let trailing = dec.ends_with(b"/") || dec.ends_with(b"/.") || dec.ends_with(b"/..");
    for seg in dec.split(|&c| c == b'/') {
        match seg {
            b"" | b"." => {}
            b".." => {
                segs.pop();
            }
            s => segs.push(s),
        }
    }
    let mut out = Vec::with_capacity(t.len());
    if absolute {
        out.push(b'/');
    }
    out.extend_from_slice(&segs.join(&b'/'));
    if trailing && !segs.is_empty() {
        out.push(b'/');
    }
    out.extend_from_slice(query);
    out
}

/// Tokens joined by one space; borrowed when there is one (the request
/// target of a well-formed request line).
fn join_tokens<'a>(t: &[&'a str]) -> std::borrow::Cow<'a, str> {
    match t {
        [one] => (*one).into(),
        _ => t.join(" ").into(),
    }
}

/// First value of header `name` (ASCII case-insensitive).
fn header<'a>(h: &'a [Header<'_>], name: &[u8]) -> Option<&'a [u8]> {
    h.iter()
        .find(|f| f.name.eq_ignore_ascii_case(name))
        .map(|f| &*f.value)
}

/// The header buffers of one message (both directions): `http.header`
/// in Suricata's form (`Name: value\r\n` per field, folded lines joined,
/// without Cookie / Set-Cookie), `http.header.raw` (the section as
/// received), `http.cookie`, `http.user_agent`, `http.content_type`,
/// `http.content_len`.
fn header_buffers(id: u64, d: Direction, h: &[Header<'_>], raw: &[u8], sink: &mut dyn Sink) {
    let cookie: &[u8] = match d {
        Direction::ToServer => b"cookie",
        Direction::ToClient => b"set-cookie",
    };
    let mut norm = Vec::new();
    let mut cookies: Vec<&[u8]> = Vec::new();
    for f in h {
        if f.name.eq_ignore_ascii_case(cookie) {
            cookies.push(&f.value[..]);
            continue;
        }
        norm.extend_from_slice(&f.name);
        norm.extend_from_slice(b": ");
        norm.extend_from_slice(&f.value);
        norm.extend_from_slice(b"\r\n");
    }
    if !norm.is_empty() {
        sink.buffer(id, d, BufferKind::HttpHeader, &norm);
    }
    if !raw.is_empty() {
        sink.buffer(id, d, BufferKind::HttpHeaderRaw, raw);
    }
    if !cookies.is_empty() {
        sink.buffer(id, d, BufferKind::HttpCookie, &cookies.join(&b"; "[..]));
    }
    for (name, kind) in [
        (&b"user-agent"[..], BufferKind::HttpUserAgent),
        (b"content-type", BufferKind::HttpContentType),
        (b"content-length", BufferKind::HttpContentLen),
    ] {
        if kind == BufferKind::HttpUserAgent && d == Direction::ToClient {
            continue;
        }
        if let Some(v) = header(h, name) {
            sink.buffer(id, d, kind, v);
        }
    }
}

fn get(fields: &[Field<'_>], name: &str) -> Option<String> {
    field(fields, name).map(|v| trunc(v, MAX_STR))
}

fn proxied(fields: &[Field<'_>]) -> Vec<String> {
    const NAMES: &[&str] = &[
        "forwarded",
        "x-forwarded-for",
        "x-real-ip",
        "client-ip",
        "via",
    ];
    fields
        .iter()
        .filter(|f| NAMES.iter().any(|n| f.is(n)))
        .take(8)
        .map(|f| {
            format!(
                "{} -> {}",
                f.name.to_ascii_uppercase(),
                trunc(&f.value, 256)
            )
        })
        .collect()
}

/// What a chunk-size line holds.
#[derive(Debug, PartialEq, Eq)]
enum ChunkLine {
    Size(u64),
    /// Only white space.
    Blank,
    /// No hex digit where the size should start.
    NotChunked,
    /// A size that does not fit 64 bits.
    Bad,
}

/// RFC 9112 §7.1: `chunk-size = 1*HEXDIG`, then `*( BWS ";" BWS
/// chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )` (ignored). Read as
/// libhtp and browsers do: white space and control bytes before the size
/// are skipped and whatever follows its digits is ignored ("fx", "f\x0b",
/// "\x0bf" are all 15).
fn chunk_line(line: &[u8]) -> ChunkLine {
    let start = line
        .iter()
        .position(|&c| !(headers::is_ws(c) || c < 0x20))
        .unwrap_or(line.len());
    let l = line.get(start..).unwrap_or(&[]);
    let n = l.iter().take_while(|c| c.is_ascii_hexdigit()).count();
    if n == 0 {
        return if l.is_empty() {
            ChunkLine::Blank
        } else {
            ChunkLine::NotChunked
        };
    }
    let digits = l.get(..n).unwrap_or(&[]);
    let zeros = digits.iter().take_while(|&&c| c == b'0').count();
    let sig = digits.get(zeros..).unwrap_or(&[]);
    if sig.len() > 16 {
        return ChunkLine::Bad;
    }
    match std::str::from_utf8(sig).ok().map(|s| {
        if s.is_empty() {
            Ok(0)
        } else {
            u64::from_str_radix(s, 16)
        }
    }) {
        Some(Ok(v)) => ChunkLine::Size(v),
        _ => ChunkLine::Bad,
    }
}

/// RFC 9110 §8.6: `Content-Length = 1*DIGIT`; a list of identical values
/// may be treated as one (RFC 9112 §6.3 item 5). `Err` when invalid.
fn content_length(fields: &[Field<'_>]) -> Option<Result<u64, ()>> {
    let mut val: Option<u64> = None;
    for f in fields.iter().filter(|f| f.is("content-length")) {
        for part in f.value.split(',') {
            let p = part.trim();
            if p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()) {
                return Some(Err(()));
            }
            let Ok(n) = p.parse::<u64>() else {
                return Some(Err(()));
            };
            match val {
                Some(o) if o != n => return Some(Err(())),
                _ => val = Some(n),
            }
        }
    }
    val.map(Ok)
}

/// The transfer codings (RFC 9112 §6.1), lower-case, in order.
fn transfer_codings(fields: &[Field<'_>]) -> Option<Vec<String>> {
    let v: Vec<String> = fields
        .iter()
        .filter(|f| f.is("transfer-encoding"))
        .flat_map(|f| f.value.split(','))
        .map(|t| {
            t.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|t| !t.is_empty())
        .take(16)
        .collect();
    if v.is_empty() {
        None
    } else {
        Some(v)
    }
}

/// Request framing, RFC 9112 §6.3: `Ok(None)` no body; `Err` unrecoverable
/// framing (resync).
fn request_framing(fields: &[Field<'_>], w: &mut Vec<String>) -> Result<Option<Framing>, ()> {
    let te = transfer_codings(fields);
    let cl = content_length(fields);
    if let Some(te) = te {
        // Item 3: "If a message is received with both a Transfer-Encoding
        // and a Content-Length header field, the Transfer-Encoding
        // overrides the Content-Length" — and is a smuggling sign.
        if cl.is_some() {
            weird(w, "both_transfer_encoding_and_content_length");
        }
        // Item 4: "If a Transfer-Encoding header field is present in a
        // request and the chunked transfer coding is not the final
        // encoding, the message body length cannot be determined
        // reliably; the server MUST respond with the 400 (Bad Request)
        // status code and then close the connection."
        if te.last().map(String::as_str) == Some("chunked") {
            return Ok(Some(Framing::Chunked(Chunk::Size(Vec::new()))));
        }
        weird(w, "request_transfer_encoding_not_chunked");
        return Err(());
    }
    match cl {
        // Item 5: an invalid Content-Length in a request is an
        // unrecoverable error.
        Some(Err(())) => {
            weird(w, "bad_content_length");
            Err(())
        }
        Some(Ok(0)) => Ok(None),
        Some(Ok(n)) => Ok(Some(Framing::Length(n))),
        // Item 7: "If this is a request message and none of the above are
        // true, then the message body length is zero".
        None => Ok(None),
    }
}

/// Response framing, RFC 9112 §6.3 (after the no-body cases of item 1).
fn response_framing(fields: &[Field<'_>], w: &mut Vec<String>) -> Framing {
    let cl = content_length(fields);
    if fields.iter().any(|f| f.is("transfer-encoding")) {
        let te = transfer_codings(fields).unwrap_or_default();
        if cl.is_some() {
            weird(w, "both_transfer_encoding_and_content_length");
        }
        if te.last().map(String::as_str) == Some("chunked") {
            return Framing::Chunked(Chunk::Size(Vec::new()));
        }
        // Item 4: "If a Transfer-Encoding header field is present in a
        // response and the chunked transfer coding is not the final
        // encoding, the message body length is determined by reading the
        // connection until it is closed by the server." Browsers and libhtp
        // de-chunk whenever "chunked" appears in the value at all
        // (http-evader: "chunkedx", "\x00chunked", "lalala" headers
        // around a "chunked" one); a body that is not chunked after all
        // falls back to the connection's close (see `Chunk::Size`).
        let chunked = fields
            .iter()
            .filter(|f| f.is("transfer-encoding"))
            .any(|f| f.value.to_ascii_lowercase().contains("chunked"));
        if chunked {
            weird(w, "chunked_not_final_coding");
            return Framing::Chunked(Chunk::Size(Vec::new()));
        }
        return Framing::Close;
    }
    match cl {
        Some(Ok(n)) => Framing::Length(n),
        // Item 5: invalid Content-Length in a response: "the recipient
        // MUST ... discard the message and close the connection" — we read
        // to the close.
        Some(Err(())) => {
            weird(w, "bad_content_length");
            Framing::Close
        }
        // Item 8: read until the connection closes.
        None => Framing::Close,
    }
}

/// The body's content decoder and its file description.
fn body_setup(
    fields: &[Field<'_>],
    dir: Direction,
    uri_name: Option<String>,
    framing: &Framing,
    rec: &mut HttpRecord,
    tx: u64,
) -> (Vec<Coding>, FileMeta) {
    // RFC 9110 §8.4: Content-Encoding lists codings in the order applied
    // (the header may repeat, §5.3); transfer codings other than chunked
    // (RFC 9112 §7) were applied after them. Read leniently, as libhtp and
    // browsers do: junk around a coding name ("\xa0gzip", "deflate;", "x
    // gzip") does not hide it.
    let mut unknown = false;
    let mut codings: Vec<Coding> = Vec::new();
    for name in ["content-encoding", "transfer-encoding"] {
        for f in fields.iter().filter(|f| f.is(name)) {
            for word in f
                .value
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .filter(|w| !w.is_empty())
                .take(16)
            {
                match Coding::parse(word) {
                    Some(Coding::Identity) => {}
                    Some(c) => codings.push(c),
                    None if word.eq_ignore_ascii_case("chunked") => {}
                    None => unknown = true,
                }
            }
        }
    }
    if unknown {
        weird(&mut rec.weird, "unsupported_content_encoding");
    }
    if codings.len() > MAX_LAYERS {
        weird(&mut rec.weird, "too_many_content_codings");
    }
    // RFC 6266 §4.1: filename / filename* (RFC 8187) parameters.
    let disp_name = field(fields, "content-disposition").and_then(|d| {
        let (_, p) = parse_params(d);
        p.into_iter()
            .find(|(k, _)| k == "filename")
            .map(|(_, v)| trunc(&decode_words(&v), 512))
    });
    // The log's file names are Content-Disposition's only (as Zeek's
    // orig_filenames / resp_filenames); the URI's last segment still names
    // the carved file.
    if let Some(n) = &disp_name {
        let names = match dir {
            Direction::ToServer => &mut rec.orig_filenames,
            Direction::ToClient => &mut rec.resp_filenames,
        };
        if names.len() < 8 {
            names.push(n.clone());
        }
    }
    let name = disp_name.or(uri_name);
    let expected_size = match framing {
        Framing::Length(n) if codings.is_empty() => Some(*n),
        _ => None,
    };
    let declared_mime = field(fields, "content-type")
        .map(|c| parse_params(c).0)
        .filter(|c| !c.is_empty());
    (
        codings,
        FileMeta {
            source: "HTTP",
            name,
            declared_mime,
            dir: Some(dir),
            expected_size,
            tx: Some(tx),
            origin: rec.host.clone(),
            mail_body: false,
        },
    )
}

/// The URI's last path segment when it looks like a file name
/// (`name.ext`, a short alphanumeric extension).
fn uri_file_name(uri: &str) -> Option<String> {
    let path = uri.split(['?', '#']).next().unwrap_or("");
    let seg = path.rsplit('/').next().unwrap_or("");
    let (stem, ext) = seg.rsplit_once('.')?;
    if stem.is_empty()
        || ext.is_empty()
        || ext.len() > 8
        || !ext.bytes().all(|c| c.is_ascii_alphanumeric())
    {
        return None;
    }
    let bytes: Vec<u8> = {
        // RFC 3986 §2.1 percent-encoding.
        let b = seg.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while let Some(&c) = b.get(i) {
            let hex = |x: Option<&u8>| x.and_then(|&h| (h as char).to_digit(16));
            if c == b'%' {
                if let (Some(h), Some(l)) = (hex(b.get(i + 1)), hex(b.get(i + 2))) {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
            }
            out.push(c);
            i += 1;
        }
        out
    };
    Some(trunc(&String::from_utf8_lossy(&bytes), 256))
}

impl Parser for HttpParser {
    fn on_data(&mut self, dir: Direction, data: &[u8], sink: &mut dyn Sink) {
        self.feed(dir, data, sink);
    }

    /// Both directions' partial heads and body states (chunk lines,
    /// content decoders), and the transactions waiting for their response
    /// with the strings of their records.
    fn buffered(&self) -> usize {
        self.req.buffered()
            + self.resp.buffered()
            + self.txs.capacity() * std::mem::size_of::<Tx>()
            + self.txs.iter().map(Tx::heap).sum::<usize>()
            + strs_heap(&self.conn_weird)
    }

    fn on_gap(&mut self, dir: Direction, len: u64, sink: &mut dyn Sink) {
        let side = match dir {
            Direction::ToServer => &mut self.req,
            Direction::ToClient => &mut self.resp,
        };
        match &mut side.st {
            St::Tunnel => {}
            St::Body(b) => {
                // Inside a body whose end is still ahead: count the hole,
                // the file is cut.
                let inside = match &mut b.framing {
                    Framing::Length(rem) if len < *rem => {
                        *rem -= len;
                        true
                    }
                    Framing::Chunked(Chunk::Data(rem)) if len < *rem => {
                        *rem -= len;
                        true
                    }
                    Framing::Close => true,
                    _ => false,
                };
                if inside {
                    b.intact = false;
                    if b.carve {
                        b.carve = false;
                        if let Some(f) = b.file.take() {
                            sink.file_close(f, false);
                        }
                    }
                    let serial = b.tx;
                    if let Some(tx) = self.tx(serial) {
                        weird(&mut tx.rec.weird, "body_gap");
                    }
                } else {
                    self.finish_body(dir, false, sink);
                    weird(&mut self.conn_weird, "gap_resync");
                    let side = match dir {
                        Direction::ToServer => &mut self.req,
                        Direction::ToClient => &mut self.resp,
                    };
                    side.st = St::Resync;
                    side.line_start = false;
                }
            }
            St::Head | St::Resync => {
                // A response head cut by the gap is lost with it.
                let cut_head = matches!(side.st, St::Head) && !side.buf.is_empty();
                side.buf = Vec::new();
                side.scan = 0;
                side.nls = [0, 0];
                side.st = St::Resync;
                side.line_start = false;
                if cut_head && dir == Direction::ToClient {
                    self.lose_response("gap_resync", sink);
                } else {
                    weird(&mut self.conn_weird, "gap_resync");
                }
            }
        }
    }

    fn on_end(&mut self, sink: &mut dyn Sink) {
        // A response head cut by the connection's close (`HTTP/1.0 200
        // OK\r\nServer: x\r\n` then FIN): libhtp takes the close as the
        // end of the header block, and a close-delimited body of nothing
        // follows. Only a head that already has its status line and ends
        // at a line end is completed this way.
        if matches!(self.resp.st, St::Head)
            && self.resp.buf.starts_with(b"HTTP/")
            && self.resp.buf.ends_with(b"\n")
            && self.resp.buf.len() < 64 * 1024
        {
            self.on_data(Direction::ToClient, b"\r\n", sink);
        }
        for dir in [Direction::ToServer, Direction::ToClient] {
            let side = match dir {
                Direction::ToServer => &mut self.req,
                Direction::ToClient => &mut self.resp,
            };
            if let St::Body(b) = &side.st {
                // RFC 9112 §6.3 item 8: a close-delimited body ends with
                // the connection; any other one is cut.
                let complete = matches!(b.framing, Framing::Close);
                self.finish_body(dir, complete, sink);
            }
        }
        let w = std::mem::take(&mut self.conn_weird);
        if self.txs.is_empty() && !w.is_empty() {
            // Anomalies of bytes that never made a transaction (garbage, an
            // over-long header block): one record carries them.
            self.depth += 1;
            let rec = HttpRecord {
                trans_depth: self.depth,
                tags: vec!["unparsed".into()],
                weird: w,
                ..Default::default()
            };
            sink.record("http", Record::typed(rec));
            return;
        }
        let n = self.txs.len();
        for (i, mut tx) in std::mem::take(&mut self.txs).into_iter().enumerate() {
            if !tx.has_resp && !tx.rec.tags.iter().any(|t| t == "h2_prior_knowledge") {
                tx.rec.tags.push("no_response".into());
            }
            if i + 1 == n {
                for x in &w {
                    weird(&mut tx.rec.weird, x);
                }
            }
            emit(tx, sink);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::replay::{chunks, replay, replay_bytewise};
    use md5::{Digest, Md5};
    use netsift_proto::MemSink;
    use Direction::{ToClient, ToServer};

    fn md5(b: &[u8]) -> String {
        Md5::digest(b).iter().map(|x| format!("{x:02x}")).collect()
    }

    /// Replayed in whole chunks and byte by byte: identical output.
    fn both(d: &[u8]) -> MemSink {
        let s = replay(d, &mut HttpParser::new());
        let s1 = replay_bytewise(d, &mut HttpParser::new());
        assert_eq!(s1.records, s.records);
        assert_eq!(s1.files, s.files);
        assert_eq!(s1.buffers, s.buffers);
        assert_eq!(s1.tx_done, s.tx_done);
        s
    }

    /// testdata/make-pipelined.sh: three requests in one segment to nginx
    /// (a POST with a body and a Cookie, an absolute-form GET with dot
    /// segments and percent-encoding, a GET of a missing file), answered
    /// in order. Each transaction's sticky buffers, its bodies tied to it,
    /// and each direction done after its body.
    #[test]
    fn pipelined_sticky_buffers() {
        use netsift_proto::BufferKind as K;
        let s = both(include_bytes!("testdata/nginx_pipelined.bin"));
        let one = |tx, d, k| -> Vec<u8> {
            let v = s.bufs(tx, d, k);
            assert_eq!(v.len(), 1, "{tx} {d:?} {k:?}");
            v[0].to_vec()
        };
        assert_eq!(one(0, ToServer, K::HttpMethod), b"POST");
        assert_eq!(one(0, ToServer, K::HttpUri), b"/echo");
        assert_eq!(one(0, ToServer, K::HttpProtocol), b"HTTP/1.1");
        assert_eq!(one(0, ToServer, K::HttpRequestLine), b"POST /echo HTTP/1.1");
        assert_eq!(one(0, ToServer, K::HttpHost), b"example.com");
        assert_eq!(one(0, ToServer, K::HttpHostRaw), b"Example.COM:8091");
        assert_eq!(one(0, ToServer, K::HttpUserAgent), b"pipe/1.0");
        assert_eq!(one(0, ToServer, K::HttpCookie), b"sid=42");
        assert_eq!(one(0, ToServer, K::HttpContentLen), b"11");
        assert_eq!(
            one(0, ToServer, K::HttpHeader),
            b"Host: Example.COM:8091\r\nUser-Agent: pipe/1.0\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n"
        );
        assert!(one(0, ToServer, K::HttpHeaderRaw).starts_with(b"Host: Example.COM:8091\r\n"));
        assert_eq!(
            one(1, ToServer, K::HttpUriRaw),
            b"http://example.com:8091/a/./x/../%62.txt?q=%41"
        );
        assert_eq!(one(1, ToServer, K::HttpUri), b"/a/b.txt?q=%41");
        assert_eq!(one(1, ToServer, K::HttpHostRaw), b"example.com:8091");
        assert_eq!(one(2, ToServer, K::HttpUri), b"/missing.txt");
        assert_eq!(one(0, ToClient, K::HttpStatCode), b"200");
        assert_eq!(one(0, ToClient, K::HttpStatMsg), b"OK");
        assert_eq!(one(0, ToClient, K::HttpResponseLine), b"HTTP/1.1 200 OK");
        assert_eq!(one(1, ToClient, K::HttpContentLen), b"16");
        assert_eq!(one(2, ToClient, K::HttpStatCode), b"404");
        assert_eq!(one(2, ToClient, K::HttpContentType), b"text/html");
        // Bodies: the POST's, then the three responses', each with its tx.
        let tx: Vec<_> = s.files.iter().map(|f| (f.0.tx, f.0.dir)).collect();
        assert_eq!(
            tx,
            [
                (Some(0), Some(ToServer)),
                (Some(0), Some(ToClient)),
                (Some(1), Some(ToClient)),
                (Some(2), Some(ToClient))
            ]
        );
        assert_eq!(s.files[0].1, b"hello=world");
        assert_eq!(
            s.tx_done,
            [
                (0, ToServer),
                (1, ToServer),
                (2, ToServer),
                (0, ToClient),
                (1, ToClient),
                (2, ToClient)
            ]
        );
    }

    #[test]
    fn uri_and_host_normalization() {
        assert_eq!(
            normalize_uri(b"/a//b/./c/../d%2e%41%2F?x=/../"),
            b"/a/b/d.A%2F?x=/../"
        );
        assert_eq!(normalize_uri(b"/../../etc/passwd"), b"/etc/passwd");
        assert_eq!(normalize_uri(b"HTTP://h:1"), b"/");
        assert_eq!(normalize_uri(b"/dir/"), b"/dir/");
        assert_eq!(normalize_uri(b"*"), b"*");
        assert_eq!(normalize_host(b"WWW.Example.com.:8080"), b"www.example.com");
        assert_eq!(normalize_host(b"[::1]:80"), b"[::1]");
        assert_eq!(
            uri_authority(b"http://u:p@h.example/x"),
            Some(&b"h.example"[..])
        );
        assert_eq!(uri_authority(b"/x:y//z"), None);
    }

    // Sizes and MD5s below are those of `tshark --export-objects http`.

    /// http-evader (testdata/evader/README.md): each conversation downloads
    /// the EICAR file with one evasion; libhtp (Suricata) and browsers
    /// decode all of them, so must we: one file, named eicar.txt, holding
    /// the whole EICAR string, whole or byte by byte.
    #[test]
    fn http_evader_bodies() {
        let cases: &[(&str, &[u8])] = &[
            // Chunk sizes with junk after or before the digits.
            ("009 size-x", include_bytes!("testdata/evader/009.bin")),
            ("021 \\013-size", include_bytes!("testdata/evader/021.bin")),
            // Status-line versions libhtp still takes for HTTP.
            ("048 HTTP/2.0", include_bytes!("testdata/evader/048.bin")),
            (
                "052 HTTP/1.01 chunked+clen, body plain",
                include_bytes!("testdata/evader/052.bin"),
            ),
            (
                "374 HTTP/1.1 LF 200",
                include_bytes!("testdata/evader/374.bin"),
            ),
            (
                "377 HTTP/1.1 CR Transfer-Encoding, plain",
                include_bytes!("testdata/evader/377.bin"),
            ),
            (
                "393 status 2\\00000",
                include_bytes!("testdata/evader/393.bin"),
            ),
            (
                "397 HTTP/1.1foobar",
                include_bytes!("testdata/evader/397.bin"),
            ),
            ("469 status 2", include_bytes!("testdata/evader/469.bin")),
            (
                "476 204 with a chunked body",
                include_bytes!("testdata/evader/476.bin"),
            ),
            (
                "491 ' \\r' before the status line",
                include_bytes!("testdata/evader/491.bin"),
            ),
            // Transfer-Encoding variants.
            (
                "060 folded, empty fold",
                include_bytes!("testdata/evader/060.bin"),
            ),
            ("064 chunkedx", include_bytes!("testdata/evader/064.bin")),
            (
                "073 folded, body plain",
                include_bytes!("testdata/evader/073.bin"),
            ),
            (
                "085 xte,chunked,xte + clen",
                include_bytes!("testdata/evader/085.bin"),
            ),
            (
                "094 CR-only line end",
                include_bytes!("testdata/evader/094.bin"),
            ),
            (
                "101 LF before the chunks",
                include_bytes!("testdata/evader/101.bin"),
            ),
            (
                "268 folded line that is a field",
                include_bytes!("testdata/evader/268.bin"),
            ),
            (
                "293 NUL before the colon",
                include_bytes!("testdata/evader/293.bin"),
            ),
            (
                "299 name, fold, colon, fold, value",
                include_bytes!("testdata/evader/299.bin"),
            ),
            ("302 ;chunked", include_bytes!("testdata/evader/302.bin")),
            // Content codings.
            (
                "124 deflate with an empty folded list",
                include_bytes!("testdata/evader/124.bin"),
            ),
            ("126 gzip,gzip", include_bytes!("testdata/evader/126.bin")),
            (
                "131 gzip then deflate headers",
                include_bytes!("testdata/evader/131.bin"),
            ),
            (
                "160 deflate+gzip headers, deflate body",
                include_bytes!("testdata/evader/160.bin"),
            ),
            ("167 'x gzip'", include_bytes!("testdata/evader/167.bin")),
            (
                "200 gzip reserved flag",
                include_bytes!("testdata/evader/200.bin"),
            ),
            (
                "225 gzip bad header CRC",
                include_bytes!("testdata/evader/225.bin"),
            ),
            (
                "335 NUL inside the name",
                include_bytes!("testdata/evader/335.bin"),
            ),
            // Header section ends.
            (
                "424 CRLF SP CRLF CRLF",
                include_bytes!("testdata/evader/424.bin"),
            ),
            ("425 LF HT LF", include_bytes!("testdata/evader/425.bin")),
        ];
        const EICAR: &[u8] =
            b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
        for (name, bytes) in cases {
            let s = both(bytes);
            let hits: Vec<_> = s
                .files
                .iter()
                .filter(|f| f.1.windows(EICAR.len()).any(|w| w == EICAR))
                .collect();
            assert_eq!(hits.len(), 1, "{name}: {:?}", s.files);
            assert_eq!(hits[0].0.name.as_deref(), Some("eicar.txt"), "{name}");
            assert_eq!(hits[0].0.tx, Some(0), "{name}");
        }
    }

    #[test]
    fn chunked_gzip_1kxun() {
        // 1kxun.pcap tcp.stream 1: chunked + gzip JSONP.
        let s = both(include_bytes!("testdata/stream_chunked_gzip.bin"));
        let r = s.log("http");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0]["host"], "jp.kankan.1kxun.mobi");
        assert_eq!(r[0]["response_content_encoding"], "gzip");
        assert_eq!(r[0]["response_transfer_encoding"], "chunked");
        assert_eq!(r[0]["response_body_len"], 1847);
        // No Content-Disposition: no resp_filenames (as Zeek); the carved
        // file is named by the URI.
        assert!(r[0].get("resp_filenames").is_none());
        assert_eq!(s.files[0].0.name.as_deref(), Some("10410.json"));
        assert_eq!(md5(&s.files[0].1), "7f3f07d83d41cc3e0f7df96fa6c2c697");
        assert_eq!(s.files[0].2, Some(true));
    }

    /// crates/cli/tests/edge/http_09_methods.pcap stream 0 (make-edge.sh
    /// http_methods): a client sends RFC 1945's Simple-Request "GET
    /// /hello.txt" with no version; nginx 1.22 answers with the file's
    /// bytes alone and closes. One record, version "0.9" (as Zeek logs
    /// it), no status line to report, the body carved.
    #[test]
    fn http09_simple_request_and_response() {
        let s = both(include_bytes!("testdata/nginx_http09.bin"));
        let r = s.log("http");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0]["method"], "GET");
        assert_eq!(r[0]["uri"], "/hello.txt");
        assert_eq!(r[0]["version"], "0.9");
        assert!(r[0].get("status_code").is_none());
        assert_eq!(r[0]["response_body_len"], 17);
        assert!(r[0].get("weird").is_none(), "{}", r[0]);
        assert!(r[0].get("tags").is_none(), "{}", r[0]);
        assert_eq!(s.files.len(), 1);
        assert_eq!(s.files[0].1, b"hello from nginx\n");
        assert_eq!(s.files[0].0.name.as_deref(), Some("hello.txt"));
        assert_eq!(s.files[0].2, Some(true));
        // A 1.x server may answer a version-less request with a status
        // line all the same: then it is parsed as one.
        let s = run(&[
            (ToServer, b"GET /x\r\n"),
            (
                ToClient,
                b"HTTP/1.0 400 Bad Request\r\nContent-Length: 2\r\n\r\nno",
            ),
        ]);
        let r = s.log("http");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0]["status_code"], 400);
        assert_eq!(r[0]["version"], "0.9");
        // Another method without a version is no Simple-Request (RFC 1945
        // §4.1 allows GET only): it waits for a header section as before.
        let s = run(&[(ToServer, b"POST /x\r\nHost: a\r\n\r\n")]);
        let r = s.log("http");
        assert_eq!(r[0]["method"], "POST");
        assert!(r[0].get("version").is_none());
        assert_eq!(r[0]["weird"][0], "bad_request_line");
    }

    /// crates/cli/tests/edge/http_09_methods.pcap stream 1: methods not in
    /// the known list (RFC 9110 §9.1 "method = token"): QUERY with a
    /// body, PROPFIND, MKCOL, a custom FROBNICATE, each answered 405 by
    /// nginx on one keep-alive connection, then a GET.
    #[test]
    fn token_methods_on_one_connection() {
        let s = both(include_bytes!("testdata/nginx_token_methods.bin"));
        let r = s.log("http");
        let m: Vec<_> = r.iter().map(|x| x["method"].as_str().unwrap()).collect();
        assert_eq!(m, ["QUERY", "PROPFIND", "MKCOL", "FROBNICATE", "GET"]);
        let codes: Vec<_> = r
            .iter()
            .map(|x| x["status_code"].as_u64().unwrap())
            .collect();
        assert_eq!(codes, [405, 405, 405, 405, 200]);
        assert_eq!(r[0]["request_body_len"], 9);
        assert_eq!(r[0]["request_content_type"], "text/plain");
        assert_eq!(r[3]["user_agent"], "edge23");
        assert!(r.iter().all(|x| x.get("weird").is_none()));
        // QUERY's body and the five responses' bodies.
        assert_eq!(s.files.len(), 6);
        assert_eq!(s.files[0].1, b"select *\n");
        // After lost bytes, an unknown token leads a request line only
        // when the whole line with its version is seen: body text ("Dear
        // Sir") is not taken for one.
        let s = run(&[(
            ToServer,
            b"POST /a HTTP/1.1\r\nContent-Length: 100\r\n\r\nDear Sir\r\n",
        )]);
        assert!(resync_at(ToServer, b"QUERY /q HTTP/1.1\r\n"));
        assert!(!resync_at(ToServer, b"Dear Sir and Madam\r\n"));
        assert!(!resync_at(ToServer, b"Dear Sir"));
        assert!(resync_at(ToServer, b"PROPF"));
        assert_eq!(s.log("http").len(), 1);
    }

    /// crates/cli/tests/edge/http_server_only.pcap: curl's two GETs to
    /// nginx with only the server's packets captured. Each response is a
    /// record with the request's fields unset, as Zeek logs a reply with
    /// no request.
    #[test]
    fn responses_without_requests() {
        let s = both(include_bytes!("testdata/nginx_server_only.bin"));
        let r = s.log("http");
        assert_eq!(r.len(), 2);
        for (x, (code, len)) in r.iter().zip([(200, 17), (404, 153)]) {
            assert_eq!(x["status_code"], code);
            assert_eq!(x["response_body_len"], len);
            assert_eq!(x["version"], "1.1");
            assert!(x.get("method").is_none() && x.get("uri").is_none());
            assert_eq!(x["tags"], serde_json::json!(["no_request"]));
        }
        assert_eq!(r[0]["trans_depth"], 1);
        assert_eq!(r[1]["trans_depth"], 2);
        assert_eq!(s.files[0].1, b"hello from nginx\n");
    }

    #[test]
    fn gzip_content_length_1kxun() {
        // 1kxun.pcap tcp.stream 56: Content-Length + gzip, 50205 decoded.
        let s = both(include_bytes!("testdata/stream_gzip_cl.bin"));
        assert_eq!(s.log("http")[0]["response_body_len"], 50205);
        assert_eq!(md5(&s.files[0].1), "d40531c5e99a6f84e42535859476fe35");
        assert_eq!(
            s.files[0].0.declared_mime.as_deref(),
            Some("text/javascript")
        );
    }

    #[test]
    fn expect_100_keepalive_1kxun() {
        // 1kxun.pcap tcp.stream 14: two POSTs with "Expect: 100-continue"
        // on one connection, chunked responses.
        let s = both(include_bytes!("testdata/stream_chunked2.bin"));
        let r = s.log("http");
        assert_eq!(r.len(), 2);
        assert_eq!(r[1]["trans_depth"], 2);
        assert_eq!(r[0]["info_code"], 100);
        assert_eq!(r[0]["info_msg"], "Continue");
        assert_eq!(r[0]["request_body_len"], 445);
        assert_eq!(r[0]["response_body_len"], 5340);
        assert_eq!(r[1]["request_body_len"], 437);
        assert_eq!(r[1]["response_body_len"], 506);
        assert_eq!(s.files.len(), 4);
        assert_eq!(md5(&s.files[0].1), "b8870b0fdf9ffe85a9c759fe915220ca");
        assert_eq!(md5(&s.files[1].1), "5e45eedfb7f8e0b829ee81b36ff2e753");
        assert_eq!(s.files[0].0.dir, Some(ToServer));
    }

    #[test]
    fn basic_auth_user() {
        // http_auth.pcap: "Authorization: Basic dGVzdDpmYWlsMg==" (test:fail2).
        let s = both(include_bytes!("testdata/stream_auth.bin"));
        let r = s.log("http");
        assert_eq!(r[0]["username"], "test");
        assert!(!r[0].to_string().contains("fail2"));
        assert_eq!(r[0]["status_code"], 401);
        assert_eq!(md5(&s.files[0].1), "687776597b9423f31729510ed81c653d");
    }

    #[test]
    fn nginx_keepalive_gzip_chunked() {
        // nginx 1.22 + curl --compressed, one keep-alive connection:
        // big.txt (gzip, chunked), report.pdf (Content-Disposition
        // filename*=UTF-8''r%C3%A9sum%C3%A9.pdf), index.html (gzip), 404.
        let s = both(include_bytes!("testdata/nginx_gzip_chunked.bin"));
        let r = s.log("http");
        assert_eq!(r.len(), 4);
        let depths: Vec<_> = r
            .iter()
            .map(|x| x["trans_depth"].as_u64().unwrap())
            .collect();
        assert_eq!(depths, vec![1, 2, 3, 4]);
        assert_eq!(r[0]["response_body_len"], 122391);
        assert_eq!(md5(&s.files[0].1), "aa2cce7b9a8950d2865722e97aba8773");
        assert_eq!(r[1]["resp_filenames"][0], "résumé.pdf");
        assert_eq!(md5(&s.files[1].1), "877f51a1e1004c2f8ac250c3cf474891");
        assert_eq!(s.files[1].0.expected_size, Some(3016));
        assert_eq!(md5(&s.files[2].1), "db62f4cb4fcc479f95c45e5aa8d2c0be");
        assert_eq!(r[3]["status_code"], 404);
        assert!(s.files.iter().all(|f| f.2 == Some(true)));
    }

    #[test]
    fn nginx_head_304_post() {
        // curl -I, curl -z (304), curl -u alice:secret -d (405).
        let s = both(include_bytes!("testdata/nginx_head_304_post.bin"));
        let r = s.log("http");
        assert_eq!(r.len(), 3);
        assert_eq!(r[0]["method"], "HEAD");
        assert_eq!(r[0]["response_body_len"], 0);
        assert_eq!(r[1]["status_code"], 304);
        assert_eq!(r[2]["method"], "POST");
        assert_eq!(r[2]["username"], "alice");
        assert_eq!(r[2]["proxied"][0], "X-FORWARDED-FOR -> 10.9.8.7");
        assert_eq!(r[2]["request_body_len"], 7);
        assert_eq!(r[2]["status_code"], 405);
        // POST body and the 405 page.
        assert_eq!(s.files.len(), 2);
        assert_eq!(s.files[0].1, b"a=1&b=2");
    }

    /// `buffered()` holds a request head cut before its blank line, then a
    /// cut response head, and a gzip body being decoded; once the exchange
    /// is over only the (empty) transaction queue's room is left.
    #[test]
    fn buffered_counts_partial_heads_and_bodies() {
        let mut p = HttpParser::new();
        let mut s = MemSink::default();
        assert_eq!(p.buffered(), 0);
        let mut first = b"GET /big HTTP/1.1\r\nHost: h\r\nX-Pad: ".to_vec();
        first.extend(std::iter::repeat_n(b'a', 6000));
        p.on_data(ToServer, &first, &mut s);
        assert!(p.buffered() >= first.len(), "{}", p.buffered());
        p.on_data(ToServer, b"\r\n\r\n", &mut s);
        // The head is parsed: its buffer is given back; the transaction
        // waits for its response.
        let waiting = p.buffered();
        assert!(waiting < first.len(), "{waiting}");
        let cut = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Le";
        p.on_data(ToClient, cut, &mut s);
        assert!(p.buffered() >= waiting + cut.len());
        // A gzip body half delivered: the inflate state (its 32 KiB
        // window) is held.
        use flate2::write::GzEncoder;
        use std::io::Write;
        let mut g = GzEncoder::new(Vec::new(), flate2::Compression::default());
        g.write_all(&b"hello hello hello world ".repeat(100))
            .unwrap();
        let g = g.finish().unwrap();
        let head = format!("ngth: {}\r\n\r\n", g.len());
        p.on_data(ToClient, head.as_bytes(), &mut s);
        p.on_data(ToClient, &g[..g.len() / 2], &mut s);
        assert!(p.buffered() >= waiting + 32 * 1024, "{}", p.buffered());
        p.on_data(ToClient, &g[g.len() / 2..], &mut s);
        assert_eq!(s.log("http").len(), 1);
        assert_eq!(s.files[0].1, b"hello hello hello world ".repeat(100));
        assert_eq!(p.buffered(), p.txs.capacity() * std::mem::size_of::<Tx>());
        // A head over the bound is dropped with its buffer.
        let mut big = b"GET / HTTP/1.1\r\n".to_vec();
        big.extend(
            std::iter::repeat_n(b"X-A: aaaaaaaaaaaaaaaaaaaa\r\n".as_slice(), 4000).flatten(),
        );
        p.on_data(ToServer, &big, &mut s);
        assert!(p.req.buf.capacity() == 0 && p.buffered() < 16 * 1024);
    }

    fn run(steps: &[(Direction, &[u8])]) -> MemSink {
        let mut p = HttpParser::new();
        let mut s = MemSink::default();
        for (d, b) in steps {
            p.on_data(*d, b, &mut s);
        }
        p.on_end(&mut s);
        s
    }

    /// suricata-verify http-close-headers: the server closes right after
    /// its last header line, with no blank line. libhtp takes the close
    /// as the end of the head; the response's headers are a transaction's
    /// buffers like any other.
    #[test]
    fn head_ended_by_close() {
        let s = run(&[
            (ToServer, b"GET / HTTP/1.1\r\nHost: 100.64.0.200\r\n\r\n"),
            (ToClient, b"HTTP/1.0 200 OK\r\nServer:ng1nx\r\n"),
        ]);
        let r = s.log("http");
        assert_eq!(r[0]["status_code"], 200, "{r:?}");
        let h = s.bufs(0, ToClient, BufferKind::HttpHeader);
        assert_eq!(h, vec![&b"Server: ng1nx\r\n"[..]]);
        // A head cut inside a line is not completed.
        let s = run(&[
            (ToServer, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"),
            (ToClient, b"HTTP/1.0 200 OK\r\nServ"),
        ]);
        assert!(s.log("http")[0].get("status_code").is_none());
    }

    #[test]
    fn pipelined_every_split() {
        let req: &[u8] = b"GET /a.txt HTTP/1.1\r\nHost: h\r\n\r\nHEAD /b HTTP/1.1\r\nHost: h\r\n\r\n\r\nPOST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\nGET /d HTTP/1.1\r\n\r\n";
        let resp: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Disposition: attachment; filename=\"x y.bin\"\r\n\r\nhelloHTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n";
        let whole = run(&[(ToServer, req), (ToClient, resp)]);
        let r = whole.log("http");
        assert_eq!(r.len(), 4, "{r:?}");
        assert_eq!(r[0]["resp_filenames"][0], "x y.bin");
        assert_eq!(r[1]["method"], "HEAD");
        assert_eq!(r[2]["request_body_len"], 3);
        assert_eq!(r[2]["status_code"], 204);
        assert_eq!(r[3]["status_code"], 304);
        assert_eq!(whole.files.len(), 2);
        for n in 1..req.len().max(resp.len()) {
            let mut steps = Vec::new();
            for c in req.chunks(n) {
                steps.push((ToServer, c));
            }
            for c in resp.chunks(n) {
                steps.push((ToClient, c));
            }
            let s = run(&steps);
            assert_eq!(s.records, whole.records, "split {n}");
            assert_eq!(s.files, whole.files, "split {n}");
        }
    }

    #[test]
    fn gaps() {
        // A gap inside a Content-Length body: counted, the file is cut.
        let s = run(&[
            (ToServer, b"GET /f.bin HTTP/1.1\r\n\r\n"),
            (
                ToClient,
                b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n01234",
            ),
        ]);
        assert_eq!(s.log("http")[0]["weird"][0], "truncated_body");
        let mut p = HttpParser::new();
        let mut s = MemSink::default();
        p.on_data(
            ToServer,
            b"GET /f.bin HTTP/1.1\r\n\r\nGET /g HTTP/1.1\r\n\r\n",
            &mut s,
        );
        p.on_data(
            ToClient,
            b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n01234",
            &mut s,
        );
        p.on_gap(ToClient, 10, &mut s);
        p.on_data(
            ToClient,
            b"56789HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            &mut s,
        );
        // A gap in a header block: resync on the next request line.
        p.on_data(ToServer, b"GET /h HTTP/1.1\r\nHost: x", &mut s);
        p.on_gap(ToServer, 100, &mut s);
        p.on_data(
            ToServer,
            b"junk\r\nmore junk\r\nGET /i HTTP/1.1\r\n\r\n",
            &mut s,
        );
        p.on_data(ToClient, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &mut s);
        p.on_end(&mut s);
        let r = s.log("http");
        assert_eq!(r.len(), 4, "{r:?}");
        // Bytes seen on either side of the hole; the file has the first 5.
        assert_eq!(r[0]["response_body_len"], 10);
        assert_eq!(s.files[0].1, b"01234");
        assert_eq!(r[0]["weird"][0], "body_gap");
        assert_eq!(s.files[0].2, Some(false));
        assert_eq!(r[1]["response_body_len"], 2);
        // /h was cut by the gap: its response pairs with /i (nothing tells
        // them apart) and the last response has no request.
        assert_eq!(r[2]["uri"], "/i", "{r:?}");
        assert!(r[2]["weird"].to_string().contains("gap_resync"));
        assert_eq!(r[3]["tags"][0], "no_request");
    }

    #[test]
    fn malicious_sizes() {
        // Huge Content-Length: streamed, never buffered; cut at the end.
        let s = run(&[
            (
                ToServer,
                b"POST /u HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\nabc",
            ),
            (
                ToClient,
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nxyz",
            ),
        ]);
        let r = s.log("http");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0]["request_body_len"], 3);
        assert_eq!(r[0]["response_body_len"], 3);
        assert_eq!(s.files[0].0.expected_size, Some(99999999999));
        // A chunk size that does not fit 64 bits; bad Content-Length;
        // a header block over 64 KiB.
        let mut big = b"GET / HTTP/1.1\r\n".to_vec();
        big.extend(
            std::iter::repeat_n(b"X-A: aaaaaaaaaaaaaaaaaaaa\r\n".as_slice(), 4000).flatten(),
        );
        let s = run(&[
            (ToServer, b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n"),
            (ToClient, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\nHTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nab"),
            (ToServer, &big),
        ]);
        let r = s.log("http");
        assert!(r[0]["weird"].to_string().contains("bad_chunk_size"));
        assert!(r[1]["weird"].to_string().contains("bad_content_length"));
        assert!(r
            .iter()
            .any(|x| x["weird"].to_string().contains("header_block_too_large")));
    }

    #[test]
    fn gzip_bomb() {
        use flate2::write::GzEncoder;
        use std::io::Write;
        let mut g = GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..100 {
            g.write_all(&zeros).unwrap();
        }
        let g = g.finish().unwrap();
        let mut resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
            g.len()
        )
        .into_bytes();
        resp.extend_from_slice(&g);
        let s = run(&[(ToServer, b"GET /z HTTP/1.1\r\n\r\n"), (ToClient, &resp)]);
        let r = s.log("http");
        assert!(r[0]["weird"].to_string().contains("decompression_bomb"));
        assert!(r[0]["response_body_len"].as_u64().unwrap() <= 16 << 20);
        assert_eq!(s.files[0].2, Some(false));
        assert!(s.files[0].1.len() <= 16 << 20);
    }

    #[test]
    fn tunnels_and_upgrades() {
        let s = run(&[
            (ToServer, b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\x16\x03\x01\x00\x05hello"),
            (ToClient, b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03binary"),
        ]);
        let r = s.log("http");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0]["tags"][0], "connect");
        assert_eq!(r[0]["status_code"], 200);
        assert!(s.files.is_empty());
        let s = run(&[
            (ToServer, b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nOrigin: http://h\r\n\r\n\x81\x85abcdefghi"),
            (ToClient, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x02hi"),
        ]);
        let r = s.log("http");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0]["tags"][0], "websocket");
        assert_eq!(r[0]["origin"], "http://h");
        assert_eq!(r[0]["status_code"], 101);
        // Responses only (capture started late), raw deflate body.
        let s = run(&[(
            ToClient,
            b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: 7\r\n\r\n\xcbH\xcd\xc9\xc9\x07\x00",
        )]);
        let r = s.log("http");
        assert_eq!(r[0]["tags"][0], "no_request");
        assert_eq!(s.files[0].1, b"hello");
        let _ = chunks(b"");
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut x: u64 = 0x9e3779b97f4a7c15;
        let alphabet: &[u8] =
            b"\r\n :0f;GET HTTP/1.1 200Content-Length: 5Transfer-Encoding: chunked\x00\xff";
        for round in 0..300 {
            let mut p = HttpParser::new();
            let mut s = MemSink::default();
            for i in 0..3000u64 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let d = if (x >> 20) % 2 == 0 {
                    ToClient
                } else {
                    ToServer
                };
                let b = [alphabet[(x % alphabet.len() as u64) as usize]];
                p.on_data(d, &b, &mut s);
                if round % 7 == 0 && i % 500 == 0 {
                    p.on_gap(d, x % 100, &mut s);
                }
            }
            p.on_end(&mut s);
        }
    }

    #[test]
    fn lost_response_does_not_shift_pairs() {
        // The server's first response started before the capture (or its
        // head fell in a gap): the next status line belongs to request 2.
        let s = run(&[
            (ToServer, b"GET /1 HTTP/1.1\r\n\r\n"),
            (ToClient, b"\x1c,\x08\xd7 body tail of response 1\r\n"),
            (ToServer, b"GET /2 HTTP/1.1\r\n\r\n"),
            (ToClient, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        ]);
        let r = s.log("http");
        assert_eq!(r.len(), 2, "{r:?}");
        assert_eq!(r[0]["uri"], "/1");
        assert!(r[0].get("status_code").is_none());
        assert!(r[0]["weird"].to_string().contains("response_lost"));
        assert_eq!(r[1]["uri"], "/2");
        assert_eq!(r[1]["status_code"], 200);
        let mut p = HttpParser::new();
        let mut s = MemSink::default();
        p.on_data(
            ToServer,
            b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n",
            &mut s,
        );
        p.on_data(ToClient, b"HTTP/1.1 200 OK\r\nContent-Le", &mut s);
        p.on_gap(ToClient, 30, &mut s);
        p.on_data(
            ToClient,
            b"ngth: 0\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
            &mut s,
        );
        p.on_end(&mut s);
        let r = s.log("http");
        assert_eq!(r.len(), 2, "{r:?}");
        assert_eq!(r[1]["uri"], "/2");
        assert_eq!(r[1]["status_code"], 404);
    }

    /// Ad-hoc cross-check: `NETSIFT_HTTP_STREAMS=dir cargo test -p
    /// netsift-protocols http_streams_dir -- --ignored --nocapture` prints,
    /// for each stored conversation in `dir`, the records' status codes and
    /// the files' sizes (to compare with tshark).
    #[test]
    #[ignore]
    fn http_streams_dir() {
        let Ok(dir) = std::env::var("NETSIFT_HTTP_STREAMS") else {
            return;
        };
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for n in names {
            let d = std::fs::read(&n).unwrap();
            let s = replay(&d, &mut HttpParser::new());
            let codes: Vec<String> = s
                .log("http")
                .iter()
                .map(|r| r["status_code"].to_string())
                .collect();
            let sizes: Vec<String> = s
                .files
                .iter()
                .map(|f| format!("{}:{}", f.1.len(), md5(&f.1)))
                .collect();
            let weird: Vec<String> = s
                .log("http")
                .iter()
                .filter_map(|r| r.get("weird").map(|w| w.to_string()))
                .collect();
            println!(
                "{} codes={} files={} weird={}",
                n.display(),
                codes.join(","),
                sizes.join(","),
                weird.join(";")
            );
        }
    }
}
