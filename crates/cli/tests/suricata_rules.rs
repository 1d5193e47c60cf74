//! `--suricata-rules` through `netsift analyze` on the repository's sample
//! capture (curl and a Python client against a local HTTP server, dig
//! over UDP and TCP, pings; see samples/): every inspection point raises
//! the alert Suricata would, with the rule's identity in alerts.jsonl and
//! Suricata's alert object in EVE; variables come from `--var` and the
//! rules file; bad rules are named with file, line and column.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sample() -> PathBuf {
    root().join("samples/loopback.pcap")
}

/// A test's scratch directory, removed when the test ends.
struct Tmp(PathBuf);

impl std::ops::Deref for Tmp {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tmp(name: &str) -> Tmp {
    let d = std::env::temp_dir().join(format!("netsift-srules-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("tmp dir");
    Tmp(d)
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netsift"))
        .args(args)
        .output()
        .expect("run netsift")
}

/// `analyze` with these rules; the alerts of alerts.jsonl and stderr.
fn analyze(dir: &Path, rules: &str, extra: &[&str]) -> (Output, Vec<serde_json::Value>) {
    let file = dir.join("test.rules");
    std::fs::write(&file, rules).expect("write rules");
    let out = dir.join("out");
    let mut args: Vec<&std::ffi::OsStr> = vec!["analyze".as_ref(), "-o".as_ref(), out.as_os_str()];
    args.extend(["--suricata-rules".as_ref(), file.as_os_str()]);
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    let cap = sample();
    args.push(cap.as_os_str());
    let o = run(&args);
    let alerts = std::fs::read_to_string(out.join("alerts.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("alerts.jsonl is JSON"))
        .collect();
    (o, alerts)
}

fn sids(alerts: &[serde_json::Value]) -> Vec<u64> {
    let mut v: Vec<u64> = alerts.iter().filter_map(|a| a["sid"].as_u64()).collect();
    v.sort_unstable();
    v
}

const RULES: &str = r#"
# HTTP request buffers: curl's request for /index.html (one transaction).
alert http any any -> any any (msg:"index requested"; flow:established,to_server; http.method; content:"GET"; http.uri; content:"/index.html"; endswith; classtype:web-application-activity; sid:1001; rev:2;)
alert http any any -> any any (msg:"curl agent"; http.user_agent; content:"curl/"; startswith; sid:1002;)
# Response buffers: one 404 (the /missing request).
alert http any any -> any any (msg:"not found"; flow:to_client; http.stat_code; content:"404"; sid:1003;)
# The response body of /index.html, as file.data.
alert http any any -> any any (msg:"body"; file.data; content:"<html"; nocase; sid:1004;)
# The raw TCP stream: the request line, on the stream (once per connection).
alert tcp any any -> any 18080 (msg:"stream GET"; flow:to_server; content:"GET /"; depth:5; sid:1005;)
# ICMP echo requests of the pings.
alert icmp any any -> any any (msg:"ping"; itype:8; sid:1006;)
# Never: no such URI.
alert http any any -> any any (msg:"never"; http.uri; content:"/nope"; sid:1007;)
"#;

#[test]
fn rules_fire_at_every_inspection_point_with_their_identity() {
    let d = tmp("points");
    let (o, alerts) = analyze(&d, RULES, &["-q"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s = sids(&alerts);
    assert_eq!(s.iter().filter(|&&x| x == 1001).count(), 1, "{s:?}");
    assert_eq!(s.iter().filter(|&&x| x == 1002).count(), 1, "{s:?}");
    assert_eq!(s.iter().filter(|&&x| x == 1003).count(), 1, "{s:?}");
    assert_eq!(s.iter().filter(|&&x| x == 1004).count(), 2, "{s:?}");
    assert_eq!(s.iter().filter(|&&x| x == 1005).count(), 2, "{s:?}");
    let pings = s.iter().filter(|&&x| x == 1006).count();
    assert!(pings >= 1, "{s:?}");
    assert!(!s.contains(&1007), "{s:?}");
    let a = alerts.iter().find(|a| a["sid"] == 1001).expect("sid 1001");
    assert_eq!(a["type"], "rule");
    assert_eq!(a["msg"], "index requested");
    assert_eq!(a["rev"], 2);
    assert_eq!(a["gid"], 1);
    assert_eq!(a["classtype"], "web-application-activity");
    // classification.config: web-application-activity has priority 2.
    assert_eq!(a["priority"], 2);
    assert_eq!(a["buffer"], "http.uri");
    assert_eq!(a["tx_id"], 0);
    assert_eq!(a["dst_port"], 18080);
    assert!(a["uid"].as_str().is_some_and(|u| u.starts_with('C')));
    let a = alerts.iter().find(|a| a["sid"] == 1003).expect("sid 1003");
    // A to_client alert goes from the server to the client.
    assert_eq!(a["src_port"], 18080);
    let a = alerts.iter().find(|a| a["sid"] == 1005).expect("sid 1005");
    assert_eq!(a["buffer"], "stream");
}

#[test]
fn eve_alerts_are_suricatas() {
    let d = tmp("eve");
    let file = d.join("test.rules");
    std::fs::write(&file, RULES).expect("write");
    let eve = d.join("eve.json");
    let cap = sample();
    let o = run(&[
        "analyze".as_ref(),
        "-q".as_ref(),
        "--format".as_ref(),
        "eve".as_ref(),
        "-o".as_ref(),
        eve.as_os_str(),
        "--suricata-rules".as_ref(),
        file.as_os_str(),
        cap.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&eve).expect("eve.json");
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let a = events
        .iter()
        .find(|e| e["event_type"] == "alert" && e["alert"]["signature_id"] == 1001)
        .expect("alert 1001");
    assert_eq!(a["alert"]["signature"], "index requested");
    assert_eq!(a["alert"]["rev"], 2);
    assert_eq!(a["alert"]["gid"], 1);
    assert_eq!(a["alert"]["action"], "allowed");
    assert_eq!(
        a["alert"]["category"],
        "access to a potentially vulnerable web application"
    );
    assert_eq!(a["alert"]["severity"], 2);
    assert_eq!(a["app_proto"], "http");
    assert_eq!(a["proto"], "TCP");
    assert_eq!(a["tx_id"], 0);
    assert_eq!(a["http"]["url"], "/index.html");
    assert!(a["pcap_cnt"].as_u64().is_some_and(|n| n > 0));
    // The alert is linked to its flow: same flow_id, and the flow event
    // says it alerted.
    let flow = events
        .iter()
        .find(|e| e["event_type"] == "flow" && e["flow_id"] == a["flow_id"])
        .expect("the alert's flow event");
    assert_eq!(flow["flow"]["alerted"], true);
}

#[test]
fn variables_come_from_var_and_the_rules_file() {
    let rule = "alert http $HOME_NET any -> $HOME_NET $HTTP_PORTS (msg:\"home\"; http.uri; content:\"/index\"; sid:7;)\n";
    // Suricata's defaults: 127.0.0.1 is not in HOME_NET, 18080 not in
    // HTTP_PORTS.
    let d = tmp("vars");
    let (_, a) = analyze(&d, rule, &["-q"]);
    assert!(sids(&a).is_empty(), "{a:?}");
    let (_, a) = analyze(
        &d,
        rule,
        &[
            "-q",
            "--var",
            "HOME_NET=[127.0.0.0/8]",
            "--var",
            "HTTP_PORTS=[80,18080]",
        ],
    );
    assert_eq!(sids(&a), vec![7]);
    // The same through the rules file: suricata_rules and [vars].
    std::fs::write(d.join("test.rules"), rule).expect("write");
    std::fs::write(
        d.join("rules.toml"),
        "suricata_rules = \"test.rules\"\n[vars]\nHOME_NET = \"127.0.0.1\"\nHTTP_PORTS = \"18080\"\n",
    )
    .expect("write");
    let out = d.join("out2");
    let o = run(&[
        "analyze".as_ref(),
        "-q".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
        "--rules".as_ref(),
        d.join("rules.toml").as_os_str(),
        sample().as_os_str(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(out.join("alerts.jsonl")).expect("alerts");
    assert_eq!(text.lines().count(), 1, "{text}");
}

#[test]
fn bad_rules_are_named_and_strict_stops() {
    let rules = "alert http any any -> any any (msg:\"ok\"; http.uri; content:\"/index\"; sid:1;)\n\
                 alert tcp any any -> any any (msg:\"unsupported\"; content:\"x\"; lua:script.lua; sid:2;)\n\
                 alert tcp any any -> any any (msg:\"broken\"; content:\"x; sid:3;)\n";
    let d = tmp("bad");
    let (o, a) = analyze(&d, rules, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert_eq!(sids(&a), vec![1], "the good rule still runs");
    let file = d.join("test.rules").display().to_string();
    assert!(
        err.lines()
            .any(|l| l.contains(&format!("{file}:2")) && l.contains("lua")),
        "skip names file, line and keyword: {err}"
    );
    assert!(
        err.lines().any(|l| l.contains(&format!("{file}:3:"))),
        "syntax error names file:line:col: {err}"
    );
    assert!(err.contains("1 loaded, 1 skipped"), "{err}");
    let (o, _) = analyze(&d, rules, &["--strict-rules"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("strict"));
}
