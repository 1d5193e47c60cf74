//! TFTP (RFC 1350, options RFC 2347-2349, RFC 7440) over UDP, on any port.
//!
//! A request (RRQ/WRQ) carries a NUL-terminated file name and one of three
//! modes, so it matches alone, as do an option acknowledgement and an
//! error message. A transfer (a new port pair, RFC 1350 §4) is only
//! opcodes and block numbers, so two packets must agree: blocks starting
//! at 0/1, a DATA acknowledged by the ACK of its block or followed by the
//! next block.

use netsift_proto::{
    printable, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

#[cfg(test)]
mod tests;

/// TFTP.
pub struct Tftp;

/// RFC 1350 §5: "opcode operation 1 Read request (RRQ) 2 Write request
/// (WRQ) 3 Data (DATA) 4 Acknowledgment (ACK) 5 Error (ERROR)"; RFC 2347:
/// "6 Option Acknowledgment (OACK)".
const RRQ: u16 = 1;
const WRQ: u16 = 2;
const DATA: u16 = 3;
const ACK: u16 = 4;
const ERROR: u16 = 5;
const OACK: u16 = 6;

/// RFC 2348: "blksize ... between 8 and 65464"; a DATA packet is at most
/// 4 + 65464 bytes.
const MAX_DATA: usize = 4 + 65464;

/// A NUL-terminated printable string at the start of `d`: (string, rest).
fn cstr(d: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = d.iter().take(512).position(|&b| b == 0)?;
    let s = d.get(..end)?;
    if !s.iter().all(|&b| (0x20..0x7f).contains(&b)) {
        return None;
    }
    Some((s, d.get(end + 1..)?))
}

/// RFC 2347: "opt1 0 value1 0 <optN> 0 <valueN> 0": printable pairs
/// filling `d` exactly; returns how many.
fn options(mut d: &[u8]) -> Option<usize> {
    let mut n = 0;
    while !d.is_empty() {
        if n >= 16 {
            return None;
        }
        let (name, rest) = cstr(d)?;
        let (_value, rest) = cstr(rest)?;
        if name.is_empty() {
            return None;
        }
        d = rest;
        n += 1;
    }
    Some(n)
}

fn request(op: u16, body: &[u8]) -> Option<String> {
    // RFC 1350 §5: "| Opcode | Filename | 0 | Mode | 0 |" ... "The mode
    // field contains the string "netascii", "octet", or "mail" ... in any
    // combination of upper and lower case".
    let (file, rest) = cstr(body)?;
    if file.is_empty() {
        return None;
    }
    let (mode, rest) = cstr(rest)?;
    let known = [&b"netascii"[..], b"octet", b"mail"]
        .iter()
        .any(|m| mode.eq_ignore_ascii_case(m));
    if !known {
        return None;
    }
    let n = options(rest)?;
    let what = if op == RRQ { "read" } else { "write" };
    let mut ev = format!(
        "TFTP {what} request for '{}' ({})",
        printable(file, 48),
        printable(mode, 8)
    );
    if n > 0 {
        ev.push_str(&format!(", {n} options"));
    }
    Some(ev)
}

fn error(body: &[u8]) -> Option<String> {
    // RFC 1350 §5: "| 05 | ErrorCode | ErrMsg | 0 |"; Appendix: error
    // codes 0..7; RFC 2347 adds 8 (option negotiation failed).
    let code = u16::from_be_bytes([*body.first()?, *body.get(1)?]);
    if code > 8 {
        return None;
    }
    let (msg, rest) = cstr(body.get(2..)?)?;
    if !rest.is_empty() {
        return None;
    }
    Some(format!("TFTP error {code}: '{}'", printable(msg, 48)))
}

impl Protocol for Tftp {
    fn name(&self) -> &'static str {
        "TFTP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[69]
    }
    // RFC 1350 §5: a 2-byte opcode, 1..5 (RFC 2347: 6 OACK), so the first
    // byte is zero.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x00])
    }
    fn probe(&self, input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let (Some(&h), Some(&l)) = (d.first(), d.get(1)) else {
            return Probe::NoMatch;
        };
        let op = u16::from_be_bytes([h, l]);
        let body = d.get(2..).unwrap_or(&[]);
        let ev = match op {
            RRQ | WRQ => request(op, body),
            ERROR => error(body),
            // RFC 2347: "| opc | opt1 | 0 | value1 | 0 | ..." with at
            // least one option.
            OACK => options(body).filter(|&n| n > 0).map(|n| {
                let first = cstr(body).map_or(&b""[..], |(s, _)| s);
                format!(
                    "TFTP option acknowledgement ({n} options, first '{}')",
                    printable(first, 16)
                )
            }),
            DATA | ACK => return transfer(op, d, scratch),
            _ => None,
        };
        match ev {
            Some(e) => Probe::Match(Match::new(e)),
            None => Probe::NoMatch,
        }
    }
}

/// DATA "| 03 | Block # | Data |" and ACK "| 04 | Block # |" (RFC 1350
/// §5). Scratch word 0: bit 63 seen, bit 62 last was DATA, 0..16 block.
fn transfer(op: u16, d: &[u8], scratch: &mut ProbeScratch) -> Probe {
    let Some(block) = d.get(2..4).map(|b| u16::from_be_bytes([b[0], b[1]])) else {
        return Probe::NoMatch;
    };
    // An ACK is exactly 4 bytes; a DATA block at most blksize bytes.
    if (op == ACK && d.len() != 4) || d.len() > MAX_DATA {
        return Probe::NoMatch;
    }
    let prev = scratch.0[0];
    let is_data = op == DATA;
    if prev >> 63 == 1 {
        let pblock = (prev & 0xffff) as u16;
        let pdata = (prev >> 62) & 1 == 1;
        // RFC 1350 §2: "each data packet ... must be acknowledged by an
        // acknowledgment packet before the next packet can be sent" (RFC
        // 7440 windows send several DATA in a row).
        let follows = match (pdata, is_data) {
            (true, false) => block == pblock,
            (false, true) | (true, true) => block == pblock.wrapping_add(1),
            (false, false) => false,
        };
        if follows {
            let what = if is_data { "DATA" } else { "ACK" };
            let before = if pdata { "DATA" } else { "ACK" };
            return Probe::Match(Match::new(format!(
                "TFTP transfer: {before} block {pblock} then {what} block {block}"
            )));
        }
    }
    // RFC 1350 §4: "The first data packet ... has a block number of 1";
    // a write request is answered by "ACK ... with block number 0".
    let start = if is_data { block == 1 } else { block <= 1 };
    if !start {
        return Probe::NoMatch;
    }
    scratch.0[0] = 1 << 63 | u64::from(is_data) << 62 | u64::from(block);
    Probe::NeedMore
}
