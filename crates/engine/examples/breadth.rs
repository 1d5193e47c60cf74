//! Developer tool for protocol work without building the whole CLI:
//!
//! ```text
//! # breadth accuracy over nDPI's corpus, rows limited to some nDPI labels
//! cargo run --release -p netsift-engine --example breadth -- [--corpus DIR] [--only A,B] [--show N] [--guess]
//! # every flow of one capture with netsift's verdict and evidence
//! cargo run --release -p netsift-engine --example breadth -- --pcap FILE [--guess]
//! ```
//!
//! `netsift accuracy --breadth` is the user-facing command; this example
//! exists so protocol folders can be checked against the corpus with only
//! the engine's dependencies compiled.

use std::path::PathBuf;

use netsift_engine::accuracy::{norm_name, run_accuracy, AccuracyReport, Scope};
use netsift_engine::classify::ClassState;
use netsift_engine::{run_capture, Classifier, ClassifyConfig, FlowHandler, PipelineConfig};
use netsift_flow::{l4_name, Flow};

struct Print {
    classifier: Classifier,
}

impl FlowHandler<ClassState> for Print {
    fn on_packet(
        &mut self,
        flow: &mut Flow<ClassState>,
        seen: netsift_flow::Seen,
        pkt: &netsift_wire::Decoded<'_>,
    ) {
        self.classifier.on_packet(flow, seen, pkt);
    }
    fn on_flow_end(&mut self, mut flow: Flow<ClassState>) {
        self.classifier.on_end(&mut flow);
        let (o, r) = (flow.orig(), flow.resp());
        let (p, app, ev) = flow
            .data
            .verdict
            .as_ref()
            .map_or(("Unknown", None, String::new()), |v| {
                (v.protocol, v.app.clone(), v.evidence.to_string())
            });
        let name = match app {
            Some(a) => format!("{p}/{a}"),
            None => p.to_string(),
        };
        println!(
            "{} {}:{} -> {}:{} {} | {}",
            l4_name(flow.key.proto),
            o.addr,
            o.port,
            r.addr,
            r.port,
            name,
            ev
        );
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut corpus = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus/ndpi"
    ));
    let mut only: Option<Vec<String>> = None;
    let mut show = 40usize;
    let mut pcap: Option<PathBuf> = None;
    let mut cfg = ClassifyConfig::default();
    let mut guess = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--corpus" => corpus = args.next().map(PathBuf::from).unwrap_or(corpus),
            "--only" => {
                only = args
                    .next()
                    .map(|s| s.split(',').map(|x| x.trim().to_string()).collect())
            }
            "--show" => show = args.next().and_then(|s| s.parse().ok()).unwrap_or(show),
            "--pcap" => pcap = args.next().map(PathBuf::from),
            "--guess" => guess = true,
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    if !guess {
        cfg.layers.retain(|l| l != "port");
    }
    if let Some(p) = pcap {
        let mut h = Print {
            classifier: Classifier::new(&cfg).expect("layers"),
        };
        if let Err(e) =
            run_capture::<ClassState, _>(&p, PipelineConfig::default(), &mut h, &mut |_| {})
        {
            eprintln!("{}: {e}", p.display());
        }
        return;
    }
    let report = match run_accuracy(&corpus, PipelineConfig::default(), &cfg, Scope::Breadth) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}: {e}", corpus.display());
            std::process::exit(1);
        }
    };
    let total = (report.agreed(), report.total(), report.percent());
    let report = match &only {
        Some(list) => {
            let want: Vec<String> = list.iter().map(|s| norm_name(s)).collect();
            AccuracyReport {
                rows: report
                    .rows
                    .into_iter()
                    .filter(|r| {
                        want.contains(&norm_name(&r.expected))
                            || r.ndpi.split('.').any(|n| want.contains(&norm_name(n)))
                    })
                    .collect(),
                ..report
            }
        }
        None => report,
    };
    print!("{}", report.render(show));
    println!(
        "breadth over the whole corpus: {} of {} = {:.2}%",
        total.0, total.1, total.2
    );
}
