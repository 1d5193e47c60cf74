//! HL7 version 2 over MLLP (HL7 v2.x standard, chapter 2 "Control"; the
//! Minimal Lower Layer Protocol of HL7 "Transport Specification: MLLP,
//! Release 2").
//!
//! MLLP frames each message as `<VT>` (0x0b) + message + `<FS><CR>` (0x1c
//! 0x0d). An HL7 v2 message starts with its header segment `MSH` (or a
//! batch / file header `BHS` / `FHS`), whose 4th character is the field
//! separator (`|` in practice) and which continues with the encoding
//! characters (`^~\&`, plus `#` from v2.7). MSH-9 is the message type
//! (`ADT^A01`, `ACK`...), MSH-12 the version. Both the sender and the
//! acknowledging receiver send such messages; every message is framed, so
//! any message boundary works.

use netsift_proto::{printable, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// HL7.
pub struct Hl7;

const VT: u8 = 0x0b;

impl Protocol for Hl7 {
    fn name(&self) -> &'static str {
        "HL7"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[2575]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        match d.first() {
            None => return Probe::NeedMore,
            Some(&VT) => {}
            Some(_) => return Probe::NoMatch,
        }
        let seg = d.get(1..4).unwrap_or(d.get(1..).unwrap_or(&[]));
        if ![&b"MSH"[..], b"BHS", b"FHS"]
            .iter()
            .any(|s| s.starts_with(seg))
        {
            return Probe::NoMatch;
        }
        // Field separator and encoding characters.
        let Some(&sep) = d.get(4) else {
            return Probe::NeedMore;
        };
        if sep.is_ascii_alphanumeric() || !(0x21..0x7f).contains(&sep) {
            return Probe::NoMatch;
        }
        let enc = d.get(5..).unwrap_or(&[]);
        let Some(n) = enc.iter().take(6).position(|&b| b == sep) else {
            return if enc.len() < 6 && enc.iter().all(|&b| enc_char(b)) {
                Probe::NeedMore
            } else {
                Probe::NoMatch
            };
        };
        let chars = enc.get(..n).unwrap_or(&[]);
        if !(2..=5).contains(&n) || !chars.iter().all(|&b| enc_char(b) && b != sep) {
            return Probe::NoMatch;
        }
        // The segment up to CR (bounded), for the message type and version.
        let body = d.get(1..d.len().min(1024)).unwrap_or(&[]);
        let segment = body.split(|&b| b == b'\r').next().unwrap_or(&[]);
        let fields: Vec<&[u8]> = segment.split(|&b| b == sep).take(13).collect();
        let mut ev = format!("HL7 v2 message over MLLP, {}", printable(seg, 3));
        if seg == b"MSH" {
            if let Some(t) = fields.get(8).filter(|t| !t.is_empty()) {
                ev.push_str(&format!(" type {}", printable(t, 24)));
            }
            if let Some(v) = fields.get(11).filter(|t| !t.is_empty()) {
                ev.push_str(&format!(", version {}", printable(v, 12)));
            }
        }
        Probe::Match(Match::new(ev))
    }
}

/// Encoding characters: component, repetition, escape, subcomponent,
/// truncation — printable non-alphanumeric.
fn enc_char(b: u8) -> bool {
    (0x21..0x7f).contains(&b) && !b.is_ascii_alphanumeric()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_random_flows_rejected, check_prefixes, evidence, foreign_never_match, probe1, C, S,
    };

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const ADT: &[u8] = include_bytes!("testdata/adt_a01.bin");
    const ACK: &[u8] = include_bytes!("testdata/ack.bin");

    #[test]
    fn real_messages() {
        assert_eq!(
            evidence(probe1(&Hl7, TCP, C, ADT)),
            "HL7 v2 message over MLLP, MSH type ADT^A01, version 2.3"
        );
        assert_eq!(
            evidence(probe1(&Hl7, TCP, S, ACK)),
            "HL7 v2 message over MLLP, MSH type ACK, version 2.3"
        );
        check_prefixes(&Hl7, TCP, C, ADT, b"");
        check_prefixes(&Hl7, TCP, S, ACK, b"");
        assert_eq!(probe1(&Hl7, TCP, C, b"\x0bMSH|abcd|x"), Probe::NoMatch);
        assert_eq!(probe1(&Hl7, TCP, C, b"MSH|^~\\&|x"), Probe::NoMatch);
    }

    #[test]
    fn random_foreign() {
        assert_random_flows_rejected(&Hl7, TCP, 2575);
        foreign_never_match(&Hl7, TCP);
    }
}
