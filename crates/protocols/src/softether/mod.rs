//! SoftEther VPN, TCP (SoftEther VPN source documentation: the client
//! opens its session with an HTTP-like request, `POST /vpnsvc/connect.cgi`
//! (or `/vpnsvc/vpn.cgi`) with `Content-Type: image/jpeg` and a body that
//! starts with the signature "VPNCONNECT"; inside TLS on 443/992/5555 in
//! normal use, plain when the cipher is off or on a capture of the inner
//! stream).
//!
//! The request line names the SoftEther endpoint, which no other HTTP
//! service uses, so this probe runs before HTTP (which would otherwise
//! claim the request).

use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Softether.
pub struct Softether;

const PATHS: [&[u8]; 2] = [b"POST /vpnsvc/connect.cgi ", b"POST /vpnsvc/vpn.cgi "];
const SIGNATURE: &[u8] = b"VPNCONNECT";

impl Protocol for Softether {
    fn name(&self) -> &'static str {
        "Softether"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        // Not 1194: OpenVPN keeps that port's guess (this probe runs
        // before it in `ALL`).
        &[992, 5555]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let d = input.data;
        // The bare signature (the body without its HTTP wrapper).
        let n = d.len().min(SIGNATURE.len());
        if d.get(..n) == SIGNATURE.get(..n) {
            return if n == SIGNATURE.len() {
                Probe::Match(Match::new("SoftEther VPNCONNECT signature"))
            } else {
                Probe::NeedMore
            };
        }
        let mut more = false;
        for p in PATHS {
            let n = d.len().min(p.len());
            if d.get(..n) == p.get(..n) {
                if n == p.len() {
                    let path = p.get(5..p.len() - 1).unwrap_or(&[]);
                    return Probe::Match(Match::new(format!(
                        "SoftEther VPN session request 'POST {}'",
                        String::from_utf8_lossy(path)
                    )));
                }
                more = true;
            }
        }
        if more {
            Probe::NeedMore
        } else {
            Probe::NoMatch
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    #[test]
    fn connect_request() {
        let req = b"POST /vpnsvc/connect.cgi HTTP/1.1\r\nHost: vpn.example\r\nContent-Type: image/jpeg\r\nContent-Length: 10\r\n\r\nVPNCONNECT";
        assert_eq!(
            evidence(probe1(&Softether, Transport::Tcp, C, req)),
            "SoftEther VPN session request 'POST /vpnsvc/connect.cgi'"
        );
        check_prefixes(&Softether, Transport::Tcp, C, req, &[]);
        assert_eq!(
            probe1(
                &Softether,
                Transport::Tcp,
                C,
                b"POST /index.html HTTP/1.1\r\n"
            ),
            Probe::NoMatch
        );
    }

    #[test]
    fn random_and_foreign() {
        assert_random_flows_rejected(&Softether, Transport::Tcp, 5555);
        foreign_never_match(&Softether, Transport::Tcp);
    }
}
