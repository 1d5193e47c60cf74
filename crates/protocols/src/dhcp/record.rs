//! The "dhcp" log: one record per transaction (xid) seen in the flow.

use serde::Serialize;

/// One DHCP transaction (RFC 2131 §3.1: the messages sharing one xid).
/// A client's broadcasts and a server's replies are often different flows
/// (0.0.0.0:68 -> 255.255.255.255:67 and server:67 -> ...:68), so each
/// flow writes the part of the exchange it saw.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct DhcpRecord {
    /// Transaction ID (RFC 2131 §2 'xid').
    pub trans_id: u32,
    /// Client hardware address ('chaddr'), "aa:bb:cc:dd:ee:ff".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_mac: Option<String>,
    /// Host Name option (RFC 2132 §3.14, code 12).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_name: Option<String>,
    /// Client FQDN option (RFC 4702, code 81): the domain name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_fqdn: Option<String>,
    /// Requested IP Address (RFC 2132 §9.1, code 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_addr: Option<String>,
    /// 'yiaddr' of the ACK: the address assigned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_addr: Option<String>,
    /// Server Identifier (RFC 2132 §9.7, code 54).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_addr: Option<String>,
    /// IP Address Lease Time in seconds (RFC 2132 §9.2, code 51).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_time: Option<u32>,
    /// DHCP Message Types in order (RFC 2132 §9.6): DISCOVER, OFFER, ...
    pub msg_types: Vec<&'static str>,
    /// Domain Name (RFC 2132 §3.17, code 15).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Vendor class identifier (RFC 2132 §9.13, code 60).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_class: Option<String>,
    /// Parameter Request List (RFC 2132 §9.8, code 55), the option codes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub param_request_list: Vec<u8>,
    /// Anomalies (malformed options, short messages), at most 16.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub weird: Vec<String>,
}
