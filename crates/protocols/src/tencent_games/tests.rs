use super::*;
use crate::testkit::*;
use std::io::Write;

const TCP: Transport = Transport::Tcp;
// Sources: testdata/README.md.
const A_REQ: &[u8] = include_bytes!("testdata/a_request.bin");
const A_REPLY: &[u8] = include_bytes!("testdata/a_reply.bin");
const A_REQ2: &[u8] = include_bytes!("testdata/a_request2.bin");
const B_REQ: &[u8] = include_bytes!("testdata/b_request.bin");
const B_REPLY: &[u8] = include_bytes!("testdata/b_reply.bin");
const C_MSG1: &[u8] = include_bytes!("testdata/c_msg1.bin");
const C_MSG2: &[u8] = include_bytes!("testdata/c_msg2.bin");
const D_REQ: &[u8] = include_bytes!("testdata/d_request.bin");
const D_REPLY: &[u8] = include_bytes!("testdata/d_reply.bin");

fn cat(a: &[u8], b: &[u8]) -> Vec<u8> {
    [a, b].concat()
}

#[test]
fn header_3366_both_directions() {
    assert_eq!(
        evidence(probe1(&TencentGames, TCP, C, A_REQ)),
        "Tencent game header 33 66 00 0b 00 0b, command 0x1001, sequence 1"
    );
    assert_eq!(
        evidence(probe_at(&TencentGames, TCP, S, A_REPLY, A_REQ, 0)),
        "Tencent game header 33 66 00 0b 00 0b, command 0x1002, sequence 1"
    );
    // The client's stream of two frames, and a capture picked up at the
    // second frame.
    assert!(is_match(&probe1(
        &TencentGames,
        TCP,
        C,
        &cat(A_REQ, A_REQ2)
    )));
    assert!(evidence(probe1(&TencentGames, TCP, C, A_REQ2)).contains("command 0x2001, sequence 2"));
    // Another version word is not this header.
    let mut other = A_REQ.to_vec();
    other[3] = 0x0c;
    assert_eq!(probe1(&TencentGames, TCP, C, &other), Probe::NoMatch);
}

#[test]
fn frame_aa_lengths_chain() {
    assert_eq!(
        evidence(probe1(&TencentGames, TCP, C, B_REQ)),
        "Tencent game frame aa, 148 bytes made of two tagged fields (23 + 110 bytes)"
    );
    assert_eq!(
        evidence(probe_at(&TencentGames, TCP, S, B_REPLY, B_REQ, 0)),
        "Tencent game frame aa, 93 bytes made of two tagged fields (27 + 51 bytes)"
    );
    // One byte more or less in the frame length breaks the chain.
    for delta in [1u8, 0xff] {
        let mut bad = B_REPLY.to_vec();
        bad[4] = bad[4].wrapping_add(delta);
        assert_eq!(probe1(&TencentGames, TCP, S, &bad), Probe::NoMatch);
    }
    // The second field must be tagged 0x25.
    let mut bad = B_REPLY.to_vec();
    bad[0x25] = 0x35;
    assert_eq!(probe1(&TencentGames, TCP, S, &bad), Probe::NoMatch);
}

#[test]
fn zlib_json_messages() {
    assert_eq!(
        evidence(probe1(&TencentGames, TCP, C, C_MSG1)),
        "Tencent game message: 334-byte zlib JSON, seq_id 2, cmd_id 1001"
    );
    assert_eq!(
        evidence(probe1(&TencentGames, TCP, C, &cat(C_MSG1, C_MSG2))),
        "Tencent game message: 334-byte zlib JSON, seq_id 2, cmd_id 1001"
    );
    assert!(evidence(probe1(&TencentGames, TCP, C, C_MSG2)).contains("seq_id 3, cmd_id 9000"));
    // Length-prefixed zlib of other JSON or text is someone else's.
    for text in [
        &br#"{"id":1,"method":"login","params":{"user":"x"}}"#[..],
        b"{\"seq_id\":\"a\",\"cmd_id\":1}",
        b"{\"seq_id\":1,\"type\":1,\"cmd_id\":1001}",
        b"hello world, this is not what the game sends at all",
    ] {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(text).unwrap();
        let body = z.finish().unwrap();
        let mut msg = (body.len() as u32).to_be_bytes().to_vec();
        msg.extend_from_slice(&body);
        assert_eq!(
            probe1(&TencentGames, TCP, C, &msg),
            Probe::NoMatch,
            "{}",
            String::from_utf8_lossy(text)
        );
    }
    // A corrupted deflate stream.
    let mut bad = C_MSG1.to_vec();
    bad[6] ^= 0xff;
    assert!(!is_match(&probe1(&TencentGames, TCP, C, &bad)));
}

#[test]
fn header_4215_request_and_reply() {
    assert_eq!(
        evidence(probe1(&TencentGames, TCP, C, D_REQ)),
        "Tencent game header 42 15 f7 87, command 1001 request of 448 bytes"
    );
    assert_eq!(
        evidence(probe_at(&TencentGames, TCP, S, D_REPLY, D_REQ, 0)),
        "Tencent game header 42 15 f7 87, command 1002 reply of 2320 bytes"
    );
    // A reply without the zero status word.
    assert_eq!(probe1(&TencentGames, TCP, S, D_REQ), Probe::NoMatch);
}

#[test]
fn prefixes() {
    check_prefixes(&TencentGames, TCP, C, A_REQ, b"");
    check_prefixes(&TencentGames, TCP, S, A_REPLY, A_REQ);
    check_prefixes(&TencentGames, TCP, C, B_REQ, b"");
    check_prefixes(&TencentGames, TCP, S, B_REPLY, B_REQ);
    check_prefixes(&TencentGames, TCP, C, C_MSG1, b"");
    check_prefixes(&TencentGames, TCP, C, D_REQ, b"");
    check_prefixes(&TencentGames, TCP, S, D_REPLY, D_REQ);
}

#[test]
fn random_and_foreign() {
    assert_random_flows_rejected(&TencentGames, TCP, 8085);
    foreign_never_match(&TencentGames, TCP);
    // UDP is not looked at.
    assert_eq!(
        probe1(&TencentGames, Transport::Udp, C, A_REQ),
        Probe::NoMatch
    );
}
