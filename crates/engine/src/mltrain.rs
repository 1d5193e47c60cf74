//! Training data for the `ml` layer (`netsift train`): every flow of some
//! captures with its features (the first packets, as the layer sees them),
//! what the layers before `ml` said, and a label:
//! * [`Labels::Truth`]: nDPI-style rows (`truth.tsv` of the shared corpus):
//!   flows nDPI identified by DPI (`status` = `dpi`), labelled with nDPI's
//!   master protocol (its app protocol when the master is Unknown), in
//!   netsift's spelling where netsift registers the protocol;
//! * [`Labels::SelfDpi`]: the DPI layer's own `dpi` verdicts.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use netsift_flow::{l4_name, Flow, Seen};
use netsift_ml::train::norm;
use netsift_ml::{Collector, PacketInfo, Sample};
use netsift_proto::Direction;
use netsift_wire::Decoded;

use crate::accuracy::{key, truth_rows, Key};
use crate::classify::{
    flow_facts, packet_view, ClassState, Classifier, ClassifyConfig, Confidence,
};
use crate::pipeline::{FlowHandler, PipelineConfig};
use crate::run::run_capture;

/// Where labels come from.
#[derive(Debug, Clone)]
pub enum Labels {
    /// An nDPI-style truth file.
    Truth(PathBuf),
    /// The DPI layer's own `dpi` verdicts.
    SelfDpi,
}

/// nDPI's verdict of one flow: master and app protocol.
type Truth = HashMap<String, HashMap<Key, (String, String)>>;

/// Read nDPI-style rows: capture file name -> flow -> (master, app), for
/// rows with `status` = `dpi`.
pub fn read_truth(path: &Path) -> io::Result<Truth> {
    let text = std::fs::read_to_string(path)?;
    let mut t: Truth = HashMap::new();
    for r in truth_rows(&text, &path.display().to_string())? {
        let Some(k) = r.key else { continue };
        t.entry(r.pcap.to_string())
            .or_default()
            .insert(k, (r.master.to_string(), r.app.to_string()));
    }
    Ok(t)
}

/// A protocol name in netsift's spelling when netsift registers it.
pub fn spelled(name: &str) -> String {
    let n = norm(name);
    netsift_protocols::ALL
        .iter()
        .find(|p| norm(p.name()) == n)
        .map_or_else(|| name.to_string(), |p| p.name().to_string())
}

/// Per-flow state while gathering.
#[derive(Debug, Default)]
pub struct TrainFlow {
    cls: ClassState,
    feat: Option<Box<Collector>>,
}

struct Gather<'a> {
    classifier: Classifier,
    packets: u16,
    group: String,
    truth: Option<&'a HashMap<Key, (String, String)>>,
    out: &'a mut Vec<Sample>,
    /// Truth rows already met: their sample and its flow's start.
    keyed: HashMap<Key, (usize, u64)>,
}

impl FlowHandler<TrainFlow> for Gather<'_> {
    fn on_packet(&mut self, flow: &mut Flow<TrainFlow>, seen: Seen, pkt: &Decoded<'_>) {
        let Some(view) = packet_view(flow, seen, pkt) else {
            return;
        };
        self.classifier.offer(&mut flow.data.cls, &view);
        let proto = flow.key.proto;
        let packets = self.packets;
        let ports = (view.client.1, view.server.1);
        flow.data
            .feat
            .get_or_insert_with(|| Box::new(Collector::new(packets, proto, ports)))
            .push(&PacketInfo {
                ts_ns: view.ts_ns,
                to_server: view.dir == Direction::ToServer,
                payload: view.payload,
                tcp_flags: view.tcp.map(|t| t.1),
            });
    }

    fn on_flow_end(&mut self, mut flow: Flow<TrainFlow>) {
        let facts = flow_facts(&flow);
        self.classifier.finish(&mut flow.data.cls, &facts);
        let Some(c) = flow.data.feat.take() else {
            return;
        };
        let verdict = flow.data.cls.verdict.as_ref();
        let dpi_unknown = verdict.is_none_or(|v| v.protocol == "Unknown");
        let mut row_key = None;
        let (label, accept) = match self.truth {
            Some(t) => {
                let (o, r) = (flow.orig(), flow.resp());
                let l4 = l4_name(flow.key.proto);
                let mut k = key(&l4, (o.addr, o.port), (r.addr, r.port));
                let mut row = t.get(&k);
                // nDPI lists SCTP flows without ports.
                if row.is_none() && flow.key.proto == 132 {
                    k = key(&l4, (o.addr, 0), (r.addr, 0));
                    row = t.get(&k);
                }
                match row {
                    Some((master, app)) => {
                        row_key = Some(k);
                        let label = if master != "Unknown" { master } else { app };
                        let accept = [master, app]
                            .iter()
                            .map(|n| norm(n))
                            .filter(|n| n != "unknown" && !n.is_empty())
                            .collect();
                        (Some(spelled(label)), accept)
                    }
                    None => (None, Vec::new()),
                }
            }
            None => match verdict {
                Some(v) if v.confidence == Confidence::Dpi && v.protocol != "Unknown" => {
                    (Some(v.protocol.to_string()), vec![norm(v.protocol)])
                }
                _ => (None, Vec::new()),
            },
        };
        let sample = Sample {
            group: self.group.clone(),
            x: c.features(),
            label,
            accept,
            dpi_unknown,
        };
        // One truth row, one sample, as in `netsift accuracy`: nDPI lists
        // a connection once where netsift may split it (idle or active
        // timeout). The row keeps the features of the flow that started
        // first, and counts as left Unknown only if every part was.
        if let Some(k) = row_key {
            if let Some(&(i, start)) = self.keyed.get(&k) {
                let unknown = self.out[i].dpi_unknown && sample.dpi_unknown;
                if flow.first_ts < start {
                    self.out[i] = sample;
                    self.keyed.insert(k, (i, flow.first_ts));
                }
                self.out[i].dpi_unknown = unknown;
                return;
            }
            self.keyed.insert(k, (self.out.len(), flow.first_ts));
        }
        self.out.push(sample);
    }
}

/// What [`gather`] read.
#[derive(Debug, Default)]
pub struct Gathered {
    pub samples: Vec<Sample>,
    /// Captures that failed to read (the message names the file).
    pub failed: Vec<String>,
    /// Captures with no rows in the truth file.
    pub without_truth: Vec<String>,
}

/// Every flow of `captures`, with features over its first `packets`
/// packets and a label. `classify` gives the layers whose verdicts decide
/// "the DPI layer leaves it Unknown" (and, for [`Labels::SelfDpi`], the
/// labels): normally `flow,dpi`.
pub fn gather(
    captures: &[PathBuf],
    labels: &Labels,
    packets: u16,
    pipeline: PipelineConfig,
    classify: &ClassifyConfig,
) -> io::Result<Gathered> {
    let truth =
        match labels {
            Labels::Truth(p) => Some(read_truth(p).map_err(|e| {
                io::Error::new(e.kind(), format!("truth file {}: {e}", p.display()))
            })?),
            Labels::SelfDpi => None,
        };
    let empty = HashMap::new();
    let mut g = Gathered::default();
    for path in captures {
        let group = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let rows = match &truth {
            Some(t) => match t.get(&group) {
                Some(r) => Some(r),
                None => {
                    g.without_truth.push(group.clone());
                    Some(&empty)
                }
            },
            None => None,
        };
        let mut h = Gather {
            classifier: Classifier::new(classify)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?,
            packets,
            group,
            truth: rows,
            out: &mut g.samples,
            keyed: HashMap::new(),
        };
        if let Err(e) = run_capture::<TrainFlow, _>(path, pipeline, &mut h, &mut |_| {}) {
            g.failed.push(e.to_string());
        }
    }
    Ok(g)
}
