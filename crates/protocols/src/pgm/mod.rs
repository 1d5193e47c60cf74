//! PGM, Pragmatic General Multicast (RFC 3208), IP protocol 113 (and its
//! UDP encapsulation, port 3055, used by OpenPGM).
//!
//! RFC 3208 §8, the common header (16 octets): Source Port (2),
//! Destination Port (2), Type (1: 0x00 SPM, 0x01 POLL, 0x02 POLR, 0x04
//! ODATA, 0x05 RDATA, 0x08 NAK, 0x09 NNAK, 0x0A NCF, 0x0C SPMR, 0x0D
//! ACK), Options (1: bit 0 OPT_PRESENT, bit 1 OPT_NETSIG, bits 6-7
//! OPT_VAR_PKTLEN / OPT_PARITY; the rest reserved), Checksum (2), Global
//! Source ID (6), TSDU Length (2, the data after the type-specific
//! header, 0 for the non-data packets). ODATA/RDATA have 8 more octets of
//! sequence numbers before the data; SPM carries sequence numbers and the
//! path NLA (AFI 1 or 2).

use netsift_proto::bytes::{be16, u8_at};
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// PGM.
pub struct Pgm;

impl Protocol for Pgm {
    fn name(&self) -> &'static str {
        "PGM"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Ip(113)]
    }
    fn probe(&self, input: &ProbeInput<'_>, _s: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Ip(113) {
            return Probe::NoMatch;
        }
        let d = input.data;
        let (Some(t), Some(opts), Some(tsdu)) = (u8_at(d, 4), u8_at(d, 5), be16(d, 14)) else {
            return Probe::NoMatch;
        };
        // Reserved option bits (2-5) zero.
        if opts & 0x3c != 0 {
            return Probe::NoMatch;
        }
        let tsdu = usize::from(tsdu);
        let opt = opts & 0x01 != 0;
        let (name, ok) = match t {
            0x00 => {
                // SPM: sqn, trail, lead (12), NLA AFI (2) 1 or 2.
                let afi = be16(d, 28);
                ("SPM", tsdu == 0 && matches!(afi, Some(1 | 2)))
            }
            0x04 | 0x05 => {
                let name = if t == 4 { "ODATA" } else { "RDATA" };
                // Data after 16 + 8; options (if any) sit in between.
                let rest = d.len().saturating_sub(24);
                (name, tsdu > 0 && (rest == tsdu || (opt && rest > tsdu)))
            }
            0x08..=0x0a => {
                let name = match t {
                    8 => "NAK",
                    9 => "NNAK",
                    _ => "NCF",
                };
                // Requested sequence number, source NLA AFI at 20.
                (name, tsdu == 0 && matches!(be16(d, 20), Some(1 | 2)))
            }
            0x0c => ("SPMR", tsdu == 0 && (d.len() == 16 || opt)),
            0x01 | 0x02 | 0x0d => ("control", tsdu == 0),
            _ => return Probe::NoMatch,
        };
        if !ok {
            return Probe::NoMatch;
        }
        let (sp, dp) = (be16(d, 0).unwrap_or(0), be16(d, 2).unwrap_or(0));
        Probe::Match(Match::new(format!("PGM {name}, ports {sp} -> {dp}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{assert_random_flows_rejected, evidence, probe1, C};

    /// ODATA (RFC 3208 §8.2), built: ports 7500 -> 7500, type 4, no
    /// options, checksum, GSI, TSDU length 5, data sqn 1, trail 0,
    /// "hello".
    const ODATA: &[u8] = &[
        0x1d, 0x4c, 0x1d, 0x4c, 0x04, 0x00, 0xab, 0xcd, 1, 2, 3, 4, 5, 6, 0, 5, 0, 0, 0, 1, 0, 0,
        0, 0, b'h', b'e', b'l', b'l', b'o',
    ];

    #[test]
    fn odata_and_spm() {
        let ip = Transport::Ip(113);
        assert_eq!(
            evidence(probe1(&Pgm, ip, C, ODATA)),
            "PGM ODATA, ports 7500 -> 7500"
        );
        // SPM (§8.1): sqn, trail, lead, NLA AFI 1, reserved, 192.0.2.1.
        let mut spm = ODATA[..16].to_vec();
        spm[4] = 0;
        spm[14..16].copy_from_slice(&[0, 0]);
        spm.extend_from_slice(&[0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 9, 0, 1, 0, 0, 192, 0, 2, 1]);
        assert_eq!(
            evidence(probe1(&Pgm, ip, C, &spm)),
            "PGM SPM, ports 7500 -> 7500"
        );
    }

    #[test]
    fn rejects_random_and_foreign() {
        assert_random_flows_rejected(&Pgm, Transport::Ip(113), 0);
        // PTPv2 (same corpus bytes the UDP variant once claimed).
        let ptp = include_bytes!("../ptpv2/testdata/signaling.bin");
        assert_eq!(probe1(&Pgm, Transport::Udp, C, ptp), Probe::NoMatch);
    }
}
