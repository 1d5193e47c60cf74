//! What makes the same session look different on another server: the
//! commands a client sends only because the server advertised them, and
//! reply codes that differ within one class.
//!
//! # Capability-driven commands
//!
//! A client asks what the server supports (FTP `FEAT`, SMTP `EHLO`, POP3
//! `CAPA`, IMAP `CAPABILITY`) and then uses what it was offered: lftp sends
//! `CLNT`, `LANG`, `HOST` and `OPTS UTF8 ON` to a ProFTPD that lists them and
//! not to a vsftpd that does not. Such a step is *negotiation*: it is counted
//! (a flood of it is still a flood) but left out of the order that
//! transitions and patterns model. The list below is written from the
//! specifications, not from a capture:
//!
//! | protocol | command | capability it depends on | source |
//! |---|---|---|---|
//! | ftp | `OPTS x` | the feature `x` listed by FEAT | RFC 2389 §4 ("OPTS ... for a feature ... listed in the FEAT response") |
//! | ftp | `LANG` | `LANG` | RFC 2640 §4.1 |
//! | ftp | `OPTS UTF8` | `UTF8` | RFC 2640 §3.3 (the `UTF8` feature line) |
//! | ftp | `HOST` | `HOST` | RFC 7151 §3.1/§3.3 (FEAT lists `HOST`) |
//! | ftp | `AUTH`, `PBSZ`, `PROT`, `CCC` | `AUTH`, `PBSZ`, `PROT`, `CCC` | RFC 4217 §6 (FEAT lists `AUTH TLS`, `PBSZ`, `PROT`), RFC 2228 |
//! | ftp | `MLST`, `MLSD` | `MLST` | RFC 3659 §7.8 |
//! | ftp | `SIZE`, `MDTM`, `REST` | `SIZE`, `MDTM`, `REST` | RFC 3659 §4.4, §3.4, §5.4 |
//! | ftp | `CLNT` | `CLNT` | outside the RFCs: a FEAT-advertised extension (ProFTPD, Serv-U) |
//! | ftp | `MFMT`, `MFCT`, `MFF` | `MFMT`, `MFCT`, `MFF` | draft-somers-ftp-mfxx §3.1, §4.1, §5.1 (FEAT lists them) |
//! | ftp | `HASH` | `HASH` | draft-bryan-ftpext-hash §3.1 (FEAT lists `HASH`) |
//! | smtp | `STARTTLS` | `STARTTLS` | RFC 3207 §4 |
//! | smtp | `AUTH` | `AUTH` | RFC 4954 §3 |
//! | smtp | `BDAT` | `CHUNKING` | RFC 3030 §2 |
//! | pop3 | `STLS` | `STLS` | RFC 2595 §4 |
//! | pop3 | `AUTH` | `SASL` | RFC 2449 §6.3, RFC 5034 §3 |
//! | pop3 | `UTF8`, `LANG` | `UTF8`, `LANG` | RFC 6856 §2, §3 |
//! | imap | `STARTTLS` | `STARTTLS` | RFC 9051 §6.2.1 (RFC 3501 §6.2.1) |
//! | imap | `AUTHENTICATE` | `AUTH=` | RFC 9051 §6.2.2 |
//! | imap | `ENABLE` | `ENABLE` | RFC 9051 §6.3.1 (RFC 5161) |
//! | imap | `ID` | `ID` | RFC 2971 §3.1 |
//! | imap | `NAMESPACE` | `NAMESPACE` | RFC 9051 §6.3.10 (RFC 2342) |
//! | imap | `COMPRESS` | `COMPRESS=` | RFC 4978 §3 |
//!
//! Beyond the table, any FTP extension command the server advertised is
//! negotiation too: RFC 2389 §3.2 lists an extension in FEAT by its command
//! name ("the feature-label ... is the command name"), and §3 says the base
//! commands of RFC 959 are not listed. So a command named in this session's
//! FEAT reply that is not an RFC 959 command (some servers list `PASV`
//! anyway) nor RFC 2428's `EPRT`/`EPSV` (clients such as curl send those
//! without asking) is one the client uses because it was offered — lftp's
//! `PRET` to Pure-FTPd, for example (the model's `negotiate_advertised`).
//!
//! When the advertisement itself is in the records (FTP's FEAT reply), a
//! command is negotiation only if its capability was listed, or if the
//! server refused it as not implemented (RFC 959 §4.2: 500 "command
//! unrecognized", 502 "command not implemented", 504 "not implemented for
//! that parameter" — the server answering that it lacks the capability,
//! as vsftpd does to ncftp's unconditional `CLNT`); when it is not
//! (the SMTP, POP3 and IMAP records keep no capability text), it is
//! negotiation once the session has asked (EHLO, CAPA, CAPABILITY). Security
//! negotiation (FTP `AUTH`, SMTP/IMAP `STARTTLS`, POP3 `STLS`) is always
//! negotiation: clients such as lftp try `AUTH TLS` whether or not it was
//! offered, and a refusal is the normal answer (RFC 4217 §6: the client "may
//! ... continue" in the clear).
//!
//! # Reply classes
//!
//! RFC 959 §4.2.1 (FTP) and RFC 5321 §4.2.1 (SMTP): the first digit of a
//! reply code is its class — 1 preliminary, 2 completion, 3 intermediate,
//! 4 transient failure, 5 permanent failure. POP3 (RFC 1939 §3) has two
//! status indicators, `+OK` and `-ERR`; IMAP (RFC 9051 §7.1) has `OK`, `NO`
//! (operational failure) and `BAD` (protocol error). Their classes: `+OK`
//! and `OK` are `ok`, `-ERR`, `NO` and `BAD` are `err`.

use crate::protocol::Protocol;

/// The command that asks for the server's capabilities.
pub fn is_query(proto: Protocol, cmd: &str) -> bool {
    match proto {
        // RFC 2389 §3.
        Protocol::Ftp => cmd == "FEAT",
        // RFC 5321 §4.1.1.1 (EHLO's reply lists the extensions).
        Protocol::Smtp => cmd == "EHLO",
        // RFC 2449 §5.
        Protocol::Pop3 => cmd == "CAPA",
        // RFC 9051 §6.1.1.
        Protocol::Imap => cmd == "CAPABILITY",
    }
}

/// How a command depends on advertised capabilities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Negotiation {
    /// Used only when the capability (upper case) was offered.
    Needs(String),
    /// Security negotiation: tried whether or not it was offered.
    Always,
}

/// The capability `cmd` (upper case; `arg` its argument) depends on, if any.
pub fn negotiation(proto: Protocol, cmd: &str, arg: &str) -> Option<Negotiation> {
    let first = || {
        arg.split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase()
    };
    let needs = |c: &str| Some(Negotiation::Needs(c.to_string()));
    match (proto, cmd) {
        (Protocol::Ftp, "OPTS") => {
            let f = first();
            if f.is_empty() {
                None
            } else {
                Some(Negotiation::Needs(f))
            }
        }
        (Protocol::Ftp, "LANG" | "HOST" | "PBSZ" | "PROT" | "CCC" | "CLNT") => needs(cmd),
        (Protocol::Ftp, "MFMT" | "MFCT" | "MFF" | "HASH") => needs(cmd),
        (Protocol::Ftp, "SIZE" | "MDTM" | "REST") => needs(cmd),
        (Protocol::Ftp, "MLST" | "MLSD") => needs("MLST"),
        (Protocol::Ftp, "AUTH") => Some(Negotiation::Always),
        (Protocol::Smtp, "STARTTLS") => Some(Negotiation::Always),
        (Protocol::Smtp, "AUTH") => needs("AUTH"),
        (Protocol::Smtp, "BDAT") => needs("CHUNKING"),
        (Protocol::Pop3, "STLS") => Some(Negotiation::Always),
        (Protocol::Pop3, "AUTH") => needs("SASL"),
        (Protocol::Pop3, "UTF8" | "LANG") => needs(cmd),
        (Protocol::Imap, "STARTTLS") => Some(Negotiation::Always),
        (Protocol::Imap, "AUTHENTICATE") => needs("AUTH="),
        (Protocol::Imap, "ENABLE" | "ID" | "NAMESPACE") => needs(cmd),
        (Protocol::Imap, "COMPRESS") => needs("COMPRESS="),
        _ => None,
    }
}

/// The commands of [`negotiation`], for the model file (`"negotiation"`),
/// where a person may remove or add some.
pub fn default_list(proto: Protocol) -> Vec<String> {
    let v: &[&str] = match proto {
        Protocol::Ftp => &[
            "AUTH", "CCC", "CLNT", "HASH", "HOST", "LANG", "MDTM", "MFCT", "MFF", "MFMT", "MLSD",
            "MLST", "OPTS", "PBSZ", "PROT", "REST", "SIZE",
        ],
        Protocol::Smtp => &["AUTH", "BDAT", "STARTTLS"],
        Protocol::Pop3 => &["AUTH", "LANG", "STLS", "UTF8"],
        Protocol::Imap => &[
            "AUTHENTICATE",
            "COMPRESS",
            "ENABLE",
            "ID",
            "NAMESPACE",
            "STARTTLS",
        ],
    };
    v.iter().map(|s| s.to_string()).collect()
}

/// RFC 959 §4.1 commands, which FEAT does not advertise (RFC 2389 §3), and
/// RFC 2428's EPRT/EPSV, which clients use without asking.
const FTP_BASE: [&str; 35] = [
    "USER", "PASS", "ACCT", "CWD", "CDUP", "SMNT", "QUIT", "REIN", "PORT", "PASV", "TYPE", "STRU",
    "MODE", "RETR", "STOR", "STOU", "APPE", "ALLO", "REST", "RNFR", "RNTO", "ABOR", "DELE", "RMD",
    "MKD", "PWD", "LIST", "NLST", "SITE", "SYST", "STAT", "HELP", "NOOP", "EPRT", "EPSV",
];

/// An FTP extension command (not RFC 959/2428 base) that FEAT listed.
pub fn ftp_advertised_extension(cmd: &str, caps: &[String]) -> bool {
    !FTP_BASE.contains(&cmd) && caps.iter().any(|c| c == cmd)
}

/// Most capabilities kept per session.
pub const MAX_CAPS: usize = 64;

/// The capability names of an FTP FEAT reply (RFC 2389 §3.2: "211-..."
/// then one feature per line, each line starting with a space, the
/// feature name first, then "211 End"). The record joins the lines, so the
/// names are taken as the words that look like one: upper-case letters and
/// digits, 2 to 8 long, starting with a letter (`LANG`, `UTF8`, `MLST`,
/// `AUTH`, `TLS`); argument words such as `C.UTF-8*` or `modify;size;` are
/// not.
pub fn ftp_features(reply_msg: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in reply_msg.split_whitespace() {
        let ok = (2..=8).contains(&w.len())
            && w.as_bytes()[0].is_ascii_uppercase()
            && w.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if ok && w != "END" && !out.iter().any(|x| x == w) && out.len() < MAX_CAPS {
            out.push(w.to_string());
        }
    }
    out
}

/// A reply that says the command is not implemented (RFC 959 §4.2, RFC
/// 5321 §4.2.4: 500, 502, 504).
pub fn not_implemented(reply: &str) -> bool {
    matches!(reply, "500" | "502" | "504")
}

/// The class of a reply: `2xx` for `226`, `ok` for `+OK`/`OK`, `err` for
/// `-ERR`/`NO`/`BAD`, `-` for none.
pub fn reply_class(reply: &str) -> String {
    let b = reply.as_bytes();
    if b.len() == 3 && b.iter().all(u8::is_ascii_digit) {
        return format!("{}xx", b[0] as char);
    }
    match reply {
        "+OK" | "OK" => "ok".into(),
        "-ERR" | "NO" | "BAD" => "err".into(),
        _ => reply.to_string(),
    }
}

/// The class item of an item (`LIST:450` → `LIST:4xx`; markers and items
/// without a reply stay as they are).
pub fn class_item(item: &str) -> String {
    match item.rsplit_once(':') {
        Some((cmd, reply)) => format!("{cmd}:{}", reply_class(reply)),
        None => item.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(class_item("LIST:450"), "LIST:4xx");
        assert_eq!(class_item("PASS:230"), "PASS:2xx");
        assert_eq!(class_item("RETR:+OK"), "RETR:ok");
        assert_eq!(class_item("LOGIN:NO"), "LOGIN:err");
        assert_eq!(class_item("UID FETCH:BAD"), "UID FETCH:err");
        assert_eq!(class_item("QUIT:-"), "QUIT:-");
        assert_eq!(class_item("^"), "^");
    }

    #[test]
    fn proftpd_feat_reply() {
        // ProFTPD 1.3.8's FEAT as netsift's ftp record joins it.
        let f = ftp_features("Features:  CLNT  CSID  EPRT  EPSV  HOST  LANG C.UTF-8*  MDTM  MFF modify;UNIX.group;UNIX.mode;  MFMT  MLST modify*;perm*;size*;type*;  REST STREAM  SIZE  SSCN  TVFS  UTF8 End");
        for c in [
            "CLNT", "HOST", "LANG", "MDTM", "MLST", "REST", "SIZE", "UTF8", "EPSV",
        ] {
            assert!(f.iter().any(|x| x == c), "{c} in {f:?}");
        }
        assert!(!f.iter().any(|x| x.contains('.') || x == "END"));
        // Pure-FTPd lists PRET (and PASV, a base command).
        let pure = ftp_features("Features:  UTF8  EPRT  IDLE  MDTM  SIZE  MFMT  REST STREAM  MLST type*;size*;  MLSD  PRET  AUTH TLS  PBSZ  PROT  TVFS  ESTA  PASV  EPSV End");
        assert!(ftp_advertised_extension("PRET", &pure));
        assert!(!ftp_advertised_extension("PASV", &pure));
        assert!(!ftp_advertised_extension("EPSV", &pure));
        assert!(!ftp_advertised_extension("CLNT", &pure));
    }

    #[test]
    fn negotiation_list() {
        let n = |c, a| negotiation(Protocol::Ftp, c, a);
        assert_eq!(
            n("OPTS", "UTF8 ON"),
            Some(Negotiation::Needs("UTF8".into()))
        );
        assert_eq!(n("MLSD", ""), Some(Negotiation::Needs("MLST".into())));
        assert_eq!(n("AUTH", "TLS"), Some(Negotiation::Always));
        assert_eq!(n("RETR", "x"), None);
        assert_eq!(
            negotiation(Protocol::Imap, "AUTHENTICATE", "PLAIN"),
            Some(Negotiation::Needs("AUTH=".into()))
        );
        for p in Protocol::ALL {
            for c in default_list(p) {
                assert!(negotiation(p, &c, "X").is_some(), "{p:?} {c}");
            }
        }
    }
}
