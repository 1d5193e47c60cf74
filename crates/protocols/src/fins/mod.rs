//! Omron FINS (Factory Interface Network Service), over UDP (FINS/UDP,
//! port 9600) and TCP (FINS/TCP, port 9600).
//!
//! Omron "FINS Commands Reference Manual" (W227) §2: FINS header (10
//! octets): ICF (bit 7 always 1, bit 6 0 = command / 1 = response, bit 0
//! 1 = response not required), RSV (0x00), GCT (gateway count, 0x02; 0x07
//! in newer units; at most 7), DNA, DA1, DA2 (destination network, node,
//! unit), SNA, SA1, SA2 (source), SID (service id, echoed in the
//! response); then the command code (MRC, SRC: §5 lists 0x0101 MEMORY AREA
//! READ, 0x0102 WRITE, 0x0104 MULTIPLE READ, 0x0401 RUN, 0x0402 STOP,
//! 0x0501 CONTROLLER DATA READ, 0x0601 CONTROLLER STATUS READ, 0x0701 CLOCK
//! READ, ...); a response adds a 2-octet end code.
//!
//! Omron "Ethernet Units Operation Manual" (W421) §7: FINS/TCP frames
//! start with "FINS" (0x46494E53), a length (32 bits, octets after it), a
//! command (0 node address data send client->server, 1 node address data
//! send server->client, 2 FINS frame send, 3 FINS frame send error
//! notification, 6 connection confirmation) and an error code.
//!
//! FINS/UDP's header is short, so ICF, RSV, GCT and a known command code
//! are all required (~29 bits), and when the other direction's first
//! datagram is there it must echo the SID and command as a response.

use netsift_proto::bytes::be32;
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Omron FINS.
pub struct Fins;

impl Protocol for Fins {
    fn name(&self) -> &'static str {
        "FINS"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[9600]
    }
    // W227 §2: ICF "bit 7 always 1, bit 6 0 = command / 1 = response, bit 0
    // 1 = response not required" (bits 1-5 zero): 0x80, 0x81, 0xC0, 0xC1;
    // W421 §7: FINS/TCP frames start with "FINS".
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x80, 0x81, 0xc0, 0xc1, b'F'])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        match input.transport {
            Transport::Tcp => tcp(input.data),
            Transport::Udp => udp(input.data, input.peer),
            Transport::Ip(_) => Probe::NoMatch,
        }
    }
}

fn command_name(c: u16) -> Option<&'static str> {
    Some(match c {
        0x0101 => "MEMORY AREA READ",
        0x0102 => "MEMORY AREA WRITE",
        0x0103 => "MEMORY AREA FILL",
        0x0104 => "MULTIPLE MEMORY AREA READ",
        0x0105 => "MEMORY AREA TRANSFER",
        0x0201 => "PARAMETER AREA READ",
        0x0202 => "PARAMETER AREA WRITE",
        0x0203 => "PARAMETER AREA CLEAR",
        0x0306 => "PROGRAM AREA READ",
        0x0307 => "PROGRAM AREA WRITE",
        0x0308 => "PROGRAM AREA CLEAR",
        0x0401 => "RUN",
        0x0402 => "STOP",
        0x0501 => "CONTROLLER DATA READ",
        0x0502 => "CONNECTION DATA READ",
        0x0601 => "CONTROLLER STATUS READ",
        0x0620 => "CYCLE TIME READ",
        0x0701 => "CLOCK READ",
        0x0702 => "CLOCK WRITE",
        0x0920 => "MESSAGE READ/CLEAR",
        0x0c01 => "ACCESS RIGHT ACQUIRE",
        0x0c02 => "ACCESS RIGHT FORCED ACQUIRE",
        0x0c03 => "ACCESS RIGHT RELEASE",
        0x2101 => "ERROR CLEAR",
        0x2102 => "ERROR LOG READ",
        0x2103 => "ERROR LOG CLEAR",
        0x2201..=0x2215 => "FILE MEMORY",
        0x2301 => "FORCED SET/RESET",
        0x2302 => "FORCED SET/RESET CANCEL",
        _ => return None,
    })
}

/// (is response, SID, command) of a FINS frame at the start of `d`.
fn header(d: &[u8]) -> Option<(bool, u8, u16)> {
    let icf = *d.first()?;
    if icf & 0x80 == 0 || icf & 0x3e != 0 || *d.get(1)? != 0 || *d.get(2)? > 7 {
        return None;
    }
    let cmd = u16::from_be_bytes([*d.get(10)?, *d.get(11)?]);
    command_name(cmd)?;
    let resp = icf & 0x40 != 0;
    // A response carries the 2-octet end code.
    if resp && d.len() < 14 {
        return None;
    }
    Some((resp, d[9], cmd))
}

fn udp(d: &[u8], peer: &[u8]) -> Probe {
    let Some((resp, sid, cmd)) = header(d) else {
        return Probe::NoMatch;
    };
    if !peer.is_empty() {
        if let Some((presp, psid, pcmd)) = header(peer) {
            if presp == resp || psid != sid || pcmd != cmd {
                return Probe::NoMatch;
            }
        } else {
            return Probe::NoMatch;
        }
    }
    let name = command_name(cmd).unwrap_or("?");
    let what = if resp { "response" } else { "command" };
    Probe::Match(Match::new(if resp {
        format!(
            "FINS/UDP {name} {what} (SID {sid}, end code 0x{:04x})",
            u16::from_be_bytes([d[12], d[13]])
        )
    } else {
        format!("FINS/UDP {name} {what} (SID {sid})")
    }))
}

fn tcp(d: &[u8]) -> Probe {
    let n = d.len().min(4);
    if d[..n] != b"FINS"[..n] {
        return Probe::NoMatch;
    }
    let (Some(len), Some(cmd)) = (be32(d, 4), be32(d, 8)) else {
        return Probe::NeedMore;
    };
    let name = match cmd {
        0 => "node address data send (client)",
        1 => "node address data send (server)",
        2 => "FINS frame send",
        3 => "FINS frame send error notification",
        6 => "connection confirmation",
        _ => return Probe::NoMatch,
    };
    if !(8..=0x10000).contains(&len) {
        return Probe::NoMatch;
    }
    let Some(err) = be32(d, 12) else {
        return Probe::NeedMore;
    };
    let frame = if cmd == 2 {
        match d.get(16..) {
            Some(f) if f.len() >= 12 => match header(f) {
                Some((_, _, c)) => format!(": {}", command_name(c).unwrap_or("?")),
                None => return Probe::NoMatch,
            },
            _ => return Probe::NeedMore,
        }
    } else {
        String::new()
    };
    Probe::Match(Match::new(format!(
        "FINS/TCP {name}{frame} (error code {err})"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, check_prefixes, evidence,
        feed_evidence, foreign_never_match, probe1, C, S,
    };

    const UDP: Transport = Transport::Udp;
    const TCP: Transport = Transport::Tcp;

    /// MEMORY AREA READ: ICF 0x80, RSV 0, GCT 2, DNA 0, DA1 10, DA2 0,
    /// SNA 0, SA1 1, SA2 0, SID 0x42, MRC/SRC 01 01, area 0x82 (DM), address
    /// 0x0064 bit 0, 1 word.
    const READ: [u8; 18] = [
        0x80, 0, 2, 0, 10, 0, 0, 1, 0, 0x42, 1, 1, 0x82, 0, 0x64, 0, 0, 1,
    ];
    /// Its response: ICF 0xC0, addresses swapped, end code 0000, one word.
    const RESP: [u8; 16] = [0xc0, 0, 2, 0, 1, 0, 0, 10, 0, 0x42, 1, 1, 0, 0, 0x12, 0x34];

    #[test]
    fn udp_command_and_response() {
        assert_eq!(
            evidence(probe1(&Fins, UDP, C, &READ)),
            "FINS/UDP MEMORY AREA READ command (SID 66)"
        );
        assert_eq!(
            feed_evidence(&Fins, UDP, 9600, &[(C, &READ), (S, &RESP)]),
            "FINS/UDP MEMORY AREA READ command (SID 66)"
        );
        let mut other = RESP;
        other[9] = 0x43;
        assert_eq!(
            crate::testkit::probe_at(&Fins, UDP, S, &other, &READ, 0),
            Probe::NoMatch
        );
    }

    #[test]
    fn fins_package_command() {
        let r = include_bytes!("testdata/memory_area_read.bin");
        assert_eq!(
            evidence(probe1(&Fins, UDP, C, r)),
            "FINS/UDP MEMORY AREA READ command (SID 96)"
        );
    }

    #[test]
    fn tcp_frames() {
        // "FINS", length 12, command 0 (node address data send), error 0,
        // client node 0.
        let hello = [
            b'F', b'I', b'N', b'S', 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(
            evidence(probe1(&Fins, TCP, C, &hello)),
            "FINS/TCP node address data send (client) (error code 0)"
        );
        let mut send = vec![b'F', b'I', b'N', b'S', 0, 0, 0, 26, 0, 0, 0, 2, 0, 0, 0, 0];
        send.extend_from_slice(&READ);
        assert_eq!(
            evidence(probe1(&Fins, TCP, C, &send)),
            "FINS/TCP FINS frame send: MEMORY AREA READ (error code 0)"
        );
        check_prefixes(&Fins, TCP, C, &send, b"");
    }

    #[test]
    fn first_bytes_declared() {
        use crate::testkit::first_bytes_hold;
        use crate::testkit::input;
        first_bytes_hold(&Fins, &input(UDP, C, &READ, &[], 0));
        first_bytes_hold(&Fins, &input(UDP, S, &RESP, &READ, 0));
        let r = include_bytes!("testdata/memory_area_read.bin");
        first_bytes_hold(&Fins, &input(UDP, C, r, &[], 0));
        let hello = [
            b'F', b'I', b'N', b'S', 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        first_bytes_hold(&Fins, &input(TCP, C, &hello, &[], 0));
    }

    #[test]
    fn foreign_and_random() {
        foreign_never_match(&Fins, TCP);
        assert_foreign_rejected(&Fins, "fins");
        assert_random_flows_rejected(&Fins, UDP, 9600);
        assert_random_flows_rejected(&Fins, TCP, 9600);
    }
}
