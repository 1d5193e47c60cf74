//! `netsift extract CAPTURE --uid UID -o flow.pcap`: the packets of one
//! flow, every fragment included, as a capture Wireshark opens.
//!
//! The work is [`netsift_engine::extract`] (shared with the web analyzer's
//! per-flow pcap download).

use std::fs::File;
use std::io::BufWriter;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use netsift_engine::extract::{flow_frames, write_frames};

use crate::flows::pipeline_config;
use crate::ExtractArgs;

pub fn run(args: &ExtractArgs) -> Result<ExitCode> {
    if args.capture.as_os_str() == "-" {
        bail!("extract reads the capture twice: give a file, not stdin");
    }
    let cfg = pipeline_config(&args.common)?;
    let path = &args.capture;
    let frames = flow_frames(path, cfg, &args.uid)?;
    if frames.is_empty() {
        bail!("{}: no flow with uid {}", path.display(), args.uid);
    }
    let out = File::create(&args.output)
        .with_context(|| format!("creating {}", args.output.display()))?;
    let written = write_frames(path, &frames, BufWriter::new(out))?;
    if !args.common.quiet {
        eprintln!(
            "netsift: {}: wrote {written} packets of flow {} to {}",
            path.display(),
            args.uid,
            args.output.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
