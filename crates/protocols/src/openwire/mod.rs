//! OpenWire, Apache ActiveMQ's native wire protocol ("OpenWire Version 2
//! Specification", activemq.apache.org).
//!
//! "Every command is prefixed with its size" (a 4-byte big-endian int,
//! unless the peers negotiated `SizePrefixDisabled`), then a one-byte data
//! structure type. The first command each side sends is `WireFormatInfo`
//! (type 1): the magic `ActiveMQ` (8 bytes), the OpenWire version (int),
//! then the marshalled option map (`CacheEnabled`, `TightEncodingEnabled`,
//! `MaxInactivityDuration`...). Both sides send it, so either direction of
//! a capture is enough. Later commands carry no magic and are left alone
//! (a capture that misses the connection start is not recognised).

use netsift_proto::bytes::be32;
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// OpenWire.
pub struct OpenWire;

const MAGIC: &[u8] = b"ActiveMQ";
/// `WireFormatInfo` data structure type.
const WIREFORMAT_INFO: u8 = 1;

impl Protocol for OpenWire {
    fn name(&self) -> &'static str {
        "OpenWire"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[61616]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        // Size-prefixed (the default) or not.
        let prefixed = d.first() != Some(&WIREFORMAT_INFO);
        let at = if prefixed { 4 } else { 0 };
        if prefixed {
            // The size of a WireFormatInfo is a few hundred bytes: the
            // first two bytes of the prefix are 0.
            let n = d.len().min(2);
            if d.get(..n).is_some_and(|z| z.iter().any(|&b| b != 0)) {
                return Probe::NoMatch;
            }
        }
        let expect = |off: usize, want: &[u8]| -> Option<bool> {
            let have = d.get(off..).unwrap_or(&[]);
            let n = have.len().min(want.len());
            if have.get(..n) != want.get(..n) {
                Some(false)
            } else if n < want.len() {
                None
            } else {
                Some(true)
            }
        };
        if prefixed {
            match be32(d, 0) {
                None => return Probe::NeedMore,
                Some(s) if !(13..=65536).contains(&s) => return Probe::NoMatch,
                Some(_) => {}
            }
        }
        match expect(at, &[WIREFORMAT_INFO]) {
            Some(true) => {}
            Some(false) => return Probe::NoMatch,
            None => return Probe::NeedMore,
        }
        match expect(at + 1, MAGIC) {
            Some(true) => {}
            Some(false) => return Probe::NoMatch,
            None => return Probe::NeedMore,
        }
        let Some(version) = be32(d, at + 9) else {
            return Probe::NeedMore;
        };
        if !(1..=64).contains(&version) {
            return Probe::NoMatch;
        }
        Probe::Match(Match::new(format!(
            "OpenWire WireFormatInfo, version {version}{}",
            if prefixed {
                ""
            } else {
                ", size prefix disabled"
            }
        )))
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
    const CLIENT: &[u8] = include_bytes!("testdata/wireformat_client.bin");
    const BROKER: &[u8] = include_bytes!("testdata/wireformat_broker.bin");

    #[test]
    fn wireformat_info() {
        assert_eq!(
            evidence(probe1(&OpenWire, TCP, C, CLIENT)),
            "OpenWire WireFormatInfo, version 10"
        );
        assert_eq!(
            evidence(probe1(&OpenWire, TCP, S, BROKER)),
            "OpenWire WireFormatInfo, version 12"
        );
        // SizePrefixDisabled: the command starts at the type byte.
        assert_eq!(
            evidence(probe1(&OpenWire, TCP, C, &CLIENT[4..])),
            "OpenWire WireFormatInfo, version 10, size prefix disabled"
        );
        check_prefixes(&OpenWire, TCP, C, CLIENT, b"");
        check_prefixes(&OpenWire, TCP, S, BROKER, b"");
        check_prefixes(&OpenWire, TCP, C, &CLIENT[4..], b"");
    }

    #[test]
    fn random_foreign() {
        assert_random_flows_rejected(&OpenWire, TCP, 61616);
        foreign_never_match(&OpenWire, TCP);
    }
}
