//! The web server's upload parser: a Content-Type line (up to a 0x00
//! byte) through `boundary`, then the rest as a multipart body through
//! `read_file_part`, with a small size limit so the limit path is hit too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netsift_web::multipart::{boundary, read_file_part};

fuzz_target!(|data: &[u8]| {
    let (ct, body) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&b"multipart/form-data; boundary=X"[..], data),
    };
    let ct = String::from_utf8_lossy(ct);
    let Some(b) = boundary(&ct) else {
        return;
    };
    let mut got = 0usize;
    let _ = read_file_part(body, &b, 1 << 16, |chunk| {
        got += chunk.len();
        Ok(())
    });
    assert!(got <= body.len());
});
