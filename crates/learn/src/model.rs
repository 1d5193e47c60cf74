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

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::mine::MineError;
use crate::protocol::Protocol;

/// The model format's version (2 added `negotiation`, `class_transitions`,
/// `servers`, `chain` and `scoring.class_rarity`; version 1 files still
/// load, without them).
pub const VERSION: u32 = 2;
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
    /// A step whose exact transition was never seen but whose reply-class
    /// transition was (`LIST:450` after `PASV:227`, where training had
    /// `LIST:4xx` after `PASV:2xx`) is weak evidence: reported when the
    /// session has another finding, or alone when that class transition
    /// occurred fewer than `class_rarity` times in training. Learned: the
    /// model's minimum pattern support. 0: weak steps are never reported
    /// alone.
    #[serde(default)]
    pub class_rarity: u64,
}

impl Default for ScoringParams {
    fn default() -> Self {
        ScoringParams {
            min_coverage: 0.5,
            repeat_factor: 2.0,
            repeat_slack: 3,
            class_rarity: 0,
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
    /// Capability-driven commands (see [`crate::capability`]): left out of
    /// the order that transitions and patterns model when the server
    /// offered them. Editable.
    #[serde(default)]
    pub negotiation: Vec<String>,
    /// Also treat as negotiation any FTP extension command this session's
    /// FEAT listed (RFC 2389 §3.2; see [`crate::capability`]).
    #[serde(default)]
    pub negotiate_advertised: bool,
    /// `transitions` at the level of reply classes (`PASS:2xx`).
    #[serde(default)]
    pub class_transitions: BTreeMap<String, BTreeMap<String, u64>>,
    /// Per-server models (address:port and banner software).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<ServerModel>,
    /// The model of session chains (per client and server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<ChainModel>,
}

/// The model of session chains.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChainModel {
    /// A pause longer than this (seconds) between two sessions of one
    /// client and server starts a new chain. Learned: twice the 99th
    /// percentile of the pauses of training chains, within
    /// [`crate::chain::MIN_GAP_S`]..=[`crate::chain::DEFAULT_GAP_S`].
    pub gap_s: u64,
    /// Most sessions in a window.
    pub window: usize,
    /// Outcomes as items: counts per window, transitions, patterns.
    pub model: Box<Model>,
}

impl ChainModel {
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.gap_s == 0 {
            return Err(invalid("chain.gap_s", "must be at least 1"));
        }
        if !(1..=1024).contains(&self.window) {
            return Err(invalid("chain.window", "must be in 1..=1024"));
        }
        if !self.model.servers.is_empty() || self.model.chain.is_some() {
            return Err(invalid("chain.model", "may not nest servers or chain"));
        }
        self.model.validate().map_err(|e| prefix(e, "chain.model"))
    }
}

/// The model of one server's sessions.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ServerModel {
    /// `address:port` (`[v6]:port` for IPv6).
    pub address: String,
    /// The software named by the banner fingerprint, if any.
    pub software: Option<String>,
    pub model: Box<Model>,
}

/// The `address:port` key of a server.
pub fn server_key(ip: std::net::IpAddr, port: u16) -> String {
    std::net::SocketAddr::new(ip, port).to_string()
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
    /// Also learn a model per server with at least `min_server_sessions`
    /// sessions.
    pub per_server: bool,
    pub min_server_sessions: usize,
    /// Also learn the model of session chains.
    pub chains: bool,
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
            per_server: true,
            min_server_sessions: 30,
            chains: true,
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

/// `e` with its path under `at`.
pub(crate) fn prefix(e: ModelError, at: &str) -> ModelError {
    match e {
        ModelError::Invalid { path, msg } => ModelError::Invalid {
            path: format!("{at}.{path}"),
            msg,
        },
        e => e,
    }
}

pub(crate) fn invalid(path: impl Into<String>, msg: impl Into<String>) -> ModelError {
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
    /// The model as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Parses and validates a model.
    pub fn from_json(text: &str) -> Result<Model, ModelError> {
        let v: Value = serde_json::from_str(text)?;
        check_model_keys(&v, "")?;
        let m: Model = serde_json::from_value(v).map_err(|e| invalid("(model)", e.to_string()))?;
        m.validate()?;
        Ok(m)
    }

    /// Checks ranges and references (also of the per-server and chain
    /// models, whose errors name their path: `servers[1].model.sessions`).
    pub fn validate(&self) -> Result<(), ModelError> {
        self.validate_one()?;
        for (i, s) in self.servers.iter().enumerate() {
            let p = format!("servers[{i}]");
            if s.address.parse::<std::net::SocketAddr>().is_err() {
                return Err(invalid(format!("{p}.address"), "must be address:port"));
            }
            if !s.model.servers.is_empty() || s.model.chain.is_some() {
                return Err(invalid(
                    format!("{p}.model"),
                    "may not nest servers or chain",
                ));
            }
            s.model
                .validate_one()
                .map_err(|e| prefix(e, &format!("{p}.model")))?;
        }
        if let Some(c) = &self.chain {
            c.validate()?;
        }
        Ok(())
    }

    fn validate_one(&self) -> Result<(), ModelError> {
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

/// The fields of a model (at `path`, "" at the top), checked before serde
/// sees them so an edit's typo is named.
fn check_model_keys(v: &Value, path: &str) -> Result<(), ModelError> {
    let at = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    check_keys(
        v,
        path,
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
            "negotiation",
            "negotiate_advertised",
            "class_transitions",
            "servers",
            "chain",
        ],
    )?;
    // The version first: a newer format should say so, not fail on a field.
    match v.get("version").and_then(Value::as_u64) {
        Some(1 | 2) => {}
        Some(n) => {
            return Err(invalid(
                at("version"),
                format!("{n} is not supported (this netsift reads versions 1 and {VERSION})"),
            ))
        }
        None => return Err(invalid(at("version"), "missing or not a number")),
    }
    if let Some(s) = v.get("scoring") {
        check_keys(
            s,
            &at("scoring"),
            &[
                "min_coverage",
                "repeat_factor",
                "repeat_slack",
                "class_rarity",
            ],
        )?;
    }
    if let Some(s) = v.get("features") {
        check_keys(s, &at("features"), &["bounce_sessions", "dirs"])?;
    }
    if let Some(Value::Array(ps)) = v.get("patterns") {
        for (i, p) in ps.iter().enumerate() {
            check_keys(p, &at(&format!("patterns[{i}]")), &["items", "support"])?;
        }
    }
    if let Some(Value::Object(items)) = v.get("items") {
        for (k, s) in items {
            check_keys(
                s,
                &at(&format!("items.{k:?}")),
                &["sessions", "min", "max", "mean", "sd", "p95"],
            )?;
        }
    }
    if let Some(Value::Array(ss)) = v.get("servers") {
        for (i, s) in ss.iter().enumerate() {
            let p = at(&format!("servers[{i}]"));
            check_keys(s, &p, &["address", "software", "model"])?;
            if let Some(m) = s.get("model") {
                check_model_keys(m, &format!("{p}.model"))?;
            }
        }
    }
    if let Some(c) = v.get("chain") {
        let p = at("chain");
        check_keys(c, &p, &["gap_s", "window", "model"])?;
        if let Some(m) = c.get("model") {
            check_model_keys(m, &format!("{p}.model"))?;
        }
    }
    Ok(())
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
    use crate::session::Session;

    pub(crate) fn session(uid: &str, items: &[&str]) -> Session {
        let mut s = Session::of_items(items);
        s.uid = uid.into();
        s
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
        assert!(edit(&|v| v["version"] = 3.into()).contains("version: 3 is not supported"));
        // Per-server and chain models are checked under their path.
        assert!(edit(&|v| v["chain"]["model"]["bogus"] = 1.into())
            .contains("chain.model.bogus: unknown field"));
        assert!(edit(&|v| v["chain"]["window"] = 0.into()).contains("chain.window"));
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
