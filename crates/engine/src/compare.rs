//! `netsift compare`: netsift's own layers and nDPI side by side on every
//! flow of a capture (cargo feature `ndpi`).
//!
//! One flow table feeds two classifiers: netsift's (the configured layers,
//! by default `flow,dpi,port`) and one made of the `ndpi` layer alone, so
//! both see the same packets in the same order with the same packet times.
//! Every flow gets both verdicts and an [`Agreement`]; for netsift's DPI
//! verdicts the packet that decided is kept (its first bytes), so a reader
//! sees why netsift said what it said.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use netsift_flow::{l4_name, Flow, Seen};
use netsift_proto::Direction;
use netsift_wire::Decoded;
use serde::Serialize;

use crate::accuracy::norm_name;
use crate::classify::{
    flow_facts, ndpi, packet_view, ClassState, Classifier, ClassifyConfig, Confidence,
    UnknownLayer, Verdict,
};
use crate::pipeline::{FlowHandler, PipelineConfig};
use crate::run::{run_capture, EngineError};

/// Bytes of a payload kept to show what decided.
const SHOWN_BYTES: usize = 48;

/// How the two verdicts of a flow relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Agreement {
    /// They name the same protocol or application (names compared ignoring
    /// case and punctuation; `TLS/Google` agrees with nDPI's `TLS.Google`
    /// and with its `Google`).
    Agree,
    /// Both name something, and nothing in common.
    Differ,
    /// Only netsift names the flow.
    NetsiftOnly,
    /// Only nDPI names the flow.
    NdpiOnly,
    /// Neither does.
    BothUnknown,
}

/// A payload as shown in the report: which side sent it, its number among
/// that side's payload packets (0 = first), and its first bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shown {
    pub from: &'static str,
    pub index: u32,
    pub len: usize,
    #[serde(serialize_with = "hex_ser")]
    pub bytes: Vec<u8>,
}

fn hex_ser<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex(b))
}

use netsift_proto::bytes::hex;

/// One flow, both verdicts.
#[derive(Debug, Clone, Serialize)]
pub struct CompareRow {
    pub capture: String,
    pub uid: String,
    pub l4: String,
    pub src: String,
    pub dst: String,
    pub netsift: Verdict,
    pub ndpi: Verdict,
    pub agreement: Agreement,
    /// The packet whose bytes gave netsift's DPI verdict.
    pub decided_by: Option<Shown>,
    /// The first payload of each side, when no DPI verdict points at one.
    pub first_payloads: Vec<Shown>,
}

/// Per-flow state: both classifiers' and what the report shows.
#[derive(Debug, Default)]
pub struct CompareState {
    ours: ClassState,
    theirs: ClassState,
    payloads: [u32; 2],
    decided_by: Option<Shown>,
    first: [Option<Shown>; 2],
}

struct Both<'a> {
    capture: &'a str,
    ours: Classifier,
    theirs: Classifier,
    rows: Vec<CompareRow>,
}

fn side(d: Direction) -> (usize, &'static str) {
    match d {
        Direction::ToServer => (0, "client"),
        Direction::ToClient => (1, "server"),
    }
}

impl FlowHandler<CompareState> for Both<'_> {
    fn on_packet(&mut self, flow: &mut Flow<CompareState>, seen: Seen, pkt: &Decoded<'_>) {
        let Some(view) = packet_view(flow, seen, pkt) else {
            return;
        };
        let st = &mut flow.data;
        let shown = if view.payload.is_empty() {
            None
        } else {
            let (i, from) = side(view.dir);
            let index = st.payloads[i];
            st.payloads[i] += 1;
            Some(Shown {
                from,
                index,
                len: view.payload.len(),
                bytes: view.payload[..view.payload.len().min(SHOWN_BYTES)].to_vec(),
            })
        };
        if let Some(s) = &shown {
            let (i, _) = side(view.dir);
            if st.first[i].is_none() {
                st.first[i] = Some(s.clone());
            }
        }
        let had = st.ours.verdict.is_some();
        self.ours.offer(&mut st.ours, &view);
        if !had && st.ours.verdict.as_ref().is_some_and(|v| v.source == "dpi") {
            st.decided_by = shown;
        }
        self.theirs.offer(&mut st.theirs, &view);
    }

    fn on_flow_end(&mut self, mut flow: Flow<CompareState>) {
        let facts = flow_facts(&flow);
        self.ours.finish(&mut flow.data.ours, &facts);
        self.theirs.finish(&mut flow.data.theirs, &facts);
        let l4 = l4_name(flow.key.proto).to_string();
        let (o, r) = (flow.orig(), flow.resp());
        let st = flow.data;
        let ours = st
            .ours
            .verdict
            .as_deref()
            .cloned()
            .unwrap_or_else(Verdict::unknown);
        let theirs = st
            .theirs
            .verdict
            .as_deref()
            .cloned()
            .unwrap_or_else(Verdict::unknown);
        let agreement = agreement(&ours, &theirs);
        let first_payloads = if st.decided_by.is_some() {
            Vec::new()
        } else {
            st.first.into_iter().flatten().collect()
        };
        self.rows.push(CompareRow {
            capture: self.capture.to_string(),
            uid: flow.uid.to_string(),
            src: endpoint(o.addr, o.port, &l4),
            dst: endpoint(r.addr, r.port, &l4),
            l4,
            netsift: ours,
            ndpi: theirs,
            agreement,
            decided_by: st.decided_by,
            first_payloads,
        });
    }
}

fn endpoint(a: IpAddr, port: u16, l4: &str) -> String {
    match (a, matches!(l4, "TCP" | "UDP" | "SCTP")) {
        (_, false) => a.to_string(),
        (IpAddr::V6(a), true) => format!("[{a}]:{port}"),
        (IpAddr::V4(a), true) => format!("{a}:{port}"),
    }
}

fn names(v: &Verdict) -> Vec<String> {
    let mut n = vec![norm_name(v.protocol)];
    n.extend(v.app.as_deref().map(norm_name));
    n.retain(|s| !s.is_empty() && s != "unknown");
    n
}

/// How two verdicts relate.
pub fn agreement(ours: &Verdict, theirs: &Verdict) -> Agreement {
    let (a, b) = (names(ours), names(theirs));
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Agreement::BothUnknown,
        (false, true) => Agreement::NetsiftOnly,
        (true, false) => Agreement::NdpiOnly,
        (false, false) if a.iter().any(|n| b.contains(n)) => Agreement::Agree,
        (false, false) => Agreement::Differ,
    }
}

/// Compare over one capture.
pub fn compare_capture(
    path: &Path,
    pipeline: PipelineConfig,
    ours: &ClassifyConfig,
) -> Result<Vec<CompareRow>, CompareError> {
    let theirs = ClassifyConfig {
        layers: vec!["ndpi".into()],
        ..ours.clone()
    };
    let mut h = Both {
        capture: &path.display().to_string(),
        ours: Classifier::new(ours)?,
        theirs: Classifier::new(&theirs)?,
        rows: Vec::new(),
    };
    run_capture::<CompareState, _>(path, pipeline, &mut h, &mut |_| {})?;
    Ok(h.rows)
}

/// Why a comparison could not run.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error(transparent)]
    Layers(#[from] UnknownLayer),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// Per-protocol counts of a comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub flows: usize,
    pub agree: usize,
    pub differ: usize,
    pub netsift_only: usize,
    pub ndpi_only: usize,
}

impl Tally {
    fn add(&mut self, a: Agreement) {
        self.flows += 1;
        match a {
            Agreement::Agree => self.agree += 1,
            Agreement::Differ => self.differ += 1,
            Agreement::NetsiftOnly => self.netsift_only += 1,
            Agreement::NdpiOnly => self.ndpi_only += 1,
            Agreement::BothUnknown => {}
        }
    }

    pub fn percent(&self) -> f64 {
        100.0 * self.agree as f64 / self.flows.max(1) as f64
    }
}

/// The agreement table: one row per protocol (nDPI's name where nDPI named
/// the flow, else netsift's), then the total; flows neither names are only
/// counted.
pub fn tally(rows: &[CompareRow]) -> (BTreeMap<String, Tally>, Tally, usize) {
    let mut per: BTreeMap<String, Tally> = BTreeMap::new();
    let mut total = Tally::default();
    let mut unknown = 0;
    for r in rows {
        if r.agreement == Agreement::BothUnknown {
            unknown += 1;
            continue;
        }
        let label = if r.ndpi.protocol != "Unknown" {
            r.ndpi.protocol
        } else {
            r.netsift.protocol
        };
        per.entry(label.to_string()).or_default().add(r.agreement);
        total.add(r.agreement);
    }
    (per, total, unknown)
}

fn verdict_cell(v: &Verdict) -> String {
    let mut s = v.protocol.to_string();
    if let Some(app) = &v.app {
        s.push('/');
        s.push_str(app);
    }
    format!("{s} ({})", v.confidence.as_str())
}

fn dump(s: &Shown) -> String {
    let ascii: String = s
        .bytes
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    let mut hexs = String::new();
    for (i, b) in s.bytes.iter().enumerate() {
        if i > 0 {
            hexs.push(' ');
        }
        hexs.push_str(&format!("{b:02x}"));
    }
    let more = if s.len > s.bytes.len() {
        format!(" ... ({} bytes)", s.len)
    } else {
        String::new()
    };
    format!(
        "{} payload #{}: {hexs}{more}\n              |{ascii}|",
        s.from, s.index
    )
}

/// The human-readable report: the table, then up to `show` disagreements
/// (differing verdicts first, then flows only one side names).
pub fn render(rows: &[CompareRow], show: usize) -> String {
    let (per, total, unknown) = tally(rows);
    let mut s = format!(
        "{:<24} {:>6} {:>6} {:>6} {:>8} {:>6} {:>7}\n",
        "protocol", "flows", "agree", "differ", "netsift", "nDPI", "agree%"
    );
    let line = |name: &str, t: &Tally| {
        format!(
            "{:<24} {:>6} {:>6} {:>6} {:>8} {:>6} {:>6.1}%\n",
            name,
            t.flows,
            t.agree,
            t.differ,
            t.netsift_only,
            t.ndpi_only,
            t.percent()
        )
    };
    for (p, t) in &per {
        s.push_str(&line(p, t));
    }
    s.push_str(&line("TOTAL", &total));
    s.push_str(&format!(
        "(netsift / nDPI: flows only that side names; {unknown} flows neither names)\n"
    ));
    let mut bad: Vec<&CompareRow> = rows
        .iter()
        .filter(|r| !matches!(r.agreement, Agreement::Agree | Agreement::BothUnknown))
        .collect();
    // Differing verdicts first, and among each kind the flows where both
    // sides looked at bytes before those where one only guessed.
    let guessed = |r: &CompareRow| {
        r.netsift.confidence == Confidence::Port || r.ndpi.confidence == Confidence::Port
    };
    bad.sort_by_key(|r| (r.agreement, guessed(r)));
    if !bad.is_empty() {
        s.push_str(&format!(
            "\ndisagreements ({} of {}):\n",
            bad.len().min(show),
            bad.len()
        ));
    }
    for r in bad.into_iter().take(show) {
        s.push_str(&format!(
            "\n{} {} {} {} -> {} [{}]\n",
            r.capture,
            r.uid,
            r.l4,
            r.src,
            r.dst,
            serde_json::to_value(r.agreement)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        ));
        s.push_str(&format!(
            "  netsift   {}  {}\n",
            verdict_cell(&r.netsift),
            r.netsift.evidence
        ));
        s.push_str(&format!(
            "  nDPI      {}  {}\n",
            verdict_cell(&r.ndpi),
            r.ndpi.evidence
        ));
        match &r.decided_by {
            Some(d) => s.push_str(&format!("  decided   {}\n", dump(d))),
            None => {
                for f in &r.first_payloads {
                    s.push_str(&format!("  first     {}\n", dump(f)));
                }
            }
        }
    }
    s
}

/// nDPI flow structures alive now (0 once every flow has ended).
pub fn ndpi_live_flows() -> usize {
    ndpi::live_flows()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(protocol: &'static str, app: Option<&str>) -> Verdict {
        Verdict {
            protocol,
            app: app.map(str::to_string),
            confidence: Confidence::Dpi,
            source: "dpi",
            evidence: "".into(),
        }
    }

    #[test]
    fn agreement_by_name_or_app() {
        let u = Verdict::unknown();
        assert_eq!(
            agreement(&v("TLS", Some("Google")), &v("Google", None)),
            Agreement::Agree
        );
        assert_eq!(
            agreement(&v("IPsec", None), &v("IPSec", None)),
            Agreement::Agree
        );
        assert_eq!(
            agreement(&v("STUN", None), &v("DTLS", Some("Zoom"))),
            Agreement::Differ
        );
        assert_eq!(agreement(&v("DNS", None), &u), Agreement::NetsiftOnly);
        assert_eq!(agreement(&u, &v("DNS", None)), Agreement::NdpiOnly);
        assert_eq!(agreement(&u, &u), Agreement::BothUnknown);
    }
}
