//! `netsift extract` writes exactly the packets of one flow: re-reading its
//! output gives that one flow, with the same endpoints and the same packet
//! and byte counts as `netsift flows` reported (fragments included).

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_netsift")
}

fn flows(path: &Path) -> Vec<serde_json::Value> {
    let out = Command::new(bin())
        .args(["flows", "--format", "jsonl", "-q"])
        .arg(path)
        .output()
        .expect("run flows");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect()
}

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

#[test]
fn extracted_flows_reread_to_the_same_flow() {
    let tmp = std::env::temp_dir().join(format!("netsift-extract-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("tmp");
    let mut checked = 0;
    for cap in [
        "dns_fragmented.pcap",
        "gre.pcapng",
        "ftp.pcap",
        "capwap.pcap",
        "ipv6_in_gtp.pcap",
    ] {
        let src = golden(cap);
        for f in flows(&src) {
            let uid = f["uid"].as_str().expect("uid");
            let out = tmp.join(format!("{uid}.pcap"));
            let st = Command::new(bin())
                .args(["extract", "-q", "--uid", uid, "-o"])
                .arg(&out)
                .arg(&src)
                .status()
                .expect("run extract");
            assert!(st.success(), "{cap} {uid}");
            let again = flows(&out);
            assert_eq!(again.len(), 1, "{cap} {uid}: {again:?}");
            let g = &again[0];
            for k in [
                "l4",
                "src_ip",
                "src_port",
                "dst_ip",
                "dst_port",
                "orig_pkts",
                "resp_pkts",
                "orig_bytes",
                "resp_bytes",
                "conn_state",
                "history",
                "community_id",
            ] {
                assert_eq!(g[k], f[k], "{cap} {uid}: {k}");
            }
            checked += 1;
        }
    }
    assert!(checked > 30, "{checked} flows checked");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn unknown_uid_fails() {
    let st = Command::new(bin())
        .args(["extract", "-q", "--uid", "Cnope", "-o", "/dev/null"])
        .arg(golden("ftp.pcap"))
        .output()
        .expect("run");
    assert_eq!(st.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&st.stderr).contains("no flow with uid Cnope"));
}
