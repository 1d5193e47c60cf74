//! RDATA as text, twice: in presentation format, the way `dig` prints the
//! RDATA column (RFC 1035 §5.1 and each type's RFC), and as Zeek's dns.log
//! summarises it (`scripts/base/protocols/dns/main.zeek`: MX gives the
//! exchange only, TXT `TXT <len> <string>`, DNSKEY `DNSKEY <alg>`, ...).
//!
//! One departure from dig, kept everywhere: domain names are written
//! without the final dot and in lower case, as Zeek writes them and as the
//! `query` field is (so an A/CNAME/PTR answer reads the same in both).
//! The root is `.`.
//!
//! Bounds: every read is checked against the RDATA; names follow the
//! backward-only, counted compression pointers of [`super::parse`]; a
//! rendering is cut at [`MAX_TEXT`] characters.

use netsift_proto::bytes::{be16, be32};
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use base64::Engine as _;

use super::parse::{self, netbios_name};

/// Longest rendering kept for one record (a DNSKEY of RSA-4096 is ~700
/// characters of base64; a 64 KiB TXT would be 256 KiB of escapes).
pub(crate) const MAX_TEXT: usize = 4096;

/// One record's RDATA rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Text {
    /// dig's presentation of the RDATA.
    pub dig: String,
    /// What Zeek's dns.log writes for it; `None` where Zeek writes nothing
    /// (HINFO, CAA, SVCB/HTTPS, WKS, OPT, NetBIOS records: no script
    /// handler adds them to `answers`).
    pub zeek: Option<String>,
}

/// The bytes of one record.
pub(crate) struct Rr<'a> {
    /// The whole message (names in RDATA may point anywhere before).
    pub msg: &'a [u8],
    pub owner: &'a str,
    pub rtype: u16,
    /// RDATA offset in `msg`.
    pub at: usize,
    pub len: usize,
    /// NetBIOS name service message (RFC 1002): TYPE 0x20 is NB and 0x21
    /// NBSTAT, not NIMLOC / SRV.
    pub nbns: bool,
}

/// Uppercase hex, as dig prints digests and fingerprints.
pub(crate) fn hex_upper(b: &[u8]) -> String {
    let mut s = hex_lower(b);
    s.make_ascii_uppercase();
    s
}

use netsift_proto::bytes::hex as hex_lower;

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// RFC 4648 §7 base32 with the extended hex alphabet, no padding (RFC 5155
/// §3.3: the NSEC3 next hashed owner name).
fn base32hex(b: &[u8]) -> String {
    const A: &[u8; 32] = b"0123456789ABCDEFGHIJKLMNOPQRSTUV";
    let mut s = String::new();
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &x in b {
        acc = (acc << 8) | u32::from(x);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            s.push(A[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        s.push(A[((acc << (5 - bits)) & 31) as usize] as char);
    }
    s
}

/// A <character-string> (RFC 1035 §3.3) in dig's quoted form: `"` and `\`
/// escaped with a backslash, bytes outside printable ASCII as `\DDD`
/// (RFC 1035 §5.1).
fn quoted(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() + 2);
    s.push('"');
    for &c in b {
        match c {
            b'"' | b'\\' => {
                s.push('\\');
                s.push(c as char);
            }
            0x20..=0x7e => s.push(c as char),
            _ => {
                let _ = write!(s, "\\{c:03}");
            }
        }
    }
    s.push('"');
    s
}

/// Bytes as a Zeek string value: ASCII as it is (control characters
/// included: the log writers escape them as Zeek's do, `\x01`), other
/// bytes as `\xHH` text.
fn zeek_bytes(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len());
    for &c in b {
        if c.is_ascii() {
            s.push(c as char);
        } else {
            netsift_proto::bytes::push_hex_escape(&mut s, c);
        }
    }
    s
}

/// Every <character-string> in `rd` (RFC 1035 §3.3.14 TXT). `None` if the
/// last one runs past the end.
fn strings(rd: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    let mut p = 0;
    while p < rd.len() {
        let l = *rd.get(p)? as usize;
        out.push(rd.get(p + 1..p + 1 + l)?);
        p += 1 + l;
    }
    Some(out)
}

/// One <character-string> at `p`; the slice and the offset after it.
fn string_at(rd: &[u8], p: usize) -> Option<(&[u8], usize)> {
    let l = *rd.get(p)? as usize;
    Some((rd.get(p + 1..p + 1 + l)?, p + 1 + l))
}

/// Mnemonics of the IANA "Resource Record (RR) TYPEs" registry, as dig
/// prints them.
pub(crate) fn mnemonic(t: u16) -> Option<&'static str> {
    Some(match t {
        1 => "A",
        2 => "NS",
        3 => "MD",
        4 => "MF",
        5 => "CNAME",
        6 => "SOA",
        7 => "MB",
        8 => "MG",
        9 => "MR",
        10 => "NULL",
        11 => "WKS",
        12 => "PTR",
        13 => "HINFO",
        14 => "MINFO",
        15 => "MX",
        16 => "TXT",
        17 => "RP",
        18 => "AFSDB",
        19 => "X25",
        20 => "ISDN",
        21 => "RT",
        22 => "NSAP",
        23 => "NSAP-PTR",
        24 => "SIG",
        25 => "KEY",
        26 => "PX",
        27 => "GPOS",
        28 => "AAAA",
        29 => "LOC",
        30 => "NXT",
        31 => "EID",
        32 => "NIMLOC",
        33 => "SRV",
        34 => "ATMA",
        35 => "NAPTR",
        36 => "KX",
        37 => "CERT",
        38 => "A6",
        39 => "DNAME",
        40 => "SINK",
        41 => "OPT",
        42 => "APL",
        43 => "DS",
        44 => "SSHFP",
        45 => "IPSECKEY",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        49 => "DHCID",
        50 => "NSEC3",
        51 => "NSEC3PARAM",
        52 => "TLSA",
        53 => "SMIMEA",
        55 => "HIP",
        56 => "NINFO",
        57 => "RKEY",
        58 => "TALINK",
        59 => "CDS",
        60 => "CDNSKEY",
        61 => "OPENPGPKEY",
        62 => "CSYNC",
        63 => "ZONEMD",
        64 => "SVCB",
        65 => "HTTPS",
        99 => "SPF",
        100 => "UINFO",
        101 => "UID",
        102 => "GID",
        103 => "UNSPEC",
        104 => "NID",
        105 => "L32",
        106 => "L64",
        107 => "LP",
        108 => "EUI48",
        109 => "EUI64",
        249 => "TKEY",
        250 => "TSIG",
        251 => "IXFR",
        252 => "AXFR",
        253 => "MAILB",
        254 => "MAILA",
        255 => "ANY",
        256 => "URI",
        257 => "CAA",
        32768 => "TA",
        32769 => "DLV",
        _ => return None,
    })
}

/// dig's name of a type: the mnemonic or `TYPE<n>` (RFC 3597 §5).
pub(crate) fn type_text(t: u16) -> String {
    mnemonic(t).map_or_else(|| format!("TYPE{t}"), str::to_string)
}

/// A name inside RDATA at `rd_off` (relative to the RDATA), which must end
/// within the RDATA. The text and the RDATA offset after it.
fn name_in(rr: &Rr<'_>, rd_off: usize) -> Option<(String, usize)> {
    let (n, end) = parse::read_name(rr.msg, rr.at + rd_off)?;
    if end > rr.at + rr.len {
        return None;
    }
    Some((n, end - rr.at))
}

/// A name as Zeek writes it: the root is the empty string.
fn zeek_name(n: &str) -> String {
    if n == "." {
        String::new()
    } else {
        n.to_string()
    }
}

/// RFC 4034 §4.1.2 type bit maps: windows of up to 32 octets, each bit a
/// TYPE. dig lists the mnemonics in order.
fn type_bitmap(b: &[u8]) -> Option<String> {
    let mut out: Vec<String> = Vec::new();
    let mut p = 0;
    while p < b.len() {
        let win = u16::from(*b.get(p)?);
        let blen = *b.get(p + 1)? as usize;
        // "Blocks with no types present MUST NOT be included"; 1..=32.
        if blen == 0 || blen > 32 {
            return None;
        }
        let map = b.get(p + 2..p + 2 + blen)?;
        for (i, byte) in map.iter().enumerate() {
            for bit in 0..8 {
                if byte & (0x80 >> bit) != 0 {
                    out.push(type_text(win * 256 + (i * 8 + bit) as u16));
                }
            }
        }
        p += 2 + blen;
    }
    Some(out.join(" "))
}

/// RRSIG times (RFC 4034 §3.2): YYYYMMDDHHmmSS in UTC.
fn rrsig_time(t: u32) -> String {
    let days = i64::from(t / 86_400);
    let rem = t % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// RFC 1876 §2 LOC size / precision: mantissa in the high nibble, power
/// of ten in the low one, in centimetres; printed in metres as BIND does.
fn loc_size(b: u8) -> String {
    let (mant, exp) = (u64::from(b >> 4), u32::from(b & 0x0f));
    if exp >= 2 {
        format!("{}m", mant * 10u64.saturating_pow(exp - 2))
    } else {
        format!("0.{:02}m", mant * 10u64.pow(exp))
    }
}

/// RFC 1876 §3 LOC presentation: `d m s.fff N|S d m s.fff E|W alt size hp vp`.
fn loc(rd: &[u8]) -> Option<String> {
    // VERSION 0 is the only one defined (RFC 1876 §2).
    if rd.len() != 16 || rd.first() != Some(&0) {
        return None;
    }
    let angle = |v: u32, pos: char, neg: char| {
        // Thousandths of a second of arc, offset by 2^31 (the equator /
        // prime meridian).
        let (hemi, v) = if v >= 1 << 31 {
            (pos, v - (1 << 31))
        } else {
            (neg, (1 << 31) - v)
        };
        format!(
            "{} {} {}.{:03} {hemi}",
            v / 3_600_000,
            v / 60_000 % 60,
            v / 1000 % 60,
            v % 1000
        )
    };
    let lat = be32(rd, 4)?;
    let lon = be32(rd, 8)?;
    // Altitude in centimetres above a base 100,000 m below the WGS 84
    // reference spheroid.
    let alt = i64::from(be32(rd, 12)?) - 10_000_000;
    let sign = if alt < 0 { "-" } else { "" };
    let a = alt.unsigned_abs();
    Some(format!(
        "{} {} {sign}{}.{:02}m {} {} {}",
        angle(lat, 'N', 'S'),
        angle(lon, 'E', 'W'),
        a / 100,
        a % 100,
        loc_size(*rd.get(1)?),
        loc_size(*rd.get(2)?),
        loc_size(*rd.get(3)?),
    ))
}

/// RFC 9460 §14.3.2 SvcParamKeys.
fn svc_key(k: u16) -> String {
    match k {
        0 => "mandatory".into(),
        1 => "alpn".into(),
        2 => "no-default-alpn".into(),
        3 => "port".into(),
        4 => "ipv4hint".into(),
        5 => "ech".into(),
        6 => "ipv6hint".into(),
        7 => "dohpath".into(),
        8 => "ohttp".into(),
        n => format!("key{n}"),
    }
}

/// A value list item of alpn (RFC 9460 Appendix A.1): a comma or a
/// backslash inside an item is escaped with a backslash; `"` and bytes
/// outside printable ASCII as in any quoted string.
fn alpn_item(b: &[u8]) -> String {
    let mut s = String::new();
    for &c in b {
        match c {
            b',' | b'\\' | b'"' => {
                s.push('\\');
                s.push(c as char);
            }
            0x20..=0x7e => s.push(c as char),
            _ => {
                let _ = write!(s, "\\{c:03}");
            }
        }
    }
    s
}

/// RFC 9460 §2.1 SVCB/HTTPS: SvcPriority, TargetName, SvcParams.
fn svcb(rr: &Rr<'_>, rd: &[u8]) -> Option<String> {
    let prio = be16(rd, 0)?;
    let (target, mut p) = name_in(rr, 2)?;
    let mut s = format!("{prio} {target}");
    // RFC 9460 §2.2: "SvcParamKeys SHALL appear in increasing numeric
    // order"; each is key (2), length (2), value.
    while p < rd.len() {
        let key = be16(rd, p)?;
        let vlen = be16(rd, p + 2)? as usize;
        let v = rd.get(p + 4..p + 4 + vlen)?;
        p += 4 + vlen;
        s.push(' ');
        s.push_str(&svc_key(key));
        let value = match key {
            // §7.1.1 / §8: a list of 2-octet keys.
            0 => {
                if v.len() % 2 != 0 {
                    return None;
                }
                let keys: Vec<String> = v
                    .chunks_exact(2)
                    .map(|k| svc_key(u16::from_be_bytes([k[0], k[1]])))
                    .collect();
                Some(keys.join(","))
            }
            // §7.1.1: alpn-ids, each a length-prefixed string; printed quoted.
            1 => {
                let ids = strings(v)?;
                let ids: Vec<String> = ids.iter().map(|i| alpn_item(i)).collect();
                Some(format!("\"{}\"", ids.join(",")))
            }
            // §7.1.1: no-default-alpn has no value.
            2 if v.is_empty() => None,
            // §7.2: a 16-bit port.
            3 if v.len() == 2 => Some(be16(v, 0)?.to_string()),
            // §7.3: IPv4 / IPv6 addresses, comma-separated.
            4 if !v.is_empty() && v.len() % 4 == 0 => Some(
                v.chunks_exact(4)
                    .map(|a| Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            6 if !v.is_empty() && v.len() % 16 == 0 => Some(
                v.chunks_exact(16)
                    .filter_map(|a| <[u8; 16]>::try_from(a).ok())
                    .map(|a| Ipv6Addr::from(a).to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            // §7.4 / RFC 9848: ECHConfigList, base64.
            5 => Some(b64(v)),
            // Unknown keys: the value as a quoted string (RFC 9460 §2.1,
            // "char-string"), as dig prints `key65333="ex"`.
            _ if v.is_empty() => None,
            _ => Some(quoted(v)),
        };
        if let Some(value) = value {
            s.push('=');
            s.push_str(&value);
        }
    }
    Some(s)
}

/// NetBIOS NB RDATA (RFC 1002 §4.2.2 ADDR_ENTRY: NB_FLAGS, NB_ADDRESS):
/// the addresses, a `group` mark on group names.
fn nb(rd: &[u8]) -> Option<String> {
    if rd.is_empty() || rd.len() % 6 != 0 {
        return None;
    }
    let v: Vec<String> = rd
        .chunks_exact(6)
        .map(|e| {
            let ip = Ipv4Addr::new(e[2], e[3], e[4], e[5]);
            // NB_FLAGS: G (group) is the top bit.
            if e[0] & 0x80 != 0 {
                format!("{ip} group")
            } else {
                ip.to_string()
            }
        })
        .collect();
    Some(v.join(" "))
}

/// NetBIOS NBSTAT RDATA (RFC 1002 §4.2.18 NODE STATUS RESPONSE):
/// NUM_NAMES, NODE_NAME entries of 18 octets (16-octet name, 2 flag
/// octets), then the statistics whose first 6 octets are the unit ID
/// (the MAC address).
fn nbstat(rd: &[u8]) -> Option<String> {
    let n = *rd.first()? as usize;
    let mut names = Vec::with_capacity(n);
    for i in 0..n {
        let e = rd.get(1 + i * 18..1 + (i + 1) * 18)?;
        let raw = e.get(..16)?;
        let (name, suffix) = raw.split_at(15);
        let mut end = name.len();
        while end > 0 && matches!(name.get(end - 1), Some(b' ') | Some(0)) {
            end -= 1;
        }
        names.push(format!(
            "{}<{:02x}>",
            netsift_proto::printable(name.get(..end).unwrap_or(name), 15),
            suffix.first().copied().unwrap_or(0)
        ));
    }
    let mut s = names.join(" ");
    if let Some(mac) = rd.get(1 + n * 18..1 + n * 18 + 6) {
        let m: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
        let _ = write!(s, " mac {}", m.join(":"));
    }
    Some(s)
}

/// RFC 3597 §5: `\# <length> <hex>`.
fn generic(rd: &[u8]) -> String {
    if rd.is_empty() {
        "\\# 0".to_string()
    } else {
        format!("\\# {} {}", rd.len(), hex_upper(rd))
    }
}

fn cut(mut s: String) -> String {
    if s.len() > MAX_TEXT {
        let mut n = MAX_TEXT;
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        s.truncate(n);
        s.push_str("...");
    }
    s
}

/// dig's presentation of one record's RDATA; `None` if the RDATA does not
/// have the type's layout (the caller falls back to RFC 3597's form).
fn dig_text(rr: &Rr<'_>, rd: &[u8]) -> Option<String> {
    let name_only = |off: usize| -> Option<String> {
        let (n, end) = name_in(rr, off)?;
        (end == rd.len()).then_some(n)
    };
    let u16_name = || -> Option<String> {
        let v = be16(rd, 0)?;
        Some(format!("{v} {}", name_only(2)?))
    };
    Some(match rr.rtype {
        32 if rr.nbns => nb(rd)?,
        33 if rr.nbns => nbstat(rd)?,
        // RFC 1035 §3.4.1: "A 32 bit Internet address."
        1 => Ipv4Addr::from(<[u8; 4]>::try_from(rd).ok()?).to_string(),
        // RFC 3596 §2.2: "A 128 bit IPv6 address" (RFC 5952 text).
        28 => Ipv6Addr::from(<[u8; 16]>::try_from(rd).ok()?).to_string(),
        // RFC 1035 §3.3.1 CNAME, §3.3.11 NS, §3.3.12 PTR (and the obsolete
        // MB/MD/MF/MG/MR), RFC 6672 DNAME: one <domain-name>.
        2..=5 | 7..=9 | 12 | 39 => name_only(0)?,
        // RFC 1035 §3.3.13: MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM.
        6 => {
            let (m, p) = name_in(rr, 0)?;
            let (r, p) = name_in(rr, p)?;
            if p + 20 != rd.len() {
                return None;
            }
            let n = |i: usize| be32(rd, p + 4 * i);
            format!("{m} {r} {} {} {} {} {}", n(0)?, n(1)?, n(2)?, n(3)?, n(4)?)
        }
        // RFC 1035 §3.3.2: CPU, OS as <character-string>s.
        13 => {
            let (cpu, p) = string_at(rd, 0)?;
            let (os, p) = string_at(rd, p)?;
            (p == rd.len()).then(|| format!("{} {}", quoted(cpu), quoted(os)))?
        }
        // RFC 1035 §3.3.7 MINFO, RFC 1183 §2.2 RP: two names.
        14 | 17 => {
            let (a, p) = name_in(rr, 0)?;
            let (b, p) = name_in(rr, p)?;
            (p == rd.len()).then(|| format!("{a} {b}"))?
        }
        // RFC 1035 §3.3.9 MX, RFC 1183 AFSDB / RT, RFC 2230 KX: a 16-bit
        // value and a name.
        15 | 18 | 21 | 36 => u16_name()?,
        // RFC 1035 §3.3.14 TXT, RFC 7208 SPF: one or more
        // <character-string>s, each quoted.
        16 | 99 => {
            let ss = strings(rd)?;
            if ss.is_empty() {
                return None;
            }
            ss.iter().map(|s| quoted(s)).collect::<Vec<_>>().join(" ")
        }
        29 => loc(rd)?,
        // RFC 2782: Priority Weight Port Target.
        33 => {
            let (pr, w, po) = (be16(rd, 0)?, be16(rd, 2)?, be16(rd, 4)?);
            format!("{pr} {w} {po} {}", name_only(6)?)
        }
        // RFC 3403 §4.1: ORDER PREFERENCE FLAGS SERVICES REGEXP REPLACEMENT.
        35 => {
            let (order, pref) = (be16(rd, 0)?, be16(rd, 2)?);
            let (flags, p) = string_at(rd, 4)?;
            let (svc, p) = string_at(rd, p)?;
            let (re, p) = string_at(rd, p)?;
            let (repl, end) = name_in(rr, p)?;
            if end != rd.len() {
                return None;
            }
            format!(
                "{order} {pref} {} {} {} {repl}",
                quoted(flags),
                quoted(svc),
                quoted(re)
            )
        }
        // RFC 4034 §5.3 DS (and CDS RFC 7344, DLV RFC 4431): Key Tag,
        // Algorithm, Digest Type, Digest in hex.
        43 | 59 | 32769 => {
            let d = rd.get(4..).filter(|d| !d.is_empty())?;
            format!(
                "{} {} {} {}",
                be16(rd, 0)?,
                rd.get(2)?,
                rd.get(3)?,
                hex_upper(d)
            )
        }
        // RFC 4255 §3.2 SSHFP: algorithm, fingerprint type, hex.
        44 => {
            let fp = rd.get(2..).filter(|d| !d.is_empty())?;
            format!("{} {} {}", rd.first()?, rd.get(1)?, hex_upper(fp))
        }
        // RFC 4034 §3.2 RRSIG.
        46 => {
            if rd.len() < 18 {
                return None;
            }
            let (signer, p) = name_in(rr, 18)?;
            let sig = rd.get(p..)?;
            format!(
                "{} {} {} {} {} {} {} {signer} {}",
                type_text(be16(rd, 0)?),
                rd.get(2)?,
                rd.get(3)?,
                be32(rd, 4)?,
                rrsig_time(be32(rd, 8)?),
                rrsig_time(be32(rd, 12)?),
                be16(rd, 16)?,
                b64(sig)
            )
        }
        // RFC 4034 §4.2 NSEC: Next Domain Name, Type Bit Maps.
        47 => {
            let (next, p) = name_in(rr, 0)?;
            let types = type_bitmap(rd.get(p..)?)?;
            if types.is_empty() {
                next
            } else {
                format!("{next} {types}")
            }
        }
        // RFC 4034 §2.2 DNSKEY (and CDNSKEY): Flags Protocol Algorithm Key.
        48 | 60 => {
            let key = rd.get(4..)?;
            format!(
                "{} {} {} {}",
                be16(rd, 0)?,
                rd.get(2)?,
                rd.get(3)?,
                b64(key)
            )
        }
        // RFC 5155 §3.3 NSEC3: alg flags iterations salt next types.
        50 => {
            let (alg, flags, iter) = (rd.first()?, rd.get(1)?, be16(rd, 2)?);
            let slen = *rd.get(4)? as usize;
            let salt = rd.get(5..5 + slen)?;
            let hlen = *rd.get(5 + slen)? as usize;
            let hash = rd.get(6 + slen..6 + slen + hlen)?;
            let types = type_bitmap(rd.get(6 + slen + hlen..)?)?;
            let salt = if salt.is_empty() {
                "-".to_string()
            } else {
                hex_upper(salt)
            };
            let mut s = format!("{alg} {flags} {iter} {salt} {}", base32hex(hash));
            if !types.is_empty() {
                s.push(' ');
                s.push_str(&types);
            }
            s
        }
        // RFC 5155 §4.3 NSEC3PARAM.
        51 => {
            let slen = *rd.get(4)? as usize;
            let salt = rd.get(5..5 + slen)?;
            if 5 + slen != rd.len() {
                return None;
            }
            let salt = if salt.is_empty() {
                "-".to_string()
            } else {
                hex_upper(salt)
            };
            format!("{} {} {} {salt}", rd.first()?, rd.get(1)?, be16(rd, 2)?)
        }
        // RFC 6698 §2.2 TLSA (RFC 8162 SMIMEA): usage selector type data.
        52 | 53 => {
            let d = rd.get(3..).filter(|d| !d.is_empty())?;
            format!(
                "{} {} {} {}",
                rd.first()?,
                rd.get(1)?,
                rd.get(2)?,
                hex_upper(d)
            )
        }
        // RFC 7929 §2.3 OPENPGPKEY: the key in base64.
        61 => b64(rd),
        64 | 65 => svcb(rr, rd)?,
        // RFC 7553 §4.5 URI: Priority Weight "Target".
        256 => format!("{} {} {}", be16(rd, 0)?, be16(rd, 2)?, quoted(rd.get(4..)?)),
        // RFC 8659 §4.1.1 CAA: Flags Tag "Value".
        257 => {
            let tlen = *rd.get(1)? as usize;
            let tag = rd.get(2..2 + tlen).filter(|t| !t.is_empty())?;
            let value = rd.get(2 + tlen..)?;
            format!(
                "{} {} {}",
                rd.first()?,
                netsift_proto::printable(tag, 255),
                quoted(value)
            )
        }
        _ => return None,
    })
}

/// What Zeek's dns.log `answers` holds for the record (main.zeek's
/// `dns_*_reply` handlers), given dig's rendering succeeded or not.
fn zeek_text(rr: &Rr<'_>, rd: &[u8]) -> Option<String> {
    let name = |off: usize| name_in(rr, off).map(|(n, _)| zeek_name(&n));
    let txt = |label: &str| {
        let ss = strings(rd)?;
        Some(
            ss.iter()
                .map(|s| format!("{label} {} {}", s.len(), zeek_bytes(s)))
                .collect::<Vec<_>>()
                .join(" "),
        )
    };
    let z = match rr.rtype {
        // Zeek parses NB records but has no event for them; NBSTAT shares
        // SRV's number and is skipped on port 137.
        32 | 33 if rr.nbns => return None,
        1 => Ipv4Addr::from(<[u8; 4]>::try_from(rd).ok()?).to_string(),
        28 => Ipv6Addr::from(<[u8; 16]>::try_from(rd).ok()?).to_string(),
        2 | 5 | 12 => name(0)?,
        // SOA: `soa$mname`; MX: the exchange; SRV: the target.
        6 => name(0)?,
        15 => name(2)?,
        33 => name(6)?,
        16 => txt("TXT")?,
        99 => txt("SPF")?,
        // `NAPTR order pref flags service <regexp> <replacement>`.
        35 => {
            let (order, pref) = (be16(rd, 0)?, be16(rd, 2)?);
            let (flags, p) = string_at(rd, 4)?;
            let (svc, p) = string_at(rd, p)?;
            let (re, p) = string_at(rd, p)?;
            let repl = name(p)?;
            let mut tail = zeek_bytes(re);
            if !repl.is_empty() {
                if !tail.is_empty() {
                    tail.push(' ');
                }
                tail.push_str(&repl);
            }
            format!(
                "NAPTR {order} {pref} {} {} {tail}",
                zeek_bytes(flags),
                zeek_bytes(svc)
            )
        }
        // `RRSIG <type covered, a number> <signer or <Root>>`.
        46 => {
            let signer = name(18)?;
            let signer = if signer.is_empty() {
                "<Root>".to_string()
            } else {
                signer
            };
            format!("RRSIG {} {signer}", be16(rd, 0)?)
        }
        48 => format!("DNSKEY {}", rd.get(3)?),
        47 => format!("NSEC {} {}", rr.owner, name(0)?),
        50 => "NSEC3".to_string(),
        51 => "NSEC3PARAM".to_string(),
        43 => format!("DS {} {}", rd.get(2)?, rd.get(3)?),
        44 => format!("SSHFP: {}", hex_lower(rd.get(2..)?)),
        // `LOC:  <size> <horiz_pre> <vert_pre>` (the raw octets).
        29 => format!("LOC:  {} {} {}", rd.get(1)?, rd.get(2)?, rd.get(3)?),
        // BIND's private signing-state records (TYPE65534).
        65534 => "BIND9 signing signal".to_string(),
        // Parsed by Zeek with no handler adding an answer (WKS's adds "",
        // which is dropped).
        11 | 13 | 41 | 64 | 65 | 250 | 257 => return None,
        // A6 is handled like AAAA (the address part only), rarely seen.
        38 => return None,
        t => format!("<unknown type={t}>"),
    };
    (!z.is_empty()).then_some(z)
}

/// Render one record.
pub(crate) fn render(rr: &Rr<'_>) -> Text {
    let Some(rd) = rr.msg.get(rr.at..rr.at + rr.len) else {
        return Text {
            dig: String::new(),
            zeek: None,
        };
    };
    let dig = dig_text(rr, rd).unwrap_or_else(|| generic(rd));
    // Zeek summarises by type even when the layout is off; where its parser
    // would fail it writes nothing.
    let zeek = zeek_text(rr, rd).map(cut);
    Text {
        dig: cut(dig),
        zeek,
    }
}

/// The NetBIOS name of a first-level encoded label (RFC 1001 §14.1), as
/// Zeek's `decode_netbios_name` gives it: the 15-character name with
/// trailing spaces and NULs removed, and the suffix byte apart. Accepts
/// either case (Zeek lowercases before decoding).
pub(crate) fn netbios_query(label: &[u8]) -> Option<(String, u8)> {
    if label.len() != 32 {
        return None;
    }
    let up: Vec<u8> = label.iter().map(u8::to_ascii_uppercase).collect();
    if !parse::is_nb_encoded(&up) {
        return None;
    }
    let full = netbios_name(&up);
    // netbios_name gives `NAME<xx>` with spaces trimmed; NULs too here.
    let (name, suffix) = full.rsplit_once('<')?;
    let suffix = u8::from_str_radix(suffix.trim_end_matches('>'), 16).ok()?;
    let mut name = name.to_string();
    while name.ends_with("\\x00") {
        name.truncate(name.len() - 4);
    }
    Some((name, suffix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rr<'a>(msg: &'a [u8], rtype: u16) -> Rr<'a> {
        Rr {
            msg,
            owner: "x.test",
            rtype,
            at: 0,
            len: msg.len(),
            nbns: false,
        }
    }

    #[test]
    fn base32hex_and_times() {
        // RFC 4648 §10 test vectors, extended hex alphabet, no padding.
        assert_eq!(base32hex(b"f"), "CO");
        assert_eq!(base32hex(b"foobar"), "CPNMUOJ1E8");
        assert_eq!(rrsig_time(0), "19700101000000");
        // RFC 4034 §3.3 example: 20030322173103.
        assert_eq!(rrsig_time(1_048_354_263), "20030322173103");
    }

    #[test]
    fn loc_sizes() {
        // RFC 1876 §2: 0x12 = 1e2 cm = 1m; 0x16 = 1e6 cm; 0x13 = 10m.
        assert_eq!(loc_size(0x12), "1m");
        assert_eq!(loc_size(0x16), "10000m");
        assert_eq!(loc_size(0x13), "10m");
        assert_eq!(loc_size(0x11), "0.10m");
    }

    #[test]
    fn unknown_and_malformed_fall_back_to_rfc3597() {
        let t = render(&rr(&[0x0a, 0, 0, 1], 65280));
        assert_eq!(t.dig, "\\# 4 0A000001");
        assert_eq!(t.zeek.as_deref(), Some("<unknown type=65280>"));
        // An A record of 3 bytes is not an address.
        assert_eq!(render(&rr(&[1, 2, 3], 1)).dig, "\\# 3 010203");
        assert_eq!(render(&rr(&[], 16)).dig, "\\# 0");
        // A TXT string running past the end.
        assert_eq!(render(&rr(&[5, b'a'], 16)).dig, "\\# 2 0561");
        // Bitmap window of length 0 (RFC 4034 §4.1.2 forbids it).
        assert!(render(&rr(&[0, 0, 0], 47)).dig.starts_with("\\#"));
    }

    #[test]
    fn compression_loops_in_rdata_fall_back() {
        // An MX whose exchange is a pointer to itself, and a CNAME whose
        // name points forward: RFC 1035 §4.1.4 pointers must go back.
        let msg = [0u8; 12]
            .iter()
            .copied()
            .chain([0, 10, 0xc0, 14])
            .collect::<Vec<u8>>();
        let t = render(&Rr {
            msg: &msg,
            owner: "x",
            rtype: 15,
            at: 12,
            len: 4,
            nbns: false,
        });
        assert_eq!(t.dig, "\\# 4 000AC00E");
        assert_eq!(t.zeek, None);
        let msg = [0u8; 12]
            .iter()
            .copied()
            .chain([0xc0, 14, 1, b'a', 0])
            .collect::<Vec<u8>>();
        let t = render(&Rr {
            msg: &msg,
            owner: "x",
            rtype: 5,
            at: 12,
            len: 2,
            nbns: false,
        });
        assert!(t.dig.starts_with("\\#"), "{}", t.dig);
    }

    #[test]
    fn every_damaged_response_decodes_without_panic() {
        // Each byte of each BIND response flipped, and every prefix.
        for (_, sport, _, m) in crate::testkit::ported::pcap_udp(TYPES_PCAP) {
            if sport != 53 {
                continue;
            }
            for i in 0..m.len() {
                let mut d = m.clone();
                d[i] ^= 0xff;
                let _ = super::super::parse::decode(&d, false);
                let _ = super::super::parse::decode(&m[..i], false);
            }
        }
    }

    #[test]
    fn huge_rdata_is_cut() {
        let mut m = Vec::new();
        for _ in 0..300 {
            m.push(200u8);
            m.extend(std::iter::repeat_n(0u8, 200));
        }
        let t = render(&rr(&m, 16));
        assert!(t.dig.len() <= MAX_TEXT + 3, "{}", t.dig.len());
        assert!(t.zeek.unwrap().len() <= MAX_TEXT + 3);
    }

    #[test]
    fn names_lower_case_utf8_and_escapes() {
        // A PTR to "John's Büro\x01" + one label with a byte that is not
        // UTF-8, as mDNS service names carry them (RFC 6762 §16).
        let mut msg = vec![0u8; 12];
        let mut rd = vec![("John's Büro".len() + 1) as u8];
        rd.extend_from_slice("John's Büro".as_bytes());
        rd.push(1);
        rd.extend_from_slice(&[2, 0xff, b'A', 0]);
        msg.extend_from_slice(&rd);
        let t = render(&Rr {
            msg: &msg,
            owner: "x",
            rtype: 12,
            at: 12,
            len: rd.len(),
            nbns: false,
        });
        assert_eq!(t.dig, "john's büro\\x01.\\xffa");
    }

    #[test]
    fn netbios_names() {
        // "FEEIEFCAEOEFFEECEJEPFDCAEOEBENEF" is "THE NETBIOS NAME"
        // (Zeek's documentation example): name THE NETBIOS NAM, suffix 'E'.
        let (n, s) = netbios_query(b"feeiefcaeoeffeecejepfdcaeoebenef").unwrap();
        assert_eq!(n, "THE NETBIOS NAM");
        assert_eq!(s, b'E');
        // "*" and 15 NULs: the NBSTAT wildcard.
        let mut w = b"CK".to_vec();
        w.extend(std::iter::repeat_n(b'A', 30));
        assert_eq!(netbios_query(&w).unwrap(), ("*".to_string(), 0));
        assert!(netbios_query(b"short").is_none());
    }

    // ------------------------------------------------------------------
    // testdata/types.pcap: BIND 9.18 answering dig 9.18 for every common
    // type (recipe: testdata/make-types.sh). testdata/types.dig.txt is
    // dig's own printout of the same responses; every answer record netsift
    // renders must read as dig printed it.
    // ------------------------------------------------------------------

    const TYPES_PCAP: &[u8] = include_bytes!("testdata/types.pcap");
    const TYPES_DIG: &str = include_str!("testdata/types.dig.txt");

    /// dig's RDATA column brought to netsift's convention: whitespace
    /// collapsed, names without their final dot (tokens outside quotes).
    fn dig_norm(rdata: &str) -> String {
        let mut toks: Vec<String> = Vec::new();
        let mut cur = String::new();
        let mut quoted = false;
        let mut esc = false;
        for c in rdata.chars() {
            if esc {
                cur.push(c);
                esc = false;
                continue;
            }
            match c {
                '\\' => {
                    cur.push(c);
                    esc = true;
                }
                '"' => {
                    cur.push(c);
                    quoted = !quoted;
                }
                c if c.is_whitespace() && !quoted => {
                    if !cur.is_empty() {
                        toks.push(std::mem::take(&mut cur));
                    }
                }
                c => cur.push(c),
            }
        }
        if !cur.is_empty() {
            toks.push(cur);
        }
        toks.into_iter()
            .map(|t| {
                if t.len() > 1 && t.ends_with('.') && !t.starts_with('"') {
                    t[..t.len() - 1].to_string()
                } else {
                    t
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// One record line: owner, TTL, type, RDATA.
    type Line = (String, u32, String, String);

    /// dig's answer and authority sections by message ID.
    fn dig_answers() -> Vec<(u16, Vec<Line>)> {
        let mut out = Vec::new();
        let mut cur: Option<(u16, Vec<_>)> = None;
        let mut in_answer = false;
        for line in TYPES_DIG.lines() {
            if let Some(rest) = line.split(", id: ").nth(1) {
                if let Some(c) = cur.take() {
                    out.push(c);
                }
                cur = Some((rest.trim().parse().unwrap(), Vec::new()));
                in_answer = false;
            } else if line.starts_with(";; ANSWER SECTION:")
                || line.starts_with(";; AUTHORITY SECTION:")
            {
                in_answer = true;
            } else if line.trim().is_empty() || line.starts_with(';') {
                in_answer = false;
            } else if in_answer {
                let mut f = line.split_whitespace();
                let owner = f.next().unwrap().trim_end_matches('.').to_ascii_lowercase();
                let ttl: u32 = f.next().unwrap().parse().unwrap();
                let _class = f.next().unwrap();
                let ty = f.next().unwrap().to_string();
                let rest: Vec<&str> = f.collect();
                let rdata = dig_norm(&rest.join(" "));
                if let Some(c) = cur.as_mut() {
                    c.1.push((owner, ttl, ty, rdata));
                }
            }
        }
        if let Some(c) = cur.take() {
            out.push(c);
        }
        out
    }

    /// netsift's decoding of every response in types.pcap, by ID.
    fn pcap_answers() -> Vec<(u16, super::super::parse::Decoded)> {
        crate::testkit::ported::pcap_udp(TYPES_PCAP)
            .into_iter()
            .filter(|(_, sport, _, _)| *sport == 53)
            .filter_map(|(_, _, _, m)| super::super::parse::decode_sections(&m, false, true))
            .map(|d| (d.id, d))
            .collect()
    }

    #[test]
    fn every_answer_reads_as_dig_printed_it() {
        let ours = pcap_answers();
        let mut types = std::collections::BTreeSet::new();
        let mut compared = 0;
        for (id, want) in dig_answers() {
            let Some((_, d)) = ours.iter().find(|(i, _)| *i == id) else {
                panic!("dig's response {id} is not in types.pcap");
            };
            let got: Vec<Line> = d
                .answers
                .iter()
                .chain(&d.authority)
                .map(|a| {
                    (
                        a.owner.clone(),
                        a.ttl,
                        type_text(a.rtype),
                        a.text.dig.clone(),
                    )
                })
                .collect();
            assert_eq!(got, want, "response {id}");
            for (_, _, t, _) in &want {
                types.insert(t.clone());
            }
            compared += want.len();
        }
        let need = [
            "A",
            "AAAA",
            "CNAME",
            "NS",
            "PTR",
            "MX",
            "TXT",
            "SPF",
            "SOA",
            "SRV",
            "NAPTR",
            "CAA",
            "DS",
            "DNSKEY",
            "RRSIG",
            "NSEC",
            "NSEC3",
            "NSEC3PARAM",
            "TLSA",
            "SSHFP",
            "LOC",
            "HINFO",
            "SVCB",
            "HTTPS",
            "TYPE65280",
        ];
        for t in need {
            assert!(types.contains(t), "no {t} answer compared");
        }
        assert!(compared >= 40, "{compared}");
    }

    /// What Zeek's dns.log writes for the same records (main.zeek's
    /// handlers, see the module doc).
    #[test]
    fn zeek_summaries_of_the_same_answers() {
        let ours = pcap_answers();
        let mut z = std::collections::BTreeMap::new();
        for (_, d) in &ours {
            for a in d.answers.iter().chain(&d.authority) {
                z.entry((a.owner.clone(), type_text(a.rtype)))
                    .or_insert_with(Vec::new)
                    .push(a.text.zeek.clone());
            }
        }
        let one = |owner: &str, t: &str| -> Option<String> {
            z.get(&(owner.to_string(), t.to_string()))
                .unwrap_or_else(|| panic!("no {owner} {t}"))[0]
                .clone()
        };
        let s = |v: &str| Some(v.to_string());
        assert_eq!(one("www.example.test", "A"), s("192.0.2.10"));
        assert_eq!(one("www.example.test", "AAAA"), s("2001:db8::10"));
        assert_eq!(one("alias.example.test", "CNAME"), s("www.example.test"));
        // MX: the exchange only; SOA: the MNAME; SRV: the target.
        assert_eq!(one("example.test", "MX"), s("mail.example.test"));
        assert_eq!(one("example.test", "SOA"), s("ns1.example.test"));
        assert_eq!(one("_sip._udp.example.test", "SRV"), s("sip.example.test"));
        assert_eq!(
            one("example.test", "TXT"),
            s("TXT 11 v=spf1 -all TXT 13 second string")
        );
        assert_eq!(one("example.test", "SPF"), s("SPF 11 v=spf1 -all"));
        assert_eq!(
            one("txt.example.test", "TXT"),
            s("TXT 19 quote\"and\\backslash TXT 4 \u{1}bin TXT 0 ")
        );
        assert_eq!(
            one("example.test", "NAPTR"),
            s("NAPTR 100 10 S SIP+D2U _sip._udp.example.test")
        );
        // The root replacement is Zeek's empty name, so only the regexp.
        assert_eq!(
            one("re.example.test", "NAPTR"),
            s("NAPTR 100 20 U E2U+sip !^.*$!sip:info@example.test!")
        );
        assert_eq!(one("example.test", "DNSKEY"), s("DNSKEY 13"));
        assert_eq!(one("example.test", "RRSIG"), s("RRSIG 48 example.test"));
        assert_eq!(one("sub.example.test", "DS"), s("DS 13 2"));
        assert_eq!(
            one("example.test", "NSEC"),
            s("NSEC example.test _dns.example.test")
        );
        assert_eq!(one("nsec3.test", "NSEC3PARAM"), s("NSEC3PARAM"));
        assert_eq!(
            one("www.example.test", "SSHFP"),
            s("SSHFP: 9c1f0e8d2b5a4c3e7f6d1a0b9c8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e")
        );
        // 0x12 (1m), 0x16 (10000m), 0x13 (10m) as the raw octets.
        assert_eq!(one("example.test", "LOC"), s("LOC:  18 22 19"));
        assert_eq!(
            one("unknown.example.test", "TYPE65280"),
            s("<unknown type=65280>")
        );
        // Zeek has no parser for TLSA: dns_unknown_reply.
        assert_eq!(
            one("_443._tcp.www.example.test", "TLSA"),
            s("<unknown type=52>")
        );
        // Parsed by Zeek, but no handler adds them to answers.
        assert_eq!(one("example.test", "CAA"), None);
        assert_eq!(one("host.example.test", "HINFO"), None);
        assert_eq!(one("www.example.test", "HTTPS"), None);
        assert_eq!(one("_dns.example.test", "SVCB"), None);
    }
}
