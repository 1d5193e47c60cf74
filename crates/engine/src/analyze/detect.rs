//! Detection on top of the analysis output: an [`Output`] decorator that
//! looks at every record and flow as it is written and raises alerts.
//!
//! * IP blacklist: both endpoints of every flow (longest-prefix match).
//! * Domain blacklist: DNS queries and answers (CNAME targets), TLS and QUIC
//!   SNI, HTTP Host.
//! * URL blacklist: HTTP URIs, raw and percent-decoded.
//! * Port scans: every flow, through [`ScanDetector`] (Zeek's thresholds by
//!   default, packet time).
//! * Floods (denial of service): SYN, UDP and ICMP floods against one
//!   target, from the packets ([`Output::packet`]), through [`DosDetector`]
//!   (thresholds in the rules file's `[dos]` section, packet time).
//! * Brute force: login outcomes of FTP (PASS → 530/230), POP3 (→ -ERR/+OK),
//!   IMAP (→ NO/OK), SMTP AUTH (535), HTTP Basic auth (401), and short SSH
//!   sessions, through [`BruteForceDetector`].
//!
//! Scan, flood and brute-force alerts are written when the run ends, one per
//! scanner and target set (or client and service), with the final counts —
//! or, in live mode ([`Detecting::live`]), at once when a scanner or client
//! crosses the threshold, with the counts at that moment.
//!
//! Payload signatures need the reassembled streams, not the records: the
//! analyzer matches them ([`super::Analyzer::set_signatures`]) and its alerts
//! pass through here too.

use std::net::IpAddr;

use netsift_detect::alert::{Alert, AlertType, Evidence, Severity, Summarizer};
use netsift_detect::brute::{
    BruteForceConfig, BruteForceDetector, BruteForceFinding, BruteKind, LoginAttempt,
};
use netsift_detect::dos::{DosDetector, DosFinding, FloodPacket};
use netsift_detect::rules::{host_without_port, Rules};
use netsift_detect::scan::{ConnSummary, ScanConfig, ScanDetector, ScanFinding, ScanMethod};
use netsift_protocols::records::RecordEvent;
use serde_json::Value;

use super::output::{Common, Output, Record, Summary};
use crate::record::FlowRecord;

/// Alerts kept in [`Detecting::alerts`] for printing.
pub const MAX_KEPT_ALERTS: usize = 10_000;

/// Wraps an output; every alert also goes to `alerts` for the caller.
pub struct Detecting<'o> {
    inner: &'o mut dyn Output,
    rules: Rules,
    scan: ScanDetector,
    brute: BruteForceDetector,
    dos: DosDetector,
    /// The first [`MAX_KEPT_ALERTS`] alerts raised, in order, for the
    /// caller to print (every alert is in the output). Not kept in live
    /// mode.
    pub alerts: Vec<Alert>,
    /// The pcap-mode group-by (per rule, per rule and source) of every
    /// alert raised; bounded per group, not per alert.
    pub groups: Summarizer,
    /// Live mode: raise findings at once, keep no alert list.
    live: bool,
    /// Underlying alerts raised (also in live mode).
    pub alerts_raised: u64,
}

impl<'o> Detecting<'o> {
    pub fn new(inner: &'o mut dyn Output, rules: Rules) -> Self {
        Self::with_scan_method(inner, rules, ScanMethod::Threshold)
    }

    /// Like [`Detecting::new`], choosing the scan detection method
    /// (fixed thresholds, Threshold Random Walk, or both).
    pub fn with_scan_method(inner: &'o mut dyn Output, rules: Rules, method: ScanMethod) -> Self {
        let mut scan_cfg = ScanConfig {
            method,
            ..ScanConfig::default()
        };
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
        let b = &rules.brute_force;
        let secs = |w: f64| (w.max(0.0) * 1e9) as u64;
        if let Some(w) = b.window {
            brute_cfg.interval_ns = secs(w);
        }
        if let Some(f) = b.failures {
            brute_cfg.threshold = f as usize;
        }
        if let Some(w) = b.rate_window {
            brute_cfg.rate_interval_ns = secs(w);
        }
        if let Some(f) = b.rate_failures {
            brute_cfg.rate_threshold = f as usize;
        }
        if let Some(n) = b.success_after {
            brute_cfg.success_after = n as usize;
        }
        if let Some(n) = b.ssh_sessions {
            brute_cfg.ssh.sessions = n as usize;
        }
        if let Some(w) = b.ssh_window {
            brute_cfg.ssh.interval_ns = secs(w);
        }
        if let Some(t) = b.ssh_tolerance {
            brute_cfg.ssh.tolerance = t.clamp(0.0, 10.0);
        }
        let dos = DosDetector::new(rules.dos.config());
        Detecting {
            inner,
            dos,
            rules,
            scan: ScanDetector::new(scan_cfg),
            brute: BruteForceDetector::new(brute_cfg),
            alerts: Vec::new(),
            groups: Summarizer::new(),
            live: false,
            alerts_raised: 0,
        }
    }

    /// Live mode: a scan or brute-force finding is raised when it is made
    /// (the threshold is crossed), not at the end of the run; and alerts
    /// are passed on without being kept in [`Detecting::alerts`].
    pub fn live(mut self) -> Self {
        self.live = true;
        self
    }

    fn raise(&mut self, a: Alert) {
        self.inner.alert(&a);
        self.alerts_raised += 1;
        if !self.live {
            self.groups.add(&a);
            if self.alerts.len() < MAX_KEPT_ALERTS {
                self.alerts.push(a);
            }
        }
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

    /// One login outcome for brute-force detection (reported at the end
    /// with the final counts).
    fn login(&mut self, ts_ns: u64, c: &Common, service: &str, user: Option<&str>, success: bool) {
        let attempt = LoginAttempt {
            ts_ns,
            client: c.src_ip,
            server: c.dst_ip,
            server_port: c.dst_port,
            service,
            user,
            success,
        };
        if let Some(f) = self.brute.observe(&attempt) {
            self.brute_found(&f, &c.uid);
        }
    }

    /// A brute-force finding as it is made: a login after failures is an
    /// event, raised at once in every mode; rate, volume and SSH findings
    /// are raised now in live mode and with their final counts at the end
    /// otherwise. The flow whose attempt made it is named to the output
    /// either way ([`Output::flow_flagged`]).
    fn brute_found(&mut self, f: &BruteForceFinding, uid: &str) {
        let a = Self::brute_alert(f);
        if self.live || f.rule == BruteKind::LoginAfterFailures {
            self.raise(a.with_uid(uid.to_string()));
        } else {
            self.inner.flow_flagged(uid, &a);
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

    fn dos_alert(f: &DosFinding) -> Alert {
        let mut ev = Evidence::ip(f.target);
        if let Ok(Value::Object(m)) = serde_json::to_value(f) {
            ev.extra = m;
        }
        // No endpoints: the sources are many (the evidence counts them).
        Alert::new(
            f.first_ts_ns,
            AlertType::Dos,
            format!("{} flood against {}", f.kind.as_str(), f.target),
        )
        .with_severity(Severity::High)
        .with_evidence(ev)
    }

    /// The rule text names the rule and its configured threshold, so the
    /// per-rule summary groups like findings together.
    fn brute_alert(f: &BruteForceFinding) -> Alert {
        let mut ev = Evidence::ip(f.client);
        if let Ok(Value::Object(m)) = serde_json::to_value(f) {
            ev.extra = m;
        }
        let svc = &f.service;
        let (rule, ts, severity) = match f.rule {
            BruteKind::Rate | BruteKind::Volume => (
                format!("{svc} login failures: {} in {} s", f.threshold, f.window_s),
                f.first_ts_ns,
                Severity::High,
            ),
            // A success right after a run of failures: the guess probably
            // worked (a likely compromise).
            BruteKind::LoginAfterFailures => (
                format!("{svc} login after failures"),
                f.success_ts_ns.unwrap_or(f.last_ts_ns),
                Severity::Critical,
            ),
            BruteKind::SshSessions => (
                format!(
                    "SSH password guessing: {} alike short sessions in {} s",
                    f.threshold, f.window_s
                ),
                f.first_ts_ns,
                Severity::High,
            ),
        };
        Alert::new(ts, AlertType::BruteForce, rule)
            .with_severity(severity)
            .with_endpoints(f.client, None, f.server, Some(f.server_port))
            .with_evidence(ev)
    }
}

impl Detecting<'_> {
    /// POP3/IMAP commands (name, status) of one session: each login
    /// command answered is a login attempt.
    fn mail_logins<'r>(
        &mut self,
        ts_ns: u64,
        c: &Common,
        service: &'static str,
        user: Option<&str>,
        cmds: impl Iterator<Item = (&'r str, Option<&'r str>)>,
    ) {
        for (name, status) in cmds.take(4096) {
            let login = matches!(name, "PASS" | "APOP" | "AUTH" | "LOGIN" | "AUTHENTICATE");
            let outcome = match status.unwrap_or("") {
                "+OK" | "OK" => Some(true),
                "-ERR" | "NO" => Some(false),
                _ => None,
            };
            // RFC 1939 §7: USER may already be refused ("-ERR
            // never heard of mailbox name"): a failed login
            // (a user-name guess); its +OK is no success.
            let login = login || (name == "USER" && outcome == Some(false));
            if let (true, Some(success)) = (login, outcome) {
                self.login(ts_ns, c, service, user, success);
            }
        }
    }
}

impl Output for Detecting<'_> {
    fn record(&mut self, log: &'static str, ts_ns: u64, c: &Common, record: &Record) {
        match RecordEvent::of(record) {
            RecordEvent::Dns(r) => {
                if let Some(q) = r.query.as_deref() {
                    self.check_domain(ts_ns, c, q, "dns query");
                }
                // Without a domain list there is nothing to look up (and
                // telling names from addresses parses every answer).
                let answers = if self.rules.domain.is_some() { 64 } else { 0 };
                for a in r.answers.iter().take(answers) {
                    // CNAME/NS/PTR answers are names; addresses never match.
                    if a.parse::<IpAddr>().is_err() && !a.contains(' ') {
                        self.check_domain(ts_ns, c, a, "dns answer");
                    }
                }
            }
            RecordEvent::Tls(r) => {
                if let Some(sni) = r.server_name.as_deref() {
                    self.check_domain(ts_ns, c, sni, "tls sni");
                }
            }
            RecordEvent::Quic(r) => {
                if let Some(sni) = r.server_name.as_deref() {
                    self.check_domain(ts_ns, c, sni, "quic sni");
                }
            }
            RecordEvent::Http(r) => {
                if let Some(h) = r.host.as_deref() {
                    self.check_domain(ts_ns, c, h, "http host");
                }
                // RFC 9110 §15.5.2: 401 Unauthorized answers bad or
                // missing credentials; count it when credentials were sent.
                if let (Some(code), Some(user)) = (r.status_code, r.username.as_deref()) {
                    if code == 401 || (200..400).contains(&code) {
                        self.login(ts_ns, c, "HTTP", Some(user), code != 401);
                    }
                }
                if let (Some(list), Some(uri)) = (self.rules.url.as_ref(), r.uri.as_deref()) {
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
            // Login commands and their outcome: POP3 PASS/APOP/AUTH
            // answered +OK or -ERR (RFC 1939), IMAP LOGIN/AUTHENTICATE
            // answered OK or NO (RFC 9051).
            RecordEvent::Pop3(r) => {
                let cmds = r
                    .commands
                    .iter()
                    .map(|c| (c.command.as_str(), c.status.as_deref()));
                self.mail_logins(ts_ns, c, "POP3", r.user.as_deref(), cmds);
            }
            RecordEvent::Imap(r) => {
                let cmds = r
                    .commands
                    .iter()
                    .map(|c| (c.command.as_str(), c.status.as_deref()));
                self.mail_logins(ts_ns, c, "IMAP", r.user.as_deref(), cmds);
            }
            RecordEvent::Smtp(r) => {
                // RFC 4954: 535 authentication credentials invalid.
                if r.last_reply.as_deref().unwrap_or("").starts_with("535") {
                    self.login(ts_ns, c, "SMTP", r.auth_user.as_deref(), false);
                }
            }
            RecordEvent::Ftp(r) => {
                if let (true, Some(code)) = (r.command == "PASS", r.reply_code) {
                    if code == 530 || code == 230 {
                        self.login(ts_ns, c, "FTP", r.user.as_deref(), code == 230);
                    }
                }
            }
            RecordEvent::Ssh(_) | RecordEvent::Other => {}
        }
        self.inner.record(log, ts_ns, c, record);
    }

    fn conn(&mut self, ts_ns: u64, rec: &FlowRecord) {
        if let Some((src, dst)) = rec.ip_pair() {
            let c = Common {
                uid: rec.uid.clone(),
                src_ip: src,
                src_port: rec.src_port,
                dst_ip: dst,
                dst_port: rec.dst_port,
                proto: netsift_flow::l4_number(&rec.l4),
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
            // Reported now (live mode), or at the end with the final
            // counts (pcap mode), where the detector may run a flow a few
            // flows later to prefetch what it needs.
            if self.live {
                for f in &self.scan.observe(&summary) {
                    let a = Self::scan_alert(f);
                    self.raise(a);
                }
            } else {
                self.scan.observe_deferred(&summary);
            }
            // "Many alike short SSH sessions" (netsift-detect's heuristic;
            // SSH authentication itself is encrypted).
            if rec.protocol == "SSH" {
                if let Some(f) = self.brute.observe_ssh(&summary) {
                    self.brute_found(&f, &rec.uid);
                }
            }
        }
        self.inner.conn(ts_ns, rec);
    }

    fn alert(&mut self, a: &Alert) {
        // Alerts raised elsewhere (payload signatures, by the analyzer).
        self.raise(a.clone());
    }

    fn flow_flagged(&mut self, uid: &str, alert: &Alert) {
        self.inner.flow_flagged(uid, alert);
    }

    fn capture_damaged(&mut self, d: &super::output::CaptureDamage) {
        self.inner.capture_damaged(d);
    }

    fn memory_bytes(&self) -> usize {
        // Scan and flood state; brute force keeps little (bounded per
        // client and service) and is not counted.
        self.scan.memory_bytes() + self.dos.memory_bytes() + self.inner.memory_bytes()
    }

    fn packet(&mut self, p: &FloodPacket) {
        // Raised with the final figures at the end (pcap mode), or now.
        if let Some(f) = self.dos.observe(p) {
            if self.live {
                let a = Self::dos_alert(&f);
                self.raise(a);
            }
        }
    }

    fn tick(&mut self, now_ns: u64) {
        self.inner.tick(now_ns);
    }

    fn finish(&mut self) -> std::io::Result<()> {
        if self.live {
            // Every finding was raised when made.
            return self.inner.finish();
        }
        // One alert per scanner and target set, and per brute-forced
        // service, with the final counts.
        let scan = std::mem::replace(&mut self.scan, ScanDetector::new(ScanConfig::default()));
        for f in scan.finish() {
            let a = Self::scan_alert(&f);
            self.raise(a);
        }
        let dos = std::mem::replace(&mut self.dos, DosDetector::new(self.rules.dos.config()));
        for f in dos.finish() {
            let a = Self::dos_alert(&f);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::output::Summary;

    #[derive(Default)]
    struct Sink {
        summary: Summary,
    }
    impl Output for Sink {
        fn record(&mut self, _l: &'static str, _t: u64, _c: &Common, _r: &Record) {}
        fn conn(&mut self, _t: u64, _r: &FlowRecord) {}
        fn finish(&mut self) -> std::io::Result<()> {
            Ok(())
        }
        fn summary(&self) -> &Summary {
            &self.summary
        }
    }

    fn common(port: u16) -> Common {
        Common {
            uid: format!("C{port}").into(),
            src_ip: "10.0.0.9".parse().expect("ip"),
            src_port: port,
            dst_ip: "10.0.0.1".parse().expect("ip"),
            dst_port: 110,
            proto: 6,
        }
    }

    /// An HTTP transaction refused with 401 (RFC 9110 §15.5.2) although
    /// credentials were sent.
    fn http_401() -> Record {
        Record::typed(netsift_protocols::records::HttpRecord {
            username: Some("bob".into()),
            status_code: Some(401),
            uri: Some("/".into()),
            ..Default::default()
        })
    }

    /// RFC 1939 -ERR to PASS, RFC 9051 NO to LOGIN, RFC 4954 535, RFC 9110
    /// 401: each is a failed login; 10 in 60 s make one alert.
    #[test]
    fn login_failures_of_every_service_count() {
        use netsift_protocols::records::{
            ImapCommand, ImapRecord, Pop3Command, Pop3Record, SmtpRecord,
        };
        let pop3 = Pop3Record {
            user: Some("bob".into()),
            commands: vec![
                Pop3Command {
                    command: "USER".into(),
                    status: Some("+OK".into()),
                    ..Default::default()
                },
                Pop3Command {
                    command: "PASS".into(),
                    status: Some("-ERR".into()),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let imap = ImapRecord {
            user: Some("bob".into()),
            commands: vec![ImapCommand {
                tag: "a".into(),
                command: "LOGIN".into(),
                status: Some("NO".into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        let smtp = SmtpRecord {
            auth_user: Some("bob".into()),
            last_reply: Some("535 5.7.8 Authentication credentials invalid".into()),
            ..Default::default()
        };
        for (log, rec) in [
            ("pop3", Record::typed(pop3)),
            ("imap", Record::typed(imap)),
            ("smtp", Record::typed(smtp)),
            ("http", http_401()),
        ] {
            let mut inner = Sink::default();
            let mut d = Detecting::new(&mut inner, Rules::default());
            for i in 0..9u16 {
                d.record(log, u64::from(i) * 1_000_000_000, &common(40000 + i), &rec);
            }
            d.finish().expect("finish");
            assert!(
                d.alerts.is_empty(),
                "{log}: 9 failures are below the threshold"
            );
            let mut inner = Sink::default();
            let mut d = Detecting::new(&mut inner, Rules::default());
            for i in 0..25u16 {
                d.record(log, u64::from(i) * 1_000_000_000, &common(40000 + i), &rec);
            }
            d.finish().expect("finish");
            assert_eq!(d.alerts.len(), 1, "{log}");
            assert_eq!(d.alerts[0].evidence.extra["failures"], 25, "{log}");
        }
    }

    /// Live mode: the brute-force alert is raised by the 10th failure, as
    /// it happens, and the end of the run adds nothing; the alert list is
    /// not kept (memory would grow with uptime).
    #[test]
    fn live_mode_raises_findings_when_made() {
        #[derive(Default)]
        struct Count {
            summary: Summary,
            alerts: usize,
        }
        impl Output for Count {
            fn record(&mut self, _l: &'static str, _t: u64, _c: &Common, _r: &Record) {}
            fn conn(&mut self, _t: u64, _r: &FlowRecord) {}
            fn alert(&mut self, _a: &Alert) {
                self.alerts += 1;
            }
            fn finish(&mut self) -> std::io::Result<()> {
                Ok(())
            }
            fn summary(&self) -> &Summary {
                &self.summary
            }
        }
        let rec = http_401();
        let mut inner = Count::default();
        let mut d = Detecting::new(&mut inner, Rules::default()).live();
        for i in 0..9u16 {
            d.record(
                "http",
                u64::from(i) * 1_000_000_000,
                &common(40000 + i),
                &rec,
            );
        }
        assert_eq!(d.alerts_raised, 0);
        d.record("http", 9_000_000_000, &common(40009), &rec);
        assert_eq!(d.alerts_raised, 1, "raised by the 10th failure");
        for i in 20..30u16 {
            d.record(
                "http",
                u64::from(i) * 1_000_000_000,
                &common(40000 + i),
                &rec,
            );
        }
        d.finish().expect("finish");
        assert_eq!(d.alerts_raised, 1, "once per client and service");
        assert!(d.alerts.is_empty());
        drop(d);
        assert_eq!(inner.alerts, 1);
    }
}
