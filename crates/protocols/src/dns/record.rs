//! The "dns" log: one record per query/response pair, for DNS and for the
//! DNS-structured protocols (mDNS, LLMNR, NetBIOS name service), told apart
//! by `app`. Field names and value spellings follow Zeek's dns.log where
//! Zeek has the field (see docs/zeek.md for where netsift differs, and why).

use serde::Serialize;

pub use super::parse::{Edns, Tsig};

/// One DNS transaction (a query and its response paired by transaction ID
/// within the flow, or either alone).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct DnsRecord {
    /// "udp" or "tcp" (how the parser saw the messages: datagrams or
    /// RFC 7766 length-prefixed stream).
    pub proto: &'static str,
    /// Which protocol carried the messages: "dns", "mdns" (RFC 6762),
    /// "llmnr" (RFC 4795) or "nbns" (NetBIOS name service, RFC 1002).
    pub app: &'static str,
    /// Transaction ID (RFC 1035 §4.1.1 ID).
    pub trans_id: u16,
    /// The first question's name, dotted, lower case, non-printable bytes
    /// as `\xHH`; the root is `.`. For an UPDATE the zone (RFC 2136 §2.3).
    /// For NBNS the decoded NetBIOS name without its suffix
    /// (`nb_suffix`), as Zeek's `decode_netbios_name` gives it. For a
    /// response without a question (mDNS announcements), the first
    /// answer's owner name, as Zeek does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The NetBIOS name's 16th byte (RFC 1001 §14: `00` workstation,
    /// `20` server, `1d` master browser...), NBNS only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nb_suffix: Option<u8>,
    /// QCLASS of the first question, as on the wire (mDNS's
    /// unicast-response bit included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qclass: Option<u16>,
    /// QCLASS name as Zeek spells it ("C_INTERNET", "qclass-<n>"); for mDNS
    /// the class without the unicast-response bit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qclass_name: Option<String>,
    /// QTYPE of the first question.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qtype: Option<u16>,
    /// QTYPE name as Zeek spells it ("A", "*" for ANY, "query-<n>" for
    /// unnamed); NBNS's "NB" and "NBSTAT".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qtype_name: Option<String>,
    /// Every question as `name TYPE`, when the message asked more than one
    /// (mDNS asks many at once, RFC 6762 §5); at most 32.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub questions: Vec<String>,
    /// mDNS: the first question asked for a unicast response (the top bit
    /// of QCLASS, RFC 6762 §5.4 "QU" question).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unicast_response: bool,
    /// RCODE of the response (the 4 header bits); absent when no response
    /// was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rcode: Option<u8>,
    /// RCODE name as Zeek spells it ("NOERROR", "NXDOMAIN", "NXRRSet",
    /// "unassigned-11", ...).
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
    /// The three bits after RA of the query (or of the response alone):
    /// Z, AD, CD (RFC 1035 §4.1.1, RFC 4035 §3.2), as Zeek's `Z` is.
    #[serde(rename = "Z")]
    pub z: u8,
    /// OPCODE (0 QUERY, 1 IQUERY, 2 STATUS, 4 NOTIFY, 5 UPDATE; NBNS 5
    /// registration, 6 release, 7 WACK, 8 refresh).
    pub opcode: u8,
    /// OPCODE name as Zeek spells it ("query", "dynamic-update",
    /// "netbios-query", ...).
    pub opcode_name: String,
    /// Answer-section RDATA in presentation format, as `dig` prints it
    /// (RFC 1035 §5.1 and each type's RFC; unknown types as RFC 3597
    /// `\# <len> <hex>`), except that names are lower case and carry no
    /// final dot. At most 64.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<String>,
    /// TYPE of each of `answers`, as dig names it ("A", "CNAME", "RRSIG",
    /// "TYPE65280"), same order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub answer_types: Vec<String>,
    /// TTLs of `answers`, in seconds, same order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ttls: Vec<u32>,
    /// What Zeek's dns.log writes for each of `answers` (`TXT 11 v=spf1
    /// -all`, `DNSKEY 13`, the exchange of an MX, ...; null where Zeek
    /// writes nothing), present only when it differs from `answers`. The
    /// Zeek output formats use it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zeek_answers: Option<Vec<Option<String>>>,
    /// mDNS: some answer had the cache-flush bit (top bit of CLASS,
    /// RFC 6762 §10.2).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cache_flush: bool,
    /// UPDATE prerequisites (RFC 2136 §2.4), in nsupdate's words:
    /// `yxdomain NAME`, `nxdomain NAME`, `yxrrset NAME TYPE [RDATA]`,
    /// `nxrrset NAME TYPE`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prereqs: Vec<String>,
    /// UPDATE changes (RFC 2136 §2.5): `add NAME TTL TYPE RDATA`,
    /// `delete NAME [TYPE [RDATA]]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub updates: Vec<String>,
    /// The query's EDNS OPT record (RFC 6891).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_edns: Option<Edns>,
    /// The response's EDNS OPT record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_edns: Option<Edns>,
    /// The query's TSIG signature (RFC 8945): key and algorithm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_tsig: Option<Tsig>,
    /// The response's TSIG signature, with its error if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_tsig: Option<Tsig>,
    /// The response refused the question, by Zeek's rule: it carried a
    /// question and no record at all, or an error and no question. Unlike
    /// Zeek, the OPT and TSIG meta-records do not count as records, and an
    /// accepted UPDATE/NOTIFY (answered with its question alone) is not
    /// rejected.
    pub rejected: bool,
    /// Seconds between query and response (packet time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtt: Option<f64>,
    /// Anomalies (malformed messages, duplicate IDs, ...), at most 16.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub weird: Vec<String>,
}
