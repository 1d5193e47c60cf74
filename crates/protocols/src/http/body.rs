//! Content-Encoding decoding (RFC 9110 §8.4.1: gzip, deflate; RFC 7932:
//! br) with a decompression bomb guard.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

use flate2::write::{DeflateDecoder, GzDecoder, ZlibDecoder};

/// Output cap per body (common instructions: 16 MiB).
pub(crate) const MAX_OUTPUT: u64 = 16 * 1024 * 1024;
/// Output/input ratio cap (common instructions: 100:1). Checked once the
/// output passes [`RATIO_FLOOR`]: small bodies cannot be bombs, and highly
/// repetitive small text legitimately compresses better than 100:1.
pub(crate) const MAX_RATIO: u64 = 100;
const RATIO_FLOOR: u64 = 1024 * 1024;
/// Input is fed in steps this small so one step's output stays bounded
/// (deflate's maximum expansion is about 1032:1).
const STEP: usize = 512;

enum Dec {
    Identity,
    /// RFC 9110 §8.4.1.3: gzip (and x-gzip).
    Gzip(Box<GzDecoder<Vec<u8>>>),
    /// RFC 9110 §8.4.1.2: "deflate" is the zlib format (RFC 1950) —
    /// but raw deflate (RFC 1951) is seen in the wild; decided on the
    /// first two bytes.
    DeflateUndecided(Vec<u8>),
    Zlib(Box<ZlibDecoder<Vec<u8>>>),
    Raw(Box<DeflateDecoder<Vec<u8>>>),
    /// RFC 7932 brotli ("br", registered for HTTP by RFC 7932 §14); the
    /// window size is read from the first byte before a decoder is made.
    BrotliUndecided,
    Brotli(
        Box<brotli_decompressor::DecompressorWriter<Capped>>,
        BrotliSlot,
    ),
    /// Stopped (error or cap): bytes are counted, not decoded.
    Stopped,
}

/// How decoding ended early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    Bomb,
    Error,
}

/// A streaming decoder for one body.
pub(crate) struct Decoder {
    dec: Dec,
    pub input: u64,
    pub output: u64,
    pub stopped: Option<Stop>,
}

/// A content coding we can decode; `None` for identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    Identity,
    Gzip,
    Deflate,
    Brotli,
}

impl Coding {
    /// RFC 9110 §8.4: codings are case-insensitive tokens; "x-gzip" is
    /// gzip (§8.4.1.3).
    pub(crate) fn parse(tok: &str) -> Option<Coding> {
        match tok.trim().to_ascii_lowercase().as_str() {
            "" | "identity" => Some(Coding::Identity),
            "gzip" | "x-gzip" => Some(Coding::Gzip),
            "deflate" => Some(Coding::Deflate),
            "br" => Some(Coding::Brotli),
            _ => None,
        }
    }
}

impl Decoder {
    pub(crate) fn new(c: Coding) -> Decoder {
        let dec = match c {
            Coding::Identity => Dec::Identity,
            Coding::Gzip => Dec::Gzip(Box::new(GzDecoder::new(Vec::new()))),
            Coding::Deflate => Dec::DeflateUndecided(Vec::new()),
            Coding::Brotli => Dec::BrotliUndecided,
        };
        Decoder {
            dec,
            input: 0,
            output: 0,
            stopped: None,
        }
    }

    /// Decode `data`, handing each decoded piece to `out`.
    pub(crate) fn feed(&mut self, data: &[u8], out: &mut dyn FnMut(&[u8])) {
        if let Dec::Identity = self.dec {
            self.input += data.len() as u64;
            self.output += data.len() as u64;
            out(data);
            return;
        }
        for step in data.chunks(STEP) {
            self.input += step.len() as u64;
            if let Dec::BrotliUndecided = self.dec {
                let slot = step.first().and_then(|&b| {
                    // A window above MAX_BROTLI_WBITS, or every decoder slot
                    // taken: the body is counted, not decoded.
                    brotli_wbits(b)
                        .filter(|&w| w <= MAX_BROTLI_WBITS)
                        .and_then(|_| BrotliSlot::take())
                });
                match slot {
                    Some(slot) => {
                        let sink = Capped {
                            buf: Vec::new(),
                            room: 0,
                        };
                        self.dec = Dec::Brotli(
                            Box::new(brotli_decompressor::DecompressorWriter::new(sink, 4096)),
                            slot,
                        );
                    }
                    None => {
                        self.stopped = Some(Stop::Error);
                        self.dec = Dec::Stopped;
                        return;
                    }
                }
            }
            if let Dec::DeflateUndecided(head) = &mut self.dec {
                head.extend_from_slice(step);
                if head.len() < 2 {
                    continue;
                }
                let h = std::mem::take(head);
                // RFC 1950 §2.2: CM = 8, CINFO <= 7, and "CMF*256 + FLG is
                // a multiple of 31".
                let zlib = h.first().zip(h.get(1)).is_some_and(|(&cmf, &flg)| {
                    cmf & 0x0f == 8
                        && cmf >> 4 <= 7
                        && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0
                });
                self.dec = if zlib {
                    Dec::Zlib(Box::new(ZlibDecoder::new(Vec::new())))
                } else {
                    Dec::Raw(Box::new(DeflateDecoder::new(Vec::new())))
                };
                self.write(&h, out);
            } else {
                self.write(step, out);
            }
            if self.stopped.is_some() {
                return;
            }
        }
    }

    fn write(&mut self, step: &[u8], out: &mut dyn FnMut(&[u8])) {
        let room = self.room();
        let (res, buf) = match &mut self.dec {
            Dec::Gzip(d) => (d.write_all(step), d.get_mut()),
            Dec::Zlib(d) => (d.write_all(step), d.get_mut()),
            Dec::Raw(d) => (d.write_all(step), d.get_mut()),
            Dec::Brotli(d, _) => {
                // Brotli has no useful bound on expansion per input byte
                // (100 bytes can make 64 MiB): its sink refuses output
                // beyond what the caps still allow.
                d.get_mut().room = room;
                (d.write_all(step), &mut d.get_mut().buf)
            }
            _ => return,
        };
        let produced = std::mem::take(buf);
        self.emit(&produced, out);
        if res.is_err() && self.stopped.is_none() {
            self.stopped = Some(Stop::Error);
            self.dec = Dec::Stopped;
        }
    }

    /// Output still allowed by the caps, plus one byte so that going past
    /// them is seen.
    fn room(&self) -> usize {
        let ratio = RATIO_FLOOR.max(self.input.saturating_mul(MAX_RATIO));
        (MAX_OUTPUT.min(ratio).saturating_sub(self.output) as usize).saturating_add(1)
    }

    fn emit(&mut self, produced: &[u8], out: &mut dyn FnMut(&[u8])) {
        if produced.is_empty() {
            return;
        }
        let room = MAX_OUTPUT.saturating_sub(self.output) as usize;
        let take = produced.get(..room.min(produced.len())).unwrap_or(&[]);
        self.output += take.len() as u64;
        out(take);
        let ratio_hit =
            self.output > RATIO_FLOOR && self.output > self.input.saturating_mul(MAX_RATIO);
        if take.len() < produced.len() || self.output >= MAX_OUTPUT || ratio_hit {
            self.stopped = Some(Stop::Bomb);
            self.dec = Dec::Stopped;
        }
    }

    /// The body ended: flush what the decoder holds.
    pub(crate) fn finish(&mut self, out: &mut dyn FnMut(&[u8])) {
        let room = self.room();
        let (res, buf) = match &mut self.dec {
            Dec::Gzip(d) => (d.try_finish(), d.get_mut()),
            Dec::Zlib(d) => (d.try_finish(), d.get_mut()),
            Dec::Raw(d) => (d.try_finish(), d.get_mut()),
            Dec::Brotli(d, _) => {
                d.get_mut().room = room;
                let r = d.close().map_err(|_| std::io::Error::other("brotli"));
                (r, &mut d.get_mut().buf)
            }
            Dec::DeflateUndecided(h) => {
                if !h.is_empty() {
                    self.stopped = Some(Stop::Error);
                }
                return;
            }
            _ => return,
        };
        let produced = std::mem::take(buf);
        self.emit(&produced, out);
        if res.is_err() && self.stopped.is_none() {
            self.stopped = Some(Stop::Error);
        }
        self.dec = Dec::Stopped;
    }
}

/// Largest brotli window decoded: 2^22 = 4 MiB, the brotli library's
/// default (RFC 7932 allows up to 2^24 = 16 MiB).
const MAX_BROTLI_WBITS: u8 = 22;

/// Brotli decoders alive at once in the process. Each holds a ring buffer
/// of up to its window (4 MiB), so this bounds them to 128 MiB; bodies
/// beyond it are counted, not decoded. A process-wide budget on purpose
/// (the only global in the parsers): memory is per process, whatever the
/// number of pipelines.
const MAX_BROTLI_DECODERS: usize = 32;

static BROTLI_LIVE: AtomicUsize = AtomicUsize::new(0);

/// One of the [`MAX_BROTLI_DECODERS`] slots, given back on drop.
struct BrotliSlot(());

impl BrotliSlot {
    fn take() -> Option<BrotliSlot> {
        BROTLI_LIVE
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_BROTLI_DECODERS).then_some(n + 1)
            })
            .ok()
            .map(|_| BrotliSlot(()))
    }
}

impl Drop for BrotliSlot {
    fn drop(&mut self) {
        BROTLI_LIVE.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The window size of a brotli stream from its first byte (RFC 7932 §9.1,
/// bits read from the least significant): `0` → 16; else three bits `n`,
/// `n > 0` → 17 + n; else three bits `m`: 0 → 17, 1 → invalid (the
/// large-window extension), else 8 + m.
fn brotli_wbits(b: u8) -> Option<u8> {
    if b & 1 == 0 {
        return Some(16);
    }
    let n = (b >> 1) & 7;
    if n != 0 {
        return Some(17 + n);
    }
    match (b >> 4) & 7 {
        0 => Some(17),
        1 => None,
        m => Some(8 + m),
    }
}

/// The brotli decoder's output: takes at most `room` bytes per step, then
/// refuses, which stops the decoder.
struct Capped {
    buf: Vec<u8>,
    room: usize,
}

impl Write for Capped {
    fn write(&mut self, d: &[u8]) -> std::io::Result<usize> {
        let left = self.room.saturating_sub(self.buf.len());
        if left == 0 && !d.is_empty() {
            return Err(std::io::Error::other("decoded output cap"));
        }
        let n = d.len().min(left);
        self.buf.extend_from_slice(&d[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    use flate2::Compression;

    fn decode(c: Coding, data: &[u8], step: usize) -> (Vec<u8>, Option<Stop>) {
        let mut d = Decoder::new(c);
        let mut v = Vec::new();
        for s in data.chunks(step) {
            d.feed(s, &mut |o| v.extend_from_slice(o));
        }
        d.finish(&mut |o| v.extend_from_slice(o));
        (v, d.stopped)
    }

    #[test]
    fn gzip_zlib_raw() {
        let text = b"hello hello hello world".repeat(50);
        let mut g = GzEncoder::new(Vec::new(), Compression::default());
        g.write_all(&text).unwrap();
        let g = g.finish().unwrap();
        let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(&text).unwrap();
        let z = z.finish().unwrap();
        let mut r = DeflateEncoder::new(Vec::new(), Compression::default());
        r.write_all(&text).unwrap();
        let r = r.finish().unwrap();
        for step in [1, 3, 1000] {
            assert_eq!(decode(Coding::Gzip, &g, step), (text.clone(), None));
            assert_eq!(decode(Coding::Deflate, &z, step), (text.clone(), None));
            assert_eq!(decode(Coding::Deflate, &r, step), (text.clone(), None));
        }
        let (v, st) = decode(Coding::Gzip, b"not gzip at all", 4);
        assert!(v.is_empty());
        assert_eq!(st, Some(Stop::Error));
    }

    #[test]
    fn bomb_is_capped() {
        // 1 GiB of zeros compresses to about 1 MiB; stop long before.
        let mut g = GzEncoder::new(Vec::new(), Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..64 {
            g.write_all(&zeros).unwrap();
        }
        let g = g.finish().unwrap();
        let mut d = Decoder::new(Coding::Gzip);
        let mut n = 0u64;
        d.feed(&g, &mut |o| n += o.len() as u64);
        assert_eq!(d.stopped, Some(Stop::Bomb));
        assert!(n <= MAX_OUTPUT);
        assert!(n <= RATIO_FLOOR + 2 * 1032 * STEP as u64, "{n} {}", g.len());
    }

    /// The text the brotli test vectors hold (made with Python's brotli
    /// module: `brotli.compress(text, quality=11, lgwin=22)` and
    /// `quality=5, lgwin=24`).
    fn brotli_text() -> Vec<u8> {
        (0..2000)
            .flat_map(|i| {
                format!(
                    "netsift brotli test line {i}: the quick brown fox jumps over the lazy dog\n"
                )
                .into_bytes()
            })
            .collect()
    }

    #[test]
    fn brotli_decodes_in_any_steps() {
        let br = include_bytes!("testdata/body_br_lgwin22.br");
        assert_eq!(Coding::parse("BR"), Some(Coding::Brotli));
        for step in [1, 7, 512, 100_000] {
            assert_eq!(
                decode(Coding::Brotli, br, step),
                (brotli_text(), None),
                "{step}"
            );
        }
        // Truncated: what was decoded is kept, the end is an error.
        let (v, st) = decode(Coding::Brotli, &br[..br.len() / 2], 64);
        assert!(!v.is_empty() && brotli_text().starts_with(&v));
        assert_eq!(st, Some(Stop::Error));
        let (v, st) = decode(Coding::Brotli, b"\xff\xff not brotli", 4);
        assert!(v.is_empty());
        assert_eq!(st, Some(Stop::Error));
    }

    #[test]
    fn brotli_window_and_bomb_are_bounded() {
        assert_eq!(brotli_wbits(0x5b), Some(22));
        assert_eq!(brotli_wbits(0x5f), Some(24));
        assert_eq!(brotli_wbits(0x00), Some(16));
        assert_eq!(brotli_wbits(0x11), None);
        // A 16 MiB window is not decoded (counted only).
        let (v, st) = decode(
            Coding::Brotli,
            include_bytes!("testdata/body_br_lgwin24.br"),
            512,
        );
        assert!(v.is_empty());
        assert_eq!(st, Some(Stop::Error));
        // 64 MiB of zeros in 102 bytes: stopped at the ratio floor.
        let bomb = include_bytes!("testdata/body_br_bomb.br");
        let mut d = Decoder::new(Coding::Brotli);
        let mut n = 0u64;
        d.feed(bomb, &mut |o| n += o.len() as u64);
        d.finish(&mut |o| n += o.len() as u64);
        assert_eq!(d.stopped, Some(Stop::Bomb));
        assert!(n <= RATIO_FLOOR + 1, "{n}");
    }

    #[test]
    fn brotli_survives_corrupt_streams() {
        // Bit flips, truncations and random tails of a real stream, and
        // random bytes behind each valid window header: no panic, no hang,
        // output within the caps.
        let br = include_bytes!("testdata/body_br_lgwin22.br");
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..3000 {
            let mut v = br.to_vec();
            match round % 3 {
                0 => {
                    for _ in 0..1 + next() % 8 {
                        let i = (next() as usize) % v.len();
                        v[i] ^= 1 << (next() % 8);
                    }
                }
                1 => v.truncate((next() as usize) % v.len()),
                _ => {
                    let keep = 1 + (next() as usize) % 64;
                    v.truncate(keep);
                    v.extend((0..next() % 2000).map(|_| next() as u8));
                }
            }
            let (out, _) = decode(Coding::Brotli, &v, 1 + (next() as usize) % 700);
            assert!(out.len() as u64 <= MAX_OUTPUT);
        }
    }
}
