//! Alerts, their log line, and aggregation.
//!
//! An [`Alert`] is one detection. It serializes (serde) as one JSON object:
//!
//! ```json
//! {"ts":1600000000.123456,"type":"signature","rule":"evil\\x00","severity":"high",
//!  "uid":"C1a2b3","src_ip":"10.0.0.1","src_port":40000,"dst_ip":"10.0.0.2","dst_port":80,
//!  "evidence":{"bytes":"evil\\x00","direction":"to_server","offset":1234}}
//! ```
//!
//! and displays as one readable log line (see [`Alert`]'s `Display`).
//!
//! # Aggregation
//!
//! Both modes are lossless: every underlying match is counted exactly once,
//! so summing [`Alert::count`] over the output equals the number of alerts
//! put in.
//!
//! * Live mode, [`Aggregator`] (peekapp's `--alert-timeout`): the first
//!   alert of a kind — same type, rule and source IP — is emitted at once
//!   and opens a window of `alert_timeout` (packet time). Repeats inside the
//!   window are folded; when packet time passes the window's end (or at
//!   [`Aggregator::finish`]) one summary alert is emitted with their count,
//!   first and last ts and distinct sources/destinations. The next repeat
//!   after that is again emitted at once and opens a new window.
//! * Pcap mode, [`summarize`] / [`Summarizer`]: a stateless group-by over the
//!   whole capture, per rule and per (rule, source).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::fmt;
use std::net::IpAddr;

use serde::{Serialize, Serializer};

use crate::signature::Direction;

/// What kind of detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertType {
    /// An endpoint is in the IP blacklist.
    IpBlacklist,
    /// A DNS query/CNAME, SNI or HTTP Host is in the domain blacklist.
    DomainBlacklist,
    /// An HTTP URI contains a blacklisted substring.
    UrlBlacklist,
    /// A payload signature matched.
    Signature,
    /// Port scan.
    PortScan,
    /// Brute force.
    BruteForce,
    /// Anything else worth an alert.
    Anomaly,
    /// A Suricata rule (`--suricata-rules`) matched; [`Alert::rule_hit`]
    /// names it.
    Rule,
    /// A flood (SYN, UDP or ICMP) against one target.
    Dos,
    /// A carved file matched a YARA rule (`--yara`) or a hash list
    /// (`--hash-blacklist`); the evidence names the file and what matched.
    File,
}

impl AlertType {
    /// The serialized name (`ip-blacklist`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            AlertType::IpBlacklist => "ip-blacklist",
            AlertType::DomainBlacklist => "domain-blacklist",
            AlertType::UrlBlacklist => "url-blacklist",
            AlertType::Signature => "signature",
            AlertType::PortScan => "port-scan",
            AlertType::BruteForce => "brute-force",
            AlertType::Anomaly => "anomaly",
            AlertType::Rule => "rule",
            AlertType::Dos => "dos",
            AlertType::File => "file",
        }
    }

    /// Default severity for this type.
    pub fn default_severity(self) -> Severity {
        match self {
            AlertType::Signature | AlertType::BruteForce => Severity::High,
            AlertType::IpBlacklist | AlertType::DomainBlacklist | AlertType::UrlBlacklist => {
                Severity::Medium
            }
            AlertType::PortScan => Severity::Medium,
            AlertType::Anomaly => Severity::Low,
            AlertType::Rule => Severity::Medium,
            AlertType::Dos => Severity::High,
            AlertType::File => Severity::High,
        }
    }
}

impl fmt::Display for AlertType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Severity, ordered `Info < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational.
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        })
    }
}

/// The flow's endpoints (originator = src).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Endpoints {
    /// Source (originator) address.
    pub src_ip: IpAddr,
    /// Source port, if the protocol has ports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    /// Destination address.
    pub dst_ip: IpAddr,
    /// Destination port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_port: Option<u16>,
}

/// What matched. Only the fields that apply are set (and serialized).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Evidence {
    /// Matched bytes as escaped text (signature syntax, see
    /// [`crate::signature::escape_bytes`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<String>,
    /// Stream direction of a signature match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// Absolute stream (or payload) offset of the match's first byte.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// The blacklisted endpoint address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// The domain as seen (query, CNAME, SNI, Host).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Where the domain was seen (`dns.query`, `dns.cname`, `tls.sni`,
    /// `quic.sni`, `http.host`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The HTTP URI as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// For URL matches: true if found only after percent-decoding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoded: Option<bool>,
    /// Detector-specific fields (scan: ports, hosts; brute force: failures).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Evidence {
    /// A signature match.
    pub fn signature(matched: &[u8], direction: Option<Direction>, offset: u64) -> Self {
        Evidence {
            bytes: Some(crate::signature::escape_bytes(matched)),
            direction,
            offset: Some(offset),
            ..Default::default()
        }
    }

    /// A blacklisted address.
    pub fn ip(ip: IpAddr) -> Self {
        Evidence {
            ip: Some(ip),
            ..Default::default()
        }
    }

    /// A blacklisted domain, seen in `source` (e.g. `"dns.query"`).
    pub fn domain(domain: &str, source: &str) -> Self {
        Evidence {
            domain: Some(domain.to_string()),
            source: Some(source.to_string()),
            ..Default::default()
        }
    }

    /// A blacklisted URI substring.
    pub fn uri(uri: &str, decoded: bool) -> Self {
        Evidence {
            uri: Some(uri.to_string()),
            decoded: Some(decoded),
            ..Default::default()
        }
    }
}

/// Most distinct addresses a summary lists.
pub const DISTINCT_LIST: usize = 16;
/// Most distinct addresses a summary counts exactly; beyond, `count` is a
/// lower bound and `truncated` is set.
pub const DISTINCT_CAP: usize = 4096;

/// A bounded set of distinct addresses: exact count up to [`DISTINCT_CAP`],
/// the first [`DISTINCT_LIST`] listed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Distinct {
    /// Number of distinct addresses (a lower bound when `truncated`).
    pub count: u64,
    /// The first few, in order of appearance.
    pub list: Vec<IpAddr>,
    /// More than [`DISTINCT_CAP`] were seen.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    #[serde(skip)]
    set: HashSet<IpAddr>,
}

impl Distinct {
    /// Adds one address.
    pub fn add(&mut self, ip: IpAddr) {
        if self.set.contains(&ip) {
            return;
        }
        if self.set.len() >= DISTINCT_CAP {
            self.truncated = true;
            return;
        }
        self.set.insert(ip);
        self.count += 1;
        if self.list.len() < DISTINCT_LIST {
            self.list.push(ip);
        }
    }

    fn merge(&mut self, other: &Distinct) {
        for ip in other.set.iter().copied().chain(other.list.iter().copied()) {
            self.add(ip);
        }
        self.truncated |= other.truncated;
    }
}

/// The folded part of a summary alert.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Number of underlying matches this alert stands for.
    pub count: u64,
    /// Earliest folded ts (ns; serialized as seconds).
    #[serde(serialize_with = "ser_ts")]
    pub first_ts: u64,
    /// Latest folded ts.
    #[serde(serialize_with = "ser_ts")]
    pub last_ts: u64,
    /// Distinct source addresses.
    pub sources: Distinct,
    /// Distinct destination addresses.
    pub destinations: Distinct,
}

/// One alert (or, with `summary`, a folded group of them).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// Packet time, ns since the epoch (serialized as seconds, µs precision).
    #[serde(serialize_with = "ser_ts")]
    pub ts: u64,
    /// The kind of detection (serialized as `type`).
    #[serde(rename = "type")]
    pub kind: AlertType,
    /// The matched rule: blacklist entry, signature text, scan/brute rule name.
    pub rule: String,
    /// Severity.
    pub severity: Severity,
    /// Flow uid, when the alert is about one flow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Endpoints (flattened to src_ip, src_port, dst_ip, dst_port).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Endpoints>,
    /// What matched.
    pub evidence: Evidence,
    /// Set on summary alerts: what was folded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    /// Set on `rule` alerts: the Suricata rule and where it matched
    /// (flattened: `sid`, `gid`, `rev`, `msg`, ...).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub rule_hit: Option<Box<RuleHit>>,
}

/// The Suricata rule behind a `rule` alert, and where it matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleHit {
    /// Signature id.
    pub sid: u32,
    /// Generator id (1 for text rules).
    pub gid: u32,
    /// Revision.
    pub rev: u32,
    /// The rule's `msg`.
    pub msg: String,
    /// The rule's action as written (`alert`, `drop`, `reject`, `pass`);
    /// netsift is an IDS, so drop and reject alert and block nothing.
    pub action: &'static str,
    /// `classtype`, when the rule has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classtype: Option<String>,
    /// The classtype's description (Suricata's `category`), or empty.
    #[serde(skip)]
    pub category: String,
    /// `priority` (the classtype's when the rule sets none; 3 without
    /// either), 1 the most severe: Suricata's `severity`.
    pub priority: u8,
    /// The buffer whose match decided (`pkt_data`, `http.uri`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buffer: Option<&'static str>,
    /// Offset of the deciding match in that buffer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buffer_offset: Option<usize>,
    /// The application transaction the alert is about (per flow, from 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_id: Option<u64>,
    /// Context for outputs that describe the packet and the flow at the
    /// moment of the alert (EVE: `pcap_cnt`, `proto`, `app_proto`, the flow
    /// counters, the transaction's metadata). Not written to alerts.jsonl.
    #[serde(skip)]
    pub context: serde_json::Map<String, serde_json::Value>,
}

fn ser_ts<S: Serializer>(ts: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((ts.saturating_add(500) / 1000) as f64 / 1e6)
}

impl Alert {
    /// A new alert with the type's default severity and empty evidence.
    pub fn new(ts: u64, kind: AlertType, rule: impl Into<String>) -> Self {
        Alert {
            ts,
            kind,
            rule: rule.into(),
            severity: kind.default_severity(),
            uid: None,
            endpoints: None,
            evidence: Evidence::default(),
            summary: None,
            rule_hit: None,
        }
    }

    /// Sets the flow uid.
    pub fn with_uid(mut self, uid: impl Into<String>) -> Self {
        self.uid = Some(uid.into());
        self
    }

    /// Sets the endpoints.
    pub fn with_endpoints(
        mut self,
        src_ip: IpAddr,
        src_port: Option<u16>,
        dst_ip: IpAddr,
        dst_port: Option<u16>,
    ) -> Self {
        self.endpoints = Some(Endpoints {
            src_ip,
            src_port,
            dst_ip,
            dst_port,
        });
        self
    }

    /// Sets the evidence.
    pub fn with_evidence(mut self, evidence: Evidence) -> Self {
        self.evidence = evidence;
        self
    }

    /// Sets the severity.
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Number of underlying matches: 1, or the summary's count.
    pub fn count(&self) -> u64 {
        self.summary.as_ref().map_or(1, |s| s.count)
    }

    /// Source address (the aggregation key's "source").
    pub fn src(&self) -> Option<IpAddr> {
        self.endpoints.map(|e| e.src_ip)
    }

    /// Destination address.
    pub fn dst(&self) -> Option<IpAddr> {
        self.endpoints.map(|e| e.dst_ip)
    }

    fn key(&self) -> Key {
        (self.kind, self.rule.clone(), self.src())
    }
}

type Key = (AlertType, String, Option<IpAddr>);

/// RFC 3339 UTC with microseconds (same format as the EVE log).
pub fn rfc3339(ts_ns: u64) -> String {
    let secs = ts_ns / 1_000_000_000;
    let micros = (ts_ns % 1_000_000_000) / 1000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

fn fmt_endpoint(f: &mut fmt::Formatter<'_>, ip: IpAddr, port: Option<u16>) -> fmt::Result {
    match (ip, port) {
        (IpAddr::V6(a), Some(p)) => write!(f, "[{a}]:{p}"),
        (a, Some(p)) => write!(f, "{a}:{p}"),
        (a, None) => write!(f, "{a}"),
    }
}

/// One line: `ts [severity] type "rule" src -> dst uid=.. evidence.. (summary)`.
impl fmt::Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} [{}] {} {:?}",
            rfc3339(self.ts),
            self.severity,
            self.kind,
            self.rule
        )?;
        if let Some(e) = &self.endpoints {
            f.write_str(" ")?;
            fmt_endpoint(f, e.src_ip, e.src_port)?;
            f.write_str(" -> ")?;
            fmt_endpoint(f, e.dst_ip, e.dst_port)?;
        }
        if let Some(u) = &self.uid {
            write!(f, " uid={u}")?;
        }
        let ev = &self.evidence;
        if let Some(ip) = ev.ip {
            write!(f, " ip={ip}")?;
        }
        if let Some(d) = &ev.domain {
            write!(f, " domain={d:?}")?;
        }
        if let Some(s) = &ev.source {
            write!(f, " in={s}")?;
        }
        if let Some(u) = &ev.uri {
            write!(f, " uri={u:?}")?;
        }
        if ev.decoded == Some(true) {
            f.write_str(" (percent-decoded)")?;
        }
        if let Some(d) = ev.direction {
            write!(f, " {d}")?;
        }
        if let Some(o) = ev.offset {
            write!(f, " offset={o}")?;
        }
        if let Some(b) = &ev.bytes {
            write!(f, " bytes=\"{b}\"")?;
        }
        for (k, v) in &ev.extra {
            write!(f, " {k}={v}")?;
        }
        if let Some(s) = &self.summary {
            write!(
                f,
                " (summary: {} matches {} .. {}, {}{} source(s), {}{} destination(s))",
                s.count,
                rfc3339(s.first_ts),
                rfc3339(s.last_ts),
                s.sources.count,
                if s.sources.truncated { "+" } else { "" },
                s.destinations.count,
                if s.destinations.truncated { "+" } else { "" },
            )?;
        }
        Ok(())
    }
}

fn start_summary(a: &Alert) -> Alert {
    let mut s = a.clone();
    let mut sum = Summary {
        count: 0,
        first_ts: a.ts,
        last_ts: a.ts,
        ..Default::default()
    };
    fold_into(&mut sum, a);
    s.summary = Some(sum);
    s
}

/// Adds `a` (itself possibly a summary) to `sum`.
fn fold_into(sum: &mut Summary, a: &Alert) {
    match &a.summary {
        Some(s) => {
            sum.count += s.count;
            sum.first_ts = sum.first_ts.min(s.first_ts);
            sum.last_ts = sum.last_ts.max(s.last_ts);
            sum.sources.merge(&s.sources);
            sum.destinations.merge(&s.destinations);
        }
        None => {
            sum.count += 1;
            sum.first_ts = sum.first_ts.min(a.ts);
            sum.last_ts = sum.last_ts.max(a.ts);
            if let Some(ip) = a.src() {
                sum.sources.add(ip);
            }
            if let Some(ip) = a.dst() {
                sum.destinations.add(ip);
            }
        }
    }
}

struct Window {
    deadline: u64,
    folded: Option<Alert>,
}

/// Live-mode aggregation (see the module docs). Time is packet time, from
/// the alerts' `ts` and [`advance`](Self::advance).
pub struct Aggregator {
    timeout_ns: u64,
    windows: HashMap<Key, Window>,
    expiry: BinaryHeap<Reverse<(u64, Key)>>,
    pushed: u64,
}

impl Aggregator {
    /// `timeout_ns` is `alert_timeout` in ns; 0 disables folding (every
    /// alert is emitted as is).
    pub fn new(timeout_ns: u64) -> Self {
        Aggregator {
            timeout_ns,
            windows: HashMap::new(),
            expiry: BinaryHeap::new(),
            pushed: 0,
        }
    }

    /// Takes one alert; appends to `out` what is due now: summaries of
    /// windows that ended by `alert.ts`, then the alert itself if it is the
    /// first of its kind in a window.
    pub fn push(&mut self, alert: Alert, out: &mut Vec<Alert>) {
        self.pushed += alert.count();
        self.advance(alert.ts, out);
        if self.timeout_ns == 0 {
            out.push(alert);
            return;
        }
        let key = alert.key();
        match self.windows.get_mut(&key) {
            Some(w) => match &mut w.folded {
                Some(s) => {
                    fold_into(s.summary.as_mut().expect("summary"), &alert);
                    s.severity = s.severity.max(alert.severity);
                }
                None => w.folded = Some(start_summary(&alert)),
            },
            None => {
                let deadline = alert.ts.saturating_add(self.timeout_ns);
                self.expiry.push(Reverse((deadline, key.clone())));
                self.windows.insert(
                    key,
                    Window {
                        deadline,
                        folded: None,
                    },
                );
                out.push(alert);
            }
        }
    }

    /// Packet time is now `now_ns`: windows ending at or before it close,
    /// and their summaries (if anything was folded) are appended to `out`
    /// in order of window end. Call it as packets arrive even when there
    /// are no alerts.
    pub fn advance(&mut self, now_ns: u64, out: &mut Vec<Alert>) {
        while let Some(Reverse((deadline, _))) = self.expiry.peek() {
            if *deadline > now_ns {
                break;
            }
            let Reverse((_, key)) = self.expiry.pop().expect("peeked");
            self.close(&key, out);
        }
    }

    /// End of input: closes every window.
    pub fn finish(&mut self, out: &mut Vec<Alert>) {
        self.advance(u64::MAX, out);
    }

    fn close(&mut self, key: &Key, out: &mut Vec<Alert>) {
        if let Some(w) = self.windows.remove(key) {
            debug_assert!(w.deadline > 0 || self.timeout_ns > 0);
            if let Some(mut s) = w.folded {
                if let Some(sum) = &s.summary {
                    s.ts = sum.last_ts;
                }
                out.push(s);
            }
        }
    }

    /// Open windows (for memory accounting).
    pub fn open_windows(&self) -> usize {
        self.windows.len()
    }

    /// Underlying matches taken so far (sum of [`Alert::count`] pushed).
    pub fn pushed(&self) -> u64 {
        self.pushed
    }
}

/// One group of the pcap-mode summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupSummary {
    /// Alert type.
    #[serde(rename = "type")]
    pub kind: AlertType,
    /// Rule.
    pub rule: String,
    /// The source, for per-(rule, source) groups; absent for per-rule groups.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<IpAddr>,
    /// Highest severity seen.
    pub severity: Severity,
    /// Matches, first/last ts, distinct sources and destinations.
    #[serde(flatten)]
    pub summary: Summary,
}

/// The pcap-mode summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PcapSummary {
    /// One group per (type, rule), most matches first.
    pub by_rule: Vec<GroupSummary>,
    /// One group per (type, rule, source), most matches first.
    pub by_rule_source: Vec<GroupSummary>,
    /// Matches whose group could not be made because [`MAX_GROUPS`] groups
    /// existed (per list: by rule, by rule and source). The counts of the
    /// groups plus these add up to every match.
    pub ungrouped_by_rule: u64,
    pub ungrouped_by_rule_source: u64,
}

/// Groups kept per list of the summary; a long live run with ever new
/// sources or rules (scan rules name their target) cannot grow it further.
pub const MAX_GROUPS: usize = 100_000;

/// Streaming group-by for pcap mode: [`add`](Self::add) every alert, then
/// [`finish`](Self::finish). Memory is per group, not per alert.
#[derive(Debug, Default)]
pub struct Summarizer {
    by_rule: HashMap<(AlertType, String), GroupSummary>,
    by_rule_source: HashMap<Key, GroupSummary>,
    ungrouped_by_rule: u64,
    ungrouped_by_rule_source: u64,
}

impl Summarizer {
    /// An empty summarizer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one alert (a summary alert counts for its `count`).
    pub fn add(&mut self, a: &Alert) {
        fold_group(
            &mut self.by_rule,
            (a.kind, a.rule.clone()),
            None,
            &mut self.ungrouped_by_rule,
            a,
        );
        fold_group(
            &mut self.by_rule_source,
            a.key(),
            a.src(),
            &mut self.ungrouped_by_rule_source,
            a,
        );
    }

    /// The groups, most matches first (ties by type, rule, source).
    pub fn finish(self) -> PcapSummary {
        fn sorted<K>(m: HashMap<K, GroupSummary>) -> Vec<GroupSummary> {
            let mut v: Vec<GroupSummary> = m.into_values().collect();
            v.sort_by(|a, b| {
                b.summary
                    .count
                    .cmp(&a.summary.count)
                    .then(a.kind.cmp(&b.kind))
                    .then(a.rule.cmp(&b.rule))
                    .then(a.source.cmp(&b.source))
            });
            v
        }
        PcapSummary {
            by_rule: sorted(self.by_rule),
            by_rule_source: sorted(self.by_rule_source),
            ungrouped_by_rule: self.ungrouped_by_rule,
            ungrouped_by_rule_source: self.ungrouped_by_rule_source,
        }
    }
}

/// Folds `a` into its group of `map` (made on first use, with `source`),
/// or counts it in `ungrouped` when [`MAX_GROUPS`] other groups exist.
fn fold_group<K: Eq + std::hash::Hash>(
    map: &mut HashMap<K, GroupSummary>,
    key: K,
    source: Option<IpAddr>,
    ungrouped: &mut u64,
    a: &Alert,
) {
    if map.len() >= MAX_GROUPS && !map.contains_key(&key) {
        *ungrouped += a.count();
        return;
    }
    let g = map.entry(key).or_insert_with(|| {
        let ts = a.summary.as_ref().map_or(a.ts, |s| s.first_ts);
        GroupSummary {
            kind: a.kind,
            rule: a.rule.clone(),
            source,
            severity: a.severity,
            summary: Summary {
                first_ts: ts,
                last_ts: ts,
                ..Default::default()
            },
        }
    });
    fold_into(&mut g.summary, a);
    g.severity = g.severity.max(a.severity);
}

/// Pcap-mode summary of a whole capture's alerts.
pub fn summarize<'a>(alerts: impl IntoIterator<Item = &'a Alert>) -> PcapSummary {
    let mut s = Summarizer::new();
    for a in alerts {
        s.add(a);
    }
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn sig(ts: u64, rule: &str, src: &str, dst: &str) -> Alert {
        Alert::new(ts, AlertType::Signature, rule)
            .with_uid("C1")
            .with_endpoints(ip(src), Some(1234), ip(dst), Some(80))
            .with_evidence(Evidence::signature(
                b"evil\x00'",
                Some(Direction::ToServer),
                42,
            ))
    }

    #[test]
    fn json_shape() {
        let a = sig(
            1_600_000_000_123_456_789,
            "evil\\x00\\'",
            "10.0.0.1",
            "10.0.0.2",
        );
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(v["type"], "signature");
        assert_eq!(v["severity"], "high");
        assert_eq!(v["ts"], 1_600_000_000.123457);
        assert_eq!(v["src_ip"], "10.0.0.1");
        assert_eq!(v["dst_port"], 80);
        assert_eq!(v["uid"], "C1");
        assert_eq!(v["evidence"]["bytes"], "evil\\x00\\'");
        assert_eq!(v["evidence"]["offset"], 42);
        assert_eq!(v["evidence"]["direction"], "to_server");
        assert!(v["evidence"].get("domain").is_none());
        assert!(v.get("summary").is_none());
        for (t, s) in [
            (AlertType::IpBlacklist, "ip-blacklist"),
            (AlertType::DomainBlacklist, "domain-blacklist"),
            (AlertType::UrlBlacklist, "url-blacklist"),
            (AlertType::PortScan, "port-scan"),
            (AlertType::BruteForce, "brute-force"),
            (AlertType::Anomaly, "anomaly"),
            (AlertType::File, "file"),
        ] {
            assert_eq!(serde_json::to_value(t).unwrap(), s);
            assert_eq!(t.to_string(), s);
        }
    }

    #[test]
    fn display_line() {
        let a = sig(1_600_000_000_123_456_789, "evil", "10.0.0.1", "2001:db8::2");
        let line = a.to_string();
        assert_eq!(
            line,
            "2020-09-13T12:26:40.123456Z [high] signature \"evil\" 10.0.0.1:1234 -> [2001:db8::2]:80 uid=C1 to_server offset=42 bytes=\"evil\\x00\\'\""
        );
        assert!(!line.contains('\n'));
        let d = Alert::new(0, AlertType::DomainBlacklist, "example.com")
            .with_evidence(Evidence::domain("WWW.example.com", "dns.query"));
        assert_eq!(
            d.to_string(),
            "1970-01-01T00:00:00.000000Z [medium] domain-blacklist \"example.com\" domain=\"WWW.example.com\" in=dns.query"
        );
    }

    #[test]
    fn live_first_immediate_repeats_folded() {
        let mut ag = Aggregator::new(60 * S);
        let mut out = Vec::new();
        ag.push(sig(0, "r", "10.0.0.1", "10.0.0.2"), &mut out);
        assert_eq!(out.len(), 1, "first is emitted at once");
        for i in 1..=5 {
            ag.push(
                sig(i * S, "r", "10.0.0.1", &format!("10.0.0.{}", i + 2)),
                &mut out,
            );
        }
        // Another source is another kind.
        ag.push(sig(2 * S, "r", "10.0.0.9", "10.0.0.2"), &mut out);
        assert_eq!(out.len(), 2);
        ag.advance(59 * S, &mut out);
        assert_eq!(out.len(), 2);
        ag.advance(60 * S, &mut out);
        assert_eq!(out.len(), 3);
        let s = out[2].summary.as_ref().unwrap();
        assert_eq!((s.count, s.first_ts, s.last_ts), (5, S, 5 * S));
        assert_eq!(s.sources.list, vec![ip("10.0.0.1")]);
        assert_eq!(s.destinations.count, 5);
        assert_eq!(out[2].ts, 5 * S);
        assert!(out[2].to_string().contains("(summary: 5 matches"));
        // After the window, the next repeat is immediate again.
        ag.push(sig(61 * S, "r", "10.0.0.1", "10.0.0.2"), &mut out);
        assert_eq!(out.len(), 4);
        assert!(out[3].summary.is_none());
        ag.finish(&mut out);
        // 10.0.0.9's window had nothing folded: no summary.
        assert_eq!(out.len(), 4);
        assert_eq!(out.iter().map(Alert::count).sum::<u64>(), 8);
    }

    #[test]
    fn zero_timeout_passes_through() {
        let mut ag = Aggregator::new(0);
        let mut out = Vec::new();
        for i in 0..10 {
            ag.push(sig(i, "r", "10.0.0.1", "10.0.0.2"), &mut out);
        }
        ag.finish(&mut out);
        assert_eq!(out.len(), 10);
        assert!(out.iter().all(|a| a.summary.is_none()));
    }

    /// Deterministic pseudo-random stream of alerts; counts must add up in
    /// both modes, and pcap groups must agree with live output.
    #[test]
    fn counts_add_up() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let kinds = [
            AlertType::Signature,
            AlertType::IpBlacklist,
            AlertType::UrlBlacklist,
        ];
        let mut alerts = Vec::new();
        let mut ts = 0u64;
        for _ in 0..20_000 {
            ts += next() % (3 * S);
            let kind = kinds[(next() % 3) as usize];
            let rule = format!("rule{}", next() % 7);
            let src = format!("10.0.{}.{}", next() % 3, next() % 5);
            let dst = format!("192.0.2.{}", next() % 200);
            alerts.push(Alert::new(ts, kind, rule).with_endpoints(
                ip(&src),
                None,
                ip(&dst),
                Some(80),
            ));
        }
        let n = alerts.len() as u64;
        for timeout in [0, S, 30 * S, 600 * S, u64::MAX / 4] {
            let mut ag = Aggregator::new(timeout);
            let mut out = Vec::new();
            for a in &alerts {
                ag.push(a.clone(), &mut out);
            }
            ag.finish(&mut out);
            assert_eq!(ag.open_windows(), 0);
            assert_eq!(ag.pushed(), n);
            assert_eq!(
                out.iter().map(Alert::count).sum::<u64>(),
                n,
                "timeout {timeout}"
            );
            if timeout == u64::MAX / 4 {
                // One window per kind: at most one first + one summary each.
                assert!(out.len() <= 2 * 3 * 7 * 15, "{}", out.len());
            }
            if timeout == 0 {
                assert_eq!(out.len(), alerts.len());
            }
            // Summarizing the live output gives the same groups as the raw alerts.
            let from_live = summarize(&out);
            let from_raw = summarize(&alerts);
            let counts = |p: &PcapSummary| {
                p.by_rule_source
                    .iter()
                    .map(|g| {
                        (
                            g.kind,
                            g.rule.clone(),
                            g.source,
                            g.summary.count,
                            g.summary.first_ts,
                            g.summary.last_ts,
                        )
                    })
                    .collect::<Vec<_>>()
            };
            assert_eq!(counts(&from_live), counts(&from_raw));
        }
        let p = summarize(&alerts);
        assert_eq!(p.by_rule.iter().map(|g| g.summary.count).sum::<u64>(), n);
        assert_eq!(
            p.by_rule_source
                .iter()
                .map(|g| g.summary.count)
                .sum::<u64>(),
            n
        );
        assert_eq!(p.by_rule.len(), 3 * 7);
        assert!(p
            .by_rule
            .windows(2)
            .all(|w| w[0].summary.count >= w[1].summary.count));
        // Per rule: up to 15 distinct sources, 200 destinations.
        assert!(p.by_rule.iter().all(|g| g.summary.sources.count <= 15));
        for g in &p.by_rule {
            let per_src: u64 = p
                .by_rule_source
                .iter()
                .filter(|s| s.kind == g.kind && s.rule == g.rule)
                .map(|s| s.summary.count)
                .sum();
            assert_eq!(per_src, g.summary.count);
        }
        let v = serde_json::to_value(&p).unwrap();
        assert!(v["by_rule"][0]["count"].as_u64().unwrap() > 0);
        assert!(v["by_rule_source"][0]["source"].is_string());
    }

    #[test]
    fn distinct_is_bounded() {
        let mut d = Distinct::default();
        for i in 0..(DISTINCT_CAP as u32 + 100) {
            d.add(IpAddr::from(std::net::Ipv4Addr::from(i)));
            d.add(IpAddr::from(std::net::Ipv4Addr::from(i)));
        }
        assert_eq!(d.count, DISTINCT_CAP as u64);
        assert!(d.truncated);
        assert_eq!(d.list.len(), DISTINCT_LIST);
    }
}
