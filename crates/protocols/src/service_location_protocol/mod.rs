//! Service Location Protocol, versions 1 (RFC 2165) and 2 (RFC 2608), over
//! UDP and TCP (port 427).
//!
//! SLPv2, RFC 2608 §8 "Required Features": every message starts with
//! ```text
//!  Version=2 | Function-ID | Length (3 octets)
//!  O F R | reserved (13 bits, MUST be 0) | Next Extension Offset (3)
//!  XID (2) | Language Tag Length (2) | Language Tag
//! ```
//! Function-IDs 1..=11 (SrvRqst, SrvRply, SrvReg, SrvDeReg, SrvAck,
//! AttrRqst, AttrRply, DAAdvert, SrvTypeRqst, SrvTypeRply, SAAdvert).
//! "Length: the length of the entire SLP message, header included."
//!
//! SLPv1, RFC 2165 §7 "Message Format":
//! ```text
//!  Version=1 | Function | Length (2)
//!  O M U A F rsvd (1) | Dialect (1) | Language Code (2)
//!  Character Encoding (2) | XID (2)
//! ```
//! Functions 1..=10 (no SAAdvert); "Dialect ... MUST be set to zero";
//! the language code is an ISO 639 two-letter code; the character
//! encoding is an IANA MIBenum value.
//!
//! Over UDP the length field must equal the datagram (an SLPv2 message
//! with the Overflow flag may be cut short: then the length is larger). A
//! TCP stream is read from its first message. Both checks together (version
//! byte, function range, exact 16/24-bit length, reserved bits zero, a
//! well-formed language tag) make a single datagram enough.

use netsift_proto::bytes::{be16, be24, u8_at};
use netsift_proto::{
    printable, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// Service_Location_Protocol (SLP).
pub struct ServiceLocationProtocol;

const V2_FUNCTIONS: [&str; 11] = [
    "SrvRqst",
    "SrvRply",
    "SrvReg",
    "SrvDeReg",
    "SrvAck",
    "AttrRqst",
    "AttrRply",
    "DAAdvert",
    "SrvTypeRqst",
    "SrvTypeRply",
    "SAAdvert",
];

/// A `<length (2)><bytes>` string at `off`: the bytes and the offset after.
fn str_at(d: &[u8], off: usize) -> Option<(&[u8], usize)> {
    let n = usize::from(be16(d, off)?);
    let s = d.get(off + 2..off + 2 + n)?;
    Some((s, off + 2 + n))
}

fn text(s: &[u8]) -> String {
    printable(s, 48)
}

impl ServiceLocationProtocol {
    /// SLPv2: `Err(true)` = could still match with more bytes (TCP).
    fn v2(d: &[u8], tcp: bool) -> Result<String, bool> {
        let more = Err(tcp);
        let Some(f) = u8_at(d, 1) else { return more };
        if !(1..=11).contains(&f) {
            return Err(false);
        }
        let Some(len) = be24(d, 2) else { return more };
        let len = len as usize;
        let Some(flags) = be16(d, 5) else { return more };
        // RFC 2608 §8: "the rest of the bits ... MUST be zero".
        if flags & 0x1fff != 0 {
            return Err(false);
        }
        let overflow = flags & 0x8000 != 0;
        let Some(next_ext) = be24(d, 7) else {
            return more;
        };
        let Some(lang_len) = be16(d, 12) else {
            return more;
        };
        let lang_len = usize::from(lang_len);
        let hdr = 14 + lang_len;
        // RFC 1766 language tags: 1-8 letter primary tag plus subtags.
        if lang_len == 0 || lang_len > 35 || len < hdr {
            return Err(false);
        }
        let fits = len == d.len() || (overflow && len > d.len());
        if !tcp && !fits {
            return Err(false);
        }
        // Next Extension Offset: 0, or inside the message after the header.
        let next_ext = next_ext as usize;
        if next_ext != 0 && (next_ext < hdr || next_ext >= len) {
            return Err(false);
        }
        let Some(lang) = d.get(14..hdr) else {
            return more;
        };
        if !lang.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            || !lang.first().is_some_and(u8::is_ascii_alphabetic)
        {
            return Err(false);
        }
        let name = V2_FUNCTIONS.get(usize::from(f) - 1).copied().unwrap_or("?");
        let body = d.get(..len.min(d.len())).unwrap_or(d);
        let detail = match f {
            // SrvRqst (§8.1): PRList, service-type, scope-list, ...
            1 => str_at(body, hdr)
                .and_then(|(_, o)| str_at(body, o))
                .map(|(st, _)| format!(" for {}", text(st))),
            // SrvReg (§8.3): URL entry (reserved, lifetime, URL), ...
            3 => str_at(body, hdr + 3).map(|(u, _)| format!(" of {}", text(u))),
            // AttrRqst (§10.3): PRList, URL, ...
            6 => str_at(body, hdr)
                .and_then(|(_, o)| str_at(body, o))
                .map(|(u, _)| format!(" for {}", text(u))),
            // DAAdvert (§8.5): error, boot timestamp, URL.
            8 => str_at(body, hdr + 6).map(|(u, _)| format!(" from {}", text(u))),
            // SrvTypeRqst (§10.1): PRList, naming authority (0xFFFF =
            // all), scope list.
            9 => str_at(body, hdr).and_then(|(_, o)| {
                let na = be16(body, o)?;
                let o = if na == 0xffff {
                    o + 2
                } else {
                    str_at(body, o)?.1
                };
                str_at(body, o).map(|(s, _)| format!(" in scope {}", text(s)))
            }),
            // SrvRply (§8.2): error code, URL entry count.
            2 => be16(body, hdr + 2).map(|n| format!(", {n} URL entries")),
            // SAAdvert (§8.6): URL.
            11 => str_at(body, hdr).map(|(u, _)| format!(" from {}", text(u))),
            _ => None,
        }
        .unwrap_or_default();
        Ok(format!("SLPv2 {name}{detail}"))
    }

    /// SLPv1.
    fn v1(d: &[u8], tcp: bool) -> Result<String, bool> {
        let more = Err(tcp);
        let Some(f) = u8_at(d, 1) else { return more };
        if !(1..=10).contains(&f) {
            return Err(false);
        }
        let Some(len) = be16(d, 2) else { return more };
        let len = usize::from(len);
        if len < 12 || (!tcp && len != d.len()) {
            return Err(false);
        }
        let Some(flags) = u8_at(d, 4) else {
            return more;
        };
        // RFC 2165 §7: flags O M U A F, then 3 reserved bits (zero).
        if flags & 0x07 != 0 {
            return Err(false);
        }
        let Some(dialect) = u8_at(d, 5) else {
            return more;
        };
        if dialect != 0 {
            return Err(false);
        }
        let (Some(l0), Some(l1)) = (u8_at(d, 6), u8_at(d, 7)) else {
            return more;
        };
        if !l0.is_ascii_alphabetic() || !l1.is_ascii_alphabetic() {
            return Err(false);
        }
        let Some(enc) = be16(d, 8) else { return more };
        // IANA MIBenum: 3 US-ASCII, 4 Latin-1, 106 UTF-8, 1000 UCS-2,
        // 1001 UCS-4, 1013-1015 UTF-16; RFC 2165 §7 names these.
        if !matches!(enc, 3..=4 | 106 | 1000 | 1001 | 1013..=1015) {
            return Err(false);
        }
        if d.len() < 12 {
            return more;
        }
        let name = V2_FUNCTIONS.get(usize::from(f) - 1).copied().unwrap_or("?");
        let body = d.get(..len.min(d.len())).unwrap_or(d);
        let detail = match f {
            // SrvRqst (§9): previous responders, then the predicate
            // "service-type/scope/where/".
            1 => str_at(body, 12)
                .and_then(|(_, o)| str_at(body, o))
                .map(|(p, _)| format!(" '{}'", text(p))),
            // SrvTypeRqst (§15): previous responders, naming authority
            // (0xFFFF = all), scope.
            9 => str_at(body, 12).and_then(|(_, o)| {
                let na = be16(body, o)?;
                let o = if na == 0xffff {
                    o + 2
                } else {
                    str_at(body, o)?.1
                };
                str_at(body, o).map(|(s, _)| format!(" in scope {}", text(s)))
            }),
            _ => None,
        }
        .unwrap_or_default();
        Ok(format!("SLPv1 {name}{detail}"))
    }
}

impl Protocol for ServiceLocationProtocol {
    fn name(&self) -> &'static str {
        "Service_Location_Protocol"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[427]
    }
    // RFC 2608 §8: every SLPv2 message starts with "Version" (= 2); RFC
    // 2165 §7: SLPv1's "Version" (= 1).
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[1, 2])
    }
    fn probe(&self, input: &ProbeInput<'_>, _s: &mut ProbeScratch) -> Probe {
        let tcp = input.transport == Transport::Tcp;
        let d = input.data;
        let r = match d.first() {
            Some(2) => Self::v2(d, tcp),
            Some(1) => Self::v1(d, tcp),
            None if tcp => Err(true),
            _ => Err(false),
        };
        match r {
            Ok(ev) => Probe::Match(Match::new(ev)),
            Err(true) => Probe::NeedMore,
            Err(false) => Probe::NoMatch,
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

    const UDP: Transport = Transport::Udp;
    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const V2_SRVTYPERQST: &[u8] = include_bytes!("testdata/v2_srvtyperqst.bin");
    const V2_SRVRQST: &[u8] = include_bytes!("testdata/v2_srvrqst.bin");
    const V2_SRVRQST_MCAST: &[u8] = include_bytes!("testdata/v2_srvrqst_mcast.bin");
    const V2_SRVRPLY: &[u8] = include_bytes!("testdata/v2_srvrply.bin");
    const V2_SRVREG: &[u8] = include_bytes!("testdata/v2_srvreg.bin");
    const V1_SRVTYPERQST: &[u8] = include_bytes!("testdata/v1_srvtyperqst.bin");

    fn ev(d: &[u8]) -> String {
        evidence(probe1(&ServiceLocationProtocol, UDP, C, d))
    }

    #[test]
    fn corpus_messages() {
        assert_eq!(ev(V2_SRVTYPERQST), "SLPv2 SrvTypeRqst in scope DEFAULT");
        assert_eq!(ev(V2_SRVRQST), "SLPv2 SrvRqst for service:censys");
        assert_eq!(
            ev(V2_SRVRQST_MCAST),
            "SLPv2 SrvRqst for service:service-agent"
        );
        assert_eq!(ev(V2_SRVRPLY), "SLPv2 SrvRply, 3 URL entries");
        assert_eq!(ev(V2_SRVREG), "SLPv2 SrvReg of slpTest://test:31337/");
        assert_eq!(ev(V1_SRVTYPERQST), "SLPv1 SrvTypeRqst in scope default");
    }

    /// SLPv2 DAAdvert built from RFC 2608 §8.5, server-first (a DA
    /// multicasts it unsolicited).
    #[test]
    fn daadvert_server_first() {
        let url = b"service:directory-agent://10.0.0.1";
        let mut m = vec![
            2, 8, // version 2, DAAdvert
            0, 0, 0, // length, set below
            0, 0, // flags
            0, 0, 0, // next extension offset
            0x12, 0x34, // XID
            0, 2, b'e', b'n', // language tag "en"
            0, 0, // error code
            0, 0, 0, 1, // DA stateless boot timestamp
        ];
        m.extend_from_slice(&(url.len() as u16).to_be_bytes());
        m.extend_from_slice(url);
        m.extend_from_slice(&[0, 7]);
        m.extend_from_slice(b"DEFAULT"); // scope list
        m.extend_from_slice(&[0, 0, 0, 0, 0]); // attrs, SPI, 0 auths
        let n = m.len();
        m[4] = n as u8;
        assert_eq!(
            evidence(probe1(&ServiceLocationProtocol, UDP, S, &m)),
            "SLPv2 DAAdvert from service:directory-agent://10.0.0.1"
        );
        // A wrong length is not SLP.
        m[4] += 1;
        assert_eq!(probe1(&ServiceLocationProtocol, UDP, S, &m), Probe::NoMatch);
    }

    #[test]
    fn tcp_stream_and_prefixes() {
        // Over TCP the message may be followed by more in the stream.
        let mut stream = V2_SRVRQST.to_vec();
        stream.extend_from_slice(V2_SRVTYPERQST);
        assert_eq!(
            evidence(probe1(&ServiceLocationProtocol, TCP, C, &stream)),
            "SLPv2 SrvRqst for service:censys"
        );
        check_prefixes(&ServiceLocationProtocol, TCP, C, &stream, &[]);
        for m in [V2_SRVRQST, V2_SRVREG, V1_SRVTYPERQST] {
            check_prefixes(&ServiceLocationProtocol, TCP, C, m, &[]);
            check_prefixes(&ServiceLocationProtocol, UDP, C, m, &[]);
        }
    }

    #[test]
    fn first_bytes_declared() {
        use crate::testkit::input;
        for (t, d) in [
            (UDP, V2_SRVTYPERQST),
            (UDP, V2_SRVRPLY),
            (UDP, V2_SRVREG),
            (UDP, V1_SRVTYPERQST),
            (TCP, V2_SRVRQST),
            (TCP, &V2_SRVRQST[..5]),
            (TCP, V1_SRVTYPERQST),
        ] {
            let p = &ServiceLocationProtocol;
            crate::testkit::first_bytes_hold(p, &input(t, C, d, b"", 0));
        }
    }

    #[test]
    fn rejects_random_and_foreign() {
        assert_random_flows_rejected(&ServiceLocationProtocol, UDP, 427);
        assert_random_flows_rejected(&ServiceLocationProtocol, TCP, 427);
        foreign_never_match(&ServiceLocationProtocol, TCP);
        foreign_never_match(&ServiceLocationProtocol, UDP);
        assert_foreign_rejected(&ServiceLocationProtocol, "slp");
    }
}
