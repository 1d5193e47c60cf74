//! Running rules: [`Detector`] (cross-flow state) and [`FlowRules`]
//! (per-flow state).

use std::net::IpAddr;
use std::sync::Arc;

use netsift_proto::BufferKind;

use crate::load::RuleSet;
use crate::rule::RuleId;

/// The packet being inspected. For stream, transaction and file
/// inspection: the packet that completed the data.
#[derive(Debug, Clone)]
pub struct Packet<'a> {
    /// Packet time, ns since the epoch (thresholds count in packet time).
    pub ts_ns: u64,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    pub ip_proto: u8,
    pub ttl: Option<u8>,
    pub tcp_flags: Option<u8>,
    pub icmp_type: Option<u8>,
    pub icmp_code: Option<u8>,
    pub payload: &'a [u8],
    /// `None` for packets outside flows.
    pub flow: Option<FlowInfo<'a>>,
}

/// What the engine knows about the packet's flow.
#[derive(Debug, Clone, Copy)]
pub struct FlowInfo<'a> {
    /// The packet goes from the flow's client to its server.
    pub to_server: bool,
    /// TCP: the three-way handshake was seen; UDP: packets were seen both
    /// ways.
    pub established: bool,
    /// netsift's protocol name ("HTTP", "TLS", "DNS", ...), when known.
    pub app_proto: Option<&'a str>,
}

/// One rule that fired. Rules with `noalert` never produce one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub rule: RuleId,
    /// The buffer the rule's last-checked content part inspected:
    /// "pkt_data", "stream", "http.uri", "file.data", ... ("packet" for
    /// rules without payload parts).
    pub buffer: &'static str,
    /// Offset of the first content match in that buffer, when there is one.
    pub offset: Option<usize>,
}

/// A transaction's buffers, from both directions as seen so far.
pub trait TxBuffers {
    /// The values of one buffer in one direction (several for `dns.query`,
    /// one per question); empty when absent. A present but empty buffer is
    /// one empty slice.
    fn get(&self, kind: BufferKind, to_server: bool) -> &[&[u8]];
}

/// A file (or HTTP body, mail attachment) at its close.
#[derive(Debug, Clone, Default)]
pub struct FileView<'a> {
    /// The transaction it belongs to.
    pub tx: Option<u64>,
    /// Sent by the client (an upload, a request body).
    pub to_server: bool,
    pub name: Option<&'a str>,
    /// libmagic-style description ("PDF document, version 1.4") or a MIME type.
    pub magic: Option<&'a str>,
    /// Lower-case hex digests.
    pub md5: Option<&'a str>,
    pub sha256: Option<&'a str>,
    /// The file's first bytes, up to the engine's inspection cap.
    pub data: &'a [u8],
    pub size: u64,
}

/// Per-flow rule state: flowbits, which (rule, tx) already fired, stream
/// tails, the pass verdict. A `Box` allocated on first use.
#[derive(Debug, Default)]
pub struct FlowRules {
    pub(crate) st: Option<Box<crate::eval::FlowState>>,
}

impl FlowRules {
    /// A `pass` rule matched this flow: nothing more is inspected.
    pub fn passed(&self) -> bool {
        self.st.as_ref().is_some_and(|s| s.passed)
    }
}

/// One per run: the rules and the cross-flow state.
#[derive(Debug)]
pub struct Detector {
    pub(crate) rules: Arc<RuleSet>,
    pub(crate) thresholds: crate::eval::Thresholds,
}

impl Detector {
    pub fn new(rules: Arc<RuleSet>) -> Self {
        Detector {
            rules,
            thresholds: Default::default(),
        }
    }

    pub fn rules(&self) -> &Arc<RuleSet> {
        &self.rules
    }

    /// Packet rules (no sticky buffer, or `pkt_data`). For TCP in an
    /// established flow, `stream` is the newly in-order bytes of this
    /// direction that this packet completed.
    pub fn inspect_packet(
        &mut self,
        pkt: &Packet,
        stream: Option<&[u8]>,
        flow: Option<&mut FlowRules>,
        out: &mut Vec<Match>,
    ) {
        crate::eval::inspect_packet(self, pkt, stream, flow, out, false)
    }

    /// Stream bytes left when a flow ends (Suricata's flow-end pseudo
    /// packet): only rules over the stream are evaluated, not those about
    /// packets (header-only rules, `pkt_data`).
    pub fn inspect_stream_end(
        &mut self,
        pkt: &Packet,
        stream: &[u8],
        flow: &mut FlowRules,
        out: &mut Vec<Match>,
    ) {
        crate::eval::inspect_packet(self, pkt, Some(stream), Some(flow), out, true)
    }

    /// Transaction rules, when a direction of transaction `tx` is done.
    pub fn inspect_tx(
        &mut self,
        pkt: &Packet,
        tx: u64,
        bufs: &dyn TxBuffers,
        flow: &mut FlowRules,
        out: &mut Vec<Match>,
    ) {
        crate::eval::inspect_tx(self, pkt, tx, bufs, flow, out)
    }

    /// File rules, at file close.
    pub fn inspect_file(
        &mut self,
        pkt: &Packet,
        file: &FileView,
        bufs: Option<&dyn TxBuffers>,
        flow: &mut FlowRules,
        out: &mut Vec<Match>,
    ) {
        crate::eval::inspect_file(self, pkt, file, bufs, flow, out)
    }

    /// Some rule reads this transaction buffer.
    pub fn wants(&self, kind: BufferKind) -> bool {
        self.rules.compiled.wants(kind)
    }

    /// Some rule inspects files.
    pub fn wants_files(&self) -> bool {
        self.rules.compiled.wants_files
    }

    /// Some rule reads the reassembled TCP stream: without one, the engine
    /// need not keep stream bytes for [`Detector::inspect_packet`] (which
    /// ignores them then).
    pub fn wants_stream(&self) -> bool {
        self.rules.compiled.wants_stream()
    }
}
