//! Running a whole capture through a [`Pipeline`].

use std::io::Read;
use std::path::{Path, PathBuf};

use netsift_capture::{CaptureError, CaptureFormat, CaptureReader, Damage, Truncation};
use netsift_flow::{DefragStats, TableStats};
use netsift_wire::LinkType;

use crate::pipeline::{Counters, FlowHandler, Pipeline, PipelineConfig};

/// Fatal problems with one capture. Each names the file and a byte offset.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{}: {source}", path.display())]
    Capture {
        path: PathBuf,
        #[source]
        source: CaptureError,
    },
    #[error("{}: unsupported link type {linktype} at offset {offset}", path.display())]
    UnsupportedLinkType {
        path: PathBuf,
        linktype: u32,
        offset: u64,
    },
}

/// What happened while reading one capture.
#[derive(Debug, Clone)]
pub struct CaptureSummary {
    pub path: PathBuf,
    pub format: CaptureFormat,
    pub counters: Counters,
    pub table: TableStats,
    pub defrag: DefragStats,
    /// Set when the capture ended inside a record.
    pub truncation: Option<Truncation>,
    /// pcapng blocks skipped (statistics, name resolution, unknown, ...).
    pub blocks_skipped: u64,
    /// The pcap header declared snaplen 0 (invalid; read as "no snaplen").
    pub zero_snaplen: bool,
    /// Damaged byte ranges skipped (the first
    /// [`netsift_capture::MAX_DAMAGE_RANGES`]), and the totals of all.
    pub damage: Vec<Damage>,
    pub damaged_bytes: u64,
    pub damaged_ranges: u64,
}

impl CaptureSummary {
    /// Flows produced (every flow ends, so this is all of them).
    pub fn flows(&self) -> u64 {
        self.table.created
    }
}

/// Progress report, given every few thousand packets.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Input bytes consumed.
    pub bytes_read: u64,
    /// Total input size, when known (not for stdin).
    pub total_bytes: Option<u64>,
    pub packets: u64,
    pub open_flows: usize,
}

/// Read the capture at `path` (`-` is stdin) through a fresh pipeline.
/// `progress` is called every 65,536 frames.
pub fn run_capture<T: Default, H: FlowHandler<T>>(
    path: &Path,
    cfg: PipelineConfig,
    handler: &mut H,
    progress: &mut dyn FnMut(Progress),
) -> Result<CaptureSummary, EngineError> {
    let (reader, total_bytes) = open(path)?;
    run_reader(path, total_bytes, reader, cfg, handler, progress)
}

/// Open the capture at `path` (`-` is stdin), with its size when known
/// (for progress).
pub(crate) fn open(path: &Path) -> Result<(CaptureReader, Option<u64>), EngineError> {
    let total_bytes = if path == Path::new("-") {
        None
    } else {
        std::fs::metadata(path).ok().map(|m| m.len())
    };
    let reader = CaptureReader::open(path).map_err(|source| EngineError::Capture {
        path: path.to_path_buf(),
        source,
    })?;
    Ok((reader, total_bytes))
}

/// Read a capture from an open reader; `path` only labels messages.
pub fn run_reader<R: Read, T: Default, H: FlowHandler<T>>(
    path: &Path,
    total_bytes: Option<u64>,
    mut reader: CaptureReader<R>,
    cfg: PipelineConfig,
    handler: &mut H,
    progress: &mut dyn FnMut(Progress),
) -> Result<CaptureSummary, EngineError> {
    let wrap = |source| EngineError::Capture {
        path: path.to_path_buf(),
        source,
    };
    let (format, zero_snaplen) = prepare(path, &mut reader, &cfg)?;
    let mut pipe: Pipeline<T> = Pipeline::new(cfg);
    let mut n: u64 = 0;
    let mut first_unsupported: Option<(u32, u64)> = None;
    loop {
        let frame = match reader.next_frame() {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                // Flows seen so far are still reported before the error.
                pipe.finish(handler);
                return Err(wrap(e));
            }
        };
        if first_unsupported.is_none() && !LinkType(frame.linktype).is_supported() {
            first_unsupported = Some((frame.linktype, frame.offset));
        }
        pipe.on_frame(&frame, handler);
        n += 1;
        if n & 0xFFFF == 0 {
            progress(Progress {
                bytes_read: reader.stats().bytes_read,
                total_bytes,
                packets: n,
                open_flows: pipe.open_flows(),
            });
        }
    }
    pipe.finish(handler);
    summarize(
        path,
        &reader,
        (format, zero_snaplen),
        (pipe.counters(), pipe.table_stats(), pipe.defrag_stats()),
        first_unsupported,
    )
}

/// Set a reader up for a run (resynchronisation unless strict); its format
/// and whether its pcap header declared snaplen 0. A classic pcap whose
/// link type netsift does not decode is an error at once.
pub(crate) fn prepare<R: Read>(
    path: &Path,
    reader: &mut CaptureReader<R>,
    cfg: &PipelineConfig,
) -> Result<(CaptureFormat, bool), EngineError> {
    reader.set_resync(!cfg.strict_capture);
    let format = reader.format();
    let zero_snaplen = !matches!(format, CaptureFormat::Pcapng)
        && reader.interfaces().first().is_some_and(|i| i.snaplen == 0);
    if let CaptureFormat::Pcap { .. } | CaptureFormat::PcapModified { .. } = format {
        let lt = reader.interfaces().first().map_or(0, |i| i.linktype);
        if !LinkType(lt).is_supported() {
            // The link type sits at offset 20 of the pcap global header.
            return Err(EngineError::UnsupportedLinkType {
                path: path.to_path_buf(),
                linktype: lt,
                offset: 20,
            });
        }
    }
    Ok((format, zero_snaplen))
}

/// The summary of a finished run; an error when every frame had a link
/// type netsift does not decode (`first_unsupported`: the first such).
pub(crate) fn summarize<R: Read>(
    path: &Path,
    reader: &CaptureReader<R>,
    (format, zero_snaplen): (CaptureFormat, bool),
    (counters, table, defrag): (Counters, TableStats, DefragStats),
    first_unsupported: Option<(u32, u64)>,
) -> Result<CaptureSummary, EngineError> {
    if let Some((linktype, offset)) = first_unsupported {
        if counters.unsupported_linktype == counters.packets {
            return Err(EngineError::UnsupportedLinkType {
                path: path.to_path_buf(),
                linktype,
                offset,
            });
        }
    }
    let stats = reader.stats();
    Ok(CaptureSummary {
        path: path.to_path_buf(),
        format,
        counters,
        table,
        defrag,
        truncation: reader.truncation(),
        blocks_skipped: stats.blocks_skipped,
        zero_snaplen,
        damage: reader.damage().to_vec(),
        damaged_bytes: reader.damage_totals().0,
        damaged_ranges: reader.damage_totals().1,
    })
}
