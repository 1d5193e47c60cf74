//! The cost of one identify call on typical first payloads (the fixture
//! table: real client first bytes, banners, random bytes), through the Rust
//! API and through the C ABI (which adds the verdict's allocation and free).
//!
//!     cargo bench -p netsift-ffi --bench identify
//!
//! Each call is timed on its own (Instant around it, the timer's own cost
//! measured and subtracted); median and p99 over ITERS calls per payload.

use std::time::Instant;

#[path = "../tests/common/mod.rs"]
mod common;

use netsift::{netsift_identify, netsift_verdict_free, NETSIFT_TCP, NETSIFT_UDP};
use netsift_proto::{Direction, Transport};
use netsift_protocols::identify_first_payload;

const ITERS: usize = 20_000;

fn percentiles(mut v: Vec<u64>) -> (u64, u64) {
    v.sort_unstable();
    (v[v.len() / 2], v[v.len() * 99 / 100])
}

fn time_each(mut f: impl FnMut(), overhead: u64) -> (u64, u64) {
    for _ in 0..ITERS / 10 {
        f();
    }
    let mut v = Vec::with_capacity(ITERS);
    for _ in 0..ITERS {
        let t = Instant::now();
        f();
        v.push((t.elapsed().as_nanos() as u64).saturating_sub(overhead));
    }
    percentiles(v)
}

fn main() {
    let overhead = {
        let mut v: Vec<u64> = (0..ITERS)
            .map(|_| {
                let t = Instant::now();
                t.elapsed().as_nanos() as u64
            })
            .collect();
        v.sort_unstable();
        v[v.len() / 2]
    };
    println!("identify: ns per call, median / p99 over {ITERS} calls (timer cost {overhead} ns subtracted)");
    println!(
        "{:<12} {:>6} {:<13} {:>15} {:>15}",
        "payload", "bytes", "verdict", "Rust", "C ABI"
    );
    let mut all_rust = Vec::new();
    for row in common::fixtures() {
        let (name, udp, to_client, port, payload, want) = (
            &row.name,
            row.transport == "udp",
            row.direction == "to_client",
            row.port,
            &row.payload,
            &row.want,
        );
        let t = if udp { Transport::Udp } else { Transport::Tcp };
        let d = if to_client {
            Direction::ToClient
        } else {
            Direction::ToServer
        };
        let rust = time_each(
            || {
                std::hint::black_box(identify_first_payload(
                    t,
                    d,
                    port,
                    std::hint::black_box(payload),
                ));
            },
            overhead,
        );
        let c = time_each(
            || unsafe {
                let v = netsift_identify(
                    if udp { NETSIFT_UDP } else { NETSIFT_TCP },
                    u8::from(to_client),
                    port,
                    payload.as_ptr(),
                    payload.len(),
                );
                netsift_verdict_free(std::hint::black_box(v));
            },
            overhead,
        );
        all_rust.push(rust.0);
        println!(
            "{name:<12} {:>6} {want:<13} {:>7} / {:<6} {:>7} / {:<6}",
            payload.len(),
            rust.0,
            rust.1,
            c.0,
            c.1
        );
    }
    let (m, _) = percentiles(all_rust);
    println!("median of the payloads' medians (Rust): {m} ns");
}
