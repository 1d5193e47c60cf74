//! PLACEHOLDER: probe not written yet (always NoMatch).

use netsift_proto::{Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// SSH.
pub struct Ssh;

impl Protocol for Ssh {
    fn name(&self) -> &'static str {
        "SSH"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[22]
    }
    fn probe(&self, _input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        Probe::NoMatch
    }
}
