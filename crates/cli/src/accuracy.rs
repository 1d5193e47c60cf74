//! `netsift accuracy`: agreement with nDPI on its regression corpus.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use netsift_engine::accuracy::{run_accuracy, Scope, CORE_PROTOCOLS};
use netsift_engine::PipelineConfig;

use crate::flows::classify_config;
use crate::AccuracyArgs;

pub fn run(args: &AccuracyArgs) -> Result<ExitCode> {
    let cfg = classify_config(&args.classify)?;
    let list: Option<Vec<&str>> = match args.protocols.as_deref() {
        None | Some("all") => None,
        Some("core") => Some(CORE_PROTOCOLS.to_vec()),
        Some(l) => Some(l.split(',').map(str::trim).collect()),
    };
    let scope = if args.breadth {
        Scope::Breadth
    } else {
        Scope::Registered(list.as_deref())
    };
    let report = run_accuracy(&args.corpus, PipelineConfig::default(), &cfg, scope)
        .with_context(|| format!("reading corpus {}", args.corpus.display()))?;
    // Written, not printed: `| head` closing the pipe is an io::Error that
    // main treats as success, not a panic.
    let mut out = std::io::stdout().lock();
    write!(out, "{}", report.render(args.show))?;
    writeln!(
        out,
        "layers: {}; {} captures, {} counted flows{}",
        cfg.layers.join(","),
        report.captures,
        report.total(),
        if args.breadth {
            " (breadth: every flow nDPI identified by DPI)"
        } else {
            ""
        }
    )?;
    drop(out);
    if let Some(min) = args.min {
        if report.percent() < min {
            eprintln!(
                "netsift: agreement {:.2}% is below the required {min}%",
                report.percent()
            );
            return Ok(ExitCode::from(3));
        }
    }
    Ok(ExitCode::SUCCESS)
}
