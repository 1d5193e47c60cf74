//! Layered protocol classification (the go-dpi design, done properly).
//!
//! A [`Classifier`] holds an ordered list of [`Layer`]s. Every packet of a
//! flow that has no verdict yet is offered to the layers in order; the
//! first layer that answers with a [`Verdict`] decides. When a flow ends
//! without a verdict, each layer gets one last chance ([`Layer::on_end`]):
//! that is where the port guess lives, always last and always labelled
//! `confidence: port`.
//!
//! Layers shipped now:
//! * `flow`: verdicts inferred from another flow (an FTP data connection
//!   announced by PASV/EPSV/PORT/EPRT on its control connection).
//! * `dpi`: the protocol probes of [`netsift_protocols::ALL`] over the first
//!   payload bytes of each direction.
//! * `port`: the last-resort guess from the responder's port.
//!
//! Later layers (a statistical model, an nDPI wrapper) implement the same
//! trait and slot in by name.

mod dpi;
mod expect;
mod port;

use std::net::IpAddr;

use netsift_flow::{Dir, Flow, Seen};
use netsift_proto::{Direction, Transport};
use netsift_wire::{Decoded, Transport as WireTransport};
use serde::Serialize;

pub use dpi::{DpiConfig, DpiLayer};
pub use expect::FlowLayer;
pub use port::PortLayer;

/// How a verdict was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// The flow's own bytes matched a protocol's structure.
    Dpi,
    /// Inferred from another flow (e.g. announced by a control connection).
    Flow,
    /// A statistical model.
    Ml,
    /// A guess from the port alone.
    Port,
    /// Nothing matched.
    None,
}

/// A classification result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Protocol name, nDPI's spelling (`HTTP`, `TLS`, `SMBv23`, ...), or `Unknown`.
    pub protocol: &'static str,
    /// A more specific application, when known.
    pub app: Option<String>,
    pub confidence: Confidence,
    /// The layer (or module) that decided.
    pub source: &'static str,
    /// A short human-readable reason.
    pub evidence: String,
}

impl Verdict {
    /// The verdict of a flow nothing matched.
    pub fn unknown() -> Verdict {
        Verdict {
            protocol: "Unknown",
            app: None,
            confidence: Confidence::None,
            source: "none",
            evidence: String::new(),
        }
    }
}

/// What a layer sees of a packet.
#[derive(Debug, Clone, Copy)]
pub struct PacketView<'a> {
    pub ts_ns: u64,
    pub dir: Direction,
    pub transport: Transport,
    /// Transport payload (for ICMP/ICMPv6: type, code, then zeros).
    pub payload: &'a [u8],
    /// TCP sequence number and flags, when TCP.
    pub tcp: Option<(u32, u8)>,
    pub client: (IpAddr, u16),
    pub server: (IpAddr, u16),
    /// This packet created its flow.
    pub new_flow: bool,
    pub uid: netsift_flow::Uid,
}

/// Per-flow classification state; the flow table's per-flow data.
#[derive(Debug, Default)]
pub struct ClassState {
    pub verdict: Option<Verdict>,
    /// Set when the flow has a verdict or every layer gave up on per-packet
    /// work for it.
    pub settled: bool,
    /// Some layer watches packets of this flow's protocol after the verdict
    /// (control connections announcing others).
    pub(crate) watched: bool,
    pub(crate) dpi: dpi::DpiState,
    /// Application-data state, used by `netsift analyze` only.
    pub(crate) app: Option<Box<crate::analyze::AppState>>,
}

/// A layer's answer for one packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerAnswer {
    Verdict(Verdict),
    /// Not decided yet; call again with the next packet.
    Pending,
    /// This layer will not decide this flow from packets.
    Done,
}

/// A classification layer.
pub trait Layer: Send {
    /// The layer's name (used by `--layers` and in `source`).
    fn name(&self) -> &'static str;

    /// Look at a packet of a flow that has no verdict yet.
    fn on_packet(&mut self, st: &mut ClassState, pkt: &PacketView<'_>) -> LayerAnswer;

    /// Look at a packet of a flow that already has a verdict (control
    /// connections announcing other flows). Only called when
    /// [`Layer::watches`] returns true for the verdict's protocol.
    fn on_classified_packet(&mut self, _verdict: &Verdict, _pkt: &PacketView<'_>) {}

    /// Whether [`Layer::on_classified_packet`] wants packets of flows
    /// classified as `protocol`.
    fn watches(&self, _protocol: &str) -> bool {
        false
    }

    /// Last chance when a flow ends without a verdict.
    fn on_end(&mut self, _st: &ClassState, _flow: &FlowFacts) -> Option<Verdict> {
        None
    }
}

/// What `on_end` knows about a flow.
#[derive(Debug, Clone, Copy)]
pub struct FlowFacts {
    pub transport: Transport,
    pub client: (IpAddr, u16),
    pub server: (IpAddr, u16),
    pub payload_bytes: [u64; 2],
}

/// Names of the layers that exist, in default order.
pub const LAYER_NAMES: &[&str] = &["flow", "dpi", "port"];

/// Classifier settings.
#[derive(Debug, Clone)]
pub struct ClassifyConfig {
    /// Layers, in order, by name (see [`LAYER_NAMES`]).
    pub layers: Vec<String>,
    pub dpi: DpiConfig,
}

impl Default for ClassifyConfig {
    fn default() -> Self {
        ClassifyConfig {
            layers: LAYER_NAMES.iter().map(|s| s.to_string()).collect(),
            dpi: DpiConfig::default(),
        }
    }
}

/// Unknown layer name in a configuration.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown classification layer '{0}' (known: flow, dpi, port)")]
pub struct UnknownLayer(pub String);

/// The layered classifier. Holds cross-flow state (expected connections),
/// so use one per flow-table shard.
pub struct Classifier {
    layers: Vec<Box<dyn Layer>>,
}

impl Classifier {
    pub fn new(cfg: &ClassifyConfig) -> Result<Classifier, UnknownLayer> {
        let mut layers: Vec<Box<dyn Layer>> = Vec::new();
        for name in &cfg.layers {
            layers.push(match name.as_str() {
                "flow" => Box::new(FlowLayer::default()),
                "dpi" => Box::new(DpiLayer::new(cfg.dpi)),
                "port" => Box::new(PortLayer),
                other => return Err(UnknownLayer(other.to_string())),
            });
        }
        Ok(Classifier { layers })
    }

    /// Add a layer at the end (before nothing: callers order as they wish).
    pub fn push_layer(&mut self, layer: Box<dyn Layer>) {
        self.layers.push(layer);
    }

    /// Names of the active layers, in order.
    pub fn layer_names(&self) -> Vec<&'static str> {
        self.layers.iter().map(|l| l.name()).collect()
    }

    /// Offer one packet of a flow to the layers.
    pub fn on_packet(&mut self, flow: &mut Flow<ClassState>, seen: Seen, pkt: &Decoded<'_>) {
        // Most packets belong to flows already decided and watched by no
        // layer: leave before building anything.
        if flow.data.settled && !flow.data.watched {
            return;
        }
        let Some(view) = packet_view(flow, seen, pkt) else {
            return;
        };
        let st = &mut flow.data;
        if let Some(v) = &st.verdict {
            for l in self.layers.iter_mut() {
                if l.watches(v.protocol) {
                    l.on_classified_packet(v, &view);
                }
            }
            return;
        }
        let mut all_done = true;
        for l in self.layers.iter_mut() {
            match l.on_packet(st, &view) {
                LayerAnswer::Verdict(v) => {
                    st.watched = self.layers.iter().any(|l| l.watches(v.protocol));
                    st.settled = true;
                    st.verdict = Some(v);
                    st.dpi.release();
                    // The packet that decided may itself announce flows.
                    if let (Some(v), true) = (&st.verdict, st.watched) {
                        for l in self.layers.iter_mut() {
                            if l.watches(v.protocol) {
                                l.on_classified_packet(v, &view);
                            }
                        }
                    }
                    return;
                }
                LayerAnswer::Pending => all_done = false,
                LayerAnswer::Done => {}
            }
        }
        if all_done {
            st.settled = true;
            st.dpi.release();
        }
    }

    /// Final verdict when a flow ends: its verdict, or the first end-layer
    /// answer (the port guess), or Unknown.
    pub fn on_end(&mut self, flow: &mut Flow<ClassState>) {
        if flow.data.verdict.is_some() {
            return;
        }
        let (o, r) = (flow.orig(), flow.resp());
        let facts = FlowFacts {
            transport: Transport::from_ip_proto(flow.key.proto),
            client: (o.addr, o.port),
            server: (r.addr, r.port),
            payload_bytes: [flow.stats[0].payload_bytes, flow.stats[1].payload_bytes],
        };
        for l in self.layers.iter_mut() {
            if let Some(v) = l.on_end(&flow.data, &facts) {
                flow.data.verdict = Some(v);
                break;
            }
        }
        flow.data.dpi.release();
    }
}

fn packet_view<'a>(
    flow: &Flow<ClassState>,
    seen: Seen,
    pkt: &'a Decoded<'a>,
) -> Option<PacketView<'a>> {
    let ip = pkt.ip.as_ref()?;
    let (o, r) = (flow.orig(), flow.resp());
    let dir = match seen.dir {
        Dir::Orig => Direction::ToServer,
        Dir::Resp => Direction::ToClient,
    };
    let (payload, tcp): (&'a [u8], _) = match ip.transport {
        WireTransport::Tcp { tcp, payload } => (payload, Some((tcp.seq, tcp.flags))),
        WireTransport::Icmp {
            icmp_type, code, ..
        }
        | WireTransport::Icmpv6 {
            icmp_type, code, ..
        } => (icmp_header(icmp_type, code), None),
        t => (t.payload(), None),
    };
    Some(PacketView {
        ts_ns: flow.last_ts,
        dir,
        transport: Transport::from_ip_proto(ip.proto),
        payload,
        tcp,
        client: (o.addr, o.port),
        server: (r.addr, r.port),
        new_flow: seen.new,
        uid: flow.uid,
    })
}

/// ICMP probes see the message header: type, code, and a zeroed checksum.
fn icmp_header(t: u8, c: u8) -> &'static [u8] {
    // A static table avoids allocating per ICMP packet.
    static TABLE: std::sync::OnceLock<Vec<[u8; 4]>> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        (0..=255u16)
            .flat_map(|t| (0..=255u16).map(move |c| [t as u8, c as u8, 0, 0]))
            .collect()
    });
    &table[usize::from(t) * 256 + usize::from(c)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icmp_header_table() {
        assert_eq!(icmp_header(8, 0), &[8, 0, 0, 0]);
        assert_eq!(icmp_header(255, 255), &[255, 255, 0, 0]);
    }

    #[test]
    fn layers_by_name() {
        let c = Classifier::new(&ClassifyConfig::default()).expect("default layers");
        assert_eq!(c.layer_names(), vec!["flow", "dpi", "port"]);
        let bad = ClassifyConfig {
            layers: vec!["dpi".into(), "magic".into()],
            ..ClassifyConfig::default()
        };
        assert!(Classifier::new(&bad).is_err());
    }
}
