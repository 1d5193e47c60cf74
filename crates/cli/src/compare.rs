//! `netsift compare`: netsift's layers and nDPI side by side.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};
use netsift_engine::compare::{compare_capture, ndpi_live_flows, render, CompareRow};

use crate::flows::{classify_config, pipeline_config};
use crate::{CompareArgs, Format};

pub fn run(args: &CompareArgs) -> Result<ExitCode> {
    let pipeline = pipeline_config(&args.common)?;
    let ours = classify_config(&args.common.classify)?;
    let mut out = BufWriter::new(io::stdout().lock());
    let mut rows: Vec<CompareRow> = Vec::new();
    for path in &args.captures {
        let r = compare_capture(path, pipeline, &ours)
            .with_context(|| format!("comparing {}", path.display()))?;
        if args.format == Format::Jsonl {
            for row in &r {
                serde_json::to_writer(&mut out, row)?;
                out.write_all(b"\n")?;
            }
        } else {
            rows.extend(r);
        }
    }
    if args.format == Format::Table {
        out.write_all(render(&rows, args.show).as_bytes())?;
        writeln!(
            out,
            "\nnetsift layers: {}; nDPI {} (every flow's nDPI state freed: {})",
            ours.layers.join(","),
            netsift_engine::classify::ndpi::version(),
            if ndpi_live_flows() == 0 { "yes" } else { "NO" }
        )?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
