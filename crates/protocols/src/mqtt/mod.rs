//! MQTT 3.1 / 3.1.1 / 5.0 (OASIS MQTT Version 3.1.1 and 5.0 standards;
//! IBM MQTT V3.1 protocol specification).
//!
//! A connection starts with the client's CONNECT (3.1.1 §3.1 "After a
//! Network Connection is established by a Client to a Server, the first
//! Packet sent from the Client to the Server MUST be a CONNECT Packet"):
//! fixed header 0x10 ("MQTT Control Packet type 1", flags "Reserved" 0),
//! "Remaining Length" as a variable byte integer (§2.2.3, at most 4
//! bytes), then the variable header: Protocol Name "00 04 'MQTT'" with
//! Protocol Level 4 (3.1.1) or 5 (5.0), or "00 06 'MQIsdp'" level 3
//! (3.1), Connect Flags ("The Server MUST validate that the reserved flag
//! in the CONNECT Control Packet is set to zero"; "If the Will Flag is set
//! to 0, then the Will QoS MUST be set to 0"; "If the Will Flag is set to
//! 0, then Will Retain MUST be set to 0"; Will QoS 3 is invalid), Keep
//! Alive, and the payload starting with the Client Identifier string.
//!
//! The server answers with CONNACK: 0x20, remaining length 2 (3.x: ack
//! flags 0/1, return code 0-5) or longer (5.0 properties). A CONNACK
//! alone is too short to count; it counts after a CONNECT in the peer.
//! CONNECT is recognised in either direction (captures that start after
//! the handshake sometimes reverse the flow).

use netsift_proto::{printable, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// MQTT.
pub struct Mqtt;

impl Protocol for Mqtt {
    fn name(&self) -> &'static str {
        "MQTT"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[1883, 8883]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        match connect(input.data) {
            Parse::Ok(e) => Probe::Match(Match::new(e)),
            Parse::Partial => Probe::NeedMore,
            Parse::Bad => match (connect(input.peer), connack(input.data)) {
                (Parse::Ok(e), Parse::Ok(a)) => Probe::Match(Match::new(format!("{e}, {a}"))),
                (Parse::Ok(_), Parse::Partial) => Probe::NeedMore,
                // A CONNACK before the CONNECT was seen: wait for it.
                (Parse::Partial, Parse::Ok(_) | Parse::Partial) if input.peer.is_empty() => {
                    Probe::NeedMore
                }
                _ => Probe::NoMatch,
            },
        }
    }
}

enum Parse<T> {
    Ok(T),
    Partial,
    Bad,
}

/// §2.2.3 Remaining Length: (value, header length).
fn remaining_length(d: &[u8]) -> Parse<(usize, usize)> {
    let mut v = 0usize;
    for i in 0..4 {
        let Some(&b) = d.get(1 + i) else {
            return Parse::Partial;
        };
        v |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            // "The Variable Byte Integer is encoded using an encoding
            // scheme which uses a single byte for values up to 127";
            // a non-minimal encoding ends in a zero byte.
            if i > 0 && b == 0 {
                return Parse::Bad;
            }
            return Parse::Ok((v, 2 + i));
        }
    }
    Parse::Bad
}

fn connect(d: &[u8]) -> Parse<String> {
    match d.first() {
        None => return Parse::Partial,
        Some(0x10) => {}
        Some(_) => return Parse::Bad,
    }
    let (rl, hl) = match remaining_length(d) {
        Parse::Ok(x) => x,
        Parse::Partial => return Parse::Partial,
        Parse::Bad => return Parse::Bad,
    };
    // Variable header (10 bytes for "MQTT", 12 for "MQIsdp") and a 2-byte
    // client identifier length.
    const MQTT: &[u8] = b"\x00\x04MQTT";
    const MQISDP: &[u8] = b"\x00\x06MQIsdp";
    let vh = d.get(hl..).unwrap_or(&[]);
    let name = if vh.first() == Some(&0) && vh.get(1) == Some(&6) {
        MQISDP
    } else {
        MQTT
    };
    let n = vh.len().min(name.len());
    if vh.get(..n) != name.get(..n) {
        return Parse::Bad;
    }
    let Some(&level) = vh.get(name.len()) else {
        return Parse::Partial;
    };
    let version = match (name.len(), level) {
        (8, 3) => "3.1",
        (6, 4) => "3.1.1",
        (6, 5) => "5.0",
        _ => return Parse::Bad,
    };
    let Some(fixed) = vh.get(name.len()..name.len() + 6) else {
        return Parse::Partial;
    };
    let flags = fixed[1];
    let will = flags & 0x04 != 0;
    let will_qos = (flags >> 3) & 3;
    if flags & 1 != 0 || will_qos == 3 || (!will && (will_qos != 0 || flags & 0x20 != 0)) {
        return Parse::Bad;
    }
    if rl < name.len() + 6 || rl > 1 << 20 {
        return Parse::Bad;
    }
    // 5.0: Properties (variable byte integer length) precede the payload;
    // only check the client identifier for 3.x.
    let mut detail = String::new();
    if level != 5 {
        let id_len = usize::from(fixed[4]) << 8 | usize::from(fixed[5]);
        if name.len() + 6 + id_len > rl {
            return Parse::Bad;
        }
        let start = hl + name.len() + 6;
        let Some(id) = d.get(start..start + id_len) else {
            return Parse::Partial;
        };
        if id.iter().any(|&b| b < 0x20) {
            return Parse::Bad;
        }
        detail = format!(", client id '{}'", printable(id, 32));
    }
    Parse::Ok(format!("CONNECT MQTT {version}{detail}"))
}

fn connack(d: &[u8]) -> Parse<String> {
    match d.first() {
        None => return Parse::Partial,
        Some(0x20) => {}
        Some(_) => return Parse::Bad,
    }
    let (rl, hl) = match remaining_length(d) {
        Parse::Ok(x) => x,
        Parse::Partial => return Parse::Partial,
        Parse::Bad => return Parse::Bad,
    };
    let (Some(&ack), Some(&rc)) = (d.get(hl), d.get(hl + 1)) else {
        return Parse::Partial;
    };
    // 3.1.1 §3.2.2: "Bits 7-1 are reserved and MUST be set to 0", return
    // codes 0-5; 5.0 reason codes 0x00 or >= 0x80.
    if rl < 2 || ack > 1 || !(rc <= 5 || rc >= 0x80) {
        return Parse::Bad;
    }
    Parse::Ok(format!("CONNACK return code {rc}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use netsift_proto::Direction::{self, ToClient, ToServer};

    // mqtt.pcap: frame 2 (192.168.0.1:41892 -> 10.10.10.1:1883) CONNECT
    // MQIsdp level 3, frame 4 CONNACK; frame 9 (100.67.35.238:35035 ->
    // 51.137.28.239:1883) CONNECT MQTT level 4 (Azure IoT Hub).
    const CONNECT31: &[u8] = include_bytes!("testdata/connect_v31.bin");
    const CONNACK: &[u8] = include_bytes!("testdata/connack.bin");
    const CONNECT311: &[u8] = include_bytes!("testdata/connect_v311.bin");

    fn probe(dir: Direction, data: &[u8], peer: &[u8]) -> Probe {
        run(&Mqtt, Transport::Tcp, dir, data, peer)
    }

    #[test]
    fn real_connects() {
        assert_eq!(
            evidence(probe(ToServer, CONNECT31, &[])),
            "CONNECT MQTT 3.1, client id 'cbaabcbabacbbbbbaaaaab'"
        );
        assert_eq!(
            evidence(probe(ToServer, CONNECT311, &[])),
            "CONNECT MQTT 3.1.1, client id 'P47775ID170W2120'"
        );
        // Reversed flow: the CONNECT seen as ToClient.
        assert!(matches!(probe(ToClient, CONNECT31, &[]), Probe::Match(_)));
        assert!(evidence(probe(ToClient, CONNACK, CONNECT31)).ends_with("CONNACK return code 0"));
        // A lone CONNACK is too little.
        assert_eq!(
            probe(ToClient, CONNACK, b"GET / HTTP/1.1\r\n"),
            Probe::NoMatch
        );
        assert_eq!(probe(ToClient, CONNACK, &[]), Probe::NeedMore);
    }

    #[test]
    fn v5_and_bad_flags() {
        let v5 = b"\x10\x10\x00\x04MQTT\x05\x02\x00\x3c\x00\x00\x03abc";
        assert_eq!(evidence(probe(ToServer, v5, &[])), "CONNECT MQTT 5.0");
        let mut bad = CONNECT311.to_vec();
        bad[hl311() + 7] |= 1; // reserved flag
        assert_eq!(probe(ToServer, &bad, &[]), Probe::NoMatch);
        assert_eq!(
            probe(ToServer, b"\x10\x0c\x00\x04MQTT\x07", &[]),
            Probe::NoMatch
        );
    }

    fn hl311() -> usize {
        match remaining_length(CONNECT311) {
            Parse::Ok((_, h)) => h,
            _ => unreachable!(),
        }
    }

    #[test]
    fn truncation() {
        for d in [CONNECT31, CONNECT311] {
            check_prefixes(&Mqtt, Transport::Tcp, ToServer, d, &[]);
            for n in 0..d.len().min(300) {
                let r = probe(ToServer, &d[..n], &[]);
                assert!(r == Probe::NeedMore || matches!(r, Probe::Match(_)), "{n}");
            }
        }
        check_prefixes(&Mqtt, Transport::Tcp, ToClient, CONNACK, CONNECT31);
    }

    #[test]
    fn other_protocols_and_random() {
        assert_no_claim_on_others(&Mqtt, Transport::Tcp);
        assert_random_rate(&Mqtt, Transport::Tcp);
    }

    #[test]
    fn first_packet_on_a_non_standard_port() {
        match crate::first_packet::identify_first_payload(Transport::Tcp, ToServer, 53, CONNECT311)
        {
            crate::FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "MQTT"),
            other => panic!("{other:?}"),
        }
    }
}
