//! Brute-force (password guessing) detection.
//!
//! Input: one [`LoginAttempt`] per login outcome the protocol parsers see
//! (FTP `530`/`230`, POP3 `-ERR`/`+OK` after `PASS`/`APOP`/`AUTH`, IMAP
//! `NO`/`OK` to `LOGIN`/`AUTHENTICATE`, SMTP `535` to `AUTH`, HTTP `401`
//! or a success to a request with credentials), plus SSH sessions, whose
//! outcome is encrypted, through [`BruteForceDetector::observe_ssh`].
//!
//! Four rules, every window in packet time (replay = live). Failures are
//! counted per (client, server, service).
//!
//! * **rate**: `rate_threshold` failures (default 10) within
//!   `rate_interval` (60 s) -- a tool like hydra guessing quickly;
//! * **volume**: `threshold` failures (Zeek's FTP default: 20) within
//!   `interval` (15 minutes) -- slower guessing;
//!
//!   The first of the two to cross makes one finding per key
//!   ([`BruteKind::Rate`] or [`BruteKind::Volume`]); later attempts update
//!   it (count, last time, users, successes), and
//!   [`BruteForceDetector::finish`] returns the final summaries.
//! * **login after failures** ([`BruteKind::LoginAfterFailures`]): a
//!   success that follows at least `success_after` failures (default 5)
//!   within `interval` for the same key: the guess probably worked.
//!   Returned at once by [`BruteForceDetector::observe`], once per key,
//!   and not part of `finish`.
//! * **SSH sessions** ([`BruteKind::SshSessions`]): at least
//!   `ssh.sessions` (default 5) SSH sessions from one client to one
//!   server port within `ssh.interval` (120 s) that each look like an
//!   authentication-only session ([`ssh_attempt_from_conn`]) and look
//!   alike: client bytes, server bytes and client packets within
//!   `ssh.tolerance` (25 %) of the group's medians and durations within a
//!   factor of 3 of the median duration. A guessing tool repeats the same
//!   exchange (key exchange, a few password tries, disconnect), so its
//!   sessions are near copies; interactive sessions are long or large.
//!   A later session from that client to that server that is *not* an
//!   authentication-only one (it lasted or moved data), within
//!   `ssh.interval` of the last guessing session, is a login after
//!   failures: the guess probably worked (once per client and server).
//!
//! Bounds: the failure times kept per key are the last
//! `max(threshold, rate_threshold, success_after)`; keys (and SSH
//! client/server pairs) idle longer than the longest window plus
//! `reorder_slack` are dropped through a time-ordered index, so expiry
//! costs what expires, and at most [`MAX_KEYS`] are tracked at once.
//! Attempts may arrive out of order by up to `reorder_slack`.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::hash::Hash;
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

/// SSH guessing settings (see the module doc).
#[derive(Debug, Clone)]
pub struct SshGuessConfig {
    /// Alike short sessions that make a finding (0 disables the rule).
    pub sessions: usize,
    /// Window, ns of packet time.
    pub interval_ns: u64,
    /// Relative distance from the medians of bytes and packets that still
    /// counts as alike.
    pub tolerance: f64,
    /// Which sessions count at all.
    pub heuristic: SshHeuristic,
}

impl Default for SshGuessConfig {
    fn default() -> Self {
        SshGuessConfig {
            sessions: 5,
            interval_ns: 120 * NS_PER_SEC,
            tolerance: 0.25,
            heuristic: SshHeuristic::default(),
        }
    }
}

/// Brute-force detector settings. A threshold of 0 disables its rule.
#[derive(Debug, Clone)]
pub struct BruteForceConfig {
    /// Volume rule: failures within `interval` (Zeek: 20).
    pub threshold: usize,
    /// Volume window in nanoseconds of packet time (Zeek: 15 minutes).
    pub interval_ns: u64,
    /// Rate rule: failures within `rate_interval` (10).
    pub rate_threshold: usize,
    /// Rate window, ns (60 s).
    pub rate_interval_ns: u64,
    /// Failures (within `interval`) before a success that make a "login
    /// after failures" finding (5).
    pub success_after: usize,
    /// How late an attempt may arrive behind the newest one seen.
    pub reorder_slack_ns: u64,
    /// Distinct user names kept in a finding.
    pub sample_size: usize,
    /// SSH guessing from alike short sessions.
    pub ssh: SshGuessConfig,
}

impl Default for BruteForceConfig {
    fn default() -> Self {
        BruteForceConfig {
            threshold: 20,
            interval_ns: 900 * NS_PER_SEC,
            rate_threshold: 10,
            rate_interval_ns: 60 * NS_PER_SEC,
            success_after: 5,
            reorder_slack_ns: 600 * NS_PER_SEC,
            sample_size: 20,
            ssh: SshGuessConfig::default(),
        }
    }
}

/// Largest threshold honoured (failure times kept per key).
pub const MAX_THRESHOLD: usize = 10_000;

/// Which rule made a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BruteKind {
    /// `rate_threshold` failures within `rate_interval`.
    Rate,
    /// `threshold` failures within `interval`.
    Volume,
    /// A success after `success_after` failures.
    LoginAfterFailures,
    /// Alike short SSH sessions.
    SshSessions,
}

impl BruteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BruteKind::Rate => "rate",
            BruteKind::Volume => "volume",
            BruteKind::LoginAfterFailures => "login_after_failures",
            BruteKind::SshSessions => "ssh_sessions",
        }
    }
}

/// One detected brute force.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BruteForceFinding {
    /// The rule that made it.
    pub rule: BruteKind,
    /// The rule's threshold and window (seconds), as configured.
    pub threshold: u64,
    pub window_s: f64,
    pub client: IpAddr,
    pub server: IpAddr,
    /// Server port of the first failure.
    pub server_port: u16,
    pub service: String,
    /// Failed attempts seen (at raising time the count in the window that
    /// crossed, then all later failures too; for SSH, alike sessions).
    pub failures: u64,
    /// Successful logins seen from the client to this service.
    pub successes: u64,
    /// First and last failure, ns.
    pub first_ts_ns: u64,
    pub last_ts_ns: u64,
    /// Distinct user names tried, ascending, at most `sample_size`.
    pub users: Vec<String>,
    /// Distinct user names tried (at most 1,000 counted).
    pub distinct_users: usize,
    /// Login after failures: when the success was seen, ns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success_ts_ns: Option<u64>,
    /// SSH sessions: the medians of the alike sessions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssh: Option<SshPattern>,
}

/// The shape of alike SSH sessions (medians).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SshPattern {
    pub duration_s: f64,
    pub orig_bytes: u64,
    pub resp_bytes: u64,
    pub orig_pkts: u64,
}

const MAX_USERS: usize = 1_000;

/// Longest user name kept (bytes; longer names are cut at a char boundary).
const MAX_USER_LEN: usize = 128;

/// Keys tracked at once (per table: logins, SSH pairs). Beyond it, keys
/// idle past the horizon are dropped; if none is, attempts of new keys
/// are not tracked (counted in [`BruteForceDetector::untracked`]).
pub const MAX_KEYS: usize = 1_000_000;

/// A map whose entries expire by last-touch time, through a time-ordered
/// index: expiring costs O(log n) per entry that expires, nothing for the
/// others.
#[derive(Debug)]
struct Expiring<K, V> {
    ids: HashMap<K, u64>,
    slots: HashMap<u64, (K, V, u64)>,
    order: BTreeSet<(u64, u64)>,
    next: u64,
}

impl<K: Hash + Eq + Clone, V> Expiring<K, V> {
    fn new() -> Self {
        Expiring {
            ids: HashMap::new(),
            slots: HashMap::new(),
            order: BTreeSet::new(),
            next: 0,
        }
    }

    /// The entry of `key`, its touch time raised to `ts`; `None` when the
    /// key is new and `MAX_KEYS` are live.
    fn touch(&mut self, key: &K, ts: u64, new: impl FnOnce() -> V) -> Option<&mut V> {
        let id = match self.ids.get(key) {
            Some(&id) => id,
            None => {
                if self.slots.len() >= MAX_KEYS {
                    return None;
                }
                let id = self.next;
                self.next += 1;
                self.ids.insert(key.clone(), id);
                self.slots.insert(id, (key.clone(), new(), ts));
                self.order.insert((ts, id));
                id
            }
        };
        let slot = self.slots.get_mut(&id)?;
        if ts > slot.2 {
            self.order.remove(&(slot.2, id));
            slot.2 = ts;
            self.order.insert((ts, id));
        }
        Some(&mut slot.1)
    }

    fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let id = self.ids.get(key)?;
        self.slots.get_mut(id).map(|s| &mut s.1)
    }

    /// Removes every entry last touched before `horizon`, oldest first.
    fn expire(&mut self, horizon: u64, mut gone: impl FnMut(K, V)) {
        while let Some(&(ts, id)) = self.order.first() {
            if ts >= horizon {
                break;
            }
            self.order.pop_first();
            if let Some((k, v, _)) = self.slots.remove(&id) {
                self.ids.remove(&k);
                gone(k, v);
            }
        }
    }

    fn drain(self) -> impl Iterator<Item = (K, V)> {
        self.slots.into_values().map(|(k, v, _)| (k, v))
    }
}

#[derive(Debug)]
struct State {
    server_port: u16,
    /// The latest failure times, ascending, at most `keep`.
    recent: VecDeque<u64>,
    /// Failures counted for the finding (after it was raised).
    failures: u64,
    successes: u64,
    first_ts: u64,
    last_ts: u64,
    users: BTreeSet<String>,
    /// Index in `findings` of this key's rate/volume finding.
    finding: Option<usize>,
    /// A login-after-failures finding was made.
    success_raised: bool,
}

type Key = (IpAddr, IpAddr, String);

#[derive(Debug, Clone, Copy)]
struct SshSession {
    ts: u64,
    duration: u64,
    orig_bytes: u64,
    resp_bytes: u64,
    orig_pkts: u64,
}

#[derive(Debug, Default)]
struct SshState {
    sessions: VecDeque<SshSession>,
    finding: Option<usize>,
    /// A session-after-guessing finding was made.
    success_raised: bool,
}

/// The brute-force detector.
#[derive(Debug)]
pub struct BruteForceDetector {
    cfg: BruteForceConfig,
    state: Expiring<Key, State>,
    ssh: Expiring<(IpAddr, IpAddr, u16), SshState>,
    findings: Vec<BruteForceFinding>,
    watermark: u64,
    untracked: u64,
}

impl BruteForceDetector {
    /// Attempts not tracked because [`MAX_KEYS`] keys were live.
    pub fn untracked(&self) -> u64 {
        self.untracked
    }

    pub fn new(mut cfg: BruteForceConfig) -> Self {
        cfg.threshold = cfg.threshold.min(MAX_THRESHOLD);
        cfg.rate_threshold = cfg.rate_threshold.min(MAX_THRESHOLD);
        cfg.success_after = cfg.success_after.min(MAX_THRESHOLD);
        cfg.ssh.sessions = cfg.ssh.sessions.min(MAX_THRESHOLD);
        BruteForceDetector {
            cfg,
            state: Expiring::new(),
            ssh: Expiring::new(),
            findings: Vec::new(),
            watermark: 0,
            untracked: 0,
        }
    }

    /// Failure times kept per key.
    fn keep(&self) -> usize {
        self.cfg
            .threshold
            .max(self.cfg.rate_threshold)
            .max(self.cfg.success_after)
            .max(1)
    }

    /// The longest window plus the slack: state idle longer is dropped.
    fn memory_ns(&self) -> u64 {
        self.cfg
            .interval_ns
            .max(self.cfg.rate_interval_ns)
            .max(self.cfg.ssh.interval_ns)
            .saturating_add(self.cfg.reorder_slack_ns)
    }

    /// Moves packet time to `ts` and drops what went idle. Returns the
    /// horizon: attempts older than it are ignored.
    fn advance(&mut self, ts: u64) -> u64 {
        let memory = self.memory_ns();
        // Far older than any reordering explains: time went backwards (a
        // later capture of the same run is older); restart the clock.
        if ts.saturating_add(memory) < self.watermark {
            self.watermark = ts;
        }
        self.watermark = self.watermark.max(ts);
        let horizon = self.watermark.saturating_sub(memory);
        let (cfg, findings) = (&self.cfg, &mut self.findings);
        self.state.expire(horizon, |k, s| {
            if let Some(i) = s.finding {
                findings[i] = Self::summary(cfg, &k, &s, findings[i].rule);
            }
        });
        self.ssh.expire(horizon, |_, _| {});
        horizon
    }

    /// Feed one login outcome. Returns a finding when this attempt makes
    /// (client, server, service) cross the rate or volume rule (once per
    /// key), or when it is a success after enough failures (once per key).
    pub fn observe(&mut self, a: &LoginAttempt) -> Option<BruteForceFinding> {
        let horizon = self.advance(a.ts_ns);
        if a.ts_ns < horizon {
            return None;
        }
        let key = (a.client, a.server, a.service.to_ascii_uppercase());
        if a.success {
            let s = self.state.get_mut(&key)?;
            s.successes += 1;
            let since = a.ts_ns.saturating_sub(self.cfg.interval_ns);
            let before = s
                .recent
                .iter()
                .filter(|&&t| t >= since && t <= a.ts_ns)
                .count();
            if self.cfg.success_after == 0 || s.success_raised || before < self.cfg.success_after {
                return None;
            }
            s.success_raised = true;
            let mut f = Self::summary(&self.cfg, &key, s, BruteKind::LoginAfterFailures);
            // The kept times are the latest few; a raised key counted all.
            f.failures = before as u64;
            f.first_ts_ns = s.recent.iter().copied().find(|&t| t >= since).unwrap_or(0);
            if s.finding.is_some() && s.failures > f.failures {
                f.failures = s.failures;
                f.first_ts_ns = s.first_ts;
            }
            f.last_ts_ns = s
                .recent
                .iter()
                .copied()
                .filter(|&t| t <= a.ts_ns)
                .max()
                .unwrap_or(0);
            f.success_ts_ns = Some(a.ts_ns);
            return Some(f);
        }
        let keep = self.keep();
        let Some(s) = self.state.touch(&key, a.ts_ns, || State {
            server_port: a.server_port,
            recent: VecDeque::new(),
            failures: 0,
            successes: 0,
            first_ts: a.ts_ns,
            last_ts: a.ts_ns,
            users: BTreeSet::new(),
            finding: None,
            success_raised: false,
        }) else {
            self.untracked += 1;
            return None;
        };
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
        // Sorted insert (attempts arrive nearly in order), oldest dropped.
        let at = s.recent.partition_point(|&t| t <= a.ts_ns);
        s.recent.insert(at, a.ts_ns);
        if s.recent.len() > keep {
            s.recent.pop_front();
        }
        if s.finding.is_some() {
            s.failures += 1;
            s.first_ts = s.first_ts.min(a.ts_ns);
            return None;
        }
        let rules = [
            (
                BruteKind::Rate,
                self.cfg.rate_threshold,
                self.cfg.rate_interval_ns,
            ),
            (BruteKind::Volume, self.cfg.threshold, self.cfg.interval_ns),
        ];
        for (kind, n, iv) in rules {
            if n == 0 || s.recent.len() < n {
                continue;
            }
            // Windows of n consecutive failures (ascending): the first
            // whose span fits the interval.
            let hit =
                (0..=s.recent.len() - n).find(|&lo| s.recent[lo + n - 1] - s.recent[lo] <= iv);
            let Some(lo) = hit else {
                continue;
            };
            // From here on: the failures of the crossing window (and any
            // later ones kept) and all later.
            s.first_ts = s.recent[lo];
            s.failures = (s.recent.len() - lo) as u64;
            s.finding = Some(self.findings.len());
            let f = Self::summary(&self.cfg, &key, s, kind);
            self.findings.push(f.clone());
            return Some(f);
        }
        None
    }

    /// Feed one ended flow identified as SSH (any port). Returns a finding
    /// when it completes a set of alike authentication-only sessions (once
    /// per client, server and port).
    pub fn observe_ssh(&mut self, c: &ConnSummary) -> Option<BruteForceFinding> {
        let horizon = self.advance(c.ts_ns);
        let cfg = self.cfg.ssh.clone();
        if cfg.sessions == 0 || c.ts_ns < horizon {
            return None;
        }
        let key = (c.src, c.dst, c.dst_port);
        if ssh_attempt_from_conn(c, &cfg.heuristic).is_none() {
            return self.ssh_after_guessing(c, &key);
        }
        let Some(st) = self.ssh.touch(&key, c.ts_ns, SshState::default) else {
            self.untracked += 1;
            return None;
        };
        let sess = SshSession {
            ts: c.ts_ns,
            duration: c.duration_ns,
            orig_bytes: c.orig_payload_bytes,
            resp_bytes: c.resp_payload_bytes,
            orig_pkts: c.orig_pkts,
        };
        if let Some(i) = st.finding {
            let f = &mut self.findings[i];
            f.failures += 1;
            f.first_ts_ns = f.first_ts_ns.min(c.ts_ns);
            f.last_ts_ns = f.last_ts_ns.max(c.ts_ns);
            return None;
        }
        let at = st.sessions.partition_point(|s| s.ts <= c.ts_ns);
        st.sessions.insert(at, sess);
        let newest = st.sessions.back().map_or(c.ts_ns, |s| s.ts);
        while st
            .sessions
            .front()
            .is_some_and(|s| s.ts.saturating_add(cfg.interval_ns) < newest)
        {
            st.sessions.pop_front();
        }
        // Enough to judge, and bounded: the latest 4 x sessions.
        let cap = cfg.sessions.saturating_mul(4).max(16);
        while st.sessions.len() > cap {
            st.sessions.pop_front();
        }
        if st.sessions.len() < cfg.sessions {
            return None;
        }
        let med = |f: fn(&SshSession) -> u64| -> u64 {
            let mut v: Vec<u64> = st.sessions.iter().map(f).collect();
            v.sort_unstable();
            v[v.len() / 2]
        };
        let pattern = SshSession {
            ts: 0,
            duration: med(|s| s.duration),
            orig_bytes: med(|s| s.orig_bytes),
            resp_bytes: med(|s| s.resp_bytes),
            orig_pkts: med(|s| s.orig_pkts),
        };
        let near = |x: u64, m: u64| (x as f64 - m as f64).abs() <= cfg.tolerance * m as f64;
        // Durations: within a factor of 3 (server-side delays after failed
        // passwords vary), with half a second of slack for short ones.
        let near_t = |x: u64, m: u64| {
            let slack = NS_PER_SEC / 2;
            x.saturating_mul(3).saturating_add(slack) >= m
                && x <= m.saturating_mul(3).saturating_add(slack)
        };
        let alike: Vec<&SshSession> = st
            .sessions
            .iter()
            .filter(|s| {
                near(s.orig_bytes, pattern.orig_bytes)
                    && near(s.resp_bytes, pattern.resp_bytes)
                    && near(s.orig_pkts, pattern.orig_pkts)
                    && near_t(s.duration, pattern.duration)
            })
            .collect();
        if alike.len() < cfg.sessions {
            return None;
        }
        let f = BruteForceFinding {
            rule: BruteKind::SshSessions,
            threshold: cfg.sessions as u64,
            window_s: cfg.interval_ns as f64 / 1e9,
            client: c.src,
            server: c.dst,
            server_port: c.dst_port,
            service: "SSH".to_string(),
            failures: alike.len() as u64,
            successes: 0,
            first_ts_ns: alike.iter().map(|s| s.ts).min().unwrap_or(c.ts_ns),
            last_ts_ns: alike.iter().map(|s| s.ts).max().unwrap_or(c.ts_ns),
            users: Vec::new(),
            distinct_users: 0,
            success_ts_ns: None,
            ssh: Some(SshPattern {
                duration_s: pattern.duration as f64 / 1e9,
                orig_bytes: pattern.orig_bytes,
                resp_bytes: pattern.resp_bytes,
                orig_pkts: pattern.orig_pkts,
            }),
        };
        st.finding = Some(self.findings.len());
        st.sessions = VecDeque::new();
        self.findings.push(f.clone());
        Some(f)
    }

    /// An SSH session that is *not* an authentication-only one (it lasted
    /// or moved data: it got past authentication) from a client whose
    /// guessing was recognised, to the same server port within the window:
    /// probably a guess that worked ([`BruteKind::LoginAfterFailures`],
    /// once per client, server and port).
    fn ssh_after_guessing(
        &mut self,
        c: &ConnSummary,
        key: &(IpAddr, IpAddr, u16),
    ) -> Option<BruteForceFinding> {
        let handshake = c.history.contains('h') && c.history.contains('A');
        if c.proto != 6
            || !handshake
            || c.orig_payload_bytes < self.cfg.ssh.heuristic.min_orig_payload
        {
            return None;
        }
        let window = self.cfg.ssh.interval_ns;
        let st = self.ssh.get_mut(key)?;
        let i = st.finding?;
        let f = self.findings.get(i)?;
        // Started after the guessing began, and within the window of its
        // last session.
        if st.success_raised
            || c.ts_ns < f.first_ts_ns
            || c.ts_ns.saturating_sub(f.last_ts_ns) > window
        {
            return None;
        }
        st.success_raised = true;
        let mut out = f.clone();
        out.rule = BruteKind::LoginAfterFailures;
        out.threshold = self.cfg.ssh.sessions as u64;
        out.successes = 1;
        out.success_ts_ns = Some(c.ts_ns);
        if let Some(f) = self.findings.get_mut(i) {
            f.successes += 1;
        }
        Some(out)
    }

    fn summary(cfg: &BruteForceConfig, k: &Key, s: &State, rule: BruteKind) -> BruteForceFinding {
        let (threshold, iv) = match rule {
            BruteKind::Rate => (cfg.rate_threshold, cfg.rate_interval_ns),
            BruteKind::LoginAfterFailures => (cfg.success_after, cfg.interval_ns),
            BruteKind::SshSessions => (cfg.ssh.sessions, cfg.ssh.interval_ns),
            BruteKind::Volume => (cfg.threshold, cfg.interval_ns),
        };
        BruteForceFinding {
            rule,
            threshold: threshold as u64,
            window_s: iv as f64 / 1e9,
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
            success_ts_ns: None,
            ssh: None,
        }
    }

    /// Final summaries of every rate, volume and SSH-sessions finding
    /// raised, in the order raised.
    pub fn finish(self) -> Vec<BruteForceFinding> {
        let mut out = self.findings;
        for (k, s) in self.state.drain() {
            if let Some(i) = s.finding {
                out[i] = Self::summary(&self.cfg, &k, &s, out[i].rule);
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
            // OpenSSH with PAM waits about 2 s after each wrong password and
            // allows 6 per session (MaxAuthTries): a guessing session can
            // last 15 s and more.
            max_duration_ns: 60 * NS_PER_SEC,
            min_orig_payload: 1000,
            max_total_payload: 20_000,
            max_orig_pkts: 40,
        }
    }
}

/// "A short SSH session": the outcome of SSH authentication is encrypted,
/// so a session counts as a possible *failed* login attempt when it
/// completed the TCP handshake and the key exchange (client payload at
/// least `min_orig_payload`), then ended (FIN or RST seen, state SF, S2,
/// S3, RSTO or RSTR) within `max_duration` carrying little data (total
/// payload at most `max_total_payload`, client packets at most
/// `max_orig_pkts`) -- a password guesser's session. Anything else returns
/// `None` (not counted either way): interactive sessions are long or
/// large, banner grabs never reach the key exchange. Short legitimate
/// automation (`ssh host true` in a loop) looks the same, which is why
/// [`BruteForceDetector::observe_ssh`] also asks for several alike ones;
/// the user name is never known.
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
