//! Every probe's [`Protocol::first_bytes`] declaration against the
//! payloads of nDPI's corpus: wherever a probe does not reject a payload,
//! its first byte must be declared, and every first byte it does not
//! declare must make the probe reject the same payload
//! ([`netsift_proto::assert_first_bytes`]). The DPI layer skips a probe
//! for a datagram whose first byte is outside its declaration, so a wrong
//! one would lose identifications silently.

use std::collections::HashMap;
use std::net::IpAddr;

use netsift_capture::CaptureReader;
use netsift_proto::{assert_first_bytes, Direction, FirstBytes, ProbeInput, Protocol, Transport};
use netsift_wire::LinkType;

/// Payloads looked at per flow and direction (the DPI layer looks at a
/// few datagrams; a TCP stream's first byte is its first payload's).
const PER_DIRECTION: u32 = 4;

type Key = (IpAddr, u16, IpAddr, u16, u8);

#[test]
fn declared_first_bytes_hold_on_the_corpus() {
    let Some(files) = netsift_testkit::ndpi_pcap_files() else {
        netsift_testkit::skip("nDPI corpus not found");
        return;
    };
    let declared: Vec<&'static dyn Protocol> = netsift_protocols::ALL
        .iter()
        .copied()
        .filter(|p| {
            p.transports()
                .iter()
                .any(|&t| p.first_bytes(t) != FirstBytes::ANY)
        })
        .collect();
    assert!(!declared.is_empty(), "no probe declares its first bytes");
    let mut payloads = 0u64;
    // (payload, probe) pairs the probe took, so that were checked.
    let mut checked = 0u64;
    for path in files {
        let Ok(mut reader) = CaptureReader::open(&path) else {
            continue;
        };
        // Per direction of a flow: payloads seen, and the first one.
        let mut seen: HashMap<Key, (u32, Vec<u8>)> = HashMap::new();
        while let Ok(Some(frame)) = reader.next_frame() {
            let Ok(d) = netsift_wire::decode(LinkType(frame.linktype), frame.data) else {
                continue;
            };
            let Some(ip) = d.ip else { continue };
            let (transport, sport, dport, payload) = match ip.transport {
                netsift_wire::Transport::Udp {
                    src_port,
                    dst_port,
                    payload,
                } => (Transport::Udp, src_port, dst_port, payload),
                netsift_wire::Transport::Tcp { tcp, payload } => {
                    (Transport::Tcp, tcp.src_port, tcp.dst_port, payload)
                }
                _ => continue,
            };
            if payload.is_empty() {
                continue;
            }
            let key = (ip.src, sport, ip.dst, dport, ip.proto);
            let back = (ip.dst, dport, ip.src, sport, ip.proto);
            let index = seen.get(&key).map_or(0, |s| s.0);
            if index >= PER_DIRECTION || (transport == Transport::Tcp && index > 0) {
                continue;
            }
            let peer = seen.get(&back).map(|s| s.1.clone()).unwrap_or_default();
            payloads += 1;
            // Either end may be the server: ask both ways.
            for (dir, server, client) in [
                (Direction::ToServer, (ip.dst, dport), (ip.src, sport)),
                (Direction::ToClient, (ip.src, sport), (ip.dst, dport)),
            ] {
                let input = ProbeInput {
                    transport,
                    dir,
                    data: payload,
                    peer: &peer,
                    index,
                    server_port: server.1,
                    client_port: client.1,
                    server_addr: Some(server.0),
                    client_addr: Some(client.0),
                };
                for p in &declared {
                    if p.transports().contains(&transport) {
                        checked += u64::from(assert_first_bytes(*p, &input));
                    }
                }
            }
            let e = seen.entry(key).or_insert_with(|| (0, payload.to_vec()));
            e.0 += 1;
        }
    }
    eprintln!("{payloads} payloads, {checked} taken by a declaring probe and checked");
    if netsift_testkit::corpus_required() {
        assert!(payloads > 5_000, "only {payloads} payloads looked at");
        assert!(checked > 1_000, "only {checked} checks made");
    }
}
