//! Detection over what the engine extracts: IP/CIDR, domain and URL
//! blacklists, payload byte signatures matched over reassembled streams,
//! port scans, brute force, floods (denial of service), and alert aggregation.
//!
//! Detection depends on records and summaries, not on packet plumbing:
//! the engine feeds it flow summaries, protocol facts (domains, URIs, login
//! outcomes) and stream bytes, and collects [`alert::Alert`]s. Every window
//! is in packet time.

#![deny(unsafe_code)]

/// A map keyed by addresses a sender chooses, hashed with a random seed per
/// map (foldhash), so that no one can work out keys that collide (an
/// unkeyed hash such as Fx is a polynomial in the key's words). Nothing
/// reported depends on such a map's order.
pub(crate) type SeededMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

pub mod alert;
pub mod brute;
pub mod dos;
pub mod prefetch;
pub mod rule_file;
pub mod rules;
pub mod scan;
pub mod signature;
