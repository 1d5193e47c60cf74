//! The DNS session parser: pairs queries and responses by transaction ID
//! within a flow and writes the "dns" log.
//!
//! The parser is told neither the transport nor the port, so it decides
//! from the first bytes: a chunk that starts with a two-byte length equal
//! to the rest of the chunk (or announcing a message that has not fully
//! arrived) and whose header then parses is DNS over TCP (RFC 1035
//! §4.2.2, RFC 7766 §8); anything else is a UDP datagram (RFC 1035 §4.2.1).
//! A gap can only happen on a stream, so it also means TCP.

use netsift_proto::{BufferKind, Direction, Parser, Record, Sink};

use super::parse::{self, Answer, Decoded, Names};
use super::rdata;
use super::record::DnsRecord;
use crate::heap::{str_heap, strs_heap};

/// Most queries waiting for their response in one flow.
pub(crate) const MAX_PENDING: usize = 1024;
/// Most bytes buffered per direction on TCP: one whole message (the length
/// prefix is 16 bits) plus the prefix.
const MAX_TCP_BUF: usize = 65_535 + 2;
/// Cap of the weird list.
const MAX_WEIRD: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Unknown,
    Udp,
    Tcp,
}

/// The DNS-structured protocol a parser reads; it decides a few rules
/// (pairing, NetBIOS names, mDNS class bits) and is the record's `app`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum App {
    Dns,
    /// Multicast DNS (RFC 6762).
    Mdns,
    /// Link-Local Multicast Name Resolution (RFC 4795).
    Llmnr,
    /// NetBIOS name service (RFC 1002 §4.2).
    Nbns,
}

impl App {
    fn name(self) -> &'static str {
        match self {
            App::Dns => "dns",
            App::Mdns => "mdns",
            App::Llmnr => "llmnr",
            App::Nbns => "nbns",
        }
    }
}

struct Pending {
    ts_ns: u64,
    rec: DnsRecord,
    /// The transaction number given to the engine's rules.
    tx: u64,
    /// Heap bytes of `rec`'s strings, counted when it was queued.
    heap: usize,
}

/// Heap bytes of a record's strings and lists.
fn rec_heap(r: &DnsRecord) -> usize {
    let edns = |e: &Option<parse::Edns>| {
        e.as_ref()
            .map_or(0, |e| str_heap(&e.rcode_name) + strs_heap(&e.options))
    };
    let tsig = |t: &Option<parse::Tsig>| {
        t.as_ref().map_or(0, |t| {
            t.key.capacity() + t.algorithm.capacity() + str_heap(&t.error)
        })
    };
    let zeek = r.zeek_answers.as_ref().map_or(0, |z| {
        z.capacity() * std::mem::size_of::<Option<String>>() + z.iter().map(str_heap).sum::<usize>()
    });
    [&r.query, &r.qclass_name, &r.qtype_name, &r.rcode_name]
        .iter()
        .map(|s| str_heap(s))
        .sum::<usize>()
        + r.opcode_name.capacity()
        + [
            &r.questions,
            &r.answers,
            &r.answer_types,
            &r.prereqs,
            &r.updates,
            &r.weird,
        ]
        .iter()
        .map(|v| strs_heap(v))
        .sum::<usize>()
        + r.ttls.capacity() * std::mem::size_of::<u32>()
        + zeek
        + edns(&r.query_edns)
        + edns(&r.response_edns)
        + tsig(&r.query_tsig)
        + tsig(&r.response_tsig)
}

/// Per-flow DNS parser.
pub struct DnsParser {
    app: App,
    mode: Mode,
    /// TCP reassembly buffers, [to server, to client].
    buf: [Vec<u8>; 2],
    /// After a gap, the direction looks for the next plausible frame.
    resync: [bool; 2],
    pending: Vec<Pending>,
    /// Sum of the `heap` of `pending` (kept, not walked: up to
    /// [`MAX_PENDING`] queries wait).
    pending_heap: usize,
    /// Anomalies not attached to any transaction yet.
    weird: Vec<String>,
    /// Next transaction number (one per query/response exchange).
    next_tx: u64,
}

impl Default for DnsParser {
    fn default() -> Self {
        Self::new()
    }
}

fn push_weird(w: &mut Vec<String>, s: impl Into<String>) {
    if w.len() < MAX_WEIRD {
        w.push(s.into());
    }
}

fn idx(dir: Direction) -> usize {
    match dir {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

/// Does `data[at..]` start a plausible TCP frame (length >= 12 and a DNS
/// header/question prefix that validates)?
fn frame_plausible(data: &[u8], at: usize) -> bool {
    let Some(rest) = data.get(at..) else {
        return false;
    };
    let Some((len, msg)) = parse::tcp_frame(rest) else {
        return false;
    };
    len >= 12
        && match parse::parse(msg, len, Names::Dns) {
            Ok(_) => true,
            Err(parse::Fail::Partial { .. }) => msg.len() >= 4,
            Err(parse::Fail::Invalid) => false,
        }
}

/// QTYPE name as Zeek's `DNS::query_types` spells it: the IANA mnemonic,
/// `*` for 255, `query-<n>` for the unnamed. NBNS's own types (RFC 1002
/// §4.2.1.2) are NB and NBSTAT; Zeek calls 0x20 "NIMLOC", which is the
/// DNS type of that number, not what NetBIOS asks for.
pub(crate) fn qtype_name(t: u16, nbns: bool) -> String {
    match t {
        32 if nbns => "NB".into(),
        33 if nbns => "NBSTAT".into(),
        255 => "*".into(),
        65281 => "WINS".into(),
        65282 => "WINS-R".into(),
        65422 => "XPF".into(),
        65521 => "INTEGRITY".into(),
        // Zeek's table lacks the registry's newer types above 109 / 257.
        t => match rdata::mnemonic(t) {
            Some(m) if t <= 257 || t >= 32768 => m.to_string(),
            _ => format!("query-{t}"),
        },
    }
}

/// OPCODE names of Zeek's `DNS::opcodes` / `DNS::netbios_opcodes`.
fn opcode_name(op: u8, nbns: bool) -> String {
    if nbns {
        // RFC 1002 §4.2.1.1 OPCODE.
        return match op {
            0 => "netbios-query".into(),
            5 => "netbios-registration".into(),
            6 => "netbios-release".into(),
            7 => "netbios-wack".into(),
            8 => "netbios-refresh".into(),
            n => format!("netbios-opcode-{n}"),
        };
    }
    match op {
        // RFC 1035 §4.1.1, RFC 1996 NOTIFY, RFC 2136 UPDATE, RFC 8490 DSO.
        0 => "query".into(),
        1 => "iquery".into(),
        2 => "server-status".into(),
        4 => "notify".into(),
        5 => "dynamic-update".into(),
        6 => "dso".into(),
        n => format!("opcode-{n}"),
    }
}

/// RFC 2136 §2.4 prerequisites in nsupdate's words. `zclass` is the
/// zone's class (ZCLASS).
fn prereq_text(a: &Answer, zclass: u16) -> String {
    let t = rdata::type_text(a.rtype);
    match (a.class, a.rtype) {
        // §2.4.4 "Name Is In Use": CLASS ANY, TYPE ANY.
        (255, 255) => format!("yxdomain {}", a.owner),
        // §2.4.5 "Name Is Not In Use": CLASS NONE, TYPE ANY.
        (254, 255) => format!("nxdomain {}", a.owner),
        // §2.4.1 "RRset Exists (Value Independent)": CLASS ANY.
        (255, _) => format!("yxrrset {} {t}", a.owner),
        // §2.4.3 "RRset Does Not Exist": CLASS NONE.
        (254, _) => format!("nxrrset {} {t}", a.owner),
        // §2.4.2 "RRset Exists (Value Dependent)": CLASS = ZCLASS, RDATA.
        (c, _) if c == zclass => format!("yxrrset {} {t} {}", a.owner, a.text.dig),
        (c, _) => format!("class{c} {} {t} {}", a.owner, a.text.dig),
    }
}

/// RFC 2136 §2.5 updates in nsupdate's words.
fn update_text(a: &Answer, zclass: u16) -> String {
    let t = rdata::type_text(a.rtype);
    match (a.class, a.rtype) {
        // §2.5.3 "Delete All RRsets From A Name": CLASS ANY, TYPE ANY.
        (255, 255) => format!("delete {}", a.owner),
        // §2.5.2 "Delete An RRset": CLASS ANY.
        (255, _) => format!("delete {} {t}", a.owner),
        // §2.5.4 "Delete An RR From An RRset": CLASS NONE.
        (254, _) => format!("delete {} {t} {}", a.owner, a.text.dig),
        // §2.5.1 "Add To An RRset": CLASS = ZCLASS.
        (c, _) if c == zclass => format!("add {} {} {t} {}", a.owner, a.ttl, a.text.dig),
        (c, _) => format!("class{c} {} {} {t} {}", a.owner, a.ttl, a.text.dig),
    }
}

impl DnsParser {
    pub fn new() -> Self {
        Self::for_app(App::Dns)
    }

    /// A parser for one of the DNS-structured protocols.
    pub fn for_app(app: App) -> Self {
        DnsParser {
            app,
            // NBNS is a datagram service (RFC 1002 §4.2.1: "UDP").
            mode: if app == App::Nbns {
                Mode::Udp
            } else {
                Mode::Unknown
            },
            buf: [Vec::new(), Vec::new()],
            resync: [false, false],
            pending: Vec::new(),
            pending_heap: 0,
            weird: Vec::new(),
            next_tx: 0,
        }
    }

    fn proto(&self) -> &'static str {
        if self.mode == Mode::Tcp {
            "tcp"
        } else {
            "udp"
        }
    }

    fn nbns(&self) -> bool {
        self.app == App::Nbns
    }

    /// One whole DNS message (without TCP length prefix).
    fn message(&mut self, msg: &[u8], sink: &mut dyn Sink) {
        let Some(d) = parse::decode(msg, self.nbns()) else {
            push_weird(&mut self.weird, "dns_message_too_short");
            return;
        };
        // RFC 1035 §4.1.1: "QR A one bit field that specifies whether this
        // message is a query (0), or a response (1)."
        let is_query = d.flags & parse::QR == 0;
        // RFC 6762 §18.1: "In multicast query messages, the Query
        // Identifier SHOULD be set to zero on transmission", and §18.1
        // again for responses: multicast mDNS has nothing to pair by, so
        // each message is its own record (as Zeek logs every message to a
        // multicast group). Unicast one-shot queries keep their ID and pair.
        if self.app == App::Mdns && d.id == 0 {
            let mut rec = self.base(&d);
            for w in self.weird.drain(..) {
                push_weird(&mut rec.weird, w);
            }
            if !is_query {
                Self::fill_response(&mut rec, &d, self.app);
            }
            let tx = self.new_tx();
            let dir = if is_query {
                Direction::ToServer
            } else {
                Direction::ToClient
            };
            questions(tx, dir, &d, sink);
            sink.tx_done(tx, dir);
            emit(sink.ts_ns(), rec, sink);
            return;
        }
        if is_query {
            self.query(d, sink);
        } else {
            self.response(d, sink);
        }
    }

    fn base(&self, d: &Decoded) -> DnsRecord {
        let nbns = self.nbns();
        let is_query = d.flags & parse::QR == 0;
        let mut r = DnsRecord {
            proto: self.proto(),
            app: self.app.name(),
            trans_id: d.id,
            opcode: d.opcode(),
            opcode_name: opcode_name(d.opcode(), nbns),
            // RFC 1035 §4.1.1: AA 0x0400, TC 0x0200, RD 0x0100, RA 0x0080,
            // then Z (RFC 2535 §6.1 / RFC 4035 §3.2: AD 0x0020, CD 0x0010).
            tc: d.flags & 0x0200 != 0,
            rd: d.flags & 0x0100 != 0,
            z: ((d.flags >> 4) & 0x07) as u8,
            ..Default::default()
        };
        if let Some(q) = d.questions.first() {
            let mut qclass = q.qclass;
            if self.app == App::Mdns {
                // RFC 6762 §5.4: "the top bit of the qclass field ... the
                // unicast-response bit"; §18.12.
                r.unicast_response = qclass & 0x8000 != 0;
                qclass &= 0x7fff;
            }
            r.query = Some(q.name.clone());
            if nbns {
                // RFC 1002 §4.1: the first label is the encoded NetBIOS
                // name. Zeek decodes it when it is a valid encoding.
                // The name's text keeps the label's 'a'..'p' letters as they
                // are (lower-cased), which the decoder accepts.
                let label = q.name.split('.').next().unwrap_or_default();
                if let Some((name, suffix)) = rdata::netbios_query(label.as_bytes()) {
                    r.query = Some(name);
                    r.nb_suffix = Some(suffix);
                }
            }
            r.qclass = Some(q.qclass);
            r.qclass_name = Some(parse::class_name(qclass));
            r.qtype = Some(q.qtype);
            r.qtype_name = Some(qtype_name(q.qtype, nbns));
        }
        if d.questions.len() > 1 {
            r.questions = d
                .questions
                .iter()
                .map(|q| format!("{} {}", q.name, qtype_name(q.qtype, nbns)))
                .collect();
        }
        if is_query {
            r.query_edns = d.edns.clone();
            r.query_tsig = d.tsig.clone();
            // RFC 2136 §2.4, §2.5: an UPDATE request's prerequisite and
            // update sections (the answer and authority sections).
            if d.opcode() == 5 && !nbns {
                let zclass = d.questions.first().map_or(1, |q| q.qclass);
                r.prereqs = d.answers.iter().map(|a| prereq_text(a, zclass)).collect();
                r.updates = d.authority.iter().map(|a| update_text(a, zclass)).collect();
            }
        }
        for w in &d.weird {
            push_weird(&mut r.weird, w.clone());
        }
        r
    }

    fn query(&mut self, d: Decoded, sink: &mut dyn Sink) {
        let mut rec = self.base(&d);
        for w in self.weird.drain(..) {
            push_weird(&mut rec.weird, w);
        }
        // A retransmitted query with the same ID: the first one is written
        // unanswered, the newer one waits.
        if let Some(i) = self.pending.iter().position(|p| p.rec.trans_id == d.id) {
            let old = self.unqueue(i);
            // LLMNR, NBNS and mDNS resend an unanswered query with the same
            // ID by design (RFC 4795 §2.7, RFC 1002 §6 BCAST_REQ_RETRY_COUNT,
            // RFC 6762 §5.2): only DNS calls it an anomaly.
            if self.app == App::Dns {
                push_weird(&mut rec.weird, "dns_duplicate_query_id");
            }
            emit(old.ts_ns, old.rec, sink);
        }
        if self.pending.len() >= MAX_PENDING {
            // Bound: the oldest query is written unanswered.
            let old = self.unqueue(0);
            emit(old.ts_ns, old.rec, sink);
        }
        let tx = self.new_tx();
        questions(tx, Direction::ToServer, &d, sink);
        sink.tx_done(tx, Direction::ToServer);
        let heap = rec_heap(&rec);
        self.pending_heap += heap;
        self.pending.push(Pending {
            ts_ns: sink.ts_ns(),
            rec,
            tx,
            heap,
        });
    }

    /// Take the waiting query at `i` out of `pending`.
    fn unqueue(&mut self, i: usize) -> Pending {
        let p = self.pending.remove(i);
        self.pending_heap = self.pending_heap.saturating_sub(p.heap);
        p
    }

    fn new_tx(&mut self) -> u64 {
        self.next_tx += 1;
        self.next_tx - 1
    }

    /// The response's part of a record.
    fn fill_response(rec: &mut DnsRecord, d: &Decoded, app: App) {
        let rcode = (d.flags & 0x0f) as u8;
        rec.rcode = Some(rcode);
        rec.rcode_name = Some(super::rcode_name(rcode).to_string());
        // Zeek sets AA and RA only once an answer record is seen; the bits
        // are the response header's whatever the answer count, so netsift
        // always copies them (docs/zeek.md).
        rec.aa = d.flags & 0x0400 != 0;
        rec.ra = d.flags & 0x0080 != 0;
        rec.tc |= d.flags & 0x0200 != 0;
        rec.response_edns = d.edns.clone();
        rec.response_tsig = d.tsig.clone();
        if d.opcode() != 5 || app == App::Nbns {
            let mut zeek = Vec::new();
            for a in &d.answers {
                rec.answers.push(a.text.dig.clone());
                rec.answer_types.push(if app == App::Nbns {
                    qtype_name(a.rtype, true)
                } else {
                    rdata::type_text(a.rtype)
                });
                rec.ttls.push(a.ttl);
                zeek.push(a.text.zeek.clone());
                // RFC 6762 §10.2: the top bit of rrclass is cache-flush.
                if app == App::Mdns && a.class & 0x8000 != 0 {
                    rec.cache_flush = true;
                }
            }
            let same = zeek
                .iter()
                .zip(&rec.answers)
                .all(|(z, a)| z.as_deref() == Some(a.as_str()));
            if !same {
                rec.zeek_answers = Some(zeek);
            }
        }
        if rec.query.is_none() {
            // A response without a question (mDNS announcements, RFC 6762
            // §6): its subject is the first answer's owner, as Zeek logs.
            rec.query = d.answers.first().map(|a| a.owner.clone());
        }
        // Zeek's rule (DNS.cc raises dns_rejected for a reply with a
        // question and no record in any section; main.zeek also for an
        // error reply without a question). Unlike Zeek, the OPT and TSIG
        // meta-records (RFC 6891 §6.1.1, RFC 8945 §4.2) do not count as
        // records: a REFUSED reply from an EDNS server, or a NOTAUTH to a
        // forged signature, refused the question all the same.
        let records = (u32::from(d.ancount) + u32::from(d.nscount) + u32::from(d.arcount))
            .saturating_sub(u32::from(d.edns.is_some()) + u32::from(d.tsig.is_some()));
        // A NOTIFY or UPDATE accepted (RCODE 0) is answered with the
        // question alone (RFC 1996 §4.7, RFC 2136 §3.8): Zeek calls that
        // rejected too; netsift does not.
        let accepted_echo = matches!(d.opcode(), 4 | 5) && rcode == 0 && app != App::Nbns;
        rec.rejected =
            !accepted_echo && ((d.qdcount > 0 && records == 0) || (rcode != 0 && d.qdcount == 0));
    }

    fn response(&mut self, d: Decoded, sink: &mut dyn Sink) {
        let now = sink.ts_ns();
        let (ts, mut rec, tx) = match self.pending.iter().position(|p| p.rec.trans_id == d.id) {
            Some(i) => {
                let p = self.unqueue(i);
                let tx = p.tx;
                let mut rec = p.rec;
                rec.rtt = Some(now.saturating_sub(p.ts_ns) as f64 / 1e9);
                if rec.query.is_none() {
                    let b = self.base(&d);
                    rec.query = b.query;
                    rec.nb_suffix = b.nb_suffix;
                    rec.qclass = b.qclass;
                    rec.qclass_name = b.qclass_name;
                    rec.qtype = b.qtype;
                    rec.qtype_name = b.qtype_name;
                }
                for w in &d.weird {
                    push_weird(&mut rec.weird, w.clone());
                }
                (p.ts_ns, rec, tx)
            }
            None => (now, self.base(&d), self.new_tx()),
        };
        questions(tx, Direction::ToClient, &d, sink);
        sink.tx_done(tx, Direction::ToClient);
        for w in self.weird.drain(..) {
            push_weird(&mut rec.weird, w);
        }
        Self::fill_response(&mut rec, &d, self.app);
        emit(ts, rec, sink);
    }

    /// Cut whole length-prefixed messages out of one direction's buffer.
    fn drain_tcp(&mut self, i: usize, sink: &mut dyn Sink) {
        loop {
            if self.resync[i] {
                // Find the next offset where a plausible frame starts.
                let buf = &self.buf[i];
                match (0..buf.len().saturating_sub(1)).find(|&at| frame_plausible(buf, at)) {
                    Some(at) => {
                        self.buf[i].drain(..at);
                        self.resync[i] = false;
                    }
                    None => {
                        // Keep a short tail that may begin a frame.
                        let keep = self.buf[i].len().min(16);
                        let cut = self.buf[i].len() - keep;
                        self.buf[i].drain(..cut);
                        return;
                    }
                }
            }
            let Some((len, _)) = parse::tcp_frame(&self.buf[i]) else {
                return;
            };
            if len < 12 {
                // RFC 1035 §4.1.1: a message has a 12-octet header.
                push_weird(&mut self.weird, "dns_tcp_bad_length");
                self.resync[i] = true;
                self.buf[i].drain(..2);
                continue;
            }
            if self.buf[i].len() < len + 2 {
                return;
            }
            let msg: Vec<u8> = self.buf[i].drain(..len + 2).skip(2).collect();
            self.message(&msg, sink);
        }
    }
}

/// `dns.query`: each question's name, for the rules.
fn questions(tx: u64, dir: Direction, d: &Decoded, sink: &mut dyn Sink) {
    for q in d.questions.iter().take(16) {
        sink.buffer(tx, dir, BufferKind::DnsQuery, q.name.as_bytes());
    }
}

fn emit(ts_ns: u64, rec: DnsRecord, sink: &mut dyn Sink) {
    sink.record_at("dns", ts_ns, Record::typed(rec));
}

impl Parser for DnsParser {
    /// Both directions' partial TCP messages (up to 64 KiB each), and the
    /// queries waiting for their response (with their records' strings).
    fn buffered(&self) -> usize {
        self.buf.iter().map(Vec::capacity).sum::<usize>()
            + self.pending.capacity() * std::mem::size_of::<Pending>()
            + self.pending_heap
            + strs_heap(&self.weird)
    }

    fn on_data(&mut self, dir: Direction, data: &[u8], sink: &mut dyn Sink) {
        if self.mode == Mode::Unknown {
            // RFC 1035 §4.1: a header (12) and one question (at least 5)
            // make 17 octets; a shorter first chunk is a stream's start.
            let udp_ok = parse::parse(data, data.len(), Names::Dns).is_ok();
            let tcp = data.len() < 17 || frame_plausible(data, 0);
            self.mode = if tcp && !udp_ok { Mode::Tcp } else { Mode::Udp };
        }
        match self.mode {
            Mode::Tcp => {
                let i = idx(dir);
                let room = MAX_TCP_BUF.saturating_sub(self.buf[i].len());
                if data.len() > room {
                    // Cannot happen with a 16-bit length unless desynced.
                    push_weird(&mut self.weird, "dns_tcp_buffer_overflow");
                    self.buf[i].clear();
                    self.resync[i] = true;
                }
                let take = data.len().min(MAX_TCP_BUF);
                self.buf[i].extend_from_slice(data.get(..take).unwrap_or(data));
                self.drain_tcp(i, sink);
                // An emptied buffer gives back the room a big message took.
                if self.buf[i].is_empty() && self.buf[i].capacity() > 4096 {
                    self.buf[i] = Vec::new();
                }
            }
            _ if self.app == App::Nbns => {
                // The NetBIOS flows also carry the datagram service (RFC
                // 1002 §4.4); only name service messages are DNS-shaped
                // with an encoded name.
                if parse::parse(data, data.len(), Names::Netbios).is_ok() {
                    self.message(data, sink);
                }
            }
            _ => self.message(data, sink),
        }
    }

    fn on_gap(&mut self, dir: Direction, _len: u64, _sink: &mut dyn Sink) {
        if self.app == App::Nbns {
            // Datagrams only: a gap is another NetBIOS service's stream.
            return;
        }
        self.mode = Mode::Tcp;
        let i = idx(dir);
        self.buf[i] = Vec::new();
        self.resync[i] = true;
        push_weird(&mut self.weird, "dns_tcp_gap");
    }

    fn on_end(&mut self, sink: &mut dyn Sink) {
        // RFC 1035 §4.2.2 allows a connection to close mid-message.
        if self.buf.iter().any(|b| !b.is_empty()) {
            push_weird(&mut self.weird, "dns_tcp_truncated_message");
        }
        let pending = std::mem::take(&mut self.pending);
        self.pending_heap = 0;
        let mut weird = std::mem::take(&mut self.weird);
        for mut p in pending {
            for w in weird.drain(..) {
                push_weird(&mut p.rec.weird, w);
            }
            emit(p.ts_ns, p.rec, sink);
        }
        if !weird.is_empty() {
            // Nothing to attach them to: one record of anomalies.
            let rec = DnsRecord {
                proto: self.proto(),
                app: self.app.name(),
                weird,
                ..Default::default()
            };
            emit(sink.ts_ns(), rec, sink);
        }
    }
}

#[cfg(test)]
mod tests {
    //! testdata (s_*.bin):
    //! * s_udp_1..4.bin: crates/cli/tests/nonstd/dns_udp443_tcp443.pcap
    //!   frames 1-4 (dig A www.example.test -> 127.0.0.2; AAAA -> REFUSED)
    //! * s_tcp_query.bin / s_tcp_resp.bin: the same capture, frames 8 and 10
    //!   (dig +tcp, length-prefixed)
    //! * s_netflix_cname.bin: netflix.pcap frame 4 (2 CNAMEs + 8 A)
    //! * s_txt.bin: dnscrypt-v1-and-resolver-pings.pcap frame 10 (TXT)
    //! * tcp_query_dnskey.bin / tcp_response_seg1.bin: dns_fragmented.pcap
    //!   frames 48 and 50 (DNSKEY over TCP, 1730-byte response)
    use super::*;
    use netsift_proto::{Direction::*, MemSink};
    use serde_json::json;

    const U1: &[u8] = include_bytes!("testdata/s_udp_1.bin");
    const U2: &[u8] = include_bytes!("testdata/s_udp_2.bin");
    const U3: &[u8] = include_bytes!("testdata/s_udp_3.bin");
    const U4: &[u8] = include_bytes!("testdata/s_udp_4.bin");
    const TQ: &[u8] = include_bytes!("testdata/s_tcp_query.bin");
    const TR: &[u8] = include_bytes!("testdata/s_tcp_resp.bin");
    const CNAME: &[u8] = include_bytes!("testdata/s_netflix_cname.bin");
    const TXT: &[u8] = include_bytes!("testdata/s_txt.bin");
    const DNSKEY_Q: &[u8] = include_bytes!("testdata/tcp_query_dnskey.bin");
    const DNSKEY_R: &[u8] = include_bytes!("testdata/tcp_response_seg1.bin");

    fn run(chunks: &[(Direction, &[u8], u64)]) -> MemSink {
        let mut p = DnsParser::new();
        let mut s = MemSink::default();
        for &(d, b, ts) in chunks {
            s.ts_ns = ts;
            p.on_data(d, b, &mut s);
        }
        p.on_end(&mut s);
        s
    }

    /// dns.query for each exchange (UDP: two IDs, TCP: one), the query's
    /// and the response's side done, transactions numbered from 0.
    #[test]
    fn sticky_dns_query() {
        use netsift_proto::BufferKind::DnsQuery;
        let s = run(&[
            (ToServer, U1, 0),
            (ToClient, U2, 133_000),
            (ToServer, U3, 39_226_000),
            (ToClient, U4, 39_409_000),
        ]);
        assert_eq!(s.bufs(0, ToServer, DnsQuery), [b"www.example.test"]);
        assert_eq!(s.bufs(0, ToClient, DnsQuery), [b"www.example.test"]);
        assert_eq!(s.bufs(1, ToServer, DnsQuery), [b"www.example.test"]);
        assert_eq!(
            s.tx_done,
            [(0, ToServer), (0, ToClient), (1, ToServer), (1, ToClient)]
        );
        // Over TCP, the query split in two segments.
        let (a, b) = TQ.split_at(5);
        let s = run(&[(ToServer, a, 0), (ToServer, b, 1), (ToClient, TR, 2)]);
        assert_eq!(s.bufs(0, ToServer, DnsQuery).len(), 1);
        assert_eq!(s.tx_done, [(0, ToServer), (0, ToClient)]);
    }

    /// `buffered()` holds a TCP query cut after its first bytes, then the
    /// query waiting for its response; once answered the queue is empty.
    #[test]
    fn buffered_counts_partial_message_and_pending() {
        let mut p = DnsParser::new();
        let mut s = MemSink::default();
        let (a, b) = TQ.split_at(TQ.len() / 2);
        p.on_data(ToServer, a, &mut s);
        assert!(p.buffered() >= a.len(), "{}", p.buffered());
        p.on_data(ToServer, b, &mut s);
        assert_eq!(p.pending.len(), 1);
        // The record's strings (the query name "www.example.test", ...).
        assert!(p.pending_heap >= 16, "{}", p.pending_heap);
        assert!(p.buffered() >= p.pending_heap + std::mem::size_of::<Pending>());
        p.on_data(ToClient, TR, &mut s);
        assert_eq!(s.log("dns").len(), 1);
        assert_eq!(p.pending_heap, 0);
        // What is left: the two (empty) buffers' and the queue's room.
        assert!(p.buf.iter().all(Vec::is_empty));
        assert!(
            p.buffered()
                <= TQ.len() + TR.len() + p.pending.capacity() * std::mem::size_of::<Pending>(),
            "{}",
            p.buffered()
        );
    }

    #[test]
    fn udp_pairs_and_refused() {
        let s = run(&[
            (ToServer, U1, 0),
            (ToClient, U2, 133_000),
            (ToServer, U3, 39_226_000),
            (ToClient, U4, 39_409_000),
        ]);
        let r = s.log("dns");
        assert_eq!(r.len(), 2);
        assert_eq!(r[0]["trans_id"], json!(0x4e6f));
        assert_eq!(r[0]["query"], json!("www.example.test"));
        assert_eq!(r[0]["qtype_name"], json!("A"));
        assert_eq!(r[0]["qclass_name"], json!("C_INTERNET"));
        assert_eq!(r[0]["rcode_name"], json!("NOERROR"));
        assert_eq!(r[0]["answers"], json!(["127.0.0.2"]));
        assert_eq!(r[0]["ttls"], json!([0]));
        assert_eq!(r[0]["AA"], json!(true));
        assert_eq!(r[0]["RA"], json!(true));
        assert_eq!(r[0]["RD"], json!(true));
        assert_eq!(r[0]["rejected"], json!(false));
        assert_eq!(r[0]["rtt"], json!(0.000133));
        assert_eq!(r[0]["proto"], json!("udp"));
        assert_eq!(r[1]["qtype_name"], json!("AAAA"));
        assert_eq!(r[1]["rcode_name"], json!("REFUSED"));
        assert_eq!(r[1]["rejected"], json!(true));
    }

    #[test]
    fn unanswered_query_and_lone_response() {
        let s = run(&[(ToServer, U1, 0)]);
        let r = s.log("dns");
        assert_eq!(r.len(), 1);
        assert!(r[0].get("rcode").is_none());
        assert!(r[0].get("rtt").is_none());
        let s = run(&[(ToClient, CNAME, 0)]);
        let r = s.log("dns");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0]["query"], json!("ios.nccp.netflix.com"));
        let a = r[0]["answers"].as_array().unwrap();
        assert_eq!(a.len(), 10);
        assert_eq!(a[0], json!("ios.nccp.geo.netflix.com"));
        assert_eq!(a[1], json!("ios.nccp.us-west-2.prodaa.netflix.com"));
        assert_eq!(a[2], json!("54.191.17.51"));
        assert_eq!(r[0]["ttls"][0], json!(111));
    }

    #[test]
    fn txt_and_other_types() {
        let s = run(&[(ToClient, TXT, 0)]);
        let r = s.log("dns");
        assert_eq!(r[0]["qtype_name"], json!("TXT"));
        // dig's presentation: each <character-string> quoted.
        assert!(r[0]["answers"][0].as_str().unwrap().starts_with("\"DNSC"));
        // DNSKEY in presentation format: flags, protocol 3, algorithm, key.
        let s = run(&[(ToServer, DNSKEY_Q, 0), (ToClient, DNSKEY_R, 5)]);
        let r = s.log("dns");
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!(r[0]["query"], json!("weberlab.de"));
        assert_eq!(r[0]["proto"], json!("tcp"));
        let a = r[0]["answers"].as_array().unwrap();
        assert_eq!(a.len(), 4);
        assert!(a.iter().any(|k| k.as_str().unwrap().starts_with("257 3 ")));
    }

    #[test]
    fn tcp_every_split_gives_the_same_records() {
        let whole = run(&[(ToServer, TQ, 1), (ToClient, TR, 2)]);
        let r = whole.log("dns");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0]["answers"], json!(["127.0.0.2"]));
        assert_eq!(r[0]["proto"], json!("tcp"));
        for cut in 1..TQ.len() {
            let (a, b) = TQ.split_at(cut);
            let s = run(&[(ToServer, a, 1), (ToServer, b, 1), (ToClient, TR, 2)]);
            assert_eq!(s.records, whole.records, "query cut {cut}");
        }
        // 1-byte chunks of both directions.
        let mut chunks = Vec::new();
        for b in TQ.chunks(1) {
            chunks.push((ToServer, b, 1));
        }
        for b in TR.chunks(1) {
            chunks.push((ToClient, b, 2));
        }
        let s = run(&chunks);
        assert_eq!(s.records, whole.records);
    }

    #[test]
    fn tcp_several_messages_in_one_chunk() {
        let mut q = TQ.to_vec();
        q.extend_from_slice(DNSKEY_Q);
        let mut r = TR.to_vec();
        r.extend_from_slice(DNSKEY_R);
        let s = run(&[(ToServer, &q, 1), (ToClient, &r, 2)]);
        let recs = s.log("dns");
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1]["query"], json!("weberlab.de"));
    }

    #[test]
    fn tcp_gap_resyncs_at_next_message() {
        let mut p = DnsParser::new();
        let mut s = MemSink::default();
        p.on_data(ToServer, &TQ[..10], &mut s);
        p.on_gap(ToServer, (TQ.len() - 10) as u64, &mut s);
        p.on_data(ToServer, DNSKEY_Q, &mut s);
        p.on_data(ToClient, DNSKEY_R, &mut s);
        p.on_end(&mut s);
        let r = s.log("dns");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0]["query"], json!("weberlab.de"));
        assert!(r[0]["weird"].to_string().contains("gap"));
    }

    #[test]
    fn truncated_and_malicious() {
        // Truncated datagrams never panic and produce bounded output.
        for n in 0..CNAME.len() {
            let _ = run(&[(ToClient, &CNAME[..n], 0)]);
        }
        for n in 0..TR.len() {
            let s = run(&[(ToServer, TQ, 0), (ToClient, &TR[..n], 0)]);
            assert_eq!(s.log("dns").len(), 1);
        }
        // A compression loop: pointer to itself at offset 12.
        let mut m = U1[..12].to_vec();
        m.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1]);
        let s = run(&[(ToServer, &m, 0)]);
        assert!(s.log("dns")[0].get("query").is_none());
        // Huge counts, 0xffff answers in a tiny message.
        let mut m = U2.to_vec();
        m[6] = 0xff;
        m[7] = 0xff;
        let s = run(&[(ToClient, &m, 0)]);
        assert!(s.log("dns")[0]["weird"].to_string().contains("answer"));
        // Pending queries are bounded.
        let mut p = DnsParser::new();
        let mut s = MemSink::default();
        let mut q = U1.to_vec();
        for id in 0..3000u16 {
            q[0..2].copy_from_slice(&id.to_be_bytes());
            p.on_data(ToServer, &q, &mut s);
        }
        assert!(p.pending.len() <= MAX_PENDING);
        p.on_end(&mut s);
        assert_eq!(s.log("dns").len(), 3000);
    }

    // ------------------------------------------------------------------
    // Whole captures (UDP), one parser per flow as the engine runs them.
    // ------------------------------------------------------------------

    /// The dns records of every UDP flow of a capture, parsed as `app`, one
    /// parser per 5-tuple (either way), in the order the flows start.
    fn pcap_records(pcap: &[u8], app: App) -> Vec<serde_json::Value> {
        type Key = (std::net::IpAddr, u16, std::net::IpAddr, u16);
        type Pkts = Vec<(Direction, Vec<u8>, u64)>;
        let mut flows: Vec<(Key, Pkts)> = Vec::new();
        for (ts, sa, sp, da, dp, m) in crate::testkit::ported::pcap_udp_addr(pcap) {
            let fwd = (sa, sp, da, dp);
            let rev = (da, dp, sa, sp);
            if let Some(f) = flows.iter_mut().find(|(k, _)| *k == rev) {
                f.1.push((ToClient, m, ts));
            } else if let Some(f) = flows.iter_mut().find(|(k, _)| *k == fwd) {
                f.1.push((ToServer, m, ts));
            } else {
                flows.push((fwd, vec![(ToServer, m, ts)]));
            }
        }
        let mut out = Vec::new();
        for (_, pkts) in flows {
            let mut p = DnsParser::for_app(app);
            let mut s = MemSink::default();
            for (d, m, ts) in &pkts {
                s.ts_ns = *ts;
                p.on_data(*d, m, &mut s);
            }
            p.on_end(&mut s);
            out.extend(s.log("dns").into_iter().cloned());
        }
        out
    }

    const TYPES: &[u8] = include_bytes!("testdata/types.pcap");

    fn by_query<'a>(r: &'a [serde_json::Value], q: &str, t: &str) -> &'a serde_json::Value {
        r.iter()
            .find(|x| x["query"] == json!(q) && x["qtype_name"] == json!(t))
            .unwrap_or_else(|| panic!("no record {q} {t}"))
    }

    #[test]
    fn bind_answers_records_and_zeek_fields() {
        let r = pcap_records(TYPES, App::Dns);
        let a = by_query(&r, "www.example.test", "A");
        assert_eq!(a["app"], json!("dns"));
        assert_eq!(a["answers"], json!(["192.0.2.10"]));
        assert_eq!(a["AA"], json!(true));
        // dig sets AD in its queries (RFC 6840 §5.7): Zeek's Z is the
        // three bits Z, AD, CD, so 2.
        assert_eq!(a["Z"], json!(2));
        assert_eq!(a["opcode_name"], json!("query"));
        assert!(a.get("zeek_answers").is_none(), "{a}");
        // dig 9.18 sends a cookie and the +bufsize it was given; BIND
        // answers with its own 1232 and the cookie.
        assert_eq!(a["query_edns"]["udp_size"], json!(4096));
        assert!(a["query_edns"]["options"][0]
            .as_str()
            .unwrap()
            .starts_with("COOKIE "));
        let mx = by_query(&r, "example.test", "MX");
        assert_eq!(mx["answers"], json!(["10 mail.example.test"]));
        assert_eq!(mx["zeek_answers"], json!(["mail.example.test"]));
        let caa = by_query(&r, "example.test", "CAA");
        assert_eq!(caa["zeek_answers"], json!([null, null]));
        // +dnssec: the DO bit.
        let k = by_query(&r, "example.test", "DNSKEY");
        assert_eq!(k["query_edns"]["do"], json!(true));
        assert_eq!(k["response_edns"]["do"], json!(true));
        // +nsid +subnet.
        let n = r
            .iter()
            .find(|x| {
                x["query_edns"]["options"]
                    .to_string()
                    .contains("ECS 192.0.2.0/24/0")
            })
            .expect("the +subnet query");
        assert!(n["query_edns"]["options"].to_string().contains("\"NSID\""));
        assert!(n["response_edns"]["options"]
            .to_string()
            .contains("NSID 6e73312e6e6574736966742e74657374"));
        assert!(n["response_edns"]["options"]
            .to_string()
            .contains("(\\\"ns1.netsift.test\\\")"));
        // NXDOMAIN with SOA and NSEC in the authority section: an answer,
        // not a refusal (Zeek's rule: some record came back).
        let nx = by_query(&r, "nothere.example.test", "A");
        assert_eq!(nx["rcode_name"], json!("NXDOMAIN"));
        assert_eq!(nx["rejected"], json!(false));
        // REFUSED (no such zone) carrying only BIND's OPT record: rejected.
        // Zeek counts the OPT pseudo-record and writes F; netsift does not
        // count it, since an OPT record answers nothing.
        let rf = by_query(&r, "www.elsewhere.test", "A");
        assert_eq!(rf["rcode_name"], json!("REFUSED"));
        assert_eq!(rf["rejected"], json!(true));
        assert!(rf.get("answers").is_none());
        // An unnamed type keeps Zeek's "query-<n>" spelling.
        let u = r.iter().find(|x| x["qtype"] == json!(65280)).unwrap();
        assert_eq!(u["qtype_name"], json!("query-65280"));
        assert_eq!(u["answers"], json!(["\\# 4 0A000001"]));
    }

    #[test]
    fn badvers_reads_from_the_extended_rcode() {
        // dig +edns=1: BIND answers EDNS version 0 with BADVERS (RFC 6891
        // §6.1.3), whose low 4 bits in the header are 0.
        let r = pcap_records(TYPES, App::Dns);
        let b = r
            .iter()
            .find(|x| x["query_edns"]["version"] == json!(1))
            .expect("the +edns=1 query");
        assert_eq!(b["rcode_name"], json!("NOERROR"));
        assert_eq!(b["response_edns"]["ext_rcode"], json!(1));
        assert_eq!(b["response_edns"]["rcode_name"], json!("BADVERS"));
    }

    #[test]
    fn nsupdate_is_an_update_not_a_query() {
        let r = pcap_records(TYPES, App::Dns);
        let u = r
            .iter()
            .find(|x| x["opcode"] == json!(5) && x["prereqs"].is_array())
            .expect("the unsigned update");
        assert_eq!(u["opcode_name"], json!("dynamic-update"));
        // RFC 2136 §2.3: the zone section names the zone, type SOA.
        assert_eq!(u["query"], json!("dyn.test"));
        assert_eq!(u["qtype_name"], json!("SOA"));
        assert_eq!(
            u["prereqs"],
            json!(["nxdomain new.dyn.test", "yxrrset old.dyn.test A"])
        );
        assert_eq!(
            u["updates"],
            json!([
                "add new.dyn.test 300 A 192.0.2.99",
                "delete old.dyn.test A",
                "add new.dyn.test 300 TXT \"added\""
            ])
        );
        assert_eq!(u["rcode_name"], json!("NOERROR"));
        assert!(u.get("answers").is_none());
        // The server's NOERROR echoes the zone alone; Zeek's rule would
        // call that rejected, which an accepted update is not.
        assert_eq!(u["rejected"], json!(false));
    }

    #[test]
    fn tsig_signed_and_forged_updates() {
        let r = pcap_records(TYPES, App::Dns);
        let u: Vec<_> = r.iter().filter(|x| x["opcode"] == json!(5)).collect();
        assert_eq!(u.len(), 3, "{u:?}");
        // RFC 8945: nsupdate -y signs with the key; BIND signs its answer.
        let signed = u
            .iter()
            .find(|x| x["updates"][0] == json!("add signed.dyn.test 300 A 192.0.2.100"))
            .unwrap();
        assert_eq!(
            signed["query_tsig"],
            json!({"key": "upd.netsift.test", "algorithm": "hmac-sha256"})
        );
        assert_eq!(signed["response_tsig"]["key"], json!("upd.netsift.test"));
        assert_eq!(signed["rcode_name"], json!("NOERROR"));
        // A wrong secret: NOTAUTH with the TSIG error BADSIG (RFC 8945
        // §5.3.2).
        let forged = u
            .iter()
            .find(|x| x["updates"][0] == json!("add forged.dyn.test 300 A 192.0.2.101"))
            .unwrap();
        assert_eq!(forged["rcode_name"], json!("NOTAUTH"));
        assert_eq!(forged["response_tsig"]["error"], json!("BADSIG"));
        assert_eq!(forged["rejected"], json!(true));
    }

    const MDNS: &[u8] = include_bytes!("../../../cli/tests/nonstd/mdns_udp5353.pcap");
    const LLMNR: &[u8] = include_bytes!("../../../cli/tests/nonstd/llmnr_udp5355.pcap");
    const NBNS: &[u8] = include_bytes!("../../../cli/tests/nonstd/netbios_udp137.pcap");

    #[test]
    fn mdns_every_multicast_message_is_a_record() {
        // avahi-daemon 0.8 probing and announcing to 224.0.0.251 (ID 0),
        // then dig's one-shot queries (ID != 0), see make.sh cap_mdns.
        let r = pcap_records(MDNS, App::Mdns);
        assert!(r.iter().all(|x| x["app"] == json!("mdns")));
        // The first one-shot query went to the group and its answer came
        // back unicast (another flow: each alone); the second one went
        // unicast and pairs.
        let probe = &r[0];
        // A probe asks several questions at once (RFC 6762 §8.1).
        assert_eq!(probe["questions"].as_array().unwrap().len(), 3, "{probe}");
        assert_eq!(
            probe["query"],
            json!("6.4.e.8.4.2.e.f.f.f.f.0.7.c.8.1.0.0.0.0.0.0.0.0.0.0.0.0.0.8.e.f.ip6.arpa")
        );
        assert_eq!(probe["qtype_name"], json!("*"));
        assert!(probe.get("rcode").is_none());
        // An announcement: no question, answers with the cache-flush bit;
        // the subject is the first answer's owner, as Zeek logs it.
        let ann = r
            .iter()
            .find(|x| x["rcode"] == json!(0) && x.get("qtype").is_none())
            .unwrap();
        assert_eq!(ann["cache_flush"], json!(true));
        assert_eq!(ann["AA"], json!(true));
        assert!(ann["query"].as_str().is_some());
        assert_eq!(ann["rejected"], json!(false));
        // The unicast one-shot query and its answer pair by ID.
        let pair = r.iter().find(|x| x["trans_id"] == json!(0xef43)).unwrap();
        assert_eq!(pair["answers"], json!(["10.99.0.1"]));
        assert!(pair["rtt"].as_f64().is_some());
    }

    #[test]
    fn mdns_unicast_response_bit() {
        // The first question of avahi's probe with its QU bit set (RFC 6762
        // §5.4): the class reads IN and the bit is reported. Zeek names the
        // raw value, "qclass-32769", which hides that the class is IN.
        let pkts = crate::testkit::ported::pcap_udp(MDNS);
        let mut m = pkts[0].3.clone();
        let (_, end) = super::parse::read_name(&m, 12).unwrap();
        m[end + 2] |= 0x80;
        let s = run_app(App::Mdns, &[(ToServer, &m, 0)]);
        let r = &s.log("dns")[0];
        assert_eq!(r["unicast_response"], json!(true));
        assert_eq!(r["qclass"], json!(0x8001));
        assert_eq!(r["qclass_name"], json!("C_INTERNET"));
    }

    fn run_app(app: App, chunks: &[(Direction, &[u8], u64)]) -> MemSink {
        let mut p = DnsParser::for_app(app);
        let mut s = MemSink::default();
        for &(d, b, ts) in chunks {
            s.ts_ns = ts;
            p.on_data(d, b, &mut s);
        }
        p.on_end(&mut s);
        s
    }

    #[test]
    fn llmnr_query_and_unicast_response() {
        // llmnrd's answer comes from the responder's address to the
        // querier's port: another flow than the multicast query, so each
        // is a record alone, as in Zeek.
        let r = pcap_records(LLMNR, App::Llmnr);
        assert_eq!(r.len(), 2, "{r:?}");
        assert!(r.iter().all(|x| x["app"] == json!("llmnr")));
        let q = r.iter().find(|x| x.get("rcode").is_none()).unwrap();
        assert_eq!(q["query"], json!("nsiftsrv"));
        assert_eq!(q["qtype_name"], json!("*"));
        let a = r.iter().find(|x| x.get("rcode").is_some()).unwrap();
        assert_eq!(a["answers"], json!(["10.99.0.1"]));
    }

    #[test]
    fn nbns_names_decoded_and_nb_answers() {
        // nmbd's registrations, nmblookup's name query and node status.
        let r = pcap_records(NBNS, App::Nbns);
        assert!(r.iter().all(|x| x["app"] == json!("nbns")));
        let reg = r
            .iter()
            .find(|x| x["opcode"] == json!(5) && x["nb_suffix"] == json!(0x20))
            .unwrap();
        assert_eq!(reg["query"], json!("NSIFTSRV"));
        assert_eq!(reg["opcode_name"], json!("netbios-registration"));
        // NB is NetBIOS's own type 0x20; Zeek calls it "NIMLOC", the DNS
        // type of the same number, which is not what was asked.
        assert_eq!(reg["qtype_name"], json!("NB"));
        let q = r
            .iter()
            .find(|x| x["query"] == json!("NSIFTSRV") && x.get("rcode").is_some())
            .unwrap();
        assert_eq!(q["nb_suffix"], json!(0));
        assert_eq!(q["opcode_name"], json!("netbios-query"));
        // Zeek writes no answer for NB records; netsift the address.
        assert_eq!(q["answers"], json!(["10.99.0.1"]));
        assert_eq!(q["zeek_answers"], json!([null]));
        let st = r
            .iter()
            .find(|x| x["qtype_name"] == json!("NBSTAT"))
            .unwrap();
        assert_eq!(st["query"], json!("*"));
        let names = st["answers"][0].as_str().unwrap();
        assert!(
            names.contains("NSIFTSRV<00>") && names.contains(" mac "),
            "{names}"
        );
    }

    #[test]
    fn nbns_parser_ignores_datagram_and_session_service() {
        let dgm = include_bytes!("../netbios/testdata/nbdgm_browser.bin");
        let ss = include_bytes!("../netbios/testdata/nbss_smb1_negotiate.bin");
        let s = run_app(App::Nbns, &[(ToServer, dgm, 0), (ToServer, ss, 1)]);
        assert!(s.log("dns").is_empty(), "{:?}", s.records);
        let mut p = DnsParser::for_app(App::Nbns);
        let mut s = MemSink::default();
        p.on_gap(ToServer, 10, &mut s);
        p.on_data(ToServer, ss, &mut s);
        p.on_end(&mut s);
        assert!(s.log("dns").is_empty());
    }

    #[test]
    fn many_records_and_questions_are_bounded() {
        // One response with 200 A records and 40 questions.
        let mut m = vec![0x12, 0x34, 0x84, 0x00, 0, 40, 0, 200, 0, 0, 0, 0];
        for _ in 0..40 {
            m.extend_from_slice(&[1, b'a', 0, 0, 1, 0, 1]);
        }
        for i in 0..200u8 {
            m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, i]);
        }
        let s = run(&[(ToClient, &m, 0)]);
        let r = &s.log("dns")[0];
        assert_eq!(r["answers"].as_array().unwrap().len(), parse::MAX_ANSWERS);
        assert_eq!(
            r["questions"].as_array().unwrap().len(),
            parse::MAX_QUESTIONS
        );
    }

    /// Where netsift keeps the message's value and Zeek's dns.log writes
    /// an artefact of its scripts (docs/zeek.md lists these).
    #[test]
    fn zeek_exceptions_keep_the_messages_values() {
        let r = pcap_records(TYPES, App::Dns);
        // NXDOMAIN without answers: Zeek sets AA/RA and rtt only in its
        // answer handler, so it writes AA F and no rtt for this reply whose
        // header says AA and which came back after a measurable time.
        let nx = by_query(&r, "nothere.example.test", "A");
        assert_eq!(nx["AA"], json!(true));
        assert!(nx["rtt"].as_f64().unwrap() > 0.0);
        // TC: Zeek copies the query's bit (never set); a truncated reply
        // is what TC is for.
        let mut resp = U2.to_vec();
        resp[2] |= 0x02;
        let s = run(&[(ToServer, U1, 0), (ToClient, &resp, 1)]);
        assert_eq!(s.log("dns")[0]["TC"], json!(true));
        // A reply seen alone: RD and Z are the reply's (RFC 1035 §4.1.1:
        // RD "is copied into the response"); Zeek only reads them from a
        // query and writes F / 0.
        let s = run(&[(ToClient, U2, 0)]);
        assert_eq!(s.log("dns")[0]["RD"], json!(true));
        // mDNS: several questions are all kept, `query` is the first; Zeek
        // overwrites its field per question and so logs the last.
        let m = pcap_records(MDNS, App::Mdns);
        let q = &m[0];
        assert_eq!(
            q["questions"][0].as_str().unwrap(),
            format!("{} *", q["query"].as_str().unwrap())
        );
    }
}
