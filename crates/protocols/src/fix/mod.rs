//! FIX, the Financial Information eXchange protocol (FIX Trading Community,
//! "FIX Session Protocol" and the tag=value encoding, FIX 4.0 - 4.4 and
//! FIXT.1.1 with FIX 5.0).
//!
//! Every message is a list of `tag=value` fields, each ended by SOH (0x01),
//! and "the first three fields in the standard header are BeginString (tag
//! #8) followed by BodyLength (tag #9) followed by MsgType (tag #35)":
//! `8=FIX.4.2<SOH>9=<n><SOH>35=<type><SOH>...`. Both sides send such
//! messages from the first (Logon, 35=A) onwards, so any message boundary
//! works.

use netsift_proto::{printable, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// FIX.
pub struct Fix;

const SOH: u8 = 0x01;

impl Protocol for Fix {
    fn name(&self) -> &'static str {
        "FIX"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let lead = b"8=FIX";
        let n = d.len().min(lead.len());
        if d.get(..n) != lead.get(..n) {
            return Probe::NoMatch;
        }
        // BeginString value: FIX.4.0 .. FIX.4.4, FIX.5.0..., FIXT.1.1.
        let mut fields = Fields { d, at: 2 };
        let begin = match fields.next(12) {
            F::Ok(v) => v,
            F::Partial => return Probe::NeedMore,
            F::Bad => return Probe::NoMatch,
        };
        let ver_ok = match begin {
            [b'F', b'I', b'X', b'.', a, b'.', b] | [b'F', b'I', b'X', b'T', b'.', a, b'.', b] => {
                a.is_ascii_digit() && b.is_ascii_digit()
            }
            _ => false,
        };
        if !ver_ok {
            return Probe::NoMatch;
        }
        // 9=<BodyLength>
        match fields.tag(b"9=") {
            F::Ok(()) => {}
            F::Partial => return Probe::NeedMore,
            F::Bad => return Probe::NoMatch,
        }
        match fields.next(10) {
            F::Ok(v) if !v.is_empty() && v.iter().all(u8::is_ascii_digit) => {}
            F::Partial => return Probe::NeedMore,
            _ => return Probe::NoMatch,
        }
        // 35=<MsgType>
        match fields.tag(b"35=") {
            F::Ok(()) => {}
            F::Partial => return Probe::NeedMore,
            F::Bad => return Probe::NoMatch,
        }
        let ty = match fields.next(8) {
            F::Ok(v) if !v.is_empty() && v.iter().all(u8::is_ascii_alphanumeric) => v,
            F::Partial => return Probe::NeedMore,
            _ => return Probe::NoMatch,
        };
        Probe::Match(Match::new(format!(
            "FIX {} {} (35={})",
            printable(begin, 12),
            msg_name(ty),
            printable(ty, 8)
        )))
    }
}

enum F<T> {
    Ok(T),
    Partial,
    Bad,
}

struct Fields<'a> {
    d: &'a [u8],
    at: usize,
}

impl<'a> Fields<'a> {
    /// The value up to SOH (at most `max` bytes), moving past the SOH.
    fn next(&mut self, max: usize) -> F<&'a [u8]> {
        let rest = self.d.get(self.at..).unwrap_or(&[]);
        match rest.iter().take(max + 1).position(|&b| b == SOH) {
            Some(i) => {
                self.at += i + 1;
                F::Ok(rest.get(..i).unwrap_or(&[]))
            }
            None if rest.len() <= max && rest.iter().all(|b| (0x20..0x7f).contains(b)) => {
                F::Partial
            }
            None => F::Bad,
        }
    }

    /// The literal `tag` (e.g. `9=`) next.
    fn tag(&mut self, tag: &[u8]) -> F<()> {
        let rest = self.d.get(self.at..).unwrap_or(&[]);
        let n = rest.len().min(tag.len());
        if rest.get(..n) != tag.get(..n) {
            F::Bad
        } else if n < tag.len() {
            F::Partial
        } else {
            self.at += tag.len();
            F::Ok(())
        }
    }
}

/// Session and common application message types.
fn msg_name(t: &[u8]) -> &'static str {
    match t {
        b"0" => "Heartbeat",
        b"1" => "TestRequest",
        b"2" => "ResendRequest",
        b"3" => "Reject",
        b"4" => "SequenceReset",
        b"5" => "Logout",
        b"8" => "ExecutionReport",
        b"9" => "OrderCancelReject",
        b"A" => "Logon",
        b"D" => "NewOrderSingle",
        b"F" => "OrderCancelRequest",
        b"G" => "OrderCancelReplaceRequest",
        b"V" => "MarketDataRequest",
        b"W" => "MarketDataSnapshotFullRefresh",
        b"X" => "MarketDataIncrementalRefresh",
        _ => "message",
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
    const LOGON: &[u8] = include_bytes!("testdata/logon.bin");
    const TEST_REQ: &[u8] = include_bytes!("testdata/test_request.bin");

    #[test]
    fn real_messages() {
        assert_eq!(
            evidence(probe1(&Fix, TCP, C, LOGON)),
            "FIX FIXT.1.1 Logon (35=A)"
        );
        assert_eq!(
            evidence(probe1(&Fix, TCP, S, TEST_REQ)),
            "FIX FIXT.1.1 TestRequest (35=1)"
        );
        let v42 = b"8=FIX.4.2\x019=5\x0135=0\x0110=161\x01";
        assert_eq!(
            evidence(probe1(&Fix, TCP, C, v42)),
            "FIX FIX.4.2 Heartbeat (35=0)"
        );
        for d in [LOGON, TEST_REQ, &v42[..]] {
            check_prefixes(&Fix, TCP, C, d, b"");
        }
        assert_eq!(
            probe1(&Fix, TCP, C, b"8=FIX.4.2\x0135=0\x01"),
            Probe::NoMatch
        );
        assert_eq!(probe1(&Fix, TCP, C, b"8=FIXME please\r\n"), Probe::NoMatch);
    }

    #[test]
    fn random_foreign() {
        assert_random_flows_rejected(&Fix, TCP, 9878);
        foreign_never_match(&Fix, TCP);
    }
}
