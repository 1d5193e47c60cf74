//! `netsift learn`: mine a model of normal sessions from training captures.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use netsift_engine::analyze::build::AnalyzerBuilder;
use netsift_engine::analyze::output::Output;
use netsift_engine::analyze::FlowData;
use netsift_engine::run_capture;
use netsift_learn::model::ScoringParams;
use netsift_learn::{Algorithm, Collector, Model, Protocol, TrainConfig};

use crate::flows::{classify_config, pipeline_config};
use crate::LearnArgs;

pub fn run(args: &LearnArgs) -> Result<ExitCode> {
    let proto = match args.protocol {
        crate::LearnProtocol::Ftp => Protocol::Ftp,
        crate::LearnProtocol::Smtp => Protocol::Smtp,
        crate::LearnProtocol::Pop3 => Protocol::Pop3,
        crate::LearnProtocol::Imap => Protocol::Imap,
    };
    if !(args.min_support > 0.0 && args.min_support.is_finite()) {
        anyhow::bail!("--min-support must be a fraction in (0, 1] or a session count > 1");
    }
    let pcfg = pipeline_config(&args.common)?;
    let ccfg = classify_config(&args.common.classify)?;
    let mut out = Collector::new(proto);
    let mut builder = AnalyzerBuilder::new(ccfg);
    builder.config.community_id_seed = args.common.community_id_seed;
    let mut analyzer = builder
        .prepare()
        .map_err(crate::analyze::build_error)?
        .analyzer_over(&mut out);
    let mut failed = false;
    for (n, path) in args.captures.iter().enumerate() {
        let mut pcfg = pcfg;
        pcfg.flow.uid_seed = pcfg.flow.uid_seed.wrapping_add(n as u64);
        if let Err(e) = run_capture::<FlowData, _>(path, pcfg, &mut analyzer, &mut |_| {}) {
            eprintln!("netsift: error: {e}");
            failed = true;
        }
    }
    drop(analyzer);
    out.finish().context("collecting sessions")?;
    let tcfg = TrainConfig {
        min_support: args.min_support,
        max_pattern_len: args.max_pattern_len as usize,
        max_patterns: args.max_patterns,
        algorithm: match args.algorithm {
            crate::AlgorithmArg::Gsp => Algorithm::Gsp,
            crate::AlgorithmArg::Prefixspan => Algorithm::PrefixSpan,
        },
        scoring: ScoringParams::default(),
        learn_coverage: true,
        per_server: args.model_scope == crate::ModelScope::Server,
        min_server_sessions: args.min_server_sessions,
        chains: true,
    };
    let t = Instant::now();
    let model = Model::train(proto, &out.sessions, &tcfg).map_err(|e| anyhow::anyhow!("{e}"))?;
    let took = t.elapsed();
    std::fs::write(&args.output, model.to_json() + "\n")
        .with_context(|| format!("writing {}", args.output.display()))?;
    if !args.common.quiet {
        let longest = model
            .patterns
            .iter()
            .map(|p| p.items.len())
            .max()
            .unwrap_or(0);
        eprintln!(
            "netsift: learned {} from {} sessions ({} items, {} transitions): {} patterns (support >= {} sessions, longest {}) with {} in {:.1} ms, {} per-server model(s), session chains of up to {} sessions (gap {} s) -> {}",
            model.protocol,
            model.sessions,
            model.items.len(),
            model.transitions.values().map(|m| m.len()).sum::<usize>(),
            model.patterns.len(),
            model.min_support_sessions,
            longest,
            model.algorithm,
            took.as_secs_f64() * 1e3,
            model.servers.len(),
            model.chain.as_ref().map_or(0, |c| c.window),
            model.chain.as_ref().map_or(0, |c| c.gap_s),
            args.output.display()
        );
        if out.dropped > 0 {
            eprintln!(
                "netsift: warning: {} sessions beyond the training bound were not used",
                out.dropped
            );
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
