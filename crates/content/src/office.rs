//! Office documents: OLE compound files (cfb) with VBA macros, OOXML
//! packages carrying `vbaProject.bin`, and macros that run on open.

use std::io::{Cursor, Read};

use serde::Serialize;

use crate::verdict::{Finding, Level};

#[derive(Debug, Clone, Default, Serialize)]
pub struct OfficeInfo {
    /// `ole` or `ooxml`.
    pub container: &'static str,
    pub macros: bool,
    /// VBA module streams found.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub modules: Vec<String>,
    /// Procedures that Office runs by itself (AutoOpen, Document_Open...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub auto_exec: Vec<String>,
    /// Calls that reach outside the document (Shell, CreateObject...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suspicious_calls: Vec<String>,
}

/// [MS-OVBA] §2.4.1 compression: decompress a CompressedContainer
/// (SignatureByte 0x01 then chunks), writing at most `max` bytes.
pub fn ovba_decompress(data: &[u8], max: usize) -> Option<Vec<u8>> {
    if data.first() != Some(&1) {
        return None;
    }
    let mut out: Vec<u8> = Vec::new();
    let mut pos = 1;
    // §2.4.1.3.2 Decompressing a CompressedChunk.
    while pos + 2 <= data.len() && out.len() < max {
        let header = u16::from_le_bytes([data[pos], data[pos + 1]]);
        let size = usize::from(header & 0x0fff) + 3;
        // §2.4.1.1.5: CompressedChunkSignature must be 0b011.
        if (header >> 12) & 0x7 != 0b011 {
            break;
        }
        let compressed = header & 0x8000 != 0;
        let end = (pos + size).min(data.len());
        let chunk_start = out.len();
        pos += 2;
        if !compressed {
            // §2.4.1.3.3: 4096 raw bytes.
            let e = (pos + 4096).min(data.len());
            out.extend_from_slice(&data[pos..e]);
            pos = e;
            continue;
        }
        while pos < end && out.len() < max {
            let flags = data[pos];
            pos += 1;
            for bit in 0..8 {
                if pos >= end {
                    break;
                }
                if flags & (1 << bit) == 0 {
                    out.push(data[pos]);
                    pos += 1;
                } else {
                    if pos + 1 >= end {
                        pos = end;
                        break;
                    }
                    let token = u16::from_le_bytes([data[pos], data[pos + 1]]);
                    pos += 2;
                    // §2.4.1.3.19.1 CopyToken Help.
                    let diff = out.len() - chunk_start;
                    let mut bit_count = 4;
                    while (1usize << bit_count) < diff {
                        bit_count += 1;
                    }
                    let bit_count = bit_count.clamp(4, 12);
                    let length_mask = 0xffffu16 >> bit_count;
                    let offset_mask = !length_mask;
                    let length = usize::from(token & length_mask) + 3;
                    let offset = usize::from((token & offset_mask) >> (16 - bit_count)) + 1;
                    if offset > out.len() - chunk_start {
                        return Some(out);
                    }
                    for _ in 0..length {
                        if out.len() >= max {
                            break;
                        }
                        let b = out[out.len() - offset];
                        out.push(b);
                    }
                }
            }
        }
        pos = end;
    }
    Some(out)
}

const AUTO_EXEC: &[&str] = &[
    "AutoOpen",
    "Auto_Open",
    "AutoExec",
    "AutoClose",
    "Auto_Close",
    "Document_Open",
    "DocumentOpen",
    "Document_Close",
    "Workbook_Open",
    "Workbook_Activate",
    "Workbook_BeforeClose",
    "Document_New",
    "AutoNew",
];
const CALLS: &[&str] = &[
    "Shell",
    "CreateObject",
    "WScript",
    "PowerShell",
    "URLDownloadToFile",
    "XMLHTTP",
    "ShellExecute",
    "Environ",
    "CallByName",
    "Kill",
    "Run(",
    "Lib \"",
];

fn scan_source(src: &str, info: &mut OfficeInfo) {
    let lower = src.to_ascii_lowercase();
    for w in AUTO_EXEC {
        let pat = format!("sub {}", w.to_ascii_lowercase());
        if lower.contains(&pat) && !info.auto_exec.iter().any(|x| x == w) {
            info.auto_exec.push((*w).into());
        }
    }
    for w in CALLS {
        if lower.contains(&w.to_ascii_lowercase()) && !info.suspicious_calls.iter().any(|x| x == w)
        {
            info.suspicious_calls.push((*w).into());
        }
    }
}

/// A VBA module stream: its source follows the performance cache; find
/// the compressed container by its first compressed line (`Attribute
/// VB_Name`, which every module starts with), as olevba's fallback does.
fn module_source(stream: &[u8]) -> Option<String> {
    let pat = b"\x00Attribut\x00e ";
    let at = stream.windows(pat.len()).position(|w| w == pat)?;
    let start = at.checked_sub(3)?;
    let out = ovba_decompress(&stream[start..], 1 << 20)?;
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// An OLE compound file: look for a VBA project.
pub fn analyze_ole(data: &[u8], out: &mut Vec<Finding>) -> Option<OfficeInfo> {
    let mut cf = cfb::CompoundFile::open(Cursor::new(data)).ok()?;
    let mut info = OfficeInfo {
        container: "ole",
        ..Default::default()
    };
    let mut streams = Vec::new();
    for e in cf.walk().take(10_000) {
        if e.is_stream() {
            streams.push((e.path().to_path_buf(), e.name().to_string(), e.len()));
        }
    }
    let mut budget: u64 = 16 << 20;
    for (path, name, len) in streams {
        let in_vba = path
            .parent()
            .and_then(|p| p.file_name())
            .is_some_and(|p| p.eq_ignore_ascii_case("VBA"));
        if !in_vba {
            continue;
        }
        info.macros = true;
        let lname = name.to_ascii_lowercase();
        if lname == "dir"
            || lname == "_vba_project"
            || lname.starts_with("__srp_")
            || lname == "projectwm"
        {
            continue;
        }
        if len > budget || info.modules.len() >= 64 {
            continue;
        }
        budget -= len;
        let mut buf = Vec::new();
        if let Ok(s) = cf.open_stream(&path) {
            let _ = s.take(len).read_to_end(&mut buf);
        }
        info.modules.push(crate::trunc(&name, 64));
        if let Some(src) = module_source(&buf) {
            scan_source(&src, &mut info);
        }
    }
    findings(&info, out);
    Some(info)
}

/// Findings of an Office document's macros.
pub fn findings(info: &OfficeInfo, out: &mut Vec<Finding>) {
    if !info.macros {
        return;
    }
    if !info.auto_exec.is_empty() {
        out.push(Finding::new(
            Level::Suspicious,
            "macro_auto_exec",
            format!("VBA macros run on open ({})", info.auto_exec.join(", ")),
        ));
    } else {
        out.push(Finding::new(
            Level::Info,
            "macros",
            format!("VBA macros: {} module(s)", info.modules.len()),
        ));
    }
    if !info.suspicious_calls.is_empty() {
        out.push(Finding::new(
            Level::Suspicious,
            "macro_calls",
            format!("VBA calls {}", info.suspicious_calls.join(", ")),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ovba_spec_example() {
        // [MS-OVBA] §3.2.3 example: "#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa"
        let compressed: [u8; 48] = [
            0x01, 0x2F, 0xB0, 0x00, 0x23, 0x61, 0x61, 0x61, 0x62, 0x63, 0x64, 0x65, 0x82, 0x66,
            0x00, 0x70, 0x61, 0x67, 0x68, 0x69, 0x6A, 0x01, 0x38, 0x08, 0x61, 0x6B, 0x6C, 0x00,
            0x30, 0x6D, 0x6E, 0x6F, 0x70, 0x06, 0x71, 0x02, 0x70, 0x04, 0x10, 0x72, 0x73, 0x74,
            0x75, 0x76, 0x10, 0x77, 0x78, 0x79,
        ];
        let mut c = compressed.to_vec();
        c.extend_from_slice(&[0x7A, 0x00, 0x3C]);
        let out = ovba_decompress(&c, 1 << 20).expect("container");
        assert_eq!(
            String::from_utf8_lossy(&out),
            "#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa"
        );
    }

    #[test]
    fn hostile_containers_are_bounded() {
        // A copy token pointing before the chunk start; truncated data; a
        // long run capped by `max`.
        for d in [
            &[1u8, 0x03, 0xB0, 0x01, 0xff, 0xff][..],
            &[1, 0xff],
            &[1],
            &[0],
            &[],
        ] {
            let _ = ovba_decompress(d, 1024);
        }
        let run = [1u8, 0x05, 0xB0, 0x02, b'a', 0xff, 0x0f];
        let out = ovba_decompress(&run, 10).unwrap_or_default();
        assert!(out.len() <= 10);
        let mut f = Vec::new();
        assert!(analyze_ole(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 broken", &mut f).is_none());
    }

    #[test]
    fn macro_source_scan() {
        let mut i = OfficeInfo {
            macros: true,
            ..Default::default()
        };
        scan_source(
            "Attribute VB_Name = \"ThisDocument\"\nSub AutoOpen()\n Shell \"calc\"\nEnd Sub",
            &mut i,
        );
        assert_eq!(i.auto_exec, vec!["AutoOpen"]);
        assert_eq!(i.suspicious_calls, vec!["Shell"]);
    }
}
