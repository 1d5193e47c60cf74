//! HTML building: one escaping function for every string that reaches a
//! page, URL query encoding, and the page frame.
//!
//! Everything shown comes from captures, which are attacker-controlled: an
//! HTTP Host of `<script>alert(1)</script>` must render as those 25
//! characters. [`esc`] is used for element text *and* quoted attribute
//! values, so it escapes both quote kinds.

use std::fmt::Write as _;

/// Escape text for HTML element content and double- or single-quoted
/// attribute values (HTML Living Standard §13.1.2.6/13.5: `&`, `<`, `>`,
/// `"` and `'` are the characters that can end or open markup there).
/// Control characters other than tab/newline are shown as `\xHH` so that
/// binary protocol fields cannot smuggle invisible text into the page.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            '\t' | '\n' => o.push(c),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(o, "\\x{:02x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o
}

/// Percent-encode a query parameter value (RFC 3986 §2.3: only unreserved
/// characters stay as they are).
pub fn urlenc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            o.push(b as char);
        } else {
            let _ = write!(o, "%{b:02X}");
        }
    }
    o
}

/// Decode a percent-encoded query component (`+` is a space in forms).
/// Invalid escapes are kept as they are; invalid UTF-8 is replaced.
pub fn urldec(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hexval(b[i + 1]), hexval(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hexval(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The query string of a URL as (name, value) pairs, decoded; at most 64.
pub fn parse_query(url: &str) -> Vec<(String, String)> {
    let q = match url.split_once('?') {
        Some((_, q)) => q,
        None => return Vec::new(),
    };
    q.split('&')
        .filter(|p| !p.is_empty())
        .take(64)
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (urldec(k), urldec(v)),
            None => (urldec(p), String::new()),
        })
        .collect()
}

/// Time in µs since the epoch as `YYYY-MM-DD HH:MM:SS.ffffff` (UTC).
pub fn fmt_ts(us: i64) -> String {
    let s = netsift_detect::alert::rfc3339((us.max(0) as u64).saturating_mul(1000));
    s.replace('T', " ").trim_end_matches('Z').to_string()
}

/// `2020-09-13 12:26:40` / `2020-09-13T12:26:40Z` / epoch seconds → µs.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(secs) = s.parse::<f64>() {
        if secs.is_finite() && (0.0..1e11).contains(&secs) {
            return Some((secs * 1e6) as i64);
        }
        return None;
    }
    let s = s.trim_end_matches('Z');
    let (date, time) = s.split_once(['T', ' ']).unwrap_or((s, "00:00:00"));
    let mut d = date.split('-').map(|x| x.parse::<i64>().ok());
    let (y, m, dd) = (d.next()??, d.next()??, d.next()??);
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&dd) {
        return None;
    }
    let mut t = time.split(':');
    let h = t.next()?.parse::<i64>().ok()?;
    let mi = t.next().unwrap_or("0").parse::<i64>().ok()?;
    let sec = t.next().unwrap_or("0").parse::<f64>().ok()?;
    if !(0..24).contains(&h) || !(0..60).contains(&mi) || !(0.0..61.0).contains(&sec) {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm, public domain).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + dd - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + h * 3600 + mi * 60) as f64 * 1e6 + sec * 1e6) as i64)
}

/// Human-readable byte count.
pub fn fmt_bytes(n: i64) -> String {
    let n = n.max(0) as f64;
    if n < 1024.0 {
        format!("{n} B")
    } else if n < 1024.0 * 1024.0 {
        format!("{:.1} KiB", n / 1024.0)
    } else if n < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} MiB", n / 1024.0 / 1024.0)
    } else {
        format!("{:.2} GiB", n / 1024.0 / 1024.0 / 1024.0)
    }
}

/// The page frame: title, navigation, content. `title` is escaped here;
/// `body` must already be escaped HTML.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{} · netsift</title><link rel=\"stylesheet\" href=\"/static/app.css\">\
<script src=\"/static/app.js\" defer></script></head><body>\
<header><a class=\"brand\" href=\"/\">netsift</a> <nav><a href=\"/\">Captures</a> \
<a href=\"/alerts\">Alerts</a> <a href=\"/files?verdict=flagged\">Files</a></nav></header><main>{}</main></body></html>\n",
        esc(title),
        body
    )
}

/// A hex dump (offset, 16 bytes in hex, ASCII) of at most `max` bytes.
pub fn hexdump(data: &[u8], max: usize) -> String {
    let mut o = String::new();
    for (i, chunk) in data[..data.len().min(max)].chunks(16).enumerate() {
        let _ = write!(o, "{:08x}  ", i * 16);
        for j in 0..16 {
            match chunk.get(j) {
                Some(b) => {
                    let _ = write!(o, "{b:02x} ");
                }
                None => o.push_str("   "),
            }
        }
        o.push(' ');
        for &b in chunk {
            o.push(if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            });
        }
        o.push('\n');
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esc_neutralises_markup() {
        assert_eq!(
            esc("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(esc("a\"b'c&d"), "a&quot;b&#39;c&amp;d");
        assert_eq!(esc("x\u{0}y\r"), "x\\x00y\\x0d");
        assert_eq!(esc("héllo\tok"), "héllo\tok");
    }

    #[test]
    fn query_round_trip() {
        let v = "<a b>&c=d/é%";
        let url = format!("/x?q={}&p=2&flag", urlenc(v));
        let q = parse_query(&url);
        assert_eq!(q[0], ("q".into(), v.into()));
        assert_eq!(q[1], ("p".into(), "2".into()));
        assert_eq!(q[2], ("flag".into(), "".into()));
        assert_eq!(urldec("a+b%2"), "a b%2");
        assert_eq!(urldec("%zz%4"), "%zz%4");
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("1600000000"), Some(1_600_000_000_000_000));
        assert_eq!(
            parse_time("2020-09-13 12:26:40"),
            Some(1_600_000_000_000_000)
        );
        assert_eq!(
            parse_time("2020-09-13T12:26:40.5Z"),
            Some(1_600_000_000_500_000)
        );
        assert_eq!(parse_time("2000-02-29"), Some(951_782_400_000_000));
        assert_eq!(parse_time("2020-13-01"), None);
        assert_eq!(parse_time("nonsense"), None);
        assert_eq!(fmt_ts(1_600_000_000_123_456), "2020-09-13 12:26:40.123456");
    }

    #[test]
    fn hexdump_lines() {
        let d = hexdump(b"GET / HTTP/1.1\r\nHost", 1000);
        assert!(d.starts_with("00000000  47 45 54 20"));
        assert!(d.contains("GET / HTTP/1.1.."));
        assert_eq!(d.lines().count(), 2);
    }
}
