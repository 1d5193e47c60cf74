//! FastCGI (FastCGI Specification 1.0, Open Market, 1996), over TCP
//! (9000 for PHP-FPM by convention) or Unix sockets.
//!
//! §3.3, every record: `version(1) type(1) requestId(2) contentLength(2)
//! paddingLength(1) reserved(1)` then content and padding. "version:
//! Identifies the FastCGI protocol version. This specification documents
//! FCGI_VERSION_1" (1). Types (§8): 1 BEGIN_REQUEST, 2 ABORT_REQUEST,
//! 3 END_REQUEST, 4 PARAMS, 5 STDIN, 6 STDOUT, 7 STDERR, 8 DATA,
//! 9 GET_VALUES, 10 GET_VALUES_RESULT, 11 UNKNOWN_TYPE; "Management
//! records have a requestId value of zero" (9, 10, 11).
//! §5.1 FCGI_BeginRequestBody: `role(2) flags(1) reserved[5]`, roles
//! RESPONDER 1, AUTHORIZER 2, FILTER 3; contentLength 8.
//! §3.4 name-value pairs: lengths of 1 octet, or 4 octets with the high
//! bit set.
//!
//! The web server speaks first with BEGIN_REQUEST (or GET_VALUES), so that
//! record, checked field by field, matches; elsewhere (a capture that
//! starts mid-request, or the application's side) two consecutive records
//! of the same request must parse.

use netsift_proto::bytes::{be16, be32, u8_at};
use netsift_proto::{printable, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// FastCGI.
pub struct FastCgi;

const HDR: usize = 8;

fn type_name(t: u8) -> Option<&'static str> {
    Some(match t {
        1 => "BEGIN_REQUEST",
        2 => "ABORT_REQUEST",
        3 => "END_REQUEST",
        4 => "PARAMS",
        5 => "STDIN",
        6 => "STDOUT",
        7 => "STDERR",
        8 => "DATA",
        9 => "GET_VALUES",
        10 => "GET_VALUES_RESULT",
        11 => "UNKNOWN_TYPE",
        _ => return None,
    })
}

/// A record header at `off`: (type, request id, total octets); `Err(true)`
/// when more bytes are needed.
fn record(d: &[u8], off: usize) -> Result<(u8, u16, usize), bool> {
    let b = d.get(off..).unwrap_or(&[]);
    match b.first() {
        None => return Err(true),
        Some(1) => {}
        Some(_) => return Err(false),
    }
    let t = *b.get(1).ok_or(true)?;
    type_name(t).ok_or(false)?;
    let id = be16(b, 2).ok_or(true)?;
    let clen = usize::from(be16(b, 4).ok_or(true)?);
    let pad = usize::from(*b.get(6).ok_or(true)?);
    let rsv = *b.get(7).ok_or(true)?;
    // Management records have id 0, application records do not; padding
    // is "at most 255" and used to align to 8 octets, reserved is zero.
    let mgmt = matches!(t, 9..=11);
    if rsv != 0 || mgmt != (id == 0) || pad > 7 && (clen + pad) % 8 != 0 {
        return Err(false);
    }
    match t {
        1 if clen != 8 => return Err(false),
        2 if clen != 0 => return Err(false),
        3 if clen != 8 => return Err(false),
        11 if clen != 8 => return Err(false),
        _ => {}
    }
    Ok((t, id, HDR + clen + pad))
}

/// The first name of a PARAMS record body (§3.4).
fn first_param(c: &[u8]) -> Option<&[u8]> {
    let (nl, o) = match u8_at(c, 0)? {
        l if l < 0x80 => (usize::from(l), 1),
        _ => ((be32(c, 0)? & 0x7fff_ffff) as usize, 4),
    };
    let (_, o2) = match u8_at(c, o)? {
        l if l < 0x80 => (usize::from(l), o + 1),
        _ => ((be32(c, o)? & 0x7fff_ffff) as usize, o + 4),
    };
    let n = c.get(o2..o2 + nl)?;
    n.iter().all(|b| b.is_ascii_graphic()).then_some(n)
}

impl Protocol for FastCgi {
    fn name(&self) -> &'static str {
        "FastCGI"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[9000]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let d = input.data;
        let (t, id, total) = match record(d, 0) {
            Ok(x) => x,
            Err(true) => return Probe::NeedMore,
            Err(false) => return Probe::NoMatch,
        };
        if t == 1 {
            // §5.1: role 1..=3, flags 0 or FCGI_KEEP_CONN (1), 5 reserved.
            let Some(body) = d.get(HDR..HDR + 8) else {
                return Probe::NeedMore;
            };
            let role = be16(body, 0).unwrap_or(0);
            let role_name = match role {
                1 => "RESPONDER",
                2 => "AUTHORIZER",
                3 => "FILTER",
                _ => return Probe::NoMatch,
            };
            if body.get(2).is_some_and(|&f| f > 1) || body.get(3..8) != Some(&[0u8; 5][..]) {
                return Probe::NoMatch;
            }
            let mut ev = format!("FastCGI BEGIN_REQUEST, request {id}, role {role_name}");
            if let Ok((4, _, _)) = record(d, total) {
                let c = d.get(total + HDR..).unwrap_or(&[]);
                if let Some(n) = first_param(c) {
                    ev.push_str(&format!(", PARAMS {}", printable(n, 40)));
                }
            }
            return Probe::Match(Match::new(ev));
        }
        match record(d, total) {
            Ok((t2, id2, _)) if id2 == id || matches!(t2, 9..=11) || matches!(t, 9..=11) => {
                Probe::Match(Match::new(format!(
                    "FastCGI {} then {} records, request {id}",
                    type_name(t).unwrap_or("?"),
                    type_name(t2).unwrap_or("?")
                )))
            }
            Ok(_) | Err(false) => Probe::NoMatch,
            Err(true) => Probe::NeedMore,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const TCP: Transport = Transport::Tcp;

    /// BEGIN_REQUEST (request 1, RESPONDER, keep-conn 0) then PARAMS with
    /// SCRIPT_FILENAME=/x.php, built field by field from §3.3 and §5.1.
    fn begin() -> Vec<u8> {
        let mut v = vec![1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        let name = b"SCRIPT_FILENAME";
        let val = b"/x.php";
        let clen = 2 + name.len() + val.len();
        v.extend_from_slice(&[1, 4, 0, 1, 0, clen as u8, 0, 0]);
        v.extend_from_slice(&[name.len() as u8, val.len() as u8]);
        v.extend_from_slice(name);
        v.extend_from_slice(val);
        v
    }

    #[test]
    fn real_exchange() {
        // Sources: testdata/README.md.
        let req = include_bytes!("testdata/cgi_fcgi_request.bin");
        let resp = include_bytes!("testdata/flup_response.bin");
        assert_eq!(
            evidence(probe1(&FastCgi, TCP, C, req)),
            "FastCGI BEGIN_REQUEST, request 1, role RESPONDER, PARAMS REQUEST_METHOD"
        );
        assert_eq!(
            evidence(probe1(&FastCgi, TCP, S, resp)),
            "FastCGI STDOUT then STDOUT records, request 1"
        );
        check_prefixes(&FastCgi, TCP, C, req, b"");
        check_prefixes(&FastCgi, TCP, S, resp, req);
    }

    #[test]
    fn begin_request() {
        assert_eq!(
            evidence(probe1(&FastCgi, TCP, C, &begin())),
            "FastCGI BEGIN_REQUEST, request 1, role RESPONDER, PARAMS SCRIPT_FILENAME"
        );
        check_prefixes(&FastCgi, TCP, C, &begin(), b"");
    }

    #[test]
    fn application_side() {
        // STDOUT "Content-type: text/html\r\n\r\nhi" then END_REQUEST.
        let body = b"Content-type: text/html\r\n\r\nhi";
        let mut v = vec![1, 6, 0, 1, 0, body.len() as u8, 0, 0];
        v.extend_from_slice(body);
        v.extend_from_slice(&[1, 3, 0, 1, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            evidence(probe1(&FastCgi, TCP, S, &v)),
            "FastCGI STDOUT then END_REQUEST records, request 1"
        );
        check_prefixes(&FastCgi, TCP, S, &v, b"");
        // GET_VALUES on request 0 then nothing yet.
        assert_eq!(
            probe1(&FastCgi, TCP, C, &[1, 9, 0, 0, 0, 0, 0, 0]),
            Probe::NeedMore
        );
    }

    #[test]
    fn malformed() {
        let mut b = begin();
        b[9] = 4; // role 4
        assert_eq!(probe1(&FastCgi, TCP, C, &b), Probe::NoMatch);
        let mut b = begin();
        b[0] = 2; // version 2
        assert_eq!(probe1(&FastCgi, TCP, C, &b), Probe::NoMatch);
    }

    #[test]
    fn random_foreign() {
        assert_random_flows_rejected(&FastCgi, TCP, 9000);
        foreign_never_match(&FastCgi, TCP);
        assert_foreign_rejected(&FastCgi, "fastcgi");
    }
}
