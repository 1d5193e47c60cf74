//! The lone IPv4 probes of the scan detector, by source: an open-addressing
//! table whose slot for a source can be prefetched.
//!
//! A flood from a million sources makes every source's first probe a
//! lookup and an insert in a table of a million entries, far larger than
//! the caches: a `HashMap` there cost a cache and TLB miss per flow, and the
//! scan detector was a fifth of `analyze` on `bench/flood.sh`'s SYN flood
//! (docs/floods.md, session 19). Here the slot a source hashes to is known
//! before it is needed ([`LoneTable::prefetch`]), so the detector can ask
//! for it a few flows ahead and find it in the cache.
//!
//! Linear probing, kept at most half full, with backward-shift deletion
//! (no tombstones: a flood's expiry removes as much as it inserts, and
//! tombstones would lengthen every later miss). The hash is foldhash with a
//! per-process random seed, as the detector's other maps: the sources are
//! the attacker's choice, the slots are not.

use std::hash::BuildHasher;

use super::ProbeKind;

/// A lone probe between IPv4 hosts, with its source: 24 bytes, and an empty
/// slot (`None`) costs no more (the niche of `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Lone4 {
    pub ts: u64,
    pub src: u32,
    pub dst: u32,
    pub dst_port: u16,
    pub src_port: u16,
    pub proto: u8,
    pub kind: ProbeKind,
}

/// Slots of a table's first allocation.
const MIN_SLOTS: usize = 16;

#[derive(Debug, Default)]
pub(super) struct LoneTable {
    /// A power of two long (or empty); at most half of them used.
    slots: Vec<Option<Lone4>>,
    len: usize,
    hasher: foldhash::fast::RandomState,
}

impl LoneTable {
    pub fn len(&self) -> usize {
        self.len
    }

    /// Bytes held by the slots.
    pub fn memory_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Option<Lone4>>()
    }

    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    /// The slot where `src`'s search starts.
    fn home(&self, src: u32) -> usize {
        // Truncating the hash keeps its low bits, which are what the mask
        // takes.
        (self.hasher.hash_one(src) as usize) & self.mask()
    }

    /// The slot of `src`, or the empty slot where it would go.
    fn find(&self, src: u32) -> usize {
        let mask = self.mask();
        let mut i = self.home(src);
        // At most half the slots are used: the search ends at an empty one.
        while let Some(Some(s)) = self.slots.get(i) {
            if s.src == src {
                break;
            }
            i = (i + 1) & mask;
        }
        i
    }

    pub fn get(&self, src: u32) -> Option<Lone4> {
        if self.len == 0 {
            return None;
        }
        self.slots.get(self.find(src)).copied().flatten()
    }

    /// Make `p` its source's lone probe; returns the one it replaces.
    pub fn insert(&mut self, p: Lone4) -> Option<Lone4> {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let i = self.find(p.src);
        let slot = self.slots.get_mut(i)?;
        let old = slot.replace(p);
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    pub fn remove(&mut self, src: u32) -> Option<Lone4> {
        if self.len == 0 {
            return None;
        }
        let mask = self.mask();
        let mut hole = self.find(src);
        let out = self.slots.get_mut(hole)?.take()?;
        self.len -= 1;
        // Backward shift: every entry after the hole, up to the next empty
        // slot, whose search passes the hole moves into it (Knuth, TAOCP
        // vol. 3, 6.4, Algorithm R).
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let Some(Some(s)) = self.slots.get(j).copied() else {
                break;
            };
            let home = self.home(s.src);
            // `s` may move to the hole if the hole lies between its home
            // and `j`, going round the end.
            if j.wrapping_sub(home) & mask >= j.wrapping_sub(hole) & mask {
                if let Some(h) = self.slots.get_mut(hole) {
                    *h = Some(s);
                }
                if let Some(v) = self.slots.get_mut(j) {
                    *v = None;
                }
                hole = j;
            }
        }
        Some(out)
    }

    /// Twice the slots (or the first ones), every entry placed again.
    fn grow(&mut self) {
        let n = (self.slots.len() * 2).max(MIN_SLOTS);
        let old = std::mem::replace(&mut self.slots, vec![None; n]);
        for p in old.into_iter().flatten() {
            let i = self.find(p.src);
            if let Some(slot) = self.slots.get_mut(i) {
                *slot = Some(p);
            }
        }
    }

    /// Ask the CPU for the cache line where `src`'s search starts. It only
    /// costs time: a table that grows before the lookup, or a search that
    /// goes on to the next line, merely misses again.
    pub fn prefetch(&self, src: u32) {
        if let Some(slot) = self.slots.get(self.home(src)) {
            crate::prefetch::value(slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn probe(src: u32, ts: u64) -> Lone4 {
        Lone4 {
            ts,
            src,
            dst: 1,
            dst_port: 80,
            src_port: 1024,
            proto: 6,
            kind: ProbeKind::SynAttempt,
        }
    }

    #[test]
    fn a_slot_is_24_bytes_and_empty_costs_nothing_more() {
        assert_eq!(std::mem::size_of::<Option<Lone4>>(), 24);
    }

    /// Random inserts, replacements, removals and lookups agree with a
    /// `HashMap` at every step, on few keys (long probe runs, wrap-around,
    /// backward shifts) and on many.
    #[test]
    fn agrees_with_a_hashmap() {
        for keys in [40u32, 5_000] {
            let mut t = LoneTable::default();
            let mut m: HashMap<u32, Lone4> = HashMap::new();
            // xorshift: reproducible without a crate.
            let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ u64::from(keys);
            for step in 0..60_000u64 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let src = (x % u64::from(keys)) as u32;
                match (x >> 32) % 4 {
                    0 | 1 => {
                        assert_eq!(t.insert(probe(src, step)), m.insert(src, probe(src, step)))
                    }
                    2 => assert_eq!(t.remove(src), m.remove(&src)),
                    _ => assert_eq!(t.get(src), m.get(&src).copied()),
                }
                assert_eq!(t.len(), m.len());
                t.prefetch(src);
            }
            for (k, v) in &m {
                assert_eq!(t.get(*k), Some(*v));
            }
            assert!(t.slots.len() >= 2 * t.len());
        }
    }

    /// Removing everything leaves every slot empty (the backward shift
    /// leaves nothing behind), and the table is usable again.
    #[test]
    fn removing_everything_empties_every_slot() {
        let mut t = LoneTable::default();
        for src in 0..1_000 {
            t.insert(probe(src, 0));
        }
        for src in (0..1_000).rev() {
            assert_eq!(t.remove(src).map(|p| p.src), Some(src));
            assert_eq!(t.remove(src), None);
        }
        assert_eq!(t.len(), 0);
        assert!(t.slots.iter().all(Option::is_none));
        assert_eq!(t.insert(probe(7, 1)), None);
        assert_eq!(t.get(7).map(|p| p.ts), Some(1));
    }
}
