//! TuyaLP: the Tuya smart-device LAN protocol (vendor protocol; no
//! official specification, documented by the open-source tinytuya and
//! tuyapi projects). UDP 6666/6667 (device discovery broadcasts, clear in
//! v3.1 and AES-encrypted in v3.3+) and TCP 6668 (local control).
//!
//! Frame (v3.1-v3.4), big-endian:
//!
//! ```text
//! 0           4       8       12       16
//! | 00 00 55 AA | seq | cmd   | length | [return code] payload | CRC32 | 00 00 AA 55 |
//! ```
//! `length` counts everything after itself (payload, CRC and suffix), so
//! a frame is `16 + length` octets. v3.5 frames use the prefix
//! `00 00 66 99`, a 2-octet reserved field before `seq` (18-octet header)
//! and the suffix `00 00 99 66`.
//!
//! Prefix and suffix (64 fixed bits) and the length tying them together
//! make one frame enough. Over UDP the frame fills the datagram; over TCP
//! the probe waits for the whole first frame.

use netsift_proto::bytes::{array, be32};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// TuyaLP.
pub struct TuyaLp;

const PREFIX_31: [u8; 4] = [0, 0, 0x55, 0xaa];
const SUFFIX_31: [u8; 4] = [0, 0, 0xaa, 0x55];
const PREFIX_35: [u8; 4] = [0, 0, 0x66, 0x99];
const SUFFIX_35: [u8; 4] = [0, 0, 0x99, 0x66];
/// Largest frame accepted (control messages are small).
const MAX_FRAME: usize = 16 * 1024;

fn cmd_name(c: u32) -> &'static str {
    match c {
        0x07 => "control",
        0x08 => "status",
        0x09 => "heartbeat",
        0x0a => "dp query",
        0x0d => "control new",
        0x10 => "dp query new",
        0x12 => "dp refresh",
        0x13 => "discovery",
        0x14 => "discovery (encrypted)",
        0x03..=0x06 => "session key negotiation",
        _ => "command",
    }
}

impl Protocol for TuyaLp {
    fn name(&self) -> &'static str {
        "TuyaLP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[6666, 6667, 6668]
    }
    // Frame prefix `00 00 55 AA` (v3.1-v3.4) or `00 00 66 99` (v3.5).
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x00])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let tcp = input.transport == Transport::Tcp;
        let n = d.len().min(4);
        let (v35, suffix, hdr) = if d.get(..n) == PREFIX_31.get(..n) && n == 4 {
            (false, SUFFIX_31, 16)
        } else if d.get(..n) == PREFIX_35.get(..n) && n == 4 {
            (true, SUFFIX_35, 18)
        } else if n < 4
            && tcp
            && (d.get(..n) == PREFIX_31.get(..n) || d.get(..n) == PREFIX_35.get(..n))
        {
            return Probe::NeedMore;
        } else {
            return Probe::NoMatch;
        };
        let off = if v35 { 2 } else { 0 };
        let (Some(seq), Some(cmd), Some(len)) =
            (be32(d, 4 + off), be32(d, 8 + off), be32(d, 12 + off))
        else {
            return if tcp { Probe::NeedMore } else { Probe::NoMatch };
        };
        let total = hdr + len as usize;
        // At least CRC (or tag) and suffix; commands are small numbers.
        if (len as usize) < 8 || total > MAX_FRAME || cmd > 0xff {
            return Probe::NoMatch;
        }
        if !tcp && total != d.len() {
            return Probe::NoMatch;
        }
        match array::<4>(d, total - 4) {
            Some(s) if s == suffix => Probe::Match(Match::new(format!(
                "Tuya LAN frame ({}), seq {seq}, cmd {cmd:#04x} ({})",
                if v35 { "v3.5" } else { "v3.1-3.4" },
                cmd_name(cmd)
            ))),
            Some(_) => Probe::NoMatch,
            None => Probe::NeedMore,
        }
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

    /// A v3.1 frame built from the layout: prefix, seq, cmd, length,
    /// payload, CRC (not checked by the probe), suffix.
    fn frame31(seq: u32, cmd: u32, payload: &[u8]) -> Vec<u8> {
        let mut f = PREFIX_31.to_vec();
        f.extend_from_slice(&seq.to_be_bytes());
        f.extend_from_slice(&cmd.to_be_bytes());
        f.extend_from_slice(&((payload.len() + 8) as u32).to_be_bytes());
        f.extend_from_slice(payload);
        f.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]); // CRC32
        f.extend_from_slice(&SUFFIX_31);
        f
    }

    #[test]
    fn udp_discovery_v31() {
        // Device broadcast on 6666: return code 0 then clear JSON.
        let mut p = vec![0, 0, 0, 0];
        p.extend_from_slice(br#"{"ip":"192.168.1.50","gwId":"bf1234","active":2,"version":"3.1"}"#);
        let f = frame31(0, 0x13, &p);
        assert_eq!(
            evidence(probe1(&TuyaLp, Udp, S, &f)),
            "Tuya LAN frame (v3.1-3.4), seq 0, cmd 0x13 (discovery)"
        );
        check_prefixes(&TuyaLp, Udp, S, &f, b"");
        let mut bad = f.clone();
        let n = bad.len();
        bad[n - 1] = 0;
        assert_eq!(probe1(&TuyaLp, Udp, S, &bad), Probe::NoMatch);
    }

    #[test]
    fn tcp_control_and_v35() {
        let f = frame31(7, 0x0a, &[0x33; 32]);
        assert_eq!(
            evidence(probe1(&TuyaLp, Tcp, C, &f)),
            "Tuya LAN frame (v3.1-3.4), seq 7, cmd 0x0a (dp query)"
        );
        check_prefixes(&TuyaLp, Tcp, C, &f, b"");
        // v3.5: prefix 00 00 66 99, 2 reserved octets, seq, cmd, length,
        // 12-octet IV + ciphertext + 16-octet tag, suffix.
        let mut g = PREFIX_35.to_vec();
        g.extend_from_slice(&[0, 0]);
        g.extend_from_slice(&1u32.to_be_bytes());
        g.extend_from_slice(&3u32.to_be_bytes());
        g.extend_from_slice(&((12 + 16 + 16 + 4) as u32).to_be_bytes());
        g.extend_from_slice(&[0x5a; 44]);
        g.extend_from_slice(&SUFFIX_35);
        assert_eq!(
            evidence(probe1(&TuyaLp, Udp, C, &g)),
            "Tuya LAN frame (v3.5), seq 1, cmd 0x03 (session key negotiation)"
        );
    }

    #[test]
    fn random_and_foreign() {
        assert_random_flows_rejected(&TuyaLp, Udp, 6666);
        assert_random_flows_rejected(&TuyaLp, Tcp, 6668);
        assert_foreign_rejected(&TuyaLp, "none");
        foreign_never_match(&TuyaLp, Tcp);
        foreign_never_match(&TuyaLp, Udp);
    }

    #[test]
    fn first_bytes_declared() {
        let f = frame31(0, 0x13, &[0x33; 32]);
        crate::testkit::first_bytes_hold(&TuyaLp, &crate::testkit::input(Udp, S, &f, &[], 0));
        crate::testkit::first_bytes_hold(&TuyaLp, &crate::testkit::input(Tcp, C, &f, &[], 0));
        let mut g = PREFIX_35.to_vec();
        g.extend_from_slice(&[0, 0]);
        g.extend_from_slice(&1u32.to_be_bytes());
        g.extend_from_slice(&3u32.to_be_bytes());
        g.extend_from_slice(&48u32.to_be_bytes());
        g.extend_from_slice(&[0x5a; 44]);
        g.extend_from_slice(&SUFFIX_35);
        crate::testkit::first_bytes_hold(&TuyaLp, &crate::testkit::input(Udp, C, &g, &[], 0));
    }
}
