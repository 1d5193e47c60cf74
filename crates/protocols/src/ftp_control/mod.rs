//! PLACEHOLDER: probe not written yet (always NoMatch).

use netsift_proto::{Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// FTP_CONTROL.
pub struct FtpControl;

impl Protocol for FtpControl {
    fn name(&self) -> &'static str {
        "FTP_CONTROL"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[21]
    }
    fn probe(&self, _input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        Probe::NoMatch
    }
}
