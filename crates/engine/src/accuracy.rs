//! The accuracy harness: classify every capture of nDPI's regression corpus
//! and compare with nDPI's verdicts (`truth.tsv`).
//!
//! Flows are matched by L4 protocol plus unordered endpoints. Only truth
//! rows with `status` = `dpi` count. Two modes ([`Scope`]):
//! * registered (the default): only rows where nDPI's `master_proto` or
//!   `app_proto` is a protocol netsift registers (or one of a given list);
//!   a flow agrees when netsift's protocol is nDPI's master or app protocol.
//! * breadth: every row nDPI identified by DPI, whatever its protocol, so
//!   protocols netsift does not know count as misses. Names are compared
//!   ignoring case and punctuation, and netsift's app counts as well as its
//!   protocol (nDPI's `TLS.Discord` agrees with netsift's `TLS/Discord`).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use netsift_flow::{l4_name, Flow};
use netsift_protocols::ALL;

use crate::classify::{ClassState, Classifier, ClassifyConfig};
use crate::pipeline::{FlowHandler, PipelineConfig};
use crate::run::run_capture;

/// A flow as nDPI's truth names it: L4 plus unordered endpoints.
pub(crate) type Key = (String, (IpAddr, u16), (IpAddr, u16));

/// Parse an address as nDPI prints it.
///
/// nDPI's IPv6 printer has a bug: it writes a single zero group as `::`
/// even when it already compressed a longer run, giving invalid text such
/// as `2600:1901::7a0b::` (stun.pcap, pinterest.pcap) for
/// `2600:1901:0:7a0b::`. Where a text has two `::`, ends with one, and
/// reading the first as one zero group gives a valid address, that is what
/// nDPI meant. Other unparsable text (`302e::3d00::8001`, ambiguous) is None.
pub fn parse_ndpi_ip(text: &str) -> Option<IpAddr> {
    if let Ok(a) = text.parse::<IpAddr>() {
        return Some(a);
    }
    if text.matches("::").count() == 2 && text.ends_with("::") {
        return text.replacen("::", ":0:", 1).parse().ok();
    }
    None
}

pub(crate) fn key(l4: &str, a: (IpAddr, u16), b: (IpAddr, u16)) -> Key {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    (l4.to_string(), lo, hi)
}

/// One row of an nDPI-style truth file that nDPI decided by DPI
/// (`status` = `dpi`), borrowed from the file's text.
#[derive(Debug, Clone)]
pub(crate) struct TruthRow<'a> {
    pub pcap: &'a str,
    /// The flow's key, None where nDPI printed an address it cannot mean.
    pub key: Option<Key>,
    /// The flow as nDPI lists it: `L4 a:port -> b:port`.
    pub flow: String,
    pub master: &'a str,
    pub app: &'a str,
}

/// The `dpi` rows of a truth file's text (columns found by name in the
/// header; short rows skipped). `what` names the file in errors.
pub(crate) fn truth_rows<'a>(text: &'a str, what: &str) -> std::io::Result<Vec<TruthRow<'a>>> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    let col = |n: &str| {
        header.iter().position(|h| *h == n).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{what} lacks column {n}"),
            )
        })
    };
    let c = [
        col("pcap")?,
        col("l4")?,
        col("src_ip")?,
        col("src_port")?,
        col("dst_ip")?,
        col("dst_port")?,
        col("master_proto")?,
        col("app_proto")?,
        col("status")?,
    ];
    let mut rows = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < header.len() || f[c[8]] != "dpi" {
            continue;
        }
        let ip = |i: usize| parse_ndpi_ip(f[i]);
        let port = |i: usize| f[i].parse::<u16>().unwrap_or(0);
        let key = match (ip(c[2]), ip(c[4])) {
            (Some(a), Some(b)) => Some(key(f[c[1]], (a, port(c[3])), (b, port(c[5])))),
            _ => None,
        };
        rows.push(TruthRow {
            pcap: f[c[0]],
            key,
            flow: format!(
                "{} {}:{} -> {}:{}",
                f[c[1]], f[c[2]], f[c[3]], f[c[4]], f[c[5]]
            ),
            master: f[c[6]],
            app: f[c[7]],
        });
    }
    Ok(rows)
}

/// One counted truth row and what netsift said.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub pcap: String,
    /// The flow as nDPI lists it: `L4 a:port -> b:port`.
    pub flow: String,
    /// nDPI's label among the registered protocols (master if registered,
    /// else app).
    pub expected: String,
    pub ndpi: String,
    /// netsift's protocol, or `(no flow)` when the flow was not found.
    pub got: String,
    pub agree: bool,
}

/// Per-protocol counts.
#[derive(Debug, Clone, Default)]
pub struct ProtoScore {
    pub total: usize,
    pub agree: usize,
}

/// The harness's result.
#[derive(Debug, Clone, Default)]
pub struct AccuracyReport {
    pub rows: Vec<Comparison>,
    pub captures: usize,
    pub failed_captures: Vec<String>,
}

impl AccuracyReport {
    pub fn total(&self) -> usize {
        self.rows.len()
    }

    pub fn agreed(&self) -> usize {
        self.rows.iter().filter(|r| r.agree).count()
    }

    /// Agreement in percent.
    pub fn percent(&self) -> f64 {
        if self.rows.is_empty() {
            return 100.0;
        }
        100.0 * self.agreed() as f64 / self.total() as f64
    }

    pub fn per_protocol(&self) -> BTreeMap<String, ProtoScore> {
        let mut m: BTreeMap<String, ProtoScore> = BTreeMap::new();
        for r in &self.rows {
            let s = m.entry(r.expected.clone()).or_default();
            s.total += 1;
            s.agree += usize::from(r.agree);
        }
        m
    }

    /// Most common (expected, got) disagreements.
    pub fn confusions(&self) -> Vec<((String, String), usize)> {
        let mut m: HashMap<(String, String), usize> = HashMap::new();
        for r in self.rows.iter().filter(|r| !r.agree) {
            *m.entry((r.expected.clone(), r.got.clone())).or_default() += 1;
        }
        let mut v: Vec<_> = m.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }

    /// The human-readable report.
    pub fn render(&self, max_rows: usize) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "{:<26} {:>7} {:>7} {:>8}\n",
            "protocol", "flows", "agree", "percent"
        ));
        for (p, sc) in self.per_protocol() {
            s.push_str(&format!(
                "{:<26} {:>7} {:>7} {:>7.1}%\n",
                p,
                sc.total,
                sc.agree,
                100.0 * sc.agree as f64 / sc.total.max(1) as f64
            ));
        }
        s.push_str(&format!(
            "{:<26} {:>7} {:>7} {:>7.2}%\n",
            "TOTAL",
            self.total(),
            self.agreed(),
            self.percent()
        ));
        let conf = self.confusions();
        if !conf.is_empty() {
            s.push_str("\nmost common confusions (nDPI -> netsift):\n");
            for ((e, g), n) in conf.iter().take(max_rows) {
                s.push_str(&format!("  {n:>4}  {e} -> {g}\n"));
            }
            s.push_str("\ndisagreeing flows:\n");
            for r in self.rows.iter().filter(|r| !r.agree).take(max_rows) {
                s.push_str(&format!(
                    "  {} {}: nDPI {} -> netsift {}\n",
                    r.pcap, r.flow, r.ndpi, r.got
                ));
            }
        }
        if !self.failed_captures.is_empty() {
            s.push_str(&format!(
                "\ncaptures that failed to read: {}\n",
                self.failed_captures.join(", ")
            ));
        }
        s
    }
}

/// Which truth rows count, and how names compare.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// Rows whose nDPI label is one of these (every registered protocol
    /// when `None`); exact names.
    Registered(Option<&'a [&'a str]>),
    /// Every row nDPI identified by DPI; names compared ignoring case and
    /// punctuation, netsift's app included.
    Breadth,
}

/// A protocol name reduced for breadth comparison (the classifier's
/// nDPI layer maps names the same way).
pub use crate::classify::norm_name;

/// netsift's verdict of one flow: protocol and app.
type Got = (&'static str, Option<String>);

struct Collect {
    classifier: Classifier,
    flows: HashMap<Key, Got>,
}

impl FlowHandler<ClassState> for Collect {
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
        let k = key(&l4_name(flow.key.proto), (o.addr, o.port), (r.addr, r.port));
        let got: Got = flow
            .data
            .verdict
            .as_ref()
            .map_or(("Unknown", None), |v| (v.protocol, v.app.clone()));
        // nDPI lists SCTP flows without ports (sctp.cap: `SCTP a:0 -> b:0`);
        // netsift keys them by port, so SCTP is also recorded port-less.
        if flow.key.proto == 132 {
            let k0 = key(&l4_name(132), (o.addr, 0), (r.addr, 0));
            self.record(k0, got.clone());
        }
        self.record(k, got);
    }
}

impl Collect {
    /// A key split into several records keeps its first real verdict.
    fn record(&mut self, k: Key, got: Got) {
        let e = self.flows.entry(k).or_insert_with(|| got.clone());
        if e.0 == "Unknown" {
            *e = got;
        }
    }
}

/// The 30 core protocols of the identification engine (issue 3's set).
pub const CORE_PROTOCOLS: &[&str] = netsift_protocols::CORE;

/// Run the harness over `corpus` (a directory with `pcap/` and `truth.tsv`),
/// counting the rows `scope` selects.
pub fn run_accuracy(
    corpus: &Path,
    pipeline: PipelineConfig,
    classify: &ClassifyConfig,
    scope: Scope<'_>,
) -> std::io::Result<AccuracyReport> {
    let truth = std::fs::read_to_string(corpus.join("truth.tsv"))?;
    let breadth = matches!(scope, Scope::Breadth);
    let registered: Vec<&str> = match scope {
        Scope::Registered(Some(list)) => list.to_vec(),
        Scope::Registered(None) | Scope::Breadth => ALL.iter().map(|p| p.name()).collect(),
    };
    let known: std::collections::HashSet<String> =
        registered.iter().map(|n| norm_name(n)).collect();
    // pcap -> rows (key, flow, master, app)
    type Row = (Option<Key>, String, String, String);
    let mut want: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for r in truth_rows(&truth, "truth.tsv")? {
        if !breadth && !registered.contains(&r.master) && !registered.contains(&r.app) {
            continue;
        }
        want.entry(r.pcap.to_string()).or_default().push((
            r.key,
            r.flow,
            r.master.to_string(),
            r.app.to_string(),
        ));
    }
    let mut report = AccuracyReport::default();
    for (pcap, rows) in want {
        let path: PathBuf = corpus.join("pcap").join(&pcap);
        let mut h = Collect {
            classifier: Classifier::new(classify).map_err(|e| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string())
            })?,
            flows: HashMap::new(),
        };
        report.captures += 1;
        if run_capture::<ClassState, _>(&path, pipeline, &mut h, &mut |_| {}).is_err() {
            report.failed_captures.push(pcap.clone());
        }
        for (k, flow, master, app) in rows {
            let (got, got_app) = k
                .and_then(|k| h.flows.get(&k).cloned())
                .unwrap_or(("(no flow)", None));
            let (expected, agree) = if breadth {
                // The label a reader looks for: the first of master/app that
                // netsift registers, else nDPI's most specific name.
                let want = [norm_name(&master), norm_name(&app)];
                let expected = if known.contains(&want[0]) {
                    master.clone()
                } else if known.contains(&want[1]) || master == "Unknown" {
                    app.clone()
                } else {
                    master.clone()
                };
                let mut names = vec![norm_name(got)];
                names.extend(got_app.as_deref().map(norm_name));
                (expected, names.iter().any(|n| want.contains(n)))
            } else {
                let expected = if registered.contains(&master.as_str()) {
                    master.clone()
                } else {
                    app.clone()
                };
                (expected, got == master || got == app)
            };
            report.rows.push(Comparison {
                pcap: pcap.clone(),
                flow,
                agree,
                ndpi: if master == app {
                    master.clone()
                } else {
                    format!("{master}.{app}")
                },
                expected,
                got: got.to_string(),
            });
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::{norm_name, parse_ndpi_ip};

    #[test]
    fn breadth_names_ignore_case_and_punctuation() {
        assert_eq!(
            norm_name("Service_Location_Protocol"),
            "servicelocationprotocol"
        );
        assert_eq!(norm_name("IPsec"), norm_name("IPSec"));
        assert_eq!(norm_name("MsSQL-TDS"), "mssqltds");
        assert_ne!(norm_name("SMBv1"), norm_name("SMBv23"));
    }

    #[test]
    fn ndpi_ipv6_text_repair() {
        assert_eq!(
            parse_ndpi_ip("2600:1901::7a0b::"),
            "2600:1901:0:7a0b::".parse().ok()
        );
        assert_eq!(parse_ndpi_ip("10.0.0.1"), "10.0.0.1".parse().ok());
        assert_eq!(parse_ndpi_ip("302e::3d00::8001"), None);
    }
}
