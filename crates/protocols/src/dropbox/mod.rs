//! Dropbox LAN sync discovery (observed protocol; Dropbox does not publish
//! it). The desktop client broadcasts a UDP datagram to port 17500 holding
//! one JSON object: `{"host_int": <number>, "version": [<major>, <minor>],
//! "displayname": "...", "port": 17500, "namespaces": [<ids>...]}`
//! (observed in nDPI's corpus, e.g. `instagram.pcap` frame 303, and
//! described in public write-ups of the "Dropbox LAN sync discovery
//! protocol"). Newer clients put `"version": [2, 0]` first. One datagram
//! is enough: the four keys `host_int`, `version`, `namespaces` and `port`
//! together are specific to this broadcast.

use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Dropbox.
pub struct Dropbox;

const HOST_INT: &[u8] = b"\"host_int\": ";

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
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
    // Module doc (observed): the broadcast holds "one JSON object"; the
    // probe requires it to start with `{"`.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(b"{")
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        // A JSON object: `{"` first (v1 clients put host_int first, v2
        // clients version first).
        if input.transport != Transport::Udp || !d.starts_with(b"{\"") {
            return Probe::NoMatch;
        }
        let body = d.get(..d.len().min(1500)).unwrap_or(d);
        let Some(at) = find(body, HOST_INT) else {
            return Probe::NoMatch;
        };
        let rest = body.get(at + HOST_INT.len()..).unwrap_or(&[]);
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0
            || find(body, b"\"version\": [").is_none()
            || find(body, b"\"namespaces\": [").is_none()
            || find(body, b"\"port\": ").is_none()
        {
            return Probe::NoMatch;
        }
        let host = rest.get(..digits.min(40)).unwrap_or(&[]);
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
    fn version_2_key_order() {
        // nDPI's corpus `zoom_p2p.pcapng`: a v2 client's broadcast.
        let v2 = b"{\"version\": [2, 0], \"port\": 17500, \"host_int\": 326692855351421250207098258848394887387, \"displayname\": \"\", \"namespaces\": [92446417]}";
        assert_eq!(
            evidence(probe1(&Dropbox, Transport::Udp, C, v2)),
            "Dropbox LAN sync discovery, host_int 326692855351421250207098258848394887387"
        );
    }

    #[test]
    fn first_bytes_declared() {
        crate::testkit::first_bytes_hold(&Dropbox, &input(Transport::Udp, C, BCAST, &[], 0));
    }

    #[test]
    fn prefixes_random_foreign() {
        check_prefixes(&Dropbox, Transport::Udp, C, BCAST, &[]);
        assert_random_flows_rejected(&Dropbox, Transport::Udp, 17500);
        foreign_never_match(&Dropbox, Transport::Udp);
    }
}
