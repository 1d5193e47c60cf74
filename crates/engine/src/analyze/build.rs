//! One place that assembles an [`Analyzer`]: the classifier, the carver
//! with its content analysis (bounds, hash list, YARA rules), the analysis
//! settings (reassembly budget), the payload signatures and the Suricata
//! rules. `netsift analyze` (one analyzer, or one per worker of
//! `--threads`), `netsift watch`, `netsift learn` and the web server's job
//! runner all describe what they want in an [`AnalyzerBuilder`] and let it
//! build; none of them puts the parts together itself.
//!
//! Building is in two steps so that errors come early and parts can be
//! moved to a worker thread: [`AnalyzerBuilder::prepare`] makes the parts
//! (compiles the YARA rules, creates the extract directory, checks the
//! classification layers) into a [`Prepared`], which is `Send`;
//! [`Prepared::analyzer`] then joins them with the run's output.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use netsift_content::hashlist::HashList;
use netsift_content::yara::{YaraLimits, YaraRules};
use netsift_detect::signature::SignatureSet;
use netsift_rules::RuleSet;

use super::files::{ContentCfg, Files, DEFAULT_MAX_FILE_BYTES};
use super::output::Output;
use super::{AnalyzeConfig, Analyzer};
use crate::classify::{Classifier, ClassifyConfig, UnknownLayer};

/// YARA rules to compile (once per builder; each analyzer gets its own counters).
#[derive(Debug, Clone)]
pub struct YaraSpec {
    /// A rule file or a directory of them.
    pub path: PathBuf,
    pub limits: YaraLimits,
}

/// Content analysis of carved files (`--no-content` is no spec at all).
#[derive(Debug, Clone, Default)]
pub struct ContentSpec {
    pub limits: netsift_content::Limits,
    pub hashes: Option<Arc<HashList>>,
    pub yara: Option<YaraSpec>,
    /// Also scan reassembled stream prefixes with the YARA rules.
    pub yara_streams: bool,
}

/// Why an analyzer could not be built.
#[derive(Debug)]
pub enum BuildError {
    /// A classification layer is unknown or listed twice.
    Classifier(UnknownLayer),
    /// The extract directory could not be created.
    ExtractDir(std::io::Error),
    /// The YARA rules did not load or compile.
    Yara(String),
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::Classifier(e) => write!(f, "{e}"),
            BuildError::ExtractDir(e) => write!(f, "creating the extract directory: {e}"),
            BuildError::Yara(e) => write!(f, "--yara: {e}"),
        }
    }
}

/// The message says the cause itself (no `source`, so that a chain of
/// causes does not repeat it).
impl std::error::Error for BuildError {}

/// What an analyzer is made of, besides its output.
#[derive(Debug, Clone)]
pub struct AnalyzerBuilder {
    pub classify: ClassifyConfig,
    /// Reassembly budget, pending bytes, open files, Community ID seed.
    pub config: AnalyzeConfig,
    /// Where carved files are written (`--extract-dir`), if anywhere.
    pub extract_dir: Option<PathBuf>,
    /// Most bytes kept of one carved file.
    pub max_file_bytes: u64,
    /// Content analysis; `None` turns it off.
    pub content: Option<ContentSpec>,
    /// Payload signatures, shared by every analyzer built.
    pub signatures: Option<Arc<SignatureSet>>,
    /// Suricata rules, shared by every analyzer built.
    pub suricata: Option<Arc<RuleSet>>,
    /// The YARA rules once compiled: every analyzer built (one per
    /// `--threads` worker) shares them.
    yara_compiled: std::sync::OnceLock<YaraRules>,
}

impl Default for AnalyzerBuilder {
    fn default() -> Self {
        AnalyzerBuilder::new(ClassifyConfig::default())
    }
}

impl AnalyzerBuilder {
    /// An analyzer with `netsift analyze`'s defaults: every layer of
    /// `classify`, files carved (not written) and their content analysed,
    /// no signatures or rules.
    pub fn new(classify: ClassifyConfig) -> Self {
        AnalyzerBuilder {
            classify,
            config: AnalyzeConfig::default(),
            extract_dir: None,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            content: Some(ContentSpec::default()),
            signatures: None,
            suricata: None,
            yara_compiled: std::sync::OnceLock::new(),
        }
    }

    /// Write carved files into `dir` (created if missing).
    pub fn extract_dir(mut self, dir: Option<&Path>) -> Self {
        self.extract_dir = dir.map(Path::to_path_buf);
        self
    }

    /// Hold at most `bytes` of out-of-order TCP data across all streams.
    pub fn reassembly_memory(mut self, bytes: usize) -> Self {
        self.config.reassembly.max_buffered_total = bytes;
        self
    }

    /// The parts of one analyzer: the classifier, the carver (with the
    /// YARA rules compiled), and shared handles on the signatures and
    /// Suricata rules.
    pub fn prepare(&self) -> Result<Prepared, BuildError> {
        self.prepare_with(self.config, 1)
    }

    /// The parts of one of `threads` workers, each of which analyses its
    /// share of the flows: the reassembly budget, the parser and DPI memory,
    /// the pre-verdict bytes, the file bodies kept for content analysis, and the bound on
    /// unanswered flows with state are split between them (the latter
    /// rounded up and 1/32 more, as `--max-flows` is: a hash does not
    /// split evenly).
    pub fn worker(&self, threads: usize) -> Result<Prepared, BuildError> {
        let mut config = self.config;
        config.reassembly.max_buffered_total =
            crate::shard::worker_bytes(config.reassembly.max_buffered_total, threads);
        config.max_parser_memory = crate::shard::worker_bytes(config.max_parser_memory, threads);
        config.max_pending_total = crate::shard::worker_bytes(config.max_pending_total, threads);
        config.max_unanswered_flows =
            crate::shard::worker_bound(config.max_unanswered_flows, threads);
        self.prepare_with(config, threads)
    }

    /// The YARA rules of `spec`, compiled at the first call and shared by
    /// every analyzer built after it.
    fn yara_rules(&self, spec: &YaraSpec) -> Result<YaraRules, BuildError> {
        if let Some(r) = self.yara_compiled.get() {
            return Ok(*r);
        }
        let r = YaraRules::compile(&spec.path, spec.limits).map_err(BuildError::Yara)?;
        Ok(*self.yara_compiled.get_or_init(|| r))
    }

    fn prepare_with(&self, config: AnalyzeConfig, threads: usize) -> Result<Prepared, BuildError> {
        // One bound on unanswered flows for their application and DPI
        // states alike (a worker's share of it, see `worker`), and the
        // worker's share of DPI memory.
        let mut classify = self.classify.clone();
        classify.dpi.max_unanswered_states = config.max_unanswered_flows;
        classify.dpi.max_memory = crate::shard::worker_bytes(classify.dpi.max_memory, threads);
        let classifier = Classifier::new(&classify).map_err(BuildError::Classifier)?;
        let mut files = Files::new(self.extract_dir.as_deref(), self.max_file_bytes)
            .map_err(BuildError::ExtractDir)?;
        files.max_body_total = crate::shard::worker_bytes(files.max_body_total, threads);
        files.content = match &self.content {
            None => None,
            Some(spec) => Some(ContentCfg {
                limits: spec.limits,
                hashes: spec.hashes.clone(),
                yara: match &spec.yara {
                    Some(y) => Some(self.yara_rules(y)?.scanner()),
                    None => None,
                },
                yara_streams: spec.yara_streams,
                ..ContentCfg::default()
            }),
        };
        Ok(Prepared {
            classifier,
            config,
            files,
            signatures: self.signatures.clone(),
            suricata: self.suricata.clone(),
        })
    }
}

/// The parts of one analyzer, made by [`AnalyzerBuilder::prepare`] and
/// waiting for their output.
pub struct Prepared {
    classifier: Classifier,
    config: AnalyzeConfig,
    files: Files,
    signatures: Option<Arc<SignatureSet>>,
    suricata: Option<Arc<RuleSet>>,
}

impl Prepared {
    /// YARA rules compiled, when content analysis has them.
    pub fn yara_rules(&self) -> Option<usize> {
        self.files
            .content
            .as_ref()
            .and_then(|c| c.yara.as_ref())
            .map(|y| y.stats.rules)
    }

    /// The analyzer over `out` (the detection stage of the run, usually).
    pub fn analyzer_over<'o>(self, out: &'o mut dyn Output) -> Analyzer<'o> {
        self.analyzer(Box::new(out))
    }

    /// The analyzer over an output it owns (a worker's event log).
    pub fn analyzer<'o>(self, out: Box<dyn Output + 'o>) -> Analyzer<'o> {
        let mut analyzer = Analyzer::with_output(self.classifier, self.config, self.files, out);
        if let Some(set) = self.signatures {
            analyzer.set_signatures(set);
        }
        if let Some(set) = self.suricata {
            analyzer.set_rules(set);
        }
        analyzer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_worker_budget() {
        let b = AnalyzerBuilder::default().reassembly_memory(64 << 20);
        let p = b.prepare().expect("default parts");
        assert_eq!(p.config.reassembly.max_buffered_total, 64 << 20);
        assert!(p.files.content.is_some(), "content analysis on by default");
        assert_eq!(p.yara_rules(), None);
        let w = b.worker(4).expect("worker parts");
        assert_eq!(w.config.reassembly.max_buffered_total, 16 << 20);
        // A quarter of the unanswered flows, and 1/32 of that for the
        // uneven split; no bound stays no bound.
        assert_eq!(w.config.max_unanswered_flows, 8_192 + 256);
        // Parser memory, pre-verdict bytes and file bodies are split as
        // the reassembly budget is.
        assert_eq!(w.config.max_parser_memory, 32 << 20);
        assert_eq!(w.config.max_pending_total, 64 << 20);
        assert_eq!(w.files.max_body_total, 128 << 20);
        let mut unbounded = AnalyzerBuilder::default();
        unbounded.config.max_unanswered_flows = usize::MAX;
        unbounded.config.max_parser_memory = usize::MAX;
        let w = unbounded.worker(4).expect("worker parts");
        assert_eq!(w.config.max_unanswered_flows, usize::MAX);
        assert_eq!(w.config.max_parser_memory, usize::MAX);
        let off = AnalyzerBuilder {
            content: None,
            ..AnalyzerBuilder::default()
        };
        assert!(off.prepare().expect("parts").files.content.is_none());
    }

    #[test]
    fn errors_name_their_part() {
        let c = ClassifyConfig {
            layers: vec!["nonsense".into()],
            ..ClassifyConfig::default()
        };
        let e = AnalyzerBuilder::new(c).prepare().err().expect("bad layer");
        assert!(matches!(e, BuildError::Classifier(_)), "{e}");
        let b = AnalyzerBuilder {
            content: Some(ContentSpec {
                yara: Some(YaraSpec {
                    path: PathBuf::from("/nonexistent/netsift-rules"),
                    limits: YaraLimits::default(),
                }),
                ..ContentSpec::default()
            }),
            ..AnalyzerBuilder::default()
        };
        let e = b.prepare().err().expect("no rules there");
        assert!(e.to_string().starts_with("--yara: "), "{e}");
    }
}
