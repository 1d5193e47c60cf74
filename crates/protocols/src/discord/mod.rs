//! Discord voice over UDP (Discord developer documentation, "Voice
//! Connections": *IP Discovery*; plus an observed latency ping).
//!
//! * **IP Discovery** opens a voice UDP flow (before the RTP media, which is
//!   why netsift's RTP probe would otherwise name these flows): 74 bytes,
//!   "Type 2 bytes: 0x1 for request, 0x2 for response; Length 2 bytes:
//!   message length excluding Type and Length fields (70); SSRC 4 bytes;
//!   Address 64 bytes: null-terminated string of the external IP; Port
//!   2 bytes: external port". The request carries the SSRC and an empty
//!   address; the response carries the client's external address.
//! * **Latency ping** (observed, Discord's voice-region probe, also sent by
//!   the Riot client's embedded Discord voice): 8 bytes, the magic
//!   0x1337CAFE and a 32-bit counter, echoed unchanged by the server.

use netsift_proto::bytes::{array, be16, be32, le32};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Discord.
pub struct Discord;

const DISCOVERY_LEN: usize = 74;
const PING_MAGIC: [u8; 4] = [0x13, 0x37, 0xca, 0xfe];

/// The null-terminated address of a discovery message (bytes 8..72): an IP
/// literal followed by zeros, or all zeros (a request).
fn address(d: &[u8]) -> Option<&[u8]> {
    let a = d.get(8..72)?;
    let n = a.iter().position(|&b| b == 0).unwrap_or(a.len());
    let (s, rest) = a.split_at(n);
    if rest.iter().any(|&b| b != 0) {
        return None;
    }
    let ok = s
        .iter()
        .all(|&b| b.is_ascii_hexdigit() || b == b'.' || b == b':');
    (ok && (s.is_empty() || s.len() >= 3)).then_some(s)
}

fn discovery(d: &[u8]) -> Option<String> {
    if d.len() != DISCOVERY_LEN || be16(d, 2)? != 70 {
        return None;
    }
    let ty = be16(d, 0)?;
    let ssrc = be32(d, 4)?;
    let addr = address(d)?;
    let port = be16(d, 72)?;
    match ty {
        // Request: the client leaves "Address" empty (the port field is
        // not always zero: discord.pcap's requests carry a value there).
        1 if addr.is_empty() => Some(format!("Discord voice IP discovery request, SSRC {ssrc}")),
        // Response: the client's external address as the server saw it.
        2 if !addr.is_empty() && port != 0 => Some(format!(
            "Discord voice IP discovery response, SSRC {ssrc}, external {}:{port}",
            String::from_utf8_lossy(addr)
        )),
        _ => None,
    }
}

impl Protocol for Discord {
    fn name(&self) -> &'static str {
        "Discord"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[50004]
    }
    // Discord "Voice Connections", IP Discovery: "Type 2 bytes: 0x1 for
    // request, 0x2 for response" (high byte 0x00); the observed latency
    // ping starts with "the magic 0x1337CAFE" (module doc).
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x00, 0x13])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        // O(1) gates on length and first bytes.
        match d.len() {
            DISCOVERY_LEN if matches!(array::<2>(d, 0), Some([0, 1 | 2])) => match discovery(d) {
                Some(e) => Probe::Match(Match::new(e)),
                None => Probe::NoMatch,
            },
            8 if array::<4>(d, 0) == Some(PING_MAGIC) => {
                let seq = le32(d, 4).unwrap_or(0);
                Probe::Match(Match::new(format!(
                    "Discord voice latency ping (0x1337cafe), counter {seq}"
                )))
            }
            _ => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, evidence, feed, input, probe1, C, S,
    };

    const UDP: Transport = Transport::Udp;
    // Sources: testdata/README.md.
    const REQ: &[u8] = include_bytes!("testdata/ipdisc_request.bin");
    const RESP: &[u8] = include_bytes!("testdata/ipdisc_response.bin");
    const PING: &[u8] = include_bytes!("testdata/ping.bin");
    const RTP_AFTER: &[u8] = include_bytes!("testdata/rtp_after.bin");

    #[test]
    fn discovery_and_ping() {
        assert_eq!(
            evidence(probe1(&Discord, UDP, C, REQ)),
            "Discord voice IP discovery request, SSRC 44259"
        );
        assert_eq!(
            evidence(probe1(&Discord, UDP, S, RESP)),
            "Discord voice IP discovery response, SSRC 44259, external 84.59.132.100:57955"
        );
        assert_eq!(
            evidence(probe1(&Discord, UDP, C, PING)),
            "Discord voice latency ping (0x1337cafe), counter 14"
        );
        // The flow is named at its first datagram, before the RTP media.
        assert!(matches!(
            feed(&Discord, UDP, 50004, &[(C, REQ), (S, RESP), (S, RTP_AFTER)]),
            Probe::Match(_)
        ));
    }

    #[test]
    fn first_bytes_declared() {
        for (dir, d) in [(C, REQ), (S, RESP), (C, PING)] {
            crate::testkit::first_bytes_hold(&Discord, &input(UDP, dir, d, &[], 0));
        }
    }

    #[test]
    fn near_misses() {
        // Media alone (mid-session) is RTP's, not claimed here.
        assert_eq!(probe1(&Discord, UDP, S, RTP_AFTER), Probe::NoMatch);
        let mut r = REQ.to_vec();
        r[3] = 71; // wrong length field
        assert_eq!(probe1(&Discord, UDP, C, &r), Probe::NoMatch);
        let mut r = REQ.to_vec();
        r[20] = b'x'; // junk in the empty address
        assert_eq!(probe1(&Discord, UDP, C, &r), Probe::NoMatch);
        let mut r = RESP.to_vec();
        r[8] = b'z'; // not an IP literal
        assert_eq!(probe1(&Discord, UDP, S, &r), Probe::NoMatch);
        let mut p = PING.to_vec();
        p.push(0); // 9 bytes
        assert_eq!(probe1(&Discord, UDP, C, &p), Probe::NoMatch);
        for i in 0..REQ.len() {
            let _ = probe1(&Discord, UDP, C, &REQ[..i]);
        }
    }

    /// nDPI's i3d.pcap holds four flows with exactly these discovery
    /// packets (type 1/2, length 70, SSRC, address) to a Discord voice
    /// server hosted at i3D.net; nDPI names them i3D from the server's
    /// address range, the bytes are Discord's voice IP discovery.
    #[test]
    fn foreign_and_random() {
        assert_foreign_rejected(&Discord, "none");
        assert_random_flows_rejected(&Discord, UDP, 50004);
    }
}
