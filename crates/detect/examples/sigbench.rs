//! Micro-benchmark of payload signature matching, per scanned byte:
//!
//!     cargo run --release -p netsift-detect --example sigbench -- SIGNATURES.txt
//!
//! Scans 100 MB of pseudo-random bytes once as one buffer and once as a
//! stream of 1460-byte segments. `bench/rules.sh` generates 10- and
//! 10,000-signature files (bench/out/sigs-10.txt, sigs-10k.txt).

use std::path::Path;
use std::time::Instant;

use netsift_detect::signature::SignatureSet;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: sigbench SIGNATURES.txt")?;
    let set = SignatureSet::from_file(Path::new(&path))?;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let data: Vec<u8> = (0..100_000_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    let t = Instant::now();
    let n = set.scan(&data).len();
    let one = t.elapsed().as_nanos() as f64 / data.len() as f64;
    let mut m = set.stream();
    let mut out = Vec::new();
    let t = Instant::now();
    for c in data.chunks(1460) {
        m.feed(&set, c, &mut out);
    }
    let stream = t.elapsed().as_nanos() as f64 / data.len() as f64;
    println!(
        "{} signatures: {n} matches; {one:.2} ns/byte as one buffer, {stream:.2} ns/byte as 1460-byte segments",
        set.len()
    );
    Ok(())
}
