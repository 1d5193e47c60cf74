//! Shared DNS message validation (RFC 1035 §4.1), used by the DNS, mDNS,
//! LLMNR and NetBIOS name service probes. Nothing here allocates except
//! [`render_name`], which is only called when building a `Match`.

use netsift_proto::bytes::{be16, be32};

/// Header flag bits (RFC 1035 §4.1.1).
pub(crate) const QR: u16 = 0x8000;
pub(crate) const TC: u16 = 0x0200;

/// Why a message was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fail {
    /// Not a DNS-structured message.
    Invalid,
    /// Valid so far but the bytes end before `declared_len` (TCP prefix).
    /// `questions_done` says whether the header and every question parsed.
    Partial { questions_done: bool },
}

/// A structurally valid DNS(-like) message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DnsMsg {
    pub id: u16,
    pub flags: u16,
    pub qd: u16,
    pub an: u16,
    pub ns: u16,
    pub ar: u16,
    /// Offset (in the message) of the first name: the first question's, or
    /// the first resource record's when there is no question.
    pub first_name: Option<usize>,
    /// TYPE and CLASS that go with `first_name`.
    pub first_type: u16,
    pub first_class: u16,
    /// False when the message is a TCP prefix whose records are not all
    /// here yet (only the header and questions were checked).
    pub complete: bool,
}

impl DnsMsg {
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0x0f) as u8
    }
    pub fn rcode(&self) -> u8 {
        (self.flags & 0x0f) as u8
    }
    pub fn is_response(&self) -> bool {
        self.flags & QR != 0
    }
}

/// Name flavour to accept: plain DNS, or NetBIOS (RFC 1002 §4.1: the first
/// label is the 32-byte first-level encoded name, 'A'..'P' half-bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Names {
    Dns,
    Netbios,
}

/// Outcome of walking one name.
enum NameEnd {
    /// Offset just after the name in the original byte sequence.
    At(usize),
    Short,
    Bad,
}

/// Most compression pointers one name may follow: a name has at most 127
/// labels (255 bytes), so more jumps than that means a loop.
const MAX_JUMPS: usize = 128;

/// Walk a (possibly compressed) domain name starting at `pos`.
/// RFC 1035 §3.1: labels of at most 63 octets, names of at most 255.
/// RFC 1035 §4.1.4: a pointer is two octets with the top two bits set; we
/// only follow pointers to strictly earlier offsets (so no loop can form)
/// and never more than [`MAX_JUMPS`].
fn walk_name(msg: &[u8], mut pos: usize, names: Names, first: bool) -> NameEnd {
    let mut end: Option<usize> = None;
    let mut total = 0usize;
    let mut jumps = 0usize;
    let mut label_no = 0usize;
    // Start of the current run of labels: a pointer must go below it.
    let mut floor = pos;
    loop {
        let Some(&len) = msg.get(pos) else {
            return if end.is_some() {
                NameEnd::Bad
            } else {
                NameEnd::Short
            };
        };
        match len & 0xc0 {
            0x00 => {
                let len = len as usize;
                if len == 0 {
                    // Root label ends the name.
                    if names == Names::Netbios && first && label_no == 0 {
                        return NameEnd::Bad;
                    }
                    return NameEnd::At(end.unwrap_or(pos + 1));
                }
                total += len + 1;
                // RFC 1035 §3.1: "the total length of a domain name ... is
                // restricted to 255 octets or less".
                if total > 255 {
                    return NameEnd::Bad;
                }
                let Some(label) = msg.get(pos + 1..pos + 1 + len) else {
                    return if end.is_some() {
                        NameEnd::Bad
                    } else {
                        NameEnd::Short
                    };
                };
                // RFC 1002 §4.1: the NetBIOS name is a 32-byte label of
                // 'A'..'P' (first-level encoding, RFC 1001 §14.1).
                if names == Names::Netbios && first && label_no == 0 && !is_nb_shaped(label) {
                    return NameEnd::Bad;
                }
                label_no += 1;
                pos += 1 + len;
            }
            0xc0 => {
                let Some(off) = be16(msg, pos) else {
                    return if end.is_some() {
                        NameEnd::Bad
                    } else {
                        NameEnd::Short
                    };
                };
                let target = (off & 0x3fff) as usize;
                // Pointers go backwards only; the first one fixes where the
                // name ends in the byte stream.
                if target >= floor || target < 12 || jumps >= MAX_JUMPS {
                    return NameEnd::Bad;
                }
                if names == Names::Netbios && first && label_no == 0 {
                    return NameEnd::Bad;
                }
                jumps += 1;
                end.get_or_insert(pos + 2);
                pos = target;
                floor = target;
            }
            // 0x40 / 0x80: extended label types (RFC 6891 §5, deprecated).
            _ => return NameEnd::Bad,
        }
    }
}

/// A 32-octet label of which at least 28 are 'A'..='P': a NetBIOS name,
/// possibly damaged (the fuzzed NBNS of the nDPI corpus). Used to keep such
/// messages away from the DNS probe and to give them to NetBIOS.
pub(crate) fn is_nb_shaped(label: &[u8]) -> bool {
    label.len() == 32 && label.iter().filter(|b| (b'A'..=b'P').contains(b)).count() >= 28
}

/// RFC 1001 §14.1 first-level encoding: 32 characters 'A'..='P'.
pub(crate) fn is_nb_encoded(label: &[u8]) -> bool {
    label.len() == 32 && label.iter().all(|b| (b'A'..=b'P').contains(b))
}

/// RR and question TYPEs we believe in: RFC 1035 §3.2.2 and the IANA DNS
/// parameters registry (1..=110 data types, 249..=261 meta/QTYPEs such as
/// TKEY, TSIG, IXFR, AXFR, ANY, URI, CAA, 32768/32769 TA/DLV, and the
/// private-use range).
pub(crate) fn plausible_type(t: u16) -> bool {
    matches!(t, 1..=110 | 249..=261 | 32768 | 32769 | 65280..=65534)
}

/// CLASS / QCLASS: IN, CH, HS, NONE, ANY (RFC 1035 §3.2.4, RFC 2136). The
/// top bit is mDNS's unicast-response / cache-flush bit (RFC 6762 §5.4,
/// §10.2), so it is masked off.
pub(crate) fn plausible_class(c: u16) -> bool {
    matches!(c & 0x7fff, 1 | 3 | 4 | 254 | 255)
}

/// Validate a DNS-structured message. `msg` holds the bytes seen so far;
/// `declared_len` is the message length (the datagram length over UDP, the
/// 2-byte prefix over TCP), so `msg.len() < declared_len` means a prefix.
pub(crate) fn parse(msg: &[u8], declared_len: usize, names: Names) -> Result<DnsMsg, Fail> {
    let msg = msg.get(..declared_len).unwrap_or(msg);
    let prefix = msg.len() < declared_len;
    let short = |qdone: bool| {
        if prefix {
            Fail::Partial {
                questions_done: qdone,
            }
        } else {
            Fail::Invalid
        }
    };
    // RFC 1035 §4.1.1: a 12-octet header.
    if declared_len < 12 {
        return Err(Fail::Invalid);
    }
    let (Some(id), Some(flags)) = (be16(msg, 0), be16(msg, 2)) else {
        return Err(short(false));
    };
    let (Some(qd), Some(an), Some(ns), Some(ar)) =
        (be16(msg, 4), be16(msg, 6), be16(msg, 8), be16(msg, 10))
    else {
        return Err(short(false));
    };
    // Counts must fit the message: a question is at least 5 octets (root
    // name + QTYPE + QCLASS), a resource record at least 11 (RFC 1035
    // §4.1.2, §4.1.3). A truncated (TC) response may carry fewer records.
    let need = 12 + qd as usize * 5 + (an as usize + ns as usize + ar as usize) * 11;
    if need > declared_len && flags & TC == 0 {
        return Err(Fail::Invalid);
    }
    let mut out = DnsMsg {
        id,
        flags,
        qd,
        an,
        ns,
        ar,
        first_name: None,
        first_type: 0,
        first_class: 0,
        complete: true,
    };
    let mut pos = 12usize;
    // RFC 1035 §4.1.2: QNAME, QTYPE, QCLASS.
    for i in 0..qd {
        let end = match walk_name(msg, pos, names, i == 0) {
            NameEnd::At(e) => e,
            NameEnd::Short => return Err(short(false)),
            NameEnd::Bad => return Err(Fail::Invalid),
        };
        let (Some(qt), Some(qc)) = (be16(msg, end), be16(msg, end + 2)) else {
            return Err(short(false));
        };
        if !plausible_type(qt) || !plausible_class(qc) {
            return Err(Fail::Invalid);
        }
        if i == 0 {
            out.first_name = Some(pos);
            out.first_type = qt;
            out.first_class = qc;
        }
        pos = end + 4;
    }
    // RFC 1035 §4.1.3: NAME, TYPE, CLASS, TTL, RDLENGTH, RDATA.
    let records = an as usize + ns as usize + ar as usize;
    for i in 0..records {
        if pos >= msg.len() && flags & TC != 0 && !prefix {
            // A truncated response ends early (RFC 1035 §4.1.1 TC).
            return Ok(out);
        }
        let first = qd == 0 && i == 0;
        let end = match walk_name(msg, pos, names, first) {
            NameEnd::At(e) => e,
            NameEnd::Short if prefix => {
                out.complete = false;
                return Ok(out);
            }
            NameEnd::Short if flags & TC != 0 => return Ok(out),
            _ => return Err(Fail::Invalid),
        };
        let (Some(t), Some(c), Some(rdlen)) =
            (be16(msg, end), be16(msg, end + 2), be16(msg, end + 8))
        else {
            if prefix {
                out.complete = false;
                return Ok(out);
            }
            return if flags & TC != 0 {
                Ok(out)
            } else {
                Err(Fail::Invalid)
            };
        };
        // OPT (RFC 6891 §6.1.2) uses CLASS for the UDP payload size.
        if !plausible_type(t) || (t != 41 && !plausible_class(c)) {
            return Err(Fail::Invalid);
        }
        if first {
            out.first_name = Some(pos);
            out.first_type = t;
            out.first_class = c;
        }
        pos = end + 10 + rdlen as usize;
        if pos > declared_len {
            return if flags & TC != 0 {
                Ok(out)
            } else {
                Err(Fail::Invalid)
            };
        }
    }
    if prefix && pos >= msg.len() {
        // Every record fitted, but the bytes seen end before the declared
        // length (the last RDATA, or padding, is still on its way).
        out.complete = false;
        return Ok(out);
    }
    // The sections must account for the whole message; allow zero padding.
    match msg.get(pos..) {
        Some(rest) if rest.iter().all(|&b| b == 0) => Ok(out),
        _ => Err(Fail::Invalid),
    }
}

/// Name of a type, for evidence: the IANA mnemonic or `TYPE<n>`.
pub(crate) fn type_name(t: u16) -> String {
    super::rdata::type_text(t)
}

/// Render the name at `pos` as dotted text for evidence (bounded: at most
/// 255 octets of labels and [`MAX_JUMPS`] pointers, same rules as above).
pub(crate) fn render_name(msg: &[u8], mut pos: usize) -> String {
    let mut s = String::new();
    let mut jumps = 0;
    let mut floor = pos;
    while s.len() < 300 {
        let Some(&len) = msg.get(pos) else { break };
        if len == 0 {
            break;
        }
        if len & 0xc0 == 0xc0 {
            let Some(off) = be16(msg, pos) else { break };
            let t = (off & 0x3fff) as usize;
            if t >= floor || jumps >= MAX_JUMPS {
                break;
            }
            jumps += 1;
            pos = t;
            floor = t;
            continue;
        }
        if len & 0xc0 != 0 {
            break;
        }
        let Some(label) = msg.get(pos + 1..pos + 1 + len as usize) else {
            break;
        };
        if !s.is_empty() {
            s.push('.');
        }
        s.push_str(&netsift_proto::printable(label, 63));
        pos += 1 + len as usize;
    }
    if s.is_empty() {
        s.push('.');
    }
    s
}

/// Decode a first-level encoded NetBIOS name (RFC 1001 §14.1) to
/// `NAME<xx>`, trailing spaces trimmed.
pub(crate) fn netbios_name(label: &[u8]) -> String {
    let mut raw = [0u8; 16];
    for (i, pair) in label.chunks_exact(2).take(16).enumerate() {
        if let (Some(&h), Some(&l)) = (pair.first(), pair.get(1)) {
            raw[i] = (h.wrapping_sub(b'A') << 4) | (l.wrapping_sub(b'A') & 0x0f);
        }
    }
    let (name, suffix) = raw.split_at(15);
    let mut n = name.len();
    while n > 0 && name.get(n - 1) == Some(&b' ') {
        n -= 1;
    }
    format!(
        "{}<{:02x}>",
        netsift_proto::printable(name.get(..n).unwrap_or(name), 15),
        suffix.first().copied().unwrap_or(0)
    )
}

/// DNS over a stream (RFC 1035 §4.2.2, RFC 7766 §8): each message is
/// preceded by a two-byte length. Returns the declared length and the
/// message bytes seen so far, or `None` if fewer than two bytes are here.
pub(crate) fn tcp_frame(data: &[u8]) -> Option<(usize, &[u8])> {
    let len = be16(data, 0)? as usize;
    Some((len, data.get(2..).unwrap_or(&[])))
}

// ---------------------------------------------------------------------
// Full decoding for the "dns" log (the session parser). Bounded like the
// validator above: names follow at most MAX_JUMPS backward pointers and
// stop at 255 octets; every read is checked.
// ---------------------------------------------------------------------

/// One question (RFC 1035 §4.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Question {
    pub name: String,
    pub qtype: u16,
    pub qclass: u16,
    /// Offset of the name in the message (for NetBIOS decoding).
    pub at: usize,
}

/// One resource record (RFC 1035 §4.1.3), RDATA rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    pub owner: String,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    pub text: super::rdata::Text,
}

/// The OPT pseudo-record (RFC 6891 §6.1.2-§6.1.3).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Edns {
    /// EDNS VERSION.
    pub version: u8,
    /// Requestor's UDP payload size (the OPT CLASS field).
    pub udp_size: u16,
    /// DO bit: DNSSEC records wanted (RFC 3225).
    #[serde(rename = "do")]
    pub dnssec_ok: bool,
    /// EXTENDED-RCODE: the upper 8 bits of the 12-bit RCODE.
    #[serde(skip_serializing_if = "is_zero")]
    pub ext_rcode: u8,
    /// The 12-bit RCODE's name when EXTENDED-RCODE is not zero (RFC 6891
    /// §6.1.3): BADVERS (16), BADCOOKIE (23, RFC 7873), ...; the header's
    /// 4 bits alone (the record's `rcode_name`, as Zeek logs it) would read
    /// NOERROR for a BADVERS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rcode_name: Option<String>,
    /// Options by name: `NSID 6e73 ("ns")`, `ECS 192.0.2.0/24/0`,
    /// `COOKIE <hex>`, `PADDING 12`, `EDE 18 "text"`, `OPT<code> <hex>`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

/// A TSIG transaction signature (RFC 8945 §4.2).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tsig {
    /// The key's name (the record's owner).
    pub key: String,
    /// The MAC algorithm's name (`hmac-sha256`, RFC 8945 §6).
    pub algorithm: String,
    /// The TSIG error (RFC 8945 §5.3: BADSIG, BADKEY, BADTIME,
    /// BADTRUNC), absent when 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// RFC 8945 §3 / IANA TSIG error names.
fn tsig_error(e: u16) -> String {
    match e {
        16 => "BADSIG".into(),
        17 => "BADKEY".into(),
        18 => "BADTIME".into(),
        22 => "BADTRUNC".into(),
        n => super::rcode_name(n.min(255) as u8),
    }
}

fn is_zero(v: &u8) -> bool {
    *v == 0
}

/// A decoded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decoded {
    pub id: u16,
    pub flags: u16,
    pub qdcount: u16,
    pub ancount: u16,
    pub nscount: u16,
    pub arcount: u16,
    /// Questions (for UPDATE: the zone section, RFC 2136 §2.3), at most
    /// [`MAX_QUESTIONS`].
    pub questions: Vec<Question>,
    /// The answer section (UPDATE: prerequisites, RFC 2136 §2.4).
    pub answers: Vec<Answer>,
    /// The authority section, kept for UPDATE only (the updates, §2.5),
    /// or when asked for.
    pub authority: Vec<Answer>,
    /// The OPT record of the additional section.
    pub edns: Option<Edns>,
    /// The TSIG record of the additional section.
    pub tsig: Option<Tsig>,
    /// Anomalies met while decoding (the decoder keeps what it got).
    pub weird: Vec<String>,
}

impl Decoded {
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0x0f) as u8
    }
}

/// Most answers kept from one section of one message.
pub(crate) const MAX_ANSWERS: usize = 64;
/// Most questions kept from one message (mDNS asks many at once).
pub(crate) const MAX_QUESTIONS: usize = 32;
/// Most EDNS options kept.
const MAX_OPTIONS: usize = 16;

/// Read a (possibly compressed) name at `pos` as dotted text, lower case
/// (as Zeek writes names), non-printable bytes escaped as `\xHH`. Returns
/// the text and the offset after the name in the byte stream (after the
/// first pointer, if any). RFC 1035 §4.1.4: "a pointer is a two octet
/// sequence ... 11 followed by an OFFSET"; only strictly backward pointers
/// are followed (a loop cannot form) and at most [`MAX_JUMPS`] of them.
pub(crate) fn read_name(msg: &[u8], start: usize) -> Option<(String, usize)> {
    // Room for most names at once (growing from nothing reallocated two or
    // three times a name).
    let mut s = String::with_capacity(32);
    let mut pos = start;
    let mut end: Option<usize> = None;
    let mut jumps = 0;
    let mut floor = start;
    let mut total = 0usize;
    loop {
        let len = *msg.get(pos)?;
        match len & 0xc0 {
            0x00 if len == 0 => {
                if s.is_empty() {
                    s.push('.');
                }
                return Some((s, end.unwrap_or(pos + 1)));
            }
            0x00 => {
                let len = len as usize;
                total += len + 1;
                // RFC 1035 §3.1: names are 255 octets or less.
                if total > 255 {
                    return None;
                }
                let label = msg.get(pos + 1..pos + 1 + len)?;
                if !s.is_empty() {
                    s.push('.');
                }
                push_label(&mut s, label);
                pos += 1 + len;
            }
            0xc0 => {
                let t = (be16(msg, pos)? & 0x3fff) as usize;
                if t >= floor || jumps >= MAX_JUMPS {
                    return None;
                }
                jumps += 1;
                end.get_or_insert(pos + 2);
                pos = t;
                floor = t;
            }
            _ => return None,
        }
    }
}

/// A label as text, lower-cased (RFC 4343 §3: names compare
/// case-insensitively; Zeek writes them in lower case). Printable ASCII,
/// nearly every label, is written as it is read; anything else goes
/// through [`push_label_escaped`].
fn push_label(s: &mut String, label: &[u8]) {
    if label.iter().all(|b| (0x20..0x7f).contains(b)) {
        s.reserve(label.len());
        s.extend(label.iter().map(|&b| char::from(b.to_ascii_lowercase())));
    } else {
        push_label_escaped(s, &label.to_ascii_lowercase());
    }
}

/// A label as text: UTF-8 as it is (RFC 6762 §16: mDNS names are UTF-8,
/// "John's iPhone"), control characters and bytes that are not UTF-8 as
/// `\xHH`. Dots and backslashes inside a label stay as they are, as Zeek
/// writes them.
pub(super) fn push_label_escaped(s: &mut String, label: &[u8]) {
    let text = String::from_utf8_lossy(label);
    if !matches!(text, std::borrow::Cow::Borrowed(_)) {
        for &b in label {
            if (0x20..0x7f).contains(&b) {
                s.push(b as char);
            } else {
                netsift_proto::bytes::push_hex_escape(s, b);
            }
        }
        return;
    }
    for c in text.chars() {
        if c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                netsift_proto::bytes::push_hex_escape(s, b);
            }
        } else {
            s.push(c);
        }
    }
}

/// EDNS options (RFC 6891 §6.1.2: OPTION-CODE, OPTION-LENGTH, data), named
/// after the IANA "DNS EDNS0 Option Codes" registry, rendered as dig's OPT
/// pseudosection shows them.
fn edns_options(rd: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut p = 0;
    while p + 4 <= rd.len() && out.len() < MAX_OPTIONS {
        let (Some(code), Some(len)) = (be16(rd, p), be16(rd, p + 2)) else {
            break;
        };
        let Some(v) = rd.get(p + 4..p + 4 + len as usize) else {
            out.push(format!("OPT{code} truncated"));
            break;
        };
        p += 4 + len as usize;
        let hex = super::rdata::hex_upper(v).to_ascii_lowercase();
        out.push(match code {
            // RFC 5001 §2.3 NSID: opaque, often text.
            3 if v.is_empty() => "NSID".into(),
            3 => format!("NSID {hex} (\"{}\")", netsift_proto::printable(v, 64)),
            // RFC 7871 §6 ECS: FAMILY, SOURCE PREFIX-LENGTH, SCOPE
            // PREFIX-LENGTH, ADDRESS (only the prefix's octets).
            8 => match (be16(v, 0), v.get(2), v.get(3), v.get(4..)) {
                (Some(fam @ (1 | 2)), Some(src), Some(scope), Some(a)) => {
                    let addr = if fam == 1 {
                        let mut b = [0u8; 4];
                        for (d, s) in b.iter_mut().zip(a) {
                            *d = *s;
                        }
                        std::net::Ipv4Addr::from(b).to_string()
                    } else {
                        let mut b = [0u8; 16];
                        for (d, s) in b.iter_mut().zip(a) {
                            *d = *s;
                        }
                        std::net::Ipv6Addr::from(b).to_string()
                    };
                    format!("ECS {addr}/{src}/{scope}")
                }
                _ => format!("ECS {hex}"),
            },
            // RFC 7314 EXPIRE: seconds, absent in queries.
            9 => match be32(v, 0) {
                Some(s) if v.len() == 4 => format!("EXPIRE {s}"),
                _ => "EXPIRE".into(),
            },
            // RFC 7873 §4 COOKIE: client cookie (8) and server cookie.
            10 => format!("COOKIE {hex}"),
            // RFC 7828 §3.1 edns-tcp-keepalive: TIMEOUT in 100 ms units.
            11 => match be16(v, 0) {
                Some(t) if v.len() == 2 => format!("TCP-KEEPALIVE {}.{}", t / 10, t % 10),
                _ => "TCP-KEEPALIVE".into(),
            },
            // RFC 7830 §3 Padding: its length only.
            12 => format!("PADDING {}", v.len()),
            // RFC 8914 §2 Extended DNS Error: INFO-CODE, EXTRA-TEXT.
            15 => match be16(v, 0) {
                Some(c) if v.len() > 2 => format!(
                    "EDE {c} \"{}\"",
                    netsift_proto::printable(v.get(2..).unwrap_or(&[]), 128)
                ),
                Some(c) => format!("EDE {c}"),
                None => "EDE".into(),
            },
            _ if v.is_empty() => format!("OPT{code}"),
            _ => format!("OPT{code} {hex}"),
        });
    }
    out
}

/// Which section a record came from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Answer,
    Authority,
    Additional,
}

/// Decode a whole message: header, questions, the three record sections
/// (answers rendered; authority kept for UPDATE; the OPT record of the
/// additional section). `nbns` marks a NetBIOS name service message
/// (RFC 1002 types). `None` when even the header is not there.
pub(crate) fn decode(msg: &[u8], nbns: bool) -> Option<Decoded> {
    decode_sections(msg, nbns, false)
}

/// [`decode`], keeping the authority section of every message when
/// `authority` is set (tests compare it with dig's).
pub(crate) fn decode_sections(msg: &[u8], nbns: bool, authority: bool) -> Option<Decoded> {
    // RFC 1035 §4.1.1: ID, flags, QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT.
    let id = be16(msg, 0)?;
    let flags = be16(msg, 2)?;
    let qd = be16(msg, 4)?;
    let an = be16(msg, 6)?;
    let ns = be16(msg, 8)?;
    let ar = be16(msg, 10)?;
    let mut d = Decoded {
        id,
        flags,
        qdcount: qd,
        ancount: an,
        nscount: ns,
        arcount: ar,
        questions: Vec::new(),
        answers: Vec::new(),
        authority: Vec::new(),
        edns: None,
        tsig: None,
        weird: Vec::new(),
    };
    let update = (d.opcode() == 5 && !nbns) || authority;
    let mut pos = 12usize;
    // RFC 1035 §4.1.2: QNAME, QTYPE, QCLASS.
    for _ in 0..qd {
        let Some((name, end)) = read_name(msg, pos) else {
            d.weird.push("bad_question_name".into());
            return Some(d);
        };
        let (Some(qtype), Some(qclass)) = (be16(msg, end), be16(msg, end + 2)) else {
            d.weird.push("truncated_question".into());
            return Some(d);
        };
        if d.questions.len() < MAX_QUESTIONS {
            d.questions.push(Question {
                name,
                qtype,
                qclass,
                at: pos,
            });
        }
        pos = end + 4;
    }
    // RFC 1035 §4.1.3: NAME, TYPE, CLASS, TTL, RDLENGTH, RDATA. Every
    // record consumes at least 11 octets, so the walk is bounded by the
    // message length whatever the counts say.
    let sections = [
        (Section::Answer, an),
        (Section::Authority, ns),
        (Section::Additional, ar),
    ];
    for (section, count) in sections {
        for _ in 0..count {
            let Some((owner, end)) = read_name(msg, pos) else {
                d.weird.push(
                    match section {
                        Section::Answer => "bad_answer_name",
                        _ => "bad_record_name",
                    }
                    .into(),
                );
                return Some(d);
            };
            let (Some(rtype), Some(class), Some(ttl), Some(rdlen)) = (
                be16(msg, end),
                be16(msg, end + 2),
                be32(msg, end + 4),
                be16(msg, end + 8),
            ) else {
                d.weird.push(
                    match section {
                        Section::Answer => "truncated_answer",
                        _ => "truncated_record",
                    }
                    .into(),
                );
                return Some(d);
            };
            let at = end + 10;
            if at + rdlen as usize > msg.len() {
                d.weird.push("rdata_beyond_message".into());
                return Some(d);
            }
            pos = at + rdlen as usize;
            // RFC 6891 §6.1.1: OPT "MUST only appear in the additional data
            // section"; the first one counts (§6.1.1: more is FORMERR).
            if rtype == 41 && section == Section::Additional && !nbns {
                if d.edns.is_some() {
                    d.weird.push("dns_multiple_opt_records".into());
                    continue;
                }
                let rd = msg.get(at..pos).unwrap_or(&[]);
                d.edns = Some(Edns {
                    version: (ttl >> 16) as u8,
                    udp_size: class,
                    // RFC 3225 §3: DO is the top bit of the Z field.
                    dnssec_ok: ttl & 0x8000 != 0,
                    ext_rcode: (ttl >> 24) as u8,
                    rcode_name: (ttl >> 24 != 0).then(|| {
                        let full = ((ttl >> 24) << 4) as u16 | (flags & 0x0f);
                        match full {
                            16 => "BADVERS".to_string(),
                            23 => "BADCOOKIE".to_string(),
                            n => format!("rcode-{n}"),
                        }
                    }),
                    options: edns_options(rd),
                });
                continue;
            }
            // RFC 8945 §4.2: TSIG, the last record of the additional
            // section: NAME the key; RDATA Algorithm Name, Time Signed (48
            // bits), Fudge, MAC Size, MAC, Original ID, Error, Other.
            if rtype == 250 && section == Section::Additional && !nbns {
                if let Some((alg, end)) = read_name(msg, at) {
                    let mac_len = be16(msg, end + 8).unwrap_or(0) as usize;
                    let error = be16(msg, end + 10 + mac_len + 2).unwrap_or(0);
                    if end <= pos {
                        d.tsig = Some(Tsig {
                            key: owner,
                            algorithm: alg,
                            error: (error != 0).then(|| tsig_error(error)),
                        });
                    }
                }
                continue;
            }
            let keep = match section {
                Section::Answer => d.answers.len() < MAX_ANSWERS,
                Section::Authority => update && d.authority.len() < MAX_ANSWERS,
                Section::Additional => false,
            };
            if !keep {
                continue;
            }
            let text = super::rdata::render(&super::rdata::Rr {
                msg,
                owner: &owner,
                rtype,
                at,
                len: rdlen as usize,
                nbns,
            });
            let a = Answer {
                owner,
                rtype,
                class,
                ttl,
                text,
            };
            match section {
                Section::Answer => d.answers.push(a),
                _ => d.authority.push(a),
            }
        }
    }
    Some(d)
}

/// Name of a CLASS as Zeek's `DNS::classes` table spells it (RFC 1035
/// §3.2.4, RFC 2136 §1.3 NONE); others `qclass-<n>`. The mDNS top bit
/// (RFC 6762 §5.4, §10.2) is the caller's to mask.
pub(crate) fn class_name(c: u16) -> String {
    match c {
        1 => "C_INTERNET".into(),
        2 => "C_CSNET".into(),
        3 => "C_CHAOS".into(),
        4 => "C_HESIOD".into(),
        254 => "C_NONE".into(),
        255 => "C_ANY".into(),
        n => format!("qclass-{n}"),
    }
}
