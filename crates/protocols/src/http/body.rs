//! Content-Encoding decoding (RFC 9110 §8.4.1: gzip, deflate; RFC 7932:
//! br) with a decompression bomb guard, as lenient as clients are.
//!
//! A body may carry several codings (`Content-Encoding: gzip, deflate`,
//! or the header repeated): RFC 9110 §8.4 "If one or more encodings have
//! been applied to a representation, the sender that applied the encodings
//! MUST generate a Content-Encoding header field that lists the content
//! codings in the order in which they were applied", so they are undone
//! last first, at most [`MAX_LAYERS`] of them (Suricata's
//! `response-body-decompress-layer-limit`). Servers mislabel bodies
//! (http-evader's test cases do it on purpose), so each layer looks at its
//! first bytes: a gzip magic is gzip, a valid zlib header is zlib, else
//! raw deflate is tried; a layer whose coding fails before it proved
//! itself passes its bytes through unchanged, as libhtp's decompressor
//! does.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use brotli_decompressor::writer::DecompressorWriterCustomAlloc;
use brotli_decompressor::{Allocator, SliceWrapper, SliceWrapperMut};
use flate2::{Decompress, FlushDecompress, Status};

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
/// Codings undone per body, as Suricata's default
/// `response-body-decompress-layer-limit` of the evader tests (3).
pub(crate) const MAX_LAYERS: usize = 3;
/// Input a layer keeps (and output it holds back) until its coding has
/// proved itself: decoded to its end, or this much without an error.
const PROBE_MAX: usize = 64 * 1024;
/// Output of one inflate call (the scratch buffer's size).
const INFLATE_CHUNK: usize = 32 * 1024;
/// Heap bytes of an inflate stream's state (miniz_oxide's `InflateState`:
/// its 32 KiB window and three Huffman tables), which flate2 does not
/// report.
const INFLATE_STATE: usize = 44 * 1024;
/// Capacity of the brotli output buffer kept between calls; a bigger one
/// (a step that decoded much) is given back.
const BROTLI_OUT_KEEP: usize = 16 * 1024;

thread_local! {
    /// Where inflate writes before the bytes are copied out: one per
    /// thread, not one per body (a body being decoded holds none).
    static INFLATE_SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Bound on a gzip member header (its FEXTRA, FNAME, FCOMMENT fields).
const MAX_GZIP_HEADER: usize = 4096;

/// A content coding we can decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    Identity,
    Gzip,
    Deflate,
    Brotli,
}

impl Coding {
    /// RFC 9110 §8.4: codings are case-insensitive tokens; "x-gzip" is
    /// gzip (§8.4.1.3); "x-deflate" is deflate's old name too.
    pub(crate) fn parse(tok: &str) -> Option<Coding> {
        match tok.trim().to_ascii_lowercase().as_str() {
            "" | "identity" => Some(Coding::Identity),
            "gzip" | "x-gzip" => Some(Coding::Gzip),
            "deflate" | "x-deflate" => Some(Coding::Deflate),
            "br" => Some(Coding::Brotli),
            _ => None,
        }
    }
}

/// How decoding ended early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    Bomb,
    Error,
}

enum Kind {
    /// Waiting for the first two bytes to tell the format.
    Undecided,
    /// RFC 1952 §2.3 member header being read (in `Layer::head`).
    GzipHead,
    /// zlib (RFC 1950) or raw deflate (RFC 1951, also a gzip member's
    /// body).
    Inflate(Box<Decompress>),
    /// RFC 7932 brotli; the window size is read from the first byte
    /// before a decoder is made.
    BrotliUndecided,
    Brotli(Box<BrotliWriter>, BrotliSlot, BrotliAlloc),
    /// Not this coding after all: bytes pass unchanged.
    Pass,
    /// The stream ended; what follows (a gzip trailer) is ignored.
    Done,
}

/// One coding to undo.
struct Layer {
    declared: Coding,
    kind: Kind,
    head: Vec<u8>,
    /// Input kept and output held back while the coding is unproven.
    probe: Option<(Vec<u8>, Vec<u8>)>,
    /// The coding failed at once and the bytes passed through.
    passed: bool,
}

impl Layer {
    /// Heap bytes the layer holds between calls: its header and probe
    /// buffers, and its decoder's state.
    fn buffered(&self) -> usize {
        let probe = self
            .probe
            .as_ref()
            .map_or(0, |(i, o)| i.capacity() + o.capacity());
        let state = match &self.kind {
            Kind::Inflate(_) => std::mem::size_of::<Decompress>() + INFLATE_STATE,
            Kind::Brotli(d, _, a) => {
                std::mem::size_of::<BrotliWriter>() + a.held() + d.get_ref().buf.capacity()
            }
            _ => 0,
        };
        self.head.capacity() + probe + state
    }

    fn new(declared: Coding) -> Layer {
        Layer {
            declared,
            kind: Kind::Undecided,
            head: Vec::new(),
            probe: Some((Vec::new(), Vec::new())),
            passed: false,
        }
    }

    /// Decode `data`, appending to `out` (about `room` bytes at most).
    fn feed(&mut self, data: &[u8], room: usize, out: &mut Vec<u8>) -> Result<(), Stop> {
        if self.probe.is_none() {
            // Proven: decode straight into `out` (past the caps, what
            // this call made is taken back).
            let before = out.len();
            let r = self.decode(data, room, out);
            if out.len() - before >= room {
                out.truncate(before);
                self.kind = Kind::Done;
                return Err(Stop::Bomb);
            }
            return r.map(|_| ());
        }
        if let Some((inp, _)) = &mut self.probe {
            inp.extend_from_slice(data);
        }
        let mut produced = Vec::new();
        let r = self.decode(data, room, &mut produced);
        let held = self.probe.as_ref().map_or(0, |p| p.1.len());
        if produced.len().saturating_add(held) >= room {
            // Past the caps: a bomb whatever the coding turns out to be.
            self.probe = None;
            self.kind = Kind::Done;
            return Err(Stop::Bomb);
        }
        match (self.probe.take(), r) {
            (Some((inp, mut held)), Ok(ended)) => {
                held.extend_from_slice(&produced);
                if ended || inp.len() > PROBE_MAX || held.len() > PROBE_MAX {
                    out.extend_from_slice(&held);
                } else {
                    self.probe = Some((inp, held));
                }
                Ok(())
            }
            (Some((inp, _)), Err(_)) => {
                self.pass(&inp, out);
                Ok(())
            }
            (None, r) => {
                out.extend_from_slice(&produced);
                r.map(|_| ())
            }
        }
    }

    /// The coding did not hold: the layer's input is the content.
    fn pass(&mut self, inp: &[u8], out: &mut Vec<u8>) {
        self.kind = Kind::Pass;
        self.passed = true;
        out.extend_from_slice(inp);
    }

    /// The body ended: flush.
    fn finish(&mut self, room: usize, out: &mut Vec<u8>) -> Result<(), Stop> {
        let mut produced = Vec::new();
        let r = match &mut self.kind {
            Kind::Undecided | Kind::GzipHead => Err(Stop::Error),
            Kind::Inflate(_) => Err(Stop::Error),
            Kind::Brotli(d, _, _) => {
                d.get_mut().room = room;
                let r = d.close().map_err(|_| Stop::Error);
                produced = std::mem::take(&mut d.get_mut().buf);
                r
            }
            Kind::BrotliUndecided | Kind::Pass | Kind::Done => Ok(()),
        };
        if !matches!(self.kind, Kind::Pass) {
            self.kind = Kind::Done;
        }
        match self.probe.take() {
            Some((inp, mut held)) => {
                held.extend_from_slice(&produced);
                if held.is_empty() {
                    // Nothing decoded from the whole body: not this coding.
                    if !inp.is_empty() && r.is_err() {
                        self.pass(&inp, out);
                    }
                    Ok(())
                } else {
                    out.extend_from_slice(&held);
                    r
                }
            }
            None => {
                out.extend_from_slice(&produced);
                r
            }
        }
    }

    /// Returns whether the coded stream ended.
    fn decode(&mut self, data: &[u8], room: usize, out: &mut Vec<u8>) -> Result<bool, Stop> {
        match &mut self.kind {
            Kind::Undecided => {
                self.head.extend_from_slice(data);
                let (Some(&a), Some(&b)) = (self.head.first(), self.head.get(1)) else {
                    return Ok(false);
                };
                // RFC 1952 §2.3.1: ID1 = 31, ID2 = 139. RFC 1950 §2.2: CM =
                // 8, CINFO <= 7, and "CMF*256 + FLG is a multiple of 31".
                let zlib =
                    a & 0x0f == 8 && a >> 4 <= 7 && (u16::from(a) << 8 | u16::from(b)) % 31 == 0;
                self.kind = if (a, b) == (0x1f, 0x8b) {
                    Kind::GzipHead
                } else if self.declared == Coding::Brotli {
                    Kind::BrotliUndecided
                } else if zlib {
                    Kind::Inflate(Box::new(Decompress::new(true)))
                } else {
                    Kind::Inflate(Box::new(Decompress::new(false)))
                };
                let h = std::mem::take(&mut self.head);
                self.decode(&h, room, out)
            }
            Kind::GzipHead => {
                self.head.extend_from_slice(data);
                match gzip_header(&self.head) {
                    Ok(Some(n)) => {
                        let rest = self.head.split_off(n.min(self.head.len()));
                        self.head = Vec::new();
                        self.kind = Kind::Inflate(Box::new(Decompress::new(false)));
                        self.decode(&rest, room, out)
                    }
                    Ok(None) if self.head.len() <= MAX_GZIP_HEADER => Ok(false),
                    _ => Err(Stop::Error),
                }
            }
            Kind::Inflate(d) => {
                // Inflate into the thread's scratch buffer, then copy what
                // was made: `decompress_vec` zeroes its spare capacity on
                // every call, 32 KiB per 512-byte step.
                let mut buf = INFLATE_SCRATCH.with_borrow_mut(std::mem::take);
                buf.resize(INFLATE_CHUNK, 0);
                let mut input = data;
                let r = loop {
                    if out.len() > room {
                        break Ok(false);
                    }
                    let (bi, bo) = (d.total_in(), d.total_out());
                    let st = match d.decompress(input, &mut buf, FlushDecompress::None) {
                        Ok(st) => st,
                        Err(_) => break Err(Stop::Error),
                    };
                    let used = (d.total_in() - bi) as usize;
                    let made = (d.total_out() - bo) as usize;
                    out.extend_from_slice(buf.get(..made).unwrap_or(&buf));
                    input = input.get(used..).unwrap_or(&[]);
                    if st == Status::StreamEnd {
                        break Ok(true);
                    }
                    let full = made == buf.len();
                    if (input.is_empty() && !full) || (used == 0 && made == 0) {
                        break Ok(false);
                    }
                };
                INFLATE_SCRATCH.with_borrow_mut(|s| *s = buf);
                if r == Ok(true) {
                    self.kind = Kind::Done;
                }
                r
            }
            Kind::BrotliUndecided => {
                let Some(&first) = data.first() else {
                    return Ok(false);
                };
                // A window above MAX_BROTLI_WBITS, or every decoder slot
                // taken: the body is not decoded.
                let Some(slot) = brotli_wbits(first)
                    .filter(|&w| w <= MAX_BROTLI_WBITS)
                    .and_then(|_| BrotliSlot::take())
                else {
                    // Refused, not disproved: no pass-through of the
                    // coded bytes.
                    self.probe = None;
                    self.kind = Kind::Done;
                    return Err(Stop::Error);
                };
                let sink = Capped {
                    buf: Vec::new(),
                    room: 0,
                };
                let mut alloc = BrotliAlloc::default();
                // The decoder's output buffer, counted with its state.
                let out_buf = <BrotliAlloc as Allocator<u8>>::alloc_cell(&mut alloc, 4096);
                self.kind = Kind::Brotli(
                    Box::new(BrotliWriter::new(
                        sink,
                        out_buf,
                        alloc.clone(),
                        alloc.clone(),
                        alloc.clone(),
                    )),
                    slot,
                    alloc,
                );
                self.decode(data, room, out)
            }
            Kind::Brotli(d, _, _) => {
                // Brotli has no useful bound on expansion per input byte
                // (100 bytes can make 64 MiB): its sink refuses output
                // beyond what the caps still allow.
                let mut r = Ok(false);
                for step in data.chunks(STEP) {
                    d.get_mut().room = room.saturating_sub(out.len()).saturating_add(1);
                    let w = d.write_all(step);
                    out.append(&mut d.get_mut().buf);
                    if w.is_err() {
                        r = Err(Stop::Error);
                        break;
                    }
                }
                let buf = &mut d.get_mut().buf;
                if buf.capacity() > BROTLI_OUT_KEEP {
                    *buf = Vec::new();
                }
                r
            }
            Kind::Pass => {
                out.extend_from_slice(data);
                Ok(false)
            }
            Kind::Done => Ok(true),
        }
    }
}

/// Length of a complete RFC 1952 §2.3 member header at the start of `h`
/// (`Ok(None)`: not complete yet). The reserved FLG bits and the header
/// CRC are not checked, as browsers do not.
fn gzip_header(h: &[u8]) -> Result<Option<usize>, ()> {
    // ID1 ID2 CM FLG MTIME(4) XFL OS; CM 8 is deflate.
    let (Some(&cm), Some(&flg)) = (h.get(2), h.get(3)) else {
        return Ok(None);
    };
    if cm != 8 {
        return Err(());
    }
    let mut i = 10usize;
    if h.len() < i {
        return Ok(None);
    }
    // FEXTRA: XLEN (2 bytes, little-endian) then XLEN bytes.
    if flg & 0x04 != 0 {
        let (Some(&a), Some(&b)) = (h.get(i), h.get(i + 1)) else {
            return Ok(None);
        };
        i += 2 + (usize::from(a) | usize::from(b) << 8);
    }
    // FNAME, FCOMMENT: zero-terminated.
    for bit in [0x08u8, 0x10] {
        if flg & bit != 0 {
            match h.get(i..).and_then(|r| r.iter().position(|&c| c == 0)) {
                Some(z) => i += z + 1,
                None => return Ok(None),
            }
        }
    }
    // FHCRC: two bytes.
    if flg & 0x02 != 0 {
        i += 2;
    }
    Ok((h.len() >= i).then_some(i))
}

/// A streaming decoder for one body: its codings, undone in turn.
pub(crate) struct Decoder {
    layers: Vec<Layer>,
    pub input: u64,
    pub output: u64,
    pub stopped: Option<Stop>,
}

impl Decoder {
    /// `codings` in the order the sender applied them (the header's
    /// order); identity entries are no layers.
    pub(crate) fn new(codings: &[Coding]) -> Decoder {
        let layers = codings
            .iter()
            .rev()
            .filter(|c| **c != Coding::Identity)
            .take(MAX_LAYERS)
            .map(|&c| Layer::new(c))
            .collect();
        Decoder {
            layers,
            input: 0,
            output: 0,
            stopped: None,
        }
    }

    /// Heap bytes held between calls: the layers' buffers and decoder
    /// states (inflate's window, brotli's ring buffer and tables).
    pub(crate) fn buffered(&self) -> usize {
        self.layers.capacity() * std::mem::size_of::<Layer>()
            + self.layers.iter().map(Layer::buffered).sum::<usize>()
    }

    /// Some layer's coding did not hold and its bytes passed unchanged.
    pub(crate) fn passed_through(&self) -> bool {
        self.layers.iter().any(|l| l.passed)
    }

    /// Decode `data`, handing each decoded piece to `out`.
    pub(crate) fn feed(&mut self, data: &[u8], out: &mut dyn FnMut(&[u8])) {
        if self.stopped.is_some() {
            self.input += data.len() as u64;
            return;
        }
        if self.layers.is_empty() {
            self.input += data.len() as u64;
            self.output += data.len() as u64;
            out(data);
            return;
        }
        // Each layer reads the previous one's output (the first reads the
        // step itself) and writes into the other buffer; both are reused.
        let mut cur: Vec<u8> = Vec::new();
        let mut next: Vec<u8> = Vec::new();
        for step in data.chunks(STEP) {
            self.input += step.len() as u64;
            for i in 0..self.layers.len() {
                let room = self.room();
                next.clear();
                let input: &[u8] = if i == 0 { step } else { &cur };
                let r = match self.layers.get_mut(i) {
                    Some(l) => l.feed(input, room, &mut next),
                    None => Ok(()),
                };
                std::mem::swap(&mut cur, &mut next);
                if cur.len() > room {
                    self.stopped = Some(Stop::Bomb);
                }
                if let Err(e) = r {
                    self.stopped.get_or_insert(e);
                }
                if self.stopped.is_some() || cur.is_empty() {
                    break;
                }
            }
            if self.stopped.is_none() {
                self.emit(&cur, out);
            }
            if self.stopped.is_some() {
                return;
            }
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
        }
    }

    /// The body ended: flush what the layers hold, in turn.
    pub(crate) fn finish(&mut self, out: &mut dyn FnMut(&[u8])) {
        if self.stopped.is_some() {
            self.layers.clear();
            return;
        }
        let mut carry: Vec<u8> = Vec::new();
        let mut err = None;
        for i in 0..self.layers.len() {
            let room = self.room();
            let mut o = Vec::new();
            if let Some(l) = self.layers.get_mut(i) {
                if !carry.is_empty() {
                    if let Err(e) = l.feed(&carry, room, &mut o) {
                        err.get_or_insert(e);
                    }
                }
                if let Err(e) = l.finish(room, &mut o) {
                    err.get_or_insert(e);
                }
            }
            if o.len() > room {
                self.stopped = Some(Stop::Bomb);
                return;
            }
            carry = o;
        }
        self.emit(&carry, out);
        if let Some(e) = err {
            self.stopped.get_or_insert(e);
        }
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

/// The brotli decoder, its output buffer and state allocated through a
/// [`BrotliAlloc`].
type BrotliWriter =
    DecompressorWriterCustomAlloc<Capped, Counted<u8>, BrotliAlloc, BrotliAlloc, BrotliAlloc>;

/// The allocator of one brotli decoder: it counts the bytes the decoder
/// holds (its ring buffer of up to the window's size, its Huffman tables
/// and context maps, which a hostile stream can make large).
#[derive(Clone, Default)]
struct BrotliAlloc(Arc<AtomicUsize>);

impl BrotliAlloc {
    fn held(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// Memory given out by a [`BrotliAlloc`]; its bytes are uncounted when it
/// is dropped (whether the decoder frees it or lets it go).
struct Counted<T> {
    mem: Box<[T]>,
    held: Option<Arc<AtomicUsize>>,
}

impl<T> Default for Counted<T> {
    fn default() -> Self {
        Counted {
            mem: Box::default(),
            held: None,
        }
    }
}

impl<T> SliceWrapper<T> for Counted<T> {
    fn slice(&self) -> &[T] {
        &self.mem
    }
}

impl<T> SliceWrapperMut<T> for Counted<T> {
    fn slice_mut(&mut self) -> &mut [T] {
        &mut self.mem
    }
}

impl<T> Drop for Counted<T> {
    fn drop(&mut self) {
        if let Some(h) = &self.held {
            h.fetch_sub(std::mem::size_of_val(&*self.mem), Ordering::Relaxed);
        }
    }
}

impl<T: Clone + Default> Allocator<T> for BrotliAlloc {
    type AllocatedMemory = Counted<T>;

    fn alloc_cell(&mut self, len: usize) -> Counted<T> {
        let mem = vec![T::default(); len].into_boxed_slice();
        self.0
            .fetch_add(std::mem::size_of_val(&*mem), Ordering::Relaxed);
        Counted {
            mem,
            held: Some(Arc::clone(&self.0)),
        }
    }

    fn free_cell(&mut self, _data: Counted<T>) {}
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
        let mut d = Decoder::new(&[c]);
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
        // Not the declared coding: the bytes pass through (libhtp's
        // decompressor does the same), the decoder says so.
        let mut d = Decoder::new(&[Coding::Gzip]);
        let mut v = Vec::new();
        for s in b"not gzip at all".chunks(4) {
            d.feed(s, &mut |o| v.extend_from_slice(o));
        }
        d.finish(&mut |o| v.extend_from_slice(o));
        assert_eq!((v.as_slice(), d.stopped), (&b"not gzip at all"[..], None));
        assert!(d.passed_through());
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
        let mut d = Decoder::new(&[Coding::Gzip]);
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

    /// `buffered()` holds the decoder's state while a body is decoded
    /// (inflate's window; brotli's ring buffer and tables, counted by its
    /// allocator), and lets it go at the end.
    #[test]
    fn buffered_counts_decoder_state() {
        let mut g = GzEncoder::new(Vec::new(), Compression::default());
        g.write_all(&b"hello hello hello world".repeat(50)).unwrap();
        let g = g.finish().unwrap();
        let br = include_bytes!("testdata/body_br_lgwin22.br");
        for (c, data, least) in [
            (Coding::Gzip, &g[..], 32 * 1024),
            (Coding::Brotli, &br[..], 64 * 1024),
        ] {
            let mut d = Decoder::new(&[c]);
            let idle = d.buffered();
            d.feed(&data[..data.len() / 2], &mut |_| {});
            assert!(d.buffered() >= idle + least, "{c:?} {}", d.buffered());
            d.feed(&data[data.len() / 2..], &mut |_| {});
            d.finish(&mut |_| {});
            assert_eq!(d.stopped, None);
            assert!(d.buffered() <= idle + 1024, "{c:?} {}", d.buffered());
        }
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
        let mut d = Decoder::new(&[Coding::Brotli]);
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
