//! SCTP, the Stream Control Transmission Protocol, IP protocol 132
//! (RFC 9260, which obsoletes RFC 4960).
//!
//! The wire decoder (netsift-wire) reads the 12-octet common header (ports,
//! verification tag, checksum) and hands the probes the chunks. RFC 9260
//! §3.2: each chunk is `Type (1) | Flags (1) | Length (2) | Value`, "the
//! Chunk Length field ... MUST be at least 4", "the total length of a chunk
//! MUST be a multiple of 4 bytes. If the length of the chunk is not a
//! multiple of 4 bytes, the sender MUST pad the chunk with all zero bytes";
//! so the padded chunk lengths add up to the packet. Chunk types 0 DATA, 1
//! INIT, 2 INIT ACK, 3 SACK, 4 HEARTBEAT, 5 HEARTBEAT ACK, 6 ABORT, 7
//! SHUTDOWN, 8 SHUTDOWN ACK, 9 ERROR, 10 COOKIE ECHO, 11 COOKIE ACK, 12
//! ECNE, 13 CWR, 14 SHUTDOWN COMPLETE, 15 AUTH (RFC 4895), 64 I-DATA (RFC
//! 8260), 128 ASCONF-ACK, 193 ASCONF (RFC 5061), 130 RE-CONFIG (RFC 6525),
//! 132 PAD (RFC 4820), 192 FORWARD TSN (RFC 3758), 194 I-FORWARD-TSN.

use netsift_proto::bytes::{be16, be32, u8_at};
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// SCTP.
pub struct Sctp;

fn chunk_name(t: u8) -> Option<&'static str> {
    Some(match t {
        0 => "DATA",
        1 => "INIT",
        2 => "INIT ACK",
        3 => "SACK",
        4 => "HEARTBEAT",
        5 => "HEARTBEAT ACK",
        6 => "ABORT",
        7 => "SHUTDOWN",
        8 => "SHUTDOWN ACK",
        9 => "ERROR",
        10 => "COOKIE ECHO",
        11 => "COOKIE ACK",
        12 => "ECNE",
        13 => "CWR",
        14 => "SHUTDOWN COMPLETE",
        15 => "AUTH",
        64 => "I-DATA",
        128 => "ASCONF-ACK",
        130 => "RE-CONFIG",
        132 => "PAD",
        192 => "FORWARD TSN",
        193 => "ASCONF",
        194 => "I-FORWARD-TSN",
        _ => return None,
    })
}

/// A few Payload Protocol Identifiers (IANA "SCTP Payload Protocol
/// Identifiers").
fn ppid_name(p: u32) -> &'static str {
    match p {
        2 => " (M2UA)",
        3 => " (M3UA)",
        4 => " (SUA)",
        5 => " (M2PA)",
        7 => " (H.248)",
        18 => " (S1AP)",
        27 => " (X2AP)",
        46 | 47 => " (Diameter)",
        60 => " (NGAP)",
        _ => "",
    }
}

impl Protocol for Sctp {
    fn name(&self) -> &'static str {
        "SCTP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Ip(132)]
    }
    fn probe(&self, input: &ProbeInput<'_>, _s: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let Some(first) = u8_at(d, 0) else {
            return Probe::NoMatch;
        };
        // Walk the chunk list (bounded: at most 64 chunks looked at).
        let mut o = 0usize;
        let mut n = 0;
        while o < d.len() && n < 64 {
            let Some(len) = be16(d, o + 2) else {
                return Probe::NoMatch;
            };
            let len = usize::from(len);
            if len < 4 || o + len > d.len() {
                return Probe::NoMatch;
            }
            o += (len + 3) & !3;
            n += 1;
        }
        if o != d.len() && n < 64 {
            return Probe::NoMatch;
        }
        let Some(name) = chunk_name(first) else {
            return Probe::NoMatch;
        };
        let len = be16(d, 2).map_or(0, usize::from);
        let extra = match first {
            // DATA: TSN, stream id, stream seq, PPID (RFC 9260 §3.3.1).
            0 if len >= 16 => {
                let p = be32(d, 12).unwrap_or(0);
                format!(", PPID {p}{}", ppid_name(p))
            }
            0 => return Probe::NoMatch,
            // INIT / INIT ACK: 16 octets of fixed parameters; the
            // initiate tag "MUST NOT take the value 0".
            1 | 2 if len < 20 || be32(d, 4) == Some(0) => return Probe::NoMatch,
            1 | 2 => format!(
                ", {} outbound / {} inbound streams",
                be16(d, 12).unwrap_or(0),
                be16(d, 14).unwrap_or(0)
            ),
            _ => String::new(),
        };
        let more = if n > 1 {
            format!(" (+{} chunks)", n - 1)
        } else {
            String::new()
        };
        Probe::Match(Match::new(format!("SCTP {name} chunk{extra}{more}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{assert_random_flows_rejected, evidence, probe1, C, S};

    const IP: Transport = Transport::Ip(132);
    // Sources: testdata/README.md (chunks after the 12-octet common header).
    const DATA: &[u8] = include_bytes!("testdata/data.bin");
    const SACK: &[u8] = include_bytes!("testdata/sack.bin");
    const HEARTBEAT: &[u8] = include_bytes!("testdata/heartbeat.bin");

    #[test]
    fn chunks() {
        assert_eq!(
            evidence(probe1(&Sctp, IP, C, DATA)),
            "SCTP DATA chunk, PPID 7 (H.248)"
        );
        assert_eq!(evidence(probe1(&Sctp, IP, S, SACK)), "SCTP SACK chunk");
        assert_eq!(
            evidence(probe1(&Sctp, IP, C, HEARTBEAT)),
            "SCTP HEARTBEAT chunk"
        );
        // INIT (RFC 9260 §3.3.2), built: tag 1, a_rwnd 65535, 10/10
        // streams, initial TSN 1.
        let init = [
            1, 0, 0, 20, 0, 0, 0, 1, 0, 0, 0xff, 0xff, 0, 10, 0, 10, 0, 0, 0, 1,
        ];
        assert_eq!(
            evidence(probe1(&Sctp, IP, C, &init)),
            "SCTP INIT chunk, 10 outbound / 10 inbound streams"
        );
        // Chunk lengths that do not add up.
        let mut bad = SACK.to_vec();
        bad.push(0);
        assert_eq!(probe1(&Sctp, IP, S, &bad), Probe::NoMatch);
        for i in 0..DATA.len() {
            let _ = probe1(&Sctp, IP, C, &DATA[..i]);
        }
    }

    #[test]
    fn rejects_random() {
        assert_random_flows_rejected(&Sctp, IP, 0);
    }
}
