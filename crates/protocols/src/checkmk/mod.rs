//! Checkmk agent protocol (Checkmk documentation, "Monitoring agents" /
//! "The Checkmk agent output"; observed in the nDPI corpus capture).
//!
//! On the classic pull port (6556, plain TCP or xinetd) the agent sends its
//! whole output as soon as the connection opens and the monitoring server
//! sends nothing. The output is a series of sections, each opened by a
//! header line `<<<name>>>` (optionally `<<<name:option...>>>`); the first
//! is always `<<<check_mk>>>` with `Version:`, `AgentOS:`, `Hostname:`...
//! Matched on that first header, from whichever side sends it (push mode
//! reverses the roles). Agents 2.x that negotiate TLS or send compressed or
//! encrypted output are not plain text and are not matched here.

use netsift_proto::{text_line, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Checkmk agent.
pub struct Checkmk;

const HEADER: &[u8] = b"<<<check_mk>>>";

impl Protocol for Checkmk {
    fn name(&self) -> &'static str {
        "CHECKMK"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[6556]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let n = d.len().min(HEADER.len());
        if d.get(..n) != HEADER.get(..n) {
            return Probe::NoMatch;
        }
        match text_line(d, 64) {
            Ok(l) if l == HEADER => {}
            Err(true) => return Probe::NeedMore,
            _ => return Probe::NoMatch,
        }
        // Name the agent version when the next line already arrived.
        let rest = d.get(HEADER.len()..).unwrap_or(&[]);
        let rest = rest.strip_prefix(b"\r").unwrap_or(rest);
        let rest = rest.get(1..).unwrap_or(&[]);
        let ver = match text_line(rest, 80) {
            Ok(l) => l.strip_prefix(b"Version: "),
            Err(_) => None,
        };
        Probe::Match(Match::new(match ver {
            Some(v) => format!(
                "Checkmk agent output, <<<check_mk>>> section, agent version {}",
                netsift_proto::printable(v, 24)
            ),
            None => String::from("Checkmk agent output, <<<check_mk>>> section"),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_random_flows_rejected, check_prefixes, evidence, foreign_never_match, probe1, S,
    };

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const HDR: &[u8] = include_bytes!("testdata/header.bin");
    const VERSION: &[u8] = include_bytes!("testdata/version.bin");

    #[test]
    fn real_output() {
        assert_eq!(
            evidence(probe1(&Checkmk, TCP, S, HDR)),
            "Checkmk agent output, <<<check_mk>>> section"
        );
        let mut both = HDR.to_vec();
        both.extend_from_slice(VERSION);
        assert_eq!(
            evidence(probe1(&Checkmk, TCP, S, &both)),
            "Checkmk agent output, <<<check_mk>>> section, agent version 1.4.0p9"
        );
        check_prefixes(&Checkmk, TCP, S, &both, b"");
        // Another section first is not the start of agent output.
        assert_eq!(
            probe1(&Checkmk, TCP, S, b"<<<df>>>\nudev\n"),
            Probe::NoMatch
        );
        assert_eq!(
            probe1(&Checkmk, TCP, S, b"<<<check_mk>>>x\n"),
            Probe::NoMatch
        );
    }

    #[test]
    fn random_foreign() {
        assert_random_flows_rejected(&Checkmk, TCP, 6556);
        foreign_never_match(&Checkmk, TCP);
    }
}
