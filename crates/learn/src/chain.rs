//! Across sessions: a session chain is the recent sessions of one client with
//! one server, as a sequence of outcomes (`login-failed`, `login-ok`,
//! `transfer`, `error`, `other`; see [`Session::outcome`]).
//!
//! Password guessing spread over connections (three guesses per connection,
//! the server's limit, ten connections) looks normal one session at a time;
//! as a chain it is `login-failed` ten times in a row. Chains are mined and
//! scored exactly like sessions: the chain model is a [`Model`] whose items
//! are outcomes, so its per-window counts, transitions and patterns are
//! learned from training, and the same [`Scorer`] finds repetition beyond
//! training and transitions never seen. The findings become one anomaly
//! kind, `session-chain`.
//!
//! Sessions that went encrypted (STARTTLS, STLS, AUTH TLS accepted) have no
//! outcome in the records and are left out of chains.
//!
//! A window holds the client's last [`ChainModel::window`] sessions with the
//! server that follow each other with gaps of at most
//! [`ChainModel::gap_s`] seconds (a longer pause starts a new chain).
//! Training scores every window ending at a training session, so the limits
//! are what windows of normal clients reach — a user who mistypes twice
//! stays within them.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use netsift_detect::alert::{Alert, AlertType, Evidence, Severity};
use serde_json::json;

pub use crate::model::ChainModel;
use crate::score::{Detail, Scorer};
use crate::session::{Protocol, Session};

/// Longest pause inside a chain when training cannot tell (seconds).
pub const DEFAULT_GAP_S: u64 = 300;
/// Shortest learned gap.
pub const MIN_GAP_S: u64 = 60;
/// Sessions in a window.
pub const DEFAULT_WINDOW: usize = 16;
/// Most open chains while scoring (oldest dropped beyond).
pub const MAX_CHAINS: usize = 100_000;

/// A chain's client, server and port.
pub(crate) type Key = (IpAddr, IpAddr, u16);

/// One session of a chain.
#[derive(Debug, Clone)]
struct Link {
    uid: String,
    first_ts: u64,
    last_ts: u64,
    outcome: &'static str,
}

#[derive(Debug, Default)]
struct Window {
    links: VecDeque<Link>,
    /// The chain already raised its alert.
    alerted: bool,
}

/// Scores the chains of one protocol as sessions end.
pub struct Chains {
    proto: Protocol,
    gap_ns: u64,
    window: usize,
    scorer: Scorer,
    open: HashMap<Key, Window>,
    order: VecDeque<Key>,
}

impl Chains {
    pub fn new(proto: Protocol, m: &ChainModel) -> Self {
        Chains {
            proto,
            gap_ns: m.gap_s.saturating_mul(1_000_000_000),
            window: m.window.max(1),
            scorer: Scorer::new((*m.model).clone()),
            open: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Adds a finished session to its chain; the chain's alert when the
    /// chain became anomalous with it (once per chain).
    pub fn push(&mut self, s: &Session) -> Option<Alert> {
        if s.encrypted {
            return None; // its outcome is not in the records
        }
        let key = (s.src_ip, s.dst_ip, s.dst_port);
        if !self.open.contains_key(&key) {
            if self.open.len() >= MAX_CHAINS {
                while let Some(k) = self.order.pop_front() {
                    if self.open.remove(&k).is_some() {
                        break;
                    }
                }
            }
            self.order.push_back(key);
            if self.order.len() > 2 * MAX_CHAINS {
                let open = &self.open;
                self.order.retain(|k| open.contains_key(k));
            }
        }
        let w = self.open.entry(key).or_default();
        if w.links
            .back()
            .is_some_and(|l| s.first_ts.saturating_sub(l.last_ts) > self.gap_ns)
        {
            *w = Window::default();
        }
        w.links.push_back(Link {
            uid: s.uid.clone(),
            first_ts: s.first_ts,
            last_ts: s.last_ts,
            outcome: s.outcome(),
        });
        while w.links.len() > self.window {
            w.links.pop_front();
        }
        // A chain of one session is that session, scored on its own.
        if w.alerted || w.links.len() < 2 {
            return None;
        }
        let outs: Vec<&str> = w.links.iter().map(|l| l.outcome).collect();
        let findings = self.scorer.score(&Session::of_items(&outs));
        // Coverage needs a few sessions to mean anything.
        let f = findings
            .into_iter()
            .find(|f| f.kind != "unsupported" || outs.len() >= 4)?;
        w.alerted = true;
        let n = outs.len();
        let secs = w
            .links
            .back()
            .map_or(0, |l| l.last_ts)
            .saturating_sub(w.links.front().map_or(0, |l| l.first_ts)) as f64
            / 1e9;
        let chain_txt = outs.join(" → ");
        let what = match (f.kind, &f.detail) {
            (
                "repetition",
                Detail::Repetition {
                    count,
                    limit,
                    training_max,
                    ..
                },
            ) => format!(
                "{} in {count} of its last {n} sessions within {secs:.0} s (limit {limit}; a training window of normal clients had at most {training_max})",
                f.item
            ),
            ("unseen-transition", _) if f.step >= 2 => format!(
                "session {} ({}) follows {}, which no training chain did",
                f.step,
                f.item,
                outs[f.step - 2]
            ),
            ("unseen-transition", _) => format!(
                "the chain starts with {}, which no training chain did",
                f.item
            ),
            _ => format!("no learned chain pattern supports it ({})", f.explanation),
        };
        let explanation = format!(
            "session chain of {} with {}:{}: {what}; chain: {chain_txt}",
            s.src_ip, s.dst_ip, s.dst_port
        );
        let uids: Vec<&str> = w.links.iter().map(|l| l.uid.as_str()).collect();
        let mut extra = serde_json::Map::new();
        extra.insert("explanation".into(), json!(explanation));
        extra.insert("chain".into(), json!(outs));
        extra.insert("chain_uids".into(), json!(uids));
        extra.insert("chain_finding".into(), json!(f.kind));
        extra.insert("step".into(), json!(f.step));
        extra.insert("item".into(), json!(f.item));
        extra.insert("seconds".into(), json!((secs * 10.0).round() / 10.0));
        for (k, v) in f.detail.evidence() {
            extra.insert(k, v);
        }
        Some(
            Alert::new(
                s.last_ts,
                AlertType::Anomaly,
                format!("learn/{}/session-chain", self.proto.as_str()),
            )
            .with_severity(Severity::Medium)
            .with_uid(s.uid.clone())
            .with_endpoints(s.src_ip, Some(s.src_port), s.dst_ip, Some(s.dst_port))
            .with_evidence(Evidence {
                extra,
                ..Default::default()
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TrainConfig;

    fn sess(client: u8, t: u64, items: &[&str]) -> Session {
        let mut s = Session::of_items(items);
        s.src_ip = IpAddr::from([127, 0, 1, client]);
        s.first_ts = t * 1_000_000_000;
        s.last_ts = s.first_ts + 1_000_000_000;
        s.uid = format!("C{client}-{t}");
        for it in items {
            match *it {
                "PASS:230" => s.logins_ok += 1,
                "PASS:530" => s.logins_failed += 1,
                "RETR:226" => s.transfers += 1,
                _ => {}
            }
        }
        s
    }

    const OK: &[&str] = &["USER:331", "PASS:230", "RETR:226", "QUIT:221"];
    const FAIL: &[&str] = &["USER:331", "PASS:530"];

    /// Clients that log in and download, some after one or two mistyped
    /// sessions.
    fn training() -> Vec<Session> {
        let mut v = Vec::new();
        for c in 0..40u8 {
            let t = u64::from(c) * 1000;
            let typos = match c % 10 {
                0 => 2,
                1..=3 => 1,
                _ => 0,
            };
            for k in 0..typos {
                v.push(sess(c, t + k * 5, FAIL));
            }
            for k in 0..3 {
                v.push(sess(c, t + 20 + k * 5, OK));
            }
        }
        v
    }

    #[test]
    fn spread_brute_force_is_a_chain_anomaly_and_typos_are_not() {
        let cfg = TrainConfig::default();
        let m = crate::train::chain_model(Protocol::Ftp, &training(), &cfg)
            .unwrap()
            .unwrap();
        assert_eq!(m.window, DEFAULT_WINDOW);
        assert_eq!(m.model.items["login-failed"].max, 2);
        // Ten connections of failed logins from one client.
        let mut ch = Chains::new(Protocol::Ftp, &m);
        let mut alerts = Vec::new();
        for k in 0..10 {
            alerts.extend(ch.push(&sess(200, 50_000 + k * 3, FAIL)));
        }
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        let e = alerts[0].evidence.extra["explanation"].as_str().unwrap();
        assert_eq!(alerts[0].rule, "learn/ftp/session-chain");
        assert!(
            e.contains("login-failed in 6 of its last 6 sessions"),
            "{e}"
        );
        assert_eq!(alerts[0].uid.as_deref(), Some("C200-50015"));
        // A user who mistypes twice, then logs in.
        let mut ch = Chains::new(Protocol::Ftp, &m);
        for (k, s) in [FAIL, FAIL, OK, OK].iter().enumerate() {
            assert!(ch.push(&sess(201, 60_000 + k as u64 * 4, s)).is_none());
        }
        // The same failures far apart are separate chains.
        let mut ch = Chains::new(Protocol::Ftp, &m);
        for k in 0..10 {
            assert!(ch.push(&sess(202, 70_000 + k * 10_000, FAIL)).is_none());
        }
    }

    #[test]
    fn edited_chain_model_is_validated() {
        let mut m = crate::train::chain_model(Protocol::Ftp, &training(), &TrainConfig::default())
            .unwrap()
            .unwrap();
        m.window = 0;
        assert!(m
            .validate()
            .unwrap_err()
            .to_string()
            .contains("chain.window"));
    }
}
