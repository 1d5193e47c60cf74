//! RTMP, the Real-Time Messaging Protocol (Adobe RTMP Specification 1.0,
//! 2012), over TCP (1935).
//!
//! §5.2 Handshake: "The client MUST send C0 and C1 ... then wait for S1";
//! C0/S0: "a single octet ... version. In C0, this field identifies the
//! RTMP version requested by the client. In S0 ... selected by the server.
//! The version defined by this specification is 3" (6 is RTMPE). C1/S1
//! are 1536 octets: time (4), zero (4), random (1528). §5.2.4 C2/S2: "time
//! ... MUST contain the timestamp sent by the peer in S1 (for C2) or C1
//! (for S2)"; "Random echo ... MUST contain the random data field sent by
//! the peer". Flash Player and FFmpeg's digest handshake replaces the echo
//! with an HMAC, so there the first message after C2 decides: §5.3 chunk
//! basic header (fmt 0, chunk stream id 3: 0x03), 11-octet message header
//! with message type 20 (AMF0 command), and the AMF0 string `connect`
//! (7.1.1 "connect" command, AMF0 string marker 0x02 and 16-bit length).
//!
//! Matches: C0 = 3 or 6 and either S0 = C0 with S2 echoing C1's random
//! part, or the AMF0 `connect` command after C0+C1+C2.

use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// RTMP.
pub struct Rtmp;

const SIG: usize = 1536;

impl Protocol for Rtmp {
    fn name(&self) -> &'static str {
        "RTMP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[1935]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let (server, client) = input.server_client();
        let v = match client.first() {
            None => {
                // The server never speaks first; wait for the client.
                return match server.first() {
                    None | Some(3 | 6) => Probe::NeedMore,
                    Some(_) => Probe::NoMatch,
                };
            }
            Some(&v @ (3 | 6)) => v,
            Some(_) => return Probe::NoMatch,
        };
        // C1 "zero" field: four zero octets in the plain handshake; the
        // digest handshake puts a version there, so it is not checked.
        // S2 echoes C1's random part (plain handshake).
        if server.first() == Some(&v) {
            let c1 = client.get(1 + 8..1 + SIG);
            let s2 = server.get(1 + SIG + 8..1 + 2 * SIG);
            if let (Some(c1), Some(s2)) = (c1, s2) {
                if c1 == s2 {
                    return Probe::Match(Match::new(format!(
                        "RTMP handshake version {v}: S2 echoes the client's C1"
                    )));
                }
            }
        } else if !server.is_empty() {
            return Probe::NoMatch;
        }
        // After C0 C1 C2: chunk type 0 on chunk stream 3 (or 2..=63 as
        // some clients use), message type 20, AMF0 "connect".
        let m = 1 + 2 * SIG;
        if let Some(chunk) = client.get(m..m + 12 + 10) {
            let basic = chunk.first().copied().unwrap_or(0xff);
            let csid = basic & 0x3f;
            if basic >> 6 == 0
                && (2..=63).contains(&csid)
                && chunk.get(7) == Some(&20)
                && chunk.get(12..22) == Some(&b"\x02\x00\x07connect"[..])
            {
                return Probe::Match(Match::new(format!(
                    "RTMP version {v} handshake then the AMF0 'connect' command"
                )));
            }
            return Probe::NoMatch;
        }
        Probe::NeedMore
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const TCP: Transport = Transport::Tcp;

    /// C0 + C1 (time 0, zero, a patterned "random" part) as §5.2.3 lays out.
    fn c0c1() -> Vec<u8> {
        let mut v = vec![3, 0, 0, 0, 0, 0, 0, 0, 0];
        v.extend((0..SIG - 8).map(|i| (i * 7 + 3) as u8));
        v
    }

    #[test]
    fn ffmpeg_handshake() {
        // Sources: testdata/README.md.
        let c = include_bytes!("testdata/ffmpeg_c0c1.bin");
        let s = include_bytes!("testdata/ffmpeg_s0s1s2.bin");
        assert_eq!(
            evidence(probe_at(&Rtmp, TCP, S, s, c, 0)),
            "RTMP handshake version 3: S2 echoes the client's C1"
        );
        assert_eq!(probe1(&Rtmp, TCP, C, c), Probe::NeedMore);
    }

    #[test]
    fn plain_handshake_echo() {
        let c = c0c1();
        // S0 + S1 + S2 (S2 = time 0, time2 5, C1's random).
        let mut s = vec![3];
        s.extend((0..SIG).map(|i| (i * 13) as u8));
        s.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 5]);
        s.extend_from_slice(&c[9..]);
        assert_eq!(
            evidence(probe_at(&Rtmp, TCP, S, &s, &c, 0)),
            "RTMP handshake version 3: S2 echoes the client's C1"
        );
        assert_eq!(probe1(&Rtmp, TCP, C, &c), Probe::NeedMore);
        check_prefixes(&Rtmp, TCP, S, &s, &c);
    }

    #[test]
    fn connect_after_digest_handshake() {
        let mut c = c0c1();
        c.extend((0..SIG).map(|i| (i * 5) as u8)); // C2 (an HMAC form)
                                                   // fmt 0 csid 3; timestamp 0; length 0x90; type 20; stream 0.
        c.extend_from_slice(&[0x03, 0, 0, 0, 0, 0, 0x90, 20, 0, 0, 0, 0]);
        c.extend_from_slice(b"\x02\x00\x07connect\x00\x3f\xf0\x00\x00\x00\x00\x00\x00");
        assert_eq!(
            evidence(probe1(&Rtmp, TCP, C, &c)),
            "RTMP version 3 handshake then the AMF0 'connect' command"
        );
        check_prefixes(&Rtmp, TCP, C, &c, b"");
    }

    #[test]
    fn random_foreign() {
        assert_random_flows_rejected(&Rtmp, TCP, 1935);
        foreign_never_match(&Rtmp, TCP);
        assert_foreign_rejected(&Rtmp, "rtmp");
    }
}
