//! PLACEHOLDER: probe not written yet (always NoMatch).

use netsift_proto::{Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// LDAP.
pub struct Ldap;

impl Protocol for Ldap {
    fn name(&self) -> &'static str {
        "LDAP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp, Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[389]
    }
    fn probe(&self, _input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        Probe::NoMatch
    }
}
