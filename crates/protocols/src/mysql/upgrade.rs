//! MySQL's switch to TLS (MySQL client/server protocol, "Protocol::SSLRequest"):
//! the server's Protocol::HandshakeV10 advertises CLIENT_SSL; a client that
//! wants TLS answers with a short SSLRequest packet — "int<4> client_flag,
//! int<4> max_packet_size, int<1> character_set, string[23] filler" (32
//! bytes) with CLIENT_SSL set — instead of the full HandshakeResponse41,
//! and both sides start TLS right after it. There is no server answer: the
//! request itself is the switch.

use netsift_proto::Direction;

use crate::starttls::Watch;

/// "CLIENT_SSL 0x00000800: Use SSL encryption for the session."
const CLIENT_SSL: u32 = 0x0800;
/// Payload size of an SSLRequest.
const SSL_REQUEST_LEN: usize = 32;

/// One packet at the start of `d`: "int<3> payload_length, int<1>
/// sequence_id, string[len] payload".
fn packet(d: &[u8]) -> Option<(u8, &[u8])> {
    let h = d.get(..4)?;
    let len = usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16;
    Some((h[3], d.get(4..4 + len)?))
}

/// Capabilities of a Protocol::HandshakeV10: "int<1> protocol version
/// (10), string<NUL> server version, int<4> thread id, string[8]
/// auth-plugin-data-part-1, int<1> filler, int<2> capability_flags_1".
fn server_caps(p: &[u8]) -> Option<u32> {
    if *p.first()? != 10 {
        return None;
    }
    let nul = p.iter().skip(1).position(|&b| b == 0)? + 1;
    let at = nul + 1 + 4 + 8 + 1;
    Some(u32::from(*p.get(at)?) | u32::from(*p.get(at + 1)?) << 8)
}

/// The upgrade rule (see [`crate::starttls::Rule`]).
pub(crate) fn rule(dir: Direction, client: &[u8], server: &[u8]) -> Watch {
    let Some((0, greeting)) = packet(server) else {
        return if client.is_empty() && server.len() < crate::starttls::MAX_WATCH {
            Watch::More
        } else {
            Watch::Never
        };
    };
    if server_caps(greeting).is_none_or(|c| c & CLIENT_SSL == 0) {
        return Watch::Never;
    }
    if client.len() < 4 {
        return Watch::More;
    }
    let len = client.first().map_or(0, |&b| usize::from(b))
        | client.get(1).map_or(0, |&b| usize::from(b)) << 8
        | client.get(2).map_or(0, |&b| usize::from(b)) << 16;
    if len != SSL_REQUEST_LEN || client.get(3) != Some(&1) {
        return Watch::Never;
    }
    let Some((_, req)) = packet(client) else {
        return Watch::More;
    };
    let flags = match req.get(..4) {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
        _ => 0,
    };
    if flags & CLIENT_SSL != 0 && dir == Direction::ToServer {
        Watch::After(4 + SSL_REQUEST_LEN)
    } else {
        Watch::Never
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// mariadb --ssl against MariaDB 10.11: crates/cli/tests/starttls/make-starttls.sh, stream 0 of
    /// the capture, extracted with `tshark -q -z follow,tcp,raw,0`.
    #[test]
    fn real_upgrade_gives_a_tls_record() {
        crate::starttls::assert_real_upgrade(
            "MySQL",
            rule,
            include_str!("testdata/ssl_request.txt"),
            None,
        );
    }
}
