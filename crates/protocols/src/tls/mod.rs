//! PLACEHOLDER: probe not written yet (always NoMatch).

use netsift_proto::{Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// TLS.
pub struct Tls;

impl Protocol for Tls {
    fn name(&self) -> &'static str {
        "TLS"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[443, 8443, 993, 995, 465, 636, 853, 5061]
    }
    fn probe(&self, _input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        Probe::NoMatch
    }
}
