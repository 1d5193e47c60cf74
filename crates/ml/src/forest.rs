//! A small random forest (Breiman 2001): CART trees grown on bootstrap
//! samples with Gini impurity, a random subset of the features tried at
//! each split, and class probabilities averaged over the trees.
//!
//! Written here rather than taken from smartcore or linfa because a model
//! file is attacker-controlled input: every node is checked on load
//! ([`Forest::check`]: feature in range, children after their parent, so
//! every walk ends, probabilities finite), and prediction never indexes
//! out of range even on an unchecked forest. The leaves keep class
//! probabilities (needed for `--ml-threshold`) and each split keeps its
//! impurity decrease (the evidence's "features that weighed most").

use serde::{Deserialize, Serialize};

/// One node of a tree. Children always have larger indices than their
/// parent (checked on load), so a walk from the root ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Node {
    /// Go to `l` when `x[f] <= t`, else to `r`. `g`: the split's weighted
    /// Gini decrease (share of the tree's training samples at the node
    /// times the impurity drop).
    Split {
        f: u16,
        t: f32,
        l: u32,
        r: u32,
        g: f32,
    },
    /// Class probabilities at a leaf: (class index, probability), sparse.
    Leaf { p: Vec<(u16, f32)> },
}

/// One decision tree; the root is node 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

/// The forest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forest {
    pub trees: Vec<Tree>,
}

/// Training settings.
#[derive(Debug, Clone, Copy)]
pub struct TrainParams {
    pub trees: u16,
    pub max_depth: u16,
    /// Fewest training samples in a leaf.
    pub min_leaf: u32,
    /// Features tried per split (default: half of them; the usual square
    /// root gave flat, under-confident probabilities on this task).
    pub mtry: Option<usize>,
    pub seed: u64,
}

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams {
            trees: 100,
            max_depth: 16,
            min_leaf: 1,
            mtry: None,
            seed: 0x6e65_7473_6966_7421,
        }
    }
}

/// A deterministic generator (splitmix64): training is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Training data: `n` rows of `features` values, row-major, and a class
/// per row (below `classes`).
pub struct Data<'a> {
    pub x: &'a [f32],
    pub y: &'a [u16],
    pub features: usize,
    pub classes: usize,
}

impl Data<'_> {
    fn at(&self, row: usize, f: usize) -> f32 {
        self.x[row * self.features + f]
    }
}

/// Grow a forest. Rows whose class is out of range are ignored.
pub fn train(data: &Data<'_>, p: &TrainParams) -> Forest {
    let rows: Vec<usize> = (0..data.y.len())
        .filter(|&i| usize::from(data.y[i]) < data.classes)
        .filter(|&i| (i + 1) * data.features <= data.x.len())
        .collect();
    let mut rng = Rng(p.seed);
    let mtry = p
        .mtry
        .unwrap_or(data.features.div_ceil(2))
        .clamp(1, data.features.max(1));
    let mut trees = Vec::with_capacity(usize::from(p.trees));
    for _ in 0..p.trees {
        if rows.is_empty() {
            break;
        }
        let sample: Vec<usize> = (0..rows.len())
            .map(|_| rows[rng.below(rows.len())])
            .collect();
        let mut g = Grower {
            data,
            p,
            mtry,
            rng: &mut rng,
            nodes: Vec::new(),
            total: sample.len() as f32,
            scratch: Vec::new(),
        };
        g.grow(sample, 0);
        trees.push(Tree { nodes: g.nodes });
    }
    Forest { trees }
}

struct Grower<'a, 'b> {
    data: &'a Data<'a>,
    p: &'a TrainParams,
    mtry: usize,
    rng: &'b mut Rng,
    nodes: Vec<Node>,
    total: f32,
    scratch: Vec<(f32, u16)>,
}

fn gini_sum(counts: &[u32]) -> f64 {
    counts.iter().map(|&c| f64::from(c) * f64::from(c)).sum()
}

impl Grower<'_, '_> {
    fn leaf(&self, rows: &[usize]) -> Node {
        let mut counts = vec![0u32; self.data.classes];
        for &r in rows {
            counts[usize::from(self.data.y[r])] += 1;
        }
        let n = rows.len().max(1) as f32;
        Node::Leaf {
            p: counts
                .iter()
                .enumerate()
                .filter(|(_, &c)| c > 0)
                .map(|(k, &c)| (k as u16, c as f32 / n))
                .collect(),
        }
    }

    /// Grow the subtree of `rows`; returns its root's index.
    fn grow(&mut self, rows: Vec<usize>, depth: u16) -> u32 {
        let at = self.nodes.len();
        let mut counts = vec![0u32; self.data.classes];
        for &r in &rows {
            counts[usize::from(self.data.y[r])] += 1;
        }
        let pure = counts.iter().filter(|&&c| c > 0).count() <= 1;
        let min_leaf = self.p.min_leaf.max(1) as usize;
        let split = if pure || depth >= self.p.max_depth || rows.len() < 2 * min_leaf {
            None
        } else {
            self.best_split(&rows, &counts, min_leaf)
        };
        let Some((f, t, gain)) = split else {
            self.nodes.push(self.leaf(&rows));
            return at as u32;
        };
        let (left, right): (Vec<usize>, Vec<usize>) =
            rows.iter().partition(|&&r| self.data.at(r, f) <= t);
        let g = gain as f32 / self.total;
        // Placeholder; children get larger indices than their parent.
        self.nodes.push(Node::Leaf { p: Vec::new() });
        drop(rows);
        let l = self.grow(left, depth + 1);
        let r = self.grow(right, depth + 1);
        self.nodes[at] = Node::Split {
            f: f as u16,
            t,
            l,
            r,
            g,
        };
        at as u32
    }

    /// The best (feature, threshold, weighted impurity decrease) among
    /// `mtry` random features, if any split separates anything.
    fn best_split(
        &mut self,
        rows: &[usize],
        counts: &[u32],
        min_leaf: usize,
    ) -> Option<(usize, f32, f64)> {
        let n = rows.len() as f64;
        let parent = n - gini_sum(counts) / n; // n * gini
        let mut best: Option<(usize, f32, f64)> = None;
        let mut tried = 0;
        // Features in random order (drawn without replacement); like other
        // implementations, go on past constant features (up to all of
        // them) until `mtry` usable ones were tried.
        let mut order: Vec<usize> = (0..self.data.features).collect();
        for j in 0..order.len() {
            if tried >= self.mtry {
                break;
            }
            let pick = j + self.rng.below(order.len() - j);
            order.swap(j, pick);
            let f = order[j];
            self.scratch.clear();
            self.scratch
                .extend(rows.iter().map(|&r| (self.data.at(r, f), self.data.y[r])));
            self.scratch.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
            let (first, last) = match (self.scratch.first(), self.scratch.last()) {
                (Some(a), Some(b)) => (a.0, b.0),
                _ => continue,
            };
            if first == last {
                continue;
            }
            tried += 1;
            let mut left = vec![0u32; counts.len()];
            let mut right = counts.to_vec();
            let (mut sl, mut sr) = (0f64, gini_sum(counts));
            for i in 0..self.scratch.len() - 1 {
                let (v, k) = self.scratch[i];
                let k = usize::from(k);
                sl += 2.0 * f64::from(left[k]) + 1.0;
                sr -= 2.0 * f64::from(right[k]) - 1.0;
                left[k] += 1;
                right[k] -= 1;
                let next = self.scratch[i + 1].0;
                let nl = i + 1;
                let nr = self.scratch.len() - nl;
                if v == next || nl < min_leaf || nr < min_leaf {
                    continue;
                }
                let child = (nl as f64 - sl / nl as f64) + (nr as f64 - sr / nr as f64);
                let gain = parent - child;
                if gain > 1e-9 && best.is_none_or(|b| gain > b.2) {
                    // Midpoint; when it rounds up to `next`, `v` itself.
                    let mid = v + (next - v) / 2.0;
                    let t = if mid < next { mid } else { v };
                    best = Some((f, t, gain));
                }
            }
        }
        best
    }
}

/// Why a forest cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tree {tree}, node {node}: {what}")]
pub struct BadNode {
    pub tree: usize,
    pub node: usize,
    pub what: String,
}

impl Forest {
    /// Check every node: features below `features`, classes below
    /// `classes`, children after their parent and inside the tree, finite
    /// thresholds and probabilities in [0, 1].
    pub fn check(&self, features: usize, classes: usize) -> Result<(), BadNode> {
        for (ti, t) in self.trees.iter().enumerate() {
            let bad = |node: usize, what: String| BadNode {
                tree: ti,
                node,
                what,
            };
            if t.nodes.is_empty() {
                return Err(bad(0, "empty tree".into()));
            }
            for (i, n) in t.nodes.iter().enumerate() {
                match n {
                    Node::Split { f, t: th, l, r, g } => {
                        if usize::from(*f) >= features {
                            return Err(bad(i, format!("feature {f} of {features}")));
                        }
                        if !th.is_finite() || !g.is_finite() {
                            return Err(bad(i, "threshold or weight not finite".into()));
                        }
                        for c in [*l, *r] {
                            let c = c as usize;
                            if c <= i || c >= t.nodes.len() {
                                return Err(bad(
                                    i,
                                    format!("child {c} not after the node inside the tree"),
                                ));
                            }
                        }
                    }
                    Node::Leaf { p } => {
                        if p.is_empty() {
                            return Err(bad(i, "leaf without classes".into()));
                        }
                        for &(k, q) in p {
                            if usize::from(k) >= classes {
                                return Err(bad(i, format!("class {k} of {classes}")));
                            }
                            if !(0.0..=1.0).contains(&q) {
                                return Err(bad(i, format!("probability {q}")));
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The leaf `x` reaches in tree `t`, and the splits on the way (None
    /// for a malformed tree: a child out of range or a walk too long).
    fn walk<'a>(
        t: &'a Tree,
        x: &[f32],
        mut on_split: impl FnMut(u16, f32),
    ) -> Option<&'a [(u16, f32)]> {
        let mut i = 0usize;
        for _ in 0..=t.nodes.len() {
            match t.nodes.get(i)? {
                Node::Leaf { p } => return Some(p),
                Node::Split { f, t: th, l, r, g } => {
                    on_split(*f, *g);
                    let v = x.get(usize::from(*f)).copied().unwrap_or(f32::NAN);
                    i = if v <= *th { *l } else { *r } as usize;
                }
            }
        }
        None
    }

    /// Class probabilities for `x` (averaged over the trees; `classes` long).
    pub fn predict(&self, x: &[f32], classes: usize) -> Vec<f32> {
        let mut prob = vec![0f32; classes];
        let n = self.trees.len().max(1) as f32;
        for t in &self.trees {
            if let Some(leaf) = Self::walk(t, x, |_, _| {}) {
                for &(k, q) in leaf {
                    if let Some(s) = prob.get_mut(usize::from(k)) {
                        *s += q / n;
                    }
                }
            }
        }
        prob
    }

    /// How much each feature weighed in choosing `class` for `x`: the
    /// impurity decreases of the splits on the paths of the trees that
    /// vote for `class` (each path weighted by the leaf's probability of
    /// `class`), normalised to sum to one.
    pub fn weights(&self, x: &[f32], class: u16, features: usize) -> Vec<f32> {
        let mut w = vec![0f32; features];
        let mut path: Vec<(u16, f32)> = Vec::new();
        for t in &self.trees {
            path.clear();
            let Some(leaf) = Self::walk(t, x, |f, g| path.push((f, g))) else {
                continue;
            };
            let q = leaf.iter().find(|e| e.0 == class).map_or(0.0, |e| e.1);
            if q <= 0.0 {
                continue;
            }
            for &(f, g) in &path {
                if let Some(s) = w.get_mut(usize::from(f)) {
                    *s += g * q;
                }
            }
        }
        let sum: f32 = w.iter().sum();
        if sum > 0.0 {
            w.iter_mut().for_each(|v| *v /= sum);
        }
        w
    }

    /// Nodes over all trees.
    pub fn node_count(&self) -> usize {
        self.trees.iter().map(|t| t.nodes.len()).sum()
    }
}

/// A forest laid out for fast prediction: all nodes in one array of
/// 16-byte records, leaf probabilities in another (built from a checked
/// [`Forest`]; walking it never indexes out of range either way).
#[derive(Debug, Clone, Default)]
pub struct Compact {
    nodes: Vec<CNode>,
    roots: Vec<u32>,
    leaves: Vec<(u16, f32)>,
}

/// A split (`leaf == false`: go to `a` when `x[f] <= t`, else `b`) or a
/// leaf (its probabilities are `leaves[a..b]`).
#[derive(Debug, Clone, Copy)]
struct CNode {
    f: u16,
    leaf: bool,
    t: f32,
    a: u32,
    b: u32,
}

impl Compact {
    pub fn new(forest: &Forest) -> Compact {
        let mut c = Compact::default();
        for tree in &forest.trees {
            let base = c.nodes.len() as u32;
            c.roots.push(base);
            for n in &tree.nodes {
                c.nodes.push(match n {
                    Node::Split { f, t, l, r, .. } => CNode {
                        f: *f,
                        leaf: false,
                        t: *t,
                        a: base.saturating_add(*l),
                        b: base.saturating_add(*r),
                    },
                    Node::Leaf { p } => {
                        let a = c.leaves.len() as u32;
                        c.leaves.extend_from_slice(p);
                        CNode {
                            f: 0,
                            leaf: true,
                            t: 0.0,
                            a,
                            b: c.leaves.len() as u32,
                        }
                    }
                });
            }
        }
        c
    }

    /// The most probable class and its probability, if it reaches
    /// `threshold`. `scratch` is reused across calls (sized to `classes`).
    /// Stops early once no class can reach the threshold any more.
    pub fn predict_above(
        &self,
        x: &[f32],
        classes: usize,
        threshold: f32,
        scratch: &mut Vec<f32>,
    ) -> Option<(u16, f32)> {
        scratch.clear();
        scratch.resize(classes, 0.0);
        let total = self.roots.len() as f32;
        let need = threshold * total;
        let mut best = 0f32;
        for (done, &root) in self.roots.iter().enumerate() {
            let mut i = root as usize;
            let mut steps = 0;
            let leaf = loop {
                let Some(n) = self.nodes.get(i) else {
                    break None;
                };
                if n.leaf {
                    break self.leaves.get(n.a as usize..n.b as usize);
                }
                steps += 1;
                if steps > self.nodes.len() {
                    break None;
                }
                let v = x.get(usize::from(n.f)).copied().unwrap_or(f32::NAN);
                i = if v <= n.t { n.a } else { n.b } as usize;
            };
            for &(k, q) in leaf.unwrap_or(&[]) {
                if let Some(s) = scratch.get_mut(usize::from(k)) {
                    *s += q;
                    best = best.max(*s);
                }
            }
            let left = total - (done + 1) as f32;
            if best + left < need {
                return None;
            }
        }
        let (k, sum) =
            scratch.iter().enumerate().fold(
                (0usize, f32::MIN),
                |b, (i, &q)| if q > b.1 { (i, q) } else { b },
            );
        let p = sum / total.max(1.0);
        (p >= threshold && p > 0.0).then_some((k as u16, p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two classes separated by feature 1 (feature 0 is noise): the forest
    /// learns it, and a noisy class-free feature weighs little.
    #[test]
    fn learns_a_separable_problem() {
        let mut rng = Rng(7);
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for i in 0..400 {
            let k = (i % 2) as u16;
            x.push((rng.next() % 1000) as f32);
            x.push(if k == 0 { 10.0 } else { 20.0 } + (rng.next() % 5) as f32);
            y.push(k);
        }
        let data = Data {
            x: &x,
            y: &y,
            features: 2,
            classes: 2,
        };
        let f = train(
            &data,
            &TrainParams {
                trees: 10,
                ..TrainParams::default()
            },
        );
        f.check(2, 2).expect("a trained forest is well formed");
        let p = f.predict(&[500.0, 11.0], 2);
        assert!(p[0] > 0.9, "{p:?}");
        let p = f.predict(&[500.0, 22.0], 2);
        assert!(p[1] > 0.9, "{p:?}");
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        let w = f.weights(&[500.0, 22.0], 1, 2);
        assert!(w[1] > 0.9, "the separating feature weighs most: {w:?}");
    }

    /// The compact layout predicts what the forest does, and abstains
    /// below the threshold (early or not).
    #[test]
    fn compact_agrees() {
        let mut rng = Rng(3);
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for i in 0..300 {
            let k = (i % 3) as u16;
            x.push((rng.next() % 100) as f32 + f32::from(k) * 30.0);
            x.push((rng.next() % 100) as f32);
            y.push(k);
        }
        let data = Data {
            x: &x,
            y: &y,
            features: 2,
            classes: 3,
        };
        let f = train(
            &data,
            &TrainParams {
                trees: 15,
                ..TrainParams::default()
            },
        );
        let c = Compact::new(&f);
        let mut scratch = Vec::new();
        let mut named = 0;
        for i in 0..300 {
            let row = &x[2 * i..2 * i + 2];
            let p = f.predict(row, 3);
            let (k, q) = p
                .iter()
                .enumerate()
                .fold((0, f32::MIN), |b, (i, &q)| if q > b.1 { (i, q) } else { b });
            for t in [0.0, 0.5, 0.8] {
                let got = c.predict_above(row, 3, t, &mut scratch);
                if q >= t {
                    let (gk, gq) = got.unwrap_or((99, 0.0));
                    assert_eq!(usize::from(gk), k);
                    assert!((gq - q).abs() < 1e-5);
                    named += 1;
                } else {
                    assert_eq!(got, None);
                }
            }
        }
        assert!(named > 300, "{named}");
    }

    #[test]
    fn malformed_forests_are_refused_and_never_panic() {
        let leaf = || Node::Leaf { p: vec![(0, 1.0)] };
        let split = |l, r| Node::Split {
            f: 0,
            t: 0.5,
            l,
            r,
            g: 0.1,
        };
        let cases = [
            vec![split(0, 1), leaf()],              // a cycle
            vec![split(1, 5), leaf()],              // child outside the tree
            vec![],                                 // empty
            vec![Node::Leaf { p: vec![(3, 1.0)] }], // class out of range
            vec![Node::Leaf { p: vec![(0, 7.0)] }], // probability > 1
            vec![
                Node::Split {
                    f: 9,
                    t: 0.5,
                    l: 1,
                    r: 2,
                    g: 0.0,
                },
                leaf(),
                leaf(),
            ],
            vec![
                Node::Split {
                    f: 0,
                    t: f32::NAN,
                    l: 1,
                    r: 2,
                    g: 0.0,
                },
                leaf(),
                leaf(),
            ],
        ];
        for nodes in cases {
            let f = Forest {
                trees: vec![Tree { nodes }],
            };
            assert!(f.check(2, 2).is_err(), "{f:?}");
            // Unchecked, prediction still ends without panicking.
            let p = f.predict(&[1.0, 1.0], 2);
            assert_eq!(p.len(), 2);
            let _ = f.weights(&[1.0], 0, 2);
            let _ = Compact::new(&f).predict_above(&[1.0], 2, 0.0, &mut Vec::new());
        }
    }
}
