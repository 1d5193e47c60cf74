//! LDAP (RFC 4511) over TCP, and CLDAP (RFC 1798 / MS-ADTS 6.3.3) over UDP.
//!
//! Every LDAP PDU is a BER-encoded `LDAPMessage` (RFC 4511 §4.1.1):
//!
//! ```text
//! LDAPMessage ::= SEQUENCE {
//!      messageID       MessageID,            -- INTEGER (0 .. maxInt)
//!      protocolOp      CHOICE { bindRequest [APPLICATION 0], ... },
//!      controls        [0] Controls OPTIONAL }
//! ```
//!
//! The probe checks, in order: a SEQUENCE with a definite length (over UDP
//! it must fill the datagram exactly); a non-negative messageID INTEGER of
//! at most 4 octets; an APPLICATION-tagged protocolOp of a defined choice
//! with the right primitive/constructed form, fitting inside the SEQUENCE;
//! anything after it being a `[0]` controls element that ends exactly at the
//! end of the SEQUENCE; and the first one or two fields of the operation
//! (e.g. a bindRequest starts with `version INTEGER (1..127)` then
//! `name LDAPDN`, every LDAPResult with `resultCode ENUMERATED` then
//! `matchedDN`). Together that is over 30 bits of structure, so random
//! bytes and SNMP (which also starts `SEQUENCE, INTEGER`, but continues with
//! an OCTET STRING community) are not claimed.
//!
//! Over TCP, `data` is the stream prefix: a message split over segments is
//! recognised from its first part, `NeedMore` until the operation's first
//! fields are in. SASL-wrapped LDAP (after a GSSAPI bind with integrity or
//! confidentiality) is opaque and is not recognised.

use netsift_proto::{
    printable, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

use crate::ber::{self, BerErr, Tlv};

mod upgrade;

/// LDAP.
pub struct Ldap;

impl Protocol for Ldap {
    fn name(&self) -> &'static str {
        "LDAP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp, Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[389]
    }
    // RFC 4511 §4.1.1: "LDAPMessage ::= SEQUENCE { ... }"; §5.1: "The
    // protocol elements of LDAP SHALL be encoded ... using the Basic
    // Encoding Rules": a SEQUENCE's identifier octet is 0x30 (X.690 §8.9).
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x30])
    }
    /// Only the switch to TLS is parsed ([`upgrade`]); the TLS part goes
    /// to the `tls` log.
    fn parser(&self) -> Option<Box<dyn netsift_proto::Parser>> {
        Some(crate::starttls::watch("LDAP", upgrade::rule))
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let udp = input.transport == Transport::Udp;
        match parse(input.data, udp) {
            Ok(m) => {
                let what = if udp { "CLDAP" } else { "LDAP" };
                Probe::Match(Match::new(format!("{what} {}", m.describe())))
            }
            Err(BerErr::Short) if !udp => Probe::NeedMore,
            Err(_) => Probe::NoMatch,
        }
    }
}

/// RFC 4511 §4.2 ... §4.14: the protocolOp CHOICE, as the full BER
/// identifier octet (APPLICATION class 0x40, constructed bit 0x20).
fn op_name(tag: u8) -> Option<&'static str> {
    Some(match tag {
        0x60 => "bindRequest",
        0x61 => "bindResponse",
        0x42 => "unbindRequest", // [APPLICATION 2] NULL, primitive
        0x63 => "searchRequest",
        0x64 => "searchResEntry",
        0x65 => "searchResDone",
        0x66 => "modifyRequest",
        0x67 => "modifyResponse",
        0x68 => "addRequest",
        0x69 => "addResponse",
        0x4a => "delRequest", // [APPLICATION 10] LDAPDN, primitive
        0x6b => "delResponse",
        0x6c => "modDNRequest",
        0x6d => "modDNResponse",
        0x6e => "compareRequest",
        0x6f => "compareResponse",
        0x50 => "abandonRequest", // [APPLICATION 16] MessageID, primitive
        0x73 => "searchResRef",
        0x77 => "extendedReq",
        0x78 => "extendedResp",
        0x79 => "intermediateResponse",
        _ => return None,
    })
}

/// RFC 4511 §4.1.9 result codes (the common ones).
fn result_name(code: u32) -> &'static str {
    match code {
        0 => "success",
        1 => "operationsError",
        2 => "protocolError",
        3 => "timeLimitExceeded",
        4 => "sizeLimitExceeded",
        7 => "authMethodNotSupported",
        8 => "strongerAuthRequired",
        10 => "referral",
        14 => "saslBindInProgress",
        32 => "noSuchObject",
        34 => "invalidDNSyntax",
        48 => "inappropriateAuthentication",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        _ => "other",
    }
}

/// RFC 4511 §4.14.1: the StartTLS extended operation.
const START_TLS_OID: &[u8] = b"1.3.6.1.4.1.1466.20037";

/// What was recognised, for the evidence.
pub(crate) struct LdapMsg<'a> {
    pub id: u32,
    pub op: &'static str,
    pub detail: Detail<'a>,
}

pub(crate) enum Detail<'a> {
    None,
    Bind {
        version: u32,
        name: &'a [u8],
        auth: &'static str,
    },
    Result(u32),
    Dn(&'a [u8]),
    Oid(&'a [u8]),
}

impl LdapMsg<'_> {
    fn describe(&self) -> String {
        let head = format!("{} (messageID {})", self.op, self.id);
        match &self.detail {
            Detail::None => head,
            Detail::Bind {
                version,
                name,
                auth,
            } => format!(
                "{head}, version {version}, name '{}', {auth} auth",
                printable(name, 64)
            ),
            Detail::Result(c) => format!("{head}, resultCode {c} ({})", result_name(*c)),
            Detail::Dn(dn) => format!("{head}, DN '{}'", printable(dn, 64)),
            Detail::Oid(oid) if *oid == START_TLS_OID => {
                format!("{head}, StartTLS ({})", printable(oid, 40))
            }
            Detail::Oid(oid) => format!("{head}, OID {}", printable(oid, 40)),
        }
    }
}

/// `Short` becomes `Invalid` once the enclosing value is complete: a child
/// cannot run past its parent.
fn short_is_invalid(e: BerErr, parent_complete: bool) -> BerErr {
    if parent_complete {
        BerErr::Invalid
    } else {
        e
    }
}

/// Read the header of the child at `pos` in `c` (the parent's content, of
/// declared length `declared`), check it fits in the parent.
fn child_at(c: &[u8], pos: usize, declared: usize, complete: bool) -> Result<Tlv, BerErr> {
    let t = ber::header(c.get(pos..).unwrap_or(&[])).map_err(|e| short_is_invalid(e, complete))?;
    if pos.saturating_add(t.total()) > declared {
        return Err(BerErr::Invalid);
    }
    Ok(t)
}

/// Parse one LDAPMessage at the start of `data`. `exact`: the message must
/// fill `data` (a UDP datagram).
pub(crate) fn parse(data: &[u8], exact: bool) -> Result<LdapMsg<'_>, BerErr> {
    // RFC 4511 §4.1.1: LDAPMessage ::= SEQUENCE { ... }; the SEQUENCE
    // identifier octet decides before a length is in.
    if data.first().is_some_and(|&b| b != 0x30) {
        return Err(BerErr::Invalid);
    }
    // Its tag is data[0], checked above.
    let seq = ber::header(data)?;
    // messageID (3 bytes at least) + protocolOp (2 bytes at least).
    if seq.len < 5 {
        return Err(BerErr::Invalid);
    }
    if exact && seq.total() != data.len() {
        return Err(BerErr::Invalid);
    }
    let (body, complete) = ber::content(data, &seq);

    // messageID MessageID ::= INTEGER (0 .. maxInt), maxInt 2147483647.
    let idt = child_at(body, 0, seq.len, complete)?;
    if idt.tag != 0x02 || idt.len == 0 || idt.len > 4 {
        return Err(BerErr::Invalid);
    }
    let id = ber::small_uint(body, 0x02).map_err(|e| short_is_invalid(e, complete))?;

    // protocolOp: an APPLICATION-tagged CHOICE alternative.
    let op_pos = idt.total();
    let opt = child_at(body, op_pos, seq.len, complete)?;
    let op = op_name(opt.tag).ok_or(BerErr::Invalid)?;
    // RFC 4511 §4.1.1: controls [0] Controls OPTIONAL is the only thing
    // that may follow the operation.
    let ctl_pos = op_pos + opt.total();
    if ctl_pos < seq.len {
        match ber::header(body.get(ctl_pos..).unwrap_or(&[])) {
            Ok(ct) => {
                if ct.tag != 0xa0 || ctl_pos.saturating_add(ct.total()) != seq.len {
                    return Err(BerErr::Invalid);
                }
            }
            Err(e) => {
                let e = short_is_invalid(e, complete);
                if e == BerErr::Invalid {
                    return Err(e);
                }
                // Not in yet (TCP prefix): checked when it arrives.
            }
        }
    }

    let op_bytes = body.get(op_pos..).unwrap_or(&[]);
    let (oc, op_complete) = ber::content(op_bytes, &opt);
    let detail = check_op(opt.tag, oc, opt.len, op_complete)?;
    Ok(LdapMsg { id, op, detail })
}

/// The content of the first child of `oc` if it has tag `want`.
fn first_content(oc: &[u8], want: u8) -> &[u8] {
    match ber::header(oc) {
        Ok(t) if t.tag == want => ber::content(oc, &t).0,
        _ => &[],
    }
}

/// Check the first fields of an operation's content `oc` (declared length
/// `declared`, `complete` if all of it is present).
fn check_op(tag: u8, oc: &[u8], declared: usize, complete: bool) -> Result<Detail<'_>, BerErr> {
    // Expect children with these tags, in order, all visible.
    let expect = |tags: &[u8]| -> Result<(), BerErr> {
        let mut pos = 0;
        for &want in tags {
            let t = child_at(oc, pos, declared, complete)?;
            if t.tag != want {
                return Err(BerErr::Invalid);
            }
            pos += t.total();
        }
        Ok(())
    };
    match tag {
        // §4.2 BindRequest ::= [APPLICATION 0] SEQUENCE { version INTEGER
        // (1 .. 127), name LDAPDN, authentication AuthenticationChoice }
        // AuthenticationChoice ::= CHOICE { simple [0] OCTET STRING,
        // sasl [3] SaslCredentials, ... }
        0x60 => {
            let vt = child_at(oc, 0, declared, complete)?;
            if vt.tag != 0x02 {
                return Err(BerErr::Invalid);
            }
            let version = ber::small_uint(oc, 0x02).map_err(|e| short_is_invalid(e, complete))?;
            if !(1..=127).contains(&version) {
                return Err(BerErr::Invalid);
            }
            let nt = child_at(oc, vt.total(), declared, complete)?;
            if nt.tag != 0x04 {
                return Err(BerErr::Invalid);
            }
            let np = vt.total();
            let name_all = oc.get(np..).unwrap_or(&[]);
            let name = ber::content(name_all, &nt).0;
            let at = child_at(oc, np + nt.total(), declared, complete)?;
            let auth = match at.tag {
                0x80 => "simple",
                0xa3 => "SASL",
                // [1], [2] were reserved for Kerberos v4; 0x8a/0x8b are
                // the MS-NLMP "sicily" extensions seen from Windows.
                0x89..=0x8b => "sicily/NTLM",
                _ => return Err(BerErr::Invalid),
            };
            Ok(Detail::Bind {
                version,
                name,
                auth,
            })
        }
        // §4.1.9 LDAPResult ::= SEQUENCE { resultCode ENUMERATED,
        // matchedDN LDAPDN, diagnosticMessage LDAPString, ... }
        0x61 | 0x65 | 0x67 | 0x69 | 0x6b | 0x6d | 0x6f | 0x78 => {
            expect(&[0x0a, 0x04, 0x04])?;
            let code = ber::small_uint(oc, 0x0a).map_err(|e| short_is_invalid(e, complete))?;
            Ok(Detail::Result(code))
        }
        // §4.5.1 SearchRequest ::= [APPLICATION 3] SEQUENCE { baseObject
        // LDAPDN, scope ENUMERATED, derefAliases ENUMERATED, sizeLimit
        // INTEGER, timeLimit INTEGER, typesOnly BOOLEAN, filter, attributes }
        0x63 => {
            expect(&[0x04, 0x0a, 0x0a, 0x02, 0x02, 0x01])?;
            Ok(Detail::Dn(first_content(oc, 0x04)))
        }
        // §4.5.2 SearchResultEntry ::= [APPLICATION 4] SEQUENCE {
        // objectName LDAPDN, attributes PartialAttributeList }
        // §4.6 ModifyRequest { object LDAPDN, changes SEQUENCE OF }
        // §4.7 AddRequest { entry LDAPDN, attributes AttributeList }
        // §4.10 CompareRequest { entry LDAPDN, ava AttributeValueAssertion }
        0x64 | 0x66 | 0x68 | 0x6e => {
            expect(&[0x04, 0x30])?;
            Ok(Detail::Dn(first_content(oc, 0x04)))
        }
        // §4.9 ModifyDNRequest { entry LDAPDN, newrdn RelativeLDAPDN, ... }
        0x6c => {
            expect(&[0x04, 0x04, 0x01])?;
            Ok(Detail::Dn(first_content(oc, 0x04)))
        }
        // §4.5.3 SearchResultReference ::= [APPLICATION 19] SEQUENCE
        // SIZE (1..MAX) OF uri URI
        0x73 => {
            expect(&[0x04])?;
            Ok(Detail::None)
        }
        // §4.12 ExtendedRequest ::= [APPLICATION 23] SEQUENCE {
        // requestName [0] LDAPOID, requestValue [1] OCTET STRING OPTIONAL }
        0x77 => {
            expect(&[0x80])?;
            let oid = first_content(oc, 0x80);
            // LDAPOID is a numericoid (RFC 4512 §1.4): digits and dots.
            if oid.is_empty() || !oid.iter().all(|b| b.is_ascii_digit() || *b == b'.') {
                return Err(BerErr::Invalid);
            }
            Ok(Detail::Oid(oid))
        }
        // §4.13 IntermediateResponse { responseName [0] OPTIONAL,
        // responseValue [1] OPTIONAL }
        0x79 => {
            if declared > 0 {
                let t = child_at(oc, 0, declared, complete)?;
                if t.tag != 0x80 && t.tag != 0x81 {
                    return Err(BerErr::Invalid);
                }
            }
            Ok(Detail::None)
        }
        // §4.3 UnbindRequest ::= [APPLICATION 2] NULL
        0x42 => {
            if declared != 0 {
                return Err(BerErr::Invalid);
            }
            Ok(Detail::None)
        }
        // §4.11 AbandonRequest ::= [APPLICATION 16] MessageID
        0x50 => {
            if !(1..=4).contains(&declared) {
                return Err(BerErr::Invalid);
            }
            Ok(Detail::None)
        }
        // §4.8 DelRequest ::= [APPLICATION 10] LDAPDN: a DN is text.
        0x4a => {
            if declared == 0 {
                return Err(BerErr::Invalid);
            }
            if !oc.iter().all(|&b| b >= 0x20 && b != 0x7f) {
                return Err(BerErr::Invalid);
            }
            if !complete {
                return Err(BerErr::Short);
            }
            Ok(Detail::Dn(oc))
        }
        _ => Err(BerErr::Invalid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use netsift_proto::Direction::{ToClient, ToServer};

    // log4j-webapp-exploit.pcap, TCP 57650 -> 1389: frames 11, 13, 15, 17.
    const BIND_REQ: &[u8] = include_bytes!("testdata/bind_request.bin");
    const BIND_RESP: &[u8] = include_bytes!("testdata/bind_response.bin");
    const SEARCH_REQ: &[u8] = include_bytes!("testdata/search_request.bin");
    const SEARCH_ENTRY: &[u8] = include_bytes!("testdata/search_entry.bin");
    // kerberos.pcap frame 14: Active Directory bindResponse with 4-octet
    // long-form lengths (0x84).
    const AD_BIND_RESP: &[u8] = include_bytes!("testdata/ad_bind_response_longform.bin");

    #[test]
    fn real_messages_over_tcp() {
        let e = evidence(run(&Ldap, Transport::Tcp, ToServer, BIND_REQ, &[]));
        assert_eq!(
            e,
            "LDAP bindRequest (messageID 1), version 3, name '', simple auth"
        );
        let e = evidence(run(&Ldap, Transport::Tcp, ToClient, BIND_RESP, BIND_REQ));
        assert!(
            e.contains("bindResponse") && e.contains("resultCode 0 (success)"),
            "{e}"
        );
        let e = evidence(run(&Ldap, Transport::Tcp, ToServer, SEARCH_REQ, &[]));
        assert!(e.contains("searchRequest (messageID 2), DN 'a'"), "{e}");
        let e = evidence(run(&Ldap, Transport::Tcp, ToClient, SEARCH_ENTRY, &[]));
        assert!(e.contains("searchResEntry"), "{e}");
        let e = evidence(run(&Ldap, Transport::Tcp, ToClient, AD_BIND_RESP, &[]));
        assert!(e.contains("bindResponse (messageID 3)"), "{e}");
        // Two messages in one stream prefix.
        let mut two = SEARCH_ENTRY.to_vec();
        two.extend_from_slice(BIND_RESP);
        assert!(matches!(
            run(&Ldap, Transport::Tcp, ToClient, &two, &[]),
            Probe::Match(_)
        ));
    }

    #[test]
    fn first_bytes_declared() {
        use crate::testkit::first_bytes_hold;
        for (t, dir, d) in [
            (Transport::Udp, ToServer, SEARCH_REQ),
            (Transport::Tcp, ToServer, BIND_REQ),
            (Transport::Tcp, ToClient, BIND_RESP),
            (Transport::Tcp, ToClient, SEARCH_ENTRY),
            (Transport::Tcp, ToClient, AD_BIND_RESP),
        ] {
            first_bytes_hold(&Ldap, &input(t, dir, d, &[], 0));
        }
        // A TCP prefix of one octet.
        first_bytes_hold(
            &Ldap,
            &input(Transport::Tcp, ToServer, &BIND_REQ[..1], &[], 0),
        );
    }

    #[test]
    fn cldap_over_udp_must_fill_the_datagram() {
        assert!(matches!(
            run(&Ldap, Transport::Udp, ToServer, SEARCH_REQ, &[]),
            Probe::Match(_)
        ));
        let mut extra = SEARCH_REQ.to_vec();
        extra.push(0);
        assert_eq!(
            run(&Ldap, Transport::Udp, ToServer, &extra, &[]),
            Probe::NoMatch
        );
        assert_eq!(
            run(&Ldap, Transport::Udp, ToServer, &SEARCH_REQ[..20], &[]),
            Probe::NoMatch
        );
    }

    #[test]
    fn start_tls_and_small_ops() {
        // RFC 4511 §4.14.1 StartTLS request, messageID 1.
        let mut m = vec![0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16];
        m.extend_from_slice(START_TLS_OID);
        let e = evidence(run(&Ldap, Transport::Tcp, ToServer, &m, &[]));
        assert!(e.contains("extendedReq (messageID 1), StartTLS"), "{e}");
        // unbindRequest, messageID 7 (log4j-webapp-exploit.pcap ends so).
        let e = evidence(run(
            &Ldap,
            Transport::Tcp,
            ToServer,
            &[0x30, 0x05, 0x02, 0x01, 0x07, 0x42, 0x00],
            &[],
        ));
        assert!(e.contains("unbindRequest"), "{e}");
    }

    #[test]
    fn truncation() {
        for d in [BIND_REQ, BIND_RESP, SEARCH_REQ, SEARCH_ENTRY, AD_BIND_RESP] {
            check_prefixes(&Ldap, Transport::Tcp, ToServer, d, &[]);
            check_prefixes(&Ldap, Transport::Udp, ToServer, d, &[]);
            // A strict prefix of a message is NeedMore over TCP, never
            // NoMatch.
            for n in 1..d.len() {
                assert_ne!(
                    run(&Ldap, Transport::Tcp, ToServer, &d[..n], &[]),
                    Probe::NoMatch,
                    "prefix {n}"
                );
            }
        }
    }

    #[test]
    fn rejects_lookalikes() {
        // SNMPv2c get-request: SEQUENCE { INTEGER 1, OCTET STRING "public", ...}
        let snmp = [
            0x30, 0x26, 0x02, 0x01, 0x01, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xa0,
            0x19, 0x02, 0x04, 0x1d, 0x1e, 0x1f, 0x20, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30,
            0x0b, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x05, 0x00,
        ];
        assert_eq!(
            run(&Ldap, Transport::Udp, ToServer, &snmp, &[]),
            Probe::NoMatch
        );
        assert_eq!(
            run(&Ldap, Transport::Tcp, ToServer, &snmp, &[]),
            Probe::NoMatch
        );
        // Indefinite length.
        assert_eq!(
            run(
                &Ldap,
                Transport::Tcp,
                ToServer,
                &[0x30, 0x80, 2, 1, 1, 0x42, 0],
                &[]
            ),
            Probe::NoMatch
        );
        // Operation overrunning the SEQUENCE.
        assert_eq!(
            run(
                &Ldap,
                Transport::Tcp,
                ToServer,
                &[0x30, 0x05, 2, 1, 1, 0x42, 1, 0],
                &[]
            ),
            Probe::NoMatch
        );
        assert_no_claim_on_others(&Ldap, Transport::Tcp);
        assert_no_claim_on_others(&Ldap, Transport::Udp);
    }

    #[test]
    fn random_bytes_are_not_ldap() {
        assert_random_rate(&Ldap, Transport::Tcp);
        assert_random_rate(&Ldap, Transport::Udp);
    }

    #[test]
    fn first_packet_on_a_non_standard_port() {
        match crate::first_packet::identify_first_payload(Transport::Tcp, ToServer, 8080, BIND_REQ)
        {
            crate::FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "LDAP"),
            other => panic!("{other:?}"),
        }
    }
}
