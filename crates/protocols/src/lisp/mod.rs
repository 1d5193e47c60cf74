//! LISP control plane, the Locator/ID Separation Protocol (RFC 9301, which
//! obsoletes RFC 6830/6833), UDP port 4342, and the Map-Server reliable
//! transport over TCP port 4342 (draft-ietf-lisp-map-server-reliable-
//! transport).
//!
//! RFC 9301 §5: the first 4 bits are the message type: 1 Map-Request, 2
//! Map-Reply, 3 Map-Register, 4 Map-Notify, 5 Map-Notify-Ack, 8
//! Encapsulated Control Message. Map-Register / Map-Notify (§5.6, §5.7):
//! flags and Record Count (last octet), Nonce (8), Key ID (2),
//! Authentication Data Length (2), Authentication Data, then the records.
//! Map-Reply (§5.4): flags, Record Count, Nonce, records. A record: Record
//! TTL (4), Locator Count (1), EID mask-len (1), ACT/A/Reserved (2),
//! Rsvd/Map-Version (2), EID-Prefix-AFI (2) and EID-Prefix, then per
//! locator Priority/Weight/M Priority/M Weight (4), Unused Flags/L/p/R
//! (2), Loc-AFI (2) and Locator. Addresses are IANA AFIs: 1 IPv4, 2 IPv6,
//! 6 MAC, 16387 LCAF (RFC 8060: Rsvd1, Flags, Type, Rsvd2, Length (2)).
//! With the I bit, a 128-bit xTR-ID and 64-bit site-ID end the message.
//! The records must account for the whole datagram.
//!
//! Map-Request (§5.2): flags, IRC (5 bits), Record Count, Nonce,
//! Source-EID-AFI and address, IRC+1 ITR-RLOC-AFI/addresses, records
//! (Reserved, mask-len, AFI, prefix), and a Map-Reply record when M is
//! set. An ECM (§5.8) wraps a Map-Request in an IP and UDP header.
//!
//! Reliable transport: Type (2; 17 Registration, 18 Registration Ack, 19
//! Registration Nack, 20 Registration Refresh, 21 Mapping Notification),
//! Length (2, the whole message), Message ID (4), ..., and every message
//! ends with the End Marker 0x9FACADE9.

use netsift_proto::bytes::{be16, be32, u8_at};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// LISP.
pub struct Lisp;

const END_MARKER: u32 = 0x9fac_ade9;

/// Length of an address of `afi` at `o` (after the AFI field).
fn addr_len(d: &[u8], afi: u16, o: usize) -> Option<usize> {
    Some(match afi {
        0 => 0,
        1 => 4,
        2 => 16,
        6 => 6,
        16387 => 6 + usize::from(be16(d, o + 4)?),
        _ => return None,
    })
}

/// Walk `n` mapping records from `o`; the offset after them.
fn records(d: &[u8], mut o: usize, n: u8) -> Option<usize> {
    for _ in 0..n {
        let locs = u8_at(d, o + 4)?;
        let afi = be16(d, o + 10)?;
        o += 12;
        o += addr_len(d, afi, o)?;
        for _ in 0..locs {
            let lafi = be16(d, o + 6)?;
            o += 8;
            o += addr_len(d, lafi, o)?;
        }
        if o > d.len() {
            return None;
        }
    }
    Some(o)
}

fn udp(d: &[u8]) -> Option<String> {
    let b0 = u8_at(d, 0)?;
    let count = u8_at(d, 3)?;
    match b0 >> 4 {
        3..=5 => {
            let auth = usize::from(be16(d, 14)?);
            // Key ID 0 "no authentication"; 1 HMAC-SHA-1-96 (20), 2
            // HMAC-SHA-256-128 (32).
            let key = be16(d, 12)?;
            let ok = matches!((key, auth), (0, 0) | (1, 20) | (2, 32) | (_, 20) | (_, 32));
            if !ok {
                return None;
            }
            let end = records(d, 16 + auth, count)?;
            let rest = d.len().checked_sub(end)?;
            // Map-Register I bit (0x02 of the first octet) / Map-Notify I
            // bit (0x08): xTR-ID + site-ID.
            let i_bit = match b0 >> 4 {
                3 => b0 & 0x02 != 0,
                4 => b0 & 0x08 != 0,
                _ => false,
            };
            if rest != if i_bit { 24 } else { 0 } {
                return None;
            }
            let name = match b0 >> 4 {
                3 => "Map-Register",
                4 => "Map-Notify",
                _ => "Map-Notify-Ack",
            };
            (count > 0 || b0 >> 4 == 5).then(|| format!("LISP {name}, {count} record(s)"))
        }
        2 => {
            let end = records(d, 12, count)?;
            (end == d.len() && count > 0).then(|| format!("LISP Map-Reply, {count} record(s)"))
        }
        1 => map_request(d).map(|n| format!("LISP Map-Request, {n} record(s)")),
        8 => {
            // ECM: 4-octet header, then IPv4/IPv6 + UDP + Map-Request.
            let inner = d.get(4..)?;
            let (udp_at, proto) = match u8_at(inner, 0)? >> 4 {
                4 => (usize::from(u8_at(inner, 0)? & 0x0f) * 4, u8_at(inner, 9)?),
                6 => (40, u8_at(inner, 6)?),
                _ => return None,
            };
            if proto != 17 {
                return None;
            }
            let msg = inner.get(udp_at + 8..)?;
            map_request(msg).map(|n| format!("LISP Encapsulated Map-Request, {n} record(s)"))
        }
        _ => None,
    }
}

fn map_request(d: &[u8]) -> Option<u8> {
    if u8_at(d, 0)? >> 4 != 1 {
        return None;
    }
    let m = u8_at(d, 0)? & 0x04 != 0;
    let irc = usize::from(u8_at(d, 2)? & 0x1f);
    let count = u8_at(d, 3)?;
    if count == 0 {
        return None;
    }
    let mut o = 12;
    let safi = be16(d, o)?;
    o += 2 + addr_len(d, safi, o + 2)?;
    for _ in 0..=irc {
        let afi = be16(d, o)?;
        if afi == 0 {
            return None;
        }
        o += 2 + addr_len(d, afi, o + 2)?;
    }
    for _ in 0..count {
        let afi = be16(d, o + 2)?;
        o += 4 + addr_len(d, afi, o + 4)?;
    }
    if o > d.len() || (!m && o != d.len()) {
        return None;
    }
    Some(count)
}

fn tcp(d: &[u8]) -> Probe {
    let Some(t) = be16(d, 0) else {
        // The type's high octet is zero.
        return if d.first().is_none_or(|&b| b == 0) {
            Probe::NeedMore
        } else {
            Probe::NoMatch
        };
    };
    let name = match t {
        17 => "Registration",
        18 => "Registration Ack",
        19 => "Registration Nack",
        20 => "Registration Refresh",
        21 => "Mapping Notification",
        16..=31 => "message",
        _ => return Probe::NoMatch,
    };
    let Some(len) = be16(d, 2) else {
        return Probe::NeedMore;
    };
    let len = usize::from(len);
    if len < 12 {
        return Probe::NoMatch;
    }
    match be32(d, len - 4) {
        Some(END_MARKER) => Probe::Match(Match::new(format!(
            "LISP reliable transport {name} (end marker 0x9FACADE9)"
        ))),
        Some(_) => Probe::NoMatch,
        None => Probe::NeedMore,
    }
}

impl Protocol for Lisp {
    fn name(&self) -> &'static str {
        "LISP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[4342]
    }
    // RFC 9301 §5: "the first 4 bits are the message type": 1 Map-Request,
    // 2 Map-Reply, 3 Map-Register, 4 Map-Notify, 5 Map-Notify-Ack, 8 ECM
    // (0x10-0x5F, 0x80-0x8F); the reliable transport over TCP: "Type (2;
    // 17 ... 21)", whose high octet is 0.
    fn first_bytes(&self, transport: Transport) -> FirstBytes {
        let udp = FirstBytes::range(0x10, 0x5f).or(FirstBytes::range(0x80, 0x8f));
        match transport {
            Transport::Udp => udp,
            _ => udp.or(FirstBytes::only(&[0x00])),
        }
    }
    fn probe(&self, input: &ProbeInput<'_>, _s: &mut ProbeScratch) -> Probe {
        if input.transport == Transport::Tcp {
            return tcp(input.data);
        }
        match udp(input.data) {
            Some(ev) => Probe::Match(Match::new(ev)),
            None => Probe::NoMatch,
        }
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
    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const REGISTER: &[u8] = include_bytes!("testdata/map_register.bin");
    const NOTIFY: &[u8] = include_bytes!("testdata/map_notify.bin");
    const REFRESH: &[u8] = include_bytes!("testdata/tcp_registration_refresh.bin");
    const REGISTRATION: &[u8] = include_bytes!("testdata/tcp_registration.bin");

    #[test]
    fn udp_control() {
        assert_eq!(
            evidence(probe1(&Lisp, UDP, C, REGISTER)),
            "LISP Map-Register, 1 record(s)"
        );
        assert_eq!(
            evidence(probe1(&Lisp, UDP, S, NOTIFY)),
            "LISP Map-Notify, 1 record(s)"
        );
        // Map-Request (§5.2), built: IRC 0, 1 record, nonce, source EID
        // AFI 0, ITR-RLOC 10.0.0.1, EID 10.1.0.0/16.
        let req = [
            0x10, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 1, 10, 0, 0, 1, 0, 16, 0, 1, 10, 1, 0,
            0,
        ];
        assert_eq!(
            evidence(probe1(&Lisp, UDP, C, &req)),
            "LISP Map-Request, 1 record(s)"
        );
        for i in 0..REGISTER.len() {
            assert_eq!(probe1(&Lisp, UDP, C, &REGISTER[..i]), Probe::NoMatch);
        }
    }

    #[test]
    fn reliable_transport() {
        assert_eq!(
            evidence(probe1(&Lisp, TCP, S, REFRESH)),
            "LISP reliable transport Registration Refresh (end marker 0x9FACADE9)"
        );
        assert_eq!(
            evidence(probe1(&Lisp, TCP, C, REGISTRATION)),
            "LISP reliable transport Registration (end marker 0x9FACADE9)"
        );
        check_prefixes(&Lisp, TCP, C, REGISTRATION, REFRESH);
        check_prefixes(&Lisp, TCP, S, REFRESH, &[]);
    }

    #[test]
    fn first_bytes_declared() {
        use crate::testkit::first_bytes_hold;
        use crate::testkit::input;
        first_bytes_hold(&Lisp, &input(UDP, C, REGISTER, &[], 0));
        first_bytes_hold(&Lisp, &input(UDP, S, NOTIFY, &[], 0));
        let req = [
            0x10, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 1, 10, 0, 0, 1, 0, 16, 0, 1, 10, 1, 0,
            0,
        ];
        first_bytes_hold(&Lisp, &input(UDP, C, &req, &[], 0));
        first_bytes_hold(&Lisp, &input(TCP, S, REFRESH, &[], 0));
        first_bytes_hold(&Lisp, &input(TCP, C, REGISTRATION, REFRESH, 0));
        first_bytes_hold(&Lisp, &input(TCP, C, &REGISTRATION[..1], &[], 0));
    }

    #[test]
    fn rejects_random_and_foreign() {
        assert_random_flows_rejected(&Lisp, UDP, 4342);
        assert_random_flows_rejected(&Lisp, TCP, 4342);
        foreign_never_match(&Lisp, TCP);
        foreign_never_match(&Lisp, UDP);
        assert_foreign_rejected(&Lisp, "lisp");
    }
}
