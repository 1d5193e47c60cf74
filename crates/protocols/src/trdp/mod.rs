//! TRDP (Train Real-time Data Protocol, IEC 61375-2-3 Annex A): process
//! data over UDP 17224, message data over UDP/TCP 17225.
//!
//! IEC 61375-2-3 §A.6.4 PD-PDU header (40 octets, big endian):
//! sequenceCounter (32), protocolVersion (16, 0x0100: major 1), msgType
//! (16: 'Pd' 0x5064 data, 'Pp' 0x5070 pull reply, 'Pr' 0x5072 pull
//! request, 'Pe' 0x5065 error), comId (32), etbTopoCnt (32), opTrnTopoCnt
//! (32), datasetLength (32), reserved (32), replyComId (32),
//! replyIpAddress (32), headerFcs (32): the CRC-32 (IEC 61158 / IEEE 802.3
//! polynomial) of the 36 octets before it. §A.7.4 MD-PDU header (116
//! octets): the same first 24 octets with msgType 'Mn' 0x4D6E, 'Mr'
//! 0x4D72, 'Mp' 0x4D70, 'Mq' 0x4D71, 'Mc' 0x4D63, 'Me' 0x4D65, then
//! replyStatus (32), sessionId (16 octets), replyTimeout (32), sourceURI
//! and destinationURI (32 octets each), headerFcs over the 112 octets
//! before it.
//!
//! The header CRC-32 makes one datagram conclusive. The FCS is accepted in
//! either byte order (the TCNopen reference stack writes it in host order).

use netsift_proto::bytes::{be16, be32};
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// TRDP.
pub struct Trdp;

impl Protocol for Trdp {
    fn name(&self) -> &'static str {
        "TRDP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[17224, 17225]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let tcp = match input.transport {
            Transport::Tcp => true,
            Transport::Udp => false,
            Transport::Ip(_) => return Probe::NoMatch,
        };
        let d = input.data;
        // protocolVersion major 1.
        if d.get(4).is_some_and(|&v| v != 1) {
            return Probe::NoMatch;
        }
        let Some(ty) = be16(d, 6) else {
            return if tcp { Probe::NeedMore } else { Probe::NoMatch };
        };
        let (name, hdr) = match ty {
            0x5064 => ("PD data (Pd)", 40),
            0x5070 => ("PD pull reply (Pp)", 40),
            0x5072 => ("PD pull request (Pr)", 40),
            0x5065 => ("PD error (Pe)", 40),
            0x4d6e => ("MD notification (Mn)", 116),
            0x4d72 => ("MD request (Mr)", 116),
            0x4d70 => ("MD reply (Mp)", 116),
            0x4d71 => ("MD reply with confirmation (Mq)", 116),
            0x4d63 => ("MD confirm (Mc)", 116),
            0x4d65 => ("MD error (Me)", 116),
            _ => return Probe::NoMatch,
        };
        // MD runs over TCP too; PD is UDP only.
        if tcp && hdr == 40 {
            return Probe::NoMatch;
        }
        let Some(h) = d.get(..hdr) else {
            return if tcp { Probe::NeedMore } else { Probe::NoMatch };
        };
        let fcs = be32(h, hdr - 4).unwrap_or(0);
        let crc = crc32(&h[..hdr - 4]);
        if fcs != crc && fcs != crc.swap_bytes() {
            return Probe::NoMatch;
        }
        let dlen = be32(h, 20).unwrap_or(0) as usize;
        if !tcp && d.len() < hdr + dlen {
            return Probe::NoMatch;
        }
        let com_id = be32(h, 8).unwrap_or(0);
        Probe::Match(Match::new(format!(
            "TRDP {name}, ComId {com_id}, header FCS ok"
        )))
    }
}

/// CRC-32 (reflected polynomial 0xEDB88320, initial and final 0xFFFFFFFF).
fn crc32(d: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for &b in d {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, evidence, foreign_never_match,
        probe1, C,
    };

    const UDP: Transport = Transport::Udp;

    /// A PD 'Pd' datagram: sequence 5, version 1.0, type Pd, ComId 1000,
    /// topology counters 0, dataset length 4, reserved, reply ComId 0,
    /// reply IP 0, FCS; then 4 octets of data.
    fn pd(little_endian_fcs: bool) -> Vec<u8> {
        let mut v = vec![0, 0, 0, 5, 1, 0, 0x50, 0x64, 0, 0, 0x03, 0xe8];
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(&[0, 0, 0, 4]);
        v.extend_from_slice(&[0; 12]);
        let c = crc32(&v);
        let fcs = if little_endian_fcs {
            c.to_le_bytes()
        } else {
            c.to_be_bytes()
        };
        v.extend_from_slice(&fcs);
        v.extend_from_slice(&[1, 2, 3, 4]);
        v
    }

    #[test]
    fn crc_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn process_data() {
        for le in [false, true] {
            assert_eq!(
                evidence(probe1(&Trdp, UDP, C, &pd(le))),
                "TRDP PD data (Pd), ComId 1000, header FCS ok"
            );
        }
        let mut bad = pd(false);
        bad[11] ^= 1;
        assert_eq!(probe1(&Trdp, UDP, C, &bad), Probe::NoMatch);
        let p = pd(false);
        assert_eq!(probe1(&Trdp, UDP, C, &p[..p.len() - 1]), Probe::NoMatch);
    }

    #[test]
    fn foreign_and_random() {
        foreign_never_match(&Trdp, Transport::Tcp);
        assert_foreign_rejected(&Trdp, "trdp");
        assert_random_flows_rejected(&Trdp, UDP, 17224);
        assert_random_flows_rejected(&Trdp, Transport::Tcp, 17225);
    }
}
