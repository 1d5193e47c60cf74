//! Reads every file of the nDPI capture corpus and compares with Wireshark.
//!
//! Corpus: `$NETSIFT_CORPUS/pcap`, default `../shared/corpus/ndpi/pcap` (netsift-testkit). Reference: `testdata/corpus_counts.tsv` (packet count,
//! earliest and latest packet time per file, from capinfos; regenerate with
//! `testdata/gen_corpus_counts.sh`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use netsift_capture::{CaptureError, CaptureReader};

fn corpus_dir() -> Option<PathBuf> {
    netsift_testkit::ndpi_pcaps()
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
    let Some(dir) = corpus_dir() else {
        return;
    };
    let entries = std::fs::read_dir(&dir).expect("reading the corpus folder");
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

/// Frames of `b` as (offset, bytes), read with or without resynchronisation;
/// the error that stopped the read, if any, and the damage reported.
type Read = (Vec<(u64, Vec<u8>)>, Option<CaptureError>, u64);

fn read_variant(b: &[u8], resync: bool) -> Read {
    let mut r = match CaptureReader::new(std::io::Cursor::new(b.to_vec())) {
        Ok(r) => r,
        Err(e) => return (Vec::new(), Some(e), 0),
    };
    r.set_resync(resync);
    let mut v = Vec::new();
    let err = loop {
        match r.next_frame() {
            Ok(Some(f)) => v.push((f.offset, f.data.to_vec())),
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    (v, err, r.damage_totals().1)
}

/// Damaged versions of every corpus capture (issue 21 §2): garbage spliced
/// between two records, a record's length overwritten, and a piece cut out
/// of the middle. Strict reading stops at the damage (as tcpdump and
/// tshark do); reading with resynchronisation must reach the end of most of
/// them, losing only the records the damage touched, and report the damage.
#[test]
fn damaged_corpus_captures_are_read_to_their_end() {
    let Some(dir) = corpus_dir() else {
        return;
    };
    let entries = std::fs::read_dir(&dir).expect("reading the corpus folder");
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let (mut variants, mut to_end, mut strict_stopped) = (0usize, 0usize, 0usize);
    let mut lost_too_much = Vec::new();
    for name in &names {
        let Ok(clean) = std::fs::read(dir.join(name)) else {
            continue;
        };
        let (frames, err, _) = read_variant(&clean, false);
        if err.is_some() || frames.len() < 8 {
            continue;
        }
        let offs: Vec<usize> = frames.iter().map(|f| f.0 as usize).collect();
        let mid = offs.len() / 2;
        let pcapng = clean.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]);
        let mut spliced = clean[..offs[mid]].to_vec();
        spliced.extend((0..61u32).map(|i| (i.wrapping_mul(151) ^ 0xa5) as u8));
        spliced.extend_from_slice(&clean[offs[mid]..]);
        let mut broken = clean.clone();
        let field = offs[mid] + if pcapng { 4 } else { 8 };
        broken[field..field + 4].copy_from_slice(&0x7fff_fff0u32.to_ne_bytes());
        let third = offs.len() / 3;
        let mut cut = clean[..offs[third] + 3].to_vec();
        cut.extend_from_slice(&clean[offs[third + 2] + 5..]);
        for (what, b, may_lose) in [
            ("spliced", spliced, 0),
            ("broken", broken, 1),
            ("cut", cut, 3),
        ] {
            variants += 1;
            let (strict, serr, _) = read_variant(&b, false);
            if serr.is_some() {
                strict_stopped += 1;
            }
            let (got, gerr, damage) = read_variant(&b, true);
            assert!(
                got.len() >= strict.len(),
                "{name} {what}: resync read less than strict"
            );
            if gerr.is_none() {
                to_end += 1;
                if serr.is_some() {
                    assert!(damage > 0, "{name} {what}: damage not reported");
                }
            }
            if got.len() + may_lose < frames.len() {
                lost_too_much.push(format!(
                    "{name} {what}: {} of {} frames",
                    got.len(),
                    frames.len()
                ));
            }
        }
    }
    println!(
        "damaged variants: {variants}; strict reading stopped on {strict_stopped}; \
         resync read {to_end} to their end; {} lost more than the damaged records: {:?}",
        lost_too_much.len(),
        lost_too_much
    );
    assert!(variants > 300, "{variants} variants");
    assert!(
        to_end * 100 >= variants * 95,
        "{to_end} of {variants} read to the end"
    );
    assert!(
        lost_too_much.len() * 100 <= variants * 5,
        "{lost_too_much:?}"
    );
}
