//! PLACEHOLDER: probe not written yet (always NoMatch).

use netsift_proto::{Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// BitTorrent.
pub struct Bittorrent;

impl Protocol for Bittorrent {
    fn name(&self) -> &'static str {
        "BitTorrent"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp, Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[6881, 6882, 6883, 6884, 6885, 6886, 6887, 6888, 6889, 51413]
    }
    fn probe(&self, _input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        Probe::NoMatch
    }
}
