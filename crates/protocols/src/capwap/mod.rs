//! CAPWAP, Control And Provisioning of Wireless Access Points (RFC 5415,
//! 802.11 binding RFC 5416), UDP ports 5246 (control) and 5247 (data).
//!
//! RFC 5415 §4.1, the preamble: Version (4 bits, 0) and Type (4 bits: 0 a
//! CAPWAP header follows, 1 a DTLS header follows). §4.2 the DTLS header:
//! preamble then 24 reserved bits, then a DTLS record (content type 20-25,
//! version 0xfeff / 0xfefd). §4.3 the CAPWAP header: HLEN (5 bits, in
//! 4-octet words, at least 2), RID (5), WBID (5: 1 IEEE 802.11, 3
//! EPCGlobal), T, F, L, W, M, K and three reserved flag bits (zero),
//! Fragment ID (2), Fragment Offset (13 bits) and 3 reserved bits (zero);
//! optional Radio MAC (M) and Wireless Specific Information (W). §4.5.1
//! the control header after it: Message Type (4: IANA enterprise number
//! and type, standard types 1..=26), Sequence Number (1), Message Element
//! Length (2), Flags (1, zero). §4.4.1 a data-channel keep-alive (K)
//! carries only message elements (type 2, length 2). Other data packets
//! carry 802.3 or native frames and have no further fixed bytes, so they
//! are confirmed by a second well-formed header in the flow.
//!
//! netsift-wire decapsulates data-channel frames it can read (802.3, or
//! 802.11 data); what reaches this probe is the outer flow of control
//! traffic, keep-alives and 802.11 management frames.

use netsift_proto::bytes::{be16, be32, u8_at};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// CAPWAP.
pub struct Capwap;

fn control_name(t: u32) -> &'static str {
    match t {
        1 => "Discovery Request",
        2 => "Discovery Response",
        3 => "Join Request",
        4 => "Join Response",
        5 => "Configuration Status Request",
        6 => "Configuration Status Response",
        7 => "Configuration Update Request",
        8 => "Configuration Update Response",
        9 => "WTP Event Request",
        10 => "WTP Event Response",
        11 => "Change State Event Request",
        12 => "Change State Event Response",
        13 => "Echo Request",
        14 => "Echo Response",
        15 => "Image Data Request",
        16 => "Image Data Response",
        17 => "Reset Request",
        18 => "Reset Response",
        19 => "Primary Discovery Request",
        20 => "Primary Discovery Response",
        21 => "Data Transfer Request",
        22 => "Data Transfer Response",
        23 => "Clear Configuration Request",
        24 => "Clear Configuration Response",
        25 => "Station Configuration Request",
        26 => "Station Configuration Response",
        _ => "vendor message",
    }
}

fn dtls_content(t: u8) -> Option<&'static str> {
    Some(match t {
        20 => "ChangeCipherSpec",
        21 => "Alert",
        22 => "Handshake",
        23 => "ApplicationData",
        24 => "Heartbeat",
        25 => "tls12_cid",
        _ => return None,
    })
}

enum Verdict {
    Strong(String),
    /// A well-formed data header with nothing more to check.
    Weak,
    No,
}

fn check(d: &[u8]) -> Verdict {
    let Some(b0) = u8_at(d, 0) else {
        return Verdict::No;
    };
    if b0 == 1 {
        // DTLS header: 24 reserved bits, then the record.
        if be16(d, 1) != Some(0) || u8_at(d, 3) != Some(0) {
            return Verdict::No;
        }
        let (Some(ct), Some(ver), Some(rlen)) = (u8_at(d, 4), be16(d, 5), be16(d, 15)) else {
            return Verdict::No;
        };
        let Some(what) = dtls_content(ct) else {
            return Verdict::No;
        };
        if (ver != 0xfeff && ver != 0xfefd) || usize::from(rlen) + 17 > d.len() {
            return Verdict::No;
        }
        return Verdict::Strong(format!("CAPWAP DTLS-protected ({what})"));
    }
    if b0 != 0 {
        return Verdict::No;
    }
    let (Some(b1), Some(b2), Some(b3), Some(frag)) =
        (u8_at(d, 1), u8_at(d, 2), u8_at(d, 3), be16(d, 6))
    else {
        return Verdict::No;
    };
    let hlen = usize::from(b1 >> 3) * 4;
    let wbid = (b2 >> 1) & 0x1f;
    let t = b2 & 1;
    let (f, m, k) = (b3 & 0x80 != 0, b3 & 0x10 != 0, b3 & 0x08 != 0);
    if hlen < 8 || hlen > d.len() || b3 & 0x07 != 0 || frag & 0x07 != 0 {
        return Verdict::No;
    }
    if !matches!(wbid, 0 | 1 | 3) || (!f && frag != 0) {
        return Verdict::No;
    }
    if m {
        // Radio MAC: length 6 or 8 (EUI-48 / EUI-64), §4.3.
        if !matches!(u8_at(d, 8), Some(6 | 8)) {
            return Verdict::No;
        }
    }
    if f {
        return Verdict::Weak;
    }
    let body = d.get(hlen..).unwrap_or(&[]);
    if k {
        // Keep-alive: message elements only (§4.4.1, Session ID).
        let mut o = 0;
        let mut n = 0;
        while o < body.len() && n < 16 {
            let Some(l) = be16(body, o + 2) else {
                return Verdict::No;
            };
            o += 4 + usize::from(l);
            n += 1;
        }
        return if o == body.len() && n > 0 {
            Verdict::Strong("CAPWAP data channel keep-alive".into())
        } else {
            Verdict::No
        };
    }
    if t == 0 {
        // A control message (or an 802.3 data frame): the control header
        // length field decides.
        if let (Some(mt), Some(_seq), Some(el), Some(0)) =
            (be32(body, 0), u8_at(body, 4), be16(body, 5), u8_at(body, 7))
        {
            let el = usize::from(el);
            let enterprise = mt >> 8;
            let ty = mt & 0xff;
            let std = enterprise == 0 && (1..=26).contains(&ty);
            // "the number of bytes following the Sequence Number field"
            // (some stacks count the elements only).
            if (std || enterprise != 0) && (el + 5 == body.len() || el + 8 == body.len()) {
                return Verdict::Strong(format!("CAPWAP control {}", control_name(mt)));
            }
        }
    }
    Verdict::Weak
}

impl Protocol for Capwap {
    fn name(&self) -> &'static str {
        "CAPWAP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[5246, 5247]
    }
    // RFC 5415 §4.1: the preamble is "Version: A 4-bit field ... MUST be
    // zero" and "Type: A 4-bit field ... 0 ... CAPWAP Header follows ...
    // 1 ... CAPWAP DTLS Header follows".
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x00, 0x01])
    }
    fn probe(&self, input: &ProbeInput<'_>, s: &mut ProbeScratch) -> Probe {
        match check(input.data) {
            Verdict::Strong(ev) => Probe::Match(Match::new(ev)),
            Verdict::Weak => {
                // Two well-formed data headers in one flow.
                s.0[0] += 1;
                if s.0[0] >= 2 {
                    Probe::Match(Match::new("CAPWAP data channel (2 well-formed headers)"))
                } else {
                    Probe::NeedMore
                }
            }
            Verdict::No => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, evidence, feed_evidence, input,
        probe1, C, S,
    };

    const UDP: Transport = Transport::Udp;
    // Sources: testdata/README.md.
    const DTLS_ALERT: &[u8] = include_bytes!("testdata/dtls_alert.bin");
    const DISCOVERY: &[u8] = include_bytes!("testdata/discovery_request.bin");
    const MGMT: &[u8] = include_bytes!("testdata/data_80211_mgmt.bin");
    const DATA: &[u8] = include_bytes!("testdata/data_f274.bin");

    #[test]
    fn control_and_dtls() {
        assert_eq!(
            evidence(probe1(&Capwap, UDP, S, DTLS_ALERT)),
            "CAPWAP DTLS-protected (Alert)"
        );
        assert_eq!(
            evidence(probe1(&Capwap, UDP, C, DISCOVERY)),
            "CAPWAP control Discovery Request"
        );
    }

    #[test]
    fn data_channel_needs_two() {
        assert_eq!(probe1(&Capwap, UDP, C, MGMT), Probe::NeedMore);
        assert_eq!(
            feed_evidence(&Capwap, UDP, 5247, &[(C, MGMT), (S, DATA)]),
            "CAPWAP data channel (2 well-formed headers)"
        );
        for m in [DISCOVERY, DTLS_ALERT, MGMT] {
            for i in 0..m.len() {
                let _ = probe1(&Capwap, UDP, C, &m[..i]);
            }
        }
    }

    #[test]
    fn first_bytes_declared() {
        for (dir, d) in [(S, DTLS_ALERT), (C, DISCOVERY), (C, MGMT), (S, DATA)] {
            crate::testkit::first_bytes_hold(&Capwap, &input(UDP, dir, d, &[], 0));
        }
    }

    #[test]
    fn rejects_random_and_foreign() {
        assert_random_flows_rejected(&Capwap, UDP, 5246);
        assert_foreign_rejected(&Capwap, "capwap");
    }
}
