//! Detection on top of the analysis output: an [`Output`] decorator that
//! looks at every record and flow as it is written and raises alerts.
//!
//! * IP blacklist: both endpoints of every flow (longest-prefix match).
//! * Domain blacklist: DNS queries and answers (CNAME targets), TLS and QUIC
//!   SNI, HTTP Host.
//! * URL blacklist: HTTP URIs, raw and percent-decoded.
//! * Port scans: every flow, through [`ScanDetector`] (Zeek's thresholds by
//!   default, packet time).
//! * Brute force: FTP logins (PASS answered 530 or 230), through
//!   [`BruteForceDetector`].
//!
//! Scan and brute-force alerts are written when the run ends, one per
//! scanner and target set (or client and service), with the final counts.
//!
//! Payload signatures need the reassembled streams, not the records: the
//! analyzer matches them ([`super::Analyzer::set_signatures`]) and its alerts
//! pass through here too.

use std::net::IpAddr;

use netsift_detect::alert::{Alert, AlertType, Evidence, Severity};
use netsift_detect::brute::{
    BruteForceConfig, BruteForceDetector, BruteForceFinding, LoginAttempt,
};
use netsift_detect::rules::{host_without_port, Rules};
use netsift_detect::scan::{ConnSummary, ScanConfig, ScanDetector, ScanFinding};
use serde_json::Value;

use super::output::{Common, Output, Summary};
use crate::record::FlowRecord;

/// Wraps an output; every alert also goes to `alerts` for the caller.
pub struct Detecting<'o> {
    inner: &'o mut dyn Output,
    rules: Rules,
    scan: ScanDetector,
    brute: BruteForceDetector,
    /// Every alert raised, in order (the CLI prints and aggregates them).
    pub alerts: Vec<Alert>,
}

impl<'o> Detecting<'o> {
    pub fn new(inner: &'o mut dyn Output, rules: Rules) -> Self {
        let mut scan_cfg = ScanConfig::default();
        if let Some(w) = rules.scan.window {
            scan_cfg.interval_ns = (w.max(0.0) * 1e9) as u64;
        }
        if let Some(p) = rules.scan.distinct_ports {
            scan_cfg.port_scan_threshold = p as usize;
        }
        if let Some(h) = rules.scan.distinct_hosts {
            scan_cfg.addr_scan_threshold = h as usize;
        }
        let mut brute_cfg = BruteForceConfig::default();
        if let Some(w) = rules.brute_force.window {
            brute_cfg.interval_ns = (w.max(0.0) * 1e9) as u64;
        }
        if let Some(f) = rules.brute_force.failures {
            brute_cfg.threshold = f as usize;
        }
        Detecting {
            inner,
            rules,
            scan: ScanDetector::new(scan_cfg),
            brute: BruteForceDetector::new(brute_cfg),
            alerts: Vec::new(),
        }
    }

    fn raise(&mut self, a: Alert) {
        self.inner.alert(&a);
        self.alerts.push(a);
    }

    fn flow_alert(kind: AlertType, rule: &str, ts: u64, c: &Common) -> Alert {
        Alert::new(ts, kind, rule)
            .with_uid(c.uid.clone())
            .with_endpoints(c.src_ip, Some(c.src_port), c.dst_ip, Some(c.dst_port))
    }

    fn check_domain(&mut self, ts: u64, c: &Common, name: &str, source: &str) {
        let Some(list) = self.rules.domain.as_ref() else {
            return;
        };
        let name = host_without_port(name);
        if let Some(rule) = list.lookup(name) {
            let rule = rule.domain.clone();
            let a = Self::flow_alert(AlertType::DomainBlacklist, &rule, ts, c)
                .with_severity(Severity::High)
                .with_evidence(Evidence::domain(name, source));
            self.raise(a);
        }
    }

    fn scan_alert(f: &ScanFinding) -> Alert {
        let target = f
            .target_host
            .map(|h| h.to_string())
            .or(f.target_port.map(|p| format!("port {p}")))
            .unwrap_or_else(|| "many hosts".to_string());
        let rule = format!("{:?} {} scan of {target}", f.kind, f.scan_type.as_str()).to_lowercase();
        let mut ev = Evidence::ip(f.scanner);
        if let Ok(Value::Object(m)) = serde_json::to_value(f) {
            ev.extra = m;
        }
        let mut a = Alert::new(f.first_ts_ns, AlertType::PortScan, rule)
            .with_severity(Severity::Medium)
            .with_evidence(ev);
        if let Some(h) = f.target_host {
            a = a.with_endpoints(f.scanner, None, h, None);
        }
        a
    }

    fn brute_alert(f: &BruteForceFinding) -> Alert {
        let mut ev = Evidence::ip(f.client);
        if let Ok(Value::Object(m)) = serde_json::to_value(f) {
            ev.extra = m;
        }
        Alert::new(
            f.first_ts_ns,
            AlertType::BruteForce,
            format!("{} login failures", f.service),
        )
        .with_severity(Severity::High)
        .with_endpoints(f.client, None, f.server, Some(f.server_port))
        .with_evidence(ev)
    }
}

impl Output for Detecting<'_> {
    fn record(&mut self, log: &'static str, ts_ns: u64, c: &Common, record: Value) {
        match log {
            "dns" => {
                if let Some(q) = record.get("query").and_then(Value::as_str) {
                    self.check_domain(ts_ns, c, q, "dns query");
                }
                if let Some(ans) = record.get("answers").and_then(Value::as_array) {
                    for a in ans.iter().filter_map(Value::as_str).take(64) {
                        // CNAME/NS/PTR answers are names; addresses never match.
                        if a.parse::<IpAddr>().is_err() && !a.contains(' ') {
                            self.check_domain(ts_ns, c, a, "dns answer");
                        }
                    }
                }
            }
            "tls" | "quic" => {
                if let Some(sni) = record.get("server_name").and_then(Value::as_str) {
                    self.check_domain(
                        ts_ns,
                        c,
                        sni,
                        if log == "tls" { "tls sni" } else { "quic sni" },
                    );
                }
            }
            "http" => {
                if let Some(h) = record.get("host").and_then(Value::as_str) {
                    self.check_domain(ts_ns, c, h, "http host");
                }
                if let (Some(list), Some(uri)) = (
                    self.rules.url.as_ref(),
                    record.get("uri").and_then(Value::as_str),
                ) {
                    let hits: Vec<(String, bool)> = list
                        .matches(uri.as_bytes())
                        .iter()
                        .map(|m| (m.rule.pattern.clone(), m.raw))
                        .collect();
                    for (pattern, raw) in hits {
                        let a = Self::flow_alert(AlertType::UrlBlacklist, &pattern, ts_ns, c)
                            .with_severity(Severity::High)
                            .with_evidence(Evidence::uri(uri, !raw));
                        self.raise(a);
                    }
                }
            }
            "ftp" => {
                let cmd = record.get("command").and_then(Value::as_str);
                let code = record.get("reply_code").and_then(Value::as_u64);
                if let (Some("PASS"), Some(code)) = (cmd, code) {
                    if code == 530 || code == 230 {
                        let user = record.get("user").and_then(Value::as_str);
                        let attempt = LoginAttempt {
                            ts_ns,
                            client: c.src_ip,
                            server: c.dst_ip,
                            server_port: c.dst_port,
                            service: "FTP",
                            user,
                            success: code == 230,
                        };
                        // Reported at the end with the final counts (pcap mode).
                        let _ = self.brute.observe(&attempt);
                    }
                }
            }
            _ => {}
        }
        self.inner.record(log, ts_ns, c, record);
    }

    fn conn(&mut self, ts_ns: u64, rec: &FlowRecord) {
        let (src, dst) = (rec.src_ip.parse::<IpAddr>(), rec.dst_ip.parse::<IpAddr>());
        if let (Ok(src), Ok(dst)) = (src, dst) {
            let c = Common {
                uid: rec.uid.clone(),
                src_ip: src,
                src_port: rec.src_port,
                dst_ip: dst,
                dst_port: rec.dst_port,
            };
            if let Some(list) = self.rules.ip.as_ref() {
                let (a, b) = list.lookup_pair(src, dst);
                let hits: Vec<(String, IpAddr)> = [(a, src), (b, dst)]
                    .into_iter()
                    .filter_map(|(r, ip)| r.map(|r| (r.text.clone(), ip)))
                    .collect();
                for (rule, ip) in hits {
                    let a = Self::flow_alert(AlertType::IpBlacklist, &rule, ts_ns, &c)
                        .with_severity(Severity::High)
                        .with_evidence(Evidence::ip(ip));
                    self.raise(a);
                }
            }
            let proto = match rec.l4.as_str() {
                "TCP" => 6,
                "UDP" => 17,
                "ICMP" => 1,
                "ICMPV6" => 58,
                "SCTP" => 132,
                other => other.parse().unwrap_or(0),
            };
            let summary = ConnSummary {
                ts_ns,
                duration_ns: (rec.duration * 1e9) as u64,
                proto,
                src,
                dst,
                src_port: rec.src_port,
                dst_port: rec.dst_port,
                conn_state: rec.conn_state,
                history: &rec.history,
                first_tcp_flags: rec.first_tcp_flags,
                orig_pkts: rec.orig_pkts,
                resp_pkts: rec.resp_pkts,
                orig_payload_bytes: rec.orig_payload_bytes,
                resp_payload_bytes: rec.resp_payload_bytes,
            };
            // Reported at the end with the final counts (pcap mode).
            let _ = self.scan.observe(&summary);
        }
        self.inner.conn(ts_ns, rec);
    }

    fn alert(&mut self, a: &Alert) {
        // Alerts raised elsewhere (payload signatures, by the analyzer).
        self.inner.alert(a);
        self.alerts.push(a.clone());
    }

    fn finish(&mut self) -> std::io::Result<()> {
        // One alert per scanner and target set, and per brute-forced
        // service, with the final counts.
        let scan = std::mem::replace(&mut self.scan, ScanDetector::new(ScanConfig::default()));
        for f in scan.finish() {
            let a = Self::scan_alert(&f);
            self.raise(a);
        }
        let brute = std::mem::replace(
            &mut self.brute,
            BruteForceDetector::new(BruteForceConfig::default()),
        );
        for f in brute.finish() {
            let a = Self::brute_alert(&f);
            self.raise(a);
        }
        self.inner.finish()
    }

    fn summary(&self) -> &Summary {
        self.inner.summary()
    }
}
