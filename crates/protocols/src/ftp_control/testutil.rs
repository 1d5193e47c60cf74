//! Test helpers shared by the FTP, SMTP, POP3, IMAP, SMB, DCERPC, Kerberos
//! and LDAP probes (test builds only).

use netsift_proto::{Direction, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Other protocols' real payloads, for negative tests. Sources (nDPI test
/// corpus): HTTP GET from http_auth.pcap frame 4, SIP reply from
/// gre.pcapng frame 1, SIP REGISTER from webex.pcap frame 409, SSH banner
/// from ssh.pcap frame 4, Telnet option negotiation from telnet.pcap
/// frame 4.
pub(crate) const OTHER_PROTOCOLS: &[(&str, &[u8])] = &[
    ("HTTP GET", include_bytes!("testdata/neg_http_get.bin")),
    ("SIP reply", include_bytes!("testdata/neg_sip_reply.bin")),
    (
        "SIP REGISTER",
        include_bytes!("testdata/neg_sip_register.bin"),
    ),
    ("SSH banner", include_bytes!("testdata/neg_ssh.bin")),
    ("Telnet", include_bytes!("testdata/neg_telnet.bin")),
];

/// A probe input with the given fields and fixed ports.
pub(crate) fn input<'a>(
    transport: Transport,
    dir: Direction,
    data: &'a [u8],
    peer: &'a [u8],
    server_port: u16,
) -> ProbeInput<'a> {
    ProbeInput {
        transport,
        dir,
        data,
        peer,
        index: 0,
        server_port,
        client_port: 50000,
        server_addr: None,
        client_addr: None,
    }
}

/// Run a probe once with fresh scratch.
pub(crate) fn run(
    p: &dyn Protocol,
    transport: Transport,
    dir: Direction,
    data: &[u8],
    peer: &[u8],
) -> Probe {
    p.probe(
        &input(transport, dir, data, peer, 4242),
        &mut ProbeScratch::default(),
    )
}

/// Evidence of a match, or a panic naming what came back instead.
pub(crate) fn evidence(r: Probe) -> String {
    match r {
        Probe::Match(m) => m.evidence,
        other => panic!("expected a match, got {other:?}"),
    }
}

/// Feed every prefix of `data` (with `peer` fixed): no panic, and if a
/// prefix matches, the full data matches too.
pub(crate) fn check_prefixes(
    p: &dyn Protocol,
    transport: Transport,
    dir: Direction,
    data: &[u8],
    peer: &[u8],
) {
    let full = matches!(run(p, transport, dir, data, peer), Probe::Match(_));
    for n in 0..=data.len() {
        let r = run(p, transport, dir, &data[..n], peer);
        if matches!(r, Probe::Match(_)) {
            assert!(
                full,
                "{}: prefix {n} matches but full data does not",
                p.name()
            );
        }
    }
    // And every prefix of the peer, with the data fixed.
    for n in 0..=peer.len() {
        let _ = run(p, transport, dir, data, &peer[..n]);
    }
}

/// Tiny xorshift64* PRNG (no dependencies).
pub(crate) struct XorShift(pub u64);

impl XorShift {
    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Feed `n` seeded random payloads (lengths 1..=1500) to a probe in both
/// directions (the peer is another random payload half the time) and
/// return how many matched.
pub(crate) fn random_matches(p: &dyn Protocol, transport: Transport, n: usize, seed: u64) -> usize {
    let mut rng = XorShift(seed | 1);
    let mut buf = vec![0u8; 1500];
    let mut peer = vec![0u8; 1500];
    let mut hits = 0;
    for i in 0..n {
        let len = 1 + (rng.next_u64() % 1500) as usize;
        for b in buf.iter_mut().take(len) {
            *b = rng.next_u64() as u8;
        }
        let plen = if i % 2 == 0 {
            0
        } else {
            1 + (rng.next_u64() % 1500) as usize
        };
        for b in peer.iter_mut().take(plen) {
            *b = rng.next_u64() as u8;
        }
        let dir = if i % 4 < 2 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        if matches!(
            run(p, transport, dir, &buf[..len], &peer[..plen]),
            Probe::Match(_)
        ) {
            hits += 1;
        }
    }
    hits
}

/// Assert a probe claims fewer than 0.1% of 100k random payloads.
pub(crate) fn assert_random_rate(p: &dyn Protocol, transport: Transport) {
    let n = 100_000;
    let hits = random_matches(p, transport, n, 0x9e37_79b9_7f4a_7c15);
    assert!(
        hits * 1000 < n,
        "{} matched {hits} of {n} random payloads",
        p.name()
    );
}

/// Assert a probe claims none of the other protocols' real payloads, in
/// either direction.
pub(crate) fn assert_no_claim_on_others(p: &dyn Protocol, transport: Transport) {
    for (what, data) in OTHER_PROTOCOLS {
        for dir in [Direction::ToServer, Direction::ToClient] {
            let r = run(p, transport, dir, data, &[]);
            assert!(
                !matches!(r, Probe::Match(_)),
                "{} claimed {what}: {r:?}",
                p.name()
            );
        }
    }
}

/// `cargo test -p netsift-protocols random_rates_of_mail_file_directory_probes -- --ignored --nocapture`
/// prints the measured false-positive rates on 100k random payloads.
#[test]
#[ignore]
fn random_rates_of_mail_file_directory_probes() {
    let probes: [(&dyn Protocol, Transport); 12] = [
        (&super::FtpControl, Transport::Tcp),
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
        let hits = random_matches(p, t, 100_000, 0x9e37_79b9_7f4a_7c15);
        println!(
            "{:<12} {t:?}: {hits} / 100000 random payloads matched",
            p.name()
        );
    }
}
