//! The kit's parser replay, used by the HTTP, SMTP, POP3 and IMAP parser tests: replay
//! a captured TCP conversation stored as chunks `[dir: b'C' client or b'S'
//! server][u32 BE length][bytes]` (made with `tshark -z follow,tcp,raw`).

use netsift_proto::{Direction, MemSink, Parser};

/// The chunks of a stored conversation.
pub(crate) fn chunks(data: &[u8]) -> Vec<(Direction, &[u8])> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 5 <= data.len() {
        let dir = if data[i] == b'C' {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let len = u32::from_be_bytes([data[i + 1], data[i + 2], data[i + 3], data[i + 4]]) as usize;
        out.push((dir, &data[i + 5..i + 5 + len]));
        i += 5 + len;
    }
    out
}

/// Feed each chunk in one call, then end.
pub(crate) fn replay(data: &[u8], p: &mut dyn Parser) -> MemSink {
    let mut s = MemSink::default();
    for (d, c) in chunks(data) {
        p.on_data(d, c, &mut s);
    }
    p.on_end(&mut s);
    s
}

/// Feed every chunk one byte per call, then end.
pub(crate) fn replay_bytewise(data: &[u8], p: &mut dyn Parser) -> MemSink {
    let mut s = MemSink::default();
    for (d, c) in chunks(data) {
        for b in c.chunks(1) {
            p.on_data(d, b, &mut s);
        }
    }
    p.on_end(&mut s);
    s
}
