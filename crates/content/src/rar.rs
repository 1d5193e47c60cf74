//! RAR listings from the block headers (RAR 1.5–4.x and RAR 5.0), without
//! decompressing anything: entry names, sizes, encrypted entries, encrypted
//! headers, executables inside (by name, and by content for stored
//! entries).
//!
//! Formats: RARLAB's "RAR version 3.x/4.x - Technical information"
//! (technote.txt) and "RAR 5.0 archive format" (technote.htm). Every field
//! is read with bounds checks; the walk stops at the end of the data, at
//! `Limits::max_entries` files, or after a fixed number of blocks.

use crate::archive::{conclude, ArchiveInfo, Entry, BOMB_RATIO};
use crate::filetype::{self, Class};
use crate::verdict::Finding;
use crate::Limits;

/// Blocks walked at most (files, service blocks, comments...).
const MAX_BLOCKS: usize = 4096;

/// RAR 5.0: "RAR 5.0 signature consists of 8 bytes: 0x52 0x61 0x72 0x21
/// 0x1A 0x07 0x01 0x00".
const SIG5: &[u8] = b"Rar!\x1a\x07\x01\x00";
/// RAR 1.5–4.x: "The marker block is actually considered as a fixed byte
/// sequence: 0x52 0x61 0x72 0x21 0x1a 0x07 0x00".
const SIG4: &[u8] = b"Rar!\x1a\x07\x00";

fn u16le(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        d.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn u32le(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        d.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// RAR 5.0 "vint": "Variable length integer. Can include one or more
/// bytes, where lower 7 bits of every byte contain integer data and
/// highest bit in every byte is the continuation flag." At most 10 bytes
/// (64 bits); longer is an error. Returns the value and the bytes used.
fn vint(d: &[u8], at: usize) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for i in 0..10 {
        let b = *d.get(at.checked_add(i)?)?;
        v |= u64::from(b & 0x7f).checked_shl(7 * i as u32)?;
        if b & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// A cursor over one header's bytes (never past its end).
struct Cur<'a> {
    d: &'a [u8],
    at: usize,
}

impl Cur<'_> {
    fn vint(&mut self) -> Option<u64> {
        let (v, n) = vint(self.d, self.at)?;
        self.at += n;
        Some(v)
    }
    fn skip(&mut self, n: usize) -> Option<()> {
        let to = self.at.checked_add(n)?;
        if to > self.d.len() {
            return None;
        }
        self.at = to;
        Some(())
    }
    fn bytes(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.d.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
}

/// Is this a RAR archive (either generation)?
pub fn is_rar(data: &[u8]) -> bool {
    data.starts_with(SIG5) || data.starts_with(SIG4)
}

/// List a RAR archive. `None` when it is not one.
pub fn analyze(data: &[u8], limits: &Limits, out: &mut Vec<Finding>) -> Option<ArchiveInfo> {
    let mut info = ArchiveInfo {
        format: "rar",
        ..Default::default()
    };
    let mut declared_total = 0u64;
    if data.starts_with(SIG5) {
        walk5(data, limits, &mut info, &mut declared_total);
    } else if data.starts_with(SIG4) {
        walk4(data, limits, &mut info, &mut declared_total);
    } else {
        return None;
    }
    conclude(&mut info, declared_total, data.len(), out);
    Some(info)
}

/// One file entry found by either walker.
struct Found<'a> {
    name: String,
    size: u64,
    packed: u64,
    encrypted: bool,
    dir: bool,
    /// The entry's data when it is stored (not compressed) and not
    /// encrypted: its first bytes give its real type.
    stored: Option<&'a [u8]>,
}

fn add(info: &mut ArchiveInfo, f: Found<'_>, limits: &Limits, declared_total: &mut u64) -> bool {
    if f.dir {
        return true;
    }
    info.entries = info.entries.saturating_add(1);
    if info.entries as usize > limits.max_entries {
        info.truncated = true;
        return false;
    }
    *declared_total = declared_total.saturating_add(f.size);
    if f.packed > 0 && f.size / f.packed.max(1) >= BOMB_RATIO && f.size >= (1 << 20) {
        info.bomb = true;
    }
    if f.encrypted {
        info.encrypted_entries += 1;
    }
    let name = crate::trunc(&f.name, 256);
    let mut e = Entry {
        executable: filetype::extension(&name)
            .as_deref()
            .is_some_and(filetype::runs_when_opened),
        name,
        size: f.size,
        compressed: f.packed,
        encrypted: f.encrypted,
        mime_type: None,
    };
    if let Some(head) = f.stored.filter(|h| !h.is_empty()) {
        let m = filetype::sniff_mime(&head[..head.len().min(512)]);
        e.mime_type = Some(m);
        if filetype::class_of_mime(m) == Class::Executable {
            e.executable = true;
        }
    }
    if e.executable && info.executables.len() < limits.max_items {
        info.executables.push(e.name.clone());
    }
    if info.listing.len() < limits.max_items {
        info.listing.push(e);
    }
    true
}

/// RAR 5.0 blocks. technote.htm, "General archive block format":
/// `Header CRC32 (uint32)`, `Header size (vint)`: "Size of header data
/// starting from Header type field and up to and including the optional
/// extra area", `Header type (vint)`, `Header flags (vint)`, `Extra area
/// size (vint)` "only present if 0x0001 header flag is set", `Data size
/// (vint)` "only present if 0x0002 header flag is set", then the type's
/// fields, the extra area, and the data area.
fn walk5(data: &[u8], limits: &Limits, info: &mut ArchiveInfo, total: &mut u64) {
    let mut pos = SIG5.len();
    for _ in 0..MAX_BLOCKS {
        if pos >= data.len() {
            return;
        }
        let Some((hsize, n)) = vint(data, pos + 4) else {
            info.truncated = true;
            return;
        };
        // "This field must not be longer than 3 bytes in current
        // implementation, resulting in 2 MB maximum header size."
        if n > 3 || hsize == 0 {
            info.truncated = true;
            return;
        }
        let hstart = pos + 4 + n;
        let Some(hdr) = data.get(hstart..hstart + hsize as usize) else {
            info.truncated = true;
            return;
        };
        let mut c = Cur { d: hdr, at: 0 };
        let (Some(htype), Some(hflags)) = (c.vint(), c.vint()) else {
            info.truncated = true;
            return;
        };
        let extra_size = if hflags & 0x0001 != 0 {
            c.vint()
        } else {
            Some(0)
        };
        let data_size = if hflags & 0x0002 != 0 {
            c.vint()
        } else {
            Some(0)
        };
        let (Some(extra_size), Some(data_size)) = (extra_size, data_size) else {
            info.truncated = true;
            return;
        };
        let data_start = hstart + hsize as usize;
        match htype {
            // "Archive encryption header": "This header is present only in
            // archives with encrypted headers" — everything after it is
            // ciphertext.
            4 => {
                info.headers_encrypted = true;
                return;
            }
            // File header (2); service headers (3: comments, ACLs...) are
            // not entries.
            2 => {
                let Some(f) = file5(&mut c, hdr, extra_size, data, data_start, data_size) else {
                    info.truncated = true;
                    return;
                };
                if !add(info, f, limits, total) {
                    return;
                }
            }
            // End of archive header.
            5 => return,
            _ => {}
        }
        let Some(next) = usize::try_from(data_size)
            .ok()
            .and_then(|d| data_start.checked_add(d))
        else {
            info.truncated = true;
            return;
        };
        if next <= pos {
            return;
        }
        if next > data.len() {
            // The data area runs past what was captured.
            info.truncated = true;
            return;
        }
        pos = next;
    }
    info.truncated = true;
}

/// RAR 5.0 "File header and service header": `File flags (vint)`,
/// `Unpacked size (vint)`, `Attributes (vint)`, `mtime (uint32)` "present
/// if 0x0002 file flag is set", `Data CRC32 (uint32)` "present if 0x0004
/// file flag is set", `Compression information (vint)`, `Host OS (vint)`,
/// `Name length (vint)`, `Name` ("UTF-8"). File flags: "0x0001 Directory
/// file system object". Compression information: "Bits 7 - 9 (0x0380
/// mask) define the compression method ... 0 means no compression".
/// Extra area record types: "0x01 File encryption".
fn file5<'a>(
    c: &mut Cur<'_>,
    hdr: &[u8],
    extra_size: u64,
    data: &'a [u8],
    data_start: usize,
    data_size: u64,
) -> Option<Found<'a>> {
    let flags = c.vint()?;
    let size = c.vint()?;
    let _attrs = c.vint()?;
    if flags & 0x0002 != 0 {
        c.skip(4)?;
    }
    if flags & 0x0004 != 0 {
        c.skip(4)?;
    }
    let comp = c.vint()?;
    let _os = c.vint()?;
    let nlen = usize::try_from(c.vint()?).ok()?;
    let name = String::from_utf8_lossy(c.bytes(nlen)?).into_owned();
    // The extra area ends the header.
    let mut encrypted = false;
    let extra_start = hdr.len().checked_sub(usize::try_from(extra_size).ok()?)?;
    let mut x = Cur {
        d: hdr,
        at: extra_start,
    };
    for _ in 0..64 {
        if x.at >= hdr.len() {
            break;
        }
        let Some(rsize) = x.vint() else { break };
        let rstart = x.at;
        let Some(rtype) = x.vint() else { break };
        if rtype == 0x01 {
            encrypted = true;
        }
        let Some(next) = usize::try_from(rsize)
            .ok()
            .and_then(|r| rstart.checked_add(r))
        else {
            break;
        };
        if next <= rstart || next > hdr.len() {
            break;
        }
        x.at = next;
    }
    let method = (comp >> 7) & 0x7;
    let stored = (method == 0 && !encrypted)
        .then(|| {
            let end = data_start
                .saturating_add(usize::try_from(data_size).unwrap_or(usize::MAX).min(512));
            data.get(data_start..end.min(data.len()))
        })
        .flatten();
    Some(Found {
        name,
        size,
        packed: data_size,
        encrypted,
        dir: flags & 0x0001 != 0,
        stored,
    })
}

/// RAR 1.5–4.x blocks (technote.txt): "HEAD_CRC 2 bytes, HEAD_TYPE 1 byte,
/// HEAD_FLAGS 2 bytes, HEAD_SIZE 2 bytes, ADD_SIZE 4 bytes — Field ADD_SIZE
/// present only if (HEAD_FLAGS & 0x8000) != 0. Total block size is
/// HEAD_SIZE if (HEAD_FLAGS & 0x8000) == 0 and HEAD_SIZE+ADD_SIZE if the
/// field ADD_SIZE is present".
fn walk4(data: &[u8], limits: &Limits, info: &mut ArchiveInfo, total: &mut u64) {
    let mut pos = SIG4.len();
    for _ in 0..MAX_BLOCKS {
        if pos >= data.len() {
            return;
        }
        let (Some(&htype), Some(flags), Some(hsize)) = (
            data.get(pos + 2),
            u16le(data, pos + 3),
            u16le(data, pos + 5),
        ) else {
            info.truncated = true;
            return;
        };
        let hsize = usize::from(hsize);
        if hsize < 7 || pos + hsize > data.len() {
            info.truncated = true;
            return;
        }
        let add_size = if flags & 0x8000 != 0 {
            match u32le(data, pos + 7) {
                Some(a) => u64::from(a),
                None => {
                    info.truncated = true;
                    return;
                }
            }
        } else {
            0
        };
        let hdr = &data[pos..pos + hsize];
        match htype {
            // Archive header: "0x0080 - block headers are encrypted".
            0x73 if flags & 0x0080 != 0 => {
                info.headers_encrypted = true;
                return;
            }
            0x74 => {
                let Some(f) = file4(hdr, flags, data, pos + hsize) else {
                    info.truncated = true;
                    return;
                };
                let packed = f.packed;
                if !add(info, f, limits, total) {
                    return;
                }
                // The data area is PACK_SIZE (with HIGH_PACK_SIZE).
                let Some(next) = usize::try_from(packed)
                    .ok()
                    .and_then(|p| (pos + hsize).checked_add(p))
                else {
                    info.truncated = true;
                    return;
                };
                if next > data.len() {
                    info.truncated = true;
                    return;
                }
                pos = next;
                continue;
            }
            // "HEAD_TYPE=0x7b end of archive" (RAR 3.x and later).
            0x7b => return,
            _ => {}
        }
        let Some(next) = usize::try_from(add_size)
            .ok()
            .and_then(|a| (pos + hsize).checked_add(a))
        else {
            info.truncated = true;
            return;
        };
        if next > data.len() {
            info.truncated = true;
            return;
        }
        pos = next;
    }
    info.truncated = true;
}

/// RAR 1.5–4.x file header (HEAD_TYPE=0x74), after the 7 common bytes:
/// "PACK_SIZE 4 bytes, UNP_SIZE 4 bytes, HOST_OS 1 byte, FILE_CRC 4 bytes,
/// FTIME 4 bytes, UNP_VER 1 byte, METHOD 1 byte, NAME_SIZE 2 bytes, ATTR 4
/// bytes, HIGH_PACK_SIZE 4 bytes (optional), HIGH_UNP_SIZE 4 bytes
/// (optional), FILE_NAME (NAME_SIZE bytes)". HEAD_FLAGS: "0x04 - file
/// encrypted with password", "0xe0 ... 111 for directory", "0x100 -
/// HIGH_PACK_SIZE and HIGH_UNP_SIZE fields are present", "0x200 -
/// FILE_NAME contains both usual and encoded Unicode name separated by
/// zero". METHOD "0x30 - storing".
fn file4<'a>(hdr: &[u8], flags: u16, data: &'a [u8], data_start: usize) -> Option<Found<'a>> {
    let mut packed = u64::from(u32le(hdr, 7)?);
    let mut size = u64::from(u32le(hdr, 11)?);
    let method = *hdr.get(25)?;
    let nlen = usize::from(u16le(hdr, 26)?);
    let mut at: usize = 32;
    if flags & 0x100 != 0 {
        packed |= u64::from(u32le(hdr, 32)?) << 32;
        size |= u64::from(u32le(hdr, 36)?) << 32;
        at = 40;
    }
    let raw = hdr.get(at..at.checked_add(nlen)?)?;
    let raw = if flags & 0x200 != 0 {
        // The usual (OEM/UTF-8) name before the zero; the encoded Unicode
        // form after it is not decoded.
        raw.split(|&b| b == 0).next().unwrap_or(raw)
    } else {
        raw
    };
    let name = String::from_utf8_lossy(raw).replace('\\', "/");
    let encrypted = flags & 0x04 != 0;
    let stored = (method == 0x30 && !encrypted)
        .then(|| {
            let end =
                data_start.saturating_add(usize::try_from(packed).unwrap_or(usize::MAX).min(512));
            data.get(data_start..end.min(data.len()))
        })
        .flatten();
    Some(Found {
        name,
        size,
        packed,
        encrypted,
        dir: flags & 0xe0 == 0xe0,
        stored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str) -> Vec<u8> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("testdata/archives")
                .join(name),
        )
        .expect("testdata (testdata/archives/make.sh)")
    }

    fn list(name: &str) -> (ArchiveInfo, Vec<Finding>) {
        let mut f = Vec::new();
        let a = analyze(&file(name), &Limits::default(), &mut f).expect("rar");
        (a, f)
    }

    fn names(a: &ArchiveInfo) -> Vec<&str> {
        a.listing.iter().map(|e| e.name.as_str()).collect()
    }

    // Expected values from the `.exp` dumps rarfile ships beside each file.

    #[test]
    fn rar3_listing() {
        let (a, f) = list("rar3-subdirs.rar");
        assert_eq!(a.entries, 4, "{:?}", names(&a));
        assert!(names(&a).contains(&"sub/dir1/file1.txt"), "{:?}", names(&a));
        assert!(!a.truncated && a.encrypted_entries == 0);
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn rar5_listing() {
        let (a, f) = list("rar5-subdirs.rar");
        assert_eq!(a.entries, 4, "{:?}", names(&a));
        assert!(names(&a).contains(&"sub/dir1/file1.txt"), "{:?}", names(&a));
        assert!(!a.truncated);
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn encrypted_entries_and_headers() {
        let (a, f) = list("rar5-psw.rar");
        assert_eq!((a.entries, a.encrypted_entries), (2, 2));
        assert_eq!(names(&a), vec!["stest1.txt", "stest2.txt"]);
        assert_eq!((a.listing[1].size, a.listing[1].compressed), (2048, 2048));
        assert!(f.iter().any(|x| x.code == "encrypted_archive"));
        let (a, _) = list("rar3-comment-psw.rar");
        assert_eq!((a.entries, a.encrypted_entries), (2, 2));
        assert_eq!(names(&a), vec!["file1.txt", "file2.txt"]);
        for n in ["rar5-hpsw.rar", "rar3-comment-hpsw.rar"] {
            let (a, f) = list(n);
            assert!(a.headers_encrypted, "{n}");
            assert!(a.listing.is_empty(), "{n}");
            assert!(f.iter().any(|x| x.code == "encrypted_archive"), "{n}");
        }
    }

    /// A RAR 5.0 block as technote.htm lays it out (the CRC is not
    /// checked by the walker, so it is left 0).
    fn block5(htype: u8, hflags: u8, fields: &[u8], data: &[u8]) -> Vec<u8> {
        let mut h = vec![htype, hflags];
        if hflags & 0x02 != 0 {
            assert!(data.len() < 128);
            h.push(data.len() as u8);
        }
        h.extend_from_slice(fields);
        assert!(h.len() < 128);
        let mut b = vec![0, 0, 0, 0, h.len() as u8];
        b.extend_from_slice(&h);
        b.extend_from_slice(data);
        b
    }

    /// Stored entries are sniffed: an executable under a harmless name is
    /// found by its content, and one named `.scr` by its name.
    #[test]
    fn executables_inside() {
        let mut d = SIG5.to_vec();
        d.extend(block5(1, 0, &[0], &[]));
        let exe = b"MZ\x90\x00\x03\x00\x00\x00";
        // File flags 0, size, attributes 0, compression info 0 (stored),
        // host OS 0, name.
        let mut f = vec![0, exe.len() as u8, 0, 0, 0, 9];
        f.extend_from_slice(b"photo.jpg");
        d.extend(block5(2, 0x02, &f, exe));
        // A compressed (method 3 = 0x180) entry named .scr.
        let mut f = vec![0, 100, 0, 0x80, 0x03, 0, 9];
        f.extend_from_slice(b"intro.scr");
        d.extend(block5(2, 0x02, &f, b"xxxx"));
        d.extend(block5(5, 0, &[0], &[]));
        let mut out = Vec::new();
        let a = analyze(&d, &Limits::default(), &mut out).expect("rar");
        assert_eq!(a.entries, 2, "{a:?}");
        assert_eq!(a.executables, vec!["photo.jpg", "intro.scr"]);
        assert_eq!(a.listing[0].mime_type, Some("application/x-dosexec"));
        assert_eq!((a.listing[1].size, a.listing[1].compressed), (100, 4));
        assert!(!a.truncated);
        assert!(out.iter().any(|x| x.code == "archive_hides_executable"));
    }

    #[test]
    fn hostile_input_is_bounded() {
        let limits = Limits::default();
        let mut f = Vec::new();
        for name in [
            "rar3-subdirs.rar",
            "rar5-subdirs.rar",
            "rar5-psw.rar",
            "rar3-comment-psw.rar",
        ] {
            let d = file(name);
            // Every truncation.
            for n in 0..d.len() {
                let _ = analyze(&d[..n], &limits, &mut f);
            }
            // Seeded byte mutations.
            let mut rng = netsift_testkit::XorShift(20);
            for _ in 0..2000 {
                let mut m = d.clone();
                for _ in 0..1 + rng.below(4) {
                    let i = rng.below(m.len());
                    m[i] = rng.next() as u8;
                }
                let _ = analyze(&m, &limits, &mut f);
            }
        }
        // Huge vints and sizes.
        let mut d = SIG5.to_vec();
        d.extend_from_slice(&[0, 0, 0, 0, 0xff, 0xff, 0x7f, 2, 2]);
        assert!(analyze(&d, &limits, &mut f).expect("rar").truncated);
        let mut d = SIG5.to_vec();
        d.extend_from_slice(&[0, 0, 0, 0, 6, 2, 2, 0xff, 0xff, 0xff, 0xff]);
        let _ = analyze(&d, &limits, &mut f);
    }
}
