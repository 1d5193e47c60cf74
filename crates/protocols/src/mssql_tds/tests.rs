//! TDS probe tests. No capture exists in the corpus; packets are built
//! from [MS-TDS] field by field.

use super::*;
use crate::testkit::{
    assert_random_flows_rejected, check_prefixes, evidence, foreign_never_match, probe1, C, S,
};

const TCP: Transport = Transport::Tcp;

/// Type | Status EOM | Length | SPID 0 | PacketID 1 | Window 0 | body.
fn packet(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut p = vec![ty, 0x01];
    p.extend_from_slice(&((body.len() + 8) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0, 1, 0]);
    p.extend_from_slice(body);
    p
}

/// PRELOGIN options VERSION (6 bytes), ENCRYPTION (1), INSTOPT (1),
/// THREADID (4), MARS (1), terminator, then the data.
fn prelogin_body(version: [u8; 6], enc: u8) -> Vec<u8> {
    let table_len = 5 * 5 + 1;
    let mut t = Vec::new();
    let mut data = Vec::new();
    for (tok, val) in [
        (0u8, version.to_vec()),
        (1, vec![enc]),
        (2, vec![0]),
        (3, vec![0, 0, 0x12, 0x34]),
        (4, vec![0]),
    ] {
        t.push(tok);
        t.extend_from_slice(&((table_len + data.len()) as u16).to_be_bytes());
        t.extend_from_slice(&(val.len() as u16).to_be_bytes());
        data.extend(val);
    }
    t.push(0xff);
    t.extend(data);
    t
}

fn ucs2(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|c| c.to_le_bytes()).collect()
}

/// LOGIN7 for TDS 7.4 with host, user, password, app, server, database.
pub(super) fn login7_body() -> Vec<u8> {
    let strings = [
        ("host", "ws-042"),
        ("user", "sa"),
        ("pass", "\u{a5b3}\u{a5b3}"), // scrambled password bytes
        ("app", "sqlcmd"),
        ("server", "db1"),
        ("ext", ""),
        ("lib", "ODBC"),
        ("lang", ""),
        ("db", "master"),
    ];
    let mut fixed = Vec::new();
    fixed.extend_from_slice(&0u32.to_le_bytes()); // Length, set below
    fixed.extend_from_slice(&0x7400_0004u32.to_le_bytes()); // TDSVersion 7.4
    fixed.extend_from_slice(&4096u32.to_le_bytes()); // PacketSize
    fixed.extend_from_slice(&0x0700_0000u32.to_le_bytes()); // ClientProgVer
    fixed.extend_from_slice(&1234u32.to_le_bytes()); // ClientPID
    fixed.extend_from_slice(&0u32.to_le_bytes()); // ConnectionID
    fixed.extend_from_slice(&[0xe0, 0x03, 0x00, 0x00]); // OptionFlags1/2, TypeFlags, OptionFlags3
    fixed.extend_from_slice(&0u32.to_le_bytes()); // ClientTimeZone
    fixed.extend_from_slice(&0x0409u32.to_le_bytes()); // ClientLCID
    assert_eq!(fixed.len(), 36);
    let mut data = Vec::new();
    let base = 94;
    let mut pairs = Vec::new();
    for (_, s) in strings {
        let u = ucs2(s);
        pairs.extend_from_slice(&((base + data.len()) as u16).to_le_bytes());
        pairs.extend_from_slice(&((u.len() / 2) as u16).to_le_bytes());
        data.extend(u);
    }
    fixed.extend(pairs); // 36 bytes of pairs
    fixed.extend_from_slice(&[0x00, 0x50, 0x8b, 0xe2, 0xb7, 0x8f]); // ClientID (MAC)
    for _ in 0..3 {
        // SSPI, AtchDBFile, ChangePassword: empty
        fixed.extend_from_slice(&((base + data.len()) as u16).to_le_bytes());
        fixed.extend_from_slice(&0u16.to_le_bytes());
    }
    fixed.extend_from_slice(&0u32.to_le_bytes()); // cbSSPILong
    assert_eq!(fixed.len(), 94);
    fixed.extend(data);
    let n = fixed.len() as u32;
    fixed[..4].copy_from_slice(&n.to_le_bytes());
    fixed
}

pub(super) fn prelogin_packet() -> Vec<u8> {
    packet(0x12, &prelogin_body([16, 0, 0x03, 0xe8, 0, 0], 2))
}

#[test]
fn prelogin_both_ways() {
    let c = packet(0x12, &prelogin_body([16, 0, 0x03, 0xe8, 0, 0], 0));
    assert_eq!(
        evidence(probe1(&MssqlTds, TCP, C, &c)),
        "TDS PRELOGIN, version 16.0.1000, encryption OFF"
    );
    let s = packet(0x04, &prelogin_body([15, 0, 0x07, 0xd0, 0, 0], 2));
    assert_eq!(
        evidence(probe1(&MssqlTds, TCP, S, &s)),
        "TDS PRELOGIN response, version 15.0.2000, encryption NOT_SUP"
    );
    check_prefixes(&MssqlTds, TCP, C, &c, b"");
    check_prefixes(&MssqlTds, TCP, S, &s, b"");
    // VERSION must come first.
    let mut bad = prelogin_body([16, 0, 0, 0, 0, 0], 0);
    bad[0] = 1;
    assert_eq!(
        probe1(&MssqlTds, TCP, C, &packet(0x12, &bad)),
        Probe::NoMatch
    );
}

#[test]
fn login7_in_clear() {
    let l = packet(0x10, &login7_body());
    assert_eq!(
        evidence(probe1(&MssqlTds, TCP, C, &l)),
        "TDS LOGIN7 (TDS 7.4), user 'sa', host 'ws-042', app 'sqlcmd', server 'db1', database 'master'"
    );
    check_prefixes(&MssqlTds, TCP, C, &l, b"");
    let mut bad = login7_body();
    bad[7] = 0x99; // unknown TDS version
    assert_eq!(
        probe1(&MssqlTds, TCP, C, &packet(0x10, &bad)),
        Probe::NoMatch
    );
}

#[test]
fn sql_batch_mid_session() {
    // ALL_HEADERS: total 22, transaction descriptor header (length 18,
    // type 2, descriptor 8 bytes, outstanding requests 1).
    let mut b = 22u32.to_le_bytes().to_vec();
    b.extend_from_slice(&18u32.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend(ucs2("select @@version"));
    let p = packet(0x01, &b);
    assert_eq!(
        evidence(probe1(&MssqlTds, TCP, C, &p)),
        "TDS SQL batch 'select @@version'"
    );
    check_prefixes(&MssqlTds, TCP, C, &p, b"");
}

#[test]
fn random_foreign() {
    assert_random_flows_rejected(&MssqlTds, TCP, 1433);
    foreign_never_match(&MssqlTds, TCP);
}
