//! KNXnet/IP (ISO/IEC 14543-3, KNX Standard 3.8.2 "Core", UDP/TCP 3671),
//! identified from its frame header.
//!
//! KNX 3.8.2 §2.3.1: every frame starts with a 6-octet header: HEADER_SIZE
//! 0x06, KNXNETIP_VERSION 0x10, service type identifier (2 octets, big
//! endian), TOTAL_LENGTH (2 octets: header and body). Service families
//! (3.8.2 §7.1 and the -3, -4, -5, -9 parts): 0x0201-0x020C core (SEARCH,
//! DESCRIPTION, CONNECT, CONNECTIONSTATE, DISCONNECT, extended SEARCH),
//! 0x0310/0x0311 device management, 0x0420-0x0425 tunnelling, 0x0530-0x0533
//! routing, 0x0740-0x0743 remote logging/diagnosis, 0x0950-0x0955 KNX IP
//! Secure. Over UDP TOTAL_LENGTH equals the datagram length; over TCP
//! frames follow each other in the stream.

use netsift_proto::bytes::be16;
use netsift_proto::{FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// KNXnet/IP.
pub struct KnxnetIp;

impl Protocol for KnxnetIp {
    fn name(&self) -> &'static str {
        "KNXnet_IP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[3671]
    }
    // KNX 3.8.2 §2.3.1: "every frame starts with a 6-octet header:
    // HEADER_SIZE 0x06, KNXNETIP_VERSION 0x10, ..." (module doc).
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(&[0x06])
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let tcp = input.transport == Transport::Tcp;
        match frame(d) {
            Fr::Bad => Probe::NoMatch,
            Fr::Short => {
                if tcp {
                    Probe::NeedMore
                } else {
                    Probe::NoMatch
                }
            }
            Fr::Ok(total, name) => {
                if !tcp && d.len() != total {
                    return Probe::NoMatch;
                }
                if tcp && d.len() > total {
                    if let Fr::Bad = frame(&d[total..]) {
                        return Probe::NoMatch;
                    }
                }
                Probe::Match(Match::new(format!("KNXnet/IP {name}")))
            }
        }
    }
}

enum Fr {
    Ok(usize, &'static str),
    Short,
    Bad,
}

fn service_name(s: u16) -> Option<&'static str> {
    Some(match s {
        0x0201 => "SEARCH_REQUEST",
        0x0202 => "SEARCH_RESPONSE",
        0x0203 => "DESCRIPTION_REQUEST",
        0x0204 => "DESCRIPTION_RESPONSE",
        0x0205 => "CONNECT_REQUEST",
        0x0206 => "CONNECT_RESPONSE",
        0x0207 => "CONNECTIONSTATE_REQUEST",
        0x0208 => "CONNECTIONSTATE_RESPONSE",
        0x0209 => "DISCONNECT_REQUEST",
        0x020a => "DISCONNECT_RESPONSE",
        0x020b => "SEARCH_REQUEST_EXTENDED",
        0x020c => "SEARCH_RESPONSE_EXTENDED",
        0x0310 => "DEVICE_CONFIGURATION_REQUEST",
        0x0311 => "DEVICE_CONFIGURATION_ACK",
        0x0420 => "TUNNELLING_REQUEST",
        0x0421 => "TUNNELLING_ACK",
        0x0422 => "TUNNELLING_FEATURE_GET",
        0x0423 => "TUNNELLING_FEATURE_RESPONSE",
        0x0424 => "TUNNELLING_FEATURE_SET",
        0x0425 => "TUNNELLING_FEATURE_INFO",
        0x0530 => "ROUTING_INDICATION",
        0x0531 => "ROUTING_LOST_MESSAGE",
        0x0532 => "ROUTING_BUSY",
        0x0533 => "ROUTING_SYSTEM_BROADCAST",
        0x0740 => "REMOTE_DIAGNOSTIC_REQUEST",
        0x0741 => "REMOTE_DIAGNOSTIC_RESPONSE",
        0x0742 => "REMOTE_BASIC_CONFIGURATION_REQUEST",
        0x0743 => "REMOTE_RESET_REQUEST",
        0x0950 => "SECURE_WRAPPER",
        0x0951 => "SESSION_REQUEST",
        0x0952 => "SESSION_RESPONSE",
        0x0953 => "SESSION_AUTHENTICATE",
        0x0954 => "SESSION_STATUS",
        0x0955 => "TIMER_NOTIFY",
        _ => return None,
    })
}

fn frame(d: &[u8]) -> Fr {
    let n = d.len().min(2);
    if d[..n] != [0x06, 0x10][..n] {
        return Fr::Bad;
    }
    let Some(svc) = be16(d, 2) else {
        // Service families start with 0x02..0x09.
        return if d.get(2).is_some_and(|&f| !(2..=9).contains(&f)) {
            Fr::Bad
        } else {
            Fr::Short
        };
    };
    let Some(name) = service_name(svc) else {
        return Fr::Bad;
    };
    let Some(total) = be16(d, 4) else {
        return Fr::Short;
    };
    let total = usize::from(total);
    // Every service has a body (at least a 2-octet structure or a channel
    // id + status).
    if total < 8 {
        return Fr::Bad;
    }
    Fr::Ok(total, name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{
        assert_foreign_rejected, assert_random_flows_rejected, check_prefixes, evidence,
        foreign_never_match, probe1, C, S,
    };

    const UDP: Transport = Transport::Udp;
    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const SEARCH_EXT: &[u8] = include_bytes!("testdata/search_req_ext.bin");
    const SEARCH: &[u8] = include_bytes!("testdata/search_req.bin");
    const TCP2: &[u8] = include_bytes!("testdata/tcp_two_frames.bin");

    #[test]
    fn corpus_frames() {
        assert_eq!(
            evidence(probe1(&KnxnetIp, UDP, C, SEARCH_EXT)),
            "KNXnet/IP SEARCH_REQUEST_EXTENDED"
        );
        assert_eq!(
            evidence(probe1(&KnxnetIp, UDP, C, SEARCH)),
            "KNXnet/IP SEARCH_REQUEST"
        );
        // knxip.pcapng's TCP flow: one direction only, server first.
        assert_eq!(
            evidence(probe1(&KnxnetIp, TCP, S, TCP2)),
            "KNXnet/IP TUNNELLING_FEATURE_RESPONSE"
        );
        check_prefixes(&KnxnetIp, TCP, S, TCP2, b"");
        // A datagram whose length disagrees.
        assert_eq!(
            probe1(&KnxnetIp, UDP, C, &SEARCH[..SEARCH.len() - 1]),
            Probe::NoMatch
        );
    }

    #[test]
    fn first_bytes_declared() {
        use crate::testkit::first_bytes_hold;
        use crate::testkit::input;
        first_bytes_hold(&KnxnetIp, &input(UDP, C, SEARCH_EXT, &[], 0));
        first_bytes_hold(&KnxnetIp, &input(UDP, C, SEARCH, &[], 0));
        first_bytes_hold(&KnxnetIp, &input(TCP, S, TCP2, &[], 0));
    }

    #[test]
    fn foreign_and_random() {
        foreign_never_match(&KnxnetIp, TCP);
        assert_foreign_rejected(&KnxnetIp, "knx");
        assert_random_flows_rejected(&KnxnetIp, UDP, 3671);
        assert_random_flows_rejected(&KnxnetIp, TCP, 3671);
    }
}
