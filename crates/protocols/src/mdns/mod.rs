//! PLACEHOLDER: probe not written yet (always NoMatch).

use netsift_proto::{Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// MDNS.
pub struct Mdns;

impl Protocol for Mdns {
    fn name(&self) -> &'static str {
        "MDNS"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[5353]
    }
    fn probe(&self, _input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        Probe::NoMatch
    }
}
