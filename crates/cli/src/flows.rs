//! `netsift flows`: one record per flow, as a table or JSON lines.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use anyhow::{bail, Result};
use netsift_engine::{run_capture, CaptureSummary, FlowHandler, FlowRecord, PipelineConfig};
use netsift_flow::{Flow, FlowConfig};

use crate::progress::{human, Bar};
use crate::{stderr_is_tty, FlowsArgs, Format};

fn secs_to_ns(what: &str, s: f64) -> Result<u64> {
    if !s.is_finite() || s <= 0.0 || s > 1e9 {
        bail!("--{what} must be a positive number of seconds, got {s}");
    }
    Ok((s * 1e9) as u64)
}

/// Build the pipeline configuration from the flags.
pub fn pipeline_config(a: &FlowsArgs) -> Result<PipelineConfig> {
    Ok(PipelineConfig {
        flow: FlowConfig {
            max_flows: a.max_flows as usize,
            tcp_idle_ns: secs_to_ns("tcp-idle", a.tcp_idle)?,
            udp_idle_ns: secs_to_ns("udp-idle", a.udp_idle)?,
            other_idle_ns: secs_to_ns("other-idle", a.other_idle)?,
            active_timeout_ns: secs_to_ns("active-timeout", a.active_timeout)?,
            ..FlowConfig::default()
        },
        ..PipelineConfig::default()
    })
}

/// Rows buffered to size the table's columns before streaming the rest.
const TABLE_SIZING_ROWS: usize = 10_000;

const HEADER: [&str; 12] = [
    "ts",
    "uid",
    "l4",
    "src",
    "dst",
    "vlan",
    "pkts",
    "bytes",
    "state",
    "history",
    "duration",
    "community_id",
];

struct Writer<W: Write> {
    out: W,
    format: Format,
    seed: u16,
    pending: Vec<[String; 12]>,
    widths: Option<[usize; 12]>,
    error: Option<io::Error>,
}

fn endpoint(ip: &str, port: u16, l4: &str) -> String {
    let has_ports = matches!(l4, "TCP" | "UDP" | "SCTP");
    match (ip.contains(':'), has_ports) {
        (_, false) => ip.to_string(),
        (true, true) => format!("[{ip}]:{port}"),
        (false, true) => format!("{ip}:{port}"),
    }
}

fn table_row(r: &FlowRecord) -> [String; 12] {
    [
        format!("{:.6}", r.ts),
        r.uid.clone(),
        r.l4.clone(),
        endpoint(&r.src_ip, r.src_port, &r.l4),
        endpoint(&r.dst_ip, r.dst_port, &r.l4),
        r.vlan.map_or_else(|| "-".to_string(), |v| v.to_string()),
        format!("{}/{}", r.orig_pkts, r.resp_pkts),
        format!("{}/{}", r.orig_bytes, r.resp_bytes),
        r.conn_state.to_string(),
        if r.history.is_empty() {
            "-".to_string()
        } else {
            r.history.clone()
        },
        format!("{:.3}", r.duration),
        r.community_id.clone(),
    ]
}

impl<W: Write> Writer<W> {
    fn write_row(&mut self, row: &[String; 12]) -> io::Result<()> {
        let widths = self.widths.unwrap_or([0; 12]);
        let mut line = String::with_capacity(160);
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            if i == 11 {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{:<w$}", cell, w = widths[i]));
            }
        }
        writeln!(self.out, "{}", line.trim_end())
    }

    fn flush_table(&mut self) -> io::Result<()> {
        if self.widths.is_none() {
            let mut w = HEADER.map(str::len);
            for row in &self.pending {
                for (i, c) in row.iter().enumerate() {
                    w[i] = w[i].max(c.len());
                }
            }
            self.widths = Some(w);
            let header = HEADER.map(str::to_string);
            self.write_row(&header)?;
        }
        let rows = std::mem::take(&mut self.pending);
        for row in &rows {
            self.write_row(row)?;
        }
        Ok(())
    }

    fn emit(&mut self, rec: &FlowRecord) -> io::Result<()> {
        match self.format {
            Format::Jsonl => {
                serde_json::to_writer(&mut self.out, rec)?;
                self.out.write_all(b"\n")
            }
            Format::Table => {
                let row = table_row(rec);
                if self.widths.is_none() {
                    self.pending.push(row);
                    if self.pending.len() >= TABLE_SIZING_ROWS {
                        self.flush_table()?;
                    }
                    Ok(())
                } else {
                    self.write_row(&row)
                }
            }
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if self.format == Format::Table {
            self.flush_table()?;
        }
        self.out.flush()
    }
}

impl<W: Write> FlowHandler<()> for Writer<W> {
    fn on_flow_end(&mut self, flow: Flow<()>) {
        if self.error.is_some() {
            return;
        }
        let rec = FlowRecord::from_flow(&flow, self.seed);
        if let Err(e) = self.emit(&rec) {
            self.error = Some(e);
        }
    }
}

fn summary_line(s: &CaptureSummary) -> String {
    let c = &s.counters;
    format!(
        "{}: {} packets, {} flows, {} decode errors, {} non-IP, {} fragments ({} reassembled), {} evictions",
        s.path.display(),
        c.packets,
        s.flows(),
        c.decode_errors(),
        c.non_ip,
        c.fragments,
        s.defrag.reassembled,
        s.table.evicted
    )
}

pub fn run(args: &FlowsArgs) -> Result<ExitCode> {
    let cfg = pipeline_config(args)?;
    let stdout = io::stdout().lock();
    let mut w = Writer {
        out: BufWriter::with_capacity(1 << 16, stdout),
        format: args.format,
        seed: args.community_id_seed,
        pending: Vec::new(),
        widths: None,
        error: None,
    };
    let mut bar = Bar::new(!args.quiet && stderr_is_tty());
    let mut failed = false;
    let (mut packets, mut flows) = (0u64, 0u64);
    for path in &args.captures {
        let res = run_capture::<(), _>(path, cfg, &mut w, &mut |p| bar.update(p));
        bar.clear();
        if let Some(e) = w.error.take() {
            return Err(e.into());
        }
        match res {
            Ok(s) => {
                packets += s.counters.packets;
                flows += s.flows();
                if let Some(t) = s.truncation {
                    eprintln!(
                        "netsift: warning: {}: capture truncated at offset {} (record needs {} bytes, {} present); analysed up to there",
                        path.display(),
                        t.offset,
                        t.expected,
                        t.available
                    );
                }
                if !args.quiet {
                    eprintln!("netsift: {}", summary_line(&s));
                }
            }
            Err(e) => {
                eprintln!("netsift: error: {e}");
                failed = true;
            }
        }
    }
    w.finish()?;
    if !args.quiet && args.captures.len() > 1 {
        eprintln!(
            "netsift: total: {} captures, {} packets, {} flows",
            args.captures.len(),
            human(packets),
            human(flows)
        );
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
