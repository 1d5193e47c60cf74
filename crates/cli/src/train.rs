//! `netsift train`: a model for the `ml` classification layer, and its
//! evaluation on a split by capture file.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use netsift_engine::mltrain::{gather, Labels};
use netsift_engine::{ClassifyConfig, PipelineConfig};
use netsift_ml::{evaluate, fit_model, tune_on_all, TrainConfig, TrainParams};

use crate::TrainArgs;

/// Captures, with directories replaced by their files (sorted).
fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("reading directory {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file())
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

pub fn run(args: &TrainArgs) -> Result<ExitCode> {
    if !(0.0..=1.0).contains(&args.threshold) {
        bail!(
            "--threshold {} is not a probability (0..=1)",
            args.threshold
        );
    }
    if !(0.0..=1.0).contains(&args.tune_precision) {
        bail!(
            "--tune-precision {} is not a share (0..=1)",
            args.tune_precision
        );
    }
    let captures = expand(&args.captures)?;
    let labels = match &args.truth {
        Some(p) => Labels::Truth(p.clone()),
        None => Labels::SelfDpi,
    };
    // "The DPI layer leaves it Unknown" means: the layers before `ml` in
    // `--layers flow,dpi,ml,port` give no verdict.
    let classify = ClassifyConfig {
        layers: vec!["flow".into(), "dpi".into()],
        ..ClassifyConfig::default()
    };
    let t0 = Instant::now();
    let g = gather(
        &captures,
        &labels,
        args.packets,
        PipelineConfig::default(),
        &classify,
    )?;
    for f in &g.failed {
        eprintln!("netsift: warning: {f}");
    }
    if !g.without_truth.is_empty() {
        eprintln!(
            "netsift: warning: {} captures have no rows in the truth file (their flows are unlabelled): {}",
            g.without_truth.len(),
            g.without_truth.join(", ")
        );
    }
    let labelled = g.samples.iter().filter(|s| s.label.is_some()).count();
    if labelled == 0 {
        bail!("no labelled flows in {} captures", captures.len());
    }
    eprintln!(
        "read {} captures: {} flows, {} labelled ({:.1} s)",
        captures.len(),
        g.samples.len(),
        labelled,
        t0.elapsed().as_secs_f64()
    );
    let cfg = TrainConfig {
        params: TrainParams {
            trees: args.trees,
            max_depth: args.max_depth,
            min_leaf: args.min_leaf,
            mtry: args.mtry.map(|m| m as usize),
            seed: args.seed,
        },
        packets: args.packets,
        min_flows: args.min_flows,
        folds: args.folds as usize,
        threshold: args.threshold,
        hold_out: args
            .hold_out
            .as_deref()
            .map(|l| {
                l.split(',')
                    .map(|s| netsift_engine::mltrain::spelled(s.trim()))
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        max_per_capture: args.max_per_capture,
        tune_precision: (args.tune_precision > 0.0).then_some(args.tune_precision),
        ignore: if args.no_port_features {
            netsift_ml::features::PORT_FEATURES.to_vec()
        } else {
            Vec::new()
        },
    };
    let samples = if args.no_eval {
        g.samples
    } else {
        let t = Instant::now();
        let e = evaluate(g.samples, &cfg);
        print!("{}", e.render(args.threshold, args.show));
        eprintln!("evaluation: {:.1} s", t.elapsed().as_secs_f64());
        e.samples
    };
    let Some(out) = &args.output else {
        return Ok(ExitCode::SUCCESS);
    };
    let info = format!(
        "netsift train: {} captures, {} labelled flows ({}); {} packets, {} trees, mtry {}, depth <= {}, min leaf {}, classes with >= {} flows, <= {} flows of a class per capture, seed {}{}",
        captures.len(),
        labelled,
        match &args.truth {
            Some(p) => format!(
                "labels from {}",
                p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned())
            ),
            None => "labels from the DPI layer".into(),
        },
        args.packets,
        args.trees,
        args.mtry.map_or_else(|| "half".to_string(), |m| m.to_string()),
        args.max_depth,
        args.min_leaf,
        args.min_flows,
        args.max_per_capture,
        args.seed,
        if args.no_port_features {
            ", no port features"
        } else {
            ""
        }
    );
    let t = Instant::now();
    let tuned = tune_on_all(&samples, &cfg);
    let info = match tuned {
        Some(t) => format!("{info}; threshold {t:.2} by the inner rule on all captures"),
        None => info,
    };
    let model = fit_model(&samples, &cfg, info)
        .with_context(|| format!("no protocol has {} labelled flows", args.min_flows))?;
    model
        .save(out)
        .with_context(|| format!("writing {}", out.display()))?;
    let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    println!(
        "model: {} classes, {} trees, {} nodes, {} bytes -> {} ({:.1} s)",
        model.classes.len(),
        model.forest.trees.len(),
        model.forest.node_count(),
        size,
        out.display(),
        t.elapsed().as_secs_f64()
    );
    if let (Some(t), Some(p)) = (tuned, cfg.tune_precision) {
        println!(
            "threshold for this model: {t:.2} (the lowest with precision >= {:.0}% in a cross-validation by capture over all the training captures; pass --ml-threshold {t:.2})",
            p * 100.0
        );
    }
    Ok(ExitCode::SUCCESS)
}
