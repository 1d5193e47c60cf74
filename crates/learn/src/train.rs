//! Training: a [`Model`] from sessions ([`Model::train`], [`Model::train_one`])
//! and the model of session chains ([`chain_model`]).
//!
//! Training mines patterns ([`crate::mine`]), learns the coverage threshold
//! with the scorer's own measure ([`crate::score`]) and the chain model
//! from session outcomes; it sits above the model file ([`crate::model`]),
//! which knows nothing of scoring, so dependencies point one way:
//! train → score → model.

use std::collections::{BTreeMap, HashMap};

use crate::capability::{self, class_item};
use crate::chain::{Key, DEFAULT_GAP_S, DEFAULT_WINDOW, MIN_GAP_S};
use crate::mine::{self, absolute_support, MineConfig};
use crate::model::*;
use crate::score;
use crate::session::{Protocol, Session};

impl Model {
    /// Learns from training sessions (their items; sessions without any
    /// item are skipped): the general model, and with `cfg.per_server` a
    /// model per server (address, port and banner software) with enough
    /// sessions, and with `cfg.chains` the model of session chains.
    pub fn train(
        proto: Protocol,
        sessions: &[Session],
        cfg: &TrainConfig,
    ) -> Result<Model, ModelError> {
        let all: Vec<&Session> = sessions.iter().filter(|s| !s.items.is_empty()).collect();
        let negotiation = capability::default_list(proto);
        let mut m = Model::train_one(proto, &all, cfg, &negotiation)?;
        if cfg.per_server {
            let mut groups: BTreeMap<(String, Option<String>), Vec<&Session>> = BTreeMap::new();
            for s in &all {
                groups
                    .entry((server_key(s.dst_ip, s.dst_port), s.software.clone()))
                    .or_default()
                    .push(s);
            }
            // One server alone is the general model already.
            if groups.len() > 1 {
                for ((address, software), ss) in groups {
                    if ss.len() >= cfg.min_server_sessions.max(1) {
                        let sm = Model::train_one(proto, &ss, cfg, &negotiation)?;
                        m.servers.push(ServerModel {
                            address,
                            software,
                            model: Box::new(sm),
                        });
                    }
                }
            }
        }
        if cfg.chains {
            m.chain = chain_model(proto, sessions, cfg)?;
        }
        Ok(m)
    }

    /// One model from `sessions` (no servers, no chains).
    pub fn train_one(
        proto: Protocol,
        sessions: &[&Session],
        cfg: &TrainConfig,
        negotiation: &[String],
    ) -> Result<Model, ModelError> {
        if sessions.is_empty() {
            return Err(ModelError::NoSessions(proto.as_str()));
        }
        // The order transitions and patterns model: without negotiation.
        let cores: Vec<Vec<String>> = sessions
            .iter()
            .map(|s| {
                s.core(negotiation, true)
                    .into_iter()
                    .map(|(_, it)| it.to_string())
                    .collect()
            })
            .collect();
        let n = sessions.len();
        let words = vocab(cores.iter().chain(sessions.iter().map(|s| &s.items)));
        let id: HashMap<&str, u32> = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.as_str(), i as u32))
            .collect();
        let db: Vec<Vec<u32>> = cores
            .iter()
            .map(|s| s.iter().map(|w| id[w.as_str()]).collect())
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
        let mut class_transitions: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        let mut dirs: BTreeMap<String, u64> = BTreeMap::new();
        for (s, core) in sessions.iter().zip(&cores) {
            for (item, &c) in &s.counts {
                per_item.entry(item.clone()).or_default().push(c);
            }
            let mut prev = START;
            for it in core.iter().map(String::as_str).chain([END]) {
                *transitions
                    .entry(prev.to_string())
                    .or_default()
                    .entry(it.to_string())
                    .or_default() += 1;
                *class_transitions
                    .entry(class_item(prev))
                    .or_default()
                    .entry(class_item(it))
                    .or_default() += 1;
                prev = it;
            }
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
            let pairs = score::pairs(&recs);
            let cpairs = score::class_pairs(&pairs);
            // (Only sessions long enough for the check, as in scoring.)
            let mut cov: Vec<f64> = cores
                .iter()
                .filter(|c| c.len() >= score::MIN_COVERAGE_STEPS)
                .map(|c| score::coverage(&pairs, &cpairs, c).0)
                .collect();
            cov.sort_by(f64::total_cmp);
            if let Some(&p01) = cov.get(cov.len().saturating_sub(1) / 100) {
                scoring.min_coverage = ((p01 * 20.0).floor() / 20.0).clamp(0.3, 0.9);
            }
            scoring.class_rarity = u64::from(min_abs);
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
            negotiation: negotiation.to_vec(),
            negotiate_advertised: true,
            class_transitions,
            servers: Vec::new(),
            chain: None,
        })
    }
}

fn patterns_tmp(p: &[PatternRec]) -> Vec<PatternRec> {
    p.iter().filter(|p| p.items.len() == 2).cloned().collect()
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Sessions grouped by client and server, each group in time order.
fn groups<'a>(sessions: impl Iterator<Item = &'a Session>) -> BTreeMap<Key, Vec<&'a Session>> {
    let mut g: BTreeMap<Key, Vec<&Session>> = BTreeMap::new();
    for s in sessions {
        g.entry((s.src_ip, s.dst_ip, s.dst_port))
            .or_default()
            .push(s);
    }
    for v in g.values_mut() {
        v.sort_by_key(|s| (s.first_ts, s.last_ts));
    }
    g
}

fn pause_ns(prev: &Session, next: &Session) -> u64 {
    next.first_ts.saturating_sub(prev.last_ts)
}

/// The chain model of training sessions (None: no session).
pub fn chain_model(
    proto: Protocol,
    sessions: &[Session],
    cfg: &TrainConfig,
) -> Result<Option<ChainModel>, ModelError> {
    if sessions.is_empty() {
        return Ok(None);
    }
    let g = groups(sessions.iter().filter(|s| !s.encrypted));
    // The gap: pauses up to the default are inside chains.
    let mut pauses: Vec<u64> = g
        .values()
        .flat_map(|v| v.windows(2).map(|w| pause_ns(w[0], w[1]) / 1_000_000_000))
        .filter(|&p| p <= DEFAULT_GAP_S)
        .collect();
    pauses.sort_unstable();
    let gap_s = match pauses.last() {
        None => DEFAULT_GAP_S,
        Some(_) => {
            let p99 = pauses[(pauses.len() - 1) * 99 / 100];
            (2 * p99).clamp(MIN_GAP_S, DEFAULT_GAP_S)
        }
    };
    let window = DEFAULT_WINDOW;
    let mut windows: Vec<Session> = Vec::new();
    for v in g.values() {
        let mut start = 0;
        for j in 0..v.len() {
            if j > 0 && pause_ns(v[j - 1], v[j]) > gap_s * 1_000_000_000 {
                start = j;
            }
            let from = start.max((j + 1).saturating_sub(window));
            let outs: Vec<&str> = v[from..=j].iter().map(|s| s.outcome()).collect();
            windows.push(Session::of_items(&outs));
        }
    }
    let refs: Vec<&Session> = windows.iter().collect();
    let model = Model::train_one(proto, &refs, cfg, &[])?;
    Ok(Some(ChainModel {
        gap_s,
        window,
        model: Box::new(model),
    }))
}
