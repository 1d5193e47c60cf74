//! Detection over what the engine extracts: IP/CIDR, domain and URL
//! blacklists, payload byte signatures matched over reassembled streams,
//! port scans, brute force, floods (denial of service), and alert aggregation.
//!
//! Detection depends on records and summaries, not on packet plumbing:
//! the engine feeds it flow summaries, protocol facts (domains, URIs, login
//! outcomes) and stream bytes, and collects [`alert::Alert`]s. Every window
//! is in packet time.

pub mod alert;
pub mod brute;
pub mod dos;
pub mod rule_file;
pub mod rules;
pub mod scan;
pub mod signature;
