//! Git's native protocol (git://), identified from the client's request or
//! the server's first pkt-line.
//!
//! gitprotocol-pack(5), "git Transport": "The Git transport starts off by
//! sending the command and repository on the wire using the pkt-line
//! format, followed by a NUL byte and a hostname parameter, terminated by
//! a NUL byte.
//!   0033git-upload-pack /project.git\0host=myserver.com\0"
//! "git-proto-request = request-command SP pathname NUL
//!                      [ host-parameter NUL ] [ NUL extra-parameters ]"
//! with request-command = "git-upload-pack" / "git-receive-pack" /
//! "git-upload-archive".
//! gitprotocol-common(5): "A pkt-line is a variable length binary string.
//! The first four bytes of the line, the pkt-len, indicates the total
//! length of the line, in hexadecimal. The pkt-len includes the 4 bytes
//! used to contain the length's hexadecimal representation."
//!
//! The server answers with its reference advertisement, whose first
//! pkt-line is "obj-id SP refname NUL capability-list" (v0/v1,
//! gitprotocol-pack(5)) or "version 2\n" (gitprotocol-v2(5)).

use netsift_proto::{
    printable, Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// Git.
pub struct Git;

const COMMANDS: &[&[u8]] = &[
    b"git-upload-pack ",
    b"git-receive-pack ",
    b"git-upload-archive ",
];

/// gitprotocol-common(5): "The maximum length of a pkt-line's data
/// component is 65516 bytes"; a request is far shorter.
const MAX_REQUEST: usize = 2048;

impl Protocol for Git {
    fn name(&self) -> &'static str {
        "Git"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[9418]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        match input.dir {
            Direction::ToServer => request(input.data),
            Direction::ToClient => advertisement(input.data),
        }
    }
}

/// The pkt-len of `d`: Some(Ok(len)), Some(Err) when not 4 hex digits,
/// None when fewer than 4 bytes (all hex so far).
fn pkt_len(d: &[u8]) -> Option<Result<usize, ()>> {
    let head = &d[..d.len().min(4)];
    // gitprotocol-common(5): pkt-len is 4 HEXDIG; git writes lowercase.
    if !head
        .iter()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    {
        return Some(Err(()));
    }
    if head.len() < 4 {
        return None;
    }
    let mut n = 0usize;
    for &b in head {
        let v = if b.is_ascii_digit() {
            b - b'0'
        } else {
            b - b'a' + 10
        };
        n = n * 16 + usize::from(v);
    }
    Some(Ok(n))
}

fn request(d: &[u8]) -> Probe {
    let len = match pkt_len(d) {
        None => return Probe::NeedMore,
        Some(Err(())) => return Probe::NoMatch,
        Some(Ok(n)) => n,
    };
    if !(4 + 16 + 2..=MAX_REQUEST).contains(&len) {
        return Probe::NoMatch;
    }
    let body = &d[4..d.len().min(len)];
    let cmd = COMMANDS.iter().find(|c| {
        let n = body.len().min(c.len());
        body[..n] == c[..n]
    });
    let Some(cmd) = cmd else {
        return Probe::NoMatch;
    };
    if body.len() < cmd.len() {
        return Probe::NeedMore;
    }
    // "request-command SP pathname NUL": the pathname is text up to NUL.
    let after = &body[cmd.len()..];
    let nul = after.iter().position(|&b| b == 0);
    let path_end = nul.unwrap_or(after.len());
    let path = &after[..path_end];
    if !path.iter().all(|&b| (0x20..0x7f).contains(&b) || b >= 0x80) {
        return Probe::NoMatch;
    }
    if d.len() < len {
        return Probe::NeedMore;
    }
    if nul.is_none() || path.is_empty() {
        return Probe::NoMatch;
    }
    // "host-parameter = "host=" hostname [ ":" port ]", then NULs and
    // extra parameters ("version=2"): text and NULs only.
    let params = after.get(path_end + 1..).unwrap_or(&[]);
    if !params.iter().all(|&b| b == 0 || (0x20..0x7f).contains(&b)) {
        return Probe::NoMatch;
    }
    if !params.is_empty() && !params.starts_with(b"host=") && params[0] != 0 {
        return Probe::NoMatch;
    }
    let cmd_name = &cmd[..cmd.len() - 1];
    Probe::Match(Match::new(format!(
        "client sent git:// request '{} {}'",
        printable(cmd_name, 20),
        printable(path, 80)
    )))
}

fn advertisement(d: &[u8]) -> Probe {
    let len = match pkt_len(d) {
        None => return Probe::NeedMore,
        Some(Err(())) => return Probe::NoMatch,
        Some(Ok(n)) => n,
    };
    let body = &d[4..d.len().min(len.max(4))];
    // gitprotocol-v2(5): "version 2" LF.
    const V2: &[u8] = b"version 2\n";
    if len == 4 + V2.len() {
        let n = body.len().min(V2.len());
        if body[..n] != V2[..n] {
            return Probe::NoMatch;
        }
        if n < V2.len() {
            return Probe::NeedMore;
        }
        return Probe::Match(Match::new(
            "server sent git protocol 'version 2' advertisement",
        ));
    }
    // v0: "obj-id SP refname NUL capability-list LF"; obj-id is 40 hex
    // digits (SHA-1) or 64 (SHA-256).
    if !(4 + 40 + 1 + 4..=65520).contains(&len) {
        return Probe::NoMatch;
    }
    let hex_len = body
        .iter()
        .take(65)
        .take_while(|b| b.is_ascii_hexdigit())
        .count();
    if hex_len < body.len().min(40) {
        return Probe::NoMatch;
    }
    if body.len() < 66 && body.len() < len - 4 {
        return Probe::NeedMore;
    }
    if !(hex_len == 40 || hex_len == 64) || body.get(hex_len) != Some(&b' ') {
        return Probe::NoMatch;
    }
    let refname = &body[hex_len + 1..];
    let ref_end = refname.iter().position(|&b| b == 0 || b == b'\n');
    let Some(ref_end) = ref_end else {
        return if body.len() < len - 4 {
            Probe::NeedMore
        } else {
            Probe::NoMatch
        };
    };
    let name = &refname[..ref_end];
    // The first ref is HEAD, a refs/... name, or "capabilities^{}" when
    // there are none.
    if !(name == b"HEAD" || name.starts_with(b"refs/") || name == b"capabilities^{}") {
        return Probe::NoMatch;
    }
    Probe::Match(Match::new(format!(
        "server sent git reference advertisement ('{}')",
        printable(name, 60)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::first_packet::{identify_first_payload, FirstVerdict};
    use crate::testkit::{
        check_prefixes, evidence, foreign_never_match, random_matches, run, C, S,
    };

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const V0: &[u8] = include_bytes!("testdata/upload_pack_v0.bin");
    const V2: &[u8] = include_bytes!("testdata/upload_pack_v2.bin");
    const ADV: &[u8] = include_bytes!("testdata/ref_advertisement.bin");
    const ADV2: &[u8] = include_bytes!("testdata/v2_capabilities.bin");

    #[test]
    fn requests() {
        assert_eq!(
            evidence(run(&Git, TCP, C, V0, b"")),
            "client sent git:// request 'git-upload-pack /demo.git'"
        );
        assert_eq!(
            evidence(run(&Git, TCP, C, V2, b"")),
            "client sent git:// request 'git-upload-pack /demo.git'"
        );
        // The example of gitprotocol-pack(5).
        let e = evidence(run(
            &Git,
            TCP,
            C,
            b"0033git-upload-pack /project.git\0host=myserver.com\0",
            b"",
        ));
        assert_eq!(
            e,
            "client sent git:// request 'git-upload-pack /project.git'"
        );
        let e = evidence(run(
            &Git,
            TCP,
            C,
            b"0023git-receive-pack /srv/repo.git\0",
            b"",
        ));
        assert!(e.contains("git-receive-pack"), "{e}");
    }

    #[test]
    fn server_advertisements() {
        let e = evidence(run(&Git, TCP, S, ADV, V0));
        assert_eq!(
            e,
            "server sent git reference advertisement ('refs/heads/main')"
        );
        let e = evidence(run(&Git, TCP, S, ADV2, V2));
        assert_eq!(e, "server sent git protocol 'version 2' advertisement");
    }

    #[test]
    fn not_git() {
        // Wrong pkt-len, no NUL after the path, uppercase hex.
        assert_eq!(
            run(
                &Git,
                TCP,
                C,
                b"0034git-upload-pack /project.git\0host=myserver.com\0",
                b""
            ),
            Probe::NeedMore
        );
        assert_eq!(
            run(&Git, TCP, C, b"0020git-upload-pack /project.git", b""),
            Probe::NoMatch
        );
        assert_eq!(
            run(&Git, TCP, C, b"001Agit-upload-pack /x\0", b""),
            Probe::NoMatch
        );
        assert_eq!(
            run(&Git, TCP, C, b"0018git-upload-pac /x\0\0", b""),
            Probe::NoMatch
        );
        foreign_never_match(&Git, TCP);
    }

    #[test]
    fn prefixes_are_consistent() {
        check_prefixes(&Git, TCP, C, V0, b"");
        check_prefixes(&Git, TCP, C, V2, b"");
        check_prefixes(&Git, TCP, S, ADV, V0);
        check_prefixes(&Git, TCP, S, ADV2, V2);
    }

    #[test]
    fn first_packet_api_on_odd_port() {
        match identify_first_payload(TCP, C, 80, V0) {
            FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "Git"),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn random_bytes_are_not_git() {
        let hits = random_matches(&Git, TCP, 100_000, 0x917, None);
        assert!(hits < 100, "{hits} random matches");
    }
}
