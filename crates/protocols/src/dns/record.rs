//! The "dns" log: one record per query/response pair.

use serde::Serialize;

/// One DNS transaction (a query and its response paired by transaction ID
/// within the flow, or either alone).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct DnsRecord {
    /// "udp" or "tcp" (how the parser saw the messages: datagrams or
    /// RFC 7766 length-prefixed stream).
    pub proto: &'static str,
    /// Transaction ID (RFC 1035 §4.1.1 ID).
    pub trans_id: u16,
    /// The first question's name, dotted, non-printable bytes as `\xHH`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// QCLASS of the first question.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qclass: Option<u16>,
    /// QCLASS name ("C_INTERNET", ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qclass_name: Option<String>,
    /// QTYPE of the first question.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qtype: Option<u16>,
    /// QTYPE name ("A", "AAAA", "TYPE1234", ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qtype_name: Option<String>,
    /// RCODE of the response; absent when no response was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rcode: Option<u8>,
    /// RCODE name ("NOERROR", "NXDOMAIN", ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rcode_name: Option<String>,
    /// Authoritative Answer bit of the response.
    #[serde(rename = "AA")]
    pub aa: bool,
    /// TrunCation bit (query's or response's).
    #[serde(rename = "TC")]
    pub tc: bool,
    /// Recursion Desired bit of the query (or of the response alone).
    #[serde(rename = "RD")]
    pub rd: bool,
    /// Recursion Available bit of the response.
    #[serde(rename = "RA")]
    pub ra: bool,
    /// OPCODE (0 QUERY, 1 IQUERY, 2 STATUS, 4 NOTIFY, 5 UPDATE).
    pub opcode: u8,
    /// Answer-section RDATA as text: addresses, names, "pref name" for MX,
    /// TXT strings joined by spaces, "prio weight port target" for SRV,
    /// the MNAME for SOA, "<TYPE> <len> bytes" otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<String>,
    /// TTLs of `answers`, in seconds, same order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ttls: Vec<u32>,
    /// The response refused the question: RCODE != 0, or no answer to a
    /// question.
    pub rejected: bool,
    /// Seconds between query and response (packet time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtt: Option<f64>,
    /// Anomalies (malformed messages, duplicate IDs, ...), at most 16.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub weird: Vec<String>,
}
