//! Tor's link protocol (tor-spec, "Channels": "Connections", "Negotiating
//! and initializing connections", "Cells (messages on channels)"), as a
//! passive observer sees it: TLS between a client and a relay's ORPort,
//! whatever the port.
//!
//! Nothing in the clear says "Tor", so the probe keys on what Tor's own
//! code makes up, then asks the records that follow for confirmation.
//!
//! **1. The client's ClientHello** (a candidate, never a match alone):
//! * SNI `www.<label>.com` where the label is 4 to 25 characters of Tor's
//!   base32 alphabet: `tor_tls_new()` (src/lib/tls/tortls_openssl.c) does
//!   "crypto_random_hostname(4,25, "www.",".com")" and
//!   `crypto_random_hostname` makes "no fewer than min_rand_len and no more
//!   than max_rand_len random base32 characters" with
//!   `BASE32_CHARS "abcdefghijklmnopqrstuvwxyz234567"`.
//! * The label must also look random ([`looks_random`]): a digit `2`-`7`,
//!   or four letters in a row that are not vowels (aeiouy). Uniformly
//!   random labels of 4..25 characters pass 95.8% of the time (71% at
//!   length 4, 99% at 13); 2.1% of the 73,023 4-25 letter words of
//!   Debian's `wamerican` list do, and no `www.<word>.com` of the corpus
//!   (google, example, facebook, amazon, internetbadguys...).
//! * No ALPN extension: Tor's client sets the SNI and its cipher list and
//!   no ALPN (seen in every Tor ClientHello here: the Debian tor 0.4.9
//!   captures and the 2013 ones in nDPI's `tor.pcap`), while browsers and
//!   most HTTPS libraries always offer one.
//!
//! **2. Confirmation**, from the records that follow (bounded, see below):
//! * The relay's link certificate, visible up to TLS 1.2:
//!   `tor_tls_context_init_certificates()` (src/lib/tls/tortls.c) names it
//!   "crypto_random_hostname(8, 20, "www.", ".net")" and its issuer (the
//!   identity certificate) "crypto_random_hostname(8, 20, "www.", ".com")";
//!   `tor_x509_name_new()` (x509_openssl.c) builds a name with only
//!   "commonName"; `tor_tls_create_certificate()` adds no extension; and
//!   `tor_tls_pick_certificate_lifetime()` makes it "start on a day
//!   boundary". So: subject and issuer are one CN each,
//!   `www.<8..20 base32>.net|com`, no extensions, notBefore at 00:00:00.
//!   A visible first certificate of another shape is a NoMatch.
//! * Fixed-size cells: "Most cells are of fixed length" -- 514 bytes from
//!   link protocol 4 on ("CIRCID_LEN is 4 for link protocol version 4 or
//!   higher"; 2 and 512-byte cells before, not counted here: a full 16 KiB
//!   record is a whole number of 512-byte blocks), and Tor writes whole
//!   cells, so after the variable-length VERSIONS/CERTS/AUTH_CHALLENGE
//!   cells most application_data records carry n whole cells: a length of
//!   n x 514 (n <= 31) plus the AEAD overhead, 17 in TLS 1.3 (16-byte tag +
//!   content type), 24 in TLS 1.2 AES-GCM (8-byte explicit nonce + tag),
//!   16 in TLS 1.2 ChaCha20-Poly1305. Three such records (both directions
//!   counted) confirm. (The spec allows any record framing -- "Cells may
//!   be sent embedded in TLS records of any size" -- this is what tor
//!   does, not a rule; CBC suites' padded records are not recognised.)
//!
//! Because the TLS probe would claim the ClientHello at once, it asks
//! [`awaiting`] first and waits while a candidate hello is unconfirmed.
//! The wait is bounded: NoMatch (and TLS) once either direction's prefix
//! passes [`GIVE_UP_BYTES`], either direction has sent [`GIVE_UP_INDEX`]
//! payloads, or [`GIVE_UP_RECORDS`] application_data records went by
//! without three cell-sized ones. A candidate flow that ends before any of
//! that (a bare ClientHello) gets no DPI verdict: the price of not calling
//! it TLS too early. Work per call: one hello parse, at most 64 record
//! headers per direction, one certificate's names.
//!
//! Records: a Tor flow gets the TLS parser's `tls` records (SNI, JA3/JA4,
//! the relay's certificate up to TLS 1.2), as any TLS flow would.

use netsift_proto::{
    printable, Direction, Match, Parser, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

use crate::tls::parse::{self, HelloKind};

/// Tor.
pub struct Tor;

/// Stop waiting for confirmation when a direction's prefix is this long.
pub(crate) const GIVE_UP_BYTES: usize = 12 * 1024;
/// ... or a direction has sent this many payloads.
pub(crate) const GIVE_UP_INDEX: u32 = 10;
/// ... or this many application_data records (both directions) passed.
pub(crate) const GIVE_UP_RECORDS: usize = 16;
/// Cell-sized records needed.
const CELL_RECORDS: usize = 3;
/// Record headers walked per direction.
const MAX_RECORDS: usize = 64;

/// Fixed-length cell size from link protocol 4 on (every tor since
/// 0.2.4, 2013). The 512-byte cells of protocols 1-3 are not counted: a
/// full 16 KiB record is a whole number of 512-byte blocks, and those old
/// links ran CBC suites anyway.
const CELL_LEN: usize = 514;
/// Most cells in one record: 31 x 514 fits 2^14.
const MAX_CELLS: usize = 31;
/// AEAD overheads of a TLS record: TLS 1.3 (tag + content type), TLS 1.2
/// AES-GCM (explicit nonce + tag), TLS 1.2 ChaCha20-Poly1305 (tag).
const OVERHEADS: [usize; 3] = [17, 24, 16];

impl Protocol for Tor {
    fn name(&self) -> &'static str {
        "Tor"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        // The usual ORPort and DirPort (torrc's examples).
        &[9001, 9030]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let (server, client) = input.server_client();
        match client_hello(client) {
            // The server spoke first: not a TLS client's connection.
            Hello::Incomplete if client.is_empty() && input.dir == Direction::ToClient => {
                Probe::NoMatch
            }
            Hello::Incomplete => Probe::NeedMore,
            Hello::Not => Probe::NoMatch,
            Hello::Candidate { sni, end } => confirm(input, server, client, sni, end),
        }
    }
    /// The link protocol is TLS to an observer: the TLS records (SNI,
    /// JA3/JA4, the relay's certificate up to TLS 1.2) are written as for
    /// any TLS flow.
    fn parser(&self) -> Option<Box<dyn Parser>> {
        Some(Box::new(crate::tls::session::TlsParser::new()))
    }
}

/// Whether this flow's ClientHello is a Tor candidate still waiting for
/// confirmation: the TLS probe answers NeedMore meanwhile, so Tor gets to
/// see the records that decide.
pub(crate) fn awaiting(input: &ProbeInput<'_>) -> bool {
    if input.transport != Transport::Tcp {
        return false;
    }
    let (server, client) = input.server_client();
    match client_hello(client) {
        Hello::Candidate { sni, end } => {
            confirm(input, server, client, sni, end) == Probe::NeedMore
        }
        _ => false,
    }
}

enum Hello<'a> {
    /// Could still become a candidate.
    Incomplete,
    Not,
    /// A complete ClientHello of Tor's shape, ending at `end`.
    Candidate {
        sni: &'a [u8],
        end: usize,
    },
}

/// The client's first record as a ClientHello of Tor's shape.
fn client_hello(c: &[u8]) -> Hello<'_> {
    let h = match parse::record_header(c) {
        None => {
            // Reject what cannot start a handshake record as soon as seen.
            return if c.first().is_some_and(|&b| b != parse::CT_HANDSHAKE) {
                Hello::Not
            } else {
                Hello::Incomplete
            };
        }
        Some(Err(())) => return Hello::Not,
        Some(Ok(h)) => h,
    };
    if h.content_type != parse::CT_HANDSHAKE || c.get(5).is_some_and(|&t| t != 1) {
        return Hello::Not;
    }
    let Some(hs_len) = parse::be24(c, 6) else {
        return Hello::Incomplete;
    };
    // Tor's hello (~180-520 bytes) fits one record.
    if hs_len + 4 > h.len {
        return Hello::Not;
    }
    let end = 5 + h.len;
    let Some(body) = c.get(9..9 + hs_len) else {
        return Hello::Incomplete;
    };
    let Ok(info) = parse::hello_body(HelloKind::Client, body, hs_len) else {
        return Hello::Not;
    };
    if !info.complete || info.alpn.is_some() {
        return Hello::Not;
    }
    match info.sni {
        Some(sni) if tor_hostname(sni, b".com", 4, 25) => Hello::Candidate { sni, end },
        _ => Hello::Not,
    }
}

/// `www.` + `min..=max` characters of Tor's base32 alphabet + `suffix`,
/// the label looking random.
fn tor_hostname(name: &[u8], suffix: &[u8], min: usize, max: usize) -> bool {
    let Some(label) = name
        .strip_prefix(b"www.")
        .and_then(|r| r.strip_suffix(suffix))
    else {
        return false;
    };
    (min..=max).contains(&label.len())
        && label
            .iter()
            .all(|&b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
        && looks_random(label)
}

/// A base32 label that does not read like a word: a digit, or four
/// non-vowels in a row.
pub(crate) fn looks_random(label: &[u8]) -> bool {
    let mut run = 0;
    for &b in label {
        if b.is_ascii_digit() {
            return true;
        }
        if matches!(b, b'a' | b'e' | b'i' | b'o' | b'u' | b'y') {
            run = 0;
        } else {
            run += 1;
            if run >= 4 {
                return true;
            }
        }
    }
    false
}

/// Whether a TLS record body of `len` bytes can be whole cells under AEAD.
fn cell_sized(len: usize) -> bool {
    OVERHEADS.iter().any(|&o| {
        len > o && {
            let c = len - o;
            c % CELL_LEN == 0 && c / CELL_LEN <= MAX_CELLS
        }
    })
}

/// What the records of one direction show.
#[derive(Default)]
struct Seen {
    /// application_data records, and those of cell size.
    app: usize,
    cells: usize,
    /// The first certificate of a plaintext Certificate message, if any:
    /// `Some(true)` when it has Tor's shape.
    cert: Option<bool>,
}

fn walk(d: &[u8], from: usize, certs: bool) -> Seen {
    let mut seen = Seen::default();
    let mut p = from;
    let mut ccs = false;
    for _ in 0..MAX_RECORDS {
        let Some(rest) = d.get(p..).filter(|r| !r.is_empty()) else {
            break;
        };
        let Some(Ok(h)) = parse::record_header(rest) else {
            break;
        };
        let Some(body) = rest.get(5..5 + h.len) else {
            break; // incomplete
        };
        match h.content_type {
            parse::CT_APPLICATION_DATA => {
                seen.app += 1;
                seen.cells += usize::from(cell_sized(h.len));
            }
            parse::CT_CHANGE_CIPHER_SPEC => ccs = true,
            // RFC 5246 §7.4.2: Certificate (type 11) { uint24 list length;
            // ASN.1Cert certificate_list<0..2^24-1> (each uint24-long) }.
            parse::CT_HANDSHAKE
                if certs && !ccs && seen.cert.is_none() && body.first() == Some(&11) =>
            {
                let der = parse::be24(body, 7)
                    .and_then(|n| body.get(10..10 + n))
                    .unwrap_or(&[]);
                if !der.is_empty() {
                    seen.cert = Some(tor_certificate(der));
                }
            }
            _ => {}
        }
        p += 5 + h.len;
    }
    seen
}

fn confirm(input: &ProbeInput<'_>, server: &[u8], client: &[u8], sni: &[u8], end: usize) -> Probe {
    let s = walk(server, 0, true);
    let c = walk(client, end, false);
    let host = printable(sni, 64);
    match s.cert {
        Some(true) => {
            return Probe::Match(Match::new(format!(
                "Tor link handshake: ClientHello SNI '{host}' (random base32, no ALPN), relay \
                 certificate CN www.<random>.net issued by CN www.<random>.com"
            )))
        }
        Some(false) => return Probe::NoMatch,
        None => {}
    }
    let cells = s.cells + c.cells;
    if cells >= CELL_RECORDS {
        return Probe::Match(Match::new(format!(
            "Tor link protocol: ClientHello SNI '{host}' (random base32, no ALPN), then {cells} \
             TLS records of whole 514-byte cells"
        )));
    }
    if server.len() >= GIVE_UP_BYTES
        || client.len() >= GIVE_UP_BYTES
        || input.index >= GIVE_UP_INDEX
        || s.app + c.app >= GIVE_UP_RECORDS
    {
        return Probe::NoMatch;
    }
    Probe::NeedMore
}

/// Tor's link (or, from old relays, identity) certificate: subject and
/// issuer one CN each, `www.<8..20 base32>.net|com`, no extensions,
/// notBefore at midnight. DER walk without allocation (X.690 §8.1).
fn tor_certificate(der: &[u8]) -> bool {
    tor_certificate_opt(der).unwrap_or(false)
}

fn tor_certificate_opt(der: &[u8]) -> Option<bool> {
    // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, sig }
    let (t, cert, _) = tlv(der, 0)?;
    if t != 0x30 {
        return Some(false);
    }
    let (t, tbs, _) = tlv(cert, 0)?;
    if t != 0x30 {
        return Some(false);
    }
    // TBSCertificate ::= SEQUENCE { [0] version, serialNumber, signature,
    // issuer, validity, subject, subjectPublicKeyInfo, [1] [2] [3] }
    let mut fields = [&[][..]; 8];
    let mut tags = [0u8; 8];
    let mut p = 0;
    let mut n = 0;
    while p < tbs.len() && n < fields.len() {
        let (t, v, next) = tlv(tbs, p)?;
        tags[n] = t;
        fields[n] = v;
        n += 1;
        p = next;
    }
    let at = usize::from(tags[0] == 0xa0);
    let field = |i: usize| fields.get(at + i).copied().unwrap_or(&[]);
    let (issuer, validity, subject) = (field(2), field(3), field(4));
    // Nothing after subjectPublicKeyInfo: no [3] extensions.
    if tags.get(at + 6).is_some_and(|&t| t != 0) {
        return Some(false);
    }
    let (Some(sub), Some(iss)) = (single_cn(subject), single_cn(issuer)) else {
        return Some(false);
    };
    let (Some(sub_random), Some(iss_random)) = (cert_name(sub), cert_name(iss)) else {
        return Some(false);
    };
    // Validity ::= SEQUENCE { notBefore Time, notAfter Time }; UTCTime
    // YYMMDDhhmmssZ or GeneralizedTime YYYYMMDDhhmmssZ.
    let (_, not_before, _) = tlv(validity, 0)?;
    let midnight = not_before.ends_with(b"000000Z");
    Some((sub_random || iss_random) && midnight)
}

/// A certificate CN of Tor's shape, `www.<8..20 base32>.net|com`: whether
/// its label also looks random (one of the two names must).
fn cert_name(cn: &[u8]) -> Option<bool> {
    let rest = cn.strip_prefix(b"www.")?;
    let label = rest
        .strip_suffix(b".net")
        .or_else(|| rest.strip_suffix(b".com"))?;
    let alphabet = label
        .iter()
        .all(|&b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b));
    ((8..=20).contains(&label.len()) && alphabet).then(|| looks_random(label))
}

/// The value of a Name made of exactly one RDN holding one commonName
/// (OID 2.5.4.3) attribute.
fn single_cn(name: &[u8]) -> Option<&[u8]> {
    let (t, set, next) = tlv(name, 0)?;
    if t != 0x31 || next != name.len() {
        return None;
    }
    let (t, atv, next) = tlv(set, 0)?;
    if t != 0x30 || next != set.len() {
        return None;
    }
    let (t, oid, after) = tlv(atv, 0)?;
    if t != 0x06 || oid != [0x55, 0x04, 0x03] {
        return None;
    }
    let (t, value, end) = tlv(atv, after)?;
    // PrintableString, UTF8String, IA5String.
    if !matches!(t, 0x13 | 0x0c | 0x16) || end != atv.len() {
        return None;
    }
    Some(value)
}

/// One DER TLV at `at`: (tag, value, offset after it). Single-byte tags,
/// definite lengths up to 3 length bytes.
fn tlv(d: &[u8], at: usize) -> Option<(u8, &[u8], usize)> {
    let (tag, start, end) = crate::ber::tlv_at(d, at, 3)?;
    Some((tag, d.get(start..end)?, end))
}

#[cfg(test)]
mod tests;
