//! Dropbox LAN sync discovery (observed protocol; Dropbox does not publish
//! it). The desktop client broadcasts a UDP datagram to port 17500 holding
//! one JSON object: `{"host_int": <number>, "version": [<major>, <minor>],
//! "displayname": "...", "port": 17500, "namespaces": [<ids>...]}`
//! (observed in nDPI's corpus, e.g. `instagram.pcap` frame 303, and
//! described in public write-ups of the "Dropbox LAN sync discovery
//! protocol"). One datagram is enough: the key order and the `host_int`
//! key are fixed by the client.

use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Dropbox.
pub struct Dropbox;

const HEAD: &[u8] = b"{\"host_int\": ";

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

impl Protocol for Dropbox {
    fn name(&self) -> &'static str {
        "Dropbox"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[17500]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        if input.transport != Transport::Udp || !d.starts_with(HEAD) {
            return Probe::NoMatch;
        }
        let Some(rest) = d.get(HEAD.len()..) else {
            return Probe::NoMatch;
        };
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let body = d.get(..d.len().min(1024)).unwrap_or(d);
        if digits == 0
            || !contains(body, b"\"version\": [")
            || !contains(body, b"\"namespaces\": [")
        {
            return Probe::NoMatch;
        }
        let host = rest.get(..digits.min(20)).unwrap_or(&[]);
        Probe::Match(Match::new(format!(
            "Dropbox LAN sync discovery, host_int {}",
            String::from_utf8_lossy(host)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const BCAST: &[u8] = include_bytes!("testdata/lansync.bin");

    #[test]
    fn lan_sync_broadcast() {
        assert_eq!(
            evidence(probe1(&Dropbox, Transport::Udp, C, BCAST)),
            "Dropbox LAN sync discovery, host_int 413767116"
        );
        assert_eq!(
            probe1(&Dropbox, Transport::Udp, C, b"{\"host_int\": 12}"),
            Probe::NoMatch
        );
    }

    #[test]
    fn prefixes_random_foreign() {
        check_prefixes(&Dropbox, Transport::Udp, C, BCAST, &[]);
        assert_random_flows_rejected(&Dropbox, Transport::Udp, 17500);
        foreign_never_match(&Dropbox, Transport::Udp);
    }
}
