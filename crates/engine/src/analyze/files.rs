//! Carved files: hashing, MIME type from magic bytes, size bound, and
//! writing each distinct file once under its SHA-256.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use md5::Digest as _;
use serde::Serialize;

/// Most bytes kept of one file; beyond it the file is marked incomplete.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 256 << 20;

/// The `files` record.
#[derive(Debug, Clone, Serialize)]
pub struct FileRecord {
    /// Protocol that carried the file: HTTP, SMTP, FTP_DATA, ...
    pub source: &'static str,
    /// Name given by the protocol, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Type sniffed from the content's magic bytes.
    pub mime_type: &'static str,
    /// Type the protocol declared (Content-Type), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared_mime_type: Option<String>,
    /// `download` (responder to initiator) or `upload`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<&'static str>,
    /// Bytes seen (decoded).
    pub size: u64,
    /// Size the protocol announced, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_size: Option<u64>,
    pub md5: String,
    pub sha1: String,
    pub sha256: String,
    /// All bytes were seen (no gap, no cut transfer, size as announced,
    /// under the size bound).
    pub complete: bool,
    /// Where the file was written (`--extract-dir`), named by its SHA-256.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extracted: Option<String>,
    /// The transaction of its flow the file belongs to (the HTTP request
    /// and response, the mail), numbered from 0 as Suricata's `tx_id`.
    #[serde(rename = "tx_id", skip_serializing_if = "Option::is_none")]
    pub tx: Option<u64>,
    /// The file's first bytes kept for rule inspection (`file.data`),
    /// empty unless rules read files.
    #[serde(skip)]
    pub window: Vec<u8>,
}

/// An open file.
pub struct OpenFile {
    meta: netsift_proto::FileMeta,
    md5: md5::Md5,
    sha1: sha1_smol::Sha1,
    sha256: sha2::Sha256,
    size: u64,
    head: Vec<u8>,
    /// The first bytes kept for rules, up to [`Files::rule_window`].
    window: Vec<u8>,
    tmp: Option<(PathBuf, BufWriter<File>)>,
    truncated: bool,
}

impl OpenFile {
    /// What the protocol said of the file when it opened.
    pub fn meta(&self) -> &netsift_proto::FileMeta {
        &self.meta
    }
}

/// Files of one analysis run.
pub struct Files {
    extract_dir: Option<PathBuf>,
    max_bytes: u64,
    next_tmp: u64,
    /// Files carved (closed).
    pub carved: u64,
    /// Errors writing files (disk full, ...): counted, never fatal.
    pub write_errors: u64,
    /// Bytes of each file kept for rule inspection (0: none).
    pub rule_window: usize,
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

impl Files {
    pub fn new(extract_dir: Option<&Path>, max_bytes: u64) -> std::io::Result<Files> {
        if let Some(d) = extract_dir {
            std::fs::create_dir_all(d)?;
        }
        Ok(Files {
            extract_dir: extract_dir.map(Path::to_path_buf),
            max_bytes,
            next_tmp: 0,
            carved: 0,
            write_errors: 0,
            rule_window: 0,
        })
    }

    pub fn open(&mut self, meta: netsift_proto::FileMeta) -> OpenFile {
        let tmp = self.extract_dir.as_ref().and_then(|d| {
            self.next_tmp += 1;
            let p = d.join(format!(".partial-{}-{}", std::process::id(), self.next_tmp));
            match File::create(&p) {
                Ok(f) => Some((p, BufWriter::new(f))),
                Err(_) => {
                    self.write_errors += 1;
                    None
                }
            }
        });
        OpenFile {
            meta,
            md5: md5::Md5::new(),
            sha1: sha1_smol::Sha1::new(),
            sha256: sha2::Sha256::new(),
            size: 0,
            head: Vec::new(),
            window: Vec::new(),
            tmp,
            truncated: false,
        }
    }

    pub fn data(&mut self, f: &mut OpenFile, data: &[u8]) {
        let room = self.max_bytes.saturating_sub(f.size);
        let take = data.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        if take < data.len() {
            f.truncated = true;
        }
        let data = &data[..take];
        if data.is_empty() {
            return;
        }
        if f.head.len() < 512 {
            let n = (512 - f.head.len()).min(data.len());
            f.head.extend_from_slice(&data[..n]);
        }
        if f.window.len() < self.rule_window {
            let n = (self.rule_window - f.window.len()).min(data.len());
            f.window.extend_from_slice(&data[..n]);
        }
        f.md5.update(data);
        f.sha1.update(data);
        f.sha256.update(data);
        f.size += data.len() as u64;
        if let Some((_, w)) = f.tmp.as_mut() {
            if w.write_all(data).is_err() {
                self.write_errors += 1;
                f.tmp = None;
            }
        }
    }

    pub fn close(&mut self, f: OpenFile, complete: bool) -> FileRecord {
        let sha256 = hex(&f.sha256.finalize());
        let mut extracted = None;
        if let (Some((tmp, mut w)), Some(dir)) = (f.tmp, self.extract_dir.as_ref()) {
            let dest = dir.join(&sha256);
            let ok = w.flush().is_ok();
            drop(w);
            if ok && !dest.exists() && std::fs::rename(&tmp, &dest).is_ok() {
                extracted = Some(dest.display().to_string());
            } else {
                let _ = std::fs::remove_file(&tmp);
                if dest.exists() {
                    extracted = Some(dest.display().to_string());
                } else {
                    self.write_errors += 1;
                }
            }
        }
        self.carved += 1;
        let size_ok = f.meta.expected_size.is_none_or(|e| e == f.size);
        FileRecord {
            source: f.meta.source,
            name: f.meta.name,
            mime_type: sniff_mime(&f.head),
            declared_mime_type: f.meta.declared_mime,
            direction: f.meta.dir.map(|d| match d {
                netsift_proto::Direction::ToClient => "download",
                netsift_proto::Direction::ToServer => "upload",
            }),
            size: f.size,
            expected_size: f.meta.expected_size,
            md5: hex(&f.md5.finalize()),
            sha1: f.sha1.digest().to_string(),
            sha256,
            complete: complete && !f.truncated && size_ok,
            extracted,
            tx: f.meta.tx,
            window: f.window,
        }
    }
}

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
    fn hashes_size_bound_and_dedup_on_disk() {
        let dir = std::env::temp_dir().join(format!("netsift-files-{}", std::process::id()));
        let mut files = Files::new(Some(&dir), 5).expect("dir");
        let meta = netsift_proto::FileMeta {
            source: "HTTP",
            ..Default::default()
        };
        let mut f = files.open(meta.clone());
        files.data(&mut f, b"abc");
        let r = files.close(f, true);
        assert_eq!(r.size, 3);
        // Published test vectors for "abc".
        assert_eq!(r.md5, "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(r.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            r.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(r.complete);
        let path = r.extracted.expect("written");
        assert_eq!(std::fs::read(&path).expect("read"), b"abc");
        // The same content again: written once.
        let mut f = files.open(meta.clone());
        files.data(&mut f, b"abc");
        let r2 = files.close(f, true);
        assert_eq!(r2.extracted.as_deref(), Some(path.as_str()));
        // Over the bound: cut and incomplete.
        let mut f = files.open(meta);
        files.data(&mut f, b"0123456789");
        let r3 = files.close(f, true);
        assert_eq!(r3.size, 5);
        assert!(!r3.complete);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
