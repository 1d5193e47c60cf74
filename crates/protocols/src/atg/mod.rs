//! ATG: the serial command interface of automatic tank gauges (Veeder-Root
//! TLS-3xx/4xx "Serial Interface Manual"), which many gauges expose raw on
//! TCP (port 10001 by convention) -- and which scanners of exposed
//! industrial devices probe for.
//!
//! A command is `<SOH>` followed by a function code: one letter (`I`
//! inquiry, `S` set-up; lower case asks for the "computer format" answer),
//! a three-digit function number and a two-digit tank or sensor number
//! (`00` = all), e.g. `\x01I20100` "in-tank inventory, all tanks", then an
//! optional CR LF. The display-format answer echoes the function code on
//! its own line after a line feed (`\nI20100\n08/19/2024 02:52\n...`); an
//! unknown function is answered `9999FF1B`.

use netsift_proto::{
    printable, Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// ATG.
pub struct Atg;

const SOH: u8 = 0x01;

/// `[IiSs]` + 5 digits at `d[at..]`: `Some(true)` present, `Some(false)`
/// impossible, `None` too short to tell.
fn function_code(d: &[u8], at: usize) -> Option<bool> {
    for i in 0..6 {
        let &b = d.get(at + i)?;
        let ok = match i {
            0 => matches!(b, b'I' | b'i' | b'S' | b's'),
            _ => b.is_ascii_digit(),
        };
        if !ok {
            return Some(false);
        }
    }
    Some(true)
}

impl Protocol for Atg {
    fn name(&self) -> &'static str {
        "ATG"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[10001]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let Some(&b0) = d.first() else {
            return Probe::NeedMore;
        };
        match input.dir {
            Direction::ToServer => {
                if b0 != SOH {
                    return Probe::NoMatch;
                }
                match function_code(d, 1) {
                    Some(true) => Probe::Match(Match::new(format!(
                        "client sent tank gauge command '{}'",
                        printable(&d[1..7], 6)
                    ))),
                    Some(false) => Probe::NoMatch,
                    None => Probe::NeedMore,
                }
            }
            // Display format: LF, the echoed function code, LF. (A server
            // answering an unknown code with "9999FF1B" is only recognised
            // with the client's command.)
            Direction::ToClient => {
                if b0 != b'\n' && !(b0 == SOH && d.get(1).is_none_or(|&b| b == b'\r' || b == b'\n'))
                {
                    return Probe::NoMatch;
                }
                let at = if b0 == SOH {
                    2 + usize::from(d.get(1) == Some(&b'\r'))
                } else {
                    1
                };
                match function_code(d, at) {
                    Some(true) => match d.get(at + 6) {
                        Some(b'\r' | b'\n') => Probe::Match(Match::new(format!(
                            "server answered tank gauge function '{}'",
                            printable(&d[at..at + 6], 6)
                        ))),
                        Some(_) => Probe::NoMatch,
                        None => Probe::NeedMore,
                    },
                    Some(false) => Probe::NoMatch,
                    None => Probe::NeedMore,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const REQ: &[u8] = include_bytes!("testdata/i20100_request.bin");
    const REPLY: &[u8] = include_bytes!("testdata/i20100_reply.bin");
    const ERR: &[u8] = include_bytes!("testdata/error_reply.bin");

    #[test]
    fn commands_and_answers() {
        assert_eq!(
            evidence(probe1(&Atg, TCP, C, REQ)),
            "client sent tank gauge command 'I20100'"
        );
        assert_eq!(
            evidence(probe1(&Atg, TCP, S, REPLY)),
            "server answered tank gauge function 'I20100'"
        );
        // Computer format (lower case) and a set-up command.
        assert!(is_match(&probe1(&Atg, TCP, C, b"\x01i20100")));
        assert!(is_match(&probe1(&Atg, TCP, C, b"\x01S60201\r\n")));
        // The error answer alone says nothing.
        assert_eq!(probe1(&Atg, TCP, S, ERR), Probe::NoMatch);
    }

    #[test]
    fn near_misses() {
        assert_eq!(probe1(&Atg, TCP, C, b"\x01X20100\r\n"), Probe::NoMatch);
        assert_eq!(probe1(&Atg, TCP, C, b"\x01I2a100\r\n"), Probe::NoMatch);
        assert_eq!(probe1(&Atg, TCP, C, b"I20100\r\n"), Probe::NoMatch);
        assert_eq!(probe1(&Atg, TCP, S, b"\nI20100 x"), Probe::NoMatch);
        assert_eq!(probe1(&Atg, TCP, C, b"\x01I201"), Probe::NeedMore);
    }

    #[test]
    fn prefixes_random_and_foreign() {
        check_prefixes(&Atg, TCP, C, REQ, b"");
        check_prefixes(&Atg, TCP, S, REPLY, REQ);
        assert_random_flows_rejected(&Atg, TCP, 10001);
        foreign_never_match(&Atg, TCP);
    }
}
