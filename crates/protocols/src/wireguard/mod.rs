//! WireGuard (whitepaper "WireGuard: Next Generation Kernel Network Tunnel",
//! §5.4, and the Linux implementation's `messages.h`), over UDP on any port.
//!
//! Every message starts with a one-byte type and three reserved zero bytes.
//! Handshake messages have fixed sizes, so one of them is enough; transport
//! data (type 4) is only a 16-byte header before ciphertext, so two packets
//! of one direction must agree (same receiver index, growing counter).

use netsift_proto::bytes::{le32, le64};
use netsift_proto::{
    Direction, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

#[cfg(test)]
mod tests;

/// WireGuard.
pub struct Wireguard;

/// §5.4.2: "msg.message_type := 1 (1 byte), msg.reserved_zero := 0^3 (3
/// bytes), msg.sender := I_i (4 bytes), msg.unencrypted_ephemeral (32),
/// msg.encrypted_static (32+16), msg.encrypted_timestamp (12+16), msg.mac1
/// (16), msg.mac2 (16)" = 148 bytes.
const INITIATION_LEN: usize = 148;
/// §5.4.3: type 2, reserved, sender (4), receiver (4), ephemeral (32),
/// empty (0+16), mac1 (16), mac2 (16) = 92 bytes.
const RESPONSE_LEN: usize = 92;
/// §5.4.7: type 3, reserved, receiver (4), nonce (24), encrypted cookie
/// (16+16) = 64 bytes.
const COOKIE_LEN: usize = 64;
/// §5.4.6: type 4, reserved, receiver (4), counter (8), then the
/// encapsulated packet "zero padded to a multiple of 16" plus a 16-byte
/// Poly1305 tag: at least 32 bytes (a keepalive), a multiple of 16.
const DATA_MIN: usize = 32;

impl Protocol for Wireguard {
    fn name(&self) -> &'static str {
        "WireGuard"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[51820]
    }
    // Whitepaper §5.4.2-§5.4.6: "msg.message_type := 1" (initiation), 2
    // (response), 3 (cookie reply), 4 (transport data).
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::range(1, 4)
    }
    fn probe(&self, input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        // "reserved_zero := 0^3": bytes 1..4 are zero in every message.
        if d.len() < 4 || d[1..4] != [0, 0, 0] {
            return Probe::NoMatch;
        }
        let idx = le32(d, 4).unwrap_or(0);
        match (d[0], d.len()) {
            (1, INITIATION_LEN) if idx != 0 => Probe::Match(Match::new(format!(
                "WireGuard handshake initiation (148 bytes), sender index 0x{idx:08x}"
            ))),
            (2, RESPONSE_LEN) if idx != 0 => {
                let recv = le32(d, 8).unwrap_or(0);
                Probe::Match(Match::new(format!(
                    "WireGuard handshake response (92 bytes), sender 0x{idx:08x}, receiver 0x{recv:08x}"
                )))
            }
            (3, COOKIE_LEN) if idx != 0 => Probe::Match(Match::new(format!(
                "WireGuard cookie reply (64 bytes), receiver 0x{idx:08x}"
            ))),
            (4, n) if n >= DATA_MIN && n % 16 == 0 => data_packet(input, scratch, idx),
            _ => Probe::NoMatch,
        }
    }
}

/// Transport data: two packets of one direction with the same receiver
/// index and a larger counter ("counter ... incremented for each message",
/// §5.4.6) match. Scratch word per direction: bit 63 = seen, bits 32..63 =
/// receiver index, bits 0..32 = low counter bits.
fn data_packet(input: &ProbeInput<'_>, scratch: &mut ProbeScratch, recv: u32) -> Probe {
    let counter = le64(input.data, 8).unwrap_or(u64::MAX);
    // A counter near 2^64 cannot be real (REJECT_AFTER_MESSAGES = 2^60).
    if counter >= 1 << 60 {
        return Probe::NoMatch;
    }
    let slot = usize::from(input.dir == Direction::ToClient);
    let prev = scratch.0[slot];
    let cur = (1u64 << 63) | (u64::from(recv & 0x7fff_ffff) << 32) | (counter & 0xffff_ffff);
    if prev & (1 << 63) != 0 && (prev >> 32) & 0x7fff_ffff == u64::from(recv & 0x7fff_ffff) {
        let pc = prev & 0xffff_ffff;
        let c = counter & 0xffff_ffff;
        // Counters grow; UDP may reorder or lose a few.
        if c > pc && c - pc <= 64 {
            return Probe::Match(Match::new(format!(
                "WireGuard transport data: receiver 0x{recv:08x}, counters {pc} then {c}"
            )));
        }
    }
    scratch.0[slot] = cur;
    Probe::NeedMore
}
