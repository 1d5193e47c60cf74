//! Citrix ICA (Independent Computing Architecture) and CGP (Common Gateway
//! Protocol, ICA session reliability), TCP (observed protocol; Citrix does
//! not publish the wire format; the openings below are described in
//! public protocol write-ups and Wireshark's ICA/CGP notes).
//!
//! * ICA on 1494: the server announces itself with the detect string
//!   `7F 7F 'I' 'C' 'A' 00`, repeated until the client answers with the
//!   same bytes.
//! * CGP on 2598: the client opens with `1A 'C' 'G' 'P' '/' '0' '1'` and the
//!   server echoes it.
//!
//! Both are six- or seven-byte constants at the start of a stream.

use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Citrix.
pub struct Citrix;

const ICA: &[u8] = b"\x7f\x7fICA\x00";
const CGP: &[u8] = b"\x1aCGP/01";

impl Protocol for Citrix {
    fn name(&self) -> &'static str {
        "Citrix"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[1494, 2598]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let d = input.data;
        let mut more = false;
        for (magic, what) in [(ICA, "ICA detect string"), (CGP, "CGP/01 greeting")] {
            let n = d.len().min(magic.len());
            if d.get(..n) == magic.get(..n) {
                if n == magic.len() {
                    return Probe::Match(Match::new(format!("Citrix {what}")));
                }
                more = true;
            }
        }
        if more {
            Probe::NeedMore
        } else {
            Probe::NoMatch
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    #[test]
    fn ica_and_cgp() {
        // The server repeats the detect string.
        let ica = b"\x7f\x7fICA\x00\x7f\x7fICA\x00";
        assert_eq!(
            evidence(probe1(&Citrix, Transport::Tcp, S, ica)),
            "Citrix ICA detect string"
        );
        // CGP: magic then the first CGP command bytes.
        let cgp = b"\x1aCGP/01\x0b\x00\x03\x00\x04\x00";
        assert_eq!(
            evidence(probe1(&Citrix, Transport::Tcp, C, cgp)),
            "Citrix CGP/01 greeting"
        );
        check_prefixes(&Citrix, Transport::Tcp, S, ica, &[]);
        check_prefixes(&Citrix, Transport::Tcp, C, cgp, &[]);
        assert_eq!(
            probe1(&Citrix, Transport::Tcp, C, b"\x7f\x7fIC!"),
            Probe::NoMatch
        );
    }

    #[test]
    fn random_and_foreign() {
        assert_random_flows_rejected(&Citrix, Transport::Tcp, 1494);
        foreign_never_match(&Citrix, Transport::Tcp);
    }
}
