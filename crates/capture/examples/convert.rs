//! Re-write a capture: `convert IN OUT.pcapng` or `convert IN OUT.pcap [nano]`
//! (classic pcap needs a single link type). Shows the writers in use.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use netsift_capture::{CaptureReader, PcapWriter, PcapngWriter, TsPrecision};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, input, output, rest @ ..] = &args[..] else {
        return Err("usage: convert IN OUT.pcap|OUT.pcapng [nano]".into());
    };
    let mut r = CaptureReader::open(Path::new(input))?;
    let out = BufWriter::new(File::create(output)?);
    if output.ends_with(".pcapng") {
        let mut w = PcapngWriter::new(out)?;
        while let Some(f) = r.next_frame()? {
            w.write_frame(&f)?;
        }
        w.into_inner()?;
    } else {
        let lts = r.linktypes();
        let [lt] = lts[..] else {
            return Err(format!("classic pcap needs one link type, input has {lts:?}").into());
        };
        let prec = if rest.iter().any(|a| a == "nano") {
            TsPrecision::Nano
        } else {
            TsPrecision::Micro
        };
        let mut w = PcapWriter::new(out, lt, r.snaplen(), prec)?;
        while let Some(f) = r.next_frame()? {
            w.write_frame(&f)?;
        }
        w.into_inner()?;
    }
    if let Some(t) = r.truncation() {
        eprintln!("warning: input truncated at offset {}", t.offset);
    }
    eprintln!("{} frames", r.stats().frames);
    Ok(())
}
