//! RDP with TLS security (MS-RDPBCGR §5.4.5.1 "Transport Layer Security",
//! §1.3.1.1): the client's X.224 Connection Request carries an RDP
//! Negotiation Request (§2.2.1.1.1) listing the security protocols it
//! supports; the server's X.224 Connection Confirm carries an RDP
//! Negotiation Response (§2.2.1.2.1) whose selectedProtocol names one. For
//! PROTOCOL_SSL (1), PROTOCOL_HYBRID (2, CredSSP inside TLS), PROTOCOL_RDSTLS
//! (4) and PROTOCOL_HYBRID_EX (8) the TLS handshake follows the Connection
//! Confirm; PROTOCOL_RDP (0) is Standard RDP Security, not TLS.

use netsift_proto::Direction;

use crate::starttls::Watch;

/// T.123 §8 TPKT: "version 3, reserved, length (16 bits, big-endian,
/// the whole packet)"; returns the TPKT length.
fn tpkt(d: &[u8]) -> Option<usize> {
    match d.get(..4)? {
        [3, 0, hi, lo] => Some(usize::from(*hi) << 8 | usize::from(*lo)),
        _ => None,
    }
}

/// The upgrade rule (see [`crate::starttls::Rule`]).
pub(crate) fn rule(dir: Direction, client: &[u8], server: &[u8]) -> Watch {
    // X.224 (ISO 8073 §13.3): the Connection Request TPDU code is 0xE0.
    match (tpkt(client), client.get(5)) {
        (Some(_), Some(c)) if c & 0xf0 == 0xe0 => {}
        (None, _) if client.len() < 4 => return Watch::More,
        (Some(_), None) => return Watch::More,
        _ => return Watch::Never,
    }
    let Some(len) = tpkt(server) else {
        return if server.len() < 4 {
            Watch::More
        } else {
            Watch::Never
        };
    };
    let Some(cc) = server.get(..len) else {
        return Watch::More;
    };
    // §2.2.1.2: TPKT (4) + X.224 Connection Confirm (7, code 0xD0) +
    // rdpNegData: "type (1 byte): ... TYPE_RDP_NEG_RSP 0x02", flags (1),
    // "length (2 bytes): ... MUST be set to 0x0008", "selectedProtocol (4
    // bytes)" (little-endian).
    if cc.get(5).is_none_or(|c| c & 0xf0 != 0xd0) {
        return Watch::Never;
    }
    match cc.get(11..19) {
        Some(&[2, _, 8, 0, a, b, c, d]) if dir == Direction::ToClient => {
            if u32::from_le_bytes([a, b, c, d]) != 0 {
                Watch::After(len)
            } else {
                Watch::Never
            }
        }
        _ => Watch::Never,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::ToClient;

    /// rdp3.pcap (nDPI corpus) stream 0: mstsc's request with a cookie,
    /// answered with a bare Connection Confirm (Standard RDP Security).
    #[test]
    fn standard_security_is_not_tls() {
        let cr = b"\x03\x00\x00\x27\x22\xe0\x00\x00\x00\x00\x00Cookie: mstshash=Administr\r\n";
        let cc = b"\x03\x00\x00\x0b\x06\xd0\x00\x00\x12\x34\x00";
        assert_eq!(rule(ToClient, cr, cc), Watch::Never);
        assert_eq!(rule(ToClient, cr, &cc[..3]), Watch::More);
    }

    /// a PROTOCOL_SSL Negotiation Request against xrdp 0.9: crates/cli/tests/starttls/make-starttls.sh, stream 0 of
    /// the capture, extracted with `tshark -q -z follow,tcp,raw,0`.
    #[test]
    fn real_upgrade_gives_a_tls_record() {
        crate::starttls::assert_real_upgrade(
            "RDP",
            rule,
            include_str!("testdata/tls.txt"),
            Some("localhost"),
        );
    }
}
