//! Telnet, identified from option negotiation at the start of a direction
//! (RFC 854 "TELNET COMMAND STRUCTURE", RFC 855 option negotiation).
//!
//! RFC 854: "All TELNET commands consist of at least a two byte sequence:
//! the 'Interpret as Command' (IAC) escape character followed by the code
//! for the command. The commands dealing with option negotiation are three
//! byte sequences, the third byte being the code for the option
//! referenced." Codes: SE 240, NOP 241, Data Mark 242, Break 243, IP 244,
//! AO 245, AYT 246, EC 247, EL 248, GA 249, SB 250, WILL 251, WON'T 252,
//! DO 253, DON'T 254, IAC 255. RFC 855: "IAC SB <option code> <parameters>
//! IAC SE".
//!
//! A match needs two well-formed commands, or one negotiation of an option
//! from the IANA Telnet option registry that makes up the whole segment
//! (or is followed by text), so random bytes beginning with 0xFF are not
//! claimed.

use netsift_proto::{Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Telnet.
pub struct Telnet;

const IAC: u8 = 255;
const SB: u8 = 250;
const SE: u8 = 240;

/// Longest subnegotiation looked at.
const MAX_SB: usize = 512;
/// Commands walked at most.
const MAX_COMMANDS: usize = 32;

impl Protocol for Telnet {
    fn name(&self) -> &'static str {
        "Telnet"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[23]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let d = input.data;
        match d.first() {
            None => return Probe::NeedMore,
            Some(&IAC) => {}
            Some(_) => return Probe::NoMatch,
        }
        let mut p = 0;
        let mut count = 0;
        let mut first: Option<(u8, u8)> = None;
        let mut known = false;
        let mut cut = false;
        while count < MAX_COMMANDS && d.get(p) == Some(&IAC) {
            let Some(&cmd) = d.get(p + 1) else {
                cut = true;
                break;
            };
            match cmd {
                // WILL, WON'T, DO, DON'T <option>.
                251..=254 => {
                    let Some(&opt) = d.get(p + 2) else {
                        cut = true;
                        break;
                    };
                    known |= known_option(opt);
                    first.get_or_insert((cmd, opt));
                    p += 3;
                }
                // IAC SB <option> <parameters> IAC SE; IAC IAC inside is a
                // data byte 255.
                SB => {
                    let Some(&opt) = d.get(p + 2) else {
                        cut = true;
                        break;
                    };
                    let mut q = p + 3;
                    let end = loop {
                        if q - p > MAX_SB {
                            return Probe::NoMatch;
                        }
                        match (d.get(q), d.get(q + 1)) {
                            (Some(&IAC), Some(&SE)) => break Some(q + 2),
                            (Some(&IAC), Some(&IAC)) => q += 2,
                            (Some(&IAC), Some(_)) => return Probe::NoMatch,
                            (Some(_), _) => q += 1,
                            (None, _) => break None,
                        }
                    };
                    let Some(end) = end else {
                        cut = true;
                        break;
                    };
                    known |= known_option(opt);
                    first.get_or_insert((cmd, opt));
                    p = end;
                }
                // NOP, Data Mark, Break, IP, AO, AYT, EC, EL, GA.
                241..=249 => {
                    first.get_or_insert((cmd, 0));
                    p += 2;
                }
                _ => return Probe::NoMatch,
            }
            count += 1;
        }
        let rest = d.get(p..).unwrap_or(&[]);
        let text_after = !rest.is_empty()
            && rest
                .iter()
                .take(64)
                .all(|&b| (0x20..0x7f).contains(&b) || b == b'\r' || b == b'\n');
        let ok = count >= 2 || (count == 1 && known && (rest.is_empty() || text_after));
        if ok {
            let (cmd, opt) = first.unwrap_or((0, 0));
            let who = match input.dir {
                Direction::ToServer => "client sent",
                Direction::ToClient => "server sent",
            };
            let what = match cmd {
                251 => "WILL",
                252 => "WONT",
                253 => "DO",
                254 => "DONT",
                250 => "SB",
                _ => "command",
            };
            let opt_name = if cmd >= 250 { option_name(opt) } else { "" };
            return Probe::Match(Match::new(format!(
                "{who} {count} IAC command{}, first IAC {what} {opt}{}{}",
                if count == 1 { "" } else { "s" },
                if opt_name.is_empty() { "" } else { " " },
                opt_name,
            )));
        }
        if cut || (rest.is_empty() && count < 2) {
            return Probe::NeedMore;
        }
        Probe::NoMatch
    }
}

/// Options of the IANA "Telnet Options" registry (0-49, 138-140, 255).
fn known_option(o: u8) -> bool {
    o <= 49 || (138..=140).contains(&o) || o == 255
}

fn option_name(o: u8) -> &'static str {
    match o {
        0 => "(BINARY)",
        1 => "(ECHO)",
        3 => "(SUPPRESS-GO-AHEAD)",
        5 => "(STATUS)",
        24 => "(TERMINAL-TYPE)",
        31 => "(NAWS)",
        32 => "(TERMINAL-SPEED)",
        33 => "(TOGGLE-FLOW-CONTROL)",
        34 => "(LINEMODE)",
        35 => "(X-DISPLAY-LOCATION)",
        36 => "(ENVIRON)",
        37 => "(AUTHENTICATION)",
        38 => "(ENCRYPT)",
        39 => "(NEW-ENVIRON)",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::first_packet::{identify_first_payload, FirstVerdict};
    use crate::testkit::{check_prefixes, evidence, probe1 as run, random_matches};
    use netsift_proto::printable;

    const TCP: Transport = Transport::Tcp;
    const C: Direction = Direction::ToServer;
    const S: Direction = Direction::ToClient;

    // Sources: testdata/README.md.
    const CLIENT_OPTS: &[u8] = include_bytes!("testdata/client_opts.bin");
    const SERVER_DO: &[u8] = include_bytes!("testdata/server_do.bin");
    const SERVER_OPTS: &[u8] = include_bytes!("testdata/server_opts.bin");
    const TLS_CH: &[u8] = include_bytes!("../tls/testdata/ch_tls12.bin");
    const HTTP_GET: &[u8] = include_bytes!("../http/testdata/get.bin");
    const RDP_CR: &[u8] = include_bytes!("../rdp/testdata/x224_cr_cookie.bin");

    #[test]
    fn negotiation() {
        let e = evidence(run(&Telnet, TCP, C, CLIENT_OPTS));
        assert_eq!(
            e,
            "client sent 9 IAC commands, first IAC DO 3 (SUPPRESS-GO-AHEAD)"
        );
        let e = evidence(run(&Telnet, TCP, S, SERVER_DO));
        assert_eq!(
            e,
            "server sent 1 IAC command, first IAC DO 37 (AUTHENTICATION)"
        );
        // WILL/DO list ending in a subnegotiation.
        let e = evidence(run(&Telnet, TCP, S, SERVER_OPTS));
        assert!(e.starts_with("server sent 7 IAC commands"), "{e}");
    }

    #[test]
    fn non_telnet() {
        for d in [TLS_CH, HTTP_GET, RDP_CR] {
            assert_eq!(
                run(&Telnet, TCP, C, d),
                Probe::NoMatch,
                "{}",
                printable(d, 20)
            );
        }
        // One command on an unassigned option followed by binary.
        assert_eq!(
            run(&Telnet, TCP, C, b"\xff\xfb\x99\x00\x01"),
            Probe::NoMatch
        );
        assert_eq!(run(&Telnet, TCP, C, b"\xff\x00\x01"), Probe::NoMatch);
        assert_eq!(run(&Telnet, TCP, C, b"\xff\xfb\x99"), Probe::NeedMore);
    }

    #[test]
    fn prefixes_are_consistent() {
        check_prefixes(&Telnet, TCP, C, CLIENT_OPTS, b"");
        check_prefixes(&Telnet, TCP, S, SERVER_DO, b"");
        check_prefixes(&Telnet, TCP, S, SERVER_OPTS, b"");
    }

    #[test]
    fn first_packet_api_on_odd_port() {
        match identify_first_payload(TCP, C, 2323, CLIENT_OPTS) {
            FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "Telnet"),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn random_bytes_are_rarely_telnet() {
        let hits = random_matches(&Telnet, TCP, 100_000, 0x23, None);
        assert!(hits < 100, "{hits} random matches");
    }
}
