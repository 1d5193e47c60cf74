//! Hostile and broken captures through the `netsift` binary: each gives a
//! clear message naming the file and a byte offset and a non-zero exit, or
//! (a capture cut short inside its last record) a warning and exit 0.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tmp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netsift-bad-input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write");
    p
}

fn run(path: &Path) -> (Output, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_netsift"))
        .args(["flows", "--format", "jsonl"])
        .arg(path)
        .output()
        .expect("run netsift");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    (out, err)
}

fn sample() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/loopback.pcap"))
        .expect("sample capture")
}

fn fails_naming(name: &str, bytes: &[u8], needle: &str) {
    let p = tmp(name, bytes);
    let (out, err) = run(&p);
    assert_eq!(out.status.code(), Some(1), "{name}: {err}");
    assert!(
        err.contains(name),
        "{name}: message does not name the file: {err}"
    );
    assert!(
        err.contains(needle),
        "{name}: expected {needle:?} in: {err}"
    );
}

#[test]
fn empty_garbage_and_text_files_fail_with_offset() {
    fails_naming("empty.pcap", b"", "at offset 0");
    fails_naming(
        "garbage.pcap",
        &[0x13, 0x37, 0xde, 0xad, 0xbe, 0xef, 0, 1],
        "at offset 0",
    );
    fails_naming("notes.pcap", b"this is not a capture\n", "at offset 0");
    fails_naming("short.pcap", &sample()[..10], "offset");
}

#[test]
fn absurd_record_length_fails_with_offset() {
    let mut b = sample();
    // First record header at 24: incl_len at 32..36.
    b[32..36].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    fails_naming(
        "absurd.pcap",
        &b,
        "absurd record length 2147483632 at offset 24",
    );
}

#[test]
fn unknown_link_type_fails_with_offset() {
    let mut b = sample();
    b[20..24].copy_from_slice(&147u32.to_le_bytes()); // LINKTYPE_USER0
    fails_naming("user0.pcap", &b, "unsupported link type 147 at offset 20");
}

#[test]
fn capture_cut_inside_last_record_is_analysed_with_a_warning() {
    let b = sample();
    let p = tmp("cut.pcap", &b[..b.len() - 7]);
    let (out, err) = run(&p);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("capture truncated at offset"), "{err}");
    let flows = String::from_utf8_lossy(&out.stdout).lines().count();
    assert!(flows >= 8, "{flows} flows");
}

#[test]
fn stdin_is_read_with_dash() {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_netsift"))
        .args(["flows", "--format", "jsonl", "-q", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&sample())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 9);
}

#[test]
fn bad_usage_exits_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_netsift"))
        .args(["flows", "--format", "xml", "x.pcap"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}
