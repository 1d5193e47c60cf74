//! The per-packet pipeline: decode → defragment → flow table → handler.
//!
//! A [`Pipeline`] owns one flow table and one reassembler and nothing global,
//! so several pipelines can run on separate threads, each fed one shard of
//! the flows (by [`netsift_flow::FlowKey::symmetric_hash`]).

use netsift_capture::Frame;
use netsift_flow::{
    DefragConfig, Defragmenter, Dir, Flow, FlowConfig, FlowKey, FlowTable, FragmentIn, Seen,
    TableStats,
};
use netsift_wire::{decode, decode_reassembled, DecodeError, Decoded, LinkType, Transport};

/// What the pipeline tells its user about packets and flows.
pub trait FlowHandler<T> {
    /// Called for every packet that belongs to a flow, after the flow's
    /// counters and state were updated.
    fn on_packet(&mut self, _flow: &mut Flow<T>, _seen: Seen, _pkt: &Decoded<'_>) {}

    /// Called once for every flow that ended (timeout, close, eviction, or
    /// the end of the capture).
    fn on_flow_end(&mut self, flow: Flow<T>);

    /// With [`Pipeline::track_frames`] on: the capture frames (1-based
    /// numbers in reading order) that made the packet just given to
    /// [`FlowHandler::on_packet`] — one frame, or every fragment of a
    /// reassembled datagram.
    fn on_frames(&mut self, _flow: &Flow<T>, _frames: &[u64]) {}

    /// The number (from 1) of the capture's frame being processed, before
    /// its packet reaches [`FlowHandler::on_packet`] (Suricata's
    /// `pcap_cnt`).
    fn on_frame_number(&mut self, _n: u64) {}

    /// An ICMP error quoting a packet of `flow` arrived (after it was
    /// given to its own ICMP flow); `dir`: the way it travels in `flow`.
    /// Suricata counts such errors in the quoted flow.
    fn on_icmp_error(&mut self, _flow: &mut Flow<T>, _dir: Dir, _wire_len: u32) {}

    /// The frame being processed, as captured, before its packet reaches
    /// [`FlowHandler::on_packet`] (the packet log of `--alert-pcap` keeps
    /// copies).
    fn on_frame_bytes(&mut self, _ts_ns: u64, _linktype: u32, _data: &[u8], _orig_len: u32) {}

    /// Called every 65 536 frames and before the capture's flows end, with
    /// the flow table's estimated bytes, for memory accounting.
    fn on_memory_sample(&mut self, _table_bytes: usize) {}
}

/// Where a frame sits in its capture (see [`Pipeline::on_bytes_at`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameAt {
    /// The frame's own time stamp.
    pub ts_ns: u64,
    /// Its number in the capture, from 1.
    pub frame_no: u64,
    /// The capture's packet time: the latest time stamp up to this frame.
    pub now_ns: u64,
}

/// Pipeline settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct PipelineConfig {
    pub flow: FlowConfig,
    pub defrag: DefragConfig,
    /// Stop at the first damaged record (tcpdump's and tshark's way)
    /// instead of skipping to the next plausible one and reporting the
    /// skipped ranges.
    pub strict_capture: bool,
}

/// Packet counters. Decode errors are counted per kind and the packet is
/// skipped; they are never fatal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub packets: u64,
    /// Bytes on the wire (original lengths).
    pub bytes: u64,
    /// Frames that belong to a flow (directly or after reassembly).
    pub flow_packets: u64,
    /// Non-IP frames (ARP, LLDP, STP, ...).
    pub non_ip: u64,
    /// IP fragments fed to the reassembler.
    pub fragments: u64,
    /// Frames that failed to decode, by reason.
    pub truncated: u64,
    pub malformed: u64,
    pub too_deep: u64,
    /// Frames of a link type netsift does not decode.
    pub unsupported_linktype: u64,
}

impl Counters {
    /// All frames that failed to decode.
    pub fn decode_errors(&self) -> u64 {
        self.truncated + self.malformed + self.too_deep + self.unsupported_linktype
    }
}

/// One capture's processing state.
pub struct Pipeline<T> {
    table: FlowTable<T>,
    defrag: Defragmenter,
    counters: Counters,
    /// Frame numbers of fragments awaiting reassembly, when tracking.
    frag_frames: Option<netsift_flow::SeededMap<FragKey, Vec<u64>>>,
}

type FragKey = (std::net::IpAddr, std::net::IpAddr, u8, u32);

/// Datagrams whose fragment frames are tracked at once.
const MAX_TRACKED_DATAGRAMS: usize = 4096;

/// Frames remembered per datagram under reassembly (more are not tracked).
const MAX_TRACKED_FRAGMENTS: usize = 256;

impl<T: Default> Pipeline<T> {
    pub fn new(cfg: PipelineConfig) -> Self {
        Pipeline {
            table: FlowTable::new(cfg.flow),
            defrag: Defragmenter::new(cfg.defrag),
            counters: Counters::default(),
            frag_frames: None,
        }
    }

    /// Report, through [`FlowHandler::on_frames`], which capture frames
    /// make each flow packet (for per-flow export).
    pub fn track_frames(&mut self) {
        self.frag_frames = Some(Default::default());
    }

    pub fn counters(&self) -> Counters {
        self.counters
    }

    pub fn table_stats(&self) -> TableStats {
        self.table.stats()
    }

    pub fn defrag_stats(&self) -> netsift_flow::DefragStats {
        self.defrag.stats()
    }

    /// Bytes held by the flow table (slab, index); see
    /// [`FlowTable::memory_bytes`].
    pub fn table_memory(&self) -> usize {
        self.table.memory_bytes()
    }

    /// Flows currently open.
    pub fn open_flows(&self) -> usize {
        self.table.len()
    }

    /// Feed one captured frame.
    pub fn on_frame<H: FlowHandler<T>>(&mut self, frame: &Frame<'_>, handler: &mut H) {
        self.on_bytes(
            frame.ts_ns,
            LinkType(frame.linktype),
            frame.data,
            frame.orig_len,
            handler,
        );
    }

    /// Feed one frame given as its parts.
    pub fn on_bytes<H: FlowHandler<T>>(
        &mut self,
        ts_ns: u64,
        link: LinkType,
        data: &[u8],
        orig_len: u32,
        handler: &mut H,
    ) {
        let frame_no = self.counters.packets + 1;
        self.on_bytes_at(
            FrameAt {
                ts_ns,
                frame_no,
                now_ns: ts_ns,
            },
            link,
            data,
            orig_len,
            handler,
        );
    }

    /// Feed one frame of a capture whose frames are spread over several
    /// pipelines (`--threads`): `at` gives the frame's number in the whole
    /// capture and the capture's packet time so far, so that uids and flow
    /// expiry are those of a single pipeline fed every frame.
    pub fn on_bytes_at<H: FlowHandler<T>>(
        &mut self,
        at: FrameAt,
        link: LinkType,
        data: &[u8],
        orig_len: u32,
        handler: &mut H,
    ) {
        let FrameAt {
            ts_ns,
            frame_no,
            now_ns,
        } = at;
        self.counters.packets += 1;
        self.counters.bytes += u64::from(orig_len);
        handler.on_frame_number(frame_no);
        handler.on_frame_bytes(ts_ns, link.0, data, orig_len);
        if self.counters.packets & 0xFFFF == 0 {
            handler.on_memory_sample(self.table.memory_bytes());
        }
        // Time is the capture's: flows of this pipeline idle past their
        // timeout end before this frame, as they would with every frame.
        self.table.expire(now_ns);
        let pkt = match decode(link, data) {
            Ok(p) => p,
            Err(e) => {
                match e {
                    DecodeError::Truncated { .. } => self.counters.truncated += 1,
                    DecodeError::Malformed { .. } => self.counters.malformed += 1,
                    DecodeError::TooDeep => self.counters.too_deep += 1,
                    DecodeError::UnsupportedLinkType(_) => self.counters.unsupported_linktype += 1,
                }
                // Time still advanced above: flows expire on packet time
                // even when the packet itself is garbage.
                self.emit_finished(handler);
                return;
            }
        };
        let Some(ip) = pkt.ip.as_ref() else {
            self.counters.non_ip += 1;
            self.emit_finished(handler);
            return;
        };
        if let (Some(frag), Transport::Fragment { payload }) = (ip.fragment, ip.transport) {
            self.counters.fragments += 1;
            let key: FragKey = (ip.src, ip.dst, ip.proto, frag.id);
            if let Some(map) = self.frag_frames.as_mut() {
                if map.len() < MAX_TRACKED_DATAGRAMS || map.contains_key(&key) {
                    let v = map.entry(key).or_default();
                    if v.len() < MAX_TRACKED_FRAGMENTS {
                        v.push(frame_no);
                    }
                }
            }
            let done = self.defrag.insert(
                ts_ns,
                FragmentIn {
                    src: ip.src,
                    dst: ip.dst,
                    proto: ip.proto,
                    id: frag.id,
                    offset: frag.offset,
                    more: frag.more,
                    data: payload,
                },
            );
            match done {
                Some(buf) => {
                    let frames = self
                        .frag_frames
                        .as_mut()
                        .and_then(|m| m.remove(&key))
                        .unwrap_or_default();
                    match decode_reassembled(&pkt, &buf) {
                        Ok(whole) => {
                            self.on_decoded(ts_ns, &whole, orig_len, frame_no, &frames, handler)
                        }
                        Err(_) => self.counters.malformed += 1,
                    }
                }
                None => self.emit_finished(handler),
            }
            return;
        }
        self.on_decoded(ts_ns, &pkt, orig_len, frame_no, &[frame_no], handler);
    }

    fn on_decoded<H: FlowHandler<T>>(
        &mut self,
        ts_ns: u64,
        pkt: &Decoded<'_>,
        wire_len: u32,
        frame_no: u64,
        frames: &[u64],
        handler: &mut H,
    ) {
        if let Some(seen) = self.table.process_frame(ts_ns, pkt, wire_len, frame_no) {
            self.counters.flow_packets += 1;
            if let Some(flow) = self.table.get_mut(seen.idx) {
                handler.on_packet(flow, seen, pkt);
                if self.frag_frames.is_some() {
                    handler.on_frames(flow, frames);
                }
            }
            if let Some((key, from_lo)) = FlowKey::of_icmp_error(pkt) {
                if let Some((idx, dir)) = self.table.find(&key, from_lo) {
                    if let Some(flow) = self.table.get_mut(idx) {
                        handler.on_icmp_error(flow, dir, wire_len);
                    }
                }
            }
        }
        self.emit_finished(handler);
    }

    fn emit_finished<H: FlowHandler<T>>(&mut self, handler: &mut H) {
        if self.table.has_finished() {
            for f in self.table.drain_finished() {
                handler.on_flow_end(f);
            }
        }
    }

    /// Packet time is now `now_ns` although no packet arrived (a live
    /// capture while the wire is idle): flows idle for longer than their
    /// timeout end. Time never goes back: an earlier `now_ns` does nothing.
    pub fn advance<H: FlowHandler<T>>(&mut self, now_ns: u64, handler: &mut H) {
        self.table.expire(now_ns);
        self.emit_finished(handler);
    }

    /// End the capture: every open flow ends, in creation order.
    pub fn finish<H: FlowHandler<T>>(&mut self, handler: &mut H) {
        handler.on_memory_sample(self.table.memory_bytes());
        self.table.flush_each(|f| handler.on_flow_end(f));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Ended(Vec<u64>);
    impl FlowHandler<()> for Ended {
        fn on_flow_end(&mut self, flow: Flow<()>) {
            self.0.push(flow.last_ts);
        }
    }

    /// Ethernet + IPv4 + UDP 10.0.0.1:5353 -> 10.0.0.2:53, 4 payload bytes.
    fn udp_frame() -> Vec<u8> {
        let mut p = vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00];
        p.extend_from_slice(&[0x45, 0, 0, 32, 0, 1, 0, 0, 64, 17, 0, 0]);
        p.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        p.extend_from_slice(&[0x14, 0xe9, 0, 53, 0, 12, 0, 0]);
        p.extend_from_slice(b"ping");
        p
    }

    /// A live capture's idle clock ends idle flows with no packet arriving,
    /// and a clock going back does nothing.
    #[test]
    fn advance_expires_idle_flows_without_packets() {
        const S: u64 = 1_000_000_000;
        let mut pipe: Pipeline<()> = Pipeline::new(PipelineConfig::default());
        let mut h = Ended::default();
        let f = udp_frame();
        pipe.on_bytes(100 * S, LinkType(1), &f, f.len() as u32, &mut h);
        assert_eq!(pipe.open_flows(), 1);
        pipe.advance(159 * S, &mut h);
        assert!(h.0.is_empty(), "59 s idle: below UDP's 60 s");
        pipe.advance(160 * S, &mut h);
        assert_eq!(h.0, vec![100 * S], "60 s idle: ended");
        pipe.on_bytes(200 * S, LinkType(1), &f, f.len() as u32, &mut h);
        pipe.advance(300 * S, &mut h);
        pipe.advance(10 * S, &mut h);
        assert_eq!(h.0.len(), 2);
        assert_eq!(pipe.open_flows(), 0);
    }
}
