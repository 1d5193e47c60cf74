//! The input buffer: one large `Vec<u8>` filled by big `read` calls.
//!
//! Records are parsed in place and handed out as slices of this buffer, so
//! the steady state costs no allocation and no copy per packet. When a record
//! would run past the end of the buffer, the unconsumed tail is moved to the
//! front with `copy_within` (at most one partial record is copied). The buffer
//! grows only when a single record is larger than the whole buffer, and then
//! only as fast as data actually arrives, so a hostile length field cannot
//! make us allocate memory the input does not back.

use std::io::{self, Read};

/// Initial buffer size. Big enough that `read` calls are rare.
pub(crate) const INITIAL_CAPACITY: usize = 1 << 20;

pub(crate) struct InputBuf<R> {
    rd: R,
    buf: Vec<u8>,
    /// First unconsumed byte.
    start: usize,
    /// One past the last valid byte.
    end: usize,
    /// Absolute input offset of `buf[0]`.
    origin: u64,
    eof: bool,
    /// Size to shrink back to after a huge record.
    initial: usize,
}

impl<R: Read> InputBuf<R> {
    pub(crate) fn new(rd: R, capacity: usize) -> Self {
        let capacity = capacity.max(64);
        InputBuf {
            rd,
            initial: capacity,
            buf: vec![0u8; capacity],
            start: 0,
            end: 0,
            origin: 0,
            eof: false,
        }
    }

    /// Absolute input offset of the first unconsumed byte.
    #[inline]
    pub(crate) fn pos(&self) -> u64 {
        self.origin + self.start as u64
    }

    /// Number of buffered, unconsumed bytes.
    #[inline]
    pub(crate) fn avail(&self) -> usize {
        self.end - self.start
    }

    /// Index in `buf()` of the first unconsumed byte.
    #[inline]
    pub(crate) fn start(&self) -> usize {
        self.start
    }

    /// The unconsumed bytes.
    #[inline]
    pub(crate) fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// The whole backing buffer (for handing out frames by index).
    #[inline]
    pub(crate) fn raw(&self) -> &[u8] {
        &self.buf
    }

    #[inline]
    pub(crate) fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.avail());
        self.start += n.min(self.avail());
    }

    /// Make at least `n` unconsumed bytes available. Returns `Ok(false)` if
    /// the input ends first (whatever was there stays buffered).
    #[inline]
    pub(crate) fn fill(&mut self, n: usize) -> io::Result<bool> {
        if self.end - self.start >= n {
            return Ok(true);
        }
        self.fill_slow(n)
    }

    #[cold]
    fn fill_slow(&mut self, n: usize) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.start + n > self.buf.len() {
            self.compact();
        }
        loop {
            if self.end == self.buf.len() {
                // Full and still short: this record is bigger than the buffer.
                // Grow geometrically, never beyond what was asked for.
                let new_len = self
                    .buf
                    .len()
                    .saturating_mul(2)
                    .min(n)
                    .max(self.buf.len() + 1);
                self.buf.resize(new_len, 0);
            }
            match self.rd.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(k) => {
                    self.end += k.min(self.buf.len() - self.end);
                    if self.end - self.start >= n {
                        return Ok(true);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn compact(&mut self) {
        if self.start == 0 {
            return;
        }
        self.buf.copy_within(self.start..self.end, 0);
        self.origin += self.start as u64;
        self.end -= self.start;
        self.start = 0;
    }

    /// Consume `n` bytes without keeping them, reading and discarding as
    /// needed (used for big blocks we skip, so they never grow the buffer).
    /// Returns how many bytes were actually skipped (less than `n` at EOF).
    pub(crate) fn skip(&mut self, n: u64) -> io::Result<u64> {
        let mut done = 0u64;
        loop {
            let take = (self.avail() as u64).min(n - done) as usize;
            self.start += take;
            done += take as u64;
            if done == n || self.eof {
                return Ok(done);
            }
            // Buffer is drained: restart it at the front.
            self.origin += self.end as u64;
            self.start = 0;
            self.end = 0;
            match self.rd.read(&mut self.buf[..]) {
                Ok(0) => self.eof = true,
                Ok(k) => self.end = k.min(self.buf.len()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Shrink back to the initial size after a huge record, once the
    /// buffered data fits again.
    #[inline]
    pub(crate) fn maybe_shrink(&mut self) {
        if self.buf.len() > self.initial {
            self.shrink_slow();
        }
    }

    #[cold]
    fn shrink_slow(&mut self) {
        if self.avail() <= self.initial / 2 {
            self.compact();
            self.buf.truncate(self.initial);
            self.buf.shrink_to_fit();
        }
    }

    pub(crate) fn into_inner(self) -> R {
        self.rd
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most `chunk` bytes per call.
    struct Trickle<'a> {
        data: &'a [u8],
        chunk: usize,
    }
    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.chunk.min(out.len()).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn fill_compacts_and_grows() {
        let data: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        let mut b = InputBuf::new(
            Trickle {
                data: &data,
                chunk: 7,
            },
            64,
        );
        assert!(b.fill(10).unwrap());
        assert_eq!(&b.data()[..10], &data[..10]);
        b.consume(10);
        assert_eq!(b.pos(), 10);
        // Larger than the buffer: must grow.
        assert!(b.fill(300).unwrap());
        assert_eq!(&b.data()[..300], &data[10..310]);
        b.consume(300);
        assert_eq!(b.skip(600).unwrap(), 600);
        assert_eq!(b.pos(), 910);
        assert!(b.fill(90).unwrap());
        assert_eq!(b.data(), &data[910..]);
        assert!(!b.fill(91).unwrap());
        assert_eq!(b.skip(1000).unwrap(), 90);
        assert_eq!(b.pos(), 1000);
    }
}
