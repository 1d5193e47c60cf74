//! Sequential pattern mining over sequences of single items: GSP (Srikant &
//! Agrawal, "Mining Sequential Patterns: Generalizations and Performance
//! Improvements", EDBT 1996) and PrefixSpan (Pei et al., "PrefixSpan: Mining
//! Sequential Patterns Efficiently by Prefix-Projected Pattern Growth", ICDE
//! 2001).
//!
//! Each element of a data sequence here is one item (a command and its
//! reply), so both algorithms work in their single-item-element case:
//!
//! * a pattern `<a b c>` is *contained* in a sequence `s` when there are
//!   positions `i < j < k` with `s[i] = a`, `s[j] = b`, `s[k] = c` (gaps
//!   allowed, no time constraints);
//! * its *support* is the number of sequences that contain it (a sequence
//!   counts once however often the pattern occurs in it);
//! * a pattern is frequent when its support is at least `min_support`.
//!
//! Both return exactly the same set — every frequent pattern of length
//! 1..=`max_len` with its support — sorted by length, then items. A test
//! checks this on several datasets; `netsift-learn-bench` times both.
//!
//! Bounds: patterns are at most `max_len` items long and at most
//! `max_patterns` are produced; beyond that the miner stops with
//! [`MineError::TooManyPatterns`] instead of returning an arbitrary subset
//! (raise the minimum support).

use std::collections::HashMap;

/// An item, interned (see [`crate::session::Vocab`]).
pub type Item = u32;

/// A frequent sequential pattern and its support (number of sequences).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pattern {
    pub items: Vec<Item>,
    pub support: u32,
}

/// Mining parameters.
#[derive(Debug, Clone, Copy)]
pub struct MineConfig {
    /// Minimum support, in sequences (at least 1).
    pub min_support: u32,
    /// Longest pattern mined.
    pub max_len: usize,
    /// Most patterns produced before giving up.
    pub max_patterns: usize,
}

impl Default for MineConfig {
    fn default() -> Self {
        MineConfig {
            min_support: 1,
            max_len: 8,
            max_patterns: 100_000,
        }
    }
}

/// Why mining stopped.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MineError {
    #[error("more than {limit} frequent patterns: raise the minimum support or lower the maximum pattern length")]
    TooManyPatterns { limit: usize },
}

/// The absolute support for a fraction of `n` sequences (at least 1):
/// `ceil(fraction * n)`.
pub fn absolute_support(fraction: f64, n: usize) -> u32 {
    let s = (fraction * n as f64).ceil();
    if s.is_finite() && s >= 1.0 {
        s.min(u32::MAX as f64) as u32
    } else {
        1
    }
}

/// Whether `pattern` is a (gapped) subsequence of `seq`.
pub fn contains(seq: &[Item], pattern: &[Item]) -> bool {
    let mut it = seq.iter();
    pattern.iter().all(|p| it.any(|s| s == p))
}

/// End (exclusive) of the leftmost embedding of `pattern` in `seq`: the
/// position after the item that matched the pattern's last item.
fn leftmost_end(seq: &[Item], pattern: &[Item]) -> Option<usize> {
    let mut pos = 0;
    for p in pattern {
        let off = seq.get(pos..)?.iter().position(|s| s == p)?;
        pos += off + 1;
    }
    Some(pos)
}

fn n_items(db: &[Vec<Item>]) -> usize {
    db.iter()
        .flat_map(|s| s.iter())
        .map(|&i| i as usize + 1)
        .max()
        .unwrap_or(0)
}

/// Frequent single items: support counted once per sequence.
fn frequent_items(db: &[Vec<Item>], min_support: u32) -> Vec<(Item, u32)> {
    let n = n_items(db);
    let mut count = vec![0u32; n];
    let mut stamp = vec![usize::MAX; n];
    for (sid, seq) in db.iter().enumerate() {
        for &i in seq {
            let i = i as usize;
            if stamp[i] != sid {
                stamp[i] = sid;
                count[i] += 1;
            }
        }
    }
    count
        .iter()
        .enumerate()
        .filter(|(_, &c)| c >= min_support)
        .map(|(i, &c)| (i as Item, c))
        .collect()
}

fn sort_patterns(out: &mut [Pattern]) {
    out.sort_by(|a, b| {
        a.items
            .len()
            .cmp(&b.items.len())
            .then_with(|| a.items.cmp(&b.items))
    });
}

/// GSP, level by level.
///
/// * Pass 1 counts single items.
/// * Candidate generation (§3.1, "join phase"): two frequent
///   `(k-1)`-sequences `s1`, `s2` join when dropping the first item of `s1`
///   gives the same sequence as dropping the last item of `s2`; the
///   candidate is `s1` extended with the last item of `s2`. For `k = 2`
///   every ordered pair `<a b>` of frequent items (including `<a a>`) is a
///   candidate.
/// * "Prune phase": a candidate is deleted if any of its `(k-1)`
///   subsequences is not frequent. Without max-gap constraints every
///   subsequence of a frequent sequence is frequent, so all `k` of them are
///   checked, not only the contiguous ones.
/// * Support counting (§3.2): the paper stores candidates in a hash tree;
///   here candidates are grouped by their `(k-1)`-prefix, the leftmost
///   embedding of the prefix is found once per sequence, and each extension
///   item is then a single lookup in the sequence's last-occurrence table
///   (the candidate is contained iff its last item occurs after that
///   embedding ends).
pub fn gsp(db: &[Vec<Item>], cfg: &MineConfig) -> Result<Vec<Pattern>, MineError> {
    let min = cfg.min_support.max(1);
    let mut out: Vec<Pattern> = Vec::new();
    if cfg.max_len == 0 {
        return Ok(out);
    }
    let l1 = frequent_items(db, min);
    let freq_items: Vec<Item> = l1.iter().map(|(i, _)| *i).collect();
    out.extend(l1.iter().map(|&(i, c)| Pattern {
        items: vec![i],
        support: c,
    }));
    if out.len() > cfg.max_patterns {
        return Err(MineError::TooManyPatterns {
            limit: cfg.max_patterns,
        });
    }
    let n = n_items(db);
    let mut last_pos = vec![usize::MAX; n];
    let mut level: Vec<Vec<Item>> = freq_items.iter().map(|&i| vec![i]).collect();
    let mut k = 2;
    while k <= cfg.max_len && !level.is_empty() {
        // Candidates grouped by prefix (the (k-1)-sequence they extend).
        let prev: std::collections::HashSet<&[Item]> = level.iter().map(|v| v.as_slice()).collect();
        let mut by_suffix: HashMap<&[Item], Vec<Item>> = HashMap::new();
        for s in &level {
            // s2 indexed by s2[..k-2]; its last item is the extension.
            by_suffix.entry(&s[..k - 2]).or_default().push(s[k - 2]);
        }
        let mut groups: Vec<(Vec<Item>, Vec<Item>)> = Vec::new();
        for s1 in &level {
            let key = &s1[1..];
            let Some(exts) = by_suffix.get(key) else {
                continue;
            };
            let mut keep = Vec::new();
            for &x in exts {
                let mut cand = s1.clone();
                cand.push(x);
                // Prune: every (k-1)-subsequence must be frequent.
                let ok = (0..k).all(|drop| {
                    let sub: Vec<Item> = cand
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| *j != drop)
                        .map(|(_, &v)| v)
                        .collect();
                    prev.contains(sub.as_slice())
                });
                if ok {
                    keep.push(x);
                }
            }
            if !keep.is_empty() {
                groups.push((s1.clone(), keep));
            }
        }
        // Support counting.
        let mut counts: Vec<Vec<u32>> = groups.iter().map(|(_, e)| vec![0; e.len()]).collect();
        for seq in db {
            if seq.len() < k {
                continue;
            }
            for (p, &i) in seq.iter().enumerate() {
                last_pos[i as usize] = p;
            }
            for (g, (prefix, exts)) in groups.iter().enumerate() {
                let Some(end) = leftmost_end(seq, prefix) else {
                    continue;
                };
                for (e, &x) in exts.iter().enumerate() {
                    let lp = last_pos[x as usize];
                    if lp != usize::MAX && lp >= end {
                        counts[g][e] += 1;
                    }
                }
            }
            for &i in seq {
                last_pos[i as usize] = usize::MAX;
            }
        }
        let mut next = Vec::new();
        for ((prefix, exts), cs) in groups.iter().zip(&counts) {
            for (&x, &c) in exts.iter().zip(cs) {
                if c >= min {
                    let mut items = prefix.clone();
                    items.push(x);
                    next.push(items.clone());
                    out.push(Pattern { items, support: c });
                    if out.len() > cfg.max_patterns {
                        return Err(MineError::TooManyPatterns {
                            limit: cfg.max_patterns,
                        });
                    }
                }
            }
        }
        level = next;
        k += 1;
    }
    sort_patterns(&mut out);
    Ok(out)
}

/// PrefixSpan with pseudo-projection: a projected database is a list of
/// (sequence, start position) pairs; for a prefix `α` the frequent items of
/// its projected suffixes extend it to `α·x`, whose projection starts after
/// the first `x` of each suffix (Pei et al. 2001, §3, Lemma 3.2 and the
/// pseudo-projection of §3.3).
pub fn prefixspan(db: &[Vec<Item>], cfg: &MineConfig) -> Result<Vec<Pattern>, MineError> {
    let min = cfg.min_support.max(1);
    let mut out = Vec::new();
    if cfg.max_len == 0 {
        return Ok(out);
    }
    let n = n_items(db);
    let mut st = Span {
        db,
        min,
        cfg,
        stamp: vec![u32::MAX; n],
        slot: vec![u32::MAX; n],
        out: &mut out,
    };
    let proj: Vec<(u32, u32)> = (0..db.len() as u32).map(|s| (s, 0)).collect();
    let mut prefix = Vec::new();
    st.grow(&mut prefix, &proj)?;
    sort_patterns(&mut out);
    Ok(out)
}

struct Span<'a> {
    db: &'a [Vec<Item>],
    min: u32,
    cfg: &'a MineConfig,
    /// Per item: the sequence that last counted it (reset after each pass).
    stamp: Vec<u32>,
    /// Per item: its slot in the current pass's extensions (u32::MAX: none).
    slot: Vec<u32>,
    out: &'a mut Vec<Pattern>,
}

impl Span<'_> {
    fn grow(&mut self, prefix: &mut Vec<Item>, proj: &[(u32, u32)]) -> Result<(), MineError> {
        // One pass over the projected suffixes counts each item once per
        // sequence and builds, at the same time, the projection of every
        // extension `prefix·x`: it starts after the first `x` of the suffix.
        let mut kids: Vec<(Item, Vec<(u32, u32)>)> = Vec::new();
        for &(sid, start) in proj {
            let seq = &self.db[sid as usize];
            for (off, &i) in seq[start as usize..].iter().enumerate() {
                let iu = i as usize;
                if self.stamp[iu] == sid {
                    continue;
                }
                self.stamp[iu] = sid;
                let k = match self.slot[iu] {
                    u32::MAX => {
                        self.slot[iu] = kids.len() as u32;
                        kids.push((i, Vec::new()));
                        kids.len() - 1
                    }
                    k => k as usize,
                };
                kids[k].1.push((sid, start + off as u32 + 1));
            }
        }
        for (i, _) in &kids {
            self.slot[*i as usize] = u32::MAX;
            self.stamp[*i as usize] = u32::MAX;
        }
        let min = self.min as usize;
        kids.retain(|(_, p)| p.len() >= min);
        kids.sort_unstable_by_key(|(i, _)| *i);
        for (x, next) in kids {
            prefix.push(x);
            self.out.push(Pattern {
                items: prefix.clone(),
                support: next.len() as u32,
            });
            if self.out.len() > self.cfg.max_patterns {
                return Err(MineError::TooManyPatterns {
                    limit: self.cfg.max_patterns,
                });
            }
            if prefix.len() < self.cfg.max_len {
                self.grow(prefix, &next)?;
            }
            prefix.pop();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pats(v: &[(&[Item], u32)]) -> Vec<Pattern> {
        let mut p: Vec<Pattern> = v
            .iter()
            .map(|(i, s)| Pattern {
                items: i.to_vec(),
                support: *s,
            })
            .collect();
        sort_patterns(&mut p);
        p
    }

    /// Brute force: every subsequence of every sequence, counted per
    /// sequence; the reference both miners are checked against.
    fn brute(db: &[Vec<Item>], cfg: &MineConfig) -> Vec<Pattern> {
        let mut all: std::collections::BTreeSet<Vec<Item>> = Default::default();
        for s in db {
            let n = s.len();
            assert!(n <= 16, "brute force is for tiny datasets");
            for mask in 1u32..(1 << n) {
                let sub: Vec<Item> = (0..n)
                    .filter(|i| mask & (1 << i) != 0)
                    .map(|i| s[i])
                    .collect();
                if sub.len() <= cfg.max_len {
                    all.insert(sub);
                }
            }
        }
        let mut out: Vec<Pattern> = all
            .into_iter()
            .map(|p| {
                let support = db.iter().filter(|s| contains(s, &p)).count() as u32;
                Pattern { items: p, support }
            })
            .filter(|p| p.support >= cfg.min_support)
            .collect();
        sort_patterns(&mut out);
        out
    }

    // Items: 0 = USER:331, 1 = PASS:230, 2 = PASS:530, 3 = LIST:226, 4 = QUIT:221.
    fn ftp_like() -> Vec<Vec<Item>> {
        vec![
            vec![0, 1, 3, 4],    // login, list, quit
            vec![0, 1, 4],       // login, quit
            vec![0, 2, 0, 1, 4], // one failed password, then success
            vec![0, 2, 4],       // failed login
        ]
    }

    #[test]
    fn hand_checked_support_3_of_4() {
        // By hand, min support 3:
        //   items: 0 in all 4, 4 in all 4, 1 in 3 (seqs 0,1,2), 2 in 2, 3 in 1.
        //   <0 1>: seqs 0,1,2 = 3; <0 4>: 4; <1 4>: 3; <0 0>: only seq 2.
        //   <0 1 4>: seqs 0,1,2 = 3.
        let cfg = MineConfig {
            min_support: 3,
            ..Default::default()
        };
        let want = pats(&[
            (&[0], 4),
            (&[1], 3),
            (&[4], 4),
            (&[0, 1], 3),
            (&[0, 4], 4),
            (&[1, 4], 3),
            (&[0, 1, 4], 3),
        ]);
        assert_eq!(gsp(&ftp_like(), &cfg).unwrap(), want);
        assert_eq!(prefixspan(&ftp_like(), &cfg).unwrap(), want);
    }

    #[test]
    fn hand_checked_support_2_keeps_repeats() {
        // Min support 2 adds item 2 (seqs 2,3) and <0 2>, <2 4>, <0 2 4>
        // (seqs 2,3); <0 0> has support 1 (seq 2 only) and is not frequent,
        // <2 0> and <2 1> are only in seq 2.
        let cfg = MineConfig {
            min_support: 2,
            ..Default::default()
        };
        let want = pats(&[
            (&[0], 4),
            (&[1], 3),
            (&[2], 2),
            (&[4], 4),
            (&[0, 1], 3),
            (&[0, 2], 2),
            (&[0, 4], 4),
            (&[1, 4], 3),
            (&[2, 4], 2),
            (&[0, 1, 4], 3),
            (&[0, 2, 4], 2),
        ]);
        assert_eq!(gsp(&ftp_like(), &cfg).unwrap(), want);
        assert_eq!(prefixspan(&ftp_like(), &cfg).unwrap(), want);
    }

    #[test]
    fn repeated_item_pattern() {
        // <a a> is a pattern in its own right: a sequence supports it only
        // if a occurs twice.
        let db = vec![vec![7, 7], vec![7, 1, 7], vec![7]];
        let cfg = MineConfig {
            min_support: 2,
            ..Default::default()
        };
        let want = pats(&[(&[7], 3), (&[7, 7], 2)]);
        assert_eq!(gsp(&db, &cfg).unwrap(), want);
        assert_eq!(prefixspan(&db, &cfg).unwrap(), want);
    }

    #[test]
    fn srikant_agrawal_style_example() {
        // Five customer sequences (single items per element), support 2.
        // a=0 b=1 c=2 d=3 e=4
        let db = vec![
            vec![1, 3, 2, 1, 2],
            vec![1, 0, 4, 1],
            vec![0, 1, 2, 1],
            vec![1, 4, 2],
            vec![3],
        ];
        let cfg = MineConfig {
            min_support: 2,
            ..Default::default()
        };
        // Hand count: b in 4, a in 2, c in 3, d in 2, e in 2.
        // <b b>: seqs 0,1,2 = 3; <b c>: 0,2,3 = 3; <a b>: 1,2 = 2;
        // <c b>: 0,2 = 2; <d c>? seq0 only; <b e>: 1,3 = 2; <b c b>: 0,2 = 2;
        // <d b>: seq 0 only; <e b>? seq1 only; <a b b>? seq 2 only has a,b,..,b: yes (0,1,3); seq1 a(1) b(3) only one b after a: no.
        let want = pats(&[
            (&[0], 2),
            (&[1], 4),
            (&[2], 3),
            (&[3], 2),
            (&[4], 2),
            (&[0, 1], 2),
            (&[1, 1], 3),
            (&[1, 2], 3),
            (&[1, 4], 2),
            (&[2, 1], 2),
            (&[1, 2, 1], 2),
        ]);
        assert_eq!(brute(&db, &cfg), want, "hand count");
        assert_eq!(gsp(&db, &cfg).unwrap(), want);
        assert_eq!(prefixspan(&db, &cfg).unwrap(), want);
    }

    #[test]
    fn gsp_equals_prefixspan_equals_brute_force() {
        // Pseudo-random datasets (xorshift, fixed seeds).
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..30 {
            let n_seq = 5 + (rnd() % 20) as usize;
            let alphabet = 2 + (rnd() % 6) as u32;
            let db: Vec<Vec<Item>> = (0..n_seq)
                .map(|_| {
                    let len = (rnd() % 9) as usize;
                    (0..len)
                        .map(|_| (rnd() % alphabet as u64) as Item)
                        .collect()
                })
                .collect();
            for min_support in 1..=4 {
                let cfg = MineConfig {
                    min_support,
                    max_len: 1 + round % 6,
                    max_patterns: 1_000_000,
                };
                let b = brute(&db, &cfg);
                assert_eq!(
                    gsp(&db, &cfg).unwrap(),
                    b,
                    "gsp round {round} min {min_support}"
                );
                assert_eq!(
                    prefixspan(&db, &cfg).unwrap(),
                    b,
                    "prefixspan round {round}"
                );
            }
        }
    }

    #[test]
    fn bounded_pattern_count() {
        let db = vec![(0..12).collect::<Vec<Item>>(); 3];
        let cfg = MineConfig {
            min_support: 1,
            max_len: 12,
            max_patterns: 100,
        };
        assert_eq!(
            gsp(&db, &cfg),
            Err(MineError::TooManyPatterns { limit: 100 })
        );
        assert_eq!(
            prefixspan(&db, &cfg),
            Err(MineError::TooManyPatterns { limit: 100 })
        );
    }

    #[test]
    fn empty_inputs() {
        let cfg = MineConfig::default();
        assert!(gsp(&[], &cfg).unwrap().is_empty());
        assert!(prefixspan(&[vec![], vec![]], &cfg).unwrap().is_empty());
    }

    #[test]
    fn absolute_support_rounds_up() {
        assert_eq!(absolute_support(0.05, 100), 5);
        assert_eq!(absolute_support(0.051, 100), 6);
        assert_eq!(absolute_support(0.0, 100), 1);
        assert_eq!(absolute_support(f64::NAN, 100), 1);
    }
}
