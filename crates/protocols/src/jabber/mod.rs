//! XMPP / Jabber (RFC 6120). nDPI names it `Jabber`.
//!
//! RFC 6120 §4.2: "The initiating entity ... sends an initial stream header
//! to the receiving entity", "<stream:stream from=... to=... version='1.0'
//! xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>",
//! optionally preceded by an XML declaration (§11.5 "an XML declaration
//! ... <?xml version='1.0'?>"); the receiver answers with its own
//! response stream header. §4.4: "the entity ... sends a closing
//! </stream:stream> tag".
//!
//! The probe matches either direction that starts (after an optional
//! declaration and whitespace) with a `<stream:stream` opening tag whose
//! attributes name an XMPP namespace ("jabber:client", "jabber:server",
//! "http://etherx.jabber.org/streams"), a bare closing tag, or - for
//! captures that start mid-stream - an `<iq`, `<presence` or `<message`
//! stanza (§8) that carries a Jabber/XMPP namespace. An XML declaration
//! alone is `NeedMore`.

use netsift_proto::{printable, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

mod upgrade;

/// Jabber (XMPP).
pub struct Jabber;

impl Protocol for Jabber {
    fn name(&self) -> &'static str {
        "Jabber"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[5222, 5269]
    }
    /// Only the switch to TLS is parsed ([`upgrade`]); the TLS part goes
    /// to the `tls` log.
    fn parser(&self) -> Option<Box<dyn netsift_proto::Parser>> {
        Some(crate::starttls::watch("Jabber", upgrade::rule))
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        look(input.data)
    }
}

/// Bytes of an opening tag looked at.
const MAX_TAG: usize = 2048;

fn skip_ws(d: &[u8]) -> &[u8] {
    let n = d
        .iter()
        .take(64)
        .position(|b| !b" \t\r\n".contains(b))
        .unwrap_or(d.len().min(64));
    d.get(n..).unwrap_or(&[])
}

/// Does `d` start with `p`? `Err(())` when `d` is a proper prefix of `p`.
fn starts(d: &[u8], p: &[u8]) -> Result<bool, ()> {
    let n = d.len().min(p.len());
    if d.get(..n) != p.get(..n) {
        Ok(false)
    } else if n < p.len() {
        Err(())
    } else {
        Ok(true)
    }
}

fn find(h: &[u8], n: &[u8]) -> bool {
    h.windows(n.len()).any(|w| w == n)
}

fn xmpp_namespace(tag: &[u8]) -> Option<&'static str> {
    [
        "jabber:client",
        "jabber:server",
        "jabber:component",
        "etherx.jabber.org/streams",
        "http://jabber.org/",
        "urn:xmpp:",
    ]
    .into_iter()
    .find(|ns| find(tag, ns.as_bytes()))
}

fn look(d: &[u8]) -> Probe {
    // A UTF-8 byte order mark may precede the declaration.
    let d0 = d.strip_prefix(b"\xef\xbb\xbf").unwrap_or(d);
    let mut d = skip_ws(d0);
    if d.is_empty() {
        return Probe::NeedMore;
    }
    let mut decl = false;
    match starts(d, b"<?xml") {
        Err(()) => return Probe::NeedMore,
        Ok(true) => {
            // "<?xml version='1.0'?>": printable up to "?>".
            let Some(end) = d.windows(2).take(256).position(|w| w == b"?>") else {
                return if d.len() < 256 && d.iter().all(|&b| (0x20..0x7f).contains(&b)) {
                    Probe::NeedMore
                } else {
                    Probe::NoMatch
                };
            };
            d = skip_ws(d.get(end + 2..).unwrap_or(&[]));
            if d.is_empty() {
                return Probe::NeedMore;
            }
            decl = true;
        }
        Ok(false) => {}
    }
    // §4.4 closing tag (a capture that starts at the end of a stream).
    if !decl {
        match starts(d, b"</stream:stream>") {
            Ok(true) => return Probe::Match(Match::new("stream closing tag </stream:stream>")),
            Err(()) if d.len() >= 2 => return Probe::NeedMore,
            _ => {}
        }
    }
    let elements: &[&[u8]] = if decl {
        &[b"<stream:stream"]
    } else {
        &[b"<stream:stream", b"<iq", b"<presence", b"<message"]
    };
    for el in elements {
        match starts(d, el) {
            Err(()) => return Probe::NeedMore,
            Ok(false) => continue,
            Ok(true) => {}
        }
        // The element name ends with whitespace, '>' or '/'.
        match d.get(el.len()) {
            None => return Probe::NeedMore,
            Some(b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/') => {}
            Some(_) => return Probe::NoMatch,
        }
        let stream = el == b"<stream:stream";
        let limit = if stream { MAX_TAG } else { 4096 };
        // A stream header is a single opening tag; a stanza may carry the
        // namespace in a child element, so look at the first 4 KiB.
        let Some(end) = memchr::memchr(b'>', netsift_proto::head(d, limit)) else {
            return if d.len() < limit {
                Probe::NeedMore
            } else {
                Probe::NoMatch
            };
        };
        let tag = if stream {
            d.get(..end).unwrap_or(&[])
        } else {
            d.get(..d.len().min(limit)).unwrap_or(&[])
        };
        if tag.iter().any(|&b| b < 0x09) {
            return Probe::NoMatch;
        }
        return match xmpp_namespace(tag) {
            Some(ns) if stream => Probe::Match(Match::new(format!(
                "stream header <stream:stream> with namespace '{ns}'"
            ))),
            Some(ns) => Probe::Match(Match::new(format!(
                "stanza '{}' with namespace '{ns}'",
                printable(d.get(..end.min(40)).unwrap_or(&[]), 40)
            ))),
            // A stanza may still get its namespace in the next segment.
            None if !stream && d.len() < limit => Probe::NeedMore,
            None => Probe::NoMatch,
        };
    }
    Probe::NoMatch
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use netsift_proto::Direction::{self, ToClient, ToServer};

    // jabber.pcap: frame 6 (172.16.0.62:57094 -> 172.16.1.138:5222) the
    // client's "<?xml version='1.0' ?>", frame 10 the server's declaration
    // + stream header; frame 294 (192.168.58.1:53460 -> :5222) a client
    // stream header; frame 182 (172.16.0.62:57129) an <iq> stanza
    // mid-stream; frame 175 (172.16.0.62:57126) "</stream:stream>".
    const DECL: &[u8] = include_bytes!("testdata/client_xml_decl.bin");
    const SERVER: &[u8] = include_bytes!("testdata/server_stream.bin");
    const CLIENT: &[u8] = include_bytes!("testdata/client_stream.bin");
    const IQ: &[u8] = include_bytes!("testdata/client_iq.bin");
    const CLOSE: &[u8] = include_bytes!("testdata/stream_close.bin");

    fn probe(dir: Direction, data: &[u8], peer: &[u8]) -> Probe {
        run(&Jabber, Transport::Tcp, dir, data, peer)
    }

    #[test]
    fn real_streams() {
        assert_eq!(probe(ToServer, DECL, &[]), Probe::NeedMore);
        let mut both = DECL.to_vec();
        both.extend_from_slice(CLIENT);
        assert_eq!(
            evidence(probe(ToServer, &both, &[])),
            "stream header <stream:stream> with namespace 'jabber:client'"
        );
        assert!(evidence(probe(ToClient, SERVER, DECL)).starts_with("stream header"));
        assert!(evidence(probe(ToServer, IQ, &[])).contains("http://jabber.org/"));
        assert_eq!(
            evidence(probe(ToServer, CLOSE, &[])),
            "stream closing tag </stream:stream>"
        );
    }

    #[test]
    fn other_xml_is_not_xmpp() {
        let soap = b"<?xml version=\"1.0\"?>\n<soap:Envelope xmlns:soap=\"x\">";
        assert_eq!(probe(ToServer, soap, &[]), Probe::NoMatch);
        let no_ns = b"<stream:stream to='x' version='1.0'>";
        assert_eq!(probe(ToServer, no_ns, &[]), Probe::NoMatch);
        assert_eq!(probe(ToServer, b"<iqx>", &[]), Probe::NoMatch);
    }

    #[test]
    fn truncation() {
        for d in [SERVER, CLIENT, IQ, CLOSE] {
            check_prefixes(&Jabber, Transport::Tcp, ToServer, d, &[]);
            for n in 0..d.len() {
                let r = probe(ToServer, &d[..n], &[]);
                // A stanza matches as soon as its namespace is in sight.
                let ok = r == Probe::NeedMore || (d == IQ && matches!(r, Probe::Match(_)));
                assert!(ok, "{n}: {r:?}");
            }
        }
    }

    #[test]
    fn other_protocols_and_random() {
        assert_no_claim_on_others(&Jabber, Transport::Tcp);
        assert_random_rate(&Jabber, Transport::Tcp);
    }

    #[test]
    fn first_packet_on_a_non_standard_port() {
        match crate::first_packet::identify_first_payload(Transport::Tcp, ToClient, 443, SERVER) {
            crate::FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "Jabber"),
            other => panic!("{other:?}"),
        }
    }
}
