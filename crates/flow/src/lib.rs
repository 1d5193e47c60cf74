//! Flow tracking: bidirectional flow keys, a bounded flow table with
//! packet-time timeouts, Zeek-style `conn_state`/`history`, Community ID,
//! and IPv4/IPv6 fragment reassembly. Knows no application protocol.
//!
//! Nothing here reads a clock: every timeout is driven by the timestamps of
//! the packets fed in, so a replayed capture gives the same flows as the
//! live wire.

// Wire data is hostile: no unwrap/expect outside tests, and no string
// slicing at byte offsets that may split a character (issue 21 §5).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::string_slice)
)]

pub mod chunked;
pub mod community_id;
pub mod conn;
pub mod defrag;
pub mod key;
pub mod reassembly;
pub mod table;

pub use community_id::{community_id_v1, CommunityId};
pub use conn::{ConnTracker, EndpointState};
pub use defrag::{DefragConfig, DefragStats, Defragmenter, FragmentIn};
pub use key::{l4_name, l4_number, Endpoint, FlowKey};
pub use reassembly::{Budget, Chunk, ReassemblyConfig, Stream, StreamEvent, StreamStats};
pub use table::{Dir, DirStats, EndReason, Flow, FlowConfig, FlowTable, Seen, TableStats, Uid};

/// A map keyed by what a sender chooses (addresses, ports, IP ids), hashed
/// with a random seed per map (foldhash): an unkeyed hash lets anyone work
/// out keys that collide (see the flow table's `key_hash`, which keys its
/// own index the same way). Its order must not reach the output.
pub type SeededMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
