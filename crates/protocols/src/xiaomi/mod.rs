//! Xiaomi: the miIO binary protocol of Xiaomi/Mi Home devices on UDP 54321
//! (vendor protocol; documented by the open-source python-miio project and
//! OpenMiHome's "Binary protocol" notes).
//!
//! Every packet has a 32-octet header, big-endian:
//!
//! ```text
//! 0        2        4          8           12       16
//! | 21 31  | length | unknown  | device id | stamp  | checksum (16) | data ...
//! ```
//! * magic `0x2131`; `length` is the whole packet (header + data);
//! * `unknown` is 0, except in the "hello" discovery packet, which is the
//!   32-octet header with every other octet 0xFF (the device answers
//!   with its device id and stamp and a token or 0xFF/0x00 checksum);
//! * data is AES-128-CBC encrypted JSON (a multiple of 16 octets).
//!
//! One datagram decides: magic, length equal to the datagram, `unknown`
//! 0 or 0xFFFFFFFF, and (when data follows) a whole number of AES blocks.

use netsift_proto::bytes::{be16, be32};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Xiaomi.
pub struct Xiaomi;

const HEADER: usize = 32;

impl Protocol for Xiaomi {
    fn name(&self) -> &'static str {
        "Xiaomi"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[54321]
    }
    // miIO header: "magic `0x2131`".
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x21])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        if d.get(..2) != Some(&[0x21, 0x31][..]) || d.len() < HEADER {
            return Probe::NoMatch;
        }
        let (Some(len), Some(unk), Some(dev)) = (be16(d, 2), be32(d, 4), be32(d, 8)) else {
            return Probe::NoMatch;
        };
        if usize::from(len) != d.len() || (d.len() - HEADER) % 16 != 0 {
            return Probe::NoMatch;
        }
        let hello = d.get(4..).is_some_and(|r| r.iter().all(|&b| b == 0xff));
        let ev = if hello && d.len() == HEADER {
            "Xiaomi miIO hello (discovery)".to_string()
        } else if unk == 0 || unk == 0xffff_ffff {
            if d.len() == HEADER {
                format!("Xiaomi miIO hello reply, device id {dev:#010x}")
            } else {
                format!(
                    "Xiaomi miIO packet, device id {dev:#010x}, {} encrypted octets",
                    d.len() - HEADER
                )
            }
        } else {
            return Probe::NoMatch;
        };
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
    use netsift_proto::Transport::Udp;

    #[test]
    fn hello_and_reply() {
        // Hello: magic, length 0x20, then 28 octets of 0xFF.
        let mut hello = vec![0x21, 0x31, 0x00, 0x20];
        hello.extend_from_slice(&[0xff; 28]);
        assert_eq!(
            evidence(probe1(&Xiaomi, Udp, C, &hello)),
            "Xiaomi miIO hello (discovery)"
        );
        // Reply: unknown 0, device id 0x0123abcd, stamp 0x00001f00,
        // checksum (token) 16 octets.
        let mut r = vec![0x21, 0x31, 0x00, 0x20, 0, 0, 0, 0, 0x01, 0x23, 0xab, 0xcd];
        r.extend_from_slice(&[0, 0, 0x1f, 0]);
        r.extend_from_slice(&[0x11; 16]);
        assert_eq!(
            evidence(probe1(&Xiaomi, Udp, S, &r)),
            "Xiaomi miIO hello reply, device id 0x0123abcd"
        );
        // A command: header with length 0x40 and 32 octets of ciphertext.
        let mut c = r.clone();
        c[3] = 0x40;
        c.extend_from_slice(&[0x77; 32]);
        assert!(evidence(probe1(&Xiaomi, Udp, C, &c)).contains("32 encrypted octets"));
        check_prefixes(&Xiaomi, Udp, C, &c, b"");
        // Length must match; ciphertext in whole AES blocks.
        let mut bad = c.clone();
        bad.push(0);
        assert_eq!(probe1(&Xiaomi, Udp, C, &bad), Probe::NoMatch);
    }

    #[test]
    fn random_and_foreign() {
        assert_random_flows_rejected(&Xiaomi, Udp, 54321);
        assert_foreign_rejected(&Xiaomi, "none");
        foreign_never_match(&Xiaomi, Udp);
    }

    #[test]
    fn first_bytes_declared() {
        let mut hello = vec![0x21, 0x31, 0x00, 0x20];
        hello.extend_from_slice(&[0xff; 28]);
        crate::testkit::first_bytes_hold(&Xiaomi, &crate::testkit::input(Udp, C, &hello, &[], 0));
        let mut r = vec![0x21, 0x31, 0x00, 0x20, 0, 0, 0, 0, 0x01, 0x23, 0xab, 0xcd];
        r.extend_from_slice(&[0, 0, 0x1f, 0]);
        r.extend_from_slice(&[0x11; 16]);
        crate::testkit::first_bytes_hold(&Xiaomi, &crate::testkit::input(Udp, S, &r, &hello, 0));
    }
}
