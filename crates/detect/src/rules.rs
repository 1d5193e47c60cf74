//! Blacklists (IP/CIDR, domain, URL substring) and the TOML rules file.
//!
//! # List files
//!
//! One entry per line; surrounding ASCII whitespace is trimmed, blank lines
//! are skipped and lines whose first non-blank character is `#` are
//! comments. Any malformed entry rejects the whole file with a
//! [`RuleError`] naming the file, the 1-based line and the reason.
//!
//! * IP blacklist: an IPv4 or IPv6 address (a host rule, /32 or /128) or a
//!   CIDR `addr/len`. A CIDR with host bits set (`10.0.0.1/8`) is
//!   **rejected** (the reason names the network it probably meant), since it
//!   is usually a typo for a host or a different network. IPv4 rules also
//!   match IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) and vice versa:
//!   IPv4 rules are stored as `::ffff:0:0/96` sub-prefixes of one 128-bit
//!   binary trie, so lookup is one longest-prefix walk.
//! * Domain blacklist: a domain name; it matches itself and its subdomains
//!   at label boundaries (`example.com` matches `a.example.com`, not
//!   `evil-example.com`), ASCII case-insensitively, with one trailing dot
//!   ignored on both sides. Wildcards (`*.example.com`) are rejected:
//!   subdomains are implicit.
//! * URL blacklist: a substring, matched ASCII case-insensitively in the
//!   URI as sent and in the URI after one pass of percent-decoding
//!   (RFC 3986 §2.1; a malformed `%zz` is kept as is).
//! * Signatures: see [`crate::signature`].
//!
//! # TOML rules file (`--rules FILE`)
//!
//! ```toml
//! # Each list is a path (relative paths are resolved against the rules
//! # file's directory) or an inline array of entries.
//! ip_blacklist = "ips.txt"
//! domain_blacklist = ["example.com", "bad.example.org"]
//! url_blacklist = ["/etc/passwd", "../"]
//! # Inline signatures: use TOML literal strings ('...', or '''...''' when
//! # the signature holds a quote) so peekapp escapes reach the parser as
//! # written; in a basic string "..." each backslash must be doubled.
//! signatures = ['\x90\x90\x90\x90', '''abc\'def''', "GET \\x2f"]
//! alert_timeout = 300      # seconds of packet time (integer or float)
//!
//! [scan]                   # every key optional
//! window = 60.0            # seconds
//! distinct_ports = 20      # ports one source probes on one host
//! distinct_hosts = 20      # hosts one source probes on one port
//!
//! [brute_force]            # every key optional; a count of 0 disables a rule
//! window = 900.0           # seconds (volume rule, Zeek's)
//! failures = 20            # failed logins per source and service in `window`
//! rate_window = 60.0       # seconds (rate rule)
//! rate_failures = 10       # failed logins in `rate_window`
//! success_after = 5        # failures before a success: "login after failures"
//! ssh_sessions = 5         # alike short SSH sessions to one server ...
//! ssh_window = 120.0       # ... within this many seconds
//! ssh_tolerance = 0.25     # how alike (bytes, packets vs the medians)
//!
//! [dos]                    # every key optional (floods against one target)
//! window = 1.0             # seconds
//! syn_rate = 1000          # half-open TCP attempts per second
//! udp_rate = 20000         # UDP datagrams per second
//! icmp_rate = 2000         # ICMP messages per second
//! min_sources = 1          # distinct sources in a flood window
//! ```
//!
//! Unknown keys are errors (a typo must not silently disable a rule set).
//! Inline entries that are wrong are reported at their line in the rules
//! file.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

pub use crate::rule_file::{read_rule_file, RuleError};
use crate::signature::{self, SignatureSet};

/// The entries of a list file: `(1-based line, trimmed text)`, comments and
/// blank lines skipped.
fn entries(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter_map(|(n, l)| {
        let l = l.trim_matches(|c: char| c.is_ascii_whitespace());
        (!l.is_empty() && !l.starts_with('#')).then_some((n + 1, l))
    })
}

// ---------------------------------------------------------------- IP ----

/// An IP network (address with all host bits zero, and prefix length).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    /// Network address.
    pub addr: IpAddr,
    /// Prefix length (≤ 32 for IPv4, ≤ 128 for IPv6).
    pub prefix_len: u8,
}

impl IpNet {
    /// Parses `addr` or `addr/len`; host bits must be zero.
    pub fn parse(s: &str) -> Result<IpNet, String> {
        let (a, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("{a:?} is not an IPv4 or IPv6 address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix_len = match len {
            None => max,
            Some(l) => {
                if l.is_empty() || !l.bytes().all(|c| c.is_ascii_digit()) || l.len() > 3 {
                    return Err(format!("bad prefix length {l:?}"));
                }
                let n: u8 = l.parse().map_err(|_| format!("bad prefix length {l:?}"))?;
                if n > max {
                    return Err(format!("prefix length /{n} is longer than /{max}"));
                }
                n
            }
        };
        let net = IpNet { addr, prefix_len };
        let masked = net.masked();
        if masked.addr != addr {
            return Err(format!(
                "host bits set in {s} (did you mean {masked} or {addr}?)"
            ));
        }
        Ok(net)
    }

    /// The same prefix with host bits cleared.
    pub fn masked(self) -> IpNet {
        let addr = match self.addr {
            IpAddr::V4(a) => {
                let m = mask32(self.prefix_len);
                IpAddr::V4(Ipv4Addr::from(u32::from(a) & m))
            }
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask128(self.prefix_len))),
        };
        IpNet { addr, ..self }
    }

    /// Whether `ip` is inside (IPv4 and IPv4-mapped IPv6 are the same).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (k, l) = self.key();
        let x = key_of(ip);
        l == 0 || (x ^ k) & mask128(l) == 0
    }

    /// 128-bit trie key and length (IPv4 mapped into ::ffff:0:0/96).
    fn key(&self) -> (u128, u8) {
        match self.addr {
            IpAddr::V4(a) => (v4_mapped(a), self.prefix_len + 96),
            IpAddr::V6(a) => (u128::from(a), self.prefix_len),
        }
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

fn mask32(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len as u32)
    }
}

fn mask128(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - len as u32)
    }
}

fn v4_mapped(a: Ipv4Addr) -> u128 {
    0xffff_0000_0000u128 | u128::from(u32::from(a))
}

fn key_of(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => v4_mapped(a),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// One IP blacklist entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpRule {
    /// The network.
    pub net: IpNet,
    /// The entry as written (the alert's `rule`).
    pub text: String,
    /// 1-based line in its file (or rules file), 0 if built in code.
    pub line: usize,
}

const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Node {
    child: [u32; 2],
    rule: u32,
}

/// IPv4/IPv6 CIDR blacklist with longest-prefix match (binary trie over
/// 128-bit keys; lookup is at most 128 steps whatever the list size).
#[derive(Debug, Clone)]
pub struct IpBlacklist {
    rules: Vec<IpRule>,
    nodes: Vec<Node>,
}

impl Default for IpBlacklist {
    fn default() -> Self {
        IpBlacklist {
            rules: Vec::new(),
            nodes: vec![Node {
                child: [NONE; 2],
                rule: NONE,
            }],
        }
    }
}

impl IpBlacklist {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a rule. A network already present keeps its first rule
    /// (returns false).
    pub fn insert(&mut self, rule: IpRule) -> bool {
        let (key, len) = rule.net.key();
        let mut n = 0usize;
        for i in 0..len as u32 {
            let bit = ((key >> (127 - i)) & 1) as usize;
            let c = self.nodes[n].child[bit];
            n = if c == NONE {
                self.nodes.push(Node {
                    child: [NONE; 2],
                    rule: NONE,
                });
                let id = (self.nodes.len() - 1) as u32;
                self.nodes[n].child[bit] = id;
                id as usize
            } else {
                c as usize
            };
        }
        if self.nodes[n].rule != NONE {
            return false;
        }
        self.nodes[n].rule = self.rules.len() as u32;
        self.rules.push(rule);
        true
    }

    /// Parses list-file text (see the module docs). `file` names the source.
    pub fn parse(text: &str, file: &str) -> Result<Self, RuleError> {
        let mut bl = Self::new();
        for (line, entry) in entries(text) {
            bl.add_entry(entry, file, line)?;
        }
        Ok(bl)
    }

    /// Reads and parses a list file.
    pub fn from_file(path: &Path) -> Result<Self, RuleError> {
        Self::parse(&read_rule_file(path)?, &path.display().to_string())
    }

    fn add_entry(&mut self, entry: &str, file: &str, line: usize) -> Result<(), RuleError> {
        let net = IpNet::parse(entry).map_err(|r| RuleError::new(file, line, r))?;
        self.insert(IpRule {
            net,
            text: entry.to_string(),
            line,
        });
        Ok(())
    }

    /// Longest-prefix match: the most specific rule containing `ip`.
    pub fn lookup(&self, ip: IpAddr) -> Option<&IpRule> {
        let key = key_of(ip);
        let mut n = 0usize;
        let mut best = self.nodes[0].rule;
        for i in 0..128u32 {
            let bit = ((key >> (127 - i)) & 1) as usize;
            let c = self.nodes[n].child[bit];
            if c == NONE {
                break;
            }
            n = c as usize;
            if self.nodes[n].rule != NONE {
                best = self.nodes[n].rule;
            }
        }
        (best != NONE).then(|| &self.rules[best as usize])
    }

    /// Looks up both endpoints of a flow: `(src match, dst match)`.
    pub fn lookup_pair(&self, src: IpAddr, dst: IpAddr) -> (Option<&IpRule>, Option<&IpRule>) {
        (self.lookup(src), self.lookup(dst))
    }

    /// Number of distinct networks.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

// ------------------------------------------------------------ domain ----

/// One domain blacklist entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRule {
    /// Normalized domain (lowercase, no trailing dot) — the alert's `rule`.
    pub domain: String,
    /// 1-based line, 0 if built in code.
    pub line: usize,
}

/// Domain blacklist: a name matches if it or one of its parent domains is
/// listed (label boundaries; ASCII case-insensitive; trailing dot ignored).
#[derive(Debug, Clone, Default)]
pub struct DomainBlacklist {
    rules: Vec<DomainRule>,
    index: HashMap<Box<[u8]>, u32>,
}

impl DomainBlacklist {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Validates and adds one domain (first of duplicates kept).
    pub fn insert(&mut self, domain: &str, line: usize) -> Result<(), String> {
        let d = normalize_domain_rule(domain)?;
        if !self.index.contains_key(d.as_bytes()) {
            self.index
                .insert(d.as_bytes().into(), self.rules.len() as u32);
            self.rules.push(DomainRule { domain: d, line });
        }
        Ok(())
    }

    /// Parses list-file text.
    pub fn parse(text: &str, file: &str) -> Result<Self, RuleError> {
        let mut bl = Self::new();
        for (line, entry) in entries(text) {
            bl.insert(entry, line)
                .map_err(|r| RuleError::new(file, line, r))?;
        }
        Ok(bl)
    }

    /// Reads and parses a list file.
    pub fn from_file(path: &Path) -> Result<Self, RuleError> {
        Self::parse(&read_rule_file(path)?, &path.display().to_string())
    }

    /// The most specific listed domain that `name` equals or is under.
    /// `name` is a DNS name, SNI or HTTP Host *without* port (see
    /// [`host_without_port`]). Does not allocate for names up to 255 bytes.
    pub fn lookup(&self, name: &str) -> Option<&DomainRule> {
        if self.rules.is_empty() {
            return None;
        }
        let name = name.strip_suffix('.').unwrap_or(name).as_bytes();
        let mut stack = [0u8; 256];
        let heap;
        let lower: &[u8] = if name.len() <= stack.len() {
            let s = &mut stack[..name.len()];
            s.copy_from_slice(name);
            s.make_ascii_lowercase();
            s
        } else {
            heap = name.to_ascii_lowercase();
            &heap
        };
        let mut start = 0;
        loop {
            if let Some(&i) = self.index.get(&lower[start..]) {
                return Some(&self.rules[i as usize]);
            }
            match lower[start..].iter().position(|&c| c == b'.') {
                Some(p) => start += p + 1,
                None => return None,
            }
        }
    }

    /// Number of domains.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

fn normalize_domain_rule(s: &str) -> Result<String, String> {
    let d = s.strip_suffix('.').unwrap_or(s);
    if d.is_empty() {
        return Err("empty domain".into());
    }
    if d.contains('*') {
        return Err(format!(
            "wildcard in {s:?}: a domain already matches its subdomains, list it without '*.'"
        ));
    }
    if d.len() > 253 {
        return Err(format!("domain is {} bytes, longer than 253", d.len()));
    }
    for label in d.split('.') {
        if label.is_empty() {
            return Err(format!("empty label in {s:?}"));
        }
        if label.len() > 63 {
            return Err(format!("label {label:?} is longer than 63 bytes"));
        }
        if let Some(c) = label
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '/' | ':' | '@'))
        {
            return Err(format!("character {c:?} not allowed in a domain ({s:?})"));
        }
    }
    Ok(d.to_ascii_lowercase())
}

/// `host[:port]` or `[v6]:port` (an HTTP Host header) to the host alone.
pub fn host_without_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') && p.bytes().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    }
}

// --------------------------------------------------------------- URL ----

/// One URL blacklist entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlRule {
    /// The substring as written — the alert's `rule`.
    pub pattern: String,
    /// 1-based line, 0 if built in code.
    pub line: usize,
}

/// A URL blacklist hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlMatch<'a> {
    /// The rule.
    pub rule: &'a UrlRule,
    /// True if the substring is in the URI as sent; false if only in its
    /// percent-decoded form.
    pub raw: bool,
}

/// URL substring blacklist (Aho-Corasick, ASCII case-insensitive).
#[derive(Debug, Clone, Default)]
pub struct UrlBlacklist {
    rules: Vec<UrlRule>,
    ac: Option<AhoCorasick>,
}

impl UrlBlacklist {
    /// Builds from rules (duplicates, compared case-insensitively, kept once).
    pub fn new(rules: Vec<UrlRule>) -> Result<Self, String> {
        let mut seen = std::collections::HashSet::new();
        let rules: Vec<UrlRule> = rules
            .into_iter()
            .filter(|r| seen.insert(r.pattern.to_ascii_lowercase()))
            .collect();
        if let Some(r) = rules.iter().find(|r| r.pattern.is_empty()) {
            return Err(format!("empty pattern (line {})", r.line));
        }
        if rules.is_empty() {
            return Ok(Self::default());
        }
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(rules.iter().map(|r| r.pattern.as_bytes()))
            .map_err(|e| e.to_string())?;
        Ok(UrlBlacklist {
            rules,
            ac: Some(ac),
        })
    }

    /// Parses list-file text.
    pub fn parse(text: &str, file: &str) -> Result<Self, RuleError> {
        let rules = entries(text)
            .map(|(line, p)| UrlRule {
                pattern: p.to_string(),
                line,
            })
            .collect();
        Self::new(rules).map_err(|r| RuleError::new(file, 0, r))
    }

    /// Reads and parses a list file.
    pub fn from_file(path: &Path) -> Result<Self, RuleError> {
        Self::parse(&read_rule_file(path)?, &path.display().to_string())
    }

    /// Every rule found in `uri` (raw, then percent-decoded), each once, in
    /// rule order.
    pub fn matches(&self, uri: &[u8]) -> Vec<UrlMatch<'_>> {
        let Some(ac) = &self.ac else {
            return Vec::new();
        };
        // 0 = no, 1 = decoded only, 2 = raw.
        let mut hit: Vec<(usize, bool)> = Vec::new();
        for m in ac.find_overlapping_iter(uri) {
            let id = m.pattern().as_usize();
            if !hit.iter().any(|h| h.0 == id) {
                hit.push((id, true));
            }
        }
        if uri.contains(&b'%') {
            let dec = percent_decode(uri);
            for m in ac.find_overlapping_iter(&dec[..]) {
                let id = m.pattern().as_usize();
                if !hit.iter().any(|h| h.0 == id) {
                    hit.push((id, false));
                }
            }
        }
        hit.sort_unstable();
        hit.into_iter()
            .map(|(id, raw)| UrlMatch {
                rule: &self.rules[id],
                raw,
            })
            .collect()
    }

    /// Number of patterns.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// One pass of RFC 3986 §2.1 percent-decoding: `%HH` (either case) becomes
/// the byte; a `%` not followed by two hex digits is kept as is. `+` is not
/// a space (that is form encoding).
pub fn percent_decode(s: &[u8]) -> Vec<u8> {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' && i + 2 < s.len() {
            if let (Some(h), Some(l)) = (hex(s[i + 1]), hex(s[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

// -------------------------------------------------------------- TOML ----

/// A list in the rules file: a path or inline entries with their lines.
#[derive(Debug, Clone, PartialEq)]
pub enum ListSource {
    /// A list file (already resolved against the rules file's directory).
    Path(PathBuf),
    /// Inline entries: `(line in the rules file, text)`.
    Inline(Vec<(usize, String)>),
}

/// `[scan]` thresholds (each optional: the detector's default applies).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanThresholds {
    /// Window, seconds of packet time.
    pub window: Option<f64>,
    /// Distinct ports one source probes on one host.
    pub distinct_ports: Option<u32>,
    /// Distinct hosts one source probes on one port.
    pub distinct_hosts: Option<u32>,
}

/// `[brute_force]` thresholds (each optional; see `netsift_detect::brute`).
/// A count of 0 disables its rule.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BruteThresholds {
    /// Volume rule window, seconds of packet time (default 900).
    pub window: Option<f64>,
    /// Volume rule: failed logins per source and service within `window`
    /// (default 20, Zeek's).
    pub failures: Option<u32>,
    /// Rate rule window, seconds (default 60).
    pub rate_window: Option<f64>,
    /// Rate rule: failed logins within `rate_window` (default 10).
    pub rate_failures: Option<u32>,
    /// Login after failures: failures within `window` before a success
    /// (default 5).
    pub success_after: Option<u32>,
    /// SSH guessing: alike short sessions to one server (default 5).
    pub ssh_sessions: Option<u32>,
    /// SSH guessing window, seconds (default 120).
    pub ssh_window: Option<f64>,
    /// SSH guessing: how far (fraction) a session's bytes and packets may
    /// be from the medians and still count as alike (default 0.25).
    pub ssh_tolerance: Option<f64>,
}

/// `[dos]` thresholds (each optional: the flood detector's default applies).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DosThresholds {
    /// Window, seconds of packet time.
    pub window: Option<f64>,
    /// Half-open TCP attempts per second to one target.
    pub syn_rate: Option<f64>,
    /// UDP datagrams per second to one target.
    pub udp_rate: Option<f64>,
    /// ICMP messages per second to one target.
    pub icmp_rate: Option<f64>,
    /// Distinct sources a flood window needs.
    pub min_sources: Option<u64>,
}

impl DosThresholds {
    /// The detector settings: these thresholds over the defaults.
    pub fn config(&self) -> crate::dos::DosConfig {
        let d = crate::dos::DosConfig::default();
        crate::dos::DosConfig {
            window_ns: self
                .window
                .map_or(d.window_ns, |w| ((w.max(0.001)) * 1e9) as u64),
            syn_rate: self.syn_rate.unwrap_or(d.syn_rate),
            udp_rate: self.udp_rate.unwrap_or(d.udp_rate),
            icmp_rate: self.icmp_rate.unwrap_or(d.icmp_rate),
            min_sources: self.min_sources.unwrap_or(d.min_sources),
        }
    }
}

/// The parsed rules file (lists not yet loaded; see [`RulesConfig::load`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RulesConfig {
    /// The rules file, for error messages.
    pub file: String,
    /// `ip_blacklist`.
    pub ip_blacklist: Option<ListSource>,
    /// `domain_blacklist`.
    pub domain_blacklist: Option<ListSource>,
    /// `url_blacklist`.
    pub url_blacklist: Option<ListSource>,
    /// `signatures`.
    pub signatures: Option<ListSource>,
    /// `alert_timeout`, in nanoseconds of packet time.
    pub alert_timeout_ns: Option<u64>,
    /// `[scan]`.
    pub scan: ScanThresholds,
    /// `[brute_force]`.
    pub brute_force: BruteThresholds,
    /// `[dos]`.
    pub dos: DosThresholds,
    /// `suricata_rules`: Suricata rule files, resolved against the rules
    /// file's directory.
    pub suricata_rules: Vec<std::path::PathBuf>,
    /// `[vars]`: Suricata rule variables (`HOME_NET = "[10.0.0.0/8]"`).
    pub vars: Vec<(String, String)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    ip_blacklist: Option<toml::Spanned<RawList>>,
    domain_blacklist: Option<toml::Spanned<RawList>>,
    url_blacklist: Option<toml::Spanned<RawList>>,
    signatures: Option<toml::Spanned<RawList>>,
    alert_timeout: Option<toml::Spanned<f64>>,
    #[serde(default)]
    scan: ScanThresholds,
    #[serde(default)]
    brute_force: BruteThresholds,
    #[serde(default)]
    dos: DosThresholds,
    #[serde(default)]
    suricata_rules: SuricataFiles,
    #[serde(default)]
    vars: std::collections::BTreeMap<String, String>,
}

/// `suricata_rules = "a.rules"` or `suricata_rules = ["a.rules", ...]`.
#[derive(Deserialize, Default)]
#[serde(untagged)]
enum SuricataFiles {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

enum RawList {
    Path(String),
    Inline(Vec<toml::Spanned<String>>),
}

impl<'de> Deserialize<'de> for RawList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a file path or an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawList, E> {
                Ok(RawList::Path(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawList, A::Error> {
                let mut v = Vec::new();
                while let Some(s) = seq.next_element::<toml::Spanned<String>>()? {
                    v.push(s);
                }
                Ok(RawList::Inline(v))
            }
        }
        d.deserialize_any(V)
    }
}

fn line_at(text: &str, byte: usize) -> usize {
    text.as_bytes()[..byte.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

impl RulesConfig {
    /// Parses rules-file text. `file` names it in errors; relative list
    /// paths are resolved against `base_dir`.
    pub fn parse(text: &str, file: &str, base_dir: &Path) -> Result<Self, RuleError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_at(text, s.start)).unwrap_or(0);
            RuleError::new(file, line, e.message().trim().to_string())
        })?;
        let list = |l: Option<toml::Spanned<RawList>>| -> Result<Option<ListSource>, RuleError> {
            let Some(l) = l else { return Ok(None) };
            let at = line_at(text, l.span().start);
            Ok(Some(match l.into_inner() {
                RawList::Path(p) if p.is_empty() => {
                    return Err(RuleError::new(file, at, "empty path"))
                }
                RawList::Path(p) => ListSource::Path(base_dir.join(p)),
                RawList::Inline(v) => ListSource::Inline(
                    v.into_iter()
                        .map(|s| (line_at(text, s.span().start), s.into_inner()))
                        .collect(),
                ),
            }))
        };
        let alert_timeout_ns = match raw.alert_timeout {
            None => None,
            Some(t) => {
                let secs = *t.get_ref();
                if !(0.0..1e9).contains(&secs) {
                    let line = line_at(text, t.span().start);
                    return Err(RuleError::new(
                        file,
                        line,
                        format!("alert_timeout must be a number of seconds ≥ 0, got {secs}"),
                    ));
                }
                Some((secs * 1e9).round() as u64)
            }
        };
        Ok(RulesConfig {
            file: file.to_string(),
            ip_blacklist: list(raw.ip_blacklist)?,
            domain_blacklist: list(raw.domain_blacklist)?,
            url_blacklist: list(raw.url_blacklist)?,
            signatures: list(raw.signatures)?,
            alert_timeout_ns,
            scan: raw.scan,
            brute_force: raw.brute_force,
            dos: raw.dos,
            suricata_rules: match raw.suricata_rules {
                SuricataFiles::None => Vec::new(),
                SuricataFiles::One(p) => vec![base_dir.join(p)],
                SuricataFiles::Many(v) => v.into_iter().map(|p| base_dir.join(p)).collect(),
            },
            vars: raw.vars.into_iter().collect(),
        })
    }

    /// Reads and parses a rules file.
    pub fn from_file(path: &Path) -> Result<Self, RuleError> {
        let text = read_rule_file(path)?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, &path.display().to_string(), base)
    }

    /// Loads every list the file names (reading list files as needed).
    pub fn load(&self) -> Result<Rules, RuleError> {
        let f = &self.file;
        let ip = match &self.ip_blacklist {
            None => None,
            Some(ListSource::Path(p)) => Some(IpBlacklist::from_file(p)?),
            Some(ListSource::Inline(v)) => {
                let mut bl = IpBlacklist::new();
                for (line, e) in v {
                    bl.add_entry(e.trim(), f, *line)?;
                }
                Some(bl)
            }
        };
        let domain = match &self.domain_blacklist {
            None => None,
            Some(ListSource::Path(p)) => Some(DomainBlacklist::from_file(p)?),
            Some(ListSource::Inline(v)) => {
                let mut bl = DomainBlacklist::new();
                for (line, e) in v {
                    bl.insert(e.trim(), *line)
                        .map_err(|r| RuleError::new(f, *line, r))?;
                }
                Some(bl)
            }
        };
        let url = match &self.url_blacklist {
            None => None,
            Some(ListSource::Path(p)) => Some(UrlBlacklist::from_file(p)?),
            Some(ListSource::Inline(v)) => {
                if let Some((line, _)) = v.iter().find(|(_, e)| e.is_empty()) {
                    return Err(RuleError::new(f, *line, "empty pattern"));
                }
                let rules = v
                    .iter()
                    .map(|(line, e)| UrlRule {
                        pattern: e.clone(),
                        line: *line,
                    })
                    .collect();
                Some(UrlBlacklist::new(rules).map_err(|r| RuleError::new(f, 0, r))?)
            }
        };
        let signatures = match &self.signatures {
            None => None,
            Some(ListSource::Path(p)) => Some(SignatureSet::from_file(p)?),
            Some(ListSource::Inline(v)) => {
                let mut sigs = Vec::with_capacity(v.len());
                for (line, e) in v {
                    sigs.push(signature::parse_entry(e, f, *line)?);
                }
                Some(SignatureSet::new(sigs))
            }
        };
        Ok(Rules {
            ip,
            domain,
            url,
            signatures,
            alert_timeout_ns: self.alert_timeout_ns,
            scan: self.scan.clone(),
            brute_force: self.brute_force.clone(),
            dos: self.dos.clone(),
            suricata_rules: self.suricata_rules.clone(),
            vars: self.vars.clone(),
        })
    }
}

/// Everything loaded: the rule sets that are configured, and the thresholds.
/// Command-line list options override the rules file's: the caller replaces
/// a field with `IpBlacklist::from_file(..)` etc.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// `ip_blacklist`.
    pub ip: Option<IpBlacklist>,
    /// `domain_blacklist`.
    pub domain: Option<DomainBlacklist>,
    /// `url_blacklist`.
    pub url: Option<UrlBlacklist>,
    /// `signatures`.
    pub signatures: Option<SignatureSet>,
    /// `alert_timeout`, nanoseconds.
    pub alert_timeout_ns: Option<u64>,
    /// `[scan]`.
    pub scan: ScanThresholds,
    /// `[brute_force]`.
    pub brute_force: BruteThresholds,
    /// `[dos]`.
    pub dos: DosThresholds,
    /// `suricata_rules`: Suricata rule files (loaded by the caller).
    pub suricata_rules: Vec<std::path::PathBuf>,
    /// `[vars]`: Suricata rule variables.
    pub vars: Vec<(String, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn bl(lines: &[&str]) -> IpBlacklist {
        IpBlacklist::parse(&lines.join("\n"), "ips.txt").unwrap()
    }

    fn hit(b: &IpBlacklist, a: &str) -> Option<String> {
        b.lookup(ip(a)).map(|r| r.text.clone())
    }

    #[test]
    fn cidr_edges() {
        let b = bl(&["0.0.0.0/0"]);
        assert_eq!(hit(&b, "1.2.3.4").as_deref(), Some("0.0.0.0/0"));
        assert_eq!(hit(&b, "::ffff:1.2.3.4").as_deref(), Some("0.0.0.0/0"));
        assert_eq!(
            hit(&b, "2001:db8::1"),
            None,
            "an IPv4 /0 is not all of IPv6"
        );
        let b = bl(&["::/0"]);
        assert!(hit(&b, "2001:db8::1").is_some());
        assert!(hit(&b, "1.2.3.4").is_some(), "::/0 covers mapped IPv4 too");
        let b = bl(&["192.0.2.7/32", "2001:db8::7/128", "198.51.100.1"]);
        assert!(hit(&b, "192.0.2.7").is_some());
        assert!(hit(&b, "192.0.2.8").is_none());
        assert!(hit(&b, "2001:db8::7").is_some());
        assert!(hit(&b, "2001:db8::8").is_none());
        assert_eq!(b.lookup(ip("198.51.100.1")).unwrap().net.prefix_len, 32);
        assert_eq!(b.lookup(ip("198.51.100.1")).unwrap().line, 3);
    }

    #[test]
    fn ipv4_mapped() {
        let b = bl(&["10.0.0.0/8"]);
        assert_eq!(hit(&b, "::ffff:10.1.2.3").as_deref(), Some("10.0.0.0/8"));
        assert_eq!(hit(&b, "::10.1.2.3"), None, "IPv4-compatible is not mapped");
        let b = bl(&["::ffff:192.0.2.0/120"]);
        assert!(hit(&b, "192.0.2.99").is_some());
    }

    #[test]
    fn longest_prefix_wins() {
        let b = bl(&[
            "10.0.0.0/8",
            "10.1.0.0/16",
            "10.1.2.0/24",
            "10.1.2.3",
            "2001:db8::/32",
            "2001:db8:1::/48",
        ]);
        assert_eq!(hit(&b, "10.1.2.3").as_deref(), Some("10.1.2.3"));
        assert_eq!(hit(&b, "10.1.2.4").as_deref(), Some("10.1.2.0/24"));
        assert_eq!(hit(&b, "10.1.3.4").as_deref(), Some("10.1.0.0/16"));
        assert_eq!(hit(&b, "10.2.3.4").as_deref(), Some("10.0.0.0/8"));
        assert_eq!(hit(&b, "11.0.0.0"), None);
        assert_eq!(hit(&b, "2001:db8:1::5").as_deref(), Some("2001:db8:1::/48"));
        assert_eq!(hit(&b, "2001:db8:2::5").as_deref(), Some("2001:db8::/32"));
        // Insertion order does not matter.
        let b = bl(&["10.1.2.0/24", "10.0.0.0/8"]);
        assert_eq!(hit(&b, "10.1.2.4").as_deref(), Some("10.1.2.0/24"));
        let (s, d) = b.lookup_pair(ip("8.8.8.8"), ip("10.9.9.9"));
        assert!(s.is_none() && d.unwrap().text == "10.0.0.0/8");
    }

    #[test]
    fn invalid_cidrs() {
        let cases = [
            ("10.0.0.0/33", "longer than /32"),
            ("2001:db8::/129", "longer than /128"),
            ("10.0.0.0/", "bad prefix length"),
            ("10.0.0.0/-1", "bad prefix length"),
            ("10.0.0.0/8/8", "bad prefix length"),
            ("10.0.0.0/ 8", "bad prefix length"),
            ("10.0.0.1/8", "host bits set"),
            ("2001:db8::1/32", "host bits set"),
            ("10.0.0", "not an IPv4"),
            ("example.com", "not an IPv4"),
            ("10.0.0.256", "not an IPv4"),
        ];
        for (entry, why) in cases {
            let e = IpBlacklist::parse(&format!("# c\n\n10.0.0.0/8\n{entry}\n"), "ips.txt")
                .unwrap_err();
            assert_eq!((e.file.as_str(), e.line), ("ips.txt", 4), "{entry}");
            assert!(e.reason.contains(why), "{entry}: {e}");
        }
        let e = IpNet::parse("10.0.0.1/8").unwrap_err();
        assert!(e.contains("10.0.0.0/8"), "{e}");
    }

    #[test]
    fn comments_and_blank_lines() {
        let b = bl(&["# header", "", "   # indented", "  192.0.2.1  ", "\t"]);
        assert_eq!(b.len(), 1);
        assert_eq!(b.lookup(ip("192.0.2.1")).unwrap().line, 4);
    }

    #[test]
    fn trie_scales() {
        let mut text = String::new();
        for i in 0..20_000u32 {
            text.push_str(&format!("{}/32\n", Ipv4Addr::from(0x0a00_0000 + i * 7)));
        }
        let b = IpBlacklist::parse(&text, "t").unwrap();
        assert_eq!(b.len(), 20_000);
        assert!(b.lookup(ip("10.0.0.7")).is_some());
        assert!(b.lookup(ip("10.0.0.8")).is_none());
    }

    fn dom(lines: &[&str]) -> DomainBlacklist {
        DomainBlacklist::parse(&lines.join("\n"), "d.txt").unwrap()
    }

    #[test]
    fn domain_suffixes() {
        let d = dom(&["example.com", "Bad.Example.ORG.", "# c"]);
        let m = |n: &str| d.lookup(n).map(|r| r.domain.clone());
        assert_eq!(m("example.com").as_deref(), Some("example.com"));
        assert_eq!(m("www.example.com").as_deref(), Some("example.com"));
        assert_eq!(m("a.b.c.EXAMPLE.com.").as_deref(), Some("example.com"));
        assert_eq!(m("EXAMPLE.COM.").as_deref(), Some("example.com"));
        assert_eq!(m("evil-example.com"), None);
        assert_eq!(m("example.com.evil.net"), None);
        assert_eq!(m("xexample.com"), None);
        assert_eq!(m("com"), None);
        assert_eq!(m(""), None);
        assert_eq!(m("."), None);
        assert_eq!(m("bad.example.org").as_deref(), Some("bad.example.org"));
        assert_eq!(m("x.bad.example.org").as_deref(), Some("bad.example.org"));
        assert_eq!(m("example.org"), None);
        let long = format!("{}.example.com", "a".repeat(400));
        assert_eq!(m(&long).as_deref(), Some("example.com"));
        // Most specific listed domain is reported.
        let d = dom(&["example.com", "a.example.com"]);
        assert_eq!(d.lookup("x.a.example.com").unwrap().domain, "a.example.com");
    }

    #[test]
    fn domain_errors() {
        for (bad, why) in [
            ("*.example.com", "wildcard"),
            ("a..b", "empty label"),
            (".", "empty domain"),
            ("exa mple.com", "not allowed"),
            ("http://x.com", "not allowed"),
        ] {
            let e = DomainBlacklist::parse(&format!("ok.com\n{bad}\n"), "d.txt").unwrap_err();
            assert_eq!(e.line, 2, "{bad}");
            assert!(e.reason.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn host_port() {
        assert_eq!(host_without_port("example.com:8080"), "example.com");
        assert_eq!(host_without_port("example.com"), "example.com");
        assert_eq!(host_without_port("[2001:db8::1]:443"), "2001:db8::1");
        assert_eq!(host_without_port("2001:db8::1"), "2001:db8::1");
    }

    fn url(lines: &[&str]) -> UrlBlacklist {
        UrlBlacklist::parse(&lines.join("\n"), "u.txt").unwrap()
    }

    fn uhits(u: &UrlBlacklist, uri: &str) -> Vec<(String, bool)> {
        u.matches(uri.as_bytes())
            .into_iter()
            .map(|m| (m.rule.pattern.clone(), m.raw))
            .collect()
    }

    #[test]
    fn url_raw_decoded_case() {
        let u = url(&["../", "/ADMIN", "%zz", "cmd.exe", "# comment"]);
        assert_eq!(u.len(), 4);
        assert_eq!(uhits(&u, "/a/../b"), vec![("../".into(), true)]);
        assert_eq!(uhits(&u, "/a/%2e%2e/b"), vec![("../".into(), false)]);
        assert_eq!(uhits(&u, "/a/%2E%2E%2fb"), vec![("../".into(), false)]);
        assert_eq!(uhits(&u, "/x/admin?q"), vec![("/ADMIN".into(), true)]);
        assert_eq!(uhits(&u, "/x/%41dmin"), vec![("/ADMIN".into(), false)]);
        assert_eq!(uhits(&u, "/x?%zz"), vec![("%zz".into(), true)]);
        assert_eq!(uhits(&u, "/x?%ZZ%"), vec![("%zz".into(), true)]);
        assert_eq!(uhits(&u, "/CMD%2eEXE"), vec![("cmd.exe".into(), false)]);
        assert!(uhits(&u, "/fine").is_empty());
        // One decoding pass only: %252e decodes to %2e, not '.'.
        assert!(uhits(&u, "/%252e%252e/").is_empty());
        assert_eq!(uhits(&u, "/../admin").len(), 2);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode(b"%41%42c"), b"ABc");
        assert_eq!(percent_decode(b"%zz%4"), b"%zz%4");
        assert_eq!(percent_decode(b"%"), b"%");
        assert_eq!(percent_decode(b"a%2"), b"a%2");
        assert_eq!(percent_decode(b"%%41"), b"%A");
        assert_eq!(percent_decode(b"+%20"), b"+ ");
        assert_eq!(percent_decode(b"%ff"), b"\xff");
    }

    #[test]
    fn toml_inline_and_paths() {
        let dir = std::env::temp_dir().join(format!("netsift-rules-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ips.txt"), "# ips\n10.0.0.0/8\n").unwrap();
        let text = r#"
ip_blacklist = "ips.txt"
domain_blacklist = ["example.com", "Bad.ORG."]
url_blacklist = ["../"]
signatures = [
  '''abc\'def''',
  '\x90\x90',
]
alert_timeout = 300

[scan]
window = 60.5
distinct_ports = 20

[brute_force]
failures = 10
rate_window = 30
rate_failures = 8
success_after = 3
ssh_sessions = 6
ssh_window = 90.5
ssh_tolerance = 0.3

[dos]
syn_rate = 50
min_sources = 3
"#;
        let cfg = RulesConfig::parse(text, "rules.toml", &dir).unwrap();
        let b = &cfg.brute_force;
        assert_eq!(
            (b.rate_window, b.rate_failures, b.success_after),
            (Some(30.0), Some(8), Some(3))
        );
        assert_eq!(
            (b.ssh_sessions, b.ssh_window, b.ssh_tolerance),
            (Some(6), Some(90.5), Some(0.3))
        );
        assert_eq!(cfg.dos.syn_rate, Some(50.0));
        let dos = cfg.dos.config();
        assert_eq!((dos.syn_rate, dos.min_sources), (50.0, 3));
        assert_eq!(dos.udp_rate, crate::dos::DosConfig::default().udp_rate);
        assert_eq!(
            cfg.ip_blacklist,
            Some(ListSource::Path(dir.join("ips.txt")))
        );
        assert_eq!(cfg.alert_timeout_ns, Some(300_000_000_000));
        assert_eq!(cfg.scan.window, Some(60.5));
        assert_eq!(cfg.scan.distinct_ports, Some(20));
        assert_eq!(cfg.scan.distinct_hosts, None);
        assert_eq!(cfg.brute_force.failures, Some(10));
        let Some(ListSource::Inline(sigs)) = &cfg.signatures else {
            panic!()
        };
        assert_eq!(sigs[0], (6, r"abc\'def".to_string()));
        let rules = cfg.load().unwrap();
        assert!(rules.ip.unwrap().lookup(ip("10.2.3.4")).is_some());
        assert!(rules.domain.unwrap().lookup("x.bad.org").is_some());
        assert_eq!(rules.url.unwrap().len(), 1);
        let s = rules.signatures.unwrap();
        assert_eq!(s.get(0).unwrap().bytes, b"abc'def");
        assert_eq!(s.get(1).unwrap().bytes, b"\x90\x90");
        assert_eq!(s.get(1).unwrap().origin, "rules.toml:7");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn toml_errors_have_lines() {
        let base = Path::new(".");
        let e = RulesConfig::parse("ip_blacklist = \"a\"\nsignaturez = []\n", "r.toml", base)
            .unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(e.reason.contains("signaturez"), "{e}");
        let e = RulesConfig::parse("alert_timeout = -1\n", "r.toml", base).unwrap_err();
        assert_eq!(e.line, 1, "{e}");
        let e = RulesConfig::parse("\n\nsignatures = ['ok',\n  'bad\\x4']\n", "r.toml", base)
            .unwrap()
            .load()
            .unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("r.toml", 4), "{e}");
        let e = RulesConfig::parse("url_blacklist = ['a', '']\n", "r.toml", base)
            .unwrap()
            .load()
            .unwrap_err();
        assert!(e.reason.contains("empty pattern"), "{e}");
        let e = RulesConfig::parse("signatures = ['']\n", "r.toml", base)
            .unwrap()
            .load()
            .unwrap_err();
        assert!(e.reason.contains("empty signature"), "{e}");
        let e = RulesConfig::parse("ip_blacklist = ['10.0.0.1/8']\n", "r.toml", base)
            .unwrap()
            .load()
            .unwrap_err();
        assert!(e.reason.contains("host bits"), "{e}");
        let e = RulesConfig::parse("ip_blacklist = 'nope.txt'\n", "r.toml", base)
            .unwrap()
            .load()
            .unwrap_err();
        assert_eq!(e.line, 0);
        assert!(e.reason.contains("cannot read"), "{e}");
        let e = RulesConfig::parse("[scan]\nwindw = 3\n", "r.toml", base).unwrap_err();
        assert_eq!(e.line, 2, "{e}");
    }
}
