//! The DHCP session parser: groups the messages of a flow by xid and
//! writes the "dhcp" log — at the ACK/NAK that ends a transaction (RFC 2131
//! §3.1 step 5), or at the end of the flow.

use std::net::Ipv4Addr;

use netsift_proto::{Direction, Parser, Record, Sink};

use super::record::DhcpRecord;
use super::COOKIE;
use crate::heap::{str_heap, strs_heap};

/// Most transactions open in one flow.
const MAX_TRANSACTIONS: usize = 256;
/// Most message types kept per transaction.
const MAX_TYPES: usize = 32;
const MAX_WEIRD: usize = 16;

fn push_weird(w: &mut Vec<String>, s: impl Into<String>) {
    if w.len() < MAX_WEIRD {
        w.push(s.into());
    }
}

/// Per-flow DHCP parser.
#[derive(Default)]
pub struct DhcpParser {
    open: Vec<(u64, DhcpRecord)>,
}

fn ip(b: &[u8]) -> Option<String> {
    <[u8; 4]>::try_from(b)
        .ok()
        .map(|a| Ipv4Addr::from(a).to_string())
}

fn text(b: &[u8]) -> String {
    let b = b.strip_suffix(b"\0").unwrap_or(b);
    netsift_proto::printable(b, 255)
}

/// RFC 4702 §2.3: with the E flag (0x04) the name is in DNS wire format
/// (RFC 1035 §3.1), else ASCII.
fn fqdn(b: &[u8]) -> Option<String> {
    let flags = *b.first()?;
    let name = b.get(3..)?;
    if flags & 0x04 == 0 {
        return Some(text(name));
    }
    let mut out = Vec::new();
    let mut p = 0usize;
    while let Some(&l) = name.get(p) {
        if l == 0 || l > 63 {
            break;
        }
        let label = name.get(p + 1..p + 1 + l as usize)?;
        out.push(netsift_proto::printable(label, 63));
        p += 1 + l as usize;
    }
    Some(out.join("."))
}

fn type_name(t: u8) -> &'static str {
    // RFC 2132 §9.6 (the values the log keeps; others by their name too).
    super::msg_type_name(t)
}

impl DhcpParser {
    pub fn new() -> Self {
        Self::default()
    }

    fn message(&mut self, m: &[u8], sink: &mut dyn Sink) {
        // RFC 2131 §2 Figure 1: op htype hlen hops xid(4) secs flags ciaddr
        // yiaddr siaddr giaddr chaddr(16) sname(64) file(128) options.
        let Some(xid) = m.get(4..8).and_then(|b| <[u8; 4]>::try_from(b).ok()) else {
            return;
        };
        let xid = u32::from_be_bytes(xid);
        let i = match self.open.iter().position(|(_, r)| r.trans_id == xid) {
            Some(i) => i,
            None => {
                if self.open.len() >= MAX_TRANSACTIONS {
                    let (ts, r) = self.open.remove(0);
                    emit(ts, r, sink);
                }
                self.open.push((
                    sink.ts_ns(),
                    DhcpRecord {
                        trans_id: xid,
                        ..Default::default()
                    },
                ));
                self.open.len() - 1
            }
        };
        let Some((_, r)) = self.open.get_mut(i) else {
            return;
        };
        if m.len() < 240 || m.get(236..240) != Some(&COOKIE[..]) {
            push_weird(&mut r.weird, "dhcp_short_or_no_cookie");
            return;
        }
        // chaddr: 'hlen' octets of the 16 (Ethernet: 6).
        let hlen = m.get(2).copied().unwrap_or(0).min(16) as usize;
        if r.client_mac.is_none() && hlen > 0 {
            if let Some(ch) = m.get(28..28 + hlen) {
                let s: Vec<String> = ch.iter().map(|b| format!("{b:02x}")).collect();
                r.client_mac = Some(s.join(":"));
            }
        }
        let yiaddr = m.get(16..20);
        // RFC 2132 §2: options are code, length, data; Pad (0) and End
        // (255) have no length.
        let mut p = 240usize;
        let mut mtype = None;
        while let Some(&code) = m.get(p) {
            match code {
                0 => {
                    p += 1;
                    continue;
                }
                255 => break,
                _ => {}
            }
            let Some(&len) = m.get(p + 1) else {
                push_weird(&mut r.weird, "dhcp_truncated_option");
                break;
            };
            let Some(d) = m.get(p + 2..p + 2 + len as usize) else {
                push_weird(&mut r.weird, format!("dhcp_option_{code}_beyond_message"));
                break;
            };
            match code {
                12 => r.host_name = Some(text(d)),
                15 => r.domain = Some(text(d)),
                50 => r.requested_addr = ip(d).or(r.requested_addr.take()),
                51 => {
                    if let Ok(a) = <[u8; 4]>::try_from(d) {
                        r.lease_time = Some(u32::from_be_bytes(a));
                    }
                }
                // RFC 2132 §9.3: option overload puts options in sname/file.
                52 => push_weird(&mut r.weird, "dhcp_option_overload_not_parsed"),
                53 => mtype = d.first().copied(),
                54 => r.server_addr = ip(d).or(r.server_addr.take()),
                55 => r.param_request_list = d.to_vec(),
                60 => r.vendor_class = Some(text(d)),
                81 => r.client_fqdn = fqdn(d),
                _ => {}
            }
            p += 2 + len as usize;
        }
        let done = match mtype {
            Some(t) => {
                if r.msg_types.len() < MAX_TYPES {
                    r.msg_types.push(type_name(t));
                }
                // RFC 2131 §3.1 step 5: DHCPACK carries the address in
                // 'yiaddr'.
                if t == 5 {
                    if let Some(y) = yiaddr.and_then(ip) {
                        if y != "0.0.0.0" {
                            r.assigned_addr = Some(y);
                        }
                    }
                }
                t == 5 || t == 6
            }
            None => {
                push_weird(&mut r.weird, "dhcp_no_message_type");
                false
            }
        };
        if done {
            let (ts, r) = self.open.remove(i);
            emit(ts, r, sink);
            if self.open.is_empty() {
                self.open = Vec::new();
            }
        }
    }
}

/// Heap bytes of one open transaction's strings and lists.
fn record_heap(r: &DhcpRecord) -> usize {
    [
        &r.client_mac,
        &r.host_name,
        &r.client_fqdn,
        &r.requested_addr,
        &r.assigned_addr,
        &r.server_addr,
        &r.domain,
        &r.vendor_class,
    ]
    .into_iter()
    .map(str_heap)
    .sum::<usize>()
        + r.msg_types.capacity() * std::mem::size_of::<&str>()
        + r.param_request_list.capacity()
        + strs_heap(&r.weird)
}

fn emit(ts: u64, r: DhcpRecord, sink: &mut dyn Sink) {
    sink.record_at("dhcp", ts, Record::typed(r));
}

impl Parser for DhcpParser {
    fn on_data(&mut self, _dir: Direction, data: &[u8], sink: &mut dyn Sink) {
        self.message(data, sink);
    }

    fn on_end(&mut self, sink: &mut dyn Sink) {
        for (ts, r) in std::mem::take(&mut self.open) {
            emit(ts, r, sink);
        }
    }

    /// The transactions waiting for their ACK/NAK: the table and each
    /// record's strings and lists.
    fn buffered(&self) -> usize {
        self.open.capacity() * std::mem::size_of::<(u64, DhcpRecord)>()
            + self.open.iter().map(|(_, r)| record_heap(r)).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    //! testdata s_1..4.bin: crates/cli/tests/nonstd/dhcp_udp1067.pcap
    //! frames 1-4 (dhclient DISCOVER, dnsmasq OFFER, REQUEST, ACK).
    use super::*;
    use netsift_proto::{Direction::*, MemSink};
    use serde_json::json;

    const D: &[u8] = include_bytes!("testdata/s_1.bin");
    const O: &[u8] = include_bytes!("testdata/s_2.bin");
    const R: &[u8] = include_bytes!("testdata/s_3.bin");
    const A: &[u8] = include_bytes!("testdata/s_4.bin");

    fn run(msgs: &[&[u8]]) -> MemSink {
        let mut p = DhcpParser::new();
        let mut s = MemSink::default();
        for m in msgs {
            p.on_data(ToServer, m, &mut s);
        }
        p.on_end(&mut s);
        s
    }

    #[test]
    fn whole_exchange() {
        let s = run(&[D, O, R, A]);
        let r = s.log("dhcp");
        assert_eq!(r.len(), 1);
        let r = r[0];
        assert_eq!(r["trans_id"], json!(0x8d158d2fu32));
        assert_eq!(r["client_mac"], json!("c2:78:5d:74:bc:79"));
        assert_eq!(r["host_name"], json!("vm"));
        assert_eq!(r["requested_addr"], json!("10.99.0.53"));
        assert_eq!(r["assigned_addr"], json!("10.99.0.53"));
        assert_eq!(r["server_addr"], json!("10.99.0.1"));
        assert_eq!(r["lease_time"], json!(3600));
        assert_eq!(
            r["msg_types"],
            json!(["DISCOVER", "OFFER", "REQUEST", "ACK"])
        );
        assert_eq!(
            r["param_request_list"],
            json!([1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42])
        );
    }

    #[test]
    fn client_half_only_written_at_end() {
        let s = run(&[D, R]);
        let r = s.log("dhcp");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0]["msg_types"], json!(["DISCOVER", "REQUEST"]));
        assert!(r[0].get("assigned_addr").is_none());
    }

    /// A transaction is held from its DISCOVER to its ACK.
    #[test]
    fn buffered_holds_open_transactions() {
        let mut p = DhcpParser::new();
        let mut s = MemSink::default();
        p.on_data(ToServer, D, &mut s);
        // The entry, the MAC "c2:78:5d:74:bc:79", the host name "vm" and
        // the 13 requested parameters.
        let min = std::mem::size_of::<(u64, DhcpRecord)>() + 17 + 2 + 13;
        assert!(p.buffered() >= min, "{}", p.buffered());
        for m in [O, R, A] {
            p.on_data(ToServer, m, &mut s);
        }
        assert_eq!(s.log("dhcp").len(), 1);
        assert_eq!(p.buffered(), 0);
    }

    #[test]
    fn truncated_and_malicious() {
        for n in 0..A.len() {
            let _ = run(&[&A[..n]]);
        }
        // An option whose length runs past the message.
        let mut m = D.to_vec();
        m.truncate(243);
        m.extend_from_slice(&[12, 200, b'x']);
        let s = run(&[&m]);
        assert!(s.log("dhcp")[0]["weird"].to_string().contains("beyond"));
        // Many xids: bounded.
        let mut p = DhcpParser::new();
        let mut s = MemSink::default();
        let mut m = D.to_vec();
        for x in 0..1000u32 {
            m[4..8].copy_from_slice(&x.to_be_bytes());
            p.on_data(ToServer, &m, &mut s);
        }
        assert!(p.open.len() <= MAX_TRANSACTIONS);
        p.on_end(&mut s);
        assert_eq!(s.log("dhcp").len(), 1000);
    }
}
