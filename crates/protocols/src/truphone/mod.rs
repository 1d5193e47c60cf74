//! TruPhone's messaging service: XMPP (RFC 6120) to TruPhone's servers.
//!
//! TruPhone's apps speak plain XMPP; what sets the flow apart is the
//! domain in the stream header. RFC 6120 §4.7.2: the initiating entity's
//! stream header carries "to: the XMPP domainpart of the receiving
//! entity", the response header "from" the same domain. The probe reads
//! the opening `<stream:stream` tag (after an optional XML declaration)
//! and matches when that domain is `truphone.com` or one of its
//! subdomains (e.g. `im.truphone.com`). It runs before the Jabber probe,
//! which names every other XMPP stream.

use netsift_proto::Transport;
use netsift_proto::{printable, Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol};

/// TruPhone.
pub struct Truphone;

/// Bytes of the opening tag looked at (as the Jabber probe).
const MAX_TAG: usize = 2048;
const OPEN: &[u8] = b"<stream:stream";

/// Skip whitespace and an XML declaration: `Err(true)` when more bytes are
/// needed, `Err(false)` when this is no XML stream start.
fn skip_decl(d: &[u8]) -> Result<&[u8], bool> {
    let d = trim(d);
    if d.starts_with(b"<?") {
        let end = d
            .windows(2)
            .take(MAX_TAG)
            .position(|w| w == b"?>")
            .ok_or(d.len() < MAX_TAG)?;
        return Ok(trim(d.get(end + 2..).unwrap_or(&[])));
    }
    if d.len() < 2 && (d.is_empty() || d == b"<") {
        return Err(true);
    }
    Ok(d)
}

fn trim(d: &[u8]) -> &[u8] {
    let n = d.iter().take_while(|b| b.is_ascii_whitespace()).count();
    d.get(n..).unwrap_or(&[])
}

/// The value of attribute `name` (e.g. `to=`) in `tag`.
fn attr<'a>(tag: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let mut i = 0;
    while let Some(p) = tag.get(i..)?.windows(name.len()).position(|w| w == name) {
        let at = i + p;
        let before = if at == 0 { b' ' } else { *tag.get(at - 1)? };
        i = at + name.len();
        if !(before.is_ascii_whitespace() || before == b'\'' || before == b'"') {
            continue;
        }
        let q = *tag.get(i)?;
        if q != b'\'' && q != b'"' {
            continue;
        }
        let v = tag.get(i + 1..)?;
        let end = v.iter().position(|&b| b == q)?;
        return v.get(..end);
    }
    None
}

fn is_truphone(host: &[u8]) -> bool {
    let h = host.strip_suffix(b".").unwrap_or(host);
    let dom = b"truphone.com";
    h.len() >= dom.len()
        && h.get(h.len() - dom.len()..)
            .is_some_and(|s| s.eq_ignore_ascii_case(dom))
        && (h.len() == dom.len() || h.get(h.len() - dom.len() - 1) == Some(&b'.'))
}

impl Protocol for Truphone {
    fn name(&self) -> &'static str {
        "TruPhone"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        // 5222 is XMPP's client port (Jabber keeps the port guess; this
        // probe runs before Jabber in `ALL`).
        &[]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        // O(1) gate: XML starts with '<' (or whitespace before it).
        match d.first() {
            None => return Probe::NeedMore,
            Some(b'<' | b' ' | b'\r' | b'\n' | b'\t') => {}
            Some(_) => return Probe::NoMatch,
        }
        let s = match skip_decl(d) {
            Ok(s) => s,
            Err(true) => return Probe::NeedMore,
            Err(false) => return Probe::NoMatch,
        };
        let n = s.len().min(OPEN.len());
        if s.get(..n) != OPEN.get(..n) {
            return Probe::NoMatch;
        }
        let Some(end) = s.iter().take(MAX_TAG).position(|&b| b == b'>') else {
            return if s.len() < MAX_TAG {
                Probe::NeedMore
            } else {
                Probe::NoMatch
            };
        };
        let tag = s.get(..end).unwrap_or(&[]);
        let key: &[u8] = match input.dir {
            Direction::ToServer => b"to=",
            Direction::ToClient => b"from=",
        };
        match attr(tag, key) {
            Some(host) if is_truphone(host) => Probe::Match(Match::new(format!(
                "XMPP stream header {}'{}' (TruPhone)",
                printable(key, 8),
                printable(host, 64)
            ))),
            _ => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_random_flows_rejected, check_prefixes, evidence, foreign_never_match, probe1, C, S,
    };

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const OPEN_TP: &[u8] = include_bytes!("testdata/stream_open.bin");

    #[test]
    fn truphone_stream() {
        assert_eq!(
            evidence(probe1(&Truphone, TCP, C, OPEN_TP)),
            "XMPP stream header to='im.truphone.com' (TruPhone)"
        );
        check_prefixes(&Truphone, TCP, C, OPEN_TP, b"");
        let srv = b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
            xmlns:stream='http://etherx.jabber.org/streams' id='x' from=\"truphone.com\" version='1.0'>";
        assert_eq!(
            evidence(probe1(&Truphone, TCP, S, srv)),
            "XMPP stream header from='truphone.com' (TruPhone)"
        );
    }

    #[test]
    fn other_xmpp_is_not_truphone() {
        let other = b"<stream:stream xmlns='jabber:client' \
            xmlns:stream='http://etherx.jabber.org/streams' to='jabber.org' version='1.0'>";
        assert_eq!(probe1(&Truphone, TCP, C, other), Probe::NoMatch);
        let tricky = b"<stream:stream to='nottruphone.com' version='1.0'>";
        assert_eq!(probe1(&Truphone, TCP, C, tricky), Probe::NoMatch);
        let proto = b"<stream:stream proto='truphone.com' version='1.0'>";
        assert_eq!(probe1(&Truphone, TCP, C, proto), Probe::NoMatch);
    }

    #[test]
    fn foreign_and_random() {
        foreign_never_match(&Truphone, TCP);
        assert_random_flows_rejected(&Truphone, TCP, 5222);
    }
}
