//! NoMachine NX protocol, TCP (observed protocol; NoMachine publishes no
//! wire specification). The NX client opens with the text line
//! `NXSH-<version>\n` and the nxd server answers `NXD-<version>\n`
//! (e.g. `NXSH-8.10.1`, `NXD-8.10.1` in nDPI's corpus `nomachine.pcapng`),
//! then both switch to TLS. The version is digits and dots.

use netsift_proto::{printable, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// NoMachine.
pub struct NoMachine;

/// `Some(true)` for `<prefix><version>\n`, `None` if more bytes could
/// still make it one.
fn banner(d: &[u8], prefix: &[u8]) -> Option<bool> {
    let n = d.len().min(prefix.len());
    if d.get(..n) != prefix.get(..n) {
        return Some(false);
    }
    let rest = d.get(prefix.len()..)?;
    for (i, &b) in rest.iter().take(24).enumerate() {
        match b {
            b'0'..=b'9' => {}
            b'.' if i > 0 => {}
            b'\n' | b'\r' => return Some(i > 0),
            _ => return Some(false),
        }
    }
    if rest.len() >= 24 {
        Some(false)
    } else {
        None
    }
}

impl Protocol for NoMachine {
    fn name(&self) -> &'static str {
        "NoMachine"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[4000]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let d = input.data;
        let mut more = false;
        for (prefix, who) in [(&b"NXSH-"[..], "client"), (&b"NXD-"[..], "server")] {
            match banner(d, prefix) {
                Some(true) => {
                    let line = d
                        .iter()
                        .position(|&b| b == b'\n' || b == b'\r')
                        .unwrap_or(0);
                    return Probe::Match(Match::new(format!(
                        "NoMachine NX {who} greeting '{}'",
                        printable(d.get(..line).unwrap_or(&[]), 32)
                    )));
                }
                None => more = true,
                Some(false) => {}
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

    const NXSH: &[u8] = include_bytes!("testdata/nxsh.bin");
    const NXD: &[u8] = include_bytes!("testdata/nxd.bin");

    #[test]
    fn greetings() {
        assert_eq!(
            evidence(probe1(&NoMachine, Transport::Tcp, C, NXSH)),
            "NoMachine NX client greeting 'NXSH-8.10.1'"
        );
        assert_eq!(
            evidence(probe1(&NoMachine, Transport::Tcp, S, NXD)),
            "NoMachine NX server greeting 'NXD-8.10.1'"
        );
        assert_eq!(
            probe1(&NoMachine, Transport::Tcp, C, b"NXD-x\n"),
            Probe::NoMatch
        );
        assert_eq!(
            probe1(&NoMachine, Transport::Tcp, C, b"NXD-\n"),
            Probe::NoMatch
        );
    }

    #[test]
    fn prefixes_random_foreign() {
        check_prefixes(&NoMachine, Transport::Tcp, C, NXSH, &[]);
        check_prefixes(&NoMachine, Transport::Tcp, S, NXD, NXSH);
        assert_random_flows_rejected(&NoMachine, Transport::Tcp, 4000);
        foreign_never_match(&NoMachine, Transport::Tcp);
    }
}
