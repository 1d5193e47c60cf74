//! Sessions as sequences of items: one item per command, `COMMAND:reply`.
//!
//! A tokenizer per protocol turns its records into items; the mining and
//! scoring code never looks at a protocol again.
//!
//! | protocol | record(s) | item |
//! |---|---|---|
//! | ftp  | one `ftp` record per command (`command`, `reply_code`) | `USER:331`, `SITE EXEC:500` |
//! | smtp | `smtp` records, each with the `commands` since the previous one | `MAIL:250` |
//! | pop3 | one `pop3` record per session, `commands` with `status` | `RETR:+OK` |
//! | imap | one `imap` record per session, `commands` with `status` | `UID FETCH:OK` |
//!
//! A command without a reply gets `-` (`QUIT:-`). Arguments are kept aside
//! as features: for FTP, `SITE`'s subcommand becomes part of the item (it
//! is the real verb: `SITE EXEC`, `SITE CHMOD`), and a `PORT`/`EPRT` whose
//! address is not the client's is an FTP bounce (RFC 2577 §2), and the
//! directories a session works in (CWD, and the parent of RETR/STOR/DELE/...
//! paths, resolved against the working directory) are compared with those
//! of training.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use netsift_engine::records::{FtpRecord, Record, RecordEvent};

use crate::capability::{self, Negotiation};
pub use crate::protocol::Protocol;

/// Most items kept per session (counts keep counting beyond).
pub const MAX_ITEMS: usize = 4096;
/// Most items stored across all open sessions of a tracker (about 64
/// bytes each): beyond it new steps are counted but not stored.
pub const MAX_TOTAL_ITEMS: usize = 4_000_000;
/// Most distinct items counted per session.
pub const MAX_DISTINCT: usize = 1024;
/// Longest item text (command plus reply), in bytes.
pub const MAX_ITEM_LEN: usize = 40;

/// A command verb made safe as an item: upper case, letters, digits and
/// `-`/`_` only, cut at 16 bytes.
fn verb(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
        .take(24)
        .collect::<String>()
        .to_ascii_uppercase()
}

fn item(cmd: &str, reply: &str) -> String {
    let mut s = format!("{}:{}", verb(cmd), reply);
    if s.len() > MAX_ITEM_LEN {
        let mut cut = MAX_ITEM_LEN;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// One step of a session: its item and, for FTP bounces, the third host.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub item: String,
    /// PORT/EPRT to an address other than the client's.
    pub bounce: Option<IpAddr>,
    /// FTP: a working-directory change or a file path, for [`Session::dirs`].
    pub path: Option<PathArg>,
    /// The capability this command depends on ([`capability::negotiation`]).
    pub neg: Option<Negotiation>,
    /// The command asks for capabilities (FEAT, EHLO, CAPA, CAPABILITY).
    pub query: bool,
    /// The capabilities its reply advertised (FTP FEAT).
    pub advert: Option<Vec<String>>,
    /// The server answered "not implemented" ([`capability::not_implemented`]).
    pub refused: bool,
    /// The server accepted it (reply class 2xx or ok).
    pub accepted: bool,
    /// What the step says about the session's outcome.
    pub effect: Effect,
}

/// What a step says about how the session went (for session chains).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Effect {
    #[default]
    None,
    LoginOk,
    LoginFailed,
    Transfer,
    Error,
}

/// A completion reply (class 2xx, or `+OK`/`OK`).
fn accepted(reply: &str) -> bool {
    matches!(capability::reply_class(reply).as_str(), "2xx" | "ok")
}

/// The effect of `cmd` answered by `reply` (class `2xx`, `ok`, ...).
fn effect(proto: Protocol, cmd: &str, reply: &str) -> Effect {
    let class = capability::reply_class(reply);
    let ok = class == "2xx" || class == "ok";
    let fail = class == "4xx" || class == "5xx" || class == "err";
    let (login, transfer): (&[&str], &[&str]) = match proto {
        // RFC 959 §5.4: USER/PASS answer 230 (logged in) or 530 (not).
        Protocol::Ftp => (
            &["USER", "PASS", "ACCT"],
            &["RETR", "STOR", "STOU", "APPE", "LIST", "NLST", "MLSD"],
        ),
        // RFC 4954 §6: 235 authenticated, 535 credentials invalid.
        Protocol::Smtp => (&["AUTH"], &["DATA", "BDAT"]),
        // RFC 1939 §7, RFC 5034.
        Protocol::Pop3 => (&["USER", "PASS", "APOP", "AUTH"], &["RETR", "TOP"]),
        // RFC 9051 §6.2.2, §6.2.3.
        Protocol::Imap => (
            &["LOGIN", "AUTHENTICATE"],
            &["FETCH", "UID FETCH", "APPEND"],
        ),
    };
    if login.contains(&cmd) {
        // FTP USER:331 / POP3 USER:+OK only ask for the password.
        let complete = match proto {
            Protocol::Ftp => reply == "230",
            Protocol::Pop3 => cmd != "USER" && ok,
            _ => ok,
        };
        if complete {
            return Effect::LoginOk;
        }
        if fail && !(proto == Protocol::Ftp && class == "4xx") {
            return Effect::LoginFailed;
        }
        return Effect::None;
    }
    // SMTP DATA is accepted with 354 before the message (RFC 5321 §4.1.1.4).
    if transfer.contains(&cmd) && (ok || (proto == Protocol::Smtp && reply == "354")) {
        return Effect::Transfer;
    }
    if fail {
        Effect::Error
    } else {
        Effect::None
    }
}

/// An FTP path argument.
#[derive(Debug, Clone, PartialEq)]
pub enum PathArg {
    /// CWD/XCWD that succeeded (RFC 959 §4.1.1: reply 250): the new directory.
    Cwd(String),
    /// CDUP/XCUP that succeeded (200 or 250).
    Up,
    /// The argument of a command naming a file (RETR, STOR, DELE, ...).
    File(String),
}

/// Most distinct directories kept per session.
pub const MAX_DIRS: usize = 64;

/// Commands whose argument is a file path (RFC 959 §4.1.3, RFC 3659).
const FILE_COMMANDS: [&str; 11] = [
    "RETR", "STOR", "STOU", "APPE", "DELE", "RNFR", "RNTO", "SIZE", "MDTM", "MKD", "RMD",
];

/// `arg` resolved against `cwd`, normalized (`.` and `..` removed; never
/// above `/`).
pub fn resolve(cwd: &str, arg: &str) -> String {
    let mut parts: Vec<&str> = if arg.starts_with('/') {
        Vec::new()
    } else {
        cwd.split('/').filter(|p| !p.is_empty()).collect()
    };
    for p in arg.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
        if parts.len() > 32 {
            break;
        }
    }
    let mut s = String::from("/");
    s.push_str(&parts.join("/"));
    // At most 256 bytes, cut at a character boundary (the path comes from
    // the wire and may be any UTF-8).
    let mut cut = s.len().min(256);
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
    s
}

/// The directory of a path (`/a/b.txt` → `/a`).
pub fn parent(path: &str) -> String {
    match path.rfind('/') {
        Some(0) | None => "/".to_string(),
        // `/` is ASCII, so `i` is a character boundary.
        Some(i) => path.get(..i).unwrap_or("/").to_string(),
    }
}

/// The address of a PORT (`h1,h2,h3,h4,p1,p2`, RFC 959 §4.1.2) or EPRT
/// (`|1|132.235.1.2|6275|`, RFC 2428 §2) argument.
pub fn data_address(command: &str, arg: &str) -> Option<IpAddr> {
    let arg = arg.trim();
    match command {
        "PORT" => {
            let parts: Vec<&str> = arg.split(',').map(str::trim).collect();
            if parts.len() != 6 {
                return None;
            }
            let mut b = [0u8; 4];
            for (i, p) in parts[..4].iter().enumerate() {
                b[i] = p.parse().ok()?;
            }
            Some(IpAddr::from(b))
        }
        "EPRT" => {
            // "The EPRT command keyword MUST be followed by a single space
            // (ASCII 32). Following the space, a delimiter character
            // (<d>) MUST be specified." (RFC 2428 §2)
            let d = arg.chars().next()?;
            let mut it = arg.get(d.len_utf8()..)?.split(d);
            let _proto = it.next()?;
            it.next()?.parse().ok()
        }
        _ => None,
    }
}

/// The steps of one record of `proto` (`client` is the session's
/// originator, for the bounce check).
pub fn steps(proto: Protocol, record: &Record, client: IpAddr) -> Vec<Step> {
    match RecordEvent::of(record) {
        RecordEvent::Ftp(r) => ftp_steps(proto, r, client),
        RecordEvent::Smtp(r) => mail_steps(
            proto,
            r.commands
                .iter()
                .map(|c| (c.command, c.reply_code.to_string(), "")),
        ),
        RecordEvent::Pop3(r) => mail_steps(
            proto,
            r.commands.iter().map(|c| {
                let reply = c.status.clone().unwrap_or_else(|| "-".to_string());
                (c.command.as_str(), reply, c.arg.as_deref().unwrap_or(""))
            }),
        ),
        RecordEvent::Imap(r) => mail_steps(
            proto,
            r.commands.iter().map(|c| {
                let reply = c.status.clone().unwrap_or_else(|| "-".to_string());
                (c.command.as_str(), reply, c.args.as_deref().unwrap_or(""))
            }),
        ),
        _ => Vec::new(),
    }
}

/// The step of one `ftp` record: its command and final reply.
fn ftp_steps(proto: Protocol, record: &FtpRecord, client: IpAddr) -> Vec<Step> {
    let cmd = record.command.as_str();
    if cmd.starts_with('<') {
        return Vec::new(); // "<banner>": nothing was sent
    }
    let cmd = verb(cmd);
    let arg = record.arg.clone().unwrap_or_default();
    let reply = record
        .reply_code
        .map_or_else(|| "-".to_string(), |c| c.to_string());
    let name = if cmd == "SITE" {
        // SITE's first word is the real command (SITE EXEC, CHMOD).
        let sub = verb(arg.split_whitespace().next().unwrap_or(""));
        if sub.is_empty() {
            cmd.clone()
        } else {
            format!("SITE {sub}")
        }
    } else {
        cmd.clone()
    };
    let bounce = data_address(&cmd, &arg).filter(|a| *a != client && !a.is_unspecified());
    let ok = |codes: &[&str]| codes.contains(&reply.as_str());
    let arg = arg.trim();
    let path = match cmd.as_str() {
        "CWD" | "XCWD" if ok(&["250"]) && !arg.is_empty() => Some(PathArg::Cwd(arg.into())),
        "CDUP" | "XCUP" if ok(&["200", "250"]) => Some(PathArg::Up),
        c if FILE_COMMANDS.contains(&c) && !arg.is_empty() => {
            Some(PathArg::File(arg.chars().take(256).collect()))
        }
        _ => None,
    };
    let advert = (cmd == "FEAT" && reply.starts_with('2'))
        .then(|| capability::ftp_features(record.reply_msg.as_deref().unwrap_or("")));
    vec![Step {
        item: item(&name, &reply),
        bounce,
        path,
        neg: capability::negotiation(proto, &cmd, arg),
        query: capability::is_query(proto, &cmd),
        advert,
        refused: capability::not_implemented(&reply),
        accepted: accepted(&reply),
        effect: effect(proto, &cmd, &reply),
    }]
}

/// The steps of the commands of a mail record (SMTP, POP3, IMAP): each
/// command's name, reply (code or status, `-` when unanswered) and
/// argument.
fn mail_steps<'r>(
    proto: Protocol,
    commands: impl Iterator<Item = (&'r str, String, &'r str)>,
) -> Vec<Step> {
    commands
        .take(MAX_ITEMS)
        .map(|(cmd, reply, arg)| {
            let v = verb(cmd);
            Step {
                item: item(cmd, &reply),
                bounce: None,
                path: None,
                neg: capability::negotiation(proto, &v, arg),
                query: capability::is_query(proto, &v),
                advert: None,
                refused: capability::not_implemented(&reply),
                accepted: accepted(&reply),
                effect: effect(proto, &v, &reply),
            }
        })
        .collect()
}

/// The server software a record names (from the server's greeting).
fn server_software(record: &Record) -> Option<&str> {
    match RecordEvent::of(record) {
        RecordEvent::Ftp(r) => r.server_software.as_deref(),
        RecordEvent::Smtp(r) => r.server_software.as_deref(),
        RecordEvent::Pop3(r) => r.server_software.as_deref(),
        RecordEvent::Imap(r) => r.server_software.as_deref(),
        RecordEvent::Ssh(r) => r.server_software.as_deref(),
        _ => None,
    }
}

/// One session being collected.
#[derive(Debug, Clone)]
pub struct Session {
    pub uid: String,
    pub src_ip: IpAddr,
    pub src_port: u16,
    pub dst_ip: IpAddr,
    pub dst_port: u16,
    /// Packet time of the first and last record.
    pub first_ts: u64,
    pub last_ts: u64,
    /// Items in order (at most [`MAX_ITEMS`]).
    pub items: Vec<String>,
    /// Steps seen, including those beyond [`MAX_ITEMS`].
    pub total: u64,
    /// Count of each item (at most [`MAX_DISTINCT`] distinct items).
    pub counts: HashMap<String, u64>,
    /// First FTP bounce: step index and the third host.
    pub bounce: Option<(usize, IpAddr)>,
    /// FTP working directory (starts at `/`).
    pub cwd: String,
    /// FTP directories used, with the step that first used each (at most
    /// [`MAX_DIRS`]).
    pub dirs: Vec<(usize, String)>,
    /// The server software from the banner fingerprint (`vsftpd`).
    pub software: Option<String>,
    /// Per stored item: the step may be negotiation (its capability was
    /// advertised, or it is security negotiation, or — for a command the
    /// code has no rule for — the client asked for capabilities before);
    /// the model's `negotiation` list decides ([`Session::core`]).
    pub eligible: Vec<bool>,
    /// Per stored item: an FTP extension command that this session's FEAT
    /// listed ([`capability::ftp_advertised_extension`]).
    pub advertised: Vec<bool>,
    /// Capabilities advertised so far (FTP FEAT); `None`: not seen.
    pub caps: Option<Vec<String>>,
    /// The client asked for capabilities.
    pub queried: bool,
    /// Failed and successful logins, transfers, failed other commands.
    pub logins_failed: u64,
    pub logins_ok: u64,
    pub transfers: u64,
    pub errors: u64,
    /// The session went encrypted (a STARTTLS, STLS or AUTH TLS that the
    /// server accepted): what followed is not in the records, so its outcome
    /// is unknown and session chains skip it.
    pub encrypted: bool,
}

/// A session's outcome, an item of a session chain.
pub fn outcome_name(failed: u64, ok: u64, transfers: u64, errors: u64) -> &'static str {
    if failed > 0 && ok == 0 {
        "login-failed"
    } else if transfers > 0 {
        "transfer"
    } else if ok > 0 {
        "login-ok"
    } else if errors > 0 {
        "error"
    } else {
        "other"
    }
}

impl Session {
    /// A new, empty session.
    pub fn new(uid: &str, src: (IpAddr, u16), dst: (IpAddr, u16), ts_ns: u64) -> Self {
        Session {
            uid: uid.to_string(),
            src_ip: src.0,
            src_port: src.1,
            dst_ip: dst.0,
            dst_port: dst.1,
            first_ts: ts_ns,
            last_ts: ts_ns,
            items: Vec::new(),
            total: 0,
            counts: HashMap::new(),
            bounce: None,
            cwd: "/".into(),
            dirs: Vec::new(),
            software: None,
            eligible: Vec::new(),
            advertised: Vec::new(),
            caps: None,
            queried: false,
            logins_failed: 0,
            logins_ok: 0,
            transfers: 0,
            errors: 0,
            encrypted: false,
        }
    }

    /// A session of the given items (tests and tools); every step counts.
    pub fn of_items(items: &[&str]) -> Self {
        let lo = IpAddr::from([127, 0, 0, 1]);
        let mut s = Session::new("C0", (lo, 40000), (lo, 21), 0);
        for i in items {
            s.total += 1;
            *s.counts.entry(i.to_string()).or_default() += 1;
            s.items.push(i.to_string());
            s.eligible.push(false);
            s.advertised.push(false);
        }
        s
    }

    /// The session's outcome: `login-failed`, `transfer`, `login-ok`,
    /// `error` or `other`.
    pub fn outcome(&self) -> &'static str {
        outcome_name(
            self.logins_failed,
            self.logins_ok,
            self.transfers,
            self.errors,
        )
    }

    /// Whether stored item `i` is negotiation under the list `negotiation`
    /// (command names), and, with `advertised`, any advertised extension.
    pub fn is_negotiation(&self, i: usize, negotiation: &[String], advertised: bool) -> bool {
        if advertised && self.advertised.get(i).copied().unwrap_or(false) {
            return true;
        }
        self.eligible.get(i).copied().unwrap_or(false)
            && self.items.get(i).is_some_and(|it| {
                let cmd = it.rsplit_once(':').map_or(it.as_str(), |(c, _)| c);
                negotiation.iter().any(|n| n == cmd)
            })
    }

    /// The stored items that are not negotiation, with their step index
    /// (0-based): the order transitions and patterns model.
    pub fn core(&self, negotiation: &[String], advertised: bool) -> Vec<(usize, &str)> {
        self.items
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.is_negotiation(*i, negotiation, advertised))
            .map(|(i, it)| (i, it.as_str()))
            .collect()
    }

    /// Adds a step; whether its item was stored.
    fn push(&mut self, step: Step, may_store: bool) -> bool {
        let idx = self.total as usize;
        self.total += 1;
        let eligible = match &step.neg {
            Some(Negotiation::Always) => true,
            Some(Negotiation::Needs(c)) => {
                step.refused
                    || match &self.caps {
                        Some(caps) => caps.iter().any(|x| x == c),
                        None => self.queried,
                    }
            }
            None => self.queried,
        };
        let negotiating = step.neg.is_some() && eligible;
        if step.neg == Some(Negotiation::Always) && step.accepted {
            self.encrypted = true;
        }
        match step.effect {
            Effect::LoginOk => self.logins_ok += 1,
            Effect::LoginFailed => self.logins_failed += 1,
            Effect::Transfer => self.transfers += 1,
            // A refused capability is not an error of the session.
            Effect::Error if !negotiating => self.errors += 1,
            _ => {}
        }
        if step.query {
            self.queried = true;
        }
        if let Some(a) = step.advert {
            let caps = self.caps.get_or_insert_with(Vec::new);
            for c in a {
                if caps.len() < capability::MAX_CAPS && !caps.contains(&c) {
                    caps.push(c);
                }
            }
        }
        if let Some(a) = step.bounce {
            self.bounce.get_or_insert((idx, a));
        }
        let dir = match &step.path {
            Some(PathArg::Cwd(a)) => {
                self.cwd = resolve(&self.cwd, a);
                Some(self.cwd.clone())
            }
            Some(PathArg::Up) => {
                self.cwd = parent(&self.cwd);
                Some(self.cwd.clone())
            }
            Some(PathArg::File(a)) => Some(parent(&resolve(&self.cwd, a))),
            None => None,
        };
        if let Some(d) = dir {
            if self.dirs.len() < MAX_DIRS && !self.dirs.iter().any(|(_, x)| *x == d) {
                self.dirs.push((idx, d));
            }
        }
        if let Some(c) = self.counts.get_mut(&step.item) {
            *c += 1;
        } else if self.counts.len() < MAX_DISTINCT {
            self.counts.insert(step.item.clone(), 1);
        }
        if may_store && self.items.len() < MAX_ITEMS {
            let cmd = step.item.rsplit_once(':').map_or("", |(c, _)| c);
            let adv = self
                .caps
                .as_ref()
                .is_some_and(|caps| capability::ftp_advertised_extension(cmd, caps));
            self.items.push(step.item);
            self.eligible.push(eligible);
            self.advertised.push(adv);
            return true;
        }
        false
    }
}

/// Collects the sessions of one protocol by uid, bounded: beyond
/// `max_open` open sessions the oldest is handed back as finished.
#[derive(Debug)]
pub struct Tracker {
    pub proto: Protocol,
    open: HashMap<String, Session>,
    order: VecDeque<String>,
    max_open: usize,
    /// Items stored across the open sessions.
    stored: usize,
}

impl Tracker {
    pub fn new(proto: Protocol, max_open: usize) -> Self {
        Tracker {
            proto,
            open: HashMap::new(),
            order: VecDeque::new(),
            max_open: max_open.max(1),
            stored: 0,
        }
    }

    /// Adds a record; returns a session evicted to stay in bounds.
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &mut self,
        ts_ns: u64,
        uid: &str,
        src: (IpAddr, u16),
        dst: (IpAddr, u16),
        record: &Record,
    ) -> Option<Session> {
        let steps = steps(self.proto, record, src.0);
        let mut evicted = None;
        if !self.open.contains_key(uid) {
            if self.open.len() >= self.max_open {
                evicted = self.evict_oldest();
            }
            self.open
                .insert(uid.to_string(), Session::new(uid, src, dst, ts_ns));
            self.order.push_back(uid.to_string());
        }
        if let Some(s) = self.open.get_mut(uid) {
            s.last_ts = s.last_ts.max(ts_ns);
            if s.software.is_none() {
                if let Some(sw) = server_software(record) {
                    s.software = Some(sw.chars().take(64).collect());
                }
            }
            for st in steps {
                if s.push(st, self.stored < MAX_TOTAL_ITEMS) {
                    self.stored += 1;
                }
            }
        }
        evicted
    }

    fn evict_oldest(&mut self) -> Option<Session> {
        while let Some(u) = self.order.pop_front() {
            if let Some(s) = self.open.remove(&u) {
                self.stored -= s.items.len().min(self.stored);
                return Some(s);
            }
        }
        None
    }

    /// The session of `uid`, finished (its flow ended).
    pub fn end(&mut self, uid: &str) -> Option<Session> {
        let s = self.open.remove(uid)?;
        self.stored -= s.items.len().min(self.stored);
        if self.order.len() > 2 * self.open.len() + 16 {
            let open = &self.open;
            self.order.retain(|u| open.contains_key(u));
        }
        Some(s)
    }

    /// Every open session, oldest first.
    pub fn drain(&mut self) -> Vec<Session> {
        let mut out = Vec::new();
        while let Some(s) = self.evict_oldest() {
            out.push(s);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netsift_engine::records::{
        ImapCommand, ImapRecord, Pop3Command, Pop3Record, SmtpCommand, SmtpRecord,
    };

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// An `ftp` record: command, argument, reply code.
    pub(crate) fn ftp(cmd: &str, arg: &str, code: Option<u16>) -> Record {
        Record::typed(FtpRecord {
            command: cmd.into(),
            arg: (!arg.is_empty()).then(|| arg.into()),
            reply_code: code,
            ..Default::default()
        })
    }

    #[test]
    fn ftp_items() {
        let c = ip("127.0.0.1");
        let r = ftp("USER", "anonymous", Some(331));
        assert_eq!(steps(Protocol::Ftp, &r, c)[0].item, "USER:331");
        let r = ftp("SITE", "exec /bin/sh -c id", Some(500));
        assert_eq!(steps(Protocol::Ftp, &r, c)[0].item, "SITE EXEC:500");
        let r = ftp("QUIT", "", None);
        assert_eq!(steps(Protocol::Ftp, &r, c)[0].item, "QUIT:-");
        let r = Record::typed(FtpRecord {
            command: "<banner>".into(),
            banner: Some("220 hi".into()),
            ..Default::default()
        });
        assert!(steps(Protocol::Ftp, &r, c).is_empty());
    }

    #[test]
    fn ftp_bounce_is_a_port_to_another_host() {
        let c = ip("127.0.0.1");
        let r = ftp("PORT", "127,0,0,1,200,10", Some(200));
        assert_eq!(steps(Protocol::Ftp, &r, c)[0].bounce, None);
        let r = ftp("PORT", "10,9,8,7,0,25", Some(200));
        assert_eq!(steps(Protocol::Ftp, &r, c)[0].bounce, Some(ip("10.9.8.7")));
        let r = ftp("EPRT", "|2|::1|4000|", Some(200));
        assert_eq!(steps(Protocol::Ftp, &r, ip("::1"))[0].bounce, None);
        let r = ftp("EPRT", "|1|192.0.2.9|25|", Some(200));
        assert_eq!(steps(Protocol::Ftp, &r, c)[0].bounce, Some(ip("192.0.2.9")));
        // Garbage is no address.
        assert_eq!(data_address("PORT", "1,2,3"), None);
        assert_eq!(data_address("PORT", "999,0,0,1,0,1"), None);
        assert_eq!(data_address("EPRT", ""), None);
    }

    #[test]
    fn ftp_directories_follow_cwd() {
        let c = ip("127.0.0.1");
        let mut t = Tracker::new(Protocol::Ftp, 4);
        let a = (c, 1);
        let b = (c, 21);
        for (cmd, arg, code) in [
            ("CWD", "pub", 250),
            ("RETR", "readme.txt", 226),
            ("CWD", "nope", 550), // failed: the directory stays /pub
            ("STOR", "../uploads/x.txt", 226),
            ("CDUP", "", 250),
            ("DELE", "/etc/passwd", 550),
            ("RETR", "a/../../../b", 226),
        ] {
            t.record(0, "u", a, b, &ftp(cmd, arg, Some(code)));
        }
        let s = t.end("u").unwrap();
        let dirs: Vec<(usize, &str)> = s.dirs.iter().map(|(i, d)| (*i, d.as_str())).collect();
        assert_eq!(dirs, [(0, "/pub"), (3, "/uploads"), (4, "/"), (5, "/etc")]);
        assert_eq!(resolve("/a/b", "../../../../c/./d"), "/c/d");
        // A long non-ASCII path is cut at 256 bytes or just below, on a
        // character boundary (byte 256 falls inside an `é` here; cutting
        // there used to panic).
        let long = "é".repeat(200);
        let r = resolve("/", &long);
        assert_eq!(r.len(), 255);
        assert!(r.ends_with('é'));
        assert_eq!(parent("/é/ü.txt"), "/é");
        assert_eq!(data_address("EPRT", "é"), None);
        assert_eq!(parent("/x"), "/");
    }

    #[test]
    fn mail_items() {
        let c = ip("127.0.0.1");
        let pop3 = |command: &str, status: Option<&str>| Pop3Command {
            command: command.into(),
            status: status.map(Into::into),
            ..Default::default()
        };
        let r = Record::typed(Pop3Record {
            commands: vec![
                pop3("USER", Some("+OK")),
                pop3("PASS", Some("-ERR")),
                pop3("QUIT", None),
            ],
            ..Default::default()
        });
        let items: Vec<String> = steps(Protocol::Pop3, &r, c)
            .into_iter()
            .map(|s| s.item)
            .collect();
        assert_eq!(items, ["USER:+OK", "PASS:-ERR", "QUIT:-"]);
        let r = Record::typed(SmtpRecord {
            commands: vec![SmtpCommand {
                command: "EHLO",
                reply_code: 250,
            }],
            ..Default::default()
        });
        assert_eq!(steps(Protocol::Smtp, &r, c)[0].item, "EHLO:250");
        let r = Record::typed(ImapRecord {
            commands: vec![ImapCommand {
                tag: "a".into(),
                command: "UID FETCH".into(),
                status: Some("OK".into()),
                ..Default::default()
            }],
            ..Default::default()
        });
        assert_eq!(steps(Protocol::Imap, &r, c)[0].item, "UID FETCH:OK");
    }

    #[test]
    fn hostile_items_are_bounded() {
        let c = ip("127.0.0.1");
        let long = "A".repeat(10_000);
        let r = ftp(&long, "", Some(500));
        assert!(steps(Protocol::Ftp, &r, c)[0].item.len() <= MAX_ITEM_LEN);
        let mut t = Tracker::new(Protocol::Ftp, 2);
        let a = (c, 1);
        let b = (c, 21);
        for i in 0..5000 {
            let r = ftp(&format!("X{i}"), "", Some(500));
            t.record(i, "u1", a, b, &r);
        }
        let s = t.end("u1").unwrap();
        assert_eq!(s.total, 5000);
        assert_eq!(s.items.len(), MAX_ITEMS);
        assert_eq!(s.counts.len(), MAX_DISTINCT);
        // Third open session evicts the oldest.
        assert!(t
            .record(0, "a", a, b, &Record::from(serde_json::json!({})))
            .is_none());
        assert!(t
            .record(0, "b", a, b, &Record::from(serde_json::json!({})))
            .is_none());
        assert_eq!(
            t.record(0, "c", a, b, &Record::from(serde_json::json!({})))
                .unwrap()
                .uid,
            "a"
        );
        assert_eq!(t.drain().len(), 2);
    }
}
