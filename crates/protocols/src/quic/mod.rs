//! QUIC over UDP, identified from the long header (RFC 9000 §17.2, RFC
//! 8999 invariants) of a known version, or a Version Negotiation packet;
//! and Google QUIC, both the IETF-style long header of Q046/Q050/T050/T051
//! and the older public header (Q043 and earlier) with a "Q0xx" version.
//!
//! Short-header packets carry no version and cannot be told from random
//! bytes: they are not claimed (the engine sees the Initial first).
//!
//! A client's Initial is decrypted ([`initial`], RFC 9001 §5) to read the
//! ClientHello's SNI and ALPN; `app` is the SNI's service ([`crate::apps`]).
//! Google's CHLO (Q046 and older, in clear; Q050, in the Initial) gives its
//! SNI tag. When the ClientHello does not fit the first datagram and its
//! start holds no SNI, the probe waits for the client's next datagram (the
//! rest of the hello) and looks for the server_name extension there.

mod initial;
pub mod record;
pub(crate) mod session;

use netsift_proto::{
    printable, Direction, Match, Parser, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

use initial::HelloSummary;

/// Scratch marker: a client Initial was seen, its hello continues.
const PENDING: u64 = 0x5155_4943_0000_0001;

/// QUIC.
pub struct Quic;

impl Protocol for Quic {
    fn name(&self) -> &'static str {
        "QUIC"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[443]
    }
    fn parser(&self) -> Option<Box<dyn Parser>> {
        Some(Box::new(session::QuicParser::new()))
    }
    fn probe(&self, input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Udp {
            return Probe::NoMatch;
        }
        let d = input.data;
        let Some(&b0) = d.first() else {
            return Probe::NoMatch;
        };
        let client = input.dir == Direction::ToServer;
        if client && scratch.0[0] == PENDING {
            return continuation(d);
        }
        let found = if b0 & 0x80 != 0 {
            long_header(d)
        } else {
            gquic_public_header(d)
        };
        let Some(ev) = found else {
            return Probe::NoMatch;
        };
        let who = match input.dir {
            Direction::ToServer => "client sent",
            Direction::ToClient => "server sent",
        };
        let ev = format!("{who} {ev}");
        if !client {
            return Probe::Match(Match::new(ev));
        }
        match client_hello(d) {
            Some(h) if h.sni.is_none() && !h.complete && !h.gquic && input.index == 0 => {
                // The hello goes on in the next datagram.
                scratch.0[0] = PENDING;
                Probe::NeedMore
            }
            Some(h) => Probe::Match(with_hello(ev, &h, "")),
            None => Probe::Match(Match::new(ev)),
        }
    }
}

/// The ClientHello (or CHLO) of a client's first datagram.
fn client_hello(d: &[u8]) -> Option<HelloSummary> {
    let chlo = |sni: &[u8]| HelloSummary {
        sni: Some(sni.to_vec()),
        gquic: true,
        complete: true,
        ..HelloSummary::default()
    };
    if let Some(plain) = initial::decrypt_client_initial(d) {
        // Q050 carries its CHLO in a STREAM frame of the Initial.
        if let Some(sni) = initial::cleartext_chlo_sni(&plain.payload) {
            return Some(chlo(sni));
        }
        let frames = initial::crypto_frames(&plain.payload);
        return Some(initial::summarize(&frames));
    }
    initial::cleartext_chlo_sni(d).map(chlo)
}

/// The client's next datagram after an Initial whose hello did not fit:
/// the server_name extension may be in this part of the hello.
fn continuation(d: &[u8]) -> Probe {
    let ev = long_header(d).unwrap_or_else(|| "a QUIC datagram".into());
    let mut h = HelloSummary::default();
    if let Some(plain) = initial::decrypt_client_initial(d) {
        let frames = initial::crypto_frames(&plain.payload);
        h.sni = frames
            .iter()
            .find_map(|&(_, f)| initial::scan_sni(f))
            .map(<[u8]>::to_vec);
    }
    Probe::Match(with_hello(
        format!("client sent {ev} after an Initial"),
        &h,
        "ClientHello over several datagrams",
    ))
}

/// Evidence and app from what the hello told.
fn with_hello(mut ev: String, h: &HelloSummary, note: &str) -> Match {
    if let Some(sni) = &h.sni {
        ev.push_str(", SNI ");
        ev.push_str(&printable(sni, 255));
    } else {
        ev.push_str(if h.gquic {
            ", CHLO without SNI"
        } else {
            ", no SNI"
        });
    }
    if let Some(list) = &h.alpn {
        ev.push_str(", ALPN ");
        let mut p = 0;
        while let Some(&l) = list.get(p) {
            let Some(proto) = list.get(p + 1..p + 1 + l as usize) else {
                break;
            };
            if p > 0 {
                ev.push(',');
            }
            ev.push_str(&printable(proto, 32));
            p += 1 + l as usize;
        }
    }
    if !h.complete && !h.gquic && note.is_empty() {
        ev.push_str(", partial ClientHello");
    }
    if !note.is_empty() {
        ev.push_str(", ");
        ev.push_str(note);
    }
    let app = h.sni.as_deref().and_then(crate::apps::lookup);
    if let Some(svc) = app {
        ev.push_str(", service ");
        ev.push_str(svc);
    }
    Match {
        app: app.map(str::to_owned),
        evidence: ev,
        provisional: false,
    }
}

/// A version, named; `None` if unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// RFC 9000 v1, drafts, mvfst: v1 long packet types.
    V1,
    /// RFC 9369 v2: its own long packet type numbering.
    V2,
    /// Google Q046: nibble-encoded CID lengths (no token/length fields).
    GoogleQ046,
    /// Google Q050/T050/T051: IETF invariant header, v1 packet types.
    GoogleIetf,
    /// A reserved "greasing" version (RFC 9000 §15): only the version-
    /// independent invariants (RFC 8999) can be read.
    Grease,
}

fn version_family(v: u32) -> Option<(Family, String)> {
    let bytes = v.to_be_bytes();
    Some(match v {
        // RFC 9000 §15: "0x00000001" is QUIC version 1.
        0x0000_0001 => (Family::V1, "QUIC v1".into()),
        // RFC 9369 §3.1: "The QUIC version number for this version is
        // 0x6b3343cf."
        0x6b33_43cf => (Family::V2, "QUIC v2".into()),
        // draft-ietf-quic-v2-00/01 used 0x709a50c4 with v2 semantics.
        0x709a_50c4 => (Family::V2, "QUIC v2 draft".into()),
        // RFC 9000 §15: "Versions that follow the pattern 0xff0000xx are
        // reserved for IETF drafts ... where xx is the draft number".
        0xff00_0000..=0xff00_00ff => (Family::V1, format!("QUIC draft-{}", v & 0xff)),
        // Facebook mvfst: 0xfaceb001 (draft-22), 0xfaceb002, 0xfaceb00e
        // (experimental), 0xfaceb010/11 and so on.
        0xface_b001..=0xface_b01f => (Family::V1, format!("QUIC mvfst 0x{v:08x}")),
        // RFC 9000 §15: "Versions that follow the pattern 0x?a?a?a?a are
        // reserved for use in forcing version negotiation to be exercised";
        // clients send them to keep servers' negotiation honest.
        _ if v & 0x0f0f_0f0f == 0x0a0a_0a0a => {
            (Family::Grease, format!("QUIC reserved version 0x{v:08x}"))
        }
        _ => {
            // Google: "Q046", "Q050", "T050", "T051" (ASCII).
            let name = || String::from_utf8_lossy(&bytes).into_owned();
            match bytes {
                [b'Q', b'0', b'4', b'6'] => (Family::GoogleQ046, format!("Google QUIC {}", name())),
                [b'Q' | b'T', b'0', b'5', d] if d.is_ascii_digit() => {
                    (Family::GoogleIetf, format!("Google QUIC {}", name()))
                }
                _ => return None,
            }
        }
    })
}

/// QUIC variable-length integer (RFC 9000 §16): value and length.
fn varint(b: &[u8], at: usize) -> Option<(u64, usize)> {
    let first = *b.get(at)?;
    let len = 1usize << (first >> 6);
    let mut v = (first & 0x3f) as u64;
    for i in 1..len {
        v = (v << 8) | *b.get(at + i)? as u64;
    }
    Some((v, len))
}

/// RFC 9000 §17.2 long header:
/// Header Form (1) = 1, Fixed Bit (1) = 1, Long Packet Type (2),
/// Type-Specific Bits (4), Version (32), DCID Len (8), DCID (0..160),
/// SCID Len (8), SCID (0..160).
fn long_header(d: &[u8]) -> Option<String> {
    let b0 = *d.first()?;
    let version = u32::from_be_bytes([*d.get(1)?, *d.get(2)?, *d.get(3)?, *d.get(4)?]);
    if version == 0 {
        return version_negotiation(d);
    }
    // "Fixed Bit: The next bit (0x40) of byte 0 is set to 1, unless the
    // packet is a Version Negotiation packet."
    if b0 & 0x40 == 0 {
        return None;
    }
    let (family, vname) = version_family(version)?;
    if family == Family::Grease {
        // Only the invariants hold (RFC 8999 §5.1: DCID and SCID lengths,
        // each followed by that many bytes). A greased packet is a client's
        // first flight, so RFC 9000 §14.1 applies: "A client MUST expand the
        // payload of all UDP datagrams carrying Initial packets to at least
        // the smallest allowed maximum datagram size of 1200 bytes". v1
        // clients use connection IDs of at most 20 bytes (§17.2).
        let dcil = *d.get(5)? as usize;
        let scil = *d.get(6 + dcil)? as usize;
        if dcil > 20 || scil > 20 || d.len() < 1200 {
            return None;
        }
        return Some(format!(
            "{vname} long header (version negotiation probe), DCID {dcil} bytes"
        ));
    }
    if family == Family::GoogleQ046 {
        // Q046: one byte of CID lengths, DCIL in the high nibble, SCIL in
        // the low one, each encoded as len - 3 (0 meaning absent); the
        // client's first packet carries an 8-byte DCID and no SCID.
        let cil = *d.get(5)?;
        let dcil = match cil >> 4 {
            0 => 0,
            n => n as usize + 3,
        };
        let scil = match cil & 0x0f {
            0 => 0,
            n => n as usize + 3,
        };
        // packet number length from the low two bits, then payload.
        let pn = (b0 & 0x03) as usize + 1;
        if d.len() < 6 + dcil + scil + pn + 12 {
            return None;
        }
        let ptype = (b0 >> 4) & 0x03;
        return Some(format!(
            "{vname} long header, {} packet, DCID {dcil} bytes",
            ["Initial", "0-RTT", "Handshake", "Retry"][ptype as usize]
        ));
    }
    // RFC 9000 §17.2: "In QUIC version 1, this value MUST NOT exceed 20
    // bytes. Endpoints that receive a version 1 long header with a value
    // larger than 20 MUST drop the packet."
    let dcil = *d.get(5)? as usize;
    if dcil > 20 {
        return None;
    }
    let scil_at = 6 + dcil;
    let scil = *d.get(scil_at)? as usize;
    if scil > 20 {
        return None;
    }
    let mut p = scil_at + 1 + scil;
    let raw_type = (b0 >> 4) & 0x03;
    // RFC 9000 Table 5: 0x00 Initial, 0x01 0-RTT, 0x02 Handshake, 0x03
    // Retry. RFC 9369 §3.2: v2 uses 0b01 Initial, 0b10 0-RTT, 0b11
    // Handshake, 0b00 Retry.
    let ptype = match family {
        Family::V2 => [3u8, 0, 1, 2][raw_type as usize],
        _ => raw_type,
    };
    let name = ["Initial", "0-RTT", "Handshake", "Retry"][ptype as usize];
    if ptype == 3 {
        // Retry (RFC 9000 §17.2.5): Retry Token, then a 128-bit integrity
        // tag; the token must not be empty.
        if d.len() < p + 1 + 16 {
            return None;
        }
        return Some(format!("{vname} Retry packet, DCID {dcil} bytes"));
    }
    if ptype == 0 {
        // RFC 9000 §17.2.2 Initial: Token Length (i), Token (..).
        let (tlen, n) = varint(d, p)?;
        p += n;
        p = p.checked_add(usize::try_from(tlen).ok()?)?;
    }
    // Length (i): packet number + payload; a packet number (1..4 bytes) and
    // an AEAD tag (16 bytes, RFC 9001 §5.3) at least, and no more than the
    // datagram holds.
    let (len, n) = varint(d, p)?;
    p += n;
    let len = usize::try_from(len).ok()?;
    if len < 1 + 16 || p + len > d.len() {
        return None;
    }
    Some(format!(
        "{vname} {name} packet, DCID {dcil} bytes, SCID {scil} bytes"
    ))
}

/// RFC 9000 §17.2.1 Version Negotiation: Header Form 1, Unused (7),
/// Version = 0, DCID Len, DCID, SCID Len, SCID, Supported Version (32)...
/// (RFC 8999 §6: CIDs of up to 255 bytes).
fn version_negotiation(d: &[u8]) -> Option<String> {
    let dcil = *d.get(5)? as usize;
    let scil = *d.get(6 + dcil)? as usize;
    let list = d.get(7 + dcil + scil..)?;
    if list.is_empty() || list.len() % 4 != 0 || list.len() > 4 * 64 {
        return None;
    }
    // At least one version the probe knows (clients list real versions
    // beside greased 0x?a?a?a?a ones).
    let known = list
        .chunks_exact(4)
        .filter_map(|c| version_family(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
        .find(|(f, _)| *f != Family::Grease)?;
    Some(format!(
        "Version Negotiation listing {} versions (e.g. {})",
        list.len() / 4,
        known.1
    ))
}

/// Google QUIC public header (Q043 and earlier; "QUIC Wire Layout",
/// Chromium): Public Flags (8): 0x01 PUBLIC_FLAG_VERSION, 0x02 RESET,
/// 0x04 diversification nonce, 0x08 8-byte connection ID (older versions
/// used 0x0c), 0x30 packet number length, 0x40 multipath, 0x80 must be 0;
/// then the 64-bit CID and the 32-bit version "Q0xx".
fn gquic_public_header(d: &[u8]) -> Option<String> {
    let flags = *d.first()?;
    // Version present, not a reset, CID present, reserved bit clear.
    if flags & 0x01 == 0 || flags & 0x02 != 0 || flags & 0x08 == 0 || flags & 0x80 != 0 {
        return None;
    }
    let v = d.get(9..13)?;
    if v[0] != b'Q' || v[1] != b'0' || !v[2].is_ascii_digit() || !v[3].is_ascii_digit() {
        return None;
    }
    // Client packets with the version flag are the first ones (CHLO);
    // packet number, then the 12-byte message authentication hash.
    let pn = match (flags >> 4) & 0x03 {
        0 => 1,
        1 => 2,
        2 => 4,
        _ => 6,
    };
    if d.len() < 13 + pn + 12 {
        return None;
    }
    let chlo = d.get(..96).unwrap_or(d).windows(4).any(|w| w == b"CHLO");
    Some(format!(
        "Google QUIC {} public header{}",
        String::from_utf8_lossy(v),
        if chlo { ", CHLO" } else { "" }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::first_packet::{identify_first_payload, FirstVerdict};
    use crate::testkit::{check_prefixes, evidence, probe1 as run, random_matches};
    use netsift_proto::printable;

    const UDP: Transport = Transport::Udp;
    const C: Direction = Direction::ToServer;
    const S: Direction = Direction::ToClient;

    // Sources: testdata/README.md.
    const V1: &[u8] = include_bytes!("testdata/v1_initial.bin");
    const V2: &[u8] = include_bytes!("testdata/v2_initial.bin");
    const D29: &[u8] = include_bytes!("testdata/draft29_initial.bin");
    const MVFST: &[u8] = include_bytes!("testdata/mvfst22_initial.bin");
    const Q046: &[u8] = include_bytes!("testdata/q046_chlo.bin");
    const Q050: &[u8] = include_bytes!("testdata/q050_initial.bin");
    const Q024: &[u8] = include_bytes!("testdata/q024_chlo.bin");
    const Q035: &[u8] = include_bytes!("testdata/q035_chlo.bin");
    const VN: &[u8] = include_bytes!("testdata/version_negotiation.bin");
    const SHORT: &[u8] = include_bytes!("testdata/short_header.bin");
    const RFC9001: &[u8] = include_bytes!("testdata/rfc9001_a2_client_initial.bin");
    pub(super) const RFC9001_CRYPTO: &[u8] = include_bytes!("testdata/rfc9001_a2_crypto_frame.bin");
    const RFC9369: &[u8] = include_bytes!("testdata/rfc9369_a2_client_initial.bin");
    const RDPUDP: &[u8] = include_bytes!("../rdp/testdata/rdpudp_syn.bin");
    const SSDP: &[u8] = include_bytes!("../http/testdata/ssdp_msearch.bin");
    const SIP: &[u8] = include_bytes!("../http/testdata/sip_register.bin");

    #[test]
    fn ietf_versions() {
        let e = evidence(run(&Quic, UDP, C, V1));
        assert_eq!(
            e,
            "client sent QUIC v1 Initial packet, DCID 8 bytes, SCID 0 bytes, \
             SNI app-analytics-v2.snapchat.com, ALPN h3, service Snapchat"
        );
        let e = evidence(run(&Quic, UDP, C, V2));
        assert!(e.starts_with("client sent QUIC v2 Initial packet"), "{e}");
        assert!(e.ends_with(", SNI test, ALPN h3"), "{e}");
        let e = evidence(run(&Quic, UDP, C, D29));
        assert!(
            e.starts_with("client sent QUIC draft-29 Initial packet, DCID 18 bytes"),
            "{e}"
        );
        assert!(e.ends_with(", SNI localhost, ALPN h3-29"), "{e}");
        let e = evidence(run(&Quic, UDP, C, MVFST));
        assert!(
            e.starts_with("client sent QUIC mvfst 0xfaceb001 Initial"),
            "{e}"
        );
        assert!(
            e.ends_with("SNI graph.facebook.com, ALPN h3-fb-05,h1q-fb, service Facebook"),
            "{e}"
        );
        let e = evidence(run(&Quic, UDP, S, VN));
        assert!(e.starts_with("server sent Version Negotiation"), "{e}");
    }

    /// RFC 9000 §15 greasing: a client's first datagram with a reserved
    /// 0x?a?a?a?a version (sent to exercise version negotiation) is QUIC by
    /// its invariant header and 1200-byte padding; short ones are not.
    #[test]
    fn greased_versions() {
        let mut g = V1.to_vec();
        assert!(g.len() >= 1200);
        g[1..5].copy_from_slice(&0x1a2a_3a4au32.to_be_bytes());
        let e = evidence(run(&Quic, UDP, C, &g));
        assert_eq!(
            e,
            "client sent QUIC reserved version 0x1a2a3a4a long header \
             (version negotiation probe), DCID 8 bytes"
        );
        g[1..5].copy_from_slice(&0xfafafafau32.to_be_bytes());
        assert!(matches!(run(&Quic, UDP, C, &g), Probe::Match(_)));
        // Not a reserved pattern: unknown version, no match.
        g[1..5].copy_from_slice(&0x1a2a_3a4bu32.to_be_bytes());
        assert_eq!(run(&Quic, UDP, C, &g), Probe::NoMatch);
        // Reserved version but not padded to 1200 bytes.
        g[1..5].copy_from_slice(&0x1a2a_3a4au32.to_be_bytes());
        assert_eq!(run(&Quic, UDP, C, &g[..600]), Probe::NoMatch);
    }

    #[test]
    fn apps_from_sni() {
        let app = |d: &[u8]| match run(&Quic, UDP, C, d) {
            Probe::Match(m) => m.app,
            p => panic!("{p:?}"),
        };
        assert_eq!(app(V1).as_deref(), Some("Snapchat"));
        assert_eq!(app(MVFST).as_deref(), Some("Facebook"));
        assert_eq!(app(Q046).as_deref(), Some("YouTube"));
        assert_eq!(app(Q050).as_deref(), Some("GoogleServices"));
        assert_eq!(app(Q024).as_deref(), Some("GMail"));
        assert_eq!(app(V2), None);
        // RFC 9001 A.2 / RFC 9369 A.2: example.com is nobody's service.
        for d in [RFC9001, RFC9369] {
            match run(&Quic, UDP, C, d) {
                Probe::Match(m) => {
                    assert_eq!(m.app, None);
                    assert!(
                        m.evidence.ends_with(", SNI example.com, ALPN alpn"),
                        "{}",
                        m.evidence
                    );
                }
                p => panic!("{p:?}"),
            }
        }
        // The server's Initial names nothing.
        match run(&Quic, UDP, S, V1) {
            Probe::Match(m) => assert_eq!(m.app, None),
            p => panic!("{p:?}"),
        }
    }

    #[test]
    fn google_versions() {
        let e = evidence(run(&Quic, UDP, C, Q046));
        assert!(
            e.starts_with("client sent Google QUIC Q046 long header, Initial"),
            "{e}"
        );
        assert!(e.ends_with("SNI i.ytimg.com, service YouTube"), "{e}");
        let e = evidence(run(&Quic, UDP, C, Q050));
        assert!(
            e.starts_with("client sent Google QUIC Q050 Initial packet"),
            "{e}"
        );
        assert!(e.contains("SNI www.googletagmanager.com"), "{e}");
        let e = evidence(run(&Quic, UDP, C, Q024));
        assert_eq!(
            e,
            "client sent Google QUIC Q024 public header, CHLO, SNI mail.google.com, service GMail"
        );
        let e = evidence(run(&Quic, UDP, C, Q035));
        assert!(
            e.starts_with("client sent Google QUIC Q035 public header, CHLO, SNI "),
            "{e}"
        );
    }

    /// Seal `payload` as a v1 client Initial (test-only inverse of
    /// `initial::decrypt_client_initial`), padded to 1200 bytes.
    pub(super) fn seal_v1(dcid: &[u8], pn: u32, payload: &[u8]) -> Vec<u8> {
        use aes::cipher::{generic_array::GenericArray, BlockEncrypt};
        use aes_gcm::aead::AeadInPlace;
        use aes_gcm::{Aes128Gcm, KeyInit};
        let k = initial::client_keys(1, dcid).unwrap();
        let mut body = payload.to_vec();
        let mut h = vec![0xc3, 0, 0, 0, 1, dcid.len() as u8];
        h.extend_from_slice(dcid);
        h.extend_from_slice(&[0, 0]); // SCID, token
        let len = (1200 - h.len() - 2).max(4 + body.len() + 16);
        body.resize(len - 4 - 16, 0);
        h.extend_from_slice(&[0x40 | (len >> 8) as u8, len as u8]);
        let pn_offset = h.len();
        h.extend_from_slice(&pn.to_be_bytes());
        let mut nonce = k.iv;
        for (i, b) in (pn as u64).to_be_bytes().iter().enumerate() {
            nonce[4 + i] ^= b;
        }
        let tag = Aes128Gcm::new_from_slice(&k.key)
            .unwrap()
            .encrypt_in_place_detached(GenericArray::from_slice(&nonce), &h, &mut body)
            .unwrap();
        let mut pkt = h;
        pkt.extend_from_slice(&body);
        pkt.extend_from_slice(&tag);
        let mut mask = GenericArray::clone_from_slice(&pkt[pn_offset + 4..pn_offset + 20]);
        aes::Aes128::new(GenericArray::from_slice(&k.hp)).encrypt_block(&mut mask);
        pkt[0] ^= mask[0] & 0x0f;
        for i in 0..4 {
            pkt[pn_offset + i] ^= mask[1 + i];
        }
        pkt
    }

    pub(super) fn crypto(off: usize, d: &[u8]) -> Vec<u8> {
        let mut f = vec![0x06, 0x40 | (off >> 8) as u8, off as u8];
        f.extend_from_slice(&[0x40 | (d.len() >> 8) as u8, d.len() as u8]);
        f.extend_from_slice(d);
        f
    }

    #[test]
    fn seal_matches_the_rfc_vector() {
        let dcid = &RFC9001[6..14];
        let mut payload = RFC9001_CRYPTO.to_vec();
        payload.resize(1162, 0);
        let mut sealed = seal_v1(dcid, 2, &payload);
        // The RFC's packet uses a 4-byte packet number 2 and no padding
        // beyond 1200 bytes; only the first byte's reserved bits may differ.
        sealed[0] = RFC9001[0];
        assert_eq!(sealed.len(), RFC9001.len());
        assert!(initial::decrypt_client_initial(&sealed).is_some());
    }

    #[test]
    fn hello_over_two_datagrams() {
        let hello = &RFC9001_CRYPTO[4..];
        let dcid = [7u8; 8];
        // First datagram: the first 40 bytes (no SNI yet).
        let first = seal_v1(&dcid, 0, &crypto(0, &hello[..40]));
        let second = seal_v1(&dcid, 1, &[vec![0x01], crypto(40, &hello[40..])].concat());
        let input = |data, index| ProbeInput {
            transport: UDP,
            dir: C,
            data,
            peer: &[],
            index,
            server_port: 443,
            client_port: 50000,
            server_addr: None,
            client_addr: None,
        };
        let mut scratch = ProbeScratch::default();
        assert_eq!(Quic.probe(&input(&first, 0), &mut scratch), Probe::NeedMore);
        match Quic.probe(&input(&second, 1), &mut scratch) {
            Probe::Match(m) => {
                assert!(m.evidence.contains("SNI example.com"), "{}", m.evidence);
                assert!(m.evidence.contains("several datagrams"), "{}", m.evidence);
            }
            p => panic!("{p:?}"),
        }
        // The next datagram is not an Initial: still QUIC, no SNI.
        let mut scratch = ProbeScratch::default();
        assert_eq!(Quic.probe(&input(&first, 0), &mut scratch), Probe::NeedMore);
        match Quic.probe(&input(SHORT, 1), &mut scratch) {
            Probe::Match(m) => assert!(m.evidence.contains("no SNI"), "{}", m.evidence),
            p => panic!("{p:?}"),
        }
        // A first datagram seen at index 1 (the engine missed one) does
        // not wait.
        let p = Quic.probe(&input(&first, 1), &mut ProbeScratch::default());
        assert!(matches!(p, Probe::Match(_)), "{p:?}");
        // With the SNI in the first part, no waiting either.
        let first = seal_v1(&dcid, 0, &crypto(0, &hello[..100]));
        match run(&Quic, UDP, C, &first) {
            Probe::Match(m) => {
                assert!(m.evidence.contains("SNI example.com"), "{}", m.evidence);
                assert!(m.evidence.contains("partial ClientHello"), "{}", m.evidence);
            }
            p => panic!("{p:?}"),
        }
    }

    #[test]
    fn short_headers_and_others_are_not_claimed() {
        assert_eq!(run(&Quic, UDP, C, SHORT), Probe::NoMatch);
        for d in [RDPUDP, SSDP, SIP] {
            assert_eq!(
                run(&Quic, UDP, C, d),
                Probe::NoMatch,
                "{}",
                printable(d, 20)
            );
        }
        // TCP is refused.
        assert_eq!(run(&Quic, Transport::Tcp, C, V1), Probe::NoMatch);
    }

    #[test]
    fn prefixes_do_not_panic() {
        for d in [
            V1, V2, D29, MVFST, Q046, Q050, Q024, Q035, VN, SHORT, RFC9001, RFC9369,
        ] {
            check_prefixes(&Quic, UDP, C, d, b"");
        }
    }

    #[test]
    fn first_packet_api_on_odd_port() {
        match identify_first_payload(UDP, C, 53, V1) {
            FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "QUIC"),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn random_bytes_are_not_quic() {
        let hits = random_matches(&Quic, UDP, 100_000, 0x9000, None);
        assert!(hits < 100, "{hits} random matches");
    }
}
