//! `netsift serve`: a web analyzer over the embedded store.
//!
//! A person uploads a capture (form or drag-and-drop); it streams to disk
//! under a size cap, is checked to be pcap or pcapng, and is analysed in
//! the background by the same analysis as `netsift analyze` (with file
//! carving), into the database. Pages: captures, a capture's dashboard
//! with SVG charts, flows (filter, sort, paginate), a flow's records,
//! files and pcap, and alerts.
//!
//! Security: every string from a packet is escaped ([`html::esc`]); each
//! response carries a strict Content-Security-Policy (no inline script or
//! style: the page's code is `/static/app.js`); downloads are addressed by
//! database id only, never by a path from the request; a non-loopback
//! listen address needs a token, checked on every request in constant time.

pub mod charts;
pub mod html;
pub mod http;
mod jobs;
pub mod multipart;
mod pages;

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;

use netsift_store::Store;

pub use jobs::analyze_capture;

/// The server's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// A SQLite file or a PostgreSQL URL.
    pub db: netsift_store::Target,
    /// The sensor name given to uploaded captures.
    pub sensor: String,
    pub listen: String,
    pub token: Option<String>,
    pub max_upload: u64,
    pub data_dir: PathBuf,
    /// Requests handled at once (and as many uploads besides).
    pub threads: usize,
    /// Open connections allowed from one client address (an IPv6 /64).
    pub max_conns_per_ip: usize,
    /// Open connections allowed in all.
    pub max_conns: usize,
    /// Time allowed for a request head, and for an idle keep-alive
    /// connection to start its next request.
    pub head_timeout: std::time::Duration,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] netsift_store::StoreError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Lower-case hex of bytes.
pub use netsift_proto::bytes::hex;

/// The Content-Security-Policy of every response: only our own script and
/// stylesheet, inline images as data: URIs (none used), no framing, forms
/// post only to us.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Compare two secrets in time that depends only on their lengths.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut d = 0u8;
    for (x, y) in a.iter().zip(b) {
        d |= x ^ y;
    }
    std::hint::black_box(d) == 0
}

/// Refuse a non-loopback listen address without a token.
pub fn check_listen(listen: &str, token: Option<&str>) -> Result<SocketAddr, WebError> {
    let addr = listen
        .to_socket_addrs()
        .map_err(|e| WebError::Config(format!("--listen {listen}: {e}")))?
        .next()
        .ok_or_else(|| WebError::Config(format!("--listen {listen}: no address")))?;
    let has_token = token.is_some_and(|t| !t.is_empty());
    if !addr.ip().is_loopback() && !has_token {
        return Err(WebError::Config(format!(
            "refusing to listen on {addr}, which is not a loopback address, without an access \
             token: pass --token TOKEN (or set NETSIFT_TOKEN), or listen on 127.0.0.1"
        )));
    }
    if let Some(t) = token {
        if t.len() < 8 {
            return Err(WebError::Config(
                "--token must be at least 8 characters".into(),
            ));
        }
    }
    Ok(addr)
}

/// Shared state of the request handlers.
pub(crate) struct App {
    pub cfg: Config,
    pub jobs: jobs::Jobs,
}

impl App {
    pub fn captures_dir(&self) -> PathBuf {
        self.cfg.data_dir.join("captures")
    }
    pub fn tmp_dir(&self) -> PathBuf {
        self.cfg.data_dir.join("tmp")
    }
}

/// Run the server until the process ends. `on_ready` gets the bound address
/// (useful with port 0).
pub fn serve(cfg: Config, on_ready: &mut dyn FnMut(SocketAddr)) -> Result<(), WebError> {
    let addr = check_listen(&cfg.listen, cfg.token.as_deref())?;
    // Open (create/migrate) the database before accepting anything.
    drop(Store::open(&cfg.db)?);
    for d in ["captures", "files", "tmp"] {
        std::fs::create_dir_all(cfg.data_dir.join(d))?;
    }
    let listener = std::net::TcpListener::bind(addr)
        .map_err(|e| WebError::Config(format!("listening on {addr}: {e}")))?;
    let bound = listener.local_addr()?;
    // Captures left queued or running by a previous server are failed: the
    // job that owned them is gone.
    {
        let s = Store::open(&cfg.db)?;
        // A read replica serves pages; its primary owns the captures.
        if !s.read_only() {
            s.db.exec(
                "UPDATE captures SET status = 'failed', error = 'server stopped during analysis'
             WHERE status IN ('queued', 'running') AND path LIKE ?1",
                &[format!("{}%", cfg.data_dir.join("captures").display()).into()],
            )?;
        }
    }
    let limits = http::Limits {
        threads: cfg.threads.max(1),
        max_conns_per_ip: cfg.max_conns_per_ip,
        max_conns: cfg.max_conns,
        head_timeout: cfg.head_timeout,
    };
    let app = Arc::new(App {
        jobs: jobs::Jobs::start(cfg.clone()),
        cfg,
    });
    on_ready(bound);
    // Database connections, kept between requests: at most one per request
    // handled at once.
    let pool: Arc<std::sync::Mutex<Vec<Store>>> = Arc::default();
    let handler = move |req: &mut http::Request, _peer: SocketAddr| {
        let pooled = pool.lock().ok().and_then(|mut p| p.pop());
        let Some(store) = pooled.or_else(|| Store::open(&app.cfg.db).ok()) else {
            return respond(Resp::error(503, "database unavailable"));
        };
        let resp = handle(&app, &store, req);
        // After a database error the connection may be broken (a restarted
        // PostgreSQL): the next request opens a fresh one.
        if resp.status < 500 {
            if let Ok(mut p) = pool.lock() {
                p.push(store);
            }
        }
        resp
    };
    http::run(listener, limits, Arc::new(handler))?;
    Ok(())
}

/// A response before the common headers are added.
pub(crate) struct Resp {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Body,
    pub headers: Vec<(String, String)>,
}

pub(crate) use http::Body;

impl Resp {
    pub fn html(status: u16, s: String) -> Resp {
        Resp {
            status,
            content_type: "text/html; charset=utf-8",
            body: Body::Bytes(s.into_bytes()),
            headers: Vec::new(),
        }
    }
    pub fn json(status: u16, v: serde_json::Value) -> Resp {
        Resp {
            status,
            content_type: "application/json",
            body: Body::Bytes(v.to_string().into_bytes()),
            headers: Vec::new(),
        }
    }
    pub fn redirect(to: &str) -> Resp {
        let mut r = Resp::html(303, String::new());
        r.headers.push(("Location".into(), to.into()));
        r
    }
    pub fn error(status: u16, msg: &str) -> Resp {
        Resp::html(
            status,
            html::page(
                "Error",
                &format!("<h1>{status}</h1><p class=\"error\">{}</p>", html::esc(msg)),
            ),
        )
    }
    pub fn download(file: std::fs::File, len: u64, name: &str, ctype: &'static str) -> Resp {
        // The name is ours (ids, hashes), but keep it to a safe alphabet.
        let safe: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            .take(100)
            .collect();
        Resp {
            status: 200,
            content_type: ctype,
            body: Body::File(file, len),
            headers: vec![(
                "Content-Disposition".into(),
                format!("attachment; filename=\"{safe}\""),
            )],
        }
    }
}

/// The request's token: `Authorization: Bearer T`, or the cookie.
fn presented_token(req: &http::Request) -> Option<String> {
    if let Some(t) = req
        .header("Authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(t.trim().to_string());
    }
    for v in req.headers("Cookie") {
        for c in v.split(';') {
            if let Some(t) = c.trim().strip_prefix("netsift_token=") {
                return Some(t.to_string());
            }
        }
    }
    None
}

fn handle(app: &App, store: &Store, req: &mut http::Request) -> http::Response {
    let started = std::time::Instant::now();
    let url = req.url.clone();
    let method = req.method.clone();
    let resp = if url.len() > 8192 {
        Resp::error(414, "URI too long")
    } else {
        match authorize(app, req, &url) {
            Err(r) => r,
            Ok(()) => pages::route(app, store, req, &method, &url),
        }
    };
    let status = resp.status;
    if std::env::var_os("NETSIFT_WEB_LOG").is_some() {
        eprintln!(
            "netsift-web: {method} {} {status} {:.1} ms",
            url.split('?').next().unwrap_or(""),
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    respond(resp)
}

/// With a token configured, every request must carry it. A valid
/// `?token=` sets an HttpOnly, SameSite=Strict cookie and redirects to the
/// same URL without the token (so it does not stay in history).
fn authorize(app: &App, req: &http::Request, url: &str) -> Result<(), Resp> {
    let host = req.header("Host").unwrap_or("");
    // Cross-site form posts. Browsers say where a request comes from in
    // `Sec-Fetch-Site` (Fetch Metadata); older ones only in `Origin`
    // (RFC 6454 §7), which is "null" under our no-referrer policy.
    if req.method == "POST" {
        let cross = match req.header("Sec-Fetch-Site") {
            Some(site) => !matches!(site, "same-origin" | "none"),
            None => req.header("Origin").is_some_and(|origin| {
                let o = origin
                    .strip_prefix("http://")
                    .or_else(|| origin.strip_prefix("https://"));
                origin != "null" && o != Some(host)
            }),
        };
        if cross {
            return Err(Resp::error(403, "cross-origin request refused"));
        }
    }
    let Some(expected) = &app.cfg.token else {
        // Without a token the server is on loopback; refuse other Host
        // names so that a DNS-rebinding page cannot read it.
        if !loopback_host(host) {
            return Err(Resp::error(
                403,
                "this server answers only to localhost, 127.0.0.1 or [::1] without --token",
            ));
        }
        return Ok(());
    };
    if let Some(t) = presented_token(req) {
        if ct_eq(t.as_bytes(), expected.as_bytes()) {
            return Ok(());
        }
    }
    let q = html::parse_query(url);
    if let Some((_, t)) = q.iter().find(|(k, _)| k == "token") {
        if ct_eq(t.as_bytes(), expected.as_bytes()) {
            let path = url.split('?').next().unwrap_or("/");
            let rest: Vec<String> = q
                .iter()
                .filter(|(k, _)| k != "token")
                .map(|(k, v)| format!("{}={}", html::urlenc(k), html::urlenc(v)))
                .collect();
            let to = if rest.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{}", rest.join("&"))
            };
            let mut r = Resp::redirect(&to);
            r.headers.push((
                "Set-Cookie".into(),
                format!("netsift_token={expected}; Path=/; HttpOnly; SameSite=Strict"),
            ));
            return Err(r);
        }
    }
    Err(Resp::error(
        401,
        "This server needs an access token: open /?token=TOKEN once, or send Authorization: Bearer TOKEN.",
    ))
}

/// A Host header naming a loopback address or `localhost` (any port).
pub fn loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|a| a.is_loopback())
}

/// The response with the headers every response carries.
fn respond(r: Resp) -> http::Response {
    let mut headers = vec![
        ("Content-Type".to_string(), r.content_type.to_string()),
        ("Content-Security-Policy".into(), CSP.into()),
        ("X-Content-Type-Options".into(), "nosniff".into()),
        ("Referrer-Policy".into(), "no-referrer".into()),
        ("X-Frame-Options".into(), "DENY".into()),
        ("Cache-Control".into(), "no-store".into()),
    ];
    headers.extend(r.headers);
    http::Response {
        status: r.status,
        headers,
        body: r.body,
    }
}

/// Whether `head` starts like a pcap (any of the four magic numbers:
/// µs/ns resolution, either byte order) or a pcapng Section Header Block
/// (block type 0x0A0D0D0A).
pub fn is_capture_magic(head: &[u8]) -> bool {
    matches!(
        head.get(..4),
        Some(
            [0xa1, 0xb2, 0xc3, 0xd4]
                | [0xd4, 0xc3, 0xb2, 0xa1]
                | [0xa1, 0xb2, 0x3c, 0x4d]
                | [0x4d, 0x3c, 0xb2, 0xa1]
                | [0x0a, 0x0d, 0x0d, 0x0a]
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_compare() {
        assert!(ct_eq(b"secret-token", b"secret-token"));
        assert!(!ct_eq(b"secret-token", b"secret-tokeN"));
        assert!(!ct_eq(b"secret", b"secret-token"));
    }

    #[test]
    fn non_loopback_needs_token() {
        assert!(check_listen("127.0.0.1:0", None).is_ok());
        assert!(check_listen("[::1]:0", None).is_ok());
        let e = check_listen("0.0.0.0:0", None).expect_err("refused");
        assert!(e.to_string().contains("--token"), "{e}");
        assert!(check_listen("0.0.0.0:0", Some("")).is_err());
        assert!(check_listen("0.0.0.0:0", Some("short")).is_err());
        assert!(check_listen("0.0.0.0:0", Some("long-enough-token")).is_ok());
    }

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost:8080",
            "127.0.0.1:8080",
            "127.1.2.3",
            "[::1]:80",
            "LOCALHOST",
        ] {
            assert!(loopback_host(h), "{h}");
        }
        for h in [
            "evil.example:8080",
            "10.0.0.1:8080",
            "",
            "[::2]:80",
            "localhost.evil.example",
        ] {
            assert!(!loopback_host(h), "{h}");
        }
    }

    #[test]
    fn magic_numbers() {
        assert!(is_capture_magic(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0]));
        assert!(is_capture_magic(&[0x0a, 0x0d, 0x0d, 0x0a]));
        assert!(!is_capture_magic(b"GIF89a"));
        assert!(!is_capture_magic(&[0xd4, 0xc3]));
    }
}
