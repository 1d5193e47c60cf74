//! IEC 62056 DLMS/COSEM (electricity metering data exchange), over TCP/UDP
//! (port 4059) either in the HDLC frames of IEC 62056-46 or behind the
//! wrapper of IEC 62056-47 (IEC 62056-9-7 in the newer numbering).
//!
//! HDLC (IEC 62056-46 §6.4, ISO/IEC 13239 frame format type 3): flag 0x7E;
//! frame format field (16 bits: format type 0b1010, segmentation bit,
//! 11-bit frame length counting every octet between the flags); destination
//! and source addresses (1, 2 or 4 octets each, the last octet has bit 0
//! set); control field (I, RR, RNR, SNRM 0x83, DISC 0x43, UA 0x63, DM 0x0F,
//! FRMR 0x87, UI 0x03, with the P/F bit 0x10); HCS (2 octets, when an
//! information field follows); information; FCS (2 octets); flag. HCS and
//! FCS are the CRC-16 of ISO/IEC 13239 (RFC 1662 FCS-16: polynomial 0x1021
//! reflected, initial 0xFFFF, complemented, low octet first). The FCS makes
//! one complete frame conclusive.
//!
//! Wrapper (IEC 62056-47 §5.3): version (16 bits, 0x0001), source wPort,
//! destination wPort, length (16 bits, octets of the APDU that follows);
//! the APDU starts with an xDLMS / ACSE tag (0x60 AARQ, 0x61 AARE, 0x62
//! RLRQ, 0x63 RLRE, 0xC0-0xC7 get/set/action/event, 0xC8-0xDF ciphered,
//! 0x0F data-notification, 0x01 initiate-request, 0x08 initiate-response,
//! 0x0E confirmed-service-error, 0xD8 exception-response). Claimed when the
//! length fills the datagram / the stream or is followed by another
//! wrapper header.

use netsift_proto::bytes::be16;
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// IEC 62056 DLMS/COSEM.
pub struct Iec62056;

impl Protocol for Iec62056 {
    fn name(&self) -> &'static str {
        "IEC62056"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp, Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[4059]
    }
    // IEC 62056-46 §6.4: an HDLC frame opens with the flag 0x7E; IEC
    // 62056-47 §5.3: the wrapper opens with "version (16 bits, 0x0001)".
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x7e, 0x00])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let tcp = match input.transport {
            Transport::Tcp => true,
            Transport::Udp => false,
            Transport::Ip(_) => return Probe::NoMatch,
        };
        let d = input.data;
        let r = match d.first() {
            None => return Probe::NeedMore,
            Some(0x7e) => hdlc(d),
            Some(0x00) => wrapper(d, tcp),
            Some(_) => return Probe::NoMatch,
        };
        match r {
            Some(Some(ev)) => Probe::Match(Match::new(ev)),
            Some(None) if tcp => Probe::NeedMore,
            _ => Probe::NoMatch,
        }
    }
}

/// RFC 1662 FCS-16.
fn fcs16(d: &[u8]) -> u16 {
    let mut crc: u16 = 0xffff;
    for &b in d {
        crc ^= u16::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x8408
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// An HDLC address field at `p`: its length (1, 2 or 4 octets).
fn addr_len(d: &[u8], p: usize) -> Option<usize> {
    (0..4)
        .find(|&i| d.get(p + i).is_some_and(|&b| b & 1 == 1))
        .map(|i| i + 1)
        .filter(|&n| n != 3)
}

/// One HDLC frame: None = not DLMS, Some(None) = need more.
fn hdlc(d: &[u8]) -> Option<Option<String>> {
    if d.get(1).is_some_and(|&f| f >> 4 != 0xa) {
        return None;
    }
    let Some(ff) = be16(d, 1) else {
        return Some(None);
    };
    let len = usize::from(ff & 0x07ff);
    if len < 7 {
        return None;
    }
    let Some(frame) = d.get(1..1 + len) else {
        return Some(None);
    };
    if d.get(1 + len).is_some_and(|&f| f != 0x7e) {
        return None;
    }
    let fcs = u16::from_le_bytes([frame[len - 2], frame[len - 1]]);
    if fcs16(&frame[..len - 2]) != fcs {
        return None;
    }
    let da = addr_len(frame, 2)?;
    let sa = addr_len(frame, 2 + da)?;
    let ctl = *frame.get(2 + da + sa)?;
    let kind = if ctl & 1 == 0 {
        "I-frame"
    } else {
        match ctl & !0x10 {
            0x83 => "SNRM",
            0x43 => "DISC",
            0x63 => "UA",
            0x0f => "DM",
            0x87 => "FRMR",
            0x03 => "UI",
            c if c & 0x0f == 0x01 => "RR",
            c if c & 0x0f == 0x05 => "RNR",
            _ => return None,
        }
    };
    // An information field needs its HCS after the control field.
    let hdr = 2 + da + sa + 1;
    let info = len > hdr + 2;
    if info {
        let hcs = u16::from_le_bytes([*frame.get(hdr)?, *frame.get(hdr + 1)?]);
        if fcs16(&frame[..hdr]) != hcs {
            return None;
        }
    }
    let apdu = if info {
        // LLC header E6 E6 00 (command) / E6 E7 00 (response), then APDU.
        match frame.get(hdr + 2..hdr + 6) {
            Some([0xe6, 0xe6 | 0xe7, 0x00, t]) => apdu_name(*t).map(|n| format!(", {n}")),
            _ => None,
        }
    } else {
        None
    };
    Some(Some(format!(
        "DLMS/COSEM HDLC {kind} frame, FCS ok{}",
        apdu.unwrap_or_default()
    )))
}

fn apdu_name(t: u8) -> Option<&'static str> {
    Some(match t {
        0x60 => "AARQ",
        0x61 => "AARE",
        0x62 => "RLRQ",
        0x63 => "RLRE",
        0x01 => "initiate-request",
        0x08 => "initiate-response",
        0x0e => "confirmed-service-error",
        0x0f => "data-notification",
        0xc0 => "get-request",
        0xc1 => "set-request",
        0xc2 => "event-notification-request",
        0xc3 => "action-request",
        0xc4 => "get-response",
        0xc5 => "set-response",
        0xc7 => "action-response",
        0xd8 => "exception-response",
        0xc8..=0xdf => "ciphered APDU",
        _ => return None,
    })
}

/// IEC 62056-47 wrapper: version 1, wPorts, length, APDU.
fn wrapper(d: &[u8], tcp: bool) -> Option<Option<String>> {
    if d.get(1).is_some_and(|&v| v != 1) {
        return None;
    }
    let Some(len) = be16(d, 6) else {
        return Some(None);
    };
    let len = usize::from(len);
    if len == 0 {
        return None;
    }
    let Some(&tag) = d.get(8) else {
        return Some(None);
    };
    let name = apdu_name(tag)?;
    let end = 8 + len;
    if !tcp && d.len() != end {
        return None;
    }
    if d.len() < end {
        return Some(None);
    }
    // Another wrapper header may follow.
    if d.get(end).is_some_and(|&b| b != 0) || d.get(end + 1).is_some_and(|&b| b != 1) {
        return None;
    }
    let src = be16(d, 2)?;
    let dst = be16(d, 4)?;
    Some(Some(format!(
        "DLMS/COSEM wrapper v1, wPort {src} -> {dst}, {name}"
    )))
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
    const SNRM: &[u8] = include_bytes!("testdata/hdlc_snrm.bin");
    const UA: &[u8] = include_bytes!("testdata/hdlc_ua.bin");
    const AARQ: &[u8] = include_bytes!("testdata/hdlc_aarq.bin");
    const GET: &[u8] = include_bytes!("testdata/hdlc_get_request.bin");
    const UDP_SNRM: &[u8] = include_bytes!("testdata/udp_snrm.bin");

    #[test]
    fn corpus_hdlc_frames() {
        assert_eq!(
            evidence(probe1(&Iec62056, TCP, C, SNRM)),
            "DLMS/COSEM HDLC SNRM frame, FCS ok"
        );
        assert_eq!(
            evidence(probe1(&Iec62056, TCP, S, UA)),
            "DLMS/COSEM HDLC UA frame, FCS ok"
        );
        assert_eq!(
            evidence(probe1(&Iec62056, TCP, C, GET)),
            "DLMS/COSEM HDLC I-frame frame, FCS ok, get-request"
        );
        // dlms.pcap frame 8 (the AARQ) carries a wrong FCS (0xe4c5 where
        // the frame's bytes give 0xe870; its HCS is right): the capture was
        // edited. The flow is still named from its SNRM, which comes first.
        assert_eq!(probe1(&Iec62056, TCP, C, AARQ), Probe::NoMatch);
        assert_eq!(
            evidence(probe1(&Iec62056, UDP, C, UDP_SNRM)),
            "DLMS/COSEM HDLC SNRM frame, FCS ok"
        );
        let s = [SNRM, GET].concat();
        check_prefixes(&Iec62056, TCP, C, &s, b"");
        let mut bad = GET.to_vec();
        bad[20] ^= 1;
        assert_eq!(probe1(&Iec62056, TCP, C, &bad), Probe::NoMatch);
    }

    #[test]
    fn wrapper_from_spec() {
        // Version 0001, source wPort 16 (public client), destination wPort
        // 1 (management logical device), length 13, then a get-request
        // normal: C0 01 invoke-id 0xC1, class 8 (clock), OBIS 0.0.1.0.0.255,
        // attribute 2, no selective access.
        let w = [
            0x00, 0x01, 0x00, 0x10, 0x00, 0x01, 0x00, 0x0d, 0xc0, 0x01, 0xc1, 0x00, 0x08, 0x00,
            0x00, 0x01, 0x00, 0x00, 0xff, 0x02, 0x00,
        ];
        assert_eq!(
            evidence(probe1(&Iec62056, UDP, C, &w)),
            "DLMS/COSEM wrapper v1, wPort 16 -> 1, get-request"
        );
        check_prefixes(&Iec62056, TCP, C, &w, b"");
        assert_eq!(probe1(&Iec62056, UDP, C, &w[..w.len() - 1]), Probe::NoMatch);
    }

    #[test]
    fn first_bytes_declared() {
        use crate::testkit::first_bytes_hold;
        use crate::testkit::input;
        first_bytes_hold(&Iec62056, &input(UDP, C, UDP_SNRM, &[], 0));
        first_bytes_hold(&Iec62056, &input(TCP, C, SNRM, &[], 0));
        first_bytes_hold(&Iec62056, &input(TCP, S, UA, &[], 0));
        first_bytes_hold(&Iec62056, &input(TCP, C, GET, &[], 0));
        let w = [
            0x00, 0x01, 0x00, 0x10, 0x00, 0x01, 0x00, 0x0d, 0xc0, 0x01, 0xc1, 0x00, 0x08, 0x00,
            0x00, 0x01, 0x00, 0x00, 0xff, 0x02, 0x00,
        ];
        first_bytes_hold(&Iec62056, &input(UDP, C, &w, &[], 0));
    }

    #[test]
    fn foreign_and_random() {
        foreign_never_match(&Iec62056, TCP);
        assert_foreign_rejected(&Iec62056, "dlms");
        assert_random_flows_rejected(&Iec62056, UDP, 4059);
        assert_random_flows_rejected(&Iec62056, TCP, 4059);
    }
}
