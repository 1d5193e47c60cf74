//! MongoDB wire protocol (mongodb.com docs, "MongoDB Wire Protocol").
//!
//! "struct MsgHeader { int32 messageLength; // total message size,
//! including this; int32 requestID; int32 responseTo; int32 opCode; }",
//! little-endian. Opcodes: OP_REPLY 1, OP_UPDATE 2001, OP_INSERT 2002,
//! OP_QUERY 2004, OP_GET_MORE 2005, OP_DELETE 2006, OP_KILL_CURSORS 2007,
//! OP_COMPRESSED 2012, OP_MSG 2013.
//!
//! The probe checks the header and then the body of the opcode: the BSON
//! documents' int32 lengths must fit the message ("document ... int32
//! total number of bytes ... e_list \x00"), the collection names are
//! "db.collection" C strings, flag words only use defined bits. A message
//! must be complete (or its checked part, for one over 4 KiB).

use netsift_proto::bytes::le32;
use netsift_proto::{printable, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// MongoDB.
pub struct Mongodb;

impl Protocol for Mongodb {
    fn name(&self) -> &'static str {
        "MongoDB"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[27017]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        // Requests and replies share the header: either direction.
        message(input.data)
    }
}

/// "maxMessageSizeBytes" defaults to 48 MB.
const MAX_MESSAGE: u32 = 48_000_000;
/// How much of a message is checked.
const CHECK: usize = 4096;

/// A C string at `at`: (bytes, index after the NUL).
fn cstring(d: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let rest = d.get(at..)?;
    let n = rest.iter().take(256).position(|&b| b == 0)?;
    Some((rest.get(..n)?, at + n + 1))
}

/// "fullCollectionName: the full collection name ... the concatenation of
/// the database name with the collection name, using a . for the
/// concatenation" ("admin.$cmd").
fn collection(d: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let (c, next) = cstring(d, at)?;
    let dot = c.iter().position(|&b| b == b'.')?;
    (dot > 0 && dot + 1 < c.len() && c.iter().all(|&b| b.is_ascii_graphic())).then_some((c, next))
}

/// A BSON document at `at` within a message of `end` bytes: "document ::=
/// int32 e_list '\x00'", at least 5 bytes; when it lies within the
/// checked bytes, its last byte must be 0 and its first element a known
/// type. Returns the index after it.
fn document(d: &[u8], at: usize, end: usize) -> Option<usize> {
    let len = le32(d, at)? as usize;
    if len < 5 || at + len > end {
        return None;
    }
    if let Some(&last) = d.get(at + len - 1) {
        if last != 0 {
            return None;
        }
    }
    if len > 5 {
        // "element ::= signed_byte(type) e_name value", types 0x01..0x13,
        // 0x7f, 0xff.
        let t = *d.get(at + 4)?;
        if !matches!(t, 0x01..=0x13 | 0x7f | 0xff) {
            return None;
        }
    }
    Some(at + len)
}

const OPS: &[(u32, &str)] = &[
    (1, "OP_REPLY"),
    (2001, "OP_UPDATE"),
    (2002, "OP_INSERT"),
    (2004, "OP_QUERY"),
    (2005, "OP_GET_MORE"),
    (2006, "OP_DELETE"),
    (2007, "OP_KILL_CURSORS"),
    (2012, "OP_COMPRESSED"),
    (2013, "OP_MSG"),
];

fn message(d: &[u8]) -> Probe {
    let Some(len) = le32(d, 0) else {
        return Probe::NeedMore;
    };
    if !(16..=MAX_MESSAGE).contains(&len) {
        return Probe::NoMatch;
    }
    let Some(op) = le32(d, 12) else {
        return Probe::NeedMore;
    };
    let Some(&(_, name)) = OPS.iter().find(|(o, _)| *o == op) else {
        return Probe::NoMatch;
    };
    let end = len as usize;
    if d.len() < end.min(CHECK) {
        return Probe::NeedMore;
    }
    match body(d, op, end) {
        Some(detail) => Probe::Match(Match::new(format!("{name} ({len} bytes){detail}"))),
        None => Probe::NoMatch,
    }
}

fn body(d: &[u8], op: u32, end: usize) -> Option<String> {
    match op {
        2004 => {
            // "int32 flags; cstring fullCollectionName; int32 numberToSkip;
            // int32 numberToReturn; document query". Flag bit 0 is
            // reserved, bits 8-31 undefined.
            let flags = le32(d, 16)?;
            if flags & !0xfe != 0 {
                return None;
            }
            let (c, at) = collection(d, 20)?;
            let q = document(d, at + 8, end)?;
            if q != end {
                // "[ document returnFieldsSelector; ]" is optional.
                document(d, q, end).filter(|&e| e == end)?;
            }
            let cmd = cstring(d, at + 13).map(|(k, _)| k).unwrap_or(&[]);
            Some(format!(
                " on '{}' {{{}: ...}}",
                printable(c, 40),
                printable(cmd, 24)
            ))
        }
        2013 => {
            // "uint32 flagBits; Sections[] sections; optional<uint32>
            // checksum". Defined bits: 0 checksumPresent, 1 moreToCome,
            // 16 exhaustAllowed; "the first 16 bits (0-15) are required".
            let flags = le32(d, 16)?;
            if flags & !0x0001_0003 != 0 {
                return None;
            }
            let stop = if flags & 1 != 0 {
                end.checked_sub(4)?
            } else {
                end
            };
            // "Kind 0: Body ... a single BSON object"; "Kind 1: Document
            // Sequence ... int32 size, cstring identifier, documents".
            match d.get(20)? {
                0 => {
                    let e = document(d, 21, stop)?;
                    if e > stop {
                        return None;
                    }
                    let cmd = cstring(d, 26).map(|(k, _)| k).unwrap_or(&[]);
                    Some(format!(" {{{}: ...}}", printable(cmd, 24)))
                }
                1 => {
                    let size = le32(d, 21)? as usize;
                    if size < 5 || 21 + size > stop {
                        return None;
                    }
                    let (id, _) = cstring(d, 25)?;
                    (!id.is_empty() && id.iter().all(|&b| b.is_ascii_graphic()))
                        .then(|| format!(" document sequence '{}'", printable(id, 24)))
                }
                _ => None,
            }
        }
        1 => {
            // "int32 responseFlags; int64 cursorID; int32 startingFrom;
            // int32 numberReturned; document* documents". Flags bits 0-3.
            let flags = le32(d, 16)?;
            let n = le32(d, 32)?;
            if flags & !0xf != 0 || n > 1_000_000 || le32(d, 8)? == 0 {
                return None;
            }
            if n == 0 {
                return (end == 36).then(String::new);
            }
            document(d, 36, end)?;
            Some(format!(" with {n} document(s)"))
        }
        2012 => {
            // "int32 originalOpcode; int32 uncompressedSize; uint8
            // compressorId" (0 noop, 1 snappy, 2 zlib, 3 zstd).
            let orig = le32(d, 16)?;
            let c = *d.get(24)?;
            (OPS.iter().any(|(o, _)| *o == orig && orig != 2012) && c <= 3 && end > 25)
                .then(|| format!(" of opcode {orig}, compressor {c}"))
        }
        2001 | 2002 | 2005 | 2006 => {
            // OP_UPDATE/OP_DELETE/OP_GET_MORE: "int32 ZERO; cstring
            // fullCollectionName; ..."; OP_INSERT: "int32 flags" (bit 0).
            let z = le32(d, 16)?;
            if z != 0 && !(op == 2002 && z == 1) {
                return None;
            }
            let (c, at) = collection(d, 20)?;
            match op {
                // "int32 numberToReturn; int64 cursorID".
                2005 => (at + 12 == end).then_some(())?,
                // "int32 flags; document selector; document update".
                2001 => {
                    let e = document(d, at + 4, end)?;
                    document(d, e, end).filter(|&x| x == end)?;
                }
                // "int32 flags; document selector".
                2006 => document(d, at + 4, end).filter(|&x| x == end).map(|_| ())?,
                _ => document(d, at, end).map(|_| ())?,
            }
            Some(format!(" on '{}'", printable(c, 40)))
        }
        2007 => {
            // "int32 ZERO; int32 numberOfCursorIDs; int64* cursorIDs".
            let n = le32(d, 20)? as usize;
            (le32(d, 16)? == 0 && (1..=100_000).contains(&n) && end == 24 + 8 * n)
                .then(|| format!(" of {n} cursor(s)"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use netsift_proto::Direction::{self, ToClient, ToServer};

    // mongodb.pcap: frame 6 (10.10.10.10:51822 -> 10.10.10.11:27017)
    // OP_QUERY isMaster on admin.$cmd; frame 27 (10.10.10.18:64566 ->
    // 10.10.10.19:30000) OP_QUERY getnonce, responseTo -1.
    const ISMASTER: &[u8] = include_bytes!("testdata/op_query_ismaster.bin");
    const GETNONCE: &[u8] = include_bytes!("testdata/op_query_getnonce.bin");

    fn probe(dir: Direction, data: &[u8], peer: &[u8]) -> Probe {
        run(&Mongodb, Transport::Tcp, dir, data, peer)
    }

    /// An OP_MSG {ping: 1} as pymongo sends it.
    fn op_msg() -> Vec<u8> {
        let mut doc = vec![0, 0, 0, 0, 0x10];
        doc.extend_from_slice(b"ping\0\x01\0\0\0");
        doc.extend_from_slice(b"\x02$db\0\x06\0\0\0admin\0\0");
        let n = doc.len() as u32;
        doc[..4].copy_from_slice(&n.to_le_bytes());
        let mut m = vec![0; 16];
        m[4] = 7;
        m[12..16].copy_from_slice(&2013u32.to_le_bytes());
        m.extend_from_slice(&[0, 0, 0, 0, 0]);
        m.extend_from_slice(&doc);
        let n = m.len() as u32;
        m[..4].copy_from_slice(&n.to_le_bytes());
        m
    }

    #[test]
    fn real_queries() {
        assert_eq!(
            evidence(probe(ToServer, ISMASTER, &[])),
            "OP_QUERY (247 bytes) on 'admin.$cmd' {ismaster: ...}"
        );
        assert!(evidence(probe(ToServer, GETNONCE, &[])).contains("getnonce"));
        assert_eq!(
            evidence(probe(ToServer, &op_msg(), &[])),
            "OP_MSG (51 bytes) {ping: ...}"
        );
        // A reply to it: OP_MSG from the server.
        assert!(matches!(probe(ToClient, &op_msg(), &[]), Probe::Match(_)));
    }

    #[test]
    fn inconsistent_lengths_are_not_mongodb() {
        let mut m = op_msg();
        m[21] += 1; // document length off by one
        assert_eq!(probe(ToServer, &m, &[]), Probe::NoMatch);
        let mut m = op_msg();
        m[16] = 4; // undefined flag bit
        assert_eq!(probe(ToServer, &m, &[]), Probe::NoMatch);
    }

    #[test]
    fn truncation() {
        for d in [ISMASTER, GETNONCE, &op_msg()[..]] {
            check_prefixes(&Mongodb, Transport::Tcp, ToServer, d, &[]);
            for n in 0..d.len() {
                assert_eq!(probe(ToServer, &d[..n], &[]), Probe::NeedMore, "{n}");
            }
        }
    }

    #[test]
    fn other_protocols_and_random() {
        assert_no_claim_on_others(&Mongodb, Transport::Tcp);
        assert_random_rate(&Mongodb, Transport::Tcp);
    }

    #[test]
    fn first_packet_on_a_non_standard_port() {
        match crate::first_packet::identify_first_payload(Transport::Tcp, ToServer, 30000, GETNONCE)
        {
            crate::FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "MongoDB"),
            other => panic!("{other:?}"),
        }
    }
}
