//! Loading rule files: the public [`RuleSet`] and its [`LoadReport`].

use std::fmt;
use std::path::{Path, PathBuf};

use crate::rule::{Rule, RuleId};
use crate::vars::Vars;

/// A rule left out because it uses something outside the supported subset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub file: String,
    pub line: usize,
    pub sid: Option<u32>,
    /// The keyword (or header element) that is not supported.
    pub keyword: String,
    pub reason: String,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file, self.line)?;
        if let Some(sid) = self.sid {
            write!(f, "sid {sid}: ")?;
        }
        write!(f, "rule skipped: `{}`: {}", self.keyword, self.reason)
    }
}

/// A rule that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub file: String,
    pub line: usize,
    /// 1-based column (in characters) in the rule's first line, or in the
    /// joined text for a continued rule.
    pub col: usize,
    pub msg: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: syntax error: {}",
            self.file, self.line, self.col, self.msg
        )
    }
}

/// What loading did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    pub loaded: usize,
    pub skipped: Vec<Skipped>,
    pub errors: Vec<SyntaxError>,
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} rules loaded, {} skipped, {} with syntax errors",
            self.loaded,
            self.skipped.len(),
            self.errors.len()
        )
    }
}

/// Loading failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `strict`: a rule was skipped or had a syntax error; the message
    /// lists the first ones.
    #[error("strict rules: {0}")]
    Strict(String),
}

/// An immutable set of compiled rules, in evaluation order. `Send + Sync`:
/// share it with `Arc`.
#[derive(Debug, Default)]
pub struct RuleSet {
    pub(crate) rules: Vec<Rule>,
    pub(crate) compiled: crate::eval::Compiled,
}

impl RuleSet {
    /// Load rule files. Hash-list files named by `filemd5` / `filesha256`
    /// are read relative to the rule file's directory.
    pub fn load(
        paths: &[PathBuf],
        vars: &Vars,
        strict: bool,
    ) -> Result<(RuleSet, LoadReport), LoadError> {
        let mut sources = Vec::new();
        for p in paths {
            let bytes = std::fs::read(p).map_err(|source| LoadError::Io {
                path: p.clone(),
                source,
            })?;
            let text = String::from_utf8_lossy(&bytes).into_owned();
            sources.push((
                p.display().to_string(),
                p.parent().map(Path::to_path_buf),
                text,
            ));
        }
        let mut parsed = Vec::new();
        let mut report = LoadReport::default();
        for (name, dir, text) in &sources {
            crate::parse::parse_file(text, name, dir.as_deref(), vars, &mut parsed, &mut report);
        }
        if strict && (!report.skipped.is_empty() || !report.errors.is_empty()) {
            let mut msg = String::new();
            for e in report.errors.iter().take(5) {
                msg.push_str(&format!("\n  {e}"));
            }
            for s in report.skipped.iter().take(5) {
                msg.push_str(&format!("\n  {s}"));
            }
            return Err(LoadError::Strict(format!(
                "{} skipped, {} syntax errors:{msg}",
                report.skipped.len(),
                report.errors.len()
            )));
        }
        Ok((RuleSet::build(parsed, &mut report), report))
    }

    /// Parse rules from a string (`file_name` is used in reports; hash-list
    /// files are looked up in `base_dir`).
    pub fn parse_str(
        text: &str,
        file_name: &str,
        base_dir: Option<&Path>,
        vars: &Vars,
    ) -> (RuleSet, LoadReport) {
        let mut parsed = Vec::new();
        let mut report = LoadReport::default();
        crate::parse::parse_file(text, file_name, base_dir, vars, &mut parsed, &mut report);
        let set = RuleSet::build(parsed, &mut report);
        (set, report)
    }

    fn build(mut rules: Vec<Rule>, report: &mut LoadReport) -> RuleSet {
        crate::parse::sort_rules(&mut rules);
        report.loaded = rules.len();
        let compiled = crate::eval::Compiled::new(&mut rules);
        RuleSet { rules, compiled }
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// # Panics
    /// If `id` does not come from this set.
    pub fn rule(&self, id: RuleId) -> &Rule {
        &self.rules[id.0 as usize]
    }

    /// All rules in evaluation order.
    pub fn rules(&self) -> impl Iterator<Item = (RuleId, &Rule)> {
        self.rules
            .iter()
            .enumerate()
            .map(|(i, r)| (RuleId(i as u32), r))
    }
}
