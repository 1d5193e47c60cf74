//! Memory accounting: estimates of the bytes held by flows, reassembly,
//! parsers, DPI state and detectors, so that a user sees what grows.
//!
//! The figures are counted, not measured: live objects are counted as they
//! are created and dropped (process-wide counters) and multiplied by their
//! size, and byte buffers that are already bounded and counted (the
//! reassembly budget, the pre-verdict buffers) are added as they are. What
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
use std::sync::atomic::{AtomicUsize, Ordering};

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

/// Process-wide counters (indices below).
static COUNTERS: [AtomicUsize; 5] = [
    AtomicUsize::new(0),
    AtomicUsize::new(0),
    AtomicUsize::new(0),
    AtomicUsize::new(0),
    AtomicUsize::new(0),
];

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

pub(crate) fn counter(k: usize) -> usize {
    COUNTERS.get(k).map_or(0, |c| c.load(Ordering::Relaxed))
}

/// Counts one live object of kind `K` while it exists.
#[derive(Debug)]
pub(crate) struct Live<const K: usize>;

impl<const K: usize> Default for Live<K> {
    fn default() -> Self {
        if let Some(c) = COUNTERS.get(K) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        Live
    }
}

impl<const K: usize> Drop for Live<K> {
    fn drop(&mut self) {
        if let Some(c) = COUNTERS.get(K) {
            c.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Counts `n` bytes of kind `K` while it exists.
#[derive(Debug, Default)]
pub(crate) struct Bytes<const K: usize>(usize);

impl<const K: usize> Bytes<K> {
    pub(crate) fn set(&mut self, n: usize) {
        if let Some(c) = COUNTERS.get(K) {
            if n >= self.0 {
                c.fetch_add(n - self.0, Ordering::Relaxed);
            } else {
                c.fetch_sub(self.0 - n, Ordering::Relaxed);
            }
        }
        self.0 = n;
    }
}

impl<const K: usize> Drop for Bytes<K> {
    fn drop(&mut self) {
        self.set(0);
    }
}
