//! Full parsing of ClientHello / ServerHello bodies into owned lists, and
//! the fingerprints computed from them: JA3 / JA3S (Salesforce,
//! github.com/salesforce/ja3) and JA4 (FoxIO, github.com/FoxIO-LLC/ja4,
//! "JA4 TLS Client Fingerprinting" technical details).
//!
//! References: RFC 8446 §4.1.2 (ClientHello), §4.1.3 (ServerHello), §4.2
//! (extensions), RFC 6066 §3 (server_name), RFC 7301 §3.1 (ALPN), RFC 8422
//! §5.1 (supported_groups, ec_point_formats), RFC 8701 (GREASE).

use md5::{Digest as _, Md5};
use sha2::Sha256;

use super::parse::be16;

/// Extension code points used here (IANA "TLS ExtensionType Values").
pub const EXT_SERVER_NAME: u16 = 0x0000;
pub const EXT_SUPPORTED_GROUPS: u16 = 0x000a;
pub const EXT_EC_POINT_FORMATS: u16 = 0x000b;
pub const EXT_SIGNATURE_ALGORITHMS: u16 = 0x000d;
pub const EXT_ALPN: u16 = 0x0010;
pub const EXT_SESSION_TICKET: u16 = 0x0023;
pub const EXT_PRE_SHARED_KEY: u16 = 0x0029;
pub const EXT_SUPPORTED_VERSIONS: u16 = 0x002b;

/// Bounds on what is kept from a hello (hostile lists are truncated).
const MAX_LIST: usize = 512;
const MAX_ALPN: usize = 32;
const MAX_NAME: usize = 255;

/// RFC 8701 §2: GREASE values are 0x0A0A, 0x1A1A, ..., 0xFAFA: "{0x?A,
/// 0x?A}" with both bytes equal.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// TLS 1.3 or one of its drafts: 0x7fNN (draft-ietf-tls-tls13-NN) and
/// Facebook's 0xfbNN experiments.
pub fn is_tls13(v: u16) -> bool {
    v == 0x0304 || v == 0xfefc || v >> 8 == 0x7f || v >> 8 == 0xfb
}

/// Version name: "TLS 1.2"; drafts as "TLS 1.3 draft 28"; anything else as
/// hex ("0x0305").
pub fn version_str(v: u16) -> String {
    match v {
        0x0002 => "SSL 2.0".into(),
        0x0300 => "SSL 3.0".into(),
        0x0301 => "TLS 1.0".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        // RFC 6347 §4.1: "DTLS version 1.0 ... {254, 255}", 1.2 {254, 253};
        // RFC 9147 §5.3: DTLS 1.3 {254, 252}; 0x0100: OpenSSL's pre-RFC
        // DTLS1_BAD_VER.
        0xfeff => "DTLS 1.0".into(),
        0xfefd => "DTLS 1.2".into(),
        0xfefc => "DTLS 1.3".into(),
        0x0100 => "DTLS 0.9".into(),
        v if v >> 8 == 0x7f => format!("TLS 1.3 draft {}", v & 0xff),
        v => format!("0x{v:04x}"),
    }
}

/// The highest of a hello's versions (GREASE ignored), else `legacy`.
/// DTLS counts down (RFC 6347 §4.1: "the version number for DTLS 1.2 is
/// 0xfefd"; 1.3 is 0xfefc), so a DTLS version ranks above every TLS one
/// and a smaller DTLS value above a larger.
pub fn highest_version(list: &[u16], legacy: u16) -> u16 {
    let rank = |v: u16| -> u32 {
        if v >> 8 == 0xfe {
            0x1_0000 + u32::from(0xff - (v & 0xff))
        } else {
            u32::from(v)
        }
    };
    list.iter()
        .copied()
        .filter(|v| !is_grease(*v))
        .max_by_key(|v| rank(*v))
        .unwrap_or(legacy)
}

/// Everything the fingerprints and the record need from a ClientHello.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientHello {
    /// legacy_version (RFC 8446 §4.1.2).
    pub version: u16,
    pub session_id: Vec<u8>,
    /// cipher_suites, in order, GREASE included.
    pub ciphers: Vec<u16>,
    /// Extension types, in order, GREASE included.
    pub extensions: Vec<u16>,
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    /// First ALPN protocol as raw bytes (JA4 looks at its bytes).
    pub alpn_first_raw: Option<Vec<u8>>,
    pub groups: Vec<u16>,
    pub point_formats: Vec<u8>,
    pub sig_algs: Vec<u16>,
    pub supported_versions: Vec<u16>,
    /// A non-empty SessionTicket extension (RFC 5077 §3.2: resumption).
    pub ticket: bool,
    /// Anomalies found while parsing.
    pub weird: Vec<&'static str>,
}

/// What is read from a ServerHello.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerHello {
    pub version: u16,
    pub random: [u8; 32],
    pub session_id: Vec<u8>,
    pub cipher: u16,
    pub extensions: Vec<u16>,
    pub alpn: Option<String>,
    /// supported_versions selected_version (RFC 8446 §4.2.1).
    pub selected_version: Option<u16>,
    pub weird: Vec<&'static str>,
}

/// RFC 8446 §4.1.3: a HelloRetryRequest is a ServerHello whose Random is
/// SHA-256("HelloRetryRequest").
pub const HRR_RANDOM: [u8; 32] = [
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
];

impl ServerHello {
    pub fn is_hrr(&self) -> bool {
        self.random == HRR_RANDOM
    }
    /// The negotiated version: supported_versions, else legacy_version
    /// (RFC 8446 §4.2.1: "the server MUST ... use the
    /// 'supported_versions' extension").
    pub fn negotiated(&self) -> u16 {
        self.selected_version.unwrap_or(self.version)
    }
}

/// A bounds-checked reader.
struct Rd<'a> {
    b: &'a [u8],
    p: usize,
}

impl<'a> Rd<'a> {
    fn u8(&mut self) -> Option<u8> {
        let v = *self.b.get(self.p)?;
        self.p += 1;
        Some(v)
    }
    fn u16(&mut self) -> Option<u16> {
        let v = be16(self.b, self.p)?;
        self.p += 2;
        Some(v)
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let v = self.b.get(self.p..self.p.checked_add(n)?)?;
        self.p += n;
        Some(v)
    }
    fn rest(&self) -> &'a [u8] {
        self.b.get(self.p..).unwrap_or(&[])
    }
}

fn u16_list(b: &[u8]) -> Vec<u16> {
    b.chunks_exact(2)
        .take(MAX_LIST)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect()
}

/// Extensions block: `Extension extensions<0..2^16-1>` of
/// `{ ExtensionType extension_type; opaque extension_data<0..2^16-1>; }`
/// (RFC 8446 §4.2). Returns (type, data) pairs; notes inconsistencies.
fn extensions<'a>(r: &mut Rd<'a>, weird: &mut Vec<&'static str>) -> Vec<(u16, &'a [u8])> {
    let mut out = Vec::new();
    if r.rest().is_empty() {
        // RFC 5246 §7.4.1.2: extensions may be absent.
        return out;
    }
    let Some(total) = r.u16() else {
        weird.push("truncated_extensions");
        return out;
    };
    let block = match r.take(total as usize) {
        Some(b) => b,
        None => {
            weird.push("extensions_length_mismatch");
            r.rest()
        }
    };
    let mut e = Rd { b: block, p: 0 };
    while !e.rest().is_empty() && out.len() < MAX_LIST {
        let (Some(ty), Some(len)) = (e.u16(), e.u16()) else {
            weird.push("truncated_extension");
            break;
        };
        let Some(data) = e.take(len as usize) else {
            weird.push("extension_length_mismatch");
            break;
        };
        out.push((ty, data));
    }
    out
}

/// ALPN ProtocolNameList (RFC 7301 §3.1): `ProtocolName
/// protocol_name_list<2..2^16-1>`, `opaque ProtocolName<1..2^8-1>`.
fn alpn_list(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let Some(l) = be16(data, 0) else {
        return out;
    };
    let list = data.get(2..2 + l as usize).unwrap_or(&[]);
    let mut r = Rd { b: list, p: 0 };
    while out.len() < MAX_ALPN {
        let Some(n) = r.u8() else { break };
        let Some(name) = r.take(n as usize) else {
            break;
        };
        out.push(name.to_vec());
    }
    out
}

fn lossy(b: &[u8], max: usize) -> String {
    String::from_utf8_lossy(b.get(..b.len().min(max)).unwrap_or(b)).into_owned()
}

/// Parse a ClientHello body (after the 4-byte handshake header).
/// RFC 8446 §4.1.2:
/// ```text
/// struct {
///     ProtocolVersion legacy_version = 0x0303;    /* TLS v1.2 */
///     Random random;
///     opaque legacy_session_id<0..32>;
///     CipherSuite cipher_suites<2..2^16-2>;
///     opaque legacy_compression_methods<1..2^8-1>;
///     Extension extensions<8..2^16-1>;
/// } ClientHello;
/// ```
/// `None` if the fixed fields are cut short.
pub fn parse_client_hello(body: &[u8]) -> Option<ClientHello> {
    let mut h = ClientHello::default();
    let mut r = Rd { b: body, p: 0 };
    h.version = r.u16()?;
    r.take(32)?;
    let sid_len = r.u8()? as usize;
    if sid_len > 32 {
        h.weird.push("session_id_too_long");
    }
    h.session_id = r.take(sid_len)?.to_vec();
    let cs_len = r.u16()? as usize;
    if cs_len % 2 != 0 {
        h.weird.push("odd_cipher_suites_length");
    }
    h.ciphers = u16_list(r.take(cs_len)?);
    let cm_len = r.u8()? as usize;
    r.take(cm_len)?;
    for (ty, data) in extensions(&mut r, &mut h.weird) {
        h.extensions.push(ty);
        match ty {
            // RFC 6066 §3: ServerNameList; NameType host_name(0).
            EXT_SERVER_NAME => {
                let mut e = Rd { b: data, p: 2 };
                while let (Some(nt), Some(l)) = (e.u8(), e.u16()) {
                    let Some(name) = e.take(l as usize) else {
                        break;
                    };
                    if nt == 0 {
                        h.sni = Some(lossy(name, MAX_NAME));
                        break;
                    }
                }
            }
            // RFC 8422 §5.1.1: NamedCurve named_curve_list<2..2^16-1>.
            EXT_SUPPORTED_GROUPS => {
                let l = be16(data, 0).unwrap_or(0) as usize;
                h.groups = u16_list(data.get(2..2 + l).unwrap_or(&[]));
            }
            // RFC 8422 §5.1.2: ECPointFormat ec_point_format_list<1..2^8-1>.
            EXT_EC_POINT_FORMATS => {
                let l = data.first().copied().unwrap_or(0) as usize;
                let list = data.get(1..1 + l).unwrap_or(&[]);
                h.point_formats = list.iter().take(MAX_LIST).copied().collect();
            }
            // RFC 8446 §4.2.3: SignatureScheme
            // supported_signature_algorithms<2..2^16-2>.
            EXT_SIGNATURE_ALGORITHMS => {
                let l = be16(data, 0).unwrap_or(0) as usize;
                h.sig_algs = u16_list(data.get(2..2 + l).unwrap_or(&[]));
            }
            EXT_ALPN => {
                let list = alpn_list(data);
                h.alpn_first_raw = list.first().cloned();
                h.alpn = list.iter().map(|a| lossy(a, MAX_NAME)).collect();
            }
            // RFC 5077 §3.2: a non-empty ticket asks for resumption.
            EXT_SESSION_TICKET => h.ticket = !data.is_empty(),
            // RFC 8446 §4.2.1: ProtocolVersion versions<2..254>.
            EXT_SUPPORTED_VERSIONS => {
                let l = data.first().copied().unwrap_or(0) as usize;
                h.supported_versions = u16_list(data.get(1..1 + l).unwrap_or(&[]));
            }
            _ => {}
        }
    }
    Some(h)
}

/// Parse a ServerHello body. RFC 8446 §4.1.3:
/// ```text
/// struct {
///     ProtocolVersion legacy_version = 0x0303;    /* TLS v1.2 */
///     Random random;
///     opaque legacy_session_id_echo<0..32>;
///     CipherSuite cipher_suite;
///     uint8 legacy_compression_method = 0;
///     Extension extensions<6..2^16-1>;
/// } ServerHello;
/// ```
pub fn parse_server_hello(body: &[u8]) -> Option<ServerHello> {
    let mut h = ServerHello::default();
    let mut r = Rd { b: body, p: 0 };
    h.version = r.u16()?;
    h.random.copy_from_slice(r.take(32)?);
    let sid_len = r.u8()? as usize;
    if sid_len > 32 {
        h.weird.push("session_id_too_long");
    }
    h.session_id = r.take(sid_len)?.to_vec();
    h.cipher = r.u16()?;
    r.u8()?;
    for (ty, data) in extensions(&mut r, &mut h.weird) {
        h.extensions.push(ty);
        match ty {
            // RFC 7301 §3.1: the server's list has exactly one name.
            EXT_ALPN => h.alpn = alpn_list(data).first().map(|a| lossy(a, MAX_NAME)),
            // RFC 8446 §4.2.1: ServerHello: ProtocolVersion selected_version.
            EXT_SUPPORTED_VERSIONS => h.selected_version = be16(data, 0),
            _ => {}
        }
    }
    Some(h)
}

fn md5_hex(s: &str) -> String {
    hex(&Md5::digest(s.as_bytes()))
}

pub use netsift_proto::bytes::hex;

/// Append `v` in decimal (JA3's numbers).
fn push_dec(s: &mut String, v: u16) {
    netsift_proto::bytes::push_decimal(s, u64::from(v));
}

/// Append `v` as 4 lower-case hex digits (JA4's numbers).
fn push_hex4(s: &mut String, v: u16) {
    netsift_proto::bytes::push_hex(s, &v.to_be_bytes());
}

/// Append the values of `v` joined by `sep`, each written by `put`.
fn push_list(s: &mut String, v: impl Iterator<Item = u16>, sep: char, put: fn(&mut String, u16)) {
    for (i, x) in v.enumerate() {
        if i > 0 {
            s.push(sep);
        }
        put(s, x);
    }
}

/// JA3 (github.com/salesforce/ja3 README): "SSLVersion,Cipher,
/// SSLExtension,EllipticCurve,EllipticCurvePointFormat", decimal values,
/// list items joined by "-", GREASE values (RFC 8701) ignored. Returns the
/// string and its MD5.
pub fn ja3(h: &ClientHello) -> (String, String) {
    let ng = |v: &u16| !is_grease(*v);
    let mut s = String::with_capacity(
        8 + 6 * (h.ciphers.len() + h.extensions.len() + h.groups.len() + h.point_formats.len()),
    );
    push_dec(&mut s, h.version);
    s.push(',');
    push_list(&mut s, h.ciphers.iter().copied().filter(ng), '-', push_dec);
    s.push(',');
    push_list(
        &mut s,
        h.extensions.iter().copied().filter(ng),
        '-',
        push_dec,
    );
    s.push(',');
    push_list(&mut s, h.groups.iter().copied().filter(ng), '-', push_dec);
    s.push(',');
    push_list(
        &mut s,
        h.point_formats.iter().map(|&p| u16::from(p)),
        '-',
        push_dec,
    );
    let m = md5_hex(&s);
    (s, m)
}

/// JA3S (same README): "SSLVersion,Cipher,SSLExtension" of the
/// ServerHello, decimal, extensions joined by "-".
pub fn ja3s(h: &ServerHello) -> (String, String) {
    let mut s = String::with_capacity(16 + 6 * h.extensions.len());
    push_dec(&mut s, h.version);
    s.push(',');
    push_dec(&mut s, h.cipher);
    s.push(',');
    push_list(
        &mut s,
        h.extensions.iter().copied().filter(|v| !is_grease(*v)),
        '-',
        push_dec,
    );
    let m = md5_hex(&s);
    (s, m)
}

/// JA4 transport prefix: "t" TCP, "q" QUIC, "d" DTLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ja4Proto {
    Tcp,
    Quic,
    Dtls,
}

/// JA4 version field: the highest supported_versions value (GREASE
/// ignored), else legacy_version: "13", "12", "11", "10", "s3", "s2",
/// DTLS "d1"/"d2"/"d3", unknown "00".
fn ja4_version(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

/// The first 12 hex digits of the SHA-256 of `s`, appended to `out`
/// ("000000000000" for an empty `s`).
fn push_sha12(out: &mut String, s: &str) {
    if s.is_empty() {
        out.push_str("000000000000");
        return;
    }
    let d = Sha256::digest(s.as_bytes());
    netsift_proto::bytes::push_hex(out, d.get(..6).unwrap_or(&[]));
}

/// JA4 (FoxIO technical details): `ja4_a _ ja4_b _ ja4_c` where
/// * ja4_a = protocol (t/q/d), version, "d" if SNI present else "i", the
///   2-digit count of ciphers and of extensions (GREASE ignored, capped at
///   99), the first and last characters of the first ALPN value ("00" if
///   none; the first and last hex digits when either byte is not ASCII
///   alphanumeric);
/// * ja4_b = first 12 hex of SHA-256 of the sorted cipher list (4-digit
///   hex, comma-joined);
/// * ja4_c = first 12 hex of SHA-256 of the sorted extensions, without SNI
///   (0000) and ALPN (0010), then "_" and the signature algorithms in
///   their original order.
///
/// Returns (ja4, ja4_r) where ja4_r is the raw (unhashed) form. Written
/// piece by piece, without `format!`: every TLS and QUIC client hello
/// makes one.
pub fn ja4(h: &ClientHello, proto: Ja4Proto) -> (String, String) {
    let mut a = String::with_capacity(10);
    a.push(match proto {
        Ja4Proto::Tcp => 't',
        Ja4Proto::Quic => 'q',
        Ja4Proto::Dtls => 'd',
    });
    a.push_str(ja4_version(highest_version(
        &h.supported_versions,
        h.version,
    )));
    a.push(if h.extensions.contains(&EXT_SERVER_NAME) {
        'd'
    } else {
        'i'
    });
    let mut ciphers: Vec<u16> = h
        .ciphers
        .iter()
        .copied()
        .filter(|v| !is_grease(*v))
        .collect();
    let n_exts = h.extensions.iter().filter(|v| !is_grease(**v)).count();
    for n in [ciphers.len(), n_exts] {
        let n = u8::try_from(n.min(99)).unwrap_or(99);
        a.push(char::from(b'0' + n / 10));
        a.push(char::from(b'0' + n % 10));
    }
    match h.alpn_first_raw.as_deref() {
        Some([first, .., last]) | Some([first @ last]) => {
            if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() {
                a.push(char::from(*first));
                a.push(char::from(*last));
            } else {
                // The first hex digit of the first byte, the last of the
                // last.
                let mut hx = String::with_capacity(4);
                netsift_proto::bytes::push_hex(&mut hx, &[*first, *last]);
                a.push_str(hx.get(..1).unwrap_or("0"));
                a.push_str(hx.get(3..).unwrap_or("0"));
            }
        }
        _ => a.push_str("00"),
    }
    ciphers.sort_unstable();
    let mut b_raw = String::with_capacity(5 * ciphers.len());
    push_list(&mut b_raw, ciphers.iter().copied(), ',', push_hex4);
    let mut se: Vec<u16> = h
        .extensions
        .iter()
        .copied()
        .filter(|&e| !is_grease(e) && e != EXT_SERVER_NAME && e != EXT_ALPN)
        .collect();
    se.sort_unstable();
    let mut c_raw = String::with_capacity(5 * (se.len() + h.sig_algs.len()) + 1);
    push_list(&mut c_raw, se.iter().copied(), ',', push_hex4);
    let mut sigs = h
        .sig_algs
        .iter()
        .copied()
        .filter(|v| !is_grease(*v))
        .peekable();
    if sigs.peek().is_some() {
        c_raw.push('_');
        push_list(&mut c_raw, sigs, ',', push_hex4);
    }
    let mut ja4 = String::with_capacity(a.len() + 26);
    ja4.push_str(&a);
    ja4.push('_');
    push_sha12(&mut ja4, &b_raw);
    ja4.push('_');
    push_sha12(&mut ja4, if se.is_empty() { "" } else { &c_raw });
    let mut ja4_r = a;
    ja4_r.reserve(b_raw.len() + c_raw.len() + 2);
    ja4_r.push('_');
    ja4_r.push_str(&b_raw);
    ja4_r.push('_');
    ja4_r.push_str(&c_raw);
    (ja4, ja4_r)
}

/// IANA cipher suite name ("TLS Cipher Suites" registry, see
/// [`super::ciphers`]), or "0x1301"-style hex when unassigned.
pub fn cipher_name(c: u16) -> String {
    match super::ciphers::name(c) {
        Some(n) => n.to_string(),
        None => format!("0x{c:04x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FoxIO JA4 README / technical details example: the raw lists
    /// "002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,
    /// cca8,cca9" and "0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,
    /// 002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601" give
    /// "t13d1516h2_8daaf6152771_e5627efa2ab1".
    #[test]
    fn ja4_readme_vector() {
        let h = ClientHello {
            version: 0x0303,
            ciphers: vec![
                0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
                0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
            ],
            // Shuffled order (Chrome randomizes), with SNI and ALPN and a
            // GREASE value that must not count.
            extensions: vec![
                0x1a1a, 0x0000, 0x0017, 0xff01, 0x000a, 0x000b, 0x0023, 0x0010, 0x0005, 0x000d,
                0x0012, 0x0033, 0x002d, 0x002b, 0x001b, 0x4469, 0x0015,
            ],
            sig_algs: vec![
                0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
            ],
            supported_versions: vec![0x2a2a, 0x0304, 0x0303],
            alpn_first_raw: Some(b"h2".to_vec()),
            ..Default::default()
        };
        let (j, r) = ja4(&h, Ja4Proto::Tcp);
        assert_eq!(j, "t13d1516h2_8daaf6152771_e5627efa2ab1");
        assert_eq!(
            r,
            "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,\
             cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,\
             ff01_0403,0804,0401,0503,0805,0501,0806,0601"
        );
        let (q, _) = ja4(&h, Ja4Proto::Quic);
        assert!(q.starts_with("q13d1516h2_"));
    }

    #[test]
    fn ja4_alpn_edge_cases() {
        let mut h = ClientHello {
            version: 0x0301,
            ..Default::default()
        };
        assert_eq!(
            ja4(&h, Ja4Proto::Tcp).0,
            "t10i000000_000000000000_000000000000"
        );
        h.alpn_first_raw = Some(vec![0xab, 0xcd]);
        assert!(ja4(&h, Ja4Proto::Tcp).0.starts_with("t10i0000ad_"));
        // One of the two not alphanumeric: the hex digits of both.
        h.alpn_first_raw = Some(vec![b'0', 0x01, 0xab]);
        assert!(ja4(&h, Ja4Proto::Tcp).0.starts_with("t10i00003b_"));
        h.alpn_first_raw = Some(b"h".to_vec());
        assert!(ja4(&h, Ja4Proto::Tcp).0.starts_with("t10i0000hh_"));
    }

    #[test]
    fn grease() {
        for v in [0x0a0a, 0x1a1a, 0x2a2a, 0xfafa] {
            assert!(is_grease(v));
        }
        for v in [0x0a1a, 0x0a0b, 0x1301, 0x0000] {
            assert!(!is_grease(v));
        }
    }

    #[test]
    fn names() {
        assert_eq!(cipher_name(0x1301), "TLS_AES_128_GCM_SHA256");
        assert_eq!(cipher_name(0xbeef), "0xbeef");
    }
}
