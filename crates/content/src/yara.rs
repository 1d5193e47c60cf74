//! YARA rules with yara-x (VirusTotal's pure-Rust YARA), bounded: a
//! per-scan timeout (yara-x's own), a per-file size cap (the caller's
//! [`crate::Limits::max_bytes`]) and a total time budget after which
//! files are no longer scanned (and counted).

use std::path::Path;
use std::time::{Duration, Instant};

/// One rule that matched.
#[derive(Debug, Clone, serde::Serialize)]
pub struct YaraMatch {
    pub rule: String,
    pub namespace: String,
    pub tags: Vec<String>,
    /// Rule metadata as `key=value` pairs.
    pub meta: Vec<(String, String)>,
    /// Matched patterns: (identifier, offset, length), capped.
    pub strings: Vec<(String, u64, u64)>,
}

/// Scan bounds.
#[derive(Debug, Clone, Copy)]
pub struct YaraLimits {
    pub timeout: Duration,
    pub budget: Duration,
}

impl Default for YaraLimits {
    fn default() -> Self {
        YaraLimits {
            timeout: Duration::from_secs(5),
            budget: Duration::from_secs(300),
        }
    }
}

/// Counters of a run.
#[derive(Debug, Clone, Copy, Default)]
pub struct YaraStats {
    pub rules: usize,
    pub scanned: u64,
    pub matched: u64,
    pub timeouts: u64,
    /// Files not scanned because the total budget was spent.
    pub skipped: u64,
    pub time: Duration,
}

/// Collect rule files: the file itself, or every `.yar`/`.yara` file of a
/// directory (sorted, not recursive).
pub fn rule_files(path: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    if path.is_dir() {
        let mut v: Vec<_> = std::fs::read_dir(path)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "yar" || e == "yara"))
            .collect();
        v.sort();
        Ok(v)
    } else {
        Ok(vec![path.to_path_buf()])
    }
}

#[cfg(feature = "yara")]
mod imp {
    use super::*;

    /// Compiled rules, shared by every [`Yara`] made from them (one per
    /// `--threads` worker).
    #[derive(Clone, Copy)]
    pub struct YaraRules {
        rules: &'static yara_x::Rules,
        limits: YaraLimits,
        n: usize,
    }

    impl std::fmt::Debug for YaraRules {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("YaraRules").field("rules", &self.n).finish()
        }
    }

    impl YaraRules {
        /// Compile the rules at `path` (a file or a directory of them).
        pub fn compile(path: &Path, limits: YaraLimits) -> Result<YaraRules, String> {
            let files = rule_files(path).map_err(|e| format!("{}: {e}", path.display()))?;
            if files.is_empty() {
                return Err(format!("{}: no .yar/.yara files", path.display()));
            }
            let mut c = yara_x::Compiler::new();
            for f in &files {
                let src =
                    std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
                let origin = f.display().to_string();
                c.add_source(yara_x::SourceCode::from(src.as_str()).with_origin(origin.as_str()))
                    .map_err(|e| format!("{e}"))?;
            }
            let rules = c.build();
            let n = rules.iter().len();
            // The rules live as long as the process: scanners borrow them.
            let rules: &'static yara_x::Rules = Box::leak(Box::new(rules));
            Ok(YaraRules { rules, limits, n })
        }

        /// Rules compiled.
        pub fn len(&self) -> usize {
            self.n
        }

        pub fn is_empty(&self) -> bool {
            self.n == 0
        }

        /// A scanner over these rules, with its own counters.
        pub fn scanner(&self) -> Yara {
            Yara {
                rules: *self,
                stats: YaraStats {
                    rules: self.n,
                    ..Default::default()
                },
            }
        }
    }

    thread_local! {
        /// This thread's yara-x scanner, and the rules it was made for. A
        /// yara-x scanner cannot move to another thread, so it is kept
        /// here and [`Yara`] itself can be sent (`--threads` workers are
        /// made in the reader's thread and run in their own).
        static SCANNER: std::cell::RefCell<Option<(usize, yara_x::Scanner<'static>)>> =
            const { std::cell::RefCell::new(None) };
    }

    /// Compiled rules, and the counters of the files scanned with them.
    pub struct Yara {
        rules: YaraRules,
        pub stats: YaraStats,
    }

    impl Yara {
        /// Scan one buffer; `None` when the budget is spent.
        pub fn scan(&mut self, data: &[u8]) -> Option<Vec<YaraMatch>> {
            if self.stats.time >= self.rules.limits.budget {
                self.stats.skipped += 1;
                return None;
            }
            let t = Instant::now();
            let rules = self.rules;
            let key = rules.rules as *const yara_x::Rules as usize;
            let mut out = Vec::new();
            let mut timed_out = false;
            SCANNER.with(|cell| {
                // Nothing here re-enters: a failed borrow only skips a scan.
                let Ok(mut slot) = cell.try_borrow_mut() else {
                    return;
                };
                if slot.as_ref().map(|(k, _)| *k) != Some(key) {
                    let mut scanner = yara_x::Scanner::new(rules.rules);
                    scanner.set_timeout(rules.limits.timeout);
                    *slot = Some((key, scanner));
                }
                let Some((_, scanner)) = slot.as_mut() else {
                    return;
                };
                match scanner.scan(data) {
                    Ok(r) => {
                        for m in r.matching_rules().take(64) {
                            let meta = m
                                .metadata()
                                .map(|(k, v)| {
                                    let v = match v {
                                        yara_x::MetaValue::Integer(i) => i.to_string(),
                                        yara_x::MetaValue::Float(f) => f.to_string(),
                                        yara_x::MetaValue::Bool(b) => b.to_string(),
                                        yara_x::MetaValue::String(s) => s.to_string(),
                                        yara_x::MetaValue::Bytes(b) => {
                                            String::from_utf8_lossy(b).into_owned()
                                        }
                                    };
                                    (k.to_string(), crate::trunc(&v, 200))
                                })
                                .take(16)
                                .collect();
                            let mut strings = Vec::new();
                            for p in m.patterns() {
                                for x in p.matches().take(8) {
                                    if strings.len() < 32 {
                                        let r = x.range();
                                        strings.push((
                                            p.identifier().to_string(),
                                            r.start as u64,
                                            (r.end - r.start) as u64,
                                        ));
                                    }
                                }
                            }
                            out.push(YaraMatch {
                                rule: m.identifier().to_string(),
                                namespace: m.namespace().to_string(),
                                tags: m
                                    .tags()
                                    .map(|t| t.identifier().to_string())
                                    .take(16)
                                    .collect(),
                                meta,
                                strings,
                            });
                        }
                    }
                    Err(yara_x::ScanError::Timeout) => timed_out = true,
                    Err(_) => {}
                }
            });
            if timed_out {
                self.stats.timeouts += 1;
            }
            self.stats.time += t.elapsed();
            self.stats.scanned += 1;
            if !out.is_empty() {
                self.stats.matched += 1;
            }
            Some(out)
        }
    }
}

#[cfg(not(feature = "yara"))]
mod imp {
    use super::*;

    /// Built without the `yara` feature: compiling fails with a message.
    #[derive(Debug, Clone, Copy)]
    pub struct YaraRules;

    impl YaraRules {
        pub fn compile(path: &Path, _limits: YaraLimits) -> Result<YaraRules, String> {
            Err(format!(
                "{}: this netsift was built without the `yara` feature",
                path.display()
            ))
        }

        pub fn len(&self) -> usize {
            0
        }

        pub fn is_empty(&self) -> bool {
            true
        }

        pub fn scanner(&self) -> Yara {
            Yara {
                stats: YaraStats::default(),
            }
        }
    }

    /// Built without the `yara` feature: never made (compiling fails).
    pub struct Yara {
        pub stats: YaraStats,
    }

    impl Yara {
        pub fn scan(&mut self, _data: &[u8]) -> Option<Vec<YaraMatch>> {
            let _ = Instant::now();
            None
        }
    }
}

pub use imp::{Yara, YaraRules};

#[cfg(all(test, feature = "yara"))]
mod tests {
    use super::*;

    fn rules(dir: &str, text: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("netsift-yara-{dir}-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&d);
        std::fs::write(d.join("a.yar"), text).expect("write");
        d
    }

    #[test]
    fn match_has_rule_tags_meta_and_offsets() {
        let d = rules(
            "m",
            r#"rule Test_Eicar : av test { meta: author = "netsift" score = 5 strings: $s = "EICAR-STANDARD" condition: $s }"#,
        );
        let mut y = YaraRules::compile(&d, YaraLimits::default())
            .expect("rules")
            .scanner();
        let m = y.scan(b"xxx EICAR-STANDARD yyy").expect("scanned");
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].rule, "Test_Eicar");
        assert_eq!(m[0].tags, vec!["av", "test"]);
        assert!(m[0].meta.contains(&("author".into(), "netsift".into())));
        assert_eq!(m[0].strings, vec![("$s".to_string(), 4, 14)]);
        assert!(y.scan(b"clean").expect("scanned").is_empty());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn bad_rules_and_spent_budget() {
        let d = rules("bad", "rule { oops");
        assert!(YaraRules::compile(&d, YaraLimits::default()).is_err());
        let d2 = rules("budget", "rule A { strings: $a = \"x\" condition: $a }");
        let mut y = YaraRules::compile(
            &d2,
            YaraLimits {
                timeout: Duration::from_secs(1),
                budget: Duration::ZERO,
            },
        )
        .expect("rules")
        .scanner();
        assert!(y.scan(b"x").is_none());
        assert_eq!(y.stats.skipped, 1);
        let _ = std::fs::remove_dir_all(&d);
        let _ = std::fs::remove_dir_all(&d2);
    }
}
