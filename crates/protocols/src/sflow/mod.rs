//! sFlow datagrams: version 5 (sFlow.org "sFlow Version 5", 2004) and the
//! older versions 2 and 4 (RFC 3176).
//!
//! sFlow v5 `sample_datagram_v5`: version (5), agent address type (1 IPv4,
//! 2 IPv6) and address, sub-agent id, sequence number, uptime, number of
//! samples, then samples, each `data_format` (20-bit enterprise, 12-bit
//! format; standard formats 1 flow sample, 2 counters sample, 3 expanded
//! flow sample, 4 expanded counters sample) and a `length` of the opaque
//! sample data. The samples fill the datagram.
//!
//! RFC 3176 (v2/v4): version, agent address type and address, sequence
//! number, uptime, number of samples; the samples carry no length, so
//! only the header is checked (sample types 1 flow or 2 counters).

use netsift_proto::bytes::be32;
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// sFlow.
pub struct Sflow;

impl Protocol for Sflow {
    fn name(&self) -> &'static str {
        "sFlow"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[6343]
    }
    // sFlow v5 "sample_datagram_v5" and RFC 3176 §4 start with the version
    // as an XDR "unsigned int" (5, or 2 / 4): its first octet is 0.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x00])
    }
    fn probe(&self, input: &ProbeInput<'_>, _s: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let (Some(version), Some(at)) = (be32(d, 0), be32(d, 4)) else {
            return Probe::NoMatch;
        };
        let alen = match at {
            1 => 4,
            2 => 16,
            _ => return Probe::NoMatch,
        };
        match version {
            5 => {
                // Header: 8 + address + sub-agent, sequence, uptime, count.
                let h = 8 + alen + 16;
                let Some(n) = be32(d, h - 4) else {
                    return Probe::NoMatch;
                };
                if n == 0 || n > 1000 {
                    return Probe::NoMatch;
                }
                let mut o = h;
                let mut kinds = [0u32; 5];
                for _ in 0..n {
                    let (Some(fmt), Some(len)) = (be32(d, o), be32(d, o + 4)) else {
                        return Probe::NoMatch;
                    };
                    let len = len as usize;
                    if len % 4 != 0 || len > d.len() {
                        return Probe::NoMatch;
                    }
                    if fmt >> 12 == 0 {
                        if let Some(k) = kinds.get_mut((fmt & 0xfff) as usize) {
                            *k += 1;
                        }
                    }
                    o += 8 + len;
                }
                if o != d.len() {
                    return Probe::NoMatch;
                }
                let flows = kinds[1] + kinds[3];
                let counters = kinds[2] + kinds[4];
                Probe::Match(Match::new(format!(
                    "sFlow v5 datagram, {n} samples ({flows} flow, {counters} counters)"
                )))
            }
            2 | 4 => {
                let h = 8 + alen + 12;
                let (Some(n), Some(first)) = (be32(d, h - 4), be32(d, h)) else {
                    return Probe::NoMatch;
                };
                if n == 0 || n > 1000 || !(1..=2).contains(&first) {
                    return Probe::NoMatch;
                }
                Probe::Match(Match::new(format!(
                    "sFlow v{version} datagram, {n} samples"
                )))
            }
            _ => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, evidence, probe1, C,
    };

    const UDP: Transport = Transport::Udp;
    // Sources: testdata/README.md.
    const COUNTERS: &[u8] = include_bytes!("testdata/v5_counters.bin");
    const SAMPLE4: &[u8] = include_bytes!("testdata/v5_sample4.bin");

    #[test]
    fn datagrams() {
        assert_eq!(
            evidence(probe1(&Sflow, UDP, C, COUNTERS)),
            "sFlow v5 datagram, 1 samples (0 flow, 1 counters)"
        );
        assert!(evidence(probe1(&Sflow, UDP, C, SAMPLE4)).starts_with("sFlow v5 datagram"));
        let mut bad = COUNTERS.to_vec();
        bad.push(0);
        assert_eq!(probe1(&Sflow, UDP, C, &bad), Probe::NoMatch);
        for i in 0..COUNTERS.len() {
            assert_eq!(probe1(&Sflow, UDP, C, &COUNTERS[..i]), Probe::NoMatch);
        }
    }

    #[test]
    fn first_bytes_declared() {
        use crate::testkit::input;
        for d in [COUNTERS, SAMPLE4] {
            crate::testkit::first_bytes_hold(&Sflow, &input(UDP, C, d, b"", 0));
        }
    }

    #[test]
    fn rejects_random_and_foreign() {
        assert_random_flows_rejected(&Sflow, UDP, 6343);
        assert_foreign_rejected(&Sflow, "sflow");
    }
}
