//! Gearman job server protocol (gearman.org, "Protocol" document: binary
//! protocol and administrative protocol).
//!
//! Binary packets, in both directions and for clients and workers alike:
//!
//! ```text
//! magic "\0REQ" (to the server) or "\0RES" (from it) | type (u32 BE)
//! | data size (u32 BE) | arguments separated by NUL
//! ```
//!
//! Packet types run from 1 (CAN_DO) to 44 in the current document. Every
//! packet carries the header, so a capture that starts mid-session at a
//! packet boundary is recognised too.
//!
//! The administrative protocol on the same port is plain text: a command
//! line (`status`, `workers`, `version`, `maxqueue`, `shutdown`, `verbose`,
//! `getpid`, `show jobs`, `show unique jobs`, `cancel job`, `create
//! function`, `drop function`) answered by `OK ...`, `ERR ...`, or lines
//! of tab-separated fields ended by `.`. A command word alone is too common
//! to count; it counts with a reply of that shape.

use netsift_proto::bytes::be32;
use netsift_proto::{printable, text_line, Direction, Match, Probe, ProbeInput};
use netsift_proto::{ProbeScratch, Protocol, Transport};

/// Gearman.
pub struct Gearman;

/// Packet type names (index = type).
const TYPES: &[&str] = &[
    "",
    "CAN_DO",
    "CANT_DO",
    "RESET_ABILITIES",
    "PRE_SLEEP",
    "",
    "NOOP",
    "SUBMIT_JOB",
    "JOB_CREATED",
    "GRAB_JOB",
    "NO_JOB",
    "JOB_ASSIGN",
    "WORK_STATUS",
    "WORK_COMPLETE",
    "WORK_FAIL",
    "GET_STATUS",
    "ECHO_REQ",
    "ECHO_RES",
    "SUBMIT_JOB_BG",
    "ERROR",
    "STATUS_RES",
    "SUBMIT_JOB_HIGH",
    "SET_CLIENT_ID",
    "CAN_DO_TIMEOUT",
    "ALL_YOURS",
    "WORK_EXCEPTION",
    "OPTION_REQ",
    "OPTION_RES",
    "WORK_DATA",
    "WORK_WARNING",
    "GRAB_JOB_UNIQ",
    "JOB_ASSIGN_UNIQ",
    "SUBMIT_JOB_HIGH_BG",
    "SUBMIT_JOB_LOW",
    "SUBMIT_JOB_LOW_BG",
    "SUBMIT_JOB_SCHED",
    "SUBMIT_JOB_EPOCH",
    "SUBMIT_REDUCE_JOB",
    "SUBMIT_REDUCE_JOB_BACKGROUND",
    "GRAB_JOB_ALL",
    "JOB_ASSIGN_ALL",
    "GET_STATUS_UNIQUE",
    "STATUS_RES_UNIQUE",
];

/// Administrative commands (first word of the line).
const ADMIN: &[&[u8]] = &[
    b"status",
    b"workers",
    b"version",
    b"maxqueue",
    b"shutdown",
    b"verbose",
    b"getpid",
    b"show",
    b"cancel",
    b"create",
    b"drop",
];

/// Largest packet accepted (gearmand's default limit is far lower).
const MAX_SIZE: u32 = 64 << 20;

impl Protocol for Gearman {
    fn name(&self) -> &'static str {
        "Gearman"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[4730]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        match d.first() {
            None => Probe::NeedMore,
            Some(0) => binary(d),
            Some(_) => admin(input),
        }
    }
}

fn binary(d: &[u8]) -> Probe {
    let n = d.len().min(4);
    let magic = d.get(..n).unwrap_or(&[]);
    let kind = if b"\0REQ".starts_with(magic) {
        "request"
    } else if b"\0RES".starts_with(magic) {
        "response"
    } else {
        return Probe::NoMatch;
    };
    let (Some(ty), Some(size)) = (be32(d, 4), be32(d, 8)) else {
        return Probe::NeedMore;
    };
    let name = usize::try_from(ty)
        .ok()
        .and_then(|t| TYPES.get(t))
        .copied()
        .unwrap_or("");
    if name.is_empty() || size > MAX_SIZE {
        return Probe::NoMatch;
    }
    let arg = d.get(12..).unwrap_or(&[]);
    let arg = arg.get(..arg.len().min(size as usize)).unwrap_or(&[]);
    let arg = arg.split(|&b| b == 0).next().unwrap_or(&[]);
    let mut ev = format!("Gearman {kind} {name}");
    if !arg.is_empty() {
        ev.push_str(&format!(" '{}'", printable(arg, 32)));
    }
    Probe::Match(Match::new(ev))
}

fn admin(input: &ProbeInput<'_>) -> Probe {
    // Admin commands are lower-case words: reject other client bytes at once.
    if input.dir == Direction::ToServer && !input.data.first().is_some_and(u8::is_ascii_lowercase) {
        return Probe::NoMatch;
    }
    let (cmd, reply) = match input.dir {
        Direction::ToServer => (input.data, input.peer),
        Direction::ToClient => (input.peer, input.data),
    };
    let line = match text_line(cmd, 128) {
        Ok(l) => l,
        // The command may still be coming (the reply side waits for it).
        Err(true) if input.dir == Direction::ToServer => {
            return if cmd.iter().all(u8::is_ascii_lowercase) {
                Probe::NeedMore
            } else {
                Probe::NoMatch
            };
        }
        Err(true) if cmd.is_empty() => return Probe::NeedMore,
        _ => return Probe::NoMatch,
    };
    let word = line.split(|&b| b == b' ').next().unwrap_or(&[]);
    if !ADMIN.contains(&word) || !line.iter().all(|&b| (0x20..0x7f).contains(&b)) {
        return Probe::NoMatch;
    }
    let r = match text_line(reply, 512) {
        Ok(r) => r,
        Err(true) => return Probe::NeedMore,
        Err(false) => return Probe::NoMatch,
    };
    let shaped = r.starts_with(b"OK")
        || r.starts_with(b"ERR ")
        || r == b"."
        || (r.contains(&b'\t') && r.iter().all(|&b| b == b'\t' || (0x20..0x7f).contains(&b)))
        || (word == b"workers" && r.contains(&b':'));
    if !shaped {
        return Probe::NoMatch;
    }
    Probe::Match(Match::new(format!(
        "Gearman admin command '{}', reply '{}'",
        printable(line, 32),
        printable(r, 32)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_random_flows_rejected, check_prefixes, evidence, foreign_never_match, probe1,
        probe_at, C, S,
    };

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const CAN_DO: &[u8] = include_bytes!("testdata/can_do.bin");
    const NO_JOB: &[u8] = include_bytes!("testdata/no_job.bin");

    #[test]
    fn binary_packets() {
        assert_eq!(
            evidence(probe1(&Gearman, TCP, C, CAN_DO)),
            "Gearman request CAN_DO 'wc'"
        );
        assert_eq!(
            evidence(probe1(&Gearman, TCP, S, NO_JOB)),
            "Gearman response NO_JOB"
        );
        let mut bad = NO_JOB.to_vec();
        bad[7] = 99;
        assert_eq!(probe1(&Gearman, TCP, S, &bad), Probe::NoMatch);
        check_prefixes(&Gearman, TCP, C, CAN_DO, b"");
        check_prefixes(&Gearman, TCP, S, NO_JOB, b"");
    }

    #[test]
    fn admin_protocol() {
        // `gearadmin --status`: function, queued, running, workers; '.'.
        let st = b"wc\t0\t0\t1\n.\n";
        assert_eq!(probe1(&Gearman, TCP, C, b"status\n"), Probe::NeedMore);
        assert_eq!(
            evidence(probe_at(&Gearman, TCP, C, b"status\n", st, 0)),
            "Gearman admin command 'status', reply 'wc\\x090\\x090\\x091'"
        );
        assert_eq!(
            evidence(probe_at(&Gearman, TCP, S, b"OK 1.1.19\n", b"version\n", 0)),
            "Gearman admin command 'version', reply 'OK 1.1.19'"
        );
        assert_eq!(
            probe_at(&Gearman, TCP, C, b"status\n", b"HTTP/1.0 400\r\n", 0),
            Probe::NoMatch
        );
        check_prefixes(&Gearman, TCP, C, b"status\n", st);
    }

    #[test]
    fn random_foreign() {
        assert_random_flows_rejected(&Gearman, TCP, 4730);
        foreign_never_match(&Gearman, TCP);
    }
}
