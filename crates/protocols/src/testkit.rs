//! Test helpers for every probe folder (test builds only). New folders use
//! this module; it gathers the helpers that earlier folder groups grew
//! separately (`bgp::testkit`, `rtp::testkit`, `dns::testutil`) under one
//! name so a probe's tests read the same everywhere.
//!
//! * [`probe1`] / [`evidence`]: one payload, no peer, index 0.
//! * [`feed`] / [`feed_evidence`]: a flow's payloads through one scratch,
//!   the way the engine calls probes (peer = the other direction's first
//!   datagram for UDP, its latest prefix for TCP).
//! * [`check_prefixes`]: every truncated prefix, no panic, TCP never says
//!   NoMatch on a prefix of a matching stream.
//! * [`assert_random_flows_rejected`]: < 0.1% Match on random datagrams and
//!   random 8-packet flows (the crate-wide `random_fp` test covers every
//!   probe in `ALL` too).
//! * [`foreign_never_match`] / [`assert_foreign_rejected`]: real payloads of
//!   other protocols are not claimed.

// Not every folder uses every helper.
#![allow(dead_code, unused_imports)]

use netsift_proto::{Direction, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

pub(crate) use crate::bgp::testkit::{check_prefixes, foreign_never_match, C, S};
pub(crate) use crate::rtp::testkit::{
    assert_foreign_rejected, assert_random_flows_rejected, feed, feed_evidence, foreign_udp,
};

/// One payload on a foreign port (40123 / 51515), no peer, index 0.
pub(crate) fn probe1(p: &dyn Protocol, t: Transport, dir: Direction, data: &[u8]) -> Probe {
    probe_at(p, t, dir, data, &[], 0)
}

/// One payload with the other direction's bytes and a per-direction index.
pub(crate) fn probe_at(
    p: &dyn Protocol,
    transport: Transport,
    dir: Direction,
    data: &[u8],
    peer: &[u8],
    index: u32,
) -> Probe {
    let input = ProbeInput {
        transport,
        dir,
        data,
        peer,
        index,
        server_port: 40123,
        client_port: 51515,
        server_addr: None,
        client_addr: None,
    };
    p.probe(&input, &mut ProbeScratch::default())
}

/// The evidence of a match, or a panic naming what came back.
pub(crate) fn evidence(p: Probe) -> String {
    match p {
        Probe::Match(m) => m.evidence,
        other => panic!("expected a match, got {other:?}"),
    }
}

/// Whether an answer is a match.
pub(crate) fn is_match(p: &Probe) -> bool {
    matches!(p, Probe::Match(_))
}
