//! SSDP (UPnP Device Architecture 2.0 §1.2–1.3): HTTP-over-UDP messages
//! `M-SEARCH * HTTP/1.1` (search), `NOTIFY * HTTP/1.1` (advertisement), and
//! the unicast search response `HTTP/1.1 200 OK` carrying ST and USN
//! headers (UDA §1.3.3: the response "MUST" include ST and USN).

use netsift_proto::{
    first_line, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

use crate::sip::header_value;

#[cfg(test)]
mod tests;

/// SSDP.
pub struct Ssdp;

fn p(v: Option<&[u8]>) -> String {
    netsift_proto::printable(v.unwrap_or(b"?"), 60)
}

impl Protocol for Ssdp {
    fn name(&self) -> &'static str {
        "SSDP"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[1900]
    }
    // UDA 2.0 §1.3.2 "M-SEARCH * HTTP/1.1", §1.2.2 "NOTIFY * HTTP/1.1",
    // §1.3.3 "HTTP/1.1 200 OK" (the probe reads the last case-insensitively).
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::only(b"MNHh")
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let Some(line) = first_line(d, 64) else {
            return Probe::NoMatch;
        };
        // The start line must end with CRLF and be followed by at least one
        // header line (UDA §1.3.2: HOST, MAN, ST ...; §1.2.2: HOST, NT,
        // NTS, USN ...).
        let has_headers = d.get(line.len()..line.len() + 2) == Some(b"\r\n")
            && d.get(line.len() + 2)
                .is_some_and(|b| b.is_ascii_alphabetic());
        if !has_headers {
            return Probe::NoMatch;
        }
        let ev = match line {
            // UDA §1.3.2: "M-SEARCH * HTTP/1.1".
            b"M-SEARCH * HTTP/1.1" => {
                format!("SSDP M-SEARCH for {}", p(header_value(d, "st")))
            }
            // UDA §1.2.2 / §1.2.3: "NOTIFY * HTTP/1.1" with NTS
            // ssdp:alive / ssdp:byebye / ssdp:update.
            b"NOTIFY * HTTP/1.1" => format!(
                "SSDP NOTIFY {} {}",
                p(header_value(d, "nts")),
                p(header_value(d, "nt"))
            ),
            // UDA §1.3.3 search response.
            _ if line.eq_ignore_ascii_case(b"HTTP/1.1 200 OK") => {
                let (Some(st), Some(_usn)) = (header_value(d, "st"), header_value(d, "usn")) else {
                    return Probe::NoMatch;
                };
                format!("SSDP search response for {}", p(Some(st)))
            }
            _ => return Probe::NoMatch,
        };
        // group vendor: Sonos players' SSDP (X-RINCON-* headers or a
        // Sonos/ SERVER token) is named app Sonos, as nDPI does.
        if crate::sonos::sonos_headers(d) {
            return Probe::Match(Match::new(ev + ", Sonos player").with_app("Sonos"));
        }
        Probe::Match(Match::new(ev))
    }
}
