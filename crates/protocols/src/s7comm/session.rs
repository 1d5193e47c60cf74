//! The S7Comm parser: splits each direction's stream into TPKTs (RFC 1006)
//! and writes one "s7comm" record per S7 PDU found in a COTP DT TPDU.

use netsift_proto::bytes::be16;
use netsift_proto::{Direction, Parser, Record, Sink};

use super::record::S7commRecord;
use super::{function_name, group_name};

/// A TPKT is at most 65535 bytes; S7 PDUs are at most 960. Longer buffered
/// data means the stream is not TPKT any more.
const MAX_BUF: usize = 65_535;
/// At most this many records per flow.
const MAX_RECORDS: usize = 10_000;

/// Per-flow S7Comm parser.
#[derive(Default)]
pub struct S7commParser {
    buf: [Vec<u8>; 2],
    lost: [bool; 2],
    tsap: Option<u16>,
    written: usize,
}

impl S7commParser {
    pub fn new() -> Self {
        Self::default()
    }

    fn tpkt(&mut self, dir: Direction, t: &[u8], sink: &mut dyn Sink) {
        let Some(&li) = t.get(4) else { return };
        let Some(&code) = t.get(5) else { return };
        match code >> 4 {
            // CR / CC: remember the called TSAP (parameter 0xC2).
            0xe | 0xd => {
                let end = (5 + usize::from(li)).min(t.len());
                let mut p = 11;
                while p + 2 <= end {
                    let (c, l) = (t[p], usize::from(t[p + 1]));
                    if c == 0xc2 && l == 2 {
                        self.tsap = be16(t, p + 2);
                    }
                    p += 2 + l;
                }
            }
            0xf if li == 2 => {
                if let Some(u) = t.get(7..) {
                    self.pdu(dir, u, sink);
                }
            }
            _ => {}
        }
    }

    fn pdu(&mut self, dir: Direction, u: &[u8], sink: &mut dyn Sink) {
        if u.first() != Some(&0x32) || self.written >= MAX_RECORDS {
            return;
        }
        let Some(&r) = u.get(1) else { return };
        let rosctr = match r {
            1 => "Job",
            2 => "Ack",
            3 => "Ack_Data",
            7 => "Userdata",
            _ => return,
        };
        let hlen = if matches!(r, 2 | 3) { 12 } else { 10 };
        let plen = usize::from(be16(u, 6).unwrap_or(0));
        let param = u.get(hlen..hlen + plen).unwrap_or(&[]);
        let mut rec = S7commRecord {
            from: if dir == Direction::ToServer {
                "client"
            } else {
                "server"
            },
            rosctr,
            pdu_ref: be16(u, 4).unwrap_or(0),
            called_tsap: self.tsap,
            ..Default::default()
        };
        if matches!(r, 2 | 3) {
            rec.error = be16(u, 10);
        }
        match r {
            1 | 3 => {
                if let Some(&f) = param.first() {
                    rec.code = Some(f);
                    rec.function = Some(
                        function_name(f)
                            .map(str::to_string)
                            .unwrap_or_else(|| format!("0x{f:02x}")),
                    );
                    match f {
                        0x04 | 0x05 => rec.items = param.get(1).copied(),
                        0xf0 => rec.pdu_size = be16(param, 6),
                        _ => {}
                    }
                }
            }
            7 => {
                if let (Some(&tg), Some(&sub)) = (param.get(5), param.get(6)) {
                    rec.function = Some(group_name(tg & 0x0f).to_string());
                    rec.code = Some(sub);
                    rec.userdata_type = match tg >> 4 {
                        0 => Some("push"),
                        4 => Some("request"),
                        8 => Some("response"),
                        _ => None,
                    };
                }
            }
            _ => {}
        }
        sink.record("s7comm", Record::typed(rec));
        self.written += 1;
    }
}

impl Parser for S7commParser {
    fn on_data(&mut self, dir: Direction, data: &[u8], sink: &mut dyn Sink) {
        let di = usize::from(dir == Direction::ToClient);
        if self.lost[di] {
            return;
        }
        self.buf[di].extend_from_slice(data);
        loop {
            let b = &self.buf[di];
            if b.len() < 4 {
                break;
            }
            let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
            if b[0] != 3 || b[1] != 0 || len < 7 {
                // Not TPKT framing any more: stop parsing this direction.
                self.lost[di] = true;
                self.buf[di] = Vec::new();
                return;
            }
            if b.len() < len {
                break;
            }
            let t: Vec<u8> = self.buf[di].drain(..len).collect();
            self.tpkt(dir, &t, sink);
        }
        if self.buf[di].len() > MAX_BUF {
            self.lost[di] = true;
            self.buf[di] = Vec::new();
        } else if self.buf[di].is_empty() {
            // Hold no capacity between TPKTs.
            self.buf[di] = Vec::new();
        }
    }

    fn on_gap(&mut self, dir: Direction, _len: u64, _sink: &mut dyn Sink) {
        // Framing is lost after a hole.
        let di = usize::from(dir == Direction::ToClient);
        self.lost[di] = true;
        self.buf[di] = Vec::new();
    }

    /// Per direction the start of a TPKT waiting for the rest.
    fn buffered(&self) -> usize {
        self.buf.iter().map(Vec::capacity).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netsift_proto::MemSink;

    // Sources: testdata/README.md.
    const CR: &[u8] = include_bytes!("testdata/cr.bin");
    const JOB: &[u8] = include_bytes!("testdata/job_setup.bin");
    const UD_RESP: &[u8] = include_bytes!("testdata/userdata_resp.bin");

    /// A TPKT cut in the middle is held until its end, per direction.
    #[test]
    fn buffered_holds_a_partial_tpkt() {
        let mut p = S7commParser::new();
        let mut sink = MemSink::default();
        let c = [CR, JOB].concat();
        p.on_data(Direction::ToServer, &c[..CR.len() + 10], &mut sink);
        assert!(p.buffered() >= 10, "{}", p.buffered());
        p.on_data(Direction::ToClient, &UD_RESP[..40], &mut sink);
        assert!(p.buffered() >= 50, "{}", p.buffered());
        p.on_data(Direction::ToServer, &c[CR.len() + 10..], &mut sink);
        assert!(p.buffered() >= 40, "{}", p.buffered());
        p.on_data(Direction::ToClient, &UD_RESP[40..], &mut sink);
        assert_eq!(p.buffered(), 0);
        let r = sink.log("s7comm");
        assert_eq!(r.len(), 2);
        assert_eq!(r[0]["rosctr"], "Job");
        assert_eq!(r[1]["rosctr"], "Userdata");
        // A gap releases the direction's bytes.
        p.on_data(Direction::ToServer, &JOB[..10], &mut sink);
        assert!(p.buffered() >= 10);
        p.on_gap(Direction::ToServer, 5, &mut sink);
        assert_eq!(p.buffered(), 0);
    }
}
