//! The first-packet API, for honeypots: identify a protocol from a single
//! payload with no flow state.
//!
//! A honeypot that accepts a connection on an arbitrary port can hand the
//! client's first bytes to [`identify_first_payload`] and learn what the
//! client speaks before answering. The port plays no part in the decision
//! (it is passed only so probes can tell apart variants of one structure,
//! such as DNS and mDNS).
//!
//! # What the client's first payload alone identifies
//! * TCP: HTTP (request line), TLS (ClientHello record), SSH (version
//!   banner; clients send it first too), RDP (X.224 Connection Request),
//!   SMBv1 / SMBv23 (NetBIOS session header + SMB magic), DCERPC (bind),
//!   Kerberos and LDAP (BER-framed requests), DNS over TCP (length-prefixed
//!   query), SIP (request line), STUN over TCP, Telnet (option negotiation).
//! * UDP: DNS, mDNS, LLMNR, NetBIOS name service, DHCP, DHCPv6, NTP, SNMP,
//!   SIP, STUN, SSDP, QUIC (Initial long header), Kerberos, LDAP (CLDAP),
//!   DCERPC (connectionless).
//! * IP protocols: ICMP, ICMPv6, IGMP.
//!
//! Server-speaks-first protocols (FTP, SMTP, POP3, IMAP) are recognised
//! from the server's banner: pass `Direction::ToClient` with the banner.
//! From a client's first bytes alone they may answer `NeedMore` (a client
//! of these protocols sends nothing before the banner). FTP_DATA is only
//! known from the control connection that announced it.

use netsift_proto::{Direction, Probe, ProbeInput, ProbeScratch, Transport};

use crate::ALL;

/// Answer of [`identify_first_payload`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirstVerdict {
    /// Identified.
    Match {
        protocol: &'static str,
        app: Option<String>,
        evidence: String,
    },
    /// Not decided: these protocols need more bytes (the next packet, or
    /// the other side's answer).
    NeedMore { candidates: Vec<&'static str> },
    /// No protocol matches these bytes.
    Unknown,
}

/// Identify the protocol of one payload. `dir` says who sent it (the
/// connecting client, or the server); `server_port` is the port the client
/// connected to.
pub fn identify_first_payload(
    transport: Transport,
    dir: Direction,
    server_port: u16,
    payload: &[u8],
) -> FirstVerdict {
    let mut candidates = Vec::new();
    for proto in ALL.iter() {
        if !proto.transports().contains(&transport) {
            continue;
        }
        let input = ProbeInput {
            transport,
            dir,
            data: payload,
            peer: &[],
            index: 0,
            server_port,
            client_port: 0,
            server_addr: None,
            client_addr: None,
        };
        match proto.probe(&input, &mut ProbeScratch::default()) {
            Probe::Match(m) => {
                return FirstVerdict::Match {
                    protocol: proto.name(),
                    app: m.app,
                    evidence: m.evidence,
                }
            }
            Probe::NeedMore => candidates.push(proto.name()),
            Probe::NoMatch => {}
        }
    }
    if candidates.is_empty() {
        FirstVerdict::Unknown
    } else {
        FirstVerdict::NeedMore { candidates }
    }
}
