//! The two [`Output`]s of learning: [`Collector`] gathers the training
//! sessions for `netsift learn`, and [`Scoring`] sits in `netsift analyze`'s
//! output chain (`Analyzer → Scoring → Detecting → JsonlDir|Eve`), forwards
//! everything, and scores each session when its flow ends (its `conn`
//! record) or when the run ends, raising `anomaly` alerts through the inner
//! output's `alert()` (so `Detecting` records them, `--fail-on-alert` and
//! the summary see them).

use netsift_detect::alert::Alert;
use netsift_engine::analyze::output::{Common, Output, Summary};
use netsift_engine::record::FlowRecord;
use serde_json::Value;

use crate::model::Model;
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
    fn record(&mut self, log: &'static str, ts_ns: u64, c: &Common, record: Value) {
        if log != self.tracker.proto.as_str() {
            return;
        }
        if let Some(s) = self.tracker.record(
            ts_ns,
            &c.uid,
            (c.src_ip, c.src_port),
            (c.dst_ip, c.dst_port),
            &record,
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

/// Scores sessions against models (one per protocol) and forwards
/// everything to `inner`.
pub struct Scoring<'o> {
    inner: &'o mut dyn Output,
    models: Vec<(Scorer, Tracker)>,
    /// Sessions scored and anomaly alerts raised.
    pub scored: u64,
    pub raised: u64,
}

impl<'o> Scoring<'o> {
    /// `models` must be valid (see [`Model::from_json`]); a later model of
    /// the same protocol replaces an earlier one.
    pub fn new(inner: &'o mut dyn Output, models: Vec<Model>) -> Self {
        let mut v: Vec<(Scorer, Tracker)> = Vec::new();
        for m in models {
            let Some(p) = Protocol::parse(&m.protocol) else {
                continue;
            };
            v.retain(|(_, t)| t.proto != p);
            v.push((Scorer::new(m), Tracker::new(p, MAX_OPEN_SESSIONS)));
        }
        Scoring {
            inner,
            models: v,
            scored: 0,
            raised: 0,
        }
    }

    fn score(&mut self, i: usize, s: &Session) {
        self.scored += 1;
        for a in self.models[i].0.alerts(s) {
            self.raised += 1;
            self.inner.alert(&a);
        }
    }
}

impl Output for Scoring<'_> {
    fn record(&mut self, log: &'static str, ts_ns: u64, c: &Common, record: Value) {
        let mut evicted = None;
        for (i, (_, t)) in self.models.iter_mut().enumerate() {
            if t.proto.as_str() == log {
                evicted = t
                    .record(
                        ts_ns,
                        &c.uid,
                        (c.src_ip, c.src_port),
                        (c.dst_ip, c.dst_port),
                        &record,
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
            if let Some(s) = self.models[i].1.end(&rec.uid) {
                self.score(i, &s);
            }
        }
    }

    fn alert(&mut self, a: &Alert) {
        self.inner.alert(a);
    }

    fn tick(&mut self, now_ns: u64) {
        // Live captures close alert windows and rotate files downstream.
        self.inner.tick(now_ns);
    }

    fn finish(&mut self) -> std::io::Result<()> {
        for i in 0..self.models.len() {
            for s in self.models[i].1.drain() {
                self.score(i, &s);
            }
        }
        self.inner.finish()
    }

    fn summary(&self) -> &Summary {
        self.inner.summary()
    }
}
