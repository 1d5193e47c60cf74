//! Compressed captures, read as they are: gzip, zstd, xz and lz4 are
//! recognised by their magic bytes (never by the file name) and decoded as
//! a stream in front of the capture reader.
//!
//! Bounds, so that a compressed bomb costs neither memory nor disk nor
//! hours: each decoder's window is capped (zstd 128 MiB, the ruzstd
//! default; xz 256 MiB of dictionary; lz4 blocks are at most 4 MiB and
//! gzip's window 32 KiB), nothing is written to disk, and the output may
//! not outgrow the input by more than [`MAX_RATIO`] once past
//! [`RATIO_GRACE`] bytes.

use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A compression format netsift reads captures through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    Gzip,
    Zstd,
    Xz,
    Lz4,
}

impl Compression {
    /// The format's usual name.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Xz => "xz",
            Compression::Lz4 => "lz4",
        }
    }

    /// The format whose magic bytes start `head`, if any.
    pub fn sniff(head: &[u8]) -> Option<Compression> {
        match head {
            // RFC 1952 §2.3.1: "ID1 (IDentification 1) ID2 (IDentification
            // 2) These have the fixed values ID1 = 31 (0x1f, \037), ID2 =
            // 139 (0x8b, \213)".
            [0x1f, 0x8b, ..] => Some(Compression::Gzip),
            // RFC 8878 §3.1.1: "Magic_Number: 4 bytes, little-endian
            // format. Value: 0xFD2FB528."
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Some(Compression::Zstd),
            // The .xz file format 1.2.1, §2.1.1.1: Header Magic Bytes
            // "0xFD, '7', 'z', 'X', 'Z', 0x00".
            [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => Some(Compression::Xz),
            // LZ4 Frame Format 1.6.4: "Magic Number: 4 Bytes, Little
            // endian format. Value: 0x184D2204".
            [0x04, 0x22, 0x4d, 0x18, ..] => Some(Compression::Lz4),
            _ => None,
        }
    }
}

/// Most bytes of output per byte of compressed input, checked once the
/// output passed [`RATIO_GRACE`]. Captures compress 2-20 times, very
/// repetitive ones perhaps 100 times; a bomb (zeros) goes to 1,000
/// (gzip) and far beyond (zstd, xz, lz4).
pub const MAX_RATIO: u64 = 500;

/// Output below this is never refused for its ratio.
pub const RATIO_GRACE: u64 = 256 * 1024 * 1024;

/// xz dictionary memory limit, KiB (xz -9 needs 65 MiB to decode).
const XZ_MEM_LIMIT_KB: u32 = 256 * 1024;

/// Bytes needed to recognise every format above.
const SNIFF_LEN: usize = 6;

/// Look at the start of `rd`: a compressed stream is wrapped in its
/// decoder, anything else is handed back unchanged (the bytes read to look
/// are put back in front).
pub(crate) fn open(
    mut rd: Box<dyn Read + Send>,
) -> io::Result<(Box<dyn Read + Send>, Option<Compression>)> {
    let mut head = [0u8; SNIFF_LEN];
    let mut n = 0;
    while n < SNIFF_LEN {
        match rd.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let head = head[..n].to_vec();
    let Some(kind) = Compression::sniff(&head) else {
        return Ok((Box::new(io::Cursor::new(head).chain(rd)), None));
    };
    let read_in = Arc::new(AtomicU64::new(0));
    let counted = Counted {
        inner: io::Cursor::new(head).chain(rd),
        n: Arc::clone(&read_in),
    };
    let decoder: Box<dyn Read + Send> = match kind {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(counted)),
        Compression::Zstd => Box::new(Zstd::new(counted)),
        Compression::Xz => Box::new(lzma_rust2::XzReader::new_mem_limit(
            counted,
            true,
            XZ_MEM_LIMIT_KB,
        )),
        Compression::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(counted)),
    };
    Ok((
        Box::new(Guarded {
            inner: decoder,
            kind,
            read_in,
            out: 0,
        }),
        Some(kind),
    ))
}

/// Counts the compressed bytes read.
struct Counted<R> {
    inner: R,
    n: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n.fetch_add(k as u64, Ordering::Relaxed);
        Ok(k)
    }
}

/// The decoder's output: errors name the format, and the ratio bound
/// holds.
struct Guarded {
    inner: Box<dyn Read + Send>,
    kind: Compression,
    read_in: Arc<AtomicU64>,
    out: u64,
}

impl Read for Guarded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = self.inner.read(buf).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} data is damaged: {e}", self.kind.name()),
            )
        })?;
        self.out += k as u64;
        let input = self.read_in.load(Ordering::Relaxed).max(1);
        if self.out > RATIO_GRACE && self.out / input > MAX_RATIO {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} data expands more than {MAX_RATIO} times ({} bytes from {input}): \
                     a decompression bomb, not a capture",
                    self.kind.name(),
                    self.out
                ),
            ));
        }
        Ok(k)
    }
}

/// zstd, frame after frame (RFC 8878 §3.1: "Zstandard compressed data is
/// made of one or more frames"), skipping skippable frames (§3.1.2).
struct Zstd<R: Read> {
    src: R,
    dec: ruzstd::decoding::FrameDecoder,
    in_frame: bool,
    done: bool,
}

impl<R: Read> Zstd<R> {
    fn new(src: R) -> Self {
        Zstd {
            src,
            dec: ruzstd::decoding::FrameDecoder::new(),
            in_frame: false,
            done: false,
        }
    }
}

fn zstd_err(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

impl<R: Read> Read for Zstd<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
        use ruzstd::decoding::BlockDecodingStrategy;
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.in_frame {
                if self.dec.can_collect() > 0 {
                    return self.dec.read(buf);
                }
                if self.dec.is_finished() {
                    self.in_frame = false;
                    continue;
                }
                self.dec
                    .decode_blocks(&mut self.src, BlockDecodingStrategy::UptoBlocks(1))
                    .map_err(zstd_err)?;
                continue;
            }
            if self.done {
                return Ok(0);
            }
            // The end of input between frames is the normal end.
            let mut first = [0u8; 1];
            let n = loop {
                match self.src.read(&mut first) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    other => break other?,
                }
            };
            if n == 0 {
                self.done = true;
                return Ok(0);
            }
            let mut chained = ChainFirst {
                first: Some(first[0]),
                inner: &mut self.src,
            };
            match self.dec.init(&mut chained) {
                Ok(()) => self.in_frame = true,
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                    length,
                    ..
                })) => {
                    let want = u64::from(length);
                    let got = io::copy(&mut (&mut self.src).take(want), &mut io::sink())?;
                    if got < want {
                        return Err(zstd_err("input ends inside a skippable frame"));
                    }
                }
                Err(e) => return Err(zstd_err(e)),
            }
        }
    }
}

/// A reader with one byte put back in front.
struct ChainFirst<R> {
    first: Option<u8>,
    inner: R,
}

impl<R: Read> Read for ChainFirst<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match (self.first.take(), buf.first_mut()) {
            (Some(b), Some(slot)) => {
                *slot = b;
                Ok(1)
            }
            (b, _) => {
                self.first = b;
                self.inner.read(buf)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::CaptureReader;

    fn td(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/compressed")
            .join(name)
    }

    /// A frame: time, link type, bytes.
    type Owned = (u64, u32, Vec<u8>);

    /// Every frame of a capture, and the compression it was read through.
    fn frames(path: &Path) -> (Vec<Owned>, Option<Compression>) {
        let mut r = CaptureReader::open(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        let mut v = Vec::new();
        while let Some(f) = r.next_frame().unwrap_or_else(|e| panic!("{path:?}: {e}")) {
            v.push((f.ts_ns, f.linktype, f.data.to_vec()));
        }
        assert!(r.truncation().is_none(), "{path:?}");
        (v, r.compression())
    }

    /// Captures compressed by the real tools read frame for frame as their
    /// originals (see testdata/compressed/make.sh).
    #[test]
    fn compressed_captures_read_as_their_originals() {
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/loopback.pcap");
        let (pcap, none) = frames(&sample);
        assert_eq!(none, None);
        assert!(pcap.len() > 20);
        let (pcapng, _) = frames(&td("loopback.pcapng"));
        assert_eq!(pcapng, pcap, "the pcapng conversion holds the same frames");
        for (file, kind) in [
            ("loopback.pcap.gz", Compression::Gzip),
            ("loopback-2members.pcap.gz", Compression::Gzip),
            ("loopback.pcap.zst", Compression::Zstd),
            ("loopback-3frames.pcap.zst", Compression::Zstd),
            ("loopback.pcapng.xz", Compression::Xz),
            ("loopback.pcapng.lz4", Compression::Lz4),
        ] {
            let (got, c) = frames(&td(file));
            assert_eq!(c, Some(kind), "{file}");
            assert_eq!(got, pcap, "{file}");
        }
    }

    /// A compressed capture cut short or bit-flipped gives an error that
    /// names the compression or what the decoded bytes failed to be (or,
    /// where the damage is harmless, reads on); never a panic.
    #[test]
    fn damaged_compressed_data_is_a_clear_error() {
        for file in [
            "loopback.pcap.gz",
            "loopback.pcap.zst",
            "loopback.pcapng.xz",
            "loopback.pcapng.lz4",
        ] {
            let whole = std::fs::read(td(file)).expect("testdata");
            for cut in [7, 100, whole.len() / 2, whole.len() - 3] {
                let mut bad = whole[..cut].to_vec();
                for flip in [false, true] {
                    if flip {
                        bad = whole.clone();
                        bad[cut] ^= 0x55;
                    }
                    let res = CaptureReader::from_reader(Box::new(io::Cursor::new(bad.clone())))
                        .and_then(|mut r| {
                            while r.next_frame()?.is_some() {}
                            Ok(())
                        });
                    if let Err(e) = &res {
                        let msg = e.to_string();
                        let named = msg.contains(Compression::sniff(&whole).unwrap().name())
                            || msg.contains("pcap")
                            || msg.contains("block")
                            || msg.contains("record");
                        assert!(named, "{file} cut at {cut}: {msg}");
                    }
                }
            }
        }
    }

    /// Zeros compressed to a small stream (a bomb) stop with an error once
    /// the output passes the grace size at more than MAX_RATIO, instead
    /// of feeding the reader for hours; memory stays at the decoder's
    /// window.
    #[test]
    fn a_decompression_bomb_is_refused() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        // A pcap header (link type 1), then zero-filled records.
        let mut hdr = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
        hdr.extend_from_slice(&[0; 8]);
        hdr.extend_from_slice(&65535u32.to_le_bytes());
        hdr.extend_from_slice(&1u32.to_le_bytes());
        enc.write_all(&hdr).expect("gzip");
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..(RATIO_GRACE >> 20) + 64 {
            enc.write_all(&zeros).expect("gzip");
        }
        let bomb = enc.finish().expect("gzip");
        assert!((bomb.len() as u64) < RATIO_GRACE / MAX_RATIO);
        let mut r = CaptureReader::from_reader(Box::new(io::Cursor::new(bomb))).expect("header");
        let err = loop {
            match r.next_frame() {
                Ok(Some(_)) => {}
                Ok(None) => panic!("the bomb was read to its end"),
                Err(e) => break e.to_string(),
            }
        };
        assert!(err.contains("decompression bomb"), "{err}");
    }

    #[test]
    fn sniffing() {
        assert_eq!(
            Compression::sniff(&[0x1f, 0x8b, 8]),
            Some(Compression::Gzip)
        );
        assert_eq!(Compression::sniff(&[0xfd, b'7', b'z', b'X', b'Z']), None);
        assert_eq!(Compression::sniff(&[0xd4, 0xc3, 0xb2, 0xa1]), None);
        assert_eq!(Compression::sniff(&[]), None);
    }
}
