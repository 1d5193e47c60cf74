//! PathofExile (Grinding Gear Games): the client's TCP connection to the
//! login server (port 20481). No official specification; the layout is
//! the one documented by the community packet analyser exileSniffer
//! (github.com/ncatlin/exileSniffer, `packetIDs.h` and its login-packet
//! decoder).
//!
//! Both sides open with an unencrypted `LOGIN_EPHEMERAL_PUBKEY` message
//! (id 0x0002, u16 BE), then a u16 BE key length and the ephemeral
//! Diffie-Hellman public key, then a u16 BE signature length and the
//! signature (empty from the client, the server's signature otherwise);
//! everything after it is encrypted. The id, a key of a DH size (64, 128,
//! 256 or 512 bytes) and a signature length that ends the message at or
//! before the end of the stream prefix identify the stream.

use netsift_proto::bytes::be16;
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// PathofExile.
pub struct PathofExile;

impl Protocol for PathofExile {
    fn name(&self) -> &'static str {
        "PathofExile"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[20481]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        for (i, v) in [(0usize, 0x00u8), (1, 0x02)] {
            match d.get(i) {
                Some(&b) if b != v => return Probe::NoMatch,
                None => return Probe::NeedMore,
                _ => {}
            }
        }
        let Some(key) = be16(d, 2) else {
            return Probe::NeedMore;
        };
        if !matches!(key, 64 | 128 | 256 | 512) {
            return Probe::NoMatch;
        }
        let at = 4 + usize::from(key);
        let Some(sig) = be16(d, at) else {
            return Probe::NeedMore;
        };
        if sig != 0 && !(64..=1024).contains(&sig) {
            return Probe::NoMatch;
        }
        if d.len() < at + 2 + usize::from(sig) {
            return Probe::NeedMore;
        }
        Probe::Match(Match::new(format!(
            "Path of Exile login: ephemeral public key ({key} bytes), signature {sig} bytes"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    /// LOGIN_EPHEMERAL_PUBKEY as exileSniffer decodes it.
    fn pubkey(key: u16, sig: u16) -> Vec<u8> {
        let mut m = vec![0x00, 0x02]; // message id
        m.extend_from_slice(&key.to_be_bytes()); // key length
        m.extend((0..key).map(|i| (i * 7 + 3) as u8)); // DH public key
        m.extend_from_slice(&sig.to_be_bytes()); // signature length
        m.extend((0..sig).map(|i| (i * 13 + 1) as u8)); // signature
        m
    }

    #[test]
    fn client_and_server_keys() {
        let c = pubkey(128, 0);
        let e = evidence(probe1(&PathofExile, Transport::Tcp, C, &c));
        assert_eq!(
            e,
            "Path of Exile login: ephemeral public key (128 bytes), signature 0 bytes"
        );
        check_prefixes(&PathofExile, Transport::Tcp, C, &c, &[]);
        let s = pubkey(128, 256);
        let e = evidence(probe1(&PathofExile, Transport::Tcp, S, &s));
        assert!(e.ends_with("signature 256 bytes"), "{e}");
        check_prefixes(&PathofExile, Transport::Tcp, S, &s, &[]);
    }

    #[test]
    fn random_and_foreign_rejected() {
        assert_random_flows_rejected(&PathofExile, Transport::Tcp, 20481);
        assert_foreign_rejected(&PathofExile, "poe");
        foreign_never_match(&PathofExile, Transport::Tcp);
    }
}
