//! Payload matching over one buffer: the content chain with its relative
//! modifiers, pcre, byte_test, byte_jump, isdataat, bsize.
//!
//! A buffer is matched by walking the rule's parts in order with a
//! "detection pointer" (the end of the previous match), retrying earlier
//! contents at later occurrences when a later relative part fails, as
//! Suricata's content inspection does; the total work per buffer is
//! bounded by [`STEP_BUDGET`].

/// Bound on content/pcre evaluations while matching one buffer (Suricata
/// bounds its inspection recursion too).
pub(crate) const STEP_BUDGET: u32 = 4096;

/// fancy-regex backtracking limit for patterns the linear engine cannot run.
pub(crate) const BACKTRACK_LIMIT: usize = 200_000;

/// Compiled-size bound for one regular expression.
const REGEX_SIZE_LIMIT: usize = 2 << 20;

/// A numeric comparison (`dsize`, `bsize`, `itype`, `ttl`, `urilen`, ...).
/// Suricata's "min<>max" ranges are exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumCmp {
    Eq(u64),
    Ne(u64),
    Lt(u64),
    Le(u64),
    Gt(u64),
    Ge(u64),
    Range(u64, u64),
}

impl NumCmp {
    pub fn test(self, v: u64) -> bool {
        match self {
            NumCmp::Eq(n) => v == n,
            NumCmp::Ne(n) => v != n,
            NumCmp::Lt(n) => v < n,
            NumCmp::Le(n) => v <= n,
            NumCmp::Gt(n) => v > n,
            NumCmp::Ge(n) => v >= n,
            NumCmp::Range(a, b) => a < v && v < b,
        }
    }

    /// `N`, `=N`, `!N`, `<N`, `<=N`, `>N`, `>=N`, `A<>B`, `A-B`.
    pub fn parse(s: &str, max: u64) -> Result<NumCmp, String> {
        let s = s.trim();
        let num = |t: &str| -> Result<u64, String> {
            let t = t.trim();
            let v = if let Some(h) = t.strip_prefix("0x") {
                u64::from_str_radix(h, 16)
            } else {
                t.parse::<u64>()
            }
            .map_err(|_| format!("bad number `{t}`"))?;
            if v > max {
                return Err(format!("{v} is larger than {max}"));
            }
            Ok(v)
        };
        if let Some((a, b)) = s.split_once("<>").or_else(|| {
            // `A-B` ranges, but not a leading sign.
            s.find('-')
                .filter(|&i| i > 0)
                .and_then(|i| Some((s.get(..i)?, s.get(i + 1..)?)))
        }) {
            let (a, b) = (num(a)?, num(b)?);
            if a >= b {
                return Err(format!("empty range `{s}`"));
            }
            return Ok(NumCmp::Range(a, b));
        }
        Ok(if let Some(r) = s.strip_prefix("<=") {
            NumCmp::Le(num(r)?)
        } else if let Some(r) = s.strip_prefix(">=") {
            NumCmp::Ge(num(r)?)
        } else if let Some(r) = s.strip_prefix('<') {
            NumCmp::Lt(num(r)?)
        } else if let Some(r) = s.strip_prefix('>') {
            NumCmp::Gt(num(r)?)
        } else if let Some(r) = s.strip_prefix('!') {
            NumCmp::Ne(num(r.trim_start_matches('='))?)
        } else if let Some(r) = s.strip_prefix('=') {
            NumCmp::Eq(num(r)?)
        } else {
            NumCmp::Eq(num(s)?)
        })
    }
}

/// Most byte_extract variables one rule may define.
pub(crate) const MAX_VARS: usize = 8;

/// Values of a rule's byte_extract variables during one match.
pub(crate) type Vars = [i64; MAX_VARS];

/// A number in a keyword: literal, or a byte_extract variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Num {
    Lit(i64),
    Var(u8),
}

impl Num {
    fn get(self, vars: &Vars) -> i64 {
        match self {
            Num::Lit(n) => n,
            Num::Var(v) => vars.get(usize::from(v)).copied().unwrap_or(0),
        }
    }
}

/// How a content is used by the prefilter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Fast {
    #[default]
    No,
    Yes,
    Only,
    /// `fast_pattern:offset,length`: that slice of the content.
    Slice(usize, usize),
}

#[derive(Debug, Clone)]
pub(crate) struct Content {
    pub pat: Vec<u8>,
    pub nocase: bool,
    pub negated: bool,
    pub offset: Option<Num>,
    pub depth: Option<Num>,
    pub distance: Option<Num>,
    pub within: Option<Num>,
    pub startswith: bool,
    pub endswith: bool,
    pub fast: Fast,
}

impl Content {
    pub fn new(pat: Vec<u8>, negated: bool) -> Self {
        Content {
            pat,
            nocase: false,
            negated,
            offset: None,
            depth: None,
            distance: None,
            within: None,
            startswith: false,
            endswith: false,
            fast: Fast::No,
        }
    }

    pub fn relative(&self) -> bool {
        self.distance.is_some() || self.within.is_some()
    }

    /// First occurrence at or after `from` in `hay`.
    fn find(&self, hay: &[u8], from: usize) -> Option<usize> {
        let h = hay.get(from..)?;
        if self.pat.is_empty() {
            return Some(from);
        }
        let at = if self.nocase {
            find_nocase(h, &self.pat)
        } else {
            memchr::memmem::find(h, &self.pat)
        };
        at.map(|a| a + from)
    }

    /// The window `[start, end)` this content may occupy, given the
    /// previous match end `prev`.
    fn window(&self, prev: usize, len: usize, vars: &Vars) -> (usize, usize) {
        let mut start = 0i64;
        let mut end = len as i64;
        // "Payload Keywords": "The offset keyword designates from which
        // byte in the payload will be checked to find a match"; "The depth
        // keyword ... is relative to the offset if both are specified".
        if let Some(o) = self.offset {
            start = o.get(vars);
        }
        if let Some(d) = self.depth {
            end = end.min(start.saturating_add(d.get(vars)));
        }
        // "distance ... the relative distance from the last match";
        // "within ... the content must be found within N bytes of the
        // previous match", counted from where distance puts the start.
        if self.relative() {
            let base = (prev as i64).saturating_add(self.distance.map_or(0, |d| d.get(vars)));
            start = start.max(base);
            if let Some(w) = self.within {
                end = end.min(base.saturating_add(w.get(vars)));
            }
        }
        // "startswith: the content must be at the start of the buffer".
        if self.startswith {
            end = end.min(self.pat.len() as i64);
            start = 0;
        }
        (start.max(0) as usize, end.clamp(0, len as i64) as usize)
    }
}

/// ASCII case-insensitive search: candidates by the first byte's two
/// cases, then a comparison.
fn find_nocase(h: &[u8], pat: &[u8]) -> Option<usize> {
    let (&b0, rest) = pat.split_first()?;
    let (lo, up) = (b0.to_ascii_lowercase(), b0.to_ascii_uppercase());
    let last = h.len().checked_sub(pat.len())?;
    let mut at = 0;
    while at <= last {
        let i = at + memchr::memchr2(lo, up, &h[at..=last])?;
        if h[i + 1..i + pat.len()].eq_ignore_ascii_case(rest) {
            return Some(i);
        }
        at = i + 1;
    }
    None
}

/// The compiled regular expression of a `pcre`.
#[derive(Debug)]
pub(crate) enum Re {
    /// Linear-time engine over bytes (no look-around, no back-references).
    Bytes(regex::bytes::Regex),
    /// Backtracking engine for the rest, over the Latin-1 view of the bytes
    /// (one char per byte), with a backtracking limit.
    Fancy(fancy_regex::Regex),
}

#[derive(Debug)]
pub(crate) struct Pcre {
    pub re: Re,
    pub negated: bool,
    pub relative: bool,
}

/// PCRE compile flags of a Suricata `pcre`.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct PcreFlags {
    pub i: bool,
    pub s: bool,
    pub m: bool,
    pub x: bool,
    pub anchored: bool,
    pub ungreedy: bool,
}

impl Pcre {
    /// Compile `pattern` (the text between the delimiters).
    pub fn compile(pattern: &str, f: PcreFlags) -> Result<Re, String> {
        let pat = translate(pattern);
        let mut flags = String::new();
        for (on, c) in [
            (f.i, 'i'),
            (f.s, 's'),
            (f.m, 'm'),
            (f.x, 'x'),
            (f.ungreedy, 'U'),
        ] {
            if on {
                flags.push(c);
            }
        }
        let body = if f.anchored {
            format!("\\A(?:{pat})")
        } else {
            pat.clone()
        };
        let full = if flags.is_empty() {
            body
        } else {
            format!("(?{flags}){body}")
        };
        match regex::bytes::RegexBuilder::new(&full)
            .unicode(false)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build()
        {
            Ok(r) => Ok(Re::Bytes(r)),
            Err(e1) => fancy_regex::RegexBuilder::new(&full)
                .backtrack_limit(BACKTRACK_LIMIT)
                .delegate_size_limit(REGEX_SIZE_LIMIT)
                .delegate_dfa_size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map(Re::Fancy)
                .map_err(|e2| match e1 {
                    regex::Error::CompiledTooBig(_) => e1.to_string(),
                    _ => e2.to_string(),
                }),
        }
    }

    /// First match in `hay[from..]`, as absolute (start, end).
    fn find(&self, hay: &[u8], from: usize) -> Option<(usize, usize)> {
        let h = hay.get(from..)?;
        match &self.re {
            Re::Bytes(r) => r.find(h).map(|m| (m.start() + from, m.end() + from)),
            Re::Fancy(r) => {
                let s: String = h.iter().map(|&b| char::from(b)).collect();
                // A backtracking limit hit counts as no match.
                let m = r.find(&s).ok().flatten()?;
                let start = s.get(..m.start())?.chars().count();
                let end = start + s.get(m.start()..m.end())?.chars().count();
                Some((start + from, end + from))
            }
        }
    }
}

/// PCRE syntax the Rust engines spell differently: `\<` and `\>` are
/// literal in PCRE, `\/` is a literal slash.
fn translate(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    let mut it = p.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some(
                    d @ ('<' | '>' | '/' | '"' | ';' | ':' | '\'' | '`' | '%' | '@' | '!' | ','
                    | '=' | '&' | '~'),
                ) => {
                    let mut b = [0u8; 4];
                    out.push_str(&regex::escape(d.encode_utf8(&mut b)));
                }
                Some(d) => {
                    out.push('\\');
                    out.push(d);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Base {
    Dec,
    Hex,
    Oct,
}

/// How byte_test / byte_jump read a number.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NumRead {
    pub nbytes: usize,
    pub offset: Num,
    pub relative: bool,
    pub little: bool,
    /// `string,<base>`: ASCII digits.
    pub string: Option<Base>,
    pub bitmask: Option<u64>,
}

impl NumRead {
    /// Read the value; None when out of the buffer or not a number.
    fn read(&self, hay: &[u8], prev: usize, vars: &Vars) -> Option<(u64, usize)> {
        let base = if self.relative { prev as i64 } else { 0 };
        let at = usize::try_from(base.saturating_add(self.offset.get(vars))).ok()?;
        let bytes = hay.get(at..at.checked_add(self.nbytes)?)?;
        let mut v: u64 = match self.string {
            Some(b) => {
                let s = std::str::from_utf8(bytes).ok()?;
                let s = s.trim();
                let radix = match b {
                    Base::Dec => 10,
                    Base::Hex => 16,
                    Base::Oct => 8,
                };
                let s = if b == Base::Hex {
                    s.trim_start_matches("0x").trim_start_matches("0X")
                } else {
                    s
                };
                u64::from_str_radix(s, radix).ok()?
            }
            None => {
                let mut v = 0u64;
                if self.little {
                    for &b in bytes.iter().rev() {
                        v = (v << 8) | u64::from(b);
                    }
                } else {
                    for &b in bytes {
                        v = (v << 8) | u64::from(b);
                    }
                }
                v
            }
        };
        // "bitmask: ... the value is ANDed with the mask and shifted right
        // by the number of trailing zeros of the mask".
        if let Some(m) = self.bitmask {
            v &= m;
            if m != 0 {
                v >>= m.trailing_zeros();
            }
        }
        Some((v, at + self.nbytes))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ByteOp {
    Lt,
    Gt,
    Eq,
    Le,
    Ge,
    And,
    Xor,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct ByteTest {
    pub read: NumRead,
    pub op: ByteOp,
    pub negated: bool,
    pub value: Num,
}

/// `byte_extract`: read a number into a variable; the pointer moves past
/// the bytes read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ByteExtract {
    pub read: NumRead,
    pub multiplier: u64,
    /// Round the value up to a multiple of this (2 or 4), or 0.
    pub align: u64,
    pub var: u8,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct ByteJump {
    pub read: NumRead,
    pub multiplier: u64,
    pub align: bool,
    pub from_beginning: bool,
    pub from_end: bool,
    pub post_offset: i64,
}

/// A transformation of a sticky buffer before its keywords run
/// ("Transformations": they follow the sticky buffer keyword and apply in
/// order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transform {
    /// "dotprefix: takes the buffer and prepends a `.`".
    DotPrefix,
    /// "to_lowercase / to_uppercase": ASCII case.
    ToLower,
    ToUpper,
    /// "strip_whitespace: strips all whitespace as considered by isspace()".
    StripWhitespace,
    /// "compress_whitespace: compresses all consecutive whitespace into a
    /// single space".
    CompressWhitespace,
    /// "url_decode: decodes url-encoded data" (`%41` → `A`, `+` → space).
    UrlDecode,
}

impl Transform {
    pub fn parse(name: &str) -> Option<Transform> {
        Some(match name {
            "dotprefix" => Transform::DotPrefix,
            "to_lowercase" => Transform::ToLower,
            "to_uppercase" => Transform::ToUpper,
            "strip_whitespace" => Transform::StripWhitespace,
            "compress_whitespace" => Transform::CompressWhitespace,
            "url_decode" => Transform::UrlDecode,
            _ => return None,
        })
    }

    /// The prefilter still works on the untransformed buffer (its search
    /// is case-insensitive; a dot prefix only adds a leading `.`).
    pub fn prefilter_safe(self) -> bool {
        matches!(
            self,
            Transform::DotPrefix | Transform::ToLower | Transform::ToUpper
        )
    }

    fn apply(self, b: &[u8]) -> Vec<u8> {
        // isspace(): space, \t, \n, \v, \f, \r.
        let ws = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
        match self {
            Transform::DotPrefix => {
                let mut v = Vec::with_capacity(b.len() + 1);
                v.push(b'.');
                v.extend_from_slice(b);
                v
            }
            Transform::ToLower => b.to_ascii_lowercase(),
            Transform::ToUpper => b.to_ascii_uppercase(),
            Transform::StripWhitespace => b.iter().copied().filter(|&c| !ws(c)).collect(),
            Transform::CompressWhitespace => {
                let mut v = Vec::with_capacity(b.len());
                for &c in b {
                    if ws(c) {
                        if v.last() != Some(&b' ') {
                            v.push(b' ');
                        }
                    } else {
                        v.push(c);
                    }
                }
                v
            }
            Transform::UrlDecode => {
                let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
                let mut v = Vec::with_capacity(b.len());
                let mut i = 0;
                while i < b.len() {
                    match b[i] {
                        b'%' => match (
                            b.get(i + 1).and_then(|&c| hex(c)),
                            b.get(i + 2).and_then(|&c| hex(c)),
                        ) {
                            (Some(h), Some(l)) => {
                                v.push(h << 4 | l);
                                i += 3;
                                continue;
                            }
                            _ => v.push(b'%'),
                        },
                        b'+' => v.push(b' '),
                        c => v.push(c),
                    }
                    i += 1;
                }
                v
            }
        }
    }
}

/// Apply a chain of transforms (borrowed when there is none).
pub(crate) fn transform<'a>(tf: &[Transform], b: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
    let mut cur = std::borrow::Cow::Borrowed(b);
    for t in tf {
        cur = std::borrow::Cow::Owned(t.apply(&cur));
    }
    cur
}

/// One step of a buffer's match program.
#[derive(Debug)]
pub(crate) enum Part {
    Content(Content),
    Pcre(Pcre),
    ByteTest(ByteTest),
    ByteJump(ByteJump),
    ByteExtract(ByteExtract),
    IsDataAt {
        n: Num,
        relative: bool,
        negated: bool,
    },
    /// `bsize` / `urilen`: the buffer's length.
    Len(NumCmp),
    /// `fileext`: the name's extension (case-insensitive).
    FileExt(Vec<u8>),
}

impl Part {
    /// The byte_extract variables this part reads.
    pub fn vars_used(&self) -> Vec<u8> {
        let mut v = Vec::new();
        let mut add = |n: Option<Num>| {
            if let Some(Num::Var(i)) = n {
                v.push(i);
            }
        };
        match self {
            Part::Content(c) => {
                for n in [c.offset, c.depth, c.distance, c.within] {
                    add(n);
                }
            }
            Part::ByteTest(b) => {
                add(Some(b.value));
                add(Some(b.read.offset));
            }
            Part::ByteJump(b) => add(Some(b.read.offset)),
            Part::ByteExtract(b) => add(Some(b.read.offset)),
            Part::IsDataAt { n, .. } => add(Some(*n)),
            _ => {}
        }
        v
    }

    /// A positive part whose match moves the detection pointer.
    fn moves(&self) -> bool {
        matches!(self, Part::Content(c) if !c.negated)
            || matches!(self, Part::Pcre(p) if !p.negated)
            || matches!(self, Part::ByteJump(_) | Part::ByteExtract(_))
    }

    fn is_relative(&self) -> bool {
        match self {
            Part::Content(c) => c.relative(),
            Part::Pcre(p) => p.relative,
            Part::ByteTest(b) => b.read.relative,
            Part::ByteJump(b) => b.read.relative,
            Part::ByteExtract(b) => b.read.relative,
            Part::IsDataAt { relative, .. } => *relative,
            _ => false,
        }
    }
}

/// Match a buffer's parts against `hay`. Returns the offset of the first
/// positive content (or 0) on a match.
pub(crate) fn match_parts(parts: &[Part], hay: &[u8]) -> Option<usize> {
    run(parts, hay, STEP_BUDGET, false)
}

/// Every occurrence of every content retried, with a large budget: the
/// reference the pruned search is tested against.
#[cfg(test)]
pub(crate) fn match_parts_exhaustive(parts: &[Part], hay: &[u8]) -> Option<usize> {
    run(parts, hay, u32::MAX, true)
}

fn run(parts: &[Part], hay: &[u8], mut budget: u32, full: bool) -> Option<usize> {
    let mut first = None;
    let mut budget_ref = Budget {
        left: &mut budget,
        full,
    };
    if step(parts, 0, hay, 0, &mut budget_ref, &mut first, [0; MAX_VARS]) {
        Some(first.unwrap_or(0))
    } else {
        None
    }
}

/// The remaining work, and whether to retry every occurrence (tests).
struct Budget<'a> {
    left: &'a mut u32,
    full: bool,
}

/// Whether retrying part `i` at a later occurrence can change the outcome:
/// a following part (before the next pointer-moving part that ignores the
/// pointer) depends on the pointer in a way a later pointer could satisfy.
/// A positive content with `distance` but no `within`, or a positive
/// relative `isdataat`, only gets harder as the pointer moves on (its
/// window shrinks), so after a failure, retrying cannot help.
fn retry_useful(parts: &[Part], i: usize) -> bool {
    for p in &parts[i + 1..] {
        if p.is_relative() {
            match p {
                Part::Content(c) if !c.negated && c.within.is_none() => return false,
                Part::IsDataAt {
                    relative: true,
                    negated: false,
                    ..
                } => continue,
                _ => return true,
            }
        }
        if p.moves() {
            return false;
        }
    }
    false
}

fn step(
    parts: &[Part],
    i: usize,
    hay: &[u8],
    prev: usize,
    budget: &mut Budget,
    first: &mut Option<usize>,
    vars: Vars,
) -> bool {
    let Some(part) = parts.get(i) else {
        return true;
    };
    if *budget.left == 0 {
        return false;
    }
    *budget.left -= 1;
    let len = hay.len();
    match part {
        Part::Content(c) => {
            let (start, end) = c.window(prev, len, &vars);
            let plen = c.pat.len();
            if c.negated {
                // "The ! negation: the content must not occur" in its window.
                let mut found = false;
                let mut at = start;
                while start <= end && at + plen <= end {
                    match c.find(&hay[..end], at) {
                        Some(s) if !c.endswith || s + plen == len => {
                            found = true;
                            break;
                        }
                        Some(s) => at = s + 1,
                        None => break,
                    }
                }
                return !found && step(parts, i + 1, hay, prev, budget, first, vars);
            }
            let retry = budget.full || retry_useful(parts, i);
            let mut at = start;
            while at + plen <= end {
                let Some(s) = c.find(&hay[..end], at) else {
                    return false;
                };
                // "endswith: the content must be at the end of the buffer".
                if !c.endswith || s + plen == len {
                    let mut f = *first;
                    if f.is_none() {
                        f = Some(s);
                    }
                    let mut f2 = f;
                    if step(parts, i + 1, hay, s + plen, budget, &mut f2, vars) {
                        *first = f2;
                        return true;
                    }
                    if !retry || *budget.left == 0 {
                        return false;
                    }
                }
                at = s + 1;
            }
            false
        }
        Part::Pcre(p) => {
            // "R: Match relative to the last pattern match" — the search
            // starts at the end of the previous match.
            let from = if p.relative { prev } else { 0 };
            match (p.find(hay, from), p.negated) {
                (Some((_, e)), false) => step(parts, i + 1, hay, e, budget, first, vars),
                (None, true) => step(parts, i + 1, hay, prev, budget, first, vars),
                _ => false,
            }
        }
        Part::ByteTest(b) => {
            let Some((v, _)) = b.read.read(hay, prev, &vars) else {
                return false;
            };
            let value = b.value.get(&vars) as u64;
            let r = match b.op {
                ByteOp::Lt => v < value,
                ByteOp::Gt => v > value,
                ByteOp::Eq => v == value,
                ByteOp::Le => v <= value,
                ByteOp::Ge => v >= value,
                ByteOp::And => v & value != 0,
                ByteOp::Xor => v ^ value != 0,
            };
            r != b.negated && step(parts, i + 1, hay, prev, budget, first, vars)
        }
        Part::ByteExtract(b) => {
            let Some((v, after)) = b.read.read(hay, prev, &vars) else {
                return false;
            };
            // "byte_extract ... multiplier, align <2|4>": the stored value.
            let mut v = v.saturating_mul(b.multiplier.max(1));
            if b.align > 1 && v % b.align != 0 {
                v = v.saturating_add(b.align - v % b.align);
            }
            let mut vars = vars;
            if let Some(slot) = vars.get_mut(usize::from(b.var)) {
                *slot = i64::try_from(v).unwrap_or(i64::MAX);
            }
            step(parts, i + 1, hay, after, budget, first, vars)
        }
        Part::ByteJump(b) => {
            let Some((v, after)) = b.read.read(hay, prev, &vars) else {
                return false;
            };
            let mut jump = v.saturating_mul(b.multiplier.max(1));
            // "align: rounds the number of converted bytes up to the next
            // 32-bit boundary".
            if b.align && jump % 4 != 0 {
                jump = jump.saturating_add(4 - jump % 4);
            }
            // "from_beginning: jump from the beginning of the buffer";
            // "from_end: jump from the end of the buffer".
            let base = if b.from_beginning {
                0
            } else if b.from_end {
                len as i64
            } else {
                after as i64
            };
            let Ok(jump) = i64::try_from(jump) else {
                return false;
            };
            let to = base.saturating_add(jump).saturating_add(b.post_offset);
            if to < 0 || to > len as i64 {
                return false;
            }
            step(parts, i + 1, hay, to as usize, budget, first, vars)
        }
        Part::IsDataAt {
            n,
            relative,
            negated,
        } => {
            // "isdataat: check that the payload has data at a specific
            // location"; with relative, counted from the previous match.
            // Relative: at least n bytes remain after it; absolute: byte n
            // exists.
            let n = n.get(&vars);
            let data = if *relative {
                (prev as i64).saturating_add(n) <= len as i64
            } else {
                n < len as i64
            };
            data != *negated && step(parts, i + 1, hay, prev, budget, first, vars)
        }
        Part::Len(c) => c.test(len as u64) && step(parts, i + 1, hay, prev, budget, first, vars),
        Part::FileExt(ext) => {
            let ok = hay
                .iter()
                .rposition(|&b| b == b'.')
                .is_some_and(|d| hay[d + 1..].eq_ignore_ascii_case(ext));
            ok && step(parts, i + 1, hay, prev, budget, first, vars)
        }
    }
}
