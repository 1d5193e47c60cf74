//! Memcached text and binary protocols (memcached's doc/protocol.txt and
//! doc/protocol-binary.xml), over TCP and UDP.
//!
//! Text protocol (protocol.txt, "Commands"): "<command name> <key>
//! <flags> <exptime> <bytes> [noreply]\r\n" for set/add/replace/append/
//! prepend (cas adds "<cas unique>"), followed by "a data block ... <data
//! block>\r\n" of exactly <bytes> bytes; "get <key>*\r\n", "gets", "gat
//! <exptime> <key>*", "delete <key>", "incr|decr <key> <value>", "touch
//! <key> <exptime>", "stats [<args>]\r\n", "version\r\n", "flush_all",
//! "verbosity", "quit". Replies: "VALUE <key> <flags> <bytes> [<cas
//! unique>]\r\n", "END\r\n", "STORED\r\n", "NOT_STORED", "EXISTS",
//! "NOT_FOUND", "DELETED", "TOUCHED", "STAT <name> <value>\r\n", "VERSION
//! <version>\r\n", "OK", "ERROR", "CLIENT_ERROR", "SERVER_ERROR".
//!
//! Binary protocol: a 24-byte header "Magic (0x80 request, 0x81
//! response), Opcode, Key length (2), Extras length, Data type (0x00 raw
//! bytes), vbucket id / Status (2), Total body length (4), Opaque (4), CAS
//! (8)"; "extras length + key length <= total body length".
//!
//! UDP: "Each UDP datagram contains a simple frame header, followed by
//! data in the same format as the TCP protocol ... 0-1 Request ID, 2-3
//! Sequence number, 4-5 Total number of datagrams in this message, 6-7
//! Reserved for future use; must be 0".
//!
//! A storage command (whose data block length checks out) or a binary
//! message matches alone; other text commands need a memcached reply from
//! the server (or the UDP frame header, which makes them strict enough:
//! this is also how memcached amplification requests look).

use netsift_proto::{
    printable, Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// Memcached.
pub struct Memcached;

impl Protocol for Memcached {
    fn name(&self) -> &'static str {
        "Memcached"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp, Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[11211]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport == Transport::Udp {
            return udp(input.dir, input.data);
        }
        let (data, peer) = (input.data, input.peer);
        if let Some(p) = binary(data) {
            return p;
        }
        match input.dir {
            Direction::ToServer => match command(data) {
                Cmd::Storage(e) => Probe::Match(Match::new(e)),
                Cmd::Other(l) => match reply(peer) {
                    Some(Ok(r)) => Probe::Match(Match::new(format!(
                        "client '{}', server '{}'",
                        printable(l, 40),
                        printable(r, 40)
                    ))),
                    Some(Err(())) => Probe::NoMatch,
                    None => Probe::NeedMore,
                },
                Cmd::Partial => Probe::NeedMore,
                Cmd::No => Probe::NoMatch,
            },
            Direction::ToClient => match command(peer) {
                Cmd::Storage(e) => Probe::Match(Match::new(e)),
                Cmd::Other(l) => match reply(data) {
                    Some(Ok(r)) => Probe::Match(Match::new(format!(
                        "client '{}', server '{}'",
                        printable(l, 40),
                        printable(r, 40)
                    ))),
                    Some(Err(())) => Probe::NoMatch,
                    None => Probe::NeedMore,
                },
                // The reply came first (or the command is still coming).
                Cmd::Partial => match reply(data) {
                    Some(Err(())) => Probe::NoMatch,
                    _ => Probe::NeedMore,
                },
                Cmd::No => Probe::NoMatch,
            },
        }
    }
}

const MAX_LINE: usize = 2048;

enum Cmd<'a> {
    /// A storage command with its data block: evidence.
    Storage(String),
    /// Another well-formed command line.
    Other(&'a [u8]),
    Partial,
    No,
}

fn line(d: &[u8]) -> Result<(&[u8], usize), bool> {
    match d.iter().take(MAX_LINE).position(|&b| b == b'\n') {
        Some(i) => {
            let l = d.get(..i).unwrap_or(&[]);
            match l.strip_suffix(b"\r") {
                Some(l) => Ok((l, i + 1)),
                None => Err(false),
            }
        }
        None => {
            Err(d.len() < MAX_LINE && d.iter().all(|&b| b == b'\r' || (0x20..0x7f).contains(&b)))
        }
    }
}

fn num(t: &[u8]) -> Option<u64> {
    if t.is_empty() || t.len() > 20 || !t.iter().all(u8::is_ascii_digit) {
        return None;
    }
    t.iter().try_fold(0u64, |a, &b| {
        a.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

/// "the key must not include control characters or whitespace", at most
/// 250 bytes.
fn key(t: &[u8]) -> bool {
    !t.is_empty() && t.len() <= 250 && t.iter().all(|&b| b > 0x20 && b != 0x7f)
}

fn command(d: &[u8]) -> Cmd<'_> {
    let (l, used) = match line(d) {
        Ok(x) => x,
        Err(true) => {
            // Commands are lower-case words.
            return if d
                .iter()
                .take_while(|&&b| b != b' ')
                .all(u8::is_ascii_lowercase)
            {
                Cmd::Partial
            } else {
                Cmd::No
            };
        }
        Err(false) => return Cmd::No,
    };
    let mut t = l.split(|&b| b == b' ');
    let verb = t.next().unwrap_or(&[]);
    let args: [&[u8]; 7] = core::array::from_fn(|_| t.next().unwrap_or(&[]));
    let n = args.iter().take_while(|a| !a.is_empty()).count();
    let noreply = |i: usize| n == i || (n == i + 1 && args.get(i) == Some(&&b"noreply"[..]));
    match verb {
        b"set" | b"add" | b"replace" | b"append" | b"prepend" | b"cas" => {
            let fixed = if verb == b"cas" { 5 } else { 4 };
            let ok = key(args[0])
                && num(args[1]).is_some_and(|f| f <= u64::from(u32::MAX))
                && num(args[2]).is_some()
                && noreply(fixed)
                && (verb != b"cas" || num(args[4]).is_some());
            let Some(bytes) = num(args[3]).filter(|&b| ok && b <= 1 << 20) else {
                return Cmd::No;
            };
            // "<data block>\r\n" right after the command line.
            let end = used + bytes as usize;
            match (d.get(end), d.get(end + 1)) {
                (Some(b'\r'), Some(b'\n')) => Cmd::Storage(format!(
                    "client storage command '{}' with its {bytes}-byte data block",
                    printable(l, 60)
                )),
                (None, _) | (Some(b'\r'), None) => Cmd::Partial,
                _ => Cmd::No,
            }
        }
        b"get" | b"gets" if n >= 1 && args.iter().take(n).all(|a| key(a)) => Cmd::Other(l),
        b"gat" | b"gats" if n >= 2 && num(args[0]).is_some() => Cmd::Other(l),
        b"delete" if key(args[0]) && noreply(1) => Cmd::Other(l),
        b"incr" | b"decr" if key(args[0]) && num(args[1]).is_some() && noreply(2) => Cmd::Other(l),
        b"touch" if key(args[0]) && num(args[1]).is_some() && noreply(2) => Cmd::Other(l),
        b"stats" if n <= 2 => Cmd::Other(l),
        b"version" | b"quit" | b"shutdown" if n == 0 => Cmd::Other(l),
        b"flush_all" | b"verbosity" if n <= 2 => Cmd::Other(l),
        _ => Cmd::No,
    }
}

/// The server's first line: `Some(Ok(line))` a memcached reply,
/// `Some(Err(()))` not one, `None` not yet.
fn reply(d: &[u8]) -> Option<Result<&[u8], ()>> {
    if d.is_empty() {
        return None;
    }
    let l = match line(d) {
        Ok((l, _)) => l,
        Err(true) => return None,
        Err(false) => return Some(Err(())),
    };
    let word = l.split(|&b| b == b' ').next().unwrap_or(&[]);
    const EXACT: &[&[u8]] = &[
        b"END",
        b"STORED",
        b"NOT_STORED",
        b"EXISTS",
        b"NOT_FOUND",
        b"DELETED",
        b"TOUCHED",
        b"OK",
        b"ERROR",
        b"RESET",
    ];
    let ok = EXACT.contains(&l)
        || (word == b"VALUE" && l.split(|&b| b == b' ').count() >= 4)
        || (word == b"STAT" && l.split(|&b| b == b' ').count() >= 3)
        || (word == b"VERSION" && l.len() > 8)
        || word == b"CLIENT_ERROR"
        || word == b"SERVER_ERROR"
        || num(l).is_some();
    Some(if ok { Ok(l) } else { Err(()) })
}

/// Binary protocol: `None` when the first byte is no magic.
fn binary(d: &[u8]) -> Option<Probe> {
    let magic = *d.first()?;
    if magic != 0x80 && magic != 0x81 {
        return None;
    }
    let Some(h) = d.get(..24) else {
        return Some(Probe::NeedMore);
    };
    let opcode = h[1];
    let key_len = usize::from(u16::from_be_bytes([h[2], h[3]]));
    let extras = usize::from(h[4]);
    let status = u16::from_be_bytes([h[6], h[7]]);
    let body = u32::from_be_bytes([h[8], h[9], h[10], h[11]]) as usize;
    // "Data type, Reserved for future use (Sean is using this soon)": 0.
    // Opcodes 0x00-0x48 are defined; response status codes 0x00-0x08,
    // 0x20-0x24, 0x81-0x86.
    let status_ok = magic == 0x80 || matches!(status, 0..=8 | 0x20..=0x24 | 0x81..=0x86);
    if h[5] != 0 || opcode > 0x48 || extras + key_len > body || body > (1 << 20) || !status_ok {
        return Some(Probe::NoMatch);
    }
    // Per opcode: Get/GetQ/GetK/GetKQ (0x00, 0x09, 0x0c, 0x0d) requests
    // "MUST NOT have extras" and "MUST have key"; Set/Add/Replace
    // (0x01-0x03) requests "MUST have extras" (8 bytes: flags, expiration)
    // and a key.
    let req_ok = match opcode {
        0x00 | 0x09 | 0x0c | 0x0d => extras == 0 && key_len > 0,
        0x01..=0x03 | 0x11..=0x13 => extras == 8 && key_len > 0,
        0x04 | 0x14 => extras == 0 && key_len > 0,
        0x0a | 0x0b | 0x10 => key_len == 0 || opcode == 0x10,
        _ => true,
    };
    if magic == 0x80 && !req_ok {
        return Some(Probe::NoMatch);
    }
    let k = d.get(24 + extras..24 + extras + key_len);
    match k {
        None => return Some(Probe::NeedMore),
        Some(k) if !(k.is_empty() || key(k)) => return Some(Probe::NoMatch),
        _ => {}
    }
    let what = if magic == 0x80 { "request" } else { "response" };
    Some(Probe::Match(Match::new(format!(
        "binary {what} opcode 0x{opcode:02x}{}",
        k.filter(|k| !k.is_empty())
            .map(|k| format!(", key '{}'", printable(k, 40)))
            .unwrap_or_default()
    ))))
}

fn udp(dir: Direction, d: &[u8]) -> Probe {
    let Some(h) = d.get(..8) else {
        return Probe::NoMatch;
    };
    let seq = u16::from_be_bytes([h[2], h[3]]);
    let total = u16::from_be_bytes([h[4], h[5]]);
    // "Reserved for future use; must be 0"; "Sequence number" < total.
    if h[6] != 0 || h[7] != 0 || total == 0 || seq >= total || total > 1024 {
        return Probe::NoMatch;
    }
    let body = d.get(8..).unwrap_or(&[]);
    if let Some(p) = binary(body) {
        return match p {
            Probe::Match(m) => Probe::Match(Match::new(format!("UDP frame, {}", m.evidence))),
            _ => Probe::NoMatch,
        };
    }
    match dir {
        // A request is one datagram ("seq 0 of 1").
        Direction::ToServer if seq == 0 && total == 1 => match command(body) {
            Cmd::Storage(e) => Probe::Match(Match::new(format!("UDP frame, {e}"))),
            Cmd::Other(l) => Probe::Match(Match::new(format!(
                "UDP frame, client '{}'",
                printable(l, 60)
            ))),
            _ => Probe::NoMatch,
        },
        // Only the first datagram of a reply starts with a reply line.
        Direction::ToClient if seq == 0 => match reply(body) {
            Some(Ok(l)) => Probe::Match(Match::new(format!(
                "UDP frame, server '{}'",
                printable(l, 60)
            ))),
            _ => Probe::NoMatch,
        },
        _ => Probe::NoMatch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use netsift_proto::Direction::{ToClient, ToServer};

    // The exchanges of crates/cli/tests/nonstd/memcached_tcp443_udp443.pcap
    // (memcached 1.6 on loopback, make-db.sh), byte for byte.
    const SET: &[u8] = b"set netsift 0 60 5\r\nhello\r\n";
    const GET: &[u8] = b"get netsift\r\n";
    const VALUE: &[u8] = b"VALUE netsift 0 5\r\nhello\r\nEND\r\n";
    const UDP_GET: &[u8] = b"\x00\x01\x00\x00\x00\x01\x00\x00get netsift\r\n";
    const UDP_STATS: &[u8] = b"\x00\x00\x00\x00\x00\x01\x00\x00stats\r\n";
    const BIN_GET: &[u8] =
        b"\x80\x00\x00\x07\x00\x00\x00\x00\x00\x00\x00\x07\x00\x00\x00\x01\0\0\0\0\0\0\0\0netsift";

    fn probe(t: Transport, dir: Direction, data: &[u8], peer: &[u8]) -> Probe {
        run(&Memcached, t, dir, data, peer)
    }

    #[test]
    fn text_protocol() {
        assert_eq!(
            evidence(probe(Transport::Tcp, ToServer, SET, &[])),
            "client storage command 'set netsift 0 60 5' with its 5-byte data block"
        );
        assert_eq!(probe(Transport::Tcp, ToServer, GET, &[]), Probe::NeedMore);
        assert_eq!(
            evidence(probe(Transport::Tcp, ToServer, GET, VALUE)),
            "client 'get netsift', server 'VALUE netsift 0 5'"
        );
        assert!(matches!(
            probe(Transport::Tcp, ToClient, VALUE, GET),
            Probe::Match(_)
        ));
        assert_eq!(
            probe(Transport::Tcp, ToServer, GET, b"+OK\r\n"),
            Probe::NoMatch
        );
        // A wrong data block length.
        assert_eq!(
            probe(Transport::Tcp, ToServer, b"set k 0 0 3\r\nhello\r\n", &[]),
            Probe::NoMatch
        );
        // HTTP's "GET" is upper case.
        assert_eq!(
            probe(Transport::Tcp, ToServer, b"GET / HTTP/1.0\r\n", &[]),
            Probe::NoMatch
        );
    }

    #[test]
    fn binary_and_udp() {
        assert_eq!(
            evidence(probe(Transport::Tcp, ToServer, BIN_GET, &[])),
            "binary request opcode 0x00, key 'netsift'"
        );
        assert_eq!(
            evidence(probe(Transport::Udp, ToServer, UDP_GET, &[])),
            "UDP frame, client 'get netsift'"
        );
        assert!(matches!(
            probe(Transport::Udp, ToServer, UDP_STATS, &[]),
            Probe::Match(_)
        ));
        let mut r = b"\x00\x01\x00\x00\x00\x01\x00\x00".to_vec();
        r.extend_from_slice(VALUE);
        assert!(matches!(
            probe(Transport::Udp, ToClient, &r, UDP_GET),
            Probe::Match(_)
        ));
        // Reserved bytes must be 0.
        assert_eq!(
            probe(
                Transport::Udp,
                ToServer,
                b"\x00\x01\x00\x00\x00\x01\x00\x01stats\r\n",
                &[]
            ),
            Probe::NoMatch
        );
    }

    #[test]
    fn truncation() {
        for (dir, d, p) in [
            (ToServer, SET, &b""[..]),
            (ToServer, GET, VALUE),
            (ToServer, BIN_GET, b""),
        ] {
            check_prefixes(&Memcached, Transport::Tcp, dir, d, p);
            for n in 0..d.len() {
                assert_eq!(
                    probe(Transport::Tcp, dir, &d[..n], p),
                    Probe::NeedMore,
                    "{n}"
                );
            }
        }
        check_prefixes(&Memcached, Transport::Udp, ToServer, UDP_GET, &[]);
    }

    #[test]
    fn other_protocols_and_random() {
        assert_no_claim_on_others(&Memcached, Transport::Tcp);
        assert_no_claim_on_others(&Memcached, Transport::Udp);
        assert_random_rate(&Memcached, Transport::Tcp);
        assert_random_rate(&Memcached, Transport::Udp);
    }

    #[test]
    fn first_packet_on_a_non_standard_port() {
        match crate::first_packet::identify_first_payload(Transport::Udp, ToServer, 53, UDP_STATS) {
            crate::FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "Memcached"),
            other => panic!("{other:?}"),
        }
    }
}
