//! Executable headers (PE, ELF, Mach-O) with goblin: architecture, kind,
//! signed or not, compile time, and the PE import hash.

use md5::Digest as _;
use serde::Serialize;

use crate::verdict::{Finding, Level};

#[derive(Debug, Clone, Default, Serialize)]
pub struct ExeInfo {
    /// `pe`, `elf`, `macho`.
    pub format: &'static str,
    pub arch: String,
    /// `exe`, `dll`, `shared_object`, ...
    pub kind: String,
    pub bits: u8,
    /// PE: an Authenticode certificate table is present (not verified).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed: Option<bool>,
    /// PE COFF TimeDateStamp (seconds since 1970; often forged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compile_time: Option<u32>,
    /// PE import hash (pefile's definition: MD5 of `lib.func,...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imphash: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub libraries: Vec<String>,
    pub imports: usize,
    pub sections: usize,
}

fn pe_machine(m: u16) -> &'static str {
    // PE format §"Machine Types".
    match m {
        0x14c => "x86",
        0x8664 => "x86_64",
        0x1c0 | 0x1c4 => "arm",
        0xaa64 => "arm64",
        0x200 => "ia64",
        0x5064 => "riscv64",
        _ => "unknown",
    }
}

/// The PE import hash. Ordinal imports are `ord<N>` (pefile also names
/// the ordinals of ws2_32/wsock32/oleaut32 from a table; not done here).
pub fn imphash(imports: &[(String, String)]) -> Option<String> {
    if imports.is_empty() {
        return None;
    }
    let parts: Vec<String> = imports
        .iter()
        .map(|(dll, func)| {
            let lib = dll.to_ascii_lowercase();
            let lib = match lib.rsplit_once('.') {
                Some((stem, "ocx" | "sys" | "dll")) => stem.to_string(),
                _ => lib,
            };
            let func = match func.strip_prefix("ORDINAL ") {
                Some(n) => format!("ord{n}"),
                None => func.to_ascii_lowercase(),
            };
            format!("{lib}.{func}")
        })
        .collect();
    Some(crate::hex(&md5::Md5::digest(parts.join(",").as_bytes())))
}

/// Parse an executable's headers; `None` when it is none (or is broken,
/// reported as a finding).
pub fn analyze(data: &[u8], out: &mut Vec<Finding>) -> Option<ExeInfo> {
    use goblin::Object;
    let obj = match Object::parse(data) {
        Ok(o) => o,
        Err(e) => {
            if data.starts_with(b"MZ") || data.starts_with(b"\x7fELF") {
                out.push(Finding::new(
                    Level::Info,
                    "exe_parse_error",
                    format!(
                        "executable headers unreadable: {}",
                        crate::trunc(&e.to_string(), 120)
                    ),
                ));
            }
            return None;
        }
    };
    match obj {
        Object::PE(pe) => {
            let ch = pe.header.coff_header.characteristics;
            let signed = pe
                .header
                .optional_header
                .and_then(|o| o.data_directories.get_certificate_table().copied())
                .is_some_and(|d| d.size > 0 && d.virtual_address > 0);
            let imports: Vec<(String, String)> = pe
                .imports
                .iter()
                .take(100_000)
                .map(|i| (i.dll.to_string(), i.name.to_string()))
                .collect();
            let mut libs: Vec<String> = pe
                .libraries
                .iter()
                .take(64)
                .map(|l| l.to_string())
                .collect();
            libs.dedup();
            Some(ExeInfo {
                format: "pe",
                arch: pe_machine(pe.header.coff_header.machine).into(),
                kind: if ch & 0x2000 != 0 { "dll" } else { "exe" }.into(),
                bits: if pe.is_64 { 64 } else { 32 },
                signed: Some(signed),
                compile_time: Some(pe.header.coff_header.time_date_stamp),
                imphash: imphash(&imports),
                libraries: libs,
                imports: imports.len(),
                sections: pe.sections.len(),
            })
        }
        Object::Elf(elf) => Some(ExeInfo {
            format: "elf",
            arch: goblin::elf::header::machine_to_str(elf.header.e_machine).to_ascii_lowercase(),
            kind: match elf.header.e_type {
                goblin::elf::header::ET_EXEC => "exe",
                goblin::elf::header::ET_DYN => "shared_object",
                goblin::elf::header::ET_REL => "object",
                goblin::elf::header::ET_CORE => "core",
                _ => "unknown",
            }
            .into(),
            bits: if elf.is_64 { 64 } else { 32 },
            libraries: elf
                .libraries
                .iter()
                .take(64)
                .map(|l| l.to_string())
                .collect(),
            imports: elf
                .dynsyms
                .iter()
                .filter(|s| s.is_import())
                .take(100_000)
                .count(),
            sections: elf.section_headers.len(),
            ..Default::default()
        }),
        Object::Mach(goblin::mach::Mach::Binary(m)) => Some(ExeInfo {
            format: "macho",
            arch: goblin::mach::constants::cputype::get_arch_name_from_types(
                m.header.cputype(),
                m.header.cpusubtype(),
            )
            .unwrap_or("unknown")
            .into(),
            kind: match m.header.filetype {
                goblin::mach::header::MH_EXECUTE => "exe",
                goblin::mach::header::MH_DYLIB => "dylib",
                goblin::mach::header::MH_BUNDLE => "bundle",
                _ => "other",
            }
            .into(),
            bits: if m.is_64 { 64 } else { 32 },
            libraries: m
                .libs
                .iter()
                .skip(1)
                .take(64)
                .map(|l| l.to_string())
                .collect(),
            sections: m.segments.len(),
            ..Default::default()
        }),
        Object::Mach(goblin::mach::Mach::Fat(f)) => Some(ExeInfo {
            format: "macho",
            arch: "universal".into(),
            kind: "fat".into(),
            sections: f.narches,
            ..Default::default()
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imphash_follows_pefile() {
        // pefile: "kernel32.exitprocess,user32.messageboxa,ws2_32.ord23"
        let i = vec![
            ("KERNEL32.dll".to_string(), "ExitProcess".to_string()),
            ("USER32.DLL".to_string(), "MessageBoxA".to_string()),
            ("ws2_32.dll".to_string(), "ORDINAL 23".to_string()),
        ];
        let want = crate::hex(&md5::Md5::digest(
            b"kernel32.exitprocess,user32.messageboxa,ws2_32.ord23",
        ));
        assert_eq!(imphash(&i), Some(want));
        assert_eq!(imphash(&[]), None);
    }

    #[test]
    fn broken_headers_do_not_panic() {
        let mut f = Vec::new();
        for data in [
            &b"MZ"[..],
            b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff",
            b"\x7fELF\x02\x01\x01",
            b"\xcf\xfa\xed\xfe\x07",
        ] {
            assert!(analyze(data, &mut f).is_none());
        }
        // A PE header pointing past the end.
        let mut pe = vec![0u8; 128];
        pe[0] = b'M';
        pe[1] = b'Z';
        pe[60] = 0xf0;
        pe[61] = 0xff;
        assert!(analyze(&pe, &mut f).is_none());
    }

    #[test]
    fn this_test_binary_is_an_elf() {
        // The running test executable is a real ELF file on Linux.
        let Ok(me) = std::env::current_exe().and_then(std::fs::read) else {
            return;
        };
        if !me.starts_with(b"\x7fELF") {
            return;
        }
        let mut f = Vec::new();
        let e = analyze(&me, &mut f).expect("elf");
        assert_eq!(e.format, "elf");
        assert_eq!(e.bits, 64);
        assert!(!e.libraries.is_empty());
    }
}
