//! Content-Encoding decoding (RFC 9110 §8.4.1) with a decompression bomb
//! guard.

use std::io::Write;

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
}

impl Coding {
    /// RFC 9110 §8.4: codings are case-insensitive tokens; "x-gzip" is
    /// gzip (§8.4.1.3).
    pub(crate) fn parse(tok: &str) -> Option<Coding> {
        match tok.trim().to_ascii_lowercase().as_str() {
            "" | "identity" => Some(Coding::Identity),
            "gzip" | "x-gzip" => Some(Coding::Gzip),
            "deflate" => Some(Coding::Deflate),
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
        let (res, buf) = match &mut self.dec {
            Dec::Gzip(d) => (d.write_all(step), d.get_mut()),
            Dec::Zlib(d) => (d.write_all(step), d.get_mut()),
            Dec::Raw(d) => (d.write_all(step), d.get_mut()),
            _ => return,
        };
        let produced = std::mem::take(buf);
        self.emit(&produced, out);
        if res.is_err() && self.stopped.is_none() {
            self.stopped = Some(Stop::Error);
            self.dec = Dec::Stopped;
        }
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
        let (res, buf) = match &mut self.dec {
            Dec::Gzip(d) => (d.try_finish(), d.get_mut()),
            Dec::Zlib(d) => (d.try_finish(), d.get_mut()),
            Dec::Raw(d) => (d.try_finish(), d.get_mut()),
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
}
