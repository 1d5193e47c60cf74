//! UBNTAC2: Ubiquiti's device discovery protocol (UDP 10001), used by
//! UniFi/AirOS/EdgeOS devices and their controllers. Vendor protocol with
//! no official specification; layout as documented by the community
//! (e.g. the Wireshark UBDP dissector) and checked against nDPI's
//! ubntac2.pcap:
//!
//! ```text
//! 0         1       2            4
//! | version | cmd   | length (BE) | TLVs ... |
//! ```
//! * version 1 (cmd 0x00) or 2 (cmd 0x06 announce, 0x08 request, 0x09,
//!   0x0b);
//! * `length` counts the octets after this 4-octet header;
//! * each TLV: type (1 octet), length (2 octets, BE), value. Types seen:
//!   0x01 MAC, 0x02 MAC+IPv4, 0x03 firmware, 0x0a uptime, 0x0b hostname,
//!   0x0c platform, 0x0d ESSID, 0x14 model, 0x16 version, ...
//!
//! A discovery request is the bare 4-octet header with length 0
//! (`01 00 00 00`, `02 08 00 00`). A reply/announce is accepted when the
//! length matches the datagram and at least two TLVs fill it exactly; the
//! 4-octet request alone is too short to decide, so it is accepted only
//! with a matching reply as peer, or toward port 10001 (the port only lets
//! the exact, all-fixed 4-octet request conclude one packet earlier).

use netsift_proto::bytes::{be16, u8_at};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// UBNTAC2.
pub struct Ubntac2;

const HEADER: usize = 4;
const PORT: u16 = 10001;

fn header_ok(ver: u8, cmd: u8) -> bool {
    matches!((ver, cmd), (1, 0x00) | (2, 0x06 | 0x08 | 0x09 | 0x0b))
}

/// Walk the TLVs; `Some(count)` when they fill `tlvs` exactly with
/// plausible types.
fn walk(tlvs: &[u8]) -> Option<usize> {
    let mut pos = 0usize;
    let mut n = 0usize;
    while pos < tlvs.len() {
        let ty = u8_at(tlvs, pos)?;
        let len = usize::from(be16(tlvs, pos + 1)?);
        // Known TLV types are small numbers (0x01..0x30 in practice).
        if ty == 0 || ty > 0x40 {
            return None;
        }
        pos += 3 + len;
        n += 1;
        if n > 64 {
            return None;
        }
    }
    (pos == tlvs.len()).then_some(n)
}

/// A reply/announce: `Some(tlv count)`.
fn reply(d: &[u8]) -> Option<(u8, u8, usize)> {
    let (ver, cmd, len) = (u8_at(d, 0)?, u8_at(d, 1)?, be16(d, 2)?);
    if !header_ok(ver, cmd) || usize::from(len) + HEADER != d.len() || len == 0 {
        return None;
    }
    let n = walk(d.get(HEADER..)?)?;
    (n >= 2).then_some((ver, cmd, n))
}

fn is_request(d: &[u8]) -> bool {
    matches!(d, [1, 0, 0, 0] | [2, 0x08, 0, 0])
}

impl Protocol for Ubntac2 {
    fn name(&self) -> &'static str {
        "UBNTAC2"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[PORT]
    }
    // Header `version | cmd | length`: "version 1 (cmd 0x00) or 2".
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[1, 2])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let Some(&ver) = d.first() else {
            return Probe::NoMatch;
        };
        if ver != 1 && ver != 2 {
            return Probe::NoMatch;
        }
        if is_request(d) {
            if reply(input.peer).is_some() || input.dst_port() == PORT {
                return Probe::Match(Match::new(format!("Ubiquiti discovery v{ver} request")));
            }
            return Probe::NeedMore;
        }
        match reply(d) {
            Some((v, cmd, n)) => Probe::Match(Match::new(format!(
                "Ubiquiti discovery v{v} {} (cmd {cmd:#04x}, {n} TLVs)",
                if cmd == 0x06 { "announce" } else { "reply" }
            ))),
            None => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, check_prefixes, evidence, feed,
        foreign_never_match, probe1, probe_at, C, S,
    };
    use netsift_proto::Transport::Udp;

    // Sources: testdata/README.md.
    const ANNOUNCE: &[u8] = include_bytes!("testdata/v2_announce.bin");

    #[test]
    fn corpus_announce() {
        assert_eq!(
            evidence(probe1(&Ubntac2, Udp, C, ANNOUNCE)),
            "Ubiquiti discovery v2 announce (cmd 0x06, 14 TLVs)"
        );
        check_prefixes(&Ubntac2, Udp, C, ANNOUNCE, b"");
        let mut bad = ANNOUNCE.to_vec();
        bad[3] ^= 1;
        assert_eq!(probe1(&Ubntac2, Udp, C, &bad), Probe::NoMatch);
    }

    #[test]
    fn v1_request_and_reply() {
        // v1 reply: header 01 00 len, TLVs MAC+IP (0x02, 10 octets) and
        // hostname (0x0b, "ap1").
        let mut r = vec![1, 0, 0, 19];
        r.extend_from_slice(&[0x02, 0, 10, 0x24, 0xa4, 0x3c, 1, 2, 3, 192, 168, 1, 20]);
        r.extend_from_slice(&[0x0b, 0, 3, b'a', b'p', b'1']);
        assert_eq!(
            evidence(probe1(&Ubntac2, Udp, S, &r)),
            "Ubiquiti discovery v1 reply (cmd 0x00, 2 TLVs)"
        );
        // The bare request: with the reply as peer, or toward 10001.
        assert_eq!(probe1(&Ubntac2, Udp, C, &[1, 0, 0, 0]), Probe::NeedMore);
        assert!(matches!(
            feed(&Ubntac2, Udp, 10001, &[(C, &[1, 0, 0, 0])]),
            Probe::Match(_)
        ));
        assert!(matches!(
            probe_at(&Ubntac2, Udp, C, &[1, 0, 0, 0], &r, 0),
            Probe::Match(_)
        ));
    }

    #[test]
    fn random_and_foreign() {
        assert_random_flows_rejected(&Ubntac2, Udp, 10001);
        assert_foreign_rejected(&Ubntac2, "none");
        foreign_never_match(&Ubntac2, Udp);
    }

    #[test]
    fn first_bytes_declared() {
        crate::testkit::first_bytes_hold(
            &Ubntac2,
            &crate::testkit::input(Udp, C, ANNOUNCE, &[], 0),
        );
        let mut r = vec![1, 0, 0, 19];
        r.extend_from_slice(&[0x02, 0, 10, 0x24, 0xa4, 0x3c, 1, 2, 3, 192, 168, 1, 20]);
        r.extend_from_slice(&[0x0b, 0, 3, b'a', b'p', b'1']);
        crate::testkit::first_bytes_hold(&Ubntac2, &crate::testkit::input(Udp, S, &r, &[], 0));
        crate::testkit::first_bytes_hold(
            &Ubntac2,
            &crate::testkit::input(Udp, C, &[1, 0, 0, 0], &r, 0),
        );
        crate::testkit::first_bytes_hold(
            &Ubntac2,
            &crate::testkit::input(Udp, C, &[2, 8, 0, 0], &[], 0),
        );
    }
}
