//! JSON-RPC sent straight over TCP (JSON-RPC 2.0 Specification, 2013; and
//! JSON-RPC 1.0, 2005), one JSON text per message, no HTTP framing.
//!
//! 2.0 §4: "A rpc call is represented by sending a Request object to a
//! Server. The Request object has the following members: jsonrpc - A String
//! specifying the version of the JSON-RPC protocol. MUST be exactly "2.0".
//! method ... params ... id"; §5: responses carry `jsonrpc`, `result` or
//! `error`, and `id`; §6: a batch is an Array of them. 1.0 has no version
//! member: a request is `{"method": ..., "params": [...], "id": ...}`.
//!
//! Matches: a stream that starts with `{` or `[` and, within its first
//! 512 octets, has the member `"jsonrpc"` with the value `"2.0"`, or (1.0)
//! all of `"method"`, `"params"` and `"id"`. JSON-RPC carried by HTTP is
//! named by the HTTP probe (app JSON-RPC).

use netsift_proto::{printable, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// JSON-RPC.
pub struct JsonRpc;

const LOOK: usize = 512;

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

/// The JSON string value of member `key` (`"key"` then `:` then `"`...).
pub(crate) fn member<'a>(w: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let k = find(w, key)?;
    let mut p = k + key.len();
    while w.get(p).is_some_and(|b| b.is_ascii_whitespace()) {
        p += 1;
    }
    if w.get(p) != Some(&b':') {
        return None;
    }
    p += 1;
    while w.get(p).is_some_and(|b| b.is_ascii_whitespace()) {
        p += 1;
    }
    if w.get(p) != Some(&b'"') {
        return Some(&[]);
    }
    let v = w.get(p + 1..)?;
    let e = v.iter().take(80).position(|&b| b == b'"')?;
    v.get(..e)
}

/// Whether a window of JSON text looks like JSON-RPC; evidence if so.
pub(crate) fn json_rpc(w: &[u8]) -> Option<String> {
    if let Some(v) = member(w, b"\"jsonrpc\"") {
        if v == b"2.0" {
            let what = match member(w, b"\"method\"") {
                Some(m) if !m.is_empty() => format!("request '{}'", printable(m, 40)),
                _ if find(w, b"\"result\"").is_some() => "result".to_owned(),
                _ if find(w, b"\"error\"").is_some() => "error".to_owned(),
                _ => "message".to_owned(),
            };
            return Some(format!("JSON-RPC 2.0 {what}"));
        }
        return None;
    }
    let m = member(w, b"\"method\"")?;
    if m.is_empty() || find(w, b"\"params\"").is_none() || find(w, b"\"id\"").is_none() {
        return None;
    }
    Some(format!("JSON-RPC 1.0 request '{}'", printable(m, 40)))
}

/// Stratum, the mining pools' JSON-RPC dialect (methods `mining.*`, the
/// Ethereum pools' `eth_submitLogin` / `eth_getWork` / `eth_submitWork` /
/// `eth_submitHashrate` with a `worker` member, the Monero pools' `login`
/// with `pass`/`agent`, `submit`/`getjob` with a `job_id`, and their `job`
/// answers), is its own application (nDPI: Mining) and is left to that
/// probe.
fn stratum(w: &[u8]) -> bool {
    let m = member(w, b"\"method\"").unwrap_or(&[]);
    let has = |k: &[u8]| find(w, k).is_some();
    m.starts_with(b"mining.")
        || (m.starts_with(b"eth_submit") || m == b"eth_getWork")
        || has(b"\"worker\"")
        || (m == b"login" && (has(b"\"agent\"") || has(b"\"pass\"")))
        || has(b"\"job_id\"")
        || has(b"\"job\":{")
}

impl Protocol for JsonRpc {
    fn name(&self) -> &'static str {
        "JSON-RPC"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let d = input.data;
        // RFC 8259 §2: insignificant white space may precede the value.
        let start = d.iter().take(16).position(|b| !b.is_ascii_whitespace());
        let Some(start) = start else {
            return if d.len() < 16 {
                Probe::NeedMore
            } else {
                Probe::NoMatch
            };
        };
        match d.get(start) {
            Some(b'{' | b'[') => {}
            _ => return Probe::NoMatch,
        }
        let w = d.get(start..(start + LOOK).min(d.len())).unwrap_or(&[]);
        // JSON text is UTF-8 without control characters outside strings
        // other than white space.
        if w.iter().any(|&b| b < 0x20 && !b.is_ascii_whitespace()) {
            return Probe::NoMatch;
        }
        if stratum(w) {
            return Probe::NoMatch;
        }
        match json_rpc(w) {
            Some(ev) => Probe::Match(Match::new(format!("{ev} over plain TCP"))),
            None if d.len() < start + LOOK => Probe::NeedMore,
            None => Probe::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const TCP: Transport = Transport::Tcp;
    // Sources: testdata/README.md.
    const REQ: &[u8] = include_bytes!("testdata/tcp_request.bin");

    #[test]
    fn messages() {
        assert_eq!(
            evidence(probe1(&JsonRpc, TCP, C, REQ)),
            "JSON-RPC 2.0 request 'echo' over plain TCP"
        );
        let resp = br#"{"jsonrpc": "2.0", "result": ["Testing!"], "id": "ca08159b"}"#;
        assert_eq!(
            evidence(probe1(&JsonRpc, TCP, S, resp)),
            "JSON-RPC 2.0 result over plain TCP"
        );
        let v1 = br#"{"method": "getblock", "params": [1], "id": 7}"#;
        assert_eq!(
            evidence(probe1(&JsonRpc, TCP, C, v1)),
            "JSON-RPC 1.0 request 'getblock' over plain TCP"
        );
        let batch = br#"[{"jsonrpc":"2.0","method":"sum","params":[1,2],"id":"1"}]"#;
        assert!(is_match(&probe1(&JsonRpc, TCP, C, batch)));
    }

    #[test]
    fn stratum_is_left_to_mining() {
        // mining.pcapng (nDPI: Mining), Ethereum pool login.
        let eth = br#"{"worker": "eth1.0", "jsonrpc": "2.0", "params": ["0x9c99/tester.worker1", "x"], "id": 2, "method": "eth_submitLogin"}"#;
        assert_eq!(probe1(&JsonRpc, TCP, C, eth), Probe::NoMatch);
        let btc = br#"{"id": 1, "method": "mining.subscribe", "params": ["cpuminer/2.5.1"]}"#;
        assert_eq!(probe1(&JsonRpc, TCP, C, btc), Probe::NoMatch);
        let xmr = br#"{"method":"login","params":{"login":"4BCeEPhodgPM.cb2b7","pass":"x","agent":"xmrig/2.5"},"id":1}"#;
        assert_eq!(probe1(&JsonRpc, TCP, C, xmr), Probe::NoMatch);
        let job = br#"{"id":1,"jsonrpc":"2.0","error":null,"result":{"id":"4790","job":{"blob":"0606"}}}"#;
        assert_eq!(probe1(&JsonRpc, TCP, S, job), Probe::NoMatch);
    }

    #[test]
    fn other_json() {
        assert_eq!(
            probe1(&JsonRpc, TCP, C, br#"{"jsonrpc": "1.5", "method": "x"}"#),
            Probe::NeedMore
        );
        let long = format!("{{\"a\": \"{}\"}}", "x".repeat(600));
        assert_eq!(probe1(&JsonRpc, TCP, C, long.as_bytes()), Probe::NoMatch);
    }

    #[test]
    fn prefixes_random_foreign() {
        check_prefixes(&JsonRpc, TCP, C, REQ, b"");
        assert_random_flows_rejected(&JsonRpc, TCP, 8080);
        foreign_never_match(&JsonRpc, TCP);
        assert_foreign_rejected(&JsonRpc, "json");
    }
}
