//! Content analysis on real traffic (`tests/content/make.sh` recreates the
//! captures): nginx serving a benign shop page and script, a landing page
//! with a hidden iframe, an obfuscated (harmless) script and a password
//! form posting to another site, a PDF with /OpenAction JavaScript, a
//! mingw-w64 PE in a ZIP, a benign PDF and ZIP; and a mail through
//! aiosmtpd carrying the EICAR test file (caught by a YARA rule and by the
//! hash list) beside a benign text attachment; and a phishing-shaped mail
//! whose HTML body is read like a page (`tests/content/make-mail-html.sh`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/content")
}

fn read(out: &Path, log: &str) -> Vec<Value> {
    std::fs::read_to_string(out.join(format!("{log}.jsonl")))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect()
}

fn analyze(name: &str, extra: &[&str]) -> PathBuf {
    let out = std::env::temp_dir().join(format!("netsift-content-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let d = dir();
    let res = Command::new(env!("CARGO_BIN_EXE_netsift"))
        .args(["analyze", "-q", "-o"])
        .arg(&out)
        .args(extra)
        .arg(d.join("http.pcap"))
        .arg(d.join("smtp.pcap"))
        .output()
        .expect("run analyze");
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    out
}

fn by_name(files: &[Value]) -> HashMap<String, Value> {
    files
        .iter()
        .map(|f| (f["name"].as_str().unwrap_or("").to_string(), f.clone()))
        .collect()
}

fn reasons(f: &Value) -> String {
    f["verdict_reasons"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .unwrap_or_default()
}

#[test]
fn real_traffic_is_recognised_and_explained() {
    let d = dir();
    let rules = d.join("rules");
    let hashes = d.join("hashes.txt");
    let mut args = vec!["--hash-blacklist", hashes.to_str().expect("path")];
    let yara = cfg!(feature = "yara");
    if yara {
        args.extend(["--yara", rules.to_str().expect("path")]);
    }
    let out = analyze("all", &args);
    let files = by_name(&read(&out, "files"));
    let verdict = |n: &str| {
        files
            .get(n)
            .map(|f| f["verdict"].as_str().unwrap_or("").to_string())
            .unwrap_or_else(|| panic!("no file {n}: {files:?}"))
    };

    // Benign pages and files stay benign.
    for n in [
        "index.html",
        "app.js",
        "report.pdf",
        "readme.zip",
        "minutes.txt",
    ] {
        assert_eq!(verdict(n), "benign", "{n}: {}", reasons(&files[n]));
    }
    // The landing page: hidden iframe, password form to another site, an
    // obfuscated inline script.
    let landing = &files["landing.html"];
    assert_eq!(verdict("landing.html"), "suspicious");
    let r = reasons(landing);
    for want in [
        "hidden_iframe",
        "password_form_cross_domain",
        "obfuscated_script",
    ] {
        assert!(r.contains(want), "{want} not in {r}");
    }
    // The obfuscated script file, with its indicators.
    assert_eq!(
        verdict("obf.js"),
        "suspicious",
        "{}",
        reasons(&files["obf.js"])
    );
    // The PDF that runs JavaScript on open.
    assert_eq!(verdict("invoice.pdf"), "suspicious");
    assert!(reasons(&files["invoice.pdf"]).contains("pdf_auto_javascript"));
    assert_eq!(files["invoice.pdf"]["content"]["pdf"]["open_action"], 1);
    // The PE in a ZIP: listed, and its headers read.
    let tool = &files["tool.zip"];
    assert_eq!(verdict("tool.zip"), "suspicious");
    assert!(
        reasons(tool).contains("archive_hides_executable: archive holds executable(s): hello.exe"),
        "{}",
        reasons(tool)
    );
    assert_eq!(
        tool["content"]["archive"]["listing"][0]["mime_type"],
        "application/x-dosexec"
    );
    assert_eq!(tool["content"]["exe"]["format"], "pe");
    assert_eq!(tool["content"]["exe"]["arch"], "x86_64");
    assert_eq!(tool["content"]["exe"]["signed"], false);
    assert!(tool["content"]["exe"]["imphash"]
        .as_str()
        .is_some_and(|h| h.len() == 32));
    assert!(tool["content"]["exe"]["libraries"]
        .as_array()
        .is_some_and(|l| l.iter().any(|x| x
            .as_str()
            .is_some_and(|s| s.eq_ignore_ascii_case("user32.dll")))));
    // EICAR: malicious by the hash list and (with yara-x) by the rule.
    let eicar = &files["eicar.com"];
    assert_eq!(verdict("eicar.com"), "malicious");
    assert!(reasons(eicar).contains("hash_list"), "{}", reasons(eicar));
    if yara {
        assert!(
            reasons(eicar).contains("yara: rule EICAR_Test_File"),
            "{}",
            reasons(eicar)
        );
    }
    assert_eq!(eicar["source"], "SMTP");

    // The html record of the landing page.
    let html = read(&out, "html");
    let page = html
        .iter()
        .find(|h| h["title"] == "Account verification")
        .expect("landing html record");
    assert_eq!(page["iframes"][0]["hidden"], true);
    assert_eq!(page["iframes"][0]["hidden_by"], "zero_size");
    assert_eq!(page["forms"][0]["password"], true);
    assert_eq!(page["forms"][0]["cross_domain"], true);
    assert_eq!(page["scripts"][0]["src"], "/obf.js");
    assert_eq!(page["scripts"][0]["cross_domain"], false);
    let home = html
        .iter()
        .find(|h| h["title"] == "Shop - Home")
        .expect("home html record");
    assert_eq!(home["forms"][0]["cross_domain"], false);
    // js records: the script file with its reasons.
    let js = read(&out, "js");
    let obf = js
        .iter()
        .find(|j| j["file_name"] == "obf.js")
        .expect("obf.js js record");
    assert_eq!(obf["suspicious"], true);
    let names: Vec<&str> = obf["indicators"]
        .as_array()
        .expect("indicators")
        .iter()
        .filter_map(|i| i["name"].as_str())
        .collect();
    for want in [
        "eval",
        "decoding",
        "concatenated_keywords",
        "obfuscator_names",
    ] {
        assert!(names.contains(&want), "{want} not in {names:?}");
    }
    // File alerts: hash list (and YARA), with the file and the match.
    let alerts = read(&out, "alerts");
    let file_alerts: Vec<&Value> = alerts.iter().filter(|a| a["type"] == "file").collect();
    let hash = file_alerts
        .iter()
        .find(|a| a["evidence"]["matched"] == "hash-list")
        .expect("hash-list alert");
    assert_eq!(hash["rule"], "hash-list EICAR test file");
    assert_eq!(hash["evidence"]["file_name"], "eicar.com");
    if yara {
        let y = file_alerts
            .iter()
            .find(|a| a["evidence"]["matched"] == "yara")
            .expect("yara alert");
        assert_eq!(y["rule"], "yara EICAR_Test_File");
        assert_eq!(
            y["evidence"]["yara_tags"],
            serde_json::json!(["test", "av"])
        );
        // After the 28 bytes `X5O!P%@AP[4\PZX54(P^)7CC)7}$`.
        assert_eq!(y["evidence"]["yara_strings"][0]["offset"], 28);
        assert_eq!(
            y["evidence"]["yara_meta"]["description"],
            "The EICAR anti-virus test file"
        );
    }
    assert_eq!(
        file_alerts.len(),
        if yara { 2 } else { 1 },
        "{file_alerts:?}"
    );
    let _ = std::fs::remove_dir_all(&out);

    // --no-content: no verdicts, no html/js records.
    let out = analyze("off", &["--no-content"]);
    assert!(read(&out, "files")
        .iter()
        .all(|f| f.get("verdict").is_none()));
    assert!(read(&out, "html").is_empty());
    let _ = std::fs::remove_dir_all(&out);
}

/// A mail's HTML body (`tests/content/make-mail-html.sh`: smtplib to
/// aiosmtpd on loopback, multipart/alternative, quoted-printable) is read
/// like an HTTP page: an `html` record and a `js` record for its inline
/// script, joined to the SMTP flow, and a verdict on the body. It is no
/// attachment, and (as in Suricata, whose SMTP files are the attachments)
/// no file to Suricata-style rules nor an EVE `fileinfo`.
#[test]
fn mail_html_body_gives_html_and_js_records() {
    let cap = dir().join("mail-html.pcap");
    let out = std::env::temp_dir().join(format!("netsift-content-mail-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let run = |extra: &[&std::ffi::OsStr]| {
        let res = Command::new(env!("CARGO_BIN_EXE_netsift"))
            .args(["analyze", "-q"])
            .args(extra)
            .arg(&cap)
            .output()
            .expect("run analyze");
        assert!(
            res.status.success(),
            "{}",
            String::from_utf8_lossy(&res.stderr)
        );
    };
    run(&["-o".as_ref(), out.as_os_str()]);
    let smtp = read(&out, "smtp");
    assert_eq!(smtp.len(), 1, "{smtp:?}");
    let uid = smtp[0]["uid"].as_str().expect("uid");
    assert_eq!(smtp[0]["subject"], "Action required: verify your account");
    assert!(smtp[0].get("attachments").is_none(), "{}", smtp[0]);

    // The body: carved with no name, marked, decoded from quoted-printable.
    let files = read(&out, "files");
    assert_eq!(files.len(), 1, "{files:?}");
    let body = &files[0];
    assert_eq!(body["uid"], uid);
    assert_eq!(body["source"], "SMTP");
    assert_eq!(body["mail_body"], true);
    assert!(body.get("name").is_none());
    assert_eq!(body["declared_mime_type"], "text/html");
    assert_eq!(body["verdict"], "suspicious");
    let r = reasons(body);
    for want in [
        "hidden_iframe",
        "password_form_cross_domain",
        "obfuscated_script",
    ] {
        assert!(r.contains(want), "{want} not in {r}");
    }

    let html = read(&out, "html");
    assert_eq!(html.len(), 1, "{html:?}");
    let h = &html[0];
    assert_eq!(h["uid"], uid);
    assert_eq!(h["tx_id"], 0);
    assert_eq!(h["file_sha256"], body["sha256"]);
    assert_eq!(h["title"], "Mailbox verification");
    assert_eq!(h["iframes"][0]["hidden"], true);
    assert_eq!(h["iframes"][0]["hidden_by"], "display_none");
    assert_eq!(h["forms"][0]["password"], true);
    assert_eq!(h["forms"][0]["cross_domain"], true);
    assert_eq!(
        h["exe_links"],
        serde_json::json!(["http://files.phish-evil.test/MailboxCleaner.exe"])
    );
    assert_eq!(h["counts"]["inline_scripts"], 1);

    let js = read(&out, "js");
    assert_eq!(js.len(), 1, "{js:?}");
    assert_eq!(js[0]["uid"], uid);
    assert_eq!(js[0]["origin"], "inline");
    assert_eq!(js[0]["suspicious"], true);
    assert_eq!(js[0]["sha256"], h["scripts"][0]["sha256"]);
    let _ = std::fs::remove_dir_all(&out);

    // EVE with a Suricata rule on file.data: the body is no file there.
    let tmp = std::env::temp_dir().join(format!("netsift-content-mail-eve-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("tmp");
    let rules = tmp.join("t.rules");
    std::fs::write(
        &rules,
        "alert smtp any any -> any any (msg:\"body\"; file_data; content:\"iframe\"; sid:1;)\n\
         alert smtp any any -> any any (msg:\"stream\"; content:\"verify your account\"; nocase; sid:2;)\n",
    )
    .expect("rules");
    let eve = tmp.join("eve.json");
    run(&[
        "--format".as_ref(),
        "eve".as_ref(),
        "--suricata-rules".as_ref(),
        rules.as_os_str(),
        "-o".as_ref(),
        eve.as_os_str(),
    ]);
    let events: Vec<Value> = std::fs::read_to_string(&eve)
        .expect("eve")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let sids: Vec<u64> = events
        .iter()
        .filter(|e| e["event_type"] == "alert")
        .filter_map(|e| e["alert"]["signature_id"].as_u64())
        .collect();
    // The rules ran (the stream rule fires), the file.data one did not.
    assert_eq!(sids, [2], "{events:?}");
    assert!(
        !events.iter().any(|e| e["event_type"] == "fileinfo"),
        "{events:?}"
    );
    assert!(events.iter().any(|e| e["event_type"] == "smtp"));
    let _ = std::fs::remove_dir_all(&tmp);
}

#[cfg(feature = "yara")]
#[test]
fn yara_streams_and_bad_rules() {
    let d = dir();
    let rules = d.join("rules");
    // The mail's stream carries EICAR base64-encoded; a rule on the SMTP
    // command text matches the stream prefix.
    let tmp = std::env::temp_dir().join(format!("netsift-yara-streams-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("tmp");
    std::fs::write(tmp.join("mail.yar"), "rule Mail_From_Mallory { strings: $m = \"MAIL FROM:<mallory@example.test>\" condition: $m }").expect("rule");
    let out = analyze(
        "streams",
        &["--yara", tmp.to_str().expect("path"), "--yara-streams"],
    );
    let alerts = read(&out, "alerts");
    let a = alerts
        .iter()
        .find(|a| a["rule"] == "yara Mail_From_Mallory")
        .expect("stream alert");
    assert_eq!(a["evidence"]["matched"], "yara-stream");
    assert_eq!(a["evidence"]["direction"], "to_server");
    let _ = std::fs::remove_dir_all(&out);
    // A rule that does not compile is an error, not a silent run.
    std::fs::write(tmp.join("mail.yar"), "rule Broken { condition: nonsense }").expect("rule");
    let res = Command::new(env!("CARGO_BIN_EXE_netsift"))
        .args(["analyze", "-q", "-o"])
        .arg(tmp.join("o"))
        .arg("--yara")
        .arg(&tmp)
        .arg(d.join("smtp.pcap"))
        .output()
        .expect("run");
    assert!(!res.status.success());
    assert!(String::from_utf8_lossy(&res.stderr).contains("--yara"));
    let _ = std::fs::remove_dir_all(&tmp);
    let _ = rules;
}

/// Every corpus capture through content analysis with everything on (the
/// hash list, YARA on files and streams): no failure, a verdict on every
/// file, and bounded memory and time.
#[test]
fn every_corpus_capture_with_content_analysis_on() {
    let pcaps = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/ndpi/pcap");
    if !pcaps.is_dir() {
        eprintln!("SKIP: corpus missing");
        return;
    }
    let mut caps: Vec<PathBuf> = std::fs::read_dir(&pcaps)
        .expect("corpus")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    caps.sort();
    let d = dir();
    let out = std::env::temp_dir().join(format!("netsift-content-corpus-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_netsift"));
    cmd.args(["analyze", "-q", "-o"])
        .arg(&out)
        .arg("--hash-blacklist")
        .arg(d.join("hashes.txt"));
    if cfg!(feature = "yara") {
        cmd.arg("--yara").arg(d.join("rules")).arg("--yara-streams");
    }
    let t = std::time::Instant::now();
    let res = cmd.args(&caps).output().expect("run");
    let took = t.elapsed();
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    // Peak memory of the child (Linux ru_maxrss is in KiB).
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct it is given.
    let rss_kib = if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) } == 0 {
        ru.ru_maxrss
    } else {
        0
    };
    let files = read(&out, "files");
    assert!(files.len() > 50, "{}", files.len());
    assert!(
        files.iter().all(|f| f["verdict"].is_string()),
        "a file without a verdict"
    );
    let count = |v: &str| files.iter().filter(|f| f["verdict"] == v).count();
    println!(
        "{} captures, {} files: {} benign, {} suspicious, {} malicious; {} html, {} js records; {:.1} s, peak RSS {} MiB",
        caps.len(),
        files.len(),
        count("benign"),
        count("suspicious"),
        count("malicious"),
        read(&out, "html").len(),
        read(&out, "js").len(),
        took.as_secs_f64(),
        rss_kib / 1024
    );
    assert!(rss_kib < 4 << 20, "peak RSS {rss_kib} KiB");
    assert!(took.as_secs() < 900, "{took:?}");
    let _ = std::fs::remove_dir_all(&out);
}
