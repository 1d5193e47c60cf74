//! Kerberos V5 (RFC 4120) over UDP and TCP.
//!
//! Every Kerberos message is a DER value with an APPLICATION tag naming its
//! type (RFC 4120 §5.4.1, §5.4.2, §5.5, §5.9.1): AS-REQ `[APPLICATION 10]`
//! (0x6a), AS-REP `[11]` (0x6b), TGS-REQ `[12]` (0x6c), TGS-REP `[13]`
//! (0x6d), AP-REQ `[14]` (0x6e), AP-REP `[15]` (0x6f), KRB-SAFE `[20]`,
//! KRB-PRIV `[21]`, KRB-CRED `[22]` and KRB-ERROR `[30]` (0x7e). Inside is
//! a SEQUENCE whose first two fields are `pvno INTEGER (5)` and
//! `msg-type INTEGER`, the same number as the APPLICATION tag. KDC-REQ
//! numbers them `[1]`/`[2]`, every other message `[0]`/`[1]`.
//!
//! The probe checks all of that, with definite lengths that nest exactly:
//! the APPLICATION value holds exactly one SEQUENCE; over UDP the value
//! fills the datagram; over TCP (RFC 4120 §7.2.2) the message is preceded by
//! a 4-octet big-endian length whose high bit is reserved (must be 0) and
//! which equals the encoded size of the message. Evidence: the message
//! type, and when cheap the realm, client and service principal names and
//! the KRB-ERROR code.

use netsift_proto::{
    printable, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

use crate::ber::{self, BerErr};

/// Kerberos.
pub struct Kerberos;

impl Protocol for Kerberos {
    fn name(&self) -> &'static str {
        "Kerberos"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp, Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[88]
    }
    // UDP: RFC 4120 §5.4.1-§5.9.1, every message is an APPLICATION-tagged
    // DER value (AS-REQ 0x6a ... KRB-ERROR 0x7e), all in 0x60-0x7F. TCP:
    // RFC 4120 §7.2.2, "The high bit of the length is reserved for future
    // expansion and MUST currently be set to zero": 0x00-0x7F.
    fn first_bytes(&self, transport: Transport) -> FirstBytes {
        match transport {
            Transport::Udp => FirstBytes::range(0x60, 0x7f),
            _ => FirstBytes::range(0x00, 0x7f),
        }
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let r = match input.transport {
            Transport::Udp => parse(input.data, true).map(|m| (m, "UDP")),
            _ => parse_tcp(input.data).map(|m| (m, "TCP")),
        };
        match r {
            Ok((m, t)) => Probe::Match(Match::new(m.describe(t))),
            Err(BerErr::Short) if input.transport == Transport::Tcp => Probe::NeedMore,
            Err(_) => Probe::NoMatch,
        }
    }
}

/// RFC 4120 §7.5.7 message types (= APPLICATION tag numbers).
fn msg_name(n: u8) -> Option<&'static str> {
    Some(match n {
        10 => "AS-REQ",
        11 => "AS-REP",
        12 => "TGS-REQ",
        13 => "TGS-REP",
        14 => "AP-REQ",
        15 => "AP-REP",
        20 => "KRB-SAFE",
        21 => "KRB-PRIV",
        22 => "KRB-CRED",
        30 => "KRB-ERROR",
        _ => return None,
    })
}

/// RFC 4120 §7.5.9 error codes (the ones worth naming).
fn error_name(code: u32) -> &'static str {
    match code {
        6 => "KDC_ERR_C_PRINCIPAL_UNKNOWN",
        7 => "KDC_ERR_S_PRINCIPAL_UNKNOWN",
        12 => "KDC_ERR_POLICY",
        14 => "KDC_ERR_ETYPE_NOSUPP",
        18 => "KDC_ERR_CLIENT_REVOKED",
        23 => "KDC_ERR_KEY_EXPIRED",
        24 => "KDC_ERR_PREAUTH_FAILED",
        25 => "KDC_ERR_PREAUTH_REQUIRED",
        31 => "KRB_AP_ERR_BAD_INTEGRITY",
        32 => "KRB_AP_ERR_TKT_EXPIRED",
        37 => "KRB_AP_ERR_SKEW",
        41 => "KRB_AP_ERR_MODIFIED",
        52 => "KRB_ERR_RESPONSE_TOO_BIG",
        60 => "KRB_ERR_GENERIC",
        68 => "KDC_ERR_WRONG_REALM",
        _ => "other",
    }
}

/// What the probe recognised.
pub(crate) struct KrbMsg<'a> {
    pub kind: &'static str,
    pub realm: &'a [u8],
    /// PrincipalName contents (the `SEQUENCE OF KerberosString`).
    pub cname: &'a [u8],
    pub sname: &'a [u8],
    pub error: Option<u32>,
}

/// "user", "krbtgt/EXAMPLE.ORG": the components of a PrincipalName's
/// name-string joined with '/', at most 3.
fn principal(names: &[u8]) -> String {
    let mut s = String::new();
    for (i, (_, c)) in ber::children(names, 3).enumerate() {
        if i > 0 {
            s.push('/');
        }
        s.push_str(&printable(c, 48));
    }
    s
}

impl KrbMsg<'_> {
    fn describe(&self, transport: &str) -> String {
        let mut s = format!("{} over {transport}", self.kind);
        if let Some(c) = self.error {
            s.push_str(&format!(", error-code {c} ({})", error_name(c)));
        }
        if !self.realm.is_empty() {
            s.push_str(&format!(", realm '{}'", printable(self.realm, 64)));
        }
        if !self.cname.is_empty() {
            s.push_str(&format!(", cname '{}'", principal(self.cname)));
        }
        if !self.sname.is_empty() {
            s.push_str(&format!(", sname '{}'", principal(self.sname)));
        }
        s
    }
}

/// RFC 4120 §7.2.2: "each request (KRB_KDC_REQ) and response (KRB_KDC_REP
/// or KRB_ERROR) sent over the TCP stream is preceded by the length of the
/// request as 4 octets in network byte order. The high bit of the length
/// is reserved for future expansion and MUST currently be set to zero."
pub(crate) fn parse_tcp(data: &[u8]) -> Result<KrbMsg<'_>, BerErr> {
    // The reserved high bit decides from the first octet on.
    if data.first().is_some_and(|&b| b & 0x80 != 0) {
        return Err(BerErr::Invalid);
    }
    let hdr: [u8; 4] = data
        .get(..4)
        .and_then(|s| s.try_into().ok())
        .ok_or(BerErr::Short)?;
    // The high bit was checked above (hdr[0] is data[0]).
    let len = u32::from_be_bytes(hdr) as usize;
    if len < 2 {
        return Err(BerErr::Invalid);
    }
    let msg = data.get(4..).unwrap_or(&[]);
    let app = ber::header(msg)?;
    if app.total() != len {
        return Err(BerErr::Invalid);
    }
    parse(msg.get(..len.min(msg.len())).unwrap_or(&[]), false)
}

/// One Kerberos message at the start of `msg`; `exact`: it must fill `msg`.
pub(crate) fn parse(msg: &[u8], exact: bool) -> Result<KrbMsg<'_>, BerErr> {
    let app = ber::header(msg)?;
    // APPLICATION class, constructed: 0b011x_xxxx.
    if app.tag & 0xe0 != 0x60 {
        return Err(BerErr::Invalid);
    }
    let num = app.tag & 0x1f;
    let kind = msg_name(num).ok_or(BerErr::Invalid)?;
    if exact && app.total() != msg.len() {
        return Err(BerErr::Invalid);
    }
    let (body, complete) = ber::content(msg, &app);
    let fix = |e: BerErr| if complete { BerErr::Invalid } else { e };

    // The APPLICATION value is exactly one SEQUENCE.
    let seq = ber::header(body).map_err(fix)?;
    if seq.tag != 0x30 || seq.total() != app.len {
        return Err(BerErr::Invalid);
    }
    let (fields, _) = ber::content(body, &seq);

    // KDC-REQ ::= SEQUENCE { pvno [1] INTEGER (5), msg-type [2] INTEGER
    // (10 -- AS -- | 12 -- TGS --), padata [3] ..., req-body [4] ... }
    // (§5.4.1); every other message: pvno [0], msg-type [1].
    let (t_pvno, t_type) = if num == 10 || num == 12 {
        (0xa1, 0xa2)
    } else {
        (0xa0, 0xa1)
    };
    let mut pos = 0usize;
    for (ctx, want) in [(t_pvno, 5u32), (t_type, num as u32)] {
        let rest = fields.get(pos..).unwrap_or(&[]);
        let t = ber::header(rest).map_err(fix)?;
        if t.tag != ctx || pos.saturating_add(t.total()) > seq.len {
            return Err(BerErr::Invalid);
        }
        let (inner, inner_complete) = ber::content(rest, &t);
        if !inner_complete {
            return Err(fix(BerErr::Short));
        }
        // The INTEGER fills the context tag exactly.
        let it = ber::header(inner).map_err(|_| BerErr::Invalid)?;
        if it.total() != t.len {
            return Err(BerErr::Invalid);
        }
        if ber::small_uint(inner, 0x02).map_err(|_| BerErr::Invalid)? != want {
            return Err(BerErr::Invalid);
        }
        pos += t.total();
    }

    let mut m = KrbMsg {
        kind,
        realm: &[],
        cname: &[],
        sname: &[],
        error: None,
    };
    match num {
        // KDC-REQ-BODY ::= SEQUENCE { kdc-options [0], cname [1] OPTIONAL,
        // realm [2], sname [3] OPTIONAL, ... } (§5.4.1)
        10 | 12 => {
            if let Some(rb) = ber::find_child(fields, 0xa4, 8) {
                let rb = inner_seq(rb);
                m.realm = ber::find_child(rb, 0xa2, 8).map(string).unwrap_or(&[]);
                m.cname = ber::find_child(rb, 0xa1, 8).map(pname).unwrap_or(&[]);
                m.sname = ber::find_child(rb, 0xa3, 8).map(pname).unwrap_or(&[]);
            }
        }
        // KDC-REP ::= SEQUENCE { pvno [0], msg-type [1], padata [2]
        // OPTIONAL, crealm [3], cname [4], ticket [5], enc-part [6] } (§5.4.2)
        11 | 13 => {
            m.realm = ber::find_child(fields, 0xa3, 8).map(string).unwrap_or(&[]);
            m.cname = ber::find_child(fields, 0xa4, 8).map(pname).unwrap_or(&[]);
        }
        // KRB-ERROR ::= SEQUENCE { pvno [0], msg-type [1], ctime [2] OPT,
        // cusec [3] OPT, stime [4], susec [5], error-code [6] Int32,
        // crealm [7] OPT, cname [8] OPT, realm [9], sname [10], ... } (§5.9.1)
        30 => {
            m.error = ber::find_child(fields, 0xa6, 12).and_then(|c| ber::small_uint(c, 0x02).ok());
            m.realm = ber::find_child(fields, 0xa9, 12).map(string).unwrap_or(&[]);
            m.cname = ber::find_child(fields, 0xa8, 12).map(pname).unwrap_or(&[]);
            m.sname = ber::find_child(fields, 0xaa, 12).map(pname).unwrap_or(&[]);
        }
        _ => {}
    }
    Ok(m)
}

/// KerberosString ::= GeneralString (0x1b) (§5.2.1); Realm too.
fn string(c: &[u8]) -> &[u8] {
    match ber::header(c) {
        Ok(t) if t.tag == 0x1b => ber::content(c, &t).0,
        _ => &[],
    }
}

/// PrincipalName ::= SEQUENCE { name-type [0] Int32, name-string [1]
/// SEQUENCE OF KerberosString } (§5.2.2): the SEQUENCE OF's content.
fn pname(c: &[u8]) -> &[u8] {
    ber::find_child(inner_seq(c), 0xa1, 4)
        .map(inner_seq)
        .unwrap_or(&[])
}

/// The content of a SEQUENCE at the start of `c` (empty if not one).
fn inner_seq(c: &[u8]) -> &[u8] {
    match ber::header(c) {
        Ok(t) if t.tag == 0x30 => ber::content(c, &t).0,
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use netsift_proto::Direction::{ToClient, ToServer};

    // kerberos.pcap (TCP, client 172.16.8.201 -> KDC 172.16.8.8:88):
    // frame 1 AS-REQ, frame 2 KRB-ERROR, frame 7 TGS-REQ, frame 8 TGS-REP.
    const AS_REQ_TCP: &[u8] = include_bytes!("testdata/as_req_tcp.bin");
    const ERR_TCP: &[u8] = include_bytes!("testdata/krb_error_tcp.bin");
    const TGS_REQ_TCP: &[u8] = include_bytes!("testdata/tgs_req_tcp.bin");
    const TGS_REP_TCP: &[u8] = include_bytes!("testdata/tgs_rep_tcp.bin");
    // kerberos-error.pcap (UDP 34473 -> 88): frame 1 AS-REQ, frame 2
    // KRB-ERROR.
    const AS_REQ_UDP: &[u8] = include_bytes!("testdata/as_req_udp.bin");
    const ERR_UDP: &[u8] = include_bytes!("testdata/krb_error_udp.bin");

    #[test]
    fn real_messages_over_tcp() {
        let e = evidence(run(&Kerberos, Transport::Tcp, ToServer, AS_REQ_TCP, &[]));
        assert_eq!(
            e,
            "AS-REQ over TCP, realm 'happycraft.org', cname 'johnson-pc$', \
             sname 'krbtgt/happycraft.org'"
        );
        let e = evidence(run(&Kerberos, Transport::Tcp, ToClient, ERR_TCP, &[]));
        assert!(
            e.starts_with("KRB-ERROR over TCP, error-code 25 (KDC_ERR_PREAUTH_REQUIRED)"),
            "{e}"
        );
        let e = evidence(run(&Kerberos, Transport::Tcp, ToServer, TGS_REQ_TCP, &[]));
        assert!(e.starts_with("TGS-REQ over TCP"), "{e}");
        let e = evidence(run(&Kerberos, Transport::Tcp, ToClient, TGS_REP_TCP, &[]));
        assert!(
            e.starts_with("TGS-REP over TCP, realm 'HAPPYCRAFT.ORG'"),
            "{e}"
        );
    }

    #[test]
    fn real_messages_over_udp() {
        let e = evidence(run(&Kerberos, Transport::Udp, ToServer, AS_REQ_UDP, &[]));
        assert!(e.starts_with("AS-REQ over UDP"), "{e}");
        let e = evidence(run(&Kerberos, Transport::Udp, ToClient, ERR_UDP, &[]));
        assert!(e.starts_with("KRB-ERROR over UDP, error-code 52"), "{e}");
        assert!(
            e.contains("realm 'LINUX.SHELL.COM'") && e.contains("krbtgt"),
            "{e}"
        );
        // The TCP framing is not UDP framing and vice versa.
        assert_eq!(
            run(&Kerberos, Transport::Udp, ToServer, AS_REQ_TCP, &[]),
            Probe::NoMatch
        );
        assert_eq!(
            run(&Kerberos, Transport::Tcp, ToServer, AS_REQ_UDP, &[]),
            Probe::NoMatch
        );
    }

    #[test]
    fn truncation() {
        for d in [AS_REQ_TCP, ERR_TCP, TGS_REQ_TCP, TGS_REP_TCP] {
            check_prefixes(&Kerberos, Transport::Tcp, ToServer, d, &[]);
            for n in 0..d.len() {
                assert_ne!(
                    run(&Kerberos, Transport::Tcp, ToServer, &d[..n], &[]),
                    Probe::NoMatch,
                    "prefix {n}"
                );
            }
        }
        for d in [AS_REQ_UDP, ERR_UDP] {
            check_prefixes(&Kerberos, Transport::Udp, ToServer, d, &[]);
        }
    }

    #[test]
    fn first_bytes_declared() {
        use crate::testkit::first_bytes_hold;
        for (t, dir, d) in [
            (Transport::Udp, ToServer, AS_REQ_UDP),
            (Transport::Udp, ToClient, ERR_UDP),
            (Transport::Tcp, ToServer, AS_REQ_TCP),
            (Transport::Tcp, ToClient, ERR_TCP),
            (Transport::Tcp, ToServer, TGS_REQ_TCP),
            (Transport::Tcp, ToClient, TGS_REP_TCP),
        ] {
            first_bytes_hold(&Kerberos, &input(t, dir, d, &[], 0));
            if t == Transport::Tcp {
                // A TCP prefix shorter than the length field.
                first_bytes_hold(&Kerberos, &input(t, dir, &d[..2], &[], 0));
            }
        }
    }

    #[test]
    fn wrong_fields_are_rejected() {
        // msg-type must equal the APPLICATION tag: AS-REQ tag with TGS type.
        let mut bad = AS_REQ_UDP.to_vec();
        // 6a 82 01 1b 30 82 01 17 a1 03 02 01 05 a2 03 02 01 0a
        assert_eq!(bad[17], 0x0a);
        bad[17] = 0x0c;
        assert_eq!(
            run(&Kerberos, Transport::Udp, ToServer, &bad, &[]),
            Probe::NoMatch
        );
        let mut bad = AS_REQ_UDP.to_vec();
        bad[12] = 4; // pvno 4
        assert_eq!(
            run(&Kerberos, Transport::Udp, ToServer, &bad, &[]),
            Probe::NoMatch
        );
        // High bit of the TCP length set.
        let mut bad = AS_REQ_TCP.to_vec();
        bad[0] |= 0x80;
        assert_eq!(
            run(&Kerberos, Transport::Tcp, ToServer, &bad, &[]),
            Probe::NoMatch
        );
        assert_no_claim_on_others(&Kerberos, Transport::Tcp);
        assert_no_claim_on_others(&Kerberos, Transport::Udp);
    }

    #[test]
    fn random_bytes_are_not_kerberos() {
        assert_random_rate(&Kerberos, Transport::Tcp);
        assert_random_rate(&Kerberos, Transport::Udp);
    }

    #[test]
    fn first_packet_on_a_non_standard_port() {
        match crate::first_packet::identify_first_payload(
            Transport::Tcp,
            ToServer,
            8080,
            AS_REQ_TCP,
        ) {
            crate::FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "Kerberos"),
            other => panic!("{other:?}"),
        }
    }
}
