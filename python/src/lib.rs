//! netsift for Python (PyO3, abi3, CPython >= 3.9): the same verdicts and records as the
//! command line, for honeypots (Cowrie, OpenCanary, Dionaea handlers) and
//! notebooks.
//!
//! * `identify(payload, port=0, transport="tcp", direction="to_server")`
//! * `Engine(layers=None)` with `.process(ts, frame)`, `.flows()`, `.finish()`
//! * `read_flows(path, layers=None)`: an iterator of flow dicts with the keys
//!   of `netsift flows --format jsonl`
//!
//! Every input is bounded: at most 64 KiB of a payload is looked at, at most
//! as many ended flows wait in an engine as its flow table holds (1,000,000;
//! the oldest beyond are dropped and counted), and the capture reader keeps
//! netsift's own bounds. The GIL is
//! released while netsift works.

use std::path::PathBuf;

use ::netsift_engine::{ClassifiedFlow, Engine as RsEngine};
use netsift_capture::{CaptureFormat, CaptureReader};
use netsift_proto::{Direction, Transport};
use netsift_protocols::{identify_first_payload, FirstVerdict};
use netsift_wire::LinkType;
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use pyo3::IntoPyObjectExt;
use serde_json::Value;

/// The most payload bytes `identify` looks at (as `netsift identify`).
const MAX_PAYLOAD: usize = 64 * 1024;

/// A JSON value as the Python object `json.loads` would give.
fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_bound_py_any(py)?,
        Value::Number(n) => {
            if let Some(i) = n.as_u64() {
                i.into_bound_py_any(py)?
            } else if let Some(i) = n.as_i64() {
                i.into_bound_py_any(py)?
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_bound_py_any(py)?
            }
        }
        Value::String(s) => s.into_bound_py_any(py)?,
        Value::Array(a) => {
            let l = PyList::empty(py);
            for x in a {
                l.append(to_py(py, x)?)?;
            }
            l.into_any()
        }
        Value::Object(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(k, to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

fn record_dict<'py>(py: Python<'py>, f: &ClassifiedFlow) -> PyResult<Bound<'py, PyAny>> {
    let v = serde_json::to_value(RsEngine::record(f))
        .map_err(|e| PyValueError::new_err(format!("flow record: {e}")))?;
    to_py(py, &v)
}

fn parse_transport(t: &str) -> PyResult<Transport> {
    match t {
        "tcp" => Ok(Transport::Tcp),
        "udp" => Ok(Transport::Udp),
        _ => Err(PyValueError::new_err(format!(
            "transport must be 'tcp' or 'udp', got {t:?}"
        ))),
    }
}

fn parse_direction(d: &str) -> PyResult<Direction> {
    match d {
        "to_server" | "to-server" => Ok(Direction::ToServer),
        "to_client" | "to-client" => Ok(Direction::ToClient),
        _ => Err(PyValueError::new_err(format!(
            "direction must be 'to_server' or 'to_client', got {d:?}"
        ))),
    }
}

/// Name the protocol of one payload: a connection's first bytes, no state.
///
/// `port` is the server's port (it only tells apart variants of one
/// structure, never decides alone); `transport` is "tcp" or "udp";
/// `direction` "to_server" for the client's bytes or "to_client" for a
/// server's banner. At most 64 KiB are looked at.
///
/// Returns a dict: `protocol` (nDPI's spelling, or "Unknown"), `app` (or
/// None), `confidence` ("dpi" or "none"), `evidence` (why), and
/// `need_more` (the protocols that would decide with more bytes).
#[pyfunction]
#[pyo3(signature = (payload, port=0, transport="tcp", direction="to_server"))]
fn identify<'py>(
    py: Python<'py>,
    payload: &[u8],
    port: u16,
    transport: &str,
    direction: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let t = parse_transport(transport)?;
    let d = parse_direction(direction)?;
    let data = &payload[..payload.len().min(MAX_PAYLOAD)];
    let v = py.detach(|| identify_first_payload(t, d, port, data));
    let out = PyDict::new(py);
    let (protocol, app, confidence, evidence, need_more) = match v {
        FirstVerdict::Match {
            protocol,
            app,
            evidence,
        } => (protocol, app, "dpi", evidence, Vec::new()),
        FirstVerdict::NeedMore { candidates } => {
            ("Unknown", None, "none", String::new(), candidates)
        }
        FirstVerdict::Unknown => ("Unknown", None, "none", String::new(), Vec::new()),
    };
    out.set_item("protocol", protocol)?;
    out.set_item("app", app)?;
    out.set_item("confidence", confidence)?;
    out.set_item("evidence", evidence)?;
    out.set_item("need_more", need_more)?;
    Ok(out)
}

fn build_engine(layers: Option<Vec<String>>) -> PyResult<RsEngine> {
    let mut b = RsEngine::builder();
    if let Some(l) = layers {
        b = b.layers(&l);
    }
    b.build().map_err(|e| PyValueError::new_err(e.to_string()))
}

/// Flow tracking with layered classification. Feed frames in packet-time
/// order; flows come out as they end (TCP close, idle timeouts in packet
/// time, eviction) and all the rest at `.finish()`.
///
/// `layers`: classification layers in order, e.g. ["flow", "dpi", "port"];
/// None for netsift's default.
#[pyclass(unsendable, module = "netsift")]
struct Engine {
    engine: RsEngine,
}

impl Engine {
    fn take<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let l = PyList::empty(py);
        while let Some(f) = self.engine.next_ended() {
            l.append(record_dict(py, &f)?)?;
        }
        Ok(l)
    }
}

#[pymethods]
impl Engine {
    #[new]
    #[pyo3(signature = (layers=None))]
    fn new(layers: Option<Vec<String>>) -> PyResult<Self> {
        Ok(Engine {
            engine: build_engine(layers)?,
        })
    }

    /// Feed one frame. `ts` is its packet time in seconds since the Unix
    /// epoch (a float, as pcap readers give it); `frame` the captured bytes;
    /// `linktype` the pcap LINKTYPE (1 Ethernet, 101 raw IP, 113 Linux
    /// cooked); `orig_len` the length on the wire (default: len(frame)).
    ///
    /// Returns None when the frame belongs to no flow (not IP, a fragment
    /// held for reassembly, undecodable), else a dict with `uid`,
    /// `new_flow`, and the flow's `protocol` and `confidence` so far.
    #[pyo3(signature = (ts, frame, linktype=1, orig_len=None))]
    fn process<'py>(
        &mut self,
        py: Python<'py>,
        ts: f64,
        frame: &[u8],
        linktype: u32,
        orig_len: Option<u32>,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        if !ts.is_finite() || ts < 0.0 {
            return Err(PyValueError::new_err(format!(
                "ts must be seconds since the epoch, got {ts}"
            )));
        }
        let ts_ns = (ts * 1e9).round() as u64;
        let caplen = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let orig = orig_len.unwrap_or(caplen).max(caplen);
        let info = self.engine.process(ts_ns, LinkType(linktype), frame, orig);
        let Some(info) = info else {
            return Ok(None);
        };
        let d = PyDict::new(py);
        d.set_item("uid", info.uid)?;
        d.set_item("new_flow", info.new_flow)?;
        match &info.verdict {
            Some(v) => {
                d.set_item("protocol", v.protocol)?;
                d.set_item("confidence", v.confidence.as_str())?;
            }
            None => {
                d.set_item("protocol", "Unknown")?;
                d.set_item("confidence", "none")?;
            }
        }
        Ok(Some(d))
    }

    /// The flows that ended since the last call, as dicts with the keys of
    /// `netsift flows --format jsonl`.
    fn flows<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        self.take(py)
    }

    /// End every open flow (as at the end of a capture) and return all
    /// flows not yet returned. The engine stays usable.
    fn finish<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        self.engine.end_all();
        self.take(py)
    }

    /// Ended flows dropped because more waited unread than the flow table
    /// holds (1,000,000).
    #[getter]
    fn dropped_flows(&self) -> u64 {
        self.engine.dropped_flows()
    }
}

/// Iterator over a capture's flows (see `read_flows`).
#[pyclass(unsendable, module = "netsift")]
struct FlowReader {
    reader: CaptureReader<Box<dyn std::io::Read + Send>>,
    engine: RsEngine,
    done: bool,
    path: PathBuf,
}

impl FlowReader {
    /// Read frames until some flow ended (the oldest of them) or the
    /// capture is over (None).
    fn next_flow(&mut self) -> PyResult<Option<ClassifiedFlow>> {
        loop {
            if let Some(f) = self.engine.next_ended() {
                return Ok(Some(f));
            }
            if self.done {
                return Ok(None);
            }
            match self.reader.next_frame() {
                Ok(Some(f)) => {
                    self.engine
                        .process(f.ts_ns, LinkType(f.linktype), f.data, f.orig_len);
                }
                Ok(None) => {
                    self.done = true;
                    self.engine.end_all();
                }
                Err(e) => {
                    self.done = true;
                    return Err(PyValueError::new_err(format!(
                        "{}: {e}",
                        self.path.display()
                    )));
                }
            }
        }
    }
}

#[pymethods]
impl FlowReader {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match self.next_flow()? {
            Some(f) => Ok(Some(record_dict(py, &f)?)),
            None => Ok(None),
        }
    }
}

/// Iterate over the flows of a capture (pcap or pcapng, also gzip, zstd,
/// xz or lz4 compressed), each a dict with the keys of `netsift flows
/// --format jsonl`, in the order flows end. Reads lazily: memory stays
/// bounded by the flow table, whatever the capture's size. Damaged
/// records are skipped as `netsift flows` skips them (the same flows); with
/// `strict=True` a damaged capture raises ValueError after the flows read
/// so far. A classic pcap of a link type netsift does not decode raises
/// ValueError at once, as the command line refuses it.
#[pyfunction]
#[pyo3(signature = (path, layers=None, strict=false))]
fn read_flows(path: PathBuf, layers: Option<Vec<String>>, strict: bool) -> PyResult<FlowReader> {
    let mut reader = CaptureReader::open(&path).map_err(|e| PyOSError::new_err(e.to_string()))?;
    reader.set_resync(!strict);
    if let CaptureFormat::Pcap { .. } | CaptureFormat::PcapModified { .. } = reader.format() {
        let lt = reader.interfaces().first().map_or(0, |i| i.linktype);
        if !LinkType(lt).is_supported() {
            return Err(PyValueError::new_err(format!(
                "{}: unsupported link type {lt} at offset 20",
                path.display()
            )));
        }
    }
    Ok(FlowReader {
        reader,
        engine: build_engine(layers)?,
        done: false,
        path,
    })
}

/// netsift: protocol identification and flows, from Rust.
#[pymodule]
fn netsift(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(identify, m)?)?;
    m.add_function(wrap_pyfunction!(read_flows, m)?)?;
    m.add_class::<Engine>()?;
    m.add_class::<FlowReader>()?;
    Ok(())
}
