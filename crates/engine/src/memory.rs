//! Memory accounting: estimates of the bytes held by flows, reassembly,
//! parsers, DPI state and detectors, so that a user sees what grows.
//!
//! The figures are counted, not measured: live objects are counted as they
//! are created and dropped (by the thread that makes and drops them: see
//! [`counter`]) and multiplied by their size, and byte buffers that are
//! already bounded and counted (the reassembly budget, the pre-verdict
//! buffers) are added as they are. What
//! a parser allocates beyond its own struct is not seen, nor allocator
//! overhead: the process RSS is higher.
//!
//! * flows: the flow table's slab (by capacity), index and free list;
//! * reassembly: live TCP stream reassemblers × their size, plus the bytes
//!   they buffer (the reassembly budget);
//! * parsers: per-flow application states (and their larger parts, made
//!   when a flow needs them) × their size, the parsers' own structs, and
//!   the bytes held before a flow's verdict;
//! * dpi: per-flow DPI states × their size, plus their prefix buffers;
//! * detectors: the scan and flood detectors' maps and queues (by capacity).

use std::fmt;

/// Estimated bytes held, by component.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryUse {
    pub flows: usize,
    pub reassembly: usize,
    pub parsers: usize,
    pub dpi: usize,
    pub detectors: usize,
}

impl MemoryUse {
    pub fn total(&self) -> usize {
        self.flows + self.reassembly + self.parsers + self.dpi + self.detectors
    }

    /// Component-wise maximum (peaks of different moments).
    pub fn max(self, o: MemoryUse) -> MemoryUse {
        MemoryUse {
            flows: self.flows.max(o.flows),
            reassembly: self.reassembly.max(o.reassembly),
            parsers: self.parsers.max(o.parsers),
            dpi: self.dpi.max(o.dpi),
            detectors: self.detectors.max(o.detectors),
        }
    }
}

/// Component-wise sum (peaks of different holders, e.g. `--threads` workers).
impl std::ops::Add for MemoryUse {
    type Output = MemoryUse;

    fn add(self, o: MemoryUse) -> MemoryUse {
        MemoryUse {
            flows: self.flows + o.flows,
            reassembly: self.reassembly + o.reassembly,
            parsers: self.parsers + o.parsers,
            dpi: self.dpi + o.dpi,
            detectors: self.detectors + o.detectors,
        }
    }
}

fn mib(b: usize) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

impl fmt::Display for MemoryUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "flows {:.1} MiB, reassembly {:.1} MiB, parsers {:.1} MiB, dpi {:.1} MiB, detectors {:.1} MiB",
            mib(self.flows),
            mib(self.reassembly),
            mib(self.parsers),
            mib(self.dpi),
            mib(self.detectors)
        )
    }
}

/// Kinds of counted objects (indices below).
const KINDS: usize = 7;

/// One kind's count on one thread, and its highest value since
/// [`reset_peaks`].
#[derive(Clone, Copy, Default)]
struct Count {
    now: isize,
    peak: isize,
}

thread_local! {
    /// This thread's counts. Each thread counts the objects it makes and
    /// drops (an analyzer's are all made and dropped by the thread that
    /// runs it), so the workers of `--threads` never share them (they were
    /// process-wide atomics: two cores writing the same cache line for
    /// every flow of a flood), and a worker's figures are its own, the
    /// same in every run, whatever the other workers are doing. An object
    /// dropped by another thread than its maker's makes that thread's
    /// count negative: [`counter`] reads it as 0.
    static COUNTS: [std::cell::Cell<Count>; KINDS] = const {
        [const { std::cell::Cell::new(Count { now: 0, peak: 0 }) }; KINDS]
    };
}

fn add(k: usize, d: isize) {
    COUNTS.with(|c| {
        if let Some(c) = c.get(k) {
            let now = c.get().now.wrapping_add(d);
            c.set(Count {
                now,
                peak: c.get().peak.max(now),
            });
        }
    });
}

/// Kind `k`'s count on this thread, `now` or `peak` (negative reads 0).
fn read(k: usize, field: fn(Count) -> isize) -> usize {
    COUNTS.with(|c| {
        c.get(k)
            .map_or(0, |c| usize::try_from(field(c.get())).unwrap_or(0))
    })
}

/// Every kind's peak on this thread starts again from its count now (an
/// analyzer starts; a thread may run several, one after the other).
pub(crate) fn reset_peaks() {
    COUNTS.with(|c| {
        for c in c {
            let now = c.get().now;
            c.set(Count { now, peak: now });
        }
    });
}

/// Live per-flow application states (`netsift analyze`).
pub(crate) const APP_STATES: usize = 0;
/// Bytes of the parsers' own structs.
pub(crate) const PARSER_BYTES: usize = 1;
/// Live per-flow DPI states.
pub(crate) const DPI_STATES: usize = 2;
/// Bytes of DPI prefix buffers (by capacity).
pub(crate) const DPI_BYTES: usize = 3;
/// Live per-flow application states' larger part (`netsift analyze`: a
/// flow with streams, a parser, rule state ...).
pub(crate) const APP_MORES: usize = 4;
/// Bytes parsers hold in buffers of their own (`Parser::buffered`).
pub(crate) const PARSER_HELD: usize = 5;
/// Parsers holding such bytes.
pub(crate) const PARSERS_HOLDING: usize = 6;

/// Whether one holder of `n` bytes, among `holders` that hold `total` in
/// all, must give them up to keep `total` within `max`: above `max`, a
/// holder of at least the mean does when it grows; above twice `max`,
/// any holder does. The bounds on parser and DPI memory: those that hoard
/// go first, and a small one is spared unless the hoarders took twice the
/// bound.
pub(crate) fn over_share(n: usize, total: usize, holders: usize, max: usize) -> bool {
    if n == 0 || total <= max {
        return false;
    }
    // At least the mean: n * holders >= total (u128: no overflow).
    total / 2 > max || n as u128 * holders.max(1) as u128 >= total as u128
}

/// The objects (or bytes) of kind `k` this thread holds.
pub(crate) fn counter(k: usize) -> usize {
    read(k, |c| c.now)
}

/// The most objects (or bytes) of kind `k` this thread held at once
/// since [`reset_peaks`].
pub(crate) fn peak(k: usize) -> usize {
    read(k, |c| c.peak)
}

/// Counts one live object of kind `K` while it exists.
#[derive(Debug)]
pub(crate) struct Live<const K: usize>;

impl<const K: usize> Default for Live<K> {
    fn default() -> Self {
        add(K, 1);
        Live
    }
}

impl<const K: usize> Drop for Live<K> {
    fn drop(&mut self) {
        add(K, -1);
    }
}

/// Counts `n` bytes of kind `K` while it exists.
#[derive(Debug, Default)]
pub(crate) struct Bytes<const K: usize>(usize);

impl<const K: usize> Bytes<K> {
    pub(crate) fn get(&self) -> usize {
        self.0
    }

    pub(crate) fn set(&mut self, n: usize) {
        // Two's complement: the difference is exact modulo 2^64.
        add(K, n.wrapping_sub(self.0) as isize);
        self.0 = n;
    }
}

impl<const K: usize> Drop for Bytes<K> {
    fn drop(&mut self) {
        self.set(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each thread counts its own objects: what another thread makes is
    /// not in this thread's count, and a peak is the most held at once.
    #[test]
    fn over_share_spares_the_small_until_twice_the_bound() {
        // Within the bound, nobody gives up.
        assert!(!over_share(500, 1000, 2, 1000));
        // Over it: the mean (600) or more gives up, less does not.
        assert!(over_share(600, 1200, 2, 1000));
        assert!(!over_share(100, 1200, 2, 1000));
        // Over twice the bound, even a small one does; nothing held, never.
        assert!(over_share(100, 2500, 10, 1000));
        assert!(!over_share(0, 5000, 10, 1000));
        // No holder counted reads as one.
        assert!(over_share(1200, 1200, 0, 1000));
    }

    #[test]
    fn counts_and_peaks_are_per_thread() {
        reset_peaks();
        let base = counter(APP_STATES);
        let mine: Vec<Live<APP_STATES>> = (0..5).map(|_| Default::default()).collect();
        let mut b = Bytes::<PARSER_BYTES>::default();
        b.set(1000);
        b.set(300);
        let (theirs, their_count, their_peak) = std::thread::spawn(|| {
            let t: Vec<Live<APP_STATES>> = (0..7).map(|_| Default::default()).collect();
            (t.len(), counter(APP_STATES), peak(APP_STATES))
        })
        .join()
        .expect("thread");
        assert_eq!((theirs, their_count, their_peak), (7, 7, 7));
        assert_eq!(counter(APP_STATES), base + 5);
        assert_eq!(counter(PARSER_BYTES), 300);
        assert_eq!(peak(PARSER_BYTES), 1000);
        drop(mine);
        drop(b);
        assert_eq!(counter(APP_STATES), base);
        assert_eq!(peak(APP_STATES), base + 5);
        assert_eq!(counter(PARSER_BYTES), 0);
        reset_peaks();
        assert_eq!(peak(APP_STATES), base);
        assert_eq!(peak(PARSER_BYTES), 0);
    }

    /// An object dropped by another thread than its maker's leaves that
    /// thread's count below zero: it reads 0, never a huge number.
    #[test]
    fn a_drop_on_another_thread_reads_zero_there() {
        // (`Default`, not the unit value: making one is what counts it.)
        let l: Live<DPI_STATES> = Default::default();
        let after = std::thread::spawn(move || {
            drop(l);
            counter(DPI_STATES)
        })
        .join()
        .expect("thread");
        assert_eq!(after, 0);
    }
}
