//! AliCloud: the framed TCP protocol Alibaba Cloud IoT/device agents speak
//! to Alibaba Cloud servers (port 8999 in the capture). Observed protocol,
//! no public specification; layout as observed in nDPI's alicloud.pcap:
//!
//! ```text
//! 0           4                 8
//! +-----------+-----------------+------------------+
//! | CE FA BE BA | length (LE u32) | body (encrypted) |
//! +-----------+-----------------+------------------+
//! ```
//! The magic is the little-endian u32 `0xBABEFACE`; `length` counts the
//! body after the 8-octet header (the client sends the header and the body
//! in separate segments: `80 00 00 00` then 128 octets). Both directions
//! start with a frame. The 32-bit magic at the start of a stream plus a
//! sane length is a strong signature; when a whole frame has arrived and
//! more bytes follow, the next frame's magic is checked too.

use netsift_proto::bytes::{array, le32};
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// AliCloud.
pub struct AliCloud;

const MAGIC: [u8; 4] = [0xce, 0xfa, 0xbe, 0xba];
const HEADER: usize = 8;
/// Largest body accepted (the capture's are 48-208 octets; a frame is a
/// control message, not bulk data).
const MAX_BODY: u32 = 1 << 20;

impl Protocol for AliCloud {
    fn name(&self) -> &'static str {
        "AliCloud"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[8999]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let n = d.len().min(4);
        if d.get(..n) != MAGIC.get(..n) {
            return Probe::NoMatch;
        }
        let Some(len) = le32(d, 4) else {
            return Probe::NeedMore;
        };
        if len == 0 || len > MAX_BODY {
            return Probe::NoMatch;
        }
        // A following frame, if already here, must start with the magic.
        let next = HEADER + len as usize;
        if let Some(m) = array::<4>(d, next) {
            if m != MAGIC {
                return Probe::NoMatch;
            }
        }
        Probe::Match(Match::new(format!(
            "AliCloud frame: magic 0xBABEFACE, {len}-octet body"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_random_flows_rejected, check_prefixes, evidence, foreign_never_match, probe1, C, S,
    };
    use netsift_proto::Transport::Tcp;

    // Sources: testdata/README.md.
    const HDR: &[u8] = include_bytes!("testdata/client_hdr.bin");
    const BODY: &[u8] = include_bytes!("testdata/client_body.bin");
    const SERVER: &[u8] = include_bytes!("testdata/server_msg.bin");

    #[test]
    fn corpus_frames() {
        let mut stream = HDR.to_vec();
        stream.extend_from_slice(BODY);
        assert_eq!(
            evidence(probe1(&AliCloud, Tcp, C, &stream)),
            "AliCloud frame: magic 0xBABEFACE, 128-octet body"
        );
        // Server side alone (one-direction capture).
        assert_eq!(
            evidence(probe1(&AliCloud, Tcp, S, SERVER)),
            "AliCloud frame: magic 0xBABEFACE, 48-octet body"
        );
        check_prefixes(&AliCloud, Tcp, C, &stream, b"");
        check_prefixes(&AliCloud, Tcp, S, SERVER, b"");
    }

    #[test]
    fn next_frame_must_have_the_magic() {
        let mut s = SERVER.to_vec();
        s.extend_from_slice(b"GET / HTTP/1.1\r\n");
        assert_eq!(probe1(&AliCloud, Tcp, S, &s), Probe::NoMatch);
        let mut two = SERVER.to_vec();
        two.extend_from_slice(SERVER);
        assert!(matches!(probe1(&AliCloud, Tcp, S, &two), Probe::Match(_)));
        assert_eq!(
            probe1(&AliCloud, Tcp, C, b"\xce\xfa\xbe\xba\0\0\0\0"),
            Probe::NoMatch
        );
    }

    #[test]
    fn random_and_foreign() {
        assert_random_flows_rejected(&AliCloud, Tcp, 8999);
        foreign_never_match(&AliCloud, Tcp);
    }
}
