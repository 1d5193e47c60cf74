//! The "quic" log: one record per connection.

use serde::Serialize;

/// Cap on `weird` entries per record.
pub const MAX_WEIRD: usize = 16;

/// One QUIC connection.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct QuicRecord {
    /// Version of the client's first long-header packet: "1", "2",
    /// "draft-29", "mvfst-draft-22", "Q050"; unknown ones as hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// SNI of the ClientHello (or the gQUIC CHLO's SNI tag).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// ALPN protocols the client offered.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alpn: Vec<String>,
    /// JA4 of the ClientHello ("q" prefix), when it was decrypted whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja4: Option<String>,
    /// JA4 raw form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja4_r: Option<String>,
    /// TLS version the server chose, from the ServerHello of its decrypted
    /// Initial ("TLS 1.3").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_version: Option<String>,
    /// Cipher suite the server chose (IANA name), from the same ServerHello.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cipher: Option<String>,
    /// Destination connection ID of the client's first packet (hex).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_dcid: Option<String>,
    /// Source connection ID of the client's first packet (hex).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_scid: Option<String>,
    /// Source connection ID of the server's first long-header packet (hex).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_scid: Option<String>,
    /// A client Initial was decrypted (RFC 9001 §5 Initial keys).
    pub decrypted: bool,
    /// The whole ClientHello was reassembled from the CRYPTO frames.
    pub client_hello_complete: bool,
    /// The server sent a Retry (RFC 9000 §17.2.5).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub retry: bool,
    /// The server sent a Version Negotiation packet; the versions it listed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub server_versions: Vec<String>,
    /// Datagrams from the client.
    pub client_datagrams: u64,
    /// Datagrams from the server.
    pub server_datagrams: u64,
    /// Protocol anomalies (at most 16).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub weird: Vec<String>,
}
