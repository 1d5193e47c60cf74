//! Suricata's EVE layout for netsift's records: field names, event types
//! and value formats as Suricata writes them (its `etc/schema.json` is the
//! reference; a test validates every event of the corpus against it).
//!
//! Each netsift log maps to the EVE event Suricata writes for the same
//! transaction: `http`, `dns` (version 2: a `query` and an `answer`
//! event), `tls`, `ssh`, `ftp`, `smtp` (with its `email` object), `dhcp`,
//! `smb`, `sip`, `quic`, `fileinfo` (from `files`), `anomaly` (from
//! `weird`), `flow` (from `conn`) and `alert`. netsift logs Suricata has
//! no event for (imap, pop3, s7comm, kafka, mssql, bacnet, ...) are left
//! out of strict EVE; with `--eve-extras` they appear as events of their
//! own name holding the record under `netsift` (that mode is not
//! schema-checked).

use std::net::IpAddr;

use serde_json::{json, Map, Value};

use crate::record::FlowRecord;

/// `2026-12-04T16:52:28.718225+0000`, Suricata's timestamp format (UTC).
pub fn eve_time(ts_ns: u64) -> String {
    let t = netsift_detect::alert::rfc3339(ts_ns);
    match t.strip_suffix('Z') {
        Some(head) => format!("{head}+0000"),
        None => t,
    }
}

/// A flow's EVE `flow_id`: a 51-bit integer derived from netsift's uid
/// (FNV-1a), the same for every event of the flow, exact in any JSON
/// reader (below 2^53).
pub fn flow_id(uid: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in uid.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h & ((1 << 51) - 1)
}

/// Suricata's `proto` names.
pub fn proto_name(p: u8) -> String {
    match p {
        1 => "ICMP".into(),
        6 => "TCP".into(),
        17 => "UDP".into(),
        58 => "IPv6-ICMP".into(),
        132 => "SCTP".into(),
        47 => "GRE".into(),
        50 => "ESP".into(),
        n => format!("{n:03}"),
    }
}

/// Suricata's app-layer name for a netsift protocol, where Suricata has a
/// parser for it.
pub fn app_proto(protocol: &str) -> Option<&'static str> {
    Some(match protocol {
        "HTTP" | "HTTP_Proxy" | "HTTP_Connect" => "http",
        "HTTP2" => "http2",
        "TLS" => "tls",
        "DNS" => "dns",
        "SSH" => "ssh",
        "FTP_CONTROL" => "ftp",
        "FTP_DATA" => "ftp-data",
        "SMTP" => "smtp",
        "POP3" => "pop3",
        "IMAP" => "imap",
        "DHCP" => "dhcp",
        "SMBv1" | "SMBv23" => "smb",
        "SIP" => "sip",
        "QUIC" => "quic",
        "Kerberos" => "krb5",
        "NTP" => "ntp",
        "TFTP" => "tftp",
        "SNMP" => "snmp",
        "RDP" => "rdp",
        "VNC" => "rfb",
        "MQTT" => "mqtt",
        "Modbus" => "modbus",
        "DNP3" => "dnp3",
        "EthernetIP" => "enip",
        "NFS" => "nfs",
        "LDAP" => "ldap",
        "PostgreSQL" => "pgsql",
        "IPsec" => "ike",
        "DCERPC" => "dcerpc",
        "Telnet" => "telnet",
        "IRC" => "irc",
        "MDNS" => "mdns",
        "LLMNR" => "llmnr",
        "WebSocket" => "websocket",
        "BitTorrent" => "bittorrent-dht",
        _ => return None,
    })
}

/// One EVE event made from a record: its type, the app-layer name, and
/// the top-level keys it adds (the protocol object, sometimes two).
pub struct Event {
    pub event_type: &'static str,
    pub app_proto: Option<&'static str>,
    pub body: Vec<(&'static str, Value)>,
    /// Logged in the server-to-client direction (Suricata's DNS answers:
    /// the responder is `src_ip`), this long after the record's time.
    pub reply: Option<u64>,
}

fn s<'a>(r: &'a Value, k: &str) -> Option<&'a str> {
    r.get(k).and_then(Value::as_str)
}

fn u(r: &Value, k: &str) -> Option<u64> {
    r.get(k).and_then(Value::as_u64)
}

fn b(r: &Value, k: &str) -> Option<bool> {
    r.get(k).and_then(Value::as_bool)
}

fn strings(r: &Value, k: &str) -> Vec<Value> {
    r.get(k)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter(|v| v.is_string()).cloned().collect())
        .unwrap_or_default()
}

/// Insert `k` when `v` is Some.
fn put(m: &mut Map<String, Value>, k: &str, v: Option<impl Into<Value>>) {
    if let Some(v) = v {
        m.insert(k.into(), v.into());
    }
}

/// The EVE events of one netsift record.
pub fn events(log: &str, r: &Value) -> Vec<Event> {
    let one = |event_type, app, body: Map<String, Value>| {
        vec![Event {
            event_type,
            app_proto: Some(app),
            body: vec![(event_type, Value::Object(body))],
            reply: None,
        }]
    };
    match log {
        "http" => one("http", "http", http(r)),
        "dns" => dns(r),
        "tls" => one("tls", "tls", tls(r)),
        "ssh" => one("ssh", "ssh", ssh(r)),
        "ftp" => one("ftp", "ftp", ftp(r)),
        "smtp" => smtp(r),
        "dhcp" => one("dhcp", "dhcp", dhcp(r)),
        "smb" => one("smb", "smb", smb(r)),
        "sip" => one("sip", "sip", sip(r)),
        "quic" => one("quic", "quic", quic(r)),
        "files" => fileinfo(r),
        "weird" => anomaly(r),
        _ => Vec::new(),
    }
}

fn http(r: &Value) -> Map<String, Value> {
    let mut m = Map::new();
    if let Some(host) = s(r, "host") {
        // Suricata splits a Host with a port into hostname and http_port.
        match host.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') && p.parse::<u16>().is_ok() => {
                m.insert("hostname".into(), h.into());
                put(&mut m, "http_port", p.parse::<u16>().ok());
            }
            _ => {
                m.insert("hostname".into(), host.into());
            }
        }
    }
    put(&mut m, "url", s(r, "uri"));
    put(&mut m, "http_user_agent", s(r, "user_agent"));
    // Suricata logs the media type without its parameters
    // (`text/html`, not `text/html; charset=...`).
    put(
        &mut m,
        "http_content_type",
        s(r, "response_content_type").map(|c| c.split(';').next().unwrap_or("").trim()),
    );
    put(&mut m, "http_refer", s(r, "referrer"));
    put(&mut m, "http_method", s(r, "method"));
    put(
        &mut m,
        "protocol",
        s(r, "version").map(|v| format!("HTTP/{v}")),
    );
    put(&mut m, "status", u(r, "status_code"));
    put(&mut m, "length", u(r, "response_body_len"));
    m
}

/// The RR type of one answer, from its text and the question's type
/// (netsift's dns record keeps answers as text, like Zeek's): addresses
/// are A/AAAA, `<TYPE> n bytes` names its type, a name answering an
/// address question is a CNAME, anything else has the question's type.
fn answer_type(answer: &str, qtype: &str) -> String {
    if let Ok(a) = answer.parse::<IpAddr>() {
        return if a.is_ipv4() { "A" } else { "AAAA" }.into();
    }
    if let Some((t, rest)) = answer.split_once(' ') {
        if rest.ends_with(" bytes")
            && rest
                .split(' ')
                .next()
                .is_some_and(|n| n.parse::<u64>().is_ok())
            && t.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return t.into();
        }
    }
    match qtype {
        "A" | "AAAA" | "" => "CNAME".into(),
        q => q.into(),
    }
}

fn dns(r: &Value) -> Vec<Event> {
    let mut out = Vec::new();
    let id = u(r, "trans_id").unwrap_or(0);
    let opcode = u(r, "opcode").unwrap_or(0);
    // Zeek spells ANY "*"; Suricata's rrtype is the mnemonic.
    let qtype = match s(r, "qtype_name").unwrap_or("") {
        "*" => "ANY",
        q => q,
    };
    let types = strings(r, "answer_types");
    // The query event ("type": "query"), when the question is known.
    if let Some(q) = s(r, "query") {
        let mut m = Map::new();
        m.insert("version".into(), 2.into());
        m.insert("type".into(), "query".into());
        m.insert("id".into(), id.into());
        m.insert("rrname".into(), q.into());
        m.insert("rrtype".into(), qtype.into());
        m.insert("tx_id".into(), 0.into());
        m.insert("opcode".into(), opcode.into());
        out.push(Event {
            event_type: "dns",
            app_proto: Some("dns"),
            body: vec![("dns", Value::Object(m))],
            reply: None,
        });
    }
    // The answer event, when a response was seen (version 2 layout).
    if let Some(rcode) = s(r, "rcode_name") {
        let (aa, tc, rd, ra) = (
            b(r, "AA").unwrap_or(false),
            b(r, "TC").unwrap_or(false),
            b(r, "RD").unwrap_or(false),
            b(r, "RA").unwrap_or(false),
        );
        let rc = u(r, "rcode").unwrap_or(0) & 0x0f;
        // RFC 1035 §4.1.1 header flags word of a response.
        let flags = 0x8000u64
            | (opcode & 0x0f) << 11
            | u64::from(aa) << 10
            | u64::from(tc) << 9
            | u64::from(rd) << 8
            | u64::from(ra) << 7
            | rc;
        let mut m = Map::new();
        m.insert("version".into(), 2.into());
        m.insert("type".into(), "answer".into());
        m.insert("id".into(), id.into());
        m.insert("flags".into(), format!("{flags:x}").into());
        m.insert("qr".into(), true.into());
        if aa {
            m.insert("aa".into(), true.into());
        }
        if tc {
            m.insert("tc".into(), true.into());
        }
        if rd {
            m.insert("rd".into(), true.into());
        }
        if ra {
            m.insert("ra".into(), true.into());
        }
        m.insert("opcode".into(), opcode.into());
        let q = s(r, "query").unwrap_or("");
        if !q.is_empty() {
            m.insert("rrname".into(), q.into());
            m.insert("rrtype".into(), qtype.into());
        }
        m.insert("rcode".into(), rcode.into());
        let answers = strings(r, "answers");
        let ttls: Vec<u64> = r
            .get("ttls")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default();
        if !answers.is_empty() {
            let mut list = Vec::new();
            let mut grouped: Map<String, Value> = Map::new();
            // The owner name of each answer follows the CNAME chain.
            let mut owner = q.to_string();
            for (i, a) in answers.iter().enumerate() {
                let text = a.as_str().unwrap_or("");
                let t = types
                    .get(i)
                    .and_then(Value::as_str)
                    .map_or_else(|| answer_type(text, qtype), str::to_string);
                let mut e = Map::new();
                e.insert("rrname".into(), owner.clone().into());
                e.insert("rrtype".into(), t.clone().into());
                e.insert("ttl".into(), ttls.get(i).copied().unwrap_or(0).into());
                e.insert("rdata".into(), text.into());
                list.push(Value::Object(e));
                if let Value::Array(g) = grouped
                    .entry(t.clone())
                    .or_insert_with(|| Value::Array(Vec::new()))
                {
                    g.push(text.into());
                }
                if t == "CNAME" {
                    owner = text.to_string();
                }
            }
            // `grouped` holds only the types the schema lists as arrays of
            // strings.
            grouped.retain(|k, _| {
                matches!(
                    k.as_str(),
                    "A" | "AAAA" | "CNAME" | "MX" | "NS" | "NULL" | "PTR" | "TXT"
                )
            });
            m.insert("answers".into(), Value::Array(list));
            if !grouped.is_empty() {
                m.insert("grouped".into(), Value::Object(grouped));
            }
        }
        let rtt = r.get("rtt").and_then(Value::as_f64).unwrap_or(0.0);
        out.push(Event {
            event_type: "dns",
            app_proto: Some("dns"),
            body: vec![("dns", Value::Object(m))],
            reply: Some((rtt.clamp(0.0, 1e6) * 1e9) as u64),
        });
    }
    out
}

fn tls(r: &Value) -> Map<String, Value> {
    let mut m = Map::new();
    put(&mut m, "sni", s(r, "server_name"));
    put(
        &mut m,
        "version",
        s(r, "version").or(s(r, "client_version")),
    );
    if let Some(c) = r
        .get("certs")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
    {
        put(&mut m, "subject", s(c, "subject"));
        put(&mut m, "issuerdn", s(c, "issuer"));
        put(&mut m, "serial", s(c, "serial").map(colon_hex));
        put(&mut m, "notbefore", s(c, "not_before").map(no_zone));
        put(&mut m, "notafter", s(c, "not_after").map(no_zone));
        put(
            &mut m,
            "fingerprint",
            s(c, "sha1").map(|h| colon_hex(h).to_ascii_lowercase()),
        );
        let sans = strings(c, "sans");
        if !sans.is_empty() {
            m.insert("subjectaltname".into(), Value::Array(sans));
        }
    }
    if b(r, "resumed") == Some(true) {
        m.insert("session_resumed".into(), true.into());
    }
    if let (Some(h), Some(st)) = (s(r, "ja3"), s(r, "ja3_string")) {
        m.insert("ja3".into(), json!({"hash": h, "string": st}));
    }
    if let (Some(h), Some(st)) = (s(r, "ja3s"), s(r, "ja3s_string")) {
        m.insert("ja3s".into(), json!({"hash": h, "string": st}));
    }
    put(&mut m, "ja4", s(r, "ja4"));
    let alpn = strings(r, "alpn");
    if !alpn.is_empty() {
        m.insert("client_alpns".into(), Value::Array(alpn));
    }
    if let Some(a) = s(r, "alpn_selected") {
        m.insert("server_alpns".into(), json!([a]));
    }
    m
}

/// `0a0630...` as Suricata prints serials: `0A:06:30:...`.
fn colon_hex(h: &str) -> String {
    let up = h.to_ascii_uppercase();
    let b = up.as_bytes();
    let mut out = String::with_capacity(b.len() * 3 / 2);
    for (i, pair) in b.chunks(2).enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push_str(std::str::from_utf8(pair).unwrap_or(""));
    }
    out
}

/// `2018-05-08T00:00:00Z` as Suricata prints certificate dates
/// (`2018-05-08T00:00:00`, UTC, no zone).
fn no_zone(t: &str) -> String {
    t.trim_end_matches('Z').to_string()
}

/// `SSH-2.0-OpenSSH_8.2p1 Ubuntu-4` → (`2.0`, `OpenSSH_8.2p1 Ubuntu-4`).
fn ssh_ident(ident: &str) -> Option<(String, String)> {
    let rest = ident.strip_prefix("SSH-")?;
    let (proto, software) = rest.split_once('-')?;
    Some((proto.to_string(), software.to_string()))
}

fn ssh(r: &Value) -> Map<String, Value> {
    let mut m = Map::new();
    for (side, ident, hassh, algs) in [
        ("client", "client", "hassh", "hassh_algorithms"),
        (
            "server",
            "server",
            "hassh_server",
            "hassh_server_algorithms",
        ),
    ] {
        let mut o = Map::new();
        if let Some((p, sw)) = s(r, ident).and_then(ssh_ident) {
            o.insert("proto_version".into(), p.into());
            o.insert("software_version".into(), sw.into());
        }
        if let (Some(h), Some(st)) = (s(r, hassh), s(r, algs)) {
            o.insert("hassh".into(), json!({"hash": h, "string": st}));
        }
        if !o.is_empty() {
            m.insert(side.into(), Value::Object(o));
        }
    }
    m
}

fn ftp(r: &Value) -> Map<String, Value> {
    let mut m = Map::new();
    put(&mut m, "command", s(r, "command"));
    put(&mut m, "command_data", s(r, "arg"));
    match u(r, "reply_code") {
        Some(code) => {
            m.insert("completion_code".into(), json!([code.to_string()]));
            if let Some(msg) = s(r, "reply_msg") {
                m.insert("reply".into(), json!([msg]));
            }
            m.insert("reply_received".into(), "yes".into());
        }
        None => {
            m.insert("reply_received".into(), "no".into());
        }
    }
    if let Some(dc) = r.get("data_channel") {
        put(&mut m, "dynamic_port", u(dc, "resp_p"));
        if let Some(p) = b(dc, "passive") {
            m.insert("mode".into(), if p { "passive" } else { "active" }.into());
        }
    }
    m
}

fn smtp(r: &Value) -> Vec<Event> {
    let mut sm = Map::new();
    put(&mut sm, "helo", s(r, "helo"));
    // Suricata logs the reverse and forward paths as the client sent them,
    // in angle brackets (RFC 5321 §4.1.2 `Reverse-path = Path / "<>"`);
    // netsift's record keeps the bare address, as Zeek's smtp.log does.
    let path = |a: &str| {
        if a.starts_with('<') {
            a.to_string()
        } else {
            format!("<{a}>")
        }
    };
    put(&mut sm, "mail_from", s(r, "mail_from").map(path));
    let rcpt: Vec<Value> = strings(r, "rcpt_to")
        .iter()
        .filter_map(Value::as_str)
        .map(|a| Value::from(path(a)))
        .collect();
    if !rcpt.is_empty() {
        sm.insert("rcpt_to".into(), Value::Array(rcpt));
    }
    let mut body = vec![("smtp", Value::Object(sm))];
    let mut em = Map::new();
    put(&mut em, "from", s(r, "from"));
    let to = strings(r, "to");
    if !to.is_empty() {
        em.insert("to".into(), Value::Array(to));
    }
    put(&mut em, "subject", s(r, "subject"));
    put(&mut em, "date", s(r, "date"));
    put(&mut em, "message_id", s(r, "message_id"));
    let att = strings(r, "attachments");
    if !att.is_empty() {
        em.insert("attachment".into(), Value::Array(att));
    }
    if !em.is_empty() {
        em.insert("status".into(), "PARSE_DONE".into());
        body.push(("email", Value::Object(em)));
    }
    vec![Event {
        event_type: "smtp",
        app_proto: Some("smtp"),
        body,
        reply: None,
    }]
}

fn dhcp(r: &Value) -> Map<String, Value> {
    let mut m = Map::new();
    let types = strings(r, "msg_types");
    let last = types.last().and_then(Value::as_str).unwrap_or("");
    let reply = matches!(last, "OFFER" | "ACK" | "NAK") || r.get("assigned_addr").is_some();
    m.insert(
        "type".into(),
        if reply { "reply" } else { "request" }.into(),
    );
    put(&mut m, "id", u(r, "trans_id"));
    put(&mut m, "client_mac", s(r, "client_mac"));
    put(&mut m, "assigned_ip", s(r, "assigned_addr"));
    put(&mut m, "requested_ip", s(r, "requested_addr"));
    if !last.is_empty() {
        m.insert("dhcp_type".into(), last.to_ascii_lowercase().into());
    }
    put(&mut m, "hostname", s(r, "host_name"));
    put(&mut m, "lease_time", u(r, "lease_time"));
    put(&mut m, "vendor_class_identifier", s(r, "vendor_class"));
    m
}

fn smb(r: &Value) -> Map<String, Value> {
    let mut m = Map::new();
    let kind = s(r, "kind").unwrap_or("");
    let command = match kind {
        "negotiate" => Some("SMB1_COMMAND_NEGOTIATE_PROTOCOL"),
        "tree_connect" => Some("SMB1_COMMAND_TREE_CONNECT_ANDX"),
        _ => None,
    };
    let smb2 = s(r, "version").is_some_and(|v| v != "SMB1");
    let command = match (kind, smb2) {
        ("negotiate", true) => Some("SMB2_COMMAND_NEGOTIATE_PROTOCOL"),
        ("tree_connect", true) => Some("SMB2_COMMAND_TREE_CONNECT"),
        _ => command,
    };
    put(&mut m, "command", command);
    put(&mut m, "dialect", s(r, "dialect"));
    // TREE_CONNECT's path (a UNC name such as `\\server\IPC$`) is the share.
    put(&mut m, "share", s(r, "path"));
    m
}

fn sip(r: &Value) -> Map<String, Value> {
    let mut m = Map::new();
    let method = s(r, "method");
    let uri = s(r, "uri");
    put(&mut m, "method", method);
    put(&mut m, "uri", uri);
    m.insert("version".into(), "SIP/2.0".into());
    if let (Some(me), Some(ur)) = (method, uri) {
        m.insert("request_line".into(), format!("{me} {ur} SIP/2.0").into());
    }
    if let Some(code) = u(r, "status_code") {
        m.insert("code".into(), code.to_string().into());
        let reason = s(r, "status_msg").unwrap_or("");
        m.insert("reason".into(), reason.into());
        m.insert(
            "response_line".into(),
            format!("SIP/2.0 {code} {reason}").trim_end().into(),
        );
    }
    m
}

fn quic(r: &Value) -> Map<String, Value> {
    let mut m = Map::new();
    put(&mut m, "version", s(r, "version"));
    put(&mut m, "sni", s(r, "server_name"));
    put(&mut m, "ja4", s(r, "ja4"));
    m
}

fn fileinfo(r: &Value) -> Vec<Event> {
    // A mail's HTML body is no file to Suricata (its SMTP transaction's
    // files are the attachments): no `fileinfo`, and not in an alert's
    // `files` (see `emit_file` in analyze/mod.rs). With --eve-extras it is
    // still written as a netsift event.
    if b(r, "mail_body") == Some(true) {
        return Vec::new();
    }
    let mut m = Map::new();
    put(&mut m, "filename", s(r, "name"));
    // Suricata fills `magic` from libmagic; netsift's type from magic
    // bytes is the MIME type. The content verdict has no place in the
    // schema's closed `fileinfo` object: it is in the `file` alerts, and
    // with --eve-extras in the record under `netsift`.
    put(&mut m, "magic", s(r, "mime_type"));
    put(&mut m, "md5", s(r, "md5"));
    put(&mut m, "sha1", s(r, "sha1"));
    put(&mut m, "sha256", s(r, "sha256"));
    put(&mut m, "size", u(r, "size"));
    put(&mut m, "tx_id", u(r, "tx_id"));
    let complete = b(r, "complete").unwrap_or(false);
    m.insert("gaps".into(), (!complete).into());
    m.insert(
        "state".into(),
        if complete { "CLOSED" } else { "TRUNCATED" }.into(),
    );
    m.insert(
        "stored".into(),
        r.get("extracted").is_some_and(|v| !v.is_null()).into(),
    );
    let app = match s(r, "source").unwrap_or("") {
        "HTTP" => Some("http"),
        "FTP_DATA" => Some("ftp-data"),
        "SMTP" => Some("smtp"),
        "SMB" => Some("smb"),
        _ => None,
    };
    vec![Event {
        event_type: "fileinfo",
        app_proto: app,
        body: vec![("fileinfo", Value::Object(m))],
        reply: None,
    }]
}

fn anomaly(r: &Value) -> Vec<Event> {
    let mut m = Map::new();
    let name = s(r, "name").unwrap_or("unknown");
    let stream = name.starts_with("tcp_");
    m.insert(
        "type".into(),
        if stream { "stream" } else { "applayer" }.into(),
    );
    m.insert("event".into(), name.to_ascii_uppercase().into());
    if !stream {
        m.insert("layer".into(), "proto_parser".into());
    }
    vec![Event {
        event_type: "anomaly",
        app_proto: None,
        body: vec![("anomaly", Value::Object(m))],
        reply: None,
    }]
}

/// Suricata's flow `state` from Zeek-style conn_state: `new` while only
/// one side spoke, `established` with both, `closed` after a FIN or RST
/// close.
fn flow_state(rec: &FlowRecord) -> &'static str {
    match rec.conn_state {
        "SF" | "RSTO" | "RSTR" | "RSTOS0" | "RSTRH" | "REJ" => "closed",
        "S1" | "S2" | "S3" => "established",
        _ if rec.resp_pkts > 0 && rec.orig_pkts > 0 => "established",
        _ => "new",
    }
}

/// The `flow` object of a flow event.
pub fn flow_object(rec: &FlowRecord, ts_ns: u64, alerted: bool) -> Value {
    let dur_ns = (rec.duration.max(0.0) * 1e9) as u64;
    json!({
        "pkts_toserver": rec.orig_pkts,
        "pkts_toclient": rec.resp_pkts,
        "bytes_toserver": rec.orig_bytes,
        "bytes_toclient": rec.resp_bytes,
        "start": eve_time(ts_ns),
        "end": eve_time(ts_ns.saturating_add(dur_ns)),
        "age": rec.duration.max(0.0) as u64,
        "state": flow_state(rec),
        // Suricata logs a flow when its manager retires it: idle and
        // closed flows by timeout, the rest at shutdown (end of capture).
        "reason": match rec.end_reason {
            "end" => "shutdown",
            "evicted" => "forced",
            _ => "timeout",
        },
        "alerted": alerted,
    })
}

/// Suricata's `severity` (1 high .. 3 low) and a classification text from
/// its default classification.config for a netsift alert.
pub fn alert_object(a: &netsift_detect::alert::Alert) -> Value {
    use netsift_detect::alert::{AlertType, Severity};
    if let Some(h) = &a.rule_hit {
        // A Suricata rule's alert is Suricata's own: its numbers, its
        // `msg`, the classtype's description as `category` (empty without
        // one), its priority as `severity`. IDS mode: drop and reject
        // rules only alert, so every action is "allowed".
        return json!({
            "action": "allowed",
            "gid": h.gid,
            "signature_id": h.sid,
            "rev": h.rev,
            "signature": h.msg,
            "category": h.category,
            "severity": h.priority,
        });
    }
    let severity = match a.severity {
        Severity::Critical | Severity::High => 1,
        Severity::Medium => 2,
        Severity::Low | Severity::Info => 3,
    };
    let category = match a.kind {
        AlertType::IpBlacklist | AlertType::DomainBlacklist | AlertType::UrlBlacklist => {
            "Potentially Bad Traffic"
        }
        AlertType::Signature | AlertType::File => "A Network Trojan was detected",
        AlertType::PortScan => "Detection of a Network Scan",
        AlertType::BruteForce => "Attempted User Privilege Gain",
        AlertType::Anomaly | AlertType::Rule => "Misc activity",
        // Suricata's classification.config: attempted-dos.
        AlertType::Dos => "Attempted Denial of Service",
    };
    json!({
        "action": "allowed",
        "gid": 1,
        "signature_id": signature_id(&a.rule),
        "rev": 1,
        "signature": format!("NETSIFT {} {}", a.kind.as_str(), a.rule),
        "category": category,
        "severity": severity,
    })
}

/// netsift's rules are named, not numbered: a stable number in the
/// 9,000,000-9,999,999 range (left to local rules by convention) from the
/// rule's name.
pub fn signature_id(rule: &str) -> u64 {
    9_000_000 + flow_id(rule) % 1_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suricata_formats() {
        assert_eq!(
            eve_time(1_764_867_148_718_225_000),
            "2025-12-04T16:52:28.718225+0000"
        );
        assert!(flow_id("CJPfe8fgQnwl") < 1 << 51);
        assert_eq!(flow_id("CJPfe8fgQnwl"), flow_id("CJPfe8fgQnwl"));
        assert_ne!(flow_id("CJPfe8fgQnwl"), flow_id("CCS2gHCwPblp"));
        assert_eq!(colon_hex("0a0630"), "0A:06:30");
        assert_eq!(
            ssh_ident("SSH-2.0-OpenSSH_8.2p1 Ubuntu-4ubuntu0.11"),
            Some(("2.0".into(), "OpenSSH_8.2p1 Ubuntu-4ubuntu0.11".into()))
        );
        assert_eq!(proto_name(58), "IPv6-ICMP");
    }

    #[test]
    fn dns_query_and_answer() {
        let r = json!({"trans_id": 4660, "opcode": 0, "query": "www.example.com",
            "qtype_name": "A", "rcode": 0, "rcode_name": "NOERROR", "AA": false, "TC": false,
            "RD": true, "RA": true, "answers": ["example.com", "93.184.216.34"], "ttls": [60, 300]});
        let ev = events("dns", &r);
        assert_eq!(ev.len(), 2);
        let q = &ev[0].body[0].1;
        assert_eq!(q["type"], "query");
        assert_eq!(q["rrname"], "www.example.com");
        let a = &ev[1].body[0].1;
        assert_eq!(a["flags"], "8180");
        assert_eq!(a["answers"][0]["rrtype"], "CNAME");
        assert_eq!(a["answers"][1]["rrname"], "example.com");
        assert_eq!(a["answers"][1]["rrtype"], "A");
        assert_eq!(a["grouped"]["A"][0], "93.184.216.34");
        assert_eq!(answer_type("NULL 88 bytes", "NULL"), "NULL");
        assert_eq!(answer_type("10 mail.example.com", "MX"), "MX");
    }
}
