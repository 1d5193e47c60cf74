//! IEC 60870-5-104 (telecontrol over TCP, port 2404), identified from its
//! APCI framing.
//!
//! IEC 60870-5-104 §5.1: an APDU starts with START 0x68, then the length of
//! the APDU (the four control octets plus the ASDU, "maximum 253"), then
//! four control field octets. §5.1 Figures 6-8: I format (bit 1 of octet 1
//! = 0; bit 1 of octet 3 = 0: send and receive sequence numbers), S format
//! (octet 1 = 0x01, octet 2 = 0, bit 1 of octet 3 = 0), U format (octet 1 =
//! 0b000xxx11 with exactly one of STARTDT act/con (0x07/0x0B), STOPDT
//! act/con (0x13/0x23), TESTFR act/con (0x43/0x83); octets 2-4 = 0). S and U
//! APDUs carry no ASDU (length 4). An I APDU carries an ASDU (IEC 60870-5-
//! 101 §7.1 with the -104 field sizes): type identification (1..=127 with
//! the defined types of -101 §7.2.1.1 and -104 §8), variable structure
//! qualifier, cause of transmission (2 octets, cause 1..=47 in the low six
//! bits), common address (2 octets), information objects (IOA 3 octets).
//!
//! Either side may speak first and a capture may start at any APDU, so the
//! probe takes a U or S APDU alone (their control fields are fixed to 31 or
//! more bits), and an I APDU when its ASDU header is valid and the stream
//! ends with it or goes on with another START.

use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// IEC 60870-5-104.
pub struct Iec60870;

impl Protocol for Iec60870 {
    fn name(&self) -> &'static str {
        "IEC60870"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[2404]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let d = input.data;
        if d.first().is_some_and(|&b| b != 0x68) {
            return Probe::NoMatch;
        }
        let Some(&len) = d.get(1) else {
            return Probe::NeedMore;
        };
        if !(4..=253).contains(&len) {
            return Probe::NoMatch;
        }
        let Some(ctl) = d.get(2..6) else {
            // Check what is there of the control field.
            return if d.get(2).is_some_and(|&c| !control_start_ok(c, len)) {
                Probe::NoMatch
            } else {
                Probe::NeedMore
            };
        };
        if ctl[0] & 1 == 0 {
            // I format.
            if ctl[2] & 1 != 0 || len < 4 + 6 {
                return Probe::NoMatch;
            }
            i_format(d, usize::from(len), ctl, input.peer)
        } else if ctl[0] == 0x01 {
            // S format.
            if len != 4 || ctl[1] != 0 || ctl[2] & 1 != 0 {
                return Probe::NoMatch;
            }
            let nr = u16::from_le_bytes([ctl[2], ctl[3]]) >> 1;
            Probe::Match(Match::new(format!(
                "IEC 60870-5-104 S-format APDU (receive sequence {nr})"
            )))
        } else {
            let name = match ctl[0] {
                0x07 => "STARTDT act",
                0x0b => "STARTDT con",
                0x13 => "STOPDT act",
                0x23 => "STOPDT con",
                0x43 => "TESTFR act",
                0x83 => "TESTFR con",
                _ => return Probe::NoMatch,
            };
            if len != 4 || ctl[1..] != [0, 0, 0] {
                return Probe::NoMatch;
            }
            Probe::Match(Match::new(format!("IEC 60870-5-104 {name}")))
        }
    }
}

/// First control octet against the length: S and U APDUs have length 4.
fn control_start_ok(c: u8, len: u8) -> bool {
    if c & 1 == 0 {
        len >= 10
    } else {
        len == 4 && matches!(c, 0x01 | 0x07 | 0x0b | 0x13 | 0x23 | 0x43 | 0x83)
    }
}

/// Type identifications defined by IEC 60870-5-101 §7.2.1.1 and -104.
fn type_name(t: u8) -> Option<&'static str> {
    Some(match t {
        1 => "M_SP_NA_1",
        3 => "M_DP_NA_1",
        5 => "M_ST_NA_1",
        7 => "M_BO_NA_1",
        9 => "M_ME_NA_1",
        11 => "M_ME_NB_1",
        13 => "M_ME_NC_1",
        15 => "M_IT_NA_1",
        30 => "M_SP_TB_1",
        31 => "M_DP_TB_1",
        36 => "M_ME_TF_1",
        45 => "C_SC_NA_1",
        46 => "C_DC_NA_1",
        48 => "C_SE_NA_1",
        50 => "C_SE_NC_1",
        58 => "C_SC_TA_1",
        70 => "M_EI_NA_1",
        100 => "C_IC_NA_1",
        101 => "C_CI_NA_1",
        102 => "C_RD_NA_1",
        103 => "C_CS_NA_1",
        105 => "C_RP_NA_1",
        107 => "C_TS_TA_1",
        2..=40 | 47..=51 | 59..=64 | 104 | 110..=113 | 120..=127 => "ASDU",
        _ => return None,
    })
}

fn cause_name(c: u8) -> &'static str {
    match c {
        1 => "per/cyc",
        2 => "back",
        3 => "spont",
        4 => "init",
        5 => "req",
        6 => "act",
        7 => "actcon",
        8 => "deact",
        9 => "deactcon",
        10 => "actterm",
        20 => "inrogen",
        _ => "cause",
    }
}

/// The other direction starts with an APCI: START, a length 4..=253 and
/// (for S/U) a consistent first control octet.
fn input_peer_ok(peer: &[u8]) -> bool {
    match (peer.first(), peer.get(1), peer.get(2)) {
        (Some(0x68), Some(&l), Some(&c)) => (4..=253).contains(&l) && control_start_ok(c, l),
        _ => false,
    }
}

fn i_format(d: &[u8], len: usize, ctl: &[u8], peer: &[u8]) -> Probe {
    let asdu = d.get(6..).unwrap_or(&[]);
    if let Some(&t) = asdu.first() {
        if type_name(t).is_none() {
            return Probe::NoMatch;
        }
    }
    // VSQ: number of objects (low 7 bits) is at least 1.
    if asdu.get(1).is_some_and(|&v| v & 0x7f == 0) {
        return Probe::NoMatch;
    }
    // COT: cause 1..=47 (low six bits; 0 is "not used"; 14-19 reserved).
    if let Some(&c) = asdu.get(2) {
        let cause = c & 0x3f;
        if cause == 0 || (14..=19).contains(&cause) || cause > 47 {
            return Probe::NoMatch;
        }
    }
    let end = 2 + len;
    match (d.get(end), d.get(end + 1)) {
        // Another APDU must start right after this one.
        (Some(&b), _) if b != 0x68 => return Probe::NoMatch,
        (Some(_), Some(&l)) if !(4..=253).contains(&l) => return Probe::NoMatch,
        (Some(_), Some(_)) => {}
        (Some(_), None) => return Probe::NeedMore,
        (None, _) if d.len() < end => return Probe::NeedMore,
        // The stream ends with this APDU: the other side must speak APCI
        // too (START and a length), or more bytes must come.
        (None, _) => {
            let p = input_peer_ok(peer);
            if !p {
                return Probe::NeedMore;
            }
        }
    }
    let (t, vsq, cot) = (asdu[0], asdu[1], asdu[2]);
    let ns = u16::from_le_bytes([ctl[0], ctl[1]]) >> 1;
    Probe::Match(Match::new(format!(
        "IEC 60870-5-104 I-format APDU (send sequence {ns}): type {t} {} {}, {} object(s)",
        type_name(t).unwrap_or("ASDU"),
        cause_name(cot & 0x3f),
        vsq & 0x7f
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_random_flows_rejected, check_prefixes, evidence, foreign_never_match, probe1, C, S,
    };

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const S_FRAME: &[u8] = include_bytes!("testdata/s_frame.bin");
    const I_FRAME: &[u8] = include_bytes!("testdata/i_frame.bin");
    const I_FRAME2: &[u8] = include_bytes!("testdata/i_frame2.bin");

    #[test]
    fn corpus_frames() {
        // IEC104.pcap's second flow holds only this S-format APDU: the
        // capture starts mid-session.
        assert_eq!(
            evidence(probe1(&Iec60870, TCP, S, S_FRAME)),
            "IEC 60870-5-104 S-format APDU (receive sequence 23713)"
        );
        let stream = [S_FRAME, I_FRAME, I_FRAME2].concat();
        assert!(evidence(probe1(&Iec60870, TCP, S, &stream)).contains("S-format"));
        let s = [I_FRAME, I_FRAME2].concat();
        assert_eq!(
            evidence(probe1(&Iec60870, TCP, S, &s)),
            "IEC 60870-5-104 I-format APDU (send sequence 16150): type 36 M_ME_TF_1 spont, 1 object(s)"
        );
        check_prefixes(&Iec60870, TCP, S, &stream, b"");
        check_prefixes(&Iec60870, TCP, S, &s, b"");
    }

    #[test]
    fn c104_session_start() {
        let start = include_bytes!("testdata/c104_startdt_act.bin");
        let gi = include_bytes!("testdata/c104_interrogation.bin");
        assert_eq!(
            evidence(probe1(&Iec60870, TCP, C, start)),
            "IEC 60870-5-104 STARTDT act"
        );
        // The interrogation alone waits; with the server's STARTDT con as
        // the other direction it is taken.
        assert_eq!(probe1(&Iec60870, TCP, C, gi), Probe::NeedMore);
        let con = [0x68, 4, 0x0b, 0, 0, 0];
        assert_eq!(
            evidence(crate::testkit::probe_at(&Iec60870, TCP, C, gi, &con, 0)),
            "IEC 60870-5-104 I-format APDU (send sequence 0): type 100 C_IC_NA_1 act, 1 object(s)"
        );
        check_prefixes(&Iec60870, TCP, C, &[&start[..], gi].concat(), b"");
    }

    #[test]
    fn u_format_from_spec() {
        // §5.3: STARTDT act = 68 04 07 00 00 00, con = 68 04 0b 00 00 00.
        assert_eq!(
            evidence(probe1(&Iec60870, TCP, C, &[0x68, 4, 7, 0, 0, 0])),
            "IEC 60870-5-104 STARTDT act"
        );
        assert_eq!(
            evidence(probe1(&Iec60870, TCP, S, &[0x68, 4, 0x83, 0, 0, 0])),
            "IEC 60870-5-104 TESTFR con"
        );
        assert_eq!(
            probe1(&Iec60870, TCP, C, &[0x68, 4, 0x05, 0, 0, 0]),
            Probe::NoMatch
        );
        // An I APDU alone waits for more, or for the other side's APCI.
        assert_eq!(probe1(&Iec60870, TCP, S, I_FRAME), Probe::NeedMore);
        assert!(crate::testkit::is_match(&crate::testkit::probe_at(
            &Iec60870, TCP, S, I_FRAME, S_FRAME, 0
        )));
        // An I APDU followed by something else than START.
        let mut x = I_FRAME.to_vec();
        x.push(0x00);
        assert_eq!(probe1(&Iec60870, TCP, S, &x), Probe::NoMatch);
    }

    #[test]
    fn foreign_and_random() {
        foreign_never_match(&Iec60870, TCP);
        assert_random_flows_rejected(&Iec60870, TCP, 2404);
    }
}
