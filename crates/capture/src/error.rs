//! Errors of the capture layer. Every variant names the byte offset in the
//! input where the problem was found, so a user can look at the file with a
//! hex editor (or cut it there) without guessing.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Four magic bytes, printed as `a1 b2 c3 d4`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Magic(pub [u8; 4]);

impl fmt::Display for Magic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.0;
        write!(f, "{a:02x} {b:02x} {c:02x} {d:02x}")
    }
}

/// Everything that can go wrong while reading a capture.
///
/// `offset()` gives the byte offset for every variant; the `Display` text
/// always contains "at offset N".
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// The path could not be opened.
    #[error("cannot open {}: {source} (at offset 0)", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// Zero bytes of input.
    #[error("empty file: no capture header at offset 0")]
    Empty,

    /// The first four bytes are neither a pcap nor a pcapng magic.
    #[error("not a pcap or pcapng file: magic {magic} at offset 0{hint}")]
    UnknownMagic { magic: Magic, hint: &'static str },

    /// The file header (pcap global header, or the first pcapng Section
    /// Header Block) is cut short.
    #[error("{what} truncated: need {needed} bytes, file has {available} at offset {offset}")]
    HeaderTruncated {
        what: &'static str,
        needed: u64,
        available: u64,
        offset: u64,
    },

    /// A record or block claims a length no sane capture has; reading on
    /// would mean buffering garbage.
    #[error("absurd record length {len} at offset {offset} (limit {limit})")]
    AbsurdRecordLength { len: u64, limit: u64, offset: u64 },

    /// A pcap major version other than 2, or a pcapng major version other than 1.
    #[error("unsupported {what} version {major}.{minor} at offset {offset}")]
    UnsupportedVersion {
        what: &'static str,
        major: u16,
        minor: u16,
        offset: u64,
    },

    /// pcapng Section Header Block with an unknown byte-order magic.
    #[error("bad pcapng byte-order magic {magic} at offset {offset}")]
    BadByteOrderMagic { magic: Magic, offset: u64 },

    /// pcapng block total length below 12 or not a multiple of 4.
    #[error(
        "bad pcapng block length {len} at offset {offset} (must be >= 12 and a multiple of 4)"
    )]
    BadBlockLength { len: u32, offset: u64 },

    /// The trailing copy of a pcapng block length differs from the leading one.
    #[error("pcapng block length mismatch at offset {offset}: header says {header}, trailer says {trailer}")]
    BlockLengthMismatch {
        header: u32,
        trailer: u32,
        offset: u64,
    },

    /// A pcapng block whose content does not fit its length (e.g. an EPB
    /// whose captured length runs past the block end).
    #[error("malformed pcapng {block} block at offset {offset}: {reason}")]
    MalformedBlock {
        block: &'static str,
        reason: &'static str,
        offset: u64,
    },

    /// A packet block naming an interface no IDB of the section defined.
    #[error("pcapng {block} at offset {offset} references undefined interface {interface} (section has {defined})")]
    UndefinedInterface {
        block: &'static str,
        interface: u32,
        defined: u32,
        offset: u64,
    },

    /// Resynchronising after damage found no plausible record within the
    /// scan bound: what follows is not a capture.
    #[error("damaged capture: no plausible record in the {scanned} bytes after offset {offset}")]
    NoRecordFound { scanned: u64, offset: u64 },

    /// A pcap record whose timestamp fraction is out of range (reading
    /// with resynchronisation only: the sign of a misaligned record).
    #[error("bad pcap timestamp fraction {frac} at offset {offset}")]
    BadTimestamp { frac: u64, offset: u64 },

    /// Reading the input failed.
    #[error("I/O error at offset {offset}: {source}")]
    Io {
        offset: u64,
        #[source]
        source: io::Error,
    },
}

impl CaptureError {
    /// Damage inside the records that reading with resynchronisation skips
    /// (as opposed to a file that is no capture at all, or an I/O error).
    pub fn is_record_damage(&self) -> bool {
        matches!(
            self,
            CaptureError::AbsurdRecordLength { .. }
                | CaptureError::UnsupportedVersion { .. }
                | CaptureError::BadByteOrderMagic { .. }
                | CaptureError::BadBlockLength { .. }
                | CaptureError::BlockLengthMismatch { .. }
                | CaptureError::MalformedBlock { .. }
                | CaptureError::UndefinedInterface { .. }
                | CaptureError::BadTimestamp { .. }
        )
    }

    /// Byte offset in the input where the error was detected.
    pub fn offset(&self) -> u64 {
        match self {
            CaptureError::Open { .. } | CaptureError::Empty | CaptureError::UnknownMagic { .. } => {
                0
            }
            CaptureError::HeaderTruncated { offset, .. }
            | CaptureError::AbsurdRecordLength { offset, .. }
            | CaptureError::UnsupportedVersion { offset, .. }
            | CaptureError::BadByteOrderMagic { offset, .. }
            | CaptureError::BadBlockLength { offset, .. }
            | CaptureError::BlockLengthMismatch { offset, .. }
            | CaptureError::MalformedBlock { offset, .. }
            | CaptureError::UndefinedInterface { offset, .. }
            | CaptureError::NoRecordFound { offset, .. }
            | CaptureError::BadTimestamp { offset, .. }
            | CaptureError::Io { offset, .. } => *offset,
        }
    }
}

/// A hint for the "unknown magic" message: what the file looks like instead.
pub(crate) fn magic_hint(head: &[u8]) -> &'static str {
    match head {
        [0x1f, 0x8b, ..] => " (looks like gzip-compressed data: decompress it first)",
        [0x28, 0xb5, 0x2f, 0xfd, ..] => " (looks like zstd-compressed data: decompress it first)",
        [0xfd, b'7', b'z', b'X', ..] => " (looks like xz-compressed data: decompress it first)",
        [b'B', b'Z', b'h', ..] => " (looks like bzip2-compressed data: decompress it first)",
        [b'P', b'K', 3, 4, ..] => " (looks like a zip archive)",
        [b's', b'n', b'o', b'o', ..] => " (looks like a Solaris snoop capture, not supported)",
        [0x0a, 0x0d, 0x0d, 0x0a, ..] => "",
        _ if !head.is_empty()
            && head
                .iter()
                .all(|&b| b.is_ascii_graphic() || b.is_ascii_whitespace()) =>
        {
            " (looks like a text file, e.g. tcpdump/tshark text output, not a capture)"
        }
        _ => "",
    }
}
