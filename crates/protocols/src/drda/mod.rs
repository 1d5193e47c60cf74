//! DRDA, Distributed Relational Database Architecture (The Open Group,
//! "DRDA, Version 5, Volume 3: Distributed Data Management (DDM)
//! Architecture"), spoken by IBM Db2 and Apache Derby clients and servers.
//!
//! Every message is a DSS: `length (u16 BE, 0x8000 = continued) | magic
//! 0xD0 | format (0x40 chained, 0x20 continue on error, 0x10 same
//! correlator; low nibble type: 1 request, 2 reply, 3 object, 4 encrypted
//! object, 5 reply without correlator) | request correlator (u16 BE)`, then
//! a DDM object `length (u16 BE) | code point (u16 BE)` with the DSS length
//! minus 6. A connection opens with EXCSAT (0x1041) answered by EXCSATRD
//! (0x1443), then ACCSEC / SECCHK / ACCRDB. Every message has the header,
//! so a capture that starts mid-session at a DSS boundary is recognised
//! when its first DDM code point is a known command, reply or object.

use netsift_proto::bytes::{be16, u8_at};
use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// DRDA.
pub struct Drda;

/// Code points of DDM commands, replies and objects (DDM Vol. 3 terms).
const CODEPOINTS: &[(u16, &str)] = &[
    (0x1041, "EXCSAT"),
    (0x1055, "SYNCCTL"),
    (0x1069, "SYNCRSY"),
    (0x106D, "ACCSEC"),
    (0x106E, "SECCHK"),
    (0x106F, "SYNCLOG"),
    (0x1219, "SECCHKRM"),
    (0x1232, "AGNPRMRM"),
    (0x1245, "PRCCNVRM"),
    (0x1254, "CMDCHKRM"),
    (0x124C, "SYNTAXRM"),
    (0x1443, "EXCSATRD"),
    (0x14AC, "ACCSECRD"),
    (0x2001, "ACCRDB"),
    (0x2002, "BGNBND"),
    (0x2004, "BNDSQLSTT"),
    (0x2005, "CLSQRY"),
    (0x2006, "CNTQRY"),
    (0x2007, "DRPPKG"),
    (0x2008, "DSCSQLSTT"),
    (0x2009, "ENDBND"),
    (0x200A, "EXCSQLIMM"),
    (0x200B, "EXCSQLSTT"),
    (0x200C, "OPNQRY"),
    (0x200D, "PRPSQLSTT"),
    (0x200E, "RDBCMM"),
    (0x200F, "RDBRLLBCK"),
    (0x2010, "REBIND"),
    (0x2012, "DSCRDBTBL"),
    (0x2014, "EXCSQLSET"),
    (0x2201, "ACCRDBRM"),
    (0x2204, "RDBNACRM"),
    (0x2205, "OPNQRYRM"),
    (0x220B, "ENDQRYRM"),
    (0x220C, "ENDUOWRM"),
    (0x2218, "RDBUPDRM"),
    (0x2408, "SQLCARD"),
    (0x2411, "SQLDARD"),
    (0x2412, "SQLDTA"),
    (0x2414, "SQLSTT"),
    (0x241A, "QRYDSC"),
    (0x241B, "QRYDTA"),
    (0x2450, "SQLATTR"),
];

impl Protocol for Drda {
    fn name(&self) -> &'static str {
        "DRDA"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[446, 50000, 1527]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        match u8_at(d, 2) {
            None => return Probe::NeedMore,
            Some(0xd0) => {}
            Some(_) => return Probe::NoMatch,
        }
        let Some(fmt) = u8_at(d, 3) else {
            return Probe::NeedMore;
        };
        let ty = fmt & 0x0f;
        if fmt & 0x80 != 0 || !(1..=5).contains(&ty) {
            return Probe::NoMatch;
        }
        let (Some(len), Some(corr), Some(ddm), Some(cp)) =
            (be16(d, 0), be16(d, 4), be16(d, 6), be16(d, 8))
        else {
            return Probe::NeedMore;
        };
        let dss = len & 0x7fff;
        // A continued DSS (0x8000) may carry an extended DDM length (0x8004+).
        let ddm_ok = if len & 0x8000 != 0 || ddm & 0x8000 != 0 {
            ddm & 0x7fff >= 4
        } else {
            ddm == dss.wrapping_sub(6)
        };
        if dss < 10 || !ddm_ok || (corr == 0 && ty != 5 && ty != 3) {
            return Probe::NoMatch;
        }
        let Some(&(_, name)) = CODEPOINTS.iter().find(|(c, _)| *c == cp) else {
            return Probe::NoMatch;
        };
        let kind = match ty {
            1 => "request",
            2 | 5 => "reply",
            3 => "object",
            _ => "encrypted object",
        };
        Probe::Match(Match::new(format!(
            "DRDA {name} ({kind} DSS, code point 0x{cp:04X}, correlator {corr})"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_random_flows_rejected, check_prefixes, evidence, foreign_never_match, probe1, C, S,
    };

    const TCP: Transport = Transport::Tcp;

    /// DSS header + DDM header + parameters.
    fn dss(fmt: u8, corr: u16, cp: u16, params: &[u8]) -> Vec<u8> {
        let mut d = Vec::new();
        d.extend_from_slice(&((10 + params.len()) as u16).to_be_bytes());
        d.push(0xd0);
        d.push(fmt);
        d.extend_from_slice(&corr.to_be_bytes());
        d.extend_from_slice(&((4 + params.len()) as u16).to_be_bytes());
        d.extend_from_slice(&cp.to_be_bytes());
        d.extend_from_slice(params);
        d
    }

    /// EXCSAT with EXTNAM (0x115E) and SRVNAM (0x116D), EBCDIC text as a
    /// Db2 client sends it ("db2jcc" / "ws1").
    fn excsat() -> Vec<u8> {
        let mut p = Vec::new();
        let extnam = [0x84, 0x82, 0xf2, 0x91, 0x83, 0x83];
        p.extend_from_slice(&((4 + extnam.len()) as u16).to_be_bytes());
        p.extend_from_slice(&0x115Eu16.to_be_bytes());
        p.extend_from_slice(&extnam);
        let srvnam = [0xa6, 0xa2, 0xf1];
        p.extend_from_slice(&((4 + srvnam.len()) as u16).to_be_bytes());
        p.extend_from_slice(&0x116Du16.to_be_bytes());
        p.extend_from_slice(&srvnam);
        dss(0x41, 1, 0x1041, &p)
    }

    #[test]
    fn messages() {
        assert_eq!(
            evidence(probe1(&Drda, TCP, C, &excsat())),
            "DRDA EXCSAT (request DSS, code point 0x1041, correlator 1)"
        );
        let rd = dss(0x52, 1, 0x1443, &[0x00, 0x06, 0x11, 0x47, 0xd8, 0xc4]);
        assert_eq!(
            evidence(probe1(&Drda, TCP, S, &rd)),
            "DRDA EXCSATRD (reply DSS, code point 0x1443, correlator 1)"
        );
        // Mid-session: an OPNQRY.
        let oq = dss(0x51, 7, 0x200C, &[0x00, 0x05, 0x21, 0x13, 0x00]);
        assert!(evidence(probe1(&Drda, TCP, C, &oq)).starts_with("DRDA OPNQRY"));
        for d in [excsat(), rd, oq] {
            check_prefixes(&Drda, TCP, C, &d, b"");
        }
        let mut bad = excsat();
        bad[7] ^= 1; // DDM length no longer DSS length - 6
        assert_eq!(probe1(&Drda, TCP, C, &bad), Probe::NoMatch);
        let bad = dss(0x41, 1, 0x3333, &[]);
        assert_eq!(probe1(&Drda, TCP, C, &bad), Probe::NoMatch);
    }

    #[test]
    fn random_foreign() {
        assert_random_flows_rejected(&Drda, TCP, 50000);
        foreign_never_match(&Drda, TCP);
    }
}
