//! DNS (RFC 1035) over UDP and over TCP (RFC 1035 §4.2.2, RFC 7766), on
//! any port. The message must parse completely: a sane header, every
//! question and resource record walked with bounded name compression, and
//! the sections must account for the whole message.
//!
//! The validator in [`parse`] is shared with mDNS, LLMNR and the NetBIOS
//! name service, which are DNS-structured and probed before DNS.

use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

pub(crate) mod parse;
pub(crate) mod rdata;
pub mod record;
pub mod session;
#[cfg(test)]
mod tests;

use parse::{DnsMsg, Fail, Names};

/// DNS.
pub struct Dns;

/// A DNS-structured message found in a probe input.
pub(crate) enum Seen<'a> {
    /// The message (its bytes, without any TCP length prefix).
    Msg(DnsMsg, &'a [u8]),
    NeedMore,
    No,
}

/// Find a DNS-structured message in `input`: the whole datagram over UDP,
/// the first length-prefixed message over TCP (RFC 1035 §4.2.2: "the
/// message is prefixed with a two byte length field which gives the message
/// length, excluding the two byte length field"; RFC 7766 §8: a message may
/// arrive over several segments, so a short prefix asks for more).
pub(crate) fn dns_structure<'a>(input: &ProbeInput<'a>, names: Names) -> Seen<'a> {
    let (declared, msg) = match input.transport {
        Transport::Tcp => match parse::tcp_frame(input.data) {
            Some(f) => f,
            None => return Seen::NeedMore,
        },
        _ => (input.data.len(), input.data),
    };
    match parse::parse(msg, declared, names) {
        Ok(m) => {
            // A prefix is only good enough once a question was checked.
            if !m.complete && m.qd == 0 {
                return Seen::NeedMore;
            }
            if !header_sane(&m, names) {
                return Seen::No;
            }
            // A NetBIOS-encoded first name (RFC 1002 §4.1) is the NetBIOS
            // name service's, even when damaged; DNS leaves it alone.
            if let (Names::Dns, Some(at)) = (names, m.first_name) {
                if msg.get(at) == Some(&0x20)
                    && msg.get(at + 1..at + 33).is_some_and(parse::is_nb_shaped)
                {
                    return Seen::No;
                }
            }
            Seen::Msg(m, msg)
        }
        Err(Fail::Partial { .. }) => {
            // Reject early on a header that can already be seen to be bad.
            match (msg.get(2), msg.get(3)) {
                (Some(&h), Some(&l)) if !flags_sane(u16::from_be_bytes([h, l]), names) => Seen::No,
                _ => Seen::NeedMore,
            }
        }
        Err(Fail::Invalid) => Seen::No,
    }
}

fn flags_sane(flags: u16, names: Names) -> bool {
    let opcode = (flags >> 11) & 0x0f;
    let rcode = flags & 0x0f;
    match names {
        // RFC 1035 §4.1.1: Z "must be zero in all queries and responses";
        // OPCODE 0 QUERY, 1 IQUERY, 2 STATUS (RFC 1035), 4 NOTIFY (RFC
        // 1996), 5 UPDATE (RFC 2136); 3 is unassigned. RCODE 0..=11 are the
        // values a 4-bit header field carries (RFC 6895 §2.3).
        Names::Dns => flags & 0x0040 == 0 && matches!(opcode, 0 | 1 | 2 | 4 | 5) && rcode <= 11,
        // RFC 1002 §4.2.1.1: NM_FLAGS = AA TC RD RA 0 0 B, so the two bits
        // in the middle are zero; OPCODE 0 query, 5 registration, 6
        // release, 7 WACK, 8 refresh (9: multi-homed registration).
        // RCODE 0..=7 (RFC 1002 §4.2.6 FMT_ERR..CFT_ERR).
        Names::Netbios => flags & 0x0060 == 0 && matches!(opcode, 0 | 5..=9) && rcode <= 7,
    }
}

fn header_sane(m: &DnsMsg, names: Names) -> bool {
    if !flags_sane(m.flags, names) {
        return false;
    }
    if !m.is_response() && m.rcode() != 0 {
        // A query carries no error.
        return false;
    }
    // Something must be asked or answered: a bare header is too weak to
    // tell from random bytes.
    m.qd >= 1 || (m.is_response() && m.an >= 1)
}

/// RCODE names as Zeek's `DNS::base_errors` spells them (RFC 1035
/// §4.1.1, RFC 2136 §2.2; the 4-bit header field only).
pub(crate) fn rcode_name(r: u8) -> String {
    match r {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        6 => "YXDOMAIN".into(),
        7 => "YXRRSET".into(),
        8 => "NXRRSet".into(),
        9 => "NOTAUTH".into(),
        10 => "NOTZONE".into(),
        n @ 11..=15 => format!("unassigned-{n}"),
        n => format!("rcode-{n}"),
    }
}

/// `"query for www.example.com A"`, `"response for x A, 3 answers"`.
pub(crate) fn describe(m: &DnsMsg, msg: &[u8]) -> String {
    let what = match m.opcode() {
        0 => "",
        1 => "inverse ",
        2 => "status ",
        4 => "notify ",
        5 => "update ",
        _ => "",
    };
    let dir = if m.is_response() { "response" } else { "query" };
    let mut s = format!("{what}{dir}");
    if let Some(at) = m.first_name {
        s.push_str(&format!(
            " for {} {}",
            parse::render_name(msg, at),
            parse::type_name(m.first_type)
        ));
    }
    if m.is_response() {
        if m.rcode() != 0 {
            s.push_str(&format!(", {}", rcode_name(m.rcode())));
        } else {
            s.push_str(&format!(", {} answers", m.an));
        }
    }
    s
}

impl Protocol for Dns {
    fn name(&self) -> &'static str {
        "DNS"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[53]
    }
    fn parser(&self) -> Option<Box<dyn netsift_proto::Parser>> {
        Some(Box::new(session::DnsParser::new()))
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        match dns_structure(input, Names::Dns) {
            Seen::Msg(m, msg) => {
                let prefix = if input.transport == Transport::Tcp {
                    "DNS over TCP"
                } else {
                    "DNS"
                };
                let std = if m.opcode() == 0 && !m.is_response() {
                    " standard"
                } else {
                    ""
                };
                Probe::Match(Match::new(format!("{prefix}{std} {}", describe(&m, msg))))
            }
            Seen::NeedMore => Probe::NeedMore,
            Seen::No => match damaged_on_dns_port(input) {
                Some(ev) => Probe::Match(Match::new(ev)),
                None => Probe::NoMatch,
            },
        }
    }
}

/// A DNS message that does not parse, sent to or from port 53, whose
/// header still has DNS's shape: 1 to 4 questions, at most 64 records in
/// each other section, and a question name that starts with a label length
/// (RFC 1035 §4.1.1/§4.1.2). Fuzzers, broken stubs and exploits aimed at
/// resolvers send such messages; an analyst wants them called DNS, flagged
/// as malformed. Here the port only tells which structure a damaged message
/// had: the header check alone already rejects almost all other payloads
/// (a random 12-byte header passes with probability below 1e-14).
fn damaged_on_dns_port(input: &ProbeInput<'_>) -> Option<String> {
    if !input.either_port(53) {
        return None;
    }
    let msg = match input.transport {
        Transport::Tcp => parse::tcp_frame(input.data)?.1,
        _ => input.data,
    };
    let count =
        |at: usize| -> Option<u16> { Some(u16::from_be_bytes([*msg.get(at)?, *msg.get(at + 1)?])) };
    let (qd, an, ns, ar) = (count(4)?, count(6)?, count(8)?, count(10)?);
    let first_label = *msg.get(12)?;
    let shaped = (1..=4).contains(&qd)
        && an <= 64
        && ns <= 64
        && ar <= 64
        && (1..=63).contains(&first_label)
        && msg.len() >= 12 + 1 + usize::from(first_label) + 4;
    shaped.then(|| {
        format!(
            "malformed DNS message on port 53: {qd} question(s) in a DNS-shaped header, body does not parse"
        )
    })
}
