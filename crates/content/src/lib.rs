//! What is inside a carved file, and is it malicious?
//!
//! Pure functions over a file's bytes (never running anything): HTML
//! summaries ([`html`]), static JavaScript indicators ([`js`]), the type
//! from magic against the declared type and the extension ([`filetype`]),
//! executables ([`exe`]), Office macros ([`office`]), PDF actions
//! ([`pdf`]), archive listings ([`archive`], [`rar`], [`sevenz`]), YARA ([`yara`], feature
//! `yara`), hash lists ([`hashlist`]), and a verdict joining them
//! ([`verdict`]). Every input is hostile: each analysis is bounded by
//! [`Limits`] and none panics.

pub mod analyze;
pub mod archive;
pub mod exe;
pub mod filetype;
pub mod hashlist;
pub mod html;
pub mod js;
pub mod office;
pub mod pdf;
pub mod rar;
pub mod sevenz;
pub mod verdict;
pub mod yara;

pub use analyze::{analyze, Input, Report};
pub use verdict::{Finding, Level, Verdict};

/// Bounds of one file's analysis (hostile input).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes of a file analysed (and scanned by YARA); the rest is not.
    pub max_bytes: usize,
    /// Scripts of one HTML page analysed.
    pub max_scripts: usize,
    /// Bytes of one script analysed.
    pub max_script_bytes: usize,
    /// Items (iframes, forms, links...) kept per list of an HTML summary.
    pub max_items: usize,
    /// Entries of one archive listed.
    pub max_entries: usize,
    /// Archives inside archives opened (1: only the outer one).
    pub max_depth: usize,
    /// Bytes decompressed from all entries of one file together.
    pub max_inflate: usize,
    /// Memory one HTML parse may use.
    pub max_html_memory: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 8 << 20,
            max_scripts: 64,
            max_script_bytes: 1 << 20,
            max_items: 32,
            max_entries: 1000,
            max_depth: 3,
            max_inflate: 16 << 20,
            max_html_memory: 16 << 20,
        }
    }
}

/// Lower-case hex of bytes.
pub use netsift_proto::bytes::hex;

/// Shannon entropy in bits per byte.
pub fn entropy(data: &[u8]) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let mut counts = [0u64; 256];
    for &b in data {
        counts[usize::from(b)] += 1;
    }
    let n = data.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// At most `n` characters of `s`, on a char boundary.
pub fn trunc(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => s[..i].to_string(),
        None => s.to_string(),
    }
}
