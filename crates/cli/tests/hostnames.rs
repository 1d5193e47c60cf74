//! Issue 5 acceptance: for the corpus flows nDPI lists with a hostname
//! (SNI or Host) whose protocol is TLS, QUIC or HTTP, the name netsift's
//! records give (`tls.server_name`, `quic.server_name`, `http.host`) equals
//! nDPI's for at least 97% of them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::Command;

use netsift_engine::accuracy::parse_ndpi_ip;

type Key = (String, (String, u16), (String, u16));

fn key(l4: &str, a: (String, u16), b: (String, u16)) -> Key {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    (l4.to_string(), lo, hi)
}

fn ip(s: &str) -> String {
    parse_ndpi_ip(s).map_or_else(|| s.to_string(), |a| a.to_string())
}

#[test]
fn record_hostnames_agree_with_ndpi() {
    let Some(dir) = netsift_testkit::ndpi_corpus() else {
        return;
    };
    let truth = std::fs::read_to_string(dir.join("truth.tsv")).expect("reading truth.tsv");
    let mut lines = truth.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).expect(n);
    let (cp, cl4, csi, csp, cdi, cdp, cm, ca, ch) = (
        col("pcap"),
        col("l4"),
        col("src_ip"),
        col("src_port"),
        col("dst_ip"),
        col("dst_port"),
        col("master_proto"),
        col("app_proto"),
        col("hostname"),
    );
    let mut want: BTreeMap<String, Vec<(Key, String)>> = BTreeMap::new();
    for l in lines {
        let f: Vec<&str> = l.split('\t').collect();
        if f.len() < header.len() || f[ch].is_empty() {
            continue;
        }
        let web = ["TLS", "QUIC", "HTTP"];
        if !web.contains(&f[cm]) && !web.contains(&f[ca]) {
            continue;
        }
        let port = |i: usize| f[i].parse::<u16>().unwrap_or(0);
        want.entry(f[cp].to_string()).or_default().push((
            key(f[cl4], (ip(f[csi]), port(csp)), (ip(f[cdi]), port(cdp))),
            f[ch].to_ascii_lowercase(),
        ));
    }
    let out = std::env::temp_dir().join(format!("netsift-hostnames-{}", std::process::id()));
    let (mut total, mut agree) = (0usize, 0usize);
    let mut misses = Vec::new();
    for (pcap, rows) in &want {
        let _ = std::fs::remove_dir_all(&out);
        let st = Command::new(env!("CARGO_BIN_EXE_netsift"))
            .args(["analyze", "-q", "-o"])
            .arg(&out)
            .arg(dir.join("pcap").join(pcap))
            .status()
            .expect("run analyze");
        assert!(st.success(), "{pcap}");
        let read = |log: &str| -> Vec<serde_json::Value> {
            std::fs::read_to_string(out.join(format!("{log}.jsonl")))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()
        };
        let mut by_uid: HashMap<String, Key> = HashMap::new();
        for c in read("conn") {
            let s = |k: &str| c[k].as_str().unwrap_or("").to_string();
            let p = |k: &str| c[k].as_u64().unwrap_or(0) as u16;
            by_uid.insert(
                s("uid"),
                key(
                    &s("l4"),
                    (s("src_ip"), p("src_port")),
                    (s("dst_ip"), p("dst_port")),
                ),
            );
        }
        let mut names: HashMap<Key, HashSet<String>> = HashMap::new();
        for (log, field) in [
            ("tls", "server_name"),
            ("quic", "server_name"),
            ("http", "host"),
        ] {
            for r in read(log) {
                let (Some(uid), Some(name)) = (r["uid"].as_str(), r[field].as_str()) else {
                    continue;
                };
                if let Some(k) = by_uid.get(uid) {
                    let n = name.to_ascii_lowercase();
                    let n = if log == "http" {
                        n.split(':').next().unwrap_or("").to_string()
                    } else {
                        n
                    };
                    names.entry(k.clone()).or_default().insert(n);
                }
            }
        }
        for (k, host) in rows {
            total += 1;
            let host_only = host.split(':').next().unwrap_or("");
            if names
                .get(k)
                .is_some_and(|s| s.contains(host) || s.contains(host_only))
            {
                agree += 1;
            } else {
                misses.push(format!("{pcap} {k:?}: nDPI {host}"));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&out);
    let pct = 100.0 * agree as f64 / total.max(1) as f64;
    println!("hostnames agree for {agree}/{total} flows ({pct:.2}%)");
    for m in misses.iter().take(20) {
        println!("  {m}");
    }
    assert!(total > 1000, "{total} flows counted");
    assert!(pct >= 97.0, "{pct:.2}% < 97%");
}
