//! SOAP messages sent straight over TCP (no HTTP framing): SOAP 1.1 (W3C
//! Note 2000) and SOAP 1.2 (W3C Recommendation 2007, Part 1 §5).
//!
//! SOAP 1.2 Part 1 §5.1: "The Envelope element information item has: A
//! [local name] of Envelope. A [namespace name] of
//! http://www.w3.org/2003/05/soap-envelope" (SOAP 1.1:
//! http://schemas.xmlsoap.org/soap/envelope/). A document is an optional
//! XML declaration (XML 1.0 §2.8: `<?xml version="1.0" ...?>`) and then the
//! root element.
//!
//! Matches: a stream whose root element is a prefixed or unprefixed
//! `Envelope` (`<soap:Envelope`, `<s:Envelope`, `<SOAP-ENV:Envelope`,
//! `<Envelope`). nDPI also names SOAP any TCP stream that opens with an XML
//! declaration, whatever the root element (the corpus's soap.pcap holds
//! such a `<ZMessage>` exchange on port 80); this probe follows it for an
//! XML declaration followed by a root element, and says in the evidence
//! which root it saw. XMPP (`<stream:stream`) is left to the Jabber probe.
//! SOAP carried by HTTP is named by the HTTP probe (app SOAP).

use netsift_proto::{printable, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// SOAP.
pub struct Soap;

/// How far to look for the root element.
const LOOK: usize = 512;

impl Protocol for Soap {
    fn name(&self) -> &'static str {
        "SOAP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let d0 = input.data;
        // A UTF-8 byte order mark may precede the document.
        let d = d0.strip_prefix(b"\xef\xbb\xbf").unwrap_or(d0);
        match d.first() {
            None => return Probe::NeedMore,
            Some(b'<') => {}
            Some(0xef) if d0.len() < 3 => return Probe::NeedMore,
            Some(_) => return Probe::NoMatch,
        }
        let decl = b"<?xml ";
        let n = d.len().min(decl.len());
        let has_decl = d.get(..n) == decl.get(..n);
        if has_decl && n < decl.len() {
            return Probe::NeedMore;
        }
        let mut p = 0;
        if has_decl {
            // XML 1.0 §2.8: VersionInfo comes first.
            let Some(v) = d.get(6..14) else {
                return Probe::NeedMore;
            };
            if v != b"version=" {
                return Probe::NoMatch;
            }
            let w = d.get(..d.len().min(LOOK)).unwrap_or(d);
            let Some(e) = w.windows(2).position(|x| x == b"?>") else {
                return if d.len() < LOOK {
                    Probe::NeedMore
                } else {
                    Probe::NoMatch
                };
            };
            p = e + 2;
        }
        // Skip white space and comments-free prolog up to the root's "<".
        let w = d.get(..d.len().min(LOOK)).unwrap_or(d);
        while let Some(&b) = w.get(p) {
            if b.is_ascii_whitespace() {
                p += 1;
            } else {
                break;
            }
        }
        if p >= w.len() {
            return if d.len() < LOOK {
                Probe::NeedMore
            } else {
                Probe::NoMatch
            };
        }
        if w.get(p) != Some(&b'<') {
            return Probe::NoMatch;
        }
        // The root element's qualified name.
        let name_start = p + 1;
        let mut q = name_start;
        while let Some(&b) = w.get(q) {
            if b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'-' | b'.') {
                q += 1;
            } else {
                break;
            }
        }
        let Some(&after) = w.get(q) else {
            return if d.len() < LOOK {
                Probe::NeedMore
            } else {
                Probe::NoMatch
            };
        };
        let qname = w.get(name_start..q).unwrap_or(&[]);
        if qname.is_empty() || !matches!(after, b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/') {
            return Probe::NoMatch;
        }
        let local = qname.rsplit(|&b| b == b':').next().unwrap_or(qname);
        if local == b"Envelope" {
            return Probe::Match(Match::new(format!(
                "SOAP <{}> over plain TCP",
                printable(qname, 40)
            )));
        }
        if has_decl && qname != b"stream:stream" && !qname.starts_with(b"!") {
            return Probe::Match(Match::new(format!(
                "XML document over plain TCP, root <{}> (no SOAP Envelope; named SOAP as nDPI does)",
                printable(qname, 40)
            )));
        }
        Probe::NoMatch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const ZMSG: &[u8] = include_bytes!("testdata/xml_zmessage.bin");

    #[test]
    fn envelopes() {
        let s11 = b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body/></soap:Envelope>";
        assert_eq!(
            evidence(probe1(&Soap, TCP, C, s11)),
            "SOAP <soap:Envelope> over plain TCP"
        );
        let s12 = b"<env:Envelope xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\">";
        assert_eq!(
            evidence(probe1(&Soap, TCP, C, s12)),
            "SOAP <env:Envelope> over plain TCP"
        );
        check_prefixes(&Soap, TCP, C, s11, b"");
    }

    #[test]
    fn xml_declaration_as_ndpi() {
        // nDPI labels this SOAP; the bytes show a plain XML message.
        assert_eq!(
            evidence(probe1(&Soap, TCP, C, ZMSG)),
            "XML document over plain TCP, root <ZMessage> (no SOAP Envelope; named SOAP as nDPI does)"
        );
        check_prefixes(&Soap, TCP, C, ZMSG, b"");
    }

    #[test]
    fn not_soap() {
        for d in [
            &b"<?xml version='1.0'?><stream:stream to='example.com' xmlns='jabber:client'>"[..],
            b"<html><body>hi</body></html>",
            b"<policy-file-request/>\x00",
            b"GET / HTTP/1.1\r\n\r\n",
        ] {
            assert!(!is_match(&probe1(&Soap, TCP, C, d)), "{d:?}");
        }
    }

    #[test]
    fn random_foreign() {
        assert_random_flows_rejected(&Soap, TCP, 80);
        foreign_never_match(&Soap, TCP);
        assert_foreign_rejected(&Soap, "soap");
    }
}
