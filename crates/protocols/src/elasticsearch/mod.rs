//! Elasticsearch transport protocol (node-to-node and transport-client
//! traffic, usually port 9300). No formal specification is published; the
//! layout is the one of Elasticsearch's `TcpHeader` / `InboundDecoder`
//! sources (read for facts only) and was checked against the nDPI corpus
//! capture (Elasticsearch 6.8 handshakes and 7.6 cluster traffic).
//!
//! ```text
//! 'E' 'S' | message length (i32 BE, bytes after these 6) | request id (i64)
//!         | status (1) | version id (i32) | [7.6+: variable header size (i32)]
//! ```
//!
//! Status bits: 0x01 response, 0x02 error, 0x04 compressed, 0x08
//! handshake. Version ids are `major*1000000 + minor*10000 + revision*100 +
//! build` (6.8.0 = 6080099; 8.x transport versions keep that magnitude). A
//! ping is `'E' 'S'` with length -1 and nothing else; pings only keep the
//! probe waiting for a real message.
//!
//! Every message carries the header, so a capture that starts mid-session
//! at a message boundary is recognised too. The HTTP REST API (port 9200)
//! is plain HTTP and left to the HTTP probe.

use netsift_proto::bytes::{be32, u8_at};
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Elasticsearch transport protocol.
pub struct Elasticsearch;

/// Header bytes up to and including the version id.
const HDR: usize = 19;
/// The largest transport message we accept as plausible (Elasticsearch
/// refuses messages above 90% of the heap; 1 GiB is far above real ones).
const MAX_LEN: u32 = 1 << 30;

impl Protocol for Elasticsearch {
    fn name(&self) -> &'static str {
        "Elasticsearch"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[9300]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let mut d = input.data;
        // Skip pings (at most a few) to reach a real message.
        for _ in 0..8 {
            match d {
                [] | [b'E'] => return Probe::NeedMore,
                [b'E', b'S', rest @ ..] => {
                    let n = rest.len().min(4);
                    if rest.get(..n) == Some(&[0xff; 4][..n]) {
                        if n < 4 {
                            return Probe::NeedMore;
                        }
                        d = rest.get(4..).unwrap_or(&[]);
                        continue;
                    }
                    break;
                }
                _ => return Probe::NoMatch,
            }
        }
        match header(d) {
            Some(Some(e)) => Probe::Match(Match::new(e)),
            Some(None) => Probe::NeedMore,
            None => Probe::NoMatch,
        }
    }
}

/// `None`: not a header; `Some(None)`: too short yet; `Some(Some(ev))`.
fn header(d: &[u8]) -> Option<Option<String>> {
    let n = d.len().min(2);
    if d.get(..n)? != b"ES".get(..n)? {
        return None;
    }
    let Some(len) = be32(d, 2) else {
        return Some(None);
    };
    // Request id (8) + status (1) + version (4) at least.
    if !(13..=MAX_LEN).contains(&len) {
        return None;
    }
    let Some(status) = u8_at(d, 14) else {
        return Some(None);
    };
    if status & !0x0f != 0 {
        return None;
    }
    let Some(version) = be32(d, 15) else {
        return Some(None);
    };
    // 1.0.0 (1000099) up to 99.x; 5.x+ servers also speak to 2.x..
    if !(1_000_000..100_000_000).contains(&version) {
        return None;
    }
    let kind = match (status & 0x01 != 0, status & 0x08 != 0, status & 0x02 != 0) {
        (false, true, _) => "handshake request",
        (true, true, _) => "handshake response",
        (false, false, _) => "request",
        (true, false, false) => "response",
        (true, false, true) => "error response",
    };
    let (maj, min, rev) = (
        version / 1_000_000,
        version / 10_000 % 100,
        version / 100 % 100,
    );
    let mut ev = format!("Elasticsearch transport {kind}, version {maj}.{min}.{rev}");
    // Only requests name their action (responses are matched by request id).
    if let Some(a) = (status & 0x01 == 0)
        .then(|| action(d.get(HDR..).unwrap_or(&[])))
        .flatten()
    {
        ev.push_str(&format!(", action '{a}'"));
    }
    Some(Some(ev))
}

/// The action name of a request (`internal:tcp/handshake`,
/// `indices:data/read/search[phase/query]`, ...), found in the first 512
/// bytes after the header.
fn action(d: &[u8]) -> Option<String> {
    let d = d.get(..d.len().min(512))?;
    let start = [&b"internal:"[..], b"indices:", b"cluster:"]
        .iter()
        .filter_map(|p| d.windows(p.len()).position(|w| w == *p))
        .min()?;
    let rest = d.get(start..)?;
    let end = rest
        .iter()
        .position(|&b| !(0x21..0x7f).contains(&b))
        .unwrap_or(rest.len())
        .min(64);
    Some(String::from_utf8_lossy(rest.get(..end)?).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_random_flows_rejected, check_prefixes, evidence, foreign_never_match, probe1, C, S,
    };

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const HS_REQ: &[u8] = include_bytes!("testdata/handshake_request.bin");
    const HS_RESP: &[u8] = include_bytes!("testdata/handshake_response.bin");
    const ERR: &[u8] = include_bytes!("testdata/error_response.bin");
    const SEARCH: &[u8] = include_bytes!("testdata/search_request.bin");

    #[test]
    fn real_messages() {
        assert_eq!(
            evidence(probe1(&Elasticsearch, TCP, C, HS_REQ)),
            "Elasticsearch transport handshake request, version 6.8.0, action 'internal:tcp/handshake'"
        );
        assert_eq!(
            evidence(probe1(&Elasticsearch, TCP, S, HS_RESP)),
            "Elasticsearch transport handshake response, version 6.8.0"
        );
        // Mid-session, one direction only (the capture holds no handshake).
        assert_eq!(
            evidence(probe1(&Elasticsearch, TCP, S, ERR)),
            "Elasticsearch transport error response, version 7.6.2"
        );
        assert_eq!(
            evidence(probe1(&Elasticsearch, TCP, C, SEARCH)),
            "Elasticsearch transport request, version 7.6.2, action 'indices:data/read/search[phase/query]'"
        );
    }

    #[test]
    fn pings_then_message() {
        let mut d = b"ES\xff\xff\xff\xffES\xff\xff\xff\xff".to_vec();
        assert_eq!(probe1(&Elasticsearch, TCP, C, &d), Probe::NeedMore);
        d.extend_from_slice(HS_RESP);
        assert!(evidence(probe1(&Elasticsearch, TCP, C, &d)).contains("handshake response"));
        check_prefixes(&Elasticsearch, TCP, C, &d, b"");
    }

    #[test]
    fn bad_headers() {
        let mut b = HS_REQ.to_vec();
        b[14] = 0x10; // undefined status bit
        assert_eq!(probe1(&Elasticsearch, TCP, C, &b), Probe::NoMatch);
        let mut b = HS_REQ.to_vec();
        b[15] = 0x40; // version id out of range
        assert_eq!(probe1(&Elasticsearch, TCP, C, &b), Probe::NoMatch);
        assert_eq!(
            probe1(&Elasticsearch, TCP, C, b"ESMTP ready\r\n"),
            Probe::NoMatch
        );
    }

    #[test]
    fn prefixes_random_foreign() {
        for (d, dir) in [(HS_REQ, C), (HS_RESP, S), (ERR, S), (SEARCH, C)] {
            check_prefixes(&Elasticsearch, TCP, dir, d, b"");
        }
        assert_random_flows_rejected(&Elasticsearch, TCP, 9300);
        foreign_never_match(&Elasticsearch, TCP);
    }
}
