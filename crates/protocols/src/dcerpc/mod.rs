//! PLACEHOLDER: probe not written yet (always NoMatch).

use netsift_proto::{Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// DCERPC.
pub struct Dcerpc;

impl Protocol for Dcerpc {
    fn name(&self) -> &'static str {
        "DCERPC"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp, Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[135]
    }
    fn probe(&self, _input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        Probe::NoMatch
    }
}
