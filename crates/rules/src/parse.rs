//! Rule text → [`Rule`]: Suricata's rule grammar and keywords.
//!
//! "Rules Format": a rule is `action protocol src_addr src_port direction
//! dst_addr dst_port (options)`; options are `keyword: value;` or
//! `keyword;`, and a value escapes `;`, `"`, `\` and `:` with a backslash.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use netsift_proto::BufferKind;

use crate::classification;
use crate::load::{LoadReport, Skipped, SyntaxError};
use crate::matcher::{
    transform, Base, ByteExtract, ByteJump, ByteOp, ByteTest, Content, Fast, Num, NumCmp, NumRead,
    Part, Pcre, PcreFlags, Transform, MAX_VARS,
};
use crate::rule::{Action, Inspect, Rule};
use crate::vars::{parse_addr, parse_port, AddrExpr, PortExpr, Vars};

/// Bound on one rule's text (continuation lines joined).
const MAX_RULE_LEN: usize = 256 * 1024;
/// Bound on the payload keywords of one rule (the matcher recurses once per
/// keyword; real rules have a few dozen at most).
const MAX_PARTS: usize = 256;
/// Bound on a hash list file.
const MAX_HASH_FILE: u64 = 64 << 20;

/// Which side of a transaction a buffer comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Side {
    /// Whichever direction is being evaluated.
    Any,
    Request,
    Response,
}

/// The natural side of a transaction buffer.
pub(crate) fn side_of(k: BufferKind) -> Side {
    use BufferKind::*;
    match k {
        HttpMethod | HttpUri | HttpUriRaw | HttpRequestLine | HttpHost | HttpHostRaw
        | HttpUserAgent | TlsSni | Ja3Hash | Ja3String | DnsQuery => Side::Request,
        HttpStatCode | HttpStatMsg | HttpResponseLine | TlsCertSubject | TlsCertIssuer
        | TlsCertSerial | Ja3sHash | Ja3sString => Side::Response,
        HttpProtocol | HttpHeader | HttpHeaderRaw | HttpCookie | HttpContentType
        | HttpContentLen | SshProto | SshSoftware => Side::Any,
    }
}

/// One buffer's match program.
#[derive(Debug)]
pub(crate) struct BufMatch {
    pub inspect: Inspect,
    pub side: Side,
    /// Applied to the buffer before the parts run.
    pub transforms: Vec<Transform>,
    pub parts: Vec<Part>,
}

impl BufMatch {
    /// Run the program over one value of the buffer.
    pub fn matches(&self, hay: &[u8]) -> Option<usize> {
        if self.transforms.is_empty() {
            crate::matcher::match_parts(&self.parts, hay)
        } else {
            crate::matcher::match_parts(&self.parts, &transform(&self.transforms, hay))
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum StreamMode {
    #[default]
    Both,
    OnlyStream,
    NoStream,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BitOp {
    Set,
    Unset,
    Toggle,
    IsSet,
    IsNotSet,
}

#[derive(Debug, Clone)]
pub(crate) struct Flowbit {
    pub op: BitOp,
    pub names: Vec<String>,
    /// Interned at build time.
    pub ids: Vec<u32>,
    /// `a&b`: all of them; `a|b`: any of them.
    pub all: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ThType {
    Limit,
    Threshold,
    Both,
    /// detection_filter
    Filter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Track {
    Src,
    Dst,
    Rule,
    Both,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Threshold {
    pub ty: ThType,
    pub track: Track,
    pub count: u64,
    pub seconds: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlagMode {
    Exact,
    /// `+`: these and any others.
    All,
    /// `*`: any of these.
    Any,
    /// `!`: none of these.
    Not,
}

#[derive(Debug)]
pub(crate) enum PktTest {
    IType(NumCmp),
    ICode(NumCmp),
    Ttl(NumCmp),
    IpProto(NumCmp),
    Dsize(NumCmp),
    SameIp,
    Flags {
        mode: FlagMode,
        flags: u8,
        mask: u8,
    },
    /// `app-layer-protocol:[!]name`.
    AppProto {
        name: String,
        negated: bool,
    },
}

#[derive(Debug)]
pub(crate) enum FileTest {
    /// `filemd5` / `filesha256`: the digest is (not) in the list.
    Hash {
        sha256: bool,
        negated: bool,
        set: Arc<HashSet<String>>,
    },
}

/// What kind of inspection point runs a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Packet,
    Tx,
    File,
}

/// The detection half of a rule.
#[derive(Debug)]
pub(crate) struct Detection {
    /// Allowed IP protocol numbers (None: any).
    pub l4: Option<Vec<u8>>,
    /// Required app-layer protocol (Suricata's name).
    pub app: Option<String>,
    pub src: AddrExpr,
    pub sp: PortExpr,
    pub dst: AddrExpr,
    pub dp: PortExpr,
    pub bidir: bool,
    /// flow:to_server (Some(true)) / to_client (Some(false)).
    pub to_server: Option<bool>,
    pub established: Option<bool>,
    pub stream: StreamMode,
    pub flowbits: Vec<Flowbit>,
    pub noalert: bool,
    pub threshold: Option<Threshold>,
    pub detection_filter: Option<Threshold>,
    pub pkt: Vec<PktTest>,
    pub bufs: Vec<BufMatch>,
    pub files: Vec<FileTest>,
    pub kind: Kind,
    /// Suricata's "IP-only" rule: header, addresses and at most flowbit
    /// setting; in a flow it is evaluated on the first packet of each
    /// direction only.
    pub ip_only: bool,
    /// The prefilter pattern: index into `bufs` and the bytes.
    pub fast: Option<(usize, Vec<u8>)>,
}

impl Detection {
    /// Some part inspects the packet payload / stream.
    pub fn has_payload(&self) -> bool {
        self.bufs.iter().any(|b| b.inspect == Inspect::Packet)
    }
}

/// A rule that did not load.
#[derive(Debug)]
pub(crate) enum RuleErr {
    Syntax { col: usize, msg: String },
    Skip { keyword: String, reason: String },
}

fn syn<T>(col: usize, msg: impl Into<String>) -> Result<T, RuleErr> {
    Err(RuleErr::Syntax {
        col,
        msg: msg.into(),
    })
}

fn skip<T>(keyword: &str, reason: impl Into<String>) -> Result<T, RuleErr> {
    Err(RuleErr::Skip {
        keyword: keyword.to_string(),
        reason: reason.into(),
    })
}

/// Split a file into rules. Suricata's loader: a line starting with `#`,
/// a space or a tab is not a rule; a line ending in `\` continues on the
/// next line.
pub(crate) fn parse_file(
    text: &str,
    file: &str,
    dir: Option<&Path>,
    vars: &Vars,
    out: &mut Vec<Rule>,
    report: &mut LoadReport,
) {
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let (start, mut acc) = match pending.take() {
            Some(p) => p,
            None => {
                if line.is_empty() || line.starts_with(['#', ' ', '\t']) {
                    continue;
                }
                (line_no, String::new())
            }
        };
        if let Some(body) = line.strip_suffix('\\') {
            if acc.len() + body.len() <= MAX_RULE_LEN {
                acc.push_str(body);
            }
            pending = Some((start, acc));
            continue;
        }
        if acc.len() + line.len() <= MAX_RULE_LEN {
            acc.push_str(line);
        }
        one(&acc, file, start, dir, vars, out, report);
    }
    if let Some((start, acc)) = pending {
        one(&acc, file, start, dir, vars, out, report);
    }
}

fn one(
    text: &str,
    file: &str,
    line: usize,
    dir: Option<&Path>,
    vars: &Vars,
    out: &mut Vec<Rule>,
    report: &mut LoadReport,
) {
    if text.trim().is_empty() {
        return;
    }
    match parse_rule(text, dir, vars) {
        Ok((action, ids, det)) => out.push(Rule {
            sid: ids.sid.unwrap_or(0),
            gid: ids.gid,
            rev: ids.rev,
            msg: ids.msg,
            priority: ids.priority.unwrap_or_else(|| {
                ids.classtype
                    .as_deref()
                    .and_then(classification)
                    .map(|c| c.priority)
                    .unwrap_or(3)
            }),
            classtype: ids.classtype,
            action,
            references: ids.references,
            metadata: ids.metadata,
            text: text.to_string(),
            file: file.to_string(),
            line,
            det,
        }),
        Err(RuleErr::Syntax { col, msg }) => report.errors.push(SyntaxError {
            file: file.to_string(),
            line,
            col,
            msg,
        }),
        Err(RuleErr::Skip { keyword, reason }) => report.skipped.push(Skipped {
            file: file.to_string(),
            line,
            sid: find_sid(text),
            keyword,
            reason,
        }),
    }
}

/// The sid of a rule that did not load, for the report.
fn find_sid(text: &str) -> Option<u32> {
    let opts = split_options(text, text.find('(')? + 1).ok()?;
    opts.iter()
        .find(|o| o.name == "sid")
        .and_then(|o| o.value.as_deref()?.trim().parse().ok())
}

#[derive(Debug, Default)]
struct Ids {
    sid: Option<u32>,
    gid: u32,
    rev: u32,
    msg: String,
    classtype: Option<String>,
    priority: Option<u8>,
    references: Vec<String>,
    metadata: Vec<String>,
}

/// One `name[:value];` option with its 1-based column.
#[derive(Debug)]
struct Opt {
    name: String,
    value: Option<String>,
    col: usize,
}

/// Column (1-based, in chars) of byte offset `at` in `text`.
fn col_of(text: &str, at: usize) -> usize {
    text.get(..at).map_or(at, |s| s.chars().count()) + 1
}

/// Split the options after byte offset `start` (just past `(`), up to the
/// closing `)`. Values keep their escapes.
fn split_options(text: &str, start: usize) -> Result<Vec<Opt>, RuleErr> {
    let body_end = match text.trim_end().strip_suffix(')') {
        Some(s) => s.len(),
        None => {
            return syn(
                col_of(text, text.trim_end().len()),
                "rule does not end with `)`",
            )
        }
    };
    if body_end < start {
        return syn(col_of(text, start), "rule does not end with `)`");
    }
    let Some(body) = text.get(start..body_end) else {
        return syn(col_of(text, start), "rule does not end with `)`");
    };
    let mut opts = Vec::new();
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let name_start = i;
        while i < bytes.len() && bytes[i] != b':' && bytes[i] != b';' {
            i += 1;
        }
        // `i` stops at an ASCII byte or the end: a character boundary.
        let name = body.get(name_start..i).unwrap_or("").trim().to_string();
        let col = col_of(text, start + name_start);
        if name.is_empty() {
            return syn(col, "empty option");
        }
        if name.contains(|c: char| c.is_whitespace() || c == '"' || c == '(' || c == ')') {
            return syn(col, format!("bad option name `{name}`"));
        }
        let mut value = None;
        if i < bytes.len() && bytes[i] == b':' {
            i += 1;
            let vstart = i;
            let mut esc = false;
            while i < bytes.len() {
                if esc {
                    esc = false;
                } else if bytes[i] == b'\\' {
                    esc = true;
                } else if bytes[i] == b';' {
                    break;
                }
                i += 1;
            }
            value = Some(body.get(vstart..i).unwrap_or("").trim().to_string());
        }
        if i >= bytes.len() {
            return syn(col, format!("option `{name}` is not terminated by `;`"));
        }
        i += 1; // the ';'
        opts.push(Opt { name, value, col });
    }
    Ok(opts)
}

/// Remove Suricata's escapes (`\;` `\"` `\\` `\:`) from a value.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some(d @ (';' | '"' | '\\' | ':')) => out.push(d),
                Some(d) => {
                    out.push('\\');
                    out.push(d);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A quoted string value (quotes optional), unescaped.
fn quoted(s: &str, col: usize) -> Result<String, RuleErr> {
    let s = s.trim();
    if let Some(inner) = s.strip_prefix('"') {
        match inner.strip_suffix('"') {
            Some(i) if !i.ends_with('\\') || i.ends_with("\\\\") => Ok(unescape(i)),
            _ => syn(col, "unterminated string"),
        }
    } else {
        Ok(unescape(s))
    }
}

/// "Payload Keywords / content": bytes, with `|hex|` segments.
fn content_bytes(s: &str, col: usize) -> Result<Vec<u8>, RuleErr> {
    let mut out = Vec::new();
    let mut hex = false;
    let mut nib: Option<u8> = None;
    for c in s.chars() {
        if c == '|' {
            if nib.is_some() {
                return syn(col, "odd number of hex digits in content");
            }
            hex = !hex;
            continue;
        }
        if hex {
            if c.is_ascii_whitespace() {
                continue;
            }
            let Some(d) = c.to_digit(16) else {
                return syn(col, format!("bad hex digit `{c}` in content"));
            };
            match nib.take() {
                Some(h) => out.push(h << 4 | d as u8),
                None => nib = Some(d as u8),
            }
        } else {
            let mut b = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
        }
    }
    if hex {
        return syn(col, "unterminated `|` in content");
    }
    Ok(out)
}

fn parse_u64(s: &str, col: usize, what: &str) -> Result<u64, RuleErr> {
    let s = s.trim();
    let r = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16)
    } else {
        s.parse()
    };
    r.or_else(|_| syn(col, format!("{what}: bad number `{s}`")))
}

fn parse_i64(s: &str, col: usize, what: &str) -> Result<i64, RuleErr> {
    let s = s.trim();
    match s.strip_prefix('-') {
        Some(r) => Ok(-(parse_u64(r, col, what)?.min(i64::MAX as u64) as i64)),
        None => Ok(parse_u64(s, col, what)?.min(i64::MAX as u64) as i64),
    }
}

/// Split the header at whitespace outside brackets.
fn header_tokens(h: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start: Option<usize> = None;
    for (i, c) in h.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ => {}
        }
        if c.is_whitespace() && depth <= 0 {
            if let Some(s) = start.take() {
                out.push((s, h.get(s..i).unwrap_or("")));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push((s, h.get(s..).unwrap_or("")));
    }
    out
}

/// Suricata's app-layer protocol names, with the transports they run on.
fn app_transport(name: &str) -> Option<&'static [u8]> {
    const TCP: &[u8] = &[6];
    const UDP: &[u8] = &[17];
    const BOTH: &[u8] = &[6, 17];
    Some(match name {
        "http" | "http1" | "http2" | "tls" | "ssh" | "ftp" | "ftp-data" | "smtp" | "imap"
        | "pop3" | "smb" | "rdp" | "mqtt" | "modbus" | "telnet" | "irc" | "pgsql" | "rfb"
        | "websocket" | "bittorrent" => TCP,
        "dns" | "dcerpc" | "nfs" | "krb5" | "sip" | "dnp3" | "enip" | "ldap" => BOTH,
        "ntp" | "dhcp" | "snmp" | "tftp" | "quic" | "ike" | "mdns" | "bittorrent-dht" => UDP,
        _ => return None,
    })
}

/// Normalise an app-layer protocol name (Suricata's aliases).
pub(crate) fn norm_app(name: &str) -> String {
    let n = name.trim().to_ascii_lowercase();
    match n.as_str() {
        "http1" => "http".into(),
        "ssl" => "tls".into(),
        _ => n,
    }
}

/// netsift's protocol name → Suricata's app-layer name.
pub(crate) fn suricata_app(netsift: &str) -> String {
    let n = netsift.to_ascii_lowercase();
    match n.as_str() {
        "ftp_control" => "ftp".into(),
        "ftp_data" => "ftp-data".into(),
        "smbv1" | "smbv23" => "smb".into(),
        "kerberos" => "krb5".into(),
        "ethernetip" => "enip".into(),
        "postgresql" => "pgsql".into(),
        "vnc" => "rfb".into(),
        "http_proxy" => "http".into(),
        "ssl" => "tls".into(),
        _ => n,
    }
}

fn sticky(name: &str) -> Option<(Inspect, Side)> {
    use BufferKind::*;
    let k = match name {
        "pkt_data" => return Some((Inspect::Packet, Side::Any)),
        "file.data" | "file_data" => return Some((Inspect::FileData, Side::Any)),
        "http.request_body" => return Some((Inspect::FileData, Side::Request)),
        "http.response_body" => return Some((Inspect::FileData, Side::Response)),
        "file.name" => return Some((Inspect::FileName, Side::Any)),
        "file.magic" => return Some((Inspect::FileMagic, Side::Any)),
        "http.uri" => HttpUri,
        "http.uri.raw" => HttpUriRaw,
        "http.method" => HttpMethod,
        "http.host" => HttpHost,
        "http.host.raw" => HttpHostRaw,
        "http.user_agent" => HttpUserAgent,
        "http.header" => HttpHeader,
        "http.header.raw" => HttpHeaderRaw,
        "http.cookie" => HttpCookie,
        "http.stat_code" => HttpStatCode,
        "http.stat_msg" => HttpStatMsg,
        "http.request_line" | "http_request_line" => HttpRequestLine,
        "http.response_line" | "http_response_line" => HttpResponseLine,
        "http.protocol" | "http_protocol" => HttpProtocol,
        "http.content_type" | "http_content_type" => HttpContentType,
        "http.content_len" | "http_content_len" => HttpContentLen,
        "tls.sni" | "tls_sni" => TlsSni,
        "tls.cert_subject" | "tls_cert_subject" => TlsCertSubject,
        "tls.cert_issuer" | "tls_cert_issuer" => TlsCertIssuer,
        "tls.cert_serial" | "tls_cert_serial" => TlsCertSerial,
        "ja3.hash" | "ja3_hash" => Ja3Hash,
        "ja3.string" | "ja3_string" => Ja3String,
        "ja3s.hash" | "ja3s_hash" => Ja3sHash,
        "ja3s.string" | "ja3s_string" => Ja3sString,
        "dns.query" | "dns_query" => DnsQuery,
        "ssh.proto" | "ssh_proto" => SshProto,
        "ssh.software" | "ssh_software" => SshSoftware,
        _ => return None,
    };
    Some((Inspect::Tx(k), side_of(k)))
}

/// Old-style content modifiers: they move the preceding content.
fn modifier(name: &str) -> Option<(Inspect, Side)> {
    use BufferKind::*;
    let k = match name {
        "http_uri" => HttpUri,
        "http_raw_uri" => HttpUriRaw,
        "http_method" => HttpMethod,
        "http_host" => HttpHost,
        "http_raw_host" => HttpHostRaw,
        "http_user_agent" => HttpUserAgent,
        "http_header" => HttpHeader,
        "http_raw_header" => HttpHeaderRaw,
        "http_cookie" => HttpCookie,
        "http_stat_code" => HttpStatCode,
        "http_stat_msg" => HttpStatMsg,
        "http_client_body" => return Some((Inspect::FileData, Side::Request)),
        "http_server_body" => return Some((Inspect::FileData, Side::Response)),
        _ => return None,
    };
    Some((Inspect::Tx(k), side_of(k)))
}

/// The buffer a pcre flag selects ("pcre": U I P Q H D M C K S Y V W Z).
fn pcre_buffer(c: char) -> Option<(Inspect, Side)> {
    use BufferKind::*;
    let k = match c {
        'U' => HttpUri,
        'I' => HttpUriRaw,
        'P' => return Some((Inspect::FileData, Side::Request)),
        'Q' => return Some((Inspect::FileData, Side::Response)),
        'H' => HttpHeader,
        'D' => HttpHeaderRaw,
        'M' => HttpMethod,
        // Suricata has no raw cookie buffer: K reads the cookie too.
        'C' | 'K' => HttpCookie,
        'S' => HttpStatCode,
        'Y' => HttpStatMsg,
        'V' => HttpUserAgent,
        'W' => HttpHost,
        'Z' => HttpHostRaw,
        _ => return None,
    };
    Some((Inspect::Tx(k), side_of(k)))
}

fn ip_proto_number(s: &str) -> Option<u64> {
    Some(match s.to_ascii_lowercase().as_str() {
        "hopopt" => 0,
        "icmp" => 1,
        "igmp" => 2,
        "ipip" | "ipv4" | "ip-in-ip" => 4,
        "tcp" => 6,
        "egp" => 8,
        "udp" => 17,
        "ipv6" => 41,
        "ipv6-route" => 43,
        "ipv6-frag" => 44,
        "rsvp" => 46,
        "gre" => 47,
        "esp" => 50,
        "ah" => 51,
        "ipv6-icmp" | "icmpv6" | "icmp6" => 58,
        "ipv6-nonxt" => 59,
        "ipv6-opts" => 60,
        "eigrp" => 88,
        "ospf" | "ospfigp" => 89,
        "pim" => 103,
        "vrrp" => 112,
        "l2tp" => 115,
        "sctp" => 132,
        _ => return s.trim().parse().ok(),
    })
}

/// Parsing state of one rule's options.
struct Builder {
    cur: (Inspect, Side),
    /// Transforms of the current sticky buffer.
    cur_tf: Vec<Transform>,
    /// A sticky buffer keyword was given, and no part followed it yet.
    sticky_open: bool,
    parts: Vec<(Inspect, Side, Vec<Transform>, Part)>,
    /// byte_extract variable names, by index.
    vars: Vec<String>,
    last_content: Option<usize>,
    det: Detection,
}

impl Builder {
    fn last_content(&mut self, col: usize, kw: &str) -> Result<&mut Content, RuleErr> {
        match self.last_content.and_then(|i| self.parts.get_mut(i)) {
            Some((_, _, _, Part::Content(c))) => Ok(c),
            _ => syn(col, format!("`{kw}` needs a preceding content")),
        }
    }
    fn push(&mut self, p: Part) {
        let is_content = matches!(p, Part::Content(_));
        self.sticky_open = false;
        self.parts
            .push((self.cur.0, self.cur.1, self.cur_tf.clone(), p));
        if is_content {
            self.last_content = Some(self.parts.len() - 1);
        }
    }
}

type Parsed = (Action, Ids, Detection);

fn parse_rule(text: &str, dir: Option<&Path>, vars: &Vars) -> Result<Parsed, RuleErr> {
    let Some(paren) = text.find('(') else {
        return syn(col_of(text, text.len()), "no `(` starting the options");
    };
    let header = text.get(..paren).unwrap_or("");
    let toks = header_tokens(header);
    if toks.len() != 7 {
        return syn(
            1,
            format!(
                "the header needs 7 fields (action protocol src sport direction dst dport), found {}",
                toks.len()
            ),
        );
    }
    let col = |i: usize| col_of(text, toks[i].0);
    let action = match toks[0].1 {
        "alert" => Action::Alert,
        "drop" => Action::Drop,
        "pass" => Action::Pass,
        "reject" | "rejectsrc" | "rejectdst" | "rejectboth" => Action::Reject,
        "config" => return skip("config", "the `config` action is not supported"),
        a => return syn(col(0), format!("unknown action `{a}`")),
    };
    let proto = toks[1].1.to_ascii_lowercase();
    let mut stream = StreamMode::Both;
    let (l4, app): (Option<Vec<u8>>, Option<String>) = match proto.as_str() {
        "ip" | "any" | "ipv4" | "ip4" | "ipv6" | "ip6" => (None, None),
        "tcp" => (Some(vec![6]), None),
        "tcp-pkt" => {
            stream = StreamMode::NoStream;
            (Some(vec![6]), None)
        }
        "tcp-stream" => {
            stream = StreamMode::OnlyStream;
            (Some(vec![6]), None)
        }
        "udp" => (Some(vec![17]), None),
        "icmp" => (Some(vec![1, 58]), None),
        "icmpv4" => (Some(vec![1]), None),
        "icmpv6" => (Some(vec![58]), None),
        "sctp" => (Some(vec![132]), None),
        p => {
            let n = norm_app(p);
            match app_transport(&n) {
                Some(t) => (Some(t.to_vec()), Some(n)),
                None => return skip(p, "protocol not supported"),
            }
        }
    };
    let src = parse_addr(toks[2].1, vars).or_else(|e| syn(col(2), e))?;
    let sp = parse_port(toks[3].1, vars).or_else(|e| syn(col(3), e))?;
    let bidir = match toks[4].1 {
        "->" => false,
        "<>" => true,
        d => return syn(col(4), format!("bad direction `{d}` (use -> or <>)")),
    };
    let dst = parse_addr(toks[5].1, vars).or_else(|e| syn(col(5), e))?;
    let dp = parse_port(toks[6].1, vars).or_else(|e| syn(col(6), e))?;

    let opts = split_options(text, paren + 1)?;
    let mut ids = Ids {
        gid: 1,
        ..Ids::default()
    };
    let mut b = Builder {
        cur: (Inspect::Packet, Side::Any),
        cur_tf: Vec::new(),
        sticky_open: false,
        parts: Vec::new(),
        vars: Vec::new(),
        last_content: None,
        det: Detection {
            l4,
            app,
            src,
            sp,
            dst,
            dp,
            bidir,
            to_server: None,
            established: None,
            stream,
            flowbits: Vec::new(),
            noalert: false,
            threshold: None,
            detection_filter: None,
            pkt: Vec::new(),
            bufs: Vec::new(),
            files: Vec::new(),
            kind: Kind::Packet,
            ip_only: false,
            fast: None,
        },
    };
    for o in &opts {
        option(&mut b, &mut ids, o, dir)?;
    }
    if ids.sid.is_none() {
        return syn(col_of(text, paren), "rule has no sid");
    }
    finish(b, ids, action)
}

fn need(o: &Opt) -> Result<&str, RuleErr> {
    match o.value.as_deref() {
        Some(v) if !v.is_empty() => Ok(v),
        _ => syn(o.col, format!("`{}` needs a value", o.name)),
    }
}

fn option(b: &mut Builder, ids: &mut Ids, o: &Opt, dir: Option<&Path>) -> Result<(), RuleErr> {
    let name = o.name.as_str();
    let col = o.col;
    if let Some(cur) = sticky(name) {
        if o.value.is_some() {
            return syn(col, format!("`{name}` takes no value"));
        }
        b.cur = cur;
        b.cur_tf.clear();
        b.sticky_open = true;
        return Ok(());
    }
    if let Some(t) = Transform::parse(name) {
        // "Transformations": they come right after the sticky buffer.
        if !b.sticky_open {
            return syn(col, format!("`{name}` must follow a sticky buffer keyword"));
        }
        if o.value.is_some() {
            return syn(col, format!("`{name}` takes no value"));
        }
        b.cur_tf.push(t);
        return Ok(());
    }
    if let Some((ins, side)) = modifier(name) {
        let i = match b.last_content {
            Some(i) => i,
            None => return syn(col, format!("`{name}` needs a preceding content")),
        };
        if let Some(p) = b.parts.get_mut(i) {
            p.0 = ins;
            p.1 = side;
            p.2 = Vec::new();
        }
        return Ok(());
    }
    match name {
        "msg" => ids.msg = quoted(need(o)?, col)?,
        "sid" => {
            let v = parse_u64(need(o)?, col, "sid")?;
            ids.sid = Some(u32::try_from(v).or_else(|_| syn(col, "sid too large"))?);
        }
        "rev" => ids.rev = parse_u64(need(o)?, col, "rev")?.min(u32::MAX as u64) as u32,
        "gid" => ids.gid = parse_u64(need(o)?, col, "gid")?.min(u32::MAX as u64) as u32,
        "classtype" => {
            let v = need(o)?.trim();
            match classification(v) {
                Some(c) => ids.classtype = Some(c.name.to_string()),
                None => return skip("classtype", format!("unknown classtype `{v}`")),
            }
        }
        "priority" => {
            let v = parse_u64(need(o)?, col, "priority")?;
            ids.priority = Some(v.clamp(1, 255) as u8);
        }
        "reference" => ids.references.push(unescape(need(o)?)),
        "metadata" => ids.metadata.extend(
            unescape(need(o)?)
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
        ),
        // Accepted without effect on detection.
        "target" | "tag" | "rawbytes" => {}
        "noalert" => b.det.noalert = true,
        "content" => {
            let v = need(o)?.trim();
            let (neg, v) = match v.strip_prefix('!') {
                Some(r) => (true, r.trim_start()),
                None => (false, v),
            };
            let pat = content_bytes(&quoted(v, col)?, col)?;
            if pat.is_empty() {
                return syn(col, "empty content");
            }
            b.push(Part::Content(Content::new(pat, neg)));
        }
        "uricontent" => {
            let pat = content_bytes(&quoted(need(o)?, col)?, col)?;
            let saved = b.cur;
            b.cur = (Inspect::Tx(BufferKind::HttpUri), Side::Request);
            b.push(Part::Content(Content::new(pat, false)));
            b.cur = saved;
        }
        "nocase" => b.last_content(col, name)?.nocase = true,
        "offset" | "depth" | "distance" | "within" => {
            let n = num(b, need(o)?, col, name)?;
            // Literal ranges: offset, depth, within are not negative;
            // distance may be.
            if let Num::Lit(l) = n {
                let ok = if name == "distance" {
                    i32::try_from(l).is_ok()
                } else {
                    u32::try_from(l).is_ok()
                };
                if !ok {
                    return syn(col, format!("`{name}` out of range"));
                }
            }
            let c = b.last_content(col, name)?;
            match name {
                "offset" => c.offset = Some(n),
                "depth" => c.depth = Some(n),
                "within" => c.within = Some(n),
                _ => c.distance = Some(n),
            }
        }
        "startswith" => b.last_content(col, name)?.startswith = true,
        "endswith" => b.last_content(col, name)?.endswith = true,
        "fast_pattern" => {
            let f = match o.value.as_deref().map(str::trim) {
                None => Fast::Yes,
                Some("only") => Fast::Only,
                Some(v) => {
                    let (a, l) = v.split_once(',').ok_or_else(|| RuleErr::Syntax {
                        col,
                        msg: format!("bad fast_pattern `{v}`"),
                    })?;
                    Fast::Slice(
                        parse_u64(a, col, name)? as usize,
                        parse_u64(l, col, name)? as usize,
                    )
                }
            };
            b.last_content(col, name)?.fast = f;
        }
        "isdataat" => {
            let v = need(o)?;
            let mut it = v.split(',').map(str::trim);
            let first = it.next().unwrap_or("");
            let (negated, n) = match first.strip_prefix('!') {
                Some(r) => (true, r),
                None => (false, first),
            };
            let n = num(b, n, col, name)?;
            if matches!(n, Num::Lit(l) if l < 0) {
                return syn(col, "isdataat: negative");
            }
            let mut relative = false;
            for f in it {
                match f {
                    "relative" => relative = true,
                    "rawbytes" => {}
                    _ => return syn(col, format!("isdataat: unknown option `{f}`")),
                }
            }
            b.push(Part::IsDataAt {
                n,
                relative,
                negated,
            });
        }
        "pcre" => pcre(b, o)?,
        "byte_test" => byte_test(b, o)?,
        "byte_jump" => byte_jump(b, o)?,
        "byte_extract" => byte_extract(b, o)?,
        "dsize" => b.det.pkt.push(PktTest::Dsize(
            NumCmp::parse(need(o)?, 65535).or_else(|e| syn(col, e))?,
        )),
        "bsize" => {
            let c = NumCmp::parse(need(o)?, u64::MAX).or_else(|e| syn(col, e))?;
            b.push(Part::Len(c));
        }
        "urilen" => {
            let v = need(o)?;
            let (num, raw) = match v.split_once(',') {
                Some((n, m)) => match m.trim() {
                    "raw" => (n, true),
                    "norm" => (n, false),
                    m => return syn(col, format!("urilen: unknown option `{m}`")),
                },
                None => (v, false),
            };
            let c = NumCmp::parse(num, u64::MAX).or_else(|e| syn(col, e))?;
            let k = if raw {
                BufferKind::HttpUriRaw
            } else {
                BufferKind::HttpUri
            };
            b.parts
                .push((Inspect::Tx(k), Side::Request, Vec::new(), Part::Len(c)));
        }
        "flow" => {
            for f in need(o)?.split(',').map(str::trim) {
                match f {
                    "to_server" | "from_client" => b.det.to_server = Some(true),
                    "to_client" | "from_server" => b.det.to_server = Some(false),
                    "established" => b.det.established = Some(true),
                    "not_established" => b.det.established = Some(false),
                    "stateless" => {}
                    "only_stream" => b.det.stream = StreamMode::OnlyStream,
                    "no_stream" => b.det.stream = StreamMode::NoStream,
                    "only_frag" | "no_frag" => {
                        return skip("flow", format!("`flow:{f}` is not supported"))
                    }
                    _ => return syn(col, format!("flow: unknown option `{f}`")),
                }
            }
        }
        "flowbits" => flowbits(b, o)?,
        "threshold" | "detection_filter" => {
            let t = threshold(o, name == "detection_filter")?;
            if name == "threshold" {
                b.det.threshold = Some(t);
            } else {
                b.det.detection_filter = Some(t);
            }
        }
        "itype" => b.det.pkt.push(PktTest::IType(
            NumCmp::parse(need(o)?, 255).or_else(|e| syn(col, e))?,
        )),
        "icode" => b.det.pkt.push(PktTest::ICode(
            NumCmp::parse(need(o)?, 255).or_else(|e| syn(col, e))?,
        )),
        "ttl" => b.det.pkt.push(PktTest::Ttl(
            NumCmp::parse(need(o)?, 255).or_else(|e| syn(col, e))?,
        )),
        "ip_proto" => {
            let v = need(o)?.trim();
            let (pre, rest) = match v.find(|c: char| c.is_ascii_alphanumeric()) {
                Some(i) => v.split_at(i),
                None => return syn(col, "ip_proto: no protocol"),
            };
            let n = ip_proto_number(rest).ok_or_else(|| RuleErr::Syntax {
                col,
                msg: format!("ip_proto: unknown protocol `{rest}`"),
            })?;
            let c = NumCmp::parse(&format!("{pre}{n}"), 255).or_else(|e| syn(col, e))?;
            b.det.pkt.push(PktTest::IpProto(c));
        }
        "sameip" => b.det.pkt.push(PktTest::SameIp),
        "flags" => flags(b, o)?,
        "app-layer-protocol" => {
            let v = need(o)?;
            let (p, opt) = match v.split_once(',') {
                Some((p, m)) => (p.trim(), Some(m.trim())),
                None => (v.trim(), None),
            };
            if let Some(m) = opt {
                if m != "final" {
                    return skip(name, format!("`{m}` is not supported"));
                }
            }
            let (negated, p) = match p.strip_prefix('!') {
                Some(r) => (true, r.trim()),
                None => (false, p),
            };
            let n = norm_app(p);
            if app_transport(&n).is_none() {
                return skip(name, format!("protocol `{p}` is not supported"));
            }
            b.det.pkt.push(PktTest::AppProto { name: n, negated });
        }
        "filename" | "filemagic" => {
            let v = need(o)?.trim();
            let (neg, v) = match v.strip_prefix('!') {
                Some(r) => (true, r.trim_start()),
                None => (false, v),
            };
            let pat = content_bytes(&quoted(v, col)?, col)?;
            let ins = if name == "filename" {
                Inspect::FileName
            } else {
                Inspect::FileMagic
            };
            let saved = b.cur;
            b.cur = (ins, Side::Any);
            b.push(Part::Content(Content::new(pat, neg)));
            b.cur = saved;
        }
        "fileext" => {
            let v = quoted(need(o)?, col)?;
            b.parts.push((
                Inspect::FileName,
                Side::Any,
                Vec::new(),
                Part::FileExt(v.trim_start_matches('.').as_bytes().to_vec()),
            ));
        }
        "filemd5" | "filesha256" => {
            let v = need(o)?.trim();
            let (negated, f) = match v.strip_prefix('!') {
                Some(r) => (true, r.trim()),
                None => (false, v),
            };
            let f = quoted(f, col)?;
            let path = match dir {
                Some(d) => d.join(&f),
                None => Path::new(&f).to_path_buf(),
            };
            let set = read_hash_list(&path, name == "filesha256").or_else(|e| skip(name, e))?;
            b.det.files.push(FileTest::Hash {
                sha256: name == "filesha256",
                negated,
                set: Arc::new(set),
            });
        }
        _ => return skip(name, "keyword not supported"),
    }
    Ok(())
}

fn read_hash_list(path: &Path, sha256: bool) -> Result<HashSet<String>, String> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut text = String::new();
    f.take(MAX_HASH_FILE)
        .read_to_string(&mut text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let want = if sha256 { 64 } else { 32 };
    let mut set = HashSet::new();
    for line in text.lines() {
        // "File Keywords": one hash per line; anything after the hash
        // (a file name) is ignored.
        let h = line.split_whitespace().next().unwrap_or("");
        if h.is_empty() || h.starts_with('#') {
            continue;
        }
        if h.len() != want || !h.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!("{}: `{h}` is not a hash", path.display()));
        }
        set.insert(h.to_ascii_lowercase());
    }
    Ok(set)
}

fn pcre(b: &mut Builder, o: &Opt) -> Result<(), RuleErr> {
    let col = o.col;
    let v = need(o)?.trim();
    let (negated, v) = match v.strip_prefix('!') {
        Some(r) => (true, r.trim_start()),
        None => (false, v),
    };
    let v = v
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .ok_or_else(|| RuleErr::Syntax {
            col,
            msg: "pcre: the expression must be quoted".into(),
        })?;
    let v = v.strip_prefix('/').ok_or_else(|| RuleErr::Syntax {
        col,
        msg: "pcre: the expression must start with `/`".into(),
    })?;
    let Some(end) = v.rfind('/') else {
        return syn(col, "pcre: no closing `/`");
    };
    let (Some(pat), Some(flags)) = (v.get(..end), v.get(end + 1..)) else {
        return syn(col, "pcre: no closing `/`");
    };
    let mut f = PcreFlags::default();
    let mut relative = false;
    let mut buf: Option<(Inspect, Side)> = None;
    for c in flags.chars() {
        match c {
            'i' => f.i = true,
            's' => f.s = true,
            'm' => f.m = true,
            'x' => f.x = true,
            'A' => f.anchored = true,
            // "E: ignores newline characters at the end of the buffer":
            // `$` matches only at the very end, as the Rust engines do.
            'E' => {}
            'G' => f.ungreedy = true,
            'R' => relative = true,
            // "B: for compatibility"; "O: overrides the match limit" — our
            // limits stay.
            'B' | 'O' => {}
            c => match pcre_buffer(c) {
                Some(x) => buf = Some(x),
                None => return syn(col, format!("pcre: unknown flag `{c}`")),
            },
        }
    }
    // "Changes from PCRE1 to PCRE2" / pcre docs: the rule text escapes `;`
    // and `"`; the expression itself is PCRE syntax.
    let pat = pat.replace("\\;", ";").replace("\\\"", "\"");
    let re = Pcre::compile(&pat, f).or_else(|e| skip("pcre", format!("not supported: {e}")))?;
    let p = Part::Pcre(Pcre {
        re,
        negated,
        relative,
    });
    match buf {
        Some((ins, side)) => b.parts.push((ins, side, Vec::new(), p)),
        None => b.push(p),
    }
    Ok(())
}

/// The options shared by byte_test and byte_jump after the mandatory ones.
struct ReadOpts {
    relative: bool,
    little: bool,
    string: Option<Base>,
    bitmask: Option<u64>,
}

/// A literal number or a byte_extract variable defined earlier in the rule.
fn num(b: &Builder, s: &str, col: usize, kw: &str) -> Result<Num, RuleErr> {
    let s = s.trim();
    if s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
    {
        return match b.vars.iter().position(|v| v == s) {
            Some(i) => Ok(Num::Var(i as u8)),
            None => syn(col, format!("{kw}: unknown variable `{s}`")),
        };
    }
    Ok(Num::Lit(parse_i64(s, col, kw)?))
}

fn byte_value(s: &str, col: usize, kw: &str) -> Result<u64, RuleErr> {
    parse_u64(s, col, kw)
}

fn byte_test(b: &mut Builder, o: &Opt) -> Result<(), RuleErr> {
    // "byte_test:<num of bytes>, [!]<operator>, <test value>, <offset>
    // [,relative] [,<endian>] [,string, <num type>] [,dce] [,bitmask <value>]"
    let col = o.col;
    let v = need(o)?;
    let items: Vec<&str> = v.split(',').map(str::trim).collect();
    if items.len() < 4 {
        return syn(col, "byte_test needs bytes, operator, value, offset");
    }
    let nbytes = byte_value(items[0], col, "byte_test")? as usize;
    let (negated, op) = match items[1].strip_prefix('!') {
        Some(r) => (true, r.trim()),
        None => (false, items[1]),
    };
    let (negated, op) = match op {
        "<" => (negated, ByteOp::Lt),
        ">" => (negated, ByteOp::Gt),
        "=" => (negated, ByteOp::Eq),
        // `!` alone: not equal.
        "" if negated => (true, ByteOp::Eq),
        "<=" => (negated, ByteOp::Le),
        ">=" => (negated, ByteOp::Ge),
        "&" => (negated, ByteOp::And),
        "^" => (negated, ByteOp::Xor),
        "!=" => (!negated, ByteOp::Eq),
        _ => return syn(col, format!("byte_test: bad operator `{}`", items[1])),
    };
    let value = match num(b, items[2], col, "byte_test")? {
        Num::Lit(l) if l < 0 => return syn(col, "byte_test: negative value"),
        n => n,
    };
    let offset = num(b, items[3], col, "byte_test")?;
    let r = read_opts(&items[4..], col, "byte_test", &mut |_| Ok(false))?;
    let read = num_read(nbytes, offset, r, col, "byte_test")?;
    b.push(Part::ByteTest(ByteTest {
        read,
        op,
        negated,
        value,
    }));
    Ok(())
}

fn num_read(
    nbytes: usize,
    offset: Num,
    r: ReadOpts,
    col: usize,
    kw: &str,
) -> Result<NumRead, RuleErr> {
    let max = if r.string.is_some() { 20 } else { 8 };
    if nbytes == 0 || nbytes > max {
        return syn(
            col,
            format!("{kw}: {nbytes} bytes is out of range (1..={max})"),
        );
    }
    Ok(NumRead {
        nbytes,
        offset,
        relative: r.relative,
        little: r.little,
        string: r.string,
        bitmask: r.bitmask,
    })
}

fn read_opts(
    items: &[&str],
    col: usize,
    kw: &str,
    extra: &mut dyn FnMut(&str) -> Result<bool, RuleErr>,
) -> Result<ReadOpts, RuleErr> {
    let mut r = ReadOpts {
        relative: false,
        little: false,
        string: None,
        bitmask: None,
    };
    let mut string = false;
    for &it in items {
        let mut w = it.split_whitespace();
        let word = w.next().unwrap_or("");
        match word {
            "relative" => r.relative = true,
            "big" => r.little = false,
            "little" => r.little = true,
            "string" => {
                string = true;
                r.string.get_or_insert(Base::Dec);
            }
            "dec" => r.string = Some(Base::Dec),
            "hex" => r.string = Some(Base::Hex),
            "oct" => r.string = Some(Base::Oct),
            "dce" => return skip(kw, "the `dce` option is not supported"),
            "bitmask" => {
                let m = w.next().ok_or_else(|| RuleErr::Syntax {
                    col,
                    msg: format!("{kw}: bitmask needs a value"),
                })?;
                r.bitmask = Some(parse_u64(m, col, kw)?);
            }
            _ => {
                if !extra(it)? {
                    return syn(col, format!("{kw}: unknown option `{it}`"));
                }
            }
        }
    }
    if r.string.is_some() && !string {
        return syn(col, format!("{kw}: hex/dec/oct need `string`"));
    }
    Ok(r)
}

fn byte_jump(b: &mut Builder, o: &Opt) -> Result<(), RuleErr> {
    // "byte_jump:<num of bytes>, <offset> [, relative][, multiplier
    // <mult_value>] [, <endian>][, string, <num_type>][, align][,
    // from_beginning][, from_end][, post_offset <value>][, dce][, bitmask
    // <value>]"
    let col = o.col;
    let v = need(o)?;
    let items: Vec<&str> = v.split(',').map(str::trim).collect();
    if items.len() < 2 {
        return syn(col, "byte_jump needs bytes and offset");
    }
    let nbytes = byte_value(items[0], col, "byte_jump")? as usize;
    let offset = num(b, items[1], col, "byte_jump")?;
    let mut j = ByteJump {
        read: NumRead {
            nbytes: 1,
            offset: Num::Lit(0),
            relative: false,
            little: false,
            string: None,
            bitmask: None,
        },
        multiplier: 1,
        align: false,
        from_beginning: false,
        from_end: false,
        post_offset: 0,
    };
    let r = {
        let j = &mut j;
        read_opts(&items[2..], col, "byte_jump", &mut |it: &str| {
            let mut w = it.split_whitespace();
            match w.next().unwrap_or("") {
                "align" => j.align = true,
                "from_beginning" => j.from_beginning = true,
                "from_end" => j.from_end = true,
                "multiplier" => {
                    j.multiplier = parse_u64(w.next().unwrap_or(""), col, "byte_jump")?;
                }
                "post_offset" => {
                    j.post_offset = parse_i64(w.next().unwrap_or(""), col, "byte_jump")?;
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?
    };
    if j.from_beginning && j.from_end {
        return syn(col, "byte_jump: from_beginning and from_end together");
    }
    j.read = num_read(nbytes, offset, r, col, "byte_jump")?;
    b.push(Part::ByteJump(j));
    Ok(())
}

fn byte_extract(b: &mut Builder, o: &Opt) -> Result<(), RuleErr> {
    // "byte_extract:<num of bytes>, <offset>, <var_name>, [options]" with
    // options "multiplier <value>, <endian>, dce, string [, <num type>],
    // align <2|4>, relative"; the variable is used by later content
    // modifiers, isdataat, byte_test and byte_jump of the rule.
    let col = o.col;
    let v = need(o)?;
    let items: Vec<&str> = v.split(',').map(str::trim).collect();
    if items.len() < 3 {
        return syn(col, "byte_extract needs bytes, offset and a variable name");
    }
    let nbytes = byte_value(items[0], col, "byte_extract")? as usize;
    let offset = Num::Lit(parse_i64(items[1], col, "byte_extract")?);
    let name = items[2];
    if name.is_empty()
        || !name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return syn(col, format!("byte_extract: bad variable name `{name}`"));
    }
    let (mut multiplier, mut align) = (1u64, 0u64);
    let r = read_opts(&items[3..], col, "byte_extract", &mut |it: &str| {
        let mut w = it.split_whitespace();
        match w.next().unwrap_or("") {
            "multiplier" => multiplier = parse_u64(w.next().unwrap_or(""), col, "byte_extract")?,
            "align" => {
                align = parse_u64(w.next().unwrap_or(""), col, "byte_extract")?;
                if align != 2 && align != 4 {
                    return syn(col, "byte_extract: align must be 2 or 4");
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    let read = num_read(nbytes, offset, r, col, "byte_extract")?;
    let var = match b.vars.iter().position(|v| v == name) {
        Some(i) => i,
        None => {
            if b.vars.len() >= MAX_VARS {
                return skip("byte_extract", format!("more than {MAX_VARS} variables"));
            }
            b.vars.push(name.to_string());
            b.vars.len() - 1
        }
    };
    b.push(Part::ByteExtract(ByteExtract {
        read,
        multiplier,
        align,
        var: var as u8,
    }));
    Ok(())
}

fn flowbits(b: &mut Builder, o: &Opt) -> Result<(), RuleErr> {
    // "Flow keywords / flowbits": set, isset, toggle, unset, isnotset,
    // noalert; `|` (any) and `&` (all) combine names.
    let col = o.col;
    let v = need(o)?;
    let (cmd, names) = match v.split_once(',') {
        Some((c, n)) => (c.trim(), Some(n.trim())),
        None => (v.trim(), None),
    };
    let op = match cmd {
        "noalert" => {
            b.det.noalert = true;
            return Ok(());
        }
        "set" => BitOp::Set,
        "unset" => BitOp::Unset,
        "toggle" => BitOp::Toggle,
        "isset" => BitOp::IsSet,
        "isnotset" => BitOp::IsNotSet,
        _ => return syn(col, format!("flowbits: unknown command `{cmd}`")),
    };
    let Some(names) = names.filter(|n| !n.is_empty()) else {
        return syn(col, format!("flowbits:{cmd} needs a name"));
    };
    let all = names.contains('&');
    if all && names.contains('|') {
        return syn(col, "flowbits: `&` and `|` cannot be mixed");
    }
    let list: Vec<String> = names
        .split(['|', '&'])
        .map(|s| s.trim().to_string())
        .collect();
    if list
        .iter()
        .any(|n| n.is_empty() || n.contains(char::is_whitespace))
    {
        return syn(col, format!("flowbits: bad name list `{names}`"));
    }
    b.det.flowbits.push(Flowbit {
        op,
        names: list,
        ids: Vec::new(),
        all,
    });
    Ok(())
}

fn threshold(o: &Opt, filter: bool) -> Result<Threshold, RuleErr> {
    // "Thresholding": `threshold: type <threshold|limit|both>, track
    // <by_src|by_dst|by_rule|by_both>, count <N>, seconds <T>`;
    // `detection_filter: track <by_src|by_dst|by_rule|by_both>, count <N>,
    // seconds <T>`.
    let col = o.col;
    let v = need(o)?;
    let (mut ty, mut track, mut count, mut seconds) = (None, None, None, None);
    for it in v.split(',') {
        let mut w = it.split_whitespace();
        let (Some(k), Some(val), None) = (w.next(), w.next(), w.next()) else {
            return syn(col, format!("{}: bad item `{}`", o.name, it.trim()));
        };
        match k {
            "type" if !filter => {
                ty = Some(match val {
                    "limit" => ThType::Limit,
                    "threshold" => ThType::Threshold,
                    "both" => ThType::Both,
                    _ => return syn(col, format!("threshold: bad type `{val}`")),
                })
            }
            "track" => {
                track = Some(match val {
                    "by_src" => Track::Src,
                    "by_dst" => Track::Dst,
                    "by_rule" => Track::Rule,
                    "by_both" => Track::Both,
                    "by_flow" => return skip(&o.name, "`track by_flow` is not supported"),
                    _ => return syn(col, format!("{}: bad track `{val}`", o.name)),
                })
            }
            "count" => count = Some(parse_u64(val, col, &o.name)?),
            "seconds" => seconds = Some(parse_u64(val, col, &o.name)?),
            "unique_on" => return skip(&o.name, "`unique_on` is not supported"),
            _ => return syn(col, format!("{}: unknown item `{k}`", o.name)),
        }
    }
    let ty = if filter { Some(ThType::Filter) } else { ty };
    match (ty, track, count, seconds) {
        (Some(ty), Some(track), Some(count), Some(seconds)) => Ok(Threshold {
            ty,
            track,
            count,
            seconds,
        }),
        _ => syn(
            col,
            format!("{}: needs type, track, count and seconds", o.name),
        ),
    }
}

fn flags(b: &mut Builder, o: &Opt) -> Result<(), RuleErr> {
    // "TCP keywords / flags": F S R P A U C E 0, modifiers `+` `*` `!`,
    // and an optional mask of flags to ignore after a comma.
    let col = o.col;
    let v = need(o)?;
    let (f, m) = match v.split_once(',') {
        Some((f, m)) => (f.trim(), Some(m.trim())),
        None => (v.trim(), None),
    };
    let bits = |s: &str| -> Result<u8, RuleErr> {
        let mut x = 0u8;
        for c in s.chars() {
            x |= match c.to_ascii_uppercase() {
                'F' => 0x01,
                'S' => 0x02,
                'R' => 0x04,
                'P' => 0x08,
                'A' => 0x10,
                'U' => 0x20,
                'E' | '2' => 0x40,
                'C' | '1' => 0x80,
                '0' => 0,
                _ => return syn(col, format!("flags: unknown flag `{c}`")),
            };
        }
        Ok(x)
    };
    let mut mode = FlagMode::Exact;
    let mut rest = String::new();
    for c in f.chars() {
        match c {
            '+' => mode = FlagMode::All,
            '*' => mode = FlagMode::Any,
            '!' => mode = FlagMode::Not,
            c => rest.push(c),
        }
    }
    let flags = bits(&rest)?;
    let mask = match m {
        Some(m) => bits(m)?,
        None => 0,
    };
    b.det.pkt.push(PktTest::Flags { mode, flags, mask });
    Ok(())
}

fn finish(b: Builder, ids: Ids, action: Action) -> Result<Parsed, RuleErr> {
    if b.parts.len() > MAX_PARTS {
        return skip(
            "content",
            format!("more than {MAX_PARTS} payload keywords in one rule"),
        );
    }
    let mut det = b.det;
    // Group the parts by buffer, keeping their order inside each buffer.
    for (ins, side, tf, part) in b.parts {
        match det
            .bufs
            .iter_mut()
            .find(|m| m.inspect == ins && m.side == side && m.transforms == tf)
        {
            Some(m) => m.parts.push(part),
            None => det.bufs.push(BufMatch {
                inspect: ins,
                side,
                transforms: tf,
                parts: vec![part],
            }),
        }
    }
    // byte_extract variables live in the buffer that extracts them.
    for m in &det.bufs {
        let mut defined = [false; MAX_VARS];
        for p in &m.parts {
            let used_ok = p.vars_used().iter().all(|&v| defined[usize::from(v)]);
            if !used_ok {
                return skip(
                    "byte_extract",
                    "a variable used in another buffer than the one it is extracted from",
                );
            }
            if let Part::ByteExtract(e) = p {
                defined[usize::from(e.var)] = true;
            }
        }
    }
    let has_pkt = det.bufs.iter().any(|m| m.inspect == Inspect::Packet);
    let has_tx = det.bufs.iter().any(|m| matches!(m.inspect, Inspect::Tx(_)));
    let has_file = !det.files.is_empty()
        || det.bufs.iter().any(|m| {
            matches!(
                m.inspect,
                Inspect::FileData | Inspect::FileName | Inspect::FileMagic
            )
        });
    det.kind = if has_file {
        Kind::File
    } else if has_tx {
        Kind::Tx
    } else {
        Kind::Packet
    };
    if has_pkt && det.kind != Kind::Packet {
        return skip(
            "pkt_data",
            "a rule mixing packet payload and app-layer buffers is not supported",
        );
    }
    // Suricata's SignatureIsIPOnly: no app-layer protocol, no payload or
    // buffer, no packet keyword, no flow keyword, `any` ports, and flowbits
    // that only set, unset or toggle.
    det.ip_only = det.kind == Kind::Packet
        && det.app.is_none()
        && det.bufs.is_empty()
        && det.pkt.is_empty()
        && det.to_server.is_none()
        && det.established.is_none()
        && det.stream == StreamMode::Both
        && det.sp == PortExpr::Any
        && det.dp == PortExpr::Any
        && det
            .flowbits
            .iter()
            .all(|f| matches!(f.op, BitOp::Set | BitOp::Unset | BitOp::Toggle));
    // The fast pattern: "fast_pattern" if given, else the longest positive
    // content ("Suricata's fast pattern selection: the longest content").
    let mut best: Option<(usize, usize, &Content)> = None;
    for (bi, m) in det.bufs.iter().enumerate() {
        for (pi, p) in m.parts.iter().enumerate() {
            if let Part::Content(c) = p {
                if c.negated {
                    continue;
                }
                let better = match best {
                    None => true,
                    Some((_, _, bc)) => {
                        let (cf, bf) = (c.fast != Fast::No, bc.fast != Fast::No);
                        (cf && !bf) || (cf == bf && c.pat.len() > bc.pat.len())
                    }
                };
                if better {
                    best = Some((bi, pi, c));
                }
            }
        }
    }
    det.fast = best.and_then(|(bi, _, c)| {
        let pat = match c.fast {
            Fast::Slice(o, l) => {
                let end = o.saturating_add(l).min(c.pat.len());
                let o = o.min(end);
                if end > o {
                    c.pat[o..end].to_vec()
                } else {
                    c.pat.clone()
                }
            }
            _ => c.pat.clone(),
        };
        // A transformed buffer is prefiltered on its raw bytes: only
        // transforms the case-insensitive search sees through qualify
        // (dotprefix drops the pattern's leading dot); other rules are
        // always evaluated.
        let tf = &det.bufs[bi].transforms;
        if !tf.iter().all(|t| t.prefilter_safe()) {
            return None;
        }
        let pat = match pat.strip_prefix(b".") {
            Some(rest) if tf.contains(&Transform::DotPrefix) => rest.to_vec(),
            _ => pat,
        };
        (!pat.is_empty()).then_some((bi, pat))
    });
    Ok((action, ids, det))
}

/// Suricata's evaluation order: by action (pass, drop, reject, alert), then
/// flowbits (rules that only set, then those that check and set, then
/// those that only check, then the rest), then priority, then file order.
pub(crate) fn sort_rules(rules: &mut [Rule]) {
    fn fb_class(r: &Rule) -> u8 {
        let sets = r
            .det
            .flowbits
            .iter()
            .any(|f| matches!(f.op, BitOp::Set | BitOp::Unset | BitOp::Toggle));
        let reads = r
            .det
            .flowbits
            .iter()
            .any(|f| matches!(f.op, BitOp::IsSet | BitOp::IsNotSet));
        match (sets, reads) {
            (true, false) => 0,
            (true, true) => 1,
            (false, true) => 2,
            (false, false) => 3,
        }
    }
    rules.sort_by_key(|r| (r.action, fb_class(r), r.priority));
}
