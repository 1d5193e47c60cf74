//! WS-Discovery (OASIS Web Services Dynamic Discovery 1.1, 2009, and the
//! 2005/04 draft used by Windows), SOAP-over-UDP on 3702 (multicast
//! 239.255.255.250 / FF02::C and unicast replies).
//!
//! WS-Discovery 1.1 §2.4: messages are SOAP envelopes sent with
//! SOAP-over-UDP; the discovery messages (Hello, Bye, Probe, ProbeMatches,
//! Resolve, ResolveMatches) are in the namespace
//! `http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01` (draft:
//! `http://schemas.xmlsoap.org/ws/2005/04/discovery`) and carry a
//! WS-Addressing Action ending in the message name.
//!
//! Matches: a datagram that is an XML document (optional declaration) whose
//! root is a SOAP `Envelope` and that declares a WS-Discovery namespace
//! within its first 2 KiB.

use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// WSD.
pub struct Wsd;

const LOOK: usize = 2048;

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

impl Protocol for Wsd {
    fn name(&self) -> &'static str {
        "WSD"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[3702]
    }
    // WS-Discovery 1.1 §2.4: a SOAP envelope, an XML document: '<', or a
    // UTF-8 byte order mark (EF BB BF) first.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[b'<', 0xef])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Udp {
            return Probe::NoMatch;
        }
        let d = input.data;
        let d = d.strip_prefix(b"\xef\xbb\xbf").unwrap_or(d);
        if d.first() != Some(&b'<') {
            return Probe::NoMatch;
        }
        let w = d.get(..d.len().min(LOOK)).unwrap_or(d);
        // The root element is an Envelope (prefixed or not).
        let Some(env) = find(w, b"Envelope") else {
            return Probe::NoMatch;
        };
        if !matches!(w.get(env.wrapping_sub(1)), Some(b':' | b'<')) {
            return Probe::NoMatch;
        }
        let ns = if find(w, b"docs.oasis-open.org/ws-dd/ns/discovery/2009/01").is_some() {
            "WS-Discovery 1.1"
        } else if find(w, b"schemas.xmlsoap.org/ws/2005/04/discovery").is_some() {
            "WS-Discovery (2005/04)"
        } else {
            return Probe::NoMatch;
        };
        // The message name: the last path segment of the Action.
        let action = find(w, b"Action")
            .and_then(|a| {
                let rest = w.get(a..)?;
                let gt = rest.iter().position(|&b| b == b'>')?;
                let v = rest.get(gt + 1..)?;
                let end = v.iter().take(200).position(|&b| b == b'<')?;
                let url = v.get(..end)?;
                let seg = url.rsplit(|&b| b == b'/').next()?;
                (!seg.is_empty() && seg.iter().all(u8::is_ascii_alphanumeric)).then_some(seg)
            })
            .map(|s| format!(" {}", String::from_utf8_lossy(s)))
            .unwrap_or_default();
        Probe::Match(Match::new(format!("{ns}{action} (SOAP over UDP)")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const UDP: Transport = Transport::Udp;

    /// WS-Discovery 1.1 §5.2.2 example Probe (abridged, same structure).
    const PROBE: &[u8] = br#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing" xmlns:wsd="http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01"><soap:Header><wsa:To>urn:docs-oasis-open-org:ws-dd:ns:discovery:2009:01</wsa:To><wsa:Action>http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01/Probe</wsa:Action><wsa:MessageID>urn:uuid:0a6dc791-2be6-4991-9af1-454778a1917a</wsa:MessageID></soap:Header><soap:Body><wsd:Probe><wsd:Types>i:PrintBasic</wsd:Types></wsd:Probe></soap:Body></soap:Envelope>"#;
    /// Windows' 2005/04 form (Hello).
    const HELLO: &[u8] = br#"<?xml version="1.0" encoding="utf-8" ?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsd="http://schemas.xmlsoap.org/ws/2005/04/discovery"><soap:Header><wsa:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</wsa:To><wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Hello</wsa:Action></soap:Header><soap:Body><wsd:Hello/></soap:Body></soap:Envelope>"#;

    #[test]
    fn messages() {
        assert_eq!(
            evidence(probe1(&Wsd, UDP, C, PROBE)),
            "WS-Discovery 1.1 Probe (SOAP over UDP)"
        );
        assert_eq!(
            evidence(probe1(&Wsd, UDP, C, HELLO)),
            "WS-Discovery (2005/04) Hello (SOAP over UDP)"
        );
        check_prefixes(&Wsd, UDP, C, PROBE, b"");
    }

    #[test]
    fn other_soap_and_xml() {
        let soap = br#"<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body/></soap:Envelope>"#;
        assert_eq!(probe1(&Wsd, UDP, C, soap), Probe::NoMatch);
        assert_eq!(
            probe1(&Wsd, UDP, C, b"<html>discovery</html>"),
            Probe::NoMatch
        );
    }

    #[test]
    fn random_foreign() {
        assert_random_flows_rejected(&Wsd, UDP, 3702);
        assert_foreign_rejected(&Wsd, "wsd");
    }

    #[test]
    fn first_bytes_declared() {
        crate::testkit::first_bytes_hold(&Wsd, &crate::testkit::input(UDP, C, PROBE, &[], 0));
        crate::testkit::first_bytes_hold(&Wsd, &crate::testkit::input(UDP, C, HELLO, &[], 0));
        let mut bom = b"\xef\xbb\xbf".to_vec();
        bom.extend_from_slice(HELLO);
        crate::testkit::first_bytes_hold(&Wsd, &crate::testkit::input(UDP, C, &bom, &[], 0));
    }
}
