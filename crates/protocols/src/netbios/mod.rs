//! PLACEHOLDER: probe not written yet (always NoMatch).

use netsift_proto::{Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// NetBIOS.
pub struct Netbios;

impl Protocol for Netbios {
    fn name(&self) -> &'static str {
        "NetBIOS"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[137, 138, 139]
    }
    fn probe(&self, _input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        Probe::NoMatch
    }
}
