//! The DTLS parser: DTLS 1.0/1.2 records (RFC 6347 §4.1), DTLS 1.3's
//! plaintext records and unified header (RFC 9147 §4), and the handshake
//! messages of epoch 0 reassembled from their fragments (RFC 6347 §4.2.3)
//! and handed to the TLS handshake logic, so a DTLS flow gets the same `tls`
//! record as a TLS connection: versions, cipher, SNI, ALPN, JA3/JA3S/JA4,
//! certificates.
//!
//! Bounds: one message at most [`MAX_MSG`] bytes, at most [`MAX_PARTIAL`]
//! messages in reassembly per direction and [`MAX_RANGES`] disjoint pieces
//! per message; message_seq numbers already handled are remembered (up to
//! [`MAX_DONE`]) so a retransmitted flight is not read twice.

use netsift_proto::bytes::be16;

use crate::tls::parse::be24;
use netsift_proto::{Direction, Parser, Record, Sink};

use crate::tls::session::TlsParser;

/// RFC 6347 §4.1: type(1) version(2) epoch(2) sequence_number(6) length(2).
const HDR: usize = 13;
/// RFC 6347 §4.2.2: msg_type(1) length(3) message_seq(2) fragment_offset(3)
/// fragment_length(3).
const HS_HDR: usize = 12;
/// Largest handshake message reassembled.
pub const MAX_MSG: usize = 64 * 1024;
/// Messages in reassembly at once per direction.
const MAX_PARTIAL: usize = 4;
/// Disjoint fragments kept per message.
const MAX_RANGES: usize = 32;
/// message_seq numbers remembered per direction.
const MAX_DONE: usize = 64;

const CT_HANDSHAKE: u8 = 22;
const CT_APPLICATION_DATA: u8 = 23;
const HS_CLIENT_HELLO: u8 = 1;
const HS_HELLO_VERIFY_REQUEST: u8 = 3;

/// A handshake message being reassembled.
struct Partial {
    seq: u16,
    ty: u8,
    buf: Vec<u8>,
    /// Received byte ranges, sorted and merged.
    have: Vec<(usize, usize)>,
}

impl Partial {
    /// Add `[off, off + frag.len())`; false when the pieces are too many.
    fn add(&mut self, off: usize, frag: &[u8]) -> bool {
        let end = off + frag.len();
        if let Some(dst) = self.buf.get_mut(off..end) {
            dst.copy_from_slice(frag);
        }
        let mut r = (off, end);
        let mut kept = Vec::with_capacity(self.have.len() + 1);
        for &(a, b) in &self.have {
            if b < r.0 || a > r.1 {
                kept.push((a, b));
            } else {
                r = (r.0.min(a), r.1.max(b));
            }
        }
        kept.push(r);
        kept.sort_unstable();
        self.have = kept;
        self.have.len() <= MAX_RANGES
    }

    fn complete(&self) -> bool {
        self.have.as_slice() == [(0, self.buf.len())]
    }

    /// Heap bytes: the message buffer (allocated whole at the first
    /// fragment) and the received ranges.
    fn heap(&self) -> usize {
        self.buf.capacity() + self.have.capacity() * std::mem::size_of::<(usize, usize)>()
    }
}

#[derive(Default)]
struct Side {
    partial: Vec<Partial>,
    done: Vec<u16>,
}

impl Side {
    fn heap(&self) -> usize {
        self.partial.capacity() * std::mem::size_of::<Partial>()
            + self.partial.iter().map(Partial::heap).sum::<usize>()
            + self.done.capacity() * std::mem::size_of::<u16>()
    }
}

/// Per-flow DTLS parser.
pub(crate) struct DtlsParser {
    tls: TlsParser,
    sides: [Side; 2],
    client_hello: bool,
    hello_verify: bool,
    started: bool,
    first_ts: Option<u64>,
}

fn idx(dir: Direction) -> usize {
    usize::from(dir == Direction::ToClient)
}

impl DtlsParser {
    pub(crate) fn new() -> DtlsParser {
        DtlsParser {
            tls: TlsParser::for_dtls(),
            sides: [Side::default(), Side::default()],
            client_hello: false,
            hello_verify: false,
            started: false,
            first_ts: None,
        }
    }

    fn datagram(&mut self, dir: Direction, mut d: &[u8], now: u64) {
        while let Some(&b0) = d.first() {
            // RFC 9147 §4: "0|0|1|C|S|L|E|E" — a DTLSCiphertext with the
            // unified header.
            if b0 & 0xe0 == 0x20 {
                self.started = true;
                if b0 & 0x10 != 0 {
                    // "C: The C bit (0x10) is set if the Connection ID is
                    // present" — its length was negotiated, not sent: the
                    // rest of the datagram cannot be split.
                    self.unified(dir, b0, now);
                    return;
                }
                let seq_len = if b0 & 0x08 != 0 { 2 } else { 1 };
                let len = if b0 & 0x04 != 0 {
                    // "L: ... set if the length is present."
                    match be16(d, 1 + seq_len) {
                        Some(l) => 1 + seq_len + 2 + usize::from(l),
                        None => return self.tls.note_weird("dtls_truncated_record"),
                    }
                } else {
                    // "If the length is omitted, the record extends to the
                    // end of the datagram."
                    d.len()
                };
                if len > d.len() {
                    return self.tls.note_weird("dtls_truncated_record");
                }
                self.unified(dir, b0, now);
                d = d.get(len..).unwrap_or(&[]);
                continue;
            }
            let (Some(version), Some(epoch), Some(len)) = (be16(d, 1), be16(d, 3), be16(d, 11))
            else {
                return self.tls.note_weird("dtls_truncated_record");
            };
            // RFC 6347 §4.1 versions {254, 255} and {254, 253}; RFC 9147
            // §5.3 keeps {254, 253} in DTLSPlaintext; 0x0100 is OpenSSL's
            // DTLS1_BAD_VER.
            if version >> 8 != 0xfe && version != 0x0100 {
                return self
                    .tls
                    .note_weird(format!("{}_not_dtls_record", side(dir)));
            }
            let Some(body) = d.get(HDR..HDR + usize::from(len)) else {
                return self.tls.note_weird("dtls_truncated_record");
            };
            self.started = true;
            self.tls.dtls_record(dir, b0, epoch > 0, now);
            if b0 == CT_HANDSHAKE && epoch == 0 {
                self.handshake_record(dir, body, now);
            }
            d = d.get(HDR + usize::from(len)..).unwrap_or(&[]);
        }
    }

    /// RFC 9147 §4: "E: The two low bits (0x03) include the low-order two
    /// bits of the epoch"; §6.1: epoch 2 protects the handshake, 3 and
    /// later application data (1: 0-RTT early data).
    fn unified(&mut self, dir: Direction, b0: u8, now: u64) {
        let ct = if b0 & 0x03 == 2 {
            CT_HANDSHAKE
        } else {
            CT_APPLICATION_DATA
        };
        self.tls.dtls_record(dir, ct, true, now);
    }

    /// The handshake fragments of one epoch-0 record (several may share it).
    fn handshake_record(&mut self, dir: Direction, mut body: &[u8], now: u64) {
        while !body.is_empty() {
            let (Some(&ty), Some(len), Some(seq), Some(off), Some(flen)) = (
                body.first(),
                be24(body, 1),
                be16(body, 4),
                be24(body, 6),
                be24(body, 9),
            ) else {
                return self.tls.note_weird("dtls_truncated_handshake_header");
            };
            let Some(frag) = body.get(HS_HDR..HS_HDR + flen) else {
                return self.tls.note_weird("dtls_fragment_past_record");
            };
            body = body.get(HS_HDR + flen..).unwrap_or(&[]);
            // §4.2.3: "fragment_offset ... fragment_length" lie within the
            // message of "length" bytes.
            if off + flen > len {
                self.tls.note_weird("dtls_fragment_past_message");
                continue;
            }
            self.fragment(dir, ty, len, seq, off, frag, now);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn fragment(
        &mut self,
        dir: Direction,
        ty: u8,
        len: usize,
        seq: u16,
        off: usize,
        frag: &[u8],
        now: u64,
    ) {
        let s = &mut self.sides[idx(dir)];
        // RFC 6347 §4.2.2: "message_seq ... retransmissions use the same
        // message_seq" — a message already read is not read again.
        if s.done.contains(&seq) {
            return;
        }
        if len > MAX_MSG {
            self.tls
                .note_weird(format!("{}_handshake_message_too_long", side(dir)));
            return;
        }
        let body = if off == 0 && frag.len() == len {
            // Whole message in one fragment (the common case).
            frag.to_vec()
        } else {
            let pos = match s.partial.iter().position(|p| p.seq == seq) {
                Some(i) => i,
                None => {
                    if s.partial.len() >= MAX_PARTIAL {
                        s.partial.remove(0);
                    }
                    s.partial.push(Partial {
                        seq,
                        ty,
                        buf: vec![0; len],
                        have: Vec::new(),
                    });
                    s.partial.len() - 1
                }
            };
            let Some(p) = s.partial.get_mut(pos) else {
                return;
            };
            if p.ty != ty || p.buf.len() != len {
                s.partial.remove(pos);
                self.tls.note_weird("dtls_inconsistent_fragments");
                return;
            }
            if !p.add(off, frag) {
                s.partial.remove(pos);
                self.tls.note_weird("dtls_too_many_fragments");
                return;
            }
            if !p.complete() {
                return;
            }
            s.partial.remove(pos).buf
        };
        let s = &mut self.sides[idx(dir)];
        if s.done.len() >= MAX_DONE {
            s.done.remove(0);
        }
        s.done.push(seq);
        self.message(dir, ty, &body, now);
    }

    fn message(&mut self, dir: Direction, ty: u8, body: &[u8], now: u64) {
        match (dir, ty) {
            (Direction::ToServer, HS_CLIENT_HELLO) => {
                // The ClientHello repeated with the cookie (§4.2.1) is the
                // same hello: fingerprints come from the first.
                if std::mem::replace(&mut self.client_hello, true) {
                    return;
                }
                match without_cookie(body) {
                    Some(b) => self.tls.message(dir, ty, &b, now),
                    None => self.tls.note_weird("truncated_client_hello"),
                }
            }
            (Direction::ToClient, HS_HELLO_VERIFY_REQUEST) => self.hello_verify = true,
            // ServerHello, Certificate: the TLS 1.2 layouts (RFC 6347 §4.3.2
            // changes only the ClientHello and adds HelloVerifyRequest).
            _ => self.tls.message(dir, ty, body, now),
        }
    }
}

fn side(dir: Direction) -> &'static str {
    match dir {
        Direction::ToServer => "client",
        Direction::ToClient => "server",
    }
}

/// RFC 6347 §4.2.1: "struct { ProtocolVersion client_version; Random
/// random; SessionID session_id; opaque cookie<0..2^8-1>; CipherSuite
/// cipher_suites<2..2^16-1>; ..." — the body in TLS's layout (cookie
/// removed), for the TLS ClientHello parser and fingerprints.
fn without_cookie(body: &[u8]) -> Option<Vec<u8>> {
    let sid = usize::from(*body.get(34)?);
    let at = 35 + sid;
    let cookie = usize::from(*body.get(at)?);
    let mut out = body.get(..at)?.to_vec();
    out.extend_from_slice(body.get(at + 1 + cookie..)?);
    Some(out)
}

impl Parser for DtlsParser {
    fn on_data(&mut self, dir: Direction, data: &[u8], sink: &mut dyn Sink) {
        let now = sink.ts_ns();
        self.first_ts.get_or_insert(now);
        self.datagram(dir, data, now);
        self.tls.flush(sink);
    }

    fn on_end(&mut self, sink: &mut dyn Sink) {
        if !self.started {
            return;
        }
        let mut r = self.tls.build();
        r.hello_verify = self.hello_verify;
        let ts = self.first_ts.unwrap_or_else(|| sink.ts_ns());
        sink.record_at("tls", ts, Record::typed(r));
        self.started = false;
    }

    /// Per direction the handshake messages in reassembly and the
    /// message_seq numbers remembered, plus what the TLS handshake state
    /// keeps (hellos, certificates).
    fn buffered(&self) -> usize {
        self.sides.iter().map(Side::heap).sum::<usize>() + self.tls.buffered()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::session::tests::stream;
    use netsift_proto::MemSink;
    use serde_json::Value;

    /// Feed datagrams; the one tls record.
    fn run(segs: &[(Direction, Vec<u8>)]) -> Value {
        let mut p = DtlsParser::new();
        let mut s = MemSink::default();
        for (d, b) in segs {
            p.on_data(*d, b, &mut s);
        }
        p.on_end(&mut s);
        let t = s.log("tls");
        assert_eq!(t.len(), 1, "{:?}", s.records);
        t[0].clone()
    }

    /// `openssl s_client -dtls1_2` against `openssl s_server -dtls1_2`
    /// (crates/cli/tests/starttls/make-starttls.sh, udp stream 0 of
    /// dtls_openssl.pcap): ClientHello, HelloVerifyRequest, ClientHello with
    /// the cookie, a certificate in five fragments over five datagrams.
    const DTLS12: &str = include_str!("testdata/openssl_dtls12.txt");

    #[test]
    fn openssl_dtls12_handshake() {
        let r = run(&stream(DTLS12));
        assert_eq!(r["version"], "DTLS 1.2");
        assert_eq!(r["client_version"], "DTLS 1.2");
        assert_eq!(r["cipher"], "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
        assert_eq!(r["server_name"], "localhost");
        assert_eq!(r["hello_verify"], true);
        assert_eq!(r["established"], true);
        assert_eq!(r["certs"][0]["common_name"], "localhost");
        assert!(r["ja4"].as_str().unwrap().starts_with("dd2d"), "{r}");
        assert!(r.get("weird").is_none(), "{r}");
    }

    #[test]
    fn retransmitted_and_reordered_flights_give_the_same_record() {
        let segs = stream(DTLS12);
        let want = run(&segs);
        // Every datagram twice (a lost-ACK retransmission of each flight).
        let twice: Vec<_> = segs.iter().flat_map(|s| [s.clone(), s.clone()]).collect();
        assert_eq!(run(&twice), want);
        // The server's certificate fragments in reverse order.
        let mut rev = segs.clone();
        let server: Vec<usize> = (0..rev.len())
            .filter(|&i| rev[i].0 == Direction::ToClient)
            .collect();
        let (a, b) = (server[1], server[5]);
        rev[a..=b].reverse();
        assert_eq!(run(&rev), want);
        // A message cut short (its last fragment lost): no certificate,
        // no panic.
        let mut lost = segs.clone();
        lost.remove(server[4]);
        let r = run(&lost);
        assert!(r.get("certs").is_none());
        assert_eq!(r["version"], "DTLS 1.2");
    }

    /// The certificate's first fragment makes the whole 809-byte message
    /// buffer; it is released once the last fragment completes it.
    #[test]
    fn buffered_counts_messages_in_reassembly() {
        let segs = stream(DTLS12);
        let mut p = DtlsParser::new();
        let mut s = MemSink::default();
        let own = |p: &DtlsParser| p.buffered() - p.tls.buffered();
        for (d, b) in &segs[..4] {
            p.on_data(*d, b, &mut s);
        }
        // Datagram 3: the ServerHello and the Certificate's first 117 bytes.
        assert!(own(&p) >= 809, "{}", own(&p));
        assert!(p.buffered() >= 809 + p.tls.buffered());
        for (d, b) in &segs[4..9] {
            p.on_data(*d, b, &mut s);
        }
        // Certificate and ServerKeyExchange complete: nothing in reassembly.
        assert!(p.sides.iter().all(|s| s.partial.is_empty()));
        assert!(own(&p) < 809, "{}", own(&p));
        // The certificate summaries stay for the record.
        assert!(p.tls.buffered() > 0);
    }

    /// The same with `-dtls1` (udp stream 1): DTLS 1.0.
    #[test]
    fn openssl_dtls10_handshake() {
        let r = run(&stream(include_str!("testdata/openssl_dtls10.txt")));
        assert_eq!(r["version"], "DTLS 1.0");
        assert_eq!(r["hello_verify"], true);
        assert_eq!(r["certs"][0]["common_name"], "localhost");
        assert_eq!(r["established"], true);
    }

    /// nDPI's dtls.pcap udp stream 3 (127.0.0.1:40983 -> 11111): a DTLS
    /// 1.3 handshake with a HelloRetryRequest, then unified-header records.
    #[test]
    fn dtls13_with_unified_headers() {
        let r = run(&stream(include_str!("testdata/dtls13_ndpi.txt")));
        assert_eq!(r["version"], "DTLS 1.3");
        assert_eq!(r["client_version"], "DTLS 1.3");
        assert_eq!(r["hello_retry"], true);
        assert_eq!(r["established"], true);
        assert!(r["ja4"].as_str().unwrap().starts_with("dd3"), "{r}");
    }

    #[test]
    fn hostile_datagrams_do_not_panic() {
        let segs = stream(DTLS12);
        let mut rng = crate::testkit::XorShift(7);
        for _ in 0..500 {
            let mut p = DtlsParser::new();
            let mut s = MemSink::default();
            for (d, b) in &segs {
                let mut b = b.clone();
                for _ in 0..4 {
                    if b.is_empty() {
                        break;
                    }
                    let i = (rng.next() as usize) % b.len();
                    b[i] = rng.next() as u8;
                }
                let cut = (rng.next() as usize) % (b.len() + 1);
                p.on_data(*d, &b[..cut], &mut s);
            }
            p.on_end(&mut s);
        }
    }
}
