//! The `pop3` log: one record per session.

use serde::Serialize;

/// One POP3 command and the server's answer.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Pop3Command {
    /// Command keyword, upper-case ("USER", "RETR").
    pub command: String,
    /// Argument (never PASS's; APOP's name only; AUTH's mechanism only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arg: Option<String>,
    /// "+OK" or "-ERR"; absent when no answer was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Text after the status indicator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
}

/// One POP3 session (RFC 1939).
#[derive(Debug, Default, Clone, Serialize)]
pub struct Pop3Record {
    /// The server's greeting text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banner: Option<String>,
    /// Server software recognised from the banner (`data/banners.tsv`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_software: Option<String>,
    /// Its version, when the banner tells.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// User: USER argument, APOP name or SASL (PLAIN/LOGIN) user name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Commands in order (at most 256).
    pub commands: Vec<Pop3Command>,
    /// Messages retrieved with RETR (complete or not).
    pub retrieved: u32,
    /// Sizes in bytes (after dot-unstuffing) of the retrieved messages.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub retrieved_sizes: Vec<u64>,
    /// Carved MIME parts of retrieved messages: file name, or MIME type
    /// when unnamed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<String>,
    /// STLS was accepted (RFC 2595 §4): the rest of the session is TLS.
    pub tls: bool,
    /// Protocol anomalies (at most 16).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub weird: Vec<String>,
}
