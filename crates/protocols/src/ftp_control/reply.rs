//! The FTP / SMTP dialogue reader shared by the FTP_CONTROL and SMTP
//! probes: both use the same reply grammar and both greet with "220 ", so
//! they are told apart together, from the greeting text, the client's
//! first command and the server's reply to it.
//!
//! Reply grammar. RFC 959 §4.2: "A reply is defined to contain the 3-digit
//! code, followed by Space <SP>, followed by one line of text ... and
//! terminated by the Telnet end-of-line code"; a multi-line reply starts
//! with the code followed immediately by Hyphen "-" and ends with a line
//! starting with the same code followed by <SP>. The first digit is 1..5
//! (§4.2.1), the second 0..5 (§4.2.1's x0z..x5z). RFC 5321 §4.2:
//! `Reply-line = *( Reply-code "-" [ textstring ] CRLF ) Reply-code [ SP
//! textstring ] CRLF`, `Reply-code = %x32-35 %x30-35 %x30-39`, and
//! `textstring = 1*(%d09 / %d32-126)`.

use netsift_proto::{printable, text_ok};

/// Longest line we wait for: RFC 5321 §4.5.3.1.5 limits a reply line to 512
/// octets, §4.5.3.1.4 a command line to 512; FTP servers stay well under.
pub(crate) const MAX_LINE: usize = 1024;

/// How far into the greeting we look for product names.
const MAX_GREETING: usize = 2048;

/// The outcome of reading a dialogue prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Dialog {
    Ftp(String),
    Smtp(String),
    /// Consistent with FTP or SMTP so far; more bytes will tell.
    Undecided,
    /// Neither.
    Neither,
}

/// One line of a stream: its bytes (without CR LF) and where the next
/// starts; `Err(true)` if incomplete but could still be a line, `Err(false)`
/// if over-long.
fn line_at(data: &[u8], start: usize) -> Result<(&[u8], usize), bool> {
    let rest = data.get(start..).ok_or(true)?;
    match memchr::memchr(b'\n', netsift_proto::head(rest, MAX_LINE)) {
        Some(i) => {
            let l = rest.get(..i).unwrap_or(&[]);
            let l = l.strip_suffix(b"\r").unwrap_or(l);
            Ok((l, start + i + 1))
        }
        None => Err(rest.len() < MAX_LINE),
    }
}

// Reply text characters: RFC 5321 `textstring`, relaxed to allow the 8-bit
// bytes real servers send in their banners (netsift_proto::text_ok).
/// A reply line: code and separator (' ', '-', or none).
pub(crate) fn reply_line(l: &[u8]) -> Option<(u16, u8, &[u8])> {
    let (code, rest) = l.split_at_checked(3)?;
    let [a, b, c] = <[u8; 3]>::try_from(code).ok()?;
    if !(b'1'..=b'5').contains(&a) || !(b'0'..=b'5').contains(&b) || !c.is_ascii_digit() {
        return None;
    }
    let code = (a - b'0') as u16 * 100 + (b - b'0') as u16 * 10 + (c - b'0') as u16;
    let (sep, text) = match rest.split_first() {
        None => (b' ', &[][..]),
        Some((&s @ (b' ' | b'-'), t)) => (s, t),
        Some(_) => return None,
    };
    if !text_ok(text) {
        return None;
    }
    Some((code, sep, text))
}

/// Could `partial` (no newline yet) still become a reply line?
fn reply_prefix_ok(partial: &[u8]) -> bool {
    let p = partial.strip_suffix(b"\r").unwrap_or(partial);
    let digits = p.iter().take(3).enumerate().all(|(i, &b)| match i {
        0 => (b'1'..=b'5').contains(&b),
        1 => (b'0'..=b'5').contains(&b),
        _ => b.is_ascii_digit(),
    });
    let sep = p.get(3).is_none_or(|&b| b == b' ' || b == b'-');
    digits && sep && text_ok(p.get(4..).unwrap_or(&[]))
}

/// A complete reply (possibly multi-line).
pub(crate) struct Reply<'a> {
    pub code: u16,
    /// First line, without CR LF.
    pub first: &'a [u8],
    /// All the reply's bytes (for keyword search).
    pub all: &'a [u8],
    /// Offset just past the reply.
    pub end: usize,
}

/// The reply starting at `start`: `Ok(Some)` complete, `Ok(None)` not yet
/// complete but valid so far, `Err(())` not a reply.
pub(crate) fn reply_at(data: &[u8], start: usize) -> Result<Option<Reply<'_>>, ()> {
    let (first, mut next) = match line_at(data, start) {
        Ok(x) => x,
        Err(true) => {
            let partial = data.get(start..).unwrap_or(&[]);
            return if reply_prefix_ok(partial) {
                Ok(None)
            } else {
                Err(())
            };
        }
        Err(false) => return Err(()),
    };
    let (code, sep, _) = reply_line(first).ok_or(())?;
    if sep == b'-' {
        // RFC 959 §4.2: continue to the line "code SP ..." (intermediate
        // lines may be anything, bounded here by MAX_GREETING).
        loop {
            let (l, n) = match line_at(data, next) {
                Ok(x) => x,
                Err(true) => return Ok(None),
                Err(false) => return Err(()),
            };
            if !text_ok(l) {
                return Err(());
            }
            next = n;
            if let Some((c, b' ', _)) = reply_line(l) {
                if c == code {
                    break;
                }
            }
            if next - start > MAX_GREETING {
                // A very long multi-line greeting: judge on what we have.
                break;
            }
        }
    }
    Ok(Some(Reply {
        code,
        first,
        all: data.get(start..next).unwrap_or(&[]),
        end: next,
    }))
}

fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Product and protocol names in greetings (case-insensitive).
const FTP_WORDS: &[&[u8]] = &[b"FTP", b"FileZilla", b"Serv-U"];
const SMTP_WORDS: &[&[u8]] = &[
    b"SMTP", // also matches ESMTP, gsmtp
    b"Postfix",
    b"Exim",
    b"Sendmail",
    b"qmail",
    b"MailEnable",
];

/// A command line's verb (letters) and argument.
pub(crate) fn command(l: &[u8]) -> Option<(&[u8], &[u8])> {
    let verb_len = l.iter().take(8).position(|&b| b == b' ').unwrap_or(l.len());
    let (verb, rest) = l.split_at_checked(verb_len)?;
    if !(3..=8).contains(&verb.len()) || !verb.iter().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    if !text_ok(rest) {
        return None;
    }
    Some((verb, rest.strip_prefix(b" ").unwrap_or(rest)))
}

/// What a client command says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmd {
    /// Only FTP has it.
    Ftp,
    /// Only SMTP has it.
    Smtp,
    /// USER/PASS (FTP, and POP3 which does not greet with 220).
    FtpLogin,
    /// Shared or unknown.
    Other,
}

pub(crate) fn classify(verb: &[u8], arg: &[u8]) -> Cmd {
    let is = |w: &[u8]| verb.eq_ignore_ascii_case(w);
    // RFC 959 §4.1, RFC 2228 (AUTH/PBSZ/PROT/CCC/ADAT), RFC 2389 (FEAT,
    // OPTS), RFC 2428 (EPRT, EPSV), RFC 3659 (SIZE, MDTM, MLSD, MLST),
    // RFC 7151 (HOST); CLNT, XPWD/XCWD/XMKD (RFC 1123 §4.1.3.1).
    const FTP_ONLY: &[&[u8]] = &[
        b"SYST", b"FEAT", b"PASV", b"EPSV", b"PORT", b"EPRT", b"PWD", b"XPWD", b"CWD", b"XCWD",
        b"CDUP", b"TYPE", b"STOR", b"STOU", b"APPE", b"NLST", b"MLSD", b"MLST", b"SIZE", b"MDTM",
        b"OPTS", b"CLNT", b"MKD", b"XMKD", b"RMD", b"RNFR", b"RNTO", b"ABOR", b"REIN", b"SITE",
        b"ACCT", b"SMNT", b"STRU", b"MODE", b"ALLO", b"REST", b"PBSZ", b"PROT", b"CCC", b"ADAT",
        b"HOST",
    ];
    // RFC 5321 §4.1.1, RFC 3207 (STARTTLS), RFC 3030 (BDAT), RFC 2033
    // (LHLO).
    const SMTP_ONLY: &[&[u8]] = &[
        b"EHLO",
        b"HELO",
        b"LHLO",
        b"STARTTLS",
        b"BDAT",
        b"VRFY",
        b"EXPN",
    ];
    // RFC 959 §4.1.2: "MODE <SP> <mode-code>", mode-code S, B or C; NNTP
    // has "MODE READER" / "MODE STREAM" (RFC 3977 §5.3, RFC 4644 §2.3).
    if is(b"MODE") && !matches!(arg, [b'S' | b'B' | b'C' | b's' | b'b' | b'c']) {
        return Cmd::Other;
    }
    if FTP_ONLY.iter().any(|w| is(w)) {
        return Cmd::Ftp;
    }
    if SMTP_ONLY.iter().any(|w| is(w)) {
        return Cmd::Smtp;
    }
    // RFC 5321 §4.1.1.2 / §4.1.1.3: "MAIL FROM:" and "RCPT TO:".
    let arg_starts = |p: &[u8]| {
        arg.get(..p.len())
            .is_some_and(|a| a.eq_ignore_ascii_case(p))
    };
    if (is(b"MAIL") && arg_starts(b"FROM:")) || (is(b"RCPT") && arg_starts(b"TO:")) {
        return Cmd::Smtp;
    }
    // AUTH: RFC 4217 §6 "AUTH TLS" / "AUTH SSL" (FTP) versus RFC 4954
    // "AUTH <SASL mechanism>" (SMTP; also POP3, RFC 5034).
    if is(b"AUTH") {
        let a = arg.split(|&b| b == b' ').next().unwrap_or(&[]);
        if [&b"TLS"[..], b"SSL", b"TLS-C", b"TLS-P"]
            .iter()
            .any(|w| a.eq_ignore_ascii_case(w))
        {
            return Cmd::Ftp;
        }
        return Cmd::Smtp;
    }
    if is(b"USER") || is(b"PASS") {
        return Cmd::FtpLogin;
    }
    Cmd::Other
}

/// Reply codes only FTP uses as the answer to a client's first command.
fn ftp_only_code(c: u16) -> bool {
    // RFC 959 §4.2.2: 331/332 (user name okay, need password/account), 230
    // (logged in), 257 (PATHNAME created), 227 (passive), 215 (system
    // type), 150/125 (data connection), 226; RFC 2428 229; RFC 4217 234
    // (AUTH accepted).
    matches!(
        c,
        331 | 332 | 230 | 257 | 227 | 229 | 215 | 150 | 125 | 226 | 234
    )
}

/// SMTP-only reply codes: 354 (start mail input), 235 (RFC 4954
/// authentication succeeded).
fn smtp_only_code(c: u16) -> bool {
    matches!(c, 354 | 235)
}

fn quote(l: &[u8]) -> String {
    printable(l, 80)
}

/// The client's first command: `Ok(Some)` complete, `Ok(None)` not yet
/// (or nothing sent), `Err(())` not a command line.
fn client_command(client: &[u8]) -> Result<Option<(&[u8], Cmd)>, ()> {
    match line_at(client, 0) {
        Ok((l, _)) => match command(l) {
            Some((v, a)) => Ok(Some((l, classify(v, a)))),
            None => Err(()),
        },
        // Incomplete: must still look like a verb.
        Err(true) => {
            let verb = client.iter().take(9).take_while(|&&b| b != b' ');
            if verb.clone().all(|b| b.is_ascii_alphabetic()) {
                Ok(None)
            } else {
                Err(())
            }
        }
        Err(false) => Err(()),
    }
}

/// A client that went on from its greeting to a mail transaction without a
/// single server byte seen: a capture of the client's side only (a tap on
/// one direction of an asymmetric route). RFC 5321 §4.1.1.1: the session
/// starts with "EHLO" (or HELO, LHLO for RFC 2033) once the server has
/// greeted; §4.1.1.2: a transaction starts with "MAIL FROM:". Both lines,
/// complete and in that order, before any reply could be read.
fn client_only_smtp(client: &[u8]) -> Option<String> {
    let (first, next) = line_at(client, 0).ok()?;
    let (verb, _) = command(first)?;
    if ![&b"EHLO"[..], b"HELO", b"LHLO"]
        .iter()
        .any(|w| verb.eq_ignore_ascii_case(w))
    {
        return None;
    }
    let (second, _) = line_at(client, next).ok()?;
    let (verb, arg) = command(second)?;
    if !verb.eq_ignore_ascii_case(b"MAIL")
        || !arg
            .get(..5)
            .is_some_and(|a| a.eq_ignore_ascii_case(b"FROM:"))
    {
        return None;
    }
    Some(format!(
        "client sent '{}' then '{}' (no server bytes seen)",
        quote(first),
        quote(second)
    ))
}

/// Decide from a server stream prefix and a client stream prefix.
pub(crate) fn decide(server: &[u8], client: &[u8]) -> Dialog {
    let first = match reply_at(server, 0) {
        Err(()) => return Dialog::Neither,
        Ok(None) if server.is_empty() => {
            if let Some(ev) = client_only_smtp(client) {
                return Dialog::Smtp(ev);
            }
            return match client_command(client) {
                Err(()) => Dialog::Neither,
                Ok(_) => Dialog::Undecided,
            };
        }
        Ok(None) => {
            return match client_command(client) {
                Err(()) => Dialog::Neither,
                Ok(_) => Dialog::Undecided,
            }
        }
        Ok(Some(r)) => r,
    };

    if matches!(first.code, 220 | 120 | 421 | 554) {
        // A greeting (RFC 959 §5.4 "Connection Establishment": 120, 220,
        // 421; RFC 5321 §4.3.2: 220, 554).
        let head = first.all.get(..MAX_GREETING).unwrap_or(first.all);
        let ftp = FTP_WORDS.iter().any(|w| contains_ci(head, w));
        let smtp = SMTP_WORDS.iter().any(|w| contains_ci(head, w));
        let banner = format!("server banner '{}'", quote(first.first));
        match (ftp, smtp) {
            (true, false) => return Dialog::Ftp(banner),
            (false, true) => return Dialog::Smtp(banner),
            _ => {}
        }
        // Ambiguous greeting: the client's first command decides...
        match client_command(client) {
            Err(()) => return Dialog::Neither,
            Ok(None) => return Dialog::Undecided,
            Ok(Some((l, Cmd::Ftp | Cmd::FtpLogin))) => {
                return Dialog::Ftp(format!("{banner}, client sent '{}'", quote(l)))
            }
            Ok(Some((l, Cmd::Smtp))) => {
                return Dialog::Smtp(format!("{banner}, client sent '{}'", quote(l)))
            }
            Ok(Some((_, Cmd::Other))) => {}
        }
        // ... or the server's reply to it.
        return match reply_at(server, first.end) {
            Ok(Some(r)) if ftp_only_code(r.code) => {
                Dialog::Ftp(format!("{banner}, then '{}'", quote(r.first)))
            }
            Ok(Some(r))
                if smtp_only_code(r.code) || (r.code == 250 && r.first.get(3) == Some(&b'-')) =>
            {
                Dialog::Smtp(format!("{banner}, then '{}'", quote(r.first)))
            }
            Ok(_) => Dialog::Undecided,
            Err(()) => Dialog::Neither,
        };
    }

    // No greeting seen (the capture starts mid-dialogue): the client's
    // command and the server's reply to it must agree.
    let (l, cmd) = match client_command(client) {
        Err(()) => return Dialog::Neither,
        Ok(None) => return Dialog::Undecided,
        Ok(Some(x)) => x,
    };
    let said = || {
        format!(
            "client sent '{}', server replied '{}'",
            quote(l),
            quote(first.first)
        )
    };
    match cmd {
        Cmd::Ftp => Dialog::Ftp(said()),
        // RFC 959 §5.4: USER -> 230, 331, 332 (or errors); 331/332 only
        // exist in FTP.
        Cmd::FtpLogin if matches!(first.code, 331 | 332 | 230) => Dialog::Ftp(said()),
        Cmd::Smtp => Dialog::Smtp(said()),
        _ => Dialog::Undecided,
    }
}
