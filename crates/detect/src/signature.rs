//! Payload byte signatures, matched over reassembled TCP streams and UDP
//! payloads.
//!
//! # Syntax (peekapp compatible)
//!
//! One signature per line. peekapp reads each line as the body of a Python 2
//! string literal restricted to the escapes its documentation names
//! (PEP 223 `\xHH`, and a backslash before characters that would otherwise
//! need escaping in a Python string):
//!
//! | written  | bytes                                   |
//! |----------|-----------------------------------------|
//! | `\xHH`   | the byte `0xHH`; exactly two hex digits, either case |
//! | `\\`     | one backslash                            |
//! | `\'`     | a single quote                           |
//! | `\"`     | a double quote                           |
//! | any other byte | itself (UTF-8 text is matched as its UTF-8 bytes) |
//!
//! Anything else after a backslash (`\n`, `\0`, `\q`, a trailing lone `\`)
//! is rejected, as is a truncated `\x4` or a non-hex `\xZZ`: a rule file
//! that silently meant something else is worse than one that fails to load.
//! Write `\x0a` for a newline.
//!
//! In a signature file, lines are trimmed of surrounding ASCII whitespace
//! (write `\x20` for a significant leading or trailing space), blank lines
//! are skipped and lines whose first non-blank character is `#` are comments
//! (write `\x23` for a signature that starts with `#`). A signature that
//! decodes to zero bytes (e.g. an inline `""`) is an error. Duplicate
//! signatures (same bytes) are kept once, under their first line.
//!
//! # Matching
//!
//! [`SignatureSet`] reports every occurrence of every signature, including
//! occurrences that overlap each other or are contained in a longer
//! signature. Its cost per scanned byte does not grow with the number of
//! signatures:
//!
//! - signatures of four bytes or more (nearly all real ones) are found
//!   through their first four bytes: a 512 Kibit filter indexed by a hash of
//!   the four bytes at each position, then, on a filter hit, an exact lookup
//!   of those four bytes and a comparison of the candidates. With 10,000
//!   signatures about 2% of the filter bits are set, so per byte the scan is
//!   one load, one multiply and one bit test — the same for 10 signatures as
//!   for 10,000 (the filter fits in the L2 cache);
//! - shorter signatures go into one Aho-Corasick automaton
//!   ([`MatchKind::Standard`], overlapping search).
//!
//! An overlapping Aho-Corasick search over all signatures was used first;
//! at 10,000 signatures its transition table no longer fits the cache and
//! it cost four times as much per byte as with 10 (`bench/rules.sh`).
//!
//! [`StreamMatcher`] scans one stream direction chunk by chunk. It keeps the
//! last `max_len - 1` bytes of the stream between chunks so a signature
//! straddling two chunks is found, exactly once, and reports each match with
//! its absolute stream offset. [`StreamMatcher::gap`] records a hole: the
//! carried bytes are dropped, so nothing matches across missing bytes.

use std::fmt;
use std::path::Path;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::rule_file::{read_rule_file, RuleError};

/// Longest accepted signature, in bytes. Bounds the per-stream carry.
pub const MAX_SIGNATURE_LEN: usize = 4096;

/// Index of a signature in its [`SignatureSet`].
pub type SigId = usize;

/// Decodes one signature (peekapp syntax, see the module docs) into bytes.
///
/// The error is the reason only; loaders add the file and line.
pub fn parse_signature(text: &str) -> Result<Vec<u8>, String> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let col = i + 1;
        match b.get(i + 1) {
            None => {
                return Err(format!(
                    "column {col}: lone backslash at end of signature (write \\\\ for a backslash)"
                ))
            }
            Some(b'\\') => {
                out.push(b'\\');
                i += 2;
            }
            Some(b'\'') => {
                out.push(b'\'');
                i += 2;
            }
            Some(b'"') => {
                out.push(b'"');
                i += 2;
            }
            Some(b'x') => {
                let h = b.get(i + 2).copied().and_then(hex_val);
                let l = b.get(i + 3).copied().and_then(hex_val);
                match (h, l) {
                    (Some(h), Some(l)) => {
                        out.push(h << 4 | l);
                        i += 4;
                    }
                    _ => {
                        let end = (i + 4).min(b.len());
                        let shown = String::from_utf8_lossy(&b[i..end]);
                        return Err(format!(
                            "column {col}: bad escape {shown:?}: \\x needs exactly two hex digits"
                        ));
                    }
                }
            }
            Some(_) => {
                let c = text[i + 1..].chars().next().unwrap_or('?');
                return Err(format!(
                    "column {col}: unknown escape \\{c} (only \\xHH, \\\\, \\' and \\\" are accepted)"
                ));
            }
        }
    }
    if out.is_empty() {
        return Err("empty signature".into());
    }
    if out.len() > MAX_SIGNATURE_LEN {
        return Err(format!(
            "signature is {} bytes, longer than the {MAX_SIGNATURE_LEN}-byte limit",
            out.len()
        ));
    }
    Ok(out)
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Escapes bytes as signature text: printable ASCII as itself, `\\`, `\'`,
/// `\"`, everything else `\xHH`; a leading `#` and a leading or trailing
/// space are written `\x23` / `\x20` so the text is also a valid signature
/// file line. [`parse_signature`] (and [`SignatureSet::parse`]) invert it.
/// Used for alert evidence.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    let last = bytes.len().saturating_sub(1);
    for (i, &c) in bytes.iter().enumerate() {
        let edge = (c == b' ' && (i == 0 || i == last)) || (c == b'#' && i == 0);
        match c {
            _ if edge => s.push_str(if c == b' ' { "\\x20" } else { "\\x23" }),
            b'\\' => s.push_str("\\\\"),
            b'\'' => s.push_str("\\'"),
            b'"' => s.push_str("\\\""),
            0x20..=0x7e => s.push(c as char),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                s.push_str("\\x");
                s.push(HEX[(c >> 4) as usize] as char);
                s.push(HEX[(c & 15) as usize] as char);
            }
        }
    }
    s
}

/// One loaded signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The signature as written (trimmed), used as the alert's `rule`.
    pub text: String,
    /// The decoded bytes.
    pub bytes: Vec<u8>,
    /// Where it came from (`file:line`), for diagnostics.
    pub origin: String,
}

/// A compiled set of signatures (see the module docs for the matching).
#[derive(Debug, Clone)]
pub struct SignatureSet {
    sigs: Vec<Signature>,
    /// Signatures of [`PREFIX_LEN`] bytes or more.
    long: Option<PrefixFilter>,
    /// Shorter signatures, and their ids in `sigs`.
    short: Option<(AhoCorasick, Vec<SigId>)>,
    max_len: usize,
}

/// Signatures at least this long are found through their first bytes.
const PREFIX_LEN: usize = 4;

/// log2 of the filter's size in bits.
const FILTER_BITS: u32 = 19;

/// The filter over the first [`PREFIX_LEN`] bytes of the long signatures.
#[derive(Debug, Clone)]
struct PrefixFilter {
    /// Bit `hash(prefix)` is set for every signature's prefix.
    bits: Box<[u64]>,
    /// Exact prefix → the signatures that start with it.
    buckets: FxHashMap<u32, Vec<SigId>>,
}

#[inline]
fn prefix_hash(w: u32) -> usize {
    // Fibonacci hashing: the top bits of the product are well mixed.
    (w.wrapping_mul(0x9E37_79B1) >> (32 - FILTER_BITS)) as usize
}

impl PrefixFilter {
    fn new(sigs: &[Signature]) -> Option<Self> {
        let mut bits = vec![0u64; 1 << (FILTER_BITS - 6)].into_boxed_slice();
        let mut buckets: FxHashMap<u32, Vec<SigId>> = FxHashMap::default();
        for (id, s) in sigs.iter().enumerate() {
            if let Some(p) = s.bytes.first_chunk::<PREFIX_LEN>() {
                let w = u32::from_le_bytes(*p);
                let h = prefix_hash(w);
                bits[h >> 6] |= 1 << (h & 63);
                buckets.entry(w).or_default().push(id);
            }
        }
        (!buckets.is_empty()).then_some(PrefixFilter { bits, buckets })
    }

    /// Calls `f(signature, start)` for every occurrence in `data`, by start.
    #[inline]
    fn for_each(&self, sigs: &[Signature], data: &[u8], f: &mut impl FnMut(SigId, usize)) {
        // The four bytes ending at `end` as a little-endian word, rolled one
        // byte at a time (assembling each word from four loads stalls on
        // store forwarding).
        let mut w: u32 = 0;
        for (end, &b) in data.iter().enumerate() {
            w = (w >> 8) | (u32::from(b) << 24);
            if end < PREFIX_LEN - 1 {
                continue;
            }
            let h = prefix_hash(w);
            if self.bits[h >> 6] & (1 << (h & 63)) == 0 {
                continue;
            }
            let i = end + 1 - PREFIX_LEN;
            if let Some(ids) = self.buckets.get(&w) {
                let rest = &data[i..];
                for &id in ids {
                    if rest.starts_with(&sigs[id].bytes) {
                        f(id, i);
                    }
                }
            }
        }
    }
}

impl Default for SignatureSet {
    fn default() -> Self {
        Self::empty()
    }
}

impl SignatureSet {
    /// A set that matches nothing.
    pub fn empty() -> Self {
        SignatureSet {
            sigs: Vec::new(),
            long: None,
            short: None,
            max_len: 0,
        }
    }

    /// Builds the automaton. Duplicate byte strings are kept once (first wins).
    pub fn new(sigs: Vec<Signature>) -> Self {
        let mut seen = std::collections::HashSet::new();
        let sigs: Vec<Signature> = sigs
            .into_iter()
            .filter(|s| !s.bytes.is_empty() && seen.insert(s.bytes.clone()))
            .collect();
        if sigs.is_empty() {
            return Self::empty();
        }
        let max_len = sigs.iter().map(|s| s.bytes.len()).max().unwrap_or(0);
        let short_ids: Vec<SigId> = (0..sigs.len())
            .filter(|&i| sigs[i].bytes.len() < PREFIX_LEN)
            .collect();
        let short = if short_ids.is_empty() {
            None
        } else {
            let ac = AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .build(short_ids.iter().map(|&i| &sigs[i].bytes))
                .expect("aho-corasick build (patterns are bounded)");
            Some((ac, short_ids))
        };
        SignatureSet {
            long: PrefixFilter::new(&sigs),
            short,
            sigs,
            max_len,
        }
    }

    /// Every occurrence in `data` as `(signature, start)`, ordered by the
    /// end of the match, then by signature, appended to `out`.
    fn find_all(&self, data: &[u8], out: &mut Vec<(SigId, usize)>) {
        let from = out.len();
        if let Some(long) = &self.long {
            long.for_each(&self.sigs, data, &mut |id, at| out.push((id, at)));
        }
        if let Some((ac, ids)) = &self.short {
            for m in ac.find_overlapping_iter(data) {
                out.push((ids[m.pattern().as_usize()], m.start()));
            }
        }
        let sigs = &self.sigs;
        out[from..].sort_unstable_by_key(|&(id, at)| (at + sigs[id].bytes.len(), id));
    }

    /// Parses signature-file text. `file` names the source in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, RuleError> {
        let mut sigs = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim_matches(|c: char| c.is_ascii_whitespace());
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            sigs.push(parse_entry(line, file, n + 1)?);
        }
        Ok(Self::new(sigs))
    }

    /// Reads and parses a signature file.
    pub fn from_file(path: &Path) -> Result<Self, RuleError> {
        let text = read_rule_file(path)?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Number of distinct signatures.
    pub fn len(&self) -> usize {
        self.sigs.len()
    }

    /// True when the set matches nothing.
    pub fn is_empty(&self) -> bool {
        self.sigs.is_empty()
    }

    /// The signature with this id.
    pub fn get(&self, id: SigId) -> Option<&Signature> {
        self.sigs.get(id)
    }

    /// All signatures, indexed by [`SigId`].
    pub fn signatures(&self) -> &[Signature] {
        &self.sigs
    }

    /// Length of the longest signature (0 for an empty set).
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Every match in one self-contained buffer (a UDP payload, a datagram):
    /// `(signature, offset of its first byte in data)`, in order of match end.
    pub fn scan(&self, data: &[u8]) -> Vec<(SigId, usize)> {
        let mut out = Vec::new();
        self.find_all(data, &mut out);
        out
    }

    /// Starts a matcher for one stream direction at stream offset 0.
    pub fn stream(&self) -> StreamMatcher {
        StreamMatcher::default()
    }
}

pub(crate) fn parse_entry(line: &str, file: &str, n: usize) -> Result<Signature, RuleError> {
    match parse_signature(line) {
        Ok(bytes) => Ok(Signature {
            text: line.to_string(),
            bytes,
            origin: format!("{file}:{n}"),
        }),
        Err(reason) => Err(RuleError::new(file, n, reason)),
    }
}

/// Stream direction of a match, relative to the flow's originator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Originator to responder (client to server).
    ToServer,
    /// Responder to originator.
    ToClient,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::ToServer => "to_server",
            Direction::ToClient => "to_client",
        })
    }
}

/// One signature match in a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamMatch {
    /// The signature.
    pub sig: SigId,
    /// Absolute stream offset of the match's first byte (0 = first payload
    /// byte of this direction; holes count, see [`StreamMatcher::gap`]).
    pub offset: u64,
}

/// Incremental matcher for one stream direction.
///
/// Feed the in-order stream bytes with [`feed`](Self::feed); report holes
/// with [`gap`](Self::gap). Always use it with the same [`SignatureSet`].
/// Memory: at most `max_len - 1` carried bytes.
#[derive(Debug, Clone, Default)]
pub struct StreamMatcher {
    carry: Vec<u8>,
    offset: u64,
    joined: Vec<u8>,
    /// Scratch for one scan's matches.
    found: Vec<(SigId, usize)>,
}

impl StreamMatcher {
    /// A matcher whose next byte is at stream offset `offset`.
    pub fn at(offset: u64) -> Self {
        StreamMatcher {
            offset,
            ..Default::default()
        }
    }

    /// Absolute stream offset of the next byte to be fed.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Scans the next in-order chunk, appending matches to `out`. Each
    /// occurrence is reported once, by the call that feeds its last byte.
    pub fn feed(&mut self, set: &SignatureSet, chunk: &[u8], out: &mut Vec<StreamMatch>) {
        if set.is_empty() {
            self.offset += chunk.len() as u64;
            return;
        }
        let found = &mut self.found;
        let keep = set.max_len.saturating_sub(1);
        let base = self.offset; // stream offset of chunk[0]
        let clen = self.carry.len();
        // Matches starting in the carry and ending in the chunk: they need
        // at most `keep` bytes of the chunk.
        if clen > 0 {
            self.joined.clear();
            self.joined.extend_from_slice(&self.carry);
            self.joined
                .extend_from_slice(&chunk[..chunk.len().min(keep)]);
            found.clear();
            set.find_all(&self.joined, found);
            for &(sig, start) in found.iter() {
                if start < clen && start + set.sigs[sig].bytes.len() > clen {
                    out.push(StreamMatch {
                        sig,
                        offset: base - (clen - start) as u64,
                    });
                }
            }
        }
        // Matches entirely inside the chunk.
        found.clear();
        set.find_all(chunk, found);
        for &(sig, start) in found.iter() {
            out.push(StreamMatch {
                sig,
                offset: base + start as u64,
            });
        }
        // New carry: the last `keep` bytes of carry ++ chunk.
        if chunk.len() >= keep {
            self.carry.clear();
            self.carry.extend_from_slice(&chunk[chunk.len() - keep..]);
        } else {
            self.carry.extend_from_slice(chunk);
            let excess = self.carry.len().saturating_sub(keep);
            self.carry.drain(..excess);
        }
        self.offset += chunk.len() as u64;
    }

    /// Records `len` missing bytes: the carry is dropped so no match spans
    /// the hole, and later offsets stay absolute.
    pub fn gap(&mut self, len: u64) {
        self.carry.clear();
        self.offset += len;
    }
}

/// The two [`StreamMatcher`]s of one flow.
#[derive(Debug, Clone, Default)]
pub struct FlowMatcher {
    /// Originator to responder.
    pub to_server: StreamMatcher,
    /// Responder to originator.
    pub to_client: StreamMatcher,
}

impl FlowMatcher {
    /// The matcher for one direction.
    pub fn dir(&mut self, dir: Direction) -> &mut StreamMatcher {
        match dir {
            Direction::ToServer => &mut self.to_server,
            Direction::ToClient => &mut self.to_client,
        }
    }

    /// Feeds a chunk of one direction; matches are appended with their direction.
    pub fn feed(
        &mut self,
        set: &SignatureSet,
        dir: Direction,
        chunk: &[u8],
        out: &mut Vec<(Direction, StreamMatch)>,
    ) {
        let mut tmp = Vec::new();
        self.dir(dir).feed(set, chunk, &mut tmp);
        out.extend(tmp.into_iter().map(|m| (dir, m)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(lines: &[&str]) -> SignatureSet {
        SignatureSet::parse(&lines.join("\n"), "t").unwrap()
    }

    #[test]
    fn escapes() {
        assert_eq!(parse_signature("abc").unwrap(), b"abc");
        assert_eq!(
            parse_signature(r"\x41\x4a\x4A\xff\x00").unwrap(),
            b"AJJ\xff\x00"
        );
        assert_eq!(parse_signature(r"a\\b").unwrap(), b"a\\b");
        assert_eq!(parse_signature(r"abc\'def").unwrap(), b"abc'def");
        assert_eq!(parse_signature(r#"say \"hi\""#).unwrap(), b"say \"hi\"");
        assert_eq!(parse_signature(r"\\x41").unwrap(), b"\\x41");
        assert_eq!(parse_signature("héllo").unwrap(), "héllo".as_bytes());
        assert_eq!(parse_signature("a b").unwrap(), b"a b");
    }

    #[test]
    fn bad_escapes() {
        for bad in [
            r"\x4", r"ab\x", r"\xg1", r"\x4g", r"\n", r"\0", r"\q", r"abc\", r"\é",
        ] {
            let e = parse_signature(bad).unwrap_err();
            assert!(
                e.contains("escape") || e.contains("backslash"),
                "{bad}: {e}"
            );
        }
        assert_eq!(parse_signature("").unwrap_err(), "empty signature");
        let long = "a".repeat(MAX_SIGNATURE_LEN + 1);
        assert!(parse_signature(&long).is_err());
    }

    #[test]
    fn escape_round_trip() {
        let all: Vec<u8> = (0..=255u8).collect();
        let text = escape_bytes(&all);
        assert_eq!(parse_signature(&text).unwrap(), all);
        for b in [&b" # a "[..], b"#", b" ", b"a b"] {
            let t = escape_bytes(b);
            let set = SignatureSet::parse(&t, "t").unwrap();
            assert_eq!(set.get(0).unwrap().bytes, b, "{t}");
        }
        assert_eq!(escape_bytes(b" #a b "), "\\x20#a b\\x20");
    }

    #[test]
    fn file_comments_blank_and_errors() {
        let s = set(&[
            "# comment",
            "",
            "   ",
            "  evil  ",
            "\t# indented comment",
            r"\x23hash",
        ]);
        assert_eq!(s.len(), 2);
        assert_eq!(s.get(0).unwrap().bytes, b"evil");
        assert_eq!(s.get(1).unwrap().bytes, b"#hash");
        assert_eq!(s.get(1).unwrap().origin, "t:6");
        let e = SignatureSet::parse("ok\n# c\nbad\\x4\n", "sigs.txt").unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("sigs.txt", 3));
        assert!(e.reason.contains("two hex digits"), "{e}");
        assert!(e.to_string().starts_with("sigs.txt:3: "), "{e}");
    }

    #[test]
    fn duplicates_kept_once() {
        let s = set(&["abc", r"\x61bc", "abc"]);
        assert_eq!(s.len(), 1);
        assert_eq!(s.scan(b"xabcx"), vec![(0, 1)]);
    }

    #[test]
    fn overlapping_matches_all_reported() {
        let s = set(&["abc", "bc", "abcd", "cd"]);
        let mut got: Vec<_> = s.scan(b"abcd").into_iter().collect();
        got.sort();
        assert_eq!(got, vec![(0, 0), (1, 1), (2, 0), (3, 2)]);
        // Self-overlapping occurrences too.
        let s = set(&["aa"]);
        assert_eq!(s.scan(b"aaaa").len(), 3);
    }

    fn stream_all(s: &SignatureSet, chunks: &[&[u8]]) -> Vec<StreamMatch> {
        let mut m = s.stream();
        let mut out = Vec::new();
        for c in chunks {
            m.feed(s, c, &mut out);
        }
        out.sort_by_key(|x| (x.offset, x.sig));
        out
    }

    #[test]
    fn straddle_every_split_point() {
        let s = set(&["MALWARE-SIG", "WARE", "x"]);
        let data = b"....MALWARE-SIG....MALWARE-SIG..";
        let whole = stream_all(&s, &[data]);
        assert_eq!(whole.iter().filter(|m| m.sig == 0).count(), 2);
        for i in 0..=data.len() {
            assert_eq!(
                stream_all(&s, &[&data[..i], &data[i..]]),
                whole,
                "split {i}"
            );
            for j in i..=data.len() {
                let got = stream_all(&s, &[&data[..i], &data[i..j], &data[j..]]);
                assert_eq!(got, whole, "split {i},{j}");
            }
        }
        // One byte at a time.
        let bytes: Vec<&[u8]> = data.chunks(1).collect();
        assert_eq!(stream_all(&s, &bytes), whole);
        let m = &whole[0];
        assert_eq!((m.sig, m.offset), (0, 4));
    }

    #[test]
    fn gap_breaks_matches_and_keeps_offsets() {
        let s = set(&["ABCD"]);
        let mut m = s.stream();
        let mut out = Vec::new();
        m.feed(&s, b"xxAB", &mut out);
        m.gap(10);
        m.feed(&s, b"CDxABCD", &mut out);
        assert_eq!(
            out,
            vec![StreamMatch {
                sig: 0,
                offset: 4 + 10 + 3
            }]
        );
        assert_eq!(m.offset(), 21);
    }

    #[test]
    fn flow_matcher_directions() {
        let s = set(&["GET /evil"]);
        let mut f = FlowMatcher::default();
        let mut out = Vec::new();
        f.feed(&s, Direction::ToServer, b"GET /ev", &mut out);
        f.feed(&s, Direction::ToClient, b"il GET /evil", &mut out);
        f.feed(&s, Direction::ToServer, b"il", &mut out);
        assert_eq!(
            out,
            vec![
                (Direction::ToClient, StreamMatch { sig: 0, offset: 3 }),
                (Direction::ToServer, StreamMatch { sig: 0, offset: 0 }),
            ]
        );
    }

    #[test]
    fn empty_set() {
        let s = SignatureSet::parse("# nothing\n", "t").unwrap();
        assert!(s.is_empty());
        let mut m = s.stream();
        let mut out = Vec::new();
        m.feed(&s, b"abc", &mut out);
        assert!(out.is_empty());
        assert_eq!(m.offset(), 3);
    }

    use netsift_testkit::XorShift as Rng;

    /// Every occurrence, by brute force, in the documented order.
    fn naive(sigs: &[Signature], data: &[u8]) -> Vec<(SigId, usize)> {
        let mut v = Vec::new();
        for (id, s) in sigs.iter().enumerate() {
            for at in 0..data.len() {
                if data[at..].starts_with(&s.bytes) {
                    v.push((id, at));
                }
            }
        }
        v.sort_by_key(|&(id, at)| (at + sigs[id].bytes.len(), id));
        v
    }

    #[test]
    fn matches_brute_force_on_random_sets() {
        // A 3-letter alphabet makes matches, overlaps, shared prefixes and
        // signatures inside signatures common; lengths 1..=9 exercise both
        // the prefix filter (≥ 4 bytes) and the short-pattern automaton.
        let mut r = Rng(0x5eed_1234_abcd_0001);
        for round in 0..200 {
            let n = 1 + r.below(if round % 10 == 0 { 400 } else { 12 });
            let sigs: Vec<Signature> = (0..n)
                .map(|i| {
                    let len = 1 + r.below(9);
                    let bytes: Vec<u8> = (0..len).map(|_| b"abc"[r.below(3)]).collect();
                    Signature {
                        text: escape_bytes(&bytes),
                        bytes,
                        origin: format!("t:{i}"),
                    }
                })
                .collect();
            let set = SignatureSet::new(sigs);
            let data: Vec<u8> = (0..r.below(300)).map(|_| b"abcd"[r.below(4)]).collect();
            assert_eq!(
                set.scan(&data),
                naive(set.signatures(), &data),
                "round {round}"
            );
            // The same matches through a stream cut at random points.
            let mut m = set.stream();
            let mut got = Vec::new();
            let mut pos = 0;
            while pos < data.len() {
                let end = (pos + 1 + r.below(20)).min(data.len());
                m.feed(&set, &data[pos..end], &mut got);
                pos = end;
            }
            let mut got: Vec<(SigId, usize)> =
                got.iter().map(|x| (x.sig, x.offset as usize)).collect();
            let mut want = naive(set.signatures(), &data);
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want, "stream round {round}");
        }
    }
}
