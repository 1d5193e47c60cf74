//! Archive listings: ZIP (APPNOTE.TXT central directory) with encrypted
//! entries, executables inside, nested archives and compression bombs.
//! RAR ([`crate::rar`]) and 7z ([`crate::sevenz`]) are listed from their
//! headers without extracting anything.

use std::io::{Cursor, Read};

use serde::Serialize;

use crate::filetype::{self, Class};
use crate::verdict::{Finding, Level};
use crate::Limits;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Entry {
    pub name: String,
    pub size: u64,
    pub compressed: u64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub encrypted: bool,
    /// Type sniffed from the entry's content, when it was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<&'static str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub executable: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ArchiveInfo {
    pub format: &'static str,
    pub entries: u32,
    pub encrypted_entries: u32,
    /// Entries listed (at most `Limits::max_items`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub listing: Vec<Entry>,
    /// Entries that run when opened, by name or content.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub executables: Vec<String>,
    /// Archives inside it (opened up to `Limits::max_depth`).
    pub nested_archives: u32,
    /// Declared sizes expand far beyond the archive (a zip bomb).
    pub bomb: bool,
    /// Bounds were reached: not every entry was read.
    pub truncated: bool,
    /// The headers themselves are encrypted (RAR `-hp`, 7z `-mhe`): the
    /// entries cannot be listed without the password.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub headers_encrypted: bool,
}

/// Ratio of declared uncompressed to compressed size counted as a bomb.
pub(crate) const BOMB_RATIO: u64 = 200;
/// Declared uncompressed total counted as a bomb whatever the ratio.
pub(crate) const BOMB_TOTAL: u64 = 4 << 30;

/// An entry's bytes kept for analysis by the caller (nested archives,
/// `vbaProject.bin`).
pub struct Inner {
    pub name: String,
    pub data: Vec<u8>,
}

/// List a ZIP archive; read (decompress) the entries worth a look within
/// `budget` bytes, which this lowers.
pub fn analyze_zip(
    data: &[u8],
    limits: &Limits,
    budget: &mut usize,
    out: &mut Vec<Finding>,
) -> Option<(ArchiveInfo, Vec<Inner>)> {
    let mut z = zip::ZipArchive::new(Cursor::new(data)).ok()?;
    let mut info = ArchiveInfo {
        format: "zip",
        entries: z.len().min(u32::MAX as usize) as u32,
        ..Default::default()
    };
    let mut inner = Vec::new();
    let mut declared_total: u64 = 0;
    let n = z.len();
    if n > limits.max_entries {
        info.truncated = true;
    }
    for i in 0..n.min(limits.max_entries) {
        let (name, size, csize, encrypted, is_dir) = match z.by_index_raw(i) {
            Ok(f) => (
                crate::trunc(&f.name().map(|n| n.to_string()).unwrap_or_default(), 256),
                f.size(),
                f.compressed_size(),
                f.encrypted(),
                f.is_dir(),
            ),
            Err(_) => {
                info.truncated = true;
                continue;
            }
        };
        if is_dir {
            continue;
        }
        declared_total = declared_total.saturating_add(size);
        if csize > 0 && size / csize.max(1) >= BOMB_RATIO && size >= (1 << 20) {
            info.bomb = true;
        }
        let mut e = Entry {
            name: name.clone(),
            size,
            compressed: csize,
            encrypted,
            ..Default::default()
        };
        if encrypted {
            info.encrypted_entries += 1;
        }
        let ext = filetype::extension(&name);
        e.executable = ext.as_deref().is_some_and(filetype::runs_when_opened);
        // Read the entry unless encrypted, a bomb, or over the budgets.
        let lname = name.to_ascii_lowercase();
        if !encrypted && !info.bomb && *budget > 0 {
            if let Ok(f) = z.by_index(i) {
                let cap = (*budget).min(limits.max_bytes) as u64;
                let mut buf = Vec::new();
                let _ = f.take(cap + 1).read_to_end(&mut buf);
                if buf.len() as u64 > cap {
                    buf.truncate(cap as usize);
                    info.truncated = true;
                }
                *budget = budget.saturating_sub(buf.len());
                let head = &buf[..buf.len().min(512)];
                let m = filetype::sniff_mime(head);
                e.mime_type = Some(m);
                let class = filetype::class_of_mime(m);
                if class == Class::Executable {
                    e.executable = true;
                }
                let keep = class == Class::Archive && m == "application/zip"
                    || lname.ends_with("vbaproject.bin")
                    || class == Class::Pdf
                    || class == Class::Office
                    || class == Class::Executable;
                if class == Class::Archive {
                    info.nested_archives += 1;
                }
                if keep && inner.len() < 16 {
                    inner.push(Inner {
                        name: name.clone(),
                        data: buf,
                    });
                }
            }
        } else if !encrypted && *budget == 0 {
            info.truncated = true;
        }
        if e.executable && info.executables.len() < limits.max_items {
            info.executables.push(name.clone());
        }
        if info.listing.len() < limits.max_items {
            info.listing.push(e);
        }
    }
    conclude(&mut info, declared_total, data.len(), out);
    Some((info, inner))
}

/// The findings of a listing (any format): a bomb, executables inside,
/// encrypted entries or headers, bounds reached.
pub(crate) fn conclude(
    info: &mut ArchiveInfo,
    declared_total: u64,
    data_len: usize,
    out: &mut Vec<Finding>,
) {
    if declared_total >= BOMB_TOTAL {
        info.bomb = true;
    }
    if info.bomb {
        out.push(Finding::new(
            Level::Suspicious,
            "zip_bomb",
            format!(
                "entries declare {declared_total} bytes from a {}-byte archive",
                data_len
            ),
        ));
    }
    if !info.executables.is_empty() {
        out.push(Finding::new(
            Level::Suspicious,
            "archive_hides_executable",
            format!(
                "archive holds executable(s): {}",
                info.executables.join(", ")
            ),
        ));
    }
    if info.headers_encrypted {
        out.push(Finding::new(
            Level::Suspicious,
            "encrypted_archive",
            "archive headers are encrypted: entry names hidden",
        ));
    } else if info.encrypted_entries > 0 {
        // Encryption hides content from every scanner (a common way to
        // mail malware past gateways).
        out.push(Finding::new(
            Level::Suspicious,
            "encrypted_archive",
            format!("{} encrypted entr(y/ies)", info.encrypted_entries),
        ));
    }
    if info.truncated {
        out.push(Finding::new(
            Level::Info,
            "archive_truncated",
            "archive over the analysis bounds: not every entry read",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn make(entries: &[(&str, &[u8])], password: Option<&str>) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (n, d) in entries {
            let mut o = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            if let Some(p) = password {
                o = zip::unstable::write::FileOptionsExt::with_deprecated_encryption(
                    o,
                    p.as_bytes(),
                )
                .expect("zipcrypto");
            }
            w.start_file(*n, o).expect("start");
            w.write_all(d).expect("write");
        }
        w.finish().expect("finish").into_inner()
    }

    #[test]
    fn lists_and_finds_executables() {
        let z = make(
            &[
                ("readme.txt", b"hello"),
                ("invoice.pdf", b"MZ\x90\x00 not really a pdf"),
                ("tool.exe", b"MZ"),
            ],
            None,
        );
        let mut f = Vec::new();
        let mut budget = 1 << 20;
        let (a, _) = analyze_zip(&z, &Limits::default(), &mut budget, &mut f).expect("zip");
        assert_eq!(a.entries, 3);
        assert_eq!(a.executables, vec!["invoice.pdf", "tool.exe"]);
        assert_eq!(a.listing[1].mime_type, Some("application/x-dosexec"));
        assert!(f.iter().any(|x| x.code == "archive_hides_executable"));
    }

    #[test]
    fn encrypted_entries_are_listed_not_read() {
        let z = make(&[("secret.doc", b"data")], Some("infected"));
        let mut f = Vec::new();
        let mut budget = 1 << 20;
        let (a, inner) = analyze_zip(&z, &Limits::default(), &mut budget, &mut f).expect("zip");
        assert_eq!(a.encrypted_entries, 1);
        assert!(a.listing[0].encrypted && a.listing[0].mime_type.is_none());
        assert!(inner.is_empty());
    }

    #[test]
    fn bombs_and_budgets_are_bounded() {
        // 64 MiB of zeros compress to ~64 KiB: the ratio marks a bomb and
        // nothing is inflated.
        let zeros = vec![0u8; 64 << 20];
        let z = make(&[("a.bin", &zeros)], None);
        let mut f = Vec::new();
        let mut budget = 16 << 20;
        let (a, _) = analyze_zip(&z, &Limits::default(), &mut budget, &mut f).expect("zip");
        assert!(a.bomb);
        assert_eq!(budget, 16 << 20);
        // A small budget stops reading after it.
        let z = make(&[("a.txt", &[b'a'; 5000]), ("b.txt", b"b")], None);
        let mut budget = 100;
        let (a, _) = analyze_zip(&z, &Limits::default(), &mut budget, &mut f).expect("zip");
        assert!(a.truncated);
        assert_eq!(budget, 0);
        // Junk is no archive.
        assert!(analyze_zip(
            b"PK\x03\x04garbage",
            &Limits::default(),
            &mut budget,
            &mut f
        )
        .is_none());
    }
}
