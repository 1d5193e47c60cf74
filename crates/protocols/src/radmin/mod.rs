//! Radmin (Famatech Remote Administrator) 3.x, TCP (observed protocol:
//! Famatech publishes no specification; layout observed in nDPI's corpus
//! `radmin3.pcapng`).
//!
//! Observed message framing, both directions: `01 00 00 00`, a u16 LE body
//! length, `00`, a type byte, one more header byte, then the body; the
//! first messages are 10 to 46 bytes. The leading `01 00 00 00` is common
//! in binary protocols, so a match needs the framing to hold exactly in
//! both directions' first segments (length fits, the next bytes, if any,
//! start another such message).

use netsift_proto::bytes::{le16, u8_at};
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Radmin.
pub struct Radmin;

const MAGIC: [u8; 4] = [1, 0, 0, 0];
const HDR: usize = 9;

/// `Some(true)` when `d` opens with a well-framed message, `Some(false)`
/// when it cannot, `None` when more bytes are needed.
fn framed(d: &[u8]) -> Option<bool> {
    let n = d.len().min(4);
    if d.get(..n) != MAGIC.get(..n) {
        return Some(false);
    }
    let len = usize::from(le16(d, 4)?);
    if u8_at(d, 6)? != 0 || !(1..=0x400).contains(&len) {
        return Some(false);
    }
    let end = HDR + len;
    if d.len() < end {
        return None;
    }
    // What follows is nothing or the start of another message.
    let rest = d.get(end..).unwrap_or(&[]);
    let m = rest.len().min(4);
    Some(rest.get(..m) == MAGIC.get(..m))
}

impl Protocol for Radmin {
    fn name(&self) -> &'static str {
        "Radmin"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[4899]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        match framed(input.data) {
            Some(false) => return Probe::NoMatch,
            None => return Probe::NeedMore,
            Some(true) => {}
        }
        if input.peer.is_empty() {
            return Probe::NeedMore;
        }
        match framed(input.peer) {
            Some(false) => Probe::NoMatch,
            None => Probe::NeedMore,
            Some(true) => {
                let (s, c) = input.server_client();
                Probe::Match(Match::new(format!(
                    "Radmin framing in both directions (client {}-byte, server {}-byte first message)",
                    HDR + usize::from(le16(c, 4).unwrap_or(0)),
                    HDR + usize::from(le16(s, 4).unwrap_or(0))
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const CLIENT: &[u8] = include_bytes!("testdata/client1.bin");
    const SERVER: &[u8] = include_bytes!("testdata/server1.bin");

    #[test]
    fn both_directions() {
        assert_eq!(
            evidence(probe_at(&Radmin, Transport::Tcp, S, SERVER, CLIENT, 0)),
            "Radmin framing in both directions (client 10-byte, server 46-byte first message)"
        );
        assert_eq!(probe1(&Radmin, Transport::Tcp, C, CLIENT), Probe::NeedMore);
        // A body longer than announced is not this framing.
        let mut long = CLIENT.to_vec();
        long.push(0x55);
        assert_eq!(probe1(&Radmin, Transport::Tcp, C, &long), Probe::NoMatch);
    }

    #[test]
    fn prefixes_random_foreign() {
        check_prefixes(&Radmin, Transport::Tcp, S, SERVER, CLIENT);
        check_prefixes(&Radmin, Transport::Tcp, C, CLIENT, SERVER);
        assert_random_flows_rejected(&Radmin, Transport::Tcp, 4899);
        foreign_never_match(&Radmin, Transport::Tcp);
    }
}
