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

use crate::capability::class_item;
use crate::model::{Model, END, START};
use crate::session::Session;

/// A model prepared for scoring.
pub struct Scorer {
    pub model: Model,
    /// Which model this is, for the alerts' evidence: `general`, or
    /// `server 127.0.0.21:2121 (vsftpd)`.
    pub label: String,
    /// Patterns of length >= 2 as item lists (model order).
    long: Vec<Vec<String>>,
    /// Frequent 2-patterns.
    pairs: HashMap<String, Vec<String>>,
    /// The frequent 2-patterns at the level of reply classes.
    class_pairs: HashMap<String, HashSet<String>>,
    /// The most one training session had of any item of a class.
    class_max: HashMap<String, u64>,
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
    /// The finding's numbers, also written into its alert's evidence.
    pub detail: Detail,
}

/// What a finding measured, by kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Detail {
    /// `repetition`: the item's count in the session, its limit, the most
    /// one training session had, and whether that was its reply class's.
    Repetition {
        count: u64,
        limit: u64,
        training_max: u64,
        class_level: bool,
    },
    /// `unsupported`: the share of steps patterns cover (to 0.001).
    Coverage(f64),
    /// `port-bounce`: the host the data connection went to.
    ThirdHost(String),
    /// `path-outside-training`: the directory.
    Directory(String),
    /// `unseen-transition`: how many the session had, and whether this
    /// one is new only at the exact level (its class transition is known).
    Unseen { total: usize, class_level: bool },
}

impl Detail {
    /// The evidence fields of the finding's alert.
    pub fn evidence(&self) -> serde_json::Map<String, Value> {
        let level = |class: bool| if class { "class" } else { "exact" };
        let v = match self {
            Detail::Repetition {
                count,
                limit,
                training_max,
                class_level,
            } => json!({"count": count, "limit": limit, "training_max": training_max,
                "level": level(*class_level)}),
            Detail::Coverage(c) => json!({ "coverage": c }),
            Detail::ThirdHost(h) => json!({ "third_host": h }),
            Detail::Directory(d) => json!({ "directory": d }),
            Detail::Unseen { total, class_level } => {
                json!({"unseen_transitions": total, "level": level(*class_level)})
            }
        };
        match v {
            Value::Object(m) => m,
            _ => serde_json::Map::new(),
        }
    }
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

/// The frequent 2-patterns projected to reply classes.
pub fn class_pairs(pairs: &HashMap<String, Vec<String>>) -> HashMap<String, HashSet<String>> {
    let mut out: HashMap<String, HashSet<String>> = HashMap::new();
    for (a, bs) in pairs {
        let e = out.entry(class_item(a)).or_default();
        for b in bs {
            e.insert(class_item(b));
        }
    }
    out
}

/// The fraction of a session's steps covered by learned patterns, and the
/// covered items. `<a b>` is contained iff the first `a` comes before the
/// last `b`; a step is covered when its item is, or when its reply class is
/// covered by the patterns projected to classes (`class_pairs`; empty: no
/// class level).
pub fn coverage<'s, S: AsRef<str>>(
    pairs: &HashMap<String, Vec<String>>,
    class_pairs: &HashMap<String, HashSet<String>>,
    items: &'s [S],
) -> (f64, HashSet<&'s str>) {
    let mut first: HashMap<&str, usize> = HashMap::new();
    let mut last: HashMap<&str, usize> = HashMap::new();
    for (i, it) in items.iter().enumerate() {
        first.entry(it.as_ref()).or_insert(i);
        last.insert(it.as_ref(), i);
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
    if !class_pairs.is_empty() {
        let mut cfirst: HashMap<String, usize> = HashMap::new();
        let mut clast: HashMap<String, usize> = HashMap::new();
        for (i, it) in items.iter().enumerate() {
            let c = class_item(it.as_ref());
            cfirst.entry(c.clone()).or_insert(i);
            clast.insert(c, i);
        }
        let mut ccovered: HashSet<String> = HashSet::new();
        for (a, &fa) in &cfirst {
            if let Some(nexts) = class_pairs.get(a) {
                for b in nexts {
                    if clast.get(b).is_some_and(|&lb| lb > fa) {
                        ccovered.insert(a.clone());
                        ccovered.insert(b.clone());
                    }
                }
            }
        }
        for it in items {
            if ccovered.contains(&class_item(it.as_ref())) {
                covered.insert(it.as_ref());
            }
        }
    }
    let n = items
        .iter()
        .filter(|i| covered.contains(i.as_ref()))
        .count();
    (n as f64 / items.len().max(1) as f64, covered)
}

/// Fewest modelled steps for the coverage check.
pub const MIN_COVERAGE_STEPS: usize = 3;

/// Most steps a closest-pattern search looks at.
const CLOSEST_SCAN: usize = 256;

/// A step whose transition training never saw.
struct Unseen {
    /// 0-based step index.
    idx: usize,
    prev: String,
    item: String,
    /// Training's count of the reply-class transition (None: exact level
    /// only, the class transition was never seen either).
    class_count: Option<u64>,
}

impl Scorer {
    pub fn new(model: Model) -> Self {
        let long: Vec<Vec<String>> = model
            .patterns
            .iter()
            .filter(|p| p.items.len() >= 2)
            .map(|p| p.items.clone())
            .collect();
        let pairs = pairs(&model.patterns);
        // A version-1 model has no class level.
        let class_pairs = if model.class_transitions.is_empty() {
            HashMap::new()
        } else {
            class_pairs(&pairs)
        };
        let mut class_max: HashMap<String, u64> = HashMap::new();
        for (it, st) in &model.items {
            let e = class_max.entry(class_item(it)).or_default();
            *e = (*e).max(st.max);
        }
        Scorer {
            model,
            label: "general".into(),
            long,
            pairs,
            class_pairs,
            class_max,
        }
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

    /// Training's count of the class transition `from → to` when it is
    /// known at the class level (seen, or a class-projected pattern).
    fn class_transition(&self, from: &str, to: &str) -> Option<u64> {
        if self.model.class_transitions.is_empty() {
            return None;
        }
        let (cf, ct) = (class_item(from), class_item(to));
        let n = self
            .model
            .class_transitions
            .get(&cf)
            .and_then(|m| m.get(&ct))
            .copied()
            .unwrap_or(0);
        let ordered = self.class_pairs.get(&cf).is_some_and(|s| s.contains(&ct));
        if n > 0 {
            Some(n)
        } else if ordered {
            // Frequent as an order (with gaps): as common as the rarity bar.
            Some(self.model.scoring.class_rarity)
        } else {
            None
        }
    }

    /// The learned pattern (length >= 2) whose longest prefix embedded in
    /// the session is longest; ties: fewer unmatched items, higher support,
    /// model order. Returns (pattern index, matched items).
    fn closest(&self, items: &[&str]) -> Option<(usize, usize)> {
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

    /// The item before step `step` (1-based) in the modelled order.
    fn prev_of(core: &[(usize, &str)], step: usize) -> String {
        core.iter()
            .take_while(|(i, _)| *i + 1 < step)
            .last()
            .map_or(START.to_string(), |(_, it)| it.to_string())
    }

    /// Scores one session; empty when normal.
    pub fn score(&self, s: &Session) -> Vec<Finding> {
        let mut out = Vec::new();
        if s.items.is_empty() {
            return out;
        }
        let sc = &self.model.scoring;
        // The order that is modelled: negotiation steps left out.
        let core = s.core(&self.model.negotiation, self.model.negotiate_advertised);
        let core_items: Vec<&str> = core.iter().map(|(_, it)| *it).collect();
        // Unseen transitions: exact level (strong) and, when only the exact
        // codes are new, reply-class level (weak).
        let mut strong: Vec<Unseen> = Vec::new();
        let mut weak: Vec<Unseen> = Vec::new();
        let mut prev = START.to_string();
        // The end is not checked: a session may stop anywhere (the client
        // closes without QUIT, a timeout, the capture ends), and in the
        // held-out FTP set unseen "X → end" steps were the main source of
        // false positives; `$` stays in the model for the explanations.
        for &(idx, it) in &core {
            // An adjacency never seen is excused when the order itself is
            // learned: `<prev it>` is a frequent pattern (prev comes before
            // it, with gaps, in enough training sessions). Without this,
            // rare but normal adjacencies (POP3 LIST then NOOP) were the
            // held-out false positives.
            let ordered = self
                .pairs
                .get(&prev)
                .is_some_and(|n| n.iter().any(|x| x == it));
            if !self.seen_transition(&prev, it) && !ordered {
                let u = Unseen {
                    idx,
                    prev: prev.clone(),
                    item: it.to_string(),
                    class_count: self.class_transition(&prev, it),
                };
                if u.class_count.is_some() {
                    weak.push(u);
                } else {
                    strong.push(u);
                }
            }
            prev = it.to_string();
        }
        // Repetition: the item furthest beyond its limit. An item never
        // seen exactly is held to its reply class's most.
        let mut worst: Option<(f64, &String, u64, u64, u64, bool)> = None; // ratio, item, count, limit, train max, class level
        let mut counts: Vec<(&String, &u64)> = s.counts.iter().collect();
        counts.sort();
        for (it, &c) in counts {
            let (max, by_class) = match self.model.items.get(it) {
                Some(st) => (st.max, false),
                None => match self.class_max.get(&class_item(it)) {
                    Some(&m) => (m, true),
                    None => (0, false),
                },
            };
            let limit = ((sc.repeat_factor * max as f64).ceil() as u64).max(max + sc.repeat_slack);
            if c > limit {
                let ratio = c as f64 / limit.max(1) as f64;
                if worst.as_ref().is_none_or(|w| ratio > w.0) {
                    worst = Some((ratio, it, c, limit, max, by_class));
                }
            }
        }
        if let Some((_, it, c, limit, max, by_class)) = worst {
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
            let expected = self.expected_after(&Self::prev_of(&core, step));
            let train = match self.model.items.get(it) {
                Some(st) => format!(
                    "in training it occurred at most {max} time(s) per session (mean {:.1}, sd {:.1}, {} sessions)",
                    st.mean, st.sd, st.sessions
                ),
                None if by_class => format!(
                    "it never occurred in training; its reply class {} occurred at most {max} time(s) per session (class level)",
                    class_item(it)
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
                detail: Detail::Repetition {
                    count: c,
                    limit,
                    training_max: max,
                    class_level: by_class,
                },
            });
        }
        // Coverage by learned patterns. With fewer than three modelled
        // steps the only pattern that could cover a session is the one pair
        // the transition check has already judged (a mistyped login,
        // USER:331 then PASS:530, is all seen transitions).
        if core.len() >= MIN_COVERAGE_STEPS {
            let (coverage, covered) = coverage(&self.pairs, &self.class_pairs, &core_items);
            if coverage < sc.min_coverage {
                let (step, item) = core
                    .iter()
                    .find(|(_, i)| !covered.contains(i))
                    .map(|(i, it)| (i + 1, it.to_string()))
                    .unwrap_or((core[0].0 + 1, core[0].1.to_string()));
                // (core has at least MIN_COVERAGE_STEPS items here.)
                let expected = self.expected_after(&Self::prev_of(&core, step));
                let explanation = format!(
                    "no learned pattern supports this session: {:.0}% of its {} steps are covered by patterns (minimum {:.0}%); step {step} {item} is the first step outside every pattern",
                    coverage * 100.0,
                    core.len(),
                    sc.min_coverage * 100.0
                );
                out.push(Finding {
                    kind: "unsupported",
                    step,
                    item,
                    expected,
                    explanation,
                    detail: Detail::Coverage((coverage * 1000.0).round() / 1000.0),
                });
            }
        }
        // FTP bounce.
        if let Some((idx, host)) = s.bounce {
            if self.model.features.bounce_sessions == 0 {
                let step = idx + 1;
                let item = s.items.get(idx).cloned().unwrap_or_default();
                let expected = self.expected_after(&Self::prev_of(&core, step));
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
                    detail: Detail::ThirdHost(host.to_string()),
                });
            }
        }
        // FTP directories outside training.
        let known = &self.model.features.dirs;
        if !known.is_empty() {
            if let Some((idx, dir)) = s.dirs.iter().find(|(_, d)| !known.contains_key(d)) {
                let step = idx + 1;
                let item = s.items.get(*idx).cloned().unwrap_or_default();
                let expected = self.expected_after(&Self::prev_of(&core, step));
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
                    detail: Detail::Directory(dir.clone()),
                });
            }
        }
        // Unseen transitions: a strong one is always reported; weak ones
        // (only the exact codes are new) when the session deviates
        // otherwise, or when their class transition is itself rare.
        let total = strong.len() + weak.len();
        let rare = weak
            .iter()
            .filter(|u| u.class_count.unwrap_or(0) < sc.class_rarity)
            .min_by_key(|u| (u.class_count, u.idx));
        let (pick, why) = if let Some(u) = strong.first() {
            (Some(u), None)
        } else if let (Some(u), false) = (weak.first(), out.is_empty()) {
            (
                Some(u),
                Some("reported because the session deviates otherwise too"),
            )
        } else if let Some(u) = rare {
            (
                Some(u),
                Some("reported because that class transition is rare"),
            )
        } else {
            (None, None)
        };
        if let Some(u) = pick {
            let class_level = !self.model.class_transitions.is_empty();
            let expected = self.expected_after(&u.prev);
            let what = if self.model.items.contains_key(&u.item) {
                format!(
                    "{} follows {}",
                    u.item,
                    if u.prev == START {
                        "the start".into()
                    } else {
                        u.prev.clone()
                    }
                )
            } else {
                format!("{} was never seen in training", u.item)
            };
            let after = if u.prev == START {
                "at the start".to_string()
            } else {
                format!("after {}", u.prev)
            };
            let level = match (u.class_count, why) {
                (Some(n), Some(why)) => format!(
                    " [class level: only the exact reply is new; {} after {} occurred {n} times in training — weak evidence, {why}]",
                    class_item(&u.item),
                    class_item(&u.prev)
                ),
                _ if class_level => format!(
                    " [exact level: not even {} after {} occurred in training]",
                    class_item(&u.item),
                    class_item(&u.prev)
                ),
                _ => String::new(),
            };
            let explanation = format!(
                "step {}: {what}; {after} training saw {}{}{level}",
                u.idx + 1,
                Self::describe_expected(&expected),
                if total > 1 {
                    format!(" ({total} unseen transitions in this session)")
                } else {
                    String::new()
                }
            );
            let f = Finding {
                kind: "unseen-transition",
                step: u.idx + 1,
                item: u.item.clone(),
                expected,
                explanation,
                detail: Detail::Unseen {
                    total,
                    class_level: u.class_count.is_some(),
                },
            };
            out.insert(0, f);
        }
        out
    }

    /// Alerts for one session (one per finding).
    pub fn alerts(&self, s: &Session) -> Vec<Alert> {
        let findings = self.score(s);
        if findings.is_empty() {
            return Vec::new();
        }
        let core: Vec<&str> = s
            .core(&self.model.negotiation, self.model.negotiate_advertised)
            .into_iter()
            .map(|(_, it)| it)
            .collect();
        let closest = self.closest(&core);
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
                if self.label != "general" {
                    explanation.push_str(&format!("; scored by the model of {}", self.label));
                }
                extra.insert("explanation".into(), json!(explanation));
                extra.insert("model".into(), json!(self.label));
                extra.insert("step".into(), json!(f.step));
                extra.insert("item".into(), json!(f.item));
                extra.insert(
                    "expected".into(),
                    json!(f.expected.iter().map(|(k, _)| k).collect::<Vec<_>>()),
                );
                extra.insert("session_steps".into(), json!(s.total));
                let head: Vec<&String> = s.items.iter().take(32).collect();
                extra.insert("session".into(), json!(head));
                for (k, v) in f.detail.evidence() {
                    extra.insert(k, v);
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

    fn session(items: &[&str]) -> Session {
        Session::of_items(items)
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
            "step 3: SITE EXEC:200 was never seen in training; after PASS:230 training saw PASV:227 (20 sessions), QUIT:221 (10 sessions) (2 unseen transitions in this session) [exact level: not even SITE EXEC:2xx after PASS:2xx occurred in training]"
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
        assert!(matches!(r.detail, Detail::Repetition { limit: 4, .. }));
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
        let f = s.score(&session(&["QUIT:221", "QUIT:221", "QUIT:221"]));
        assert!(f.iter().any(|f| f.kind == "unsupported"));
        // Too short to judge by coverage: the transition check does.
        let f = s.score(&session(&["QUIT:221"]));
        assert!(f.iter().all(|f| f.kind != "unsupported"), "{f:?}");
        assert_eq!(f[0].kind, "unseen-transition");
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

    /// An exact code never seen whose reply class was seen is weak
    /// evidence: quiet alone, reported with another deviation or when the
    /// class transition is rare, and the explanation says so.
    #[test]
    fn reply_class_level_is_weak_evidence() {
        let mut train = Vec::new();
        for _ in 0..10 {
            train.push(session(&[
                "USER:331", "PASS:230", "PASV:227", "LIST:226", "QUIT:221",
            ]));
            train.push(session(&[
                "USER:331", "PASS:230", "PASV:227", "RETR:550", "QUIT:221",
            ]));
        }
        let m = Model::train(Protocol::Ftp, &train, &TrainConfig::default()).unwrap();
        assert_eq!(m.class_transitions["PASV:2xx"]["RETR:5xx"], 10);
        let sc = Scorer::new(m.clone());
        // RETR:553 (vsftpd would say 550): class RETR:5xx after PASV:2xx seen.
        let x = session(&["USER:331", "PASS:230", "PASV:227", "RETR:553", "QUIT:221"]);
        assert!(sc.score(&x).is_empty(), "{:?}", sc.score(&x));
        // A new class is strong: RETR:450 (4xx never seen after PASV).
        let f = sc.score(&session(&[
            "USER:331", "PASS:230", "PASV:227", "RETR:450", "QUIT:221",
        ]));
        assert_eq!(f[0].kind, "unseen-transition");
        assert!(matches!(
            f[0].detail,
            Detail::Unseen {
                class_level: false,
                ..
            }
        ));
        assert!(f[0]
            .explanation
            .contains("[exact level: not even RETR:4xx after PASV:2xx occurred in training]"));
        // With another deviation the weak step is reported too.
        let mut y = x.clone();
        y.bounce = Some((2, "10.0.0.9".parse().unwrap()));
        let f = sc.score(&y);
        assert_eq!(f[0].kind, "unseen-transition");
        assert!(
            matches!(
                f[0].detail,
                Detail::Unseen {
                    class_level: true,
                    ..
                }
            ),
            "{f:?}"
        );
        assert_eq!(
            f[0].explanation,
            "step 4: RETR:553 was never seen in training; after PASV:227 training saw LIST:226 (10 sessions), RETR:550 (10 sessions) (2 unseen transitions in this session) [class level: only the exact reply is new; RETR:5xx after PASV:2xx occurred 10 times in training — weak evidence, reported because the session deviates otherwise too]"
        );
        assert!(f.iter().any(|f| f.kind == "port-bounce"));
        // Alone, when the class transition is rarer than the learned bar.
        let mut m2 = m;
        m2.scoring.class_rarity = 11;
        let f = Scorer::new(m2).score(&x);
        assert_eq!(f.len(), 1);
        assert!(f[0]
            .explanation
            .ends_with("weak evidence, reported because that class transition is rare]"));
        // An unseen exact item is held to its class's repetition limit.
        let mut many = vec!["USER:331", "PASS:230", "PASV:227"];
        many.extend(["RETR:553"; 5]);
        let f = sc.score(&session(&many));
        let r = f.iter().find(|f| f.kind == "repetition").unwrap();
        assert!(matches!(
            r.detail,
            Detail::Repetition {
                class_level: true,
                ..
            }
        ));
        assert!(r
            .explanation
            .contains("its reply class RETR:5xx occurred at most 1"));
    }

    /// Capability-driven commands the server offered are not part of the
    /// modelled order: ProFTPD's CLNT/LANG/HOST for lftp.
    #[test]
    fn negotiation_is_left_out_of_the_order() {
        use crate::session::Tracker;
        use netsift_engine::records::{FtpRecord, Record};
        let lo: std::net::IpAddr = "127.0.0.1".parse().unwrap();
        let run = |feat: &str, cmds: &[(&str, &str, u16)]| {
            let mut t = Tracker::new(Protocol::Ftp, 4);
            let r = Record::typed(FtpRecord {
                command: "FEAT".into(),
                reply_code: Some(211),
                reply_msg: Some(feat.into()),
                ..Default::default()
            });
            t.record(0, "u", (lo, 1), (lo, 21), &r);
            for (c, a, code) in cmds {
                let r = Record::typed(FtpRecord {
                    command: (*c).into(),
                    arg: Some((*a).into()),
                    reply_code: Some(*code),
                    ..Default::default()
                });
                t.record(0, "u", (lo, 1), (lo, 21), &r);
            }
            t.end("u").unwrap()
        };
        let base = [("USER", "u", 331), ("PASS", "p", 230), ("QUIT", "", 221)];
        let train: Vec<Session> = (0..20)
            .map(|_| run("Features:  EPSV  UTF8 End", &base))
            .collect();
        let sc = Scorer::new(Model::train(Protocol::Ftp, &train, &TrainConfig::default()).unwrap());
        let proftpd = "Features:  CLNT  HOST  LANG C.UTF-8*  UTF8 End";
        let s = run(
            proftpd,
            &[
                ("CLNT", "lftp/4.9.2", 200),
                ("LANG", "", 200),
                ("OPTS", "UTF8 ON", 200),
                ("HOST", "127.0.0.22", 220),
                ("USER", "u", 331),
                ("PASS", "p", 230),
                ("QUIT", "", 221),
            ],
        );
        assert!(sc.score(&s).is_empty(), "{:?}", sc.score(&s));
        assert_eq!(s.counts["CLNT:200"], 1);
        // Not offered and not refused as unimplemented: behaviour.
        let s = run(
            "Features:  UTF8 End",
            &[("CLNT", "x", 200), ("USER", "u", 331)],
        );
        assert_eq!(sc.score(&s)[0].item, "CLNT:200");
        // Refused as not implemented (vsftpd to ncftp's CLNT): negotiation.
        let s = run(
            "Features:  UTF8 End",
            &[("CLNT", "x", 500), ("USER", "u", 331)],
        );
        assert!(sc.score(&s).is_empty());
    }

    /// The evidence fields keep the names and order alerts had when the
    /// detail was built as JSON.
    #[test]
    fn detail_evidence_fields() {
        let j = |d: Detail| Value::Object(d.evidence()).to_string();
        let rep = Detail::Repetition {
            count: 9,
            limit: 4,
            training_max: 1,
            class_level: false,
        };
        assert_eq!(
            j(rep),
            r#"{"count":9,"limit":4,"training_max":1,"level":"exact"}"#
        );
        assert_eq!(j(Detail::Coverage(0.25)), r#"{"coverage":0.25}"#);
        assert_eq!(
            j(Detail::ThirdHost("10.0.0.9".into())),
            r#"{"third_host":"10.0.0.9"}"#
        );
        assert_eq!(
            j(Detail::Directory("/etc".into())),
            r#"{"directory":"/etc"}"#
        );
        let unseen = Detail::Unseen {
            total: 2,
            class_level: true,
        };
        assert_eq!(j(unseen), r#"{"unseen_transitions":2,"level":"class"}"#);
    }
}
