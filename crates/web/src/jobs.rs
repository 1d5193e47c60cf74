//! Background analysis of uploaded captures: one worker thread takes jobs
//! in upload order (so memory is one analysis at a time), and publishes
//! its progress (bytes read) for the page's live progress bar.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use netsift_detect::rules::Rules;
use netsift_engine::analyze::build::AnalyzerBuilder;
use netsift_engine::analyze::detect::Detecting;
use netsift_engine::analyze::FlowData;
use netsift_engine::{run_capture, PipelineConfig};
use netsift_store::{Store, StoreOutput};

use crate::Config;

/// Bytes read by running analyses, by capture id.
#[derive(Clone, Default)]
pub(crate) struct Progress(Arc<Mutex<HashMap<i64, Arc<AtomicU64>>>>);

impl Progress {
    pub fn get(&self, id: i64) -> Option<u64> {
        let m = self.0.lock().ok()?;
        m.get(&id).map(|a| a.load(Ordering::Relaxed))
    }
}

pub(crate) struct Jobs {
    tx: Mutex<mpsc::Sender<(i64, PathBuf)>>,
    pub progress: Progress,
}

impl Jobs {
    pub fn start(cfg: Config) -> Jobs {
        let (tx, rx) = mpsc::channel::<(i64, PathBuf)>();
        let progress = Progress::default();
        let p2 = progress.clone();
        std::thread::spawn(move || {
            while let Ok((id, path)) = rx.recv() {
                let counter = Arc::new(AtomicU64::new(0));
                if let Ok(mut m) = p2.0.lock() {
                    m.insert(id, counter.clone());
                }
                let (db, files) = (cfg.db.clone(), cfg.data_dir.join("files"));
                // A panic in the analysis must not take the server down:
                // the job runs on its own thread and a panic fails the capture.
                let r =
                    std::thread::spawn(move || analyze_capture(&db, id, &path, &files, &counter))
                        .join();
                let err = match r {
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => Some(e),
                    Err(_) => Some("analysis crashed".to_string()),
                };
                if let Some(e) = err {
                    if let Ok(s) = Store::open(&cfg.db) {
                        let _ = netsift_store::fail_capture(&s.db, id, &e);
                    }
                }
                if let Ok(mut m) = p2.0.lock() {
                    m.remove(&id);
                }
            }
        });
        Jobs {
            tx: Mutex::new(tx),
            progress,
        }
    }

    pub fn submit(&self, id: i64, path: PathBuf) -> bool {
        match self.tx.lock() {
            Ok(tx) => tx.send((id, path)).is_ok(),
            Err(_) => false,
        }
    }
}

/// Out-of-order TCP bytes an analysis in the server may buffer in total.
pub const WEB_REASSEMBLY_MEMORY: usize = 64 << 20;

/// Analyse the capture at `path` into capture row `id` of the database:
/// the same analysis as `netsift analyze` with its defaults (all layers,
/// detection of scans and brute force, files carved into `files_dir`).
/// `bytes_read` follows the reader's position.
pub fn analyze_capture(
    db: &netsift_store::Target,
    id: i64,
    path: &Path,
    files_dir: &Path,
    bytes_read: &AtomicU64,
) -> Result<(), String> {
    let store = Store::open(db).map_err(|e| e.to_string())?;
    let seed: i64 = store
        .db
        .row("SELECT uid_seed FROM captures WHERE id = ?1", &[id.into()])
        .map_err(|e| e.to_string())?
        .map_or(0, |r| r.i64(0));
    let (mut out, handle) = StoreOutput::new(store);
    handle.attach_capture(id).map_err(|e| e.to_string())?;
    // The server shares its memory with the pages it serves: hold less
    // out-of-order TCP data across all streams than the CLI does (256 MiB)
    // before giving up the oldest holes as gaps.
    let parts = AnalyzerBuilder::default()
        .extract_dir(Some(files_dir))
        .reassembly_memory(WEB_REASSEMBLY_MEMORY)
        .prepare()
        .map_err(|e| e.to_string())?;
    let mut pcfg = PipelineConfig::default();
    pcfg.flow.uid_seed = seed as u64;
    let res = {
        let mut det = Detecting::new(&mut out, Rules::default());
        let res = {
            let mut analyzer = parts.analyzer_over(&mut det);
            run_capture::<FlowData, _>(path, pcfg, &mut analyzer, &mut |p| {
                bytes_read.store(p.bytes_read, Ordering::Relaxed)
            })
        };
        use netsift_engine::analyze::output::Output as _;
        det.finish().map_err(|e| e.to_string())?;
        res
    };
    let (packets, flows, err) = match &res {
        Ok(s) => (s.counters.packets, s.flows(), None),
        Err(e) => (0, 0, Some(e.to_string())),
    };
    handle
        .end_capture(packets, flows, err.as_deref())
        .map_err(|e| e.to_string())?;
    Ok(())
}
