//! IRCv3 STARTTLS (ircv3.net "tls" extension, deprecated but deployed): the
//! client sends "STARTTLS"; the server answers "670 RPL_STARTTLS
//! <client> :STARTTLS successful, proceed with TLS handshake" and "the
//! client MUST then begin the TLS handshake", or "691 ERR_STARTTLS" on
//! failure.

use netsift_proto::Direction;

use crate::starttls::Watch;

/// Complete lines of `d` with the offset just past each one's LF.
fn lines(d: &[u8]) -> impl Iterator<Item = (&[u8], usize)> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let rest = d.get(at..)?;
        let nl = rest.iter().position(|&b| b == b'\n')?;
        at += nl + 1;
        let l = rest.get(..nl)?;
        Some((l.strip_suffix(b"\r").unwrap_or(l), at))
    })
}

/// RFC 1459 §2.3.1: `message = [':' prefix SPACE] command params crlf`.
fn command(line: &[u8]) -> &[u8] {
    let l = match line.first() {
        Some(b':') => line
            .iter()
            .position(|&b| b == b' ')
            .and_then(|i| line.get(i + 1..))
            .unwrap_or(&[]),
        _ => line,
    };
    l.split(|&b| b == b' ').next().unwrap_or(&[])
}

/// The upgrade rule (see [`crate::starttls::Rule`]).
pub(crate) fn rule(dir: Direction, client: &[u8], server: &[u8]) -> Watch {
    if !lines(client).any(|(l, _)| command(l).eq_ignore_ascii_case(b"STARTTLS")) {
        return Watch::More;
    }
    for (l, end) in lines(server) {
        match command(l) {
            b"670" if dir == Direction::ToClient => return Watch::After(end),
            b"670" | b"691" => return Watch::Never,
            _ => {}
        }
    }
    Watch::More
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::ToClient;

    #[test]
    fn rpl_starttls_and_refusal() {
        let c = b"CAP LS 302\r\nSTARTTLS\r\n";
        let s = b":irc.example NOTICE * :*** Looking up your hostname\r\n:irc.example 670 * :STARTTLS successful, go ahead with TLS handshake\r\n";
        assert_eq!(rule(ToClient, c, s), Watch::After(s.len()));
        assert_eq!(rule(ToClient, c, &s[..60]), Watch::More);
        assert_eq!(
            rule(ToClient, c, b":x 691 * :STARTTLS failed\r\n"),
            Watch::Never
        );
        assert_eq!(rule(ToClient, b"NICK a\r\n", s), Watch::More);
    }

    /// openssl s_client -starttls irc against a Python IRCv3 STARTTLS server: crates/cli/tests/starttls/make-starttls.sh, stream 0 of
    /// the capture, extracted with `tshark -q -z follow,tcp,raw,0`.
    #[test]
    fn real_upgrade_gives_a_tls_record() {
        crate::starttls::assert_real_upgrade(
            "IRC",
            rule,
            include_str!("testdata/starttls.txt"),
            Some("localhost"),
        );
    }
}
