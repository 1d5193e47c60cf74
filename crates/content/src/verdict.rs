//! The verdict on a file: `benign`, `suspicious` or `malicious`, with the
//! reasons that made it.
//!
//! Policy: a YARA match or a hash-list hit is `malicious` (someone said so
//! about these bytes); the heuristics of this crate (double extensions,
//! hidden iframes, obfuscated scripts, macros that run on open, PDFs that
//! act on open, executables inside archives...) make a file `suspicious`
//! at most: they describe what the file does, not who wrote it. Info
//! findings are kept as context and change nothing.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Info,
    Suspicious,
    Malicious,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Benign,
    Suspicious,
    Malicious,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Benign => "benign",
            Verdict::Suspicious => "suspicious",
            Verdict::Malicious => "malicious",
        }
    }
}

/// One thing found in a file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub level: Level,
    /// Stable short name (`double_extension`, `yara`, `hash_list`, ...).
    pub code: &'static str,
    /// What was found, for a person.
    pub detail: String,
}

impl Finding {
    pub fn new(level: Level, code: &'static str, detail: impl Into<String>) -> Finding {
        Finding {
            level,
            code,
            detail: detail.into(),
        }
    }
}

/// Most reasons kept on a verdict.
const MAX_REASONS: usize = 16;

/// The verdict and its reasons (the findings that made it, strongest
/// first, deduplicated).
pub fn decide(findings: &[Finding]) -> (Verdict, Vec<String>) {
    let top = findings
        .iter()
        .map(|f| f.level)
        .max()
        .unwrap_or(Level::Info);
    let verdict = match top {
        Level::Info => Verdict::Benign,
        Level::Suspicious => Verdict::Suspicious,
        Level::Malicious => Verdict::Malicious,
    };
    let mut sorted: Vec<&Finding> = findings.iter().filter(|f| f.level > Level::Info).collect();
    sorted.sort_by_key(|f| std::cmp::Reverse(f.level));
    let mut reasons: Vec<String> = Vec::new();
    for f in sorted {
        let r = format!("{}: {}", f.code, f.detail);
        if !reasons.contains(&r) && reasons.len() < MAX_REASONS {
            reasons.push(r);
        }
    }
    (verdict, reasons)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strongest_finding_decides() {
        assert_eq!(decide(&[]).0, Verdict::Benign);
        let info = Finding::new(Level::Info, "x", "only context");
        assert_eq!(
            decide(std::slice::from_ref(&info)),
            (Verdict::Benign, vec![])
        );
        let s = Finding::new(Level::Suspicious, "hidden_iframe", "iframe 0x0");
        let m = Finding::new(Level::Malicious, "yara", "rule EICAR");
        let (v, r) = decide(&[info, s.clone(), m, s]);
        assert_eq!(v, Verdict::Malicious);
        assert_eq!(r, vec!["yara: rule EICAR", "hidden_iframe: iframe 0x0"]);
    }
}
