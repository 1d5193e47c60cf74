//! Lustre LNet over TCP (the socket LND, "socklnd"): the acceptor
//! handshake, the ksocklnd HELLO and LNet messages. Lustre publishes no
//! wire document; the layouts are those of the Lustre manual's LNet
//! chapter and the public `lnet-idl.h` / `socklnd.h` headers (read for
//! facts only), checked against the nDPI corpus capture.
//!
//! * Acceptor request (client → port 988): magic 0xacce7100, version 1,
//!   the target NID (u64) — all little-endian (or byte-swapped from a
//!   big-endian host).
//! * HELLO: magic 0x45726963 ("Eric" read as LE), socklnd protocol version
//!   2 or 3, source and destination NID, PIDs, incarnations, connection
//!   type (1 control, 2 bulk in, 3 bulk out) and the IP count. The V1
//!   hello uses magic 0xeebc0ded with version 1.0.
//! * Messages (V2/V3): `ksm_type` 0xc0 (NOOP) or 0xc1 (LNET), checksum, two
//!   zero-copy cookies, then for LNET the LNet header: destination and
//!   source NID, PIDs, message type (0 ACK .. 4 HELLO), payload length.
//!   A NID is `(net << 32) | address` with `net = (LND type << 16) | net
//!   number`; the LND types are small integers (2 = socklnd "tcp", 5 =
//!   o2iblnd), which makes the header recognisable mid-session.

use netsift_proto::bytes::{be32, le16, le32, le64};
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Lustre.
pub struct Lustre;

const ACCEPTOR_MAGIC: u32 = 0xacce_7100;
const HELLO_MAGIC: u32 = 0x4572_6963;
const V1_MAGIC: u32 = 0xeebc_0ded;
const KSOCK_MSG_LNET: u32 = 0xc1;

impl Protocol for Lustre {
    fn name(&self) -> &'static str {
        "Lustre"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[988]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let (Some(le), Some(be)) = (le32(d, 0), be32(d, 0)) else {
            // Any 1-3 byte prefix of the magics or of a message type.
            return if lead_ok(d) {
                Probe::NeedMore
            } else {
                Probe::NoMatch
            };
        };
        let need = |n: usize| d.len() < n;
        if le == ACCEPTOR_MAGIC || be == ACCEPTOR_MAGIC {
            if need(16) {
                return Probe::NeedMore;
            }
            let ver = if le == ACCEPTOR_MAGIC {
                le32(d, 4)
            } else {
                be32(d, 4)
            };
            let nid = le64(d, 8).unwrap_or(0);
            return if ver == Some(1) && (le != ACCEPTOR_MAGIC || nid_ok(nid)) {
                Probe::Match(Match::new(format!(
                    "Lustre LNet acceptor request for {}",
                    nid_text(nid, le == ACCEPTOR_MAGIC)
                )))
            } else {
                Probe::NoMatch
            };
        }
        if le == HELLO_MAGIC || be == HELLO_MAGIC {
            if need(56) {
                return Probe::NeedMore;
            }
            let swab = le != HELLO_MAGIC;
            let r32 = |o: usize| if swab { be32(d, o) } else { le32(d, o) };
            let ver = r32(4).unwrap_or(0);
            let ctype = r32(48).unwrap_or(0);
            let nips = r32(52).unwrap_or(u32::MAX);
            let nid = le64(d, 8).unwrap_or(0);
            return if (2..=3).contains(&ver) && ctype <= 3 && nips <= 16 && (swab || nid_ok(nid)) {
                Probe::Match(Match::new(format!(
                    "Lustre socklnd HELLO v{ver} from {}",
                    nid_text(nid, !swab)
                )))
            } else {
                Probe::NoMatch
            };
        }
        if le == V1_MAGIC || be == V1_MAGIC {
            let major = if le == V1_MAGIC { le16(d, 4) } else { None };
            return match major {
                None if need(8) => Probe::NeedMore,
                Some(1) if le16(d, 6) == Some(0) => {
                    Probe::Match(Match::new("Lustre socklnd HELLO v1"))
                }
                _ => Probe::NoMatch,
            };
        }
        if le == KSOCK_MSG_LNET {
            // ksm_type, ksm_csum, 2 cookies (24 bytes), then the LNet header.
            if need(24 + 32) {
                return Probe::NeedMore;
            }
            let dst = le64(d, 24).unwrap_or(0);
            let src = le64(d, 32).unwrap_or(0);
            let ty = le32(d, 48).unwrap_or(u32::MAX);
            const TYPES: [&str; 5] = ["ACK", "PUT", "GET", "REPLY", "HELLO"];
            return match TYPES.get(ty as usize) {
                Some(t) if nid_ok(dst) && nid_ok(src) => Probe::Match(Match::new(format!(
                    "Lustre LNet {t} from {} to {}",
                    nid_text(src, true),
                    nid_text(dst, true)
                ))),
                _ => Probe::NoMatch,
            };
        }
        Probe::NoMatch
    }
}

/// A 1-3 byte prefix that may still become one of the recognised starts.
fn lead_ok(d: &[u8]) -> bool {
    [ACCEPTOR_MAGIC, HELLO_MAGIC, V1_MAGIC, KSOCK_MSG_LNET]
        .iter()
        .any(|m| m.to_le_bytes().starts_with(d) || m.to_be_bytes().starts_with(d))
}

/// A NID (as read little-endian): an LND type of 1..=20 in the top 16
/// bits of the network half, and a non-zero address.
fn nid_ok(nid: u64) -> bool {
    let lnd = (nid >> 48) as u16;
    (1..=20).contains(&lnd) && nid as u32 != 0
}

fn nid_text(nid: u64, le: bool) -> String {
    if !le {
        return String::from("a big-endian peer");
    }
    let a = (nid as u32).to_be_bytes();
    let lnd = (nid >> 48) as u16;
    let num = (nid >> 32) as u16;
    let name = match lnd {
        2 => "tcp",
        5 => "o2ib",
        _ => "lnd",
    };
    let num = if num == 0 {
        String::new()
    } else {
        num.to_string()
    };
    format!("{}.{}.{}.{}@{name}{num}", a[0], a[1], a[2], a[3])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_random_flows_rejected, check_prefixes, evidence, foreign_never_match, probe1, C, S,
    };

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const ACCEPTOR: &[u8] = include_bytes!("testdata/acceptor.bin");
    const HELLO: &[u8] = include_bytes!("testdata/hello.bin");
    const PUT: &[u8] = include_bytes!("testdata/lnet_put.bin");
    const REPLY: &[u8] = include_bytes!("testdata/lnet_reply.bin");

    #[test]
    fn real_messages() {
        assert_eq!(
            evidence(probe1(&Lustre, TCP, C, ACCEPTOR)),
            "Lustre LNet acceptor request for 192.168.88.131@tcp"
        );
        assert_eq!(
            evidence(probe1(&Lustre, TCP, C, HELLO)),
            "Lustre socklnd HELLO v3 from 192.168.88.132@tcp"
        );
        // A flow that starts mid-session.
        assert_eq!(
            evidence(probe1(&Lustre, TCP, C, PUT)),
            "Lustre LNet PUT from 192.168.88.118@tcp to 192.168.88.119@tcp"
        );
        assert_eq!(
            evidence(probe1(&Lustre, TCP, S, REPLY)),
            "Lustre LNet PUT from 192.168.88.119@tcp to 192.168.88.118@tcp"
        );
        for (d, dir) in [(ACCEPTOR, C), (HELLO, C), (PUT, C), (REPLY, S)] {
            check_prefixes(&Lustre, TCP, dir, d, b"");
        }
    }

    #[test]
    fn bad_fields() {
        let mut b = ACCEPTOR.to_vec();
        b[4] = 2; // acceptor version
        assert_eq!(probe1(&Lustre, TCP, C, &b), Probe::NoMatch);
        let mut b = PUT.to_vec();
        b[48] = 9; // LNet message type
        assert_eq!(probe1(&Lustre, TCP, C, &b), Probe::NoMatch);
        let mut b = PUT.to_vec();
        b[31] = 0x40; // LND type of the destination NID
        assert_eq!(probe1(&Lustre, TCP, C, &b), Probe::NoMatch);
    }

    #[test]
    fn random_foreign() {
        assert_random_flows_rejected(&Lustre, TCP, 988);
        foreign_never_match(&Lustre, TCP);
    }
}
