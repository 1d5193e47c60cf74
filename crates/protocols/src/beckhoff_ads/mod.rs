//! Beckhoff ADS (Automation Device Specification) over AMS/TCP (TCP 48898)
//! and the ADS/AMS UDP discovery (UDP 48899).
//!
//! Beckhoff Information System, "ADS Specification" (TC3 ADS): AMS/TCP
//! packet = AMS/TCP header (6 octets: reserved 16 bits = 0, length 32 bits
//! little endian = AMS header + data) + AMS header (32 octets, little
//! endian): AMSNetId target (6), AMSPort target (2), AMSNetId source (6),
//! AMSPort source (2), Command Id (2: 0 Invalid, 1 ADS Read Device Info,
//! 2 ADS Read, 3 ADS Write, 4 ADS Read State, 5 ADS Write Control, 6 ADS
//! Add Device Notification, 7 ADS Delete Device Notification, 8 ADS Device
//! Notification, 9 ADS Read Write), State Flags (2: bit 0 response, bit 2
//! ADS command, bit 6 UDP), Data Length (4, equal to the AMS/TCP length
//! minus 32), Error Code (4), Invoke Id (4). The two lengths agreeing plus
//! the command and the flags make one header conclusive.
//!
//! UDP 48899 discovery (observed in TwinCAT and the open-source ADS
//! libraries): a 4-octet magic 0x71146603 (little endian: 03 66 14 71),
//! invoke id, service id, AMS NetId and port.

use netsift_proto::bytes::{le16, le32};
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Beckhoff ADS.
pub struct BeckhoffAds;

const TCP_HDR: usize = 6;
const AMS_HDR: usize = 32;

impl Protocol for BeckhoffAds {
    fn name(&self) -> &'static str {
        "BeckhoffADS"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp, Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[48898, 48899]
    }
    // ADS Specification: the AMS/TCP header starts with "reserved 16 bits
    // = 0"; the UDP discovery starts with "a 4-octet magic 0x71146603
    // (little endian: 03 66 14 71)" (module doc).
    fn first_bytes(&self, transport: Transport) -> FirstBytes {
        match transport {
            Transport::Udp => FirstBytes::only(&[0x03]),
            _ => FirstBytes::only(&[0x00, 0x03]),
        }
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        match input.transport {
            Transport::Tcp => tcp(d),
            Transport::Udp => udp(d),
            Transport::Ip(_) => Probe::NoMatch,
        }
    }
}

fn command_name(c: u16) -> Option<&'static str> {
    Some(match c {
        1 => "Read Device Info",
        2 => "Read",
        3 => "Write",
        4 => "Read State",
        5 => "Write Control",
        6 => "Add Device Notification",
        7 => "Delete Device Notification",
        8 => "Device Notification",
        9 => "Read Write",
        _ => return None,
    })
}

fn tcp(d: &[u8]) -> Probe {
    if d.first().is_some_and(|&b| b != 0) || d.get(1).is_some_and(|&b| b != 0) {
        return Probe::NoMatch;
    }
    // Check the fields as they arrive: length high bytes, command, flags.
    if d.get(5).is_some_and(|&b| b != 0) {
        return Probe::NoMatch;
    }
    let cmd_at = TCP_HDR + 16;
    if let Some(c) = le16(d, cmd_at) {
        if command_name(c).is_none() {
            return Probe::NoMatch;
        }
    }
    let Some(len) = le32(d, 2) else {
        return Probe::NeedMore;
    };
    let Some(flags) = le16(d, cmd_at + 2) else {
        return Probe::NeedMore;
    };
    // Bit 2 (ADS command) set; only bits 0, 2, 6 and 5 (no return) used.
    if flags & 0x0004 == 0 || flags & !0x0065 != 0 {
        return Probe::NoMatch;
    }
    let Some(dlen) = le32(d, cmd_at + 4) else {
        return Probe::NeedMore;
    };
    if len < AMS_HDR as u32 || dlen != len - AMS_HDR as u32 {
        return Probe::NoMatch;
    }
    let cmd = le16(d, cmd_at).unwrap_or(0);
    let Some(invoke) = le32(d, cmd_at + 12) else {
        return Probe::NeedMore;
    };
    let port = le16(d, TCP_HDR + 6).unwrap_or(0);
    Probe::Match(Match::new(format!(
        "ADS {} {} to AMS port {port} (invoke id {invoke})",
        command_name(cmd).unwrap_or("?"),
        if flags & 1 != 0 {
            "response"
        } else {
            "request"
        }
    )))
}

fn udp(d: &[u8]) -> Probe {
    if d.get(..4) != Some(&[0x03, 0x66, 0x14, 0x71][..]) || d.len() < 12 {
        return Probe::NoMatch;
    }
    let service = le32(d, 8).unwrap_or(0);
    // Service ids: 1 identify / discovery, 6 add route; bit 31 marks the
    // response.
    if service & 0x7fff_ffff > 0x10 {
        return Probe::NoMatch;
    }
    Probe::Match(Match::new(format!(
        "ADS UDP discovery service {} {}",
        service & 0x7fff_ffff,
        if service >> 31 == 1 {
            "response"
        } else {
            "request"
        }
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, check_prefixes, evidence,
        foreign_never_match, input, probe1, C, S,
    };

    const TCP: Transport = Transport::Tcp;

    /// ADS Read request: AMS/TCP 00 00 len 44; target NetId 5.1.2.3.1.1
    /// port 851 (PLC runtime 1), source NetId 10.0.0.1.1.1 port 32905,
    /// command 2, flags 0x0004, data length 12, error 0, invoke 7; data:
    /// index group 0x4020, offset 0, length 4.
    fn read_req() -> Vec<u8> {
        let mut v = vec![0, 0, 44, 0, 0, 0];
        v.extend_from_slice(&[5, 1, 2, 3, 1, 1, 0x53, 0x03]);
        v.extend_from_slice(&[10, 0, 0, 1, 1, 1, 0x89, 0x80]);
        v.extend_from_slice(&[2, 0, 4, 0, 12, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0]);
        v.extend_from_slice(&[0x20, 0x40, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0]);
        v
    }

    #[test]
    fn read_request_and_response() {
        let r = read_req();
        assert_eq!(
            evidence(probe1(&BeckhoffAds, TCP, C, &r)),
            "ADS Read request to AMS port 851 (invoke id 7)"
        );
        check_prefixes(&BeckhoffAds, TCP, C, &r, b"");
        let mut resp = r.clone();
        resp[TCP_HDR + 18] = 5;
        assert!(evidence(probe1(&BeckhoffAds, TCP, S, &resp)).contains("Read response"));
        let mut bad = r.clone();
        bad[TCP_HDR + 20] = 13; // data length disagrees
        assert_eq!(probe1(&BeckhoffAds, TCP, C, &bad), Probe::NoMatch);
    }

    #[test]
    fn udp_discovery() {
        // Magic, invoke id 0, service 1 (identify), NetId, port 10000.
        let p = [
            0x03, 0x66, 0x14, 0x71, 0, 0, 0, 0, 1, 0, 0, 0, 10, 0, 0, 1, 1, 1, 0x10, 0x27, 0, 0, 0,
            0,
        ];
        assert_eq!(
            evidence(probe1(&BeckhoffAds, Transport::Udp, C, &p)),
            "ADS UDP discovery service 1 request"
        );
    }

    #[test]
    fn first_bytes_declared() {
        let r = read_req();
        crate::testkit::first_bytes_hold(&BeckhoffAds, &input(TCP, C, &r, &[], 0));
        let p = [
            0x03, 0x66, 0x14, 0x71, 0, 0, 0, 0, 1, 0, 0, 0, 10, 0, 0, 1, 1, 1, 0x10, 0x27, 0, 0, 0,
            0,
        ];
        crate::testkit::first_bytes_hold(&BeckhoffAds, &input(Transport::Udp, C, &p, &[], 0));
    }

    #[test]
    fn foreign_and_random() {
        foreign_never_match(&BeckhoffAds, TCP);
        assert_foreign_rejected(&BeckhoffAds, "ads");
        assert_random_flows_rejected(&BeckhoffAds, TCP, 48898);
        assert_random_flows_rejected(&BeckhoffAds, Transport::Udp, 48899);
    }
}
