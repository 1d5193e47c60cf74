//! HTTP/1.x header section parsing, lenient where clients are.
//!
//! RFC 9112 §5: `field-line = field-name ":" OWS field-value OWS`, one per
//! line; §5.2 obsolete line folding (`obs-fold = OWS CRLF RWS`) "MUST
//! either reject the message ... or replace each received obs-fold with
//! one or more SP octets". Browsers and libhtp accept more than that, and
//! evasions (http-evader) use the difference, so this parser follows them:
//! * a bare CR ends a line in a response (libhtp's response side does);
//! * a folded line is joined to the line before it, even one without a
//!   colon yet (`Transfer-Encoding\r\n :chunked`) — unless in a response
//!   it reads `token:` itself, then it is a header of its own (libhtp);
//! * NUL bytes are dropped from names, and names and values are trimmed
//!   of all ASCII white space including VT and FF.

use std::borrow::Cow;

use crate::smtp::mime::weird;

/// Bound on the fields kept per message.
const MAX_FIELDS: usize = 256;
/// Bound on one (folded) line.
const MAX_LINE: usize = 16 * 1024;

/// One header field as sent (name trimmed, value trimmed and unfolded),
/// borrowed from the header block unless a fold was joined or a NUL
/// dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header<'a> {
    pub name: Cow<'a, [u8]>,
    pub value: Cow<'a, [u8]>,
}

/// White space as C's `isspace` (SP, HT, LF, VT, FF, CR).
pub(crate) fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

pub(crate) fn trim_ws(b: &[u8]) -> &[u8] {
    b.get(trim_span(b)).unwrap_or(&[])
}

/// Where `b` is once trimmed of white space.
fn trim_span(b: &[u8]) -> std::ops::Range<usize> {
    let s = b.iter().position(|&c| !is_ws(c)).unwrap_or(b.len());
    let e = b.iter().rposition(|&c| !is_ws(c)).map_or(s, |e| e + 1);
    s..e
}

/// RFC 9110 §5.6.2 tchar.
fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// Does `l` (a folded line, leading white space removed) read `token:`?
fn looks_like_field(l: &[u8]) -> bool {
    let n = l.iter().take_while(|&&c| is_tchar(c)).count();
    n > 0 && trim_ws(l.get(n..).unwrap_or(&[])).first() == Some(&b':')
}

/// Split `block` into lines: LF (with an optional CR before it) ends a
/// line; with `cr_eol`, so does a bare CR.
pub(crate) fn lines(block: &[u8], cr_eol: bool) -> Lines<'_> {
    Lines {
        block,
        start: 0,
        cr_eol,
    }
}

/// The iterator [`lines`] returns.
pub(crate) struct Lines<'a> {
    block: &'a [u8],
    start: usize,
    cr_eol: bool,
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let start = self.start;
        let rest = self.block.get(start..).filter(|r| !r.is_empty())?;
        let mut i = 0;
        while let Some(&c) = rest.get(i) {
            let ends = match c {
                b'\n' => Some(1),
                b'\r' if rest.get(i + 1) == Some(&b'\n') => Some(2),
                b'\r' if self.cr_eol => Some(1),
                _ => None,
            };
            if let Some(n) = ends {
                self.start = start + i + n;
                return rest.get(..i);
            }
            i += 1;
        }
        self.start = self.block.len();
        Some(rest)
    }
}

/// The first line of `block` and the rest (see [`lines`] for `cr_eol`).
pub(crate) fn split_first_line(block: &[u8], cr_eol: bool) -> (&[u8], &[u8]) {
    for (i, &c) in block.iter().enumerate() {
        if c == b'\n' {
            let l = block.get(..i).unwrap_or(&[]);
            return (
                l.strip_suffix(b"\r").unwrap_or(l),
                block.get(i + 1..).unwrap_or(&[]),
            );
        }
        if c == b'\r' && cr_eol && block.get(i + 1) != Some(&b'\n') {
            return (
                block.get(..i).unwrap_or(&[]),
                block.get(i + 1..).unwrap_or(&[]),
            );
        }
    }
    (block, &[])
}

/// Parse a header section (without the start line). `response` selects
/// libhtp's response-side rules (bare CR ends a line; a folded `token:`
/// line is a field).
pub(crate) fn parse<'a>(block: &'a [u8], response: bool, w: &mut Vec<String>) -> Vec<Header<'a>> {
    // Logical lines: folded continuations joined with one SP (a line is
    // copied only when a continuation is joined to it).
    let mut logical: Vec<Cow<'a, [u8]>> = Vec::new();
    for line in lines(block, response) {
        if trim_ws(line).is_empty() {
            continue;
        }
        let folded = line.first().is_some_and(|&c| c == b' ' || c == b'\t');
        if folded && !(response && looks_like_field(trim_ws(line))) {
            match logical.last_mut() {
                Some(l) => {
                    if l.len() < MAX_LINE {
                        let l = l.to_mut();
                        l.push(b' ');
                        l.extend_from_slice(trim_ws(line));
                    }
                }
                None => weird(w, "header_continuation_without_field"),
            }
            continue;
        }
        if logical.len() > MAX_FIELDS {
            weird(w, "too_many_header_fields");
            break;
        }
        logical.push(Cow::Borrowed(trim_ws(line)));
    }
    let mut out = Vec::with_capacity(logical.len());
    for l in logical {
        let Some(colon) = l.iter().position(|&c| c == b':') else {
            weird(w, "header_line_without_colon");
            continue;
        };
        let raw_name = l.get(..colon).unwrap_or(&[]);
        if raw_name.last().is_some_and(|&c| is_ws(c)) {
            weird(w, "whitespace_before_colon");
        }
        let name_at = trim_span(raw_name);
        if raw_name
            .get(name_at.clone())
            .is_none_or(|n| n.iter().all(|&c| c == 0))
        {
            weird(w, "header_line_without_colon");
            continue;
        }
        if out.len() >= MAX_FIELDS {
            weird(w, "too_many_header_fields");
            break;
        }
        let v = trim_span(l.get(colon + 1..).unwrap_or(&[]));
        let value_at = colon + 1 + v.start..colon + 1 + v.end;
        let (name, value) = match l {
            Cow::Borrowed(b) => (
                Cow::Borrowed(b.get(name_at).unwrap_or(&[])),
                Cow::Borrowed(b.get(value_at).unwrap_or(&[])),
            ),
            Cow::Owned(b) => (
                Cow::Owned(b.get(name_at).unwrap_or(&[]).to_vec()),
                Cow::Owned(b.get(value_at).unwrap_or(&[]).to_vec()),
            ),
        };
        out.push(Header {
            name: without_nul(name),
            value,
        });
    }
    out
}

/// A name with its NUL bytes dropped (copied only when it has some).
fn without_nul(name: Cow<'_, [u8]>) -> Cow<'_, [u8]> {
    if name.contains(&0) {
        Cow::Owned(name.iter().copied().filter(|&c| c != 0).collect())
    } else {
        name
    }
}

/// A header field for look-ups: name and value as text (UTF-8, lossily;
/// borrowed when they are valid). Names are compared ASCII
/// case-insensitively (RFC 9110 §5.1: "Field names are case-insensitive").
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field<'a> {
    pub name: Cow<'a, str>,
    pub value: Cow<'a, str>,
}

impl Field<'_> {
    /// Is this the field `name` (given in lower case)?
    pub(crate) fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// The fields as text, for look-ups.
pub(crate) fn as_fields<'a>(h: &'a [Header<'_>]) -> Vec<Field<'a>> {
    h.iter()
        .map(|f| Field {
            name: String::from_utf8_lossy(&f.name),
            value: String::from_utf8_lossy(&f.value),
        })
        .collect()
}

/// The first value of field `name` (given in lower case).
pub(crate) fn field<'a>(fields: &'a [Field<'_>], name: &str) -> Option<&'a str> {
    fields.iter().find(|f| f.is(name)).map(|f| &*f.value)
}

/// Where a response header section ends, libhtp's way: an empty line, or
/// a line of white space that no `token:` line follows (http-evader's
/// `Content-length: 68\n\t\n<body>`). `None`: not seen yet (or the bytes
/// after a white-space line do not tell yet). Returns the index just past
/// the terminating line.
pub(crate) fn response_head_end(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(p) = b.get(i..).and_then(|r| r.iter().position(|&c| c == b'\n')) {
        let nl = i + p;
        let rest = b.get(nl + 1..).unwrap_or(&[]);
        match (rest.first(), rest.get(1)) {
            (Some(b'\n'), _) => return Some(nl + 2),
            (Some(b'\r'), Some(b'\n')) => return Some(nl + 3),
            (Some(b' ' | b'\t'), _) => {
                // A line of SP/HT only?
                let ws = rest
                    .iter()
                    .take_while(|&&c| c == b' ' || c == b'\t')
                    .count();
                let after = rest.get(ws..).unwrap_or(&[]);
                let eol = match (after.first(), after.get(1)) {
                    (Some(b'\n'), _) => Some(1),
                    (Some(b'\r'), Some(b'\n')) => Some(2),
                    (Some(b'\r'), None) | (None, _) => return None,
                    _ => None,
                };
                if let Some(e) = eol {
                    let end = nl + 1 + ws + e;
                    let next = after.get(e..).unwrap_or(&[]);
                    // A name longer than 256 is taken for no name.
                    let n = next.iter().take(257).take_while(|&&c| is_tchar(c)).count();
                    let after_name = if n > 256 { Some(&b'\n') } else { next.get(n) };
                    match (next.first(), next.get(1), after_name) {
                        // An empty line follows: the white-space line was
                        // an empty fold, the empty line ends the section.
                        (Some(b'\n'), _, _) => return Some(end + 1),
                        (Some(b'\r'), Some(b'\n'), _) => return Some(end + 2),
                        // Too little seen to tell.
                        (None, _, _) | (Some(b'\r'), None, _) | (_, _, None) => return None,
                        // A fold goes on, or another field follows.
                        (Some(b' ' | b'\t'), _, _) => {}
                        (_, _, Some(b':')) if n > 0 => {}
                        _ => return Some(end),
                    }
                }
            }
            _ => {}
        }
        i = nl + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(block: &[u8], response: bool) -> Vec<(String, String)> {
        as_fields(&parse(block, response, &mut Vec::new()))
            .into_iter()
            .map(|f| (f.name.to_ascii_lowercase(), f.value.into_owned()))
            .collect()
    }

    #[test]
    fn evader_header_forms() {
        // http-evader: a name split from its colon by a fold.
        let f = names(b"Transfer-Encoding\r\n :\r\n chunked\r\nA: b\r\n", true);
        assert_eq!(f[0], ("transfer-encoding".into(), "chunked".into()));
        // A folded line that reads "token:" is a field (response side).
        let f = names(
            b"Connection: close\r\n Transfer-Encoding: chunked\r\n",
            true,
        );
        assert_eq!(f[1].0, "transfer-encoding");
        // ... but a continuation on the request side.
        let f = names(
            b"Connection: close\r\n Transfer-Encoding: chunked\r\n",
            false,
        );
        assert_eq!(f.len(), 1);
        // Bare CR ends a response line; NUL and VT in a name.
        let f = names(
            b"A: x\rContent\x00-Encoding: gzip\r\nTE\x0b:chunked\r\n",
            true,
        );
        assert_eq!(f[1], ("content-encoding".into(), "gzip".into()));
        assert_eq!(f[2].0, "te");
        let f = names(b"A: x\rB: y\r\n", false);
        assert_eq!(f, vec![("a".into(), "x\rB: y".into())]);
    }

    #[test]
    fn response_head_ends() {
        assert_eq!(
            response_head_end(b"HTTP/1.1 200 ok\r\nA: b\r\n\r\nbody"),
            Some(25)
        );
        let b = b"HTTP/1.1 200 ok\r\nContent-length: 68\n\t\nX5O!P%@AP[4";
        assert_eq!(response_head_end(b), Some(b.len() - 11));
        // A white-space line before another field is no end.
        assert_eq!(response_head_end(b"H\r\n \r\nA: b\r\n\r\n"), Some(14));
        assert_eq!(response_head_end(b"H\r\n \r\nA"), None);
        // An empty fold, then the empty line (http-evader
        // "end-crlf\040crlfcrlf"), or a fold going on ("nl-nl-chunked").
        assert_eq!(response_head_end(b"H\r\nA: b\r\n \r\n\r\nbody"), Some(14));
        assert_eq!(
            response_head_end(b"H\r\nT: \r\n \r\n chunked\r\n\r\n5"),
            Some(23)
        );
        assert_eq!(response_head_end(b"H\r\nA: b"), None);
    }
}
