//! Prefetch hints: ask the CPU for memory a few steps before it is read.
//!
//! The scan detector prefetches the slot of a flow's source a few flows
//! before it runs the flow ([`crate::scan::ScanDetector::observe_deferred`]);
//! the merging thread of `--threads` (netsift-engine) prefetches the next
//! event a worker made on the other core, whose first touch missed the
//! cache each time (under a flood, a million times).

// Stable Rust has no safe prefetch; this module is the only unsafe code
// of the crate.
#![allow(unsafe_code)]

/// Bytes in a cache line (x86_64, and most others).
const LINE: usize = 64;

/// The cache lines of `v` itself (not what it points to).
pub fn value<T>(v: &T) {
    let p = (v as *const T).cast::<u8>();
    for off in (0..std::mem::size_of::<T>()).step_by(LINE) {
        line(p.wrapping_add(off));
    }
}

/// The first `max_lines` cache lines of `b`.
pub fn bytes(b: &[u8], max_lines: usize) {
    for off in (0..b.len().min(max_lines * LINE)).step_by(LINE) {
        line(b.as_ptr().wrapping_add(off));
    }
}

#[cfg(target_arch = "x86_64")]
fn line(p: *const u8) {
    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
    // SAFETY: a prefetch is a hint; it never faults and reads nothing into
    // the program, whatever the address (Intel SDM, PREFETCHh). SSE, which
    // it needs, is part of every x86_64.
    unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast()) }
}

#[cfg(not(target_arch = "x86_64"))]
fn line(_p: *const u8) {}
