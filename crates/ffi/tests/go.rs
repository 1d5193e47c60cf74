//! The cgo example (examples/go): built against libnetsift.a with Debian's
//! golang-go, it gives the Rust library's verdicts for the fixture payloads
//! and, as a Glutton-style listener, names real connections. SKIPs when
//! `go` is missing (`.ci/run` installs golang-go).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{built_lib, fixtures, fixtures_path, have, run_ok, rust_answer};

fn build_go() -> Option<PathBuf> {
    if !have("go") {
        eprintln!("SKIP: go missing (Debian: golang-go)");
        return None;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/go");
    let lib = built_lib("libnetsift.a").expect("cargo builds libnetsift.a for the tests");
    let exe = std::env::temp_dir().join(format!("netsift_glutton_{}", std::process::id()));
    let out = Command::new("go")
        .args(["build", "-o"])
        .arg(&exe)
        .arg(".")
        .current_dir(&dir)
        .env("CGO_ENABLED", "1")
        .env("CGO_LDFLAGS", format!("{} -lgcc_s", lib.display()))
        .env("GOFLAGS", "-mod=mod")
        .output()
        .expect("run go build");
    assert!(
        out.status.success(),
        "go build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(exe)
}

#[test]
fn go_example_gets_the_same_verdicts_and_names_connections() {
    let Some(exe) = build_go() else {
        return;
    };
    let fx = fixtures_path();
    let text = run_ok(&exe, &["-fixtures".as_ref(), fx.as_os_str()]);
    let rows = fixtures();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), rows.len(), "{text}");
    for (row, line) in rows.iter().zip(lines) {
        let (proto, app) = rust_answer(row);
        let want = format!("{}\t{}\t{}", row.name, proto, app.as_deref().unwrap_or("-"));
        assert_eq!(line, want);
        assert_eq!(proto, row.want, "{}", row.name);
    }

    // The listener: two connections with real client payloads.
    let mut child = Command::new(&exe)
        .args(["-listen", "127.0.0.1:0", "-n", "2", "-wait", "2s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut banner = String::new();
    BufReader::new(child.stderr.take().expect("stderr"))
        .read_line(&mut banner)
        .expect("banner");
    let addr = banner
        .split("listening on ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .expect("address")
        .to_string();
    for name in ["tls", "redis"] {
        let row = rows.iter().find(|r| r.name == name).expect("row");
        let mut s = TcpStream::connect(&addr).expect("connect");
        s.write_all(&row.payload).expect("send");
        std::thread::sleep(Duration::from_millis(100));
        drop(s);
    }
    let out = child.wait_with_output().expect("wait");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut got: Vec<String> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json line");
            v["protocol"].as_str().unwrap_or("?").to_string()
        })
        .collect();
    got.sort();
    assert_eq!(got, ["RESP", "TLS"], "{text}");
    let _ = std::fs::remove_file(exe);
}
