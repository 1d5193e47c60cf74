//! A growable array kept in fixed-size chunks.
//!
//! The flow table's slab holds one slot per open flow: a million slots
//! under a flood. As one `Vec`, each time it doubles it copies everything
//! it holds into a new array, and for that moment holds both: at 2^20
//! slots a copy of half the flood's flow state, and 50% more memory at the
//! peak. An allocator that keeps freed memory a while before it gives it
//! back to the system (mimalloc, jemalloc) keeps the old array as well:
//! measured on `bench/flood.sh`'s SYN flood with mimalloc, `flows` took
//! 733 MiB and 2.10 s as one `Vec`, 421 MiB and 1.51 s in chunks. Chunks
//! never move: growing adds one more.

use std::ops::{Index, IndexMut};

/// Elements per chunk (a power of two). The first chunk grows as a `Vec`
/// does, so a small capture's table stays small; later ones are allocated
/// whole.
const SHIFT: u32 = 12;
const CHUNK: usize = 1 << SHIFT;
const MASK: usize = CHUNK - 1;

/// See the module documentation. Indices are as in a `Vec`: `0..len()`.
#[derive(Debug)]
pub struct Chunked<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Chunked<T> {
    pub const fn new() -> Self {
        Chunked {
            chunks: Vec::new(),
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Elements the allocated chunks can hold.
    pub fn capacity(&self) -> usize {
        self.chunks.iter().map(Vec::capacity).sum()
    }

    pub fn get(&self, i: usize) -> Option<&T> {
        self.chunks.get(i >> SHIFT)?.get(i & MASK)
    }

    pub fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        self.chunks.get_mut(i >> SHIFT)?.get_mut(i & MASK)
    }

    /// Append `v` at index `len()`.
    pub fn push(&mut self, v: T) {
        match self.chunks.last_mut() {
            Some(c) if c.len() < CHUNK => c.push(v),
            last => {
                let mut c = if last.is_none() {
                    Vec::new()
                } else {
                    Vec::with_capacity(CHUNK)
                };
                c.push(v);
                self.chunks.push(c);
            }
        }
        self.len += 1;
    }

    /// The elements in index order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }
}

impl<T> Index<usize> for Chunked<T> {
    type Output = T;

    /// Panics when `i >= len()`, as a `Vec` does.
    fn index(&self, i: usize) -> &T {
        &self.chunks[i >> SHIFT][i & MASK]
    }
}

impl<T> IndexMut<usize> for Chunked<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        &mut self.chunks[i >> SHIFT][i & MASK]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_and_order_match_a_vec_across_chunks() {
        let n = 3 * CHUNK + 17;
        let mut c = Chunked::new();
        let mut v = Vec::new();
        for i in 0..n {
            c.push(i * 7);
            v.push(i * 7);
        }
        assert_eq!(c.len(), n);
        for i in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, n - 1] {
            assert_eq!(c[i], v[i]);
            assert_eq!(c.get(i), Some(&v[i]));
        }
        assert_eq!(c.get(n), None);
        assert_eq!(c.get(usize::MAX), None);
        assert!(c.iter().copied().eq(v.iter().copied()));
        c[CHUNK] = 1;
        *c.get_mut(n - 1).expect("last") = 2;
        assert_eq!((c[CHUNK], c[n - 1]), (1, 2));
        assert!(c.get_mut(n).is_none());
    }

    #[test]
    fn chunks_never_move_and_the_first_grows_from_small() {
        let mut c = Chunked::new();
        c.push(0u64);
        assert!(c.capacity() < CHUNK, "a one-flow table stays small");
        for i in 1..CHUNK as u64 {
            c.push(i);
        }
        assert_eq!(c.capacity(), CHUNK);
        let first = std::ptr::from_ref(&c[0]);
        for i in 0..(2 * CHUNK) as u64 {
            c.push(i);
        }
        assert_eq!(std::ptr::from_ref(&c[0]), first, "growing moved nothing");
        assert_eq!(c.capacity(), 3 * CHUNK);
    }
}
