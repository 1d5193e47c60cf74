//! OPC UA Connection Protocol (UA TCP, "opc.tcp", port 4840), identified
//! from its message header.
//!
//! OPC 10000-6 (OPC UA Part 6: Mappings) §7.1.2.2, message header: a
//! 3-byte ASCII MessageType ("HEL" Hello, "ACK" Acknowledge, "ERR" Error,
//! "RHE" ReverseHello; secure conversation §6.7.2: "OPN" OpenSecureChannel,
//! "MSG" Message, "CLO" CloseSecureChannel), a 1-byte chunk type ('F' final,
//! 'C' intermediate, 'A' abort; HEL/ACK/ERR/RHE use 'F'), and MessageSize
//! (UInt32, little endian, the whole message including this 8-byte header).
//! §7.1.2.3 Hello: ProtocolVersion, ReceiveBufferSize, SendBufferSize,
//! MaxMessageSize, MaxChunkCount (UInt32 each), EndpointUrl (String: Int32
//! length + UTF-8, at most 4096 bytes). §7.1.2.4 Acknowledge: five UInt32.
//! §7.1.2.6 ReverseHello (server first): ServerUri, EndpointUrl strings.
//! §6.7.2.2: OPN/MSG/CLO continue with the SecureChannelId (UInt32); OPN
//! then has the SecurityPolicyUri string
//! ("http://opcfoundation.org/UA/SecurityPolicy#...").
//!
//! The connection-level messages are strong on their own (type, chunk
//! type, size and the first fields); a capture that starts on MSG/CLO is
//! taken when a second header follows the first message exactly, or when
//! the stream ends with it.

use netsift_proto::bytes::le32;
use netsift_proto::{printable, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// OPC UA.
pub struct OpcUa;

/// Spec default limits are far below this; it only bounds garbage.
const MAX_MSG: u32 = 16 << 20;

impl Protocol for OpcUa {
    fn name(&self) -> &'static str {
        "OPC-UA"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[4840]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let d = input.data;
        match header(d) {
            Hdr::Bad => Probe::NoMatch,
            Hdr::Short => Probe::NeedMore,
            Hdr::Ok(kind, chunk, size) => body(d, kind, chunk, size as usize),
        }
    }
}

enum Hdr {
    Ok(&'static str, u8, u32),
    Short,
    Bad,
}

fn header(d: &[u8]) -> Hdr {
    const TYPES: [&[u8; 3]; 7] = [b"HEL", b"ACK", b"ERR", b"RHE", b"OPN", b"MSG", b"CLO"];
    let n = d.len().min(3);
    let Some(t) = TYPES.iter().find(|t| t[..n] == d[..n]) else {
        return Hdr::Bad;
    };
    let conn = matches!(t[0], b'H' | b'A' | b'E' | b'R');
    match d.get(3) {
        None => return Hdr::Short,
        Some(b'F') => {}
        Some(b'C' | b'A') if !conn => {}
        Some(_) => return Hdr::Bad,
    }
    let Some(size) = le32(d, 4) else {
        // The size's high byte is 0 for any sane message.
        return if d.get(7).is_some_and(|&b| b != 0) {
            Hdr::Bad
        } else {
            Hdr::Short
        };
    };
    if !(8..=MAX_MSG).contains(&size) {
        return Hdr::Bad;
    }
    let kind = match *t {
        b"HEL" => "Hello",
        b"ACK" => "Acknowledge",
        b"ERR" => "Error",
        b"RHE" => "ReverseHello",
        b"OPN" => "OpenSecureChannel",
        b"MSG" => "Message",
        _ => "CloseSecureChannel",
    };
    Hdr::Ok(kind, d[3], size)
}

/// An OPC UA String at `off`: Int32 length (-1 = null) + bytes.
fn ua_string(d: &[u8], off: usize, max: usize) -> Result<Option<&[u8]>, bool> {
    let Some(l) = le32(d, off) else {
        return Err(true);
    };
    if l == u32::MAX {
        return Ok(None);
    }
    let l = l as usize;
    if l > max {
        return Err(false);
    }
    d.get(off + 4..off + 4 + l).map(Some).ok_or(true)
}

fn body(d: &[u8], kind: &'static str, chunk: u8, size: usize) -> Probe {
    let short = |more: bool| {
        if more {
            Probe::NeedMore
        } else {
            Probe::NoMatch
        }
    };
    match kind {
        "Hello" => {
            // ProtocolVersion 0; buffers >= 8192 (§7.1.2.3: "MUST be
            // greater than 8192 bytes" for Receive/SendBufferSize).
            let (Some(ver), Some(rb), Some(sb)) = (le32(d, 8), le32(d, 12), le32(d, 16)) else {
                return Probe::NeedMore;
            };
            if ver > 16 || rb < 8192 || sb < 8192 || size < 32 {
                return Probe::NoMatch;
            }
            let url = match ua_string(d, 28, 4096) {
                Ok(u) => u.unwrap_or(b""),
                Err(m) => return short(m),
            };
            if size != 32 + url.len() {
                return Probe::NoMatch;
            }
            Probe::Match(Match::new(format!(
                "OPC UA Hello v{ver}, endpoint '{}'",
                printable(url, 80)
            )))
        }
        "Acknowledge" => {
            let (Some(ver), Some(rb), Some(sb)) = (le32(d, 8), le32(d, 12), le32(d, 16)) else {
                return Probe::NeedMore;
            };
            if ver > 16 || rb < 8192 || sb < 8192 || size != 28 {
                return Probe::NoMatch;
            }
            Probe::Match(Match::new(format!(
                "OPC UA Acknowledge v{ver}, receive buffer {rb}"
            )))
        }
        "ReverseHello" => {
            let uri = match ua_string(d, 8, 4096) {
                Ok(u) => u.unwrap_or(b""),
                Err(m) => return short(m),
            };
            Probe::Match(Match::new(format!(
                "OPC UA ReverseHello from '{}'",
                printable(uri, 80)
            )))
        }
        "OpenSecureChannel" => {
            let pol = match ua_string(d, 12, 256) {
                Ok(Some(p)) => p,
                Ok(None) => return Probe::NoMatch,
                Err(m) => return short(m),
            };
            let Some(name) = pol.strip_prefix(b"http://opcfoundation.org/UA/SecurityPolicy#")
            else {
                return Probe::NoMatch;
            };
            Probe::Match(Match::new(format!(
                "OPC UA OpenSecureChannel, security policy {}",
                printable(name, 40)
            )))
        }
        _ => {
            // Error, Message, Close: another header right after this
            // message, or the stream ends with it.
            if kind == "Error" && size < 16 {
                return Probe::NoMatch;
            }
            match d.len() {
                n if n < size => Probe::NeedMore,
                n if n == size => Probe::Match(Match::new(format!(
                    "OPC UA {kind} chunk '{}' of {size} bytes",
                    chunk as char
                ))),
                _ => match header(&d[size..]) {
                    Hdr::Bad => Probe::NoMatch,
                    Hdr::Short => Probe::NeedMore,
                    Hdr::Ok(next, ..) => Probe::Match(Match::new(format!(
                        "OPC UA {kind} chunk '{}' of {size} bytes, then {next}",
                        chunk as char
                    ))),
                },
            }
        }
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
    const HEL: &[u8] = include_bytes!("testdata/hel.bin");
    const ACK: &[u8] = include_bytes!("testdata/ack.bin");
    const OPN: &[u8] = include_bytes!("testdata/opn.bin");
    const MSG: &[u8] = include_bytes!("testdata/msg.bin");
    const MSG_RESP: &[u8] = include_bytes!("testdata/msg_resp.bin");

    #[test]
    fn corpus_messages() {
        assert_eq!(
            evidence(probe1(&OpcUa, TCP, C, HEL)),
            "OPC UA Hello v0, endpoint 'opc.tcp://localhost:4840'"
        );
        assert_eq!(
            evidence(probe1(&OpcUa, TCP, S, ACK)),
            "OPC UA Acknowledge v0, receive buffer 131072"
        );
        assert_eq!(
            evidence(probe1(&OpcUa, TCP, C, OPN)),
            "OPC UA OpenSecureChannel, security policy None"
        );
        for (dir, s) in [(C, [HEL, OPN, MSG].concat()), (S, [ACK, MSG_RESP].concat())] {
            check_prefixes(&OpcUa, TCP, dir, &s, b"");
        }
    }

    #[test]
    fn asyncua_hello() {
        let h = include_bytes!("testdata/asyncua_hel.bin");
        assert_eq!(
            evidence(probe1(&OpcUa, TCP, C, h)),
            "OPC UA Hello v0, endpoint 'opc.tcp://127.0.0.1:8080/netsift/'"
        );
    }

    #[test]
    fn mid_session_messages() {
        let s = [MSG, MSG].concat();
        assert_eq!(
            evidence(probe1(&OpcUa, TCP, C, &s)),
            "OPC UA Message chunk 'F' of 93 bytes, then Message"
        );
        assert!(probe1(&OpcUa, TCP, S, MSG_RESP) != Probe::NoMatch);
        check_prefixes(&OpcUa, TCP, C, &s, b"");
        let mut bad = s.clone();
        bad[MSG.len()] = b'X';
        assert_eq!(probe1(&OpcUa, TCP, C, &bad), Probe::NoMatch);
    }

    #[test]
    fn foreign_and_random() {
        foreign_never_match(&OpcUa, TCP);
        assert_random_flows_rejected(&OpcUa, TCP, 4840);
    }
}
