//! The built-in capture-filter compiler (tcpdump's language, `--filter`):
//! expression text (up to a 0x00 byte) through the parser and the BPF code
//! generator, for both link types; a program that compiles then runs over
//! the rest of the input as a packet (the interpreter that checks it in
//! tests; the kernel runs the same code).
#![no_main]

use libfuzzer_sys::fuzz_target;
use netsift_live::filter::{compile, Link};

fuzz_target!(|data: &[u8]| {
    let (expr, pkt) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(expr) = std::str::from_utf8(expr) else {
        return;
    };
    for link in [Link::Ethernet, Link::RawIp] {
        if let Ok(p) = compile(expr, link, 65535) {
            let _ = p.matches(pkt, pkt.len() as u32);
            let _ = p.dump();
        }
    }
});
