//! collectd network plugin, "Binary protocol" (collectd wiki, "Binary
//! protocol"; collectd `network` plugin manual page), UDP port 25826.
//!
//! A datagram is a sequence of parts, each `type (u16 BE) | length (u16
//! BE, including these 4 bytes) | body`:
//!
//! * strings (NUL-terminated): 0x0000 host, 0x0002 plugin, 0x0003 plugin
//!   instance, 0x0004 type, 0x0005 type instance, 0x0100 message;
//! * numbers (8 bytes, so length 12): 0x0001 time, 0x0007 interval,
//!   0x0008 / 0x0009 their high-resolution forms, 0x0101 severity;
//! * 0x0006 values: `count (u16)`, `count` data-source types (0 COUNTER,
//!   1 GAUGE, 2 DERIVE, 3 ABSOLUTE), `count` 8-byte values: length
//!   6 + 9 * count;
//! * 0x0200 signature (HMAC-SHA-256, 32 bytes, then the user name), which
//!   precedes the signed parts in clear;
//! * 0x0210 encryption: user name length (u16), user name, IV (16 bytes),
//!   then the encrypted parts; this part spans the rest of the datagram.
//!
//! A clear datagram must be covered exactly by valid parts (at least three,
//! one of them a string). An encrypted datagram has too little structure
//! alone: it counts when a second one in the flow names the same user.

use netsift_proto::bytes::be16;
use netsift_proto::{
    printable, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// collectd.
pub struct Collectd;

impl Protocol for Collectd {
    fn name(&self) -> &'static str {
        "collectd"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[25826]
    }
    // collectd "Binary protocol": a datagram is a sequence of parts, "type
    // (u16 BE)" first; the part types are 0x0000-0x0009, 0x0100, 0x0101,
    // 0x0200 and 0x0210 (module doc), so the high byte is 0, 1 or 2.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x00, 0x01, 0x02])
    }
    fn probe(&self, input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        // Cheap first checks: a known part type with a sane length.
        let (Some(ty), Some(len)) = (be16(d, 0), be16(d, 2)) else {
            return Probe::NoMatch;
        };
        if ty == 0x0210 {
            return encrypted(d, len, scratch);
        }
        if !matches!(ty, 0x0000..=0x0009 | 0x0100 | 0x0101 | 0x0200) || len < 5 {
            return Probe::NoMatch;
        }
        let mut at = 0usize;
        let mut parts = 0u32;
        let mut strings = 0u32;
        let mut host: &[u8] = &[];
        let mut plugin: &[u8] = &[];
        let mut signed = false;
        while at < d.len() {
            if parts >= 256 {
                return Probe::NoMatch;
            }
            let (Some(ty), Some(len)) = (be16(d, at), be16(d, at + 2)) else {
                return Probe::NoMatch;
            };
            let len = usize::from(len);
            let Some(body) = d.get(at + 4..at + len.max(4)) else {
                return Probe::NoMatch;
            };
            let ok = match ty {
                0x0000 | 0x0002..=0x0005 | 0x0100 => {
                    let ok = len >= 5
                        && body.last() == Some(&0)
                        && body
                            .iter()
                            .take(body.len() - 1)
                            .all(|&b| (0x20..0x7f).contains(&b));
                    if ok {
                        strings += 1;
                        let s = body.get(..body.len() - 1).unwrap_or(&[]);
                        match ty {
                            0x0000 => host = s,
                            0x0002 => plugin = s,
                            _ => {}
                        }
                    }
                    ok
                }
                0x0001 | 0x0007..=0x0009 | 0x0101 => len == 12,
                0x0006 => {
                    let n = usize::from(be16(body, 0).unwrap_or(0));
                    n > 0
                        && len == 6 + 9 * n
                        && body
                            .get(2..2 + n)
                            .is_some_and(|t| t.iter().all(|&t| t <= 3))
                }
                // Signature first only: 32-byte MAC, then the user name.
                0x0200 => {
                    signed = true;
                    parts == 0 && len > 36
                }
                _ => false,
            };
            if !ok {
                return Probe::NoMatch;
            }
            parts += 1;
            at += len;
        }
        if parts < 3 || strings == 0 {
            return Probe::NoMatch;
        }
        let mut ev = String::from("collectd binary protocol");
        if signed {
            ev.push_str(" (signed)");
        }
        if !host.is_empty() {
            ev.push_str(&format!(", host '{}'", printable(host, 32)));
        }
        if !plugin.is_empty() {
            ev.push_str(&format!(", plugin '{}'", printable(plugin, 24)));
        }
        ev.push_str(&format!(", {parts} parts"));
        Probe::Match(Match::new(ev))
    }
}

/// 0x0210: length = the whole datagram; user name printable; IV and at
/// least one encrypted part header plus the SHA-1 checksum (20 bytes) follow.
fn encrypted(d: &[u8], len: u16, scratch: &mut ProbeScratch) -> Probe {
    let Some(ulen) = be16(d, 4) else {
        return Probe::NoMatch;
    };
    let ulen = usize::from(ulen);
    let user = d.get(6..6 + ulen).unwrap_or(&[]);
    if usize::from(len) != d.len()
        || ulen == 0
        || ulen > 64
        || user.len() != ulen
        || !user.iter().all(|&b| (0x21..0x7f).contains(&b))
        || d.len() < 6 + ulen + 16 + 20 + 4
    {
        return Probe::NoMatch;
    }
    // A fingerprint of the user name, kept to compare with the next datagram.
    let fp = user.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    }) | 1;
    if scratch.0[0] == fp {
        return Probe::Match(Match::new(format!(
            "collectd binary protocol, encrypted for user '{}'",
            printable(user, 32)
        )));
    }
    scratch.0[0] = fp;
    Probe::NeedMore
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, evidence, feed, feed_evidence,
        input, probe1, C,
    };

    const UDP: Transport = Transport::Udp;

    fn part_str(ty: u16, s: &str) -> Vec<u8> {
        let mut p = ty.to_be_bytes().to_vec();
        p.extend_from_slice(&((s.len() + 5) as u16).to_be_bytes());
        p.extend_from_slice(s.as_bytes());
        p.push(0);
        p
    }

    fn part_num(ty: u16, v: u64) -> Vec<u8> {
        let mut p = ty.to_be_bytes().to_vec();
        p.extend_from_slice(&12u16.to_be_bytes());
        p.extend_from_slice(&v.to_be_bytes());
        p
    }

    /// A datagram as the network plugin sends it: host, time (hr),
    /// interval (hr), plugin, type, values (one GAUGE).
    fn datagram() -> Vec<u8> {
        let mut d = part_str(0x0000, "web01");
        d.extend(part_num(0x0008, 1_800_000_000 << 30));
        d.extend(part_num(0x0009, 10 << 30));
        d.extend(part_str(0x0002, "load"));
        d.extend(part_str(0x0004, "load"));
        // values: type 0x0006, length 6 + 9, count 1, GAUGE, 8-byte double
        d.extend_from_slice(&[0x00, 0x06, 0x00, 15, 0x00, 0x01, 0x01]);
        d.extend_from_slice(&0.5f64.to_le_bytes());
        d
    }

    #[test]
    fn clear_datagram() {
        assert_eq!(
            evidence(probe1(&Collectd, UDP, C, &datagram())),
            "collectd binary protocol, host 'web01', plugin 'load', 6 parts"
        );
        // Cut inside a part or extended by garbage: the parts no longer
        // cover it (a cut at a part boundary after three parts is itself a
        // valid datagram).
        let d = datagram();
        let boundaries = [34, 43, 52];
        for i in 0..d.len() {
            let m = matches!(probe1(&Collectd, UDP, C, &d[..i]), Probe::Match(_));
            assert_eq!(m, boundaries.contains(&i), "cut at {i}");
        }
        let mut x = datagram();
        x.extend_from_slice(b"\x00");
        assert_eq!(probe1(&Collectd, UDP, C, &x), Probe::NoMatch);
        // A DERIVE/ABSOLUTE type above 3 is invalid.
        let mut x = datagram();
        let n = x.len();
        x[n - 9] = 7;
        assert_eq!(probe1(&Collectd, UDP, C, &x), Probe::NoMatch);
    }

    #[test]
    fn signed_datagram() {
        // Signature part: 32-byte HMAC then user name "ops" (no NUL).
        let mut d = vec![0x02, 0x00, 0x00, 4 + 32 + 3];
        d.extend_from_slice(&[0xab; 32]);
        d.extend_from_slice(b"ops");
        d.extend(datagram());
        assert_eq!(
            evidence(probe1(&Collectd, UDP, C, &d)),
            "collectd binary protocol (signed), host 'web01', plugin 'load', 7 parts"
        );
    }

    #[test]
    fn encrypted_needs_two() {
        let enc = |fill: u8| {
            let mut d = vec![0x02, 0x10, 0, 0, 0x00, 0x03];
            d.extend_from_slice(b"ops");
            d.extend_from_slice(&[fill; 16 + 20 + 40]);
            let n = d.len() as u16;
            d[2..4].copy_from_slice(&n.to_be_bytes());
            d
        };
        let (a, b) = (enc(1), enc(2));
        assert_eq!(probe1(&Collectd, UDP, C, &a), Probe::NeedMore);
        assert_eq!(
            feed_evidence(&Collectd, UDP, 25826, &[(C, &a), (C, &b)]),
            "collectd binary protocol, encrypted for user 'ops'"
        );
        let mut other = enc(3);
        other[6] = b'x';
        assert_eq!(
            feed(&Collectd, UDP, 25826, &[(C, &a), (C, &other)]),
            Probe::NeedMore
        );
    }

    #[test]
    fn first_bytes_declared() {
        let clear = datagram();
        crate::testkit::first_bytes_hold(&Collectd, &input(UDP, C, &clear, &[], 0));
        let mut signed = vec![0x02, 0x00, 0x00, 4 + 32 + 3];
        signed.extend_from_slice(&[0xab; 32]);
        signed.extend_from_slice(b"ops");
        signed.extend(datagram());
        crate::testkit::first_bytes_hold(&Collectd, &input(UDP, C, &signed, &[], 0));
        let mut enc = vec![0x02, 0x10, 0, 0, 0x00, 0x03];
        enc.extend_from_slice(b"ops");
        enc.extend_from_slice(&[1; 16 + 20 + 40]);
        let n = enc.len() as u16;
        enc[2..4].copy_from_slice(&n.to_be_bytes());
        crate::testkit::first_bytes_hold(&Collectd, &input(UDP, C, &enc, &[], 0));
    }

    #[test]
    fn random_foreign() {
        assert_random_flows_rejected(&Collectd, UDP, 25826);
        assert_foreign_rejected(&Collectd, "collectd");
    }
}
