//! DTLS (RFC 6347 for 1.0/1.2, RFC 9147 for 1.3) over UDP, on any port.
//!
//! A datagram holds one or more whole records (RFC 6347 §4.1.1: "Multiple
//! DTLS records may be placed in a single datagram ... records MUST NOT span
//! datagrams"). Every record header must be sane and the records must fill
//! the datagram exactly. Handshake records of epoch 0 are read further:
//! the handshake header's fragment must fit its record, and a ClientHello's
//! version, session id and cookie must be well formed.
//!
//! The parser (`session.rs`) writes a `tls` record per flow, as for TLS.

use netsift_proto::bytes::be16;

use crate::tls::parse::be24;
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

pub(crate) mod session;
#[cfg(test)]
mod tests;

/// DTLS.
pub struct Dtls;

/// RFC 6347 §4.1: "DTLSPlaintext ... ContentType type; ProtocolVersion
/// version; uint16 epoch; uint48 sequence_number; uint16 length" = 13.
const HDR: usize = 13;
/// RFC 6347 §4.1 (via RFC 5246 §6.2.3): "The length MUST NOT exceed
/// 2^14 + 2048" (ciphertext).
const MAX_RECORD: usize = (1 << 14) + 2048;

/// RFC 6347 §4.1: "version ... DTLS version 1.0 ... {254, 255}", 1.2
/// "{254, 253}"; RFC 9147 §5.3 DTLS 1.3 {254, 252}; and 0x0100, the
/// pre-standard DTLS of OpenSSL 0.9.8 (DTLS1_BAD_VER) still used by Cisco
/// AnyConnect.
fn version_name(v: u16) -> Option<&'static str> {
    match v {
        0xfeff => Some("1.0"),
        0xfefd => Some("1.2"),
        0xfefc => Some("1.3"),
        0x0100 => Some("0.9 (DTLS1_BAD_VER)"),
        _ => None,
    }
}

/// RFC 6347 §4.1 ContentType: 20 change_cipher_spec, 21 alert, 22
/// handshake, 23 application_data; RFC 6520 24 heartbeat; RFC 9146 25
/// tls12_cid.
fn content_name(t: u8) -> Option<&'static str> {
    match t {
        20 => Some("ChangeCipherSpec"),
        21 => Some("Alert"),
        22 => Some("Handshake"),
        23 => Some("ApplicationData"),
        24 => Some("Heartbeat"),
        25 => Some("CID"),
        _ => None,
    }
}

/// RFC 6347 §4.3.2 HandshakeType (+ RFC 5246 §7.4, RFC 8446 §4).
fn handshake_name(t: u8) -> Option<&'static str> {
    match t {
        0 => Some("HelloRequest"),
        1 => Some("ClientHello"),
        2 => Some("ServerHello"),
        3 => Some("HelloVerifyRequest"),
        4 => Some("NewSessionTicket"),
        6 => Some("HelloRetryRequest"),
        8 => Some("EncryptedExtensions"),
        11 => Some("Certificate"),
        12 => Some("ServerKeyExchange"),
        13 => Some("CertificateRequest"),
        14 => Some("ServerHelloDone"),
        15 => Some("CertificateVerify"),
        16 => Some("ClientKeyExchange"),
        20 => Some("Finished"),
        _ => None,
    }
}

/// What the first record told.
struct First {
    version: &'static str,
    content: &'static str,
    handshake: Option<&'static str>,
    cookie: Option<usize>,
}

/// RFC 6347 §4.2.2: "struct { HandshakeType msg_type; uint24 length;
/// uint16 message_seq; uint24 fragment_offset; uint24 fragment_length;
/// ... } Handshake;" Returns (type name, cookie length of a ClientHello).
fn handshake(body: &[u8]) -> Option<(&'static str, Option<usize>)> {
    let name = handshake_name(*body.first()?)?;
    let length = be24(body, 1)?;
    let frag_off = be24(body, 6)?;
    let frag_len = be24(body, 9)?;
    // The fragment fills the record and lies within the message.
    if frag_len != body.len().checked_sub(12)? || frag_off + frag_len > length {
        return None;
    }
    if name != "ClientHello" || frag_off != 0 {
        return Some((name, None));
    }
    // RFC 6347 §4.2.1: "struct { ProtocolVersion client_version; Random
    // random; SessionID session_id; opaque cookie<0..2^8-1>; ..."
    let ch = body.get(12..)?;
    let Some(v) = be16(ch, 0) else {
        return Some((name, None));
    };
    version_name(v)?;
    let Some(&sid) = ch.get(34) else {
        return Some((name, None));
    };
    // RFC 5246 §7.4.1.2: "opaque SessionID<0..32>".
    if sid > 32 {
        return None;
    }
    let cookie = ch.get(35 + usize::from(sid)).map(|&c| usize::from(c));
    Some((name, cookie))
}

/// Walk the records of a datagram; Some(first record) when they fill it.
fn records(d: &[u8]) -> Option<(First, usize)> {
    let mut at = 0usize;
    let mut n = 0usize;
    let mut first: Option<First> = None;
    while at < d.len() && n < 16 {
        let rec = d.get(at..)?;
        let b0 = *rec.first()?;
        // RFC 9147 §4: the DTLS 1.3 unified header "0|0|1|C|S|L|E E" may
        // follow once the handshake is under way, never first.
        if first.is_some() && b0 & 0xe0 == 0x20 {
            // "C: ... connection ID is present" (length unknown here):
            // accept the rest. "L: ... length field is present".
            if b0 & 0x10 != 0 || b0 & 0x04 == 0 {
                at = d.len();
                n += 1;
                break;
            }
            let seq_len = if b0 & 0x08 != 0 { 2 } else { 1 };
            let len = be16(rec, 1 + seq_len).map(usize::from)?;
            at += 1 + seq_len + 2 + len;
            n += 1;
            continue;
        }
        let content = content_name(b0)?;
        let version = version_name(be16(rec, 1)?)?;
        let epoch = be16(rec, 3).map(usize::from)?;
        let len = be16(rec, 11).map(usize::from)?;
        if len == 0 || len > MAX_RECORD || epoch > 0x1000 {
            return None;
        }
        let body = rec.get(HDR..HDR + len)?;
        let mut hs = None;
        let mut cookie = None;
        // Epoch 0 records are in clear (RFC 6347 §4.1: "the initial epoch
        // ... is 0").
        if epoch == 0 && b0 == 22 {
            let (h, c) = handshake(body)?;
            hs = Some(h);
            cookie = c;
        }
        if first.is_none() {
            first = Some(First {
                version,
                content,
                handshake: hs,
                cookie,
            });
        }
        at += HDR + len;
        n += 1;
    }
    if at != d.len() {
        return None;
    }
    first.map(|f| (f, n))
}

impl Protocol for Dtls {
    fn name(&self) -> &'static str {
        "DTLS"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[443, 4433, 5684]
    }
    // RFC 6347 §4.1: a datagram starts with a record, "ContentType type"
    // first: 20 change_cipher_spec .. 23 application_data, RFC 6520 24
    // heartbeat, RFC 9146 25 tls12_cid (a unified header is never first).
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::range(20, 25)
    }
    fn parser(&self) -> Option<Box<dyn netsift_proto::Parser>> {
        Some(Box::new(session::DtlsParser::new()))
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let Some((f, n)) = records(input.data) else {
            return Probe::NoMatch;
        };
        let mut ev = format!("DTLS {} {}", f.version, f.handshake.unwrap_or(f.content));
        if let Some(c) = f.cookie {
            if c > 0 {
                ev.push_str(&format!(" with a {c}-byte cookie"));
            }
        }
        if n > 1 {
            ev.push_str(&format!(", {n} records in the datagram"));
        }
        Probe::Match(Match::new(ev))
    }
}
