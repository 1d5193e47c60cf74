//! What the rule loaders share: the error that names a rule file's line,
//! and reading a rule file as UTF-8. [`crate::rules`] and
//! [`crate::signature`] both load rule files; they depend on this module and
//! not on each other's, so the dependency points one way
//! (signature → rule_file ← rules → signature).

use std::path::Path;

/// A rule file (or rules-file entry) that failed to load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {reason}")]
pub struct RuleError {
    /// The file, as given.
    pub file: String,
    /// 1-based line; 0 when the error is not about one line (unreadable file).
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl RuleError {
    /// Builds an error.
    pub fn new(file: impl Into<String>, line: usize, reason: impl Into<String>) -> Self {
        RuleError {
            file: file.into(),
            line,
            reason: reason.into(),
        }
    }
}

/// Reads a rule file as UTF-8, mapping failures to [`RuleError`] (line 0).
pub fn read_rule_file(path: &Path) -> Result<String, RuleError> {
    let bytes = std::fs::read(path)
        .map_err(|e| RuleError::new(path.display().to_string(), 0, format!("cannot read: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        let upto = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
        RuleError::new(path.display().to_string(), line, "not valid UTF-8")
    })
}
