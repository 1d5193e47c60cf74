//! The flow table: bidirectional flows with idle and active timeouts driven
//! by packet time, TCP close handling, and a hard cap on the number of flows.
//!
//! # Design
//! Flows live in a slab (slots in fixed-size chunks that never move, see
//! [`Chunked`]; indices reused) indexed by a hash map from [`FlowKey`].
//! Every flow is also on one of four intrusive LRU lists ("lanes"), one
//! per idle timeout: open TCP, unanswered TCP attempts, UDP, other
//! protocols, and closed TCP (lingering a few seconds to absorb the last
//! ACKs). A packet moves its flow to the tail of its lane, so each lane is
//! ordered by last activity and expiry only ever looks at lane heads: O(1)
//! per packet, no periodic scan. When the table is full the least recently
//! active flow of all lanes is evicted and counted.
//!
//! The table holds no global state: several tables can run side by side,
//! each fed the flows of one [`FlowKey::symmetric_hash`] shard.
//!
//! All times are nanoseconds of packet time.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use netsift_wire::{Decoded, TcpInfo, Transport, Tunnel};

use crate::chunked::Chunked;
use crate::community_id::community_id_v1;
use crate::conn::ConnTracker;
use crate::key::{Endpoint, FlowKey};

const NS: u64 = 1_000_000_000;

/// Flow table settings.
#[derive(Debug, Clone, Copy)]
pub struct FlowConfig {
    /// Maximum flows held at once; beyond it the least recently active flow
    /// is evicted.
    pub max_flows: usize,
    /// Idle timeout of open TCP connections (Zeek: 5 min).
    pub tcp_idle_ns: u64,
    /// Idle timeout of a TCP connection attempt the responder never
    /// answered (no packet from it yet, no payload from the originator).
    /// By default the same as
    /// `tcp_idle_ns`; live capture shortens it (Zeek's `tcp_attempt_delay`
    /// is 5 s) so probes of filtered ports end, and count for scan
    /// detection, within seconds instead of minutes.
    pub tcp_attempt_ns: u64,
    /// Idle timeout of UDP flows (Zeek: 1 min).
    pub udp_idle_ns: u64,
    /// Idle timeout of other protocols: ICMP, SCTP, GRE, ... (Zeek: 1 min).
    pub other_idle_ns: u64,
    /// How long a closed TCP connection (FIN both ways, or RST) is kept to
    /// absorb trailing packets (Zeek's tcp_close_delay: 5 s).
    pub closed_linger_ns: u64,
    /// A flow older than this is ended and continued as a new flow record,
    /// as NetFlow/IPFIX exporters do (30 min).
    pub active_timeout_ns: u64,
    /// Seed for uids, so several tables (shards) give distinct uids.
    pub uid_seed: u64,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            max_flows: 1_000_000,
            tcp_idle_ns: 300 * NS,
            tcp_attempt_ns: 300 * NS,
            udp_idle_ns: 60 * NS,
            other_idle_ns: 60 * NS,
            closed_linger_ns: 5 * NS,
            active_timeout_ns: 1800 * NS,
            uid_seed: 0,
        }
    }
}

/// Why a flow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// No packet for the idle timeout.
    Idle,
    /// TCP FIN in both directions or RST, then the linger time passed.
    Closed,
    /// The active timeout split a long flow.
    Active,
    /// A new SYN reused the 5-tuple of a closed connection.
    Reused,
    /// Evicted because the table was full.
    Evicted,
    /// The capture ended.
    End,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Idle => "idle",
            EndReason::Closed => "closed",
            EndReason::Active => "active",
            EndReason::Reused => "reused",
            EndReason::Evicted => "evicted",
            EndReason::End => "end",
        }
    }
}

/// A unique flow identifier, printed Zeek-style as `C` plus base62.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Uid(pub u64);

impl Uid {
    /// "C" and 11 base-62 digits, as ASCII bytes.
    pub fn digits(&self) -> [u8; 12] {
        let mut buf = [0; 12];
        self.write_digits(&mut buf);
        buf
    }

    /// [`Uid::digits`], written into `buf`.
    pub fn write_digits(&self, buf: &mut [u8; 12]) {
        const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        buf[0] = b'C';
        let mut v = self.0;
        for slot in buf[1..].iter_mut().rev() {
            *slot = DIGITS[(v % 62) as usize];
            v /= 62;
        }
    }
}

impl std::fmt::Display for Uid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(std::str::from_utf8(&self.digits()).unwrap_or("C"))
    }
}

/// SplitMix64's finaliser: a bijection on u64, so distinct inputs give
/// distinct uids.
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Per-direction counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirStats {
    pub pkts: u64,
    /// Bytes on the wire (the frame's original length).
    pub bytes: u64,
    /// Transport payload bytes.
    pub payload_bytes: u64,
    /// IP bytes: each packet's IP length (IPv4 total length, IPv6 40 +
    /// payload length), as Zeek's `orig_ip_bytes`/`resp_ip_bytes` count.
    pub ip_bytes: u64,
}

/// Direction of a packet relative to its flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// From the initiator.
    Orig = 0,
    /// From the responder.
    Resp = 1,
}

/// One flow.
#[derive(Debug, Clone)]
pub struct Flow<T> {
    pub key: FlowKey,
    pub uid: Uid,
    /// Creation order within this table.
    pub seq: u64,
    /// Capture frame number (from 1) of the packet that created the flow:
    /// unique within a capture and the same whichever shard holds the
    /// flow, so it is the basis of the uid and of `--sorted`'s order.
    pub first_frame: u64,
    /// Frame number of the flow's last packet.
    pub last_frame: u64,
    /// Once ended: the packet time from which it counted as idle (last
    /// packet time plus its lane's timeout; for any end reason), and the
    /// lane it was on. A single flow table ends idle flows lane by lane,
    /// each in last-packet order; `--threads` merges workers' flow ends
    /// in that order with these.
    pub idle_at_ns: u64,
    /// The lane the flow is on (kept current while it is open; the flow
    /// table's own bookkeeping, read by callers once it has ended).
    pub end_lane: u8,
    orig_is_lo: bool,
    pub first_ts: u64,
    pub last_ts: u64,
    /// Counters, indexed by [`Dir`].
    pub stats: [DirStats; 2],
    pub conn: ConnTracker,
    pub tunnel: Option<Tunnel>,
    /// ICMP/ICMPv6 type and code of the flow's first packet.
    pub icmp_type_code: Option<(u8, u8)>,
    /// TCP flags of the flow's first packet (scan types: SYN, FIN, NULL,
    /// XMAS and ACK probes differ here).
    pub first_tcp_flags: Option<u8>,
    pub end_reason: Option<EndReason>,
    /// Caller data (classifier state, ...).
    pub data: T,
}

impl<T> Flow<T> {
    /// The initiator: the sender of the SYN, or else of the first packet.
    pub fn orig(&self) -> Endpoint {
        if self.orig_is_lo {
            self.key.lo
        } else {
            self.key.hi
        }
    }

    /// The responder.
    pub fn resp(&self) -> Endpoint {
        if self.orig_is_lo {
            self.key.hi
        } else {
            self.key.lo
        }
    }

    /// Zeek's conn_state.
    pub fn conn_state(&self) -> &'static str {
        self.conn.conn_state(
            self.key.proto,
            self.stats[0].payload_bytes,
            self.stats[1].payload_bytes,
        )
    }

    /// The responder has sent a packet (a SYN-ACK, a reply datagram):
    /// the flow is a conversation, not one side's attempt. Flows nobody
    /// answered are the ones a spoofed flood makes.
    pub fn answered(&self) -> bool {
        self.stats[0].pkts > 0 && self.stats[1].pkts > 0
    }

    /// Zeek's history string.
    pub fn history(&self) -> &str {
        self.conn.history()
    }

    /// Community ID v1. ICMP flows hash the type and code of their first
    /// packet, with the originator as source.
    pub fn community_id(&self, seed: u16) -> crate::community_id::CommunityId {
        let (o, r) = (self.orig(), self.resp());
        let (sp, dp) = match self.icmp_type_code {
            Some((t, c)) => (u16::from(t), u16::from(c)),
            None => (o.port, r.port),
        };
        community_id_v1(seed, self.key.proto, o.addr, r.addr, sp, dp)
    }

    /// Duration in nanoseconds.
    pub fn duration_ns(&self) -> u64 {
        self.last_ts.saturating_sub(self.first_ts)
    }
}

/// Result of feeding one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    /// Slab index of the flow; valid until the next call that can remove
    /// flows ([`FlowTable::process`], [`FlowTable::flush`]).
    pub idx: usize,
    pub dir: Dir,
    /// This packet created the flow.
    pub new: bool,
}

/// Table counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableStats {
    pub created: u64,
    pub ended_idle: u64,
    pub ended_closed: u64,
    pub ended_active: u64,
    pub ended_reused: u64,
    pub evicted: u64,
    /// Most flows held at once.
    pub peak: usize,
}

const NIL: u32 = u32::MAX;
/// How far back in its lane a flow touched by a packet from the past may
/// move (see `FlowTable::push_tail`).
const MAX_REORDER: usize = 64;
const LANES: usize = 5;
const LANE_TCP: u8 = 0;
const LANE_UDP: u8 = 1;
const LANE_OTHER: u8 = 2;
const LANE_CLOSED: u8 = 3;
/// TCP flows whose responder has not sent a packet yet.
const LANE_ATTEMPT: u8 = 4;

struct Slot<T> {
    /// The flow's lane is its `end_lane` (kept current while it is open:
    /// a byte less per slot than a field here, which padding makes 8).
    flow: Option<Flow<T>>,
    prev: u32,
    next: u32,
}

impl<T> Slot<T> {
    fn lane(&self) -> u8 {
        self.flow.as_ref().map_or(0, |f| f.end_lane)
    }
}

#[derive(Clone, Copy)]
struct Lane {
    head: u32,
    tail: u32,
}

/// The index's hash of a key, 32 bits, kept in the index entry beside the
/// slab index: growing the index then rehashes from the entries alone.
/// Recomputing it from the flow's key cost a cache miss per flow at every
/// growth (a tenth of the time of a SYN flood of a million flows), and
/// comparing it first spares reading a flow whose tag merely collides.
///
/// The keys are the sender's choice, so the hash is keyed with a random
/// seed per table (foldhash), as Suricata seeds its flow hash
/// (`hash_rand`): with an unkeyed hash such as Fx, whose value is a
/// polynomial in the key's words, anyone can work out a million 5-tuples
/// with one hash, and every lookup would then compare against all of them.
/// Nothing in the output depends on the hash: flows are handed out in lane
/// and creation order (`the_index_hash_is_keyed` below).
fn key_hash(seed: &foldhash::fast::RandomState, k: &FlowKey) -> u32 {
    let h = seed.hash_one(k);
    (h ^ (h >> 32)) as u32
}

/// The 64-bit hash the index uses: hashbrown takes the bucket from the low
/// bits and a 7-bit tag from the top ones, so both must depend on the 32.
fn spread(h: u32) -> u64 {
    u64::from(h).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The flow table. `T` is per-flow caller data, created with `Default`.
pub struct FlowTable<T> {
    cfg: FlowConfig,
    /// Slab indices by the hash of their flow's key, with that hash's 32
    /// bits (the key itself is in the slab): 9 bytes a bucket instead of 57
    /// with the key, which at a million flows (2^21 buckets) is 19 MiB
    /// instead of 114 MiB.
    map: HashTable<(u32, u32)>,
    /// The key of [`key_hash`].
    seed: foldhash::fast::RandomState,
    slots: Chunked<Slot<T>>,
    free: Vec<u32>,
    lanes: [Lane; LANES],
    finished: Vec<Flow<T>>,
    stats: TableStats,
    next_seq: u64,
    /// Calls of [`FlowTable::process`] (frame numbers for callers that do
    /// not give their own).
    processed: u64,
    now: u64,
    /// No flow ends before this packet time: at most the earliest
    /// `last_ts + timeout` of the lane heads. [`FlowTable::expire`] walks
    /// the lanes only from then on (reading each lane head's slot for
    /// every packet was 1.4% of `analyze`), and sets it exactly; a new
    /// head can only lower it (see [`FlowTable::head_changed`]).
    next_expiry: u64,
}

impl<T: Default> FlowTable<T> {
    pub fn new(cfg: FlowConfig) -> Self {
        let cfg = FlowConfig {
            max_flows: cfg.max_flows.clamp(1, NIL as usize - 1),
            ..cfg
        };
        FlowTable {
            cfg,
            map: HashTable::new(),
            seed: foldhash::fast::RandomState::default(),
            slots: Chunked::new(),
            free: Vec::new(),
            lanes: [Lane {
                head: NIL,
                tail: NIL,
            }; LANES],
            finished: Vec::new(),
            stats: TableStats::default(),
            next_seq: 0,
            processed: 0,
            now: 0,
            next_expiry: 0,
        }
    }

    pub fn config(&self) -> &FlowConfig {
        &self.cfg
    }

    pub fn stats(&self) -> TableStats {
        self.stats
    }

    /// Bytes held by the table itself: the slab (by capacity: slots are
    /// reused, not freed, until the capture ends), the index and the free
    /// list. What the flows' data owns on the heap is not included.
    pub fn memory_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Slot<T>>()
            + self.map.capacity() * (std::mem::size_of::<(u32, u32)>() + 1)
            + self.free.capacity() * std::mem::size_of::<u32>()
            + self.finished.capacity() * std::mem::size_of::<Flow<T>>()
    }

    /// Flows currently held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The latest packet time seen.
    pub fn now(&self) -> u64 {
        self.now
    }

    pub fn get(&self, idx: usize) -> Option<&Flow<T>> {
        self.slots.get(idx)?.flow.as_ref()
    }

    pub fn get_mut(&mut self, idx: usize) -> Option<&mut Flow<T>> {
        self.slots.get_mut(idx)?.flow.as_mut()
    }

    /// Take the flows that ended since the last call.
    pub fn drain_finished(&mut self) -> std::vec::Drain<'_, Flow<T>> {
        self.finished.drain(..)
    }

    /// Whether ended flows are waiting in [`FlowTable::drain_finished`].
    pub fn has_finished(&self) -> bool {
        !self.finished.is_empty()
    }

    fn lane_timeout(&self, lane: u8) -> u64 {
        match lane {
            LANE_TCP => self.cfg.tcp_idle_ns,
            LANE_UDP => self.cfg.udp_idle_ns,
            LANE_OTHER => self.cfg.other_idle_ns,
            LANE_ATTEMPT => self.cfg.tcp_attempt_ns,
            _ => self.cfg.closed_linger_ns,
        }
    }

    fn unlink(&mut self, i: u32) {
        let (prev, next, lane) = {
            let s = &self.slots[i as usize];
            (s.prev, s.next, s.lane() as usize)
        };
        if prev == NIL {
            self.lanes[lane].head = next;
            if next != NIL {
                // (A lane is ordered only within MAX_REORDER steps: the
                // next flow may have been idle longer.)
                self.head_changed(next, lane as u8);
            }
        } else {
            self.slots[prev as usize].next = next;
        }
        if next == NIL {
            self.lanes[lane].tail = prev;
        } else {
            self.slots[next as usize].prev = prev;
        }
    }

    /// Slot `i` became the head of `lane`: [`FlowTable::expire`] must look
    /// again when it would end.
    fn head_changed(&mut self, i: u32, lane: u8) {
        let at = self.last_ts_of(i).saturating_add(self.lane_timeout(lane));
        self.next_expiry = self.next_expiry.min(at);
    }

    fn last_ts_of(&self, i: u32) -> u64 {
        self.slots[i as usize]
            .flow
            .as_ref()
            .map_or(0, |f| f.last_ts)
    }

    /// Put slot `i` on `lane`, keeping the lane ordered by last packet
    /// time: at the tail, or (when packet time went back) a little before
    /// it. Then expiry, which stops at the first lane head still within
    /// its timeout, ends exactly the flows idle past it, and which flows
    /// those are does not depend on which other flows share the table.
    /// The walk back is bounded ([`MAX_REORDER`] steps), so hostile time
    /// stamps cannot make a packet cost more than that.
    fn push_tail(&mut self, i: u32, lane: u8) {
        let ts = self.last_ts_of(i);
        let mut after = self.lanes[lane as usize].tail;
        let mut steps = 0;
        while after != NIL && steps < MAX_REORDER && self.last_ts_of(after) > ts {
            after = self.slots[after as usize].prev;
            steps += 1;
        }
        let next = if after == NIL {
            self.lanes[lane as usize].head
        } else {
            self.slots[after as usize].next
        };
        {
            let s = &mut self.slots[i as usize];
            s.prev = after;
            s.next = next;
            if let Some(f) = s.flow.as_mut() {
                f.end_lane = lane;
            }
        }
        if after == NIL {
            self.lanes[lane as usize].head = i;
            self.head_changed(i, lane);
        } else {
            self.slots[after as usize].next = i;
        }
        if next == NIL {
            self.lanes[lane as usize].tail = i;
        } else {
            self.slots[next as usize].prev = i;
        }
    }

    fn finish(&mut self, i: u32, reason: EndReason) {
        self.unlink(i);
        let Some(mut flow) = self.slots[i as usize].flow.take() else {
            return;
        };
        if let Ok(e) = self
            .map
            .find_entry(spread(key_hash(&self.seed, &flow.key)), |&(j, _)| j == i)
        {
            e.remove();
        }
        self.free.push(i);
        match reason {
            EndReason::Idle => self.stats.ended_idle += 1,
            EndReason::Closed => self.stats.ended_closed += 1,
            EndReason::Active => self.stats.ended_active += 1,
            EndReason::Reused => self.stats.ended_reused += 1,
            EndReason::Evicted => self.stats.evicted += 1,
            EndReason::End => {}
        }
        self.mark_ended(&mut flow, reason);
        self.finished.push(flow);
    }

    /// What an ended flow carries: when it counted as idle (for the
    /// `--threads` merge order) and why it ended.
    fn mark_ended(&self, flow: &mut Flow<T>, reason: EndReason) {
        flow.idle_at_ns = flow
            .last_ts
            .saturating_add(self.lane_timeout(flow.end_lane));
        flow.end_reason = Some(reason);
    }

    /// The slab index of the flow with this key, if one is indexed.
    fn lookup(&self, key: &FlowKey) -> Option<u32> {
        let slots = &self.slots;
        let h = key_hash(&self.seed, key);
        self.map
            .find(spread(h), |&(j, hj)| {
                hj == h
                    && slots
                        .get(j as usize)
                        .and_then(|s| s.flow.as_ref())
                        .is_some_and(|f| f.key == *key)
            })
            .map(|&(j, _)| j)
    }

    /// End every flow idle for longer than its timeout at packet time `now`.
    pub fn expire(&mut self, now: u64) {
        self.now = self.now.max(now);
        if self.now < self.next_expiry {
            return;
        }
        let mut next = u64::MAX;
        for lane in 0..LANES as u8 {
            let timeout = self.lane_timeout(lane);
            loop {
                let head = self.lanes[lane as usize].head;
                if head == NIL {
                    break;
                }
                let last = self.slots[head as usize]
                    .flow
                    .as_ref()
                    .map_or(0, |f| f.last_ts);
                if self.now.saturating_sub(last) < timeout {
                    next = next.min(last.saturating_add(timeout));
                    break;
                }
                let reason = if lane == LANE_CLOSED {
                    EndReason::Closed
                } else {
                    EndReason::Idle
                };
                self.finish(head, reason);
            }
        }
        self.next_expiry = next;
    }

    fn evict_one(&mut self) {
        let mut best: Option<(u64, u32)> = None;
        for lane in &self.lanes {
            if lane.head == NIL {
                continue;
            }
            let last = self.slots[lane.head as usize]
                .flow
                .as_ref()
                .map_or(0, |f| f.last_ts);
            if best.is_none_or(|(b, _)| last < b) {
                best = Some((last, lane.head));
            }
        }
        if let Some((_, i)) = best {
            self.finish(i, EndReason::Evicted);
        }
    }

    fn create(
        &mut self,
        key: FlowKey,
        orig_is_lo: bool,
        ts: u64,
        pkt: &Decoded<'_>,
        frame: u64,
    ) -> u32 {
        while self.map.len() >= self.cfg.max_flows {
            self.evict_one();
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let flow = Flow {
            key,
            // A frame creates at most one flow, so uids are unique within
            // a capture, and they do not depend on how flows are spread
            // over shards (`--threads`).
            uid: Uid(mix64(
                self.cfg.uid_seed.wrapping_mul(0x1000_0000_01B3) ^ frame,
            )),
            seq,
            first_frame: frame,
            last_frame: frame,
            idle_at_ns: 0,
            end_lane: 0,
            orig_is_lo,
            first_ts: ts,
            last_ts: ts,
            stats: [DirStats::default(); 2],
            conn: ConnTracker::default(),
            tunnel: pkt.tunnel,
            icmp_type_code: match pkt.ip.as_ref().map(|ip| ip.transport) {
                Some(Transport::Icmp {
                    icmp_type, code, ..
                })
                | Some(Transport::Icmpv6 {
                    icmp_type, code, ..
                }) => Some((icmp_type, code)),
                _ => None,
            },
            first_tcp_flags: match pkt.ip.as_ref().map(|ip| ip.transport) {
                Some(Transport::Tcp { tcp, .. }) => Some(tcp.flags),
                _ => None,
            },
            end_reason: None,
            data: T::default(),
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize].flow = Some(flow);
                i
            }
            None => {
                self.slots.push(Slot {
                    flow: Some(flow),
                    prev: NIL,
                    next: NIL,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let lane = match key.proto {
            6 => LANE_TCP,
            17 => LANE_UDP,
            _ => LANE_OTHER,
        };
        self.push_tail(i, lane);
        let h = key_hash(&self.seed, &key);
        self.map
            .insert_unique(spread(h), (i, h), |&(_, h)| spread(h));
        self.stats.created += 1;
        self.stats.peak = self.stats.peak.max(self.map.len());
        i
    }

    /// Feed one decoded packet seen at packet time `ts` whose frame had
    /// `wire_len` bytes on the wire. Returns `None` for packets that belong
    /// to no flow (non-IP, unreassembled fragments). Frames are numbered
    /// by the calls; [`FlowTable::process_frame`] takes the caller's.
    pub fn process(&mut self, ts: u64, pkt: &Decoded<'_>, wire_len: u32) -> Option<Seen> {
        self.processed += 1;
        self.process_frame(ts, pkt, wire_len, self.processed)
    }

    /// [`FlowTable::process`] for the capture's frame number `frame` (from
    /// 1), which a flow created by this packet keeps as its
    /// [`Flow::first_frame`].
    pub fn process_frame(
        &mut self,
        ts: u64,
        pkt: &Decoded<'_>,
        wire_len: u32,
        frame: u64,
    ) -> Option<Seen> {
        let ip = pkt.ip.as_ref()?;
        let (key, src_is_lo) = FlowKey::of_packet(pkt)?;
        self.expire(ts);
        let tcp = match ip.transport {
            Transport::Tcp { tcp, .. } => Some(tcp),
            _ => None,
        };
        let pure_syn = tcp.is_some_and(|t| t.flags & (TcpInfo::SYN | TcpInfo::ACK) == TcpInfo::SYN);
        let mut new = false;
        let found = self.lookup(&key);
        // A flow idle past its lane's timeout ends here even when `expire`
        // has not reached it yet (packet times that go back put it behind a
        // more recent lane head): whether a packet starts a new flow then
        // depends only on the flow itself and the packet time, never on
        // the other flows of the table (or of the shard, with `--threads`).
        let found = match found {
            Some(i) => {
                let s = &self.slots[i as usize];
                let idle = s
                    .flow
                    .as_ref()
                    .map_or(0, |f| self.now.saturating_sub(f.last_ts));
                if idle >= self.lane_timeout(s.lane()) {
                    let reason = if s.lane() == LANE_CLOSED {
                        EndReason::Closed
                    } else {
                        EndReason::Idle
                    };
                    self.finish(i, reason);
                    None
                } else {
                    Some(i)
                }
            }
            None => None,
        };
        let idx = match found {
            Some(i) => {
                let (closed, first_ts, orig_is_lo) = match self.slots[i as usize].flow.as_ref() {
                    Some(f) => (f.conn.accepts_new_syn(), f.first_ts, f.orig_is_lo),
                    None => (false, ts, src_is_lo),
                };
                if pure_syn && closed {
                    self.finish(i, EndReason::Reused);
                    new = true;
                    self.create(key, src_is_lo, ts, pkt, frame)
                } else if ts.saturating_sub(first_ts) >= self.cfg.active_timeout_ns {
                    self.finish(i, EndReason::Active);
                    // The continuation keeps the original orientation.
                    self.create(key, orig_is_lo, ts, pkt, frame)
                } else {
                    i
                }
            }
            None => {
                new = true;
                // The initiator is the SYN's sender; a SYN-ACK seen first
                // comes from the responder (Zeek flips such connections).
                let flipped = tcp.is_some_and(|t| {
                    t.flags & (TcpInfo::SYN | TcpInfo::ACK) == (TcpInfo::SYN | TcpInfo::ACK)
                });
                let i = self.create(key, src_is_lo != flipped, ts, pkt, frame);
                if flipped {
                    if let Some(f) = self.slots[i as usize].flow.as_mut() {
                        f.conn.mark_flipped();
                    }
                }
                i
            }
        };
        let payload_len = ip.transport.payload().len();
        let flow = self.slots[idx as usize].flow.as_mut()?;
        let dir = if src_is_lo == flow.orig_is_lo {
            Dir::Orig
        } else {
            Dir::Resp
        };
        let d = dir as usize;
        flow.last_ts = flow.last_ts.max(ts);
        flow.last_frame = frame;
        let st = &mut flow.stats[d];
        st.pkts += 1;
        st.bytes += u64::from(wire_len);
        st.payload_bytes += payload_len as u64;
        st.ip_bytes += u64::from(ip.len);
        let lane = match tcp {
            Some(t) => {
                if flow.conn.on_tcp(d, &t, payload_len) {
                    LANE_CLOSED
                } else if flow.stats[Dir::Resp as usize].pkts == 0
                    && flow.stats[Dir::Orig as usize].payload_bytes == 0
                {
                    // An unanswered attempt (a SYN, or a FIN/NULL/XMAS/ACK
                    // probe): no reply and no data. One-way data streams
                    // (asymmetric capture) keep the TCP idle timeout.
                    LANE_ATTEMPT
                } else {
                    LANE_TCP
                }
            }
            None => {
                flow.conn.on_datagram(d, payload_len);
                if key.proto == 17 {
                    LANE_UDP
                } else {
                    LANE_OTHER
                }
            }
        };
        self.unlink(idx);
        self.push_tail(idx, lane);
        Some(Seen {
            idx: idx as usize,
            dir,
            new,
        })
    }

    /// The live flow with `key`, and the direction of a packet that
    /// travels from the key's `lo` endpoint when `from_lo`; nothing is
    /// created or counted.
    pub fn find(&self, key: &FlowKey, from_lo: bool) -> Option<(usize, Dir)> {
        let i = self.lookup(key)? as usize;
        let f = self.slots.get(i)?.flow.as_ref()?;
        let dir = if from_lo == f.orig_is_lo {
            Dir::Orig
        } else {
            Dir::Resp
        };
        Some((i, dir))
    }

    /// End all remaining flows (end of capture), in creation order. They
    /// wait in [`FlowTable::drain_finished`]; with many flows open,
    /// [`FlowTable::flush_each`] needs far less memory.
    pub fn flush(&mut self) {
        let order = self.live_by_seq().unwrap_or_else(|| {
            (0..self.slots.len() as u32)
                .filter(|&i| self.slots[i as usize].flow.is_some())
                .collect()
        });
        for i in order {
            self.finish(i, EndReason::End);
        }
    }

    /// End all remaining flows (end of capture), in creation order, handing
    /// each to `f` as it ends (after any flows already waiting in
    /// [`FlowTable::drain_finished`]). Unlike [`FlowTable::flush`] the
    /// ended flows are never all held at once: a table of a million open
    /// flows would otherwise double its memory at the end of a capture.
    pub fn flush_each(&mut self, mut f: impl FnMut(Flow<T>)) {
        for fl in self.finished.drain(..) {
            f(fl);
        }
        // Every open flow ends here, so the map and the lanes need not be
        // kept consistent flow by flow (a lookup and an unlink per flow,
        // each a cache miss at a million flows): drop them first, then hand
        // the flows over in creation order, as `finish` would.
        self.map = HashTable::new();
        let order = self.live_by_seq();
        let n = order.as_ref().map_or(self.slots.len(), Vec::len);
        for k in 0..n {
            let i = order.as_ref().map_or(k, |o| o[k] as usize);
            let Some(mut flow) = self.slots[i].flow.take() else {
                continue;
            };
            self.mark_ended(&mut flow, EndReason::End);
            f(flow);
        }
        // The slab is empty now: give its memory back.
        self.slots = Chunked::new();
        self.free = Vec::new();
        self.lanes = [Lane {
            head: NIL,
            tail: NIL,
        }; LANES];
        self.finished = Vec::new();
    }

    /// Slab indices of the open flows in creation order, or `None` when
    /// the slab is in creation order already: without slot reuse (no flow
    /// ended yet, as in a flood still going on at the end of its capture),
    /// where a (seq, index) list to sort would be 16 MiB on top of the
    /// peak at a million flows.
    fn live_by_seq(&self) -> Option<Vec<u32>> {
        let live = || {
            self.slots
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.flow.as_ref().map(|f| (f.seq, i as u32)))
        };
        let mut prev = None;
        if live().all(|(seq, _)| prev.replace(seq).is_none_or(|p| p < seq)) {
            return None;
        }
        let mut v: Vec<(u64, u32)> = live().collect();
        v.sort_unstable();
        Some(v.into_iter().map(|(_, i)| i).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netsift_wire::IpLayer;

    #[test]
    fn uid_text_is_display() {
        for v in [0u64, 1, 61, 62, 0x1234_5678_9abc_def0, u64::MAX] {
            let u = Uid(v);
            let d = u.digits();
            assert_eq!(std::str::from_utf8(&d).expect("ascii"), u.to_string());
            assert_eq!(d[0], b'C');
        }
    }

    fn pkt<'a>(
        src: &str,
        sp: u16,
        dst: &str,
        dp: u16,
        flags: Option<u8>,
        payload: &'a [u8],
    ) -> Decoded<'a> {
        let transport = match flags {
            Some(flags) => Transport::Tcp {
                tcp: TcpInfo {
                    src_port: sp,
                    dst_port: dp,
                    seq: 1,
                    ack: 0,
                    flags,
                    window: 100,
                },
                payload,
            },
            None => Transport::Udp {
                src_port: sp,
                dst_port: dp,
                payload,
            },
        };
        Decoded {
            vlan: None,
            inner_vlan: None,
            tunnel: None,
            ethertype: 0x0800,
            ip: Some(IpLayer {
                version: 4,
                src: src.parse().expect("a"),
                dst: dst.parse().expect("a"),
                proto: if flags.is_some() { 6 } else { 17 },
                ttl: 64,
                // IPv4 header, then a 20-byte TCP or 8-byte UDP header.
                len: 20 + if flags.is_some() { 20 } else { 8 } + payload.len() as u32,
                fragment: None,
                transport,
            }),
        }
    }

    /// The index hash is keyed per table: the same key hashes alike in
    /// one table and differently in another, so no set of 5-tuples is
    /// known to collide in a table a sender cannot see. The flows still
    /// come out the same from both tables.
    #[test]
    fn the_index_hash_is_keyed() {
        let (a, b) = (
            FlowTable::<()>::new(FlowConfig::default()),
            FlowTable::<()>::new(FlowConfig::default()),
        );
        let keys: Vec<FlowKey> = (0..64u16)
            .map(|i| {
                FlowKey::of_packet(&pkt("10.0.0.1", 1000 + i, "10.0.0.2", 80, Some(S), b""))
                    .expect("key")
                    .0
            })
            .collect();
        let differ = keys
            .iter()
            .filter(|k| key_hash(&a.seed, k) != key_hash(&b.seed, k))
            .count();
        assert!(differ > 60, "{differ} of 64 keys hash differently");
        assert!(keys
            .iter()
            .all(|k| key_hash(&a.seed, k) == key_hash(&a.seed, k)));
        let mut out = Vec::new();
        for mut t in [a, b] {
            for (i, k) in keys.iter().enumerate() {
                let (s, d) = (k.lo.port, k.hi.port);
                t.process(
                    i as u64 * 1000,
                    &pkt("10.0.0.1", s.max(d), "10.0.0.2", 80, Some(S), b""),
                    60,
                );
            }
            let mut ports = Vec::new();
            t.flush_each(|f| ports.push(f.key.lo.port.max(f.key.hi.port)));
            out.push(ports);
        }
        assert_eq!(out[0], out[1]);
        assert_eq!(out[0].len(), 64);
    }

    const S: u8 = TcpInfo::SYN;
    const A: u8 = TcpInfo::ACK;
    const F: u8 = TcpInfo::FIN;

    fn drain(t: &mut FlowTable<()>) -> Vec<Flow<()>> {
        t.drain_finished().collect()
    }

    #[test]
    fn initiator_is_syn_sender_even_if_synack_seen_first() {
        let mut t: FlowTable<()> = FlowTable::new(FlowConfig::default());
        let s = t
            .process(
                0,
                &pkt("10.0.0.2", 80, "10.0.0.1", 5555, Some(S | A), b""),
                60,
            )
            .expect("seen");
        assert!(s.new);
        assert_eq!(s.dir, Dir::Resp);
        let f = t.get(s.idx).expect("flow");
        assert_eq!(f.orig().port, 5555);
        assert_eq!(f.history(), "^h");
    }

    #[test]
    fn udp_counts_per_direction_and_idle_timeout() {
        let mut t: FlowTable<()> = FlowTable::new(FlowConfig::default());
        t.process(0, &pkt("1.1.1.1", 1000, "2.2.2.2", 53, None, b"abc"), 50);
        t.process(
            NS,
            &pkt("2.2.2.2", 53, "1.1.1.1", 1000, None, b"abcdef"),
            80,
        );
        assert_eq!(t.len(), 1);
        // 60 s after the last packet the UDP flow expires.
        t.expire(61 * NS);
        assert_eq!(t.len(), 0);
        let f = drain(&mut t).pop().expect("ended");
        assert_eq!(f.end_reason, Some(EndReason::Idle));
        assert_eq!(
            f.stats[0],
            DirStats {
                pkts: 1,
                bytes: 50,
                payload_bytes: 3,
                ip_bytes: 31,
            }
        );
        assert_eq!(
            f.stats[1],
            DirStats {
                pkts: 1,
                bytes: 80,
                payload_bytes: 6,
                ip_bytes: 34,
            }
        );
        assert_eq!(f.conn_state(), "SF");
        assert_eq!(f.duration_ns(), NS);
    }

    #[test]
    fn unanswered_attempts_use_their_own_timeout() {
        let cfg = FlowConfig {
            tcp_attempt_ns: 5 * NS,
            ..FlowConfig::default()
        };
        let mut t: FlowTable<()> = FlowTable::new(cfg);
        // An unanswered SYN (a probe of a filtered port).
        t.process(0, &pkt("10.0.0.1", 4000, "10.0.0.2", 81, Some(S), b""), 60);
        // An answered connection, idle after its handshake.
        t.process(0, &pkt("10.0.0.1", 4001, "10.0.0.2", 80, Some(S), b""), 60);
        t.process(
            0,
            &pkt("10.0.0.2", 80, "10.0.0.1", 4001, Some(S | A), b""),
            60,
        );
        // One direction of a data stream (asymmetric capture): no reply, but data.
        t.process(
            0,
            &pkt("10.0.0.3", 4002, "10.0.0.4", 80, Some(A), b"GET /"),
            60,
        );
        t.expire(6 * NS);
        let ended = drain(&mut t);
        assert_eq!(ended.len(), 1, "only the probe ends after 5 s");
        assert_eq!(ended[0].resp().port, 81);
        assert_eq!(ended[0].conn_state(), "S0");
        assert_eq!(t.len(), 2);
        t.expire(301 * NS);
        assert_eq!(
            drain(&mut t).len(),
            2,
            "the others keep the TCP idle timeout"
        );
        // By default an attempt waits as long as any TCP connection.
        let mut t: FlowTable<()> = FlowTable::new(FlowConfig::default());
        t.process(0, &pkt("10.0.0.1", 4000, "10.0.0.2", 81, Some(S), b""), 60);
        t.expire(299 * NS);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn new_syn_on_closed_tuple_starts_new_flow() {
        let mut t: FlowTable<()> = FlowTable::new(FlowConfig::default());
        let c = "10.0.0.1";
        let s = "10.0.0.2";
        t.process(0, &pkt(c, 4000, s, 80, Some(S), b""), 60);
        t.process(1, &pkt(s, 80, c, 4000, Some(S | A), b""), 60);
        t.process(2, &pkt(c, 4000, s, 80, Some(A), b""), 60);
        t.process(3, &pkt(c, 4000, s, 80, Some(F | A), b""), 60);
        t.process(4, &pkt(s, 80, c, 4000, Some(F | A), b""), 60);
        // Trailing ACK still belongs to the first connection.
        let ack = t
            .process(5, &pkt(c, 4000, s, 80, Some(A), b""), 60)
            .expect("seen");
        assert!(!ack.new);
        let syn = t
            .process(6, &pkt(c, 4000, s, 80, Some(S), b""), 60)
            .expect("seen");
        assert!(syn.new);
        let ended = drain(&mut t);
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].end_reason, Some(EndReason::Reused));
        assert_eq!(ended[0].conn_state(), "SF");
        assert_ne!(ended[0].uid, t.get(syn.idx).expect("f").uid);
        // A retransmitted SYN of an open attempt is the same flow.
        let again = t
            .process(7, &pkt(c, 4000, s, 80, Some(S), b""), 60)
            .expect("seen");
        assert!(!again.new);
    }

    #[test]
    fn closed_connection_lingers_then_ends() {
        let mut t: FlowTable<()> = FlowTable::new(FlowConfig::default());
        t.process(0, &pkt("10.0.0.1", 1, "10.0.0.2", 2, Some(S), b""), 60);
        t.process(
            0,
            &pkt("10.0.0.2", 2, "10.0.0.1", 1, Some(TcpInfo::RST | A), b""),
            60,
        );
        t.expire(4 * NS);
        assert_eq!(t.len(), 1);
        t.expire(5 * NS);
        let f = drain(&mut t).pop().expect("ended");
        assert_eq!(f.end_reason, Some(EndReason::Closed));
        assert_eq!(f.conn_state(), "REJ");
    }

    #[test]
    fn active_timeout_splits_and_keeps_orientation() {
        let cfg = FlowConfig {
            active_timeout_ns: 10 * NS,
            ..FlowConfig::default()
        };
        let mut t: FlowTable<()> = FlowTable::new(cfg);
        for s in 0..25u64 {
            let (a, b, pa, pb) = if s % 2 == 0 {
                ("1.1.1.1", "2.2.2.2", 1000, 2000)
            } else {
                ("2.2.2.2", "1.1.1.1", 2000, 1000)
            };
            t.process(s * NS, &pkt(a, pa, b, pb, None, b"x"), 60);
        }
        t.flush();
        let all = drain(&mut t);
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].end_reason, Some(EndReason::Active));
        assert!(all.iter().all(|f| f.orig().port == 1000));
        assert_eq!(
            all.iter()
                .map(|f| f.stats[0].pkts + f.stats[1].pkts)
                .sum::<u64>(),
            25
        );
    }

    #[test]
    fn table_is_bounded_and_evicts_least_recent() {
        let cfg = FlowConfig {
            max_flows: 100,
            ..FlowConfig::default()
        };
        let mut t: FlowTable<()> = FlowTable::new(cfg);
        for i in 0..10_000u32 {
            let src = format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
            t.process(u64::from(i), &pkt(&src, 1, "10.255.0.1", 2, None, b""), 60);
            assert!(t.len() <= 100);
        }
        assert_eq!(t.stats().evicted, 9_900);
        let ev = drain(&mut t);
        assert_eq!(ev[0].key.lo.addr.to_string(), "10.0.0.0");
        assert!(ev.iter().all(|f| f.end_reason == Some(EndReason::Evicted)));
    }

    #[test]
    fn uids_are_unique_and_stable() {
        let mut t: FlowTable<()> = FlowTable::new(FlowConfig::default());
        let mut seen = std::collections::HashSet::new();
        for p in 0..2000u16 {
            let s = t
                .process(0, &pkt("1.1.1.1", p, "2.2.2.2", 2, None, b""), 60)
                .expect("s");
            let uid = t.get(s.idx).expect("f").uid.to_string();
            assert_eq!(uid.len(), 12);
            assert!(uid.starts_with('C'));
            assert!(seen.insert(uid));
        }
        let mut t2: FlowTable<()> = FlowTable::new(FlowConfig::default());
        let s = t2
            .process(0, &pkt("9.9.9.9", 1, "8.8.8.8", 2, None, b""), 60)
            .expect("s");
        let first = t2.get(s.idx).expect("f").uid;
        assert_eq!(first, Uid(mix64(1)), "the uid of frame 1's flow");
        // The caller's frame numbers decide, not the order of creation.
        let mut t3: FlowTable<()> = FlowTable::new(FlowConfig::default());
        let s = t3
            .process_frame(0, &pkt("9.9.9.9", 1, "8.8.8.8", 2, None, b""), 60, 77)
            .expect("s");
        let f = t3.get(s.idx).expect("f");
        assert_eq!((f.uid, f.first_frame), (Uid(mix64(77)), 77));
    }

    /// Packet time going back: a flow touched by an older packet moves
    /// back in its lane, so that expiry ends exactly the flows idle past
    /// their timeout, whatever other flows share the table (a shard of
    /// `--threads` holds different ones), and a later packet of its
    /// 5-tuple starts a new flow.
    #[test]
    fn flows_touched_by_older_packets_expire_on_their_own_time() {
        const NS: u64 = 1_000_000_000;
        let mut t: FlowTable<()> = FlowTable::new(FlowConfig::default());
        let a = pkt("1.1.1.1", 1000, "2.2.2.2", 53, None, b"a");
        let b = pkt("1.1.1.1", 1001, "2.2.2.2", 53, None, b"b");
        let x = pkt("3.3.3.3", 1002, "2.2.2.2", 53, None, b"x");
        t.process(100 * NS, &a, 60).expect("a");
        // B is touched after A but carries an older time.
        t.process(50 * NS, &b, 60).expect("b");
        t.process(115 * NS, &x, 60).expect("x");
        let ended = drain(&mut t);
        assert_eq!(ended.len(), 1, "B (65 s idle; UDP: 60 s) ends, A does not");
        assert_eq!(ended[0].last_ts, 50 * NS);
        assert_eq!(ended[0].end_reason, Some(EndReason::Idle));
        let s = t.process(116 * NS, &b, 60).expect("b again");
        assert!(s.new, "B's next packet starts a new flow");
        assert_eq!(t.len(), 3);
    }

    /// Past the bounded walk back, a flow behind a more recent lane head
    /// still ends when its own next packet comes after its timeout.
    #[test]
    fn idle_flow_beyond_the_reorder_walk_still_splits() {
        const NS: u64 = 1_000_000_000;
        let mut t: FlowTable<()> = FlowTable::new(FlowConfig::default());
        let old = pkt("1.1.1.1", 999, "2.2.2.2", 53, None, b"o");
        let x = pkt("3.3.3.3", 1002, "2.2.2.2", 53, None, b"x");
        for p in 0..(MAX_REORDER as u16 + 8) {
            let a = pkt("1.1.1.1", 2000 + p, "2.2.2.2", 53, None, b"a");
            t.process(100 * NS, &a, 60).expect("a");
        }
        // 50 s: the walk back stops 8 flows short of the lane's head.
        t.process(50 * NS, &old, 60).expect("old");
        t.process(111 * NS, &x, 60).expect("x");
        assert!(drain(&mut t).is_empty(), "the head is 11 s idle");
        let s = t.process(111 * NS, &old, 60).expect("old");
        assert!(s.new);
    }

    /// Expiry looks at the lanes only from the earliest time a head could
    /// end: a flow left behind the bounded walk back, which becomes the
    /// head when the flows before it move on, lowers that time.
    #[test]
    fn expiry_sees_an_older_flow_that_becomes_head() {
        const NS: u64 = 1_000_000_000;
        let mut t: FlowTable<()> = FlowTable::new(FlowConfig::default());
        let old = pkt("1.1.1.1", 999, "2.2.2.2", 53, None, b"o");
        let x = pkt("3.3.3.3", 1002, "2.2.2.2", 53, None, b"x");
        let n = MAX_REORDER as u16 + 8;
        let a = |p: u16| pkt("1.1.1.1", 2000 + p, "2.2.2.2", 53, None, b"a");
        for p in 0..n {
            t.process(100 * NS, &a(p), 60).expect("a");
        }
        // Behind the 8 flows at the head (the walk back stops there).
        t.process(50 * NS, &old, 60).expect("old");
        assert!(drain(&mut t).is_empty());
        // The 8 move to the tail: `old` (50 s) is the head now.
        for p in 0..8 {
            t.process(105 * NS, &a(p), 60).expect("a again");
        }
        assert!(drain(&mut t).is_empty());
        t.process(111 * NS, &x, 60).expect("x");
        let ended = drain(&mut t);
        assert_eq!(ended.len(), 1, "only `old` is 60 s idle");
        assert_eq!(ended[0].last_ts, 50 * NS);
        // And the rest end at their own time, not before.
        t.process(159 * NS, &x, 60).expect("x");
        assert!(drain(&mut t).is_empty());
        t.process(161 * NS, &x, 60).expect("x");
        assert_eq!(drain(&mut t).len(), usize::from(n) - 8);
    }
}
