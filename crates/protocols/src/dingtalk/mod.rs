//! DingTalk's (Alibaba) long-lived connection, the client's first message
//! (observed protocol: no public specification; seen in nDPI's
//! dingtalk.pcap from the Android client).
//!
//! The message is a 4-byte header whose second byte is the length of the
//! body that follows, then a body of type-length-value fields (1-byte
//! type, 16-bit big-endian length, value) that fill it exactly. Field 1 is
//! one byte, field 2 is the two ASCII letters "dk" (the protocol's tag),
//! fields 3-5 carry a 32-byte key and two 8-byte values, and the fields
//! with the high bit set are strings, 0x84 the client's user agent (e.g.
//! `android/3.0.28-dingtalk.gp`).

use netsift_proto::bytes::{be16, u8_at};
use netsift_proto::{Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// DingTalk.
pub struct Dingtalk;

const HEADER: usize = 4;

/// Walk the TLVs of `body`: `Some(user agent)` when they fill it exactly
/// and field 2 is "dk".
fn fields(body: &[u8]) -> Option<Option<&[u8]>> {
    let mut pos = 0;
    let mut dk = false;
    let mut ua = None;
    let mut n = 0;
    while pos < body.len() {
        let t = u8_at(body, pos)?;
        let len = usize::from(be16(body, pos + 1)?);
        let v = body.get(pos + 3..pos + 3 + len)?;
        match t {
            1 if n == 0 && len == 1 => {}
            2 if n == 1 && v == b"dk" => dk = true,
            0x84 if v.iter().all(|b| (0x20..0x7f).contains(b)) => ua = Some(v),
            _ if n < 2 => return None,
            _ => {}
        }
        pos += 3 + len;
        n += 1;
        if n > 32 {
            return None;
        }
    }
    (pos == body.len() && dk).then_some(ua)
}

impl Protocol for Dingtalk {
    fn name(&self) -> &'static str {
        "DingTalk"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.dir != Direction::ToServer {
            return Probe::NoMatch;
        }
        let d = input.data;
        // O(1) gates: the body starts with field 1 (one byte) and field 2
        // ("dk"): bytes 4..11 = 01 00 01 xx 02 00 02.
        let fixed = [
            (4, 0x01),
            (5, 0x00),
            (6, 0x01),
            (8, 0x02),
            (9, 0x00),
            (10, 0x02),
        ];
        for (at, want) in fixed {
            match u8_at(d, at) {
                None => return Probe::NeedMore,
                Some(b) if b != want => return Probe::NoMatch,
                _ => {}
            }
        }
        let Some(len) = u8_at(d, 1) else {
            return Probe::NeedMore;
        };
        let Some(body) = d.get(HEADER..HEADER + usize::from(len)) else {
            return Probe::NeedMore;
        };
        match fields(body) {
            Some(Some(ua)) => Probe::Match(Match::new(format!(
                "DingTalk client hello, user agent '{}'",
                netsift_proto::printable(ua, 48)
            ))),
            Some(None) => {
                Probe::Match(Match::new("DingTalk client hello (TLV body with tag 'dk')"))
            }
            None => Probe::NoMatch,
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
    const HELLO: &[u8] = include_bytes!("testdata/client_hello.bin");

    #[test]
    fn client_hello() {
        assert_eq!(
            evidence(probe1(&Dingtalk, TCP, C, HELLO)),
            "DingTalk client hello, user agent 'android/3.0.28-dingtalk.gp'"
        );
        check_prefixes(&Dingtalk, TCP, C, HELLO, b"");
        assert_eq!(probe1(&Dingtalk, TCP, S, HELLO), Probe::NoMatch);
    }

    #[test]
    fn near_misses() {
        let mut h = HELLO.to_vec();
        h[12] = b'x'; // not "dk"
        assert_eq!(probe1(&Dingtalk, TCP, C, &h), Probe::NoMatch);
        let mut h = HELLO.to_vec();
        h[1] -= 1; // body length off by one: the TLVs no longer fit
        assert_eq!(probe1(&Dingtalk, TCP, C, &h), Probe::NoMatch);
    }

    #[test]
    fn foreign_and_random() {
        foreign_never_match(&Dingtalk, TCP);
        assert_random_flows_rejected(&Dingtalk, TCP, 443);
    }
}
