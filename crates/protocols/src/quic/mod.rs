//! PLACEHOLDER: probe not written yet (always NoMatch).

use netsift_proto::{Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// QUIC.
pub struct Quic;

impl Protocol for Quic {
    fn name(&self) -> &'static str {
        "QUIC"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[443]
    }
    fn probe(&self, _input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        Probe::NoMatch
    }
}
