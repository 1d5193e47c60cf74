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
//! * `ml`: a random forest over features of the first packets
//!   ([`netsift_ml`]), naming a protocol only above a probability
//!   threshold (`confidence: ml`).
//! * `ndpi` (cargo feature `ndpi`): Debian's libndpi.
//! * `port`: the last-resort guess from the responder's port.

mod dpi;
mod expect;
pub mod ml;
#[cfg(feature = "ndpi")]
// The nDPI binding calls C; nothing else in the engine may be unsafe.
#[allow(unsafe_code)]
pub mod ndpi;
mod port;

use std::borrow::BorrowMut;
use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

use netsift_flow::{Dir, Flow, Seen};
use netsift_proto::{Direction, Transport};
use netsift_wire::{Decoded, Transport as WireTransport};
use serde::Serialize;

pub use dpi::{DpiConfig, DpiLayer, DEFAULT_MAX_DPI_MEMORY};
pub use expect::FlowLayer;
pub use ml::{MlConfig, MlLayer};
pub use port::PortLayer;

/// How a verdict was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
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

impl Confidence {
    /// The name every output writes (`dpi`, `flow`, `ml`, `port`, `none`),
    /// the same as its serde form.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Dpi => "dpi",
            Confidence::Flow => "flow",
            Confidence::Ml => "ml",
            Confidence::Port => "port",
            Confidence::None => "none",
        }
    }
}

/// A classification result.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Verdict {
    /// Protocol name, nDPI's spelling (`HTTP`, `TLS`, `SMBv23`, ...), or `Unknown`.
    pub protocol: &'static str,
    /// A more specific application, when known.
    pub app: Option<String>,
    pub confidence: Confidence,
    /// The layer (or module) that decided.
    pub source: &'static str,
    /// A short human-readable reason. Borrowed when it is one of a few
    /// fixed texts (the port guesses: a flood of unanswered flows shares
    /// them), owned otherwise.
    pub evidence: Cow<'static, str>,
}

impl Verdict {
    /// The verdict of a flow nothing matched.
    pub fn unknown() -> Verdict {
        Verdict {
            protocol: "Unknown",
            app: None,
            confidence: Confidence::None,
            source: "none",
            evidence: Cow::Borrowed(""),
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
    /// TCP acknowledgment number and window (zero when not TCP).
    pub tcp_ack: u32,
    pub tcp_window: u16,
    pub client: (IpAddr, u16),
    pub server: (IpAddr, u16),
    /// This packet created its flow.
    pub new_flow: bool,
    /// The responder has sent a packet in this flow (this one included):
    /// a SYN-ACK, a reply datagram. See [`DpiConfig::max_unanswered_states`].
    pub answered: bool,
    pub uid: netsift_flow::Uid,
}

/// Estimated bytes of the DPI layer's per-flow states on this thread, by
/// `count` (now or at the most: see [`crate::memory`]).
pub(crate) fn dpi_memory(count: fn(usize) -> usize) -> usize {
    dpi::DpiState::memory(count)
}

/// Per-flow classification state; the flow table's per-flow data.
#[derive(Debug, Default)]
pub struct ClassState {
    /// Shared: equal verdicts (a flood's million ICMP echoes, DNS
    /// queries ...) are one allocation ([`Classifier`] interns them), and a
    /// flow without a verdict yet pays 8 bytes.
    pub verdict: Option<Arc<Verdict>>,
    /// Set when the flow has a verdict or every layer gave up on per-packet
    /// work for it.
    pub settled: bool,
    /// Some layer watches packets of this flow's protocol after the verdict
    /// (control connections announcing others).
    pub(crate) watched: bool,
    pub(crate) dpi: dpi::DpiState,
    /// Layers (by position) that are finished with this flow: they said
    /// [`LayerAnswer::Done`], or decided while an earlier layer was still
    /// looking.
    pub(crate) done: u16,
    /// What only some layer lists use (a held verdict, the `ml` layer's
    /// features), in one box: 8 bytes a flow for the default layers.
    pub(crate) rare: Option<Box<RareState>>,
    /// The `ndpi` layer's per-flow state (nDPI's flow structure).
    #[cfg(feature = "ndpi")]
    pub(crate) ndpi: Option<ndpi::NdpiSlot>,
    /// The verdict's evidence is this flow's own text, given while nobody
    /// had answered the flow: it counts against the bound of such texts
    /// (see [`Verdicts::share_for`]).
    pub(crate) own_text: bool,
}

/// The part of [`ClassState`] only some layer lists use.
#[derive(Debug, Default)]
pub(crate) struct RareState {
    /// A later layer's verdict, held until every earlier layer has finished
    /// (a layer is consulted only for flows the layers before it left
    /// Unknown): the deciding layer's position and its verdict.
    deferred: Option<(u8, Verdict)>,
    /// The `ml` layer's feature collector, while it collects.
    pub(crate) ml: Option<Box<netsift_ml::Collector>>,
}

impl ClassState {
    pub(crate) fn rare(&mut self) -> &mut RareState {
        self.rare.get_or_insert_with(Default::default)
    }

    /// The position of the layer whose verdict is held, if one is.
    fn deferred_layer(&self) -> Option<u8> {
        self.rare.as_ref()?.deferred.as_ref().map(|d| d.0)
    }

    fn take_deferred(&mut self) -> Option<(u8, Verdict)> {
        self.rare.as_mut()?.deferred.take()
    }

    /// The `ml` layer's collector, taken.
    pub(crate) fn take_ml(&mut self) -> Option<Box<netsift_ml::Collector>> {
        self.rare.as_mut()?.ml.take()
    }

    /// Free what the layers keep per flow (DPI buffers, nDPI's flow, the
    /// ML features). A held verdict is gone by then (taken, or dropped by
    /// the verdict that settled the flow).
    fn release_layers(&mut self) {
        self.dpi.release();
        self.rare = None;
        #[cfg(feature = "ndpi")]
        {
            self.ndpi = None;
        }
    }
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

    /// Last chance when a flow ends without a verdict (called once per
    /// flow and layer: release per-flow resources here).
    fn on_end(&mut self, _st: &mut ClassState, _flow: &FlowFacts) -> Option<Verdict> {
        None
    }

    /// Packets of unanswered flows this layer judged alone, keeping no
    /// state for the next one, over the bound on unanswered flows
    /// ([`DpiConfig::max_unanswered_states`]).
    fn judged_alone(&self) -> u64 {
        0
    }

    /// Flows this layer gave up on because the bytes it kept for all
    /// flows were over their bound ([`DpiConfig::max_memory`]).
    fn given_up_for_memory(&self) -> u64 {
        0
    }
}

/// What the classifier's bounds cost (see [`Classifier::bound_counts`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BoundCounts {
    /// Over the bound on unanswered flows: packets judged alone, and
    /// verdict texts not kept.
    pub judged_alone: u64,
    pub texts_not_kept: u64,
    /// Over the bound on DPI memory: flows given up on.
    pub dpi_memory_given_up: u64,
}

impl std::ops::Add for BoundCounts {
    type Output = BoundCounts;
    fn add(self, o: BoundCounts) -> BoundCounts {
        BoundCounts {
            judged_alone: self.judged_alone + o.judged_alone,
            texts_not_kept: self.texts_not_kept + o.texts_not_kept,
            dpi_memory_given_up: self.dpi_memory_given_up + o.dpi_memory_given_up,
        }
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

/// The most layers a classifier holds (their per-flow "finished" flags
/// are a 16-bit set).
pub const MAX_LAYERS: usize = 16;

/// Flows nobody answered that keep DPI state at once by default
/// ([`DpiConfig::max_unanswered_states`]), and application state in
/// `analyze` (`analyze::AnalyzeConfig::max_unanswered_flows`). With
/// 65,536, `flows --threads 2` on a million random datagrams peaked at
/// 399-400 MiB, at issue 16's bound for a million flows; with 32,768 at
/// 390 MiB.
pub const DEFAULT_MAX_UNANSWERED_FLOWS: usize = 32_768;

/// Classifier settings.
#[derive(Debug, Clone)]
pub struct ClassifyConfig {
    /// Layers, in order, by name (see [`LAYER_NAMES`]).
    pub layers: Vec<String>,
    pub dpi: DpiConfig,
    /// The `ml` layer's model and threshold.
    pub ml: MlConfig,
    /// Guesses allowed: layers other than `port` that can guess (nDPI's
    /// port and IP-list matches) stay silent when false (`--no-guess`).
    pub guess: bool,
}

impl Default for ClassifyConfig {
    fn default() -> Self {
        ClassifyConfig {
            layers: LAYER_NAMES.iter().map(|s| s.to_string()).collect(),
            dpi: DpiConfig::default(),
            ml: MlConfig::default(),
            guess: true,
        }
    }
}

/// A layer list that cannot be built (an unknown name, a layer this build
/// lacks, too many layers); the message says which.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct UnknownLayer(pub String);

impl UnknownLayer {
    fn name(other: &str) -> UnknownLayer {
        UnknownLayer(format!(
            "unknown classification layer '{other}' (known: {})",
            KNOWN_LAYERS.join(", ")
        ))
    }
}

/// Every layer name `--layers` accepts in this build.
pub const KNOWN_LAYERS: &[&str] = &[
    "flow",
    "dpi",
    "ml",
    #[cfg(feature = "ndpi")]
    "ndpi",
    "port",
];

/// The layered classifier. Holds cross-flow state (expected connections),
/// so use one per flow-table shard.
pub struct Classifier {
    layers: Vec<Box<dyn Layer>>,
    verdicts: Verdicts,
}

/// Verdicts given lately, so that flows with equal verdicts share one
/// allocation: a flood of a million ICMP echoes or DNS queries holds one
/// verdict, not a million copies of its strings (about 140 bytes a flow).
/// Bounded: it starts over when full (verdicts already given stay shared
/// by their flows).
///
/// A verdict with its own evidence text (what this flow's client sent) is
/// not shared, and lives as long as its flow: a million HTTP requests
/// picked up mid-stream that nobody answers held a million texts (about
/// 190 bytes each with the verdict). Flows nobody has answered keep their
/// own text only up to the bound on unanswered flows
/// ([`DpiConfig::max_unanswered_states`]); beyond it their verdict says
/// [`TEXT_NOT_KEPT`] and is shared like any other.
struct Verdicts {
    set: rustc_hash::FxHashSet<Arc<Verdict>>,
    /// Flows with [`ClassState::own_text`].
    unanswered_texts: usize,
    max_unanswered: usize,
    /// Verdicts whose text was not kept.
    texts_not_kept: u64,
}

impl Default for Verdicts {
    fn default() -> Self {
        Verdicts {
            set: Default::default(),
            unanswered_texts: 0,
            max_unanswered: DEFAULT_MAX_UNANSWERED_FLOWS,
            texts_not_kept: 0,
        }
    }
}

/// The evidence of a verdict given to a flow nobody answered, beyond the
/// bound on unanswered flows (see [`Verdicts`]).
pub const TEXT_NOT_KEPT: &str =
    "evidence text not kept: more flows without an answer than --max-unanswered-flows";

impl Verdicts {
    /// Distinct verdicts remembered at most.
    const MAX: usize = 4096;

    /// [`Verdicts::share`] for flow state `st`, whose packet `view` gave
    /// verdict `v`: see the type's documentation.
    fn share_for(
        &mut self,
        st: &mut ClassState,
        mut v: Verdict,
        view: &PacketView<'_>,
    ) -> Arc<Verdict> {
        if !view.answered && matches!(v.evidence, Cow::Owned(_)) {
            if self.unanswered_texts < self.max_unanswered {
                self.unanswered_texts += 1;
                st.own_text = true;
            } else {
                v.evidence = Cow::Borrowed(TEXT_NOT_KEPT);
                self.texts_not_kept += 1;
            }
        }
        self.share(v)
    }

    /// Flow state `st` no longer counts as unanswered (answered, or
    /// ended).
    fn release(&mut self, st: &mut ClassState) {
        if st.own_text {
            st.own_text = false;
            self.unanswered_texts = self.unanswered_texts.saturating_sub(1);
        }
    }

    fn share(&mut self, mut v: Verdict) -> Arc<Verdict> {
        if let Some(a) = self.set.get(&v) {
            return Arc::clone(a);
        }
        if self.set.len() >= Self::MAX {
            self.set.clear();
        }
        // A verdict lives as long as its flow, and evidence texts are built
        // with room to grow (160 bytes spare in HTTP's): a flood of distinct
        // requests kept that slack a million times (160 MB).
        if let Cow::Owned(e) = &mut v.evidence {
            e.shrink_to_fit();
        }
        if let Some(app) = &mut v.app {
            app.shrink_to_fit();
        }
        let a = Arc::new(v);
        self.set.insert(Arc::clone(&a));
        a
    }
}

impl Classifier {
    pub fn new(cfg: &ClassifyConfig) -> Result<Classifier, UnknownLayer> {
        let mut layers: Vec<Box<dyn Layer>> = Vec::new();
        if cfg.layers.len() > MAX_LAYERS {
            return Err(UnknownLayer(format!(
                "{} layers (at most {MAX_LAYERS})",
                cfg.layers.len()
            )));
        }
        for (i, name) in cfg.layers.iter().enumerate() {
            if cfg.layers[..i].contains(name) {
                return Err(UnknownLayer(format!("layer '{name}' is listed twice")));
            }
            layers.push(match name.as_str() {
                "flow" => Box::new(FlowLayer::default()),
                "dpi" => Box::new(DpiLayer::new(cfg.dpi)),
                "port" => Box::new(PortLayer),
                "ml" => Box::new(MlLayer::new(&cfg.ml).map_err(UnknownLayer)?),
                #[cfg(feature = "ndpi")]
                "ndpi" => Box::new(ndpi::NdpiLayer::new(cfg.guess).map_err(UnknownLayer)?),
                #[cfg(not(feature = "ndpi"))]
                "ndpi" => {
                    return Err(UnknownLayer(
                        "the 'ndpi' layer needs a netsift built with `--features ndpi` \
                         (links Debian's libndpi: apt-get install libndpi-dev)"
                            .into(),
                    ))
                }
                other => return Err(UnknownLayer::name(other)),
            });
        }
        Ok(Classifier {
            layers,
            verdicts: Verdicts {
                max_unanswered: cfg.dpi.max_unanswered_states,
                ..Verdicts::default()
            },
        })
    }

    /// What the bounds cost this classifier: packets of unanswered flows
    /// judged alone ([`Layer::judged_alone`], all layers), verdict texts
    /// not kept, and flows given up on for DPI memory
    /// ([`Layer::given_up_for_memory`]).
    pub fn bound_counts(&self) -> BoundCounts {
        BoundCounts {
            judged_alone: self.layers.iter().map(|l| l.judged_alone()).sum(),
            texts_not_kept: self.verdicts.texts_not_kept,
            dpi_memory_given_up: self.layers.iter().map(|l| l.given_up_for_memory()).sum(),
        }
    }

    /// Names of the active layers, in order.
    pub fn layer_names(&self) -> Vec<&'static str> {
        self.layers.iter().map(|l| l.name()).collect()
    }

    /// Offer one packet of a flow to the layers.
    ///
    /// Layers are asked in order. The first layer that decides wins, but a
    /// layer that decides while an earlier one is still looking (said
    /// [`LayerAnswer::Pending`]) only has its verdict held: it is used once
    /// every earlier layer has finished without a verdict, or when the flow
    /// ends. So `--layers dpi,ndpi` lets nDPI see every packet from the
    /// start, yet it names only the flows the DPI layer leaves Unknown.
    ///
    /// The flow's data is a [`ClassState`] or holds one
    /// (`FlowState` of the runs that keep application state).
    pub fn on_packet<T: BorrowMut<ClassState>>(
        &mut self,
        flow: &mut Flow<T>,
        seen: Seen,
        pkt: &Decoded<'_>,
    ) {
        // Most packets belong to flows already decided and watched by no
        // layer: leave before building anything.
        if flow.data.borrow().own_text && flow.answered() {
            self.verdicts.release(flow.data.borrow_mut());
        }
        let st: &ClassState = flow.data.borrow();
        if st.settled && !st.watched {
            return;
        }
        let Some(view) = packet_view(flow, seen, pkt) else {
            return;
        };
        self.offer(flow.data.borrow_mut(), &view);
    }

    /// [`Classifier::on_packet`] for callers that keep a [`ClassState`]
    /// inside their own per-flow data (`netsift compare` runs two
    /// classifiers over one flow table).
    pub fn offer(&mut self, st: &mut ClassState, view: &PacketView<'_>) {
        if st.settled && !st.watched {
            return;
        }
        if let Some(v) = &st.verdict {
            for l in self.layers.iter_mut() {
                if l.watches(v.protocol) {
                    l.on_classified_packet(v, view);
                }
            }
            return;
        }
        let mut earlier_pending = false;
        for (i, l) in self.layers.iter_mut().enumerate() {
            let bit = 1u16 << i;
            if st.done & bit != 0 {
                continue;
            }
            match l.on_packet(st, view) {
                LayerAnswer::Verdict(v) if !earlier_pending => {
                    self.settle(st, v, view);
                    return;
                }
                LayerAnswer::Verdict(v) => {
                    st.done |= bit;
                    // Keep the verdict of the earliest layer that decided.
                    if st.deferred_layer().is_none_or(|d| usize::from(d) > i) {
                        st.rare().deferred = Some((i as u8, v));
                    }
                }
                LayerAnswer::Pending => earlier_pending = true,
                LayerAnswer::Done => st.done |= bit,
            }
        }
        // A held verdict whose earlier layers have all finished now decides.
        if let Some(j) = st.deferred_layer() {
            let before = (1u16 << j) - 1;
            if st.done & before == before {
                if let Some(d) = st.take_deferred() {
                    self.settle(st, d.1, view);
                }
                return;
            }
        }
        if st.done == self.all_bits() {
            st.settled = true;
            st.release_layers();
        }
    }

    fn all_bits(&self) -> u16 {
        // At most MAX_LAYERS (16) layers: checked in `new`.
        ((1u32 << self.layers.len()) - 1) as u16
    }

    fn settle(&mut self, st: &mut ClassState, v: Verdict, view: &PacketView<'_>) {
        st.watched = self.layers.iter().any(|l| l.watches(v.protocol));
        st.settled = true;
        st.take_deferred();
        st.verdict = Some(self.verdicts.share_for(st, v, view));
        st.release_layers();
        // The packet that decided may itself announce flows.
        if let (Some(v), true) = (&st.verdict, st.watched) {
            for l in self.layers.iter_mut() {
                if l.watches(v.protocol) {
                    l.on_classified_packet(v, view);
                }
            }
        }
    }

    /// Final verdict when a flow ends: its verdict; else, in layer order,
    /// the first held verdict or end-of-flow answer that is not a port
    /// guess; else the first port guess; else Unknown. Every layer's
    /// `on_end` runs once, so layers can release per-flow resources there.
    pub fn on_end<T: BorrowMut<ClassState>>(&mut self, flow: &mut Flow<T>) {
        let facts = flow_facts(flow);
        self.finish(flow.data.borrow_mut(), &facts);
    }

    /// [`Classifier::on_end`] for a [`ClassState`] kept elsewhere.
    pub fn finish(&mut self, st: &mut ClassState, facts: &FlowFacts) {
        self.verdicts.release(st);
        if st.verdict.is_some() {
            return;
        }
        let mut held = st.take_deferred();
        let mut best: Option<Verdict> = None;
        let mut guess: Option<Verdict> = None;
        for (i, l) in self.layers.iter_mut().enumerate() {
            let answer = match held.take() {
                Some(d) if usize::from(d.0) == i => Some(d.1),
                other => {
                    held = other;
                    l.on_end(st, facts)
                }
            };
            match answer {
                Some(v) if best.is_some() => drop(v),
                Some(v) if v.confidence == Confidence::Port => {
                    guess.get_or_insert(v);
                }
                Some(v) => best = Some(v),
                None => {}
            }
        }
        st.verdict = best.or(guess).map(|v| self.verdicts.share(v));
        st.release_layers();
    }
}

/// A protocol name reduced for comparison with nDPI's names: ASCII letters
/// and digits, lower case (`Service_Location_Protocol` =
/// `service-location-protocol`).
pub fn norm_name(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// What a classifier knows of a flow at its end.
pub fn flow_facts<T>(flow: &Flow<T>) -> FlowFacts {
    let (o, r) = (flow.orig(), flow.resp());
    FlowFacts {
        transport: Transport::from_ip_proto(flow.key.proto),
        client: (o.addr, o.port),
        server: (r.addr, r.port),
        payload_bytes: [flow.stats[0].payload_bytes, flow.stats[1].payload_bytes],
    }
}

/// The layers' view of one packet of a flow (None for non-IP frames).
pub fn packet_view<'a, T>(
    flow: &Flow<T>,
    seen: Seen,
    pkt: &'a Decoded<'a>,
) -> Option<PacketView<'a>> {
    let ip = pkt.ip.as_ref()?;
    let (o, r) = (flow.orig(), flow.resp());
    let dir = match seen.dir {
        Dir::Orig => Direction::ToServer,
        Dir::Resp => Direction::ToClient,
    };
    let mut ack_win = (0, 0);
    let (payload, tcp): (&'a [u8], _) = match ip.transport {
        WireTransport::Tcp { tcp, payload } => {
            ack_win = (tcp.ack, tcp.window);
            (payload, Some((tcp.seq, tcp.flags)))
        }
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
        tcp_ack: ack_win.0,
        tcp_window: ack_win.1,
        client: (o.addr, o.port),
        server: (r.addr, r.port),
        new_flow: seen.new,
        answered: flow.answered(),
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
    fn confidence_names_are_the_serde_names() {
        use Confidence::*;
        for c in [Dpi, Flow, Ml, Port, None] {
            assert_eq!(serde_json::to_value(c).ok(), Some(c.as_str().into()));
        }
    }

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

    /// A scripted layer: its answer for the n-th packet it is shown, and
    /// an optional end-of-flow answer.
    struct Script {
        name: &'static str,
        answers: Vec<Option<bool>>, // None: Pending, Some(false): Done, Some(true): verdict
        at_end: Option<Confidence>,
        shown: usize,
    }

    fn verdict(source: &'static str, confidence: Confidence) -> Verdict {
        Verdict {
            protocol: source,
            app: None,
            confidence,
            source,
            evidence: Cow::Borrowed(""),
        }
    }

    impl Layer for Script {
        fn name(&self) -> &'static str {
            self.name
        }
        fn on_packet(&mut self, _st: &mut ClassState, _pkt: &PacketView<'_>) -> LayerAnswer {
            let a = self.answers.get(self.shown).copied().flatten();
            self.shown += 1;
            match a {
                None => LayerAnswer::Pending,
                Some(false) => LayerAnswer::Done,
                Some(true) => LayerAnswer::Verdict(verdict(self.name, Confidence::Dpi)),
            }
        }
        fn on_end(&mut self, _st: &mut ClassState, _f: &FlowFacts) -> Option<Verdict> {
            self.at_end.map(|c| verdict(self.name, c))
        }
    }

    fn script(
        name: &'static str,
        answers: &[Option<bool>],
        at_end: Option<Confidence>,
    ) -> Box<dyn Layer> {
        Box::new(Script {
            name,
            answers: answers.to_vec(),
            at_end,
            shown: 0,
        })
    }

    fn view() -> PacketView<'static> {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        PacketView {
            ts_ns: 0,
            dir: Direction::ToServer,
            transport: Transport::Udp,
            payload: b"x",
            tcp: None,
            tcp_ack: 0,
            tcp_window: 0,
            client: (a, 1),
            server: (a, 2),
            new_flow: false,
            answered: false,
            uid: netsift_flow::Uid(1),
        }
    }

    fn facts() -> FlowFacts {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        FlowFacts {
            transport: Transport::Udp,
            client: (a, 1),
            server: (a, 2),
            payload_bytes: [1, 0],
        }
    }

    /// Run `packets` packets then end the flow; the verdict's source.
    fn run(layers: Vec<Box<dyn Layer>>, packets: usize) -> &'static str {
        let mut c = Classifier {
            layers,
            verdicts: Verdicts::default(),
        };
        let mut st = ClassState::default();
        for _ in 0..packets {
            c.offer(&mut st, &view());
        }
        c.finish(&mut st, &facts());
        st.verdict.map_or("none", |v| v.source)
    }

    /// A later layer that decides while an earlier one is still looking
    /// waits: the earlier layer's later verdict wins.
    #[test]
    fn an_earlier_layer_that_decides_later_wins() {
        let first = script("first", &[None, None, Some(true)], None);
        let second = script("second", &[Some(true)], None);
        assert_eq!(run(vec![first, second], 5), "first");
    }

    /// The held verdict decides once every earlier layer has given up, or
    /// at the flow's end, before any port guess.
    #[test]
    fn a_held_verdict_decides_when_earlier_layers_give_up() {
        let first = script("first", &[None, Some(false)], None);
        let second = script("second", &[Some(true)], None);
        let mut c = Classifier {
            layers: vec![first, second],
            verdicts: Verdicts::default(),
        };
        let mut st = ClassState::default();
        c.offer(&mut st, &view());
        assert!(st.verdict.is_none(), "held while the first layer looks");
        c.offer(&mut st, &view());
        assert_eq!(st.verdict.as_ref().map(|v| v.source), Some("second"));
        assert!(st.settled);

        let first = script("first", &[], Some(Confidence::Port));
        let second = script("second", &[Some(true)], None);
        assert_eq!(run(vec![first, second], 3), "second", "beats a port guess");
        let first = script("first", &[], Some(Confidence::Ml));
        let second = script("second", &[Some(true)], None);
        assert_eq!(
            run(vec![first, second], 3),
            "first",
            "an earlier real answer at the end wins"
        );
        let first = script("first", &[Some(false)], Some(Confidence::Port));
        let second = script("second", &[Some(false)], Some(Confidence::Port));
        assert_eq!(run(vec![first, second], 3), "first", "the first guess");
    }

    /// A layer that names every flow on its first packet with a text of
    /// that packet's own (as DPI quotes what a client sent).
    struct Quoting(u32);

    impl Layer for Quoting {
        fn name(&self) -> &'static str {
            "quoting"
        }
        fn on_packet(&mut self, _st: &mut ClassState, _pkt: &PacketView<'_>) -> LayerAnswer {
            self.0 += 1;
            LayerAnswer::Verdict(Verdict {
                evidence: format!("client sent request {}", self.0).into(),
                ..verdict("quoting", Confidence::Dpi)
            })
        }
    }

    /// Flows nobody answered keep their own evidence text up to the bound;
    /// beyond it their verdict says so and is shared. An answer or the
    /// flow's end frees the place; answered flows always keep theirs.
    #[test]
    fn unanswered_flows_keep_their_own_text_up_to_the_bound() {
        let mut c = Classifier {
            layers: vec![Box::new(Quoting(0))],
            verdicts: Verdicts {
                max_unanswered: 1,
                ..Verdicts::default()
            },
        };
        let text = |st: &ClassState| st.verdict.as_ref().map(|v| v.evidence.to_string());
        let (mut a, mut b, mut d, mut e) = Default::default();
        c.offer(&mut a, &view());
        assert_eq!(text(&a).as_deref(), Some("client sent request 1"));
        c.offer(&mut b, &view());
        assert_eq!(text(&b).as_deref(), Some(TEXT_NOT_KEPT));
        assert_eq!(c.bound_counts().texts_not_kept, 1);
        let answered = PacketView {
            answered: true,
            ..view()
        };
        c.offer(&mut e, &answered);
        assert_eq!(text(&e).as_deref(), Some("client sent request 3"));
        c.finish(&mut a, &facts());
        c.offer(&mut d, &view());
        assert_eq!(text(&d).as_deref(), Some("client sent request 4"));
        assert_eq!(c.bound_counts().texts_not_kept, 1);
    }

    /// Flows with equal verdicts share one: a flood of a million ICMP
    /// echoes holds one verdict, not a million copies of its strings.
    #[test]
    fn equal_verdicts_are_shared() {
        let mut c = Classifier {
            layers: vec![script("a", &[Some(true), Some(true)], None)],
            verdicts: Verdicts::default(),
        };
        let (mut x, mut y) = (ClassState::default(), ClassState::default());
        c.offer(&mut x, &view());
        c.offer(&mut y, &view());
        match (&x.verdict, &y.verdict) {
            (Some(a), Some(b)) => assert!(Arc::ptr_eq(a, b)),
            other => panic!("{other:?}"),
        }
        // Different verdicts stay apart, and the memory is bounded.
        for i in 0..Verdicts::MAX + 10 {
            let v = Verdict {
                evidence: i.to_string().into(),
                ..verdict("a", Confidence::Dpi)
            };
            let a = c.verdicts.share(v.clone());
            assert_eq!(*a, v);
            assert!(c.verdicts.set.len() <= Verdicts::MAX);
        }
    }

    #[test]
    fn layer_lists_are_checked() {
        let twice = ClassifyConfig {
            layers: vec!["dpi".into(), "dpi".into()],
            ..ClassifyConfig::default()
        };
        assert!(Classifier::new(&twice).is_err());
        let many = ClassifyConfig {
            layers: (0..17).map(|i| format!("l{i}")).collect(),
            ..ClassifyConfig::default()
        };
        assert!(Classifier::new(&many).is_err());
        #[cfg(not(feature = "ndpi"))]
        {
            let e = Classifier::new(&ClassifyConfig {
                layers: vec!["ndpi".into()],
                ..ClassifyConfig::default()
            })
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
            assert!(e.contains("libndpi-dev"), "{e}");
        }
    }
}

#[cfg(test)]
mod size_tests {
    /// The per-flow core stays compact: a million open flows (a SYN flood)
    /// must fit the flood benchmark's memory bounds. Grows only on purpose.
    #[test]
    fn flow_core_is_compact() {
        use std::mem::size_of;
        let flow = size_of::<netsift_flow::Flow<super::ClassState>>();
        // The ndpi feature adds the wrapper's per-flow state (16 bytes).
        let limit = if cfg!(feature = "ndpi") { 368 } else { 352 };
        assert!(flow <= limit, "Flow<ClassState> is {flow} bytes");
        #[cfg(not(feature = "ndpi"))]
        assert!(size_of::<super::ClassState>() <= 48);
        // A datagram flow of junk keeps only this (its counters inline).
        assert!(size_of::<super::dpi::DpiState>() <= 24);
        // Shared among flows with equal verdicts.
        assert_eq!(size_of::<Option<std::sync::Arc<super::Verdict>>>(), 8);
    }
}
