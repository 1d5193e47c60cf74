//! Syslog (RFC 5424, BSD syslog RFC 3164) over UDP (RFC 5426) and TCP
//! (RFC 6587), on any port.
//!
//! A message starts with the full "<PRI>" header (PRI 0..191, no leading
//! zeros), then either the RFC 5424 version and a space, or an RFC 3164
//! timestamp ("Mmm dd hh:mm:ss"), an ISO 8601 date (as rsyslog sends), or
//! a hostname/tag token; the text after it must be printable.

use netsift_proto::{
    first_line, printable, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol,
};

#[cfg(test)]
mod tests;

/// Syslog.
pub struct Syslog;

/// Bytes of message text checked for printability.
const CHECK: usize = 64;
/// Fewest bytes after the "<PRI>" that say something.
const MIN_BODY: usize = 8;

/// RFC 5424 §6.2.1: "PRI = "<" PRIVAL ">" ; PRIVAL = 1*3DIGIT ; range
/// 0 .. 191" and "Leading "0"s MUST NOT be used". Returns (PRI, bytes).
fn pri(d: &[u8]) -> Result<(u16, usize), bool> {
    // Err(true): could still become a header (too short); Err(false): not.
    if d.first() != Some(&b'<') {
        return Err(d.is_empty());
    }
    let mut v: u16 = 0;
    for i in 1..=4 {
        let Some(&c) = d.get(i) else {
            return Err(true);
        };
        if c == b'>' && i > 1 {
            return if v <= 191 { Ok((v, i + 1)) } else { Err(false) };
        }
        if !c.is_ascii_digit() || i == 4 || (i == 2 && d[1] == b'0') {
            return Err(false);
        }
        v = v * 10 + u16::from(c - b'0');
    }
    Err(false)
}

fn printable_text(d: &[u8]) -> bool {
    // RFC 5424 §6.4: MSG is UTF-8 (bytes >= 0x80 allowed) or ASCII;
    // RFC 3164 §4.1.3: "printable characters"; a trailing LF/CR/NUL ends
    // a frame.
    d.iter()
        .take(CHECK)
        .all(|&b| (0x20..0x7f).contains(&b) || b >= 0x80 || matches!(b, b'\t' | b'\n' | b'\r' | 0))
        && d.iter()
            .take(CHECK)
            .filter(|&&b| b < 0x20 && b != b'\t')
            .count()
            <= 2
}

const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// What follows the PRI: the format's name.
fn after_pri(b: &[u8]) -> Option<&'static str> {
    let digit = |i: usize| b.get(i).is_some_and(|c| c.is_ascii_digit());
    // RFC 5424 §6.2.2: "VERSION = NONZERO-DIGIT 0*2DIGIT" then SP, then
    // TIMESTAMP or NILVALUE "-".
    if b.first() == Some(&b'1') && b.get(1) == Some(&b' ') {
        return (digit(2) || b.get(2) == Some(&b'-')).then_some("RFC 5424");
    }
    // RFC 3164 §4.1.2: TIMESTAMP "Mmm dd hh:mm:ss" ("the day ... a space
    // before it if less than 10").
    if MONTHS.iter().any(|m| b.get(..3) == Some(m)) {
        let ok = b.get(3) == Some(&b' ')
            && (digit(4) || b.get(4) == Some(&b' '))
            && digit(5)
            && b.get(6) == Some(&b' ')
            && digit(7)
            && digit(8)
            && b.get(9) == Some(&b':');
        return ok.then_some("RFC 3164");
    }
    // An ISO 8601 date (rsyslog's RSYSLOG_ForwardFormat): "YYYY-MM-DDT".
    if (0..4).all(digit)
        && b.get(4) == Some(&b'-')
        && digit(5)
        && digit(6)
        && b.get(7) == Some(&b'-')
    {
        return (digit(8) && digit(9) && b.get(10) == Some(&b'T')).then_some("RFC 3164, ISO time");
    }
    // RFC 3164 §4.3.3: a relay may get a message without a timestamp; then
    // a hostname or TAG ("alphanumeric characters") followed by ':', '['
    // or a space.
    let tok = b
        .iter()
        .take(48)
        .position(|&c| !(c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_')))?;
    (tok >= 2 && matches!(b.get(tok), Some(b':' | b'[' | b' '))).then_some("RFC 3164, no timestamp")
}

impl Protocol for Syslog {
    fn name(&self) -> &'static str {
        "Syslog"
    }
    fn transports(&self) -> &'static [netsift_proto::Transport] {
        &[netsift_proto::Transport::Udp, netsift_proto::Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[514, 601, 6514]
    }
    // RFC 5424 §6.2.1: "PRI = "<" PRIVAL ">""; over TCP also RFC 6587
    // §3.4.1 octet counting, "MSG-LEN SP SYSLOG-MSG" (MSG-LEN digits).
    fn first_bytes(&self, _transport: netsift_proto::Transport) -> FirstBytes {
        FirstBytes::only(b"<").or(FirstBytes::range(b'0', b'9'))
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let tcp = input.transport == netsift_proto::Transport::Tcp;
        let mut d = input.data;
        let mut framing = "";
        // RFC 6587 §3.4.1: octet counting, "MSG-LEN SP SYSLOG-MSG".
        if tcp && d.first().is_some_and(|c| c.is_ascii_digit()) {
            let Some(sp) = d.iter().take(6).position(|&c| c == b' ') else {
                return if d.len() < 6 && d.iter().all(u8::is_ascii_digit) {
                    Probe::NeedMore
                } else {
                    Probe::NoMatch
                };
            };
            if sp == 0 || !d[..sp].iter().all(u8::is_ascii_digit) {
                return Probe::NoMatch;
            }
            d = &d[sp + 1..];
            framing = ", octet-counted";
        }
        let (prival, at) = match pri(d) {
            Ok(p) => p,
            Err(true) if tcp => return Probe::NeedMore,
            Err(_) => return Probe::NoMatch,
        };
        let body = &d[at..];
        if body.len() < MIN_BODY {
            return if tcp { Probe::NeedMore } else { Probe::NoMatch };
        }
        let Some(fmt) = after_pri(body) else {
            return Probe::NoMatch;
        };
        if !printable_text(body) {
            return Probe::NoMatch;
        }
        let text = first_line(body, 48).unwrap_or(body);
        Probe::Match(Match::new(format!(
            "Syslog ({fmt}{framing}): facility {}, severity {}: '{}'",
            prival / 8,
            prival % 8,
            printable(text, 40)
        )))
    }
}
