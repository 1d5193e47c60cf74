//! Captures of real client and server programs run on non-standard ports
//! (often another protocol's well-known port), made by `nonstd/make.sh`.
//! netsift must name each listed flow's protocol from its payload alone:
//! `netsift flows --format jsonl --no-guess` for every capture, and each
//! line of `nonstd/manifest.tsv` -- and of every other `nonstd/manifest*.tsv`
//! (other groups' captures, same columns: file, l4, server_port,
//! expected_protocol, note) -- is checked against every flow of that file
//! whose L4 and responder port match. All mismatches are reported at once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Expect {
    file: String,
    l4: String,
    port: u16,
    protocol: String,
    note: String,
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/nonstd")
}

/// Every `manifest*.tsv` of the folder, `manifest.tsv` first.
fn manifests() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir())
        .expect("nonstd folder readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with("manifest") && name.ends_with(".tsv")
        })
        .collect();
    found.sort_by_key(|p| (!p.ends_with("manifest.tsv"), p.clone()));
    found
}

fn manifest(path: &Path) -> Vec<Expect> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{} readable: {e}", path.display()));
    let mut lines = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'));
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    assert_eq!(
        header,
        ["file", "l4", "server_port", "expected_protocol", "note"],
        "{} columns",
        path.display()
    );
    lines
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert!(f.len() >= 4, "manifest line has too few columns: {l:?}");
            Expect {
                file: f[0].to_string(),
                l4: f[1].to_uppercase(),
                port: f[2].parse().unwrap_or_else(|_| panic!("bad port in {l:?}")),
                protocol: f[3].to_string(),
                note: f.get(4).unwrap_or(&"").to_string(),
            }
        })
        .collect()
}

/// The flows of one capture, as JSON objects.
fn flows(file: &str) -> Result<Vec<serde_json::Value>, String> {
    let path = dir().join(file);
    let out = Command::new(env!("CARGO_BIN_EXE_netsift"))
        .args(["flows", "--format", "jsonl", "--no-guess", "-q"])
        .arg(&path)
        .output()
        .map_err(|e| format!("cannot run netsift: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "netsift exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| format!("bad JSON line {l:?}: {e}")))
        .collect()
}

fn text(v: &serde_json::Value, key: &str) -> String {
    match &v[key] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[test]
fn protocols_are_identified_on_non_standard_ports() {
    let files = manifests();
    assert!(
        files.iter().any(|p| p.ends_with("manifest.tsv")),
        "nonstd/manifest.tsv missing"
    );
    let expects: Vec<Expect> = files.iter().flat_map(|p| manifest(p)).collect();
    assert!(!expects.is_empty(), "the manifests list no flow");
    let mut cache: BTreeMap<String, Result<Vec<serde_json::Value>, String>> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut rows = Vec::new();
    let (mut pass, mut fail) = (0usize, 0usize);

    for e in &expects {
        let result = cache
            .entry(e.file.clone())
            .or_insert_with(|| flows(&e.file));
        let flows = match result {
            Ok(f) => f,
            Err(err) => {
                fail += 1;
                rows.push(format!(
                    "FAIL  {:<26} {:<3} {:>5}  {:<12} (error)",
                    e.file, e.l4, e.port, e.protocol
                ));
                failures.push(format!("{} {}/{}: {err}", e.file, e.l4, e.port));
                continue;
            }
        };
        let matching: Vec<&serde_json::Value> = flows
            .iter()
            .filter(|f| {
                text(f, "l4").eq_ignore_ascii_case(&e.l4)
                    && f["dst_port"].as_u64() == Some(e.port as u64)
            })
            .collect();
        if matching.is_empty() {
            fail += 1;
            rows.push(format!(
                "FAIL  {:<26} {:<3} {:>5}  {:<12} (no such flow)",
                e.file, e.l4, e.port, e.protocol
            ));
            failures.push(format!(
                "{} {}/{}: no flow with that L4 and responder port ({} flows in the capture) [{}]",
                e.file,
                e.l4,
                e.port,
                flows.len(),
                e.note
            ));
            continue;
        }
        for f in matching {
            let got = text(f, "protocol");
            let ok = got == e.protocol;
            let src = f["src_port"].as_u64().unwrap_or(0);
            rows.push(format!(
                "{}  {:<26} {:<3} {:>5}  {:<12} got {:<12} {:<8} {}",
                if ok { "ok  " } else { "FAIL" },
                e.file,
                e.l4,
                e.port,
                e.protocol,
                got,
                text(f, "confidence"),
                text(f, "evidence")
            ));
            if ok {
                pass += 1;
            } else {
                fail += 1;
                failures.push(format!(
                    "{} {} {}->{}: expected {}, got {} (confidence {}, evidence {:?}) [{}]",
                    e.file,
                    e.l4,
                    src,
                    e.port,
                    e.protocol,
                    if got.is_empty() {
                        "nothing".to_string()
                    } else {
                        got
                    },
                    text(f, "confidence"),
                    text(f, "evidence"),
                    e.note
                ));
            }
        }
    }

    println!(
        "\nnon-standard-port captures ({} manifest lines in {} manifests):",
        expects.len(),
        files.len()
    );
    for r in &rows {
        println!("{r}");
    }
    println!("{pass} flows identified, {fail} not");
    assert!(
        failures.is_empty(),
        "{} of {} checked flows were not identified as expected:\n  {}",
        failures.len(),
        pass + fail,
        failures.join("\n  ")
    );
}
