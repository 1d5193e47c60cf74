//! BJNP: Canon's printer and scanner network protocol (vendor protocol, no
//! published specification; layout from the open-source cups-bjnp and
//! sane-backends pixma drivers' descriptions, checked against nDPI's
//! bjnp.pcap). Ports 8611 (print), 8612 (scan), 8613, 8614; UDP for
//! discovery and control, TCP for job data.
//!
//! Every message starts with a 16-octet header, big-endian:
//!
//! ```text
//! 0        4         5          6          8        10          12          16
//! | magic  | dev type | cmd code | reserved | seq no | session id | payload len |
//! ```
//! * magic: `BJNP` (printer and scanner service), `MFNP` (multi-function
//!   scanner service), and the `BNJB` / `BJNB` variants seen from some
//!   devices;
//! * dev type: 0x01 printer command, 0x02 scanner command, 0x81 printer
//!   response, 0x82 scanner response;
//! * payload len: octets after the header (UDP: exactly the rest of the
//!   datagram).
//!
//! The 32-bit magic plus the device type, and (UDP) the payload length
//! matching the datagram, make one message enough.

use netsift_proto::bytes::{be16, be32, u8_at};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// BJNP.
pub struct Bjnp;

const HEADER: usize = 16;
const MAGICS: [&[u8; 4]; 4] = [b"BJNP", b"MFNP", b"BNJB", b"BJNB"];
/// Largest TCP payload accepted in one message (print data comes in
/// chunks; the drivers send at most 64 KiB at a time).
const MAX_TCP_PAYLOAD: u32 = 1 << 20;

fn cmd_name(code: u8) -> &'static str {
    match code {
        0x01 => "discover",
        0x10 => "job details",
        0x11 => "close",
        0x20 => "get status",
        0x21 => "data",
        0x30 => "get id",
        0x32 => "poll",
        _ => "command",
    }
}

impl Protocol for Bjnp {
    fn name(&self) -> &'static str {
        "BJNP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[8611, 8612, 8613, 8614]
    }
    // Module doc: "Every message starts with a 16-octet header" whose magic
    // is "`BJNP` ..., `MFNP` ..., and the `BNJB` / `BJNB` variants".
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(b"BM")
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let tcp = input.transport == Transport::Tcp;
        let n = d.len().min(4);
        let Some(head) = d.get(..n) else {
            return Probe::NoMatch;
        };
        let Some(magic) = MAGICS.iter().find(|m| m.get(..n) == Some(head)) else {
            return Probe::NoMatch;
        };
        let (Some(ty), Some(code), Some(seq), Some(plen)) =
            (u8_at(d, 4), u8_at(d, 5), be16(d, 8), be32(d, 12))
        else {
            return if tcp { Probe::NeedMore } else { Probe::NoMatch };
        };
        let (dev, resp) = match ty {
            0x01 => ("printer", false),
            0x02 => ("scanner", false),
            0x81 => ("printer", true),
            0x82 => ("scanner", true),
            _ => return Probe::NoMatch,
        };
        let len_ok = if tcp {
            plen <= MAX_TCP_PAYLOAD
        } else {
            d.len().saturating_sub(HEADER) == plen as usize
        };
        if !len_ok {
            return Probe::NoMatch;
        }
        Probe::Match(Match::new(format!(
            "{} {dev} {}: {}, seq {seq}",
            String::from_utf8_lossy(&magic[..]),
            if resp { "response" } else { "command" },
            cmd_name(code)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, check_prefixes, evidence,
        foreign_never_match, input, probe1, C, S,
    };
    use netsift_proto::Transport::{Tcp, Udp};

    // Sources: testdata/README.md.
    const DISCOVER: &[u8] = include_bytes!("testdata/discover.bin");

    #[test]
    fn corpus_discover() {
        assert_eq!(
            evidence(probe1(&Bjnp, Udp, C, DISCOVER)),
            "BJNP scanner command: discover, seq 6052"
        );
        check_prefixes(&Bjnp, Udp, C, DISCOVER, b"");
    }

    #[test]
    fn built_from_the_layout() {
        // Printer's discover response: "BJNP", 0x81, 0x01, reserved,
        // seq 7, session 0, payload 16 octets (MAC + IPv4 of the printer).
        let mut r = b"BJNP\x81\x01\x00\x00\x00\x07\x00\x00\x00\x00\x00\x10".to_vec();
        r.extend_from_slice(&[
            0, 0, 0x85, 0x11, 0x22, 0x33, 0, 1, 8, 0, 0xc0, 0xa8, 1, 9, 0, 0,
        ]);
        assert_eq!(
            evidence(probe1(&Bjnp, Udp, S, &r)),
            "BJNP printer response: discover, seq 7"
        );
        // MFNP over TCP: scanner get id with a 2-octet payload following.
        let t = b"MFNP\x02\x30\x00\x00\x00\x01\x00\x05\x00\x00\x00\x02\x00\x00";
        assert_eq!(
            evidence(probe1(&Bjnp, Tcp, C, t)),
            "MFNP scanner command: get id, seq 1"
        );
        check_prefixes(&Bjnp, Tcp, C, t, b"");
        // Wrong payload length over UDP; unknown device type.
        let mut bad = DISCOVER.to_vec();
        bad[15] = 4;
        assert_eq!(probe1(&Bjnp, Udp, C, &bad), Probe::NoMatch);
        let mut bad = DISCOVER.to_vec();
        bad[4] = 3;
        assert_eq!(probe1(&Bjnp, Udp, C, &bad), Probe::NoMatch);
    }

    #[test]
    fn first_bytes_declared() {
        crate::testkit::first_bytes_hold(&Bjnp, &input(Udp, C, DISCOVER, &[], 0));
        let t = b"MFNP\x02\x30\x00\x00\x00\x01\x00\x05\x00\x00\x00\x02\x00\x00";
        crate::testkit::first_bytes_hold(&Bjnp, &input(Tcp, C, t, &[], 0));
    }

    #[test]
    fn random_and_foreign() {
        assert_random_flows_rejected(&Bjnp, Udp, 8612);
        assert_foreign_rejected(&Bjnp, "none");
        foreign_never_match(&Bjnp, Tcp);
        foreign_never_match(&Bjnp, Udp);
    }
}
