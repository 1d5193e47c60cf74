//! The web analyzer in a real browser: Debian's headless Chromium, driven
//! over the Chrome DevTools Protocol (a WebSocket; one flat session).
//!
//! It uploads a real capture through the page's form (and another by
//! drag-and-drop), waits for the
//! analysis (the page polls and reloads itself), sees the flows table and
//! the SVG charts, opens a flow, downloads its pcap and checks that the
//! pcap holds that flow; then uploads a capture whose HTTP Host is
//! `<script>alert(1)</script>` and checks that it shows as text and that no
//! script dialog opened. Screenshots go to `target/browser-artifacts/`.
//!
//! Skips (printing `SKIP:`) when Chromium is not installed.

mod common_web;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common_web::*;
use serde_json::{json, Value};
use tungstenite::{Message, WebSocket};

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NETSIFT_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

struct Browser {
    child: Child,
    ws: WebSocket<TcpStream>,
    next_id: u64,
    session: Option<String>,
    events: Vec<Value>,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    fn launch(bin: &Path, profile: &Path) -> Browser {
        let mut child = Command::new(bin)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--disable-extensions",
                "--remote-debugging-port=0",
                "--window-size=1280,1000",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let url = loop {
            match lines.next() {
                Some(Ok(l)) => {
                    if let Some(u) = l.strip_prefix("DevTools listening on ") {
                        break u.trim().to_string();
                    }
                }
                _ => panic!("chromium did not print its DevTools address"),
            }
        };
        std::thread::spawn(move || for _ in lines {});
        let hostport = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .expect("host")
            .to_string();
        let stream = TcpStream::connect(&hostport).expect("connect devtools");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let (ws, _) = tungstenite::client(url.as_str(), stream).expect("websocket");
        Browser {
            child,
            ws,
            next_id: 0,
            session: None,
            events: Vec::new(),
        }
    }

    /// Send one command (to the page session once attached) and wait for its answer.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = &self.session {
            if !method.starts_with("Target.") && !method.starts_with("Browser.") {
                msg["sessionId"] = json!(s);
            }
        }
        self.ws.send(Message::text(msg.to_string())).expect("send");
        loop {
            let m = self.ws.read().expect("devtools message");
            let Message::Text(t) = m else { continue };
            let v: Value = serde_json::from_str(&t).expect("json");
            if v["id"].as_u64() == Some(id) {
                if let Some(e) = v.get("error") {
                    panic!("{method}: {e}");
                }
                return v["result"].clone();
            }
            self.on_event(v);
        }
    }

    fn on_event(&mut self, v: Value) {
        if v["method"] == "Page.javascriptDialogOpening" {
            // Never leave the page blocked; the test fails on it below.
            let s = v["sessionId"].clone();
            self.next_id += 1;
            let msg = json!({"id": self.next_id, "sessionId": s,
                "method": "Page.handleJavaScriptDialog", "params": {"accept": false}});
            let _ = self.ws.send(Message::text(msg.to_string()));
        }
        self.events.push(v);
    }

    fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
        );
        r["result"]["value"].clone()
    }

    fn navigate(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url}));
        self.wait_for("document.readyState === 'complete'", 20);
    }

    /// Poll a JavaScript condition until it holds.
    fn wait_for(&mut self, cond: &str, secs: u64) {
        let t0 = Instant::now();
        loop {
            // Evaluation can race a navigation; retry on errors.
            self.next_id += 1;
            let id = self.next_id;
            let mut msg = json!({"id": id, "method": "Runtime.evaluate",
                "params": {"expression": format!("!!({cond})"), "returnByValue": true}});
            if let Some(s) = &self.session {
                msg["sessionId"] = json!(s);
            }
            self.ws.send(Message::text(msg.to_string())).expect("send");
            let ok = loop {
                let Message::Text(t) = self.ws.read().expect("message") else {
                    continue;
                };
                let v: Value = serde_json::from_str(&t).expect("json");
                if v["id"].as_u64() == Some(id) {
                    break v["result"]["result"]["value"] == json!(true);
                }
                self.on_event(v);
            };
            if ok {
                return;
            }
            if t0.elapsed() > Duration::from_secs(secs) {
                let at =
                    self.eval("location.href + ' :: ' + document.body.innerText.slice(0, 400)");
                panic!("timed out waiting for: {cond}; page {at}");
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    fn screenshot(&mut self, path: &Path) {
        let r = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = b64decode(r["data"].as_str().expect("data"));
        assert_eq!(&png[..4], b"\x89PNG");
        std::fs::write(path, png).expect("write screenshot");
    }

    /// Choose `file` in the file input `selector` (as a person would).
    fn set_file(&mut self, selector: &str, file: &Path) {
        let doc = self.call("DOM.getDocument", json!({}));
        let root = doc["root"]["nodeId"].clone();
        let node = self.call(
            "DOM.querySelector",
            json!({"nodeId": root, "selector": selector}),
        );
        self.call(
            "DOM.setFileInputFiles",
            json!({"nodeId": node["nodeId"], "files": [file.canonicalize().expect("file").display().to_string()]}),
        );
    }
}

fn b64decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter_map(val) {
        acc = (acc << 6) | c;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn artifacts() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-artifacts");
    std::fs::create_dir_all(&d).expect("artifacts dir");
    d
}

/// Upload `file` through the form, wait for the dashboard; the capture id.
fn upload_through_page(b: &mut Browser, base: &str, file: &Path) -> i64 {
    b.navigate(&format!("{base}/"));
    b.set_file("#file", file);
    b.eval("document.getElementById('upload-submit').click(); true");
    // The form posts, the server redirects to the capture, whose page polls
    // the analysis and reloads itself when it is done.
    b.wait_for(
        "location.pathname.startsWith('/captures/') && document.readyState === 'complete' \
         && !document.getElementById('job') && document.querySelectorAll('svg').length > 0",
        60,
    );
    let path = b.eval("location.pathname");
    path.as_str()
        .and_then(|p| p.trim_start_matches("/captures/").parse().ok())
        .expect("capture id in the URL")
}

/// Drop `file` on the upload area; the capture id once analysed.
fn drop_on_page(b: &mut Browser, base: &str, file: &Path) -> i64 {
    b.navigate(&format!("{base}/"));
    let bytes = std::fs::read(file).expect("capture");
    let list = bytes
        .iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("x.pcap");
    b.eval(&format!(
        "(() => {{ const dt = new DataTransfer(); \
           dt.items.add(new File([new Uint8Array([{list}])], {name:?})); \
           const d = document.getElementById('drop'); \
           d.dispatchEvent(new DragEvent('dragover', {{dataTransfer: dt, bubbles: true, cancelable: true}})); \
           d.dispatchEvent(new DragEvent('drop', {{dataTransfer: dt, bubbles: true, cancelable: true}})); \
           return true; }})()"
    ));
    b.wait_for(
        "location.pathname.startsWith('/captures/') && document.readyState === 'complete' \
         && !document.getElementById('job') && document.querySelectorAll('svg').length > 0",
        60,
    );
    let path = b.eval("location.pathname");
    path.as_str()
        .and_then(|p| p.trim_start_matches("/captures/").parse().ok())
        .expect("capture id in the URL")
}

#[test]
fn browser_upload_browse_download_and_escaping() {
    let Some(bin) = chromium() else {
        println!("SKIP: chromium is not installed (apt-get install chromium)");
        return;
    };
    let t0 = Instant::now();
    let dir = tmpdir("browser");
    let srv = start(&dir, &[]);
    let base = format!("http://{}", srv.addr);
    let profile = dir.join("profile");
    let downloads = dir.join("downloads");
    std::fs::create_dir_all(&downloads).expect("downloads");
    let mut b = Browser::launch(&bin, &profile);
    b.call(
        "Browser.setDownloadBehavior",
        json!({"behavior": "allow", "downloadPath": downloads.display().to_string(), "eventsEnabled": true}),
    );
    let target = b.call("Target.createTarget", json!({"url": "about:blank"}));
    let att = b.call(
        "Target.attachToTarget",
        json!({"targetId": target["targetId"], "flatten": true}),
    );
    b.session = Some(att["sessionId"].as_str().expect("session").to_string());
    b.call("Page.enable", json!({}));
    b.call("Runtime.enable", json!({}));
    b.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 1280, "height": 1000, "deviceScaleFactor": 1, "mobile": false}),
    );

    // 1. Upload a real capture through the page and wait for the analysis.
    let cap = upload_through_page(
        &mut b,
        &base,
        &repo_file("crates/cli/tests/carve/http.pcap"),
    );
    let charts = b.eval("document.querySelectorAll('figure.chart svg rect').length");
    assert!(charts.as_u64().unwrap_or(0) > 0, "charts have bars");
    let svgs = b.eval("document.querySelectorAll('figure.chart svg').length");
    assert!(svgs.as_u64().unwrap_or(0) >= 6, "dashboard charts: {svgs}");
    b.screenshot(&artifacts().join("dashboard.png"));

    // 2. The flows table.
    b.navigate(&format!("{base}/captures/{cap}/flows?proto=HTTP"));
    let rows = b.eval("document.querySelectorAll('#flows tbody a.flow-link').length");
    assert!(rows.as_u64().unwrap_or(0) > 0, "HTTP flows listed");
    b.screenshot(&artifacts().join("flows.png"));

    // 3. Open a flow by clicking it.
    b.eval("document.querySelector('#flows tbody a.flow-link').click(); true");
    b.wait_for(
        "location.pathname.startsWith('/flows/') && document.getElementById('classification')",
        20,
    );
    let text = b.eval("document.body.innerText");
    let text = text.as_str().unwrap_or("");
    assert!(text.contains("Records"), "records section");
    assert!(text.contains("HTTP"), "classification shown");
    let community = b
        .eval("[...document.querySelectorAll('dt')].find(d => d.textContent === 'Community ID').nextElementSibling.textContent")
        .as_str()
        .expect("community id")
        .to_string();
    b.screenshot(&artifacts().join("flow.png"));

    // 4. Download its pcap by clicking the link.
    b.eval("document.getElementById('pcap-link').click(); true");
    let t = Instant::now();
    let pcap = loop {
        let done = std::fs::read_dir(&downloads)
            .expect("downloads")
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "pcap"));
        if let Some(p) = done {
            break p;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "download did not finish"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    std::thread::sleep(Duration::from_millis(200));
    let out = Command::new(BIN)
        .args(["flows", "-f", "jsonl", "-q"])
        .arg(&pcap)
        .output()
        .expect("netsift flows");
    assert!(out.status.success(), "the download is a readable capture");
    let text = String::from_utf8_lossy(&out.stdout);
    let flows: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl"))
        .collect();
    assert_eq!(flows.len(), 1, "one flow in the per-flow pcap");
    assert_eq!(flows[0]["community_id"], json!(community), "the same flow");

    // 5. A Host of <script>alert(1)</script> renders as text. This capture
    // is dropped on the page (a drop event carrying the file, as a person's
    // drag-and-drop makes), which app.js sends with XHR.
    let xss = drop_on_page(
        &mut b,
        &base,
        &repo_file("crates/web/testdata/xss-host.pcap"),
    );
    let on_dash = b.eval("document.body.textContent.includes('<script>alert(1)</script>')");
    assert_eq!(
        on_dash,
        json!(true),
        "the Host shows as text in the domains chart"
    );
    b.navigate(&format!("{base}/captures/{xss}/flows"));
    b.eval("document.querySelector('#flows tbody a.flow-link').click(); true");
    b.wait_for("document.getElementById('classification')", 20);
    let shown = b.eval("document.body.innerText.includes('<script>alert(1)</script>')");
    assert_eq!(shown, json!(true), "the Host is in the page as text");
    let scripts = b.eval("[...document.scripts].map(s => s.src)");
    assert_eq!(
        scripts,
        json!([format!("{base}/static/app.js")]),
        "no script element but our own"
    );
    b.screenshot(&artifacts().join("xss-flow.png"));
    let dialogs = b
        .events
        .iter()
        .filter(|e| e["method"] == "Page.javascriptDialogOpening")
        .count();
    assert_eq!(dialogs, 0, "a script dialog opened");
    println!(
        "browser test: {:.1} s, screenshots in {}",
        t0.elapsed().as_secs_f64(),
        artifacts().display()
    );
    drop(b);
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}
