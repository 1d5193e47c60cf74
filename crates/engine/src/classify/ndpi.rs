//! The `ndpi` layer: Debian's libndpi (nDPI 4.2) as a classification
//! layer, for the flows the layers before it leave Unknown (cargo feature
//! `ndpi`; the C shim in `ndpi/shim.c` reads nDPI's flow structure).
//!
//! Every packet of a flow still without a verdict is handed to nDPI, in
//! netsift's flow order and with netsift's packet times, as an IP packet
//! rebuilt from what netsift decoded (so defragmented and decapsulated
//! packets reach nDPI the same way they reach netsift's own layers). nDPI
//! answers with a master and an application protocol and a confidence:
//! * `DPI`: a verdict now, `confidence: dpi`;
//! * `DPI_CACHE` (nDPI recognised the flow from an earlier one):
//!   `confidence: flow`;
//! * `Match by port` / `Match by IP`: only nDPI's guess when it gives up,
//!   offered at the flow's end with `confidence: port`, never `dpi`.
//!
//! nDPI's per-flow state lives in the flow's [`ClassState`] and is freed as
//! soon as the flow has a verdict, nDPI gives up on it (after
//! [`MAX_PACKETS`] packets), or the flow ends or is evicted; so the flow
//! table's bounds hold for nDPI's memory too. [`live_flows`] counts the
//! nDPI flow structures alive, for tests and for `netsift compare`.

use std::ffi::{c_char, c_void, CStr};
use std::net::IpAddr;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use netsift_proto::{Direction, Transport};

use super::{ClassState, Confidence, FlowFacts, Layer, LayerAnswer, PacketView, Verdict};

mod ffi {
    use std::ffi::{c_char, c_void};

    /// `struct ns_ndpi_result` in shim.c.
    #[repr(C)]
    pub struct NsResult {
        pub master: u16,
        pub app: u16,
        pub confidence: i32,
        pub guessed: u8,
        pub host: [c_char; 81],
    }

    extern "C" {
        pub fn ns_ndpi_init() -> *mut c_void;
        pub fn ns_ndpi_exit(m: *mut c_void);
        pub fn ns_ndpi_flow_new() -> *mut c_void;
        pub fn ns_ndpi_flow_free(f: *mut c_void);
        pub fn ns_ndpi_process(
            m: *mut c_void,
            f: *mut c_void,
            ip: *const u8,
            len: u16,
            ts_ms: u64,
            r: *mut NsResult,
        );
        pub fn ns_ndpi_giveup(m: *mut c_void, f: *mut c_void, r: *mut NsResult);
        pub fn ns_ndpi_num_protocols(m: *mut c_void) -> u32;
        pub fn ns_ndpi_proto_name(m: *mut c_void, id: u16) -> *const c_char;
        pub fn ns_ndpi_confidence_name(c: i32) -> *const c_char;
        pub fn ns_ndpi_revision() -> *const c_char;
    }
}

/// Packets of one flow nDPI sees before it is asked to give up (nDPI's
/// own default budget, `max_packets_to_process`, is 32).
pub const MAX_PACKETS: u16 = 32;

// nDPI 4.2's ndpi_confidence_t.
const CONF_UNKNOWN: i32 = 0;
const CONF_PORT: i32 = 1;
const CONF_IP: i32 = 2;
const CONF_CACHE: i32 = 3;
const CONF_DPI: i32 = 4;

static LIVE: AtomicUsize = AtomicUsize::new(0);

/// nDPI flow structures currently allocated (by every `ndpi` layer of the
/// process).
pub fn live_flows() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// One nDPI flow structure, freed on drop.
pub(crate) struct NdpiFlow(NonNull<c_void>);

// SAFETY: an nDPI flow structure is plain heap memory owned by one netsift
// flow; it is only touched through `&mut`, by one thread at a time.
unsafe impl Send for NdpiFlow {}

impl NdpiFlow {
    fn new() -> Option<NdpiFlow> {
        // SAFETY: allocates and zeroes a flow structure (or returns NULL).
        let p = NonNull::new(unsafe { ffi::ns_ndpi_flow_new() })?;
        LIVE.fetch_add(1, Ordering::Relaxed);
        Some(NdpiFlow(p))
    }
}

impl Drop for NdpiFlow {
    fn drop(&mut self) {
        // SAFETY: the pointer came from ns_ndpi_flow_new and is freed once.
        unsafe { ffi::ns_ndpi_flow_free(self.0.as_ptr()) };
        LIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for NdpiFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NdpiFlow")
    }
}

/// The `ndpi` layer's per-flow state (in [`ClassState`]).
#[derive(Debug)]
pub(crate) enum NdpiSlot {
    /// nDPI is still looking: its flow and the packets it has seen.
    Live(NdpiFlow, u16),
    /// nDPI gave up with a guess (kept for the flow's end), or with nothing.
    Gave(Option<Box<Verdict>>),
}

/// What nDPI said about a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NdpiAnswer {
    pub master: u16,
    pub app: u16,
    /// nDPI's `ndpi_confidence_t`.
    pub confidence: i32,
    /// The host name nDPI saw (TLS SNI, HTTP Host, DNS query...).
    pub host: String,
}

/// An nDPI detection module.
pub struct Ndpi {
    module: NonNull<c_void>,
    names: &'static [&'static str],
}

// SAFETY: a detection module is used by one thread at a time (the layer
// that owns it is driven by one flow-table shard).
unsafe impl Send for Ndpi {}

impl Drop for Ndpi {
    fn drop(&mut self) {
        // SAFETY: created by ns_ndpi_init, released once.
        unsafe { ffi::ns_ndpi_exit(self.module.as_ptr()) };
    }
}

fn cstr(p: *const c_char) -> &'static str {
    if p.is_null() {
        return "";
    }
    // SAFETY: nDPI returns NUL-terminated static strings (its version, its
    // confidence names) or names owned by the module, copied right away.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap_or("")
}

/// nDPI's release, e.g. `4.2.0`.
pub fn version() -> &'static str {
    static V: OnceLock<String> = OnceLock::new();
    // SAFETY: returns a static string.
    V.get_or_init(|| cstr(unsafe { ffi::ns_ndpi_revision() }).to_string())
}

/// `4.2` from `4.2.0` (the evidence's short form).
fn short_version() -> &'static str {
    static V: OnceLock<String> = OnceLock::new();
    V.get_or_init(|| {
        let v = version();
        let mut parts = v.split(['.', '-']);
        match (parts.next(), parts.next()) {
            (Some(a), Some(b)) => format!("{a}.{b}"),
            _ => v.to_string(),
        }
    })
}

/// nDPI's name for a confidence value (`DPI`, `Match by port`, ...).
pub fn confidence_name(c: i32) -> &'static str {
    // SAFETY: returns a static string (or NULL for values out of range).
    cstr(unsafe { ffi::ns_ndpi_confidence_name(c) })
}

impl Ndpi {
    /// Load nDPI with every protocol enabled.
    pub fn new() -> Result<Ndpi, String> {
        // SAFETY: plain constructor; NULL on failure.
        let module = NonNull::new(unsafe { ffi::ns_ndpi_init() })
            .ok_or_else(|| "nDPI: ndpi_init_detection_module failed".to_string())?;
        let names = protocol_names(module);
        Ok(Ndpi { module, names })
    }

    /// nDPI's protocol name for an id, in netsift's spelling where the two
    /// differ only in case or punctuation (IPsec / IPSec, DCE_RPC /
    /// DCERPC).
    pub fn name(&self, id: u16) -> &'static str {
        self.names
            .get(usize::from(id))
            .copied()
            .unwrap_or("Unknown")
    }

    /// Hand one IP packet of a flow to nDPI.
    fn process(&self, flow: &mut NdpiFlow, ip: &[u8], ts_ms: u64) -> NdpiAnswer {
        let len = u16::try_from(ip.len()).unwrap_or(u16::MAX);
        let mut r = empty_result();
        // SAFETY: `ip` is valid for `len` bytes (at most its length); the
        // flow belongs to this module's caller and is not shared.
        unsafe {
            ffi::ns_ndpi_process(
                self.module.as_ptr(),
                flow.0.as_ptr(),
                ip.as_ptr(),
                len,
                ts_ms,
                &mut r,
            )
        };
        answer(&r)
    }

    /// Ask nDPI for its final answer, guesses allowed.
    fn giveup(&self, flow: &mut NdpiFlow) -> NdpiAnswer {
        let mut r = empty_result();
        // SAFETY: as in `process`.
        unsafe { ffi::ns_ndpi_giveup(self.module.as_ptr(), flow.0.as_ptr(), &mut r) };
        answer(&r)
    }

    /// `TLS.Google` as netsift's protocol and app.
    pub fn split(&self, a: &NdpiAnswer) -> (&'static str, Option<String>) {
        match (a.master, a.app) {
            (0, app) => (self.name(app), None),
            (m, app) if app == 0 || app == m => (self.name(m), None),
            (m, app) => (self.name(m), Some(self.name(app).to_string())),
        }
    }

    /// nDPI's dotted label, as ndpiReader prints it (`TLS.Google`).
    pub fn label(&self, a: &NdpiAnswer) -> String {
        match self.split(a) {
            (p, Some(app)) => format!("{p}.{app}"),
            (p, None) => p.to_string(),
        }
    }

    fn verdict(&self, a: &NdpiAnswer, confidence: Confidence) -> Verdict {
        let (protocol, app) = self.split(a);
        let mut evidence = format!(
            "nDPI {}: {} ({})",
            short_version(),
            self.label(a),
            confidence_name(a.confidence)
        );
        if !a.host.is_empty() {
            evidence.push_str(", host ");
            evidence.push_str(&a.host);
        }
        Verdict {
            protocol,
            app,
            confidence,
            source: "ndpi",
            evidence: evidence.into(),
        }
    }
}

fn empty_result() -> ffi::NsResult {
    ffi::NsResult {
        master: 0,
        app: 0,
        confidence: 0,
        guessed: 0,
        host: [0; 81],
    }
}

fn answer(r: &ffi::NsResult) -> NdpiAnswer {
    let n = r.host.iter().position(|&c| c == 0).unwrap_or(r.host.len());
    let host: Vec<u8> = r.host[..n].iter().map(|&c| c as u8).collect();
    NdpiAnswer {
        master: r.master,
        app: r.app,
        confidence: r.confidence,
        host: String::from_utf8_lossy(&host).into_owned(),
    }
}

/// nDPI's protocol names by id, in netsift's spelling where they match one
/// of netsift's protocols but for case and punctuation. Built once per
/// process (the names are the library's, the same for every module).
fn protocol_names(module: NonNull<c_void>) -> &'static [&'static str] {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let ours: std::collections::HashMap<String, &'static str> = netsift_protocols::ALL
            .iter()
            .map(|p| (super::norm_name(p.name()), p.name()))
            .collect();
        // SAFETY: the module is initialised.
        let n = unsafe { ffi::ns_ndpi_num_protocols(module.as_ptr()) }.min(u32::from(u16::MAX));
        (0..n as u16)
            .map(|id| {
                // SAFETY: ids below the protocol count have names.
                let name = cstr(unsafe { ffi::ns_ndpi_proto_name(module.as_ptr(), id) });
                match ours.get(&super::norm_name(name)) {
                    Some(&n) => n,
                    None if name.is_empty() => "Unknown",
                    // Leaked once per process: a few hundred short names.
                    None => Box::leak(name.to_string().into_boxed_str()),
                }
            })
            .collect()
    })
}

/// The `ndpi` layer.
pub struct NdpiLayer {
    ndpi: Ndpi,
    /// Keep nDPI's port and IP-list guesses (off with `--no-guess`).
    guess: bool,
    /// The rebuilt IP packet (reused).
    buf: Vec<u8>,
}

impl NdpiLayer {
    pub fn new(guess: bool) -> Result<NdpiLayer, String> {
        Ok(NdpiLayer {
            ndpi: Ndpi::new()?,
            guess,
            buf: Vec::with_capacity(2048),
        })
    }

    fn decide(&self, a: &NdpiAnswer) -> Option<Verdict> {
        if a.master == 0 && a.app == 0 {
            return None;
        }
        match a.confidence {
            CONF_DPI => Some(self.ndpi.verdict(a, Confidence::Dpi)),
            CONF_CACHE => Some(self.ndpi.verdict(a, Confidence::Flow)),
            _ => None,
        }
    }

    /// nDPI's final answer for a flow it is giving up on: a verdict, or a
    /// guess (port confidence), or nothing.
    fn give_up(&self, flow: &mut NdpiFlow) -> Option<Verdict> {
        let a = self.ndpi.giveup(flow);
        if let Some(v) = self.decide(&a) {
            return Some(v);
        }
        if !self.guess || (a.master == 0 && a.app == 0) {
            return None;
        }
        match a.confidence {
            CONF_PORT | CONF_IP | CONF_UNKNOWN => Some(self.ndpi.verdict(&a, Confidence::Port)),
            _ => None,
        }
    }
}

impl Layer for NdpiLayer {
    fn name(&self) -> &'static str {
        "ndpi"
    }

    fn on_packet(&mut self, st: &mut ClassState, pkt: &PacketView<'_>) -> LayerAnswer {
        let slot = st.ndpi.get_or_insert_with(|| match NdpiFlow::new() {
            Some(f) => NdpiSlot::Live(f, 0),
            None => NdpiSlot::Gave(None),
        });
        let NdpiSlot::Live(flow, seen) = slot else {
            return LayerAnswer::Done;
        };
        rebuild_ip(&mut self.buf, pkt);
        let a = self.ndpi.process(flow, &self.buf, pkt.ts_ns / 1_000_000);
        *seen += 1;
        if let Some(v) = self.decide(&a) {
            st.ndpi = None;
            return LayerAnswer::Verdict(v);
        }
        if *seen < MAX_PACKETS {
            return LayerAnswer::Pending;
        }
        let out = self.give_up(flow);
        match out {
            Some(v) if v.confidence != Confidence::Port => {
                st.ndpi = None;
                LayerAnswer::Verdict(v)
            }
            guess => {
                st.ndpi = Some(NdpiSlot::Gave(guess.map(Box::new)));
                LayerAnswer::Done
            }
        }
    }

    fn on_end(&mut self, st: &mut ClassState, _flow: &FlowFacts) -> Option<Verdict> {
        match st.ndpi.take() {
            Some(NdpiSlot::Live(mut f, _)) => self.give_up(&mut f),
            Some(NdpiSlot::Gave(g)) => g.map(|b| *b),
            None => None,
        }
    }
}

/// Rebuild the IP packet nDPI reads from what netsift decoded: IPv4 or
/// IPv6 header, then a TCP or UDP header with the real ports, sequence and
/// acknowledgment numbers, flags and window, then the payload. nDPI does
/// not check checksums; lengths are consistent.
fn rebuild_ip(buf: &mut Vec<u8>, pkt: &PacketView<'_>) {
    buf.clear();
    let (src, dst) = match pkt.dir {
        Direction::ToServer => (pkt.client, pkt.server),
        Direction::ToClient => (pkt.server, pkt.client),
    };
    let proto = match pkt.transport {
        Transport::Tcp => 6,
        Transport::Udp => 17,
        Transport::Ip(n) => n,
    };
    let l4_hdr = match pkt.transport {
        Transport::Tcp => 20,
        Transport::Udp => 8,
        Transport::Ip(_) => 0,
    };
    let ip_hdr = if src.0.is_ipv4() { 20 } else { 40 };
    // The whole packet fits nDPI's 16-bit length.
    let room = usize::from(u16::MAX) - ip_hdr - l4_hdr;
    let payload = &pkt.payload[..pkt.payload.len().min(room)];
    let l4_len = l4_hdr + payload.len();
    match (src.0, dst.0) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = (20 + l4_len) as u16;
            buf.extend_from_slice(&[0x45, 0]);
            buf.extend_from_slice(&total.to_be_bytes());
            // Identification 0, Don't Fragment, TTL 64, protocol, checksum 0.
            buf.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0]);
            buf.extend_from_slice(&s.octets());
            buf.extend_from_slice(&d.octets());
        }
        (s, d) => {
            let (s, d) = (v6(s), v6(d));
            buf.extend_from_slice(&[0x60, 0, 0, 0]);
            buf.extend_from_slice(&(l4_len as u16).to_be_bytes());
            buf.extend_from_slice(&[proto, 64]);
            buf.extend_from_slice(&s.octets());
            buf.extend_from_slice(&d.octets());
        }
    }
    match pkt.transport {
        Transport::Tcp => {
            let (seq, flags) = pkt.tcp.unwrap_or((0, 0));
            buf.extend_from_slice(&src.1.to_be_bytes());
            buf.extend_from_slice(&dst.1.to_be_bytes());
            buf.extend_from_slice(&seq.to_be_bytes());
            buf.extend_from_slice(&pkt.tcp_ack.to_be_bytes());
            buf.extend_from_slice(&[5 << 4, flags]);
            buf.extend_from_slice(&pkt.tcp_window.to_be_bytes());
            buf.extend_from_slice(&[0, 0, 0, 0]);
        }
        Transport::Udp => {
            buf.extend_from_slice(&src.1.to_be_bytes());
            buf.extend_from_slice(&dst.1.to_be_bytes());
            buf.extend_from_slice(&(l4_len as u16).to_be_bytes());
            buf.extend_from_slice(&[0, 0]);
        }
        Transport::Ip(_) => {}
    }
    buf.extend_from_slice(payload);
}

fn v6(a: IpAddr) -> std::net::Ipv6Addr {
    match a {
        IpAddr::V6(a) => a,
        IpAddr::V4(a) => a.to_ipv6_mapped(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view<'a>(payload: &'a [u8], transport: Transport, dir: Direction) -> PacketView<'a> {
        PacketView {
            ts_ns: 1_000_000_000,
            dir,
            transport,
            payload,
            tcp: (transport == Transport::Tcp).then_some((1000, 0x18)),
            tcp_ack: 2000,
            tcp_window: 512,
            client: ("10.0.0.1".parse().unwrap(), 40000),
            server: ("10.0.0.2".parse().unwrap(), 53),
            new_flow: true,
            answered: false,
            uid: netsift_flow::Uid(1),
        }
    }

    #[test]
    fn rebuilt_packets_are_well_formed() {
        let mut b = Vec::new();
        rebuild_ip(&mut b, &view(b"abc", Transport::Udp, Direction::ToClient));
        assert_eq!(b.len(), 20 + 8 + 3);
        assert_eq!(&b[2..4], &31u16.to_be_bytes());
        assert_eq!(b[9], 17);
        assert_eq!(
            &b[12..16],
            &[10, 0, 0, 2],
            "server to client: source is the server"
        );
        assert_eq!(&b[20..22], &53u16.to_be_bytes());
        assert_eq!(&b[24..26], &11u16.to_be_bytes());
        rebuild_ip(&mut b, &view(b"xy", Transport::Tcp, Direction::ToServer));
        assert_eq!(b.len(), 20 + 20 + 2);
        assert_eq!(&b[24..28], &1000u32.to_be_bytes());
        assert_eq!(&b[28..32], &2000u32.to_be_bytes());
        assert_eq!(b[33], 0x18);
        // An oversized payload is cut to what a 16-bit length can say.
        let big = vec![0u8; 70_000];
        rebuild_ip(&mut b, &view(&big, Transport::Udp, Direction::ToServer));
        assert_eq!(b.len(), usize::from(u16::MAX));
    }

    /// A DNS query, as nDPI sees it through the layer: named by DPI on the
    /// first packet, with nDPI's confidence and host in the evidence.
    #[test]
    fn dns_query_is_named_by_ndpi() {
        let q = [
            0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7, b'e', b'x', b'a', b'm', b'p', b'l', b'e',
            3, b'c', b'o', b'm', 0, 0, 1, 0, 1,
        ];
        let mut layer = NdpiLayer::new(true).expect("nDPI loads");
        let mut st = ClassState::default();
        let before = live_flows();
        let a = layer.on_packet(&mut st, &view(&q, Transport::Udp, Direction::ToServer));
        let LayerAnswer::Verdict(v) = a else {
            panic!("no verdict: {a:?}");
        };
        assert_eq!(
            (v.protocol, v.confidence, v.source),
            ("DNS", Confidence::Dpi, "ndpi")
        );
        assert!(v.evidence.starts_with("nDPI 4."), "{}", v.evidence);
        assert!(
            v.evidence.contains("(DPI), host example.com"),
            "{}",
            v.evidence
        );
        assert!(st.ndpi.is_none(), "nDPI's flow is freed with the verdict");
        assert_eq!(live_flows(), before);
    }
}
