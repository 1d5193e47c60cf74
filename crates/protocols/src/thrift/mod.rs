//! Apache Thrift RPC messages, over TCP (framed or unframed) and UDP.
//!
//! Specifications: the Thrift binary protocol (`doc/specs/thrift-binary-
//! protocol.md` of Apache Thrift) and compact protocol
//! (`thrift-compact-protocol.md`), and the framed transport
//! (`thrift-rpc.md`: "a 4 byte frame size ... followed by the message").
//!
//! * Binary, strict encoding: `0x80 0x01` (version 1, bit 31 set), one
//!   unused octet 0x00, the message type (1 call, 2 reply, 3 exception,
//!   4 oneway), then `name length(4) | name | seqid(4)`.
//! * Compact: protocol id `0x82`, then `type(3 bits) version(5 bits)` with
//!   version 1 (so 0x21, 0x41, 0x61 or 0x81), seqid as a var int, name
//!   length as a var int, the name.
//! * Framed: a big-endian 32-bit frame size before either.
//!
//! The method name must be a printable identifier; a message header with
//! its name matches (Jaeger agents send compact `emitBatch` oneway calls
//! over UDP). The old non-strict binary encoding (a bare name length
//! first) has no fixed octet and is not claimed.

use netsift_proto::bytes::{be32, u8_at};
use netsift_proto::{
    printable, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// Thrift.
pub struct Thrift;

const MAX_NAME: usize = 128;

fn mtype(t: u8) -> Option<&'static str> {
    Some(match t {
        1 => "call",
        2 => "reply",
        3 => "exception",
        4 => "oneway",
        _ => return None,
    })
}

fn name_ok(n: &[u8]) -> bool {
    !n.is_empty()
        && n.iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-' | b'$'))
}

/// Outcome of reading a header at the start of `d`.
enum Hdr<'a> {
    Yes(&'static str, &'static str, &'a [u8]),
    No,
    More,
}

fn binary(d: &[u8]) -> Hdr<'_> {
    for (i, want) in [0x80u8, 0x01, 0x00].iter().enumerate() {
        match d.get(i) {
            None => return Hdr::More,
            Some(b) if b != want => return Hdr::No,
            _ => {}
        }
    }
    let Some(t) = u8_at(d, 3) else {
        return Hdr::More;
    };
    let Some(t) = mtype(t) else {
        return Hdr::No;
    };
    let Some(n) = be32(d, 4) else {
        return Hdr::More;
    };
    let n = n as usize;
    if n == 0 || n > MAX_NAME {
        return Hdr::No;
    }
    let avail = d.get(8..).unwrap_or(&[]);
    let name = avail.get(..n.min(avail.len())).unwrap_or(&[]);
    if !name.is_empty() && !name_ok(name) {
        return Hdr::No;
    }
    if name.len() < n || d.len() < 8 + n + 4 {
        return Hdr::More;
    }
    Hdr::Yes("binary", t, name)
}

/// A ULEB128 var int of at most 5 octets.
fn varint(d: &[u8], off: usize) -> Option<Option<(u32, usize)>> {
    let mut v: u32 = 0;
    for i in 0..5 {
        let Some(&b) = d.get(off + i) else {
            return Some(None);
        };
        v |= u32::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some(Some((v, off + i + 1)));
        }
    }
    None
}

fn compact(d: &[u8]) -> Hdr<'_> {
    match d.first() {
        None => return Hdr::More,
        Some(0x82) => {}
        Some(_) => return Hdr::No,
    }
    let Some(b) = u8_at(d, 1) else {
        return Hdr::More;
    };
    if b & 0x1f != 1 {
        return Hdr::No;
    }
    let Some(t) = mtype(b >> 5) else {
        return Hdr::No;
    };
    let (_, o) = match varint(d, 2) {
        None => return Hdr::No,
        Some(None) => return Hdr::More,
        Some(Some(x)) => x,
    };
    let (n, o) = match varint(d, o) {
        None => return Hdr::No,
        Some(None) => return Hdr::More,
        Some(Some(x)) => x,
    };
    let n = n as usize;
    if n == 0 || n > MAX_NAME {
        return Hdr::No;
    }
    let avail = d.get(o..).unwrap_or(&[]);
    let name = avail.get(..n.min(avail.len())).unwrap_or(&[]);
    if !name.is_empty() && !name_ok(name) {
        return Hdr::No;
    }
    if name.len() < n {
        return Hdr::More;
    }
    Hdr::Yes("compact", t, name)
}

fn message(d: &[u8]) -> Hdr<'_> {
    match d.first() {
        Some(0x80) => binary(d),
        Some(0x82) => compact(d),
        None => Hdr::More,
        _ => Hdr::No,
    }
}

impl Protocol for Thrift {
    fn name(&self) -> &'static str {
        "Thrift"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp, Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[9090, 6831, 6832]
    }
    // Binary protocol (strict): "0x80 0x01"; compact protocol id 0x82;
    // framed: a 4-byte frame size (at most 16 MiB here, high byte 0).
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x80, 0x82, 0x00])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let tcp = input.transport == Transport::Tcp;
        let (hdr, framed) = match d.first() {
            Some(0x80 | 0x82) => (message(d), false),
            // A frame size below 16 MiB (the default maximum frame size of
            // the Thrift libraries) then a message.
            Some(0) => match (be32(d, 0), d.get(4..)) {
                (Some(sz), Some(rest)) if sz as usize >= 4 && sz <= 16 << 20 => {
                    (message(rest), true)
                }
                (Some(_), _) => (Hdr::No, true),
                (None, _) => (Hdr::More, true),
            },
            None => (Hdr::More, false),
            _ => (Hdr::No, false),
        };
        match hdr {
            Hdr::Yes(proto, t, name) => Probe::Match(Match::new(format!(
                "Thrift {proto}{} {t} '{}'",
                if framed { " framed" } else { "" },
                printable(name, 60)
            ))),
            Hdr::More if tcp => Probe::NeedMore,
            _ => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const TCP: Transport = Transport::Tcp;
    const UDP: Transport = Transport::Udp;
    // Sources: testdata/README.md.
    const CALL: &[u8] = include_bytes!("testdata/binary_call.bin");
    const REPLY: &[u8] = include_bytes!("testdata/binary_reply.bin");
    const JAEGER: &[u8] = include_bytes!("testdata/compact_oneway.bin");

    #[test]
    fn messages() {
        assert_eq!(
            evidence(probe1(&Thrift, TCP, C, CALL)),
            "Thrift binary call 'anonymous_command_on'"
        );
        assert_eq!(
            evidence(probe1(&Thrift, TCP, S, REPLY)),
            "Thrift binary reply 'anonymous_command_on'"
        );
        assert_eq!(
            evidence(probe1(&Thrift, UDP, C, JAEGER)),
            "Thrift compact oneway 'emitBatch'"
        );
        let mut framed = (CALL.len() as u32).to_be_bytes().to_vec();
        framed.extend_from_slice(CALL);
        assert_eq!(
            evidence(probe1(&Thrift, TCP, C, &framed)),
            "Thrift binary framed call 'anonymous_command_on'"
        );
    }

    #[test]
    fn malformed() {
        let mut b = CALL.to_vec();
        b[3] = 5;
        assert_eq!(probe1(&Thrift, TCP, C, &b), Probe::NoMatch);
        let mut b = CALL.to_vec();
        b[9] = b' ';
        assert_eq!(probe1(&Thrift, TCP, C, &b), Probe::NoMatch);
        let mut b = JAEGER.to_vec();
        b[1] = 0x22; // version 2
        assert_eq!(probe1(&Thrift, UDP, C, &b), Probe::NoMatch);
    }

    #[test]
    fn prefixes_random_foreign() {
        check_prefixes(&Thrift, TCP, C, CALL, b"");
        check_prefixes(&Thrift, UDP, C, &JAEGER[..40], b"");
        assert_random_flows_rejected(&Thrift, TCP, 9090);
        assert_random_flows_rejected(&Thrift, UDP, 6831);
        foreign_never_match(&Thrift, TCP);
        assert_foreign_rejected(&Thrift, "thrift");
    }

    #[test]
    fn first_bytes_declared() {
        crate::testkit::first_bytes_hold(&Thrift, &crate::testkit::input(TCP, C, CALL, &[], 0));
        crate::testkit::first_bytes_hold(&Thrift, &crate::testkit::input(TCP, S, REPLY, CALL, 0));
        crate::testkit::first_bytes_hold(&Thrift, &crate::testkit::input(UDP, C, JAEGER, &[], 0));
        let mut framed = (CALL.len() as u32).to_be_bytes().to_vec();
        framed.extend_from_slice(CALL);
        crate::testkit::first_bytes_hold(&Thrift, &crate::testkit::input(TCP, C, &framed, &[], 0));
        crate::testkit::first_bytes_hold(&Thrift, &crate::testkit::input(UDP, C, &framed, &[], 0));
    }
}
