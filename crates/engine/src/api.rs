//! The library API, in the spirit of go-dpi's Initialize / GetPacketFlow /
//! ClassifyFlow / Destroy, but idiomatic Rust: build an [`Engine`] with the
//! layers you want, feed it packets, read each packet's flow and verdict,
//! and collect flows as they end. Dropping the engine frees everything.

use std::collections::VecDeque;

use netsift_flow::Flow;
use netsift_wire::{Decoded, LinkType};

use crate::classify::{ClassState, Classifier, ClassifyConfig, UnknownLayer, Verdict};
use crate::pipeline::{FlowHandler, Pipeline, PipelineConfig};
use crate::record::FlowRecord;
use netsift_flow::Seen;

/// Builds an [`Engine`].
#[derive(Debug, Clone, Default)]
pub struct EngineBuilder {
    pipeline: PipelineConfig,
    classify: ClassifyConfig,
}

impl EngineBuilder {
    /// Choose the classification layers, in order (`flow`, `dpi`, `ndpi`
    /// with the `ndpi` feature, `port`).
    pub fn layers<S: AsRef<str>>(mut self, names: &[S]) -> Self {
        self.classify.layers = names.iter().map(|s| s.as_ref().to_string()).collect();
        self
    }

    /// Drop the last-resort port guess (and nDPI's guesses).
    pub fn no_guess(mut self) -> Self {
        self.classify.layers.retain(|l| l != "port");
        self.classify.guess = false;
        self
    }

    /// Flow table, reassembly and timeout settings.
    pub fn pipeline(mut self, cfg: PipelineConfig) -> Self {
        self.pipeline = cfg;
        self
    }

    /// Full classifier settings.
    pub fn classify(mut self, cfg: ClassifyConfig) -> Self {
        self.classify = cfg;
        self
    }

    pub fn build(self) -> Result<Engine, UnknownLayer> {
        Ok(Engine {
            sink: Classify {
                classifier: Classifier::new(&self.classify)?,
                ended: VecDeque::new(),
                // As many as the flow table holds: ending every open flow
                // at once never drops one that the caller drained before.
                max_ended: self.pipeline.flow.max_flows.max(1),
                dropped: 0,
                last: None,
            },
            pipeline: Pipeline::new(self.pipeline),
        })
    }
}

/// What the engine tells about one packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketInfo {
    /// The packet's flow.
    pub uid: String,
    /// The packet created the flow.
    pub new_flow: bool,
    /// The flow's verdict so far (None while undecided).
    pub verdict: Option<Verdict>,
}

/// A flow that ended, with its classification.
pub type ClassifiedFlow = Flow<ClassState>;

struct Classify {
    classifier: Classifier,
    /// Ended flows not yet taken, oldest first, at most `max_ended`.
    ended: VecDeque<ClassifiedFlow>,
    max_ended: usize,
    /// Ended flows dropped (oldest first) because `max_ended` waited.
    dropped: u64,
    last: Option<PacketInfo>,
}

impl FlowHandler<ClassState> for Classify {
    fn on_packet(&mut self, flow: &mut Flow<ClassState>, seen: Seen, pkt: &Decoded<'_>) {
        self.classifier.on_packet(flow, seen, pkt);
        self.last = Some(PacketInfo {
            uid: flow.uid.to_string(),
            new_flow: seen.new,
            verdict: flow.data.verdict.as_deref().cloned(),
        });
    }

    fn on_flow_end(&mut self, mut flow: Flow<ClassState>) {
        self.classifier.on_end(&mut flow);
        if self.ended.len() >= self.max_ended {
            self.ended.pop_front();
            self.dropped += 1;
        }
        self.ended.push_back(flow);
    }
}

/// A classification engine: flow tracking plus layered classification.
///
/// ```
/// use netsift_engine::Engine;
/// use netsift_wire::LinkType;
///
/// let mut engine = Engine::builder().layers(&["dpi", "port"]).build().unwrap();
/// // A raw-IPv4 UDP datagram carrying a DNS query for example.com.
/// let pkt: &[u8] = &[
///     0x45, 0, 0, 57, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, // IPv4
///     0xc3, 0x50, 0x13, 0x88, 0, 37, 0, 0, // UDP 50000 -> 5000
///     0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, // DNS header, one question
///     7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 3, b'c', b'o', b'm', 0, 0, 1, 0, 1,
/// ];
/// let info = engine.process(1_700_000_000_000_000_000, LinkType::RAW, pkt, pkt.len() as u32);
/// for flow in engine.finish() {
///     let v = flow.data.verdict.as_ref().unwrap();
///     println!("{} {} ({:?}: {})", flow.uid, v.protocol, v.confidence, v.evidence);
/// }
/// # let _ = info;
/// ```
pub struct Engine {
    pipeline: Pipeline<ClassState>,
    sink: Classify,
}

impl Engine {
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// Feed one frame: timestamp in nanoseconds of packet time, link type,
    /// the captured bytes and the original length. Returns the packet's
    /// flow and verdict so far, or None when it belongs to no flow
    /// (non-IP, an incomplete fragment, undecodable).
    pub fn process(
        &mut self,
        ts_ns: u64,
        link: LinkType,
        data: &[u8],
        orig_len: u32,
    ) -> Option<PacketInfo> {
        self.sink.last = None;
        self.pipeline
            .on_bytes(ts_ns, link, data, orig_len, &mut self.sink);
        self.sink.last.take()
    }

    /// Flows that ended (timeouts, TCP close, eviction) since the last call.
    /// At most as many wait as the flow table holds (`max_flows`); beyond
    /// that the oldest are dropped and counted ([`Engine::dropped_flows`]).
    pub fn drain_ended(&mut self) -> Vec<ClassifiedFlow> {
        self.sink.ended.drain(..).collect()
    }

    /// The oldest ended flow not yet taken, if any.
    pub fn next_ended(&mut self) -> Option<ClassifiedFlow> {
        self.sink.ended.pop_front()
    }

    /// Ended flows dropped because more than the flow table's size waited
    /// untaken.
    pub fn dropped_flows(&self) -> u64 {
        self.sink.dropped
    }

    /// End every open flow now (as at the end of a capture); they come out
    /// of the next [`Engine::drain_ended`]. The engine stays usable.
    pub fn end_all(&mut self) {
        self.pipeline.finish(&mut self.sink);
    }

    /// End every open flow and return all flows not yet drained.
    pub fn finish(mut self) -> Vec<ClassifiedFlow> {
        self.pipeline.finish(&mut self.sink);
        self.sink.ended.into()
    }

    /// The record (`netsift flows --format jsonl` schema) of a flow.
    pub fn record(flow: &ClassifiedFlow) -> FlowRecord {
        FlowRecord::from_classified(flow, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netsift_flow::FlowConfig;

    /// Raw IPv4 UDP 10.0.0.1:`sport` -> 10.0.0.2:53, four payload bytes.
    fn udp(sport: u16) -> Vec<u8> {
        let mut p = vec![
            0x45, 0, 0, 32, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        p.extend(sport.to_be_bytes());
        p.extend([0, 53, 0, 12, 0, 0, 1, 2, 3, 4]);
        p
    }

    /// Ended flows wait up to the flow table's size; beyond it the oldest
    /// are dropped and counted, whoever ends them (eviction, end_all).
    #[test]
    fn ended_flows_are_bounded_by_the_table_size() {
        let cfg = PipelineConfig {
            flow: FlowConfig {
                max_flows: 2,
                ..FlowConfig::default()
            },
            ..PipelineConfig::default()
        };
        let mut e = Engine::builder().pipeline(cfg).build().unwrap();
        for (i, sport) in [1000u16, 1001, 1002].into_iter().enumerate() {
            let f = udp(sport);
            let ts = 1_700_000_000_000_000_000 + i as u64 * 1_000_000;
            assert!(e.process(ts, LinkType::RAW, &f, f.len() as u32).is_some());
        }
        // The third flow evicted the first: one waits, none dropped.
        assert_eq!(e.dropped_flows(), 0);
        e.end_all();
        // Three ended, two fit: the oldest (the evicted first) is dropped.
        assert_eq!(e.dropped_flows(), 1);
        let ports: Vec<u16> = std::iter::from_fn(|| e.next_ended())
            .map(|f| Engine::record(&f).src_port)
            .collect();
        assert_eq!(ports.len(), 2);
        assert!(!ports.contains(&1000), "{ports:?}");
        assert!(e.drain_ended().is_empty());
    }
}
