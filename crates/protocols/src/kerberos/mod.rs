//! PLACEHOLDER: probe not written yet (always NoMatch).

use netsift_proto::{Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Kerberos.
pub struct Kerberos;

impl Protocol for Kerberos {
    fn name(&self) -> &'static str {
        "Kerberos"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp, Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[88]
    }
    fn probe(&self, _input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        Probe::NoMatch
    }
}
