//! Cloudflare WARP's WireGuard variant over UDP (observed protocol;
//! Cloudflare documents WARP as WireGuard-based but not its wire changes).
//!
//! Observed in nDPI's corpus `cloudflare-warp.pcap` (server port 2408),
//! compared with WireGuard's message layout (whitepaper §5.4): the message
//! type byte carries the two high bits set (0xc1 initiation, 0xc2 response,
//! 0xc4 transport data), and the three bytes WireGuard reserves as zero
//! hold a client identifier (the same in every packet of a session, as
//! community WARP clients' "reserved" setting describes). Transport data
//! keeps WireGuard's receiver index (4 bytes) and little-endian 64-bit
//! counter, starting near zero and growing by one per packet.
//!
//! One header is weak, so two transport data packets of one direction must
//! share the client id and receiver index (7 bytes) with counters that grow
//! by 1..64. Handshake packets keep the flow pending.

use netsift_proto::bytes::{array, le64, u8_at};
use netsift_proto::{
    Direction, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// CloudflareWarp.
pub struct CloudflareWarp;

/// Header 16 + Poly1305 tag 16: the smallest transport data packet.
const DATA_MIN: usize = 32;

impl Protocol for CloudflareWarp {
    fn name(&self) -> &'static str {
        "CloudflareWarp"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[2408]
    }
    // Module doc (observed, after WireGuard whitepaper §5.4): "the message
    // type byte carries the two high bits set (0xc1 initiation, 0xc2
    // response, 0xc4 transport data)"; nothing else gets past the probe.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0xc1, 0xc2, 0xc4])
    }
    fn probe(&self, input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        if input.transport != Transport::Udp {
            return Probe::NoMatch;
        }
        match (u8_at(d, 0), d.len()) {
            // WireGuard's initiation is 148 bytes and the response 92;
            // WARP's are longer (194 and 778 observed).
            (Some(0xc1), n) if n >= 148 => Probe::NeedMore,
            (Some(0xc2), n) if n >= 92 => Probe::NeedMore,
            (Some(0xc4), n) if n >= DATA_MIN => data(input, scratch),
            _ => Probe::NoMatch,
        }
    }
}

/// Scratch word per direction: bit 63 = seen, bits 56..63 = counter low 7
/// bits, bits 0..56 = client id and receiver index (bytes 1..8).
fn data(input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Probe {
    let d = input.data;
    let (Some(ids), Some(counter)) = (array::<8>(d, 0), le64(d, 8)) else {
        return Probe::NoMatch;
    };
    // WireGuard rekeys long before 2^60 messages (REJECT_AFTER_MESSAGES).
    if counter >= 1 << 60 {
        return Probe::NoMatch;
    }
    let key = u64::from_be_bytes(ids) & 0x00ff_ffff_ffff_ffff;
    let slot = usize::from(input.dir == Direction::ToClient);
    let prev = scratch.0[slot];
    let c7 = counter & 0x7f;
    if prev >> 63 == 1 && prev & 0x00ff_ffff_ffff_ffff == key {
        let pc = (prev >> 56) & 0x7f;
        let delta = (c7 + 128 - pc) & 0x7f;
        if (1..=64).contains(&delta) {
            return Probe::Match(Match::new(format!(
                "Cloudflare WARP (WireGuard, type byte 0xc4, client id {:02x}{:02x}{:02x}): transport data, receiver 0x{:08x}, counter {counter}",
                ids[1],
                ids[2],
                ids[3],
                u32::from_le_bytes([ids[4], ids[5], ids[6], ids[7]])
            )));
        }
    }
    scratch.0[slot] = (1 << 63) | (c7 << 56) | key;
    Probe::NeedMore
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const INIT: &[u8] = include_bytes!("testdata/init.bin");
    const RESPONSE: &[u8] = include_bytes!("testdata/response.bin");
    const DATA1: &[u8] = include_bytes!("testdata/data1.bin");
    const DATA2: &[u8] = include_bytes!("testdata/data2.bin");

    #[test]
    fn handshake_then_data() {
        let flow = [(C, INIT), (S, RESPONSE), (C, DATA1), (C, DATA2)];
        let e = feed_evidence(&CloudflareWarp, Transport::Udp, 2408, &flow);
        assert_eq!(
            e,
            "Cloudflare WARP (WireGuard, type byte 0xc4, client id 027800): transport data, receiver 0x00ee8468, counter 2"
        );
        // Mid-session: data packets alone.
        assert!(is_match(&feed(
            &CloudflareWarp,
            Transport::Udp,
            2408,
            &[(C, DATA1), (C, DATA2)]
        )));
        // The same packet twice is not a counter that grows.
        assert!(!is_match(&feed(
            &CloudflareWarp,
            Transport::Udp,
            2408,
            &[(C, DATA1), (C, DATA1)]
        )));
    }

    #[test]
    fn first_bytes_declared() {
        for (dir, d) in [(C, INIT), (S, RESPONSE), (C, DATA1), (C, DATA2)] {
            crate::testkit::first_bytes_hold(
                &CloudflareWarp,
                &input(Transport::Udp, dir, d, &[], 0),
            );
        }
    }

    #[test]
    fn plain_wireguard_is_not_warp() {
        let mut wg = DATA1.to_vec();
        wg[0] = 4;
        wg[1..4].copy_from_slice(&[0, 0, 0]);
        assert_eq!(
            probe1(&CloudflareWarp, Transport::Udp, C, &wg),
            Probe::NoMatch
        );
    }

    #[test]
    fn random_and_foreign() {
        check_prefixes(&CloudflareWarp, Transport::Udp, C, DATA1, &[]);
        assert_random_flows_rejected(&CloudflareWarp, Transport::Udp, 2408);
        foreign_never_match(&CloudflareWarp, Transport::Udp);
    }
}
