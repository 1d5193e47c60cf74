//! TiVoConnect: the TiVo Connect discovery beacon (TiVo's "TiVo Connect
//! Automatic Machine Discovery Protocol" document, published with the
//! TiVo Home Media Option SDK). TiVo DVRs and TiVo Desktop broadcast a
//! beacon on UDP 2190 and exchange the same beacon over TCP 2190: newline
//! separated `name=value` lines, the first being `tivoconnect=1`, then
//! `swversion=`, `method=broadcast|connected`, `identity=`, `machine=`,
//! `platform=`, `services=`.
//!
//! The probe requires the `tivoconnect=<digit>` first line.

use netsift_proto::bytes::starts_with_ci;
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// TiVoConnect.
pub struct TivoConnect;

const KEY: &[u8] = b"tivoconnect=";

/// The value of `name=` among the beacon's lines, if present.
fn field<'a>(d: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    d.split(|&b| b == b'\n').take(16).find_map(|l| {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        let v = l.get(name.len()..)?;
        (l.get(..name.len())?.eq_ignore_ascii_case(name) && v.first() == Some(&b'='))
            .then(|| v.get(1..).unwrap_or(&[]))
    })
}

impl Protocol for TivoConnect {
    fn name(&self) -> &'static str {
        "TiVoConnect"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[2190]
    }
    // TiVo Connect discovery: the first line is `tivoconnect=1` (read
    // case-insensitively).
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(b"tT")
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let tcp = input.transport == Transport::Tcp;
        match starts_with_ci(d, KEY) {
            Some(true) => {}
            None if tcp => return Probe::NeedMore,
            _ => return Probe::NoMatch,
        }
        match d.get(KEY.len()) {
            Some(v) if v.is_ascii_digit() => {}
            None if tcp => return Probe::NeedMore,
            _ => return Probe::NoMatch,
        }
        let mut ev = String::from("TiVo Connect beacon");
        if let Some(m) = field(d, b"machine") {
            ev.push_str(&format!(", machine '{}'", netsift_proto::printable(m, 40)));
        }
        if let Some(m) = field(d, b"method") {
            ev.push_str(&format!(", method {}", netsift_proto::printable(m, 16)));
        }
        Probe::Match(Match::new(ev))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, check_prefixes, evidence,
        foreign_never_match, probe1, C, S,
    };
    use netsift_proto::Transport::{Tcp, Udp};

    /// A beacon as the discovery document describes it.
    const BEACON: &[u8] = b"tivoconnect=1\nswversion=11.0k-01-2-652\nmethod=broadcast\n\
identity=6520001802DA1AB\nmachine=Living Room\nplatform=tcd/Series3\n\
services=TiVoMediaServer:80/http\n";

    #[test]
    fn beacon() {
        assert_eq!(
            evidence(probe1(&TivoConnect, Udp, S, BEACON)),
            "TiVo Connect beacon, machine 'Living Room', method broadcast"
        );
        assert!(matches!(
            probe1(&TivoConnect, Tcp, C, BEACON),
            Probe::Match(_)
        ));
        check_prefixes(&TivoConnect, Tcp, C, BEACON, b"");
        assert_eq!(
            probe1(&TivoConnect, Udp, C, b"tivoconnect=x\n"),
            Probe::NoMatch
        );
    }

    #[test]
    fn random_and_foreign() {
        assert_random_flows_rejected(&TivoConnect, Udp, 2190);
        assert_foreign_rejected(&TivoConnect, "none");
        foreign_never_match(&TivoConnect, Tcp);
        foreign_never_match(&TivoConnect, Udp);
    }

    #[test]
    fn first_bytes_declared() {
        crate::testkit::first_bytes_hold(
            &TivoConnect,
            &crate::testkit::input(Udp, S, BEACON, &[], 0),
        );
        crate::testkit::first_bytes_hold(
            &TivoConnect,
            &crate::testkit::input(Tcp, C, BEACON, &[], 0),
        );
    }
}
