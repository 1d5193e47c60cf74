//! MGCP, the Media Gateway Control Protocol (RFC 3435, with the NCS/TGCP
//! profiles of PacketCable using the same syntax), over UDP.
//!
//! RFC 3435 §3.2.1: "The command line is composed of: the name of the
//! requested verb, the identification of the transaction, the name of the
//! endpoint(s) that should execute the command ..., the protocol version",
//! separated by white space, e.g. `RQNT 1201 aaln/1@rgw.example.net MGCP
//! 1.0`. Verbs (§2.3): EPCF, CRCX, MDCX, DLCX, RQNT, NTFY, AUEP, AUCX, RSIP
//! (and MESG in NCS); "extension verbs ... start with the letter X" and are
//! four letters. Transaction ids are 1 to 9 digits (§3.2.1.2), endpoint
//! names are `local-name@domain` (§2.1.1).
//!
//! §3.3: "The response header is composed of a response line, ...: the
//! response code [three digits], the transaction identifier, optionally
//! followed by commentary". A response alone is only a number and a
//! number, so it is claimed only when the other direction's first datagram
//! is an MGCP command with the same transaction id.
//!
//! Lines may end in LF, CR LF or (as some gateways send) a lone CR.

use netsift_proto::{
    printable, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// MGCP.
pub struct Mgcp;

/// RFC 3435 §2.3 verbs, plus MESG (PacketCable NCS).
const VERBS: &[(&[u8; 4], &str)] = &[
    (b"EPCF", "EndpointConfiguration"),
    (b"CRCX", "CreateConnection"),
    (b"MDCX", "ModifyConnection"),
    (b"DLCX", "DeleteConnection"),
    (b"RQNT", "NotificationRequest"),
    (b"NTFY", "Notify"),
    (b"AUEP", "AuditEndpoint"),
    (b"AUCX", "AuditConnection"),
    (b"RSIP", "RestartInProgress"),
    (b"MESG", "Message"),
];

const MAX_LINE: usize = 256;

impl Protocol for Mgcp {
    fn name(&self) -> &'static str {
        "MGCP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[2427, 2727]
    }
    // RFC 3435 §3.2.1: "The command line is composed of: the name of the
    // requested verb" (§2.3: EPCF, CRCX, MDCX, DLCX, RQNT, NTFY, AUEP, AUCX,
    // RSIP, NCS's MESG; extension verbs "start with the letter X"); §3.3:
    // "The response header is composed of a response line, ...: the response
    // code [three digits], the transaction identifier".
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(b"ACDEMNRX").or(FirstBytes::range(b'0', b'9'))
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Udp {
            return Probe::NoMatch;
        }
        let d = input.data;
        let Some(&b0) = d.first() else {
            return Probe::NoMatch;
        };
        if b0.is_ascii_uppercase() {
            return match command(d) {
                Some(c) => Probe::Match(Match::new(format!(
                    "MGCP {} ({}) transaction {}, endpoint '{}', {}",
                    printable(c.verb, 4),
                    c.verb_name,
                    printable(c.tid, 9),
                    printable(c.endpoint, 60),
                    printable(c.version, 20),
                ))),
                None => Probe::NoMatch,
            };
        }
        if b0.is_ascii_digit() {
            // A response: confirmed by the command it answers.
            let Some((code, tid)) = response(d) else {
                return Probe::NoMatch;
            };
            return match command(input.peer) {
                Some(c) if c.tid == tid => Probe::Match(Match::new(format!(
                    "MGCP response {} to {} transaction {}",
                    printable(code, 3),
                    printable(c.verb, 4),
                    printable(tid, 9)
                ))),
                // A later datagram may be the command (or its peer).
                _ => Probe::NeedMore,
            };
        }
        Probe::NoMatch
    }
}

struct Command<'a> {
    verb: &'a [u8],
    verb_name: &'static str,
    tid: &'a [u8],
    endpoint: &'a [u8],
    version: &'a [u8],
}

/// The first line of a datagram (ended by CR or LF).
fn line(d: &[u8]) -> Option<&[u8]> {
    let end = d
        .iter()
        .take(MAX_LINE)
        .position(|&b| b == b'\r' || b == b'\n')?;
    d.get(..end)
}

/// Splits on runs of SP / HTAB ("white space", RFC 3435 §3.2.1).
fn fields(l: &[u8]) -> impl Iterator<Item = &[u8]> {
    l.split(|&b| b == b' ' || b == b'\t')
        .filter(|f| !f.is_empty())
}

fn is_tid(t: &[u8]) -> bool {
    (1..=9).contains(&t.len()) && t.iter().all(u8::is_ascii_digit)
}

/// `verb SP tid SP endpoint SP "MGCP" SP version [SP profile]`.
fn command(d: &[u8]) -> Option<Command<'_>> {
    let verb4 = netsift_proto::bytes::array::<4>(d, 0)?;
    let verb_name = match VERBS.iter().find(|(v, _)| **v == verb4) {
        Some((_, n)) => *n,
        // §2.3: extension verbs, "X" and three letters or digits.
        None if verb4[0] == b'X' && verb4[1..].iter().all(|b| b.is_ascii_alphanumeric()) => {
            "extension verb"
        }
        None => return None,
    };
    let l = line(d)?;
    let mut f = fields(l);
    let verb = f.next()?;
    if verb.len() != 4 {
        return None;
    }
    let tid = f.next()?;
    let endpoint = f.next()?;
    let proto = f.next()?;
    let ver = f.next()?;
    // §2.1.1: "local-name@domain-name"; the local name may be a wildcard.
    if !is_tid(tid) || !endpoint.contains(&b'@') || !netsift_proto::text_ok(endpoint) {
        return None;
    }
    // §3.2.1: protocol "MGCP" and version "1.0" (0.1 and 1.0 in practice;
    // digits dot digits).
    if proto != b"MGCP" {
        return None;
    }
    let dot = ver.iter().position(|&b| b == b'.')?;
    let (maj, min) = (ver.get(..dot)?, ver.get(dot + 1..)?);
    if maj.is_empty()
        || min.is_empty()
        || !maj.iter().chain(min).all(u8::is_ascii_digit)
        || maj.len() > 2
        || min.len() > 2
    {
        return None;
    }
    // The version text: from " MGCP " (after verb and endpoint) to the end.
    let vstart = l.windows(6).rposition(|w| w == b" MGCP ")? + 1;
    Some(Command {
        verb,
        verb_name,
        tid,
        endpoint,
        version: l.get(vstart..)?,
    })
}

/// `code SP tid [SP commentary]` (RFC 3435 §3.3): code is three digits.
fn response(d: &[u8]) -> Option<(&[u8], &[u8])> {
    // O(1) first: three digits and white space.
    let head = netsift_proto::bytes::array::<4>(d, 0)?;
    if !head[..3].iter().all(u8::is_ascii_digit) || !matches!(head[3], b' ' | b'\t') {
        return None;
    }
    let l = line(d)?;
    if !netsift_proto::text_ok(l) {
        return None;
    }
    let mut f = fields(l);
    let code = f.next()?;
    let tid = f.next()?;
    if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) || !is_tid(tid) {
        return None;
    }
    Some((code, tid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const UDP: Transport = Transport::Udp;
    // Sources: testdata/README.md.
    const RQNT: &[u8] = include_bytes!("testdata/rqnt.bin");
    const RQNT_CR: &[u8] = include_bytes!("testdata/rqnt_cr.bin");
    const RSIP: &[u8] = include_bytes!("testdata/rsip.bin");
    const R510: &[u8] = include_bytes!("testdata/resp_510.bin");
    const R200: &[u8] = include_bytes!("testdata/resp_200.bin");

    #[test]
    fn commands() {
        assert_eq!(
            evidence(probe1(&Mgcp, UDP, C, RQNT)),
            "MGCP RQNT (NotificationRequest) transaction 1, endpoint '*@gateway44.myplace.com', MGCP 0.1"
        );
        assert!(evidence(probe1(&Mgcp, UDP, C, RQNT_CR)).starts_with("MGCP RQNT"));
        assert!(evidence(probe1(&Mgcp, UDP, S, RSIP)).starts_with("MGCP RSIP (RestartInProgress)"));
        let crcx = b"CRCX 1204 aaln/1@rgw-2567.whatever.net MGCP 1.0\r\nC: A3C47F21456789F0\r\nL: p:10, a:PCMU\r\nM: recvonly\r\n";
        assert!(evidence(probe1(&Mgcp, UDP, C, crcx)).contains("CreateConnection"));
        let ext = b"XABC 9 ep@gw MGCP 1.0\n";
        assert!(evidence(probe1(&Mgcp, UDP, C, ext)).contains("extension verb"));
    }

    #[test]
    fn responses_need_their_command() {
        assert_eq!(probe1(&Mgcp, UDP, S, R510), Probe::NeedMore);
        assert_eq!(
            evidence(probe_at(&Mgcp, UDP, S, R510, RQNT, 0)),
            "MGCP response 510 to RQNT transaction 1"
        );
        assert_eq!(
            evidence(probe_at(&Mgcp, UDP, C, R200, RSIP, 0)),
            "MGCP response 200 to RSIP transaction 262662134"
        );
        // A response to another transaction is not confirmed.
        assert_eq!(probe_at(&Mgcp, UDP, S, R200, RQNT, 0), Probe::NeedMore);
    }

    #[test]
    fn malformed() {
        for bad in [
            &b"RQNT 1 *@gw MGCQ 1.0\r\n"[..],
            b"RQNT abc *@gw MGCP 1.0\r\n",
            b"RQNT 1 gw MGCP 1.0\r\n",
            b"RQNT 1 *@gw MGCP one\r\n",
            b"GET / HTTP/1.1\r\n",
            b"INVITE sip:a@b SIP/2.0\r\n",
        ] {
            assert_eq!(probe1(&Mgcp, UDP, C, bad), Probe::NoMatch, "{bad:?}");
        }
    }

    #[test]
    fn first_bytes_declared() {
        for (dir, d, peer) in [
            (C, RQNT, &b""[..]),
            (C, RQNT_CR, b""),
            (S, RSIP, b""),
            (S, R510, RQNT),
            (S, R510, b""),
            (C, R200, RSIP),
        ] {
            crate::testkit::first_bytes_hold(&Mgcp, &input(UDP, dir, d, peer, 0));
        }
        let ext = b"XABC 9 ep@gw MGCP 1.0\n";
        crate::testkit::first_bytes_hold(&Mgcp, &input(UDP, C, ext, b"", 0));
        for (v, _) in VERBS {
            assert!(Mgcp.first_bytes(Transport::Udp).contains(v[0]), "{v:?}");
        }
    }

    #[test]
    fn prefixes_random_foreign() {
        check_prefixes(&Mgcp, UDP, C, RQNT, b"");
        check_prefixes(&Mgcp, UDP, S, R510, RQNT);
        assert_random_flows_rejected(&Mgcp, UDP, 2427);
        assert_foreign_rejected(&Mgcp, "mgcp");
    }
}
