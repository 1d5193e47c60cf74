//! Reads every file of the nDPI capture corpus and compares with Wireshark.
//!
//! Corpus: `$NETSIFT_CORPUS` (the corpus folder, with `pcap/`; its `pcap/` folder also does),
//! default `../../../shared/corpus/ndpi` from this crate. Reference: `testdata/corpus_counts.tsv` (packet count,
//! earliest and latest packet time per file, from capinfos; regenerate with
//! `testdata/gen_corpus_counts.sh`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use netsift_capture::{CaptureError, CaptureReader};

fn corpus_dir() -> PathBuf {
    // NETSIFT_CORPUS names the corpus (with pcap/ and truth.tsv), as for
    // every other corpus test; its pcap/ folder is accepted too.
    let dir = match std::env::var_os("NETSIFT_CORPUS") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/ndpi"),
    };
    if dir.join("pcap").is_dir() {
        dir.join("pcap")
    } else {
        dir
    }
}

struct Reference {
    count: u64,
    earliest: Option<u64>,
    latest: Option<u64>,
}

/// "1629801418.105532" -> ns. None for what capinfos prints for timestamps
/// it computed with overflow (a negative or >9-digit fraction).
fn parse_time(s: &str) -> Option<u64> {
    let (sec, frac) = s.split_once('.')?;
    if frac.is_empty() || frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sec: u64 = sec.parse().ok()?;
    let frac: u64 = frac.parse().ok()?;
    Some(sec * 1_000_000_000 + frac * 10u64.pow(9 - s.split_once('.')?.1.len() as u32))
}

fn reference() -> BTreeMap<String, Reference> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/corpus_counts.tsv");
    let text = std::fs::read_to_string(&p).expect("testdata/corpus_counts.tsv");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            assert_eq!(c.len(), 4, "bad line {l:?}");
            let r = Reference {
                count: c[1]
                    .parse()
                    .unwrap_or_else(|_| panic!("bad count in {l:?}")),
                earliest: parse_time(c[2]),
                latest: parse_time(c[3]),
            };
            (c[0].to_string(), r)
        })
        .collect()
}

/// Files the reader must reject, and why (none: every corpus file reads).
const EXPECTED_ERRORS: &[(&str, &str)] = &[];

/// Files that end inside their last record: (name, record offset). capinfos
/// counts the cut record as a packet; the reader stops before it.
/// fuzz-2021-10-13.pcap also has snaplen 0, read as "no snaplen".
const EXPECTED_TRUNCATED: &[(&str, u64)] = &[("fuzz-2021-10-13.pcap", 24)];

#[test]
fn every_corpus_file_matches_capinfos() {
    let dir = corpus_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!(
            "corpus not found at {}: skipping (set NETSIFT_CORPUS)",
            dir.display()
        );
        return;
    };
    let refs = reference();
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(
        !names.is_empty(),
        "empty corpus directory {}",
        dir.display()
    );

    let started = Instant::now();
    let (mut frames_total, mut bytes_total, mut ts_checked) = (0u64, 0u64, 0usize);
    let mut failures = Vec::new();
    let mut truncated = Vec::new();
    for name in &names {
        let path = dir.join(name);
        let Some(want) = refs.get(name) else {
            failures.push(format!("{name}: not in corpus_counts.tsv (regenerate it)"));
            continue;
        };
        let result = (|| -> Result<_, CaptureError> {
            let mut r = CaptureReader::open(&path)?;
            let (mut n, mut lo, mut hi) = (0u64, u64::MAX, 0u64);
            while let Some(f) = r.next_frame()? {
                n += 1;
                lo = lo.min(f.ts_ns);
                hi = hi.max(f.ts_ns);
            }
            Ok((n, lo, hi, r.stats(), r.truncation()))
        })();
        let expected_err = EXPECTED_ERRORS
            .iter()
            .find(|(f, _)| f == name)
            .map(|(_, m)| *m);
        match (result, expected_err) {
            (Err(e), Some(msg)) if e.to_string() == msg => {}
            (Err(e), _) => failures.push(format!("{name}: unexpected error: {e}")),
            (Ok(_), Some(msg)) => failures.push(format!("{name}: expected error {msg:?}")),
            (Ok((n, lo, hi, stats, trunc)), None) => {
                frames_total += n;
                bytes_total += stats.bytes_read;
                let cut = EXPECTED_TRUNCATED.iter().find(|(f, _)| f == name);
                if let (Some((_, off)), Some(t)) = (cut, trunc) {
                    if t.offset != *off {
                        failures.push(format!("{name}: truncated at {} not {off}", t.offset));
                    }
                } else if cut.is_some() {
                    failures.push(format!("{name}: expected a truncation"));
                }
                let want_count = want.count - u64::from(cut.is_some());
                if n != want_count {
                    failures.push(format!("{name}: {n} frames, capinfos says {}", want.count));
                }
                if let (Some(t), None) = (trunc, cut) {
                    truncated.push(format!("{name}: truncated at offset {} ({t:?})", t.offset));
                }
                let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                if trunc.is_none() && stats.bytes_read != len {
                    failures.push(format!(
                        "{name}: consumed {} of {len} bytes",
                        stats.bytes_read
                    ));
                }
                if n > 0 {
                    for (what, got, want) in
                        [("earliest", lo, want.earliest), ("latest", hi, want.latest)]
                    {
                        if let Some(w) = want {
                            ts_checked += 1;
                            if got != w {
                                failures.push(format!(
                                    "{name}: {what} time {got} ns, capinfos says {w} ns"
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} files, {frames_total} frames, {bytes_total} bytes, {ts_checked} times checked in {secs:.2}s ({:.1} Mframes/s)",
        names.len(),
        frames_total as f64 / secs / 1e6
    );
    for t in &truncated {
        println!("{t}");
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        truncated.is_empty(),
        "unexpected truncation:\n{}",
        truncated.join("\n")
    );
}
