//! Cassandra CQL native protocol, versions 1 to 5 (Apache Cassandra
//! `native_protocol_v3.spec`, `_v4.spec`, `_v5.spec`).
//!
//! Frame header (v3+, 9 bytes): `version (1: 0x03-0x05 request, with
//! 0x80 set in responses) | flags (0x01 compression, 0x02 tracing, 0x04
//! custom payload, 0x08 warning, 0x10 beta) | stream (int16) | opcode (1) |
//! length (int32)`; v1/v2 have a one-byte stream (8-byte header).
//!
//! The client opens with OPTIONS (0x05, empty body) or STARTUP (0x01, a
//! `[string map]` that must hold `CQL_VERSION`); the server answers
//! SUPPORTED (0x06, a `[string multimap]` with `CQL_VERSION`...), READY
//! (0x02), AUTHENTICATE (0x03, the authenticator class) or ERROR (0x00).
//! Mid-session, QUERY (0x07) and PREPARE (0x09) carry a `[long string]`
//! CQL statement, recognised by its first keyword. (v5 switches to
//! checksummed segments after STARTUP; those are not recognised alone.)

use netsift_proto::bytes::{be16, be32};
use netsift_proto::{printable, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Cassandra.
pub struct Cassandra;

/// Frames are at most 256 MiB ("frame length is limited to 256MB").
const MAX_LEN: u32 = 256 << 20;

impl Protocol for Cassandra {
    fn name(&self) -> &'static str {
        "Cassandra"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[9042]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let Some(&v) = d.first() else {
            return Probe::NeedMore;
        };
        let ver = v & 0x7f;
        let resp = v & 0x80 != 0;
        if !(1..=5).contains(&ver) {
            return Probe::NoMatch;
        }
        let hlen = if ver < 3 { 8 } else { 9 };
        let Some(&flags) = d.get(1) else {
            return Probe::NeedMore;
        };
        if flags & !0x1f != 0 {
            return Probe::NoMatch;
        }
        let (Some(&op), Some(len)) = (d.get(hlen - 5), be32(d, hlen - 4)) else {
            return Probe::NeedMore;
        };
        if len > MAX_LEN {
            return Probe::NoMatch;
        }
        let body = d.get(hlen..).unwrap_or(&[]);
        let body = body.get(..body.len().min(len as usize)).unwrap_or(&[]);
        let complete = body.len() == len as usize;
        // Compressed bodies cannot be checked.
        let plain = flags & 0x01 == 0;
        let what = match (resp, op) {
            (false, 0x05) if len == 0 => "OPTIONS".to_string(),
            (false, 0x01) if plain => match string_map_has(body, b"CQL_VERSION", complete) {
                Some(Some(v)) => format!("STARTUP, CQL_VERSION {}", printable(v, 12)),
                Some(None) => return Probe::NeedMore,
                None => return Probe::NoMatch,
            },
            (true, 0x02) if len == 0 => "READY".to_string(),
            (true, 0x06) if plain => {
                let want = b"CQL_VERSION";
                let window = body.get(..body.len().min(256)).unwrap_or(&[]);
                if window.windows(want.len()).any(|w| w == want) {
                    "SUPPORTED".to_string()
                } else if !complete && body.len() < 256 {
                    return Probe::NeedMore;
                } else {
                    return Probe::NoMatch;
                }
            }
            (true, 0x03) if plain => match short_string(body) {
                Some(Some(c))
                    if c.contains(&b'.') && c.iter().all(|&b| (0x21..0x7f).contains(&b)) =>
                {
                    format!("AUTHENTICATE {}", printable(c, 60))
                }
                Some(None) if !complete => return Probe::NeedMore,
                _ => return Probe::NoMatch,
            },
            (false, 0x07 | 0x09) if plain => match long_string(body) {
                Some(Some(q)) => {
                    if !cql_statement(q) {
                        return Probe::NoMatch;
                    }
                    format!(
                        "{} '{}'",
                        if op == 0x07 { "QUERY" } else { "PREPARE" },
                        printable(q, 40)
                    )
                }
                Some(None) if !complete => return Probe::NeedMore,
                _ => return Probe::NoMatch,
            },
            _ => return Probe::NoMatch,
        };
        Probe::Match(Match::new(format!(
            "Cassandra CQL v{ver} {what}{}",
            if resp { " response" } else { "" }
        )))
    }
}

/// `[string map]`: n, then n key/value `[string]`s; the value of `key`.
/// `None` when malformed, `Some(None)` when it may still come.
fn string_map_has<'a>(b: &'a [u8], key: &[u8], complete: bool) -> Option<Option<&'a [u8]>> {
    let partial = if complete { None } else { Some(None) };
    let Some(n) = be16(b, 0) else {
        return partial;
    };
    if n == 0 || n > 32 {
        return None;
    }
    let mut at = 2;
    for _ in 0..n {
        let mut kv = [&[][..]; 2];
        for s in &mut kv {
            let Some(l) = be16(b, at) else {
                return partial;
            };
            let l = usize::from(l);
            let Some(v) = b.get(at + 2..at + 2 + l) else {
                return partial;
            };
            if !v.iter().all(|&c| (0x20..0x7f).contains(&c)) {
                return None;
            }
            *s = v;
            at += 2 + l;
        }
        if kv[0] == key {
            return Some(Some(kv[1]));
        }
    }
    None
}

/// `[string]` (u16 length); `Some(None)` when truncated.
fn short_string(b: &[u8]) -> Option<Option<&[u8]>> {
    let Some(l) = be16(b, 0) else {
        return Some(None);
    };
    if l == 0 {
        return None;
    }
    Some(b.get(2..2 + usize::from(l)))
}

/// `[long string]` (i32 length): the first 64 bytes are enough to judge.
fn long_string(b: &[u8]) -> Option<Option<&[u8]>> {
    let Some(l) = be32(b, 0) else {
        return Some(None);
    };
    if l == 0 || l > MAX_LEN {
        return None;
    }
    let want = (l as usize).min(64);
    Some(b.get(4..4 + want))
}

/// A CQL statement's first keyword (CQL reference, "Statements").
fn cql_statement(q: &[u8]) -> bool {
    let q = q
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .and_then(|i| q.get(i..))
        .unwrap_or(&[]);
    let word = q.split(|b| !b.is_ascii_alphabetic()).next().unwrap_or(&[]);
    [
        &b"SELECT"[..],
        b"INSERT",
        b"UPDATE",
        b"DELETE",
        b"BEGIN",
        b"USE",
        b"CREATE",
        b"ALTER",
        b"DROP",
        b"TRUNCATE",
        b"GRANT",
        b"REVOKE",
        b"LIST",
        b"APPLY",
    ]
    .iter()
    .any(|k| k.eq_ignore_ascii_case(word))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_random_flows_rejected, check_prefixes, evidence, foreign_never_match, probe1, C, S,
    };

    const TCP: Transport = Transport::Tcp;

    /// version | flags | stream (i16) | opcode | length | body (v3+).
    fn frame(ver: u8, stream: i16, op: u8, body: &[u8]) -> Vec<u8> {
        let mut f = vec![ver, 0];
        f.extend_from_slice(&stream.to_be_bytes());
        f.push(op);
        f.extend_from_slice(&(body.len() as u32).to_be_bytes());
        f.extend_from_slice(body);
        f
    }

    fn string(s: &str) -> Vec<u8> {
        let mut v = (s.len() as u16).to_be_bytes().to_vec();
        v.extend_from_slice(s.as_bytes());
        v
    }

    /// STARTUP body: string map { CQL_VERSION: 3.0.0, DRIVER_NAME: ... }.
    fn startup_body() -> Vec<u8> {
        let mut b = 2u16.to_be_bytes().to_vec();
        b.extend(string("DRIVER_NAME"));
        b.extend(string("DataStax Python Driver"));
        b.extend(string("CQL_VERSION"));
        b.extend(string("3.0.0"));
        b
    }

    #[test]
    fn handshake() {
        let opts = frame(0x04, 0, 0x05, b"");
        assert_eq!(
            evidence(probe1(&Cassandra, TCP, C, &opts)),
            "Cassandra CQL v4 OPTIONS"
        );
        let st = frame(0x05, 1, 0x01, &startup_body());
        assert_eq!(
            evidence(probe1(&Cassandra, TCP, C, &st)),
            "Cassandra CQL v5 STARTUP, CQL_VERSION 3.0.0"
        );
        // SUPPORTED: multimap { CQL_VERSION: [3.4.5], COMPRESSION: [lz4] }.
        let mut sup = 2u16.to_be_bytes().to_vec();
        sup.extend(string("CQL_VERSION"));
        sup.extend(1u16.to_be_bytes());
        sup.extend(string("3.4.5"));
        sup.extend(string("COMPRESSION"));
        sup.extend(1u16.to_be_bytes());
        sup.extend(string("lz4"));
        let sup = frame(0x84, 0, 0x06, &sup);
        assert_eq!(
            evidence(probe1(&Cassandra, TCP, S, &sup)),
            "Cassandra CQL v4 SUPPORTED response"
        );
        let ready = frame(0x84, 1, 0x02, b"");
        assert_eq!(
            evidence(probe1(&Cassandra, TCP, S, &ready)),
            "Cassandra CQL v4 READY response"
        );
        let auth = frame(
            0x84,
            1,
            0x03,
            &string("org.apache.cassandra.auth.PasswordAuthenticator"),
        );
        assert_eq!(
            evidence(probe1(&Cassandra, TCP, S, &auth)),
            "Cassandra CQL v4 AUTHENTICATE org.apache.cassandra.auth.PasswordAuthenticator response"
        );
        for (d, dir) in [(&opts, C), (&st, C), (&sup, S), (&ready, S), (&auth, S)] {
            check_prefixes(&Cassandra, TCP, dir, d, b"");
        }
    }

    #[test]
    fn query_mid_session() {
        let q = b"SELECT release_version FROM system.local";
        let mut body = (q.len() as u32).to_be_bytes().to_vec();
        body.extend_from_slice(q);
        body.extend_from_slice(&[0x00, 0x01, 0x00]); // consistency ONE, flags
        let f = frame(0x04, 12, 0x07, &body);
        assert_eq!(
            evidence(probe1(&Cassandra, TCP, C, &f)),
            "Cassandra CQL v4 QUERY 'SELECT release_version FROM system.local'"
        );
        check_prefixes(&Cassandra, TCP, C, &f, b"");
        let mut bad = body.clone();
        bad[4..10].copy_from_slice(b"GET / ");
        assert_eq!(
            probe1(&Cassandra, TCP, C, &frame(0x04, 12, 0x07, &bad)),
            Probe::NoMatch
        );
        // STARTUP without CQL_VERSION.
        let mut b = 1u16.to_be_bytes().to_vec();
        b.extend(string("COMPRESSION"));
        b.extend(string("lz4"));
        assert_eq!(
            probe1(&Cassandra, TCP, C, &frame(0x04, 0, 0x01, &b)),
            Probe::NoMatch
        );
    }

    #[test]
    fn random_foreign() {
        assert_random_flows_rejected(&Cassandra, TCP, 9042);
        foreign_never_match(&Cassandra, TCP);
    }
}
