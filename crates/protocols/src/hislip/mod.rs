//! HiSLIP (High-Speed LAN Instrument Protocol, IVI-6.1, TCP 4880).
//!
//! IVI-6.1 §2.5 message format: Prologue "HS" (0x48 0x53), Message Type
//! (1 octet), Control Code (1), Message Parameter (4), Payload Length (8,
//! big endian), payload. §2.6 Table 4 message types: 0 Initialize, 1
//! InitializeResponse, 2 FatalError, 3 Error, 4 AsyncLock, 5
//! AsyncLockResponse, 6 Data, 7 DataEND, 8 DeviceClearComplete, 9
//! DeviceClearAcknowledge, 10 AsyncRemoteLocalControl, 11
//! AsyncRemoteLocalResponse, 12 Trigger, 13 Interrupted, 14
//! AsyncInterrupted, 15 AsyncMaximumMessageSize, 16
//! AsyncMaximumMessageSizeResponse, 17 AsyncInitialize, 18
//! AsyncInitializeResponse, 19 AsyncDeviceClear, 20 AsyncServiceRequest,
//! 21 AsyncStatusQuery, 22 AsyncStatusResponse, 23
//! AsyncDeviceClearAcknowledge, 24 AsyncLockInfo, 25
//! AsyncLockInfoResponse, 26 GetDescriptors, 27 GetDescriptorsResponse,
//! 28 StartTLS, 29 AsyncStartTLS, 30 AsyncStartTLSResponse, 31 EndTLS, 32
//! AsyncEndTLS, 33 AsyncEndTLSResponse, 34 GetSaslMechanismList, 35
//! GetSaslMechanismListResponse, 36 AuthenticationStart, 37
//! AuthenticationExchange, 38 AuthenticationResult; 128-255 vendor
//! specific. §4.1.1 Initialize: parameter = protocol version (16 bits:
//! major.minor) + vendor id (2 ASCII octets), payload = sub-address (e.g.
//! "hislip0").
//!
//! Two ASCII octets are weak alone: a message is taken with a defined type
//! and a payload length that is followed, in the stream, by another "HS"
//! message or by the end of what arrived (an Initialize needs its
//! printable sub-address).

use netsift_proto::bytes::{be16, be64};
use netsift_proto::{printable, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// HiSLIP.
pub struct Hislip;

const HDR: usize = 16;

impl Protocol for Hislip {
    fn name(&self) -> &'static str {
        "HiSLIP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[4880]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let d = input.data;
        let n = d.len().min(2);
        if d[..n] != b"HS"[..n] {
            return Probe::NoMatch;
        }
        let Some(&ty) = d.get(2) else {
            return Probe::NeedMore;
        };
        let name = match type_name(ty) {
            Some(n) => n,
            None => return Probe::NoMatch,
        };
        // Payload length: the high octets are 0 for any real message.
        if d.get(8..12).is_some_and(|h| h != [0, 0, 0, 0]) {
            return Probe::NoMatch;
        }
        let Some(plen) = be64(d, 8) else {
            return Probe::NeedMore;
        };
        let plen = plen as usize;
        let end = HDR + plen;
        let detail = match ty {
            // Initialize: version (major 1 or 2) and the sub-address.
            0 => {
                if d.get(4).is_some_and(|&m| !matches!(m, 1 | 2)) || plen > 256 {
                    return Probe::NoMatch;
                }
                let Some(sub) = d.get(HDR..end) else {
                    return Probe::NeedMore;
                };
                if !sub.iter().all(|b| b.is_ascii_graphic()) {
                    return Probe::NoMatch;
                }
                let ver = be16(d, 4).unwrap_or(0);
                format!(
                    " v{}.{}, sub-address '{}'",
                    ver >> 8,
                    ver & 0xff,
                    printable(sub, 40)
                )
            }
            _ => {
                match d.get(end..end + 2) {
                    Some(next) if next == b"HS" => {}
                    Some(_) => return Probe::NoMatch,
                    None if d.len() == end => {}
                    None if d.len() > end => {
                        if d.get(end) != Some(&b'H') {
                            return Probe::NoMatch;
                        }
                        return Probe::NeedMore;
                    }
                    None => return Probe::NeedMore,
                }
                String::new()
            }
        };
        Probe::Match(Match::new(format!("HiSLIP {name}{detail}")))
    }
}

fn type_name(t: u8) -> Option<&'static str> {
    Some(match t {
        0 => "Initialize",
        1 => "InitializeResponse",
        2 => "FatalError",
        3 => "Error",
        4 => "AsyncLock",
        5 => "AsyncLockResponse",
        6 => "Data",
        7 => "DataEND",
        8 => "DeviceClearComplete",
        9 => "DeviceClearAcknowledge",
        10 => "AsyncRemoteLocalControl",
        11 => "AsyncRemoteLocalResponse",
        12 => "Trigger",
        13 => "Interrupted",
        14 => "AsyncInterrupted",
        15 => "AsyncMaximumMessageSize",
        16 => "AsyncMaximumMessageSizeResponse",
        17 => "AsyncInitialize",
        18 => "AsyncInitializeResponse",
        19 => "AsyncDeviceClear",
        20 => "AsyncServiceRequest",
        21 => "AsyncStatusQuery",
        22 => "AsyncStatusResponse",
        23 => "AsyncDeviceClearAcknowledge",
        24 => "AsyncLockInfo",
        25 => "AsyncLockInfoResponse",
        26 => "GetDescriptors",
        27 => "GetDescriptorsResponse",
        28..=38 => "TLS/SASL message",
        128..=255 => "vendor-specific message",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_random_flows_rejected, check_prefixes, evidence, foreign_never_match, probe1, C, S,
    };

    const TCP: Transport = Transport::Tcp;

    #[test]
    fn initialize_and_data() {
        // Initialize: "HS", type 0, control 0, parameter = version 1.0 +
        // vendor "ZZ", payload length 7, "hislip0".
        let mut init = b"HS\x00\x00\x01\x00ZZ\x00\x00\x00\x00\x00\x00\x00\x07".to_vec();
        init.extend_from_slice(b"hislip0");
        assert_eq!(
            evidence(probe1(&Hislip, TCP, C, &init)),
            "HiSLIP Initialize v1.0, sub-address 'hislip0'"
        );
        check_prefixes(&Hislip, TCP, C, &init, b"");
        // DataEND "*IDN?\n" with message id 0xffffff00.
        let mut data = b"HS\x07\x00\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00\x06".to_vec();
        data.extend_from_slice(b"*IDN?\n");
        assert_eq!(evidence(probe1(&Hislip, TCP, S, &data)), "HiSLIP DataEND");
        let mut junk = data.clone();
        junk.extend_from_slice(b"xx");
        assert_eq!(probe1(&Hislip, TCP, S, &junk), Probe::NoMatch);
    }

    #[test]
    fn foreign_and_random() {
        foreign_never_match(&Hislip, TCP);
        assert_random_flows_rejected(&Hislip, TCP, 4880);
    }
}
