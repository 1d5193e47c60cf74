//! Prefilter and evaluation.

use netsift_proto::BufferKind;

use crate::detect::{Detector, FileView, FlowRules, Match, Packet, TxBuffers};
use crate::rule::Rule;

#[derive(Debug, Default)]
pub(crate) struct Compiled {
    pub wants_files: bool,
}

impl Compiled {
    pub fn new(_rules: &[Rule]) -> Self {
        Compiled::default()
    }
    pub fn wants(&self, _k: BufferKind) -> bool {
        false
    }
}

#[derive(Debug, Default)]
pub(crate) struct FlowState {
    pub passed: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Thresholds {}

pub(crate) fn inspect_packet(
    _d: &mut Detector,
    _pkt: &Packet,
    _stream: Option<&[u8]>,
    _flow: Option<&mut FlowRules>,
    _out: &mut Vec<Match>,
) {
}
pub(crate) fn inspect_tx(
    _d: &mut Detector,
    _pkt: &Packet,
    _tx: u64,
    _bufs: &dyn TxBuffers,
    _flow: &mut FlowRules,
    _out: &mut Vec<Match>,
) {
}
pub(crate) fn inspect_file(
    _d: &mut Detector,
    _pkt: &Packet,
    _file: &FileView,
    _bufs: Option<&dyn TxBuffers>,
    _flow: &mut FlowRules,
    _out: &mut Vec<Match>,
) {
}
