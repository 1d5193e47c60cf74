//! The SSH parser: identification strings (RFC 4253 §4.2), then the binary
//! packet protocol (RFC 4253 §6) of each direction until SSH_MSG_NEWKEYS;
//! KEXINIT (RFC 4253 §7.1) gives the algorithm lists, the negotiated
//! algorithms and the HASSH fingerprints (github.com/salesforce/hassh).

use md5::{Digest as _, Md5};
use netsift_proto::{BufferKind, Direction, Parser, Record, Sink};

use super::record::{SshRecord, MAX_WEIRD};
use crate::heap::{str_heap, strs_heap};

/// RFC 4253 §4.2: "The maximum length of the string is 255 characters,
/// including the Carriage Return and Line Feed."
const MAX_ID: usize = 255;
/// RFC 4253 §4.2: "The server MAY send other lines of data before sending
/// the version string." Bound on such lines.
const MAX_PRELUDE_LINES: usize = 16;
/// Such a line is not an identification string, so the 255-character limit
/// does not bind it (OpenSSH's client reads them up to 8 KiB); bound here
/// like the probe's whole prelude (`super::MAX_PRELUDE`).
const MAX_PRELUDE_LINE: usize = 1024;
/// RFC 4253 §6.1: "All implementations MUST be able to process packets
/// with an uncompressed payload length of 32768 bytes or less and a total
/// packet size of 35000 bytes or less". Larger KEXINIT / KEX packets (post
/// quantum key shares) stay well under 64 KiB: that is the bound here.
const MAX_PACKET: usize = 64 * 1024;
/// Names kept per name-list, bytes per name-list.
const MAX_NAMELIST: usize = 8 * 1024;

const MSG_KEXINIT: u8 = 20;
const MSG_NEWKEYS: u8 = 21;

/// The ten name-lists of SSH_MSG_KEXINIT, in wire order (RFC 4253 §7.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct KexInit {
    kex: String,
    host_key: String,
    enc_c2s: String,
    enc_s2c: String,
    mac_c2s: String,
    mac_s2c: String,
    comp_c2s: String,
    comp_s2c: String,
}

#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
enum State {
    #[default]
    Banner,
    Packets,
    /// After NEWKEYS: encrypted; only counted.
    Encrypted,
    /// Nothing more is read (gap, not SSH, SSH-1).
    Done,
}

#[derive(Debug, Default)]
struct Side {
    state: State,
    buf: Vec<u8>,
    prelude_lines: usize,
    banner: Option<String>,
    kexinit: Option<KexInit>,
    encrypted_bytes: u64,
}

/// Per-connection SSH parser.
#[derive(Debug, Default)]
pub struct SshParser {
    sides: [Side; 2],
    weird: Vec<String>,
    first_ts: Option<u64>,
    done: bool,
    /// Identification strings parsed and not yet given to the sink: side,
    /// protoversion, softwareversion.
    banners: Vec<(usize, String, String)>,
}

fn side_name(i: usize) -> &'static str {
    if i == 0 {
        "client"
    } else {
        "server"
    }
}

/// RFC 4251 §5: "string: ... stored as a uint32 containing its length ...
/// followed by zero or more bytes"; name-list: a string of comma-separated
/// names.
fn name_list(b: &[u8], p: &mut usize) -> Option<String> {
    let len = u32::from_be_bytes(b.get(*p..*p + 4)?.try_into().ok()?) as usize;
    let s = b.get(*p + 4..(*p + 4).checked_add(len)?)?;
    *p += 4 + len;
    let s = s.get(..s.len().min(MAX_NAMELIST)).unwrap_or(s);
    Some(String::from_utf8_lossy(s).into_owned())
}

/// RFC 4253 §7.1:
/// ```text
/// byte         SSH_MSG_KEXINIT
/// byte[16]     cookie (random bytes)
/// name-list    kex_algorithms
/// name-list    server_host_key_algorithms
/// name-list    encryption_algorithms_client_to_server
/// name-list    encryption_algorithms_server_to_client
/// name-list    mac_algorithms_client_to_server
/// name-list    mac_algorithms_server_to_client
/// name-list    compression_algorithms_client_to_server
/// name-list    compression_algorithms_server_to_client
/// name-list    languages_client_to_server
/// name-list    languages_server_to_client
/// boolean      first_kex_packet_follows
/// uint32       0 (reserved for future extension)
/// ```
fn kexinit(payload: &[u8]) -> Option<KexInit> {
    let mut p = 17;
    Some(KexInit {
        kex: name_list(payload, &mut p)?,
        host_key: name_list(payload, &mut p)?,
        enc_c2s: name_list(payload, &mut p)?,
        enc_s2c: name_list(payload, &mut p)?,
        mac_c2s: name_list(payload, &mut p)?,
        mac_s2c: name_list(payload, &mut p)?,
        comp_c2s: name_list(payload, &mut p)?,
        comp_s2c: name_list(payload, &mut p)?,
    })
}

/// RFC 4253 §7.1: "The chosen encryption algorithm to each direction MUST
/// be the first algorithm on the client's name-list that is also on the
/// server's name-list." (The same rule for kex, host key, MAC and
/// compression.)
fn negotiate(client: &str, server: &str) -> Option<String> {
    let s: Vec<&str> = server.split(',').collect();
    client
        .split(',')
        .find(|c| !c.is_empty() && s.contains(c))
        .map(str::to_string)
}

/// AEAD ciphers carry their own integrity: OpenSSH's PROTOCOL.chacha20poly1305
/// and PROTOCOL §1.6 (aes-gcm@openssh.com: "the MAC algorithm ... is
/// ignored"); RFC 5647 §5.1.
fn is_aead(cipher: &str) -> bool {
    cipher.starts_with("chacha20-poly1305") || cipher.contains("-gcm")
}

fn md5_hex(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl KexInit {
    fn heap(&self) -> usize {
        [
            &self.kex,
            &self.host_key,
            &self.enc_c2s,
            &self.enc_s2c,
            &self.mac_c2s,
            &self.mac_s2c,
            &self.comp_c2s,
            &self.comp_s2c,
        ]
        .iter()
        .map(|s| s.capacity())
        .sum()
    }
}

impl Side {
    /// The identification line or packet being collected, and what was
    /// kept of the side's handshake (identification string, KEXINIT
    /// name-lists).
    fn buffered(&self) -> usize {
        self.buf.capacity()
            + str_heap(&self.banner)
            + self.kexinit.as_ref().map_or(0, KexInit::heap)
    }
}

impl SshParser {
    pub fn new() -> SshParser {
        SshParser::default()
    }

    fn weird(&mut self, w: String) {
        if self.weird.len() < MAX_WEIRD && !self.weird.contains(&w) {
            self.weird.push(w);
        }
    }

    fn data(&mut self, i: usize, mut d: &[u8]) {
        while !d.is_empty() {
            let s = &mut self.sides[i];
            match s.state {
                State::Done => return,
                State::Encrypted => {
                    s.encrypted_bytes += d.len() as u64;
                    return;
                }
                State::Banner => {
                    // A line ends at LF (CR LF per RFC 4253 §4.2).
                    let nl = d.iter().position(|&b| b == b'\n');
                    let take = nl.map_or(d.len(), |n| n + 1);
                    // The server's lines before its identification string
                    // may be longer than one (RFC 4253 §4.2); the string
                    // itself is checked against MAX_ID in `line`.
                    let max = if i == 1 { MAX_PRELUDE_LINE } else { MAX_ID };
                    let room = max.saturating_sub(s.buf.len());
                    if take > room {
                        self.sides[i].state = State::Done;
                        self.weird(format!("{}_identification_too_long", side_name(i)));
                        return;
                    }
                    s.buf.extend_from_slice(d.get(..take).unwrap_or(&[]));
                    d = d.get(take..).unwrap_or(&[]);
                    if nl.is_some() {
                        let line = std::mem::take(&mut s.buf);
                        self.line(i, &line);
                    }
                }
                State::Packets => {
                    let n = self.packet_bytes(i, d);
                    d = d.get(n..).unwrap_or(&[]);
                }
            }
        }
    }

    fn line(&mut self, i: usize, line: &[u8]) {
        let raw_len = line.len();
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.starts_with(b"SSH-") {
            // RFC 4253 §4.2: other lines before the version string are
            // allowed from the server only.
            let s = &mut self.sides[i];
            s.prelude_lines += 1;
            if i == 0 || s.prelude_lines > MAX_PRELUDE_LINES {
                s.state = State::Done;
                self.weird(format!("{}_not_ssh_identification", side_name(i)));
            }
            return;
        }
        if raw_len > MAX_ID {
            // "The maximum length of the string is 255 characters,
            // including the Carriage Return and Line Feed."
            self.sides[i].state = State::Done;
            self.weird(format!("{}_identification_too_long", side_name(i)));
            return;
        }
        let text = String::from_utf8_lossy(line).into_owned();
        // "SSH-protoversion-softwareversion SP comments": SSH-1.x (1.5)
        // uses another packet format (not parsed); 1.99 is a server that
        // also speaks 2.0 (RFC 4253 §5.1).
        let proto = text
            .get(4..)
            .and_then(|r| r.split('-').next())
            .unwrap_or("");
        // ssh.proto / ssh.software (Suricata): the protoversion, and the
        // softwareversion up to the first SP.
        let software = text
            .get(4..)
            .and_then(|r| r.split_once('-'))
            .map(|(_, sw)| sw.split(' ').next().unwrap_or(""))
            .unwrap_or("");
        self.banners
            .push((i, proto.to_string(), software.to_string()));
        let s = &mut self.sides[i];
        s.state = if proto == "2.0" || proto == "1.99" {
            State::Packets
        } else {
            State::Done
        };
        s.banner = Some(text);
    }

    /// Consume bytes of the binary packet protocol; returns how many.
    /// RFC 4253 §6: `uint32 packet_length; byte padding_length; byte[n1]
    /// payload; byte[n2] random padding; byte[m] mac` (no MAC before the
    /// first NEWKEYS).
    fn packet_bytes(&mut self, i: usize, d: &[u8]) -> usize {
        let s = &mut self.sides[i];
        // Collect the length field, then the whole packet.
        let need = if s.buf.len() < 4 {
            4 - s.buf.len()
        } else {
            let len = u32::from_be_bytes([s.buf[0], s.buf[1], s.buf[2], s.buf[3]]) as usize;
            4 + len - s.buf.len()
        };
        let n = need.min(d.len());
        s.buf.extend_from_slice(d.get(..n).unwrap_or(&[]));
        if s.buf.len() == 4 {
            let len = u32::from_be_bytes([s.buf[0], s.buf[1], s.buf[2], s.buf[3]]) as usize;
            // "packet_length: The length of the packet in bytes, not
            // including 'mac' or the 'packet_length' field itself"; the
            // padding is at least 4 bytes, so a packet is at least 5.
            if !(5..=MAX_PACKET).contains(&len) {
                s.state = State::Done;
                s.buf = Vec::new();
                self.weird(format!("{}_bad_packet_length", side_name(i)));
                return n;
            }
            return n;
        }
        if s.buf.len() < 4 {
            return n;
        }
        let len = u32::from_be_bytes([s.buf[0], s.buf[1], s.buf[2], s.buf[3]]) as usize;
        if s.buf.len() < 4 + len {
            return n;
        }
        let pkt = std::mem::take(&mut s.buf);
        // "padding_length: Length of 'random padding' (bytes)"; "There MUST
        // be at least four bytes of padding."
        let pad = pkt.get(4).copied().unwrap_or(0) as usize;
        let Some(payload) = pkt
            .get(5..(4 + len).saturating_sub(pad))
            .filter(|_| pad < len)
        else {
            self.sides[i].state = State::Done;
            self.weird(format!("{}_bad_padding_length", side_name(i)));
            return n;
        };
        if pad < 4 {
            self.weird(format!("{}_short_padding", side_name(i)));
        }
        match payload.first() {
            // A later KEXINIT (re-keying) is encrypted; only the first one
            // is read.
            Some(&MSG_KEXINIT) if self.sides[i].kexinit.is_none() => match kexinit(payload) {
                Some(k) => self.sides[i].kexinit = Some(k),
                None => self.weird(format!("{}_malformed_kexinit", side_name(i))),
            },
            // RFC 4253 §7.3: "All messages sent after this message MUST use
            // the new keys and algorithms."
            Some(&MSG_NEWKEYS) => self.sides[i].state = State::Encrypted,
            _ => {}
        }
        n
    }

    fn build(&mut self) -> SshRecord {
        let mut r = SshRecord::default();
        let [c, s] = &self.sides;
        r.client = c.banner.clone();
        r.server = s.banner.clone();
        if let Some(f) = r
            .server
            .as_deref()
            .and_then(|b| crate::banner::fingerprint("ssh", b))
        {
            r.server_software = Some(f.software);
            r.server_version = f.version;
        }
        r.version = s
            .banner
            .as_deref()
            .or(c.banner.as_deref())
            .and_then(|b| b.get(4..)?.split('-').next())
            .map(str::to_string);
        if let Some(k) = &c.kexinit {
            // HASSH (salesforce/hassh README): "kex_algorithms;
            // encryption_algorithms; mac_algorithms; compression_algorithms"
            // of the client's KEXINIT, client-to-server lists.
            let h = format!("{};{};{};{}", k.kex, k.enc_c2s, k.mac_c2s, k.comp_c2s);
            r.hassh = Some(md5_hex(&h));
            r.hassh_algorithms = Some(h);
        }
        if let Some(k) = &s.kexinit {
            // HASSHServer: the same from the server's KEXINIT, with the
            // server-to-client lists.
            let h = format!("{};{};{};{}", k.kex, k.enc_s2c, k.mac_s2c, k.comp_s2c);
            r.hassh_server = Some(md5_hex(&h));
            r.hassh_server_algorithms = Some(h);
        }
        if let (Some(ck), Some(sk)) = (&c.kexinit, &s.kexinit) {
            r.kex_alg = negotiate(&ck.kex, &sk.kex);
            r.host_key_alg = negotiate(&ck.host_key, &sk.host_key);
            r.cipher_c2s = negotiate(&ck.enc_c2s, &sk.enc_c2s);
            r.cipher_s2c = negotiate(&ck.enc_s2c, &sk.enc_s2c);
            let mac = |cipher: &Option<String>, cl: &str, sl: &str| {
                if cipher.as_deref().is_some_and(is_aead) {
                    Some("implicit".to_string())
                } else {
                    negotiate(cl, sl)
                }
            };
            r.mac_c2s = mac(&r.cipher_c2s, &ck.mac_c2s, &sk.mac_c2s);
            r.mac_s2c = mac(&r.cipher_s2c, &ck.mac_s2c, &sk.mac_s2c);
            r.compression_c2s = negotiate(&ck.comp_c2s, &sk.comp_c2s);
            r.compression_s2c = negotiate(&ck.comp_s2c, &sk.comp_s2c);
            if r.kex_alg.is_none() || r.cipher_c2s.is_none() || r.cipher_s2c.is_none() {
                self.weird("no_common_algorithm".to_string());
            }
        }
        let [c, s] = &self.sides;
        r.newkeys = c.state == State::Encrypted && s.state == State::Encrypted;
        r.client_encrypted_bytes = c.encrypted_bytes;
        r.server_encrypted_bytes = s.encrypted_bytes;
        r.weird = std::mem::take(&mut self.weird);
        r
    }
}

impl Parser for SshParser {
    /// Each side's partial line or packet (up to 64 KiB) and its kept
    /// identification string and KEXINIT name-lists.
    fn buffered(&self) -> usize {
        self.sides.iter().map(Side::buffered).sum::<usize>()
            + strs_heap(&self.weird)
            + self.banners.capacity() * std::mem::size_of::<(usize, String, String)>()
            + self
                .banners
                .iter()
                .map(|(_, a, b)| a.capacity() + b.capacity())
                .sum::<usize>()
    }

    fn on_data(&mut self, dir: Direction, data: &[u8], sink: &mut dyn Sink) {
        if self.done || data.is_empty() {
            return;
        }
        self.first_ts.get_or_insert(sink.ts_ns());
        let i = match dir {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        };
        self.data(i, data);
        // A side's identification string is its whole transaction 0 for
        // the rules.
        for (i, proto, software) in std::mem::take(&mut self.banners) {
            let d = if i == 0 {
                Direction::ToServer
            } else {
                Direction::ToClient
            };
            sink.buffer(0, d, BufferKind::SshProto, proto.as_bytes());
            sink.buffer(0, d, BufferKind::SshSoftware, software.as_bytes());
            sink.tx_done(0, d);
        }
    }

    fn on_gap(&mut self, dir: Direction, len: u64, _sink: &mut dyn Sink) {
        let i = match dir {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        };
        let s = &mut self.sides[i];
        match s.state {
            // Encrypted bytes are only counted: a gap loses nothing else.
            State::Encrypted => s.encrypted_bytes += len,
            State::Done => {}
            _ => {
                s.state = State::Done;
                s.buf = Vec::new();
                self.weird(format!("{}_gap", side_name(i)));
            }
        }
    }

    fn on_end(&mut self, sink: &mut dyn Sink) {
        if self.done {
            return;
        }
        self.done = true;
        if self.sides.iter().all(|s| s.banner.is_none()) && self.weird.is_empty() {
            return;
        }
        let r = self.build();
        let ts = self.first_ts.unwrap_or_else(|| sink.ts_ns());
        sink.record_at("ssh", ts, Record::typed(r));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::session::tests::stream;
    use netsift_proto::MemSink;
    use serde_json::{json, Value};

    const OLD: &str = include_str!("testdata/openssh_old.txt");
    const NEW: &str = include_str!("testdata/openssh92_tcp80.txt");

    fn run(segs: &[(Direction, Vec<u8>)], chunk: usize) -> Value {
        let mut p = SshParser::new();
        let mut sink = MemSink::default();
        for (dir, b) in segs {
            for c in b.chunks(if chunk == 0 { b.len().max(1) } else { chunk }) {
                p.on_data(*dir, c, &mut sink);
            }
        }
        p.on_end(&mut sink);
        let recs = sink.log("ssh");
        assert_eq!(recs.len(), 1);
        recs[0].clone()
    }

    /// ssh.proto / ssh.software per side, transaction 0, each side done
    /// at its identification string (whole segments and byte by byte).
    #[test]
    fn sticky_ssh_banners() {
        use netsift_proto::BufferKind::{SshProto, SshSoftware};
        use Direction::{ToClient, ToServer};
        for chunk in [0, 1] {
            let mut p = SshParser::new();
            let mut sink = MemSink::default();
            for (dir, b) in stream(OLD) {
                for c in b.chunks(if chunk == 0 { b.len().max(1) } else { chunk }) {
                    p.on_data(dir, c, &mut sink);
                }
            }
            assert_eq!(sink.bufs(0, ToServer, SshProto), [b"2.0"]);
            assert_eq!(sink.bufs(0, ToServer, SshSoftware), [b"OpenSSH_5.6"]);
            assert_eq!(sink.bufs(0, ToClient, SshSoftware), [b"OpenSSH_5.3"]);
            assert_eq!(sink.tx_done.len(), 2);
        }
        // "SSH-protoversion-softwareversion SP comments": the comment is
        // not software.
        let mut p = SshParser::new();
        let mut sink = MemSink::default();
        p.on_data(
            ToServer,
            b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.1\r\n",
            &mut sink,
        );
        assert_eq!(sink.bufs(0, ToServer, SshSoftware), [b"OpenSSH_8.9p1"]);
    }

    /// HASSH values: tshark 4.0.17 `-e ssh.kex.hassh -e
    /// ssh.kex.hasshserver` on nDPI's ssh.pcap and on
    /// crates/cli/tests/nonstd/ssh_tcp80.pcap (`-d tcp.port==80,ssh`).
    #[test]
    fn hassh_matches_tshark() {
        let r = run(&stream(OLD), 0);
        assert_eq!(r["hassh"], "21b457a327ce7a2d4fce5ef2c42400bd");
        assert_eq!(r["hassh_server"], "b1c6c0d56317555b85c7005a3de29325");
        assert_eq!(r["client"], "SSH-2.0-OpenSSH_5.6");
        assert_eq!(r["server"], "SSH-2.0-OpenSSH_5.3");
        assert_eq!(r["version"], "2.0");
        assert_eq!(r["kex_alg"], "diffie-hellman-group-exchange-sha256");
        assert_eq!(r["host_key_alg"], "ssh-rsa");
        assert_eq!(r["cipher_c2s"], "aes128-ctr");
        assert_eq!(r["mac_c2s"], "hmac-md5");
        assert_eq!(r["compression_c2s"], "none");
        assert_eq!(r["newkeys"], true);
        assert!(r.get("weird").is_none());

        let r = run(&stream(NEW), 0);
        assert_eq!(r["hassh"], "472b5de333ad665af5cbf10ff892c4df");
        assert_eq!(r["hassh_server"], "425d29fe50d8e4f5e37efb6e24bcf660");
        assert!(r["hassh_algorithms"]
            .as_str()
            .unwrap()
            .starts_with("sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,"));
        assert_eq!(r["kex_alg"], "sntrup761x25519-sha512");
        assert_eq!(r["host_key_alg"], "ssh-ed25519");
        assert_eq!(r["cipher_c2s"], "chacha20-poly1305@openssh.com");
        assert_eq!(r["cipher_s2c"], "chacha20-poly1305@openssh.com");
        assert_eq!(r["mac_c2s"], "implicit");
        assert_eq!(r["newkeys"], true);
        assert!(r.get("weird").is_none());
    }

    #[test]
    fn byte_by_byte_equals_whole() {
        for t in [OLD, NEW] {
            let segs = stream(t);
            let whole = run(&segs, 0);
            assert_eq!(run(&segs, 1), whole);
            assert_eq!(run(&segs, 5), whole);
        }
    }

    #[test]
    fn gap_and_truncation() {
        let segs = stream(NEW);
        // A gap in the client stream before its KEXINIT.
        let mut p = SshParser::new();
        let mut sink = MemSink::default();
        for (k, (d, b)) in segs.iter().enumerate() {
            if k == 2 {
                p.on_gap(*d, b.len() as u64, &mut sink);
            } else {
                p.on_data(*d, b, &mut sink);
            }
        }
        p.on_end(&mut sink);
        let r = sink.log("ssh")[0];
        assert!(r.get("hassh").is_none());
        assert_eq!(r["hassh_server"], "425d29fe50d8e4f5e37efb6e24bcf660");
        assert_eq!(r["weird"], json!(["client_gap"]));
        // Every prefix of the conversation: no panic.
        netsift_proto::session::feed_every_prefix(&segs, 13, SshParser::new);
    }

    /// `buffered()` holds a KEXINIT packet cut in the middle; once it is
    /// whole only its algorithm lists are kept.
    #[test]
    fn buffered_counts_partial_packet() {
        let mut p = SshParser::new();
        let mut sink = MemSink::default();
        p.on_data(Direction::ToServer, b"SSH-2.0-OpenSSH_9.2p1\r\n", &mut sink);
        let base = p.buffered();
        // RFC 4253 §7.1: KEXINIT with a long (ignored) language list.
        let mut payload = vec![MSG_KEXINIT];
        payload.extend_from_slice(&[7; 16]);
        let langs = "en-US,".repeat(500);
        for l in [
            "curve25519-sha256",
            "ssh-ed25519",
            "aes128-ctr",
            "aes128-ctr",
            "hmac-sha2-256",
            "hmac-sha2-256",
            "none",
            "none",
            &langs,
            "",
        ] {
            payload.extend_from_slice(&(l.len() as u32).to_be_bytes());
            payload.extend_from_slice(l.as_bytes());
        }
        payload.extend_from_slice(&[0, 0, 0, 0, 0]);
        let pad = 8 - (5 + payload.len()) % 8 + 4;
        let mut pkt = ((1 + payload.len() + pad) as u32).to_be_bytes().to_vec();
        pkt.push(pad as u8);
        pkt.extend_from_slice(&payload);
        pkt.extend(std::iter::repeat_n(0, pad));
        let (first, rest) = pkt.split_at(pkt.len() / 2);
        p.on_data(Direction::ToServer, first, &mut sink);
        assert!(p.buffered() >= base + first.len(), "{}", p.buffered());
        p.on_data(Direction::ToServer, rest, &mut sink);
        assert!(p.sides[0].kexinit.is_some());
        assert!(p.buffered() < base + 256, "{} {base}", p.buffered());
    }

    #[test]
    fn malicious_lengths() {
        let mut c = b"SSH-2.0-x\r\n".to_vec();
        c.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 4, 20]);
        let r = run(&[(Direction::ToServer, c)], 0);
        assert_eq!(r["weird"], json!(["client_bad_packet_length"]));
        // padding_length larger than the packet.
        let mut c = b"SSH-2.0-x\r\n".to_vec();
        c.extend_from_slice(&[0, 0, 0, 8, 200, 20, 0, 0, 0, 0, 0, 0]);
        let r = run(&[(Direction::ToServer, c)], 0);
        assert_eq!(r["weird"], json!(["client_bad_padding_length"]));
        // A KEXINIT whose name-list length runs past the packet.
        let mut c = b"SSH-2.0-x\r\n".to_vec();
        let mut payload = vec![20u8];
        payload.extend_from_slice(&[0; 16]);
        payload.extend_from_slice(&[0xff, 0xff, 0xff, 0xf0, b'a']);
        let pad = 4;
        let len = 1 + payload.len() + pad;
        c.extend_from_slice(&(len as u32).to_be_bytes());
        c.push(pad as u8);
        c.extend_from_slice(&payload);
        c.extend_from_slice(&[0; 4]);
        let r = run(&[(Direction::ToServer, c)], 0);
        assert_eq!(r["weird"], json!(["client_malformed_kexinit"]));
        // An endless identification line.
        let r = run(&[(Direction::ToServer, vec![b'S'; 1000])], 0);
        assert_eq!(r["weird"], json!(["client_identification_too_long"]));
    }

    #[test]
    fn server_prelude_lines() {
        let r = run(
            &[
                (
                    Direction::ToClient,
                    b"hello there\r\nSSH-1.99-Cisco-1.25\r\n".to_vec(),
                ),
                (Direction::ToServer, b"SSH-2.0-PuTTY\r\n".to_vec()),
            ],
            0,
        );
        assert_eq!(r["server"], "SSH-1.99-Cisco-1.25");
        assert_eq!(r["version"], "1.99");
    }

    /// crates/cli/tests/edge/ssh_prelude.pcap (make-edge.sh ssh_prelude):
    /// OpenSSH 9.2p1 behind a relay that sends four lines before sshd's
    /// identification string, one of them 317 octets long (more than an
    /// identification string may have, not more than OpenSSH's client
    /// reads). Banner, HASSH and HASSHServer are those of the same programs
    /// without the lines (openssh92_tcp80.txt).
    #[test]
    fn openssh_behind_prelude_lines() {
        let segs = stream(include_str!("testdata/openssh92_prelude.txt"));
        let prelude = &segs[1].1;
        assert!(prelude.starts_with(b"Welcome to the edge-case test host.\r\n"));
        assert!(prelude.split(|&b| b == b'\n').any(|l| l.len() > MAX_ID));
        for chunk in [0, 1, 7] {
            let r = run(&segs, chunk);
            assert_eq!(r["server"], "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10");
            assert_eq!(r["client"], "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10");
            assert_eq!(r["hassh"], "472b5de333ad665af5cbf10ff892c4df");
            assert_eq!(r["hassh_server"], "425d29fe50d8e4f5e37efb6e24bcf660");
            assert_eq!(r["kex_alg"], "sntrup761x25519-sha512");
            assert_eq!(r["newkeys"], true);
            assert!(r.get("weird").is_none(), "{r}");
        }
        // The client may not send such lines; an identification string
        // over 255 octets is refused on either side.
        let long = format!("SSH-2.0-{}\r\n", "x".repeat(250));
        let r = run(&[(Direction::ToClient, long.clone().into_bytes())], 0);
        assert_eq!(r["weird"], json!(["server_identification_too_long"]));
        let r = run(&[(Direction::ToServer, long.into_bytes())], 0);
        assert_eq!(r["weird"], json!(["client_identification_too_long"]));
        // A prelude line over the bound ends the server side.
        let r = run(
            &[(Direction::ToClient, vec![b'a'; MAX_PRELUDE_LINE + 1])],
            0,
        );
        assert_eq!(r["weird"], json!(["server_identification_too_long"]));
    }

    #[test]
    fn mutated_streams_do_not_panic() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for t in [OLD, NEW] {
            let segs = stream(t);
            for round in 0..60 {
                let mut segs = segs.clone();
                for (_, b) in &mut segs {
                    for _ in 0..1 + round % 3 {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        if !b.is_empty() {
                            let i = (x as usize) % b.len();
                            b[i] = (x >> 40) as u8;
                        }
                    }
                }
                let _ = run(&segs, 0);
            }
        }
    }
}
