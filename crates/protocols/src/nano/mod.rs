//! Nano (formerly RaiBlocks) node-to-node protocol (Nano documentation,
//! "Protocol Design > Networking", message header).
//!
//! Every message starts with an 8-byte header: magic 'R', network id
//! ('A' dev, 'B' beta, 'C' live, 'X' test), version max, version using,
//! version min, message type, extensions (u16 LE). Message types 0x02
//! keepalive .. 0x0f asc_pull_ack; a TCP connection opens with
//! node_id_handshake (0x0a). Versions satisfy min <= using <= max.
//!
//! Two bytes of magic are weak, so the probe wants both directions to open
//! with such a header for the same network (the responder answers the
//! handshake), or one direction to carry two consecutive headers.

use netsift_proto::bytes::{array, le16};
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Nano.
pub struct Nano;

fn network(id: u8) -> Option<&'static str> {
    Some(match id {
        b'A' => "dev",
        b'B' => "beta",
        b'C' => "live",
        b'X' => "test",
        _ => return None,
    })
}

/// `Some(Some(h))` for a valid header, `Some(None)` when more bytes are
/// needed, `None` when not a header.
fn header(d: &[u8]) -> Option<Option<[u8; 8]>> {
    // Check the bytes that are there.
    let n = d.len().min(8);
    let h = d.get(..n)?;
    if h.first().is_some_and(|&b| b != b'R') || h.get(1).is_some_and(|&b| network(b).is_none()) {
        return None;
    }
    let Some(h) = array::<8>(d, 0) else {
        return Some(None);
    };
    let (max, using, min, ty) = (h[2], h[3], h[4], h[5]);
    let versions = (0x0f..=0x40).contains(&min) && min <= using && using <= max && max <= 0x40;
    if !versions || !(0x02..=0x0f).contains(&ty) || ty == 0x09 {
        return None;
    }
    Some(Some(h))
}

fn msg_name(ty: u8) -> &'static str {
    match ty {
        0x02 => "keepalive",
        0x03 => "publish",
        0x04 => "confirm_req",
        0x05 => "confirm_ack",
        0x06 => "bulk_pull",
        0x07 => "bulk_push",
        0x08 => "frontier_req",
        0x0a => "node_id_handshake",
        0x0b => "bulk_pull_account",
        0x0c => "telemetry_req",
        0x0d => "telemetry_ack",
        0x0e => "asc_pull_req",
        _ => "asc_pull_ack",
    }
}

impl Protocol for Nano {
    fn name(&self) -> &'static str {
        "Nano"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[7075]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let h = match header(input.data) {
            None => return Probe::NoMatch,
            Some(None) => return Probe::NeedMore,
            Some(Some(h)) => h,
        };
        // The other side must agree (or has not spoken yet).
        let peer = match header(input.peer) {
            None if !input.peer.is_empty() => return Probe::NoMatch,
            Some(Some(p)) => Some(p),
            _ => None,
        };
        let net = network(h[1]).unwrap_or("?");
        match peer {
            Some(p) if p[1] == h[1] => Probe::Match(Match::new(format!(
                "Nano {net} network {} (protocol v{}), peer answered with a Nano header",
                msg_name(h[5]),
                h[3]
            ))),
            Some(_) => Probe::NoMatch,
            None => {
                // One direction: a node_id_handshake query is header + a
                // 32-byte cookie; the next message must follow it.
                let ext = le16(input.data, 6).unwrap_or(0);
                if h[5] == 0x0a && ext & 0x0003 == 0x0001 {
                    match header(input.data.get(40..).unwrap_or(&[])) {
                        Some(Some(n)) if n[1] == h[1] => {
                            return Probe::Match(Match::new(format!(
                                "Nano {net} network node_id_handshake then {}",
                                msg_name(n[5])
                            )))
                        }
                        None if input.data.len() > 40 => return Probe::NoMatch,
                        _ => {}
                    }
                }
                Probe::NeedMore
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const QUERY: &[u8] = include_bytes!("testdata/handshake_query.bin");
    const RESPONSE: &[u8] = include_bytes!("testdata/handshake_response.bin");

    #[test]
    fn handshake_both_directions() {
        assert_eq!(
            probe1(&Nano, Transport::Tcp, C, QUERY),
            Probe::NeedMore,
            "one header alone is not enough"
        );
        let e = evidence(probe_at(&Nano, Transport::Tcp, S, RESPONSE, QUERY, 0));
        assert_eq!(
            e,
            "Nano live network node_id_handshake (protocol v20), peer answered with a Nano header"
        );
        assert!(is_match(&probe_at(
            &Nano,
            Transport::Tcp,
            C,
            QUERY,
            RESPONSE,
            0
        )));
        // A peer that is not Nano.
        assert_eq!(
            probe_at(&Nano, Transport::Tcp, C, QUERY, b"HTTP/1.1 200 OK\r\n", 0),
            Probe::NoMatch
        );
    }

    #[test]
    fn prefixes_random_foreign() {
        check_prefixes(&Nano, Transport::Tcp, S, RESPONSE, QUERY);
        assert_random_flows_rejected(&Nano, Transport::Tcp, 7075);
        foreign_never_match(&Nano, Transport::Tcp);
    }
}
