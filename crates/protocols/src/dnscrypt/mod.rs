//! DNSCrypt (versions 1 and 2), from the DNSCrypt protocol specification
//! (dnscrypt.info, "DNSCrypt version 2 protocol specification").
//!
//! What the spec fixes on the wire:
//! * Certificates: "the client ... sends a DNS query of type TXT for
//!   `<protocol-major-version>.dnscrypt-cert.<provider name>`"; the answer
//!   is a TXT record whose data starts with the cert magic `DNSC`, then
//!   `<es-version>` (0x0001 X25519-XSalsa20Poly1305, 0x0002
//!   X25519-XChacha20Poly1305) and `<protocol-minor-version>` 0x0000.
//!   These are plain DNS messages (on whatever port the resolver uses):
//!   the query name is the DNSCrypt signature, so this probe runs before
//!   the DNS/mDNS/LLMNR probes.
//! * Encrypted queries: `<client-magic (8)> <client-pk (32)>
//!   <client-nonce (12)> <encrypted-query>`; the client magic is taken from
//!   the certificate, so it is arbitrary bytes.
//! * Encrypted responses: `<resolver-magic> <nonce (24)>
//!   <encrypted-response>` where the resolver magic is the 8 bytes
//!   `0x72 0x36 0x66 0x6e 0x76 0x57 0x6a 0x38` ("r6fnvWj8") and "the first
//!   12 bytes of the nonce are the client nonce".
//! * Over TCP every packet is prefixed by its 2-octet big-endian length.
//!
//! A response is matched on its 8-byte magic; when the client's query is
//! seen too, the echoed client nonce is checked as well. An encrypted query
//! alone carries no fixed bytes and is left to the response.

use netsift_proto::bytes::{be16, u8_at};
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// DNScrypt.
pub struct Dnscrypt;

const RESOLVER_MAGIC: &[u8; 8] = b"r6fnvWj8";
/// Resolver magic, nonce, and at least the 16-octet Poly1305 tag.
const MIN_RESPONSE: usize = 8 + 24 + 16;
/// Client magic, public key, half nonce.
const QUERY_HEADER: usize = 8 + 32 + 12;

/// `<digit>.dnscrypt-cert.<provider>` TXT/IN question of a DNS message:
/// `Some((is_response, provider end offset))`, `None` if not one.
fn cert_question(m: &[u8]) -> Option<(bool, usize)> {
    let flags = be16(m, 2)?;
    // RFC 1035 §4.1.1: opcode QUERY, exactly one question.
    if flags & 0x7800 != 0 || be16(m, 4)? != 1 {
        return None;
    }
    // First label: one digit, the protocol major version.
    if u8_at(m, 12)? != 1 || !(b'1'..=b'9').contains(&u8_at(m, 13)?) {
        return None;
    }
    if u8_at(m, 14)? != 13 || !m.get(15..28)?.eq_ignore_ascii_case(b"dnscrypt-cert") {
        return None;
    }
    // The provider name: labels up to the root, within a DNS name's 255.
    let mut o = 28;
    loop {
        let l = usize::from(u8_at(m, o)?);
        if l == 0 {
            break;
        }
        if l > 63 || o + l > 12 + 255 {
            return None;
        }
        o += 1 + l;
    }
    // QTYPE TXT (16), QCLASS IN (1).
    if be16(m, o + 1)? != 16 || be16(m, o + 3)? != 1 {
        return None;
    }
    Some((flags & 0x8000 != 0, o))
}

/// The provider name as dotted text (for evidence).
fn provider(m: &[u8], end: usize) -> String {
    let mut s = String::new();
    let mut o = 28;
    while o < end {
        let l = usize::from(u8_at(m, o).unwrap_or(0));
        if l == 0 {
            break;
        }
        if !s.is_empty() {
            s.push('.');
        }
        let label = m.get(o + 1..o + 1 + l).unwrap_or(&[]);
        s.push_str(&netsift_proto::printable(label, 63));
        o += 1 + l;
        if s.len() > 80 {
            break;
        }
    }
    s
}

/// The es-version of the first answer's certificate, if the answer is a
/// TXT record starting with `DNSC`.
fn cert_es_version(m: &[u8], q_end: usize) -> Option<u16> {
    // Question: name end (root label) + QTYPE + QCLASS.
    let mut o = q_end + 5;
    // Answer owner name: a compression pointer, or labels.
    if u8_at(m, o)? & 0xc0 == 0xc0 {
        o += 2;
    } else {
        for _ in 0..128 {
            let l = usize::from(u8_at(m, o)?);
            o += 1 + l;
            if l == 0 {
                break;
            }
        }
    }
    if be16(m, o)? != 16 {
        return None;
    }
    // TYPE, CLASS, TTL, RDLENGTH, then the TXT character-string length.
    let txt = o + 10 + 1;
    (m.get(txt..txt + 4)? == b"DNSC").then_some(())?;
    be16(m, txt + 4)
}

impl Dnscrypt {
    fn check(input: &ProbeInput<'_>) -> Result<String, bool> {
        let tcp = input.transport == Transport::Tcp;
        // Over TCP, the 2-octet length prefix.
        let (m, pm) = if tcp {
            let Some(len) = be16(input.data, 0) else {
                return Err(true);
            };
            if len < 12 {
                return Err(false);
            }
            (
                input.data.get(2..).unwrap_or(&[]),
                input.peer.get(2..).unwrap_or(&[]),
            )
        } else {
            (input.data, input.peer)
        };
        let more = Err(tcp);
        let Some(first) = m.get(..8) else { return more };
        if first == RESOLVER_MAGIC {
            if m.len() < MIN_RESPONSE {
                return more;
            }
            // The nonce starts with the client's half nonce.
            let echoed = match (pm.get(40..QUERY_HEADER), m.get(8..20)) {
                (Some(a), Some(b)) if input.dir == netsift_proto::Direction::ToClient => {
                    if a != b {
                        return Err(false);
                    }
                    true
                }
                _ => false,
            };
            return Ok(if echoed {
                "DNSCrypt encrypted response (resolver magic, client nonce echoed)".into()
            } else {
                "DNSCrypt encrypted response (resolver magic r6fnvWj8)".into()
            });
        }
        // Certificate fetch: needs the question (a short TCP prefix may
        // still grow into one).
        match cert_question(m) {
            Some((resp, end)) => {
                let name = provider(m, end);
                let v = u8_at(m, 13).map_or('2', char::from);
                if resp {
                    let es = match cert_es_version(m, end) {
                        Some(1) => ", cert X25519-XSalsa20Poly1305",
                        Some(2) => ", cert X25519-XChacha20Poly1305",
                        Some(_) => ", cert",
                        None => "",
                    };
                    Ok(format!(
                        "DNSCrypt certificate response for {v}.dnscrypt-cert.{name}{es}"
                    ))
                } else {
                    Ok(format!(
                        "DNSCrypt certificate query for {v}.dnscrypt-cert.{name}"
                    ))
                }
            }
            None if tcp && m.len() < 12 + 255 + 5 && could_grow(m) => Err(true),
            None => Err(false),
        }
    }
}

/// Over TCP, whether a DNS prefix too short to hold the question could
/// still turn out to ask for a certificate.
fn could_grow(m: &[u8]) -> bool {
    const NAME: &[u8] = b"\x012\x0ddnscrypt-cert";
    let q = m.get(12..).unwrap_or(&[]);
    let n = q.len().min(NAME.len());
    // Any digit as the version label.
    q.iter().zip(NAME).take(n).enumerate().all(|(i, (a, b))| {
        if i == 1 {
            a.is_ascii_digit()
        } else {
            a.eq_ignore_ascii_case(b)
        }
    })
}

impl Protocol for Dnscrypt {
    fn name(&self) -> &'static str {
        "DNScrypt"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[443]
    }
    fn probe(&self, input: &ProbeInput<'_>, _s: &mut ProbeScratch) -> Probe {
        match Self::check(input) {
            Ok(ev) => Probe::Match(Match::new(ev)),
            Err(true) => Probe::NeedMore,
            Err(false) => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, check_prefixes, evidence,
        feed_evidence, foreign_never_match, probe1, probe_at, C, S,
    };

    const UDP: Transport = Transport::Udp;
    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const CERT_QUERY: &[u8] = include_bytes!("testdata/cert_query.bin");
    const CERT_RESPONSE: &[u8] = include_bytes!("testdata/cert_response.bin");
    const V1_QUERY: &[u8] = include_bytes!("testdata/v1_query.bin");
    const V1_RESPONSE: &[u8] = include_bytes!("testdata/v1_response.bin");
    const V2_QUERY: &[u8] = include_bytes!("testdata/v2_query.bin");
    const V2_RESPONSE: &[u8] = include_bytes!("testdata/v2_response.bin");

    #[test]
    fn certificate_fetch() {
        assert_eq!(
            evidence(probe1(&Dnscrypt, UDP, C, CERT_QUERY)),
            "DNSCrypt certificate query for 2.dnscrypt-cert.dnscrypt.ca-2"
        );
        assert_eq!(
            evidence(probe1(&Dnscrypt, UDP, S, CERT_RESPONSE)),
            "DNSCrypt certificate response for 2.dnscrypt-cert.dnscrypt.ca-2, \
             cert X25519-XChacha20Poly1305"
        );
    }

    #[test]
    fn encrypted_exchange() {
        for (q, r) in [(V1_QUERY, V1_RESPONSE), (V2_QUERY, V2_RESPONSE)] {
            // The query alone says nothing; the response confirms.
            assert_eq!(probe1(&Dnscrypt, UDP, C, q), Probe::NoMatch);
            assert_eq!(
                feed_evidence(&Dnscrypt, UDP, 443, &[(C, q), (S, r)]),
                "DNSCrypt encrypted response (resolver magic, client nonce echoed)"
            );
            // Response only (one-direction capture).
            assert_eq!(
                evidence(probe1(&Dnscrypt, UDP, S, r)),
                "DNSCrypt encrypted response (resolver magic r6fnvWj8)"
            );
        }
        // A nonce that does not echo the query's is not a response to it.
        assert_eq!(
            probe_at(&Dnscrypt, UDP, S, V1_RESPONSE, V2_QUERY, 0),
            Probe::NoMatch
        );
    }

    #[test]
    fn tcp_framing_and_prefixes() {
        let framed = |m: &[u8]| {
            let mut v = (m.len() as u16).to_be_bytes().to_vec();
            v.extend_from_slice(m);
            v
        };
        let q = framed(CERT_QUERY);
        assert_eq!(
            evidence(probe1(&Dnscrypt, TCP, C, &q)),
            "DNSCrypt certificate query for 2.dnscrypt-cert.dnscrypt.ca-2"
        );
        let r = framed(V1_RESPONSE);
        check_prefixes(&Dnscrypt, TCP, C, &q, &[]);
        check_prefixes(&Dnscrypt, TCP, S, &r, &[]);
        check_prefixes(&Dnscrypt, UDP, C, CERT_QUERY, &[]);
        check_prefixes(&Dnscrypt, UDP, S, CERT_RESPONSE, &[]);
    }

    #[test]
    fn ordinary_dns_is_not_dnscrypt() {
        let dns = include_bytes!("../dns/testdata/query_a.bin");
        assert_eq!(probe1(&Dnscrypt, UDP, C, dns), Probe::NoMatch);
        // A TXT query for another name.
        let mut other = CERT_QUERY.to_vec();
        other[15] = b'x';
        assert_eq!(probe1(&Dnscrypt, UDP, C, &other), Probe::NoMatch);
    }

    #[test]
    fn rejects_random_and_foreign() {
        assert_random_flows_rejected(&Dnscrypt, UDP, 443);
        assert_random_flows_rejected(&Dnscrypt, TCP, 443);
        foreign_never_match(&Dnscrypt, TCP);
        foreign_never_match(&Dnscrypt, UDP);
        assert_foreign_rejected(&Dnscrypt, "dnscrypt");
    }
}
