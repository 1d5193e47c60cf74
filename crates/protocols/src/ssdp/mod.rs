//! PLACEHOLDER: probe not written yet (always NoMatch).

use netsift_proto::{Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// SSDP.
pub struct Ssdp;

impl Protocol for Ssdp {
    fn name(&self) -> &'static str {
        "SSDP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[1900]
    }
    fn probe(&self, _input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        Probe::NoMatch
    }
}
