//! Routes and pages. Every value from the database that came from a
//! capture is passed through `esc` (or `urlenc` inside a URL) right where
//! it is written into the page.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use netsift_store::query::{self, AlertFilter, FlowFilter, SortCol, COUNT_CAP};
use netsift_store::{CaptureInfo, Store};
use serde_json::{json, Value};
use sha2::Digest as _;

use crate::charts;
use crate::html::{esc, fmt_bytes, fmt_ts, hexdump, page, parse_query, parse_time, urlenc};
use crate::multipart::{self, MultipartError};
use crate::{App, Body, Resp};

const APP_JS: &str = include_str!("../static/app.js");
const APP_CSS: &str = include_str!("../static/app.css");
/// Rows per flows/alerts page.
const PAGE: u32 = 50;
/// Bytes of a carved file shown inline.
const PREVIEW_BYTES: usize = 4096;
/// Records shown per flow.
const MAX_RECORDS: u32 = 500;

static UPLOAD_SEQ: AtomicU64 = AtomicU64::new(0);

pub(crate) fn route(
    app: &App,
    store: &Store,
    req: &mut crate::http::Request,
    method: &str,
    url: &str,
) -> Resp {
    let path = url.split('?').next().unwrap_or("/");
    let q = parse_query(url);
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let get = method == "GET" || method == "HEAD";
    let post = method == "POST";
    let id = |s: &str| s.parse::<i64>().ok().filter(|v| *v > 0);
    let r = match (parts.as_slice(), get, post) {
        ([""], true, _) => index(app, store, &q),
        (["static", "app.js"], true, _) => Ok(Resp {
            status: 200,
            content_type: "text/javascript; charset=utf-8",
            body: Body::Bytes(APP_JS.as_bytes().to_vec()),
            headers: Vec::new(),
        }),
        (["static", "app.css"], true, _) => Ok(Resp {
            status: 200,
            content_type: "text/css; charset=utf-8",
            body: Body::Bytes(APP_CSS.as_bytes().to_vec()),
            headers: Vec::new(),
        }),
        (["upload"], _, true) => Ok(upload(app, store, req, true, &q)),
        (["api", "upload"], _, true) => Ok(upload(app, store, req, false, &q)),
        (["api", "captures", c, "status"], true, _) => match id(c) {
            Some(c) => status_json(app, store, c),
            None => Ok(Resp::error(404, "no such capture")),
        },
        (["captures", c], true, _) => match id(c) {
            Some(c) => dashboard(app, store, c),
            None => Ok(Resp::error(404, "no such capture")),
        },
        (["captures", c, "flows"], true, _) => match id(c) {
            Some(c) => flows_page(store, Some(c), &q),
            None => Ok(Resp::error(404, "no such capture")),
        },
        (["flows"], true, _) => flows_page(store, None, &q),
        (["flows", f], true, _) => match id(f) {
            Some(f) => flow_page(store, f),
            None => Ok(Resp::error(404, "no such flow")),
        },
        (["flows", f, "pcap"], true, _) => match id(f) {
            Some(f) => flow_pcap(app, store, f),
            None => Ok(Resp::error(404, "no such flow")),
        },
        (["files"], true, _) => files_page(store, &q),
        (["files", f], true, _) => match id(f) {
            Some(f) => file_download(store, f),
            None => Ok(Resp::error(404, "no such file")),
        },
        (["alerts"], true, _) => alerts_page(store, &q),
        (_, false, false) => Ok(Resp::error(405, "method not allowed")),
        _ => Ok(Resp::error(404, "not found")),
    };
    r.unwrap_or_else(|e| Resp::error(500, &format!("database error: {e}")))
}

type R = Result<Resp, netsift_store::StoreError>;

fn status_badge(s: &str) -> String {
    format!("<span class=\"badge {}\">{}</span>", esc(s), esc(s))
}

fn index(app: &App, store: &Store, q: &[(String, String)]) -> R {
    let sensor = qget(q, "sensor");
    let caps = query::captures_of(&store.db, sensor, 200)?;
    let sensors = query::sensors(&store.db)?;
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>Captures</h1>\
<section class=\"upload\"><h2>Upload a capture</h2>\
<form id=\"upload-form\" method=\"post\" action=\"/upload\" enctype=\"multipart/form-data\">\
<div id=\"drop\" class=\"drop\">Drop a pcap or pcapng file here, or \
<input type=\"file\" name=\"file\" id=\"file\" accept=\".pcap,.pcapng,.cap,application/vnd.tcpdump.pcap\"> \
<button type=\"submit\" id=\"upload-submit\">Upload and analyse</button></div>\
<p class=\"hint\">Up to {}. The analysis runs in the background.</p>\
<progress id=\"upload-progress\" max=\"100\" value=\"0\" hidden></progress></form></section>",
        esc(&fmt_bytes(app.cfg.max_upload as i64))
    );
    // Sensors: each one's captures, flows and alerts (all sensors with none).
    b.push_str("<nav class=\"tabs\" id=\"sensors\">Sensors: ");
    let _ = write!(
        b,
        "<a href=\"/\"{}>all</a>",
        if sensor.is_none() {
            " class=\"current\""
        } else {
            ""
        }
    );
    for (name, n) in &sensors {
        let cur = if sensor == Some(name.as_str()) {
            " class=\"current\""
        } else {
            ""
        };
        let shown = if name.is_empty() { "(unnamed)" } else { name };
        let _ = write!(
            b,
            " <a href=\"/?sensor={}\"{cur}>{} ({n})</a>",
            esc(&urlenc(name)),
            esc(shown)
        );
    }
    let sq = sensor
        .map(|s| format!("?sensor={}", urlenc(s)))
        .unwrap_or_default();
    let _ = write!(
        b,
        " · <a href=\"/flows{}\" id=\"all-flows\">flows</a> · <a href=\"/alerts{}\">alerts</a></nav>",
        esc(&sq),
        esc(&sq)
    );
    b.push_str("<table class=\"grid\" id=\"captures\"><thead><tr><th>#</th><th>Sensor</th><th>Name</th><th>Size</th><th>Packets</th><th>Flows</th><th>First packet</th><th>Status</th></tr></thead><tbody>");
    for c in &caps {
        let _ = write!(
            b,
            "<tr><td>{}</td><td class=\"sensor\">{}</td><td><a href=\"/captures/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.id,
            esc(&c.sensor),
            c.id,
            esc(&c.name),
            esc(&fmt_bytes(c.size)),
            c.packets,
            c.flows,
            c.first_ts.map(fmt_ts).unwrap_or_default(),
            status_badge(&c.status),
        );
    }
    if caps.is_empty() {
        b.push_str("<tr><td colspan=\"8\">No captures yet.</td></tr>");
    }
    b.push_str("</tbody></table>");
    Ok(Resp::html(200, page("Captures", &b)))
}

fn status_json(app: &App, store: &Store, id: i64) -> R {
    let Some(c) = query::capture(&store.db, id)? else {
        return Ok(Resp::json(404, json!({"error": "no such capture"})));
    };
    let read = app.jobs.progress.get(id).unwrap_or(c.bytes_read as u64);
    Ok(Resp::json(
        200,
        json!({"id": id, "status": c.status, "bytes_read": read, "size": c.size,
               "error": c.error, "flows": c.flows, "packets": c.packets}),
    ))
}

/// Receive an upload: the multipart form's file part (`form`) or the raw
/// body (drag-and-drop `fetch`). Streams to a temporary file under the
/// cap, checks the capture magic, then queues the analysis.
fn upload(
    app: &App,
    store: &Store,
    req: &mut crate::http::Request,
    form: bool,
    q: &[(String, String)],
) -> Resp {
    let max = app.cfg.max_upload;
    // Multipart framing adds at most a few KiB around the file.
    let slack = if form { 64 * 1024 } else { 0 };
    if let Some(len) = req.body_length() {
        if len > max + slack {
            return upload_error(
                form,
                413,
                &format!("upload larger than the limit of {max} bytes"),
            );
        }
    }
    let seq = UPLOAD_SEQ.fetch_add(1, Ordering::Relaxed);
    let tmp = app
        .tmp_dir()
        .join(format!("upload-{}-{seq}.part", std::process::id()));
    let file = match std::fs::File::create(&tmp) {
        Ok(f) => f,
        Err(e) => return upload_error(form, 500, &format!("cannot store the upload: {e}")),
    };
    let mut w = std::io::BufWriter::with_capacity(1 << 16, file);
    let mut hasher = sha2::Sha256::new();
    let mut size = 0u64;
    let mut head: Vec<u8> = Vec::with_capacity(4);
    let mut sink = |d: &[u8]| -> std::io::Result<()> {
        size += d.len() as u64;
        if size > max {
            return Err(std::io::Error::other("too large"));
        }
        if head.len() < 4 {
            let n = (4 - head.len()).min(d.len());
            head.extend_from_slice(&d[..n]);
            // Refuse early: a non-capture is known from its first 4 bytes.
            if head.len() == 4 && !crate::is_capture_magic(&head) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "not a capture",
                ));
            }
        }
        hasher.update(d);
        w.write_all(d)
    };
    let result: Result<String, MultipartError> = if form {
        let ct = req.header("Content-Type").unwrap_or("").to_string();
        match multipart::boundary(&ct) {
            Some(bnd) => multipart::read_file_part(req.body(), &bnd, max + slack, &mut sink),
            None => Err(MultipartError::Malformed("not multipart/form-data")),
        }
    } else {
        let name = q
            .iter()
            .find(|(k, _)| k == "name")
            .map(|(_, v)| v.chars().take(200).collect())
            .unwrap_or_else(|| "upload.pcap".to_string());
        let mut buf = vec![0u8; 64 * 1024];
        let rd = req.body();
        let mut res = Ok(name);
        loop {
            match rd.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if let Err(e) = sink(&buf[..n]) {
                        res = Err(MultipartError::Io(e));
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    res = Err(MultipartError::Io(e));
                    break;
                }
            }
        }
        res
    };
    let flushed = w.flush();
    drop(w);
    let name = match result {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return match e {
                MultipartError::TooLarge => upload_error(form, 413, "upload too large"),
                MultipartError::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                    upload_error(form, 415, "not a pcap or pcapng capture")
                }
                MultipartError::Io(e) if e.to_string() == "too large" => {
                    upload_error(form, 413, "upload too large")
                }
                MultipartError::NoFile => upload_error(form, 400, "no file in the form"),
                MultipartError::Malformed(m) => upload_error(form, 400, m),
                MultipartError::Io(e) => upload_error(form, 400, &format!("upload failed: {e}")),
            };
        }
    };
    if flushed.is_err() || !crate::is_capture_magic(&head) {
        let _ = std::fs::remove_file(&tmp);
        return if flushed.is_err() {
            upload_error(form, 500, "cannot store the upload")
        } else {
            upload_error(form, 415, "not a pcap or pcapng capture")
        };
    }
    let name = Path::new(&name.replace('\\', "/"))
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "upload.pcap".into());
    let info = CaptureInfo {
        name,
        path: None,
        size,
        sha256: Some(crate::hex(&hasher.finalize())),
        uid_seed: 0,
        flow_settings: Some(netsift_store::flow_settings(
            &netsift_engine::PipelineConfig::default().flow,
        )),
        sensor: app.cfg.sensor.clone(),
    };
    let id = match netsift_store::new_capture(&store.db, &info) {
        Ok(id) => id,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return upload_error(form, 500, &e.to_string());
        }
    };
    // The stored file is named by the capture's id, never by the upload's name.
    let dest = app.captures_dir().join(format!("{id}.cap"));
    if std::fs::rename(&tmp, &dest).is_err() {
        let _ = std::fs::remove_file(&tmp);
        let _ = netsift_store::fail_capture(&store.db, id, "cannot store the upload");
        return upload_error(form, 500, "cannot store the upload");
    }
    let _ = store.db.exec(
        "UPDATE captures SET path = ?2 WHERE id = ?1",
        &[id.into(), dest.display().to_string().into()],
    );
    if !app.jobs.submit(id, dest) {
        let _ = netsift_store::fail_capture(&store.db, id, "analysis queue closed");
    }
    let to = format!("/captures/{id}");
    if form {
        Resp::redirect(&to)
    } else {
        Resp::json(201, json!({"id": id, "url": to}))
    }
}

fn upload_error(form: bool, status: u16, msg: &str) -> Resp {
    if form {
        Resp::error(status, msg)
    } else {
        Resp::json(status, json!({"error": msg}))
    }
}

fn stats_list(v: &Value) -> Vec<&Value> {
    v.as_array().map(|a| a.iter().collect()).unwrap_or_default()
}

fn capture_nav(id: i64, name: &str, current: &str) -> String {
    let tab = |href: String, label: &str, key: &str| {
        format!(
            "<a href=\"{href}\"{}>{label}</a>",
            if key == current {
                " class=\"current\""
            } else {
                ""
            }
        )
    };
    format!(
        "<h1>{}</h1><nav class=\"tabs\">{} {} {} {}</nav>",
        esc(name),
        tab(format!("/captures/{id}"), "Dashboard", "dash"),
        tab(format!("/captures/{id}/flows"), "Flows", "flows"),
        tab(format!("/alerts?capture={id}"), "Alerts", "alerts"),
        tab(format!("/files?capture={id}"), "Files", "files"),
    )
}

fn dashboard(app: &App, store: &Store, id: i64) -> R {
    let Some(c) = query::capture(&store.db, id)? else {
        return Ok(Resp::error(404, "no such capture"));
    };
    let mut b = capture_nav(id, &c.name, "dash");
    let _ = write!(
        b,
        "<dl class=\"facts\"><dt>Status</dt><dd id=\"status\">{}</dd><dt>Size</dt><dd>{}</dd>\
<dt>SHA-256</dt><dd class=\"mono\">{}</dd><dt>Packets</dt><dd>{}</dd><dt>Flows</dt><dd>{}</dd>\
<dt>Time</dt><dd>{} – {}</dd></dl>",
        status_badge(&c.status),
        esc(&fmt_bytes(c.size)),
        esc(c.sha256.as_deref().unwrap_or("")),
        c.packets,
        c.flows,
        c.first_ts.map(fmt_ts).unwrap_or_default(),
        c.last_ts.map(fmt_ts).unwrap_or_default(),
    );
    if c.status == "queued" || c.status == "running" {
        let read = app.jobs.progress.get(id).unwrap_or(0);
        let _ = write!(
            b,
            "<section id=\"job\" data-capture=\"{id}\"><p>Analysing… <span id=\"job-text\">{} of {}</span></p>\
<progress id=\"job-progress\" max=\"{}\" value=\"{}\"></progress></section>",
            esc(&fmt_bytes(read as i64)),
            esc(&fmt_bytes(c.size)),
            c.size.max(1),
            read
        );
        return Ok(Resp::html(200, page(&c.name, &b)));
    }
    if let Some(e) = &c.error {
        let _ = write!(b, "<p class=\"error\">{}</p>", esc(e));
    }
    if c.status == "live" {
        b.push_str(
            "<p class=\"note\">Live capture (<code>netsift watch --db</code>): flows appear \
as they end; the figures below are refreshed every 30 seconds. Reload to update.</p>",
        );
    }
    let stats = c.stats.clone().unwrap_or(Value::Null);
    let num = |v: &Value| v.as_f64().unwrap_or(0.0);
    let pair = |v: &Value, i: usize| -> (String, f64) {
        (v[0].as_str().unwrap_or("").to_string(), num(&v[i]))
    };
    let protos = stats_list(&stats["protocols"]);
    let by_flows: Vec<(String, f64)> = protos.iter().take(12).map(|v| pair(v, 1)).collect();
    let mut by_bytes: Vec<(String, f64)> = protos.iter().map(|v| pair(v, 2)).collect();
    by_bytes.sort_by(|a, b| b.1.total_cmp(&a.1));
    by_bytes.truncate(12);
    let talkers: Vec<(String, f64)> = stats_list(&stats["talkers"])
        .iter()
        .map(|v| pair(v, 1))
        .collect();
    let domains: Vec<(String, f64)> = stats_list(&stats["domains"])
        .iter()
        .map(|v| pair(v, 1))
        .collect();
    let alerts: Vec<(String, f64)> = stats_list(&stats["alerts"])
        .iter()
        .map(|v| pair(v, 1))
        .collect();
    let tl = &stats["timeline"];
    let values: Vec<f64> = stats_list(&tl["bytes"]).iter().map(|v| num(v)).collect();
    let start = tl["start_us"].as_i64().unwrap_or(0);
    let end = start + (num(&tl["bucket_us"]) * values.len() as f64) as i64;
    let hosts: Vec<String> = stats_list(&stats["matrix_hosts"])
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    let cells: Vec<(String, String, f64, i64)> = stats_list(&stats["pairs"])
        .iter()
        .map(|v| {
            (
                v[0].as_str().unwrap_or("").to_string(),
                v[1].as_str().unwrap_or("").to_string(),
                num(&v[2]),
                v[3].as_i64().unwrap_or(0),
            )
        })
        .collect();
    let count = |v: f64| format!("{v:.0}");
    let bytes = |v: f64| fmt_bytes(v as i64);
    b.push_str("<div class=\"charts\">");
    b.push_str(&charts::timeline(
        "Traffic over time (bytes)",
        &values,
        &fmt_ts(start),
        &fmt_ts(end),
    ));
    b.push_str(&charts::hbars("Protocols by flows", &by_flows, &count));
    b.push_str(&charts::hbars("Protocols by bytes", &by_bytes, &bytes));
    b.push_str(&charts::hbars("Top talkers (bytes)", &talkers, &bytes));
    b.push_str(&charts::hbars(
        "Top domains (DNS, SNI, HTTP Host)",
        &domains,
        &count,
    ));
    b.push_str(&charts::hbars("Alerts by type", &alerts, &count));
    b.push_str(&charts::matrix(
        "Who talked to whom (initiator → responder, top hosts)",
        &hosts,
        &cells,
    ));
    b.push_str("</div>");
    suspicious_panel(store, id, &mut b)?;
    // Links from the charts' subjects into the flows table.
    b.push_str("<h2>Drill down</h2><ul class=\"links\">");
    for (p, n) in by_flows.iter().take(12) {
        let _ = write!(
            b,
            "<li><a href=\"/captures/{id}/flows?proto={}\">{}</a> ({n:.0})</li>",
            urlenc(p),
            esc(p)
        );
    }
    for (h, _) in talkers.iter().take(5) {
        let _ = write!(
            b,
            "<li><a href=\"/captures/{id}/flows?ip={}\">{}</a></li>",
            urlenc(h),
            esc(h)
        );
    }
    for (d, _) in domains.iter().take(5) {
        let _ = write!(
            b,
            "<li><a href=\"/captures/{id}/flows?q={}\">{}</a></li>",
            urlenc(d),
            esc(d)
        );
    }
    b.push_str("</ul>");
    Ok(Resp::html(200, page(&c.name, &b)))
}

fn qget<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The flows of one capture, or (`cap` None, at `/flows`) of every
/// capture, of one sensor with `sensor=`, with a sensor column.
fn flows_page(store: &Store, cap: Option<i64>, q: &[(String, String)]) -> R {
    let c = match cap {
        Some(id) => match query::capture(&store.db, id)? {
            Some(c) => Some(c),
            None => return Ok(Resp::error(404, "no such capture")),
        },
        None => None,
    };
    let base = match cap {
        Some(id) => format!("/captures/{id}/flows"),
        None => "/flows".to_string(),
    };
    let mut problems = Vec::new();
    let port = match qget(q, "port") {
        Some(p) => match p.parse::<u16>() {
            Ok(p) => Some(p),
            Err(_) => {
                problems.push("port must be 0-65535");
                None
            }
        },
        None => None,
    };
    let ip = match qget(q, "ip") {
        Some(s) => match s.parse::<std::net::IpAddr>() {
            Ok(a) => Some(a.to_string()),
            Err(_) => {
                problems.push("not an IP address");
                None
            }
        },
        None => None,
    };
    let from_us = qget(q, "from").and_then(|s| {
        let t = parse_time(s);
        if t.is_none() {
            problems.push("from: use YYYY-MM-DD HH:MM:SS or epoch seconds");
        }
        t
    });
    let to_us = qget(q, "to").and_then(|s| {
        let t = parse_time(s);
        if t.is_none() {
            problems.push("to: use YYYY-MM-DD HH:MM:SS or epoch seconds");
        }
        t
    });
    let sort = SortCol::parse(qget(q, "sort").unwrap_or("ts"));
    let desc = qget(q, "dir") == Some("desc");
    let offset: u64 = qget(q, "offset").and_then(|s| s.parse().ok()).unwrap_or(0);
    let sensor: Option<String> = match cap {
        Some(_) => None,
        None => qget(q, "sensor").map(|s| s.chars().take(128).collect()),
    };
    let f = FlowFilter {
        capture: cap,
        sensor: sensor.clone(),
        protocol: qget(q, "proto").map(|s| s.chars().take(64).collect()),
        ip,
        port,
        from_us,
        to_us,
        text: qget(q, "q").map(|s| s.chars().take(200).collect()),
        sort,
        desc,
        offset,
        limit: PAGE,
    };
    let (rows, count) = query::flows(&store.db, &f)?;
    let mut protos = match cap {
        Some(id) => query::protocols(&store.db, id)?,
        None => Vec::new(),
    };
    // Sensors of the captures on this page (the all-captures view).
    let mut sensor_of: std::collections::HashMap<i64, String> = Default::default();
    if cap.is_none() {
        for r in &rows {
            if let std::collections::hash_map::Entry::Vacant(e) = sensor_of.entry(r.capture_id) {
                let s = query::capture(&store.db, r.capture_id)?
                    .map(|c| c.sensor)
                    .unwrap_or_default();
                e.insert(s);
            }
        }
    }
    if let Some(p) = &f.protocol {
        if !protos.contains(p) {
            protos.push(p.clone());
        }
    }
    let mut b = match (&c, cap) {
        (Some(c), Some(id)) => capture_nav(id, &c.name, "flows"),
        _ => String::from("<h1>Flows of every capture</h1>"),
    };
    // The filter form.
    let val = |k: &str| esc(qget(q, k).unwrap_or(""));
    b.push_str("<form class=\"filters\" method=\"get\">");
    if cap.is_none() {
        b.push_str("<label>Sensor <select name=\"sensor\"><option value=\"\">any</option>");
        for (name, _) in query::sensors(&store.db)? {
            let sel = if sensor.as_deref() == Some(name.as_str()) {
                " selected"
            } else {
                ""
            };
            let _ = write!(
                b,
                "<option{sel} value=\"{}\">{}</option>",
                esc(&name),
                esc(&name)
            );
        }
        b.push_str("</select></label> <label>Protocol <input name=\"proto\" size=\"10\" value=\"");
        b.push_str(&val("proto"));
        b.push_str("\"></label> ");
    } else {
        b.push_str("<label>Protocol <select name=\"proto\"><option value=\"\">any</option>");
    }
    for p in protos.iter().filter(|_| cap.is_some()) {
        let sel = if f.protocol.as_deref() == Some(p.as_str()) {
            " selected"
        } else {
            ""
        };
        let _ = write!(b, "<option{sel} value=\"{}\">{}</option>", esc(p), esc(p));
    }
    if cap.is_some() {
        b.push_str("</select></label> ");
    }
    let _ = write!(
        b,
        "<label>IP <input name=\"ip\" value=\"{}\" size=\"16\"></label> \
<label>Port <input name=\"port\" value=\"{}\" size=\"6\"></label> \
<label>From <input name=\"from\" value=\"{}\" size=\"19\" placeholder=\"YYYY-MM-DD HH:MM:SS\"></label> \
<label>To <input name=\"to\" value=\"{}\" size=\"19\"></label> \
<label>Text <input name=\"q\" value=\"{}\" placeholder=\"host, URI, file name\"></label> \
<input type=\"hidden\" name=\"sort\" value=\"{}\"><input type=\"hidden\" name=\"dir\" value=\"{}\">\
<button type=\"submit\">Filter</button> <a href=\"{}\">reset</a></form>",
        val("ip"),
        val("port"),
        val("from"),
        val("to"),
        val("q"),
        sort.name(),
        if desc { "desc" } else { "asc" },
        esc(&base),
    );
    for p in &problems {
        let _ = write!(b, "<p class=\"error\">{}</p>", esc(p));
    }
    let shown = if count > COUNT_CAP {
        format!("more than {COUNT_CAP}")
    } else {
        count.to_string()
    };
    let _ = write!(b, "<p id=\"flow-count\">{shown} flows</p>");
    // Sortable headers keep the filter.
    let keep: Vec<(String, String)> = q
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "sort" | "dir" | "offset"))
        .cloned()
        .collect();
    let link = |extra: &[(&str, String)]| {
        let mut parts: Vec<String> = keep
            .iter()
            .map(|(k, v)| format!("{}={}", urlenc(k), urlenc(v)))
            .collect();
        for (k, v) in extra {
            parts.push(format!("{}={}", urlenc(k), urlenc(v)));
        }
        format!("{base}?{}", parts.join("&"))
    };
    let th = |col: SortCol, label: &str| {
        let next_desc = !(sort == col && desc);
        let arrow = if sort == col {
            if desc {
                " ▼"
            } else {
                " ▲"
            }
        } else {
            ""
        };
        format!(
            "<th><a href=\"{}\">{label}{arrow}</a></th>",
            esc(&link(&[
                ("sort", col.name().to_string()),
                ("dir", if next_desc { "desc" } else { "asc" }.to_string())
            ]))
        )
    };
    let _ = write!(
        b,
        "<table class=\"grid\" id=\"flows\"><thead><tr>{}{}<th>Flow</th>{}<th>Src port</th>{}<th>Dst port</th><th>L4</th>{}{}{}{}<th>State</th></tr></thead><tbody>",
        th(SortCol::Ts, "Time"),
        if cap.is_none() { "<th>Sensor</th>" } else { "" },
        th(SortCol::Src, "Source"),
        th(SortCol::Dst, "Destination"),
        th(SortCol::Protocol, "Protocol"),
        th(SortCol::Packets, "Packets"),
        th(SortCol::Bytes, "Bytes"),
        th(SortCol::Duration, "Duration"),
    );
    for r in &rows {
        let proto = match &r.app {
            Some(a) if a != &r.protocol => format!("{} ({})", r.protocol, a),
            _ => r.protocol.clone(),
        };
        let _ = write!(
            b,
            "<tr><td>{}</td>{}<td><a class=\"flow-link\" href=\"/flows/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.3}s</td><td>{}</td></tr>",
            fmt_ts(r.ts),
            match sensor_of.get(&r.capture_id) {
                Some(s) => format!("<td class=\"sensor\">{}</td>", esc(s)),
                None => String::new(),
            },
            r.id,
            esc(&r.uid),
            esc(&r.src_ip),
            r.src_port,
            esc(&r.dst_ip),
            r.dst_port,
            esc(&r.l4),
            esc(&proto),
            r.orig_pkts + r.resp_pkts,
            esc(&fmt_bytes(r.orig_bytes + r.resp_bytes)),
            r.duration,
            esc(&r.conn_state),
        );
    }
    if rows.is_empty() {
        b.push_str("<tr><td colspan=\"12\">No flows match.</td></tr>");
    }
    b.push_str("</tbody></table><nav class=\"pager\">");
    let keep_sort = [
        ("sort", sort.name().to_string()),
        ("dir", if desc { "desc" } else { "asc" }.to_string()),
    ];
    if offset > 0 {
        let mut e = keep_sort.to_vec();
        e.push(("offset", offset.saturating_sub(PAGE as u64).to_string()));
        let _ = write!(b, "<a href=\"{}\">← previous</a> ", esc(&link(&e)));
    }
    let _ = write!(
        b,
        "rows {}–{} ",
        offset + (!rows.is_empty()) as u64,
        offset + rows.len() as u64
    );
    if rows.len() as u32 == PAGE {
        let mut e = keep_sort.to_vec();
        e.push(("offset", (offset + PAGE as u64).to_string()));
        let _ = write!(b, "<a href=\"{}\" id=\"next\">next →</a>", esc(&link(&e)));
    }
    b.push_str("</nav>");
    let title = c.map_or_else(|| "Flows".to_string(), |c| format!("Flows · {}", c.name));
    Ok(Resp::html(200, page(&title, &b)))
}

/// A record's value as text: strings as they are, others as compact JSON.
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn record_table(rec: &Value) -> String {
    let mut b = String::from("<table class=\"kv\">");
    if let Some(obj) = rec.as_object() {
        for (k, v) in obj {
            if matches!(
                k.as_str(),
                "uid" | "src_ip" | "src_port" | "dst_ip" | "dst_port"
            ) {
                continue;
            }
            let cell = match v {
                // Lists of objects (DNS answers, certificates) as nested tables.
                Value::Array(items) if items.iter().any(Value::is_object) => items
                    .iter()
                    .map(|i| {
                        if i.is_object() {
                            record_table(i)
                        } else {
                            format!("<div>{}</div>", esc(&value_text(i)))
                        }
                    })
                    .collect::<String>(),
                Value::Array(items) => items
                    .iter()
                    .map(|i| format!("<div>{}</div>", esc(&value_text(i))))
                    .collect::<String>(),
                Value::Object(_) => record_table(v),
                _ => esc(&value_text(v)),
            };
            let _ = write!(b, "<tr><th>{}</th><td>{cell}</td></tr>", esc(k));
        }
    }
    b.push_str("</table>");
    b
}

fn flow_page(store: &Store, id: i64) -> R {
    let Some(f) = query::flow(&store.db, id)? else {
        return Ok(Resp::error(404, "no such flow"));
    };
    let c = query::capture(&store.db, f.capture_id)?.unwrap_or_default();
    let records = query::records(&store.db, f.capture_id, &f.uid, MAX_RECORDS)?;
    let files = query::files(&store.db, f.capture_id, &f.uid)?;
    let (alerts, _) = query::alerts(
        &store.db,
        &AlertFilter {
            capture: Some(f.capture_id),
            uid: Some(f.uid.clone()),
            limit: 100,
            ..AlertFilter::default()
        },
    )?;
    let mut b = String::new();
    let _ = write!(
        b,
        "<p><a href=\"/captures/{}/flows\">← flows of {}</a></p>\
<h1>Flow <span class=\"mono\">{}</span></h1>\
<p><a class=\"button\" id=\"pcap-link\" href=\"/flows/{id}/pcap\">Download this flow's packets (pcap)</a></p>",
        f.capture_id,
        esc(&c.name),
        esc(&f.uid)
    );
    let _ = write!(
        b,
        "<h2>Classification</h2><dl class=\"facts\" id=\"classification\"><dt>Protocol</dt><dd>{}</dd><dt>Application</dt><dd>{}</dd>\
<dt>Confidence</dt><dd>{}</dd><dt>Decided by</dt><dd>{}</dd><dt>Evidence</dt><dd>{}</dd></dl>",
        esc(&f.protocol),
        esc(f.app.as_deref().unwrap_or("-")),
        esc(&f.confidence),
        esc(&f.source),
        esc(&f.evidence),
    );
    let _ = write!(
        b,
        "<h2>Connection</h2><dl class=\"facts\"><dt>Start</dt><dd>{}</dd><dt>Duration</dt><dd>{:.6} s</dd>\
<dt>Initiator</dt><dd>{} port {}</dd><dt>Responder</dt><dd>{} port {}</dd><dt>Transport</dt><dd>{}</dd>\
<dt>Packets</dt><dd>{} → / {} ←</dd><dt>Bytes</dt><dd>{} → / {} ←</dd><dt>State</dt><dd>{} ({})</dd>\
<dt>Ended</dt><dd>{}</dd><dt>VLAN</dt><dd>{}</dd><dt>Tunnel</dt><dd>{}</dd><dt>Community ID</dt><dd class=\"mono\">{}</dd></dl>",
        fmt_ts(f.ts),
        f.duration,
        esc(&f.src_ip),
        f.src_port,
        esc(&f.dst_ip),
        f.dst_port,
        esc(&f.l4),
        f.orig_pkts,
        f.resp_pkts,
        f.orig_bytes,
        f.resp_bytes,
        esc(&f.conn_state),
        esc(&f.history),
        esc(&f.end_reason),
        f.vlan.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
        esc(f.tunnel.as_deref().unwrap_or("-")),
        esc(&f.community_id),
    );
    if !alerts.is_empty() {
        b.push_str("<h2>Alerts</h2><ul>");
        for a in &alerts {
            let _ = write!(
                b,
                "<li>{} <span class=\"badge {}\">{}</span> {}: {}</li>",
                fmt_ts(a.ts),
                esc(&a.severity),
                esc(&a.severity),
                esc(&a.kind),
                esc(&a.rule)
            );
        }
        b.push_str("</ul>");
    }
    content_section(&records, &files, &mut b);
    let records: Vec<_> = records
        .into_iter()
        .filter(|r| r.log != "html" && r.log != "js")
        .collect();
    let _ = write!(b, "<h2>Records ({})</h2>", records.len());
    if records.is_empty() {
        b.push_str("<p>No protocol records for this flow.</p>");
    }
    for r in &records {
        let _ = write!(
            b,
            "<section class=\"record\"><h3>{} <small>{}</small></h3>{}</section>",
            esc(&r.log),
            fmt_ts(r.ts),
            record_table(&r.json)
        );
    }
    let _ = write!(b, "<h2>Files ({})</h2>", files.len());
    for file in &files {
        let _ = write!(
            b,
            "<section class=\"file\"><h3>{} <small>{} · {} · {}</small></h3>\
<p class=\"mono\">sha256 {}</p>",
            esc(file.name.as_deref().unwrap_or("(unnamed)")),
            esc(&file.mime),
            esc(&fmt_bytes(file.size)),
            if file.complete {
                "complete"
            } else {
                "incomplete"
            },
            esc(&file.sha256)
        );
        verdict_block(file, &mut b);
        match file
            .path
            .as_deref()
            .and_then(|p| read_head(p, &file.sha256))
        {
            Some(head) => {
                let _ = write!(b, "<p><a href=\"/files/{}\">Download</a></p>", file.id);
                let printable = head
                    .iter()
                    .filter(|&&c| {
                        c == b'\n' || c == b'\r' || c == b'\t' || (0x20..0x7f).contains(&c)
                    })
                    .count();
                let text = std::str::from_utf8(&head).ok();
                let preview = match text {
                    Some(t) if printable * 10 >= head.len() * 9 => esc(t),
                    _ => esc(&hexdump(&head, PREVIEW_BYTES)),
                };
                let _ = write!(
                    b,
                    "<details open><summary>First {} bytes</summary><pre class=\"preview\">{preview}</pre></details>",
                    head.len()
                );
            }
            None => b.push_str("<p>Content not kept (run with file extraction).</p>"),
        }
        b.push_str("</section>");
    }
    Ok(Resp::html(200, page(&format!("Flow {}", f.uid), &b)))
}

/// A file's verdict as a badge, with its reasons.
fn verdict_block(file: &query::FileRow, b: &mut String) {
    let Some(v) = file.verdict.as_deref() else {
        return;
    };
    let _ = write!(
        b,
        "<p class=\"verdict\">Verdict: <span class=\"badge verdict-{v}\">{}</span></p>",
        esc(v)
    );
    if !file.reasons.is_empty() {
        b.push_str("<ul class=\"reasons\">");
        for r in &file.reasons {
            let _ = write!(b, "<li>{}</li>", esc(r));
        }
        b.push_str("</ul>");
    }
}

fn jstr(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// The flow's content: each HTML page summarised as text (never
/// rendered: every value is escaped), its scripts with their indicators,
/// and the attachments/files with their verdicts.
fn content_section(records: &[query::Record], files: &[query::FileRow], b: &mut String) {
    let html: Vec<&query::Record> = records.iter().filter(|r| r.log == "html").collect();
    let js: Vec<&query::Record> = records.iter().filter(|r| r.log == "js").collect();
    let judged: Vec<&query::FileRow> = files.iter().filter(|f| f.verdict.is_some()).collect();
    if html.is_empty() && js.is_empty() && judged.is_empty() {
        return;
    }
    b.push_str("<h2>Content</h2><div id=\"content\">");
    for h in &html {
        let j = &h.json;
        let _ = write!(
            b,
            "<section class=\"html-summary\"><h3>HTML page <small>{}</small></h3><dl class=\"facts\">\
<dt>Title</dt><dd>{}</dd><dt>Size</dt><dd>{}</dd><dt>Links</dt><dd>{}</dd><dt>Scripts</dt><dd>{} ({} inline, {} external)</dd>\
<dt>Iframes</dt><dd>{}</dd><dt>Forms</dt><dd>{}</dd><dt>Meta refresh</dt><dd>{}</dd></dl>",
            esc(j["file_name"].as_str().unwrap_or("")),
            esc(&jstr(&j["title"])),
            esc(&fmt_bytes(j["size"].as_i64().unwrap_or(0))),
            j["counts"]["links"].as_i64().unwrap_or(0),
            j["counts"]["scripts"].as_i64().unwrap_or(0),
            j["counts"]["inline_scripts"].as_i64().unwrap_or(0),
            j["counts"]["external_scripts"].as_i64().unwrap_or(0),
            j["counts"]["iframes"].as_i64().unwrap_or(0),
            j["counts"]["forms"].as_i64().unwrap_or(0),
            esc(&jstr(&j["meta_refresh"])),
        );
        let list = |b: &mut String, title: &str, items: &Value, f: &dyn Fn(&Value) -> String| {
            let Some(a) = items.as_array().filter(|a| !a.is_empty()) else {
                return;
            };
            let _ = write!(b, "<h4>{}</h4><ul>", esc(title));
            for i in a {
                let _ = write!(b, "<li>{}</li>", esc(&f(i)));
            }
            b.push_str("</ul>");
        };
        list(b, "Scripts", &j["scripts"], &|s| {
            if s["inline"] == true {
                format!(
                    "inline, {} bytes, score {}, sha256 {}",
                    s["size"].as_i64().unwrap_or(0),
                    s["score"].as_i64().unwrap_or(0),
                    s["sha256"].as_str().unwrap_or("")
                )
            } else {
                format!(
                    "{}{}",
                    s["src"].as_str().unwrap_or(""),
                    if s["cross_domain"] == true {
                        "  [another site]"
                    } else {
                        ""
                    }
                )
            }
        });
        list(b, "Iframes", &j["iframes"], &|f| {
            format!(
                "{}{}{}",
                f["src"].as_str().unwrap_or("(no src)"),
                if f["hidden"] == true {
                    format!("  [HIDDEN: {}]", f["hidden_by"].as_str().unwrap_or(""))
                } else {
                    String::new()
                },
                if f["cross_domain"] == true {
                    "  [another site]"
                } else {
                    ""
                }
            )
        });
        list(b, "Forms", &j["forms"], &|f| {
            format!(
                "{} {}{}{}",
                f["method"].as_str().unwrap_or("get").to_ascii_uppercase(),
                f["action"].as_str().unwrap_or("(this page)"),
                if f["password"] == true {
                    "  [password field]"
                } else {
                    ""
                },
                if f["cross_domain"] == true {
                    "  [posts to another site]"
                } else {
                    ""
                }
            )
        });
        list(b, "Links to executables", &j["exe_links"], &jstr);
        list(b, "Redirects", &j["redirects"], &jstr);
        b.push_str("</section>");
    }
    for s in &js {
        let j = &s.json;
        let _ = write!(
            b,
            "<section class=\"js-summary\"><h3>Script <small>{} {}</small></h3><p>Score {}{}: {}</p>",
            esc(j["file_name"].as_str().unwrap_or("")),
            esc(j["origin"].as_str().unwrap_or("")),
            j["score"].as_i64().unwrap_or(0),
            if j["suspicious"] == true { " (suspicious)" } else { "" },
            esc(j["reasons"].as_str().unwrap_or(""))
        );
        b.push_str("</section>");
    }
    if !judged.is_empty() {
        b.push_str("<h3>Files and attachments</h3><table><thead><tr><th>Name</th><th>Type</th><th>Size</th><th>Verdict</th><th>Reasons</th></tr></thead><tbody>");
        for f in judged {
            let v = f.verdict.as_deref().unwrap_or("");
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td><span class=\"badge verdict-{v}\">{}</span></td><td>{}</td></tr>",
                esc(f.name.as_deref().unwrap_or("(unnamed)")),
                esc(&f.mime),
                esc(&fmt_bytes(f.size)),
                esc(v),
                esc(&f.reasons.join("; "))
            );
        }
        b.push_str("</tbody></table>");
    }
    b.push_str("</div>");
}

/// Rows of a files table (files page, dashboard panel).
fn file_rows(
    store: &Store,
    files: &[query::FileRow],
    b: &mut String,
) -> Result<(), netsift_store::StoreError> {
    b.push_str("<table class=\"files\"><thead><tr><th>Time</th><th>Name</th><th>Source</th><th>Type</th><th>Size</th><th>Verdict</th><th>Reasons</th><th>Flow</th></tr></thead><tbody>");
    for f in files {
        let v = f.verdict.as_deref().unwrap_or("-");
        let flow = query::flow_id_by_uid(&store.db, f.capture_id, &f.uid)?;
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><span class=\"badge verdict-{}\">{}</span></td><td>{}</td><td>{}</td></tr>",
            fmt_ts(f.ts),
            esc(f.name.as_deref().unwrap_or("(unnamed)")),
            esc(&f.source),
            esc(&f.mime),
            esc(&fmt_bytes(f.size)),
            esc(v),
            esc(v),
            esc(&f.reasons.join("; ")),
            match flow {
                Some(id) => format!("<a href=\"/flows/{id}\">{}</a>", esc(&f.uid)),
                None => esc(&f.uid),
            }
        );
    }
    b.push_str("</tbody></table>");
    Ok(())
}

/// The dashboard's "suspicious content" panel: the capture's files judged
/// suspicious or malicious, worst first.
fn suspicious_panel(
    store: &Store,
    capture: i64,
    b: &mut String,
) -> Result<(), netsift_store::StoreError> {
    let mut files = query::files_by_verdict(&store.db, Some(capture), Some("flagged"), 20)?;
    files.sort_by_key(|f| (f.verdict.as_deref() != Some("malicious"), -f.ts));
    let _ = write!(
        b,
        "<section id=\"suspicious-content\"><h2>Suspicious content ({})</h2>",
        files.len()
    );
    if files.is_empty() {
        b.push_str("<p>No carved file was judged suspicious or malicious.</p>");
    } else {
        file_rows(store, &files, b)?;
        let _ = write!(
            b,
            "<p><a href=\"/files?capture={capture}&amp;verdict=flagged\">All flagged files</a></p>"
        );
    }
    b.push_str("</section>");
    Ok(())
}

/// `/files?capture=N&verdict=V`: carved files, filterable by verdict.
fn files_page(store: &Store, q: &[(String, String)]) -> R {
    let capture = qget(q, "capture").and_then(|c| c.parse::<i64>().ok());
    let verdict = qget(q, "verdict").filter(|v| query::VERDICTS.contains(v) || *v == "flagged");
    let files = query::files_by_verdict(&store.db, capture, verdict, 500)?;
    let counts = query::verdict_counts(&store.db, capture)?;
    let mut b =
        match capture.and_then(|c| query::capture(&store.db, c).ok().flatten().map(|x| (c, x))) {
            Some((c, cap)) => capture_nav(c, &cap.name, "files"),
            None => "<h1>Files</h1>".to_string(),
        };
    let base = match capture {
        Some(c) => format!("/files?capture={c}&amp;"),
        None => "/files?".to_string(),
    };
    b.push_str("<nav class=\"filters\" id=\"verdict-filter\">Verdict: ");
    let _ = write!(
        b,
        "<a href=\"{}\">all</a>",
        base.trim_end_matches("&amp;").trim_end_matches('?')
    );
    for v in ["flagged", "malicious", "suspicious", "benign"] {
        let n: i64 = counts
            .iter()
            .filter(|(k, _)| k == v || (v == "flagged" && (k == "malicious" || k == "suspicious")))
            .map(|(_, n)| n)
            .sum();
        let _ = write!(
            b,
            " · <a href=\"{base}verdict={v}\"{}>{v} ({n})</a>",
            if verdict == Some(v) {
                " class=\"current\""
            } else {
                ""
            }
        );
    }
    b.push_str("</nav>");
    let _ = write!(b, "<p>{} file(s) shown.</p>", files.len());
    file_rows(store, &files, &mut b)?;
    Ok(Resp::html(200, page("Files", &b)))
}

/// The stored path of a carved file, accepted only when its file name is
/// the file's SHA-256 (how the analysis names carved files).
fn carved_path(path: &str, sha256: &str) -> Option<PathBuf> {
    let p = PathBuf::from(path);
    let ok = sha256.len() == 64
        && sha256.bytes().all(|c| c.is_ascii_hexdigit())
        && p.file_name().and_then(|n| n.to_str()) == Some(sha256);
    ok.then_some(p)
}

fn read_head(path: &str, sha256: &str) -> Option<Vec<u8>> {
    let p = carved_path(path, sha256)?;
    let f = std::fs::File::open(p).ok()?;
    let mut v = Vec::with_capacity(PREVIEW_BYTES);
    f.take(PREVIEW_BYTES as u64).read_to_end(&mut v).ok()?;
    Some(v)
}

fn file_download(store: &Store, id: i64) -> R {
    let Some(f) = query::file(&store.db, id)? else {
        return Ok(Resp::error(404, "no such file"));
    };
    let Some(p) = f.path.as_deref().and_then(|p| carved_path(p, &f.sha256)) else {
        return Ok(Resp::error(404, "the file's content was not kept"));
    };
    match std::fs::File::open(&p).and_then(|h| h.metadata().map(|m| (h, m.len()))) {
        Ok((h, len)) => Ok(Resp::download(
            h,
            len,
            &format!("{}.bin", f.sha256),
            "application/octet-stream",
        )),
        Err(_) => Ok(Resp::error(404, "the file's content is gone")),
    }
}

fn flow_pcap(app: &App, store: &Store, id: i64) -> R {
    let Some(f) = query::flow(&store.db, id)? else {
        return Ok(Resp::error(404, "no such flow"));
    };
    let Some(c) = query::capture(&store.db, f.capture_id)? else {
        return Ok(Resp::error(404, "no such capture"));
    };
    let Some(path) = c.path.as_deref().map(PathBuf::from) else {
        return Ok(Resp::error(404, "the capture file was not kept"));
    };
    let mut cfg = netsift_engine::PipelineConfig::default();
    cfg.flow.uid_seed = c.uid_seed;
    netsift_store::apply_flow_settings(&mut cfg.flow, c.flow_settings.as_ref());
    let frames = match netsift_engine::extract::flow_frames(&path, cfg, &f.uid) {
        Ok(fr) if !fr.is_empty() => fr,
        Ok(_) => {
            return Ok(Resp::error(
                404,
                "the flow's packets were not found (analysed with other flow settings?)",
            ))
        }
        Err(e) => return Ok(Resp::error(500, &e.to_string())),
    };
    let seq = UPLOAD_SEQ.fetch_add(1, Ordering::Relaxed);
    let tmp = app
        .tmp_dir()
        .join(format!("flow-{}-{seq}.pcap", std::process::id()));
    let written = std::fs::File::create(&tmp)
        .map_err(|e| e.to_string())
        .and_then(|out| {
            netsift_engine::extract::write_frames(&path, &frames, std::io::BufWriter::new(out))
                .map_err(|e| e.to_string())
        });
    let opened = written.and_then(|_| {
        std::fs::File::open(&tmp)
            .and_then(|h| h.metadata().map(|m| (h, m.len())))
            .map_err(|e| e.to_string())
    });
    // Unlinked now; the open handle keeps the bytes until they are sent.
    let _ = std::fs::remove_file(&tmp);
    match opened {
        Ok((h, len)) => Ok(Resp::download(
            h,
            len,
            &format!("flow-{}.pcap", f.uid),
            "application/vnd.tcpdump.pcap",
        )),
        Err(e) => Ok(Resp::error(500, &e)),
    }
}

fn alerts_page(store: &Store, q: &[(String, String)]) -> R {
    let capture = qget(q, "capture").and_then(|s| s.parse::<i64>().ok());
    let offset: u64 = qget(q, "offset").and_then(|s| s.parse().ok()).unwrap_or(0);
    let sensor: Option<String> = qget(q, "sensor").map(|s| s.chars().take(128).collect());
    let f = AlertFilter {
        capture,
        sensor: sensor.clone(),
        kind: qget(q, "type").map(|s| s.chars().take(64).collect()),
        severity: qget(q, "severity").map(|s| s.chars().take(16).collect()),
        uid: None,
        from_us: qget(q, "from").and_then(parse_time),
        to_us: qget(q, "to").and_then(parse_time),
        offset,
        limit: PAGE,
    };
    let (rows, count) = query::alerts(&store.db, &f)?;
    let mut b = String::new();
    match capture.and_then(|c| query::capture(&store.db, c).ok().flatten()) {
        Some(c) => b.push_str(&capture_nav(c.id, &c.name, "alerts")),
        None => b.push_str("<h1>Alerts</h1>"),
    }
    let val = |k: &str| esc(qget(q, k).unwrap_or(""));
    b.push_str("<form class=\"filters\" method=\"get\">");
    if let Some(c) = capture {
        let _ = write!(b, "<input type=\"hidden\" name=\"capture\" value=\"{c}\">");
    } else {
        b.push_str("<label>Sensor <select name=\"sensor\"><option value=\"\">any</option>");
        for (name, _) in query::sensors(&store.db)? {
            let sel = if sensor.as_deref() == Some(name.as_str()) {
                " selected"
            } else {
                ""
            };
            let _ = write!(
                b,
                "<option{sel} value=\"{}\">{}</option>",
                esc(&name),
                esc(&name)
            );
        }
        let _ = write!(
            b,
            "</select></label> <label>From <input name=\"from\" value=\"{}\" size=\"19\"></label> \
<label>To <input name=\"to\" value=\"{}\" size=\"19\"></label> ",
            val("from"),
            val("to")
        );
    }
    b.push_str("<label>Type <select name=\"type\"><option value=\"\">any</option>");
    for t in [
        "ip-blacklist",
        "domain-blacklist",
        "url-blacklist",
        "signature",
        "port-scan",
        "brute-force",
        "anomaly",
    ] {
        let sel = if f.kind.as_deref() == Some(t) {
            " selected"
        } else {
            ""
        };
        let _ = write!(b, "<option{sel}>{t}</option>");
    }
    b.push_str("</select></label> <label>Severity <select name=\"severity\"><option value=\"\">any</option>");
    for s in ["info", "low", "medium", "high", "critical"] {
        let sel = if f.severity.as_deref() == Some(s) {
            " selected"
        } else {
            ""
        };
        let _ = write!(b, "<option{sel}>{s}</option>");
    }
    let _ = write!(
        b,
        "</select></label> <button type=\"submit\">Filter</button></form><p>{} alerts{}</p>",
        if count > COUNT_CAP {
            format!("more than {COUNT_CAP}")
        } else {
            count.to_string()
        },
        if val("type").is_empty() {
            ""
        } else {
            " of this type"
        }
    );
    b.push_str("<table class=\"grid\" id=\"alerts\"><thead><tr><th>Time</th><th>Severity</th><th>Type</th><th>Rule</th><th>Source</th><th>Destination</th><th>Flow</th><th>Evidence</th></tr></thead><tbody>");
    for a in &rows {
        let ep = |ip: &Option<String>, port: Option<i64>| match (ip, port) {
            (Some(i), Some(p)) => format!("{} port {p}", esc(i)),
            (Some(i), None) => esc(i),
            _ => "-".into(),
        };
        let flow = match (&a.uid, a.flow_id) {
            (Some(u), Some(fid)) => format!("<a href=\"/flows/{fid}\">{}</a>", esc(u)),
            (Some(u), None) => esc(u),
            _ => "-".into(),
        };
        let _ = write!(
            b,
            "<tr><td>{}</td><td><span class=\"badge {}\">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td></tr>",
            fmt_ts(a.ts),
            esc(&a.severity),
            esc(&a.severity),
            esc(&a.kind),
            esc(&a.rule),
            ep(&a.src_ip, a.src_port),
            ep(&a.dst_ip, a.dst_port),
            flow,
            esc(&a.json.get("evidence").map(|v| v.to_string()).unwrap_or_default()),
        );
    }
    if rows.is_empty() {
        b.push_str("<tr><td colspan=\"8\">No alerts.</td></tr>");
    }
    b.push_str("</tbody></table><nav class=\"pager\">");
    let base: Vec<String> = q
        .iter()
        .filter(|(k, _)| k != "offset")
        .map(|(k, v)| format!("{}={}", urlenc(k), urlenc(v)))
        .collect();
    if offset > 0 {
        let _ = write!(
            b,
            "<a href=\"{}\">← previous</a> ",
            esc(&format!(
                "/alerts?{}&offset={}",
                base.join("&"),
                offset.saturating_sub(PAGE as u64)
            ))
        );
    }
    if rows.len() as u32 == PAGE {
        let _ = write!(
            b,
            "<a href=\"{}\">next →</a>",
            esc(&format!(
                "/alerts?{}&offset={}",
                base.join("&"),
                offset + PAGE as u64
            ))
        );
    }
    b.push_str("</nav>");
    Ok(Resp::html(200, page("Alerts", &b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carved_paths_must_be_named_by_hash() {
        let h = "a".repeat(64);
        assert!(carved_path(&format!("/x/files/{h}"), &h).is_some());
        assert!(carved_path("/etc/passwd", &h).is_none());
        assert!(carved_path(&format!("/x/{h}/../../etc/passwd"), &h).is_none());
        assert!(carved_path("/x/..", "..").is_none());
    }

    #[test]
    fn record_values_are_escaped() {
        let t = record_table(&json!({"host": "<script>alert(1)</script>",
            "answers": [{"rdata": "<img src=x>"}], "tags": ["<b>"]}));
        assert!(!t.contains("<script>") && !t.contains("<img") && !t.contains("<b>"));
        assert!(t.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }
}
