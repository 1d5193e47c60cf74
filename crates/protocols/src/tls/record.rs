//! The "tls" log: one record per connection.

use serde::Serialize;

/// Cap on `weird` entries per record.
pub const MAX_WEIRD: usize = 16;

/// One TLS connection.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct TlsRecord {
    /// Negotiated version ("TLS 1.3"): the ServerHello's supported_versions,
    /// else its legacy_version; the record version of an SSLv2 hello.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Highest version the client offered (supported_versions, else the
    /// ClientHello's legacy_version).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_version: Option<String>,
    /// Negotiated cipher suite, IANA name or "0x1301"-style hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cipher: Option<String>,
    /// Server name indication (RFC 6066 §3) of the ClientHello.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// ALPN protocols the client offered, in order (RFC 7301).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alpn: Vec<String>,
    /// ALPN protocol the server selected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpn_selected: Option<String>,
    /// JA3 string of the ClientHello (Salesforce).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja3_string: Option<String>,
    /// JA3: MD5 of `ja3_string`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja3: Option<String>,
    /// JA3S string of the ServerHello.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja3s_string: Option<String>,
    /// JA3S: MD5 of `ja3s_string`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja3s: Option<String>,
    /// JA4 (FoxIO) of the ClientHello.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja4: Option<String>,
    /// JA4 raw form (JA4_r: sorted lists instead of their hashes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja4_r: Option<String>,
    /// The handshake completed: Finished (encrypted handshake after
    /// ChangeCipherSpec) or application data seen in both directions.
    pub established: bool,
    /// The session was resumed: the server echoed the client's non-empty
    /// session id, accepted a PSK (TLS 1.3), or skipped its certificate
    /// after the client offered a ticket.
    pub resumed: bool,
    /// A HelloRetryRequest was sent (RFC 8446 §4.1.4).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub hello_retry: bool,
    /// DTLS: the server answered a ClientHello with a HelloVerifyRequest
    /// carrying a cookie (RFC 6347 §4.2.1), or DTLS 1.3's HelloRetryRequest
    /// with a cookie extension.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub hello_verify: bool,
    /// Application data records seen from the client.
    pub client_app_records: u64,
    /// Application data records seen from the server.
    pub server_app_records: u64,
    /// Server certificate chain, leaf first (TLS <= 1.2; empty in TLS 1.3,
    /// where certificates are encrypted).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub certs: Vec<CertRecord>,
    /// Number of certificates the client sent (client authentication).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_certs: Option<u32>,
    /// The connection began as this plaintext protocol ("SMTP", "IMAP",
    /// "PostgreSQL", ...) and switched to TLS on its request (STARTTLS,
    /// STLS, AUTH TLS, SSLRequest, ...); absent for a connection that was
    /// TLS from its first byte.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starttls: Option<&'static str>,
    /// Protocol anomalies (at most 16).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub weird: Vec<String>,
}

/// One X.509 certificate.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct CertRecord {
    /// Subject distinguished name (RFC 4514 string).
    pub subject: String,
    /// Issuer distinguished name (RFC 4514 string).
    pub issuer: String,
    /// Subject common name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub common_name: Option<String>,
    /// Serial number, hex of its DER content bytes.
    pub serial: String,
    /// Start of validity (RFC 3339).
    pub not_before: String,
    /// End of validity (RFC 3339).
    pub not_after: String,
    /// subjectAltName DNS names and IP addresses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sans: Vec<String>,
    /// Public key algorithm: "rsa", "ec", "dsa", or the OID's short name.
    pub key_alg: String,
    /// Public key size in bits.
    pub key_bits: u32,
    /// Signature algorithm (short name or dotted OID).
    pub sig_alg: String,
    /// SHA-256 of the DER certificate, hex.
    pub sha256: String,
    /// SHA-1 of the DER certificate, hex (the fingerprint Suricata and
    /// many blocklists use).
    pub sha1: String,
    /// Subject equals issuer (and AKI equals SKI when both are present);
    /// the signature is not verified.
    pub self_signed: bool,
    /// Packet time is outside [not_before, not_after].
    pub expired: bool,
    /// basicConstraints cA is set.
    pub is_ca: bool,
}
