//! FTP data-channel announcements on the control connection.
//!
//! FTP moves files over a second TCP connection whose address is negotiated
//! on the control connection (RFC 959 §3.2, RFC 2428). The bytes of that
//! data connection are the files themselves, so FTP_DATA can only be
//! recognised by remembering these announcements: [`parse_data_channel`]
//! reads one control-connection line and says which endpoint will connect
//! to which address and port. The engine's flow layer calls it on FTP
//! control lines and labels the matching later connection FTP_DATA
//! (confidence "flow").

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Which command or reply announced the data channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataChannelKind {
    /// Server reply `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)` to
    /// PASV (RFC 959 §4.1.1, §4.2.2).
    Passive,
    /// Server reply `229 Entering Extended Passive Mode (|||port|)` to EPSV
    /// (RFC 2428 §3).
    ExtendedPassive,
    /// Client command `PORT h1,h2,h3,h4,p1,p2` (RFC 959 §4.1.2).
    Active,
    /// Client command `EPRT |1|a.b.c.d|port|` or `EPRT |2|v6addr|port|`
    /// (RFC 2428 §2).
    ExtendedActive,
}

/// Who opens the data connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connector {
    /// Passive modes: the client connects to the server's announced port.
    ClientToServer,
    /// Active modes: the server connects (usually from port 20) to the
    /// client's announced address and port.
    ServerToClient,
}

/// A data connection announced on an FTP control connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataChannel {
    pub kind: DataChannelKind,
    /// The announced address; `None` for EPSV (RFC 2428 §3: the address is
    /// the control connection's server address).
    pub addr: Option<IpAddr>,
    /// The port the connecting side will connect to (never 0).
    pub port: u16,
    pub connector: Connector,
}

/// Parse one control-connection line (with or without its CR LF): a
/// server's 227 / 229 reply or a client's PORT / EPRT command. `None` for
/// any other line or a malformed announcement. Never panics, no
/// allocation.
pub fn parse_data_channel(line: &[u8]) -> Option<DataChannel> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > 512 {
        return None;
    }
    let (head, rest) = line.split_at_checked(4)?;
    if head == b"227 " || head == b"227-" {
        // RFC 959 §4.2.2 "227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)."
        // RFC 1123 §4.1.2.6: the text varies; "the User-FTP program should
        // scan the reply for the first digit" of the six numbers.
        let mut from = 0;
        while let Some(off) = rest.get(from..)?.iter().position(u8::is_ascii_digit) {
            let start = from + off;
            if let Some((ip, port, _)) = six_numbers(rest.get(start..)?) {
                return Some(DataChannel {
                    kind: DataChannelKind::Passive,
                    addr: Some(IpAddr::V4(ip)),
                    port,
                    connector: Connector::ClientToServer,
                });
            }
            // Skip this run of digits and try the next.
            let run = rest
                .get(start..)?
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            from = start + run;
        }
        return None;
    }
    if head == b"229 " || head == b"229-" {
        // RFC 2428 §3: "229 Entering Extended Passive Mode (|||6446|)";
        // the delimiter is any character in 33..=126.
        let open = rest.iter().position(|&b| b == b'(')?;
        let inner = rest.get(open + 1..)?;
        let close = inner.iter().position(|&b| b == b')')?;
        let inner = inner.get(..close)?;
        let (&d, body) = inner.split_first()?;
        if !(33..=126).contains(&d) {
            return None;
        }
        // Fields: net-prt (empty), net-addr (empty), port, then the end.
        let mut f = body.split(|&b| b == d);
        let (prt, addr, port, end, extra) = (f.next()?, f.next()?, f.next()?, f.next()?, f.next());
        if !prt.is_empty() || !addr.is_empty() || !end.is_empty() || extra.is_some() {
            return None;
        }
        return Some(DataChannel {
            kind: DataChannelKind::ExtendedPassive,
            addr: None,
            port: port_number(port)?,
            connector: Connector::ClientToServer,
        });
    }
    // Client commands: verb, one space, argument (RFC 959 §5.3.1).
    let sp = line.iter().position(|&b| b == b' ')?;
    let (verb, arg) = (line.get(..sp)?, line.get(sp + 1..)?);
    if verb.eq_ignore_ascii_case(b"PORT") {
        // RFC 959 §4.1.2: PORT h1,h2,h3,h4,p1,p2
        let (ip, port, used) = six_numbers(arg)?;
        if used != arg.len() {
            return None;
        }
        return Some(DataChannel {
            kind: DataChannelKind::Active,
            addr: Some(IpAddr::V4(ip)),
            port,
            connector: Connector::ServerToClient,
        });
    }
    if verb.eq_ignore_ascii_case(b"EPRT") {
        // RFC 2428 §2: EPRT<space><d><net-prt><d><net-addr><d><tcp-port><d>
        let (&d, body) = arg.split_first()?;
        if !(33..=126).contains(&d) {
            return None;
        }
        let mut f = body.split(|&b| b == d);
        let (prt, addr, port, end, extra) = (f.next()?, f.next()?, f.next()?, f.next()?, f.next());
        if !end.is_empty() || extra.is_some() {
            return None;
        }
        let addr = std::str::from_utf8(addr).ok()?;
        // net-prt 1 = IPv4, 2 = IPv6 (IANA address family numbers).
        let ip = match prt {
            b"1" => IpAddr::V4(addr.parse::<Ipv4Addr>().ok()?),
            b"2" => IpAddr::V6(addr.parse::<Ipv6Addr>().ok()?),
            _ => return None,
        };
        return Some(DataChannel {
            kind: DataChannelKind::ExtendedActive,
            addr: Some(ip),
            port: port_number(port)?,
            connector: Connector::ServerToClient,
        });
    }
    None
}

/// A decimal TCP port, 1..=65535, at most 5 digits.
fn port_number(s: &[u8]) -> Option<u16> {
    if s.is_empty() || s.len() > 5 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = s.iter().fold(0u32, |a, &b| a * 10 + (b - b'0') as u32);
    u16::try_from(v).ok().filter(|&p| p != 0)
}

/// "h1,h2,h3,h4,p1,p2" at the start of `s` (six numbers 0..=255, each at
/// most 3 digits): the IPv4 address, the port p1*256+p2 (non-zero) and
/// the bytes used.
fn six_numbers(s: &[u8]) -> Option<(Ipv4Addr, u16, usize)> {
    let mut n = [0u8; 6];
    let mut pos = 0;
    for (i, slot) in n.iter_mut().enumerate() {
        if i > 0 {
            if s.get(pos) != Some(&b',') {
                return None;
            }
            pos += 1;
        }
        let digits = s
            .get(pos..)?
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 0 || digits > 3 {
            return None;
        }
        let v = s
            .get(pos..pos + digits)?
            .iter()
            .fold(0u16, |a, &b| a * 10 + (b - b'0') as u16);
        *slot = u8::try_from(v).ok()?;
        pos += digits;
    }
    // The list must not continue with another number.
    if s.get(pos).is_some_and(|&b| b == b',' || b.is_ascii_digit()) {
        return None;
    }
    let port = u16::from(n[4]) << 8 | u16::from(n[5]);
    if port == 0 {
        return None;
    }
    Some((Ipv4Addr::new(n[0], n[1], n[2], n[3]), port, pos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasv_real() {
        // ftp.pcap, server 90.130.70.73: the data connection that nDPI
        // labels FTP_DATA goes to port 25685 = 100*256+85.
        let d =
            parse_data_channel(b"227 Entering Passive Mode (90,130,70,73,100,85).\r\n").unwrap();
        assert_eq!(
            d,
            DataChannel {
                kind: DataChannelKind::Passive,
                addr: Some("90.130.70.73".parse().unwrap()),
                port: 25685,
                connector: Connector::ClientToServer,
            }
        );
        // Without parentheses, with words containing digits before.
        let d = parse_data_channel(b"227 =10,0,0,1,4,1").unwrap();
        assert_eq!(d.port, 1025);
        let d = parse_data_channel(b"227 Entering Passive Mode 2 (10,0,0,1,4,1)").unwrap();
        assert_eq!(d.addr, Some("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn epsv() {
        let d = parse_data_channel(b"229 Entering Extended Passive Mode (|||6446|)\r\n").unwrap();
        assert_eq!(
            d,
            DataChannel {
                kind: DataChannelKind::ExtendedPassive,
                addr: None,
                port: 6446,
                connector: Connector::ClientToServer,
            }
        );
        assert!(parse_data_channel(b"229 Entering Extended Passive Mode (!!!6446!)").is_some());
        assert!(parse_data_channel(b"229 Entering Extended Passive Mode (|||0|)").is_none());
        assert!(parse_data_channel(b"229 Entering Extended Passive Mode (|||70000|)").is_none());
        assert!(parse_data_channel(b"229 Entering Extended Passive Mode (||6446|)").is_none());
    }

    #[test]
    fn port_and_eprt() {
        let d = parse_data_channel(b"PORT 192,168,1,2,7,138\r\n").unwrap();
        assert_eq!(d.kind, DataChannelKind::Active);
        assert_eq!(d.addr, Some("192.168.1.2".parse().unwrap()));
        assert_eq!(d.port, 1930);
        assert_eq!(d.connector, Connector::ServerToClient);
        let d = parse_data_channel(b"EPRT |1|132.235.1.2|6275|").unwrap();
        assert_eq!(d.kind, DataChannelKind::ExtendedActive);
        assert_eq!(d.addr, Some("132.235.1.2".parse().unwrap()));
        assert_eq!(d.port, 6275);
        let d = parse_data_channel(b"eprt |2|1080::8:800:200C:417A|5282|\r\n").unwrap();
        assert_eq!(d.addr, Some("1080::8:800:200c:417a".parse().unwrap()));
        assert_eq!(d.connector, Connector::ServerToClient);
        // RFC 2428 examples use any delimiter.
        assert!(parse_data_channel(b"EPRT !1!10.0.0.1!21!").is_some());
    }

    #[test]
    fn malformed() {
        for l in [
            &b""[..],
            b"227",
            b"227 Entering Passive Mode (256,0,0,1,4,1)",
            b"227 Entering Passive Mode (1,2,3,4,5)",
            b"227 Entering Passive Mode (1,2,3,4,0,0)",
            b"PORT 1,2,3,4,5,6,7",
            b"PORT 1,2,3,4,5",
            b"PORT 1,2,3,4,5,6x",
            b"EPRT |3|1.2.3.4|21|",
            b"EPRT |1|::1|21|",
            b"EPRT |2|1.2.3.4|21|",
            b"EPRT |1|1.2.3.4|21",
            b"EPRT |1|1.2.3.4|21|x",
            b"PASV",
            b"200 PORT command successful",
            b"229 Entering Extended Passive Mode",
        ] {
            assert_eq!(
                parse_data_channel(l),
                None,
                "{}",
                String::from_utf8_lossy(l)
            );
        }
    }

    #[test]
    fn every_prefix_and_random_never_panic() {
        let lines: [&[u8]; 4] = [
            b"227 Entering Passive Mode (90,130,70,73,100,85).\r\n",
            b"229 Entering Extended Passive Mode (|||6446|)\r\n",
            b"PORT 192,168,1,2,7,138\r\n",
            b"EPRT |2|1080::8:800:200C:417A|5282|\r\n",
        ];
        for l in lines {
            for n in 0..=l.len() {
                let _ = parse_data_channel(&l[..n]);
            }
        }
        let mut rng = crate::testkit::XorShift(7);
        let mut buf = [0u8; 64];
        for _ in 0..20_000 {
            let len = (rng.next() % 64) as usize;
            for b in buf.iter_mut().take(len) {
                // Bias towards the characters that matter.
                *b = b"227 9PORTEPRT|,.:()0123456789"[(rng.next() % 29) as usize];
            }
            let _ = parse_data_channel(&buf[..len]);
        }
    }
}
