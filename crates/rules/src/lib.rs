//! Suricata's rule language, engine-agnostic: parse rule files (with
//! Suricata's variables, escaping and line continuation), compile them to
//! matchers with a multi-pattern prefilter per inspected buffer, and run
//! them over packets, reassembled stream bytes, application-layer
//! transactions and files handed over by an engine.
//!
//! * [`RuleSet::load`] / [`RuleSet::parse_str`]: rules → an immutable,
//!   shareable [`RuleSet`] plus a [`LoadReport`] (rules skipped because they
//!   use a keyword outside the supported subset, syntax errors with
//!   file:line:col).
//! * [`Detector`]: one per run, holds the cross-flow state (threshold and
//!   detection_filter counters, bounded, expiring in packet time).
//! * [`FlowRules`]: per-flow state (flowbits, which (rule, tx) already
//!   fired, stream tails), small while unused.
//!
//! The supported subset and the semantics are described in
//! `docs/suricata-rules.md`.

// Rule files, models and record fields are untrusted input: no
// unwrap/expect outside tests, and no string slicing at byte offsets that
// may split a character (issue 21 §5).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::string_slice)
)]

mod classification;
mod detect;
mod eval;
mod load;
mod matcher;
mod parse;
mod rule;
mod vars;

#[cfg(test)]
mod tests;

pub use classification::{classification, Classification};
pub use detect::{Detector, FileView, FlowInfo, FlowRules, Match, Packet, TxBuffers};
pub use load::{LoadError, LoadReport, RuleSet, Skipped, SyntaxError};
pub use netsift_proto::BufferKind;
pub use rule::{Action, Inspect, Rule, RuleId};
pub use vars::{VarError, Vars};
