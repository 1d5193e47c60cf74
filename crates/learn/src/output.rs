//! The two [`Output`]s of learning: [`Collector`] gathers the training
//! sessions for `netsift learn`, and [`Scoring`] sits in `netsift analyze`'s
//! output chain (`Analyzer → Scoring → Detecting → JsonlDir|Eve`), forwards
//! everything, and scores each session when its flow ends (its `conn`
//! record) or when the run ends, raising `anomaly` alerts through the inner
//! output's `alert()` (so `Detecting` records them, `--fail-on-alert` and
//! the summary see them).

use netsift_detect::alert::Alert;
use netsift_engine::analyze::output::{Common, Output, Record, Summary};
use netsift_engine::record::FlowRecord;

use std::collections::HashMap;

use crate::chain::Chains;
use crate::model::{server_key, Model};
use crate::score::Scorer;
use crate::session::{Protocol, Session, Tracker};

/// Most sessions open at once per protocol.
pub const MAX_OPEN_SESSIONS: usize = 100_000;
/// Most sessions a `Collector` keeps for training.
pub const MAX_TRAIN_SESSIONS: usize = 1_000_000;

/// Collects finished sessions of one protocol.
pub struct Collector {
    tracker: Tracker,
    /// Finished sessions, in order of ending.
    pub sessions: Vec<Session>,
    /// Sessions dropped beyond [`MAX_TRAIN_SESSIONS`].
    pub dropped: u64,
    summary: Summary,
}

impl Collector {
    pub fn new(proto: Protocol) -> Self {
        Collector {
            tracker: Tracker::new(proto, MAX_OPEN_SESSIONS),
            sessions: Vec::new(),
            dropped: 0,
            summary: Summary::default(),
        }
    }

    fn keep(&mut self, s: Session) {
        if self.sessions.len() < MAX_TRAIN_SESSIONS {
            self.sessions.push(s);
        } else {
            self.dropped += 1;
        }
    }
}

impl Output for Collector {
    fn record(&mut self, log: &'static str, ts_ns: u64, c: &Common, record: &Record) {
        if log != self.tracker.proto.as_str() {
            return;
        }
        if let Some(s) = self.tracker.record(
            ts_ns,
            &c.uid,
            (c.src_ip, c.src_port),
            (c.dst_ip, c.dst_port),
            record,
        ) {
            self.keep(s);
        }
    }

    fn conn(&mut self, _ts_ns: u64, rec: &FlowRecord) {
        if let Some(s) = self.tracker.end(&rec.uid) {
            self.keep(s);
        }
    }

    fn finish(&mut self) -> std::io::Result<()> {
        for s in self.tracker.drain() {
            self.keep(s);
        }
        Ok(())
    }

    fn summary(&self) -> &Summary {
        &self.summary
    }
}

/// Which model scores a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// The server's own model (same address, port and banner software)
    /// when the file has one, the general model otherwise.
    #[default]
    Server,
    /// Always the general model.
    General,
}

/// The scorers of one protocol.
struct ProtoModels {
    general: Scorer,
    /// (address:port, software) → scorer.
    servers: HashMap<(String, Option<String>), Scorer>,
    chains: Option<Chains>,
    tracker: Tracker,
}

/// Scores sessions against models (one per protocol) and forwards
/// everything to `inner`.
pub struct Scoring<'o> {
    inner: &'o mut dyn Output,
    models: Vec<ProtoModels>,
    scope: Scope,
    /// Sessions scored and anomaly alerts raised.
    pub scored: u64,
    pub raised: u64,
    /// Sessions scored by a per-server model.
    pub by_server_model: u64,
}

impl<'o> Scoring<'o> {
    /// `models` must be valid (see [`Model::from_json`]); a later model of
    /// the same protocol replaces an earlier one.
    pub fn new(inner: &'o mut dyn Output, models: Vec<Model>) -> Self {
        Scoring::with_scope(inner, models, Scope::Server)
    }

    pub fn with_scope(inner: &'o mut dyn Output, models: Vec<Model>, scope: Scope) -> Self {
        let mut v: Vec<ProtoModels> = Vec::new();
        for mut m in models {
            let Some(p) = Protocol::parse(&m.protocol) else {
                continue;
            };
            v.retain(|x| x.tracker.proto != p);
            let servers = std::mem::take(&mut m.servers)
                .into_iter()
                .map(|s| {
                    let mut sc = Scorer::new(*s.model);
                    sc.label = match &s.software {
                        Some(sw) => format!("server {} ({sw})", s.address),
                        None => format!("server {}", s.address),
                    };
                    ((s.address, s.software), sc)
                })
                .collect();
            let chains = m.chain.take().map(|c| Chains::new(p, &c));
            v.push(ProtoModels {
                general: Scorer::new(m),
                servers,
                chains,
                tracker: Tracker::new(p, MAX_OPEN_SESSIONS),
            });
        }
        Scoring {
            inner,
            models: v,
            scope,
            scored: 0,
            raised: 0,
            by_server_model: 0,
        }
    }

    fn score(&mut self, i: usize, s: &Session) {
        self.scored += 1;
        let pm = &mut self.models[i];
        let own = match self.scope {
            Scope::Server => pm
                .servers
                .get(&(server_key(s.dst_ip, s.dst_port), s.software.clone())),
            Scope::General => None,
        };
        if own.is_some() {
            self.by_server_model += 1;
        }
        let mut alerts = own.unwrap_or(&pm.general).alerts(s);
        if let Some(c) = pm.chains.as_mut() {
            alerts.extend(c.push(s));
        }
        for a in alerts {
            self.raised += 1;
            self.inner.alert(&a);
        }
    }
}

impl Output for Scoring<'_> {
    fn record(&mut self, log: &'static str, ts_ns: u64, c: &Common, record: &Record) {
        let mut evicted = None;
        for (i, pm) in self.models.iter_mut().enumerate() {
            let t = &mut pm.tracker;
            if t.proto.as_str() == log {
                evicted = t
                    .record(
                        ts_ns,
                        &c.uid,
                        (c.src_ip, c.src_port),
                        (c.dst_ip, c.dst_port),
                        record,
                    )
                    .map(|s| (i, s));
            }
        }
        self.inner.record(log, ts_ns, c, record);
        if let Some((i, s)) = evicted {
            self.score(i, &s);
        }
    }

    fn conn(&mut self, ts_ns: u64, rec: &FlowRecord) {
        self.inner.conn(ts_ns, rec);
        for i in 0..self.models.len() {
            if let Some(s) = self.models[i].tracker.end(&rec.uid) {
                self.score(i, &s);
            }
        }
    }

    fn alert(&mut self, a: &Alert) {
        self.inner.alert(a);
    }

    fn flow_flagged(&mut self, uid: &str, a: &Alert) {
        self.inner.flow_flagged(uid, a);
    }

    fn capture_damaged(&mut self, d: &netsift_engine::analyze::output::CaptureDamage) {
        self.inner.capture_damaged(d);
    }

    fn tick(&mut self, now_ns: u64) {
        // Live captures close alert windows and rotate files downstream.
        self.inner.tick(now_ns);
    }

    fn packet(&mut self, p: &netsift_detect::dos::FloodPacket) {
        // Flood detection happens downstream.
        self.inner.packet(p);
    }

    fn memory_bytes(&self) -> usize {
        self.inner.memory_bytes()
    }

    fn finish(&mut self) -> std::io::Result<()> {
        for i in 0..self.models.len() {
            let mut left = self.models[i].tracker.drain();
            // Chains see sessions in the order they started.
            left.sort_by_key(|s| s.first_ts);
            for s in left {
                self.score(i, &s);
            }
        }
        self.inner.finish()
    }

    fn summary(&self) -> &Summary {
        self.inner.summary()
    }
}
