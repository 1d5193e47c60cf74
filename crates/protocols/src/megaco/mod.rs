//! Megaco / H.248 gateway control (ITU-T H.248.1, RFC 3525), text and
//! binary encodings, over UDP (2944 text, 2945 binary), TCP and SCTP.
//!
//! Text encoding (H.248.1 Annex B, ABNF): `megacoMessage = LWSP
//! [authenticationHeader SEP] message`, `message = MegacopToken SLASH
//! Version SEP mId SEP messageBody`, where MegacopToken is `MEGACO` or its
//! short form `!`, Version is 1..=2 digits, and mId is a domain name in
//! angle brackets, an IPv4/IPv6 address in square brackets (optionally
//! with `:port`), or a device name. Authentication headers start with
//! `AU=` / `Authentication=`.
//!
//! Binary encoding (Annex A, ASN.1 BER): `MegacoMessage ::= SEQUENCE {
//! authHeader [0] AuthenticationHeader OPTIONAL, mess [1] Message }`,
//! `Message ::= SEQUENCE { version [0] INTEGER(0..99), mId [1] MId,
//! messageBody [2] ... }`: so `30 len`, then `a1 len`, then `80 01 v`
//! and `a1` (mId), with lengths that agree with the datagram.

use netsift_proto::bytes::u8_at;
use netsift_proto::{
    printable, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

use crate::ber;

/// Megaco.
pub struct Megaco;

fn binary(d: &[u8], udp: bool) -> Option<String> {
    if u8_at(d, 0)? != 0x30 {
        return None;
    }
    let (len, n) = ber::length(d, 1, 3).ok()?;
    let start = 1 + n;
    if udp && start + len != d.len() {
        return None;
    }
    // Skip an authHeader [0].
    let mut p = start;
    if u8_at(d, p)? == 0xa0 {
        let (l, k) = ber::length(d, p + 1, 3).ok()?;
        p += 1 + k + l;
    }
    if u8_at(d, p)? != 0xa1 {
        return None;
    }
    let (ml, k) = ber::length(d, p + 1, 3).ok()?;
    if p + 1 + k + ml != start + len {
        return None;
    }
    let q = p + 1 + k;
    // version [0] INTEGER, one octet, 1..=3 in use.
    if d.get(q..q + 2)? != [0x80, 0x01] {
        return None;
    }
    let v = u8_at(d, q + 2)?;
    if !(1..=3).contains(&v) || u8_at(d, q + 3)? != 0xa1 {
        return None;
    }
    Some(format!("H.248 binary (BER) message, version {v}"))
}

/// Text: `MEGACO/v` or `!/v`, white space, then an mId.
fn text(d: &[u8]) -> Result<String, bool> {
    // Leading white space (LWSP) and an optional authentication header.
    let mut p = d
        .iter()
        .take(8)
        .position(|b| !b.is_ascii_whitespace())
        .ok_or(d.len() < 8)?;
    let rest = d.get(p..).unwrap_or(&[]);
    for au in [&b"AU="[..], b"Authentication="] {
        if rest.len() >= au.len() && rest[..au.len()].eq_ignore_ascii_case(au) {
            // Skip to the first white space after the header fields.
            let e = rest
                .iter()
                .take(256)
                .position(|b| b.is_ascii_whitespace())
                .ok_or(rest.len() < 256)?;
            p += e;
            while d.get(p).is_some_and(|b| b.is_ascii_whitespace()) {
                p += 1;
            }
            break;
        }
    }
    let rest = d.get(p..).unwrap_or(&[]);
    let tok = if rest.first() == Some(&b'!') {
        1
    } else {
        let n = rest.len().min(6);
        if !rest[..n].eq_ignore_ascii_case(&b"MEGACO"[..n]) {
            return Err(false);
        }
        if n < 6 {
            return Err(true);
        }
        6
    };
    let v = rest.get(tok..).unwrap_or(&[]);
    match v.first() {
        None => return Err(true),
        Some(b'/') => {}
        Some(_) => return Err(false),
    }
    let digits = v.iter().skip(1).take_while(|b| b.is_ascii_digit()).count();
    let after = v.get(1 + digits);
    if after.is_none() {
        return if digits <= 2 { Err(true) } else { Err(false) };
    }
    if !(1..=2).contains(&digits) || !after.is_some_and(|b| b.is_ascii_whitespace()) {
        return Err(false);
    }
    let ver = &v[1..1 + digits];
    let m = v.get(2 + digits..).unwrap_or(&[]);
    let m = &m[m.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
    // mId: [IPv4/IPv6], <domain>, or a device name (letters first).
    let (close, kind) = match m.first() {
        None => return Err(true),
        Some(b'[') => (b']', "address"),
        Some(b'<') => (b'>', "domain"),
        Some(_) => return Err(false),
    };
    let e = m
        .iter()
        .take(80)
        .position(|&b| b == close)
        .ok_or(m.len() < 80)?;
    let inner = &m[1..e];
    let ok = match kind {
        "address" => {
            !inner.is_empty()
                && inner
                    .iter()
                    .all(|b| b.is_ascii_hexdigit() || matches!(b, b'.' | b':'))
        }
        _ => {
            !inner.is_empty()
                && inner
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
        }
    };
    if !ok {
        return Err(false);
    }
    Ok(format!(
        "Megaco text message {}/{}, mId {}",
        if tok == 1 { "!" } else { "MEGACO" },
        printable(ver, 2),
        printable(m.get(..=e).unwrap_or(m), 60)
    ))
}

impl Protocol for Megaco {
    fn name(&self) -> &'static str {
        "Megaco"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[2944, 2945]
    }
    // H.248.1 Annex B: "megacoMessage = LWSP [authenticationHeader SEP]
    // message", "MegacopToken = MEGACO / !" and the "AU=" /
    // "Authentication=" header (ABNF: any case), after white space
    // (HT, LF, FF, CR, SP); Annex A: the BER SEQUENCE 0x30; Annex H.2:
    // over TCP, TPKT version 3.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[
            b'\t', b'\n', 0x0c, b'\r', b' ', b'!', 0x30, b'A', b'a', b'M', b'm', 0x03,
        ])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let tcp = input.transport == Transport::Tcp;
        let mut d = input.data;
        if tcp {
            // H.248.1 Annex H.2: over TCP every message is framed by TPKT
            // (RFC 1006: version 3, reserved 0, 16-bit length).
            match (d.first(), d.get(1)) {
                (None, _) | (Some(3), None) => return Probe::NeedMore,
                (Some(3), Some(0)) => d = d.get(4..).unwrap_or(&[]),
                _ => {}
            }
        }
        match d.first() {
            None => return if tcp { Probe::NeedMore } else { Probe::NoMatch },
            // A stream needs the header fields before deciding.
            Some(0x30) if tcp && d.len() < 16 => return Probe::NeedMore,
            Some(0x30) => {
                return match binary(d, !tcp) {
                    Some(ev) => Probe::Match(Match::new(ev)),
                    None => Probe::NoMatch,
                };
            }
            _ => {}
        }
        match text(d) {
            Ok(ev) => Probe::Match(Match::new(ev)),
            Err(true) if tcp => Probe::NeedMore,
            Err(_) => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const UDP: Transport = Transport::Udp;
    const TCP: Transport = Transport::Tcp;

    // RFC 3525 Appendix A.1.1 (ServiceChange from the MG).
    const SC: &[u8] = b"MEGACO/1 [124.124.124.222]:55555\nTransaction = 9998 {\n   Context = - {\n      ServiceChange = ROOT {Services {\n         Method=Restart,\n         ServiceChangeAddress=55555, Profile=ResGW/1}\n      }\n   }\n}\n";
    // The same reply in compact form (H.248.1 Annex B short tokens).
    const COMPACT: &[u8] = b"!/1 <mgc.example.net>\nP=9998{C=-{SC=ROOT{SV{SC=2944}}}}";

    #[test]
    fn text_messages() {
        assert_eq!(
            evidence(probe1(&Megaco, UDP, C, SC)),
            "Megaco text message MEGACO/1, mId [124.124.124.222]"
        );
        assert_eq!(
            evidence(probe1(&Megaco, UDP, S, COMPACT)),
            "Megaco text message !/1, mId <mgc.example.net>"
        );
        let au = b"AU=0x12345678:0x1:0xabcdef0123456789abcdef01 MEGACO/1 [10.0.0.1]\nT=1{}";
        assert!(is_match(&probe1(&Megaco, UDP, C, au)));
        check_prefixes(&Megaco, TCP, C, SC, b"");
        // Over TCP, in TPKT.
        let mut t = vec![3, 0];
        t.extend_from_slice(&((SC.len() + 4) as u16).to_be_bytes());
        t.extend_from_slice(SC);
        assert!(is_match(&probe1(&Megaco, TCP, C, &t)));
        check_prefixes(&Megaco, TCP, C, &t, b"");
    }

    #[test]
    fn binary_message() {
        // MegacoMessage { mess { version 1, mId ip4Address [0]
        // { address 10.0.0.1 }, messageBody ... } }, lengths from the inside.
        let mid = [0xa1, 0x08, 0xa0, 0x06, 0x80, 0x04, 10, 0, 0, 1];
        let body = [0xa2, 0x02, 0x05, 0x00];
        let mut mess = vec![0x80, 0x01, 0x01];
        mess.extend_from_slice(&mid);
        mess.extend_from_slice(&body);
        let mut m = vec![0xa1, mess.len() as u8];
        m.extend_from_slice(&mess);
        let mut pdu = vec![0x30, m.len() as u8];
        pdu.extend_from_slice(&m);
        assert_eq!(
            evidence(probe1(&Megaco, UDP, C, &pdu)),
            "H.248 binary (BER) message, version 1"
        );
        let mut bad = pdu.clone();
        bad.push(0);
        assert_eq!(probe1(&Megaco, UDP, C, &bad), Probe::NoMatch);
    }

    #[test]
    fn first_bytes_declared() {
        use crate::testkit::first_bytes_hold;
        first_bytes_hold(&Megaco, &input(UDP, C, SC, &[], 0));
        first_bytes_hold(&Megaco, &input(UDP, S, COMPACT, &[], 0));
        let au = b"AU=0x12345678:0x1:0xabcdef0123456789abcdef01 MEGACO/1 [10.0.0.1]\nT=1{}";
        first_bytes_hold(&Megaco, &input(UDP, C, au, &[], 0));
        let lwsp = [&b"\r\n "[..], SC].concat();
        first_bytes_hold(&Megaco, &input(UDP, C, &lwsp, &[], 0));
        let mut t = vec![3, 0];
        t.extend_from_slice(&((SC.len() + 4) as u16).to_be_bytes());
        t.extend_from_slice(SC);
        first_bytes_hold(&Megaco, &input(TCP, C, &t, &[], 0));
        first_bytes_hold(&Megaco, &input(TCP, C, &SC[..3], &[], 0));
    }

    #[test]
    fn not_megaco() {
        for d in [
            &b"MEGACO/1 hello"[..],
            b"!/1 [zz]",
            b"MEGACOX/1 [1.2.3.4]",
            b"!/123 [1.2.3.4]",
        ] {
            assert!(!is_match(&probe1(&Megaco, UDP, C, d)), "{d:?}");
        }
    }

    #[test]
    fn random_foreign() {
        assert_random_flows_rejected(&Megaco, UDP, 2944);
        assert_random_flows_rejected(&Megaco, TCP, 2944);
        foreign_never_match(&Megaco, TCP);
        assert_foreign_rejected(&Megaco, "megaco");
    }
}
