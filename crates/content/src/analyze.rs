//! One file's analysis: its type, then what its type holds.

use serde::Serialize;

use crate::archive::{self, ArchiveInfo};
use crate::exe::{self, ExeInfo};
use crate::filetype::{self, Class};
use crate::html::{self, HtmlSummary};
use crate::js::{self, JsReport};
use crate::office::{self, OfficeInfo};
use crate::pdf::{self, PdfInfo};
use crate::verdict::{Finding, Level};
use crate::Limits;

/// A file to analyse.
#[derive(Debug, Clone, Copy, Default)]
pub struct Input<'a> {
    /// The file's bytes (the caller keeps at most `Limits::max_bytes`).
    pub data: &'a [u8],
    /// The type the protocol declared (Content-Type).
    pub declared: Option<&'a str>,
    /// The file name the protocol gave.
    pub name: Option<&'a str>,
    /// The host the file came from (HTTP Host), for "another site".
    pub page_host: Option<&'a str>,
    /// The file was cut (size bound, gap): analysis saw only a part.
    pub partial: bool,
}

/// What a file holds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Type sniffed from magic.
    pub mime_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exe: Option<ExeInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub office: Option<OfficeInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdf: Option<PdfInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive: Option<ArchiveInfo>,
    /// The `html` record of an HTML file.
    #[serde(skip)]
    pub html: Option<HtmlSummary>,
    /// The `js` records: an HTML page's inline scripts, or the file itself.
    #[serde(skip)]
    pub scripts: Vec<JsReport>,
    #[serde(skip)]
    pub findings: Vec<Finding>,
}

fn is_js_type(declared: Option<&str>, name: Option<&str>) -> bool {
    let d = declared
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(
        d.as_str(),
        "application/javascript"
            | "text/javascript"
            | "application/x-javascript"
            | "application/ecmascript"
            | "text/ecmascript"
    ) || name
        .and_then(filetype::extension)
        .is_some_and(|e| e == "js" || e == "mjs" || e == "jse")
}

fn is_html_type(sniffed: &str, declared: Option<&str>, name: Option<&str>) -> bool {
    if sniffed == "text/html" {
        return true;
    }
    let text = filetype::class_of_mime(sniffed) == Class::Text;
    let d = declared
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    text && (d == "text/html"
        || d == "application/xhtml+xml"
        || name
            .and_then(filetype::extension)
            .is_some_and(|e| e == "html" || e == "htm" || e == "hta"))
}

/// Analyse one file.
pub fn analyze(input: &Input<'_>, limits: &Limits) -> Report {
    let data = &input.data[..input.data.len().min(limits.max_bytes)];
    let sniffed = filetype::sniff_mime(&data[..data.len().min(512)]);
    let mut r = Report {
        mime_type: sniffed,
        ..Default::default()
    };
    filetype::check(sniffed, input.declared, input.name, &mut r.findings);
    let mut budget = limits.max_inflate;
    inspect(data, sniffed, input, limits, 1, &mut budget, &mut r);
    if input.partial || input.data.len() > limits.max_bytes {
        r.findings.push(Finding::new(
            Level::Info,
            "partial",
            "only part of the file was analysed",
        ));
    }
    r
}

fn inspect(
    data: &[u8],
    sniffed: &'static str,
    input: &Input<'_>,
    limits: &Limits,
    depth: usize,
    budget: &mut usize,
    r: &mut Report,
) {
    let class = filetype::class_of_mime(sniffed);
    if is_html_type(sniffed, input.declared, input.name) && depth == 1 {
        let h = html::analyze(data, input.page_host, limits);
        r.findings.extend(h.findings);
        r.scripts = h.scripts;
        r.html = Some(h.summary);
        return;
    }
    if depth == 1
        && matches!(class, Class::Text | Class::Script)
        && is_js_type(input.declared, input.name)
    {
        let j = js::analyze(data, limits);
        if j.suspicious {
            r.findings.push(Finding::new(
                Level::Suspicious,
                "obfuscated_script",
                format!("script scores {}: {}", j.score, j.reasons()),
            ));
        }
        r.scripts.push(j);
        return;
    }
    match class {
        Class::Executable => {
            if let Some(e) = exe::analyze(data, &mut r.findings) {
                if r.exe.is_none() {
                    r.exe = Some(e);
                }
            }
        }
        Class::Pdf => {
            let mut f = Vec::new();
            if let Some(p) = pdf::analyze(data, budget, &mut f) {
                r.pdf.get_or_insert(p);
            }
            r.findings.extend(f);
        }
        Class::Office if sniffed == "application/x-ole-storage" => {
            if let Some(o) = office::analyze_ole(data, &mut r.findings) {
                r.office.get_or_insert(o);
            }
        }
        _ if sniffed.starts_with("application/zip")
            || sniffed == "application/java-archive"
            || sniffed.starts_with("application/vnd.openxmlformats")
            || sniffed.starts_with("application/vnd.oasis") =>
        {
            let mut f = Vec::new();
            let Some((a, inner)) = archive::analyze_zip(data, limits, budget, &mut f) else {
                return;
            };
            let ooxml = !sniffed.starts_with("application/zip")
                || inner.iter().any(|i| i.name.ends_with("vbaProject.bin"));
            r.findings.extend(f);
            for i in inner {
                let m = filetype::sniff_mime(&i.data[..i.data.len().min(512)]);
                if i.name.to_ascii_lowercase().ends_with("vbaproject.bin") {
                    let mut of = Vec::new();
                    if let Some(mut o) = office::analyze_ole(&i.data, &mut of) {
                        o.container = "ooxml";
                        o.macros = true;
                        if o.auto_exec.is_empty() && !of.iter().any(|x| x.level > Level::Info) {
                            of.push(Finding::new(
                                Level::Info,
                                "macros",
                                "OOXML document carries vbaProject.bin",
                            ));
                        }
                        r.office.get_or_insert(o);
                    }
                    r.findings.extend(of);
                    continue;
                }
                if depth >= limits.max_depth {
                    r.findings.push(Finding::new(
                        Level::Info,
                        "archive_depth",
                        format!(
                            "{} nested deeper than {} levels: not opened",
                            i.name, limits.max_depth
                        ),
                    ));
                    if let Some(a) = r.archive.as_mut() {
                        a.truncated = true;
                    }
                    continue;
                }
                let mut sub = Report::default();
                let inner_input = Input {
                    data: &i.data,
                    name: Some(&i.name),
                    ..*input
                };
                inspect(
                    &i.data,
                    m,
                    &inner_input,
                    limits,
                    depth + 1,
                    budget,
                    &mut sub,
                );
                for f in sub.findings {
                    r.findings.push(Finding {
                        detail: format!("in {}: {}", i.name, f.detail),
                        ..f
                    });
                }
                r.exe = r.exe.take().or(sub.exe);
                r.pdf = r.pdf.take().or(sub.pdf);
                r.office = r.office.take().or(sub.office);
            }
            let _ = ooxml;
            if r.archive.is_none() {
                r.archive = Some(a);
            }
        }
        Class::Archive if sniffed == "application/vnd.rar" => {
            let mut f = Vec::new();
            if let Some(a) = crate::rar::analyze(data, limits, &mut f) {
                r.findings.extend(f);
                r.archive.get_or_insert(a);
            }
        }
        Class::Archive if sniffed == "application/x-7z-compressed" => {
            let mut f = Vec::new();
            if let Some(a) = crate::sevenz::analyze(data, limits, budget, &mut f) {
                r.findings.extend(f);
                r.archive.get_or_insert(a);
            }
        }
        Class::Archive => {
            let format = match sniffed {
                "application/gzip" => "gzip",
                "application/x-bzip2" => "bzip2",
                "application/x-xz" => "xz",
                _ => "archive",
            };
            if r.archive.is_none() {
                r.archive = Some(ArchiveInfo {
                    format,
                    ..Default::default()
                });
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::{decide, Verdict};

    fn verdict(input: Input<'_>) -> (Verdict, Vec<String>) {
        decide(&analyze(&input, &Limits::default()).findings)
    }

    #[test]
    fn benign_files_stay_benign() {
        for (data, name, declared) in [
            (
                &b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF"[..],
                "report.pdf",
                "application/pdf",
            ),
            (
                b"<html><head><title>Hi</title></head><body><a href=/x>x</a></body></html>",
                "index.html",
                "text/html",
            ),
            (
                b"function f(a){return a+1}",
                "app.js",
                "application/javascript",
            ),
            (b"hello world\n", "notes.txt", "text/plain"),
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "a.png", "image/png"),
        ] {
            let v = verdict(Input {
                data,
                name: Some(name),
                declared: Some(declared),
                ..Default::default()
            });
            assert_eq!(v.0, Verdict::Benign, "{name}: {v:?}");
        }
    }

    #[test]
    fn disguised_executable_is_suspicious() {
        let v = verdict(Input {
            data: b"MZ\x90\x00junk",
            name: Some("invoice.pdf.exe"),
            declared: Some("application/pdf"),
            ..Default::default()
        });
        assert_eq!(v.0, Verdict::Suspicious);
        assert!(
            v.1.iter().any(|r| r.starts_with("double_extension")),
            "{v:?}"
        );
        assert!(v.1.iter().any(|r| r.starts_with("type_mismatch")), "{v:?}");
    }

    #[test]
    fn nested_archives_stop_at_the_depth_bound() {
        use std::io::Write;
        fn wrap(name: &str, data: &[u8]) -> Vec<u8> {
            let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
            w.start_file(name, zip::write::SimpleFileOptions::default())
                .expect("start");
            w.write_all(data).expect("write");
            w.finish().expect("finish").into_inner()
        }
        let mut z = wrap("evil.exe", b"MZ\x90\x00");
        for i in 0..10 {
            z = wrap(&format!("layer{i}.zip"), &z);
        }
        let rep = analyze(
            &Input {
                data: &z,
                name: Some("x.zip"),
                ..Default::default()
            },
            &Limits::default(),
        );
        assert!(
            rep.findings.iter().any(|f| f.code == "archive_depth"),
            "{:?}",
            rep.findings
        );
        // Shallow nesting is opened and the executable found.
        let mut z = wrap("evil.exe", b"MZ\x90\x00");
        z = wrap("inner.zip", &z);
        let (v, reasons) = verdict(Input {
            data: &z,
            name: Some("x.zip"),
            ..Default::default()
        });
        assert_eq!(v, Verdict::Suspicious);
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("in inner.zip: archive holds executable(s): evil.exe")),
            "{reasons:?}"
        );
    }
}
