//! Zabbix (Zabbix manual, "Header and data protocol", Zabbix 4.0 to 7.x,
//! and the "Zabbix agent protocol" page for passive checks).
//!
//! Every message between Zabbix server, proxy, agent, sender and `zabbix_get`
//! carries the header
//!
//! ```text
//! "ZBXD" | flags (1) | data length (4, LE) | reserved (4, LE) | data
//! ```
//!
//! Flags: "0x01 - Zabbix communications protocol, 0x02 - compression,
//! 0x04 - large packet". With 0x04 the data length and reserved fields are 8
//! bytes each. "reserved - when compression is used, the uncompressed data
//! length, otherwise 0". Compressed data is a zlib stream. Before 4.0 the
//! header was "ZBXD\x01" followed by one 8-byte length, which reads the same
//! as length + zero reserved for any message under 4 GiB.
//!
//! The data is JSON (`{"request":"active checks",...}`) or, for passive
//! checks, the item key from the server and the bare value from the agent.
//!
//! Older servers and `zabbix_get` (and any tool using the "plain text"
//! passive protocol) may send the item key as a bare line `key\n` with no
//! header; the agent still answers with a ZBXD header. A key-like line from
//! the client is therefore kept pending (`NeedMore`) until the agent's
//! reply shows.

use std::io::Read;

use netsift_proto::bytes::{le32, le64, u8_at};
use netsift_proto::{printable, Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol};
use netsift_proto::{text_line, Transport};

/// Zabbix.
pub struct Zabbix;

const MAGIC: &[u8] = b"ZBXD";
/// "ZBX_MAX_RECV_LARGE_DATA_SIZE": 16 GiB is the largest message any version accepts.
const MAX_LEN: u64 = 16 << 30;

impl Protocol for Zabbix {
    fn name(&self) -> &'static str {
        "Zabbix"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[10050, 10051]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        match header(input.data) {
            Hdr::Ok(h) => return Probe::Match(Match::new(h.evidence(input.data, input.dir))),
            Hdr::Partial => return Probe::NeedMore,
            Hdr::Bad => {}
        }
        // The plain-text passive request: a key line from the client, then
        // the agent's ZBXD reply.
        // Item keys start with a lower-case letter: reject on the first byte.
        if input.dir != Direction::ToServer
            || !input.data.first().is_some_and(u8::is_ascii_lowercase)
        {
            return Probe::NoMatch;
        }
        match text_line(input.data, 256) {
            Ok(l) if is_key(l) => match header(input.peer) {
                Hdr::Ok(_) => Probe::Match(Match::new(format!(
                    "Zabbix plain-text passive check '{}', agent replied with a ZBXD header",
                    printable(l, 48)
                ))),
                Hdr::Partial => Probe::NeedMore,
                Hdr::Bad => Probe::NoMatch,
            },
            Err(true) if key_chars(input.data) => Probe::NeedMore,
            _ => Probe::NoMatch,
        }
    }
}

struct Header {
    flags: u8,
    len: u64,
    reserved: u64,
    hlen: usize,
}

enum Hdr {
    Ok(Header),
    Partial,
    Bad,
}

fn header(d: &[u8]) -> Hdr {
    let n = d.len().min(MAGIC.len());
    if d.get(..n) != MAGIC.get(..n) {
        return Hdr::Bad;
    }
    let Some(flags) = u8_at(d, 4) else {
        return Hdr::Partial;
    };
    // 0x01 is always set; no other flag bits are defined.
    if flags & 0x01 == 0 || flags & !0x07 != 0 {
        return Hdr::Bad;
    }
    let large = flags & 0x04 != 0;
    let (len, reserved, hlen) = if large {
        match (le64(d, 5), le64(d, 13)) {
            (Some(l), Some(r)) => (l, r, 21),
            _ => return Hdr::Partial,
        }
    } else {
        match (le32(d, 5), le32(d, 9)) {
            (Some(l), Some(r)) => (u64::from(l), u64::from(r), 13),
            _ => return Hdr::Partial,
        }
    };
    if len > MAX_LEN || reserved > MAX_LEN {
        return Hdr::Bad;
    }
    if flags & 0x02 != 0 {
        // Compressed: reserved is the uncompressed length, and the data is a
        // zlib stream (RFC 1950: CMF 0x78 = deflate, 32 KiB window).
        if reserved == 0 || len < 2 {
            return Hdr::Bad;
        }
        match u8_at(d, hlen) {
            None => return Hdr::Partial,
            Some(0x78) => {}
            Some(_) => return Hdr::Bad,
        }
    } else if reserved != 0 {
        return Hdr::Bad;
    }
    Hdr::Ok(Header {
        flags,
        len,
        reserved,
        hlen,
    })
}

impl Header {
    fn evidence(&self, d: &[u8], dir: Direction) -> String {
        let body = d.get(self.hlen..).unwrap_or(&[]);
        let body = body.get(..body.len().min(self.len as usize)).unwrap_or(&[]);
        let mut tags = String::new();
        if self.flags & 0x02 != 0 {
            tags.push_str(", zlib");
        }
        if self.flags & 0x04 != 0 {
            tags.push_str(", large packet");
        }
        let plain;
        let text: &[u8] = if self.flags & 0x02 != 0 {
            // Inflate at most 512 bytes, only to name the request.
            let mut out = Vec::new();
            let _ = flate2::read::ZlibDecoder::new(body)
                .take(512.min(self.reserved))
                .read_to_end(&mut out);
            plain = out;
            &plain
        } else {
            body
        };
        let what = if let Some(r) = json_str(text, b"\"request\"") {
            format!("request '{}'", printable(r, 40))
        } else if let Some(r) = json_str(text, b"\"response\"") {
            format!("response '{}'", printable(r, 40))
        } else if text.is_empty() {
            String::from("message")
        } else if dir == Direction::ToServer {
            format!("passive check '{}'", printable(text, 40))
        } else {
            format!("value '{}'", printable(text, 40))
        };
        format!("Zabbix {what} ({} bytes{tags})", self.len)
    }
}

/// The string value of `key` in the first 256 bytes of a JSON object.
fn json_str<'a>(d: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let d = d.get(..d.len().min(256))?;
    if d.first() != Some(&b'{') {
        return None;
    }
    let at = d.windows(key.len()).position(|w| w == key)? + key.len();
    let rest = d.get(at..)?;
    let q = rest.iter().position(|&b| b == b'"')?;
    if !rest.get(..q)?.iter().all(|&b| b == b':' || b == b' ') {
        return None;
    }
    let v = rest.get(q + 1..)?;
    let end = v.iter().position(|&b| b == b'"')?;
    v.get(..end)
}

/// Characters of an item key: `name[param,"param",...]` (Zabbix manual,
/// "Item key format": key names use `0-9a-zA-Z_-.`, parameters any text).
fn key_chars(d: &[u8]) -> bool {
    let Some(&first) = d.first() else {
        return true;
    };
    first.is_ascii_lowercase() && d.iter().all(|&b| (0x20..0x7f).contains(&b) || b == b'\r')
}

fn is_key(l: &[u8]) -> bool {
    let name_end = l.iter().position(|&b| b == b'[').unwrap_or(l.len());
    let name = l.get(..name_end).unwrap_or(&[]);
    !name.is_empty()
        && key_chars(l)
        && name
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        && (name_end == l.len() || l.last() == Some(&b']'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_random_flows_rejected, check_prefixes, evidence, feed_evidence, foreign_never_match,
        probe1, probe_at, C, S,
    };

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const PASSIVE_REQ: &[u8] = include_bytes!("testdata/passive_request.bin");
    const PASSIVE_RESP: &[u8] = include_bytes!("testdata/passive_response.bin");
    const ZREQ: &[u8] = include_bytes!("testdata/compressed_request.bin");
    const ZRESP: &[u8] = include_bytes!("testdata/compressed_response.bin");

    #[test]
    fn real_messages() {
        assert_eq!(
            evidence(probe1(&Zabbix, TCP, C, PASSIVE_REQ)),
            "Zabbix passive check 'proc.num[]' (10 bytes)"
        );
        assert_eq!(
            evidence(probe1(&Zabbix, TCP, S, PASSIVE_RESP)),
            "Zabbix value '263' (3 bytes)"
        );
        assert_eq!(
            evidence(probe1(&Zabbix, TCP, C, ZREQ)),
            "Zabbix request 'active checks' (78 bytes, zlib)"
        );
        assert_eq!(
            evidence(probe1(&Zabbix, TCP, S, ZRESP)),
            "Zabbix response 'success' (85 bytes, zlib)"
        );
    }

    #[test]
    fn large_packet_and_json() {
        // flags 0x05 (protocol | large), 8-byte length 17, 8-byte reserved 0.
        let mut m = b"ZBXD\x05".to_vec();
        m.extend_from_slice(&17u64.to_le_bytes());
        m.extend_from_slice(&0u64.to_le_bytes());
        m.extend_from_slice(b"{\"request\":\"x\"}\n");
        assert_eq!(
            evidence(probe1(&Zabbix, TCP, C, &m)),
            "Zabbix request 'x' (17 bytes, large packet)"
        );
        check_prefixes(&Zabbix, TCP, C, &m, b"");
        // Reserved must be 0 without compression; undefined flag bits.
        let mut bad = PASSIVE_REQ.to_vec();
        bad[9] = 1;
        assert_eq!(probe1(&Zabbix, TCP, C, &bad), Probe::NoMatch);
        let mut bad = PASSIVE_REQ.to_vec();
        bad[4] = 0x09;
        assert_eq!(probe1(&Zabbix, TCP, C, &bad), Probe::NoMatch);
        // Compressed data that is not zlib.
        let mut bad = ZREQ.to_vec();
        bad[13] = 0x00;
        assert_eq!(probe1(&Zabbix, TCP, C, &bad), Probe::NoMatch);
    }

    #[test]
    fn plain_text_passive_check() {
        // Old-style `zabbix_get`: the key as a bare line, the agent answers
        // with a header.
        let key = b"agent.ping\n";
        assert_eq!(probe1(&Zabbix, TCP, C, key), Probe::NeedMore);
        assert_eq!(
            evidence(probe_at(&Zabbix, TCP, C, key, PASSIVE_RESP, 0)),
            "Zabbix plain-text passive check 'agent.ping', agent replied with a ZBXD header"
        );
        // The agent's reply alone names the flow too.
        assert_eq!(
            feed_evidence(&Zabbix, TCP, 10050, &[(S, PASSIVE_RESP), (C, key)]),
            "Zabbix value '263' (3 bytes)"
        );
        assert_eq!(
            probe_at(&Zabbix, TCP, C, key, b"HTTP/1.1 200 OK\r\n", 0),
            Probe::NoMatch
        );
        assert_eq!(
            probe1(&Zabbix, TCP, C, b"GET / HTTP/1.1\r\n"),
            Probe::NoMatch
        );
    }

    #[test]
    fn prefixes() {
        for d in [PASSIVE_REQ, ZREQ] {
            check_prefixes(&Zabbix, TCP, C, d, b"");
        }
        for d in [PASSIVE_RESP, ZRESP] {
            check_prefixes(&Zabbix, TCP, S, d, b"");
        }
        check_prefixes(
            &Zabbix,
            TCP,
            C,
            b"system.cpu.load[all,avg1]\n",
            PASSIVE_RESP,
        );
    }

    #[test]
    fn random_and_foreign() {
        assert_random_flows_rejected(&Zabbix, TCP, 10051);
        foreign_never_match(&Zabbix, TCP);
    }
}
