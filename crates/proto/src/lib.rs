//! The contract every netsift protocol implements.
//!
//! A protocol is a value implementing [`Protocol`]: a name (nDPI's spelling,
//! so results compare with nDPI), the transports it runs over, its usual
//! ports, and a **probe** over payload bytes that answers
//! [`Probe::Match`], [`Probe::NoMatch`] or [`Probe::NeedMore`].
//!
//! Rules for probes (the engine relies on them):
//! * **Structure, not ports.** A probe decides from the bytes. The ports in
//!   [`ProbeInput`] may only tell apart variants of a structure the probe has
//!   already recognised (DNS vs mDNS vs LLMNR), never make a match alone.
//! * **Cheap and bounded.** No allocation unless matching (the evidence
//!   string), look at a bounded prefix, never panic on any input.
//! * **No give-up logic.** The engine decides when a flow has been looked at
//!   long enough; a probe answers `NeedMore` whenever more bytes could
//!   change its answer.
//! * **State is tiny.** A probe that must see several packets (RTP's
//!   sequence numbers, say) keeps what it needs in the flow's
//!   [`ProbeScratch`], 16 bytes zeroed at flow start.

// Wire data is hostile: no unwrap/expect outside tests, and no string
// slicing at byte offsets that may split a character (issue 21 §5).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::string_slice)
)]

use std::fmt;
use std::net::IpAddr;

pub mod bytes;
pub mod json;
pub mod record;
pub mod session;
pub mod text;

pub use record::{Record, RecordBody};
pub use session::{BufferKind, FileId, FileMeta, MemSink, Parser, Sink};

/// Transport a probe applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Tcp,
    Udp,
    /// Another IP protocol, by number (ICMP = 1, IGMP = 2, ICMPv6 = 58, ...).
    Ip(u8),
}

impl Transport {
    /// The transport of an IP protocol number.
    pub fn from_ip_proto(p: u8) -> Transport {
        match p {
            6 => Transport::Tcp,
            17 => Transport::Udp,
            n => Transport::Ip(n),
        }
    }
}

/// Direction of a payload relative to the flow's initiator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the initiator (client) to the responder (server).
    ToServer,
    /// From the responder (server) to the initiator (client).
    ToClient,
}

/// Per-flow, per-protocol scratch space for multi-packet probes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProbeScratch(pub [u64; 2]);

/// A set of byte values: what a probe accepts as the first byte of its
/// input ([`Protocol::first_bytes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstBytes(pub [u64; 4]);

impl FirstBytes {
    /// Every byte.
    pub const ANY: FirstBytes = FirstBytes([u64::MAX; 4]);
    /// No byte.
    pub const NONE: FirstBytes = FirstBytes([0; 4]);

    /// Exactly these bytes.
    pub const fn only(bytes: &[u8]) -> FirstBytes {
        let mut s = FirstBytes::NONE;
        let mut i = 0;
        while i < bytes.len() {
            s = s.with(bytes[i]);
            i += 1;
        }
        s
    }

    /// The bytes from `lo` to `hi`, both included.
    pub const fn range(lo: u8, hi: u8) -> FirstBytes {
        let mut s = FirstBytes::NONE;
        let mut b = lo as usize;
        while b <= hi as usize {
            // `b` <= `hi`, a byte.
            s = s.with(b as u8);
            b += 1;
        }
        s
    }

    /// This set and `b`.
    pub const fn with(self, b: u8) -> FirstBytes {
        let mut s = self.0;
        s[(b / 64) as usize] |= 1 << (b % 64);
        FirstBytes(s)
    }

    /// Bytes in either set.
    pub const fn or(self, o: FirstBytes) -> FirstBytes {
        FirstBytes([
            self.0[0] | o.0[0],
            self.0[1] | o.0[1],
            self.0[2] | o.0[2],
            self.0[3] | o.0[3],
        ])
    }

    /// ASCII letters, both cases: the first byte of a text protocol's
    /// method or keyword.
    pub const LETTERS: FirstBytes = FirstBytes::range(b'A', b'Z').or(FirstBytes::range(b'a', b'z'));

    pub fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b / 64)] & (1 << (b % 64)) != 0
    }
}

/// For tests of [`Protocol::first_bytes`]: when `p` does not answer
/// [`Probe::NoMatch`] to `input` (fresh scratch), its first byte must be in
/// the set declared for its transport, and with any first byte outside the
/// set `p` must answer `NoMatch` (a fresh scratch each time). Panics,
/// naming the protocol and the byte, otherwise. Returns whether `input`
/// was one `p` takes, that is whether anything was checked.
pub fn assert_first_bytes(p: &dyn Protocol, input: &ProbeInput<'_>) -> bool {
    let set = p.first_bytes(input.transport);
    let Some(&first) = input.data.first() else {
        return false;
    };
    if matches!(p.probe(input, &mut ProbeScratch::default()), Probe::NoMatch) {
        return false;
    }
    assert!(
        set.contains(first),
        "{}: answers an input starting with {first:#04x}, outside its first_bytes",
        p.name()
    );
    let mut data = input.data.to_vec();
    for b in 0..=255u8 {
        if set.contains(b) {
            continue;
        }
        data[0] = b;
        let changed = ProbeInput {
            data: &data,
            ..*input
        };
        let ans = p.probe(&changed, &mut ProbeScratch::default());
        assert!(
            matches!(ans, Probe::NoMatch),
            "{}: first byte {b:#04x} is outside its first_bytes, but the probe answers {ans:?}",
            p.name()
        );
    }
    true
}

/// What a probe sees.
#[derive(Debug, Clone, Copy)]
pub struct ProbeInput<'a> {
    pub transport: Transport,
    pub dir: Direction,
    /// TCP: the in-order stream prefix of this direction so far (it grows
    /// as segments arrive, up to the engine's bound). UDP and others: this
    /// datagram's payload.
    pub data: &'a [u8],
    /// TCP: the other direction's stream prefix so far. UDP: the other
    /// direction's first datagram. Empty when nothing was seen.
    pub peer: &'a [u8],
    /// 0 for the first payload-carrying packet of this direction, 1 for the
    /// second, ...
    pub index: u32,
    /// Port of the responder (server) and of the initiator (client); 0 for
    /// protocols without ports.
    pub server_port: u16,
    pub client_port: u16,
    /// Responder and initiator addresses, when known (the first-packet API
    /// may not know them).
    pub server_addr: Option<IpAddr>,
    pub client_addr: Option<IpAddr>,
}

impl<'a> ProbeInput<'a> {
    /// The payload's source port.
    pub fn src_port(&self) -> u16 {
        match self.dir {
            Direction::ToServer => self.client_port,
            Direction::ToClient => self.server_port,
        }
    }

    /// The payload's destination port.
    pub fn dst_port(&self) -> u16 {
        match self.dir {
            Direction::ToServer => self.server_port,
            Direction::ToClient => self.client_port,
        }
    }

    /// The server's and the client's bytes, whatever direction this
    /// payload travels: `(server prefix, client prefix)`.
    pub fn server_client(&self) -> (&'a [u8], &'a [u8]) {
        match self.dir {
            Direction::ToClient => (self.data, self.peer),
            Direction::ToServer => (self.peer, self.data),
        }
    }

    /// Whether either port is `p`.
    pub fn either_port(&self, p: u16) -> bool {
        self.server_port == p || self.client_port == p
    }
}

/// A positive identification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// A more specific application (a service from SNI/Host, `HTTP2`, ...).
    pub app: Option<String>,
    /// A short human-readable reason, e.g. `client sent 'GET / HTTP/1.1'`.
    pub evidence: String,
    /// The flow is this protocol unless its later packets show what the
    /// protocol set up: the engine keeps the verdict open and hands later
    /// payloads to [`Protocol::follow`] (STUN before WebRTC's DTLS and SRTP).
    pub provisional: bool,
}

impl Match {
    pub fn new(evidence: impl Into<String>) -> Match {
        Match {
            app: None,
            evidence: evidence.into(),
            provisional: false,
        }
    }

    /// Mark the match provisional (see [`Match::provisional`]).
    pub fn provisional(mut self) -> Match {
        self.provisional = true;
        self
    }

    pub fn with_app(mut self, app: impl Into<String>) -> Match {
        self.app = Some(app.into());
        self
    }
}

/// A probe's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    Match(Match),
    NoMatch,
    NeedMore,
}

/// What [`Protocol::follow`] makes of a later payload of a flow it matched
/// provisionally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Follow {
    /// Still this protocol; keep looking (within the engine's budget).
    Keep,
    /// This protocol for good.
    Settled,
    /// The flow carries another protocol from here on: name it (nDPI's
    /// spelling). The provisional match's app is kept when this has none.
    Becomes(&'static str, Match),
}

/// The contract of a protocol.
pub trait Protocol: Sync + Send {
    /// The protocol's name, in nDPI's spelling (`HTTP`, `TLS`, `SMBv23`...).
    fn name(&self) -> &'static str;
    /// Transports the protocol runs over.
    fn transports(&self) -> &'static [Transport];
    /// Usual server ports: used only to order probes and for the port guess.
    fn ports(&self) -> &'static [u16] {
        &[]
    }
    /// Look at payload bytes.
    fn probe(&self, input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Probe;

    /// The values of `input.data[0]` for which [`probe`](Self::probe) can
    /// answer anything but [`Probe::NoMatch`] when `input.transport` is
    /// `transport`, whatever the rest of the input (direction, index,
    /// ports, peer, scratch): a necessary condition, read off the probe's
    /// own checks and its specification. The engine does not ask a probe
    /// about a datagram whose first byte is outside its UDP set (a UDP
    /// flood of junk asked every UDP probe about every datagram). Default:
    /// every byte. A probe whose first check changes must change this with
    /// it (better: build both from one table or function, as NTP and RakNet
    /// do), or datagrams it now accepts are never offered to it.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::ANY
    }

    /// A later payload of a flow this protocol matched with a provisional
    /// [`Match`]. Only called for such flows; the same scratch as `probe`.
    fn follow(&self, _input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Follow {
        Follow::Settled
    }

    /// A parser that turns a flow of this protocol into records (see
    /// [`session`]); `None` for protocols netsift only identifies.
    fn parser(&self) -> Option<Box<dyn Parser>> {
        None
    }
}

impl fmt::Debug for dyn Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Render up to `max` bytes as printable text for evidence strings:
/// printable ASCII as is, everything else as `\xHH`; `...` when cut.
pub fn printable(bytes: &[u8], max: usize) -> String {
    let mut s = String::with_capacity(max.min(bytes.len()) + 3);
    push_printable(&mut s, bytes, max);
    s
}

/// [`printable`], appended to `out`.
pub fn push_printable(out: &mut String, bytes: &[u8], max: usize) {
    for &b in bytes.iter().take(max) {
        if (0x20..0x7f).contains(&b) && b != b'\\' && b != b'\'' {
            out.push(b as char);
        } else {
            bytes::push_hex_escape(out, b);
        }
    }
    if bytes.len() > max {
        out.push_str("...");
    }
}

/// The first line of `data` (up to CR or LF), at most `max` bytes, if one
/// is complete.
pub fn first_line(data: &[u8], max: usize) -> Option<&[u8]> {
    // memchr, not `iter().take(max).position(..)`: that cost 16
    // instructions a byte, and dozens of probes look for a first line in
    // every datagram of junk (a UDP flood asks them all).
    let end = memchr::memchr2(b'\r', b'\n', head(data, max))?;
    Some(&data[..end])
}

/// The first `max` bytes of `data` (all of it if shorter).
pub fn head(data: &[u8], max: usize) -> &[u8] {
    &data[..data.len().min(max)]
}

/// The first line of a text protocol's stream, without its CR LF:
/// `Ok(line)` when a LF arrived within `max` bytes, `Err(true)` when the
/// line may still come (fewer than `max` bytes and no LF yet), `Err(false)`
/// when it is longer than `max` (not a line of these protocols).
pub fn text_line(d: &[u8], max: usize) -> Result<&[u8], bool> {
    match memchr::memchr(b'\n', head(d, max)) {
        Some(i) => {
            let l = d.get(..i).unwrap_or(&[]);
            Ok(l.strip_suffix(b"\r").unwrap_or(l))
        }
        None => Err(d.len() < max),
    }
}

/// Reply/command text of line-based protocols (FTP, SMTP, POP3, IMAP):
/// tab and bytes from 0x20 up except DEL (8-bit bytes allowed, as real
/// servers send them in banners).
pub fn text_ok(t: &[u8]) -> bool {
    t.iter().all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes_and_cuts() {
        assert_eq!(printable(b"GET /\r\n", 5), "GET /...");
        assert_eq!(printable(b"a\x00'b", 10), "a\\x00\\x27b");
    }

    #[test]
    fn first_line_needs_terminator() {
        assert_eq!(first_line(b"220 hi\r\n", 100), Some(&b"220 hi"[..]));
        assert_eq!(first_line(b"220 hi", 100), None);
        assert_eq!(first_line(b"220 hi\r\n", 3), None);
    }

    #[test]
    fn text_lines() {
        assert_eq!(text_line(b"+OK ready\r\nrest", 100), Ok(&b"+OK ready"[..]));
        assert_eq!(text_line(b"+OK rea", 100), Err(true));
        assert_eq!(text_line(b"+OK ready", 4), Err(false));
        assert!(text_ok(b"220 caf\xc3\xa9\tok"));
        assert!(!text_ok(b"220 \x00"));
    }

    #[test]
    fn ports_by_direction() {
        let p = ProbeInput {
            transport: Transport::Udp,
            dir: Direction::ToClient,
            data: b"",
            peer: b"",
            index: 0,
            server_port: 53,
            client_port: 40000,
            server_addr: None,
            client_addr: None,
        };
        assert_eq!(p.src_port(), 53);
        assert_eq!(p.dst_port(), 40000);
        assert!(p.either_port(40000));
    }
}
