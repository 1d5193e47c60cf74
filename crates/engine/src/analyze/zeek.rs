//! Zeek's logs, as Zeek writes them: `--format zeek` (the ASCII/TSV logs,
//! `conn.log` with its `#separator`, `#fields`, `#types` header) and
//! `--format zeek-json` (one JSON object per line, `LogAscii::use_json=T`).
//!
//! Each netsift record is mapped onto the Zeek log of the same meaning
//! (`tls` → `ssl.log` plus one `x509.log` row per new certificate, `smb` →
//! `smb_mapping.log`/`smb_files.log`, alerts → `notice.log`, ...), with
//! Zeek's default field names, types and order (Zeek 7's base scripts;
//! `ip_proto` of 7.1 closes conn.log). A Zeek field netsift does not know
//! is written unset (`-`, or left out in JSON); netsift's own extra fields
//! come after Zeek's, never in between. Records of protocols Zeek has no
//! default log for (IMAP, POP3, S7comm, ...) are only in the JSONL format.
//! The field lists and the mapping are documented in docs/zeek.md.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::output::{rfc3339, Common, JsonlOptions, Output, Record, Summary};
use crate::record::{micros_to_secs, FlowRecord};

/// A Zeek log type, as written in `#types`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum T {
    Time,
    Str,
    Addr,
    Port,
    Count,
    Int,
    Interval,
    Double,
    Bool,
    Enum,
    SetStr,
    SetEnum,
    VecStr,
    VecInterval,
    VecAddr,
}

impl T {
    pub fn name(self) -> &'static str {
        match self {
            T::Time => "time",
            T::Str => "string",
            T::Addr => "addr",
            T::Port => "port",
            T::Count => "count",
            T::Int => "int",
            T::Interval => "interval",
            T::Double => "double",
            T::Bool => "bool",
            T::Enum => "enum",
            T::SetStr => "set[string]",
            T::SetEnum => "set[enum]",
            T::VecStr => "vector[string]",
            T::VecInterval => "vector[interval]",
            T::VecAddr => "vector[addr]",
        }
    }
}

/// One value of a row. Times and intervals are seconds (microsecond
/// precision, as Zeek writes them).
#[derive(Debug, Clone, PartialEq)]
pub enum Z {
    Unset,
    Time(f64),
    Interval(f64),
    Double(f64),
    Str(String),
    Count(u64),
    Int(i64),
    Bool(bool),
    List(Vec<Z>),
}

/// A log: its `#path` and its columns.
#[derive(Debug)]
pub struct LogDef {
    pub path: &'static str,
    pub fields: &'static [(&'static str, T)],
}

macro_rules! log_def {
    ($name:ident, $path:literal, [$(($f:literal, $t:ident)),* $(,)?]) => {
        pub static $name: LogDef = LogDef { path: $path, fields: &[$(($f, T::$t)),*] };
    };
}

// The five fields of Zeek's `conn_id`, after `ts` and `uid`.
macro_rules! conn_log {
    ($name:ident, $path:literal, [$(($f:literal, $t:ident)),* $(,)?]) => {
        log_def!($name, $path, [
            ("ts", Time), ("uid", Str), ("id.orig_h", Addr), ("id.orig_p", Port),
            ("id.resp_h", Addr), ("id.resp_p", Port), $(($f, $t)),*
        ]);
    };
}

conn_log!(
    CONN,
    "conn",
    [
        ("proto", Enum),
        ("service", Str),
        ("duration", Interval),
        ("orig_bytes", Count),
        ("resp_bytes", Count),
        ("conn_state", Str),
        ("local_orig", Bool),
        ("local_resp", Bool),
        ("missed_bytes", Count),
        ("history", Str),
        ("orig_pkts", Count),
        ("orig_ip_bytes", Count),
        ("resp_pkts", Count),
        ("resp_ip_bytes", Count),
        ("tunnel_parents", SetStr),
        ("ip_proto", Count),
        // netsift's, after Zeek's.
        ("vlan", Int),
        ("inner_vlan", Int),
        ("community_id", Str),
        ("netsift_protocol", Str),
        ("netsift_app", Str),
        ("netsift_confidence", Str),
        ("netsift_tunnel", Str),
    ]
);
conn_log!(
    DNS,
    "dns",
    [
        ("proto", Enum),
        ("trans_id", Count),
        ("rtt", Interval),
        ("query", Str),
        ("qclass", Count),
        ("qclass_name", Str),
        ("qtype", Count),
        ("qtype_name", Str),
        ("rcode", Count),
        ("rcode_name", Str),
        ("AA", Bool),
        ("TC", Bool),
        ("RD", Bool),
        ("RA", Bool),
        ("Z", Count),
        ("answers", VecStr),
        ("TTLs", VecInterval),
        ("rejected", Bool),
        ("opcode", Count),
        ("opcode_name", Str),
        // netsift's, after Zeek's: dns, mdns, llmnr or nbns.
        ("app", Str),
    ]
);
conn_log!(
    HTTP,
    "http",
    [
        ("trans_depth", Count),
        ("method", Str),
        ("host", Str),
        ("uri", Str),
        ("referrer", Str),
        ("version", Str),
        ("user_agent", Str),
        ("origin", Str),
        ("request_body_len", Count),
        ("response_body_len", Count),
        ("status_code", Count),
        ("status_msg", Str),
        ("info_code", Count),
        ("info_msg", Str),
        ("tags", SetEnum),
        ("username", Str),
        ("password", Str),
        ("proxied", SetStr),
        ("orig_fuids", VecStr),
        ("orig_filenames", VecStr),
        ("orig_mime_types", VecStr),
        ("resp_fuids", VecStr),
        ("resp_filenames", VecStr),
        ("resp_mime_types", VecStr),
        ("netsift_tags", SetStr),
        ("request_content_type", Str),
        ("response_content_type", Str),
    ]
);
conn_log!(
    SSL,
    "ssl",
    [
        ("version", Str),
        ("cipher", Str),
        ("curve", Str),
        ("server_name", Str),
        ("resumed", Bool),
        ("last_alert", Str),
        ("next_protocol", Str),
        ("established", Bool),
        ("ssl_history", Str),
        ("cert_chain_fps", VecStr),
        ("client_cert_chain_fps", VecStr),
        ("sni_matches_cert", Bool),
        ("ja3", Str),
        ("ja3s", Str),
        ("ja4", Str),
        ("client_version", Str),
        ("alpn", VecStr),
    ]
);
log_def!(
    X509,
    "x509",
    [
        ("ts", Time),
        ("fingerprint", Str),
        ("certificate.version", Count),
        ("certificate.serial", Str),
        ("certificate.subject", Str),
        ("certificate.issuer", Str),
        ("certificate.not_valid_before", Time),
        ("certificate.not_valid_after", Time),
        ("certificate.key_alg", Str),
        ("certificate.sig_alg", Str),
        ("certificate.key_type", Str),
        ("certificate.key_length", Count),
        ("certificate.exponent", Str),
        ("certificate.curve", Str),
        ("san.dns", VecStr),
        ("san.uri", VecStr),
        ("san.email", VecStr),
        ("san.ip", VecAddr),
        ("basic_constraints.ca", Bool),
        ("basic_constraints.path_len", Count),
        ("host_cert", Bool),
        ("client_cert", Bool),
    ]
);
log_def!(
    FILES,
    "files",
    [
        ("ts", Time),
        ("fuid", Str),
        ("uid", Str),
        ("id.orig_h", Addr),
        ("id.orig_p", Port),
        ("id.resp_h", Addr),
        ("id.resp_p", Port),
        ("source", Str),
        ("depth", Count),
        ("analyzers", SetStr),
        ("mime_type", Str),
        ("filename", Str),
        ("duration", Interval),
        ("local_orig", Bool),
        ("is_orig", Bool),
        ("seen_bytes", Count),
        ("total_bytes", Count),
        ("missing_bytes", Count),
        ("overflow_bytes", Count),
        ("timedout", Bool),
        ("parent_fuid", Str),
        ("md5", Str),
        ("sha1", Str),
        ("sha256", Str),
        ("extracted", Str),
        ("extracted_cutoff", Bool),
        ("extracted_size", Count),
        ("declared_mime_type", Str),
    ]
);
conn_log!(
    FTP,
    "ftp",
    [
        ("user", Str),
        ("password", Str),
        ("command", Str),
        ("arg", Str),
        ("mime_type", Str),
        ("file_size", Count),
        ("reply_code", Count),
        ("reply_msg", Str),
        ("data_channel.passive", Bool),
        ("data_channel.orig_h", Addr),
        ("data_channel.resp_h", Addr),
        ("data_channel.resp_p", Port),
        ("fuid", Str),
    ]
);
conn_log!(
    SMTP,
    "smtp",
    [
        ("trans_depth", Count),
        ("helo", Str),
        ("mailfrom", Str),
        ("rcptto", SetStr),
        ("date", Str),
        ("from", Str),
        ("to", SetStr),
        ("cc", SetStr),
        ("reply_to", Str),
        ("msg_id", Str),
        ("in_reply_to", Str),
        ("subject", Str),
        ("x_originating_ip", Addr),
        ("first_received", Str),
        ("second_received", Str),
        ("last_reply", Str),
        ("path", VecAddr),
        ("user_agent", Str),
        ("tls", Bool),
        ("fuids", VecStr),
        ("is_webmail", Bool),
        ("auth_user", Str),
        ("attachments", VecStr),
    ]
);
conn_log!(
    SSH,
    "ssh",
    [
        ("version", Count),
        ("auth_success", Bool),
        ("auth_attempts", Count),
        ("direction", Enum),
        ("client", Str),
        ("server", Str),
        ("cipher_alg", Str),
        ("mac_alg", Str),
        ("compression_alg", Str),
        ("kex_alg", Str),
        ("host_key_alg", Str),
        ("host_key", Str),
        // The names of Salesforce's hassh package for Zeek.
        ("hassh", Str),
        ("hasshServer", Str),
        ("hasshAlgorithms", Str),
        ("hasshServerAlgorithms", Str),
    ]
);
log_def!(
    DHCP,
    "dhcp",
    [
        ("ts", Time),
        ("uids", SetStr),
        ("client_addr", Addr),
        ("server_addr", Addr),
        ("mac", Str),
        ("host_name", Str),
        ("client_fqdn", Str),
        ("domain", Str),
        ("requested_addr", Addr),
        ("assigned_addr", Addr),
        ("lease_time", Interval),
        ("client_message", Str),
        ("server_message", Str),
        ("msg_types", VecStr),
        ("duration", Interval),
        ("trans_id", Count),
        ("vendor_class", Str),
    ]
);
conn_log!(
    SMB_FILES,
    "smb_files",
    [
        ("fuid", Str),
        ("action", Enum),
        ("path", Str),
        ("name", Str),
        ("size", Count),
        ("prev_name", Str),
        ("times.modified", Time),
        ("times.accessed", Time),
        ("times.created", Time),
        ("times.changed", Time),
    ]
);
conn_log!(
    SMB_MAPPING,
    "smb_mapping",
    [
        ("path", Str),
        ("service", Str),
        ("native_file_system", Str),
        ("share_type", Str),
    ]
);
conn_log!(
    SIP,
    "sip",
    [
        ("trans_depth", Count),
        ("method", Str),
        ("uri", Str),
        ("date", Str),
        ("request_from", Str),
        ("request_to", Str),
        ("response_from", Str),
        ("response_to", Str),
        ("reply_to", Str),
        ("call_id", Str),
        ("seq", Str),
        ("subject", Str),
        ("request_path", VecStr),
        ("response_path", VecStr),
        ("user_agent", Str),
        ("status_code", Count),
        ("status_msg", Str),
        ("warning", Str),
        ("request_body_len", Count),
        ("response_body_len", Count),
        ("content_type", Str),
    ]
);
conn_log!(
    QUIC,
    "quic",
    [
        ("version", Str),
        ("client_initial_dcid", Str),
        ("client_scid", Str),
        ("server_scid", Str),
        ("server_name", Str),
        ("client_protocol", Str),
        ("history", Str),
        ("ja4", Str),
    ]
);
conn_log!(
    WEIRD,
    "weird",
    [
        ("name", Str),
        ("addl", Str),
        ("notice", Bool),
        ("peer", Str),
        ("source", Str),
    ]
);
conn_log!(
    NOTICE,
    "notice",
    [
        ("fuid", Str),
        ("file_mime_type", Str),
        ("file_desc", Str),
        ("proto", Enum),
        ("note", Enum),
        ("msg", Str),
        ("sub", Str),
        ("src", Addr),
        ("dst", Addr),
        ("p", Port),
        ("n", Count),
        ("peer_descr", Str),
        ("actions", SetEnum),
        ("email_dest", SetStr),
        ("suppress_for", Interval),
        ("remote_location.country_code", Str),
        ("remote_location.region", Str),
        ("remote_location.city", Str),
        ("remote_location.latitude", Double),
        ("remote_location.longitude", Double),
        ("severity", Str),
    ]
);
log_def!(
    SOFTWARE,
    "software",
    [
        ("ts", Time),
        ("host", Addr),
        ("host_p", Port),
        ("software_type", Enum),
        ("name", Str),
        ("version.major", Count),
        ("version.minor", Count),
        ("version.minor2", Count),
        ("version.minor3", Count),
        ("version.addl", Str),
        ("unparsed_version", Str),
    ]
);
log_def!(
    KNOWN_SERVICES,
    "known_services",
    [
        ("ts", Time),
        ("host", Addr),
        ("port_num", Port),
        ("port_proto", Enum),
        ("service", SetStr),
    ]
);

/// Every log this writer can produce.
pub static LOGS: &[&LogDef] = &[
    &CONN,
    &DNS,
    &HTTP,
    &SSL,
    &X509,
    &FILES,
    &FTP,
    &SMTP,
    &SSH,
    &DHCP,
    &SMB_FILES,
    &SMB_MAPPING,
    &SIP,
    &QUIC,
    &WEIRD,
    &NOTICE,
    &SOFTWARE,
    &KNOWN_SERVICES,
];

/// A row being filled, one value per column of its log.
pub struct Row {
    pub def: &'static LogDef,
    pub vals: Vec<Z>,
}

impl Row {
    pub fn new(def: &'static LogDef) -> Row {
        Row {
            def,
            vals: vec![Z::Unset; def.fields.len()],
        }
    }

    /// Sets a column (a name not in the log is a bug: caught by the tests).
    /// The value is made to fit the column's type, or unset if it cannot.
    pub fn set(&mut self, name: &str, v: Z) -> &mut Row {
        match self.def.fields.iter().position(|(f, _)| *f == name) {
            Some(i) => self.vals[i] = coerce(self.def.fields[i].1, v),
            None => debug_assert!(false, "{} has no field {name}", self.def.path),
        }
        self
    }

    fn id(&mut self, ts_ns: u64, c: &Common) -> &mut Row {
        self.set("ts", Z::Time(micros_to_secs(ts_ns)))
            .set("uid", Z::Str(c.uid.to_string()))
            .set("id.orig_h", Z::Str(c.src_ip.to_string()))
            .set("id.orig_p", Z::Count(c.src_port.into()))
            .set("id.resp_h", Z::Str(c.dst_ip.to_string()))
            .set("id.resp_p", Z::Count(c.dst_port.into()))
    }

    /// Copies `rec[key]` (string, number, bool or list of them) into `name`.
    fn from(&mut self, name: &str, rec: &Value, key: &str) -> &mut Row {
        let v = rec.get(key).map(z_of).unwrap_or(Z::Unset);
        self.set(name, v)
    }
}

/// `v` as a value of type `t`, or unset: a row never holds a value its
/// `#types` entry does not allow (a count is a non-negative integer, a port
/// fits 16 bits, an addr parses, times are finite, ...).
fn coerce(t: T, v: Z) -> Z {
    let elem = match t {
        T::SetStr | T::VecStr => Some(T::Str),
        T::SetEnum => Some(T::Enum),
        T::VecInterval => Some(T::Interval),
        T::VecAddr => Some(T::Addr),
        _ => None,
    };
    if let Some(e) = elem {
        return match v {
            Z::Unset => Z::Unset,
            Z::List(items) => Z::List(
                items
                    .into_iter()
                    .map(|i| coerce(e, i))
                    .filter(|i| *i != Z::Unset)
                    .collect(),
            ),
            one => match coerce(e, one) {
                Z::Unset => Z::Unset,
                x => Z::List(vec![x]),
            },
        };
    }
    let num = |v: &Z| -> Option<f64> {
        match v {
            Z::Count(n) => Some(*n as f64),
            Z::Int(n) => Some(*n as f64),
            Z::Time(f) | Z::Interval(f) | Z::Double(f) => Some(*f),
            Z::Str(x) => x.trim().parse().ok(),
            _ => None,
        }
        .filter(|f| f.is_finite())
    };
    match t {
        T::Count | T::Port => {
            let n = match v {
                Z::Count(n) => Some(n),
                Z::Int(n) => u64::try_from(n).ok(),
                ref other => num(other)
                    .filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f < 1.8e19)
                    .map(|f| f as u64),
            };
            match n {
                Some(n) if t == T::Port && n > 65_535 => Z::Unset,
                Some(n) => Z::Count(n),
                None => Z::Unset,
            }
        }
        T::Int => match v {
            Z::Int(n) => Z::Int(n),
            Z::Count(n) => i64::try_from(n).map_or(Z::Unset, Z::Int),
            ref other => num(other)
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                .map_or(Z::Unset, |f| Z::Int(f as i64)),
        },
        T::Time => num(&v).filter(|f| *f >= 0.0).map_or(Z::Unset, Z::Time),
        T::Interval => num(&v).map_or(Z::Unset, Z::Interval),
        T::Double => num(&v).map_or(Z::Unset, Z::Double),
        T::Bool => match v {
            Z::Bool(b) => Z::Bool(b),
            _ => Z::Unset,
        },
        T::Addr => match v {
            Z::Str(x) if x.parse::<std::net::IpAddr>().is_ok() => Z::Str(x),
            _ => Z::Unset,
        },
        _ => match v {
            Z::Str(x) => Z::Str(x),
            Z::Count(n) => Z::Str(n.to_string()),
            Z::Int(n) => Z::Str(n.to_string()),
            Z::Time(f) | Z::Interval(f) | Z::Double(f) => Z::Str(f.to_string()),
            Z::Bool(b) => Z::Str(if b { "T" } else { "F" }.into()),
            Z::List(_) | Z::Unset => Z::Unset,
        },
    }
}

/// A JSON value as a Zeek value (null → unset).
fn z_of(v: &Value) -> Z {
    match v {
        Value::Null => Z::Unset,
        Value::Bool(b) => Z::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => Z::Count(u),
            (None, Some(i), _) => Z::Int(i),
            (_, _, Some(f)) => Z::Double(f),
            _ => Z::Unset,
        },
        Value::String(s) => Z::Str(s.clone()),
        Value::Array(a) => Z::List(a.iter().map(z_of).collect()),
        Value::Object(_) => Z::Str(v.to_string()),
    }
}

fn s(v: &str) -> Z {
    Z::Str(v.to_string())
}

fn str_of<'a>(rec: &'a Value, key: &str) -> Option<&'a str> {
    rec.get(key).and_then(Value::as_str)
}

// ---------------------------------------------------------------- formats

/// Zeek's ASCII escaping of one value: a backslash as `\\`, the separator,
/// control and other non-printable characters as `\xNN` (each UTF-8
/// byte), and inside a set or vector the set separator too. A string that
/// reads as the unset or empty marker gets its first byte escaped.
pub fn escape(s: &str, in_container: bool) -> String {
    let mut out = String::with_capacity(s.len());
    if s == "-" {
        return "\\x2d".into();
    }
    if s == "(empty)" {
        return "\\x28empty)".into();
    }
    for c in s.chars() {
        if c == '\\' {
            out.push_str("\\\\");
        } else if c == '\t' || c.is_control() || (in_container && c == ',') {
            let mut b = [0u8; 4];
            for byte in c.encode_utf8(&mut b).bytes() {
                netsift_proto::bytes::push_hex_escape(&mut out, byte);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn secs6(f: f64) -> String {
    format!("{f:.6}")
}

/// One TSV cell.
pub fn ascii_cell(v: &Z, in_container: bool) -> String {
    match v {
        Z::Unset => "-".into(),
        Z::Time(f) | Z::Interval(f) | Z::Double(f) => secs6(*f),
        // An empty string is `(empty)`, inside a container too (as Zeek).
        Z::Str(x) if x.is_empty() => "(empty)".into(),
        Z::Str(x) => escape(x, in_container),
        Z::Count(n) => n.to_string(),
        Z::Int(n) => n.to_string(),
        Z::Bool(b) => if *b { "T" } else { "F" }.into(),
        Z::List(items) if items.is_empty() => "(empty)".into(),
        Z::List(items) => items
            .iter()
            .map(|i| ascii_cell(i, true))
            .collect::<Vec<_>>()
            .join(","),
    }
}

fn json_of(v: &Z) -> Value {
    match v {
        Z::Unset => Value::Null,
        Z::Time(f) | Z::Interval(f) | Z::Double(f) => Value::from(*f),
        Z::Str(x) => Value::from(x.clone()),
        Z::Count(n) => Value::from(*n),
        Z::Int(n) => Value::from(*n),
        Z::Bool(b) => Value::from(*b),
        Z::List(items) => Value::Array(items.iter().map(json_of).collect()),
    }
}

/// A row as Zeek's JSON writer has it: fields in order, unset ones left out.
pub fn json_row(row: &Row, path: Option<&str>) -> Value {
    let mut m = Map::new();
    if let Some(p) = path {
        m.insert("_path".into(), Value::from(p));
    }
    for ((name, _), v) in row.def.fields.iter().zip(&row.vals) {
        if *v != Z::Unset {
            m.insert((*name).into(), json_of(v));
        }
    }
    Value::Object(m)
}

/// A TSV row line (without the newline).
pub fn ascii_row(row: &Row) -> String {
    row.vals
        .iter()
        .map(|v| ascii_cell(v, false))
        .collect::<Vec<_>>()
        .join("\t")
}

/// Packet time as Zeek's `#open`/`#close` stamps and rotated file names:
/// `%Y-%m-%d-%H-%M-%S`.
pub fn zeek_stamp(ns: u64) -> String {
    rfc3339(ns)
        .chars()
        .take(19)
        .map(|c| if c == 'T' || c == ':' { '-' } else { c })
        .collect()
}

/// The header block of a TSV log.
pub fn ascii_header(def: &LogDef, open_ns: u64) -> String {
    let names: Vec<&str> = def.fields.iter().map(|(n, _)| *n).collect();
    let types: Vec<&str> = def.fields.iter().map(|(_, t)| t.name()).collect();
    format!(
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n\
         #path\t{}\n#open\t{}\n#fields\t{}\n#types\t{}\n",
        def.path,
        zeek_stamp(open_ns),
        names.join("\t"),
        types.join("\t")
    )
}

// ---------------------------------------------------------------- mapping

/// Zeek's analyzer name for a netsift (nDPI-named) protocol: what conn.log's
/// `service` and known_services say. `None` where Zeek has no analyzer.
pub fn zeek_service(protocol: &str) -> Option<&'static str> {
    Some(match protocol {
        "HTTP" | "HTTP_Proxy" | "HTTP_Connect" => "http",
        "TLS" => "ssl",
        "DTLS" => "dtls",
        "DNS" | "LLMNR" | "MDNS" => "dns",
        "SSH" => "ssh",
        "FTP_CONTROL" => "ftp",
        "FTP_DATA" => "ftp-data",
        "SMTP" | "SMTPS" => "smtp",
        "IMAP" | "IMAPS" => "imap",
        "POP3" | "POP3S" => "pop3",
        "DHCP" => "dhcp",
        "SMBv1" | "SMBv23" => "smb",
        "NetBIOS" => "netbios",
        "SIP" => "sip",
        "QUIC" => "quic",
        "NTP" => "ntp",
        "SNMP" => "snmp",
        "Syslog" => "syslog",
        "RDP" => "rdp",
        "Kerberos" => "krb",
        "LDAP" => "ldap",
        "RADIUS" => "radius",
        "IRC" => "irc",
        "MySQL" => "mysql",
        "PostgreSQL" => "postgresql",
        "RESP" => "redis",
        "DCERPC" => "dce_rpc",
        "Modbus" => "modbus",
        "DNP3" => "dnp3_tcp",
        "MQTT" => "mqtt",
        "SOCKS" => "socks",
        "Teredo" => "teredo",
        "GTP" | "GTP_U" => "gtpv1",
        "VXLAN" => "vxlan",
        "BitTorrent" => "bittorrent",
        "XMPP" | "Jabber" => "xmpp",
        "STUN" => "stun",
        "WireGuard" => "wireguard",
        "OpenVPN" => "openvpn",
        "TFTP" => "tftp",
        "Telnet" => "telnet",
        "RTSP" => "rtsp",
        "NFS" => "nfs",
        "AYIYA" => "ayiya",
        _ => return None,
    })
}

/// Zeek's `transport_proto` for netsift's `l4`.
fn zeek_proto(l4: &str) -> &'static str {
    match l4 {
        "TCP" => "tcp",
        "UDP" => "udp",
        "ICMP" | "ICMPV6" => "icmp",
        _ => "unknown_transport",
    }
}

fn ip_proto_number(l4: &str) -> Option<u64> {
    // `l4_number` says 0 for a name it does not know.
    match netsift_flow::l4_number(l4) {
        0 if l4 != "0" => None,
        n => Some(u64::from(n)),
    }
}

/// TLS version as Zeek names it: `TLSv12`, `TLSv13`, `SSLv3`, `DTLSv12`.
fn zeek_tls_version(v: &str) -> String {
    let (proto, num) = v.split_once(' ').unwrap_or((v, ""));
    match (proto, num) {
        ("SSL", n) => format!("SSLv{}", n.trim_end_matches(".0")),
        (p @ ("TLS" | "DTLS"), n) if !n.is_empty() => format!("{p}v{}", n.replace('.', "")),
        _ => v.to_string(),
    }
}

/// RFC 3339 UTC (`2018-05-08T00:00:00Z`) to epoch seconds.
fn parse_rfc3339(t: &str) -> Option<f64> {
    let b = t.as_bytes();
    if b.len() < 19 || !t.is_char_boundary(19) {
        return None;
    }
    let n = |a: usize, z: usize| t.get(a..z)?.parse::<i64>().ok();
    let (y, mo, d) = (n(0, 4)?, n(5, 7)?, n(8, 10)?);
    let (h, mi, s) = (n(11, 13)?, n(14, 16)?, n(17, 19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + h * 3600 + mi * 60 + s) as f64)
}

/// A version string cut as Zeek's software framework does: up to four
/// numbers, then what follows as `addl`.
fn split_version(v: &str) -> (Vec<u64>, Option<String>) {
    let mut nums = Vec::new();
    let mut rest = v;
    while nums.len() < 4 {
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        match rest[..end].parse::<u64>() {
            Ok(n) => nums.push(n),
            Err(_) => break,
        }
        rest = &rest[end..];
        match rest.strip_prefix('.') {
            Some(r) if r.starts_with(|c: char| c.is_ascii_digit()) => rest = r,
            _ => break,
        }
    }
    let addl = rest.trim_start_matches(['.', '-', '_', ' ', '/']);
    let addl = if nums.is_empty() { v } else { addl };
    (nums, (!addl.is_empty()).then(|| addl.to_string()))
}

/// `SSH-2.0-OpenSSH_5.6 extra` → ("OpenSSH", "5.6").
fn ssh_software(banner: &str) -> Option<(String, String)> {
    let sw = banner.splitn(3, '-').nth(2)?;
    let sw = sw.split(' ').next().unwrap_or(sw);
    match sw.split_once('_') {
        Some((n, v)) => Some((n.to_string(), v.to_string())),
        None => Some((sw.to_string(), String::new())),
    }
}

/// FNV-1a, for file ids that are the same on every run over the same input.
fn fnv(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in *p {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn base62(mut n: u64) -> String {
    const A: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut s = Vec::new();
    for _ in 0..11 {
        s.push(A[(n % 62) as usize]);
        n /= 62;
    }
    String::from_utf8(s).unwrap_or_default()
}

/// One DHCP transaction being gathered across flows.
struct DhcpTx {
    first_ns: u64,
    last_ns: u64,
    uids: Vec<String>,
    rec: Map<String, Value>,
}

/// A DHCP transaction is logged once quiet this long (packet time; Zeek's
/// `DHCP::max_txid_watch_time` is 30 s).
const DHCP_WATCH_NS: u64 = 30_000_000_000;
/// DHCP transactions held at once (beyond: all are logged).
const MAX_DHCP: usize = 4096;

/// The dhcp.log row of a (merged) transaction.
fn dhcp_row(first_ns: u64, last_ns: u64, uids: Vec<String>, rec: &Value) -> Row {
    let mut r = Row::new(&DHCP);
    r.set("ts", Z::Time(micros_to_secs(first_ns)))
        .set("uids", Z::List(uids.into_iter().map(Z::Str).collect()))
        .from("client_addr", rec, "client_addr")
        .from("server_addr", rec, "server_addr")
        .from("mac", rec, "client_mac")
        .from("host_name", rec, "host_name")
        .from("client_fqdn", rec, "client_fqdn")
        .from("domain", rec, "domain")
        .from("requested_addr", rec, "requested_addr")
        .from("assigned_addr", rec, "assigned_addr")
        .from("msg_types", rec, "msg_types")
        .from("trans_id", rec, "trans_id")
        .from("vendor_class", rec, "vendor_class");
    if let Some(l) = rec.get("lease_time").and_then(Value::as_f64) {
        r.set("lease_time", Z::Interval(l));
    }
    // Zeek's default is 0 s. netsift's records carry the time of their
    // first message, so this spans the first message of the transaction to
    // that of its last flow part (a reply flow's ACK after its OFFER is not
    // counted).
    r.set(
        "duration",
        Z::Interval(micros_to_secs(last_ns.saturating_sub(first_ns))),
    );
    r
}

/// A files.log row not yet listed by its transaction.
struct PendingFile {
    fuid: String,
    mime: Option<String>,
    is_orig: bool,
}

/// Files waiting for their transaction, at most (then forgotten).
const MAX_PENDING: usize = 1 << 16;

/// Bounded sets of what was already logged once (Zeek logs software,
/// certificates and services once per run).
const MAX_SEEN: usize = 1 << 20;

#[derive(Default)]
struct Mapper {
    software: HashSet<String>,
    certs: HashSet<String>,
    services: HashSet<String>,
    /// The share of each SMB flow's last tree connect.
    smb_tree: HashMap<String, String>,
    files: u64,
    /// Files of each flow not yet named by the transaction that carried
    /// them: a file closes before its HTTP transaction, SMTP message or FTP
    /// reply is logged, which then lists the fuids (Zeek's `resp_fuids`,
    /// `fuids`, `fuid`).
    pending: HashMap<String, Vec<PendingFile>>,
    pending_count: usize,
    /// DHCP transactions by xid, until logged.
    dhcp: HashMap<u64, DhcpTx>,
    /// Rows of transactions logged early (too many held).
    dhcp_flushed: Vec<Row>,
    /// Flows whose plaintext protocol switched to TLS (a `tls` record with
    /// `starttls`), until their conn row: Zeek lists both analyzers in
    /// `service` ("smtp,ssl").
    upgraded: HashSet<String>,
}

fn remember(set: &mut HashSet<String>, key: String) -> bool {
    if set.contains(&key) {
        return false;
    }
    if set.len() >= MAX_SEEN {
        set.clear();
    }
    set.insert(key)
}

impl Mapper {
    fn dhcp_merge(&mut self, xid: u64, ts_ns: u64, uid: &str, rec: &Value) {
        if self.dhcp.len() >= MAX_DHCP && !self.dhcp.contains_key(&xid) {
            // Too many at once: the held ones are logged as they are.
            let rows = self.dhcp_due(u64::MAX);
            self.dhcp_flushed.extend(rows);
        }
        let tx = self.dhcp.entry(xid).or_insert_with(|| DhcpTx {
            first_ns: ts_ns,
            last_ns: ts_ns,
            uids: Vec::new(),
            rec: Map::new(),
        });
        tx.first_ns = tx.first_ns.min(ts_ns);
        tx.last_ns = tx.last_ns.max(ts_ns);
        if !tx.uids.iter().any(|u| u == uid) && tx.uids.len() < 64 {
            tx.uids.push(uid.to_string());
        }
        for (k, v) in rec.as_object().into_iter().flatten() {
            match (k.as_str(), v) {
                ("weird", _) => {}
                // Every message's type, in order seen (bounded).
                ("msg_types", Value::Array(types)) => {
                    if let Value::Array(all) = tx
                        .rec
                        .entry("msg_types")
                        .or_insert_with(|| Value::Array(Vec::new()))
                    {
                        all.extend(
                            types
                                .iter()
                                .take(256usize.saturating_sub(all.len()))
                                .cloned(),
                        );
                    }
                }
                // The first message that told a field wins.
                _ => {
                    tx.rec.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
    }

    /// The DHCP transactions quiet since `now - DHCP_WATCH_NS` (all with
    /// `u64::MAX`), as rows in time order, and the rows already flushed.
    fn dhcp_due(&mut self, now: u64) -> Vec<Row> {
        let due: Vec<u64> = self
            .dhcp
            .iter()
            .filter(|(_, t)| t.last_ns.saturating_add(DHCP_WATCH_NS) <= now || now == u64::MAX)
            .map(|(x, _)| *x)
            .collect();
        let mut txs: Vec<DhcpTx> = due.iter().filter_map(|x| self.dhcp.remove(x)).collect();
        txs.sort_by_key(|t| t.first_ns);
        let mut rows = std::mem::take(&mut self.dhcp_flushed);
        for t in txs {
            let rec = Value::Object(t.rec);
            rows.push(dhcp_row(t.first_ns, t.last_ns, t.uids, &rec));
        }
        rows
    }

    /// The files of flow `uid` waiting for their transaction.
    fn take_files(&mut self, uid: &str) -> Vec<PendingFile> {
        let v = self.pending.remove(uid).unwrap_or_default();
        self.pending_count = self.pending_count.saturating_sub(v.len());
        v
    }

    fn weirds(&self, ts_ns: u64, c: &Common, rec: &Value, source: &str, rows: &mut Vec<Row>) {
        if let Some(list) = rec.get("weird").and_then(Value::as_array) {
            for w in list.iter().filter_map(Value::as_str) {
                let mut r = Row::new(&WEIRD);
                r.id(ts_ns, c)
                    .set("name", s(w))
                    .set("notice", Z::Bool(false))
                    .set("peer", s("netsift"))
                    .set("source", s(source));
                rows.push(r);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn software(
        &mut self,
        ts_ns: u64,
        host: std::net::IpAddr,
        port: Option<u16>,
        kind: &str,
        name: &str,
        version: &str,
        unparsed: &str,
        rows: &mut Vec<Row>,
    ) {
        if name.is_empty() {
            return;
        }
        let key = format!("{host}|{kind}|{name}|{version}");
        if !remember(&mut self.software, key) {
            return;
        }
        let (nums, addl) = split_version(version);
        let mut r = Row::new(&SOFTWARE);
        r.set("ts", Z::Time(micros_to_secs(ts_ns)))
            .set("host", Z::Str(host.to_string()))
            .set("host_p", port.map_or(Z::Unset, |p| Z::Count(p.into())))
            .set("software_type", s(kind))
            .set("name", s(name))
            .set("version.addl", addl.map_or(Z::Unset, Z::Str))
            .set("unparsed_version", s(unparsed));
        for (i, f) in [
            "version.major",
            "version.minor",
            "version.minor2",
            "version.minor3",
        ]
        .iter()
        .enumerate()
        {
            if let Some(n) = nums.get(i) {
                r.set(f, Z::Count(*n));
            }
        }
        rows.push(r);
    }

    /// The banner fingerprints of a record (`server_software`,
    /// `server_version`) as a software.log row.
    fn server_software(
        &mut self,
        ts_ns: u64,
        c: &Common,
        rec: &Value,
        kind: &str,
        rows: &mut Vec<Row>,
    ) {
        if let Some(name) = str_of(rec, "server_software") {
            let version = str_of(rec, "server_version").unwrap_or("");
            let unparsed = str_of(rec, "banner").unwrap_or(version);
            let unparsed = if unparsed.is_empty() { name } else { unparsed };
            self.software(
                ts_ns,
                c.dst_ip,
                Some(c.dst_port),
                kind,
                name,
                version,
                unparsed,
                rows,
            );
        }
    }

    /// The Zeek rows of one netsift record.
    fn record(&mut self, log: &str, ts_ns: u64, c: &Common, rec: &Value) -> Vec<Row> {
        let mut rows = Vec::new();
        match log {
            "dns" => {
                let mut r = Row::new(&DNS);
                r.id(ts_ns, c)
                    .from("proto", rec, "proto")
                    .from("trans_id", rec, "trans_id")
                    .from("rtt", rec, "rtt")
                    .from("query", rec, "query")
                    .from("qclass", rec, "qclass")
                    .from("qclass_name", rec, "qclass_name")
                    .from("qtype", rec, "qtype")
                    .from("qtype_name", rec, "qtype_name")
                    .from("rcode", rec, "rcode")
                    .from("rcode_name", rec, "rcode_name")
                    .from("AA", rec, "AA")
                    .from("TC", rec, "TC")
                    .from("RD", rec, "RD")
                    .from("RA", rec, "RA")
                    .from("Z", rec, "Z")
                    .from("rejected", rec, "rejected")
                    .from("opcode", rec, "opcode")
                    .from("opcode_name", rec, "opcode_name")
                    .from("app", rec, "app");
                // Zeek writes the root as the empty name.
                if str_of(rec, "query") == Some(".") {
                    r.set("query", Z::Str(String::new()));
                }
                if let Some(Value::Number(n)) = rec.get("rtt") {
                    r.set("rtt", Z::Interval(n.as_f64().unwrap_or(0.0)));
                }
                // Zeek's own summary of each answer where it differs from
                // the presentation format (`zeek_answers`, null where Zeek
                // writes nothing, and then no TTL either).
                let answers = rec.get("answers").and_then(Value::as_array);
                let ttls = rec.get("ttls").and_then(Value::as_array);
                let zeek = rec.get("zeek_answers").and_then(Value::as_array);
                if let (Some(answers), Some(ttls)) = (answers, ttls) {
                    let mut a = Vec::new();
                    let mut t = Vec::new();
                    for (i, (ans, ttl)) in answers.iter().zip(ttls).enumerate() {
                        let text = match zeek {
                            Some(z) => z.get(i).and_then(Value::as_str),
                            None => ans.as_str(),
                        };
                        if let Some(text) = text {
                            a.push(Z::Str(text.to_string()));
                            t.push(Z::Interval(ttl.as_f64().unwrap_or(0.0)));
                        }
                    }
                    if !a.is_empty() {
                        r.set("answers", Z::List(a));
                        r.set("TTLs", Z::List(t));
                    }
                }
                rows.push(r);
                self.weirds(ts_ns, c, rec, "DNS", &mut rows);
            }
            "http" => {
                let mut r = Row::new(&HTTP);
                r.id(ts_ns, c)
                    .from("trans_depth", rec, "trans_depth")
                    .from("method", rec, "method")
                    .from("host", rec, "host")
                    .from("uri", rec, "uri")
                    .from("referrer", rec, "referrer")
                    .from("version", rec, "version")
                    .from("user_agent", rec, "user_agent")
                    .from("origin", rec, "origin")
                    .from("request_body_len", rec, "request_body_len")
                    .from("response_body_len", rec, "response_body_len")
                    .from("status_code", rec, "status_code")
                    .from("status_msg", rec, "status_msg")
                    .from("info_code", rec, "info_code")
                    .from("info_msg", rec, "info_msg")
                    .set("tags", Z::List(Vec::new()))
                    .from("username", rec, "username")
                    .from("proxied", rec, "proxied")
                    .from("resp_filenames", rec, "resp_filenames")
                    .from("orig_filenames", rec, "orig_filenames")
                    .from("netsift_tags", rec, "tags")
                    .from("request_content_type", rec, "request_content_type")
                    .from("response_content_type", rec, "response_content_type");
                let files = self.take_files(&c.uid);
                for orig in [true, false] {
                    let mine: Vec<&PendingFile> =
                        files.iter().filter(|f| f.is_orig == orig).collect();
                    if mine.is_empty() {
                        continue;
                    }
                    let (fuids, mimes) = if orig {
                        ("orig_fuids", "orig_mime_types")
                    } else {
                        ("resp_fuids", "resp_mime_types")
                    };
                    r.set(fuids, Z::List(mine.iter().map(|f| s(&f.fuid)).collect()));
                    let m: Vec<Z> = mine
                        .iter()
                        .filter_map(|f| f.mime.as_deref())
                        .map(s)
                        .collect();
                    if !m.is_empty() {
                        r.set(mimes, Z::List(m));
                    }
                }
                rows.push(r);
                if let Some(ua) = str_of(rec, "user_agent") {
                    // The first product token: `curl/7.68.0` → curl 7.68.0.
                    let tok = ua.split(' ').next().unwrap_or(ua);
                    let (name, ver) = tok.split_once('/').unwrap_or((tok, ""));
                    self.software(
                        ts_ns,
                        c.src_ip,
                        None,
                        "HTTP::BROWSER",
                        name,
                        ver,
                        ua,
                        &mut rows,
                    );
                }
                self.weirds(ts_ns, c, rec, "HTTP", &mut rows);
            }
            "tls" => {
                if rec.get("starttls").is_some() && self.upgraded.len() < MAX_SEEN {
                    self.upgraded.insert(c.uid.to_string());
                }
                self.tls(ts_ns, c, rec, &mut rows)
            }
            "files" => {
                self.files += 1;
                let sha = str_of(rec, "sha256").unwrap_or("");
                let fuid = format!(
                    "F{}",
                    base62(fnv(&[
                        c.uid.as_bytes(),
                        &ts_ns.to_le_bytes(),
                        sha.as_bytes(),
                        &self.files.to_le_bytes()
                    ]))
                );
                let source = match str_of(rec, "source").unwrap_or("") {
                    "SMBv1" | "SMBv23" => "SMB".to_string(),
                    "FTP_DATA" => "FTP_DATA".to_string(),
                    other => other.to_ascii_uppercase(),
                };
                let mut analyzers = Vec::new();
                for (k, a) in [("md5", "MD5"), ("sha1", "SHA1"), ("sha256", "SHA256")] {
                    if rec.get(k).is_some() {
                        analyzers.push(s(a));
                    }
                }
                let complete = rec.get("complete").and_then(Value::as_bool);
                let mut r = Row::new(&FILES);
                r.set("ts", Z::Time(micros_to_secs(ts_ns)))
                    .set("fuid", Z::Str(fuid.clone()))
                    .set("uid", Z::Str(c.uid.to_string()))
                    .set("id.orig_h", Z::Str(c.src_ip.to_string()))
                    .set("id.orig_p", Z::Count(c.src_port.into()))
                    .set("id.resp_h", Z::Str(c.dst_ip.to_string()))
                    .set("id.resp_p", Z::Count(c.dst_port.into()))
                    .set("source", Z::Str(source))
                    .set("analyzers", Z::List(analyzers))
                    .from("mime_type", rec, "mime_type")
                    .from("filename", rec, "name")
                    .from("seen_bytes", rec, "size")
                    .from("total_bytes", rec, "expected_size")
                    .from("md5", rec, "md5")
                    .from("sha1", rec, "sha1")
                    .from("sha256", rec, "sha256")
                    .from("declared_mime_type", rec, "declared_mime_type");
                match str_of(rec, "direction") {
                    Some("upload") => r.set("is_orig", Z::Bool(true)),
                    Some("download") => r.set("is_orig", Z::Bool(false)),
                    _ => &mut r,
                };
                if complete == Some(true) {
                    r.set("missing_bytes", Z::Count(0));
                }
                rows.push(r);
                if self.pending_count >= MAX_PENDING {
                    self.pending.clear();
                    self.pending_count = 0;
                }
                self.pending_count += 1;
                self.pending
                    .entry(c.uid.to_string())
                    .or_default()
                    .push(PendingFile {
                        fuid,
                        mime: str_of(rec, "mime_type").map(str::to_string),
                        is_orig: str_of(rec, "direction") == Some("upload"),
                    });
            }
            "ftp" => {
                let mut r = Row::new(&FTP);
                r.id(ts_ns, c)
                    .from("user", rec, "user")
                    .from("command", rec, "command")
                    .from("arg", rec, "arg")
                    .from("file_size", rec, "file_size")
                    .from("reply_code", rec, "reply_code")
                    .from("reply_msg", rec, "reply_msg");
                if let Some(dc) = rec.get("data_channel") {
                    let passive = dc.get("passive").and_then(Value::as_bool);
                    r.from("data_channel.passive", dc, "passive")
                        .from("data_channel.resp_h", dc, "resp_h")
                        .from("data_channel.resp_p", dc, "resp_p");
                    // The data connection's originator: the client when
                    // passive, the server when active.
                    let orig = match passive {
                        Some(true) => Some(c.src_ip),
                        Some(false) => Some(c.dst_ip),
                        None => None,
                    };
                    if let Some(o) = orig {
                        r.set("data_channel.orig_h", Z::Str(o.to_string()));
                    }
                }
                // The file of a transfer: named on the transfer's reply.
                let transfer = matches!(
                    str_of(rec, "command"),
                    Some("RETR" | "STOR" | "STOU" | "APPE")
                );
                if transfer {
                    if let Some(f) = self.take_files(&c.uid).into_iter().next() {
                        r.set("fuid", Z::Str(f.fuid))
                            .set("mime_type", f.mime.map_or(Z::Unset, Z::Str));
                    }
                }
                rows.push(r);
                self.server_software(ts_ns, c, rec, "FTP::SERVER", &mut rows);
                self.weirds(ts_ns, c, rec, "FTP", &mut rows);
            }
            "smtp" => {
                let split = |key: &str| -> Z {
                    match rec.get(key).and_then(Value::as_array) {
                        Some(a) => Z::List(
                            a.iter()
                                .filter_map(Value::as_str)
                                .flat_map(|x| x.split(','))
                                .map(str::trim)
                                .filter(|x| !x.is_empty())
                                .map(s)
                                .collect(),
                        ),
                        None => Z::Unset,
                    }
                };
                let mut r = Row::new(&SMTP);
                r.id(ts_ns, c)
                    .from("trans_depth", rec, "trans_depth")
                    .from("helo", rec, "helo")
                    .from("mailfrom", rec, "mail_from")
                    .from("rcptto", rec, "rcpt_to")
                    .from("date", rec, "date")
                    .from("from", rec, "from")
                    .set("to", split("to"))
                    .set("cc", split("cc"))
                    .from("msg_id", rec, "message_id")
                    .from("subject", rec, "subject")
                    .from("last_reply", rec, "last_reply")
                    .from("tls", rec, "tls")
                    .from("auth_user", rec, "auth_user")
                    .from("attachments", rec, "attachments");
                let files = self.take_files(&c.uid);
                if !files.is_empty() {
                    r.set("fuids", Z::List(files.iter().map(|f| s(&f.fuid)).collect()));
                }
                rows.push(r);
                self.server_software(ts_ns, c, rec, "SMTP::MAIL_SERVER", &mut rows);
                self.weirds(ts_ns, c, rec, "SMTP", &mut rows);
            }
            "ssh" => {
                let mut r = Row::new(&SSH);
                r.id(ts_ns, c)
                    .from("client", rec, "client")
                    .from("server", rec, "server")
                    .from("cipher_alg", rec, "cipher_c2s")
                    .from("mac_alg", rec, "mac_c2s")
                    .from("compression_alg", rec, "compression_c2s")
                    .from("kex_alg", rec, "kex_alg")
                    .from("host_key_alg", rec, "host_key_alg")
                    .from("hassh", rec, "hassh")
                    .from("hasshServer", rec, "hassh_server")
                    .from("hasshAlgorithms", rec, "hassh_algorithms")
                    .from("hasshServerAlgorithms", rec, "hassh_server_algorithms");
                // Zeek's version is the major protocol version: 1 or 2
                // (`1.99` announces both: 2).
                if let Some(v) = str_of(rec, "version") {
                    let major = if v == "1.99" {
                        Some(2)
                    } else {
                        v.split('.').next().and_then(|m| m.parse().ok())
                    };
                    if let Some(m) = major {
                        r.set("version", Z::Count(m));
                    }
                }
                rows.push(r);
                self.server_software(ts_ns, c, rec, "SSH::SERVER", &mut rows);
                if let Some(b) = str_of(rec, "client") {
                    if let Some((name, ver)) = ssh_software(b) {
                        self.software(
                            ts_ns,
                            c.src_ip,
                            None,
                            "SSH::CLIENT",
                            &name,
                            &ver,
                            b,
                            &mut rows,
                        );
                    }
                }
                self.weirds(ts_ns, c, rec, "SSH", &mut rows);
            }
            "dhcp" => {
                // Zeek logs a transaction (xid) once, with every flow that
                // carried part of it: held until it has been quiet for
                // DHCP_WATCH (see `dhcp_due`).
                match rec.get("trans_id").and_then(Value::as_u64) {
                    Some(xid) => self.dhcp_merge(xid, ts_ns, &c.uid, rec),
                    None => rows.push(dhcp_row(ts_ns, ts_ns, vec![c.uid.to_string()], rec)),
                }
                self.weirds(ts_ns, c, rec, "DHCP", &mut rows);
            }
            "smb" => {
                match str_of(rec, "kind") {
                    Some("tree_connect") => {
                        let path = str_of(rec, "path").unwrap_or("");
                        if self.smb_tree.len() >= MAX_SEEN {
                            self.smb_tree.clear();
                        }
                        self.smb_tree.insert(c.uid.to_string(), path.to_string());
                        let mut r = Row::new(&SMB_MAPPING);
                        r.id(ts_ns, c).from("path", rec, "path");
                        if path.ends_with("IPC$") {
                            r.set("share_type", s("PIPE"));
                        }
                        rows.push(r);
                    }
                    Some("file_open") => {
                        let mut r = Row::new(&SMB_FILES);
                        r.id(ts_ns, c)
                            .set("action", s("SMB::FILE_OPEN"))
                            .from("name", rec, "name");
                        if let Some(p) = self.smb_tree.get(c.uid.as_str()) {
                            r.set("path", Z::Str(p.clone()));
                        }
                        rows.push(r);
                    }
                    _ => {}
                }
                self.weirds(ts_ns, c, rec, "SMB", &mut rows);
            }
            "sip" => {
                let mut r = Row::new(&SIP);
                r.id(ts_ns, c)
                    .from("method", rec, "method")
                    .from("uri", rec, "uri")
                    .from("request_from", rec, "from")
                    .from("request_to", rec, "to")
                    .from("call_id", rec, "call_id")
                    .from("seq", rec, "cseq")
                    .from("request_path", rec, "via")
                    .from("user_agent", rec, "user_agent")
                    .from("status_code", rec, "status_code")
                    .from("status_msg", rec, "status_msg")
                    .from("content_type", rec, "content_type");
                rows.push(r);
                self.weirds(ts_ns, c, rec, "SIP", &mut rows);
            }
            "quic" => {
                let mut r = Row::new(&QUIC);
                r.id(ts_ns, c)
                    .from("client_initial_dcid", rec, "client_dcid")
                    .from("client_scid", rec, "client_scid")
                    .from("server_scid", rec, "server_scid")
                    .from("server_name", rec, "server_name")
                    .from("ja4", rec, "ja4");
                // Zeek calls version 2 `quicv2`; the others read alike.
                let v = str_of(rec, "version").unwrap_or("");
                r.set("version", s(if v == "2" { "quicv2" } else { v }));
                if let Some(p) = rec
                    .get("alpn")
                    .and_then(Value::as_array)
                    .and_then(|a| a.first())
                    .and_then(Value::as_str)
                {
                    r.set("client_protocol", s(p));
                }
                rows.push(r);
                self.weirds(ts_ns, c, rec, "QUIC", &mut rows);
            }
            "weird" => {
                let mut addl = Vec::new();
                for k in ["dir", "offset", "len"] {
                    if let Some(v) = rec.get(k) {
                        let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                        addl.push(format!("{k}={v}"));
                    }
                }
                let mut r = Row::new(&WEIRD);
                r.id(ts_ns, c)
                    .from("name", rec, "name")
                    .set(
                        "addl",
                        if addl.is_empty() {
                            Z::Unset
                        } else {
                            Z::Str(addl.join(" "))
                        },
                    )
                    .set("notice", Z::Bool(false))
                    .set("peer", s("netsift"))
                    .set("source", s("TCP"));
                rows.push(r);
            }
            // A log Zeek does not have (pop3, imap, ...): only its anomalies,
            // to weird.log like every analyzer's.
            other => {
                let source = other.to_ascii_uppercase();
                self.weirds(ts_ns, c, rec, &source, &mut rows);
            }
        }
        rows
    }

    fn tls(&mut self, ts_ns: u64, c: &Common, rec: &Value, rows: &mut Vec<Row>) {
        let certs: Vec<&Value> = rec
            .get("certs")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let fps: Vec<Z> = certs
            .iter()
            .filter_map(|c| str_of(c, "sha256"))
            .map(s)
            .collect();
        let mismatch = rec
            .get("weird")
            .and_then(Value::as_array)
            .is_some_and(|w| w.iter().any(|x| x == "sni_mismatch"));
        let mut r = Row::new(&SSL);
        r.id(ts_ns, c)
            .from("cipher", rec, "cipher")
            .from("server_name", rec, "server_name")
            .from("resumed", rec, "resumed")
            .from("next_protocol", rec, "alpn_selected")
            .from("established", rec, "established")
            .from("ja3", rec, "ja3")
            .from("ja3s", rec, "ja3s")
            .from("ja4", rec, "ja4")
            .from("alpn", rec, "alpn");
        if let Some(v) = str_of(rec, "client_version") {
            r.set("client_version", Z::Str(zeek_tls_version(v)));
        }
        if let Some(v) = str_of(rec, "version") {
            r.set("version", Z::Str(zeek_tls_version(v)));
        }
        if !fps.is_empty() {
            r.set("cert_chain_fps", Z::List(fps));
            if rec.get("server_name").is_some() {
                r.set("sni_matches_cert", Z::Bool(!mismatch));
            }
        }
        rows.push(r);
        for cert in certs {
            let Some(fp) = str_of(cert, "sha256") else {
                continue;
            };
            if !remember(&mut self.certs, fp.to_string()) {
                continue;
            }
            let key_type = match str_of(cert, "key_alg") {
                Some("rsa") => Some(("rsaEncryption", "rsa")),
                Some("ec") => Some(("id-ecPublicKey", "ecdsa")),
                Some("dsa") => Some(("dsaEncryption", "dsa")),
                _ => None,
            };
            let (mut dns, mut ips) = (Vec::new(), Vec::new());
            for san in cert
                .get("sans")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if san.parse::<std::net::IpAddr>().is_ok() {
                    ips.push(s(san));
                } else {
                    dns.push(s(san));
                }
            }
            let time = |k: &str| {
                str_of(cert, k)
                    .and_then(parse_rfc3339)
                    .map_or(Z::Unset, Z::Time)
            };
            let mut x = Row::new(&X509);
            x.set("ts", Z::Time(micros_to_secs(ts_ns)))
                .set("fingerprint", s(fp))
                .set(
                    "certificate.serial",
                    str_of(cert, "serial").map_or(Z::Unset, |v| Z::Str(v.to_ascii_uppercase())),
                )
                .from("certificate.subject", cert, "subject")
                .from("certificate.issuer", cert, "issuer")
                .set("certificate.not_valid_before", time("not_before"))
                .set("certificate.not_valid_after", time("not_after"))
                .from("certificate.sig_alg", cert, "sig_alg")
                .from("certificate.key_length", cert, "key_bits")
                .from("basic_constraints.ca", cert, "is_ca")
                .set("host_cert", Z::Bool(true))
                .set("client_cert", Z::Bool(false));
            if let Some((alg, kt)) = key_type {
                x.set("certificate.key_alg", s(alg))
                    .set("certificate.key_type", s(kt));
            }
            if !dns.is_empty() {
                x.set("san.dns", Z::List(dns));
            }
            if !ips.is_empty() {
                x.set("san.ip", Z::List(ips));
            }
            rows.push(x);
        }
        self.weirds(ts_ns, c, rec, "SSL", rows);
    }

    fn conn(&mut self, rec: &FlowRecord) -> Vec<Row> {
        let mut rows = Vec::new();
        // The flow is over: its files will not be named by a transaction.
        self.take_files(&rec.uid);
        let service = zeek_service(rec.protocol);
        // After a STARTTLS-style upgrade the SSL analyzer ran too.
        let upgraded = self.upgraded.remove(rec.uid.as_str());
        let service_field = match (service, upgraded) {
            (Some(svc), true) => s(&format!("{svc},ssl")),
            (None, true) => s("ssl"),
            (Some(svc), false) => s(svc),
            (None, false) => Z::Unset,
        };
        let mut r = Row::new(&CONN);
        r.set("ts", Z::Time(rec.ts))
            .set("uid", s(&rec.uid))
            .set("id.orig_h", s(&rec.src_ip))
            .set("id.orig_p", Z::Count(rec.src_port.into()))
            .set("id.resp_h", s(&rec.dst_ip))
            .set("id.resp_p", Z::Count(rec.dst_port.into()))
            .set("proto", s(zeek_proto(&rec.l4)))
            .set("service", service_field)
            .set("conn_state", s(rec.conn_state))
            .set("missed_bytes", Z::Count(rec.missed_bytes))
            .set("orig_pkts", Z::Count(rec.orig_pkts))
            .set("orig_ip_bytes", Z::Count(rec.orig_ip_bytes))
            .set("resp_pkts", Z::Count(rec.resp_pkts))
            .set("resp_ip_bytes", Z::Count(rec.resp_ip_bytes))
            .set(
                "ip_proto",
                ip_proto_number(&rec.l4).map_or(Z::Unset, Z::Count),
            )
            .set("vlan", rec.vlan.map_or(Z::Unset, |v| Z::Int(v.into())))
            .set(
                "inner_vlan",
                rec.inner_vlan.map_or(Z::Unset, |v| Z::Int(v.into())),
            )
            .set("community_id", s(&rec.community_id))
            .set("netsift_protocol", s(rec.protocol))
            .set("netsift_app", rec.app.as_deref().map_or(Z::Unset, s))
            .set(
                "netsift_confidence",
                s(&format!("{:?}", rec.confidence).to_lowercase()),
            )
            .set("netsift_tunnel", rec.tunnel.map_or(Z::Unset, s));
        // ICMP "ports" in Zeek: the first packet's type and code.
        if let (Some((t, code)), "ICMP" | "ICMPV6") = (rec.icmp_type_code, rec.l4.as_str()) {
            r.set("id.orig_p", Z::Count(t.into()))
                .set("id.resp_p", Z::Count(code.into()));
        }
        // As Zeek: duration and byte counts only once time has passed.
        // TCP's from the sequence numbers as Zeek (retransmissions once),
        // the others' payload bytes.
        let [ob, rb] = rec
            .seq_bytes
            .unwrap_or([rec.orig_payload_bytes, rec.resp_payload_bytes]);
        if rec.duration > 0.0 {
            r.set("duration", Z::Interval(rec.duration))
                .set("orig_bytes", Z::Count(ob))
                .set("resp_bytes", Z::Count(rb));
        }
        if !rec.history.is_empty() {
            r.set("history", s(&rec.history));
        }
        rows.push(r);
        // known_services: a service on a port that answered.
        let answered = match rec.l4.as_str() {
            "TCP" => matches!(rec.conn_state, "SF" | "S1" | "S2" | "S3" | "RSTO" | "RSTR"),
            _ => rec.resp_pkts > 0,
        };
        if let (Some(svc), true) = (service, answered) {
            let proto = zeek_proto(&rec.l4);
            let key = format!("{}|{}|{proto}|{svc}", rec.dst_ip, rec.dst_port);
            if remember(&mut self.services, key) {
                let mut k = Row::new(&KNOWN_SERVICES);
                k.set("ts", Z::Time(rec.ts))
                    .set("host", s(&rec.dst_ip))
                    .set("port_num", Z::Count(rec.dst_port.into()))
                    .set("port_proto", s(proto))
                    .set("service", Z::List(vec![s(svc)]));
                rows.push(k);
            }
        }
        rows
    }

    fn alert(&mut self, a: &netsift_detect::alert::Alert) -> Row {
        let mut r = Row::new(&NOTICE);
        r.set("ts", Z::Time(micros_to_secs(a.ts)))
            .set("uid", a.uid.as_deref().map_or(Z::Unset, s))
            .set("note", Z::Str(format!("NetSift::{}", note_name(a.kind))))
            .set("msg", s(&a.rule))
            .set("severity", s(&a.severity.to_string()))
            .set("actions", Z::List(vec![s("Notice::ACTION_LOG")]));
        let ev = serde_json::to_value(&a.evidence).unwrap_or(Value::Null);
        if let Some(m) = ev.as_object().filter(|m| !m.is_empty()) {
            let sub: Vec<String> = m
                .iter()
                .map(|(k, v)| match v.as_str() {
                    Some(x) => format!("{k}={x}"),
                    None => format!("{k}={v}"),
                })
                .collect();
            r.set("sub", Z::Str(sub.join(" ")));
        }
        if let Some(sm) = &a.summary {
            r.set("n", Z::Count(sm.count));
        }
        if let Some(e) = &a.endpoints {
            r.set("src", Z::Str(e.src_ip.to_string()))
                .set("dst", Z::Str(e.dst_ip.to_string()))
                .set("p", e.dst_port.map_or(Z::Unset, |p| Z::Count(p.into())));
            if a.uid.is_some() {
                r.set("id.orig_h", Z::Str(e.src_ip.to_string()))
                    .set(
                        "id.orig_p",
                        e.src_port.map_or(Z::Unset, |p| Z::Count(p.into())),
                    )
                    .set("id.resp_h", Z::Str(e.dst_ip.to_string()))
                    .set(
                        "id.resp_p",
                        e.dst_port.map_or(Z::Unset, |p| Z::Count(p.into())),
                    );
            }
        }
        r
    }
}

/// `port-scan` → `Port_Scan`: a notice name in Zeek's style.
fn note_name(kind: netsift_detect::alert::AlertType) -> String {
    kind.as_str()
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("_")
}

// ---------------------------------------------------------------- writer

/// Where the logs go.
pub enum ZeekTarget {
    /// One `<log>.log` per log in this directory.
    Dir(PathBuf),
    /// One stream: JSON objects with a `_path` field (as the
    /// json-streaming-logs package writes them), or, for TSV, every log's
    /// block (header, rows, `#close`) one after another at the end.
    Stream(Box<dyn Write>),
}

struct ZFile {
    w: BufWriter<File>,
    bytes: u64,
    open_ns: u64,
}

/// Zeek's logs (see the module docs).
pub struct ZeekLogs {
    target: ZeekTarget,
    json: bool,
    opts: JsonlOptions,
    /// By log name (netsift's own names: Fx, not SipHash, for a look-up
    /// per row).
    files: HashMap<&'static str, ZFile, rustc_hash::FxBuildHasher>,
    /// Stream TSV: each log's rows until the end.
    blocks: HashMap<&'static str, (u64, Vec<u8>)>,
    map: Mapper,
    summary: Summary,
    error: Option<std::io::Error>,
    now: u64,
    period_start: Option<u64>,
    last_flush: u64,
    /// Files rotated so far.
    pub rotations: u64,
}

impl ZeekLogs {
    /// `json`: `--format zeek-json`. `opts.append` (live): files are
    /// appended to (a TSV file gets a new header block), and rotated by
    /// size or time as the JSONL ones are.
    pub fn new(target: ZeekTarget, json: bool, opts: JsonlOptions) -> std::io::Result<ZeekLogs> {
        if let ZeekTarget::Dir(d) = &target {
            std::fs::create_dir_all(d)?;
        }
        Ok(ZeekLogs {
            target,
            json,
            opts,
            files: HashMap::default(),
            blocks: HashMap::new(),
            map: Mapper::default(),
            summary: Summary::default(),
            error: None,
            now: 0,
            period_start: None,
            last_flush: 0,
            rotations: 0,
        })
    }

    fn path(dir: &Path, log: &str) -> PathBuf {
        dir.join(format!("{log}.log"))
    }

    fn open(&self, dir: &Path, def: &LogDef) -> std::io::Result<ZFile> {
        let p = Self::path(dir, def.path);
        let f = if self.opts.append {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&p)?
        } else {
            File::create(&p)?
        };
        let mut z = ZFile {
            bytes: f.metadata().map(|m| m.len()).unwrap_or(0),
            w: BufWriter::with_capacity(super::output::LOG_BUFFER, f),
            open_ns: self.now,
        };
        if !self.json {
            let h = ascii_header(def, self.now);
            z.w.write_all(h.as_bytes())?;
            z.bytes += h.len() as u64;
        }
        Ok(z)
    }

    fn close_line(&self) -> String {
        format!("#close\t{}\n", zeek_stamp(self.now))
    }

    /// Closes the current file of `log` and renames it
    /// `<log>.<open time>.log` (`-1`, `-2`, ... if taken), as Zeek's
    /// rotation does.
    fn rotate(&mut self, log: &'static str) -> std::io::Result<()> {
        let ZeekTarget::Dir(dir) = &self.target else {
            return Ok(());
        };
        let dir = dir.clone();
        let Some(mut f) = self.files.remove(log) else {
            return Ok(());
        };
        if !self.json {
            f.w.write_all(self.close_line().as_bytes())?;
        }
        f.w.flush()?;
        let stamp = zeek_stamp(f.open_ns);
        drop(f);
        let mut target = dir.join(format!("{log}.{stamp}.log"));
        let mut n = 0;
        while target.exists() && n < 10_000 {
            n += 1;
            target = dir.join(format!("{log}.{stamp}-{n}.log"));
        }
        std::fs::rename(Self::path(&dir, log), &target)?;
        self.rotations += 1;
        Ok(())
    }

    fn write(&mut self, row: &Row) {
        if self.error.is_some() {
            return;
        }
        let log = row.def.path;
        let mut line = if self.json {
            let path = matches!(self.target, ZeekTarget::Stream(_)).then_some(log);
            serde_json::to_string(&json_row(row, path)).unwrap_or_default()
        } else {
            ascii_row(row)
        };
        line.push('\n');
        let r = match &mut self.target {
            ZeekTarget::Stream(w) if self.json => w.write_all(line.as_bytes()),
            ZeekTarget::Stream(_) => {
                let now = self.now;
                let b = self.blocks.entry(log).or_insert_with(|| (now, Vec::new()));
                b.1.extend_from_slice(line.as_bytes());
                Ok(())
            }
            ZeekTarget::Dir(dir) => {
                let dir = dir.clone();
                if !self.files.contains_key(log) {
                    match self.open(&dir, row.def) {
                        Ok(f) => {
                            self.files.insert(log, f);
                        }
                        Err(e) => {
                            self.error = Some(e);
                            return;
                        }
                    }
                }
                let mut full = false;
                let r = match self.files.get_mut(log) {
                    Some(f) => {
                        f.bytes += line.len() as u64;
                        full = self.opts.rotate_size.is_some_and(|max| f.bytes >= max);
                        f.w.write_all(line.as_bytes())
                    }
                    None => Ok(()),
                };
                if r.is_ok() && full {
                    self.rotate(log)
                } else {
                    r
                }
            }
        };
        if let Err(e) = r {
            self.error = Some(e);
        }
    }

    fn note_time(&mut self, ts_ns: u64) {
        self.now = self.now.max(ts_ns);
    }
}

impl Output for ZeekLogs {
    fn record(&mut self, log: &'static str, ts_ns: u64, common: &Common, record: &Record) {
        self.note_time(ts_ns);
        self.summary.note_record(log, record);
        let record = record.to_json();
        for row in self.map.record(log, ts_ns, common, &record) {
            self.write(&row);
        }
    }

    fn conn(&mut self, ts_ns: u64, rec: &FlowRecord) {
        self.note_time(ts_ns);
        self.summary.note_conn(rec);
        for row in self.map.conn(rec) {
            self.write(&row);
        }
    }

    fn alert(&mut self, a: &netsift_detect::alert::Alert) {
        self.note_time(a.ts);
        *self.summary.records_by_log.entry("alerts").or_default() += 1;
        let row = self.map.alert(a);
        self.write(&row);
    }

    /// A flowless weird.log row: uid and `id.*` unset (`-`), as Zeek
    /// writes its own flowless weirds (`net_weird`).
    fn capture_damaged(&mut self, d: &super::output::CaptureDamage) {
        *self.summary.records_by_log.entry("weird").or_default() += 1;
        let mut r = Row::new(&WEIRD);
        r.set("ts", Z::Time(micros_to_secs(d.ts_ns)))
            .set("name", s(super::output::CaptureDamage::NAME))
            .set(
                "addl",
                Z::Str(format!(
                    "capture={} offset={} len={} reason={}",
                    d.capture, d.offset, d.len, d.reason
                )),
            )
            .set("notice", Z::Bool(false))
            .set("peer", s("netsift"))
            .set("source", s("capture"));
        self.write(&r);
    }

    fn tick(&mut self, now_ns: u64) {
        self.note_time(now_ns);
        if !self.map.dhcp.is_empty() {
            for row in self.map.dhcp_due(self.now) {
                self.write(&row);
            }
        }
        let start = *self.period_start.get_or_insert(self.now);
        if let Some(every) = self.opts.rotate_interval_ns.filter(|n| *n > 0) {
            if self.now.saturating_sub(start) >= every && self.error.is_none() {
                let k = (self.now - start) / every;
                self.period_start = Some(start + k * every);
                let logs: Vec<&'static str> = self.files.keys().copied().collect();
                for log in logs {
                    if let Err(e) = self.rotate(log) {
                        self.error = Some(e);
                        break;
                    }
                }
            }
        }
        if self.now.saturating_sub(self.last_flush) >= 1_000_000_000 {
            self.last_flush = self.now;
            let mut r = Ok(());
            for f in self.files.values_mut() {
                r = r.and(f.w.flush());
            }
            if let ZeekTarget::Stream(w) = &mut self.target {
                r = r.and(w.flush());
            }
            if let Err(e) = r {
                self.error.get_or_insert(e);
            }
        }
    }

    fn finish(&mut self) -> std::io::Result<()> {
        for row in self.map.dhcp_due(u64::MAX) {
            self.write(&row);
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let close = self.close_line();
        let json = self.json;
        for f in self.files.values_mut() {
            if !json {
                f.w.write_all(close.as_bytes())?;
            }
            f.w.flush()?;
        }
        // A finished file is closed: later rows (none in analyze) would
        // start a new header block.
        self.files.clear();
        if let ZeekTarget::Stream(w) = &mut self.target {
            for def in LOGS {
                if let Some((open, rows)) = self.blocks.remove(def.path) {
                    w.write_all(ascii_header(def, open).as_bytes())?;
                    w.write_all(&rows)?;
                    w.write_all(close.as_bytes())?;
                }
            }
            w.flush()?;
        }
        Ok(())
    }

    fn summary(&self) -> &Summary {
        &self.summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_zeek() {
        assert_eq!(escape("a\tb", false), "a\\x09b");
        assert_eq!(escape("a,b", false), "a,b");
        assert_eq!(escape("a,b", true), "a\\x2cb");
        assert_eq!(escape("\\\\srv\\IPC$", false), "\\\\\\\\srv\\\\IPC$");
        assert_eq!(escape("\u{0}\u{1b}\n\u{7f}", false), "\\x00\\x1b\\x0a\\x7f");
        // A C1 control is two UTF-8 bytes; other UTF-8 stays as it is.
        assert_eq!(escape("\u{85}é", false), "\\xc2\\x85é");
        assert_eq!(escape("-", false), "\\x2d");
        assert_eq!(escape("(empty)", false), "\\x28empty)");
        assert_eq!(ascii_cell(&Z::Str(String::new()), false), "(empty)");
        assert_eq!(ascii_cell(&Z::Unset, false), "-");
        assert_eq!(ascii_cell(&Z::List(vec![]), false), "(empty)");
        assert_eq!(
            ascii_cell(&Z::List(vec![s("a,b"), s("c"), Z::Unset, s("")]), false),
            "a\\x2cb,c,-,(empty)"
        );
        assert_eq!(ascii_cell(&Z::Bool(true), false), "T");
        assert_eq!(ascii_cell(&Z::Time(1.5), false), "1.500000");
    }

    #[test]
    fn header_has_every_directive() {
        let h = ascii_header(&WEIRD, 1_600_000_000_123_456_789);
        let lines: Vec<&str> = h.lines().collect();
        assert_eq!(lines[0], "#separator \\x09");
        assert_eq!(lines[1], "#set_separator\t,");
        assert_eq!(lines[2], "#empty_field\t(empty)");
        assert_eq!(lines[3], "#unset_field\t-");
        assert_eq!(lines[4], "#path\tweird");
        assert_eq!(lines[5], "#open\t2020-09-13-12-26-40");
        assert_eq!(
            lines[6],
            "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tname\taddl\tnotice\tpeer\tsource"
        );
        assert_eq!(
            lines[7],
            "#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tstring\tbool\tstring\tstring"
        );
    }

    #[test]
    fn every_log_has_unique_fields_and_zeek_prefix() {
        for def in LOGS {
            let mut seen = HashSet::new();
            for (f, _) in def.fields {
                assert!(seen.insert(*f), "{} repeats {f}", def.path);
            }
            assert_eq!(def.fields[0], ("ts", T::Time), "{}", def.path);
        }
        // conn.log's Zeek part, in Zeek's order.
        let names: Vec<&str> = CONN.fields.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names[..22].join(" "),
            "ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration \
             orig_bytes resp_bytes conn_state local_orig local_resp missed_bytes history \
             orig_pkts orig_ip_bytes resp_pkts resp_ip_bytes tunnel_parents ip_proto"
        );
    }

    #[test]
    fn names_and_versions() {
        assert_eq!(zeek_tls_version("TLS 1.2"), "TLSv12");
        assert_eq!(zeek_tls_version("TLS 1.3"), "TLSv13");
        assert_eq!(zeek_tls_version("SSL 3.0"), "SSLv3");
        assert_eq!(zeek_tls_version("DTLS 1.2"), "DTLSv12");
        assert_eq!(zeek_tls_version("weird"), "weird");
        assert_eq!(split_version("3.0.3"), (vec![3, 0, 3], None));
        assert_eq!(
            split_version("8.8.7/8.8.7"),
            (vec![8, 8, 7], Some("8.8.7".into()))
        );
        assert_eq!(split_version("5.3p1"), (vec![5, 3], Some("p1".into())));
        assert_eq!(split_version("beta"), (vec![], Some("beta".into())));
        assert_eq!(
            ssh_software("SSH-2.0-OpenSSH_5.6 Debian"),
            Some(("OpenSSH".into(), "5.6".into()))
        );
        assert_eq!(ssh_software("garbage"), None);
        assert_eq!(parse_rfc3339("2020-09-13T12:26:40Z"), Some(1_600_000_000.0));
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Some(951_782_400.0));
        assert_eq!(parse_rfc3339("2000-13-29T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("é"), None);
        assert_eq!(zeek_stamp(1_600_000_000_000_000_000), "2020-09-13-12-26-40");
        assert_eq!(
            note_name(netsift_detect::alert::AlertType::PortScan),
            "Port_Scan"
        );
        assert_eq!(zeek_service("TLS"), Some("ssl"));
        assert_eq!(zeek_service("FTP_DATA"), Some("ftp-data"));
        assert_eq!(zeek_service("TeamSpeak"), None);
    }

    fn common() -> Common {
        Common {
            uid: "Cabc".into(),
            src_ip: "10.0.0.1".parse().expect("ip"),
            src_port: 1234,
            dst_ip: "10.0.0.2".parse().expect("ip"),
            dst_port: 21,
            proto: 6,
        }
    }

    #[test]
    fn records_map_to_zeek_rows() {
        let mut m = Mapper::default();
        let rec = serde_json::json!({
            "banner": "220 (vsFTPd 3.0.3)", "server_software": "vsftpd",
            "server_version": "3.0.3", "user": "anonymous", "command": "LIST",
            "reply_code": 226, "reply_msg": "ok",
            "data_channel": {"passive": true, "resp_h": "10.0.0.2", "resp_p": 2000},
            "weird": ["ftp_odd"]
        });
        let rows = m.record("ftp", 1_000_000_000, &common(), &rec);
        let paths: Vec<&str> = rows.iter().map(|r| r.def.path).collect();
        assert_eq!(paths, ["ftp", "software", "weird"]);
        let ftp = ascii_row(&rows[0]);
        assert_eq!(
            ftp,
            "1.000000\tCabc\t10.0.0.1\t1234\t10.0.0.2\t21\tanonymous\t-\tLIST\t-\t-\t-\t226\tok\tT\t10.0.0.1\t10.0.0.2\t2000\t-"
        );
        let sw = json_row(&rows[1], None);
        assert_eq!(sw["software_type"], "FTP::SERVER");
        assert_eq!(sw["version.major"], 3);
        assert_eq!(sw["version.minor2"], 3);
        assert!(sw.get("version.addl").is_none());
        // The same server again is not logged again.
        assert_eq!(m.record("ftp", 2, &common(), &rec).len(), 2);
        // A record of a log Zeek does not have gives only its weirds.
        let pop = m.record("pop3", 2, &common(), &rec);
        assert_eq!(pop.len(), 1);
        assert_eq!(json_row(&pop[0], None)["source"], "POP3");
    }

    #[test]
    fn tls_gives_ssl_and_x509_once() {
        let mut m = Mapper::default();
        let rec = serde_json::json!({
            "version": "TLS 1.2", "server_name": "a.test", "established": true,
            "certs": [{"sha256": "ab", "serial": "0a0b", "not_before": "2020-09-13T12:26:40Z",
                       "key_alg": "rsa", "key_bits": 2048, "sans": ["a.test", "10.0.0.9"]}],
        });
        let rows = m.record("tls", 5, &common(), &rec);
        assert_eq!(rows.len(), 2);
        let ssl = json_row(&rows[0], None);
        assert_eq!(ssl["version"], "TLSv12");
        assert_eq!(ssl["cert_chain_fps"], serde_json::json!(["ab"]));
        assert_eq!(ssl["sni_matches_cert"], true);
        let x = json_row(&rows[1], None);
        assert_eq!(x["certificate.serial"], "0A0B");
        assert_eq!(x["certificate.not_valid_before"], 1_600_000_000.0);
        assert_eq!(x["certificate.key_type"], "rsa");
        assert_eq!(x["san.dns"], serde_json::json!(["a.test"]));
        assert_eq!(x["san.ip"], serde_json::json!(["10.0.0.9"]));
        assert_eq!(m.record("tls", 6, &common(), &rec).len(), 1);
    }

    #[test]
    fn dhcp_transactions_merge_across_flows() {
        let mut m = Mapper::default();
        let t = 1_000_000_000_000;
        let client = serde_json::json!({"trans_id": 7, "client_mac": "aa:bb:cc:dd:ee:ff",
            "msg_types": ["DISCOVER", "REQUEST"], "host_name": "pc"});
        let server = serde_json::json!({"trans_id": 7, "msg_types": ["OFFER", "ACK"],
            "assigned_addr": "10.0.0.9", "server_addr": "10.0.0.1", "lease_time": 60,
            "weird": ["dhcp_odd"]});
        let mut other = common();
        other.uid = "Cdef".into();
        assert!(m.record("dhcp", t, &common(), &client).is_empty());
        let w = m.record("dhcp", t + 2_000_000, &other, &server);
        assert_eq!(w.len(), 1, "the weird at once");
        // Quiet for less than 30 s: held; then logged once.
        assert!(m.dhcp_due(t + 10_000_000_000).is_empty());
        let rows = m.dhcp_due(t + 40_000_000_000);
        assert_eq!(rows.len(), 1);
        let d = json_row(&rows[0], None);
        assert_eq!(d["uids"], serde_json::json!(["Cabc", "Cdef"]));
        assert_eq!(
            d["msg_types"],
            serde_json::json!(["DISCOVER", "REQUEST", "OFFER", "ACK"])
        );
        assert_eq!(d["mac"], "aa:bb:cc:dd:ee:ff");
        assert_eq!(d["assigned_addr"], "10.0.0.9");
        assert_eq!(d["lease_time"], 60.0);
        assert_eq!(d["duration"], 0.002);
        assert_eq!(d["ts"], 1000.0);
        assert!(m.dhcp_due(u64::MAX).is_empty());
    }

    #[test]
    fn files_are_named_by_their_transaction() {
        let mut m = Mapper::default();
        let file = serde_json::json!({"source": "HTTP", "mime_type": "text/html",
            "direction": "download", "size": 3, "sha256": "aa", "complete": true});
        let f = m.record("files", 1, &common(), &file);
        let fuid = json_row(&f[0], None)["fuid"].clone();
        assert!(fuid
            .as_str()
            .is_some_and(|u| u.starts_with('F') && u.len() == 12));
        let up = serde_json::json!({"source": "HTTP", "direction": "upload"});
        m.record("files", 1, &common(), &up);
        let h = m.record("http", 2, &common(), &serde_json::json!({"method": "POST"}));
        let h = json_row(&h[0], None);
        assert_eq!(h["resp_fuids"], serde_json::json!([fuid]));
        assert_eq!(h["resp_mime_types"], serde_json::json!(["text/html"]));
        assert_eq!(h["orig_fuids"].as_array().map(Vec::len), Some(1));
        assert!(h.get("orig_mime_types").is_none());
        // Named once: the next transaction has none.
        let h2 = m.record("http", 3, &common(), &serde_json::json!({"method": "GET"}));
        assert!(json_row(&h2[0], None).get("resp_fuids").is_none());
    }

    /// Whether a TSV cell reads as a value of type `t`.
    fn cell_fits(t: T, cell: &str) -> bool {
        if cell == "-" || cell == "(empty)" {
            return true;
        }
        let one = |t: T, c: &str| match t {
            T::Count | T::Port => c.parse::<u64>().is_ok_and(|n| t == T::Count || n < 65_536),
            T::Int => c.parse::<i64>().is_ok(),
            T::Time | T::Interval | T::Double => c.parse::<f64>().is_ok_and(f64::is_finite),
            T::Bool => c == "T" || c == "F",
            T::Addr => c.parse::<std::net::IpAddr>().is_ok(),
            _ => !c.is_empty(),
        };
        match t {
            T::SetStr | T::VecStr | T::SetEnum => cell.split(',').all(|c| one(T::Str, c)),
            T::VecInterval => cell.split(',').all(|c| one(T::Interval, c)),
            T::VecAddr => cell.split(',').all(|c| one(T::Addr, c)),
            _ => one(t, cell),
        }
    }

    /// Hostile values in any field of any log: no panic, one cell per
    /// column, no raw tab or newline in a TSV row.
    #[test]
    fn hostile_records_stay_well_formed() {
        let nasty = [
            serde_json::json!("a\tb\nc\u{0}\\-,"),
            serde_json::json!("-"),
            serde_json::json!(""),
            serde_json::json!(-5),
            serde_json::json!(1e300),
            serde_json::json!(u64::MAX),
            serde_json::json!(["x\ty", "", "-", 7, null]),
            serde_json::json!({"passive": "yes", "resp_p": -1}),
            serde_json::json!(null),
            serde_json::json!(true),
            serde_json::json!("\u{85}é\u{fffd}"),
        ];
        let keys = [
            "name",
            "proto",
            "rtt",
            "ttls",
            "answers",
            "version",
            "certs",
            "sha256",
            "direction",
            "data_channel",
            "to",
            "client",
            "server_software",
            "server_version",
            "banner",
            "kind",
            "path",
            "alpn",
            "weird",
            "lease_time",
            "user_agent",
            "command",
            "not_before",
            "key_alg",
            "sans",
            "serial",
            "dir",
            "offset",
            "msg_types",
            "rcpt_to",
            "via",
        ];
        let mut m = Mapper::default();
        let logs = [
            "dns", "http", "tls", "files", "ftp", "smtp", "ssh", "dhcp", "smb", "sip", "quic",
            "weird", "pop3",
        ];
        for (i, v) in nasty.iter().enumerate() {
            for log in logs {
                let mut rec = Map::new();
                for (j, k) in keys.iter().enumerate() {
                    rec.insert((*k).into(), nasty[(i + j) % nasty.len()].clone());
                }
                rec.insert("kind".into(), serde_json::json!("tree_connect"));
                rec.insert(
                    "certs".into(),
                    serde_json::json!([Value::Object(rec.clone()), v]),
                );
                for row in m.record(log, i as u64, &common(), &Value::Object(rec)) {
                    let line = ascii_row(&row);
                    assert_eq!(
                        line.split('\t').count(),
                        row.def.fields.len(),
                        "{log}: {line}"
                    );
                    assert!(!line.contains('\n') && !line.contains('\0'), "{line}");
                    for ((f, t), cell) in row.def.fields.iter().zip(line.split('\t')) {
                        assert!(cell_fits(*t, cell), "{log}.{f} ({}) = {cell}", t.name());
                    }
                    let _ = serde_json::to_string(&json_row(&row, Some(log))).expect("json");
                }
            }
        }
    }

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("netsift-zeek-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn dir_writes_header_rows_and_close() {
        let dir = tmpdir("dir");
        let mut z = ZeekLogs::new(ZeekTarget::Dir(dir.clone()), false, JsonlOptions::default())
            .expect("open");
        let t = 1_600_000_000_000_000_000;
        z.tick(t);
        z.record(
            "weird",
            t,
            &common(),
            &Record::from(serde_json::json!({"name": "x\ty", "dir": "orig"})),
        );
        z.tick(t + 61_000_000_000);
        z.finish().expect("finish");
        let text = std::fs::read_to_string(dir.join("weird.log")).expect("weird.log");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 10);
        assert!(
            lines[8].contains("\tx\\x09y\tdir=orig\tF\tnetsift\tTCP"),
            "{}",
            lines[8]
        );
        assert_eq!(lines[9], "#close\t2020-09-13-12-27-41");
        assert!(!dir.join("conn.log").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn rotation_closes_and_renames() {
        let dir = tmpdir("rot");
        let opts = JsonlOptions {
            append: true,
            rotate_size: None,
            rotate_interval_ns: Some(60_000_000_000),
        };
        let mut z = ZeekLogs::new(ZeekTarget::Dir(dir.clone()), false, opts).expect("open");
        let t = 1_600_000_000_000_000_000;
        for i in 0..3u64 {
            let now = t + i * 60_000_000_000;
            z.tick(now);
            z.record(
                "weird",
                now,
                &common(),
                &Record::from(serde_json::json!({"name": "w"})),
            );
        }
        z.finish().expect("finish");
        assert_eq!(z.rotations, 2);
        let mut rows = 0;
        for e in std::fs::read_dir(&dir).expect("dir").flatten() {
            let text = std::fs::read_to_string(e.path()).expect("read");
            assert!(text.starts_with("#separator"));
            assert!(text
                .trim_end()
                .lines()
                .last()
                .expect("line")
                .starts_with("#close"));
            rows += text.lines().filter(|l| !l.starts_with('#')).count();
        }
        assert_eq!(rows, 3);
        assert!(dir.join("weird.2020-09-13-12-26-40.log").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn json_stream_has_path_and_no_unset() {
        let buf: std::rc::Rc<std::cell::RefCell<Vec<u8>>> = Default::default();
        struct W(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
        impl Write for W {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.borrow_mut().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut z = ZeekLogs::new(
            ZeekTarget::Stream(Box::new(W(buf.clone()))),
            true,
            JsonlOptions::default(),
        )
        .expect("open");
        z.record(
            "weird",
            1_000_000,
            &common(),
            &Record::from(serde_json::json!({"name": "w"})),
        );
        z.finish().expect("finish");
        let text = String::from_utf8(buf.borrow().clone()).expect("utf8");
        let v: Value = serde_json::from_str(text.trim()).expect("json");
        assert_eq!(v["_path"], "weird");
        assert_eq!(v["ts"], 0.001);
        assert_eq!(v["id.orig_p"], 1234);
        assert!(v.get("addl").is_none());
    }
}
