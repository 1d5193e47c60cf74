//! Server software from banners: FTP and SMTP greetings, the SSH
//! identification string, POP3 and IMAP greetings.
//!
//! The table is a data file, `data/banners.tsv` (protocol, pattern,
//! software, version, example), embedded at build time and parsed once.
//! Patterns are literal text with two wildcards:
//!
//! * `*` — any text, also none (host names, dates, comments);
//! * `{v}` — the version: a non-empty run without white space, the longest
//!   one for which the rest of the pattern still matches.
//!
//! Matching ignores ASCII case; the first matching line of the protocol
//! wins. FTP and SMTP banners are matched without their reply code
//! (`220 `/`220-`). The version column is `{v}` (captured), a fixed
//! version, a template around `{v}` (`1.7.{v}`), or `-` (unknown).

use std::sync::LazyLock;

/// The table, as shipped.
pub const TABLE: &str = include_str!("../data/banners.tsv");

/// Longest banner looked at, in bytes.
const MAX_BANNER: usize = 512;

/// One line of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub protocol: String,
    pub pattern: String,
    pub software: String,
    pub version: String,
    /// A real banner of this server (for the tests).
    pub example: String,
    /// 1-based line in `banners.tsv`.
    pub line: usize,
}

/// A fingerprint: software and, when the banner tells, its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub software: String,
    pub version: Option<String>,
}

/// Parses the table; errors name the line.
pub fn parse_table(text: &str) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 5 {
            return Err(format!(
                "banners.tsv:{}: expected 5 tab-separated fields",
                i + 1
            ));
        }
        if !matches!(f[0], "ftp" | "ssh" | "smtp" | "pop3" | "imap") {
            return Err(format!(
                "banners.tsv:{}: unknown protocol {:?}",
                i + 1,
                f[0]
            ));
        }
        if f[1].matches("{v}").count() > 1 {
            return Err(format!("banners.tsv:{}: more than one {{v}}", i + 1));
        }
        if f[3].contains("{v}") && !f[1].contains("{v}") {
            return Err(format!(
                "banners.tsv:{}: version uses {{v}} but the pattern has none",
                i + 1
            ));
        }
        out.push(Entry {
            protocol: f[0].to_string(),
            pattern: f[1].to_string(),
            software: f[2].to_string(),
            version: f[3].to_string(),
            example: f[4].to_string(),
            line: i + 1,
        });
    }
    Ok(out)
}

static ENTRIES: LazyLock<Vec<Entry>> = LazyLock::new(|| parse_table(TABLE).unwrap_or_default());

/// The shipped table.
pub fn entries() -> &'static [Entry] {
    &ENTRIES
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok<'a> {
    Lit(&'a [u8]),
    Star,
    Ver,
}

fn tokens(p: &str) -> Vec<Tok<'_>> {
    let mut out = Vec::new();
    let b = p.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'*' {
            if start < i {
                out.push(Tok::Lit(&b[start..i]));
            }
            out.push(Tok::Star);
            i += 1;
            start = i;
        } else if b[i..].starts_with(b"{v}") {
            if start < i {
                out.push(Tok::Lit(&b[start..i]));
            }
            out.push(Tok::Ver);
            i += 3;
            start = i;
        } else {
            i += 1;
        }
    }
    if start < b.len() {
        out.push(Tok::Lit(&b[start..]));
    }
    out
}

/// Matches `toks` against `s` from position `at`; on success the version
/// capture (start, end). Memoized on (token, position): O(tokens × len²).
fn matches(toks: &[Tok], s: &[u8]) -> Option<Option<(usize, usize)>> {
    let mut failed = vec![false; (toks.len() + 1) * (s.len() + 1)];
    let mut cap = None;
    if go(toks, s, 0, 0, &mut failed, &mut cap) {
        Some(cap)
    } else {
        None
    }
}

fn go(
    toks: &[Tok],
    s: &[u8],
    t: usize,
    at: usize,
    failed: &mut [bool],
    cap: &mut Option<(usize, usize)>,
) -> bool {
    let key = t * (s.len() + 1) + at;
    if failed[key] {
        return false;
    }
    let ok = match toks.get(t) {
        None => at == s.len(),
        Some(Tok::Lit(l)) => {
            s.len() - at >= l.len()
                && s[at..at + l.len()].eq_ignore_ascii_case(l)
                && go(toks, s, t + 1, at + l.len(), failed, cap)
        }
        Some(Tok::Star) => (at..=s.len()).any(|k| go(toks, s, t + 1, k, failed, cap)),
        Some(Tok::Ver) => {
            let run = s[at..]
                .iter()
                .take_while(|b| !b.is_ascii_whitespace())
                .count();
            let mut found = false;
            for k in (1..=run).rev() {
                if go(toks, s, t + 1, at + k, failed, cap) {
                    *cap = Some((at, at + k));
                    found = true;
                    break;
                }
            }
            found
        }
    };
    if !ok {
        failed[key] = true;
    }
    ok
}

/// The banner as matched: FTP/SMTP without the reply code.
fn normalize<'a>(protocol: &str, banner: &'a str) -> &'a str {
    let mut b = banner.trim();
    if protocol == "ftp" || protocol == "smtp" {
        let bytes = b.as_bytes();
        if bytes.len() >= 3 && bytes[..3].iter().all(u8::is_ascii_digit) {
            b = b.get(3..).unwrap_or(b);
            b = b.strip_prefix(['-', ' ']).unwrap_or(b).trim_start();
        }
    }
    let mut cut = b.len().min(MAX_BANNER);
    while !b.is_char_boundary(cut) {
        cut -= 1;
    }
    b.get(..cut).unwrap_or(b)
}

/// Matches one entry.
pub fn match_entry(e: &Entry, banner: &str) -> Option<Fingerprint> {
    let s = normalize(&e.protocol, banner);
    let toks = tokens(&e.pattern);
    let cap = matches(&toks, s.as_bytes())?;
    let version = match (e.version.as_str(), cap) {
        ("-", _) => None,
        (v, Some((a, b))) if v.contains("{v}") => Some(v.replace("{v}", s.get(a..b)?)),
        (v, _) if v.contains("{v}") => None,
        (v, _) => Some(v.to_string()),
    };
    Some(Fingerprint {
        software: e.software.clone(),
        version,
    })
}

/// The server software of a `protocol` banner (`ftp`, `ssh`, `smtp`,
/// `pop3`, `imap`), from the first matching line of the table.
pub fn fingerprint(protocol: &str, banner: &str) -> Option<Fingerprint> {
    entries()
        .iter()
        .filter(|e| e.protocol == protocol)
        .find_map(|e| match_entry(e, banner))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_parses_and_is_large_enough() {
        let t = parse_table(TABLE).unwrap();
        assert_eq!(t.len(), entries().len());
        let ftp: std::collections::BTreeSet<&str> = t
            .iter()
            .filter(|e| e.protocol == "ftp")
            .map(|e| e.software.as_str())
            .collect();
        assert!(ftp.len() >= 40, "{} FTP implementations", ftp.len());
        for p in ["ssh", "smtp", "pop3", "imap"] {
            assert!(t.iter().filter(|e| e.protocol == p).count() >= 5, "{p}");
        }
    }

    /// Every line's example banner is recognised by that very line (no
    /// earlier line shadows it), with a version when the line captures one.
    #[test]
    fn every_entry_matches_its_real_banner() {
        for e in entries() {
            let first = entries()
                .iter()
                .filter(|x| x.protocol == e.protocol)
                .find(|x| match_entry(x, &e.example).is_some());
            assert_eq!(
                first.map(|x| x.line),
                Some(e.line),
                "banners.tsv:{} example {:?} is matched by line {:?}",
                e.line,
                e.example,
                first.map(|x| x.line)
            );
            let f = fingerprint(&e.protocol, &e.example).unwrap();
            assert_eq!(f.software, e.software);
            if e.version.contains("{v}") {
                let v = f.version.unwrap_or_default();
                assert!(!v.is_empty(), "line {}", e.line);
                let core = e.version.replace("{v}", "");
                assert!(
                    e.example.contains(v.replace(&core, "").as_str()),
                    "line {}: {v}",
                    e.line
                );
            }
        }
    }

    #[test]
    fn versions_are_cut_right() {
        let v = |p: &str, b: &str| fingerprint(p, b).and_then(|f| f.version);
        assert_eq!(v("ftp", "220 (vsFTPd 3.0.3)").as_deref(), Some("3.0.3"));
        assert_eq!(
            v("ftp", "220 ftp.example.org FTP server (Version wu-2.6.2(1) Wed Oct 9 11:14:42 EDT 2002) ready.").as_deref(),
            Some("2.6.2(1)")
        );
        assert_eq!(
            v("ftp", "220 x FTP server (Version wu-2.6.1-0.6x.21) ready.").as_deref(),
            Some("2.6.1-0.6x.21")
        );
        assert_eq!(
            v(
                "ftp",
                "220 x FTP server (Version 1.7.212.5 Mon Jan 1 00:00:00 GMT 2001) ready."
            )
            .as_deref(),
            Some("1.7.212.5")
        );
        assert_eq!(
            v("ftp", "220 x FTP server (Version 6.00LS) ready.").as_deref(),
            Some("6.00LS")
        );
        assert_eq!(
            v("ftp", "220 x Microsoft FTP Service (Version 4.0).").as_deref(),
            Some("4.0")
        );
        assert_eq!(
            v("ssh", "SSH-2.0-OpenSSH_9.2p1 Debian-2").as_deref(),
            Some("9.2p1")
        );
        assert_eq!(v("ssh", "SSH-1.99-Cisco-1.25").as_deref(), Some("1.25"));
        assert_eq!(
            v(
                "smtp",
                "220 mail.example.net ESMTP Sendmail 8.15.2/8.15.2; Mon"
            )
            .as_deref(),
            Some("8.15.2/8.15.2")
        );
        assert_eq!(
            fingerprint("ftp", "220 pyftpdlib 1.5.7 ready.")
                .unwrap()
                .software,
            "pyftpdlib"
        );
        // Case does not matter; unknown banners give nothing.
        assert_eq!(v("ftp", "220 (VSFTPD 2.3.4)").as_deref(), Some("2.3.4"));
        assert_eq!(fingerprint("ftp", "220 welcome"), None);
        assert_eq!(fingerprint("ssh", ""), None);
    }

    #[test]
    fn hostile_banners_are_bounded() {
        let long = "*".repeat(100_000);
        assert_eq!(fingerprint("ftp", &long), None);
        let many = format!(
            "220 {} FTP server (Version wu-{}",
            "a ".repeat(5000),
            "9".repeat(5000)
        );
        assert_eq!(fingerprint("ftp", &many), None);
        assert_eq!(
            fingerprint("ftp", "220 é FTP server (SunOS 5.8) ready.")
                .unwrap()
                .software,
            "SunOS ftpd"
        );
    }

    #[test]
    fn bad_tables_are_rejected() {
        assert!(parse_table("ftp\tx\ty")
            .unwrap_err()
            .contains("banners.tsv:1"));
        assert!(parse_table("gopher\tx\ty\tz\tw").is_err());
        assert!(parse_table("ftp\t{v}{v}\ty\t{v}\tw").is_err());
        assert!(parse_table("ftp\tx\ty\t{v}\tw").is_err());
    }
}
