//! Scoring a session against a model.
//!
//! A session is anomalous when (each is one finding, at most one of each
//! kind per session):
//!
//! * **unseen-transition** — it steps from one item to another (or from the
//!   start `^`) in a way no training session did, and that order is not
//!   even a learned pattern (`<a b>` not frequent, gaps allowed); an item
//!   never seen in training is always such a step (how a session ends is
//!   not checked);
//! * **repetition** — an item occurs more often than
//!   `max(repeat_factor × max, max + repeat_slack)` where `max` is the most
//!   the item occurred in one training session (brute force, floods: what
//!   plain GSP cannot see, since a pattern is supported once per session
//!   however often its items repeat);
//! * **unsupported** — no learned pattern supports it. Precisely: a step is
//!   *covered* when its item belongs to a learned pattern of length ≥ 2
//!   that the session contains; the session is supported when its coverage
//!   (covered steps / steps) is at least `min_coverage`. (Every
//!   sub-sequence of a frequent pattern is frequent, so "item x belongs to
//!   a contained frequent pattern of length ≥ 2" is the same as "x belongs
//!   to a contained frequent pattern of length 2"; that is how it is
//!   computed, in O(distinct items²).)
//! * **port-bounce** (FTP argument feature) — PORT/EPRT named a host other
//!   than the client while no training session did (RFC 2577 §2).
//! * **path-outside-training** (FTP argument feature) — the session worked in
//!   a directory (CWD, or the parent of a file argument) that no training
//!   session used.
//!
//! Each finding names the step (1-based index and item) that deviates,
//! what training expected there (the most common next items after the
//! previous step), and the learned pattern the session came closest to.
//! Everything is sorted so the explanation is deterministic.

use std::collections::{HashMap, HashSet};

use netsift_detect::alert::{Alert, AlertType, Evidence, Severity};
use serde_json::{json, Value};

use crate::model::{Model, END, START};
use crate::session::Session;

/// A model prepared for scoring.
pub struct Scorer {
    pub model: Model,
    /// Patterns of length >= 2 as item lists (model order).
    long: Vec<Vec<String>>,
    /// Frequent 2-patterns.
    pairs: HashMap<String, Vec<String>>,
}

/// One reason a session is anomalous.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// `unseen-transition`, `repetition`, `unsupported`, `port-bounce`.
    pub kind: &'static str,
    /// 1-based step that deviates, and its item.
    pub step: usize,
    pub item: String,
    /// What training had after the previous step: (item, sessions), most
    /// common first (at most 3).
    pub expected: Vec<(String, u64)>,
    /// The plain-language explanation.
    pub explanation: String,
    /// Extra numbers (count/limit for repetition, coverage, ...).
    pub detail: Value,
}

/// The frequent 2-patterns, first item → second items.
pub fn pairs(patterns: &[crate::model::PatternRec]) -> HashMap<String, Vec<String>> {
    let mut pairs: HashMap<String, Vec<String>> = HashMap::new();
    for p in patterns.iter().filter(|p| p.items.len() == 2) {
        pairs
            .entry(p.items[0].clone())
            .or_default()
            .push(p.items[1].clone());
    }
    pairs
}

/// The fraction of a session's steps covered by learned patterns, and the
/// covered items. `<a b>` is contained iff the first `a` comes before the
/// last `b`.
pub fn coverage<'s>(
    pairs: &HashMap<String, Vec<String>>,
    items: &'s [String],
) -> (f64, HashSet<&'s str>) {
    let mut first: HashMap<&str, usize> = HashMap::new();
    let mut last: HashMap<&str, usize> = HashMap::new();
    for (i, it) in items.iter().enumerate() {
        first.entry(it.as_str()).or_insert(i);
        last.insert(it.as_str(), i);
    }
    let mut covered: HashSet<&str> = HashSet::new();
    for (&a, &fa) in &first {
        if let Some(nexts) = pairs.get(a) {
            for b in nexts {
                if let Some((&k, &lb)) = last.get_key_value(b.as_str()) {
                    if lb > fa {
                        covered.insert(a);
                        covered.insert(k);
                    }
                }
            }
        }
    }
    let n = items
        .iter()
        .filter(|i| covered.contains(i.as_str()))
        .count();
    (n as f64 / items.len().max(1) as f64, covered)
}

/// Most steps a closest-pattern search looks at.
const CLOSEST_SCAN: usize = 256;

impl Scorer {
    pub fn new(model: Model) -> Self {
        let long: Vec<Vec<String>> = model
            .patterns
            .iter()
            .filter(|p| p.items.len() >= 2)
            .map(|p| p.items.clone())
            .collect();
        let pairs = pairs(&model.patterns);
        Scorer { model, long, pairs }
    }

    /// The most common next items after `prev` in training (at most 3).
    fn expected_after(&self, prev: &str) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = self
            .model
            .transitions
            .get(prev)
            .map(|m| m.iter().map(|(k, c)| (k.clone(), *c)).collect())
            .unwrap_or_default();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v.truncate(3);
        v
    }

    fn seen_transition(&self, from: &str, to: &str) -> bool {
        self.model
            .transitions
            .get(from)
            .is_some_and(|m| m.get(to).is_some_and(|&c| c > 0))
    }

    /// The learned pattern (length >= 2) whose longest prefix embedded in
    /// the session is longest; ties: fewer unmatched items, higher support,
    /// model order. Returns (pattern index, matched items).
    fn closest(&self, items: &[String]) -> Option<(usize, usize)> {
        let items = &items[..items.len().min(CLOSEST_SCAN)];
        let mut best: Option<(usize, usize, usize, u64)> = None; // idx, matched, missing, support
        let supports: Vec<u64> = self
            .model
            .patterns
            .iter()
            .filter(|p| p.items.len() >= 2)
            .map(|p| p.support)
            .collect();
        for (i, p) in self.long.iter().enumerate() {
            let mut pos = 0;
            let mut matched = 0;
            for it in p {
                match items[pos..].iter().position(|s| s == it) {
                    Some(o) => {
                        pos += o + 1;
                        matched += 1;
                    }
                    None => break,
                }
            }
            let missing = p.len() - matched;
            let better = match best {
                None => true,
                Some((_, bm, bmiss, bs)) => {
                    (matched, std::cmp::Reverse(missing), supports[i])
                        > (bm, std::cmp::Reverse(bmiss), bs)
                }
            };
            if better {
                best = Some((i, matched, missing, supports[i]));
            }
        }
        best.map(|(i, m, _, _)| (i, m))
    }

    fn describe_expected(exp: &[(String, u64)]) -> String {
        if exp.is_empty() {
            return "nothing (training never reached that step)".into();
        }
        exp.iter()
            .map(|(k, c)| {
                let k = if k == END {
                    "end of session"
                } else {
                    k.as_str()
                };
                format!("{k} ({c} sessions)")
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Scores one session; empty when normal.
    pub fn score(&self, s: &Session) -> Vec<Finding> {
        let mut out = Vec::new();
        if s.items.is_empty() {
            return out;
        }
        let sc = &self.model.scoring;
        // Unseen transitions: the first one is the finding.
        let mut unseen = 0usize;
        let mut first_unseen: Option<(usize, String, String)> = None;
        let mut prev = START.to_string();
        // The end is not checked: a session may stop anywhere (the client
        // closes without QUIT, a timeout, the capture ends), and in the
        // held-out FTP set unseen "X → end" steps were the main source of
        // false positives; `$` stays in the model for the explanations.
        for (i, it) in s.items.iter().enumerate() {
            // An adjacency never seen is excused when the order itself is
            // learned: `<prev it>` is a frequent pattern (prev comes before
            // it, with gaps, in enough training sessions). Without this,
            // rare but normal adjacencies (POP3 LIST then NOOP) were the
            // held-out false positives.
            let ordered = self.pairs.get(&prev).is_some_and(|n| n.contains(it));
            if !self.seen_transition(&prev, it) && !ordered {
                unseen += 1;
                first_unseen.get_or_insert((i, prev.clone(), it.clone()));
            }
            prev = it.clone();
        }
        if let Some((i, prev, it)) = first_unseen {
            let expected = self.expected_after(&prev);
            let what = if self.model.items.contains_key(&it) {
                format!(
                    "{it} follows {}",
                    if prev == START {
                        "the start".into()
                    } else {
                        prev.clone()
                    }
                )
            } else {
                format!("{it} was never seen in training")
            };
            let after = if prev == START {
                "at the start".to_string()
            } else {
                format!("after {prev}")
            };
            let explanation = format!(
                "step {}: {what}; {after} training saw {}{}",
                i + 1,
                Self::describe_expected(&expected),
                if unseen > 1 {
                    format!(" ({unseen} unseen transitions in this session)")
                } else {
                    String::new()
                }
            );
            out.push(Finding {
                kind: "unseen-transition",
                step: i + 1,
                item: it,
                expected,
                explanation,
                detail: json!({"unseen_transitions": unseen}),
            });
        }
        // Repetition: the item furthest beyond its limit.
        let mut worst: Option<(f64, &String, u64, u64, u64)> = None; // ratio, item, count, limit, train max
        let mut counts: Vec<(&String, &u64)> = s.counts.iter().collect();
        counts.sort();
        for (it, &c) in counts {
            let max = self.model.items.get(it).map_or(0, |st| st.max);
            let limit = ((sc.repeat_factor * max as f64).ceil() as u64).max(max + sc.repeat_slack);
            if c > limit {
                let ratio = c as f64 / limit.max(1) as f64;
                if worst.as_ref().is_none_or(|w| ratio > w.0) {
                    worst = Some((ratio, it, c, limit, max));
                }
            }
        }
        if let Some((_, it, c, limit, max)) = worst {
            // The step where the count passed the limit.
            let mut n = 0u64;
            let mut step = s.items.len();
            for (i, x) in s.items.iter().enumerate() {
                if x == it {
                    n += 1;
                    if n > limit {
                        step = i + 1;
                        break;
                    }
                }
            }
            let prev = if step >= 2 {
                s.items[step - 2].as_str()
            } else {
                START
            };
            let expected = self.expected_after(prev);
            let train = match self.model.items.get(it) {
                Some(st) => format!(
                    "in training it occurred at most {max} time(s) per session (mean {:.1}, sd {:.1}, {} sessions)",
                    st.mean, st.sd, st.sessions
                ),
                None => "it never occurred in training".to_string(),
            };
            let explanation = format!(
                "step {step}: {it} repeated {c} times in one session (limit {limit}); {train} — far beyond normal sessions, as in brute force or flooding"
            );
            out.push(Finding {
                kind: "repetition",
                step,
                item: it.clone(),
                expected,
                explanation,
                detail: json!({"count": c, "limit": limit, "training_max": max}),
            });
        }
        // Coverage by learned patterns.
        let (coverage, covered) = coverage(&self.pairs, &s.items);
        if coverage < sc.min_coverage {
            let (step, item) = s
                .items
                .iter()
                .enumerate()
                .find(|(_, i)| !covered.contains(i.as_str()))
                .map(|(i, it)| (i + 1, it.clone()))
                .unwrap_or((1, s.items[0].clone()));
            let prev = if step >= 2 {
                s.items[step - 2].as_str()
            } else {
                START
            };
            let expected = self.expected_after(prev);
            let explanation = format!(
                "no learned pattern supports this session: {:.0}% of its {} steps are covered by patterns (minimum {:.0}%); step {step} {item} is the first step outside every pattern",
                coverage * 100.0,
                s.items.len(),
                sc.min_coverage * 100.0
            );
            out.push(Finding {
                kind: "unsupported",
                step,
                item,
                expected,
                explanation,
                detail: json!({"coverage": (coverage * 1000.0).round() / 1000.0}),
            });
        }
        // FTP bounce.
        if let Some((idx, host)) = s.bounce {
            if self.model.features.bounce_sessions == 0 {
                let step = idx + 1;
                let item = s.items.get(idx).cloned().unwrap_or_default();
                let prev = if step >= 2 {
                    s.items.get(step - 2).map_or(START, |x| x.as_str())
                } else {
                    START
                };
                let expected = self.expected_after(prev);
                let explanation = format!(
                    "step {step}: {item} opens the data connection to {host}, not to the client {} (FTP bounce, RFC 2577); no training session did this",
                    s.src_ip
                );
                out.push(Finding {
                    kind: "port-bounce",
                    step,
                    item,
                    expected,
                    explanation,
                    detail: json!({"third_host": host.to_string()}),
                });
            }
        }
        // FTP directories outside training.
        let known = &self.model.features.dirs;
        if !known.is_empty() {
            if let Some((idx, dir)) = s.dirs.iter().find(|(_, d)| !known.contains_key(d)) {
                let step = idx + 1;
                let item = s.items.get(*idx).cloned().unwrap_or_default();
                let prev = if step >= 2 {
                    s.items.get(step - 2).map_or(START, |x| x.as_str())
                } else {
                    START
                };
                let expected = self.expected_after(prev);
                let mut seen: Vec<(&String, &u64)> = known.iter().collect();
                seen.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
                let list: Vec<&str> = seen.iter().take(5).map(|(d, _)| d.as_str()).collect();
                let explanation = format!(
                    "step {step}: {item} works in {dir}, a directory no training session used (training used {})",
                    list.join(", ")
                );
                out.push(Finding {
                    kind: "path-outside-training",
                    step,
                    item,
                    expected,
                    explanation,
                    detail: json!({"directory": dir}),
                });
            }
        }
        out
    }

    /// Alerts for one session (one per finding).
    pub fn alerts(&self, s: &Session) -> Vec<Alert> {
        let findings = self.score(s);
        if findings.is_empty() {
            return Vec::new();
        }
        let closest = self.closest(&s.items);
        let proto = &self.model.protocol;
        findings
            .into_iter()
            .map(|f| {
                let mut extra = serde_json::Map::new();
                let mut explanation = f.explanation.clone();
                if !f.expected.is_empty() {
                    explanation.push_str(&format!(
                        "; expected there: {}",
                        f.expected
                            .iter()
                            .map(|(k, _)| if k == END { "end of session" } else { k.as_str() })
                            .collect::<Vec<_>>()
                            .join(" or ")
                    ));
                }
                if let Some((i, m)) = closest {
                    let p = &self.long[i];
                    let support = self
                        .model
                        .patterns
                        .iter()
                        .filter(|p| p.items.len() >= 2)
                        .nth(i)
                        .map_or(0, |p| p.support);
                    explanation.push_str(&format!(
                        "; closest pattern: {} ({m} of {} steps matched, support {support} of {} sessions)",
                        p.join(" → "),
                        p.len(),
                        self.model.sessions
                    ));
                    extra.insert("closest_pattern".into(), json!(p));
                    extra.insert("closest_matched".into(), json!(m));
                    extra.insert("closest_support".into(), json!(support));
                }
                extra.insert("explanation".into(), json!(explanation));
                extra.insert("step".into(), json!(f.step));
                extra.insert("item".into(), json!(f.item));
                extra.insert(
                    "expected".into(),
                    json!(f.expected.iter().map(|(k, _)| k).collect::<Vec<_>>()),
                );
                extra.insert("session_steps".into(), json!(s.total));
                let head: Vec<&String> = s.items.iter().take(32).collect();
                extra.insert("session".into(), json!(head));
                if let Value::Object(d) = f.detail {
                    for (k, v) in d {
                        extra.insert(k, v);
                    }
                }
                let severity = match f.kind {
                    "port-bounce" | "repetition" | "path-outside-training" => Severity::Medium,
                    _ => Severity::Low,
                };
                Alert::new(s.last_ts, AlertType::Anomaly, format!("learn/{proto}/{}", f.kind))
                    .with_severity(severity)
                    .with_uid(s.uid.clone())
                    .with_endpoints(s.src_ip, Some(s.src_port), s.dst_ip, Some(s.dst_port))
                    .with_evidence(Evidence {
                        extra,
                        ..Default::default()
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Model, TrainConfig};
    use crate::session::Protocol;
    use std::collections::HashMap;

    fn session(items: &[&str]) -> Session {
        let mut counts: HashMap<String, u64> = HashMap::new();
        for i in items {
            *counts.entry(i.to_string()).or_default() += 1;
        }
        Session {
            uid: "C1".into(),
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

    fn scorer() -> Scorer {
        let mut train = Vec::new();
        for _ in 0..10 {
            train.push(session(&[
                "USER:331", "PASS:230", "PASV:227", "LIST:226", "QUIT:221",
            ]));
            train.push(session(&[
                "USER:331", "PASS:230", "PASV:227", "RETR:226", "QUIT:221",
            ]));
            train.push(session(&[
                "USER:331", "PASS:530", "USER:331", "PASS:230", "QUIT:221",
            ]));
        }
        Scorer::new(Model::train(Protocol::Ftp, &train, &TrainConfig::default()).unwrap())
    }

    #[test]
    fn normal_sessions_pass() {
        let s = scorer();
        assert!(s
            .score(&session(&[
                "USER:331", "PASS:230", "PASV:227", "LIST:226", "QUIT:221"
            ]))
            .is_empty());
        assert!(s
            .score(&session(&["USER:331", "PASS:230", "QUIT:221"]))
            .is_empty());
    }

    #[test]
    fn unseen_item_is_explained() {
        let s = scorer();
        let f = s.score(&session(&[
            "USER:331",
            "PASS:230",
            "SITE EXEC:200",
            "QUIT:221",
        ]));
        assert_eq!(f[0].kind, "unseen-transition");
        assert_eq!(f[0].step, 3);
        assert_eq!(
            f[0].explanation,
            "step 3: SITE EXEC:200 was never seen in training; after PASS:230 training saw PASV:227 (20 sessions), QUIT:221 (10 sessions) (2 unseen transitions in this session)"
        );
        assert_eq!(f[0].expected[0], ("PASV:227".to_string(), 20));
    }

    #[test]
    fn repetition_beyond_training() {
        let s = scorer();
        let mut items = vec!["USER:331"];
        for _ in 0..20 {
            items.push("PASS:530");
            items.push("USER:331");
        }
        let f = s.score(&session(&items));
        let r = f.iter().find(|f| f.kind == "repetition").unwrap();
        // USER:331 max 2 in training: limit max(4, 5) = 5; PASS:530 max 1: limit 4.
        assert_eq!(r.item, "PASS:530");
        assert_eq!(r.detail["limit"], 4);
        assert_eq!(r.step, 10); // the fifth PASS:530
                                // The same session repeated only twice is normal.
        assert!(s
            .score(&session(&[
                "USER:331", "PASS:530", "USER:331", "PASS:230", "QUIT:221"
            ]))
            .is_empty());
    }

    #[test]
    fn unsupported_session() {
        let s = scorer();
        // Every transition seen, but no pattern covers most steps.
        // Ending after a failed login is fine (ends are not checked).
        assert!(s.score(&session(&["USER:331", "PASS:530"])).is_empty());
        let f = s.score(&session(&["QUIT:221"]));
        assert!(f.iter().any(|f| f.kind == "unsupported"));
    }

    #[test]
    fn directory_outside_training() {
        let mut train = Vec::new();
        for _ in 0..10 {
            let mut s = session(&["USER:230", "CWD:250", "RETR:226", "QUIT:221"]);
            s.dirs = vec![(1, "/pub".to_string())];
            train.push(s);
        }
        let sc = Scorer::new(Model::train(Protocol::Ftp, &train, &TrainConfig::default()).unwrap());
        let mut x = session(&["USER:230", "CWD:250", "RETR:226", "QUIT:221"]);
        x.dirs = vec![(1, "/pub".to_string())];
        assert!(sc.score(&x).is_empty());
        x.dirs.push((2, "/etc".to_string()));
        let f = sc.score(&x);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, "path-outside-training");
        assert_eq!(
            f[0].explanation,
            "step 3: RETR:226 works in /etc, a directory no training session used (training used /pub)"
        );
    }

    #[test]
    fn bounce() {
        let s = scorer();
        let mut x = session(&["USER:331", "PASS:230", "PASV:227", "LIST:226", "QUIT:221"]);
        x.bounce = Some((2, "10.0.0.9".parse().unwrap()));
        let f = s.score(&x);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, "port-bounce");
        assert!(f[0].explanation.contains("10.0.0.9"));
        let a = s.alerts(&x);
        assert_eq!(a[0].rule, "learn/ftp/port-bounce");
        let e = a[0].evidence.extra["explanation"].as_str().unwrap();
        assert!(e.contains("closest pattern: "), "{e}");
    }
}
