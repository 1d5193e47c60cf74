//! The second half of the contract: parsing a classified flow into records.
//!
//! Once a flow has a verdict, the engine asks the protocol for a
//! [`Parser`] ([`crate::Protocol::parser`]) and feeds it the flow's
//! application data in order:
//! * TCP: the reassembled byte stream of each direction, in the order the
//!   bytes became available, as [`Parser::on_data`] calls; a hole the
//!   reassembler could not fill arrives as [`Parser::on_gap`] with the
//!   number of missing bytes, and the parser carries on where it can.
//! * UDP and others: each datagram's payload as one `on_data` call.
//! * [`Parser::on_end`] once, when the flow ends.
//!
//! The data from before the verdict is replayed first, so a parser always
//! sees its flow from the first byte (or from where the capture picked the
//! stream up).
//!
//! A parser writes records through [`Sink::record`]: one typed struct per
//! protocol (`record.rs` in the protocol's folder, a doc comment on every
//! field, `Option` + `skip_serializing_if` for the optional ones), handed
//! over as a [`Record`] that stays typed through detection and learning.
//! The output layer adds the common fields first (`ts`, `uid`, endpoints)
//! and writes it to `<log>.jsonl`. Files crossing the wire (HTTP bodies, mail attachments, FTP
//! transfers) go through [`Sink::file_open`] / [`Sink::file_data`] /
//! [`Sink::file_close`]; the engine hashes them, sniffs their MIME type,
//! bounds their size and writes them out.
//!
//! Protocol anomalies are not errors: a parser notes them in its records (a
//! `weird`-style field) and keeps going. Parsers must bound every buffer
//! they keep (a line, a header block, a message) and never panic.

use crate::{Direction, Record};

/// Identifies an open file within one flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId(pub u32);

/// What the parser knows about a file when it starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileMeta {
    /// The protocol that carried it: "HTTP", "SMTP", "FTP_DATA", ...
    pub source: &'static str,
    /// File name when the protocol says one (Content-Disposition, the FTP
    /// RETR/STOR argument, the URI's last segment, a MIME part's name).
    pub name: Option<String>,
    /// MIME type the protocol declared (Content-Type), if any; the engine
    /// also sniffs the type from the content's magic bytes.
    pub declared_mime: Option<String>,
    /// Who sent the file: `ToClient` for a download.
    pub dir: Option<Direction>,
    /// Size announced by the protocol (Content-Length, FTP 150 reply), to
    /// tell a complete file from a cut one.
    pub expected_size: Option<u64>,
    /// The transaction the file belongs to (the number the parser gives in
    /// [`Sink::buffer`]): an HTTP body is its transaction's `file.data`,
    /// so a rule can ask for `http.uri` and `file.data` together.
    pub tx: Option<u64>,
    /// The site the file came from (the HTTP request's Host), so content
    /// analysis can tell links and forms to other sites.
    pub origin: Option<String>,
    /// A mail's own HTML body (no name, not an attachment), carved only so
    /// content analysis reads it (`html`/`js` records, verdict). Suricata
    /// keeps a mail's attachments alone in its transaction's files, so
    /// this one is kept from Suricata-style rules (`file.data`), from
    /// EVE's `fileinfo` and from an alert's `files`; Zeek's file analysis
    /// sees every MIME entity, so `files` records list it.
    pub mail_body: bool,
}

/// A named piece of an application transaction that Suricata-style rules
/// inspect: a "sticky buffer" (Suricata's `http.uri`, `tls.sni`, ...).
/// Parsers hand them to the engine with [`Sink::buffer`]; bodies and
/// attachments are not buffers, they arrive as files (see [`FileMeta::tx`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BufferKind {
    /// `http.method`: the request method as sent.
    HttpMethod,
    /// `http.uri`: the request target normalized as libhtp does
    /// (percent-decoded where safe, `/./` and `/../` resolved, the
    /// scheme and authority of an absolute URI removed).
    HttpUri,
    /// `http.uri.raw`: the request target exactly as sent.
    HttpUriRaw,
    /// `http.protocol`: `HTTP/1.1` as sent.
    HttpProtocol,
    /// `http.request_line`: the request line without CRLF.
    HttpRequestLine,
    /// `http.host`: the Host header's value, lowercased, without port.
    HttpHost,
    /// `http.host.raw`: the Host header's value (or the absolute URI's
    /// authority) as sent.
    HttpHostRaw,
    /// `http.user_agent`: the User-Agent header's value.
    HttpUserAgent,
    /// `http.header`: the message's headers as `Name: value\r\n` lines
    /// (continuations folded), without the Cookie/Set-Cookie headers, as
    /// Suricata builds it. One per direction.
    HttpHeader,
    /// `http.header.raw`: the header block as received.
    HttpHeaderRaw,
    /// `http.cookie`: the Cookie (request) or Set-Cookie (response) value.
    HttpCookie,
    /// `http.content_type`, `http.content_len`: the header values.
    HttpContentType,
    HttpContentLen,
    /// `http.stat_code`: the three status digits.
    HttpStatCode,
    /// `http.stat_msg`: the reason phrase.
    HttpStatMsg,
    /// `http.response_line`: the status line without CRLF.
    HttpResponseLine,
    /// `tls.sni`: the ClientHello's server_name.
    TlsSni,
    /// `tls.cert_subject` / `tls.cert_issuer`: the server's first
    /// certificate's names in OpenSSL's one-line form (`C=US, O=...`).
    TlsCertSubject,
    TlsCertIssuer,
    /// `tls.cert_serial`: the serial as colon-separated upper-case hex.
    TlsCertSerial,
    /// `ja3.hash` / `ja3.string` (client), `ja3s.hash` / `ja3s.string`
    /// (server).
    Ja3Hash,
    Ja3String,
    Ja3sHash,
    Ja3sString,
    /// `dns.query`: one question's name, dotted, without the final dot.
    DnsQuery,
    /// `ssh.proto` (`2.0`) and `ssh.software` (`OpenSSH_9.2p1`), per
    /// direction.
    SshProto,
    SshSoftware,
}

/// Where parsers write. Implemented by the engine.
pub trait Sink {
    /// Packet time of the data being parsed, in nanoseconds since the epoch.
    fn ts_ns(&self) -> u64;

    /// Write one record to the log named `log` ("http", "dns", "tls", ...).
    /// The engine prepends `ts` (this record's time, see
    /// [`Sink::record_at`]), `uid` and the flow's endpoints.
    fn record(&mut self, log: &'static str, record: Record);

    /// Like [`Sink::record`], with an explicit time (a request's time for an
    /// HTTP transaction completed by its response).
    fn record_at(&mut self, log: &'static str, ts_ns: u64, record: Record);

    /// Start a file. Returns `None` when file carving is off or the flow
    /// has too many files open; the parser then skips the file's bytes.
    fn file_open(&mut self, meta: FileMeta) -> Option<FileId>;

    /// Append decoded bytes (after transfer/content decoding) to a file.
    fn file_data(&mut self, id: FileId, data: &[u8]);

    /// Close a file; `complete` is false when bytes are known to be missing
    /// (a gap, a cut transfer, a size that does not match).
    fn file_close(&mut self, id: FileId, complete: bool);

    /// Announce that a later connection belongs to this flow (FTP data
    /// channels): the engine links it and hands its bytes to this flow's
    /// parser via [`Parser::on_linked_data`].
    fn expect_linked(&mut self, _addr: std::net::IpAddr, _port: u16) {}

    /// One sticky buffer of transaction `tx` (numbered by the parser from
    /// 0, per flow) in direction `dir`, for rule inspection. Each call
    /// gives the whole buffer; `DnsQuery` may come once per question.
    /// The engine ignores it when no rules are loaded.
    fn buffer(&mut self, _tx: u64, _dir: Direction, _kind: BufferKind, _data: &[u8]) {}

    /// Whether [`Sink::buffer`] keeps anything: a parser may skip making
    /// buffers (normalised URIs, joined headers) nobody reads. `true`
    /// unless a sink says otherwise.
    fn wants_buffers(&self) -> bool {
        true
    }

    /// Direction `dir` of transaction `tx` is complete: every buffer and
    /// file of it has been given (an HTTP request after its body, a
    /// response after its body, a TLS handshake's direction once its
    /// certificate or Finished is seen). Rules over that transaction are
    /// evaluated now; what is still open at the end of the flow is
    /// evaluated then.
    fn tx_done(&mut self, _tx: u64, _dir: Direction) {}
}

/// A protocol's per-flow parser.
pub trait Parser: Send {
    /// Application bytes of one direction, in order.
    fn on_data(&mut self, dir: Direction, data: &[u8], sink: &mut dyn Sink);

    /// `len` bytes of one direction are missing (the reassembler gave up
    /// on a hole, or the capture dropped them).
    fn on_gap(&mut self, _dir: Direction, _len: u64, _sink: &mut dyn Sink) {}

    /// Bytes of a linked connection (an FTP data channel announced by this
    /// control flow): `dir` is relative to the linked connection's
    /// initiator; `end` is set once when that connection ends.
    fn on_linked_data(
        &mut self,
        _link: u32,
        _dir: Direction,
        _data: &[u8],
        _end: bool,
        _sink: &mut dyn Sink,
    ) {
    }

    /// The flow ended: write what is pending (a request without response,
    /// an unterminated message).
    fn on_end(&mut self, _sink: &mut dyn Sink) {}

    /// Bytes this parser holds in buffers of its own between calls, by
    /// capacity: a partial message, line or head waiting for the rest, a
    /// handshake message being reassembled. Each parser bounds them per
    /// flow; the engine bounds their sum over all flows
    /// (`--max-parser-memory`) and counts them in the memory summary. 0 for
    /// a parser that keeps nothing between calls. Cheap: the engine asks
    /// after every call that gave the parser bytes.
    fn buffered(&self) -> usize {
        0
    }
}

/// For parser tests: every `step`-th prefix of a conversation is fed byte by
/// byte to a fresh parser from `new`, which is then ended; none may panic.
pub fn feed_every_prefix<P: Parser>(
    segs: &[(Direction, Vec<u8>)],
    step: usize,
    new: impl Fn() -> P,
) {
    let all: Vec<(Direction, u8)> = segs
        .iter()
        .flat_map(|(d, b)| b.iter().map(move |&x| (*d, x)))
        .collect();
    for n in (0..all.len()).step_by(step.max(1)) {
        let mut p = new();
        let mut sink = MemSink::default();
        for (d, x) in &all[..n] {
            p.on_data(*d, &[*x], &mut sink);
        }
        p.on_end(&mut sink);
    }
}

/// A [`Sink`] that collects records and files in memory, for parser tests.
#[derive(Debug, Default)]
pub struct MemSink {
    pub ts_ns: u64,
    /// Records as the output layer writes them (their JSON): parser tests
    /// pin the written schema.
    pub records: Vec<(&'static str, serde_json::Value)>,
    /// The same records as the parser handed them over (typed).
    pub typed: Vec<(&'static str, Record)>,
    /// Files: meta, bytes, closed-complete flag (None while open).
    pub files: Vec<(FileMeta, Vec<u8>, Option<bool>)>,
    /// Refuse files (to test the carving-off path).
    pub no_files: bool,
    pub linked: Vec<(std::net::IpAddr, u16)>,
    /// [`Sink::buffer`] calls, in order: transaction, direction, kind,
    /// bytes.
    pub buffers: Vec<(u64, Direction, BufferKind, Vec<u8>)>,
    /// [`Sink::tx_done`] calls, in order.
    pub tx_done: Vec<(u64, Direction)>,
}

impl MemSink {
    /// Records of one log.
    pub fn log(&self, log: &str) -> Vec<&serde_json::Value> {
        self.records
            .iter()
            .filter(|(l, _)| *l == log)
            .map(|(_, v)| v)
            .collect()
    }

    /// The buffers of one kind given for transaction `tx` in `dir`.
    pub fn bufs(&self, tx: u64, dir: Direction, kind: BufferKind) -> Vec<&[u8]> {
        self.buffers
            .iter()
            .filter(|b| b.0 == tx && b.1 == dir && b.2 == kind)
            .map(|b| b.3.as_slice())
            .collect()
    }
}

impl Sink for MemSink {
    fn ts_ns(&self) -> u64 {
        self.ts_ns
    }
    fn record(&mut self, log: &'static str, record: Record) {
        self.records.push((log, record.to_json()));
        self.typed.push((log, record));
    }
    fn record_at(&mut self, log: &'static str, _ts_ns: u64, record: Record) {
        self.record(log, record);
    }
    fn file_open(&mut self, meta: FileMeta) -> Option<FileId> {
        if self.no_files {
            return None;
        }
        self.files.push((meta, Vec::new(), None));
        Some(FileId((self.files.len() - 1) as u32))
    }
    fn file_data(&mut self, id: FileId, data: &[u8]) {
        if let Some(f) = self.files.get_mut(id.0 as usize) {
            f.1.extend_from_slice(data);
        }
    }
    fn file_close(&mut self, id: FileId, complete: bool) {
        if let Some(f) = self.files.get_mut(id.0 as usize) {
            f.2 = Some(complete);
        }
    }
    fn expect_linked(&mut self, addr: std::net::IpAddr, port: u16) {
        self.linked.push((addr, port));
    }
    fn buffer(&mut self, tx: u64, dir: Direction, kind: BufferKind, data: &[u8]) {
        self.buffers.push((tx, dir, kind, data.to_vec()));
    }
    fn tx_done(&mut self, tx: u64, dir: Direction) {
        self.tx_done.push((tx, dir));
    }
}
