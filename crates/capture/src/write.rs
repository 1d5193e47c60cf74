//! Writers: classic pcap and pcapng, always little-endian.
//!
//! The writers issue a few small `write_all` calls per packet: wrap files in
//! a `BufWriter`.

use std::io::{self, Write};

use crate::{Frame, STANDARD_MAX_SNAPLEN};

/// Timestamp precision of a classic pcap file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TsPrecision {
    /// Microseconds (magic a1b2c3d4), readable by everything.
    #[default]
    Micro,
    /// Nanoseconds (magic a1b23c4d).
    Nano,
}

fn invalid(msg: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// Writes a classic pcap file for one link type.
pub struct PcapWriter<W: Write> {
    w: W,
    precision: TsPrecision,
    linktype: u32,
    snaplen: u32,
    frames: u64,
}

impl<W: Write> PcapWriter<W> {
    /// Write the global header. A `snaplen` of 0 means "unknown" and is
    /// written as 262144 (a pcap with snaplen 0 is rejected by readers,
    /// ours included). Frames longer than the snaplen are cut to it.
    pub fn new(mut w: W, linktype: u32, snaplen: u32, precision: TsPrecision) -> io::Result<Self> {
        let snaplen = if snaplen == 0 {
            STANDARD_MAX_SNAPLEN as u32
        } else {
            snaplen
        };
        let magic: u32 = match precision {
            TsPrecision::Micro => 0xa1b2_c3d4,
            TsPrecision::Nano => 0xa1b2_3c4d,
        };
        let mut h = [0u8; 24];
        h[0..4].copy_from_slice(&magic.to_le_bytes());
        h[4..6].copy_from_slice(&2u16.to_le_bytes());
        h[6..8].copy_from_slice(&4u16.to_le_bytes());
        // thiszone and sigfigs stay 0.
        h[16..20].copy_from_slice(&snaplen.to_le_bytes());
        h[20..24].copy_from_slice(&linktype.to_le_bytes());
        w.write_all(&h)?;
        Ok(PcapWriter {
            w,
            precision,
            linktype,
            snaplen,
            frames: 0,
        })
    }

    /// Append one packet. `orig_len` below `data.len()` is raised to it.
    /// Times past 2106 (u32 seconds) are clamped.
    pub fn write_packet(&mut self, ts_ns: u64, data: &[u8], orig_len: u32) -> io::Result<()> {
        let cap = data.len().min(self.snaplen as usize);
        let orig = orig_len.max(u32::try_from(data.len()).unwrap_or(u32::MAX));
        let secs = u32::try_from(ts_ns / 1_000_000_000).unwrap_or(u32::MAX);
        let nanos = (ts_ns % 1_000_000_000) as u32;
        let frac = match self.precision {
            TsPrecision::Micro => nanos / 1000,
            TsPrecision::Nano => nanos,
        };
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&secs.to_le_bytes());
        h[4..8].copy_from_slice(&frac.to_le_bytes());
        h[8..12].copy_from_slice(&(cap as u32).to_le_bytes());
        h[12..16].copy_from_slice(&orig.to_le_bytes());
        self.w.write_all(&h)?;
        self.w.write_all(&data[..cap])?;
        self.frames += 1;
        Ok(())
    }

    /// Append a frame read from a capture. Its link type must be the
    /// writer's (a classic pcap file has exactly one).
    pub fn write_frame(&mut self, f: &Frame<'_>) -> io::Result<()> {
        if f.linktype != self.linktype {
            return Err(invalid("frame link type differs from the pcap file's"));
        }
        self.write_packet(f.ts_ns, f.data, f.orig_len)
    }

    /// Packets written so far.
    pub fn frames_written(&self) -> u64 {
        self.frames
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }

    pub fn get_ref(&self) -> &W {
        &self.w
    }

    /// Flush and return the underlying writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.w.flush()?;
        Ok(self.w)
    }
}

/// Writes a pcapng file: one section, IDBs with nanosecond timestamps
/// (if_tsresol = 9), Enhanced Packet Blocks.
pub struct PcapngWriter<W: Write> {
    w: W,
    /// Output interface id -> link type.
    ifaces: Vec<u32>,
    /// (source interface, link type) -> output interface, for write_frame.
    frame_map: Vec<(u32, u32, u32)>,
    frames: u64,
}

const PAD: [u8; 4] = [0; 4];

impl<W: Write> PcapngWriter<W> {
    /// Write the Section Header Block.
    pub fn new(mut w: W) -> io::Result<Self> {
        let mut b = [0u8; 28];
        b[0..4].copy_from_slice(&0x0a0d_0d0au32.to_le_bytes());
        b[4..8].copy_from_slice(&28u32.to_le_bytes());
        b[8..12].copy_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        b[12..14].copy_from_slice(&1u16.to_le_bytes());
        b[14..16].copy_from_slice(&0u16.to_le_bytes());
        b[16..24].copy_from_slice(&(-1i64).to_le_bytes()); // section length unknown
        b[24..28].copy_from_slice(&28u32.to_le_bytes());
        w.write_all(&b)?;
        Ok(PcapngWriter {
            w,
            ifaces: Vec::new(),
            frame_map: Vec::new(),
            frames: 0,
        })
    }

    /// Write an Interface Description Block; returns its interface id.
    /// `snaplen` 0 means no limit. Link types above 65535 are rejected
    /// (the IDB field is 16 bits).
    pub fn add_interface(&mut self, linktype: u32, snaplen: u32) -> io::Result<u32> {
        let lt = u16::try_from(linktype)
            .map_err(|_| invalid("link type does not fit pcapng's 16 bits"))?;
        let id = u32::try_from(self.ifaces.len()).map_err(|_| invalid("too many interfaces"))?;
        let mut b = [0u8; 32];
        b[0..4].copy_from_slice(&1u32.to_le_bytes());
        b[4..8].copy_from_slice(&32u32.to_le_bytes());
        b[8..10].copy_from_slice(&lt.to_le_bytes());
        b[12..16].copy_from_slice(&snaplen.to_le_bytes());
        // if_tsresol = 9 (nanoseconds), padded to 4 bytes.
        b[16..18].copy_from_slice(&9u16.to_le_bytes());
        b[18..20].copy_from_slice(&1u16.to_le_bytes());
        b[20] = 9;
        // opt_endofopt at 24..28 stays zero.
        b[28..32].copy_from_slice(&32u32.to_le_bytes());
        self.w.write_all(&b)?;
        self.ifaces.push(linktype);
        Ok(id)
    }

    /// Link types of the interfaces written so far, by interface id.
    pub fn interfaces(&self) -> &[u32] {
        &self.ifaces
    }

    /// Append one packet on an interface from `add_interface`.
    /// `orig_len` below `data.len()` is raised to it.
    pub fn write_packet(
        &mut self,
        interface: u32,
        ts_ns: u64,
        data: &[u8],
        orig_len: u32,
    ) -> io::Result<()> {
        if interface as usize >= self.ifaces.len() {
            return Err(invalid("pcapng interface not defined"));
        }
        let cap = u32::try_from(data.len())
            .ok()
            .filter(|&c| c <= u32::MAX - 35)
            .ok_or_else(|| invalid("packet too large for pcapng"))?;
        let pad = (4 - (cap % 4)) % 4;
        let total = 32 + cap + pad;
        let mut h = [0u8; 28];
        h[0..4].copy_from_slice(&6u32.to_le_bytes());
        h[4..8].copy_from_slice(&total.to_le_bytes());
        h[8..12].copy_from_slice(&interface.to_le_bytes());
        h[12..16].copy_from_slice(&((ts_ns >> 32) as u32).to_le_bytes());
        h[16..20].copy_from_slice(&(ts_ns as u32).to_le_bytes());
        h[20..24].copy_from_slice(&cap.to_le_bytes());
        h[24..28].copy_from_slice(&orig_len.max(cap).to_le_bytes());
        self.w.write_all(&h)?;
        self.w.write_all(data)?;
        let mut tail = [0u8; 8];
        let pad = pad as usize;
        tail[..pad].copy_from_slice(&PAD[..pad]);
        tail[pad..pad + 4].copy_from_slice(&total.to_le_bytes());
        self.w.write_all(&tail[..pad + 4])?;
        self.frames += 1;
        Ok(())
    }

    /// Append a frame read from a capture. One output interface is created
    /// per distinct (source interface, link type), on first use, with no
    /// snaplen limit.
    pub fn write_frame(&mut self, f: &Frame<'_>) -> io::Result<()> {
        let id = match self
            .frame_map
            .iter()
            .find(|&&(src, lt, _)| src == f.interface && lt == f.linktype)
        {
            Some(&(_, _, id)) => id,
            None => {
                let id = self.add_interface(f.linktype, 0)?;
                self.frame_map.push((f.interface, f.linktype, id));
                id
            }
        };
        self.write_packet(id, f.ts_ns, f.data, f.orig_len)
    }

    /// Packets written so far.
    pub fn frames_written(&self) -> u64 {
        self.frames
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }

    pub fn get_ref(&self) -> &W {
        &self.w
    }

    /// Flush and return the underlying writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.w.flush()?;
        Ok(self.w)
    }
}
