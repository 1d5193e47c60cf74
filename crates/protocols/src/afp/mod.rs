//! AFP over TCP: the Data Stream Interface (Apple, "Apple Filing Protocol
//! Programming Guide", chapter "AFP over TCP", DSI header).
//!
//! ```text
//! flags (0 request, 1 reply) | command | request ID (u16 BE)
//! | error code (reply) / data offset (DSIWrite) (u32 BE)
//! | total data length (u32 BE) | reserved (u32, 0) | payload
//! ```
//!
//! DSI commands: 1 DSICloseSession, 2 DSICommand, 3 DSIGetStatus,
//! 4 DSIOpenSession, 5 DSITickle, 6 DSIWrite, 8 DSIAttention. Requests go
//! both ways (the server sends DSIAttention and DSITickle). Every message
//! carries the header, so a capture that starts mid-session at a message
//! boundary is recognised: a header must check out and, when the message is
//! short, end exactly where the data ends or where another valid header
//! starts.

use netsift_proto::bytes::{be16, be32, u8_at};
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// AFP.
pub struct Afp;

const HDR: usize = 16;
/// Largest DSI payload accepted (the DSI quantum is 1 MiB by default).
const MAX_LEN: u32 = 64 << 20;
/// Up to this size a message must be seen whole (and be followed by
/// nothing or another header) before it counts.
const CHECK_WHOLE: usize = 4096;

impl Protocol for Afp {
    fn name(&self) -> &'static str {
        "AFP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[548]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let h = match header(d) {
            Hdr::Ok(h) => h,
            Hdr::Partial => return Probe::NeedMore,
            Hdr::Bad => return Probe::NoMatch,
        };
        let end = HDR + h.len as usize;
        if end <= CHECK_WHOLE {
            if d.len() < end {
                return Probe::NeedMore;
            }
            match header(d.get(end..).unwrap_or(&[])) {
                _ if d.len() == end => {}
                Hdr::Ok(_) => {}
                Hdr::Partial => return Probe::NeedMore,
                Hdr::Bad => return Probe::NoMatch,
            }
        }
        let mut ev = format!(
            "AFP over DSI: {} {}",
            h.cmd,
            if h.reply { "reply" } else { "request" }
        );
        if h.cmd == "DSICommand" && !h.reply {
            if let Some(c) = u8_at(d, HDR) {
                ev.push_str(&format!(", AFP {}", afp_name(c)));
            }
        }
        Probe::Match(Match::new(ev))
    }
}

struct Header {
    reply: bool,
    cmd: &'static str,
    len: u32,
}

enum Hdr {
    Ok(Header),
    Partial,
    Bad,
}

fn header(d: &[u8]) -> Hdr {
    let reply = match d.first() {
        None => return Hdr::Partial,
        Some(0) => false,
        Some(1) => true,
        Some(_) => return Hdr::Bad,
    };
    let cmd = match d.get(1) {
        None => return Hdr::Partial,
        Some(1) => "DSICloseSession",
        Some(2) => "DSICommand",
        Some(3) => "DSIGetStatus",
        Some(4) => "DSIOpenSession",
        Some(5) => "DSITickle",
        Some(6) => "DSIWrite",
        Some(8) => "DSIAttention",
        Some(_) => return Hdr::Bad,
    };
    let (Some(_id), Some(code), Some(len), Some(reserved)) =
        (be16(d, 2), be32(d, 4), be32(d, 8), be32(d, 12))
    else {
        return Hdr::Partial;
    };
    if reserved != 0 || len > MAX_LEN {
        return Hdr::Bad;
    }
    // Requests: the field is 0 except DSIWrite's data offset, which lies
    // within the payload. Replies: 0 or an AFP result code (-5000 .. -5999,
    // "kFPNoErr" = 0).
    let code_ok = if reply {
        code == 0 || (-6000..=-5000).contains(&(code as i32))
    } else if cmd == "DSIWrite" {
        code <= len
    } else {
        code == 0
    };
    if !code_ok {
        return Hdr::Bad;
    }
    Hdr::Ok(Header { reply, cmd, len })
}

/// AFP command names (AFP Reference, "AFP Command Codes").
fn afp_name(c: u8) -> String {
    let n = match c {
        1 => "FPByteRangeLock",
        2 => "FPCloseVol",
        3 => "FPCloseDir",
        4 => "FPCloseFork",
        5 => "FPCopyFile",
        6 => "FPCreateDir",
        7 => "FPCreateFile",
        8 => "FPDelete",
        9 => "FPEnumerate",
        10 => "FPFlush",
        11 => "FPFlushFork",
        14 => "FPGetForkParms",
        15 => "FPGetSrvrInfo",
        16 => "FPGetSrvrParms",
        17 => "FPGetVolParms",
        18 => "FPLogin",
        19 => "FPLoginCont",
        20 => "FPLogout",
        24 => "FPOpenVol",
        26 => "FPOpenFork",
        27 => "FPRead",
        30 => "FPSetDirParms",
        34 => "FPGetFileDirParms",
        60 => "FPReadExt",
        61 => "FPWriteExt",
        63 => "FPLoginExt",
        68 => "FPEnumerateExt2",
        _ => return format!("command {c}"),
    };
    n.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_random_flows_rejected, check_prefixes, evidence, foreign_never_match, probe1, C, S,
    };

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const COMMAND: &[u8] = include_bytes!("testdata/command.bin");
    const REPLY: &[u8] = include_bytes!("testdata/reply.bin");
    const ATTENTION: &[u8] = include_bytes!("testdata/attention.bin");

    #[test]
    fn real_messages() {
        // The capture starts mid-session (no DSIOpenSession).
        assert_eq!(
            evidence(probe1(&Afp, TCP, C, COMMAND)),
            "AFP over DSI: DSICommand request, AFP FPGetVolParms"
        );
        assert_eq!(
            evidence(probe1(&Afp, TCP, S, REPLY)),
            "AFP over DSI: DSICommand reply"
        );
        assert_eq!(
            evidence(probe1(&Afp, TCP, S, ATTENTION)),
            "AFP over DSI: DSIAttention request"
        );
        let mut two = COMMAND.to_vec();
        two.extend_from_slice(COMMAND);
        assert!(matches!(probe1(&Afp, TCP, C, &two), Probe::Match(_)));
        for (d, dir) in [(COMMAND, C), (REPLY, S), (ATTENTION, S), (&two[..], C)] {
            check_prefixes(&Afp, TCP, dir, d, b"");
        }
    }

    #[test]
    fn inconsistent_rejected() {
        // Trailing bytes that are no DSI header.
        let mut b = COMMAND.to_vec();
        b.extend_from_slice(b"\x07garbage-after-message");
        assert_eq!(probe1(&Afp, TCP, C, &b), Probe::NoMatch);
        let mut b = COMMAND.to_vec();
        b[15] = 1; // reserved
        assert_eq!(probe1(&Afp, TCP, C, &b), Probe::NoMatch);
    }

    #[test]
    fn random_foreign() {
        assert_random_flows_rejected(&Afp, TCP, 548);
        foreign_never_match(&Afp, TCP);
    }
}
