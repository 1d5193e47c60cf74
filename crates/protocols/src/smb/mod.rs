//! SMB over TCP: SMBv1 (MS-CIFS / MS-SMB) and SMB2/SMB3 (MS-SMB2), named
//! as nDPI names them, `SMBv1` and `SMBv23`.
//!
//! On port 139 SMB runs inside NetBIOS session service messages (RFC 1002
//! §4.3.1: TYPE 0x00 "SESSION MESSAGE", FLAGS whose only defined bit is the
//! length extension, 16-bit LENGTH, i.e. a 17-bit length); on port 445
//! "direct TCP" uses the same 4 bytes as a zero byte and a 24-bit length
//! (MS-SMB2 §2.1). The probe accepts either, after skipping at most a few
//! leading NetBIOS SESSION REQUEST (0x81), POSITIVE RESPONSE (0x82) and
//! KEEP ALIVE (0x85) messages, and then requires the SMB protocol
//! identifier (MS-SMB2 §2.2.1, §2.2.41, §2.2.42; MS-CIFS §2.2.3.1):
//!
//! * `\xffSMB`: SMBv1 header (32 bytes); the NetBIOS length must cover it
//!   plus WordCount and ByteCount and fit in 17 bits.
//! * `\xfeSMB`: SMB2 header; `StructureSize` MUST be 64, `Command` must be
//!   a defined command (0x00..=0x12).
//! * `\xfdSMB`: SMB3 TRANSFORM_HEADER (encrypted message, 52 bytes);
//!   `OriginalMessageSize` + 52 must equal the NetBIOS length.
//! * `\xfcSMB`: SMB 3.1.1 COMPRESSION_TRANSFORM_HEADER.
//!
//! **SMB1 NEGOTIATE offering SMB2 dialects.** Windows clients open with an
//! SMBv1-framed NEGOTIATE whose dialect list includes "SMB 2.002" and/or
//! "SMB 2.???" (MS-SMB2 §3.2.4.2.2.1); the server then answers in SMB2 and
//! the rest of the connection is SMB2/3. Such a request alone is therefore
//! not decided: the probes answer `NeedMore` until the server's reply is
//! seen, then `SMBv23` if it is an SMB2 header, `SMBv1` otherwise. An SMB1
//! NEGOTIATE without SMB2 dialects is `SMBv1` at once. (The nDPI corpus's
//! SMB1 flows, smbv1.pcap and smb_frags.pcap, offer no SMB2 dialect and are
//! `SMBv1` there too.)

use netsift_proto::bytes::{le16, le32};
use netsift_proto::{Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

pub mod record;
pub mod session;

/// SMBv1.
pub struct Smbv1;

/// SMBv23.
pub struct Smbv23;

impl Protocol for Smbv1 {
    fn name(&self) -> &'static str {
        "SMBv1"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[445, 139]
    }
    /// One parser for both versions: a connection may negotiate from an
    /// SMB1 NEGOTIATE into SMB2 (MS-SMB2 §3.2.4.2.2.1).
    fn parser(&self) -> Option<Box<dyn netsift_proto::Parser>> {
        Some(Box::new(session::SmbParser::new()))
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        match parse(input.data) {
            Parsed::Short => Probe::NeedMore,
            Parsed::Invalid | Parsed::Smb2(_) => Probe::NoMatch,
            Parsed::Smb1(h) if h.offers_smb2 => match parse(input.peer) {
                // The server answered in SMB2: the connection is SMBv23.
                Parsed::Smb2(_) => Probe::NoMatch,
                Parsed::Short => Probe::NeedMore,
                Parsed::Smb1(_) | Parsed::Invalid => Probe::Match(Match::new(format!(
                    "{}; the server did not switch to SMB2",
                    h.describe(input.dir)
                ))),
            },
            Parsed::Smb1(h) => Probe::Match(Match::new(h.describe(input.dir))),
        }
    }
}

impl Protocol for Smbv23 {
    fn name(&self) -> &'static str {
        "SMBv23"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[445, 139]
    }
    /// One parser for both versions: a connection may negotiate from an
    /// SMB1 NEGOTIATE into SMB2 (MS-SMB2 §3.2.4.2.2.1).
    fn parser(&self) -> Option<Box<dyn netsift_proto::Parser>> {
        Some(Box::new(session::SmbParser::new()))
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        match parse(input.data) {
            Parsed::Short => Probe::NeedMore,
            Parsed::Invalid => Probe::NoMatch,
            Parsed::Smb2(h) => Probe::Match(Match::new(h.describe(input.dir))),
            Parsed::Smb1(h) if h.offers_smb2 => match parse(input.peer) {
                Parsed::Smb2(p) => Probe::Match(Match::new(format!(
                    "{} offering SMB 2.x dialects; server answered with {}",
                    h.describe(input.dir),
                    p.describe(other(input.dir))
                ))),
                Parsed::Short => Probe::NeedMore,
                _ => Probe::NoMatch,
            },
            Parsed::Smb1(_) => Probe::NoMatch,
        }
    }
}

fn other(d: Direction) -> Direction {
    match d {
        Direction::ToServer => Direction::ToClient,
        Direction::ToClient => Direction::ToServer,
    }
}

/// A recognised SMB header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    kind: Kind,
    command: u16,
    response: bool,
    nb_len: usize,
    /// SMB1 NEGOTIATE request listing an "SMB 2.xxx" dialect.
    offers_smb2: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Smb1,
    Smb2,
    Transform,
    Compressed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parsed {
    Smb1(Header),
    Smb2(Header),
    /// A prefix of something that may still become SMB.
    Short,
    Invalid,
}

fn smb1_command(c: u16) -> &'static str {
    // MS-CIFS §2.2.2.1 command codes.
    match c {
        0x04 => "CLOSE",
        0x24 => "LOCKING_ANDX",
        0x25 => "TRANSACTION",
        0x2b => "ECHO",
        0x2e => "READ_ANDX",
        0x2f => "WRITE_ANDX",
        0x32 => "TRANSACTION2",
        0x71 => "TREE_DISCONNECT",
        0x72 => "NEGOTIATE",
        0x73 => "SESSION_SETUP_ANDX",
        0x74 => "LOGOFF_ANDX",
        0x75 => "TREE_CONNECT_ANDX",
        0xa0 => "NT_TRANSACT",
        0xa2 => "NT_CREATE_ANDX",
        _ => "command",
    }
}

fn smb2_command(c: u16) -> &'static str {
    // MS-SMB2 §2.2.1.2 Command.
    const NAMES: [&str; 19] = [
        "NEGOTIATE",
        "SESSION_SETUP",
        "LOGOFF",
        "TREE_CONNECT",
        "TREE_DISCONNECT",
        "CREATE",
        "CLOSE",
        "FLUSH",
        "READ",
        "WRITE",
        "LOCK",
        "IOCTL",
        "CANCEL",
        "ECHO",
        "QUERY_DIRECTORY",
        "CHANGE_NOTIFY",
        "QUERY_INFO",
        "SET_INFO",
        "OPLOCK_BREAK",
    ];
    NAMES.get(c as usize).copied().unwrap_or("command")
}

impl Header {
    fn describe(&self, dir: Direction) -> String {
        let rr = if self.response { "response" } else { "request" };
        let from = match dir {
            Direction::ToServer => "client",
            Direction::ToClient => "server",
        };
        match self.kind {
            Kind::Smb1 => format!(
                "{from} sent SMB1 {} {rr} (\\xffSMB, NetBIOS length {})",
                smb1_command(self.command),
                self.nb_len
            ),
            Kind::Smb2 => format!(
                "{from} sent SMB2 {} {rr} (\\xfeSMB, length {})",
                smb2_command(self.command),
                self.nb_len
            ),
            Kind::Transform => format!(
                "{from} sent SMB3 encrypted message (TRANSFORM_HEADER \\xfdSMB, length {})",
                self.nb_len
            ),
            Kind::Compressed => format!(
                "{from} sent SMB3 compressed message (\\xfcSMB, length {})",
                self.nb_len
            ),
        }
    }
}

/// Does `have` agree with the start of `want` as far as it goes?
fn prefix_ok(have: &[u8], want: &[u8]) -> bool {
    have.iter().zip(want).all(|(a, b)| a == b)
}

/// Parse the first SMB message of a TCP stream prefix.
pub(crate) fn parse(stream: &[u8]) -> Parsed {
    let mut d = stream;
    // Skip up to 3 NetBIOS session-setup messages (RFC 1002 §4.3.2-4.3.7).
    for _ in 0..3 {
        match d.first() {
            None => return Parsed::Short,
            // SESSION REQUEST (0x81), POSITIVE SESSION RESPONSE (0x82),
            // SESSION KEEP ALIVE (0x85): FLAGS bits 1-7 reserved (zero).
            Some(0x81 | 0x82 | 0x85) => {
                let (Some(&f), Some(&hi), Some(&lo)) = (d.get(1), d.get(2), d.get(3)) else {
                    return Parsed::Short;
                };
                if f & 0xfe != 0 {
                    return Parsed::Invalid;
                }
                let len = ((f as usize & 1) << 16) | ((hi as usize) << 8) | lo as usize;
                // A SESSION REQUEST carries two encoded NetBIOS names (68
                // bytes for plain names); the others are empty.
                let ok = match d[0] {
                    0x81 => (68..=600).contains(&len),
                    _ => len == 0,
                };
                if !ok {
                    return Parsed::Invalid;
                }
                match d.get(4 + len..) {
                    Some(rest) => d = rest,
                    None => return Parsed::Short,
                }
            }
            Some(_) => break,
        }
    }
    // RFC 1002 §4.3.1 SESSION MESSAGE: TYPE 0x00. MS-SMB2 §2.1: Zero (1
    // byte) + StreamProtocolLength (3 bytes, big-endian).
    if d.first().is_some_and(|&t| t != 0) {
        return Parsed::Invalid;
    }
    if d.len() < 8 {
        let ok = d.len() < 5
            || [b"\xffSMB", b"\xfeSMB", b"\xfdSMB", b"\xfcSMB"]
                .iter()
                .any(|m| prefix_ok(&d[4..], &m[..]));
        return if ok { Parsed::Short } else { Parsed::Invalid };
    }
    let nb_len = ((d[1] as usize) << 16) | ((d[2] as usize) << 8) | d[3] as usize;
    let smb = &d[4..];
    let have = |n: usize| smb.len() >= n;
    match &smb[..4] {
        b"\xffSMB" => {
            // RFC 1002: 17-bit length (FLAGS bits 1-7 zero). MS-CIFS
            // §2.2.3.1: 32-byte header, then WordCount (1) and ByteCount (2).
            if d[1] & 0xfe != 0 || nb_len < 35 {
                return Parsed::Invalid;
            }
            if !have(14) {
                return Parsed::Short;
            }
            let command = smb[4] as u16;
            // Flags (offset 9): SMB_FLAGS_REPLY 0x80.
            let response = smb[9] & 0x80 != 0;
            let mut offers_smb2 = false;
            if command == 0x72 && !response {
                // MS-CIFS §2.2.4.52.1 NEGOTIATE request: WordCount 0,
                // ByteCount, then Dialects: 0x02 "name" NUL ...
                if !have(nb_len) {
                    return Parsed::Short;
                }
                if smb[32] != 0 {
                    return Parsed::Invalid;
                }
                let dialects = smb.get(35..nb_len).unwrap_or(&[]);
                // MS-SMB2 §3.2.4.2.2.1: "SMB 2.002" / "SMB 2.???".
                offers_smb2 = dialects.windows(7).any(|w| w == b"\x02SMB 2.");
            }
            Parsed::Smb1(Header {
                kind: Kind::Smb1,
                command,
                response,
                nb_len,
                offers_smb2,
            })
        }
        b"\xfeSMB" => {
            // MS-SMB2 §2.2.1: StructureSize (2 bytes) "MUST be set to 64";
            // Command at offset 12; Flags at 16, SMB2_FLAGS_SERVER_TO_REDIR
            // 0x1.
            if nb_len < 64 {
                return Parsed::Invalid;
            }
            let (Some(ss), Some(command), Some(flags)) =
                (le16(smb, 4), le16(smb, 12), le32(smb, 16))
            else {
                return Parsed::Short;
            };
            if ss != 64 || command > 0x12 {
                return Parsed::Invalid;
            }
            Parsed::Smb2(Header {
                kind: Kind::Smb2,
                command,
                response: flags & 1 != 0,
                nb_len,
                offers_smb2: false,
            })
        }
        b"\xfdSMB" => {
            // MS-SMB2 §2.2.41 SMB2 TRANSFORM_HEADER: ProtocolId, Signature
            // (16), Nonce (16), OriginalMessageSize (4) at 36, Reserved (2),
            // Flags/EncryptionAlgorithm (2) at 42 = 0x0001, SessionId (8).
            let (Some(orig), Some(flags)) = (le32(smb, 36), le16(smb, 42)) else {
                return Parsed::Short;
            };
            if flags != 1 || (orig as usize).saturating_add(52) != nb_len {
                return Parsed::Invalid;
            }
            Parsed::Smb2(Header {
                kind: Kind::Transform,
                command: 0,
                response: false,
                nb_len,
                offers_smb2: false,
            })
        }
        b"\xfcSMB" => {
            // MS-SMB2 §2.2.42 COMPRESSION_TRANSFORM_HEADER: ProtocolId,
            // OriginalCompressedSegmentSize (4), CompressionAlgorithm (2,
            // 0..=4), Flags (2, 0 or 1), Offset/Length (4).
            let (Some(alg), Some(flags)) = (le16(smb, 8), le16(smb, 10)) else {
                return Parsed::Short;
            };
            if nb_len < 16 || alg > 4 || flags > 1 {
                return Parsed::Invalid;
            }
            Parsed::Smb2(Header {
                kind: Kind::Compressed,
                command: 0,
                response: false,
                nb_len,
                offers_smb2: false,
            })
        }
        _ => Parsed::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use netsift_proto::Direction::{ToClient, ToServer};

    // smbv1.pcap frames 1 and 2 (TCP 50927 -> 445): SMB1 NEGOTIATE request
    // (PC NETWORK PROGRAM 1.0 ... NT LM 0.12) and its SMB1 response.
    const NEG1: &[u8] = include_bytes!("testdata/smb1_negotiate.bin");
    const NEG1_RESP: &[u8] = include_bytes!("testdata/smb1_negotiate_resp.bin");
    // smb_frags.pcap frame 3: NEGOTIATE offering only "NT LM 0.12".
    const NEG1_NTLM: &[u8] = include_bytes!("testdata/smb1_negotiate_ntlm012.bin");
    // kerberos.pcap frame 10 (445 -> 49156): SMB2 SESSION_SETUP response.
    const SMB2_RESP: &[u8] = include_bytes!("testdata/smb2_negotiate_resp.bin");

    fn smb2_negotiate_request() -> Vec<u8> {
        // An SMB2 NEGOTIATE request header, per MS-SMB2 §2.2.1.2 / §2.2.3.
        let mut m = vec![0u8; 4 + 64 + 36 + 4];
        let len = (m.len() - 4) as u32;
        m[1..4].copy_from_slice(&len.to_be_bytes()[1..]);
        m[4..8].copy_from_slice(b"\xfeSMB");
        m[8] = 64; // StructureSize
        m[4 + 64] = 36; // NEGOTIATE StructureSize
        m[4 + 64 + 2] = 2; // DialectCount
        m
    }

    #[test]
    fn smb1_real() {
        let e = evidence(run(&Smbv1, Transport::Tcp, ToServer, NEG1, &[]));
        assert_eq!(
            e,
            "client sent SMB1 NEGOTIATE request (\\xffSMB, NetBIOS length 133)"
        );
        let e = evidence(run(&Smbv1, Transport::Tcp, ToClient, NEG1_RESP, NEG1));
        assert!(e.contains("SMB1 NEGOTIATE response"), "{e}");
        assert!(matches!(
            run(&Smbv1, Transport::Tcp, ToServer, NEG1_NTLM, &[]),
            Probe::Match(_)
        ));
        for d in [NEG1, NEG1_RESP, NEG1_NTLM] {
            assert_eq!(
                run(&Smbv23, Transport::Tcp, ToServer, d, &[]),
                Probe::NoMatch
            );
        }
    }

    #[test]
    fn smb2_real_and_built() {
        let e = evidence(run(&Smbv23, Transport::Tcp, ToClient, SMB2_RESP, &[]));
        assert_eq!(
            e,
            "server sent SMB2 SESSION_SETUP response (\\xfeSMB, length 256)"
        );
        let req = smb2_negotiate_request();
        let e = evidence(run(&Smbv23, Transport::Tcp, ToServer, &req, &[]));
        assert!(e.contains("SMB2 NEGOTIATE request"), "{e}");
        assert_eq!(
            run(&Smbv1, Transport::Tcp, ToServer, &req, &[]),
            Probe::NoMatch
        );
        assert_eq!(
            run(&Smbv1, Transport::Tcp, ToClient, SMB2_RESP, &[]),
            Probe::NoMatch
        );
    }

    /// `NEG1` with "SMB 2.002" and "SMB 2.???" appended to its dialects,
    /// as Windows Vista+ clients send it.
    fn neg1_with_smb2() -> Vec<u8> {
        let mut m = NEG1.to_vec();
        m.extend_from_slice(b"\x02SMB 2.002\x00\x02SMB 2.???\x00");
        let len = (m.len() - 4) as u32;
        m[1..4].copy_from_slice(&len.to_be_bytes()[1..]);
        let bc = u16::from_le_bytes([m[37], m[38]]) + 22;
        m[37..39].copy_from_slice(&bc.to_le_bytes());
        m
    }

    #[test]
    fn smb1_negotiate_offering_smb2_waits_for_the_server() {
        let neg = neg1_with_smb2();
        assert_eq!(
            run(&Smbv1, Transport::Tcp, ToServer, &neg, &[]),
            Probe::NeedMore
        );
        assert_eq!(
            run(&Smbv23, Transport::Tcp, ToServer, &neg, &[]),
            Probe::NeedMore
        );
        // The server answers SMB2: SMBv23.
        let e = evidence(run(&Smbv23, Transport::Tcp, ToServer, &neg, SMB2_RESP));
        assert!(e.contains("offering SMB 2.x dialects"), "{e}");
        assert_eq!(
            run(&Smbv1, Transport::Tcp, ToServer, &neg, SMB2_RESP),
            Probe::NoMatch
        );
        // The server answers SMB1: SMBv1.
        assert!(matches!(
            run(&Smbv1, Transport::Tcp, ToServer, &neg, NEG1_RESP),
            Probe::Match(_)
        ));
        assert_eq!(
            run(&Smbv23, Transport::Tcp, ToServer, &neg, NEG1_RESP),
            Probe::NoMatch
        );
    }

    #[test]
    fn netbios_session_request_is_skipped() {
        // RFC 1002 §4.3.2 SESSION REQUEST (two 34-byte encoded names),
        // then the server's POSITIVE SESSION RESPONSE.
        let mut c = vec![0x81, 0, 0, 68];
        c.extend_from_slice(&[0x20; 68]);
        c.extend_from_slice(NEG1);
        assert!(matches!(
            run(&Smbv1, Transport::Tcp, ToServer, &c, &[]),
            Probe::Match(_)
        ));
        let mut s = vec![0x82, 0, 0, 0];
        s.extend_from_slice(NEG1_RESP);
        assert!(matches!(
            run(&Smbv1, Transport::Tcp, ToClient, &s, &c),
            Probe::Match(_)
        ));
    }

    #[test]
    fn truncation() {
        for p in [&Smbv1 as &dyn Protocol, &Smbv23] {
            for d in [NEG1, NEG1_RESP, NEG1_NTLM, SMB2_RESP] {
                check_prefixes(p, Transport::Tcp, ToServer, d, &[]);
            }
            let neg = neg1_with_smb2();
            check_prefixes(p, Transport::Tcp, ToServer, &neg, SMB2_RESP);
            check_prefixes(p, Transport::Tcp, ToServer, &neg, NEG1_RESP);
        }
    }

    #[test]
    fn negatives_and_random() {
        for p in [&Smbv1 as &dyn Protocol, &Smbv23] {
            assert_no_claim_on_others(p, Transport::Tcp);
            assert_random_rate(p, Transport::Tcp);
        }
        // Wrong StructureSize.
        let mut bad = SMB2_RESP.to_vec();
        bad[8] = 63;
        assert_eq!(
            run(&Smbv23, Transport::Tcp, ToClient, &bad, &[]),
            Probe::NoMatch
        );
        // NetBIOS message type other than SESSION MESSAGE.
        let mut bad = NEG1.to_vec();
        bad[0] = 0x84;
        assert_eq!(
            run(&Smbv1, Transport::Tcp, ToServer, &bad, &[]),
            Probe::NoMatch
        );
    }

    #[test]
    fn first_packet_on_a_non_standard_port() {
        use crate::first_packet::identify_first_payload;
        match identify_first_payload(Transport::Tcp, ToServer, 8080, NEG1) {
            crate::FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "SMBv1"),
            other => panic!("{other:?}"),
        }
        let req = smb2_negotiate_request();
        match identify_first_payload(Transport::Tcp, ToServer, 8080, &req) {
            crate::FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "SMBv23"),
            other => panic!("{other:?}"),
        }
    }
}
