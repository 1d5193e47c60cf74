//! WhatsApp's chat connection (observed protocol: WhatsApp publishes no
//! wire specification; the layout below is what its clients send, as seen
//! in nDPI's corpus captures and as documented by open-source WhatsApp Web
//! clients).
//!
//! A chat connection (TCP 5222 or 443, any port in practice) opens with:
//! * optionally an **edge routing header**: `'E' 'D' 0x00 0x01`, a 24-bit
//!   big-endian length and that many bytes of routing data (a few protobuf
//!   bytes chosen by the server in an earlier session);
//! * the **connection header** `'W' 'A'` and two version bytes (1.5 for the
//!   FunXMPP era, 2.x / 5.x / 6.x for the Noise-protocol clients);
//! * **frames**, each a 3-byte header and a payload. In the FunXMPP era the
//!   header is a flags byte (0x80 = encrypted) and a 16-bit length, and the
//!   first frame is the clear `stream:start` list (token LIST_8 0xf8 or
//!   LIST_16 0xf9, with the client's resource string e.g.
//!   `Android-2.12.84`). In the Noise era the header is a 24-bit length and
//!   the first payload is a protobuf `HandshakeMessage` whose field 2
//!   (`clientHello`, tag 0x12) starts with field 1 (`ephemeral`, tag 0x0a)
//!   of 32 bytes (an X25519 public key).
//!
//! The server answers with frames only: Noise `HandshakeMessage` field 3
//! (`serverHello`, tag 0x1a) starting with its 32-byte ephemeral key, or in
//! the FunXMPP era clear `stream:start` / `features` lists (0x00, length,
//! 0xf8 ...) followed by encrypted frames (0x80 ...). A capture holding only
//! the server's side is recognised from those frame layouts. After the
//! handshake every frame is encrypted, so a capture starting mid-session
//! cannot be recognised.

use netsift_proto::bytes::{array, be16, be24, u8_at};
use netsift_proto::{Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// WhatsApp.
pub struct Whatsapp;

enum V {
    Yes(String),
    More,
    No,
}

/// `Some(true)` when `d` starts with `p`, `None` when `d` is a strict prefix
/// of `p`, `Some(false)` otherwise.
fn starts(d: &[u8], p: &[u8]) -> Option<bool> {
    let n = d.len().min(p.len());
    if d.get(..n) != p.get(..n) {
        return Some(false);
    }
    (n == p.len()).then_some(true)
}

/// A protobuf varint of at most 3 bytes at `off`: (value, size).
fn varint(d: &[u8], off: usize) -> Option<(usize, usize)> {
    let mut v = 0usize;
    for i in 0..3 {
        let b = u8_at(d, off + i)?;
        v |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// A Noise `HandshakeMessage` at `off` whose field `tag` (0x12 clientHello,
/// 0x1a serverHello) opens with a 32-byte ephemeral key, inside a frame of
/// `frame_len` bytes.
fn noise_hello(d: &[u8], off: usize, tag: u8, frame_len: usize) -> V {
    match u8_at(d, off) {
        None => return V::More,
        Some(t) if t != tag => return V::No,
        _ => {}
    }
    let Some((len, n)) = varint(d, off + 1) else {
        return if d.len() < off + 4 { V::More } else { V::No };
    };
    // The hello is at most the whole frame, and holds at least the key.
    if 1 + n + len > frame_len || len < 34 {
        return V::No;
    }
    // Field 1 (ephemeral), wire type 2, 32 bytes.
    match array::<2>(d, off + 1 + n) {
        None => V::More,
        Some([0x0a, 0x20]) => V::Yes(String::new()),
        Some(_) => V::No,
    }
}

/// The resource string of a FunXMPP `stream:start` (a STRING_8 token 0xfc,
/// length, printable bytes) within its first 16 bytes, for the evidence.
fn resource(p: &[u8]) -> Option<&[u8]> {
    let i = p.iter().take(16).position(|&b| b == 0xfc)?;
    let len = usize::from(u8_at(p, i + 1)?);
    let s = p.get(i + 2..i + 2 + len)?;
    (len > 0 && s.iter().all(|b| (0x20..0x7f).contains(b))).then_some(s)
}

/// The client's stream: [edge header] "WA" major minor, first frame.
fn client(d: &[u8]) -> V {
    let mut off = 0;
    let mut edge = false;
    match starts(d, b"ED\x00\x01") {
        None => return V::More,
        Some(true) => {
            let Some(len) = be24(d, 4) else {
                return V::More;
            };
            // Routing data is a few bytes (4 in every capture seen).
            if len == 0 || len > 256 {
                return V::No;
            }
            off = 7 + len as usize;
            edge = true;
        }
        Some(false) => {}
    }
    let rest = d.get(off..).unwrap_or(&[]);
    match starts(rest, b"WA") {
        None => return V::More,
        Some(false) => return V::No,
        Some(true) => {}
    }
    let Some([major, minor]) = array::<2>(d, off + 2) else {
        return V::More;
    };
    // Versions seen: 1.5 (FunXMPP), 2.1, 5.2, 6.x (Noise).
    if major == 0 || major > 15 {
        return V::No;
    }
    let f = off + 4;
    let Some(flags) = u8_at(d, f) else {
        return V::More;
    };
    let Some(payload0) = u8_at(d, f + 3) else {
        return V::More;
    };
    let how = if edge { ", edge routing header" } else { "" };
    if payload0 == 0xf8 || payload0 == 0xf9 {
        // FunXMPP: clear first frame (flags 0), 16-bit length.
        let len = usize::from(be16(d, f + 1).unwrap_or(0));
        if flags != 0 || len < 2 {
            return V::No;
        }
        let p = d.get(f + 3..).unwrap_or(&[]);
        let who = match resource(p) {
            Some(r) => format!(", client '{}'", netsift_proto::printable(r, 40)),
            None => String::new(),
        };
        return V::Yes(format!(
            "WhatsApp stream start WA {major}.{minor} (FunXMPP){who}{how}"
        ));
    }
    let len = be24(d, f).unwrap_or(0) as usize;
    match noise_hello(d, f + 3, 0x12, len) {
        V::Yes(_) => V::Yes(format!(
            "WhatsApp WA {major}.{minor} Noise handshake ClientHello{how}"
        )),
        o => o,
    }
}

/// The server's stream (used when the client's side is missing).
fn server(d: &[u8]) -> V {
    let Some(b0) = u8_at(d, 0) else {
        return V::More;
    };
    let Some(p0) = u8_at(d, 3) else {
        return V::More;
    };
    if p0 == 0x1a {
        let len = be24(d, 0).unwrap_or(0) as usize;
        return match noise_hello(d, 3, 0x1a, len) {
            V::Yes(_) => V::Yes("WhatsApp Noise handshake ServerHello".into()),
            o => o,
        };
    }
    // FunXMPP: a clear list frame then another frame (clear list or
    // encrypted) right after it.
    if b0 != 0 || !(p0 == 0xf8 || p0 == 0xf9) {
        return V::No;
    }
    let len = usize::from(be16(d, 1).unwrap_or(0));
    if !(2..=1024).contains(&len) {
        return V::No;
    }
    let next = 3 + len;
    let (Some(f2), Some(p2)) = (u8_at(d, next), u8_at(d, next + 3)) else {
        return V::More;
    };
    let ok = match f2 {
        0x00 => p2 == 0xf8 || p2 == 0xf9,
        0x80 => true,
        _ => false,
    };
    if !ok || be16(d, next + 1).unwrap_or(0) < 2 {
        return V::No;
    }
    V::Yes("WhatsApp server stream start (FunXMPP frames)".into())
}

impl Protocol for Whatsapp {
    fn name(&self) -> &'static str {
        "WhatsApp"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[5222]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        // O(1) first-byte gate: 'E' (edge header), 'W' (connection header)
        // from the client; a frame header from the server.
        let v = match input.dir {
            Direction::ToServer => match d.first() {
                None => V::More,
                Some(b'E' | b'W') => client(d),
                Some(_) => V::No,
            },
            Direction::ToClient => {
                // With the client's side at hand, it decides.
                if input.peer.is_empty() {
                    server(d)
                } else {
                    // NoMatch is final for the flow: while the client's
                    // hello is incomplete, wait.
                    client(input.peer)
                }
            }
        };
        match v {
            V::Yes(e) => Probe::Match(Match::new(e)),
            V::More => Probe::NeedMore,
            V::No => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, check_prefixes, evidence,
        foreign_never_match, probe1, probe_at, C, S,
    };

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const EDGE_NOISE: &[u8] = include_bytes!("testdata/edge_client_noise.bin");
    const EDGE_WA21: &[u8] = include_bytes!("testdata/edge_client_wa21.bin");
    const SERVER_HELLO: &[u8] = include_bytes!("testdata/server_hello.bin");
    const FUNXMPP_C: &[u8] = include_bytes!("testdata/funxmpp_client.bin");
    const FUNXMPP_S: &[u8] = include_bytes!("testdata/funxmpp_server.bin");

    #[test]
    fn client_streams() {
        assert_eq!(
            evidence(probe1(&Whatsapp, TCP, C, EDGE_NOISE)),
            "WhatsApp WA 5.2 Noise handshake ClientHello, edge routing header"
        );
        assert_eq!(
            evidence(probe1(&Whatsapp, TCP, C, EDGE_WA21)),
            "WhatsApp WA 2.1 Noise handshake ClientHello, edge routing header"
        );
        assert_eq!(
            evidence(probe1(&Whatsapp, TCP, C, FUNXMPP_C)),
            "WhatsApp stream start WA 1.5 (FunXMPP), client 'iPhone-2.12.2-5222'"
        );
        // Without the edge header (clients that were given no routing data).
        let bare = EDGE_NOISE.get(11..).unwrap();
        assert_eq!(
            evidence(probe1(&Whatsapp, TCP, C, bare)),
            "WhatsApp WA 5.2 Noise handshake ClientHello"
        );
    }

    #[test]
    fn server_only_capture() {
        assert_eq!(
            evidence(probe1(&Whatsapp, TCP, S, SERVER_HELLO)),
            "WhatsApp Noise handshake ServerHello"
        );
        assert_eq!(
            evidence(probe1(&Whatsapp, TCP, S, FUNXMPP_S)),
            "WhatsApp server stream start (FunXMPP frames)"
        );
        // With the client's side present, the client decides.
        assert!(matches!(
            probe_at(&Whatsapp, TCP, S, SERVER_HELLO, EDGE_WA21, 0),
            Probe::Match(_)
        ));
        assert_eq!(
            probe_at(&Whatsapp, TCP, S, SERVER_HELLO, b"GET / HTTP/1.1\r\n", 0),
            Probe::NoMatch
        );
        // The server answering while the client's hello is still partial.
        assert_eq!(
            probe_at(&Whatsapp, TCP, S, SERVER_HELLO, b"ED\x00\x01", 0),
            Probe::NeedMore
        );
    }

    #[test]
    fn prefixes_never_reject() {
        for d in [EDGE_NOISE, EDGE_WA21, FUNXMPP_C] {
            check_prefixes(&Whatsapp, TCP, C, d, b"");
        }
        for d in [SERVER_HELLO, FUNXMPP_S] {
            check_prefixes(&Whatsapp, TCP, S, d, b"");
        }
    }

    #[test]
    fn near_misses() {
        let mut d = EDGE_NOISE.to_vec();
        d[3] = 2; // "ED" version 2
        assert_eq!(probe1(&Whatsapp, TCP, C, &d), Probe::NoMatch);
        let mut d = EDGE_NOISE.to_vec();
        d[11] = b'X'; // not "WA"
        assert_eq!(probe1(&Whatsapp, TCP, C, &d), Probe::NoMatch);
        let mut d = EDGE_NOISE.to_vec();
        d[20] = 0x0b; // not the ephemeral key field
        assert_eq!(probe1(&Whatsapp, TCP, C, &d), Probe::NoMatch);
        // "WA" as the start of a text line is not a WhatsApp stream.
        assert_eq!(
            probe1(&Whatsapp, TCP, C, b"WARNING: something\r\n"),
            Probe::NoMatch
        );
    }

    #[test]
    fn foreign_and_random() {
        foreign_never_match(&Whatsapp, TCP);
        assert_foreign_rejected(&Whatsapp, "none");
        assert_random_flows_rejected(&Whatsapp, TCP, 5222);
    }
}
