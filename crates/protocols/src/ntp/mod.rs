//! NTP (RFC 5905, and the older RFC 1305 / RFC 1119 versions). Three packet
//! shapes share UDP port 123 and the LI/VN/Mode first octet:
//! * modes 1..=5: the 48-octet header of RFC 5905 §7.3 (plus an optional
//!   MAC or NTPv4 extension fields, RFC 7822);
//! * mode 6: control messages (RFC 1305 appendix B, RFC 9327);
//! * mode 7: ntpd's private "ntpdc" requests (the monlist of amplification
//!   attacks), which nDPI also reports as NTP.
//!
//! A 48-octet random packet must not pass: each shape checks its ranges
//! (stratum, poll, precision, root delay/dispersion, timestamps) or its
//! internal lengths.

use netsift_proto::bytes::{be16, be32};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

#[cfg(test)]
mod tests;

/// NTP.
pub struct Ntp;

/// What may follow the 48-octet header: nothing; an NTPv3/v4 MAC (key id
/// and an 8/16/20-octet digest, RFC 5905 §7.3 / appendix A, or a 4-octet
/// crypto-NAK); or, in NTPv4, extension fields (RFC 7822 §3: type, and a
/// length of at least 16 that is a multiple of 4) before an optional MAC.
fn trailer_ok(d: &[u8], version: u8) -> bool {
    let mut pos = 48;
    if version == 4 {
        let mut fields = 0;
        while d.len().saturating_sub(pos) > 24 && fields < 32 {
            let Some(len) = be16(d, pos + 2) else {
                return false;
            };
            let len = len as usize;
            if len < 16 || len % 4 != 0 || pos + len > d.len() {
                return false;
            }
            pos += len;
            fields += 1;
        }
    }
    matches!(d.len().checked_sub(pos), Some(0 | 4 | 12 | 20 | 24))
}

fn header(d: &[u8], version: u8, mode: u8) -> Option<String> {
    let stratum = *d.get(1)?;
    let poll = *d.get(2)? as i8;
    let precision = *d.get(3)? as i8;
    let root_delay = be32(d, 4)?;
    let root_disp = be32(d, 8)?;
    let refid = d.get(12..16)?;
    let rx = be32(d, 32)?;
    let tx = be32(d, 40)?;
    // RFC 5905 §7.3: stratum 0 (unspecified / kiss-o'-death), 1 primary,
    // 2..=15 secondary, 16 unsynchronized.
    if stratum > 16 {
        return None;
    }
    // Poll: log2 seconds, MINPOLL 4..MAXPOLL 17 (§7.2); clients and SNTP
    // implementations send 0 or small values, some negative (-6..).
    if !(-7..=17).contains(&poll) {
        return None;
    }
    // Precision: log2 seconds, "-18 for microsecond" (§7.3); clocks are
    // never coarser than 1 s (0) nor finer than 2^-32.
    if !(-32..=0).contains(&precision) {
        return None;
    }
    // Root delay / dispersion are NTP short format (16.16 seconds); real
    // values stay far below a minute (MAXDISP is 16 s, §7.2).
    if root_delay >= 0x0040_0000 || root_disp >= 0x0040_0000 {
        return None;
    }
    if !trailer_ok(d, version) {
        return None;
    }
    match mode {
        // Client (3): SNTP clients (RFC 4330 §5) leave everything but the
        // transmit timestamp zero; ntpd / chrony fill fields in, and chrony
        // randomises the transmit timestamp, so the ranges above are the
        // checks.
        3 => Some(format!("NTPv{version} client request")),
        // Server (4), broadcast (5), symmetric (1, 2): the server stamped
        // receive and transmit times, the transmit at most a few seconds
        // after the receive; or a kiss-o'-death (stratum 0 with an ASCII
        // kiss code in the reference id, §7.4).
        _ => {
            let kod = stratum == 0 && refid.iter().all(|b| b.is_ascii_uppercase() || *b == 0);
            let stamped = tx != 0 && (mode == 5 || (rx != 0 && tx.wrapping_sub(rx) <= 4));
            if !stamped && !kod {
                return None;
            }
            let role = match mode {
                1 => "symmetric active",
                2 => "symmetric passive",
                4 => "server reply",
                _ => "broadcast",
            };
            let mut s = format!("NTPv{version} {role}, stratum {stratum}");
            if stratum == 1 || (stratum == 0 && kod) {
                let code = refid.iter().take_while(|b| **b != 0).copied();
                let code: Vec<u8> = code.collect();
                if !code.is_empty() {
                    s.push_str(&format!(" ({})", netsift_proto::printable(&code, 4)));
                }
            }
            Some(s)
        }
    }
}

/// RFC 1305 appendix B.1 / RFC 9327 §2: LI VN Mode | R E M Opcode |
/// Sequence | Status | Association ID | Offset | Count | data | pad | MAC.
fn control(d: &[u8], version: u8) -> Option<String> {
    let b1 = *d.get(1)?;
    let response = b1 & 0x80 != 0;
    let opcode = b1 & 0x1f;
    let offset = be16(d, 8)? as usize;
    let count = be16(d, 10)? as usize;
    // Opcodes 1 (read status) .. 12 (request nonce) are defined (RFC 9327
    // §2.1 lists 1-7; ntpd's ntpq adds 8-12), and ntpd's CTL_OP_UNSETTRAP
    // is 31; 0 is reserved. Data is at most 468 octets per packet.
    if !(1..=12).contains(&opcode) && opcode != 31 || count > 468 {
        return None;
    }
    if !response && (b1 & 0x60 != 0 || offset != 0) {
        return None;
    }
    let body = 12 + count.div_ceil(4) * 4;
    // Padding to 32 bits, optionally followed by a MAC (key id + digest).
    let extra = d.len().checked_sub(body)?;
    if !matches!(extra, 0 | 20 | 24) && d.len() != 12 + count {
        return None;
    }
    let op = match opcode {
        1 => "read status",
        2 => "read variables",
        3 => "write variables",
        4 => "read clock variables",
        5 => "write clock variables",
        6 => "set trap",
        7 => "async message",
        8 => "configure",
        9 => "save config",
        10 => "read MRU",
        11 => "read ordlist",
        12 => "request nonce",
        _ => "unset trap",
    };
    let dir = if response { "response" } else { "request" };
    Some(format!("NTPv{version} control (mode 6) {op} {dir}"))
}

/// ntpd's mode 7 (ntp_request.h): R M VN Mode | A Sequence |
/// Implementation | Request code | Err(4) Nitems(12) | MBZ(4) Itemsize(12)
/// | data.
fn private(d: &[u8], version: u8) -> Option<String> {
    let b0 = *d.first()?;
    let response = b0 & 0x80 != 0;
    let b1 = *d.get(1)?;
    let implementation = *d.get(2)?;
    let req = *d.get(3)?;
    let e_n = be16(d, 4)?;
    let m_s = be16(d, 6)?;
    let err = e_n >> 12;
    let nitems = (e_n & 0x0fff) as usize;
    let itemsize = (m_s & 0x0fff) as usize;
    // IMPL_UNIV 0, IMPL_XNTPD_OLD 2, IMPL_XNTPD 3; request codes run to
    // 45; INFO_ERR_* 0..=5; MBZ nibble zero.
    if !matches!(implementation, 0 | 2 | 3) || req > 45 || err > 5 || m_s >> 12 != 0 {
        return None;
    }
    let items = nitems * itemsize;
    if response {
        // Responses carry exactly nitems * itemsize octets (<= 500).
        if b1 & 0x80 != 0 || items > 500 || d.len() != 8 + items {
            return None;
        }
    } else {
        // Requests: a 40-octet data area (REQ_LEN_NOMAC 48), optionally a
        // timestamp + key id + digest when authenticated (A bit).
        let authed = b1 & 0x80 != 0;
        let ok_len = if authed {
            (48..=72).contains(&d.len())
        } else {
            d.len() == 48
        };
        if !ok_len || items > 40 || d.get(8 + items..48)?.iter().any(|&b| b != 0) && !authed {
            return None;
        }
    }
    let what = match req {
        20 => " (MON_GETLIST)",
        42 => " (MON_GETLIST_1)",
        _ => "",
    };
    let dir = if response { "response" } else { "request" };
    Some(format!(
        "NTPv{version} private (mode 7) request code {req}{what} {dir}"
    ))
}

/// The first octets `probe` goes on with: version 1..=4, and mode 1..=5 or
/// 7, or mode 6 with LI zero (the declaration is built from it too).
const fn first_byte_ok(b0: u8) -> bool {
    let version = (b0 >> 3) & 0x07;
    let mode = b0 & 0x07;
    version >= 1
        && version <= 4
        && match mode {
            1..=5 | 7 => true,
            6 => b0 & 0xc0 == 0,
            _ => false,
        }
}

const FIRST_BYTES: FirstBytes = {
    let mut s = FirstBytes::NONE;
    let mut b = 0usize;
    while b < 256 {
        // `b` < 256.
        if first_byte_ok(b as u8) {
            s = s.with(b as u8);
        }
        b += 1;
    }
    s
};

impl Protocol for Ntp {
    fn name(&self) -> &'static str {
        "NTP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[123]
    }
    // RFC 5905 §7.3: the first octet is LI (2 bits), VN ("3-bit integer
    // representing the NTP version number, currently 4"; 1-3 for the older
    // RFCs) and Mode (Figure 10: "0 | reserved"); mode 6 only with LI zero,
    // as `probe` checks (both use `first_byte_ok`).
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FIRST_BYTES
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let Some(&b0) = d.first() else {
            return Probe::NoMatch;
        };
        // RFC 5905 §7.3: LI (2 bits), VN (3 bits), Mode (3 bits); mode 0
        // is reserved.
        if !first_byte_ok(b0) {
            return Probe::NoMatch;
        }
        let version = (b0 >> 3) & 0x07;
        let mode = b0 & 0x07;
        let ev = match mode {
            // Mode 6/7 packets start with their own small header.
            6 => control(d, version),
            7 => private(d, version),
            1..=5 if d.len() >= 48 => header(d, version, mode),
            _ => None,
        };
        match ev {
            Some(ev) => Probe::Match(Match::new(ev)),
            None => Probe::NoMatch,
        }
    }
}
