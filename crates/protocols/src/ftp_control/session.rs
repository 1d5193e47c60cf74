//! The FTP control-connection parser: the "ftp" log, and the files carried
//! by the linked data connections.
//!
//! Commands (RFC 959 §5.3.1: `<verb> [SP <arg>] CRLF`) queue up; each
//! reply (RFC 959 §4.2, multi-line form collected) goes to the oldest
//! waiting command. 1yz replies are preliminary (§4.2.1: "Positive
//! Preliminary reply ... expect another reply before proceeding"): they
//! leave the command waiting, and a 150's "(N bytes)" gives the size. The
//! record is written at the final (2yz..5yz) reply.
//!
//! Data connections: every PORT/EPRT command and 227/229 reply is passed
//! to `Sink::expect_linked`; the engine then hands the data connection's
//! bytes to [`Parser::on_linked_data`]. A link is owned by the oldest
//! transfer command (RETR/STOR/STOU/APPE/LIST/NLST) that has no link yet,
//! whichever of the two is seen first; bytes of a link whose command is not
//! known yet are buffered up to 1 MiB, then carved without a name. The
//! file is opened once its owner has a 150 reply, a final reply, or its
//! connection ended (so the 150's size can go in `expected_size`).
//!
//! EPSV announces no address (RFC 2428 §3: the control connection's server
//! address is implied); it is passed to `expect_linked` as `0.0.0.0`, for
//! the engine to read as "the control connection's server".

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr};

use netsift_proto::{Direction, FileId, FileMeta, Parser, Record, Sink};

use super::data_channel::{parse_data_channel, Connector, DataChannel};
use super::record::{DataChannelRec, FtpRecord};
use super::reply::reply_line;
use crate::heap::{str_heap, strs_heap};

/// Longest line kept (a command or a reply line).
const MAX_LINE: usize = 8 * 1024;
/// Most commands waiting for a reply.
const MAX_PENDING: usize = 64;
/// Most lines of one multi-line reply kept for the message.
const MAX_REPLY_TEXT: usize = 1024;
/// Link bytes buffered before the owning command is known.
const MAX_LINK_BUF: usize = 1024 * 1024;
/// Most links / transfers tracked at once.
const MAX_LINKS: usize = 64;
const MAX_WEIRD: usize = 16;

fn push_weird(w: &mut Vec<String>, s: impl Into<String>) {
    if w.len() < MAX_WEIRD {
        w.push(s.into());
    }
}

struct Cmd {
    ts_ns: u64,
    rec: FtpRecord,
    /// Index (sequence number) of the transfer this command started.
    transfer: Option<u64>,
    /// AUTH: a 234 reply switches the connection to TLS (RFC 4217 §4).
    is_auth: bool,
}

struct Transfer {
    seq: u64,
    name: Option<String>,
    dir: Direction,
    /// From the 150 reply "(N bytes)".
    expected: Option<u64>,
    /// A 150 or final reply was seen: the file can be opened.
    replied: bool,
    link: Option<u32>,
}

struct Link {
    id: u32,
    owner: Option<u64>,
    buf: Vec<u8>,
    bytes: u64,
    file: Option<FileId>,
    /// The file was opened (or refused): no more buffering.
    opened: bool,
    ended: bool,
}

/// Reply being collected.
struct Reply {
    code: u16,
    text: String,
    multi: bool,
}

/// Per-connection FTP parser.
#[derive(Default)]
pub struct FtpParser {
    line: [Vec<u8>; 2],
    /// Discarding until the next LF (after an over-long line or a gap).
    skip: [bool; 2],
    reply: Option<Reply>,
    banner: Option<String>,
    banner_written: bool,
    user: Option<String>,
    pending: VecDeque<Cmd>,
    /// The last announced data channel, for the next transfer's record.
    channel: Option<DataChannelRec>,
    transfers: VecDeque<Transfer>,
    next_seq: u64,
    links: Vec<Link>,
    /// AUTH TLS accepted: the rest of the connection is encrypted.
    encrypted: bool,
    /// AUTH was just accepted: the hand-over to TLS is to report.
    handover: bool,
    /// `on_end` is running: unowned links are carved now.
    ending: bool,
    weird: Vec<String>,
    records: usize,
}

/// Heap bytes of a record's strings.
fn rec_heap(r: &FtpRecord) -> usize {
    [
        &r.banner,
        &r.server_software,
        &r.server_version,
        &r.user,
        &r.arg,
        &r.reply_msg,
        &r.file_name,
    ]
    .iter()
    .map(|s| str_heap(s))
    .sum::<usize>()
        + r.command.capacity()
        + r.data_channel.as_ref().map_or(0, |d| str_heap(&d.resp_h))
        + strs_heap(&r.weird)
}

fn idx(d: Direction) -> usize {
    match d {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

/// "(1048576 bytes)" in a 150 reply (RFC 959 does not define it; vsftpd,
/// ProFTPD, wu-ftpd and IIS all send "(N bytes)").
fn size_in_150(text: &str) -> Option<u64> {
    let end = text.find(" bytes)")?;
    let start = text.get(..end)?.rfind('(')?;
    text.get(start + 1..end)?.trim().parse().ok()
}

fn channel_rec(dc: &DataChannel) -> DataChannelRec {
    DataChannelRec {
        passive: dc.connector == Connector::ClientToServer,
        resp_h: dc.addr.map(|a| a.to_string()),
        resp_p: dc.port,
    }
}

/// A reply line with any 3-digit code of at least 100 (RFC 959 §4.2: "A
/// reply is defined to contain the 3-digit code, followed by Space <SP>"
/// or, for the first line of a multi-line reply, "Hyphen"), for codes
/// [`reply_line`] refuses as outside §4.2.1's ranges.
fn any_reply_code(l: &[u8]) -> Option<(u16, u8, &[u8])> {
    let (code, rest) = l.split_at_checked(3)?;
    if !code.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = code.iter().fold(0u16, |n, &d| n * 10 + u16::from(d - b'0'));
    if code < 100 {
        return None;
    }
    match rest.split_first() {
        None => Some((code, b' ', &[][..])),
        Some((&s @ (b' ' | b'-'), t)) => Some((code, s, t)),
        Some(_) => None,
    }
}

/// Whether `code` is a reply RFC 959 §5.4 ("Command-Reply Sequences")
/// lists for `verb` (extensions: RFC 2228, RFC 2389, RFC 2428, RFC 3659).
/// Every command may get 421 (service closing, §4.2.2) and the syntax
/// errors 500, 501, 502 and 530 (not logged in); unknown verbs fit any
/// code (nothing says what they get).
fn reply_fits(verb: &str, code: u16) -> bool {
    if matches!(code, 421 | 500 | 501 | 502 | 530) {
        return true;
    }
    let ok: &[u16] = match verb {
        "USER" => &[230, 331, 332],
        "PASS" => &[230, 202, 332, 503],
        "ACCT" => &[230, 202, 503],
        "CWD" | "XCWD" => &[250, 550],
        "CDUP" | "XCUP" => &[200, 250, 550],
        "SMNT" => &[202, 250, 550],
        "REIN" => &[120, 220],
        "QUIT" => &[221],
        "PORT" | "EPRT" => &[200, 522],
        "PASV" => &[227],
        "EPSV" => &[229],
        "TYPE" | "STRU" | "MODE" => &[200, 504],
        "ALLO" => &[200, 202, 504],
        "REST" => &[350],
        "RETR" | "STOR" | "STOU" | "APPE" | "LIST" | "NLST" | "MLSD" => &[
            110, 125, 150, 226, 250, 425, 426, 450, 451, 452, 532, 550, 551, 552, 553,
        ],
        "RNFR" => &[350, 450, 550],
        "RNTO" => &[250, 503, 532, 553],
        "DELE" | "RMD" | "XRMD" => &[250, 450, 550],
        "MKD" | "XMKD" | "PWD" | "XPWD" => &[257, 550],
        "ABOR" => &[225, 226],
        "SYST" => &[215],
        "STAT" => &[211, 212, 213, 450],
        "HELP" => &[211, 214],
        "SITE" => &[200, 202, 214],
        "NOOP" => &[200],
        "FEAT" => &[211],
        "OPTS" => &[200, 451],
        "SIZE" | "MDTM" => &[213, 550],
        "MLST" => &[250, 550],
        "AUTH" => &[234, 334, 431, 504, 534],
        "PBSZ" | "PROT" => &[200, 503, 504, 534, 536],
        _ => return true,
    };
    ok.contains(&code)
}

impl FtpParser {
    pub fn new() -> Self {
        Self::default()
    }

    fn transfer_mut(&mut self, seq: u64) -> Option<&mut Transfer> {
        self.transfers.iter_mut().find(|t| t.seq == seq)
    }

    fn announce(&mut self, dc: &DataChannel, sink: &mut dyn Sink) {
        self.channel = Some(channel_rec(dc));
        let addr = dc.addr.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        sink.expect_linked(addr, dc.port);
    }

    fn emit(&mut self, ts: u64, mut rec: FtpRecord, sink: &mut dyn Sink) {
        if !self.banner_written {
            rec.banner = self.banner.take();
            if let Some(f) = rec
                .banner
                .as_deref()
                .and_then(|b| crate::banner::fingerprint("ftp", b))
            {
                rec.server_software = Some(f.software);
                rec.server_version = f.version;
            }
            self.banner_written = true;
        }
        for w in self.weird.drain(..) {
            push_weird(&mut rec.weird, w);
        }
        self.records += 1;
        sink.record_at("ftp", ts, Record::typed(rec));
    }

    fn client_line(&mut self, line: &[u8], sink: &mut dyn Sink) {
        if line.is_empty() {
            return;
        }
        // RFC 959 §5.3.1: "The command codes themselves are alphabetic
        // characters terminated by the character <SP> (Space) if parameters
        // follow and Telnet-EOL otherwise."
        let (verb, arg) = match line.iter().position(|&b| b == b' ') {
            Some(i) => (line.get(..i).unwrap_or(line), line.get(i + 1..)),
            None => (line, None),
        };
        let verb = String::from_utf8_lossy(verb).to_ascii_uppercase();
        let verb = netsift_proto::printable(verb.as_bytes(), 32);
        let arg_s = arg.map(|a| {
            String::from_utf8(a.to_vec()).unwrap_or_else(|_| netsift_proto::printable(a, MAX_LINE))
        });
        let mut rec = FtpRecord {
            command: verb.clone(),
            ..Default::default()
        };
        match verb.as_str() {
            "USER" => self.user = arg_s.clone(),
            // Never log the password.
            "PASS" => {}
            _ => {}
        }
        rec.user = self.user.clone();
        rec.arg = if verb == "PASS" {
            arg.map(|_| "<hidden>".to_string())
        } else {
            arg_s.clone()
        };
        // RFC 959 §4.1.2 PORT / RFC 2428 §2 EPRT: the client announces
        // where the server will connect.
        if let Some(dc) = parse_data_channel(line) {
            self.announce(&dc, sink);
        }
        let mut transfer = None;
        // RFC 959 §4.1.3: RETR, STOR, STOU, APPE, LIST, NLST use the data
        // connection.
        let xfer = match verb.as_str() {
            "RETR" => Some(("download", Direction::ToClient, true)),
            "LIST" | "NLST" | "MLSD" => Some(("download", Direction::ToClient, false)),
            "STOR" | "APPE" | "STOU" => Some(("upload", Direction::ToServer, true)),
            _ => None,
        };
        if let Some((direction, dir, named)) = xfer {
            rec.direction = Some(direction);
            rec.data_channel = self.channel.clone();
            if named {
                rec.file_name = arg_s.clone();
            }
            let seq = self.next_seq;
            self.next_seq += 1;
            if self.transfers.len() >= MAX_LINKS {
                self.transfers.pop_front();
            }
            // The oldest link without an owner is this command's.
            let link = self.links.iter_mut().find(|l| l.owner.is_none()).map(|l| {
                l.owner = Some(seq);
                l.id
            });
            self.transfers.push_back(Transfer {
                seq,
                name: if named { arg_s } else { None },
                dir,
                expected: None,
                replied: false,
                link,
            });
            transfer = Some(seq);
            if let Some(id) = link {
                self.link_progress(id, sink);
            }
        }
        if self.pending.len() >= MAX_PENDING {
            if let Some(old) = self.pending.pop_front() {
                let mut r = old.rec;
                push_weird(&mut r.weird, "ftp_too_many_pending_commands");
                self.emit(old.ts_ns, r, sink);
            }
        }
        self.pending.push_back(Cmd {
            ts_ns: sink.ts_ns(),
            rec,
            transfer,
            is_auth: verb == "AUTH",
        });
    }

    fn server_line(&mut self, line: &[u8], sink: &mut dyn Sink) {
        // RFC 959 §4.2: "Thus the format for multi-line replies is that the
        // first line will begin with the exact required reply code,
        // followed immediately by a Hyphen ... The last line will begin
        // with the same code, followed immediately by Space".
        let parsed = reply_line(line);
        if let Some(r) = self.reply.as_mut() {
            let last = matches!(parsed, Some((c, b' ', _)) if c == r.code);
            let text = match parsed {
                Some((c, _, t)) if c == r.code => t,
                _ => line,
            };
            if r.text.len() < MAX_REPLY_TEXT {
                r.text.push(' ');
                r.text.push_str(&netsift_proto::printable(
                    text,
                    MAX_REPLY_TEXT - r.text.len(),
                ));
            }
            if last {
                if let Some(r) = self.reply.take() {
                    self.reply_done(r, sink);
                }
            }
            return;
        }
        let Some((code, sep, text)) = parsed.or_else(|| any_reply_code(line)) else {
            push_weird(&mut self.weird, "ftp_bad_reply_line");
            return;
        };
        if parsed.is_none() {
            // A code outside RFC 959 §4.2.1's ranges (first digit 1-5,
            // second 0-5) still answers a command: dropping it would give
            // the next reply (a 221 to QUIT) to the command it answered.
            push_weird(
                &mut self.weird,
                format!("ftp_reply_code_out_of_range {code}"),
            );
        }
        let text = String::from_utf8(text.to_vec())
            .unwrap_or_else(|_| netsift_proto::printable(text, MAX_REPLY_TEXT));
        let r = Reply {
            code,
            text,
            multi: sep == b'-',
        };
        if r.multi {
            self.reply = Some(r);
        } else {
            self.reply_done(r, sink);
        }
    }

    /// Which waiting command a reply answers. RFC 959 §4.2: "each command
    /// must generate at least one reply", in order; the oldest waiting
    /// command is the answer unless the code is not one its command can
    /// get (§5.4), and a later waiting command can: then the server skipped
    /// or lost a reply (an invalid line before it, a capture gap), and
    /// pairing in order would shift every later pair by one ("221" after a
    /// PASV whose reply went missing belongs to QUIT). Zeek matches the
    /// same way (codes per command from RFC 959 §5.4).
    fn answered(&self, code: u16) -> Option<usize> {
        if self.pending.is_empty() {
            return None;
        }
        let fits = |c: &Cmd| reply_fits(&c.rec.command, code);
        match self.pending.front() {
            Some(front) if fits(front) => Some(0),
            _ => Some(self.pending.iter().position(fits).unwrap_or(0)),
        }
    }

    fn reply_done(&mut self, r: Reply, sink: &mut dyn Sink) {
        let _ = r.multi;
        // RFC 959 §4.1.1 PASV "227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)",
        // RFC 2428 §3 EPSV "229 Entering Extended Passive Mode (|||port|)".
        if r.code == 227 || r.code == 229 {
            let l = format!("{} {}", r.code, r.text);
            if let Some(dc) = parse_data_channel(l.as_bytes()) {
                self.announce(&dc, sink);
            }
        }
        let Some(at) = self.answered(r.code) else {
            // RFC 959 §5.4: the greeting is 120, 220 or 421 before any
            // command.
            if self.banner.is_none() && !self.banner_written && self.records == 0 {
                self.banner = Some(format!("{} {}", r.code, r.text));
            } else {
                // A reply no command waits for: RFC 959 §4.2.2's "421
                // Service not available, closing control connection" ("This
                // may be a reply to any command if the service knows it
                // must shut down"), sent on an idle timeout; or a capture
                // that missed the command. Its own record, so it is seen.
                let mut rec = FtpRecord {
                    command: "<unsolicited>".into(),
                    user: self.user.clone(),
                    reply_code: Some(r.code),
                    reply_msg: Some(r.text),
                    ..Default::default()
                };
                push_weird(&mut rec.weird, "ftp_reply_without_command");
                let ts = sink.ts_ns();
                self.emit(ts, rec, sink);
            }
            return;
        };
        if r.code < 200 {
            // Preliminary: the command waits for its final reply.
            if let Some(seq) = self.pending.get(at).and_then(|c| c.transfer) {
                let size = size_in_150(&r.text);
                if let Some(t) = self.transfer_mut(seq) {
                    t.replied = true;
                    if t.expected.is_none() {
                        t.expected = size;
                    }
                    if let Some(id) = t.link {
                        self.link_progress(id, sink);
                    }
                }
            }
            return;
        }
        let Some(cmd) = self.pending.remove(at) else {
            return;
        };
        let mut rec = cmd.rec;
        rec.reply_code = Some(r.code);
        rec.reply_msg = Some(r.text);
        if let Some(seq) = cmd.transfer {
            let link_bytes = |links: &Vec<Link>, id: Option<u32>| {
                id.and_then(|id| links.iter().find(|l| l.id == id).map(|l| l.bytes))
            };
            if let Some(t) = self.transfers.iter_mut().find(|t| t.seq == seq) {
                t.replied = true;
                let link = t.link;
                rec.file_size = t.expected.or_else(|| link_bytes(&self.links, link));
                if let Some(id) = link {
                    self.link_progress(id, sink);
                }
            }
        }
        // RFC 4217 §4: "234 ... the server will then begin the TLS
        // negotiation" — the rest is not FTP text any more.
        if cmd.is_auth && r.code == 234 {
            self.encrypted = true;
            self.handover = true;
        }
        self.emit(cmd.ts_ns, rec, sink);
    }

    /// Open the link's file when its owner is known well enough, flush the
    /// buffer, close it when the connection ended.
    fn link_progress(&mut self, id: u32, sink: &mut dyn Sink) {
        let Some(li) = self.links.iter().position(|l| l.id == id) else {
            return;
        };
        let owner = self.links.get(li).and_then(|l| l.owner);
        let t = owner.and_then(|s| self.transfers.iter().find(|t| t.seq == s));
        let (meta, expected) = match t {
            Some(t) => (
                FileMeta {
                    source: "FTP_DATA",
                    name: t.name.clone(),
                    dir: Some(t.dir),
                    expected_size: t.expected,
                    ..Default::default()
                },
                t.expected,
            ),
            None => (
                FileMeta {
                    source: "FTP_DATA",
                    ..Default::default()
                },
                None,
            ),
        };
        let replied = t.is_some_and(|t| t.replied);
        let Some(l) = self.links.get_mut(li) else {
            return;
        };
        // Open when the owner is known and has a reply or its connection
        // ended; without an owner only when the buffer is full or the
        // control connection ends (a later command may still claim it).
        let full = l.buf.len() >= MAX_LINK_BUF;
        let ready = if owner.is_some() {
            replied || l.ended || full
        } else {
            full || self.ending
        };
        if !l.opened && ready {
            l.opened = true;
            if l.bytes > 0 || owner.is_some() {
                l.file = sink.file_open(meta);
            }
            let buf = std::mem::take(&mut l.buf);
            if let Some(f) = l.file {
                sink.file_data(f, &buf);
            }
        }
        if l.ended && l.opened {
            if let Some(f) = l.file.take() {
                // Complete when the size matches the 150 reply's, or the
                // data connection ended when no size was announced.
                let complete = expected.is_none_or(|e| e == l.bytes);
                sink.file_close(f, complete);
            }
        }
    }

    fn feed_lines(&mut self, dir: Direction, data: &[u8], sink: &mut dyn Sink) {
        let i = idx(dir);
        let mut rest = data;
        while !rest.is_empty() && !self.encrypted {
            let nl = rest.iter().position(|&b| b == b'\n');
            let (chunk, after) = match nl {
                Some(p) => (
                    rest.get(..p).unwrap_or(&[]),
                    rest.get(p + 1..).unwrap_or(&[]),
                ),
                None => (rest, &[][..]),
            };
            rest = after;
            if self.skip[i] {
                if nl.is_some() {
                    self.skip[i] = false;
                }
                continue;
            }
            let buf = &mut self.line[i];
            if buf.len() + chunk.len() > MAX_LINE {
                push_weird(&mut self.weird, "ftp_line_too_long");
                *buf = Vec::new();
                self.skip[i] = nl.is_none();
                continue;
            }
            buf.extend_from_slice(chunk);
            if nl.is_none() {
                break;
            }
            let mut line = std::mem::take(buf);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            match dir {
                Direction::ToServer => self.client_line(&line, sink),
                Direction::ToClient => self.server_line(&line, sink),
            }
        }
    }
}

impl crate::starttls::Upgradable for FtpParser {
    fn take_handover(&mut self) -> Option<crate::starttls::Handover> {
        std::mem::take(&mut self.handover).then(crate::starttls::Handover::after_all)
    }
    fn awaiting_answer(&self) -> bool {
        self.pending.iter().any(|c| c.is_auth)
    }
}

impl Parser for FtpParser {
    /// Both directions' partial lines, a multi-line reply being collected,
    /// the commands waiting for replies (with their records' strings), the
    /// transfers, and the data links' bytes held until their command is
    /// known (up to 1 MiB each).
    fn buffered(&self) -> usize {
        self.line.iter().map(Vec::capacity).sum::<usize>()
            + self.reply.as_ref().map_or(0, |r| r.text.capacity())
            + str_heap(&self.banner)
            + str_heap(&self.user)
            + self.pending.capacity() * std::mem::size_of::<Cmd>()
            + self.pending.iter().map(|c| rec_heap(&c.rec)).sum::<usize>()
            + self.channel.as_ref().map_or(0, |d| str_heap(&d.resp_h))
            + self.transfers.capacity() * std::mem::size_of::<Transfer>()
            + self
                .transfers
                .iter()
                .map(|t| str_heap(&t.name))
                .sum::<usize>()
            + self.links.capacity() * std::mem::size_of::<Link>()
            + self.links.iter().map(|l| l.buf.capacity()).sum::<usize>()
            + strs_heap(&self.weird)
    }

    fn on_data(&mut self, dir: Direction, data: &[u8], sink: &mut dyn Sink) {
        self.feed_lines(dir, data, sink);
    }

    fn on_gap(&mut self, dir: Direction, _len: u64, _sink: &mut dyn Sink) {
        // Resync at the next line.
        let i = idx(dir);
        self.line[i] = Vec::new();
        self.skip[i] = true;
        if dir == Direction::ToClient {
            self.reply = None;
        }
        push_weird(&mut self.weird, "ftp_gap");
    }

    fn on_linked_data(
        &mut self,
        link: u32,
        _dir: Direction,
        data: &[u8],
        end: bool,
        sink: &mut dyn Sink,
    ) {
        if !self.links.iter().any(|l| l.id == link) {
            if self.links.len() >= MAX_LINKS {
                // Forget the oldest finished link.
                match self.links.iter().position(|l| l.ended && l.opened) {
                    Some(p) => {
                        self.links.remove(p);
                    }
                    None => return,
                }
            }
            // The oldest transfer without a link owns it.
            let owner = self
                .transfers
                .iter_mut()
                .find(|t| t.link.is_none())
                .map(|t| {
                    t.link = Some(link);
                    t.seq
                });
            self.links.push(Link {
                id: link,
                owner,
                buf: Vec::new(),
                bytes: 0,
                file: None,
                opened: false,
                ended: false,
            });
        }
        if let Some(l) = self.links.iter_mut().find(|l| l.id == link) {
            // Either direction carries the file (the other is empty).
            l.bytes += data.len() as u64;
            if l.opened {
                if let Some(f) = l.file {
                    sink.file_data(f, data);
                }
            } else {
                let room = MAX_LINK_BUF.saturating_sub(l.buf.len());
                let (now, later) = data.split_at(room.min(data.len()));
                l.buf.extend_from_slice(now);
                if !later.is_empty() {
                    // Buffer full: open (named or not), then stream.
                    self.link_progress(link, sink);
                    if let Some(l) = self.links.iter_mut().find(|l| l.id == link) {
                        if let Some(f) = l.file {
                            sink.file_data(f, later);
                        }
                    }
                }
            }
            if end {
                if let Some(l) = self.links.iter_mut().find(|l| l.id == link) {
                    l.ended = true;
                }
            }
        }
        self.link_progress(link, sink);
    }

    fn on_end(&mut self, sink: &mut dyn Sink) {
        if self.reply.is_some() {
            push_weird(&mut self.weird, "ftp_unterminated_reply");
        }
        while let Some(cmd) = self.pending.pop_front() {
            let mut rec = cmd.rec;
            if let Some(seq) = cmd.transfer {
                let link = self
                    .transfers
                    .iter()
                    .find(|t| t.seq == seq)
                    .and_then(|t| t.link);
                rec.file_size = self
                    .transfers
                    .iter()
                    .find(|t| t.seq == seq)
                    .and_then(|t| t.expected)
                    .or_else(|| {
                        link.and_then(|id| self.links.iter().find(|l| l.id == id).map(|l| l.bytes))
                    });
            }
            self.emit(cmd.ts_ns, rec, sink);
        }
        if self.banner.is_some() && !self.banner_written {
            let rec = FtpRecord {
                command: "<banner>".into(),
                ..Default::default()
            };
            let ts = sink.ts_ns();
            self.emit(ts, rec, sink);
        }
        // Links still open: flush and close; cut unless sizes match.
        self.ending = true;
        let ids: Vec<u32> = self.links.iter().map(|l| l.id).collect();
        for id in ids {
            let expected = self
                .links
                .iter()
                .find(|l| l.id == id)
                .and_then(|l| l.owner)
                .and_then(|s| self.transfers.iter().find(|t| t.seq == s))
                .and_then(|t| t.expected);
            if let Some(l) = self.links.iter_mut().find(|l| l.id == id) {
                if !l.opened {
                    l.ended = true;
                    self.link_progress(id, sink);
                } else if let Some(f) = l.file.take() {
                    sink.file_close(f, expected.is_some_and(|e| e == l.bytes));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! testdata/*.ev: the packets of one control connection and its data
    //! connections, in capture order, written by testdata/mkevents.py
    //! (kind u8: 0 control, k+1 data link k; dir u8: 0 from the
    //! connection's initiator; ts_us u64 LE; len u32 LE; payload).
    //! * sess_pasv / sess_port / sess_epsv / sess_eprt.ev:
    //!   crates/cli/tests/nonstd/ftp_tcp8443.pcap streams 0+1, 2+3, 4+5,
    //!   6+7 (pyftpdlib, curl RETR numbers.txt = 1492 bytes, 125 replies)
    //! * sess_vsftpd_list.ev: ftp.pcap streams 0 (control) + 1 (the LIST
    //!   listing); the RETR 1MB.zip data stream is left out.
    use super::*;
    use netsift_proto::{Direction::*, MemSink};
    use serde_json::json;

    struct Ev<'a> {
        kind: u8,
        dir: Direction,
        ts: u64,
        data: &'a [u8],
    }

    fn events(mut b: &[u8]) -> Vec<Ev<'_>> {
        let mut v = Vec::new();
        while b.len() >= 14 {
            let len = u32::from_le_bytes(b[10..14].try_into().unwrap()) as usize;
            v.push(Ev {
                kind: b[0],
                dir: if b[1] == 0 { ToServer } else { ToClient },
                ts: u64::from_le_bytes(b[2..10].try_into().unwrap()) * 1000,
                data: &b[14..14 + len],
            });
            b = &b[14 + len..];
        }
        v
    }

    /// Replay; control payloads cut into `chunk`-byte pieces; the data
    /// connection's end is signalled after its last packet.
    fn replay(evs: &[Ev<'_>], chunk: usize) -> MemSink {
        let mut p = FtpParser::new();
        let mut s = MemSink::default();
        let last_of = |k: u8| evs.iter().rposition(|e| e.kind == k);
        for (n, e) in evs.iter().enumerate() {
            s.ts_ns = e.ts;
            if e.kind == 0 {
                for c in e.data.chunks(chunk) {
                    p.on_data(e.dir, c, &mut s);
                }
            } else {
                let end = last_of(e.kind) == Some(n);
                p.on_linked_data(u32::from(e.kind - 1), e.dir, e.data, end, &mut s);
            }
        }
        p.on_end(&mut s);
        s
    }

    const PASV: &[u8] = include_bytes!("testdata/sess_pasv.ev");
    const PORT: &[u8] = include_bytes!("testdata/sess_port.ev");
    const EPSV: &[u8] = include_bytes!("testdata/sess_epsv.ev");
    const EPRT: &[u8] = include_bytes!("testdata/sess_eprt.ev");
    const VSFTPD: &[u8] = include_bytes!("testdata/sess_vsftpd_list.ev");

    /// (command, reply code) of each record, in the order written.
    fn pairs(s: &MemSink) -> Vec<(String, Option<u64>)> {
        s.log("ftp")
            .iter()
            .map(|r| {
                (
                    r["command"].as_str().unwrap().to_string(),
                    r["reply_code"].as_u64(),
                )
            })
            .collect()
    }

    /// crates/cli/tests/edge/ftp_quirks.pcap (make-edge.sh ftp_quirks): a
    /// python server answers PASV with "600" (outside RFC 959 §4.2.1's
    /// ranges), STAT with a multi-line 211 reply whose inner lines begin
    /// with digits ("200 files...", "2024-06-01...", "211-..."), and the
    /// pipelined NOOP and QUIT in order.
    #[test]
    fn invalid_code_and_digit_lines_keep_pairs() {
        let evs = events(include_bytes!("testdata/sess_quirks.ev"));
        let s = replay(&evs, usize::MAX);
        let want = [
            ("USER", Some(331)),
            ("PASS", Some(230)),
            ("PASV", Some(600)),
            ("STAT", Some(211)),
            ("NOOP", Some(200)),
            ("QUIT", Some(221)),
        ]
        .map(|(c, r)| (c.to_string(), r));
        assert_eq!(pairs(&s), want);
        let r = s.log("ftp");
        assert_eq!(r[2]["weird"], json!(["ftp_reply_code_out_of_range 600"]));
        // RFC 959 §4.2: only "211 " ends the reply; the inner lines are
        // its text. (Zeek takes an inner "NNN text" line with ten printable
        // characters for a reply of its own, a guess for servers that never
        // close a multi-line reply; netsift keeps the RFC's rule.)
        assert_eq!(
            r[3]["reply_msg"],
            "Status of quirky: 200 files are stored here 2024-06-01 last restart \
             still the same reply  226 padded as RFC 959 asks End of status"
        );
        assert_eq!(replay(&evs, 1).records, s.records);

        // The same session with the PASV's reply line unreadable (no reply
        // code at all): the PASV stays unanswered, and STAT's 211, NOOP's
        // 200 and QUIT's 221 still go to their own commands (each code is
        // one RFC 959 §5.4 lists for its command, none is PASV's 227).
        let mangled: Vec<Vec<u8>> = evs
            .iter()
            .map(|e| {
                let mut d = e.data.to_vec();
                if d.starts_with(b"600 ") {
                    d[1] = b'x';
                }
                d
            })
            .collect();
        let evs2: Vec<Ev<'_>> = evs
            .iter()
            .zip(&mangled)
            .map(|(e, d)| Ev { data: d, ..*e })
            .collect();
        let s = replay(&evs2, usize::MAX);
        let mut got = pairs(&s);
        got.sort();
        let mut want = [
            ("USER", Some(331)),
            ("PASS", Some(230)),
            ("PASV", None),
            ("STAT", Some(211)),
            ("NOOP", Some(200)),
            ("QUIT", Some(221)),
        ]
        .map(|(c, r)| (c.to_string(), r))
        .to_vec();
        want.sort();
        assert_eq!(got, want);
    }

    /// crates/cli/tests/edge/ftp_vsftpd.pcap (make-edge.sh ftp_vsftpd):
    /// vsftpd 3.0.3 answers commands the client pipelined in one segment,
    /// then ends the idle session with an unsolicited "421 Timeout." (RFC
    /// 959 §4.2.2), which answers no command and gets a record of its own.
    /// (Zeek keeps the last answered command pending and would give it the
    /// 421, logging MDTM with reply 421 where vsftpd answered 213.)
    #[test]
    fn pipelined_commands_and_unsolicited_421() {
        let evs = events(include_bytes!("testdata/sess_vsftpd_pipelined_421.ev"));
        assert!(evs[1].data.starts_with(b"USER anonymous\r\nPASS "));
        let s = replay(&evs, usize::MAX);
        let want = [
            ("USER", Some(331)),
            ("PASS", Some(230)),
            ("SYST", Some(215)),
            ("PWD", Some(257)),
            ("TYPE", Some(200)),
            ("SIZE", Some(213)),
            ("MDTM", Some(213)),
            ("<unsolicited>", Some(421)),
        ]
        .map(|(c, r)| (c.to_string(), r));
        assert_eq!(pairs(&s), want);
        let r = s.log("ftp");
        assert_eq!(r[0]["banner"], "220 (vsFTPd 3.0.3)");
        assert_eq!(r[5]["reply_msg"], "6");
        assert_eq!(r[7]["reply_msg"], "Timeout.");
        assert_eq!(r[7]["user"], "anonymous");
        assert_eq!(r[7]["weird"], json!(["ftp_reply_without_command"]));
        assert!(r[..7].iter().all(|r| r.get("weird").is_none()));
        assert_eq!(replay(&evs, 1).records, s.records);
    }

    #[test]
    fn pasv_retr_records_and_file() {
        let s = replay(&events(PASV), usize::MAX);
        let r = s.log("ftp");
        let cmds: Vec<_> = r.iter().map(|r| r["command"].as_str().unwrap()).collect();
        assert_eq!(
            cmds,
            ["USER", "PASS", "PWD", "PASV", "TYPE", "SIZE", "RETR", "QUIT"]
        );
        assert_eq!(r[0]["banner"], json!("220 pyftpdlib 1.5.7 ready."));
        assert!(r[1].get("banner").is_none());
        assert_eq!(r[1]["arg"], json!("<hidden>"));
        assert_eq!(r[1]["user"], json!("anonymous"));
        assert!(!s
            .records
            .iter()
            .any(|(_, v)| v.to_string().contains("ftp@example.com")));
        assert_eq!(r[3]["reply_code"], json!(227));
        let retr = r[6];
        assert_eq!(retr["reply_code"], json!(226));
        assert_eq!(retr["file_name"], json!("numbers.txt"));
        assert_eq!(retr["direction"], json!("download"));
        assert_eq!(retr["file_size"], json!(1492));
        assert_eq!(
            retr["data_channel"],
            json!({"passive": true, "resp_h": "127.0.0.1", "resp_p": 40010})
        );
        assert_eq!(s.linked, vec![("127.0.0.1".parse().unwrap(), 40010)]);
        assert_eq!(s.files.len(), 1);
        let (meta, bytes, done) = &s.files[0];
        assert_eq!(meta.name.as_deref(), Some("numbers.txt"));
        assert_eq!(meta.source, "FTP_DATA");
        assert_eq!(meta.dir, Some(ToClient));
        assert_eq!(bytes.len(), 1492);
        assert!(bytes.starts_with(b"1\n2\n") || !bytes.is_empty());
        assert_eq!(*done, Some(true));
    }

    #[test]
    fn port_epsv_eprt() {
        for (ev, passive, port, addr) in [
            (PORT, false, 40020, Some("127.0.0.1")),
            (EPSV, true, 40010, None),
            (EPRT, false, 40021, Some("127.0.0.1")),
        ] {
            let s = replay(&events(ev), usize::MAX);
            let r = s.log("ftp");
            let retr = r.iter().find(|r| r["command"] == "RETR").unwrap();
            assert_eq!(retr["data_channel"]["passive"], json!(passive));
            assert_eq!(retr["data_channel"]["resp_p"], json!(port));
            assert_eq!(
                retr["data_channel"].get("resp_h").and_then(|v| v.as_str()),
                addr
            );
            assert_eq!(retr["file_size"], json!(1492));
            assert_eq!(s.files.len(), 1);
            assert_eq!(s.files[0].1.len(), 1492);
            assert_eq!(s.files[0].2, Some(true));
            assert_eq!(s.linked.len(), 1);
        }
    }

    #[test]
    fn one_byte_chunks_give_identical_records() {
        for ev in [PASV, PORT, EPSV, EPRT, VSFTPD] {
            let evs = events(ev);
            let a = replay(&evs, usize::MAX);
            let b = replay(&evs, 1);
            assert_eq!(a.records, b.records);
            assert_eq!(a.files, b.files);
        }
    }

    #[test]
    fn vsftpd_multiline_list_and_150_size() {
        let s = replay(&events(VSFTPD), usize::MAX);
        let r = s.log("ftp");
        assert_eq!(r[0]["banner"], json!("220 (vsFTPd 3.0.3)"));
        let feat = r.iter().find(|r| r["command"] == "FEAT").unwrap();
        assert_eq!(feat["reply_code"], json!(211));
        assert!(feat["reply_msg"]
            .as_str()
            .unwrap()
            .starts_with("Features: "));
        assert!(feat["reply_msg"].as_str().unwrap().ends_with("End"));
        let list = r.iter().find(|r| r["command"] == "LIST").unwrap();
        assert_eq!(list["direction"], json!("download"));
        assert!(list.get("file_name").is_none());
        let retr = r.iter().find(|r| r["command"] == "RETR").unwrap();
        // The 150 reply's "(1048576 bytes)".
        assert_eq!(retr["file_size"], json!(1048576));
        assert_eq!(retr["file_name"], json!("1MB.zip"));
        // Only the listing's connection is in the test data.
        assert_eq!(s.files.len(), 1);
        assert!(s.files[0].0.name.is_none());
        assert_eq!(s.files[0].2, Some(true));
        assert_eq!(s.linked.len(), 2);
    }

    #[test]
    fn data_before_command_is_buffered_then_named() {
        let evs = events(PASV);
        let mut p = FtpParser::new();
        let mut s = MemSink::default();
        // All data-link bytes first (ended), then the control connection.
        for e in evs.iter().filter(|e| e.kind == 1) {
            p.on_linked_data(0, e.dir, e.data, false, &mut s);
        }
        p.on_linked_data(0, ToServer, &[], true, &mut s);
        assert!(s.files.is_empty());
        for e in evs.iter().filter(|e| e.kind == 0) {
            p.on_data(e.dir, e.data, &mut s);
        }
        p.on_end(&mut s);
        assert_eq!(s.files.len(), 1);
        assert_eq!(s.files[0].0.name.as_deref(), Some("numbers.txt"));
        assert_eq!(s.files[0].1.len(), 1492);
    }

    /// `buffered()` holds a command line cut before its CRLF and a data
    /// link's bytes that arrived before their command; both are given back
    /// once the line ends and the transfer is answered.
    #[test]
    fn buffered_counts_partial_lines_and_link_bytes() {
        let mut p = FtpParser::new();
        let mut s = MemSink::default();
        p.on_data(ToClient, b"220 ready\r\n", &mut s);
        let base = p.buffered();
        let first = [b"SITE ".as_slice(), &[b'u'; 5000]].concat();
        p.on_data(ToServer, &first, &mut s);
        assert!(p.buffered() >= base + first.len(), "{}", p.buffered());
        p.on_data(ToServer, b"\r\n", &mut s);
        p.on_data(ToClient, b"200 ok\r\n", &mut s);
        p.on_data(ToServer, b"PASV\r\n", &mut s);
        p.on_data(
            ToClient,
            b"227 Entering Passive Mode (127,0,0,1,4,1)\r\n",
            &mut s,
        );
        let idle = p.buffered();
        assert!(idle < base + first.len(), "{idle}");
        // The data connection's bytes come before the RETR.
        p.on_linked_data(0, ToClient, &[b'd'; 20_000], false, &mut s);
        assert!(p.buffered() >= idle + 20_000, "{}", p.buffered());
        p.on_data(ToServer, b"RETR f.bin\r\n", &mut s);
        p.on_data(ToClient, b"150 Opening (20000 bytes)\r\n", &mut s);
        p.on_linked_data(0, ToClient, &[], true, &mut s);
        p.on_data(ToClient, b"226 done\r\n", &mut s);
        assert_eq!(s.files.len(), 1);
        assert_eq!(s.files[0].1.len(), 20_000);
        assert!(p.buffered() < idle + 4096, "{} {idle}", p.buffered());
    }

    #[test]
    fn gap_truncation_and_hostile_lines() {
        let evs = events(PASV);
        // A gap in the client stream: the line is lost, parsing resumes.
        let mut p = FtpParser::new();
        let mut s = MemSink::default();
        for (n, e) in evs.iter().filter(|e| e.kind == 0).enumerate() {
            if n == 3 {
                p.on_data(e.dir, &e.data[..3], &mut s);
                p.on_gap(e.dir, (e.data.len() - 3) as u64, &mut s);
            } else {
                p.on_data(e.dir, e.data, &mut s);
            }
        }
        p.on_end(&mut s);
        let r = s.log("ftp");
        assert!(r.iter().any(|r| r["command"] == "QUIT"));
        assert!(s
            .records
            .iter()
            .any(|(_, v)| v.to_string().contains("ftp_gap")));
        // Truncated everywhere: never panics.
        let ctrl: Vec<u8> = evs
            .iter()
            .filter(|e| e.kind == 0 && e.dir == ToClient)
            .flat_map(|e| e.data.to_vec())
            .collect();
        for n in 0..ctrl.len() {
            let mut p = FtpParser::new();
            let mut s = MemSink::default();
            p.on_data(ToServer, b"RETR x\r\n", &mut s);
            p.on_data(ToClient, &ctrl[..n], &mut s);
            p.on_end(&mut s);
        }
        // A 100 KiB line, a flood of commands, a huge data link.
        let mut p = FtpParser::new();
        let mut s = MemSink::default();
        p.on_data(ToServer, &vec![b'A'; 100_000], &mut s);
        p.on_data(ToServer, b"\r\nNOOP\r\n", &mut s);
        for _ in 0..1000 {
            p.on_data(ToServer, b"RETR f\r\n", &mut s);
        }
        assert!(p.pending.len() <= MAX_PENDING);
        assert!(p.line[0].len() <= MAX_LINE);
        p.on_linked_data(7, ToServer, &vec![0u8; 3 * MAX_LINK_BUF], false, &mut s);
        assert!(p.links.iter().all(|l| l.buf.len() <= MAX_LINK_BUF));
        p.on_end(&mut s);
        assert!(s
            .records
            .iter()
            .any(|(_, v)| v.to_string().contains("ftp_line_too_long")));
    }
}
