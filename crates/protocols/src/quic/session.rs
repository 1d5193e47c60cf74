//! The QUIC parser: long headers of both sides (RFC 9000 §17.2, RFC 8999),
//! the client's Initial packets decrypted with the Initial keys (RFC 9001
//! §5.2) and their CRYPTO frames (RFC 9000 §19.6) reassembled into the
//! ClientHello (RFC 8446 §4.1.2), read with the TLS parser's functions.
//! Google QUIC's CHLO gives its SNI tag.

use netsift_proto::{Direction, Parser, Record, Sink};

use super::initial::{self, Keys};
use super::record::{QuicRecord, MAX_WEIRD};
use super::varint;
use crate::heap::{str_heap, strs_heap};
use crate::tls::ja::{self, hex, Ja4Proto};

/// Bound on the reassembled ClientHello (a post-quantum key share makes it
/// about 1.8 KB; 16 KiB leaves room for big hellos).
const MAX_HELLO: usize = 16 * 1024;
/// Client Initial datagrams tried before giving up on the hello.
const MAX_INITIALS: u32 = 16;

/// RFC 9000 §15 / RFC 9369 §3.1 / Google: a version's name.
pub fn version_name(v: u32) -> String {
    let b = v.to_be_bytes();
    match v {
        0x0000_0001 => "1".into(),
        0x6b33_43cf => "2".into(),
        0x709a_50c4 => "2-draft".into(),
        0xff00_0000..=0xff00_00ff => format!("draft-{}", v & 0xff),
        0xface_b001 => "mvfst-draft-22".into(),
        0xface_b002 => "mvfst-draft-27".into(),
        0xface_b00e => "mvfst-exp".into(),
        _ if matches!(b[0], b'Q' | b'T') && b[1..].iter().all(u8::is_ascii_digit) => {
            String::from_utf8_lossy(&b).into_owned()
        }
        _ => format!("0x{v:08x}"),
    }
}

/// An RFC 9000 §17.2 long header: Header Form (1) = 1, Fixed Bit (1),
/// Long Packet Type (2), Type-Specific Bits (4), Version (32), DCID Len
/// (8), DCID, SCID Len (8), SCID.
struct Long<'a> {
    version: u32,
    ptype: u8,
    dcid: &'a [u8],
    scid: &'a [u8],
    /// Offset after the SCID.
    end: usize,
}

fn long(d: &[u8]) -> Option<Long<'_>> {
    let b0 = *d.first()?;
    if b0 & 0x80 == 0 {
        return None;
    }
    let version = u32::from_be_bytes([*d.get(1)?, *d.get(2)?, *d.get(3)?, *d.get(4)?]);
    if &version.to_be_bytes() == b"Q046" {
        // Q046: DCIL/SCIL as nibbles, each len - 3 (0 = absent).
        let cil = *d.get(5)?;
        let l = |n: u8| if n == 0 { 0 } else { n as usize + 3 };
        let (dl, sl) = (l(cil >> 4), l(cil & 0x0f));
        return Some(Long {
            version,
            ptype: (b0 >> 4) & 3,
            dcid: d.get(6..6 + dl)?,
            scid: d.get(6 + dl..6 + dl + sl)?,
            end: 6 + dl + sl,
        });
    }
    // RFC 8999 §5.1: connection IDs of up to 255 bytes in the invariants.
    let dl = *d.get(5)? as usize;
    let dcid = d.get(6..6 + dl)?;
    let sl = *d.get(6 + dl)? as usize;
    let scid = d.get(7 + dl..7 + dl + sl)?;
    Some(Long {
        version,
        ptype: (b0 >> 4) & 3,
        dcid,
        scid,
        end: 7 + dl + sl,
    })
}

/// RFC 9369 §3.2: the v2 Initial is type 0b01; v1 and drafts 0b00.
fn initial_type(version: u32) -> u8 {
    if version == 0x6b33_43cf || version == 0x709a_50c4 {
        1
    } else {
        0
    }
}

/// Decrypt the Initial packet at the start of `d` whose long header ends
/// at `hdr_end`. RFC 9000 §17.2.2: Token Length (i), Token, Length (i),
/// Packet Number (8..32), Packet Payload.
fn open_initial(d: &[u8], hdr_end: usize, keys: &Keys) -> Option<initial::Plain> {
    let (tlen, n) = varint(d, hdr_end)?;
    let p = hdr_end
        .checked_add(n)?
        .checked_add(usize::try_from(tlen).ok()?)?;
    let (len, n) = varint(d, p)?;
    let pn_offset = p + n;
    let end = pn_offset.checked_add(usize::try_from(len).ok()?)?;
    initial::decrypt_packet(d.get(..end)?, pn_offset, keys)
}

/// One direction's CRYPTO stream (RFC 9000 §19.6), reassembled from the
/// frames' offsets up to [`MAX_HELLO`] bytes.
#[derive(Default)]
struct Crypto {
    buf: Vec<u8>,
    covered: Vec<bool>,
}

/// The first handshake message of a CRYPTO stream.
enum Message {
    Incomplete,
    TooLong,
    /// (msg_type, body)
    Whole(u8, Vec<u8>),
}

impl Crypto {
    /// Place the CRYPTO frames of a decrypted payload; false when one
    /// reached past the bound (it is dropped).
    fn add(&mut self, payload: &[u8]) -> bool {
        let mut ok = true;
        for (off, data) in initial::crypto_frames(payload) {
            let Some(end) = usize::try_from(off)
                .ok()
                .and_then(|o| o.checked_add(data.len()))
                .filter(|&e| e <= MAX_HELLO)
            else {
                ok = false;
                continue;
            };
            let off = end - data.len();
            if self.buf.len() < end {
                self.buf.resize(end, 0);
                self.covered.resize(end, false);
            }
            if let (Some(dst), Some(cov)) =
                (self.buf.get_mut(off..end), self.covered.get_mut(off..end))
            {
                dst.copy_from_slice(data);
                cov.fill(true);
            }
        }
        ok
    }

    fn heap(&self) -> usize {
        self.buf.capacity() + self.covered.capacity()
    }

    /// RFC 8446 §4: `HandshakeType msg_type; uint24 length;` — the first
    /// message once the contiguous prefix holds it.
    fn first_message(&self) -> Message {
        let prefix = self
            .covered
            .iter()
            .position(|&c| !c)
            .unwrap_or(self.covered.len());
        let stream = self.buf.get(..prefix).unwrap_or(&[]);
        let (Some(&ty), Some(len)) = (stream.first(), crate::tls::parse::be24(stream, 1)) else {
            return Message::Incomplete;
        };
        if 4 + len > MAX_HELLO {
            return Message::TooLong;
        }
        match stream.get(4..4 + len) {
            Some(body) => Message::Whole(ty, body.to_vec()),
            None => Message::Incomplete,
        }
    }
}

/// Per-connection QUIC parser.
#[derive(Default)]
pub struct QuicParser {
    rec: QuicRecord,
    /// Original DCID and version of the client's first Initial.
    keys: Option<Keys>,
    /// The server's Initial keys (same DCID, "server in").
    server_keys: Option<Keys>,
    version: Option<u32>,
    /// The client's CRYPTO stream (its ClientHello).
    hello: Crypto,
    hello_done: bool,
    initials: u32,
    /// The server's CRYPTO stream in its Initials (its ServerHello).
    server_hello: Crypto,
    server_hello_done: bool,
    server_initials: u32,
    first_ts: Option<u64>,
    done: bool,
}

impl QuicParser {
    pub fn new() -> QuicParser {
        QuicParser::default()
    }

    fn weird(&mut self, w: &str) {
        let w = w.to_string();
        if self.rec.weird.len() < MAX_WEIRD && !self.rec.weird.contains(&w) {
            self.rec.weird.push(w);
        }
    }

    fn client(&mut self, d: &[u8]) {
        self.rec.client_datagrams += 1;
        let Some(h) = long(d) else {
            // gQUIC public header (Q043 and older): the CHLO is in clear.
            if self.rec.server_name.is_none() && d.first().is_some_and(|b| b & 0x01 != 0) {
                if let Some(v) = d.get(9..13) {
                    if self.rec.version.is_none() && v.first() == Some(&b'Q') {
                        self.rec.version = Some(String::from_utf8_lossy(v).into_owned());
                    }
                }
                if let Some(sni) = initial::cleartext_chlo_sni(d) {
                    self.rec.server_name = Some(String::from_utf8_lossy(sni).into_owned());
                }
            }
            return;
        };
        if self.version.is_none() {
            self.version = Some(h.version);
            self.rec.version = Some(version_name(h.version));
            self.rec.client_dcid = Some(hex(h.dcid));
            self.rec.client_scid = Some(hex(h.scid));
            // RFC 9001 §5.2: Initial keys come from "the Destination
            // Connection ID field from the first Initial packet sent by
            // the client".
            self.keys = initial::client_keys(h.version, h.dcid);
            self.server_keys = initial::server_keys(h.version, h.dcid);
        }
        if &h.version.to_be_bytes() == b"Q046" {
            if self.rec.server_name.is_none() {
                if let Some(sni) = initial::cleartext_chlo_sni(d) {
                    self.rec.server_name = Some(String::from_utf8_lossy(sni).into_owned());
                }
            }
            return;
        }
        if h.ptype != initial_type(h.version) || self.hello_done || self.initials >= MAX_INITIALS {
            return;
        }
        self.initials += 1;
        let Some(keys) = self.keys.clone() else {
            return;
        };
        let Some(plain) = open_initial(d, h.end, &keys) else {
            self.weird("initial_decryption_failed");
            return;
        };
        self.rec.decrypted = true;
        if self.rec.server_name.is_none() {
            // Q050: the CHLO travels in a STREAM frame of the Initial.
            if let Some(sni) = initial::cleartext_chlo_sni(&plain.payload) {
                self.rec.server_name = Some(String::from_utf8_lossy(sni).into_owned());
                self.hello_done = true;
                return;
            }
        }
        if !self.hello.add(&plain.payload) {
            self.weird("crypto_frame_beyond_bound");
        }
        self.try_hello();
    }

    /// RFC 8446 §4: `msg_type client_hello(1), uint24 length`: parse once
    /// the contiguous prefix holds the whole message.
    fn try_hello(&mut self) {
        let body = match self.hello.first_message() {
            Message::Incomplete => return,
            Message::TooLong => {
                self.weird("client_hello_too_long");
                self.hello_done = true;
                return;
            }
            Message::Whole(1, body) => body,
            Message::Whole(..) => {
                self.weird("crypto_stream_not_client_hello");
                self.hello_done = true;
                return;
            }
        };
        self.hello_done = true;
        match ja::parse_client_hello(&body) {
            Some(ch) => {
                self.rec.client_hello_complete = true;
                self.rec.server_name = ch.sni.clone();
                self.rec.alpn = ch.alpn.clone();
                let (j, r) = ja::ja4(&ch, Ja4Proto::Quic);
                self.rec.ja4 = Some(j);
                self.rec.ja4_r = Some(r);
                for w in &ch.weird {
                    self.weird(&format!("client_hello_{w}"));
                }
            }
            None => self.weird("truncated_client_hello"),
        }
        self.hello = Crypto::default();
    }

    /// The server's Initial (RFC 9001 §4.1.4: the ServerHello is sent in
    /// Initial packets; everything after it in Handshake packets, under
    /// keys the observer does not have): version and cipher suite.
    fn server_initial(&mut self, d: &[u8], hdr_end: usize) {
        if self.server_hello_done || self.server_initials >= MAX_INITIALS {
            return;
        }
        self.server_initials += 1;
        let Some(keys) = self.server_keys.clone() else {
            return;
        };
        let Some(plain) = open_initial(d, hdr_end, &keys) else {
            // Worth noting only when the same keys opened the client's.
            if self.rec.decrypted {
                self.weird("server_initial_decryption_failed");
            }
            return;
        };
        if !self.server_hello.add(&plain.payload) {
            self.weird("crypto_frame_beyond_bound");
        }
        let body = match self.server_hello.first_message() {
            Message::Incomplete => return,
            Message::Whole(2, body) => body,
            Message::Whole(..) | Message::TooLong => {
                self.weird("crypto_stream_not_server_hello");
                self.server_hello_done = true;
                return;
            }
        };
        self.server_hello_done = true;
        self.server_hello = Crypto::default();
        match ja::parse_server_hello(&body) {
            Some(sh) => {
                self.rec.tls_version = Some(ja::version_str(sh.negotiated()));
                self.rec.cipher = Some(ja::cipher_name(sh.cipher));
            }
            None => self.weird("truncated_server_hello"),
        }
    }

    fn server(&mut self, d: &[u8]) {
        self.rec.server_datagrams += 1;
        let Some(h) = long(d) else {
            return;
        };
        if h.version == 0 {
            // RFC 9000 §17.2.1: Version Negotiation: Supported Version
            // (32) ... after the SCID.
            if self.rec.server_versions.is_empty() {
                self.rec.server_versions = d
                    .get(h.end..)
                    .unwrap_or(&[])
                    .chunks_exact(4)
                    .take(32)
                    .map(|c| version_name(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                    .collect();
            }
            return;
        }
        if self.rec.server_scid.is_none() && &h.version.to_be_bytes() != b"Q046" {
            self.rec.server_scid = Some(hex(h.scid));
        }
        // RFC 9000 Table 5: Retry is type 0x03 (v2, RFC 9369 §3.2: 0b00).
        let retry = if h.version == 0x6b33_43cf { 0 } else { 3 };
        if h.ptype == retry {
            self.rec.retry = true;
            // RFC 9001 §5.2: after a Retry the Initial keys come from "the
            // Destination Connection ID chosen by the server" — the Retry's
            // Source Connection ID.
            self.server_keys = initial::server_keys(h.version, h.scid);
            return;
        }
        if h.ptype == initial_type(h.version) {
            self.server_initial(d, h.end);
        }
    }
}

/// Heap bytes of the record's strings (SNI, ALPN, versions, anomalies).
fn record_heap(r: &QuicRecord) -> usize {
    [
        &r.version,
        &r.server_name,
        &r.ja4,
        &r.ja4_r,
        &r.tls_version,
        &r.cipher,
        &r.client_dcid,
        &r.client_scid,
        &r.server_scid,
    ]
    .into_iter()
    .map(str_heap)
    .sum::<usize>()
        + strs_heap(&r.alpn)
        + strs_heap(&r.server_versions)
        + strs_heap(&r.weird)
}

impl Parser for QuicParser {
    fn on_data(&mut self, dir: Direction, data: &[u8], sink: &mut dyn Sink) {
        if self.done {
            return;
        }
        self.first_ts.get_or_insert(sink.ts_ns());
        match dir {
            Direction::ToServer => self.client(data),
            Direction::ToClient => self.server(data),
        }
        // A CRYPTO stream no more Initial will be read into is released.
        if self.hello_done || self.initials >= MAX_INITIALS {
            self.hello = Crypto::default();
        }
        if self.server_hello_done || self.server_initials >= MAX_INITIALS {
            self.server_hello = Crypto::default();
        }
    }

    fn on_end(&mut self, sink: &mut dyn Sink) {
        if self.done {
            return;
        }
        self.done = true;
        if self.rec.client_datagrams + self.rec.server_datagrams == 0 {
            return;
        }
        if self.rec.decrypted && !self.rec.client_hello_complete && self.rec.server_name.is_none() {
            self.weird("client_hello_incomplete");
        }
        let ts = self.first_ts.unwrap_or_else(|| sink.ts_ns());
        sink.record_at("quic", ts, Record::typed(self.rec.clone()));
    }

    /// The client's and the server's CRYPTO streams in reassembly (bytes
    /// and coverage map) and the record's strings.
    fn buffered(&self) -> usize {
        self.hello.heap() + self.server_hello.heap() + record_heap(&self.rec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::session::tests::stream;
    use netsift_proto::MemSink;
    use serde_json::Value;

    fn run(segs: &[(Direction, Vec<u8>)]) -> Value {
        let mut p = QuicParser::new();
        let mut sink = MemSink::default();
        for (d, b) in segs {
            p.on_data(*d, b, &mut sink);
        }
        p.on_end(&mut sink);
        let r = sink.log("quic");
        assert_eq!(r.len(), 1);
        r[0].clone()
    }

    const DRAFT29: &str = include_str!("testdata/draft29.txt");
    const V2: &str = include_str!("testdata/v2.txt");
    const V1_FRAGS: &str = include_str!("testdata/v1_frags.txt");
    const MVFST: &str = include_str!("testdata/mvfst22.txt");
    const Q50: &str = include_str!("testdata/q50.txt");
    const Q046: &str = include_str!("testdata/q046.txt");

    /// (stream, version, SNI, ALPN, JA4). SNI/ALPN/DCID: tshark 4.0.17
    /// (`-e tls.handshake.extensions_server_name -e quic.dcid`); JA4:
    /// computed by an independent script from tshark's dissection of the
    /// decrypted ClientHello (FoxIO definition, "q" prefix).
    const VECTORS: &[(&str, &str, &str, &str, &str, &str)] = &[
        (
            DRAFT29,
            "draft-29",
            "localhost",
            "h3-29",
            "q13d0512h9_d55e91d5c3b2_cd318bf3b157",
            "f36e07bf0b7088ef28c71d488acaaff39ffc",
        ),
        (
            V2,
            "2",
            "test",
            "h3",
            "q13d0310h3_55b375c5d22e_0a3b52e28cea",
            "0726272642fc2eb2",
        ),
        (
            V1_FRAGS,
            "draft-29",
            "update.googleapis.com",
            "h3-29",
            "q13d0310h9_55b375c5d22e_b064f0e3421d",
            "465dca5c15bf2d3b",
        ),
        (
            MVFST,
            "mvfst-draft-22",
            "graph.facebook.com",
            "h3-fb-05",
            "q00d0109h5_0f2cb44170f4_01b7bde4a3dd",
            "56de054b498059dc",
        ),
    ];

    #[test]
    fn client_hellos_match_tshark() {
        for (t, version, sni, alpn, ja4, dcid) in VECTORS {
            let r = run(&stream(t));
            assert_eq!(r["version"], *version);
            assert_eq!(r["server_name"], *sni);
            assert_eq!(r["alpn"][0], *alpn);
            assert_eq!(r["ja4"], *ja4);
            assert_eq!(r["client_dcid"], *dcid);
            assert_eq!(r["decrypted"], true);
            assert_eq!(r["client_hello_complete"], true);
            assert!(r.get("weird").is_none(), "{r}");
        }
        let r = run(&stream(DRAFT29));
        assert_eq!(r["retry"], true);
        assert_eq!(r["client_scid"], "43944eda18beb7e548b38d375bf3c2a3bc");
    }

    /// The ServerHello of the server's Initial, decrypted with the server
    /// Initial keys (after the Retry of quic-29.pcap, with the keys of the
    /// Retry's connection ID): version and cipher as tshark 4.0.17 reads
    /// them (`-Y tls.handshake.type==2 -e tls.handshake.ciphersuite -e
    /// tls.handshake.extensions.supported_version`).
    #[test]
    fn server_initials_give_version_and_cipher() {
        for (t, cipher) in [
            (DRAFT29, Some("TLS_CHACHA20_POLY1305_SHA256")),
            (V2, Some("TLS_AES_128_GCM_SHA256")),
            (MVFST, Some("TLS_AES_128_GCM_SHA256")),
            // draft-34 keys (the v1 salt): tshark reads 0x1301 too.
            (
                include_str!("testdata/draft34.txt"),
                Some("TLS_AES_128_GCM_SHA256"),
            ),
            // Only client datagrams in this capture.
            (V1_FRAGS, None),
        ] {
            let r = run(&stream(t));
            assert_eq!(r["cipher"].as_str(), cipher, "{r}");
            if cipher.is_some() {
                assert_eq!(r["tls_version"], "TLS 1.3");
                assert!(r.get("weird").is_none(), "{r}");
            }
        }
    }

    /// RFC 9001 A.2's ClientHello (241 bytes) in two client Initials: the
    /// first 120 bytes are held (bytes and coverage map) until the rest
    /// comes, then released.
    #[test]
    fn buffered_counts_crypto_reassembly() {
        use crate::quic::tests::{crypto, seal_v1, RFC9001_CRYPTO};
        let hello = &RFC9001_CRYPTO[4..];
        assert_eq!(hello.len(), 4 + 0xed);
        let dcid = [7u8; 8];
        let first = seal_v1(&dcid, 0, &crypto(0, &hello[..120]));
        let second = seal_v1(&dcid, 1, &crypto(120, &hello[120..]));
        let mut p = QuicParser::new();
        let mut sink = MemSink::default();
        p.on_data(Direction::ToServer, &first, &mut sink);
        assert!(!p.hello_done);
        assert!(p.buffered() >= 2 * 120, "{}", p.buffered());
        p.on_data(Direction::ToServer, &second, &mut sink);
        assert!(p.rec.client_hello_complete);
        assert_eq!(p.rec.server_name.as_deref(), Some("example.com"));
        // Only the record's strings remain.
        assert_eq!(p.buffered(), record_heap(&p.rec));
        assert_eq!(p.hello.heap(), 0);
    }

    #[test]
    fn google_quic() {
        let r = run(&stream(Q50));
        assert_eq!(r["version"], "Q050");
        assert_eq!(r["server_name"], "www.googletagmanager.com");
        assert_eq!(r["decrypted"], true);
        assert!(r.get("ja4").is_none());
        let r = run(&stream(Q046));
        assert_eq!(r["version"], "Q046");
        assert_eq!(r["server_name"], "i.ytimg.com");
        assert_eq!(r["decrypted"], false);
    }

    #[test]
    fn truncated_and_reordered() {
        // Every datagram cut at every 7th length: no panic, and a cut
        // Initial does not decrypt (AEAD) rather than yield garbage.
        for t in [DRAFT29, V2, V1_FRAGS, MVFST, Q50, Q046] {
            let segs = stream(t);
            for k in 0..segs.len() {
                for n in (0..segs[k].1.len()).step_by(7) {
                    let mut s = segs.clone();
                    s[k].1.truncate(n);
                    let _ = run(&s);
                }
            }
        }
        // Datagrams in reverse order (the first Initial seen carries the
        // same DCID): the hello still reassembles.
        let mut s = stream(V1_FRAGS);
        s.reverse();
        assert_eq!(run(&s)["ja4"], VECTORS[2].4);
    }

    #[test]
    fn malicious_lengths() {
        // Long header with DCID length 255 running past the datagram, a
        // token length of 2^62-1, and a server VN listing garbage.
        let r = run(&[
            (Direction::ToServer, vec![0xc0, 0, 0, 0, 1, 255, 1, 2]),
            (
                Direction::ToServer,
                vec![
                    0xc0, 0, 0, 0, 1, 1, 9, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                ],
            ),
            (
                Direction::ToClient,
                vec![0x80, 0, 0, 0, 0, 0, 0, 0xde, 0xad, 0xbe],
            ),
        ]);
        assert_eq!(r["client_datagrams"], 2);
        assert_eq!(r["decrypted"], false);
    }

    #[test]
    fn mutated_datagrams_do_not_panic() {
        let mut x: u64 = 0x1234_5678_9abc_def1;
        for t in [DRAFT29, V2, V1_FRAGS, MVFST, Q50, Q046] {
            let segs = stream(t);
            for _ in 0..40 {
                let mut segs = segs.clone();
                for (_, b) in &mut segs {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    if !b.is_empty() {
                        let i = (x as usize) % b.len().min(64);
                        b[i] = (x >> 40) as u8;
                    }
                }
                let _ = run(&segs);
            }
        }
    }
}
