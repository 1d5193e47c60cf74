//! Allocation-free parsing of TLS records and hello messages.
//!
//! References: RFC 5246 (TLS 1.2) §6.2.1 and §7.4, RFC 8446 (TLS 1.3)
//! §4.1.2, §4.1.3, §4.2.1 and §5.1, RFC 6066 §3 (server_name), RFC 7301
//! §3.1 (ALPN), and RFC 6101 Appendix E / RFC 5246 Appendix E.2 for the
//! SSLv2-compatible ClientHello.

/// Content types (RFC 8446 §5.1, RFC 5246 §6.2.1).
pub const CT_CHANGE_CIPHER_SPEC: u8 = 20;
pub const CT_ALERT: u8 = 21;
pub const CT_HANDSHAKE: u8 = 22;
pub const CT_APPLICATION_DATA: u8 = 23;

/// RFC 8446 §5.1: "The length MUST NOT exceed 2^14 bytes" for plaintext;
/// RFC 5246 §6.2.3 allows ciphertext up to 2^14 + 2048.
pub const MAX_RECORD: usize = (1 << 14) + 2048;

/// A TLS record header.
#[derive(Debug, Clone, Copy)]
pub struct RecordHeader {
    pub content_type: u8,
    pub version: u16,
    pub len: usize,
}

pub use netsift_proto::bytes::be16;

/// A big-endian uint24 at `at` (the handshake and certificate length
/// fields, RFC 8446 §4 and §4.4.2), as a length.
pub fn be24(b: &[u8], at: usize) -> Option<usize> {
    netsift_proto::bytes::be24(b, at).map(|v| v as usize)
}

/// `ProtocolVersion` values SSL 3.0 .. TLS 1.3 (RFC 8446 §5.1:
/// legacy_record_version; 0x0300 is SSL 3.0, RFC 6101).
pub fn known_version(v: u16) -> bool {
    (0x0300..=0x0304).contains(&v)
}

pub fn version_name(v: u16) -> &'static str {
    match v {
        0x0002 => "SSL 2.0",
        0x0300 => "SSL 3.0",
        0x0301 => "TLS 1.0",
        0x0302 => "TLS 1.1",
        0x0303 => "TLS 1.2",
        0x0304 => "TLS 1.3",
        _ => "TLS ?",
    }
}

/// RFC 8701 GREASE values: 0x?A?A with both bytes equal.
fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// Parse a record header (RFC 8446 §5.1 TLSPlaintext: type(1),
/// legacy_record_version(2), length(2)). `None` if fewer than 5 bytes;
/// `Some(Err(()))` if the header is not a TLS record header.
pub fn record_header(b: &[u8]) -> Option<Result<RecordHeader, ()>> {
    let ct = *b.first()?;
    let valid_ct = matches!(
        ct,
        CT_CHANGE_CIPHER_SPEC | CT_ALERT | CT_HANDSHAKE | CT_APPLICATION_DATA
    );
    // Reject as early as the bytes allow, so a short prefix of garbage is
    // not kept waiting.
    if !valid_ct || b.get(1).is_some_and(|&m| m != 3) || b.get(2).is_some_and(|&m| m > 4) {
        return Some(Err(()));
    }
    let version = be16(b, 1)?;
    let len = be16(b, 3)? as usize;
    if len == 0 || len > MAX_RECORD {
        return Some(Err(()));
    }
    Some(Ok(RecordHeader {
        content_type: ct,
        version,
        len,
    }))
}

/// Which hello.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelloKind {
    Client,
    Server,
}

/// What was learnt from a hello message.
#[derive(Debug, Clone, Copy, Default)]
pub struct HelloInfo<'a> {
    /// legacy_version of the hello body.
    pub hello_version: u16,
    /// Highest non-GREASE version in supported_versions (ClientHello) or
    /// the selected one (ServerHello).
    pub supported_max: Option<u16>,
    pub sni: Option<&'a [u8]>,
    /// The ALPN extension's ProtocolNameList body (u8-length strings).
    pub alpn: Option<&'a [u8]>,
    /// ServerHello: the selected cipher suite.
    pub cipher: Option<u16>,
    /// Every length field of the body was consistent and all of it was
    /// present.
    pub complete: bool,
}

/// Parse a ClientHello or ServerHello body (after the 4-byte handshake
/// header) of `declared_len` bytes, best effort: `body` may be cut short,
/// in which case whatever was read completely is returned with
/// `complete == false`. `Err` if a length field that was read is
/// impossible.
pub fn hello_body(kind: HelloKind, body: &[u8], declared_len: usize) -> Result<HelloInfo<'_>, ()> {
    let mut info = HelloInfo::default();
    let Some(v) = be16(body, 0) else {
        return Ok(info);
    };
    info.hello_version = v;
    // RFC 8446 §4.1.2: legacy_version(2) random(32) legacy_session_id<0..32>.
    let mut p = 34;
    let Some(&sid_len) = body.get(p) else {
        return Ok(info);
    };
    if sid_len > 32 {
        return Err(());
    }
    p += 1 + sid_len as usize;
    if p > declared_len {
        return Err(()); // a field runs past the message
    }
    match kind {
        HelloKind::Client => {
            // cipher_suites<2..2^16-2>: an even, non-zero length.
            let Some(cs_len) = be16(body, p) else {
                return Ok(info);
            };
            let cs_len = cs_len as usize;
            if cs_len < 2 || cs_len % 2 != 0 {
                return Err(());
            }
            p += 2 + cs_len;
            if p > declared_len {
                return Err(()); // a field runs past the message
            }
            // legacy_compression_methods<1..2^8-1>.
            let Some(&cm_len) = body.get(p) else {
                return Ok(info);
            };
            if cm_len == 0 {
                return Err(());
            }
            p += 1 + cm_len as usize;
            if p > declared_len {
                return Err(()); // a field runs past the message
            }
        }
        HelloKind::Server => {
            // RFC 8446 §4.1.3: cipher_suite(2) legacy_compression_method(1).
            let Some(cs) = be16(body, p) else {
                return Ok(info);
            };
            info.cipher = Some(cs);
            p += 3;
        }
    }
    if p > declared_len {
        return Err(());
    }
    if p == declared_len {
        // RFC 5246 §7.4.1.2: extensions may be absent entirely.
        info.complete = body.len() >= declared_len;
        return Ok(info);
    }
    // Extension extensions<8..2^16-1> (RFC 8446 §4.1.2; RFC 5246 allows 0).
    let Some(ext_total) = be16(body, p) else {
        return Ok(info);
    };
    p += 2;
    if p + ext_total as usize != declared_len {
        return Err(());
    }
    let end = declared_len;
    while p + 4 <= end {
        let (Some(ty), Some(len)) = (be16(body, p), be16(body, p + 2)) else {
            return Ok(info); // cut short
        };
        let start = p + 4;
        let stop = start + len as usize;
        if stop > end {
            return Err(());
        }
        let Some(ext) = body.get(start..stop) else {
            return Ok(info); // cut short
        };
        extension(kind, ty, ext, &mut info);
        p = stop;
    }
    if p != end {
        return Err(());
    }
    info.complete = body.len() >= declared_len;
    Ok(info)
}

fn extension<'a>(kind: HelloKind, ty: u16, ext: &'a [u8], info: &mut HelloInfo<'a>) {
    match ty {
        // RFC 6066 §3: ServerNameList server_name_list<1..2^16-1>;
        // ServerName { NameType name_type (host_name = 0); HostName }.
        0 if kind == HelloKind::Client => {
            let mut p = 2;
            let list_end = (be16(ext, 0).unwrap_or(0) as usize + 2).min(ext.len());
            while p + 3 <= list_end {
                let (Some(&nt), Some(l)) = (ext.get(p), be16(ext, p + 1)) else {
                    return;
                };
                let l = l as usize;
                if nt == 0 {
                    if let Some(name) = ext.get(p + 3..p + 3 + l) {
                        if !name.is_empty() {
                            info.sni = Some(name);
                        }
                    }
                    return;
                }
                p += 3 + l;
            }
        }
        // RFC 7301 §3.1: ProtocolNameList protocol_name_list<2..2^16-1>.
        16 => {
            if let Some(l) = be16(ext, 0) {
                if let Some(list) = ext.get(2..2 + l as usize) {
                    if !list.is_empty() {
                        info.alpn = Some(list);
                    }
                }
            }
        }
        // RFC 8446 §4.2.1: ClientHello: ProtocolVersion versions<2..254>;
        // ServerHello: ProtocolVersion selected_version.
        43 => match kind {
            HelloKind::Client => {
                let n = ext.first().copied().unwrap_or(0) as usize;
                let list = ext.get(1..1 + n).unwrap_or(&[]);
                info.supported_max = list
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .filter(|&v| !is_grease(v) && known_version(v))
                    .max();
            }
            HelloKind::Server => {
                info.supported_max = be16(ext, 0).filter(|&v| known_version(v));
            }
        },
        _ => {}
    }
}

/// Outcome of looking at an SSLv2-format record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ssl2 {
    /// A consistent SSLv2 CLIENT-HELLO offering this version.
    Hello(u16),
    NeedMore,
    No,
}

/// RFC 5246 Appendix E.2 (and RFC 6101 Appendix E): the SSLv2-compatible
/// CLIENT-HELLO: msg_length (2 bytes, high bit set), msg_type = 1,
/// version(2), cipher_spec_length(2), session_id_length(2),
/// challenge_length(2), then the three fields. "The highest bit MUST be 1;
/// the remaining bits contain the length of the following data in bytes."
pub fn sslv2_client_hello(b: &[u8]) -> Ssl2 {
    let Some(&b0) = b.first() else {
        return Ssl2::NeedMore;
    };
    if b0 & 0x80 == 0 {
        return Ssl2::No;
    }
    if b.get(2).is_some_and(|&t| t != 1) {
        return Ssl2::No;
    }
    // version: 0x0002 (SSL 2.0) or a 3.x version.
    if b.get(3).is_some_and(|&m| m != 0 && m != 3) {
        return Ssl2::No;
    }
    if b.len() < 11 {
        return Ssl2::NeedMore;
    }
    let len = (((b0 & 0x7f) as usize) << 8) | b[1] as usize;
    let version = u16::from_be_bytes([b[3], b[4]]);
    let cs = u16::from_be_bytes([b[5], b[6]]) as usize;
    let sid = u16::from_be_bytes([b[7], b[8]]) as usize;
    let ch = u16::from_be_bytes([b[9], b[10]]) as usize;
    // "cipher_spec_length ... MUST be a multiple of 3"; "session_id_length
    // ... MUST be zero" for a new session (16 on resumption, SSL 2.0);
    // "challenge_length ... MUST be greater than or equal to 16 and less
    // than or equal to 32".
    let version_ok = version == 0x0002 || known_version(version);
    if !version_ok
        || cs == 0
        || cs % 3 != 0
        || !(sid == 0 || sid == 16)
        || !(16..=32).contains(&ch)
        || len != 9 + cs + sid + ch
    {
        return Ssl2::No;
    }
    Ssl2::Hello(version)
}

/// Result of walking a run of records (mid-stream pickup).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walk {
    /// `n` complete consistent records, the last one ending exactly at
    /// the end of the data or followed by further consistent headers.
    Records {
        n: usize,
        version: u16,
        content_type: u8,
    },
    NeedMore,
    No,
}

/// Walk up to 8 record headers from the start of `b`. All records must
/// share one version (RFC 8446 §5.1 fixes legacy_record_version once the
/// version is negotiated).
pub fn walk_records(b: &[u8]) -> Walk {
    let mut p = 0;
    let mut n = 0;
    let mut first: Option<RecordHeader> = None;
    while n < 8 {
        let rest = b.get(p..).unwrap_or(&[]);
        if rest.is_empty() {
            break;
        }
        match record_header(rest) {
            None => break,
            Some(Err(())) => return Walk::No,
            Some(Ok(h)) => {
                if first.is_some_and(|f| f.version != h.version) {
                    return Walk::No;
                }
                first.get_or_insert(h);
                p += 5 + h.len;
                n += 1;
            }
        }
    }
    let Some(f) = first else {
        return Walk::NeedMore;
    };
    // Enough evidence: two complete headers, or one record that exactly
    // fills the data.
    if n >= 2 || p == b.len() {
        Walk::Records {
            n,
            version: f.version,
            content_type: f.content_type,
        }
    } else {
        Walk::NeedMore
    }
}

/// A HAProxy PROXY protocol header in front of the real stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proxy {
    /// No PROXY header here.
    Absent,
    /// A complete header of this many bytes.
    Skip(usize),
    /// A possible header, not complete yet.
    NeedMore,
}

/// PROXY protocol (haproxy.org proxy-protocol.txt): version 1 is a text
/// line "PROXY TCP4|TCP6|UNKNOWN ... \r\n", "a maximum of 107 characters
/// including the CRLF"; version 2 starts with the 12-byte signature
/// `\r\n\r\n\0\r\nQUIT\n`, then ver_cmd (0x2X), family, and a 16-bit length
/// of the addresses that follow.
pub fn proxy_header(d: &[u8]) -> Proxy {
    const V1: &[u8] = b"PROXY ";
    const V2: &[u8] = b"\r\n\r\n\x00\r\nQUIT\n";
    let n = d.len().min(V1.len());
    if d[..n] == V1[..n] {
        if n < V1.len() {
            return Proxy::NeedMore;
        }
        let window = &d[..d.len().min(107)];
        return match window.windows(2).position(|w| w == b"\r\n") {
            Some(i) if window[..i].iter().all(|&b| (0x20..0x7f).contains(&b)) => Proxy::Skip(i + 2),
            Some(_) => Proxy::Absent,
            None if window.len() < 107
                && window
                    .iter()
                    .all(|&b| (0x20..0x7f).contains(&b) || b == b'\r') =>
            {
                Proxy::NeedMore
            }
            None => Proxy::Absent,
        };
    }
    let n = d.len().min(V2.len());
    if n == 0 || d[..n] != V2[..n] {
        return Proxy::Absent;
    }
    let (Some(&ver), Some(len)) = (d.get(12), be16(d, 14)) else {
        return Proxy::NeedMore;
    };
    if ver >> 4 != 2 {
        return Proxy::Absent;
    }
    let total = 16 + len as usize;
    if d.len() < total {
        return Proxy::NeedMore;
    }
    Proxy::Skip(total)
}
