//! PLACEHOLDER: probe not written yet (always NoMatch).

use netsift_proto::{Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// IPSec.
pub struct Ipsec;

impl Protocol for Ipsec {
    fn name(&self) -> &'static str {
        "IPSec"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Ip(50), Transport::Ip(51)]
    }
    fn ports(&self) -> &'static [u16] {
        &[500, 4500]
    }
    fn probe(&self, _input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        Probe::NoMatch
    }
}
