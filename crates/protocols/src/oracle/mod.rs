//! Oracle Net / TNS (Transparent Network Substrate) packets, as documented
//! by Oracle's "Net Services Reference" for connect descriptors and the
//! public descriptions of the TNS header (no formal wire specification is
//! published).
//!
//! Header (8 bytes): `packet length (u16 BE) | packet checksum (u16, 0) |
//! type | flags | header checksum (u16, 0)`. Types: 1 CONNECT, 2 ACCEPT,
//! 3 ACK, 4 REFUSE, 5 REDIRECT, 6 DATA, 7 NULL, 9 ABORT, 11 RESEND, 12
//! MARKER, 13 ATTENTION, 14 CONTROL.
//!
//! The client opens with CONNECT: `version (u16, 300..=319 in use) |
//! compatible version | service options | SDU | TDU | protocol
//! characteristics | line turnaround | value of one | connect data length
//! (u16 at 24) | connect data offset (u16 at 26) | ...`; the connect data is
//! the connect descriptor `(DESCRIPTION=(...)(CONNECT_DATA=(SERVICE_NAME=
//! ...)))` — inside the packet, or right after it when longer than the
//! packet allows. The server answers ACCEPT, REFUSE, REDIRECT or RESEND;
//! those count when the peer's CONNECT was seen.

use netsift_proto::bytes::{be16, starts_with_ci};
use netsift_proto::Transport;
use netsift_proto::{printable, Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol};

/// Oracle TNS.
pub struct Oracle;

impl Protocol for Oracle {
    fn name(&self) -> &'static str {
        "Oracle"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[1521]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        match (input.dir, connect(input.data)) {
            (_, Some(Some(e))) => Probe::Match(Match::new(e)),
            (Direction::ToServer, Some(None)) => Probe::NeedMore,
            (Direction::ToServer, None) => Probe::NoMatch,
            (Direction::ToClient, _) => answer(input.data, input.peer),
        }
    }
}

/// `None`: not a CONNECT; `Some(None)`: may still become one.
fn connect(d: &[u8]) -> Option<Option<String>> {
    let Some(len) = be16(d, 0) else {
        return if d.first().is_none_or(|&b| b <= 0x08) {
            Some(None)
        } else {
            None
        };
    };
    // CONNECT packets hold 34+ header bytes and stay within an 8 KiB SDU.
    if !(34..=8192).contains(&len) {
        return None;
    }
    let hdr = d.get(2..8).unwrap_or(&[]);
    let want = [0u8, 0, 1];
    let n = hdr.len().min(3);
    if hdr.get(..n) != want.get(..n) {
        return None;
    }
    let (Some(hcs), Some(ver), Some(compat)) = (be16(d, 6), be16(d, 8), be16(d, 10)) else {
        return Some(None);
    };
    if hcs != 0 || !(300..=400).contains(&ver) || !(300..=ver).contains(&compat) {
        return None;
    }
    let (Some(cd_len), Some(cd_off)) = (be16(d, 24), be16(d, 26)) else {
        return Some(None);
    };
    let (cd_len, cd_off) = (usize::from(cd_len), usize::from(cd_off));
    if cd_len < 10 || !(34..=2048).contains(&cd_off) {
        return None;
    }
    let cd = d.get(cd_off..).unwrap_or(&[]);
    let cd = cd.get(..cd.len().min(cd_len)).unwrap_or(&[]);
    if cd.len() < 14.min(cd_len) {
        return if cd.first().is_none_or(|&b| b == b'(') {
            Some(None)
        } else {
            None
        };
    }
    let start = cd.strip_prefix(b"(").unwrap_or(&[]);
    let ok = [&b"DESCRIPTION="[..], b"CONNECT_DATA=", b"ADDRESS="]
        .iter()
        .any(|k| starts_with_ci(start, k) == Some(true));
    if !ok {
        return None;
    }
    let mut e = format!("Oracle TNS CONNECT, version {ver}");
    for key in [&b"SERVICE_NAME="[..], b"SID="] {
        if let Some(v) = value(cd, key) {
            e.push_str(&format!(", {}{}", printable(key, 16), printable(v, 40)));
            break;
        }
    }
    Some(Some(e))
}

/// The text after `key` up to `)` in a connect descriptor.
fn value<'a>(cd: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let cd = cd.get(..cd.len().min(1024))?;
    let at = cd
        .windows(key.len())
        .position(|w| w.eq_ignore_ascii_case(key))?
        + key.len();
    let rest = cd.get(at..)?;
    let end = rest.iter().position(|&b| b == b')')?;
    rest.get(..end)
}

/// The server's answer to a CONNECT seen in the peer.
fn answer(d: &[u8], peer: &[u8]) -> Probe {
    let e = match connect(peer) {
        Some(Some(e)) => e,
        Some(None) if peer.len() < 2048 => return Probe::NeedMore,
        _ => return Probe::NoMatch,
    };
    let (Some(len), Some(&ty)) = (be16(d, 0), d.get(4)) else {
        return Probe::NeedMore;
    };
    let name = match ty {
        2 => "ACCEPT",
        4 => "REFUSE",
        5 => "REDIRECT",
        11 => "RESEND",
        _ => return Probe::NoMatch,
    };
    if len < 8 {
        return Probe::NoMatch;
    }
    Probe::Match(Match::new(format!("{e}, answered with {name}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_random_flows_rejected, check_prefixes, evidence, foreign_never_match, probe1,
        probe_at, C, S,
    };

    const TCP: Transport = Transport::Tcp;
    const DESC: &[u8] = b"(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=db1)(PORT=1521))(CONNECT_DATA=(SERVICE_NAME=ORCLPDB1)(CID=(PROGRAM=sqlplus)(HOST=ws)(USER=scott))))";

    /// A CONNECT built from the TNS header layout: the descriptor follows
    /// the 58-byte fixed part (`inline`) or comes after the packet.
    fn connect_packet(inline: bool) -> Vec<u8> {
        let fixed = 58usize;
        let plen = if inline { fixed + DESC.len() } else { fixed };
        let mut p = Vec::new();
        p.extend_from_slice(&(plen as u16).to_be_bytes()); // packet length
        p.extend_from_slice(&[0, 0]); // packet checksum
        p.push(1); // type CONNECT
        p.push(0); // flags
        p.extend_from_slice(&[0, 0]); // header checksum
        p.extend_from_slice(&314u16.to_be_bytes()); // version
        p.extend_from_slice(&300u16.to_be_bytes()); // compatible version
        p.extend_from_slice(&0x0c41u16.to_be_bytes()); // service options
        p.extend_from_slice(&8192u16.to_be_bytes()); // SDU
        p.extend_from_slice(&32767u16.to_be_bytes()); // TDU
        p.extend_from_slice(&0x7f08u16.to_be_bytes()); // NT protocol characteristics
        p.extend_from_slice(&0u16.to_be_bytes()); // line turnaround
        p.extend_from_slice(&[0x01, 0x00]); // value of one
        p.extend_from_slice(&(DESC.len() as u16).to_be_bytes()); // connect data length
        p.extend_from_slice(&(fixed as u16).to_be_bytes()); // connect data offset
        p.extend_from_slice(&2048u32.to_be_bytes()); // max receivable connect data
        p.extend_from_slice(&[0x41, 0x41]); // connect flags 0 and 1
        p.resize(fixed, 0); // trace cross facility items, connection id
        p.extend_from_slice(DESC);
        p
    }

    #[test]
    fn connect_both_layouts() {
        for inline in [true, false] {
            let c = connect_packet(inline);
            assert_eq!(
                evidence(probe1(&Oracle, TCP, C, &c)),
                "Oracle TNS CONNECT, version 314, SERVICE_NAME=ORCLPDB1"
            );
            check_prefixes(&Oracle, TCP, C, &c, b"");
        }
        // The server's REFUSE / ACCEPT after it.
        let refuse = b"\x00\x0c\x00\x00\x04\x00\x00\x00\x22\x00\x00\x00";
        assert_eq!(
            evidence(probe_at(&Oracle, TCP, S, refuse, &connect_packet(true), 0)),
            "Oracle TNS CONNECT, version 314, SERVICE_NAME=ORCLPDB1, answered with REFUSE"
        );
        assert_eq!(
            probe_at(&Oracle, TCP, S, refuse, &connect_packet(true)[..40], 0),
            Probe::NeedMore
        );
        assert_eq!(probe_at(&Oracle, TCP, S, refuse, b"", 0), Probe::NeedMore);
    }

    #[test]
    fn not_a_descriptor() {
        let mut c = connect_packet(true);
        let at = c.len() - DESC.len() + 1;
        c[at..at + 4].copy_from_slice(b"XXXX");
        assert_eq!(probe1(&Oracle, TCP, C, &c), Probe::NoMatch);
        let mut c = connect_packet(true);
        c[8..10].copy_from_slice(&200u16.to_be_bytes());
        assert_eq!(probe1(&Oracle, TCP, C, &c), Probe::NoMatch);
    }

    #[test]
    fn random_foreign() {
        assert_random_flows_rejected(&Oracle, TCP, 1521);
        foreign_never_match(&Oracle, TCP);
    }
}
