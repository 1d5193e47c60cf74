//! The one test kit of the probe folders (test builds only). Every folder's
//! tests take their helpers from here; the kits that folder groups grew
//! separately (`bgp::testkit`, `ftp_control::testutil`, `tls::testkit`,
//! `dns::testutil`, `rtp::testkit`, `smtp::testutil`) are gathered here so
//! a probe's tests read the same everywhere and a helper is fixed once.
//!
//! * [`probe1`] / [`probe_at`] / [`run`] / [`evidence`]: one payload on
//!   foreign ports (40123 / 51515), with or without the other direction's
//!   bytes.
//! * [`check_prefixes`]: every truncated prefix, no panic, a prefix match
//!   implies a whole match, TCP never says NoMatch on a prefix of a matching
//!   stream.
//! * [`random_matches`] / [`assert_random_rate`]: < 0.1% Match on random
//!   payloads (the crate-wide `random_fp` test covers every probe in `ALL`
//!   too).
//! * [`foreign_never_match`] / [`assert_no_claim_on_others`] /
//!   [`flows::assert_foreign_rejected`]: real payloads of other protocols
//!   are not claimed.
//! * [`ported`]: the same helpers for a `ProbeInput` built with a given
//!   server port (the DNS family, where the port matters), and reading UDP
//!   datagrams out of a test pcap.
//! * [`flows`]: a flow's payloads through one scratch, the way the engine
//!   calls probes, and random multi-packet flows.
//! * [`replay`]: a stored TCP conversation through a parser.

// Not every folder uses every helper.
#![allow(dead_code, unused_imports)]

use netsift_proto::{Direction, Probe, ProbeInput, ProbeScratch, Protocol, Transport};
pub(crate) use netsift_testkit::XorShift;

pub(crate) mod flows;
pub(crate) mod ported;
pub(crate) mod replay;

pub(crate) use flows::{
    assert_foreign_rejected, assert_random_flows_rejected, feed, feed_evidence, foreign_udp,
};

pub(crate) const C: Direction = Direction::ToServer;
pub(crate) const S: Direction = Direction::ToClient;

/// Real payloads of other protocols (sources: the README.md next to each).
pub(crate) const FOREIGN: &[&[u8]] = &[
    include_bytes!("../http/testdata/get.bin"),
    include_bytes!("../http/testdata/response_301.bin"),
    include_bytes!("../http/testdata/smtp_banner.bin"),
    include_bytes!("../http/testdata/sip_register.bin"),
    include_bytes!("../tls/testdata/ch_tls12.bin"),
    include_bytes!("../tls/testdata/sh_tls12.bin"),
    include_bytes!("../dns/testdata/tcp_query_dnskey.bin"),
    include_bytes!("../dns/testdata/tcp_response_seg1.bin"),
    include_bytes!("../dns/testdata/query_a.bin"),
    include_bytes!("../ssh/testdata/server_banner.bin"),
];

/// Other protocols' real payloads, named, for negative tests. Sources (nDPI
/// test corpus): HTTP GET from http_auth.pcap frame 4, SIP reply from
/// gre.pcapng frame 1, SIP REGISTER from webex.pcap frame 409, SSH banner
/// from ssh.pcap frame 4, Telnet option negotiation from telnet.pcap
/// frame 4.
pub(crate) const OTHER_PROTOCOLS: &[(&str, &[u8])] = &[
    (
        "HTTP GET",
        include_bytes!("../ftp_control/testdata/neg_http_get.bin"),
    ),
    (
        "SIP reply",
        include_bytes!("../ftp_control/testdata/neg_sip_reply.bin"),
    ),
    (
        "SIP REGISTER",
        include_bytes!("../ftp_control/testdata/neg_sip_register.bin"),
    ),
    (
        "SSH banner",
        include_bytes!("../ftp_control/testdata/neg_ssh.bin"),
    ),
    (
        "Telnet",
        include_bytes!("../ftp_control/testdata/neg_telnet.bin"),
    ),
];

/// One payload on a foreign port (40123 / 51515), no peer, index 0.
pub(crate) fn probe1(p: &dyn Protocol, t: Transport, dir: Direction, data: &[u8]) -> Probe {
    probe_at(p, t, dir, data, &[], 0)
}

/// A probe input on foreign ports (40123 / 51515), so a probe that leans
/// on a port to decide shows it.
pub(crate) fn input<'a>(
    transport: Transport,
    dir: Direction,
    data: &'a [u8],
    peer: &'a [u8],
    index: u32,
) -> ProbeInput<'a> {
    ProbeInput {
        transport,
        dir,
        data,
        peer,
        index,
        server_port: 40123,
        client_port: 51515,
        server_addr: None,
        client_addr: None,
    }
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
    p.probe(
        &input(transport, dir, data, peer, index),
        &mut ProbeScratch::default(),
    )
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

/// One payload with the other direction's prefix `peer`, index 0.
pub(crate) fn run(
    p: &dyn Protocol,
    transport: Transport,
    dir: Direction,
    data: &[u8],
    peer: &[u8],
) -> Probe {
    probe_at(p, transport, dir, data, peer, 0)
}

/// Every prefix of `data` (with `peer` fixed) must not panic; a match on a
/// prefix implies a match on the whole; over TCP no non-empty prefix of a
/// matching stream may say NoMatch (NoMatch is final for a TCP flow; the
/// engine never probes an empty payload). Every prefix of `peer` (with
/// `data` whole) must not panic either.
pub(crate) fn check_prefixes(
    p: &dyn Protocol,
    t: Transport,
    dir: Direction,
    data: &[u8],
    peer: &[u8],
) {
    prefixes(p, t, dir, data, peer, true);
}

/// [`check_prefixes`] for a `peer` that answers the whole of `data` (a
/// server's reply to a complete command): a prefix of `data` never meets
/// that reply in a real flow, so a NoMatch on it is allowed.
pub(crate) fn check_prefixes_before_reply(
    p: &dyn Protocol,
    t: Transport,
    dir: Direction,
    data: &[u8],
    reply: &[u8],
) {
    prefixes(p, t, dir, data, reply, false);
}

fn prefixes(
    p: &dyn Protocol,
    t: Transport,
    dir: Direction,
    data: &[u8],
    peer: &[u8],
    tcp_final_no_match: bool,
) {
    let full = run(p, t, dir, data, peer);
    for i in 0..=data.len() {
        let r = run(p, t, dir, &data[..i], peer);
        if is_match(&r) {
            assert!(
                is_match(&full),
                "{}: prefix {i} matched but the whole gives {full:?}",
                p.name()
            );
        }
        if tcp_final_no_match && t == Transport::Tcp && i > 0 && is_match(&full) {
            assert_ne!(
                r,
                Probe::NoMatch,
                "{}: prefix {i} of a matching stream said NoMatch",
                p.name()
            );
        }
    }
    for n in 0..=peer.len() {
        let _ = run(p, t, dir, data, &peer[..n]);
    }
}

/// No real payload of another protocol matches, in either direction, with
/// no peer or another foreign payload as peer.
pub(crate) fn foreign_never_match(p: &dyn Protocol, t: Transport) {
    for (i, f) in FOREIGN.iter().enumerate() {
        for dir in [C, S] {
            for peer in [&[][..], FOREIGN[(i + 1) % FOREIGN.len()]] {
                let r = run(p, t, dir, f, peer);
                assert!(!is_match(&r), "foreign payload {i} matched: {r:?}");
            }
        }
    }
}

/// A probe claims none of the named other protocols' real payloads, in
/// either direction.
pub(crate) fn assert_no_claim_on_others(p: &dyn Protocol, t: Transport) {
    for (what, data) in OTHER_PROTOCOLS {
        for dir in [C, S] {
            let r = run(p, t, dir, data, &[]);
            assert!(!is_match(&r), "{} claimed {what}: {r:?}", p.name());
        }
    }
}

/// Fills `buf` with the generator's output, eight bytes per draw.
pub(crate) fn fill(rng: &mut XorShift, buf: &mut [u8]) {
    for chunk in buf.chunks_mut(8) {
        let r = rng.next().to_le_bytes();
        chunk.copy_from_slice(&r[..chunk.len()]);
    }
}

/// Count matches of `p` over `n` seeded random payloads of length
/// 1..=1500, alternating directions; every other pair of payloads gets a
/// random peer (1..=1500 bytes) or, when `peer_hint` is given, that fixed
/// peer.
pub(crate) fn random_matches(
    p: &dyn Protocol,
    t: Transport,
    n: usize,
    seed: u64,
    peer_hint: Option<&[u8]>,
) -> usize {
    let mut rng = XorShift(seed | 1);
    let mut buf = vec![0u8; 1500];
    let mut pbuf = vec![0u8; 1500];
    let mut hits = 0;
    for i in 0..n {
        let len = 1 + (rng.next() % 1500) as usize;
        fill(&mut rng, &mut buf[..len]);
        let dir = if i % 2 == 0 { C } else { S };
        let peer: &[u8] = if i % 4 < 2 {
            &[]
        } else if let Some(h) = peer_hint {
            h
        } else {
            let plen = 1 + (rng.next() % 1500) as usize;
            fill(&mut rng, &mut pbuf[..plen]);
            &pbuf[..plen]
        };
        if is_match(&run(p, t, dir, &buf[..len], peer)) {
            hits += 1;
        }
    }
    hits
}

/// Assert a probe claims fewer than 0.1% of 100k random payloads.
pub(crate) fn assert_random_rate(p: &dyn Protocol, t: Transport) {
    let n = 100_000;
    let hits = random_matches(p, t, n, 0x9e37_79b9_7f4a_7c15, None);
    assert!(
        hits * 1000 < n,
        "{} matched {hits} of {n} random payloads",
        p.name()
    );
}

/// `cargo test -p netsift-protocols random_rates_of_mail_file_directory_probes -- --ignored --nocapture`
/// prints the measured false-positive rates on 100k random payloads.
#[test]
#[ignore]
fn random_rates_of_mail_file_directory_probes() {
    let probes: [(&dyn Protocol, Transport); 12] = [
        (&crate::ftp_control::FtpControl, Transport::Tcp),
        (&crate::smtp::Smtp, Transport::Tcp),
        (&crate::pop3::Pop3, Transport::Tcp),
        (&crate::imap::Imap, Transport::Tcp),
        (&crate::smb::Smbv1, Transport::Tcp),
        (&crate::smb::Smbv23, Transport::Tcp),
        (&crate::dcerpc::Dcerpc, Transport::Tcp),
        (&crate::dcerpc::Dcerpc, Transport::Udp),
        (&crate::kerberos::Kerberos, Transport::Tcp),
        (&crate::kerberos::Kerberos, Transport::Udp),
        (&crate::ldap::Ldap, Transport::Tcp),
        (&crate::ldap::Ldap, Transport::Udp),
    ];
    for (p, t) in probes {
        let hits = random_matches(p, t, 100_000, 0x9e37_79b9_7f4a_7c15, None);
        println!(
            "{:<12} {t:?}: {hits} / 100000 random payloads matched",
            p.name()
        );
    }
}

/// [`netsift_proto::assert_first_bytes`] on an input the probe must accept
/// (Match or NeedMore, fresh scratch): a declaration tested on an input the
/// probe rejects would check nothing.
pub(crate) fn first_bytes_hold(p: &dyn Protocol, input: &ProbeInput<'_>) {
    assert!(
        netsift_proto::assert_first_bytes(p, input),
        "{}: the sample itself is rejected, so it checks nothing",
        p.name()
    );
}
