//! A small HTTP/1.1 server on `std` (RFC 9112), bounded for hostile
//! clients: the request head is at most [`MAX_HEAD`] bytes and
//! [`MAX_HEADERS`] fields, must arrive within [`HEAD_TIMEOUT`], each read of
//! the body waits at most [`BODY_READ_TIMEOUT`], a fixed number of threads
//! serve one request per connection (`Connection: close`), and the body is
//! read only through a reader capped at its `Content-Length`.
//!
//! Request bodies need a `Content-Length` (browsers send one for form and
//! XHR uploads); `Transfer-Encoding` is refused with 411 (RFC 9112 §6.3: a
//! server MAY reject a request that contains a message body but not a
//! Content-Length by responding with 411 Length Required).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// Largest request line + header block.
pub const MAX_HEAD: usize = 16 * 1024;
/// Most header fields.
pub const MAX_HEADERS: usize = 64;
/// Time allowed for the whole request head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest wait for one read of a body.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// One request: method, target, headers, and its body as a capped reader.
pub struct Request {
    pub method: String,
    pub url: String,
    headers: Vec<(String, String)>,
    content_length: Option<u64>,
    body: io::Take<BufReader<TcpStream>>,
}

impl Request {
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

/// Why a request head was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum HeadError {
    /// 400: not HTTP/1.x, bad request line or header.
    Bad,
    /// 431: head too large or too many fields.
    TooLarge,
    /// 411: a body without Content-Length.
    LengthRequired,
    /// The client went away or was too slow: no answer.
    Gone,
}

/// A parsed request head: method, target, header fields, Content-Length.
pub type Head = (String, String, Vec<(String, String)>, Option<u64>);

/// The per-request function of [`run`].
pub type Handler = dyn Fn(&mut Request, &mut dyn Write, SocketAddr) + Send + Sync;

/// Read and parse a request head from `rd` (bounded), leaving `rd` at the body.
pub fn read_head<R: BufRead>(rd: &mut R, deadline: Instant) -> Result<Head, HeadError> {
    let mut total = 0usize;
    let mut line = Vec::with_capacity(256);
    let mut next_line = |rd: &mut R, line: &mut Vec<u8>| -> Result<(), HeadError> {
        line.clear();
        loop {
            if Instant::now() > deadline {
                return Err(HeadError::Gone);
            }
            let buf = match rd.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return Err(HeadError::Gone),
            };
            if buf.is_empty() {
                return Err(HeadError::Gone);
            }
            let (take, done) = match buf.iter().position(|&b| b == b'\n') {
                Some(p) => (p + 1, true),
                None => (buf.len(), false),
            };
            total += take;
            if total > MAX_HEAD {
                return Err(HeadError::TooLarge);
            }
            line.extend_from_slice(&buf[..take]);
            rd.consume(take);
            if done {
                // RFC 9112 §2.2: a recipient MAY recognize a single LF as a line
                // terminator and ignore any preceding CR.
                while line.last().is_some_and(|&c| c == b'\n' || c == b'\r') {
                    line.pop();
                }
                return Ok(());
            }
        }
    };
    // RFC 9112 §2.2: "a server that is expecting to receive and parse a
    // request-line SHOULD ignore at least one empty line (CRLF) received
    // prior to the request-line".
    next_line(rd, &mut line)?;
    if line.is_empty() {
        next_line(rd, &mut line)?;
    }
    let request_line = String::from_utf8(line.clone()).map_err(|_| HeadError::Bad)?;
    let mut parts = request_line.split(' ');
    let (method, target, version) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v), None) => (m, t, v),
        _ => return Err(HeadError::Bad),
    };
    if !matches!(version, "HTTP/1.1" | "HTTP/1.0")
        || method.is_empty()
        || !method.bytes().all(|b| b.is_ascii_uppercase())
        || !target.starts_with('/')
    {
        return Err(HeadError::Bad);
    }
    let mut headers = Vec::new();
    loop {
        next_line(rd, &mut line)?;
        if line.is_empty() {
            break;
        }
        if headers.len() >= MAX_HEADERS {
            return Err(HeadError::TooLarge);
        }
        let text = String::from_utf8_lossy(&line);
        // RFC 9112 §5.1: no whitespace between the field name and colon.
        let (k, v) = text.split_once(':').ok_or(HeadError::Bad)?;
        if k.is_empty() || k.ends_with([' ', '\t']) {
            return Err(HeadError::Bad);
        }
        headers.push((k.to_string(), v.trim().to_string()));
    }
    let lens: Vec<&str> = headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.as_str())
        .collect();
    let content_length = match lens.as_slice() {
        [] => None,
        [one] => Some(one.parse::<u64>().map_err(|_| HeadError::Bad)?),
        // Differing duplicates are a smuggling attempt (RFC 9112 §6.3).
        [first, rest @ ..] => {
            if rest.iter().all(|r| r == first) {
                Some(first.parse::<u64>().map_err(|_| HeadError::Bad)?)
            } else {
                return Err(HeadError::Bad);
            }
        }
    };
    if headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("transfer-encoding"))
    {
        return Err(HeadError::LengthRequired);
    }
    Ok((
        method.to_string(),
        target.to_string(),
        headers,
        content_length,
    ))
}

/// A response to write.
pub struct Response<'a> {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: &'a mut dyn Read,
    pub len: u64,
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        303 => "See Other",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}

/// Write a response (head, then the body unless `head_only`).
pub fn write_response(w: &mut dyn Write, r: Response<'_>, head_only: bool) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", r.status, reason(r.status));
    for (k, v) in &r.headers {
        // Header values are ours; refuse line breaks all the same.
        if k.contains(['\r', '\n']) || v.contains(['\r', '\n']) {
            continue;
        }
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        r.len
    ));
    w.write_all(head.as_bytes())?;
    if !head_only {
        io::copy(&mut r.body.take(r.len), w)?;
    }
    w.flush()
}

/// Serve `listener` with `threads` threads, each taking one connection at a
/// time and answering one request on it with `handler`. Returns when every
/// thread has stopped (the listener failed).
pub fn run(listener: TcpListener, threads: usize, handler: std::sync::Arc<Handler>) {
    let mut hs = Vec::new();
    for _ in 0..threads.max(1) {
        let Ok(l) = listener.try_clone() else {
            continue;
        };
        let h = handler.clone();
        hs.push(std::thread::spawn(move || loop {
            match l.accept() {
                Ok((s, peer)) => connection(s, peer, &*h),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }));
    }
    for h in hs {
        let _ = h.join();
    }
}

fn connection(s: TcpStream, peer: SocketAddr, handler: &Handler) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(60)));
    let _ = s.set_nodelay(true);
    let Ok(mut out) = s.try_clone() else {
        return;
    };
    let mut rd = BufReader::with_capacity(16 * 1024, s);
    let head = read_head(&mut rd, Instant::now() + HEAD_TIMEOUT);
    let (method, url, headers, content_length) = match head {
        Ok(h) => h,
        Err(HeadError::Gone) => return,
        Err(e) => {
            let status = match e {
                HeadError::TooLarge => 431,
                HeadError::LengthRequired => 411,
                _ => 400,
            };
            let _ = write_response(
                &mut out,
                Response {
                    status,
                    headers: vec![("Content-Type".into(), "text/plain".into())],
                    body: &mut io::empty(),
                    len: 0,
                },
                false,
            );
            return;
        }
    };
    let _ = rd.get_ref().set_read_timeout(Some(BODY_READ_TIMEOUT));
    let mut req = Request {
        method,
        url,
        headers,
        content_length,
        body: rd.take(content_length.unwrap_or(0)),
    };
    handler(&mut req, &mut out, peer);
    // Read (a bounded part of) what the client is still sending, e.g. after
    // a 413 or 415, so that closing does not reset the connection before it
    // has read the answer.
    let _ = out.shutdown(std::net::Shutdown::Write);
    let _ = req
        .body
        .get_ref()
        .get_ref()
        .set_read_timeout(Some(Duration::from_secs(2)));
    let _ = io::copy(&mut req.body.by_ref().take(1 << 20), &mut io::sink());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &[u8]) -> Result<Head, HeadError> {
        read_head(&mut &raw[..], Instant::now() + Duration::from_secs(5))
    }

    #[test]
    fn request_heads() {
        let (m, u, h, n) =
            parse(b"POST /upload?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello")
                .expect("ok");
        assert_eq!(
            (m.as_str(), u.as_str(), n),
            ("POST", "/upload?x=1", Some(5))
        );
        assert_eq!(h[0], ("Host".into(), "a".into()));
        // Bare LF lines are accepted.
        assert!(parse(b"GET / HTTP/1.0\nHost: a\n\n").is_ok());
    }

    #[test]
    fn hostile_heads_are_refused() {
        assert_eq!(parse(b"GET /\r\n\r\n").err(), Some(HeadError::Bad));
        assert_eq!(
            parse(b"GET http://x/ HTTP/1.1\r\n\r\n").err(),
            Some(HeadError::Bad)
        );
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\nBad : x\r\n\r\n").err(),
            Some(HeadError::Bad)
        );
        let long = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(parse(long.as_bytes()).err(), Some(HeadError::TooLarge));
        let many: String = (0..=MAX_HEADERS).map(|i| format!("X{i}: y\r\n")).collect();
        let many = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert_eq!(parse(many.as_bytes()).err(), Some(HeadError::TooLarge));
        assert_eq!(
            parse(b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n").err(),
            Some(HeadError::Bad)
        );
        assert_eq!(
            parse(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").err(),
            Some(HeadError::LengthRequired)
        );
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\nHost: a\r\n").err(),
            Some(HeadError::Gone)
        );
        assert_eq!(
            parse(b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n").err(),
            Some(HeadError::Bad)
        );
    }

    #[test]
    fn responses_are_framed() {
        let mut out = Vec::new();
        write_response(
            &mut out,
            Response {
                status: 404,
                headers: vec![("X-A".into(), "b\r\nInjected: 1".into())],
                body: &mut &b"nope"[..],
                len: 4,
            },
            false,
        )
        .expect("write");
        let t = String::from_utf8(out).expect("utf8");
        assert!(t.starts_with("HTTP/1.1 404 Not Found\r\n"));
        assert!(!t.contains("Injected"));
        assert!(t.ends_with("Content-Length: 4\r\nConnection: close\r\n\r\nnope"));
    }
}
