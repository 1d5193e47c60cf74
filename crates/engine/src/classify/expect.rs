//! The `flow` layer: verdicts inferred from another flow.
//!
//! A control connection can announce a connection that will follow: FTP's
//! PASV/EPSV replies and PORT/EPRT commands (RFC 959 §4.1.2, RFC 2428) name
//! the address and port of the coming data connection. The layer watches
//! classified control flows, records each announcement as an expectation
//! (bounded in number, expiring after [`EXPECT_TTL_NS`] of packet time), and
//! when a new flow matches one, classifies it with `confidence: flow`, before
//! any probe looks at its bytes (a data connection carries arbitrary files,
//! which may well look like HTTP or TLS).

use std::collections::VecDeque;
use std::net::IpAddr;

use netsift_proto::{printable, Direction, Transport};

use super::{ClassState, Confidence, Layer, LayerAnswer, PacketView, Verdict};

/// How long an announced connection is expected (packet time).
pub const EXPECT_TTL_NS: u64 = 120_000_000_000;
/// Most expectations held at once; the oldest is dropped beyond it.
pub const MAX_EXPECTATIONS: usize = 4096;

#[derive(Debug, Clone)]
struct Expectation {
    /// Who will connect (None: anyone).
    connector: Option<IpAddr>,
    /// Where to.
    addr: IpAddr,
    port: u16,
    protocol: &'static str,
    evidence: String,
    expires: u64,
}

/// The flow layer.
#[derive(Debug, Default)]
pub struct FlowLayer {
    expected: VecDeque<Expectation>,
    /// Announcements seen (for tests and stats).
    pub announced: u64,
}

impl FlowLayer {
    fn expect(&mut self, e: Expectation) {
        if self.expected.len() >= MAX_EXPECTATIONS {
            self.expected.pop_front();
        }
        self.announced += 1;
        self.expected.push_back(e);
    }

    fn ftp_announcement(&mut self, pkt: &PacketView<'_>) {
        use netsift_protocols::ftp::{parse_data_channel, Connector};
        // Look at each complete line of this segment; announcements are
        // short single lines, so segment boundaries rarely split them.
        for line in pkt.payload.split(|&b| b == b'\n').take(64) {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let Some(dc) = parse_data_channel(line) else {
                continue;
            };
            // Who listens: after PASV/EPSV the server, after PORT/EPRT the client.
            let (listener, connector) = match dc.connector {
                Connector::ClientToServer => (pkt.server.0, pkt.client.0),
                Connector::ServerToClient => (pkt.client.0, pkt.server.0),
            };
            let addr = dc.addr.unwrap_or(listener);
            let who = match pkt.dir {
                Direction::ToServer => "client",
                Direction::ToClient => "server",
            };
            self.expect(Expectation {
                connector: Some(connector),
                addr,
                port: dc.port,
                protocol: "FTP_DATA",
                evidence: format!(
                    "announced on FTP control flow {} ({who} sent '{}')",
                    pkt.uid,
                    printable(line, 60)
                ),
                expires: pkt.ts_ns.saturating_add(EXPECT_TTL_NS),
            });
        }
    }
}

impl Layer for FlowLayer {
    fn name(&self) -> &'static str {
        "flow"
    }

    fn on_packet(&mut self, _st: &mut ClassState, pkt: &PacketView<'_>) -> LayerAnswer {
        if !pkt.new_flow {
            return LayerAnswer::Done;
        }
        while self.expected.front().is_some_and(|e| e.expires < pkt.ts_ns) {
            self.expected.pop_front();
        }
        if pkt.transport != Transport::Tcp {
            return LayerAnswer::Done;
        }
        let hit = self.expected.iter().position(|e| {
            e.port == pkt.server.1
                && e.addr == pkt.server.0
                && e.connector.is_none_or(|c| c == pkt.client.0)
        });
        match hit.and_then(|i| self.expected.remove(i)) {
            Some(e) => LayerAnswer::Verdict(Verdict {
                protocol: e.protocol,
                app: None,
                confidence: Confidence::Flow,
                source: "flow",
                evidence: e.evidence.into(),
            }),
            None => LayerAnswer::Done,
        }
    }

    fn watches(&self, protocol: &str) -> bool {
        protocol == "FTP_CONTROL"
    }

    fn on_classified_packet(&mut self, _verdict: &Verdict, pkt: &PacketView<'_>) {
        if !pkt.payload.is_empty() {
            self.ftp_announcement(pkt);
        }
    }
}
