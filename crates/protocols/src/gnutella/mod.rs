//! Gnutella handshake, TCP (Gnutella Protocol Specification v0.6, RFC-Gnutella
//! draft, §2.2 "Connecting to servents"; v0.4 in "The Gnutella Protocol
//! Specification v0.4").
//!
//! v0.6: the client sends `GNUTELLA CONNECT/0.6<CR><LF>` then headers; the
//! server answers `GNUTELLA/0.6 200 <string><CR><LF>`. v0.4: the client
//! sends `GNUTELLA CONNECT/0.4<LF><LF>`, the server `GNUTELLA OK<LF><LF>`.
//! The same request line opens every later version (`/0.x`).

use netsift_proto::{
    printable, text_line, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// Gnutella.
pub struct Gnutella;

const OPENINGS: [(&[u8], &str); 3] = [
    (b"GNUTELLA CONNECT/", "connect request"),
    (b"GNUTELLA/", "handshake response"),
    (b"GNUTELLA OK", "v0.4 handshake response"),
];

impl Protocol for Gnutella {
    fn name(&self) -> &'static str {
        "Gnutella"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[6346]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let d = input.data;
        let mut more = false;
        for (p, what) in OPENINGS {
            let n = d.len().min(p.len());
            if d.get(..n) != p.get(..n) {
                continue;
            }
            if n < p.len() {
                more = true;
                continue;
            }
            match text_line(d, 128) {
                Err(true) => more = true,
                Err(false) => {}
                Ok(l) => {
                    // "CONNECT/0.6" and "GNUTELLA/0.6 200": a version digit.
                    let ok = match what {
                        "v0.4 handshake response" => l == b"GNUTELLA OK",
                        _ => l.get(p.len()).is_some_and(u8::is_ascii_digit),
                    };
                    if ok {
                        return Probe::Match(Match::new(format!(
                            "Gnutella {what} '{}'",
                            printable(l, 40)
                        )));
                    }
                }
            }
        }
        if more {
            Probe::NeedMore
        } else {
            Probe::NoMatch
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    #[test]
    fn handshakes() {
        let c = b"GNUTELLA CONNECT/0.6\r\nUser-Agent: gtk-gnutella/1.2.2\r\n\r\n";
        assert_eq!(
            evidence(probe1(&Gnutella, Transport::Tcp, C, c)),
            "Gnutella connect request 'GNUTELLA CONNECT/0.6'"
        );
        let s = b"GNUTELLA/0.6 200 OK\r\n\r\n";
        assert!(evidence(probe1(&Gnutella, Transport::Tcp, S, s)).contains("200 OK"));
        let old = b"GNUTELLA OK\n\n";
        assert!(is_match(&probe1(&Gnutella, Transport::Tcp, S, old)));
        check_prefixes(&Gnutella, Transport::Tcp, C, c, &[]);
        check_prefixes(&Gnutella, Transport::Tcp, S, s, c);
    }

    /// nDPI's corpus labels two flows of `ossfuzz_seed_fake_traces_1.pcapng`
    /// (TCP to 1.2.3.4:10 and :11) Gnutella. They are fuzzer-made: a single
    /// 0x00 byte, then a TLS ClientHello offering one anonymous DH suite.
    /// Nothing in the bytes is Gnutella, so netsift leaves them alone.
    #[test]
    fn ndpi_fake_trace_is_not_gnutella() {
        let hello = [
            0x16, 0x03, 0x01, 0x00, 0x4d, 0x01, 0x00, 0x00, 0x49, 0x03, 0x00,
        ];
        assert_eq!(
            probe1(&Gnutella, Transport::Tcp, C, &[0x00]),
            Probe::NoMatch
        );
        assert_eq!(probe1(&Gnutella, Transport::Tcp, C, &hello), Probe::NoMatch);
    }

    #[test]
    fn random_and_foreign() {
        assert_random_flows_rejected(&Gnutella, Transport::Tcp, 6346);
        foreign_never_match(&Gnutella, Transport::Tcp);
    }
}
