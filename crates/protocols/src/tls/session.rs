//! The TLS parser: record layer (RFC 8446 §5.1, RFC 5246 §6.2) and
//! handshake layer (RFC 8446 §4, RFC 5246 §7.4) of both directions, up to
//! the point where the handshake gets encrypted; after that only record
//! headers are read (to count application data). One "tls" record per
//! connection, written at the end.

use netsift_proto::{BufferKind, Direction, Parser, Record, Sink};

use super::cert;
use super::ja::{self, ClientHello, Ja4Proto, ServerHello};
use super::parse::{self, be24, Ssl2};
use super::record::{CertRecord, TlsRecord, MAX_WEIRD};
use crate::heap::{str_heap, strs_heap, vec_heap};

/// Bound on one reassembled handshake message.
pub const MAX_MSG: usize = 64 * 1024;
/// Certificates summarized per chain.
const MAX_CERTS: usize = 10;

/// Handshake message types (RFC 8446 §4, RFC 5246 §7.4).
const HS_CLIENT_HELLO: u8 = 1;
const HS_SERVER_HELLO: u8 = 2;
const HS_CERTIFICATE: u8 = 11;
/// RFC 5246 §7.4.5.
const HS_SERVER_HELLO_DONE: u8 = 14;

#[derive(Debug, Default)]
struct Side {
    /// Record header being collected (5 bytes; 11 for an SSLv2 hello).
    hdr: Vec<u8>,
    /// Body of the current handshake record being collected.
    body: Vec<u8>,
    /// Length of the current record body when it is collected.
    body_len: usize,
    /// Bytes of the current record still to skip (not parsed).
    skip: usize,
    /// Handshake reassembly buffer (messages span records).
    hs: Vec<u8>,
    /// Handshake messages are no longer readable (encrypted, or a bound
    /// was hit); records are still counted.
    hs_off: bool,
    /// Nothing more is read from this side (gap, not TLS).
    dead: bool,
    /// Any byte seen.
    started: bool,
    /// The record being read is an SSLv2-compatible CLIENT-HELLO.
    v2: bool,
    ccs: bool,
    /// A handshake record after ChangeCipherSpec (Finished) was seen.
    finished: bool,
    app_records: u64,
}

/// Per-connection TLS parser.
#[derive(Debug, Default)]
pub struct TlsParser {
    sides: [Side; 2],
    client_hello: Option<ClientHello>,
    server_hello: Option<ServerHello>,
    /// JA3 and JA3S (string, MD5) of the hellos, computed once for the
    /// rule buffers and the record.
    ja3: Option<(String, String)>,
    ja3s: Option<(String, String)>,
    /// Version of an SSLv2-compatible CLIENT-HELLO.
    sslv2: Option<u16>,
    hello_retry: bool,
    server_cert_msg: bool,
    certs: Vec<CertRecord>,
    client_certs: Option<u32>,
    weird: Vec<String>,
    first_ts: Option<u64>,
    done: bool,
    /// The plaintext protocol this connection upgraded from (STARTTLS).
    starttls: Option<&'static str>,
    /// Fed by the DTLS parser: JA4 with the "d" prefix.
    dtls: bool,
    /// Sticky buffers and done directions waiting for the sink (the
    /// handshake is parsed without one): transaction 0 of the flow.
    pending: Vec<(Direction, Pending)>,
    /// Directions already reported done.
    tx_done: [bool; 2],
    /// Heap bytes of what the handshake left for the record (hellos,
    /// certificate summaries, JA3 strings), worked out when they change.
    summary_heap: usize,
}

/// A sticky buffer (kind, bytes), or `None`: the direction is done.
type Pending = Option<(BufferKind, Vec<u8>)>;

fn idx(dir: Direction) -> usize {
    match dir {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

fn side_name(dir: Direction) -> &'static str {
    match dir {
        Direction::ToServer => "client",
        Direction::ToClient => "server",
    }
}

impl TlsParser {
    pub fn new() -> TlsParser {
        TlsParser::default()
    }

    /// The handshake state for a DTLS flow: the DTLS parser
    /// (`crate::dtls::session`) reassembles the messages and hands them to
    /// [`TlsParser::message`], and reports records with
    /// [`TlsParser::dtls_record`].
    pub(crate) fn for_dtls() -> TlsParser {
        TlsParser {
            dtls: true,
            ..TlsParser::default()
        }
    }

    /// A DTLS record of content type `ct` was seen from `dir`; `protected`
    /// when it is under the negotiated keys (epoch > 0).
    pub(crate) fn dtls_record(&mut self, dir: Direction, ct: u8, protected: bool, now: u64) {
        self.first_ts.get_or_insert(now);
        let s = &mut self.sides[idx(dir)];
        s.started = true;
        match ct {
            parse::CT_CHANGE_CIPHER_SPEC => s.ccs = true,
            // The Finished message is the first protected handshake record.
            parse::CT_HANDSHAKE if protected => s.finished = true,
            parse::CT_APPLICATION_DATA => s.app_records += 1,
            _ => {}
        }
    }

    /// A protocol anomaly seen by the DTLS parser.
    pub(crate) fn note_weird(&mut self, w: impl Into<String>) {
        self.weird(w);
    }

    /// The TLS part of a connection that began as `proto` and upgraded
    /// (see [`crate::starttls`]).
    pub(crate) fn upgraded_from(proto: &'static str) -> TlsParser {
        TlsParser {
            starttls: Some(proto),
            ..TlsParser::default()
        }
    }

    fn weird(&mut self, w: impl Into<String>) {
        let w = w.into();
        if self.weird.len() < MAX_WEIRD && !self.weird.contains(&w) {
            self.weird.push(w);
        }
    }

    fn data(&mut self, dir: Direction, mut d: &[u8], now: u64) {
        let i = idx(dir);
        while !d.is_empty() {
            let s = &mut self.sides[i];
            if s.dead {
                return;
            }
            if s.skip > 0 {
                let n = s.skip.min(d.len());
                s.skip -= n;
                d = d.get(n..).unwrap_or(&[]);
                continue;
            }
            if s.body_len > 0 && s.body.is_empty() && d.len() >= s.body_len {
                // A whole handshake record body at hand: read it in place.
                let (body, rest) = d.split_at(s.body_len);
                s.body_len = 0;
                d = rest;
                self.handshake_fragment(dir, body, now);
                continue;
            }
            if s.body_len > 0 {
                // Collecting a handshake record body.
                let n = (s.body_len - s.body.len()).min(d.len());
                s.body.extend_from_slice(d.get(..n).unwrap_or(&[]));
                d = d.get(n..).unwrap_or(&[]);
                if s.body.len() == s.body_len {
                    let body = std::mem::take(&mut self.sides[i].body);
                    self.sides[i].body_len = 0;
                    self.handshake_fragment(dir, &body, now);
                }
                continue;
            }
            // RFC 5246 Appendix E.2: an SSLv2-compatible CLIENT-HELLO can
            // only be the client's first message ("msg_length: The highest
            // bit MUST be 1").
            if !s.started {
                s.started = true;
                s.v2 = dir == Direction::ToServer && d.first().is_some_and(|b| b & 0x80 != 0);
            }
            let v2 = s.v2;
            let want = if v2 { 11 } else { 5 };
            let n = (want - s.hdr.len().min(want)).min(d.len());
            s.hdr.extend_from_slice(d.get(..n).unwrap_or(&[]));
            d = d.get(n..).unwrap_or(&[]);
            if s.hdr.len() < want {
                continue;
            }
            // Copied out so the buffer keeps its capacity: one allocation
            // per direction, not one per record.
            let mut held = [0u8; 11];
            let n = s.hdr.len().min(held.len());
            held[..n].copy_from_slice(s.hdr.get(..n).unwrap_or(&[]));
            s.hdr.clear();
            let hdr = &held[..n];
            if v2 {
                self.sides[i].v2 = false;
                match parse::sslv2_client_hello(hdr) {
                    Ssl2::Hello(v) => {
                        self.sslv2 = Some(v);
                        // msg_length excludes its own 2 bytes; the 11 read
                        // so far include them.
                        let len = parse::be16(hdr, 0).unwrap_or(0) as usize & 0x7fff;
                        self.sides[i].skip = (len + 2).saturating_sub(11);
                    }
                    _ => {
                        self.weird("invalid_sslv2_hello");
                        self.sides[i].dead = true;
                    }
                }
                continue;
            }
            self.record_header(dir, hdr);
        }
    }

    /// RFC 8446 §5.1: `struct { ContentType type; ProtocolVersion
    /// legacy_record_version; uint16 length; opaque fragment[length]; }`.
    fn record_header(&mut self, dir: Direction, h: &[u8]) {
        let i = idx(dir);
        let (Some(&ct), Some(&major), Some(len)) = (h.first(), h.get(1), parse::be16(h, 3)) else {
            return;
        };
        let len = len as usize;
        let valid_ct = matches!(
            ct,
            parse::CT_CHANGE_CIPHER_SPEC
                | parse::CT_ALERT
                | parse::CT_HANDSHAKE
                | parse::CT_APPLICATION_DATA
        );
        if !valid_ct || major != 3 {
            self.weird(format!("{}_not_tls_record", side_name(dir)));
            self.sides[i].dead = true;
            return;
        }
        // RFC 8446 §5.2: "The length MUST NOT exceed 2^14 + 256 bytes" for
        // TLSCiphertext; RFC 5246 §6.2.3 allows 2^14 + 2048.
        if len > parse::MAX_RECORD {
            self.weird(format!("{}_record_too_long", side_name(dir)));
            self.sides[i].dead = true;
            return;
        }
        // RFC 8446 Appendix D.4: in middlebox compatibility mode "the
        // server sends a dummy change_cipher_spec record immediately after
        // its first handshake message. This may either be after a
        // ServerHello or a HelloRetryRequest", and the client one "before
        // its second flight" (the second ClientHello after a HelloRetry):
        // after a HelloRetryRequest the next hellos are still in clear.
        let dummy_ccs = self.hello_retry && self.server_hello.is_none();
        let s = &mut self.sides[i];
        match ct {
            parse::CT_CHANGE_CIPHER_SPEC if dummy_ccs => {}
            parse::CT_HANDSHAKE if !s.hs_off => {
                // RFC 8446 §5.1: "Implementations MUST NOT send zero-length
                // fragments of Handshake types".
                if len == 0 {
                    self.weird("empty_handshake_record");
                    return;
                }
                s.body_len = len;
                s.body.clear();
                return;
            }
            parse::CT_HANDSHAKE => {
                // Encrypted handshake after ChangeCipherSpec: Finished
                // (RFC 5246 §7.4.9).
                s.finished |= s.ccs;
            }
            parse::CT_CHANGE_CIPHER_SPEC => {
                // RFC 5246 §7.1: from here on this side's records are
                // protected by the new keys.
                s.ccs = true;
                s.hs_off = true;
            }
            parse::CT_APPLICATION_DATA => {
                s.app_records += 1;
                s.hs_off = true;
            }
            _ => {}
        }
        s.skip = len;
    }

    fn handshake_fragment(&mut self, dir: Direction, frag: &[u8], now: u64) {
        let i = idx(dir);
        if self.sides[i].hs_off {
            return;
        }
        // Messages are read in place: from `frag` when nothing was held
        // over, else from the held bytes with `frag` appended.
        let mut held = std::mem::take(&mut self.sides[i].hs);
        if !held.is_empty() {
            held.extend_from_slice(frag);
        }
        let data: &[u8] = if held.is_empty() { frag } else { &held };
        let mut off = 0;
        loop {
            if self.sides[i].hs_off {
                return;
            }
            let rest = data.get(off..).unwrap_or(&[]);
            // RFC 8446 §4: `struct { HandshakeType msg_type; uint24 length;
            // ... } Handshake;`
            let (Some(&ty), Some(len)) = (rest.first(), be24(rest, 1)) else {
                break;
            };
            if len > MAX_MSG {
                self.sides[i].hs_off = true;
                self.weird(format!("{}_handshake_message_too_long", side_name(dir)));
                return;
            }
            let Some(msg) = rest.get(4..4 + len) else {
                break;
            };
            self.message(dir, ty, msg, now);
            off += 4 + len;
        }
        // Keep the start of a message that continues in the next record.
        if held.is_empty() {
            held.extend_from_slice(frag.get(off..).unwrap_or(&[]));
        } else {
            held.drain(..off.min(held.len()));
        }
        if !held.is_empty() {
            self.sides[i].hs = held;
        }
    }

    /// One whole handshake message (type, body without the header).
    pub(crate) fn message(&mut self, dir: Direction, ty: u8, body: &[u8], now: u64) {
        self.read_message(dir, ty, body, now);
        self.summary_heap = self.summary_heap();
    }

    fn read_message(&mut self, dir: Direction, ty: u8, body: &[u8], now: u64) {
        match (dir, ty) {
            (Direction::ToServer, HS_CLIENT_HELLO) => {
                if self.client_hello.is_some() {
                    // The second ClientHello after a HelloRetryRequest
                    // (RFC 8446 §4.1.2); fingerprints stay on the first.
                    if !self.hello_retry {
                        self.weird("second_client_hello");
                    }
                    return;
                }
                match ja::parse_client_hello(body) {
                    Some(h) => {
                        for w in &h.weird {
                            self.weird(format!("client_hello_{w}"));
                        }
                        let d = Direction::ToServer;
                        if let Some(sni) = &h.sni {
                            self.buf(d, BufferKind::TlsSni, sni.as_bytes());
                        }
                        let (js, jm) = ja::ja3(&h);
                        self.buf(d, BufferKind::Ja3String, js.as_bytes());
                        self.buf(d, BufferKind::Ja3Hash, jm.as_bytes());
                        self.ja3 = Some((js, jm));
                        self.done_dir(d);
                        self.client_hello = Some(h);
                    }
                    None => self.weird("truncated_client_hello"),
                }
            }
            (Direction::ToClient, HS_SERVER_HELLO) => {
                let Some(h) = ja::parse_server_hello(body) else {
                    self.weird("truncated_server_hello");
                    return;
                };
                for w in &h.weird {
                    self.weird(format!("server_hello_{w}"));
                }
                if h.is_hrr() {
                    self.hello_retry = true;
                    return;
                }
                if ja::is_tls13(h.negotiated()) {
                    // RFC 8446 §2: "All handshake messages after the
                    // ServerHello are now encrypted."
                    for s in &mut self.sides {
                        s.hs_off = true;
                        s.hs = Vec::new();
                    }
                }
                if self.server_hello.is_none() {
                    let d = Direction::ToClient;
                    let (js, jm) = ja::ja3s(&h);
                    self.buf(d, BufferKind::Ja3sString, js.as_bytes());
                    self.buf(d, BufferKind::Ja3sHash, jm.as_bytes());
                    self.ja3s = Some((js, jm));
                    // TLS 1.3: the certificate is encrypted; nothing more
                    // of the server's side will be seen.
                    if ja::is_tls13(h.negotiated()) {
                        self.done_dir(d);
                    }
                    self.server_hello = Some(h);
                }
            }
            // RFC 5246 §7.4.5: ServerHelloDone ends the server's hello
            // messages (a handshake without a Certificate message).
            (Direction::ToClient, HS_SERVER_HELLO_DONE) => self.done_dir(Direction::ToClient),
            (Direction::ToClient, HS_CERTIFICATE) => {
                self.server_cert_msg = true;
                if self.certs.is_empty() {
                    let mut leaf = None;
                    let chain = cert_list(body, &mut self.weird, now, &mut leaf);
                    self.certs = chain;
                    let d = Direction::ToClient;
                    if let Some((subject, issuer, serial)) = leaf {
                        self.buf(d, BufferKind::TlsCertSubject, subject.as_bytes());
                        self.buf(d, BufferKind::TlsCertIssuer, issuer.as_bytes());
                        self.buf(d, BufferKind::TlsCertSerial, serial.as_bytes());
                    }
                    self.done_dir(d);
                }
            }
            (Direction::ToServer, HS_CERTIFICATE) => {
                let mut w = Vec::new();
                self.client_certs = Some(count_certs(body, &mut w) as u32);
                for x in w {
                    self.weird(format!("client_{x}"));
                }
            }
            _ => {}
        }
    }

    fn buf(&mut self, d: Direction, k: BufferKind, v: &[u8]) {
        if self.pending.len() < 64 {
            self.pending.push((d, Some((k, v.to_vec()))));
        }
    }

    fn done_dir(&mut self, d: Direction) {
        if let Some(f) = self.tx_done.get_mut(idx(d)) {
            if !*f {
                *f = true;
                self.pending.push((d, None));
            }
        }
    }

    /// Hand what the handshake gave to the sink (transaction 0).
    pub(crate) fn flush(&mut self, sink: &mut dyn Sink) {
        for (d, b) in std::mem::take(&mut self.pending) {
            match b {
                Some((k, v)) => sink.buffer(0, d, k, &v),
                None => sink.tx_done(0, d),
            }
        }
    }

    /// The record of what was seen (takes the certificates and anomalies).
    pub(crate) fn build(&mut self) -> TlsRecord {
        let mut r = TlsRecord {
            starttls: self.starttls,
            ..TlsRecord::default()
        };
        if let Some(v) = self.sslv2 {
            r.client_version = Some(ja::version_str(v));
            r.version = Some("SSL 2.0".to_string());
        }
        if let Some(ch) = &self.client_hello {
            let max = ja::highest_version(&ch.supported_versions, ch.version);
            r.client_version = Some(ja::version_str(max));
            r.server_name = ch.sni.clone();
            r.alpn = ch.alpn.clone();
            let (s, m) = self.ja3.take().unwrap_or_else(|| ja::ja3(ch));
            r.ja3_string = Some(s);
            r.ja3 = Some(m);
            let proto = if self.dtls {
                Ja4Proto::Dtls
            } else {
                Ja4Proto::Tcp
            };
            let (j, jr) = ja::ja4(ch, proto);
            r.ja4 = Some(j);
            r.ja4_r = Some(jr);
        }
        let mut resumed = false;
        if let Some(sh) = &self.server_hello {
            let v = sh.negotiated();
            r.version = Some(ja::version_str(v));
            r.cipher = Some(ja::cipher_name(sh.cipher));
            r.alpn_selected = sh.alpn.clone();
            let (s, m) = self.ja3s.take().unwrap_or_else(|| ja::ja3s(sh));
            r.ja3s_string = Some(s);
            r.ja3s = Some(m);
            if ja::is_tls13(v) {
                // RFC 8446 §4.2.11: the server's pre_shared_key extension
                // says it accepted a PSK (resumption).
                resumed = sh.extensions.contains(&ja::EXT_PRE_SHARED_KEY);
            } else if let Some(ch) = &self.client_hello {
                // RFC 5246 §7.4.1.3: a session_id equal to the client's
                // means the server resumes that session; RFC 5077 §3.1: a
                // ticket accepted goes straight to ChangeCipherSpec.
                resumed = (!sh.session_id.is_empty() && sh.session_id == ch.session_id)
                    || (ch.ticket && self.sides[1].ccs && !self.server_cert_msg);
            }
        }
        r.resumed = resumed;
        r.hello_retry = self.hello_retry;
        let [c, s] = &self.sides;
        r.client_app_records = c.app_records;
        r.server_app_records = s.app_records;
        r.established = (c.finished || c.app_records > 0) && (s.finished || s.app_records > 0);
        r.certs = std::mem::take(&mut self.certs);
        r.client_certs = self.client_certs;
        if let (Some(sni), Some(leaf)) = (&r.server_name, r.certs.first()) {
            let dns: Vec<&String> = leaf.sans.iter().collect();
            let ok = if dns.is_empty() {
                leaf.common_name
                    .as_deref()
                    .is_some_and(|cn| cert::host_matches(cn, sni))
            } else {
                dns.iter().any(|p| cert::host_matches(p, sni))
            };
            if !ok {
                self.weird("sni_mismatch");
            }
        }
        for (i, dir) in [(0, Direction::ToServer), (1, Direction::ToClient)] {
            let sd = &self.sides[i];
            if !sd.dead && !sd.hdr.is_empty() {
                self.weird(format!("{}_truncated_record", side_name(dir)));
            }
            let sd = &self.sides[i];
            if !sd.dead && (!sd.hs.is_empty() || sd.body_len > 0) {
                self.weird(format!("{}_truncated_handshake", side_name(dir)));
            }
        }
        r.weird = std::mem::take(&mut self.weird);
        self.summary_heap = self.summary_heap();
        r
    }

    /// Heap bytes of the hellos, certificate summaries and JA3 strings.
    fn summary_heap(&self) -> usize {
        let ja3 = |j: &Option<(String, String)>| {
            j.as_ref().map_or(0, |(s, m)| s.capacity() + m.capacity())
        };
        self.client_hello.as_ref().map_or(0, client_hello_heap)
            + self.server_hello.as_ref().map_or(0, server_hello_heap)
            + vec_heap(&self.certs)
            + self.certs.iter().map(cert_heap).sum::<usize>()
            + ja3(&self.ja3)
            + ja3(&self.ja3s)
    }
}

fn client_hello_heap(h: &ClientHello) -> usize {
    vec_heap(&h.session_id)
        + vec_heap(&h.ciphers)
        + vec_heap(&h.extensions)
        + str_heap(&h.sni)
        + strs_heap(&h.alpn)
        + h.alpn_first_raw.as_ref().map_or(0, Vec::capacity)
        + vec_heap(&h.groups)
        + vec_heap(&h.point_formats)
        + vec_heap(&h.sig_algs)
        + vec_heap(&h.supported_versions)
        + vec_heap(&h.weird)
}

fn server_hello_heap(h: &ServerHello) -> usize {
    vec_heap(&h.session_id) + vec_heap(&h.extensions) + str_heap(&h.alpn) + vec_heap(&h.weird)
}

fn cert_heap(c: &CertRecord) -> usize {
    [
        &c.subject,
        &c.issuer,
        &c.serial,
        &c.not_before,
        &c.not_after,
        &c.key_alg,
        &c.sig_alg,
        &c.sha256,
        &c.sha1,
    ]
    .iter()
    .map(|s| s.capacity())
    .sum::<usize>()
        + str_heap(&c.common_name)
        + strs_heap(&c.sans)
}

/// RFC 5246 §7.4.2: `opaque ASN.1Cert<1..2^24-1>; struct { ASN.1Cert
/// certificate_list<0..2^24-1>; } Certificate;`. Calls `f` on each
/// certificate's DER; returns how many there were.
fn walk_certs(body: &[u8], weird: &mut Vec<String>, mut f: impl FnMut(&[u8])) -> usize {
    let Some(total) = be24(body, 0) else {
        push(weird, "truncated_certificate_message");
        return 0;
    };
    let list = match body.get(3..3 + total) {
        Some(l) => l,
        None => {
            push(weird, "certificate_list_too_long");
            body.get(3..).unwrap_or(&[])
        }
    };
    let mut p = 0;
    let mut n = 0;
    while p < list.len() {
        let Some(l) = be24(list, p) else {
            push(weird, "truncated_certificate");
            break;
        };
        let Some(der) = list.get(p + 3..p + 3 + l) else {
            push(weird, "certificate_length_mismatch");
            break;
        };
        f(der);
        n += 1;
        p += 3 + l;
    }
    n
}

fn push(weird: &mut Vec<String>, w: &str) {
    if weird.len() < MAX_WEIRD && !weird.iter().any(|x| x == w) {
        weird.push(w.to_string());
    }
}

/// The summaries of the certificates of a Certificate message, each DER
/// parsed once; `leaf` gets Suricata's fields of the first one.
fn cert_list(
    body: &[u8],
    weird: &mut Vec<String>,
    now: u64,
    leaf: &mut Option<(String, String, String)>,
) -> Vec<CertRecord> {
    let mut out = Vec::new();
    let mut bad = false;
    let mut first = true;
    walk_certs(body, weird, |der| {
        if out.len() < MAX_CERTS {
            match cert::summarize(der, now, first) {
                Some((c, fields)) => {
                    out.push(c);
                    if fields.is_some() {
                        *leaf = fields;
                    }
                }
                None => bad = true,
            }
        }
        first = false;
    });
    if bad {
        push(weird, "certificate_parse_error");
    }
    out
}

fn count_certs(body: &[u8], weird: &mut Vec<String>) -> usize {
    walk_certs(body, weird, |_| {})
}

impl Parser for TlsParser {
    fn on_data(&mut self, dir: Direction, data: &[u8], sink: &mut dyn Sink) {
        if self.done || data.is_empty() {
            return;
        }
        let now = sink.ts_ns();
        self.first_ts.get_or_insert(now);
        self.data(dir, data, now);
        self.flush(sink);
    }

    fn on_gap(&mut self, dir: Direction, _len: u64, _sink: &mut dyn Sink) {
        let s = &mut self.sides[idx(dir)];
        if s.dead {
            return;
        }
        // Record boundaries are lost: stop reading this side (what it
        // held is never read again).
        s.dead = true;
        s.hdr = Vec::new();
        s.body = Vec::new();
        s.hs = Vec::new();
        self.weird(format!("{}_gap", side_name(dir)));
    }

    fn on_end(&mut self, sink: &mut dyn Sink) {
        if self.done {
            return;
        }
        self.done = true;
        if !self.sides.iter().any(|s| s.started) {
            return;
        }
        let r = self.build();
        let ts = self.first_ts.unwrap_or_else(|| sink.ts_ns());
        sink.record_at("tls", ts, Record::typed(r));
    }

    /// Per direction the record header, the handshake record body and the
    /// handshake message in reassembly (a certificate chain); then what the
    /// handshake keeps for the record (hellos, certificates, anomalies) and
    /// sticky buffers not yet handed over.
    fn buffered(&self) -> usize {
        let sides: usize = self
            .sides
            .iter()
            .map(|s| s.hdr.capacity() + s.body.capacity() + s.hs.capacity())
            .sum();
        let pending: usize = self
            .pending
            .iter()
            .map(|(_, b)| b.as_ref().map_or(0, |(_, v)| v.capacity()))
            .sum();
        sides + self.summary_heap + strs_heap(&self.weird) + vec_heap(&self.pending) + pending
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use netsift_proto::MemSink;
    use serde_json::Value;

    /// A TCP stream extracted with `tshark -q -z follow,tcp,raw,N`: one
    /// line per segment, "> hex" from the client, "< hex" from the server.
    pub(crate) fn stream(text: &str) -> Vec<(Direction, Vec<u8>)> {
        text.lines()
            .filter_map(|l| {
                let (d, h) = l.split_once(' ')?;
                let dir = if d == ">" {
                    Direction::ToServer
                } else {
                    Direction::ToClient
                };
                let b = (0..h.len() / 2)
                    .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap())
                    .collect();
                Some((dir, b))
            })
            .collect()
    }

    /// Packet time used by the tests: 2024-01-01T00:00:00Z.
    pub(crate) const NOW: u64 = 1_704_067_200_000_000_000;

    /// Feed the segments (each cut in pieces of `chunk` bytes, 0 = whole).
    pub(crate) fn run(segs: &[(Direction, Vec<u8>)], chunk: usize) -> Value {
        run_at(segs, chunk, NOW)
    }

    /// [`run`] at packet time `ts_ns`.
    fn run_at(segs: &[(Direction, Vec<u8>)], chunk: usize, ts_ns: u64) -> Value {
        let mut p = TlsParser::new();
        let mut sink = MemSink {
            ts_ns,
            ..Default::default()
        };
        for (dir, b) in segs {
            if chunk == 0 {
                p.on_data(*dir, b, &mut sink);
            } else {
                for c in b.chunks(chunk) {
                    p.on_data(*dir, c, &mut sink);
                }
            }
        }
        p.on_end(&mut sink);
        let recs = sink.log("tls");
        assert_eq!(recs.len(), 1);
        recs[0].clone()
    }

    /// (file, ja3, ja3s, ja4, sni, version, cipher). JA3 / JA3S: tshark
    /// 4.0.17 `-e tls.handshake.ja3 -e tls.handshake.ja3s` on the source
    /// pcap; JA4: computed by an independent script from tshark's dissected
    /// fields (ciphersuite, extension.type, signature_algorithms,
    /// alpn_str, supported_version) and equal to the FoxIO definition.
    const VECTORS: &[(&str, &str, &str, &str, &str, &str, &str)] = &[
        (
            // ssl-cert-name-mismatch.pcap, tcp.stream 0.
            include_str!("testdata/badssl_mismatch.txt"),
            "4e69e4e5627c5e4c2846ba3e64d23fb9",
            "b898351eb5e266aefd3723d466935494",
            "t12d3810h1_845d1e55a368_7448b1316cd7",
            "wrong.host.badssl.com",
            "TLS 1.2",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        ),
        (
            // long_tls_certificate.pcap, tcp.stream 0.
            include_str!("testdata/aliyun_long_cert.txt"),
            "2a26b1a62e40d25d4de3babc9d532f30",
            "eee3d2bf5f17d17548ac36ba1872951f",
            "t12d6707h2_2955a3196ffa_c83f907a73d3",
            "beacon-api.aliyuncs.com",
            "TLS 1.2",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        ),
        (
            // tls_2_reasms.pcapng, tcp.stream 0 (Facebook TLS 1.3 draft).
            include_str!("testdata/instagram_reasm.txt"),
            "44dab16d680ef93487bc16ad23b3ffb1",
            "fcb2d4d0991292272fcb1e464eedfd43",
            "t00d0309h2_55b375c5d22e_566d5108064c",
            "i.instagram.com",
            "0xfb1a",
            "TLS_AES_128_GCM_SHA256",
        ),
        (
            // tls_esni_sni_both.pcap, tcp.stream 0.
            include_str!("testdata/esni_sni.txt"),
            "077d20c3f8c5a1f091dc937c515b69c1",
            "d75f9129bb5d05492a65ff78e081bcb2",
            "t13d031100_55b375c5d22e_77359c92d649",
            "these-are-not-the-droids-youre-looking-for.com",
            "TLS 1.3",
            "TLS_CHACHA20_POLY1305_SHA256",
        ),
        (
            // tls_certificate_too_long.pcap, tcp.stream 2.
            include_str!("testdata/microsoft_wdcp.txt"),
            "656b9a2f4de6ed4909e157482860ab3d",
            "17e97216fa7f4ec8c43090c6eed97c25",
            "t13d2613h2_2802a3db6c62_845d286b0d67",
            "wdcp.microsoft.com",
            "TLS 1.2",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        ),
        (
            // tls_heur__trojan-tcp-tls.pcapng, tcp.stream 1.
            include_str!("testdata/tls13_trojan.txt"),
            "7a15285d4efc355608b304698cd7f9ab",
            "f4febc55ea12b31ae17cfb7e614afda8",
            "t13d1911h2_9dc949149365_e7c285222651",
            "test.lan",
            "TLS 1.3",
            "TLS_AES_128_GCM_SHA256",
        ),
        (
            // tls_multiple_synack_different_seq.pcapng, tcp.stream 0
            // (Chrome-style GREASE). tshark needs `-o
            // tcp.analyze_sequence_numbers:FALSE` to dissect the server
            // side of this capture (several SYN-ACKs).
            include_str!("testdata/grease_s3.txt"),
            "b32309a26951912be7dba376398abc3b",
            "704239182a9091e4453fdbfe0fd17586",
            "t13d1515h2_8daaf6152771_de4a06bb82e3",
            "bolt-prod-s3-eu-west-1.s3.eu-west-1.amazonaws.com",
            "TLS 1.2",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        ),
    ];

    fn field<'a>(r: &'a Value, k: &str) -> &'a str {
        r.get(k).and_then(Value::as_str).unwrap_or("")
    }

    #[test]
    fn fingerprints_match_tshark() {
        for (text, ja3, ja3s, ja4, sni, version, cipher) in VECTORS {
            let r = run(&stream(text), 0);
            assert_eq!(field(&r, "ja3"), *ja3, "{sni}");
            assert_eq!(field(&r, "ja3s"), *ja3s, "{sni}");
            assert_eq!(field(&r, "ja4"), *ja4, "{sni}");
            assert_eq!(field(&r, "server_name"), *sni);
            assert_eq!(field(&r, "version"), *version, "{sni}");
            assert_eq!(field(&r, "cipher"), *cipher, "{sni}");
        }
    }

    #[test]
    fn byte_by_byte_equals_whole() {
        for v in VECTORS {
            let segs = stream(v.0);
            let whole = run(&segs, 0);
            assert_eq!(run(&segs, 1), whole, "{}", v.4);
            assert_eq!(run(&segs, 7), whole, "{}", v.4);
        }
    }

    fn sink_of(segs: &[(Direction, Vec<u8>)], chunk: usize) -> MemSink {
        let mut p = TlsParser::new();
        let mut sink = MemSink {
            ts_ns: NOW,
            ..Default::default()
        };
        for (dir, b) in segs {
            for c in b.chunks(if chunk == 0 { b.len().max(1) } else { chunk }) {
                p.on_data(*dir, c, &mut sink);
            }
        }
        p.on_end(&mut sink);
        sink
    }

    /// Suricata's tls.sni, ja3(s), tls.cert_subject/issuer/serial for the
    /// badssl.com TLS 1.2 handshake, in whole segments and byte by byte;
    /// each direction done once (the ClientHello; the Certificate).
    #[test]
    fn sticky_buffers_tls12() {
        use BufferKind as K;
        use Direction::{ToClient, ToServer};
        let segs = stream(VECTORS[0].0);
        let s = sink_of(&segs, 0);
        let s1 = sink_of(&segs, 1);
        assert_eq!(s.buffers, s1.buffers);
        assert_eq!(s.tx_done, s1.tx_done);
        let one = |d, k| String::from_utf8(s.bufs(0, d, k)[0].to_vec()).unwrap();
        assert_eq!(one(ToServer, K::TlsSni), "wrong.host.badssl.com");
        assert_eq!(one(ToServer, K::Ja3Hash), VECTORS[0].1);
        assert!(one(ToServer, K::Ja3String).starts_with("771,"));
        assert_eq!(one(ToClient, K::Ja3sHash), VECTORS[0].2);
        assert_eq!(
            one(ToClient, K::TlsCertSubject),
            "C=US, ST=California, L=Walnut Creek, O=Lucas Garron Torres, CN=*.badssl.com"
        );
        assert_eq!(
            one(ToClient, K::TlsCertIssuer),
            "C=US, O=DigiCert Inc, CN=DigiCert SHA2 Secure Server CA"
        );
        assert_eq!(
            one(ToClient, K::TlsCertSerial),
            "0A:F0:6C:DA:37:A6:0B:64:13:42:F0:A1:EB:1D:59:FD"
        );
        assert_eq!(s.tx_done, [(0, ToServer), (0, ToClient)]);
        // TLS 1.3: the server's side is done at its ServerHello (the
        // certificate is encrypted).
        let v13 = VECTORS.iter().find(|v| v.5 == "TLS 1.3").unwrap();
        let s = sink_of(&stream(v13.0), 0);
        assert_eq!(s.tx_done, [(0, ToServer), (0, ToClient)]);
        assert_eq!(s.bufs(0, ToClient, K::Ja3sHash), [v13.2.as_bytes()]);
        assert!(s.bufs(0, ToClient, K::TlsCertSubject).is_empty());
    }

    #[test]
    fn tls12_certificates() {
        let r = run(&stream(VECTORS[0].0), 0);
        let certs = r["certs"].as_array().unwrap();
        assert_eq!(certs.len(), 2);
        let leaf = &certs[0];
        assert_eq!(
            leaf["subject"],
            "CN=*.badssl.com,O=Lucas Garron Torres,L=Walnut Creek,ST=California,C=US"
        );
        assert_eq!(
            leaf["issuer"],
            "CN=DigiCert SHA2 Secure Server CA,O=DigiCert Inc,C=US"
        );
        assert_eq!(leaf["serial"], "0af06cda37a60b641342f0a1eb1d59fd");
        assert_eq!(leaf["not_before"], "2020-03-23T00:00:00Z");
        assert_eq!(leaf["not_after"], "2022-05-17T12:00:00Z");
        assert_eq!(
            leaf["sans"],
            serde_json::json!(["*.badssl.com", "badssl.com"])
        );
        assert_eq!(leaf["key_alg"], "rsa");
        assert_eq!(leaf["key_bits"], 2048);
        // `openssl x509 -inform DER -fingerprint -sha1/-sha256` of the leaf.
        assert_eq!(leaf["sha1"], "1845b216efd0839a1851a957325da336217049cb");
        assert_eq!(
            leaf["sha256"],
            "9094c2bdfa697b4503daad1167eb20a5a471ea98d01f76547263fc9eaec7c8f2"
        );
        assert_eq!(leaf["expired"], true);
        assert_eq!(leaf["self_signed"], false);
        assert_eq!(certs[1]["is_ca"], true);
        // "wrong.host" is two labels: "*.badssl.com" does not cover it.
        assert_eq!(r["weird"], serde_json::json!(["sni_mismatch"]));
        assert_eq!(r["established"], true);
        assert_eq!(r["alpn"], serde_json::json!(["http/1.1"]));
        assert_eq!(r["alpn_selected"], "http/1.1");
        // The RFC 4514 escaping of a ',' in a value.
        let r = run(&stream(VECTORS[1].0), 0);
        assert_eq!(
            r["certs"][0]["subject"],
            "CN=*.aliyun.com,O=Alibaba (China) Technology Co.\\, Ltd.,L=HangZhou,ST=ZheJiang,C=CN"
        );
        assert!(r.get("weird").is_none(), "{r}");
    }

    /// The second time a chain is seen its records come from the
    /// certificate cache: the same record, with `expired` worked out at the
    /// new packet time, and the same Suricata leaf fields.
    #[test]
    fn certificate_cache_is_transparent() {
        let segs = stream(VECTORS[0].0);
        let first = run(&segs, 0);
        assert_eq!(first["certs"][0]["expired"], true);
        let again = run(&segs, 7);
        assert_eq!(first, again);
        // The leaf is valid from 2020-03-23 to 2022-05-17.
        let in_2021 = run_at(&segs, 0, 1_609_459_200_000_000_000);
        assert_eq!(in_2021["certs"][0]["expired"], false);
        assert_eq!(in_2021["certs"][1]["sha256"], first["certs"][1]["sha256"]);
        let mut expect = first.clone();
        expect["certs"][0]["expired"] = Value::Bool(false);
        expect["certs"][1]["expired"] = in_2021["certs"][1]["expired"].clone();
        assert_eq!(in_2021, expect);
        let s = sink_of(&segs, 0);
        let subject = s.bufs(0, Direction::ToClient, BufferKind::TlsCertSubject);
        assert_eq!(
            subject,
            [&b"C=US, ST=California, L=Walnut Creek, O=Lucas Garron Torres, CN=*.badssl.com"[..]]
        );
    }

    #[test]
    fn tls13_has_no_certificates() {
        let r = run(&stream(VECTORS[5].0), 0);
        assert!(r.get("certs").is_none());
        assert_eq!(r["established"], true);
        assert_eq!(r["resumed"], false);
        assert_eq!(r["client_version"], "TLS 1.3");
    }

    #[test]
    fn tls13_psk_is_resumed() {
        // The server's extensions include pre_shared_key (41).
        let r = run(&stream(VECTORS[2].0), 0);
        assert_eq!(r["resumed"], true);
    }

    #[test]
    fn gap_stops_one_side() {
        let segs = stream(VECTORS[0].0);
        let mut p = TlsParser::new();
        let mut sink = MemSink::default();
        let (d0, b0) = &segs[0];
        p.on_data(*d0, b0, &mut sink);
        p.on_gap(Direction::ToClient, 1000, &mut sink);
        for (d, b) in &segs[1..] {
            p.on_data(*d, b, &mut sink);
        }
        p.on_end(&mut sink);
        let r = sink.log("tls")[0];
        assert_eq!(r["ja3"], VECTORS[0].1);
        assert!(r.get("ja3s").is_none());
        assert_eq!(r["weird"], serde_json::json!(["server_gap"]));
    }

    #[test]
    fn truncated_everywhere() {
        // Every prefix of the first client segment: no panic, and the
        // incomplete hello is noted rather than guessed.
        let segs = stream(VECTORS[0].0);
        let ch = &segs[0].1;
        for n in 1..ch.len() {
            let r = run(&[(Direction::ToServer, ch[..n].to_vec())], 0);
            assert!(r.get("ja3").is_none());
            let w = if n < 5 { "record" } else { "handshake" };
            assert_eq!(
                r["weird"],
                serde_json::json!([format!("client_truncated_{w}")]),
                "{n}"
            );
        }
        // Every prefix of the whole conversation.
        netsift_proto::session::feed_every_prefix(&segs, 97, TlsParser::new);
    }

    #[test]
    fn malicious_lengths() {
        // Record length 0xffff.
        let r = run(
            &[(Direction::ToServer, vec![0x16, 3, 1, 0xff, 0xff, 1, 2, 3])],
            0,
        );
        assert_eq!(r["weird"], serde_json::json!(["client_record_too_long"]));
        // Handshake length 0xffffff.
        let r = run(
            &[(
                Direction::ToServer,
                vec![0x16, 3, 1, 0, 8, 1, 0xff, 0xff, 0xff, 3, 3, 0, 0],
            )],
            0,
        );
        assert_eq!(
            r["weird"],
            serde_json::json!(["client_handshake_message_too_long"])
        );
        // A Certificate message whose certificate_list is longer than the
        // message, and a certificate longer than the list.
        let mut cert = vec![0x16, 3, 3, 0, 13, 11, 0, 0, 9, 0x00, 0xff, 0xff];
        cert.extend_from_slice(&[0, 0, 4, 0x30, 0x82, 0xff]);
        let r = run(&[(Direction::ToClient, cert)], 0);
        assert_eq!(
            r["weird"],
            serde_json::json!(["certificate_list_too_long", "certificate_length_mismatch"])
        );
        // Not TLS at all.
        let r = run(
            &[(Direction::ToServer, b"GET / HTTP/1.1\r\n\r\n".to_vec())],
            0,
        );
        assert_eq!(r["weird"], serde_json::json!(["client_not_tls_record"]));
    }

    /// A record cut in the middle and a Certificate message spanning two
    /// records are counted while held, and released once read.
    #[test]
    fn buffered_counts_partial_records_and_messages() {
        // long_tls_certificate.pcap: a 512-byte ClientHello record; the
        // server's ServerHello record (102 bytes) then a Certificate record
        // of 6584 bytes.
        let segs = stream(VECTORS[1].0);
        let mut p = TlsParser::new();
        let mut sink = MemSink::default();
        let ch = &segs[0].1;
        assert_eq!(ch.len(), 5 + 512);
        p.on_data(Direction::ToServer, &ch[..300], &mut sink);
        // The 295 body bytes after the record header.
        assert!(p.buffered() >= 295, "{}", p.buffered());
        p.on_data(Direction::ToServer, &ch[300..], &mut sink);
        assert!(p.client_hello.is_some());
        // The record is released; the hello's summary stays for the record.
        let held = |p: &TlsParser| p.buffered() - p.summary_heap;
        assert!(held(&p) <= 64, "{}", held(&p));
        assert!(p.buffered() >= p.summary_heap && p.summary_heap > 0);
        // The server's Certificate message re-cut into two records of 3000
        // bytes and the rest: the first part waits in reassembly.
        let server: Vec<u8> = segs
            .iter()
            .filter(|(d, _)| *d == Direction::ToClient)
            .flat_map(|(_, b)| b.clone())
            .collect();
        let msg = &server[107 + 5..107 + 5 + 6584];
        let record = |part: &[u8]| {
            let mut r = vec![0x16, 3, 3];
            r.extend_from_slice(&(part.len() as u16).to_be_bytes());
            r.extend_from_slice(part);
            r
        };
        p.on_data(Direction::ToClient, &server[..107], &mut sink);
        p.on_data(Direction::ToClient, &record(&msg[..3000]), &mut sink);
        assert!(held(&p) >= 3000, "{}", held(&p));
        p.on_data(Direction::ToClient, &record(&msg[3000..]), &mut sink);
        assert_eq!(p.certs.len(), 2);
        assert!(held(&p) <= 64, "{}", held(&p));
        // A gap releases what the side held.
        p.on_data(
            Direction::ToClient,
            &record(&msg[..3000])[..2000],
            &mut sink,
        );
        assert!(held(&p) >= 1995, "{}", held(&p));
        p.on_gap(Direction::ToClient, 100, &mut sink);
        assert!(held(&p) <= 64 + 64, "{}", held(&p));
    }

    #[test]
    fn sslv2_hello_then_tls_server() {
        let v2 = include_bytes!("testdata/ch_sslv2.bin");
        let r = run(&[(Direction::ToServer, v2.to_vec())], 0);
        assert_eq!(r["client_version"], "TLS 1.0");
        assert_eq!(r["version"], "SSL 2.0");
        assert!(r.get("weird").is_none(), "{r}");
        let r1 = run(&[(Direction::ToServer, v2.to_vec())], 1);
        assert_eq!(r, r1);
    }

    #[test]
    fn mutated_streams_do_not_panic() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for v in VECTORS {
            let segs = stream(v.0);
            for round in 0..40 {
                let mut segs = segs.clone();
                for (_, b) in &mut segs {
                    for _ in 0..1 + round % 4 {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        if !b.is_empty() {
                            let i = (x as usize) % b.len();
                            b[i] = (x >> 32) as u8;
                        }
                    }
                }
                let _ = run(&segs, 0);
            }
        }
    }
}
