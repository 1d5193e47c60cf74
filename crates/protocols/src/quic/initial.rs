//! Decrypting a client Initial packet (RFC 9001 §5) and reading the
//! ClientHello's SNI and ALPN out of its CRYPTO frames.
//!
//! * Keys (RFC 9001 §5.2): `initial_secret = HKDF-Extract(initial_salt,
//!   client_dst_connection_id)`, `client_initial_secret =
//!   HKDF-Expand-Label(initial_secret, "client in", "", 32)`, then "quic
//!   key" (16), "quic iv" (12), "quic hp" (16); QUIC v2 (RFC 9369 §3.3.1,
//!   §3.3.2) has its own salt and the labels "quicv2 key", "quicv2 iv",
//!   "quicv2 hp".
//! * Header protection (RFC 9001 §5.4): the 16-byte sample starts 4 bytes
//!   after the packet number field; `mask = AES-ECB(hp, sample)`; the low 4
//!   bits of the first byte and the packet number are XORed with the mask.
//! * Payload (RFC 9001 §5.3): AES-128-GCM, nonce = iv XOR packet number,
//!   associated data = the unprotected header.
//! * CRYPTO frames (RFC 9000 §19.6) are put back in offset order; the
//!   ClientHello (a TLS handshake message, no record layer) is parsed
//!   leniently with the TLS probe's parser. Google Q050 carries a gQUIC
//!   CHLO instead, whose SNI tag is read.
//!
//! Bounded: at most [`MAX_CRYPTO`] bytes of handshake stream and
//! [`MAX_FRAMES`] frames per packet; every length is checked.

use aes::cipher::{generic_array::GenericArray, BlockEncrypt};
use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes128Gcm, KeyInit};
use hkdf::Hkdf;
use sha2::Sha256;

use super::varint;
use crate::tls::parse::{be24, hello_body, HelloKind};

/// Handshake stream bytes reassembled (a ClientHello with post-quantum key
/// shares is about 1.8 KB; 3 datagrams' worth is plenty).
pub(crate) const MAX_CRYPTO: usize = 4096;

/// Frames looked at in one packet (Chrome splits its ClientHello into a
/// dozen CRYPTO frames with PING and PADDING between them).
const MAX_FRAMES: usize = 128;

/// Key material for one direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Keys {
    pub key: [u8; 16],
    pub iv: [u8; 12],
    pub hp: [u8; 16],
}

/// Salt and label prefix of a version's Initial keys.
fn version_params(version: u32) -> Option<(&'static [u8; 20], &'static str)> {
    const V1: [u8; 20] = hex20("38762cf7f55934b34d179ae6a4c80cadccbb7f0a");
    const V2: [u8; 20] = hex20("0dede3def700a6db819381be6e269dcbf9bd2ed9");
    const D29: [u8; 20] = hex20("afbfec289993d24c9e9786f19c6111e04390a899");
    const D23: [u8; 20] = hex20("c3eef712c72ebb5a11a7d2432bb46365bef9f502");
    const D22: [u8; 20] = hex20("7fbcdb0e7c66bbe9193a96cd21519ebd7a02644a");
    // Google Q050 over the IETF header (Wireshark packet-quic.c).
    const Q050: [u8; 20] = hex20("504574efd066fe2f9d945cfcdbd3a7f0d3b56b45");
    Some(match version {
        // draft-ietf-quic-tls-33 §5.2 moved to the salt RFC 9001 kept.
        0x0000_0001 | 0xff00_0021 | 0xff00_0022 => (&V1, "quic "),
        0x6b33_43cf | 0x709a_50c4 => (&V2, "quicv2 "),
        // RFC 9000 drafts: 29..32 share a salt, 23..28 the previous one.
        0xff00_001d..=0xff00_0020 => (&D29, "quic "),
        0xff00_0017..=0xff00_001c => (&D23, "quic "),
        0xff00_0016 => (&D22, "quic "),
        // mvfst: 0xfaceb001 is draft-22, 0xfaceb002 draft-27, 0xfaceb00e
        // experimental on draft-29 keys.
        0xface_b001 => (&D22, "quic "),
        0xface_b002 => (&D23, "quic "),
        0xface_b00e => (&D29, "quic "),
        0x5130_3530 => (&Q050, "quic "),
        _ => return None,
    })
}

/// 40 hex digits (spaces ignored) to 20 bytes, at compile time.
const fn hex20(s: &str) -> [u8; 20] {
    let b = s.as_bytes();
    let mut out = [0u8; 20];
    let mut i = 0;
    let mut n = 0;
    while i < b.len() {
        let c = b[i];
        i += 1;
        let v = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b' ' => continue,
            _ => panic!("bad hex"),
        };
        if n / 2 < 20 {
            out[n / 2] |= if n % 2 == 0 { v << 4 } else { v };
        }
        n += 1;
    }
    out
}

/// RFC 8446 §7.1 HKDF-Expand-Label with an empty context.
fn expand_label(prk: &[u8], label: &[&str], out: &mut [u8]) -> Option<()> {
    let hk = Hkdf::<Sha256>::from_prk(prk).ok()?;
    let mut info = [0u8; 64];
    let len = u16::try_from(out.len()).ok()?.to_be_bytes();
    info[0] = len[0];
    info[1] = len[1];
    let mut p = 3;
    for part in std::iter::once("tls13 ").chain(label.iter().copied()) {
        let dst = info.get_mut(p..p + part.len())?;
        dst.copy_from_slice(part.as_bytes());
        p += part.len();
    }
    info[2] = u8::try_from(p - 3).ok()?;
    // Empty context: one zero length byte.
    *info.get_mut(p)? = 0;
    hk.expand(info.get(..p + 1)?, out).ok()
}

/// The client's Initial keys for `version` and the client's first DCID.
pub(crate) fn client_keys(version: u32, dcid: &[u8]) -> Option<Keys> {
    keys(version, dcid, "client in")
}

/// The server's Initial keys: RFC 9001 §5.2 "server_initial_secret =
/// HKDF-Expand-Label(initial_secret, "server in", "", Hash.length)", from
/// the same client DCID.
pub(crate) fn server_keys(version: u32, dcid: &[u8]) -> Option<Keys> {
    keys(version, dcid, "server in")
}

fn keys(version: u32, dcid: &[u8], label: &str) -> Option<Keys> {
    let (salt, prefix) = version_params(version)?;
    let (initial, _) = Hkdf::<Sha256>::extract(Some(salt), dcid);
    let mut client = [0u8; 32];
    expand_label(&initial, &[label], &mut client)?;
    let mut k = Keys {
        key: [0; 16],
        iv: [0; 12],
        hp: [0; 16],
    };
    expand_label(&client, &[prefix, "key"], &mut k.key)?;
    expand_label(&client, &[prefix, "iv"], &mut k.iv)?;
    expand_label(&client, &[prefix, "hp"], &mut k.hp)?;
    Some(k)
}

/// A decrypted Initial packet.
#[derive(Debug)]
pub(crate) struct Plain {
    /// Read by tests only.
    #[cfg_attr(not(test), allow(dead_code))]
    pub packet_number: u64,
    pub payload: Vec<u8>,
}

/// Remove header protection and decrypt the first (Initial) packet of a
/// datagram sent by the client. `None` if it is not a client Initial of a
/// version with known keys, or if authentication fails.
pub(crate) fn decrypt_client_initial(d: &[u8]) -> Option<Plain> {
    let b0 = *d.first()?;
    if b0 & 0xc0 != 0xc0 {
        return None;
    }
    let version = u32::from_be_bytes([*d.get(1)?, *d.get(2)?, *d.get(3)?, *d.get(4)?]);
    let (_, prefix) = version_params(version)?;
    // Initial: type 0 (v1), 1 (v2, RFC 9369 §3.2).
    let ptype = (b0 >> 4) & 0x03;
    let want = if prefix == "quicv2 " { 1 } else { 0 };
    if ptype != want {
        return None;
    }
    let dcil = *d.get(5)? as usize;
    if dcil > 20 {
        return None;
    }
    let dcid = d.get(6..6 + dcil)?;
    let scil = *d.get(6 + dcil)? as usize;
    if scil > 20 {
        return None;
    }
    let mut p = 7 + dcil + scil;
    let (tlen, n) = varint(d, p)?;
    p = p.checked_add(n)?.checked_add(usize::try_from(tlen).ok()?)?;
    let (len, n) = varint(d, p)?;
    let pn_offset = p + n;
    let len = usize::try_from(len).ok()?;
    let end = pn_offset.checked_add(len)?;
    if end > d.len() {
        return None;
    }
    let keys = client_keys(version, dcid)?;
    decrypt_packet(d.get(..end)?, pn_offset, &keys)
}

/// RFC 9001 §5.4.1-§5.4.2 and §5.3 on one long-header packet.
pub(crate) fn decrypt_packet(pkt: &[u8], pn_offset: usize, keys: &Keys) -> Option<Plain> {
    let sample = pkt.get(pn_offset + 4..pn_offset + 20)?;
    let hp = aes::Aes128::new(GenericArray::from_slice(&keys.hp));
    let mut mask = GenericArray::clone_from_slice(sample);
    hp.encrypt_block(&mut mask);
    let b0 = *pkt.first()? ^ (mask[0] & 0x0f);
    let pn_len = (b0 & 0x03) as usize + 1;
    let mut header = pkt.get(..pn_offset + pn_len)?.to_vec();
    *header.first_mut()? = b0;
    let mut pn: u64 = 0;
    for i in 0..pn_len {
        let b = header.get_mut(pn_offset + i)?;
        *b ^= mask[1 + i];
        pn = (pn << 8) | *b as u64;
    }
    let body = pkt.get(pn_offset + pn_len..)?;
    let ct_len = body.len().checked_sub(16)?;
    let (ct, tag) = body.split_at(ct_len);
    let mut nonce = keys.iv;
    for (i, b) in pn.to_be_bytes().iter().enumerate() {
        nonce[4 + i] ^= b;
    }
    let aead = Aes128Gcm::new_from_slice(&keys.key).ok()?;
    let mut payload = ct.to_vec();
    aead.decrypt_in_place_detached(
        GenericArray::from_slice(&nonce),
        &header,
        &mut payload,
        GenericArray::from_slice(tag),
    )
    .ok()?;
    Some(Plain {
        packet_number: pn,
        payload,
    })
}

/// CRYPTO frames of a decrypted Initial payload: (offset, data), in
/// packet order. Stops at the first frame type an Initial cannot carry.
pub(crate) fn crypto_frames(payload: &[u8]) -> Vec<(u64, &[u8])> {
    let mut out = Vec::new();
    let mut p = 0;
    let mut frames = 0;
    while p < payload.len() && frames < MAX_FRAMES {
        frames += 1;
        let Some((ty, n)) = varint(payload, p) else {
            break;
        };
        p += n;
        match ty {
            // PADDING: runs of zeros, skip them at once.
            0x00 => {
                frames -= 1;
                while payload.get(p) == Some(&0) {
                    p += 1;
                }
            }
            // PING.
            0x01 => {}
            // ACK / ACK with ECN counts (RFC 9000 §19.3).
            0x02 | 0x03 => {
                let Some(q) = skip_ack(payload, p, ty == 0x03) else {
                    break;
                };
                p = q;
            }
            // CRYPTO (RFC 9000 §19.6): Offset (i), Length (i), Data.
            0x06 => {
                let Some((off, n1)) = varint(payload, p) else {
                    break;
                };
                let Some((len, n2)) = varint(payload, p + n1) else {
                    break;
                };
                let start = p + n1 + n2;
                let Some(data) = usize::try_from(len)
                    .ok()
                    .and_then(|l| payload.get(start..start.checked_add(l)?))
                else {
                    break;
                };
                out.push((off, data));
                p = start + data.len();
            }
            _ => break,
        }
    }
    out
}

fn skip_ack(b: &[u8], mut p: usize, ecn: bool) -> Option<usize> {
    // Largest Acknowledged, ACK Delay, ACK Range Count, First ACK Range.
    let mut fields = [0u64; 4];
    for f in &mut fields {
        let (v, n) = varint(b, p)?;
        *f = v;
        p += n;
    }
    // Each further range is two varints of at least one byte.
    let ranges = usize::try_from(fields[2]).ok()?;
    if ranges > b.len() / 2 {
        return None;
    }
    for _ in 0..ranges * 2 + if ecn { 3 } else { 0 } {
        p += varint(b, p)?.1;
    }
    Some(p)
}

/// What the handshake stream of a client Initial told.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct HelloSummary {
    pub sni: Option<Vec<u8>>,
    /// ALPN ProtocolNameList (u8-length strings).
    pub alpn: Option<Vec<u8>>,
    /// The whole ClientHello was in these frames.
    pub complete: bool,
    /// A gQUIC CHLO rather than a TLS ClientHello.
    pub gquic: bool,
    /// Bytes of handshake stream reassembled from offset 0.
    pub prefix: usize,
}

/// Put CRYPTO fragments back together and read the ClientHello.
pub(crate) fn summarize(frames: &[(u64, &[u8])]) -> HelloSummary {
    let mut s = HelloSummary::default();
    // Extent of the stream we keep.
    let end = frames
        .iter()
        .filter_map(|&(off, d)| {
            let e = usize::try_from(off).ok()?.checked_add(d.len())?;
            (e <= MAX_CRYPTO).then_some(e)
        })
        .max()
        .unwrap_or(0);
    let mut buf = vec![0u8; end];
    let mut covered = vec![false; end];
    for &(off, d) in frames {
        let Ok(off) = usize::try_from(off) else {
            continue;
        };
        let Some(e) = off.checked_add(d.len()).filter(|&e| e <= end) else {
            continue;
        };
        if let (Some(dst), Some(cov)) = (buf.get_mut(off..e), covered.get_mut(off..e)) {
            dst.copy_from_slice(d);
            cov.fill(true);
        }
    }
    let prefix = covered.iter().position(|&c| !c).unwrap_or(end);
    s.prefix = prefix;
    let stream = buf.get(..prefix).unwrap_or(&[]);
    if stream.starts_with(b"CHLO") {
        s.gquic = true;
        s.sni = chlo_sni(stream).map(<[u8]>::to_vec);
        s.complete = s.sni.is_some();
        return s;
    }
    // RFC 8446 §4: msg_type client_hello(1), uint24 length.
    if stream.first() == Some(&1) {
        if let Some(hs_len) = be24(stream, 1) {
            let body = stream.get(4..).unwrap_or(&[]);
            let body = body.get(..hs_len).unwrap_or(body);
            if let Ok(info) = hello_body(HelloKind::Client, body, hs_len) {
                s.sni = info.sni.map(<[u8]>::to_vec);
                s.alpn = info.alpn.map(<[u8]>::to_vec);
                s.complete = info.complete;
            }
        }
    }
    if s.sni.is_none() {
        // The server_name extension may sit in a fragment after a hole.
        s.sni = frames
            .iter()
            .find_map(|&(_, d)| scan_sni(d))
            .map(<[u8]>::to_vec);
    }
    s
}

/// Find a server_name extension (RFC 6066 §3) anywhere in `d`: type 0x0000,
/// extension length L, list length L-2, name type 0 (host_name), name
/// length L-5, then L-5 host-name characters. Five agreeing fields make
/// a chance hit in other handshake bytes unlikely.
pub(crate) fn scan_sni(d: &[u8]) -> Option<&[u8]> {
    let mut i = 0;
    while i + 9 <= d.len() {
        if d[i] == 0 && d[i + 1] == 0 {
            let l = u16::from_be_bytes([d[i + 2], d[i + 3]]) as usize;
            let list = u16::from_be_bytes([d[i + 4], d[i + 5]]) as usize;
            let nl = u16::from_be_bytes([d[i + 7], d[i + 8]]) as usize;
            if l >= 6 && list + 2 == l && d[i + 6] == 0 && nl + 5 == l {
                if let Some(name) = d.get(i + 9..i + 9 + nl) {
                    if name
                        .iter()
                        .all(|&b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
                    {
                        return Some(name);
                    }
                }
            }
        }
        i += 1;
    }
    None
}

/// gQUIC handshake message ("QUIC Crypto", Chromium): tag "CHLO" (4),
/// number of entries (u16 LE), padding (2), then entries of tag (4) and
/// end offset (u32 LE), then the values. The SNI tag is "SNI\0".
pub(crate) fn chlo_sni(m: &[u8]) -> Option<&[u8]> {
    if !m.starts_with(b"CHLO") {
        return None;
    }
    let n = u16::from_le_bytes([*m.get(4)?, *m.get(5)?]) as usize;
    if n > 128 {
        return None;
    }
    let values = 8 + n * 8;
    let mut start = 0usize;
    for i in 0..n {
        let e = m.get(8 + i * 8..16 + i * 8)?;
        let end = u32::from_le_bytes([e[4], e[5], e[6], e[7]]) as usize;
        if end < start {
            return None;
        }
        if &e[..4] == b"SNI\0" {
            let v = m.get(values + start..values + end)?;
            return (!v.is_empty()).then_some(v);
        }
        start = end;
    }
    None
}

/// A gQUIC CHLO carried in clear (Q046 and the old public header): look
/// for the tag in the first bytes of the datagram and read its SNI.
pub(crate) fn cleartext_chlo_sni(d: &[u8]) -> Option<&[u8]> {
    let head = d.get(..d.len().min(96)).unwrap_or(d);
    let at = head.windows(4).position(|w| w == b"CHLO")?;
    chlo_sni(d.get(at..)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Sources: testdata/README.md.
    const RFC9001_A2: &[u8] = include_bytes!("testdata/rfc9001_a2_client_initial.bin");
    const RFC9001_A2_CRYPTO: &[u8] = include_bytes!("testdata/rfc9001_a2_crypto_frame.bin");
    const RFC9369_A2: &[u8] = include_bytes!("testdata/rfc9369_a2_client_initial.bin");
    const DCID: &[u8] = &[0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08];

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn rfc9001_a1_keys() {
        let k = client_keys(1, DCID).unwrap();
        assert_eq!(k.key.to_vec(), hex("1f369613dd76d5467730efcbe3b1a22d"));
        assert_eq!(k.iv.to_vec(), hex("fa044b2f42a3fd3b46fb255c"));
        assert_eq!(k.hp.to_vec(), hex("9f50449e04a0e810283a1e9933adedd2"));
    }

    #[test]
    fn rfc9369_a1_keys() {
        let k = client_keys(0x6b33_43cf, DCID).unwrap();
        assert_eq!(k.key.to_vec(), hex("8b1a0bc121284290a29e0971b5cd045d"));
        assert_eq!(k.iv.to_vec(), hex("91f73e2351d8fa91660e909f"));
        assert_eq!(k.hp.to_vec(), hex("45b95e15235d6f45a6b19cbcb0294ba9"));
    }

    fn check_payload(p: &Plain) {
        assert_eq!(p.packet_number, 2);
        assert_eq!(p.payload.len(), 1162);
        assert_eq!(&p.payload[..RFC9001_A2_CRYPTO.len()], RFC9001_A2_CRYPTO);
        assert!(p.payload[RFC9001_A2_CRYPTO.len()..].iter().all(|&b| b == 0));
    }

    #[test]
    fn rfc9001_a2_decrypts() {
        let p = decrypt_client_initial(RFC9001_A2).unwrap();
        check_payload(&p);
        let frames = crypto_frames(&p.payload);
        assert_eq!(frames.len(), 1);
        let s = summarize(&frames);
        assert_eq!(s.sni.as_deref(), Some(&b"example.com"[..]));
        assert_eq!(s.alpn.as_deref(), Some(&b"\x04alpn"[..]));
        assert!(s.complete && !s.gquic);
        assert_eq!(s.prefix, 241);
    }

    #[test]
    fn rfc9369_a2_decrypts() {
        let p = decrypt_client_initial(RFC9369_A2).unwrap();
        check_payload(&p);
        let s = summarize(&crypto_frames(&p.payload));
        assert_eq!(s.sni.as_deref(), Some(&b"example.com"[..]));
    }

    #[test]
    fn damaged_packets_fail_closed() {
        // Every prefix: no panic, and nothing decrypts before the end.
        for n in 0..RFC9001_A2.len() {
            assert!(decrypt_client_initial(&RFC9001_A2[..n]).is_none(), "{n}");
            let _ = decrypt_client_initial(&RFC9369_A2[..n]);
        }
        // One flipped ciphertext bit fails authentication.
        let mut bad = RFC9001_A2.to_vec();
        bad[100] ^= 1;
        assert!(decrypt_client_initial(&bad).is_none());
        // Another DCID gives other keys.
        let mut bad = RFC9001_A2.to_vec();
        bad[6] ^= 1;
        assert!(decrypt_client_initial(&bad).is_none());
        // An unknown version has no keys.
        let mut bad = RFC9001_A2.to_vec();
        bad[4] = 9;
        assert!(decrypt_client_initial(&bad).is_none());
    }

    /// The RFC's ClientHello cut into out-of-order CRYPTO frames with PING,
    /// PADDING and an ACK between them, as Chrome sends it.
    #[test]
    fn fragments_reassemble_in_offset_order() {
        let hello = &RFC9001_A2_CRYPTO[4..];
        assert_eq!(hello.len(), 241);
        let frame = |off: usize, d: &[u8]| {
            let mut f = vec![0x06, 0x40 | (off >> 8) as u8, off as u8];
            f.extend_from_slice(&[0x40 | (d.len() >> 8) as u8, d.len() as u8]);
            f.extend_from_slice(d);
            f
        };
        let mut payload = vec![0x01];
        payload.extend(frame(100, &hello[100..]));
        payload.extend([0, 0, 0, 0x02, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00]);
        payload.extend(frame(0, &hello[..40]));
        payload.push(0x01);
        payload.extend(frame(40, &hello[40..100]));
        payload.extend([0u8; 30]);
        let frames = crypto_frames(&payload);
        assert_eq!(frames.len(), 3);
        let s = summarize(&frames);
        assert_eq!(s.sni.as_deref(), Some(&b"example.com"[..]));
        assert!(s.complete);
        // Without the first fragment, the SNI is still found by scanning.
        let s = summarize(
            &frames[..1]
                .iter()
                .chain(&frames[2..])
                .copied()
                .collect::<Vec<_>>(),
        );
        assert_eq!(s.prefix, 0);
        assert_eq!(s.sni.as_deref(), Some(&b"example.com"[..]));
        // Only the first 40 bytes: a partial hello without SNI.
        let s = summarize(&frames[1..2]);
        assert_eq!(s.sni, None);
        assert!(!s.complete);
        // Every prefix of the payload: no panic.
        for n in 0..payload.len() {
            let _ = summarize(&crypto_frames(&payload[..n]));
        }
    }

    #[test]
    fn hostile_crypto_frames_are_bounded() {
        // Offset near 2^62, huge length, huge ACK range count.
        let p = [
            0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0xaa,
        ];
        let f = crypto_frames(&p);
        assert_eq!(f.len(), 1);
        assert_eq!(summarize(&f), HelloSummary::default());
        let p = [0x06, 0x00, 0xbf, 0xff, 0xff, 0xff, 0xaa];
        assert!(crypto_frames(&p).is_empty());
        let p = [
            0x02, 0x00, 0x00, 0xbf, 0xff, 0xff, 0xff, 0x00, 0x06, 0x00, 0x01, 0x01,
        ];
        assert!(crypto_frames(&p).is_empty());
        // An offset past MAX_CRYPTO is ignored.
        let p = [0x06, 0x80, 0x01, 0x00, 0x00, 0x01, 0x01];
        assert_eq!(summarize(&crypto_frames(&p)).prefix, 0);
        // Frames beyond MAX_FRAMES are not read.
        let pings = vec![0x01u8; 10_000];
        assert!(crypto_frames(&pings).is_empty());
    }

    #[test]
    fn gquic_chlo_sni() {
        let mut m = b"CHLO\x02\x00\x00\x00".to_vec();
        m.extend_from_slice(b"PAD\0\x04\x00\x00\x00");
        m.extend_from_slice(b"SNI\0\x0f\x00\x00\x00");
        m.extend_from_slice(b"----www.google.com");
        assert_eq!(chlo_sni(&m), Some(&b"www.google.com"[..14 - 3]));
        for n in 0..m.len() {
            let _ = chlo_sni(&m[..n]);
        }
        assert_eq!(chlo_sni(b"CHLO\xff\xff\x00\x00"), None);
    }

    #[test]
    fn scan_sni_needs_consistent_lengths() {
        assert_eq!(
            scan_sni(b"\x12\x00\x00\x00\x0e\x00\x0c\x00\x00\x08a.b.c.dexyz"),
            None
        );
        assert_eq!(
            scan_sni(b"\x12\x00\x00\x00\x0e\x00\x0c\x00\x00\x09abc.d.efgh"),
            Some(&b"abc.d.efg"[..])
        );
        assert_eq!(scan_sni(b"\x00\x00\x00\x06\x00\x04\x00\x00\x01"), None);
    }
}
