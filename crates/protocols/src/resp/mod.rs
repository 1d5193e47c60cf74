//! RESP, the REdis Serialization Protocol (redis.io "Redis serialization
//! protocol specification"). nDPI names Redis traffic `RESP`.
//!
//! "Clients send commands to a Redis server as an array of bulk strings.
//! The first (and sometimes also the second) bulk string in the array is
//! the command's name." An array is "*<number-of-elements>\r\n<element-1>
//! ...<element-n>", a bulk string "$<length>\r\n<data>\r\n". The probe
//! parses the client's first array and requires every length to be
//! consistent and the command name to be a word.
//!
//! "Inline commands": a client may also send "space-separated arguments"
//! terminated by CRLF, e.g. "PING". That is too weak alone, so an inline
//! PING only counts when the server answers "+PONG".
//!
//! Server replies ("+OK", "-ERR ...", ":1", "$5", "*2", ...) count only
//! after a RESP client request in the peer: a server that speaks first
//! with "+OK" is POP3, not Redis.

use netsift_proto::{
    printable, Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// RESP (Redis).
pub struct Resp;

impl Protocol for Resp {
    fn name(&self) -> &'static str {
        "RESP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[6379]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        match input.dir {
            Direction::ToServer => match array(input.data) {
                Parse::Ok(a) => Probe::Match(Match::new(a.evidence())),
                Parse::Partial => Probe::NeedMore,
                // An inline PING waits for "+PONG".
                Parse::Bad if inline_ping(input.data).is_some() => match pong(input.peer) {
                    Some(true) => Probe::Match(Match::new("client sent inline PING, server +PONG")),
                    Some(false) => Probe::NoMatch,
                    None => Probe::NeedMore,
                },
                // "PIN" so far: the line may still become PING.
                Parse::Bad
                    if input.data.len() < 4
                        && input
                            .data
                            .eq_ignore_ascii_case(&b"PING"[..input.data.len()]) =>
                {
                    Probe::NeedMore
                }
                Parse::Bad => Probe::NoMatch,
            },
            Direction::ToClient => server(input.data, input.peer),
        }
    }
}

/// Bounds: elements in the first command, digits of a length.
const MAX_ELEMENTS: u64 = 1024;
const MAX_BULK: u64 = 512 * 1024 * 1024;

enum Parse<T> {
    Ok(T),
    Partial,
    Bad,
}

struct Array<'a> {
    n: u64,
    cmd: &'a [u8],
    arg: Option<&'a [u8]>,
    complete: bool,
}

impl Array<'_> {
    fn evidence(&self) -> String {
        let mut e = format!(
            "client sent RESP array of {} ['{}'",
            self.n,
            printable(self.cmd, 24)
        );
        if let Some(a) = self.arg {
            e.push_str(&format!(", '{}'", printable(a, 24)));
        }
        if self.n > 2 || (self.n == 2 && self.arg.is_none()) {
            e.push_str(", ...");
        }
        e.push(']');
        if !self.complete {
            e.push_str(" (first elements)");
        }
        e
    }
}

/// A decimal number terminated by CRLF at `d[at..]`: (value, index after
/// the CRLF).
fn number(d: &[u8], at: usize) -> Parse<(u64, usize)> {
    let mut v: u64 = 0;
    let mut i = at;
    loop {
        let Some(&b) = d.get(i) else {
            return Parse::Partial;
        };
        match b {
            b'0'..=b'9' if i - at < 10 => v = v * 10 + u64::from(b - b'0'),
            b'\r' if i > at => {
                return match d.get(i + 1) {
                    None => Parse::Partial,
                    Some(b'\n') => Parse::Ok((v, i + 2)),
                    Some(_) => Parse::Bad,
                };
            }
            _ => return Parse::Bad,
        }
        i += 1;
    }
}

/// One bulk string "$len\r\ndata\r\n" at `d[at..]`.
fn bulk(d: &[u8], at: usize) -> Parse<(&[u8], usize)> {
    match d.get(at) {
        None => return Parse::Partial,
        Some(b'$') => {}
        Some(_) => return Parse::Bad,
    }
    let (len, start) = match number(d, at + 1) {
        Parse::Ok(x) => x,
        Parse::Partial => return Parse::Partial,
        Parse::Bad => return Parse::Bad,
    };
    if len > MAX_BULK {
        return Parse::Bad;
    }
    let end = start + len as usize;
    match (d.get(end), d.get(end + 1)) {
        (Some(b'\r'), Some(b'\n')) => Parse::Ok((d.get(start..end).unwrap_or(&[]), end + 2)),
        (Some(b'\r'), None) | (None, _) => Parse::Partial,
        _ => Parse::Bad,
    }
}

/// Command names are words: "GET", "set", "CLIENT", "COMMAND", "HELLO",
/// "JSON.GET" (modules use a dot).
fn command_name(c: &[u8]) -> bool {
    (2..=32).contains(&c.len())
        && c.first().is_some_and(u8::is_ascii_alphabetic)
        && c.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

fn array(d: &[u8]) -> Parse<Array<'_>> {
    match d.first() {
        None => return Parse::Partial,
        Some(b'*') => {}
        Some(_) => return Parse::Bad,
    }
    let (n, mut at) = match number(d, 1) {
        Parse::Ok(x) => x,
        Parse::Partial => return Parse::Partial,
        Parse::Bad => return Parse::Bad,
    };
    if n == 0 || n > MAX_ELEMENTS {
        return Parse::Bad;
    }
    let mut cmd: &[u8] = &[];
    let mut arg = None;
    for i in 0..n {
        match bulk(d, at) {
            Parse::Ok((s, next)) => {
                if i == 0 {
                    if !command_name(s) {
                        return Parse::Bad;
                    }
                    cmd = s;
                } else if i == 1 {
                    arg = Some(s);
                }
                at = next;
            }
            // A long command (a big SET value) may not fit the prefix the
            // engine keeps: the command name and a consistent start are
            // enough once 8 KiB have been checked.
            Parse::Partial if i > 0 && d.len() >= 8192 => {
                return Parse::Ok(Array {
                    n,
                    cmd,
                    arg,
                    complete: false,
                })
            }
            Parse::Partial => return Parse::Partial,
            Parse::Bad => return Parse::Bad,
        }
    }
    Parse::Ok(Array {
        n,
        cmd,
        arg,
        complete: true,
    })
}

/// "PING" (inline, any case), optionally with an argument.
fn inline_ping(d: &[u8]) -> Option<()> {
    let l = d.get(..d.iter().take(64).position(|&b| b == b'\n')?)?;
    let l = l.strip_suffix(b"\r").unwrap_or(l);
    let verb = l.get(..4)?;
    (verb.eq_ignore_ascii_case(b"PING") && (l.len() == 4 || l.get(4) == Some(&b' '))).then_some(())
}

/// The server's answer to an inline PING: `Some(true)` "+PONG\r\n",
/// `Some(false)` something else, `None` not yet.
fn pong(s: &[u8]) -> Option<bool> {
    const P: &[u8] = b"+PONG\r\n";
    let n = s.len().min(P.len());
    if s.get(..n) != P.get(..n) {
        return Some(false);
    }
    (n == P.len()).then_some(true)
}

/// RESP2/RESP3 reply type bytes: "+" simple string, "-" error, ":"
/// integer, "$" bulk, "*" array, "_" null, "," double, "#" boolean, "!"
/// bulk error, "=" verbatim, "(" big number, "%" map, "~" set, ">" push.
fn reply_type(b: u8) -> bool {
    b"+-:$*_,#!=(%~>".contains(&b)
}

fn server(s: &[u8], c: &[u8]) -> Probe {
    match array(c) {
        // The client's command already matched (the server's side is only
        // looked at for a capture that starts mid-way or out of order):
        // require the reply to start like RESP.
        Parse::Ok(a) => match s.first() {
            None => Probe::NeedMore,
            Some(&b) if reply_type(b) => Probe::Match(Match::new(format!(
                "{}, server replied '{}'",
                a.evidence(),
                printable(s.get(..s.len().min(16)).unwrap_or(&[]), 16)
            ))),
            Some(_) => Probe::NoMatch,
        },
        Parse::Partial if c.is_empty() => {
            // Nothing from the client (yet: or a capture that holds only
            // the server's side). A complete structured reply -- an
            // aggregate or a bulk string whose every length is consistent
            // -- is RESP on its own; simple strings ("+OK") are not (POP3
            // answers with "+OK" too and is told apart by the client's
            // request), so wait for the client then.
            match s.first() {
                Some(&b) if reply_type(b) => match structured_reply(s) {
                    Parse::Ok(kind) => Probe::Match(Match::new(format!(
                        "server sent RESP {kind} reply '{}' (client side not seen)",
                        printable(s, 16)
                    ))),
                    Parse::Partial => Probe::NeedMore,
                    // "+OK ..." and the like: wait for the client.
                    Parse::Bad if !b"*%~>$|!=".contains(&b) => Probe::NeedMore,
                    Parse::Bad => Probe::NoMatch,
                },
                _ => Probe::NoMatch,
            }
        }
        Parse::Partial => Probe::NeedMore,
        Parse::Bad => {
            if inline_ping(c).is_some() && pong(s) == Some(true) {
                Probe::Match(Match::new("client sent inline PING, server +PONG"))
            } else if inline_ping(c).is_some() && pong(s).is_none() {
                Probe::NeedMore
            } else {
                Probe::NoMatch
            }
        }
    }
}

/// Most nesting and elements a one-sided reply is read to.
const MAX_DEPTH: u8 = 8;
const MAX_REPLY_ELEMENTS: u64 = 256;

/// A server's first reply when it is structured: an aggregate ("*" array,
/// "%" map, "~" set, ">" push, "|" attribute) of at least one element, or
/// a non-empty bulk ("$" string, "!" bulk error, "=" verbatim), every
/// length consistent and ending on a value boundary. Returns its kind.
fn structured_reply(s: &[u8]) -> Parse<&'static str> {
    let kind = match s.first() {
        Some(b'*') => "array",
        Some(b'%') => "map",
        Some(b'~') => "set",
        Some(b'>') => "push",
        Some(b'|') => "attribute",
        Some(b'$' | b'!' | b'=') => "bulk",
        _ => return Parse::Bad,
    };
    // A null or empty value ("*0", "$-1", "$0") says too little.
    if matches!(s.get(1), Some(b'0' | b'-')) {
        return Parse::Bad;
    }
    match value(s, 0, 0) {
        Parse::Ok(end) => match s.get(end) {
            // Followed by nothing or by the next reply.
            None => Parse::Ok(kind),
            Some(&b) if reply_type(b) => Parse::Ok(kind),
            Some(_) => Parse::Bad,
        },
        Parse::Partial if s.len() >= 8192 => Parse::Ok(kind),
        Parse::Partial => Parse::Partial,
        Parse::Bad => Parse::Bad,
    }
}

/// One RESP2/RESP3 value at `d[at..]` (RESP3 specification, "RESP3
/// types"): the index after it.
fn value(d: &[u8], at: usize, depth: u8) -> Parse<usize> {
    let Some(&t) = d.get(at) else {
        return Parse::Partial;
    };
    // "-1" lengths: the RESP2 null bulk string and null array.
    if matches!(t, b'$' | b'*') && d.get(at + 1) == Some(&b'-') {
        return match d.get(at + 2..at + 5) {
            Some(b"1\r\n") => Parse::Ok(at + 5),
            Some(_) => Parse::Bad,
            None => Parse::Partial,
        };
    }
    match t {
        // Simple types: a line of text.
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => {
            let end = d.len().min(at + 512);
            match d
                .get(at + 1..end)
                .and_then(|l| l.iter().position(|&b| b == b'\n'))
            {
                Some(i) if i > 0 && d.get(at + i) == Some(&b'\r') => {
                    let line = d.get(at + 1..at + i).unwrap_or(&[]);
                    if line
                        .iter()
                        .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80)
                    {
                        Parse::Ok(at + i + 2)
                    } else {
                        Parse::Bad
                    }
                }
                Some(_) => Parse::Bad,
                None if end - at < 512 => Parse::Partial,
                None => Parse::Bad,
            }
        }
        b'$' | b'!' | b'=' => {
            let (len, start) = match number(d, at + 1) {
                Parse::Ok(x) => x,
                Parse::Partial => return Parse::Partial,
                Parse::Bad => return Parse::Bad,
            };
            if len > MAX_BULK {
                return Parse::Bad;
            }
            let end = start + len as usize;
            match (d.get(end), d.get(end + 1)) {
                (Some(b'\r'), Some(b'\n')) => Parse::Ok(end + 2),
                (Some(b'\r'), None) | (None, _) => Parse::Partial,
                _ => Parse::Bad,
            }
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            if depth >= MAX_DEPTH {
                return Parse::Bad;
            }
            let (n, mut p) = match number(d, at + 1) {
                Parse::Ok(x) => x,
                Parse::Partial => return Parse::Partial,
                Parse::Bad => return Parse::Bad,
            };
            let n = if matches!(t, b'%' | b'|') { n * 2 } else { n };
            if n > MAX_REPLY_ELEMENTS * 2 {
                return Parse::Bad;
            }
            for _ in 0..n {
                match value(d, p, depth + 1) {
                    Parse::Ok(next) => p = next,
                    other => return other,
                }
            }
            Parse::Ok(p)
        }
        _ => Parse::Bad,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use netsift_proto::Direction::{ToClient, ToServer};

    // resp.pcap (192.168.88.221:51882 -> 192.168.88.231:6379): frame 4
    // "*1\r\n$7\r\nCOMMAND\r\n", frame 6 the start of the server's reply
    // (first 512 bytes).
    const COMMAND: &[u8] = include_bytes!("testdata/client_command.bin");
    const REPLY: &[u8] = include_bytes!("testdata/server_reply.bin");

    fn probe(dir: Direction, data: &[u8], peer: &[u8]) -> Probe {
        run(&Resp, Transport::Tcp, dir, data, peer)
    }

    #[test]
    fn real_command() {
        assert_eq!(
            evidence(probe(ToServer, COMMAND, &[])),
            "client sent RESP array of 1 ['COMMAND']"
        );
        assert!(evidence(probe(ToClient, REPLY, COMMAND)).contains("server replied '*240"));
        let set = b"*3\r\n$3\r\nset\r\n$4\r\ntest\r\n$12\r\nHello world!\r\n";
        assert_eq!(
            evidence(probe(ToServer, set, &[])),
            "client sent RESP array of 3 ['set', 'test', ...]"
        );
    }

    #[test]
    fn inconsistent_lengths_are_not_resp() {
        assert_eq!(
            probe(ToServer, b"*1\r\n$6\r\nCOMMAND\r\n", &[]),
            Probe::NoMatch
        );
        assert_eq!(
            probe(ToServer, b"*2\r\n$3\r\nGET\r\n:1\r\n", &[]),
            Probe::NoMatch
        );
        assert_eq!(probe(ToServer, b"*1\r\n$1\r\n1\r\n", &[]), Probe::NoMatch);
    }

    /// A capture holding only the server's side: a structured reply (the
    /// real COMMAND reply of resp.pcap, a RESP3 HELLO map) is RESP; a
    /// simple "+OK" is not decided without the client (it may be POP3).
    #[test]
    fn server_side_only() {
        // The 512-byte prefix of a long reply: consistent so far.
        assert_eq!(probe(ToClient, REPLY, &[]), Probe::NeedMore);
        let hello = b"%2\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n";
        assert_eq!(
            evidence(probe(ToClient, hello, &[])),
            "server sent RESP map reply '%2\\x0d\\x0a$6\\x0d\\x0aserver\\x0d\\x0a...' (client side not seen)"
        );
        let get = b"$5\r\nhello\r\n*2\r\n$1\r\na\r\n_\r\n";
        assert!(matches!(probe(ToClient, get, &[]), Probe::Match(_)));
        check_prefixes(&Resp, Transport::Tcp, ToClient, hello, &[]);
        assert_eq!(probe(ToClient, b"+OK\r\n", &[]), Probe::NeedMore);
        assert_eq!(probe(ToClient, b"$-1\r\n", &[]), Probe::NoMatch);
        assert_eq!(probe(ToClient, b"*2\r\n$1\r\nab\r\n", &[]), Probe::NoMatch);
        assert_eq!(probe(ToClient, b"$5\r\nhello\r\nxyz", &[]), Probe::NoMatch);
    }

    #[test]
    fn pop3_and_inline_ping() {
        // A server speaking first with +OK is POP3.
        assert_eq!(
            probe(ToClient, b"+OK POP3 ready\r\n", b"USER bob\r\n"),
            Probe::NoMatch
        );
        assert_eq!(probe(ToClient, b"+OK POP3 ready\r\n", &[]), Probe::NeedMore);
        assert_eq!(probe(ToServer, b"PING\r\n", &[]), Probe::NeedMore);
        assert!(matches!(
            probe(ToServer, b"PING\r\n", b"+PONG\r\n"),
            Probe::Match(_)
        ));
        assert!(matches!(
            probe(ToClient, b"+PONG\r\n", b"ping\r\n"),
            Probe::Match(_)
        ));
        assert_eq!(probe(ToServer, b"PING\r\n", b"-ERR\r\n"), Probe::NoMatch);
    }

    #[test]
    fn truncation() {
        check_prefixes(&Resp, Transport::Tcp, ToServer, COMMAND, &[]);
        check_prefixes(&Resp, Transport::Tcp, ToClient, REPLY, COMMAND);
        for n in 0..COMMAND.len() {
            assert_eq!(probe(ToServer, &COMMAND[..n], &[]), Probe::NeedMore, "{n}");
        }
    }

    #[test]
    fn other_protocols_and_random() {
        assert_no_claim_on_others(&Resp, Transport::Tcp);
        assert_random_rate(&Resp, Transport::Tcp);
    }

    #[test]
    fn first_packet_on_a_non_standard_port() {
        match crate::first_packet::identify_first_payload(Transport::Tcp, ToServer, 80, COMMAND) {
            crate::FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "RESP"),
            other => panic!("{other:?}"),
        }
    }
}
