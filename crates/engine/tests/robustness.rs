//! Fuzz-style robustness: thousands of seeded mutations (truncation, bit
//! flips, absurd length fields, spliced garbage) of real corpus captures go
//! through the whole pipeline. Each must end in a result or a clean error,
//! never a panic, and within a bounded time.

use std::io::Cursor;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use netsift_capture::CaptureReader;
use netsift_engine::classify::ClassState;
use netsift_engine::{run_reader, Classifier, ClassifyConfig, FlowHandler, PipelineConfig};
use netsift_flow::{Flow, Seen};
use netsift_wire::Decoded;

/// xorshift64*: a tiny deterministic PRNG so failures reproduce by seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Classifies every flow (all layers), so the probes see the mutated bytes.
struct Count(u64, Classifier);
impl FlowHandler<ClassState> for Count {
    fn on_packet(&mut self, flow: &mut Flow<ClassState>, seen: Seen, pkt: &Decoded<'_>) {
        self.1.on_packet(flow, seen, pkt);
    }
    fn on_flow_end(&mut self, mut flow: Flow<ClassState>) {
        self.1.on_end(&mut flow);
        self.0 += 1;
    }
}

fn corpus() -> Option<PathBuf> {
    netsift_testkit::ndpi_pcaps()
}

fn mutate(rng: &mut Rng, orig: &[u8]) -> Vec<u8> {
    let mut v = orig.to_vec();
    match rng.below(5) {
        0 => v.truncate(rng.below(orig.len() + 1)),
        1 => {
            for _ in 0..=rng.below(32) {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
        }
        2 => {
            // An absurd or tiny length somewhere, often in a header field.
            let i = if rng.below(2) == 0 {
                rng.below(64.min(v.len()))
            } else {
                rng.below(v.len())
            };
            let val: [u8; 4] = match rng.below(4) {
                0 => [0xff; 4],
                1 => [0; 4],
                2 => [0x7f, 0xff, 0xff, 0xfc],
                _ => (rng.next() as u32).to_le_bytes(),
            };
            for (k, b) in val.iter().enumerate() {
                if let Some(x) = v.get_mut(i + k) {
                    *x = *b;
                }
            }
        }
        3 => {
            let i = rng.below(v.len());
            let n = rng.below(256);
            let junk: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            v.splice(i..i, junk);
        }
        _ => {
            // Bit flips inside packet data only (keep the file header).
            for _ in 0..=rng.below(200) {
                let i = 24 + rng.below(v.len().saturating_sub(24));
                if let Some(x) = v.get_mut(i) {
                    *x = rng.next() as u8;
                }
            }
        }
    }
    v
}

#[test]
fn mutated_corpus_captures_never_panic_or_hang() {
    let Some(dir) = corpus() else {
        return;
    };
    let mut files: Vec<(PathBuf, u64)> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.path(), e.metadata().ok()?.len())))
        .filter(|(_, len)| *len > 0 && *len < 200_000)
        .collect();
    files.sort();
    // Every 6th small file: a spread of formats and link types.
    let picked: Vec<_> = files.iter().step_by(6).take(40).collect();
    let mut rng = Rng(0x6e65_7473_6966_7400);
    let started = Instant::now();
    let (mut variants, mut errors, mut slowest) = (0u32, 0u32, Duration::ZERO);
    for (path, _) in &picked {
        let orig = std::fs::read(path).expect("read");
        for _ in 0..120 {
            let data = mutate(&mut rng, &orig);
            let t = Instant::now();
            let mut h = Count(
                0,
                Classifier::new(&ClassifyConfig::default()).expect("layers"),
            );
            let res = CaptureReader::new(Cursor::new(&data[..]))
                .map_err(|_| ())
                .and_then(|r| {
                    run_reader(
                        path,
                        Some(data.len() as u64),
                        r,
                        PipelineConfig::default(),
                        &mut h,
                        &mut |_| {},
                    )
                    .map_err(|_| ())
                });
            if res.is_err() {
                errors += 1;
            }
            variants += 1;
            slowest = slowest.max(t.elapsed());
        }
    }
    println!(
        "{variants} variants of {} captures: {errors} clean errors, slowest {slowest:?}, total {:?}",
        picked.len(),
        started.elapsed()
    );
    assert!(variants >= 4000);
    assert!(
        slowest < Duration::from_secs(2),
        "a variant took {slowest:?}"
    );
}

/// An output that only counts (the analyzer's records are not kept).
#[derive(Default)]
struct CountOut {
    records: u64,
    summary: netsift_engine::analyze::output::Summary,
}

impl netsift_engine::analyze::output::Output for CountOut {
    fn record(
        &mut self,
        _log: &'static str,
        _ts: u64,
        _c: &netsift_engine::analyze::output::Common,
        _r: &netsift_engine::analyze::output::Record,
    ) {
        self.records += 1;
    }
    fn conn(&mut self, _ts: u64, _rec: &netsift_engine::FlowRecord) {}
    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn summary(&self) -> &netsift_engine::analyze::output::Summary {
        &self.summary
    }
}

/// The same mutations through `netsift analyze`'s path: reassembly, every
/// protocol parser, file carving (in memory, no extract dir).
#[test]
fn mutated_corpus_captures_through_the_parsers() {
    use netsift_engine::analyze::files::Files;
    use netsift_engine::analyze::{AnalyzeConfig, Analyzer};
    let Some(dir) = corpus() else {
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.metadata()
                .map(|m| m.len() > 0 && m.len() < 300_000)
                .unwrap_or(false)
        })
        .map(|e| e.path())
        .collect();
    files.sort();
    let mut rng = Rng(0x616e_616c_797a_6500);
    let (mut variants, mut slowest, mut records) = (0u32, Duration::ZERO, 0u64);
    for path in files.iter().step_by(4).take(60) {
        let orig = std::fs::read(path).expect("read");
        for i in 0..40 {
            // The first variant of each file is the file itself.
            let data = if i == 0 {
                orig.clone()
            } else {
                mutate(&mut rng, &orig)
            };
            let t = Instant::now();
            let mut out = CountOut::default();
            {
                let classifier = Classifier::new(&ClassifyConfig::default()).expect("layers");
                let files = Files::new(None, 1 << 20).expect("files");
                let mut an = Analyzer::new(classifier, AnalyzeConfig::default(), files, &mut out);
                if let Ok(r) = CaptureReader::new(Cursor::new(&data[..])) {
                    let _ = run_reader(
                        path,
                        None,
                        r,
                        PipelineConfig::default(),
                        &mut an,
                        &mut |_| {},
                    );
                }
            }
            records += out.records;
            variants += 1;
            slowest = slowest.max(t.elapsed());
        }
    }
    println!("{variants} analyze variants: {records} records, slowest {slowest:?}");
    assert!(variants >= 2000);
    assert!(records > 0);
    assert!(
        slowest < Duration::from_secs(5),
        "a variant took {slowest:?}"
    );
}
