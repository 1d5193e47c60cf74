//! PLACEHOLDER: probe not written yet (always NoMatch).

use netsift_proto::{Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// DNS.
pub struct Dns;

impl Protocol for Dns {
    fn name(&self) -> &'static str {
        "DNS"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[53]
    }
    fn probe(&self, _input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        Probe::NoMatch
    }
}
