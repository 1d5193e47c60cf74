//! TeamViewer, TCP (observed protocol; TeamViewer publishes no
//! specification). Public reverse-engineering notes and nDPI's corpus
//! (`ossfuzz_seed_fake_traces_2.pcapng`, port 8787 flow) show two framings:
//! * `17 24`, a command byte, a u16 LE body length, then the body (the
//!   first messages of a connection; several may share a segment);
//! * `11 30`, a command byte, a flags byte, then a longer header (later
//!   messages).
//!
//! Two magic bytes are weak, so the probe wants the first message of a
//! direction to use the `17 24` framing with a length that fits the
//! segments exactly: the bytes after the announced body are either absent
//! or the start of another `17 24` / `11 30` message.

use netsift_proto::bytes::{le16, u8_at};
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// TeamViewer.
pub struct TeamViewer;

const HDR: usize = 7;

fn next_ok(rest: &[u8]) -> bool {
    let n = rest.len().min(2);
    rest.get(..n) == [0x17, 0x24].get(..n) || rest.get(..n) == [0x11, 0x30].get(..n)
}

impl Protocol for TeamViewer {
    fn name(&self) -> &'static str {
        "TeamViewer"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[5938]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let d = input.data;
        let n = d.len().min(2);
        if d.get(..n) != [0x17, 0x24].get(..n) {
            return Probe::NoMatch;
        }
        let (Some(cmd), Some(len)) = (u8_at(d, 2), le16(d, 3)) else {
            return Probe::NeedMore;
        };
        if !(1..=0x4000).contains(&len) || cmd == 0 {
            return Probe::NoMatch;
        }
        // 5 + len bytes in all in the observed messages (the body starts
        // with two flag bytes).
        let end = 5 + usize::from(len);
        if d.len() < end.max(HDR) {
            return Probe::NeedMore;
        }
        if !next_ok(d.get(end..).unwrap_or(&[])) {
            return Probe::NoMatch;
        }
        Probe::Match(Match::new(format!(
            "TeamViewer 17 24 message, command 0x{cmd:02x}, {end} bytes"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const CMD: &[u8] = include_bytes!("testdata/cmd.bin");

    #[test]
    fn first_command() {
        assert_eq!(
            evidence(probe1(&TeamViewer, Transport::Tcp, C, CMD)),
            "TeamViewer 17 24 message, command 0x0a, 37 bytes"
        );
        let mut two = CMD.to_vec();
        two.extend_from_slice(CMD);
        assert!(is_match(&probe1(&TeamViewer, Transport::Tcp, C, &two)));
        let mut junk = CMD.to_vec();
        junk.extend_from_slice(b"GET");
        assert_eq!(
            probe1(&TeamViewer, Transport::Tcp, C, &junk),
            Probe::NoMatch
        );
    }

    #[test]
    fn prefixes_random_foreign() {
        check_prefixes(&TeamViewer, Transport::Tcp, C, CMD, &[]);
        assert_random_flows_rejected(&TeamViewer, Transport::Tcp, 5938);
        foreign_never_match(&TeamViewer, Transport::Tcp);
    }
}
