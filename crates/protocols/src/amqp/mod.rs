//! AMQP 0-8 / 0-9-1 / 0-10 / 1.0.
//!
//! AMQP 0-9-1 §4.2.2 "Protocol Header": "The client MUST start a new
//! connection by sending a protocol header. This is an 8-octet sequence:
//! 'A' 'M' 'Q' 'P' %d0 0 9 1". 0-8 sent "'AMQP' 1 1 8 0", 0-10 "'AMQP' 1 1 0
//! 10". AMQP 1.0 §2.2: "'A' 'M' 'Q' 'P' protocol-id major minor revision"
//! with protocol-id 0 (AMQP), 2 (TLS) or 3 (SASL) and version 1.0.0. A
//! server that does not support the requested version answers with its
//! own header.
//!
//! The server's first frame (0-9-1 §4.2.3, §2.3.5): "type (octet: 1 =
//! METHOD), channel (short: 0), size (long), payload, frame-end (%xCE)";
//! the payload is connection.start: "class-id 10, method-id 10,
//! version-major, version-minor, server-properties (table), mechanisms
//! (longstr), locales (longstr)".

use netsift_proto::{
    printable, Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// AMQP.
pub struct Amqp;

impl Protocol for Amqp {
    fn name(&self) -> &'static str {
        "AMQP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[5672]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        match header(input.data) {
            Some(Ok(v)) => {
                let who = match input.dir {
                    Direction::ToServer => "client",
                    Direction::ToClient => "server",
                };
                return Probe::Match(Match::new(format!("{who} protocol header AMQP {v}")));
            }
            Some(Err(())) => return Probe::NeedMore,
            None => {}
        }
        if input.dir == Direction::ToClient {
            return connection_start(input.data);
        }
        Probe::NoMatch
    }
}

/// `Some(Ok(version))` a known protocol header, `Some(Err(()))` a prefix
/// of one, `None` not one.
fn header(d: &[u8]) -> Option<Result<&'static str, ()>> {
    const HEADERS: &[(&[u8], &str)] = &[
        (b"AMQP\x00\x00\x09\x01", "0-9-1"),
        (b"AMQP\x01\x01\x00\x09", "0-9"),
        (b"AMQP\x01\x01\x08\x00", "0-8"),
        (b"AMQP\x01\x01\x00\x0a", "0-10"),
        (b"AMQP\x00\x01\x00\x00", "1.0"),
        (b"AMQP\x02\x01\x00\x00", "1.0 (TLS)"),
        (b"AMQP\x03\x01\x00\x00", "1.0 (SASL)"),
    ];
    for (h, v) in HEADERS {
        let n = d.len().min(h.len());
        if d.get(..n) == h.get(..n) {
            return Some(if n == h.len() { Ok(v) } else { Err(()) });
        }
    }
    None
}

fn connection_start(d: &[u8]) -> Probe {
    // "type 1, channel 0, size", then class 10 method 10.
    const START: &[u8] = &[1, 0, 0];
    let n = d.len().min(START.len());
    if d.get(..n) != START.get(..n) {
        return Probe::NoMatch;
    }
    let Some(sz) = d.get(3..7) else {
        return Probe::NeedMore;
    };
    let size = u32::from_be_bytes([sz[0], sz[1], sz[2], sz[3]]) as usize;
    if !(8..=65_536).contains(&size) {
        return Probe::NoMatch;
    }
    let m = d.get(7..11).unwrap_or(&[]);
    let want = [0u8, 10, 0, 10];
    if m != want.get(..m.len()).unwrap_or(&[]) {
        return Probe::NoMatch;
    }
    // "frame-end: %xCE".
    match d.get(7 + size) {
        None => Probe::NeedMore,
        Some(0xce) => {
            let (maj, min) = (
                d.get(11).copied().unwrap_or(0),
                d.get(12).copied().unwrap_or(0),
            );
            let product = find_product(d.get(13..7 + size).unwrap_or(&[]));
            Probe::Match(Match::new(format!(
                "server connection.start (version {maj}-{min}){}",
                product
                    .map(|p| format!(", product '{}'", printable(p, 32)))
                    .unwrap_or_default()
            )))
        }
        Some(_) => Probe::NoMatch,
    }
}

/// The "product" entry of the server-properties table, if it is a long
/// string ("product" shortstr name, 'S', long length, bytes).
fn find_product(t: &[u8]) -> Option<&[u8]> {
    let at = t.windows(9).position(|w| w == b"\x07productS")? + 9;
    let l = t.get(at..at + 4)?;
    let len = u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize;
    t.get(at + 4..at + 4 + len.min(64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use netsift_proto::Direction::{ToClient, ToServer};

    // Protocol headers as the 0-9-1 and 1.0 specifications define them,
    // and a connection.start in the layout of RabbitMQ's (trimmed table).
    const H091: &[u8] = b"AMQP\x00\x00\x09\x01";
    const H10: &[u8] = b"AMQP\x00\x01\x00\x00";

    fn start_frame() -> Vec<u8> {
        let mut p = vec![0, 10, 0, 10, 0, 9];
        let mut table = b"\x07productS".to_vec();
        table.extend_from_slice(&8u32.to_be_bytes());
        table.extend_from_slice(b"RabbitMQ");
        p.extend_from_slice(&(table.len() as u32).to_be_bytes());
        p.extend_from_slice(&table);
        p.extend_from_slice(b"\x00\x00\x00\x05PLAIN\x00\x00\x00\x05en_US");
        let mut f = vec![1, 0, 0];
        f.extend_from_slice(&(p.len() as u32).to_be_bytes());
        f.extend_from_slice(&p);
        f.push(0xce);
        f
    }

    fn probe(dir: Direction, data: &[u8], peer: &[u8]) -> Probe {
        run(&Amqp, Transport::Tcp, dir, data, peer)
    }

    #[test]
    fn headers_and_start() {
        assert_eq!(
            evidence(probe(ToServer, H091, &[])),
            "client protocol header AMQP 0-9-1"
        );
        assert_eq!(
            evidence(probe(ToServer, H10, &[])),
            "client protocol header AMQP 1.0"
        );
        assert_eq!(
            evidence(probe(ToClient, &start_frame(), H091)),
            "server connection.start (version 0-9), product 'RabbitMQ'"
        );
        let mut bad = start_frame();
        let n = bad.len();
        bad[n - 1] = 0;
        assert_eq!(probe(ToClient, &bad, H091), Probe::NoMatch);
        assert_eq!(
            probe(ToServer, b"AMQP\x00\x00\x09\x02", &[]),
            Probe::NoMatch
        );
    }

    #[test]
    fn truncation() {
        check_prefixes(&Amqp, Transport::Tcp, ToServer, H091, &[]);
        let f = start_frame();
        check_prefixes(&Amqp, Transport::Tcp, ToClient, &f, H091);
        for n in 0..f.len() {
            assert_eq!(probe(ToClient, &f[..n], &[]), Probe::NeedMore, "{n}");
        }
    }

    #[test]
    fn other_protocols_and_random() {
        assert_no_claim_on_others(&Amqp, Transport::Tcp);
        assert_random_rate(&Amqp, Transport::Tcp);
    }

    #[test]
    fn first_packet_on_a_non_standard_port() {
        match crate::first_packet::identify_first_payload(Transport::Tcp, ToServer, 25, H091) {
            crate::FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "AMQP"),
            other => panic!("{other:?}"),
        }
    }
}
