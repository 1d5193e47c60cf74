//! DHCPv6 (RFC 8415). Client/server messages (RFC 8415 §8): msg-type
//! (1..=11), a 3-octet transaction-id, options. Relay messages (§9):
//! msg-type 12/13, hop-count, link-address, peer-address, options. The
//! options (§21.1: option-code, option-len, data) must fill the datagram
//! exactly, and their codes must be assigned.

use netsift_proto::bytes::be16;
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

#[cfg(test)]
mod tests;

/// DHCPV6.
pub struct Dhcpv6;

fn type_name(t: u8) -> &'static str {
    // RFC 8415 §7.3.
    match t {
        1 => "SOLICIT",
        2 => "ADVERTISE",
        3 => "REQUEST",
        4 => "CONFIRM",
        5 => "RENEW",
        6 => "REBIND",
        7 => "REPLY",
        8 => "RELEASE",
        9 => "DECLINE",
        10 => "RECONFIGURE",
        11 => "INFORMATION-REQUEST",
        12 => "RELAY-FORW",
        _ => "RELAY-REPL",
    }
}

/// Walk the options from `pos` to the end. Returns (count, saw client or
/// server identifier / relay message) or `None` if the chain does not fit.
fn options(d: &[u8], mut pos: usize) -> Option<(usize, bool)> {
    let mut n = 0;
    let mut ids = false;
    while pos < d.len() {
        let code = be16(d, pos)?;
        let len = be16(d, pos + 2)? as usize;
        // IANA "DHCPv6 Option Codes": 1..=143 are assigned; 0 is reserved.
        if code == 0 || code > 143 {
            return None;
        }
        // OPTION_CLIENTID 1, OPTION_SERVERID 2 (§21.2, §21.3) are the
        // DUIDs, at least 2 octets of type plus content.
        if matches!(code, 1 | 2) {
            if len < 3 {
                return None;
            }
            ids = true;
        }
        // OPTION_RELAY_MSG 9 (§21.10) carries the relayed message.
        if code == 9 {
            ids = true;
        }
        pos = pos.checked_add(4 + len)?;
        n += 1;
    }
    (pos == d.len()).then_some((n, ids))
}

impl Protocol for Dhcpv6 {
    fn name(&self) -> &'static str {
        "DHCPV6"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[546, 547]
    }
    // RFC 8415 §8 / §9: every message starts with "msg-type"; §7.3 assigns
    // 1 (SOLICIT) ..= 13 (RELAY-REPL), the types this probe accepts.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::range(1, 13)
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let Some(&t) = d.first() else {
            return Probe::NoMatch;
        };
        let (start, hop) = match t {
            1..=11 => (4, None),
            // §9: hop-count (<= HOP_COUNT_LIMIT 8, §7.6) + two addresses.
            12 | 13 => match d.get(1) {
                Some(&h) if h <= 8 => (34, Some(h)),
                _ => return Probe::NoMatch,
            },
            _ => return Probe::NoMatch,
        };
        if d.len() <= start {
            return Probe::NoMatch;
        }
        // Every message carries a client or server identifier (Solicit,
        // Request, ... §18.2 MUST include Client Identifier; replies carry
        // Server Identifier) or, for relays, a Relay Message option.
        let Some((n, true)) = options(d, start) else {
            return Probe::NoMatch;
        };
        let ev = match hop {
            None => format!(
                "DHCPv6 {} (xid 0x{:02x}{:02x}{:02x}, {n} options)",
                type_name(t),
                d.get(1).copied().unwrap_or(0),
                d.get(2).copied().unwrap_or(0),
                d.get(3).copied().unwrap_or(0)
            ),
            Some(h) => format!("DHCPv6 {} (hop {h}, {n} options)", type_name(t)),
        };
        Probe::Match(Match::new(ev))
    }
}
