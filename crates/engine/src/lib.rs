//! netsift's engine: capture → decode → defragment → flows → records.
//!
//! The engine is what the CLI (and later the web UI and live capture) drive.
//! [`Pipeline`] is the per-packet core; [`run_capture`] reads a whole
//! capture through it; [`FlowRecord`] is the per-flow output schema.
//!
//! ```no_run
//! use netsift_engine::{run_capture, FlowHandler, FlowRecord, PipelineConfig};
//! use netsift_flow::Flow;
//!
//! struct Print;
//! impl FlowHandler<()> for Print {
//!     fn on_flow_end(&mut self, flow: Flow<()>) {
//!         let rec = FlowRecord::from_flow(&flow, 0);
//!         println!("{} {}:{} -> {}:{} {}", rec.l4, rec.src_ip, rec.src_port,
//!                  rec.dst_ip, rec.dst_port, rec.conn_state);
//!     }
//! }
//!
//! let summary = run_capture(
//!     std::path::Path::new("capture.pcap"),
//!     PipelineConfig::default(),
//!     &mut Print,
//!     &mut |_progress| {},
//! )?;
//! eprintln!("{} packets, {} flows", summary.counters.packets, summary.flows());
//! # Ok::<(), netsift_engine::EngineError>(())
//! ```

#![deny(unsafe_code)]

pub mod accuracy;
/// Content analysis of carved files (re-exported for the CLI).
pub use netsift_content as content;
/// Parsers' records, typed, and the view consumers read them through.
pub use netsift_protocols::records;
pub mod analyze;
pub mod api;
pub mod classify;
#[cfg(feature = "ndpi")]
pub mod compare;
pub mod extract;
pub mod flowstate;
pub mod memory;
pub mod mltrain;
pub mod pipeline;
pub mod record;
pub mod run;
pub mod shard;
pub mod sorted;

pub use api::{ClassifiedFlow, Engine, EngineBuilder, PacketInfo};
pub use classify::{Classifier, ClassifyConfig, Confidence, Verdict};
pub use memory::MemoryUse;
/// The type of [`FlowRecord`]'s short strings (uid, addresses, history, ...).
pub use netsift_proto::text::Text;
pub use pipeline::{Counters, FlowHandler, FrameAt, Pipeline, PipelineConfig};
pub use record::FlowRecord;
pub use run::{run_capture, run_reader, CaptureSummary, EngineError, Progress};

/// The README's Rust examples, compiled (and the runnable ones run) as doc
/// tests so the front page cannot drift from the API.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
