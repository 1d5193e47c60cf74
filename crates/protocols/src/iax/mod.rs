//! IAX2, the Inter-Asterisk eXchange protocol version 2 (RFC 5456), over
//! UDP (4569).
//!
//! RFC 5456 §8.1.1, full frame header (12 octets):
//! `F(1) source call number(15) | R(1) destination call number(15) |
//! timestamp(32) | OSeqno(8) | ISeqno(8) | frame type(8) | C(1) subclass(7)`,
//! "F: Full frame bit. ... set to 1". Frame types (§8.2): 0x01 DTMF-end,
//! 0x02 voice, 0x03 video, 0x04 control, 0x05 null, 0x06 IAX control,
//! 0x07 text, 0x08 image, 0x09 HTML, 0x0a comfort noise, 0x0c DTMF-begin.
//! IAX control frames (type 6) carry information elements (§8.6): `IE
//! type(8) | data length(8) | data`, which must fill the datagram exactly.
//!
//! A call starts with NEW (§6.2.2): "The destination call number ... is
//! set to zero", OSeqno 0, with IEs (version 2, called number, ...). Such
//! a frame, or any IAX control frame whose IEs fill the datagram, matches
//! on its own. A short frame without IEs (ACK, §6.9.1) matches when the
//! other direction's first full frame has the mirrored call numbers.
//! Mini frames (F = 0, 4-octet header) carry media only and are not used.

use netsift_proto::bytes::{be16, u8_at};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// IAX.
pub struct Iax;

const HDR: usize = 12;

/// §8.4 IAX frame subclasses.
fn iax_subclass(s: u8) -> Option<&'static str> {
    Some(match s {
        0x01 => "NEW",
        0x02 => "PING",
        0x03 => "PONG",
        0x04 => "ACK",
        0x05 => "HANGUP",
        0x06 => "REJECT",
        0x07 => "ACCEPT",
        0x08 => "AUTHREQ",
        0x09 => "AUTHREP",
        0x0a => "INVAL",
        0x0b => "LAGRQ",
        0x0c => "LAGRP",
        0x0d => "REGREQ",
        0x0e => "REGAUTH",
        0x0f => "REGACK",
        0x10 => "REGREJ",
        0x11 => "REGREL",
        0x12 => "VNAK",
        0x13 => "DPREQ",
        0x14 => "DPREP",
        0x15 => "DIAL",
        0x16 => "TXREQ",
        0x17 => "TXCNT",
        0x18 => "TXACC",
        0x19 => "TXREADY",
        0x1a => "TXREL",
        0x1b => "TXREJ",
        0x1c => "QUELCH",
        0x1d => "UNQUELCH",
        0x1e => "POKE",
        0x20 => "MWI",
        0x21 => "UNSUPPORT",
        0x22 => "TRANSFER",
        0x23 => "PROVISION",
        0x24 => "FWDOWNL",
        0x25 => "FWDATA",
        0x26 => "TXMEDIA",
        0x27 => "RTKEY",
        0x28 => "CALLTOKEN",
        _ => return None,
    })
}

struct Full {
    src: u16,
    dst: u16,
    oseq: u8,
    ftype: u8,
    sub: u8,
}

fn full(d: &[u8]) -> Option<Full> {
    let a = be16(d, 0)?;
    let b = be16(d, 2)?;
    if a & 0x8000 == 0 {
        return None;
    }
    let ftype = u8_at(d, 10)?;
    if !matches!(ftype, 0x01..=0x0a | 0x0c) {
        return None;
    }
    Some(Full {
        src: a & 0x7fff,
        dst: b & 0x7fff,
        oseq: u8_at(d, 8)?,
        ftype,
        sub: u8_at(d, 11)?,
    })
}

/// §8.6: IEs fill the rest of the datagram exactly; returns their count.
fn ies(mut d: &[u8]) -> Option<usize> {
    let mut n = 0;
    while !d.is_empty() {
        let t = *d.first()?;
        let l = usize::from(*d.get(1)?);
        // IE types 0x01..=0x3b are assigned (§8.6, Table 5); Asterisk
        // also sends private ones (0xff in the corpus capture), so only
        // type 0 is refused.
        if t == 0 {
            return None;
        }
        d = d.get(2 + l..)?;
        n += 1;
        if n > 64 {
            return None;
        }
    }
    Some(n)
}

impl Protocol for Iax {
    fn name(&self) -> &'static str {
        "IAX"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[4569]
    }
    // RFC 5456 §8.1.1: a full frame starts with "F: Full frame bit. ...
    // set to 1" (the high bit of the first octet); mini frames (F = 0) are
    // not used.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::range(0x80, 0xff)
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Udp {
            return Probe::NoMatch;
        }
        let d = input.data;
        // Full frame: F bit set, known frame type.
        if d.len() < HDR || d.first().is_none_or(|&b| b & 0x80 == 0) {
            return Probe::NoMatch;
        }
        let Some(f) = full(d) else {
            return Probe::NoMatch;
        };
        if f.ftype != 0x06 || f.src == 0 {
            // Media and other frames are left to the call's control frames.
            return Probe::NoMatch;
        }
        let Some(name) = iax_subclass(f.sub & 0x7f) else {
            return Probe::NoMatch;
        };
        let Some(n) = ies(d.get(HDR..).unwrap_or(&[])) else {
            return Probe::NoMatch;
        };
        // The first frame of a call or transaction (NEW, REGREQ, REGREL,
        // DPREQ, ...): destination call 0, OSeqno 0, with IEs.
        if f.dst == 0 && f.oseq == 0 && n >= 1 {
            return Probe::Match(Match::new(format!(
                "IAX2 {name} from call {} with {n} information elements",
                f.src
            )));
        }
        if f.sub == 0x01 {
            // NEW is always a call's first frame.
            return Probe::NoMatch;
        }
        if n >= 2 && f.dst != 0 {
            return Probe::Match(Match::new(format!(
                "IAX2 {name} (call {} -> {}) with {n} information elements",
                f.src, f.dst
            )));
        }
        // A frame without IEs: the other direction must mirror the calls.
        match full(input.peer) {
            Some(p) if p.ftype == 0x06 && p.src == f.dst && (p.dst == f.src || p.dst == 0) => {
                Probe::Match(Match::new(format!(
                    "IAX2 {name} (call {} -> {}) answering the peer's call {}",
                    f.src, f.dst, p.src
                )))
            }
            _ => Probe::NeedMore,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const UDP: Transport = Transport::Udp;
    // Sources: testdata/README.md.
    const NEW: &[u8] = include_bytes!("testdata/new.bin");
    const ACK: &[u8] = include_bytes!("testdata/ack.bin");
    const MINI: &[u8] = include_bytes!("testdata/mini.bin");

    #[test]
    fn new_and_ack() {
        assert_eq!(
            evidence(probe1(&Iax, UDP, C, NEW)),
            "IAX2 NEW from call 4 with 8 information elements"
        );
        assert_eq!(probe1(&Iax, UDP, S, ACK), Probe::NeedMore);
        assert_eq!(
            evidence(probe_at(&Iax, UDP, S, ACK, NEW, 0)),
            "IAX2 ACK (call 23 -> 4) answering the peer's call 4"
        );
        assert_eq!(probe1(&Iax, UDP, C, MINI), Probe::NoMatch);
    }

    #[test]
    fn built_from_the_spec() {
        // REGREQ (§6.3.1): src call 1, dst 0, ts 3, oseq 0, iseq 0, type 6,
        // subclass 0x0d; IE USERNAME (6) "bob", IE REFRESH (0x13) 60.
        let mut r = vec![0x80, 0x01, 0x00, 0x00, 0, 0, 0, 3, 0, 0, 0x06, 0x0d];
        r.extend_from_slice(&[0x06, 3, b'b', b'o', b'b', 0x13, 2, 0, 60]);
        assert_eq!(
            evidence(probe1(&Iax, UDP, C, &r)),
            "IAX2 REGREQ from call 1 with 2 information elements"
        );
        let mut acc = vec![0x80, 0x02, 0x80, 0x01, 0, 0, 0, 9, 0, 1, 0x06, 0x0f];
        acc.extend_from_slice(&[0x06, 3, b'b', b'o', b'b', 0x13, 2, 0, 60]);
        assert_eq!(
            evidence(probe1(&Iax, UDP, S, &acc)),
            "IAX2 REGACK (call 2 -> 1) with 2 information elements"
        );
        // IEs that overrun the datagram.
        let mut bad = NEW.to_vec();
        bad.pop();
        assert_eq!(probe1(&Iax, UDP, C, &bad), Probe::NoMatch);
    }

    #[test]
    fn first_bytes_declared() {
        use crate::testkit::first_bytes_hold;
        first_bytes_hold(&Iax, &input(UDP, C, NEW, &[], 0));
        first_bytes_hold(&Iax, &input(UDP, S, ACK, &[], 0));
        first_bytes_hold(&Iax, &input(UDP, S, ACK, NEW, 0));
    }

    #[test]
    fn prefixes_random_foreign() {
        check_prefixes(&Iax, UDP, C, NEW, b"");
        assert_random_flows_rejected(&Iax, UDP, 4569);
        assert_foreign_rejected(&Iax, "iax");
    }
}
