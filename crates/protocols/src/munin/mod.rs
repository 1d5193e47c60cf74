//! Munin node protocol (Munin documentation, "Munin-node protocol" /
//! `munin-node` man page; observed in the nDPI corpus capture).
//!
//! The node speaks first with the greeting line `# munin node at <host>\n`.
//! The master then sends line commands (`cap multigraph dirtyconfig`,
//! `list [node]`, `nodes`, `config <plugin>`, `fetch <plugin>`, `version`,
//! `quit`); the node answers `cap <capabilities>` to `cap`, values and
//! `.`-terminated blocks to the rest.
//!
//! Matched on the greeting, or (one-direction capture, or a capture that
//! missed the greeting) on the master's capability negotiation
//! `cap multigraph ...`, which no other protocol sends.

use netsift_proto::{printable, text_line, Direction, Match, Probe, ProbeInput};
use netsift_proto::{ProbeScratch, Protocol, Transport};

/// Munin.
pub struct Munin;

const GREETING: &[u8] = b"# munin node at ";
const CAP: &[u8] = b"cap multigraph";

impl Protocol for Munin {
    fn name(&self) -> &'static str {
        "Munin"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[4949]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let (lead, what) = match input.dir {
            Direction::ToClient => (GREETING, "greeting"),
            Direction::ToServer => (CAP, "capabilities request"),
        };
        let n = d.len().min(lead.len());
        if d.get(..n) != lead.get(..n) {
            return Probe::NoMatch;
        }
        match text_line(d, 256) {
            Ok(l) => Probe::Match(Match::new(format!(
                "Munin node {what} '{}'",
                printable(l, 64)
            ))),
            Err(true) => Probe::NeedMore,
            Err(false) => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_random_flows_rejected, check_prefixes, evidence, foreign_never_match, probe1, C, S,
    };

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const BANNER: &[u8] = include_bytes!("testdata/banner.bin");
    const CAPS: &[u8] = include_bytes!("testdata/cap.bin");
    const LIST: &[u8] = include_bytes!("testdata/list.bin");

    #[test]
    fn real_messages() {
        assert_eq!(
            evidence(probe1(&Munin, TCP, S, BANNER)),
            "Munin node greeting '# munin node at kibana-node01'"
        );
        // Client side alone (a capture that starts after the greeting).
        assert_eq!(
            evidence(probe1(&Munin, TCP, C, CAPS)),
            "Munin node capabilities request 'cap multigraph dirtyconfig'"
        );
        // `list` alone is too common a word to name the flow.
        assert_eq!(probe1(&Munin, TCP, C, LIST), Probe::NoMatch);
        // The node's `cap` answer travels the other way and does not count
        // as a greeting.
        assert_eq!(probe1(&Munin, TCP, S, CAPS), Probe::NoMatch);
    }

    #[test]
    fn prefixes_random_foreign() {
        check_prefixes(&Munin, TCP, S, BANNER, b"");
        check_prefixes(&Munin, TCP, C, CAPS, BANNER);
        assert_random_flows_rejected(&Munin, TCP, 4949);
        foreign_never_match(&Munin, TCP);
    }
}
