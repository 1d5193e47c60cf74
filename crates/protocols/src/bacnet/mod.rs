//! BACnet/IP (ANSI/ASHRAE 135 Annex J, UDP 47808), identified from the
//! BVLC header, the NPDU and the APDU it carries.
//!
//! ASHRAE 135-2020 §J.2: BVLC header: type 0x81 (BACnet/IP), function
//! (0x00 BVLC-Result, 0x01 Write-BDT, 0x02 Read-BDT, 0x03 Read-BDT-Ack,
//! 0x04 Forwarded-NPDU (6 octets of B/IP address first), 0x05 Register-
//! Foreign-Device, 0x06 Read-FDT, 0x07 Read-FDT-Ack, 0x08 Delete-FDT-Entry,
//! 0x09 Distribute-Broadcast-To-Network, 0x0A Original-Unicast-NPDU, 0x0B
//! Original-Broadcast-NPDU, 0x0C Secure-BVLL), BVLC length (16 bits, the
//! whole datagram). §6.2: NPDU: protocol version 0x01, NPCI control octet
//! (bit 7 network layer message, bit 5 DNET present, bit 3 SNET present,
//! bit 2 expecting reply, bits 6 and 4 reserved = 0), optional DNET/DLEN/
//! DADR, SNET/SLEN/SADR, hop count (with DNET), message type (network
//! layer messages). §20.1: APDU type in the high nibble (0 Confirmed-
//! Request, 1 Unconfirmed-Request, 2 SimpleACK, 3 ComplexACK, 4 SegmentACK,
//! 5 Error, 6 Reject, 7 Abort) with the service choice (§21) named in the
//! evidence.
//!
//! BVLC type + function + length equal to the datagram + NPDU version is a
//! ~30-bit signature, conclusive on one datagram.

mod record;
mod session;

use netsift_proto::bytes::be16;
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// BACnet/IP.
pub struct Bacnet;

impl Protocol for Bacnet {
    fn name(&self) -> &'static str {
        "BACnet"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[47808]
    }
    // ASHRAE 135-2020 §J.2: "BVLC header: type 0x81 (BACnet/IP)" (module
    // doc); `parse` requires `d[0] == 0x81`.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x81])
    }
    fn parser(&self) -> Option<Box<dyn netsift_proto::Parser>> {
        Some(Box::new(session::BacnetParser::new()))
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Udp {
            return Probe::NoMatch;
        }
        match parse(input.data) {
            Some(ev) => Probe::Match(Match::new(ev)),
            None => Probe::NoMatch,
        }
    }
}

/// The evidence for one BVLL datagram, `None` when it is not BACnet/IP.
pub(crate) fn parse(d: &[u8]) -> Option<String> {
    if d.len() < 4 || d[0] != 0x81 || be16(d, 2)? as usize != d.len() {
        return None;
    }
    let f = d[1];
    let npdu_at = match f {
        0x00 => {
            // BVLC-Result: a 2-octet result code (0x0000 success, 0x0010,
            // 0x0020, 0x0030, 0x0040, 0x0050, 0x0060 NAKs).
            let code = be16(d, 4)?;
            if d.len() != 6 || code & 0x0f != 0 || code > 0x60 {
                return None;
            }
            return Some(format!("BACnet/IP BVLC-Result 0x{code:04x}"));
        }
        0x01..=0x03 | 0x05..=0x08 => {
            let name = match f {
                0x01 => "Write-Broadcast-Distribution-Table",
                0x02 => "Read-Broadcast-Distribution-Table",
                0x03 => "Read-Broadcast-Distribution-Table-Ack",
                0x05 => "Register-Foreign-Device",
                0x06 => "Read-Foreign-Device-Table",
                0x07 => "Read-Foreign-Device-Table-Ack",
                _ => "Delete-Foreign-Device-Table-Entry",
            };
            // Fixed sizes: Read-BDT/Read-FDT 4, Register 6 (TTL),
            // Delete 10; tables are multiples of 10 / 10 octets.
            let ok = match f {
                0x02 | 0x06 => d.len() == 4,
                0x05 => d.len() == 6,
                0x08 => d.len() == 10,
                _ => (d.len() - 4) % 10 == 0,
            };
            return ok.then(|| format!("BACnet/IP BVLC {name}"));
        }
        0x04 => 10,
        0x09..=0x0b => 4,
        _ => return None,
    };
    let n = d.get(npdu_at..)?;
    npdu(n).map(|s| format!("BACnet {s}"))
}

/// NPDU + APDU summary.
fn npdu(n: &[u8]) -> Option<String> {
    if *n.first()? != 0x01 {
        return None;
    }
    let ctl = *n.get(1)?;
    if ctl & 0x50 != 0 {
        return None;
    }
    let mut p = 2;
    let has_dnet = ctl & 0x20 != 0;
    if has_dnet {
        let dlen = usize::from(*n.get(p + 2)?);
        p += 3 + dlen;
    }
    if ctl & 0x08 != 0 {
        let slen = usize::from(*n.get(p + 2)?);
        // SLEN = 0 is invalid (§6.2.2).
        if slen == 0 {
            return None;
        }
        p += 3 + slen;
    }
    if has_dnet {
        p += 1; // hop count
    }
    if ctl & 0x80 != 0 {
        let t = *n.get(p)?;
        let name = match t {
            0x00 => "Who-Is-Router-To-Network",
            0x01 => "I-Am-Router-To-Network",
            0x02 => "I-Could-Be-Router-To-Network",
            0x03 => "Reject-Message-To-Network",
            0x04 => "Router-Busy-To-Network",
            0x05 => "Router-Available-To-Network",
            0x06 => "Initialize-Routing-Table",
            0x07 => "Initialize-Routing-Table-Ack",
            0x08 => "Establish-Connection-To-Network",
            0x09 => "Disconnect-Connection-To-Network",
            0x0a..=0x13 => "network layer message",
            0x80..=0xff => "proprietary network message",
            _ => return None,
        };
        return Some(format!("network layer {name}"));
    }
    apdu(n.get(p..)?)
}

fn apdu(a: &[u8]) -> Option<String> {
    let t = *a.first()?;
    let kind = t >> 4;
    // Service choice offset: Confirmed-Request 3 (or 5 when segmented),
    // Unconfirmed 1, SimpleACK/ComplexACK/Error 2 (ComplexACK segmented 4).
    let (name, svc_at, confirmed) = match kind {
        0 => ("Confirmed-REQ", if t & 0x08 != 0 { 5 } else { 3 }, true),
        1 => ("Unconfirmed-REQ", 1, false),
        2 => ("SimpleACK", 2, true),
        3 => ("ComplexACK", if t & 0x08 != 0 { 4 } else { 2 }, true),
        4 => return Some(format!("SegmentACK invoke {}", a.get(2)?)),
        5 => ("Error", 2, true),
        6 => return Some(format!("Reject invoke {}", a.get(1)?)),
        7 => return Some(format!("Abort invoke {}", a.get(1)?)),
        _ => return None,
    };
    let svc = *a.get(svc_at)?;
    let sname = if confirmed {
        confirmed_service(svc)?
    } else {
        unconfirmed_service(svc)?
    };
    let invoke = if kind == 1 {
        String::new()
    } else {
        format!(" (invoke {})", a.get(if kind == 0 { 2 } else { 1 })?)
    };
    Some(format!("{name} {sname}{invoke}"))
}

/// BACnetConfirmedServiceChoice (§21).
pub(crate) fn confirmed_service(s: u8) -> Option<&'static str> {
    Some(match s {
        0 => "AcknowledgeAlarm",
        1 => "ConfirmedCOVNotification",
        2 => "ConfirmedEventNotification",
        3 => "GetAlarmSummary",
        4 => "GetEnrollmentSummary",
        5 => "SubscribeCOV",
        6 => "AtomicReadFile",
        7 => "AtomicWriteFile",
        8 => "AddListElement",
        9 => "RemoveListElement",
        10 => "CreateObject",
        11 => "DeleteObject",
        12 => "ReadProperty",
        13 => "ReadPropertyConditional",
        14 => "ReadPropertyMultiple",
        15 => "WriteProperty",
        16 => "WritePropertyMultiple",
        17 => "DeviceCommunicationControl",
        18 => "ConfirmedPrivateTransfer",
        19 => "ConfirmedTextMessage",
        20 => "ReinitializeDevice",
        21 => "VT-Open",
        22 => "VT-Close",
        23 => "VT-Data",
        24 => "Authenticate",
        25 => "RequestKey",
        26 => "ReadRange",
        27 => "LifeSafetyOperation",
        28 => "SubscribeCOVProperty",
        29 => "GetEventInformation",
        30 => "SubscribeCOVPropertyMultiple",
        31 => "ConfirmedCOVNotificationMultiple",
        32 => "ConfirmedAuditNotification",
        33 => "AuditLogQuery",
        _ => return None,
    })
}

/// BACnetUnconfirmedServiceChoice (§21).
pub(crate) fn unconfirmed_service(s: u8) -> Option<&'static str> {
    Some(match s {
        0 => "I-Am",
        1 => "I-Have",
        2 => "UnconfirmedCOVNotification",
        3 => "UnconfirmedEventNotification",
        4 => "UnconfirmedPrivateTransfer",
        5 => "UnconfirmedTextMessage",
        6 => "TimeSynchronization",
        7 => "Who-Has",
        8 => "Who-Is",
        9 => "UTCTimeSynchronization",
        10 => "WriteGroup",
        11 => "UnconfirmedCOVNotificationMultiple",
        12 => "UnconfirmedAuditNotification",
        13 => "Who-Am-I",
        14 => "You-Are",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, evidence, input, probe1, C, S,
    };

    const UDP: Transport = Transport::Udp;

    #[test]
    fn spec_datagrams() {
        // Original-Broadcast-NPDU, length 12; NPDU version 1, control 0x20
        // (DNET present): DNET 0xFFFF, DLEN 0, hop count 255; APDU
        // Unconfirmed-REQ (0x10) Who-Is (8).
        let who_is = [
            0x81, 0x0b, 0x00, 0x0c, 0x01, 0x20, 0xff, 0xff, 0x00, 0xff, 0x10, 0x08,
        ];
        assert_eq!(
            evidence(probe1(&Bacnet, UDP, C, &who_is)),
            "BACnet Unconfirmed-REQ Who-Is"
        );
        // Original-Unicast-NPDU; NPDU 01 04 (expecting reply); APDU
        // Confirmed-REQ 0x00, max segs/APDU 0x05, invoke id 1, service 12
        // ReadProperty, object id tag 0c 02000008 (device 8), property tag
        // 19 4d (object-name).
        let rp = [
            0x81, 0x0a, 0x00, 0x11, 0x01, 0x04, 0x00, 0x05, 0x01, 0x0c, 0x0c, 0x02, 0x00, 0x00,
            0x08, 0x19, 0x4d,
        ];
        assert_eq!(
            evidence(probe1(&Bacnet, UDP, C, &rp)),
            "BACnet Confirmed-REQ ReadProperty (invoke 1)"
        );
        // ComplexACK 0x30, invoke 1, service 12.
        let ack = [
            0x81, 0x0a, 0x00, 0x0d, 0x01, 0x00, 0x30, 0x01, 0x0c, 0x0c, 0x02, 0x00, 0x00,
        ];
        assert_eq!(
            evidence(probe1(&Bacnet, UDP, S, &ack)),
            "BACnet ComplexACK ReadProperty (invoke 1)"
        );
        // BVLC-Result success.
        assert_eq!(
            evidence(probe1(&Bacnet, UDP, S, &[0x81, 0, 0, 6, 0, 0])),
            "BACnet/IP BVLC-Result 0x0000"
        );
        // Wrong length, wrong NPDU version.
        assert_eq!(probe1(&Bacnet, UDP, C, &rp[..16]), Probe::NoMatch);
        let mut bad = rp;
        bad[4] = 2;
        assert_eq!(probe1(&Bacnet, UDP, C, &bad), Probe::NoMatch);
    }

    // Sources: testdata/README.md.
    const WHO_IS: &[u8] = include_bytes!("testdata/who_is.bin");
    const I_AM: &[u8] = include_bytes!("testdata/i_am.bin");
    const RP: &[u8] = include_bytes!("testdata/read_property.bin");
    const RP_ACK: &[u8] = include_bytes!("testdata/read_property_ack.bin");

    #[test]
    fn bacpypes3_datagrams() {
        assert_eq!(
            evidence(probe1(&Bacnet, UDP, C, WHO_IS)),
            "BACnet Unconfirmed-REQ Who-Is"
        );
        assert_eq!(
            evidence(probe1(&Bacnet, UDP, S, I_AM)),
            "BACnet Unconfirmed-REQ I-Am"
        );
        assert_eq!(
            evidence(probe1(&Bacnet, UDP, C, RP)),
            "BACnet Confirmed-REQ ReadProperty (invoke 0)"
        );
        assert_eq!(
            evidence(probe1(&Bacnet, UDP, S, RP_ACK)),
            "BACnet ComplexACK ReadProperty (invoke 0)"
        );
    }

    #[test]
    fn first_bytes_declared() {
        for (dir, d) in [(C, WHO_IS), (S, I_AM), (C, RP), (S, RP_ACK)] {
            crate::testkit::first_bytes_hold(&Bacnet, &input(UDP, dir, d, &[], 0));
        }
    }

    #[test]
    fn parser_records() {
        use netsift_proto::{MemSink, Parser};
        let mut p = session::BacnetParser::new();
        let mut sink = MemSink::default();
        for (d, b) in [(C, WHO_IS), (S, I_AM), (C, RP), (S, RP_ACK)] {
            p.on_data(d, b, &mut sink);
        }
        // Not BACnet: ignored.
        p.on_data(C, b"hello", &mut sink);
        p.on_end(&mut sink);
        let r = sink.log("bacnet");
        assert_eq!(r.len(), 4);
        assert_eq!(r[0]["bvlc"], "Original-Unicast-NPDU");
        assert_eq!(r[0]["service"], "Who-Is");
        assert_eq!(r[2]["apdu_type"], "Confirmed-REQ");
        assert_eq!(r[2]["service"], "ReadProperty");
        assert_eq!(r[2]["invoke_id"], 0);
        assert_eq!(r[3]["apdu_type"], "ComplexACK");
        assert_eq!(r[3]["from"], "server");
        for n in 0..RP_ACK.len() {
            p.on_data(S, &RP_ACK[..n], &mut sink);
        }
    }

    #[test]
    fn foreign_and_random() {
        assert_foreign_rejected(&Bacnet, "bacnet");
        assert_random_flows_rejected(&Bacnet, UDP, 47808);
    }
}
