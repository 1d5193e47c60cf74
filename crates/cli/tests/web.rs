//! `netsift analyze --db` and `netsift serve`: the store's contents, the
//! upload path (multipart and raw, size cap, magic check), escaping, the
//! per-flow pcap, and the security rules (headers, traversal, token).

mod common_web;

use std::process::Command;

use common_web::*;
use netsift_store::rusqlite::Connection;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

#[test]
fn analyze_db_stores_flows_records_files() {
    let dir = tmpdir("analyze-db");
    let db = dir.join("netsift.db");
    let out = dir.join("jsonl");
    let st = Command::new(BIN)
        .arg("analyze")
        .arg(repo_file("crates/cli/tests/carve/http.pcap"))
        .arg("--db")
        .arg(&db)
        .arg("-o")
        .arg(&out)
        .arg("--extract-dir")
        .arg(dir.join("files"))
        .args(["--tcp-idle", "7", "-q"])
        .status()
        .expect("run");
    assert!(st.success());
    let c = Connection::open(&db).expect("db");
    let (status, flows, sha): (String, i64, String) = c
        .query_row("SELECT status, flows, sha256 FROM captures", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .expect("capture row");
    assert_eq!(status, "done");
    // The database holds what the JSONL output holds.
    let count = |log: &str| {
        std::fs::read_to_string(out.join(format!("{log}.jsonl")))
            .map(|s| s.lines().count() as i64)
            .unwrap_or(0)
    };
    let n = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).expect(sql) };
    assert_eq!(n("SELECT count(*) FROM flows"), count("conn"));
    assert_eq!(flows, count("conn"));
    assert_eq!(n("SELECT count(*) FROM files"), count("files"));
    assert_eq!(
        n("SELECT count(*) FROM records WHERE log = 'http'"),
        count("http")
    );
    assert!(count("files") > 0);
    // Every file row points at its carved bytes, named by hash.
    let mut st = c.prepare("SELECT sha256, path FROM files").expect("q");
    let rows: Vec<(String, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    for (h, p) in rows {
        assert!(p.ends_with(&h) && std::path::Path::new(&p).exists(), "{p}");
    }
    assert_eq!(sha.len(), 64);
    // Records are linked to their flow by uid, and the flow is searchable.
    assert_eq!(
        n("SELECT count(*) FROM records r LEFT JOIN flows f ON f.capture_id = r.capture_id AND f.uid = r.uid WHERE f.id IS NULL"),
        0
    );
    assert!(n("SELECT count(*) FROM flow_text") > 0);
    // The flow settings are kept, and the server finds a CLI-analysed
    // flow's packets again in the original capture.
    let settings: String = c
        .query_row("SELECT flow_settings FROM captures", [], |r| r.get(0))
        .expect("settings");
    let v: serde_json::Value = serde_json::from_str(&settings).expect("json");
    assert_eq!(v["tcp_idle_ns"], 7_000_000_000u64);

    let srv = start(&dir, &[]);
    let p = get(&srv.addr, "/flows/1/pcap");
    assert_eq!(p.status, 200, "{}", p.text());
    assert_eq!(&p.body[..4], &[0x4d, 0x3c, 0xb2, 0xa1]);
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serve_upload_browse_download() {
    let dir = tmpdir("serve-upload");
    let db = dir.join("netsift.db").display().to_string();
    serve_upload_browse_download_on(&dir, &db);
}

/// The same test over PostgreSQL (a real server of its own).
#[test]
fn serve_upload_browse_download_postgres() {
    let Some(pg) = netsift_store::testing::PgServer::start() else {
        return;
    };
    let dir = tmpdir("serve-upload-pg");
    let url = pg.create_db("web");
    serve_upload_browse_download_on(&dir, &url);
    let dir = tmpdir("serve-alerts-pg");
    let url = pg.create_db("alerts");
    alerts_are_stored_and_linked_to_flows_on(&dir, &url);
}

fn serve_upload_browse_download_on(dir: &std::path::Path, db: &str) {
    let data = dir.join("data").display().to_string();
    let srv = start_db(db, &["--max-upload", "200000", "--data-dir", &data]);
    let a = srv.addr.as_str();

    // Security headers on every response.
    let r = get(a, "/");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-security-policy"), Some(CSP));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    assert!(!r.text().contains("<script>") && !r.text().contains("style="));

    // Not a capture: 415, before analysis.
    let (ct, body) = multipart("notes.txt", b"hello, this is not a pcap");
    let r = request(a, "POST", "/upload", &[("Content-Type", &ct)], &body);
    assert_eq!(r.status, 415, "{}", r.text());
    // Over the cap: 413.
    let big = std::fs::read(repo_file("crates/cli/tests/carve/http.pcap")).expect("pcap");
    let mut huge = big.clone();
    huge.resize(300_000, 0);
    let r = request(a, "POST", "/api/upload?name=big.pcap", &[], &huge);
    assert_eq!(r.status, 413);
    let r = get(a, "/");
    assert!(
        r.text().contains("No captures yet"),
        "refused uploads left no capture"
    );

    // A real capture through the form; the XSS one through the raw endpoint.
    let (ct, body) = multipart("http.pcap", &big);
    let r = request(a, "POST", "/upload", &[("Content-Type", &ct)], &body);
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/captures/1"));
    assert_eq!(wait_done(a, 1), "done");
    let xss = std::fs::read(repo_file("crates/web/testdata/xss-host.pcap")).expect("pcap");
    let r = request(a, "POST", "/api/upload?name=%3Cb%3Ex.pcap", &[], &xss);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(wait_done(a, 2), "done");

    // Dashboard with charts; flows; a flow with records and files.
    let dash = get(a, "/captures/1").text();
    assert!(dash.matches("<svg").count() >= 6, "charts");
    let flows = get(a, "/captures/1/flows?proto=HTTP").text();
    let id: i64 = flows
        .split("href=\"/flows/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .and_then(|s| s.parse().ok())
        .expect("a flow link");
    let detail = get(a, &format!("/flows/{id}")).text();
    assert!(detail.contains("<h3>http"), "http records shown");
    let file_id: i64 = detail
        .split("href=\"/files/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .and_then(|s| s.parse().ok())
        .expect("a file link");
    let f = get(a, &format!("/files/{file_id}"));
    assert_eq!(f.status, 200);
    assert!(f
        .header("content-disposition")
        .is_some_and(|v| v.starts_with("attachment")));
    // The per-flow pcap is a pcap of that flow's packets.
    let p = get(a, &format!("/flows/{id}/pcap"));
    assert_eq!(p.status, 200);
    assert_eq!(&p.body[..4], &[0x4d, 0x3c, 0xb2, 0xa1], "ns pcap magic");
    let dumped = dir.join("flow.pcap");
    std::fs::write(&dumped, &p.body).expect("write");
    let out = Command::new(BIN)
        .args(["flows", "-f", "jsonl", "-q"])
        .arg(&dumped)
        .output()
        .expect("flows");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.lines().count(),
        1,
        "one flow in the per-flow pcap: {text}"
    );

    // Free-text search and filters.
    let r = get(a, "/captures/1/flows?q=%3Cscript%3E");
    assert!(r.text().contains("0 flows"));
    let r = get(a, "/captures/2/flows?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
    assert!(r.text().contains("1 flows"), "{}", r.text());
    for q in [
        "ip=nonsense",
        "q=%00%01",
        "q=%22",
        "q=NEAR(a%20b)",
        "port=99999",
        "from=yesterday",
        "sort=x%3BDROP",
        "offset=99999999999999999999",
        "proto=%27%20OR%201%3D1--",
    ] {
        let r = get(a, &format!("/captures/1/flows?{q}"));
        assert_eq!(r.status, 200, "{q}: {}", r.text());
    }

    // The hostile Host renders as text everywhere.
    for path in ["/", "/captures/2", "/captures/2/flows"] {
        let t = get(a, path).text();
        assert!(!t.contains("<script>alert(1)"), "{path}");
        assert!(!t.contains("<b>x"), "{path}");
    }
    let t = get(a, "/captures/2").text();
    assert!(t.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));

    // Downloads are by id only: no path reaches the file system.
    for p in [
        "/files/..%2f..%2f..%2fetc%2fpasswd",
        "/files/../../etc/passwd",
        "/files/%2e%2e/etc/passwd",
        "/files/0",
        "/files/999999",
        "/flows/-1/pcap",
        "/static/../../../../etc/passwd",
    ] {
        let r = get(a, p);
        assert_eq!(r.status, 404, "{p}");
        assert!(!r.text().contains("root:"), "{p}");
    }
    drop(srv);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn token_is_required_and_checked() {
    let dir = tmpdir("serve-token");
    let srv = start(&dir, &["--token", "correct-horse-battery"]);
    let a = srv.addr.as_str();
    assert_eq!(get(a, "/").status, 401);
    assert_eq!(get(a, "/static/app.js").status, 401);
    assert_eq!(get(a, "/?token=wrong-horse-battery").status, 401);
    let r = request(
        a,
        "GET",
        "/",
        &[("Authorization", "Bearer correct-horse-battery")],
        b"",
    );
    assert_eq!(r.status, 200);
    let r = get(
        a,
        "/captures/1/flows?token=correct-horse-battery&proto=HTTP",
    );
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/captures/1/flows?proto=HTTP"));
    let cookie = r.header("set-cookie").expect("cookie").to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let pair = cookie.split(';').next().expect("pair");
    let r = request(a, "GET", "/", &[("Cookie", pair)], b"");
    assert_eq!(r.status, 200);
    let r = request(
        a,
        "POST",
        "/api/upload?name=x.pcap",
        &[("Cookie", "netsift_token=correct-horse-batterY")],
        b"\xd4\xc3\xb2\xa1",
    );
    assert_eq!(r.status, 401);
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn non_loopback_without_token_is_refused() {
    let dir = tmpdir("serve-refuse");
    let out = Command::new(BIN)
        .arg("serve")
        .arg("--db")
        .arg(dir.join("x.db"))
        .args(["--listen", "0.0.0.0:0"])
        .env_remove("NETSIFT_TOKEN")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--token") && err.contains("loopback"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hostile_requests_are_bounded() {
    let dir = tmpdir("serve-hostile");
    let srv = start(&dir, &[]);
    let a = srv.addr.as_str();
    let big = "a".repeat(20_000);
    let r = request(a, "GET", "/", &[("X-Big", &big)], b"");
    assert_eq!(r.status, 431);
    let r = request(
        a,
        "POST",
        "/api/upload?name=x.pcap",
        &[("Transfer-Encoding", "chunked")],
        b"",
    );
    assert_eq!(r.status, 411);
    let long = format!("/captures/1/flows?q={}", "x".repeat(9000));
    assert_eq!(get(a, &long).status, 414);
    assert_eq!(request(a, "DELETE", "/", &[], b"").status, 405);
    // Malformed heads: 400 (RFC 9112), before any route.
    let raw = |head: &str| -> String {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(a).expect("connect");
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .ok();
        s.write_all(head.as_bytes()).expect("write");
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out)
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    };
    for head in [
        "GET http://evil.example/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        "get / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nBad : x\r\n\r\n",
        "POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        "GET /\r\n\r\n",
    ] {
        let status = raw(head);
        assert!(status.starts_with("HTTP/1.1 400"), "{head:?}: {status}");
    }
    // The server still answers.
    assert_eq!(get(a, "/").status, 200);
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cross_origin_posts_and_foreign_hosts_are_refused() {
    let dir = tmpdir("serve-origin");
    let srv = start(&dir, &[]);
    let a = srv.addr.as_str();
    let pcap = std::fs::read(repo_file("crates/web/testdata/xss-host.pcap")).expect("pcap");
    // A page elsewhere posting a form here.
    let r = request(
        a,
        "POST",
        "/api/upload?name=x.pcap",
        &[("Origin", "http://evil.example")],
        &pcap,
    );
    assert_eq!(r.status, 403);
    let r = request(
        a,
        "POST",
        "/upload",
        &[("Sec-Fetch-Site", "cross-site"), ("Origin", "null")],
        &pcap,
    );
    assert_eq!(r.status, 403);
    // DNS rebinding: a foreign name resolving to loopback.
    let mut s = std::net::TcpStream::connect(a).expect("connect");
    use std::io::{Read, Write};
    s.write_all(b"GET / HTTP/1.1\r\nHost: rebind.evil.example:8080\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    assert!(raw.starts_with("HTTP/1.1 403"), "{raw}");
    // The same-origin post is accepted.
    let origin = format!("http://{a}");
    let r = request(
        a,
        "POST",
        "/api/upload?name=x.pcap",
        &[("Origin", &origin)],
        &pcap,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn alerts_are_stored_and_linked_to_flows() {
    let dir = tmpdir("serve-alerts");
    let db = dir.join("netsift.db").display().to_string();
    alerts_are_stored_and_linked_to_flows_on(&dir, &db);
}

fn alerts_are_stored_and_linked_to_flows_on(dir: &std::path::Path, db: &str) {
    let list = dir.join("urls.txt");
    std::fs::write(&list, "/index.html\n").expect("list");
    let st = Command::new(BIN)
        .arg("analyze")
        .arg(repo_file("crates/web/testdata/xss-host.pcap"))
        .arg("--db")
        .arg(db)
        .arg("--url-blacklist")
        .arg(&list)
        .arg("-q")
        .status()
        .expect("run");
    assert!(st.success());
    let data = dir.join("data").display().to_string();
    let srv = start_db(db, &["--data-dir", &data]);
    let a = srv.addr.as_str();
    let page = get(a, "/alerts?capture=1&type=url-blacklist").text();
    assert!(page.contains("1 alerts"), "{page}");
    let fid = page
        .split("href=\"/flows/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("alert links to its flow");
    let flow = get(a, &format!("/flows/{fid}")).text();
    assert!(flow.contains("url-blacklist"), "the flow lists its alert");
    assert!(get(a, "/alerts?type=port-scan").text().contains("0 alerts"));
    let dash = get(a, "/captures/1").text();
    assert!(dash.contains("url-blacklist: 1"), "alerts-by-type chart");
    drop(srv);
    let _ = std::fs::remove_dir_all(dir);
}

/// Content analysis in the web analyzer: the dashboard's suspicious
/// content panel, the files page filtered by verdict, and the flow page's
/// HTML summary (as escaped text, never rendered), scripts and verdicts.
#[test]
fn content_verdicts_in_the_web_analyzer() {
    let dir = tmpdir("serve-content");
    let db = dir.join("netsift.db").display().to_string();
    let hashes = repo_file("crates/cli/tests/content/hashes.txt");
    let st = Command::new(BIN)
        .arg("analyze")
        .arg(repo_file("crates/cli/tests/content/http.pcap"))
        .arg(repo_file("crates/cli/tests/content/smtp.pcap"))
        .arg("--db")
        .arg(&db)
        .arg("--hash-blacklist")
        .arg(&hashes)
        .arg("-q")
        .status()
        .expect("run");
    assert!(st.success());
    let c = Connection::open(&db).expect("db");
    let n = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).expect(sql) };
    assert_eq!(
        n("SELECT count(*) FROM files WHERE verdict = 'malicious'"),
        1
    );
    assert!(n("SELECT count(*) FROM files WHERE verdict = 'suspicious'") >= 4);
    assert!(n("SELECT count(*) FROM records WHERE log = 'html'") >= 2);
    let data = dir.join("data").display().to_string();
    let srv = start_db(&db, &["--data-dir", &data]);
    let a = srv.addr.as_str();
    let dash = get(a, "/captures/1").text();
    assert!(dash.contains("Suspicious content"), "{dash}");
    assert!(dash.contains("landing.html") && dash.contains("hidden_iframe"));
    let mal = get(a, "/files?verdict=malicious").text();
    assert!(
        mal.contains("eicar.com") && !mal.contains("landing.html"),
        "{mal}"
    );
    let benign = get(a, "/files?capture=1&verdict=benign").text();
    assert!(benign.contains("index.html") && !benign.contains("eicar.com"));
    // The landing page's flow: its HTML summary as text.
    let fid = get(a, "/files?verdict=suspicious")
        .text()
        .split("landing.html")
        .nth(1)
        .and_then(|s| s.split("href=\"/flows/").nth(1))
        .and_then(|s| s.split('"').next())
        .map(str::to_string)
        .expect("the file links to its flow");
    let flow = get(a, &format!("/flows/{fid}")).text();
    assert!(flow.contains("Account verification"), "title");
    assert!(
        flow.contains("[HIDDEN: zero_size]"),
        "hidden iframe flagged"
    );
    assert!(flow.contains("[posts to another site]"));
    assert!(flow.contains("verdict-suspicious"));
    // Never rendered: the page's markup does not reach the analyst's browser.
    assert!(
        !flow.contains("<iframe") && !flow.contains("<form action=\"http://collect"),
        "page markup leaked"
    );
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}
