//! LDAP's StartTLS operation (RFC 4511 §4.14): "A client requests TLS
//! establishment by transmitting a StartTLS request operation to a server.
//! The StartTLS request is defined in terms of an ExtendedRequest. The
//! requestName is "1.3.6.1.4.1.1466.20037"" (§4.14.1); "If the server is
//! willing and able to negotiate TLS, it returns the StartTLS extended
//! response with the resultCode set to success (0). Upon client receipt of
//! a successful StartTLS response, protocol peers may commence with TLS
//! negotiation" (§4.14.2).

use netsift_proto::Direction;

use crate::ber;
use crate::starttls::Watch;

/// §4.14.1: the StartTLS requestName.
const START_TLS_OID: &[u8] = b"1.3.6.1.4.1.1466.20037";
/// RFC 4511 §4.12: "ExtendedRequest ::= [APPLICATION 23] SEQUENCE"
/// (constructed: 0x40 | 0x20 | 23) and "ExtendedResponse ::= [APPLICATION
/// 24] SEQUENCE".
const EXTENDED_REQ: u8 = 0x77;
const EXTENDED_RESP: u8 = 0x78;
/// "requestName [0] LDAPOID" (context-specific, primitive).
const REQUEST_NAME: u8 = 0x80;
/// LDAPResult's "resultCode ENUMERATED" (§4.1.9).
const ENUMERATED: u8 = 0x0a;
/// Messages of each direction looked at.
const MAX_MSGS: usize = 64;

/// The complete LDAPMessages at the start of `d` (§4.2.1: "LDAPMessage ::=
/// SEQUENCE { messageID MessageID, protocolOp CHOICE {...}, controls [0]
/// Controls OPTIONAL }"): (messageID, protocolOp tag, protocolOp content,
/// end offset of the message). Stops at the first incomplete or invalid.
fn messages(d: &[u8]) -> Vec<(u32, u8, &[u8], usize)> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while out.len() < MAX_MSGS {
        let rest = d.get(at..).unwrap_or(&[]);
        let Ok(t) = ber::header(rest) else { break };
        let (body, complete) = ber::content(rest, &t);
        if t.tag != 0x30 || !complete {
            break;
        }
        let mut kids = ber::children(body, 3);
        let Some((0x02, id)) = kids.next() else { break };
        let id = id.iter().take(4).fold(0u32, |a, &b| a << 8 | u32::from(b));
        let Some((op, content)) = kids.next() else {
            break;
        };
        at += t.total();
        out.push((id, op, content, at));
    }
    out
}

/// The upgrade rule (see [`crate::starttls::Rule`]).
pub(crate) fn rule(dir: Direction, client: &[u8], server: &[u8]) -> Watch {
    let start_tls = messages(client).into_iter().find(|(_, op, c, _)| {
        *op == EXTENDED_REQ && ber::find_child(c, REQUEST_NAME, 2) == Some(START_TLS_OID)
    });
    let Some((id, ..)) = start_tls else {
        return Watch::More;
    };
    for (rid, op, c, end) in messages(server) {
        if rid != id || op != EXTENDED_RESP {
            continue;
        }
        let code = ber::find_child(c, ENUMERATED, 1);
        return match code {
            Some([0]) if dir == Direction::ToClient => Watch::After(end),
            _ => Watch::Never,
        };
    }
    Watch::More
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ldapsearch -ZZ against slapd 2.5: crates/cli/tests/starttls/make-starttls.sh, stream 0 of
    /// the capture, extracted with `tshark -q -z follow,tcp,raw,0`.
    #[test]
    fn real_upgrade_gives_a_tls_record() {
        crate::starttls::assert_real_upgrade(
            "LDAP",
            rule,
            include_str!("testdata/starttls.txt"),
            None,
        );
    }
}
