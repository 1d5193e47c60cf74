//! Every protocol of `ALL` through its probe (both directions, TCP and UDP
//! where it applies, each prefix length a packet boundary could give) and
//! its parser (the input split into alternating client/server chunks), so
//! a new protocol is fuzzed without a new target.
//!
//! Input: byte 0 picks the protocol, byte 1 the chunk size, the rest is
//! payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netsift_proto::{Direction, MemSink, ProbeInput, ProbeScratch, Transport};
use netsift_protocols::ALL;

fuzz_target!(|data: &[u8]| {
    let [pick, chunk, payload @ ..] = data else {
        return;
    };
    let proto = ALL[usize::from(*pick) % ALL.len()];
    let chunk = usize::from(*chunk).max(1);
    for &t in proto.transports() {
        for dir in [Direction::ToServer, Direction::ToClient] {
            let mut scratch = ProbeScratch::default();
            let mut at = 0;
            let mut index = 0;
            // The engine offers a flow's first 24 payload packets to the
            // probes (DpiConfig::max_packets); a few more here.
            while at < payload.len() && index < 32 {
                let end = (at + chunk).min(payload.len());
                let (data, peer) = match t {
                    Transport::Tcp => (&payload[..end], &payload[..at.min(16)]),
                    _ => (&payload[at..end], &payload[..0]),
                };
                let input = ProbeInput {
                    transport: t,
                    dir,
                    data,
                    peer,
                    index,
                    server_port: 4242,
                    client_port: 50000,
                    server_addr: None,
                    client_addr: None,
                };
                let _ = proto.probe(&input, &mut scratch);
                let _ = proto.follow(&input, &mut scratch);
                at = end;
                index += 1;
            }
        }
    }
    if let Some(mut p) = proto.parser() {
        let mut sink = MemSink::default();
        let mut dir = Direction::ToServer;
        for piece in payload.chunks(chunk) {
            p.on_data(dir, piece, &mut sink);
            if piece.first().is_some_and(|b| b & 1 == 1) {
                dir = match dir {
                    Direction::ToServer => Direction::ToClient,
                    Direction::ToClient => Direction::ToServer,
                };
            }
        }
        p.on_gap(Direction::ToServer, 100, &mut sink);
        p.on_data(Direction::ToServer, payload, &mut sink);
        p.on_end(&mut sink);
    }
});
