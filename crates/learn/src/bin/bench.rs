//! Mining benchmark: GSP vs PrefixSpan on synthetic sessions sampled from a
//! learned model's transitions (a first-order Markov chain over the real
//! training sessions: `^` → item → ... → `$`), seeded, so the run is
//! reproducible.
//!
//! ```text
//! netsift-learn-bench MODEL.json [SESSIONS=100000] [MIN_SUPPORT=0.05] [SEED=1]
//! ```
//!
//! Prints the session count, the mean session length, both timings and
//! whether both algorithms returned the same patterns (they must).

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Instant;

use netsift_learn::mine::{absolute_support, gsp, prefixspan, MineConfig};
use netsift_learn::model::{Model, END, START};

/// Next items with cumulative counts, and the total.
type Cumulative<'a> = (Vec<(&'a str, u64)>, u64);

/// Longest synthetic session.
const MAX_LEN: usize = 64;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: netsift-learn-bench MODEL.json [SESSIONS] [MIN_SUPPORT] [SEED]");
        return ExitCode::from(2);
    };
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let min_support: f64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(0.05);
    let mut seed: u64 = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(1).max(1);
    let model = match std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|t| Model::from_json(&t).map_err(|e| e.to_string()))
    {
        Ok(m) => m,
        Err(e) => {
            eprintln!("netsift-learn-bench: {path}: {e}");
            return ExitCode::from(1);
        }
    };
    // Items as ids; transitions as cumulative tables (sorted, deterministic).
    let names: Vec<&String> = model.items.keys().collect();
    let id: HashMap<&str, u32> = names
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i as u32))
        .collect();
    let table: HashMap<&str, Cumulative> = model
        .transitions
        .iter()
        .map(|(from, tos)| {
            let mut acc = 0;
            let v: Vec<(&str, u64)> = tos
                .iter()
                .map(|(to, c)| {
                    acc += c;
                    (to.as_str(), acc)
                })
                .collect();
            (from.as_str(), (v, acc))
        })
        .collect();
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut db: Vec<Vec<u32>> = Vec::with_capacity(n);
    let mut total = 0usize;
    for _ in 0..n {
        let mut s = Vec::new();
        let mut cur = START;
        while s.len() < MAX_LEN {
            let Some((v, sum)) = table.get(cur) else {
                break;
            };
            if *sum == 0 {
                break;
            }
            let r = rnd() % sum;
            let next = v
                .iter()
                .find(|(_, acc)| r < *acc)
                .map_or(END, |(to, _)| *to);
            if next == END {
                break;
            }
            if let Some(&i) = id.get(next) {
                s.push(i);
            }
            cur = next;
        }
        total += s.len();
        db.push(s);
    }
    let cfg = MineConfig {
        min_support: absolute_support(min_support, n),
        max_len: model.max_pattern_len,
        max_patterns: 1_000_000,
    };
    println!(
        "{n} sessions sampled from {path} ({} items), mean length {:.1}, min support {min_support} ({} sessions), max pattern length {}",
        names.len(),
        total as f64 / n.max(1) as f64,
        cfg.min_support,
        cfg.max_len
    );
    let t = Instant::now();
    let a = prefixspan(&db, &cfg);
    let tp = t.elapsed();
    let t = Instant::now();
    let b = gsp(&db, &cfg);
    let tg = t.elapsed();
    let count = |r: &Result<Vec<_>, _>| r.as_ref().map_or(0, Vec::len);
    println!(
        "prefixspan: {:>9.1} ms, {} patterns",
        tp.as_secs_f64() * 1e3,
        count(&a)
    );
    println!(
        "gsp:        {:>9.1} ms, {} patterns",
        tg.as_secs_f64() * 1e3,
        count(&b)
    );
    let same = a == b;
    println!("identical pattern sets: {same}");
    if same {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
