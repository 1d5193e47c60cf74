//! Roughtime (Google's original protocol description, and the IETF
//! draft-ietf-ntp-roughtime framing), UDP port 2002.
//!
//! A Roughtime message is a tag/value map: `num_tags` (uint32
//! little-endian), `num_tags - 1` offsets (uint32 LE, multiples of 4,
//! non-decreasing, within the values), `num_tags` tags (4 octets each,
//! "tags MUST be listed in strictly increasing order" as uint32 LE), then
//! the values. Tags are ASCII names padded with 0x00 (`SIG\0`) or 0xff
//! (`PAD\xff`). Requests are padded to at least 1024 octets. The IETF
//! drafts prefix the message with the 8-octet `ROUGHTIM` and a uint32 LE
//! message length.

use netsift_proto::bytes::{array, le32};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Roughtime.
pub struct Roughtime;

fn tag_ok(t: [u8; 4]) -> bool {
    t[0].is_ascii_uppercase()
        && t.iter()
            .all(|&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == 0 || b == 0xff)
}

/// `Some(tags)` if `m` is a well-formed tag/value map.
fn message(m: &[u8]) -> Option<Vec<[u8; 4]>> {
    let n = le32(m, 0)? as usize;
    if n == 0 || n > 32 {
        return None;
    }
    let hdr = 8 * n;
    let vals = m.len().checked_sub(hdr)?;
    let mut prev_off = 0u32;
    for i in 0..n - 1 {
        let off = le32(m, 4 + 4 * i)?;
        if off % 4 != 0 || off < prev_off || off as usize > vals {
            return None;
        }
        prev_off = off;
    }
    let mut prev_tag = None;
    let tags_at = 4 * n;
    for i in 0..n {
        let t: [u8; 4] = array(m, tags_at + 4 * i)?;
        if !tag_ok(t) {
            return None;
        }
        let v = u32::from_le_bytes(t);
        if prev_tag.is_some_and(|p| v <= p) {
            return None;
        }
        prev_tag = Some(v);
    }
    // Matching: the tag list for evidence.
    Some((0..n).filter_map(|i| array(m, tags_at + 4 * i)).collect())
}

impl Protocol for Roughtime {
    fn name(&self) -> &'static str {
        "Roughtime"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[2002]
    }
    // A message starts with "num_tags (uint32 little-endian)", which the
    // probe takes in 1..=32; the IETF drafts' framing starts with the
    // 8-octet "ROUGHTIM" (the only form over TCP).
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::range(1, 32).or(FirstBytes::only(b"R"))
    }
    fn probe(&self, input: &ProbeInput<'_>, _s: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let tcp = input.transport == Transport::Tcp;
        let m = match d.get(..8) {
            Some(b"ROUGHTIM") => {
                let Some(len) = le32(d, 8) else {
                    return if tcp { Probe::NeedMore } else { Probe::NoMatch };
                };
                let len = len as usize;
                match d.get(12..12 + len) {
                    Some(m) if tcp || d.len() == 12 + len => m,
                    None if tcp && len <= 65536 => return Probe::NeedMore,
                    _ => return Probe::NoMatch,
                }
            }
            // The original format is UDP only.
            _ if tcp => {
                return if b"ROUGHTIM".starts_with(d) {
                    Probe::NeedMore
                } else {
                    Probe::NoMatch
                }
            }
            _ => d,
        };
        // Cheap first check: a small tag count, then the first tag.
        match le32(m, 0) {
            Some(n) if (1..=32).contains(&n) => {}
            _ => return Probe::NoMatch,
        }
        let Some(tags) = message(m) else {
            return Probe::NoMatch;
        };
        let names: Vec<String> = tags
            .iter()
            .map(|t| {
                t.iter()
                    .filter(|b| b.is_ascii_alphanumeric())
                    .map(|&b| char::from(b))
                    .collect()
            })
            .collect();
        let kind = if tags.iter().any(|t| t == b"NONC") && !tags.iter().any(|t| t == b"SREP") {
            "request"
        } else {
            "response"
        };
        Probe::Match(Match::new(format!(
            "Roughtime {kind} ({})",
            names.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, check_prefixes, evidence,
        foreign_never_match, probe1, C, S,
    };

    const UDP: Transport = Transport::Udp;
    // Sources: testdata/README.md.
    const REQ: &[u8] = include_bytes!("testdata/google_request.bin");
    const RESP: &[u8] = include_bytes!("testdata/response.bin");

    #[test]
    fn exchange() {
        assert_eq!(
            evidence(probe1(&Roughtime, UDP, C, REQ)),
            "Roughtime request (NONC, PAD)"
        );
        assert_eq!(
            evidence(probe1(&Roughtime, UDP, S, RESP)),
            "Roughtime response (SIG, PATH, SREP, CERT, INDX)"
        );
        // IETF framing over TCP.
        let mut framed = b"ROUGHTIM".to_vec();
        framed.extend_from_slice(&(REQ.len() as u32).to_le_bytes());
        framed.extend_from_slice(REQ);
        assert_eq!(
            evidence(probe1(&Roughtime, Transport::Tcp, C, &framed)),
            "Roughtime request (NONC, PAD)"
        );
        check_prefixes(&Roughtime, Transport::Tcp, C, &framed, &[]);
        check_prefixes(&Roughtime, UDP, S, RESP, &[]);
    }

    #[test]
    fn first_bytes_declared() {
        use crate::testkit::input;
        let mut framed = b"ROUGHTIM".to_vec();
        framed.extend_from_slice(&(REQ.len() as u32).to_le_bytes());
        framed.extend_from_slice(REQ);
        for (t, dir, d) in [
            (UDP, C, REQ),
            (UDP, S, RESP),
            (UDP, C, &framed[..]),
            (Transport::Tcp, C, &framed[..]),
            (Transport::Tcp, C, &framed[..3]),
        ] {
            crate::testkit::first_bytes_hold(&Roughtime, &input(t, dir, d, b"", 0));
        }
    }

    #[test]
    fn rejects_random_and_foreign() {
        assert_random_flows_rejected(&Roughtime, UDP, 2002);
        assert_random_flows_rejected(&Roughtime, Transport::Tcp, 2002);
        foreign_never_match(&Roughtime, UDP);
        assert_foreign_rejected(&Roughtime, "roughtime");
    }
}
