//! Threema's chat-server connection (Threema Cryptography Whitepaper,
//! "Chat Protocol (Message Transport Layer)": the handshake is built from
//! NaCl boxes, so every byte is a key, a random cookie or ciphertext).
//!
//! Per the whitepaper's description of the handshake, the client creates
//! an ephemeral key pair and a random 16-byte cookie and sends the
//! ephemeral public key (32 bytes) with the cookie: its first message is
//! exactly 48 bytes. The server answers with its own 16-byte cookie and a
//! box holding its ephemeral public key and the client's cookie:
//! 16 + (32 + 16 + a 16-byte MAC) = 80 bytes. The client then sends its
//! login box.
//!
//! With no plaintext to check, the probe relies on that exact shape: a
//! client stream of exactly 48 high-entropy bytes answered by exactly 80
//! high-entropy bytes from the server, nothing else sent first. A capture
//! holding only one side, or starting later, cannot be recognised.

use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Threema.
pub struct Threema;

const CLIENT_HELLO: usize = 48;
const SERVER_HELLO: usize = 80;

/// Keys, cookies and ciphertext look random: few repeated bytes. Random
/// 48 bytes have about 44 distinct values; text or padding far fewer.
fn looks_random(d: &[u8]) -> bool {
    let mut seen = [0u64; 4];
    let mut distinct = 0;
    for &b in d {
        let (w, bit) = (usize::from(b >> 6), 1u64 << (b & 63));
        if let Some(x) = seen.get_mut(w) {
            if *x & bit == 0 {
                *x |= bit;
                distinct += 1;
            }
        }
    }
    distinct * 4 >= d.len() * 3
}

impl Protocol for Threema {
    fn name(&self) -> &'static str {
        "Threema"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[5222]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let (server, client) = input.server_client();
        // O(1) length gates first.
        if client.len() > CLIENT_HELLO || server.len() > SERVER_HELLO {
            return Probe::NoMatch;
        }
        if client.len() < CLIENT_HELLO || server.len() < SERVER_HELLO {
            // The server must not speak before the client's hello is whole.
            if !server.is_empty() && client.len() < CLIENT_HELLO {
                return Probe::NoMatch;
            }
            return Probe::NeedMore;
        }
        if !looks_random(client) || !looks_random(server) {
            return Probe::NoMatch;
        }
        Probe::Match(Match::new(
            "Threema handshake: client hello (ephemeral key + cookie, 48 bytes), server hello (cookie + box, 80 bytes)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_random_flows_rejected, check_prefixes, evidence, foreign_never_match, probe_at, C, S,
    };

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const CH: &[u8] = include_bytes!("testdata/client_hello.bin");
    const SH: &[u8] = include_bytes!("testdata/server_hello.bin");
    const LOGIN: &[u8] = include_bytes!("testdata/client_login.bin");

    #[test]
    fn handshake() {
        assert!(evidence(probe_at(&Threema, TCP, S, SH, CH, 0)).starts_with("Threema handshake"));
        assert_eq!(probe_at(&Threema, TCP, C, CH, b"", 0), Probe::NeedMore);
        check_prefixes(&Threema, TCP, S, SH, CH);
    }

    #[test]
    fn other_shapes() {
        // The client's login after the hellos: no longer the handshake.
        let mut longer = CH.to_vec();
        longer.extend_from_slice(LOGIN);
        assert_eq!(probe_at(&Threema, TCP, C, &longer, SH, 1), Probe::NoMatch);
        // Padding or text of the right size is not a key.
        assert_eq!(
            probe_at(&Threema, TCP, S, SH, &[0u8; 48], 0),
            Probe::NoMatch
        );
        let text = b"0123456789 0123456789 0123456789 0123456789 0123";
        assert_eq!(probe_at(&Threema, TCP, S, SH, text, 0), Probe::NoMatch);
        // The server speaking first.
        assert_eq!(probe_at(&Threema, TCP, S, SH, b"", 0), Probe::NoMatch);
    }

    #[test]
    fn foreign_and_random() {
        foreign_never_match(&Threema, TCP);
        assert_random_flows_rejected(&Threema, TCP, 5222);
    }
}
