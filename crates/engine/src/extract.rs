//! The packets of one flow, every fragment included, copied unchanged from
//! its capture (`netsift extract`, and the web analyzer's per-flow pcap).
//!
//! The capture is read through the same pipeline as `netsift flows` (so
//! uids are the same for the same configuration and uid seed) to learn
//! which frames make the flow, then read again to copy those frames as
//! they stream by: memory holds frame numbers, never packet bytes.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;

use netsift_capture::{CaptureReader, PcapWriter, PcapngWriter, TsPrecision};
use netsift_flow::{Flow, Seen};
use netsift_wire::Decoded;

use crate::pipeline::{FlowHandler, Pipeline, PipelineConfig};
use crate::run::EngineError;

struct Collect<'a> {
    uid: &'a str,
    frames: HashSet<u64>,
}

impl FlowHandler<()> for Collect<'_> {
    fn on_packet(&mut self, _f: &mut Flow<()>, _s: Seen, _p: &Decoded<'_>) {}
    fn on_flow_end(&mut self, _flow: Flow<()>) {}
    fn on_frames(&mut self, flow: &Flow<()>, frames: &[u64]) {
        if flow.uid.to_string() == self.uid {
            self.frames.extend(frames.iter().copied());
        }
    }
}

/// Open a capture reading past damaged records as `analyze` does by
/// default, so frame numbers (and uids) agree with the analysis.
fn open(path: &Path) -> Result<CaptureReader<Box<dyn std::io::Read + Send>>, EngineError> {
    let mut r = CaptureReader::open(path).map_err(|source| EngineError::Capture {
        path: path.to_path_buf(),
        source,
    })?;
    r.set_resync(true);
    Ok(r)
}

/// Frame numbers (1-based, in capture order) of the flow `uid`.
pub fn flow_frames(
    path: &Path,
    cfg: PipelineConfig,
    uid: &str,
) -> Result<HashSet<u64>, EngineError> {
    let mut pipe: Pipeline<()> = Pipeline::new(cfg);
    pipe.track_frames();
    let mut h = Collect {
        uid,
        frames: HashSet::new(),
    };
    let mut rd = open(path)?;
    while let Some(f) = rd.next_frame().map_err(|source| EngineError::Capture {
        path: path.to_path_buf(),
        source,
    })? {
        pipe.on_frame(&f, &mut h);
    }
    pipe.finish(&mut h);
    Ok(h.frames)
}

/// Copy the frames numbered in `frames` from `path` to `out`: a pcap when
/// they share one link type, else a pcapng with one interface per link
/// type. The number of packets written.
pub fn write_frames<W: Write>(
    path: &Path,
    frames: &HashSet<u64>,
    out: W,
) -> Result<usize, ExtractError> {
    let cap_err = |source| EngineError::Capture {
        path: path.to_path_buf(),
        source,
    };
    // Pass 1: the link types of the selected frames (no bytes kept).
    let mut linktypes = HashSet::new();
    let mut rd = open(path)?;
    let mut n = 0u64;
    while let Some(f) = rd.next_frame().map_err(cap_err)? {
        n += 1;
        if frames.contains(&n) {
            linktypes.insert(f.linktype);
        }
    }
    // Pass 2: copy.
    let mut rd = open(path)?;
    let (mut n, mut written) = (0u64, 0usize);
    if linktypes.len() <= 1 {
        let lt = linktypes.iter().next().copied().unwrap_or(1);
        let mut w = PcapWriter::new(out, lt, 262_144, TsPrecision::Nano)?;
        while let Some(f) = rd.next_frame().map_err(cap_err)? {
            n += 1;
            if frames.contains(&n) {
                w.write_packet(f.ts_ns, f.data, f.orig_len)?;
                written += 1;
            }
        }
        w.flush()?;
    } else {
        let mut w = PcapngWriter::new(out)?;
        let mut ifaces = HashMap::new();
        while let Some(f) = rd.next_frame().map_err(cap_err)? {
            n += 1;
            if !frames.contains(&n) {
                continue;
            }
            let id = match ifaces.get(&f.linktype) {
                Some(id) => *id,
                None => {
                    let id = w.add_interface(f.linktype, 0)?;
                    ifaces.insert(f.linktype, id);
                    id
                }
            };
            w.write_packet(id, f.ts_ns, f.data, f.orig_len)?;
            written += 1;
        }
        w.flush()?;
    }
    Ok(written)
}

/// Reading the capture or writing the output failed.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("writing: {0}")]
    Io(#[from] std::io::Error),
}
