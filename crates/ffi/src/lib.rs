//! netsift's C ABI: what a honeypot or sensor written in C, Go (cgo) or any
//! language with a C FFI needs to name protocols with netsift.
//!
//! Two ways in, the same verdicts as the command line:
//! * [`netsift_identify`]: one payload (a connection's first bytes), no
//!   state; what `netsift identify` does.
//! * An engine ([`netsift_engine_new`]): feed it frames with their packet
//!   times ([`netsift_engine_process`]), and read each packet's flow and
//!   verdict so far, then the flows that ended ([`netsift_engine_next_flow`]),
//!   each with the record `netsift flows --format jsonl` prints.
//!
//! Rules kept at every entry point:
//! * A panic never crosses the boundary: it is caught and reported as
//!   `NETSIFT_ERR_PANIC` (or a NULL result) with a message in
//!   [`netsift_last_error`].
//! * Every pointer is checked for NULL and every length is bounded: at most
//!   [`NETSIFT_MAX_PAYLOAD`] bytes of a payload are looked at, and at most
//!   as many ended flows wait to be read as the flow table holds
//!   (1,000,000; the oldest beyond are dropped and counted).
//! * Strings handed out are NUL-terminated UTF-8 owned by the library; a NUL
//!   inside a value taken from the wire is written as U+FFFD.
//!
//! The header `include/netsift.h` is generated from this file by cbindgen.

#![allow(non_camel_case_types)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Mutex, OnceLock};

use ::netsift_engine::{ClassifiedFlow, Engine, FlowRecord, Verdict};
use netsift_proto::{Direction, Transport};
use netsift_protocols::{identify_first_payload, FirstVerdict};
use netsift_wire::LinkType;

/// Success.
pub const NETSIFT_OK: i32 = 0;
/// A required pointer was NULL.
pub const NETSIFT_ERR_NULL: i32 = -1;
/// An argument was out of range (see netsift_last_error).
pub const NETSIFT_ERR_INVALID: i32 = -2;
/// A layer name is unknown (or its feature was not built in).
pub const NETSIFT_ERR_LAYER: i32 = -3;
/// netsift hit an internal error; the call had no effect.
pub const NETSIFT_ERR_PANIC: i32 = -4;

/// `netsift_verdict.result`: no protocol matches these bytes.
pub const NETSIFT_UNKNOWN: i32 = 0;
/// `netsift_verdict.result`: identified.
pub const NETSIFT_MATCH: i32 = 1;
/// `netsift_verdict.result`: some protocols need more bytes to decide
/// (the next packet, or the other side's answer); `evidence` names them.
pub const NETSIFT_NEED_MORE: i32 = 2;

/// Direction: sent by the side that opened the connection.
pub const NETSIFT_TO_SERVER: u8 = 0;
/// Direction: sent by the side that accepted it (a banner).
pub const NETSIFT_TO_CLIENT: u8 = 1;

/// Transport numbers are IP protocol numbers: 6 is TCP, 17 is UDP.
pub const NETSIFT_TCP: u8 = 6;
/// See NETSIFT_TCP.
pub const NETSIFT_UDP: u8 = 17;

/// The most payload bytes netsift_identify looks at (as `netsift identify`).
pub const NETSIFT_MAX_PAYLOAD: usize = 64 * 1024;

/// A verdict. Every string is owned by the verdict (or static) and lives
/// until netsift_verdict_free (for a flow's verdict, netsift_flow_free).
#[repr(C)]
pub struct netsift_verdict {
    /// NETSIFT_MATCH, NETSIFT_NEED_MORE or NETSIFT_UNKNOWN.
    pub result: i32,
    /// Protocol name in nDPI's spelling (`HTTP`, `TLS`, `SMBv23`), or `Unknown`.
    pub protocol: *const c_char,
    /// A more specific application (`HTTP2`, a service name), or NULL.
    pub app: *const c_char,
    /// How it was decided: `dpi`, `flow`, `ml`, `port` (a guess) or `none`.
    pub confidence: *const c_char,
    /// The layer that decided (`dpi`, `port`, ...), or `none`.
    pub source: *const c_char,
    /// Why, in a few words; for NETSIFT_NEED_MORE, the candidates. Never NULL.
    pub evidence: *const c_char,
}

/// One finished flow: the fields most callers need, and the whole record.
/// Strings live until netsift_flow_free.
#[repr(C)]
pub struct netsift_flow {
    /// Unique flow id (`C` + base62), the uid of netsift's other outputs.
    pub uid: *const c_char,
    /// First packet, seconds since the Unix epoch (packet time).
    pub ts: f64,
    /// Last packet minus first, in seconds.
    pub duration: f64,
    /// Transport: `TCP`, `UDP`, `ICMP`, ...
    pub l4: *const c_char,
    /// Initiator address (text) and port.
    pub src_ip: *const c_char,
    pub src_port: u16,
    /// Responder address (text) and port.
    pub dst_ip: *const c_char,
    pub dst_port: u16,
    pub orig_pkts: u64,
    pub resp_pkts: u64,
    /// Bytes on the wire from each side.
    pub orig_bytes: u64,
    pub resp_bytes: u64,
    /// Zeek's connection state (`S0`, `SF`, `REJ`, ...).
    pub conn_state: *const c_char,
    /// The flow's classification.
    pub verdict: netsift_verdict,
    /// The record as one JSON object with the keys of
    /// `netsift flows --format jsonl`.
    pub json: *const c_char,
}

/// What the engine says about one packet.
#[repr(C)]
pub struct netsift_packet {
    /// 1 when the packet belongs to a flow; 0 for non-IP frames, fragments
    /// still held for reassembly, and frames that do not decode.
    pub in_flow: i32,
    /// 1 when this packet opened its flow.
    pub new_flow: i32,
    /// The flow's uid, NUL-terminated ("" when in_flow is 0).
    pub uid: [c_char; 24],
    /// The flow's protocol so far (`Unknown` while undecided); static.
    pub protocol: *const c_char,
    /// Its confidence (`none` while undecided); static.
    pub confidence: *const c_char,
}

/// An engine: flow tracking with layered classification. Opaque.
pub struct netsift_engine {
    engine: Engine,
}

/// The header promises an engine may move between threads: hold Rust to it.
const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<netsift_engine>();
};

// ---- errors and strings ----

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_error(msg: &str) {
    let c = cstring(msg);
    LAST_ERROR.with(|e| *e.borrow_mut() = c);
}

/// Run `f`, turning a panic into `fallback` and an error message.
fn guard<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(p) => {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            set_error(&format!("netsift internal error: {what}"));
            fallback
        }
    }
}

/// A C string of `s`; a NUL inside (from wire data) becomes U+FFFD.
fn cstring(s: &str) -> CString {
    let bytes = if s.as_bytes().contains(&0) {
        s.replace('\0', "\u{FFFD}").into_bytes()
    } else {
        s.as_bytes().to_vec()
    };
    CString::new(bytes).unwrap_or_default()
}

/// A static C string for a static name (protocol, confidence, layer). The
/// set of static names is finite, so the interned copies are bounded.
fn static_cstr(s: &'static str) -> *const c_char {
    static NAMES: OnceLock<Mutex<HashMap<&'static str, &'static CStr>>> = OnceLock::new();
    let names = NAMES.get_or_init(Default::default);
    let mut map = match names.lock() {
        Ok(m) => m,
        Err(poisoned) => poisoned.into_inner(),
    };
    map.entry(s)
        .or_insert_with(|| Box::leak(cstring(s).into_boxed_c_str()))
        .as_ptr()
}

/// A verdict with the strings it points to. `v` comes first so a pointer
/// to the box is a pointer to the public struct.
#[repr(C)]
struct VerdictBox {
    v: netsift_verdict,
    owned: Vec<CString>,
}

/// Fill a public verdict from parts; owned strings go into `owned`.
fn fill_verdict(
    owned: &mut Vec<CString>,
    result: i32,
    protocol: &'static str,
    app: Option<&str>,
    confidence: &'static str,
    source: &'static str,
    evidence: &str,
) -> netsift_verdict {
    let app = app.map(|a| {
        let c = cstring(a);
        let p = c.as_ptr();
        owned.push(c);
        p
    });
    let ev = cstring(evidence);
    let evp = ev.as_ptr();
    owned.push(ev);
    netsift_verdict {
        result,
        protocol: static_cstr(protocol),
        app: app.unwrap_or(std::ptr::null()),
        confidence: static_cstr(confidence),
        source: static_cstr(source),
        evidence: evp,
    }
}

fn first_verdict(owned: &mut Vec<CString>, v: &FirstVerdict) -> netsift_verdict {
    match v {
        FirstVerdict::Match {
            protocol,
            app,
            evidence,
        } => fill_verdict(
            owned,
            NETSIFT_MATCH,
            protocol,
            app.as_deref(),
            "dpi",
            "dpi",
            evidence,
        ),
        FirstVerdict::NeedMore { candidates } => fill_verdict(
            owned,
            NETSIFT_NEED_MORE,
            "Unknown",
            None,
            "none",
            "none",
            &format!("needs more bytes: {}", candidates.join(", ")),
        ),
        FirstVerdict::Unknown => {
            fill_verdict(owned, NETSIFT_UNKNOWN, "Unknown", None, "none", "none", "")
        }
    }
}

fn flow_verdict(owned: &mut Vec<CString>, v: Option<&Verdict>) -> netsift_verdict {
    match v {
        Some(v) if v.protocol != "Unknown" => fill_verdict(
            owned,
            NETSIFT_MATCH,
            v.protocol,
            v.app.as_deref(),
            v.confidence.as_str(),
            v.source,
            &v.evidence,
        ),
        _ => fill_verdict(owned, NETSIFT_UNKNOWN, "Unknown", None, "none", "none", ""),
    }
}

// ---- version ----

/// The library's version (`0.1.0`); a static string.
#[no_mangle]
pub extern "C" fn netsift_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The message of the last failed call on this thread ("" if none). Valid
/// until the next failing call on the same thread.
#[no_mangle]
pub extern "C" fn netsift_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

// ---- one payload ----

/// Name the protocol of one payload: a connection's first bytes, no state.
///
/// `transport` is the IP protocol number (NETSIFT_TCP, NETSIFT_UDP, or
/// another such as 1 for ICMP); `direction` NETSIFT_TO_SERVER for the
/// client's bytes or NETSIFT_TO_CLIENT for a server's banner;
/// `server_port` the port the client connected to (it only tells apart
/// variants of one structure, never decides alone). At most
/// NETSIFT_MAX_PAYLOAD bytes are looked at.
///
/// Returns a verdict to free with netsift_verdict_free, or NULL on a bad
/// argument (netsift_last_error says which).
///
/// # Safety
/// `data` must point to `len` readable bytes (it may be NULL when `len`
/// is 0).
#[no_mangle]
pub unsafe extern "C" fn netsift_identify(
    transport: u8,
    direction: u8,
    server_port: u16,
    data: *const u8,
    len: usize,
) -> *mut netsift_verdict {
    guard(std::ptr::null_mut(), || {
        let payload: &[u8] = if len == 0 {
            &[]
        } else if data.is_null() {
            set_error("netsift_identify: data is NULL but len is not 0");
            return std::ptr::null_mut();
        } else {
            // SAFETY: the caller promises `len` readable bytes at `data`.
            unsafe { std::slice::from_raw_parts(data, len.min(NETSIFT_MAX_PAYLOAD)) }
        };
        let transport = match transport {
            6 => Transport::Tcp,
            17 => Transport::Udp,
            n => Transport::Ip(n),
        };
        let dir = match direction {
            NETSIFT_TO_SERVER => Direction::ToServer,
            NETSIFT_TO_CLIENT => Direction::ToClient,
            d => {
                set_error(&format!(
                    "netsift_identify: direction must be 0 (to server) or 1 (to client), got {d}"
                ));
                return std::ptr::null_mut();
            }
        };
        let v = identify_first_payload(transport, dir, server_port, payload);
        let mut owned = Vec::new();
        let v = first_verdict(&mut owned, &v);
        Box::into_raw(Box::new(VerdictBox { v, owned })).cast()
    })
}

/// Free a verdict from netsift_identify. NULL is ignored.
///
/// # Safety
/// `v` must come from netsift_identify and not have been freed.
#[no_mangle]
pub unsafe extern "C" fn netsift_verdict_free(v: *mut netsift_verdict) {
    if v.is_null() {
        return;
    }
    guard((), || {
        // SAFETY: `v` was made by Box::into_raw of a VerdictBox, whose
        // first field it points to (repr(C)).
        drop(unsafe { Box::from_raw(v.cast::<VerdictBox>()) });
    })
}

// ---- the engine ----

/// Make an engine. `layers` is a comma-separated list of classification
/// layers in order (`flow,dpi,port`; `ndpi` and `ml` where built in), or
/// NULL/"" for netsift's default. On success `*out` holds the engine, to
/// free with netsift_engine_free.
///
/// # Safety
/// `layers` must be NULL or a NUL-terminated string; `out` must be a valid
/// pointer to write to.
#[no_mangle]
pub unsafe extern "C" fn netsift_engine_new(
    layers: *const c_char,
    out: *mut *mut netsift_engine,
) -> i32 {
    guard(NETSIFT_ERR_PANIC, || {
        if out.is_null() {
            set_error("netsift_engine_new: out is NULL");
            return NETSIFT_ERR_NULL;
        }
        // SAFETY: checked non-NULL; the caller promises it is writable.
        unsafe { *out = std::ptr::null_mut() };
        let mut builder = Engine::builder();
        if !layers.is_null() {
            // SAFETY: the caller promises a NUL-terminated string.
            let s = unsafe { CStr::from_ptr(layers) };
            let Ok(s) = s.to_str() else {
                set_error("netsift_engine_new: layers is not UTF-8");
                return NETSIFT_ERR_INVALID;
            };
            let names: Vec<&str> = s
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .collect();
            if !names.is_empty() {
                builder = builder.layers(&names);
            }
        }
        match builder.build() {
            Ok(engine) => {
                let e = Box::new(netsift_engine { engine });
                // SAFETY: as above.
                unsafe { *out = Box::into_raw(e) };
                NETSIFT_OK
            }
            Err(e) => {
                set_error(&format!("netsift_engine_new: {e}"));
                NETSIFT_ERR_LAYER
            }
        }
    })
}

/// Free an engine and every flow still in it. NULL is ignored.
///
/// # Safety
/// `e` must come from netsift_engine_new and not have been freed.
#[no_mangle]
pub unsafe extern "C" fn netsift_engine_free(e: *mut netsift_engine) {
    if e.is_null() {
        return;
    }
    guard((), || {
        // SAFETY: made by Box::into_raw in netsift_engine_new.
        drop(unsafe { Box::from_raw(e) });
    })
}

/// Feed one frame. `ts_ns` is its packet time in nanoseconds since the
/// Unix epoch (timeouts follow it, never the wall clock); `linktype` the
/// pcap LINKTYPE_* value (1 Ethernet, 101 raw IP, 113 Linux cooked, ...);
/// `data`/`caplen` the captured bytes; `orig_len` the length on the wire.
/// When `out` is not NULL it receives the packet's flow and verdict so far.
/// Flows that end (TCP close, timeouts, eviction) wait for
/// netsift_engine_next_flow.
///
/// # Safety
/// `e` must be a live engine used by no other thread during the call;
/// `data` must point to `caplen` readable bytes; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn netsift_engine_process(
    e: *mut netsift_engine,
    ts_ns: u64,
    linktype: u32,
    data: *const u8,
    caplen: usize,
    orig_len: u32,
    out: *mut netsift_packet,
) -> i32 {
    guard(NETSIFT_ERR_PANIC, || {
        if e.is_null() || (data.is_null() && caplen != 0) {
            set_error("netsift_engine_process: engine or data is NULL");
            return NETSIFT_ERR_NULL;
        }
        // SAFETY: checked non-NULL; the caller promises exclusive use.
        let e = unsafe { &mut *e };
        let frame: &[u8] = if caplen == 0 {
            &[]
        } else {
            // SAFETY: the caller promises `caplen` readable bytes.
            unsafe { std::slice::from_raw_parts(data, caplen) }
        };
        let orig_len = orig_len.max(u32::try_from(caplen).unwrap_or(u32::MAX));
        let info = e.engine.process(ts_ns, LinkType(linktype), frame, orig_len);
        if !out.is_null() {
            let mut p = netsift_packet {
                in_flow: 0,
                new_flow: 0,
                uid: [0; 24],
                protocol: static_cstr("Unknown"),
                confidence: static_cstr("none"),
            };
            if let Some(info) = info {
                p.in_flow = 1;
                p.new_flow = i32::from(info.new_flow);
                for (d, s) in p.uid.iter_mut().zip(info.uid.bytes().take(23)) {
                    *d = s as c_char;
                }
                if let Some(v) = &info.verdict {
                    p.protocol = static_cstr(v.protocol);
                    p.confidence = static_cstr(v.confidence.as_str());
                }
            }
            // SAFETY: checked non-NULL; the caller promises it is writable.
            unsafe { out.write(p) };
        }
        NETSIFT_OK
    })
}

/// End every open flow now, as at the end of a capture; they come out of
/// netsift_engine_next_flow. The engine stays usable.
///
/// # Safety
/// `e` must be a live engine used by no other thread during the call.
#[no_mangle]
pub unsafe extern "C" fn netsift_engine_finish(e: *mut netsift_engine) -> i32 {
    guard(NETSIFT_ERR_PANIC, || {
        if e.is_null() {
            set_error("netsift_engine_finish: engine is NULL");
            return NETSIFT_ERR_NULL;
        }
        // SAFETY: checked non-NULL; exclusive use promised.
        let e = unsafe { &mut *e };
        e.engine.end_all();
        NETSIFT_OK
    })
}

/// Ended flows dropped because more waited unread than the flow table
/// holds (1,000,000).
///
/// # Safety
/// `e` must be a live engine (or NULL, which gives 0).
#[no_mangle]
pub unsafe extern "C" fn netsift_engine_dropped_flows(e: *const netsift_engine) -> u64 {
    if e.is_null() {
        return 0;
    }
    // SAFETY: checked non-NULL.
    unsafe { (*e).engine.dropped_flows() }
}

#[repr(C)]
struct FlowBox {
    f: netsift_flow,
    owned: Vec<CString>,
}

fn flow_box(flow: &ClassifiedFlow) -> FlowBox {
    let rec = Engine::record(flow);
    let json = serde_json::to_string(&rec).unwrap_or_else(|_| "{}".to_string());
    let mut owned = Vec::new();
    let mut own = |s: &str| {
        let c = cstring(s);
        let p = c.as_ptr();
        owned.push(c);
        p
    };
    let FlowRecord {
        uid,
        ts,
        duration,
        l4,
        src_ip,
        src_port,
        dst_ip,
        dst_port,
        orig_pkts,
        resp_pkts,
        orig_bytes,
        resp_bytes,
        conn_state,
        ..
    } = &rec;
    let uid = own(uid);
    let l4 = own(l4);
    let src = own(src_ip);
    let dst = own(dst_ip);
    let json = own(&json);
    let verdict = flow_verdict(&mut owned, flow.data.verdict.as_deref());
    FlowBox {
        f: netsift_flow {
            uid,
            ts: *ts,
            duration: *duration,
            l4,
            src_ip: src,
            src_port: *src_port,
            dst_ip: dst,
            dst_port: *dst_port,
            orig_pkts: *orig_pkts,
            resp_pkts: *resp_pkts,
            orig_bytes: *orig_bytes,
            resp_bytes: *resp_bytes,
            conn_state: static_cstr(conn_state),
            verdict,
            json,
        },
        owned,
    }
}

/// The next flow that ended, oldest first, or NULL when none waits. Free
/// it with netsift_flow_free.
///
/// # Safety
/// `e` must be a live engine used by no other thread during the call.
#[no_mangle]
pub unsafe extern "C" fn netsift_engine_next_flow(e: *mut netsift_engine) -> *mut netsift_flow {
    guard(std::ptr::null_mut(), || {
        if e.is_null() {
            set_error("netsift_engine_next_flow: engine is NULL");
            return std::ptr::null_mut();
        }
        // SAFETY: checked non-NULL; exclusive use promised.
        let e = unsafe { &mut *e };
        match e.engine.next_ended() {
            Some(flow) => Box::into_raw(Box::new(flow_box(&flow))).cast(),
            None => std::ptr::null_mut(),
        }
    })
}

/// Free a flow from netsift_engine_next_flow. NULL is ignored.
///
/// # Safety
/// `f` must come from netsift_engine_next_flow and not have been freed.
#[no_mangle]
pub unsafe extern "C" fn netsift_flow_free(f: *mut netsift_flow) {
    if f.is_null() {
        return;
    }
    guard((), || {
        // SAFETY: made by Box::into_raw of a FlowBox, whose first field
        // `f` points to (repr(C)).
        drop(unsafe { Box::from_raw(f.cast::<FlowBox>()) });
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(p: *const c_char) -> String {
        assert!(!p.is_null());
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }

    #[test]
    fn identify_names_a_request_and_frees() {
        let req = b"GET /index.html HTTP/1.1\r\nHost: example.org\r\n\r\n";
        let v = unsafe { netsift_identify(NETSIFT_TCP, 0, 8081, req.as_ptr(), req.len()) };
        assert!(!v.is_null());
        let r = unsafe { &*v };
        assert_eq!(r.result, NETSIFT_MATCH);
        assert_eq!(text(r.protocol), "HTTP");
        assert_eq!(text(r.confidence), "dpi");
        assert!(text(r.evidence).contains("GET"), "{}", text(r.evidence));
        unsafe { netsift_verdict_free(v) };
    }

    #[test]
    fn bad_arguments_are_errors_not_crashes() {
        let v = unsafe { netsift_identify(NETSIFT_TCP, 0, 80, std::ptr::null(), 10) };
        assert!(v.is_null());
        assert!(text(netsift_last_error()).contains("NULL"));
        let v = unsafe { netsift_identify(NETSIFT_TCP, 7, 80, b"x".as_ptr(), 1) };
        assert!(v.is_null());
        assert!(text(netsift_last_error()).contains("direction"));
        // An empty payload is a question with no answer yet, not an error.
        let v = unsafe { netsift_identify(NETSIFT_UDP, 0, 53, std::ptr::null(), 0) };
        assert!(!v.is_null());
        assert_ne!(unsafe { (*v).result }, NETSIFT_MATCH);
        unsafe { netsift_verdict_free(v) };
        let mut e = std::ptr::null_mut();
        let rc = unsafe { netsift_engine_new(c"dpi,nosuch".as_ptr(), &mut e) };
        assert_eq!(rc, NETSIFT_ERR_LAYER);
        assert!(e.is_null());
        assert!(text(netsift_last_error()).contains("nosuch"));
        assert_eq!(
            unsafe { netsift_engine_new(std::ptr::null(), std::ptr::null_mut()) },
            NETSIFT_ERR_NULL
        );
        let rc = unsafe {
            netsift_engine_process(
                std::ptr::null_mut(),
                0,
                1,
                b"x".as_ptr(),
                1,
                1,
                std::ptr::null_mut(),
            )
        };
        assert_eq!(rc, NETSIFT_ERR_NULL);
        unsafe { netsift_engine_free(std::ptr::null_mut()) };
        unsafe { netsift_flow_free(std::ptr::null_mut()) };
        unsafe { netsift_verdict_free(std::ptr::null_mut()) };
    }

    #[test]
    fn nul_in_wire_text_is_replaced() {
        assert_eq!(cstring("a\0b").to_str().ok(), Some("a\u{FFFD}b"));
    }

    #[test]
    fn version_is_the_crate_version() {
        assert_eq!(text(netsift_version()), env!("CARGO_PKG_VERSION"));
    }
}
