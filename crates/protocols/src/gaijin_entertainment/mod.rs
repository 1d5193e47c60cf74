//! GaijinEntertainment: the game clients' telemetry over UDP. Gaijin's
//! clients (War Thunder, Crossout, Enlisted) report metrics as **statsd**
//! lines with tags (the "DogStatsD/Influx" tag style: `name,key=value,...:
//! value|type`, statsd's `docs/metric_types.md`), tagged with the game as
//! `project=<title>`, as seen in nDPI's `gaijin_mobile_mixed.pcap`.
//!
//! The probe checks the statsd syntax of the first line (metric name,
//! `key=value` tags, `:<number>|<type>` with type c, g, ms, h, s or d) and
//! names the flow only when a tag `project=` names a Gaijin title: plain
//! statsd is not Gaijin. Gaijin's web services (TLS) are named from their
//! domains by the services table.

use netsift_proto::{
    printable, FirstBytes, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

/// GaijinEntertainment (statsd telemetry).
pub struct GaijinEntertainment;

const TITLES: &[&[u8]] = &[b"warthunder", b"crossout", b"enlisted"];

fn name_ok(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Parse one statsd line: Some(project tag value) when well-formed.
fn statsd_line(line: &[u8]) -> Option<Option<&[u8]>> {
    let colon = line.iter().rposition(|&b| b == b':')?;
    let (head, tail) = (line.get(..colon)?, line.get(colon + 1..)?);
    // ":<number>|<type>" (an optional "|@rate" after it).
    let mut parts = tail.split(|&b| b == b'|');
    let value = parts.next()?;
    let ty = parts.next()?;
    let num_ok = !value.is_empty()
        && value
            .iter()
            .all(|&b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+'));
    if !num_ok || !matches!(ty, b"c" | b"g" | b"ms" | b"h" | b"s" | b"d") {
        return None;
    }
    let mut fields = head.split(|&b| b == b',');
    if !name_ok(fields.next()?) {
        return None;
    }
    let mut project = None;
    for tag in fields {
        let eq = tag.iter().position(|&b| b == b'=')?;
        let (k, v) = (tag.get(..eq)?, tag.get(eq + 1..)?);
        if !name_ok(k) || !name_ok(v) {
            return None;
        }
        if k == b"project" {
            project = Some(v);
        }
    }
    Some(project)
}

impl Protocol for GaijinEntertainment {
    fn name(&self) -> &'static str {
        "GaijinEntertainment"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }
    fn ports(&self) -> &'static [u16] {
        &[20011]
    }
    // No specification (observed statsd lines): the probe's own gate,
    // `d.first().is_some_and(u8::is_ascii_lowercase)`, as every metric name
    // seen (`warthunder...`) starts with a lower-case letter.
    fn first_bytes(&self, _transport: Transport) -> FirstBytes {
        FirstBytes::range(b'a', b'z')
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        if !d.first().is_some_and(u8::is_ascii_lowercase) || d.len() > 1500 {
            return Probe::NoMatch;
        }
        // The first line, looked for in the first 513 bytes only.
        let head = d.get(..d.len().min(513)).unwrap_or(d);
        let line = head.split(|&b| b == b'\n').next().unwrap_or(head);
        if line.len() > 512 {
            return Probe::NoMatch;
        }
        match statsd_line(line) {
            Some(Some(p)) if TITLES.contains(&p) => Probe::Match(Match::new(format!(
                "Gaijin client telemetry (statsd, project={})",
                printable(p, 24)
            ))),
            _ => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const METRIC: &[u8] = include_bytes!("testdata/statsd_counter.bin");

    #[test]
    fn gaijin_statsd_matches() {
        let e = evidence(probe1(&GaijinEntertainment, Transport::Udp, C, METRIC));
        assert_eq!(e, "Gaijin client telemetry (statsd, project=warthunder)");
        check_prefixes(&GaijinEntertainment, Transport::Udp, C, METRIC, &[]);
    }

    #[test]
    fn first_bytes_declared() {
        let i = input(Transport::Udp, C, METRIC, &[], 0);
        crate::testkit::first_bytes_hold(&GaijinEntertainment, &i);
    }

    #[test]
    fn other_statsd_is_not_gaijin() {
        for l in [
            &b"api.requests,env=prod,project=shop:1|c"[..],
            b"api.requests:1|c",
            b"project=warthunder is great:1|x",
        ] {
            assert_eq!(
                probe1(&GaijinEntertainment, Transport::Udp, C, l),
                Probe::NoMatch
            );
        }
    }

    #[test]
    fn random_and_foreign_rejected() {
        assert_random_flows_rejected(&GaijinEntertainment, Transport::Udp, 20011);
        assert_foreign_rejected(&GaijinEntertainment, "gaijin");
        foreign_never_match(&GaijinEntertainment, Transport::Udp);
    }
}
