//! The "ssh" log: one record per connection.

use serde::Serialize;

/// Cap on `weird` entries per record.
pub const MAX_WEIRD: usize = 16;

/// One SSH connection: identification strings, algorithm negotiation and
/// HASSH fingerprints (everything after NEWKEYS is encrypted).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct SshRecord {
    /// Protocol version of the server's identification ("2.0", "1.99").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Client identification string, without CR LF ("SSH-2.0-OpenSSH_9.2").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// Server identification string, without CR LF.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Server software recognised from the banner (`data/banners.tsv`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_software: Option<String>,
    /// Its version, when the banner tells.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// HASSH: MD5 of `hassh_algorithms`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hassh: Option<String>,
    /// HASSH input: the client KEXINIT's "kex;enc_c2s;mac_c2s;comp_c2s".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hassh_algorithms: Option<String>,
    /// HASSHServer: MD5 of `hassh_server_algorithms`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hassh_server: Option<String>,
    /// HASSHServer input: the server KEXINIT's
    /// "kex;enc_s2c;mac_s2c;comp_s2c".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hassh_server_algorithms: Option<String>,
    /// Negotiated key exchange method (RFC 4253 §7.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kex_alg: Option<String>,
    /// Negotiated server host key algorithm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_key_alg: Option<String>,
    /// Negotiated cipher, client to server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cipher_c2s: Option<String>,
    /// Negotiated cipher, server to client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cipher_s2c: Option<String>,
    /// Negotiated MAC, client to server ("implicit" with an AEAD cipher).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_c2s: Option<String>,
    /// Negotiated MAC, server to client ("implicit" with an AEAD cipher).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_s2c: Option<String>,
    /// Negotiated compression, client to server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression_c2s: Option<String>,
    /// Negotiated compression, server to client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression_s2c: Option<String>,
    /// Both sides sent SSH_MSG_NEWKEYS: the key exchange completed.
    pub newkeys: bool,
    /// Bytes the client sent after its NEWKEYS (encrypted).
    pub client_encrypted_bytes: u64,
    /// Bytes the server sent after its NEWKEYS (encrypted).
    pub server_encrypted_bytes: u64,
    /// Protocol anomalies (at most 16).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub weird: Vec<String>,
}
