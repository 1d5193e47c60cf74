//! Module dependencies point one way inside the engine, detect and learn
//! crates (issue 21 §5): for each crate, the top-level modules a module's
//! code names (`crate::x`, `use crate::{x, ...}`) form no cycle. Comments
//! (intra-doc links) and `#[cfg(test)] mod tests` blocks do not count.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules of a crate: `src/x.rs` or `src/x/`, with their files.
fn modules(src: &Path) -> BTreeMap<String, Vec<PathBuf>> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(src).expect("src").flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() && name != "bin" {
            let mut files = Vec::new();
            let mut stack = vec![p];
            while let Some(d) = stack.pop() {
                for f in std::fs::read_dir(&d).expect("dir").flatten() {
                    let fp = f.path();
                    if fp.is_dir() {
                        stack.push(fp);
                    } else if fp.extension().is_some_and(|x| x == "rs") {
                        files.push(fp);
                    }
                }
            }
            out.insert(name, files);
        } else if let Some(m) = name.strip_suffix(".rs") {
            if m != "lib" && m != "main" {
                out.insert(m.to_string(), vec![p]);
            }
        }
    }
    out
}

/// The code of a file without comment lines and without its test module.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("read");
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Identifiers right after `crate::`, and the first segment of each
/// item of a `use crate::{...}` group.
fn named(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + 7..];
        if let Some(group) = rest.strip_prefix('{') {
            let body = &group[..group.find("};").unwrap_or(group.len())];
            for item in body.split(',') {
                out.insert(ident(
                    item.trim_start_matches(|c: char| !c.is_alphanumeric()),
                ));
            }
        } else {
            out.insert(ident(rest));
        }
    }
    out
}

/// Edges between a crate's top-level modules.
fn edges(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mods = modules(src);
    let names: BTreeSet<String> = mods.keys().cloned().collect();
    mods.iter()
        .map(|(m, files)| {
            let to = files
                .iter()
                .flat_map(|f| named(&code(f)))
                .filter(|n| names.contains(n) && n != m)
                .collect();
            (m.clone(), to)
        })
        .collect()
}

/// A cycle through `from`, if any: the path back to it.
fn cycle(g: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    let mut stack = vec![(from.to_string(), vec![from.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((n, path)) = stack.pop() {
        for next in g.get(&n).into_iter().flatten() {
            if next == from {
                let mut p = path.clone();
                p.push(next.clone());
                return Some(p);
            }
            if seen.insert(next.clone()) {
                let mut p = path.clone();
                p.push(next.clone());
                stack.push((next.clone(), p));
            }
        }
    }
    None
}

#[test]
fn module_dependencies_point_one_way() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut cycles = Vec::new();
    for krate in ["engine", "detect", "learn"] {
        let g = edges(&crates.join(krate).join("src"));
        assert!(g.len() > 3, "{krate}: modules not found");
        for m in g.keys() {
            if let Some(c) = cycle(&g, m) {
                cycles.push(format!("{krate}: {}", c.join(" -> ")));
            }
        }
    }
    assert!(cycles.is_empty(), "module cycles:\n{}", cycles.join("\n"));
}

/// The scan finds what it must: this file's own kind of reference.
#[test]
fn the_scan_sees_use_groups_and_paths() {
    let n = named("use crate::{classify::ClassState, pipeline};\nlet x = crate::memory::Live;");
    let want: BTreeSet<String> = ["classify", "pipeline", "memory"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(n, want);
    let g: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_string(), ["b".to_string()].into()),
        ("b".to_string(), ["a".to_string()].into()),
    ]
    .into();
    assert_eq!(cycle(&g, "a").map(|c| c.len()), Some(3));
}
