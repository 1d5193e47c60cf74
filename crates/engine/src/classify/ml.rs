//! The `ml` layer: a random forest over per-flow features of the first
//! packets ([`netsift_ml`]), for the flows the layers before it leave
//! Unknown.
//!
//! The layer collects features from the first packet on, while earlier
//! layers are still looking, and predicts once it has the model's `packets`
//! packets or when the flow ends sooner. It names a protocol only when the
//! forest's probability reaches the threshold (`--ml-threshold`); its
//! verdict reads `confidence: ml`, `source: ml`, and the evidence gives the
//! probability and the features that weighed most. Flows without payload
//! in their first packets are left to the later layers. Under the
//! [`super::Classifier`]'s rules its verdict is held while an earlier layer
//! still looks, so it only ever names flows those layers leave Unknown.
//!
//! Per-flow state (a boxed [`Collector`], a few hundred bytes) lives in
//! [`ClassState`] and is freed as soon as the flow has a verdict, the layer
//! has predicted, or the flow ends or is evicted.

use std::sync::{Arc, Mutex, OnceLock};

use netsift_ml::{Collector, Model, PacketInfo};
use netsift_proto::{Direction, Transport};

use super::{ClassState, Confidence, FlowFacts, Layer, LayerAnswer, PacketView, Verdict};

/// Probability the model needs to name a protocol, by default.
pub const DEFAULT_THRESHOLD: f32 = 0.65;

/// The `ml` layer's settings.
#[derive(Clone)]
pub struct MlConfig {
    /// The model; `None` is the model netsift ships.
    pub model: Option<Arc<Model>>,
    /// Probability needed to name a protocol (0..=1).
    pub threshold: f32,
}

impl Default for MlConfig {
    fn default() -> Self {
        MlConfig {
            model: None,
            threshold: DEFAULT_THRESHOLD,
        }
    }
}

impl std::fmt::Debug for MlConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MlConfig")
            .field(
                "model",
                &self.model.as_ref().map(|m| {
                    format!(
                        "{} classes, {} trees",
                        m.classes.len(),
                        m.forest.trees.len()
                    )
                }),
            )
            .field("threshold", &self.threshold)
            .finish()
    }
}

/// The model netsift ships, parsed once.
pub fn default_model() -> Result<Arc<Model>, String> {
    static M: OnceLock<Result<Arc<Model>, String>> = OnceLock::new();
    M.get_or_init(|| {
        Model::from_bytes(netsift_ml::default_model_bytes())
            .map(Arc::new)
            .map_err(|e| format!("the built-in ML model: {e}"))
    })
    .clone()
}

/// A class name as a `&'static str` (verdicts carry static names):
/// netsift's own spelling when it registers the protocol, else the name
/// kept once for the life of the process.
fn intern(name: &str) -> &'static str {
    let n = netsift_ml::train::norm(name);
    if let Some(p) = netsift_protocols::ALL
        .iter()
        .find(|p| netsift_ml::train::norm(p.name()) == n)
    {
        return p.name();
    }
    static POOL: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = pool.iter().find(|s| **s == name) {
        return s;
    }
    // Bounded: a model has at most MAX_CLASSES names of at most
    // MAX_CLASS_NAME bytes, and a name is kept once however often models
    // are loaded.
    let s: &'static str = Box::leak(name.to_string().into_boxed_str());
    pool.push(s);
    s
}

/// The `ml` layer.
pub struct MlLayer {
    model: Arc<Model>,
    /// The forest laid out for prediction.
    fast: netsift_ml::forest::Compact,
    threshold: f32,
    names: Vec<&'static str>,
    scratch: Vec<f32>,
}

impl MlLayer {
    pub fn new(cfg: &MlConfig) -> Result<MlLayer, String> {
        if !(0.0..=1.0).contains(&cfg.threshold) {
            return Err(format!(
                "ML threshold {} is not a probability (0..=1)",
                cfg.threshold
            ));
        }
        let model = match &cfg.model {
            Some(m) => m.clone(),
            None => default_model()?,
        };
        let names = model.classes.iter().map(|c| intern(c)).collect();
        Ok(MlLayer {
            fast: netsift_ml::forest::Compact::new(&model.forest),
            model,
            threshold: cfg.threshold,
            names,
            scratch: Vec::new(),
        })
    }

    /// The verdict for a flow's features, if the model is sure enough. A
    /// flow without payload is not named: from sizes, flags and ports alone
    /// a name would be a port guess, the `port` layer's to make.
    fn decide(&mut self, c: &Collector) -> Option<Verdict> {
        if !c.has_payload() {
            return None;
        }
        let x = c.features();
        let (class, probability) = self.fast.predict_above(
            &x,
            self.model.classes.len(),
            self.threshold,
            &mut self.scratch,
        )?;
        let protocol = *self.names.get(usize::from(class))?;
        let top = self.model.top_features(&x, class, 3);
        let weighed: Vec<String> = top
            .iter()
            .map(|(name, v, w)| format!("{name}{} {:.0}%", shown(*v), w * 100.0))
            .collect();
        Some(Verdict {
            protocol,
            app: None,
            confidence: Confidence::Ml,
            source: "ml",
            evidence: format!(
                "p={:.2} over {} packets ({} trees); weighed most: {}",
                probability,
                c.seen(),
                self.model.forest.trees.len(),
                weighed.join(", ")
            )
            .into(),
        })
    }
}

/// A feature's value in the evidence: `absent` for the missing-value
/// mark, whole numbers without decimals.
fn shown(v: f32) -> String {
    if v == -1.0 {
        " absent".into()
    } else if v.fract() == 0.0 && v.abs() < 1e9 {
        format!("={v:.0}")
    } else {
        format!("={v:.2}")
    }
}

fn ip_proto(t: Transport) -> u8 {
    match t {
        Transport::Tcp => 6,
        Transport::Udp => 17,
        Transport::Ip(p) => p,
    }
}

impl Layer for MlLayer {
    fn name(&self) -> &'static str {
        "ml"
    }

    fn on_packet(&mut self, st: &mut ClassState, pkt: &PacketView<'_>) -> LayerAnswer {
        let c = st.rare().ml.get_or_insert_with(|| {
            Box::new(Collector::new(
                self.model.packets,
                ip_proto(pkt.transport),
                (pkt.client.1, pkt.server.1),
            ))
        });
        let full = c.push(&PacketInfo {
            ts_ns: pkt.ts_ns,
            to_server: pkt.dir == Direction::ToServer,
            payload: pkt.payload,
            tcp_flags: pkt.tcp.map(|t| t.1),
        });
        if !full {
            return LayerAnswer::Pending;
        }
        let v = st.take_ml().and_then(|c| self.decide(&c));
        v.map_or(LayerAnswer::Done, LayerAnswer::Verdict)
    }

    fn on_end(&mut self, st: &mut ClassState, _flow: &FlowFacts) -> Option<Verdict> {
        let c = st.take_ml()?;
        if c.seen() == 0 {
            return None;
        }
        self.decide(&c)
    }
}
