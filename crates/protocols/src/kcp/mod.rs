//! KCP, the ARQ protocol of skywind3000/kcp (spec: the project's
//! `protocol.md` and `ikcp.c`), over UDP on any port; used by many games
//! (mostly Chinese ones) and tunnels such as kcptun.
//!
//! A datagram is one or more segments, each a 24-byte header, all fields
//! little-endian: `conv` (u32, the conversation id, the same for every
//! segment of a session, both ways), `cmd` (u8: 81 PUSH, 82 ACK, 83 WASK
//! window probe, 84 WINS window size), `frg` (u8, fragments still to come,
//! PUSH only), `wnd` (u16), `ts`, `sn`, `una` (u32 each), `len` (u32), then
//! `len` bytes of data (PUSH only; the other commands carry none). The
//! segments must fill the datagram exactly and share one conv. The header
//! has no magic, so a second datagram of the same conversation (either
//! direction) must confirm it.
//!
//! kcp-go (github.com/xtaci/kcp-go, used by kcptun) with a block cipher
//! configured puts a 20-byte "crypt header" first: a 16-byte random nonce
//! and the CRC-32 (IEEE, u32 LE) of everything after it; with the cipher
//! "none" that header is sent in the clear, so a datagram whose CRC-32
//! checks and whose remainder parses as KCP segments is matched at once.
//! Encrypted kcp-go, kcp-go's FEC header and the 8-byte conv of some games
//! do not parse here and are left to their own probes.

use netsift_proto::bytes::{le32, u8_at};
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// KCP.
pub struct Kcp;

const OVERHEAD: usize = 24;
/// kcp-go: nonce (16) + CRC-32 (4).
const CRYPT_HEADER: usize = 20;

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xedb88320) table.
const CRC_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

fn crc32(d: &[u8]) -> u32 {
    !d.iter().fold(!0u32, |c, &b| {
        CRC_TABLE[usize::from((c as u8) ^ b)] ^ (c >> 8)
    })
}

/// kcp-go's clear crypt header: the CRC-32 of the rest checks and the rest
/// is KCP.
fn crypt_header(d: &[u8]) -> Option<(u32, u8, u32)> {
    if !(81..=84).contains(&u8_at(d, CRYPT_HEADER + 4)?) {
        return None;
    }
    let rest = d.get(CRYPT_HEADER..)?;
    // The segment walk is cheap and rejects most; the CRC runs only then.
    let found = segments(rest)?;
    (le32(d, 16)? == crc32(rest)).then_some(found)
}

/// Walk the segments: (conv, command of the first, segment count).
fn segments(d: &[u8]) -> Option<(u32, u8, u32)> {
    let conv = le32(d, 0)?;
    let first = u8_at(d, 4)?;
    let mut off = 0usize;
    let mut n = 0u32;
    while off < d.len() && n < 64 {
        if le32(d, off)? != conv {
            return None;
        }
        let cmd = u8_at(d, off + 4)?;
        let frg = u8_at(d, off + 5)?;
        let len = le32(d, off + 20)? as usize;
        match cmd {
            81 => {}
            82..=84 if frg == 0 && len == 0 => {}
            _ => return None,
        }
        off = off.checked_add(OVERHEAD)?.checked_add(len)?;
        n += 1;
    }
    (off == d.len() && n > 0).then_some((conv, first, n))
}

fn cmd_name(c: u8) -> &'static str {
    match c {
        81 => "PUSH",
        82 => "ACK",
        83 => "WASK",
        _ => "WINS",
    }
}

impl Protocol for Kcp {
    fn name(&self) -> &'static str {
        "KCP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn probe(&self, input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        // O(1) reject: a segment header and a known command at byte 4
        // (byte 24 behind kcp-go's crypt header).
        let plain = u8_at(d, 4).is_some_and(|c| (81..=84).contains(&c));
        let behind = u8_at(d, CRYPT_HEADER + 4).is_some_and(|c| (81..=84).contains(&c));
        if d.len() < OVERHEAD || !(plain || behind) {
            return Probe::NoMatch;
        }
        if behind {
            if let Some((conv, cmd, n)) = crypt_header(d) {
                return Probe::Match(Match::new(format!(
                    "KCP conv 0x{conv:08x}: {n} segment(s) starting {} behind kcp-go's clear crypt header (CRC-32 ok)",
                    cmd_name(cmd)
                )));
            }
        }
        let Some((conv, cmd, n)) = segments(d) else {
            return Probe::NoMatch;
        };
        // scratch[0]: 1 << 32 | conv of the first valid datagram.
        let prev = scratch.0[0];
        if prev >> 32 == 1 {
            if prev as u32 == conv {
                return Probe::Match(Match::new(format!(
                    "KCP conv 0x{conv:08x}: {n} segment(s) starting {}, second datagram of the conversation",
                    cmd_name(cmd)
                )));
            }
            return Probe::NoMatch;
        }
        scratch.0[0] = 1 << 32 | u64::from(conv);
        Probe::NeedMore
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const KCPTUN: &[u8] = include_bytes!("testdata/kcptun_crypt_none.bin");

    /// One segment: conv, cmd, frg, wnd, ts, sn, una, then `data`.
    fn seg(conv: u32, cmd: u8, sn: u32, una: u32, data: &[u8]) -> Vec<u8> {
        let mut s = conv.to_le_bytes().to_vec();
        s.push(cmd);
        s.push(0); // frg
        s.extend_from_slice(&128u16.to_le_bytes()); // wnd
        s.extend_from_slice(&1000u32.to_le_bytes()); // ts
        s.extend_from_slice(&sn.to_le_bytes());
        s.extend_from_slice(&una.to_le_bytes());
        s.extend_from_slice(&(data.len() as u32).to_le_bytes());
        s.extend_from_slice(data);
        s
    }

    #[test]
    fn push_then_ack_confirms() {
        let push = seg(0x1122_3344, 81, 0, 0, b"hello");
        let mut ack = seg(0x1122_3344, 82, 0, 1, b"");
        ack.extend(seg(0x1122_3344, 81, 0, 1, b"world!"));
        assert_eq!(probe1(&Kcp, Transport::Udp, C, &push), Probe::NeedMore);
        let e = feed_evidence(&Kcp, Transport::Udp, 4000, &[(C, &push), (S, &ack)]);
        assert_eq!(
            e,
            "KCP conv 0x11223344: 2 segment(s) starting ACK, second datagram of the conversation"
        );
        check_prefixes(&Kcp, Transport::Udp, S, &ack, &[]);
    }

    #[test]
    fn other_conversation_or_trailing_bytes_do_not_confirm() {
        let a = seg(1, 81, 0, 0, b"x");
        let b = seg(2, 81, 1, 0, b"y");
        assert!(!is_match(&feed(
            &Kcp,
            Transport::Udp,
            4000,
            &[(C, &a), (C, &b)]
        )));
        let mut c = seg(1, 81, 1, 0, b"y");
        c.push(0);
        assert!(!is_match(&feed(
            &Kcp,
            Transport::Udp,
            4000,
            &[(C, &a), (C, &c)]
        )));
    }

    #[test]
    fn kcptun_crypt_none_datagram() {
        // kcptun 20210922 (Debian) with --crypt none: nonce, CRC-32, KCP.
        let e = evidence(probe1(&Kcp, Transport::Udp, C, KCPTUN));
        assert!(
            e.ends_with("behind kcp-go's clear crypt header (CRC-32 ok)"),
            "{e}"
        );
        assert!(e.starts_with("KCP conv 0x"), "{e}");
        let mut bad = KCPTUN.to_vec();
        bad[30] ^= 1;
        assert_ne!(
            probe1(&Kcp, Transport::Udp, C, &bad),
            probe1(&Kcp, Transport::Udp, C, KCPTUN)
        );
        check_prefixes(&Kcp, Transport::Udp, C, KCPTUN, &[]);
    }

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn random_and_foreign_rejected() {
        assert_random_flows_rejected(&Kcp, Transport::Udp, 4000);
        assert_foreign_rejected(&Kcp, "kcp");
        foreign_never_match(&Kcp, Transport::Udp);
    }
}
