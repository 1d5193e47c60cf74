//! `netsift extract CAPTURE --uid UID -o flow.pcap`: the packets of one
//! flow, every fragment included, as a capture Wireshark opens.
//!
//! The capture is read twice: once through the same pipeline as
//! `netsift flows` (so uids are the same) to learn which frames make the
//! flow, once to copy those frames unchanged.

use std::collections::HashSet;
use std::fs::File;
use std::io::BufWriter;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use netsift_capture::{CaptureReader, PcapWriter, PcapngWriter, TsPrecision};
use netsift_engine::{FlowHandler, Pipeline};
use netsift_flow::{Flow, Seen};
use netsift_wire::Decoded;

use crate::flows::pipeline_config;
use crate::ExtractArgs;

struct Collect {
    uid: String,
    frames: HashSet<u64>,
}

impl FlowHandler<()> for Collect {
    fn on_packet(&mut self, _f: &mut Flow<()>, _s: Seen, _p: &Decoded<'_>) {}
    fn on_flow_end(&mut self, _flow: Flow<()>) {}
    fn on_frames(&mut self, flow: &Flow<()>, frames: &[u64]) {
        if flow.uid.to_string() == self.uid {
            self.frames.extend(frames.iter().copied());
        }
    }
}

pub fn run(args: &ExtractArgs) -> Result<ExitCode> {
    if args.capture.as_os_str() == "-" {
        bail!("extract reads the capture twice: give a file, not stdin");
    }
    let cfg = pipeline_config(&args.common)?;
    let mut pipe: Pipeline<()> = Pipeline::new(cfg);
    pipe.track_frames();
    let mut h = Collect {
        uid: args.uid.clone(),
        frames: HashSet::new(),
    };
    let path = &args.capture;
    let mut rd = CaptureReader::open(path).with_context(|| path.display().to_string())?;
    while let Some(f) = rd
        .next_frame()
        .with_context(|| path.display().to_string())?
    {
        pipe.on_frame(&f, &mut h);
    }
    pipe.finish(&mut h);
    if h.frames.is_empty() {
        bail!("{}: no flow with uid {}", path.display(), args.uid);
    }
    // Second pass: copy the frames.
    let mut rd = CaptureReader::open(path).with_context(|| path.display().to_string())?;
    let mut frames: Vec<(u64, u32, u32, Vec<u8>, u32)> = Vec::new();
    let mut n = 0u64;
    while let Some(f) = rd
        .next_frame()
        .with_context(|| path.display().to_string())?
    {
        n += 1;
        if h.frames.contains(&n) {
            frames.push((
                f.ts_ns,
                f.linktype,
                f.interface,
                f.data.to_vec(),
                f.orig_len,
            ));
        }
    }
    let out = File::create(&args.output)
        .with_context(|| format!("creating {}", args.output.display()))?;
    let linktypes: HashSet<u32> = frames.iter().map(|f| f.1).collect();
    let written = frames.len();
    if linktypes.len() == 1 {
        let lt = frames[0].1;
        let mut w = PcapWriter::new(BufWriter::new(out), lt, 262_144, TsPrecision::Nano)?;
        for (ts, _, _, data, orig) in &frames {
            w.write_packet(*ts, data, *orig)?;
        }
        w.flush()?;
    } else {
        // A flow whose frames came from interfaces of different link types
        // (pcapng): keep them apart in a pcapng.
        let mut w = PcapngWriter::new(BufWriter::new(out))?;
        let mut ifaces = std::collections::HashMap::new();
        for (ts, lt, _, data, orig) in &frames {
            let id = match ifaces.get(lt) {
                Some(id) => *id,
                None => {
                    let id = w.add_interface(*lt, 0)?;
                    ifaces.insert(*lt, id);
                    id
                }
            };
            w.write_packet(id, *ts, data, *orig)?;
        }
        w.flush()?;
    }
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
