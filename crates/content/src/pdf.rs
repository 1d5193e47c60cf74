//! PDFs that act: /JavaScript, /OpenAction, /AA, /Launch, /EmbeddedFile.
//!
//! ISO 32000-1 §7.3.5: a name object is `/` followed by regular
//! characters, where `#xx` is a byte written in hex (so `/J#61vaScript`
//! is `/JavaScript`, a common evasion). Names are counted over the raw
//! file; names inside compressed object streams (§7.5.7) are not seen,
//! and their presence is reported.

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

pub fn analyze(data: &[u8], out: &mut Vec<Finding>) -> Option<PdfInfo> {
    if !data.starts_with(b"%PDF-") {
        return None;
    }
    let mut p = PdfInfo {
        version: String::from_utf8_lossy(&data[5..data.len().min(8)])
            .trim()
            .to_string(),
        ..Default::default()
    };
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
        let p = analyze(pdf, &mut f).expect("pdf");
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
            let _ = analyze(junk, &mut f);
        }
        assert!(analyze(b"not a pdf", &mut f).is_none());
    }
}
