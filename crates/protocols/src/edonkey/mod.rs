//! eDonkey2000 / eMule client-server and client-client TCP protocol (eMule
//! protocol specification, Y. Kulbak and D. Bickson, "The eMule Protocol
//! Specification", 2005, §6 "Client to server" and §7 "Client to client").
//!
//! Every TCP message: protocol byte (0xE3 eDonkey, 0xC5 eMule extensions,
//! 0xD4 zlib-packed), a 4-byte little-endian size (of what follows: the
//! opcode and the body), the opcode. The probe recognises the messages that
//! open a connection and checks their fixed layout:
//! * Hello (0x01, client to client): hash size 16, user hash (16), client
//!   id (4), port (2), tag count (4), tags;
//! * Login request (0x01, client to server): user hash (16), client id (4),
//!   port (2), tag count (4), tags;
//! * Hello answer (0x4C): user hash (16), client id (4), port (2), tag
//!   count (4), tags.
//!
//! A tag (§6.3 "tags") is a type byte, a 2-byte name length (1 for the
//! special one-byte tag names) and the name; eMule's compact form sets bit
//! 7 of the type and follows it with the one-byte name.

use netsift_proto::bytes::{le16, le32, u8_at};
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// eDonkey.
pub struct Edonkey;

const MAX_SIZE: u32 = 0x0020_0000;

/// Whether a tag list starts well at `at`: tag count small, first tag well
/// formed. `None` when more bytes are needed.
fn tags_ok(d: &[u8], at: usize) -> Option<bool> {
    let count = le32(d, at)?;
    if count == 0 {
        return Some(true);
    }
    if count > 64 {
        return Some(false);
    }
    let ty = u8_at(d, at + 4)?;
    if ty & 0x80 != 0 {
        // Compact tag: type 1..=0x20 (strings 0x11.. carry their length in
        // the type), one-byte name.
        return Some((1..=0x20).contains(&(ty & 0x7f)));
    }
    // Classic tag: type 1..=10, name length 1..=64.
    let nl = le16(d, at + 5)?;
    Some((1..=10).contains(&ty) && (1..=64).contains(&nl))
}

impl Protocol for Edonkey {
    fn name(&self) -> &'static str {
        "eDonkey"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[4661, 4662, 4242]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let d = input.data;
        match u8_at(d, 0) {
            None => return Probe::NeedMore,
            Some(0xe3) => {}
            Some(_) => return Probe::NoMatch,
        }
        let Some(size) = le32(d, 1) else {
            return Probe::NeedMore;
        };
        // Smallest opening message: opcode + hash 16 + id 4 + port 2 +
        // tag count 4.
        if !(27..=MAX_SIZE).contains(&size) {
            return Probe::NoMatch;
        }
        let Some(op) = u8_at(d, 5) else {
            return Probe::NeedMore;
        };
        if u8_at(d, 6).is_none() {
            return Probe::NeedMore;
        }
        const HELLO: usize = 6 + 1 + 16 + 4 + 2;
        const PLAIN: usize = 6 + 16 + 4 + 2;
        let (what, tags_at) = match op {
            // A client Hello has a hash size of 16 first; a login request
            // starts with the hash itself (which may begin with 0x10 too).
            0x01 if u8_at(d, 6) == Some(0x10) => match tags_ok(d, HELLO) {
                None => return Probe::NeedMore,
                Some(true) => ("Hello", HELLO),
                Some(false) => ("Login request", PLAIN),
            },
            0x01 => ("Login request", PLAIN),
            0x4c => ("Hello answer", PLAIN),
            _ => return Probe::NoMatch,
        };
        if (size as usize) < tags_at + 4 - 5 {
            return Probe::NoMatch;
        }
        match tags_ok(d, tags_at) {
            None => Probe::NeedMore,
            Some(false) => Probe::NoMatch,
            Some(true) => Probe::Match(Match::new(format!(
                "eDonkey {what} (opcode 0x{op:02x}, {size}-byte message, {} tags)",
                le32(d, tags_at).unwrap_or(0)
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const HELLO: &[u8] = include_bytes!("testdata/hello.bin");
    const ANSWER: &[u8] = include_bytes!("testdata/hello_answer.bin");

    #[test]
    fn hello_and_answer() {
        assert_eq!(
            evidence(probe1(&Edonkey, Transport::Tcp, C, HELLO)),
            "eDonkey Hello (opcode 0x01, 119-byte message, 8 tags)"
        );
        let e = evidence(probe1(&Edonkey, Transport::Tcp, S, ANSWER));
        assert!(e.starts_with("eDonkey Hello answer (opcode 0x4c"), "{e}");
    }

    #[test]
    fn prefixes_random_foreign() {
        check_prefixes(&Edonkey, Transport::Tcp, C, HELLO, &[]);
        check_prefixes(&Edonkey, Transport::Tcp, S, ANSWER, HELLO);
        assert_random_flows_rejected(&Edonkey, Transport::Tcp, 4662);
        foreign_never_match(&Edonkey, Transport::Tcp);
    }
}
