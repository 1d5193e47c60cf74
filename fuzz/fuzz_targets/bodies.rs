//! HTTP bodies and MIME messages through the real parsers, framed so that
//! the fuzzer's bytes land in the body decoders at once: byte 0 picks the
//! framing and the rest is the body.
//!
//! * HTTP (bits 0-1 of byte 0: identity, gzip, deflate, br; bit 2:
//!   chunked or Content-Length; bit 3: request or response body): a GET or
//!   POST and a 200 answer with those headers, then the bytes;
//! * SMTP (bit 4): a session up to `DATA`, then the bytes as the message
//!   (headers, MIME parts, transfer encodings), then the final dot.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netsift_proto::{Direction, MemSink};
use netsift_protocols::ALL;

fn parser(name: &str) -> Option<Box<dyn netsift_proto::Parser>> {
    ALL.iter().find(|p| p.name() == name)?.parser()
}

fuzz_target!(|data: &[u8]| {
    let [mode, body @ ..] = data else {
        return;
    };
    let mut sink = MemSink::default();
    if mode & 0x10 == 0 {
        let Some(mut p) = parser("HTTP") else {
            return;
        };
        let enc = ["identity", "gzip", "deflate", "br"][usize::from(mode & 3)];
        let framing = if mode & 4 != 0 {
            "Transfer-Encoding: chunked\r\n".to_string()
        } else {
            format!("Content-Length: {}\r\n", body.len())
        };
        let head = format!(
            "Content-Type: multipart/mixed; boundary=b\r\nContent-Encoding: {enc}\r\n{framing}\r\n"
        );
        if mode & 8 != 0 {
            p.on_data(
                Direction::ToServer,
                format!("POST /u HTTP/1.1\r\nHost: a\r\n{head}").as_bytes(),
                &mut sink,
            );
            p.on_data(Direction::ToServer, body, &mut sink);
            p.on_data(Direction::ToClient, b"HTTP/1.1 204 No Content\r\n\r\n", &mut sink);
        } else {
            p.on_data(Direction::ToServer, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", &mut sink);
            p.on_data(
                Direction::ToClient,
                format!("HTTP/1.1 200 OK\r\n{head}").as_bytes(),
                &mut sink,
            );
            p.on_data(Direction::ToClient, body, &mut sink);
        }
        p.on_end(&mut sink);
    } else {
        let Some(mut p) = parser("SMTP") else {
            return;
        };
        let steps: [(Direction, &[u8]); 9] = [
            (Direction::ToClient, b"220 mx ESMTP\r\n"),
            (Direction::ToServer, b"EHLO c\r\n"),
            (Direction::ToClient, b"250 mx\r\n"),
            (Direction::ToServer, b"MAIL FROM:<a@b>\r\n"),
            (Direction::ToClient, b"250 ok\r\n"),
            (Direction::ToServer, b"RCPT TO:<c@d>\r\n"),
            (Direction::ToClient, b"250 ok\r\n"),
            (Direction::ToServer, b"DATA\r\n"),
            (Direction::ToClient, b"354 go\r\n"),
        ];
        for (d, b) in steps {
            p.on_data(d, b, &mut sink);
        }
        p.on_data(Direction::ToServer, body, &mut sink);
        p.on_data(Direction::ToServer, b"\r\n.\r\n", &mut sink);
        p.on_data(Direction::ToClient, b"250 queued\r\n", &mut sink);
        p.on_end(&mut sink);
    }
});
