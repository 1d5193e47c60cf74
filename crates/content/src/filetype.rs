//! File type from content (magic bytes) against the type the protocol
//! declared and the name's extension: mismatches, double extensions and
//! executables dressed as documents.

use crate::verdict::{Finding, Level};

/// MIME type from magic bytes (the file signatures of their format specs).
pub fn sniff_mime(head: &[u8]) -> &'static str {
    let starts = |m: &[u8]| head.starts_with(m);
    if head.is_empty() {
        return "application/x-empty";
    }
    if starts(b"%PDF-") {
        "application/pdf"
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if starts(b"\xff\xd8\xff") {
        "image/jpeg"
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        "image/gif"
    } else if starts(b"RIFF") && head.get(8..12) == Some(b"WEBP") {
        "image/webp"
    } else if starts(b"\x1f\x8b") {
        "application/gzip"
    } else if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
        zip_kind(head)
    } else if starts(b"Rar!\x1a\x07") {
        "application/vnd.rar"
    } else if starts(b"7z\xbc\xaf\x27\x1c") {
        "application/x-7z-compressed"
    } else if starts(b"BZh") {
        "application/x-bzip2"
    } else if starts(b"\xfd7zXZ\x00") {
        "application/x-xz"
    } else if starts(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") {
        "application/x-ole-storage"
    } else if starts(b"MZ") {
        "application/x-dosexec"
    } else if starts(b"\x7fELF") {
        "application/x-executable"
    } else if starts(b"\xcf\xfa\xed\xfe")
        || starts(b"\xce\xfa\xed\xfe")
        || starts(b"\xca\xfe\xba\xbe")
    {
        "application/x-mach-binary"
    } else if starts(b"#!") {
        "text/x-script"
    } else if starts(b"\x00asm") {
        "application/wasm"
    } else if starts(b"ID3") || (head.len() > 1 && head[0] == 0xff && head[1] & 0xe0 == 0xe0) {
        "audio/mpeg"
    } else if head.get(4..8) == Some(b"ftyp") {
        "video/mp4"
    } else {
        text_kind(head)
    }
}

fn zip_kind(head: &[u8]) -> &'static str {
    // The first local file header's name (offset 30, length at 26).
    let n = usize::from(u16::from_le_bytes([
        head.get(26).copied().unwrap_or(0),
        head.get(27).copied().unwrap_or(0),
    ]));
    let name = head.get(30..30 + n).unwrap_or(&[]);
    if name.starts_with(b"[Content_Types].xml") || name.starts_with(b"word/") {
        "application/vnd.openxmlformats-officedocument"
    } else if name.starts_with(b"META-INF/") {
        "application/java-archive"
    } else if name == b"mimetype" {
        "application/vnd.oasis.opendocument"
    } else {
        "application/zip"
    }
}

fn text_kind(head: &[u8]) -> &'static str {
    let t = head
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take(64)
        .map(|b| b.to_ascii_lowercase())
        .collect::<Vec<u8>>();
    let printable = head
        .iter()
        .filter(|&&b| {
            b == b'\t' || b == b'\n' || b == b'\r' || (0x20..0x7f).contains(&b) || b >= 0x80
        })
        .count();
    if printable * 10 < head.len() * 9 {
        return "application/octet-stream";
    }
    if t.starts_with(b"<!doctype html") || t.starts_with(b"<html") || t.starts_with(b"<head") {
        "text/html"
    } else if t.starts_with(b"<?xml") || t.starts_with(b"<svg") {
        if t.windows(4).any(|w| w == b"<svg") {
            "image/svg+xml"
        } else {
            "text/xml"
        }
    } else if t.starts_with(b"{") || t.starts_with(b"[") {
        "application/json"
    } else {
        "text/plain"
    }
}

/// What a type is, coarsely: what matters for a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Executable,
    Script,
    Archive,
    Office,
    Pdf,
    Image,
    Media,
    Html,
    Text,
    Data,
}

/// The class of a MIME type (sniffed or declared).
pub fn class_of_mime(m: &str) -> Class {
    let m = m
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match m.as_str() {
        "application/x-dosexec"
        | "application/x-executable"
        | "application/x-mach-binary"
        | "application/x-msdownload"
        | "application/x-msdos-program"
        | "application/vnd.microsoft.portable-executable"
        | "application/x-sharedlib"
        | "application/wasm" => Class::Executable,
        "text/x-script"
        | "application/javascript"
        | "text/javascript"
        | "application/x-javascript"
        | "application/ecmascript"
        | "application/x-sh"
        | "application/x-bat"
        | "application/hta"
        | "text/vbscript" => Class::Script,
        "application/zip"
        | "application/vnd.rar"
        | "application/x-rar-compressed"
        | "application/x-7z-compressed"
        | "application/gzip"
        | "application/x-gzip"
        | "application/x-bzip2"
        | "application/x-xz"
        | "application/java-archive"
        | "application/x-tar" => Class::Archive,
        "application/pdf" => Class::Pdf,
        "text/html" | "application/xhtml+xml" => Class::Html,
        _ if m.starts_with("image/") => Class::Image,
        _ if m.starts_with("audio/") || m.starts_with("video/") => Class::Media,
        _ if m.starts_with("application/vnd.openxmlformats")
            || m.starts_with("application/vnd.ms-")
            || m.starts_with("application/vnd.oasis.opendocument")
            || m == "application/msword"
            || m == "application/x-ole-storage" =>
        {
            Class::Office
        }
        _ if m.starts_with("text/") || m == "application/json" || m == "application/xml" => {
            Class::Text
        }
        _ => Class::Data,
    }
}

/// The class a file name's extension promises, if it is a known one.
pub fn class_of_ext(ext: &str) -> Option<Class> {
    Some(match ext.to_ascii_lowercase().as_str() {
        "exe" | "dll" | "scr" | "com" | "pif" | "cpl" | "sys" | "efi" | "ocx" | "so" | "elf"
        | "bin" | "dylib" | "msi" => Class::Executable,
        "bat" | "cmd" | "vbs" | "vbe" | "js" | "jse" | "wsf" | "wsh" | "hta" | "ps1" | "sh"
        | "lnk" | "reg" => Class::Script,
        "zip" | "rar" | "7z" | "gz" | "tgz" | "bz2" | "xz" | "jar" | "apk" | "tar" | "cab"
        | "iso" => Class::Archive,
        "doc" | "docx" | "docm" | "xls" | "xlsx" | "xlsm" | "ppt" | "pptx" | "pptm" | "odt"
        | "ods" | "odp" | "rtf" => Class::Office,
        "pdf" => Class::Pdf,
        "png" | "jpg" | "jpeg" | "gif" | "bmp" | "webp" | "ico" | "svg" => Class::Image,
        "mp3" | "mp4" | "wav" | "avi" | "mkv" | "mov" => Class::Media,
        "html" | "htm" | "xhtml" => Class::Html,
        "txt" | "csv" | "log" | "json" | "xml" | "css" | "md" => Class::Text,
        _ => return None,
    })
}

/// Extensions that run when opened on Windows (or a Unix shell).
pub fn runs_when_opened(ext: &str) -> bool {
    matches!(
        class_of_ext(ext),
        Some(Class::Executable) | Some(Class::Script)
    ) && !matches!(
        ext.to_ascii_lowercase().as_str(),
        "so" | "bin" | "dylib" | "sys" | "elf"
    )
}

/// The name's last extension (lower case), without any query string.
pub fn extension(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let base = base.split(['?', '#']).next().unwrap_or(base).trim_end();
    let (stem, ext) = base.rsplit_once('.')?;
    if stem.is_empty()
        || ext.is_empty()
        || ext.len() > 8
        || !ext.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return None;
    }
    Some(ext.to_ascii_lowercase())
}

/// `invoice.pdf.exe`, `photo.jpg   .scr`: a harmless-looking extension
/// followed by one that runs. Returns (the decoy, the real one).
pub fn double_extension(name: &str) -> Option<(String, String)> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let last = extension(base)?;
    if !runs_when_opened(&last) {
        return None;
    }
    let stem = &base[..base.len().saturating_sub(last.len() + 1)];
    let decoy = extension(stem.trim_end())?;
    match class_of_ext(&decoy) {
        Some(
            Class::Office
            | Class::Pdf
            | Class::Image
            | Class::Media
            | Class::Text
            | Class::Html
            | Class::Archive,
        ) => Some((decoy, last)),
        _ => None,
    }
}

/// Type checks of one file: magic vs declared type vs extension.
pub fn check(sniffed: &str, declared: Option<&str>, name: Option<&str>, out: &mut Vec<Finding>) {
    let magic = class_of_mime(sniffed);
    if let Some((decoy, real)) = name.and_then(double_extension) {
        out.push(Finding::new(
            Level::Suspicious,
            "double_extension",
            format!("name has a double extension .{decoy}.{real}"),
        ));
    }
    let dangerous = matches!(magic, Class::Executable);
    if let Some(d) = declared.filter(|d| !d.trim().is_empty()) {
        let dc = class_of_mime(d);
        // Only a claim that the content contradicts matters; generic
        // types (octet-stream, text/plain) claim nothing.
        if dangerous && !matches!(dc, Class::Executable | Class::Data | Class::Archive) {
            out.push(Finding::new(
                Level::Suspicious,
                "type_mismatch",
                format!("content is an executable ({sniffed}) but declared as {d}"),
            ));
        }
    }
    if let Some(ext) = name.and_then(extension) {
        if let Some(ec) = class_of_ext(&ext) {
            if dangerous && !matches!(ec, Class::Executable | Class::Script) {
                out.push(Finding::new(
                    Level::Suspicious,
                    "extension_mismatch",
                    format!("content is an executable ({sniffed}) but named .{ext}"),
                ));
            } else if !(ec == magic
                || matches!(magic, Class::Text | Class::Data)
                || ec == Class::Archive && magic == Class::Office
                || ec == Class::Office && magic == Class::Archive
                // .msi is OLE.
                || ec == Class::Executable && magic == Class::Office)
            {
                out.push(Finding::new(
                    Level::Info,
                    "extension_mismatch",
                    format!("content is {sniffed} but named .{ext}"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_types() {
        assert_eq!(sniff_mime(b"%PDF-1.7\n"), "application/pdf");
        assert_eq!(sniff_mime(b"MZ\x90\x00"), "application/x-dosexec");
        assert_eq!(sniff_mime(b"\x7fELF\x02"), "application/x-executable");
        assert_eq!(sniff_mime(b"  <!DOCTYPE html><html>"), "text/html");
        assert_eq!(sniff_mime(b"{\"a\":1}"), "application/json");
        assert_eq!(sniff_mime(b"hello world\n"), "text/plain");
        assert_eq!(
            sniff_mime(&[0u8, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
            "application/octet-stream"
        );
        assert_eq!(sniff_mime(b""), "application/x-empty");
    }

    #[test]
    fn extensions() {
        assert_eq!(extension("/a/b/Invoice.PDF?x=1").as_deref(), Some("pdf"));
        assert_eq!(extension("noext"), None);
        assert_eq!(extension(".bashrc"), None);
        assert_eq!(
            double_extension("invoice.pdf.exe"),
            Some(("pdf".into(), "exe".into()))
        );
        assert_eq!(
            double_extension("photo.jpg   .scr"),
            Some(("jpg".into(), "scr".into()))
        );
        assert_eq!(double_extension("setup.exe"), None);
        assert_eq!(double_extension("archive.tar.gz"), None);
        assert_eq!(double_extension("jquery.min.js"), None);
    }

    #[test]
    fn mismatches() {
        let mut f = Vec::new();
        check(
            "application/x-dosexec",
            Some("image/jpeg"),
            Some("cat.jpg"),
            &mut f,
        );
        let codes: Vec<&str> = f.iter().map(|x| x.code).collect();
        assert!(codes.contains(&"type_mismatch"), "{codes:?}");
        assert!(codes.contains(&"extension_mismatch"), "{codes:?}");
        assert!(f.iter().all(|x| x.level == Level::Suspicious));
        // Consistent files raise nothing.
        let mut f = Vec::new();
        check(
            "application/pdf",
            Some("application/pdf"),
            Some("a.pdf"),
            &mut f,
        );
        check(
            "application/vnd.openxmlformats-officedocument",
            None,
            Some("a.docx"),
            &mut f,
        );
        check(
            "application/x-dosexec",
            Some("application/octet-stream"),
            Some("setup.exe"),
            &mut f,
        );
        check("text/plain", Some("text/html"), Some("index.html"), &mut f);
        assert!(f.is_empty(), "{f:?}");
    }
}
