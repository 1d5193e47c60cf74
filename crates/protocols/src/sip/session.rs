//! The SIP session parser: the "sip" log.
//!
//! Framing (RFC 3261 §18.3): over a stream, "the Content-Length header
//! field MUST be used with stream oriented transports"; over UDP a message
//! is one datagram and the body is the rest of it. The parser is told
//! neither, so a chunk that arrives on an empty buffer and holds a whole
//! message with no Content-Length (or a matching one) is taken as one
//! message; everything else is framed by Content-Length. Messages are
//! bounded to 64 KiB; after a gap or over-long input the direction
//! resyncs at the next start line.

use netsift_proto::{Direction, Parser, Record, Sink};

use super::record::SipRecord;
use crate::heap::{str_heap, strs_heap};

/// Largest SIP message kept (RFC 3261 §18.1.1 sends messages over 1300
/// bytes by TCP; 64 KiB covers any sane one).
const MAX_MSG: usize = 64 * 1024;
/// Most transactions waiting for a final response.
const MAX_PENDING: usize = 256;
/// Most Via headers kept, longest header value kept.
const MAX_VIA: usize = 16;
const MAX_VALUE: usize = 1024;
const MAX_WEIRD: usize = 16;

fn push_weird(w: &mut Vec<String>, s: impl Into<String>) {
    if w.len() < MAX_WEIRD {
        w.push(s.into());
    }
}

#[derive(Default)]
struct Msg {
    request: Option<(String, String)>,
    status: Option<(u16, String)>,
    from: Option<String>,
    to: Option<String>,
    call_id: Option<String>,
    cseq: Option<String>,
    user_agent: Option<String>,
    server: Option<String>,
    contact: Option<String>,
    via: Vec<String>,
    content_type: Option<String>,
    subject: Option<String>,
    warning: Option<String>,
    content_length: Option<usize>,
}

/// Header block parse: RFC 3261 §7.3.1 `field-name: field-value`, names
/// case-insensitive, continuation lines start with SP/HT; §7.3.3 compact
/// forms i, f, t, v, m, l, c, s, k (and e, o, u, r, b, x, y).
fn parse_head(head: &[u8]) -> Option<Msg> {
    let text = String::from_utf8_lossy(head);
    let mut lines: Vec<String> = Vec::new();
    for l in text.split('\n') {
        let l = l.strip_suffix('\r').unwrap_or(l);
        if (l.starts_with(' ') || l.starts_with('\t')) && !lines.is_empty() {
            if let Some(last) = lines.last_mut() {
                if last.len() < MAX_VALUE {
                    last.push(' ');
                    last.push_str(l.trim());
                }
            }
        } else {
            lines.push(l.to_string());
        }
    }
    let mut it = lines.into_iter();
    let start = it.next()?;
    let mut m = Msg::default();
    // §7.2 Status-Line: SIP-Version SP Status-Code SP Reason-Phrase.
    if let Some(rest) = start.strip_prefix("SIP/2.0 ") {
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        m.status = Some((code.parse().ok()?, reason.to_string()));
    } else {
        // §7.1 Request-Line: Method SP Request-URI SP SIP-Version.
        let mut p = start.splitn(3, ' ');
        let (method, uri, ver) = (p.next()?, p.next()?, p.next()?);
        if ver != "SIP/2.0" || method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic())
        {
            return None;
        }
        m.request = Some((method.to_string(), uri.to_string()));
    }
    for l in it {
        let Some((name, value)) = l.split_once(':') else {
            continue;
        };
        let value: String = value.trim().chars().take(MAX_VALUE).collect();
        match name.trim().to_ascii_lowercase().as_str() {
            "call-id" | "i" => m.call_id = Some(value),
            "from" | "f" => m.from = Some(value),
            "to" | "t" => m.to = Some(value),
            "via" | "v" => {
                // §7.3.1: a comma-separated list is the same as several
                // headers.
                for v in value.split(',') {
                    if m.via.len() < MAX_VIA {
                        m.via.push(v.trim().to_string());
                    }
                }
            }
            "contact" | "m" => m.contact = Some(value),
            "content-length" | "l" => m.content_length = value.parse().ok(),
            "content-type" | "c" => m.content_type = Some(value),
            "subject" | "s" => m.subject = Some(value),
            "cseq" => m.cseq = Some(value),
            "user-agent" => m.user_agent = Some(value),
            "server" => m.server = Some(value),
            "warning" => m.warning = Some(value),
            _ => {}
        }
    }
    Some(m)
}

/// End of the header block: after CRLFCRLF (or LFLF).
fn head_end(b: &[u8]) -> Option<usize> {
    let crlf = b.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4);
    let lf = b.windows(2).position(|w| w == b"\n\n").map(|p| p + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Could a line start here (a status line or `METHOD SP`)?
fn start_line_at(b: &[u8]) -> bool {
    if b.starts_with(b"SIP/2.0 ") {
        return true;
    }
    let n = b
        .iter()
        .take(17)
        .take_while(|c| c.is_ascii_uppercase())
        .count();
    n >= 3 && b.get(n) == Some(&b' ')
}

struct Pending {
    ts: u64,
    key: (String, String),
    rec: SipRecord,
    /// Heap bytes of `key` and `rec` (see [`Pending::new`]).
    heap: usize,
}

impl Pending {
    fn new(ts: u64, key: (String, String), rec: SipRecord) -> Pending {
        let mut p = Pending {
            ts,
            key,
            rec,
            heap: 0,
        };
        p.count();
        p
    }

    /// Recount the heap bytes of the key and record strings (kept, so
    /// that `buffered` does not walk every string of every transaction).
    fn count(&mut self) {
        let r = &self.rec;
        self.heap = self.key.0.capacity()
            + self.key.1.capacity()
            + [
                &r.method,
                &r.uri,
                &r.from,
                &r.to,
                &r.call_id,
                &r.cseq,
                &r.user_agent,
                &r.server,
                &r.status_msg,
                &r.contact,
                &r.content_type,
                &r.subject,
                &r.warning,
            ]
            .into_iter()
            .map(str_heap)
            .sum::<usize>()
            + strs_heap(&r.via)
            + strs_heap(&r.weird);
    }
}

/// Per-flow SIP parser.
#[derive(Default)]
pub struct SipParser {
    buf: [Vec<u8>; 2],
    resync: [bool; 2],
    pending: Vec<Pending>,
    weird: Vec<String>,
}

fn emit(ts: u64, r: SipRecord, sink: &mut dyn Sink) {
    sink.record_at("sip", ts, Record::typed(r));
}

impl SipParser {
    pub fn new() -> Self {
        Self::default()
    }

    fn message(&mut self, m: Msg, sink: &mut dyn Sink) {
        // RFC 3261 §17.2.3 / §8.1.3.3: responses match by Call-ID and CSeq.
        let key = (
            m.call_id.clone().unwrap_or_default(),
            m.cseq.clone().unwrap_or_default(),
        );
        let mut weird = std::mem::take(&mut self.weird);
        if let Some((method, uri)) = m.request {
            let mut rec = SipRecord {
                method: Some(method),
                uri: Some(uri),
                from: m.from,
                to: m.to,
                call_id: m.call_id,
                cseq: m.cseq,
                user_agent: m.user_agent,
                contact: m.contact,
                via: m.via,
                content_type: m.content_type,
                subject: m.subject,
                ..Default::default()
            };
            for w in weird.drain(..) {
                push_weird(&mut rec.weird, w);
            }
            if let Some(i) = self.pending.iter().position(|p| p.key == key) {
                // A retransmission (§17.1.1.2) replaces nothing.
                if let Some(p) = self.pending.get_mut(i) {
                    push_weird(&mut p.rec.weird, "sip_retransmitted_request");
                    p.count();
                }
                return;
            }
            if self.pending.len() >= MAX_PENDING {
                let p = self.pending.remove(0);
                emit(p.ts, p.rec, sink);
            }
            self.pending.push(Pending::new(sink.ts_ns(), key, rec));
            return;
        }
        let Some((code, reason)) = m.status else {
            return;
        };
        let (ts, mut rec, waiting) = match self.pending.iter().position(|p| p.key == key) {
            Some(i) => {
                let p = self.pending.remove(i);
                (p.ts, p.rec, true)
            }
            None => {
                let method = m
                    .cseq
                    .as_deref()
                    .and_then(|c| c.split_whitespace().nth(1))
                    .map(str::to_string);
                let rec = SipRecord {
                    method,
                    from: m.from.clone(),
                    call_id: m.call_id.clone(),
                    cseq: m.cseq.clone(),
                    via: m.via.clone(),
                    content_type: m.content_type.clone(),
                    subject: m.subject.clone(),
                    ..Default::default()
                };
                (sink.ts_ns(), rec, false)
            }
        };
        for w in weird.drain(..) {
            push_weird(&mut rec.weird, w);
        }
        rec.status_code = Some(code);
        rec.status_msg = Some(reason);
        if m.to.is_some() {
            rec.to = m.to;
        }
        rec.server = m.server.or(rec.server.take());
        rec.warning = m.warning.or(rec.warning.take());
        if rec.content_type.is_none() {
            rec.content_type = m.content_type;
        }
        // §7.2: 1xx are provisional; the transaction waits for a final one.
        if code < 200 && (waiting || self.pending.len() < MAX_PENDING) {
            self.pending.push(Pending::new(ts, key, rec));
        } else {
            emit(ts, rec, sink);
        }
    }

    fn drain(&mut self, i: usize, sink: &mut dyn Sink) {
        loop {
            let buf = &mut self.buf[i];
            // RFC 5626 §4.4.1 keep-alives (CRLF) between messages.
            let lead = buf
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            buf.drain(..lead);
            if self.resync[i] {
                let pos = (0..buf.len()).find(|&p| {
                    (p == 0 || buf.get(p - 1) == Some(&b'\n'))
                        && buf.get(p..).is_some_and(start_line_at)
                });
                match pos {
                    Some(p) => {
                        buf.drain(..p);
                        self.resync[i] = false;
                    }
                    None => {
                        let keep = buf.len().min(16);
                        let cut = buf.len() - keep;
                        buf.drain(..cut);
                        return;
                    }
                }
            }
            if buf.is_empty() {
                return;
            }
            let Some(he) = head_end(buf) else {
                if buf.len() >= MAX_MSG {
                    push_weird(&mut self.weird, "sip_header_too_long");
                    buf.clear();
                    self.resync[i] = true;
                }
                return;
            };
            let Some(m) = buf.get(..he).and_then(parse_head) else {
                push_weird(&mut self.weird, "sip_bad_start_line");
                buf.drain(..1);
                self.resync[i] = true;
                continue;
            };
            let body = m.content_length.unwrap_or(0);
            let total = he.saturating_add(body);
            if total > MAX_MSG {
                push_weird(&mut self.weird, "sip_message_too_long");
                self.message(m, sink);
                self.buf[i].clear();
                self.resync[i] = true;
                return;
            }
            if buf.len() < total {
                return;
            }
            buf.drain(..total);
            self.message(m, sink);
        }
    }
}

impl Parser for SipParser {
    fn on_data(&mut self, dir: Direction, data: &[u8], sink: &mut dyn Sink) {
        let i = match dir {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        };
        // One whole datagram-like message without Content-Length: the body
        // is the rest of the chunk (RFC 3261 §18.3, UDP).
        if self.buf[i].is_empty() && !self.resync[i] && data.len() <= MAX_MSG {
            if let Some(he) = head_end(data) {
                if let Some(m) = data.get(..he).and_then(parse_head) {
                    if m.content_length.is_none() {
                        self.message(m, sink);
                        return;
                    }
                }
            }
        }
        let room = (2 * MAX_MSG).saturating_sub(self.buf[i].len());
        let take = data.len().min(room);
        self.buf[i].extend_from_slice(data.get(..take).unwrap_or(&[]));
        self.drain(i, sink);
        if take < data.len() {
            push_weird(&mut self.weird, "sip_buffer_overflow");
            self.buf[i].clear();
            self.resync[i] = true;
        }
        // An emptied buffer gives back the room a big message took.
        if self.buf[i].is_empty() && self.buf[i].capacity() > 4096 {
            self.buf[i] = Vec::new();
        }
    }

    /// Both directions' partial messages (up to 128 KiB each), and the
    /// transactions waiting for a final response (their record strings).
    fn buffered(&self) -> usize {
        self.buf.iter().map(Vec::capacity).sum::<usize>()
            + self.pending.capacity() * std::mem::size_of::<Pending>()
            + self.pending.iter().map(|p| p.heap).sum::<usize>()
            + strs_heap(&self.weird)
    }

    fn on_gap(&mut self, dir: Direction, _len: u64, _sink: &mut dyn Sink) {
        let i = match dir {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        };
        self.buf[i] = Vec::new();
        self.resync[i] = true;
        push_weird(&mut self.weird, "sip_gap");
    }

    fn on_end(&mut self, sink: &mut dyn Sink) {
        if self.buf.iter().any(|b| !b.is_empty()) {
            push_weird(&mut self.weird, "sip_truncated_message");
        }
        let mut weird = std::mem::take(&mut self.weird);
        for mut p in std::mem::take(&mut self.pending) {
            for w in weird.drain(..) {
                push_weird(&mut p.rec.weird, w);
            }
            emit(p.ts, p.rec, sink);
        }
    }
}

#[cfg(test)]
mod tests {
    //! testdata: crates/cli/tests/nonstd/sip_3478.pcap (kamailio + sipsak):
    //! s_udp_1..4.bin frames 1-4 (OPTIONS/200, REGISTER/404 over UDP);
    //! sess_tcp.ev tcp.stream 0 (OPTIONS over TCP; format in
    //! ftp_control::session's tests).
    use super::*;
    use netsift_proto::{Direction::*, MemSink};
    use serde_json::json;

    const U1: &[u8] = include_bytes!("testdata/s_udp_1.bin");
    const U2: &[u8] = include_bytes!("testdata/s_udp_2.bin");
    const U3: &[u8] = include_bytes!("testdata/s_udp_3.bin");
    const U4: &[u8] = include_bytes!("testdata/s_udp_4.bin");
    const TCP: &[u8] = include_bytes!("testdata/sess_tcp.ev");

    fn events(mut b: &[u8]) -> Vec<(Direction, &[u8])> {
        let mut v = Vec::new();
        while b.len() >= 14 {
            let len = u32::from_le_bytes(b[10..14].try_into().unwrap()) as usize;
            v.push((
                if b[1] == 0 { ToServer } else { ToClient },
                &b[14..14 + len],
            ));
            b = &b[14 + len..];
        }
        v
    }

    fn run(msgs: &[(Direction, &[u8])], chunk: usize) -> MemSink {
        let mut p = SipParser::new();
        let mut s = MemSink::default();
        for (d, m) in msgs {
            for c in m.chunks(chunk) {
                p.on_data(*d, c, &mut s);
            }
        }
        p.on_end(&mut s);
        s
    }

    #[test]
    fn udp_transactions() {
        let s = run(
            &[
                (ToServer, U1),
                (ToClient, U2),
                (ToServer, U3),
                (ToClient, U4),
            ],
            usize::MAX,
        );
        let r = s.log("sip");
        assert_eq!(r.len(), 2);
        assert_eq!(r[0]["method"], json!("OPTIONS"));
        assert_eq!(r[0]["uri"], json!("sip:alice@127.0.0.1:3478"));
        assert_eq!(r[0]["call_id"], json!("1780863395@127.0.0.1"));
        assert_eq!(r[0]["cseq"], json!("1 OPTIONS"));
        assert_eq!(r[0]["user_agent"], json!("sipsak 0.9.8.1"));
        assert_eq!(r[0]["status_code"], json!(200));
        assert_eq!(r[0]["status_msg"], json!("OK"));
        assert_eq!(
            r[0]["from"],
            json!("sip:sipsak@127.0.0.1:52345;tag=6a25d1a3")
        );
        assert!(r[0]["to"].as_str().unwrap().contains(";tag="));
        assert_eq!(r[0]["contact"], json!("sip:sipsak@127.0.0.1:52345"));
        assert_eq!(r[0]["via"].as_array().unwrap().len(), 1);
        assert_eq!(r[1]["method"], json!("REGISTER"));
        assert_eq!(r[1]["status_code"], json!(404));
    }

    #[test]
    fn tcp_split_everywhere_identical() {
        let evs = events(TCP);
        let whole = run(&evs, usize::MAX);
        let r = whole.log("sip");
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!(r[0]["method"], json!("OPTIONS"));
        assert_eq!(r[0]["status_code"], json!(200));
        assert_eq!(run(&evs, 1).records, whole.records);
        // Both messages of a direction in one chunk, and UDP bytes
        // concatenated as a stream.
        let s = run(
            &[
                (ToServer, &[U1, U3].concat()),
                (ToClient, &[U2, U4].concat()),
            ],
            usize::MAX,
        );
        assert_eq!(s.log("sip").len(), 2);
    }

    #[test]
    fn compact_headers() {
        let t = String::from_utf8(U1.to_vec()).unwrap();
        let t = t
            .replace("Via:", "v:")
            .replace("From:", "f:")
            .replace("To:", "t:")
            .replace("Call-ID:", "i:")
            .replace("Contact:", "m:")
            .replace("Content-Length:", "l:");
        let s = run(&[(ToServer, t.as_bytes()), (ToClient, U2)], usize::MAX);
        let r = s.log("sip");
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!(r[0]["call_id"], json!("1780863395@127.0.0.1"));
        assert_eq!(
            r[0]["from"],
            json!("sip:sipsak@127.0.0.1:52345;tag=6a25d1a3")
        );
        assert_eq!(r[0]["contact"], json!("sip:sipsak@127.0.0.1:52345"));
        assert_eq!(r[0]["status_code"], json!(200));
    }

    /// `buffered()` holds a request cut inside its body (framed by
    /// Content-Length, as over TCP), then the transaction waiting for its
    /// response; once answered only the pending list's room is left.
    #[test]
    fn buffered_counts_partial_message_and_pending() {
        let body = "v=0\r\n".repeat(1000);
        let req = String::from_utf8(U1.to_vec()).unwrap().replace(
            "Content-Length: 0",
            &format!("Content-Length: {}", body.len()),
        ) + &body;
        let (first, rest) = req.as_bytes().split_at(req.len() / 2);
        let mut p = SipParser::new();
        let mut s = MemSink::default();
        p.on_data(ToServer, first, &mut s);
        assert!(p.buffered() >= first.len(), "{}", p.buffered());
        p.on_data(ToServer, rest, &mut s);
        assert_eq!(p.pending.len(), 1);
        let waiting = p.buffered();
        assert!(waiting < first.len(), "{waiting}");
        assert!(waiting >= p.pending.capacity() * std::mem::size_of::<Pending>() + 100);
        p.on_data(ToClient, U2, &mut s);
        assert_eq!(s.log("sip").len(), 1);
        // The big request's buffer was given back; the response's small
        // one keeps its room.
        assert_eq!(p.buf[0].capacity(), 0);
        assert!(
            p.buffered() <= p.pending.capacity() * std::mem::size_of::<Pending>() + U2.len(),
            "{}",
            p.buffered()
        );
    }

    #[test]
    fn gap_truncated_malicious() {
        let mut p = SipParser::new();
        let mut s = MemSink::default();
        p.on_data(ToServer, &U1[..20], &mut s);
        p.on_gap(ToServer, 100, &mut s);
        p.on_data(ToServer, &U1[120..], &mut s);
        p.on_data(ToServer, U3, &mut s);
        p.on_data(ToClient, U4, &mut s);
        p.on_end(&mut s);
        let r = s.log("sip");
        assert_eq!(r[0]["method"], json!("REGISTER"));
        assert!(r[0]["weird"].to_string().contains("sip_gap"));
        for n in 0..U1.len() {
            let _ = run(&[(ToServer, &U1[..n])], usize::MAX);
        }
        // A huge Content-Length and an endless header block stay bounded.
        let t = String::from_utf8(U1.to_vec())
            .unwrap()
            .replace("Content-Length: 0", "Content-Length: 999999999");
        let mut p = SipParser::new();
        let mut s = MemSink::default();
        p.on_data(ToServer, t.as_bytes(), &mut s);
        p.on_data(ToServer, &vec![b'a'; 300_000], &mut s);
        assert!(p.buf[0].len() <= 2 * MAX_MSG);
        p.on_end(&mut s);
        assert!(s
            .records
            .iter()
            .any(|(_, v)| v.to_string().contains("too_long")));
    }
}
