//! `--alert-pcap FILE`: the packets of every flow that raised an alert, as
//! pcapng, with the alert in a packet comment (peekapp's packet log).
//!
//! Two decorators share one [`AlertPcap`]:
//!
//! * [`AlertPcapHandler`] wraps the analyzer ([`FlowHandler`]): it copies
//!   each frame, keeps the last `n` packets of each open flow in a ring
//!   (allocated when the flow's first packet comes, dropped when the flow
//!   ends), and writes a flagged flow's packets;
//! * [`AlertPcapOutput`] sits inside the detection stage ([`Output`]):
//!   every alert that names a flow (`uid`), and every finding made from a
//!   flow but reported later ([`Output::flow_flagged`]), flags that flow.
//!
//! When a flow is flagged, its ring (at most `n` packets before, including
//! the one that raised it) is written, the alert's text goes into the
//! `opt_comment` of the packet being processed (or the flow's last packet
//! when the alert comes at the flow's end), and the next `n` packets of
//! the flow are written as they come. A later alert on the same flow
//! starts again. The latest packet of a flow is written only when the next
//! one comes or the flow ends, so an alert raised at the flow's end still
//! gets its comment on it.
//!
//! Bounds: `n` packets per open flow, and at most [`MAX_RING_BYTES`] in all
//! the rings together (beyond that, a flow keeps only its latest packet,
//! so a comment still has a packet to sit on). Alerts about flows that
//! have already ended (scan findings at the end of a run, with no flow of
//! their own) have no packets to write; they are counted in
//! [`AlertPcapStats::alerts_without_packets`].
//!
//! Format: pcapng (draft-ietf-opsawg-pcapng), little-endian, one Section
//! Header Block, one Interface Description Block per link type with
//! `if_tsresol` = 9 (nanoseconds), then Enhanced Packet Blocks.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::rc::Rc;

use netsift_detect::alert::Alert;
use netsift_flow::{Flow, Seen};
use netsift_wire::Decoded;

use super::output::{CaptureDamage, Common, Output, Record, Summary};
use crate::pipeline::FlowHandler;
use crate::record::FlowRecord;

/// Bytes kept in all the per-flow rings together.
pub const MAX_RING_BYTES: usize = 64 << 20;

/// Longest comment written (bytes; cut at a char boundary).
const MAX_COMMENT: usize = 4096;

/// Comments kept on one packet.
const MAX_COMMENTS: usize = 16;

/// What was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlertPcapStats {
    pub packets: u64,
    pub flows: u64,
    pub comments: u64,
    /// Alerts naming a flow that had already ended (alerts that name no
    /// flow, such as scan findings, are not counted).
    pub alerts_without_packets: u64,
}

struct Pkt {
    ts_ns: u64,
    linktype: u32,
    data: Vec<u8>,
    orig_len: u32,
    comments: Vec<String>,
}

#[derive(Default)]
struct FlowLog {
    ring: VecDeque<Pkt>,
    /// Packets still to write after the latest alert.
    after: usize,
    /// Ever written (for the flow count).
    written: bool,
}

struct Log {
    w: BufWriter<File>,
    n: usize,
    flows: HashMap<String, FlowLog>,
    /// Copy of the frame being processed.
    cur: Option<Pkt>,
    ring_bytes: usize,
    /// Interface ids by link type, in order of first use.
    interfaces: HashMap<u32, u32>,
    error: Option<std::io::Error>,
    stats: AlertPcapStats,
}

fn pad4(n: usize) -> usize {
    (4 - n % 4) % 4
}

impl Log {
    fn put(&mut self, bytes: &[u8]) {
        if self.error.is_none() {
            if let Err(e) = self.w.write_all(bytes) {
                self.error = Some(e);
            }
        }
    }

    fn interface(&mut self, linktype: u32) -> u32 {
        if let Some(&id) = self.interfaces.get(&linktype) {
            return id;
        }
        let id = self.interfaces.len() as u32;
        self.interfaces.insert(linktype, id);
        // Interface Description Block: type 1, LinkType (16 bits),
        // reserved, SnapLen (0: no limit), options: if_tsresol (code 9,
        // one byte: 10^-9 s), opt_endofopt.
        let mut b = Vec::with_capacity(32);
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&32u32.to_le_bytes());
        b.extend_from_slice(&(linktype as u16).to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&9u16.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&[9, 0, 0, 0]);
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&32u32.to_le_bytes());
        self.put(&b);
        id
    }

    fn write_pkt(&mut self, p: &Pkt) {
        let ifid = self.interface(p.linktype);
        // Enhanced Packet Block: type 6, interface id, timestamp (high,
        // low; units of if_tsresol), captured and original length, data
        // padded to 32 bits, options (opt_comment, code 1, UTF-8), end.
        let mut opts = Vec::new();
        for c in &p.comments {
            opts.extend_from_slice(&1u16.to_le_bytes());
            opts.extend_from_slice(&(c.len() as u16).to_le_bytes());
            opts.extend_from_slice(c.as_bytes());
            opts.extend(std::iter::repeat_n(0u8, pad4(c.len())));
        }
        if !opts.is_empty() {
            opts.extend_from_slice(&0u32.to_le_bytes());
        }
        let total = 28 + p.data.len() + pad4(p.data.len()) + opts.len() + 4;
        let mut b = Vec::with_capacity(total);
        b.extend_from_slice(&6u32.to_le_bytes());
        b.extend_from_slice(&(total as u32).to_le_bytes());
        b.extend_from_slice(&ifid.to_le_bytes());
        b.extend_from_slice(&((p.ts_ns >> 32) as u32).to_le_bytes());
        b.extend_from_slice(&(p.ts_ns as u32).to_le_bytes());
        b.extend_from_slice(&(p.data.len() as u32).to_le_bytes());
        b.extend_from_slice(&p.orig_len.to_le_bytes());
        b.extend_from_slice(&p.data);
        b.extend(std::iter::repeat_n(0u8, pad4(p.data.len())));
        b.extend_from_slice(&opts);
        b.extend_from_slice(&(total as u32).to_le_bytes());
        self.put(&b);
        self.stats.packets += 1;
        self.stats.comments += p.comments.len() as u64;
    }

    /// Writes the flow's packets that are due: all but the latest (which
    /// may still get a comment), or all of them when `all`.
    fn drain(&mut self, uid: &str, all: bool) {
        let Some(mut f) = self.flows.remove(uid) else {
            return;
        };
        let keep = usize::from(!all);
        while f.ring.len() > keep && f.after > 0 {
            let Some(p) = f.ring.pop_front() else {
                break;
            };
            self.ring_bytes = self.ring_bytes.saturating_sub(p.data.len());
            self.write_pkt(&p);
            f.after -= 1;
            if !f.written {
                f.written = true;
                self.stats.flows += 1;
            }
        }
        self.flows.insert(uid.to_string(), f);
    }

    fn flag(&mut self, uid: Option<&str>, text: String) {
        // An alert about no flow (a scan, a summary raised at the end
        // whose crossing flow was flagged when it crossed): nothing to do.
        let Some(uid) = uid else {
            return;
        };
        let Some(f) = self.flows.get_mut(uid) else {
            self.stats.alerts_without_packets += 1;
            return;
        };
        let Some(last) = f.ring.back_mut() else {
            self.stats.alerts_without_packets += 1;
            return;
        };
        if last.comments.len() < MAX_COMMENTS {
            let mut end = text.len().min(MAX_COMMENT);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            last.comments.push(text[..end].to_string());
        }
        // The ring (before), then `n` more; the latest stays for now.
        f.after = f.ring.len() + self.n;
        self.drain(uid, false);
    }
}

/// The packet log shared by the two decorators.
#[derive(Clone)]
pub struct AlertPcap(Rc<RefCell<Log>>);

impl AlertPcap {
    /// Creates `path` (pcapng) and writes its Section Header Block. `n`:
    /// packets kept before and written after each alert, per flow.
    pub fn create(path: &Path, n: usize) -> std::io::Result<AlertPcap> {
        let w = BufWriter::new(File::create(path)?);
        let mut log = Log {
            w,
            n: n.max(1),
            flows: HashMap::new(),
            cur: None,
            ring_bytes: 0,
            interfaces: HashMap::new(),
            error: None,
            stats: AlertPcapStats::default(),
        };
        // Section Header Block: type 0x0A0D0D0A, byte-order magic
        // 0x1A2B3C4D, version 1.0, section length -1 (not given), no options.
        let mut b = Vec::with_capacity(28);
        b.extend_from_slice(&0x0A0D_0D0Au32.to_le_bytes());
        b.extend_from_slice(&28u32.to_le_bytes());
        b.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&(-1i64).to_le_bytes());
        b.extend_from_slice(&28u32.to_le_bytes());
        log.put(&b);
        Ok(AlertPcap(Rc::new(RefCell::new(log))))
    }

    /// Writes what the open flows still owe and flushes; the first I/O
    /// error, if any.
    pub fn finish(&self) -> std::io::Result<AlertPcapStats> {
        let mut log = self.0.borrow_mut();
        let uids: Vec<String> = log.flows.keys().cloned().collect();
        for u in uids {
            log.drain(&u, true);
        }
        log.flows.clear();
        if let Some(e) = log.error.take() {
            return Err(e);
        }
        log.w.flush()?;
        Ok(log.stats)
    }
}

/// The analyzer side: frames and flows.
pub struct AlertPcapHandler<'h, H> {
    pub inner: &'h mut H,
    pub log: AlertPcap,
}

impl<T, H: FlowHandler<T>> FlowHandler<T> for AlertPcapHandler<'_, H> {
    fn on_frame_number(&mut self, n: u64) {
        self.inner.on_frame_number(n);
    }

    fn on_frame_bytes(&mut self, ts_ns: u64, linktype: u32, data: &[u8], orig_len: u32) {
        self.log.0.borrow_mut().cur = Some(Pkt {
            ts_ns,
            linktype,
            data: data.to_vec(),
            orig_len,
            comments: Vec::new(),
        });
        self.inner.on_frame_bytes(ts_ns, linktype, data, orig_len);
    }

    fn on_packet(&mut self, flow: &mut Flow<T>, seen: Seen, pkt: &Decoded<'_>) {
        let uid = flow.uid.to_string();
        {
            let mut log = self.log.0.borrow_mut();
            let log = &mut *log;
            // Fragments of one datagram come as one packet: its last frame.
            if let Some(p) = log.cur.take() {
                let n = log.n;
                let over = log.ring_bytes > MAX_RING_BYTES;
                let f = log.flows.entry(uid.clone()).or_default();
                log.ring_bytes += p.data.len();
                f.ring.push_back(p);
                // Before an alert: the last n (1 when over the budget).
                let cap = if f.after > 0 {
                    usize::MAX
                } else if over {
                    1
                } else {
                    n
                };
                while f.ring.len() > cap {
                    if let Some(old) = f.ring.pop_front() {
                        log.ring_bytes = log.ring_bytes.saturating_sub(old.data.len());
                    }
                }
            }
        }
        self.inner.on_packet(flow, seen, pkt);
        self.log.0.borrow_mut().drain(&uid, false);
    }

    fn on_flow_end(&mut self, flow: Flow<T>) {
        let uid = flow.uid.to_string();
        // The flow's conn record (and its alerts) are written in here.
        self.inner.on_flow_end(flow);
        let mut log = self.log.0.borrow_mut();
        log.drain(&uid, true);
        if let Some(f) = log.flows.remove(&uid) {
            let bytes: usize = f.ring.iter().map(|p| p.data.len()).sum();
            log.ring_bytes = log.ring_bytes.saturating_sub(bytes);
        }
    }

    fn on_frames(&mut self, flow: &Flow<T>, frames: &[u64]) {
        self.inner.on_frames(flow, frames);
    }
}

/// The output side: alerts flag their flows.
pub struct AlertPcapOutput<'o> {
    pub inner: &'o mut dyn Output,
    pub log: AlertPcap,
}

impl Output for AlertPcapOutput<'_> {
    fn record(&mut self, log: &'static str, ts_ns: u64, common: &Common, record: &Record) {
        self.inner.record(log, ts_ns, common, record);
    }

    fn conn(&mut self, ts_ns: u64, rec: &FlowRecord) {
        self.inner.conn(ts_ns, rec);
    }

    fn alert(&mut self, a: &Alert) {
        self.log
            .0
            .borrow_mut()
            .flag(a.uid.as_deref(), a.to_string());
        self.inner.alert(a);
    }

    fn flow_flagged(&mut self, uid: &str, a: &Alert) {
        self.log.0.borrow_mut().flag(Some(uid), a.to_string());
        self.inner.flow_flagged(uid, a);
    }

    fn capture_damaged(&mut self, d: &CaptureDamage) {
        self.inner.capture_damaged(d);
    }

    fn packet(&mut self, p: &netsift_detect::dos::FloodPacket) {
        self.inner.packet(p);
    }

    fn memory_bytes(&self) -> usize {
        self.inner.memory_bytes()
    }

    fn tick(&mut self, now_ns: u64) {
        self.inner.tick(now_ns);
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.inner.finish()
    }

    fn summary(&self) -> &Summary {
        self.inner.summary()
    }
}
