//! Evaluation: the multi-pattern prefilter per inspected buffer, the rule
//! header and packet tests, flowbits, thresholds, and the three inspection
//! points (packet/stream, transaction, file).
//!
//! Prefilter: as Suricata, each rule has one fast pattern (its
//! `fast_pattern` content, else its longest positive content); one
//! Aho-Corasick automaton per buffer kind finds which rules' fast patterns
//! occur, and only those rules (plus the small list of rules without any
//! positive content) are evaluated in full.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use aho_corasick::AhoCorasick;
use netsift_proto::BufferKind;

use crate::detect::{Detector, FileView, FlowInfo, FlowRules, Match, Packet, TxBuffers};
use crate::parse::{
    norm_app, suricata_app, BitOp, BufMatch, FileTest, FlagMode, Kind, PktTest, Side, StreamMode,
    ThType, Threshold, Track,
};
use crate::rule::{Action, Inspect, Rule, RuleId};

/// Stream bytes kept per direction so a content split across segments is
/// found.
pub(crate) const STREAM_TAIL: usize = 2048;
/// Bound on the (rule, tx, direction) entries remembered per flow; past it
/// the memory is cleared (a rule may then fire again for an old tx).
pub(crate) const MAX_FIRED: usize = 8192;
/// Bound on threshold / detection_filter trackers per run.
pub(crate) const MAX_TRACKERS: usize = 100_000;
/// Bound on flowbit names (more are folded onto the last ones).
pub(crate) const MAX_FLOWBITS: usize = 1 << 16;
/// Bound on prefilter hits reported per scanned buffer; past it every rule
/// of that prefilter is a candidate (correct, only slower).
const MAX_HITS: usize = 1 << 16;

/// Pattern occurrences remembered per stream tail; past it the next
/// window is scanned whole.
const MAX_TAIL_HITS: usize = 1024;

/// The prefilter's pattern occurrences in one direction's stream tail.
#[derive(Debug, Default)]
struct TailHits {
    /// (absolute stream start, pattern id).
    v: Vec<(u64, u32)>,
    /// Not all are known: scan the next window whole.
    lost: bool,
}

/// Pattern bytes up to which a prefilter is a DFA.
const MAX_DFA_PATTERN_BYTES: usize = 1 << 20;

/// One automaton over the fast patterns of the rules of one buffer kind.
#[derive(Debug, Default)]
pub(crate) struct Prefilter {
    ac: Option<AhoCorasick>,
    /// Rules per pattern id.
    rules: Vec<Vec<u32>>,
    /// The longest pattern's length.
    max_len: usize,
}

impl Prefilter {
    fn build(entries: &[(Vec<u8>, u32)]) -> Prefilter {
        let mut by_pat: HashMap<Vec<u8>, Vec<u32>> = HashMap::new();
        for (p, r) in entries {
            by_pat.entry(p.to_ascii_lowercase()).or_default().push(*r);
        }
        let mut pats: Vec<(Vec<u8>, Vec<u32>)> = by_pat.into_iter().collect();
        pats.sort();
        // A DFA: every byte of every packet and stream goes through this
        // automaton with overlapping matches, where the default
        // (contiguous NFA for large sets) spent a quarter of a run with
        // 10,000 rules following failure links. Pattern bytes bound its
        // size (byte classes keep rows short); past the bound, or if the
        // DFA cannot be built, the builder's own choice.
        let bytes: usize = pats.iter().map(|(p, _)| p.len()).sum();
        let build = |kind| {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .kind(kind)
                .build(pats.iter().map(|(p, _)| p))
                .ok()
        };
        let ac = if bytes <= MAX_DFA_PATTERN_BYTES {
            build(Some(aho_corasick::AhoCorasickKind::DFA)).or_else(|| build(None))
        } else {
            build(None)
        };
        let max_len = pats.iter().map(|(p, _)| p.len()).max().unwrap_or(0);
        Prefilter {
            ac,
            rules: pats.into_iter().map(|(_, r)| r).collect(),
            max_len,
        }
    }

    /// Every occurrence of a pattern in `hay`, as (start, end, pattern
    /// id), given to `f`; false (and a stop) past [`MAX_HITS`].
    fn each_hit(&self, hay: &[u8], mut f: impl FnMut(usize, usize, u32)) -> bool {
        let Some(ac) = &self.ac else {
            return true;
        };
        for (n, m) in ac.find_overlapping_iter(hay).enumerate() {
            if n >= MAX_HITS {
                return false;
            }
            f(m.start(), m.end(), m.pattern().as_u32());
        }
        true
    }

    /// The rules of pattern ids `pids` (sorted and deduplicated here).
    fn add_rules(&self, pids: &mut [u32], out: &mut Vec<u32>) {
        pids.sort_unstable();
        let mut last = None;
        for &id in pids.iter() {
            if last == Some(id) {
                continue;
            }
            last = Some(id);
            if let Some(r) = self.rules.get(id as usize) {
                out.extend_from_slice(r);
            }
        }
    }

    /// Every rule of this prefilter (the answer when hits overflow).
    fn add_all(&self, out: &mut Vec<u32>) {
        for r in &self.rules {
            out.extend_from_slice(r);
        }
    }

    /// The candidates of a stream window `tail + new` (`tail`: the bytes
    /// kept from before, ending at absolute stream offset `seen`), scanning
    /// only what can hold an occurrence not seen before: the new bytes,
    /// and the junction with the tail's last `max_len - 1` bytes.
    /// Occurrences wholly in the tail were found when their bytes were new
    /// and wait in `hits` (absolute start, pattern id); they count while
    /// they start inside the window. `hits` is then updated for the next
    /// window, whose tail keeps `keep` bytes. With `hits.lost` the whole
    /// window is scanned instead (and `hits` rebuilt from it).
    fn scan_stream(
        &self,
        tail: &[u8],
        new: &[u8],
        seen: u64,
        keep: usize,
        hits: &mut TailHits,
        out: &mut Vec<u32>,
    ) {
        let win_start = seen - tail.len() as u64;
        let end = seen + new.len() as u64;
        let next_start = end - (keep.min(tail.len() + new.len())) as u64;
        let mut pids: Vec<u32> = Vec::new();
        let mut found: Vec<(u64, u32)> = Vec::new();
        let mut ok = true;
        if hits.lost {
            let mut w = Vec::with_capacity(tail.len() + new.len());
            w.extend_from_slice(tail);
            w.extend_from_slice(new);
            ok = self.each_hit(&w, |st, _, id| {
                pids.push(id);
                found.push((win_start + st as u64, id));
            });
            hits.v.clear();
        } else {
            pids.extend(
                hits.v
                    .iter()
                    .filter(|(st, _)| *st >= win_start)
                    .map(|(_, id)| *id),
            );
            // The junction: an occurrence starting in the tail and ending
            // in the new bytes.
            let k = self.max_len.saturating_sub(1).min(tail.len());
            if k > 0 && !new.is_empty() {
                let mut j = Vec::with_capacity(2 * k);
                j.extend_from_slice(&tail[tail.len() - k..]);
                j.extend_from_slice(&new[..new.len().min(k)]);
                let base = seen - k as u64;
                ok &= self.each_hit(&j, |st, en, id| {
                    if st < k && en > k {
                        pids.push(id);
                        found.push((base + st as u64, id));
                    }
                });
            }
            ok &= self.each_hit(new, |st, _, id| {
                pids.push(id);
                found.push((seen + st as u64, id));
            });
        }
        if !ok {
            self.add_all(out);
            hits.v.clear();
            hits.lost = true;
            return;
        }
        self.add_rules(&mut pids, out);
        hits.v.retain(|(st, _)| *st >= next_start);
        hits.v
            .extend(found.into_iter().filter(|(st, _)| *st >= next_start));
        hits.lost = hits.v.len() > MAX_TAIL_HITS;
        if hits.lost {
            hits.v.clear();
        }
    }

    /// Add the rules whose fast pattern occurs in `hay` to `out`.
    fn scan(&self, hay: &[u8], out: &mut Vec<u32>) {
        let mut pids = Vec::new();
        if self.each_hit(hay, |_, _, id| pids.push(id)) {
            self.add_rules(&mut pids, out);
        } else {
            self.add_all(out);
        }
    }
}

/// The compiled, shared part of a rule set.
#[derive(Debug, Default)]
pub(crate) struct Compiled {
    /// Packet and stream prefilters by [`pkt_group`]: a rule's pattern is
    /// only in the groups of the transports and flow directions its
    /// header and `flow` option allow (Suricata's signature groups by
    /// protocol and direction), so a UDP packet is not scanned for TCP
    /// rules' patterns. Groups with the same rules share one automaton.
    pkt: Vec<Arc<Prefilter>>,
    pkt_always: Vec<u32>,
    tx: HashMap<BufferKind, Prefilter>,
    tx_always: Vec<u32>,
    file: HashMap<Inspect, Prefilter>,
    file_always: Vec<u32>,
    wanted: HashSet<BufferKind>,
    pub wants_files: bool,
    nbits: usize,
    /// Some packet rule reads the stream.
    stream_rules: bool,
    /// Some packet rule reads the payload of a TCP packet even when the
    /// session has a stream (`flow:no_stream`, `dsize`).
    pkt_payload_rules: bool,
    /// Some rule is IP-only.
    ip_only: bool,
}

impl Compiled {
    /// Some packet rule reads the stream.
    pub(crate) fn wants_stream(&self) -> bool {
        self.stream_rules
    }

    pub fn new(rules: &mut [Rule]) -> Self {
        let mut c = Compiled::default();
        // Intern flowbit names.
        let mut names: HashMap<String, u32> = HashMap::new();
        for r in rules.iter_mut() {
            for fb in &mut r.det.flowbits {
                fb.ids = fb
                    .names
                    .iter()
                    .map(|n| {
                        let next = names.len().min(MAX_FLOWBITS - 1) as u32;
                        *names.entry(n.clone()).or_insert(next)
                    })
                    .collect();
            }
        }
        c.nbits = names.len().min(MAX_FLOWBITS);
        let mut pkt = Vec::new();
        let mut tx: HashMap<BufferKind, Vec<(Vec<u8>, u32)>> = HashMap::new();
        let mut file: HashMap<Inspect, Vec<(Vec<u8>, u32)>> = HashMap::new();
        for (i, r) in rules.iter().enumerate() {
            let i = i as u32;
            let d = &r.det;
            for b in &d.bufs {
                if let Inspect::Tx(k) = b.inspect {
                    c.wanted.insert(k);
                }
            }
            let fast = d
                .fast
                .as_ref()
                .and_then(|(bi, p)| Some((d.bufs.get(*bi)?.inspect, p.clone())));
            c.ip_only |= d.ip_only;
            match d.kind {
                Kind::Packet => {
                    if d.has_payload() && d.stream != StreamMode::NoStream {
                        c.stream_rules = true;
                    }
                    if d.has_payload()
                        && (d.stream == StreamMode::NoStream
                            || d.pkt.iter().any(|t| matches!(t, PktTest::Dsize(_))))
                    {
                        c.pkt_payload_rules = true;
                    }
                    match fast {
                        Some((_, p)) => pkt.push((p, i)),
                        None => c.pkt_always.push(i),
                    }
                }
                Kind::Tx => match fast {
                    Some((Inspect::Tx(k), p)) => tx.entry(k).or_default().push((p, i)),
                    _ => c.tx_always.push(i),
                },
                Kind::File => {
                    c.wants_files = true;
                    match fast {
                        Some((ins, p)) => file.entry(ins).or_default().push((p, i)),
                        None => c.file_always.push(i),
                    }
                }
            }
        }
        c.pkt = group_prefilters(rules, &pkt);
        c.tx = tx
            .into_iter()
            .map(|(k, v)| (k, Prefilter::build(&v)))
            .collect();
        c.file = file
            .into_iter()
            .map(|(k, v)| (k, Prefilter::build(&v)))
            .collect();
        c
    }

    pub fn wants(&self, k: BufferKind) -> bool {
        self.wanted.contains(&k)
    }
}

/// Packet prefilter groups: 3 transports (TCP, UDP, other) × 3 packet
/// kinds (to server, to client, outside a flow).
const PKT_GROUPS: usize = 9;

/// The packet prefilter group of a packet.
fn pkt_group(ip_proto: u8, fi: Option<&FlowInfo>) -> usize {
    let t = match ip_proto {
        6 => 0,
        17 => 1,
        _ => 2,
    };
    let d = match fi {
        Some(f) if f.to_server => 0,
        Some(_) => 1,
        None => 2,
    };
    t * 3 + d
}

/// Is rule `r` ever evaluated on a packet of group `g`?
fn in_pkt_group(r: &Rule, g: usize) -> bool {
    let (t, d) = (g / 3, g % 3);
    let transport_ok = r.det.l4.as_ref().is_none_or(|l4| {
        l4.iter().any(|&p| match t {
            0 => p == 6,
            1 => p == 17,
            _ => p != 6 && p != 17,
        })
    });
    // `flow:to_server` / `to_client` need a flow in that direction.
    let dir_ok = match r.det.to_server {
        None => true,
        Some(ts) => d == usize::from(!ts),
    };
    transport_ok && dir_ok
}

/// The packet prefilters of [`PKT_GROUPS`], built from (pattern, rule).
fn group_prefilters(rules: &[Rule], pats: &[(Vec<u8>, u32)]) -> Vec<Arc<Prefilter>> {
    let mut built: HashMap<Vec<u32>, Arc<Prefilter>> = HashMap::new();
    (0..PKT_GROUPS)
        .map(|g| {
            let mine: Vec<(Vec<u8>, u32)> = pats
                .iter()
                .filter(|(_, r)| rules.get(*r as usize).is_some_and(|r| in_pkt_group(r, g)))
                .cloned()
                .collect();
            let key: Vec<u32> = mine.iter().map(|(_, r)| *r).collect();
            built
                .entry(key)
                .or_insert_with(|| Arc::new(Prefilter::build(&mine)))
                .clone()
        })
        .collect()
}

/// Per-flow state, allocated on first use.
#[derive(Debug, Default)]
pub(crate) struct FlowState {
    pub passed: bool,
    bits: Vec<u64>,
    fired: HashSet<(u32, u64, bool)>,
    /// Stream tails: [to_server, to_client].
    tails: [Vec<u8>; 2],
    /// Stream bytes inspected per direction (the tail ends there).
    seen: [u64; 2],
    /// The packet prefilter's occurrences in each tail.
    tail_hits: [TailHits; 2],
    /// IP-only rules ran on this direction's first packet.
    ip_only_done: [bool; 2],
}

impl FlowState {
    fn bit(&self, id: u32) -> bool {
        self.bits
            .get(id as usize / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }
    fn set_bit(&mut self, id: u32, on: bool) {
        let w = id as usize / 64;
        if self.bits.len() <= w {
            if !on {
                return;
            }
            self.bits.resize(w + 1, 0);
        }
        if on {
            self.bits[w] |= 1 << (id % 64);
        } else {
            self.bits[w] &= !(1 << (id % 64));
        }
    }
    fn fire(&mut self, key: (u32, u64, bool)) {
        if self.fired.len() >= MAX_FIRED {
            self.fired.clear();
        }
        self.fired.insert(key);
    }
}

fn state(flow: &mut FlowRules) -> &mut FlowState {
    flow.st.get_or_insert_with(Default::default)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum TrackKey {
    None,
    One(IpAddr),
    Two(IpAddr, IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Tracker {
    start_ns: u64,
    count: u64,
}

/// Threshold and detection_filter counters, in packet time.
#[derive(Debug, Default)]
pub(crate) struct Thresholds {
    map: HashMap<(u32, bool, TrackKey), Tracker>,
}

impl Thresholds {
    /// Count one match of rule `rid`; whether it may alert.
    fn allow(&mut self, rid: u32, filter: bool, t: &Threshold, pkt: &Packet) -> bool {
        let key = match t.track {
            Track::Src => TrackKey::One(pkt.src),
            Track::Dst => TrackKey::One(pkt.dst),
            Track::Rule => TrackKey::None,
            Track::Both => TrackKey::Two(pkt.src, pkt.dst),
        };
        let ts = pkt.ts_ns;
        let window = t.seconds.saturating_mul(1_000_000_000);
        if self.map.len() >= MAX_TRACKERS && !self.map.contains_key(&(rid, filter, key)) {
            // Expired trackers first; if that is not enough, start over.
            self.map
                .retain(|_, e| ts.saturating_sub(e.start_ns) < window.max(1));
            if self.map.len() >= MAX_TRACKERS {
                self.map.clear();
            }
        }
        let e = self.map.entry((rid, filter, key)).or_insert(Tracker {
            start_ns: ts,
            count: 0,
        });
        // A window opens at the first match and lasts `seconds`.
        if ts.saturating_sub(e.start_ns) >= window {
            e.start_ns = ts;
            e.count = 0;
        }
        e.count += 1;
        match t.ty {
            // "limit: alert at most count times per seconds".
            ThType::Limit => e.count <= t.count,
            // "threshold: alert on the count-th match within seconds", then
            // count again (the window keeps its start).
            ThType::Threshold => {
                if e.count >= t.count {
                    e.count = 0;
                    true
                } else {
                    false
                }
            }
            // "both: alert once per seconds once count matches were seen".
            ThType::Both => e.count == t.count,
            // "detection_filter: alert each time after count matches within
            // seconds".
            ThType::Filter => e.count > t.count,
        }
    }
}

/// The packet as seen from direction `to_server` of its flow (addresses and
/// ports swapped when the packet goes the other way).
struct View {
    src: IpAddr,
    dst: IpAddr,
    sp: Option<u16>,
    dp: Option<u16>,
}

fn view(pkt: &Packet, to_server: Option<bool>) -> View {
    let swap = match (to_server, pkt.flow.as_ref()) {
        (Some(d), Some(f)) => d != f.to_server,
        _ => false,
    };
    if swap {
        View {
            src: pkt.dst,
            dst: pkt.src,
            sp: pkt.dst_port,
            dp: pkt.src_port,
        }
    } else {
        View {
            src: pkt.src,
            dst: pkt.dst,
            sp: pkt.src_port,
            dp: pkt.dst_port,
        }
    }
}

/// The flow's app-layer protocol in Suricata's (normalised) spelling.
fn app_of(f: Option<&FlowInfo>) -> Option<String> {
    f.and_then(|f| f.app_proto)
        .map(|a| norm_app(&suricata_app(a)))
}

/// Header, flow and packet tests. `dir`: the direction being evaluated
/// (tx and file rules), None for packet rules (the packet's own).
fn header_ok(r: &Rule, pkt: &Packet, dir: Option<bool>, app: Option<&str>) -> bool {
    let d = &r.det;
    if let Some(l4) = &d.l4 {
        if !l4.contains(&pkt.ip_proto) {
            return false;
        }
    }
    let fi = pkt.flow.as_ref();
    if let Some(want) = &d.app {
        if app != Some(want.as_str()) {
            return false;
        }
    }
    let v = view(pkt, dir);
    let fwd =
        d.src.matches(v.src) && d.sp.matches(v.sp) && d.dst.matches(v.dst) && d.dp.matches(v.dp);
    // "Rules Format / direction": `<>` matches both ways.
    let rev = d.bidir
        && d.src.matches(v.dst)
        && d.sp.matches(v.dp)
        && d.dst.matches(v.src)
        && d.dp.matches(v.sp);
    if !(fwd || rev) {
        return false;
    }
    // "Flow keywords / flow": to_server / to_client, established.
    if let Some(ts) = d.to_server {
        let cur = dir.or(fi.map(|f| f.to_server));
        if cur != Some(ts) {
            return false;
        }
    }
    if let Some(est) = d.established {
        match fi {
            Some(f) if f.established == est => {}
            _ => return false,
        }
    }
    for t in &d.pkt {
        let ok = match t {
            PktTest::IType(c) => pkt.icmp_type.is_some_and(|x| c.test(u64::from(x))),
            PktTest::ICode(c) => pkt.icmp_code.is_some_and(|x| c.test(u64::from(x))),
            PktTest::Ttl(c) => pkt.ttl.is_some_and(|x| c.test(u64::from(x))),
            PktTest::IpProto(c) => c.test(u64::from(pkt.ip_proto)),
            PktTest::Dsize(c) => c.test(pkt.payload.len() as u64),
            PktTest::SameIp => pkt.src == pkt.dst,
            PktTest::Flags { mode, flags, mask } => pkt.tcp_flags.is_some_and(|f| {
                let f = f & !mask;
                match mode {
                    FlagMode::Exact => f == *flags,
                    FlagMode::All => f & flags == *flags,
                    FlagMode::Any => f & flags != 0,
                    FlagMode::Not => f & flags == 0,
                }
            }),
            // An undetermined protocol matches neither way.
            PktTest::AppProto { name, negated } => match app {
                Some(a) => (a == name.as_str()) != *negated,
                None => false,
            },
        };
        if !ok {
            return false;
        }
    }
    true
}

/// Flowbit conditions (isset / isnotset).
fn bits_ok(r: &Rule, st: Option<&FlowState>) -> bool {
    for fb in &r.det.flowbits {
        let test = |id: &u32| st.is_some_and(|s| s.bit(*id));
        let v = match fb.op {
            BitOp::IsSet => {
                if fb.all {
                    fb.ids.iter().all(test)
                } else {
                    fb.ids.iter().any(test)
                }
            }
            BitOp::IsNotSet => {
                if fb.all {
                    !fb.ids.iter().any(test)
                } else {
                    !fb.ids.iter().all(test)
                }
            }
            _ => true,
        };
        if !v {
            return false;
        }
    }
    true
}

/// Flowbit actions of a matching rule.
fn bits_apply(r: &Rule, flow: Option<&mut FlowRules>) {
    let Some(flow) = flow else {
        return;
    };
    if !r
        .det
        .flowbits
        .iter()
        .any(|f| matches!(f.op, BitOp::Set | BitOp::Unset | BitOp::Toggle))
    {
        return;
    }
    let st = state(flow);
    for fb in &r.det.flowbits {
        for &id in &fb.ids {
            match fb.op {
                BitOp::Set => st.set_bit(id, true),
                BitOp::Unset => st.set_bit(id, false),
                BitOp::Toggle => {
                    let b = st.bit(id);
                    st.set_bit(id, !b)
                }
                _ => {}
            }
        }
    }
}

/// What happens after a rule fully matched: flowbits, pass, noalert,
/// thresholds. Returns true when inspection must stop (a pass rule).
fn fired(
    d: &mut Detector,
    rid: u32,
    pkt: &Packet,
    flow: Option<&mut FlowRules>,
    (buffer, offset): (&'static str, Option<usize>),
    out: &mut Vec<Match>,
    start: usize,
) -> bool {
    let rules = d.rules.clone();
    let Some(r) = rules.rules.get(rid as usize) else {
        return false;
    };
    let mut flow = flow;
    bits_apply(r, flow.as_deref_mut());
    // "pass: stop further inspection; for a flow, the whole flow is
    // passed": the alerts this call produced are withdrawn.
    if r.action == Action::Pass {
        out.truncate(start);
        if let Some(f) = flow {
            state(f).passed = true;
        }
        return true;
    }
    if r.det.noalert {
        return false;
    }
    if let Some(t) = &r.det.detection_filter {
        if !d.thresholds.allow(rid, true, t, pkt) {
            return false;
        }
    }
    if let Some(t) = &r.det.threshold {
        if !d.thresholds.allow(rid, false, t, pkt) {
            return false;
        }
    }
    out.push(Match {
        rule: RuleId(rid),
        buffer,
        offset,
    });
    false
}

fn sorted(mut v: Vec<u32>) -> Vec<u32> {
    v.sort_unstable();
    v.dedup();
    v
}

pub(crate) fn inspect_packet(
    d: &mut Detector,
    pkt: &Packet,
    stream: Option<&[u8]>,
    mut flow: Option<&mut FlowRules>,
    out: &mut Vec<Match>,
    pseudo: bool,
) {
    if flow.as_ref().is_some_and(|f| f.passed()) {
        return;
    }
    let rules = d.rules.clone();
    let c = &rules.compiled;
    let app = app_of(pkt.flow.as_ref());
    let fi = pkt.flow.as_ref();
    let tcp_flow = pkt.ip_proto == 6 && fi.is_some();
    // Only TCP flows have a stream, and only rules that read it need it.
    let stream = if tcp_flow && c.stream_rules {
        stream
    } else {
        None
    };
    let di = usize::from(!fi.is_some_and(|f| f.to_server));
    // The previous bytes of this direction (the tail), taken out of the
    // flow's state for the packet and put back, grown, at the end.
    let (prev, mut hits, seen) = match (stream, flow.as_deref_mut()) {
        (Some(_), Some(f)) => {
            let st = state(f);
            (
                std::mem::take(&mut st.tails[di]),
                std::mem::take(&mut st.tail_hits[di]),
                st.seen[di],
            )
        }
        _ => (Vec::new(), TailHits::default(), 0),
    };
    let tail: &[u8] = &prev;
    let mut cand = c.pkt_always.clone();
    // In a TCP session with a stream, payload rules read the stream; the
    // packet's own payload matters only to no_stream and dsize rules, so
    // without them it is not scanned twice.
    let payload_useful = !tcp_flow
        || c.pkt_payload_rules
        || (stream.is_none() && !fi.is_some_and(|f| f.established));
    let group = c.pkt.get(pkt_group(pkt.ip_proto, fi));
    if let (false, true, Some(pf)) = (pkt.payload.is_empty(), payload_useful, group) {
        pf.scan(pkt.payload, &mut cand);
    }
    if let (Some(s), Some(pf)) = (stream, group) {
        pf.scan_stream(tail, s, seen, STREAM_TAIL, &mut hits, &mut cand);
    }
    // The tail and the new bytes as one buffer, built only when a
    // candidate needs it.
    let mut window: Option<Vec<u8>> = None;
    let start = out.len();
    // Suricata runs IP-only rules on the first packet of each direction of
    // a flow; outside flows, on every packet.
    let in_flow = fi.is_some() && flow.is_some();
    let ip_only_done = in_flow
        && flow
            .as_ref()
            .and_then(|f| f.st.as_ref())
            .is_some_and(|s| s.ip_only_done[di]);
    if c.ip_only && in_flow && !ip_only_done {
        if let Some(f) = flow.as_deref_mut() {
            state(f).ip_only_done[di] = true;
        }
    }
    for rid in sorted(cand) {
        let Some(r) = rules.rules.get(rid as usize) else {
            continue;
        };
        if r.det.ip_only && ip_only_done {
            continue;
        }
        // Flowbits first: a bit test is cheaper than the address groups,
        // and feeds are full of `flowbits:isset` rules on common patterns.
        if r.det.kind != Kind::Packet
            || !bits_ok(r, flow.as_deref().and_then(|f| f.st.as_deref()))
            || !header_ok(r, pkt, None, app.as_deref())
        {
            continue;
        }
        // A flow-end flush (Suricata's pseudo packet) carries stream bytes
        // only: rules about packets do not see it.
        if pseudo && r.det.bufs.is_empty() {
            continue;
        }
        let (buffer, offset) = if let Some(bm) = r.det.bufs.first() {
            let dsize = r.det.pkt.iter().any(|t| matches!(t, PktTest::Dsize(_)));
            let mode = r.det.stream;
            // Suricata inspects payload rules of an established TCP session
            // on the reassembled stream; `no_stream` (and dsize) rules on
            // the packet, `only_stream` rules on the stream only.
            let use_pkt = !pseudo
                && match mode {
                    StreamMode::NoStream => true,
                    StreamMode::OnlyStream => false,
                    StreamMode::Both => {
                        dsize
                            || !tcp_flow
                            || (stream.is_none() && !fi.is_some_and(|f| f.established))
                    }
                };
            let use_stream = mode != StreamMode::NoStream && !dsize;
            let mut hit = None;
            if use_pkt {
                if let Some(o) = bm.matches(pkt.payload) {
                    hit = Some(("pkt_data", Some(o)));
                }
            }
            if hit.is_none() && use_stream {
                if let Some(s) = stream {
                    if let Some(o) = bm.matches(s) {
                        hit = Some(("stream", Some(o)));
                    } else if !tail.is_empty() {
                        // A match spanning the previous bytes and the new
                        // ones counts; one within the old bytes alone was
                        // already reported when they were new.
                        let w = window.get_or_insert_with(|| [tail, s].concat());
                        if let Some(o) = bm.matches(w) {
                            if bm.matches(tail).is_none() {
                                hit = Some(("stream", Some(o.saturating_sub(tail.len()))));
                            }
                        }
                    }
                }
            }
            match hit {
                Some(h) => h,
                None => continue,
            }
        } else {
            ("packet", None)
        };
        if fired(
            d,
            rid,
            pkt,
            flow.as_deref_mut(),
            (buffer, offset),
            out,
            start,
        ) {
            break;
        }
    }
    // Keep the stream's tail for the next segment.
    if let (Some(f), Some(s)) = (flow, stream) {
        let mut t = prev;
        let over = (t.len() + s.len()).saturating_sub(STREAM_TAIL);
        if over >= t.len() {
            t.clear();
            t.extend_from_slice(&s[s.len() - STREAM_TAIL.min(s.len())..]);
        } else {
            t.drain(..over);
            t.extend_from_slice(s);
        }
        let st = state(f);
        st.tails[di] = t;
        st.tail_hits[di] = hits;
        st.seen[di] = seen + s.len() as u64;
    }
}

/// The directions a transaction rule is evaluated in.
fn tx_dirs(r: &Rule) -> &'static [bool] {
    if let Some(ts) = r.det.to_server {
        return if ts { &[true] } else { &[false] };
    }
    let sides: Vec<Side> = r.det.bufs.iter().map(|b| b.side).collect();
    if sides.contains(&Side::Response) {
        &[false]
    } else if sides.contains(&Side::Request) {
        &[true]
    } else {
        &[true, false]
    }
}

fn side_dir(side: Side, dir: bool) -> bool {
    match side {
        Side::Any => dir,
        Side::Request => true,
        Side::Response => false,
    }
}

/// Match one buffer's program against its values: any may match.
fn tx_buf(bm: &BufMatch, vals: &[&[u8]]) -> Option<usize> {
    vals.iter().find_map(|v| bm.matches(v))
}

pub(crate) fn inspect_tx(
    d: &mut Detector,
    pkt: &Packet,
    tx: u64,
    bufs: &dyn TxBuffers,
    flow: &mut FlowRules,
    out: &mut Vec<Match>,
) {
    if flow.passed() {
        return;
    }
    let rules = d.rules.clone();
    let c = &rules.compiled;
    let app = app_of(pkt.flow.as_ref());
    let mut cand = c.tx_always.clone();
    for (k, pf) in &c.tx {
        for side in [true, false] {
            for v in bufs.get(*k, side) {
                pf.scan(v, &mut cand);
            }
        }
    }
    let start = out.len();
    for rid in sorted(cand) {
        let Some(r) = rules.rules.get(rid as usize) else {
            continue;
        };
        if r.det.kind != Kind::Tx {
            continue;
        }
        for &dir in tx_dirs(r) {
            // The engine calls once per direction of the transaction, with
            // a packet of that direction: evaluate that direction only (an
            // alert goes the way of the packet that raised it).
            if pkt.flow.as_ref().is_some_and(|f| f.to_server != dir) {
                continue;
            }
            if flow
                .st
                .as_ref()
                .is_some_and(|s| s.fired.contains(&(rid, tx, dir)))
            {
                continue;
            }
            if !header_ok(r, pkt, Some(dir), app.as_deref()) || !bits_ok(r, flow.st.as_deref()) {
                continue;
            }
            let mut res = Some(("", None));
            for (i, bm) in r.det.bufs.iter().enumerate() {
                let Inspect::Tx(k) = bm.inspect else {
                    res = None;
                    break;
                };
                match tx_buf(bm, bufs.get(k, side_dir(bm.side, dir))) {
                    Some(o) => {
                        let is_fast = r.det.fast.as_ref().map(|f| f.0) == Some(i);
                        if is_fast || res.is_some_and(|r| r.0.is_empty()) {
                            res = Some((bm.inspect.name(), Some(o)));
                        }
                    }
                    None => {
                        res = None;
                        break;
                    }
                }
            }
            let Some((buffer, offset)) = res else {
                continue;
            };
            state(flow).fire((rid, tx, dir));
            if fired(d, rid, pkt, Some(flow), (buffer, offset), out, start) {
                return;
            }
        }
    }
}

pub(crate) fn inspect_file(
    d: &mut Detector,
    pkt: &Packet,
    file: &FileView,
    bufs: Option<&dyn TxBuffers>,
    flow: &mut FlowRules,
    out: &mut Vec<Match>,
) {
    if flow.passed() {
        return;
    }
    let rules = d.rules.clone();
    let c = &rules.compiled;
    let app = app_of(pkt.flow.as_ref());
    let dir = file.to_server;
    let mut cand = c.file_always.clone();
    for (ins, pf) in &c.file {
        match ins {
            Inspect::FileData => pf.scan(file.data, &mut cand),
            Inspect::FileName => pf.scan(file.name.unwrap_or("").as_bytes(), &mut cand),
            Inspect::FileMagic => pf.scan(file.magic.unwrap_or("").as_bytes(), &mut cand),
            Inspect::Tx(k) => {
                if let Some(b) = bufs {
                    for side in [true, false] {
                        for v in b.get(*k, side) {
                            pf.scan(v, &mut cand);
                        }
                    }
                }
            }
            Inspect::Packet => {}
        }
    }
    let start = out.len();
    let empty: [&[u8]; 0] = [];
    for rid in sorted(cand) {
        let Some(r) = rules.rules.get(rid as usize) else {
            continue;
        };
        if r.det.kind != Kind::File {
            continue;
        }
        if r.det.to_server.is_some_and(|ts| ts != dir) {
            continue;
        }
        let key = file.tx.map(|t| (rid, t, dir));
        if let Some(k) = key {
            if flow.st.as_ref().is_some_and(|s| s.fired.contains(&k)) {
                continue;
            }
        }
        if !header_ok(r, pkt, Some(dir), app.as_deref()) || !bits_ok(r, flow.st.as_deref()) {
            continue;
        }
        let mut res: Option<(&'static str, Option<usize>)> = Some(("file.data", None));
        let mut set_first = true;
        for (i, bm) in r.det.bufs.iter().enumerate() {
            let side_ok = match bm.side {
                Side::Any => true,
                Side::Request => dir,
                Side::Response => !dir,
            };
            let name_b;
            let magic_b;
            let vals: Vec<&[u8]> = match bm.inspect {
                Inspect::FileData if side_ok => vec![file.data],
                Inspect::FileName => match file.name {
                    Some(n) => {
                        name_b = n.as_bytes();
                        vec![name_b]
                    }
                    None => Vec::new(),
                },
                Inspect::FileMagic => match file.magic {
                    Some(m) => {
                        magic_b = m.as_bytes();
                        vec![magic_b]
                    }
                    None => Vec::new(),
                },
                Inspect::Tx(k) => match bufs {
                    Some(b) => b.get(k, side_dir(bm.side, dir)).to_vec(),
                    None => empty.to_vec(),
                },
                _ => Vec::new(),
            };
            match tx_buf(bm, &vals) {
                Some(o) => {
                    let is_fast = r.det.fast.as_ref().map(|f| f.0) == Some(i);
                    if is_fast || set_first {
                        res = Some((bm.inspect.name(), Some(o)));
                        set_first = false;
                    }
                }
                None => {
                    res = None;
                    break;
                }
            }
        }
        let Some((buffer, offset)) = res else {
            continue;
        };
        // "File Keywords / filemd5, filesha256": the file's digest is (not)
        // in the list.
        let hashes_ok = r.det.files.iter().all(|t| match t {
            FileTest::Hash {
                sha256,
                negated,
                set,
            } => {
                let h = if *sha256 { file.sha256 } else { file.md5 };
                match h {
                    Some(h) => set.contains(&h.to_ascii_lowercase()) != *negated,
                    None => false,
                }
            }
        });
        if !hashes_ok {
            continue;
        }
        if let Some(k) = key {
            state(flow).fire(k);
        }
        if fired(d, rid, pkt, Some(flow), (buffer, offset), out, start) {
            return;
        }
    }
}

#[cfg(test)]
mod prefilter_tests {
    use super::*;

    use netsift_testkit::XorShift as Rng;

    fn candidates(pf: &Prefilter, hay: &[u8]) -> Vec<u32> {
        let mut v = Vec::new();
        pf.scan(hay, &mut v);
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Scanning only the new bytes and the junction, with the tail's
    /// occurrences remembered, names the same rules as scanning the whole
    /// window (tail + new) each time, for streams cut at random points.
    #[test]
    fn stream_scan_equals_whole_window_scan() {
        let pats: Vec<(Vec<u8>, u32)> = ["abc", "bcd", "cabca", "dd", "abcdabcd", "zz", "a"]
            .iter()
            .enumerate()
            .map(|(i, p)| (p.as_bytes().to_vec(), i as u32))
            .collect();
        let pf = Prefilter::build(&pats);
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..300 {
            let len = 1 + rng.below(400);
            let stream: Vec<u8> = (0..len).map(|_| b"abcdz"[rng.below(5)]).collect();
            let keep = 1 + rng.below(40);
            let mut hits = TailHits::default();
            let mut tail: Vec<u8> = Vec::new();
            let mut seen = 0u64;
            let mut at = 0;
            while at < stream.len() {
                let n = (1 + rng.below(30)).min(stream.len() - at);
                let new = &stream[at..at + n];
                let mut got = Vec::new();
                pf.scan_stream(&tail, new, seen, keep, &mut hits, &mut got);
                got.sort_unstable();
                got.dedup();
                let window = [tail.as_slice(), new].concat();
                assert_eq!(got, candidates(&pf, &window), "window {window:?}");
                let from = window.len().saturating_sub(keep);
                tail = window[from..].to_vec();
                seen += n as u64;
                at += n;
            }
        }
    }

    /// A lost tail (too many occurrences) falls back to a whole-window
    /// scan and recovers.
    #[test]
    fn lost_tail_hits_rescan_the_window() {
        let pf = Prefilter::build(&[(b"ab".to_vec(), 0), (b"q".to_vec(), 1)]);
        let mut hits = TailHits {
            v: Vec::new(),
            lost: true,
        };
        let mut got = Vec::new();
        pf.scan_stream(b"xxab", b"yy", 4, 2048, &mut hits, &mut got);
        assert_eq!(got, vec![0]);
        assert!(!hits.lost && hits.v == vec![(2, 0)]);
    }

    #[test]
    fn packet_groups_follow_transport_and_direction() {
        let text = "alert tcp any any -> any any (content:\"aa\"; flow:to_server; sid:1;)\n\
                    alert udp any any -> any any (content:\"bb\"; sid:2;)\n\
                    alert ip any any -> any any (content:\"cc\"; sid:3;)\n";
        let (rs, _) = crate::RuleSet::parse_str(text, "t.rules", None, &crate::Vars::default());
        let rule = |sid: u32| rs.rules.iter().find(|r| r.sid == sid).unwrap();
        let fi = |to_server| FlowInfo {
            to_server,
            established: true,
            app_proto: None,
        };
        let tcp_ts = pkt_group(6, Some(&fi(true)));
        let tcp_tc = pkt_group(6, Some(&fi(false)));
        let udp = pkt_group(17, Some(&fi(true)));
        let icmp = pkt_group(1, None);
        assert!(in_pkt_group(rule(1), tcp_ts) && !in_pkt_group(rule(1), tcp_tc));
        assert!(!in_pkt_group(rule(1), udp) && !in_pkt_group(rule(1), icmp));
        assert!(in_pkt_group(rule(2), udp) && !in_pkt_group(rule(2), tcp_ts));
        for g in [tcp_ts, tcp_tc, udp, icmp] {
            assert!(in_pkt_group(rule(3), g));
        }
    }
}
