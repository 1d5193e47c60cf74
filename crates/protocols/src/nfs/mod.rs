//! NFS and its helper RPC programs (mountd, portmapper), identified from
//! the ONC RPC call header (RFC 5531 §9), over UDP and TCP.
//!
//! RFC 5531 §9: "struct rpc_msg { unsigned int xid; union switch
//! (msg_type mtype) { case CALL: call_body cbody; case REPLY: reply_body
//! rbody; } }" with "enum msg_type { CALL = 0, REPLY = 1 }" and
//! "struct call_body { unsigned int rpcvers; /* must be equal to two (2)
//! */ unsigned int prog; unsigned int vers; unsigned int proc;
//! opaque_auth cred; opaque_auth verf; }", "struct opaque_auth {
//! auth_flavor flavor; opaque body<400>; }".
//! RFC 5531 §11 (record marking, TCP): "a record is composed of one or
//! more record fragments. A record fragment is a four-byte header
//! followed by 0 to (2**31) - 1 bytes of fragment data ... the highest-
//! order bit of the header ... is 1 if the fragment is the last
//! fragment".
//!
//! nDPI labels NFS (program 100003, RFC 1813 / RFC 7530), mountd (100005,
//! RFC 1813 Appendix I) and portmapper/rpcbind (100000, RFC 1833) all
//! `NFS`; this probe does the same. A reply is only claimed when the
//! other direction holds the call with the same xid.

use netsift_proto::bytes::be32;
use netsift_proto::{Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// NFS.
pub struct Nfs;

/// Fixed part of a call up to the credential body length: xid, mtype,
/// rpcvers, prog, vers, proc, cred flavor, cred length.
const CALL_FIXED: usize = 32;

/// RFC 5531 §8.2: "opaque body<400>".
const MAX_AUTH: usize = 400;

impl Protocol for Nfs {
    fn name(&self) -> &'static str {
        "NFS"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[2049, 111]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let tcp = match input.transport {
            Transport::Tcp => true,
            Transport::Udp => false,
            Transport::Ip(_) => return Probe::NoMatch,
        };
        let msg = match rpc_body(input.data, tcp) {
            Ok(m) => m,
            Err(p) => return p,
        };
        match call(msg) {
            Probe::Match(m) => return Probe::Match(m),
            Probe::NeedMore => return Probe::NeedMore,
            Probe::NoMatch => {}
        }
        // A reply, confirmed by the call in the other direction.
        if input.dir != Direction::ToClient {
            return Probe::NoMatch;
        }
        reply(msg, input.peer, tcp)
    }
}

/// The RPC message of `d`: after the record marker over TCP.
fn rpc_body(d: &[u8], tcp: bool) -> Result<&[u8], Probe> {
    if !tcp {
        return Ok(d);
    }
    let Some(rm) = d.get(..4) else {
        // The marker's top byte is 0x80 for a last fragment below 16 MB.
        return if d.first().is_none_or(|&b| b == 0x80 || b == 0) {
            Err(Probe::NeedMore)
        } else {
            Err(Probe::NoMatch)
        };
    };
    let rm = u32::from_be_bytes([rm[0], rm[1], rm[2], rm[3]]);
    let frag = (rm & 0x7fff_ffff) as usize;
    // A call is at least 40 bytes (fixed part + empty verifier); real
    // NFS records stay far below 16 MB.
    if !(24..1 << 24).contains(&frag) {
        return Err(Probe::NoMatch);
    }
    Ok(&d[4..d.len().min(4 + frag)])
}

/// Known programs and their versions and highest procedure numbers.
fn program(prog: u32, vers: u32) -> Option<(&'static str, u32)> {
    match (prog, vers) {
        // RFC 1094 §2.2 (v2, procedures 0-17), RFC 1813 §3 (v3, 0-21),
        // RFC 7530 §16 (v4: NULL 0 and COMPOUND 1).
        (100003, 2) => Some(("NFS", 17)),
        (100003, 3) => Some(("NFS", 21)),
        (100003, 4) => Some(("NFS", 1)),
        // RFC 1813 Appendix I (MOUNT v3, procedures 0-5; v1 and v2 alike).
        (100005, 1..=3) => Some(("mountd", 5)),
        // RFC 1833 §3 (portmapper v2, 0-5) and §2 (rpcbind v3 0-8, v4 0-12).
        (100000, 2) => Some(("portmapper", 5)),
        (100000, 3) => Some(("rpcbind", 8)),
        (100000, 4) => Some(("rpcbind", 12)),
        _ => None,
    }
}

fn proc_name(prog: u32, vers: u32, proc_: u32) -> &'static str {
    match (prog, vers, proc_) {
        (_, _, 0) => "NULL",
        (100003, 3, 1) => "GETATTR",
        (100003, 3, 3) => "LOOKUP",
        (100003, 3, 4) => "ACCESS",
        (100003, 3, 6) => "READ",
        (100003, 3, 7) => "WRITE",
        (100003, 3, 16) => "READDIR",
        (100003, 3, 17) => "READDIRPLUS",
        (100003, 3, 18) => "FSSTAT",
        (100003, 3, 19) => "FSINFO",
        (100003, 4, 1) => "COMPOUND",
        (100005, _, 1) => "MNT",
        (100005, _, 3) => "UMNT",
        (100005, _, 5) => "EXPORT",
        (100000, 2, 3) => "GETPORT",
        (100000, 3 | 4, 3) => "GETADDR",
        _ => "other",
    }
}

/// RFC 5531 §8.2 / RFC 2203: AUTH_NONE 0, AUTH_SYS 1, AUTH_SHORT 2,
/// AUTH_DH 3, RPCSEC_GSS 6 (also AUTH_KERB4 4, AUTH_RSA 5, AUTH_TLS 7).
fn flavor_ok(f: u32) -> bool {
    f <= 7
}

fn call(m: &[u8]) -> Probe {
    // Check the fields that are there, then ask for the rest.
    let want = [(4, 0u32), (8, 2u32)];
    for (at, v) in want {
        match be32(m, at) {
            Some(x) if x != v => return Probe::NoMatch,
            None if m.len() > at => {
                // A partial word: compare what there is.
                let have = &m[at..];
                if have != &v.to_be_bytes()[..have.len()] {
                    return Probe::NoMatch;
                }
                return Probe::NeedMore;
            }
            None => return Probe::NeedMore,
            Some(_) => {}
        }
    }
    let (Some(prog), Some(vers), Some(proc_)) = (be32(m, 12), be32(m, 16), be32(m, 20)) else {
        return Probe::NeedMore;
    };
    let Some((name, max_proc)) = program(prog, vers) else {
        return Probe::NoMatch;
    };
    if proc_ > max_proc {
        return Probe::NoMatch;
    }
    let (Some(cflavor), Some(clen)) = (be32(m, 24), be32(m, 28)) else {
        return Probe::NeedMore;
    };
    if !flavor_ok(cflavor) || clen as usize > MAX_AUTH {
        return Probe::NoMatch;
    }
    // The verifier follows the (4-byte padded) credential body.
    let v_at = CALL_FIXED + (clen as usize).div_ceil(4) * 4;
    let (Some(vflavor), Some(vlen)) = (be32(m, v_at), be32(m, v_at + 4)) else {
        return Probe::NeedMore;
    };
    if !flavor_ok(vflavor) || vlen as usize > MAX_AUTH {
        return Probe::NoMatch;
    }
    Probe::Match(Match::new(format!(
        "ONC RPC call to {name} (program {prog}) v{vers} procedure {proc_} ({})",
        proc_name(prog, vers, proc_)
    )))
}

fn reply(m: &[u8], peer: &[u8], tcp: bool) -> Probe {
    // "case REPLY: reply_body rbody", "enum reply_stat { MSG_ACCEPTED = 0,
    // MSG_DENIED = 1 }".
    if m.len() < 12 {
        return Probe::NeedMore;
    }
    if be32(m, 4) != Some(1) || !matches!(be32(m, 8), Some(0 | 1)) {
        return Probe::NoMatch;
    }
    let Ok(call_msg) = rpc_body(peer, tcp) else {
        return Probe::NoMatch;
    };
    if !matches!(call(call_msg), Probe::Match(_)) || call_msg.get(..4) != m.get(..4) {
        return Probe::NoMatch;
    }
    let (prog, vers) = (
        be32(call_msg, 12).unwrap_or(0),
        be32(call_msg, 16).unwrap_or(0),
    );
    let name = program(prog, vers).map_or("?", |p| p.0);
    Probe::Match(Match::new(format!(
        "ONC RPC reply from {name} (program {prog}) v{vers}, xid matches the call"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::first_packet::{identify_first_payload, FirstVerdict};
    use crate::testkit::{
        check_prefixes, evidence, foreign_never_match, random_matches, run, C, S,
    };

    const UDP: Transport = Transport::Udp;
    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const GETATTR: &[u8] = include_bytes!("testdata/nfs_getattr_call.bin");
    const GETATTR_REPLY: &[u8] = include_bytes!("testdata/nfs_getattr_reply.bin");
    const GETPORT: &[u8] = include_bytes!("testdata/portmap_getport_call.bin");
    const GETPORT_REPLY: &[u8] = include_bytes!("testdata/portmap_getport_reply.bin");
    const MOUNT: &[u8] = include_bytes!("testdata/mount_call.bin");

    /// The same message with an RFC 5531 §11 record marker.
    fn marked(m: &[u8]) -> Vec<u8> {
        let mut v = (0x8000_0000u32 | m.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(m);
        v
    }

    #[test]
    fn calls() {
        assert_eq!(
            evidence(run(&Nfs, UDP, C, GETATTR, b"")),
            "ONC RPC call to NFS (program 100003) v3 procedure 1 (GETATTR)"
        );
        assert_eq!(
            evidence(run(&Nfs, UDP, C, GETPORT, b"")),
            "ONC RPC call to rpcbind (program 100000) v3 procedure 3 (GETADDR)"
        );
        assert_eq!(
            evidence(run(&Nfs, UDP, C, MOUNT, b"")),
            "ONC RPC call to mountd (program 100005) v3 procedure 1 (MNT)"
        );
        assert_eq!(
            evidence(run(&Nfs, TCP, C, &marked(GETATTR), b"")),
            "ONC RPC call to NFS (program 100003) v3 procedure 1 (GETATTR)"
        );
    }

    #[test]
    fn replies_need_the_call() {
        assert_eq!(
            evidence(run(&Nfs, UDP, S, GETATTR_REPLY, GETATTR)),
            "ONC RPC reply from NFS (program 100003) v3, xid matches the call"
        );
        assert!(matches!(
            run(&Nfs, TCP, S, &marked(GETPORT_REPLY), &marked(GETPORT)),
            Probe::Match(_)
        ));
        assert_eq!(run(&Nfs, UDP, S, GETATTR_REPLY, b""), Probe::NoMatch);
        assert_eq!(run(&Nfs, UDP, S, GETATTR_REPLY, GETPORT), Probe::NoMatch);
    }

    #[test]
    fn other_programs_are_not_nfs() {
        let mut m = GETATTR.to_vec();
        m[15] = 0xa4; // 100004 (NIS)
        assert_eq!(run(&Nfs, UDP, C, &m, b""), Probe::NoMatch);
        let mut m = GETATTR.to_vec();
        m[11] = 3; // rpcvers 3
        assert_eq!(run(&Nfs, UDP, C, &m, b""), Probe::NoMatch);
        foreign_never_match(&Nfs, UDP);
        foreign_never_match(&Nfs, TCP);
    }

    #[test]
    fn prefixes_are_consistent() {
        check_prefixes(&Nfs, UDP, C, GETATTR, b"");
        check_prefixes(&Nfs, TCP, C, &marked(GETATTR), b"");
        check_prefixes(&Nfs, TCP, C, &marked(MOUNT), b"");
        check_prefixes(&Nfs, TCP, S, &marked(GETPORT_REPLY), &marked(GETPORT));
    }

    #[test]
    fn first_packet_api_on_odd_port() {
        match identify_first_payload(UDP, C, 53, GETATTR) {
            FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "NFS"),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn random_bytes_are_not_nfs() {
        let hits = random_matches(&Nfs, UDP, 100_000, 0x2049, None);
        assert!(hits < 100, "{hits} random matches (UDP)");
        let hits = random_matches(&Nfs, TCP, 100_000, 0x2050, None);
        assert!(hits < 100, "{hits} random matches (TCP)");
        let hits = random_matches(&Nfs, UDP, 100_000, 0x2051, Some(GETATTR));
        assert!(hits < 100, "{hits} random replies to a real call");
    }
}
