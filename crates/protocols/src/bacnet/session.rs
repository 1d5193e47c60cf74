//! The BACnet parser: one "bacnet" record per BACnet/IP datagram.

use netsift_proto::{Direction, Parser, Record, Sink};

use super::record::BacnetRecord;
use super::{confirmed_service, unconfirmed_service};

/// At most this many records per flow.
const MAX_RECORDS: usize = 10_000;

/// Per-flow BACnet/IP parser.
#[derive(Default)]
pub struct BacnetParser {
    written: usize,
}

impl BacnetParser {
    pub fn new() -> Self {
        Self::default()
    }
}

fn bvlc_name(f: u8) -> Option<&'static str> {
    Some(match f {
        0x00 => "BVLC-Result",
        0x01 => "Write-Broadcast-Distribution-Table",
        0x02 => "Read-Broadcast-Distribution-Table",
        0x03 => "Read-Broadcast-Distribution-Table-Ack",
        0x04 => "Forwarded-NPDU",
        0x05 => "Register-Foreign-Device",
        0x06 => "Read-Foreign-Device-Table",
        0x07 => "Read-Foreign-Device-Table-Ack",
        0x08 => "Delete-Foreign-Device-Table-Entry",
        0x09 => "Distribute-Broadcast-To-Network",
        0x0a => "Original-Unicast-NPDU",
        0x0b => "Original-Broadcast-NPDU",
        0x0c => "Secure-BVLL",
        _ => return None,
    })
}

/// Fill the NPDU/APDU fields of `r` from the NPDU at the start of `n`.
fn npdu(n: &[u8], r: &mut BacnetRecord) -> Option<()> {
    if *n.first()? != 0x01 {
        return None;
    }
    let ctl = *n.get(1)?;
    let mut p = 2;
    let has_dnet = ctl & 0x20 != 0;
    if has_dnet {
        p += 3 + usize::from(*n.get(p + 2)?);
    }
    if ctl & 0x08 != 0 {
        p += 3 + usize::from(*n.get(p + 2)?);
    }
    if has_dnet {
        p += 1;
    }
    if ctl & 0x80 != 0 {
        r.network_message = Some(*n.get(p)?);
        return Some(());
    }
    let a = n.get(p..)?;
    let t = *a.first()?;
    let seg = t & 0x08 != 0;
    let (ty, svc_at, inv_at, confirmed) = match t >> 4 {
        0 => (
            "Confirmed-REQ",
            Some(if seg { 5 } else { 3 }),
            Some(2),
            true,
        ),
        1 => ("Unconfirmed-REQ", Some(1), None, false),
        2 => ("SimpleACK", Some(2), Some(1), true),
        3 => ("ComplexACK", Some(if seg { 4 } else { 2 }), Some(1), true),
        4 => ("SegmentACK", None, Some(1), true),
        5 => ("Error", Some(2), Some(1), true),
        6 => ("Reject", None, Some(1), true),
        7 => ("Abort", None, Some(1), true),
        _ => return None,
    };
    r.apdu_type = Some(ty);
    r.segmented = seg && matches!(t >> 4, 0 | 3);
    r.invoke_id = inv_at.and_then(|i| a.get(i).copied());
    if let Some(&s) = svc_at.and_then(|i| a.get(i)) {
        r.service_choice = Some(s);
        r.service = if confirmed {
            confirmed_service(s)
        } else {
            unconfirmed_service(s)
        };
    }
    Some(())
}

impl Parser for BacnetParser {
    fn on_data(&mut self, dir: Direction, d: &[u8], sink: &mut dyn Sink) {
        if self.written >= MAX_RECORDS || d.len() < 4 || d[0] != 0x81 {
            return;
        }
        let Some(bvlc) = bvlc_name(d[1]) else { return };
        let mut r = BacnetRecord {
            from: if dir == Direction::ToServer {
                "client"
            } else {
                "server"
            },
            bvlc,
            ..Default::default()
        };
        let at = match d[1] {
            0x04 => Some(10),
            0x09..=0x0b => Some(4),
            _ => None,
        };
        if let Some(n) = at.and_then(|a| d.get(a..)) {
            let _ = npdu(n, &mut r);
        }
        sink.record("bacnet", Record::typed(r));
        self.written += 1;
    }
}
