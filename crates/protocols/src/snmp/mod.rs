//! SNMP over UDP: v1 (RFC 1157), v2c (RFC 1901 / RFC 3416) and v3 (RFC
//! 3412). Messages are BER-encoded (RFC 3417 §8: definite lengths only):
//! a SEQUENCE that spans the datagram exactly, an INTEGER version, then
//! either a community OCTET STRING and a PDU (tag 0xA0..=0xA8) or, for v3,
//! msgGlobalData, msgSecurityParameters and msgData.

use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

#[cfg(test)]
mod tests;

/// SNMP.
pub struct Snmp;

/// One BER TLV at `pos`: (tag, value start, value end). RFC 3417 §8:
/// "When encoding the length field, only the definite form is used"; we
/// accept the short form and the long form with 1..=3 length octets.
fn tlv(d: &[u8], pos: usize) -> Option<(u8, usize, usize)> {
    crate::ber::tlv_at(d, pos, 3)
}

/// A small non-negative INTEGER value (at most 4 octets).
fn int(d: &[u8], pos: usize) -> Option<(u32, usize)> {
    let (tag, s, e) = tlv(d, pos)?;
    if tag != 0x02 || e == s || e - s > 5 {
        return None;
    }
    let mut v = 0u32;
    for &b in d.get(s..e)? {
        v = (v << 8) | b as u32;
    }
    Some((v, e))
}

fn pdu_name(tag: u8) -> &'static str {
    // RFC 3416 §3 (and RFC 1157 §4.1 for Trap-PDU).
    match tag {
        0xa0 => "get-request",
        0xa1 => "get-next-request",
        0xa2 => "get-response",
        0xa3 => "set-request",
        0xa4 => "trap",
        0xa5 => "getbulk-request",
        0xa6 => "inform-request",
        0xa7 => "snmpV2-trap",
        _ => "report",
    }
}

/// A PDU at `pos` that must end exactly at `end`. RFC 3416 §3: PDU ::=
/// request-id, error-status, error-index, variable-bindings; RFC 1157
/// Trap-PDU: enterprise OID, agent-addr, generic-trap, specific-trap,
/// time-stamp, variable-bindings. The last element is the varbind
/// SEQUENCE and ends the PDU.
fn pdu(d: &[u8], pos: usize, end: usize, version: u32) -> Option<u8> {
    let (tag, s, e) = tlv(d, pos)?;
    if e != end {
        return None;
    }
    let allowed = match version {
        // v1 PDUs: GetRequest..Trap (RFC 1157 §4.1).
        0 => (0xa0..=0xa4).contains(&tag),
        // v2c/v3 (RFC 3416 §3): no v1 Trap.
        _ => (0xa0..=0xa8).contains(&tag) && tag != 0xa4,
    };
    if !allowed {
        return None;
    }
    let expected: &[u8] = if tag == 0xa4 {
        &[0x06, 0x40, 0x02, 0x02, 0x43, 0x30]
    } else {
        &[0x02, 0x02, 0x02, 0x30]
    };
    let mut p = s;
    for &want in expected {
        let (t, _, next) = tlv(d, p)?;
        if t != want {
            return None;
        }
        p = next;
    }
    (p == e).then_some(tag)
}

fn community_msg(d: &[u8], pos: usize, end: usize, version: u32) -> Option<String> {
    let (t, cs, ce) = tlv(d, pos)?;
    if t != 0x04 {
        return None;
    }
    let tag = pdu(d, ce, end, version)?;
    let v = if version == 0 { "SNMPv1" } else { "SNMPv2c" };
    Some(format!(
        "{v} {}, community '{}'",
        pdu_name(tag),
        netsift_proto::printable(d.get(cs..ce)?, 32)
    ))
}

/// RFC 3412 §6: msgGlobalData ::= SEQUENCE { msgID INTEGER
/// (0..2147483647), msgMaxSize INTEGER (484..2147483647), msgFlags OCTET
/// STRING (SIZE(1)), msgSecurityModel INTEGER (1..2147483647) }, then
/// msgSecurityParameters OCTET STRING, msgData (ScopedPDU SEQUENCE or
/// encryptedPDU OCTET STRING).
fn v3_msg(d: &[u8], pos: usize, end: usize) -> Option<String> {
    let (t, gs, ge) = tlv(d, pos)?;
    if t != 0x30 {
        return None;
    }
    let (_id, p) = int(d, gs)?;
    let (max, p) = int(d, p)?;
    let (ft, fs, fe) = tlv(d, p)?;
    if ft != 0x04 || fe != fs + 1 || max < 484 {
        return None;
    }
    let flags = *d.get(fs)?;
    // msgFlags: reportable 4, priv 2, auth 1; priv without auth is
    // invalid (RFC 3412 §7.2 step 5).
    if flags & 0xf8 != 0 || flags & 0x03 == 0x02 {
        return None;
    }
    let (model, p) = int(d, fe)?;
    if model == 0 || p != ge {
        return None;
    }
    let (st, _, se) = tlv(d, ge)?;
    if st != 0x04 {
        return None;
    }
    let (dt, ds, de) = tlv(d, se)?;
    if de != end {
        return None;
    }
    let level = match flags & 0x03 {
        0 => "noAuthNoPriv",
        1 => "authNoPriv",
        _ => "authPriv",
    };
    let model = match model {
        1 => "SNMPv1",
        2 => "SNMPv2c",
        3 => "USM",
        _ => "other",
    };
    match dt {
        // ScopedPDU ::= SEQUENCE { contextEngineID, contextName, data }.
        0x30 => {
            let (a, _, ae) = tlv(d, ds)?;
            let (b, _, be) = tlv(d, ae)?;
            if a != 0x04 || b != 0x04 {
                return None;
            }
            let tag = pdu(d, be, de, 3)?;
            Some(format!("SNMPv3 {} ({model}, {level})", pdu_name(tag)))
        }
        // Encrypted: only with the priv flag.
        0x04 if flags & 0x02 != 0 => Some(format!("SNMPv3 encrypted PDU ({model}, {level})")),
        _ => None,
    }
}

impl Protocol for Snmp {
    fn name(&self) -> &'static str {
        "SNMP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[161, 162]
    }
    // RFC 1157 §4 / RFC 3416 §3 / RFC 3412 §6: "Message ::= SEQUENCE {
    // version INTEGER ...": a BER SEQUENCE, tag 0x30 (X.690 §8.9), as the
    // probe's `tlv(d, 0)` requires.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x30])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        // Message ::= SEQUENCE { version INTEGER, ... } spanning the
        // whole datagram.
        let Some((0x30, s, e)) = tlv(d, 0) else {
            return Probe::NoMatch;
        };
        if e != d.len() {
            return Probe::NoMatch;
        }
        let Some((version, p)) = int(d, s) else {
            return Probe::NoMatch;
        };
        // version-1 (0), version-2c (1), version-3 (3).
        let ev = match version {
            0 | 1 => community_msg(d, p, e, version),
            3 => v3_msg(d, p, e),
            _ => None,
        };
        match ev {
            Some(ev) => Probe::Match(Match::new(ev)),
            None => Probe::NoMatch,
        }
    }
}
