//! OICQ, the classic Tencent QQ instant-messaging protocol (observed
//! protocol: Tencent publishes no specification; the layout is the one
//! documented by the open-source QQ clients of the 2000s, LumaQQ and
//! libpurple's QQ plugin, and by Wireshark's OICQ dissector notes).
//!
//! A packet is framed by a tag byte 0x02 at the start and a tail byte 0x03
//! at the end. The header after the tag: the client's version (16 bits,
//! e.g. 0x0d55), the command (16 bits: 0x0001 logout, 0x0002 keep alive,
//! 0x0016 send IM, 0x0017 receive IM, 0x0022 login, 0x0062 request login
//! token, ...), a sequence number (16 bits) and, in packets from the
//! client, the user's QQ number (32 bits); the body is encrypted. Over TCP
//! each packet is preceded by its 16-bit total length.
//!
//! Decisions: over UDP the server's reply repeats the request's version,
//! command and sequence number; a one-direction capture needs two client
//! packets of the same version and QQ number. Over TCP one whole packet
//! (length, tag, tail agree, command in range) decides.

use netsift_proto::bytes::{be16, be32, u8_at};
use netsift_proto::{
    Direction, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// OICQ.
pub struct Oicq;

const TAG: u8 = 0x02;
const TAIL: u8 = 0x03;
/// Tag + version + command + sequence (+ QQ number from the client) + tail.
const MIN_SERVER: usize = 8;
const MIN_CLIENT: usize = 12;

fn command_name(c: u16) -> Option<&'static str> {
    Some(match c {
        0x0001 => "logout",
        0x0002 => "keep alive",
        0x0004 => "update info",
        0x0005 => "search user",
        0x0006 => "get user info",
        0x0016 => "send IM",
        0x0017 => "receive IM",
        0x0022 => "login",
        0x0026 => "get buddy list",
        0x0027 => "get online buddies",
        0x0062 => "request login token",
        0x0091 => "request key",
        _ => return None,
    })
}

/// A whole packet (tag to tail): (version, command, sequence).
fn packet(p: &[u8], min: usize) -> Option<(u16, u16, u16)> {
    if p.len() < min || u8_at(p, 0)? != TAG || *p.last()? != TAIL {
        return None;
    }
    let (v, c, s) = (be16(p, 1)?, be16(p, 3)?, be16(p, 5)?);
    // Commands seen stay below 0x0200; versions are non-zero.
    (v != 0 && (1..0x0200).contains(&c)).then_some((v, c, s))
}

fn describe(dir: Direction, v: u16, c: u16, qq: Option<u32>) -> String {
    let cmd = match command_name(c) {
        Some(n) => format!("command 0x{c:04x} ({n})"),
        None => format!("command 0x{c:04x}"),
    };
    let who = match dir {
        Direction::ToServer => "client",
        Direction::ToClient => "server",
    };
    match qq {
        Some(n) => format!("OICQ (QQ) {who} packet, version 0x{v:04x}, {cmd}, QQ number {n}"),
        None => format!("OICQ (QQ) {who} packet, version 0x{v:04x}, {cmd}"),
    }
}

impl Protocol for Oicq {
    fn name(&self) -> &'static str {
        "OICQ"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[8000]
    }
    // A UDP packet starts with the tag 0x02 (and ends with 0x03); over TCP
    // a two-byte length comes first, and a short prefix waits whatever its
    // first byte.
    fn first_bytes(&self, transport: Transport) -> FirstBytes {
        match transport {
            Transport::Tcp => FirstBytes::ANY,
            _ => FirstBytes::only(&[TAG]),
        }
    }

    fn probe(&self, input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        if input.transport == Transport::Tcp {
            // Length, then the packet.
            match u8_at(d, 2) {
                None if d.len() < 2 || be16(d, 0).is_some_and(|l| l >= 10) => {
                    return Probe::NeedMore
                }
                Some(TAG) => {}
                _ => return Probe::NoMatch,
            }
            let len = usize::from(be16(d, 0).unwrap_or(0));
            let min = 2 + if input.dir == Direction::ToServer {
                MIN_CLIENT
            } else {
                MIN_SERVER
            };
            if !(min..=8192).contains(&len) {
                return Probe::NoMatch;
            }
            let Some(p) = d.get(2..len) else {
                return Probe::NeedMore;
            };
            return match packet(p, min - 2) {
                Some((v, c, _)) => {
                    let qq = (input.dir == Direction::ToServer)
                        .then(|| be32(p, 7))
                        .flatten();
                    Probe::Match(Match::new(describe(input.dir, v, c, qq) + " over TCP"))
                }
                None => Probe::NoMatch,
            };
        }
        // UDP: O(1) gates on the tag and tail bytes.
        if u8_at(d, 0) != Some(TAG) || d.last() != Some(&TAIL) {
            return Probe::NoMatch;
        }
        match input.dir {
            Direction::ToClient => {
                let (Some((v, c, s)), Some(req)) =
                    (packet(d, MIN_SERVER), packet(input.peer, MIN_CLIENT))
                else {
                    return Probe::NoMatch;
                };
                if req == (v, c, s) {
                    Probe::Match(Match::new(describe(input.dir, v, c, None)))
                } else {
                    Probe::NoMatch
                }
            }
            Direction::ToServer => {
                let Some((v, c, _)) = packet(d, MIN_CLIENT) else {
                    return Probe::NoMatch;
                };
                let qq = be32(d, 7).unwrap_or(0);
                // Word 0: version and QQ number of the first client packet.
                let key = (1u64 << 48) | (u64::from(v) << 32) | u64::from(qq);
                if scratch.0[0] == key && qq != 0 {
                    return Probe::Match(Match::new(describe(input.dir, v, c, Some(qq))));
                }
                if scratch.0[0] == 0 {
                    scratch.0[0] = key;
                }
                Probe::NeedMore
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, check_prefixes, evidence, feed,
        feed_evidence, foreign_never_match, probe1, C, S,
    };

    const UDP: Transport = Transport::Udp;
    const TCP: Transport = Transport::Tcp;

    /// A client packet built from the layout above (no capture of the
    /// retired protocol is at hand): body bytes stand for the encrypted
    /// part.
    fn client(cmd: u16, seq: u16) -> Vec<u8> {
        let mut v = vec![TAG];
        v.extend_from_slice(&0x0d55u16.to_be_bytes()); // client version
        v.extend_from_slice(&cmd.to_be_bytes()); // command
        v.extend_from_slice(&seq.to_be_bytes()); // sequence
        v.extend_from_slice(&123_456_789u32.to_be_bytes()); // QQ number
        v.extend_from_slice(&[0x9c, 0x41, 0x07, 0xe2, 0x55, 0x10, 0xaa, 0x3b]); // body
        v.push(TAIL);
        v
    }

    fn server(cmd: u16, seq: u16) -> Vec<u8> {
        let mut v = vec![TAG];
        v.extend_from_slice(&0x0d55u16.to_be_bytes());
        v.extend_from_slice(&cmd.to_be_bytes());
        v.extend_from_slice(&seq.to_be_bytes());
        v.extend_from_slice(&[0x31, 0xf0, 0x8e, 0x02, 0x77, 0x6d]); // body
        v.push(TAIL);
        v
    }

    #[test]
    fn udp_request_and_reply() {
        let (c, s) = (client(0x0002, 7), server(0x0002, 7));
        assert_eq!(
            feed_evidence(&Oicq, UDP, 8000, &[(C, &c), (S, &s)]),
            "OICQ (QQ) server packet, version 0x0d55, command 0x0002 (keep alive)"
        );
        // A reply to another sequence number is not one.
        let other = server(0x0002, 8);
        assert_eq!(
            feed(&Oicq, UDP, 8000, &[(C, &c), (S, &other)]),
            Probe::NoMatch
        );
        // Client side only: two packets of the same user.
        let c2 = client(0x0016, 8);
        assert_eq!(
            feed_evidence(&Oicq, UDP, 8000, &[(C, &c), (C, &c2)]),
            "OICQ (QQ) client packet, version 0x0d55, command 0x0016 (send IM), QQ number 123456789"
        );
        assert_eq!(probe1(&Oicq, UDP, C, &c), Probe::NeedMore);
    }

    #[test]
    fn tcp_packet() {
        let p = client(0x0022, 1);
        let mut t = ((p.len() + 2) as u16).to_be_bytes().to_vec();
        t.extend_from_slice(&p);
        assert_eq!(
            evidence(probe1(&Oicq, TCP, C, &t)),
            "OICQ (QQ) client packet, version 0x0d55, command 0x0022 (login), QQ number 123456789 over TCP"
        );
        check_prefixes(&Oicq, TCP, C, &t, b"");
        let mut bad = t.clone();
        *bad.last_mut().unwrap() = 0x04;
        assert_eq!(probe1(&Oicq, TCP, C, &bad), Probe::NoMatch);
    }

    #[test]
    fn foreign_and_random() {
        foreign_never_match(&Oicq, TCP);
        assert_foreign_rejected(&Oicq, "none");
        assert_random_flows_rejected(&Oicq, UDP, 8000);
        assert_random_flows_rejected(&Oicq, TCP, 8000);
    }

    #[test]
    fn first_bytes_declared() {
        let req = client(0x0022, 7);
        let input = crate::testkit::input(Transport::Udp, Direction::ToServer, &req, &[], 0);
        crate::testkit::first_bytes_hold(&Oicq, &input);
        let resp = server(0x0022, 7);
        let input = crate::testkit::input(Transport::Udp, Direction::ToClient, &resp, &req, 0);
        crate::testkit::first_bytes_hold(&Oicq, &input);
        assert_eq!(Oicq.first_bytes(TCP), FirstBytes::ANY);
    }
}
