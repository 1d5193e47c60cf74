//! The port guess: the last resort when no other layer decided. It names
//! the protocol whose usual server port the responder used, and says so:
//! `confidence: port`, evidence "guess: ...". `--no-guess` removes it.

use netsift_protocols::ALL;

use std::collections::HashMap;
use std::sync::OnceLock;

use netsift_proto::{Protocol, Transport};

use super::{ClassState, Confidence, FlowFacts, Layer, LayerAnswer, PacketView, Verdict};

/// The first protocol in probe order that lists `port` as a usual port on
/// `transport` (a table built once).
fn usual_port_owner(transport: Transport, port: u16) -> Option<&'static PortOwner> {
    static TABLE: OnceLock<HashMap<(Transport, u16), PortOwner>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut m = HashMap::new();
        for p in ALL.iter().copied() {
            for t in p.transports() {
                for &port in p.ports() {
                    m.entry((*t, port)).or_insert_with(|| PortOwner {
                        protocol: p,
                        guesses: [
                            guess_evidence("responder", port, p.name()),
                            guess_evidence("initiator", port, p.name()),
                        ],
                    });
                }
            }
        }
        m
    });
    table.get(&(transport, port))
}

/// The protocol a port belongs to, and the evidence of a guess from it
/// (as the responder's port, then as the initiator's), made once: a flood
/// of unanswered flows to one port makes a million guesses of one text, and
/// building, hashing and copying it per flow was 4% of a SYN flood's
/// `analyze`. Verdicts and records borrow it.
struct PortOwner {
    protocol: &'static dyn Protocol,
    guesses: [String; 2],
}

/// The port-guess layer.
pub struct PortLayer;

impl Layer for PortLayer {
    fn name(&self) -> &'static str {
        "port"
    }

    fn on_packet(&mut self, _st: &mut ClassState, _pkt: &PacketView<'_>) -> LayerAnswer {
        LayerAnswer::Done
    }

    fn on_end(&mut self, _st: &mut ClassState, f: &FlowFacts) -> Option<Verdict> {
        // The responder's port first; then the initiator's (a flow picked
        // up from its reply direction).
        for (port, side) in [(f.server.1, 0), (f.client.1, 1)] {
            if port == 0 {
                continue;
            }
            if let Some(o) = usual_port_owner(f.transport, port) {
                return Some(Verdict {
                    protocol: o.protocol.name(),
                    app: None,
                    confidence: Confidence::Port,
                    source: "port",
                    evidence: o.guesses.get(side).map_or("", String::as_str).into(),
                });
            }
        }
        None
    }
}

/// "guess: responder port 80 is HTTP's usual port; no payload matched",
/// built without `format!`.
fn guess_evidence(side: &str, port: u16, name: &str) -> String {
    let mut s = String::with_capacity(64 + name.len());
    s.push_str("guess: ");
    s.push_str(side);
    s.push_str(" port ");
    netsift_proto::bytes::push_decimal(&mut s, u64::from(port));
    s.push_str(" is ");
    s.push_str(name);
    s.push_str("'s usual port; no payload matched");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guess_evidence_reads_as_formatted() {
        for port in [0u16, 7, 53, 80, 443, 8080, 65535] {
            for side in ["responder", "initiator"] {
                assert_eq!(
                    guess_evidence(side, port, "HTTP"),
                    format!("guess: {side} port {port} is HTTP's usual port; no payload matched")
                );
            }
        }
    }

    /// The guess goes to the first protocol of `ALL` listing a port, and
    /// specific probes run ahead of general ones (AVASTSecureDNS before DNS,
    /// TruPhone before Jabber): a port such a probe lists must not take the
    /// well-known guesses away from the protocols everyone expects there.
    #[test]
    fn well_known_ports_keep_their_owner() {
        for (t, port, want) in [
            (Transport::Udp, 53, "DNS"),
            (Transport::Tcp, 53, "DNS"),
            (Transport::Tcp, 80, "HTTP"),
            (Transport::Tcp, 443, "TLS"),
            (Transport::Udp, 443, "QUIC"),
            (Transport::Tcp, 22, "SSH"),
            (Transport::Udp, 123, "NTP"),
            (Transport::Udp, 161, "SNMP"),
            (Transport::Tcp, 5222, "Jabber"),
            (Transport::Udp, 1194, "OpenVPN"),
            (Transport::Tcp, 1194, "OpenVPN"),
            (Transport::Tcp, 25, "SMTP"),
            (Transport::Udp, 5060, "SIP"),
            (Transport::Udp, 427, "Service_Location_Protocol"),
        ] {
            let got = usual_port_owner(t, port).map(|p| p.protocol.name());
            assert_eq!(got, Some(want), "{t:?} {port}");
        }
    }
}
