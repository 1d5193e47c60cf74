//! A parsed rule: identity (what an alert reports) and its compiled
//! detection parts.

use netsift_proto::BufferKind;

/// Index of a rule in its [`crate::RuleSet`] (evaluation order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId(pub u32);

/// The rule's action. netsift is an IDS: `drop` and `reject` alert as
/// Suricata does in IDS mode; `pass` suppresses (see `docs/suricata-rules.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    // Declared in Suricata's default action order (pass, drop, reject,
    // alert): the derived `Ord` is the evaluation order.
    Pass,
    Drop,
    Reject,
    Alert,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Pass => "pass",
            Action::Drop => "drop",
            Action::Reject => "reject",
            Action::Alert => "alert",
        }
    }
}

/// What a part of a rule inspects: a sticky buffer or the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Inspect {
    /// `pkt_data` (the default buffer): the packet payload, or for TCP in
    /// an established flow the reassembled stream bytes.
    Packet,
    /// A transaction's sticky buffer (`http.uri`, `tls.sni`, ...).
    Tx(BufferKind),
    /// `file.data` / `file_data`: a file's (or HTTP body's, mail
    /// attachment's) decoded bytes.
    FileData,
    /// `file.name` / `filename`, and `fileext` (the part after the last dot).
    FileName,
    /// `filemagic`: the file type description.
    FileMagic,
}

impl Inspect {
    /// Suricata's name of the buffer, as EVE reports it.
    pub fn name(self) -> &'static str {
        match self {
            Inspect::Packet => "pkt_data",
            Inspect::FileData => "file.data",
            Inspect::FileName => "file.name",
            Inspect::FileMagic => "file.magic",
            Inspect::Tx(k) => buffer_name(k),
        }
    }
}

/// Suricata's keyword for a transaction buffer.
pub fn buffer_name(k: BufferKind) -> &'static str {
    use BufferKind::*;
    match k {
        HttpMethod => "http.method",
        HttpUri => "http.uri",
        HttpUriRaw => "http.uri.raw",
        HttpProtocol => "http.protocol",
        HttpRequestLine => "http.request_line",
        HttpHost => "http.host",
        HttpHostRaw => "http.host.raw",
        HttpUserAgent => "http.user_agent",
        HttpHeader => "http.header",
        HttpHeaderRaw => "http.header.raw",
        HttpCookie => "http.cookie",
        HttpContentType => "http.content_type",
        HttpContentLen => "http.content_len",
        HttpStatCode => "http.stat_code",
        HttpStatMsg => "http.stat_msg",
        HttpResponseLine => "http.response_line",
        TlsSni => "tls.sni",
        TlsCertSubject => "tls.cert_subject",
        TlsCertIssuer => "tls.cert_issuer",
        TlsCertSerial => "tls.cert_serial",
        Ja3Hash => "ja3.hash",
        Ja3String => "ja3.string",
        Ja3sHash => "ja3s.hash",
        Ja3sString => "ja3s.string",
        DnsQuery => "dns.query",
        SshProto => "ssh.proto",
        SshSoftware => "ssh.software",
    }
}

/// One loaded rule. Identity fields are public; the detection parts are
/// internal.
#[derive(Debug)]
pub struct Rule {
    pub sid: u32,
    pub gid: u32,
    pub rev: u32,
    /// `msg`, unescaped; empty when absent.
    pub msg: String,
    /// `classtype` name, if any.
    pub classtype: Option<String>,
    /// `priority`, else the classtype's priority, else 3.
    pub priority: u8,
    pub action: Action,
    /// `reference` values as written (`url,example.com`).
    pub references: Vec<String>,
    /// `metadata` entries, one per comma-separated item, trimmed.
    pub metadata: Vec<String>,
    /// The rule's source text (continuation lines joined).
    pub text: String,
    /// The file the rule came from and its first line (1-based).
    pub file: String,
    pub line: usize,
    pub(crate) det: crate::parse::Detection,
}

impl Rule {
    /// The classtype's description (EVE's `alert.category`), or "".
    pub fn category(&self) -> &'static str {
        self.classtype
            .as_deref()
            .and_then(crate::classification)
            .map(|c| c.description)
            .unwrap_or("")
    }

    /// `noalert` (or `flowbits:noalert`): the rule runs (sets flowbits) but
    /// never produces a [`crate::Match`].
    pub fn noalert(&self) -> bool {
        self.det.noalert
    }
}
