//! Streaming, zero-copy reading of packet captures (classic pcap in both
//! byte orders with micro- or nanosecond timestamps, Kuznetzov's modified
//! pcap, and pcapng), plus pcap/pcapng writers.
//!
//! The format is recognised by its magic bytes, never by the file name.
//! Frames are lent out of one large internal buffer: reading costs no
//! allocation and no copy per packet.
//!
//! Every [`CaptureError`] names the byte offset where the input went wrong.
//! A capture cut short inside its last record is not an error: the reader
//! ends normally and [`CaptureReader::truncation`] says where.

// Wire data is hostile: no unwrap/expect outside tests, and no string
// slicing at byte offsets that may split a character (issue 21 §5).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::string_slice)
)]

mod buf;
mod decompress;
mod error;
mod read;
mod write;

pub use decompress::{Compression, MAX_RATIO, RATIO_GRACE};
pub use error::{CaptureError, Magic};
pub use read::CaptureReader;

pub use write::{PcapWriter, PcapngWriter, TsPrecision};

/// Largest record (pcap record or pcapng block) the reader will buffer.
pub const MAX_RECORD_LEN: u64 = 256 * 1024 * 1024;

/// The usual maximum snaplen (tcpdump's and Wireshark's default). A record
/// is only "absurd" above max(snaplen, this), capped by [`MAX_RECORD_LEN`].
pub const STANDARD_MAX_SNAPLEN: u64 = 262_144;

/// One captured frame, borrowed from the reader's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Nanoseconds since the Unix epoch (0 for pcapng Simple Packet Blocks,
    /// which carry no timestamp; saturated at 0 and `u64::MAX`).
    pub ts_ns: u64,
    /// Link type (LINKTYPE_* value) of the frame's interface.
    pub linktype: u32,
    /// The captured bytes.
    pub data: &'a [u8],
    /// Length of the packet on the wire (may exceed `data.len()`).
    pub orig_len: u32,
    /// Index into [`CaptureReader::interfaces`] (0 for classic pcap).
    pub interface: u32,
    /// Byte offset of the record (pcap record header or pcapng block) in
    /// the input.
    pub offset: u64,
}

/// The detected capture format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaptureFormat {
    /// Classic libpcap format.
    Pcap { nanos: bool, big_endian: bool },
    /// Kuznetzov's "modified" pcap (magic a1b2cd34): microseconds, 24-byte
    /// record headers.
    PcapModified { big_endian: bool },
    /// pcapng (sections may differ in byte order).
    Pcapng,
}

/// What is known about one capture interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceInfo {
    /// Link type (pcap: header link type with the FCS bits masked off).
    pub linktype: u32,
    /// Snapshot length (pcapng: 0 means no limit).
    pub snaplen: u32,
    /// Timestamp resolution, pcapng if_tsresol encoding: 10^-n seconds, or
    /// 2^-(n & 0x7f) when the high bit is set. 6 (microseconds) by default.
    pub tsresol: u8,
    /// pcapng if_tsoffset: seconds added to every timestamp.
    pub ts_offset_secs: i64,
    /// Bytes of frame check sequence at the end of each frame, when the
    /// file says (pcap link type FCS bits, pcapng if_fcslen).
    pub fcs_len: Option<u8>,
    /// pcapng if_name.
    pub name: Option<String>,
    /// pcapng section the interface belongs to (0-based).
    pub section: u32,
}

/// Reader counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames returned so far.
    pub frames: u64,
    /// pcapng blocks skipped (statistics, name resolution, decryption
    /// secrets, custom and unknown blocks).
    pub blocks_skipped: u64,
    /// Input bytes consumed (offset just past the last complete record).
    pub bytes_read: u64,
    /// Sum of the captured lengths of the frames returned.
    pub captured_bytes: u64,
    /// Sections seen (1 for classic pcap).
    pub sections: u32,
}

/// A damaged byte range that reading with resynchronisation skipped (see
/// [`CaptureReader::set_resync`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Damage {
    /// Offset of the first byte skipped (where the bad record started).
    pub offset: u64,
    /// Bytes skipped up to the next plausible record (or the end).
    pub len: u64,
    /// What was wrong at `offset` (the error strict reading gives).
    pub reason: &'static str,
    /// Packet time of the last record read before the damage (`None` when
    /// the damage comes before any record): where it sits in time.
    pub ts_ns: Option<u64>,
}

/// Damaged ranges kept in [`CaptureReader::damage`]; later ones are only
/// counted.
pub const MAX_DAMAGE_RANGES: usize = 1024;

/// Bytes one resynchronisation scans for a plausible record before giving
/// up on the rest of the input.
pub const MAX_RESYNC_SCAN: u64 = 64 * 1024 * 1024;

/// Where and how a capture was cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncation {
    /// Byte offset of the incomplete record.
    pub offset: u64,
    /// Bytes the record needed (its header alone if the header is cut).
    pub expected: u64,
    /// Bytes the input still had from `offset` on.
    pub available: u64,
}

#[cfg(test)]
mod resync_tests;
#[cfg(test)]
mod tests;
