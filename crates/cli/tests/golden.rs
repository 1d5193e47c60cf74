//! Golden tests: each capture in `tests/golden/` (and the README sample) is
//! paired with the JSONL that `netsift flows --format jsonl` must print for
//! it. After a deliberate change, regenerate them all with
//!
//! ```sh
//! NETSIFT_BLESS=1 cargo test -p netsift --test golden
//! ```
//!
//! and review the diff.

use std::path::{Path, PathBuf};
use std::process::Command;

fn cases() -> Vec<(PathBuf, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("tests/golden");
    let mut v = vec![(
        root.join("../../samples/loopback.pcap"),
        dir.join("loopback.jsonl"),
    )];
    let mut more: Vec<_> = std::fs::read_dir(&dir)
        .expect("golden dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng")
            )
        })
        .map(|p| {
            let j = p.with_extension("jsonl");
            (p, j)
        })
        .collect();
    more.sort();
    v.extend(more);
    v
}

#[test]
fn golden_flows() {
    let bless = std::env::var_os("NETSIFT_BLESS").is_some();
    let mut failures = Vec::new();
    for (pcap, expected) in cases() {
        let out = Command::new(env!("CARGO_BIN_EXE_netsift"))
            .args(["flows", "--format", "jsonl", "-q"])
            .arg(&pcap)
            .output()
            .expect("run netsift");
        assert!(out.status.success(), "{}: {:?}", pcap.display(), out);
        let got = String::from_utf8(out.stdout).expect("utf-8 output");
        if bless {
            std::fs::write(&expected, &got).expect("write golden");
            continue;
        }
        let want = std::fs::read_to_string(&expected).unwrap_or_default();
        if got != want {
            let first_diff = got
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(got.lines().count().min(want.lines().count()));
            failures.push(format!(
                "{}: output differs from {} at line {} (NETSIFT_BLESS=1 to regenerate)\n  got:  {}\n  want: {}",
                pcap.display(),
                expected.display(),
                first_diff + 1,
                got.lines().nth(first_diff).unwrap_or("<end>"),
                want.lines().nth(first_diff).unwrap_or("<end>")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
