//! `netsift analyze --format zeek` and `--format zeek-json`: Zeek's logs,
//! loaded back with a real Zeek-log reader (`parsezeeklogs` from PyPI, run
//! by `tests/zeek_check.py`), every value checked against the log's
//! `#types`; plus the checks that need no reader: the header block, one
//! cell per column, `#close`, and uids shared with conn.log.
//!
//! Captures: `samples/` and, when present, the whole nDPI corpus
//! (`../shared/corpus/ndpi/pcap`, or `$NETSIFT_CORPUS/pcap`).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn captures() -> (Vec<PathBuf>, bool) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut caps = vec![root.join("../../samples/loopback.pcap")];
    let mut found = false;
    if let Some(rd) = netsift_testkit::ndpi_pcaps().and_then(|d| std::fs::read_dir(d).ok()) {
        let mut v: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        v.sort();
        found = !v.is_empty();
        caps.extend(v);
    }
    (caps, found)
}

fn analyze(format: &str, out: &Path, caps: &[PathBuf], extra: &[&str]) {
    let _ = std::fs::remove_dir_all(out);
    let st = Command::new(env!("CARGO_BIN_EXE_netsift"))
        .args(["analyze", "-q", "--format", format, "-o"])
        .arg(out)
        .args(extra)
        .args(caps)
        .status()
        .expect("run analyze");
    assert!(st.success(), "analyze --format {format}");
}

/// Every `*.log` of a TSV dir: (path, fields, rows as cells).
type Log = (String, Vec<String>, Vec<Vec<String>>);

fn read_tsv(dir: &Path) -> BTreeMap<String, Log> {
    let mut logs = BTreeMap::new();
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(base) = name.strip_suffix(".log") else {
            continue;
        };
        let text = std::fs::read_to_string(e.path()).expect("utf-8 log");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "#separator \\x09", "{name}");
        assert_eq!(lines[1], "#set_separator\t,", "{name}");
        assert_eq!(lines[2], "#empty_field\t(empty)", "{name}");
        assert_eq!(lines[3], "#unset_field\t-", "{name}");
        assert_eq!(lines[4], format!("#path\t{base}"), "{name}");
        assert!(lines[5].starts_with("#open\t"), "{name}");
        let stamp = &lines[5][6..];
        assert_eq!(stamp.len(), 19, "{name}: {stamp}");
        assert!(
            stamp.chars().all(|c| c.is_ascii_digit() || c == '-'),
            "{name}: {stamp}"
        );
        let fields: Vec<String> = lines[6]
            .strip_prefix("#fields\t")
            .expect("#fields")
            .split('\t')
            .map(String::from)
            .collect();
        let types: Vec<&str> = lines[7]
            .strip_prefix("#types\t")
            .expect("#types")
            .split('\t')
            .collect();
        assert_eq!(fields.len(), types.len(), "{name}");
        assert!(
            lines.last().expect("lines").starts_with("#close\t"),
            "{name}"
        );
        let rows: Vec<Vec<String>> = lines[8..lines.len() - 1]
            .iter()
            .map(|l| {
                assert!(!l.starts_with('#'), "{name}: {l}");
                let cells: Vec<String> = l.split('\t').map(String::from).collect();
                assert_eq!(cells.len(), fields.len(), "{name}: {l}");
                cells
            })
            .collect();
        assert!(!rows.is_empty(), "{name} is empty");
        logs.insert(base.to_string(), (name, fields, rows));
    }
    logs
}

fn column<'a>(log: &'a Log, field: &str) -> impl Iterator<Item = &'a str> + 'a {
    let i = log.1.iter().position(|f| f == field).expect("field");
    log.2.iter().map(move |r| r[i].as_str())
}

#[test]
fn zeek_logs_load_with_a_zeek_reader() {
    let (caps, corpus) = captures();
    let tmp = std::env::temp_dir().join(format!("netsift-zeek-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("tmp");
    // A blacklisted domain of the sample, so that notice.log has rows.
    let bl = tmp.join("domains.txt");
    std::fs::write(&bl, "example.test\ngoogle.com\n").expect("blacklist");
    let bl_arg = bl.to_string_lossy().into_owned();
    let extra = ["--domain-blacklist", bl_arg.as_str()];
    let (tsv, json) = (tmp.join("tsv"), tmp.join("json"));
    analyze("zeek", &tsv, &caps, &extra);
    analyze("zeek-json", &json, &caps, &extra);

    let logs = read_tsv(&tsv);
    let names: BTreeSet<&str> = logs.keys().map(String::as_str).collect();
    let mut want = vec![
        "conn",
        "dns",
        "http",
        "ssl",
        "files",
        "notice",
        "software",
        "known_services",
    ];
    if corpus {
        want.extend([
            "x509",
            "ftp",
            "smtp",
            "ssh",
            "dhcp",
            "smb_mapping",
            "sip",
            "quic",
            "weird",
        ]);
    }
    for w in &want {
        assert!(names.contains(w), "no {w}.log; have {names:?}");
    }
    // The JSON twin has the same logs and rows.
    for (base, log) in &logs {
        let text = std::fs::read_to_string(json.join(format!("{base}.log"))).expect("json log");
        let mut n = 0;
        for l in text.lines() {
            let v: serde_json::Value = serde_json::from_str(l).expect("json line");
            assert!(v["ts"].is_f64() || v["ts"].is_u64(), "{base}: {l}");
            n += 1;
        }
        assert_eq!(n, log.2.len(), "{base}: rows in zeek-json");
    }
    // Uids are shared: every uid of a protocol log is a conn.log uid
    // (flowless weirds, such as a damaged capture's `capture_damaged`,
    // have none: `-`).
    let conn = &logs["conn"];
    let uids: HashSet<&str> = column(conn, "uid").collect();
    for (base, log) in &logs {
        if log.1.get(1).map(String::as_str) == Some("uid") && base != "conn" && base != "notice" {
            for u in column(log, "uid").filter(|u| *u != "-") {
                assert!(uids.contains(u), "{base}: uid {u} not in conn.log");
            }
        }
    }
    // service uses Zeek's analyzer names.
    let services: BTreeSet<&str> = column(conn, "service").collect();
    for s in ["http", "dns", "ssl"] {
        assert!(services.contains(s), "{services:?}");
    }
    assert!(!services.contains("TLS") && !services.contains("HTTP"));
    // ssl.log's fingerprints are x509.log's.
    let fps: HashSet<&str> = logs
        .get("x509")
        .map(|l| column(l, "fingerprint").collect())
        .unwrap_or_default();
    for chain in column(&logs["ssl"], "cert_chain_fps").filter(|c| *c != "-") {
        for fp in chain.split(',') {
            assert!(fps.contains(fp), "{fp} not in x509.log");
        }
    }

    // The reader.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/zeek_check.py");
    let out = match Command::new("python3")
        .arg(&script)
        .arg(&tsv)
        .arg(&json)
        .output()
    {
        Ok(o) => o,
        Err(_) => {
            eprintln!("SKIP: python3 not found (the Zeek-log reader check needs it)");
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    if out.status.code() == Some(3) {
        eprintln!("SKIP: {stdout} (pip install parsezeeklogs)");
        return;
    }
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{}", stdout.trim());
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn zeek_to_stdout() {
    let cap = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/loopback.pcap");
    let run = |format: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_netsift"))
            .args(["analyze", "-q", "--format", format, "-o", "-"])
            .arg(&cap)
            .output()
            .expect("run");
        assert!(out.status.success());
        String::from_utf8(out.stdout).expect("utf-8")
    };
    // TSV: whole blocks, one per log, each from #separator to #close.
    let tsv = run("zeek");
    let blocks = tsv.matches("#separator \\x09\n").count();
    assert_eq!(blocks, tsv.matches("\n#close\t").count());
    assert!(tsv.contains("#path\tconn\n") && tsv.contains("#path\thttp\n"));
    // JSON: one object per line with Zeek's `_path`.
    let json = run("zeek-json");
    let mut paths = BTreeSet::new();
    let mut icmp = Vec::new();
    for l in json.lines() {
        let v: serde_json::Value = serde_json::from_str(l).expect("json");
        if v["_path"] == "conn" && v["proto"] == "icmp" {
            // Zeek's ICMP "ports": type and code (echo request 8/0, ICMPv6 128/0).
            icmp.push((v["id.orig_p"].clone(), v["id.resp_p"].clone()));
        }
        paths.insert(v["_path"].as_str().expect("_path").to_string());
        assert!(
            v.get("id.orig_h").is_some()
                || v.get("host").is_some()
                || v["_path"] == "x509"
                || v["_path"] == "dhcp",
            "{l}"
        );
    }
    assert!(paths.contains("conn") && paths.contains("dns"), "{paths:?}");
    let j = |n: u64| serde_json::Value::from(n);
    assert_eq!(icmp, [(j(8), j(0)), (j(128), j(0))]);
    // Without -o there is nowhere to write.
    let st = Command::new(env!("CARGO_BIN_EXE_netsift"))
        .args(["analyze", "-q", "--format", "zeek"])
        .arg(&cap)
        .output()
        .expect("run");
    assert!(!st.status.success());
}

/// A connection upgraded with STARTTLS (crates/cli/tests/starttls, real
/// swaks and ldapsearch sessions) lists both analyzers in conn.log's
/// `service`, as Zeek does ("smtp,ssl"), and gets its ssl.log row with the
/// same uid; smtp.log's `tls` says the upgrade happened; the refused
/// STARTTLS stays plain "smtp".
#[test]
fn starttls_gives_smtp_ssl_service() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/starttls");
    let tmp = std::env::temp_dir().join(format!("netsift-zeek-starttls-{}", std::process::id()));
    let caps = [
        root.join("smtp_starttls.pcap"),
        root.join("dtls_openssl.pcap"),
    ];
    analyze("zeek", &tmp, &caps, &[]);
    let logs = read_tsv(&tmp);
    let conn = &logs["conn"];
    let mut services: Vec<&str> = column(conn, "service").collect();
    services.sort_unstable();
    assert_eq!(services, ["dtls", "dtls", "smtp", "smtp,ssl"]);
    let ssl = &logs["ssl"];
    let versions: Vec<&str> = column(ssl, "version").collect();
    assert!(versions.contains(&"TLSv13"), "{versions:?}");
    assert!(versions.contains(&"DTLSv12"), "{versions:?}");
    assert!(versions.contains(&"DTLSv10"), "{versions:?}");
    let tls: Vec<&str> = column(&logs["smtp"], "tls").collect();
    let mut tls = tls;
    tls.sort_unstable();
    assert_eq!(tls, ["F", "T"]);
    let _ = std::fs::remove_dir_all(&tmp);
}
