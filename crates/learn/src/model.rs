//! The model file: versioned JSON that a person can read and edit.
//!
//! ```json
//! {
//!   "version": 1,
//!   "protocol": "ftp",
//!   "algorithm": "prefixspan",
//!   "min_support": 0.05,
//!   "min_support_sessions": 12,
//!   "max_pattern_len": 6,
//!   "sessions": 240,
//!   "scoring": {"min_coverage": 0.5, "repeat_factor": 2.0, "repeat_slack": 3},
//!   "patterns": [{"items": ["USER:331", "PASS:230"], "support": 240}, ...],
//!   "items": {"USER:331": {"sessions": 240, "min": 1, "max": 1, "mean": 1.0, "sd": 0.0, "p95": 1}, ...},
//!   "transitions": {"^": {"USER:331": 240}, "USER:331": {"PASS:230": 238, ...}, ...},
//!   "features": {"bounce_sessions": 0}
//! }
//! ```
//!
//! * `patterns`: every frequent sequential pattern (support in sessions).
//! * `items`: how often each item occurs in one session, over the training
//!   sessions that contain it — the repetition the patterns cannot see.
//! * `transitions`: item → next item counts; `^` is the session start and
//!   `$` its end.
//! * `features`: argument features (FTP: sessions whose PORT/EPRT named a
//!   host other than the client).
//!
//! [`Model::from_json`] validates everything (version, protocol, ranges,
//! unknown fields, patterns naming unknown items) and names the path of the
//! first error (`patterns[3].support: 900 > sessions 240`).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::mine::{self, absolute_support, MineConfig, MineError};
use crate::session::{Protocol, Session};

/// The model format's version.
pub const VERSION: u32 = 1;
/// Most patterns a model may hold.
pub const MAX_MODEL_PATTERNS: usize = 1_000_000;
/// Most distinct items a model may hold.
pub const MAX_MODEL_ITEMS: usize = 100_000;
/// Start and end markers in `transitions`.
pub const START: &str = "^";
pub const END: &str = "$";

/// Scoring thresholds (editable).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScoringParams {
    /// A session whose fraction of steps covered by learned patterns (of
    /// length >= 2) is below this is "unsupported". Learned: the 1st
    /// percentile of the training sessions' own coverage, rounded down to
    /// 0.05 and kept within [0.3, 0.9] (see [`Model::train`]).
    pub min_coverage: f64,
    /// An item repeats "far beyond" training when its count in one session
    /// exceeds `max(repeat_factor * max, max + repeat_slack)`, `max` being
    /// the most seen in one training session (0 if never seen).
    pub repeat_factor: f64,
    pub repeat_slack: u64,
}

impl Default for ScoringParams {
    fn default() -> Self {
        ScoringParams {
            min_coverage: 0.5,
            repeat_factor: 2.0,
            repeat_slack: 3,
        }
    }
}

/// One learned pattern.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PatternRec {
    pub items: Vec<String>,
    /// Training sessions that contain it.
    pub support: u64,
}

/// How often an item occurs per session, over the sessions that have it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ItemStats {
    pub sessions: u64,
    pub min: u64,
    pub max: u64,
    pub mean: f64,
    pub sd: f64,
    pub p95: u64,
}

/// Argument features.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Features {
    /// Training sessions with an FTP bounce (PORT/EPRT to a third host).
    pub bounce_sessions: u64,
    /// FTP directories used in training, with the number of sessions that
    /// used each (at most 1024). Empty: not checked.
    #[serde(default)]
    pub dirs: BTreeMap<String, u64>,
}

/// A learned model of one protocol's sessions.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Model {
    pub version: u32,
    pub protocol: String,
    pub algorithm: String,
    pub min_support: f64,
    pub min_support_sessions: u64,
    pub max_pattern_len: usize,
    pub sessions: u64,
    pub scoring: ScoringParams,
    pub patterns: Vec<PatternRec>,
    pub items: BTreeMap<String, ItemStats>,
    pub transitions: BTreeMap<String, BTreeMap<String, u64>>,
    pub features: Features,
}

/// The mining algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Gsp,
    PrefixSpan,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Gsp => "gsp",
            Algorithm::PrefixSpan => "prefixspan",
        }
    }
}

/// Training parameters.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// Fraction of sessions (0 < f <= 1), or an absolute count when > 1.
    pub min_support: f64,
    pub max_pattern_len: usize,
    pub max_patterns: usize,
    pub algorithm: Algorithm,
    pub scoring: ScoringParams,
    /// Set `scoring.min_coverage` from the training sessions' coverage.
    pub learn_coverage: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            min_support: 0.05,
            max_pattern_len: 6,
            max_patterns: 50_000,
            algorithm: Algorithm::PrefixSpan,
            scoring: ScoringParams::default(),
            learn_coverage: true,
        }
    }
}

/// Errors of training and loading.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("no {0} sessions to learn from")]
    NoSessions(&'static str),
    #[error("{0}")]
    Mine(#[from] MineError),
    #[error("invalid model: {path}: {msg}")]
    Invalid { path: String, msg: String },
    #[error("model is not JSON: {0}")]
    Json(#[from] serde_json::Error),
}

fn invalid(path: impl Into<String>, msg: impl Into<String>) -> ModelError {
    ModelError::Invalid {
        path: path.into(),
        msg: msg.into(),
    }
}

/// Interns item strings as ids in sorted order (deterministic).
pub fn vocab<'a>(seqs: impl Iterator<Item = &'a Vec<String>>) -> Vec<String> {
    let mut v: Vec<String> = seqs.flat_map(|s| s.iter().cloned()).collect();
    v.sort();
    v.dedup();
    v
}

impl Model {
    /// Learns from training sessions (their items; sessions without any
    /// item are skipped).
    pub fn train(
        proto: Protocol,
        sessions: &[Session],
        cfg: &TrainConfig,
    ) -> Result<Model, ModelError> {
        let sessions: Vec<&Session> = sessions.iter().filter(|s| !s.items.is_empty()).collect();
        if sessions.is_empty() {
            return Err(ModelError::NoSessions(proto.as_str()));
        }
        let n = sessions.len();
        let words = vocab(sessions.iter().map(|s| &s.items));
        let id: HashMap<&str, u32> = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.as_str(), i as u32))
            .collect();
        let db: Vec<Vec<u32>> = sessions
            .iter()
            .map(|s| s.items.iter().map(|w| id[w.as_str()]).collect())
            .collect();
        let min_abs = if cfg.min_support > 1.0 {
            cfg.min_support.min(u32::MAX as f64) as u32
        } else {
            absolute_support(cfg.min_support, n)
        };
        let mcfg = MineConfig {
            min_support: min_abs,
            max_len: cfg.max_pattern_len,
            max_patterns: cfg.max_patterns,
        };
        let pats = match cfg.algorithm {
            Algorithm::Gsp => mine::gsp(&db, &mcfg)?,
            Algorithm::PrefixSpan => mine::prefixspan(&db, &mcfg)?,
        };
        let patterns: Vec<PatternRec> = pats
            .into_iter()
            .map(|p| PatternRec {
                items: p.items.iter().map(|&i| words[i as usize].clone()).collect(),
                support: u64::from(p.support),
            })
            .collect();
        // Per-session counts of each item.
        let mut per_item: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        let mut transitions: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        let mut bounce_sessions = 0;
        let mut dirs: BTreeMap<String, u64> = BTreeMap::new();
        for s in &sessions {
            for (item, &c) in &s.counts {
                per_item.entry(item.clone()).or_default().push(c);
            }
            let mut prev = START;
            for it in &s.items {
                *transitions
                    .entry(prev.to_string())
                    .or_default()
                    .entry(it.clone())
                    .or_default() += 1;
                prev = it;
            }
            *transitions
                .entry(prev.to_string())
                .or_default()
                .entry(END.to_string())
                .or_default() += 1;
            if s.bounce.is_some() {
                bounce_sessions += 1;
            }
            for (_, d) in &s.dirs {
                if dirs.len() < 1024 || dirs.contains_key(d) {
                    *dirs.entry(d.clone()).or_insert(0) += 1;
                }
            }
        }
        let items = per_item
            .into_iter()
            .map(|(k, mut v)| {
                v.sort_unstable();
                let len = v.len() as f64;
                let mean = v.iter().sum::<u64>() as f64 / len;
                let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / len;
                let p95 = v[((v.len() - 1) as f64 * 0.95).round() as usize];
                let stats = ItemStats {
                    sessions: v.len() as u64,
                    min: v[0],
                    max: v[v.len() - 1],
                    mean: round3(mean),
                    sd: round3(var.sqrt()),
                    p95,
                };
                (k, stats)
            })
            .collect();
        let mut scoring = cfg.scoring.clone();
        if cfg.learn_coverage {
            // The training sessions' own coverage by the learned patterns:
            // a session less covered than 99% of normal ones is unusual.
            let recs: Vec<PatternRec> = patterns_tmp(&patterns);
            let pairs = crate::score::pairs(&recs);
            let mut cov: Vec<f64> = sessions
                .iter()
                .map(|s| crate::score::coverage(&pairs, &s.items).0)
                .collect();
            cov.sort_by(f64::total_cmp);
            let p01 = cov[(cov.len() - 1) / 100];
            scoring.min_coverage = ((p01 * 20.0).floor() / 20.0).clamp(0.3, 0.9);
        }
        Ok(Model {
            version: VERSION,
            protocol: proto.as_str().to_string(),
            algorithm: cfg.algorithm.as_str().to_string(),
            min_support: if cfg.min_support > 1.0 {
                f64::from(min_abs) / n as f64
            } else {
                cfg.min_support
            },
            min_support_sessions: u64::from(min_abs),
            max_pattern_len: cfg.max_pattern_len,
            sessions: n as u64,
            scoring,
            patterns,
            items,
            transitions,
            features: Features {
                bounce_sessions,
                dirs,
            },
        })
    }

    /// The model as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Parses and validates a model.
    pub fn from_json(text: &str) -> Result<Model, ModelError> {
        let v: Value = serde_json::from_str(text)?;
        check_keys(
            &v,
            "",
            &[
                "version",
                "protocol",
                "algorithm",
                "min_support",
                "min_support_sessions",
                "max_pattern_len",
                "sessions",
                "scoring",
                "patterns",
                "items",
                "transitions",
                "features",
            ],
        )?;
        // The version first: a newer format should say so, not fail on a field.
        match v.get("version").and_then(Value::as_u64) {
            Some(1) => {}
            Some(n) => {
                return Err(invalid(
                    "version",
                    format!("{n} is not supported (this netsift reads version {VERSION})"),
                ))
            }
            None => return Err(invalid("version", "missing or not a number")),
        }
        if let Some(s) = v.get("scoring") {
            check_keys(
                s,
                "scoring",
                &["min_coverage", "repeat_factor", "repeat_slack"],
            )?;
        }
        if let Some(s) = v.get("features") {
            check_keys(s, "features", &["bounce_sessions", "dirs"])?;
        }
        if let Some(Value::Array(ps)) = v.get("patterns") {
            for (i, p) in ps.iter().enumerate() {
                check_keys(p, &format!("patterns[{i}]"), &["items", "support"])?;
            }
        }
        if let Some(Value::Object(items)) = v.get("items") {
            for (k, s) in items {
                check_keys(
                    s,
                    &format!("items.{k:?}"),
                    &["sessions", "min", "max", "mean", "sd", "p95"],
                )?;
            }
        }
        let m: Model = serde_json::from_value(v).map_err(|e| invalid("(model)", e.to_string()))?;
        m.validate()?;
        Ok(m)
    }

    /// Checks ranges and references.
    pub fn validate(&self) -> Result<(), ModelError> {
        if Protocol::parse(&self.protocol).is_none() {
            return Err(invalid(
                "protocol",
                format!("{:?} is not one of ftp, smtp, pop3, imap", self.protocol),
            ));
        }
        if self.algorithm != "gsp" && self.algorithm != "prefixspan" {
            return Err(invalid("algorithm", "must be \"gsp\" or \"prefixspan\""));
        }
        if !(self.min_support > 0.0 && self.min_support <= 1.0) {
            return Err(invalid("min_support", "must be a fraction in (0, 1]"));
        }
        if self.sessions == 0 {
            return Err(invalid("sessions", "must be at least 1"));
        }
        // Bounds, so a hand-made model cannot make scoring slow.
        if self.patterns.len() > MAX_MODEL_PATTERNS {
            return Err(invalid(
                "patterns",
                format!("more than {MAX_MODEL_PATTERNS} patterns"),
            ));
        }
        if self.items.len() > MAX_MODEL_ITEMS {
            return Err(invalid(
                "items",
                format!("more than {MAX_MODEL_ITEMS} items"),
            ));
        }
        let sc = &self.scoring;
        if !(0.0..=1.0).contains(&sc.min_coverage) {
            return Err(invalid("scoring.min_coverage", "must be in [0, 1]"));
        }
        if !(sc.repeat_factor.is_finite() && sc.repeat_factor >= 1.0) {
            return Err(invalid("scoring.repeat_factor", "must be a number >= 1"));
        }
        for (i, p) in self.patterns.iter().enumerate() {
            if p.items.is_empty() {
                return Err(invalid(format!("patterns[{i}].items"), "empty pattern"));
            }
            if p.items.len() > 64 {
                return Err(invalid(
                    format!("patterns[{i}].items"),
                    "longer than 64 items",
                ));
            }
            for (j, it) in p.items.iter().enumerate() {
                if !self.items.contains_key(it) {
                    return Err(invalid(
                        format!("patterns[{i}].items[{j}]"),
                        format!("{it:?} is not in \"items\""),
                    ));
                }
            }
            if p.support == 0 || p.support > self.sessions {
                return Err(invalid(
                    format!("patterns[{i}].support"),
                    format!("{} is not in 1..={} (sessions)", p.support, self.sessions),
                ));
            }
        }
        for (k, s) in &self.items {
            let path = format!("items.{k:?}");
            if s.min > s.max {
                return Err(invalid(path, format!("min {} > max {}", s.min, s.max)));
            }
            if !(s.mean.is_finite() && s.sd.is_finite() && s.mean >= 0.0 && s.sd >= 0.0) {
                return Err(invalid(path, "mean and sd must be finite and >= 0"));
            }
            if s.sessions > self.sessions {
                return Err(invalid(
                    path,
                    format!("sessions {} > model sessions {}", s.sessions, self.sessions),
                ));
            }
        }
        for (from, tos) in &self.transitions {
            if from != START && !self.items.contains_key(from) {
                return Err(invalid(
                    format!("transitions.{from:?}"),
                    "is not in \"items\" (nor the start \"^\")",
                ));
            }
            for to in tos.keys() {
                if to != END && !self.items.contains_key(to) {
                    return Err(invalid(
                        format!("transitions.{from:?}.{to:?}"),
                        "is not in \"items\" (nor the end \"$\")",
                    ));
                }
            }
        }
        Ok(())
    }
}

fn patterns_tmp(p: &[PatternRec]) -> Vec<PatternRec> {
    p.iter().filter(|p| p.items.len() == 2).cloned().collect()
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn check_keys(v: &Value, path: &str, allowed: &[&str]) -> Result<(), ModelError> {
    let Value::Object(m) = v else {
        return Err(invalid(
            if path.is_empty() { "(top)" } else { path },
            "must be an object",
        ));
    };
    for k in m.keys() {
        if !allowed.contains(&k.as_str()) {
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            return Err(invalid(
                p,
                format!("unknown field (expected one of: {})", allowed.join(", ")),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    pub(crate) fn session(uid: &str, items: &[&str]) -> Session {
        let mut counts: HashMap<String, u64> = HashMap::new();
        for i in items {
            *counts.entry(i.to_string()).or_default() += 1;
        }
        Session {
            uid: uid.into(),
            src_ip: "127.0.0.1".parse().unwrap(),
            src_port: 40000,
            dst_ip: "127.0.0.1".parse().unwrap(),
            dst_port: 21,
            first_ts: 0,
            last_ts: 0,
            items: items.iter().map(|s| s.to_string()).collect(),
            total: items.len() as u64,
            counts,
            bounce: None,
            cwd: "/".into(),
            dirs: Vec::new(),
        }
    }

    fn tiny() -> Model {
        let s = vec![
            session("a", &["USER:331", "PASS:230", "LIST:226", "QUIT:221"]),
            session("b", &["USER:331", "PASS:230", "QUIT:221"]),
            session(
                "c",
                &["USER:331", "PASS:530", "USER:331", "PASS:230", "QUIT:221"],
            ),
        ];
        let cfg = TrainConfig {
            min_support: 0.6,
            ..Default::default()
        };
        Model::train(Protocol::Ftp, &s, &cfg).unwrap()
    }

    #[test]
    fn train_counts_items_and_transitions() {
        let m = tiny();
        assert_eq!(m.sessions, 3);
        assert_eq!(m.min_support_sessions, 2);
        let u = &m.items["USER:331"];
        assert_eq!((u.sessions, u.min, u.max, u.p95), (3, 1, 2, 2));
        assert_eq!(m.transitions["^"]["USER:331"], 3);
        assert_eq!(m.transitions["PASS:230"]["QUIT:221"], 2);
        assert_eq!(m.transitions["QUIT:221"]["$"], 3);
        // Support 2 of 3: LIST and PASS:530 (1 session each) are not in any pattern.
        assert!(m
            .patterns
            .iter()
            .all(|p| !p.items.contains(&"LIST:226".to_string())));
        assert!(m
            .patterns
            .iter()
            .any(|p| p.items == ["USER:331", "PASS:230", "QUIT:221"] && p.support == 3));
    }

    #[test]
    fn json_round_trip_and_validation() {
        let m = tiny();
        let text = m.to_json();
        assert_eq!(Model::from_json(&text).unwrap(), m);

        let edit = |f: &dyn Fn(&mut Value)| {
            let mut v: Value = serde_json::from_str(&text).unwrap();
            f(&mut v);
            Model::from_json(&v.to_string()).unwrap_err().to_string()
        };
        assert!(edit(&|v| v["version"] = 2.into()).contains("version: 2 is not supported"));
        assert!(edit(&|v| v["protocol"] = "gopher".into()).contains("protocol:"));
        assert!(edit(&|v| v["bogus"] = 1.into()).contains("bogus: unknown field"));
        assert!(edit(&|v| v["patterns"][1]["colour"] = 1.into())
            .contains("patterns[1].colour: unknown field"));
        assert!(edit(&|v| v["patterns"][0]["support"] = 99.into())
            .contains("patterns[0].support: 99 is not in 1..=3"));
        assert!(edit(&|v| v["patterns"][0]["items"][0] = "NOPE:1".into())
            .contains("patterns[0].items[0]: \"NOPE:1\" is not in"));
        assert!(
            edit(&|v| v["scoring"]["min_coverage"] = 1.5.into()).contains("scoring.min_coverage")
        );
        assert!(edit(&|v| v["items"]["USER:331"]["min"] = 9.into())
            .contains("items.\"USER:331\": min 9 > max 2"));
        assert!(edit(&|v| v["transitions"]["X:1"] = serde_json::json!({}))
            .contains("transitions.\"X:1\""));
        assert!(edit(&|v| v["sessions"] = "many".into()).contains("invalid model"));
        // A hand edit that stays valid loads.
        let mut v: Value = serde_json::from_str(&text).unwrap();
        v["scoring"]["repeat_factor"] = 3.0.into();
        assert_eq!(
            Model::from_json(&v.to_string())
                .unwrap()
                .scoring
                .repeat_factor,
            3.0
        );
    }

    #[test]
    fn no_sessions_is_an_error() {
        let e = Model::train(Protocol::Ftp, &[session("x", &[])], &TrainConfig::default());
        assert!(matches!(e, Err(ModelError::NoSessions("ftp"))));
    }
}
