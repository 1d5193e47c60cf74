//! Microsoft SQL Server's Tabular Data Stream, TDS 7.x ([MS-TDS], "Tabular
//! Data Stream Protocol", 2.2.3 "Packet header", 2.2.6.4 LOGIN7,
//! 2.2.6.5 PRELOGIN, 2.2.6.7 SQLBatch).
//!
//! Packet header (8 bytes): `Type | Status (0x01 EOM, 0x02 ignore, 0x08 /
//! 0x10 reset connection) | Length (u16 BE, header included) | SPID (u16 BE)
//! | PacketID | Window (0)`. Types: 0x01 SQL batch, 0x03 RPC, 0x04 tabular
//! result, 0x06 attention, 0x07 bulk load, 0x0E transaction manager, 0x10
//! TDS7 LOGIN7, 0x11 SSPI, 0x12 PRELOGIN.
//!
//! * PRELOGIN (client) and its answer (type 0x04 from the server) carry an
//!   option table `token | offset (u16 BE) | length (u16 BE)` ended by 0xFF,
//!   VERSION (token 0) first; tokens go up to 0x07 (NONCEOPT).
//! * LOGIN7 (in clear when the client does not encrypt): `Length (u32 LE)`,
//!   `TDSVersion` (7.0 .. 7.4), sizes and flags, then (offset, length)
//!   pairs for HostName, UserName, Password, AppName, ServerName, ...,
//!   Database, strings in UCS-2.
//! * SQL batch, mid-session: ALL_HEADERS (TDS 7.2+: total length u32 LE)
//!   then the statement in UCS-2.
//!
//! TDS 8.0 (strict encryption) starts with a TLS handshake and is the TLS
//! probe's; TDS 5.0 (Sybase) is not covered.

use netsift_proto::bytes::{be16, le16, le32, u8_at};
use netsift_proto::{Parser, Transport};

pub mod record;
use netsift_proto::{printable, Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol};

/// MS SQL Server TDS.
pub struct MssqlTds;

const HDR: usize = 8;

impl Protocol for MssqlTds {
    fn name(&self) -> &'static str {
        "MsSQL-TDS"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[1433]
    }
    fn parser(&self) -> Option<Box<dyn Parser>> {
        Some(Box::new(record::MssqlParser::default()))
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let h = match header(d) {
            Some(Some(h)) => h,
            Some(None) => return Probe::NeedMore,
            None => return Probe::NoMatch,
        };
        let plen = usize::from(h.len);
        let body = d.get(HDR..plen.min(d.len())).unwrap_or(&[]);
        let whole = d.len() >= plen;
        let res = match (h.ty, input.dir) {
            (0x12, _) | (0x04, Direction::ToClient) => match prelogin(body, whole) {
                Some(Some(e)) => Some(Some(format!(
                    "TDS PRELOGIN{}{e}",
                    if h.ty == 0x04 { " response" } else { "" }
                ))),
                Some(None) => Some(None),
                None => None,
            },
            (0x10, _) => login7(body, whole).map(|o| o.map(|l| l.evidence())),
            (0x01, _) => sql_batch(body, whole),
            _ => None,
        };
        match res {
            Some(Some(e)) => Probe::Match(Match::new(e)),
            Some(None) => Probe::NeedMore,
            None => Probe::NoMatch,
        }
    }
}

struct Header {
    ty: u8,
    len: u16,
}

/// `None`: not TDS; `Some(None)`: header incomplete.
fn header(d: &[u8]) -> Option<Option<Header>> {
    let ty = match d.first() {
        None => return Some(None),
        Some(&t @ (0x01 | 0x04 | 0x10 | 0x12)) => t,
        Some(_) => return None,
    };
    match d.get(1) {
        None => return Some(None),
        Some(s) if s & !0x1b != 0 => return None,
        Some(_) => {}
    }
    let (Some(len), Some(win)) = (be16(d, 2), u8_at(d, 7)) else {
        return Some(None);
    };
    // "Length ... 512 to 32767" packet sizes, header included.
    if !(9..=32768).contains(&len) || win != 0 {
        return None;
    }
    Some(Some(Header { ty, len }))
}

/// PRELOGIN option table: the client / server version and the encryption
/// choice.
fn prelogin(b: &[u8], whole: bool) -> Option<Option<String>> {
    let mut at = 0;
    let mut version: Option<String> = None;
    let mut encryption = None;
    let mut last_token = None;
    for _ in 0..16 {
        let Some(tok) = u8_at(b, at) else {
            return if whole { None } else { Some(None) };
        };
        if tok == 0xff {
            last_token?;
            let mut e = String::new();
            if let Some(v) = version {
                e.push_str(v.as_str());
            }
            if let Some(x) = encryption {
                e.push_str(&format!(", encryption {x}"));
            }
            return Some(Some(e));
        }
        let (Some(off), Some(len)) = (be16(b, at + 1), be16(b, at + 3)) else {
            return if whole { None } else { Some(None) };
        };
        let (off, len) = (usize::from(off), usize::from(len));
        // VERSION first, tokens ascending, up to NONCEOPT (0x07).
        let ok = tok <= 0x07
            && last_token.is_none_or(|l| tok > l)
            && (last_token.is_some() || (tok == 0 && len == 6));
        if !ok || off < 6 || off + len > 4096 {
            return None;
        }
        if whole && off + len > b.len() {
            return None;
        }
        match tok {
            0 => {
                version = b.get(off..off + 6).map(|v| {
                    format!(
                        ", version {}.{}.{}",
                        v.first().copied().unwrap_or(0),
                        v.get(1).copied().unwrap_or(0),
                        be16(v, 2).unwrap_or(0)
                    )
                })
            }
            1 if len == 1 => {
                encryption = b.get(off).map(|&e| match e {
                    0 => "OFF",
                    1 => "ON",
                    2 => "NOT_SUP",
                    3 => "REQ",
                    _ => "other",
                })
            }
            _ => {}
        }
        last_token = Some(tok);
        at += 5;
    }
    None
}

/// What a LOGIN7 says about the client.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Login7 {
    pub tds_version: String,
    pub host: String,
    pub user: String,
    pub app: String,
    pub server: String,
    pub database: String,
}

impl Login7 {
    fn evidence(&self) -> String {
        let mut e = format!("TDS LOGIN7 (TDS {})", self.tds_version);
        for (k, v) in [
            ("user", &self.user),
            ("host", &self.host),
            ("app", &self.app),
            ("server", &self.server),
            ("database", &self.database),
        ] {
            if !v.is_empty() {
                e.push_str(&format!(", {k} '{v}'"));
            }
        }
        e
    }
}

/// LOGIN7 body (the packet's data): `None` when not a LOGIN7.
pub(crate) fn login7(b: &[u8], whole: bool) -> Option<Option<Login7>> {
    let (Some(total), Some(ver)) = (le32(b, 0), le32(b, 4)) else {
        return if whole { None } else { Some(None) };
    };
    // The on-the-wire TDSVersion of LOGIN7 (MS-TDS 2.2.6.4 table):
    // 0x70000000 (7.0), 0x71000000 / 0x71000001 (7.1), 0x72090002 (7.2),
    // 0x730A0003 / 0x730B0003 (7.3), 0x74000004 (7.4), read little-endian.
    let name = match ver {
        0x7000_0000 => "7.0",
        0x7100_0000 | 0x7100_0001 => "7.1",
        0x7209_0002 => "7.2",
        0x730a_0003 => "7.3A",
        0x730b_0003 => "7.3B",
        0x7400_0004 => "7.4",
        _ => return None,
    };
    let fixed = if ver == 0x7000_0000 { 86 } else { 94 };
    if !(fixed as u32..=65536).contains(&total) {
        return None;
    }
    if b.len() < fixed {
        return if whole { None } else { Some(None) };
    }
    // (offset, length in characters) pairs at 36: HostName, UserName,
    // Password, AppName, ServerName, Extension, CltIntName, Language,
    // Database.
    let mut fields: [&[u8]; 9] = [&[]; 9];
    for (i, f) in fields.iter_mut().enumerate() {
        let (Some(off), Some(n)) = (le16(b, 36 + 4 * i), le16(b, 38 + 4 * i)) else {
            return None;
        };
        let (off, n) = (usize::from(off), usize::from(n) * 2);
        if n == 0 {
            continue;
        }
        // Extension (i = 5) may point past the strings; skip its check.
        if i == 5 {
            continue;
        }
        if off < fixed || off + n > total as usize {
            return None;
        }
        match b.get(off..off + n) {
            Some(s) => *f = s,
            None if !whole => return Some(None),
            None => return None,
        }
    }
    let text = |s: &[u8]| -> String {
        let u: Vec<u16> = s
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([byte(c, 0), byte(c, 1)]))
            .take(64)
            .collect();
        let t = String::from_utf16_lossy(&u);
        printable(t.as_bytes(), 64)
    };
    Some(Some(Login7 {
        tds_version: name.to_string(),
        host: text(fields[0]),
        user: text(fields[1]),
        app: text(fields[3]),
        server: text(fields[4]),
        database: text(fields[8]),
    }))
}

fn byte(c: &[u8], i: usize) -> u8 {
    c.get(i).copied().unwrap_or(0)
}

/// SQL batch: ALL_HEADERS then UCS-2 text starting with a letter.
fn sql_batch(b: &[u8], whole: bool) -> Option<Option<String>> {
    let Some(total) = le32(b, 0) else {
        return if whole { None } else { Some(None) };
    };
    // ALL_HEADERS: 4-byte total plus at least one header (length 4 +
    // type 2); the transaction descriptor header makes it 22.
    let skip = if (10..=1024).contains(&total) {
        total as usize
    } else {
        return None;
    };
    let text = b.get(skip..).unwrap_or(&[]);
    let want = 16;
    let have = text.get(..want.min(text.len())).unwrap_or(&[]);
    let ucs2_ascii = have.chunks(2).all(|c| {
        c.len() == 1
            || (c.get(1) == Some(&0) && c.first().is_some_and(|&x| (0x09..0x7f).contains(&x)))
    });
    if !ucs2_ascii
        || have
            .first()
            .is_some_and(|c| !c.is_ascii_alphabetic() && !c.is_ascii_whitespace())
    {
        return None;
    }
    if have.len() < want {
        return if whole { None } else { Some(None) };
    }
    let ascii: Vec<u8> = text
        .chunks_exact(2)
        .take(40)
        .map(|c| byte(c, 0))
        .take_while(|&c| c != 0)
        .collect();
    Some(Some(format!("TDS SQL batch '{}'", printable(&ascii, 40))))
}

#[cfg(test)]
pub(crate) mod tests;
