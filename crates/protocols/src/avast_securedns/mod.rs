//! AVASTSecureDNS: Avast's DNSCrypt service (observed protocol; DNSCrypt
//! v2 itself is specified at <https://dnscrypt.info/protocol>).
//!
//! A DNSCrypt client starts by fetching the resolver's certificate with a
//! plain DNS query of type TXT for the provider name (DNSCrypt protocol
//! §"Certificates": "the client sends a normal DNS query ... TXT record for
//! <provider name>"); the answer's TXT data starts with the certificate
//! magic `DNSC`. Avast SecureLine's resolvers (observed in nDPI's
//! avast_securedns.pcapng, UDP port 443) use the provider name
//! `2.SecureDNS.Avast.com` with random 0x20 letter case.
//!
//! **What makes this Avast and not generic DNSCrypt:** only the provider
//! name in the question section, `2.securedns.avast.com` (compared
//! case-insensitively, label by label). The `DNSC` certificate magic and the
//! `2.dnscrypt-cert.` naming convention are generic DNSCrypt and are left
//! to a DNSCrypt probe; a query for another provider is never claimed here,
//! and a generic probe that keys on `DNSC` or `dnscrypt-cert` would not
//! see this name as its own. This probe runs before DNS in `ALL` (DNS would
//! otherwise name the exchange plain DNS).
//!
//! Over UDP the message is a bare DNS message (RFC 1035 §4.1); over TCP it
//! carries the 2-byte length prefix (RFC 1035 §4.2.2).

use netsift_proto::bytes::{be16, u8_at};
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// AVASTSecureDNS.
pub struct AvastSecureDns;

/// The question name in wire format (RFC 1035 §3.1: length-prefixed
/// labels, a zero-length root label last).
const QNAME: &[u8] = b"\x012\x09securedns\x05avast\x03com\x00";

/// RFC 1035 §4.1.1: the header is 12 octets; QDCOUNT at offset 4.
const HEADER: usize = 12;

/// RFC 1035 §3.2.2: TYPE TXT = 16.
const TXT: u16 = 16;

/// Check one DNS message: `Some(true)` Avast question, `Some(false)` not,
/// `None` too short to say.
fn check(msg: &[u8]) -> Option<Result<bool, ()>> {
    // QDCOUNT = 1 (a DNSCrypt certificate fetch asks one question).
    let qd = be16(msg, 4)?;
    if qd != 1 {
        return Some(Err(()));
    }
    // Opcode QUERY (bits 1-4 of byte 2) = 0.
    if u8_at(msg, 2)? & 0x78 != 0 {
        return Some(Err(()));
    }
    let q = msg.get(HEADER..).unwrap_or(&[]);
    let n = q.len().min(QNAME.len());
    if !q[..n].eq_ignore_ascii_case(&QNAME[..n]) {
        return Some(Err(()));
    }
    // QTYPE TXT, QCLASS IN (1).
    let t = be16(msg, HEADER + QNAME.len())?;
    let c = be16(msg, HEADER + QNAME.len() + 2)?;
    if t != TXT || c != 1 {
        return Some(Err(()));
    }
    Some(Ok(msg.get(2).is_some_and(|f| f & 0x80 != 0)))
}

impl Protocol for AvastSecureDns {
    fn name(&self) -> &'static str {
        "AVASTSecureDNS"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        // Not 53: this probe runs before DNS, and the last-resort port
        // guess must keep naming port 53 DNS.
        &[443]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let tcp = input.transport == Transport::Tcp;
        let msg = if tcp {
            // RFC 1035 §4.2.2: two-byte length, then the message.
            let Some(len) = be16(input.data, 0) else {
                return Probe::NeedMore;
            };
            if usize::from(len) < HEADER + QNAME.len() + 4 {
                return Probe::NoMatch;
            }
            input.data.get(2..).unwrap_or(&[])
        } else {
            input.data
        };
        match check(msg) {
            Some(Ok(resp)) => Probe::Match(Match::new(format!(
                "DNSCrypt certificate {} for Avast provider 2.securedns.avast.com (TXT)",
                if resp { "answer" } else { "query" }
            ))),
            Some(Err(())) => Probe::NoMatch,
            None if tcp => Probe::NeedMore,
            None => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, check_prefixes, evidence,
        foreign_never_match, probe1, C, S,
    };
    use netsift_proto::Transport::{Tcp, Udp};

    // Sources: testdata/README.md.
    const QUERY: &[u8] = include_bytes!("testdata/query.bin");
    const RESPONSE: &[u8] = include_bytes!("testdata/response.bin");

    #[test]
    fn corpus_query_and_answer() {
        assert_eq!(
            evidence(probe1(&AvastSecureDns, Udp, C, QUERY)),
            "DNSCrypt certificate query for Avast provider 2.securedns.avast.com (TXT)"
        );
        // The answer alone (one-direction capture) is enough too.
        assert_eq!(
            evidence(probe1(&AvastSecureDns, Udp, S, RESPONSE)),
            "DNSCrypt certificate answer for Avast provider 2.securedns.avast.com (TXT)"
        );
    }

    #[test]
    fn over_tcp_with_length_prefix() {
        let mut t = (QUERY.len() as u16).to_be_bytes().to_vec();
        t.extend_from_slice(QUERY);
        assert!(evidence(probe1(&AvastSecureDns, Tcp, C, &t)).contains("query"));
        check_prefixes(&AvastSecureDns, Tcp, C, &t, b"");
        check_prefixes(&AvastSecureDns, Udp, C, QUERY, b"");
    }

    #[test]
    fn generic_dnscrypt_is_not_avast() {
        // A DNSCrypt certificate query for another provider (same header,
        // name 2.dnscrypt-cert.example.com): left to a DNSCrypt probe.
        let mut q = QUERY[..12].to_vec();
        q.extend_from_slice(b"\x012\x0ednscrypt-cert\x07example\x03com\x00\x00\x10\x00\x01");
        assert_eq!(probe1(&AvastSecureDns, Udp, C, &q), Probe::NoMatch);
        // A type A query for the same name is plain DNS, not the certificate fetch.
        let mut a = QUERY.to_vec();
        let n = a.len();
        a[n - 3] = 1;
        assert_eq!(probe1(&AvastSecureDns, Udp, C, &a), Probe::NoMatch);
        // Case is random (0x20 encoding): all-upper still matches.
        let up: Vec<u8> = QUERY.iter().map(u8::to_ascii_uppercase).collect();
        assert!(matches!(
            probe1(&AvastSecureDns, Udp, C, &up),
            Probe::Match(_)
        ));
    }

    #[test]
    fn random_and_foreign() {
        assert_random_flows_rejected(&AvastSecureDns, Udp, 443);
        assert_foreign_rejected(&AvastSecureDns, "none");
        foreign_never_match(&AvastSecureDns, Tcp);
        foreign_never_match(&AvastSecureDns, Udp);
    }
}
