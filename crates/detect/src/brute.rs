//! Brute-force (password guessing) detection.
//!
//! Input: one [`LoginAttempt`] per login outcome the protocol parsers see
//! (FTP `530`, POP3 `-ERR` after `USER`/`PASS`/`AUTH`, IMAP `NO` to
//! `LOGIN`/`AUTHENTICATE`, SMTP `535` to `AUTH`, HTTP `401` to a request
//! with credentials), plus SSH sessions judged by
//! [`ssh_attempt_from_conn`] (SSH encrypts the outcome).
//!
//! A finding is raised once per (client, server, service) when
//! `threshold` failures (Zeek's FTP default: 20) start within one
//! `interval` (15 minutes) of packet time; timestamps are attempt times, so
//! attempts may arrive out of order by up to `reorder_slack`. Later
//! attempts update the finding that [`BruteForceDetector::finish`] returns
//! (count, last time, users, and whether a login then succeeded).

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use serde::Serialize;

use crate::scan::ConnSummary;

const NS_PER_SEC: u64 = 1_000_000_000;

/// One login outcome.
#[derive(Debug, Clone, Copy)]
pub struct LoginAttempt<'a> {
    pub ts_ns: u64,
    pub client: IpAddr,
    pub server: IpAddr,
    pub server_port: u16,
    /// "FTP", "POP3", "IMAP", "SMTP", "HTTP", "SSH", ...
    pub service: &'a str,
    pub user: Option<&'a str>,
    pub success: bool,
}

/// Brute-force detector settings.
#[derive(Debug, Clone)]
pub struct BruteForceConfig {
    /// Failures within one interval (Zeek: 20).
    pub threshold: usize,
    /// Window in nanoseconds of packet time (Zeek: 15 minutes).
    pub interval_ns: u64,
    /// How late an attempt may arrive behind the newest one seen.
    pub reorder_slack_ns: u64,
    /// Distinct user names kept in a finding.
    pub sample_size: usize,
}

impl Default for BruteForceConfig {
    fn default() -> Self {
        BruteForceConfig {
            threshold: 20,
            interval_ns: 900 * NS_PER_SEC,
            reorder_slack_ns: 600 * NS_PER_SEC,
            sample_size: 20,
        }
    }
}

/// One detected brute force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BruteForceFinding {
    pub client: IpAddr,
    pub server: IpAddr,
    /// Server port of the first failure.
    pub server_port: u16,
    pub service: String,
    /// Failed attempts seen (within the kept state; at raising time the
    /// count in the window that crossed, then all later failures too).
    pub failures: u64,
    /// Successful logins seen from the client to this service (after a
    /// finding: a guess may have worked).
    pub successes: u64,
    /// First and last failure, ns.
    pub first_ts_ns: u64,
    pub last_ts_ns: u64,
    /// Distinct user names tried, ascending, at most `sample_size`.
    pub users: Vec<String>,
    /// Distinct user names tried (at most 1,000 counted).
    pub distinct_users: usize,
}

const MAX_USERS: usize = 1_000;

/// Longest user name kept (bytes; longer names are cut at a char boundary).
const MAX_USER_LEN: usize = 128;

/// (client, server, service) keys tracked at once. Beyond it, keys that are
/// neither raised nor recent are swept; if none is, attempts of new keys are
/// not tracked (counted in [`BruteForceDetector::untracked`]).
pub const MAX_KEYS: usize = 1_000_000;

#[derive(Debug)]
struct State {
    server_port: u16,
    /// Failure times, kept until a finding (then only counted).
    fails: Vec<u64>,
    failures: u64,
    successes: u64,
    first_ts: u64,
    last_ts: u64,
    users: BTreeSet<String>,
    finding: Option<usize>,
}

type Key = (IpAddr, IpAddr, String);

/// The brute-force detector.
#[derive(Debug)]
pub struct BruteForceDetector {
    cfg: BruteForceConfig,
    state: HashMap<Key, State>,
    findings: Vec<BruteForceFinding>,
    watermark: u64,
    since_sweep: u64,
    untracked: u64,
}

impl BruteForceDetector {
    /// Attempts not tracked because [`MAX_KEYS`] keys were live.
    pub fn untracked(&self) -> u64 {
        self.untracked
    }

    pub fn new(cfg: BruteForceConfig) -> Self {
        BruteForceDetector {
            cfg,
            state: HashMap::new(),
            findings: Vec::new(),
            watermark: 0,
            since_sweep: 0,
            untracked: 0,
        }
    }

    /// Feed one login outcome. Returns a finding when this attempt makes
    /// (client, server, service) cross the threshold, once.
    pub fn observe(&mut self, a: &LoginAttempt) -> Option<BruteForceFinding> {
        // Far older than any reordering explains: time went backwards (a
        // later capture of the same run is older); restart the clock.
        if a.ts_ns
            .saturating_add(self.cfg.interval_ns + self.cfg.reorder_slack_ns)
            < self.watermark
        {
            self.watermark = a.ts_ns;
        }
        self.watermark = self.watermark.max(a.ts_ns);
        let horizon = self
            .watermark
            .saturating_sub(self.cfg.interval_ns + self.cfg.reorder_slack_ns);
        self.since_sweep += 1;
        if self.since_sweep >= 4096 {
            self.since_sweep = 0;
            self.sweep(horizon);
        }
        if a.ts_ns < horizon {
            return None;
        }
        let key = (a.client, a.server, a.service.to_ascii_uppercase());
        if a.success {
            if let Some(s) = self.state.get_mut(&key) {
                s.successes += 1;
            }
            return None;
        }
        if self.state.len() >= MAX_KEYS && !self.state.contains_key(&key) {
            self.sweep(horizon);
            if self.state.len() >= MAX_KEYS {
                self.untracked += 1;
                return None;
            }
        }
        let s = self.state.entry(key.clone()).or_insert_with(|| State {
            server_port: a.server_port,
            fails: Vec::new(),
            failures: 0,
            successes: 0,
            first_ts: a.ts_ns,
            last_ts: a.ts_ns,
            users: BTreeSet::new(),
            finding: None,
        });
        if let Some(u) = a.user {
            if s.users.len() < MAX_USERS {
                let mut end = u.len().min(MAX_USER_LEN);
                while !u.is_char_boundary(end) {
                    end -= 1;
                }
                s.users.insert(u[..end].to_string());
            }
        }
        s.last_ts = s.last_ts.max(a.ts_ns);
        if s.finding.is_some() {
            s.failures += 1;
            s.first_ts = s.first_ts.min(a.ts_ns);
            return None;
        }
        s.fails.retain(|&t| t >= horizon);
        s.fails.push(a.ts_ns);
        if s.fails.len() < self.cfg.threshold {
            return None;
        }
        // The window (of length interval, inclusive) holding the most
        // failures.
        s.fails.sort_unstable();
        let iv = self.cfg.interval_ns;
        let (mut best, mut best_lo, mut lo) = (0, 0, 0);
        for hi in 0..s.fails.len() {
            while s.fails[hi] - s.fails[lo] > iv {
                lo += 1;
            }
            if hi - lo + 1 > best {
                (best, best_lo) = (hi - lo + 1, lo);
            }
        }
        if best < self.cfg.threshold {
            return None;
        }
        // From here on: the failures of the crossing window and all later.
        s.first_ts = s.fails[best_lo];
        s.failures = (s.fails.len() - best_lo) as u64;
        s.fails = Vec::new();
        s.finding = Some(self.findings.len());
        let f = Self::summary(&self.cfg, &key, s);
        self.findings.push(f.clone());
        Some(f)
    }

    /// Drops the keys that are neither raised nor recent.
    fn sweep(&mut self, horizon: u64) {
        self.state
            .retain(|_, s| s.finding.is_some() || s.last_ts >= horizon);
    }

    fn summary(cfg: &BruteForceConfig, k: &Key, s: &State) -> BruteForceFinding {
        BruteForceFinding {
            client: k.0,
            server: k.1,
            server_port: s.server_port,
            service: k.2.clone(),
            failures: s.failures,
            successes: s.successes,
            first_ts_ns: s.first_ts,
            last_ts_ns: s.last_ts,
            users: s.users.iter().take(cfg.sample_size).cloned().collect(),
            distinct_users: s.users.len(),
        }
    }

    /// Final summaries of every finding raised, in the order raised.
    pub fn finish(self) -> Vec<BruteForceFinding> {
        let mut out = self.findings;
        for (k, s) in &self.state {
            if let Some(i) = s.finding {
                out[i] = Self::summary(&self.cfg, k, s);
            }
        }
        out
    }
}

/// Limits of the "short SSH session" heuristic.
#[derive(Debug, Clone)]
pub struct SshHeuristic {
    /// Sessions shorter than this (ns) may be failed logins.
    pub max_duration_ns: u64,
    /// Client payload at least this: the key exchange happened (client
    /// banner + KEXINIT is already over 1 KB), so authentication was tried.
    pub min_orig_payload: u64,
    /// Client + server payload at most this.
    pub max_total_payload: u64,
    /// Packets from the client at most this.
    pub max_orig_pkts: u64,
}

impl Default for SshHeuristic {
    fn default() -> Self {
        SshHeuristic {
            max_duration_ns: 10 * NS_PER_SEC,
            min_orig_payload: 1000,
            max_total_payload: 20_000,
            max_orig_pkts: 40,
        }
    }
}

/// "Many short SSH sessions": the outcome of SSH authentication is
/// encrypted, so a session counts as a *failed* login attempt when it
/// completed the TCP handshake and the key exchange (client payload at
/// least `min_orig_payload`), then ended (FIN or RST seen, state SF, S2,
/// S3, RSTO or RSTR) within `max_duration` carrying little data (total
/// payload at most `max_total_payload`, client packets at most
/// `max_orig_pkts`) -- a password guesser's session. Anything else returns
/// `None` (not counted either way): interactive sessions are long or
/// large, banner grabs never reach the key exchange. Short legitimate
/// automation (`ssh host true` in a loop) looks the same and can trip the
/// threshold; the user name is never known.
///
/// The caller passes flows it identified as SSH (any port).
pub fn ssh_attempt_from_conn<'a>(
    c: &ConnSummary<'a>,
    h: &SshHeuristic,
) -> Option<LoginAttempt<'a>> {
    let ended = matches!(c.conn_state, "SF" | "S2" | "S3" | "RSTO" | "RSTR");
    let handshake = c.history.contains('h') && c.history.contains('A');
    if c.proto != 6
        || !ended
        || !handshake
        || c.history.contains('^')
        || c.duration_ns >= h.max_duration_ns
        || c.orig_payload_bytes < h.min_orig_payload
        || c.resp_payload_bytes == 0
        || c.orig_payload_bytes + c.resp_payload_bytes > h.max_total_payload
        || c.orig_pkts > h.max_orig_pkts
    {
        return None;
    }
    Some(LoginAttempt {
        ts_ns: c.ts_ns,
        client: c.src,
        server: c.dst,
        server_port: c.dst_port,
        service: "SSH",
        user: None,
        success: false,
    })
}
