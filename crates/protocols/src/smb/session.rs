//! The SMB session parser (SMB1 and SMB2/3 over TCP): the "smb" log.
//!
//! Framing: RFC 1002 §4.3.1 session service messages — TYPE (1 octet),
//! FLAGS (1, bit 0 extends LENGTH), LENGTH (16 bits) — or, on port 445,
//! MS-SMB2 §2.1 "Direct TCP": a zero byte and a 24-bit length. Both read
//! as TYPE + 24-bit length. Only the first [`MAX_KEEP`] bytes of each
//! message are kept (headers and names live there); the rest (READ/WRITE
//! data) is skipped without buffering. After a gap the direction resyncs
//! at the next 4-byte header followed by an SMB protocol identifier.

use netsift_proto::bytes::{le16, le32};
use netsift_proto::{Direction, Parser, Record, Sink};

use super::record::SmbRecord;
use crate::heap::strs_heap;

/// Bytes of one message kept for parsing.
const MAX_KEEP: usize = 64 * 1024;
/// Longest message believed (24-bit length, MS-SMB2 §2.1).
const MAX_MSG: usize = 0x00ff_ffff;
/// Most SMB2 commands walked in one compound chain.
const MAX_COMPOUND: usize = 32;
const MAX_WEIRD: usize = 16;
/// SMB1 dialects remembered from a NEGOTIATE request.
const MAX_DIALECTS: usize = 32;

#[derive(Default)]
struct Dir {
    buf: Vec<u8>,
    /// Bytes of the current message still to drop.
    skip: usize,
    resync: bool,
}

/// Per-connection SMB parser.
#[derive(Default)]
pub struct SmbParser {
    dirs: [Dir; 2],
    /// SMB1 NEGOTIATE request's dialect strings, for the response's index.
    dialects: Vec<String>,
    weird: Vec<String>,
}

fn push_weird(w: &mut Vec<String>, s: impl Into<String>) {
    if w.len() < MAX_WEIRD {
        w.push(s.into());
    }
}

/// UTF-16LE to text (bounded, lossy), stopping at a NUL.
fn utf16(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .take(4096)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect();
    String::from_utf16_lossy(&units)
}

/// NUL-terminated 8-bit string (bounded).
fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len()).min(4096);
    netsift_proto::printable(b.get(..end).unwrap_or(&[]), 4096)
}

/// MS-SMB2 §2.2.4 DialectRevision.
fn smb2_dialect(d: u16) -> String {
    match d {
        0x0202 => "SMB 2.0.2".into(),
        0x0210 => "SMB 2.1".into(),
        0x0300 => "SMB 3.0".into(),
        0x0302 => "SMB 3.0.2".into(),
        0x0311 => "SMB 3.1.1".into(),
        0x02ff => "SMB2 wildcard".into(),
        n => format!("0x{n:04x}"),
    }
}

/// NTLMSSP AUTHENTICATE_MESSAGE (MS-NLMP §2.2.1.3) found anywhere in
/// `msg` (the security blob is SPNEGO-wrapped, MS-SPNG; searching for the
/// signature avoids parsing the DER around it).
fn ntlm_auth(msg: &[u8]) -> Option<(Option<String>, Option<String>, Option<String>)> {
    const SIG: &[u8] = b"NTLMSSP\0";
    let at = msg.windows(SIG.len()).position(|w| w == SIG)?;
    let m = msg.get(at..)?;
    // MessageType (4 bytes): "MUST be set to 0x00000003".
    if le32(m, 8)? != 3 {
        return None;
    }
    // NegotiateFlags at offset 60; NTLMSSP_NEGOTIATE_UNICODE is bit A
    // (0x00000001): "If set, requests Unicode character set encoding."
    let unicode = le32(m, 60).is_some_and(|f| f & 1 != 0);
    // Each *Fields: Len (2), MaxLen (2), BufferOffset (4) from the start of
    // the message. DomainNameFields @28, UserNameFields @36,
    // WorkstationFields @44.
    let field = |off: usize| -> Option<String> {
        let len = le16(m, off)? as usize;
        let start = le32(m, off + 4)? as usize;
        if len == 0 {
            return None;
        }
        let b = m.get(start..start.checked_add(len)?)?;
        Some(if unicode {
            utf16(b)
        } else {
            netsift_proto::printable(b, 256)
        })
    };
    Some((field(28), field(36), field(44)))
}

impl SmbParser {
    pub fn new() -> Self {
        Self::default()
    }

    fn emit(&mut self, mut rec: SmbRecord, sink: &mut dyn Sink) {
        for w in self.weird.drain(..) {
            push_weird(&mut rec.weird, w);
        }
        sink.record("smb", Record::typed(rec));
    }

    fn auth(&mut self, version: &'static str, msg: &[u8], sink: &mut dyn Sink) {
        if let Some((domain, user, workstation)) = ntlm_auth(msg) {
            let rec = SmbRecord {
                kind: "auth",
                version,
                user,
                domain,
                workstation,
                ..Default::default()
            };
            self.emit(rec, sink);
        }
    }

    /// One NetBIOS session message's (kept) payload.
    fn message(&mut self, m: &[u8], sink: &mut dyn Sink) {
        match m.get(..4) {
            Some(b"\xfeSMB") => self.smb2(m, sink),
            Some(b"\xffSMB") => self.smb1(m, sink),
            // Encrypted (TRANSFORM_HEADER, MS-SMB2 §2.2.41) or compressed
            // (§2.2.42): nothing readable.
            Some(b"\xfdSMB") | Some(b"\xfcSMB") => {}
            _ => push_weird(&mut self.weird, "smb_unknown_protocol_id"),
        }
    }

    /// MS-SMB2 §2.2.1: the 64-byte header; Command at 12, Flags at 16
    /// (SMB2_FLAGS_SERVER_TO_REDIR 0x1), NextCommand at 20: "the offset,
    /// in bytes, from the beginning of this SMB2 header to the start of the
    /// subsequent 8-byte aligned SMB2 header" of a compounded request.
    fn smb2(&mut self, msg: &[u8], sink: &mut dyn Sink) {
        let mut at = 0usize;
        for _ in 0..MAX_COMPOUND {
            let Some(h) = msg.get(at..) else { break };
            if h.get(..4) != Some(b"\xfeSMB") || le16(h, 4) != Some(64) {
                push_weird(&mut self.weird, "smb2_bad_header");
                break;
            }
            let next = le32(h, 20).unwrap_or(0) as usize;
            let one = if next > 0 {
                h.get(..next).unwrap_or(h)
            } else {
                h
            };
            self.smb2_command(one, sink);
            if next == 0 {
                break;
            }
            if next < 64 {
                push_weird(&mut self.weird, "smb2_bad_next_command");
                break;
            }
            at += next;
        }
    }

    fn smb2_command(&mut self, h: &[u8], sink: &mut dyn Sink) {
        let (Some(cmd), Some(flags)) = (le16(h, 12), le32(h, 16)) else {
            return;
        };
        let response = flags & 1 != 0;
        let body = 64usize;
        // The ...Offset fields count from the start of the SMB2 header.
        let buf_at = |off_field: usize, len_field: usize| -> Option<&[u8]> {
            let off = le16(h, body + off_field)? as usize;
            let len = le16(h, body + len_field)? as usize;
            h.get(off..off.checked_add(len)?)
        };
        match (cmd, response) {
            // §2.2.4 NEGOTIATE Response: DialectRevision at body offset 4.
            (0x0000, true) => {
                if let Some(d) = le16(h, body + 4) {
                    let rec = SmbRecord {
                        kind: "negotiate",
                        version: "SMB2",
                        dialect: Some(smb2_dialect(d)),
                        ..Default::default()
                    };
                    self.emit(rec, sink);
                }
            }
            // §2.2.5 SESSION_SETUP Request: SecurityBufferOffset (2) at 12,
            // SecurityBufferLength (2) at 14.
            (0x0001, false) => {
                if let Some(blob) = buf_at(12, 14) {
                    self.auth("SMB2", blob, sink);
                }
            }
            // §2.2.9 TREE_CONNECT Request: PathOffset (2) at 4, PathLength
            // (2) at 6; "the full share path name ... in the form
            // \\server\share", Unicode.
            (0x0003, false) => {
                if let Some(p) = buf_at(4, 6) {
                    let rec = SmbRecord {
                        kind: "tree_connect",
                        version: "SMB2",
                        path: Some(utf16(p)),
                        ..Default::default()
                    };
                    self.emit(rec, sink);
                } else {
                    push_weird(&mut self.weird, "smb2_tree_connect_bad_path");
                }
            }
            // §2.2.13 CREATE Request: NameOffset (2) at 44, NameLength (2)
            // at 46, Unicode, relative to the share.
            (0x0005, false) => match buf_at(44, 46) {
                Some(n) => {
                    let rec = SmbRecord {
                        kind: "file_open",
                        version: "SMB2",
                        name: Some(utf16(n)),
                        ..Default::default()
                    };
                    self.emit(rec, sink);
                }
                None => push_weird(&mut self.weird, "smb2_create_bad_name"),
            },
            _ => {}
        }
    }

    /// MS-CIFS §2.2.3.1: the 32-byte SMB1 header (Command at 4, Flags at 9
    /// with SMB_FLAGS_REPLY 0x80, Flags2 at 10 with SMB_FLAGS2_UNICODE
    /// 0x8000), then WordCount, Words, ByteCount, Bytes.
    fn smb1(&mut self, m: &[u8], sink: &mut dyn Sink) {
        let (Some(&cmd), Some(&flags), Some(flags2)) = (m.get(4), m.get(9), le16(m, 10)) else {
            push_weird(&mut self.weird, "smb1_short_header");
            return;
        };
        let reply = flags & 0x80 != 0;
        let unicode = flags2 & 0x8000 != 0;
        let Some(&wc) = m.get(32) else { return };
        let words = 33usize;
        let bc_at = words + 2 * wc as usize;
        let Some(bc) = le16(m, bc_at) else {
            push_weird(&mut self.weird, "smb1_short_message");
            return;
        };
        let bytes_at = bc_at + 2;
        let bytes = m
            .get(bytes_at..bytes_at + bc as usize)
            .or_else(|| m.get(bytes_at..))
            .unwrap_or(&[]);
        // A Unicode string in Bytes starts 2-byte aligned from the header
        // (MS-CIFS §2.2.1.1.1 "SMB_STRING ... padded to a 16-bit boundary").
        let string_at = |at: usize| -> String {
            if unicode {
                let at = if at % 2 == 1 { at + 1 } else { at };
                utf16(m.get(at..).unwrap_or(&[]))
            } else {
                cstr(m.get(at..).unwrap_or(&[]))
            }
        };
        match (cmd, reply) {
            // §2.2.4.52.1 NEGOTIATE Request: Bytes = { 0x02 "dialect\0" }*.
            (0x72, false) => {
                self.dialects = bytes
                    .split(|&b| b == 0)
                    .filter_map(|d| d.strip_prefix(b"\x02"))
                    .take(MAX_DIALECTS)
                    .map(|d| netsift_proto::printable(d, 64))
                    .collect();
            }
            // §2.2.4.52.2 NEGOTIATE Response: DialectIndex is the first word.
            (0x72, true) => {
                let Some(i) = le16(m, words) else { return };
                let dialect = self
                    .dialects
                    .get(i as usize)
                    .cloned()
                    .unwrap_or_else(|| format!("index {i}"));
                let rec = SmbRecord {
                    kind: "negotiate",
                    version: "SMB1",
                    dialect: Some(dialect),
                    ..Default::default()
                };
                self.emit(rec, sink);
            }
            // §2.2.4.53 SESSION_SETUP_ANDX Request (extended security,
            // MS-SMB §2.2.4.6.1: SecurityBlob in Bytes).
            (0x73, false) => self.auth("SMB1", bytes, sink),
            // §2.2.4.55.1 TREE_CONNECT_ANDX Request: PasswordLength is the
            // 4th word; Bytes = Password, Path (SMB_STRING), Service.
            (0x75, false) => {
                let pw = le16(m, words + 6).unwrap_or(0) as usize;
                let path = string_at(bytes_at + pw);
                let rec = SmbRecord {
                    kind: "tree_connect",
                    version: "SMB1",
                    path: Some(path),
                    ..Default::default()
                };
                self.emit(rec, sink);
            }
            // §2.2.4.64.1 NT_CREATE_ANDX Request: 24 words; Bytes = FileName
            // (SMB_STRING, padded to 16 bits when Unicode).
            (0xa2, false) if wc == 24 => {
                let rec = SmbRecord {
                    kind: "file_open",
                    version: "SMB1",
                    name: Some(string_at(bytes_at)),
                    ..Default::default()
                };
                self.emit(rec, sink);
            }
            _ => {}
        }
    }

    fn feed(&mut self, i: usize, data: &[u8], sink: &mut dyn Sink) {
        // A resync hands back the bytes to re-read from the found header
        // (iterative, so hostile input cannot deepen the stack).
        let mut again = self.feed_once(i, data, sink);
        while let Some(bytes) = again {
            again = self.feed_once(i, &bytes, sink);
        }
    }

    fn feed_once(&mut self, i: usize, mut data: &[u8], sink: &mut dyn Sink) -> Option<Vec<u8>> {
        loop {
            let d = &mut self.dirs[i];
            if d.skip > 0 {
                let n = d.skip.min(data.len());
                d.skip -= n;
                data = data.get(n..).unwrap_or(&[]);
                if d.skip > 0 {
                    return None;
                }
            }
            // Take what is needed for the current message's kept part.
            let need = match (d.buf.get(1), d.buf.get(2), d.buf.get(3)) {
                (Some(&a), Some(&b), Some(&c)) => {
                    4 + (u32::from_be_bytes([0, a, b, c]) as usize).min(MAX_KEEP)
                }
                _ => 4,
            };
            if !d.resync {
                let take = need.saturating_sub(d.buf.len()).min(data.len());
                d.buf.extend_from_slice(data.get(..take).unwrap_or(&[]));
                data = data.get(take..).unwrap_or(&[]);
            } else {
                // Bounded scan buffer while looking for a header.
                let room = (2 * MAX_KEEP).saturating_sub(d.buf.len());
                let take = room.min(data.len());
                d.buf.extend_from_slice(data.get(..take).unwrap_or(&[]));
                data = data.get(take..).unwrap_or(&[]);
                // RFC 1002 §4.3.1 TYPE 0 SESSION MESSAGE + an SMB protocol id.
                let pos = d.buf.windows(8).position(|w| {
                    w.first() == Some(&0)
                        && matches!(w.get(5..8), Some(b"SMB"))
                        && matches!(w.get(4), Some(0xfc..=0xff))
                });
                match pos {
                    Some(p) => {
                        d.buf.drain(..p);
                        d.resync = false;
                        // Re-split: the buffer may hold more than one message.
                        let mut all = std::mem::take(&mut d.buf);
                        all.extend_from_slice(data);
                        return Some(all);
                    }
                    None => {
                        let keep = d.buf.len().min(7);
                        let cut = d.buf.len() - keep;
                        d.buf.drain(..cut);
                        // Do not hold the scan window's capacity for 7 bytes.
                        if d.buf.capacity() > 4096 {
                            d.buf.shrink_to(64);
                        }
                        if data.is_empty() {
                            return None;
                        }
                        continue;
                    }
                }
            }
            if d.buf.len() < 4 {
                return None;
            }
            let ty = d.buf.first().copied().unwrap_or(0);
            let len = match (d.buf.get(1), d.buf.get(2), d.buf.get(3)) {
                (Some(&a), Some(&b), Some(&c)) => u32::from_be_bytes([0, a, b, c]) as usize,
                _ => return None,
            };
            // RFC 1002 §4.3.1 types: 0x00 message, 0x81 request, 0x82
            // positive response, 0x83 negative, 0x84 retarget, 0x85 keep
            // alive.
            if !matches!(ty, 0x00 | 0x81..=0x85) || len > MAX_MSG {
                push_weird(&mut self.weird, "smb_bad_netbios_header");
                let d = &mut self.dirs[i];
                d.resync = true;
                d.buf.drain(..1);
                continue;
            }
            let keep = len.min(MAX_KEEP);
            if d.buf.len() < 4 + keep {
                if data.is_empty() {
                    return None;
                }
                continue;
            }
            let msg: Vec<u8> = std::mem::take(&mut d.buf);
            d.skip = len - keep;
            if ty == 0 {
                self.message(msg.get(4..).unwrap_or(&[]), sink);
            }
            if data.is_empty() && self.dirs[i].skip == 0 {
                return None;
            }
        }
    }
}

impl Parser for SmbParser {
    fn on_data(&mut self, dir: Direction, data: &[u8], sink: &mut dyn Sink) {
        let i = match dir {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        };
        self.feed(i, data, sink);
    }

    fn on_gap(&mut self, dir: Direction, len: u64, _sink: &mut dyn Sink) {
        let d = match dir {
            Direction::ToServer => &mut self.dirs[0],
            Direction::ToClient => &mut self.dirs[1],
        };
        // A gap inside the skipped part of a message keeps the framing.
        if d.skip as u64 >= len && d.buf.is_empty() {
            d.skip -= len as usize;
            return;
        }
        d.buf = Vec::new();
        d.skip = 0;
        d.resync = true;
        push_weird(&mut self.weird, "smb_gap");
    }

    /// Per direction the kept part of the message being read (or the
    /// resync scan window); the SMB1 dialect names; pending anomalies.
    fn buffered(&self) -> usize {
        self.dirs.iter().map(|d| d.buf.capacity()).sum::<usize>()
            + strs_heap(&self.dialects)
            + strs_heap(&self.weird)
    }

    fn on_end(&mut self, sink: &mut dyn Sink) {
        if !self.weird.is_empty() {
            let rec = SmbRecord {
                kind: "weird",
                version: "",
                ..Default::default()
            };
            self.emit(rec, sink);
        }
    }
}

#[cfg(test)]
mod tests {
    //! testdata (written by testdata/mkevents.py, format in
    //! ftp_control::session's tests):
    //! * sess_smb2_get.ev: crates/cli/tests/nonstd/smb2_tcp22.pcap stream 1
    //!   (samba 4.17 + smbclient: negotiate 3.1.1, NTLM root/WORKGROUP/VM,
    //!   IPC$ then pub, ls, get numbers.txt)
    //! * sess_smb1_get.ev: smb1_tcp443.pcap stream 0 (NT1, same steps)
    use super::*;
    use netsift_proto::{Direction::*, MemSink};
    use serde_json::json;

    const SMB2: &[u8] = include_bytes!("testdata/sess_smb2_get.ev");
    const SMB1: &[u8] = include_bytes!("testdata/sess_smb1_get.ev");

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

    fn replay(ev: &[u8], chunk: usize) -> MemSink {
        let mut p = SmbParser::new();
        let mut s = MemSink::default();
        for (d, b) in events(ev) {
            for c in b.chunks(chunk) {
                p.on_data(d, c, &mut s);
            }
        }
        p.on_end(&mut s);
        s
    }

    fn summary(s: &MemSink) -> Vec<String> {
        s.log("smb")
            .iter()
            .map(|r| {
                let k = r["kind"].as_str().unwrap();
                let v = ["dialect", "path", "name", "user"]
                    .iter()
                    .find_map(|f| r.get(*f))
                    .map(|v| v.as_str().unwrap().to_string())
                    .unwrap_or_default();
                format!("{k}:{v}")
            })
            .collect()
    }

    #[test]
    fn smb2_session() {
        let s = replay(SMB2, usize::MAX);
        let sum = summary(&s);
        assert_eq!(sum[0], "negotiate:SMB 3.1.1");
        assert_eq!(sum[1], "auth:root");
        let auth = s.log("smb")[1];
        assert_eq!(auth["domain"], json!("WORKGROUP"));
        assert_eq!(auth["workstation"], json!("VM"));
        assert!(
            sum.contains(&"tree_connect:\\\\127.0.0.1\\IPC$".to_string()),
            "{sum:?}"
        );
        assert!(
            sum.contains(&"tree_connect:\\\\127.0.0.1\\pub".to_string()),
            "{sum:?}"
        );
        assert!(
            sum.contains(&"file_open:numbers.txt".to_string()),
            "{sum:?}"
        );
        assert!(s.log("smb").iter().all(|r| r["version"] == "SMB2"));
    }

    #[test]
    fn smb1_session() {
        let s = replay(SMB1, usize::MAX);
        let sum = summary(&s);
        // samba picks index 0, "NT LANMAN 1.0" (an alias of NT1; Wireshark agrees).
        assert_eq!(sum[0], "negotiate:NT LANMAN 1.0");
        assert_eq!(sum[1], "auth:root");
        assert!(
            sum.contains(&"tree_connect:\\\\127.0.0.1\\IPC$".to_string()),
            "{sum:?}"
        );
        assert!(
            sum.contains(&"tree_connect:\\\\127.0.0.1\\PUB".to_string()),
            "{sum:?}"
        );
        assert!(
            sum.contains(&"file_open:\\numbers.txt".to_string()),
            "{sum:?}"
        );
    }

    #[test]
    fn one_byte_chunks_identical() {
        for ev in [SMB1, SMB2] {
            assert_eq!(replay(ev, usize::MAX).records, replay(ev, 1).records);
            assert_eq!(replay(ev, usize::MAX).records, replay(ev, 7).records);
        }
    }

    #[test]
    fn gap_resyncs_at_next_message() {
        let evs = events(SMB2);
        let mut p = SmbParser::new();
        let mut s = MemSink::default();
        // Lose the first client message (the NEGOTIATE request) partly.
        for (n, (d, b)) in evs.iter().enumerate() {
            if n == 0 {
                p.on_data(*d, &b[..10], &mut s);
                p.on_gap(*d, (b.len() - 10) as u64, &mut s);
            } else {
                p.on_data(*d, b, &mut s);
            }
        }
        p.on_end(&mut s);
        let sum = summary(&s);
        assert!(sum.contains(&"auth:root".to_string()), "{sum:?}");
        assert!(
            sum.contains(&"file_open:numbers.txt".to_string()),
            "{sum:?}"
        );
        assert!(s
            .records
            .iter()
            .any(|(_, v)| v.to_string().contains("smb_gap")));
    }

    /// A NEGOTIATE request cut in the middle is held until its end; a gap
    /// releases what a direction held.
    #[test]
    fn buffered_counts_partial_messages() {
        let evs = events(SMB2);
        let (d, neg) = evs[0];
        assert_eq!(neg.len(), 230);
        let mut p = SmbParser::new();
        let mut s = MemSink::default();
        p.on_data(d, &neg[..100], &mut s);
        assert!(p.buffered() >= 100, "{}", p.buffered());
        p.on_data(d, &neg[100..], &mut s);
        assert_eq!(p.buffered(), 0);
        let (d, setup) = evs[2];
        p.on_data(d, &setup[..120], &mut s);
        assert!(p.buffered() >= 120, "{}", p.buffered());
        p.on_gap(d, 10, &mut s);
        // Only the "smb_gap" anomaly waiting for the end.
        assert_eq!(p.buffered(), strs_heap(&p.weird));
        assert!(p.buffered() < 120);
        // The resync window does not keep a large capacity.
        p.on_data(d, &vec![1u8; 100_000], &mut s);
        assert!(p.buffered() < 1024, "{}", p.buffered());
    }

    #[test]
    fn truncated_and_malicious() {
        let evs = events(SMB2);
        for (d, b) in &evs {
            for n in 0..b.len() {
                let mut p = SmbParser::new();
                let mut s = MemSink::default();
                p.on_data(*d, &b[..n], &mut s);
                p.on_end(&mut s);
            }
        }
        // A 16 MiB message is skipped, not buffered.
        let mut p = SmbParser::new();
        let mut s = MemSink::default();
        p.on_data(ToServer, &[0, 0xff, 0xff, 0xff], &mut s);
        p.on_data(ToServer, b"\xfeSMB", &mut s);
        p.on_data(ToServer, &vec![0u8; 200_000], &mut s);
        assert!(p.dirs[0].buf.len() <= MAX_KEEP + 4);
        // A compound loop: NextCommand pointing at itself is < 64 -> stop;
        // offsets beyond the message are ignored.
        let mut m = vec![0u8; 4];
        let mut h = vec![0u8; 64 + 60];
        h[..4].copy_from_slice(b"\xfeSMB");
        h[4] = 64;
        h[12] = 5; // CREATE
        h[20] = 8; // NextCommand 8
        h[64 + 44] = 0xff; // NameOffset 0xffff
        h[64 + 45] = 0xff;
        h[64 + 46] = 0xff;
        m[3] = h.len() as u8;
        m.extend_from_slice(&h);
        let mut p = SmbParser::new();
        let mut s = MemSink::default();
        p.on_data(ToServer, &m, &mut s);
        p.on_end(&mut s);
        assert!(s
            .records
            .iter()
            .any(|(_, v)| v.to_string().contains("smb2_bad_next_command")));
        // NTLMSSP with offsets past the end.
        let mut blob = b"NTLMSSP\0\x03\0\0\0".to_vec();
        blob.extend_from_slice(&[0xff; 60]);
        assert!(ntlm_auth(&blob).is_some_and(|(d, u, w)| d.is_none() && u.is_none() && w.is_none()));
    }
}
