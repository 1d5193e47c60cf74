//! Port-scan detection over flow summaries.
//!
//! The engine feeds one [`ConnSummary`] per flow when the flow ends (flows
//! may end out of time order by up to the flow timeouts). Each flow is
//! first typed as a scan *probe* or as ordinary traffic by
//! [`classify_probe`]; probes then feed two detection methods:
//!
//! * **Fixed thresholds** (Zeek's `policy/misc/scan.zeek` defaults): a
//!   *vertical* scan is one source probing `port_scan_threshold` (15)
//!   distinct ports of one host, a *horizontal* scan one source probing
//!   `addr_scan_threshold` (25) distinct hosts on one port, within
//!   `interval` (5 minutes) of packet time. Windows use each flow's *start*
//!   time, so a late flow end still lands in the right window: any window of
//!   length `interval` that holds the threshold counts.
//! * **Threshold Random Walk** (Jung, Paxson, Berger, Balakrishnan,
//!   "Fast Portscan Detection Using Sequential Hypothesis Testing", 2004):
//!   per source, the likelihood ratio of the outcomes of its *first
//!   contacts* to new destination hosts (success = the target accepted,
//!   failure = rejected or unanswered). See [`TrwParams`].
//!
//! One finding is raised per scanner and target set (vertical: source, host
//! and transport; horizontal: source, port and transport; TRW: source) when
//! the method fires; later probes only update that finding, whose final
//! summary [`ScanDetector::finish`] returns.
//!
//! # Probe types
//!
//! | type | flow shape |
//! |---|---|
//! | SYN (half-open) | SYN, SYN-ACK, then no ACK from the originator (`Sh`, `ShR`), or SYN then RST with no reply (`SR`, RSTOS0) |
//! | connect | handshake completed, then closed (FIN or RST) by the originator without sending data (`ShAR`, `ShAFf`) |
//! | FIN / NULL / XMAS / ACK | no SYN; first packet FIN / no flags / FIN+PSH+URG / ACK only; no data; the target answers with at most a RST |
//! | UDP | a UDP flow without any answer, or an answered *empty* datagram |
//!
//! Flows rejected or unanswered after a SYN (`Sr` REJ, `S` S0) look the
//! same in SYN and connect scans; they count as probes of either and the
//! scan's other probes decide (see [`ScanType`] resolution in
//! [`ScanFinding::scan_type`]).
//!
//! When `first_tcp_flags` is unknown the stealth types come from history
//! letters: originator letters empty → NULL, only `F` → FIN, only `A` →
//! ACK. XMAS (FIN+PSH+URG) then reads as FIN: the history has no letter for
//! PSH or URG.
//!
//! ICMP flows are not probes (ping sweeps are not covered), and ICMP
//! port-unreachables are not needed: the UDP flow they answer already has
//! no UDP response. Multicast, broadcast and unspecified destinations are
//! ignored.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::net::IpAddr;

use serde::Serialize;

use crate::SeededMap;

mod lone;
use lone::{Lone4, Lone6, LoneTable, LoneTable6};

/// TCP flag bits (the low byte of the TCP flags field).
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
}

const NS_PER_SEC: u64 = 1_000_000_000;

/// One ended flow, as the scan detector needs it (field meanings follow
/// Zeek's conn.log).
#[derive(Debug, Clone, Copy)]
pub struct ConnSummary<'a> {
    /// First packet, nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    pub duration_ns: u64,
    /// IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...).
    pub proto: u8,
    /// Originator.
    pub src: IpAddr,
    /// Responder.
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    /// Zeek's conn_state (S0, SF, REJ, RSTO, RSTOS0, RSTRH, OTH, ...).
    pub conn_state: &'a str,
    /// Zeek's history letters.
    pub history: &'a str,
    /// Flags of the flow's first TCP packet, when known.
    pub first_tcp_flags: Option<u8>,
    pub orig_pkts: u64,
    pub resp_pkts: u64,
    pub orig_payload_bytes: u64,
    pub resp_payload_bytes: u64,
}

/// What one flow looks like as a scan probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeKind {
    /// A SYN rejected (REJ) or unanswered (S0), or SYN then the
    /// originator's RST with no SYN-ACK seen (RSTOS0): SYN or connect scan.
    SynAttempt,
    /// Half-open: SYN-ACK received, never acknowledged (SYN scan).
    HalfOpen,
    /// Handshake completed, closed by the originator without data.
    Connect,
    Fin,
    Null,
    Xmas,
    Ack,
    Udp,
}

/// The type of a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanType {
    Syn,
    Connect,
    Fin,
    Null,
    Xmas,
    Ack,
    Udp,
}

impl ScanType {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanType::Syn => "syn",
            ScanType::Connect => "connect",
            ScanType::Fin => "fin",
            ScanType::Null => "null",
            ScanType::Xmas => "xmas",
            ScanType::Ack => "ack",
            ScanType::Udp => "udp",
        }
    }
}

/// Letters of a history string: (originator, responder) as bit sets over
/// 'a'..='z' (upper case for the originator).
fn letters(history: &str) -> (u32, u32) {
    let (mut o, mut r) = (0u32, 0u32);
    for b in history.bytes() {
        match b {
            b'A'..=b'Z' => o |= 1 << (b - b'A'),
            b'a'..=b'z' => r |= 1 << (b - b'a'),
            _ => {}
        }
    }
    (o, r)
}

fn bit(c: u8) -> u32 {
    1 << (c.to_ascii_lowercase() - b'a')
}

/// Whether the responder sent nothing but (at most) a RST and no payload.
fn resp_silent_or_rst(c: &ConnSummary, resp: u32) -> bool {
    c.resp_payload_bytes == 0 && resp & !bit(b'r') == 0 && c.resp_pkts <= 2
}

/// The probe type of a flow, or `None` for ordinary traffic.
pub fn classify_probe(c: &ConnSummary) -> Option<ProbeKind> {
    match c.proto {
        6 => classify_tcp(c),
        17 => {
            if c.orig_pkts == 0 {
                None
            } else if c.resp_pkts == 0 || c.orig_payload_bytes == 0 {
                Some(ProbeKind::Udp)
            } else {
                None
            }
        }
        _ => None,
    }
}

fn classify_tcp(c: &ConnSummary) -> Option<ProbeKind> {
    use tcp_flags::*;
    if c.history.contains('^') || c.orig_pkts == 0 || c.orig_payload_bytes > 0 {
        return None;
    }
    let (orig, resp) = letters(c.history);
    let syn_seen = match c.first_tcp_flags {
        Some(f) if f & SYN != 0 => {
            if f & ACK != 0 {
                return None; // a SYN-ACK first: a responder, not a prober
            }
            true
        }
        Some(_) => false,
        None => orig & bit(b'S') != 0,
    };
    if syn_seen {
        return classify_syn(c, orig, resp);
    }
    if orig & bit(b'S') != 0 || !resp_silent_or_rst(c, resp) || c.orig_pkts > 3 {
        return None;
    }
    match c.first_tcp_flags {
        Some(f) => match f & 0x3f {
            0 => Some(ProbeKind::Null),
            FIN => Some(ProbeKind::Fin),
            x if x == FIN | PSH | URG => Some(ProbeKind::Xmas),
            ACK => Some(ProbeKind::Ack),
            _ => None,
        },
        None => {
            // Without the first flags: only the letters (T/W/I/Q ignored).
            let o = orig & !(bit(b't') | bit(b'w'));
            if o == 0 {
                Some(ProbeKind::Null)
            } else if o == bit(b'f') {
                Some(ProbeKind::Fin)
            } else if o == bit(b'a') {
                Some(ProbeKind::Ack)
            } else {
                None
            }
        }
    }
}

fn classify_syn(c: &ConnSummary, orig: u32, resp: u32) -> Option<ProbeKind> {
    let syn_ack = resp & bit(b'h') != 0;
    if syn_ack {
        if orig & bit(b'a') != 0 {
            // Completed: a connect probe if the originator closed at once.
            if orig & (bit(b'f') | bit(b'r')) != 0 {
                Some(ProbeKind::Connect)
            } else {
                None
            }
        } else if resp & bit(b'd') == 0 {
            Some(ProbeKind::HalfOpen)
        } else {
            None
        }
    } else if resp & !bit(b'r') == 0 && c.resp_payload_bytes == 0 {
        Some(ProbeKind::SynAttempt)
    } else {
        None
    }
}

/// The outcome of a first contact, for TRW: `Some(true)` success (the
/// target accepted: SYN-ACK, or for flows without SYN an answer other than
/// a RST; for UDP any answer), `Some(false)` failure (rejected or
/// unanswered), `None` not counted (ICMP and other transports).
pub fn contact_outcome(c: &ConnSummary) -> Option<bool> {
    match c.proto {
        6 => {
            let (orig, resp) = letters(c.history);
            if c.history.contains('^') {
                return Some(true); // the "originator" answered a SYN
            }
            let syn = c
                .first_tcp_flags
                .map_or(orig & bit(b'S') != 0, |f| f & tcp_flags::SYN != 0);
            if syn {
                Some(resp & bit(b'h') != 0)
            } else {
                Some(c.resp_payload_bytes > 0 || resp & !bit(b'r') != 0)
            }
        }
        17 => Some(c.resp_pkts > 0),
        _ => None,
    }
}

fn ignored_destination(a: &IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => v.is_multicast() || v.is_broadcast() || v.is_unspecified(),
        IpAddr::V6(v) => v.is_multicast() || v.is_unspecified(),
    }
}

/// Threshold Random Walk parameters (Jung et al. 2004).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrwParams {
    /// P(success | benign).
    pub theta0: f64,
    /// P(success | scanner).
    pub theta1: f64,
    /// Target false-positive probability.
    pub alpha: f64,
    /// Target detection probability.
    pub beta: f64,
}

impl Default for TrwParams {
    fn default() -> Self {
        TrwParams {
            theta0: 0.8,
            theta1: 0.2,
            alpha: 0.01,
            beta: 0.99,
        }
    }
}

impl TrwParams {
    /// Upper threshold: scanner when the likelihood ratio reaches it.
    pub fn eta1(&self) -> f64 {
        self.beta / self.alpha
    }
    /// Lower threshold: benign when the ratio falls to it.
    pub fn eta0(&self) -> f64 {
        (1.0 - self.beta) / (1.0 - self.alpha)
    }
    /// Ratio factor of a successful first contact: theta1 / theta0.
    pub fn success_factor(&self) -> f64 {
        self.theta1 / self.theta0
    }
    /// Ratio factor of a failed first contact: (1-theta1) / (1-theta0).
    pub fn failure_factor(&self) -> f64 {
        (1.0 - self.theta1) / (1.0 - self.theta0)
    }
}

/// Which detection methods run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanMethod {
    /// Fixed thresholds per window (Zeek's method, the default).
    Threshold,
    /// Threshold Random Walk.
    Trw,
    /// Both; each raises its own findings.
    Both,
}

/// Scan detector settings.
#[derive(Debug, Clone)]
pub struct ScanConfig {
    pub method: ScanMethod,
    /// Distinct ports of one host (Zeek: 15).
    pub port_scan_threshold: usize,
    /// Distinct hosts on one port (Zeek: 25).
    pub addr_scan_threshold: usize,
    /// Window length in nanoseconds of packet time (Zeek: 5 minutes).
    pub interval_ns: u64,
    /// How late (behind the newest flow start seen) a flow may still arrive
    /// and count; state older than interval + this is dropped.
    pub reorder_slack_ns: u64,
    pub trw: TrwParams,
    /// Entries in a finding's port/host sample.
    pub sample_size: usize,
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig {
            method: ScanMethod::Threshold,
            port_scan_threshold: 15,
            addr_scan_threshold: 25,
            interval_ns: 300 * NS_PER_SEC,
            reorder_slack_ns: 600 * NS_PER_SEC,
            trw: TrwParams::default(),
            sample_size: 20,
        }
    }
}

/// Vertical (many ports, one host) or horizontal (many hosts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanKind {
    Vertical,
    Horizontal,
}

/// Which method raised a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingMethod {
    Threshold,
    Trw,
}

/// One detected scan: raised once when the method fires, then updated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanFinding {
    pub scanner: IpAddr,
    pub kind: ScanKind,
    pub method: FindingMethod,
    /// IP protocol of the probes.
    pub proto: u8,
    /// The scanned host (vertical scans).
    pub target_host: Option<IpAddr>,
    /// The scanned port (horizontal threshold scans).
    pub target_port: Option<u16>,
    /// The majority probe type.
    pub scan_type: ScanType,
    /// Probe flows per type.
    pub type_counts: BTreeMap<ScanType, u64>,
    /// Probe flows seen.
    pub probes: u64,
    /// Distinct ports (vertical) or hosts (horizontal) probed.
    pub count: usize,
    /// The first `sample_size` ports probed, ascending (vertical; for TRW the
    /// ports seen across hosts).
    pub sample_ports: Vec<u16>,
    /// The first `sample_size` hosts probed, ascending (horizontal).
    pub sample_hosts: Vec<IpAddr>,
    /// Start of the first probe, ns.
    pub first_ts_ns: u64,
    /// Start of the last probe, ns.
    pub last_ts_ns: u64,
    pub duration_ns: u64,
}

/// Probe-type votes of one target set. Kept inline (no allocation for the
/// first few source ports): a flood from a million sources makes a million
/// target sets of one probe each.
#[derive(Debug, Default, Clone)]
struct Votes {
    /// Probes per [`ProbeKind`] (by declaration position).
    kinds: [u64; PROBE_KINDS],
    /// Source ports of neutral SYN attempts (bounded).
    syn_sports: SmallSet,
}

const PROBE_KINDS: usize = 8;
const MAX_SPORTS: usize = 64;

/// A set of u16 that holds its first [`SMALL`] values inline.
#[derive(Debug, Clone)]
enum SmallSet {
    Few(u8, [u16; SMALL]),
    Many(BTreeSet<u16>),
}

const SMALL: usize = 4;

impl Default for SmallSet {
    fn default() -> Self {
        SmallSet::Few(0, [0; SMALL])
    }
}

impl SmallSet {
    fn len(&self) -> usize {
        match self {
            SmallSet::Few(n, _) => usize::from(*n),
            SmallSet::Many(s) => s.len(),
        }
    }

    fn insert(&mut self, v: u16) {
        match self {
            SmallSet::Few(n, a) => {
                let n_us = usize::from(*n);
                if a[..n_us].contains(&v) {
                    return;
                }
                if n_us < SMALL {
                    a[n_us] = v;
                    *n += 1;
                } else {
                    let mut s: BTreeSet<u16> = a.iter().copied().collect();
                    s.insert(v);
                    *self = SmallSet::Many(s);
                }
            }
            SmallSet::Many(s) => {
                s.insert(v);
            }
        }
    }
}

impl Votes {
    fn add(&mut self, k: ProbeKind, sport: u16) {
        self.kinds[k as usize] += 1;
        if k == ProbeKind::SynAttempt && self.syn_sports.len() < MAX_SPORTS {
            self.syn_sports.insert(sport);
        }
    }

    fn total(&self) -> u64 {
        self.kinds.iter().sum()
    }

    /// Per-type counts: neutral SYN attempts join the SYN or connect side.
    /// The side with more decisive probes (half-open vs connect) wins; with
    /// none, raw-packet scanners show by reusing source ports (nmap -sS
    /// sends every probe from one port) while connect() takes a new
    /// ephemeral port per attempt.
    fn type_counts(&self) -> BTreeMap<ScanType, u64> {
        let g = |k: ProbeKind| self.kinds[k as usize];
        let (half, conn, neutral) = (
            g(ProbeKind::HalfOpen),
            g(ProbeKind::Connect),
            g(ProbeKind::SynAttempt),
        );
        let neutral_side = if half > conn {
            ScanType::Syn
        } else if conn > half {
            ScanType::Connect
        } else if (self.syn_sports.len() as u64) * 2 <= neutral || neutral < 4 {
            ScanType::Syn
        } else {
            ScanType::Connect
        };
        let mut m = BTreeMap::new();
        let mut add = |t, n: u64| {
            if n > 0 {
                *m.entry(t).or_insert(0) += n;
            }
        };
        add(ScanType::Syn, half);
        add(ScanType::Connect, conn);
        add(neutral_side, neutral);
        add(ScanType::Fin, g(ProbeKind::Fin));
        add(ScanType::Null, g(ProbeKind::Null));
        add(ScanType::Xmas, g(ProbeKind::Xmas));
        add(ScanType::Ack, g(ProbeKind::Ack));
        add(ScanType::Udp, g(ProbeKind::Udp));
        m
    }
}

fn majority(counts: &BTreeMap<ScanType, u64>) -> ScanType {
    // Ties go to the first type in declaration order.
    let mut best = (ScanType::Syn, 0);
    for (&t, &n) in counts {
        if n > best.1 {
            best = (t, n);
        }
    }
    best.0
}

/// Largest number of entries within any window of length `interval`
/// (inclusive) among `ts` (sorted in place).
fn max_in_window(ts: &mut [u64], interval: u64) -> usize {
    ts.sort_unstable();
    let (mut best, mut lo) = (0, 0);
    for hi in 0..ts.len() {
        while ts[hi] - ts[lo] > interval {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    best
}

/// Members (ports or hosts) of a target set with their earliest probe
/// start: the first inline, a sorted map from the second on.
#[derive(Debug)]
enum Members<M: Ord + Copy> {
    One(M, u64),
    Many(BTreeMap<M, u64>),
}

impl<M: Ord + Copy> Members<M> {
    fn len(&self) -> usize {
        match self {
            Members::One(..) => 1,
            Members::Many(m) => m.len(),
        }
    }

    fn get_mut(&mut self, k: &M) -> Option<&mut u64> {
        match self {
            Members::One(m, t) => (m == k).then_some(t),
            Members::Many(m) => m.get_mut(k),
        }
    }

    fn insert(&mut self, k: M, ts: u64) {
        match self {
            Members::One(m, t) => {
                let mut map = BTreeMap::new();
                map.insert(*m, *t);
                map.insert(k, ts);
                *self = Members::Many(map);
            }
            Members::Many(m) if m.is_empty() => *self = Members::One(k, ts),
            Members::Many(m) => {
                m.insert(k, ts);
            }
        }
    }

    fn times(&self) -> Vec<u64> {
        match self {
            Members::One(_, t) => vec![*t],
            Members::Many(m) => m.values().copied().collect(),
        }
    }

    /// The first `n` members, ascending.
    fn sample(&self, n: usize) -> Vec<M> {
        match self {
            Members::One(m, _) => vec![*m].into_iter().take(n).collect(),
            Members::Many(m) => m.keys().take(n).copied().collect(),
        }
    }

    fn retain_since(&mut self, horizon: u64) {
        match self {
            Members::One(_, t) if *t < horizon => *self = Members::Many(BTreeMap::new()),
            Members::One(..) => {}
            Members::Many(m) => m.retain(|_, t| *t >= horizon),
        }
    }
}

/// Threshold state of one target set: member (port or host) → earliest
/// probe start.
#[derive(Debug)]
struct TargetSet<M: Ord + Copy> {
    members: Members<M>,
    votes: Votes,
    first_ts: u64,
    last_ts: u64,
    /// Index into `findings` once raised.
    finding: Option<u32>,
}

impl<M: Ord + Copy> TargetSet<M> {
    fn new(ts: u64) -> Self {
        TargetSet {
            members: Members::Many(BTreeMap::new()),
            votes: Votes::default(),
            first_ts: ts,
            last_ts: ts,
            finding: None,
        }
    }

    /// Neither raised nor probed since `horizon`: the set counts as gone
    /// (whether or not the expiry queue has dropped it yet).
    fn stale(&self, horizon: u64) -> bool {
        self.finding.is_none() && self.last_ts < horizon
    }

    /// Record a probe; returns true when the set now crosses `threshold`
    /// within one window (checked only before a finding exists).
    fn add(&mut self, m: M, ts: u64, kind: ProbeKind, sport: u16, cfg: (usize, u64)) -> bool {
        let (threshold, interval) = cfg;
        self.votes.add(kind, sport);
        self.first_ts = self.first_ts.min(ts);
        self.last_ts = self.last_ts.max(ts);
        if let Some(e) = self.members.get_mut(&m) {
            *e = (*e).min(ts);
        } else if self.members.len() < MAX_MEMBERS {
            self.members.insert(m, ts);
        }
        if self.finding.is_some() || self.members.len() < threshold {
            return false;
        }
        let (lo, hi) = (ts.saturating_sub(interval), ts.saturating_add(interval));
        let mut near = self.members.times();
        near.retain(|&t| t >= lo && t <= hi);
        near.len() >= threshold && max_in_window(&mut near, interval) >= threshold
    }

    /// Drop members older than `horizon` (before a finding only).
    fn prune(&mut self, horizon: u64) {
        if self.finding.is_none() {
            self.members.retain_since(horizon);
        }
    }
}

#[derive(Debug, Default)]
struct TrwState {
    /// log of the likelihood ratio.
    log_ratio: f64,
    contacted: HashSet<IpAddr>,
    scanner: bool,
    /// Once a scanner: hosts and ports probed, votes, times.
    hosts: BTreeSet<IpAddr>,
    ports: BTreeSet<u16>,
    votes: Votes,
    first_ts: u64,
    last_ts: u64,
    finding: Option<usize>,
}

type VKey = (IpAddr, IpAddr, u8);
type HKey = (IpAddr, u16, u8);

/// The only probe so far of a source that has no target set: most sources of
/// a flood or of background noise send one probe, and a probe kept here costs
/// one small map entry instead of two target sets. The source's next probe
/// first replays this one into the target sets, so the results are the
/// same.
#[derive(Debug, Clone, Copy)]
struct Lone {
    dst: IpAddr,
    ts: u64,
    dst_port: u16,
    src_port: u16,
    proto: u8,
    kind: ProbeKind,
}

impl Lone4 {
    /// A probe from `src` to `dst` between IPv4 hosts.
    fn pack(p: &Lone, src: std::net::Ipv4Addr, dst: std::net::Ipv4Addr) -> Lone4 {
        Lone4 {
            ts: p.ts,
            src: u32::from(src),
            dst: u32::from(dst),
            dst_port: p.dst_port,
            src_port: p.src_port,
            proto: p.proto,
            kind: p.kind,
        }
    }

    fn unpack(self) -> Lone {
        Lone {
            dst: IpAddr::V4(self.dst.into()),
            ts: self.ts,
            dst_port: self.dst_port,
            src_port: self.src_port,
            proto: self.proto,
            kind: self.kind,
        }
    }
}

impl Lone6 {
    /// A probe from `src` to `dst` between IPv6 hosts.
    fn pack(p: &Lone, src: std::net::Ipv6Addr, dst: std::net::Ipv6Addr) -> Lone6 {
        Lone6 {
            ts: p.ts,
            src: src.octets(),
            dst: dst.octets(),
            dst_port: p.dst_port,
            src_port: p.src_port,
            proto: p.proto,
            kind: p.kind,
        }
    }

    fn unpack(self) -> Lone {
        Lone {
            dst: IpAddr::V6(self.dst.into()),
            ts: self.ts,
            dst_port: self.dst_port,
            src_port: self.src_port,
            proto: self.proto,
            kind: self.kind,
        }
    }
}

/// Lone probes by source, with their expiry queues. A flow's two addresses
/// are of one family (its key is made of them), so a probe is between IPv4
/// hosts or between IPv6 hosts; one that is not (no flow makes it) is not
/// kept as a lone probe.
#[derive(Debug, Default)]
struct LoneMap {
    v4: LoneTable,
    v6: LoneTable6,
    q4: ExpiryQueue<u32>,
    q6: ExpiryQueue<[u8; 16]>,
}

impl LoneMap {
    fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    fn take(&mut self, src: IpAddr) -> Option<Lone> {
        match src {
            IpAddr::V4(a) => self.v4.remove(u32::from(a)).map(Lone4::unpack),
            IpAddr::V6(a) => self.v6.remove(&a.octets()).map(Lone6::unpack),
        }
    }

    /// Make `p` the source's lone probe, and give the one it replaces: one
    /// lookup where a take and then an insert made two (a flood from a
    /// million sources does this once per flow, on a map too big for the
    /// caches). The probe expires only once [`LoneMap::queue`] is called:
    /// a probe that goes on to a target set is taken back out instead.
    fn swap(&mut self, src: IpAddr, p: Lone) -> Option<Lone> {
        match (src, p.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                self.v4.insert(Lone4::pack(&p, s, d)).map(Lone4::unpack)
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                self.v6.insert(Lone6::pack(&p, s, d)).map(Lone6::unpack)
            }
            _ => None,
        }
    }

    /// Queue the source's lone probe `p` (made by [`LoneMap::swap`]) for
    /// expiry.
    fn queue(&mut self, src: IpAddr, p: &Lone) {
        match (src, p.dst) {
            (IpAddr::V4(s), IpAddr::V4(_)) => self.q4.push(p.ts, u32::from(s)),
            (IpAddr::V6(s), IpAddr::V6(_)) => self.q6.push(p.ts, s.octets()),
            _ => {}
        }
    }

    fn expire(&mut self, horizon: u64) {
        let m = &mut self.v4;
        self.q4.expire(horizon, |k| {
            let p = m.get(k)?;
            if p.ts < horizon {
                m.remove(k);
                return None;
            }
            Some(p.ts)
        });
        let m = &mut self.v6;
        self.q6.expire(horizon, |k| {
            let p = m.get(&k)?;
            if p.ts < horizon {
                m.remove(&k);
                return None;
            }
            Some(p.ts)
        });
    }

    /// Ask for the slot of `src`'s lone probe (see
    /// [`ScanDetector::observe_deferred`]).
    fn prefetch(&self, src: IpAddr) {
        match src {
            IpAddr::V4(a) => self.v4.prefetch(u32::from(a)),
            IpAddr::V6(a) => self.v6.prefetch(&a.octets()),
        }
    }

    fn memory_bytes(&self) -> usize {
        use std::mem::size_of;
        self.v4.memory_bytes()
            + self.v6.memory_bytes()
            + self.q4.0.capacity() * size_of::<(u64, u32)>()
            + self.q6.0.capacity() * size_of::<(u64, [u8; 16])>()
    }
}

/// Keys in the order they were queued with a time, for expiry: each sweep
/// pops only the entries older than the horizon, so its cost is what
/// expires, not the size of the map (flows end out of start order by up to
/// the flow timeouts, so an entry may wait behind a newer one that long).
#[derive(Debug)]
struct ExpiryQueue<K>(VecDeque<(u64, K)>);

impl<K> Default for ExpiryQueue<K> {
    fn default() -> Self {
        ExpiryQueue(VecDeque::new())
    }
}

impl<K: Copy> ExpiryQueue<K> {
    fn push(&mut self, ts: u64, k: K) {
        self.0.push_back((ts, k));
    }

    /// Pops the entries queued before `horizon`; `keep(k)` looks the key up
    /// and returns `Some(t)` to queue it again at `t` (still live), `None`
    /// when it was dropped or is gone.
    fn expire(&mut self, horizon: u64, mut keep: impl FnMut(K) -> Option<u64>) {
        while let Some(&(t, k)) = self.0.front() {
            if t >= horizon {
                break;
            }
            self.0.pop_front();
            if let Some(t) = keep(k) {
                self.0.push_back((t, k));
            }
        }
    }
}

/// The scan detector. Feed every ended flow to [`ScanDetector::observe`].
#[derive(Debug)]
pub struct ScanDetector {
    cfg: ScanConfig,
    vertical: SeededMap<VKey, TargetSet<u16>>,
    horizontal: SeededMap<HKey, TargetSet<IpAddr>>,
    /// Sources with one probe and no target set yet.
    lone: LoneMap,
    vertical_q: ExpiryQueue<VKey>,
    horizontal_q: ExpiryQueue<HKey>,
    trw: HashMap<IpAddr, TrwState>,
    findings: Vec<ScanFinding>,
    /// Newest flow start seen.
    watermark: u64,
    /// Probes not tracked because [`MAX_TRACKED`] sets were live.
    untracked: u64,
    /// Flows fed by [`ScanDetector::observe_deferred`], not yet run.
    deferred: VecDeque<Ended>,
}

/// Flows [`ScanDetector::observe_deferred`] holds: enough work between a
/// prefetch and its use to hide a miss (a flow's end costs a microsecond or
/// more elsewhere), few enough to stay in the cache themselves.
pub const DEFER: usize = 8;

/// What the detector keeps of an ended flow: [`ConnSummary`] without its
/// borrowed strings, its probe kind and contact outcome worked out.
#[derive(Debug, Clone, Copy)]
struct Ended {
    ts_ns: u64,
    duration_ns: u64,
    proto: u8,
    src: IpAddr,
    dst: IpAddr,
    src_port: u16,
    dst_port: u16,
    kind: Option<ProbeKind>,
    /// [`contact_outcome`], when TRW runs.
    outcome: Option<bool>,
}

impl Ended {
    fn of(c: &ConnSummary, trw: bool) -> Ended {
        Ended {
            ts_ns: c.ts_ns,
            duration_ns: c.duration_ns,
            proto: c.proto,
            src: c.src,
            dst: c.dst,
            src_port: c.src_port,
            dst_port: c.dst_port,
            kind: classify_probe(c),
            outcome: if trw { contact_outcome(c) } else { None },
        }
    }
}

/// Target sets tracked per kind (vertical, horizontal) and TRW sources at
/// once. Beyond it, stale sets are swept at once; if none is stale, probes of
/// new target sets are not tracked (counted in [`ScanDetector::untracked`]).
pub const MAX_TRACKED: usize = 1_000_000;

/// Members (ports or hosts) kept per target set, and first contacts per TRW
/// source. A set's `count` saturates there.
pub const MAX_MEMBERS: usize = 65_536;

impl ScanDetector {
    pub fn new(cfg: ScanConfig) -> Self {
        ScanDetector {
            cfg,
            vertical: SeededMap::default(),
            horizontal: SeededMap::default(),
            lone: LoneMap::default(),
            vertical_q: ExpiryQueue(VecDeque::new()),
            horizontal_q: ExpiryQueue(VecDeque::new()),
            trw: HashMap::new(),
            findings: Vec::new(),
            watermark: 0,
            untracked: 0,
            deferred: VecDeque::with_capacity(DEFER + 1),
        }
    }

    /// Probes that were not tracked because the state was full (of the
    /// flows run so far: see [`ScanDetector::observe_deferred`]).
    pub fn untracked(&self) -> u64 {
        self.untracked
    }

    /// Estimated bytes held: map and queue slots by their capacity, plus
    /// the member maps of sets with more than one member (an estimate of
    /// B-tree nodes: 16 bytes per member and a node per 11).
    pub fn memory_bytes(&self) -> usize {
        use std::mem::size_of;
        fn map<K, V, S>(m: &HashMap<K, V, S>) -> usize {
            m.capacity() * (size_of::<(K, V)>() + 1)
        }
        fn q<K>(q: &ExpiryQueue<K>) -> usize {
            q.0.capacity() * size_of::<(u64, K)>()
        }
        let members = |n: usize, m: usize| {
            if n > 1 {
                n * m + n.div_ceil(11) * 64
            } else {
                0
            }
        };
        map(&self.vertical)
            + map(&self.horizontal)
            + self.lone.memory_bytes()
            + map(&self.trw)
            + q(&self.vertical_q)
            + q(&self.horizontal_q)
            + self
                .vertical
                .values()
                .map(|s| members(s.members.len(), 16))
                .sum::<usize>()
            + self
                .horizontal
                .values()
                .map(|s| members(s.members.len(), 32))
                .sum::<usize>()
    }

    /// Makes room for a new TRW source: drops sources that are neither
    /// raised nor recent; false when the map is still full.
    fn room_trw(&mut self, horizon: u64) -> bool {
        if self.trw.len() >= MAX_TRACKED {
            self.trw
                .retain(|_, st| st.finding.is_some() || st.last_ts >= horizon);
        }
        self.trw.len() < MAX_TRACKED
    }

    /// Drops the target sets and lone probes that are neither raised nor
    /// recent, popping the expiry queues (cost: what expires).
    fn expire(&mut self, horizon: u64) {
        let v = &mut self.vertical;
        self.vertical_q.expire(horizon, |k| {
            let s = v.get(&k)?;
            if s.finding.is_some() {
                return None; // raised sets stay for the final summary
            }
            if s.last_ts < horizon {
                v.remove(&k);
                return None;
            }
            Some(s.last_ts)
        });
        let h = &mut self.horizontal;
        self.horizontal_q.expire(horizon, |k| {
            let s = h.get(&k)?;
            if s.finding.is_some() {
                return None;
            }
            if s.last_ts < horizon {
                h.remove(&k);
                return None;
            }
            Some(s.last_ts)
        });
        self.lone.expire(horizon);
    }

    /// Flows starting before this can no longer count: the window plus the
    /// reordering slack behind the newest start seen.
    fn horizon(&self) -> u64 {
        self.watermark
            .saturating_sub(self.cfg.interval_ns + self.cfg.reorder_slack_ns)
    }

    pub fn config(&self) -> &ScanConfig {
        &self.cfg
    }

    /// Feed one ended flow. Returns the findings raised by it (at most one
    /// per method and target set, ever); later probes of a raised target set
    /// update the finding that [`ScanDetector::finish`] returns.
    pub fn observe(&mut self, c: &ConnSummary) -> Vec<ScanFinding> {
        // Flows deferred before run first, in order (their findings are
        // returned too).
        let mut out = self.run_deferred();
        let e = self.ended(c);
        out.extend(self.run(&e));
        out
    }

    /// Run every deferred flow, in order; what they raise.
    fn run_deferred(&mut self) -> Vec<ScanFinding> {
        let mut out = Vec::new();
        while let Some(e) = self.deferred.pop_front() {
            out.extend(self.run(&e));
        }
        out
    }

    /// What the detector keeps of `c`; its contact outcome only when TRW
    /// runs (nothing else reads it).
    fn ended(&self, c: &ConnSummary) -> Ended {
        let trw = matches!(self.cfg.method, ScanMethod::Trw | ScanMethod::Both);
        Ended::of(c, trw)
    }

    /// Feed one ended flow as [`ScanDetector::observe`] does, but run it
    /// only [`DEFER`] flows later (or at [`ScanDetector::finish`]), in the
    /// same order: the findings are the same. Meanwhile the slot of its
    /// source's lone probe is fetched into the cache: under a flood from
    /// new sources every flow looks its source up in a table far larger
    /// than the caches, and a miss per flow was most of the detector's
    /// time. For captures, whose findings are reported at the end; live,
    /// where each one is raised at once, use [`ScanDetector::observe`].
    pub fn observe_deferred(&mut self, c: &ConnSummary) {
        let e = self.ended(c);
        if e.kind.is_some() {
            self.lone.prefetch(e.src);
        }
        self.deferred.push_back(e);
        if self.deferred.len() > DEFER {
            if let Some(e) = self.deferred.pop_front() {
                self.run(&e);
            }
        }
    }

    fn run(&mut self, c: &Ended) -> Vec<ScanFinding> {
        let mut out = Vec::new();
        if ignored_destination(&c.dst) {
            return out;
        }
        let ts = c.ts_ns;
        // A flow that *ended* long before the newest start seen cannot be
        // late by reordering (flows are reported within an idle timeout of
        // their end): time went backwards, as when several captures are
        // analysed in one run and a later one is older. Start the clock
        // again from it instead of ignoring the rest of the run.
        let end = ts.saturating_add(c.duration_ns);
        if end.saturating_add(self.cfg.interval_ns + self.cfg.reorder_slack_ns) < self.watermark {
            self.watermark = ts;
        }
        self.watermark = self.watermark.max(ts);
        let kind = c.kind;
        let threshold = matches!(self.cfg.method, ScanMethod::Threshold | ScanMethod::Both);
        let trw = matches!(self.cfg.method, ScanMethod::Trw | ScanMethod::Both);
        if trw {
            self.observe_trw(c, kind, &mut out);
        }
        let Some(kind) = kind else {
            return out;
        };
        let horizon = self.horizon();
        if ts < horizon {
            return out; // too late to matter
        }
        if !threshold {
            return out;
        }
        self.expire(horizon);
        let probe = Lone {
            dst: c.dst,
            ts,
            dst_port: c.dst_port,
            src_port: c.src_port,
            proto: c.proto,
            kind,
        };
        // This probe becomes the source's lone probe at once (one lookup
        // for the common case, a source's first probe); the earlier one, if
        // still in the window, goes to the target sets first, in its order.
        let earlier = self.lone.swap(c.src, probe);
        if let Some(p) = earlier {
            if p.ts >= horizon {
                self.add_probe(c.src, p, horizon, &mut out);
            }
        }
        let (vk, hk) = ((c.src, c.dst, c.proto), (c.src, c.dst_port, c.proto));
        // A probe whose two target sets are both new cannot cross a
        // threshold above one: it waits as the source's lone probe.
        if !self.vertical.contains_key(&vk)
            && !self.horizontal.contains_key(&hk)
            && self.cfg.port_scan_threshold > 1
            && self.cfg.addr_scan_threshold > 1
        {
            // A new source beyond the bound is not tracked.
            if earlier.is_none() && self.lone.len() > MAX_TRACKED {
                self.lone.take(c.src);
                self.untracked += 1;
            } else {
                self.lone.queue(c.src, &probe);
            }
            return out;
        }
        self.lone.take(c.src);
        self.add_probe(c.src, probe, horizon, &mut out);
        out
    }

    /// One probe into its vertical and horizontal target sets.
    fn add_probe(&mut self, src: IpAddr, p: Lone, horizon: u64, out: &mut Vec<ScanFinding>) {
        let (vk, hk) = ((src, p.dst, p.proto), (src, p.dst_port, p.proto));
        if (!self.vertical.contains_key(&vk) && self.vertical.len() >= MAX_TRACKED)
            || (!self.horizontal.contains_key(&hk) && self.horizontal.len() >= MAX_TRACKED)
        {
            self.untracked += 1;
            return;
        }
        let interval = self.cfg.interval_ns;
        let ts = p.ts;
        let set = match self.vertical.entry(vk) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                self.vertical_q.push(ts, vk);
                e.insert(TargetSet::new(ts))
            }
        };
        if set.stale(horizon) {
            // Expired but not yet popped from the queue: start afresh, as if
            // it had been dropped.
            *set = TargetSet::new(ts);
        }
        set.prune(horizon);
        let crossed = set.add(
            p.dst_port,
            ts,
            p.kind,
            p.src_port,
            (self.cfg.port_scan_threshold, interval),
        );
        if crossed {
            set.finding = Some(self.findings.len() as u32);
            let f = self.summary_vertical(vk);
            self.findings.push(f.clone());
            out.push(f);
        }
        let set = match self.horizontal.entry(hk) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                self.horizontal_q.push(ts, hk);
                e.insert(TargetSet::new(ts))
            }
        };
        if set.stale(horizon) {
            *set = TargetSet::new(ts);
        }
        set.prune(horizon);
        let crossed = set.add(
            p.dst,
            ts,
            p.kind,
            p.src_port,
            (self.cfg.addr_scan_threshold, interval),
        );
        if crossed {
            set.finding = Some(self.findings.len() as u32);
            let f = self.summary_horizontal(hk);
            self.findings.push(f.clone());
            out.push(f);
        }
    }

    fn observe_trw(&mut self, c: &Ended, kind: Option<ProbeKind>, out: &mut Vec<ScanFinding>) {
        let Some(success) = c.outcome else {
            return;
        };
        let p = self.cfg.trw;
        if !self.trw.contains_key(&c.src) && !self.room_trw(self.horizon()) {
            self.untracked += 1;
            return;
        }
        let st = self.trw.entry(c.src).or_default();
        let first_contact = st.contacted.len() < MAX_MEMBERS && st.contacted.insert(c.dst);
        if !st.scanner && first_contact {
            st.log_ratio += if success {
                p.success_factor().ln()
            } else {
                p.failure_factor().ln()
            };
            // Record every first contact of the current walk, so the
            // finding lists the hosts that made the case.
            if let Some(k) = kind {
                st.votes.add(k, c.src_port);
            }
            if !success {
                if st.hosts.len() < MAX_MEMBERS {
                    st.hosts.insert(c.dst);
                }
                st.ports.insert(c.dst_port);
                st.first_ts = if st.hosts.len() == 1 {
                    c.ts_ns
                } else {
                    st.first_ts.min(c.ts_ns)
                };
                st.last_ts = st.last_ts.max(c.ts_ns);
            }
            if st.log_ratio >= p.eta1().ln() - 1e-12 {
                st.scanner = true;
                st.finding = Some(self.findings.len());
                let f = Self::summary_trw(&self.cfg, c.src, c.proto, st);
                self.findings.push(f.clone());
                out.push(f);
            } else if st.log_ratio <= p.eta0().ln() + 1e-12 {
                // Benign: restart the walk (a host that turns to scanning
                // later is still caught), keeping the contacted set.
                st.log_ratio = 0.0;
                st.hosts.clear();
                st.ports.clear();
                st.votes = Votes::default();
                st.last_ts = 0;
            }
        } else if let (true, Some(k)) = (st.scanner, kind) {
            st.votes.add(k, c.src_port);
            if st.hosts.len() < MAX_MEMBERS {
                st.hosts.insert(c.dst);
            }
            st.ports.insert(c.dst_port);
            st.first_ts = st.first_ts.min(c.ts_ns);
            st.last_ts = st.last_ts.max(c.ts_ns);
        }
    }

    fn summary_vertical(&self, k: VKey) -> ScanFinding {
        let s = &self.vertical[&k];
        let counts = s.votes.type_counts();
        ScanFinding {
            scanner: k.0,
            kind: ScanKind::Vertical,
            method: FindingMethod::Threshold,
            proto: k.2,
            target_host: Some(k.1),
            target_port: None,
            scan_type: majority(&counts),
            probes: s.votes.total(),
            type_counts: counts,
            count: s.members.len(),
            sample_ports: s.members.sample(self.cfg.sample_size),
            sample_hosts: vec![k.1],
            first_ts_ns: s.first_ts,
            last_ts_ns: s.last_ts,
            duration_ns: s.last_ts - s.first_ts,
        }
    }

    fn summary_horizontal(&self, k: HKey) -> ScanFinding {
        let s = &self.horizontal[&k];
        let counts = s.votes.type_counts();
        ScanFinding {
            scanner: k.0,
            kind: ScanKind::Horizontal,
            method: FindingMethod::Threshold,
            proto: k.2,
            target_host: None,
            target_port: Some(k.1),
            scan_type: majority(&counts),
            probes: s.votes.total(),
            type_counts: counts,
            count: s.members.len(),
            sample_ports: vec![k.1],
            sample_hosts: s.members.sample(self.cfg.sample_size),
            first_ts_ns: s.first_ts,
            last_ts_ns: s.last_ts,
            duration_ns: s.last_ts - s.first_ts,
        }
    }

    fn summary_trw(cfg: &ScanConfig, src: IpAddr, proto: u8, st: &TrwState) -> ScanFinding {
        let counts = st.votes.type_counts();
        ScanFinding {
            scanner: src,
            kind: ScanKind::Horizontal,
            method: FindingMethod::Trw,
            proto,
            target_host: None,
            target_port: if st.ports.len() == 1 {
                st.ports.first().copied()
            } else {
                None
            },
            scan_type: majority(&counts),
            probes: st.votes.total(),
            type_counts: counts,
            count: st.hosts.len(),
            sample_ports: st.ports.iter().take(cfg.sample_size).copied().collect(),
            sample_hosts: st.hosts.iter().take(cfg.sample_size).copied().collect(),
            first_ts_ns: st.first_ts,
            last_ts_ns: st.last_ts,
            duration_ns: st.last_ts.saturating_sub(st.first_ts),
        }
    }

    /// Final summaries of every finding raised, in the order raised.
    pub fn finish(mut self) -> Vec<ScanFinding> {
        self.run_deferred();
        let mut out = self.findings.clone();
        for (k, s) in &self.vertical {
            if let Some(i) = s.finding {
                out[i as usize] = self.summary_vertical(*k);
            }
        }
        for (k, s) in &self.horizontal {
            if let Some(i) = s.finding {
                out[i as usize] = self.summary_horizontal(*k);
            }
        }
        for (src, st) in &self.trw {
            if let Some(i) = st.finding {
                out[i] = Self::summary_trw(&self.cfg, *src, out[i].proto, st);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(history: &'static str, state: &'static str) -> ConnSummary<'static> {
        ConnSummary {
            ts_ns: 0,
            duration_ns: 0,
            proto: 6,
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            src_port: 40000,
            dst_port: 80,
            conn_state: state,
            history,
            first_tcp_flags: None,
            orig_pkts: 1,
            resp_pkts: 1,
            orig_payload_bytes: 0,
            resp_payload_bytes: 0,
        }
    }

    #[test]
    fn letters_split() {
        let (o, r) = letters("ShAFf");
        assert_eq!(o, bit(b's') | bit(b'a') | bit(b'f'));
        assert_eq!(r, bit(b'h') | bit(b'f'));
    }

    #[test]
    fn max_window() {
        let mut v = vec![0, 10, 20, 5, 100];
        assert_eq!(max_in_window(&mut v, 20), 4);
        assert_eq!(max_in_window(&mut v, 5), 2);
    }

    #[test]
    fn trw_thresholds() {
        let p = TrwParams::default();
        assert!((p.eta1() - 99.0).abs() < 1e-9);
        assert!((p.eta0() - 0.01 / 0.99).abs() < 1e-12);
        assert!((p.failure_factor() - 4.0).abs() < 1e-12);
        assert!((p.success_factor() - 0.25).abs() < 1e-12);
    }

    #[test]
    fn classify_basic() {
        assert_eq!(
            classify_probe(&conn("Sr", "REJ")),
            Some(ProbeKind::SynAttempt)
        );
        let mut web = conn("ShADadFf", "SF");
        web.orig_payload_bytes = 80;
        assert_eq!(classify_probe(&web), None);
    }

    #[test]
    fn horizontal_members_are_bounded() {
        // A /16 sweep and then some: the set keeps MAX_MEMBERS hosts, the
        // probe count keeps counting, and the state does not grow past it.
        let mut d = ScanDetector::new(ScanConfig::default());
        let mut raised = 0;
        for i in 0..(MAX_MEMBERS as u32 + 5000) {
            let mut c = conn("Sr", "REJ");
            c.ts_ns = u64::from(i) * 1000;
            c.dst = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            raised += d.observe(&c).len();
        }
        assert_eq!(raised, 1);
        let f = d.finish();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, ScanKind::Horizontal);
        assert_eq!(f[0].count, MAX_MEMBERS);
        assert_eq!(f[0].probes, MAX_MEMBERS as u64 + 5000);
    }

    #[test]
    fn flood_sources_cost_one_entry_and_expire() {
        // 20 000 sources with one SYN each (a flood): no target set is made,
        // one lone entry per source; once the window has passed, a later
        // probe's sweep drops them all (popped from the queue, no scan of
        // the whole map), and a scanner among them is still found. Over
        // IPv4 and over IPv6 (each has its own table).
        let v4 = |a: u32| IpAddr::from(std::net::Ipv4Addr::from(a));
        let v6 = |a: u32| {
            IpAddr::from(std::net::Ipv6Addr::from(
                0x2001_0db8u128 << 96 | u128::from(a),
            ))
        };
        for addr in [v4, v6] {
            flood_expires(addr);
        }
    }

    fn flood_expires(addr: fn(u32) -> IpAddr) {
        let mut d = ScanDetector::new(ScanConfig::default());
        for i in 0..20_000u32 {
            let mut c = conn("S", "S0");
            c.ts_ns = u64::from(i) * 1000;
            c.src = addr(0x0b00_0000 + i);
            c.dst = addr(0x0a00_0002);
            assert!(d.observe(&c).is_empty());
        }
        assert_eq!(d.lone.len(), 20_000);
        assert!(d.vertical.is_empty() && d.horizontal.is_empty());
        let mut raised = 0;
        for p in 0..20u16 {
            let mut c = conn("S", "S0");
            c.src = addr(0x0a00_0001);
            c.dst = addr(0x0a00_0002);
            c.ts_ns = 2000 * NS_PER_SEC + u64::from(p);
            c.dst_port = 1000 + p;
            raised += d.observe(&c).len();
        }
        assert_eq!(raised, 1);
        assert_eq!(d.lone.len(), 0);
        let f = d.finish();
        assert_eq!(f[0].kind, ScanKind::Vertical);
        assert_eq!(f[0].count, 20);
    }
    /// Deferring flows changes nothing found: a mixed stream (flood
    /// sources that send once, sources that return, vertical and
    /// horizontal scanners, IPv6, answered contacts, time going backwards)
    /// gives the same final findings through `observe`, through
    /// `observe_deferred` and through both mixed, with every method.
    #[test]
    fn deferred_flows_find_the_same() {
        for method in [ScanMethod::Threshold, ScanMethod::Trw, ScanMethod::Both] {
            let cfg = ScanConfig {
                method,
                port_scan_threshold: 5,
                addr_scan_threshold: 5,
                ..ScanConfig::default()
            };
            let (mut now, mut later) = (
                ScanDetector::new(cfg.clone()),
                ScanDetector::new(cfg.clone()),
            );
            // Both ways mixed: `observe` runs what was deferred first.
            let mut mixed = ScanDetector::new(cfg);
            let mut x: u64 = 0x2545_F491_4F6C_DD1D;
            for i in 0..200_000u64 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let (history, state) = match x % 5 {
                    0 => ("ShADadFf", "SF"),
                    1 => ("Sr", "REJ"),
                    _ => ("S", "S0"),
                };
                let mut c = conn(history, state);
                // Time mostly moves forward, sometimes by a whole window,
                // and once goes back (a second capture, older).
                c.ts_ns = if i == 150_000 {
                    0
                } else {
                    i * 20_000_000 + (x >> 40) % 1_000
                };
                let src = match (x >> 8) % 10 {
                    // a few returning sources, some of them scanners
                    0..=2 => 0x0a00_0000 + ((x >> 16) % 8) as u32,
                    // the rest send once
                    _ => 0x0b00_0000 + (i as u32),
                };
                let dst = 0x0c00_0000 + ((x >> 20) % 40) as u32;
                // A flow's addresses share a family: some flows are IPv6.
                (c.src, c.dst) = if (x >> 12) % 50 == 0 {
                    let v6 = |a: u32| IpAddr::from(std::net::Ipv6Addr::from(u128::from(a)));
                    (v6(src), v6(dst))
                } else {
                    let v4 = |a: u32| IpAddr::from(std::net::Ipv4Addr::from(a));
                    (v4(src), v4(dst))
                };
                c.dst_port = 1 + ((x >> 28) % 30) as u16;
                now.observe(&c);
                later.observe_deferred(&c);
                if i % 1000 == 999 {
                    mixed.observe(&c);
                } else {
                    mixed.observe_deferred(&c);
                }
            }
            let found = now.finish();
            assert!(found.len() > 3, "{method:?}: {} findings", found.len());
            assert_eq!(found, later.finish(), "{method:?}");
            assert_eq!(found, mixed.finish(), "{method:?}, mixed");
        }
    }

    /// `observe` runs the flows deferred before it first, and returns what
    /// they raise: a vertical scan whose probes are all deferred is
    /// reported by the next flow observed at once, of another source.
    #[test]
    fn observe_runs_deferred_flows_first() {
        let cfg = ScanConfig {
            port_scan_threshold: 5,
            ..ScanConfig::default()
        };
        let mut d = ScanDetector::new(cfg);
        for p in 0..5u16 {
            let mut c = conn("S", "S0");
            c.ts_ns = u64::from(p);
            c.dst_port = 100 + p;
            d.observe_deferred(&c);
        }
        let mut other = conn("S", "S0");
        other.src = "10.9.9.9".parse().unwrap();
        other.ts_ns = 10;
        let found = d.observe(&other);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, ScanKind::Vertical);
        assert_eq!(found[0].count, 5);
    }
}
