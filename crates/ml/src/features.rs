//! Per-flow features from the first packets of a flow.
//!
//! A [`Collector`] is fed the first `N` packets of a flow (N is the
//! model's `packets`, default [`DEFAULT_PACKETS`]) and turns them into a
//! fixed-length vector of `f32` ([`feature_count`] long, names from
//! [`feature_name`]). Everything comes from the packets themselves: sizes,
//! directions, inter-arrival times from the packets' own timestamps (never
//! the wall clock), TCP flags, the transport, the two ports, and byte
//! statistics of the first payload of each direction. The ports are
//! features because protocols with the same message layout differ mainly
//! by port (DNS, LLMNR, MDNS); the forest weighs them together with the
//! bytes, and the verdict's evidence says when a port weighed most.
//! `netsift train --no-port-features` trains a model that ignores them.
//!
//! Absent values (a packet beyond the flow's end, a direction without
//! payload) are `-1`. The layout is versioned by [`FEATURE_SET`]; a model
//! records the feature set it was trained on and is refused by a netsift
//! whose extractor differs.

/// Version of the feature layout and semantics below. Bump it whenever a
/// feature changes meaning, order or count.
pub const FEATURE_SET: u16 = 1;
/// Packets per flow looked at by default.
pub const DEFAULT_PACKETS: u16 = 10;
/// The most packets a model may look at.
pub const MAX_PACKETS: u16 = 64;
/// First payload bytes kept as features, per direction.
pub const FIRST_BYTES: usize = 8;
/// Bins of the byte histogram (by high nibble).
pub const HIST_BINS: usize = 16;
/// Bytes of a first payload the statistics are computed over.
pub const STATS_BYTES: usize = 256;

const ABSENT: f32 = -1.0;
/// Features before the per-packet block.
const HEAD: usize = 14;
/// Positions of the port features (see [`HEAD_NAMES`]).
pub const PORT_FEATURES: [usize; 2] = [12, 13];
/// Features per packet: direction, payload length, inter-arrival time, TCP flags.
const PER_PACKET: usize = 4;
/// Features per direction's first payload.
const PER_PAYLOAD: usize = 4 + HIST_BINS + FIRST_BYTES;

/// Length of the feature vector of a model looking at `packets` packets.
pub fn feature_count(packets: u16) -> usize {
    HEAD + PER_PACKET * usize::from(packets) + 2 * PER_PAYLOAD
}

const HEAD_NAMES: [&str; HEAD] = [
    "transport is TCP",
    "transport is UDP",
    "packets seen",
    "client packets",
    "server packets",
    "client payload bytes",
    "server payload bytes",
    "client largest payload",
    "server largest payload",
    "client payload packets",
    "server payload packets",
    "duration (log us)",
    "server port",
    "client port",
];

/// Whether a feature vector's flow carried payload in its first packets.
/// The `ml` layer names only such flows: without payload the features are
/// sizes, flags and ports, and a name from those is a port guess, which is
/// the `port` layer's to make (and label).
pub fn has_payload(x: &[f32]) -> bool {
    x.get(5).copied().unwrap_or(0.0) > 0.0 || x.get(6).copied().unwrap_or(0.0) > 0.0
}

/// Human-readable name of feature `i` for a model looking at `packets`
/// packets (for evidence and reports).
pub fn feature_name(packets: u16, i: usize) -> String {
    if i < HEAD {
        return HEAD_NAMES[i].to_string();
    }
    let per_packet_end = HEAD + PER_PACKET * usize::from(packets);
    if i < per_packet_end {
        let k = (i - HEAD) / PER_PACKET + 1;
        let what =
            ["direction", "payload length", "gap (log us)", "TCP flags"][(i - HEAD) % PER_PACKET];
        return format!("packet {k} {what}");
    }
    let j = i - per_packet_end;
    if j >= 2 * PER_PAYLOAD {
        return format!("feature {i}");
    }
    let side = if j < PER_PAYLOAD { "client" } else { "server" };
    let j = j % PER_PAYLOAD;
    match j {
        0 => format!("{side} first payload length"),
        1 => format!("{side} first payload entropy"),
        2 => format!("{side} first payload printable share"),
        3 => format!("{side} first payload zero share"),
        j if j < 4 + HIST_BINS => {
            let b = j - 4;
            format!("{side} first payload bytes 0x{:x}0-0x{:x}f share", b, b)
        }
        j => format!("{side} first payload byte {}", j - 4 - HIST_BINS),
    }
}

/// What the collector needs of one packet.
#[derive(Debug, Clone, Copy)]
pub struct PacketInfo<'a> {
    /// Packet time, nanoseconds.
    pub ts_ns: u64,
    /// From the flow's initiator.
    pub to_server: bool,
    /// Transport payload.
    pub payload: &'a [u8],
    /// TCP flags, for TCP.
    pub tcp_flags: Option<u8>,
}

#[derive(Debug, Clone, Copy)]
struct Pkt {
    len: u16,
    to_server: bool,
    flags: Option<u8>,
    gap_us: u64,
}

/// Statistics of the first payload of one direction.
#[derive(Debug, Clone, Copy)]
struct PayloadStats {
    len: u16,
    entropy: f32,
    printable: f32,
    zeros: f32,
    hist: [u8; HIST_BINS],
    /// Bytes counted in `hist` (at most [`STATS_BYTES`]).
    counted: u16,
    first: [u8; FIRST_BYTES],
    first_len: u8,
}

impl PayloadStats {
    fn of(payload: &[u8]) -> PayloadStats {
        let b = &payload[..payload.len().min(STATS_BYTES)];
        let mut counts = [0u16; 256];
        let mut printable = 0u32;
        for &c in b {
            counts[usize::from(c)] += 1;
            printable += u32::from((0x20..0x7f).contains(&c) || c == b'\r' || c == b'\n');
        }
        let n = b.len().max(1) as f32;
        let mut entropy = 0f32;
        let mut hist = [0u8; HIST_BINS];
        for (v, &k) in counts.iter().enumerate() {
            if k > 0 {
                let p = f32::from(k) / n;
                entropy -= p * p.log2();
                // At most 256 bytes counted: a bin holds <= 256; store
                // saturated at 255 (the share is computed from `counted`).
                let bin = &mut hist[v >> 4];
                *bin = bin.saturating_add(k.min(255) as u8);
            }
        }
        let mut first = [0u8; FIRST_BYTES];
        let first_len = payload.len().min(FIRST_BYTES);
        first[..first_len].copy_from_slice(&payload[..first_len]);
        PayloadStats {
            len: payload.len().min(usize::from(u16::MAX)) as u16,
            entropy,
            printable: printable as f32 / n,
            zeros: f32::from(counts[0]) / n,
            hist,
            counted: b.len() as u16,
            first,
            first_len: first_len as u8,
        }
    }
}

/// Collects one flow's features from its first packets.
#[derive(Debug, Clone)]
pub struct Collector {
    packets: u16,
    ip_proto: u8,
    /// Client and server port (0 for protocols without ports).
    ports: (u16, u16),
    seen: Vec<Pkt>,
    first_ts: u64,
    last_ts: u64,
    first: [Option<PayloadStats>; 2],
    dir_pkts: [u32; 2],
    dir_bytes: [u64; 2],
    dir_max: [u16; 2],
    dir_payload_pkts: [u32; 2],
}

impl Collector {
    /// A collector for a flow of IP protocol `ip_proto` between a client
    /// and a server port (`ports`; zeros for protocols without ports) that
    /// looks at its first `packets` packets (clamped to 1..=[`MAX_PACKETS`]).
    pub fn new(packets: u16, ip_proto: u8, ports: (u16, u16)) -> Collector {
        let packets = packets.clamp(1, MAX_PACKETS);
        Collector {
            packets,
            ip_proto,
            ports,
            seen: Vec::with_capacity(usize::from(packets)),
            first_ts: 0,
            last_ts: 0,
            first: [None, None],
            dir_pkts: [0; 2],
            dir_bytes: [0; 2],
            dir_max: [0; 2],
            dir_payload_pkts: [0; 2],
        }
    }

    /// Whether any packet so far carried payload.
    pub fn has_payload(&self) -> bool {
        self.dir_payload_pkts.iter().any(|&n| n > 0)
    }

    /// Packets looked at so far.
    pub fn seen(&self) -> u16 {
        self.seen.len() as u16
    }

    /// Whether the collector has its `packets` packets (later ones are ignored).
    pub fn is_full(&self) -> bool {
        self.seen.len() >= usize::from(self.packets)
    }

    /// Add a packet; returns true once the collector is full.
    pub fn push(&mut self, p: &PacketInfo<'_>) -> bool {
        if self.is_full() {
            return true;
        }
        let gap_us = if self.seen.is_empty() {
            self.first_ts = p.ts_ns;
            0
        } else {
            // Packet times can go backwards in a capture: a gap is never negative.
            p.ts_ns.saturating_sub(self.last_ts) / 1000
        };
        self.last_ts = self.last_ts.max(p.ts_ns);
        let d = usize::from(!p.to_server);
        let len = p.payload.len().min(usize::from(u16::MAX)) as u16;
        self.dir_pkts[d] += 1;
        self.dir_bytes[d] += u64::from(len);
        self.dir_max[d] = self.dir_max[d].max(len);
        if len > 0 {
            self.dir_payload_pkts[d] += 1;
            if self.first[d].is_none() {
                self.first[d] = Some(PayloadStats::of(p.payload));
            }
        }
        self.seen.push(Pkt {
            len,
            to_server: p.to_server,
            flags: p.tcp_flags,
            gap_us,
        });
        self.is_full()
    }

    /// The feature vector ([`feature_count`] of the collector's packets long).
    pub fn features(&self) -> Vec<f32> {
        let mut v = Vec::with_capacity(feature_count(self.packets));
        let log = |us: u64| (us as f32).ln_1p();
        v.push(f32::from(u8::from(self.ip_proto == 6)));
        v.push(f32::from(u8::from(self.ip_proto == 17)));
        v.push(self.seen.len() as f32);
        for d in 0..2 {
            v.push(self.dir_pkts[d] as f32);
        }
        for d in 0..2 {
            v.push(self.dir_bytes[d] as f32);
        }
        for d in 0..2 {
            v.push(f32::from(self.dir_max[d]));
        }
        for d in 0..2 {
            v.push(self.dir_payload_pkts[d] as f32);
        }
        v.push(log(self.last_ts.saturating_sub(self.first_ts) / 1000));
        v.push(f32::from(self.ports.1));
        v.push(f32::from(self.ports.0));
        for i in 0..usize::from(self.packets) {
            match self.seen.get(i) {
                Some(p) => {
                    v.push(if p.to_server { 1.0 } else { -1.0 });
                    v.push(f32::from(p.len));
                    v.push(log(p.gap_us));
                    v.push(p.flags.map_or(ABSENT, f32::from));
                }
                None => v.extend([0.0, ABSENT, ABSENT, ABSENT]),
            }
        }
        for s in &self.first {
            match s {
                Some(s) => {
                    v.push(f32::from(s.len));
                    v.push(s.entropy);
                    v.push(s.printable);
                    v.push(s.zeros);
                    let n = f32::from(s.counted.max(1));
                    v.extend(s.hist.iter().map(|&k| f32::from(k) / n));
                    for i in 0..FIRST_BYTES {
                        v.push(if i < usize::from(s.first_len) {
                            f32::from(s.first[i])
                        } else {
                            ABSENT
                        });
                    }
                }
                None => v.extend(std::iter::repeat_n(ABSENT, PER_PAYLOAD)),
            }
        }
        debug_assert_eq!(v.len(), feature_count(self.packets));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(ts_ns: u64, to_server: bool, payload: &[u8], flags: Option<u8>) -> PacketInfo<'_> {
        PacketInfo {
            ts_ns,
            to_server,
            payload,
            tcp_flags: flags,
        }
    }

    #[test]
    fn names_cover_every_feature() {
        for n in [1, DEFAULT_PACKETS, MAX_PACKETS] {
            let names: Vec<String> = (0..feature_count(n)).map(|i| feature_name(n, i)).collect();
            let unique: std::collections::HashSet<&String> = names.iter().collect();
            assert_eq!(unique.len(), names.len(), "names are distinct for N={n}");
            assert!(names.iter().all(|s| !s.starts_with("feature ")));
        }
    }

    #[test]
    fn a_small_exchange() {
        let mut c = Collector::new(4, 6, (40000, 80));
        assert!(!c.push(&pkt(1_000_000, true, b"", Some(0x02))));
        c.push(&pkt(1_500_000, false, b"", Some(0x12)));
        c.push(&pkt(3_000_000, true, b"GET / HTTP/1.1\r\n", Some(0x18)));
        let f = c.features();
        assert_eq!(f.len(), feature_count(4));
        let at = |name: &str| {
            let i = (0..f.len())
                .find(|&i| feature_name(4, i) == name)
                .unwrap_or(usize::MAX);
            f.get(i).copied().unwrap_or(f32::NAN)
        };
        assert_eq!(at("transport is TCP"), 1.0);
        assert_eq!(at("transport is UDP"), 0.0);
        assert_eq!(at("packets seen"), 3.0);
        assert_eq!(at("server port"), 80.0);
        assert_eq!(at("client port"), 40000.0);
        assert_eq!(at("client payload bytes"), 16.0);
        assert!(has_payload(&f) && c.has_payload());
        let mut empty = Collector::new(4, 6, (1, 2));
        empty.push(&pkt(0, true, b"", Some(2)));
        assert!(!has_payload(&empty.features()) && !empty.has_payload());
        assert_eq!(at("packet 2 direction"), -1.0);
        assert_eq!(at("packet 2 TCP flags"), 18.0);
        assert_eq!(at("packet 2 gap (log us)"), 500f32.ln_1p());
        assert_eq!(at("packet 4 payload length"), -1.0, "beyond the flow");
        assert_eq!(at("client first payload byte 0"), f32::from(b'G'));
        assert_eq!(at("client first payload printable share"), 1.0);
        assert_eq!(at("server first payload length"), -1.0, "no server payload");
        // 16 bytes of text: 4 distinct-ish symbols at least, at most 4 bits.
        let e = at("client first payload entropy");
        assert!(e > 2.0 && e <= 4.0, "{e}");
        // Histogram shares sum to one.
        let h: f32 = (0..16)
            .map(|b| {
                at(&format!(
                    "client first payload bytes 0x{b:x}0-0x{b:x}f share"
                ))
            })
            .sum();
        assert!((h - 1.0).abs() < 1e-5, "{h}");
        // A full collector ignores later packets.
        c.push(&pkt(4_000_000, false, b"HTTP/1.1 200 OK", Some(0x18)));
        assert!(c.is_full());
        let before = c.features();
        c.push(&pkt(5_000_000, false, b"more", Some(0x18)));
        assert_eq!(before, c.features());
    }

    #[test]
    fn time_going_backwards_is_no_negative_gap() {
        let mut c = Collector::new(3, 17, (1, 2));
        c.push(&pkt(5_000, true, b"a", None));
        c.push(&pkt(1_000, false, b"b", None));
        let f = c.features();
        assert!(f.iter().all(|x| x.is_finite()));
        assert_eq!(f[HEAD + PER_PACKET + 2], 0.0);
    }

    #[test]
    fn large_and_binary_payloads() {
        let big: Vec<u8> = (0..70_000u32).map(|i| (i % 256) as u8).collect();
        let mut c = Collector::new(2, 17, (1, 2));
        c.push(&pkt(0, true, &big, None));
        let f = c.features();
        assert!(f.iter().all(|x| x.is_finite()));
        // Every byte value once in the first 256 bytes: 8 bits.
        let e = f[feature_count(2) - 2 * PER_PAYLOAD + 1];
        assert!((e - 8.0).abs() < 1e-3, "{e}");
        assert_eq!(
            f[feature_count(2) - 2 * PER_PAYLOAD],
            65535.0,
            "length saturates"
        );
    }
}
