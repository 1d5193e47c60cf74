//! The lone probes of the scan detector, by source: open-addressing tables
//! whose slot for a source can be prefetched, one for IPv4 sources
//! ([`LoneTable`]) and one for IPv6 sources ([`LoneTable6`]).
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
//!
//! An IPv6 probe takes 48 bytes, twice an IPv4 one, and slots kept half
//! empty would cost 96 bytes a source: a SYN flood from a million IPv6
//! sources put `analyze --threads 2` over issue 16's 600 MiB (a hashbrown
//! map of `IpAddr` and its expiry queue held 132 MiB). [`LoneTable6`]
//! keeps its probes packed in a vector and only 8-byte slots half empty:
//! 64 bytes a source.

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

/// A lone probe between IPv6 hosts, with its source: 48 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Lone6 {
    pub ts: u64,
    pub src: [u8; 16],
    pub dst: [u8; 16],
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
        let hole = self.find(src);
        let out = self.slots.get_mut(hole)?.take()?;
        self.len -= 1;
        let hasher = &self.hasher;
        shift_back(&mut self.slots, hole, None, |s| {
            s.map(|p| (hasher.hash_one(p.src) as usize) & mask)
        });
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

/// Backward-shift deletion in linear probing after slot `hole` of `slots`
/// (a power of two long) was emptied: every entry after it, up to the next
/// empty slot, whose search passes the hole moves into it (Knuth, TAOCP
/// vol. 3, 6.4, Algorithm R). `home` gives a slot's home, `None` for an
/// empty one; `empty` is what an emptied slot holds.
fn shift_back<T: Copy>(
    slots: &mut [T],
    mut hole: usize,
    empty: T,
    home: impl Fn(&T) -> Option<usize>,
) {
    let mask = slots.len().wrapping_sub(1);
    let mut j = hole;
    loop {
        j = (j + 1) & mask;
        let Some(&s) = slots.get(j) else { break };
        let Some(h) = home(&s) else { break };
        // `s` may move to the hole if the hole lies between its home and
        // `j`, going round the end.
        if j.wrapping_sub(h) & mask >= j.wrapping_sub(hole) & mask {
            if let Some(v) = slots.get_mut(hole) {
                *v = s;
            }
            if let Some(v) = slots.get_mut(j) {
                *v = empty;
            }
            hole = j;
        }
    }
}

/// Lone IPv6 probes by source: the probes packed in a vector, and an
/// open-addressing index of 8-byte slots over them, at most half used (as
/// [`LoneTable`]: linear probing, backward-shift deletion). A slot holds
/// the low 32 bits of its source's hash, from which its home slot and its
/// new place when the index grows are known without reading the probe, and
/// the probe's position plus one (0: an empty slot). A search reads only
/// the probes whose hash bits match: nearly always only its own.
#[derive(Debug, Default)]
pub(super) struct LoneTable6 {
    slots: Vec<u64>,
    probes: Vec<Lone6>,
    hasher: foldhash::fast::RandomState,
}

/// A slot's hash bits.
fn tag(slot: u64) -> u32 {
    (slot >> 32) as u32
}

/// A slot's probe position (the slot is not empty).
fn position(slot: u64) -> usize {
    (slot as u32 as usize).wrapping_sub(1)
}

fn slot(tag: u32, position: usize) -> u64 {
    (u64::from(tag) << 32) | (position as u64 + 1)
}

impl LoneTable6 {
    pub fn len(&self) -> usize {
        self.probes.len()
    }

    /// Bytes held by the slots and the probes.
    pub fn memory_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<u64>()
            + self.probes.capacity() * std::mem::size_of::<Lone6>()
    }

    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    fn tag_of(&self, src: &[u8; 16]) -> u32 {
        self.hasher.hash_one(src) as u32
    }

    /// The slot of `src` and its probe's position, or the empty slot where
    /// it would go.
    fn find(&self, src: &[u8; 16]) -> (usize, Option<usize>) {
        let mask = self.mask();
        let t = self.tag_of(src);
        let mut i = t as usize & mask;
        // At most half the slots are used: the search ends at an empty one.
        while let Some(&s) = self.slots.get(i) {
            if s == 0 {
                break;
            }
            if tag(s) == t && self.probes.get(position(s)).is_some_and(|p| p.src == *src) {
                return (i, Some(position(s)));
            }
            i = (i + 1) & mask;
        }
        (i, None)
    }

    /// The slot holding the probe at `pos` (whose source is `src`).
    fn slot_of(&self, src: &[u8; 16], pos: usize) -> Option<usize> {
        let mask = self.mask();
        let mut i = self.tag_of(src) as usize & mask;
        loop {
            let s = *self.slots.get(i)?;
            if s == 0 {
                return None;
            }
            if position(s) == pos {
                return Some(i);
            }
            i = (i + 1) & mask;
        }
    }

    pub fn get(&self, src: &[u8; 16]) -> Option<Lone6> {
        let (_, pos) = self.find(src);
        self.probes.get(pos?).copied()
    }

    /// Make `p` its source's lone probe; returns the one it replaces.
    pub fn insert(&mut self, p: Lone6) -> Option<Lone6> {
        if let (_, Some(pos)) = self.find(&p.src) {
            return self
                .probes
                .get_mut(pos)
                .map(|old| std::mem::replace(old, p));
        }
        if (self.probes.len() + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let (i, _) = self.find(&p.src);
        let s = slot(self.tag_of(&p.src), self.probes.len());
        if let Some(free) = self.slots.get_mut(i) {
            *free = s;
            self.probes.push(p);
        }
        None
    }

    pub fn remove(&mut self, src: &[u8; 16]) -> Option<Lone6> {
        let (hole, pos) = self.find(src);
        let pos = pos?;
        // The last probe moves into the removed one's place: its slot is
        // told first.
        let last = self.probes.len() - 1;
        if pos != last {
            let moved = self.probes.get(last)?.src;
            let at = self.slot_of(&moved, last)?;
            if let Some(s) = self.slots.get_mut(at) {
                *s = slot(tag(*s), pos);
            }
        }
        let out = self.probes.swap_remove(pos);
        if let Some(s) = self.slots.get_mut(hole) {
            *s = 0;
        }
        // A slot's home is its hash bits.
        let mask = self.mask();
        shift_back(&mut self.slots, hole, 0, |&s| {
            (s != 0).then_some(tag(s) as usize & mask)
        });
        Some(out)
    }

    /// Twice the slots (or the first ones), every slot placed again from
    /// its hash bits (the probes stay where they are).
    fn grow(&mut self) {
        let n = (self.slots.len() * 2).max(MIN_SLOTS);
        let old = std::mem::replace(&mut self.slots, vec![0; n]);
        let mask = n - 1;
        for s in old.into_iter().filter(|&s| s != 0) {
            let mut i = tag(s) as usize & mask;
            while let Some(v) = self.slots.get_mut(i) {
                if *v == 0 {
                    *v = s;
                    break;
                }
                i = (i + 1) & mask;
            }
        }
    }

    /// Ask the CPU for the cache line where `src`'s search starts (its
    /// probe is one more miss).
    pub fn prefetch(&self, src: &[u8; 16]) {
        if let Some(slot) = self.slots.get(self.tag_of(src) as usize & self.mask()) {
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

    /// An IPv6 source for a small number: few distinct keys, in 2001:db8::/32.
    fn addr6(src: u32) -> [u8; 16] {
        let mut a = [0u8; 16];
        a[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        a[12..].copy_from_slice(&src.to_be_bytes());
        a
    }

    fn probe6(src: u32, ts: u64) -> Lone6 {
        Lone6 {
            ts,
            src: addr6(src),
            dst: addr6(0),
            dst_port: 80,
            src_port: 1024,
            proto: 6,
            kind: ProbeKind::SynAttempt,
        }
    }

    /// The two tables under one interface, keyed by a small number.
    trait Table: Default {
        type P: PartialEq + std::fmt::Debug + Copy;
        fn make(src: u32, ts: u64) -> Self::P;
        fn ins(&mut self, p: Self::P) -> Option<Self::P>;
        fn rem(&mut self, src: u32) -> Option<Self::P>;
        fn look(&self, src: u32) -> Option<Self::P>;
        fn fetch(&self, src: u32);
        fn count(&self) -> usize;
        fn slots(&self) -> usize;
        fn all_empty(&self) -> bool;
    }

    impl Table for LoneTable {
        type P = Lone4;
        fn make(src: u32, ts: u64) -> Lone4 {
            probe(src, ts)
        }
        fn ins(&mut self, p: Lone4) -> Option<Lone4> {
            self.insert(p)
        }
        fn rem(&mut self, src: u32) -> Option<Lone4> {
            self.remove(src)
        }
        fn look(&self, src: u32) -> Option<Lone4> {
            self.get(src)
        }
        fn fetch(&self, src: u32) {
            self.prefetch(src)
        }
        fn count(&self) -> usize {
            self.len()
        }
        fn slots(&self) -> usize {
            self.slots.len()
        }
        fn all_empty(&self) -> bool {
            self.slots.iter().all(Option::is_none)
        }
    }

    impl Table for LoneTable6 {
        type P = Lone6;
        fn make(src: u32, ts: u64) -> Lone6 {
            probe6(src, ts)
        }
        fn ins(&mut self, p: Lone6) -> Option<Lone6> {
            self.insert(p)
        }
        fn rem(&mut self, src: u32) -> Option<Lone6> {
            self.remove(&addr6(src))
        }
        fn look(&self, src: u32) -> Option<Lone6> {
            self.get(&addr6(src))
        }
        fn fetch(&self, src: u32) {
            self.prefetch(&addr6(src))
        }
        fn count(&self) -> usize {
            self.len()
        }
        fn slots(&self) -> usize {
            self.slots.len()
        }
        fn all_empty(&self) -> bool {
            self.slots.iter().all(|&s| s == 0) && self.probes.is_empty()
        }
    }

    #[test]
    fn a_slot_is_24_bytes_and_empty_costs_nothing_more() {
        assert_eq!(std::mem::size_of::<Option<Lone4>>(), 24);
        assert_eq!(std::mem::size_of::<Lone6>(), 48);
    }

    /// Random inserts, replacements, removals and lookups agree with a
    /// `HashMap` at every step, on few keys (long probe runs, wrap-around,
    /// backward shifts, the last probe moved into a removed one's place)
    /// and on many.
    fn agrees_with_a_hashmap<T: Table>() {
        for keys in [40u32, 5_000] {
            let mut t = T::default();
            let mut m: HashMap<u32, T::P> = HashMap::new();
            // xorshift: reproducible without a crate.
            let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ u64::from(keys);
            for step in 0..60_000u64 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let src = (x % u64::from(keys)) as u32;
                match (x >> 32) % 4 {
                    0 | 1 => {
                        assert_eq!(t.ins(T::make(src, step)), m.insert(src, T::make(src, step)))
                    }
                    2 => assert_eq!(t.rem(src), m.remove(&src)),
                    _ => assert_eq!(t.look(src), m.get(&src).copied()),
                }
                assert_eq!(t.count(), m.len());
                t.fetch(src);
            }
            for (k, v) in &m {
                assert_eq!(t.look(*k), Some(*v));
            }
            assert!(t.slots() >= 2 * t.count());
        }
    }

    #[test]
    fn ipv4_table_agrees_with_a_hashmap() {
        agrees_with_a_hashmap::<LoneTable>();
    }

    #[test]
    fn ipv6_table_agrees_with_a_hashmap() {
        agrees_with_a_hashmap::<LoneTable6>();
    }

    /// Removing everything leaves every slot empty (the backward shift
    /// leaves nothing behind), and the table is usable again.
    fn removing_everything_empties_every_slot<T: Table>() {
        let mut t = T::default();
        for src in 0..1_000 {
            t.ins(T::make(src, 0));
        }
        for src in (0..1_000).rev() {
            assert_eq!(t.rem(src), Some(T::make(src, 0)));
            assert_eq!(t.rem(src), None);
        }
        assert_eq!(t.count(), 0);
        assert!(t.all_empty());
        assert_eq!(t.ins(T::make(7, 1)), None);
        assert_eq!(t.look(7), Some(T::make(7, 1)));
    }

    #[test]
    fn ipv4_table_empties_every_slot() {
        removing_everything_empties_every_slot::<LoneTable>();
    }

    #[test]
    fn ipv6_table_empties_every_slot() {
        removing_everything_empties_every_slot::<LoneTable6>();
    }

    /// Removing in insertion order moves the last probe every time: each
    /// move is found from its slot, and the rest stay reachable.
    #[test]
    fn ipv6_table_moves_the_last_probe_into_a_hole() {
        let mut t = LoneTable6::default();
        for src in 0..3_000 {
            t.insert(probe6(src, u64::from(src)));
        }
        for src in 0..3_000 {
            assert_eq!(t.remove(&addr6(src)).map(|p| p.ts), Some(u64::from(src)));
            if src % 97 == 0 {
                for rest in src + 1..3_000 {
                    assert_eq!(t.get(&addr6(rest)).map(|p| p.ts), Some(u64::from(rest)));
                }
            }
        }
        assert!(t.probes.is_empty());
    }
}
