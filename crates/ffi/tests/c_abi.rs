//! The C ABI from C: a program compiled with gcc against include/netsift.h
//! and libnetsift.a gives the Rust library's verdicts and flow records.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{built_lib, corpus, fixtures, fixtures_path, have, run_ok, rust_answer};
use netsift_capture::CaptureReader;
use netsift_engine::Engine;
use netsift_wire::LinkType;

fn build_c_program(tag: &str) -> Option<PathBuf> {
    if !have("gcc") {
        eprintln!("SKIP: gcc missing");
        return None;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = built_lib("libnetsift.a").expect("cargo builds libnetsift.a for the tests");
    let exe = std::env::temp_dir().join(format!("netsift_c_test_{tag}_{}", std::process::id()));
    let st = Command::new("gcc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-O1", "-I"])
        .arg(dir.join("include"))
        .arg(dir.join("tests/c/netsift_test.c"))
        .arg(&lib)
        .args(["-lpthread", "-ldl", "-lm", "-lrt", "-lgcc_s", "-o"])
        .arg(&exe)
        .status()
        .expect("run gcc");
    assert!(st.success(), "gcc failed");
    Some(exe)
}

#[test]
fn c_program_gets_the_same_verdicts() {
    let Some(exe) = build_c_program("verdicts") else {
        return;
    };
    let fx = fixtures_path();
    let text = run_ok(&exe, &["identify".as_ref(), fx.as_os_str()]);
    let lines: Vec<&str> = text.lines().collect();
    let rows = fixtures();
    assert_eq!(lines.len(), rows.len(), "{text}");
    for (row, line) in rows.iter().zip(&lines) {
        let f: Vec<&str> = line.split('\t').collect();
        let (proto, app) = rust_answer(row);
        assert_eq!(f[0], row.name);
        assert_eq!(f[2], row.want, "{}: {line}", row.name);
        assert_eq!(f[2], proto, "{}: C and Rust differ", row.name);
        assert_eq!(f[3], app.as_deref().unwrap_or("-"), "{}", row.name);
        let want_result = if proto == "Unknown" {
            ["0", "2"]
        } else {
            ["1", "1"]
        };
        assert!(want_result.contains(&f[1]), "{line}");
    }
    let out = Command::new(&exe).arg("errors").output().expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains(&format!("version {}, 0 bad", env!("CARGO_PKG_VERSION"))));
    let _ = std::fs::remove_file(exe);
}

/// What the Rust engine gives for a capture, in the order flows end.
fn rust_records(path: &Path) -> Vec<String> {
    let mut r = CaptureReader::open(path).expect("open");
    let mut e = Engine::builder().build().expect("engine");
    let mut out = Vec::new();
    while let Ok(Some(f)) = r.next_frame() {
        e.process(f.ts_ns, LinkType(f.linktype), f.data, f.orig_len);
        for fl in e.drain_ended() {
            out.push(serde_json::to_string(&Engine::record(&fl)).expect("json"));
        }
    }
    e.end_all();
    for fl in e.drain_ended() {
        out.push(serde_json::to_string(&Engine::record(&fl)).expect("json"));
    }
    out
}

#[test]
fn c_program_gets_the_same_flows() {
    let Some(exe) = build_c_program("flows") else {
        return;
    };
    let mut checked = 0;
    for name in [
        "ftp.pcap",
        "http_ipv6.pcap",
        "smb_frags.pcap",
        "1kxun.pcap",
        "dns_long_domainname.pcap",
    ] {
        let path = corpus().join(name);
        if !path.exists() {
            eprintln!("SKIP: {} missing", path.display());
            continue;
        }
        let out = Command::new(&exe)
            .arg("flows")
            .arg(&path)
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let c: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(String::from)
            .collect();
        let rust = rust_records(&path);
        assert!(!rust.is_empty(), "{name}");
        assert_eq!(c, rust, "{name}: C and Rust flow records differ");
        checked += c.len();
    }
    println!("{checked} flow records equal through C and Rust");
    let _ = std::fs::remove_file(exe);
}
