//! XMPP's STARTTLS (RFC 6120 §5.4.2): the client sends `<starttls
//! xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`; "the receiving entity MUST
//! reply with either a <proceed/> element or a <failure/> element qualified
//! by the 'urn:ietf:params:xml:ns:xmpp-tls' namespace" (§5.4.2.2, §5.4.2.3);
//! after `<proceed/>` "the receiving entity MUST consider the TLS
//! negotiation to have begun" with the next octet (§5.4.3.1).

use netsift_proto::Direction;

use crate::starttls::Watch;

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

/// The end of the element whose start tag begins at `at`: after "/>" of
/// an empty element, or after its "</name>" end tag.
fn element_end(d: &[u8], at: usize, name: &[u8]) -> Option<usize> {
    let rest = d.get(at..)?;
    let gt = rest.iter().position(|&b| b == b'>')?;
    if gt > 0 && rest.get(gt - 1) == Some(&b'/') {
        return Some(at + gt + 1);
    }
    let mut close = b"</".to_vec();
    close.extend_from_slice(name);
    close.push(b'>');
    Some(at + find(rest, &close)? + close.len())
}

/// The upgrade rule (see [`crate::starttls::Rule`]).
pub(crate) fn rule(dir: Direction, client: &[u8], server: &[u8]) -> Watch {
    if find(client, b"<starttls").is_none() {
        return Watch::More;
    }
    // The server's features also name <starttls/>; its answer is the first
    // <proceed/> or TLS <failure/> (§5.4.2.2).
    let proceed = find(server, b"<proceed");
    let failure = find(server, b"<failure").filter(|&f| {
        server
            .get(f..)
            .and_then(|r| r.iter().position(|&b| b == b'>').and_then(|e| r.get(..e)))
            .is_some_and(|tag| find(tag, b"xmpp-tls").is_some())
    });
    match (proceed, failure) {
        (Some(p), f) if f.is_none_or(|f| p < f) => match element_end(server, p, b"proceed") {
            Some(end) if dir == Direction::ToClient => Watch::After(end),
            Some(_) => Watch::Never,
            None => Watch::More,
        },
        (_, Some(_)) => Watch::Never,
        _ => Watch::More,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::ToClient;

    #[test]
    fn proceed_failure_and_end_tags() {
        let c = b"<stream:stream to='x'><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
        let p = b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features><proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
        assert_eq!(rule(ToClient, c, p), Watch::After(p.len()));
        let long = b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'></proceed>";
        assert_eq!(rule(ToClient, c, long), Watch::After(long.len()));
        assert_eq!(rule(ToClient, c, &long[..20]), Watch::More);
        let f = b"<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
        assert_eq!(rule(ToClient, c, f), Watch::Never);
        // A SASL failure is not the answer to STARTTLS.
        let sasl = b"<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><x/></failure>";
        assert_eq!(rule(ToClient, c, sasl), Watch::More);
        assert_eq!(rule(ToClient, b"<stream:stream>", p), Watch::More);
    }

    /// openssl s_client -starttls xmpp against prosody 0.12: crates/cli/tests/starttls/make-starttls.sh, stream 0 of
    /// the capture, extracted with `tshark -q -z follow,tcp,raw,0`.
    #[test]
    fn real_upgrade_gives_a_tls_record() {
        crate::starttls::assert_real_upgrade(
            "Jabber",
            rule,
            include_str!("testdata/starttls.txt"),
            Some("localhost"),
        );
    }
}
