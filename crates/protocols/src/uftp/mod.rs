//! UFTP, Encrypted UDP based FTP with multicast (Dennis Bush's uftp,
//! "UFTP protocol specification" shipped with the program; versions 4.x
//! and 5.x), UDP port 1044 by default.
//!
//! Every packet starts with the common header (`uftp_h`, 16 octets):
//! version (0x40 for 4.x, 0x50 for 5.x; 0x30 for 3.x), func (the message
//! type: 1 ANNOUNCE, 2 REGISTER, 3 CLIENT_KEY, 4 REG_CONF, 5 KEYINFO, 6
//! KEYINFO_ACK, 7 FILEINFO, 8 FILEINFO_ACK, 9 FILESEG, 10 DONE, 11 STATUS,
//! 12 COMPLETE, 13 DONE_CONF, 14 HB_REQ, 15 HB_RESP, 16 KEY_REQ, 17
//! PROXY_KEY, 18 ENCRYPTED, 19 ABORT, 20 CONG_CTRL, 21 CC_ACK), a
//! sequence number (2), the sender's id (4), the group id (4), group
//! instance, grtt, gsize and a reserved octet. The message that follows
//! starts with the func code again and its header length in 32-bit words
//! (`hlen`). Observed with uftp 4.10.2: e.g. `40 01 0000 7f000001
//! 6969ad02 00 9d 00 00 | 01 06 ...` for an ANNOUNCE.

use netsift_proto::bytes::u8_at;
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// UFTP.
pub struct Uftp;

const FUNCS: [&str; 21] = [
    "ANNOUNCE",
    "REGISTER",
    "CLIENT_KEY",
    "REG_CONF",
    "KEYINFO",
    "KEYINFO_ACK",
    "FILEINFO",
    "FILEINFO_ACK",
    "FILESEG",
    "DONE",
    "STATUS",
    "COMPLETE",
    "DONE_CONF",
    "HB_REQ",
    "HB_RESP",
    "KEY_REQ",
    "PROXY_KEY",
    "ENCRYPTED",
    "ABORT",
    "CONG_CTRL",
    "CC_ACK",
];

impl Protocol for Uftp {
    fn name(&self) -> &'static str {
        "UFTP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[1044]
    }
    // UFTP `uftp_h`: "version (0x40 for 4.x, 0x50 for 5.x; 0x30 for 3.x)".
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x30, 0x40, 0x50])
    }
    fn probe(&self, input: &ProbeInput<'_>, _s: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let (Some(v), Some(f)) = (u8_at(d, 0), u8_at(d, 1)) else {
            return Probe::NoMatch;
        };
        if !matches!(v, 0x30 | 0x40 | 0x50) {
            return Probe::NoMatch;
        }
        let Some(name) = FUNCS.get(usize::from(f).wrapping_sub(1)) else {
            return Probe::NoMatch;
        };
        // The message repeats func and gives its header length; an
        // ENCRYPTED message carries an encryption header instead.
        let (Some(f2), Some(hlen)) = (u8_at(d, 16), u8_at(d, 17)) else {
            return Probe::NoMatch;
        };
        if f != 18 && (f2 != f || hlen == 0 || 16 + 4 * usize::from(hlen) > d.len()) {
            return Probe::NoMatch;
        }
        Probe::Match(Match::new(format!(
            "UFTP {}.x {name}, group {:02x}{:02x}{:02x}{:02x}",
            v >> 4,
            u8_at(d, 8).unwrap_or(0),
            u8_at(d, 9).unwrap_or(0),
            u8_at(d, 10).unwrap_or(0),
            u8_at(d, 11).unwrap_or(0)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, evidence, probe1, C, S,
    };

    const UDP: Transport = Transport::Udp;
    // Sources: testdata/README.md.
    const ANNOUNCE: &[u8] = include_bytes!("testdata/announce.bin");
    const REGISTER: &[u8] = include_bytes!("testdata/register.bin");
    const FILESEG: &[u8] = include_bytes!("testdata/fileseg.bin");
    const COMPLETE: &[u8] = include_bytes!("testdata/complete.bin");

    #[test]
    fn session() {
        assert_eq!(
            evidence(probe1(&Uftp, UDP, C, ANNOUNCE)),
            "UFTP 4.x ANNOUNCE, group 6969ad02"
        );
        assert_eq!(
            evidence(probe1(&Uftp, UDP, S, REGISTER)),
            "UFTP 4.x REGISTER, group 6969ad02"
        );
        assert!(evidence(probe1(&Uftp, UDP, C, FILESEG)).starts_with("UFTP 4.x FILESEG"));
        assert!(evidence(probe1(&Uftp, UDP, S, COMPLETE)).starts_with("UFTP 4.x COMPLETE"));
        for i in 0..ANNOUNCE.len() {
            let _ = probe1(&Uftp, UDP, C, &ANNOUNCE[..i]);
        }
    }

    #[test]
    fn rejects_random_and_foreign() {
        assert_random_flows_rejected(&Uftp, UDP, 1044);
        assert_foreign_rejected(&Uftp, "uftp");
    }

    #[test]
    fn first_bytes_declared() {
        for (dir, d) in [(C, ANNOUNCE), (S, REGISTER), (C, FILESEG), (S, COMPLETE)] {
            crate::testkit::first_bytes_hold(&Uftp, &crate::testkit::input(UDP, dir, d, &[], 0));
        }
    }
}
