//! The hand-over of a plaintext connection to TLS: STARTTLS and its kin.
//!
//! SMTP STARTTLS (RFC 3207), POP3 STLS (RFC 2595), IMAP STARTTLS (RFC 9051
//! §6.2.1), FTP AUTH TLS (RFC 4217), LDAP's StartTLS extended operation (RFC
//! 4511 §4.14), MySQL's SSLRequest, PostgreSQL's SSLRequest, XMPP
//! `<starttls/>` (RFC 6120 §5), IRCv3 STARTTLS and RDP with TLS security
//! (MS-RDPBCGR §5.4.5.1) all do the same thing: some plaintext, a request, a
//! positive answer, and from then on each direction's bytes are a TLS
//! stream. One mechanism serves them all:
//!
//! * The plaintext parser implements [`Upgradable`]: after each call it can
//!   say, once, that the connection switched ([`Handover`]), and how many of
//!   the bytes it was just given were still plaintext.
//! * [`StartTls`] wraps it: it feeds the plaintext parser until the switch,
//!   then gives the rest of that call and every later byte of both
//!   directions to a [`TlsParser`] that writes the `tls` record of the same
//!   connection (same uid), marked with the protocol that upgraded.
//! * While the plaintext parser is waiting for a line-based answer
//!   ([`Upgradable::awaiting_answer`]), the wrapper hands it bytes one line at
//!   a time, so "the answer line was the last plaintext" names the exact
//!   byte without the parser counting offsets.
//!
//! The other direction switches at its next byte: the requester stops
//! sending once it asked (RFC 3207 §4: "the client MUST NOT send ... until
//! it receives the server response"; RFC 2595 §4; RFC 4511 §4.14.1), so
//! whatever it sends after the positive answer is TLS. Bytes it sent
//! between request and answer (a pipelined command: the STARTTLS command
//! injection of CVE-2011-0411) stay plaintext and go to the plaintext
//! parser. A refused upgrade never produces a [`Handover`]; the connection
//! stays plaintext.

use netsift_proto::{Direction, Parser, Sink};

use crate::tls::session::TlsParser;

/// The switch to TLS, announced by a plaintext parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Handover {
    /// Bytes of the data of the call that announced it which were still
    /// plaintext; `None`: all of them. The rest of that call's data, and
    /// every later byte of both directions, is TLS.
    pub used: Option<usize>,
}

impl Handover {
    /// The switch comes right after the bytes of the last call.
    pub(crate) fn after_all() -> Handover {
        Handover { used: None }
    }

    /// The switch comes after `n` bytes of the last call's data.
    pub(crate) fn after(n: usize) -> Handover {
        Handover { used: Some(n) }
    }
}

/// A plaintext parser that can hand its connection over to TLS.
pub(crate) trait Upgradable: Parser {
    /// The switch decided during the last `on_data` call, reported once.
    fn take_handover(&mut self) -> Option<Handover>;

    /// An upgrade was requested and the answer is a line still to come:
    /// the wrapper then feeds one line per call. Binary protocols, which
    /// report exact byte counts, keep the default.
    fn awaiting_answer(&self) -> bool {
        false
    }
}

/// A plaintext parser followed, after a STARTTLS-style upgrade, by the TLS
/// parser. The flow's protocol stays the plaintext one.
pub(crate) struct StartTls<P> {
    plain: P,
    /// The protocol named in the `tls` record's `starttls` field.
    from: &'static str,
    /// Set at the switch.
    tls: Option<TlsParser>,
}

impl<P: Upgradable> StartTls<P> {
    pub(crate) fn new(from: &'static str, plain: P) -> StartTls<P> {
        StartTls {
            plain,
            from,
            tls: None,
        }
    }

    /// The plaintext parser (tests).
    #[cfg(test)]
    pub(crate) fn plain(&self) -> &P {
        &self.plain
    }
}

/// One line of `d` (through its LF), or all of it when no LF.
fn line_piece(d: &[u8]) -> usize {
    d.iter()
        .position(|&b| b == b'\n')
        .map_or(d.len(), |i| i + 1)
}

impl<P: Upgradable> Parser for StartTls<P> {
    fn on_data(&mut self, dir: Direction, data: &[u8], sink: &mut dyn Sink) {
        if let Some(t) = self.tls.as_mut() {
            return t.on_data(dir, data, sink);
        }
        let mut rest = data;
        while !rest.is_empty() {
            let n = if self.plain.awaiting_answer() {
                line_piece(rest)
            } else {
                rest.len()
            };
            let (piece, later) = rest.split_at(n);
            self.plain.on_data(dir, piece, sink);
            if let Some(h) = self.plain.take_handover() {
                let used = h.used.unwrap_or(n).min(n);
                let mut t = TlsParser::upgraded_from(self.from);
                let tail = rest.get(used..).unwrap_or(&[]);
                if !tail.is_empty() {
                    t.on_data(dir, tail, sink);
                }
                self.tls = Some(t);
                return;
            }
            rest = later;
        }
    }

    fn on_gap(&mut self, dir: Direction, len: u64, sink: &mut dyn Sink) {
        match self.tls.as_mut() {
            Some(t) => t.on_gap(dir, len, sink),
            None => self.plain.on_gap(dir, len, sink),
        }
    }

    fn on_linked_data(
        &mut self,
        link: u32,
        dir: Direction,
        data: &[u8],
        end: bool,
        sink: &mut dyn Sink,
    ) {
        // FTP data channels belong to the plaintext parser, before and
        // after its control connection turned to TLS.
        self.plain.on_linked_data(link, dir, data, end, sink);
    }

    fn on_end(&mut self, sink: &mut dyn Sink) {
        self.plain.on_end(sink);
        if let Some(t) = self.tls.as_mut() {
            t.on_end(sink);
        }
    }

    fn buffered(&self) -> usize {
        self.plain.buffered() + self.tls.as_ref().map_or(0, Parser::buffered)
    }
}

/// What a protocol's upgrade rule says about the two stream prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Watch {
    /// Not decided yet: more bytes may tell.
    More,
    /// No upgrade in this connection (another exchange, a refusal).
    Never,
    /// The connection turns to TLS after byte `n` of the prefix of the
    /// direction whose bytes just arrived (the answer, or for MySQL the
    /// request itself).
    After(usize),
}

/// A protocol's upgrade rule: a pure function of the direction that just
/// got bytes and the client's and server's stream prefixes.
pub(crate) type Rule = fn(Direction, &[u8], &[u8]) -> Watch;

/// Bytes of each direction kept while watching for an upgrade.
pub(crate) const MAX_WATCH: usize = 16 * 1024;

/// The plaintext side of protocols netsift only identifies (LDAP, MySQL,
/// PostgreSQL, XMPP, IRC, RDP): keeps bounded prefixes of both directions
/// and asks the protocol's [`Rule`] after each arrival whether the
/// connection upgraded. Writes no record of its own.
pub(crate) struct Watcher {
    rule: Rule,
    pre: [Vec<u8>; 2],
    done: bool,
    handover: Option<Handover>,
}

impl Watcher {
    pub(crate) fn new(rule: Rule) -> Watcher {
        Watcher {
            rule,
            pre: [Vec::new(), Vec::new()],
            done: false,
            handover: None,
        }
    }

    fn stop(&mut self) {
        self.done = true;
        self.pre = [Vec::new(), Vec::new()];
    }
}

impl Parser for Watcher {
    fn on_data(&mut self, dir: Direction, data: &[u8], _sink: &mut dyn Sink) {
        if self.done {
            return;
        }
        let i = usize::from(dir == Direction::ToClient);
        let before = self.pre[i].len();
        let take = data.len().min(MAX_WATCH.saturating_sub(before));
        self.pre[i].extend_from_slice(data.get(..take).unwrap_or(&[]));
        match (self.rule)(dir, &self.pre[0], &self.pre[1]) {
            Watch::More if take == data.len() => {}
            Watch::More | Watch::Never => self.stop(),
            Watch::After(n) => {
                self.handover = Some(Handover::after(n.saturating_sub(before)));
                self.stop();
            }
        }
    }

    fn on_gap(&mut self, _dir: Direction, _len: u64, _sink: &mut dyn Sink) {
        // Message boundaries are lost.
        self.stop();
    }

    fn buffered(&self) -> usize {
        self.pre.iter().map(Vec::capacity).sum()
    }
}

impl Upgradable for Watcher {
    fn take_handover(&mut self) -> Option<Handover> {
        self.handover.take()
    }
}

/// The parser of a protocol whose only parsed part is its TLS upgrade.
pub(crate) fn watch(from: &'static str, rule: Rule) -> Box<dyn Parser> {
    Box::new(StartTls::new(from, Watcher::new(rule)))
}

/// Test helper: replay a conversation through [`watch`] and return the
/// records written.
#[cfg(test)]
pub(crate) fn replay(
    from: &'static str,
    rule: Rule,
    segs: &[(Direction, Vec<u8>)],
) -> netsift_proto::MemSink {
    let mut p = watch(from, rule);
    let mut s = netsift_proto::MemSink::default();
    for (d, b) in segs {
        p.on_data(*d, b, &mut s);
    }
    p.on_end(&mut s);
    s
}

/// Test helper: a real upgrade conversation (`tshark -z follow,tcp,raw`
/// text) gives one established TLS 1.3 record marked `starttls: from`,
/// with `sni`, no weird, and the same record when fed byte by byte.
#[cfg(test)]
pub(crate) fn assert_real_upgrade(from: &'static str, rule: Rule, follow: &str, sni: Option<&str>) {
    let segs = crate::tls::session::tests::stream(follow);
    let s = replay(from, rule, &segs);
    let t = s.log("tls");
    assert_eq!(t.len(), 1, "{:?}", s.records);
    assert_eq!(t[0]["starttls"], from);
    assert_eq!(t[0]["version"], "TLS 1.3");
    assert_eq!(t[0]["established"], true);
    assert_eq!(t[0]["server_name"].as_str(), sni);
    assert!(t[0].get("weird").is_none(), "{:?}", t[0]);
    // Every chunking of the same conversation gives the same record.
    let bytewise: Vec<_> = segs
        .iter()
        .flat_map(|(d, b)| b.iter().map(move |x| (*d, vec![*x])))
        .collect();
    assert_eq!(replay(from, rule, &bytewise).log("tls"), t);
}

#[cfg(test)]
mod tests {
    use super::*;
    use netsift_proto::MemSink;
    use Direction::{ToClient, ToServer};

    /// A toy line protocol: "UP" asks, "YES" grants, "NO" refuses;
    /// "RAW<n>" grants after n bytes of the same call (binary style).
    #[derive(Default)]
    struct Toy {
        asked: bool,
        h: Option<Handover>,
        plain: Vec<(Direction, Vec<u8>)>,
        done: bool,
    }

    impl Parser for Toy {
        fn on_data(&mut self, dir: Direction, data: &[u8], _s: &mut dyn Sink) {
            assert!(!self.done, "plaintext parser fed after the switch");
            self.plain.push((dir, data.to_vec()));
            for l in data.split(|&b| b == b'\n') {
                match (dir, l) {
                    (ToServer, b"UP\r") => self.asked = true,
                    (ToClient, b"YES\r") if self.asked => {
                        self.h = Some(Handover::after_all());
                        self.done = true;
                        return;
                    }
                    (ToClient, b"NO\r") => self.asked = false,
                    (ToClient, l) if l.starts_with(b"RAW") => {
                        self.h = Some(Handover::after(3));
                        self.done = true;
                        return;
                    }
                    _ => {}
                }
            }
        }
    }

    impl Upgradable for Toy {
        fn take_handover(&mut self) -> Option<Handover> {
            self.h.take()
        }
        fn awaiting_answer(&self) -> bool {
            self.asked
        }
    }

    /// A real ClientHello (SNI www.google.it) and ServerHello, see
    /// tls/testdata/README.md.
    fn client_hello() -> Vec<u8> {
        include_bytes!("tls/testdata/ch_tls10.bin").to_vec()
    }
    fn server_hello() -> Vec<u8> {
        include_bytes!("tls/testdata/sh_tls12.bin").to_vec()
    }

    #[test]
    fn answer_and_tls_in_one_chunk_split_at_the_line() {
        let mut p = StartTls::new("TOY", Toy::default());
        let mut s = MemSink::default();
        p.on_data(ToServer, b"UP\r\n", &mut s);
        // The answer line and (say, after a retransmission) the first TLS
        // bytes arrive together: the plaintext parser gets only the line.
        let mut d = b"YES\r\n".to_vec();
        d.extend_from_slice(&[0x16, 0x03, 0x03, 0x00, 0x02, 0x02, 0x00]);
        p.on_data(ToClient, &d, &mut s);
        assert_eq!(p.plain().plain.last().unwrap().1, b"YES\r\n");
        p.on_data(ToServer, &client_hello(), &mut s);
        p.on_end(&mut s);
        let t = s.log("tls");
        assert_eq!(t.len(), 1);
        assert_eq!(t[0]["server_name"], "www.google.it");
        assert_eq!(t[0]["starttls"], "TOY");
    }

    #[test]
    fn refused_upgrade_stays_plaintext() {
        let mut p = StartTls::new("TOY", Toy::default());
        let mut s = MemSink::default();
        p.on_data(ToServer, b"UP\r\n", &mut s);
        p.on_data(ToClient, b"NO\r\n", &mut s);
        p.on_data(ToServer, &client_hello(), &mut s);
        p.on_end(&mut s);
        assert!(s.log("tls").is_empty());
        assert_eq!(p.plain().plain.len(), 3);
    }

    #[test]
    fn binary_count_switches_mid_call() {
        let mut p = StartTls::new("TOY", Toy::default());
        let mut s = MemSink::default();
        // The toy says 3 bytes of this call were plaintext ("RAW"): the
        // ServerHello right behind them is the server's first TLS byte.
        let mut d = b"RAW".to_vec();
        d.extend_from_slice(&server_hello());
        p.on_data(ToClient, &d, &mut s);
        p.on_data(ToServer, &client_hello(), &mut s);
        p.on_end(&mut s);
        let t = s.log("tls");
        assert_eq!(t.len(), 1, "{:?}", s.records);
        assert_eq!(t[0]["server_name"], "www.google.it");
        assert_eq!(t[0]["version"], "TLS 1.2");
        assert!(!t[0]["weird"].to_string().contains("not_tls"));
    }

    /// The line-based protocols on real captures (crates/cli/tests/starttls,
    /// `tshark -q -z follow,tcp,raw,N`): the record of the plaintext part
    /// says tls, and the TLS part has its own record.
    fn line_protocol(
        from: &'static str,
        log: &str,
        new: fn() -> Box<dyn Parser>,
        text: &str,
    ) -> (Vec<serde_json::Value>, serde_json::Value) {
        let segs = crate::tls::session::tests::stream(text);
        let mut out = None;
        // Whole segments, then byte by byte: the same records.
        for bytewise in [false, true] {
            let mut p = new();
            let mut s = MemSink::default();
            for (d, b) in &segs {
                if bytewise {
                    for x in b {
                        p.on_data(*d, &[*x], &mut s);
                    }
                } else {
                    p.on_data(*d, b, &mut s);
                }
            }
            p.on_end(&mut s);
            let plain: Vec<_> = s.log(log).into_iter().cloned().collect();
            let t = s.log("tls");
            assert_eq!(t.len(), 1, "{from}: {:?}", s.records);
            assert_eq!(t[0]["starttls"], from);
            let got = (plain, t[0].clone());
            if let Some(o) = &out {
                assert_eq!(o, &got, "{from}: bytewise differs");
            }
            out = Some(got);
        }
        out.unwrap_or_default()
    }

    #[test]
    fn smtp_swaks_against_aiosmtpd() {
        let (smtp, tls) = line_protocol(
            "SMTP",
            "smtp",
            || crate::by_name("SMTP").and_then(|p| p.parser()).unwrap(),
            include_str!("smtp/testdata/starttls_swaks.txt"),
        );
        assert_eq!(smtp[0]["tls"], true);
        assert_eq!(tls["server_name"], "localhost");
        assert_eq!(tls["version"], "TLS 1.3");
        assert_eq!(tls["established"], true);
    }

    #[test]
    fn smtp_refused_starttls_stays_plaintext() {
        let segs =
            crate::tls::session::tests::stream(include_str!("smtp/testdata/starttls_refused.txt"));
        let mut p = crate::by_name("SMTP").and_then(|p| p.parser()).unwrap();
        let mut s = MemSink::default();
        for (d, b) in &segs {
            p.on_data(*d, b, &mut s);
        }
        p.on_end(&mut s);
        assert!(s.log("tls").is_empty());
        let r = s.log("smtp");
        assert_eq!(r[0]["tls"], false);
        assert_eq!(r[0]["mail_from"], "alice@example.org");
    }

    #[test]
    fn imap_and_pop3_curl_against_dovecot() {
        let new_imap = || crate::by_name("IMAP").and_then(|p| p.parser()).unwrap();
        let (imap, tls) = line_protocol(
            "IMAP",
            "imap",
            new_imap,
            include_str!("imap/testdata/starttls_curl.txt"),
        );
        assert_eq!(imap[0]["tls"], true);
        assert_eq!(tls["server_name"], "localhost");
        let new_pop3 = || crate::by_name("POP3").and_then(|p| p.parser()).unwrap();
        let (pop3, tls) = line_protocol(
            "POP3",
            "pop3",
            new_pop3,
            include_str!("pop3/testdata/stls_curl.txt"),
        );
        assert_eq!(pop3[0]["tls"], true);
        assert_eq!(tls["version"], "TLS 1.3");
    }

    #[test]
    fn ftp_auth_ssl_curl_against_vsftpd() {
        let (ftp, tls) = line_protocol(
            "FTP",
            "ftp",
            || {
                crate::by_name("FTP_CONTROL")
                    .and_then(|p| p.parser())
                    .unwrap()
            },
            include_str!("ftp_control/testdata/auth_tls.txt"),
        );
        assert!(ftp
            .iter()
            .any(|r| r["command"] == "AUTH" && r["reply_code"] == 234));
        assert_eq!(tls["version"], "TLS 1.3");
        assert_eq!(tls["established"], true);
    }
}
