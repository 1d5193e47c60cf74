//! BitTorrent: the TCP peer wire protocol (BEP 3), and over UDP the DHT
//! (BEP 5), uTP (BEP 29) and the UDP tracker protocol (BEP 15).
//!
//! * BEP 3 handshake: "The handshake starts with character ninteen (decimal)
//!   followed by the string 'BitTorrent protocol'. ... After the fixed
//!   headers come eight reserved bytes ... Next comes the 20 byte sha1 hash
//!   ... After the download hash comes the 20-byte peer id". With message
//!   stream encryption (MSE) the handshake follows a Diffie-Hellman
//!   exchange of 96 bytes plus up to 512 bytes of padding, and is in the
//!   clear when plaintext was negotiated: the probe searches the first 4 KiB
//!   of a stream whose start looks like such key material.
//! * BEP 5 KRPC: "A KRPC message is a single dictionary with three keys
//!   common to every message and additional keys depending on the type of
//!   message. Every message has a key "t" with a string value representing
//!   a transaction ID. ... Every message also has a key "y" with a single
//!   character value describing the type of message. The value of the "y"
//!   key is one of "q" for query, "r" for response, or "e" for error."
//!   The probe parses the bencoded dictionary (BEP 3 bencoding).
//! * BEP 29 uTP header: "type (4 bits) ver (4 bits) extension (8)
//!   connection_id (16) timestamp_microseconds (32)
//!   timestamp_difference_microseconds (32) wnd_size (32) seq_nr (16)
//!   ack_nr (16)"; "The current version is 1"; types ST_DATA 0 .. ST_SYN 4;
//!   extension 0 none, 1 selective ack, 2 (extension bits). One header is
//!   weak (about 5 x 3 of 65536 random first bytes pass), so the probe
//!   keeps the connection id in the scratch and matches when another
//!   datagram of the flow carries the same id or its neighbour (the two
//!   directions use ids differing by one: "conn_id_send = conn_id_recv +
//!   1").
//! * BEP 15 connect request: "0 64-bit integer protocol_id 0x41727101980 //
//!   magic constant, 8 32-bit integer action 0 // connect, 12 32-bit
//!   integer transaction_id".

use netsift_proto::{
    printable, Direction, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// BitTorrent.
pub struct Bittorrent;

impl Protocol for Bittorrent {
    fn name(&self) -> &'static str {
        "BitTorrent"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp, Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[6881]
    }
    // Over UDP: a KRPC message is a bencoded dictionary, "a 'd' followed by
    // ..." (BEP 3); a tracker connect request starts with the protocol id
    // 0x41727101980 and its response with action 0 (BEP 15), both 0x00
    // first; a uTP header's first byte is "type (4) ver (4)", version 1 and
    // types ST_DATA..ST_SYN 0-4 (BEP 29). Over TCP an encrypted (MSE)
    // stream may start with any byte.
    fn first_bytes(&self, transport: Transport) -> FirstBytes {
        match transport {
            Transport::Udp => FirstBytes::only(&[0x00, 0x01, 0x11, 0x21, 0x31, 0x41, b'd']),
            _ => FirstBytes::ANY,
        }
    }

    fn probe(&self, input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Probe {
        match input.transport {
            Transport::Tcp => tcp(input.data, input.peer, input.index),
            Transport::Udp => udp(input, scratch),
            Transport::Ip(_) => Probe::NoMatch,
        }
    }
}

const HANDSHAKE: &[u8] = b"\x13BitTorrent protocol";
/// How far into a stream the handshake is looked for (MSE: 96 + 512 bytes
/// of key and padding each way, then the encrypted negotiation).
const SEARCH: usize = 4096;

/// Payload packets per direction during which an MSE-looking stream is
/// kept under watch: the plaintext handshake follows the two key exchanges
/// and the encrypted negotiation, i.e. within each side's first few sends
/// (bittorrent_tcp_miss.pcapng: the server's third). Watching every binary
/// stream for longer would keep all encrypted traffic in DPI.
const MSE_WATCH_PACKETS: u32 = 4;

fn tcp(d: &[u8], peer: &[u8], index: u32) -> Probe {
    let n = d.len().min(HANDSHAKE.len());
    if d.get(..n) == HANDSHAKE.get(..n) {
        if n < HANDSHAKE.len() {
            return Probe::NeedMore;
        }
        // "eight reserved bytes ... 20 byte sha1 hash ... 20-byte peer id":
        // the info hash is enough to be sure.
        return Probe::Match(Match::new(match d.get(48..68) {
            Some(id) => format!(
                "peer wire handshake, peer id '{}'",
                printable(id.get(..8).unwrap_or(&[]), 8)
            ),
            None => "peer wire handshake".to_string(),
        }));
    }
    let window = d.get(..d.len().min(SEARCH)).unwrap_or(&[]);
    // Only where the length byte 0x13 stands can the handshake start.
    let found = window
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b == HANDSHAKE[0])
        .map(|(at, _)| at)
        .find(|&at| window.get(at..at + HANDSHAKE.len()) == Some(HANDSHAKE));
    if let Some(at) = found {
        return Probe::Match(Match::new(format!(
            "peer wire handshake at offset {at} (after an encryption negotiation)"
        )));
    }
    // MSE: the stream starts with 96 bytes of Diffie-Hellman public key:
    // binary, not text. Keep looking while that is plausible.
    let first = if d.len() >= 96 { d } else { peer };
    let binary = first.len() >= 96
        && first
            .iter()
            .take(96)
            .filter(|&&b| (0x20..0x7f).contains(&b))
            .count()
            < 72;
    if binary && d.len() < SEARCH && peer.len() < SEARCH && index < MSE_WATCH_PACKETS {
        Probe::NeedMore
    } else if d.len() < 96 && peer.len() < 96 {
        // Too little of either side to tell key material from anything:
        // wait unless this already reads as text.
        let text = d
            .iter()
            .take(8)
            .all(|&b| (0x20..0x7f).contains(&b) || b == b'\r' || b == b'\n');
        if text && d.len() >= 8 {
            Probe::NoMatch
        } else {
            Probe::NeedMore
        }
    } else {
        Probe::NoMatch
    }
}

fn udp(input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Probe {
    let d = input.data;
    if let Some(e) = krpc(d) {
        return Probe::Match(Match::new(e));
    }
    if let Some(e) = tracker(d, input.peer) {
        return Probe::Match(Match::new(e));
    }
    utp(d, input.dir, scratch)
}

// --- bencoding (BEP 3): "Strings are length-prefixed base ten followed by
// a colon and the string", "Integers are represented by an 'i' followed by
// the number in base 10 followed by an 'e'", "Lists are encoded as an 'l'
// followed by their elements (also bencoded) followed by an 'e'",
// "Dictionaries are encoded as a 'd' followed by a list of alternating keys
// and their corresponding values followed by an 'e'".

const MAX_DEPTH: u32 = 6;
const MAX_ITEMS: u32 = 256;

/// One bencoded string at `at`: (bytes, next index).
fn bstring(d: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let mut len = 0usize;
    let mut i = at;
    loop {
        let b = *d.get(i)?;
        match b {
            b'0'..=b'9' if i - at < 6 => len = len * 10 + usize::from(b - b'0'),
            b':' if i > at => break,
            _ => return None,
        }
        i += 1;
    }
    let s = d.get(i + 1..i + 1 + len)?;
    Some((s, i + 1 + len))
}

/// Skip one bencoded value at `at`; `budget` bounds the total work.
fn bvalue(d: &[u8], at: usize, depth: u32, budget: &mut u32) -> Option<usize> {
    *budget = budget.checked_sub(1)?;
    match *d.get(at)? {
        b'i' => {
            let rest = d.get(at + 1..)?;
            let e = rest.iter().take(21).position(|&b| b == b'e')?;
            let digits = rest.get(..e)?;
            let digits = digits.strip_prefix(b"-").unwrap_or(digits);
            (!digits.is_empty() && digits.iter().all(u8::is_ascii_digit)).then_some(at + e + 2)
        }
        b'l' | b'd' if depth < MAX_DEPTH => {
            let dict = d.get(at) == Some(&b'd');
            let mut i = at + 1;
            loop {
                if *d.get(i)? == b'e' {
                    return Some(i + 1);
                }
                if dict {
                    i = bstring(d, i)?.1;
                }
                i = bvalue(d, i, depth + 1, budget)?;
            }
        }
        b'0'..=b'9' => Some(bstring(d, at)?.1),
        _ => None,
    }
}

/// A KRPC message: a dictionary with "t" (string) and "y" ("q", "r" or "e").
fn krpc(d: &[u8]) -> Option<String> {
    if d.first() != Some(&b'd') {
        return None;
    }
    let mut budget = MAX_ITEMS;
    let mut i = 1;
    let (mut y, mut t, mut q) = (None, false, None);
    loop {
        if *d.get(i)? == b'e' {
            // The dictionary must be the whole datagram.
            if i + 1 != d.len() {
                return None;
            }
            break;
        }
        let (k, next) = bstring(d, i)?;
        let end = bvalue(d, next, 1, &mut budget)?;
        match k {
            b"y" => y = bstring(d, next).map(|(v, _)| v),
            b"t" => t = bstring(d, next).is_some(),
            b"q" => q = bstring(d, next).map(|(v, _)| v),
            _ => {}
        }
        i = end;
    }
    let kind = match y? {
        b"q" => "query",
        b"r" => "response",
        b"e" => "error",
        _ => return None,
    };
    if !t {
        return None;
    }
    Some(match q {
        Some(m) if kind == "query" => format!("DHT KRPC query '{}'", printable(m, 20)),
        _ => format!("DHT KRPC {kind}"),
    })
}

const TRACKER_MAGIC: [u8; 8] = 0x0417_2710_1980u64.to_be_bytes();

fn tracker(d: &[u8], peer: &[u8]) -> Option<String> {
    // Connect request: magic, action 0, transaction id (16 bytes).
    if d.len() == 16 && d.get(..8) == Some(&TRACKER_MAGIC[..]) && d.get(8..12) == Some(&[0; 4]) {
        return Some("UDP tracker connect request".into());
    }
    // Connect response: "action 0, transaction_id, connection_id", the
    // transaction id echoing the request in the peer.
    if d.len() == 16
        && peer.len() == 16
        && peer.get(..8) == Some(&TRACKER_MAGIC[..])
        && d.get(..4) == Some(&[0; 4])
        && d.get(4..8) == peer.get(12..16)
    {
        return Some("UDP tracker connect response".into());
    }
    None
}

/// Validate a uTP header; returns (type, connection id).
fn utp_header(d: &[u8]) -> Option<(u8, u16)> {
    let h = d.get(..20)?;
    let (ty, ver) = (h[0] >> 4, h[0] & 0x0f);
    if ver != 1 || ty > 4 || h[1] > 2 {
        return None;
    }
    // STUN's magic cookie in the same place: not uTP.
    if h.get(4..8) == Some(&[0x21, 0x12, 0xa4, 0x42]) {
        return None;
    }
    // "extension ... a linked list of extensions": each "next extension
    // (8), len (8)" and, for selective ACK, "len ... at least 4, and in
    // multiples of 4".
    let mut ext = h[1];
    let mut at = 20;
    for _ in 0..4 {
        if ext == 0 {
            break;
        }
        let next = *d.get(at)?;
        let len = usize::from(*d.get(at + 1)?);
        if next > 2 || (ext == 1 && (len < 4 || len % 4 != 0)) {
            return None;
        }
        at += 2 + len;
        d.get(..at)?;
        ext = next;
    }
    if ext != 0 {
        return None;
    }
    // Only ST_DATA carries a payload.
    if ty != 0 && d.len() != at {
        return None;
    }
    Some((ty, u16::from_be_bytes([h[2], h[3]])))
}

fn utp(d: &[u8], dir: Direction, scratch: &mut ProbeScratch) -> Probe {
    let Some((ty, id)) = utp_header(d) else {
        return Probe::NoMatch;
    };
    // "timestamp_microseconds (32) ... seq_nr (16)" at offsets 4 and 16.
    let ts = u32::from_be_bytes([d[4], d[5], d[6], d[7]]);
    let seq = u16::from_be_bytes([d[16], d[17]]);
    let dir_bit = u64::from(dir == Direction::ToClient);
    // Scratch word 0: bit 32 "seen", bit 33 direction, bits 0-15 connection
    // id, bits 34-49 seq_nr; word 1: timestamp.
    let remember = |s: &mut ProbeScratch| {
        s.0[0] = 1 << 32 | dir_bit << 33 | u64::from(seq) << 34 | u64::from(id);
        s.0[1] = u64::from(ts);
    };
    if scratch.0[0] & (1 << 32) == 0 {
        remember(scratch);
        return Probe::NeedMore;
    }
    let w = scratch.0[0];
    let first = (w & 0xffff) as u16;
    let first_seq = ((w >> 34) & 0xffff) as u16;
    let first_ts = scratch.0[1] as u32;
    let same_dir = (w >> 33) & 1 == dir_bit;
    let consistent = if same_dir {
        // Same sender: same connection id, "seq_nr ... incremented by one
        // for each packet sent" (ST_STATE does not advance it), and the
        // microsecond clock moves forward by less than a minute. Other
        // protocols with a uTP-like first byte (CAPWAP over DTLS) fail here.
        let dt = ts.wrapping_sub(first_ts);
        (id == first || id == first.wrapping_add(1))
            && seq.wrapping_sub(first_seq) <= 16
            && dt > 0
            && dt < 60_000_000
    } else {
        // The other side: "ack_nr: the sequence number the sender of the
        // packet last received in the other direction", so its ack_nr sits
        // at or just after the first packet's seq_nr.
        let ack = u16::from_be_bytes([d[18], d[19]]);
        (id == first || id == first.wrapping_add(1) || id == first.wrapping_sub(1))
            && ack.wrapping_sub(first_seq).wrapping_add(1) <= 17
    };
    if consistent {
        const TYPES: [&str; 5] = ["ST_DATA", "ST_FIN", "ST_STATE", "ST_RESET", "ST_SYN"];
        Probe::Match(Match::new(format!(
            "uTP {} with connection id {id} consistent across packets",
            TYPES.get(usize::from(ty)).unwrap_or(&"?")
        )))
    } else {
        // Restart from this packet.
        remember(scratch);
        Probe::NeedMore
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use netsift_proto::Direction::{ToClient, ToServer};

    // bittorrent.pcap frame 1 (192.168.1.3:52888 -> 82.58.216.115:38305):
    // the handshake. lru_ipv6_caches.pcapng, UDP port 6881: frame 36 a DHT
    // get_peers query, frames 34/35 two uTP ST_DATA datagrams of one
    // connection, frame 16 a uTP ST_STATE.
    const HS: &[u8] = include_bytes!("testdata/handshake.bin");
    const DHT: &[u8] = include_bytes!("testdata/dht_get_peers.bin");
    const UTP1: &[u8] = include_bytes!("testdata/utp_data1.bin");
    const UTP2: &[u8] = include_bytes!("testdata/utp_data2.bin");
    const UTP_STATE: &[u8] = include_bytes!("testdata/utp_state.bin");

    fn probe(t: Transport, dir: Direction, data: &[u8], peer: &[u8]) -> Probe {
        run(&Bittorrent, t, dir, data, peer)
    }

    #[test]
    fn real_handshake_and_dht() {
        assert_eq!(
            evidence(probe(Transport::Tcp, ToServer, HS, &[])),
            "peer wire handshake, peer id '-UM1860-'"
        );
        assert_eq!(
            evidence(probe(Transport::Udp, ToServer, DHT, &[])),
            "DHT KRPC query 'get_peers'"
        );
        // MSE: key material first, the handshake later in the stream.
        let mut mse = vec![0xa5u8; 150];
        assert_eq!(probe(Transport::Tcp, ToClient, &mse, &[]), Probe::NeedMore);
        mse.extend_from_slice(HS);
        assert!(evidence(probe(Transport::Tcp, ToClient, &mse, &[])).contains("offset 150"));
        // Text protocols are given up on.
        let http = b"GET /announce?info_hash=abc HTTP/1.1\r\nHost: t\r\n\r\n".repeat(3);
        assert_eq!(probe(Transport::Tcp, ToServer, &http, &[]), Probe::NoMatch);
    }

    #[test]
    fn utp_needs_two_consistent_packets() {
        let mut s = ProbeScratch::default();
        let i = |d: &'static [u8], dir| ProbeInput {
            server_port: 6881,
            ..input(Transport::Udp, dir, d, &[], 0)
        };
        assert_eq!(
            Bittorrent.probe(&i(UTP1, ToServer), &mut s),
            Probe::NeedMore
        );
        assert!(matches!(
            Bittorrent.probe(&i(UTP2, ToServer), &mut s),
            Probe::Match(_)
        ));
        let mut s = ProbeScratch::default();
        assert_eq!(
            Bittorrent.probe(&i(UTP_STATE, ToClient), &mut s),
            Probe::NeedMore
        );
        assert_eq!(
            Bittorrent.probe(&i(UTP1, ToClient), &mut s),
            Probe::NeedMore
        );
        // A single header is never enough.
        assert_eq!(probe(Transport::Udp, ToServer, UTP1, &[]), Probe::NeedMore);
    }

    #[test]
    fn tracker_connect() {
        let mut req = TRACKER_MAGIC.to_vec();
        req.extend_from_slice(&[0, 0, 0, 0, 1, 2, 3, 4]);
        assert!(matches!(
            probe(Transport::Udp, ToServer, &req, &[]),
            Probe::Match(_)
        ));
        let resp = [0, 0, 0, 0, 1, 2, 3, 4, 9, 9, 9, 9, 9, 9, 9, 9];
        assert!(matches!(
            probe(Transport::Udp, ToClient, &resp, &req),
            Probe::Match(_)
        ));
    }

    #[test]
    fn bencode_must_be_exact() {
        assert!(krpc(b"d1:t2:aa1:y1:qe").is_some());
        assert!(krpc(b"d1:t2:aa1:y1:xe").is_none());
        assert!(krpc(b"d1:t2:aa1:y1:qe ").is_none());
        assert!(krpc(b"d1:t2:aa1:y1:q").is_none());
        assert!(krpc(b"d1:y1:qe").is_none());
    }

    #[test]
    fn truncation() {
        check_prefixes(&Bittorrent, Transport::Tcp, ToServer, HS, &[]);
        for n in 0..HANDSHAKE.len() {
            assert_eq!(
                probe(Transport::Tcp, ToServer, &HS[..n], &[]),
                Probe::NeedMore
            );
        }
        for d in [DHT, UTP1, UTP2] {
            check_prefixes(&Bittorrent, Transport::Udp, ToServer, d, &[]);
        }
    }

    #[test]
    fn other_protocols_and_random() {
        assert_no_claim_on_others(&Bittorrent, Transport::Tcp);
        assert_no_claim_on_others(&Bittorrent, Transport::Udp);
        assert_random_rate(&Bittorrent, Transport::Tcp);
        assert_random_rate(&Bittorrent, Transport::Udp);
    }

    #[test]
    fn first_packet_on_a_non_standard_port() {
        match crate::first_packet::identify_first_payload(Transport::Tcp, ToServer, 443, HS) {
            crate::FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "BitTorrent"),
            other => panic!("{other:?}"),
        }
    }
    /// capwap.pcap frames 24-26: CAPWAP control over DTLS starts with 0x01
    /// and a zero "connection id", like a uTP ST_DATA header. Regression:
    /// the flow was claimed as BitTorrent before the seq/ack/timestamp
    /// consistency checks.
    #[test]
    fn capwap_dtls_is_not_utp() {
        let hex = |h: &str| -> Vec<u8> {
            (0..h.len() / 2)
                .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).expect("hex"))
                .collect()
        };
        let f24 = hex("0100000016feff000000000000000000380100002c000000000000002cfeff56789abcf5def2252c714653c28d9813f091791c8f4be96c010e7d369f62865200000004002f0033");
        let f25 = hex("0100000016feff0000000000000000002f030000230000000000000023feff20c0a80a0a305c123456789abcf5d5ba09f13b25251f54e63cd72c71142f5475cb");
        let f26 = hex("0100000016feff000000000000000100580100004c000100000000004cfeff56789abca73c6588e48326f69d7b8c4d9ff4a689310aeb58ad844b62e5da52180020c0a80a0a305c");
        let mut s = ProbeScratch::default();
        for (d, dir) in [(&f24, ToServer), (&f25, ToClient), (&f26, ToServer)] {
            assert!(!matches!(utp(d, dir, &mut s), Probe::Match(_)));
        }
    }
    #[test]
    fn first_bytes_declared() {
        let mut req = TRACKER_MAGIC.to_vec();
        req.extend_from_slice(&[0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef]);
        for d in [DHT, UTP1, UTP2, UTP_STATE, &req[..]] {
            let input = crate::testkit::input(Transport::Udp, Direction::ToServer, d, &[], 0);
            crate::testkit::first_bytes_hold(&Bittorrent, &input);
        }
        assert_eq!(Bittorrent.first_bytes(Transport::Tcp), FirstBytes::ANY);
    }
}

/// `cargo test -p netsift-protocols random_rates_of_db_probes -- --ignored --nocapture`
/// prints the measured false-positive rates of the db group's probes.
#[cfg(test)]
#[test]
#[ignore]
fn random_rates_of_db_probes() {
    use crate::testkit::random_matches;
    let probes: [(&dyn Protocol, Transport); 12] = [
        (&crate::mysql::Mysql, Transport::Tcp),
        (&crate::postgresql::Postgresql, Transport::Tcp),
        (&crate::resp::Resp, Transport::Tcp),
        (&crate::mongodb::Mongodb, Transport::Tcp),
        (&crate::memcached::Memcached, Transport::Tcp),
        (&crate::memcached::Memcached, Transport::Udp),
        (&crate::mqtt::Mqtt, Transport::Tcp),
        (&crate::amqp::Amqp, Transport::Tcp),
        (&crate::jabber::Jabber, Transport::Tcp),
        (&crate::irc::Irc, Transport::Tcp),
        (&Bittorrent, Transport::Tcp),
        (&Bittorrent, Transport::Udp),
    ];
    for (p, t) in probes {
        let hits = random_matches(p, t, 100_000, 0x9e37_79b9_7f4a_7c15, None);
        println!(
            "{:<12} {t:?}: {hits} / 100000 random payloads matched",
            p.name()
        );
    }
}
