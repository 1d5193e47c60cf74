//! Training and the honest evaluation: cross-validation grouped by capture
//! file (flows of one capture leak into each other, so a capture's flows
//! are either all in training or all in test).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use crate::features::feature_count;
use crate::forest::{train, Data, Forest, TrainParams};
use crate::model::Model;

/// One flow of the training captures.
#[derive(Debug, Clone)]
pub struct Sample {
    /// The capture the flow comes from (the unit of the split).
    pub group: String,
    pub x: Vec<f32>,
    /// Training label, when the flow has one.
    pub label: Option<String>,
    /// Names a prediction may have to count as right (lower-case letters
    /// and digits only, see [`norm`]): the label and, with nDPI truth,
    /// nDPI's master and app protocols.
    pub accept: Vec<String>,
    /// The layers before `ml` (flow, dpi) left the flow Unknown.
    pub dpi_unknown: bool,
}

/// A name reduced for comparison: ASCII letters and digits, lower case.
pub fn norm(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Training and evaluation settings.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    pub params: TrainParams,
    pub packets: u16,
    /// Classes with fewer labelled flows are not learned.
    pub min_flows: usize,
    pub folds: usize,
    /// Probability a prediction needs to name a protocol.
    pub threshold: f32,
    /// Protocols left out of every fold's training (evaluation only): the
    /// open-set test.
    pub hold_out: Vec<String>,
    /// Features the forest must not use (held constant while training).
    pub ignore: Vec<usize>,
    /// Most training flows of one protocol from one capture (0: no
    /// limit): a capture with hundreds of near-identical flows would
    /// otherwise teach the forest that capture rather than the protocol.
    pub max_per_capture: usize,
    /// Choose the threshold inside each fold's training captures (an inner
    /// cross-validation by capture): the lowest of [`THRESHOLD_GRID`] whose
    /// inner precision over labelled flows reaches this share. `None`: the
    /// fixed `threshold` only.
    pub tune_precision: Option<f32>,
}

/// Thresholds the tuning chooses from.
pub const THRESHOLD_GRID: [f32; 10] = [0.50, 0.55, 0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95];

/// The classes learned: labels with at least `min_flows` flows, by name.
pub fn classes_of(samples: &[Sample], min_flows: usize) -> Vec<String> {
    let mut n: BTreeMap<&str, usize> = BTreeMap::new();
    for s in samples {
        if let Some(l) = &s.label {
            *n.entry(l).or_default() += 1;
        }
    }
    n.into_iter()
        .filter(|&(_, c)| c >= min_flows.max(1))
        .map(|(l, _)| l.to_string())
        .collect()
}

/// Fit a forest on `samples` (those with a label among `classes` and not in
/// `skip`).
fn fit(samples: &[&Sample], classes: &[String], skip: &HashSet<&str>, cfg: &TrainConfig) -> Forest {
    let (packets, p) = (cfg.packets, &cfg.params);
    let index: HashMap<&str, u16> = classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i as u16))
        .collect();
    let nf = feature_count(packets);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    // Flows per (capture, class); beyond the limit every (all/max)-th is
    // kept, so a long capture is sampled over its whole length.
    let mut total: HashMap<(&str, u16), usize> = HashMap::new();
    for s in samples {
        if let Some(k) = s.label.as_deref().and_then(|l| index.get(l)) {
            *total.entry((s.group.as_str(), *k)).or_default() += 1;
        }
    }
    let mut seen: HashMap<(&str, u16), usize> = HashMap::new();
    for s in samples {
        let Some(k) = s
            .label
            .as_deref()
            .filter(|l| !skip.contains(l))
            .and_then(|l| index.get(l))
        else {
            continue;
        };
        let n = seen.entry((s.group.as_str(), *k)).or_default();
        *n += 1;
        let all = total.get(&(s.group.as_str(), *k)).copied().unwrap_or(0);
        let max = cfg.max_per_capture;
        // Flow n (1-based) is kept when n * max / all steps up.
        if max > 0 && all > max && (*n * max) / all == ((*n - 1) * max) / all {
            continue;
        }
        // Flows without payload are never named (see `has_payload`), so
        // they are not learned either.
        if s.x.len() != nf || !crate::features::has_payload(&s.x) {
            continue;
        }
        let at = x.len();
        x.extend_from_slice(&s.x);
        for &i in &cfg.ignore {
            if let Some(v) = x.get_mut(at + i) {
                *v = -1.0;
            }
        }
        y.push(*k);
    }
    train(
        &Data {
            x: &x,
            y: &y,
            features: nf,
            classes: classes.len(),
        },
        p,
    )
}

/// Train the model on every labelled flow.
pub fn fit_model(samples: &[Sample], cfg: &TrainConfig, info: String) -> Option<Model> {
    let classes = classes_of(samples, cfg.min_flows);
    if classes.is_empty() {
        return None;
    }
    let all: Vec<&Sample> = samples.iter().collect();
    let forest = fit(&all, &classes, &HashSet::new(), cfg);
    Some(Model::new(cfg.packets, classes, info, forest))
}

/// The threshold [`tune_threshold`] chooses on every capture (for the
/// model trained on them all), when `cfg.tune_precision` is set.
pub fn tune_on_all(samples: &[Sample], cfg: &TrainConfig) -> Option<f32> {
    let target = cfg.tune_precision?;
    let classes = classes_of(samples, cfg.min_flows);
    if classes.is_empty() {
        return None;
    }
    let all: Vec<&Sample> = samples.iter().collect();
    Some(tune_threshold(&all, &classes, &HashSet::new(), cfg, target))
}

/// The fold of a capture: a stable hash of its name.
pub fn fold_of(group: &str, folds: usize) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in group.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % folds.max(1) as u64) as usize
}

/// Out-of-fold prediction of one flow.
#[derive(Debug, Clone)]
pub struct Oof {
    pub class: String,
    pub probability: f32,
    /// The flow's label was among the classes its fold's model learned.
    pub label_seen: bool,
    /// Its fold's threshold: tuned on the fold's training captures, or
    /// the fixed one.
    pub tuned: f32,
}

/// The threshold a count applies: one for every flow, or each fold's own
/// (chosen on its training captures; [`TrainConfig::tune_precision`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum At {
    Fixed(f32),
    Tuned,
}

impl From<f32> for At {
    fn from(t: f32) -> At {
        At::Fixed(t)
    }
}

impl At {
    fn passes(self, o: &Oof) -> bool {
        o.probability
            >= match self {
                At::Fixed(t) => t,
                At::Tuned => o.tuned,
            }
    }
}

/// The evaluation: every flow predicted by the model of the fold that did
/// not see its capture.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub folds: usize,
    pub captures: usize,
    pub classes: Vec<String>,
    pub hold_out: Vec<String>,
    /// The tuning's precision target, when thresholds were tuned per fold.
    pub tune_precision: Option<f32>,
    /// Each fold's threshold.
    pub fold_thresholds: Vec<f32>,
    pub samples: Vec<Sample>,
    pub oof: Vec<Option<Oof>>,
}

/// The most probable class and its probability.
fn best(p: &[f32]) -> (usize, f32) {
    p.iter()
        .enumerate()
        .fold((0, f32::MIN), |b, (i, &q)| if q > b.1 { (i, q) } else { b })
}

/// The tuned threshold for a training set: an inner cross-validation by
/// capture over `train_set` (salted fold hash, so inner folds cut across
/// the outer ones), then the lowest threshold of [`THRESHOLD_GRID`] whose
/// out-of-fold precision over the labelled flows with payload reaches
/// `target` (the highest when none does). Flows of held-out protocols
/// count as unlabelled: the trainer does not know them.
pub fn tune_threshold(
    train_set: &[&Sample],
    classes: &[String],
    skip: &HashSet<&str>,
    cfg: &TrainConfig,
    target: f32,
) -> f32 {
    let folds = cfg.folds.saturating_sub(1).max(2);
    let inner = |s: &Sample| fold_of(&format!("inner:{}", s.group), folds);
    // (probability, right) of every checkable inner prediction.
    let mut got: Vec<(f32, bool)> = Vec::new();
    for k in 0..folds {
        let fit_set: Vec<&Sample> = train_set
            .iter()
            .copied()
            .filter(|s| inner(s) != k)
            .collect();
        let forest = fit(&fit_set, classes, skip, cfg);
        for s in train_set.iter().filter(|s| inner(s) == k) {
            let labelled = s.label.as_deref().is_some_and(|l| !skip.contains(l));
            if !labelled || !crate::features::has_payload(&s.x) {
                continue;
            }
            let (c, q) = best(&forest.predict(&s.x, classes.len()));
            let right = classes.get(c).is_some_and(|n| s.accept.contains(&norm(n)));
            got.push((q, right));
        }
    }
    for t in THRESHOLD_GRID {
        let (named, right) = got
            .iter()
            .filter(|g| g.0 >= t)
            .fold((0usize, 0usize), |a, g| (a.0 + 1, a.1 + usize::from(g.1)));
        if named > 0 && right as f32 >= target * named as f32 {
            return t;
        }
    }
    THRESHOLD_GRID[THRESHOLD_GRID.len() - 1]
}

/// Cross-validate by capture.
pub fn evaluate(samples: Vec<Sample>, cfg: &TrainConfig) -> Evaluation {
    let classes = classes_of(&samples, cfg.min_flows);
    let folds = cfg.folds.max(2);
    let skip: HashSet<&str> = cfg.hold_out.iter().map(String::as_str).collect();
    let mut oof: Vec<Option<Oof>> = vec![None; samples.len()];
    let mut fold_thresholds = Vec::new();
    let captures: HashSet<&str> = samples.iter().map(|s| s.group.as_str()).collect();
    if !classes.is_empty() {
        for k in 0..folds {
            let train_set: Vec<&Sample> = samples
                .iter()
                .filter(|s| fold_of(&s.group, folds) != k)
                .collect();
            let seen: HashSet<&str> = train_set
                .iter()
                .filter_map(|s| s.label.as_deref())
                .filter(|l| !skip.contains(l))
                .collect();
            let tuned = match cfg.tune_precision {
                Some(p) => tune_threshold(&train_set, &classes, &skip, cfg, p),
                None => cfg.threshold,
            };
            fold_thresholds.push(tuned);
            let forest = fit(&train_set, &classes, &skip, cfg);
            for (i, s) in samples.iter().enumerate() {
                if fold_of(&s.group, folds) != k || !crate::features::has_payload(&s.x) {
                    continue;
                }
                let (c, q) = best(&forest.predict(&s.x, classes.len()));
                oof[i] = Some(Oof {
                    class: classes[c].clone(),
                    probability: q.max(0.0),
                    label_seen: s
                        .label
                        .as_deref()
                        .is_some_and(|l| seen.contains(l) && classes.iter().any(|c| c == l)),
                    tuned,
                });
            }
        }
    }
    Evaluation {
        folds,
        captures: captures.len(),
        classes,
        hold_out: cfg.hold_out.clone(),
        tune_precision: cfg.tune_precision,
        fold_thresholds,
        samples,
        oof,
    }
}

/// Counts of one selection of flows at one threshold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Named {
    pub flows: usize,
    pub named: usize,
    /// Named flows that have a label (their correctness can be checked).
    pub checkable: usize,
    pub correct: usize,
}

impl Named {
    pub fn named_share(&self) -> f64 {
        pct(self.named, self.flows)
    }
    /// Correct among the checkable named flows.
    pub fn precision(&self) -> f64 {
        pct(self.correct, self.checkable)
    }
}

fn pct(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        100.0 * a as f64 / b as f64
    }
}

impl Evaluation {
    fn named_at(&self, i: usize, at: impl Into<At>) -> Option<&Oof> {
        let at = at.into();
        self.oof[i].as_ref().filter(|o| at.passes(o))
    }

    fn correct(&self, i: usize, o: &Oof) -> bool {
        self.samples[i].accept.contains(&norm(&o.class))
    }

    /// Counts over the flows `select` picks.
    pub fn count(&self, threshold: impl Into<At>, select: impl Fn(&Sample) -> bool) -> Named {
        let threshold = threshold.into();
        let mut n = Named::default();
        for (i, s) in self.samples.iter().enumerate() {
            if !select(s) {
                continue;
            }
            n.flows += 1;
            if let Some(o) = self.named_at(i, threshold) {
                n.named += 1;
                if s.label.is_some() {
                    n.checkable += 1;
                    n.correct += usize::from(self.correct(i, o));
                }
            }
        }
        n
    }

    /// The acceptance figure: flows the DPI layer leaves Unknown but that
    /// have a label.
    pub fn dpi_unknown(&self, threshold: impl Into<At>) -> Named {
        self.count(threshold, |s| s.dpi_unknown && s.label.is_some())
    }

    /// Open set: flows of held-out protocols; every name given them is wrong.
    pub fn held_out(&self, threshold: impl Into<At>) -> Named {
        let h: HashSet<&str> = self.hold_out.iter().map(String::as_str).collect();
        self.count(threshold, |s| {
            s.label.as_deref().is_some_and(|l| h.contains(l))
        })
    }

    /// Flows of held-out protocols with payload in their first packets
    /// (the only ones the layer could name).
    pub fn held_out_with_payload(&self) -> usize {
        let h: HashSet<&str> = self.hold_out.iter().map(String::as_str).collect();
        self.samples
            .iter()
            .filter(|s| s.label.as_deref().is_some_and(|l| h.contains(l)))
            .filter(|s| crate::features::has_payload(&s.x))
            .count()
    }

    /// Open set, free of choice: flows whose protocol their fold's model
    /// never saw (only in the test captures, or too rare to be learned).
    pub fn unseen(&self, threshold: impl Into<At>) -> Named {
        let threshold = threshold.into();
        let mut n = Named::default();
        for (i, s) in self.samples.iter().enumerate() {
            let Some(o) = &self.oof[i] else { continue };
            if s.label.is_none() || o.label_seen {
                continue;
            }
            n.flows += 1;
            if threshold.passes(o) {
                n.named += 1;
                n.checkable += 1;
                n.correct += usize::from(self.correct(i, o));
            }
        }
        n
    }

    /// The report `netsift train` prints.
    pub fn render(&self, threshold: f32, rows: usize) -> String {
        let mut s = String::new();
        let labelled = self.samples.iter().filter(|s| s.label.is_some()).count();
        let _ = writeln!(
            s,
            "evaluation: {}-fold cross-validation split by capture file ({} captures, {} flows, {} labelled; {} classes learned); threshold {threshold}",
            self.folds,
            self.captures,
            self.samples.len(),
            labelled,
            self.classes.len()
        );
        // Per class.
        let mut per: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new(); // flows, named-as, correct-as
        for (i, smp) in self.samples.iter().enumerate() {
            if let Some(l) = smp.label.as_deref() {
                per.entry(l).or_default().0 += 1;
            }
            if let Some(o) = self.named_at(i, threshold) {
                if smp.label.is_some() {
                    let e = per.entry(self.classes_name(&o.class)).or_default();
                    e.1 += 1;
                    e.2 += usize::from(self.correct(i, o));
                }
            }
        }
        let mut recall: HashMap<&str, usize> = HashMap::new();
        for (i, smp) in self.samples.iter().enumerate() {
            if let (Some(l), Some(o)) = (smp.label.as_deref(), self.named_at(i, threshold)) {
                if self.correct(i, o) {
                    *recall.entry(l).or_default() += 1;
                }
            }
        }
        let mut order: Vec<(&str, (usize, usize, usize))> =
            per.iter().map(|(k, v)| (*k, *v)).collect();
        order.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(b.0)));
        let _ = writeln!(
            s,
            "\n{:<26} {:>6} {:>7} {:>9} {:>7}",
            "class", "flows", "named", "precision", "recall"
        );
        for (c, (flows, named, correct)) in order.iter().take(rows) {
            let learned = self.classes.iter().any(|k| k == c);
            let _ = writeln!(
                s,
                "{:<26} {:>6} {:>7} {:>8.1}% {:>6.1}%{}",
                c,
                flows,
                named,
                pct(*correct, *named),
                pct(recall.get(c).copied().unwrap_or(0), *flows),
                if learned { "" } else { "  (not learned)" }
            );
        }
        if order.len() > rows {
            let _ = writeln!(s, "... {} more classes", order.len() - rows);
        }
        let all = self.count(threshold, |s| s.label.is_some());
        let _ = writeln!(
            s,
            "{:<26} {:>6} {:>7} {:>8.1}% {:>6.1}%",
            "ALL LABELLED",
            all.flows,
            all.named,
            all.precision(),
            pct(all.correct, all.flows)
        );
        s.push_str(&self.render_confusion(threshold, 8));
        let _ = writeln!(s, "\nby threshold (split by capture):");
        let _ = writeln!(
            s,
            "  {:>9} | {:>22} | {:>32} | {:>20}",
            "threshold", "all labelled flows", "DPI-Unknown flows nDPI labels", "unseen protocols"
        );
        let _ = writeln!(
            s,
            "  {:>9} | {:>10} {:>11} | {:>8} {:>10} {:>12} | {:>20}",
            "", "named", "precision", "flows", "named", "precision", "confident wrong"
        );
        let mut ts = vec![0.5f32, 0.6, 0.7, 0.8, 0.9];
        if !ts.iter().any(|t| (t - threshold).abs() < 1e-6) {
            ts.push(threshold);
            ts.sort_by(f32::total_cmp);
        }
        for t in ts {
            let a = self.count(t, |s| s.label.is_some());
            let d = self.dpi_unknown(t);
            let u = self.unseen(t);
            let _ = writeln!(
                s,
                "  {:>9.2} | {:>9.1}% {:>10.1}% | {:>8} {:>9.1}% {:>11.1}% | {:>6}/{:<6} {:>6.1}%",
                t,
                a.named_share(),
                a.precision(),
                d.flows,
                d.named_share(),
                d.precision(),
                u.named,
                u.flows,
                u.named_share()
            );
        }
        let d = self.dpi_unknown(threshold);
        let _ = writeln!(
            s,
            "\nflows the DPI layer leaves Unknown that have a label: {}; ml names {} ({:.1}%), {} right ({:.1}% precision)",
            d.flows,
            d.named,
            d.named_share(),
            d.correct,
            d.precision()
        );
        let mut listed = 0;
        for (i, smp) in self.samples.iter().enumerate() {
            let (Some(l), Some(o)) = (smp.label.as_deref(), self.oof[i].as_ref()) else {
                continue;
            };
            if !smp.dpi_unknown {
                continue;
            }
            if listed == rows {
                let _ = writeln!(s, "  ...");
                break;
            }
            listed += 1;
            let mark = match (o.probability >= threshold, self.correct(i, o)) {
                (false, _) => "not named",
                (true, true) => "named, right",
                (true, false) => "named, WRONG",
            };
            let _ = writeln!(
                s,
                "  {:<34} {:<18} best {:<18} p={:.2}  {mark}",
                smp.group, l, o.class, o.probability
            );
        }
        let unl = self.count(threshold, |s| s.dpi_unknown && s.label.is_none());
        let _ = writeln!(
            s,
            "flows the DPI layer leaves Unknown without a label: {}; ml names {} (cannot be checked)",
            unl.flows, unl.named
        );
        let u = self.unseen(threshold);
        let _ = writeln!(
            s,
            "open set, protocols a fold's model never saw: {} flows, {} named confidently ({:.1}%)",
            u.flows,
            u.named,
            u.named_share()
        );
        if !self.hold_out.is_empty() {
            let h = self.held_out(threshold);
            let _ = writeln!(
                s,
                "open set, held out of training ({}): {} flows ({} with payload), {} named confidently, all wrong ({:.1}%)",
                self.hold_out.join(","),
                h.flows,
                self.held_out_with_payload(),
                h.named,
                h.named_share()
            );
            let held: HashSet<&str> = self.hold_out.iter().map(String::as_str).collect();
            let mut named: BTreeMap<&str, usize> = BTreeMap::new();
            for (i, smp) in self.samples.iter().enumerate() {
                if smp.label.as_deref().is_some_and(|l| held.contains(l)) {
                    if let Some(o) = self.named_at(i, threshold) {
                        *named.entry(o.class.as_str()).or_default() += 1;
                    }
                }
            }
            let mut named: Vec<(&str, usize)> = named.into_iter().collect();
            named.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            if !named.is_empty() {
                let list: Vec<String> = named.iter().map(|(c, n)| format!("{c} {n}")).collect();
                let _ = writeln!(s, "  named as: {}", list.join(", "));
            }
        }
        if let Some(target) = self.tune_precision {
            s.push_str(&self.render_tuned(target));
        }
        s
    }

    /// The figures with each fold's threshold chosen on its own training
    /// captures: no choice here saw the flows it is measured on.
    fn render_tuned(&self, target: f32) -> String {
        let mut s = String::new();
        let list: Vec<String> = self
            .fold_thresholds
            .iter()
            .map(|t| format!("{t:.2}"))
            .collect();
        let _ = writeln!(
            s,
            "\nthreshold chosen inside each fold's training captures (inner {}-fold cross-validation by capture; the lowest of {:.2}..{:.2} with precision >= {:.0}% over labelled flows): {}",
            self.folds.saturating_sub(1).max(2),
            THRESHOLD_GRID[0],
            THRESHOLD_GRID[THRESHOLD_GRID.len() - 1],
            target * 100.0,
            list.join(", ")
        );
        let a = self.count(At::Tuned, |s| s.label.is_some());
        let _ = writeln!(
            s,
            "  all labelled flows: {} of {} named ({:.1}%), {:.1}% precision",
            a.named,
            a.flows,
            a.named_share(),
            a.precision()
        );
        let d = self.dpi_unknown(At::Tuned);
        let _ = writeln!(
            s,
            "  flows the DPI layer leaves Unknown that have a label: {}; ml names {} ({:.1}%), {} right ({:.1}% precision)",
            d.flows,
            d.named,
            d.named_share(),
            d.correct,
            d.precision()
        );
        let u = self.unseen(At::Tuned);
        let _ = writeln!(
            s,
            "  open set, protocols a fold's model never saw: {} flows, {} named confidently ({:.1}%)",
            u.flows,
            u.named,
            u.named_share()
        );
        if !self.hold_out.is_empty() {
            let h = self.held_out(At::Tuned);
            let _ = writeln!(
                s,
                "  open set, held out of training ({}): {} flows ({} with payload), {} named confidently, all wrong ({:.1}%)",
                self.hold_out.join(","),
                h.flows,
                self.held_out_with_payload(),
                h.named,
                h.named_share()
            );
        }
        s
    }

    fn classes_name<'a>(&'a self, c: &'a str) -> &'a str {
        self.classes
            .iter()
            .find(|k| *k == c)
            .map_or(c, String::as_str)
    }

    /// Confusion between the `top` most common labels (rows: label;
    /// columns: what ml said, `-` for no name).
    fn render_confusion(&self, threshold: f32, top: usize) -> String {
        let mut freq: HashMap<&str, usize> = HashMap::new();
        for smp in &self.samples {
            if let Some(l) = &smp.label {
                *freq.entry(l).or_default() += 1;
            }
        }
        let mut tops: Vec<(&str, usize)> = freq.into_iter().collect();
        tops.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let tops: Vec<&str> = tops.into_iter().take(top).map(|t| t.0).collect();
        let col = |name: Option<&str>| match name {
            None => tops.len() + 1,
            Some(n) => tops.iter().position(|t| *t == n).unwrap_or(tops.len()),
        };
        let mut m = vec![vec![0usize; tops.len() + 2]; tops.len()];
        for (i, smp) in self.samples.iter().enumerate() {
            let Some(r) = smp
                .label
                .as_deref()
                .and_then(|l| tops.iter().position(|t| *t == l))
            else {
                continue;
            };
            let c = col(self.named_at(i, threshold).map(|o| o.class.as_str()));
            m[r][c] += 1;
        }
        let short = |n: &str| n.chars().take(8).collect::<String>();
        let mut s = String::from("\nconfusion between the most common labels (rows: label, columns: ml's name; - none):\n");
        let _ = write!(s, "{:<26}", "");
        for t in &tops {
            let _ = write!(s, " {:>8}", short(t));
        }
        let _ = writeln!(s, " {:>8} {:>8}", "other", "-");
        for (r, t) in tops.iter().enumerate() {
            let _ = write!(s, "{t:<26}");
            for v in &m[r] {
                let _ = write!(s, " {v:>8}");
            }
            s.push('\n');
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(group: &str, label: Option<&str>, v: f32, dpi_unknown: bool) -> Sample {
        let nf = feature_count(2);
        let mut x = vec![0.0; nf];
        x[0] = v;
        x[5] = 1.0; // client payload bytes: flows without payload are not learned
        Sample {
            group: group.into(),
            x,
            label: label.map(String::from),
            accept: label.map(norm).into_iter().collect(),
            dpi_unknown,
        }
    }

    /// Two protocols told apart by feature 0, spread over eight captures;
    /// a third only in one capture is never learned by its fold's model.
    #[test]
    fn split_by_capture_and_open_set() {
        let mut v = Vec::new();
        for g in 0..8 {
            for i in 0..10 {
                v.push(sample(&format!("c{g}.pcap"), Some("A"), i as f32, g == 0));
                v.push(sample(
                    &format!("c{g}.pcap"),
                    Some("B"),
                    100.0 + i as f32,
                    false,
                ));
            }
        }
        for i in 0..6 {
            v.push(sample("odd.pcap", Some("C"), 1000.0 + i as f32, false));
        }
        let cfg = TrainConfig {
            params: TrainParams {
                trees: 8,
                ..TrainParams::default()
            },
            packets: 2,
            min_flows: 3,
            folds: 4,
            threshold: 0.8,
            hold_out: vec!["B".into()],
            ignore: Vec::new(),
            max_per_capture: 0,
            tune_precision: None,
        };
        let e = evaluate(v, &cfg);
        assert_eq!(e.captures, 9);
        assert_eq!(e.classes, vec!["A", "B", "C"]);
        // A is learned from other captures; B is held out, C unseen.
        let d = e.dpi_unknown(0.8);
        assert_eq!((d.flows, d.named, d.correct), (10, 10, 10));
        let h = e.held_out(0.8);
        assert_eq!(h.flows, 80);
        assert_eq!(h.correct, 0, "a held-out protocol is never named right");
        let u = e.unseen(0.8);
        assert!(u.flows >= 86, "B everywhere and C in its own fold: {u:?}");
        let report = e.render(0.8, 10);
        assert!(report.contains("split by capture"), "{report}");
        assert!(
            report.contains("held out of training (B): 80 flows (80 with payload)"),
            "{report}"
        );
    }

    /// The tuned threshold comes from the training captures alone: on a
    /// cleanly separable problem the lowest of the grid; where a region of
    /// feature 0 carries both labels at random, a strict target asks for
    /// more, and the evaluation applies each fold's own threshold.
    #[test]
    fn threshold_tuned_inside_the_training_folds() {
        let mut rng = 7u64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let (mut clean, mut noisy) = (Vec::new(), Vec::new());
        for g in 0..10 {
            for i in 0..20 {
                let group = format!("c{g}.pcap");
                clean.push(sample(&group, Some("A"), i as f32, true));
                clean.push(sample(&group, Some("B"), 100.0 + i as f32, true));
                // Noisy: in 40..60 the label is a coin toss.
                let v = (next() % 100) as f32;
                let label = if (40.0..60.0).contains(&v) {
                    if next() % 2 == 0 {
                        "A"
                    } else {
                        "B"
                    }
                } else if v < 50.0 {
                    "A"
                } else {
                    "B"
                };
                noisy.push(sample(&group, Some(label), v, true));
            }
        }
        let cfg = |p: f32| TrainConfig {
            params: TrainParams {
                trees: 20,
                min_leaf: 3,
                ..TrainParams::default()
            },
            packets: 2,
            min_flows: 3,
            folds: 4,
            threshold: 0.65,
            hold_out: Vec::new(),
            ignore: Vec::new(),
            max_per_capture: 0,
            tune_precision: Some(p),
        };
        let e = evaluate(clean.clone(), &cfg(0.98));
        assert_eq!(e.fold_thresholds, vec![0.5; 4]);
        assert_eq!(tune_on_all(&clean, &cfg(0.98)), Some(0.5));
        let d = e.dpi_unknown(At::Tuned);
        assert_eq!((d.named, d.correct), (d.flows, d.flows));
        let lax = evaluate(noisy.clone(), &cfg(0.5));
        let strict = evaluate(noisy.clone(), &cfg(0.97));
        assert!(
            lax.fold_thresholds.iter().all(|&t| t == 0.5),
            "{:?}",
            lax.fold_thresholds
        );
        assert!(
            strict.fold_thresholds.iter().any(|&t| t > 0.5),
            "{:?}",
            strict.fold_thresholds
        );
        // Each flow is judged by its own fold's threshold.
        let (a, b) = (
            lax.count(At::Tuned, |_| true),
            strict.count(At::Tuned, |_| true),
        );
        assert!(
            b.named < a.named && b.precision() >= a.precision(),
            "{a:?} {b:?}"
        );
        assert!(strict
            .render(0.65, 5)
            .contains("threshold chosen inside each fold"));
        assert_eq!(
            evaluate(
                noisy,
                &TrainConfig {
                    tune_precision: None,
                    ..cfg(0.5)
                }
            )
            .fold_thresholds,
            vec![0.65; 4]
        );
    }
}
