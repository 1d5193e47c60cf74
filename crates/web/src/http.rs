//! The HTTP/1.1 server: hyper on a tokio runtime, bounded for hostile and
//! slow clients (issue 21 §4, "slowloris").
//!
//! A connection costs a task and its buffers, never a thread, until its
//! request head is complete: hyper parses the head (RFC 9112) under
//! [`MAX_HEAD`] bytes and [`MAX_HEADERS`] fields (beyond: 431) and within
//! the head deadline ([`HEAD_TIMEOUT`] by default; beyond: the connection is
//! closed). The same deadline closes an idle keep-alive connection, since
//! waiting for the next request is waiting for its head. Only then does the
//! request take one of a fixed number of handler slots, on tokio's blocking
//! pool, where the routes run synchronously: pages, database queries and
//! uploads never block the reactor. Page requests and uploads have slots of
//! their own, so slow uploads cannot hold every page up.
//!
//! Connections are capped per client address (an IPv6 client by its /64)
//! and in total; one over a cap is closed as soon as it is accepted, and the
//! refusals are reported on stderr at most once a second. A connection that
//! moves no byte either way for [`STALL_TIMEOUT`] while no handler works for
//! it (a client that stops reading its answer, or stops sending its body)
//! is closed too.
//!
//! Request bodies reach the handler as a blocking [`Read`], never buffered
//! whole: each read waits at most [`BODY_READ_TIMEOUT`]. A request with
//! `Transfer-Encoding` is refused with 411 (RFC 9112 §6.3: a server MAY
//! reject a request that contains a message body but not a Content-Length
//! by responding with 411 Length Required), as the upload's size check
//! needs its length up front.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Buf as _, Bytes};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::header::{HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// Largest request line + header block.
pub const MAX_HEAD: usize = 16 * 1024;
/// Most header fields.
pub const MAX_HEADERS: usize = 64;
/// Default time allowed for a whole request head (and for an idle
/// keep-alive connection to start its next request).
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for one read of a body.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// A connection that moves no byte for this long, while no handler works
/// for it, is closed.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Default cap of connections from one client address (an IPv6 /64).
pub const DEFAULT_MAX_CONNS_PER_IP: usize = 64;
/// Default cap of connections in all.
pub const DEFAULT_MAX_CONNS: usize = 1024;

/// The server's bounds.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Requests handled at once (page requests; uploads have as many again).
    pub threads: usize,
    pub max_conns_per_ip: usize,
    pub max_conns: usize,
    pub head_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            threads: 4,
            max_conns_per_ip: DEFAULT_MAX_CONNS_PER_IP,
            max_conns: DEFAULT_MAX_CONNS,
            head_timeout: HEAD_TIMEOUT,
        }
    }
}

/// One request: method, target, headers, and its body as a capped reader.
pub struct Request {
    pub method: String,
    pub url: String,
    headers: Vec<(String, String)>,
    content_length: Option<u64>,
    body: io::Take<Box<dyn Read + Send>>,
}

impl Request {
    /// A request with its body from `body` (tests and tools).
    pub fn new(
        method: &str,
        url: &str,
        headers: Vec<(String, String)>,
        body: Box<dyn Read + Send>,
    ) -> Request {
        let content_length = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse::<u64>().ok());
        Request {
            method: method.to_string(),
            url: url.to_string(),
            headers,
            content_length,
            body: body.take(content_length.unwrap_or(0)),
        }
    }

    /// First value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All values of a header.
    pub fn headers<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The declared body length.
    pub fn body_length(&self) -> Option<u64> {
        self.content_length
    }

    /// The body: never more than `Content-Length` bytes.
    pub fn body(&mut self) -> &mut dyn Read {
        &mut self.body
    }
}

/// A response body: bytes, or `len` bytes of a file (streamed, never read
/// whole into memory).
pub enum Body {
    Bytes(Vec<u8>),
    File(std::fs::File, u64),
}

/// A response to send. hyper frames it (Content-Length from the body) and
/// leaves the body out for HEAD.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

/// The per-request function of [`run`]; it runs on the blocking pool.
pub type Handler = dyn Fn(&mut Request, SocketAddr) -> Response + Send + Sync;

/// Serve `listener` until the process ends (or the runtime cannot start).
pub fn run(
    listener: std::net::TcpListener,
    limits: Limits,
    handler: Arc<Handler>,
) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let threads = limits.threads.max(1);
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 4);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        // The handlers (2 x threads) and the file reads of downloads.
        .max_blocking_threads(2 * threads + 16)
        .thread_name("netsift-web")
        .enable_all()
        .build()?;
    let shared = Arc::new(Shared {
        gate: Gate::new(limits.max_conns_per_ip, limits.max_conns),
        pages: Arc::new(Semaphore::new(threads)),
        uploads: Arc::new(Semaphore::new(threads)),
        head_timeout: limits.head_timeout,
        handler,
    });
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        accept_loop(listener, shared).await;
        Ok(())
    })
}

struct Shared {
    gate: Gate,
    pages: Arc<Semaphore>,
    uploads: Arc<Semaphore>,
    head_timeout: Duration,
    handler: Arc<Handler>,
}

async fn accept_loop(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    let mut last_error: Option<Instant> = None;
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => match shared.gate.take(peer.ip()) {
                Ok(key) => {
                    tokio::spawn(connection(stream, peer, key, shared.clone()));
                }
                Err(cap) => {
                    drop(stream);
                    shared.gate.refused(peer.ip(), cap);
                }
            },
            Err(e) => {
                // Out of file descriptors (EMFILE) and the like: wait a
                // little rather than spin on the same error.
                if !matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted
                        | io::ErrorKind::WouldBlock
                        | io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::ConnectionReset
                ) {
                    if last_error.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                        eprintln!("netsift-web: accepting a connection: {e}");
                        last_error = Some(Instant::now());
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

/// Which cap refused a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    PerIp,
    Total,
}

/// Open connections per client address and in all.
pub struct Gate {
    per_ip_max: usize,
    total_max: usize,
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
    refused_total: AtomicU64,
    report: Mutex<(Option<Instant>, u64)>,
}

/// One admitted connection; dropping it frees its place.
pub struct Ticket<'a> {
    gate: &'a Gate,
    key: IpAddr,
}

/// An admitted connection of the server (owns its gate through `Shared`).
struct OwnedTicket {
    shared: Arc<Shared>,
    key: IpAddr,
}

/// The address a client is counted under: an IPv4 address (IPv4-mapped
/// IPv6 too) as is, an IPv6 address by its /64, as one host usually holds
/// a whole /64.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let mut o = v6.octets();
            o[8..].fill(0);
            IpAddr::V6(o.into())
        }
        v4 => v4,
    }
}

impl Gate {
    pub fn new(per_ip_max: usize, total_max: usize) -> Gate {
        Gate {
            per_ip_max: per_ip_max.max(1),
            total_max: total_max.max(1),
            open: Mutex::new((0, HashMap::new())),
            refused_total: AtomicU64::new(0),
            report: Mutex::new((None, 0)),
        }
    }

    fn take(&self, ip: IpAddr) -> Result<IpAddr, Cap> {
        let key = client_key(ip);
        let mut g = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if g.0 >= self.total_max {
            return Err(Cap::Total);
        }
        let n = g.1.entry(key).or_insert(0);
        if *n >= self.per_ip_max {
            return Err(Cap::PerIp);
        }
        *n += 1;
        g.0 += 1;
        Ok(key)
    }

    fn give_back(&self, key: IpAddr) {
        let mut g = self.open.lock().unwrap_or_else(|p| p.into_inner());
        g.0 = g.0.saturating_sub(1);
        if let Some(n) = g.1.get_mut(&key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                g.1.remove(&key);
            }
        }
    }

    /// Admit a connection from `ip`, or say which cap it is over.
    pub fn try_admit(&self, ip: IpAddr) -> Result<Ticket<'_>, Cap> {
        self.take(ip).map(|key| Ticket { gate: self, key })
    }

    /// Open connections: (in all, from `ip`'s key).
    pub fn open(&self, ip: IpAddr) -> (usize, usize) {
        let g = self.open.lock().unwrap_or_else(|p| p.into_inner());
        (g.0, g.1.get(&client_key(ip)).copied().unwrap_or(0))
    }

    /// Connections refused since the start.
    pub fn refused_total(&self) -> u64 {
        self.refused_total.load(Ordering::Relaxed)
    }

    /// Count a refusal and report the refusals at most once a second.
    fn refused(&self, ip: IpAddr, cap: Cap) {
        let total = self.refused_total.fetch_add(1, Ordering::Relaxed) + 1;
        let mut r = self.report.lock().unwrap_or_else(|p| p.into_inner());
        r.1 += 1;
        if r.0.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            let why = match cap {
                Cap::PerIp => format!("{} per client address", self.per_ip_max),
                Cap::Total => format!("{} in all", self.total_max),
            };
            eprintln!(
                "netsift-web: closed {} connection(s) over the cap since the last report \
                 (latest from {ip}: over {why}; {total} since the start)",
                r.1
            );
            *r = (Some(Instant::now()), 0);
        }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        self.gate.give_back(self.key);
    }
}

impl Drop for OwnedTicket {
    fn drop(&mut self) {
        self.shared.gate.give_back(self.key);
    }
}

/// When a connection last moved a byte, and whether a handler works for it.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
    busy: AtomicUsize,
    /// [`STALL_TIMEOUT`], or the head deadline if that is longer.
    stall: Duration,
}

impl Activity {
    fn touch(&self) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }
    /// When the connection counts as stalled, if nothing happens before.
    fn stall_deadline(&self) -> tokio::time::Instant {
        let last = self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        let base = if self.busy.load(Ordering::Relaxed) > 0 {
            Instant::now()
        } else {
            last
        };
        tokio::time::Instant::from_std(base + self.stall)
    }
}

struct Busy(Arc<Activity>);

impl Busy {
    fn new(a: &Arc<Activity>) -> Busy {
        a.busy.fetch_add(1, Ordering::Relaxed);
        Busy(a.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.touch();
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The socket, noting each byte moved in its [`Activity`].
struct Watched {
    inner: TcpStream,
    act: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut me.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            me.act.touch();
        }
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let r = Pin::new(&mut me.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            me.act.touch();
        }
        r
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let r = Pin::new(&mut me.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            me.act.touch();
        }
        r
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

async fn connection(stream: TcpStream, peer: SocketAddr, key: IpAddr, shared: Arc<Shared>) {
    let _ticket = OwnedTicket {
        shared: shared.clone(),
        key,
    };
    let _ = stream.set_nodelay(true);
    let act = Arc::new(Activity {
        start: Instant::now(),
        last_ms: AtomicU64::new(0),
        busy: AtomicUsize::new(0),
        stall: STALL_TIMEOUT.max(shared.head_timeout),
    });
    let io = TokioIo::new(Watched {
        inner: stream,
        act: act.clone(),
    });
    let svc = {
        let (shared, act) = (shared.clone(), act.clone());
        hyper::service::service_fn(move |req| request(shared.clone(), act.clone(), peer, req))
    };
    let mut b = hyper::server::conn::http1::Builder::new();
    b.timer(TokioTimer::new())
        .header_read_timeout(shared.head_timeout)
        .max_header_size(MAX_HEAD)
        .max_headers(MAX_HEADERS);
    let conn = b.serve_connection(io, svc).without_shutdown();
    tokio::pin!(conn);
    let done = loop {
        let stall = tokio::time::sleep_until(act.stall_deadline());
        tokio::select! {
            r = &mut conn => break r.ok(),
            () = stall => {
                if act.busy.load(Ordering::Relaxed) == 0
                    && tokio::time::Instant::now() >= act.stall_deadline()
                {
                    // Stalled: dropping the connection closes the socket.
                    break None;
                }
            }
        }
    };
    // Lingering close: say we are done (FIN), then read and drop (a
    // bounded part of) what the client still sends, e.g. the rest of an
    // upload refused with 413 or 415, so that closing with unread data
    // (a reset) does not destroy the answer before the client has read it.
    if let Some(parts) = done {
        let mut s = parts.io.into_inner().inner;
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            let _ = s.shutdown().await;
            let mut buf = [0u8; 8192];
            let mut left = 1usize << 20;
            while left > 0 {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => left = left.saturating_sub(n),
                }
            }
        })
        .await;
    }
}

/// A plain answer of the server itself (no page).
fn plain(status: u16) -> hyper::Response<OutBody> {
    let mut r = hyper::Response::new(OutBody::bytes(Vec::new()));
    *r.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
}

async fn request(
    shared: Arc<Shared>,
    act: Arc<Activity>,
    peer: SocketAddr,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<OutBody>, Infallible> {
    let (parts, body) = req.into_parts();
    let uri = &parts.uri;
    // Only the origin form (RFC 9112 §3.2.1: "/path?query"); nothing is
    // proxied here.
    if uri.scheme().is_some() || uri.authority().is_some() || !uri.path().starts_with('/') {
        return Ok(plain(400));
    }
    let method = parts.method.as_str().to_string();
    if !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Ok(plain(400));
    }
    if parts.headers.contains_key(TRANSFER_ENCODING) {
        return Ok(plain(411));
    }
    let url = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).trim().to_string(),
            )
        })
        .collect();
    // hyper has checked the length (one value, or equal duplicates).
    let content_length = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let slots = if method == "POST" {
        &shared.uploads
    } else {
        &shared.pages
    };
    let Ok(permit) = slots.clone().acquire_owned().await else {
        return Ok(plain(503));
    };
    let busy = Busy::new(&act);
    let handler = shared.handler.clone();
    let rt = tokio::runtime::Handle::current();
    let head_only = parts.method == hyper::Method::HEAD;
    let res = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let reader: Box<dyn Read + Send> = Box::new(BodyReader {
            body: Some(body),
            chunk: Bytes::new(),
            rt,
        });
        let mut req = Request {
            method,
            url,
            headers,
            content_length,
            body: reader.take(content_length.unwrap_or(0)),
        };
        handler(&mut req, peer)
    })
    .await;
    drop(busy);
    let Ok(resp) = res else {
        return Ok(plain(500));
    };
    Ok(to_hyper(resp, head_only))
}

fn to_hyper(r: Response, head_only: bool) -> hyper::Response<OutBody> {
    let mut head_len = None;
    let body = match r.body {
        Body::Bytes(b) => OutBody::bytes(b),
        Body::File(f, len) if !head_only => OutBody::file(f, len),
        // HEAD: no body is sent; the length is still the file's.
        Body::File(_, len) => {
            head_len = Some(len);
            OutBody::bytes(Vec::new())
        }
    };
    let mut out = hyper::Response::new(body);
    if let Some(len) = head_len {
        out.headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from(len));
    }
    let Ok(status) = hyper::StatusCode::from_u16(r.status) else {
        return plain(500);
    };
    *out.status_mut() = status;
    for (k, v) in &r.headers {
        // Header values are ours; HeaderValue refuses line breaks all the same.
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            out.headers_mut().append(k, v);
        }
    }
    out
}

/// The request body as a blocking reader, for a handler on the blocking
/// pool: each read waits for the next chunk at most [`BODY_READ_TIMEOUT`].
struct BodyReader {
    body: Option<Incoming>,
    chunk: Bytes,
    rt: tokio::runtime::Handle,
}

impl Read for BodyReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            let Some(body) = self.body.as_mut() else {
                return Ok(0);
            };
            let next = self.rt.block_on(tokio::time::timeout(
                BODY_READ_TIMEOUT,
                std::future::poll_fn(|cx| hyper::body::Body::poll_frame(Pin::new(&mut *body), cx)),
            ));
            match next {
                Err(_) => {
                    self.body = None;
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "body too slow"));
                }
                Ok(None) => {
                    self.body = None;
                    return Ok(0);
                }
                Ok(Some(Err(e))) => {
                    self.body = None;
                    return Err(io::Error::other(e));
                }
                Ok(Some(Ok(frame))) => {
                    if let Ok(d) = frame.into_data() {
                        self.chunk = d;
                    }
                }
            }
        }
        let n = out.len().min(self.chunk.len());
        out[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk.advance(n);
        Ok(n)
    }
}

/// A response body for hyper: bytes, or a file read in chunks on the
/// blocking pool (tokio's file), with its exact length.
pub struct OutBody {
    inner: OutInner,
    len: u64,
}

enum OutInner {
    Bytes(Option<Bytes>),
    File {
        file: tokio::fs::File,
        left: u64,
        buf: Box<[u8]>,
    },
}

impl OutBody {
    fn bytes(b: Vec<u8>) -> OutBody {
        let len = b.len() as u64;
        OutBody {
            inner: OutInner::Bytes((!b.is_empty()).then(|| Bytes::from(b))),
            len,
        }
    }
    fn file(f: std::fs::File, len: u64) -> OutBody {
        OutBody {
            inner: OutInner::File {
                file: tokio::fs::File::from_std(f),
                left: len,
                buf: vec![0u8; 64 * 1024].into_boxed_slice(),
            },
            len,
        }
    }
}

impl hyper::body::Body for OutBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match &mut self.get_mut().inner {
            OutInner::Bytes(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            OutInner::File { file, left, buf } => {
                if *left == 0 {
                    return Poll::Ready(None);
                }
                let want = (*left).min(buf.len() as u64) as usize;
                let mut rb = ReadBuf::new(&mut buf[..want]);
                match Pin::new(file).poll_read(cx, &mut rb) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
                    Poll::Ready(Ok(())) => {
                        let n = rb.filled().len();
                        if n == 0 {
                            return Poll::Ready(Some(Err(io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                "file shorter than its length",
                            ))));
                        }
                        *left -= n as u64;
                        Poll::Ready(Some(Ok(Frame::data(Bytes::copy_from_slice(rb.filled())))))
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            OutInner::Bytes(b) => b.is_none(),
            OutInner::File { left, .. } => *left == 0,
        }
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_capped_per_client_and_in_all() {
        let g = Gate::new(2, 3);
        let a: IpAddr = "10.0.0.1".parse().expect("ip");
        let b: IpAddr = "10.0.0.2".parse().expect("ip");
        let t1 = g.try_admit(a).expect("1st");
        let t2 = g.try_admit(a).expect("2nd");
        assert_eq!(g.try_admit(a).err(), Some(Cap::PerIp));
        let t3 = g.try_admit(b).expect("other client");
        assert_eq!(g.try_admit(b).err(), Some(Cap::Total));
        assert_eq!(g.open(a), (3, 2));
        drop(t1);
        assert_eq!(g.open(a), (2, 1));
        let t4 = g.try_admit(a).expect("a place again");
        drop((t2, t3, t4));
        assert_eq!(g.open(a), (0, 0));
        assert!(
            g.open.lock().expect("lock").1.is_empty(),
            "no stale entries"
        );
    }

    #[test]
    fn ipv6_clients_count_by_their_64() {
        let g = Gate::new(1, 100);
        let a: IpAddr = "2001:db8:1:2::1".parse().expect("ip");
        let same64: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("ip");
        let other64: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        let _t = g.try_admit(a).expect("first");
        assert_eq!(g.try_admit(same64).err(), Some(Cap::PerIp));
        assert!(g.try_admit(other64).is_ok());
        // IPv4-mapped IPv6 is its IPv4 address.
        let v4: IpAddr = "192.0.2.1".parse().expect("ip");
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().expect("ip");
        let _t4 = g.try_admit(v4).expect("v4");
        assert_eq!(g.try_admit(mapped).err(), Some(Cap::PerIp));
    }

    #[test]
    fn response_headers_cannot_be_injected() {
        let r = to_hyper(
            Response {
                status: 404,
                headers: vec![
                    ("X-A".into(), "b\r\nInjected: 1".into()),
                    ("X-B".into(), "ok".into()),
                ],
                body: Body::Bytes(b"nope".to_vec()),
            },
            false,
        );
        assert_eq!(r.status(), 404);
        assert!(r.headers().get("x-a").is_none());
        assert!(r.headers().get("injected").is_none());
        assert_eq!(
            r.headers().get("x-b").map(|v| v.as_bytes()),
            Some(&b"ok"[..])
        );
        assert_eq!(
            hyper::body::Body::size_hint(r.body()).exact(),
            Some(4),
            "framed by its length"
        );
    }

    #[test]
    fn request_bodies_are_capped_at_their_length() {
        let mut r = Request::new(
            "POST",
            "/api/upload",
            vec![("Content-Length".into(), "5".into())],
            Box::new(io::Cursor::new(b"helloEXTRA".to_vec())),
        );
        let mut s = String::new();
        r.body().read_to_string(&mut s).expect("read");
        assert_eq!(s, "hello");
        assert_eq!(r.body_length(), Some(5));
    }
}
