//! The streaming reader for classic pcap and pcapng.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::buf::{InputBuf, INITIAL_CAPACITY};
use crate::error::{magic_hint, CaptureError, Magic};
use crate::{
    CaptureFormat, Damage, Frame, InterfaceInfo, Stats, Truncation, MAX_DAMAGE_RANGES,
    MAX_RECORD_LEN, MAX_RESYNC_SCAN, STANDARD_MAX_SNAPLEN,
};

// pcapng block types.
const SHB_TYPE: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
const IDB: u32 = 1;
const PB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;

/// Slack allowed above the largest snaplen for a pcapng packet block's
/// headers and options before its length counts as absurd.
const PACKET_BLOCK_SLACK: u64 = 64 * 1024;

#[inline(always)]
fn rd32(d: &[u8], at: usize, be: bool) -> u32 {
    let b = [d[at], d[at + 1], d[at + 2], d[at + 3]];
    if be {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    }
}

#[inline(always)]
fn rd16(d: &[u8], at: usize, be: bool) -> u16 {
    let b = [d[at], d[at + 1]];
    if be {
        u16::from_be_bytes(b)
    } else {
        u16::from_le_bytes(b)
    }
}

/// Limit for one packet record given a snaplen (0 = "no limit").
fn sanity_limit(snaplen: u32) -> u64 {
    if snaplen == 0 {
        return MAX_RECORD_LEN;
    }
    (snaplen as u64).clamp(STANDARD_MAX_SNAPLEN, MAX_RECORD_LEN)
}

/// Conversion of pcapng timestamp ticks to nanoseconds, precomputed per
/// interface so the per-packet cost is one multiply (or divide, or shift).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TsScale {
    Mul(u64),
    Div(u64),
    /// ticks * 1e9 / 2^n
    Shr(u32),
    Zero,
}

impl TsScale {
    fn from_tsresol(r: u8) -> TsScale {
        let v = (r & 0x7f) as u32;
        if r & 0x80 == 0 {
            if v <= 9 {
                TsScale::Mul(10u64.pow(9 - v))
            } else if v - 9 <= 19 {
                TsScale::Div(10u64.pow(v - 9))
            } else {
                // 10^20 ticks per ns: every u64 tick count is below 1 ns.
                TsScale::Zero
            }
        } else {
            TsScale::Shr(v)
        }
    }

    #[inline]
    fn apply(self, ticks: u64) -> u64 {
        match self {
            TsScale::Mul(m) => ticks.saturating_mul(m),
            TsScale::Div(d) => ticks / d,
            TsScale::Shr(n) => {
                let x = (ticks as u128 * 1_000_000_000u128)
                    .checked_shr(n)
                    .unwrap_or(0);
                u64::try_from(x).unwrap_or(u64::MAX)
            }
            TsScale::Zero => 0,
        }
    }
}

/// What the hot loop needs per interface.
#[derive(Debug, Clone, Copy)]
struct IfaceRt {
    linktype: u32,
    snaplen: u32,
    scale: TsScale,
    /// if_tsoffset in nanoseconds (0 almost always).
    offset_ns: i128,
}

impl IfaceRt {
    #[inline]
    fn ts_ns(&self, ticks: u64) -> u64 {
        let ns = self.scale.apply(ticks);
        if self.offset_ns == 0 {
            ns
        } else {
            (ns as i128 + self.offset_ns).clamp(0, u64::MAX as i128) as u64
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Pcap {
        be: bool,
        nanos: bool,
        hdr_len: usize,
        linktype: u32,
        limit: u64,
    },
    Pcapng {
        be: bool,
        /// Index in `interfaces` of the current section's interface 0.
        section_base: usize,
        /// Largest acceptable packet block length in this section.
        pkt_limit: u64,
    },
}

/// One past the largest timestamp fraction of a pcap record (microseconds,
/// or nanoseconds for the nanosecond magic).
fn frac_limit(nanos: bool) -> u64 {
    if nanos {
        1_000_000_000
    } else {
        1_000_000
    }
}

/// A pcap record header's (seconds, captured length, original length) when
/// its fraction is in range and its captured length within `limit` and the
/// original length.
fn sane_pcap_header(h: &[u8], be: bool, nanos: bool, limit: u64) -> Option<(u64, u64, u64)> {
    let sec = rd32(h, 0, be) as u64;
    let frac = rd32(h, 4, be) as u64;
    let incl = rd32(h, 8, be) as u64;
    let orig = rd32(h, 12, be) as u64;
    (frac < frac_limit(nanos) && incl <= limit && incl <= orig).then_some((sec, incl, orig))
}

/// What a resynchronisation scan found at a position.
enum Candidate {
    Yes,
    No,
    /// The input ends before a record could start.
    End,
}

/// A short name for the damage an error reports.
fn damage_reason(e: &CaptureError) -> &'static str {
    match e {
        CaptureError::AbsurdRecordLength { .. } => "absurd record length",
        CaptureError::UnsupportedVersion { .. } => "unsupported section version",
        CaptureError::BadByteOrderMagic { .. } => "bad byte-order magic",
        CaptureError::BadBlockLength { .. } => "bad block length",
        CaptureError::BlockLengthMismatch { .. } => "block length mismatch",
        CaptureError::MalformedBlock { .. } => "malformed block",
        CaptureError::UndefinedInterface { .. } => "undefined interface",
        CaptureError::BadTimestamp { .. } => "bad timestamp",
        _ => "damaged record",
    }
}

/// Where a frame lies in the buffer; turned into a `Frame` at the very end
/// so the parsing loops hold no borrow.
struct Spec {
    ts_ns: u64,
    linktype: u32,
    start: usize,
    len: usize,
    orig_len: u32,
    interface: u32,
    offset: u64,
}

/// Streaming reader of a pcap or pcapng capture.
///
/// ```no_run
/// # use netsift_capture::CaptureReader;
/// let mut r = CaptureReader::open("trace.pcap".as_ref())?;
/// while let Some(f) = r.next_frame()? {
///     println!("{} {} bytes", f.ts_ns, f.data.len());
/// }
/// if let Some(t) = r.truncation() {
///     eprintln!("warning: capture truncated at offset {}", t.offset);
/// }
/// # Ok::<(), netsift_capture::CaptureError>(())
/// ```
pub struct CaptureReader<R = Box<dyn Read + Send>> {
    input: InputBuf<R>,
    kind: Kind,
    format: CaptureFormat,
    interfaces: Vec<InterfaceInfo>,
    rt: Vec<IfaceRt>,
    frames: u64,
    captured_bytes: u64,
    blocks_skipped: u64,
    sections: u32,
    truncation: Option<Truncation>,
    done: bool,
    compression: Option<crate::Compression>,
    /// Skip damaged records instead of failing (see `set_resync`).
    resync: bool,
    damage: Vec<Damage>,
    damaged_bytes: u64,
    damaged_ranges: u64,
    /// pcap: seconds of the last good record (resynchronisation checks a
    /// candidate's time against it).
    last_sec: Option<u64>,
    /// Packet time of the last frame returned (for [`Damage::ts_ns`]).
    last_ts: Option<u64>,
}

impl CaptureReader<Box<dyn Read + Send>> {
    /// Open a capture file; the path `-` reads standard input.
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        let rd: Box<dyn Read + Send> = if path.as_os_str() == "-" {
            Box::new(io::stdin())
        } else {
            let f = File::open(path).map_err(|source| CaptureError::Open {
                path: path.to_path_buf(),
                source,
            })?;
            Box::new(f)
        };
        Self::from_reader(rd)
    }

    /// Start reading a capture from `rd`, which may be gzip, zstd, xz or
    /// lz4 compressed (recognised by its magic bytes and decoded as a
    /// stream; see [`Compression`](crate::Compression)).
    pub fn from_reader(rd: Box<dyn Read + Send>) -> Result<Self, CaptureError> {
        let (rd, compression) =
            crate::decompress::open(rd).map_err(|source| CaptureError::Io { offset: 0, source })?;
        let mut r = match (CaptureReader::new(rd), compression) {
            (Err(CaptureError::Empty), Some(c)) => {
                return Err(CaptureError::Io {
                    offset: 0,
                    source: io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("the {} data decodes to nothing (cut short?)", c.name()),
                    ),
                })
            }
            (r, _) => r?,
        };
        r.compression = compression;
        Ok(r)
    }

    /// The compression the capture was read through, if any.
    pub fn compression(&self) -> Option<crate::Compression> {
        self.compression
    }
}

impl<R: Read> CaptureReader<R> {
    /// Start reading a capture from any reader. Reads and checks the file
    /// header (and, for pcapng, the Interface Description Blocks that follow
    /// it) before returning.
    pub fn new(reader: R) -> Result<Self, CaptureError> {
        Self::with_capacity(reader, INITIAL_CAPACITY)
    }

    /// Like `new`, with a chosen initial buffer size (tests use tiny ones
    /// to exercise refills; the default is 1 MiB).
    pub fn with_capacity(reader: R, capacity: usize) -> Result<Self, CaptureError> {
        let mut input = InputBuf::new(reader, capacity);
        let fill = |input: &mut InputBuf<R>, n: usize| {
            input
                .fill(n)
                .map_err(|source| CaptureError::Io { offset: 0, source })
        };
        fill(&mut input, 4)?;
        let avail = input.avail();
        if avail == 0 {
            return Err(CaptureError::Empty);
        }
        if avail < 4 {
            return Err(CaptureError::HeaderTruncated {
                what: "capture file header",
                needed: 4,
                available: avail as u64,
                offset: 0,
            });
        }
        let d = input.data();
        let magic = [d[0], d[1], d[2], d[3]];
        // (big endian, nanoseconds, record header length)
        let pcap = match magic {
            [0xa1, 0xb2, 0xc3, 0xd4] => Some((true, false, 16)),
            [0xd4, 0xc3, 0xb2, 0xa1] => Some((false, false, 16)),
            [0xa1, 0xb2, 0x3c, 0x4d] => Some((true, true, 16)),
            [0x4d, 0x3c, 0xb2, 0xa1] => Some((false, true, 16)),
            // Alexey Kuznetzov's "modified" pcap: 8 more bytes per record.
            [0xa1, 0xb2, 0xcd, 0x34] => Some((true, false, 24)),
            [0x34, 0xcd, 0xb2, 0xa1] => Some((false, false, 24)),
            _ => None,
        };
        let mut r = CaptureReader {
            input,
            kind: Kind::Pcapng {
                be: false,
                section_base: 0,
                pkt_limit: STANDARD_MAX_SNAPLEN + PACKET_BLOCK_SLACK,
            },
            format: CaptureFormat::Pcapng,
            interfaces: Vec::new(),
            rt: Vec::new(),
            frames: 0,
            captured_bytes: 0,
            blocks_skipped: 0,
            sections: 0,
            truncation: None,
            done: false,
            compression: None,
            resync: false,
            damage: Vec::new(),
            damaged_bytes: 0,
            damaged_ranges: 0,
            last_ts: None,
            last_sec: None,
        };
        if let Some((be, nanos, hdr_len)) = pcap {
            r.read_pcap_header(be, nanos, hdr_len)?;
        } else if magic == SHB_TYPE {
            r.read_shb(true)?;
            r.preload_idbs()?;
        } else {
            let head = &r.input.data()[..r.input.avail().min(64)];
            return Err(CaptureError::UnknownMagic {
                magic: Magic(magic),
                hint: magic_hint(head),
            });
        }
        Ok(r)
    }

    fn read_pcap_header(
        &mut self,
        be: bool,
        nanos: bool,
        hdr_len: usize,
    ) -> Result<(), CaptureError> {
        if !self.fill(24)? {
            return Err(CaptureError::HeaderTruncated {
                what: "pcap global header",
                needed: 24,
                available: self.input.avail() as u64,
                offset: 0,
            });
        }
        let d = self.input.data();
        let (major, minor) = (rd16(d, 4, be), rd16(d, 6, be));
        if major != 2 {
            return Err(CaptureError::UnsupportedVersion {
                what: "pcap",
                major,
                minor,
                offset: 4,
            });
        }
        // A snaplen of 0 is invalid, but libpcap and Wireshark still read
        // such files; we read them as "no snaplen" (records bounded only by
        // MAX_RECORD_LEN, and buffered only as bytes arrive). The caller sees
        // `snaplen == 0` in `interfaces()` and warns (offset 16).
        let snaplen = rd32(d, 16, be);
        let raw_lt = rd32(d, 20, be);
        // Bits 28..31 carry FCS information (F bit and FCS length in
        // 16-bit words); the link type is the low 28 bits.
        let linktype = raw_lt & 0x0fff_ffff;
        let fcs_len = (raw_lt & 0x1000_0000 != 0).then(|| ((raw_lt >> 29) & 7) as u8 * 2);
        self.input.consume(24);
        self.format = if hdr_len == 24 {
            CaptureFormat::PcapModified { big_endian: be }
        } else {
            CaptureFormat::Pcap {
                nanos,
                big_endian: be,
            }
        };
        self.kind = Kind::Pcap {
            be,
            nanos,
            hdr_len,
            linktype,
            limit: sanity_limit(snaplen),
        };
        self.interfaces.push(InterfaceInfo {
            linktype,
            snaplen,
            tsresol: if nanos { 9 } else { 6 },
            ts_offset_secs: 0,
            fcs_len,
            name: None,
            section: 0,
        });
        self.sections = 1;
        Ok(())
    }

    /// Whether the next record is already in memory, so that
    /// [`next_frame`](Self::next_frame) will not read input (and so will
    /// not wait on a pipe or a slow sender). `false` when unsure.
    pub fn next_buffered(&self) -> bool {
        if self.done {
            return true;
        }
        let d = self.input.data();
        match self.kind {
            Kind::Pcap { be, hdr_len, .. } => {
                d.len() >= hdr_len
                    // Resynchronisation may look at the next header too.
                    && d.len() >= 2 * hdr_len + rd32(d, 8, be) as usize
            }
            Kind::Pcapng { be, .. } => d.len() >= 8 && d.len() >= rd32(d, 4, be) as usize + 8,
        }
    }

    /// The next frame, borrowed from the internal buffer until the next
    /// call. `Ok(None)` at the end of the input, also when the last record
    /// is cut short (see [`truncation`](Self::truncation)). After an error
    /// the reader is finished and returns `Ok(None)`.
    #[inline]
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        self.input.maybe_shrink();
        let res = loop {
            let r = match self.kind {
                Kind::Pcap {
                    be,
                    nanos,
                    hdr_len,
                    linktype,
                    limit,
                } => self.next_pcap(be, nanos, hdr_len, linktype, limit),
                Kind::Pcapng { .. } => self.next_pcapng(),
            };
            match r {
                Err(e) if self.resync && e.is_record_damage() => {
                    if let Err(e) = self.resynchronise(e.offset(), damage_reason(&e), true) {
                        break Err(e);
                    }
                }
                // A record running past the end may be a damaged length
                // rather than a cut: if a plausible record follows, it was.
                Ok(None) if self.resync && self.truncation.is_some() => {
                    let Some(t) = self.truncation.take() else {
                        break Ok(None);
                    };
                    match self.resynchronise(t.offset, "record runs past the end", false) {
                        Ok(true) => {}
                        Ok(false) => {
                            self.truncation = Some(t);
                            break Ok(None);
                        }
                        Err(e) => break Err(e),
                    }
                }
                other => break other,
            }
        };
        match res {
            Ok(Some(s)) => {
                self.frames += 1;
                self.last_ts = Some(s.ts_ns);
                self.captured_bytes += s.len as u64;
                Ok(Some(Frame {
                    ts_ns: s.ts_ns,
                    linktype: s.linktype,
                    data: &self.input.raw()[s.start..s.start + s.len],
                    orig_len: s.orig_len,
                    interface: s.interface,
                    offset: s.offset,
                }))
            }
            Ok(None) => {
                self.done = true;
                Ok(None)
            }
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
    }

    #[inline]
    fn fill(&mut self, n: usize) -> Result<bool, CaptureError> {
        self.input.fill(n).map_err(|source| CaptureError::Io {
            offset: self.input.pos() + self.input.avail() as u64,
            source,
        })
    }

    /// End of input at `offset` while a record of `expected` bytes was due.
    fn at_eof(&mut self, offset: u64, expected: u64) -> Result<Option<Spec>, CaptureError> {
        let available = self.input.avail() as u64;
        if available > 0 {
            self.truncation = Some(Truncation {
                offset,
                expected,
                available,
            });
        }
        Ok(None)
    }

    #[inline]
    fn next_pcap(
        &mut self,
        be: bool,
        nanos: bool,
        hdr_len: usize,
        linktype: u32,
        limit: u64,
    ) -> Result<Option<Spec>, CaptureError> {
        let offset = self.input.pos();
        if !self.fill(hdr_len)? {
            return self.at_eof(offset, hdr_len as u64);
        }
        let h = self.input.data();
        let sec = rd32(h, 0, be) as u64;
        let frac = rd32(h, 4, be) as u64;
        let incl = rd32(h, 8, be);
        let orig_len = rd32(h, 12, be);
        if self.resync && frac >= frac_limit(nanos) {
            // A fraction out of range is what a misaligned record header
            // looks like (strict reading passes it on, as libpcap does). A
            // record followed by a plausible one is only a bad timestamp,
            // and is kept.
            let total = hdr_len + incl as usize;
            let next_ok = incl as u64 <= limit
                && incl <= orig_len
                && if self.fill(total + hdr_len)? {
                    let next = &self.input.data()[total..total + hdr_len];
                    sane_pcap_header(next, be, nanos, limit).is_some()
                } else {
                    // The last record: it must end exactly at the end.
                    self.input.avail() == total
                };
            if !next_ok {
                return Err(CaptureError::BadTimestamp { frac, offset });
            }
        }
        if incl as u64 > limit {
            return Err(CaptureError::AbsurdRecordLength {
                len: incl as u64,
                limit,
                offset,
            });
        }
        if self.resync {
            self.last_sec = Some(sec);
        }
        let total = hdr_len + incl as usize;
        if !self.fill(total)? {
            return self.at_eof(offset, total as u64);
        }
        let start = self.input.start() + hdr_len;
        self.input.consume(total);
        let ts_ns = (sec * 1_000_000_000).saturating_add(if nanos { frac } else { frac * 1000 });
        Ok(Some(Spec {
            ts_ns,
            linktype,
            start,
            len: incl as usize,
            orig_len,
            interface: 0,
            offset,
        }))
    }

    fn next_pcapng(&mut self) -> Result<Option<Spec>, CaptureError> {
        loop {
            let Kind::Pcapng {
                be,
                section_base,
                pkt_limit,
            } = self.kind
            else {
                return Ok(None);
            };
            let offset = self.input.pos();
            if !self.fill(8)? {
                return self.at_eof(offset, 8);
            }
            let d = self.input.data();
            if d[..4] == SHB_TYPE {
                if !self.read_shb(false)? {
                    return Ok(None);
                }
                continue;
            }
            let btype = rd32(d, 0, be);
            let len = rd32(d, 4, be);
            if len < 12 || len % 4 != 0 {
                return Err(CaptureError::BadBlockLength { len, offset });
            }
            let is_packet = matches!(btype, EPB | SPB | PB);
            let limit = if is_packet { pkt_limit } else { MAX_RECORD_LEN };
            if len as u64 > limit {
                return Err(CaptureError::AbsurdRecordLength {
                    len: len as u64,
                    limit,
                    offset,
                });
            }
            if !is_packet && btype != IDB && len as usize > INITIAL_CAPACITY {
                // A big block we do not look into: stream past it.
                if !self.skip_block(offset, len, be)? {
                    return Ok(None);
                }
                continue;
            }
            if !self.fill(len as usize)? {
                return self.at_eof(offset, len as u64);
            }
            let len = len as usize;
            let d = &self.input.data()[..len];
            let trailer = rd32(d, len - 4, be);
            if trailer != len as u32 {
                return Err(CaptureError::BlockLengthMismatch {
                    header: len as u32,
                    trailer,
                    offset,
                });
            }
            let section_ifaces = self.rt.len() - section_base;
            let base = self.input.start();
            let spec = match btype {
                EPB | PB => {
                    let name = if btype == EPB { "EPB" } else { "packet block" };
                    if len < 32 {
                        return Err(CaptureError::MalformedBlock {
                            block: name,
                            reason: "shorter than 32 bytes",
                            offset,
                        });
                    }
                    let iface = if btype == EPB {
                        rd32(d, 8, be)
                    } else {
                        rd16(d, 8, be) as u32
                    };
                    let ticks = ((rd32(d, 12, be) as u64) << 32) | rd32(d, 16, be) as u64;
                    let cap = rd32(d, 20, be) as usize;
                    let orig_len = rd32(d, 24, be);
                    if cap > len - 32 {
                        return Err(CaptureError::MalformedBlock {
                            block: name,
                            reason: "captured length runs past the end of the block",
                            offset,
                        });
                    }
                    if iface as usize >= section_ifaces {
                        return Err(CaptureError::UndefinedInterface {
                            block: name,
                            interface: iface,
                            defined: section_ifaces as u32,
                            offset,
                        });
                    }
                    let global = section_base + iface as usize;
                    let rt = &self.rt[global];
                    Spec {
                        ts_ns: rt.ts_ns(ticks),
                        linktype: rt.linktype,
                        start: base + 28,
                        len: cap,
                        orig_len,
                        interface: global as u32,
                        offset,
                    }
                }
                SPB => {
                    if len < 16 {
                        return Err(CaptureError::MalformedBlock {
                            block: "SPB",
                            reason: "shorter than 16 bytes",
                            offset,
                        });
                    }
                    if section_ifaces == 0 {
                        return Err(CaptureError::UndefinedInterface {
                            block: "SPB",
                            interface: 0,
                            defined: 0,
                            offset,
                        });
                    }
                    let orig_len = rd32(d, 8, be);
                    let rt = &self.rt[section_base];
                    let mut cap = (orig_len as usize).min(len - 16);
                    if rt.snaplen != 0 {
                        cap = cap.min(rt.snaplen as usize);
                    }
                    Spec {
                        // An SPB carries no timestamp.
                        ts_ns: 0,
                        linktype: rt.linktype,
                        start: base + 12,
                        len: cap,
                        orig_len,
                        interface: section_base as u32,
                        offset,
                    }
                }
                IDB => {
                    self.parse_idb(offset, len, be)?;
                    self.input.consume(len);
                    continue;
                }
                _ => {
                    self.blocks_skipped += 1;
                    self.input.consume(len);
                    continue;
                }
            };
            self.input.consume(len);
            return Ok(Some(spec));
        }
    }

    /// Stream past a block too big to buffer. `Ok(false)` if the input ends
    /// inside it (recorded as truncation).
    fn skip_block(&mut self, offset: u64, len: u32, be: bool) -> Result<bool, CaptureError> {
        let body = len as u64 - 4;
        let skipped = self.input.skip(body).map_err(|source| CaptureError::Io {
            offset: self.input.pos(),
            source,
        })?;
        if skipped < body || !self.fill(4)? {
            self.truncation = Some(Truncation {
                offset,
                expected: len as u64,
                available: skipped + self.input.avail() as u64,
            });
            return Ok(false);
        }
        let trailer = rd32(self.input.data(), 0, be);
        if trailer != len {
            return Err(CaptureError::BlockLengthMismatch {
                header: len,
                trailer,
                offset,
            });
        }
        self.input.consume(4);
        self.blocks_skipped += 1;
        Ok(true)
    }

    /// Read a Section Header Block at the current position. At the start of
    /// the file a short SHB is a header error; later it is a truncation
    /// (`Ok(false)`).
    fn read_shb(&mut self, at_start: bool) -> Result<bool, CaptureError> {
        let offset = self.input.pos();
        let short = |r: &mut Self, needed: u64| -> Result<bool, CaptureError> {
            if at_start {
                Err(CaptureError::HeaderTruncated {
                    what: "pcapng section header block",
                    needed,
                    available: r.input.avail() as u64,
                    offset,
                })
            } else {
                r.at_eof(offset, needed)?;
                Ok(false)
            }
        };
        if !self.fill(12)? {
            return short(self, 12);
        }
        let d = self.input.data();
        let be = match [d[8], d[9], d[10], d[11]] {
            [0x1a, 0x2b, 0x3c, 0x4d] => true,
            [0x4d, 0x3c, 0x2b, 0x1a] => false,
            m => {
                return Err(CaptureError::BadByteOrderMagic {
                    magic: Magic(m),
                    offset: offset + 8,
                })
            }
        };
        let len = rd32(d, 4, be);
        if len < 12 || len % 4 != 0 {
            return Err(CaptureError::BadBlockLength { len, offset });
        }
        if len < 28 {
            return Err(CaptureError::MalformedBlock {
                block: "SHB",
                reason: "shorter than 28 bytes",
                offset,
            });
        }
        if len as u64 > MAX_RECORD_LEN {
            return Err(CaptureError::AbsurdRecordLength {
                len: len as u64,
                limit: MAX_RECORD_LEN,
                offset,
            });
        }
        if !self.fill(len as usize)? {
            return short(self, len as u64);
        }
        let d = self.input.data();
        let trailer = rd32(d, len as usize - 4, be);
        if trailer != len {
            return Err(CaptureError::BlockLengthMismatch {
                header: len,
                trailer,
                offset,
            });
        }
        let (major, minor) = (rd16(d, 12, be), rd16(d, 14, be));
        if major != 1 {
            return Err(CaptureError::UnsupportedVersion {
                what: "pcapng",
                major,
                minor,
                offset: offset + 12,
            });
        }
        self.input.consume(len as usize);
        self.kind = Kind::Pcapng {
            be,
            section_base: self.rt.len(),
            pkt_limit: STANDARD_MAX_SNAPLEN + PACKET_BLOCK_SLACK,
        };
        self.sections += 1;
        Ok(true)
    }

    /// Parse an Interface Description Block (already fully buffered, trailer
    /// checked) of `len` bytes at the current position.
    fn parse_idb(&mut self, offset: u64, len: usize, be: bool) -> Result<(), CaptureError> {
        if len < 20 {
            return Err(CaptureError::MalformedBlock {
                block: "IDB",
                reason: "shorter than 20 bytes",
                offset,
            });
        }
        let d = &self.input.data()[..len];
        let linktype = rd16(d, 8, be) as u32;
        let snaplen = rd32(d, 12, be);
        let mut tsresol = 6u8;
        let mut ts_offset_secs = 0i64;
        let mut fcs_len = None;
        let mut name = None;
        // Options: a malformed option list ends option parsing (the packet
        // data is still usable), as Wireshark's reader is lenient too.
        let opts = &d[16..len - 4];
        let mut o = 0usize;
        while o + 4 <= opts.len() {
            let code = rd16(opts, o, be);
            let olen = rd16(opts, o + 2, be) as usize;
            if code == 0 {
                break;
            }
            let Some(val) = opts.get(o + 4..o + 4 + olen) else {
                break;
            };
            match (code, olen) {
                (2, _) => name = Some(String::from_utf8_lossy(val).into_owned()),
                (9, 1) => tsresol = val[0],
                (13, 1) => fcs_len = Some(val[0]),
                (14, 8) => {
                    let b = [
                        val[0], val[1], val[2], val[3], val[4], val[5], val[6], val[7],
                    ];
                    ts_offset_secs = if be {
                        i64::from_be_bytes(b)
                    } else {
                        i64::from_le_bytes(b)
                    };
                }
                _ => {}
            }
            o += 4 + ((olen + 3) & !3);
        }
        self.rt.push(IfaceRt {
            linktype,
            snaplen,
            scale: TsScale::from_tsresol(tsresol),
            offset_ns: ts_offset_secs as i128 * 1_000_000_000,
        });
        self.interfaces.push(InterfaceInfo {
            linktype,
            snaplen,
            tsresol,
            ts_offset_secs,
            fcs_len,
            name,
            section: self.sections.saturating_sub(1),
        });
        if let Kind::Pcapng {
            ref mut pkt_limit, ..
        } = self.kind
        {
            // The section's limit only grows; kept incrementally so a file
            // of many IDBs costs linear time.
            let this = sanity_limit(snaplen)
                .saturating_add(PACKET_BLOCK_SLACK)
                .min(MAX_RECORD_LEN);
            *pkt_limit = (*pkt_limit).max(this);
        }
        Ok(())
    }

    /// After the first SHB, read the IDBs that directly follow it, so that
    /// `interfaces()` is useful before the first frame is read. Stops at the
    /// first other block (or anything odd, which `next_frame` then reports).
    fn preload_idbs(&mut self) -> Result<(), CaptureError> {
        loop {
            let Kind::Pcapng { be, .. } = self.kind else {
                return Ok(());
            };
            let offset = self.input.pos();
            if !self.fill(8)? {
                return Ok(());
            }
            let d = self.input.data();
            let (btype, len) = (rd32(d, 0, be), rd32(d, 4, be));
            if btype != IDB || len < 12 || len % 4 != 0 || len as usize > INITIAL_CAPACITY {
                return Ok(());
            }
            let len = len as usize;
            if !self.fill(len)? || rd32(self.input.data(), len - 4, be) != len as u32 {
                return Ok(());
            }
            self.parse_idb(offset, len, be)?;
            self.input.consume(len);
        }
    }

    /// Resynchronise after damaged records instead of failing: the reader
    /// scans forward for the next plausible record (pcap: sane lengths, a
    /// timestamp within a day of the last good record, and a plausible
    /// record after it; pcapng: a known block type whose trailing length
    /// matches, and for packet blocks a defined interface) and reads on
    /// from there. Each skipped range is kept in [`damage`](Self::damage).
    /// A scan that finds nothing within [`MAX_RESYNC_SCAN`] bytes ends the
    /// read with [`CaptureError::NoRecordFound`].
    pub fn set_resync(&mut self, on: bool) {
        self.resync = on;
    }

    /// Damaged ranges skipped so far (the first [`MAX_DAMAGE_RANGES`]).
    pub fn damage(&self) -> &[Damage] {
        &self.damage
    }

    /// Bytes and ranges skipped as damaged, all of them.
    pub fn damage_totals(&self) -> (u64, u64) {
        (self.damaged_bytes, self.damaged_ranges)
    }

    fn note_damage(&mut self, offset: u64, len: u64, reason: &'static str) {
        self.damaged_bytes += len;
        self.damaged_ranges += 1;
        if self.damage.len() < MAX_DAMAGE_RANGES {
            self.damage.push(Damage {
                offset,
                len,
                reason,
                ts_ns: self.last_ts,
            });
        }
    }

    /// Skip from the damaged record at `bad` to the next plausible one:
    /// `Ok(true)` when one was found (the skipped range is noted). At the
    /// end of the input without one: with `to_end` the rest is noted as
    /// damage and `Ok(true)` returned, else `Ok(false)` and nothing noted.
    fn resynchronise(
        &mut self,
        bad: u64,
        reason: &'static str,
        to_end: bool,
    ) -> Result<bool, CaptureError> {
        // The record at `bad` was not consumed; start one byte past it.
        if self.input.pos() <= bad && self.fill(1)? {
            self.input.consume(1);
        }
        loop {
            let pos = self.input.pos();
            let scanned = pos.saturating_sub(bad);
            if scanned > MAX_RESYNC_SCAN {
                self.note_damage(bad, scanned, reason);
                return Err(CaptureError::NoRecordFound {
                    scanned,
                    offset: bad,
                });
            }
            let found = match self.kind {
                Kind::Pcap {
                    be,
                    nanos,
                    hdr_len,
                    limit,
                    ..
                } => self.pcap_candidate(be, nanos, hdr_len, limit)?,
                Kind::Pcapng {
                    be,
                    section_base,
                    pkt_limit,
                } => self.pcapng_candidate(be, section_base, pkt_limit)?,
            };
            match found {
                Candidate::Yes => {
                    self.note_damage(bad, pos - bad, reason);
                    return Ok(true);
                }
                Candidate::End if to_end => {
                    // Nothing plausible before the end: the rest is damage.
                    let rest = self.input.avail();
                    self.input.consume(rest);
                    self.note_damage(bad, pos + rest as u64 - bad, reason);
                    return Ok(true);
                }
                Candidate::End => return Ok(false),
                Candidate::No => self.input.consume(1),
            }
        }
    }

    /// Whether a plausible pcap record starts at the current position.
    fn pcap_candidate(
        &mut self,
        be: bool,
        nanos: bool,
        hdr_len: usize,
        limit: u64,
    ) -> Result<Candidate, CaptureError> {
        if !self.fill(hdr_len)? {
            return Ok(Candidate::End);
        }
        // Without a snaplen (0) a resync candidate still keeps to the usual
        // maximum, so a scan never buffers hundreds of MiB on a guess.
        let limit = if limit == MAX_RECORD_LEN {
            STANDARD_MAX_SNAPLEN
        } else {
            limit
        };
        let last = self.last_sec;
        // A header's (seconds, captured length) if its fields are sane.
        let plausible = |h: &[u8]| -> Option<(u64, usize)> {
            sane_pcap_header(h, be, nanos, limit)
                .filter(|&(_, _, orig)| orig <= MAX_RECORD_LEN)
                .map(|(sec, incl, _)| (sec, incl as usize))
        };
        // "Near its neighbours": within a day of the record after it, or,
        // for the last record, of the last good one. (Captures merged from
        // several days jump at some record, so the last good record alone
        // cannot be the reference.)
        const DAY: u64 = 86_400;
        let Some((sec, incl)) = plausible(&self.input.data()[..hdr_len]) else {
            return Ok(Candidate::No);
        };
        let total = hdr_len + incl;
        if self.fill(total + hdr_len)? {
            let next = &self.input.data()[total..total + hdr_len];
            return Ok(match plausible(next) {
                Some((nsec, _)) if nsec.abs_diff(sec) <= DAY => Candidate::Yes,
                _ => Candidate::No,
            });
        }
        // The last record of the input: it must end exactly at the end.
        let near = last.is_none_or(|l| l.abs_diff(sec) <= DAY);
        Ok(if near && self.input.avail() == total {
            Candidate::Yes
        } else {
            Candidate::No
        })
    }

    /// Whether a plausible pcapng block starts at the current position.
    fn pcapng_candidate(
        &mut self,
        be: bool,
        section_base: usize,
        pkt_limit: u64,
    ) -> Result<Candidate, CaptureError> {
        if !self.fill(12)? {
            return Ok(Candidate::End);
        }
        let d = self.input.data();
        let (be, btype) = if d[..4] == SHB_TYPE {
            match [d[8], d[9], d[10], d[11]] {
                [0x1a, 0x2b, 0x3c, 0x4d] => (true, 0x0a0d_0d0a),
                [0x4d, 0x3c, 0x2b, 0x1a] => (false, 0x0a0d_0d0a),
                _ => return Ok(Candidate::No),
            }
        } else {
            (be, rd32(d, 0, be))
        };
        let len = rd32(d, 4, be) as u64;
        // pcapng §4 block types: IDB 1, PB 2, SPB 3, NRB 4, ISB 5, EPB 6,
        // DSB 10, custom 0xBAD / 0x40000BAD, SHB.
        let packet = matches!(btype, EPB | SPB | PB);
        let known =
            packet || matches!(btype, IDB | 4 | 5 | 10 | 0x0bad | 0x4000_0bad | 0x0a0d_0d0a);
        let limit = if packet {
            pkt_limit
        } else {
            INITIAL_CAPACITY as u64
        };
        if !known || len < 12 || len % 4 != 0 || len > limit {
            return Ok(Candidate::No);
        }
        let len = len as usize;
        if !self.fill(len)? {
            return Ok(Candidate::No);
        }
        let d = &self.input.data()[..len];
        if rd32(d, len - 4, be) as usize != len {
            return Ok(Candidate::No);
        }
        let ifaces = self.rt.len() - section_base;
        let ok = match btype {
            EPB | PB if len < 32 => false,
            EPB => (rd32(d, 8, be) as usize) < ifaces && rd32(d, 20, be) as usize <= len - 32,
            PB => (rd16(d, 8, be) as usize) < ifaces && rd32(d, 20, be) as usize <= len - 32,
            SPB => ifaces > 0 && len >= 16,
            IDB => len >= 20,
            0x0a0d_0d0a => len >= 28,
            _ => true,
        };
        Ok(if ok { Candidate::Yes } else { Candidate::No })
    }

    /// The detected file format.
    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    /// Interfaces seen so far, indexed by `Frame::interface`. Classic pcap
    /// has exactly one. For pcapng, interfaces of all sections are listed in
    /// order (a later section's interface 0 gets the next free index); the
    /// IDBs right after the first SHB are known as soon as the reader is
    /// created, later ones appear as they are read.
    pub fn interfaces(&self) -> &[InterfaceInfo] {
        &self.interfaces
    }

    /// Distinct link types of the interfaces seen so far, in order of first
    /// appearance. Unknown values are passed through: the decoder decides.
    pub fn linktypes(&self) -> Vec<u32> {
        let mut v: Vec<u32> = Vec::new();
        for i in &self.interfaces {
            if !v.contains(&i.linktype) {
                v.push(i.linktype);
            }
        }
        v
    }

    /// Classic pcap: the header's snaplen. pcapng: the largest if_snaplen
    /// among the interfaces seen so far, 0 if there is none yet or one of
    /// them declares "no limit" (0).
    pub fn snaplen(&self) -> u32 {
        if self.interfaces.iter().any(|i| i.snaplen == 0) {
            return 0;
        }
        self.interfaces.iter().map(|i| i.snaplen).max().unwrap_or(0)
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        Stats {
            frames: self.frames,
            blocks_skipped: self.blocks_skipped,
            bytes_read: self.input.pos(),
            captured_bytes: self.captured_bytes,
            sections: self.sections,
        }
    }

    /// Set when the input ended inside a record (a capture cut short, as a
    /// killed tcpdump leaves it). `next_frame` then returned `Ok(None)`.
    pub fn truncation(&self) -> Option<Truncation> {
        self.truncation
    }

    /// Give back the underlying reader (buffered data is lost).
    pub fn into_inner(self) -> R {
        self.input.into_inner()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ts_scale() {
        assert_eq!(TsScale::from_tsresol(6).apply(1_500_000), 1_500_000_000);
        assert_eq!(TsScale::from_tsresol(9).apply(7), 7);
        assert_eq!(TsScale::from_tsresol(0).apply(3), 3_000_000_000);
        assert_eq!(TsScale::from_tsresol(12).apply(5_000), 5);
        assert_eq!(TsScale::from_tsresol(28).apply(u64::MAX), 1);
        assert_eq!(TsScale::from_tsresol(29).apply(u64::MAX), 0);
        assert_eq!(TsScale::from_tsresol(127).apply(u64::MAX), 0);
        // 2^-10 s ticks: 1024 ticks = 1 s.
        assert_eq!(TsScale::from_tsresol(0x80 | 10).apply(1024), 1_000_000_000);
        assert_eq!(TsScale::from_tsresol(0x80).apply(2), 2_000_000_000);
        assert_eq!(TsScale::from_tsresol(0xff).apply(u64::MAX), 0);
        // Overflow saturates.
        assert_eq!(TsScale::from_tsresol(0).apply(u64::MAX), u64::MAX);
        let rt = IfaceRt {
            linktype: 1,
            snaplen: 0,
            scale: TsScale::Mul(1),
            offset_ns: -5_000_000_000,
        };
        assert_eq!(rt.ts_ns(1), 0);
        assert_eq!(rt.ts_ns(6_000_000_000), 1_000_000_000);
        let rt = IfaceRt {
            offset_ns: i64::MAX as i128 * 1_000_000_000,
            ..rt
        };
        assert_eq!(rt.ts_ns(1), u64::MAX);
    }

    #[test]
    fn sanity_limits() {
        assert_eq!(sanity_limit(0), MAX_RECORD_LEN);
        assert_eq!(sanity_limit(1500), STANDARD_MAX_SNAPLEN);
        assert_eq!(sanity_limit(1 << 20), 1 << 20);
        assert_eq!(sanity_limit(u32::MAX), MAX_RECORD_LEN);
    }
}
