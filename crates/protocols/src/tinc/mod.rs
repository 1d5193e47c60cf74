//! tinc VPN meta protocol, TCP (tinc manual, "The meta-protocol" /
//! "Authentication protocol"; tinc's `docs/PROTOCOL`).
//!
//! "The connecting daemon sends an ID message": request number 0, the
//! node's name and the protocol version, one line: `0 <name> 17` (tinc
//! 1.0) or `0 <name> 17.<minor>` (tinc 1.1, e.g. `17.7`), and the other
//! daemon answers with its own ID line. Node names are letters, digits and
//! underscores. Either direction's first line decides.

use netsift_proto::{
    printable, text_line, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// TINC.
pub struct Tinc;

/// Whether `l` is `0 <name> 17[.<minor>]`.
fn id_line(l: &[u8]) -> Option<(&[u8], &[u8])> {
    let rest = l.strip_prefix(b"0 ")?;
    let sp = rest.iter().position(|&b| b == b' ')?;
    let (name, ver) = (rest.get(..sp)?, rest.get(sp + 1..)?);
    let name_ok = (1..=64).contains(&name.len())
        && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_');
    let minor = ver.strip_prefix(b"17")?;
    let minor_ok = minor.is_empty()
        || minor
            .strip_prefix(b".")
            .is_some_and(|m| (1..=3).contains(&m.len()) && m.iter().all(u8::is_ascii_digit));
    (name_ok && minor_ok).then_some((name, ver))
}

impl Protocol for Tinc {
    fn name(&self) -> &'static str {
        "TINC"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[655]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let d = input.data;
        // Cheap rejection: "0 " first.
        let n = d.len().min(2);
        if d.get(..n) != b"0 ".get(..n) {
            return Probe::NoMatch;
        }
        match text_line(d, 80) {
            Err(true) => Probe::NeedMore,
            Err(false) => Probe::NoMatch,
            Ok(l) => match id_line(l) {
                Some((name, ver)) => Probe::Match(Match::new(format!(
                    "tinc meta protocol ID: node '{}', protocol {}",
                    printable(name, 32),
                    printable(ver, 8)
                ))),
                None => Probe::NoMatch,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    #[test]
    fn id_lines() {
        assert_eq!(
            evidence(probe1(
                &Tinc,
                Transport::Tcp,
                C,
                b"0 alice 17.7\n1 94 64 0 0 4a3f"
            )),
            "tinc meta protocol ID: node 'alice', protocol 17.7"
        );
        assert_eq!(
            evidence(probe1(&Tinc, Transport::Tcp, S, b"0 node_b 17\n")),
            "tinc meta protocol ID: node 'node_b', protocol 17"
        );
        assert_eq!(
            probe1(&Tinc, Transport::Tcp, C, b"0 alice 18\n"),
            Probe::NoMatch
        );
        assert_eq!(
            probe1(&Tinc, Transport::Tcp, C, b"0 a-b 17\n"),
            Probe::NoMatch
        );
        check_prefixes(&Tinc, Transport::Tcp, C, b"0 alice 17.7\n", &[]);
    }

    #[test]
    fn random_and_foreign() {
        assert_random_flows_rejected(&Tinc, Transport::Tcp, 655);
        foreign_never_match(&Tinc, Transport::Tcp);
    }
}
