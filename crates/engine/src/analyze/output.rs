//! Where `netsift analyze` writes: one JSONL file per log in a directory
//! (`conn.jsonl`, `http.jsonl`, `files.jsonl`, ...), or one EVE-style stream
//! with an `event_type` field. Both keep a summary for the end of the run.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::record::{micros_to_secs, FlowRecord};

/// The fields every record starts with.
#[derive(Debug, Clone)]
pub struct Common {
    pub uid: String,
    pub src_ip: IpAddr,
    pub src_port: u16,
    pub dst_ip: IpAddr,
    pub dst_port: u16,
}

/// A sink for records.
pub trait Output {
    /// A protocol record (or a `files` record) of a flow.
    fn record(&mut self, log: &'static str, ts_ns: u64, common: &Common, record: Value);
    /// A flow record (`conn`).
    fn conn(&mut self, ts_ns: u64, rec: &FlowRecord);
    /// An alert (`alerts.jsonl`, or `event_type: "alert"` in EVE).
    fn alert(&mut self, _alert: &netsift_detect::alert::Alert) {}
    /// Flush everything; the first I/O error, if any.
    fn finish(&mut self) -> std::io::Result<()>;
    /// What was seen.
    fn summary(&self) -> &Summary;
}

/// `ts`, `uid`, endpoints, then the record's own fields.
fn with_common(ts_ns: u64, c: &Common, record: Value) -> Value {
    let mut m = Map::new();
    m.insert("ts".into(), Value::from(micros_to_secs(ts_ns)));
    m.insert("uid".into(), Value::from(c.uid.clone()));
    m.insert("src_ip".into(), Value::from(c.src_ip.to_string()));
    m.insert("src_port".into(), Value::from(c.src_port));
    m.insert("dst_ip".into(), Value::from(c.dst_ip.to_string()));
    m.insert("dst_port".into(), Value::from(c.dst_port));
    if let Value::Object(fields) = record {
        for (k, v) in fields {
            m.entry(k).or_insert(v);
        }
    }
    Value::Object(m)
}

/// Counters for the end-of-run summary.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub flows_by_protocol: HashMap<String, u64>,
    pub bytes_by_host: HashMap<IpAddr, u64>,
    pub domains: HashMap<String, u64>,
    pub records_by_log: HashMap<&'static str, u64>,
    pub files: u64,
}

impl Summary {
    pub fn note_record(&mut self, log: &'static str, record: &Value) {
        *self.records_by_log.entry(log).or_default() += 1;
        if log == "files" {
            self.files += 1;
        }
        let domain = match log {
            "dns" => record.get("query"),
            "http" => record.get("host"),
            "tls" | "quic" => record.get("server_name"),
            _ => None,
        };
        if let Some(d) = domain.and_then(Value::as_str) {
            if !d.is_empty() && self.domains.len() < 1_000_000 {
                let d = d.trim_end_matches('.').to_ascii_lowercase();
                let d = d.split(':').next().unwrap_or("").to_string();
                // Host headers that are addresses are not domains.
                if !d.is_empty() && d.parse::<IpAddr>().is_err() {
                    *self.domains.entry(d).or_default() += 1;
                }
            }
        }
    }

    pub fn note_conn(&mut self, rec: &FlowRecord) {
        *self
            .flows_by_protocol
            .entry(rec.protocol.to_string())
            .or_default() += 1;
        let bytes = rec.orig_bytes + rec.resp_bytes;
        for ip in [&rec.src_ip, &rec.dst_ip] {
            if let Ok(a) = ip.parse::<IpAddr>() {
                if self.bytes_by_host.len() < 1_000_000 || self.bytes_by_host.contains_key(&a) {
                    *self.bytes_by_host.entry(a).or_default() += bytes;
                }
            }
        }
    }

    /// The `n` largest entries of a map, largest first (ties by key).
    pub fn top<K: Clone + Ord>(map: &HashMap<K, u64>, n: usize) -> Vec<(K, u64)> {
        let mut v: Vec<(K, u64)> = map.iter().map(|(k, c)| (k.clone(), *c)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }
}

/// One JSONL file per log in a directory.
pub struct JsonlDir {
    dir: PathBuf,
    files: HashMap<&'static str, BufWriter<File>>,
    error: Option<std::io::Error>,
    summary: Summary,
}

impl JsonlDir {
    pub fn new(dir: &Path) -> std::io::Result<JsonlDir> {
        std::fs::create_dir_all(dir)?;
        // conn.jsonl, files.jsonl and alerts.jsonl always exist, even when empty.
        let mut files = HashMap::new();
        for log in ["conn", "files", "alerts"] {
            files.insert(
                log,
                BufWriter::new(File::create(dir.join(format!("{log}.jsonl")))?),
            );
        }
        Ok(JsonlDir {
            dir: dir.to_path_buf(),
            files,
            error: None,
            summary: Summary::default(),
        })
    }

    fn write(&mut self, log: &'static str, v: &Value) {
        if self.error.is_some() {
            return;
        }
        if !self.files.contains_key(log) {
            match File::create(self.dir.join(format!("{log}.jsonl"))) {
                Ok(f) => {
                    self.files.insert(log, BufWriter::new(f));
                }
                Err(e) => {
                    self.error = Some(e);
                    return;
                }
            }
        }
        if let Some(w) = self.files.get_mut(log) {
            let r = serde_json::to_writer(&mut *w, v)
                .map_err(std::io::Error::from)
                .and_then(|_| w.write_all(b"\n"));
            if let Err(e) = r {
                self.error = Some(e);
            }
        }
    }
}

impl Output for JsonlDir {
    fn record(&mut self, log: &'static str, ts_ns: u64, common: &Common, record: Value) {
        self.summary.note_record(log, &record);
        let v = with_common(ts_ns, common, record);
        self.write(log, &v);
    }

    fn conn(&mut self, _ts_ns: u64, rec: &FlowRecord) {
        self.summary.note_conn(rec);
        let v = serde_json::to_value(rec).unwrap_or(Value::Null);
        self.write("conn", &v);
    }

    fn alert(&mut self, a: &netsift_detect::alert::Alert) {
        *self.summary.records_by_log.entry("alerts").or_default() += 1;
        let v = serde_json::to_value(a).unwrap_or(Value::Null);
        self.write("alerts", &v);
    }

    fn finish(&mut self) -> std::io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        for w in self.files.values_mut() {
            w.flush()?;
        }
        Ok(())
    }

    fn summary(&self) -> &Summary {
        &self.summary
    }
}

/// One merged stream in Suricata's EVE style: every event has
/// `timestamp`, `event_type`, the flow's uid and endpoints, and the record
/// under a key named after its log (`"http": {...}`). Events are sorted by
/// time before writing (held in memory until the end of the run).
pub struct Eve<W: Write> {
    out: W,
    events: Vec<(u64, u64, Value)>,
    seq: u64,
    summary: Summary,
}

impl<W: Write> Eve<W> {
    pub fn new(out: W) -> Self {
        Eve {
            out,
            events: Vec::new(),
            seq: 0,
            summary: Summary::default(),
        }
    }

    fn push(&mut self, ts_ns: u64, v: Value) {
        self.seq += 1;
        self.events.push((ts_ns, self.seq, v));
    }
}

/// RFC 3339 UTC timestamp with microseconds, as EVE writes them (one
/// implementation for alerts and events).
pub use netsift_detect::alert::rfc3339;

impl<W: Write> Output for Eve<W> {
    fn record(&mut self, log: &'static str, ts_ns: u64, c: &Common, record: Value) {
        self.summary.note_record(log, &record);
        let mut m = Map::new();
        m.insert("timestamp".into(), Value::from(rfc3339(ts_ns)));
        m.insert("event_type".into(), Value::from(log));
        m.insert("uid".into(), Value::from(c.uid.clone()));
        m.insert("src_ip".into(), Value::from(c.src_ip.to_string()));
        m.insert("src_port".into(), Value::from(c.src_port));
        m.insert("dest_ip".into(), Value::from(c.dst_ip.to_string()));
        m.insert("dest_port".into(), Value::from(c.dst_port));
        m.insert(log.into(), record);
        self.push(ts_ns, Value::Object(m));
    }

    fn conn(&mut self, ts_ns: u64, rec: &FlowRecord) {
        self.summary.note_conn(rec);
        let mut m = Map::new();
        m.insert("timestamp".into(), Value::from(rfc3339(ts_ns)));
        m.insert("event_type".into(), Value::from("flow"));
        m.insert("uid".into(), Value::from(rec.uid.clone()));
        m.insert("src_ip".into(), Value::from(rec.src_ip.clone()));
        m.insert("src_port".into(), Value::from(rec.src_port));
        m.insert("dest_ip".into(), Value::from(rec.dst_ip.clone()));
        m.insert("dest_port".into(), Value::from(rec.dst_port));
        m.insert("proto".into(), Value::from(rec.l4.clone()));
        m.insert("app_proto".into(), Value::from(rec.protocol));
        m.insert("community_id".into(), Value::from(rec.community_id.clone()));
        m.insert(
            "flow".into(),
            serde_json::to_value(rec).unwrap_or(Value::Null),
        );
        self.push(ts_ns, Value::Object(m));
    }

    fn alert(&mut self, a: &netsift_detect::alert::Alert) {
        let mut m = Map::new();
        m.insert("timestamp".into(), Value::from(rfc3339(a.ts)));
        m.insert("event_type".into(), Value::from("alert"));
        if let Some(uid) = &a.uid {
            m.insert("uid".into(), Value::from(uid.clone()));
        }
        m.insert(
            "alert".into(),
            serde_json::to_value(a).unwrap_or(Value::Null),
        );
        self.push(a.ts, Value::Object(m));
    }

    fn finish(&mut self) -> std::io::Result<()> {
        let mut events = std::mem::take(&mut self.events);
        events.sort_by_key(|(ts, seq, _)| (*ts, *seq));
        for (_, _, v) in events {
            serde_json::to_writer(&mut self.out, &v)?;
            self.out.write_all(b"\n")?;
        }
        self.out.flush()
    }

    fn summary(&self) -> &Summary {
        &self.summary
    }
}

/// Everything written to two outputs (`-o DIR` and `--db FILE` together).
/// The summary is the first output's; `finish` finishes both and returns
/// the first error.
pub struct Tee<'a> {
    pub first: &'a mut dyn Output,
    pub second: &'a mut dyn Output,
}

impl Output for Tee<'_> {
    fn record(&mut self, log: &'static str, ts_ns: u64, common: &Common, record: Value) {
        self.second.record(log, ts_ns, common, record.clone());
        self.first.record(log, ts_ns, common, record);
    }

    fn conn(&mut self, ts_ns: u64, rec: &FlowRecord) {
        self.first.conn(ts_ns, rec);
        self.second.conn(ts_ns, rec);
    }

    fn alert(&mut self, alert: &netsift_detect::alert::Alert) {
        self.first.alert(alert);
        self.second.alert(alert);
    }

    fn finish(&mut self) -> std::io::Result<()> {
        let a = self.first.finish();
        let b = self.second.finish();
        a.and(b)
    }

    fn summary(&self) -> &Summary {
        self.first.summary()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000Z");
        // 2020-09-13T12:26:40Z = 1600000000.
        assert_eq!(
            rfc3339(1_600_000_000_123_456_789),
            "2020-09-13T12:26:40.123456Z"
        );
        // Leap day.
        assert_eq!(
            rfc3339(951_782_400_000_000_000),
            "2000-02-29T00:00:00.000000Z"
        );
    }

    #[test]
    fn common_fields_come_first() {
        let c = Common {
            uid: "Cabc".into(),
            src_ip: "10.0.0.1".parse().expect("ip"),
            src_port: 1,
            dst_ip: "::1".parse().expect("ip"),
            dst_port: 2,
        };
        let v = with_common(
            1_000_000_000,
            &c,
            serde_json::json!({"uid": "spoofed", "method": "GET"}),
        );
        let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
        assert_eq!(
            keys[..6],
            ["ts", "uid", "src_ip", "src_port", "dst_ip", "dst_port"]
        );
        assert_eq!(v["uid"], "Cabc");
        assert_eq!(v["method"], "GET");
    }
}
