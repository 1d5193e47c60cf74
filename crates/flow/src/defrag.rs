//! IPv4 and IPv6 fragment reassembly with bounded memory and a timeout in
//! packet time.
//!
//! RFC 791 §3.2: "The internet identification field (ID) is used together
//! with the source and destination address, and the protocol fields, to
//! identify datagram fragments for reassembly." RFC 8200 §4.5 does the same
//! with the Fragment header's 32-bit Identification.
//!
//! Overlaps keep the first copy of every byte (the policy of most IDS
//! reassemblers, and what RFC 5722 pushes toward by forbidding overlaps in
//! IPv6); a later fragment whose overlapping bytes differ is counted as a
//! conflict, an evasion signal. A reassembled datagram may not exceed 65,535
//! bytes (RFC 791's total-length limit; larger is the "ping of death").

use std::collections::VecDeque;
use std::net::IpAddr;

/// Largest reassembled payload accepted.
pub const MAX_DATAGRAM: u32 = 65_535;

/// Limits of the reassembler.
#[derive(Debug, Clone, Copy)]
pub struct DefragConfig {
    /// Datagrams under reassembly at once.
    pub max_datagrams: usize,
    /// Bytes buffered across all datagrams.
    pub max_bytes: usize,
    /// Time after the first fragment at which an incomplete datagram is
    /// dropped, in nanoseconds of packet time (Linux's ipfrag_time is 30 s).
    pub timeout_ns: u64,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            max_datagrams: 4096,
            max_bytes: 32 << 20,
            timeout_ns: 30_000_000_000,
        }
    }
}

/// Counters of the reassembler.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DefragStats {
    pub fragments: u64,
    pub reassembled: u64,
    pub timed_out: u64,
    /// Dropped because a memory or count limit was reached.
    pub evicted: u64,
    /// Fragments that would extend a datagram past 65,535 bytes, or
    /// contradict an already known total length.
    pub invalid: u64,
    /// Fragments overlapping earlier data with different bytes.
    pub overlap_conflicts: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FragKey {
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    id: u32,
}

#[derive(Debug)]
struct Datagram {
    first_ts: u64,
    data: Vec<u8>,
    /// Sorted, non-overlapping received ranges [start, end).
    have: Vec<(u32, u32)>,
    /// Known once the last fragment (more = false) arrived.
    total: Option<u32>,
}

impl Datagram {
    fn complete(&self) -> bool {
        match self.total {
            Some(t) => self.have.len() == 1 && self.have[0] == (0, t),
            None => false,
        }
    }
}

/// A fragment to insert.
#[derive(Debug, Clone, Copy)]
pub struct FragmentIn<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    pub id: u32,
    /// Byte offset in the original payload.
    pub offset: u32,
    pub more: bool,
    pub data: &'a [u8],
}

/// The reassembler. It owns no global state; one per flow-table shard.
#[derive(Debug, Default)]
pub struct Defragmenter {
    cfg: DefragConfig,
    map: crate::SeededMap<FragKey, Datagram>,
    /// Insertion order, for timeouts and eviction (may hold stale keys).
    order: VecDeque<(u64, FragKey)>,
    bytes: usize,
    stats: DefragStats,
}

impl Defragmenter {
    pub fn new(cfg: DefragConfig) -> Self {
        Defragmenter {
            cfg,
            ..Default::default()
        }
    }

    pub fn stats(&self) -> DefragStats {
        self.stats
    }

    /// Datagrams currently buffered.
    pub fn pending(&self) -> usize {
        self.map.len()
    }

    /// Bytes currently buffered.
    pub fn buffered_bytes(&self) -> usize {
        self.bytes
    }

    fn remove(&mut self, key: &FragKey) -> Option<Datagram> {
        let d = self.map.remove(key)?;
        self.bytes = self.bytes.saturating_sub(d.data.capacity());
        Some(d)
    }

    /// Drop datagrams whose first fragment is older than the timeout.
    pub fn expire(&mut self, now: u64) {
        while let Some(&(ts, key)) = self.order.front() {
            match self.map.get(&key) {
                Some(d) if d.first_ts == ts => {
                    if now.saturating_sub(ts) < self.cfg.timeout_ns {
                        break;
                    }
                    self.remove(&key);
                    self.stats.timed_out += 1;
                }
                _ => {}
            }
            self.order.pop_front();
        }
    }

    fn evict_oldest(&mut self) {
        while let Some((ts, key)) = self.order.pop_front() {
            if self.map.get(&key).is_some_and(|d| d.first_ts == ts) {
                self.remove(&key);
                self.stats.evicted += 1;
                return;
            }
        }
    }

    /// Insert a fragment at packet time `now`. Returns the reassembled
    /// payload when this fragment completed its datagram.
    pub fn insert(&mut self, now: u64, frag: FragmentIn<'_>) -> Option<Vec<u8>> {
        self.stats.fragments += 1;
        self.expire(now);
        let len = u32::try_from(frag.data.len()).unwrap_or(u32::MAX);
        let start = frag.offset;
        let end = match start.checked_add(len) {
            Some(e) if e <= MAX_DATAGRAM => e,
            _ => {
                self.stats.invalid += 1;
                return None;
            }
        };
        let key = FragKey {
            src: frag.src,
            dst: frag.dst,
            proto: frag.proto,
            id: frag.id,
        };
        if !self.map.contains_key(&key) {
            while self.map.len() >= self.cfg.max_datagrams && !self.map.is_empty() {
                self.evict_oldest();
            }
            self.map.insert(
                key,
                Datagram {
                    first_ts: now,
                    data: Vec::new(),
                    have: Vec::new(),
                    total: None,
                },
            );
            self.order.push_back((now, key));
        }
        // Grow the buffer within the memory budget.
        let need = end as usize;
        let cur_cap = self.map.get(&key).map_or(0, |d| d.data.capacity());
        if need > cur_cap {
            let extra = need - cur_cap;
            while self.bytes + extra > self.cfg.max_bytes && self.map.len() > 1 {
                let before = self.map.len();
                self.evict_oldest();
                if !self.map.contains_key(&key) || self.map.len() == before {
                    break;
                }
            }
            if !self.map.contains_key(&key) || self.bytes + extra > self.cfg.max_bytes {
                self.remove(&key);
                self.stats.evicted += 1;
                return None;
            }
        }
        let d = self.map.get_mut(&key)?;
        if !frag.more {
            match d.total {
                Some(t) if t != end => {
                    self.stats.invalid += 1;
                    return None;
                }
                _ => d.total = Some(end),
            }
        }
        if d.total.is_some_and(|t| end > t) {
            self.stats.invalid += 1;
            return None;
        }
        let old_cap = d.data.capacity();
        if d.data.len() < need {
            d.data.reserve_exact(need - d.data.len());
            d.data.resize(need, 0);
        }
        let grown = d.data.capacity().saturating_sub(old_cap);
        // Copy only the bytes not received yet; compare the others.
        let mut conflict = false;
        let mut pos = start;
        for &(hs, he) in d.have.iter() {
            if he <= pos || hs >= end {
                continue;
            }
            if hs > pos {
                let (a, b) = (pos as usize, hs as usize);
                d.data[a..b].copy_from_slice(&frag.data[a - start as usize..b - start as usize]);
            }
            let (os, oe) = (hs.max(pos), he.min(end));
            let new = &frag.data[(os - start) as usize..(oe - start) as usize];
            if d.data[os as usize..oe as usize] != *new {
                conflict = true;
            }
            pos = oe;
            if pos >= end {
                break;
            }
        }
        if pos < end {
            let (a, b) = (pos as usize, end as usize);
            d.data[a..b].copy_from_slice(&frag.data[a - start as usize..b - start as usize]);
        }
        // Merge [start, end) into the range list.
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(d.have.len() + 1);
        let (mut ns, mut ne) = (start, end);
        for &(hs, he) in d.have.iter() {
            if he < ns || hs > ne {
                merged.push((hs, he));
            } else {
                ns = ns.min(hs);
                ne = ne.max(he);
            }
        }
        merged.push((ns, ne));
        merged.sort_unstable();
        d.have = merged;
        let complete = d.complete();
        self.bytes += grown;
        if conflict {
            self.stats.overlap_conflicts += 1;
        }
        if complete {
            let d = self.remove(&key)?;
            self.stats.reassembled += 1;
            let mut data = d.data;
            if let Some(t) = d.total {
                data.truncate(t as usize);
            }
            return Some(data);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(id: u32, offset: u32, more: bool, data: &[u8]) -> FragmentIn<'_> {
        FragmentIn {
            src: "10.0.0.1".parse().expect("a"),
            dst: "10.0.0.2".parse().expect("a"),
            proto: 17,
            id,
            offset,
            more,
            data,
        }
    }

    #[test]
    fn in_order_and_out_of_order() {
        let mut d = Defragmenter::new(DefragConfig::default());
        assert!(d.insert(0, f(1, 0, true, &[1; 8])).is_none());
        let out = d.insert(1, f(1, 8, false, &[2; 4])).expect("complete");
        assert_eq!(out, [1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2]);
        // Last fragment first.
        assert!(d.insert(2, f(2, 8, false, &[2; 4])).is_none());
        let out = d.insert(3, f(2, 0, true, &[1; 8])).expect("complete");
        assert_eq!(out.len(), 12);
        assert_eq!(d.pending(), 0);
        assert_eq!(d.buffered_bytes(), 0);
        assert_eq!(d.stats().reassembled, 2);
    }

    #[test]
    fn overlap_first_copy_wins_and_conflict_counted() {
        let mut d = Defragmenter::new(DefragConfig::default());
        assert!(d.insert(0, f(1, 0, true, &[1; 16])).is_none());
        // Overlaps bytes 8..16 with different content, then extends to 24.
        let out = d.insert(0, f(1, 8, false, &[9; 16])).expect("complete");
        assert_eq!(&out[..16], &[1; 16]);
        assert_eq!(&out[16..], &[9; 8]);
        assert_eq!(d.stats().overlap_conflicts, 1);
        // Identical retransmitted fragment: no conflict.
        assert!(d.insert(0, f(2, 0, true, &[1; 8])).is_none());
        assert!(d.insert(0, f(2, 0, true, &[1; 8])).is_none());
        assert_eq!(d.stats().overlap_conflicts, 1);
    }

    #[test]
    fn ping_of_death_and_inconsistent_total_are_invalid() {
        let mut d = Defragmenter::new(DefragConfig::default());
        assert!(d.insert(0, f(1, 65_528, false, &[0; 16])).is_none());
        assert!(d.insert(0, f(2, 0, false, &[0; 16])).is_none() || d.pending() == 0);
        assert!(d.insert(0, f(3, 16, false, &[0; 8])).is_none());
        assert!(d.insert(0, f(3, 32, false, &[0; 8])).is_none());
        assert_eq!(d.stats().invalid, 2);
    }

    #[test]
    fn timeout_uses_packet_time() {
        let mut d = Defragmenter::new(DefragConfig::default());
        d.insert(0, f(1, 0, true, &[0; 8]));
        d.expire(29_000_000_000);
        assert_eq!(d.pending(), 1);
        d.expire(30_000_000_000);
        assert_eq!(d.pending(), 0);
        assert_eq!(d.stats().timed_out, 1);
        assert_eq!(d.buffered_bytes(), 0);
    }

    #[test]
    fn memory_is_bounded() {
        let cfg = DefragConfig {
            max_datagrams: 10,
            max_bytes: 64 * 1024,
            timeout_ns: u64::MAX,
        };
        let mut d = Defragmenter::new(cfg);
        for id in 0..10_000u32 {
            d.insert(u64::from(id), f(id, 60_000, true, &[0; 1000]));
            assert!(d.pending() <= 10);
            assert!(d.buffered_bytes() <= 64 * 1024 + 65_535);
        }
        assert!(d.stats().evicted > 9_000);
    }
}
