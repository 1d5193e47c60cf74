//! Shared by the binding tests: the first-payload fixtures and the
//! answers the Rust library gives for them.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use netsift_proto::{Direction, Transport};
use netsift_protocols::{identify_first_payload, FirstVerdict};

pub struct Row {
    pub name: String,
    pub transport: String,
    pub direction: String,
    pub port: u16,
    pub payload: Vec<u8>,
    pub want: String,
}

pub fn fixtures_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/first_payloads.tsv")
}

fn unhex(h: &str) -> Vec<u8> {
    (0..h.len() / 2)
        .filter_map(|i| u8::from_str_radix(h.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

pub fn fixtures() -> Vec<Row> {
    let text = std::fs::read_to_string(fixtures_path()).expect("fixtures");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 6, "{l}");
            Row {
                name: f[0].into(),
                transport: f[1].into(),
                direction: f[2].into(),
                port: f[3].parse().expect("port"),
                payload: unhex(f[4]),
                want: f[5].into(),
            }
        })
        .collect()
}

/// (protocol, app) the Rust library answers for a row.
pub fn rust_answer(r: &Row) -> (String, Option<String>) {
    let t = if r.transport == "udp" {
        Transport::Udp
    } else {
        Transport::Tcp
    };
    let d = if r.direction == "to_client" {
        Direction::ToClient
    } else {
        Direction::ToServer
    };
    match identify_first_payload(t, d, r.port, &r.payload) {
        FirstVerdict::Match { protocol, app, .. } => (protocol.to_string(), app),
        _ => ("Unknown".to_string(), None),
    }
}

/// A library cargo built for these tests (`libnetsift.a`, `libnetsift.so`):
/// beside the test binary in target/<profile>/deps, or uplifted one above.
pub fn built_lib(file: &str) -> Option<PathBuf> {
    let dir = profile_dir();
    [dir.join("deps").join(file), dir.join(file)]
        .into_iter()
        .find(|p| p.exists())
}

/// The directory of the test binary's profile (target/debug).
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/<test>
    exe.parent()
        .and_then(Path::parent)
        .expect("profile dir")
        .to_path_buf()
}

pub fn have(prog: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {prog}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

pub fn corpus() -> PathBuf {
    netsift_testkit::ndpi_dir().join("pcap")
}

/// Run a program and return its standard output; fail with its standard
/// error when it exits badly.
pub fn run_ok(exe: &Path, args: &[&std::ffi::OsStr]) -> String {
    let out = std::process::Command::new(exe)
        .args(args)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
