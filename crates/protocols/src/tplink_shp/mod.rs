//! TPLINK_SHP: the TP-Link Smart Home Protocol of Kasa plugs, bulbs and
//! switches (vendor protocol, no official specification; documented by
//! reverse engineering, e.g. softScheck's "Reverse Engineering the TP-Link
//! HS110" and the python-kasa project). Port 9999, UDP (discovery and
//! commands) and TCP (commands).
//!
//! Messages are JSON objects such as `{"system":{"get_sysinfo":{}}}`,
//! obfuscated with an autokey XOR cipher: the key starts at 171 and each
//! ciphertext octet is the key of the next one
//! (`c[0] = p[0] ^ 171`, `c[i] = p[i] ^ c[i-1]`). Over UDP a datagram is
//! one message; over TCP each message has a 4-octet big-endian length in
//! front.
//!
//! The probe decodes the first octets and requires the start of a JSON
//! object with a quoted member name whose value is an object:
//! `{"name":{` (optional spaces allowed). Every decoded octet is
//! constrained, so random bytes pass with negligible probability.

use netsift_proto::bytes::be32;
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// TPLINK_SHP.
pub struct TplinkShp;

const KEY: u8 = 171;
/// Longest member name looked at (the protocol's are short:
/// "system", "emeter", "smartlife.iot.common.emeter", ...).
const MAX_NAME: usize = 48;
/// Largest TCP message accepted.
const MAX_TCP: u32 = 1 << 20;

enum Json {
    Yes(usize),
    More,
    No,
}

/// Decode `c` with the autokey cipher on the fly and check the start of
/// `{"name":{`; returns the member name's length.
fn check(c: &[u8], out: &mut [u8; MAX_NAME]) -> Json {
    let mut key = KEY;
    // State: 0 expect '{', 1 expect '"', 2 in name, 3 expect ':',
    // 4 expect '{' (after spaces).
    let mut state = 0u8;
    let mut name_len = 0usize;
    for &b in c.iter().take(MAX_NAME + 16) {
        let p = b ^ key;
        key = b;
        match state {
            0 if p == b'{' => state = 1,
            1 if p == b'"' => state = 2,
            1 if p == b' ' => {}
            2 if p == b'"' && name_len > 0 => state = 3,
            2 if (p.is_ascii_alphanumeric() || p == b'_' || p == b'.' || p == b'-')
                && name_len < MAX_NAME =>
            {
                if let Some(o) = out.get_mut(name_len) {
                    *o = p;
                }
                name_len += 1;
            }
            3 if p == b':' => state = 4,
            3 | 4 if p == b' ' => {}
            4 if p == b'{' => return Json::Yes(name_len),
            _ => return Json::No,
        }
    }
    if c.len() > MAX_NAME + 16 {
        Json::No
    } else {
        Json::More
    }
}

impl Protocol for TplinkShp {
    fn name(&self) -> &'static str {
        "TPLINK_SHP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[9999]
    }
    // Autokey XOR: "c[0] = p[0] ^ 171" with p[0] = '{' (0xd0) over UDP;
    // over TCP "a 4-octet big-endian length" (at most 1 MiB here, high octet 0).
    fn first_bytes(&self, transport: Transport) -> FirstBytes {
        match transport {
            Transport::Udp => FirstBytes::only(&[0xd0]),
            _ => FirstBytes::only(&[0xd0, 0x00]),
        }
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let tcp = input.transport == Transport::Tcp;
        let body = if tcp {
            let Some(len) = be32(input.data, 0) else {
                // The high octets of a sane length are zero.
                return if input.data.iter().all(|&b| b == 0) {
                    Probe::NeedMore
                } else {
                    Probe::NoMatch
                };
            };
            if !(9..=MAX_TCP).contains(&len) {
                return Probe::NoMatch;
            }
            input.data.get(4..).unwrap_or(&[])
        } else {
            input.data
        };
        let mut name = [0u8; MAX_NAME];
        match check(body, &mut name) {
            Json::Yes(n) => Probe::Match(Match::new(format!(
                "TP-Link SHP (XOR-171 JSON) {{\"{}\": ...}}",
                String::from_utf8_lossy(name.get(..n).unwrap_or(&[]))
            ))),
            Json::More if tcp => Probe::NeedMore,
            _ => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, check_prefixes, evidence,
        foreign_never_match, probe1, C, S,
    };
    use netsift_proto::Transport::{Tcp, Udp};

    // Sources: testdata/README.md.
    const GET_SYSINFO: &[u8] = include_bytes!("testdata/get_sysinfo.bin");

    fn encrypt(p: &[u8]) -> Vec<u8> {
        let mut key = KEY;
        p.iter()
            .map(|&b| {
                key ^= b;
                key
            })
            .collect()
    }

    #[test]
    fn corpus_get_sysinfo() {
        assert_eq!(
            evidence(probe1(&TplinkShp, Udp, C, GET_SYSINFO)),
            "TP-Link SHP (XOR-171 JSON) {\"system\": ...}"
        );
        assert_eq!(encrypt(br#"{"system":{"get_sysinfo":{}}}"#), GET_SYSINFO);
        check_prefixes(&TplinkShp, Udp, C, GET_SYSINFO, b"");
    }

    #[test]
    fn tcp_with_length_and_replies() {
        let reply = encrypt(br#"{"emeter":{"get_realtime":{"current":0.01,"err_code":0}}}"#);
        let mut t = (reply.len() as u32).to_be_bytes().to_vec();
        t.extend_from_slice(&reply);
        assert_eq!(
            evidence(probe1(&TplinkShp, Tcp, S, &t)),
            "TP-Link SHP (XOR-171 JSON) {\"emeter\": ...}"
        );
        check_prefixes(&TplinkShp, Tcp, S, &t, b"");
        let dotted = encrypt(br#"{"smartlife.iot.dimmer":{"set_brightness":{"brightness":50}}}"#);
        assert!(matches!(
            probe1(&TplinkShp, Udp, C, &dotted),
            Probe::Match(_)
        ));
        // Plain (unobfuscated) JSON is not this protocol.
        assert_eq!(
            probe1(&TplinkShp, Udp, C, br#"{"system":{"get_sysinfo":{}}}"#),
            Probe::NoMatch
        );
        // A JSON array or a scalar member is not one of its messages.
        assert_eq!(
            probe1(&TplinkShp, Udp, C, &encrypt(br#"{"a":1}"#)),
            Probe::NoMatch
        );
    }

    #[test]
    fn random_and_foreign() {
        assert_random_flows_rejected(&TplinkShp, Udp, 9999);
        assert_foreign_rejected(&TplinkShp, "none");
        foreign_never_match(&TplinkShp, Tcp);
        foreign_never_match(&TplinkShp, Udp);
    }

    #[test]
    fn first_bytes_declared() {
        crate::testkit::first_bytes_hold(
            &TplinkShp,
            &crate::testkit::input(Udp, C, GET_SYSINFO, &[], 0),
        );
        let mut t = (GET_SYSINFO.len() as u32).to_be_bytes().to_vec();
        t.extend_from_slice(GET_SYSINFO);
        crate::testkit::first_bytes_hold(&TplinkShp, &crate::testkit::input(Tcp, C, &t, &[], 0));
    }
}
