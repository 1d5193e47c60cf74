//! HAProxy's PROXY protocol, versions 1 and 2 (HAProxy Technologies, "The
//! PROXY protocol", versions 1 & 2, 2020/03/05), the header a proxy sends
//! before relaying a TCP connection.
//!
//! * Version 1 (§2.1): "a string starting with 'PROXY' followed by a
//!   single space", then `TCP4`, `TCP6` or `UNKNOWN`, source and destination
//!   addresses and ports separated by single spaces, ending with CRLF; "the
//!   maximum line lengths the receiver must support including the CRLF
//!   are: TCP/IPv4 ... 56 chars, TCP/IPv6 ... 104 chars, unknown ... 107".
//! * Version 2 (§2.2): "The binary header format starts with a constant 12
//!   bytes block containing the protocol signature:
//!   \x0D \x0A \x0D \x0A \x00 \x0D \x0A \x51 \x55 \x49 \x54 \x0A", then
//!   version 2 and command (LOCAL 0x20, PROXY 0x21), address family and
//!   transport, and a 16-bit length of the addresses and TLVs.
//!
//! The header names this flow HAProxy, as nDPI does; the evidence says
//! what follows it (the TLS and HTTP probes also look past a PROXY header,
//! but this probe runs first).

use netsift_proto::bytes::{be16, u8_at};
use netsift_proto::{printable, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// HAProxy.
pub struct HaProxy;

const V2_SIG: &[u8; 12] = b"\r\n\r\n\x00\r\nQUIT\n";

/// What the bytes after the header look like, for the evidence.
fn what_follows(rest: &[u8]) -> &'static str {
    match rest {
        [] => "",
        [0x16, 0x03, ..] => ", then a TLS handshake",
        [b'G' | b'P' | b'H' | b'D' | b'O', ..] if rest.contains(&b' ') => ", then a text request",
        _ => ", then data",
    }
}

fn v1(d: &[u8]) -> Probe {
    // §2.1: at most 107 octets including CRLF.
    let line = match netsift_proto::text_line(d, 107) {
        Ok(l) => l,
        Err(true) => {
            return if d.iter().all(|&b| (0x20..0x7f).contains(&b) || b == b'\r') {
                Probe::NeedMore
            } else {
                Probe::NoMatch
            };
        }
        Err(false) => return Probe::NoMatch,
    };
    let mut f = line.split(|&b| b == b' ');
    let _proxy = f.next();
    let fam = f.next().unwrap_or(&[]);
    let rest_fields: [Option<&[u8]>; 4] = [f.next(), f.next(), f.next(), f.next()];
    let ev = match fam {
        b"UNKNOWN" => "PROXY protocol v1 header, UNKNOWN".to_owned(),
        b"TCP4" | b"TCP6" => {
            let [Some(src), Some(dst), Some(sp), Some(dp)] = rest_fields else {
                return Probe::NoMatch;
            };
            if f.next().is_some() {
                return Probe::NoMatch;
            }
            let addr_ok = |a: &[u8]| {
                !a.is_empty()
                    && std::str::from_utf8(a)
                        .ok()
                        .and_then(|s| s.parse::<std::net::IpAddr>().ok())
                        .is_some_and(|ip| ip.is_ipv4() == (fam == b"TCP4"))
            };
            let port_ok = |p: &[u8]| {
                (1..=5).contains(&p.len())
                    && std::str::from_utf8(p)
                        .ok()
                        .and_then(|s| s.parse::<u16>().ok())
                        .is_some()
            };
            if !addr_ok(src) || !addr_ok(dst) || !port_ok(sp) || !port_ok(dp) {
                return Probe::NoMatch;
            }
            format!(
                "PROXY protocol v1 header, client {}:{} to {}:{}",
                printable(src, 40),
                printable(sp, 5),
                printable(dst, 40),
                printable(dp, 5)
            )
        }
        _ => return Probe::NoMatch,
    };
    let rest = d.get(line.len() + 2..).unwrap_or(&[]);
    Probe::Match(Match::new(format!("{ev}{}", what_follows(rest))))
}

fn v2(d: &[u8]) -> Probe {
    let n = d.len().min(V2_SIG.len());
    if d.get(..n) != V2_SIG.get(..n) {
        return Probe::NoMatch;
    }
    let (Some(vc), Some(fam), Some(len)) = (u8_at(d, 12), u8_at(d, 13), be16(d, 14)) else {
        return Probe::NeedMore;
    };
    // §2.2: "The highest four bits contains the version ... \x2";
    // command 0 LOCAL or 1 PROXY.
    let cmd = match vc {
        0x20 => "LOCAL",
        0x21 => "PROXY",
        _ => return Probe::NoMatch,
    };
    // Family 0..=3 (UNSPEC, INET, INET6, UNIX), transport 0..=2.
    let (af, tp) = (fam >> 4, fam & 0x0f);
    if af > 3 || tp > 2 {
        return Probe::NoMatch;
    }
    // Minimum address block sizes: INET 12, INET6 36, UNIX 216.
    let min = [0usize, 12, 36, 216][usize::from(af)];
    if usize::from(len) < min {
        return Probe::NoMatch;
    }
    let family = ["UNSPEC", "TCP/UDP over IPv4", "TCP/UDP over IPv6", "UNIX"][usize::from(af)];
    let rest = d.get(16 + usize::from(len)..).unwrap_or(&[]);
    Probe::Match(Match::new(format!(
        "PROXY protocol v2 header, {cmd}, {family}{}",
        what_follows(rest)
    )))
}

impl Protocol for HaProxy {
    fn name(&self) -> &'static str {
        "HAProxy"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let d = input.data;
        match d.first() {
            None => Probe::NeedMore,
            Some(b'P') => {
                let n = d.len().min(6);
                if d.get(..n) != b"PROXY ".get(..n) {
                    return Probe::NoMatch;
                }
                if n < 6 {
                    return Probe::NeedMore;
                }
                v1(d)
            }
            Some(b'\r') => v2(d),
            _ => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const V1_TLS: &[u8] = include_bytes!("testdata/v1_tls.bin");

    #[test]
    fn version1() {
        assert_eq!(
            evidence(probe1(&HaProxy, TCP, C, V1_TLS)),
            "PROXY protocol v1 header, client 11.111.11.111:52176 to 222.222.222.22:443, then a TLS handshake"
        );
        let v6 = b"PROXY TCP6 ::1 2001:db8::2 40000 80\r\nGET / HTTP/1.1\r\n";
        assert_eq!(
            evidence(probe1(&HaProxy, TCP, C, v6)),
            "PROXY protocol v1 header, client ::1:40000 to 2001:db8::2:80, then a text request"
        );
        assert!(is_match(&probe1(&HaProxy, TCP, C, b"PROXY UNKNOWN\r\n")));
        for bad in [
            &b"PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n"[..],
            b"PROXY TCP4 ::1 5.6.7.8 1 2\r\n",
            b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
            b"PROXY-Authorization: x\r\n",
        ] {
            assert_eq!(probe1(&HaProxy, TCP, C, bad), Probe::NoMatch, "{bad:?}");
        }
    }

    #[test]
    fn version2() {
        // §2.2 example layout: signature, 0x21 PROXY, 0x11 TCP over IPv4,
        // length 12, 127.0.0.1:40000 -> 127.0.0.1:443, then TLS.
        let mut h = V2_SIG.to_vec();
        h.extend_from_slice(&[0x21, 0x11, 0, 12, 127, 0, 0, 1, 127, 0, 0, 1]);
        h.extend_from_slice(&[0x9c, 0x40, 0x01, 0xbb, 0x16, 0x03, 0x01]);
        assert_eq!(
            evidence(probe1(&HaProxy, TCP, C, &h)),
            "PROXY protocol v2 header, PROXY, TCP/UDP over IPv4, then a TLS handshake"
        );
        let mut bad = h.clone();
        bad[12] = 0x31;
        assert_eq!(probe1(&HaProxy, TCP, C, &bad), Probe::NoMatch);
        check_prefixes(&HaProxy, TCP, C, &h, b"");
    }

    #[test]
    fn prefixes_random_foreign() {
        check_prefixes(&HaProxy, TCP, C, V1_TLS, b"");
        assert_random_flows_rejected(&HaProxy, TCP, 443);
        foreign_never_match(&HaProxy, TCP);
        assert_foreign_rejected(&HaProxy, "haproxy");
    }
}
