//! WHOIS (RFC 3912) and the Domain Availability Service (DAS, as run by
//! DNS Belgium and EURid on 4343), over TCP (43, 4343).
//!
//! RFC 3912 §2: "A WHOIS server listens on TCP port 43 for requests from
//! WHOIS clients. The WHOIS client makes a text request to the WHOIS
//! server, then the WHOIS server replies with text content. All requests
//! are terminated with ASCII CR and then ASCII LF. The response might
//! contain more than one line of text". The client sends exactly one line
//! and nothing else; the server answers and closes.
//! DAS: the query is `get 1.0 <domain>` and the answer is
//! `%% RC = <code>` followed by `Domain:` and `Status:` lines.
//!
//! One line of text is too weak on its own: the query must be a single
//! CR LF line of query characters (a name, an address, a handle, with
//! flags) and the answer must carry the markers of whois output: `%`/`#`
//! comment lines, or field labels such as `Domain Name:`, `inetnum:`,
//! `NetRange:`, `refer:`, `Registrar`, or a "No match" / "not found"
//! message.

use netsift_proto::{printable, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Whois-DAS.
pub struct WhoisDas;

const MAX_QUERY: usize = 256;

/// What a `%`/`#` comment-line answer is reported as.
static COMMENT: &[u8] = b"%";

/// Field labels and phrases of whois answers (RIR and registry output).
const MARKERS: &[&[u8]] = &[
    b"Domain Name:",
    b"domain:",
    b"Domain:",
    b"inetnum:",
    b"inet6num:",
    b"NetRange:",
    b"aut-num:",
    b"refer:",
    b"whois:",
    b"Registrar",
    b"Registry Domain ID:",
    b"No match for",
    b"NOT FOUND",
    b"No entries found",
    b"% RC = ",
    b"%% RC = ",
    b"This is the RIPE Database",
    b"% IANA WHOIS server",
];

fn query_ok(q: &[u8]) -> bool {
    !q.is_empty()
        && q.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b" .-_:/=+*@,".contains(&b))
        && q.iter().any(u8::is_ascii_alphanumeric)
}

/// The query line (without CR LF) if the client sent exactly one line.
fn query(c: &[u8]) -> Result<&[u8], bool> {
    let Some(lf) = c.iter().take(MAX_QUERY).position(|&b| b == b'\n') else {
        return Err(c.len() < MAX_QUERY && query_ok(c.strip_suffix(b"\r").unwrap_or(c)));
    };
    let line = c.get(..lf).ok_or(false)?;
    let line = line.strip_suffix(b"\r").ok_or(false)?;
    if lf + 1 != c.len() || !query_ok(line) {
        return Err(false);
    }
    Ok(line)
}

impl Protocol for WhoisDas {
    fn name(&self) -> &'static str {
        "Whois-DAS"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[43, 4343]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let (server, client) = input.server_client();
        if client.is_empty() {
            // The client speaks first.
            return if input.dir == netsift_proto::Direction::ToClient {
                Probe::NoMatch
            } else {
                Probe::NeedMore
            };
        }
        // O(1) reject: a query starts with a name, a number or a flag.
        if !client
            .first()
            .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Probe::NoMatch;
        }
        let q = match query(client) {
            Ok(q) => q,
            Err(true) => return Probe::NeedMore,
            Err(false) => return Probe::NoMatch,
        };
        let das = q.len() > 8 && q.starts_with(b"get 1.0 ");
        if server.is_empty() {
            return Probe::NeedMore;
        }
        let w = server.get(..server.len().min(2048)).unwrap_or(server);
        if !w
            .iter()
            .all(|&b| b >= 0x20 || b == b'\r' || b == b'\n' || b == b'\t')
        {
            return Probe::NoMatch;
        }
        let marker = MARKERS
            .iter()
            .find(|m| w.windows(m.len()).any(|x| x == **m))
            .or_else(|| {
                // Comment lines: "%" or "#" at the start of a line.
                (w.starts_with(b"%") || w.starts_with(b"#") || w.windows(2).any(|x| x == b"\n%"))
                    .then_some(&COMMENT)
            });
        match marker {
            Some(m) => Probe::Match(Match::new(format!(
                "{} query '{}', answer with '{}'",
                if das { "DAS" } else { "whois" },
                printable(q, 60),
                printable(m, 30)
            ))),
            None if server.len() < 2048 => Probe::NeedMore,
            None => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const TCP: Transport = Transport::Tcp;

    /// Query and answer shaped as IANA's whois server sends them.
    const Q: &[u8] = b"example.com\r\n";
    const A: &[u8] = b"% IANA WHOIS server\n% for more information on IANA, visit http://www.iana.org\n% This query returned 1 object\n\nrefer:        whois.verisign-grs.com\n\ndomain:       COM\n";
    /// DAS query and answer (DNS Belgium's documented format).
    const DQ: &[u8] = b"get 1.0 example.be\r\n";
    const DA: &[u8] = b"%% RC = 0\n\nDomain: example.be\nStatus: NOT AVAILABLE\n";

    #[test]
    fn query_and_answer() {
        assert_eq!(probe1(&WhoisDas, TCP, C, Q), Probe::NeedMore);
        assert_eq!(
            evidence(probe_at(&WhoisDas, TCP, S, A, Q, 0)),
            "whois query 'example.com', answer with 'domain:'"
        );
        assert_eq!(
            evidence(probe_at(&WhoisDas, TCP, S, DA, DQ, 0)),
            "DAS query 'get 1.0 example.be', answer with 'Domain:'"
        );
        check_prefixes(&WhoisDas, TCP, S, A, Q);
    }

    #[test]
    fn not_whois() {
        // Two lines from the client (an HTTP request), a binary answer.
        assert_eq!(
            probe_at(
                &WhoisDas,
                TCP,
                S,
                A,
                b"GET / HTTP/1.0\r\nHost: x\r\n\r\n",
                0
            ),
            Probe::NoMatch
        );
        assert_eq!(
            probe_at(&WhoisDas, TCP, S, b"\x00\x01\x02", Q, 0),
            Probe::NoMatch
        );
        assert_eq!(
            probe_at(&WhoisDas, TCP, S, b"+OK POP3 ready\r\n", b"QUIT\r\n", 0),
            Probe::NeedMore
        );
    }

    #[test]
    fn random_foreign() {
        assert_random_flows_rejected(&WhoisDas, TCP, 43);
        foreign_never_match(&WhoisDas, TCP);
        assert_foreign_rejected(&WhoisDas, "whois");
    }
}
