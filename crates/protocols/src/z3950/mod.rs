//! Z39.50 information retrieval (ANSI/NISO Z39.50-2003, ISO 23950), over
//! TCP (210).
//!
//! Z39.50 APDUs are BER-encoded (Z39.50-2003 Appendix 1, ASN.1 module
//! Z39-50-APDU-1995). The PDU is a CHOICE of context-tagged, constructed
//! types: initRequest [20], initResponse [21], searchRequest [22],
//! searchResponse [23], presentRequest [24], presentResponse [25],
//! deleteResultSetRequest [26], deleteResultSetResponse [27],
//! accessControlRequest [28], accessControlResponse [29],
//! resourceControlRequest [30] (first octets 0xb4..0xbe), and the
//! high-tag ones (scan [35], sort [43], close [48], ...: 0xbf then the tag).
//!
//! InitializeRequest/Response: "referenceId [2] OPTIONAL,
//! protocolVersion [3] IMPLICIT BIT STRING, options [4] IMPLICIT BIT
//! STRING, preferredMessageSize [5] IMPLICIT INTEGER,
//! exceptionalRecordSize [6] IMPLICIT INTEGER" (+ result [12] BOOLEAN in
//! the response), then implementationId [110], implementationName [111],
//! implementationVersion [112]. The init PDUs are checked element by
//! element; the others must be a well-formed BER PDU whose children are
//! context-tagged and fill it exactly.

use netsift_proto::{printable, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Z3950.
pub struct Z3950;

/// A BER tag and length at `off`: (tag number, class|constructed bits,
/// header length, content length). `Err(true)` when more bytes are needed.
fn tlv(d: &[u8], off: usize) -> Result<(u32, u8, usize, usize), bool> {
    let b = *d.get(off).ok_or(true)?;
    let cls = b & 0xe0;
    let mut tag = u32::from(b & 0x1f);
    let mut p = off + 1;
    if tag == 0x1f {
        tag = 0;
        for _ in 0..3 {
            let t = *d.get(p).ok_or(true)?;
            p += 1;
            tag = (tag << 7) | u32::from(t & 0x7f);
            if t & 0x80 == 0 {
                break;
            }
        }
    }
    // The indefinite form (0x80) is refused; a definite long form of up to
    // 3 octets otherwise.
    let (len, n) = crate::ber::length(d, p, 3).map_err(|e| e == crate::ber::BerErr::Short)?;
    Ok((tag, cls, p + n - off, len))
}

fn pdu_name(tag: u32) -> Option<&'static str> {
    Some(match tag {
        20 => "initRequest",
        21 => "initResponse",
        22 => "searchRequest",
        23 => "searchResponse",
        24 => "presentRequest",
        25 => "presentResponse",
        26 => "deleteResultSetRequest",
        27 => "deleteResultSetResponse",
        28 => "accessControlRequest",
        29 => "accessControlResponse",
        30 => "resourceControlRequest",
        31 => "resourceControlResponse",
        32 => "triggerResourceControlRequest",
        33 => "resourceReportRequest",
        34 => "resourceReportResponse",
        35 => "scanRequest",
        36 => "scanResponse",
        43 => "sortRequest",
        44 => "sortResponse",
        45 => "segmentRequest",
        46 => "extendedServicesRequest",
        47 => "extendedServicesResponse",
        48 => "close",
        49 => "duplicateDetectionRequest",
        50 => "duplicateDetectionResponse",
        _ => return None,
    })
}

impl Protocol for Z3950 {
    fn name(&self) -> &'static str {
        "Z3950"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[210]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let d = input.data;
        // Context class, constructed: 0xa0..=0xbf, and tags from 20 up.
        match d.first() {
            None => return Probe::NeedMore,
            Some(0xb4..=0xbf) => {}
            Some(_) => return Probe::NoMatch,
        }
        let (tag, _, hl, len) = match tlv(d, 0) {
            Ok(x) => x,
            Err(true) => return Probe::NeedMore,
            Err(false) => return Probe::NoMatch,
        };
        let Some(name) = pdu_name(tag) else {
            return Probe::NoMatch;
        };
        if len < 2 {
            return Probe::NoMatch;
        }
        let end = hl + len;
        let Some(body) = d.get(hl..end) else {
            // Wait for the whole PDU (bounded: the engine caps the prefix).
            return if len <= 16 * 1024 {
                Probe::NeedMore
            } else {
                Probe::NoMatch
            };
        };
        // Children: context-specific, filling the PDU exactly; the init
        // PDUs need protocolVersion [3], options [4] and the two sizes [5],
        // [6] (in that order, after an optional referenceId [2]).
        let mut p = 0;
        let mut seen = [0u32; 8];
        let mut ns = 0usize;
        let mut imp_name: Option<&[u8]> = None;
        while p < body.len() {
            let Ok((t, cls, h, l)) = tlv(body, p) else {
                return Probe::NoMatch;
            };
            if cls & 0xc0 != 0x80 {
                return Probe::NoMatch;
            }
            if t == 111 {
                imp_name = body.get(p + h..p + h + l);
            }
            if let Some(x) = seen.get_mut(ns) {
                *x = t;
                ns += 1;
            }
            p += h + l;
            if p > body.len() {
                return Probe::NoMatch;
            }
        }
        if matches!(tag, 20 | 21) {
            let mut core = seen.iter().take(ns).copied().filter(|&t| t != 2);
            if [3, 4, 5, 6].iter().any(|&want| core.next() != Some(want)) {
                return Probe::NoMatch;
            }
        } else if ns == 0 {
            return Probe::NoMatch;
        }
        let imp = imp_name.map_or(String::new(), |n| {
            format!(", implementation '{}'", printable(n, 40))
        });
        Probe::Match(Match::new(format!("Z39.50 {name}{imp}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const INIT: &[u8] = include_bytes!("testdata/init_request.bin");
    const INIT_RESP: &[u8] = include_bytes!("testdata/init_response.bin");
    const SEARCH: &[u8] = include_bytes!("testdata/search_request.bin");

    #[test]
    fn pdus() {
        assert_eq!(
            evidence(probe1(&Z3950, TCP, C, INIT)),
            "Z39.50 initRequest, implementation 'ZOOM-C/YAZ'"
        );
        assert_eq!(
            evidence(probe1(&Z3950, TCP, S, INIT_RESP)),
            "Z39.50 initResponse, implementation 'GFS/YAZ'"
        );
        assert_eq!(
            evidence(probe1(&Z3950, TCP, C, SEARCH)),
            "Z39.50 searchRequest"
        );
    }

    #[test]
    fn malformed() {
        let mut b = INIT.to_vec();
        b[2] = 0x84; // options where protocolVersion belongs
        assert_eq!(probe1(&Z3950, TCP, C, &b), Probe::NoMatch);
        let mut b = INIT.to_vec();
        b[1] += 1; // one octet more than the children fill
        b.push(0);
        assert_eq!(probe1(&Z3950, TCP, C, &b), Probe::NoMatch);
    }

    #[test]
    fn prefixes_random_foreign() {
        check_prefixes(&Z3950, TCP, C, INIT, b"");
        check_prefixes(&Z3950, TCP, S, INIT_RESP, INIT);
        assert_random_flows_rejected(&Z3950, TCP, 210);
        foreign_never_match(&Z3950, TCP);
        assert_foreign_rejected(&Z3950, "z3950");
    }
}
