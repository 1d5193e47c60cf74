//! PPTP control connection (RFC 2637), TCP port 1723.
//!
//! RFC 2637 §2.1, every control message starts with Length (2, the whole
//! message), PPTP Message Type (2: 1 Control Message, 2 Management
//! Message), Magic Cookie (4) "always sent as the constant 0x1A2B3C4D",
//! Control Message Type (2, 1..=15), Reserved0 (2, zero). Each control
//! message type has a fixed length (§2.1-2.15), e.g. 156 for
//! Start-Control-Connection-Request/Reply, 168 Outgoing-Call-Request, 32
//! Outgoing-Call-Reply, 16 Echo-Request. The magic cookie is the
//! signature; a stream is picked up at any message.

use netsift_proto::bytes::{be16, be32};
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// PPTP.
pub struct Pptp;

const MAGIC: u32 = 0x1a2b_3c4d;

fn control(t: u16) -> Option<(&'static str, u16)> {
    Some(match t {
        1 => ("Start-Control-Connection-Request", 156),
        2 => ("Start-Control-Connection-Reply", 156),
        3 => ("Stop-Control-Connection-Request", 16),
        4 => ("Stop-Control-Connection-Reply", 16),
        5 => ("Echo-Request", 16),
        6 => ("Echo-Reply", 20),
        7 => ("Outgoing-Call-Request", 168),
        8 => ("Outgoing-Call-Reply", 32),
        9 => ("Incoming-Call-Request", 220),
        10 => ("Incoming-Call-Reply", 24),
        11 => ("Incoming-Call-Connected", 28),
        12 => ("Call-Clear-Request", 16),
        13 => ("Call-Disconnect-Notify", 148),
        14 => ("WAN-Error-Notify", 40),
        15 => ("Set-Link-Info", 24),
        _ => return None,
    })
}

impl Protocol for Pptp {
    fn name(&self) -> &'static str {
        "PPTP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[1723]
    }
    fn probe(&self, input: &ProbeInput<'_>, _s: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let need = |n: usize| d.len() < n;
        // Magic cookie at 4..8, checked on whatever prefix is there.
        let magic = MAGIC.to_be_bytes();
        let have = d.get(4..).unwrap_or(&[]);
        let n = have.len().min(4);
        if have.get(..n) != magic.get(..n) {
            return Probe::NoMatch;
        }
        let (Some(len), Some(mt)) = (be16(d, 0), be16(d, 2)) else {
            return Probe::NeedMore;
        };
        if mt != 1 && mt != 2 {
            return Probe::NoMatch;
        }
        if need(12) || be32(d, 4).is_none() {
            return Probe::NeedMore;
        }
        let (Some(ct), Some(r0)) = (be16(d, 8), be16(d, 10)) else {
            return Probe::NeedMore;
        };
        let Some((name, want)) = control(ct) else {
            return Probe::NoMatch;
        };
        if r0 != 0 || (mt == 1 && len != want) {
            return Probe::NoMatch;
        }
        Probe::Match(Match::new(format!("PPTP {name}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_random_flows_rejected, check_prefixes, evidence, foreign_never_match, probe1, C, S,
    };

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const SCCRQ: &[u8] = include_bytes!("testdata/sccrq.bin");
    const SCCRP: &[u8] = include_bytes!("testdata/sccrp.bin");

    #[test]
    fn control_connection() {
        assert_eq!(
            evidence(probe1(&Pptp, TCP, C, SCCRQ)),
            "PPTP Start-Control-Connection-Request"
        );
        assert_eq!(
            evidence(probe1(&Pptp, TCP, S, SCCRP)),
            "PPTP Start-Control-Connection-Reply"
        );
        check_prefixes(&Pptp, TCP, C, SCCRQ, &[]);
        check_prefixes(&Pptp, TCP, S, SCCRP, SCCRQ);
    }

    #[test]
    fn rejects_random_and_foreign() {
        assert_random_flows_rejected(&Pptp, TCP, 1723);
        foreign_never_match(&Pptp, TCP);
    }
}
