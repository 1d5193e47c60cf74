//! Syncthing (Syncthing documentation, "Specifications": "Block Exchange
//! Protocol v1", "Local Discovery Protocol v4", "Relay Protocol v1").
//!
//! * BEP runs over TLS; the client and server offer the ALPN protocol
//!   `bep/1.0` ("the TLS ALPN extension [...] `bep/1.0`"), so a TLS
//!   ClientHello or ServerHello carrying that ALPN name is Syncthing. This
//!   probe runs before TLS for that reason and answers NoMatch for every
//!   other TLS hello.
//! * Local discovery: UDP broadcasts to 21027, "Magic (32 bits) 0x2EA7D90B"
//!   then a protobuf `Announce` whose field 1 is the 32-byte device id
//!   (tag 0x0A, length 0x20).
//! * Relay protocol: every message has a header "Magic: 0x9E79BC40,
//!   Message Type (int32) 0..7, Message Length (int32)".

use netsift_proto::bytes::{be16, be32, u8_at};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Syncthing.
pub struct Syncthing;

const DISCOVERY_MAGIC: u32 = 0x2ea7_d90b;
const RELAY_MAGIC: u32 = 0x9e79_bc40;
const ALPN: &[u8] = b"bep/1.0";

impl Protocol for Syncthing {
    fn name(&self) -> &'static str {
        "Syncthing"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp, Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[22000, 21027, 22067]
    }
    // Local Discovery v4: "Magic (32 bits) 0x2EA7D90B" (UDP); Relay Protocol
    // v1: "Magic: 0x9E79BC40"; BEP: a TLS record, "handshake(22)" (RFC 8446
    // §5.1).
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x2e, 0x9e, 0x16])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        match input.transport {
            Transport::Udp => {
                if be32(d, 0) == Some(DISCOVERY_MAGIC)
                    && u8_at(d, 4) == Some(0x0a)
                    && u8_at(d, 5) == Some(0x20)
                    && d.len() >= 6 + 32
                {
                    Probe::Match(Match::new(
                        "Syncthing local discovery announcement (magic 0x2EA7D90B)",
                    ))
                } else {
                    Probe::NoMatch
                }
            }
            Transport::Tcp => match u8_at(d, 0) {
                None => Probe::NeedMore,
                Some(0x16) => tls_hello(d),
                Some(0x9e) => relay(d),
                Some(_) => Probe::NoMatch,
            },
            Transport::Ip(_) => Probe::NoMatch,
        }
    }
}

fn relay(d: &[u8]) -> Probe {
    let n = d.len().min(4);
    if d.get(..n) != RELAY_MAGIC.to_be_bytes().get(..n) {
        return Probe::NoMatch;
    }
    let (Some(ty), Some(len)) = (be32(d, 4), be32(d, 8)) else {
        return Probe::NeedMore;
    };
    let name = match ty {
        0 => "Ping",
        1 => "Pong",
        2 => "JoinRelayRequest",
        3 => "JoinSessionRequest",
        4 => "Response",
        5 => "ConnectRequest",
        6 => "SessionInvitation",
        7 => "RelayFull",
        _ => return Probe::NoMatch,
    };
    if len > 1024 {
        return Probe::NoMatch;
    }
    Probe::Match(Match::new(format!(
        "Syncthing relay protocol {name} (magic 0x9E79BC40)"
    )))
}

/// Walk a TLS ClientHello / ServerHello (RFC 8446 §4.1.2-§4.1.3) in the
/// first record for ALPN `bep/1.0` (RFC 7301 §3.1). No allocation.
fn tls_hello(d: &[u8]) -> Probe {
    // Record header: type 22, version 3.x, length.
    let Some(rec_len) = be16(d, 3) else {
        return if d.get(1).is_some_and(|&v| v != 3) {
            Probe::NoMatch
        } else {
            Probe::NeedMore
        };
    };
    if u8_at(d, 1) != Some(3) {
        return Probe::NoMatch;
    }
    let hs = u8_at(d, 5);
    if hs.is_some_and(|t| t != 1 && t != 2) {
        return Probe::NoMatch;
    }
    let end = 5 + usize::from(rec_len);
    let Some(rec) = d.get(..end) else {
        // Wait for the whole record (bounded by the engine's prefix).
        return Probe::NeedMore;
    };
    let is_client = hs == Some(1);
    // handshake header 4, version 2, random 32.
    let mut at = 5 + 4 + 2 + 32;
    let Some(sid) = u8_at(rec, at) else {
        return Probe::NoMatch;
    };
    at += 1 + usize::from(sid);
    if is_client {
        let Some(cs) = be16(rec, at) else {
            return Probe::NoMatch;
        };
        at += 2 + usize::from(cs);
        let Some(comp) = u8_at(rec, at) else {
            return Probe::NoMatch;
        };
        at += 1 + usize::from(comp);
    } else {
        at += 2 + 1;
    }
    let Some(ext_len) = be16(rec, at) else {
        return Probe::NoMatch;
    };
    at += 2;
    let ext_end = (at + usize::from(ext_len)).min(rec.len());
    // At most 64 extensions.
    for _ in 0..64 {
        if at + 4 > ext_end {
            break;
        }
        let (Some(ty), Some(len)) = (be16(rec, at), be16(rec, at + 2)) else {
            break;
        };
        let body = at + 4;
        at = body + usize::from(len);
        if ty != 0x0010 {
            continue;
        }
        // ProtocolNameList: u16 length, then u8-length names.
        let mut p = body + 2;
        let list_end = at.min(ext_end);
        for _ in 0..16 {
            let Some(nl) = u8_at(rec, p) else { break };
            let name = rec.get(p + 1..p + 1 + usize::from(nl));
            if p + 1 + usize::from(nl) > list_end {
                break;
            }
            if name == Some(ALPN) {
                let who = if is_client {
                    "ClientHello"
                } else {
                    "ServerHello"
                };
                return Probe::Match(Match::new(format!(
                    "Syncthing BEP: TLS {who} with ALPN 'bep/1.0'"
                )));
            }
            p += 1 + usize::from(nl);
        }
        break;
    }
    Probe::NoMatch
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    /// A TLS 1.2-style ClientHello with SNI-less extensions and ALPN
    /// `bep/1.0` (RFC 8446 §4.1.2 layout, values chosen for the test).
    fn client_hello(alpn: &[u8]) -> Vec<u8> {
        let mut exts = Vec::new();
        // supported_groups (10): list of x25519.
        exts.extend_from_slice(&[0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x1d]);
        // ALPN (16): list length, name length, name.
        let list_len = 1 + alpn.len();
        exts.extend_from_slice(&[0x00, 0x10]);
        exts.extend_from_slice(&((list_len + 2) as u16).to_be_bytes());
        exts.extend_from_slice(&(list_len as u16).to_be_bytes());
        exts.push(alpn.len() as u8);
        exts.extend_from_slice(alpn);
        let mut body = vec![0x03, 0x03];
        body.extend_from_slice(&[0x42; 32]); // random
        body.push(0); // session id length
        body.extend_from_slice(&[0x00, 0x02, 0x13, 0x01]); // one suite
        body.extend_from_slice(&[0x01, 0x00]); // null compression
        body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        body.extend_from_slice(&exts);
        let mut hs = vec![0x01, 0x00];
        hs.extend_from_slice(&(body.len() as u16).to_be_bytes());
        hs.extend_from_slice(&body);
        let mut rec = vec![0x16, 0x03, 0x01];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn bep_alpn() {
        let ch = client_hello(b"bep/1.0");
        assert_eq!(
            evidence(probe1(&Syncthing, Transport::Tcp, C, &ch)),
            "Syncthing BEP: TLS ClientHello with ALPN 'bep/1.0'"
        );
        let h2 = client_hello(b"h2");
        assert_eq!(probe1(&Syncthing, Transport::Tcp, C, &h2), Probe::NoMatch);
        check_prefixes(&Syncthing, Transport::Tcp, C, &ch, &[]);
        // A real TLS ClientHello of another application.
        let other = include_bytes!("../tls/testdata/ch_tls12.bin");
        assert_eq!(probe1(&Syncthing, Transport::Tcp, C, other), Probe::NoMatch);
    }

    /// Magic, then Announce { id (field 1, 32 bytes), addresses (field
    /// 2, "tcp://0.0.0.0:22000"), instance_id (field 3) }.
    fn announce() -> Vec<u8> {
        let mut ann = DISCOVERY_MAGIC.to_be_bytes().to_vec();
        ann.extend_from_slice(&[0x0a, 0x20]);
        ann.extend_from_slice(&[0x77; 32]);
        ann.extend_from_slice(&[0x12, 19]);
        ann.extend_from_slice(b"tcp://0.0.0.0:22000");
        ann.extend_from_slice(&[0x18, 0x2a]);
        ann
    }

    /// Relay JoinRelayRequest: magic, type 2, length 0.
    fn join_relay() -> Vec<u8> {
        let mut join = RELAY_MAGIC.to_be_bytes().to_vec();
        join.extend_from_slice(&2u32.to_be_bytes());
        join.extend_from_slice(&0u32.to_be_bytes());
        join
    }

    #[test]
    fn local_discovery_and_relay() {
        let ann = announce();
        assert!(evidence(probe1(&Syncthing, Transport::Udp, C, &ann)).contains("local discovery"));
        let join = join_relay();
        assert_eq!(
            evidence(probe1(&Syncthing, Transport::Tcp, C, &join)),
            "Syncthing relay protocol JoinRelayRequest (magic 0x9E79BC40)"
        );
        check_prefixes(&Syncthing, Transport::Tcp, C, &join, &[]);
    }

    #[test]
    fn random_and_foreign() {
        assert_random_flows_rejected(&Syncthing, Transport::Tcp, 22000);
        assert_random_flows_rejected(&Syncthing, Transport::Udp, 21027);
        foreign_never_match(&Syncthing, Transport::Tcp);
        foreign_never_match(&Syncthing, Transport::Udp);
    }

    #[test]
    fn first_bytes_declared() {
        let ch = client_hello(b"bep/1.0");
        let (ann, join) = (announce(), join_relay());
        for (t, d) in [
            (Transport::Tcp, &ch),
            (Transport::Udp, &ann),
            (Transport::Tcp, &join),
        ] {
            crate::testkit::first_bytes_hold(&Syncthing, &crate::testkit::input(t, C, d, &[], 0));
        }
    }
}
