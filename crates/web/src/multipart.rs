//! A bounded, streaming `multipart/form-data` reader (RFC 7578 over the
//! MIME multipart syntax of RFC 2046 §5.1.1) that hands the bytes of the
//! first file part to a sink as they arrive: memory stays at one read
//! buffer plus one boundary, whatever the upload's size.
//!
//! RFC 2046 §5.1.1: "The boundary delimiter MUST occur at the beginning of
//! a line, i.e., following a CRLF ... the boundary delimiter line is then
//! defined as a line consisting entirely of two hyphen characters ("-")
//! followed by the boundary parameter value". So the file's bytes end
//! right before `CRLF--boundary`.

use std::io::{self, Read};

/// Longest boundary (RFC 2046 §5.1.1: "1*70 bchars").
const MAX_BOUNDARY: usize = 70;
/// Longest header block of one part.
const MAX_PART_HEADERS: usize = 8 * 1024;
/// Most parts skipped before the file part.
const MAX_PARTS: usize = 16;
const CHUNK: usize = 64 * 1024;

/// Why an upload was refused.
#[derive(Debug)]
pub enum MultipartError {
    /// Not multipart/form-data, no boundary, or malformed framing.
    Malformed(&'static str),
    /// More than the allowed number of bytes.
    TooLarge,
    /// No part with a file name.
    NoFile,
    Io(io::Error),
}

impl From<io::Error> for MultipartError {
    fn from(e: io::Error) -> Self {
        MultipartError::Io(e)
    }
}

/// The boundary parameter of a `Content-Type: multipart/form-data;
/// boundary=...` header value.
pub fn boundary(content_type: &str) -> Option<String> {
    let (mime, params) = content_type.split_once(';')?;
    if !mime.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    for p in params.split(';') {
        let (k, v) = p.split_once('=')?;
        if k.trim().eq_ignore_ascii_case("boundary") {
            let v = v.trim().trim_matches('"');
            if v.is_empty() || v.len() > MAX_BOUNDARY {
                return None;
            }
            return Some(v.to_string());
        }
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        match hay[i..=hay.len() - needle.len()]
            .iter()
            .position(|&b| b == first)
        {
            Some(p) => {
                let at = i + p;
                if &hay[at..at + needle.len()] == needle {
                    return Some(at);
                }
                i = at + 1;
            }
            None => return None,
        }
    }
    None
}

struct Reader<R: Read> {
    inner: R,
    buf: Vec<u8>,
    /// Bytes consumed from `inner` so far.
    total: u64,
    max: u64,
    eof: bool,
}

impl<R: Read> Reader<R> {
    /// Read more into `buf`; false at end of input.
    fn fill(&mut self) -> Result<bool, MultipartError> {
        if self.eof {
            return Ok(false);
        }
        let old = self.buf.len();
        self.buf.resize(old + CHUNK, 0);
        let n = loop {
            match self.inner.read(&mut self.buf[old..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(e.into());
                }
            }
        };
        self.buf.truncate(old + n);
        self.total += n as u64;
        if self.total > self.max {
            return Err(MultipartError::TooLarge);
        }
        if n == 0 {
            self.eof = true;
        }
        Ok(n > 0)
    }
}

/// Stream the first file part of a multipart body to `sink`. Reads at most
/// `max` bytes of body (beyond: [`MultipartError::TooLarge`]). Returns the
/// part's file name (as sent; for display only).
pub fn read_file_part<R: Read>(
    body: R,
    boundary: &str,
    max: u64,
    mut sink: impl FnMut(&[u8]) -> io::Result<()>,
) -> Result<String, MultipartError> {
    let mut r = Reader {
        inner: body,
        buf: Vec::with_capacity(CHUNK * 2),
        total: 0,
        max,
        eof: false,
    };
    let dash = format!("--{boundary}");
    let delim = format!("\r\n--{boundary}");
    // The preamble ends with the first boundary line.
    loop {
        if let Some(p) = find(&r.buf, dash.as_bytes()) {
            r.buf.drain(..p + dash.len());
            break;
        }
        if r.buf.len() > MAX_PART_HEADERS {
            return Err(MultipartError::Malformed("no first boundary"));
        }
        if !r.fill()? {
            return Err(MultipartError::Malformed("no first boundary"));
        }
    }
    for _ in 0..MAX_PARTS {
        // After a boundary: "--" ends the body, else CRLF and headers.
        while r.buf.len() < 2 {
            if !r.fill()? {
                return Err(MultipartError::Malformed("truncated"));
            }
        }
        if &r.buf[..2] == b"--" {
            return Err(MultipartError::NoFile);
        }
        let headers = loop {
            if let Some(p) = find(&r.buf, b"\r\n\r\n") {
                let h = String::from_utf8_lossy(&r.buf[..p]).into_owned();
                r.buf.drain(..p + 4);
                break h;
            }
            if r.buf.len() > MAX_PART_HEADERS {
                return Err(MultipartError::Malformed("part headers too long"));
            }
            if !r.fill()? {
                return Err(MultipartError::Malformed("truncated part headers"));
            }
        };
        let filename = headers.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            if !k.trim().eq_ignore_ascii_case("content-disposition") {
                return None;
            }
            disposition_filename(v)
        });
        // Stream (or skip) the part's content up to the delimiter, keeping
        // back the last delim.len()-1 bytes that could start a delimiter.
        let keep = delim.len() - 1;
        loop {
            if let Some(p) = find(&r.buf, delim.as_bytes()) {
                if filename.is_some() {
                    sink(&r.buf[..p])?;
                }
                r.buf.drain(..p + delim.len());
                break;
            }
            if r.buf.len() > keep {
                let n = r.buf.len() - keep;
                if filename.is_some() {
                    sink(&r.buf[..n])?;
                }
                r.buf.drain(..n);
            }
            if !r.fill()? {
                return Err(MultipartError::Malformed("truncated part"));
            }
        }
        if let Some(name) = filename {
            return Ok(name);
        }
    }
    Err(MultipartError::NoFile)
}

/// `filename="..."` of a Content-Disposition value (RFC 7578 §4.2), if the
/// part is a file.
fn disposition_filename(v: &str) -> Option<String> {
    let i = v.find("filename=")?;
    let rest = &v[i + "filename=".len()..];
    let name = if let Some(q) = rest.strip_prefix('"') {
        q.split('"').next().unwrap_or("")
    } else {
        rest.split(';').next().unwrap_or("").trim()
    };
    Some(name.chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(b: &str, content: &[u8]) -> Vec<u8> {
        let mut v = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--{b}\r\n\
             Content-Disposition: form-data; name=\"file\"; filename=\"a<b>.pcap\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        v.extend_from_slice(content);
        v.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
        v
    }

    /// Reads a few bytes at a time, so that boundaries straddle reads.
    struct Trickle<'a>(&'a [u8], usize);
    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(out.len()).min(self.0.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn file_part_is_streamed_exactly() {
        // Content that contains CRLF, dashes and a near-boundary.
        let mut content = b"\xd4\xc3\xb2\xa1\r\n--XYZ\r\n--XY".to_vec();
        content.extend((0..200_000u32).map(|i| (i % 251) as u8));
        let b = body("XYZZY", &content);
        for step in [1, 7, 4096, 1 << 20] {
            let mut got = Vec::new();
            let name = read_file_part(Trickle(&b, step), "XYZZY", 1 << 30, |d| {
                got.extend_from_slice(d);
                Ok(())
            })
            .expect("parsed");
            assert_eq!(name, "a<b>.pcap");
            assert!(got == content, "step {step}");
        }
    }

    #[test]
    fn over_the_cap_is_refused() {
        let b = body("B", &vec![0u8; 100_000]);
        let r = read_file_part(&b[..], "B", 50_000, |_| Ok(()));
        assert!(matches!(r, Err(MultipartError::TooLarge)));
    }

    #[test]
    fn malformed_bodies() {
        assert!(matches!(
            read_file_part(&b"no boundary here"[..], "B", 1000, |_| Ok(())),
            Err(MultipartError::Malformed(_))
        ));
        let t = b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\nabc";
        assert!(matches!(
            read_file_part(&t[..], "B", 1000, |_| Ok(())),
            Err(MultipartError::Malformed(_))
        ));
        let nf = b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nabc\r\n--B--\r\n";
        assert!(matches!(
            read_file_part(&nf[..], "B", 1000, |_| Ok(())),
            Err(MultipartError::NoFile)
        ));
    }

    #[test]
    fn boundary_parameter() {
        assert_eq!(
            boundary("multipart/form-data; boundary=----abc").as_deref(),
            Some("----abc")
        );
        assert_eq!(
            boundary("Multipart/Form-Data; charset=x; boundary=\"q\"").as_deref(),
            Some("q")
        );
        assert_eq!(boundary("text/plain; boundary=a"), None);
        assert_eq!(
            boundary(&format!("multipart/form-data; boundary={}", "a".repeat(71))),
            None
        );
    }
}
