//! Suricata rules (`--suricata-rules`) over what the analyzer already has:
//! every packet, the reassembled stream of each TCP direction, the sticky
//! buffers parsers hand over ([`netsift_proto::Sink::buffer`]) and the
//! carved files.
//!
//! When things are inspected follows Suricata's IDS mode, so that counts
//! agree with Suricata's:
//! * a packet is inspected when it arrives (header rules, `pkt_data`);
//! * TCP stream bytes of one direction are inspected once the other side
//!   has acknowledged them, with the next packet of their own direction
//!   (Suricata inspects the raw stream up to what was ACKed). A client's
//!   `QUIT` is inspected on the client's packet after the server's ACK;
//! * a transaction's direction is inspected, the same way, once the bytes
//!   that completed it ([`netsift_proto::Sink::tx_done`]) are
//!   acknowledged; a file once the bytes that closed it are;
//! * UDP and other datagrams have no acknowledgments: what they complete is
//!   inspected with the packet itself;
//! * what is still waiting when the flow ends is inspected then.
//!
//! Per-flow state is bounded: [`MAX_TXS`] transactions, [`MAX_TX_BYTES`]
//! of buffers per transaction, [`MAX_STREAM_PENDING`] stream bytes per
//! direction and [`MAX_PENDING_FILES`] closed files waiting.

use std::net::IpAddr;
use std::sync::Arc;

use netsift_detect::alert::{Alert, AlertType, RuleHit, Severity};
use netsift_proto::{BufferKind, Direction};
use netsift_rules::{Detector, FileView, FlowInfo, FlowRules, Match, Packet, RuleSet, TxBuffers};
use serde_json::{json, Map, Value};

use super::output::{Common, Output};

/// Transactions remembered per flow; the oldest inspected ones go first.
pub const MAX_TXS: usize = 64;
/// Buffer bytes kept per transaction (both directions).
pub const MAX_TX_BYTES: usize = 256 << 10;
/// Stream bytes of one direction waiting for their inspection.
pub const MAX_STREAM_PENDING: usize = 1 << 20;
/// Closed files waiting for their inspection, per flow.
pub const MAX_PENDING_FILES: usize = 16;
/// Bytes of a file kept for `file.data` (Suricata inspects a response
/// body up to libhtp's body limit; netsift keeps more, bounded).
pub const FILE_WINDOW: usize = 1 << 20;

/// Counters of a run with rules.
#[derive(Debug, Clone, Copy, Default)]
pub struct RuleStats {
    /// Alerts raised by rules.
    pub alerts: u64,
    /// Stream bytes not inspected because a direction's waiting bytes
    /// passed [`MAX_STREAM_PENDING`].
    pub stream_bytes_dropped: u64,
    /// Buffers or transactions not kept because of the per-flow bounds.
    pub buffers_dropped: u64,
    /// Closed files not inspected because too many were waiting.
    pub files_dropped: u64,
}

/// The rules of one run and their cross-flow state.
pub struct RuleEngine {
    det: Detector,
    scratch: Vec<Match>,
    pub stats: RuleStats,
}

impl RuleEngine {
    pub fn new(rules: Arc<RuleSet>) -> Self {
        RuleEngine {
            det: Detector::new(rules),
            scratch: Vec::new(),
            stats: RuleStats::default(),
        }
    }

    /// Some rule reads files (`file.data`, `filemagic`, ...).
    pub fn wants_files(&self) -> bool {
        self.det.wants_files()
    }

    fn wants(&self, kind: BufferKind) -> bool {
        self.det.wants(kind)
    }
}

/// One transaction's buffers.
#[derive(Debug, Default)]
struct TxEntry {
    id: u64,
    bufs: Vec<(BufferKind, bool, Vec<u8>)>,
    bytes: usize,
    /// Direction (0 to server, 1 to client) complete at this stream offset
    /// of its direction, and not inspected yet.
    ready: [Option<u64>; 2],
    inspected: [bool; 2],
    /// Body bytes the transaction carried so far per direction (its
    /// files' data), for the alert-time `http.length`.
    body: [u64; 2],
}

/// A file closed and not yet inspected.
#[derive(Debug)]
struct ClosedFile {
    /// Stream offset (of the file's direction) at its close.
    at: u64,
    tx: Option<u64>,
    to_server: bool,
    name: Option<String>,
    magic: &'static str,
    md5: String,
    sha256: String,
    data: Vec<u8>,
    size: u64,
}

/// What rules keep per flow (boxed in the flow's application state).
#[derive(Debug, Default)]
pub struct FlowRuleState {
    rules: FlowRules,
    txs: Vec<TxEntry>,
    /// Stream bytes waiting per direction: contiguous runs (start offset,
    /// bytes); a gap starts a new run.
    stream: [Vec<(u64, Vec<u8>)>; 2],
    stream_bytes: [usize; 2],
    /// Stream offset reached per direction (data and gaps delivered).
    delivered: [u64; 2],
    /// Stream offset the other side acknowledged, per direction.
    acked: [u64; 2],
    /// The flow is not TCP: nothing waits for acknowledgments.
    datagrams: bool,
    files: Vec<ClosedFile>,
    /// TCP handshake seen: 1 SYN from the client, 2 its SYN-ACK, 4 the
    /// client's ACK of it (Suricata's `established`).
    handshake: u8,
    /// Where the flow's application protocol became known: the direction
    /// and the stream offset of the bytes that named it.
    app_at: Option<(usize, u64)>,
    /// ICMP errors quoting this flow's packets, (packets, bytes) per
    /// direction: Suricata counts them in the flow's counters.
    icmp_err: [(u64, u64); 2],
}

fn di(dir: Direction) -> usize {
    match dir {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

impl FlowRuleState {
    /// A parser's buffer (see [`netsift_proto::Sink::buffer`]).
    pub fn buffer(
        &mut self,
        eng: &mut RuleEngine,
        tx: u64,
        dir: Direction,
        kind: BufferKind,
        data: &[u8],
    ) {
        if !eng.wants(kind) {
            return;
        }
        let Some(e) = self.tx_entry(tx) else {
            eng.stats.buffers_dropped += 1;
            return;
        };
        let to_server = dir == Direction::ToServer;
        if e.bytes + data.len() > MAX_TX_BYTES {
            eng.stats.buffers_dropped += 1;
            return;
        }
        e.bytes += data.len();
        // Each call gives the whole buffer: a repeat replaces it, except
        // for the buffers that have one value per item (DNS questions).
        if kind != BufferKind::DnsQuery {
            if let Some(slot) = e
                .bufs
                .iter_mut()
                .find(|(k, ts, _)| *k == kind && *ts == to_server)
            {
                slot.2 = data.to_vec();
                return;
            }
        }
        e.bufs.push((kind, to_server, data.to_vec()));
    }

    /// A direction of a transaction is complete.
    pub fn tx_done(&mut self, tx: u64, dir: Direction) {
        let d = di(dir);
        let at = self.delivered[d];
        if let Some(e) = self.tx_entry(tx) {
            if !e.inspected[d] {
                e.ready[d] = Some(at);
            }
        }
    }

    /// An ICMP error of `len` bytes quoting this flow, travelling to the
    /// server (`to_server`) or to the client.
    pub fn icmp_error(&mut self, to_server: bool, len: u32) {
        let e = &mut self.icmp_err[usize::from(!to_server)];
        e.0 += 1;
        e.1 += u64::from(len);
    }

    /// The ICMP errors counted in this flow, (packets, bytes) to the
    /// server and to the client.
    pub fn icmp_errors(&self) -> [(u64, u64); 2] {
        self.icmp_err
    }

    /// `n` more body bytes of transaction `tx` in direction `dir`.
    pub fn body_data(&mut self, tx: u64, dir: Direction, n: usize) {
        if let Some(e) = self.tx_entry(tx) {
            let b = &mut e.body[di(dir)];
            *b = b.saturating_add(n as u64);
        }
    }

    /// The other side acknowledged direction `dir` up to `offset`.
    pub fn acked(&mut self, dir: Direction, offset: u64) {
        let d = di(dir);
        self.acked[d] = self.acked[d].max(offset.min(self.delivered[d]));
    }

    /// The application protocol as rules see it at a packet of `dir`.
    /// Suricata's app layer parses a TCP direction's bytes only once the
    /// other side acknowledged them, so `alert http ...` matches from the
    /// first packet after that acknowledgment, not from the request's own
    /// packet (suricata-verify detect-engine-proto). Datagrams are parsed
    /// as they come.
    pub fn app_proto<P>(&mut self, proto: Option<P>, dir: Direction) -> Option<P> {
        let p = proto?;
        if self.datagrams {
            return Some(p);
        }
        let d = di(dir);
        let (d, at) = *self.app_at.get_or_insert((d, self.delivered[d]));
        (self.acked[d] >= at).then_some(p)
    }

    /// Is what completed at `at` in direction `d` inspectable now?
    fn due(&self, d: usize, at: u64) -> bool {
        self.datagrams || at <= self.acked[d]
    }

    /// The entry of transaction `tx`, created if there is room (the
    /// oldest fully inspected transaction makes room).
    fn tx_entry(&mut self, tx: u64) -> Option<&mut TxEntry> {
        if let Some(i) = self.txs.iter().position(|e| e.id == tx) {
            return self.txs.get_mut(i);
        }
        if self.txs.len() >= MAX_TXS {
            let old = self.txs.iter().position(|e| e.inspected == [true, true])?;
            self.txs.remove(old);
        }
        self.txs.push(TxEntry {
            id: tx,
            ..Default::default()
        });
        self.txs.last_mut()
    }

    /// In-order stream bytes of one direction (TCP).
    pub fn stream_data(&mut self, eng: &mut RuleEngine, dir: Direction, data: &[u8]) {
        let d = di(dir);
        let at = self.delivered[d];
        self.delivered[d] += data.len() as u64;
        // Suricata follows a TCP stream only from its SYN (no midstream
        // pickup): a connection seen without one is inspected packet by
        // packet.
        if self.handshake & 1 == 0 || !eng.det.wants_stream() {
            return;
        }
        let room = MAX_STREAM_PENDING.saturating_sub(self.stream_bytes[d]);
        let take = data.len().min(room);
        eng.stats.stream_bytes_dropped += (data.len() - take) as u64;
        if take == 0 {
            return;
        }
        self.stream_bytes[d] += take;
        let runs = &mut self.stream[d];
        match runs.last_mut() {
            Some((start, b)) if *start + b.len() as u64 == at => b.extend_from_slice(&data[..take]),
            _ => runs.push((at, data[..take].to_vec())),
        }
    }

    /// Bytes of one direction that will never come (a gap).
    pub fn stream_gap(&mut self, dir: Direction, len: u64) {
        let d = di(dir);
        self.delivered[d] = self.delivered[d].saturating_add(len);
    }

    /// The flow carries datagrams, not a TCP stream.
    pub fn set_datagrams(&mut self) {
        self.datagrams = true;
    }

    /// A file closed.
    #[allow(clippy::too_many_arguments)]
    pub fn file_closed(
        &mut self,
        eng: &mut RuleEngine,
        tx: Option<u64>,
        dir: Option<Direction>,
        rec: &super::files::FileRecord,
        data: Vec<u8>,
    ) {
        if self.files.len() >= MAX_PENDING_FILES {
            eng.stats.files_dropped += 1;
            return;
        }
        let at = dir.map_or(0, |d| self.delivered[di(d)]);
        self.files.push(ClosedFile {
            at,
            tx,
            to_server: dir == Some(Direction::ToServer),
            name: rec.name.clone(),
            magic: rec.mime_type,
            md5: rec.md5.clone(),
            sha256: rec.sha256.clone(),
            data,
            size: rec.size,
        });
    }
}

/// The waiting stream bytes of direction `d` below offset `upto`, joined
/// (runs split by a gap are joined too: the detector sees them as one
/// segment after another).
fn take_stream(st: &mut FlowRuleState, d: usize, upto: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let runs = &mut st.stream[d];
    let mut keep = Vec::new();
    for (start, mut b) in runs.drain(..) {
        let end = start + b.len() as u64;
        if end <= upto {
            out.extend_from_slice(&b);
        } else if start < upto {
            let n = usize::try_from(upto - start)
                .unwrap_or(b.len())
                .min(b.len());
            out.extend_from_slice(&b[..n]);
            b.drain(..n);
            keep.push((upto, b));
        } else {
            keep.push((start, b));
        }
    }
    *runs = keep;
    st.stream_bytes[d] = st.stream_bytes[d].saturating_sub(out.len());
    out
}

/// A transaction's buffers lent to the detector.
struct TxView<'a> {
    vals: Vec<(BufferKind, bool, Vec<&'a [u8]>)>,
}

impl<'a> TxView<'a> {
    fn of(e: &'a TxEntry) -> Self {
        let mut vals: Vec<(BufferKind, bool, Vec<&'a [u8]>)> = Vec::new();
        for (k, ts, b) in &e.bufs {
            match vals.iter_mut().find(|(k2, ts2, _)| k2 == k && ts2 == ts) {
                Some(v) => v.2.push(b),
                None => vals.push((*k, *ts, vec![b.as_slice()])),
            }
        }
        TxView { vals }
    }
}

impl TxBuffers for TxView<'_> {
    fn get(&self, kind: BufferKind, to_server: bool) -> &[&[u8]] {
        self.vals
            .iter()
            .find(|(k, ts, _)| *k == kind && *ts == to_server)
            .map(|(_, _, v)| v.as_slice())
            .unwrap_or(&[])
    }
}

/// The packet being inspected, as the analyzer knows it.
pub struct PacketCtx<'a> {
    pub ts_ns: u64,
    pub common: &'a Common,
    /// The packet's direction in its flow.
    pub dir: Direction,
    pub ip_proto: u8,
    pub ttl: Option<u8>,
    pub tcp_flags: Option<u8>,
    pub icmp: Option<(u8, u8)>,
    pub payload: &'a [u8],
    /// The flow's protocol verdict (netsift's name), when decided.
    pub app_proto: Option<&'static str>,
    /// Flow counters at this packet: (packets, bytes) to server and to
    /// client, and the flow's start.
    pub counters: [(u64, u64); 2],
    pub flow_start_ns: u64,
    /// The capture frame number (Suricata's `pcap_cnt`); `None` at a
    /// flow's end.
    pub frame: Option<u64>,
}

impl PacketCtx<'_> {
    fn endpoints(&self) -> (IpAddr, Option<u16>, IpAddr, Option<u16>) {
        let c = self.common;
        let ports = matches!(self.ip_proto, 6 | 17 | 132);
        let (sp, dp) = if ports {
            (Some(c.src_port), Some(c.dst_port))
        } else {
            (None, None)
        };
        match self.dir {
            Direction::ToServer => (c.src_ip, sp, c.dst_ip, dp),
            Direction::ToClient => (c.dst_ip, dp, c.src_ip, sp),
        }
    }

    fn packet(&self, established: bool, with_payload: bool) -> Packet<'_> {
        let (src, src_port, dst, dst_port) = self.endpoints();
        Packet {
            ts_ns: self.ts_ns,
            src,
            dst,
            src_port,
            dst_port,
            ip_proto: self.ip_proto,
            ttl: self.ttl,
            tcp_flags: self.tcp_flags,
            icmp_type: self.icmp.map(|i| i.0),
            icmp_code: self.icmp.map(|i| i.1),
            payload: if with_payload { self.payload } else { &[] },
            flow: Some(FlowInfo {
                to_server: self.dir == Direction::ToServer,
                established,
                app_proto: self.app_proto,
            }),
        }
    }
}

impl RuleEngine {
    /// Inspect one packet of a flow, and what became ready for its
    /// direction since the last packet of that direction. `end`: the flow
    /// ended; inspect what waits in both directions.
    pub fn on_packet(
        &mut self,
        st: &mut FlowRuleState,
        ctx: &PacketCtx<'_>,
        end: bool,
        out: &mut dyn Output,
    ) {
        let established = self.track_handshake(st, ctx);
        if st.rules.passed() {
            return;
        }
        let mut matches = std::mem::take(&mut self.scratch);
        matches.clear();
        if !end {
            let d = di(ctx.dir);
            let upto = if st.datagrams { u64::MAX } else { st.acked[d] };
            let stream = take_stream(st, d, upto);
            let pkt = ctx.packet(established, true);
            let s = (!stream.is_empty()).then_some(stream.as_slice());
            self.det
                .inspect_packet(&pkt, s, Some(&mut st.rules), &mut matches);
            self.emit(ctx, &matches, None, out);
            matches.clear();
            self.inspect_ready(st, ctx, established, d, false, &mut matches, out);
        } else {
            for dir in [Direction::ToServer, Direction::ToClient] {
                let dctx = PacketCtx {
                    dir,
                    payload: &[],
                    frame: None,
                    ..*ctx
                };
                let dd = di(dir);
                let stream = take_stream(st, dd, u64::MAX);
                if !stream.is_empty() {
                    let p = dctx.packet(established, false);
                    self.det
                        .inspect_stream_end(&p, &stream, &mut st.rules, &mut matches);
                    self.emit(&dctx, &matches, None, out);
                    matches.clear();
                }
                // Flow end: what never completed is inspected as it is.
                for e in st.txs.iter_mut() {
                    if !e.inspected[dd] && e.ready[dd].is_none() && !e.bufs.is_empty() {
                        e.ready[dd] = Some(0);
                    }
                }
                self.inspect_ready(st, &dctx, established, dd, true, &mut matches, out);
            }
        }
        self.scratch = matches;
    }

    #[allow(clippy::too_many_arguments)]
    fn inspect_ready(
        &mut self,
        st: &mut FlowRuleState,
        ctx: &PacketCtx<'_>,
        established: bool,
        d: usize,
        all: bool,
        matches: &mut Vec<Match>,
        out: &mut dyn Output,
    ) {
        let pkt = ctx.packet(established, false);
        for i in 0..st.txs.len() {
            let Some(at) = st.txs[i].ready[d] else {
                continue;
            };
            if !all && !st.due(d, at) {
                continue;
            }
            st.txs[i].ready[d] = None;
            st.txs[i].inspected[d] = true;
            let id = st.txs[i].id;
            let body = st.txs[i].body[1];
            let view = TxView::of(&st.txs[i]);
            self.det.inspect_tx(&pkt, id, &view, &mut st.rules, matches);
            drop(view);
            self.emit(ctx, matches, Some((id, body)), out);
            matches.clear();
        }
        let to_server = d == 0;
        let mut k = 0;
        while k < st.files.len() {
            let f = &st.files[k];
            if f.to_server != to_server || !(all || st.due(d, f.at)) {
                k += 1;
                continue;
            }
            let f = st.files.remove(k);
            let view = FileView {
                tx: f.tx,
                to_server: f.to_server,
                name: f.name.as_deref(),
                magic: Some(f.magic),
                md5: Some(&f.md5),
                sha256: Some(&f.sha256),
                data: &f.data,
                size: f.size,
            };
            let entry = f.tx.and_then(|t| st.txs.iter().find(|e| e.id == t));
            let tx = f.tx.map(|t| (t, entry.map_or(0, |e| e.body[1])));
            let txv = entry.map(TxView::of);
            self.det.inspect_file(
                &pkt,
                &view,
                txv.as_ref().map(|v| v as &dyn TxBuffers),
                &mut st.rules,
                matches,
            );
            drop(txv);
            self.emit(ctx, matches, tx, out);
            matches.clear();
        }
    }

    /// Suricata's `established`: TCP after the client acknowledged the
    /// SYN-ACK; other transports once both directions were seen.
    fn track_handshake(&self, st: &mut FlowRuleState, ctx: &PacketCtx<'_>) -> bool {
        const SYN: u8 = 0x02;
        const ACK: u8 = 0x10;
        match ctx.tcp_flags {
            Some(f) => {
                let to_server = ctx.dir == Direction::ToServer;
                if f & (SYN | ACK) == SYN && to_server {
                    st.handshake |= 1;
                } else if f & (SYN | ACK) == SYN | ACK && !to_server && st.handshake & 1 != 0 {
                    st.handshake |= 2;
                } else if f & (SYN | ACK) == ACK && to_server && st.handshake & 3 == 3 {
                    st.handshake |= 4;
                }
                st.handshake & 4 != 0
            }
            None => {
                st.handshake |= if ctx.dir == Direction::ToServer { 1 } else { 2 };
                st.handshake & 3 == 3
            }
        }
    }

    /// Alerts for `matches`; `tx`: the transaction they are about, with
    /// the response body bytes it had carried at this moment.
    fn emit(
        &mut self,
        ctx: &PacketCtx<'_>,
        matches: &[Match],
        tx: Option<(u64, u64)>,
        out: &mut dyn Output,
    ) {
        if matches.is_empty() {
            return;
        }
        let rules = Arc::clone(self.det.rules());
        for m in matches {
            let r = rules.rule(m.rule);
            let (src, sp, dst, dp) = ctx.endpoints();
            let severity = match r.priority {
                1 => Severity::High,
                2 => Severity::Medium,
                _ => Severity::Low,
            };
            let mut context = Map::new();
            if let Some(n) = ctx.frame {
                context.insert("pcap_cnt".into(), Value::from(n));
            }
            context.insert(
                "proto".into(),
                Value::from(super::eve::proto_name(ctx.ip_proto)),
            );
            let app = ctx.app_proto.and_then(super::eve::app_proto);
            if let Some(app) = app {
                context.insert("app_proto".into(), Value::from(app));
            }
            // Suricata logs a transaction as it stands at the alert: the
            // response body may still be arriving (suricata-verify
            // bug-78-http-uri). The rest of the `http` object is added
            // when the output is written.
            if let (Some((_, body)), Some("http")) = (tx, app) {
                context.insert("http".into(), json!({ "length": body }));
            }
            context.insert(
                "direction".into(),
                Value::from(match ctx.dir {
                    Direction::ToServer => "to_server",
                    Direction::ToClient => "to_client",
                }),
            );
            let [(ps, bs), (pc, bc)] = ctx.counters;
            context.insert(
                "flow".into(),
                json!({
                    "pkts_toserver": ps, "pkts_toclient": pc,
                    "bytes_toserver": bs, "bytes_toclient": bc,
                    "start": super::eve::eve_time(ctx.flow_start_ns),
                    "src_ip": ctx.common.src_ip.to_string(),
                    "dest_ip": ctx.common.dst_ip.to_string(),
                }),
            );
            let hit = RuleHit {
                sid: r.sid,
                gid: r.gid,
                rev: r.rev,
                msg: r.msg.clone(),
                action: r.action.as_str(),
                classtype: r.classtype.clone(),
                category: r.category().to_string(),
                priority: r.priority,
                buffer: Some(m.buffer),
                buffer_offset: m.offset,
                tx_id: tx.map(|(t, _)| t),
                context,
            };
            let mut a = Alert::new(ctx.ts_ns, AlertType::Rule, format!("{}:{}", r.sid, r.msg))
                .with_severity(severity)
                .with_uid(ctx.common.uid.clone())
                .with_endpoints(src, sp, dst, dp);
            a.rule_hit = Some(Box::new(hit));
            self.stats.alerts += 1;
            out.alert(&a);
        }
    }
}
