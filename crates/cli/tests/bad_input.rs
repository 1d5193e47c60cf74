//! Hostile and broken captures through the `netsift` binary: each gives a
//! clear message naming the file and a byte offset and a non-zero exit, or
//! (a capture cut short inside its last record) a warning and exit 0.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A test capture, removed (with its directory, once empty) when dropped.
struct TmpFile(PathBuf);

impl std::ops::Deref for TmpFile {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for TmpFile {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl Drop for TmpFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        if let Some(dir) = self.0.parent() {
            // Fails while another test's file is still there; the last one
            // out removes the directory.
            let _ = std::fs::remove_dir(dir);
        }
    }
}

fn tmp(name: &str, bytes: &[u8]) -> TmpFile {
    let dir = std::env::temp_dir().join(format!("netsift-bad-input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write");
    TmpFile(p)
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

/// A record with a broken length: by default the record is skipped,
/// reading goes on at the next plausible record and the damage is
/// reported with its offset; `--strict-capture` stops there with exit 1,
/// as tcpdump and tshark do.
#[test]
fn absurd_record_length_is_skipped_or_fails_with_strict_capture() {
    let mut b = sample();
    // First record header at 24: incl_len at 32..36.
    b[32..36].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    let p = tmp("absurd.pcap", &b);
    let (out, err) = run(&p);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("90 bytes skipped at offset 24 (absurd record length)"),
        "{err}"
    );
    assert!(err.contains("64 packets, 9 flows"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_netsift"))
        .args(["flows", "--strict-capture"])
        .arg(&p)
        .output()
        .expect("run netsift");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("absurd record length 2147483632 at offset 24"),
        "{err}"
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

/// `netsift flows --format jsonl -q -` with `bytes` on its standard input.
fn flows_from_stdin(bytes: &[u8]) -> Output {
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
        .write_all(bytes)
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

#[test]
fn stdin_is_read_with_dash() {
    let out = flows_from_stdin(&sample());
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

/// An unreadable capture gives its error alone: no empty table header
/// goes to stdout before it.
#[test]
fn an_unreadable_capture_prints_no_table_header() {
    let p = tmp("noise.pcap", &[0x42; 64]);
    let out = Command::new(env!("CARGO_BIN_EXE_netsift"))
        .arg("flows")
        .arg(&p)
        .output()
        .expect("run netsift");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stdout.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Compressed captures (made by the real gzip, zstd, xz and lz4 tools, see
/// crates/capture/testdata/compressed/make.sh) give the same flows and the
/// same analysis as the original, from a file and from stdin.
#[test]
fn compressed_captures_give_the_same_output() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../capture/testdata/compressed");
    let original = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/loopback.pcap");
    let flows = |p: &Path| {
        let (out, err) = run(p);
        assert!(out.status.success(), "{p:?}: {err}");
        out.stdout
    };
    let analyze = |p: &Path, tag: &str| {
        let o = std::env::temp_dir().join(format!("netsift-z-{}-{tag}", std::process::id()));
        let out = Command::new(env!("CARGO_BIN_EXE_netsift"))
            .args(["analyze", "-q", "-o"])
            .arg(&o)
            .arg(p)
            .output()
            .expect("run netsift");
        assert!(
            out.status.success(),
            "{p:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut files: Vec<(String, String)> = std::fs::read_dir(&o)
            .expect("output dir")
            .filter_map(Result::ok)
            .map(|e| {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                (e.file_name().to_string_lossy().into_owned(), text)
            })
            .collect();
        files.sort();
        let _ = std::fs::remove_dir_all(&o);
        files
    };
    let want = flows(&original);
    assert_eq!(String::from_utf8_lossy(&want).lines().count(), 9);
    let want_analysis = analyze(&original, "orig");
    let logs: Vec<&str> = want_analysis.iter().map(|(n, _)| n.as_str()).collect();
    for log in ["conn.jsonl", "dns.jsonl", "http.jsonl", "tls.jsonl"] {
        assert!(logs.contains(&log), "{log} missing: {logs:?}");
    }
    for f in [
        "loopback.pcap.gz",
        "loopback-2members.pcap.gz",
        "loopback.pcap.zst",
        "loopback-3frames.pcap.zst",
        "loopback.pcapng.xz",
        "loopback.pcapng.lz4",
    ] {
        let p = dir.join(f);
        assert_eq!(flows(&p), want, "{f}");
        assert_eq!(analyze(&p, f), want_analysis, "{f}");
        let out = flows_from_stdin(&std::fs::read(&p).expect("testdata"));
        assert!(out.status.success(), "{f} on stdin");
        assert_eq!(out.stdout, want, "{f} on stdin");
    }
}

/// The skipped range of a damaged capture is also a flowless `weird`
/// record (`capture_damaged`, offset and length, the time of the record
/// before it), in the JSONL output and in Zeek's weird.log (uid and
/// addresses unset, as Zeek writes its flowless weirds).
#[test]
fn damaged_range_is_a_flowless_weird_record() {
    let mut b = sample();
    // Walk to the 5th record and break its length.
    let mut off = 24;
    let mut prev_ts = 0u64;
    for _ in 0..4 {
        let sec = u32::from_le_bytes(b[off..off + 4].try_into().expect("4"));
        let usec = u32::from_le_bytes(b[off + 4..off + 8].try_into().expect("4"));
        prev_ts = u64::from(sec) * 1_000_000 + u64::from(usec);
        let incl = u32::from_le_bytes(b[off + 8..off + 12].try_into().expect("4"));
        off += 16 + incl as usize;
    }
    b[off + 8..off + 12].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    let p = tmp("damaged-weird.pcap", &b);
    let dir = std::env::temp_dir().join(format!("netsift-weird-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let st = Command::new(env!("CARGO_BIN_EXE_netsift"))
        .args(["analyze", "-q", "-o"])
        .arg(dir.join("jsonl"))
        .arg(&p)
        .status()
        .expect("run analyze");
    assert!(st.success());
    let text = std::fs::read_to_string(dir.join("jsonl/weird.jsonl")).expect("weird.jsonl");
    let w: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .filter(|v: &serde_json::Value| v["name"] == "capture_damaged")
        .collect();
    assert_eq!(w.len(), 1, "{text}");
    assert_eq!(w[0]["offset"], off as u64);
    assert!(w[0]["len"].as_u64().is_some_and(|l| l > 0));
    assert_eq!(w[0]["reason"], "absurd record length");
    assert!(w[0].get("uid").is_none());
    let ts = w[0]["ts"].as_f64().expect("ts");
    assert_eq!(
        (ts * 1e6).round() as u64,
        prev_ts,
        "the record before's time"
    );
    let st = Command::new(env!("CARGO_BIN_EXE_netsift"))
        .args(["analyze", "-q", "--format", "zeek", "-o"])
        .arg(dir.join("zeek"))
        .arg(&p)
        .status()
        .expect("run analyze");
    assert!(st.success());
    let log = std::fs::read_to_string(dir.join("zeek/weird.log")).expect("weird.log");
    let row = log
        .lines()
        .find(|l| l.contains("capture_damaged"))
        .unwrap_or_else(|| panic!("no capture_damaged row: {log}"));
    let cols: Vec<&str> = row.split('\t').collect();
    // ts, uid, id.orig_h, id.orig_p, id.resp_h, id.resp_p, name, addl, ...
    assert_eq!(&cols[1..6], ["-", "-", "-", "-", "-"], "{row}");
    assert!(cols[7].contains(&format!("offset={off}")), "{row}");
    let _ = std::fs::remove_dir_all(&dir);
}
