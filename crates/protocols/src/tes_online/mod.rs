//! TES_Online (The Elder Scrolls Online, ZeniMax): the client's TCP login
//! and gateway connections. Observed protocol (no public specification),
//! from nDPI's `teso.pcapng` (two connections to two servers).
//!
//! The client's first message is length-framed twice: a u32 BE length of
//! what follows, u16 BE 1, u16 BE 1, a second u32 BE length (the first
//! minus 8, what follows it), a u16 message tag, and a u16 BE-length
//! string (the account name, or a session UUID). The two lengths must
//! agree and the string be printable.

use netsift_proto::bytes::{be16, be32};
use netsift_proto::{printable, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// TES_Online.
pub struct TesOnline;

impl Protocol for TesOnline {
    fn name(&self) -> &'static str {
        "TES_Online"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[24100, 24300, 24500]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        // Lengths below 16 MiB and the two version words "0001 0001":
        // fixed bytes checked as they arrive.
        const FIXED: [(usize, u8); 5] = [(0, 0), (4, 0), (5, 1), (6, 0), (7, 1)];
        for (i, v) in FIXED {
            match d.get(i) {
                Some(&b) if b != v => return Probe::NoMatch,
                None => return Probe::NeedMore,
                _ => {}
            }
        }
        let (Some(outer), Some(inner), Some(n)) = (be32(d, 0), be32(d, 8), be16(d, 14)) else {
            return Probe::NeedMore;
        };
        if outer < 16 || inner.checked_add(8) != Some(outer) || n == 0 || n > 128 {
            return Probe::NoMatch;
        }
        let n = usize::from(n);
        if n + 12 > outer as usize {
            return Probe::NoMatch;
        }
        let Some(s) = d.get(16..16 + n) else {
            if d.get(16..)
                .is_some_and(|s| !s.iter().all(|b| b.is_ascii_graphic()))
            {
                return Probe::NoMatch;
            }
            return Probe::NeedMore;
        };
        if !s.iter().all(|b| b.is_ascii_graphic()) {
            return Probe::NoMatch;
        }
        Probe::Match(Match::new(format!(
            "TES Online client message ({outer} bytes), string '{}'",
            printable(s, 40)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const LOGIN: &[u8] = include_bytes!("testdata/login_c.bin");
    const LOGIN_UUID: &[u8] = include_bytes!("testdata/login_uuid_c.bin");

    #[test]
    fn login_messages_match() {
        let e = evidence(probe1(&TesOnline, Transport::Tcp, C, LOGIN));
        assert_eq!(
            e,
            "TES Online client message (854 bytes), string 'gachimuchileatherman'"
        );
        let e = evidence(probe1(&TesOnline, Transport::Tcp, C, LOGIN_UUID));
        assert!(e.contains("78daf696-"), "{e}");
        check_prefixes(&TesOnline, Transport::Tcp, C, LOGIN, &[]);
        check_prefixes(&TesOnline, Transport::Tcp, C, LOGIN_UUID, &[]);
    }

    #[test]
    fn random_and_foreign_rejected() {
        assert_random_flows_rejected(&TesOnline, Transport::Tcp, 24100);
        assert_foreign_rejected(&TesOnline, "teso");
        foreign_never_match(&TesOnline, Transport::Tcp);
    }
}
