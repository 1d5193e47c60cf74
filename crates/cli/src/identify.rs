//! `netsift identify`: the first-packet API on the command line, and a
//! tiny honeypot sensor (`--listen`).
//!
//! One payload (a file, stdin, or `--hex`) is named the way the DPI layer
//! names a flow's first packet: [`identify_first_payload`], whatever the
//! port. With `--listen ADDR` netsift accepts TCP connections, waits up to
//! `--wait` seconds for the client's first bytes, logs one JSON line per
//! connection with the verdict, and closes. It never sends a byte: this is
//! go-dpi's use in Glutton, a sensor that learns what a scanner or client
//! speaks on any port, without answering in kind.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use netsift_proto::{Direction, Transport};
use netsift_protocols::{identify_first_payload, FirstVerdict};
use serde_json::{json, Value};

use crate::{IdentifyArgs, IdentifyFormat};

/// The most payload bytes looked at (and read from a connection).
const MAX_PAYLOAD: usize = 64 * 1024;

fn parse_hex(s: &str) -> Result<Vec<u8>> {
    let clean: Vec<u8> = s
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b':')
        .collect();
    if clean.len() % 2 != 0 {
        bail!("--hex: odd number of hex digits");
    }
    clean
        .chunks(2)
        .map(|p| {
            let t = std::str::from_utf8(p).unwrap_or("zz");
            u8::from_str_radix(t, 16).with_context(|| format!("--hex: '{t}' is not a hex byte"))
        })
        .collect()
}

use netsift_proto::bytes::hex;

/// The verdict as a JSON object (the `--format json` output and the
/// `--listen` log line's `verdict`).
fn verdict_json(v: &FirstVerdict) -> Value {
    match v {
        FirstVerdict::Match {
            protocol,
            app,
            evidence,
        } => json!({"protocol": protocol, "app": app, "confidence": "dpi", "evidence": evidence}),
        FirstVerdict::NeedMore { candidates } => json!({
            "protocol": "Unknown",
            "confidence": "none",
            "need_more": candidates,
        }),
        FirstVerdict::Unknown => json!({"protocol": "Unknown", "confidence": "none"}),
    }
}

fn verdict_text(v: &FirstVerdict) -> String {
    match v {
        FirstVerdict::Match {
            protocol,
            app: Some(app),
            evidence,
        } => format!("{protocol}/{app}  {evidence}"),
        FirstVerdict::Match {
            protocol, evidence, ..
        } => format!("{protocol}  {evidence}"),
        FirstVerdict::NeedMore { candidates } => {
            format!(
                "Unknown  (these need more bytes: {})",
                candidates.join(", ")
            )
        }
        FirstVerdict::Unknown => "Unknown".to_string(),
    }
}

pub fn run(a: &IdentifyArgs) -> Result<ExitCode> {
    let transport = match a.transport.as_str() {
        "tcp" => Transport::Tcp,
        "udp" => Transport::Udp,
        t => bail!("--transport must be tcp or udp, got '{t}'"),
    };
    let dir = match a.direction.as_str() {
        "to_server" | "to-server" => Direction::ToServer,
        "to_client" | "to-client" => Direction::ToClient,
        d => bail!("--direction must be to_server or to_client, got '{d}'"),
    };
    if let Some(addr) = &a.listen {
        return match transport {
            Transport::Udp => listen_udp(a, addr),
            _ => listen(a, addr),
        };
    }
    let payload = match (&a.hex, &a.payload) {
        (Some(h), None) => parse_hex(h)?,
        (None, Some(p)) if p.as_os_str() != "-" => {
            let mut f =
                std::fs::File::open(p).with_context(|| format!("opening {}", p.display()))?;
            read_bounded(&mut f)?
        }
        (None, _) => read_bounded(&mut io::stdin().lock())?,
        (Some(_), Some(_)) => bail!("give the payload as a FILE or --hex, not both"),
    };
    let v = identify_first_payload(transport, dir, a.port, &payload);
    let mut out = io::stdout().lock();
    match a.format {
        IdentifyFormat::Json => {
            let mut j = verdict_json(&v);
            j["bytes"] = payload.len().into();
            writeln!(out, "{j}")?;
        }
        IdentifyFormat::Text => writeln!(out, "{}", verdict_text(&v))?,
    }
    Ok(ExitCode::SUCCESS)
}

fn read_bounded(r: &mut dyn Read) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    r.take(MAX_PAYLOAD as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Read the client's first bytes: until a probe decides, the client stops
/// sending for a moment after its first bytes, `wait` passes, or
/// MAX_PAYLOAD bytes.
fn first_bytes(s: &mut TcpStream, wait: Duration, port: u16) -> (Vec<u8>, FirstVerdict) {
    let start = Instant::now();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut verdict = FirstVerdict::Unknown;
    loop {
        let left = wait.saturating_sub(start.elapsed());
        if left.is_zero() || buf.len() >= MAX_PAYLOAD {
            break;
        }
        // Once bytes arrived, a pause of 300 ms ends the first payload.
        let step = if buf.is_empty() {
            left
        } else {
            left.min(Duration::from_millis(300))
        };
        if s.set_read_timeout(Some(step)).is_err() {
            break;
        }
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                let room = MAX_PAYLOAD - buf.len();
                buf.extend_from_slice(&chunk[..n.min(room)]);
                verdict = identify_first_payload(Transport::Tcp, Direction::ToServer, port, &buf);
                if !matches!(verdict, FirstVerdict::NeedMore { .. }) {
                    break;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if !buf.is_empty() {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    (buf, verdict)
}

fn listen(a: &IdentifyArgs, addr: &str) -> Result<ExitCode> {
    if !a.wait.is_finite() || a.wait <= 0.0 || a.wait > 3600.0 {
        bail!("--wait must be between 0 and 3600 seconds");
    }
    let wait = Duration::from_secs_f64(a.wait);
    let listener = TcpListener::bind(addr).with_context(|| format!("listening on {addr}"))?;
    let local = listener.local_addr()?;
    eprintln!("netsift identify: listening on {local} (TCP), waiting up to {}s for each client's first bytes", a.wait);
    let out = Arc::new(Mutex::new(open_log(a)?));
    let active = Arc::new(AtomicUsize::new(0));
    let mut served = 0u64;
    for conn in listener.incoming() {
        let Ok(mut s) = conn else { continue };
        // Bounded: beyond --max-conns connections at once, close at once.
        if active.load(Ordering::Relaxed) as u64 >= a.max_conns {
            drop(s);
            continue;
        }
        active.fetch_add(1, Ordering::Relaxed);
        let (out, active) = (out.clone(), active.clone());
        let port = local.port();
        std::thread::spawn(move || {
            let peer = s.peer_addr().ok();
            let t0 = wall_secs();
            let (bytes, verdict) = first_bytes(&mut s, wait, port);
            let _ = s.shutdown(std::net::Shutdown::Both);
            let line = log_line(t0, peer, port, &bytes, &verdict);
            if let Ok(mut o) = out.lock() {
                let _ = writeln!(o, "{line}");
                let _ = o.flush();
            }
            active.fetch_sub(1, Ordering::Relaxed);
        });
        served += 1;
        if a.count.is_some_and(|c| served >= c) {
            break;
        }
    }
    // With --count, let the last connections finish their wait.
    let deadline = Instant::now() + wait + Duration::from_secs(1);
    while active.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(ExitCode::SUCCESS)
}

/// Where `--listen` writes its JSON lines: `-o FILE` (appended) or stdout.
fn open_log(a: &IdentifyArgs) -> Result<Box<dyn Write + Send>> {
    Ok(match &a.output {
        Some(p) if p.as_os_str() != "-" => Box::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .with_context(|| format!("opening {}", p.display()))?,
        ),
        _ => Box::new(io::stdout()),
    })
}

/// `--listen ADDR --transport udp`: log every datagram that arrives with
/// the verdict on its payload (a datagram is a client's whole first
/// message: DNS, SIP, SNMP, NTP, QUIC, ...). Never answers.
fn listen_udp(a: &IdentifyArgs, addr: &str) -> Result<ExitCode> {
    let sock = UdpSocket::bind(addr).with_context(|| format!("listening on {addr} (UDP)"))?;
    let local = sock.local_addr()?;
    eprintln!("netsift identify: listening on {local} (UDP), logging each datagram's verdict");
    let mut out = open_log(a)?;
    // The largest UDP payload; longer datagrams are cut by the kernel.
    let mut buf = vec![0u8; MAX_PAYLOAD];
    let mut served = 0u64;
    loop {
        let (n, peer) = match sock.recv_from(&mut buf) {
            Ok(r) => r,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("receiving a datagram"),
        };
        let data = &buf[..n];
        let v = identify_first_payload(Transport::Udp, Direction::ToServer, local.port(), data);
        let t0 = wall_secs();
        let mut line = log_line(t0, Some(peer), local.port(), data, &v);
        line["transport"] = "udp".into();
        writeln!(out, "{line}")?;
        out.flush()?;
        served += 1;
        if a.count.is_some_and(|c| served >= c) {
            return Ok(ExitCode::SUCCESS);
        }
    }
}

/// Now, in seconds since the epoch: a sensor logs when a client came (the
/// wall clock; there is no packet time here).
fn wall_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn log_line(ts: f64, peer: Option<SocketAddr>, port: u16, bytes: &[u8], v: &FirstVerdict) -> Value {
    let mut j = json!({
        "ts": (ts * 1e6).round() / 1e6,
        "src_ip": peer.map(|p| p.ip().to_string()),
        "src_port": peer.map(|p| p.port()),
        "dst_port": port,
        "bytes": bytes.len(),
        "first_bytes": hex(&bytes[..bytes.len().min(64)]),
    });
    if let (Value::Object(m), Value::Object(v)) = (&mut j, verdict_json(v)) {
        m.extend(v);
    }
    j
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_input() {
        assert_eq!(parse_hex("16 03:01\n00").ok(), Some(vec![0x16, 3, 1, 0]));
        assert!(parse_hex("abc").is_err());
        assert!(parse_hex("zz").is_err());
    }
}
