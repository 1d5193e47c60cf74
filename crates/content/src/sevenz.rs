//! 7z listings from the archive's header database, without extracting
//! any entry: names, sizes, directories, entries in encrypted (7zAES)
//! folders, encrypted headers (`-mhe`), executables by name.
//!
//! Format: 7-Zip's DOC/7zFormat.txt (Debian's 7zip ships it as
//! /usr/share/doc/7zip/7zFormat.txt.gz) and DOC/Methods.txt for the coder
//! ids. 7-Zip compresses the header by default ("Packed Header" +
//! `kEncodedHeader`); it is inflated here with lzma-rust2 (LZMA or LZMA2),
//! at most [`MAX_HEADER`] bytes. Every count is bounded by what is left of
//! the data and by fixed caps; nothing is allocated from a declared size.

use std::io::Read;

use crate::archive::{conclude, ArchiveInfo, Entry, BOMB_RATIO};
use crate::filetype;
use crate::verdict::Finding;
use crate::Limits;

/// "BYTE kSignature[6] = {'7', 'z', 0xBC, 0xAF, 0x27, 0x1C};"
const SIG: &[u8] = b"7z\xbc\xaf\x27\x1c";
/// The SignatureHeader is 32 bytes; NextHeaderOffset counts from its end.
const SIG_HEADER: usize = 32;
/// Bytes of a (decoded) header database read at most.
const MAX_HEADER: usize = 4 << 20;
/// Caps on declared counts (besides the bytes left to hold them).
const MAX_FOLDERS: usize = 1 << 16;
const MAX_CODERS: usize = 16;
const MAX_STREAMS: usize = 1 << 20;
const MAX_FILES: usize = 1 << 20;

/// Methods.txt: "06F10701 - 7zAES (AES-256 + SHA-256)".
const AES: &[u8] = &[0x06, 0xf1, 0x07, 0x01];
/// Methods.txt: "030101 - LZMA", "21 - LZMA2", "00 - Copy".
const LZMA: &[u8] = &[0x03, 0x01, 0x01];
const LZMA2: &[u8] = &[0x21];
const COPY: &[u8] = &[0x00];

/// Property IDs (7zFormat.txt "Property IDs").
mod nid {
    pub const END: u8 = 0x00;
    pub const HEADER: u8 = 0x01;
    pub const ARCHIVE_PROPERTIES: u8 = 0x02;
    pub const ADDITIONAL_STREAMS: u8 = 0x03;
    pub const MAIN_STREAMS: u8 = 0x04;
    pub const FILES_INFO: u8 = 0x05;
    pub const PACK_INFO: u8 = 0x06;
    pub const UNPACK_INFO: u8 = 0x07;
    pub const SUBSTREAMS_INFO: u8 = 0x08;
    pub const SIZE: u8 = 0x09;
    pub const CRC: u8 = 0x0a;
    pub const FOLDER: u8 = 0x0b;
    pub const CODERS_UNPACK_SIZE: u8 = 0x0c;
    pub const NUM_UNPACK_STREAM: u8 = 0x0d;
    pub const EMPTY_STREAM: u8 = 0x0e;
    pub const EMPTY_FILE: u8 = 0x0f;
    pub const NAME: u8 = 0x11;
    pub const WIN_ATTRIBUTES: u8 = 0x15;
    pub const ENCODED_HEADER: u8 = 0x17;
}

/// Why a listing stopped.
#[derive(Debug)]
enum Stop {
    /// Malformed, cut, or over a bound.
    Bad,
    /// The header is encrypted (a 7zAES coder on the packed header).
    Encrypted,
}

type Res<T> = Result<T, Stop>;

struct Rd<'a> {
    d: &'a [u8],
    at: usize,
}

impl<'a> Rd<'a> {
    fn left(&self) -> usize {
        self.d.len().saturating_sub(self.at)
    }
    fn byte(&mut self) -> Res<u8> {
        let b = *self.d.get(self.at).ok_or(Stop::Bad)?;
        self.at += 1;
        Ok(b)
    }
    fn take(&mut self, n: usize) -> Res<&'a [u8]> {
        let end = self.at.checked_add(n).ok_or(Stop::Bad)?;
        let s = self.d.get(self.at..end).ok_or(Stop::Bad)?;
        self.at = end;
        Ok(s)
    }
    /// "UINT64 means real UINT64 encoded with the following scheme: Size
    /// of encoding sequence depends from first byte: 0xxxxxxx : (xxxxxxx);
    /// 10xxxxxx BYTE y[1] : (xxxxxx << (8 * 1)) + y; ... 11111110 BYTE
    /// y[7] : y; 11111111 BYTE y[8] : y" (y little-endian).
    fn number(&mut self) -> Res<u64> {
        let first = self.byte()?;
        let extra = first.leading_ones() as usize;
        let mut y: u64 = 0;
        for (i, &b) in self.take(extra)?.iter().enumerate() {
            y |= u64::from(b) << (8 * i);
        }
        if extra >= 7 {
            return Ok(y);
        }
        let high = u64::from(first) & (0x7f >> extra);
        Ok(y | (high << (8 * extra)))
    }
    /// A count, at most `cap`.
    fn count(&mut self, cap: usize) -> Res<usize> {
        let n = self.number()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= cap)
            .ok_or(Stop::Bad)
    }
    fn size(&mut self) -> Res<usize> {
        let n = self.number()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.left())
            .ok_or(Stop::Bad)
    }
    /// A bit vector of `n` items, most significant bit first.
    fn bits(&mut self, n: usize) -> Res<Vec<bool>> {
        let bytes = self.take(n.div_ceil(8))?;
        Ok((0..n)
            .map(|i| bytes[i / 8] & (0x80 >> (i % 8)) != 0)
            .collect())
    }
    /// "Digests (NumStreams): BYTE AllAreDefined; if (AllAreDefined == 0)
    /// { for(NumStreams) BIT Defined }; UINT32 CRCs[NumDefined]".
    fn digests(&mut self, n: usize) -> Res<Vec<bool>> {
        let all = self.byte()?;
        let defined = if all == 0 {
            self.bits(n)?
        } else {
            vec![true; n]
        };
        let k = defined.iter().filter(|&&d| d).count();
        self.take(k.checked_mul(4).ok_or(Stop::Bad)?)?;
        Ok(defined)
    }
}

#[derive(Debug, Default, Clone)]
struct Coder {
    id: Vec<u8>,
    props: Vec<u8>,
}

#[derive(Debug, Default, Clone)]
struct Folder {
    coders: Vec<Coder>,
    n_out: usize,
    n_packed: usize,
    /// Out streams that feed another coder (bind pairs' OutIndex).
    bound_out: Vec<usize>,
    unpack_sizes: Vec<u64>,
    crc_defined: bool,
}

impl Folder {
    /// The size of the folder's final output: the out stream no bind
    /// pair consumes.
    fn size(&self) -> u64 {
        (0..self.n_out)
            .find(|i| !self.bound_out.contains(i))
            .and_then(|i| self.unpack_sizes.get(i).copied())
            .unwrap_or(0)
    }
    fn encrypted(&self) -> bool {
        self.coders.iter().any(|c| c.id == AES)
    }
}

#[derive(Debug, Default)]
struct Streams {
    pack_pos: u64,
    pack_sizes: Vec<u64>,
    folders: Vec<Folder>,
    /// Per folder: how many files (substreams) it holds.
    num_unpack: Vec<usize>,
    /// Sizes of all substreams, folder after folder.
    sizes: Vec<u64>,
}

/// "Folder": coders, bind pairs, packed stream indices.
fn folder(r: &mut Rd<'_>) -> Res<Folder> {
    let n = r.count(MAX_CODERS)?;
    let mut f = Folder::default();
    let mut n_in = 0usize;
    for _ in 0..n {
        // "0:3 CodecIdSize, 4: Is Complex Coder, 5: There Are Attributes,
        // 6: Reserved, 7: There are more alternative methods. (Not used
        // anymore, must be 0)."
        let flags = r.byte()?;
        if flags & 0x80 != 0 {
            return Err(Stop::Bad);
        }
        let id = r.take(usize::from(flags & 0x0f))?.to_vec();
        let (ci, co) = if flags & 0x10 != 0 {
            (r.count(64)?, r.count(64)?)
        } else {
            (1, 1)
        };
        let props = if flags & 0x20 != 0 {
            let n = r.size()?;
            r.take(n)?.to_vec()
        } else {
            Vec::new()
        };
        n_in += ci;
        f.n_out += co;
        f.coders.push(Coder { id, props });
    }
    // "NumBindPairs = NumOutStreamsTotal - 1".
    let pairs = f.n_out.checked_sub(1).ok_or(Stop::Bad)?;
    for _ in 0..pairs {
        let _in = r.number()?;
        let out = r.number()?;
        f.bound_out
            .push(usize::try_from(out).map_err(|_| Stop::Bad)?);
    }
    // "NumPackedStreams = NumInStreamsTotal - NumBindPairs; if
    // (NumPackedStreams > 1) for(NumPackedStreams) UINT64 Index".
    f.n_packed = n_in.checked_sub(pairs).ok_or(Stop::Bad)?;
    if f.n_packed > 1 {
        for _ in 0..f.n_packed {
            r.number()?;
        }
    }
    Ok(f)
}

/// "Streams Info": [PackInfo] [CodersInfo] [SubStreamsInfo] kEnd.
fn streams(r: &mut Rd<'_>) -> Res<Streams> {
    let mut s = Streams::default();
    let mut sub_seen = false;
    loop {
        match r.byte()? {
            nid::END => break,
            nid::PACK_INFO => {
                s.pack_pos = r.number()?;
                let n = r.count(MAX_STREAMS.min(r.left()))?;
                loop {
                    match r.byte()? {
                        nid::END => break,
                        nid::SIZE => {
                            s.pack_sizes = (0..n).map(|_| r.number()).collect::<Res<_>>()?;
                        }
                        nid::CRC => {
                            r.digests(n)?;
                        }
                        _ => return Err(Stop::Bad),
                    }
                }
            }
            nid::UNPACK_INFO => {
                if r.byte()? != nid::FOLDER {
                    return Err(Stop::Bad);
                }
                let n = r.count(MAX_FOLDERS.min(r.left()))?;
                // "BYTE External": 1 would put the folders in another
                // stream (never written by 7-Zip).
                if r.byte()? != 0 {
                    return Err(Stop::Bad);
                }
                s.folders = (0..n).map(|_| folder(r)).collect::<Res<_>>()?;
                if r.byte()? != nid::CODERS_UNPACK_SIZE {
                    return Err(Stop::Bad);
                }
                for f in &mut s.folders {
                    f.unpack_sizes = (0..f.n_out).map(|_| r.number()).collect::<Res<_>>()?;
                }
                loop {
                    match r.byte()? {
                        nid::END => break,
                        nid::CRC => {
                            let d = r.digests(n)?;
                            for (f, d) in s.folders.iter_mut().zip(d) {
                                f.crc_defined = d;
                            }
                        }
                        _ => return Err(Stop::Bad),
                    }
                }
            }
            nid::SUBSTREAMS_INFO => {
                sub_seen = true;
                substreams(r, &mut s)?;
            }
            _ => return Err(Stop::Bad),
        }
    }
    if !sub_seen {
        s.num_unpack = vec![1; s.folders.len()];
        s.sizes = s.folders.iter().map(Folder::size).collect();
    }
    Ok(s)
}

/// "SubStreams Info": [kNumUnPackStream counts] [kSize sizes] [kCRC
/// digests] kEnd. A folder's last substream has no size written: it is
/// what the others leave of the folder's size.
fn substreams(r: &mut Rd<'_>, s: &mut Streams) -> Res<()> {
    s.num_unpack = vec![1; s.folders.len()];
    let mut sizes_done = false;
    loop {
        let id = r.byte()?;
        match id {
            nid::NUM_UNPACK_STREAM => {
                let mut total = 0usize;
                for n in s.num_unpack.iter_mut() {
                    *n = r.count(MAX_STREAMS)?;
                    total = total.saturating_add(*n);
                }
                if total > MAX_STREAMS {
                    return Err(Stop::Bad);
                }
            }
            nid::SIZE => {
                s.sizes.clear();
                for (f, &n) in s.folders.iter().zip(&s.num_unpack) {
                    if n == 0 {
                        continue;
                    }
                    let mut sum = 0u64;
                    for _ in 1..n {
                        let v = r.number()?;
                        sum = sum.saturating_add(v);
                        s.sizes.push(v);
                    }
                    s.sizes.push(f.size().saturating_sub(sum));
                }
                sizes_done = true;
            }
            nid::CRC => {
                // "Digests[Number of streams with unknown CRC]": a folder
                // of one stream with its own CRC needs none.
                let unknown = s
                    .folders
                    .iter()
                    .zip(&s.num_unpack)
                    .map(|(f, &n)| if n == 1 && f.crc_defined { 0 } else { n })
                    .sum();
                r.digests(unknown)?;
            }
            nid::END => break,
            _ => return Err(Stop::Bad),
        }
    }
    if !sizes_done {
        s.sizes.clear();
        for (f, &n) in s.folders.iter().zip(&s.num_unpack) {
            if n == 1 {
                s.sizes.push(f.size());
            } else {
                // Sizes of several streams were not written: unknown.
                s.sizes.extend(std::iter::repeat_n(0, n));
            }
        }
    }
    Ok(())
}

/// Inflate a packed header ("HeaderInfo": kEncodedHeader + StreamsInfo
/// for Encoded Header): one folder of one coder, LZMA, LZMA2 or Copy.
fn decode_header(data: &[u8], s: &Streams, budget: &mut usize) -> Res<Vec<u8>> {
    let f = s.folders.first().ok_or(Stop::Bad)?;
    if f.encrypted() {
        return Err(Stop::Encrypted);
    }
    let [c] = f.coders.as_slice() else {
        return Err(Stop::Bad);
    };
    let start = usize::try_from(s.pack_pos)
        .ok()
        .and_then(|p| p.checked_add(SIG_HEADER))
        .ok_or(Stop::Bad)?;
    let len = usize::try_from(*s.pack_sizes.first().ok_or(Stop::Bad)?).map_err(|_| Stop::Bad)?;
    let packed = data
        .get(start..start.checked_add(len).ok_or(Stop::Bad)?)
        .ok_or(Stop::Bad)?;
    let size = f.size();
    let cap = MAX_HEADER.min(*budget);
    if size > cap as u64 {
        return Err(Stop::Bad);
    }
    let mut out = Vec::new();
    let read = if c.id == LZMA {
        // Methods.txt LZMA properties: "lc/lp/pb byte, dictionary size
        // (UInt32)". The decoder bounds its dictionary by the output size.
        let [p, d @ ..] = c.props.as_slice() else {
            return Err(Stop::Bad);
        };
        let dict = u32::from_le_bytes(d.try_into().map_err(|_| Stop::Bad)?);
        lzma_rust2::LzmaReader::new_with_props(packed, size, *p, dict, None)
            .map_err(|_| Stop::Bad)?
            .take(size)
            .read_to_end(&mut out)
    } else if c.id == LZMA2 {
        // LZMA2 property: dictionary size 2^(p/2 + 12) or 3 * 2^(p/2 + 11);
        // no more is needed than the output.
        let p = *c.props.first().ok_or(Stop::Bad)?;
        if p > 40 {
            return Err(Stop::Bad);
        }
        let dict = (2u64 | u64::from(p & 1)) << (u32::from(p) / 2 + 11);
        let dict = dict.min(size.max(4096)) as u32;
        lzma_rust2::Lzma2Reader::new(packed, dict, None)
            .take(size)
            .read_to_end(&mut out)
    } else if c.id == COPY {
        out.extend_from_slice(&packed[..packed.len().min(size as usize)]);
        Ok(out.len())
    } else {
        return Err(Stop::Bad);
    };
    read.map_err(|_| Stop::Bad)?;
    *budget = budget.saturating_sub(out.len());
    Ok(out)
}

/// Is this a 7z archive?
pub fn is_7z(data: &[u8]) -> bool {
    data.starts_with(SIG)
}

/// List a 7z archive (its header database) within `budget` bytes of
/// header decompression, which this lowers. `None` when it is not one.
pub fn analyze(
    data: &[u8],
    limits: &Limits,
    budget: &mut usize,
    out: &mut Vec<Finding>,
) -> Option<ArchiveInfo> {
    if !is_7z(data) {
        return None;
    }
    let mut info = ArchiveInfo {
        format: "7z",
        ..Default::default()
    };
    let mut total = 0u64;
    match list(data, limits, budget, &mut info, &mut total) {
        Ok(()) => {}
        Err(Stop::Encrypted) => info.headers_encrypted = true,
        Err(Stop::Bad) => info.truncated = true,
    }
    conclude(&mut info, total, data.len(), out);
    Some(info)
}

fn list(
    data: &[u8],
    limits: &Limits,
    budget: &mut usize,
    info: &mut ArchiveInfo,
    total: &mut u64,
) -> Res<()> {
    // SignatureHeader: signature, version (2), StartHeaderCRC (4),
    // "REAL_UINT64 NextHeaderOffset, REAL_UINT64 NextHeaderSize, UINT32
    // NextHeaderCRC".
    let mut r = Rd { d: data, at: 12 };
    let off = u64::from_le_bytes(r.take(8)?.try_into().map_err(|_| Stop::Bad)?);
    let size = u64::from_le_bytes(r.take(8)?.try_into().map_err(|_| Stop::Bad)?);
    if size == 0 {
        // An empty archive.
        return Ok(());
    }
    let start = usize::try_from(off)
        .ok()
        .and_then(|o| o.checked_add(SIG_HEADER))
        .ok_or(Stop::Bad)?;
    let size = usize::try_from(size)
        .ok()
        .filter(|&s| s <= MAX_HEADER)
        .ok_or(Stop::Bad)?;
    let mut header: Vec<u8> = data
        .get(start..start.checked_add(size).ok_or(Stop::Bad)?)
        .ok_or(Stop::Bad)?
        .to_vec();
    // A packed header decodes to the real one (at most twice here; 7-Zip
    // writes one level).
    for _ in 0..2 {
        if header.first() != Some(&nid::ENCODED_HEADER) {
            break;
        }
        let mut r = Rd { d: &header, at: 1 };
        let s = streams(&mut r)?;
        header = decode_header(data, &s, budget)?;
    }
    let mut r = Rd { d: &header, at: 0 };
    if r.byte()? != nid::HEADER {
        return Err(Stop::Bad);
    }
    let mut main = Streams::default();
    loop {
        match r.byte()? {
            nid::END => break,
            nid::ARCHIVE_PROPERTIES => loop {
                if r.byte()? == 0 {
                    break;
                }
                let n = r.size()?;
                r.take(n)?;
            },
            nid::ADDITIONAL_STREAMS => {
                streams(&mut r)?;
            }
            nid::MAIN_STREAMS => main = streams(&mut r)?,
            nid::FILES_INFO => {
                files(&mut r, &main, limits, info, total)?;
            }
            _ => return Err(Stop::Bad),
        }
    }
    // Folders whose output is far larger than their packed input.
    let mut pack = main.pack_sizes.iter();
    for f in &main.folders {
        let packed: u64 = pack.by_ref().take(f.n_packed).sum();
        if f.size() >= (1 << 20) && f.size() / packed.max(1) >= BOMB_RATIO {
            info.bomb = true;
        }
    }
    Ok(())
}

/// "FilesInfo": NumFiles, then properties (type, size, data) until 0.
fn files(
    r: &mut Rd<'_>,
    main: &Streams,
    limits: &Limits,
    info: &mut ArchiveInfo,
    total: &mut u64,
) -> Res<()> {
    let n = r.count(MAX_FILES)?;
    let mut empty_stream = vec![false; 0];
    let mut empty_file = vec![false; 0];
    let mut names: Vec<String> = Vec::new();
    let mut attrs: Vec<Option<u32>> = Vec::new();
    loop {
        let t = r.byte()?;
        if t == nid::END {
            break;
        }
        let len = r.size()?;
        let mut p = Rd {
            d: r.take(len)?,
            at: 0,
        };
        match t {
            // "kEmptyStream: for(NumFiles) BIT IsEmptyStream".
            nid::EMPTY_STREAM => empty_stream = p.bits(n)?,
            // "kEmptyFile: for(EmptyStreams) BIT IsEmptyFile".
            nid::EMPTY_FILE => {
                let k = empty_stream.iter().filter(|&&e| e).count();
                empty_file = p.bits(k)?;
            }
            // "kNames: BYTE External; ... for(Files) { wchar_t
            // Names[NameSize]; wchar_t 0; }" (UTF-16LE).
            nid::NAME => {
                if p.byte()? != 0 {
                    continue;
                }
                let units: Vec<u16> =
                    p.d.get(p.at..)
                        .unwrap_or(&[])
                        .chunks_exact(2)
                        .map(|c| u16::from_le_bytes([c[0], c[1]]))
                        .collect();
                for name in units.split(|&u| u == 0).take(n) {
                    let name = &name[..name.len().min(512)];
                    names.push(String::from_utf16_lossy(name));
                }
            }
            // "kAttributes: BYTE AllAreDefined; [BIT defined]; BYTE
            // External; UINT32 Attributes[defined]".
            nid::WIN_ATTRIBUTES => {
                let all = p.byte()?;
                let defined = if all == 0 { p.bits(n)? } else { vec![true; n] };
                if p.byte()? != 0 {
                    continue;
                }
                for d in defined {
                    attrs.push(if d {
                        let b = p.take(4)?;
                        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    } else {
                        None
                    });
                }
            }
            _ => {}
        }
    }
    // Files with a stream take the substreams in order; a folder's
    // substreams are its files.
    let mut folder_of = Vec::new();
    for (i, &k) in main.num_unpack.iter().enumerate() {
        folder_of.extend(std::iter::repeat_n(i, k.min(MAX_STREAMS)));
        if folder_of.len() > MAX_STREAMS {
            return Err(Stop::Bad);
        }
    }
    let mut stream = 0usize;
    let mut empty_i = 0usize;
    for i in 0..n {
        let empty = empty_stream.get(i).copied().unwrap_or(false);
        let (size, enc) = if empty {
            let is_file = empty_file.get(empty_i).copied().unwrap_or(false);
            empty_i += 1;
            // FILE_ATTRIBUTE_DIRECTORY (0x10), or an empty stream that is
            // not an empty file.
            let dir_attr = attrs
                .get(i)
                .copied()
                .flatten()
                .is_some_and(|a| a & 0x10 != 0);
            if !is_file || dir_attr {
                continue;
            }
            (0, false)
        } else {
            let size = main.sizes.get(stream).copied().unwrap_or(0);
            let enc = folder_of
                .get(stream)
                .and_then(|&f| main.folders.get(f))
                .is_some_and(Folder::encrypted);
            stream += 1;
            (size, enc)
        };
        info.entries = info.entries.saturating_add(1);
        if info.entries as usize > limits.max_entries {
            info.truncated = true;
            continue;
        }
        *total = total.saturating_add(size);
        if enc {
            info.encrypted_entries += 1;
        }
        let name = crate::trunc(names.get(i).map(String::as_str).unwrap_or(""), 256);
        let executable = filetype::extension(&name)
            .as_deref()
            .is_some_and(filetype::runs_when_opened);
        if executable && info.executables.len() < limits.max_items {
            info.executables.push(name.clone());
        }
        if info.listing.len() < limits.max_items {
            info.listing.push(Entry {
                name,
                size,
                compressed: 0,
                encrypted: enc,
                mime_type: None,
                executable,
            });
        }
    }
    Ok(())
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
        let mut budget = 16 << 20;
        let a = analyze(&file(name), &Limits::default(), &mut budget, &mut f).expect("7z");
        (a, f)
    }

    fn names(a: &ArchiveInfo) -> Vec<(&str, u64, bool)> {
        a.listing
            .iter()
            .map(|e| (e.name.as_str(), e.size, e.encrypted))
            .collect()
    }

    // Expected values: `7zz l -slt` of each file.

    #[test]
    fn packed_and_plain_headers() {
        for n in ["plain.7z", "plain-hdr.7z"] {
            let (a, f) = list(n);
            assert!(!a.truncated, "{n}: {a:?}");
            assert_eq!(a.entries, 3, "{n}: {a:?}");
            assert_eq!(
                names(&a),
                vec![
                    ("docs/notes.txt", 15, false),
                    ("holiday.jpg", 64, false),
                    ("run.bat", 20, false)
                ],
                "{n}"
            );
            assert_eq!(a.executables, vec!["run.bat"]);
            assert!(f.iter().any(|x| x.code == "archive_hides_executable"));
        }
    }

    #[test]
    fn encrypted_entries_and_headers() {
        let (a, f) = list("psw.7z");
        assert_eq!(
            names(&a),
            vec![("docs/notes.txt", 15, true), ("holiday.jpg", 64, true)]
        );
        assert_eq!(a.encrypted_entries, 2);
        assert!(f.iter().any(|x| x.code == "encrypted_archive"));
        let (a, f) = list("hpsw.7z");
        assert!(a.headers_encrypted && a.listing.is_empty(), "{a:?}");
        assert!(f.iter().any(|x| x.code == "encrypted_archive"));
    }

    #[test]
    fn hostile_input_is_bounded() {
        let limits = Limits::default();
        let mut f = Vec::new();
        for name in ["plain.7z", "plain-hdr.7z", "psw.7z", "hpsw.7z"] {
            let d = file(name);
            for n in 0..d.len() {
                let mut budget = 16 << 20;
                let a = analyze(&d[..n], &limits, &mut budget, &mut f);
                assert_eq!(a.is_some(), n >= SIG.len());
            }
            let mut rng = netsift_testkit::XorShift(7);
            for _ in 0..3000 {
                let mut m = d.clone();
                for _ in 0..1 + rng.below(4) {
                    // Mostly the header database at the end.
                    let i = if rng.below(4) == 0 {
                        rng.below(m.len())
                    } else {
                        m.len() - 1 - rng.below(m.len().min(120))
                    };
                    m[i] = rng.next() as u8;
                }
                let mut budget = 16 << 20;
                let _ = analyze(&m, &limits, &mut budget, &mut f);
            }
        }
        // A header that declares a huge decoded size is not inflated.
        let mut budget = 10;
        let (a, _) = {
            let mut f = Vec::new();
            let a = analyze(&file("plain.7z"), &limits, &mut budget, &mut f).expect("7z");
            (a, f)
        };
        assert!(a.truncated && a.listing.is_empty());
    }
}
