//! PLACEHOLDER: probe not written yet (always NoMatch).

use netsift_proto::{Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// DHCPV6.
pub struct Dhcpv6;

impl Protocol for Dhcpv6 {
    fn name(&self) -> &'static str {
        "DHCPV6"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[546, 547]
    }
    fn probe(&self, _input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        Probe::NoMatch
    }
}
