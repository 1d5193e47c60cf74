//! X.509 certificates from a TLS (<= 1.2) Certificate message, summarized
//! for the "tls" log. No path validation: only facts readable from each
//! certificate (RFC 5280) and validation-free anomalies.

use sha2::{Digest as _, Sha256};
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::objects::{oid2abbrev, oid_registry};
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};
use x509_parser::public_key::PublicKey;

use super::ja::hex;
use super::record::CertRecord;

const MAX_SANS: usize = 64;
const MAX_STR: usize = 1024;

/// RFC 4514 §2: the RDNs in reverse order of the ASN.1 sequence, joined by
/// ","; attributes of one RDN joined by "+"; "type=value" with the short
/// name of the type (or its dotted OID), values escaped per §2.4, values
/// that are not strings as "#" + hex of their BER encoding.
pub fn rfc4514(name: &X509Name<'_>) -> String {
    let reg = oid_registry();
    let mut rdns = Vec::new();
    for rdn in name.iter() {
        let mut attrs = Vec::new();
        for a in rdn.iter() {
            let ty = match oid2abbrev(a.attr_type(), reg) {
                Ok(s) => s.to_string(),
                Err(_) => a.attr_type().to_id_string(),
            };
            let v = match a.as_str() {
                Ok(s) => escape(s),
                Err(_) => format!("#{}", hex(a.attr_value().data)),
            };
            attrs.push(format!("{ty}={v}"));
        }
        rdns.push(attrs.join("+"));
    }
    rdns.reverse();
    let mut s = rdns.join(",");
    if s.len() > MAX_STR {
        let mut cut = MAX_STR;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// RFC 4514 §2.4: escape '"', '+', ',', ';', '<', '>', '\\' anywhere, a
/// leading ' ' or '#', a trailing ' ', and NUL (as "\00"); control
/// characters are also written as hex pairs here.
fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    let n = s.chars().count();
    for (i, c) in s.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                o.push('\\');
                o.push(c);
            }
            ' ' if i == 0 || i + 1 == n => o.push_str("\\ "),
            '#' if i == 0 => o.push_str("\\#"),
            c if (c as u32) < 0x20 || c == '\x7f' => o.push_str(&format!("\\{:02x}", c as u32)),
            c => o.push(c),
        }
    }
    o
}

/// What Suricata's `tls.cert_subject`, `tls.cert_issuer` and
/// `tls.cert_serial` hold for one DER certificate: the names in OpenSSL's
/// one-line form as x509-parser prints them (RDNs in the order of the
/// ASN.1 sequence, ", " between them: `C=US, O=Example, CN=example.com`)
/// and the serial's content octets as colon-separated upper-case hex.
fn suricata_of(c: &X509Certificate<'_>) -> (String, String, String) {
    let cut = |mut s: String| {
        if s.len() > MAX_STR {
            let mut n = MAX_STR;
            while !s.is_char_boundary(n) {
                n -= 1;
            }
            s.truncate(n);
        }
        s
    };
    let mut serial = String::with_capacity(3 * c.raw_serial().len().min(64));
    for (i, b) in c.raw_serial().iter().take(64).enumerate() {
        if i > 0 {
            serial.push(':');
        }
        netsift_proto::bytes::push_hex(&mut serial, &[*b]);
    }
    serial.make_ascii_uppercase();
    (
        cut(c.subject().to_string()),
        cut(c.issuer().to_string()),
        serial,
    )
}

/// Days since 1970-01-01 to (year, month, day) (Howard Hinnant's
/// civil_from_days).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// RFC 3339 "YYYY-MM-DDTHH:MM:SSZ" of Unix seconds.
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let t = secs.rem_euclid(86_400);
    let (y, m, d) = civil(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

/// Suricata's subject, issuer and serial of a certificate.
type Fields = (String, String, String);

/// A summarized certificate, kept by the digest of its DER.
struct Cached {
    /// `None`: the DER does not parse.
    rec: Option<CertRecord>,
    not_before: i64,
    not_after: i64,
    fields: Option<Fields>,
}

/// Certificates summarized lately, per thread, by SHA-256 of the DER: a
/// server sends the same chain to every client, so most Certificate
/// messages repeat one seen before (Zeek caches its X.509 results for the
/// same reason). A hit costs the digest, which the record needs anyway,
/// and a copy; only `expired` depends on the packet time and is worked
/// out again. Bounded: emptied when [`CACHE_MAX`] certificates are held
/// (a record keeps at most 64 names of 255 bytes and two 1 KiB names:
/// under 10 MiB per thread for hostile certificates, about 1 KiB each in
/// practice).
const CACHE_MAX: usize = 512;

thread_local! {
    static CACHE: std::cell::RefCell<std::collections::HashMap<[u8; 32], Cached>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// The record of one DER certificate and, for the `leaf`, Suricata's
/// fields too (see [`suricata_of`]), from one parse (or from the cache).
/// `now_ns` is packet time. `None` if the DER does not parse as a
/// certificate.
pub fn summarize(der: &[u8], now_ns: u64, leaf: bool) -> Option<(CertRecord, Option<Fields>)> {
    let digest: [u8; 32] = Sha256::digest(der).into();
    let now = (now_ns / 1_000_000_000) as i64;
    let hit = CACHE.with_borrow(|cache| {
        let c = cache.get(&digest)?;
        if leaf && c.rec.is_some() && c.fields.is_none() {
            return None;
        }
        Some(c.rec.as_ref().map(|r| {
            let mut r = r.clone();
            r.expired = expired(now, c.not_before, c.not_after);
            (r, if leaf { c.fields.clone() } else { None })
        }))
    });
    if let Some(h) = hit {
        return h;
    }
    let entry = match X509Certificate::from_der(der) {
        Ok((_, c)) => Cached {
            rec: Some(summarize_cert(&c, der, &digest, now)),
            not_before: c.validity().not_before.timestamp(),
            not_after: c.validity().not_after.timestamp(),
            fields: leaf.then(|| suricata_of(&c)),
        },
        Err(_) => Cached {
            rec: None,
            not_before: 0,
            not_after: 0,
            fields: None,
        },
    };
    let out = entry
        .rec
        .clone()
        .map(|r| (r, if leaf { entry.fields.clone() } else { None }));
    CACHE.with_borrow_mut(|cache| {
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(digest, entry);
    });
    out
}

/// Outside its validity period at `now` (Unix seconds).
fn expired(now: i64, not_before: i64, not_after: i64) -> bool {
    now < not_before || now > not_after
}

fn summarize_cert(c: &X509Certificate<'_>, der: &[u8], sha256: &[u8; 32], now: i64) -> CertRecord {
    let subject = rfc4514(c.subject());
    let issuer = rfc4514(c.issuer());
    let nb = c.validity().not_before.timestamp();
    let na = c.validity().not_after.timestamp();
    let mut sans = Vec::new();
    let mut ski: Option<&[u8]> = None;
    let mut aki: Option<&[u8]> = None;
    for ext in c.extensions() {
        match ext.parsed_extension() {
            // RFC 5280 §4.2.1.6: dNSName and iPAddress (4 or 16 octets).
            ParsedExtension::SubjectAlternativeName(san) => {
                for g in &san.general_names {
                    if sans.len() >= MAX_SANS {
                        break;
                    }
                    match g {
                        GeneralName::DNSName(d) => sans.push(d.chars().take(255).collect()),
                        GeneralName::IPAddress(b) => {
                            if let Ok(a) = <[u8; 4]>::try_from(*b) {
                                sans.push(std::net::Ipv4Addr::from(a).to_string());
                            } else if let Ok(a) = <[u8; 16]>::try_from(*b) {
                                sans.push(std::net::Ipv6Addr::from(a).to_string());
                            }
                        }
                        _ => {}
                    }
                }
            }
            ParsedExtension::SubjectKeyIdentifier(k) => ski = Some(k.0),
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                aki = a.key_identifier.as_ref().map(|k| k.0)
            }
            _ => {}
        }
    }
    let (key_alg, key_bits) = match c.public_key().parsed() {
        Ok(PublicKey::RSA(k)) => ("rsa", k.key_size()),
        Ok(PublicKey::EC(k)) => ("ec", k.key_size()),
        Ok(PublicKey::DSA(y)) => ("dsa", y.len() * 8),
        Ok(PublicKey::GostR3410(y)) | Ok(PublicKey::GostR3410_2012(y)) => ("gost", y.len() * 8),
        _ => {
            let oid = &c.public_key().algorithm.algorithm;
            let name = oid2abbrev(oid, oid_registry()).unwrap_or("unknown");
            // Ed25519 / Ed448 (RFC 8410) carry the raw key.
            let bits = c.public_key().subject_public_key.data.len() * 8;
            return finish(
                c, der, sha256, subject, issuer, nb, na, now, sans, ski, aki, name, bits,
            );
        }
    };
    finish(
        c, der, sha256, subject, issuer, nb, na, now, sans, ski, aki, key_alg, key_bits,
    )
}

#[allow(clippy::too_many_arguments)]
fn finish(
    c: &X509Certificate<'_>,
    der: &[u8],
    sha256: &[u8; 32],
    subject: String,
    issuer: String,
    nb: i64,
    na: i64,
    now: i64,
    sans: Vec<String>,
    ski: Option<&[u8]>,
    aki: Option<&[u8]>,
    key_alg: &str,
    key_bits: usize,
) -> CertRecord {
    // Without signature verification (x509-parser's "verify" feature is
    // off): subject == issuer and, when both are present, the Authority Key
    // Identifier equals the Subject Key Identifier (RFC 5280 §4.2.1.1: "the
    // authorityKeyIdentifier ... MAY be omitted" in self-signed ones).
    let self_signed = c.subject().as_raw() == c.issuer().as_raw()
        && match (aki, ski) {
            (Some(a), Some(s)) => a == s,
            _ => true,
        };
    let cn = c
        .subject()
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
        .map(|s| s.chars().take(255).collect());
    CertRecord {
        subject,
        issuer,
        common_name: cn,
        serial: hex(c.raw_serial()),
        not_before: rfc3339(nb),
        not_after: rfc3339(na),
        sans,
        key_alg: key_alg.to_string(),
        key_bits: key_bits as u32,
        sig_alg: oid2abbrev(&c.signature_algorithm.algorithm, oid_registry())
            .map(str::to_string)
            .unwrap_or_else(|_| c.signature_algorithm.algorithm.to_id_string()),
        sha256: hex(sha256),
        sha1: hex(&sha1::Sha1::digest(der)),
        self_signed,
        expired: expired(now, nb, na),
        is_ca: c.is_ca(),
    }
}

/// RFC 6125 §6.4.3: does `name` (the SNI) match a DNS-ID or wildcard
/// ("*." + one label) in `pattern`? Case-insensitive (§6.4.1).
pub fn host_matches(pattern: &str, name: &str) -> bool {
    // Compared without case and without allocating (every certificate
    // name is compared with the SNI).
    let p = pattern.trim_end_matches('.');
    let n = name.trim_end_matches('.');
    if p.eq_ignore_ascii_case(n) {
        return true;
    }
    if let Some(rest) = p.strip_prefix("*.") {
        if let Some((label, tail)) = n.split_once('.') {
            return !label.is_empty() && tail.eq_ignore_ascii_case(rest);
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn wildcard() {
        assert!(host_matches("*.google.com", "www.google.com"));
        assert!(!host_matches("*.google.com", "a.b.google.com"));
        assert!(!host_matches("*.google.com", "google.com"));
        assert!(host_matches("Example.COM", "example.com."));
    }

    #[test]
    fn escaping() {
        assert_eq!(escape("a,b+c"), "a\\,b\\+c");
        assert_eq!(escape(" #x "), "\\ #x\\ ");
        assert_eq!(escape("#x"), "\\#x");
    }
}
