//! Static indicators of obfuscated or dangerous JavaScript, and a score
//! with its reasons. The code is never run: only its text is looked at,
//! in one linear pass over at most [`Limits::max_script_bytes`] bytes.
//!
//! The indicators are those analysts look for first (the same families
//! as the public "JavaScript obfuscation" literature and tools such as
//! box-js / JSDetox describe): evaluation of strings, decoding chains,
//! `document.write` of markup, very long or high-entropy literals, dense
//! escapes, packers, and keywords hidden by string concatenation.

use serde::Serialize;
use sha2::Digest as _;

use crate::Limits;

/// A script at or above this score is suspicious.
pub const SUSPICIOUS_SCORE: u32 = 7;

/// One indicator found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Indicator {
    pub name: &'static str,
    /// Times seen (capped).
    pub count: u32,
    /// What it adds to the score.
    pub weight: u32,
}

/// The `js` record of one script.
#[derive(Debug, Clone, Serialize)]
pub struct JsReport {
    pub size: usize,
    pub sha256: String,
    pub score: u32,
    pub suspicious: bool,
    pub indicators: Vec<Indicator>,
    /// Shannon entropy of the string literals (bits per byte).
    pub strings_entropy: f64,
    pub longest_string: usize,
    /// Only the first [`Limits::max_script_bytes`] were analysed.
    pub truncated: bool,
}

impl JsReport {
    /// `eval_string (3), packer (4)`: the reasons of the score.
    pub fn reasons(&self) -> String {
        self.indicators
            .iter()
            .filter(|i| i.weight > 0)
            .map(|i| format!("{} ({})", i.name, i.weight))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Words whose appearance only after joining string pieces means someone
/// hid them.
const HIDDEN_WORDS: &[&str] = &[
    "eval",
    "script",
    "iframe",
    "document",
    "window",
    "location",
    "fromCharCode",
    "unescape",
    "ActiveXObject",
    "WScript",
    "Shell",
    "createElement",
    "http",
    "write",
    "cookie",
];

/// Most string literals kept of one script.
const MAX_LITERALS: usize = 100_000;

/// A script split into code and string literals.
struct Split {
    /// The code without comments, each string literal as one `"`.
    code: Vec<u8>,
    /// The literals' bytes, one after the other.
    bytes: Vec<u8>,
    /// Each literal: its `"` in `code`, and its range in `bytes`.
    strings: Vec<(usize, std::ops::Range<usize>)>,
}

impl Split {
    fn lit(&self, k: usize) -> &[u8] {
        self.strings
            .get(k)
            .and_then(|(_, r)| self.bytes.get(r.clone()))
            .unwrap_or(&[])
    }
}

/// Split a script into code (strings blanked) and its string literals.
/// Runs of ordinary bytes are copied whole; the specials are found with
/// memchr.
fn split(src: &[u8]) -> Split {
    let mut code = Vec::with_capacity(src.len());
    let mut bytes = Vec::new();
    let mut strings = Vec::new();
    let mut i = 0;
    while i < src.len() {
        let rest = &src[i..];
        let run = rest
            .iter()
            .position(|&b| matches!(b, b'/' | b'"' | b'\'' | b'`'))
            .unwrap_or(rest.len());
        code.extend_from_slice(&rest[..run]);
        i += run;
        let Some(&c) = src.get(i) else {
            break;
        };
        if c == b'/' {
            match src.get(i + 1) {
                // A line comment: up to (not including) the newline.
                Some(b'/') => {
                    i = memchr::memchr(b'\n', &src[i..]).map_or(src.len(), |p| i + p);
                }
                // A block comment: past its "*/", or to the end.
                Some(b'*') => {
                    i = src
                        .get(i + 2..)
                        .and_then(|r| memchr::memmem::find(r, b"*/"))
                        .map_or(src.len(), |p| i + 2 + p + 2);
                }
                _ => {
                    code.push(c);
                    i += 1;
                }
            }
            continue;
        }
        // A string literal, to its closing quote, or (but in a template)
        // to the end of its line. A backslash keeps the byte after it.
        let start = bytes.len();
        i += 1;
        while i < src.len() {
            let rest = &src[i..];
            let Some(p) = memchr::memchr3(c, b'\\', b'\n', rest) else {
                bytes.extend_from_slice(rest);
                i = src.len();
                break;
            };
            bytes.extend_from_slice(&rest[..p]);
            i += p;
            match src[i] {
                b'\\' if i + 1 < src.len() => {
                    bytes.extend_from_slice(&src[i..i + 2]);
                    i += 2;
                }
                b'\n' if c != b'`' => break,
                x if x == c => break,
                x => {
                    bytes.push(x);
                    i += 1;
                }
            }
        }
        // Past the closing quote (or the newline that ended it).
        i += 1;
        code.push(b'"');
        if strings.len() < MAX_LITERALS {
            strings.push((code.len() - 1, start..bytes.len()));
        } else {
            bytes.truncate(start);
        }
    }
    Split {
        code,
        bytes,
        strings,
    }
}

fn count(hay: &[u8], needle: &[u8]) -> u32 {
    if needle.is_empty() || hay.len() < needle.len() {
        return 0;
    }
    // Overlapping matches, as a window-by-window comparison counts them
    // (`memmem::find_iter` would skip past each match).
    let finder = memchr::memmem::Finder::new(needle);
    let mut n = 0u32;
    let mut from = 0;
    while let Some(p) = finder.find(&hay[from..]) {
        n += 1;
        if n >= 10_000 {
            break;
        }
        from += p + 1;
    }
    n
}

/// `name(` called, not part of a longer identifier (`myeval(` is not).
fn calls(code: &[u8], name: &[u8]) -> u32 {
    let mut n = 0;
    let mut from = 0;
    while let Some(p) = find(&code[from..], name) {
        let at = from + p;
        let before_ok = at == 0 || {
            let b = code[at - 1];
            !(b.is_ascii_alphanumeric() || b == b'_' || b == b'$')
        };
        let mut j = at + name.len();
        while j < code.len() && code[j].is_ascii_whitespace() {
            j += 1;
        }
        if before_ok && code.get(j) == Some(&b'(') {
            n += 1;
        }
        from = at + name.len();
        if n >= 10_000 {
            break;
        }
    }
    n
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    memchr::memmem::find(hay, needle)
}

/// `\xHH`, `\uHHHH`, `%uHHHH` and `%HH` sequences.
fn escapes(src: &[u8]) -> u32 {
    let hexn = |s: &[u8], n: usize| s.len() >= n && s[..n].iter().all(u8::is_ascii_hexdigit);
    let mut n = 0u32;
    let mut i = 0;
    while i + 2 < src.len() {
        // Only a backslash or a percent sign can start one.
        match memchr::memchr2(b'\\', b'%', &src[i..]) {
            Some(p) => i += p,
            None => break,
        }
        if i + 2 >= src.len() {
            break;
        }
        let rest = &src[i + 1..];
        let len = match (src[i], rest.first()) {
            (b'\\', Some(b'x')) if hexn(&rest[1..], 2) => 4,
            (b'\\', Some(b'u')) if hexn(&rest[1..], 4) => 6,
            (b'%', Some(b'u')) if hexn(&rest[1..], 4) => 6,
            (b'%', _) if hexn(rest, 2) => 3,
            _ => 0,
        };
        if len > 0 {
            n += 1;
            i += len;
        } else {
            i += 1;
        }
    }
    n
}

/// Analyse one script.
pub fn analyze(src: &[u8], limits: &Limits) -> JsReport {
    let truncated = src.len() > limits.max_script_bytes;
    let src = &src[..src.len().min(limits.max_script_bytes)];
    let sp = split(src);
    let code = &sp.code;
    let strings = &sp.strings;
    let mut squeezed = Vec::with_capacity(code.len());
    for &b in code {
        if !b.is_ascii_whitespace() {
            squeezed.push(b);
        }
    }
    let mut ind: Vec<Indicator> = Vec::new();
    let mut add = |name: &'static str, count: u32, weight: u32| {
        if count > 0 {
            ind.push(Indicator {
                name,
                count,
                weight,
            });
        }
    };
    // Keywords hidden by concatenation: "ev" + "al".
    let mut hidden = 0u32;
    let mut joined_all: Vec<Vec<u8>> = Vec::new();
    let mut k = 0;
    while k < strings.len() {
        // Literals k..=j joined by `+` (and nothing else).
        let mut joined: Option<Vec<u8>> = None;
        let mut j = k;
        while j + 1 < strings.len() {
            let between = code.get(strings[j].0 + 1..strings[j + 1].0).unwrap_or(&[]);
            if between
                .iter()
                .all(|b| b.is_ascii_whitespace() || *b == b'+')
                && between.contains(&b'+')
            {
                let jb = joined.get_or_insert_with(|| sp.lit(k).to_vec());
                jb.extend_from_slice(sp.lit(j + 1));
                j += 1;
                if jb.len() > 4096 {
                    break;
                }
            } else {
                break;
            }
        }
        if let Some(joined) = joined {
            for w in HIDDEN_WORDS {
                let w = w.as_bytes();
                if find(&joined, w).is_some() && !(k..=j).any(|p| find(sp.lit(p), w).is_some()) {
                    hidden += 1;
                }
            }
            if joined_all.len() < 256 {
                joined_all.push(joined);
            }
        }
        k = j + 1;
    }
    // Evaluation of strings.
    let eval = calls(code, b"eval");
    add("eval", eval, 3);
    let func = calls(code, b"Function");
    add("function_constructor", func, 3);
    let timer_str = count(&squeezed, b"setTimeout(\"") + count(&squeezed, b"setInterval(\"");
    add("timer_with_string", timer_str, 2);
    // Decoding chains.
    let decoders = [
        calls(code, b"unescape"),
        calls(code, b"atob"),
        count(code, b"fromCharCode"),
        calls(code, b"decodeURIComponent"),
        calls(code, b"escape"),
    ];
    let kinds = decoders.iter().filter(|&&n| n > 0).count() as u32;
    let decodes: u32 = decoders.iter().sum();
    add("decoding", decodes, kinds.min(3));
    let executes = eval + func + timer_str > 0;
    if kinds > 0 && executes {
        add("decode_then_execute", 1, 3);
    }
    // Literals: length, entropy.
    let longest = strings.iter().map(|(_, r)| r.len()).max().unwrap_or(0);
    // All literals, one after the other.
    let all = &sp.bytes;
    let ent = crate::entropy(all);
    let mut literal_weight = 0;
    if longest > 2000 {
        add("long_string", 1, 2);
        literal_weight += 2;
    }
    if all.len() >= 512 && ent >= 5.0 {
        add("high_entropy_strings", 1, 3 - literal_weight.min(2));
    }
    let esc = escapes(src);
    if esc >= 32 && (esc as usize) * 4 * 10 >= src.len() {
        add("dense_escapes", esc, 2);
    }
    // Packers and obfuscator signatures.
    let packer = count(&squeezed, b"function(p,a,c,k,e,") + count(&squeezed, b"p,a,c,k,e,d");
    add("packer", packer.min(1), 4);
    let hexnames = count(code, b"_0x");
    if hexnames >= 10 {
        add("obfuscator_names", hexnames, 2);
    }
    // document.write of markup.
    let writes = count(&squeezed, b"document.write(") + count(&squeezed, b"document.writeln(");
    if writes > 0 {
        // Markup in one literal, or in literals joined by `+`.
        let markup = (0..strings.len())
            .map(|k| sp.lit(k))
            .chain(joined_all.iter().map(Vec::as_slice))
            .any(|s| {
                let l = s.to_ascii_lowercase();
                find(&l, b"<script").is_some() || find(&l, b"<iframe").is_some()
            });
        if markup {
            add("document_write_markup", writes, 3);
        } else {
            add("document_write", writes, 1);
        }
    }
    add("concatenated_keywords", hidden, 2);
    // `window[name](...)`: a global called by a computed name.
    let computed =
        count(&squeezed, b"window[") + count(&squeezed, b"this[") + count(&squeezed, b"self[");
    if computed > 0 && find(&squeezed, b"](").is_some() {
        add("computed_global_call", computed, 2);
    }
    let activex = count(src, b"ActiveXObject")
        + count(src, b"WScript.Shell")
        + count(src, b"Shell.Application");
    add("activex_or_shell", activex, 3);
    let redirect = count(&squeezed, b"location.href=")
        + count(&squeezed, b"location.replace(")
        + count(&squeezed, b"window.location=")
        + count(&squeezed, b"document.location=");
    add("location_change", redirect, 0);
    let score = ind.iter().map(|i| i.weight).sum();
    JsReport {
        size: src.len(),
        sha256: crate::hex(&sha2::Sha256::digest(src)),
        score,
        suspicious: score >= SUSPICIOUS_SCORE,
        indicators: ind,
        strings_entropy: (ent * 100.0).round() / 100.0,
        longest_string: longest,
        truncated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first, byte-by-byte form of [`split`], kept as its reference.
    fn split_reference(src: &[u8]) -> (Vec<u8>, Vec<(usize, Vec<u8>)>) {
        let mut code = Vec::with_capacity(src.len());
        let mut strings: Vec<(usize, Vec<u8>)> = Vec::new();
        let mut i = 0;
        while i < src.len() {
            let c = src[i];
            if c == b'/' && src.get(i + 1) == Some(&b'/') {
                while i < src.len() && src[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            if c == b'/' && src.get(i + 1) == Some(&b'*') {
                i += 2;
                while i + 1 < src.len() && !(src[i] == b'*' && src[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
                continue;
            }
            if c == b'"' || c == b'\'' || c == b'`' {
                let start = code.len();
                let mut lit = Vec::new();
                i += 1;
                while i < src.len() && src[i] != c {
                    if src[i] == b'\\' && i + 1 < src.len() {
                        lit.push(src[i]);
                        i += 1;
                    } else if src[i] == b'\n' && c != b'`' {
                        break;
                    }
                    lit.push(src[i]);
                    i += 1;
                }
                i += 1;
                // The literal stands as one quote character in the code.
                code.push(b'"');
                if strings.len() < 100_000 {
                    strings.push((start, lit));
                }
                continue;
            }
            code.push(c);
            i += 1;
        }
        (code, strings)
    }

    /// `split` gives what the byte-by-byte reference gives, on scripts
    /// built from every special byte at every position.
    #[test]
    fn split_matches_reference() {
        let pieces: &[&[u8]] = &[
            b"/", b"*", b"\"", b"'", b"`", b"\\", b"\n", b"a", b" ", b"+", b"//", b"/*", b"*/",
        ];
        let mut x: u32 = 7;
        let mut cases: Vec<Vec<u8>> = Vec::new();
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    cases.push([*a, *b, *c].concat());
                }
            }
        }
        for _ in 0..20_000 {
            let mut s = Vec::new();
            let n = 1 + (x as usize >> 8) % 24;
            for _ in 0..n {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                s.extend_from_slice(pieces[(x >> 16) as usize % pieces.len()]);
            }
            cases.push(s);
        }
        for src in &cases {
            let sp = split(src);
            let (code, strings) = split_reference(src);
            assert_eq!(sp.code, code, "{:?}", String::from_utf8_lossy(src));
            let got: Vec<(usize, Vec<u8>)> = (0..sp.strings.len())
                .map(|k| (sp.strings[k].0, sp.lit(k).to_vec()))
                .collect();
            assert_eq!(got, strings, "{:?}", String::from_utf8_lossy(src));
        }
    }

    fn names(r: &JsReport) -> Vec<&'static str> {
        r.indicators.iter().map(|i| i.name).collect()
    }

    #[test]
    fn benign_code_scores_low() {
        let src = br#"
            // A menu toggle.
            function toggle(id) { var e = document.getElementById(id);
              e.style.display = e.style.display === "none" ? "block" : "none"; }
            setTimeout(function () { toggle("menu"); }, 100);
            var msg = 'He said "eval(x)" in a comment';
        "#;
        let r = analyze(src, &Limits::default());
        assert!(!r.suspicious, "{r:?}");
        assert_eq!(r.score, 0, "{r:?}");
    }

    #[test]
    fn obfuscation_is_explained() {
        let src = br#"var _0xa=["\x64\x6f\x63","\x75\x6d"]; var k = "ev" + "al";
            var s = unescape("%3C%69%66%72%61%6D%65%3E") + String.fromCharCode(60,47,105,102,62);
            eval(atob("ZG9jdW1lbnQudGl0bGU9J2hpJw=="));
            document.write("<ifr" + "ame src='/x'></iframe>" + "<script>1</script>");"#;
        let r = analyze(src, &Limits::default());
        let n = names(&r);
        for want in [
            "eval",
            "decoding",
            "decode_then_execute",
            "concatenated_keywords",
            "document_write_markup",
        ] {
            assert!(n.contains(&want), "{want} missing: {r:?}");
        }
        assert!(r.suspicious, "{r:?}");
        assert!(r.reasons().contains("eval (3)"));
    }

    #[test]
    fn packer_and_escapes() {
        let packed = b"eval(function(p,a,c,k,e,d){e=function(c){return c};return p}('0 1',2,2,'a|b'.split('|'),0,{}))";
        assert!(names(&analyze(packed, &Limits::default())).contains(&"packer"));
        let esc = "\\x41".repeat(200);
        let src = format!("var a = \"{esc}\";");
        assert!(names(&analyze(src.as_bytes(), &Limits::default())).contains(&"dense_escapes"));
    }

    #[test]
    fn long_random_literal() {
        let mut x: u32 = 1;
        let lit: String = (0..5000)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let a = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
                a[(x >> 16) as usize % 64] as char
            })
            .collect();
        let r = analyze(format!("var p='{lit}';").as_bytes(), &Limits::default());
        let n = names(&r);
        assert!(
            n.contains(&"long_string") && n.contains(&"high_entropy_strings"),
            "{r:?}"
        );
    }

    #[test]
    fn huge_and_broken_scripts_are_bounded() {
        let limits = Limits {
            max_script_bytes: 1 << 16,
            ..Limits::default()
        };
        let big = vec![b'"'; 10 << 20];
        let r = analyze(&big, &limits);
        assert!(r.truncated);
        assert_eq!(r.size, 1 << 16);
        for s in [
            &b"/*"[..],
            b"'",
            b"\\",
            b"eval",
            b"\"\\",
            b"%u12",
            b"/**/'\n",
        ] {
            let _ = analyze(s, &limits);
        }
    }
}
