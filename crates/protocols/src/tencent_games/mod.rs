//! TencentGames: the TCP framings of Tencent's mobile game services
//! (observed protocol: Tencent publishes no specification). What is checked
//! comes from nDPI's `tencent_games.pcap` (one game session to Tencent Cloud
//! addresses, four connections, each with its own framing); every framing
//! is recognised from its structure (a fixed header with a command and a
//! sequence, or lengths that chain exactly), never from the ports, which
//! are arbitrary (8085, 20731, 31003, 65010 in the capture):
//!
//! * **`33 66` header**: `33 66 00 0b 00 0b`, a 16-bit command, a 32-bit
//!   little-endian word (0 from the client, 1 from the server), a 32-bit
//!   little-endian sequence number; the server answers command `0x1001`
//!   with `0x1002` and `0x2001` with `0x2002`, echoing the sequence number.
//! * **`aa` frame** (the client prefixes its first frame with two bytes,
//!   `43 66` in the capture): `aa`, a 32-bit big-endian frame length
//!   counted from the `aa`, then exactly two tagged fields, `15` + 32-bit
//!   length and `25` + 32-bit length, whose sizes add up to the frame
//!   length (the body is a tag/varint serialisation naming the service,
//!   e.g. `gcloud-none-0000` / `QueryAddrSvr`).
//! * **zlib JSON**: a 32-bit big-endian length of the rest of the message,
//!   then a zlib stream (RFC 1950) holding a JSON envelope that opens with
//!   `{"seq_id":N,"cmd_id":N,` (the game SDK's command channel).
//! * **`42 15 f7 87` header**: the 4-byte magic, a 16-bit command (`0x03e9`
//!   request, `0x03ea` reply), then the 32-bit big-endian length of the
//!   rest (the reply first carries a 16-bit zero status).
//!
//! Each check is strong alone on random bytes (at least 44 fixed or
//! length-derived bits); the probe only reads the first frame of a
//! direction.

use netsift_proto::bytes::{be16, be32, le32};
use netsift_proto::{Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// TencentGames.
pub struct TencentGames;

/// Frames larger than this are not what the framings carry (the largest
/// seen is 2.3 kB); it keeps the length checks meaningful.
const MAX_FRAME: u32 = 1 << 20;

enum V {
    Yes(String),
    No,
    More,
}

/// `d` starts with `lit` as far as `d` goes: `Some(true)` all of it,
/// `Some(false)` a mismatch, `None` too short.
fn prefix(d: &[u8], lit: &[u8]) -> Option<bool> {
    let n = d.len().min(lit.len());
    if d.get(..n) != lit.get(..n) {
        return Some(false);
    }
    (n == lit.len()).then_some(true)
}

const HDR_3366: &[u8] = &[0x33, 0x66, 0x00, 0x0b, 0x00, 0x0b];

/// The `33 66 00 0b 00 0b` header: command at 6, sequence at 12 (LE).
fn header_3366(d: &[u8]) -> V {
    match prefix(d, HDR_3366) {
        Some(false) => return V::No,
        None => return V::More,
        Some(true) => {}
    }
    let (Some(cmd), Some(seq)) = (be16(d, 6), le32(d, 12)) else {
        return V::More;
    };
    V::Yes(format!(
        "Tencent game header 33 66 00 0b 00 0b, command 0x{cmd:04x}, sequence {seq}"
    ))
}

/// The `aa` frame at `at`: length from the `aa`, fields `15` and `25`
/// whose sizes fill the frame exactly.
fn frame_aa(d: &[u8], at: usize) -> V {
    match d.get(at) {
        None => return V::More,
        Some(0xaa) => {}
        Some(_) => return V::No,
    }
    let Some(len) = be32(d, at + 1) else {
        return V::More;
    };
    // aa + length + two 5-byte field headers at least.
    if !(15..=MAX_FRAME).contains(&len) {
        return V::No;
    }
    match d.get(at + 5) {
        None => return V::More,
        Some(0x15) => {}
        Some(_) => return V::No,
    }
    let Some(n1) = be32(d, at + 6) else {
        return V::More;
    };
    if n1 > len - 15 {
        return V::No;
    }
    // n1 <= len - 15 <= MAX_FRAME: no overflow.
    let f2 = at + 10 + n1 as usize;
    match d.get(f2) {
        None => return V::More,
        Some(0x25) => {}
        Some(_) => return V::No,
    }
    let Some(n2) = be32(d, f2 + 1) else {
        return V::More;
    };
    if u64::from(n2) + u64::from(n1) + 15 != u64::from(len) {
        return V::No;
    }
    V::Yes(format!(
        "Tencent game frame aa, {len} bytes made of two tagged fields ({n1} + {n2} bytes)"
    ))
}

/// How much of the inflated JSON is looked at.
const JSON_HEAD: usize = 48;

/// The length-prefixed zlib JSON message.
fn zlib_json(d: &[u8]) -> V {
    // A 32-bit length below MAX_FRAME: the first byte is zero, the second
    // at most 0x0f.
    match (d.first(), d.get(1)) {
        (Some(0), Some(b)) if *b <= 0x0f => {}
        (Some(0), None) => return V::More,
        (None, _) => return V::More,
        _ => return V::No,
    }
    let Some(len) = be32(d, 0) else {
        return V::More;
    };
    // Two zlib header bytes, a deflate block and the Adler-32 at least.
    if len < 8 {
        return V::No;
    }
    // RFC 1950 §2.2: CMF (CM = 8 deflate, CINFO <= 7), FLG with
    // (CMF * 256 + FLG) a multiple of 31 and no preset dictionary.
    let (Some(&cmf), Some(&flg)) = (d.get(4), d.get(5)) else {
        return V::More;
    };
    if cmf & 0x0f != 8 || cmf >> 4 > 7 || flg & 0x20 != 0 {
        return V::No;
    }
    if (u16::from(cmf) << 8 | u16::from(flg)) % 31 != 0 {
        return V::No;
    }
    // The pre-checks hold: inflate the start of the message.
    let end = 4 + len as usize;
    let body = d.get(4..end.min(d.len())).unwrap_or(&[]);
    let complete = d.len() >= end;
    let mut out = [0u8; JSON_HEAD];
    let mut z = flate2::Decompress::new(true);
    let n = match z.decompress(body, &mut out, flate2::FlushDecompress::None) {
        Ok(_) => usize::try_from(z.total_out()).unwrap_or(0).min(JSON_HEAD),
        Err(_) => return V::No,
    };
    let text = out.get(..n).unwrap_or(&[]);
    let want = b"{\"seq_id\":";
    match prefix(text, want) {
        Some(false) => return V::No,
        None => {
            return if complete { V::No } else { V::More };
        }
        Some(true) => {}
    }
    // `{"seq_id":<digits>,"cmd_id":<digits>`.
    let rest = &text[want.len()..];
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 && !rest.is_empty() {
        return V::No;
    }
    let after = rest.get(digits..).unwrap_or(&[]);
    let key = b",\"cmd_id\":";
    match prefix(after, key) {
        Some(false) => return V::No,
        None => {
            return if n < JSON_HEAD && !complete {
                V::More
            } else {
                V::No
            };
        }
        Some(true) => {}
    }
    let cmd = &after[key.len()..];
    let cmd = &cmd[..cmd.iter().take_while(|b| b.is_ascii_digit()).count()];
    if cmd.is_empty() {
        return if n < JSON_HEAD && !complete {
            V::More
        } else {
            V::No
        };
    }
    V::Yes(format!(
        "Tencent game message: {len}-byte zlib JSON, seq_id {}, cmd_id {}",
        String::from_utf8_lossy(&rest[..digits]),
        String::from_utf8_lossy(cmd)
    ))
}

const MAGIC_4215: &[u8] = &[0x42, 0x15, 0xf7, 0x87];

/// The `42 15 f7 87` header: command, then (reply: a zero status and) the
/// length of the rest.
fn header_4215(d: &[u8], dir: Direction) -> V {
    match prefix(d, MAGIC_4215) {
        Some(false) => return V::No,
        None => return V::More,
        Some(true) => {}
    }
    let at = match dir {
        Direction::ToServer => 6,
        Direction::ToClient => {
            match be16(d, 6) {
                None => return V::More,
                Some(0) => {}
                Some(_) => return V::No,
            }
            8
        }
    };
    let (Some(cmd), Some(len)) = (be16(d, 4), be32(d, at)) else {
        return V::More;
    };
    if len == 0 || len > MAX_FRAME {
        return V::No;
    }
    let what = match dir {
        Direction::ToServer => "request",
        Direction::ToClient => "reply",
    };
    V::Yes(format!(
        "Tencent game header 42 15 f7 87, command {cmd} {what} of {len} bytes"
    ))
}

impl Protocol for TencentGames {
    fn name(&self) -> &'static str {
        "TencentGames"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let d = input.data;
        let Some(&b0) = d.first() else {
            return Probe::NeedMore;
        };
        // O(1) dispatch on the first byte (the `aa` frame may follow a
        // two-byte preamble, so its third byte is looked at too).
        let first = match b0 {
            0x33 => header_3366(d),
            0x00 => zlib_json(d),
            0x42 => header_4215(d, input.dir),
            0xaa => frame_aa(d, 0),
            _ => V::No,
        };
        let second = match first {
            V::Yes(_) => V::No,
            _ => frame_aa(d, 2),
        };
        match (first, second) {
            (V::Yes(e), _) | (_, V::Yes(e)) => Probe::Match(Match::new(e)),
            (V::More, _) | (_, V::More) => Probe::NeedMore,
            _ => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests;
