//! Ceph messenger protocol (Ceph documentation, "Messenger v2" and the
//! msgr v1 description in the developer guide "Network Protocol").
//!
//! Both peers open a connection with a banner: msgr v1 sends `ceph v027`
//! (9 bytes) followed by its entity address; msgr2 sends `ceph v2\n`
//! followed by a 16-bit little-endian payload length and the supported /
//! required feature bits. Either side's banner names the flow (both send
//! it, so a one-direction capture is enough). Later frames carry no magic;
//! a capture that misses the banners is not recognised.

use netsift_proto::bytes::le16;
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Ceph.
pub struct Ceph;

const V1: &[u8] = b"ceph v027";

impl Protocol for Ceph {
    fn name(&self) -> &'static str {
        "Ceph"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[3300, 6789]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let common = b"ceph v";
        let n = d.len().min(common.len());
        if d.get(..n) != common.get(..n) {
            return Probe::NoMatch;
        }
        match d.get(6) {
            None => Probe::NeedMore,
            Some(b'0') => match d.get(..V1.len()) {
                None if V1.starts_with(d) => Probe::NeedMore,
                Some(b) if b == V1 => {
                    Probe::Match(Match::new("Ceph messenger v1 banner 'ceph v027'"))
                }
                _ => Probe::NoMatch,
            },
            Some(b'2') => match (d.get(7), le16(d, 8)) {
                (None, _) => Probe::NeedMore,
                (Some(b'\n'), None) => Probe::NeedMore,
                // "banner payload": two 64-bit feature masks at least.
                (Some(b'\n'), Some(len)) if (16..=4096).contains(&len) => Probe::Match(Match::new(
                    format!("Ceph messenger v2 banner, {len}-byte feature payload"),
                )),
                _ => Probe::NoMatch,
            },
            Some(_) => Probe::NoMatch,
        }
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
    const BANNER_V1: &[u8] = include_bytes!("testdata/banner_v1.bin");

    #[test]
    fn banners() {
        assert_eq!(
            evidence(probe1(&Ceph, TCP, S, BANNER_V1)),
            "Ceph messenger v1 banner 'ceph v027'"
        );
        assert_eq!(
            evidence(probe1(&Ceph, TCP, C, BANNER_V1)),
            "Ceph messenger v1 banner 'ceph v027'"
        );
        // msgr2 banner built from the Messenger v2 document: "ceph v2\n",
        // le16 payload length 16, supported features (le64), required (le64).
        let mut v2 = b"ceph v2\n\x10\x00".to_vec();
        v2.extend_from_slice(&1u64.to_le_bytes());
        v2.extend_from_slice(&0u64.to_le_bytes());
        assert_eq!(
            evidence(probe1(&Ceph, TCP, C, &v2)),
            "Ceph messenger v2 banner, 16-byte feature payload"
        );
        check_prefixes(&Ceph, TCP, S, BANNER_V1, b"");
        check_prefixes(&Ceph, TCP, C, &v2, b"");
        assert_eq!(probe1(&Ceph, TCP, C, b"ceph v1 hello"), Probe::NoMatch);
    }

    #[test]
    fn random_foreign() {
        assert_random_flows_rejected(&Ceph, TCP, 6789);
        foreign_never_match(&Ceph, TCP);
    }
}
