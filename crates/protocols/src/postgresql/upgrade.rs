//! PostgreSQL's switch to TLS (PostgreSQL docs, "Protocol Flow", SSL
//! Session Encryption): "the frontend initially sends an SSLRequest message
//! rather than a StartupMessage. The server then responds with a single
//! byte containing S or N ... If S, ... the frontend should proceed to
//! perform an SSL startup handshake". A GSSENCRequest refused with 'N' may
//! come first ("The frontend might subsequently request SSL encryption").

use netsift_proto::Direction;

use crate::starttls::Watch;

/// "Int32(8) Length of message contents in bytes, including self.
/// Int32(80877103) The SSL request code."
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
/// "Int32(80877104) The GSSAPI Encryption request code."
const GSSENC_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30];

/// The upgrade rule (see [`crate::starttls::Rule`]).
pub(crate) fn rule(dir: Direction, client: &[u8], server: &[u8]) -> Watch {
    let mut c = 0usize;
    // Each request is answered by one byte; at most a GSSENCRequest then
    // an SSLRequest.
    for s in 0..2usize {
        let Some(req) = client.get(c..c + 8) else {
            let part = client.get(c..).unwrap_or(&[]);
            let prefix = SSL_REQUEST.starts_with(part) || GSSENC_REQUEST.starts_with(part);
            return if prefix { Watch::More } else { Watch::Never };
        };
        let ssl = req == SSL_REQUEST;
        if !ssl && req != GSSENC_REQUEST {
            return Watch::Never;
        }
        let Some(&answer) = server.get(s) else {
            return Watch::More;
        };
        match (ssl, answer) {
            // 'S': TLS from the next byte of both sides.
            (true, b'S') if dir == Direction::ToClient => return Watch::After(s + 1),
            // 'N' to GSSENC: the client may ask for SSL next.
            (false, b'N') => c += 8,
            _ => return Watch::Never,
        }
    }
    Watch::Never
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::{ToClient, ToServer};

    #[test]
    fn ssl_request_accepted_refused_or_absent() {
        assert_eq!(rule(ToServer, &SSL_REQUEST, b""), Watch::More);
        assert_eq!(rule(ToServer, &SSL_REQUEST[..5], b""), Watch::More);
        assert_eq!(rule(ToClient, &SSL_REQUEST, b"S"), Watch::After(1));
        assert_eq!(rule(ToClient, &SSL_REQUEST, b"N"), Watch::Never);
        let mut both = GSSENC_REQUEST.to_vec();
        both.extend_from_slice(&SSL_REQUEST);
        assert_eq!(rule(ToClient, &both, b"N"), Watch::More);
        assert_eq!(rule(ToClient, &both, b"NS"), Watch::After(2));
        // A StartupMessage: no upgrade.
        assert_eq!(
            rule(ToServer, b"\x00\x00\x00\x29\x00\x03\x00\x00user", b""),
            Watch::Never
        );
    }

    /// psql sslmode=require against PostgreSQL 15 (a HelloRetryRequest follows): crates/cli/tests/starttls/make-starttls.sh, stream 0 of
    /// the capture, extracted with `tshark -q -z follow,tcp,raw,0`.
    #[test]
    fn real_upgrade_gives_a_tls_record() {
        crate::starttls::assert_real_upgrade(
            "PostgreSQL",
            rule,
            include_str!("testdata/ssl_request.txt"),
            None,
        );
    }
}
