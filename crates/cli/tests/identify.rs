//! `netsift identify`: one payload from the command line, and the
//! `--listen` honeypot sensor driven by real clients on loopback (each
//! client SKIPs when its program is missing; `.ci/run` installs them).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn netsift() -> Command {
    Command::new(env!("CARGO_BIN_EXE_netsift"))
}

fn have(prog: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {prog}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn one_payload() {
    let out = netsift()
        .args([
            "identify",
            "-f",
            "json",
            "--hex",
            "5353482d322e302d4f70656e5353485f392e320d0a",
        ])
        .output()
        .expect("run");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["protocol"], "SSH");
    assert_eq!(v["confidence"], "dpi");
    // A server's banner, with the direction said.
    let mut c = netsift()
        .args(["identify", "--direction", "to_client", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run");
    {
        use std::io::Write;
        let mut i = c.stdin.take().expect("stdin");
        i.write_all(b"220 mail.example.org ESMTP Postfix\r\n")
            .expect("write");
    }
    let o = c.wait_with_output().expect("wait");
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("SMTP  "));
    // Bad hex is a clear error.
    let bad = netsift()
        .args(["identify", "--hex", "zz"])
        .output()
        .expect("run");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("hex"));
}

struct Sensor {
    child: Child,
    host: String,
    port: u16,
    log: PathBuf,
}

impl Sensor {
    fn start(addr: &str, name: &str, wait: &str) -> Option<Sensor> {
        let log = std::env::temp_dir().join(format!(
            "netsift-identify-{name}-{}.jsonl",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&log);
        let mut child = netsift()
            .args(["identify", "--listen", addr, "--wait", wait, "-o"])
            .arg(&log)
            .stderr(Stdio::piped())
            .spawn()
            .ok()?;
        let mut line = String::new();
        BufReader::new(child.stderr.take()?)
            .read_line(&mut line)
            .ok()?;
        // "netsift identify: listening on 127.0.0.1:PORT (TCP), ..."
        let bound = line.split("listening on ").nth(1)?.split(' ').next()?;
        let (host, port) = bound.rsplit_once(':')?;
        let host = host.to_string();
        match port.parse().ok() {
            Some(port) => Some(Sensor {
                child,
                host,
                port,
                log,
            }),
            None => {
                let _ = child.kill();
                None
            }
        }
    }

    /// Stop, and the logged lines.
    fn stop(mut self) -> Vec<serde_json::Value> {
        std::thread::sleep(Duration::from_millis(300));
        let _ = self.child.kill();
        let _ = self.child.wait();
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let _ = std::fs::remove_file(&self.log);
        text.lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect()
    }
}

/// Each client connects, the sensor logs what its first bytes are.
/// (program, arguments with {host} and {port}, expected protocol, expected app)
const CLIENTS: &[(&str, &str, &str, Option<&str>)] = &[
    (
        "ssh",
        "-o StrictHostKeyChecking=no -o BatchMode=yes -o ConnectTimeout=3 -p {port} {host} true",
        "SSH",
        None,
    ),
    ("curl", "-s -m 3 http://{host}:{port}/", "HTTP", None),
    (
        "curl",
        "-s -m 3 --http2-prior-knowledge http://{host}:{port}/",
        "HTTP",
        Some("HTTP2"),
    ),
    (
        "openssl",
        "s_client -connect {host}:{port} -servername www.example.org",
        "TLS",
        None,
    ),
    (
        "psql",
        "-h {host} -p {port} -U postgres -c select",
        "PostgreSQL",
        None,
    ),
    (
        "dig",
        "+tcp +tries=1 +time=2 -p {port} @{host} example.com",
        "DNS",
        None,
    ),
    ("redis-cli", "-h {host} -p {port} ping", "RESP", None),
    (
        "mosquitto_pub",
        "-h {host} -p {port} -t t -m m",
        "MQTT",
        None,
    ),
    ("smbclient", "-L //{host} -p {port} -N", "SMB", None),
    (
        "ldapsearch",
        "-x -H ldap://{host}:{port} -b dc=example,dc=com",
        "LDAP",
        None,
    ),
    // The MySQL server speaks first: its client sends nothing before the
    // server's greeting, so the sensor sees no bytes (README: what a
    // honeypot should send first).
    (
        "mysql",
        "-h {host} -P {port} -u root --connect-timeout=3 -e select",
        "Unknown",
        None,
    ),
];

fn drive(sensor_addr: &str, name: &str) {
    let Some(sensor) = Sensor::start(sensor_addr, name, "2") else {
        eprintln!("SKIP: cannot listen on {sensor_addr}");
        return;
    };
    let mut ran = Vec::new();
    for (prog, args, want, app) in CLIENTS {
        if !have(prog) {
            eprintln!("SKIP: {prog} missing");
            continue;
        }
        let args = args
            .replace("{port}", &sensor.port.to_string())
            .replace("{host}", &sensor.host);
        let _ = Command::new("timeout")
            .arg("6")
            .arg(prog)
            .args(args.split(' '))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        // One connection at a time, so lines come in client order.
        std::thread::sleep(Duration::from_millis(2300));
        ran.push((prog, *want, *app));
    }
    let lines = sensor.stop();
    assert!(
        lines.len() >= ran.len(),
        "{name}: {} lines for {} clients: {lines:?}",
        lines.len(),
        ran.len()
    );
    // Clients may open more than one connection (smbclient retries on
    // another port); match each client to the next line it produced.
    let mut it = lines.iter();
    for (prog, want, app) in ran {
        let hit = it.by_ref().find(|l| {
            let p = l["protocol"].as_str().unwrap_or("");
            p.starts_with(want) && (app.is_none() || l["app"].as_str() == app)
        });
        assert!(hit.is_some(), "{name}: {prog} should be {want}: {lines:?}");
    }
}

#[test]
fn sensor_names_real_clients_on_an_odd_port() {
    drive("127.0.0.1:0", "odd");
}

/// The same clients against a standard port (HTTPS's), where a port guess
/// would say TLS for all of them: the verdicts still come from the bytes.
/// Bound on 127.0.0.2 so that a local web server does not get in the way.
#[test]
fn sensor_names_real_clients_on_a_standard_port() {
    drive("127.0.0.2:443", "standard");
}

/// nmap's service probes: every probe payload is logged with a verdict
/// (its GET request is HTTP, its TLS hello TLS), none crashes the sensor.
#[test]
fn sensor_logs_nmap_probes() {
    if !have("nmap") {
        eprintln!("SKIP: nmap missing");
        return;
    }
    // Longer than nmap's wait for a banner (its NULL probe), so it goes
    // on to send its probes, each on a new connection.
    let Some(sensor) = Sensor::start("127.0.0.1:0", "nmap", "8") else {
        return;
    };
    let _ = Command::new("timeout")
        .args([
            "120",
            "nmap",
            "-Pn",
            "-sV",
            "--version-intensity",
            "5",
            "-p",
        ])
        .arg(sensor.port.to_string())
        .arg("127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let lines = sensor.stop();
    let named = |p: &str| lines.iter().filter(|l| l["protocol"] == p).count();
    let mut by: std::collections::BTreeMap<String, usize> = Default::default();
    for l in &lines {
        *by.entry(l["protocol"].as_str().unwrap_or("?").to_string())
            .or_default() += 1;
    }
    println!(
        "nmap -sV probes: {} connections, verdicts {by:?}",
        lines.len()
    );
    assert!(lines.len() >= 3, "{lines:?}");
    assert!(named("HTTP") >= 1, "{lines:?}");
    assert!(lines
        .iter()
        .all(|l| l["protocol"].is_string() && l["bytes"].is_u64()));
}

/// `--transport udp`: one line per datagram, each named from its bytes:
/// a DNS query (dig's, with an EDNS OPT record) and a SIP OPTIONS request.
#[test]
fn sensor_names_udp_datagrams() {
    let log =
        std::env::temp_dir().join(format!("netsift-identify-udp-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let mut child = netsift()
        .args([
            "identify",
            "--listen",
            "127.0.0.1:0",
            "--transport",
            "udp",
            "--count",
            "2",
            "-o",
        ])
        .arg(&log)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stderr.take().expect("stderr"))
        .read_line(&mut line)
        .expect("banner");
    assert!(line.contains("(UDP)"), "{line}");
    let addr = line
        .split("listening on ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .expect("address")
        .to_string();
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let dns = [
        0x12, 0x34, 0x01, 0x20, 0, 1, 0, 0, 0, 0, 0, 1, 7, b'e', b'x', b'a', b'm', b'p', b'l',
        b'e', 3, b'c', b'o', b'm', 0, 0, 1, 0, 1, 0, 0, 0x29, 0x10, 0, 0, 0, 0, 0, 0, 0,
    ];
    sock.send_to(&dns, &addr).expect("send dns");
    let sip = b"OPTIONS sip:100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n\
From: <sip:scanner@127.0.0.1>;tag=1\r\nTo: <sip:100@127.0.0.1>\r\nCall-ID: 1@127.0.0.1\r\n\
CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    sock.send_to(sip, &addr).expect("send sip");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    let got: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| {
            format!(
                "{} {}",
                v["transport"].as_str().unwrap_or("?"),
                v["protocol"].as_str().unwrap_or("?")
            )
        })
        .collect();
    assert_eq!(got, ["udp DNS", "udp SIP"], "{text}");
}
