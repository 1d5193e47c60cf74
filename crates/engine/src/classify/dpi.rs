//! The DPI layer: runs the protocol probes over the first payload bytes of
//! each direction.
//!
//! The engine, not the probes, decides when to stop: after
//! [`DpiConfig::max_packets`] payload packets, when every probe has said
//! `NoMatch`, or when a TCP stream prefix reached [`DpiConfig::max_prefix`]
//! bytes with nothing pending.
//!
//! TCP probes see the in-order stream prefix of a direction, so a TLS
//! ClientHello spanning several segments is read whole. The prefix is only
//! copied while the flow is unclassified and is freed at the verdict.
//! UDP probes see each datagram, plus (as `peer`) the start of the first
//! datagram of the other direction.

use netsift_proto::{Direction, Follow, Probe, ProbeInput, ProbeScratch, Protocol, Transport};
use netsift_protocols::ALL;

use super::{ClassState, Confidence, FlowFacts, Layer, LayerAnswer, PacketView, Verdict};

/// TCP flags: SYN.
const TCP_SYN: u8 = 0x02;

/// A TCP direction whose first segment is shorter than this is not given up
/// on from that segment alone.
const MIN_TCP_VERDICT_BYTES: usize = 8;

/// Datagrams looked at in a flow where no probe even partly matched.
const MAX_DATAGRAMS_UNMATCHED: u32 = 8;

/// Bounds of the DPI layer.
#[derive(Debug, Clone, Copy)]
pub struct DpiConfig {
    /// Payload packets (both directions) looked at per flow.
    pub max_packets: u32,
    /// Bytes of TCP stream prefix kept per direction (a TLS record is at
    /// most 16 KiB + 5).
    pub max_prefix: usize,
    /// Bytes of the first UDP datagram of each direction kept as `peer`.
    pub max_udp_peer: usize,
    /// DPI states (with their buffers) this layer keeps at once before it
    /// stops keeping one for a flow nobody has answered: such a flow is
    /// then judged on each packet alone (a datagram's probes that want a
    /// second one, or a TCP prefix that is not enough yet, give up). A
    /// million unanswered datagrams of random bytes held 261 MiB of DPI
    /// state, a quarter of a KB a flow. `usize::MAX`: no bound.
    pub max_unanswered_states: usize,
    /// Bytes of stream prefixes and first datagrams this layer keeps for
    /// all flows at once (answered or not). Above it, a flow that keeps at
    /// least the mean of the flows with DPI state is given up on when its
    /// bytes grow (above twice it, any flow whose bytes grow is): a TCP
    /// flow keeps its port guess, a datagram flow is judged on each
    /// datagram alone. 50,000 answered connections that each sent 5.6 KB
    /// of a request line without its end held 275 MiB here (a probe waits
    /// for the line's end, up to [`DpiConfig::max_prefix`]). `usize::MAX`:
    /// no bound.
    pub max_memory: usize,
}

/// [`DpiConfig::max_memory`] by default.
pub const DEFAULT_MAX_DPI_MEMORY: usize = 64 << 20;

impl Default for DpiConfig {
    fn default() -> Self {
        DpiConfig {
            max_packets: 24,
            max_prefix: 16 * 1024 + 64,
            max_udp_peer: 512,
            max_unanswered_states: super::DEFAULT_MAX_UNANSWERED_FLOWS,
            max_memory: DEFAULT_MAX_DPI_MEMORY,
        }
    }
}

/// A set of probes, by position in their transport's candidate list (see
/// [`candidates`]): 256 bits, so each transport may have up to 256 probes
/// (checked by a test) while the per-flow state stays 32 bytes whatever the
/// length of `ALL`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct ProbeSet([u64; PROBE_SET_WORDS]);

const PROBE_SET_WORDS: usize = 4;
/// Most probes one transport may have.
const MAX_CANDIDATES: usize = PROBE_SET_WORDS * 64;

impl ProbeSet {
    fn insert(&mut self, i: usize) {
        if let Some(w) = self.0.get_mut(i / 64) {
            *w |= 1u64 << (i % 64);
        }
    }
    #[cfg(test)]
    fn contains(&self, i: usize) -> bool {
        self.0
            .get(i / 64)
            .is_some_and(|w| w & (1u64 << (i % 64)) != 0)
    }
    /// The positions in `self` and not in `o`.
    fn minus(self, o: ProbeSet) -> ProbeSet {
        let mut r = self;
        for (a, b) in r.0.iter_mut().zip(o.0) {
            *a &= !b;
        }
        r
    }
    /// The positions in the set, in increasing order.
    fn positions(self) -> impl Iterator<Item = usize> {
        self.0.into_iter().enumerate().flat_map(|(k, mut w)| {
            std::iter::from_fn(move || {
                (w != 0).then(|| {
                    let bit = w.trailing_zeros() as usize;
                    w &= w - 1;
                    k * 64 + bit
                })
            })
        })
    }
    fn union(self, o: ProbeSet) -> ProbeSet {
        let mut r = self;
        for (a, b) in r.0.iter_mut().zip(o.0) {
            *a |= b;
        }
        r
    }
    /// The set of the first `n` positions.
    fn first(n: usize) -> ProbeSet {
        let mut r = ProbeSet::default();
        for (k, w) in r.0.iter_mut().enumerate() {
            let lo = k * 64;
            *w = match n.saturating_sub(lo) {
                0 => 0,
                m if m >= 64 => u64::MAX,
                m => (1u64 << m) - 1,
            };
        }
        r
    }
}

/// Per-flow DPI state: the SYNs' sequence numbers inline, the rest
/// allocated at the flow's first payload. Flows that never carry payload (a
/// SYN flood, scans) cost 24 bytes here instead of about 190, and so do
/// datagram flows while the DPI layer keeps nothing of their datagrams (no
/// probe even partly matched: a UDP flood of junk): their counters are
/// inline and the rest is made again at their next datagram.
#[derive(Debug, Default)]
pub(crate) struct DpiState {
    inline: Inline,
    data: Option<Box<DpiData>>,
}

/// What a flow's DPI state keeps without its [`DpiData`].
#[derive(Debug, Clone, Copy)]
enum Inline {
    /// TCP: the first sequence number of each direction's data, from its
    /// SYN (ISN + 1), when the handshake was seen.
    Syn([Option<u32>; 2]),
    /// A datagram flow whose [`DpiData`] held nothing but these counters
    /// ([`DpiData::payload_pkts`], [`DpiData::index`]) and was freed.
    Counts { payload_pkts: u32, index: [u32; 2] },
}

impl Default for Inline {
    fn default() -> Self {
        Inline::Syn([None, None])
    }
}

/// The DPI state of a flow that carried payload.
#[derive(Debug, Default)]
pub(crate) struct DpiData {
    /// Probes that answered NoMatch (bit = position among the transport's
    /// candidates).
    rejected: ProbeSet,
    payload_pkts: u32,
    /// TCP: stream prefix per direction. UDP: first datagram per direction.
    buf: [Vec<u8>; 2],
    /// TCP: sequence number of the first payload byte per direction.
    start_seq: [Option<u32>; 2],
    /// TCP: next expected sequence number per direction.
    next_seq: [Option<u32>; 2],
    /// TCP: the direction's prefix stopped growing (gap or cap).
    frozen: [bool; 2],
    /// Scratch of probes that asked for it, by candidate position.
    scratch: Vec<(u8, ProbeScratch)>,
    index: [u32; 2],
    /// TCP: one segment that arrived ahead of its direction's first byte
    /// (reordered on the wire, or sent out of order on purpose to blind
    /// DPI), held until the bytes before it arrive.
    early: Option<Box<Early>>,
    /// UDP: a provisional match (STUN before the media it sets up), by
    /// candidate position, whose protocol follows the later datagrams; it
    /// becomes the verdict when the budget or the flow ends first.
    held: Option<Box<(u8, Verdict)>>,
    /// Memory accounting: this state, and its prefix buffers' capacity.
    _live: crate::memory::Live<{ crate::memory::DPI_STATES }>,
    buf_bytes: crate::memory::Bytes<{ crate::memory::DPI_BYTES }>,
}

/// A segment held back by [`DpiData::early`].
#[derive(Debug)]
struct Early {
    dir: usize,
    seq: u32,
    bytes: Vec<u8>,
}

impl DpiData {
    /// A datagram flow's state that holds nothing but its counters (a
    /// datagram flow never sets the TCP fields nor `rejected`).
    fn only_counts(&self) -> bool {
        self.buf[0].capacity() == 0
            && self.buf[1].capacity() == 0
            && self.scratch.is_empty()
            && self.early.is_none()
            && self.held.is_none()
    }
}

impl DpiState {
    /// The counters of a datagram flow whose [`DpiData`] was freed.
    fn counts(&self) -> (u32, [u32; 2]) {
        match self.inline {
            Inline::Counts {
                payload_pkts,
                index,
            } => (payload_pkts, index),
            Inline::Syn(_) => (0, [0, 0]),
        }
    }

    /// Keep only the counters of a datagram flow (its [`DpiData`] freed).
    fn counts_only(&mut self) {
        if let Some(d) = self.data.take() {
            self.inline = Inline::Counts {
                payload_pkts: d.payload_pkts,
                index: d.index,
            };
        }
    }

    /// Keep nothing of a flow still looking for its next packet, and give
    /// the layer's answer: a TCP flow gives up (a stream prefix cannot
    /// restart from a later segment), a datagram flow keeps its counters
    /// and is judged on each datagram alone.
    fn keep_nothing(&mut self, transport: Transport, answer: LayerAnswer) -> LayerAnswer {
        if transport == Transport::Tcp {
            self.release();
            return LayerAnswer::Done;
        }
        self.counts_only();
        answer
    }

    /// Free the buffers (after a verdict, or when the flow is settled).
    /// Nothing reads the state after that: the layer is not asked again
    /// about a settled flow, and its `on_end` only takes `held`.
    pub(crate) fn release(&mut self) {
        self.data = None;
    }

    /// Bytes of DPI states and their buffers on this thread, by `count`
    /// ([`crate::memory::counter`] now, [`crate::memory::peak`] at the
    /// most).
    pub(crate) fn memory(count: fn(usize) -> usize) -> usize {
        count(crate::memory::DPI_STATES) * std::mem::size_of::<DpiData>()
            + count(crate::memory::DPI_BYTES)
    }
}

/// The DPI layer.
pub struct DpiLayer {
    cfg: DpiConfig,
    /// Unanswered flows whose state was not kept, over
    /// [`DpiConfig::max_unanswered_states`].
    dropped_unanswered: u64,
    /// Flows given up on over [`DpiConfig::max_memory`].
    given_up_memory: u64,
}

impl DpiLayer {
    pub fn new(cfg: DpiConfig) -> Self {
        DpiLayer {
            cfg,
            dropped_unanswered: 0,
            given_up_memory: 0,
        }
    }

    /// Whether a flow whose buffers grew to `n` bytes must be given up on
    /// to keep [`DpiConfig::max_memory`].
    fn over_memory(&self, n: usize) -> bool {
        use crate::memory::{counter, over_share, DPI_BYTES, DPI_STATES};
        over_share(
            n,
            counter(DPI_BYTES),
            counter(DPI_STATES),
            self.cfg.max_memory,
        )
    }
}

fn dir_idx(d: Direction) -> usize {
    match d {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

impl Layer for DpiLayer {
    fn name(&self) -> &'static str {
        "dpi"
    }

    fn on_packet(&mut self, st: &mut ClassState, pkt: &PacketView<'_>) -> LayerAnswer {
        let mut answer = self.packet(st, pkt);
        // An unanswered flow still looking, over the bound of states kept:
        // nothing of it is kept for its next packet (see
        // `DpiConfig::max_unanswered_states`). A provisional UDP match is
        // kept: it is a verdict already, waiting for its confirmation.
        if !pkt.answered
            && matches!(answer, LayerAnswer::Pending)
            && st.dpi.data.as_ref().is_some_and(|d| d.held.is_none())
            && crate::memory::counter(crate::memory::DPI_STATES) > self.cfg.max_unanswered_states
        {
            self.dropped_unanswered += 1;
            answer = st.dpi.keep_nothing(pkt.transport, answer);
        }
        // A datagram flow still looking, of which nothing is kept: keep its
        // counters only (a UDP flood of junk holds 24 bytes a flow here,
        // not 190).
        if pkt.transport != Transport::Tcp
            && matches!(answer, LayerAnswer::Pending)
            && st.dpi.data.as_ref().is_some_and(|d| d.only_counts())
        {
            st.dpi.counts_only();
        }
        if let Some(d) = st.dpi.data.as_deref_mut() {
            let n = d.buf[0].capacity()
                + d.buf[1].capacity()
                + d.early.as_ref().map_or(0, |e| e.bytes.capacity());
            let grew = n > d.buf_bytes.get();
            d.buf_bytes.set(n);
            // Over the bound on what DPI keeps for all flows (see
            // `DpiConfig::max_memory`); a held provisional UDP match is a
            // verdict already and stays.
            if grew
                && matches!(answer, LayerAnswer::Pending)
                && d.held.is_none()
                && self.over_memory(n)
            {
                self.given_up_memory += 1;
                answer = st.dpi.keep_nothing(pkt.transport, answer);
            }
        }
        answer
    }

    fn judged_alone(&self) -> u64 {
        self.dropped_unanswered
    }

    fn given_up_for_memory(&self) -> u64 {
        self.given_up_memory
    }

    /// A flow that ends while a provisional match waits keeps it.
    fn on_end(&mut self, st: &mut ClassState, _flow: &FlowFacts) -> Option<Verdict> {
        st.dpi.data.as_mut()?.held.take().map(|h| h.1)
    }
}

impl DpiLayer {
    fn packet(&mut self, st: &mut ClassState, pkt: &PacketView<'_>) -> LayerAnswer {
        let ds = &mut st.dpi;
        let is_ip = matches!(pkt.transport, Transport::Ip(_));
        // RFC 9293 §3.4: "the first data octet is ISN+1". Remember it, so a
        // segment that arrives before the stream's first bytes is not taken
        // for its start.
        if let Some((seq, flags)) = pkt.tcp {
            if flags & TCP_SYN != 0 {
                if let Inline::Syn(s) = &mut ds.inline {
                    s[dir_idx(pkt.dir)] = Some(seq.wrapping_add(1));
                }
            }
        }
        let (payload_pkts, index) = ds.counts();
        if pkt.payload.is_empty() && !is_ip {
            return match ds.data.as_deref_mut() {
                Some(d) => self.budget(d),
                None => budget(self.cfg.max_packets, payload_pkts, &mut None),
            };
        }
        let syn_next = match ds.inline {
            Inline::Syn(s) => s,
            Inline::Counts { .. } => [None, None],
        };
        let d: &mut DpiData = ds.data.get_or_insert_with(|| {
            Box::new(DpiData {
                payload_pkts,
                index,
                ..Default::default()
            })
        });
        d.payload_pkts += 1;
        let di = dir_idx(pkt.dir);
        let index = d.index[di];
        d.index[di] += 1;

        // Assemble what the probes see, without copying in the common case
        // of the first payload of a direction.
        let is_tcp = pkt.transport == Transport::Tcp;
        let mut grew = true;
        let mut fresh = false;
        if is_tcp {
            let (seq, _) = pkt.tcp.unwrap_or((0, 0));
            let len = pkt.payload.len() as u32;
            match (d.start_seq[di], d.next_seq[di]) {
                (Some(start), Some(next)) if seq == start && len > next.wrapping_sub(start) => {
                    // A longer segment at the stream's first byte: what came
                    // first was a stub (some stacks send 1-2 junk bytes on an
                    // ACK before the real data at the same sequence number,
                    // heuristic_tcp_ack_payload.pcap). Start over with it.
                    d.buf[di].clear();
                    d.next_seq[di] = Some(seq.wrapping_add(len));
                    d.frozen[di] = false;
                    d.rejected = ProbeSet::default();
                    fresh = true;
                }
                (Some(_), Some(next)) if next == seq && !d.frozen[di] => {
                    let room = self.cfg.max_prefix.saturating_sub(d.buf[di].len());
                    let take = room.min(pkt.payload.len());
                    d.buf[di].extend_from_slice(&pkt.payload[..take]);
                    if take < pkt.payload.len() {
                        d.frozen[di] = true;
                    }
                    d.next_seq[di] = Some(next.wrapping_add(len));
                }
                (Some(_), Some(next)) => {
                    // Retransmission, or out of order: nothing new in order.
                    // A segment beyond a gap freezes the prefix.
                    if (seq.wrapping_sub(next) as i32) > 0 {
                        d.frozen[di] = true;
                    }
                    grew = false;
                }
                _ => {
                    // Ahead of the first data octet the SYN announced (and
                    // within the prefix bound): hold it, the start is still
                    // to come.
                    let ahead = syn_next[di].map(|s| (s, seq.wrapping_sub(s)));
                    match ahead {
                        Some((first, gap))
                            if gap > 0
                                && (gap as usize) < self.cfg.max_prefix
                                && d.early.is_none() =>
                        {
                            let take = self.cfg.max_prefix.min(pkt.payload.len());
                            d.early = Some(Box::new(Early {
                                dir: di,
                                seq,
                                bytes: pkt.payload[..take].to_vec(),
                            }));
                            d.start_seq[di] = Some(first);
                            d.next_seq[di] = Some(first);
                            return self.budget(d);
                        }
                        _ => {
                            d.start_seq[di] = Some(seq);
                            d.next_seq[di] = Some(seq.wrapping_add(len));
                            fresh = true;
                        }
                    }
                }
            }
            // A held-back segment that now continues the prefix joins it.
            if let Some(e) = d.early.take_if(|e| e.dir == di) {
                let next = d.next_seq[di].unwrap_or(e.seq);
                let covered = next.wrapping_sub(e.seq) as i32;
                if covered < 0 {
                    // Still a hole before it.
                    d.early = Some(e);
                } else if (covered as usize) < e.bytes.len() && !d.frozen[di] {
                    if fresh {
                        let take = self.cfg.max_prefix.min(pkt.payload.len());
                        d.buf[di].clear();
                        d.buf[di].extend_from_slice(&pkt.payload[..take]);
                        fresh = false;
                    }
                    let tail = &e.bytes[covered as usize..];
                    let room = self.cfg.max_prefix.saturating_sub(d.buf[di].len());
                    let take = room.min(tail.len());
                    d.buf[di].extend_from_slice(&tail[..take]);
                    if take < tail.len() {
                        d.frozen[di] = true;
                    }
                    d.next_seq[di] = Some(next.wrapping_add(tail.len() as u32));
                    grew = true;
                }
            }
        }
        let first_of_dir = fresh;
        let data: &[u8] = if !is_tcp || first_of_dir {
            pkt.payload
        } else {
            &d.buf[di]
        };
        if !grew && !first_of_dir {
            return self.budget(d);
        }
        let peer: &[u8] = &d.buf[1 - di];
        let input = ProbeInput {
            transport: pkt.transport,
            dir: pkt.dir,
            data,
            peer,
            index,
            server_port: pkt.server.1,
            client_port: pkt.client.1,
            server_addr: Some(pkt.server.0),
            client_addr: Some(pkt.client.0),
        };
        if let Some(c) = d.held.as_ref().map(|h| h.0) {
            let max = self.cfg.max_packets;
            return follow(
                max,
                d.payload_pkts,
                &mut d.held,
                &mut d.scratch,
                usize::from(c),
                &input,
            );
        }
        let mut pending = false;
        let mut found: Option<Verdict> = None;
        // Only the candidates not yet rejected, found a word at a time: a
        // datagram of junk (a UDP flood) asks every UDP probe, and testing
        // each position against the rejected set, then adding it to this
        // datagram's, cost as much as the probes' own first checks.
        let cands = candidates(pkt.transport);
        // A datagram is not offered to the probes that cannot take its
        // first byte (`Protocol::first_bytes`): they would say NoMatch,
        // which for a datagram counts for it alone.
        let ask = match (pkt.transport, data.first()) {
            (Transport::Udp, Some(&b)) => cands.by_first[usize::from(b)],
            _ => cands.all,
        };
        for c in ask.minus(d.rejected).positions() {
            let Some(&proto) = cands.list.get(c) else {
                break;
            };
            let ans = with_scratch(&mut d.scratch, c, |s| proto.probe(&input, s));
            match ans {
                Probe::Match(m) if m.provisional && !is_tcp => {
                    // `c` < MAX_CANDIDATES = 256 (see `with_scratch`).
                    d.held = Some(Box::new((
                        c as u8,
                        Verdict {
                            protocol: proto.name(),
                            app: m.app,
                            confidence: Confidence::Dpi,
                            source: "dpi",
                            evidence: m.evidence.into(),
                        },
                    )));
                    return self.budget(d);
                }
                Probe::Match(m) => {
                    found = Some(Verdict {
                        protocol: proto.name(),
                        app: m.app,
                        confidence: Confidence::Dpi,
                        source: "dpi",
                        evidence: m.evidence.into(),
                    });
                    break;
                }
                // A TCP prefix only grows, so NoMatch is final. Datagrams
                // are independent: a damaged or foreign first datagram must
                // not hide a good second one, so for UDP a NoMatch only
                // counts for this datagram.
                Probe::NoMatch if is_tcp => d.rejected.insert(c),
                Probe::NoMatch => {}
                Probe::NeedMore => pending = true,
            }
        }
        if let Some(v) = found {
            return LayerAnswer::Verdict(v);
        }
        // Keep the bytes later packets will need.
        if first_of_dir && pending {
            let take = self.cfg.max_prefix.min(pkt.payload.len());
            d.buf[di].extend_from_slice(&pkt.payload[..take]);
            d.frozen[di] = take < pkt.payload.len();
        } else if !is_tcp && index == 0 && pending {
            let take = self.cfg.max_udp_peer.min(pkt.payload.len());
            d.buf[di].extend_from_slice(&pkt.payload[..take]);
        }
        // A TCP stream is not given up on its first few bytes: a stub
        // segment may be followed by the real data at the same sequence
        // number (see above), so keep them.
        let short_tcp = is_tcp && pkt.payload.len() < MIN_TCP_VERDICT_BYTES;
        if first_of_dir && !pending && short_tcp {
            d.buf[di].extend_from_slice(pkt.payload);
        }
        if is_tcp && !pending && !short_tcp && all_rejected(d.rejected, pkt.transport) {
            return LayerAnswer::Done;
        }
        // Every candidate not rejected before was asked, and none matched:
        // unless one needs more, all of them said NoMatch to this datagram.
        if !is_tcp && !pending {
            // Nothing even partly matched this datagram: look at a few more
            // (damaged or unrelated first datagrams), within a smaller budget.
            return if d.payload_pkts >= self.cfg.max_packets.min(MAX_DATAGRAMS_UNMATCHED) {
                LayerAnswer::Done
            } else {
                LayerAnswer::Pending
            };
        }
        if is_tcp && d.frozen[0] && d.frozen[1] {
            return LayerAnswer::Done;
        }
        self.budget(d)
    }

    /// Pending while packets of the budget remain; at its end, the held
    /// provisional verdict if there is one.
    fn budget(&self, d: &mut DpiData) -> LayerAnswer {
        budget(self.cfg.max_packets, d.payload_pkts, &mut d.held)
    }
}

/// Run `f` on candidate `c`'s scratch (zeroed if it has none yet); a
/// scratch is kept only once it is no longer all zeros.
#[inline]
fn with_scratch<T>(
    scratches: &mut Vec<(u8, ProbeScratch)>,
    c: usize,
    f: impl FnOnce(&mut ProbeScratch) -> T,
) -> T {
    let pos = scratches.iter().position(|(p, _)| usize::from(*p) == c);
    let mut scratch = pos.map_or_else(ProbeScratch::default, |s| scratches[s].1);
    let answer = f(&mut scratch);
    match pos {
        Some(s) => scratches[s].1 = scratch,
        // `c` < MAX_CANDIDATES = 256: a test holds every transport to it.
        None if scratch != ProbeScratch::default() => scratches.push((c as u8, scratch)),
        None => {}
    }
    answer
}

/// See [`DpiLayer::budget`].
fn budget(max: u32, payload_pkts: u32, held: &mut Option<Box<(u8, Verdict)>>) -> LayerAnswer {
    if payload_pkts < max {
        LayerAnswer::Pending
    } else if let Some(h) = held.take() {
        LayerAnswer::Verdict(h.1)
    } else {
        LayerAnswer::Done
    }
}

/// A later datagram of a flow held on a provisional match (candidate `c`):
/// its protocol says whether the flow stays, settles or becomes another
/// protocol.
fn follow(
    max: u32,
    payload_pkts: u32,
    held: &mut Option<Box<(u8, Verdict)>>,
    scratches: &mut Vec<(u8, ProbeScratch)>,
    c: usize,
    input: &ProbeInput<'_>,
) -> LayerAnswer {
    let Some(&proto) = candidates(input.transport).list.get(c) else {
        return budget(max, payload_pkts, held);
    };
    let answer = with_scratch(scratches, c, |s| proto.follow(input, s));
    match answer {
        Follow::Keep => budget(max, payload_pkts, held),
        Follow::Settled => match held.take() {
            Some(h) => LayerAnswer::Verdict(h.1),
            None => LayerAnswer::Done,
        },
        Follow::Becomes(protocol, m) => {
            let (app, first) = match held.take() {
                Some(h) => (m.app.or(h.1.app), format!("{}; then ", h.1.evidence)),
                None => (m.app, String::new()),
            };
            LayerAnswer::Verdict(Verdict {
                protocol,
                app,
                confidence: Confidence::Dpi,
                source: "dpi",
                evidence: format!("{first}{}", m.evidence).into(),
            })
        }
    }
}

/// The probes that apply to a transport, in `ALL`'s order (a probe's
/// position in `list` is its bit in [`ProbeSet`]), and the set of all those
/// positions, so "every probe said NoMatch" is one comparison.
struct Candidates {
    list: Vec<&'static dyn Protocol>,
    all: ProbeSet,
    /// For each first byte, the probes that can take it
    /// ([`Protocol::first_bytes`]).
    by_first: Box<[ProbeSet; 256]>,
}

impl Candidates {
    fn of(t: Transport) -> Candidates {
        let list: Vec<&'static dyn Protocol> = ALL
            .iter()
            .filter(|p| p.transports().contains(&t))
            .copied()
            .take(MAX_CANDIDATES)
            .collect();
        let all = ProbeSet::first(list.len());
        // Only datagrams are filtered by it (see `DpiLayer::packet`), but
        // each transport's table holds that transport's declarations.
        let mut by_first = Box::new([ProbeSet::default(); 256]);
        for (c, p) in list.iter().enumerate() {
            let takes = p.first_bytes(t);
            for (b, set) in by_first.iter_mut().enumerate() {
                // `b` < 256 (the table's length).
                if takes.contains(b as u8) {
                    set.insert(c);
                }
            }
        }
        Candidates {
            list,
            all,
            by_first,
        }
    }
}

/// The candidates of a transport, computed once per transport.
fn candidates(t: Transport) -> &'static Candidates {
    use std::sync::OnceLock;
    static TCP: OnceLock<Candidates> = OnceLock::new();
    static UDP: OnceLock<Candidates> = OnceLock::new();
    static IP: OnceLock<Vec<(u8, Candidates)>> = OnceLock::new();
    static NONE: OnceLock<Candidates> = OnceLock::new();
    match t {
        Transport::Tcp => TCP.get_or_init(|| Candidates::of(Transport::Tcp)),
        Transport::Udp => UDP.get_or_init(|| Candidates::of(Transport::Udp)),
        Transport::Ip(n) => {
            // Only the IP protocols some probe declares; others have none.
            let table = IP.get_or_init(|| {
                let mut protos: Vec<u8> = ALL
                    .iter()
                    .flat_map(|p| p.transports().iter())
                    .filter_map(|t| match t {
                        Transport::Ip(n) => Some(*n),
                        _ => None,
                    })
                    .collect();
                protos.sort_unstable();
                protos.dedup();
                protos
                    .into_iter()
                    .map(|n| (n, Candidates::of(Transport::Ip(n))))
                    .collect()
            });
            match table.iter().find(|(p, _)| *p == n) {
                Some((_, c)) => c,
                None => NONE.get_or_init(|| Candidates {
                    list: Vec::new(),
                    all: ProbeSet::default(),
                    by_first: Box::new([ProbeSet::default(); 256]),
                }),
            }
        }
    }
}

fn all_rejected(rejected: ProbeSet, t: Transport) -> bool {
    let all = candidates(t).all;
    rejected.union(all) == rejected
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_transport_fits_the_probe_set() {
        for t in [Transport::Tcp, Transport::Udp] {
            let n = ALL.iter().filter(|p| p.transports().contains(&t)).count();
            assert!(n <= MAX_CANDIDATES, "{t:?} has {n} probes; widen ProbeSet");
        }
        for p in ALL {
            for t in p.transports() {
                assert!(
                    candidates(*t).list.iter().any(|q| q.name() == p.name()),
                    "{} missing from the {t:?} candidates",
                    p.name()
                );
            }
        }
    }

    /// The table offers a datagram to exactly the UDP probes whose
    /// declaration takes its first byte, and to fewer than all of them.
    #[test]
    fn first_byte_table_follows_the_declarations() {
        let cands = candidates(Transport::Udp);
        for b in 0..=255u8 {
            let offered: Vec<usize> = cands.by_first[usize::from(b)].positions().collect();
            let takes: Vec<usize> = (0..cands.list.len())
                .filter(|&c| cands.list[c].first_bytes(Transport::Udp).contains(b))
                .collect();
            assert_eq!(offered, takes, "first byte {b:#04x}");
        }
        let zeros = cands.by_first[0].positions().count();
        assert!(zeros < cands.list.len(), "{zeros} of {}", cands.list.len());
    }

    fn tcp_pkt(dir: Direction, seq: u32, flags: u8, payload: &[u8]) -> PacketView<'_> {
        let c: std::net::IpAddr = "10.0.0.1".parse().unwrap();
        let s: std::net::IpAddr = "10.0.0.2".parse().unwrap();
        PacketView {
            ts_ns: 0,
            dir,
            transport: Transport::Tcp,
            payload,
            tcp: Some((seq, flags)),
            tcp_ack: 0,
            tcp_window: 0,
            client: (c, 40000),
            server: (s, 8081),
            new_flow: false,
            answered: false,
            uid: netsift_flow::Uid(1),
        }
    }

    /// Over `max_unanswered_states`, an unanswered TCP flow whose prefix is
    /// not enough yet keeps nothing and gives up; an answered one keeps
    /// its prefix and gets its verdict from the next segment.
    #[test]
    fn unanswered_flows_over_the_bound_keep_no_state() {
        let cfg = DpiConfig {
            max_unanswered_states: 0,
            ..DpiConfig::default()
        };
        // RFC 9112 §3: the request line is not complete yet.
        let (a, b): (&[u8], &[u8]) = (b"GET /ind", b"ex.html HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut layer = DpiLayer::new(cfg);
        let mut st = ClassState::default();
        let first = tcp_pkt(Direction::ToServer, 100, 0x18, a);
        assert_eq!(layer.on_packet(&mut st, &first), LayerAnswer::Done);
        assert!(st.dpi.data.is_none());
        assert_eq!(layer.judged_alone(), 1);

        let mut layer = DpiLayer::new(cfg);
        let mut st = ClassState::default();
        let mut first = tcp_pkt(Direction::ToServer, 100, 0x18, a);
        first.answered = true;
        assert_eq!(layer.on_packet(&mut st, &first), LayerAnswer::Pending);
        let mut second = tcp_pkt(Direction::ToServer, 100 + a.len() as u32, 0x18, b);
        second.answered = true;
        let LayerAnswer::Verdict(v) = layer.on_packet(&mut st, &second) else {
            panic!("no verdict from the whole request line");
        };
        assert_eq!(v.protocol, "HTTP");
        assert_eq!(layer.judged_alone(), 0);
    }

    /// Over `max_memory`, a flow whose prefix grows to the mean or more is
    /// given up on (answered or not), and the bytes it held are free; under
    /// the default bound the same flows wait for the rest of their request
    /// line and are called HTTP.
    #[test]
    fn flows_holding_prefixes_over_the_memory_bound_are_given_up() {
        // RFC 9112 §3: a request line without its end (a long target).
        let mut head = b"GET /".to_vec();
        head.extend_from_slice(&[b'a'; 600]);
        let more = [b'a'; 600];
        let end: &[u8] = b" HTTP/1.1\r\nHost: x\r\n\r\n";
        fn pkt(seq: u32, payload: &[u8]) -> PacketView<'_> {
            let mut p = tcp_pkt(Direction::ToServer, seq, 0x18, payload);
            p.answered = true;
            p
        }
        let (head, more) = (&head[..], &more[..]);
        let cfg = DpiConfig {
            max_memory: 1000,
            ..DpiConfig::default()
        };
        let mut layer = DpiLayer::new(cfg);
        let (mut a, mut b) = (ClassState::default(), ClassState::default());
        assert_eq!(
            layer.on_packet(&mut a, &pkt(100, head)),
            LayerAnswer::Pending
        );
        // Two prefixes of 605 bytes are over 1,000: the one that grew last
        // holds the mean, and is given up on.
        assert_eq!(layer.on_packet(&mut b, &pkt(100, head)), LayerAnswer::Done);
        assert!(b.dpi.data.is_none());
        assert_eq!(layer.given_up_for_memory(), 1);
        // Alone, the first grows past the bound too.
        let next = 100 + head.len() as u32;
        assert_eq!(layer.on_packet(&mut a, &pkt(next, more)), LayerAnswer::Done);
        assert_eq!(layer.given_up_for_memory(), 2);
        assert_eq!(crate::memory::counter(crate::memory::DPI_BYTES), 0);

        let mut layer = DpiLayer::new(DpiConfig::default());
        for st in [&mut ClassState::default(), &mut ClassState::default()] {
            assert_eq!(layer.on_packet(st, &pkt(100, head)), LayerAnswer::Pending);
            assert_eq!(layer.on_packet(st, &pkt(next, more)), LayerAnswer::Pending);
            let last = pkt(next + more.len() as u32, end);
            let LayerAnswer::Verdict(v) = layer.on_packet(st, &last) else {
                panic!("no verdict from the whole request line");
            };
            assert_eq!(v.protocol, "HTTP");
        }
        assert_eq!(layer.given_up_for_memory(), 0);
    }

    /// A request whose second segment overtakes the first (reordering on
    /// the wire, or an evasion attempt): with the handshake seen, the early
    /// segment is held, not probed as the stream's start, and joins the
    /// prefix once the first one arrives (soap.pcap's first flow).
    #[test]
    fn a_segment_ahead_of_the_first_waits_for_it() {
        let req: &[u8] = b"GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\n\r\n";
        let (a, b) = req.split_at(10);
        let mut layer = DpiLayer::new(DpiConfig::default());
        let mut st = ClassState::default();
        let isn = 1_000u32;
        let syn = tcp_pkt(Direction::ToServer, isn, TCP_SYN, &[]);
        assert_eq!(layer.on_packet(&mut st, &syn), LayerAnswer::Pending);
        let late = tcp_pkt(Direction::ToServer, isn + 1 + 10, 0x18, b);
        assert_eq!(layer.on_packet(&mut st, &late), LayerAnswer::Pending);
        let first = tcp_pkt(Direction::ToServer, isn + 1, 0x18, a);
        match layer.on_packet(&mut st, &first) {
            LayerAnswer::Verdict(v) => {
                assert_eq!(v.protocol, "HTTP");
                assert!(v.evidence.contains("Host example.com"), "{}", v.evidence);
            }
            other => panic!("{other:?}"),
        }
        // Without the SYN the first segment seen is the start (mid-stream
        // pickup), as before.
        let mut st = ClassState::default();
        let mut layer = DpiLayer::new(DpiConfig::default());
        let first = tcp_pkt(Direction::ToServer, 5, 0x18, req);
        assert!(matches!(
            layer.on_packet(&mut st, &first),
            LayerAnswer::Verdict(_)
        ));
    }

    fn udp_pkt(dir: Direction, payload: &[u8]) -> PacketView<'_> {
        PacketView {
            transport: Transport::Udp,
            tcp: None,
            ..tcp_pkt(dir, 0, 0, payload)
        }
    }

    const P2P_REQ: &[u8] =
        include_bytes!("../../../protocols/src/stun/testdata/wa_p2p_binding_request.bin");
    const RTP: [&[u8]; 3] = [
        include_bytes!("../../../protocols/src/stun/testdata/wa_rtp_seq5.bin"),
        include_bytes!("../../../protocols/src/stun/testdata/wa_rtp_seq6.bin"),
        include_bytes!("../../../protocols/src/stun/testdata/wa_rtp_seq7.bin"),
    ];

    /// A provisional match (STUN over UDP) is held: the media that follows
    /// names the flow (SRTP here, real bytes of a WhatsApp call, see the STUN
    /// probe's testdata); a flow that ends first, or outlasts the budget, keeps
    /// the held verdict.
    #[test]
    fn a_provisional_match_waits_for_what_follows() {
        let facts = FlowFacts {
            transport: Transport::Udp,
            client: ("10.0.0.1".parse().unwrap(), 40000),
            server: ("10.0.0.2".parse().unwrap(), 8081),
            payload_bytes: [0, 0],
        };
        let mut layer = DpiLayer::new(DpiConfig::default());
        let mut st = ClassState::default();
        let req = udp_pkt(Direction::ToServer, P2P_REQ);
        assert_eq!(layer.on_packet(&mut st, &req), LayerAnswer::Pending);
        assert_eq!(
            layer.on_packet(&mut st, &udp_pkt(Direction::ToServer, RTP[0])),
            LayerAnswer::Pending
        );
        assert_eq!(
            layer.on_packet(&mut st, &udp_pkt(Direction::ToServer, RTP[1])),
            LayerAnswer::Pending
        );
        match layer.on_packet(&mut st, &udp_pkt(Direction::ToServer, RTP[2])) {
            LayerAnswer::Verdict(v) => {
                assert_eq!(v.protocol, "SRTP");
                assert!(
                    v.evidence.starts_with("STUN binding request"),
                    "{}",
                    v.evidence
                );
            }
            other => panic!("{other:?}"),
        }

        // Ends after the STUN exchange: STUN.
        let mut st = ClassState::default();
        assert_eq!(layer.on_packet(&mut st, &req), LayerAnswer::Pending);
        assert_eq!(layer.on_packet(&mut st, &req), LayerAnswer::Pending);
        let v = layer.on_end(&mut st, &facts).map(|v| v.protocol);
        assert_eq!(v, Some("STUN"));

        // STUN keepalives beyond the budget: STUN, decided in-flow.
        let mut layer = DpiLayer::new(DpiConfig {
            max_packets: 4,
            ..DpiConfig::default()
        });
        let mut st = ClassState::default();
        let answers: Vec<_> = (0..4).map(|_| layer.on_packet(&mut st, &req)).collect();
        assert_eq!(
            answers[..3],
            [
                LayerAnswer::Pending,
                LayerAnswer::Pending,
                LayerAnswer::Pending
            ]
        );
        assert!(matches!(&answers[3], LayerAnswer::Verdict(v) if v.protocol == "STUN"));
    }

    /// A UDP flow of junk (no probe even partly matches) keeps no DPI
    /// state between its datagrams, only its counters: the budget of
    /// datagrams still ends at the same one, and a datagram the probes
    /// recognise still decides the flow.
    #[test]
    fn junk_datagrams_keep_only_counters() {
        let junk = [0u8; 32];
        let mut layer = DpiLayer::new(DpiConfig::default());
        let mut st = ClassState::default();
        for n in 1..MAX_DATAGRAMS_UNMATCHED {
            let a = layer.on_packet(&mut st, &udp_pkt(Direction::ToServer, &junk));
            assert_eq!(a, LayerAnswer::Pending, "datagram {n}");
            assert!(st.dpi.data.is_none(), "datagram {n}: DpiData kept");
            assert_eq!(st.dpi.counts(), (n, [n, 0]));
        }
        let a = layer.on_packet(&mut st, &udp_pkt(Direction::ToServer, &junk));
        assert_eq!(a, LayerAnswer::Done, "the 8th unmatched datagram ends it");

        // A DNS query after junk: decided, the junk counted before it.
        let q: &[u8] = &[
            0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 7, b'e', b'x', b'a', b'm', b'p', b'l',
            b'e', 3, b'c', b'o', b'm', 0, 0, 1, 0, 1,
        ];
        let mut st = ClassState::default();
        let mut layer = DpiLayer::new(DpiConfig::default());
        let mut dns = udp_pkt(Direction::ToServer, q);
        dns.server.1 = 53;
        let mut first = udp_pkt(Direction::ToServer, &junk);
        first.server.1 = 53;
        assert_eq!(layer.on_packet(&mut st, &first), LayerAnswer::Pending);
        assert!(st.dpi.data.is_none());
        match layer.on_packet(&mut st, &dns) {
            LayerAnswer::Verdict(v) => assert_eq!(v.protocol, "DNS"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn probe_set_bits() {
        let mut s = ProbeSet::default();
        for i in [0, 63, 64, 200, 255] {
            assert!(!s.contains(i));
            s.insert(i);
            assert!(s.contains(i));
        }
        s.insert(256); // out of range: ignored, never a panic
        assert!(!s.contains(256));
        assert_eq!(ProbeSet::first(0), ProbeSet::default());
        let f = ProbeSet::first(65);
        assert!(f.contains(64) && !f.contains(65) && f.contains(0));
        assert_eq!(ProbeSet::first(256).0, [u64::MAX; 4]);
        // The positions left, in order, across words.
        let all = ProbeSet::first(200);
        assert_eq!(all.positions().count(), 200);
        assert!(all.positions().eq(0..200));
        let left: Vec<usize> = all.minus(s).positions().collect();
        assert_eq!(left.len(), 197); // 0, 63 and 64 are in `s`; 200 and 255 not in `all`
        assert_eq!(left[..3], [1, 2, 3]);
        assert!(!left.contains(&63) && !left.contains(&64) && left.contains(&65));
        assert_eq!(left.last(), Some(&199));
        assert_eq!(ProbeSet::default().positions().next(), None);
    }
}
