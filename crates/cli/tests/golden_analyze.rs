//! Golden tests for `netsift analyze`: each case in
//! `tests/golden_analyze/cases.tsv` is analysed and every `<log>.jsonl` it
//! writes must equal `tests/golden_analyze/<case>/<log>.jsonl`. After a
//! deliberate change, regenerate them all and review the diff:
//!
//! ```sh
//! NETSIFT_BLESS=1 cargo test -p netsift --test golden_analyze
//! ```

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn logs(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".jsonl"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn golden_analyze() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let gdir = root.join("golden_analyze");
    let bless = std::env::var_os("NETSIFT_BLESS").is_some();
    let cases = std::fs::read_to_string(gdir.join("cases.tsv")).expect("cases.tsv");
    let tmp = std::env::temp_dir().join(format!("netsift-golden-analyze-{}", std::process::id()));
    let mut failures = Vec::new();
    for line in cases
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let f: Vec<&str> = line.split('\t').collect();
        let (case, capture) = (f[0], root.join(f[1]));
        let out = tmp.join(case);
        let _ = std::fs::remove_dir_all(&out);
        let st = Command::new(env!("CARGO_BIN_EXE_netsift"))
            .args(["analyze", "-q", "-o"])
            .arg(&out)
            .arg(&capture)
            .status()
            .expect("run analyze");
        assert!(st.success(), "{case}");
        let expected = gdir.join(case);
        if bless {
            let _ = std::fs::remove_dir_all(&expected);
            std::fs::create_dir_all(&expected).expect("mkdir");
            for l in logs(&out) {
                std::fs::copy(out.join(&l), expected.join(&l)).expect("copy");
            }
            continue;
        }
        let (got, want) = (logs(&out), logs(&expected));
        if got != want {
            failures.push(format!("{case}: logs {got:?}, expected {want:?}"));
            continue;
        }
        for l in &got {
            let a = std::fs::read_to_string(out.join(l)).unwrap_or_default();
            let b = std::fs::read_to_string(expected.join(l)).unwrap_or_default();
            if a != b {
                let n = a
                    .lines()
                    .zip(b.lines())
                    .position(|(x, y)| x != y)
                    .unwrap_or(0);
                failures.push(format!(
                    "{case}/{l} differs at line {} (NETSIFT_BLESS=1 to regenerate)\n  got:  {}\n  want: {}",
                    n + 1,
                    a.lines().nth(n).unwrap_or("<end>"),
                    b.lines().nth(n).unwrap_or("<end>")
                ));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
