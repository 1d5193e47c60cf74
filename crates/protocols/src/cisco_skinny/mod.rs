//! Cisco Skinny Client Control Protocol (SCCP), over TCP (2000; 2443 with
//! TLS). Observed protocol: Cisco publishes no specification; the layout
//! below is the one documented by Wireshark's and Asterisk's (chan_skinny)
//! implementations and seen in the corpus capture.
//!
//! Every message: `length (32-bit little-endian) | header version (32-bit
//! LE) | message id (32-bit LE) | data`, where length counts the message
//! id and the data (so it is at least 4). Header versions seen: 0 (basic),
//! 0x11, 0x12, 0x14, 0x15, 0x16, 0x17 (CallManager 7 and later). Message ids
//! run 0x0000..=0x004c from the phone (KeepAlive 0x0000, Register 0x0001,
//! IpPort 0x0002, ...), 0x0081..=0x0160 from the call manager
//! (RegisterAck 0x0081, ...), and 0x8000..=0x80ff in newer firmware.
//!
//! A message whose header fits these rules matches when it is followed by
//! another well-formed message in the same stream, or (Register,
//! RegisterAck) when its body checks out on its own: Register carries a
//! NUL-terminated device name in its first 16 octets.

use netsift_proto::bytes::le32;
use netsift_proto::{printable, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// CiscoSkinny.
pub struct CiscoSkinny;

const MAX_LEN: u32 = 4096;

fn msg_name(id: u32) -> &'static str {
    match id {
        0x0000 => "KeepAlive",
        0x0001 => "Register",
        0x0002 => "IpPort",
        0x0006 => "OffHook",
        0x0007 => "OnHook",
        0x0081 => "RegisterAck",
        0x0100 => "KeepAliveAck",
        0x0105 => "OpenReceiveChannel",
        0x0111 => "CallState",
        _ => "message",
    }
}

/// `Some(Ok(total octets))`, `Some(Err(()))` impossible, `None` more needed.
fn header(d: &[u8], off: usize) -> Option<Result<(usize, u32), ()>> {
    let b = d.get(off..).unwrap_or(&[]);
    // The length's top two octets are 0 (MAX_LEN); check what is there.
    if b.get(2).is_some_and(|&x| x != 0) || b.get(3).is_some_and(|&x| x != 0) {
        return Some(Err(()));
    }
    let len = le32(b, 0)?;
    if !(4..=MAX_LEN).contains(&len) {
        return Some(Err(()));
    }
    let ver = le32(b, 4)?;
    if !matches!(ver, 0 | 0x11 | 0x12 | 0x14 | 0x15 | 0x16 | 0x17) {
        return Some(Err(()));
    }
    let id = le32(b, 8)?;
    if !matches!(id, 0x0000..=0x004c | 0x0081..=0x0160 | 0x8000..=0x80ff) {
        return Some(Err(()));
    }
    Some(Ok((8 + len as usize, id)))
}

impl Protocol for CiscoSkinny {
    fn name(&self) -> &'static str {
        "CiscoSkinny"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[2000]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let d = input.data;
        let (total, id) = match header(d, 0) {
            None => return Probe::NeedMore,
            Some(Err(())) => return Probe::NoMatch,
            Some(Ok(x)) => x,
        };
        let name = msg_name(id);
        // Register: device name, NUL-terminated within 16 octets, printable.
        if id == 0x0001 && total >= 12 + 16 {
            let Some(dev) = d.get(12..28) else {
                return Probe::NeedMore;
            };
            let n = dev.iter().position(|&b| b == 0).unwrap_or(16);
            if n == 0 || n == 16 || !dev[..n].iter().all(|b| b.is_ascii_graphic()) {
                return Probe::NoMatch;
            }
            return Probe::Match(Match::new(format!(
                "Skinny Register, device '{}'",
                printable(&dev[..n], 16)
            )));
        }
        // Otherwise a second message must follow in the stream.
        match header(d, total) {
            None => Probe::NeedMore,
            Some(Err(())) => Probe::NoMatch,
            Some(Ok((_, id2))) => Probe::Match(Match::new(format!(
                "Skinny {name} (0x{id:04x}) then {} (0x{id2:04x})",
                msg_name(id2)
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const REGISTER: &[u8] = include_bytes!("testdata/register.bin");
    const REGISTER_ACK: &[u8] = include_bytes!("testdata/register_ack.bin");
    const IPPORT: &[u8] = include_bytes!("testdata/ipport.bin");

    #[test]
    fn messages() {
        assert_eq!(
            evidence(probe1(&CiscoSkinny, TCP, C, REGISTER)),
            "Skinny Register, device 'NONSECURE_CONF'"
        );
        // RegisterAck alone waits for the next message.
        assert_eq!(probe1(&CiscoSkinny, TCP, S, REGISTER_ACK), Probe::NeedMore);
        let keepalive = [4u8, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x01, 0, 0];
        let mut s = REGISTER_ACK.to_vec();
        s.extend_from_slice(&[4, 0, 0, 0, 0, 0, 0, 0, 0x9b, 0, 0, 0]);
        assert_eq!(
            evidence(probe1(&CiscoSkinny, TCP, S, &s)),
            "Skinny RegisterAck (0x0081) then message (0x009b)"
        );
        let mut c = IPPORT.to_vec();
        c.extend_from_slice(&[4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            evidence(probe1(&CiscoSkinny, TCP, C, &c)),
            "Skinny IpPort (0x0002) then KeepAlive (0x0000)"
        );
        assert_eq!(probe1(&CiscoSkinny, TCP, C, &keepalive), Probe::NeedMore);
    }

    #[test]
    fn prefixes_random_foreign() {
        check_prefixes(&CiscoSkinny, TCP, C, REGISTER, b"");
        assert_random_flows_rejected(&CiscoSkinny, TCP, 2000);
        foreign_never_match(&CiscoSkinny, TCP);
        assert_foreign_rejected(&CiscoSkinny, "skinny");
    }
}
