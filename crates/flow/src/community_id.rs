//! Community ID v1 flow hashing (corelight/community-id-spec).
//!
//! > sha1_digest = sha1(seed . saddr . daddr . proto . 0 . sport . dport)
//! > return "1:" + base64(sha1_digest)
//!
//! "swap the endpoints, if needed, so the numerically smaller IP:port tuple
//! comes first. If the IP addresses are equal, the ports decide." ICMP and
//! ICMPv6 map (type, code) to port equivalents the way Zeek does; a type with
//! no request/response counterpart is "one-way" and is never swapped.

use std::net::IpAddr;

const PROTO_ICMP: u8 = 1;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const PROTO_ICMPV6: u8 = 58;
const PROTO_SCTP: u8 = 132;

/// Zeek's ICMPv4 request/response pairs: echo, router solicit/advert,
/// timestamp, information, address mask.
fn icmp4_counterpart(t: u8) -> Option<u8> {
    Some(match t {
        8 => 0,
        0 => 8,
        13 => 14,
        14 => 13,
        15 => 16,
        16 => 15,
        10 => 9,
        9 => 10,
        17 => 18,
        18 => 17,
        _ => return None,
    })
}

/// Zeek's ICMPv6 pairs: echo, MLD query/report, router and neighbour
/// discovery, who-are-you, home agent address discovery.
fn icmp6_counterpart(t: u8) -> Option<u8> {
    Some(match t {
        128 => 129,
        129 => 128,
        130 => 131,
        131 => 130,
        133 => 134,
        134 => 133,
        135 => 136,
        136 => 135,
        139 => 140,
        140 => 139,
        144 => 145,
        145 => 144,
        _ => return None,
    })
}

/// Compute the Community ID v1 of a flow tuple. For ICMP/ICMPv6 pass the
/// message type as `sport` and the code as `dport`. Mixed address families
/// cannot occur in one IP packet; if given, the ID is computed over both
/// addresses as they are.
pub fn community_id_v1(
    seed: u16,
    proto: u8,
    saddr: IpAddr,
    daddr: IpAddr,
    sport: u16,
    dport: u16,
) -> CommunityId {
    let (mut sport, mut dport) = (sport, dport);
    let mut one_way = false;
    let has_ports = matches!(
        proto,
        PROTO_ICMP | PROTO_TCP | PROTO_UDP | PROTO_ICMPV6 | PROTO_SCTP
    );
    if proto == PROTO_ICMP || proto == PROTO_ICMPV6 {
        let t = sport as u8;
        let counterpart = if proto == PROTO_ICMP {
            icmp4_counterpart(t)
        } else {
            icmp6_counterpart(t)
        };
        match counterpart {
            Some(c) => dport = u16::from(c),
            None => one_way = true,
        }
        sport = u16::from(t);
    }
    let (s, d) = (addr_bytes(&saddr), addr_bytes(&daddr));
    let (s, d) = (&s.0[..s.1], &d.0[..d.1]);
    let ordered = one_way || s < d || (s == d && sport < dport);
    let (a, b, pa, pb) = if ordered {
        (s, d, sport, dport)
    } else {
        (d, s, dport, sport)
    };
    use sha1::Digest as _;
    let mut h = sha1::Sha1::new();
    h.update(seed.to_be_bytes());
    h.update(a);
    h.update(b);
    h.update([proto, 0]);
    if has_ports {
        h.update(pa.to_be_bytes());
        h.update(pb.to_be_bytes());
    }
    let digest: [u8; 20] = h.finalize().into();
    let mut out = [0u8; 30];
    out[..2].copy_from_slice(b"1:");
    base64_into(&digest, &mut out[2..]);
    CommunityId(out)
}

/// A Community ID v1: `1:` and the base64 of a SHA-1 digest, 30 ASCII
/// bytes, kept in place (a flow record makes one per flow).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CommunityId([u8; 30]);

impl CommunityId {
    /// The text's 30 bytes, all ASCII.
    pub fn as_bytes(&self) -> &[u8; 30] {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        // Always ASCII (see `community_id_v1`).
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::fmt::Display for CommunityId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for CommunityId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq<&str> for CommunityId {
    fn eq(&self, o: &&str) -> bool {
        self.as_str() == *o
    }
}

fn addr_bytes(a: &IpAddr) -> ([u8; 16], usize) {
    let mut b = [0u8; 16];
    match a {
        IpAddr::V4(v4) => {
            b[..4].copy_from_slice(&v4.octets());
            (b, 4)
        }
        IpAddr::V6(v6) => {
            b.copy_from_slice(&v6.octets());
            (b, 16)
        }
    }
}

/// Standard base64 (RFC 4648 §4) with padding, into `out` (which holds
/// 4 bytes per 3 of `data`, rounded up; the rest is left as is).
fn base64_into(data: &[u8], out: &mut [u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut slots = out.iter_mut();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            let Some(slot) = slots.next() else {
                return;
            };
            *slot = if i <= chunk.len() {
                ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]
            } else {
                b'='
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    // Test vectors from the reference implementation's test suite
    // (pycommunityid tests/communityid_test.py), seed 0 and seed 1.
    #[test]
    fn tcp_vectors_both_directions() {
        let a = ip("128.232.110.120");
        let b = ip("66.35.250.204");
        assert_eq!(
            community_id_v1(0, 6, a, b, 34855, 80),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
        assert_eq!(
            community_id_v1(0, 6, b, a, 80, 34855),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
        assert_eq!(
            community_id_v1(1, 6, a, b, 34855, 80),
            "1:3V71V58M3Ksw/yuFALMcW0LAHvc="
        );
        // pycommunityid issue 3: ports must compare numerically.
        assert_eq!(
            community_id_v1(0, 6, ip("10.0.0.1"), ip("10.0.0.2"), 10, 11569),
            "1:SXBGMX1lBOwhhoDrZynfROxnhnM="
        );
    }

    #[test]
    fn udp_and_sctp_vectors() {
        assert_eq!(
            community_id_v1(0, 17, ip("192.168.1.52"), ip("8.8.8.8"), 54585, 53),
            "1:d/FP5EW3wiY1vCndhwleRRKHowQ="
        );
        assert_eq!(
            community_id_v1(1, 17, ip("8.8.8.8"), ip("192.168.1.52"), 53, 54585),
            "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="
        );
        assert_eq!(
            community_id_v1(0, 132, ip("192.168.170.56"), ip("192.168.170.8"), 80, 7),
            "1:jQgCxbku+pNGw8WPbEc/TS/uTpQ="
        );
    }

    #[test]
    fn icmp_vectors() {
        let a = ip("192.168.0.89");
        let b = ip("192.168.0.1");
        assert_eq!(
            community_id_v1(0, 1, a, b, 8, 0),
            "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="
        );
        assert_eq!(
            community_id_v1(0, 1, b, a, 0, 8),
            "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="
        );
        // Type 0's code is ignored: it maps to its counterpart 8.
        assert_eq!(
            community_id_v1(0, 1, b, a, 0, 20),
            "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="
        );
        // Type 20 has no counterpart: one-way, code hashed.
        assert_eq!(
            community_id_v1(0, 1, a, b, 20, 0),
            "1:3o2RFccXzUgjl7zDpqmY7yJi8rI="
        );
        assert_eq!(
            community_id_v1(1, 1, a, b, 20, 1),
            "1:Ie3wmFyxiEyikbsbcO03d2nh+PM="
        );
    }

    #[test]
    fn icmp6_vectors() {
        let a = ip("fe80::200:86ff:fe05:80da");
        let b = ip("fe80::260:97ff:fe07:69ea");
        assert_eq!(
            community_id_v1(0, 58, a, b, 135, 0),
            "1:dGHyGvjMfljg6Bppwm3bg0LO8TY="
        );
        assert_eq!(
            community_id_v1(0, 58, b, a, 136, 0),
            "1:dGHyGvjMfljg6Bppwm3bg0LO8TY="
        );
        let c = ip("3ffe:507:0:1:260:97ff:fe07:69ea");
        let d = ip("3ffe:507:0:1:200:86ff:fe05:80da");
        assert_eq!(
            community_id_v1(0, 58, c, d, 3, 0),
            "1:NdobDX8PQNJbAyfkWxhtL2Pqp5w="
        );
        assert_eq!(
            community_id_v1(0, 58, d, c, 3, 0),
            "1:/OGBt9BN1ofenrmSPWYicpij2Vc="
        );
    }

    #[test]
    fn portless_protocol_vector() {
        let a = ip("10.1.24.4");
        let b = ip("10.1.12.1");
        assert_eq!(
            community_id_v1(0, 46, a, b, 0, 0),
            "1:/nQI4Rh/TtY3mf0R2gJFBkVlgS4="
        );
        assert_eq!(
            community_id_v1(1, 46, b, a, 0, 0),
            "1:BK3BVW3U2eemuwVQVN3zd/GULno="
        );
    }

    #[test]
    fn base64_padding() {
        let b64 = |d: &[u8], room: usize| {
            let mut s = vec![b'.'; room];
            base64_into(d, &mut s);
            String::from_utf8(s).expect("ascii")
        };
        assert_eq!(b64(b"f", 4), "Zg==");
        assert_eq!(b64(b"fo", 4), "Zm8=");
        assert_eq!(b64(b"foobar", 8), "Zm9vYmFy");
        // Never past the room it is given, nor touching what it leaves.
        assert_eq!(b64(b"foobar", 6), "Zm9vYm");
        assert_eq!(b64(b"f", 6), "Zg==..");
    }
}
