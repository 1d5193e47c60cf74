//! `--eve-redis redis://host:port/KEY`: the EVE events of `--format eve`,
//! shipped to Redis as Suricata's redis output does (`mode: list|lpush`,
//! `rpush`, `channel|publish`, `stream|xadd`).
//!
//! The analysis never waits for Redis: each event line goes into a
//! bounded queue (`try_send`; a full queue drops the event and counts it)
//! and a thread of its own sends them in pipelined batches. When Redis is
//! down or slow, the thread keeps its batch, reconnects with exponential
//! backoff, and the queue absorbs what it can. At the end the thread gets
//! a few seconds to send what is left; the rest is counted as lost.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Events per pipelined round trip.
const BATCH: usize = 512;
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// How events reach Redis.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedisMode {
    /// LPUSH to a list (Suricata's `list`, its default).
    List,
    /// LPUSH to a list (same as `list`).
    Lpush,
    /// RPUSH to a list (Logstash's redis input pops from the left).
    Rpush,
    /// PUBLISH on a channel (subscribers only; nothing is kept).
    Channel,
    /// XADD to a stream, trimmed with MAXLEN ~ (`--redis-maxlen`).
    Stream,
}

impl RedisMode {
    pub fn name(self) -> &'static str {
        match self {
            RedisMode::List | RedisMode::Lpush => "lpush",
            RedisMode::Rpush => "rpush",
            RedisMode::Channel => "publish",
            RedisMode::Stream => "xadd",
        }
    }
}

/// A parsed `redis://[user:password@]host[:port]/KEY` (or `rediss://`
/// is refused: this build has no TLS).
#[derive(Clone)]
pub struct RedisTarget {
    /// For the client: the URL without the key (database 0).
    pub conn_url: String,
    pub key: String,
    /// For messages: no password.
    pub shown: String,
}

impl RedisTarget {
    pub fn parse(s: &str) -> Result<RedisTarget> {
        let rest = match s.strip_prefix("redis://") {
            Some(r) => r,
            None => bail!(
                "--eve-redis: expected redis://host:port/KEY, got {}",
                netsift_store::db::redact_url(s)
            ),
        };
        let (auth_host, key) = rest.split_once('/').unwrap_or((rest, ""));
        let key = key.split('?').next().unwrap_or("");
        if key.is_empty() {
            bail!(
                "--eve-redis {}: the URL's path names the key (redis://host:port/KEY)",
                netsift_store::db::redact_url(s)
            );
        }
        let host = auth_host.rsplit_once('@').map_or(auth_host, |(_, h)| h);
        let host = if host.is_empty() { "127.0.0.1" } else { host };
        let auth = auth_host.rsplit_once('@').map(|(a, _)| a);
        let conn_url = match auth {
            Some(a) => format!("redis://{a}@{host}/"),
            None => format!("redis://{host}/"),
        };
        Ok(RedisTarget {
            conn_url,
            key: key.to_string(),
            shown: format!("redis://{host}/{key}"),
        })
    }
}

/// Counters shared with the sender thread.
#[derive(Default)]
pub struct RedisStats {
    pub sent: AtomicU64,
    /// Refused by the full queue (Redis away or slower than the capture).
    pub dropped: AtomicU64,
    /// Still unsent when the run ended and Redis stayed away.
    pub lost: AtomicU64,
    pub reconnects: AtomicU64,
}

/// The `Write` that `Eve::streaming` writes to: complete lines become events.
pub struct RedisLines {
    buf: Vec<u8>,
    h: RedisHandle,
}

/// What the caller keeps: the counters, and the end of the stream.
#[derive(Clone)]
pub struct RedisHandle {
    pub stats: Arc<RedisStats>,
    tx: Arc<Mutex<Option<SyncSender<String>>>>,
    thread: Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
}

impl RedisHandle {
    /// Stop taking events; wait for the sender to finish (bounded by the
    /// drain deadline).
    pub fn close(&self) {
        if let Ok(mut tx) = self.tx.lock() {
            *tx = None;
        }
        let t = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(t) = t {
            let _ = t.join();
        }
    }
}

/// Bound of the queue (events); `NETSIFT_REDIS_QUEUE` overrides.
fn queue_bound() -> usize {
    std::env::var("NETSIFT_REDIS_QUEUE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

/// How long the end of a run waits for Redis to take what is queued;
/// `NETSIFT_REDIS_RETRY_SECS` overrides.
fn drain_for() -> Duration {
    Duration::from_secs(
        std::env::var("NETSIFT_REDIS_RETRY_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(5),
    )
}

impl RedisLines {
    /// Connect once (a clear error now beats silent drops later), then
    /// start the sender.
    pub fn start(t: &RedisTarget, mode: RedisMode, maxlen: u64) -> Result<RedisLines> {
        let client = redis::Client::open(t.conn_url.as_str())
            .with_context(|| format!("--eve-redis {}", t.shown))?;
        let con = client
            .get_connection_with_timeout(Duration::from_secs(5))
            .map_err(|e| anyhow::anyhow!("cannot connect to {}: {e}", t.shown))?;
        let (tx, rx) = mpsc::sync_channel::<String>(queue_bound());
        let stats = Arc::new(RedisStats::default());
        let st = stats.clone();
        let key = t.key.clone();
        let thread = std::thread::Builder::new()
            .name("netsift-redis".into())
            .spawn(move || sender(client, Some(con), rx, &key, mode, maxlen, &st))
            .context("starting the Redis sender")?;
        Ok(RedisLines {
            buf: Vec::new(),
            h: RedisHandle {
                stats,
                tx: Arc::new(Mutex::new(Some(tx))),
                thread: Arc::new(Mutex::new(Some(thread))),
            },
        })
    }

    pub fn handle(&self) -> RedisHandle {
        self.h.clone()
    }

    fn offer(&mut self, line: String) {
        let Ok(tx) = self.h.tx.lock() else { return };
        if let Some(tx) = tx.as_ref() {
            match tx.try_send(line) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                    self.h.stats.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

impl Write for RedisLines {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        while let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=i).collect();
            let text = String::from_utf8_lossy(&line[..i]).into_owned();
            if !text.is_empty() {
                self.offer(text);
            }
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for RedisLines {
    fn drop(&mut self) {
        self.h.close();
    }
}

fn command(pipe: &mut redis::Pipeline, key: &str, mode: RedisMode, maxlen: u64, ev: &str) {
    match mode {
        RedisMode::List | RedisMode::Lpush => {
            pipe.cmd("LPUSH").arg(key).arg(ev).ignore();
        }
        RedisMode::Rpush => {
            pipe.cmd("RPUSH").arg(key).arg(ev).ignore();
        }
        RedisMode::Channel => {
            pipe.cmd("PUBLISH").arg(key).arg(ev).ignore();
        }
        // Redis XADD: "MAXLEN ~ N ... trims ... at least N entries ... more
        // efficient" (approximate trimming).
        RedisMode::Stream => {
            pipe.cmd("XADD")
                .arg(key)
                .arg("MAXLEN")
                .arg("~")
                .arg(maxlen)
                .arg("*")
                .arg("eve")
                .arg(ev)
                .ignore();
        }
    }
}

fn sender(
    client: redis::Client,
    mut con: Option<redis::Connection>,
    rx: mpsc::Receiver<String>,
    key: &str,
    mode: RedisMode,
    maxlen: u64,
    stats: &RedisStats,
) {
    let mut batch: Vec<String> = Vec::with_capacity(BATCH);
    let mut backoff = BACKOFF_MIN;
    let mut closing: Option<Instant> = None;
    loop {
        // Fill the batch: wait for the first event, then take what is there.
        if batch.is_empty() {
            match rx.recv_timeout(Duration::from_millis(500)) {
                Ok(ev) => batch.push(ev),
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(ev) => batch.push(ev),
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => {
                    closing.get_or_insert_with(|| Instant::now() + drain_for());
                    break;
                }
            }
        }
        if con.is_none() {
            match client.get_connection_with_timeout(Duration::from_secs(2)) {
                Ok(c) => {
                    con = Some(c);
                    stats.reconnects.fetch_add(1, Ordering::Relaxed);
                    backoff = BACKOFF_MIN;
                }
                Err(_) => {
                    if closing.is_some_and(|d| Instant::now() >= d) {
                        give_up(&mut batch, &rx, stats);
                        return;
                    }
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                    continue;
                }
            }
        }
        let Some(c) = con.as_mut() else { continue };
        let mut pipe = redis::pipe();
        for ev in &batch {
            command(&mut pipe, key, mode, maxlen, ev);
        }
        match pipe.query::<()>(c) {
            Ok(()) => {
                stats.sent.fetch_add(batch.len() as u64, Ordering::Relaxed);
                batch.clear();
            }
            Err(_) => {
                // The batch stays; a resend after a lost reply may repeat a
                // few events (at-least-once, as Suricata's output).
                con = None;
                if closing.is_some_and(|d| Instant::now() >= d) {
                    give_up(&mut batch, &rx, stats);
                    return;
                }
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
        if closing.is_some_and(|d| Instant::now() >= d) {
            give_up(&mut batch, &rx, stats);
            return;
        }
    }
}

fn give_up(batch: &mut Vec<String>, rx: &mpsc::Receiver<String>, stats: &RedisStats) {
    let mut n = batch.len() as u64;
    batch.clear();
    while rx.try_recv().is_ok() {
        n += 1;
    }
    stats.lost.fetch_add(n, Ordering::Relaxed);
}

/// The summary line.
pub fn summary_line(t: &RedisTarget, mode: RedisMode, s: &RedisStats) -> String {
    let (sent, dropped, lost) = (
        s.sent.load(Ordering::Relaxed),
        s.dropped.load(Ordering::Relaxed),
        s.lost.load(Ordering::Relaxed),
    );
    let mut line = format!(
        "  eve-redis: {sent} events sent to {} ({})",
        t.shown,
        mode.name()
    );
    if dropped + lost > 0 {
        line.push_str(&format!(
            ", {} NOT sent ({dropped} dropped by the full queue, {lost} unsent at the end: Redis was unreachable)",
            dropped + lost
        ));
    }
    let r = s.reconnects.load(Ordering::Relaxed);
    if r > 0 {
        line.push_str(&format!(", {r} reconnects"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t = RedisTarget::parse("redis://u:pw@10.0.0.1:6380/netsift").expect("parse");
        assert_eq!(t.key, "netsift");
        assert_eq!(t.conn_url, "redis://u:pw@10.0.0.1:6380/");
        assert_eq!(t.shown, "redis://10.0.0.1:6380/netsift");
        assert!(RedisTarget::parse("redis://h:1/").is_err());
        let e = RedisTarget::parse("http://u:pw@h/").err().expect("refused");
        assert!(!e.to_string().contains("pw"));
    }
}
