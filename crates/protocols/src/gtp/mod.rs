//! GTP, the GPRS Tunnelling Protocol: GTPv1-C (3GPP TS 29.060, UDP 2123),
//! GTPv2-C (TS 29.274, UDP 2123), GTP-U (TS 29.281, UDP 2152) and GTP'
//! (charging, TS 32.295, UDP 3386). nDPI reports `GTP` with the variant as
//! application (`GTP_C`, `GTP_U`, `GTP_PRIME`); so does this probe.
//!
//! * GTPv1 (TS 29.060 §6, TS 29.281 §5.1): flags octet Version (3 bits, 1),
//!   PT (1 = GTP), a spare bit (0), E, S, PN; Message Type; Length "the
//!   length in octets of the payload, i.e. the rest of the packet following
//!   the mandatory part of the GTP header (that is the first 8 octets)";
//!   TEID; if any of E/S/PN the 4-octet sequence / N-PDU / next extension
//!   header type. GTP-U carries G-PDUs (255), Echo (1, 2), Error Indication
//!   (26), Supported Extension Headers Notification (31), End Marker (254);
//!   the other types are GTP-C.
//! * GTPv2-C (TS 29.274 §5.1): Version (3 bits, 2), P, T (TEID present),
//!   MP, spare; Message Type; Length "excluding the first 4 octets"; TEID
//!   if T; Sequence Number (3) and a spare octet. Then IEs: Type (1),
//!   Length (2), spare/Instance (1), value (§8.2.1), filling the message.
//! * GTP' (TS 32.295 §6.1): Version (3 bits, 0-2), PT = 0, spare bits
//!   `111`, header-length bit; types 1/2 Echo, 3 Version Not Supported,
//!   4/5 Node Alive, 6/7 Redirection, 240/241 Data Record Transfer; Length
//!   of the payload after the 6-octet header (20 octets for version 0 with
//!   the header-length bit clear).

use netsift_proto::bytes::{be16, u8_at};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// GTP.
pub struct Gtp;

fn v2_name(t: u8) -> Option<&'static str> {
    Some(match t {
        1 => "Echo Request",
        2 => "Echo Response",
        3 => "Version Not Supported",
        32 => "Create Session Request",
        33 => "Create Session Response",
        34 => "Modify Bearer Request",
        35 => "Modify Bearer Response",
        36 => "Delete Session Request",
        37 => "Delete Session Response",
        38 => "Change Notification Request",
        39 => "Change Notification Response",
        64..=73 => "command",
        95 => "Create Bearer Request",
        96 => "Create Bearer Response",
        97 => "Update Bearer Request",
        98 => "Update Bearer Response",
        99 => "Delete Bearer Request",
        100 => "Delete Bearer Response",
        101..=149 => "mobility/session message",
        162 => "Suspend Notification",
        163 => "Suspend Acknowledge",
        170 => "Release Access Bearers Request",
        171 => "Release Access Bearers Response",
        176 => "Downlink Data Notification",
        177 => "Downlink Data Notification Acknowledge",
        150..=255 => "message",
        _ => return None,
    })
}

fn v1c_name(t: u8) -> Option<&'static str> {
    Some(match t {
        1 => "Echo Request",
        2 => "Echo Response",
        3 => "Version Not Supported",
        16 => "Create PDP Context Request",
        17 => "Create PDP Context Response",
        18 => "Update PDP Context Request",
        19 => "Update PDP Context Response",
        20 => "Delete PDP Context Request",
        21 => "Delete PDP Context Response",
        4..=15 | 22..=25 | 27..=30 | 32..=63 | 96..=97 | 112..=131 | 240..=241 => "message",
        _ => return None,
    })
}

fn v2c(d: &[u8], f: u8, t: u8, len: usize) -> Option<String> {
    // Spare bits zero; Length excludes the first 4 octets.
    if f & 0x07 != 0 || len + 4 != d.len() {
        return None;
    }
    let name = v2_name(t)?;
    let mut o = if f & 0x08 != 0 { 12 } else { 8 };
    let mut n = 0;
    while o < d.len() {
        let l = usize::from(be16(d, o + 1)?);
        // IE type 0 is reserved.
        if u8_at(d, o)? == 0 {
            return None;
        }
        o += 4 + l;
        n += 1;
        if n > 64 {
            break;
        }
    }
    if o != d.len() && n <= 64 {
        return None;
    }
    // Echo carries the Recovery IE only; other messages need IEs.
    if n == 0 && t != 1 && t != 2 {
        return None;
    }
    Some(format!("GTPv2-C {name}, {n} IEs"))
}

fn v1(d: &[u8], f: u8, t: u8, len: usize) -> Option<(String, &'static str)> {
    // PT = 1, spare bit 0; Length excludes the first 8 octets.
    if f & 0x18 != 0x10 || len + 8 != d.len() {
        return None;
    }
    let opt = f & 0x07 != 0;
    if opt && len < 4 {
        return None;
    }
    match t {
        255 => Some(("GTP-U G-PDU".into(), "GTP_U")),
        254 => Some(("GTP-U End Marker".into(), "GTP_U")),
        26 => Some(("GTP-U Error Indication".into(), "GTP_U")),
        31 => Some((
            "GTP-U Supported Extension Headers Notification".into(),
            "GTP_U",
        )),
        _ => {
            let name = v1c_name(t)?;
            Some((format!("GTPv1-C {name}"), "GTP_C"))
        }
    }
}

fn prime(d: &[u8], f: u8, t: u8, len: usize) -> Option<String> {
    // PT = 0, spare bits 111.
    if f & 0x1e != 0x0e {
        return None;
    }
    let name = match t {
        1 => "Echo Request",
        2 => "Echo Response",
        3 => "Version Not Supported",
        4 => "Node Alive Request",
        5 => "Node Alive Response",
        6 => "Redirection Request",
        7 => "Redirection Response",
        240 => "Data Record Transfer Request",
        241 => "Data Record Transfer Response",
        _ => return None,
    };
    let hdr = if f >> 5 == 0 && f & 1 == 0 { 20 } else { 6 };
    (len + hdr == d.len()).then(|| format!("GTP' {name}"))
}

impl Protocol for Gtp {
    fn name(&self) -> &'static str {
        "GTP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[2123, 2152, 3386]
    }
    // The first octet is the flags octet: TS 29.060 §6 / TS 29.281 §5.1
    // "Version ... 1", PT 1, spare 0 (0x30-0x37); TS 29.274 §5.1 Version 2,
    // spare bits 0 (0x40, 0x48, 0x50, 0x58); TS 32.295 §6.1 GTP' version
    // 0-2, PT 0, spare "111" (0x0E/0x0F, 0x2E/0x2F, 0x4E/0x4F).
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::range(0x30, 0x37).or(FirstBytes::only(&[
            0x40, 0x48, 0x50, 0x58, 0x0e, 0x0f, 0x2e, 0x2f, 0x4e, 0x4f,
        ]))
    }
    fn probe(&self, input: &ProbeInput<'_>, _s: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let (Some(f), Some(t), Some(len)) = (u8_at(d, 0), u8_at(d, 1), be16(d, 2)) else {
            return Probe::NoMatch;
        };
        let len = usize::from(len);
        let r = match f >> 5 {
            2 => v2c(d, f, t, len)
                .map(|e| (e, "GTP_C"))
                .or_else(|| prime(d, f, t, len).map(|e| (e, "GTP_PRIME"))),
            1 => v1(d, f, t, len)
                .map(|(e, app)| {
                    // The Echo pair is GTP-U on the GTP-U port (TS 29.281
                    // §7.2): only a label choice, the structure matched.
                    if (t == 1 || t == 2) && input.either_port(2152) {
                        (e.replace("GTPv1-C", "GTP-U"), "GTP_U")
                    } else {
                        (e, app)
                    }
                })
                .or_else(|| prime(d, f, t, len).map(|e| (e, "GTP_PRIME"))),
            0 => prime(d, f, t, len).map(|e| (e, "GTP_PRIME")),
            _ => None,
        };
        match r {
            Some((ev, app)) => Probe::Match(Match::new(ev).with_app(app)),
            None => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, evidence, probe1, C, S,
    };

    const UDP: Transport = Transport::Udp;
    // Sources: testdata/README.md.
    const CSR: &[u8] = include_bytes!("testdata/v2_create_session_request.bin");
    const CSRESP: &[u8] = include_bytes!("testdata/v2_create_session_response.bin");

    #[test]
    fn gtpv2_c() {
        assert!(evidence(probe1(&Gtp, UDP, C, CSR)).starts_with("GTPv2-C Create Session Request"));
        assert!(
            evidence(probe1(&Gtp, UDP, S, CSRESP)).starts_with("GTPv2-C Create Session Response")
        );
        match probe1(&Gtp, UDP, C, CSR) {
            Probe::Match(m) => assert_eq!(m.app.as_deref(), Some("GTP_C")),
            o => panic!("{o:?}"),
        }
        for i in 0..CSR.len() {
            assert_eq!(probe1(&Gtp, UDP, C, &CSR[..i]), Probe::NoMatch);
        }
    }

    #[test]
    fn gtpv1_and_prime_built() {
        // GTPv1-U G-PDU (TS 29.281 §5.1): flags 0x30, type 255, length 4,
        // TEID, then 4 octets of user data.
        let gpdu = [0x30, 255, 0, 4, 0, 0, 0, 1, 0x45, 0, 0, 20];
        assert_eq!(evidence(probe1(&Gtp, UDP, C, &gpdu)), "GTP-U G-PDU");
        // GTPv1-C Echo Request with the sequence number (S = 1): flags
        // 0x32, length 4 (sequence 2, N-PDU 1, next ext 1).
        let echo = [0x32, 1, 0, 4, 0, 0, 0, 0, 0, 7, 0, 0];
        assert_eq!(
            evidence(probe1(&Gtp, UDP, C, &echo)),
            "GTPv1-C Echo Request"
        );
        // GTP' Node Alive Request, version 2, 6-octet header (0x4e).
        let prime = [0x4e, 4, 0, 2, 0, 9, 0, 0];
        assert_eq!(
            evidence(probe1(&Gtp, UDP, C, &prime)),
            "GTP' Node Alive Request"
        );
    }

    #[test]
    fn first_bytes_declared() {
        use crate::testkit::first_bytes_hold;
        use crate::testkit::input;
        first_bytes_hold(&Gtp, &input(UDP, C, CSR, &[], 0));
        first_bytes_hold(&Gtp, &input(UDP, S, CSRESP, &[], 0));
        let gpdu = [0x30, 255, 0, 4, 0, 0, 0, 1, 0x45, 0, 0, 20];
        first_bytes_hold(&Gtp, &input(UDP, C, &gpdu, &[], 0));
        let echo = [0x32, 1, 0, 4, 0, 0, 0, 0, 0, 7, 0, 0];
        first_bytes_hold(&Gtp, &input(UDP, C, &echo, &[], 0));
        let prime = [0x4e, 4, 0, 2, 0, 9, 0, 0];
        first_bytes_hold(&Gtp, &input(UDP, C, &prime, &[], 0));
    }

    #[test]
    fn rejects_random_and_foreign() {
        assert_random_flows_rejected(&Gtp, UDP, 2123);
        assert_foreign_rejected(&Gtp, "gtp");
    }
}
