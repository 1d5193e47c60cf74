//! Where netsift's tests find the shared corpora, in one place.
//!
//! - `NETSIFT_CORPUS` names nDPI's regression corpus: the folder holding
//!   `pcap/` and `truth.tsv`. Without it, `../shared/corpus/ndpi` beside
//!   the workspace.
//! - `NETSIFT_SV_DIR` names suricata-verify's tests (the folder holding
//!   `score.py`); without it, `../shared/corpus/suricata-verify`.
//! - `NETSIFT_REQUIRE_CORPUS=1` (set by `.ci/run`) turns a missing corpus
//!   into a test failure instead of a skip, so CI cannot pass by counting
//!   nothing.
//!
//! No test names an absolute machine path.

use std::path::{Path, PathBuf};

/// The workspace's root (this crate lives in `crates/testkit`).
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `../shared` beside the workspace.
pub fn shared_dir() -> PathBuf {
    workspace().join("../shared")
}

/// Is a missing corpus an error (`NETSIFT_REQUIRE_CORPUS=1`)?
pub fn corpus_required() -> bool {
    std::env::var_os("NETSIFT_REQUIRE_CORPUS").is_some_and(|v| v == "1")
}

/// A test that cannot run: prints `SKIP: why`, or panics when the corpus
/// is required.
pub fn skip(why: &str) {
    assert!(!corpus_required(), "required corpus missing: {why}");
    eprintln!("SKIP: {why}");
}

/// nDPI's corpus folder (with `pcap/` and `truth.tsv`), or `None` after a
/// [`skip`] message.
pub fn ndpi_corpus() -> Option<PathBuf> {
    let dir = ndpi_dir();
    if dir.join("pcap").is_dir() && dir.join("truth.tsv").is_file() {
        Some(dir)
    } else {
        skip(&format!(
            "nDPI corpus not found at {} (set NETSIFT_CORPUS to the folder with pcap/ and truth.tsv)",
            dir.display()
        ));
        None
    }
}

/// The folder of nDPI's corpus, whether or not it is there (for tests
/// that check one file themselves).
pub fn ndpi_dir() -> PathBuf {
    std::env::var_os("NETSIFT_CORPUS")
        .map_or_else(|| shared_dir().join("corpus/ndpi"), PathBuf::from)
}

/// One capture of nDPI's corpus, by file name (not checked).
pub fn ndpi_pcap(name: &str) -> PathBuf {
    ndpi_dir().join("pcap").join(name)
}

/// The corpus's `pcap/` folder.
pub fn ndpi_pcaps() -> Option<PathBuf> {
    ndpi_corpus().map(|d| d.join("pcap"))
}

/// Every file of the corpus's `pcap/` folder, in name order, or `None`
/// after a [`skip`] message.
pub fn ndpi_pcap_files() -> Option<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(ndpi_pcaps()?)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    Some(v)
}

/// The corpus's `truth.tsv`.
pub fn ndpi_truth() -> Option<PathBuf> {
    ndpi_corpus().map(|d| d.join("truth.tsv"))
}

/// suricata-verify's tests folder (with `score.py`).
pub fn suricata_verify() -> Option<PathBuf> {
    let dir = std::env::var_os("NETSIFT_SV_DIR").map_or_else(
        || shared_dir().join("corpus/suricata-verify"),
        PathBuf::from,
    );
    if dir.join("score.py").is_file() {
        Some(dir)
    } else {
        skip(&format!(
            "suricata-verify tests not found at {} (set NETSIFT_SV_DIR)",
            dir.display()
        ));
        None
    }
}

/// xorshift64 (13, 7, 17): a tiny deterministic generator, so property
/// tests need no crate and a failure reproduces from its seed. The seed
/// must not be 0.
#[derive(Debug, Clone)]
pub struct XorShift(pub u64);

impl XorShift {
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// `n` random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xorshift_is_the_classic_sequence() {
        // Marsaglia's xorshift64 (13, 7, 17) from 1.
        let mut r = XorShift(1);
        assert_eq!(r.next(), 1_082_269_761);
        assert!(r.below(10) < 10);
        assert_eq!(r.below(0), 0);
        assert_eq!(r.bytes(5).len(), 5);
    }

    #[test]
    fn shared_is_beside_the_workspace() {
        assert!(shared_dir().ends_with("../shared"));
        assert!(workspace().join("Cargo.toml").is_file());
    }
}
