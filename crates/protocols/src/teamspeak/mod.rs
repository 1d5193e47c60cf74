//! TeamSpeak 2 and 3 over UDP (observed protocol; TeamSpeak publishes no
//! wire specification, the TS3 layout below is the one documented by the
//! open-source TS3 client projects, e.g. TS3AudioBot's "TS3 protocol
//! paper"; the TS2 login is as described by the l7-filter project's
//! TeamSpeak notes).
//!
//! * **TeamSpeak 2 login**: the client's first datagram starts with the
//!   bytes 0xF4 0xBE 0x03 (seen in every first packet; their meaning is not
//!   documented) and carries the client program's name, "TeamSpeak", in
//!   clear text.
//!
//! * **Voice connection init**: a TS3 packet header is an 8-byte MAC, a
//!   16-bit packet id, (client to server only) a 16-bit client id, and a
//!   type/flags byte. During the connection "init" handshake the MAC field
//!   holds the ASCII text `TS3INIT1`, the packet id is 101 (0x0065) and the
//!   type byte is 0x88 (Init1 with the unencrypted flag); the first payload
//!   byte after a 4-byte client version is the handshake step (0, 2, 4 from
//!   the client; 1, 3 from the server).
//! * **Server list announcement** (observed, servers reporting to the
//!   TeamSpeak weblist on UDP 2010): the server sends `01 80 84 01`, the
//!   list answers the same four bytes and a 32-bit token, and the server's
//!   next datagram `01 81 84 02` carries the token back. The echoed token
//!   decides.

use netsift_proto::bytes::{array, be16, u8_at};
use netsift_proto::{
    Direction, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// TeamSpeak.
pub struct Teamspeak;

const INIT_MAC: &[u8; 8] = b"TS3INIT1";
const WEBLIST_HELLO: [u8; 4] = [0x01, 0x80, 0x84, 0x01];
const WEBLIST_STEP2: [u8; 4] = [0x01, 0x81, 0x84, 0x02];

fn init(d: &[u8], dir: Direction) -> Option<String> {
    if array::<8>(d, 0)? != *INIT_MAC || be16(d, 8)? != 0x65 {
        return None;
    }
    // Client packets carry a client id before the type byte.
    let (ty_at, who) = match dir {
        Direction::ToServer => (12, "client"),
        Direction::ToClient => (10, "server"),
    };
    if u8_at(d, ty_at)? & 0x0f != 0x08 {
        return None;
    }
    // Client steps follow the 4-byte version; server steps come first.
    let step = match dir {
        Direction::ToServer => u8_at(d, ty_at + 5)?,
        Direction::ToClient => u8_at(d, ty_at + 1)?,
    };
    if step > 4 {
        return None;
    }
    Some(format!(
        "TeamSpeak 3 connection init ({who}, TS3INIT1, step {step})"
    ))
}

impl Protocol for Teamspeak {
    fn name(&self) -> &'static str {
        "TeamSpeak"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[9987, 2010]
    }
    // TS3 init: the MAC field holds "TS3INIT1"; TS2 login: "starts with the
    // bytes 0xF4 0xBE 0x03"; weblist: `01 80 84 01` / `01 81 84 02`.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[b'T', 0xf4, 0x01])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        match u8_at(d, 0) {
            Some(b'T') => match init(d, input.dir) {
                Some(e) => Probe::Match(Match::new(e)),
                None => Probe::NoMatch,
            },
            Some(0xf4) => {
                if netsift_proto::bytes::array::<3>(d, 0) != Some([0xf4, 0xbe, 0x03]) {
                    return Probe::NoMatch;
                }
                // The client name within the first 256 bytes.
                let found = d
                    .get(..d.len().min(256))
                    .unwrap_or(&[])
                    .windows(9)
                    .any(|w| w.eq_ignore_ascii_case(b"teamspeak"));
                if found {
                    Probe::Match(Match::new(
                        "TeamSpeak 2 login (0xf4be03, client 'TeamSpeak')",
                    ))
                } else {
                    Probe::NoMatch
                }
            }
            Some(0x01) => {
                let head = array::<4>(d, 0);
                let p = input.peer;
                // The list's answer: the hello's bytes and a token.
                if d.len() == 8 && head == Some(WEBLIST_HELLO) && p == WEBLIST_HELLO {
                    return Probe::Match(Match::new(
                        "TeamSpeak server list announcement (hello answered with a token)",
                    ));
                }
                // The server's second step carries the token back.
                if head == Some(WEBLIST_STEP2)
                    && p.len() == 8
                    && array::<4>(p, 0) == Some(WEBLIST_HELLO)
                    && p.get(4..8) == d.get(4..8)
                {
                    return Probe::Match(Match::new(
                        "TeamSpeak server list announcement (token echoed)",
                    ));
                }
                if d == WEBLIST_HELLO {
                    return Probe::NeedMore;
                }
                Probe::NoMatch
            }
            _ => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, evidence, feed_evidence, probe1, C,
        S,
    };

    const UDP: Transport = Transport::Udp;
    // Sources: testdata/README.md.
    const INIT: &[u8] = include_bytes!("testdata/ts3init1.bin");
    const SECOND: &[u8] = include_bytes!("testdata/ts3_second.bin");
    const W14: &[u8] = include_bytes!("testdata/weblist_14.bin");
    const W15: &[u8] = include_bytes!("testdata/weblist_15.bin");
    const W16: &[u8] = include_bytes!("testdata/weblist_16.bin");

    #[test]
    fn init_packets() {
        assert_eq!(
            evidence(probe1(&Teamspeak, UDP, C, INIT)),
            "TeamSpeak 3 connection init (client, TS3INIT1, step 0)"
        );
        // Server init step 1: MAC, packet id, type, step.
        let mut srv = b"TS3INIT1".to_vec();
        srv.extend_from_slice(&[0x00, 0x65, 0x88, 0x01]);
        srv.extend_from_slice(&[0x5a; 20]);
        assert_eq!(
            evidence(probe1(&Teamspeak, UDP, S, &srv)),
            "TeamSpeak 3 connection init (server, TS3INIT1, step 1)"
        );
        // Encrypted packets after the handshake are not claimed alone.
        assert_eq!(probe1(&Teamspeak, UDP, C, SECOND), Probe::NoMatch);
        let mut bad = INIT.to_vec();
        bad[7] = b'2';
        assert_eq!(probe1(&Teamspeak, UDP, C, &bad), Probe::NoMatch);
    }

    #[test]
    fn ts2_login() {
        // Built from the description above: class bytes, then fields of
        // which the client name is readable.
        let mut p = vec![0xf4, 0xbe, 0x03, 0x00]; // first-packet bytes
        p.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]); // ids, counter
        p.extend_from_slice(&[0x2a, 0x1c, 0x93, 0x07]); // checksum
        p.push(9);
        p.extend_from_slice(b"TeamSpeak"); // client name (length-prefixed)
        p.extend_from_slice(&[0; 20]);
        assert_eq!(
            evidence(probe1(&Teamspeak, UDP, C, &p)),
            "TeamSpeak 2 login (0xf4be03, client 'TeamSpeak')"
        );
        let mut q = p.clone();
        q[21] = b'X'; // name gone
        assert_eq!(probe1(&Teamspeak, UDP, C, &q), Probe::NoMatch);
    }

    #[test]
    fn weblist() {
        assert_eq!(
            feed_evidence(&Teamspeak, UDP, 2010, &[(C, W14), (S, W15)]),
            "TeamSpeak server list announcement (hello answered with a token)"
        );
        // Starting at the second step (the hello lost).
        let mut p = crate::testkit::probe_at(&Teamspeak, UDP, C, W16, W15, 1);
        assert!(matches!(p, Probe::Match(_)));
        p = probe1(&Teamspeak, UDP, C, W16);
        assert_eq!(p, Probe::NoMatch);
    }

    #[test]
    fn foreign_and_random() {
        assert_foreign_rejected(&Teamspeak, "none");
        assert_random_flows_rejected(&Teamspeak, UDP, 9987);
    }

    #[test]
    fn first_bytes_declared() {
        crate::testkit::first_bytes_hold(&Teamspeak, &crate::testkit::input(UDP, C, INIT, &[], 0));
        let mut srv = b"TS3INIT1".to_vec();
        srv.extend_from_slice(&[0x00, 0x65, 0x88, 0x01]);
        srv.extend_from_slice(&[0x5a; 20]);
        crate::testkit::first_bytes_hold(&Teamspeak, &crate::testkit::input(UDP, S, &srv, INIT, 0));
        let mut ts2 = vec![0xf4, 0xbe, 0x03, 0x00];
        ts2.extend_from_slice(&[0; 16]);
        ts2.push(9);
        ts2.extend_from_slice(b"TeamSpeak");
        crate::testkit::first_bytes_hold(&Teamspeak, &crate::testkit::input(UDP, C, &ts2, &[], 0));
        crate::testkit::first_bytes_hold(&Teamspeak, &crate::testkit::input(UDP, C, W14, &[], 0));
        crate::testkit::first_bytes_hold(&Teamspeak, &crate::testkit::input(UDP, S, W15, W14, 0));
        crate::testkit::first_bytes_hold(&Teamspeak, &crate::testkit::input(UDP, C, W16, W15, 1));
    }
}
