//! NoMachine NX protocol, TCP (observed protocol; NoMachine publishes no
//! wire specification). The NX client opens with the text line
//! `NXSH-<version>\n` and the nxd server answers `NXD-<version>\n`
//! (e.g. `NXSH-8.10.1`, `NXD-8.10.1` in nDPI's corpus `nomachine.pcapng`),
//! then both switch to TLS. The version is digits and dots.
//!
//! UDP (the NX multimedia/UDP channel, observed in the same capture): each
//! datagram starts with a u16 LE message type (1, 2, 3 seen), u16 LE 1, a
//! u16 LE length equal to the datagram's payload length, and a u32 LE
//! sequence number that grows by one per datagram and direction. These ten
//! bytes are weak on one datagram, so two consecutive datagrams of one
//! direction must agree (length, sequence + 1).

use netsift_proto::bytes::{le16, le32};
use netsift_proto::{
    printable, Direction, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// NoMachine.
pub struct NoMachine;

/// `Some(true)` for `<prefix><version>\n`, `None` if more bytes could
/// still make it one.
fn banner(d: &[u8], prefix: &[u8]) -> Option<bool> {
    let n = d.len().min(prefix.len());
    if d.get(..n) != prefix.get(..n) {
        return Some(false);
    }
    let rest = d.get(prefix.len()..)?;
    for (i, &b) in rest.iter().take(24).enumerate() {
        match b {
            b'0'..=b'9' => {}
            b'.' if i > 0 => {}
            b'\n' | b'\r' => return Some(i > 0),
            _ => return Some(false),
        }
    }
    if rest.len() >= 24 {
        Some(false)
    } else {
        None
    }
}

impl Protocol for NoMachine {
    fn name(&self) -> &'static str {
        "NoMachine"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp, Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[4000]
    }
    // Observed protocol (module notes): over TCP the client's `NXSH-` and
    // the server's `NXD-` greetings; over UDP a u16 LE message type first,
    // which `udp` accepts in 1..=16 (so byte 0 is 1..=16, byte 1 zero).
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::range(1, 16).or(FirstBytes::only(b"N"))
    }
    fn probe(&self, input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Probe {
        match input.transport {
            Transport::Tcp => {}
            Transport::Udp => return udp(input, scratch),
            Transport::Ip(_) => return Probe::NoMatch,
        }
        let d = input.data;
        let mut more = false;
        for (prefix, who) in [(&b"NXSH-"[..], "client"), (&b"NXD-"[..], "server")] {
            match banner(d, prefix) {
                Some(true) => {
                    let line = d
                        .iter()
                        .position(|&b| b == b'\n' || b == b'\r')
                        .unwrap_or(0);
                    return Probe::Match(Match::new(format!(
                        "NoMachine NX {who} greeting '{}'",
                        printable(d.get(..line).unwrap_or(&[]), 32)
                    )));
                }
                None => more = true,
                Some(false) => {}
            }
        }
        if more {
            Probe::NeedMore
        } else {
            Probe::NoMatch
        }
    }
}

/// One UDP datagram; scratch word per direction: bit 63 = seen, bits
/// 0..32 = the next expected sequence number.
fn udp(input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Probe {
    let d = input.data;
    let (Some(ty), Some(one), Some(len), Some(seq)) =
        (le16(d, 0), le16(d, 2), le16(d, 4), le32(d, 6))
    else {
        return Probe::NoMatch;
    };
    if !(1..=16).contains(&ty) || one != 1 || usize::from(len) != d.len() || len < 10 {
        return Probe::NoMatch;
    }
    let slot = usize::from(input.dir == Direction::ToClient);
    let prev = scratch.0[slot];
    if prev >> 63 == 1 && prev & 0xffff_ffff == u64::from(seq) {
        return Probe::Match(Match::new(format!(
            "NoMachine NX UDP: consecutive datagrams, type {ty}, sequence {}..{seq}",
            seq.wrapping_sub(1)
        )));
    }
    scratch.0[slot] = (1 << 63) | u64::from(seq.wrapping_add(1));
    Probe::NeedMore
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const NXSH: &[u8] = include_bytes!("testdata/nxsh.bin");
    const NXD: &[u8] = include_bytes!("testdata/nxd.bin");

    #[test]
    fn greetings() {
        assert_eq!(
            evidence(probe1(&NoMachine, Transport::Tcp, C, NXSH)),
            "NoMachine NX client greeting 'NXSH-8.10.1'"
        );
        assert_eq!(
            evidence(probe1(&NoMachine, Transport::Tcp, S, NXD)),
            "NoMachine NX server greeting 'NXD-8.10.1'"
        );
        assert_eq!(
            probe1(&NoMachine, Transport::Tcp, C, b"NXD-x\n"),
            Probe::NoMatch
        );
        assert_eq!(
            probe1(&NoMachine, Transport::Tcp, C, b"NXD-\n"),
            Probe::NoMatch
        );
    }

    #[test]
    fn udp_sequence() {
        // nomachine.pcapng UDP 56019 -> 4000, the client's first two
        // datagrams: type 1, 1, length 10, sequence 0 then 1.
        let a = [1, 0, 1, 0, 10, 0, 0, 0, 0, 0];
        let b = [1, 0, 1, 0, 10, 0, 1, 0, 0, 0];
        let e = feed_evidence(&NoMachine, Transport::Udp, 4000, &[(C, &a), (C, &b)]);
        assert_eq!(
            e,
            "NoMachine NX UDP: consecutive datagrams, type 1, sequence 0..1"
        );
        assert!(!is_match(&feed(
            &NoMachine,
            Transport::Udp,
            4000,
            &[(C, &a), (C, &a)]
        )));
        assert_random_flows_rejected(&NoMachine, Transport::Udp, 4000);
    }

    #[test]
    fn first_bytes_declared() {
        let a = [1, 0, 1, 0, 10, 0, 0, 0, 0, 0];
        for (t, dir, d) in [
            (Transport::Udp, C, &a[..]),
            (Transport::Udp, S, &a[..]),
            (Transport::Tcp, C, NXSH),
            (Transport::Tcp, S, NXD),
            (Transport::Tcp, C, &NXSH[..3]),
        ] {
            crate::testkit::first_bytes_hold(&NoMachine, &input(t, dir, d, b"", 0));
        }
    }

    #[test]
    fn prefixes_random_foreign() {
        check_prefixes(&NoMachine, Transport::Tcp, C, NXSH, &[]);
        check_prefixes(&NoMachine, Transport::Tcp, S, NXD, NXSH);
        assert_random_flows_rejected(&NoMachine, Transport::Tcp, 4000);
        foreign_never_match(&NoMachine, Transport::Tcp);
    }
}
