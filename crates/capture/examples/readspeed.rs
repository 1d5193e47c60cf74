//! Read a capture as fast as possible and print frames/s:
//! `cargo run --release -p netsift-capture --example readspeed -- FILE [REPEAT]`
//! (`-` reads stdin).

use std::path::Path;
use std::time::Instant;

use netsift_capture::CaptureReader;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).ok_or("usage: readspeed FILE [REPEAT]")?;
    let repeat: u32 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let t = Instant::now();
    let (mut frames, mut bytes, mut sum) = (0u64, 0u64, 0u64);
    for _ in 0..repeat {
        let mut r = CaptureReader::open(Path::new(path))?;
        while let Some(f) = r.next_frame()? {
            frames += 1;
            bytes += f.data.len() as u64;
            sum = sum.wrapping_add(f.ts_ns ^ f.data.first().copied().unwrap_or(0) as u64);
        }
        if let Some(tr) = r.truncation() {
            eprintln!("warning: capture truncated at offset {}", tr.offset);
        }
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "{frames} frames, {bytes} bytes in {s:.3}s: {:.2} Mframes/s, {:.0} MB/s (checksum {sum:x})",
        frames as f64 / s / 1e6,
        bytes as f64 / s / 1e6
    );
    Ok(())
}
