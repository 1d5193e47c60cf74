//! Shared DNS message validation (RFC 1035 §4.1), used by the DNS, mDNS,
//! LLMNR and NetBIOS name service probes. Nothing here allocates except
//! [`render_name`], which is only called when building a `Match`.

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

fn be16(b: &[u8], at: usize) -> Option<u16> {
    let hi = *b.get(at)?;
    let lo = *b.get(at + 1)?;
    Some(u16::from_be_bytes([hi, lo]))
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

/// Name of a type, for evidence.
pub(crate) fn type_name(t: u16) -> String {
    let s = match t {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        10 => "NULL",
        12 => "PTR",
        13 => "HINFO",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        35 => "NAPTR",
        41 => "OPT",
        43 => "DS",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        50 => "NSEC3",
        64 => "SVCB",
        65 => "HTTPS",
        99 => "SPF",
        250 => "TSIG",
        251 => "IXFR",
        252 => "AXFR",
        255 => "ANY",
        257 => "CAA",
        _ => return format!("TYPE{t}"),
    };
    s.to_string()
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
