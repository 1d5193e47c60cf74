//! AJP13, the Apache JServ Protocol version 1.3 (Apache Tomcat connector
//! documentation, "AJPv13"), over TCP (8009).
//!
//! "Packets sent from the server to the container begin with 0x1234.
//! Packets sent from the container to the server begin with AB (that is,
//! the ASCII code for A followed by the ASCII code for B). After those
//! first two bytes, there is an integer (encoded as above) with the length
//! of the payload." The payload's first octet is the message type:
//! * to the container: 2 Forward Request, 7 Shutdown, 8 Ping, 10 CPing;
//!   request body chunks carry no type, only a 16-bit data length (the
//!   packet length minus 2);
//! * to the web server: 3 Send Body Chunk, 4 Send Headers, 5 End Response,
//!   6 Get Body Chunk, 9 CPong Reply.
//!
//! "The maximum packet size is 8 * 1024 bytes" (configurable up to 65536
//! via packetSize). Forward Request: method code (1..=27 in the spec's
//! table, 0xff for others), then `protocol` as a string (16-bit length,
//! bytes, NUL), e.g. `HTTP/1.1`.

use netsift_proto::bytes::{be16, u8_at};
use netsift_proto::{printable, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// AJP.
pub struct Ajp;

impl Protocol for Ajp {
    fn name(&self) -> &'static str {
        "AJP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[8009]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let d = input.data;
        let magic: &[u8] = match d.first() {
            None => return Probe::NeedMore,
            Some(0x12) => &[0x12, 0x34],
            Some(b'A') => b"AB",
            Some(_) => return Probe::NoMatch,
        };
        match d.get(1) {
            None => return Probe::NeedMore,
            Some(b) if *b != magic[1] => return Probe::NoMatch,
            _ => {}
        }
        let Some(len) = be16(d, 2) else {
            return Probe::NeedMore;
        };
        let len = usize::from(len);
        if len == 0 {
            return Probe::NoMatch;
        }
        let Some(ty) = u8_at(d, 4) else {
            return Probe::NeedMore;
        };
        let to_container = magic[0] == 0x12;
        // Small packets (CPing, CPong, End Response ...) are whole once
        // their header is; longer ones match on their checked fields
        // before the rest of the packet arrives.
        let ev = if to_container {
            match (ty, len) {
                (10, 1) => "AJP13 CPing".to_owned(),
                (8, 1) => "AJP13 Ping".to_owned(),
                (7, 1) => "AJP13 Shutdown".to_owned(),
                (2, _) => {
                    // method, protocol string.
                    let Some(m) = u8_at(d, 5) else {
                        return Probe::NeedMore;
                    };
                    if !((1..=27).contains(&m) || m == 0xff) {
                        return Probe::NoMatch;
                    }
                    let Some(pl) = be16(d, 6) else {
                        return Probe::NeedMore;
                    };
                    let pl = usize::from(pl);
                    if !(1..=16).contains(&pl) || len < 4 + pl + 1 {
                        return Probe::NoMatch;
                    }
                    let Some(p) = d.get(8..8 + pl + 1) else {
                        return Probe::NeedMore;
                    };
                    if !p.starts_with(b"HTTP/") || p.last() != Some(&0) {
                        return Probe::NoMatch;
                    }
                    format!(
                        "AJP13 Forward Request, method code {m}, {}",
                        printable(&p[..pl], 16)
                    )
                }
                // A request body chunk: a data length of len - 2.
                _ if len < 3 => return Probe::NoMatch,
                _ => match be16(d, 4) {
                    Some(n) if usize::from(n) + 2 == len && n > 0 => {
                        format!("AJP13 request body chunk of {n} octets")
                    }
                    Some(_) => return Probe::NoMatch,
                    None => return Probe::NeedMore,
                },
            }
        } else {
            match (ty, len) {
                (9, 1) => "AJP13 CPong Reply".to_owned(),
                // reuse: 0 or 1.
                (5, 2) => match u8_at(d, 5) {
                    Some(0 | 1) => "AJP13 End Response".to_owned(),
                    Some(_) => return Probe::NoMatch,
                    None => return Probe::NeedMore,
                },
                (6, 3) => "AJP13 Get Body Chunk".to_owned(),
                (4, _) => match be16(d, 5) {
                    Some(s) if (100..=599).contains(&s) && len >= 7 => {
                        format!("AJP13 Send Headers, status {s}")
                    }
                    Some(_) => return Probe::NoMatch,
                    None => return Probe::NeedMore,
                },
                // chunk length, chunk, NUL: len = 3 + n + 1.
                (3, _) => match be16(d, 5) {
                    Some(n) if usize::from(n) + 4 == len => {
                        format!("AJP13 Send Body Chunk of {n} octets")
                    }
                    Some(_) => return Probe::NoMatch,
                    None => return Probe::NeedMore,
                },
                _ => return Probe::NoMatch,
            }
        };
        Probe::Match(Match::new(ev))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const CPING: &[u8] = include_bytes!("testdata/cping.bin");
    const CPONG: &[u8] = include_bytes!("testdata/cpong.bin");
    const FWD: &[u8] = include_bytes!("testdata/forward_request.bin");
    const BODY: &[u8] = include_bytes!("testdata/body_chunk.bin");
    const HEADERS: &[u8] = include_bytes!("testdata/send_headers.bin");

    #[test]
    fn packets() {
        assert_eq!(evidence(probe1(&Ajp, TCP, C, CPING)), "AJP13 CPing");
        assert_eq!(evidence(probe1(&Ajp, TCP, S, CPONG)), "AJP13 CPong Reply");
        assert_eq!(
            evidence(probe1(&Ajp, TCP, C, FWD)),
            "AJP13 Forward Request, method code 4, HTTP/1.1"
        );
        assert_eq!(
            evidence(probe1(&Ajp, TCP, C, BODY)),
            "AJP13 request body chunk of 219 octets"
        );
        assert_eq!(
            evidence(probe1(&Ajp, TCP, S, HEADERS)),
            "AJP13 Send Headers, status 302"
        );
        assert_eq!(
            evidence(probe1(&Ajp, TCP, S, b"AB\x00\x02\x05\x01")),
            "AJP13 End Response"
        );
    }

    #[test]
    fn look_alikes() {
        assert_eq!(probe1(&Ajp, TCP, S, b"ABCD efgh\r\n"), Probe::NoMatch);
        assert_eq!(
            probe1(&Ajp, TCP, C, b"\x12\x34\x00\x01\x0b"),
            Probe::NoMatch
        );
    }

    #[test]
    fn prefixes_random_foreign() {
        check_prefixes(&Ajp, TCP, C, FWD, b"");
        check_prefixes(&Ajp, TCP, S, HEADERS, b"");
        assert_random_flows_rejected(&Ajp, TCP, 8009);
        foreign_never_match(&Ajp, TCP);
        assert_foreign_rejected(&Ajp, "ajp");
    }
}
