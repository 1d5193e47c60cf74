//! SMPP, the Short Message Peer-to-Peer protocol (SMPP v3.4 specification,
//! Issue 1.2, and SMPP v5.0), over TCP (2775 by IANA; any port in practice).
//!
//! v3.4 §3.2, PDU header (16 octets, big-endian): `command_length(4) |
//! command_id(4) | command_status(4) | sequence_number(4)`.
//! "command_length ... defines the total octet length of the SMPP PDU
//! packet including the length field"; command ids of §5.1.2.1 (requests
//! 0x00000001..0x00000113, responses with bit 31 set, generic_nack
//! 0x80000000); "command_status ... is relevant only in the SMPP response
//! message. It should be set to NULL in SMPP request messages";
//! sequence_number 0x00000001..0x7FFFFFFF (§5.1.4).
//! The bind PDUs (§4.1) carry system_id, password, system_type as C-octet
//! strings and an interface_version (0x00..0x34, 0x50 for v5.0).
//!
//! Either side may speak first (an ESME binds, an MC may send outbind), and
//! a capture may start at any PDU boundary, so any PDU header is accepted.

use netsift_proto::bytes::{be32, u8_at};
use netsift_proto::{printable, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// SMPP.
pub struct Smpp;

const HDR: usize = 16;

/// §5.1.2.1 command ids (requests; responses add 0x80000000).
fn command(id: u32) -> Option<&'static str> {
    Some(match id {
        0x01 => "bind_receiver",
        0x02 => "bind_transmitter",
        0x03 => "query_sm",
        0x04 => "submit_sm",
        0x05 => "deliver_sm",
        0x06 => "unbind",
        0x07 => "replace_sm",
        0x08 => "cancel_sm",
        0x09 => "bind_transceiver",
        0x0b => "outbind",
        0x15 => "enquire_link",
        0x21 => "submit_multi",
        0x102 => "alert_notification",
        0x103 => "data_sm",
        0x111 => "broadcast_sm",
        0x112 => "query_broadcast_sm",
        0x113 => "cancel_broadcast_sm",
        _ => return None,
    })
}

/// A C-octet string at `off` of at most `max` octets (NUL included):
/// its text and the offset after the NUL.
fn cstr(d: &[u8], off: usize, max: usize) -> Option<(&[u8], usize)> {
    let s = d.get(off..)?;
    let n = s.iter().take(max).position(|&b| b == 0)?;
    let t = s.get(..n)?;
    t.iter()
        .all(|b| (0x20..0x7f).contains(b))
        .then_some((t, off + n + 1))
}

impl Protocol for Smpp {
    fn name(&self) -> &'static str {
        "SMPP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[2775]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let d = input.data;
        // command_length: the top two octets are 0 for any real PDU
        // (bounded below 64 KiB here).
        if d.iter().take(2).any(|&b| b != 0) {
            return Probe::NoMatch;
        }
        let (Some(len), Some(id)) = (be32(d, 0), be32(d, 4)) else {
            // command_id's top octet is 0x00 or 0x80.
            return match d.get(4) {
                Some(0 | 0x80) | None => Probe::NeedMore,
                _ => Probe::NoMatch,
            };
        };
        let len = len as usize;
        let resp = id & 0x8000_0000 != 0;
        let name = if id == 0x8000_0000 {
            "generic_nack"
        } else {
            match command(id & 0x7fff_ffff) {
                Some(n) => n,
                None => return Probe::NoMatch,
            }
        };
        if len < HDR {
            return Probe::NoMatch;
        }
        let (Some(status), Some(seq)) = (be32(d, 8), be32(d, 12)) else {
            return Probe::NeedMore;
        };
        // §5.1.3: status NULL in requests; §5.1.4: sequence 1..=0x7FFFFFFF
        // (generic_nack may carry 0 when the sequence was unreadable).
        if (!resp && status != 0) || seq > 0x7fff_ffff || (seq == 0 && !resp) {
            return Probe::NoMatch;
        }
        // Fixed-size PDUs (§4): enquire_link, unbind and their responses,
        // generic_nack are header only.
        let header_only = matches!(id & 0x7fff_ffff, 0x06 | 0x15) || id == 0x8000_0000;
        if header_only && len != HDR {
            return Probe::NoMatch;
        }
        let kind = if resp && id != 0x8000_0000 {
            format!("{name}_resp")
        } else {
            name.to_owned()
        };
        let mut ev = format!("SMPP {kind}, sequence {seq}");
        if resp && status != 0 {
            ev.push_str(&format!(", status 0x{status:08x}"));
        }
        // Bind requests (§4.1.1, §4.1.3, §4.1.5): system_id(16),
        // password(9), system_type(13), interface_version, addr_ton,
        // addr_npi, address_range(41).
        if !resp && matches!(id, 0x01 | 0x02 | 0x09) {
            if d.len() < len.min(HDR + 16 + 9 + 13 + 1) {
                return Probe::NeedMore;
            }
            let Some((sys, o)) = cstr(d, HDR, 16) else {
                return Probe::NoMatch;
            };
            let Some((_, o)) = cstr(d, o, 9) else {
                return Probe::NoMatch;
            };
            let Some((_, o)) = cstr(d, o, 13) else {
                return Probe::NoMatch;
            };
            let Some(v) = u8_at(d, o) else {
                return Probe::NeedMore;
            };
            if !(v <= 0x34 || v == 0x50) {
                return Probe::NoMatch;
            }
            ev.push_str(&format!(
                ", system_id '{}', interface_version 0x{v:02x}",
                printable(sys, 16)
            ));
        }
        Probe::Match(Match::new(ev))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const BIND: &[u8] = include_bytes!("testdata/bind_tx.bin");
    const BIND_RESP: &[u8] = include_bytes!("testdata/bind_tx_resp.bin");
    const SUBMIT: &[u8] = include_bytes!("testdata/submit_sm.bin");
    const ENQ: &[u8] = include_bytes!("testdata/enquire_link.bin");

    #[test]
    fn pdus() {
        assert_eq!(
            evidence(probe1(&Smpp, TCP, C, BIND)),
            "SMPP bind_transmitter, sequence 1, system_id 'abhik', interface_version 0x01"
        );
        assert_eq!(
            evidence(probe1(&Smpp, TCP, S, BIND_RESP)),
            "SMPP bind_transmitter_resp, sequence 1"
        );
        assert_eq!(
            evidence(probe1(&Smpp, TCP, C, SUBMIT)),
            "SMPP submit_sm, sequence 3"
        );
        assert_eq!(
            evidence(probe1(&Smpp, TCP, C, ENQ)),
            "SMPP enquire_link, sequence 2"
        );
        // generic_nack (§4.3.1), status ESME_RINVCMDID.
        let nack = [0, 0, 0, 16, 0x80, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0];
        assert_eq!(
            evidence(probe1(&Smpp, TCP, S, &nack)),
            "SMPP generic_nack, sequence 0, status 0x00000003"
        );
    }

    #[test]
    fn malformed() {
        let mut b = ENQ.to_vec();
        b[11] = 1; // status in a request
        assert_eq!(probe1(&Smpp, TCP, C, &b), Probe::NoMatch);
        let mut b = ENQ.to_vec();
        b[7] = 0x16; // unknown command
        assert_eq!(probe1(&Smpp, TCP, C, &b), Probe::NoMatch);
        let mut b = ENQ.to_vec();
        b[3] = 20; // enquire_link is header only
        assert_eq!(probe1(&Smpp, TCP, C, &b), Probe::NoMatch);
    }

    #[test]
    fn prefixes_random_foreign() {
        check_prefixes(&Smpp, TCP, C, BIND, b"");
        check_prefixes(&Smpp, TCP, S, BIND_RESP, BIND);
        assert_random_flows_rejected(&Smpp, TCP, 2775);
        foreign_never_match(&Smpp, TCP);
        assert_foreign_rejected(&Smpp, "smpp");
    }
}
