//! Modbus/TCP, identified from the MBAP header of a request and of the
//! response that echoes it.
//!
//! "MODBUS Messaging on TCP/IP Implementation Guide V1.0b" §3.1.3, MBAP
//! header (7 bytes):
//!   Transaction Identifier (2) "Identification of a MODBUS Request /
//!   Response transaction" — "The server ... copies in the response the
//!   transaction identifier of the request";
//!   Protocol Identifier (2) "0 = MODBUS protocol";
//!   Length (2) "Number of following bytes" (Unit Identifier + PDU);
//!   Unit Identifier (1).
//! "MODBUS Application Protocol Specification V1.1b3" §4.1: "the MODBUS
//! PDU for serial line communication = 256 - Server address (1 byte) -
//! CRC (2 bytes) = 253 bytes", so Length is 2..=254; §6 lists the public
//! function codes; §7: an exception response has "function code + 0x80"
//! and a one-byte exception code.
//!
//! A 7-byte header is a weak signature, so a flow is only claimed when
//! the other side agrees (a response echoing the transaction id, unit and
//! function of the request) or when two well-formed requests follow each
//! other in one direction.

use netsift_proto::{Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Modbus.
pub struct Modbus;

const MBAP: usize = 7;

impl Protocol for Modbus {
    fn name(&self) -> &'static str {
        "Modbus"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[502]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let is_req = input.dir == Direction::ToServer;
        let first = match adu(input.data, is_req) {
            Parse::Bad => return Probe::NoMatch,
            Parse::Short => return Probe::NeedMore,
            Parse::Ok(a) => a,
        };
        // The other side's first ADU, if it is there.
        if let Parse::Ok(p) = adu(input.peer, !is_req) {
            let (req, resp) = if is_req { (first, p) } else { (p, first) };
            let echoed = req.tid == resp.tid
                && req.unit == resp.unit
                && (resp.fc == req.fc || resp.fc == req.fc | 0x80);
            if !echoed {
                return Probe::NoMatch;
            }
            return Probe::Match(Match::new(format!(
                "Modbus/TCP function {} ({}) to unit {}, response echoes transaction id {}",
                req.fc,
                fc_name(req.fc),
                req.unit,
                req.tid
            )));
        }
        if !input.peer.is_empty() && !matches!(adu(input.peer, !is_req), Parse::Short) {
            return Probe::NoMatch;
        }
        // One side only: a second ADU right behind the first.
        match adu(input.data.get(first.total..).unwrap_or(&[]), is_req) {
            Parse::Bad => Probe::NoMatch,
            Parse::Short => Probe::NeedMore,
            Parse::Ok(second) => {
                if second.unit != first.unit || second.tid == first.tid {
                    return Probe::NoMatch;
                }
                Probe::Match(Match::new(format!(
                    "two Modbus/TCP {} to unit {} (transaction ids {} and {})",
                    if is_req { "requests" } else { "responses" },
                    first.unit,
                    first.tid,
                    second.tid
                )))
            }
        }
    }
}

#[derive(Clone, Copy)]
struct Adu {
    tid: u16,
    unit: u8,
    fc: u8,
    total: usize,
}

enum Parse {
    Ok(Adu),
    Short,
    Bad,
}

/// Public function codes (Application Protocol Specification §5.1, §6)
/// and the user-defined ranges 65-72 and 100-110 (§5.1: "User Defined
/// Function Codes").
fn fc_known(fc: u8) -> bool {
    matches!(
        fc,
        1..=8 | 11 | 12 | 15..=17 | 20..=24 | 43 | 65..=72 | 100..=110
    )
}

fn fc_name(fc: u8) -> &'static str {
    match fc {
        1 => "Read Coils",
        2 => "Read Discrete Inputs",
        3 => "Read Holding Registers",
        4 => "Read Input Registers",
        5 => "Write Single Coil",
        6 => "Write Single Register",
        15 => "Write Multiple Coils",
        16 => "Write Multiple Registers",
        23 => "Read/Write Multiple Registers",
        43 => "Encapsulated Interface Transport",
        _ => "other",
    }
}

/// One ADU at the start of `d`: the MBAP header and a PDU whose length
/// fits the function code where the specification fixes it.
fn adu(d: &[u8], is_req: bool) -> Parse {
    // Check what is there of the header before asking for more.
    if let Some(pid) = d.get(2..4) {
        if pid != [0, 0] {
            return Parse::Bad;
        }
    } else if d.get(2).is_some_and(|&b| b != 0) {
        return Parse::Bad;
    }
    if let Some(l) = d.get(4..6) {
        let len = usize::from(u16::from_be_bytes([l[0], l[1]]));
        if !(2..=254).contains(&len) {
            return Parse::Bad;
        }
    } else if d.get(4).is_some_and(|&b| b != 0) {
        return Parse::Bad;
    }
    if let Some(&fc) = d.get(MBAP) {
        let base = fc & 0x7f;
        if !fc_known(base) || (is_req && fc & 0x80 != 0) {
            return Parse::Bad;
        }
    }
    if d.len() < MBAP + 1 {
        return Parse::Short;
    }
    let tid = u16::from_be_bytes([d[0], d[1]]);
    let len = usize::from(u16::from_be_bytes([d[4], d[5]]));
    let unit = d[6];
    let fc = d[7];
    let total = 6 + len;
    let Some(pdu) = d.get(MBAP..total) else {
        return Parse::Short;
    };
    let n = pdu.len();
    let fits = if fc & 0x80 != 0 {
        // §7: exception response = function code + 0x80, exception code;
        // codes 01-0B are defined.
        n == 2 && (1..=0x0b).contains(&pdu[1])
    } else {
        match (fc, is_req) {
            // §6.1-6.4: starting address (2) + quantity (2).
            (1..=4, true) => n == 5,
            // Byte count + that many bytes.
            (1..=4, false) => n >= 2 && usize::from(pdu[1]) == n - 2,
            // §6.5, §6.6: address (2) + value (2), echoed.
            (5 | 6, _) => n == 5,
            // §6.11, §6.12: address, quantity, byte count, values.
            (15 | 16, true) => n >= 6 && usize::from(pdu[5]) == n - 6,
            (15 | 16, false) => n == 5,
            _ => n >= 1,
        }
    };
    if !fits {
        return Parse::Bad;
    }
    Parse::Ok(Adu {
        tid,
        unit,
        fc,
        total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::first_packet::{identify_first_payload, FirstVerdict};
    use crate::testkit::{
        check_prefixes, evidence, foreign_never_match, random_matches, run, C, S,
    };

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const REQ: &[u8] = include_bytes!("testdata/req_read_holding.bin");
    const RESP: &[u8] = include_bytes!("testdata/resp_read_holding.bin");
    const REQ2: &[u8] = include_bytes!("testdata/req2.bin");
    const PM_REQ: &[u8] = include_bytes!("testdata/pymodbus_req.bin");
    const PM_RESP: &[u8] = include_bytes!("testdata/pymodbus_resp.bin");

    #[test]
    fn request_and_echoing_response() {
        let want = "Modbus/TCP function 3 (Read Holding Registers) to unit 1, \
                    response echoes transaction id 209";
        assert_eq!(evidence(run(&Modbus, TCP, S, RESP, REQ)), want);
        assert_eq!(evidence(run(&Modbus, TCP, C, REQ, RESP)), want);
        assert!(matches!(
            run(&Modbus, TCP, S, PM_RESP, PM_REQ),
            Probe::Match(_)
        ));
        // A request alone waits for the response.
        assert_eq!(run(&Modbus, TCP, C, REQ, b""), Probe::NeedMore);
    }

    #[test]
    fn two_requests_in_a_row() {
        let e = evidence(run(&Modbus, TCP, C, &[REQ, REQ2].concat(), b""));
        assert_eq!(
            e,
            "two Modbus/TCP requests to unit 1 (transaction ids 209 and 210)"
        );
    }

    #[test]
    fn mismatches() {
        // The response to another transaction.
        assert_eq!(run(&Modbus, TCP, S, RESP, REQ2), Probe::NoMatch);
        // An exception response echoes the request.
        let exc = [0x00, 0xd1, 0, 0, 0, 3, 1, 0x83, 0x02];
        assert!(matches!(run(&Modbus, TCP, S, &exc, REQ), Probe::Match(_)));
        let bad_exc = [0x00, 0xd1, 0, 0, 0, 3, 1, 0x83, 0x22];
        assert_eq!(run(&Modbus, TCP, S, &bad_exc, REQ), Probe::NoMatch);
        // Wrong length field, protocol id 1.
        let mut r = REQ.to_vec();
        r[5] = 7;
        assert_eq!(
            run(&Modbus, TCP, C, &[&r[..], &[0]].concat(), RESP),
            Probe::NoMatch
        );
        let mut r = REQ.to_vec();
        r[3] = 1;
        assert_eq!(run(&Modbus, TCP, C, &r, RESP), Probe::NoMatch);
        foreign_never_match(&Modbus, TCP);
    }

    #[test]
    fn prefixes_are_consistent() {
        check_prefixes(&Modbus, TCP, S, RESP, REQ);
        check_prefixes(&Modbus, TCP, C, REQ, RESP);
        check_prefixes(&Modbus, TCP, C, &[REQ, REQ2].concat(), b"");
    }

    #[test]
    fn first_packet_api_waits() {
        match identify_first_payload(TCP, C, 80, REQ) {
            FirstVerdict::NeedMore { candidates } => assert!(candidates.contains(&"Modbus")),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn random_bytes_are_not_modbus() {
        let hits = random_matches(&Modbus, TCP, 100_000, 0x502, None);
        assert!(hits < 100, "{hits} random matches");
        // Random responses to a real request, random requests to a real
        // response.
        let hits = random_matches(&Modbus, TCP, 100_000, 0x503, Some(REQ));
        assert!(hits < 100, "{hits} random matches with a real peer");
    }
}
