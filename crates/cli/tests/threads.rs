//! `--threads N` writes what one thread writes, line for line (flows,
//! uids, records, alerts, summary), on every capture of nDPI's corpus and
//! on the repository's detection captures; `--sorted` gives the same bytes
//! for any N (issue 16's determinism test).

use std::process::Command;

fn flows(extra: &[&str], captures: &[std::path::PathBuf]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_netsift"))
        .arg("flows")
        .args(extra)
        .args(captures)
        .output()
        .expect("run netsift");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sorted_lines(s: &str) -> Vec<&str> {
    let mut v: Vec<&str> = s.lines().collect();
    v.sort_unstable();
    v
}

#[test]
fn any_thread_count_gives_the_same_flows() {
    let Some(caps) = netsift_testkit::ndpi_pcap_files() else {
        return;
    };
    assert!(caps.len() > 100, "{} captures", caps.len());
    let (one, one_err) = flows(&["-f", "jsonl"], &caps);
    let lines = one.lines().count();
    assert!(lines > 4000, "{lines} flows");
    let mut sorted_outputs = Vec::new();
    for n in ["1", "2", "4"] {
        let (sorted, err) = flows(&["-f", "jsonl", "--sorted", "--threads", n], &caps);
        assert_eq!(err, one_err, "summaries with --threads {n}");
        assert_eq!(
            sorted_lines(&sorted),
            sorted_lines(&one),
            "--threads {n}: the same records and uids as one thread"
        );
        sorted_outputs.push(sorted);
    }
    assert!(
        sorted_outputs.windows(2).all(|w| w[0] == w[1]),
        "--sorted: the same bytes for any --threads"
    );
    // Without --sorted, the lines come in the one-thread order too.
    let (three, _) = flows(&["-f", "jsonl", "--threads", "3"], &caps);
    assert!(three == one, "--threads 3 writes what one thread writes");
    // --sorted is the order flows started: by their first packet's frame,
    // so within one capture the time stamps of the sorted lines follow the
    // capture's frame order (checked on a capture in time order).
    let cap = netsift_testkit::ndpi_pcap("chrome.pcap");
    let (s, _) = flows(&["-f", "jsonl", "--sorted", "--threads", "2"], &[cap]);
    let ts: Vec<f64> = s
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["ts"].as_f64())
        .collect();
    assert!(ts.len() > 3);
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "{ts:?}");
}

/// A capture file that can be read again is read by every worker
/// (`shard/scan.rs`); stdin and compressed captures go through the single
/// reader thread. Both give what one thread gives.
#[test]
fn stdin_and_compressed_captures_with_threads() {
    use std::io::Write;
    let cap = netsift_testkit::ndpi_pcap("ftp.pcap");
    let Ok(bytes) = std::fs::read(&cap) else {
        netsift_testkit::skip("ftp.pcap not found");
        return;
    };
    let (one, one_err) = flows(&["-f", "jsonl"], std::slice::from_ref(&cap));
    assert!(one.lines().count() >= 3, "{one}");
    let tmp =
        std::env::temp_dir().join(format!("netsift-threads-gz-{}.pcap.gz", std::process::id()));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&bytes).expect("gzip");
    std::fs::write(&tmp, gz.finish().expect("gzip")).expect("write");
    let (from_gz, gz_err) = flows(
        &["-f", "jsonl", "--threads", "2"],
        std::slice::from_ref(&tmp),
    );
    let _ = std::fs::remove_file(&tmp);
    assert_eq!(from_gz, one, "gzip, --threads 2");
    assert!(gz_err.contains("3 flows"), "{gz_err}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_netsift"))
        .args(["flows", "-f", "jsonl", "--threads", "2", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run netsift");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(&bytes).expect("stdin");
    }
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        one,
        "stdin, --threads 2"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let counts = |e: &str| {
        e.lines()
            .last()
            .and_then(|l| l.rsplit_once(": "))
            .map(|(_, c)| c.to_string())
    };
    assert_eq!(counts(&err), counts(&one_err), "the same summary counts");
}

/// A damaged capture (a record length overwritten in the middle, the last
/// record cut short): every worker reads the damage alike, so --threads 2
/// reports the same flows, the same resynchronisation and the same
/// truncation as one thread.
#[test]
fn damaged_capture_with_threads() {
    let cap = netsift_testkit::ndpi_pcap("ftp.pcap");
    let Ok(mut bytes) = std::fs::read(&cap) else {
        netsift_testkit::skip("ftp.pcap not found");
        return;
    };
    // Classic pcap: walk the records to the 50th and break its length.
    let mut at = 24usize;
    for _ in 0..50 {
        let len = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().expect("4 bytes"));
        at += 16 + len as usize;
    }
    bytes[at + 8..at + 12].copy_from_slice(&0x00ff_ffffu32.to_le_bytes());
    bytes.truncate(bytes.len() - 7);
    let tmp = std::env::temp_dir().join(format!("netsift-threads-bad-{}.pcap", std::process::id()));
    std::fs::write(&tmp, &bytes).expect("write");
    let (one, one_err) = flows(
        &["-f", "jsonl", "--threads", "1"],
        std::slice::from_ref(&tmp),
    );
    let (two, two_err) = flows(
        &["-f", "jsonl", "--threads", "2"],
        std::slice::from_ref(&tmp),
    );
    let _ = std::fs::remove_file(&tmp);
    assert!(one.lines().count() >= 2, "{one}");
    assert_eq!(two, one);
    assert_eq!(two_err, one_err);
    assert!(
        one_err.contains("resynchron") || one_err.contains("damage"),
        "{one_err}"
    );
}

/// The table format with --sorted and threads equals the one-thread table
/// once sorted on the uid column (the columns are sized alike).
#[test]
fn sorted_table_with_threads() {
    let Some(caps) = netsift_testkit::ndpi_pcap_files() else {
        return;
    };
    let caps: Vec<_> = caps.into_iter().take(40).collect();
    let (one, _) = flows(&["--sorted"], &caps);
    let (four, _) = flows(&["--sorted", "--threads", "4"], &caps);
    assert_eq!(one, four);
    assert!(one.starts_with("ts "), "{}", &one[..one.len().min(200)]);
    assert!(one.lines().count() > 40);
}

/// `analyze --threads N` writes the same logs, alerts and summary as one
/// thread, byte for byte: on nDPI's corpus (every log), and on the
/// repository's brute-force, flood and scan captures with Suricata rules
/// in EVE (the detectors that span flows see the single-thread order).
#[test]
fn analyze_output_is_the_same_for_any_thread_count() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = std::env::temp_dir().join(format!("netsift-threads-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).expect("tmp");
    let rules = tmp.join("t.rules");
    std::fs::write(
        &rules,
        concat!(
            "alert tcp any any -> any any (msg:\"syn\"; flags:S; sid:1;)\n",
            "alert http any any -> any any (msg:\"get\"; flow:established,to_server; http.method; content:\"GET\"; sid:2;)\n",
            "alert dns any any -> any any (msg:\"dns\"; dns.query; content:\".\"; sid:3;)\n",
            "alert tcp any any -> any any (msg:\"user\"; flow:to_server; content:\"USER \"; sid:4;)\n",
        ),
    )
    .expect("rules");
    let mut detect_caps = Vec::new();
    for dir in ["tests/brute", "tests/dos", "../detect/tests/data"] {
        for e in std::fs::read_dir(root.join(dir)).expect("dir").flatten() {
            if e.path().extension().is_some_and(|x| x == "pcap") {
                detect_caps.push(e.path());
            }
        }
    }
    detect_caps.sort();
    let mut runs: Vec<(Vec<&str>, Vec<std::path::PathBuf>)> = vec![(
        vec![
            "--format",
            "eve",
            "--suricata-rules",
            rules.to_str().expect("utf-8"),
        ],
        detect_caps,
    )];
    if let Some(caps) = netsift_testkit::ndpi_pcap_files() {
        runs.push((vec![], caps));
    }
    for (k, (extra, caps)) in runs.iter().enumerate() {
        let mut seen = Vec::new();
        for n in ["1", "2", "4"] {
            let out = tmp.join(format!("{k}-{n}"));
            let o = Command::new(env!("CARGO_BIN_EXE_netsift"))
                .args(["analyze", "--threads", n, "-o"])
                .arg(&out)
                .args(extra)
                .args(caps)
                .output()
                .expect("run netsift");
            // The memory estimate is the only line that may differ: each
            // worker's peak is added up.
            let err: String = String::from_utf8_lossy(&o.stderr)
                .lines()
                .filter(|l| !l.trim_start().starts_with("memory"))
                .map(|l| format!("{l}\n"))
                .collect();
            let mut files: Vec<(String, Vec<u8>)> = Vec::new();
            if out.is_dir() {
                for e in std::fs::read_dir(&out).expect("out").flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    files.push((name, std::fs::read(e.path()).expect("read")));
                }
            } else {
                files.push(("eve".into(), std::fs::read(&out).expect("read eve")));
            }
            files.sort();
            assert!(
                files.iter().map(|(_, b)| b.len()).sum::<usize>() > 10_000,
                "{k}: little output"
            );
            seen.push((n, err, files));
        }
        let (_, err1, files1) = &seen[0];
        assert!(err1.contains(" packets, "), "{err1}");
        for (n, err, files) in &seen[1..] {
            assert_eq!(err, err1, "run {k}: summary with --threads {n}");
            assert_eq!(
                files.len(),
                files1.len(),
                "run {k}: logs with --threads {n}"
            );
            for ((name, a), (_, b)) in files.iter().zip(files1) {
                assert!(a == b, "run {k}: {name} differs with --threads {n}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

/// The memory estimate of `analyze --threads 2` is the same in every run:
/// each worker counts its own streams, parser and DPI states (they were
/// process-wide counters, sampled by the merging thread whenever chunks
/// happened to arrive: the figures changed from run to run and missed
/// most of them), and its peaks are kept as they change.
#[test]
fn analyze_memory_estimate_is_the_same_in_every_run() {
    let Some(caps) = netsift_testkit::ndpi_pcap_files() else {
        return;
    };
    let caps: Vec<_> = caps.into_iter().take(60).collect();
    let tmp = std::env::temp_dir().join(format!("netsift-threads-mem-{}", std::process::id()));
    let memory = |n: &str, k: usize| {
        let out = tmp.join(format!("{n}-{k}"));
        let o = Command::new(env!("CARGO_BIN_EXE_netsift"))
            .args(["analyze", "--threads", n, "-o"])
            .arg(&out)
            .args(&caps)
            .output()
            .expect("run netsift");
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        err.lines()
            .find(|l| l.trim_start().starts_with("memory"))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no memory line: {err}"))
    };
    let one = memory("1", 0);
    let runs: Vec<String> = (0..3).map(|k| memory("2", k)).collect();
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(runs.iter().all(|r| *r == runs[0]), "{runs:#?}");
    // Both count the streams and parser states: neither reads 0.0 MiB.
    for line in [&one, &runs[0]] {
        for part in ["reassembly", "parsers"] {
            assert!(!line.contains(&format!("{part} 0.0 MiB")), "{part}: {line}");
        }
    }
}
