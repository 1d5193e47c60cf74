//! Bitcoin peer-to-peer protocol, v1 transport (Bitcoin Core developer
//! reference, "P2P Network: Message Headers"; network magics from
//! `chainparams.cpp` as documented there and in BIP 325 / BIP 94).
//!
//! Every message starts with a 24-byte header: "start string" (4 bytes,
//! the network magic), "command name" (12 bytes, "ASCII string which
//! identifies what message type is contained in the payload. Followed by
//! nulls (0x00) to pad out byte count"), "payload size" (uint32 LE,
//! at most 32 MiB, MAX_SIZE) and "checksum" (4 bytes). The stream is
//! length-prefixed, so the first message of either direction (usually
//! `version`, but a capture may start at any message boundary) is checked.
//! The BIP 324 v2 transport is encrypted from the first byte and cannot be
//! recognised from its bytes. Before protocol version 209 `version` and
//! `verack` carried no checksum (a 20-byte header), so the probe decides
//! once the size field is in.

use netsift_proto::bytes::le32;
use netsift_proto::{printable, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// BITCOIN.
pub struct Bitcoin;

const MAGICS: [([u8; 4], &str); 5] = [
    ([0xf9, 0xbe, 0xb4, 0xd9], "mainnet"),
    ([0x0b, 0x11, 0x09, 0x07], "testnet3"),
    ([0x1c, 0x16, 0x3f, 0x28], "testnet4"),
    ([0xfa, 0xbf, 0xb5, 0xda], "regtest"),
    ([0x0a, 0x03, 0xcf, 0x40], "signet"),
];

/// MAX_SIZE of a serialized message payload (32 MiB).
const MAX_PAYLOAD: u32 = 0x0200_0000;

impl Protocol for Bitcoin {
    fn name(&self) -> &'static str {
        "BITCOIN"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[8333, 18333, 18444, 38333]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let d = input.data;
        let n = d.len().min(4);
        let Some(net) = MAGICS
            .iter()
            .find(|(m, _)| d.get(..n) == m.get(..n))
            .map(|(_, name)| *name)
        else {
            return Probe::NoMatch;
        };
        if d.len() < 4 {
            return Probe::NeedMore;
        }
        // Command: 1..12 ASCII letters/digits, then NUL padding only.
        let cmd_avail = d.get(4..d.len().min(16)).unwrap_or(&[]);
        let name_len = cmd_avail
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(cmd_avail.len());
        let (name, pad) = cmd_avail.split_at(name_len);
        if !name.iter().all(|b| b.is_ascii_alphanumeric()) || pad.iter().any(|&b| b != 0) {
            return Probe::NoMatch;
        }
        if d.len() < 16 {
            return Probe::NeedMore;
        }
        if name.is_empty() {
            return Probe::NoMatch;
        }
        let Some(size) = le32(d, 16) else {
            return Probe::NeedMore;
        };
        if size > MAX_PAYLOAD {
            return Probe::NoMatch;
        }
        Probe::Match(Match::new(format!(
            "Bitcoin {net} '{}' message, {size}-byte payload",
            printable(name, 12)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const VERSION: &[u8] = include_bytes!("testdata/version.bin");
    const VERACK: &[u8] = include_bytes!("testdata/verack.bin");

    #[test]
    fn version_and_verack() {
        assert_eq!(
            evidence(probe1(&Bitcoin, Transport::Tcp, C, VERSION)),
            "Bitcoin mainnet 'version' message, 85-byte payload"
        );
        assert_eq!(
            evidence(probe1(&Bitcoin, Transport::Tcp, S, VERACK)),
            "Bitcoin mainnet 'verack' message, 0-byte payload"
        );
    }

    #[test]
    fn other_networks_and_bad_commands() {
        // regtest magic, command "ping" (4 letters + 8 NULs), size 8,
        // checksum.
        let mut m = vec![0xfa, 0xbf, 0xb5, 0xda];
        m.extend_from_slice(b"ping\0\0\0\0\0\0\0\0");
        m.extend_from_slice(&8u32.to_le_bytes());
        m.extend_from_slice(&[1, 2, 3, 4]);
        assert!(evidence(probe1(&Bitcoin, Transport::Tcp, C, &m)).contains("regtest 'ping'"));
        // Text after the NUL padding is not a command.
        let mut bad = m.clone();
        bad[12] = b'x';
        assert_eq!(probe1(&Bitcoin, Transport::Tcp, C, &bad), Probe::NoMatch);
        // Payload over 32 MiB.
        let mut big = m.clone();
        big[16..20].copy_from_slice(&0x0300_0000u32.to_le_bytes());
        assert_eq!(probe1(&Bitcoin, Transport::Tcp, C, &big), Probe::NoMatch);
    }

    #[test]
    fn prefixes_random_foreign() {
        check_prefixes(&Bitcoin, Transport::Tcp, C, VERSION, &[]);
        check_prefixes(&Bitcoin, Transport::Tcp, S, VERACK, VERSION);
        assert_random_flows_rejected(&Bitcoin, Transport::Tcp, 8333);
        foreign_never_match(&Bitcoin, Transport::Tcp);
    }
}
