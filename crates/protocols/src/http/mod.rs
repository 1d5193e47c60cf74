//! PLACEHOLDER: probe not written yet (always NoMatch).

use netsift_proto::{Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// HTTP.
pub struct Http;

impl Protocol for Http {
    fn name(&self) -> &'static str {
        "HTTP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[80, 8080, 8000, 8008, 8888, 3128]
    }
    fn probe(&self, _input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        Probe::NoMatch
    }
}
