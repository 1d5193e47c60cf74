//! PDFs that act: /JavaScript, /OpenAction, /AA, /Launch, /EmbeddedFile.
//!
//! ISO 32000-1 §7.3.5: a name object is `/` followed by regular
//! characters, where `#xx` is a byte written in hex (so `/J#61vaScript`
//! is `/JavaScript`, a common evasion). Names are counted over the raw
//! file and over the inflated content of compressed object streams
//! (§7.5.7, `/Type /ObjStm` with `/FlateDecode`), where PDF 1.5+ writers
//! put most dictionaries — and where droppers hide `/OpenAction`.

use serde::Serialize;

use crate::verdict::{Finding, Level};

#[derive(Debug, Clone, Default, Serialize)]
pub struct PdfInfo {
    pub version: String,
    pub objects: u32,
    pub javascript: u32,
    pub open_action: u32,
    pub additional_actions: u32,
    pub launch: u32,
    pub embedded_files: u32,
    pub uri: u32,
    pub acroform: u32,
    pub xfa: u32,
    pub object_streams: u32,
    /// Object streams inflated and scanned (the counts above include
    /// the names found in them).
    pub object_streams_scanned: u32,
    pub encrypted: bool,
    /// Names written with `#xx` escapes (obfuscated).
    pub escaped_names: u32,
}

fn is_delim(b: u8) -> bool {
    // §7.2.2: white-space and delimiter characters.
    matches!(
        b,
        b'\0'
            | b'\t'
            | b'\n'
            | b'\x0c'
            | b'\r'
            | b' '
            | b'('
            | b')'
            | b'<'
            | b'>'
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'/'
            | b'%'
    )
}

/// Object streams inflated per file at most.
const MAX_OBJSTM: u32 = 256;
/// How far before `stream` its dictionary is looked for.
const MAX_DICT: usize = 4096;

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// Count the names of `data` into `p`; `objects` counts `obj` keywords.
fn scan(data: &[u8], p: &mut PdfInfo, names_of_dict: Option<&mut Vec<Vec<u8>>>) {
    let mut names_of_dict = names_of_dict;
    let mut i = 0;
    let mut name = Vec::with_capacity(32);
    while i < data.len() {
        match data[i] {
            b'/' => {
                i += 1;
                name.clear();
                let mut escaped = false;
                while i < data.len() && !is_delim(data[i]) && name.len() < 64 {
                    let b = data[i];
                    if b == b'#' && i + 2 < data.len() {
                        let h = std::str::from_utf8(&data[i + 1..i + 3])
                            .ok()
                            .and_then(|h| u8::from_str_radix(h, 16).ok());
                        if let Some(v) = h {
                            name.push(v);
                            escaped = true;
                            i += 3;
                            continue;
                        }
                    }
                    name.push(b);
                    i += 1;
                }
                if let Some(v) = names_of_dict.as_mut() {
                    if v.len() < 64 {
                        v.push(name.clone());
                    }
                    continue;
                }
                if escaped {
                    p.escaped_names += 1;
                }
                let c = match name.as_slice() {
                    b"JavaScript" | b"JS" => &mut p.javascript,
                    b"OpenAction" => &mut p.open_action,
                    b"AA" => &mut p.additional_actions,
                    b"Launch" => &mut p.launch,
                    b"EmbeddedFile" | b"EmbeddedFiles" => &mut p.embedded_files,
                    b"URI" => &mut p.uri,
                    b"AcroForm" => &mut p.acroform,
                    b"XFA" => &mut p.xfa,
                    b"ObjStm" => &mut p.object_streams,
                    b"Encrypt" => {
                        p.encrypted = true;
                        continue;
                    }
                    _ => continue,
                };
                *c = c.saturating_add(1);
            }
            b'o' if data[i..].starts_with(b"obj") && i > 0 && data[i - 1].is_ascii_whitespace() => {
                p.objects = p.objects.saturating_add(1);
                i += 3;
            }
            _ => i += 1,
        }
    }
}

/// §7.5.7 object streams: "a stream object in which a sequence of
/// indirect objects may be stored", its dictionary holding `/Type
/// /ObjStm`. §7.3.8.1: the stream's data lies between the `stream`
/// keyword's end of line ("a CARRIAGE RETURN and a LINE FEED or just a
/// LINE FEED") and `endstream`. The data is found by `endstream` rather
/// than `/Length` (often an indirect reference). Only unfiltered and
/// `/FlateDecode` streams (§7.4.4, zlib) are read; inflation stops at
/// `budget` bytes, which this lowers. Encrypted files are not decrypted.
fn object_streams(data: &[u8], p: &mut PdfInfo, budget: &mut usize) {
    use std::io::Read;
    let mut at = 0;
    while at < data.len() && p.object_streams_scanned < MAX_OBJSTM && *budget > 0 {
        let Some(k) = find(&data[at..], b"stream") else {
            return;
        };
        let kw = at + k;
        at = kw + 6;
        // Not `endstream`, and followed by an end of line.
        if kw >= 3 && &data[kw - 3..kw] == b"end" {
            continue;
        }
        let start = match data.get(at..at + 2) {
            Some(b"\r\n") => at + 2,
            Some([b'\n', _]) => at + 1,
            Some([b'\r', _]) => at + 1,
            _ => continue,
        };
        let Some(end) = find(&data[start..], b"endstream").map(|e| start + e) else {
            return;
        };
        at = end + 9;
        // The dictionary: after the last `obj` before the keyword.
        let from = kw.saturating_sub(MAX_DICT);
        let Some(o) = rfind(&data[from..kw], b"obj") else {
            continue;
        };
        let dict = &data[from + o + 3..kw];
        let mut names = Vec::new();
        scan(dict, &mut PdfInfo::default(), Some(&mut names));
        if !names.iter().any(|n| n == b"ObjStm") {
            continue;
        }
        let filters: Vec<&[u8]> = names
            .iter()
            .map(Vec::as_slice)
            .filter(|n| {
                n.ends_with(b"Decode") || matches!(*n, b"Fl" | b"AHx" | b"A85" | b"LZW" | b"RL")
            })
            .collect();
        let raw = &data[start..end];
        let mut inflated = Vec::new();
        let cap = (*budget).min(MAX_OBJSTM_BYTES) as u64;
        match filters.as_slice() {
            [] => inflated.extend_from_slice(&raw[..raw.len().min(cap as usize)]),
            [b"FlateDecode" | b"Fl"] => {
                // A cut or damaged stream still gives what inflated.
                let _ = flate2::read::ZlibDecoder::new(raw)
                    .take(cap)
                    .read_to_end(&mut inflated);
            }
            _ => continue,
        }
        *budget = budget.saturating_sub(inflated.len());
        p.object_streams_scanned += 1;
        let objects = p.objects;
        scan(&inflated, p, None);
        // Objects inside an object stream have no `obj` keywords.
        p.objects = objects;
    }
}

/// Bytes inflated from one object stream at most.
const MAX_OBJSTM_BYTES: usize = 8 << 20;

pub fn analyze(data: &[u8], budget: &mut usize, out: &mut Vec<Finding>) -> Option<PdfInfo> {
    if !data.starts_with(b"%PDF-") {
        return None;
    }
    let mut p = PdfInfo {
        version: String::from_utf8_lossy(&data[5..data.len().min(8)])
            .trim()
            .to_string(),
        ..Default::default()
    };
    scan(data, &mut p, None);
    if p.object_streams > 0 && !p.encrypted {
        object_streams(data, &mut p, budget);
    }
    let acts = p.open_action + p.additional_actions;
    if p.javascript > 0 && acts > 0 {
        out.push(Finding::new(
            Level::Suspicious,
            "pdf_auto_javascript",
            "PDF runs JavaScript when opened (/OpenAction or /AA with /JavaScript)",
        ));
    } else if p.javascript > 0 {
        out.push(Finding::new(
            Level::Info,
            "pdf_javascript",
            "PDF holds JavaScript",
        ));
    }
    if p.launch > 0 {
        out.push(Finding::new(
            Level::Suspicious,
            "pdf_launch",
            "PDF has a /Launch action (runs a program)",
        ));
    }
    if p.embedded_files > 0 {
        let level = if acts > 0 {
            Level::Suspicious
        } else {
            Level::Info
        };
        out.push(Finding::new(
            level,
            "pdf_embedded_file",
            "PDF embeds a file",
        ));
    }
    if p.escaped_names > 0 && (p.javascript + p.launch + acts) > 0 {
        out.push(Finding::new(
            Level::Suspicious,
            "pdf_obfuscated_names",
            format!("{} name(s) written with #xx escapes", p.escaped_names),
        ));
    }
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_action_javascript() {
        let pdf = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /OpenAction 2 0 R >>\nendobj\n2 0 obj\n<< /S /J#61vaScript /JS (app.alert\\('hi'\\)) >>\nendobj\n%%EOF";
        let mut f = Vec::new();
        let p = analyze(pdf, &mut (1 << 20), &mut f).expect("pdf");
        assert_eq!(p.version, "1.4");
        assert_eq!((p.javascript, p.open_action, p.objects), (2, 1, 2));
        assert_eq!(p.escaped_names, 1);
        let codes: Vec<&str> = f.iter().map(|x| x.code).collect();
        assert_eq!(codes, vec!["pdf_auto_javascript", "pdf_obfuscated_names"]);
    }

    #[test]
    fn plain_pdf_is_quiet_and_junk_is_safe() {
        let mut f = Vec::new();
        let p = analyze(
            b"%PDF-1.7\n1 0 obj << /Type /Page /URI (x) >> endobj",
            &mut (1 << 20),
            &mut f,
        )
        .expect("pdf");
        assert_eq!(p.uri, 1);
        assert!(f.is_empty());
        for junk in [
            &b"%PDF-"[..],
            b"%PDF-1.4 /",
            b"%PDF-1.4 /#",
            b"%PDF-1.4 /#4",
            b"%PDF-1.4 /#zz",
        ] {
            let _ = analyze(junk, &mut (1 << 20), &mut f);
        }
        assert!(analyze(b"not a pdf", &mut (1 << 20), &mut f).is_none());
    }

    fn file(name: &str) -> Vec<u8> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("testdata/pdf")
                .join(name),
        )
        .expect("testdata (testdata/pdf/make.sh)")
    }

    /// qpdf moved the catalog and the action into a compressed object
    /// stream: the raw bytes show no /OpenAction, the inflated stream does.
    #[test]
    fn names_inside_object_streams_are_seen() {
        let d = file("objstm-openaction.pdf");
        assert!(find(&d, b"/OpenAction").is_none());
        let mut f = Vec::new();
        let mut budget = 1 << 20;
        let p = analyze(&d, &mut budget, &mut f).expect("pdf");
        assert_eq!(p.object_streams_scanned, 1);
        assert_eq!((p.open_action, p.javascript), (1, 2), "{p:?}");
        assert!(budget < 1 << 20);
        let codes: Vec<&str> = f.iter().map(|x| x.code).collect();
        assert_eq!(codes, vec!["pdf_auto_javascript"]);
        // The same document without the action stays quiet.
        let mut f = Vec::new();
        let p = analyze(&file("objstm-benign.pdf"), &mut (1 << 20), &mut f).expect("pdf");
        assert_eq!((p.object_streams_scanned, p.open_action), (1, 0));
        assert!(f.is_empty(), "{f:?}");
        // No budget: nothing inflated.
        let p = analyze(&d, &mut 0, &mut f).expect("pdf");
        assert_eq!((p.object_streams_scanned, p.open_action), (0, 0));
    }

    #[test]
    fn object_streams_are_bounded() {
        // A zlib bomb in an object stream inflates only to the budget.
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&vec![b'/'; 32 << 20]).expect("zlib");
        let bomb = z.finish().expect("zlib");
        let mut d =
            b"%PDF-1.5\n1 0 obj\n<< /Type /ObjStm /Filter /FlateDecode /N 1 /First 0 >>\nstream\n"
                .to_vec();
        d.extend_from_slice(&bomb);
        d.extend_from_slice(b"\nendstream\nendobj\n");
        let mut budget = 1 << 20;
        let p = analyze(&d, &mut budget, &mut Vec::new()).expect("pdf");
        assert_eq!((p.object_streams_scanned, budget), (1, 0));
        // Truncations and seeded mutations of a real file.
        let real = file("objstm-openaction.pdf");
        for n in 0..real.len() {
            let _ = analyze(&real[..n], &mut (1 << 20), &mut Vec::new());
        }
        let mut rng = netsift_testkit::XorShift(5);
        for _ in 0..3000 {
            let mut m = real.clone();
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(m.len());
                m[i] = rng.next() as u8;
            }
            let _ = analyze(&m, &mut (1 << 20), &mut Vec::new());
        }
        // Many object streams: at most MAX_OBJSTM inflated.
        let one = b"1 0 obj << /Type /ObjStm >>\nstream\n/x\nendstream\n";
        let mut d = b"%PDF-1.5\n".to_vec();
        for _ in 0..1000 {
            d.extend_from_slice(one);
        }
        let p = analyze(&d, &mut (1 << 20), &mut Vec::new()).expect("pdf");
        assert_eq!(p.object_streams_scanned, MAX_OBJSTM);
    }
}
