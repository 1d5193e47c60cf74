//! HSRP, Cisco's Hot Standby Router Protocol, over UDP (port 1985; 2029
//! for HSRPv2 over IPv6).
//!
//! Versions 0/1: RFC 2281 §5, a fixed 20-octet message: Version (0),
//! Op Code (0 Hello, 1 Coup, 2 Resign), State (0 Initial, 1 Learn, 2
//! Listen, 4 Speak, 8 Standby, 16 Active), Hellotime, Holdtime, Priority,
//! Group, Reserved, Authentication Data (8 octets, default "cisco"),
//! Virtual IP Address (4).
//!
//! Version 2 (Cisco "HSRP version 2" configuration guide; no RFC): a chain
//! of TLVs, Type (1) and Length (1): 1 Group State (length 40: version 2,
//! op code, state, IP version 4/6, group (2), identifier (6), priority (4),
//! hello time (4), hold time (4), virtual address (16)), 2 Interface State
//! (length 4), 3 Text Authentication (length 8), 4 MD5 Authentication
//! (length 28). A datagram that only carries the Interface State TLV is
//! too weak to call and is confirmed by a Group State TLV of a later one.

use netsift_proto::bytes::{be16, u8_at};
use netsift_proto::{
    printable, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// HSRP.
pub struct Hsrp;

fn state_v1(s: u8) -> Option<&'static str> {
    Some(match s {
        0 => "Initial",
        1 => "Learn",
        2 => "Listen",
        4 => "Speak",
        8 => "Standby",
        16 => "Active",
        _ => return None,
    })
}

fn state_v2(s: u8) -> Option<&'static str> {
    Some(match s {
        0 => "Disabled",
        1 => "Initial",
        2 => "Learn",
        3 => "Listen",
        4 => "Speak",
        5 => "Standby",
        6 => "Active",
        _ => return None,
    })
}

const OPS: [&str; 3] = ["Hello", "Coup", "Resign"];

fn v1(d: &[u8]) -> Option<String> {
    if d.len() != 20 || u8_at(d, 0)? != 0 {
        return None;
    }
    let op = OPS.get(usize::from(u8_at(d, 1)?))?;
    let state = state_v1(u8_at(d, 2)?)?;
    let (hello, hold) = (u8_at(d, 3)?, u8_at(d, 4)?);
    // Reserved octet zero; a holdtime shorter than the hellotime would
    // make every router time out its peers. Routers fill both times in
    // every message (RFC 2281 §5: "Hellotime ... the approximate period
    // between the Hello messages"; "Holdtime ... the amount of time that
    // the current Hello message should be considered valid"); zero times
    // are what a zero-filled datagram of another protocol looks like
    // (Heroes of the Storm's 20-octet control datagrams, hots.pcapng).
    if u8_at(d, 7)? != 0 || hello == 0 || hold <= hello {
        return None;
    }
    let group = u8_at(d, 6)?;
    let auth = d.get(8..16)?;
    let auth_len = auth.iter().position(|&b| b == 0).unwrap_or(8);
    Some(format!(
        "HSRPv{} {op}, group {group}, state {state}, auth '{}'",
        u8_at(d, 0)?,
        printable(auth.get(..auth_len)?, 8)
    ))
}

/// HSRPv2: `Ok(Some(evidence))` with a Group State TLV, `Ok(None)` for a
/// well-formed chain without one, `Err(())` if not HSRPv2.
#[allow(clippy::result_unit_err)]
fn v2(d: &[u8]) -> Result<Option<String>, ()> {
    let mut o = 0;
    let mut found = None;
    let mut n = 0;
    while o < d.len() {
        n += 1;
        if n > 8 {
            return Err(());
        }
        let t = u8_at(d, o).ok_or(())?;
        let l = usize::from(u8_at(d, o + 1).ok_or(())?);
        let want = match t {
            1 => 40,
            2 => 4,
            3 => 8,
            4 => 28,
            _ => return Err(()),
        };
        if l != want || o + 2 + l > d.len() {
            return Err(());
        }
        if t == 1 {
            let v = d.get(o + 2..o + 2 + l).ok_or(())?;
            if u8_at(v, 0) != Some(2) {
                return Err(());
            }
            let op = OPS.get(usize::from(u8_at(v, 1).ok_or(())?)).ok_or(())?;
            let state = state_v2(u8_at(v, 2).ok_or(())?).ok_or(())?;
            let ipv = u8_at(v, 3).ok_or(())?;
            if ipv != 4 && ipv != 6 {
                return Err(());
            }
            let group = be16(v, 4).ok_or(())?;
            // Groups 0..=4095 (Cisco: "HSRP version 2 ... group numbers
            // in the range 0 to 4095").
            if group > 4095 {
                return Err(());
            }
            found = Some(format!(
                "HSRPv2 {op}, group {group}, state {state}, IPv{ipv}"
            ));
        }
        o += 2 + l;
    }
    Ok(found)
}

impl Protocol for Hsrp {
    fn name(&self) -> &'static str {
        "HSRP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[1985, 2029]
    }
    // RFC 2281 §5: "Version: 1 octet ... This document describes version
    // 0."; HSRPv2 is a chain of TLVs whose types are 1 Group State, 2
    // Interface State, 3 Text Authentication, 4 MD5 Authentication.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::range(0, 4)
    }
    fn probe(&self, input: &ProbeInput<'_>, _s: &mut ProbeScratch) -> Probe {
        let d = input.data;
        match d.first() {
            Some(0) => match v1(d) {
                Some(ev) => Probe::Match(Match::new(ev)),
                None => Probe::NoMatch,
            },
            Some(1..=4) => match v2(d) {
                Ok(Some(ev)) => Probe::Match(Match::new(ev)),
                // Only an Interface State TLV: wait for a Group State.
                Ok(None) => Probe::NeedMore,
                Err(()) => Probe::NoMatch,
            },
            _ => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, evidence, feed_evidence, probe1, C,
    };

    const UDP: Transport = Transport::Udp;
    // Sources: testdata/README.md.
    const V0_HELLO: &[u8] = include_bytes!("testdata/v0_hello.bin");
    const V2_GROUP: &[u8] = include_bytes!("testdata/v2_group_md5.bin");
    const V2_IFSTATE: &[u8] = include_bytes!("testdata/v2_interface_state.bin");

    #[test]
    fn version0_hello() {
        assert_eq!(
            evidence(probe1(&Hsrp, UDP, C, V0_HELLO)),
            "HSRPv0 Hello, group 10, state Active, auth 'cisco'"
        );
        for i in 0..V0_HELLO.len() {
            assert_eq!(probe1(&Hsrp, UDP, C, &V0_HELLO[..i]), Probe::NoMatch);
        }
        // Heroes of the Storm's 20-octet control datagram (hots.pcapng,
        // frame 36): fourteen zero octets look like an HSRPv0 header with
        // zero hello and hold times, which no router sends.
        let hots = [
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0x09, 0xef, 0x65, 0xde,
        ];
        assert_eq!(probe1(&Hsrp, UDP, C, &hots), Probe::NoMatch);
    }

    #[test]
    fn version2_flow() {
        // The Interface State TLV alone waits; the Group State TLV calls it.
        assert_eq!(probe1(&Hsrp, UDP, C, V2_IFSTATE), Probe::NeedMore);
        assert_eq!(
            feed_evidence(&Hsrp, UDP, 2029, &[(C, V2_IFSTATE), (C, V2_GROUP)]),
            "HSRPv2 Hello, group 16, state Speak, IPv6"
        );
        for i in 0..V2_GROUP.len() {
            let _ = probe1(&Hsrp, UDP, C, &V2_GROUP[..i]);
        }
    }

    #[test]
    fn first_bytes_declared() {
        use crate::testkit::first_bytes_hold;
        use crate::testkit::input;
        first_bytes_hold(&Hsrp, &input(UDP, C, V0_HELLO, &[], 0));
        first_bytes_hold(&Hsrp, &input(UDP, C, V2_GROUP, &[], 0));
        first_bytes_hold(&Hsrp, &input(UDP, C, V2_IFSTATE, &[], 0));
    }

    #[test]
    fn rejects_random_and_foreign() {
        assert_random_flows_rejected(&Hsrp, UDP, 1985);
        assert_foreign_rejected(&Hsrp, "hsrp");
    }
}
